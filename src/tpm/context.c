/*
 * Context management for objects: what Part 3 §28.2 ContextSave and §28.3 ContextLoad do
 * with a transient object (the commands are in session_context.c), and the blob protection
 * of Part 1 §30.3 (see context.h).
 *
 * Object blobs hold the object compactly (Part 1 §30.2 leaves the format to the TPM):
 *   u8 format (1), u8 kind, u8 flags, u32 hierarchy, TPM2B_PUBLIC, u8 has_sensitive,
 *   [TPM2B_SENSITIVE with the authValue], TPM2B_NAME qualifiedName
 * An RSA-2048 key is about 560 octets (one prime, not an OpenSSL encoding), so a resource
 * manager's three objects and three sessions fit in one 4 KiB page.
 * Sequence objects: u8 format (2), u8 kind, u64 id of a copy kept in struct tpm (OpenSSL
 * cannot export a running hash); such a blob loads until the next _TPM_Init.
 */
#include "context.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "hierarchy.h"
#include "marshal.h"
#include "object.h"

#define CTX_KEY_BYTES 32
#define CTX_IV_BYTES 16
#define CTX_MAC_BYTES 32
#define CTX_FMT_OBJECT 1
#define CTX_FMT_SEQUENCE 2

/* savedHandle values for objects (Part 2 §14.3 TPMS_CONTEXT) */
#define SAVED_OBJECT 0x80000000u
#define SAVED_SEQUENCE 0x80000001u
#define SAVED_STCLEAR 0x80000002u

static bool context_keys(struct tpm *t, TPM_HANDLE hierarchy, uint64_t seq, TPM_HANDLE saved,
                         uint8_t out[CTX_KEY_BYTES + CTX_IV_BYTES + CTX_MAC_BYTES])
{
    uint8_t s[8], u[8];
    for (int i = 0; i < 8; i++) {
        s[i] = (uint8_t)(seq >> (56 - 8 * i));
    }
    be32_put(u, saved);
    be32_put(u + 4, hierarchy);
    return crypto_kdfa(TPM_ALG_SHA256, hier_proof(t, hierarchy), PROOF_BYTES, "CONTEXT", s, 8,
                       u, 8, (CTX_KEY_BYTES + CTX_IV_BYTES + CTX_MAC_BYTES) * 8, out);
}

TPM_RC context_seal(struct tpm *t, TPM_HANDLE hierarchy, uint64_t seq, TPM_HANDLE saved_handle,
                    const uint8_t *plain, size_t len, TPMS_CONTEXT *out)
{
    uint8_t k[CTX_KEY_BYTES + CTX_IV_BYTES + CTX_MAC_BYTES];
    struct hmac_state m;
    TPM_RC rc = TPM_RC_FAILURE;
    CHECK(len > 0 && 2 + CTX_MAC_BYTES + len <= sizeof(out->contextBlob.buffer), TPM_RC_SIZE);
    out->sequence = seq;
    out->savedHandle = saved_handle;
    out->hierarchy = hierarchy;
    uint8_t *enc = out->contextBlob.buffer + 2 + CTX_MAC_BYTES;
    if (!context_keys(t, hierarchy, seq, saved_handle, k) ||
        !crypto_sym(TPM_ALG_AES, 256, TPM_ALG_CFB, true, k, k + CTX_KEY_BYTES, plain, enc,
                    len) ||
        !hmac_begin(&m, TPM_ALG_SHA256, k + CTX_KEY_BYTES + CTX_IV_BYTES, CTX_MAC_BYTES)) {
        goto out;
    }
    hmac_update(&m, enc, len);
    if (!hmac_end(&m, out->contextBlob.buffer + 2)) {
        goto out;
    }
    be16_put(out->contextBlob.buffer, CTX_MAC_BYTES);
    out->contextBlob.size = (uint16_t)(2 + CTX_MAC_BYTES + len);
    rc = TPM_RC_SUCCESS;
out:
    secret_wipe(k, sizeof(k));
    return rc;
}

TPM_RC context_unseal(struct tpm *t, const TPMS_CONTEXT *in, uint8_t *plain, size_t cap,
                      size_t *len)
{
    uint8_t k[CTX_KEY_BYTES + CTX_IV_BYTES + CTX_MAC_BYTES], mac[CTX_MAC_BYTES];
    struct hmac_state m;
    struct rd r;
    uint16_t msize;
    const uint8_t *given;
    TPM_RC rc = TPM_RC_FAILURE;
    rd_init(&r, in->contextBlob.buffer, in->contextBlob.size);
    CHECK(rd_u16(&r, &msize) && msize == CTX_MAC_BYTES && rd_ptr(&r, CTX_MAC_BYTES, &given),
          TPM_RC_INTEGRITY);
    size_t n = rd_left(&r);
    CHECK(n > 0, TPM_RC_INTEGRITY);
    CHECK(n <= cap, TPM_RC_SIZE);
    const uint8_t *enc = in->contextBlob.buffer + 2 + CTX_MAC_BYTES;
    if (!context_keys(t, in->hierarchy, in->sequence, in->savedHandle, k) ||
        !hmac_begin(&m, TPM_ALG_SHA256, k + CTX_KEY_BYTES + CTX_IV_BYTES, CTX_MAC_BYTES)) {
        goto out;
    }
    hmac_update(&m, enc, n);
    if (!hmac_end(&m, mac)) {
        goto out;
    }
    if (!secret_eq(mac, given, CTX_MAC_BYTES)) {
        rc = TPM_RC_INTEGRITY;
        goto out;
    }
    if (!crypto_sym(TPM_ALG_AES, 256, TPM_ALG_CFB, false, k, k + CTX_KEY_BYTES, enc, plain, n)) {
        goto out;
    }
    *len = n;
    rc = TPM_RC_SUCCESS;
out:
    secret_wipe(k, sizeof(k));
    secret_wipe(mac, sizeof(mac));
    return rc;
}

void context_reset(struct tpm *t)
{
    for (size_t i = 0; i < SEQ_SAVED_SLOTS; i++) {
        if (t->seq_saved[i].kind != OBJ_FREE) {
            object_free(&t->seq_saved[i]);
        }
        t->seq_saved_id[i] = 0;
    }
}

/* A copy of a sequence object's running hashes into dst (unused). */
static bool sequence_copy(struct object *dst, const struct object *src)
{
    *dst = *src;
    for (size_t i = 0; i < HASH_COUNT; i++) {
        dst->seq[i].ctx = NULL;
        dst->hmac.ctx = NULL;
    }
    bool ok = true;
    for (size_t i = 0; i < HASH_COUNT && ok; i++) {
        if (src->seq[i].ctx) {
            ok = hash_copy(&dst->seq[i], &src->seq[i]);
        }
    }
    if (ok && src->hmac.ctx) {
        ok = hmac_copy(&dst->hmac, &src->hmac);
    }
    if (!ok) {
        object_free(dst);
    }
    return ok;
}

static TPM_RC save_sequence(struct tpm *t, const struct object *o, uint8_t *buf, size_t cap,
                            size_t *len)
{
    size_t slot = 0;
    uint64_t id;
    struct wr w;
    /* Replace a free slot, else the one saved longest ago (smallest id counter). */
    for (size_t i = 0; i < SEQ_SAVED_SLOTS; i++) {
        if (t->seq_saved[i].kind == OBJ_FREE) {
            slot = i;
            break;
        }
        if (t->seq_saved_id[i] < t->seq_saved_id[slot]) {
            slot = i;
        }
    }
    if (t->seq_saved[slot].kind != OBJ_FREE) {
        object_free(&t->seq_saved[slot]);
    }
    CHECK(sequence_copy(&t->seq_saved[slot], o), TPM_RC_MEMORY);
    id = ++t->sr.context_counter;
    t->seq_saved_id[slot] = id;
    wr_init(&w, buf, cap);
    wr_u8(&w, CTX_FMT_SEQUENCE);
    wr_u8(&w, o->kind);
    wr_u64(&w, id);
    CHECK(!w.err, TPM_RC_FAILURE);
    *len = w.off;
    return TPM_RC_SUCCESS;
}

TPM_RC object_context_save(struct tpm *t, TPM_HANDLE h, TPMS_CONTEXT *out)
{
    uint8_t buf[sizeof(TPMT_PUBLIC) + sizeof(TPMT_SENSITIVE) + 128];
    struct object *o = object_find(t, h);
    struct wr w;
    size_t len;
    TPM_RC rc;
    TPM_HANDLE saved = SAVED_OBJECT;
    /* Sessions are saved by the session module; a handle not loaded never gets here. */
    CHECK(o, RC_H(TPM_RC_HANDLE, 1));
    if (o->kind != OBJ_KEY) {
        saved = SAVED_SEQUENCE;
        rc = save_sequence(t, o, buf, sizeof(buf), &len);
    } else {
        TPMT_SENSITIVE s;
        if (o->pub.objectAttributes & TPMA_OBJECT_STCLEAR) {
            saved = SAVED_STCLEAR;
        }
        wr_init(&w, buf, sizeof(buf));
        wr_u8(&w, CTX_FMT_OBJECT);
        wr_u8(&w, o->kind);
        wr_u8(&w, o->flags);
        wr_u32(&w, o->hierarchy);
        wr_TPM2B_PUBLIC(&w, &o->pub);
        wr_u8(&w, !(o->flags & OBJF_PUBLIC_ONLY));
        if (!(o->flags & OBJF_PUBLIC_ONLY)) {
            s = o->sens;
            memcpy(&s.authValue, &o->auth, sizeof(s.authValue));
            wr_TPM2B_SENSITIVE(&w, &s);
            secret_wipe(&s, sizeof(s));
        }
        WR_TPM2B(&w, &o->qname);
        rc = w.err ? TPM_RC_FAILURE : TPM_RC_SUCCESS;
        len = w.off;
    }
    if (rc == TPM_RC_SUCCESS) {
        rc = context_seal(t, o->hierarchy, ++t->sr.object_context_id, saved, buf, len,
                          out);
    }
    secret_wipe(buf, sizeof(buf));
    return rc;
}

/* The plaintext of an object blob into slot o (already allocated). */
static TPM_RC load_object(struct rd *r, struct object *o)
{
    uint8_t kind, flags, has_sens;
    TPM_HANDLE hier;
    TPMT_PUBLIC pub;
    TPMT_SENSITIVE sens;
    TPM2B_NAME qn;
    TPM_RC rc = TPM_RC_INTEGRITY;
    memset(&sens, 0, sizeof(sens));
    if (!rd_u8(r, &kind) || kind != OBJ_KEY || !rd_u8(r, &flags) || !rd_u32(r, &hier) ||
        rd_TPM2B_PUBLIC(r, &pub, NO_NULL) != TPM_RC_SUCCESS || !rd_u8(r, &has_sens) ||
        has_sens > 1) {
        goto out;
    }
    if (has_sens && rd_TPM2B_SENSITIVE(r, &sens) != TPM_RC_SUCCESS) {
        goto out;
    }
    if (RD_TPM2B(r, &qn) != TPM_RC_SUCCESS || !rd_done(r)) {
        goto out;
    }
    rc = object_install(o, hier, NULL, &pub, has_sens ? &sens : NULL, flags);
    o->qname = qn;
out:
    secret_wipe(&sens, sizeof(sens));
    return rc;
}

static TPM_RC load_sequence(struct tpm *t, struct rd *r, struct object *o)
{
    uint8_t kind;
    uint64_t id;
    CHECK(rd_u8(r, &kind) && rd_u64(r, &id) && rd_done(r), TPM_RC_INTEGRITY);
    for (size_t i = 0; i < SEQ_SAVED_SLOTS; i++) {
        if (t->seq_saved[i].kind != OBJ_FREE && t->seq_saved_id[i] == id) {
            TPM_HANDLE h = o->handle;
            CHECK(sequence_copy(o, &t->seq_saved[i]), TPM_RC_MEMORY);
            o->handle = h;
            return TPM_RC_SUCCESS;
        }
    }
    /* Its state was dropped by a _TPM_Init or replaced by newer saves. */
    return RC_P(TPM_RC_HANDLE, 1);
}

TPM_RC object_context_load(struct tpm *t, const TPMS_CONTEXT *ctx, TPM_HANDLE *out)
{
    uint8_t buf[sizeof(TPM2B_CONTEXT_DATA)];
    size_t len = 0;
    struct rd r;
    uint8_t fmt;
    CHECK((ctx->savedHandle >> HR_SHIFT) == TPM_HT_TRANSIENT, RC_P(TPM_RC_HANDLE, 1));
    CHECK(hier_enabled(t, ctx->hierarchy), RC_P(TPM_RC_HIERARCHY, 1));
    TPM_RC rc = context_unseal(t, ctx, buf, sizeof(buf), &len);
    if (rc != TPM_RC_SUCCESS) {
        secret_wipe(buf, sizeof(buf));
        return RC_P(rc, 1);
    }
    struct object *o = object_alloc(t, OBJ_KEY);
    if (!o) {
        rc = TPM_RC_OBJECT_MEMORY;
        goto out;
    }
    TPM_HANDLE h = o->handle;
    rd_init(&r, buf, len);
    if (!rd_u8(&r, &fmt)) {
        rc = TPM_RC_INTEGRITY;
    } else if (fmt == CTX_FMT_OBJECT && ctx->savedHandle != SAVED_SEQUENCE) {
        rc = load_object(&r, o);
        o->handle = h;
    } else if (fmt == CTX_FMT_SEQUENCE && ctx->savedHandle == SAVED_SEQUENCE) {
        rc = load_sequence(t, &r, o);
    } else {
        rc = TPM_RC_INTEGRITY;
    }
    if (rc != TPM_RC_SUCCESS) {
        object_free(o);
        rc = RC_P(rc, 1);
        goto out;
    }
    *out = o->handle;
out:
    secret_wipe(buf, sizeof(buf));
    return rc;
}

/*
 * Context management for sessions (Part 3 §28.2 ContextSave, §28.3 ContextLoad; Part 1
 * §30). A saved session stays in the TPM; its context blob only names the session and the
 * save's sequence number, with an HMAC under the null hierarchy's proof. So blobs are tiny
 * (the Linux resource manager keeps a client's contexts in one page), a session reloads to
 * the same handle, an older blob of the same session is refused (its sequence is stale), and
 * every blob dies at a TPM Reset (the null proof changes).
 */
#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "cmd.h"
#include "object.h"
#include "session.h"

#define SESSION_BLOB_ALG TPM_ALG_SHA256

/* HMAC(nullProof, "vtpm session" || sequence || handle || hierarchy) */
static bool session_blob_mac(const struct tpm *t, const TPMS_CONTEXT *ctx, uint8_t *out)
{
    static const char label[] = "vtpm session";
    struct hmac_state m;
    uint8_t b[16];
    struct wr w;
    wr_init(&w, b, sizeof(b));
    wr_u64(&w, ctx->sequence);
    wr_u32(&w, ctx->savedHandle);
    wr_u32(&w, ctx->hierarchy);
    if (!hmac_begin(&m, SESSION_BLOB_ALG, t->sr.null_proof, PROOF_BYTES)) {
        return false;
    }
    hmac_update(&m, label, sizeof(label));
    hmac_update(&m, b, sizeof(b));
    return hmac_end(&m, out);
}

/* ---- Part 3 §28.2 TPM2_ContextSave ---- */

struct out_ContextSave {
    TPMS_CONTEXT context;
};

static void emit_ContextSave(struct wr *w, const struct out_ContextSave *out)
{
    wr_TPMS_CONTEXT(w, &out->context);
}

static TPM_RC cc_ContextSave(struct tpm *t, struct cmd *c, const struct in_none *in,
                             struct out_ContextSave *out)
{
    (void)in;
    TPM_HANDLE h = c->handles[0];
    if ((h >> HR_SHIFT) == TPM_HT_TRANSIENT) {
        return object_context_save(t, h, &out->context);
    }
    struct session *s = session_find(t, h);
    CHECK(s, TPM_RC_REFERENCE_H0);
    /* The counter never repeats a value for the life of the state-reset data. */
    t->sr.context_counter++;
    out->context.sequence = t->sr.context_counter;
    out->context.savedHandle = h;
    out->context.hierarchy = TPM_RH_NULL;
    CHECK(session_blob_mac(t, &out->context, out->context.contextBlob.buffer), TPM_RC_FAILURE);
    out->context.contextBlob.size = hash_size(SESSION_BLOB_ALG);
    s->context_seq = out->context.sequence;
    s->saved = true;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_IN(ContextSave);

/* ---- Part 3 §28.3 TPM2_ContextLoad ---- */

struct in_ContextLoad {
    TPMS_CONTEXT context;
};

static TPM_RC parse_ContextLoad(struct rd *r, struct in_ContextLoad *in)
{
    PARAM(1, rd_TPMS_CONTEXT(r, &in->context));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_ContextLoad(struct tpm *t, struct cmd *c, const struct in_ContextLoad *in,
                             struct out_none *out)
{
    (void)out;
    const TPMS_CONTEXT *ctx = &in->context;
    uint8_t mac[MAX_DIGEST_SIZE];
    if ((ctx->savedHandle >> HR_SHIFT) == TPM_HT_TRANSIENT) {
        return object_context_load(t, ctx, &c->out_handle);
    }
    struct session *s = session_find_any(t, ctx->savedHandle);
    /* A session that was flushed, or a blob of an older save: gone (the kernel's resource
     * manager then forgets the session). */
    CHECK(s && s->saved && s->context_seq == ctx->sequence, RC_P(TPM_RC_HANDLE, 1));
    CHECK(ctx->hierarchy == TPM_RH_NULL, RC_P(TPM_RC_HIERARCHY, 1));
    CHECK(ctx->contextBlob.size == hash_size(SESSION_BLOB_ALG) && session_blob_mac(t, ctx, mac),
          RC_P(TPM_RC_INTEGRITY, 1));
    bool ok = secret_eq(mac, ctx->contextBlob.buffer, ctx->contextBlob.size);
    secret_wipe(mac, sizeof(mac));
    CHECK(ok, RC_P(TPM_RC_INTEGRITY, 1));
    CHECK(session_loaded_count(t) < MAX_LOADED_SESSIONS, TPM_RC_SESSION_MEMORY);
    s->saved = false;
    c->out_handle = s->handle;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(ContextLoad);

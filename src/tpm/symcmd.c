/*
 * Symmetric primitives with loaded keys (Part 3 §15): §15.2 EncryptDecrypt, §15.3
 * EncryptDecrypt2, §15.5 HMAC (the command code TPM2_MAC shares; only hash-based MACs are
 * implemented, so the two read the same), and §17.2 HMAC_Start, whose sequence object the
 * sequence commands of hash.c complete.
 */
#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "auth.h"
#include "cmd.h"
#include "object.h"
#include "sign.h"

/* ---- Part 3 §15.2 TPM2_EncryptDecrypt and §15.3 TPM2_EncryptDecrypt2 ---- */

struct in_EncryptDecrypt {
    TPMI_YES_NO decrypt;
    TPM_ALG_ID mode;
    TPM2B_IV ivIn;
    TPM2B_MAX_BUFFER inData;
};

struct out_EncryptDecrypt {
    TPM2B_MAX_BUFFER outData;
    TPM2B_IV ivOut;
};

/* TPMI_ALG_CIPHER_MODE+ (error TPM_RC_MODE) */
static TPM_RC rd_mode(struct rd *r, TPM_ALG_ID *mode)
{
    TRY(rd_U16(r, mode));
    CHECK(*mode == TPM_ALG_NULL ||
              ALG_IN(*mode, TPM_ALG_CTR, TPM_ALG_OFB, TPM_ALG_CBC, TPM_ALG_CFB, TPM_ALG_ECB),
          TPM_RC_MODE);
    return TPM_RC_SUCCESS;
}

static TPM_RC parse_EncryptDecrypt(struct rd *r, struct in_EncryptDecrypt *in)
{
    PARAM(1, rd_TPMI_YES_NO(r, &in->decrypt));
    PARAM(2, rd_mode(r, &in->mode));
    PARAM(3, RD_TPM2B(r, &in->ivIn));
    PARAM(4, RD_TPM2B(r, &in->inData));
    return TPM_RC_SUCCESS;
}

static TPM_RC parse_EncryptDecrypt2(struct rd *r, struct in_EncryptDecrypt *in)
{
    PARAM(1, RD_TPM2B(r, &in->inData));
    PARAM(2, rd_TPMI_YES_NO(r, &in->decrypt));
    PARAM(3, rd_mode(r, &in->mode));
    PARAM(4, RD_TPM2B(r, &in->ivIn));
    return TPM_RC_SUCCESS;
}

static void emit_EncryptDecrypt(struct wr *w, const struct out_EncryptDecrypt *out)
{
    WR_TPM2B(w, &out->outData);
    WR_TPM2B(w, &out->ivOut);
}

/* Parameter numbers of mode, ivIn and inData in the two commands. */
struct ed_params {
    unsigned mode, iv, data;
};

/* Part 3 §15.2.1 (EncryptDecrypt_spt): the checks and the operation both commands share. */
static TPM_RC encrypt_decrypt(struct tpm *t, struct cmd *c, const struct in_EncryptDecrypt *in,
                              struct out_EncryptDecrypt *out, const struct ed_params *pn)
{
    struct object *o = object_get(t, c->handles[0]);
    CHECK(o && o->kind == OBJ_KEY && o->pub.type == TPM_ALG_SYMCIPHER, RC_H(TPM_RC_KEY, 1));
    /* Unrestricted, and decrypt set to decrypt, sign ("may encrypt") set to encrypt. */
    TPMA_OBJECT a = o->pub.objectAttributes;
    CHECK(!(a & TPMA_OBJECT_RESTRICTED) &&
              (a & (in->decrypt ? TPMA_OBJECT_DECRYPT : TPMA_OBJECT_SIGN_ENCRYPT)),
          RC_H(TPM_RC_ATTRIBUTES, 1));
    CHECK(sign_has_private(o), TPM_RC_AUTH_UNAVAILABLE);
    const TPMT_SYM_DEF_OBJECT *sym = &o->pub.parameters.symmetric;
    /* The key's mode wins; the caller may only repeat it. Without one, the caller's. */
    TPM_ALG_ID mode = in->mode;
    if (sym->mode != TPM_ALG_NULL) {
        CHECK(mode == TPM_ALG_NULL || mode == sym->mode, RC_P(TPM_RC_MODE, pn->mode));
        mode = sym->mode;
    }
    CHECK(mode != TPM_ALG_NULL, RC_P(TPM_RC_MODE, pn->mode));
    /* ECB has no IV; every other mode one block of it. CBC and ECB take whole blocks. */
    uint16_t block = MAX_SYM_BLOCK_SIZE; /* AES */
    CHECK(in->ivIn.size == (mode == TPM_ALG_ECB ? 0 : block), RC_P(TPM_RC_SIZE, pn->iv));
    CHECK(!((mode == TPM_ALG_CBC || mode == TPM_ALG_ECB) && in->inData.size % block),
          RC_P(TPM_RC_SIZE, pn->data));
    out->ivOut = in->ivIn;
    CHECK(crypto_sym(sym->algorithm, sym->keyBits, mode, !in->decrypt, o->sens.sensitive.buffer,
                     mode == TPM_ALG_ECB ? NULL : out->ivOut.buffer, in->inData.buffer,
                     out->outData.buffer, in->inData.size),
          TPM_RC_FAILURE);
    out->outData.size = in->inData.size;
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_EncryptDecrypt(struct tpm *t, struct cmd *c, const struct in_EncryptDecrypt *in,
                                struct out_EncryptDecrypt *out)
{
    static const struct ed_params pn = {2, 3, 4};
    return encrypt_decrypt(t, c, in, out, &pn);
}

CMD_OPS(EncryptDecrypt);

static TPM_RC cc_EncryptDecrypt2(struct tpm *t, struct cmd *c,
                                 const struct in_EncryptDecrypt *in,
                                 struct out_EncryptDecrypt *out)
{
    static const struct ed_params pn = {3, 4, 1};
    return encrypt_decrypt(t, c, in, out, &pn);
}

CMD_OPS_FULL(EncryptDecrypt2, struct in_EncryptDecrypt, struct out_EncryptDecrypt,
             parse_EncryptDecrypt2, emit_EncryptDecrypt);

/* ---- HMAC keys: Part 3 §15.5.1 and §17.2.1 ---- */

/*
 * The key of HMAC and HMAC_Start: an unrestricted keyed-hash signing key (TPM_RC_TYPE,
 * TPM_RC_ATTRIBUTES, TPM_RC_KEY on handle 1). Its own hash wins; the caller's hashAlg may be
 * NULL or the same (TPM_RC_VALUE on parameter pnum otherwise, or when neither names one).
 */
static TPM_RC hmac_key(struct tpm *t, TPM_HANDLE h, TPM_ALG_ID want, unsigned pnum,
                       struct object **out, TPM_ALG_ID *alg)
{
    struct object *o = object_get(t, h);
    CHECK(o && o->kind == OBJ_KEY && o->pub.type == TPM_ALG_KEYEDHASH, RC_H(TPM_RC_TYPE, 1));
    CHECK(!(o->pub.objectAttributes & TPMA_OBJECT_RESTRICTED), RC_H(TPM_RC_ATTRIBUTES, 1));
    CHECK(o->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT, RC_H(TPM_RC_KEY, 1));
    CHECK(sign_has_private(o), TPM_RC_AUTH_UNAVAILABLE);
    TPM_ALG_ID a = want;
    if (o->pub.parameters.keyedHash.scheme != TPM_ALG_NULL) {
        a = o->pub.parameters.keyedHash.hashAlg;
        CHECK(want == TPM_ALG_NULL || want == a, RC_P(TPM_RC_VALUE, pnum));
    }
    CHECK(a != TPM_ALG_NULL, RC_P(TPM_RC_VALUE, pnum));
    *out = o;
    *alg = a;
    return TPM_RC_SUCCESS;
}

/* ---- Part 3 §15.5 TPM2_HMAC ---- */

struct in_HMAC {
    TPM2B_MAX_BUFFER buffer;
    TPM_ALG_ID hashAlg;
};

struct out_HMAC {
    TPM2B_DIGEST outHMAC;
};

static TPM_RC parse_HMAC(struct rd *r, struct in_HMAC *in)
{
    PARAM(1, RD_TPM2B(r, &in->buffer));
    PARAM(2, rd_TPMI_ALG_HASH(r, &in->hashAlg, NULL_OK));
    return TPM_RC_SUCCESS;
}

static void emit_HMAC(struct wr *w, const struct out_HMAC *out)
{
    WR_TPM2B(w, &out->outHMAC);
}

static TPM_RC cc_HMAC(struct tpm *t, struct cmd *c, const struct in_HMAC *in,
                      struct out_HMAC *out)
{
    struct object *o;
    TPM_ALG_ID alg;
    struct hmac_state m;
    TRY(hmac_key(t, c->handles[0], in->hashAlg, 2, &o, &alg));
    CHECK(hmac_begin(&m, alg, o->sens.sensitive.buffer, o->sens.sensitive.size),
          TPM_RC_FAILURE);
    hmac_update(&m, in->buffer.buffer, in->buffer.size);
    CHECK(hmac_end(&m, out->outHMAC.buffer), TPM_RC_FAILURE);
    out->outHMAC.size = hash_size(alg);
    return TPM_RC_SUCCESS;
}

CMD_OPS(HMAC);

/* ---- Part 3 §17.2 TPM2_HMAC_Start ---- */

struct in_HMAC_Start {
    TPM2B_AUTH auth;
    TPM_ALG_ID hashAlg;
};

static TPM_RC parse_HMAC_Start(struct rd *r, struct in_HMAC_Start *in)
{
    PARAM(1, RD_TPM2B(r, &in->auth));
    PARAM(2, rd_TPMI_ALG_HASH(r, &in->hashAlg, NULL_OK));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_HMAC_Start(struct tpm *t, struct cmd *c, const struct in_HMAC_Start *in,
                            struct out_none *out)
{
    (void)out;
    struct object *key;
    TPM_ALG_ID alg;
    TRY(hmac_key(t, c->handles[0], in->hashAlg, 2, &key, &alg));
    struct object *o = object_alloc(t, OBJ_HMAC_SEQ);
    CHECK(o, TPM_RC_OBJECT_MEMORY);
    if (!hmac_begin(&o->hmac, alg, key->sens.sensitive.buffer, key->sens.sensitive.size)) {
        object_free(o);
        return TPM_RC_MEMORY;
    }
    /* The sequence lives in its key's hierarchy: disabling the hierarchy flushes it. */
    o->hierarchy = key->hierarchy;
    o->seq_alg = alg;
    auth_set(&o->auth, &in->auth);
    c->out_handle = o->handle;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(HMAC_Start);

/*
 * Signing and signature verification: the shared helpers of sign.h and the commands of
 * Part 3 §20: §20.1 TPM2_VerifySignature, §20.2 TPM2_Sign. Schemes are those of Part 2
 * §11.2.1 (TPMT_SIG_SCHEME) for the key types of Part 1 §11.4.6 and Annex C.
 */
#include "sign.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "asym.h"
#include "cmd.h"
#include "object.h"
#include "ticket.h"

bool sign_is_signing_key(const struct object *o)
{
    return o->kind == OBJ_KEY && (o->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) &&
           o->pub.type != TPM_ALG_SYMCIPHER;
}

bool sign_has_private(const struct object *o)
{
    return !(o->flags & OBJF_PUBLIC_ONLY);
}

/* ---- the key cache (engine.h) ---- */

static void cache_drop(struct key_cache_entry *e)
{
    crypto_pkey_free(e->pkey);
    secret_wipe(e, sizeof(*e));
}

void sign_cache_clear(struct tpm *t)
{
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
        cache_drop(&t->key_cache[i]);
    }
}

/* SHA-256 over everything the built key was made from. */
static bool key_id(const struct object *o, uint8_t *id)
{
    struct hash_state h;
    if (!hash_begin(&h, TPM_ALG_SHA256)) {
        return false;
    }
    hash_update_u16(&h, o->pub.type);
    hash_update_u16(&h, o->pub.parameters.curveID);
    hash_update_u32(&h, o->pub.parameters.exponent);
    hash_update(&h, &o->flags, 1);
    if (o->pub.type == TPM_ALG_RSA) {
        hash_update(&h, o->pub.unique.rsa.buffer, o->pub.unique.rsa.size);
    } else {
        hash_update(&h, o->pub.unique.ecc.x.buffer, o->pub.unique.ecc.x.size);
        hash_update(&h, o->pub.unique.ecc.y.buffer, o->pub.unique.ecc.y.size);
    }
    if (sign_has_private(o)) {
        hash_update(&h, o->sens.sensitive.buffer, o->sens.sensitive.size);
    }
    return hash_end(&h, id);
}

/* The built key of object o: from the cache, or built and remembered. NULL when it cannot be
 * built (the operation then builds its own and reports the failure). */
static struct crypto_pkey *cache_get(struct tpm *t, const struct object *o,
                                     const struct crypto_rsa_key *rk,
                                     const struct crypto_ecc_key *ek)
{
    uint8_t id[32];
    struct key_cache_entry *slot = NULL;
    if (!key_id(o, id)) {
        return NULL;
    }
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
        struct key_cache_entry *e = &t->key_cache[i];
        if (!e->pkey) {
            continue;
        }
        /* A freed slot's key dies with it; a slot that holds another key is rebuilt. */
        if (e->o->kind != OBJ_KEY || (e->o == o && !secret_eq(e->id, id, sizeof(id)))) {
            cache_drop(e);
            continue;
        }
        if (e->o == o) {
            e->used = ++t->key_cache_clock;
            return e->pkey;
        }
    }
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
        struct key_cache_entry *e = &t->key_cache[i];
        if (!e->pkey) {
            slot = e;
            break;
        }
        if (!slot || e->used < slot->used) {
            slot = e;
        }
    }
    struct crypto_pkey *p = rk ? crypto_rsa_build(rk) : crypto_ecc_build(ek);
    if (!p) {
        return NULL;
    }
    cache_drop(slot);
    slot->o = o;
    memcpy(slot->id, id, sizeof(id));
    slot->pkey = p;
    slot->used = ++t->key_cache_clock;
    return p;
}

void sign_rsa_key(struct tpm *t, const struct object *o, struct crypto_rsa_key *k)
{
    k->n = o->pub.unique.rsa.buffer;
    k->nlen = o->pub.unique.rsa.size;
    k->e = o->pub.parameters.exponent ? o->pub.parameters.exponent
                                      : CRYPTO_RSA_DEFAULT_EXPONENT;
    k->p = sign_has_private(o) ? o->sens.sensitive.buffer : NULL;
    k->plen = sign_has_private(o) ? o->sens.sensitive.size : 0;
    k->built = NULL;
    if (t) {
        k->built = cache_get(t, o, k, NULL);
    }
}

void sign_ecc_key(struct tpm *t, const struct object *o, struct crypto_ecc_key *k)
{
    k->curve = o->pub.parameters.curveID;
    k->d = sign_has_private(o) ? o->sens.sensitive.buffer : NULL;
    k->dlen = sign_has_private(o) ? o->sens.sensitive.size : 0;
    k->x = o->pub.unique.ecc.x.buffer;
    k->xlen = o->pub.unique.ecc.x.size;
    k->y = o->pub.unique.ecc.y.buffer;
    k->ylen = o->pub.unique.ecc.y.size;
    k->built = NULL;
    if (t) {
        k->built = cache_get(t, o, NULL, k);
    }
}

/* The key's own scheme: asymmetric keys keep it in parameters.scheme, keyed-hash keys in
 * parameters.keyedHash. */
static void key_scheme(const struct object *o, TPMT_SIG_SCHEME *s)
{
    if (o->pub.type == TPM_ALG_KEYEDHASH) {
        s->scheme = o->pub.parameters.keyedHash.scheme;
        s->hashAlg = o->pub.parameters.keyedHash.hashAlg;
        s->count = 0;
    } else {
        *s = o->pub.parameters.scheme;
    }
}

bool sign_select_scheme(const struct object *o, TPMT_SIG_SCHEME *scheme)
{
    TPMT_SIG_SCHEME ks;
    if (!o) {
        scheme->scheme = TPM_ALG_NULL;
        scheme->hashAlg = TPM_ALG_NULL;
        scheme->count = 0;
        return true;
    }
    if (o->pub.type == TPM_ALG_SYMCIPHER) {
        return false;
    }
    key_scheme(o, &ks);
    if (ks.scheme == TPM_ALG_NULL) {
        return scheme->scheme != TPM_ALG_NULL;
    }
    if (scheme->scheme == TPM_ALG_NULL) {
        /* ECDAA splits signing: the commit count must come with the request. */
        if (ks.scheme == TPM_ALG_ECDAA) {
            return false;
        }
        *scheme = ks;
        return true;
    }
    /* Both given: the caller's is kept (it carries the ECDAA count), if it is the key's. */
    return ks.scheme == scheme->scheme && ks.hashAlg == scheme->hashAlg;
}

static TPM_RC sign_rsa(struct tpm *t, const struct object *o, const TPMT_SIG_SCHEME *scheme,
                       const uint8_t *digest, size_t dlen, TPMT_SIGNATURE *sig)
{
    struct crypto_rsa_key k;
    CHECK(scheme->scheme == TPM_ALG_RSASSA || scheme->scheme == TPM_ALG_RSAPSS, TPM_RC_SCHEME);
    CHECK(dlen == hash_size(scheme->hashAlg), TPM_RC_VALUE);
    sign_rsa_key(t, o, &k);
    CHECK(crypto_rsa_sign(&k, scheme->scheme, scheme->hashAlg, digest, dlen, sig->rsa.buffer),
          TPM_RC_FAILURE);
    sig->rsa.size = (uint16_t)k.nlen;
    return TPM_RC_SUCCESS;
}

static TPM_RC sign_ecc(struct tpm *t, const struct object *o, const TPMT_SIG_SCHEME *scheme,
                       const uint8_t *digest, size_t dlen, TPMT_SIGNATURE *sig)
{
    struct crypto_ecc_key k;
    uint16_t size = (uint16_t)crypto_ecc_bytes(o->pub.parameters.curveID);
    bool ok;
    /* Only ECDSA goes through OpenSSL's EVP keys; the others do their own arithmetic. */
    sign_ecc_key(scheme->scheme == TPM_ALG_ECDSA ? t : NULL, o, &k);
    switch (scheme->scheme) {
    case TPM_ALG_ECDSA:
        ok = crypto_ecdsa_sign(&k, digest, dlen, sig->r.buffer, sig->s.buffer);
        break;
    case TPM_ALG_ECSCHNORR:
        ok = crypto_ecschnorr_sign(&k, scheme->hashAlg, digest, dlen, sig->r.buffer,
                                   sig->s.buffer);
        break;
    case TPM_ALG_ECDAA: {
        uint8_t rc[MAX_ECC_KEY_BYTES];
        /* The commit must be outstanding; it ends only when the signature is made. */
        CHECK(commit_r_of(t, scheme->count, k.curve, &o->name, rc), TPM_RC_VALUE);
        ok = crypto_ecdaa_sign(&k, scheme->hashAlg, rc, size, digest, dlen, sig->r.buffer,
                               sig->s.buffer);
        secret_wipe(rc, sizeof(rc));
        if (ok) {
            commit_end(t, scheme->count);
        }
        break;
    }
    default:
        return TPM_RC_SCHEME;
    }
    CHECK(ok, TPM_RC_FAILURE);
    sig->r.size = sig->s.size = size;
    return TPM_RC_SUCCESS;
}

/* HMAC signature of a keyed-hash key (Part 2 §11.2.1, TPM_ALG_HMAC): HMAC_hash(key, digest). */
static TPM_RC sign_hmac(const struct object *o, TPM_ALG_ID alg, const uint8_t *digest,
                        size_t dlen, uint8_t *out)
{
    struct hmac_state m;
    CHECK(hmac_begin(&m, alg, o->sens.sensitive.buffer, o->sens.sensitive.size),
          TPM_RC_FAILURE);
    hmac_update(&m, digest, dlen);
    CHECK(hmac_end(&m, out), TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

TPM_RC sign_digest(struct tpm *t, const struct object *o, const TPMT_SIG_SCHEME *scheme,
                   const uint8_t *digest, size_t dlen, TPMT_SIGNATURE *sig)
{
    memset(sig, 0, sizeof(*sig));
    sig->sigAlg = scheme->scheme;
    if (!o || scheme->scheme == TPM_ALG_NULL) {
        sig->sigAlg = TPM_ALG_NULL;
        return TPM_RC_SUCCESS;
    }
    sig->hash = scheme->hashAlg;
    CHECK(hash_size(scheme->hashAlg) > 0, TPM_RC_SCHEME);
    switch (o->pub.type) {
    case TPM_ALG_RSA:
        return sign_rsa(t, o, scheme, digest, dlen, sig);
    case TPM_ALG_ECC:
        return sign_ecc(t, o, scheme, digest, dlen, sig);
    case TPM_ALG_KEYEDHASH:
        CHECK(scheme->scheme == TPM_ALG_HMAC, TPM_RC_SCHEME);
        return sign_hmac(o, scheme->hashAlg, digest, dlen, sig->hmac);
    default:
        return TPM_RC_SCHEME;
    }
}

TPM_RC sign_verify(struct tpm *t, const struct object *o, const uint8_t *digest, size_t dlen,
                   const TPMT_SIGNATURE *sig)
{
    switch (o->pub.type) {
    case TPM_ALG_RSA: {
        struct crypto_rsa_key k;
        CHECK(sig->sigAlg == TPM_ALG_RSASSA || sig->sigAlg == TPM_ALG_RSAPSS, TPM_RC_SCHEME);
        sign_rsa_key(t, o, &k);
        CHECK(crypto_rsa_verify(&k, sig->sigAlg, sig->hash, digest, dlen, sig->rsa.buffer,
                                sig->rsa.size),
              TPM_RC_SIGNATURE);
        return TPM_RC_SUCCESS;
    }
    case TPM_ALG_ECC: {
        struct crypto_ecc_key k;
        bool ok;
        sign_ecc_key(sig->sigAlg == TPM_ALG_ECDSA ? t : NULL, o, &k);
        /* ECDAA signatures are checked by the verifier with the issuer's credential. */
        if (sig->sigAlg == TPM_ALG_ECDSA) {
            ok = crypto_ecc_scalar_ok(k.curve, sig->r.buffer, sig->r.size) &&
                 crypto_ecc_scalar_ok(k.curve, sig->s.buffer, sig->s.size) &&
                 crypto_ecdsa_verify(&k, digest, dlen, sig->r.buffer, sig->r.size,
                                     sig->s.buffer, sig->s.size);
        } else if (sig->sigAlg == TPM_ALG_ECSCHNORR) {
            ok = crypto_ecschnorr_verify(&k, sig->hash, digest, dlen, sig->r.buffer,
                                         sig->r.size, sig->s.buffer, sig->s.size);
        } else {
            return TPM_RC_SCHEME;
        }
        CHECK(ok, TPM_RC_SIGNATURE);
        return TPM_RC_SUCCESS;
    }
    case TPM_ALG_KEYEDHASH: {
        uint8_t mac[MAX_DIGEST_SIZE];
        CHECK(sig->sigAlg == TPM_ALG_HMAC, TPM_RC_SCHEME);
        CHECK(sign_has_private(o), TPM_RC_HANDLE);
        TRY(sign_hmac(o, sig->hash, digest, dlen, mac));
        bool ok = secret_eq(mac, sig->hmac, hash_size(sig->hash));
        secret_wipe(mac, sizeof(mac));
        CHECK(ok, TPM_RC_SIGNATURE);
        return TPM_RC_SUCCESS;
    }
    default:
        return TPM_RC_SCHEME;
    }
}

/* ---- Part 3 §20.2 TPM2_Sign ---- */

struct in_Sign {
    TPM2B_DIGEST digest;
    TPMT_SIG_SCHEME inScheme;
    TPMT_TK validation;
};

struct out_Sign {
    TPMT_SIGNATURE signature;
};

static TPM_RC parse_Sign(struct rd *r, struct in_Sign *in)
{
    PARAM(1, RD_TPM2B(r, &in->digest));
    PARAM(2, rd_TPMT_SIG_SCHEME(r, &in->inScheme));
    PARAM(3, rd_TPMT_TK(r, &in->validation, TPM_ST_HASHCHECK));
    return TPM_RC_SUCCESS;
}

static void emit_Sign(struct wr *w, const struct out_Sign *out)
{
    wr_TPMT_SIGNATURE(w, &out->signature);
}

static TPM_RC cc_Sign(struct tpm *t, struct cmd *c, const struct in_Sign *in,
                      struct out_Sign *out)
{
    struct object *o = object_get(t, c->handles[0]);
    TPMT_SIG_SCHEME scheme = in->inScheme;
    CHECK(o && sign_is_signing_key(o), RC_H(TPM_RC_KEY, 1));
    CHECK(sign_has_private(o), TPM_RC_AUTH_UNAVAILABLE);
    /* A key that signs X.509 certificates may not sign arbitrary digests. */
    CHECK(!(o->pub.objectAttributes & TPMA_OBJECT_X509SIGN), RC_H(TPM_RC_ATTRIBUTES, 1));
    CHECK(sign_select_scheme(o, &scheme), RC_P(TPM_RC_SCHEME, 2));
    /* A restricted key signs only digests the TPM made, proven by a hash-check ticket from
     * TPM2_Hash or a hash sequence over data that did not start with TPM_GENERATED_VALUE
     * (Part 3 §20.2); a ticket given for an unrestricted key is checked as well. */
    if (in->validation.digest.size != 0 || (o->pub.objectAttributes & TPMA_OBJECT_RESTRICTED)) {
        CHECK(ticket_hashcheck_ok(t, &in->validation, scheme.hashAlg, in->digest.buffer,
                                  in->digest.size),
              RC_P(TPM_RC_TICKET, 3));
    } else {
        CHECK(in->digest.size == hash_size(scheme.hashAlg), RC_P(TPM_RC_SIZE, 1));
    }
    TPM_RC rc = sign_digest(t, o, &scheme, in->digest.buffer, in->digest.size, &out->signature);
    return rc == TPM_RC_SCHEME ? RC_P(rc, 2) : rc;
}

CMD_OPS(Sign);

/* ---- Part 3 §20.1 TPM2_VerifySignature ---- */

struct in_VerifySignature {
    TPM2B_DIGEST digest;
    TPMT_SIGNATURE signature;
};

struct out_VerifySignature {
    TPMT_TK validation;
};

static TPM_RC parse_VerifySignature(struct rd *r, struct in_VerifySignature *in)
{
    PARAM(1, RD_TPM2B(r, &in->digest));
    PARAM(2, rd_TPMT_SIGNATURE(r, &in->signature, NO_NULL));
    return TPM_RC_SUCCESS;
}

static void emit_VerifySignature(struct wr *w, const struct out_VerifySignature *out)
{
    wr_TPMT_TK(w, &out->validation);
}

static TPM_RC cc_VerifySignature(struct tpm *t, struct cmd *c,
                                 const struct in_VerifySignature *in,
                                 struct out_VerifySignature *out)
{
    struct object *o = object_get(t, c->handles[0]);
    CHECK(o && o->kind == OBJ_KEY, RC_H(TPM_RC_HANDLE, 1));
    CHECK(o->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT, RC_H(TPM_RC_ATTRIBUTES, 1));
    TPM_RC rc = sign_verify(t, o, in->digest.buffer, in->digest.size, &in->signature);
    if (rc == TPM_RC_HANDLE) {
        return RC_H(rc, 1);
    }
    CHECK(rc == TPM_RC_SUCCESS, RC_P(rc, 2));
    /* The ticket TPM2_PolicyAuthorize accepts: under the key's hierarchy, keyed by its name. */
    return ticket_verified(t, o->hierarchy, o->pub.nameAlg, in->digest.buffer, in->digest.size,
                           &o->name, &out->validation);
}

CMD_OPS(VerifySignature);

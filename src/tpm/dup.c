/*
 * Secret sharing and the commands built on it (Part 1 §24 "Secret sharing", Annex B.10.3
 * RSA-OAEP and C.6 ECDH with KDFe): Part 3 §12.5 ActivateCredential, §12.6 MakeCredential
 * (numbered as in Part 3 rev 1.59), §13.1 Duplicate, §13.2 Rewrap, §13.3 Import.
 *
 * A seed shared with the holder of key k under a label ("SECRET", "IDENTITY", "DUPLICATE"):
 *   RSA: encSecret = RSA-OAEP(k, hash = k.nameAlg, label with its zero octet)(seed)
 *   ECC: encSecret = TPMS_ECC_POINT Qe (ephemeral); Z = de * Qk;
 *        seed = KDFe(k.nameAlg, Z.x, label, Qe.x, Qk.x, 8 * |H(k.nameAlg)|)
 */
#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "cmd.h"
#include "crypto_asym.h"
#include "marshal.h"
#include "object.h"
#include "objcmd.h"

/* A key that may receive a secret: RSA or ECC with decrypt and a private part. */
static TPM_RC secret_key_ok(const struct object *k, bool need_private)
{
    CHECK(k && k->kind == OBJ_KEY, TPM_RC_KEY);
    CHECK(k->pub.type == TPM_ALG_RSA || k->pub.type == TPM_ALG_ECC, TPM_RC_KEY);
    CHECK(k->pub.objectAttributes & TPMA_OBJECT_DECRYPT, TPM_RC_ATTRIBUTES);
    CHECK(!need_private || !(k->flags & OBJF_PUBLIC_ONLY), TPM_RC_KEY);
    return TPM_RC_SUCCESS;
}

/* Recover the seed of encSecret (see the top of this file) with key k's private part. */
static TPM_RC secret_decrypt(const struct object *k, const char *label, const uint8_t *secret,
                             size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    TRY(secret_key_ok(k, true));
    uint16_t dsize = hash_size(k->pub.nameAlg);
    if (k->pub.type == TPM_ALG_RSA) {
        uint32_t e = k->pub.parameters.exponent ? k->pub.parameters.exponent
                                                : CRYPTO_RSA_DEFAULT_EXPONENT;
        CHECK(len == k->pub.unique.rsa.size, TPM_RC_SIZE);
        CHECK(crypto_rsa_oaep_decrypt(k->pub.nameAlg, label, k->pub.unique.rsa.buffer,
                                      k->pub.unique.rsa.size, e, k->sens.sensitive.buffer,
                                      k->sens.sensitive.size, secret, len, out, cap, out_len),
              TPM_RC_VALUE);
        /* The seed is as large as the key's nameAlg digest (Part 1 §24.3). */
        CHECK(*out_len <= dsize, TPM_RC_VALUE);
        return TPM_RC_SUCCESS;
    }
    TPMS_ECC_POINT q;
    struct rd r;
    uint8_t z[MAX_ECC_KEY_BYTES];
    TPM_ECC_CURVE curve = k->pub.parameters.curveID;
    size_t size = crypto_ecc_bytes(curve);
    rd_init(&r, secret, len);
    CHECK(rd_TPMS_ECC_POINT(&r, &q) == TPM_RC_SUCCESS && rd_done(&r), TPM_RC_SIZE);
    CHECK(dsize <= cap, TPM_RC_SIZE);
    CHECK(crypto_ecc_point_ok(curve, q.x.buffer, q.x.size, q.y.buffer, q.y.size),
          TPM_RC_ECC_POINT);
    CHECK(crypto_ecdh(curve, k->sens.sensitive.buffer, k->sens.sensitive.size, q.x.buffer,
                      q.x.size, q.y.buffer, q.y.size, z),
          TPM_RC_ECC_POINT);
    bool ok = crypto_kdfe(k->pub.nameAlg, z, size, label, q.x.buffer, q.x.size,
                          k->pub.unique.ecc.x.buffer, k->pub.unique.ecc.x.size, dsize * 8u, out);
    secret_wipe(z, sizeof(z));
    CHECK(ok, TPM_RC_FAILURE);
    *out_len = dsize;
    return TPM_RC_SUCCESS;
}

/* Make a fresh seed for key k and encrypt it (MakeCredential, Duplicate to a new parent). */
static TPM_RC secret_encrypt(const struct object *k, const char *label, uint8_t *seed,
                             size_t *seed_len, TPM2B_ENCRYPTED_SECRET *enc)
{
    TRY(secret_key_ok(k, false));
    uint16_t dsize = hash_size(k->pub.nameAlg);
    if (k->pub.type == TPM_ALG_RSA) {
        uint32_t e = k->pub.parameters.exponent ? k->pub.parameters.exponent
                                                : CRYPTO_RSA_DEFAULT_EXPONENT;
        CHECK(crypto_random(seed, dsize), TPM_RC_FAILURE);
        CHECK(crypto_rsa_oaep_encrypt(k->pub.nameAlg, label, k->pub.unique.rsa.buffer,
                                      k->pub.unique.rsa.size, e, seed, dsize, enc->buffer),
              TPM_RC_KEY);
        enc->size = k->pub.unique.rsa.size;
        *seed_len = dsize;
        return TPM_RC_SUCCESS;
    }
    TPM_ECC_CURVE curve = k->pub.parameters.curveID;
    size_t size = crypto_ecc_bytes(curve);
    uint8_t d[MAX_ECC_KEY_BYTES], z[MAX_ECC_KEY_BYTES];
    TPMS_ECC_POINT q;
    struct wr w;
    const TPMS_ECC_POINT *qk = &k->pub.unique.ecc;
    TPM_RC rc = TPM_RC_FAILURE;
    memset(&q, 0, sizeof(q));
    if (!crypto_ecc_generate(curve, d, q.x.buffer, q.y.buffer)) {
        goto out;
    }
    q.x.size = q.y.size = (uint16_t)size;
    if (!crypto_ecdh(curve, d, size, qk->x.buffer, qk->x.size, qk->y.buffer, qk->y.size, z)) {
        rc = TPM_RC_ECC_POINT;
        goto out;
    }
    if (!crypto_kdfe(k->pub.nameAlg, z, size, label, q.x.buffer, q.x.size, qk->x.buffer,
                     qk->x.size, dsize * 8u, seed)) {
        goto out;
    }
    wr_init(&w, enc->buffer, sizeof(enc->buffer));
    wr_TPMS_ECC_POINT(&w, &q);
    if (w.err) {
        goto out;
    }
    enc->size = (uint16_t)w.off;
    *seed_len = dsize;
    rc = TPM_RC_SUCCESS;
out:
    secret_wipe(d, sizeof(d));
    secret_wipe(z, sizeof(z));
    return rc;
}

TPM_RC object_decrypt_secret(struct tpm *t, TPM_HANDLE h, const char *label,
                             const uint8_t *secret, size_t len, uint8_t *out, size_t cap,
                             size_t *out_len)
{
    return secret_decrypt(object_get(t, h), label, secret, len, out, cap, out_len);
}

/* A storage key that receives wrapped secrets (restricted decrypt, RSA or ECC). */
static bool asym_storage(const struct object *k)
{
    return k && k->kind == OBJ_KEY && (k->pub.type == TPM_ALG_RSA || k->pub.type == TPM_ALG_ECC) &&
           (k->pub.objectAttributes & TPMA_OBJECT_RESTRICTED) &&
           (k->pub.objectAttributes & TPMA_OBJECT_DECRYPT) &&
           !(k->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT);
}

/* ---- Part 3 §12.6 TPM2_MakeCredential ---- */

struct in_MakeCredential {
    TPM2B_DIGEST credential;
    TPM2B_NAME objectName;
};

struct out_MakeCredential {
    TPM2B_ID_OBJECT credentialBlob;
    TPM2B_ENCRYPTED_SECRET secret;
};

static TPM_RC parse_MakeCredential(struct rd *r, struct in_MakeCredential *in)
{
    PARAM(1, RD_TPM2B(r, &in->credential));
    PARAM(2, RD_TPM2B(r, &in->objectName));
    return TPM_RC_SUCCESS;
}

static void emit_MakeCredential(struct wr *w, const struct out_MakeCredential *out)
{
    WR_TPM2B(w, &out->credentialBlob);
    WR_TPM2B(w, &out->secret);
}

/* Part 1 §24.4: credentialBlob = HMAC || CFB(KDFa(seed, "STORAGE", name), TPM2B credential) */
static TPM_RC cc_MakeCredential(struct tpm *t, struct cmd *c,
                                const struct in_MakeCredential *in,
                                struct out_MakeCredential *out)
{
    struct object *k = object_get(t, c->handles[0]);
    uint8_t seed[MAX_DIGEST_SIZE], plain[2 + MAX_DIGEST_SIZE];
    size_t seed_len = 0;
    TPM2B_PRIVATE blob;
    CHECK(asym_storage(k), RC_H(TPM_RC_TYPE, 1));
    CHECK(in->credential.size <= hash_size(k->pub.nameAlg), RC_P(TPM_RC_SIZE, 1));
    CHECK(in->objectName.size >= 2, RC_P(TPM_RC_SIZE, 2));
    TPM_RC rc = secret_encrypt(k, "IDENTITY", seed, &seed_len, &out->secret);
    if (rc == TPM_RC_SUCCESS) {
        be16_put(plain, in->credential.size);
        memcpy(plain + 2, in->credential.buffer, in->credential.size);
        rc = object_wrap(k->pub.nameAlg, &k->pub.parameters.symmetric, seed, seed_len,
                         &in->objectName, plain, 2u + in->credential.size, &blob);
    }
    if (rc == TPM_RC_SUCCESS) {
        CHECK(blob.size <= sizeof(out->credentialBlob.buffer), TPM_RC_FAILURE);
        memcpy(out->credentialBlob.buffer, blob.buffer, blob.size);
        out->credentialBlob.size = blob.size;
    }
    secret_wipe(seed, sizeof(seed));
    secret_wipe(plain, sizeof(plain));
    return rc == TPM_RC_KEY || rc == TPM_RC_ECC_POINT ? RC_H(rc, 1) : rc;
}

CMD_OPS(MakeCredential);

/* ---- Part 3 §12.5 TPM2_ActivateCredential ---- */

struct in_ActivateCredential {
    TPM2B_ID_OBJECT credentialBlob;
    TPM2B_ENCRYPTED_SECRET secret;
};

struct out_ActivateCredential {
    TPM2B_DIGEST certInfo;
};

static TPM_RC parse_ActivateCredential(struct rd *r, struct in_ActivateCredential *in)
{
    PARAM(1, RD_TPM2B(r, &in->credentialBlob));
    PARAM(2, RD_TPM2B(r, &in->secret));
    return TPM_RC_SUCCESS;
}

static void emit_ActivateCredential(struct wr *w, const struct out_ActivateCredential *out)
{
    WR_TPM2B(w, &out->certInfo);
}

static TPM_RC cc_ActivateCredential(struct tpm *t, struct cmd *c,
                                    const struct in_ActivateCredential *in,
                                    struct out_ActivateCredential *out)
{
    struct object *obj = object_get(t, c->handles[0]);
    struct object *k = object_get(t, c->handles[1]);
    uint8_t seed[MAX_DIGEST_SIZE], plain[sizeof(TPM2B_ID_OBJECT)];
    size_t seed_len = 0, plen = 0;
    struct rd r;
    CHECK(obj && obj->kind == OBJ_KEY, RC_H(TPM_RC_TYPE, 1));
    CHECK(asym_storage(k) && !(k->flags & OBJF_PUBLIC_ONLY), RC_H(TPM_RC_TYPE, 2));
    TPM_RC rc = secret_decrypt(k, "IDENTITY", in->secret.buffer, in->secret.size, seed,
                               sizeof(seed), &seed_len);
    if (rc != TPM_RC_SUCCESS) {
        secret_wipe(seed, sizeof(seed));
        return RC_P(rc, 2);
    }
    rc = object_unwrap(k->pub.nameAlg, &k->pub.parameters.symmetric, seed, seed_len,
                       &obj->name, in->credentialBlob.buffer, in->credentialBlob.size, plain,
                       sizeof(plain), &plen);
    secret_wipe(seed, sizeof(seed));
    if (rc == TPM_RC_SUCCESS) {
        rd_init(&r, plain, plen);
        if (RD_TPM2B(&r, &out->certInfo) != TPM_RC_SUCCESS || !rd_done(&r) ||
            out->certInfo.size > hash_size(k->pub.nameAlg)) {
            rc = TPM_RC_SIZE;
        }
    }
    secret_wipe(plain, sizeof(plain));
    return rc == TPM_RC_SUCCESS ? rc : RC_P(rc, 1);
}

CMD_OPS(ActivateCredential);

/* ---- inner wrapper (Part 1 §23.3.2.3) ---- */

/* dup = CFB(key, 0, TPM2B_DIGEST(H_nameAlg(sensitive || name)) || sensitive), sensitive being
 * the marshaled TPM2B_SENSITIVE; without a symmetric algorithm dup = sensitive. */
static TPM_RC inner_wrap(const struct object *o, const TPMT_SYM_DEF_OBJECT *sym,
                         const uint8_t *key, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t sbuf[sizeof(TPMT_SENSITIVE) + 8];
    TPMT_SENSITIVE s = o->sens;
    struct wr w;
    struct hash_state h;
    uint16_t dsize = hash_size(o->pub.nameAlg);
    TPM_RC rc = TPM_RC_FAILURE;
    memcpy(&s.authValue, &o->auth, sizeof(s.authValue));
    wr_init(&w, sbuf, sizeof(sbuf));
    wr_TPM2B_SENSITIVE(&w, &s);
    size_t slen = w.off;
    if (w.err) {
        goto out;
    }
    if (sym->algorithm == TPM_ALG_NULL) {
        if (slen > cap) {
            goto out;
        }
        memcpy(out, sbuf, slen);
        *len = slen;
        rc = TPM_RC_SUCCESS;
        goto out;
    }
    if (2 + dsize + slen > cap || !hash_begin(&h, o->pub.nameAlg)) {
        goto out;
    }
    hash_update(&h, sbuf, slen);
    hash_update(&h, o->name.buffer, o->name.size);
    be16_put(out, dsize);
    if (!hash_end(&h, out + 2)) {
        goto out;
    }
    memcpy(out + 2 + dsize, sbuf, slen);
    uint8_t iv[MAX_SYM_BLOCK_SIZE] = {0};
    if (!crypto_sym(sym->algorithm, sym->keyBits, TPM_ALG_CFB, true, key, iv, out, out,
                    2 + dsize + slen)) {
        goto out;
    }
    *len = 2 + dsize + slen;
    rc = TPM_RC_SUCCESS;
out:
    secret_wipe(sbuf, sizeof(sbuf));
    secret_wipe(&s, sizeof(s));
    return rc;
}

/* The inverse: TPM_RC_INTEGRITY when the inner digest does not match. */
static TPM_RC inner_unwrap(TPM_ALG_ID name_alg, const TPM2B_NAME *name,
                           const TPMT_SYM_DEF_OBJECT *sym, const uint8_t *key, uint8_t *buf,
                           size_t len, TPMT_SENSITIVE *sens)
{
    struct rd r;
    const uint8_t *given = NULL;
    uint16_t dsize = hash_size(name_alg), isize;
    if (sym->algorithm != TPM_ALG_NULL) {
        uint8_t iv[MAX_SYM_BLOCK_SIZE] = {0}, d[MAX_DIGEST_SIZE];
        CHECK(crypto_sym(sym->algorithm, sym->keyBits, TPM_ALG_CFB, false, key, iv, buf, buf,
                         len),
              TPM_RC_FAILURE);
        rd_init(&r, buf, len);
        CHECK(rd_u16(&r, &isize) && isize == dsize && rd_ptr(&r, dsize, &given),
              TPM_RC_INTEGRITY);
        struct hash_state h;
        CHECK(hash_begin(&h, name_alg), TPM_RC_FAILURE);
        hash_update(&h, buf + 2 + dsize, rd_left(&r));
        hash_update(&h, name->buffer, name->size);
        CHECK(hash_end(&h, d), TPM_RC_FAILURE);
        CHECK(secret_eq(d, given, dsize), TPM_RC_INTEGRITY);
    } else {
        rd_init(&r, buf, len);
    }
    CHECK(rd_TPM2B_SENSITIVE(&r, sens) == TPM_RC_SUCCESS && rd_done(&r), TPM_RC_SENSITIVE);
    return TPM_RC_SUCCESS;
}

/* ---- Part 3 §13.1 TPM2_Duplicate ---- */

struct in_Duplicate {
    TPM2B_DATA encryptionKeyIn;
    TPMT_SYM_DEF_OBJECT symmetricAlg;
};

struct out_Duplicate {
    TPM2B_DATA encryptionKeyOut;
    TPM2B_PRIVATE duplicate;
    TPM2B_ENCRYPTED_SECRET outSymSeed;
};

static TPM_RC parse_Duplicate(struct rd *r, struct in_Duplicate *in)
{
    PARAM(1, RD_TPM2B(r, &in->encryptionKeyIn));
    PARAM(2, rd_TPMT_SYM_DEF_OBJECT(r, &in->symmetricAlg, NULL_OK));
    return TPM_RC_SUCCESS;
}

static void emit_Duplicate(struct wr *w, const struct out_Duplicate *out)
{
    WR_TPM2B(w, &out->encryptionKeyOut);
    WR_TPM2B(w, &out->duplicate);
    WR_TPM2B(w, &out->outSymSeed);
}

static TPM_RC cc_Duplicate(struct tpm *t, struct cmd *c, const struct in_Duplicate *in,
                           struct out_Duplicate *out)
{
    struct object *o = object_get(t, c->handles[0]);
    TPM_HANDLE nh = c->handles[1];
    struct object *np = nh == TPM_RH_NULL ? NULL : object_get(t, nh);
    const TPMT_SYM_DEF_OBJECT *sym = &in->symmetricAlg;
    uint8_t key[MAX_SYM_KEY_BYTES], buf[sizeof(TPM2B_PRIVATE)], seed[MAX_DIGEST_SIZE];
    size_t len = 0, seed_len = 0;
    TPM_RC rc;
    CHECK(o && o->kind == OBJ_KEY && !(o->flags & (OBJF_PUBLIC_ONLY | OBJF_EXTERNAL)),
          RC_H(TPM_RC_TYPE, 1));
    CHECK(!(o->pub.objectAttributes & TPMA_OBJECT_FIXEDPARENT), RC_H(TPM_RC_ATTRIBUTES, 1));
    if (o->pub.objectAttributes & TPMA_OBJECT_ENCRYPTEDDUPLICATION) {
        CHECK(sym->algorithm != TPM_ALG_NULL, RC_P(TPM_RC_SYMMETRIC, 2));
        CHECK(np, RC_H(TPM_RC_HIERARCHY, 2));
    }
    CHECK(!np || asym_storage(np), RC_H(TPM_RC_TYPE, 2));
    if (sym->algorithm == TPM_ALG_NULL) {
        CHECK(in->encryptionKeyIn.size == 0, RC_P(TPM_RC_SIZE, 1));
    } else if (in->encryptionKeyIn.size == 0) {
        CHECK(crypto_random(key, sym->keyBits / 8), TPM_RC_FAILURE);
        memcpy(out->encryptionKeyOut.buffer, key, sym->keyBits / 8);
        out->encryptionKeyOut.size = sym->keyBits / 8;
    } else {
        CHECK(in->encryptionKeyIn.size * 8 == sym->keyBits, RC_P(TPM_RC_SIZE, 1));
        memcpy(key, in->encryptionKeyIn.buffer, in->encryptionKeyIn.size);
    }
    rc = inner_wrap(o, sym, key, buf, sizeof(buf), &len);
    if (rc == TPM_RC_SUCCESS && np) {
        rc = secret_encrypt(np, "DUPLICATE", seed, &seed_len, &out->outSymSeed);
        if (rc == TPM_RC_SUCCESS) {
            rc = object_wrap(np->pub.nameAlg, &np->pub.parameters.symmetric, seed, seed_len,
                             &o->name, buf, len, &out->duplicate);
        }
    } else if (rc == TPM_RC_SUCCESS) {
        memcpy(out->duplicate.buffer, buf, len);
        out->duplicate.size = (uint16_t)len;
    }
    secret_wipe(key, sizeof(key));
    secret_wipe(buf, sizeof(buf));
    secret_wipe(seed, sizeof(seed));
    return rc;
}

CMD_OPS(Duplicate);

/* Remove an outer wrapper with parent p (NULL: none): the inner part into buf. */
static TPM_RC outer_unwrap(const struct object *p, const TPM2B_NAME *name,
                           const TPM2B_PRIVATE *dup, const TPM2B_ENCRYPTED_SECRET *sym_seed,
                           uint8_t *buf, size_t cap, size_t *len, unsigned seed_param,
                           unsigned dup_param)
{
    uint8_t seed[MAX_DIGEST_SIZE];
    size_t seed_len = 0;
    if (!p) {
        CHECK(sym_seed->size == 0, RC_P(TPM_RC_SIZE, seed_param));
        CHECK(dup->size <= cap, RC_P(TPM_RC_SIZE, dup_param));
        memcpy(buf, dup->buffer, dup->size);
        *len = dup->size;
        return TPM_RC_SUCCESS;
    }
    TPM_RC rc = secret_decrypt(p, "DUPLICATE", sym_seed->buffer, sym_seed->size, seed,
                               sizeof(seed), &seed_len);
    if (rc != TPM_RC_SUCCESS) {
        secret_wipe(seed, sizeof(seed));
        return RC_P(rc, seed_param);
    }
    rc = object_unwrap(p->pub.nameAlg, &p->pub.parameters.symmetric, seed, seed_len, name,
                       dup->buffer, dup->size, buf, cap, len);
    secret_wipe(seed, sizeof(seed));
    return rc == TPM_RC_SUCCESS ? rc : RC_P(rc, dup_param);
}

/* ---- Part 3 §13.2 TPM2_Rewrap ---- */

struct in_Rewrap {
    TPM2B_PRIVATE inDuplicate;
    TPM2B_NAME name;
    TPM2B_ENCRYPTED_SECRET inSymSeed;
};

struct out_Rewrap {
    TPM2B_PRIVATE outDuplicate;
    TPM2B_ENCRYPTED_SECRET outSymSeed;
};

static TPM_RC parse_Rewrap(struct rd *r, struct in_Rewrap *in)
{
    PARAM(1, RD_TPM2B(r, &in->inDuplicate));
    PARAM(2, RD_TPM2B(r, &in->name));
    PARAM(3, RD_TPM2B(r, &in->inSymSeed));
    return TPM_RC_SUCCESS;
}

static void emit_Rewrap(struct wr *w, const struct out_Rewrap *out)
{
    WR_TPM2B(w, &out->outDuplicate);
    WR_TPM2B(w, &out->outSymSeed);
}

static TPM_RC cc_Rewrap(struct tpm *t, struct cmd *c, const struct in_Rewrap *in,
                        struct out_Rewrap *out)
{
    struct object *op = c->handles[0] == TPM_RH_NULL ? NULL : object_get(t, c->handles[0]);
    struct object *np = c->handles[1] == TPM_RH_NULL ? NULL : object_get(t, c->handles[1]);
    uint8_t buf[sizeof(TPM2B_PRIVATE)], seed[MAX_DIGEST_SIZE];
    size_t len = 0, seed_len = 0;
    CHECK(c->handles[0] == TPM_RH_NULL || asym_storage(op), RC_H(TPM_RC_TYPE, 1));
    CHECK(c->handles[1] == TPM_RH_NULL || asym_storage(np), RC_H(TPM_RC_TYPE, 2));
    CHECK(in->name.size >= 2 && hash_size((TPM_ALG_ID)(in->name.buffer[0] << 8 | in->name.buffer[1])) + 2 == in->name.size,
          RC_P(TPM_RC_SIZE, 2));
    TPM_RC rc = outer_unwrap(op, &in->name, &in->inDuplicate, &in->inSymSeed, buf, sizeof(buf),
                             &len, 3, 1);
    if (rc == TPM_RC_SUCCESS && np) {
        rc = secret_encrypt(np, "DUPLICATE", seed, &seed_len, &out->outSymSeed);
        if (rc == TPM_RC_SUCCESS) {
            rc = object_wrap(np->pub.nameAlg, &np->pub.parameters.symmetric, seed, seed_len,
                             &in->name, buf, len, &out->outDuplicate);
        }
    } else if (rc == TPM_RC_SUCCESS) {
        memcpy(out->outDuplicate.buffer, buf, len);
        out->outDuplicate.size = (uint16_t)len;
    }
    secret_wipe(buf, sizeof(buf));
    secret_wipe(seed, sizeof(seed));
    return rc;
}

CMD_OPS(Rewrap);

/* ---- Part 3 §13.3 TPM2_Import ---- */

struct in_Import {
    TPM2B_DATA encryptionKey;
    TPMT_PUBLIC objectPublic;
    TPM2B_PRIVATE duplicate;
    TPM2B_ENCRYPTED_SECRET inSymSeed;
    TPMT_SYM_DEF_OBJECT symmetricAlg;
};

struct out_Import {
    TPM2B_PRIVATE outPrivate;
};

static TPM_RC parse_Import(struct rd *r, struct in_Import *in)
{
    PARAM(1, RD_TPM2B(r, &in->encryptionKey));
    PARAM(2, rd_TPM2B_PUBLIC(r, &in->objectPublic, NO_NULL));
    PARAM(3, RD_TPM2B(r, &in->duplicate));
    PARAM(4, RD_TPM2B(r, &in->inSymSeed));
    PARAM(5, rd_TPMT_SYM_DEF_OBJECT(r, &in->symmetricAlg, NULL_OK));
    return TPM_RC_SUCCESS;
}

static void emit_Import(struct wr *w, const struct out_Import *out)
{
    WR_TPM2B(w, &out->outPrivate);
}

static TPM_RC cc_Import(struct tpm *t, struct cmd *c, const struct in_Import *in,
                        struct out_Import *out)
{
    struct object *p = object_get(t, c->handles[0]);
    const TPMT_PUBLIC *pub = &in->objectPublic;
    const TPMT_SYM_DEF_OBJECT *sym = &in->symmetricAlg;
    uint8_t buf[sizeof(TPM2B_PRIVATE)];
    size_t len = 0;
    TPM2B_NAME name;
    TPMT_SENSITIVE sens;
    CHECK(p && object_is_storage(p), RC_H(TPM_RC_TYPE, 1));
    /* An object fixed to its TPM or parent cannot have been duplicated. */
    CHECK(!(pub->objectAttributes & (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT)),
          RC_P(TPM_RC_ATTRIBUTES, 2));
    if (pub->objectAttributes & TPMA_OBJECT_ENCRYPTEDDUPLICATION) {
        CHECK(sym->algorithm != TPM_ALG_NULL, RC_P(TPM_RC_SYMMETRIC, 5));
        CHECK(in->inSymSeed.size > 0, RC_P(TPM_RC_ATTRIBUTES, 2));
    }
    PARAM(2, object_check_public(pub, p));
    if (sym->algorithm == TPM_ALG_NULL) {
        CHECK(in->encryptionKey.size == 0, RC_P(TPM_RC_SIZE, 1));
    } else {
        CHECK(in->encryptionKey.size * 8 == sym->keyBits, RC_P(TPM_RC_SIZE, 1));
    }
    TRY(object_name(pub, &name));
    TPM_RC rc = outer_unwrap(in->inSymSeed.size ? p : NULL, &name, &in->duplicate,
                             &in->inSymSeed, buf, sizeof(buf), &len, 4, 3);
    if (rc == TPM_RC_SUCCESS) {
        rc = inner_unwrap(pub->nameAlg, &name, sym, in->encryptionKey.buffer, buf, len, &sens);
        rc = rc == TPM_RC_SUCCESS ? rc : RC_P(rc, 3);
    }
    if (rc == TPM_RC_SUCCESS) {
        rc = object_check_binding(pub, &sens);
        if (rc == TPM_RC_SUCCESS && sens.authValue.size > hash_size(pub->nameAlg)) {
            rc = TPM_RC_SIZE;
        }
        rc = rc == TPM_RC_SUCCESS ? rc : RC_P(rc, 3);
    }
    if (rc == TPM_RC_SUCCESS) {
        rc = object_protect(p, &name, &sens, &out->outPrivate);
    }
    secret_wipe(buf, sizeof(buf));
    secret_wipe(&sens, sizeof(sens));
    return rc;
}

CMD_OPS(Import);

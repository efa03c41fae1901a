/*
 * Test helpers for the signing, encryption and attestation tests: key templates written field
 * by field as Part 2 §12.2.4 lays out TPMT_PUBLIC, the commands that load and use keys, and
 * OpenSSL-side keys to check the engine's results with. Nothing here calls the engine's own
 * marshaling or crypto code: a bug there cannot hide in the check.
 */
#ifndef VTPM_TESTS_TPMKEYS_H
#define VTPM_TESTS_TPMKEYS_H

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "tpm/tpm_consts.h"
#include "tpmtest.h"

#define ST_NO 0x8001
#define ST_S 0x8002

/* Response codes as the engine numbers them (Part 2 §6.6.3). */
#define RCP(rc, n) ((uint32_t)(rc) | 0x040u | ((uint32_t)(n) << 8))
#define RCH(rc, n) ((uint32_t)(rc) | ((uint32_t)(n) << 8))

/* objectAttributes (Part 2 §8.3) */
#define A_FIXEDTPM 0x00000002u
#define A_FIXEDPARENT 0x00000010u
#define A_SDO 0x00000020u
#define A_UWA 0x00000040u
#define A_NODA 0x00000400u
#define A_RESTRICTED 0x00010000u
#define A_DECRYPT 0x00020000u
#define A_SIGN 0x00040000u
#define A_X509 0x00080000u
#define A_KEY (A_FIXEDTPM | A_FIXEDPARENT | A_SDO | A_UWA)
#define A_EXT A_UWA /* LoadExternal with a private part: not fixed to this TPM */

static const char *const pw_empty[] = {""};

/* What a template says: the parts of TPMT_PUBLIC the tests vary. */
struct kdesc {
    uint16_t type;
    uint16_t name_alg;
    uint32_t attrs;
    uint16_t scheme, hash, count; /* asymmetric scheme, or keyed-hash scheme */
    uint16_t bits;                /* RSA key bits, AES key bits */
    uint16_t curve;
    uint16_t sym, sym_bits, sym_mode; /* parent symmetric definition, or a cipher's own */
};

static inline struct kdesc kd_rsa(uint16_t bits, uint32_t attrs, uint16_t scheme, uint16_t hash)
{
    struct kdesc d = {TPM_ALG_RSA, TPM_ALG_SHA256, attrs, scheme, hash, 0, bits, 0,
                      TPM_ALG_NULL, 0, 0};
    return d;
}

static inline struct kdesc kd_ecc(uint16_t curve, uint32_t attrs, uint16_t scheme, uint16_t hash)
{
    struct kdesc d = {TPM_ALG_ECC, TPM_ALG_SHA256, attrs, scheme, hash, 0, 0, curve,
                      TPM_ALG_NULL, 0, 0};
    return d;
}

static inline struct kdesc kd_hmac(uint32_t attrs, uint16_t hash)
{
    struct kdesc d = {TPM_ALG_KEYEDHASH, TPM_ALG_SHA256, attrs, hash ? TPM_ALG_HMAC : TPM_ALG_NULL,
                      hash, 0, 0, 0, TPM_ALG_NULL, 0, 0};
    return d;
}

static inline struct kdesc kd_aes(uint16_t bits, uint16_t mode, uint32_t attrs)
{
    struct kdesc d = {TPM_ALG_SYMCIPHER, TPM_ALG_SHA256, attrs, 0, 0, 0, bits, 0,
                      TPM_ALG_AES, bits, mode};
    return d;
}

/* A storage parent: ECC P-256, AES-128-CFB. */
static inline struct kdesc kd_storage(void)
{
    struct kdesc d = kd_ecc(TPM_ECC_NIST_P256, A_KEY | A_RESTRICTED | A_DECRYPT, TPM_ALG_NULL, 0);
    d.sym = TPM_ALG_AES;
    d.sym_bits = 128;
    d.sym_mode = TPM_ALG_CFB;
    return d;
}

static inline void tk_sym(struct tb *c, const struct kdesc *d)
{
    tb_u16(c, d->sym);
    if (d->sym != TPM_ALG_NULL) {
        tb_u16(c, d->sym_bits);
        tb_u16(c, d->sym_mode);
    }
}

static inline void tk_scheme(struct tb *c, uint16_t scheme, uint16_t hash, uint16_t count)
{
    tb_u16(c, scheme);
    if (scheme != TPM_ALG_NULL && scheme != TPM_ALG_RSAES) {
        tb_u16(c, hash);
        if (scheme == TPM_ALG_ECDAA) {
            tb_u16(c, count);
        }
    }
}

/* TPM2B_PUBLIC of d with unique u1 (digest, modulus or x) and u2 (y). */
static inline void tk_public(struct tb *c, const struct kdesc *d, const uint8_t *u1,
                             uint16_t n1, const uint8_t *u2, uint16_t n2)
{
    size_t m = tb_size16_begin(c);
    tb_u16(c, d->type);
    tb_u16(c, d->name_alg);
    tb_u32(c, d->attrs);
    tb_u16(c, 0); /* authPolicy */
    switch (d->type) {
    case TPM_ALG_KEYEDHASH:
        tb_u16(c, d->scheme);
        if (d->scheme != TPM_ALG_NULL) {
            tb_u16(c, d->hash);
        }
        tb_2b(c, u1, n1);
        break;
    case TPM_ALG_SYMCIPHER:
        tk_sym(c, d);
        tb_2b(c, u1, n1);
        break;
    case TPM_ALG_RSA:
        tk_sym(c, d);
        tk_scheme(c, d->scheme, d->hash, d->count);
        tb_u16(c, d->bits);
        tb_u32(c, 0);
        tb_2b(c, u1, n1);
        break;
    case TPM_ALG_ECC:
        tk_sym(c, d);
        tk_scheme(c, d->scheme, d->hash, d->count);
        tb_u16(c, d->curve);
        tb_u16(c, TPM_ALG_NULL); /* kdf */
        tb_2b(c, u1, n1);
        tb_2b(c, u2, n2);
        break;
    }
    tb_size16_end(c, m);
}

static inline struct tpm *tk_up(void)
{
    struct tpm *t = tpm_new(NULL, NULL);
    struct tb c;
    struct rsp r;
    if (!t) {
        return NULL;
    }
    tpm_init(t);
    tb_start(&c, ST_NO, 0x144); /* Startup */
    tb_u16(&c, 0);              /* TPM_SU_CLEAR */
    tt_exec(t, &c, &r);
    return t;
}

/* CreatePrimary with empty sensitive data and unique; *h the new handle. */
static inline uint32_t tk_primary(struct tpm *t, uint32_t hier, const struct kdesc *d,
                                  uint32_t *h)
{
    *h = 0;
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, hier);
    tb_pws(&c, pw_empty, 1);
    tb_u16(&c, 4); /* TPM2B_SENSITIVE_CREATE: empty auth, empty data */
    tb_u16(&c, 0);
    tb_u16(&c, 0);
    tk_public(&c, d, NULL, 0, NULL, 0);
    tb_u16(&c, 0); /* outsideInfo */
    tb_u32(&c, 0); /* creationPCR */
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        *h = rs_u32(&r);
    }
    return rc;
}

/* A creation result kept for CertifyCreation. */
struct tk_creation {
    uint8_t hash[64];
    uint16_t hash_len;
    uint8_t ticket[128]; /* the TPMT_TK_CREATION as marshaled */
    uint16_t ticket_len;
};

/* Create then Load a child of parent (data: optional sensitive data, e.g. an HMAC key). */
static inline uint32_t tk_create_load(struct tpm *t, uint32_t parent, const struct kdesc *d,
                                      const uint8_t *data, uint16_t dlen, uint32_t *h,
                                      struct tk_creation *cr)
{
    *h = 0;
    struct tb c;
    struct rsp r;
    static uint8_t priv[2048], pub[2048];
    uint16_t np, nu;
    tb_start(&c, ST_S, TPM_CC_Create);
    tb_u32(&c, parent);
    tb_pws(&c, pw_empty, 1);
    size_t m = tb_size16_begin(&c);
    tb_u16(&c, 0);
    tb_2b(&c, data, dlen);
    tb_size16_end(&c, m);
    tk_public(&c, d, NULL, 0, NULL, 0);
    tb_u16(&c, 0);
    tb_u32(&c, 0);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc != 0) {
        return rc;
    }
    (void)rs_u32(&r);
    np = rs_2b(&r, priv, sizeof(priv));
    nu = rs_2b(&r, pub, sizeof(pub));
    (void)rs_2b(&r, NULL, 0); /* creationData */
    if (cr) {
        cr->hash_len = rs_2b(&r, cr->hash, sizeof(cr->hash));
        size_t start = r.off;
        (void)rs_u16(&r);
        (void)rs_u32(&r);
        (void)rs_2b(&r, NULL, 0);
        cr->ticket_len = (uint16_t)(r.off - start);
        memcpy(cr->ticket, r.b + start, cr->ticket_len);
    }
    tb_start(&c, ST_S, TPM_CC_Load);
    tb_u32(&c, parent);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, priv, np);
    tb_2b(&c, pub, nu);
    rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        *h = rs_u32(&r);
    }
    return rc;
}

/* LoadExternal of d with its private part priv (NULL: public only) into hier. */
static inline uint32_t tk_external(struct tpm *t, uint32_t hier, const struct kdesc *d,
                                   const uint8_t *priv, uint16_t plen, const uint8_t *u1,
                                   uint16_t n1, const uint8_t *u2, uint16_t n2, uint32_t *h)
{
    *h = 0;
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_LoadExternal);
    if (priv) {
        size_t m = tb_size16_begin(&c);
        tb_u16(&c, d->type);
        tb_u16(&c, 0); /* authValue */
        tb_u16(&c, 0); /* seedValue */
        tb_2b(&c, priv, plen);
        tb_size16_end(&c, m);
    } else {
        tb_u16(&c, 0);
    }
    tk_public(&c, d, u1, n1, u2, n2);
    tb_u32(&c, hier);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        *h = rs_u32(&r);
    }
    return rc;
}

static inline uint32_t tk_flush(struct tpm *t, uint32_t h)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_FlushContext);
    tb_u32(&c, h);
    return tt_exec(t, &c, &r);
}

/* The public key parts, Name and qualified Name of a loaded key (ReadPublic). */
struct tk_pub {
    uint16_t type;
    uint8_t u1[512], u2[128]; /* modulus or x; y */
    uint16_t n1, n2;
    uint8_t name[70], qname[70];
    uint16_t name_len, qname_len;
};

static inline uint32_t tk_read_public(struct tpm *t, uint32_t h, struct tk_pub *p)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_ReadPublic);
    tb_u32(&c, h);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc != 0) {
        return rc;
    }
    (void)rs_u16(&r); /* size */
    p->type = rs_u16(&r);
    (void)rs_u16(&r);          /* nameAlg */
    (void)rs_u32(&r);          /* attributes */
    (void)rs_2b(&r, NULL, 0); /* authPolicy */
    switch (p->type) {
    case TPM_ALG_RSA:
    case TPM_ALG_ECC: {
        uint16_t sym = rs_u16(&r);
        if (sym != TPM_ALG_NULL) {
            r.off += 4; /* keyBits, mode */
        }
        uint16_t sch = rs_u16(&r);
        if (sch != TPM_ALG_NULL && sch != TPM_ALG_RSAES) {
            r.off += sch == TPM_ALG_ECDAA ? 4 : 2;
        }
        if (p->type == TPM_ALG_RSA) {
            r.off += 6; /* keyBits, exponent */
        } else {
            (void)rs_u16(&r); /* curve */
            if (rs_u16(&r) != TPM_ALG_NULL) {
                r.off += 2; /* kdf hash */
            }
        }
        p->n1 = rs_2b(&r, p->u1, sizeof(p->u1));
        p->n2 = p->type == TPM_ALG_ECC ? rs_2b(&r, p->u2, sizeof(p->u2)) : 0;
        break;
    }
    case TPM_ALG_KEYEDHASH: {
        uint16_t sch = rs_u16(&r);
        if (sch != TPM_ALG_NULL) {
            r.off += sch == TPM_ALG_XOR ? 4 : 2;
        }
        p->n1 = rs_2b(&r, p->u1, sizeof(p->u1));
        p->n2 = 0;
        break;
    }
    default:
        return 0xFFFFFFFF;
    }
    p->name_len = rs_2b(&r, p->name, sizeof(p->name));
    p->qname_len = rs_2b(&r, p->qname, sizeof(p->qname));
    return 0;
}

/* A signature as returned (TPMT_SIGNATURE), with its fields. */
struct tk_sig {
    uint8_t raw[1024];
    size_t len;
    uint16_t alg, hash;
    uint8_t a[512], b[128]; /* RSA signature or r; s. HMAC: a */
    uint16_t na, nb;
};

/* Parse a TPMT_SIGNATURE at r's cursor. */
static inline void tk_parse_sig(struct rsp *r, struct tk_sig *s)
{
    size_t start = r->off;
    s->alg = rs_u16(r);
    s->na = s->nb = 0;
    if (s->alg != TPM_ALG_NULL) {
        s->hash = rs_u16(r);
        if (s->alg == TPM_ALG_RSASSA || s->alg == TPM_ALG_RSAPSS) {
            s->na = rs_2b(r, s->a, sizeof(s->a));
        } else if (s->alg == TPM_ALG_HMAC) {
            s->na = s->hash == TPM_ALG_SHA1     ? 20
                    : s->hash == TPM_ALG_SHA384 ? 48
                    : s->hash == TPM_ALG_SHA512 ? 64
                                                : 32;
            memcpy(s->a, r->b + r->off, s->na);
            r->off += s->na;
        } else {
            s->na = rs_2b(r, s->a, sizeof(s->a));
            s->nb = rs_2b(r, s->b, sizeof(s->b));
        }
    }
    s->len = r->off - start;
    memcpy(s->raw, r->b + start, s->len);
}

/* A ticket as marshaled (TPMT_TK_*). */
struct tk_ticket {
    uint8_t b[128];
    uint16_t n;
};

static inline void tk_parse_ticket(struct rsp *r, struct tk_ticket *tk)
{
    size_t start = r->off;
    (void)rs_u16(r);
    (void)rs_u32(r);
    (void)rs_2b(r, NULL, 0);
    tk->n = (uint16_t)(r->off - start);
    memcpy(tk->b, r->b + start, tk->n);
}

/* The NULL hash-check ticket. */
static inline void tk_null_ticket(struct tk_ticket *tk, uint16_t tag)
{
    tk->b[0] = (uint8_t)(tag >> 8);
    tk->b[1] = (uint8_t)tag;
    tk->b[2] = 0x40;
    tk->b[3] = 0x00;
    tk->b[4] = 0x00;
    tk->b[5] = 0x07;
    tk->b[6] = 0;
    tk->b[7] = 0;
    tk->n = 8;
}

/* TPM2_Hash of data into hierarchy hier: digest and ticket. */
static inline uint32_t tk_hash(struct tpm *t, const void *data, uint16_t len, uint16_t alg,
                               uint32_t hier, uint8_t *digest, uint16_t *dlen,
                               struct tk_ticket *tk)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_Hash);
    tb_2b(&c, data, len);
    tb_u16(&c, alg);
    tb_u32(&c, hier);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        *dlen = rs_2b(&r, digest, 64);
        tk_parse_ticket(&r, tk);
    }
    return rc;
}

/* TPM2_Sign with a password session; tk NULL: the NULL ticket. */
static inline uint32_t tk_sign(struct tpm *t, uint32_t h, const uint8_t *digest, uint16_t dlen,
                               uint16_t scheme, uint16_t hash, uint16_t count,
                               const struct tk_ticket *tk, struct tk_sig *sig)
{
    struct tb c;
    struct rsp r;
    struct tk_ticket null;
    tk_null_ticket(&null, TPM_ST_HASHCHECK);
    tb_start(&c, ST_S, TPM_CC_Sign);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, digest, dlen);
    tk_scheme(&c, scheme, hash, count);
    tk = tk ? tk : &null;
    tb_bytes(&c, tk->b, tk->n);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0 && sig) {
        (void)rs_u32(&r);
        tk_parse_sig(&r, sig);
    }
    return rc;
}

/* TPM2_VerifySignature of sig (marshaled TPMT_SIGNATURE); the ticket returned in tk. */
static inline uint32_t tk_verify(struct tpm *t, uint32_t h, const uint8_t *digest,
                                 uint16_t dlen, const uint8_t *sig, size_t siglen,
                                 struct tk_ticket *tk)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_VerifySignature);
    tb_u32(&c, h);
    tb_2b(&c, digest, dlen);
    tb_bytes(&c, sig, siglen);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0 && tk) {
        tk_parse_ticket(&r, tk);
    }
    return rc;
}

/* ---- OpenSSL-side keys ---- */

struct ossl_rsa {
    EVP_PKEY *pkey;
    uint8_t n[512], p[256];
    uint16_t nlen, plen;
};

static inline void ossl_rsa_new(struct ossl_rsa *k, unsigned bits)
{
    BIGNUM *n = NULL, *p = NULL;
    k->pkey = EVP_RSA_gen(bits);
    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, &p);
    k->nlen = (uint16_t)(bits / 8);
    k->plen = (uint16_t)(bits / 16);
    BN_bn2binpad(n, k->n, k->nlen);
    BN_bn2binpad(p, k->p, k->plen);
    BN_free(n);
    BN_clear_free(p);
}

/* An RSA public key (e = 65537) as OpenSSL sees it. */
static inline EVP_PKEY *ossl_rsa_pub(const uint8_t *n, size_t nlen)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *e = BN_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;
    BN_set_word(e, 65537);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
    OSSL_PARAM *prm = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_fromdata_init(ctx);
    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, prm);
    OSSL_PARAM_free(prm);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    BN_free(bn);
    BN_free(e);
    return pkey;
}

struct ossl_ec {
    EVP_PKEY *pkey;
    uint8_t d[66], x[66], y[66];
    uint16_t size;
};

static inline const char *ossl_curve(uint16_t curve)
{
    return curve == TPM_ECC_NIST_P384 ? "P-384" : curve == TPM_ECC_NIST_P521 ? "P-521" : "P-256";
}

static inline uint16_t curve_bytes(uint16_t curve)
{
    return curve == TPM_ECC_NIST_P384 ? 48 : curve == TPM_ECC_NIST_P521 ? 66 : 32;
}

static inline void ossl_ec_new(struct ossl_ec *k, uint16_t curve)
{
    BIGNUM *d = NULL, *x = NULL, *y = NULL;
    k->size = curve_bytes(curve);
    k->pkey = EVP_EC_gen(ossl_curve(curve));
    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d);
    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x);
    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
    BN_bn2binpad(d, k->d, k->size);
    BN_bn2binpad(x, k->x, k->size);
    BN_bn2binpad(y, k->y, k->size);
    BN_clear_free(d);
    BN_free(x);
    BN_free(y);
}

/* An EC public key from its point. */
static inline EVP_PKEY *ossl_ec_pub(uint16_t curve, const uint8_t *x, const uint8_t *y,
                                    size_t size)
{
    uint8_t pt[1 + 2 * 66];
    pt[0] = 4;
    memcpy(pt + 1, x, size);
    memcpy(pt + 1 + size, y, size);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, ossl_curve(curve), 0);
    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * size);
    OSSL_PARAM *prm = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_fromdata_init(ctx);
    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, prm);
    OSSL_PARAM_free(prm);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static inline const EVP_MD *ossl_md(uint16_t alg)
{
    switch (alg) {
    case TPM_ALG_SHA1:
        return EVP_sha1();
    case TPM_ALG_SHA384:
        return EVP_sha384();
    case TPM_ALG_SHA512:
        return EVP_sha512();
    default:
        return EVP_sha256();
    }
}

/* Check a TPM signature over digest with OpenSSL: RSASSA, RSAPSS (any salt), ECDSA. */
static inline int ossl_verify(EVP_PKEY *pkey, const struct tk_sig *s, const uint8_t *digest,
                              size_t dlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    int ok = EVP_PKEY_verify_init(ctx) == 1;
    if (s->alg == TPM_ALG_RSASSA || s->alg == TPM_ALG_RSAPSS) {
        ok = ok && EVP_PKEY_CTX_set_rsa_padding(ctx, s->alg == TPM_ALG_RSASSA
                                                         ? RSA_PKCS1_PADDING
                                                         : RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_signature_md(ctx, ossl_md(s->hash)) == 1;
        if (s->alg == TPM_ALG_RSAPSS) {
            ok = ok && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) == 1;
        }
        ok = ok && EVP_PKEY_verify(ctx, s->a, s->na, digest, dlen) == 1;
    } else {
        /* r, s to DER */
        uint8_t der[256];
        BIGNUM *r = BN_bin2bn(s->a, s->na, NULL), *ss = BN_bin2bn(s->b, s->nb, NULL);
        ECDSA_SIG *es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, r, ss);
        unsigned char *pp = der;
        int n = i2d_ECDSA_SIG(es, &pp);
        ok = ok && n > 0 && EVP_PKEY_verify(ctx, der, (size_t)n, digest, dlen) == 1;
        ECDSA_SIG_free(es);
    }
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static inline void ossl_digest(uint16_t alg, const void *p, size_t n, uint8_t *out,
                               uint16_t *len)
{
    unsigned int l = 0;
    EVP_Digest(p, n, out, &l, ossl_md(alg), NULL);
    *len = (uint16_t)l;
}

#endif

/*
 * RSA and ECC behind the engine (see crypto_asym.h). BIGNUMs that held secrets are freed
 * with BN_clear_free; keys built for an operation are freed before returning.
 */
#include "crypto_asym.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "crypto.h"

#define SIEVE_LIMIT 8192
#define SIEVE_PRIMES 1100 /* primes below 8192: 1028 */
#define SEARCH_SPAN 8192  /* odd steps from one candidate before drawing a new one */

/* Odd primes below SIEVE_LIMIT, computed on the stack (no file-scope writable data). */
static unsigned small_primes(uint16_t *out)
{
    uint8_t composite[SIEVE_LIMIT];
    unsigned n = 0;
    memset(composite, 0, sizeof(composite));
    for (unsigned i = 3; i < SIEVE_LIMIT; i += 2) {
        if (composite[i]) {
            continue;
        }
        out[n++] = (uint16_t)i;
        for (unsigned j = i * i; j < SIEVE_LIMIT; j += 2 * i) {
            composite[j] = 1;
        }
    }
    return n;
}

/*
 * One prime of pbits bits: candidates from src with the top two bits and the low bit set,
 * then upwards by two, skipping multiples of small primes, until a probable prime with
 * gcd(e, p - 1) = 1 is found. Returns false on an OpenSSL or source failure.
 */
static bool rsa_prime(unsigned pbits, uint32_t e, crypto_bytes_fn src, void *sctx,
                      const uint16_t *primes, unsigned np, BN_CTX *bn, BIGNUM *p)
{
    uint8_t buf[MAX_RSA_KEY_BYTES / 2];
    uint32_t res[SIEVE_PRIMES];
    size_t len = pbits / 8;
    bool ok = false;
    BIGNUM *c = BN_CTX_get(bn);
    if (!c) {
        return false;
    }
    for (;;) {
        if (!src(sctx, buf, len) || !BN_bin2bn(buf, (int)len, p)) {
            goto out;
        }
        if (!BN_set_bit(p, (int)pbits - 1) || !BN_set_bit(p, (int)pbits - 2) || !BN_set_bit(p, 0)) {
            goto out;
        }
        for (unsigned i = 0; i < np; i++) {
            BN_ULONG r = BN_mod_word(p, primes[i]);
            if (r == (BN_ULONG)-1) {
                goto out;
            }
            res[i] = (uint32_t)r;
        }
        for (uint32_t delta = 0; delta < SEARCH_SPAN; delta += 2) {
            bool sieved = false;
            for (unsigned i = 0; i < np && !sieved; i++) {
                sieved = (res[i] + delta) % primes[i] == 0;
            }
            if (sieved) {
                continue;
            }
            if (!BN_copy(c, p) || !BN_add_word(c, delta)) {
                goto out;
            }
            if ((unsigned)BN_num_bits(c) != pbits) {
                break; /* ran past the size: draw again */
            }
            int prime = BN_check_prime(c, bn, NULL);
            if (prime < 0) {
                goto out;
            }
            BN_ULONG pm1 = BN_mod_word(c, e); /* gcd(e, p-1) = 1 for prime e: p mod e != 1 */
            if (prime == 1 && (e == 0 || pm1 != 1)) {
                ok = BN_copy(p, c) != NULL;
                BN_clear(c);
                goto out;
            }
            BN_clear(c);
        }
    }
out:
    BN_clear(c);
    secret_wipe(buf, sizeof(buf));
    secret_wipe(res, sizeof(res));
    return ok;
}

/* Is e usable as a public exponent: odd, at least 3, prime for our gcd shortcut? */
static bool exponent_ok(uint32_t e)
{
    if (e < 3 || !(e & 1)) {
        return false;
    }
    for (uint32_t d = 3; d * d <= e && d < 65536; d += 2) {
        if (e % d == 0) {
            return false;
        }
    }
    return true;
}

bool crypto_rsa_generate(uint16_t bits, uint32_t e, crypto_bytes_fn src, void *ctx, uint8_t *n,
                         uint8_t *pout)
{
    uint16_t primes[SIEVE_PRIMES];
    unsigned np = small_primes(primes);
    unsigned pbits = bits / 2;
    BN_CTX *bn = BN_CTX_secure_new();
    BIGNUM *p = BN_secure_new(), *q = BN_secure_new(), *m = BN_new();
    BIGNUM *tp = BN_new(), *tq = BN_new();
    bool ok = false, started = false;
    if (!bn || !p || !q || !m || !tp || !tq || bits % 16 || bits > MAX_RSA_KEY_BYTES * 8 ||
        !exponent_ok(e)) {
        goto out;
    }
    BN_CTX_start(bn);
    started = true;
    if (!rsa_prime(pbits, e, src, ctx, primes, np, bn, p)) {
        goto out;
    }
    for (;;) {
        if (!rsa_prime(pbits, e, src, ctx, primes, np, bn, q)) {
            goto out;
        }
        /* FIPS 186-4 B.3.3: |p - q| > 2^(pbits - 100) */
        if (!BN_rshift(tp, p, (int)pbits - 100) || !BN_rshift(tq, q, (int)pbits - 100)) {
            goto out;
        }
        if (BN_cmp(tp, tq) != 0) {
            break;
        }
    }
    if (!BN_mul(m, p, q, bn) || (unsigned)BN_num_bits(m) != bits ||
        BN_bn2binpad(m, n, bits / 8) < 0 || BN_bn2binpad(p, pout, (int)pbits / 8) < 0) {
        goto out;
    }
    ok = true;
out:
    if (started) {
        BN_CTX_end(bn);
    }
    BN_CTX_free(bn);
    BN_clear_free(p);
    BN_clear_free(q);
    BN_free(m);
    BN_free(tp);
    BN_free(tq);
    return ok;
}

/* The private key parts from n, e, p: q, d, dP, dQ, qInv. All BIGNUMs in k are secure. */
struct rsa_parts {
    BIGNUM *n, *e, *p, *q, *d, *dp, *dq, *qinv;
};

static void rsa_parts_free(struct rsa_parts *k)
{
    BN_free(k->n);
    BN_free(k->e);
    BN_clear_free(k->p);
    BN_clear_free(k->q);
    BN_clear_free(k->d);
    BN_clear_free(k->dp);
    BN_clear_free(k->dq);
    BN_clear_free(k->qinv);
    memset(k, 0, sizeof(*k));
}

static bool rsa_parts_from(struct rsa_parts *k, const uint8_t *n, size_t nlen, uint32_t e,
                           const uint8_t *p, size_t plen)
{
    BN_CTX *bn = BN_CTX_secure_new();
    BIGNUM *rem = BN_secure_new(), *p1 = BN_secure_new(), *q1 = BN_secure_new();
    BIGNUM *phi = BN_secure_new(), *g = BN_secure_new();
    bool ok = false;
    memset(k, 0, sizeof(*k));
    k->n = BN_bin2bn(n, (int)nlen, NULL);
    k->e = BN_new();
    k->p = BN_secure_new();
    k->q = BN_secure_new();
    k->d = BN_secure_new();
    k->dp = BN_secure_new();
    k->dq = BN_secure_new();
    k->qinv = BN_secure_new();
    if (!bn || !rem || !p1 || !q1 || !phi || !g || !k->n || !k->e || !k->p || !k->q || !k->d ||
        !k->dp || !k->dq || !k->qinv || !exponent_ok(e) || plen == 0) {
        goto out;
    }
    if (!BN_set_word(k->e, e) || !BN_bin2bn(p, (int)plen, k->p)) {
        goto out;
    }
    if (BN_cmp(k->p, BN_value_one()) <= 0 || !BN_div(k->q, rem, k->n, k->p, bn) ||
        !BN_is_zero(rem) || BN_cmp(k->q, BN_value_one()) <= 0) {
        goto out;
    }
    /* d = e^-1 mod lcm(p-1, q-1) */
    if (!BN_sub(p1, k->p, BN_value_one()) || !BN_sub(q1, k->q, BN_value_one()) ||
        !BN_mul(phi, p1, q1, bn) || !BN_gcd(g, p1, q1, bn) || !BN_div(phi, NULL, phi, g, bn)) {
        goto out;
    }
    BN_set_flags(k->p, BN_FLG_CONSTTIME);
    if (!BN_mod_inverse(k->d, k->e, phi, bn) || !BN_mod(k->dp, k->d, p1, bn) ||
        !BN_mod(k->dq, k->d, q1, bn) || !BN_mod_inverse(k->qinv, k->q, k->p, bn)) {
        goto out;
    }
    ok = true;
out:
    BN_CTX_free(bn);
    BN_clear_free(rem);
    BN_clear_free(p1);
    BN_clear_free(q1);
    BN_clear_free(phi);
    BN_clear_free(g);
    if (!ok) {
        rsa_parts_free(k);
    }
    return ok;
}

bool crypto_rsa_check(const uint8_t *n, size_t nlen, uint32_t e, const uint8_t *p, size_t plen)
{
    struct rsa_parts k;
    if (!rsa_parts_from(&k, n, nlen, e, p, plen)) {
        return false;
    }
    rsa_parts_free(&k);
    return true;
}

/* An EVP_PKEY for RSA: public only when k->p is NULL. */
static EVP_PKEY *rsa_pkey(const struct rsa_parts *k)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;
    bool priv = k->p != NULL;
    if (!b || !ctx || !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, k->n) ||
        !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, k->e)) {
        goto out;
    }
    if (priv && (!OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, k->d) ||
                 !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR1, k->p) ||
                 !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR2, k->q) ||
                 !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, k->dp) ||
                 !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, k->dq) ||
                 !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, k->qinv))) {
        goto out;
    }
    params = OSSL_PARAM_BLD_to_param(b);
    if (!params || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) !=
            1) {
        pkey = NULL;
    }
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* OAEP settings on an encrypt or decrypt context: hash, MGF1 hash, label with its zero. */
static bool oaep_setup(EVP_PKEY_CTX *ctx, TPM_ALG_ID alg, const char *label)
{
    const struct hash_info *h = hash_info(alg);
    if (!h || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, h->ossl, NULL) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, h->ossl, NULL) != 1) {
        return false;
    }
    if (label) {
        size_t n = strlen(label) + 1;
        unsigned char *l = OPENSSL_malloc(n);
        if (!l) {
            return false;
        }
        memcpy(l, label, n);
        if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)n) != 1) {
            OPENSSL_free(l);
            return false;
        }
    }
    return true;
}

bool crypto_rsa_oaep_encrypt(TPM_ALG_ID alg, const char *label, const uint8_t *n, size_t nlen,
                             uint32_t e, const uint8_t *in, size_t inlen, uint8_t *out)
{
    struct rsa_parts k;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t outlen = nlen;
    bool ok = false;
    memset(&k, 0, sizeof(k));
    k.n = BN_bin2bn(n, (int)nlen, NULL);
    k.e = BN_new();
    if (!k.n || !k.e || !exponent_ok(e) || !BN_set_word(k.e, e)) {
        goto out;
    }
    pkey = rsa_pkey(&k);
    ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 && oaep_setup(ctx, alg, label) &&
         EVP_PKEY_encrypt(ctx, out, &outlen, in, inlen) == 1 && outlen == nlen;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    rsa_parts_free(&k);
    return ok;
}

bool crypto_rsa_oaep_decrypt(TPM_ALG_ID alg, const char *label, const uint8_t *n, size_t nlen,
                             uint32_t e, const uint8_t *p, size_t plen, const uint8_t *in,
                             size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
    struct rsa_parts k;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t tmp[MAX_RSA_KEY_BYTES];
    size_t len = sizeof(tmp);
    bool ok = false;
    if (inlen != nlen || !rsa_parts_from(&k, n, nlen, e, p, plen)) {
        return false;
    }
    pkey = rsa_pkey(&k);
    ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1 && oaep_setup(ctx, alg, label) &&
         EVP_PKEY_decrypt(ctx, tmp, &len, in, inlen) == 1 && len <= cap;
    if (ok) {
        memcpy(out, tmp, len);
        *outlen = len;
    }
    secret_wipe(tmp, sizeof(tmp));
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    rsa_parts_free(&k);
    return ok;
}

/* ---- ECC ---- */

static int curve_nid(TPM_ECC_CURVE curve)
{
    switch (curve) {
    case TPM_ECC_NIST_P256:
        return NID_X9_62_prime256v1;
    case TPM_ECC_NIST_P384:
        return NID_secp384r1;
    case TPM_ECC_NIST_P521:
        return NID_secp521r1;
    default:
        return NID_undef;
    }
}

size_t crypto_ecc_bytes(TPM_ECC_CURVE curve)
{
    switch (curve) {
    case TPM_ECC_NIST_P256:
        return 32;
    case TPM_ECC_NIST_P384:
        return 48;
    case TPM_ECC_NIST_P521:
        return 66;
    default:
        return 0;
    }
}

static EC_GROUP *curve_group(TPM_ECC_CURVE curve)
{
    int nid = curve_nid(curve);
    return nid == NID_undef ? NULL : EC_GROUP_new_by_curve_name(nid);
}

bool crypto_ecc_order(TPM_ECC_CURVE curve, uint8_t *out)
{
    EC_GROUP *g = curve_group(curve);
    bool ok = g && BN_bn2binpad(EC_GROUP_get0_order(g), out, (int)crypto_ecc_bytes(curve)) > 0;
    EC_GROUP_free(g);
    return ok;
}

/* Writes point P's affine coordinates, each size bytes. */
static bool point_out(const EC_GROUP *g, const EC_POINT *pt, size_t size, uint8_t *x, uint8_t *y,
                      BN_CTX *bn)
{
    BIGNUM *bx = BN_new(), *by = BN_new();
    bool ok = bx && by && !EC_POINT_is_at_infinity(g, pt) &&
              EC_POINT_get_affine_coordinates(g, pt, bx, by, bn) == 1 &&
              BN_bn2binpad(bx, x, (int)size) > 0 && (!y || BN_bn2binpad(by, y, (int)size) > 0);
    BN_free(bx);
    BN_free(by);
    return ok;
}

static EC_POINT *point_in(const EC_GROUP *g, const uint8_t *x, size_t xlen, const uint8_t *y,
                          size_t ylen, BN_CTX *bn)
{
    BIGNUM *bx = BN_bin2bn(x, (int)xlen, NULL), *by = BN_bin2bn(y, (int)ylen, NULL);
    EC_POINT *pt = EC_POINT_new(g);
    bool ok = bx && by && pt && EC_POINT_set_affine_coordinates(g, pt, bx, by, bn) == 1 &&
              EC_POINT_is_on_curve(g, pt, bn) == 1 && !EC_POINT_is_at_infinity(g, pt);
    BN_free(bx);
    BN_free(by);
    if (!ok) {
        EC_POINT_free(pt);
        return NULL;
    }
    return pt;
}

bool crypto_ecc_point_ok(TPM_ECC_CURVE curve, const uint8_t *x, size_t xlen, const uint8_t *y,
                         size_t ylen)
{
    EC_GROUP *g = curve_group(curve);
    BN_CTX *bn = BN_CTX_new();
    EC_POINT *pt = g && bn ? point_in(g, x, xlen, y, ylen, bn) : NULL;
    bool ok = pt != NULL;
    EC_POINT_free(pt);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return ok;
}

/* R = d * P (P = generator when px is NULL); d must be in [1, n-1]. */
static bool ecc_mul(TPM_ECC_CURVE curve, const uint8_t *d, size_t dlen, const uint8_t *px,
                    size_t pxlen, const uint8_t *py, size_t pylen, uint8_t *x, uint8_t *y)
{
    EC_GROUP *g = curve_group(curve);
    BN_CTX *bn = BN_CTX_secure_new();
    BIGNUM *k = BN_bin2bn(d, (int)dlen, BN_secure_new());
    EC_POINT *r = g ? EC_POINT_new(g) : NULL;
    EC_POINT *p = NULL;
    bool ok = false;
    if (!g || !bn || !k || !r || BN_is_zero(k) || BN_cmp(k, EC_GROUP_get0_order(g)) >= 0) {
        goto out;
    }
    BN_set_flags(k, BN_FLG_CONSTTIME);
    if (px) {
        p = point_in(g, px, pxlen, py, pylen, bn);
        ok = p && EC_POINT_mul(g, r, NULL, p, k, bn) == 1;
    } else {
        ok = EC_POINT_mul(g, r, k, NULL, NULL, bn) == 1;
    }
    ok = ok && point_out(g, r, crypto_ecc_bytes(curve), x, y, bn);
out:
    EC_POINT_clear_free(r);
    EC_POINT_free(p);
    BN_clear_free(k);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return ok;
}

bool crypto_ecc_public(TPM_ECC_CURVE curve, const uint8_t *d, size_t dlen, uint8_t *x,
                       uint8_t *y)
{
    return ecc_mul(curve, d, dlen, NULL, 0, NULL, 0, x, y);
}

bool crypto_ecdh(TPM_ECC_CURVE curve, const uint8_t *d, size_t dlen, const uint8_t *qx,
                 size_t qxlen, const uint8_t *qy, size_t qylen, uint8_t *zx)
{
    return ecc_mul(curve, d, dlen, qx, qxlen, qy, qylen, zx, NULL);
}

bool crypto_ecc_scalar_from_bytes(TPM_ECC_CURVE curve, const uint8_t *r, size_t rlen, uint8_t *d)
{
    EC_GROUP *g = curve_group(curve);
    BN_CTX *bn = BN_CTX_secure_new();
    BIGNUM *v = BN_bin2bn(r, (int)rlen, BN_secure_new());
    BIGNUM *nm1 = BN_new();
    bool ok = g && bn && v && nm1 && BN_copy(nm1, EC_GROUP_get0_order(g)) &&
              BN_sub_word(nm1, 1) && BN_mod(v, v, nm1, bn) && BN_add_word(v, 1) &&
              BN_bn2binpad(v, d, (int)crypto_ecc_bytes(curve)) > 0;
    BN_clear_free(v);
    BN_free(nm1);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return ok;
}

bool crypto_ecc_generate(TPM_ECC_CURVE curve, uint8_t *d, uint8_t *x, uint8_t *y)
{
    size_t size = crypto_ecc_bytes(curve);
    uint8_t r[MAX_ECC_KEY_BYTES + 8];
    bool ok = size > 0 && crypto_random(r, size + 8) &&
              crypto_ecc_scalar_from_bytes(curve, r, size + 8, d) &&
              crypto_ecc_public(curve, d, size, x, y);
    secret_wipe(r, sizeof(r));
    return ok;
}

/*
 * RSA and ECC behind the engine (see crypto_asym.h). BIGNUMs that held secrets are freed
 * with BN_clear_free; keys built for an operation are freed before returning.
 */
#include "crypto_asym.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "crypto.h"

/*
 * The prime search sieves a window of odd candidates by the odd primes below SIEVE_LIMIT
 * before any Miller-Rabin test. A 1024-bit odd number is prime with probability 2/ln(2^1024),
 * about 1/355, and passes the sieve with probability about 1.12/ln(SIEVE_LIMIT) (Mertens), so
 * each prime found costs about 400/ln(SIEVE_LIMIT) modular exponentiations of a candidate
 * the sieve let through: 44 with primes below 2^13, 36 below 2^16 (measured: 2048-bit keys
 * 17 % faster, the same primes). The residues are computed with reciprocals, not divisions:
 * with perf, under 0.1 ms per window and 0.05 ms for the table, against 0.2 ms per exponentiation.
 */
#define SIEVE_LIMIT 65536
#define SIEVE_PRIMES 6541  /* odd primes below 65536 */
#define SEARCH_SPAN 8192   /* the range above one drawn candidate searched before the next */
#define WINDOW (SEARCH_SPAN / 2) /* odd candidates in it */

/* Heap-allocated per key generation (no file-scope writable data; too large for a stack). */
struct sieve {
    unsigned np;
    uint16_t prime[SIEVE_PRIMES];
    uint64_t recip[SIEVE_PRIMES]; /* floor(2^64 / prime) */
    uint16_t res[SIEVE_PRIMES];   /* the window's first candidate mod prime: secret */
    uint8_t hit[WINDOW];          /* candidate k of the window has a small factor: secret */
};

/* Fill sv's table of odd primes below SIEVE_LIMIT and their reciprocals. */
static void sieve_primes(struct sieve *sv)
{
    uint8_t composite[SIEVE_LIMIT / 16]; /* one bit per odd number */
    memset(composite, 0, sizeof(composite));
    sv->np = 0;
    for (uint32_t i = 3; i < SIEVE_LIMIT; i += 2) {
        if (composite[i / 16] & (1u << (i / 2 % 8))) {
            continue;
        }
        sv->prime[sv->np] = (uint16_t)i;
        sv->recip[sv->np++] = UINT64_MAX / i; /* = floor(2^64 / i): i is not a power of two */
        for (uint32_t j = i * i; j < SIEVE_LIMIT; j += 2 * i) {
            composite[j / 16] |= (uint8_t)(1u << (j / 2 % 8));
        }
    }
}

/*
 * Mark the candidates c + 2k (k < WINDOW) of the big-endian c (len bytes) that a small prime
 * divides. c mod p by Horner's rule over 48-bit chunks: x = r * 2^48 + chunk < 2^64, and
 * q = floor(x * recip / 2^64) is floor(x / p) or one less, so x - q * p needs at most one
 * subtraction of p.
 */
static void sieve_window(struct sieve *sv, const uint8_t *c, size_t len)
{
    memset(sv->res, 0, sizeof(sv->res));
    for (size_t off = 0, take = len % 6 ? len % 6 : 6; off < len; off += take, take = 6) {
        uint64_t chunk = 0;
        for (size_t j = 0; j < take; j++) {
            chunk = chunk << 8 | c[off + j];
        }
        for (unsigned i = 0; i < sv->np; i++) {
            uint64_t x = (uint64_t)sv->res[i] << (8 * take) | chunk;
            uint64_t q = (uint64_t)(((unsigned __int128)x * sv->recip[i]) >> 64);
            uint64_t r = x - q * sv->prime[i];
            sv->res[i] = (uint16_t)(r >= sv->prime[i] ? r - sv->prime[i] : r);
        }
    }
    memset(sv->hit, 0, sizeof(sv->hit));
    for (unsigned i = 0; i < sv->np; i++) {
        /* the first k with res + 2k = 0 (mod p): (p - res) / 2, or (2p - res) / 2 if odd */
        uint32_t p = sv->prime[i], d = sv->res[i] ? p - sv->res[i] : 0;
        for (uint32_t k = (d & 1) ? (d + p) / 2 : d / 2; k < WINDOW; k += p) {
            sv->hit[k] = 1;
        }
    }
}

/*
 * Miller-Rabin rounds for a random candidate of pbits bits: FIPS 186-4 Table C.3, for an
 * error probability of at most 2^-100 (512-bit: 7, 1024-bit: 5, 1536-bit: 4). OpenSSL 3
 * raises any round count it is given to at least 64 (BN_check_prime, and
 * BN_is_prime_fasttest_ex too), which made a new RSA-2048 primary spend 35 of its 41 ms
 * proving two primes (measured with perf, docs/BENCHMARKS.md); hence the test below.
 */
static int mr_rounds(unsigned pbits)
{
    return pbits <= 512 ? 7 : pbits <= 1024 ? 5 : 4;
}

/*
 * Miller-Rabin (FIPS 186-4 C.3.1) on an odd c >= 5 (in the search: one that passed the sieve),
 * with random bases in [2, c - 2]. c may be a secret prime candidate, so its exponent is
 * flagged constant-time.
 * Returns 1 probably prime, 0 composite, -1 on an OpenSSL failure.
 */
static int probable_prime(const BIGNUM *c, unsigned pbits, BN_CTX *bn)
{
    int res = -1, s = 0;
    BN_CTX_start(bn);
    BIGNUM *cm1 = BN_CTX_get(bn), *d = BN_CTX_get(bn), *range = BN_CTX_get(bn);
    BIGNUM *a = BN_CTX_get(bn), *y = BN_CTX_get(bn);
    BN_MONT_CTX *mont = BN_MONT_CTX_new();
    if (!y || !mont || !BN_MONT_CTX_set(mont, c, bn) || !BN_copy(cm1, c) || !BN_sub_word(cm1, 1) ||
        !BN_copy(range, cm1) || !BN_sub_word(range, 2)) {
        goto out;
    }
    while (!BN_is_bit_set(cm1, s)) {
        s++;
    }
    if (!BN_rshift(d, cm1, s)) {
        goto out;
    }
    BN_set_flags(d, BN_FLG_CONSTTIME);
    res = 1;
    for (int round = 0; round < mr_rounds(pbits) && res == 1; round++) {
        /* a = 2 + random in [0, c - 4] */
        if (!BN_priv_rand_range(a, range) || !BN_add_word(a, 2) ||
            !BN_mod_exp_mont(y, a, d, c, bn, mont)) {
            res = -1;
            break;
        }
        if (BN_is_one(y) || BN_cmp(y, cm1) == 0) {
            continue;
        }
        res = 0;
        for (int j = 1; j < s && res == 0; j++) {
            if (!BN_mod_sqr(y, y, c, bn)) {
                res = -1;
                break;
            }
            if (BN_cmp(y, cm1) == 0) {
                res = 1;
            } else if (BN_is_one(y)) {
                break; /* a nontrivial square root of 1: composite */
            }
        }
    }
out:
    if (d) {
        BN_clear(d);
    }
    if (cm1) {
        BN_clear(cm1);
    }
    BN_MONT_CTX_free(mont);
    BN_CTX_end(bn);
    return res;
}

int crypto_probable_prime(const uint8_t *be, size_t len)
{
    if (len < 8 || len > 512) {
        return -1;
    }
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *c = BN_bin2bn(be, (int)len, NULL);
    int res = -1;
    if (bn && c) {
        /* odd and at least 5, so that c - 1 has a set bit and [2, c - 2] is not empty */
        res = BN_is_odd(c) && BN_num_bits(c) >= 3 ? probable_prime(c, (unsigned)BN_num_bits(c), bn)
                                                   : 0;
    }
    BN_free(c);
    BN_CTX_free(bn);
    return res;
}

/*
 * One prime of pbits bits: candidates from src with the top two bits and the low bit set,
 * then upwards by two, skipping multiples of small primes, until a probable prime with
 * gcd(e, p - 1) = 1 is found. Returns false on an OpenSSL or source failure.
 */
static bool rsa_prime(unsigned pbits, uint32_t e, crypto_bytes_fn src, void *sctx,
                      struct sieve *sv, BN_CTX *bn, BIGNUM *p)
{
    uint8_t buf[MAX_RSA_KEY_BYTES / 2];
    size_t len = pbits / 8;
    bool ok = false;
    BIGNUM *c = BN_CTX_get(bn);
    if (!c) {
        return false;
    }
    for (;;) {
        if (!src(sctx, buf, len)) {
            goto out;
        }
        buf[0] |= 0xC0;
        buf[len - 1] |= 1;
        if (!BN_bin2bn(buf, (int)len, p)) {
            goto out;
        }
        sieve_window(sv, buf, len);
        for (uint32_t k = 0; k < WINDOW; k++) {
            if (sv->hit[k]) {
                continue;
            }
            if (!BN_copy(c, p) || !BN_add_word(c, 2 * k)) {
                goto out;
            }
            if ((unsigned)BN_num_bits(c) != pbits) {
                break; /* ran past the size: draw again */
            }
            int prime = probable_prime(c, pbits, bn);
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
    struct sieve *sv = malloc(sizeof(*sv));
    unsigned pbits = bits / 2;
    BN_CTX *bn = BN_CTX_secure_new();
    BIGNUM *p = BN_secure_new(), *q = BN_secure_new(), *m = BN_new();
    BIGNUM *tp = BN_new(), *tq = BN_new();
    bool ok = false, started = false;
    if (!sv || !bn || !p || !q || !m || !tp || !tq || bits % 16 || bits < 256 ||
        bits > MAX_RSA_KEY_BYTES * 8 || !exponent_ok(e)) {
        goto out;
    }
    sieve_primes(sv);
    BN_CTX_start(bn);
    started = true;
    if (!rsa_prime(pbits, e, src, ctx, sv, bn, p)) {
        goto out;
    }
    for (;;) {
        if (!rsa_prime(pbits, e, src, ctx, sv, bn, q)) {
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
    if (sv) {
        secret_wipe(sv, sizeof(*sv));
        free(sv);
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

struct crypto_pkey {
    EVP_PKEY *pkey;
};

static struct crypto_pkey *pkey_wrap(EVP_PKEY *pkey)
{
    struct crypto_pkey *p = pkey ? OPENSSL_zalloc(sizeof(*p)) : NULL;
    if (!p) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    p->pkey = pkey;
    return p;
}

void crypto_pkey_free(struct crypto_pkey *p)
{
    if (p) {
        EVP_PKEY_free(p->pkey); /* private parts are cleared as they are freed */
        OPENSSL_free(p);
    }
}

/* A reference to a key built earlier. */
static EVP_PKEY *pkey_ref(const struct crypto_pkey *p)
{
    return p && EVP_PKEY_up_ref(p->pkey) == 1 ? p->pkey : NULL;
}

/* The key of one operation: private when k->p is set. */
static EVP_PKEY *rsa_pkey_of(const struct crypto_rsa_key *k)
{
    struct rsa_parts parts;
    EVP_PKEY *pkey = NULL;
    if (k->built) {
        return pkey_ref(k->built);
    }
    if (k->p) {
        if (!rsa_parts_from(&parts, k->n, k->nlen, k->e, k->p, k->plen)) {
            return NULL;
        }
    } else {
        memset(&parts, 0, sizeof(parts));
        parts.n = BN_bin2bn(k->n, (int)k->nlen, NULL);
        parts.e = BN_new();
        if (!parts.n || !parts.e || !exponent_ok(k->e) || !BN_set_word(parts.e, k->e)) {
            goto out;
        }
    }
    pkey = rsa_pkey(&parts);
out:
    rsa_parts_free(&parts);
    return pkey;
}

struct crypto_pkey *crypto_rsa_build(const struct crypto_rsa_key *k)
{
    struct crypto_rsa_key plain = *k;
    plain.built = NULL;
    return pkey_wrap(rsa_pkey_of(&plain));
}

/* Padding of an encrypt or decrypt context: RSAES, OAEP (hash, MGF1 hash, label) or raw. */
static bool rsa_enc_setup(EVP_PKEY_CTX *ctx, TPM_ALG_ID scheme, TPM_ALG_ID alg,
                          const uint8_t *label, size_t llen, bool decrypt)
{
    switch (scheme) {
    case TPM_ALG_NULL:
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1;
    case TPM_ALG_RSAES:
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) {
            return false;
        }
#ifdef OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION
        if (decrypt) {
            /* Part 3 §14.3 answers a bad padding with TPM_RC_VALUE: keep OpenSSL's explicit
             * (constant-time) rejection rather than a synthetic message. */
            unsigned int off = 0;
            OSSL_PARAM prm[2] = {
                OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION, &off),
                OSSL_PARAM_construct_end(),
            };
            return EVP_PKEY_CTX_set_params(ctx, prm) == 1;
        }
#endif
        (void)decrypt;
        return true;
    case TPM_ALG_OAEP: {
        const struct hash_info *h = hash_info(alg);
        if (!h || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, h->ossl, NULL) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, h->ossl, NULL) != 1) {
            return false;
        }
        if (llen > 0) {
            unsigned char *l = OPENSSL_memdup(label, llen);
            if (!l) {
                return false;
            }
            if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)llen) != 1) {
                OPENSSL_free(l);
                return false;
            }
        }
        return true;
    }
    default:
        return false;
    }
}

bool crypto_rsa_encrypt(const struct crypto_rsa_key *k, TPM_ALG_ID scheme, TPM_ALG_ID alg,
                        const uint8_t *label, size_t llen, const uint8_t *in, size_t inlen,
                        uint8_t *out)
{
    uint8_t padded[MAX_RSA_KEY_BYTES];
    size_t outlen = k->nlen;
    bool ok = false;
    if (k->nlen > MAX_RSA_KEY_BYTES || inlen > k->nlen) {
        return false;
    }
    if (scheme == TPM_ALG_NULL) {
        /* The raw primitive works on a modulus-sized integer. */
        memset(padded, 0, k->nlen - inlen);
        memcpy(padded + k->nlen - inlen, in, inlen);
        in = padded;
        inlen = k->nlen;
    }
    EVP_PKEY *pkey = rsa_pkey_of(k);
    EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
         rsa_enc_setup(ctx, scheme, alg, label, llen, false) &&
         EVP_PKEY_encrypt(ctx, out, &outlen, in, inlen) == 1 && outlen == k->nlen;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    secret_wipe(padded, sizeof(padded));
    return ok;
}

bool crypto_rsa_decrypt(const struct crypto_rsa_key *k, TPM_ALG_ID scheme, TPM_ALG_ID alg,
                        const uint8_t *label, size_t llen, const uint8_t *in, size_t inlen,
                        uint8_t *out, size_t cap, size_t *outlen)
{
    uint8_t tmp[MAX_RSA_KEY_BYTES];
    size_t len = sizeof(tmp);
    if (!k->p || inlen != k->nlen || k->nlen > MAX_RSA_KEY_BYTES) {
        return false;
    }
    EVP_PKEY *pkey = rsa_pkey_of(k);
    EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    /* The decoders below are constant-time (see crypto_asym.h); ok is the first value this
     * function branches on, and it is public from here on. */
    bool ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
              rsa_enc_setup(ctx, scheme, alg, label, llen, true) &&
              EVP_PKEY_decrypt(ctx, tmp, &len, in, inlen) == 1;
    ok = ok && len <= cap;
    if (ok) {
        memcpy(out, tmp, len);
        *outlen = len;
    }
    secret_wipe(tmp, sizeof(tmp));
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return ok;
}

/* Labels of secret sharing (Part 1 §B.10.3) include their terminating zero octet. */
bool crypto_rsa_oaep_encrypt(TPM_ALG_ID alg, const char *label, const uint8_t *n, size_t nlen,
                             uint32_t e, const uint8_t *in, size_t inlen, uint8_t *out)
{
    struct crypto_rsa_key k = {n, nlen, e, NULL, 0, NULL};
    return crypto_rsa_encrypt(&k, TPM_ALG_OAEP, alg, (const uint8_t *)label,
                              label ? strlen(label) + 1 : 0, in, inlen, out);
}

bool crypto_rsa_oaep_decrypt(TPM_ALG_ID alg, const char *label, const uint8_t *n, size_t nlen,
                             uint32_t e, const uint8_t *p, size_t plen, const uint8_t *in,
                             size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
    struct crypto_rsa_key k = {n, nlen, e, p, plen, NULL};
    return crypto_rsa_decrypt(&k, TPM_ALG_OAEP, alg, (const uint8_t *)label,
                              label ? strlen(label) + 1 : 0, in, inlen, out, cap, outlen);
}

/* Signature padding: PKCS#1 v1.5 or PSS with MGF1 of the same hash. */
static bool rsa_sig_setup(EVP_PKEY_CTX *ctx, TPM_ALG_ID scheme, TPM_ALG_ID alg, size_t nlen,
                          bool sign)
{
    const EVP_MD *md = (const EVP_MD *)crypto_md(alg);
    if (!md) {
        return false;
    }
    if (scheme == TPM_ALG_RSASSA) {
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
               EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
    }
    if (scheme != TPM_ALG_RSAPSS) {
        return false;
    }
    /* Salt as long as the digest when the modulus has room (Part 1 §B.7), else the most
     * that fits; verification takes whatever salt length the signature has. */
    size_t hlen = (size_t)EVP_MD_get_size(md);
    int salt = !sign ? RSA_PSS_SALTLEN_AUTO
                     : nlen >= 2 * hlen + 2 ? RSA_PSS_SALTLEN_DIGEST : RSA_PSS_SALTLEN_MAX;
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salt) == 1;
}

bool crypto_rsa_sign(const struct crypto_rsa_key *k, TPM_ALG_ID scheme, TPM_ALG_ID alg,
                     const uint8_t *digest, size_t dlen, uint8_t *sig)
{
    size_t siglen = k->nlen;
    if (!k->p || dlen != hash_size(alg)) {
        return false;
    }
    EVP_PKEY *pkey = rsa_pkey_of(k);
    EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    bool ok = ctx && EVP_PKEY_sign_init(ctx) == 1 &&
              rsa_sig_setup(ctx, scheme, alg, k->nlen, true) &&
              EVP_PKEY_sign(ctx, sig, &siglen, digest, dlen) == 1 && siglen == k->nlen;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return ok;
}

bool crypto_rsa_verify(const struct crypto_rsa_key *k, TPM_ALG_ID scheme, TPM_ALG_ID alg,
                       const uint8_t *digest, size_t dlen, const uint8_t *sig, size_t siglen)
{
    if (siglen != k->nlen || dlen != hash_size(alg)) {
        return false;
    }
    struct crypto_rsa_key pub = {k->n, k->nlen, k->e, NULL, 0, k->built};
    EVP_PKEY *pkey = rsa_pkey_of(&pub);
    EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    bool ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
              rsa_sig_setup(ctx, scheme, alg, k->nlen, false) &&
              EVP_PKEY_verify(ctx, sig, siglen, digest, dlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
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

bool crypto_ecc_mul(TPM_ECC_CURVE curve, const uint8_t *k, size_t klen, const uint8_t *px,
                    size_t pxlen, const uint8_t *py, size_t pylen, uint8_t *x, uint8_t *y)
{
    return ecc_mul(curve, k, klen, px, pxlen, py, pylen, x, y);
}

bool crypto_ecc_mod_p(TPM_ECC_CURVE curve, const uint8_t *in, size_t inlen, uint8_t *out)
{
    EC_GROUP *g = curve_group(curve);
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *p = BN_new(), *v = BN_bin2bn(in, (int)inlen, NULL);
    bool ok = g && bn && p && v && EC_GROUP_get_curve(g, p, NULL, NULL, bn) == 1 &&
              BN_mod(v, v, p, bn) == 1 && BN_bn2binpad(v, out, (int)crypto_ecc_bytes(curve)) > 0;
    BN_free(p);
    BN_free(v);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return ok;
}

bool crypto_ecc_scalar_ok(TPM_ECC_CURVE curve, const uint8_t *v, size_t vlen)
{
    EC_GROUP *g = curve_group(curve);
    BIGNUM *b = BN_bin2bn(v, (int)vlen, NULL);
    bool ok = g && b && !BN_is_zero(b) && BN_cmp(b, EC_GROUP_get0_order(g)) < 0;
    BN_free(b);
    EC_GROUP_free(g);
    return ok;
}

bool crypto_ecc_curve(TPM_ECC_CURVE curve, uint8_t *p, uint8_t *a, uint8_t *b, uint8_t *gx,
                      uint8_t *gy, uint8_t *n, uint8_t *h, size_t *hlen)
{
    int size = (int)crypto_ecc_bytes(curve);
    EC_GROUP *g = curve_group(curve);
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *bp = BN_new(), *ba = BN_new(), *bb = BN_new(), *x = BN_new(), *y = BN_new();
    bool ok = g && bn && bp && ba && bb && x && y &&
              EC_GROUP_get_curve(g, bp, ba, bb, bn) == 1 &&
              EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), x, y, bn) == 1 &&
              BN_bn2binpad(bp, p, size) > 0 && BN_bn2binpad(ba, a, size) > 0 &&
              BN_bn2binpad(bb, b, size) > 0 && BN_bn2binpad(x, gx, size) > 0 &&
              BN_bn2binpad(y, gy, size) > 0 &&
              BN_bn2binpad(EC_GROUP_get0_order(g), n, size) > 0;
    if (ok) {
        const BIGNUM *c = EC_GROUP_get0_cofactor(g);
        int clen = c ? BN_num_bytes(c) : 0;
        ok = clen > 0 && clen <= size && BN_bn2bin(c, h) == clen;
        *hlen = (size_t)clen;
    }
    BN_free(bp);
    BN_free(ba);
    BN_free(bb);
    BN_free(x);
    BN_free(y);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return ok;
}

/* An EVP key for ECDSA: the public point always, the scalar when priv. */
static EVP_PKEY *ecc_pkey(const struct crypto_ecc_key *k, bool priv)
{
    size_t size = crypto_ecc_bytes(k->curve);
    int nid = curve_nid(k->curve);
    uint8_t pt[1 + 2 * MAX_ECC_KEY_BYTES];
    OSSL_PARAM_BLD *b = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *d = NULL;
    if (k->built) {
        return pkey_ref(k->built);
    }
    if (size == 0 || k->xlen > size || k->ylen > size || (priv && !k->d)) {
        return NULL;
    }
    /* Uncompressed SEC1 point; coordinates a client stripped of leading zeros are padded. */
    memset(pt, 0, sizeof(pt));
    pt[0] = 0x04;
    memcpy(pt + 1 + size - k->xlen, k->x, k->xlen);
    memcpy(pt + 1 + 2 * size - k->ylen, k->y, k->ylen);
    b = OSSL_PARAM_BLD_new();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!b || !ctx ||
        !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) ||
        !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * size)) {
        goto out;
    }
    if (priv) {
        d = BN_bin2bn(k->d, (int)k->dlen, BN_secure_new());
        if (!d || !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d)) {
            goto out;
        }
    }
    params = OSSL_PARAM_BLD_to_param(b);
    if (!params || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) !=
            1) {
        pkey = NULL;
    }
out:
    OSSL_PARAM_free(params); /* d's copy sits in secure memory, cleared when freed */
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    BN_clear_free(d);
    return pkey;
}

struct crypto_pkey *crypto_ecc_build(const struct crypto_ecc_key *k)
{
    struct crypto_ecc_key plain = *k;
    plain.built = NULL;
    return pkey_wrap(ecc_pkey(&plain, k->d != NULL));
}

bool crypto_ecdsa_sign(const struct crypto_ecc_key *k, const uint8_t *digest, size_t dlen,
                       uint8_t *r, uint8_t *s)
{
    int size = (int)crypto_ecc_bytes(k->curve);
    uint8_t der[2 * MAX_ECC_KEY_BYTES + 16];
    size_t derlen = sizeof(der);
    ECDSA_SIG *sig = NULL;
    EVP_PKEY *pkey = ecc_pkey(k, true);
    EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    /* No digest is set on the context: OpenSSL then signs dlen bytes as given, truncated to
     * the order's length as FIPS 186-4 §6.4 says. */
    bool ok = ctx && EVP_PKEY_sign_init(ctx) == 1 &&
              EVP_PKEY_sign(ctx, der, &derlen, digest, dlen) == 1;
    if (ok) {
        const unsigned char *pp = der;
        const BIGNUM *br, *bs;
        sig = d2i_ECDSA_SIG(NULL, &pp, (long)derlen);
        ok = sig != NULL;
        if (ok) {
            ECDSA_SIG_get0(sig, &br, &bs);
            ok = BN_bn2binpad(br, r, size) == size && BN_bn2binpad(bs, s, size) == size;
        }
    }
    ECDSA_SIG_free(sig);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return ok;
}

bool crypto_ecdsa_verify(const struct crypto_ecc_key *k, const uint8_t *digest, size_t dlen,
                         const uint8_t *r, size_t rlen, const uint8_t *s, size_t slen)
{
    uint8_t der[2 * MAX_ECC_KEY_BYTES + 16];
    unsigned char *pp = der;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(r, (int)rlen, NULL), *bs = BN_bin2bn(s, (int)slen, NULL);
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    bool ok = false;
    if (!sig || !br || !bs || ECDSA_SIG_set0(sig, br, bs) != 1) {
        BN_free(br);
        BN_free(bs);
        goto out;
    }
    if (i2d_ECDSA_SIG(sig, NULL) > (int)sizeof(der)) {
        goto out;
    }
    int derlen = i2d_ECDSA_SIG(sig, &pp);
    pkey = ecc_pkey(k, false);
    ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    ok = derlen > 0 && ctx && EVP_PKEY_verify_init(ctx) == 1 &&
         EVP_PKEY_verify(ctx, der, (size_t)derlen, digest, dlen) == 1;
out:
    ECDSA_SIG_free(sig);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return ok;
}

/* e = H(x || digest), cut to the order's byte length, as a number. */
static bool schnorr_e(TPM_ALG_ID alg, const uint8_t *x, size_t size, const uint8_t *digest,
                      size_t dlen, BIGNUM *e)
{
    uint8_t h[MAX_DIGEST_SIZE];
    struct hash_state st;
    size_t hl = hash_size(alg);
    if (hl == 0 || !hash_begin(&st, alg)) {
        return false;
    }
    hash_update(&st, x, size);
    hash_update(&st, digest, dlen);
    if (!hash_end(&st, h)) {
        return false;
    }
    return BN_bin2bn(h, (int)(hl < size ? hl : size), e) != NULL;
}

/* A fresh secret in [1, n-1]. */
static bool rand_scalar(const BIGNUM *n, BIGNUM *k)
{
    for (int i = 0; i < 16; i++) {
        if (BN_priv_rand_range(k, n) != 1) {
            return false;
        }
        if (!BN_is_zero(k)) {
            return true;
        }
    }
    return false;
}

/* s = (k + e*d) mod n, with e reduced first; false when e mod n or s is zero. */
static bool schnorr_s(const BIGNUM *k, const BIGNUM *e, const BIGNUM *d, const BIGNUM *n,
                      BIGNUM *s, BN_CTX *bn)
{
    BIGNUM *t = BN_CTX_get(bn);
    return t && BN_mod(t, e, n, bn) == 1 && !BN_is_zero(t) && BN_mod_mul(t, t, d, n, bn) == 1 &&
           BN_mod_add(s, k, t, n, bn) == 1 && !BN_is_zero(s);
}

bool crypto_ecschnorr_sign(const struct crypto_ecc_key *k, TPM_ALG_ID alg, const uint8_t *digest,
                           size_t dlen, uint8_t *r, uint8_t *s)
{
    size_t size = crypto_ecc_bytes(k->curve);
    uint8_t x[MAX_ECC_KEY_BYTES];
    EC_GROUP *g = curve_group(k->curve);
    BN_CTX *bn = BN_CTX_secure_new();
    EC_POINT *R = g ? EC_POINT_new(g) : NULL;
    BIGNUM *d = k->d ? BN_bin2bn(k->d, (int)k->dlen, BN_secure_new()) : NULL;
    bool ok = false, started = false;
    if (!g || !bn || !R || !d || hash_size(alg) == 0) {
        goto out;
    }
    BN_CTX_start(bn);
    started = true;
    BIGNUM *kk = BN_CTX_get(bn), *e = BN_CTX_get(bn), *bs = BN_CTX_get(bn);
    const BIGNUM *n = EC_GROUP_get0_order(g);
    if (!bs) {
        goto out;
    }
    BN_set_flags(d, BN_FLG_CONSTTIME);
    BN_set_flags(kk, BN_FLG_CONSTTIME);
    for (int tries = 0; tries < 16 && !ok; tries++) {
        if (!rand_scalar(n, kk) || EC_POINT_mul(g, R, kk, NULL, NULL, bn) != 1 ||
            !point_out(g, R, size, x, NULL, bn) || !schnorr_e(alg, x, size, digest, dlen, e)) {
            goto out;
        }
        /* r must be a valid scalar for the verifier (0 < r < n): draw again otherwise. */
        if (BN_is_zero(e) || BN_cmp(e, n) >= 0 || !schnorr_s(kk, e, d, n, bs, bn)) {
            continue;
        }
        ok = BN_bn2binpad(e, r, (int)size) > 0 && BN_bn2binpad(bs, s, (int)size) > 0;
    }
out:
    secret_wipe(x, sizeof(x));
    if (started) {
        BN_CTX_end(bn);
    }
    BN_CTX_free(bn);
    BN_clear_free(d);
    EC_POINT_clear_free(R);
    EC_GROUP_free(g);
    return ok;
}

bool crypto_ecschnorr_verify(const struct crypto_ecc_key *k, TPM_ALG_ID alg,
                             const uint8_t *digest, size_t dlen, const uint8_t *r, size_t rlen,
                             const uint8_t *s, size_t slen)
{
    size_t size = crypto_ecc_bytes(k->curve);
    uint8_t x[MAX_ECC_KEY_BYTES];
    EC_GROUP *g = curve_group(k->curve);
    BN_CTX *bn = BN_CTX_new();
    EC_POINT *Q = NULL, *R = g ? EC_POINT_new(g) : NULL;
    BIGNUM *br = BN_bin2bn(r, (int)rlen, NULL), *bs = BN_bin2bn(s, (int)slen, NULL);
    BIGNUM *nr = BN_new(), *e = BN_new();
    bool ok = false;
    if (!g || !bn || !R || !br || !bs || !nr || !e) {
        goto out;
    }
    const BIGNUM *n = EC_GROUP_get0_order(g);
    if (BN_is_zero(br) || BN_is_zero(bs) || BN_cmp(br, n) >= 0 || BN_cmp(bs, n) >= 0) {
        goto out;
    }
    Q = point_in(g, k->x, k->xlen, k->y, k->ylen, bn);
    /* R' = [s]G + [n - r]Q */
    if (!Q || !BN_sub(nr, n, br) || EC_POINT_mul(g, R, bs, Q, nr, bn) != 1 ||
        !point_out(g, R, size, x, NULL, bn) || !schnorr_e(alg, x, size, digest, dlen, e)) {
        goto out;
    }
    ok = BN_cmp(e, br) == 0;
out:
    BN_free(br);
    BN_free(bs);
    BN_free(nr);
    BN_free(e);
    EC_POINT_free(Q);
    EC_POINT_free(R);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return ok;
}

bool crypto_ecdaa_sign(const struct crypto_ecc_key *k, TPM_ALG_ID alg, const uint8_t *rc,
                       size_t rclen, const uint8_t *digest, size_t dlen, uint8_t *nonce,
                       uint8_t *s)
{
    size_t size = crypto_ecc_bytes(k->curve);
    size_t hl = hash_size(alg);
    uint8_t h[MAX_DIGEST_SIZE];
    EC_GROUP *g = curve_group(k->curve);
    BN_CTX *bn = BN_CTX_secure_new();
    BIGNUM *d = k->d ? BN_bin2bn(k->d, (int)k->dlen, BN_secure_new()) : NULL;
    BIGNUM *r = BN_bin2bn(rc, (int)rclen, BN_secure_new());
    bool ok = false, started = false;
    if (!g || !bn || !d || !r || hl == 0) {
        goto out;
    }
    BN_CTX_start(bn);
    started = true;
    BIGNUM *nk = BN_CTX_get(bn), *t = BN_CTX_get(bn), *bs = BN_CTX_get(bn);
    const BIGNUM *n = EC_GROUP_get0_order(g);
    if (!bs || BN_is_zero(r) || BN_cmp(r, n) >= 0) {
        goto out;
    }
    BN_set_flags(d, BN_FLG_CONSTTIME);
    for (int tries = 0; tries < 16 && !ok; tries++) {
        struct hash_state st;
        if (!rand_scalar(n, nk) || BN_bn2binpad(nk, nonce, (int)size) <= 0 ||
            !hash_begin(&st, alg)) {
            goto out;
        }
        hash_update(&st, nonce, size);
        hash_update(&st, digest, dlen);
        if (!hash_end(&st, h) || !BN_bin2bn(h, (int)hl, t)) {
            goto out;
        }
        if (!schnorr_s(r, t, d, n, bs, bn)) {
            continue;
        }
        ok = BN_bn2binpad(bs, s, (int)size) > 0;
    }
out:
    if (started) {
        BN_CTX_end(bn);
    }
    BN_CTX_free(bn);
    BN_clear_free(d);
    BN_clear_free(r);
    EC_GROUP_free(g);
    return ok;
}

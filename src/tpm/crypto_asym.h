/*
 * Asymmetric cryptography for objects: RSA and ECC key generation, RSA-OAEP, ECDH. With
 * crypto.c, the only place in src/tpm that includes OpenSSL headers (crypto_asym.c).
 *
 * Keys cross this interface in their TPM form (Part 2 §11.2.4-5): an RSA key is its modulus,
 * public exponent and one prime; an ECC key is its curve, scalar and point, big-endian octet
 * strings. OpenSSL objects are built for one operation and freed (and their secrets cleared)
 * before the function returns, so nothing here holds state between calls.
 *
 * Signatures (Part 1 Annex C, Part 2 §11.2.1): RSASSA-PKCS1-v1_5 and RSASSA-PSS, ECDSA, the TPM's
 * EC-Schnorr and the signing half of ECDAA. Encryption (Part 1 §B.10): RSAES-PKCS1-v1_5,
 * RSAES-OAEP and the raw RSA primitive of the NULL scheme.
 */
#ifndef VTPM_TPM_CRYPTO_ASYM_H
#define VTPM_TPM_CRYPTO_ASYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpm_consts.h"

#define CRYPTO_RSA_DEFAULT_EXPONENT 65537u
#define MUST_CHECK_BOOL __attribute__((warn_unused_result))

/* A source of candidate bytes for prime generation: fills buf with len bytes, or false. */
typedef bool (*crypto_bytes_fn)(void *ctx, uint8_t *buf, size_t len);

/*
 * RSA key generation (Part 1 §C "RSA key generation" in spirit: random odd candidates with
 * the two top bits set, searched upwards to the next probable prime). Each prime starts at a
 * candidate of bits/2 bits drawn from src; a prime p is kept when gcd(e, p - 1) = 1. q must
 * differ from p in its top 100 bits. Writes the modulus n (bits/8 bytes) and the prime p
 * (bits/16 bytes). Deterministic for a deterministic src.
 */
bool crypto_rsa_generate(uint16_t bits, uint32_t e, crypto_bytes_fn src, void *ctx, uint8_t *n,
                         uint8_t *p) __attribute__((warn_unused_result));

/*
 * The Miller-Rabin test of the prime search (FIPS 186-4 C.3.1: random bases, the rounds of
 * Table C.3 for its bit length) on a big-endian number of 8 to 512 bytes. Returns 1 probably
 * prime, 0 composite or below 5 or even, -1 on an OpenSSL failure or a len out of range.
 */
int crypto_probable_prime(const uint8_t *be, size_t len) __attribute__((warn_unused_result));

/*
 * Check that prime p (plen bytes) divides modulus n (nlen bytes) and that e works with it:
 * q = n / p > 1, gcd(e, lcm(p-1, q-1)) = 1. Used on loaded and imported sensitive areas.
 */
bool crypto_rsa_check(const uint8_t *n, size_t nlen, uint32_t e, const uint8_t *p, size_t plen)
    __attribute__((warn_unused_result));

/*
 * RSA-OAEP (PKCS#1 v2.2) with hash alg for both OAEP hash and MGF1; label includes its
 * terminating zero octet when the TPM uses one (Part 1 §B.10.3). Encrypt writes nlen bytes.
 * Decrypt needs the private key (n, e, p) and writes at most cap bytes to out, *outlen set.
 * Decrypt returns false on any failure without telling padding errors apart.
 */
bool crypto_rsa_oaep_encrypt(TPM_ALG_ID alg, const char *label, const uint8_t *n, size_t nlen,
                             uint32_t e, const uint8_t *in, size_t inlen, uint8_t *out)
    __attribute__((warn_unused_result));
bool crypto_rsa_oaep_decrypt(TPM_ALG_ID alg, const char *label, const uint8_t *n, size_t nlen,
                             uint32_t e, const uint8_t *p, size_t plen, const uint8_t *in,
                             size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
    __attribute__((warn_unused_result));

/* ECC curves: byte size of the field and order (P-256: 32, P-384: 48, P-521: 66); 0 if none. */
size_t crypto_ecc_bytes(TPM_ECC_CURVE curve);
/* The curve order n as big-endian bytes (crypto_ecc_bytes long); false if not a curve. */
bool crypto_ecc_order(TPM_ECC_CURVE curve, uint8_t *out);

/*
 * d (dlen bytes) must be in [1, n-1]; writes Q = d*G as x, y, each crypto_ecc_bytes long.
 * crypto_ecc_scalar_from_bytes reduces an oversized value r (from a KDF) to d = r mod (n-1) + 1.
 */
bool crypto_ecc_public(TPM_ECC_CURVE curve, const uint8_t *d, size_t dlen, uint8_t *x,
                       uint8_t *y) __attribute__((warn_unused_result));
bool crypto_ecc_scalar_from_bytes(TPM_ECC_CURVE curve, const uint8_t *r, size_t rlen,
                                  uint8_t *d) __attribute__((warn_unused_result));

/* Is (x, y) a point of the curve other than infinity? */
bool crypto_ecc_point_ok(TPM_ECC_CURVE curve, const uint8_t *x, size_t xlen, const uint8_t *y,
                         size_t ylen);

/* Shared point Z = d * Q; writes Z's x coordinate (crypto_ecc_bytes long). */
bool crypto_ecdh(TPM_ECC_CURVE curve, const uint8_t *d, size_t dlen, const uint8_t *qx,
                 size_t qxlen, const uint8_t *qy, size_t qylen, uint8_t *zx)
    __attribute__((warn_unused_result));

/* A fresh random key pair (ephemeral keys of MakeCredential and Duplicate). */
bool crypto_ecc_generate(TPM_ECC_CURVE curve, uint8_t *d, uint8_t *x, uint8_t *y)
    __attribute__((warn_unused_result));

/* ---- keys for signing and encryption ---- */

/*
 * A key built once for repeated use: OpenSSL's form of a loaded key, with what it derives
 * from the TPM form (RSA: private exponent, CRT values, blinding and Montgomery contexts,
 * which cost more than one signature). sign.c keeps a few per engine. crypto_pkey_free
 * frees it and clears its secrets.
 */
struct crypto_pkey;

/* An RSA key: the private part (one prime p) is NULL for a public key. */
struct crypto_rsa_key {
    const uint8_t *n;
    size_t nlen;
    uint32_t e; /* the real exponent (the caller maps 0 to 65537) */
    const uint8_t *p;
    size_t plen;
    struct crypto_pkey *built; /* the same key already built, or NULL */
};

/* An ECC key: d is NULL for a public key; x and y may be shorter than the field size. */
struct crypto_ecc_key {
    TPM_ECC_CURVE curve;
    const uint8_t *d;
    size_t dlen;
    const uint8_t *x;
    size_t xlen;
    const uint8_t *y;
    size_t ylen;
    struct crypto_pkey *built; /* the same key already built, or NULL */
};

/* Build k (private when it has its private part); NULL when OpenSSL refuses it. */
struct crypto_pkey *crypto_rsa_build(const struct crypto_rsa_key *k);
struct crypto_pkey *crypto_ecc_build(const struct crypto_ecc_key *k);
void crypto_pkey_free(struct crypto_pkey *p);

/*
 * RSA signature of a digest of hash alg (dlen must be that hash's size): scheme TPM_ALG_RSASSA
 * (PKCS#1 v1.5, DigestInfo added) or TPM_ALG_RSAPSS (MGF1 with alg, salt as long as the digest
 * or as long as the modulus allows). Writes k->nlen bytes to sig.
 */
bool crypto_rsa_sign(const struct crypto_rsa_key *k, TPM_ALG_ID scheme, TPM_ALG_ID alg,
                     const uint8_t *digest, size_t dlen, uint8_t *sig) MUST_CHECK_BOOL;
/* Does sig (exactly k->nlen bytes) verify? PSS accepts any salt length. */
bool crypto_rsa_verify(const struct crypto_rsa_key *k, TPM_ALG_ID scheme, TPM_ALG_ID alg,
                       const uint8_t *digest, size_t dlen, const uint8_t *sig, size_t siglen);

/*
 * RSA encryption with scheme TPM_ALG_RSAES, TPM_ALG_OAEP (hash alg for OAEP and MGF1; label of
 * llen bytes, used as given) or TPM_ALG_NULL (the raw primitive: in is left-padded with zeros
 * to the modulus size and must be numerically smaller than the modulus). Writes k->nlen bytes.
 * False when the message is too long for the scheme or OpenSSL fails.
 */
bool crypto_rsa_encrypt(const struct crypto_rsa_key *k, TPM_ALG_ID scheme, TPM_ALG_ID alg,
                        const uint8_t *label, size_t llen, const uint8_t *in, size_t inlen,
                        uint8_t *out) MUST_CHECK_BOOL;

/*
 * The inverse, with the private key: in must be k->nlen bytes. For TPM_ALG_NULL the whole
 * k->nlen-byte value is the message. The padding of RSAES and OAEP is checked by OpenSSL 3's
 * constant-time decoders (rsa_pk1.c, rsa_oaep.c: validity is accumulated in a mask, the error
 * is raised without a data-dependent branch, and the message is moved out with constant-time
 * copies), so nothing here branches on decrypted bytes; the one branch is on the final
 * success bit, which the TPM reveals anyway (TPM_RC_VALUE). Implicit rejection (OpenSSL 3.2+)
 * is turned off so every build answers a bad padding the way Part 3 §14.3 specifies.
 * False on any failure, padding errors not told apart.
 */
bool crypto_rsa_decrypt(const struct crypto_rsa_key *k, TPM_ALG_ID scheme, TPM_ALG_ID alg,
                        const uint8_t *label, size_t llen, const uint8_t *in, size_t inlen,
                        uint8_t *out, size_t cap, size_t *outlen) MUST_CHECK_BOOL;

/*
 * ECDSA (FIPS 186-4; the digest is truncated to the order's bit length): r and s written as
 * crypto_ecc_bytes(curve) bytes each.
 */
bool crypto_ecdsa_sign(const struct crypto_ecc_key *k, const uint8_t *digest, size_t dlen,
                       uint8_t *r, uint8_t *s) MUST_CHECK_BOOL;
bool crypto_ecdsa_verify(const struct crypto_ecc_key *k, const uint8_t *digest, size_t dlen,
                         const uint8_t *r, size_t rlen, const uint8_t *s, size_t slen);

/*
 * EC-Schnorr as the TPM defines it (Part 1 Annex C, TPM_ALG_ECSCHNORR):
 * k random, R = [k]G, r = H(R.x || digest) truncated to the order's byte length, s = k + r*d
 * mod n; R.x is padded to the order's byte length. Verification: R' = [s]G - [r]Q and
 * r == H(R'.x || digest) truncated. r and s are order-sized.
 */
bool crypto_ecschnorr_sign(const struct crypto_ecc_key *k, TPM_ALG_ID alg, const uint8_t *digest,
                           size_t dlen, uint8_t *r, uint8_t *s) MUST_CHECK_BOOL;
bool crypto_ecschnorr_verify(const struct crypto_ecc_key *k, TPM_ALG_ID alg,
                             const uint8_t *digest, size_t dlen, const uint8_t *r, size_t rlen,
                             const uint8_t *s, size_t slen);

/*
 * The signing half of ECDAA (Part 1 Annex C; Part 3 §19.2 Commit): with the commit value rc
 * (from TPM2_Commit), nonce random in [1, n-1] (written order-sized), T = H(nonce || digest) and
 * s = rc + T*d mod n. Anyone can check it against the commit's E = [rc]G: [s]G = E + [T]Q.
 */
bool crypto_ecdaa_sign(const struct crypto_ecc_key *k, TPM_ALG_ID alg, const uint8_t *rc,
                       size_t rclen, const uint8_t *digest, size_t dlen, uint8_t *nonce,
                       uint8_t *s) MUST_CHECK_BOOL;

/* R = [k]P, or [k]G when px is NULL; k in [1, n-1]; P must be a point of the curve.
 * Writes R's coordinates, crypto_ecc_bytes long (y may be NULL). */
bool crypto_ecc_mul(TPM_ECC_CURVE curve, const uint8_t *k, size_t klen, const uint8_t *px,
                    size_t pxlen, const uint8_t *py, size_t pylen, uint8_t *x, uint8_t *y)
    MUST_CHECK_BOOL;

/* out = in mod p (the field prime), crypto_ecc_bytes long. */
bool crypto_ecc_mod_p(TPM_ECC_CURVE curve, const uint8_t *in, size_t inlen, uint8_t *out)
    MUST_CHECK_BOOL;

/* Is 0 < v < n (the order)? */
bool crypto_ecc_scalar_ok(TPM_ECC_CURVE curve, const uint8_t *v, size_t vlen);

/* The domain parameters (Part 2 §11.2.5.2 TPMS_ALGORITHM_DETAIL_ECC): p, a, b, Gx, Gy, n,
 * each crypto_ecc_bytes long, and the cofactor h in *hlen minimal bytes (at least one). */
bool crypto_ecc_curve(TPM_ECC_CURVE curve, uint8_t *p, uint8_t *a, uint8_t *b, uint8_t *gx,
                      uint8_t *gy, uint8_t *n, uint8_t *h, size_t *hlen) MUST_CHECK_BOOL;

#endif

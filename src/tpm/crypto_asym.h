/*
 * Asymmetric cryptography for objects: RSA and ECC key generation, RSA-OAEP, ECDH. With
 * crypto.c, the only place in src/tpm that includes OpenSSL headers (crypto_asym.c).
 *
 * Keys cross this interface in their TPM form (Part 2 §11.2.4-5): an RSA key is its modulus,
 * public exponent and one prime; an ECC key is its curve, scalar and point, big-endian octet
 * strings. OpenSSL objects are built for one operation and freed (and their secrets cleared)
 * before the function returns, so nothing here holds state between calls.
 */
#ifndef VTPM_TPM_CRYPTO_ASYM_H
#define VTPM_TPM_CRYPTO_ASYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpm_consts.h"

#define CRYPTO_RSA_DEFAULT_EXPONENT 65537u

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

/* Import of external keys (tests, LoadExternal from PEM through tools): nothing else here. */

#endif

/*
 * The benchmark client's own cryptography, with OpenSSL 3 directly and nothing from the servers
 * it measures: the key derivation functions of TPM 2.0 Part 1 §11.4.10 (KDFa, KDFe), the salt of
 * a session salted with an ECC key (Part 1 §19.6.13, Annex C.6.1 "ECC secret sharing"), HMACs
 * and SHA-256 over several pieces, and the checks of what a TPM returns (ECDSA and RSASSA
 * signatures, OAEP encryption of a message for TPM2_RSA_Decrypt).
 *
 * Every function returns 0 on success and -1 when OpenSSL failed or an input was out of range;
 * nothing here allocates what the caller must free, except bcrypt_ecc_pkey and bcrypt_rsa_pkey
 * (EVP_PKEY_free).
 */
#ifndef VTPM_BENCH_TPMCRYPT_H
#define VTPM_BENCH_TPMCRYPT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define BCRYPT_SHA256 32 /* bytes of a SHA-256 digest */
#define BCRYPT_P256 32   /* bytes of a NIST P-256 coordinate or scalar */

/* One piece of a message that is hashed or MACed in parts. */
struct bcrypt_part {
    const uint8_t *p;
    size_t n;
};

/* SHA-256 over the n parts, in order. */
int bcrypt_sha256(const struct bcrypt_part *parts, size_t n, uint8_t out[BCRYPT_SHA256]);

/* HMAC-SHA-256 with key (klen bytes, may be 0) over the n parts, in order. */
int bcrypt_hmac(const uint8_t *key, size_t klen, const struct bcrypt_part *parts, size_t n,
                uint8_t out[BCRYPT_SHA256]);

/*
 * KDFa with SHA-256 (Part 1 §11.4.10.2, the SP 800-108 counter-mode KDF with HMAC): bits/8 bytes
 * of HMAC(key, [i]32 || label || 0x00 || u || v || [bits]32) for i = 1, 2, ... into out.
 * bits must be a multiple of 8, at most 2048.
 */
int bcrypt_kdfa(const uint8_t *key, size_t klen, const char *label, const uint8_t *u, size_t ul,
                const uint8_t *v, size_t vl, uint32_t bits, uint8_t *out);

/*
 * KDFe with SHA-256 (Part 1 §11.4.10.3, the SP 800-56A concatenation KDF): bits/8 bytes of
 * SHA-256([i]32 || z || label || 0x00 || u || v) for i = 1, 2, ... into out. Same limits.
 */
int bcrypt_kdfe(const uint8_t *z, size_t zl, const char *label, const uint8_t *u, size_t ul,
                const uint8_t *v, size_t vl, uint32_t bits, uint8_t *out);

/*
 * The salt of a session salted with an ECC P-256 key whose nameAlg is SHA-256 and whose public
 * point is (qx, qy) (Part 1 Annex C.6.1): an ephemeral key pair (private scalar eph, or a random
 * one when eph is NULL), Z = x of eph * Q, salt = KDFe(SHA-256, Z, "SECRET", ephemeral x, qx,
 * 256). The ephemeral public point, which the TPM needs to derive the same salt, goes to
 * (ex, ey), each 32 bytes, left-padded with zeros. Fails when Q is not on the curve.
 */
int bcrypt_ecc_salt(const uint8_t qx[BCRYPT_P256], const uint8_t qy[BCRYPT_P256],
                    const uint8_t *eph, uint8_t salt[BCRYPT_SHA256], uint8_t ex[BCRYPT_P256],
                    uint8_t ey[BCRYPT_P256]);

/* A P-256 public key from its point, or NULL (not on the curve, or OpenSSL failed). */
EVP_PKEY *bcrypt_ecc_pkey(const uint8_t qx[BCRYPT_P256], const uint8_t qy[BCRYPT_P256]);

/* An RSA public key from its modulus (big-endian, nlen bytes) and exponent 65537, or NULL. */
EVP_PKEY *bcrypt_rsa_pkey(const uint8_t *n, size_t nlen);

/* Verifies the ECDSA signature (r, s) of a SHA-256 digest with key. 0 if it is valid. */
int bcrypt_verify_ecdsa(EVP_PKEY *key, const uint8_t digest[BCRYPT_SHA256], const uint8_t *r,
                        size_t rl, const uint8_t *s, size_t sl);

/* Verifies an RSASSA-PKCS1-v1_5 signature of a SHA-256 digest with key. 0 if it is valid. */
int bcrypt_verify_rsassa(EVP_PKEY *key, const uint8_t digest[BCRYPT_SHA256], const uint8_t *sig,
                         size_t sl);

/*
 * RSAES-OAEP encryption with SHA-256 (hash and MGF1) and an empty label, as TPM2_RSA_Decrypt
 * undoes it with scheme TPM_ALG_OAEP / TPM_ALG_SHA256 and an empty label (Part 1 Annex B.4).
 * *olen: on input the room in out, on output the ciphertext's length.
 */
int bcrypt_oaep_encrypt(EVP_PKEY *key, const uint8_t *msg, size_t mlen, uint8_t *out,
                        size_t *olen);

#endif

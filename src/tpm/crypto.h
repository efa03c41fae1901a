/*
 * The engine's cryptography: the only place in src/tpm that includes OpenSSL headers.
 *
 * Everything goes through OpenSSL 3's EVP layer. Functions return false when OpenSSL fails
 * (allocation, a provider error); callers turn that into TPM_RC_FAILURE or TPM_RC_MEMORY.
 * Secrets that pass through here are wiped before their memory is released.
 */
#ifndef VTPM_TPM_CRYPTO_H
#define VTPM_TPM_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpm_consts.h"

/* A running hash. Zero-initialize; hash_begin fills it; hash_end or hash_abort frees it. */
struct hash_state {
    void *ctx; /* EVP_MD_CTX */
    TPM_ALG_ID alg;
};

bool hash_begin(struct hash_state *h, TPM_ALG_ID alg) __attribute__((warn_unused_result));
void hash_update(struct hash_state *h, const void *p, size_t n);
void hash_update_u16(struct hash_state *h, uint16_t v); /* big-endian, as marshaled */
void hash_update_u32(struct hash_state *h, uint32_t v);
/* Writes the digest (hash_size(alg) bytes) and frees; returns false if any step failed. */
bool hash_end(struct hash_state *h, uint8_t *out) __attribute__((warn_unused_result));
void hash_abort(struct hash_state *h);
/* Copy a running hash (EventSequenceComplete finishes a copy); dst must be unused. */
bool hash_copy(struct hash_state *dst, const struct hash_state *src);

/* One-shot digest of p; false if alg is not implemented or OpenSSL failed. */
bool crypto_hash(TPM_ALG_ID alg, const void *p, size_t n, uint8_t *out)
    __attribute__((warn_unused_result));

/* A running HMAC (RFC 2104 over the given hash). */
struct hmac_state {
    void *ctx; /* EVP_MAC_CTX */
    TPM_ALG_ID alg;
};

bool hmac_begin(struct hmac_state *m, TPM_ALG_ID alg, const void *key, size_t keylen)
    __attribute__((warn_unused_result));
void hmac_update(struct hmac_state *m, const void *p, size_t n);
void hmac_update_u32(struct hmac_state *m, uint32_t v);
bool hmac_end(struct hmac_state *m, uint8_t *out) __attribute__((warn_unused_result));
void hmac_abort(struct hmac_state *m);
/* Copy a running HMAC (saved contexts of HMAC sequences); dst must be unused. */
bool hmac_copy(struct hmac_state *dst, const struct hmac_state *src);

/*
 * KDFa (Part 1 §11.4.10.2, SP800-108 counter mode with HMAC): bits of output derived from key,
 * a label (its terminating zero octet is included) and two contexts. The unused high bits of
 * the first octet are cleared when bits is not a multiple of 8. out holds (bits + 7) / 8.
 */
bool crypto_kdfa(TPM_ALG_ID alg, const uint8_t *key, size_t keylen, const char *label,
                 const uint8_t *ctx_u, size_t ulen, const uint8_t *ctx_v, size_t vlen,
                 uint32_t bits, uint8_t *out) __attribute__((warn_unused_result));

/* KDFe (Part 1 §11.4.10.3, SP800-56A concatenation KDF): from a shared secret Z. */
bool crypto_kdfe(TPM_ALG_ID alg, const uint8_t *z, size_t zlen, const char *label,
                 const uint8_t *party_u, size_t ulen, const uint8_t *party_v, size_t vlen,
                 uint32_t bits, uint8_t *out) __attribute__((warn_unused_result));

/*
 * Symmetric encryption or decryption of len bytes with alg/bits/mode (AES; CFB, CBC, CTR,
 * OFB, ECB), no padding. iv (block-sized, may be NULL for ECB) is read and replaced by the
 * chaining value for a next call. in and out may be the same buffer. CBC and ECB need whole
 * blocks. Returns false when the mode or sizes are not acceptable or OpenSSL fails.
 */
bool crypto_sym(TPM_ALG_ID alg, uint16_t bits, TPM_ALG_ID mode, bool encrypt, const uint8_t *key,
                uint8_t *iv, const uint8_t *in, uint8_t *out, size_t len)
    __attribute__((warn_unused_result));

/* Random bytes from OpenSSL's private DRBG. */
bool crypto_random(void *p, size_t n) __attribute__((warn_unused_result));
/* Mix caller data into the DRBG (TPM2_StirRandom). */
void crypto_stir(const void *p, size_t n);

#endif

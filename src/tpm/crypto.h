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

/* Random bytes from OpenSSL's private DRBG. */
bool crypto_random(void *p, size_t n) __attribute__((warn_unused_result));
/* Mix caller data into the DRBG (TPM2_StirRandom). */
void crypto_stir(const void *p, size_t n);

#endif

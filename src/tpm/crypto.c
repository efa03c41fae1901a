/*
 * OpenSSL 3 behind the engine (see crypto.h).
 *
 * Digest and MAC implementations are fetched once per process and kept: fetching is the
 * slow part of EVP, and the fetched objects are immutable, so sharing them between vTPMs
 * shares no TPM state.
 */
#include "crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "alg.h"

static EVP_MD *md_cache[HASH_COUNT];
static EVP_MAC *hmac_impl;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
    for (size_t i = 0; i < HASH_COUNT; i++) {
        md_cache[i] = EVP_MD_fetch(NULL, hash_table[i].ossl, NULL);
    }
    hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static const EVP_MD *md_of(TPM_ALG_ID alg)
{
    const struct hash_info *h = hash_info(alg);
    if (!h) {
        return NULL;
    }
    pthread_once(&fetch_once, fetch_all);
    return md_cache[h->bank];
}

bool hash_begin(struct hash_state *h, TPM_ALG_ID alg)
{
    const EVP_MD *md = md_of(alg);
    h->ctx = NULL;
    h->alg = alg;
    if (!md) {
        return false;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return false;
    }
    h->ctx = ctx;
    return true;
}

void hash_update(struct hash_state *h, const void *p, size_t n)
{
    if (h->ctx && n > 0 && EVP_DigestUpdate(h->ctx, p, n) != 1) {
        /* Poison the state: hash_end then reports the failure. */
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
    }
}

void hash_update_u16(struct hash_state *h, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    hash_update(h, b, 2);
}

void hash_update_u32(struct hash_state *h, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    hash_update(h, b, 4);
}

bool hash_end(struct hash_state *h, uint8_t *out)
{
    bool ok = h->ctx && EVP_DigestFinal_ex(h->ctx, out, NULL) == 1;
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
    return ok;
}

void hash_abort(struct hash_state *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

bool hash_copy(struct hash_state *dst, const struct hash_state *src)
{
    dst->ctx = NULL;
    dst->alg = src->alg;
    if (!src->ctx) {
        return false;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_MD_CTX_copy_ex(ctx, src->ctx) != 1) {
        EVP_MD_CTX_free(ctx);
        return false;
    }
    dst->ctx = ctx;
    return true;
}

bool crypto_hash(TPM_ALG_ID alg, const void *p, size_t n, uint8_t *out)
{
    const EVP_MD *md = md_of(alg);
    return md && EVP_Digest(p, n, out, NULL, md, NULL) == 1;
}

bool hmac_begin(struct hmac_state *m, TPM_ALG_ID alg, const void *key, size_t keylen)
{
    const struct hash_info *h = hash_info(alg);
    m->ctx = NULL;
    m->alg = alg;
    if (!h || !md_of(alg) || !hmac_impl) {
        return false;
    }
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_impl);
    if (!ctx) {
        return false;
    }
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)h->ossl, 0),
        OSSL_PARAM_construct_end(),
    };
    /* An empty key is legal for TPM HMACs (empty authValue, no salt): OpenSSL needs a
     * non-NULL pointer to accept it. */
    static const uint8_t empty[1];
    if (EVP_MAC_init(ctx, keylen ? key : empty, keylen, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return false;
    }
    m->ctx = ctx;
    return true;
}

void hmac_update(struct hmac_state *m, const void *p, size_t n)
{
    if (m->ctx && n > 0 && EVP_MAC_update(m->ctx, p, n) != 1) {
        EVP_MAC_CTX_free(m->ctx);
        m->ctx = NULL;
    }
}

void hmac_update_u32(struct hmac_state *m, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    hmac_update(m, b, 4);
}

bool hmac_end(struct hmac_state *m, uint8_t *out)
{
    size_t len = 0;
    bool ok = m->ctx && EVP_MAC_final(m->ctx, out, &len, MAX_DIGEST_SIZE) == 1;
    EVP_MAC_CTX_free(m->ctx);
    m->ctx = NULL;
    return ok && len == hash_size(m->alg);
}

void hmac_abort(struct hmac_state *m)
{
    EVP_MAC_CTX_free(m->ctx);
    m->ctx = NULL;
}

bool crypto_random(void *p, size_t n)
{
    return n == 0 || RAND_priv_bytes(p, (int)n) == 1;
}

void crypto_stir(const void *p, size_t n)
{
    /* The entropy estimate is 0: caller data may be known to an attacker (Part 3 §16.2). */
    if (n > 0) {
        RAND_add(p, (int)n, 0.0);
    }
}

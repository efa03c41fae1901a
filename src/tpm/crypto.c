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
#include <stdio.h>
#include <string.h>

#include "../common/secret.h"
#include "alg.h"

static EVP_MD *md_cache[HASH_COUNT];
static EVP_MAC *hmac_impl;
/* AES-128/192/256 in CFB, CBC, CTR, OFB, ECB */
static EVP_CIPHER *aes_cache[3][5];
static const char *const aes_modes[5] = {"CFB", "CBC", "CTR", "OFB", "ECB"};
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
    for (size_t i = 0; i < HASH_COUNT; i++) {
        md_cache[i] = EVP_MD_fetch(NULL, hash_table[i].ossl, NULL);
    }
    hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
    for (int k = 0; k < 3; k++) {
        for (int m = 0; m < 5; m++) {
            char name[32];
            snprintf(name, sizeof(name), "AES-%d-%s", 128 + 64 * k, aes_modes[m]);
            aes_cache[k][m] = EVP_CIPHER_fetch(NULL, name, NULL);
        }
    }
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

bool hmac_copy(struct hmac_state *dst, const struct hmac_state *src)
{
    dst->alg = src->alg;
    dst->ctx = src->ctx ? EVP_MAC_CTX_dup(src->ctx) : NULL;
    return dst->ctx != NULL;
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

/* Shared shape of KDFa and KDFe: counter blocks until bits are produced. */
static bool kdf_counter(TPM_ALG_ID alg, bool hmac, const uint8_t *secret, size_t slen,
                        const char *label, const uint8_t *u, size_t ulen, const uint8_t *v,
                        size_t vlen, uint32_t bits, uint8_t *out)
{
    uint16_t dsize = hash_size(alg);
    size_t bytes = ((size_t)bits + 7) / 8;
    size_t llen = strlen(label) + 1; /* the zero octet that ends the label */
    uint8_t block[MAX_DIGEST_SIZE];
    if (dsize == 0 || bits == 0) {
        return false;
    }
    for (uint32_t i = 1, done = 0; done < bytes; i++) {
        bool ok;
        if (hmac) {
            struct hmac_state m;
            ok = hmac_begin(&m, alg, secret, slen);
            hmac_update_u32(&m, i);
            hmac_update(&m, label, llen);
            hmac_update(&m, u, ulen);
            hmac_update(&m, v, vlen);
            hmac_update_u32(&m, bits);
            ok = ok && hmac_end(&m, block);
        } else {
            struct hash_state h;
            ok = hash_begin(&h, alg);
            hash_update_u32(&h, i);
            hash_update(&h, secret, slen);
            hash_update(&h, label, llen);
            hash_update(&h, u, ulen);
            hash_update(&h, v, vlen);
            ok = ok && hash_end(&h, block);
        }
        if (!ok) {
            secret_wipe(block, sizeof(block));
            return false;
        }
        size_t n = bytes - done < dsize ? bytes - done : dsize;
        memcpy(out + done, block, n);
        done += (uint32_t)n;
    }
    secret_wipe(block, sizeof(block));
    if (bits % 8) {
        out[0] &= (uint8_t)((1u << (bits % 8)) - 1);
    }
    return true;
}

bool crypto_kdfa(TPM_ALG_ID alg, const uint8_t *key, size_t keylen, const char *label,
                 const uint8_t *ctx_u, size_t ulen, const uint8_t *ctx_v, size_t vlen,
                 uint32_t bits, uint8_t *out)
{
    return kdf_counter(alg, true, key, keylen, label, ctx_u, ulen, ctx_v, vlen, bits, out);
}

bool crypto_kdfe(TPM_ALG_ID alg, const uint8_t *z, size_t zlen, const char *label,
                 const uint8_t *party_u, size_t ulen, const uint8_t *party_v, size_t vlen,
                 uint32_t bits, uint8_t *out)
{
    return kdf_counter(alg, false, z, zlen, label, party_u, ulen, party_v, vlen, bits, out);
}

static const EVP_CIPHER *cipher_of(TPM_ALG_ID alg, uint16_t bits, TPM_ALG_ID mode)
{
    int k = bits == 128 ? 0 : bits == 192 ? 1 : bits == 256 ? 2 : -1;
    int m = mode == TPM_ALG_CFB   ? 0
            : mode == TPM_ALG_CBC ? 1
            : mode == TPM_ALG_CTR ? 2
            : mode == TPM_ALG_OFB ? 3
            : mode == TPM_ALG_ECB ? 4
                                  : -1;
    if (alg != TPM_ALG_AES || k < 0 || m < 0) {
        return NULL;
    }
    pthread_once(&fetch_once, fetch_all);
    return aes_cache[k][m];
}

bool crypto_sym(TPM_ALG_ID alg, uint16_t bits, TPM_ALG_ID mode, bool encrypt, const uint8_t *key,
                uint8_t *iv, const uint8_t *in, uint8_t *out, size_t len)
{
    const EVP_CIPHER *c = cipher_of(alg, bits, mode);
    if (!c || len > INT32_MAX) {
        return false;
    }
    if ((mode == TPM_ALG_CBC || mode == TPM_ALG_ECB) && len % MAX_SYM_BLOCK_SIZE) {
        return false;
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    bool ok = ctx && EVP_CipherInit_ex2(ctx, c, key, mode == TPM_ALG_ECB ? NULL : iv,
                                        encrypt ? 1 : 0, NULL) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
              (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1) &&
              EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && (size_t)(n + fin) == len;
    if (ok && iv && mode != TPM_ALG_ECB) {
        ok = EVP_CIPHER_CTX_get_updated_iv(ctx, iv, MAX_SYM_BLOCK_SIZE) == 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

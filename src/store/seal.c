/*
 * The vTPM file's cryptography (see seal.h and docs/STATE-FORMAT.md "Keys", "Sealing").
 *
 * Subkeys: HKDF-SHA256 (RFC 5869) of the data key, no salt, one info label per purpose.
 * Records: AES-256-GCM (SP 800-38D) under a key of their own, HKDF-Expand(rec, label || salt)
 * with a fresh random 16-byte salt per record, and a fresh random 96-bit nonce. A key is
 * therefore used for one encryption only, so no (key, nonce) pair can repeat however many
 * commits a guest forces, even when a generation number is reused after a crash.
 */
#include "store/seal.h"

#include "common/secret.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

static const char label_rec[] = "vtpm store v1 record key";
static const char label_mac[] = "vtpm store v1 header mac";
static const char label_vm[] = "vtpm store v1 vm tag";
static const char label_id[] = "vtpm store v1 key id";
static const char label_record[] = "vtpm store v1 record";

struct seal_ctx {
    EVP_CIPHER *aes;
    EVP_CIPHER_CTX *cipher;
    EVP_KDF_CTX *kdf;
};

static EVP_KDF_CTX *kdf_new(void)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf) {
        return NULL;
    }
    EVP_KDF_CTX *c = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    return c;
}

/* HKDF-SHA256 with the given mode; salt may be NULL. */
static int hkdf(EVP_KDF_CTX *c, int mode, const uint8_t *key, size_t keylen, const uint8_t *info,
                size_t infolen, uint8_t *out, size_t outlen)
{
    OSSL_PARAM params[5];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, keylen);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
    params[n] = OSSL_PARAM_construct_end();
    return EVP_KDF_derive(c, out, outlen, params) == 1 ? 0 : -EIO;
}

int seal_derive(const uint8_t key[32], struct seal_keys *k)
{
    static const struct {
        const char *label;
        size_t off, len;
    } subkeys[] = {
        {label_rec, offsetof(struct seal_keys, rec), sizeof(k->rec)},
        {label_mac, offsetof(struct seal_keys, mac), sizeof(k->mac)},
        {label_vm, offsetof(struct seal_keys, vm), sizeof(k->vm)},
        {label_id, offsetof(struct seal_keys, id), sizeof(k->id)},
    };
    int rc = 0;
    EVP_KDF_CTX *c = kdf_new();
    if (!c) {
        return -EIO;
    }
    for (size_t i = 0; i < sizeof(subkeys) / sizeof(subkeys[0]) && rc == 0; i++) {
        rc = hkdf(c, EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, key, 32,
                  (const uint8_t *)subkeys[i].label, strlen(subkeys[i].label),
                  (uint8_t *)k + subkeys[i].off, subkeys[i].len);
    }
    EVP_KDF_CTX_free(c);
    if (rc != 0) {
        WIPE(k);
    }
    return rc;
}

static int hmac_sha256(const uint8_t key[32], const uint8_t *a, size_t alen, const uint8_t *b,
                       size_t blen, uint8_t out[32])
{
    int rc = -EIO;
    size_t outlen = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (!c || EVP_MAC_init(c, key, 32, params) != 1 || EVP_MAC_update(c, a, alen) != 1) {
        goto out;
    }
    if (blen > 0 && EVP_MAC_update(c, b, blen) != 1) {
        goto out;
    }
    if (EVP_MAC_final(c, out, &outlen, 32) != 1 || outlen != 32) {
        goto out;
    }
    rc = 0;
out:
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(mac);
    return rc;
}

int seal_header_mac(const struct seal_keys *k, const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen, uint8_t mac[SEAL_MAC_LEN])
{
    return hmac_sha256(k->mac, a, alen, b, blen, mac);
}

int seal_vm_tag(const struct seal_keys *k, const char *vm_id, uint8_t tag[SEAL_VM_TAG_LEN])
{
    uint8_t full[32];
    int rc = hmac_sha256(k->vm, (const uint8_t *)vm_id, strlen(vm_id), NULL, 0, full);
    memcpy(tag, full, SEAL_VM_TAG_LEN);
    WIPE(&full);
    return rc;
}

struct seal_ctx *seal_ctx_new(void)
{
    struct seal_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    c->aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    c->cipher = EVP_CIPHER_CTX_new();
    c->kdf = kdf_new();
    if (!c->aes || !c->cipher || !c->kdf) {
        seal_ctx_free(c);
        return NULL;
    }
    return c;
}

void seal_ctx_free(struct seal_ctx *c)
{
    if (!c) {
        return;
    }
    EVP_CIPHER_CTX_free(c->cipher); /* clears the key schedule */
    EVP_KDF_CTX_free(c->kdf);
    EVP_CIPHER_free(c->aes);
    free(c);
}

static int record_key(struct seal_ctx *c, const struct seal_keys *k,
                      const uint8_t salt[SEAL_SALT_LEN], uint8_t out[32])
{
    uint8_t info[sizeof(label_record) - 1 + SEAL_SALT_LEN];
    memcpy(info, label_record, sizeof(label_record) - 1);
    memcpy(info + sizeof(label_record) - 1, salt, SEAL_SALT_LEN);
    return hkdf(c->kdf, EVP_KDF_HKDF_MODE_EXPAND_ONLY, k->rec, sizeof(k->rec), info, sizeof(info),
                out, 32);
}

/* Start a GCM operation (enc 1 or 0) and feed the AAD. */
static int gcm_begin(struct seal_ctx *c, int enc, const uint8_t key[32],
                     const uint8_t nonce[SEAL_NONCE_LEN], const struct seal_aad *aad)
{
    int outl = 0;
    size_t vlen = strlen(aad->vm_id);
    uint8_t vlen_be[2] = {(uint8_t)(vlen >> 8), (uint8_t)vlen};
    if (EVP_CipherInit_ex2(c->cipher, c->aes, key, nonce, enc, NULL) != 1) {
        return -EIO;
    }
    if (EVP_CipherUpdate(c->cipher, NULL, &outl, aad->hdr, (int)aad->hdr_len) != 1 ||
        EVP_CipherUpdate(c->cipher, NULL, &outl, aad->rec, (int)aad->rec_len) != 1 ||
        EVP_CipherUpdate(c->cipher, NULL, &outl, vlen_be, 2) != 1 ||
        EVP_CipherUpdate(c->cipher, NULL, &outl, (const uint8_t *)aad->vm_id, (int)vlen) != 1) {
        return -EIO;
    }
    return 0;
}

int seal_record(struct seal_ctx *c, const struct seal_keys *k, const uint8_t salt[SEAL_SALT_LEN],
                const uint8_t nonce[SEAL_NONCE_LEN], const struct seal_aad *aad, const uint8_t *in,
                size_t len, uint8_t *out, uint8_t tag[SEAL_TAG_LEN])
{
    uint8_t key[32];
    int outl = 0, rc = -EIO;
    if (len > INT32_MAX) {
        return -EINVAL;
    }
    rc = record_key(c, k, salt, key);
    if (rc != 0) {
        goto out;
    }
    rc = gcm_begin(c, 1, key, nonce, aad);
    if (rc != 0) {
        goto out;
    }
    rc = -EIO;
    if (len > 0 &&
        (EVP_CipherUpdate(c->cipher, out, &outl, in, (int)len) != 1 || (size_t)outl != len)) {
        goto out;
    }
    if (EVP_CipherFinal_ex(c->cipher, out + len, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(c->cipher, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) != 1) {
        goto out;
    }
    rc = 0;
out:
    WIPE(&key);
    return rc;
}

int seal_unrecord(struct seal_ctx *c, const struct seal_keys *k, const uint8_t salt[SEAL_SALT_LEN],
                  const uint8_t nonce[SEAL_NONCE_LEN], const struct seal_aad *aad,
                  const uint8_t *in, size_t len, const uint8_t tag[SEAL_TAG_LEN], uint8_t *out)
{
    uint8_t key[32];
    uint8_t tagcopy[SEAL_TAG_LEN];
    int outl = 0, rc = -EIO;
    if (len > INT32_MAX) {
        return -EINVAL;
    }
    memcpy(tagcopy, tag, sizeof(tagcopy));
    rc = record_key(c, k, salt, key);
    if (rc != 0) {
        goto out;
    }
    rc = gcm_begin(c, 0, key, nonce, aad);
    if (rc != 0) {
        goto out;
    }
    rc = -EIO;
    if (len > 0 &&
        (EVP_CipherUpdate(c->cipher, out, &outl, in, (int)len) != 1 || (size_t)outl != len)) {
        goto out;
    }
    if (EVP_CIPHER_CTX_ctrl(c->cipher, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tagcopy) != 1) {
        goto out;
    }
    /* Final compares the tag in constant time; nothing decrypted is used before it passes. */
    if (EVP_CipherFinal_ex(c->cipher, out + len, &outl) != 1) {
        rc = -EBADMSG;
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        secret_wipe(out, len);
    }
    WIPE(&key);
    return rc;
}

int seal_random(uint8_t *p, size_t n)
{
    return RAND_bytes(p, (int)n) == 1 ? 0 : -EIO;
}

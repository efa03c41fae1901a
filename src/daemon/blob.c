/* vtpmd's state blobs (see blob.h): the format and its AES-256-GCM sealing. */
#include "blob.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/rw.h"
#include "common/secret.h"

static const char *const blob_layer_label[3] = {
    [BLOB_MIGRATION] = "vtpmd state blob v1 migration key",
    [BLOB_STATE] = "vtpmd state blob v1 state key",
};
static const char blob_record_label[] = "vtpmd state blob v1";

static void blob_say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void blob_say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* HKDF-SHA256 (RFC 5869), extract and expand; salt may be NULL. 0 or -EIO. */
static int blob_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                     const char *info, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[5];
    size_t n = 0;
    int rc = -EIO;

    EVP_KDF_free(kdf);
    if (!c) {
        return -EIO;
    }
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt) {
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    }
    params[n++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    params[n] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(c, out, out_len, params) == 1) {
        rc = 0;
    }
    EVP_KDF_CTX_free(c);
    return rc;
}

int blob_key_set(struct blob_keys *k, enum blob_seal seal, const uint8_t raw[32])
{
    if (seal != BLOB_MIGRATION && seal != BLOB_STATE) {
        return -EINVAL;
    }
    if (blob_hkdf(raw, 32, NULL, 0, blob_layer_label[seal], k->key[seal], 32) != 0) {
        secret_wipe(k->key[seal], 32);
        k->has[seal] = false;
        return -EIO;
    }
    k->has[seal] = true;
    return 0;
}

size_t blob_encoded_len(enum blob_seal seal, size_t len)
{
    return BLOB_HDR_LEN + len + (seal == BLOB_PLAIN ? 0 : BLOB_SEALED_OVERHEAD);
}

/* The additional data: header, salt and nonce (in[0..48)), then the VM id. */
static int blob_aad(EVP_CIPHER_CTX *c, bool enc, const uint8_t *head, const char *vm_id)
{
    uint8_t len[2];
    size_t n = strlen(vm_id);
    int outl;
    len[0] = (uint8_t)(n >> 8);
    len[1] = (uint8_t)n;
    int (*update)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int) =
        enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;
    return update(c, NULL, &outl, head, (int)(BLOB_HDR_LEN + BLOB_SALT_LEN + BLOB_NONCE_LEN)) ==
                       1 &&
                   update(c, NULL, &outl, len, 2) == 1 &&
                   (n == 0 || update(c, NULL, &outl, (const uint8_t *)vm_id, (int)n) == 1)
               ? 0
               : -EIO;
}

/*
 * Seal (enc) or open one blob body in place of out: head is the blob's first 48 bytes, in the
 * len bytes of input, tag the 16-byte tag (written when sealing, checked when opening).
 */
static int blob_crypt(bool enc, const uint8_t layer[32], const uint8_t *head, const char *vm_id,
                      const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    uint8_t key[32];
    EVP_CIPHER_CTX *c = NULL;
    const uint8_t *salt = head + BLOB_HDR_LEN;
    const uint8_t *nonce = salt + BLOB_SALT_LEN;
    int outl, rc = -EIO;

    if (len > INT32_MAX) {
        return -EINVAL;
    }
    if (blob_hkdf(layer, 32, salt, BLOB_SALT_LEN, blob_record_label, key, sizeof(key)) != 0) {
        goto out;
    }
    c = EVP_CIPHER_CTX_new();
    if (!c) {
        goto out;
    }
    if (enc) {
        if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
            blob_aad(c, true, head, vm_id) != 0 ||
            (len > 0 && EVP_EncryptUpdate(c, out, &outl, in, (int)len) != 1) ||
            EVP_EncryptFinal_ex(c, out + len, &outl) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, BLOB_TAG_LEN, tag) != 1) {
            goto out;
        }
    } else {
        if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
            blob_aad(c, false, head, vm_id) != 0 ||
            (len > 0 && EVP_DecryptUpdate(c, out, &outl, in, (int)len) != 1) ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, BLOB_TAG_LEN, tag) != 1) {
            goto out;
        }
        if (EVP_DecryptFinal_ex(c, out + len, &outl) != 1) {
            secret_wipe(out, len);
            rc = -EBADMSG;
            goto out;
        }
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    secret_wipe(key, sizeof(key));
    return rc;
}

size_t blob_encode(uint16_t type, enum blob_seal seal, const struct blob_keys *k, const char *vm_id,
                   const uint8_t *state, size_t len, uint8_t *out, size_t cap)
{
    size_t total = blob_encoded_len(seal, len);
    struct wr w;

    if ((seal != BLOB_PLAIN && (seal > BLOB_STATE || !k || !k->has[seal])) || total > cap ||
        len > UINT32_MAX) {
        return 0;
    }
    wr_init(&w, out, cap);
    wr_bytes(&w, BLOB_MAGIC, 8);
    wr_u16(&w, BLOB_VERSION);
    wr_u16(&w, type);
    wr_u16(&w, (uint16_t)seal);
    wr_u16(&w, 0);
    wr_u32(&w, (uint32_t)len);
    if (w.err) {
        return 0;
    }
    if (seal == BLOB_PLAIN) {
        wr_bytes(&w, state, len);
        return w.err ? 0 : w.off;
    }
    if (RAND_bytes(out + BLOB_HDR_LEN, (int)(BLOB_SALT_LEN + BLOB_NONCE_LEN)) != 1) {
        return 0;
    }
    uint8_t *body = out + BLOB_HDR_LEN + BLOB_SALT_LEN + BLOB_NONCE_LEN;
    if (blob_crypt(true, k->key[seal], out, vm_id, state, len, body, body + len) != 0) {
        secret_wipe(out, total);
        return 0;
    }
    return total;
}

int blob_decode(const uint8_t *in, size_t in_len, uint16_t want_type, const struct blob_keys *k,
                const char *vm_id, struct tpm_buf *out, enum blob_seal *seal, char *err,
                size_t errlen)
{
    static const char *const type_name[] = {"?", "permanent", "volatile", "savestate"};
    struct rd r;
    uint8_t magic[8];
    uint16_t version, type, sealing, reserved;
    uint32_t len;
    const uint8_t *body;
    int rc;

    memset(out, 0, sizeof(*out));
    rd_init(&r, in, in_len);
    if (!rd_bytes(&r, magic, sizeof(magic)) || memcmp(magic, BLOB_MAGIC, 8) != 0) {
        blob_say(err, errlen, "not a vtpmd state blob (no %s magic)", BLOB_MAGIC);
        return -EINVAL;
    }
    if (!rd_u16(&r, &version) || !rd_u16(&r, &type) || !rd_u16(&r, &sealing) ||
        !rd_u16(&r, &reserved) || !rd_u32(&r, &len)) {
        blob_say(err, errlen, "the state blob is truncated (%zu bytes, shorter than its header)",
                 in_len);
        return -EINVAL;
    }
    if (version != BLOB_VERSION) {
        blob_say(err, errlen, "state blob format version %u is not supported (this vtpmd reads %u)",
                 version, BLOB_VERSION);
        return -EINVAL;
    }
    if (type != want_type) {
        blob_say(err, errlen, "the blob holds the %s state, not the %s state",
                 type < 4 ? type_name[type] : "unknown",
                 want_type < 4 ? type_name[want_type] : "unknown");
        return -EINVAL;
    }
    if (sealing > BLOB_STATE || reserved != 0) {
        blob_say(err, errlen, "the state blob header is invalid (sealing %u, reserved %u)", sealing,
                 reserved);
        return -EINVAL;
    }
    /* The length is checked against what is there before anything is allocated for it. */
    size_t want = blob_encoded_len((enum blob_seal)sealing, len);
    if (len > BLOB_MAX || in_len != want) {
        blob_say(err, errlen, "the state blob is %zu bytes, but its header says %zu", in_len,
                 len > BLOB_MAX ? (size_t)len : want);
        return -EINVAL;
    }
    if (sealing != BLOB_PLAIN && (!k || !k->has[sealing])) {
        blob_say(err, errlen, "the state blob is sealed under a %s and this vtpmd has none",
                 sealing == BLOB_MIGRATION ? "migration key (--migration-key)"
                                           : "state key (--key)");
        return -EINVAL;
    }
    out->data = malloc(len ? len : 1);
    if (!out->data) {
        blob_say(err, errlen, "out of memory for a %u-byte state blob", len);
        return -ENOMEM;
    }
    out->cap = len ? len : 1;
    if (sealing == BLOB_PLAIN) {
        (void)rd_ptr(&r, len, &body);
        memcpy(out->data, body, len);
    } else {
        const uint8_t *salt_nonce, *tag;
        (void)rd_ptr(&r, BLOB_SALT_LEN + BLOB_NONCE_LEN, &salt_nonce);
        (void)rd_ptr(&r, len, &body);
        (void)rd_ptr(&r, BLOB_TAG_LEN, &tag);
        rc = blob_crypt(false, k->key[sealing], in, vm_id, body, len, out->data, (uint8_t *)tag);
        if (rc != 0) {
            tpm_buf_free(out);
            if (rc == -EBADMSG) {
                blob_say(err, errlen,
                         "the state blob does not verify: sealed under another %s, for another "
                         "VM id, or changed",
                         sealing == BLOB_MIGRATION ? "migration key" : "key");
            } else {
                blob_say(err, errlen, "the state blob could not be decrypted (OpenSSL failure)");
            }
            return rc;
        }
    }
    out->len = len;
    *seal = (enum blob_seal)sealing;
    return 0;
}

/*
 * The vTPM file's cryptography (docs/STATE-FORMAT.md "Keys" and "Sealing"): subkeys derived
 * from the data key with HKDF-SHA256 (RFC 5869), the header MAC and VM tag (HMAC-SHA256),
 * and AES-256-GCM (NIST SP 800-38D) records under a per-record key. OpenSSL 3 EVP only; the
 * store's other files do not include OpenSSL.
 */
#ifndef VTPM_STORE_SEAL_H
#define VTPM_STORE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_SALT_LEN 16
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_MAC_LEN 32
#define SEAL_VM_TAG_LEN 16
#define SEAL_KEY_ID_LEN 16

/* Everything derived from one data key. Secret except id; wipe with WIPE(). */
struct seal_keys {
    uint8_t rec[32]; /* record key-derivation key (HKDF PRK) */
    uint8_t mac[32]; /* header MAC key */
    uint8_t vm[32];  /* VM tag key */
    uint8_t id[SEAL_KEY_ID_LEN];
};

/* Derive all subkeys from a 32-byte data key. 0 or -EIO. */
int seal_derive(const uint8_t key[32], struct seal_keys *k);

/* HMAC-SHA256(k->mac, a || b), the header MAC. 0 or -EIO. */
int seal_header_mac(const struct seal_keys *k, const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen, uint8_t mac[SEAL_MAC_LEN]);

/* First 16 bytes of HMAC-SHA256(k->vm, vm_id). 0 or -EIO. */
int seal_vm_tag(const struct seal_keys *k, const char *vm_id, uint8_t tag[SEAL_VM_TAG_LEN]);

/* The additional authenticated data of one record, in this order. */
struct seal_aad {
    const uint8_t *hdr; /* the file header */
    size_t hdr_len;
    const uint8_t *rec; /* the record's own header */
    size_t rec_len;
    const char *vm_id; /* fed as u16 length || bytes */
};

/* A reusable cipher context (one per store), so that a commit allocates nothing. */
struct seal_ctx;
struct seal_ctx *seal_ctx_new(void);
void seal_ctx_free(struct seal_ctx *c);

/*
 * Encrypt len bytes of in into out (same length; may not overlap) under the record key
 * HKDF-Expand(k->rec, label || salt) and nonce, binding aad; write the tag. 0 or -EIO.
 */
int seal_record(struct seal_ctx *c, const struct seal_keys *k, const uint8_t salt[SEAL_SALT_LEN],
                const uint8_t nonce[SEAL_NONCE_LEN], const struct seal_aad *aad, const uint8_t *in,
                size_t len, uint8_t *out, uint8_t tag[SEAL_TAG_LEN]);

/*
 * Decrypt and verify. On a tag mismatch returns -EBADMSG and wipes out; -EIO on an OpenSSL
 * failure. out must hold len bytes.
 */
int seal_unrecord(struct seal_ctx *c, const struct seal_keys *k, const uint8_t salt[SEAL_SALT_LEN],
                  const uint8_t nonce[SEAL_NONCE_LEN], const struct seal_aad *aad,
                  const uint8_t *in, size_t len, const uint8_t tag[SEAL_TAG_LEN], uint8_t *out);

/* Fill p with n bytes from OpenSSL's DRBG. 0 or -EIO. */
int seal_random(uint8_t *p, size_t n);

#endif

/*
 * The state blobs of swtpm's CMD_GET_STATEBLOB / CMD_SET_STATEBLOB (swtpm-protocol.md §2.2,
 * QEMU's migration stream), in vtpmd's own format (docs/vtpmd.md "State blobs"):
 *
 *   offset 0   8  magic "VTPMBLOB"
 *          8   2  version (1)
 *         10   2  type: 1 permanent, 2 volatile (swtpm's PTM_BLOB_TYPE_*)
 *         12   2  sealing: 0 none, 1 migration key, 2 state key
 *         14   2  reserved, 0
 *         16   4  length L of the engine's state (tpm_state_save)
 *   sealing 0:  20  L  the state
 *   sealing 1,2: 20 16 salt, 36 12 nonce, 48 L ciphertext, 48+L 16 GCM tag
 *
 * Sealed blobs use AES-256-GCM (NIST SP 800-38D) under a key of their own:
 * HKDF-SHA256(IKM = the layer key, salt = the blob's salt, info = "vtpmd state blob v1"),
 * where the layer key is HKDF-SHA256(IKM = --migration-key or --key, info = its label).
 * The additional data is bytes 0..48 (header, salt, nonce) and the VM id (be16 length, bytes):
 * a sealed blob is refused by a vtpmd with another key, for another VM id, or as the other
 * type. Pure functions on memory: the parser of untrusted bytes is fuzz/fuzz_blob.c's target.
 */
#ifndef VTPMD_BLOB_H
#define VTPMD_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vtpm/tpm.h"

#define BLOB_MAGIC "VTPMBLOB"
#define BLOB_VERSION 1
#define BLOB_HDR_LEN 20u
#define BLOB_SALT_LEN 16u
#define BLOB_NONCE_LEN 12u
#define BLOB_TAG_LEN 16u
#define BLOB_SEALED_OVERHEAD (BLOB_SALT_LEN + BLOB_NONCE_LEN + BLOB_TAG_LEN)
/* Largest blob over the control channel, either way (as swtpm's newest versions). */
#define BLOB_MAX (512u * 1024u)

/* swtpm's PTM_BLOB_TYPE_* */
#define BLOB_TYPE_PERMANENT 1u
#define BLOB_TYPE_VOLATILE 2u
#define BLOB_TYPE_SAVESTATE 3u

enum blob_seal {
    BLOB_PLAIN = 0,
    BLOB_MIGRATION = 1, /* sealed under --migration-key */
    BLOB_STATE = 2,     /* sealed under --key (a GET_STATEBLOB without the DECRYPTED flag) */
};

/* The layer keys this vtpmd holds (derived: the raw keys are not kept). Wipe with WIPE(). */
struct blob_keys {
    bool has[3];        /* indexed by enum blob_seal; has[BLOB_PLAIN] is unused */
    uint8_t key[3][32]; /* the layer keys */
};

/* Derive the layer key of seal (BLOB_MIGRATION or BLOB_STATE) from a raw key into k. 0 or -EIO. */
int blob_key_set(struct blob_keys *k, enum blob_seal seal, const uint8_t raw[32]);

/* The encoded length of a state of len bytes. */
size_t blob_encoded_len(enum blob_seal seal, size_t len);

/*
 * Encode state (len bytes) as a blob of type under seal (the key must be held) into out
 * (cap bytes, at least blob_encoded_len). Returns the length, or 0 when it does not fit, the
 * key is missing or sealing failed.
 */
size_t blob_encode(uint16_t type, enum blob_seal seal, const struct blob_keys *k, const char *vm_id,
                   const uint8_t *state, size_t len, uint8_t *out, size_t cap);

/*
 * Decode a blob of in_len bytes that must be of type want_type. On success out holds the
 * state (the caller frees it with tpm_buf_free, which wipes) and *seal how it was sealed.
 * Refusals (one sentence in err, out left empty):
 *   -EINVAL   not a vtpmd state blob, another type, a bad header, a length that does not add
 *             up, a sealing this vtpmd holds no key for
 *   -EBADMSG  sealed under another key, for another VM id, or changed
 *   -ENOMEM, -EIO (OpenSSL failure)
 */
int blob_decode(const uint8_t *in, size_t in_len, uint16_t want_type, const struct blob_keys *k,
                const char *vm_id, struct tpm_buf *out, enum blob_seal *seal, char *err,
                size_t errlen);

#endif

/*
 * Keys of vtpmctl: the host key-encryption key (KEK) and each vTPM's data key.
 *
 * Each vTPM file is sealed under its own 256-bit data key, made fresh at create-vms from
 * OpenSSL's private DRBG. The registry keeps that key only wrapped under the host KEK:
 * AES-256-GCM with a random 96-bit nonce, and the VM id and vTPM id bound in as additional
 * authenticated data, so a wrapped key copied to another VM's row does not unwrap.
 *
 *   wrapped key (61 bytes) = version (1, 0x01) | nonce (12) | ciphertext (32) | tag (16)
 *   AAD = "vtpmctl/wrap/v1" NUL | VM id | NUL | vTPM id (16 bytes)
 *
 * The KEK is 32 random bytes in a file of the data dir (mode 0600, owned by the user who runs
 * vtpmctl), made on first use. Its id (the first 8 bytes of SHA-256("vtpmctl/kek-id/v1" |
 * KEK), in hex) is recorded in the registry so that a replaced or foreign KEK is named as
 * such instead of failing as "corrupt". Unwrapped keys live only in memory, are wiped as soon
 * as they are handed over, and are never printed, logged or put on a command line.
 */
#ifndef VTPM_CTL_KEYS_H
#define VTPM_CTL_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl/err.h"

#define CTL_KEY_LEN 32
#define CTL_VTPM_ID_LEN 16
#define CTL_WRAP_NONCE_LEN 12
#define CTL_WRAP_TAG_LEN 16
#define CTL_WRAPPED_LEN (1 + CTL_WRAP_NONCE_LEN + CTL_KEY_LEN + CTL_WRAP_TAG_LEN)
#define CTL_KEK_ID_HEX 16

struct ctl_kek {
    uint8_t key[CTL_KEY_LEN];
    char id[CTL_KEK_ID_HEX + 1];
};

/*
 * Load the KEK from path into k. When the file does not exist and create is true, make it
 * (32 random bytes written to a temporary file, synced, then linked into place so that two
 * vtpmctl making it at once end with the same key) and sync its folder. Refused: a file that
 * is not a regular file, a symbolic link, not owned by the effective user, readable or
 * writable by group or others, or not exactly 32 bytes. Returns 0, or -1 with e set
 * (CTL_E_KEY; CTL_E_DATA_DIR when the folder is not writable). k is wiped on failure.
 */
int kek_load(const char *path, bool create, struct ctl_kek *k, struct ctl_err *e);

/* Wipe a KEK (its key bytes and id). */
void kek_wipe(struct ctl_kek *k);

/* The id of a KEK, as kek_load fills k->id. Returns 0 or -1 (OpenSSL failure). */
int kek_id(const uint8_t key[CTL_KEY_LEN], char id[CTL_KEK_ID_HEX + 1]);

/* Fill out with n bytes from OpenSSL's private DRBG (keys) or public DRBG (ids). */
int key_random_private(uint8_t *out, size_t n, struct ctl_err *e);
int key_random_public(uint8_t *out, size_t n, struct ctl_err *e);

/*
 * Wrap a data key for the vTPM vtpm_id of VM vm_id. out receives CTL_WRAPPED_LEN bytes.
 * Returns 0 or -1 (CTL_E_INTERNAL). Nothing secret remains in memory it allocated.
 */
int key_wrap(const struct ctl_kek *k, const char *vm_id, const uint8_t vtpm_id[CTL_VTPM_ID_LEN],
             const uint8_t key[CTL_KEY_LEN], uint8_t out[CTL_WRAPPED_LEN], struct ctl_err *e);

/*
 * Unwrap a wrapped key (len bytes, from the registry: untrusted length and content) for
 * vm_id / vtpm_id into key. Refused with CTL_E_KEY: a length or version other than the
 * format above, or an authentication failure (another KEK, another VM or vTPM, a changed
 * byte); key is then wiped. Returns 0 or -1.
 */
int key_unwrap(const struct ctl_kek *k, const char *vm_id, const uint8_t vtpm_id[CTL_VTPM_ID_LEN],
               const uint8_t *wrapped, size_t len, uint8_t key[CTL_KEY_LEN], struct ctl_err *e);

#endif

/*
 * vtpmd's keys (--key, --migration-key): read the key material from a descriptor or a file
 * as swtpm(8) describes, check it, and turn it into a 256-bit key.
 *
 * A key is never taken from the command line and never logged. Key files must be regular
 * files of mode 0600 or 0400 owned by vtpmd's effective user (others are refused unread).
 * Descriptors are read to end of file (at most KEY_INPUT_MAX bytes, within
 * KEY_READ_TIMEOUT_MS) and closed. Every buffer that held key bytes is wiped.
 *
 * Key forms: 32 raw bytes or 64 hexadecimal digits (an optional newline after them);
 * format=binary and format=hex insist on one of the two. Passphrases (pwdfd=, pwdfile=; one
 * trailing newline is dropped) become the key through PBKDF2-HMAC-SHA512 (KEY_PBKDF2_ITER
 * iterations, salt KEY_PBKDF2_SALT) or, with kdf=sha512, the first 32 bytes of SHA-512.
 */
#ifndef VTPMD_KEYS_H
#define VTPMD_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "opts.h"

#define KEY_LEN 32
#define KEY_INPUT_MAX 4096
#define KEY_READ_TIMEOUT_MS 10000
#define KEY_PBKDF2_ITER 100000
#define KEY_PBKDF2_SALT "vtpmd passphrase key v1"

/*
 * Read and derive the key ko describes into key. opt names the option for messages
 * ("--key"). Returns 0, or -1 with one sentence in err (the key bytes never appear in it);
 * key is wiped on failure. A descriptor is closed in both cases; a file with remove is
 * unlinked once read.
 */
int key_load(const struct key_opts *ko, const char *opt, uint8_t key[KEY_LEN], char *err,
             size_t errlen);

/*
 * The key of a passphrase of len bytes (the derivation alone, for tests). Returns 0 or -1
 * (OpenSSL failure).
 */
int key_from_passphrase(const uint8_t *pass, size_t len, enum key_kdf kdf, uint8_t key[KEY_LEN]);

#endif

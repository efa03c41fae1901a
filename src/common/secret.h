/*
 * The one wipe and the one constant-time compare, used on every secret vtpm holds
 * (authValues, seeds, keys, HMACs, policy digests, tickets).
 */
#ifndef VTPM_COMMON_SECRET_H
#define VTPM_COMMON_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Overwrite n bytes so that the compiler cannot drop the store (OPENSSL_cleanse). */
void secret_wipe(void *p, size_t n);

/* Equality of two n-byte buffers in time that depends on n only (CRYPTO_memcmp). */
bool secret_eq(const void *a, const void *b, size_t n);

/*
 * For the engine's large tables (sessions, objects, the persistent state), most of whose
 * slots stay unused: the same results as secret_wipe and memcpy, but a 4 KiB page of the
 * destination that holds only zeros and would receive only zeros is not written, so it
 * costs the process no memory (an anonymous page is private only once written). Whether a
 * page is all zero is found in time that depends on its length only.
 */
void secret_wipe_sparse(void *p, size_t n);
void copy_sparse(void *dst, const void *src, size_t n);

/* Wipe a whole object: WIPE(&key) */
#define WIPE(ptr) secret_wipe((ptr), sizeof(*(ptr)))

#endif

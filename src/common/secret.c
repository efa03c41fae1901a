/* Secret wipe and constant-time compare (see secret.h). */
#include "secret.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <string.h>

#define PAGE 4096u

void secret_wipe(void *p, size_t n)
{
    if (p && n) {
        OPENSSL_cleanse(p, n);
    }
}

bool secret_eq(const void *a, const void *b, size_t n)
{
    return n == 0 || CRYPTO_memcmp(a, b, n) == 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

/* The length of the piece of [p, p + n) up to the next page boundary. */
static size_t to_page_end(const uint8_t *p, size_t n)
{
    size_t room = PAGE - (size_t)((uintptr_t)p % PAGE);
    return room < n ? room : n;
}

void secret_wipe_sparse(void *p, size_t n)
{
    for (uint8_t *d = p; n > 0;) {
        size_t k = to_page_end(d, n);
        if (!all_zero(d, k)) {
            secret_wipe(d, k);
        }
        d += k;
        n -= k;
    }
}

void copy_sparse(void *dst, const void *src, size_t n)
{
    const uint8_t *s = src;
    for (uint8_t *d = dst; n > 0;) {
        size_t k = to_page_end(d, n);
        if (!all_zero(s, k) || !all_zero(d, k)) {
            memcpy(d, s, k);
        }
        d += k;
        s += k;
        n -= k;
    }
}

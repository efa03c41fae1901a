/* Secret wipe and constant-time compare (see secret.h). */
#include "secret.h"

#include <openssl/crypto.h>

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

/*
 * The engine's key-derivation and cipher helpers against known answers computed with an
 * independent implementation (Python's hmac/hashlib, noted per vector) and OpenSSL's
 * command line for AES.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tpm/crypto.h"
#include "tpmtest.h"

static void kdfa_known_answers(void **state)
{
    (void)state;
    uint8_t key[32], u[16], v[16], out[32], want[32];
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
    }
    memset(u, 0xAA, sizeof(u));
    memset(v, 0xBB, sizeof(v));
    /* Python: KDFa(sha256, bytes(range(32)), "ATH", 0xaa*16, 0xbb*16, 256) */
    assert_true(crypto_kdfa(TPM_ALG_SHA256, key, 32, "ATH", u, 16, v, 16, 256, out));
    tt_hex("15ad5cd3f0d8b734a9350138ff782ffe62c0eecbaa908f3035c3d9ced21ac7e0", want, 32);
    assert_memory_equal(out, want, 32);
    /* Python: KDFa(sha1, "key", "XOR", 01, 02, 100): 13 octets, top 4 bits cleared */
    uint8_t u1 = 1, v1 = 2;
    assert_true(crypto_kdfa(TPM_ALG_SHA1, (const uint8_t *)"key", 3, "XOR", &u1, 1, &v1, 1, 100,
                            out));
    tt_hex("0f8f9a7a826a163a6671421407", want, 13);
    assert_memory_equal(out, want, 13);
    assert_false(crypto_kdfa(TPM_ALG_NULL, key, 32, "ATH", u, 16, v, 16, 256, out));
}

static void kdfe_known_answer(void **state)
{
    (void)state;
    uint8_t z[32], u[32], v[32], out[32], want[32];
    memset(z, 0x11, sizeof(z));
    memset(u, 0x22, sizeof(u));
    memset(v, 0x33, sizeof(v));
    /* Python: sha256(counter || Z || "SECRET\0" || U || V) */
    assert_true(crypto_kdfe(TPM_ALG_SHA256, z, 32, "SECRET", u, 32, v, 32, 256, out));
    tt_hex("99a86499d6542b6d5aaece21270df5f68372917b988146068ee79daeebe28427", want, 32);
    assert_memory_equal(out, want, 32);
}

static void aes_cfb_known_answer_and_round_trip(void **state)
{
    (void)state;
    /* NIST SP 800-38A F.3.13 CFB128-AES128.Encrypt, first block */
    uint8_t key[16], iv[16], pt[16], ct[16], want[16];
    tt_hex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    tt_hex("000102030405060708090a0b0c0d0e0f", iv, 16);
    tt_hex("6bc1bee22e409f96e93d7e117393172a", pt, 16);
    tt_hex("3b3fd92eb72dad20333449f8e83cfb4a", want, 16);
    assert_true(crypto_sym(TPM_ALG_AES, 128, TPM_ALG_CFB, true, key, iv, pt, ct, 16));
    assert_memory_equal(ct, want, 16);
    /* decrypting a partial block in place restores the plaintext */
    uint8_t buf[13];
    memcpy(buf, pt, 13);
    tt_hex("000102030405060708090a0b0c0d0e0f", iv, 16);
    assert_true(crypto_sym(TPM_ALG_AES, 128, TPM_ALG_CFB, true, key, iv, buf, buf, 13));
    assert_memory_equal(buf, want, 13);
    tt_hex("000102030405060708090a0b0c0d0e0f", iv, 16);
    assert_true(crypto_sym(TPM_ALG_AES, 128, TPM_ALG_CFB, false, key, iv, buf, buf, 13));
    assert_memory_equal(buf, pt, 13);
    /* CBC needs whole blocks; unknown key sizes are refused */
    assert_false(crypto_sym(TPM_ALG_AES, 128, TPM_ALG_CBC, true, key, iv, pt, ct, 13));
    assert_false(crypto_sym(TPM_ALG_AES, 100, TPM_ALG_CFB, true, key, iv, pt, ct, 16));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kdfa_known_answers),
        cmocka_unit_test(kdfe_known_answer),
        cmocka_unit_test(aes_cfb_known_answer_and_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

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
#include <openssl/bn.h>

#include "tpm/crypto.h"
#include "tpm/crypto_asym.h"
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

/* 2^bits - 1, big-endian in len bytes */
static void mersenne(unsigned bits, uint8_t *out, size_t len)
{
    memset(out, 0, len);
    for (unsigned i = 0; i < bits; i++) {
        out[len - 1 - i / 8] |= (uint8_t)(1u << (i % 8));
    }
}

static void probable_prime_separates_primes_from_composites(void **state)
{
    (void)state;
    uint8_t buf[66];
    /* Mersenne primes M127 and M521 */
    mersenne(127, buf, 16);
    assert_int_equal(crypto_probable_prime(buf, 16), 1);
    mersenne(521, buf, 66);
    assert_int_equal(crypto_probable_prime(buf, 66), 1);
    /* the Carmichael number 561 = 3 * 11 * 17 fools Fermat but not Miller-Rabin (under 2% liars) */
    uint8_t carmichael[8] = {0, 0, 0, 0, 0, 0, 0x02, 0x31};
    assert_int_equal(crypto_probable_prime(carmichael, sizeof(carmichael)), 0);
    /* F7 = 2^128 + 1 = 59649589127497217 * 5704689200685129054721 */
    memset(buf, 0, 17);
    buf[0] = 1;
    buf[16] = 1;
    assert_int_equal(crypto_probable_prime(buf, 17), 0);
    /* M127 * M89: a product of two large primes */
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *a = BN_new(), *b = BN_new();
    assert_non_null(bn);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(BN_set_bit(a, 127) && BN_sub_word(a, 1) && BN_set_bit(b, 89) && BN_sub_word(b, 1));
    assert_true(BN_mul(a, a, b, bn));
    assert_int_equal(BN_bn2binpad(a, buf, 27), 27);
    assert_int_equal(crypto_probable_prime(buf, 27), 0);
    BN_free(a);
    BN_free(b);
    BN_CTX_free(bn);
    /* even numbers, and lengths out of range */
    mersenne(127, buf, 16);
    buf[15] ^= 1;
    assert_int_equal(crypto_probable_prime(buf, 16), 0);
    assert_int_equal(crypto_probable_prime(buf, 7), -1);
    assert_int_equal(crypto_probable_prime(buf, 513), -1);
}

/* A deterministic candidate source: KDFa(SHA-256) over a counter, as a primary seed would be */
static bool counter_source(void *ctx, uint8_t *out, size_t len)
{
    uint32_t *counter = ctx;
    static const uint8_t seed[32] = {1, 2, 3};
    while (len > 0) {
        uint8_t block[32], ctr[4] = {(uint8_t)(*counter >> 24), (uint8_t)(*counter >> 16),
                                      (uint8_t)(*counter >> 8), (uint8_t)*counter};
        (*counter)++;
        if (!crypto_kdfa(TPM_ALG_SHA256, seed, 32, "PRIME", ctr, 4, NULL, 0, 256, block)) {
            return false;
        }
        size_t take = len < 32 ? len : 32;
        memcpy(out, block, take);
        out += take;
        len -= take;
    }
    return true;
}

static void rsa_generate_is_deterministic_and_prime(void **state)
{
    (void)state;
    static const uint16_t sizes[] = {1024, 2048};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint16_t bits = sizes[k];
        uint8_t n[256], p[128], n2[256], p2[128];
        uint32_t c1 = 0, c2 = 0;
        assert_true(crypto_rsa_generate(bits, 65537, counter_source, &c1, n, p));
        assert_true(crypto_rsa_generate(bits, 65537, counter_source, &c2, n2, p2));
        assert_memory_equal(n, n2, bits / 8);
        assert_memory_equal(p, p2, bits / 16);
        BN_CTX *bn = BN_CTX_new();
        BIGNUM *bn_n = BN_bin2bn(n, bits / 8, NULL), *bn_p = BN_bin2bn(p, bits / 16, NULL);
        BIGNUM *q = BN_new(), *rem = BN_new();
        assert_true(bn && bn_n && bn_p && q && rem);
        assert_int_equal(BN_num_bits(bn_n), bits);
        assert_int_equal(BN_num_bits(bn_p), bits / 2);
        assert_true(BN_div(q, rem, bn_n, bn_p, bn));
        assert_true(BN_is_zero(rem));
        assert_int_equal(BN_num_bits(q), bits / 2);
        assert_int_equal(BN_cmp(q, bn_p) != 0, 1);
        /* OpenSSL's own test, independent of ours */
        assert_int_equal(BN_check_prime(bn_p, bn, NULL), 1);
        assert_int_equal(BN_check_prime(q, bn, NULL), 1);
        BN_free(bn_n);
        BN_free(bn_p);
        BN_free(q);
        BN_free(rem);
        BN_CTX_free(bn);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kdfa_known_answers),
        cmocka_unit_test(kdfe_known_answer),
        cmocka_unit_test(aes_cfb_known_answer_and_round_trip),
        cmocka_unit_test(probable_prime_separates_primes_from_composites),
        cmocka_unit_test(rsa_generate_is_deterministic_and_prime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

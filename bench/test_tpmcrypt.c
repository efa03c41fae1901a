/*
 * Unit tests of the benchmark client's cryptography (bench/tpmcrypt.c) against known answers
 * computed with an independent implementation, Python's `cryptography` 38 (Debian 12):
 *   KDFa   KBKDFHMAC(SHA256, CounterMode, rlen=4, llen=4, BeforeFixed, label, context=u||v)
 *   KDFe   ConcatKDFHash(SHA256, otherinfo = label || 0x00 || u || v)
 *   salt   ec.derive_private_key(0x0707..07) as the TPM key, 0x0909..09 as the ephemeral key,
 *          ECDH, then the ConcatKDFHash above with "SECRET", ephemeral x, TPM key x
 *   ECDSA  the 0x0707..07 key signing the digest 00 01 .. 1f (utils.Prehashed(SHA256))
 * and round trips through OpenSSL's own RSA for the RSA helpers. Malformed inputs (points off
 * the curve, scalars out of range, bad lengths) are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/rsa.h>

#include "tpmcrypt.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = h[2 * i + k];
            v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        out[i] = (uint8_t)v;
    }
    assert_int_equal(strlen(h), 2 * n);
}

static const char *const SX = "1e18532fd4754c02f3041d9c75ceb33b83ffd81ac7ce4fe882ccb1c98bc5896e";
static const char *const SY = "a46c311c4e2ff40dd96a3653e6e45445d32dfe486eced75c7a90c6a18881c0a3";

static void test_kdfa(void **state)
{
    uint8_t key[32];
    uint8_t u[32];
    uint8_t v[32];
    uint8_t out[64];
    uint8_t want[64];
    (void)state;

    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
    }
    memset(u, 0x33, sizeof(u));
    memset(v, 0x22, sizeof(v));
    assert_int_equal(bcrypt_kdfa(key, 32, "ATH", u, 32, v, 32, 256, out), 0);
    unhex("40c22cbd0c06f666dceca784f8d246c185ba5b7bae71abda16db33363d714000", want, 32);
    assert_memory_equal(out, want, 32);
    /* two blocks: [bits] is 512 in both, the counter 1 then 2 */
    assert_int_equal(bcrypt_kdfa(key, 32, "ATH", u, 32, v, 32, 512, out), 0);
    unhex("3f857c08c96c66af699fa05a1f0aa32dc8a32141c23aa7eb5097e71e4c269273"
          "316cf8284d585f5a1ab50240419c9f22f6e0bfe0bf6ba2fd0035f3d3742b6b5d", want, 64);
    assert_memory_equal(out, want, 64);
    assert_int_equal(bcrypt_kdfa(key, 32, "ATH", u, 32, v, 32, 0, out), -1);
    assert_int_equal(bcrypt_kdfa(key, 32, "ATH", u, 32, v, 32, 255, out), -1);
    assert_int_equal(bcrypt_kdfa(key, 32, "ATH", u, 32, v, 32, 4096, out), -1);
}

static void test_kdfe(void **state)
{
    uint8_t z[32];
    uint8_t u[32];
    uint8_t v[32];
    uint8_t out[48];
    uint8_t want[48];
    (void)state;

    for (int i = 0; i < 32; i++) {
        z[i] = (uint8_t)(100 + i);
    }
    memset(u, 0x33, sizeof(u));
    memset(v, 0x22, sizeof(v));
    assert_int_equal(bcrypt_kdfe(z, 32, "SECRET", u, 32, v, 32, 256, out), 0);
    unhex("06abc2355ab07d89366fcd51293be607d0a5f0e0826a458b5db0eecf7f4d4237", want, 32);
    assert_memory_equal(out, want, 32);
    assert_int_equal(bcrypt_kdfe(z, 32, "SECRET", u, 32, v, 32, 384, out), 0);
    unhex("06abc2355ab07d89366fcd51293be607d0a5f0e0826a458b5db0eecf7f4d4237"
          "6e9324f8aa0cc3dfde4e475398b86f64", want, 48);
    assert_memory_equal(out, want, 48);
    assert_int_equal(bcrypt_kdfe(z, 32, "SECRET", u, 32, v, 32, 12, out), -1);
}

static void test_ecc_salt(void **state)
{
    uint8_t qx[32];
    uint8_t qy[32];
    uint8_t eph[32];
    uint8_t salt[32];
    uint8_t ex[32];
    uint8_t ey[32];
    uint8_t want[32];
    uint8_t salt2[32];
    (void)state;

    unhex(SX, qx, 32);
    unhex(SY, qy, 32);
    memset(eph, 0x09, sizeof(eph));
    assert_int_equal(bcrypt_ecc_salt(qx, qy, eph, salt, ex, ey), 0);
    unhex("7135fa4fd93a09dce98bbf681b4bfcf50e7c0d6354e62afb0bff2a3429617865", want, 32);
    assert_memory_equal(ex, want, 32);
    unhex("ed4c1f02ddb9023ee56a557e515d6a9dc66c11f220960de594334df588776724", want, 32);
    assert_memory_equal(ey, want, 32);
    unhex("4fead10b1958031a64a74e1ea40d10e41c677901a10576e0e5e12527fb7d3ced", want, 32);
    assert_memory_equal(salt, want, 32);

    /* a random ephemeral key: another point, another salt */
    assert_int_equal(bcrypt_ecc_salt(qx, qy, NULL, salt2, ex, ey), 0);
    assert_memory_not_equal(salt2, salt, 32);

    /* refused: a point off the curve, a zero scalar, a scalar above the order */
    qy[31] ^= 1;
    assert_int_equal(bcrypt_ecc_salt(qx, qy, eph, salt, ex, ey), -1);
    qy[31] ^= 1;
    memset(eph, 0, sizeof(eph));
    assert_int_equal(bcrypt_ecc_salt(qx, qy, eph, salt, ex, ey), -1);
    memset(eph, 0xff, sizeof(eph));
    assert_int_equal(bcrypt_ecc_salt(qx, qy, eph, salt, ex, ey), -1);
}

static void test_ecdsa(void **state)
{
    uint8_t qx[32];
    uint8_t qy[32];
    uint8_t r[32];
    uint8_t s[32];
    uint8_t d[32];
    EVP_PKEY *key;
    (void)state;

    unhex(SX, qx, 32);
    unhex(SY, qy, 32);
    unhex("e9b8b48ba615806ecde925174d3c6e9e02bbc35a17b54b983cfac41595f0e4f9", r, 32);
    unhex("11ad4c78b9d50c886c89989b8538bd4a133bb5e361621d14169c8cdabd08248a", s, 32);
    for (int i = 0; i < 32; i++) {
        d[i] = (uint8_t)i;
    }
    key = bcrypt_ecc_pkey(qx, qy);
    assert_non_null(key);
    assert_int_equal(bcrypt_verify_ecdsa(key, d, r, 32, s, 32), 0);
    d[0] ^= 1;
    assert_int_equal(bcrypt_verify_ecdsa(key, d, r, 32, s, 32), -1);
    d[0] ^= 1;
    s[5] ^= 0x40;
    assert_int_equal(bcrypt_verify_ecdsa(key, d, r, 32, s, 32), -1);
    EVP_PKEY_free(key);
    /* a point off the curve is no key */
    qx[0] ^= 1;
    assert_null(bcrypt_ecc_pkey(qx, qy));
}

static void test_rsa(void **state)
{
    EVP_PKEY *priv = EVP_RSA_gen(2048);
    EVP_PKEY *pub;
    EVP_PKEY_CTX *ctx;
    BIGNUM *n = NULL;
    uint8_t nb[256];
    uint8_t digest[32];
    uint8_t sig[256];
    uint8_t ct[256];
    uint8_t pt[256];
    size_t sl = sizeof(sig);
    size_t cl = sizeof(ct);
    size_t pl = sizeof(pt);
    static const uint8_t msg[5] = {'h', 'e', 'l', 'l', 'o'};
    (void)state;

    assert_non_null(priv);
    assert_int_equal(EVP_PKEY_get_bn_param(priv, "n", &n), 1);
    assert_int_equal(BN_bn2binpad(n, nb, sizeof(nb)), 256);
    BN_free(n);
    pub = bcrypt_rsa_pkey(nb, sizeof(nb));
    assert_non_null(pub);

    /* RSASSA-PKCS1-v1_5 signature made by OpenSSL, checked through the modulus alone */
    memset(digest, 0x3c, sizeof(digest));
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_sign(ctx, sig, &sl, digest, sizeof(digest)), 1);
    EVP_PKEY_CTX_free(ctx);
    assert_int_equal(bcrypt_verify_rsassa(pub, digest, sig, sl), 0);
    sig[100] ^= 1;
    assert_int_equal(bcrypt_verify_rsassa(pub, digest, sig, sl), -1);

    /* OAEP with SHA-256 and MGF1-SHA-256: what OpenSSL decrypts with those parameters */
    assert_int_equal(bcrypt_oaep_encrypt(pub, msg, sizeof(msg), ct, &cl), 0);
    assert_int_equal(cl, 256);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_decrypt(ctx, pt, &pl, ct, cl), 1);
    EVP_PKEY_CTX_free(ctx);
    assert_int_equal(pl, sizeof(msg));
    assert_memory_equal(pt, msg, sizeof(msg));
    /* too little room for the ciphertext */
    cl = 100;
    assert_int_equal(bcrypt_oaep_encrypt(pub, msg, sizeof(msg), ct, &cl), -1);

    EVP_PKEY_free(pub);
    EVP_PKEY_free(priv);
}

static void test_hmac_parts(void **state)
{
    /* HMAC-SHA256 with an empty key over "abc" in two parts (Python: hmac.new(b"", b"abc")) */
    static const uint8_t a[1] = {'a'};
    static const uint8_t bc[2] = {'b', 'c'};
    struct bcrypt_part parts[] = {{a, 1}, {bc, 2}, {NULL, 0}};
    uint8_t out[32];
    uint8_t want[32];
    (void)state;

    assert_int_equal(bcrypt_hmac(NULL, 0, parts, 3, out), 0);
    unhex("fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351", want, 32);
    assert_memory_equal(out, want, 32);
    /* SHA-256("abc"), FIPS 180-2 appendix B.1 */
    assert_int_equal(bcrypt_sha256(parts, 3, out), 0);
    unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
    assert_memory_equal(out, want, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kdfa),
        cmocka_unit_test(test_kdfe),
        cmocka_unit_test(test_ecc_salt),
        cmocka_unit_test(test_ecdsa),
        cmocka_unit_test(test_rsa),
        cmocka_unit_test(test_hmac_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

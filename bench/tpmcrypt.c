/*
 * The benchmark client's cryptography (see tpmcrypt.h), written here with OpenSSL 3 so that a
 * mistake in a server cannot be hidden by the same mistake in the client.
 */
#include "tpmcrypt.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#define KDF_MAX_BITS 2048

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int bcrypt_sha256(const struct bcrypt_part *parts, size_t n, uint8_t out[BCRYPT_SHA256])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int olen = 0;
    int ret = -1;

    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (parts[i].n > 0 && EVP_DigestUpdate(md, parts[i].p, parts[i].n) != 1) {
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(md, out, &olen) != 1 || olen != BCRYPT_SHA256) {
        goto out;
    }
    ret = 0;
out:
    EVP_MD_CTX_free(md);
    return ret;
}

int bcrypt_hmac(const uint8_t *key, size_t klen, const struct bcrypt_part *parts, size_t n,
                uint8_t out[BCRYPT_SHA256])
{
    static const uint8_t empty[1] = {0};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];
    size_t olen = 0;
    int ret = -1;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    /* An empty key is legal for the TPM (an empty authValue, no salt); OpenSSL wants a pointer. */
    if (!ctx || EVP_MAC_init(ctx, klen ? key : empty, klen, params) != 1) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (parts[i].n > 0 && EVP_MAC_update(ctx, parts[i].p, parts[i].n) != 1) {
            goto out;
        }
    }
    if (EVP_MAC_final(ctx, out, &olen, BCRYPT_SHA256) != 1 || olen != BCRYPT_SHA256) {
        goto out;
    }
    ret = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ret;
}

int bcrypt_kdfa(const uint8_t *key, size_t klen, const char *label, const uint8_t *u, size_t ul,
                const uint8_t *v, size_t vl, uint32_t bits, uint8_t *out)
{
    size_t want = bits / 8;
    uint8_t ctr[4];
    uint8_t lbits[4];
    uint8_t blk[BCRYPT_SHA256];

    if (bits == 0 || bits % 8 != 0 || bits > KDF_MAX_BITS) {
        return -1;
    }
    be32(lbits, bits);
    for (uint32_t i = 1, done = 0; done < want; i++) {
        /* the label is hashed with its terminating zero octet (Part 1 §11.4.10.2) */
        struct bcrypt_part parts[] = {
            {ctr, 4}, {(const uint8_t *)label, strlen(label) + 1}, {u, ul}, {v, vl}, {lbits, 4}};
        size_t n;

        be32(ctr, i);
        if (bcrypt_hmac(key, klen, parts, 5, blk) != 0) {
            OPENSSL_cleanse(blk, sizeof(blk));
            return -1;
        }
        n = want - done < sizeof(blk) ? want - done : sizeof(blk);
        memcpy(out + done, blk, n);
        done += (uint32_t)n;
    }
    OPENSSL_cleanse(blk, sizeof(blk));
    return 0;
}

int bcrypt_kdfe(const uint8_t *z, size_t zl, const char *label, const uint8_t *u, size_t ul,
                const uint8_t *v, size_t vl, uint32_t bits, uint8_t *out)
{
    size_t want = bits / 8;
    uint8_t ctr[4];
    uint8_t blk[BCRYPT_SHA256];

    if (bits == 0 || bits % 8 != 0 || bits > KDF_MAX_BITS) {
        return -1;
    }
    for (uint32_t i = 1, done = 0; done < want; i++) {
        struct bcrypt_part parts[] = {
            {ctr, 4}, {z, zl}, {(const uint8_t *)label, strlen(label) + 1}, {u, ul}, {v, vl}};
        size_t n;

        be32(ctr, i);
        if (bcrypt_sha256(parts, 5, blk) != 0) {
            OPENSSL_cleanse(blk, sizeof(blk));
            return -1;
        }
        n = want - done < sizeof(blk) ? want - done : sizeof(blk);
        memcpy(out + done, blk, n);
        done += (uint32_t)n;
    }
    OPENSSL_cleanse(blk, sizeof(blk));
    return 0;
}

/* The affine x and y of point pt, each left-padded to 32 bytes. */
static int point_xy(const EC_GROUP *g, const EC_POINT *pt, BN_CTX *bn, uint8_t x[BCRYPT_P256],
                    uint8_t y[BCRYPT_P256])
{
    BIGNUM *bx = BN_new();
    BIGNUM *by = BN_new();
    int ret = -1;

    if (bx && by && EC_POINT_get_affine_coordinates(g, pt, bx, by, bn) == 1 &&
        BN_bn2binpad(bx, x, BCRYPT_P256) == BCRYPT_P256 &&
        (!y || BN_bn2binpad(by, y, BCRYPT_P256) == BCRYPT_P256)) {
        ret = 0;
    }
    BN_clear_free(bx);
    BN_free(by);
    return ret;
}

int bcrypt_ecc_salt(const uint8_t qx[BCRYPT_P256], const uint8_t qy[BCRYPT_P256],
                    const uint8_t *eph, uint8_t salt[BCRYPT_SHA256], uint8_t ex[BCRYPT_P256],
                    uint8_t ey[BCRYPT_P256])
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BN_CTX *bn = BN_CTX_new();
    EC_POINT *q = g ? EC_POINT_new(g) : NULL;
    EC_POINT *e = g ? EC_POINT_new(g) : NULL;
    EC_POINT *z = g ? EC_POINT_new(g) : NULL;
    BIGNUM *bqx = BN_bin2bn(qx, BCRYPT_P256, NULL);
    BIGNUM *bqy = BN_bin2bn(qy, BCRYPT_P256, NULL);
    BIGNUM *d = BN_secure_new();
    uint8_t zx[BCRYPT_P256];
    int ret = -1;

    if (!g || !bn || !q || !e || !z || !bqx || !bqy || !d) {
        goto out;
    }
    if (EC_POINT_set_affine_coordinates(g, q, bqx, bqy, bn) != 1 ||
        EC_POINT_is_on_curve(g, q, bn) != 1) {
        goto out;
    }
    if (eph) {
        if (!BN_bin2bn(eph, BCRYPT_P256, d) || BN_is_zero(d) ||
            BN_cmp(d, EC_GROUP_get0_order(g)) >= 0) {
            goto out;
        }
    } else {
        do {
            if (BN_priv_rand_range(d, EC_GROUP_get0_order(g)) != 1) {
                goto out;
            }
        } while (BN_is_zero(d));
    }
    /* the ephemeral public point d*G, and the shared point d*Q whose x is Z */
    if (EC_POINT_mul(g, e, d, NULL, NULL, bn) != 1 || EC_POINT_mul(g, z, NULL, q, d, bn) != 1 ||
        EC_POINT_is_at_infinity(g, z) || point_xy(g, e, bn, ex, ey) != 0 ||
        point_xy(g, z, bn, zx, NULL) != 0) {
        goto out;
    }
    if (bcrypt_kdfe(zx, sizeof(zx), "SECRET", ex, BCRYPT_P256, qx, BCRYPT_P256, 256, salt) != 0) {
        goto out;
    }
    ret = 0;
out:
    OPENSSL_cleanse(zx, sizeof(zx));
    BN_clear_free(d);
    BN_free(bqx);
    BN_free(bqy);
    EC_POINT_clear_free(z);
    EC_POINT_free(e);
    EC_POINT_free(q);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return ret;
}

/* A public key of the given type from the parameters in bld. */
static EVP_PKEY *pkey_from(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = bld ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *key = NULL;

    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return key;
}

EVP_PKEY *bcrypt_ecc_pkey(const uint8_t qx[BCRYPT_P256], const uint8_t qy[BCRYPT_P256])
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    uint8_t pt[1 + 2 * BCRYPT_P256];
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *chk = NULL;

    pt[0] = 0x04; /* uncompressed point (SEC 1 §2.3.3) */
    memcpy(pt + 1, qx, BCRYPT_P256);
    memcpy(pt + 1 + BCRYPT_P256, qy, BCRYPT_P256);
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) == 1) {
        key = pkey_from("EC", bld);
    }
    /* fromdata does not promise an on-curve check: ask for one */
    chk = key ? EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL) : NULL;
    if (key && (!chk || EVP_PKEY_public_check(chk) != 1)) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    EVP_PKEY_CTX_free(chk);
    OSSL_PARAM_BLD_free(bld);
    return key;
}

EVP_PKEY *bcrypt_rsa_pkey(const uint8_t *n, size_t nlen)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *be = BN_new();
    EVP_PKEY *key = NULL;

    if (bld && bn && be && BN_set_word(be, 65537) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1) {
        key = pkey_from("RSA", bld);
    }
    BN_free(bn);
    BN_free(be);
    OSSL_PARAM_BLD_free(bld);
    return key;
}

/* EVP_PKEY_verify of a SHA-256 digest, with RSA PKCS #1 v1.5 padding when rsa is true. */
static int verify(EVP_PKEY *key, bool rsa, const uint8_t *sig, size_t sl,
                  const uint8_t digest[BCRYPT_SHA256])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ret = -1;

    if (ctx && EVP_PKEY_verify_init(ctx) == 1 &&
        (!rsa || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
        EVP_PKEY_verify(ctx, sig, sl, digest, BCRYPT_SHA256) == 1) {
        ret = 0;
    }
    EVP_PKEY_CTX_free(ctx);
    return ret;
}

int bcrypt_verify_ecdsa(EVP_PKEY *key, const uint8_t digest[BCRYPT_SHA256], const uint8_t *r,
                        size_t rl, const uint8_t *s, size_t sl)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(r, (int)rl, NULL);
    BIGNUM *bs = BN_bin2bn(s, (int)sl, NULL);
    uint8_t *der = NULL;
    int dl;
    int ret = -1;

    if (!sig || !br || !bs || ECDSA_SIG_set0(sig, br, bs) != 1) {
        BN_free(br);
        BN_free(bs);
        goto out;
    }
    /* the signature owns r and s now */
    dl = i2d_ECDSA_SIG(sig, &der);
    if (dl <= 0) {
        goto out;
    }
    ret = verify(key, false, der, (size_t)dl, digest);
out:
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return ret;
}

int bcrypt_verify_rsassa(EVP_PKEY *key, const uint8_t digest[BCRYPT_SHA256], const uint8_t *sig,
                         size_t sl)
{
    return verify(key, true, sig, sl, digest);
}

int bcrypt_oaep_encrypt(EVP_PKEY *key, const uint8_t *msg, size_t mlen, uint8_t *out,
                        size_t *olen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ret = -1;

    if (ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1 &&
        EVP_PKEY_encrypt(ctx, out, olen, msg, mlen) == 1) {
        ret = 0;
    }
    EVP_PKEY_CTX_free(ctx);
    return ret;
}

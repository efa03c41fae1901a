/*
 * Unit tests of encryption and key agreement with loaded keys (src/tpm/asym.c, symcmd.c;
 * Part 3 §14, §15, §17.2, §19): RSA_Encrypt/RSA_Decrypt against OpenSSL in both directions
 * (OAEP with and without labels, RSAES, the raw NULL scheme), ECDH_KeyGen/ZGen and
 * EC_Ephemeral/ZGen_2Phase against OpenSSL's ECDH, Commit's points, ECC_Parameters against
 * FIPS 186-4 D.1.2, EncryptDecrypt(2) against NIST SP 800-38A F.1-F.5, HMAC and HMAC_Start
 * against RFC 4231 / RFC 2202; and the response codes of bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "tpmkeys.h"

static size_t hex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* ---- RSA ---- */

static uint32_t rsa_encrypt(struct tpm *t, uint32_t h, const uint8_t *m, uint16_t ml,
                            uint16_t scheme, uint16_t hash, const uint8_t *label, uint16_t ll,
                            uint8_t *out, uint16_t *ol)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_RSA_Encrypt);
    tb_u32(&c, h);
    tb_2b(&c, m, ml);
    tk_scheme(&c, scheme, hash, 0);
    tb_2b(&c, label, ll);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        *ol = rs_2b(&r, out, 512);
    }
    return rc;
}

static uint32_t rsa_decrypt(struct tpm *t, uint32_t h, const uint8_t *m, uint16_t ml,
                            uint16_t scheme, uint16_t hash, const uint8_t *label, uint16_t ll,
                            uint8_t *out, uint16_t *ol)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_RSA_Decrypt);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, m, ml);
    tk_scheme(&c, scheme, hash, 0);
    tb_2b(&c, label, ll);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        *ol = rs_2b(&r, out, 512);
    }
    return rc;
}

/* OpenSSL's side: padding for a TPM scheme. */
static void ossl_pad(EVP_PKEY_CTX *ctx, uint16_t scheme, uint16_t hash, const uint8_t *label,
                     size_t ll)
{
    if (scheme == TPM_ALG_OAEP) {
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, ossl_md(hash));
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, ossl_md(hash));
        if (ll) {
            EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, OPENSSL_memdup(label, ll), (int)ll);
        }
    } else if (scheme == TPM_ALG_RSAES) {
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
    } else {
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING);
    }
}

static void test_rsa_encryption(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    struct ossl_rsa k;
    uint32_t h;
    static const uint8_t secret[] = "a secret of some length";
    static const uint8_t label[] = "LABEL"; /* with its terminating zero */
    ossl_rsa_new(&k, 2048);
    struct kdesc d = kd_rsa(2048, A_EXT | A_DECRYPT, TPM_ALG_NULL, 0);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &d, k.p, k.plen, k.n, k.nlen, NULL, 0, &h), 0);

    static const struct {
        uint16_t scheme, hash;
        const uint8_t *label;
        uint16_t ll;
    } cases[] = {
        {TPM_ALG_OAEP, TPM_ALG_SHA256, NULL, 0},
        {TPM_ALG_OAEP, TPM_ALG_SHA1, NULL, 0},
        {TPM_ALG_OAEP, TPM_ALG_SHA256, label, sizeof(label)},
        {TPM_ALG_OAEP, TPM_ALG_SHA384, label, sizeof(label)},
        {TPM_ALG_RSAES, 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t ct[512], pt[512];
        uint16_t cl, pl;
        size_t ol = sizeof(pt);
        /* TPM encrypts, OpenSSL decrypts */
        assert_int_equal(rsa_encrypt(t, h, secret, sizeof(secret), cases[i].scheme,
                                     cases[i].hash, cases[i].label, cases[i].ll, ct, &cl),
                         0);
        assert_int_equal(cl, 256);
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k.pkey, NULL);
        EVP_PKEY_decrypt_init(ctx);
        ossl_pad(ctx, cases[i].scheme, cases[i].hash, cases[i].label, cases[i].ll);
        assert_int_equal(EVP_PKEY_decrypt(ctx, pt, &ol, ct, cl), 1);
        EVP_PKEY_CTX_free(ctx);
        assert_int_equal(ol, sizeof(secret));
        assert_memory_equal(pt, secret, sizeof(secret));
        /* OpenSSL encrypts, TPM decrypts */
        ctx = EVP_PKEY_CTX_new(k.pkey, NULL);
        EVP_PKEY_encrypt_init(ctx);
        ossl_pad(ctx, cases[i].scheme, cases[i].hash, cases[i].label, cases[i].ll);
        ol = sizeof(ct);
        assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &ol, secret, sizeof(secret)), 1);
        EVP_PKEY_CTX_free(ctx);
        assert_int_equal(rsa_decrypt(t, h, ct, (uint16_t)ol, cases[i].scheme, cases[i].hash,
                                     cases[i].label, cases[i].ll, pt, &pl),
                         0);
        assert_int_equal(pl, sizeof(secret));
        assert_memory_equal(pt, secret, sizeof(secret));
        /* one bit changed: the padding check fails, with one answer for every failure */
        ct[100] ^= 0x10;
        assert_int_equal(rsa_decrypt(t, h, ct, (uint16_t)ol, cases[i].scheme, cases[i].hash,
                                     cases[i].label, cases[i].ll, pt, &pl),
                         RCP(TPM_RC_VALUE, 1));
    }

    /* the raw primitive: m^e mod n, and back to a modulus-sized value */
    {
        uint8_t ct[512], pt[512], want[512];
        uint16_t cl, pl;
        size_t ol = sizeof(want);
        assert_int_equal(rsa_encrypt(t, h, secret, sizeof(secret), TPM_ALG_NULL, 0, NULL, 0, ct,
                                     &cl),
                         0);
        assert_int_equal(cl, 256);
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k.pkey, NULL);
        EVP_PKEY_decrypt_init(ctx);
        ossl_pad(ctx, TPM_ALG_NULL, 0, NULL, 0);
        assert_int_equal(EVP_PKEY_decrypt(ctx, want, &ol, ct, cl), 1);
        EVP_PKEY_CTX_free(ctx);
        assert_int_equal(ol, 256);
        assert_memory_equal(want + 256 - sizeof(secret), secret, sizeof(secret));
        assert_int_equal(rsa_decrypt(t, h, ct, cl, TPM_ALG_NULL, 0, NULL, 0, pt, &pl), 0);
        assert_int_equal(pl, 256);
        assert_memory_equal(pt, want, 256);
        /* a value not below the modulus */
        memset(ct, 0xFF, 256);
        assert_int_equal(rsa_encrypt(t, h, ct, 256, TPM_ALG_NULL, 0, NULL, 0, pt, &pl),
                         RCP(TPM_RC_VALUE, 1));
        assert_int_equal(rsa_decrypt(t, h, ct, 256, TPM_ALG_NULL, 0, NULL, 0, pt, &pl),
                         RCP(TPM_RC_VALUE, 1));
    }

    /* refusals */
    uint8_t ct[512], pt[512], big[300];
    uint16_t cl, pl;
    memset(big, 7, sizeof(big));
    assert_int_equal(rsa_encrypt(t, h, secret, sizeof(secret), TPM_ALG_OAEP, TPM_ALG_SHA256,
                                 label, sizeof(label), ct, &cl),
                     0);
    /* the wrong label, and a label without its terminating zero */
    assert_int_equal(rsa_decrypt(t, h, ct, cl, TPM_ALG_OAEP, TPM_ALG_SHA256, label, 3, pt, &pl),
                     RCP(TPM_RC_VALUE, 3));
    static const uint8_t other[] = "OTHER";
    assert_int_equal(rsa_decrypt(t, h, ct, cl, TPM_ALG_OAEP, TPM_ALG_SHA256, other,
                                 sizeof(other), pt, &pl),
                     RCP(TPM_RC_VALUE, 1));
    /* the wrong hash */
    assert_int_equal(rsa_decrypt(t, h, ct, cl, TPM_ALG_OAEP, TPM_ALG_SHA1, label, sizeof(label),
                                 pt, &pl),
                     RCP(TPM_RC_VALUE, 1));
    /* a ciphertext that is not modulus-sized */
    assert_int_equal(rsa_decrypt(t, h, ct, 255, TPM_ALG_OAEP, TPM_ALG_SHA256, label,
                                 sizeof(label), pt, &pl),
                     RCP(TPM_RC_SIZE, 1));
    /* messages too long for the padding: OAEP-SHA256 holds 190 bytes, RSAES 245 */
    assert_int_equal(rsa_encrypt(t, h, big, 191, TPM_ALG_OAEP, TPM_ALG_SHA256, NULL, 0, ct, &cl),
                     RCP(TPM_RC_VALUE, 1));
    assert_int_equal(rsa_encrypt(t, h, big, 190, TPM_ALG_OAEP, TPM_ALG_SHA256, NULL, 0, ct, &cl),
                     0);
    assert_int_equal(rsa_encrypt(t, h, big, 246, TPM_ALG_RSAES, 0, NULL, 0, ct, &cl),
                     RCP(TPM_RC_VALUE, 1));
    assert_int_equal(rsa_encrypt(t, h, big, 257, TPM_ALG_NULL, 0, NULL, 0, ct, &cl),
                     RCP(TPM_RC_VALUE, 1));
    /* oversized input: larger than TPM2B_PUBLIC_KEY_RSA */
    {
        struct tb c;
        struct rsp r;
        static uint8_t huge[400];
        tb_start(&c, ST_NO, TPM_CC_RSA_Encrypt);
        tb_u32(&c, h);
        tb_2b(&c, huge, sizeof(huge));
        tb_u16(&c, TPM_ALG_NULL);
        tb_u16(&c, 0);
        assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_SIZE, 1));
        /* a signing scheme is no decryption scheme */
        tb_start(&c, ST_NO, TPM_CC_RSA_Encrypt);
        tb_u32(&c, h);
        tb_2b(&c, secret, 4);
        tk_scheme(&c, TPM_ALG_RSASSA, TPM_ALG_SHA256, 0);
        tb_u16(&c, 0);
        assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_VALUE, 2));
    }
    tk_flush(t, h);

    /* a key whose scheme is OAEP-SHA256 takes no other */
    struct kdesc od = kd_rsa(2048, A_EXT | A_DECRYPT, TPM_ALG_OAEP, TPM_ALG_SHA256);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &od, k.p, k.plen, k.n, k.nlen, NULL, 0, &h),
                     0);
    assert_int_equal(rsa_encrypt(t, h, secret, 4, TPM_ALG_RSAES, 0, NULL, 0, ct, &cl),
                     RCP(TPM_RC_SCHEME, 2));
    assert_int_equal(rsa_encrypt(t, h, secret, 4, TPM_ALG_OAEP, TPM_ALG_SHA1, NULL, 0, ct, &cl),
                     RCP(TPM_RC_SCHEME, 2));
    assert_int_equal(rsa_encrypt(t, h, secret, 4, TPM_ALG_NULL, 0, NULL, 0, ct, &cl), 0);
    assert_int_equal(rsa_decrypt(t, h, ct, cl, TPM_ALG_NULL, 0, NULL, 0, pt, &pl), 0);
    assert_int_equal(pl, 4);
    tk_flush(t, h);
    /* a signing key, a storage key, an ECC key */
    struct kdesc sk = kd_rsa(2048, A_EXT | A_SIGN, TPM_ALG_NULL, 0);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &sk, k.p, k.plen, k.n, k.nlen, NULL, 0, &h),
                     0);
    assert_int_equal(rsa_encrypt(t, h, secret, 4, TPM_ALG_OAEP, TPM_ALG_SHA256, NULL, 0, ct, &cl),
                     RCH(TPM_RC_ATTRIBUTES, 1));
    assert_int_equal(rsa_decrypt(t, h, ct, 256, TPM_ALG_NULL, 0, NULL, 0, pt, &pl),
                     RCH(TPM_RC_ATTRIBUTES, 1));
    tk_flush(t, h);
    struct kdesc st = kd_storage();
    st.type = TPM_ALG_RSA;
    st.bits = 2048;
    st.curve = 0;
    uint32_t srk;
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &st, &srk), 0);
    assert_int_equal(rsa_decrypt(t, srk, ct, 256, TPM_ALG_NULL, 0, NULL, 0, pt, &pl),
                     RCH(TPM_RC_ATTRIBUTES, 1));
    /* encrypting to a storage key's public part is fine */
    assert_int_equal(rsa_encrypt(t, srk, secret, 4, TPM_ALG_OAEP, TPM_ALG_SHA256, NULL, 0, ct,
                                 &cl),
                     0);
    struct kdesc ed = kd_storage();
    uint32_t ecc;
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &ed, &ecc), 0);
    assert_int_equal(rsa_encrypt(t, ecc, secret, 4, TPM_ALG_NULL, 0, NULL, 0, ct, &cl),
                     RCH(TPM_RC_KEY, 1));
    EVP_PKEY_free(k.pkey);
    tpm_free(t);
}

/* ---- ECC ---- */

/* OpenSSL ECDH: x of [d_mine]Q_peer. */
static void ossl_ecdh(EVP_PKEY *mine, EVP_PKEY *peer, uint8_t *z, size_t *zl)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(mine, NULL);
    EVP_PKEY_derive_init(ctx);
    EVP_PKEY_derive_set_peer(ctx, peer);
    *zl = 66;
    EVP_PKEY_derive(ctx, z, zl);
    EVP_PKEY_CTX_free(ctx);
}

static void rd_pt(struct rsp *r, uint8_t *x, uint8_t *y, uint16_t *n)
{
    (void)rs_u16(r);
    *n = rs_2b(r, x, 66);
    (void)rs_2b(r, y, 66);
}

static void tb_pt(struct tb *c, const uint8_t *x, const uint8_t *y, uint16_t n)
{
    size_t m = tb_size16_begin(c);
    tb_2b(c, x, n);
    tb_2b(c, y, n);
    tb_size16_end(c, m);
}

static void test_ecdh(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    struct ossl_ec k, peer;
    uint32_t h;
    struct tb c;
    struct rsp r;
    uint8_t zx[66], zy[66], qx[66], qy[66], want[66];
    uint16_t n;
    size_t wl;
    ossl_ec_new(&k, TPM_ECC_NIST_P256);
    ossl_ec_new(&peer, TPM_ECC_NIST_P256);
    struct kdesc d = kd_ecc(TPM_ECC_NIST_P256, A_EXT | A_DECRYPT, TPM_ALG_ECDH, TPM_ALG_SHA256);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &d, k.d, 32, k.x, 32, k.y, 32, &h), 0);

    /* KeyGen: an ephemeral pair and Z = [de]Q; OpenSSL gets Z from d and the ephemeral Q */
    tb_start(&c, ST_NO, TPM_CC_ECDH_KeyGen);
    tb_u32(&c, h);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rd_pt(&r, zx, zy, &n);
    assert_int_equal(n, 32);
    rd_pt(&r, qx, qy, &n);
    EVP_PKEY *eph = ossl_ec_pub(TPM_ECC_NIST_P256, qx, qy, 32);
    ossl_ecdh(k.pkey, eph, want, &wl);
    assert_int_equal(wl, 32);
    assert_memory_equal(zx, want, 32);
    EVP_PKEY_free(eph);

    /* ZGen: [d]P for the peer's P */
    tb_start(&c, ST_S, TPM_CC_ECDH_ZGen);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_pt(&c, peer.x, peer.y, 32);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    (void)rs_u32(&r);
    rd_pt(&r, zx, zy, &n);
    ossl_ecdh(peer.pkey, k.pkey, want, &wl);
    assert_memory_equal(zx, want, 32);
    /* a point off the curve */
    uint8_t bad[32];
    memcpy(bad, peer.y, 32);
    bad[31] ^= 1;
    tb_start(&c, ST_S, TPM_CC_ECDH_ZGen);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_pt(&c, peer.x, bad, 32);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_ECC_POINT, 1));
    /* an empty point, a point with trailing bytes inside its size */
    tb_start(&c, ST_S, TPM_CC_ECDH_ZGen);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_u16(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_SIZE, 1));
    tb_start(&c, ST_S, TPM_CC_ECDH_ZGen);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_u16(&c, 2 + 32 + 2 + 32 + 1);
    tb_2b(&c, peer.x, 32);
    tb_2b(&c, peer.y, 32);
    tb_u8(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_SIZE, 1));
    tk_flush(t, h);
    /* a signing key may not do ECDH */
    struct kdesc sd = kd_ecc(TPM_ECC_NIST_P256, A_EXT | A_SIGN, TPM_ALG_ECDSA, TPM_ALG_SHA256);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &sd, k.d, 32, k.x, 32, k.y, 32, &h), 0);
    tb_start(&c, ST_S, TPM_CC_ECDH_ZGen);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_pt(&c, peer.x, peer.y, 32);
    assert_int_equal(tt_exec(t, &c, &r), RCH(TPM_RC_ATTRIBUTES, 1));
    tk_flush(t, h);
    EVP_PKEY_free(k.pkey);
    EVP_PKEY_free(peer.pkey);
    tpm_free(t);
}

static uint32_t ec_ephemeral(struct tpm *t, uint16_t curve, uint8_t *x, uint8_t *y,
                             uint16_t *counter)
{
    struct tb c;
    struct rsp r;
    uint16_t n;
    tb_start(&c, ST_NO, TPM_CC_EC_Ephemeral);
    tb_u16(&c, curve);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        rd_pt(&r, x, y, &n);
        *counter = rs_u16(&r);
    }
    return rc;
}

static uint32_t zgen2(struct tpm *t, uint32_t h, const struct ossl_ec *s, const struct ossl_ec *e,
                      uint16_t scheme, uint16_t counter, uint8_t *z1, uint8_t *z2)
{
    struct tb c;
    struct rsp r;
    uint8_t y[66];
    uint16_t n;
    tb_start(&c, ST_S, TPM_CC_ZGen_2Phase);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_pt(&c, s->x, s->y, 32);
    tb_pt(&c, e->x, e->y, 32);
    tb_u16(&c, scheme);
    tb_u16(&c, counter);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        rd_pt(&r, z1, y, &n);
        rd_pt(&r, z2, y, &n);
    }
    return rc;
}

static void test_two_phase(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    struct ossl_ec a, bs, be;
    uint32_t h;
    uint8_t qx[66], qy[66], z1[66], z2[66], want[66];
    uint16_t ctr, ctr2;
    size_t wl;
    ossl_ec_new(&a, TPM_ECC_NIST_P256);
    ossl_ec_new(&bs, TPM_ECC_NIST_P256);
    ossl_ec_new(&be, TPM_ECC_NIST_P256);
    struct kdesc d = kd_ecc(TPM_ECC_NIST_P256, A_EXT | A_DECRYPT, TPM_ALG_NULL, 0);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &d, a.d, 32, a.x, 32, a.y, 32, &h), 0);
    assert_int_equal(ec_ephemeral(t, TPM_ECC_NIST_P256, qx, qy, &ctr), 0);
    assert_int_equal(ec_ephemeral(t, TPM_ECC_NIST_P256, z1, z2, &ctr2), 0);
    assert_int_equal(ctr2, (uint16_t)(ctr + 1));
    assert_memory_not_equal(qx, z1, 32);
    /* Z1 = [dsA]QsB, Z2 = [deA]QeB: B computes the same from its side */
    assert_int_equal(zgen2(t, h, &bs, &be, TPM_ALG_ECDH, ctr, z1, z2), 0);
    ossl_ecdh(bs.pkey, a.pkey, want, &wl);
    assert_memory_equal(z1, want, 32);
    EVP_PKEY *qea = ossl_ec_pub(TPM_ECC_NIST_P256, qx, qy, 32);
    ossl_ecdh(be.pkey, qea, want, &wl);
    assert_memory_equal(z2, want, 32);
    EVP_PKEY_free(qea);
    /* each ephemeral key is used once; an unknown count is refused */
    assert_int_equal(zgen2(t, h, &bs, &be, TPM_ALG_ECDH, ctr, z1, z2), RCP(TPM_RC_VALUE, 4));
    assert_int_equal(zgen2(t, h, &bs, &be, TPM_ALG_ECDH, (uint16_t)(ctr2 + 1), z1, z2),
                     RCP(TPM_RC_VALUE, 4));
    /* schemes that are not implemented, or not given */
    assert_int_equal(zgen2(t, h, &bs, &be, TPM_ALG_ECMQV, ctr2, z1, z2), RCP(TPM_RC_SCHEME, 3));
    assert_int_equal(zgen2(t, h, &bs, &be, TPM_ALG_NULL, ctr2, z1, z2), RCP(TPM_RC_SCHEME, 3));
    /* a point off the curve */
    struct ossl_ec off = be;
    off.y[0] ^= 0x80;
    assert_int_equal(zgen2(t, h, &bs, &off, TPM_ALG_ECDH, ctr2, z1, z2),
                     RCP(TPM_RC_ECC_POINT, 2));
    assert_int_equal(zgen2(t, h, &off, &be, TPM_ALG_ECDH, ctr2, z1, z2),
                     RCP(TPM_RC_ECC_POINT, 1));
    /* the failures did not use the commit */
    assert_int_equal(zgen2(t, h, &bs, &be, TPM_ALG_ECDH, ctr2, z1, z2), 0);
    /* only the 64 most recent commits can be used (TPM_PT_SPLIT_MAX) */
    uint16_t old_ctr, last;
    assert_int_equal(ec_ephemeral(t, TPM_ECC_NIST_P256, qx, qy, &old_ctr), 0);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(ec_ephemeral(t, TPM_ECC_NIST_P256, z1, z2, &last), 0);
    }
    assert_int_equal(zgen2(t, h, &bs, &be, TPM_ALG_ECDH, old_ctr, z1, z2), RCP(TPM_RC_VALUE, 4));
    assert_int_equal(zgen2(t, h, &bs, &be, TPM_ALG_ECDH, (uint16_t)(last - 63), z1, z2), 0);
    /* EC_Ephemeral of an unknown curve */
    assert_int_equal(ec_ephemeral(t, 0x0020, qx, qy, &ctr), RCP(TPM_RC_CURVE, 1));
    /* the counter survives Shutdown(STATE)/Startup(STATE) */
    assert_int_equal(ec_ephemeral(t, TPM_ECC_NIST_P256, qx, qy, &ctr), 0);
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_Shutdown);
    tb_u16(&c, TPM_SU_STATE);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    tpm_init(t);
    tb_start(&c, ST_NO, TPM_CC_Startup);
    tb_u16(&c, TPM_SU_STATE);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &d, a.d, 32, a.x, 32, a.y, 32, &h), 0);
    assert_int_equal(zgen2(t, h, &bs, &be, TPM_ALG_ECDH, ctr, z1, z2), 0);
    qea = ossl_ec_pub(TPM_ECC_NIST_P256, qx, qy, 32);
    ossl_ecdh(be.pkey, qea, want, &wl);
    assert_memory_equal(z2, want, 32);
    EVP_PKEY_free(qea);
    EVP_PKEY_free(a.pkey);
    EVP_PKEY_free(bs.pkey);
    EVP_PKEY_free(be.pkey);
    tpm_free(t);
}

/* A point P2 = (H(s2) mod p, y2) of P-256: s2 drawn until H(s2) mod p is an x of the curve. */
static void p2_point(uint8_t *s2, uint8_t *x, uint8_t *y)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *p = BN_new(), *bx = BN_new(), *by = BN_new();
    EC_POINT *pt = EC_POINT_new(g);
    EC_GROUP_get_curve(g, p, NULL, NULL, bn);
    for (uint8_t i = 0;; i++) {
        uint8_t h[32];
        uint16_t hl;
        memset(s2, i, 8);
        ossl_digest(TPM_ALG_SHA256, s2, 8, h, &hl);
        BN_bin2bn(h, 32, bx);
        BN_mod(bx, bx, p, bn);
        if (EC_POINT_set_compressed_coordinates(g, pt, bx, 0, bn) == 1) {
            EC_POINT_get_affine_coordinates(g, pt, NULL, by, bn);
            BN_bn2binpad(bx, x, 32);
            BN_bn2binpad(by, y, 32);
            break;
        }
    }
    BN_free(p);
    BN_free(bx);
    BN_free(by);
    EC_POINT_free(pt);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
}

static void test_commit_points(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    struct ossl_ec k;
    uint32_t h;
    uint8_t s2[8], x2[32], y2[32];
    struct tb c;
    struct rsp r;
    uint8_t kx[66], ky[66], lx[66], ly[66], ex[66], ey[66];
    uint16_t n;
    ossl_ec_new(&k, TPM_ECC_NIST_P256);
    struct kdesc d = kd_ecc(TPM_ECC_NIST_P256, A_EXT | A_SIGN, TPM_ALG_ECDAA, TPM_ALG_SHA256);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &d, k.d, 32, k.x, 32, k.y, 32, &h), 0);
    p2_point(s2, x2, y2);
    /* P1 = G, with s2 and y2: K = [d]P2, L = [r]P2, E = [r]G */
    static const uint8_t gx[32] = {0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47,
                                   0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
                                   0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0,
                                   0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96};
    static const uint8_t gy[32] = {0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b,
                                   0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
                                   0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce,
                                   0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};
    tb_start(&c, ST_S, TPM_CC_Commit);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_pt(&c, gx, gy, 32);
    tb_2b(&c, s2, 8);
    tb_2b(&c, y2, 32);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    (void)rs_u32(&r);
    rd_pt(&r, kx, ky, &n);
    assert_int_equal(n, 32);
    rd_pt(&r, lx, ly, &n);
    assert_int_equal(n, 32);
    rd_pt(&r, ex, ey, &n);
    assert_int_equal(n, 32);
    uint16_t counter = rs_u16(&r);
    /* K = [d]P2 by OpenSSL's ECDH with d */
    uint8_t want[66];
    size_t wl;
    EVP_PKEY *p2 = ossl_ec_pub(TPM_ECC_NIST_P256, x2, y2, 32);
    ossl_ecdh(k.pkey, p2, want, &wl);
    assert_memory_equal(kx, want, 32);
    EVP_PKEY_free(p2);
    /* L and E use the same r: the ECDAA signature made with this commit checks against E */
    uint8_t dg[32] = {1, 2, 3};
    struct tk_sig sig;
    assert_int_equal(tk_sign(t, h, dg, 32, TPM_ALG_ECDAA, TPM_ALG_SHA256, counter, NULL, &sig),
                     0);
    {
        EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
        BN_CTX *bn = BN_CTX_new();
        EC_POINT *lhs = EC_POINT_new(g), *rhs = EC_POINT_new(g), *q = EC_POINT_new(g),
                 *e = EC_POINT_new(g);
        BIGNUM *x = BN_bin2bn(k.x, 32, NULL), *y = BN_bin2bn(k.y, 32, NULL), *tt = BN_new(),
               *s = BN_bin2bn(sig.b, sig.nb, NULL);
        uint8_t buf[64], hh[32];
        uint16_t hl;
        EC_POINT_set_affine_coordinates(g, q, x, y, bn);
        BN_bin2bn(ex, 32, x);
        BN_bin2bn(ey, 32, y);
        EC_POINT_set_affine_coordinates(g, e, x, y, bn);
        memcpy(buf, sig.a, 32);
        memcpy(buf + 32, dg, 32);
        ossl_digest(TPM_ALG_SHA256, buf, 64, hh, &hl);
        BN_bin2bn(hh, 32, tt);
        BN_mod(tt, tt, EC_GROUP_get0_order(g), bn);
        EC_POINT_mul(g, lhs, s, NULL, NULL, bn);
        EC_POINT_mul(g, rhs, NULL, q, tt, bn);
        EC_POINT_add(g, rhs, rhs, e, bn);
        assert_int_equal(EC_POINT_cmp(g, lhs, rhs, bn), 0);
        EC_POINT_free(lhs);
        EC_POINT_free(rhs);
        EC_POINT_free(q);
        EC_POINT_free(e);
        BN_free(x);
        BN_free(y);
        BN_free(tt);
        BN_free(s);
        BN_CTX_free(bn);
        EC_GROUP_free(g);
    }
    /* s2 without y2; P2 off the curve; P1 off the curve */
    tb_start(&c, ST_S, TPM_CC_Commit);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_u16(&c, 0);
    tb_2b(&c, s2, 8);
    tb_u16(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_SIZE, 3));
    y2[31] ^= 1;
    tb_start(&c, ST_S, TPM_CC_Commit);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_u16(&c, 0);
    tb_2b(&c, s2, 8);
    tb_2b(&c, y2, 32);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_ECC_POINT, 2));
    uint8_t bad[32];
    memcpy(bad, gy, 32);
    bad[0] ^= 1;
    tb_start(&c, ST_S, TPM_CC_Commit);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_pt(&c, gx, bad, 32);
    tb_u16(&c, 0);
    tb_u16(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_ECC_POINT, 1));
    EVP_PKEY_free(k.pkey);
    tpm_free(t);
}

/* FIPS 186-4 D.1.2.3 and D.1.2.4 */
static void test_ecc_parameters(void **state)
{
    (void)state;
    static const struct {
        uint16_t curve, bits;
        const char *p, *a, *b, *gx, *gy, *n;
    } kat[] = {
        {TPM_ECC_NIST_P256, 256,
         "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
         "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
         "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
         "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
         "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
         "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"},
        {TPM_ECC_NIST_P384, 384,
         "ffffffffffffffffffffffffffffffffffffffffffffffff"
         "fffffffffffffffeffffffff0000000000000000ffffffff",
         "ffffffffffffffffffffffffffffffffffffffffffffffff"
         "fffffffffffffffeffffffff0000000000000000fffffffc",
         "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe814112"
         "0314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
         "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b98"
         "59f741e082542a385502f25dbf55296c3a545e3872760ab7",
         "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147c"
         "e9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
         "ffffffffffffffffffffffffffffffffffffffffffffffff"
         "c7634d81f4372ddf581a0db248b0a77aecec196accc52973"},
    };
    struct tpm *t = tk_up();
    for (size_t i = 0; i < 2; i++) {
        struct tb c;
        struct rsp r;
        uint8_t want[66], got[66];
        tb_start(&c, ST_NO, TPM_CC_ECC_Parameters);
        tb_u16(&c, kat[i].curve);
        assert_int_equal(tt_exec(t, &c, &r), 0);
        assert_int_equal(rs_u16(&r), kat[i].curve);
        assert_int_equal(rs_u16(&r), kat[i].bits);
        assert_int_equal(rs_u16(&r), TPM_ALG_NULL); /* kdf */
        assert_int_equal(rs_u16(&r), TPM_ALG_NULL); /* sign */
        const char *parts[] = {kat[i].p, kat[i].a, kat[i].b, kat[i].gx, kat[i].gy, kat[i].n};
        for (size_t j = 0; j < 6; j++) {
            size_t n = hex(parts[j], want);
            assert_int_equal(rs_2b(&r, got, sizeof(got)), n);
            assert_memory_equal(got, want, n);
        }
        assert_int_equal(rs_2b(&r, got, sizeof(got)), 1); /* h */
        assert_int_equal(got[0], 1);
        assert_int_equal(r.off, r.n);
    }
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_ECC_Parameters);
    tb_u16(&c, 0x0010); /* BN P-256: not implemented */
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_CURVE, 1));
    tb_start(&c, ST_NO, TPM_CC_ECC_Parameters);
    tb_u8(&c, 3);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_INSUFFICIENT, 1));
    tpm_free(t);
}

/* ---- symmetric ---- */

static uint32_t encrypt_decrypt(struct tpm *t, bool two, uint32_t h, bool decrypt, uint16_t mode,
                                const uint8_t *iv, uint16_t ivl, const uint8_t *in, uint16_t il,
                                uint8_t *out, uint8_t *ivout)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, two ? TPM_CC_EncryptDecrypt2 : TPM_CC_EncryptDecrypt);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    if (two) {
        tb_2b(&c, in, il);
    }
    tb_u8(&c, decrypt);
    tb_u16(&c, mode);
    tb_2b(&c, iv, ivl);
    if (!two) {
        tb_2b(&c, in, il);
    }
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        assert_int_equal(rs_2b(&r, out, 2048), il);
        uint16_t n = rs_2b(&r, ivout, 16);
        assert_int_equal(n, ivl);
    }
    return rc;
}

static uint32_t load_aes(struct tpm *t, const uint8_t *key, uint16_t klen, uint16_t mode,
                         uint32_t attrs, uint32_t *h)
{
    struct kdesc d = kd_aes((uint16_t)(klen * 8), mode, attrs);
    uint8_t u[32];
    uint16_t ul;
    ossl_digest(TPM_ALG_SHA256, key, klen, u, &ul); /* H(seedValue (empty) || key) */
    return tk_external(t, TPM_RH_NULL, &d, key, klen, u, ul, NULL, 0, h);
}

static void test_encrypt_decrypt_kat(void **state)
{
    (void)state;
    static const char *const pt_hex =
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
    static const struct {
        const char *key;
        uint16_t mode;
        const char *iv, *ct;
    } kat[] = {
        /* SP 800-38A F.1.1, F.2.1, F.3.13, F.4.1, F.5.1 (AES-128) */
        {"2b7e151628aed2a6abf7158809cf4f3c", TPM_ALG_ECB, "",
         "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
         "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4"},
        {"2b7e151628aed2a6abf7158809cf4f3c", TPM_ALG_CBC, "000102030405060708090a0b0c0d0e0f",
         "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
         "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"},
        {"2b7e151628aed2a6abf7158809cf4f3c", TPM_ALG_CFB, "000102030405060708090a0b0c0d0e0f",
         "3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b"
         "26751f67a3cbb140b1808cf187a4f4dfc04b05357c5d1c0eeac4c66f9ff7f2e6"},
        {"2b7e151628aed2a6abf7158809cf4f3c", TPM_ALG_OFB, "000102030405060708090a0b0c0d0e0f",
         "3b3fd92eb72dad20333449f8e83cfb4a7789508d16918f03f53c52dac54ed825"
         "9740051e9c5fecf64344f7a82260edcc304c6528f659c77866a510d9c1d6ae5e"},
        {"2b7e151628aed2a6abf7158809cf4f3c", TPM_ALG_CTR, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
         "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
         "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee"},
        /* F.1.5, F.2.5, F.3.17, F.4.5, F.5.5 (AES-256) */
        {"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", TPM_ALG_ECB, "",
         "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870"
         "b6ed21b99ca6f4f9f153e7b1beafed1d23304b7a39f9f3ff067d8d8f9e24ecc7"},
        {"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", TPM_ALG_CBC,
         "000102030405060708090a0b0c0d0e0f",
         "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
         "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"},
        {"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", TPM_ALG_CFB,
         "000102030405060708090a0b0c0d0e0f",
         "dc7e84bfda79164b7ecd8486985d386039ffed143b28b1c832113c6331e5407b"
         "df10132415e54b92a13ed0a8267ae2f975a385741ab9cef82031623d55b1e471"},
        {"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", TPM_ALG_OFB,
         "000102030405060708090a0b0c0d0e0f",
         "dc7e84bfda79164b7ecd8486985d38604febdc6740d20b3ac88f6ad82a4fb08d"
         "71ab47a086e86eedf39d1c5bba97c4080126141d67f37be8538f5a8be740e484"},
        {"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", TPM_ALG_CTR,
         "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
         "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
         "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"},
    };
    struct tpm *t = tk_up();
    uint8_t pt[64];
    hex(pt_hex, pt);
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        uint8_t key[32], iv[16], ct[64], out[64], ivo[16], ivo2[16], half[64];
        size_t kl = hex(kat[i].key, key);
        uint16_t ivl = (uint16_t)hex(kat[i].iv, iv);
        hex(kat[i].ct, ct);
        uint32_t h;
        /* a key with its mode fixed, and one that leaves it to the caller */
        assert_int_equal(load_aes(t, key, (uint16_t)kl, kat[i].mode, A_EXT | A_SIGN | A_DECRYPT,
                                  &h),
                         0);
        for (int two = 0; two < 2; two++) {
            assert_int_equal(encrypt_decrypt(t, two, h, false, TPM_ALG_NULL, iv, ivl, pt, 64, out,
                                             ivo),
                             0);
            assert_memory_equal(out, ct, 64);
            assert_int_equal(encrypt_decrypt(t, two, h, true, kat[i].mode, iv, ivl, ct, 64, out,
                                             ivo),
                             0);
            assert_memory_equal(out, pt, 64);
        }
        tk_flush(t, h);
        assert_int_equal(load_aes(t, key, (uint16_t)kl, TPM_ALG_NULL, A_EXT | A_SIGN | A_DECRYPT,
                                  &h),
                         0);
        /* in two halves, the second starting from ivOut: the same as in one piece */
        assert_int_equal(encrypt_decrypt(t, true, h, false, kat[i].mode, iv, ivl, pt, 32, half,
                                         ivo),
                         0);
        assert_int_equal(encrypt_decrypt(t, true, h, false, kat[i].mode, ivo, ivl, pt + 32, 32,
                                         half + 32, ivo2),
                         0);
        assert_memory_equal(half, ct, 64);
        tk_flush(t, h);
    }

    /* refusals */
    uint8_t key[16] = {1}, iv[16] = {0}, out[2048], ivo[16];
    static uint8_t data[1025];
    uint32_t h;
    assert_int_equal(load_aes(t, key, 16, TPM_ALG_NULL, A_EXT | A_SIGN | A_DECRYPT, &h), 0);
    /* IV of the wrong size; an IV for ECB */
    assert_int_equal(encrypt_decrypt(t, false, h, false, TPM_ALG_CFB, iv, 15, data, 16, out, ivo),
                     RCP(TPM_RC_SIZE, 3));
    assert_int_equal(encrypt_decrypt(t, true, h, false, TPM_ALG_CFB, iv, 8, data, 16, out, ivo),
                     RCP(TPM_RC_SIZE, 4));
    assert_int_equal(encrypt_decrypt(t, true, h, false, TPM_ALG_ECB, iv, 16, data, 16, out, ivo),
                     RCP(TPM_RC_SIZE, 4));
    /* CBC and ECB need whole blocks; CFB and CTR do not */
    assert_int_equal(encrypt_decrypt(t, true, h, false, TPM_ALG_CBC, iv, 16, data, 17, out, ivo),
                     RCP(TPM_RC_SIZE, 1));
    assert_int_equal(encrypt_decrypt(t, false, h, false, TPM_ALG_ECB, NULL, 0, data, 1, out, ivo),
                     RCP(TPM_RC_SIZE, 4));
    assert_int_equal(encrypt_decrypt(t, true, h, false, TPM_ALG_CTR, iv, 16, data, 17, out, ivo),
                     0);
    /* neither the key nor the caller chose a mode; a mode that is not a cipher mode */
    assert_int_equal(encrypt_decrypt(t, true, h, false, TPM_ALG_NULL, iv, 16, data, 16, out, ivo),
                     RCP(TPM_RC_MODE, 3));
    assert_int_equal(encrypt_decrypt(t, false, h, false, TPM_ALG_SHA256, iv, 16, data, 16, out,
                                     ivo),
                     RCP(TPM_RC_MODE, 2));
    /* oversized data: 1025 bytes exceed TPM2B_MAX_BUFFER */
    assert_int_equal(encrypt_decrypt(t, true, h, false, TPM_ALG_CFB, iv, 16, data, 1025, out,
                                     ivo),
                     RCP(TPM_RC_SIZE, 1));
    assert_int_equal(encrypt_decrypt(t, true, h, false, TPM_ALG_CFB, iv, 16, data, 1024, out,
                                     ivo),
                     0);
    tk_flush(t, h);
    /* a key in CBC asked for CFB */
    assert_int_equal(load_aes(t, key, 16, TPM_ALG_CBC, A_EXT | A_SIGN | A_DECRYPT, &h), 0);
    assert_int_equal(encrypt_decrypt(t, true, h, false, TPM_ALG_CFB, iv, 16, data, 16, out, ivo),
                     RCP(TPM_RC_MODE, 3));
    tk_flush(t, h);
    /* decrypt needs decrypt, encrypt needs sign */
    assert_int_equal(load_aes(t, key, 16, TPM_ALG_NULL, A_EXT | A_SIGN, &h), 0);
    assert_int_equal(encrypt_decrypt(t, true, h, true, TPM_ALG_CFB, iv, 16, data, 16, out, ivo),
                     RCH(TPM_RC_ATTRIBUTES, 1));
    assert_int_equal(encrypt_decrypt(t, true, h, false, TPM_ALG_CFB, iv, 16, data, 16, out, ivo),
                     0);
    tk_flush(t, h);
    assert_int_equal(load_aes(t, key, 16, TPM_ALG_NULL, A_EXT | A_DECRYPT, &h), 0);
    assert_int_equal(encrypt_decrypt(t, true, h, false, TPM_ALG_CFB, iv, 16, data, 16, out, ivo),
                     RCH(TPM_RC_ATTRIBUTES, 1));
    tk_flush(t, h);
    /* a restricted cipher (a storage parent) may not be used on caller data */
    struct kdesc sd = kd_aes(128, TPM_ALG_CFB, A_KEY | A_RESTRICTED | A_DECRYPT);
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &sd, &h), 0);
    assert_int_equal(encrypt_decrypt(t, true, h, true, TPM_ALG_CFB, iv, 16, data, 16, out, ivo),
                     RCH(TPM_RC_ATTRIBUTES, 1));
    /* a key that is no cipher */
    struct kdesc ed = kd_storage();
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &ed, &h), 0);
    assert_int_equal(encrypt_decrypt(t, true, h, true, TPM_ALG_CFB, iv, 16, data, 16, out, ivo),
                     RCH(TPM_RC_KEY, 1));
    tpm_free(t);
}

static uint32_t load_hmac(struct tpm *t, const uint8_t *key, uint16_t kl, uint16_t hash,
                          uint32_t attrs, uint32_t *h)
{
    struct kdesc d = kd_hmac(attrs, hash);
    uint8_t u[32];
    uint16_t ul;
    ossl_digest(TPM_ALG_SHA256, key, kl, u, &ul);
    return tk_external(t, TPM_RH_NULL, &d, key, kl, u, ul, NULL, 0, h);
}

static uint32_t hmac_cmd(struct tpm *t, uint32_t h, const void *data, uint16_t dl, uint16_t alg,
                         uint8_t *out, uint16_t *ol)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_HMAC);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, data, dl);
    tb_u16(&c, alg);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        *ol = rs_2b(&r, out, 64);
    }
    return rc;
}

static uint32_t hmac_seq(struct tpm *t, uint32_t key, const uint8_t *data, uint16_t dl,
                         uint16_t alg, uint8_t *out, uint16_t *ol)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_HMAC_Start);
    tb_u32(&c, key);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, "seqpw", 5);
    tb_u16(&c, alg);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc != 0) {
        return rc;
    }
    uint32_t s = rs_u32(&r);
    static const char *const pw[] = {"seqpw"};
    for (uint16_t off = 0; off < dl; off = (uint16_t)(off + 5)) {
        uint16_t n = (uint16_t)(dl - off < 5 ? dl - off : 5);
        tb_start(&c, ST_S, TPM_CC_SequenceUpdate);
        tb_u32(&c, s);
        tb_pws(&c, pw, 1);
        tb_2b(&c, data + off, n);
        assert_int_equal(tt_exec(t, &c, &r), 0);
    }
    tb_start(&c, ST_S, TPM_CC_SequenceComplete);
    tb_u32(&c, s);
    tb_pws(&c, pw, 1);
    tb_u16(&c, 0);
    tb_u32(&c, TPM_RH_NULL);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    (void)rs_u32(&r);
    *ol = rs_2b(&r, out, 64);
    return 0;
}

/* RFC 4231 §4.3 (test case 2) and RFC 2202 §3 (test case 2) */
static void test_hmac_kat(void **state)
{
    (void)state;
    static const uint8_t key[] = "Jefe";
    static const uint8_t data[] = "what do ya want for nothing?";
    static const struct {
        uint16_t alg;
        const char *mac;
    } kat[] = {
        {TPM_ALG_SHA1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
        {TPM_ALG_SHA256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {TPM_ALG_SHA384, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                         "8e2240ca5e69e2c78b3239ecfab21649"},
        {TPM_ALG_SHA512, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                         "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    };
    struct tpm *t = tk_up();
    uint32_t h;
    assert_int_equal(load_hmac(t, key, 4, 0, A_EXT | A_SIGN, &h), 0);
    for (size_t i = 0; i < 4; i++) {
        uint8_t want[64], got[64];
        uint16_t gl;
        size_t wl = hex(kat[i].mac, want);
        assert_int_equal(hmac_cmd(t, h, data, sizeof(data) - 1, kat[i].alg, got, &gl), 0);
        assert_int_equal(gl, wl);
        assert_memory_equal(got, want, wl);
        memset(got, 0, sizeof(got));
        assert_int_equal(hmac_seq(t, h, data, sizeof(data) - 1, kat[i].alg, got, &gl), 0);
        assert_int_equal(gl, wl);
        assert_memory_equal(got, want, wl);
    }
    /* without a hash from the key or the caller */
    uint8_t got[64];
    uint16_t gl;
    assert_int_equal(hmac_cmd(t, h, data, 4, TPM_ALG_NULL, got, &gl), RCP(TPM_RC_VALUE, 2));
    tk_flush(t, h);
    /* the key's hash wins: the caller may repeat it or say NULL, nothing else */
    assert_int_equal(load_hmac(t, key, 4, TPM_ALG_SHA256, A_EXT | A_SIGN, &h), 0);
    assert_int_equal(hmac_cmd(t, h, data, sizeof(data) - 1, TPM_ALG_NULL, got, &gl), 0);
    assert_int_equal(gl, 32);
    assert_int_equal(hmac_cmd(t, h, data, 4, TPM_ALG_SHA384, got, &gl), RCP(TPM_RC_VALUE, 2));
    assert_int_equal(hmac_seq(t, h, data, 4, TPM_ALG_SHA1, got, &gl), RCP(TPM_RC_VALUE, 2));
    tk_flush(t, h);
    /* keys that may not MAC: restricted, not signing, not a keyed hash */
    assert_int_equal(load_hmac(t, key, 4, 0, A_EXT | A_DECRYPT, &h), 0);
    assert_int_equal(hmac_cmd(t, h, data, 4, TPM_ALG_SHA256, got, &gl), RCH(TPM_RC_KEY, 1));
    tk_flush(t, h);
    struct kdesc rd = kd_hmac(A_KEY | A_RESTRICTED | A_SIGN, TPM_ALG_SHA256);
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &rd, &h), 0);
    assert_int_equal(hmac_cmd(t, h, data, 4, TPM_ALG_NULL, got, &gl),
                     RCH(TPM_RC_ATTRIBUTES, 1));
    struct kdesc ed = kd_storage();
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &ed, &h), 0);
    assert_int_equal(hmac_cmd(t, h, data, 4, TPM_ALG_NULL, got, &gl), RCH(TPM_RC_TYPE, 1));
    assert_int_equal(hmac_seq(t, h, data, 4, TPM_ALG_NULL, got, &gl), RCH(TPM_RC_TYPE, 1));
    tpm_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_encryption),
        cmocka_unit_test(test_ecdh),
        cmocka_unit_test(test_two_phase),
        cmocka_unit_test(test_commit_points),
        cmocka_unit_test(test_ecc_parameters),
        cmocka_unit_test(test_encrypt_decrypt_kat),
        cmocka_unit_test(test_hmac_kat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of signing (src/tpm/sign.c, Part 3 §20; PolicySigned and PolicyAuthorize tickets,
 * Part 3 §23.3, §23.16): every scheme with RSA 2048/3072, P-256/P-384 and HMAC keys, each
 * signature checked outside the engine (OpenSSL for RSASSA, RSAPSS and ECDSA; the Schnorr and
 * ECDAA equations recomputed here with OpenSSL's EC arithmetic; HMAC known answers), and the
 * refusals Part 3 specifies: schemes that do not match the key, digests of the wrong size,
 * oversized input, restricted keys without a ticket, altered tickets and tickets of another
 * hierarchy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>

#include "tpmkeys.h"

static const uint8_t msg[] = "the quick brown fox signs the lazy dog";

/* A key for signing by LoadExternal of an OpenSSL key (NULL hierarchy, unrestricted). */
static uint32_t ext_rsa(struct tpm *t, const struct ossl_rsa *k, uint16_t scheme, uint16_t hash,
                        uint32_t extra_attrs, uint32_t *h)
{
    struct kdesc d = kd_rsa((uint16_t)(k->nlen * 8), A_EXT | A_SIGN | extra_attrs, scheme, hash);
    return tk_external(t, TPM_RH_NULL, &d, k->p, k->plen, k->n, k->nlen, NULL, 0, h);
}

static uint32_t ext_ecc(struct tpm *t, const struct ossl_ec *k, uint16_t curve, uint16_t scheme,
                        uint16_t hash, uint32_t *h)
{
    struct kdesc d = kd_ecc(curve, A_EXT | A_SIGN, scheme, hash);
    return tk_external(t, TPM_RH_NULL, &d, k->d, k->size, k->x, k->size, k->y, k->size, h);
}

/* ---- every scheme, checked outside ---- */

static void test_rsa_schemes(void **state)
{
    (void)state;
    static const unsigned bits[] = {2048, 3072};
    static const uint16_t schemes[] = {TPM_ALG_RSASSA, TPM_ALG_RSAPSS};
    static const uint16_t hashes[] = {TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384,
                                      TPM_ALG_SHA512};
    struct tpm *t = tk_up();
    for (size_t b = 0; b < 2; b++) {
        struct ossl_rsa k;
        uint32_t h;
        ossl_rsa_new(&k, bits[b]);
        EVP_PKEY *pub = ossl_rsa_pub(k.n, k.nlen);
        assert_int_equal(ext_rsa(t, &k, TPM_ALG_NULL, 0, 0, &h), 0);
        for (size_t s = 0; s < 2; s++) {
            for (size_t i = 0; i < 4; i++) {
                uint8_t d[64];
                uint16_t dl;
                struct tk_sig sig;
                struct tk_ticket tk;
                ossl_digest(hashes[i], msg, sizeof(msg), d, &dl);
                assert_int_equal(tk_sign(t, h, d, dl, schemes[s], hashes[i], 0, NULL, &sig), 0);
                assert_int_equal(sig.alg, schemes[s]);
                assert_int_equal(sig.hash, hashes[i]);
                assert_int_equal(sig.na, k.nlen);
                assert_true(ossl_verify(pub, &sig, d, dl));
                /* the engine verifies its own signature, and refuses a changed one */
                assert_int_equal(tk_verify(t, h, d, dl, sig.raw, sig.len, &tk), 0);
                sig.raw[sig.len - 1] ^= 1;
                assert_int_equal(tk_verify(t, h, d, dl, sig.raw, sig.len, NULL),
                                 RCP(TPM_RC_SIGNATURE, 2));
                d[0] ^= 1;
                sig.raw[sig.len - 1] ^= 1;
                assert_int_equal(tk_verify(t, h, d, dl, sig.raw, sig.len, NULL),
                                 RCP(TPM_RC_SIGNATURE, 2));
            }
        }
        tk_flush(t, h);
        EVP_PKEY_free(pub);
        EVP_PKEY_free(k.pkey);
    }
    tpm_free(t);
}

/* TPM-made keys, scheme in the template (NULL in the request takes it). */
static void test_tpm_keys_sign(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    struct kdesc sd = kd_storage();
    uint32_t parent, h;
    struct tk_pub p;
    struct tk_sig sig;
    uint8_t d[64];
    uint16_t dl;
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &sd, &parent), 0);
    ossl_digest(TPM_ALG_SHA256, msg, sizeof(msg), d, &dl);

    struct kdesc rd = kd_rsa(2048, A_KEY | A_SIGN, TPM_ALG_RSAPSS, TPM_ALG_SHA256);
    assert_int_equal(tk_create_load(t, parent, &rd, NULL, 0, &h, NULL), 0);
    assert_int_equal(tk_read_public(t, h, &p), 0);
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_NULL, 0, 0, NULL, &sig), 0);
    assert_int_equal(sig.alg, TPM_ALG_RSAPSS);
    EVP_PKEY *pub = ossl_rsa_pub(p.u1, p.n1);
    assert_true(ossl_verify(pub, &sig, d, dl));
    EVP_PKEY_free(pub);
    /* the key's scheme cannot be overridden */
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_RSASSA, TPM_ALG_SHA256, 0, NULL, NULL),
                     RCP(TPM_RC_SCHEME, 2));
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_RSAPSS, TPM_ALG_SHA384, 0, NULL, NULL),
                     RCP(TPM_RC_SCHEME, 2));
    tk_flush(t, h);

    struct kdesc ed = kd_ecc(TPM_ECC_NIST_P384, A_KEY | A_SIGN, TPM_ALG_ECDSA, TPM_ALG_SHA384);
    ossl_digest(TPM_ALG_SHA384, msg, sizeof(msg), d, &dl);
    assert_int_equal(tk_create_load(t, parent, &ed, NULL, 0, &h, NULL), 0);
    assert_int_equal(tk_read_public(t, h, &p), 0);
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_NULL, 0, 0, NULL, &sig), 0);
    assert_int_equal(sig.alg, TPM_ALG_ECDSA);
    assert_int_equal(sig.na, 48);
    pub = ossl_ec_pub(TPM_ECC_NIST_P384, p.u1, p.u2, 48);
    assert_true(ossl_verify(pub, &sig, d, dl));
    EVP_PKEY_free(pub);
    tpm_free(t);
}

/*
 * The TPM's EC-Schnorr, recomputed here: R = [s]G - [r]Q, and r must equal
 * H(R.x || digest) cut to the order's length.
 */
static int schnorr_ok(uint16_t curve, const struct ossl_ec *k, uint16_t hash,
                      const struct tk_sig *sig, const uint8_t *digest, size_t dlen)
{
    int nid = curve == TPM_ECC_NIST_P384 ? NID_secp384r1 : NID_X9_62_prime256v1;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *x = BN_bin2bn(k->x, k->size, NULL), *y = BN_bin2bn(k->y, k->size, NULL);
    BIGNUM *r = BN_bin2bn(sig->a, sig->na, NULL), *s = BN_bin2bn(sig->b, sig->nb, NULL);
    BIGNUM *nr = BN_new(), *rx = BN_new(), *e = BN_new();
    EC_POINT *q = EC_POINT_new(g), *R = EC_POINT_new(g);
    uint8_t buf[200], h[64];
    uint16_t hl;
    EC_POINT_set_affine_coordinates(g, q, x, y, bn);
    BN_sub(nr, EC_GROUP_get0_order(g), r);
    EC_POINT_mul(g, R, s, q, nr, bn);
    EC_POINT_get_affine_coordinates(g, R, rx, NULL, bn);
    BN_bn2binpad(rx, buf, k->size);
    memcpy(buf + k->size, digest, dlen);
    ossl_digest(hash, buf, k->size + dlen, h, &hl);
    BN_bin2bn(h, hl < k->size ? hl : k->size, e);
    int ok = BN_cmp(e, r) == 0;
    BN_free(x);
    BN_free(y);
    BN_free(r);
    BN_free(s);
    BN_free(nr);
    BN_free(rx);
    BN_free(e);
    EC_POINT_free(q);
    EC_POINT_free(R);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return ok;
}

static void test_ecc_schemes(void **state)
{
    (void)state;
    static const uint16_t curves[] = {TPM_ECC_NIST_P256, TPM_ECC_NIST_P384};
    static const uint16_t hashes[] = {TPM_ALG_SHA256, TPM_ALG_SHA384, TPM_ALG_SHA512};
    struct tpm *t = tk_up();
    for (size_t c = 0; c < 2; c++) {
        struct ossl_ec k;
        uint32_t h;
        ossl_ec_new(&k, curves[c]);
        assert_int_equal(ext_ecc(t, &k, curves[c], TPM_ALG_NULL, 0, &h), 0);
        for (size_t i = 0; i < 3; i++) {
            uint8_t d[64];
            uint16_t dl;
            struct tk_sig sig;
            ossl_digest(hashes[i], msg, sizeof(msg), d, &dl);
            /* ECDSA: OpenSSL checks it */
            assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_ECDSA, hashes[i], 0, NULL, &sig), 0);
            assert_int_equal(sig.na, k.size);
            assert_int_equal(sig.nb, k.size);
            assert_true(ossl_verify(k.pkey, &sig, d, dl));
            assert_int_equal(tk_verify(t, h, d, dl, sig.raw, sig.len, NULL), 0);
            /* EC-Schnorr: the equation checked here */
            assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_ECSCHNORR, hashes[i], 0, NULL, &sig),
                             0);
            assert_int_equal(sig.alg, TPM_ALG_ECSCHNORR);
            assert_true(schnorr_ok(curves[c], &k, hashes[i], &sig, d, dl));
            assert_int_equal(tk_verify(t, h, d, dl, sig.raw, sig.len, NULL), 0);
            d[3] ^= 0x40;
            assert_false(schnorr_ok(curves[c], &k, hashes[i], &sig, d, dl));
            assert_int_equal(tk_verify(t, h, d, dl, sig.raw, sig.len, NULL),
                             RCP(TPM_RC_SIGNATURE, 2));
        }
        tk_flush(t, h);
        EVP_PKEY_free(k.pkey);
    }
    tpm_free(t);
}

/* HMAC signatures are deterministic: known answers from OpenSSL's HMAC. */
static void test_hmac_sign_known_answer(void **state)
{
    (void)state;
    static const uint8_t key[32] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                    0x0b, 0x0b, 0x0b, 0x0b, 0x42, 0x42, 0x42, 0x42};
    static const uint16_t hashes[] = {TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384,
                                      TPM_ALG_SHA512};
    struct tpm *t = tk_up();
    struct kdesc kd = kd_hmac(A_EXT | A_SIGN, 0);
    uint8_t unique[32];
    uint8_t obf_key[64];
    uint16_t ul;
    uint32_t h;
    /* unique = H_nameAlg(seedValue || key), the seed empty here */
    memcpy(obf_key, key, sizeof(key));
    ossl_digest(TPM_ALG_SHA256, obf_key, sizeof(key), unique, &ul);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &kd, key, sizeof(key), unique, ul, NULL, 0, &h),
                     0);
    for (size_t i = 0; i < 4; i++) {
        uint8_t d[64], want[64];
        uint16_t dl;
        unsigned int wl = 0;
        struct tk_sig sig;
        ossl_digest(hashes[i], msg, sizeof(msg), d, &dl);
        HMAC(ossl_md(hashes[i]), key, sizeof(key), d, dl, want, &wl);
        assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_HMAC, hashes[i], 0, NULL, &sig), 0);
        assert_int_equal(sig.alg, TPM_ALG_HMAC);
        assert_int_equal(sig.na, wl);
        assert_memory_equal(sig.a, want, wl);
        assert_int_equal(tk_verify(t, h, d, dl, sig.raw, sig.len, NULL), 0);
        sig.raw[4] ^= 0x80;
        assert_int_equal(tk_verify(t, h, d, dl, sig.raw, sig.len, NULL),
                         RCP(TPM_RC_SIGNATURE, 2));
    }
    /* an HMAC key cannot sign with an asymmetric scheme */
    uint8_t d[32] = {0};
    assert_int_equal(tk_sign(t, h, d, 32, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0, NULL, NULL),
                     RCP(TPM_RC_SCHEME, 2));
    tk_flush(t, h);
    /* a public-only HMAC key cannot verify: it has no key */
    assert_int_equal(tk_external(t, TPM_RH_NULL, &kd, NULL, 0, unique, ul, NULL, 0, &h), 0);
    uint8_t sigb[2 + 2 + 32] = {0x00, 0x05, 0x00, 0x0B};
    assert_int_equal(tk_verify(t, h, d, 32, sigb, sizeof(sigb), NULL), RCH(TPM_RC_HANDLE, 1));
    tpm_free(t);
}

/* ---- refusals ---- */

static void test_sign_errors(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    struct ossl_rsa rk;
    struct ossl_ec ek;
    uint32_t rh, eh, h;
    uint8_t d[64] = {1, 2, 3};
    ossl_rsa_new(&rk, 2048);
    ossl_ec_new(&ek, TPM_ECC_NIST_P256);
    assert_int_equal(ext_rsa(t, &rk, TPM_ALG_RSASSA, TPM_ALG_SHA256, 0, &rh), 0);
    assert_int_equal(ext_ecc(t, &ek, TPM_ECC_NIST_P256, TPM_ALG_NULL, 0, &eh), 0);

    /* schemes that do not fit the key */
    assert_int_equal(tk_sign(t, rh, d, 32, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0, NULL, NULL),
                     RCP(TPM_RC_SCHEME, 2));
    assert_int_equal(tk_sign(t, eh, d, 32, TPM_ALG_RSASSA, TPM_ALG_SHA256, 0, NULL, NULL),
                     RCP(TPM_RC_SCHEME, 2));
    assert_int_equal(tk_sign(t, eh, d, 32, TPM_ALG_HMAC, TPM_ALG_SHA256, 0, NULL, NULL),
                     RCP(TPM_RC_SCHEME, 2));
    /* no scheme at all: neither the key nor the caller names one */
    assert_int_equal(tk_sign(t, eh, d, 32, TPM_ALG_NULL, 0, 0, NULL, NULL),
                     RCP(TPM_RC_SCHEME, 2));
    /* a scheme the engine does not implement (SM2) is refused when read */
    assert_int_equal(tk_sign(t, eh, d, 32, TPM_ALG_SM2, TPM_ALG_SHA256, 0, NULL, NULL),
                     RCP(TPM_RC_SCHEME, 2));
    /* an ECDAA signature needs an outstanding commit */
    assert_int_equal(tk_sign(t, eh, d, 32, TPM_ALG_ECDAA, TPM_ALG_SHA256, 0, NULL, NULL),
                     TPM_RC_VALUE);

    /* digests of the wrong size: no ticket, so the size must be the scheme's hash size */
    assert_int_equal(tk_sign(t, rh, d, 20, TPM_ALG_NULL, 0, 0, NULL, NULL),
                     RCP(TPM_RC_SIZE, 1));
    assert_int_equal(tk_sign(t, eh, d, 48, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0, NULL, NULL),
                     RCP(TPM_RC_SIZE, 1));
    assert_int_equal(tk_sign(t, eh, d, 0, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0, NULL, NULL),
                     RCP(TPM_RC_SIZE, 1));

    /* oversized data: a TPM2B_DIGEST of 65 bytes is refused while reading */
    {
        struct tb c;
        struct rsp r;
        uint8_t big[65] = {0};
        tb_start(&c, ST_S, TPM_CC_Sign);
        tb_u32(&c, eh);
        tb_pws(&c, pw_empty, 1);
        tb_2b(&c, big, sizeof(big));
        tk_scheme(&c, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0);
        struct tk_ticket nt;
        tk_null_ticket(&nt, TPM_ST_HASHCHECK);
        tb_bytes(&c, nt.b, nt.n);
        assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_SIZE, 1));
        /* a truncated command: no ticket */
        tb_start(&c, ST_S, TPM_CC_Sign);
        tb_u32(&c, eh);
        tb_pws(&c, pw_empty, 1);
        tb_2b(&c, d, 32);
        tk_scheme(&c, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0);
        assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_INSUFFICIENT, 3));
        /* a ticket with the wrong tag */
        tb_start(&c, ST_S, TPM_CC_Sign);
        tb_u32(&c, eh);
        tb_pws(&c, pw_empty, 1);
        tb_2b(&c, d, 32);
        tk_scheme(&c, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0);
        tk_null_ticket(&nt, TPM_ST_VERIFIED);
        tb_bytes(&c, nt.b, nt.n);
        assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_TAG, 3));
    }

    /* keys that may not sign */
    {
        struct kdesc dd = kd_rsa(2048, A_EXT | A_DECRYPT, TPM_ALG_NULL, 0);
        assert_int_equal(
            tk_external(t, TPM_RH_NULL, &dd, rk.p, rk.plen, rk.n, rk.nlen, NULL, 0, &h), 0);
        assert_int_equal(tk_sign(t, h, d, 32, TPM_ALG_RSASSA, TPM_ALG_SHA256, 0, NULL, NULL),
                         RCH(TPM_RC_KEY, 1));
        tk_flush(t, h);
        assert_int_equal(ext_rsa(t, &rk, TPM_ALG_NULL, 0, A_X509, &h), 0);
        assert_int_equal(tk_sign(t, h, d, 32, TPM_ALG_RSASSA, TPM_ALG_SHA256, 0, NULL, NULL),
                         RCH(TPM_RC_ATTRIBUTES, 1));
        tk_flush(t, h);
        /* public only: nothing to sign with */
        struct kdesc pd = kd_ecc(TPM_ECC_NIST_P256, A_UWA | A_SIGN, TPM_ALG_NULL, 0);
        assert_int_equal(
            tk_external(t, TPM_RH_OWNER, &pd, NULL, 0, ek.x, ek.size, ek.y, ek.size, &h), 0);
        assert_int_equal(tk_sign(t, h, d, 32, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0, NULL, NULL),
                         TPM_RC_AUTH_UNAVAILABLE);
        tk_flush(t, h);
    }

    /* VerifySignature refusals */
    {
        struct tk_sig sig;
        uint8_t dig[32];
        uint16_t dl;
        ossl_digest(TPM_ALG_SHA256, msg, sizeof(msg), dig, &dl);
        assert_int_equal(tk_sign(t, eh, dig, dl, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0, NULL, &sig),
                         0);
        /* an ECDSA signature shown to an RSA key */
        assert_int_equal(tk_verify(t, rh, dig, dl, sig.raw, sig.len, NULL),
                         RCP(TPM_RC_SCHEME, 2));
        /* r = 0 */
        struct tk_sig z = sig;
        memset(z.raw + 6, 0, 32);
        assert_int_equal(tk_verify(t, eh, dig, dl, z.raw, z.len, NULL),
                         RCP(TPM_RC_SIGNATURE, 2));
        /* r = n (the order of P-256) */
        static const uint8_t n256[32] = {
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
            0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
        memcpy(z.raw + 6, n256, 32);
        assert_int_equal(tk_verify(t, eh, dig, dl, z.raw, z.len, NULL),
                         RCP(TPM_RC_SIGNATURE, 2));
        /* an RSA signature one byte short */
        assert_int_equal(tk_sign(t, rh, dig, dl, TPM_ALG_NULL, 0, 0, NULL, &sig), 0);
        z = sig;
        z.raw[4] = 0x00;
        z.raw[5] = 0xFF; /* size 255 */
        assert_int_equal(tk_verify(t, rh, dig, dl, z.raw, 4 + 2 + 255, NULL),
                         RCP(TPM_RC_SIGNATURE, 2));
        /* trailing bytes after the signature */
        assert_int_equal(tk_verify(t, rh, dig, dl, z.raw, sig.len, NULL), TPM_RC_SIZE);
        /* a NULL signature may not be given */
        uint8_t nulls[2] = {0x00, 0x10};
        assert_int_equal(tk_verify(t, rh, dig, dl, nulls, 2, NULL), RCP(TPM_RC_SCHEME, 2));
        /* a key without sign */
        struct kdesc dd = kd_rsa(2048, A_UWA | A_DECRYPT, TPM_ALG_NULL, 0);
        assert_int_equal(tk_external(t, TPM_RH_OWNER, &dd, NULL, 0, rk.n, rk.nlen, NULL, 0, &h),
                         0);
        assert_int_equal(tk_verify(t, h, dig, dl, sig.raw, sig.len, NULL),
                         RCH(TPM_RC_ATTRIBUTES, 1));
    }
    EVP_PKEY_free(rk.pkey);
    EVP_PKEY_free(ek.pkey);
    tpm_free(t);
}

/* ---- restricted keys and hash-check tickets ---- */

static uint32_t seq_hash(struct tpm *t, const uint8_t *data, uint16_t len, uint32_t hier,
                         uint8_t *digest, uint16_t *dl, struct tk_ticket *tk)
{
    struct tb c;
    struct rsp r;
    uint32_t h, rc;
    tb_start(&c, ST_NO, TPM_CC_HashSequenceStart);
    tb_u16(&c, 0);
    tb_u16(&c, TPM_ALG_SHA256);
    if ((rc = tt_exec(t, &c, &r)) != 0) {
        return rc;
    }
    h = rs_u32(&r);
    tb_start(&c, ST_S, TPM_CC_SequenceUpdate);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, data, len / 2);
    if ((rc = tt_exec(t, &c, &r)) != 0) {
        return rc;
    }
    tb_start(&c, ST_S, TPM_CC_SequenceComplete);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, data + len / 2, (uint16_t)(len - len / 2));
    tb_u32(&c, hier);
    if ((rc = tt_exec(t, &c, &r)) != 0) {
        return rc;
    }
    (void)rs_u32(&r);
    *dl = rs_2b(&r, digest, 64);
    tk_parse_ticket(&r, tk);
    return 0;
}

static void test_restricted_tickets(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    struct kdesc ak = kd_ecc(TPM_ECC_NIST_P256, A_KEY | A_RESTRICTED | A_SIGN, TPM_ALG_ECDSA,
                             TPM_ALG_SHA256);
    uint32_t h;
    struct tk_pub p;
    struct tk_sig sig;
    struct tk_ticket tk, tk2;
    uint8_t d[64], d2[64];
    uint16_t dl, dl2;
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &ak, &h), 0);
    assert_int_equal(tk_read_public(t, h, &p), 0);
    EVP_PKEY *pub = ossl_ec_pub(TPM_ECC_NIST_P256, p.u1, p.u2, 32);

    /* an external digest is refused without a ticket */
    ossl_digest(TPM_ALG_SHA256, msg, sizeof(msg), d, &dl);
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_NULL, 0, 0, NULL, NULL),
                     RCP(TPM_RC_TICKET, 3));

    /* a digest the TPM made, with its ticket, is signed */
    assert_int_equal(tk_hash(t, msg, sizeof(msg), TPM_ALG_SHA256, TPM_RH_OWNER, d2, &dl2, &tk),
                     0);
    assert_memory_equal(d, d2, 32);
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_NULL, 0, 0, &tk, &sig), 0);
    assert_true(ossl_verify(pub, &sig, d, dl));
    /* a sequence's ticket too */
    assert_int_equal(seq_hash(t, msg, sizeof(msg), TPM_RH_OWNER, d2, &dl2, &tk2), 0);
    assert_memory_equal(d, d2, 32);
    assert_memory_equal(tk.b, tk2.b, tk.n);
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_NULL, 0, 0, &tk2, &sig), 0);

    /* the ticket does not fit another digest */
    d2[0] ^= 1;
    assert_int_equal(tk_sign(t, h, d2, dl, TPM_ALG_NULL, 0, 0, &tk, NULL),
                     RCP(TPM_RC_TICKET, 3));
    /* an altered ticket */
    tk2 = tk;
    tk2.b[tk2.n - 1] ^= 1;
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_NULL, 0, 0, &tk2, NULL),
                     RCP(TPM_RC_TICKET, 3));
    /* the same ticket claiming another hierarchy (the hierarchy follows the tag) */
    static const uint32_t others[] = {TPM_RH_ENDORSEMENT, TPM_RH_PLATFORM, TPM_RH_NULL};
    for (size_t i = 0; i < 3; i++) {
        tk2 = tk;
        tk2.b[2] = (uint8_t)(others[i] >> 24);
        tk2.b[5] = (uint8_t)others[i];
        assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_NULL, 0, 0, &tk2, NULL),
                         RCP(TPM_RC_TICKET, 3));
    }
    /* a ticket made in another hierarchy */
    assert_int_equal(
        tk_hash(t, msg, sizeof(msg), TPM_ALG_SHA256, TPM_RH_ENDORSEMENT, d2, &dl2, &tk2), 0);
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_NULL, 0, 0, &tk2, &sig), 0);
    /* ... is fine (it still proves the TPM hashed it), but not once renamed */
    tk2.b[5] = 0x01; /* TPM_RH_OWNER */
    tk2.b[2] = 0x40;
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_NULL, 0, 0, &tk2, NULL),
                     RCP(TPM_RC_TICKET, 3));
    /* a ticket of a SHA-384 digest does not pass for the key's SHA-256 scheme */
    assert_int_equal(tk_hash(t, msg, sizeof(msg), TPM_ALG_SHA384, TPM_RH_OWNER, d2, &dl2, &tk2),
                     0);
    assert_int_equal(tk_sign(t, h, d2, dl2, TPM_ALG_NULL, 0, 0, &tk2, NULL),
                     RCP(TPM_RC_TICKET, 3));

    /* data that starts with TPM_GENERATED_VALUE gets no ticket: a forged attestation */
    uint8_t forged[64] = {0xFF, 'T', 'C', 'G', 0x80, 0x18};
    assert_int_equal(
        tk_hash(t, forged, sizeof(forged), TPM_ALG_SHA256, TPM_RH_OWNER, d2, &dl2, &tk2), 0);
    assert_int_equal(tk2.n, 8); /* the NULL ticket */
    assert_int_equal(tk_sign(t, h, d2, dl2, TPM_ALG_NULL, 0, 0, &tk2, NULL),
                     RCP(TPM_RC_TICKET, 3));
    assert_int_equal(seq_hash(t, forged, sizeof(forged), TPM_RH_OWNER, d2, &dl2, &tk2), 0);
    assert_int_equal(tk_sign(t, h, d2, dl2, TPM_ALG_NULL, 0, 0, &tk2, NULL),
                     RCP(TPM_RC_TICKET, 3));

    /* an unrestricted key checks a ticket that is given */
    struct ossl_ec ek;
    uint32_t uh;
    ossl_ec_new(&ek, TPM_ECC_NIST_P256);
    assert_int_equal(ext_ecc(t, &ek, TPM_ECC_NIST_P256, TPM_ALG_ECDSA, TPM_ALG_SHA256, &uh), 0);
    tk2 = tk;
    tk2.b[tk2.n - 1] ^= 1;
    assert_int_equal(tk_sign(t, uh, d, dl, TPM_ALG_NULL, 0, 0, &tk2, NULL),
                     RCP(TPM_RC_TICKET, 3));
    assert_int_equal(tk_sign(t, uh, d, dl, TPM_ALG_NULL, 0, 0, &tk, NULL), 0);
    EVP_PKEY_free(ek.pkey);
    EVP_PKEY_free(pub);
    tpm_free(t);
}

/* ---- VerifySignature tickets and PolicyAuthorize ---- */

static uint32_t start_policy(struct tpm *t, uint8_t type, uint32_t *h, uint8_t *nonce,
                             uint16_t *nl)
{
    struct tb c;
    struct rsp r;
    uint8_t caller[16] = {9, 9, 9};
    tb_start(&c, ST_NO, TPM_CC_StartAuthSession);
    tb_u32(&c, TPM_RH_NULL);
    tb_u32(&c, TPM_RH_NULL);
    tb_2b(&c, caller, sizeof(caller));
    tb_u16(&c, 0);
    tb_u8(&c, type);
    tb_u16(&c, TPM_ALG_NULL);
    tb_u16(&c, TPM_ALG_SHA256);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        *h = rs_u32(&r);
        *nl = rs_2b(&r, nonce, 64);
    }
    return rc;
}

static void policy_digest(struct tpm *t, uint32_t s, uint8_t *out)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_PolicyGetDigest);
    tb_u32(&c, s);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(rs_2b(&r, out, 32), 32);
}

/* ECDSA by OpenSSL over digest, as a TPMT_SIGNATURE. */
static size_t ossl_ecdsa_sig(EVP_PKEY *k, const uint8_t *digest, size_t dl, uint8_t *out)
{
    uint8_t der[128];
    size_t derlen = sizeof(der);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
    EVP_PKEY_sign_init(ctx);
    EVP_PKEY_sign(ctx, der, &derlen, digest, dl);
    EVP_PKEY_CTX_free(ctx);
    const unsigned char *pp = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &pp, (long)derlen);
    const BIGNUM *r, *ss;
    ECDSA_SIG_get0(s, &r, &ss);
    out[0] = 0x00;
    out[1] = 0x18; /* ECDSA */
    out[2] = 0x00;
    out[3] = 0x0B; /* SHA-256 */
    out[4] = 0;
    out[5] = 32;
    BN_bn2binpad(r, out + 6, 32);
    out[38] = 0;
    out[39] = 32;
    BN_bn2binpad(ss, out + 40, 32);
    ECDSA_SIG_free(s);
    return 72;
}

static uint32_t policy_authorize(struct tpm *t, uint32_t s, const uint8_t *approved,
                                 const uint8_t *ref, uint16_t rl, const struct tk_pub *key,
                                 const struct tk_ticket *tk)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_PolicyAuthorize);
    tb_u32(&c, s);
    tb_2b(&c, approved, 32);
    tb_2b(&c, ref, rl);
    tb_2b(&c, key->name, key->name_len);
    tb_bytes(&c, tk->b, tk->n);
    return tt_exec(t, &c, &r);
}

static void test_verify_ticket_policy_authorize(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    struct ossl_ec k;
    uint32_t owner_key, null_key, s;
    struct tk_pub p;
    uint8_t nonce[64], approved[32] = {0}, ahash[32], sig[128], pd[32], want[32];
    uint16_t nl, al;
    static const uint8_t ref[] = "policy-ref";
    struct tk_ticket tk, tk_null;
    ossl_ec_new(&k, TPM_ECC_NIST_P256);
    struct kdesc pub = kd_ecc(TPM_ECC_NIST_P256, A_UWA | A_SIGN, TPM_ALG_NULL, 0);
    assert_int_equal(
        tk_external(t, TPM_RH_OWNER, &pub, NULL, 0, k.x, k.size, k.y, k.size, &owner_key), 0);
    assert_int_equal(
        tk_external(t, TPM_RH_NULL, &pub, NULL, 0, k.x, k.size, k.y, k.size, &null_key), 0);
    assert_int_equal(tk_read_public(t, owner_key, &p), 0);

    /* aHash = H(approvedPolicy || policyRef), signed outside the TPM */
    uint8_t buf[64];
    memcpy(buf, approved, 32);
    memcpy(buf + 32, ref, sizeof(ref));
    ossl_digest(TPM_ALG_SHA256, buf, 32 + sizeof(ref), ahash, &al);
    size_t sl = ossl_ecdsa_sig(k.pkey, ahash, al, sig);
    assert_int_equal(tk_verify(t, owner_key, ahash, al, sig, sl, &tk), 0);
    assert_int_equal(tk.b[0] << 8 | tk.b[1], TPM_ST_VERIFIED);
    assert_int_equal(tk.b[5], 0x01); /* TPM_RH_OWNER */
    assert_int_equal(tk.n, 2 + 4 + 2 + 32);
    /* a key in the NULL hierarchy gets the NULL ticket */
    assert_int_equal(tk_verify(t, null_key, ahash, al, sig, sl, &tk_null), 0);
    assert_int_equal(tk_null.n, 8);

    /* PolicyAuthorize accepts exactly this ticket */
    assert_int_equal(start_policy(t, 0x01, &s, nonce, &nl), 0);
    assert_int_equal(policy_authorize(t, s, approved, ref, sizeof(ref), &p, &tk), 0);
    /* policyDigest = H(0 || TPM_CC_PolicyAuthorize || keyName) then H(that || policyRef) */
    memset(buf, 0, 32);
    buf[32] = 0x00;
    buf[33] = 0x00;
    buf[34] = 0x01;
    buf[35] = 0x6A;
    uint8_t bb[128];
    memcpy(bb, buf, 36);
    memcpy(bb + 36, p.name, p.name_len);
    ossl_digest(TPM_ALG_SHA256, bb, 36 + p.name_len, want, &al);
    memcpy(bb, want, 32);
    memcpy(bb + 32, ref, sizeof(ref));
    ossl_digest(TPM_ALG_SHA256, bb, 32 + sizeof(ref), want, &al);
    policy_digest(t, s, pd);
    assert_memory_equal(pd, want, 32);
    tk_flush(t, s);

    /* an altered ticket, a NULL ticket, another policyRef: refused */
    struct tk_ticket bad = tk;
    bad.b[bad.n - 3] ^= 4;
    assert_int_equal(start_policy(t, 0x01, &s, nonce, &nl), 0);
    assert_int_equal(policy_authorize(t, s, approved, ref, sizeof(ref), &p, &bad),
                     RCP(TPM_RC_POLICY_FAIL, 4));
    assert_int_equal(policy_authorize(t, s, approved, ref, sizeof(ref), &p, &tk_null),
                     RCP(TPM_RC_TICKET, 4));
    assert_int_equal(policy_authorize(t, s, approved, ref, 3, &p, &tk),
                     RCP(TPM_RC_POLICY_FAIL, 4));
    /* a ticket renamed to another hierarchy */
    bad = tk;
    bad.b[5] = 0x0B; /* TPM_RH_ENDORSEMENT */
    assert_int_equal(policy_authorize(t, s, approved, ref, sizeof(ref), &p, &bad),
                     RCP(TPM_RC_POLICY_FAIL, 4));
    tk_flush(t, s);
    EVP_PKEY_free(k.pkey);
    tpm_free(t);
}

/* ---- PolicySigned ---- */

static uint32_t policy_signed(struct tpm *t, uint32_t key, uint32_t s, const uint8_t *nonce,
                              uint16_t nl, int32_t expiration, const uint8_t *ref, uint16_t rl,
                              const uint8_t *sig, size_t sl, uint8_t *timeout, uint16_t *tl,
                              struct tk_ticket *tk)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_PolicySigned);
    tb_u32(&c, key);
    tb_u32(&c, s);
    tb_2b(&c, nonce, nl);
    tb_u16(&c, 0); /* cpHashA */
    tb_2b(&c, ref, rl);
    tb_u32(&c, (uint32_t)expiration);
    tb_bytes(&c, sig, sl);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0 && tk) {
        *tl = rs_2b(&r, timeout, 8);
        tk_parse_ticket(&r, tk);
    }
    return rc;
}

/* aHash = H(nonceTPM || expiration || cpHashA (empty) || policyRef) */
static void signed_ahash(const uint8_t *nonce, uint16_t nl, int32_t exp, const uint8_t *ref,
                         uint16_t rl, uint8_t *out)
{
    uint8_t buf[256];
    uint16_t n = 0, ol;
    memcpy(buf, nonce, nl);
    n = nl;
    buf[n++] = (uint8_t)((uint32_t)exp >> 24);
    buf[n++] = (uint8_t)((uint32_t)exp >> 16);
    buf[n++] = (uint8_t)((uint32_t)exp >> 8);
    buf[n++] = (uint8_t)exp;
    memcpy(buf + n, ref, rl);
    n = (uint16_t)(n + rl);
    ossl_digest(TPM_ALG_SHA256, buf, n, out, &ol);
}

static void test_policy_signed(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    struct ossl_ec k;
    uint32_t key, s;
    struct tk_pub p;
    uint8_t nonce[64], ahash[32], sig[128], pd[32], want[32], timeout[8];
    uint16_t nl, tl, al;
    struct tk_ticket tk;
    static const uint8_t ref[] = {0xAA, 0xBB};
    ossl_ec_new(&k, TPM_ECC_NIST_P256);
    struct kdesc pub = kd_ecc(TPM_ECC_NIST_P256, A_UWA | A_SIGN, TPM_ALG_NULL, 0);
    assert_int_equal(
        tk_external(t, TPM_RH_OWNER, &pub, NULL, 0, k.x, k.size, k.y, k.size, &key), 0);
    assert_int_equal(tk_read_public(t, key, &p), 0);

    assert_int_equal(start_policy(t, 0x01, &s, nonce, &nl), 0);
    signed_ahash(nonce, nl, 0, ref, sizeof(ref), ahash);
    size_t sl = ossl_ecdsa_sig(k.pkey, ahash, 32, sig);
    assert_int_equal(policy_signed(t, key, s, nonce, nl, 0, ref, sizeof(ref), sig, sl, timeout,
                                   &tl, &tk),
                     0);
    assert_int_equal(tl, 0);
    assert_int_equal(tk.n, 8); /* no expiration: the NULL ticket */
    /* policyDigest = H(H(0 || TPM_CC_PolicySigned || authName) || policyRef) */
    uint8_t bb[128] = {0};
    bb[34] = 0x01;
    bb[35] = 0x60;
    memcpy(bb + 36, p.name, p.name_len);
    ossl_digest(TPM_ALG_SHA256, bb, 36 + p.name_len, want, &al);
    memcpy(bb, want, 32);
    memcpy(bb + 32, ref, sizeof(ref));
    ossl_digest(TPM_ALG_SHA256, bb, 32 + sizeof(ref), want, &al);
    policy_digest(t, s, pd);
    assert_memory_equal(pd, want, 32);
    tk_flush(t, s);

    /* a signature over something else, a changed nonce, an expiration without a nonce */
    assert_int_equal(start_policy(t, 0x01, &s, nonce, &nl), 0);
    assert_int_equal(policy_signed(t, key, s, nonce, nl, 0, ref, sizeof(ref), sig, sl, NULL,
                                   NULL, NULL),
                     RCP(TPM_RC_SIGNATURE, 5));
    uint8_t wrong[32];
    memcpy(wrong, nonce, nl);
    wrong[0] ^= 1;
    assert_int_equal(policy_signed(t, key, s, wrong, nl, 0, ref, sizeof(ref), sig, sl, NULL,
                                   NULL, NULL),
                     RCP(TPM_RC_NONCE, 1));
    assert_int_equal(policy_signed(t, key, s, NULL, 0, 100, ref, sizeof(ref), sig, sl, NULL,
                                   NULL, NULL),
                     RCP(TPM_RC_EXPIRED, 4));
    /* a signature scheme the key type cannot verify */
    uint8_t rsasig[8] = {0x00, 0x14, 0x00, 0x0B, 0x00, 0x02, 1, 2};
    assert_int_equal(policy_signed(t, key, s, nonce, nl, 0, ref, sizeof(ref), rsasig,
                                   sizeof(rsasig), NULL, NULL, NULL),
                     RCP(TPM_RC_SCHEME, 5));

    /* expiration < 0: a ticket PolicyTicket accepts in another session */
    signed_ahash(nonce, nl, -60, ref, sizeof(ref), ahash);
    sl = ossl_ecdsa_sig(k.pkey, ahash, 32, sig);
    assert_int_equal(policy_signed(t, key, s, nonce, nl, -60, ref, sizeof(ref), sig, sl,
                                   timeout, &tl, &tk),
                     0);
    assert_int_equal(tl, 8);
    assert_int_equal(tk.b[0] << 8 | tk.b[1], TPM_ST_AUTH_SIGNED);
    uint8_t digest_signed[32];
    policy_digest(t, s, digest_signed);
    uint32_t s2;
    assert_int_equal(start_policy(t, 0x01, &s2, nonce, &nl), 0);
    {
        struct tb c;
        struct rsp r;
        tb_start(&c, ST_NO, TPM_CC_PolicyTicket);
        tb_u32(&c, s2);
        tb_2b(&c, timeout, tl);
        tb_u16(&c, 0);
        tb_2b(&c, ref, sizeof(ref));
        tb_2b(&c, p.name, p.name_len);
        tb_bytes(&c, tk.b, tk.n);
        assert_int_equal(tt_exec(t, &c, &r), 0);
        policy_digest(t, s2, pd);
        assert_memory_equal(pd, digest_signed, 32);
    }
    tk_flush(t, s);
    tk_flush(t, s2);

    /* a trial session checks nothing: any signature will do */
    assert_int_equal(start_policy(t, 0x03, &s, nonce, &nl), 0);
    assert_int_equal(policy_signed(t, key, s, NULL, 0, 0, ref, sizeof(ref), rsasig,
                                   sizeof(rsasig), timeout, &tl, &tk),
                     0);
    policy_digest(t, s, pd);
    assert_memory_equal(pd, want, 32);
    EVP_PKEY_free(k.pkey);
    tpm_free(t);
}

/* ---- ECDAA: Commit then Sign ---- */

struct commit_out {
    uint8_t K[2][66], L[2][66], E[2][66];
    uint16_t nK, nL, nE;
    uint16_t counter;
};

static void rd_point(struct rsp *r, uint8_t p[2][66], uint16_t *n)
{
    uint16_t size = rs_u16(r);
    if (size == 0) {
        *n = 0;
        return;
    }
    *n = rs_2b(r, p[0], 66);
    (void)rs_2b(r, p[1], 66);
}

static uint32_t commit(struct tpm *t, uint32_t h, struct commit_out *o)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_Commit);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_u16(&c, 0); /* P1 */
    tb_u16(&c, 0); /* s2 */
    tb_u16(&c, 0); /* y2 */
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        rd_point(&r, o->K, &o->nK);
        rd_point(&r, o->L, &o->nL);
        rd_point(&r, o->E, &o->nE);
        o->counter = rs_u16(&r);
    }
    return rc;
}

/* [s]G == E + [T]Q with T = H(nonce || digest) mod n: the ECDAA signature equation. */
static int ecdaa_ok(const struct ossl_ec *k, const struct commit_out *co, const struct tk_sig *s,
                    const uint8_t *digest, size_t dl)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BN_CTX *bn = BN_CTX_new();
    EC_POINT *lhs = EC_POINT_new(g), *rhs = EC_POINT_new(g), *q = EC_POINT_new(g),
             *e = EC_POINT_new(g);
    BIGNUM *x = BN_new(), *y = BN_new(), *tt = BN_new(), *ss = BN_bin2bn(s->b, s->nb, NULL);
    uint8_t buf[200], h[32];
    uint16_t hl;
    BN_bin2bn(k->x, 32, x);
    BN_bin2bn(k->y, 32, y);
    EC_POINT_set_affine_coordinates(g, q, x, y, bn);
    BN_bin2bn(co->E[0], 32, x);
    BN_bin2bn(co->E[1], 32, y);
    EC_POINT_set_affine_coordinates(g, e, x, y, bn);
    memcpy(buf, s->a, s->na);
    memcpy(buf + s->na, digest, dl);
    ossl_digest(TPM_ALG_SHA256, buf, s->na + dl, h, &hl);
    BN_bin2bn(h, hl, tt);
    BN_mod(tt, tt, EC_GROUP_get0_order(g), bn);
    EC_POINT_mul(g, lhs, ss, NULL, NULL, bn);
    EC_POINT_mul(g, rhs, NULL, q, tt, bn);
    EC_POINT_add(g, rhs, rhs, e, bn);
    int ok = EC_POINT_cmp(g, lhs, rhs, bn) == 0;
    EC_POINT_free(lhs);
    EC_POINT_free(rhs);
    EC_POINT_free(q);
    EC_POINT_free(e);
    BN_free(x);
    BN_free(y);
    BN_free(tt);
    BN_free(ss);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return ok;
}

static void test_ecdaa(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    struct ossl_ec k;
    uint32_t h, plain;
    struct commit_out co, co2;
    struct tk_sig sig;
    uint8_t d[32];
    uint16_t dl;
    ossl_ec_new(&k, TPM_ECC_NIST_P256);
    assert_int_equal(ext_ecc(t, &k, TPM_ECC_NIST_P256, TPM_ALG_ECDAA, TPM_ALG_SHA256, &h), 0);
    ossl_digest(TPM_ALG_SHA256, msg, sizeof(msg), d, &dl);
    assert_int_equal(commit(t, h, &co), 0);
    assert_int_equal(co.nK, 0); /* no P2: only E = [r]G */
    assert_int_equal(co.nL, 0);
    assert_int_equal(co.nE, 32);
    assert_int_equal(commit(t, h, &co2), 0);
    assert_int_equal(co2.counter, (uint16_t)(co.counter + 1));
    assert_memory_not_equal(co.E[0], co2.E[0], 32);
    /* ECDAA needs the count: the key's default alone is not enough */
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_NULL, 0, 0, NULL, NULL),
                     RCP(TPM_RC_SCHEME, 2));
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_ECDAA, TPM_ALG_SHA256, co.counter, NULL, &sig),
                     0);
    assert_int_equal(sig.alg, TPM_ALG_ECDAA);
    assert_true(ecdaa_ok(&k, &co, &sig, d, dl));
    /* each commit signs once */
    assert_int_equal(tk_sign(t, h, d, dl, TPM_ALG_ECDAA, TPM_ALG_SHA256, co.counter, NULL, NULL),
                     TPM_RC_VALUE);
    assert_int_equal(
        tk_sign(t, h, d, dl, TPM_ALG_ECDAA, TPM_ALG_SHA256, co2.counter, NULL, &sig), 0);
    assert_true(ecdaa_ok(&k, &co2, &sig, d, dl));
    assert_false(ecdaa_ok(&k, &co, &sig, d, dl));
    /* a count never committed */
    assert_int_equal(
        tk_sign(t, h, d, dl, TPM_ALG_ECDAA, TPM_ALG_SHA256, co2.counter + 5, NULL, NULL),
        TPM_RC_VALUE);
    /* the engine does not verify ECDAA itself */
    assert_int_equal(tk_verify(t, h, d, dl, sig.raw, sig.len, NULL), RCP(TPM_RC_SCHEME, 2));
    /* Commit needs a key with an anonymous scheme */
    assert_int_equal(ext_ecc(t, &k, TPM_ECC_NIST_P256, TPM_ALG_ECDSA, TPM_ALG_SHA256, &plain),
                     0);
    assert_int_equal(commit(t, plain, &co), RCH(TPM_RC_SCHEME, 1));
    EVP_PKEY_free(k.pkey);
    tpm_free(t);
}

/* Built keys are kept for reuse (engine.h key cache): a slot that is flushed and refilled with
 * another key must sign with the new key, never the remembered one. */
static void test_key_cache_slot_reuse(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    uint8_t d[32];
    uint16_t dl;
    ossl_digest(TPM_ALG_SHA256, msg, sizeof(msg), d, &dl);
    for (int round = 0; round < 3; round++) {
        struct ossl_rsa rk;
        struct ossl_ec ek;
        uint32_t rh, eh;
        struct tk_sig sig;
        ossl_rsa_new(&rk, 2048);
        ossl_ec_new(&ek, TPM_ECC_NIST_P256);
        EVP_PKEY *rpub = ossl_rsa_pub(rk.n, rk.nlen);
        assert_int_equal(ext_rsa(t, &rk, TPM_ALG_NULL, 0, 0, &rh), 0);
        assert_int_equal(ext_ecc(t, &ek, TPM_ECC_NIST_P256, TPM_ALG_NULL, 0, &eh), 0);
        /* twice each: built, then reused */
        for (int i = 0; i < 2; i++) {
            assert_int_equal(tk_sign(t, rh, d, dl, TPM_ALG_RSASSA, TPM_ALG_SHA256, 0, NULL, &sig),
                             0);
            assert_true(ossl_verify(rpub, &sig, d, dl));
            assert_int_equal(tk_sign(t, eh, d, dl, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0, NULL, &sig),
                             0);
            assert_true(ossl_verify(ek.pkey, &sig, d, dl));
        }
        /* the same handles come back for the next round's keys */
        assert_int_equal(tk_flush(t, rh), 0);
        assert_int_equal(tk_flush(t, eh), 0);
        EVP_PKEY_free(rpub);
        EVP_PKEY_free(rk.pkey);
        EVP_PKEY_free(ek.pkey);
    }
    tpm_free(t);
}

/* Loaded keys travel with the volatile state (migration): the same handle, the same name,
 * and the key still signs on the other side. */
static void test_loaded_keys_in_volatile_state(void **state)
{
    (void)state;
    struct tpm *t = tk_up();
    uint32_t h = 0;
    struct tk_pub before, after;
    struct kdesc d = kd_ecc(TPM_ECC_NIST_P256, A_KEY | A_SIGN, TPM_ALG_ECDSA, TPM_ALG_SHA256);
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &d, &h), 0);
    assert_int_equal(tk_read_public(t, h, &before), 0);
    struct tpm_buf p = {0}, v = {0};
    assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, &p), 0);
    assert_int_equal(tpm_state_save(t, TPM_STATE_VOLATILE, &v), 0);
    struct tpm *t2 = tpm_new(NULL, NULL);
    assert_int_equal(tpm_state_load(t2, TPM_STATE_PERMANENT, p.data, p.len), 0);
    tpm_init(t2);
    assert_int_equal(tpm_state_load(t2, TPM_STATE_VOLATILE, v.data, v.len), 0);
    assert_int_equal(tk_read_public(t2, h, &after), 0);
    assert_int_equal(before.name_len, after.name_len);
    assert_memory_equal(before.name, after.name, before.name_len);
    uint8_t digest[32] = {1, 2, 3};
    struct tk_sig sig;
    assert_int_equal(tk_sign(t2, h, digest, 32, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0, NULL, &sig), 0);
    tpm_buf_free(&p);
    tpm_buf_free(&v);
    tpm_free(t);
    tpm_free(t2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loaded_keys_in_volatile_state),
        cmocka_unit_test(test_rsa_schemes),
        cmocka_unit_test(test_tpm_keys_sign),
        cmocka_unit_test(test_ecc_schemes),
        cmocka_unit_test(test_hmac_sign_known_answer),
        cmocka_unit_test(test_sign_errors),
        cmocka_unit_test(test_restricted_tickets),
        cmocka_unit_test(test_verify_ticket_policy_authorize),
        cmocka_unit_test(test_policy_signed),
        cmocka_unit_test(test_ecdaa),
        cmocka_unit_test(test_key_cache_slot_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of keys and objects (src/tpm/object.c, primary.c, objcmd.c, context.c, dup.c),
 * driven with raw command bytes through tpm_execute: primary derivation (determinism, cache,
 * known answers), create/load/unseal, private-blob integrity, wrong parents, malformed
 * templates, object contexts, persistent objects across a state reload, hierarchy control,
 * ObjectChangeAuth, credentials and LoadExternal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tpm/engine.h"
#include "tpm/object.h"
#include "tpm/primary.h"
#include "tpmtest.h"

#define ST_NO 0x8001
#define ST_S 0x8002

/* Response codes as the engine numbers them (Part 2 §6.6.3). */
#define P1(rc) ((rc) | 0x140u)
#define P2(rc) ((rc) | 0x240u)
#define H1(rc) ((rc) | 0x100u)

static const char *const pw_empty[] = {""};

static struct tpm *tpm_up(void)
{
    struct tpm *t = tpm_new(NULL, NULL);
    struct tb c;
    struct rsp r;
    assert_non_null(t);
    tpm_init(t);
    tb_start(&c, ST_NO, TPM_CC_Startup);
    tb_u16(&c, TPM_SU_CLEAR);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    return t;
}

/* ---- templates (TPMT_PUBLIC inside a TPM2B_PUBLIC) ---- */

enum tmpl {
    T_ECC_STORAGE,  /* tpm2-tools' ecc256 default */
    T_RSA_STORAGE,  /* rsa2048 storage key */
    T_RSA3072_STORAGE,
    T_HMAC,         /* keyed-hash HMAC-SHA256 signing key */
    T_SEAL,         /* data object */
    T_AES_STORAGE,
    T_ECC_SIGN,     /* unrestricted ECDSA */
};

static void tmpl_body(struct tb *c, enum tmpl k, uint32_t attrs_override, int policy_len)
{
    uint32_t storage = 0x00030072; /* fixedTPM fixedParent sdo userWithAuth restricted decrypt */
    switch (k) {
    case T_ECC_STORAGE:
    case T_ECC_SIGN:
        tb_u16(c, TPM_ALG_ECC);
        tb_u16(c, TPM_ALG_SHA256);
        tb_u32(c, attrs_override ? attrs_override : k == T_ECC_SIGN ? 0x00040072 : storage);
        tb_u16(c, (uint16_t)policy_len);
        for (int i = 0; i < policy_len; i++) {
            tb_u8(c, 0xAB);
        }
        if (k == T_ECC_SIGN) {
            tb_u16(c, TPM_ALG_NULL);
            tb_u16(c, TPM_ALG_ECDSA);
            tb_u16(c, TPM_ALG_SHA256);
        } else {
            tb_u16(c, TPM_ALG_AES);
            tb_u16(c, 128);
            tb_u16(c, TPM_ALG_CFB);
            tb_u16(c, TPM_ALG_NULL);
        }
        tb_u16(c, TPM_ECC_NIST_P256);
        tb_u16(c, TPM_ALG_NULL);
        tb_u16(c, 0);
        tb_u16(c, 0);
        break;
    case T_RSA_STORAGE:
    case T_RSA3072_STORAGE:
        tb_u16(c, TPM_ALG_RSA);
        tb_u16(c, TPM_ALG_SHA256);
        tb_u32(c, attrs_override ? attrs_override : storage);
        tb_u16(c, (uint16_t)policy_len);
        for (int i = 0; i < policy_len; i++) {
            tb_u8(c, 0xAB);
        }
        tb_u16(c, TPM_ALG_AES);
        tb_u16(c, 128);
        tb_u16(c, TPM_ALG_CFB);
        tb_u16(c, TPM_ALG_NULL);
        tb_u16(c, k == T_RSA_STORAGE ? 2048 : 3072);
        tb_u32(c, 0);
        tb_u16(c, 0);
        break;
    case T_HMAC:
        tb_u16(c, TPM_ALG_KEYEDHASH);
        tb_u16(c, TPM_ALG_SHA256);
        tb_u32(c, attrs_override ? attrs_override : 0x00040072);
        tb_u16(c, 0);
        tb_u16(c, TPM_ALG_HMAC);
        tb_u16(c, TPM_ALG_SHA256);
        tb_u16(c, 0);
        break;
    case T_SEAL:
        tb_u16(c, TPM_ALG_KEYEDHASH);
        tb_u16(c, TPM_ALG_SHA256);
        tb_u32(c, attrs_override ? attrs_override : 0x00000052); /* fixedTPM fixedParent uwa */
        tb_u16(c, 0);
        tb_u16(c, TPM_ALG_NULL);
        tb_u16(c, 0);
        break;
    case T_AES_STORAGE:
        tb_u16(c, TPM_ALG_SYMCIPHER);
        tb_u16(c, TPM_ALG_SHA256);
        tb_u32(c, attrs_override ? attrs_override : storage);
        tb_u16(c, 0);
        tb_u16(c, TPM_ALG_AES);
        tb_u16(c, 256);
        tb_u16(c, TPM_ALG_CFB);
        tb_u16(c, 0);
        break;
    }
}

static void tc_public(struct tb *c, enum tmpl k)
{
    size_t m = tb_size16_begin(c);
    tmpl_body(c, k, 0, 0);
    tb_size16_end(c, m);
}

static void tc_sensitive(struct tb *c, const char *auth, const void *data, uint16_t dlen)
{
    size_t m = tb_size16_begin(c);
    tb_2b(c, auth, (uint16_t)strlen(auth));
    tb_2b(c, data, dlen);
    tb_size16_end(c, m);
}

/* outsideInfo and creationPCR, both empty. */
static void tc_no_creation(struct tb *c)
{
    tb_u16(c, 0);
    tb_u32(c, 0);
}

/* A public area as the TPM returned it. */
struct blob {
    uint8_t b[2048];
    uint16_t n;
};

static uint32_t create_primary(struct tpm *t, uint32_t hier, enum tmpl k, TPM_HANDLE *h,
                               struct blob *pub)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, hier);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", NULL, 0);
    tc_public(&c, k);
    tc_no_creation(&c);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        *h = rs_u32(&r);
        (void)rs_u32(&r); /* parameterSize */
        pub->n = rs_2b(&r, pub->b, sizeof(pub->b));
    }
    return rc;
}

static uint32_t create(struct tpm *t, TPM_HANDLE parent, enum tmpl k, const char *auth,
                       const void *data, uint16_t dlen, struct blob *priv, struct blob *pub)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_Create);
    tb_u32(&c, parent);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, auth, data, dlen);
    tc_public(&c, k);
    tc_no_creation(&c);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        priv->n = rs_2b(&r, priv->b, sizeof(priv->b));
        pub->n = rs_2b(&r, pub->b, sizeof(pub->b));
    }
    return rc;
}

static uint32_t load(struct tpm *t, TPM_HANDLE parent, const struct blob *priv,
                     const struct blob *pub, TPM_HANDLE *h)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_Load);
    tb_u32(&c, parent);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, priv->b, priv->n);
    tb_2b(&c, pub->b, pub->n);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        *h = rs_u32(&r);
    }
    return rc;
}

static uint32_t unseal(struct tpm *t, TPM_HANDLE h, const char *pw, struct blob *out)
{
    struct tb c;
    struct rsp r;
    const char *const s[] = {pw};
    tb_start(&c, ST_S, TPM_CC_Unseal);
    tb_u32(&c, h);
    tb_pws(&c, s, 1);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        out->n = rs_2b(&r, out->b, sizeof(out->b));
    }
    return rc;
}

static uint32_t flush(struct tpm *t, TPM_HANDLE h)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_FlushContext);
    tb_u32(&c, h);
    return tt_exec(t, &c, &r);
}

static uint32_t read_public(struct tpm *t, TPM_HANDLE h, struct blob *pub, struct blob *name)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_ReadPublic);
    tb_u32(&c, h);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        pub->n = rs_2b(&r, pub->b, sizeof(pub->b));
        if (name) {
            name->n = rs_2b(&r, name->b, sizeof(name->b));
        }
    }
    return rc;
}

static bool blob_eq(const struct blob *a, const struct blob *b)
{
    return a->n == b->n && memcmp(a->b, b->b, a->n) == 0;
}

/* ---- primary keys ---- */

static void test_primary_deterministic(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE h1, h2;
    struct blob p1, p2;
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &h1, &p1), 0);
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &h2, &p2), 0);
    assert_int_not_equal(h1, h2);
    assert_true(blob_eq(&p1, &p2));
    /* Another hierarchy, another key. */
    assert_int_equal(flush(t, h2), 0);
    assert_int_equal(create_primary(t, TPM_RH_ENDORSEMENT, T_RSA_STORAGE, &h2, &p2), 0);
    assert_false(blob_eq(&p1, &p2));
    /* After a reload of the state (a restart of the daemon), the same key: no cache then. */
    struct tpm_buf b = {0};
    assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, &b), 0);
    struct tpm *t2 = tpm_new(NULL, NULL);
    assert_int_equal(tpm_state_load(t2, TPM_STATE_PERMANENT, b.data, b.len), 0);
    tpm_buf_free(&b);
    tpm_free(t);
    tpm_init(t2);
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_Startup);
    tb_u16(&c, TPM_SU_CLEAR);
    assert_int_equal(tt_exec(t2, &c, &r), 0);
    assert_int_equal(create_primary(t2, TPM_RH_OWNER, T_RSA_STORAGE, &h2, &p2), 0);
    assert_true(blob_eq(&p1, &p2));
    tpm_free(t2);
}

/* The cache never changes a result: with and without it the same key, and a new seed is
 * never answered from an entry made under the old one. */
static void test_primary_cache(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE h;
    struct blob p1, p2;
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &h, &p1), 0);
    struct object *o = object_find(t, h);
    assert_non_null(o);
    /* Derive the same template again with the cache bypassed. */
    TPMT_PUBLIC pub = o->pub;
    TPMT_SENSITIVE s1, s2;
    TPMS_SENSITIVE_CREATE sc;
    memset(&sc, 0, sizeof(sc));
    memset(&pub.unique, 0, sizeof(pub.unique));
    TPMT_PUBLIC pub2 = pub;
    assert_int_equal(primary_derive(t, TPM_RH_OWNER, &pub, &sc, &s1, false), 0);
    assert_int_equal(primary_derive(t, TPM_RH_OWNER, &pub2, &sc, &s2, true), 0);
    assert_memory_equal(pub.unique.rsa.buffer, o->pub.unique.rsa.buffer, 256);
    assert_memory_equal(pub2.unique.rsa.buffer, o->pub.unique.rsa.buffer, 256);
    assert_int_equal(s1.sensitive.size, s2.sensitive.size);
    assert_memory_equal(s1.sensitive.buffer, s2.sensitive.buffer, s1.sensitive.size);
    assert_memory_equal(s1.seedValue.buffer, s2.seedValue.buffer, s1.seedValue.size);
    /* A cache hit is fast: 20 repeats well under what one RSA derivation costs. */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(flush(t, h), 0);
        assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &h, &p2), 0);
        assert_true(blob_eq(&p1, &p2));
    }
    /* Change the seed behind the cache's back: the entry must not answer. */
    t->p.sps[0] ^= 1;
    assert_int_equal(flush(t, h), 0);
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &h, &p2), 0);
    assert_false(blob_eq(&p1, &p2));
    /* And Clear (a new storage seed) gives yet another key. */
    struct blob p3;
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_Clear);
    tb_u32(&c, TPM_RH_PLATFORM);
    tb_pws(&c, pw_empty, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_null(object_find(t, h));
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &h, &p3), 0);
    assert_false(blob_eq(&p3, &p2));
    assert_false(blob_eq(&p3, &p1));
    tpm_free(t);
}

/* Known answers: tests/vectors/primary_kat.py computes them with Python's hmac/hashlib and
 * the cryptography package from the same seed and templates. */
static void test_primary_known_answer(void **state)
{
    (void)state;
    static const uint8_t ecc_x[32] = {
        0xa0, 0x7e, 0xff, 0x54, 0x61, 0xc1, 0xc0, 0xca, 0x75, 0xf0, 0x95, 0xd8, 0xf4, 0x2e, 0x71, 0x2a,
        0x7f, 0xe1, 0xa4, 0x3b, 0x74, 0x86, 0xb0, 0x6b, 0x45, 0x40, 0xa4, 0x59, 0xf2, 0x95, 0x72, 0xb4};
    static const uint8_t ecc_y[32] = {
        0xb1, 0x58, 0x68, 0xac, 0x11, 0x01, 0xa7, 0x00, 0x57, 0x11, 0x1f, 0xff, 0x62, 0xc7, 0x77, 0x0b,
        0x4c, 0xec, 0xe3, 0x92, 0x6f, 0x8b, 0x95, 0xa7, 0xf3, 0xe4, 0x9e, 0x21, 0x8f, 0xd5, 0xc4, 0x54};
    static const uint8_t hmac_unique[32] = {
        0x20, 0x89, 0x31, 0x5e, 0xa6, 0x60, 0x88, 0xf2, 0x4d, 0xd6, 0x38, 0xd7, 0xf7, 0x73, 0xbe, 0x62,
        0x77, 0x69, 0x4b, 0xc0, 0x3c, 0x2d, 0xf8, 0x0f, 0xdd, 0x3a, 0x48, 0x00, 0xe3, 0x31, 0xc3, 0x56};
    struct tpm *t = tpm_up();
    TPM_HANDLE h;
    struct blob p;
    for (int i = 0; i < SEED_BYTES; i++) {
        t->p.sps[i] = (uint8_t)i;
    }
    primary_cache_clear(t);
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_ECC_STORAGE, &h, &p), 0);
    struct object *o = object_find(t, h);
    assert_int_equal(o->pub.unique.ecc.x.size, 32);
    assert_memory_equal(o->pub.unique.ecc.x.buffer, ecc_x, 32);
    assert_memory_equal(o->pub.unique.ecc.y.buffer, ecc_y, 32);
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_HMAC, &h, &p), 0);
    o = object_find(t, h);
    assert_int_equal(o->pub.unique.digest.size, 32);
    assert_memory_equal(o->pub.unique.digest.buffer, hmac_unique, 32);
    tpm_free(t);
}

static void test_primary_kinds(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE h;
    struct blob p;
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA3072_STORAGE, &h, &p), 0);
    assert_int_equal(object_find(t, h)->pub.unique.rsa.size, 384);
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_AES_STORAGE, &h, &p), 0);
    assert_int_equal(create_primary(t, TPM_RH_NULL, T_ECC_STORAGE, &h, &p), 0);
    assert_int_equal(create_primary(t, TPM_RH_PLATFORM, T_HMAC, &h, &p), 0);
    tpm_free(t);
}

/* ---- create, load, unseal, integrity ---- */

static void test_seal_roundtrip_and_tamper(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE prim, other, h;
    struct blob pp, priv, pub, out;
    static const char secret[] = "the sealed secret";
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_ECC_STORAGE, &prim, &pp), 0);
    assert_int_equal(create(t, prim, T_SEAL, "pw", secret, sizeof(secret), &priv, &pub), 0);
    assert_int_equal(load(t, prim, &priv, &pub, &h), 0);
    assert_int_equal(unseal(t, h, "pw", &out), 0);
    assert_int_equal(out.n, sizeof(secret));
    assert_memory_equal(out.b, secret, sizeof(secret));
    /* Wrong password: the object is DA-protected (no noDA). */
    assert_int_equal(unseal(t, h, "nope", &out), TPM_RC_AUTH_FAIL | 0x900u); /* session 1 */
    assert_int_equal(flush(t, h), 0);
    /* Every single-bit flip of the private blob is caught. */
    for (uint16_t i = 0; i < priv.n; i += 7) {
        struct blob bad = priv;
        bad.b[i] ^= 0x10;
        uint32_t rc = load(t, prim, &bad, &pub, &h);
        assert_true(rc == P1(TPM_RC_INTEGRITY) || rc == P1(TPM_RC_SIZE));
    }
    /* A flipped bit in the public area changes the name: integrity fails too. */
    struct blob badpub = pub;
    badpub.b[badpub.n - 1] ^= 1;
    assert_int_equal(load(t, prim, &priv, &badpub, &h), P1(TPM_RC_INTEGRITY));
    /* Another parent. */
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &other, &pp), 0);
    assert_int_equal(load(t, other, &priv, &pub, &h), P1(TPM_RC_INTEGRITY));
    /* A sealed object is not a parent. */
    struct blob priv2, pub2;
    assert_int_equal(create(t, prim, T_SEAL, "", "y", 1, &priv2, &pub2), 0);
    assert_int_equal(load(t, prim, &priv2, &pub2, &h), 0);
    assert_int_equal(create(t, h, T_SEAL, "", "x", 1, &priv2, &pub2), H1(TPM_RC_TYPE));
    /* Empty private. */
    struct blob empty = {.n = 0};
    assert_int_equal(load(t, prim, &empty, &pub, &h), P1(TPM_RC_SIZE));
    tpm_free(t);
}

static void test_children_of_every_kind(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE prim = 0, h = 0, h2 = 0;
    struct blob pp, priv, pub, priv2, pub2;
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &prim, &pp), 0);
    static const enum tmpl kinds[] = {T_RSA_STORAGE, T_ECC_STORAGE, T_HMAC, T_AES_STORAGE,
                                      T_ECC_SIGN};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        assert_int_equal(create(t, prim, kinds[i], "", NULL, 0, &priv, &pub), 0);
        assert_int_equal(load(t, prim, &priv, &pub, &h), 0);
        assert_int_equal(flush(t, h), 0);
    }
    /* A grandchild under an ECC storage child. */
    assert_int_equal(create(t, prim, T_ECC_STORAGE, "", NULL, 0, &priv, &pub), 0);
    assert_int_equal(load(t, prim, &priv, &pub, &h), 0);
    assert_int_equal(create(t, h, T_SEAL, "", "abc", 3, &priv2, &pub2), 0);
    assert_int_equal(load(t, h, &priv2, &pub2, &h2), 0);
    tpm_free(t);
}

/* ---- malformed templates ---- */

struct bad_case {
    const char *what;
    enum tmpl k;
    uint32_t attrs;
    int policy_len;
    uint32_t rc;
};

static void test_bad_templates(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"fixedTPM without fixedParent", T_ECC_STORAGE, 0x00030062, 0, P2(TPM_RC_ATTRIBUTES)},
        {"restricted sign and decrypt", T_ECC_STORAGE, 0x00070072, 0, P2(TPM_RC_ATTRIBUTES)},
        {"restricted sign, no scheme", T_RSA_STORAGE, 0x00050072, 0, P2(TPM_RC_SYMMETRIC)},
        {"unrestricted with symmetric", T_RSA_STORAGE, 0x00020072, 0, P2(TPM_RC_SYMMETRIC)},
        {"authPolicy of the wrong size", T_ECC_STORAGE, 0, 5, P2(TPM_RC_SIZE)},
        {"reserved attribute", T_ECC_STORAGE, 0x00030073, 0, P2(TPM_RC_RESERVED_BITS)},
        {"sealed data, sensitiveDataOrigin", T_SEAL, 0x00000072, 0, P1(TPM_RC_ATTRIBUTES)},
        {"restricted data object", T_SEAL, 0x00010052, 0, P2(TPM_RC_ATTRIBUTES)},
        {"keyed hash: sign with HMAC, restricted and decrypt", T_HMAC, 0x00070072, 0,
         P2(TPM_RC_ATTRIBUTES)},
        {"ecc sign with storage symmetric", T_ECC_STORAGE, 0x00040072, 0, P2(TPM_RC_SYMMETRIC)},
    };
    struct tpm *t = tpm_up();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tb c;
        struct rsp r;
        tb_start(&c, ST_S, TPM_CC_CreatePrimary);
        tb_u32(&c, TPM_RH_OWNER);
        tb_pws(&c, pw_empty, 1);
        tc_sensitive(&c, "", NULL, 0);
        size_t m = tb_size16_begin(&c);
        tmpl_body(&c, cases[i].k, cases[i].attrs, cases[i].policy_len);
        tb_size16_end(&c, m);
        tc_no_creation(&c);
        uint32_t rc = tt_exec(t, &c, &r);
        if (rc != cases[i].rc) {
            fail_msg("%s: got 0x%x, want 0x%x", cases[i].what, rc, cases[i].rc);
        }
    }
    /* Wire-level faults: truncated public, public larger than its size, unknown type, bad
     * RSA key size, sensitive data for an RSA key, userAuth longer than the digest. */
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", NULL, 0);
    size_t m = tb_size16_begin(&c);
    tmpl_body(&c, T_ECC_STORAGE, 0, 0);
    tb_size16_end(&c, m);
    c.n -= 3; /* cut into the public area, size field unchanged */
    assert_int_equal(tt_exec(t, &c, &r), P2(TPM_RC_INSUFFICIENT));

    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", NULL, 0);
    m = tb_size16_begin(&c);
    tmpl_body(&c, T_ECC_STORAGE, 0, 0);
    tb_u8(&c, 0); /* a byte past the area inside the TPM2B */
    tb_size16_end(&c, m);
    tc_no_creation(&c);
    assert_int_equal(tt_exec(t, &c, &r), P2(TPM_RC_SIZE));

    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", NULL, 0);
    m = tb_size16_begin(&c);
    tmpl_body(&c, T_ECC_STORAGE, 0, 0);
    c.b[m + 2] = 0x00;
    c.b[m + 3] = 0x99; /* no such type */
    tb_size16_end(&c, m);
    tc_no_creation(&c);
    assert_int_equal(tt_exec(t, &c, &r), P2(TPM_RC_TYPE));

    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", NULL, 0);
    m = tb_size16_begin(&c);
    tmpl_body(&c, T_RSA_STORAGE, 0, 0);
    c.n -= 8;
    tb_u16(&c, 1000); /* keyBits */
    tb_u32(&c, 0);
    tb_u16(&c, 0);
    tb_size16_end(&c, m);
    tc_no_creation(&c);
    assert_int_equal(tt_exec(t, &c, &r), P2(TPM_RC_VALUE));

    /* An exponent that is odd but not prime (the fuzzer's first find: no crash, VALUE). */
    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", NULL, 0);
    m = tb_size16_begin(&c);
    tmpl_body(&c, T_RSA_STORAGE, 0, 0);
    c.n -= 6;
    tb_u32(&c, 9);
    tb_u16(&c, 0);
    tb_size16_end(&c, m);
    tc_no_creation(&c);
    assert_int_equal(tt_exec(t, &c, &r), P2(TPM_RC_VALUE));

    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", "data", 4);
    tc_public(&c, T_RSA_STORAGE);
    tc_no_creation(&c);
    assert_int_equal(tt_exec(t, &c, &r), P1(TPM_RC_VALUE));

    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "0123456789012345678901234567890123456789", NULL, 0);
    tc_public(&c, T_ECC_STORAGE);
    tc_no_creation(&c);
    assert_int_equal(tt_exec(t, &c, &r), P1(TPM_RC_SIZE));

    /* A hierarchy that is not one. */
    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, TPM_RH_LOCKOUT);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", NULL, 0);
    tc_public(&c, T_ECC_STORAGE);
    tc_no_creation(&c);
    assert_int_equal(tt_exec(t, &c, &r), H1(TPM_RC_VALUE));
    tpm_free(t);
}

/* ---- contexts ---- */

static uint32_t context_save(struct tpm *t, TPM_HANDLE h, struct blob *ctx)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_ContextSave);
    tb_u32(&c, h);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        ctx->n = (uint16_t)(r.n - 10);
        memcpy(ctx->b, r.b + 10, ctx->n);
    }
    return rc;
}

static uint32_t context_load(struct tpm *t, const struct blob *ctx, TPM_HANDLE *h)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_ContextLoad);
    tb_bytes(&c, ctx->b, ctx->n);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        *h = rs_u32(&r);
    }
    return rc;
}

static void test_object_context(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE prim = 0, h = 0, h2 = 0;
    struct blob pp, ctx, pub1, pub2, name1, name2, out;
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &prim, &pp), 0);
    assert_int_equal(read_public(t, prim, &pub1, &name1), 0);
    assert_int_equal(context_save(t, prim, &ctx), 0);
    /* Small enough for a resource manager: 3 objects and 3 sessions in 4 KiB. */
    assert_true(ctx.n < 700);
    assert_int_equal(flush(t, prim), 0);
    assert_int_equal(read_public(t, prim, &pub2, NULL), TPM_RC_REFERENCE_H0);
    assert_int_equal(context_load(t, &ctx, &h), 0);
    assert_int_equal(read_public(t, h, &pub2, &name2), 0);
    assert_true(blob_eq(&pub1, &pub2));
    assert_true(blob_eq(&name1, &name2));
    /* The reloaded key still works as a parent: its seed came back. */
    struct blob priv, pub;
    static const char secret[] = "ctx";
    assert_int_equal(create(t, h, T_SEAL, "", secret, 3, &priv, &pub), 0);
    assert_int_equal(load(t, h, &priv, &pub, &h2), 0);
    assert_int_equal(unseal(t, h2, "", &out), 0);
    assert_memory_equal(out.b, secret, 3);
    /* A context loads again (objects have no single-use rule). */
    assert_int_equal(context_load(t, &ctx, &h2), 0);
    /* Tampering anywhere in the blob, the sequence or the saved handle: TPM_RC_INTEGRITY. */
    for (uint16_t i = 0; i < ctx.n; i += 11) {
        struct blob bad = ctx;
        bad.b[i] ^= 0x01;
        uint32_t rc = context_load(t, &bad, &h2);
        if (rc == 0) {
            fail_msg("tampered context (byte %u) loaded", i);
        }
        if (rc == 0) {
            assert_int_equal(flush(t, h2), 0);
        }
    }
    struct blob bad = ctx;
    bad.b[bad.n - 1] ^= 0x80;
    assert_int_equal(context_load(t, &bad, &h2), P1(TPM_RC_INTEGRITY));
    /* Another TPM (other proofs) refuses the blob. */
    struct tpm *t2 = tpm_up();
    assert_int_equal(context_load(t2, &ctx, &h2), P1(TPM_RC_INTEGRITY));
    tpm_free(t2);
    tpm_free(t);
}

/* Null-hierarchy contexts die at a TPM Reset (the null proof changes). */
static void test_null_context_reset(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE prim, h;
    struct blob pp, ctx;
    struct tb c;
    struct rsp r;
    assert_int_equal(create_primary(t, TPM_RH_NULL, T_ECC_STORAGE, &prim, &pp), 0);
    assert_int_equal(context_save(t, prim, &ctx), 0);
    tpm_init(t);
    tb_start(&c, ST_NO, TPM_CC_Startup);
    tb_u16(&c, TPM_SU_CLEAR);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(context_load(t, &ctx, &h), P1(TPM_RC_INTEGRITY));
    tpm_free(t);
}

/* ---- persistent objects ---- */

static uint32_t evict(struct tpm *t, TPM_HANDLE auth, TPM_HANDLE obj, TPM_HANDLE ph)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_EvictControl);
    tb_u32(&c, auth);
    tb_u32(&c, obj);
    tb_pws(&c, pw_empty, 1);
    tb_u32(&c, ph);
    return tt_exec(t, &c, &r);
}

static uint32_t get_property(struct tpm *t, uint32_t pt)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_GetCapability);
    tb_u32(&c, TPM_CAP_TPM_PROPERTIES);
    tb_u32(&c, pt);
    tb_u32(&c, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    r.off = 10 + 1 + 4 + 4;
    assert_int_equal(rs_u32(&r), pt);
    return rs_u32(&r);
}

static void test_persistent(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE prim, h;
    struct blob pp, pub1, pub2, priv, pub, out;
    assert_int_equal(get_property(t, TPM_PT_HR_PERSISTENT), 0);
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_ECC_STORAGE, &prim, &pp), 0);
    assert_int_equal(read_public(t, prim, &pub1, NULL), 0);
    /* Owner may not use the platform range; a non-persistent handle is refused. */
    assert_int_equal(evict(t, TPM_RH_OWNER, prim, 0x81800001), P1(TPM_RC_RANGE));
    assert_int_equal(evict(t, TPM_RH_OWNER, prim, 0x80000001), P1(TPM_RC_VALUE));
    assert_int_equal(evict(t, TPM_RH_OWNER, prim, 0x81000001), 0);
    assert_int_equal(evict(t, TPM_RH_OWNER, prim, 0x81000001), TPM_RC_NV_DEFINED);
    assert_true(tpm_state_dirty(t));
    assert_int_equal(get_property(t, TPM_PT_HR_PERSISTENT), 1);
    assert_int_equal(get_property(t, TPM_PT_HR_PERSISTENT_AVAIL), MAX_PERSISTENT - 1);
    static const char secret[] = "persist";
    assert_int_equal(create(t, 0x81000001, T_SEAL, "", secret, 7, &priv, &pub), 0);
    /* A new engine from the saved state: the persistent key is there. */
    struct tpm_buf b = {0};
    assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, &b), 0);
    tpm_free(t);
    t = tpm_new(NULL, NULL);
    assert_int_equal(tpm_state_load(t, TPM_STATE_PERMANENT, b.data, b.len), 0);
    tpm_buf_free(&b);
    tpm_init(t);
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_Startup);
    tb_u16(&c, TPM_SU_CLEAR);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(read_public(t, 0x81000001, &pub2, NULL), 0);
    assert_true(blob_eq(&pub1, &pub2));
    assert_int_equal(load(t, 0x81000001, &priv, &pub, &h), 0);
    assert_int_equal(unseal(t, h, "", &out), 0);
    assert_memory_equal(out.b, secret, 7);
    /* Disabling the owner hierarchy makes its persistent objects unusable. */
    tb_start(&c, ST_S, TPM_CC_HierarchyControl);
    tb_u32(&c, TPM_RH_PLATFORM);
    tb_pws(&c, pw_empty, 1);
    tb_u32(&c, TPM_RH_OWNER);
    tb_u8(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_null(object_find(t, h)); /* transient owner objects were flushed */
    assert_int_equal(read_public(t, 0x81000001, &pub2, NULL), H1(TPM_RC_HIERARCHY));
    tb_start(&c, ST_S, TPM_CC_HierarchyControl);
    tb_u32(&c, TPM_RH_PLATFORM);
    tb_pws(&c, pw_empty, 1);
    tb_u32(&c, TPM_RH_OWNER);
    tb_u8(&c, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    /* Evict: the handle must match; then it is gone. */
    assert_int_equal(evict(t, TPM_RH_OWNER, 0x81000001, 0x81000002), P1(TPM_RC_HANDLE));
    assert_int_equal(evict(t, TPM_RH_OWNER, 0x81000001, 0x81000001), 0);
    assert_int_equal(read_public(t, 0x81000001, &pub2, NULL), H1(TPM_RC_HANDLE));
    assert_int_equal(get_property(t, TPM_PT_HR_PERSISTENT), 0);
    /* Clear removes owner persistent objects. */
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_ECC_STORAGE, &prim, &pp), 0);
    assert_int_equal(evict(t, TPM_RH_OWNER, prim, 0x81000003), 0);
    tb_start(&c, ST_S, TPM_CC_Clear);
    tb_u32(&c, TPM_RH_PLATFORM);
    tb_pws(&c, pw_empty, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(read_public(t, 0x81000003, &pub2, NULL), H1(TPM_RC_HANDLE));
    tpm_free(t);
}

/* A corrupted persistent-object section is refused as a whole (state unchanged). */
static void test_persistent_state_malformed(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE prim;
    struct blob pp;
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_ECC_STORAGE, &prim, &pp), 0);
    assert_int_equal(evict(t, TPM_RH_OWNER, prim, 0x81000001), 0);
    struct tpm_buf b = {0};
    assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, &b), 0);
    /* Truncations at every length fail cleanly (never crash). */
    struct tpm *t2 = tpm_new(NULL, NULL);
    for (size_t n = 0; n < b.len; n += 13) {
        assert_int_not_equal(tpm_state_load(t2, TPM_STATE_PERMANENT, b.data, n), 0);
    }
    tpm_free(t2);
    tpm_buf_free(&b);
    tpm_free(t);
}

/* ---- ObjectChangeAuth ---- */

static void test_change_auth(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE prim, other, h, h2;
    struct blob pp, priv, pub, newpriv, out;
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_ECC_STORAGE, &prim, &pp), 0);
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &other, &pp), 0);
    assert_int_equal(create(t, prim, T_SEAL, "old", "s", 1, &priv, &pub), 0);
    assert_int_equal(load(t, prim, &priv, &pub, &h), 0);
    struct tb c;
    struct rsp r;
    const char *const old[] = {"old"};
    /* The wrong parent. */
    tb_start(&c, ST_S, TPM_CC_ObjectChangeAuth);
    tb_u32(&c, h);
    tb_u32(&c, other);
    tb_pws(&c, old, 1);
    tb_2b(&c, "new", 3);
    assert_int_equal(tt_exec(t, &c, &r), TPM_RC_TYPE | 0x280u);
    tb_start(&c, ST_S, TPM_CC_ObjectChangeAuth);
    tb_u32(&c, h);
    tb_u32(&c, prim);
    tb_pws(&c, old, 1);
    tb_2b(&c, "new", 3);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    (void)rs_u32(&r);
    newpriv.n = rs_2b(&r, newpriv.b, sizeof(newpriv.b));
    assert_int_equal(load(t, prim, &newpriv, &pub, &h2), 0);
    assert_int_equal(unseal(t, h2, "new", &out), 0);
    assert_int_not_equal(unseal(t, h2, "old", &out), 0);
    tpm_free(t);
}

/* ---- credentials ---- */

static void test_credential(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE ek, ak;
    struct blob pp, akpub, akname;
    assert_int_equal(create_primary(t, TPM_RH_ENDORSEMENT, T_RSA_STORAGE, &ek, &pp), 0);
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_ECC_SIGN, &ak, &pp), 0);
    assert_int_equal(read_public(t, ak, &akpub, &akname), 0);
    struct tb c;
    struct rsp r;
    static const uint8_t cred[16] = "credential value";
    tb_start(&c, ST_NO, TPM_CC_MakeCredential);
    tb_u32(&c, ek);
    tb_2b(&c, cred, sizeof(cred));
    tb_2b(&c, akname.b, akname.n);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    struct blob idobj, secret;
    idobj.n = rs_2b(&r, idobj.b, sizeof(idobj.b));
    secret.n = rs_2b(&r, secret.b, sizeof(secret.b));
    const char *const pws[] = {"", ""};
    for (int tamper = 0; tamper < 3; tamper++) {
        struct blob id2 = idobj, s2 = secret;
        if (tamper == 1) {
            id2.b[id2.n - 1] ^= 1;
        } else if (tamper == 2) {
            s2.b[5] ^= 1;
        }
        tb_start(&c, ST_S, TPM_CC_ActivateCredential);
        tb_u32(&c, ak);
        tb_u32(&c, ek);
        tb_pws(&c, pws, 2);
        tb_2b(&c, id2.b, id2.n);
        tb_2b(&c, s2.b, s2.n);
        uint32_t rc = tt_exec(t, &c, &r);
        if (tamper == 0) {
            assert_int_equal(rc, 0);
            (void)rs_u32(&r);
            uint8_t got[64];
            assert_int_equal(rs_2b(&r, got, sizeof(got)), sizeof(cred));
            assert_memory_equal(got, cred, sizeof(cred));
        } else if (tamper == 1) {
            assert_int_equal(rc, P1(TPM_RC_INTEGRITY));
        } else {
            assert_int_equal(rc, P2(TPM_RC_VALUE));
        }
    }
    /* MakeCredential needs a storage key and a credential no longer than its digest. */
    tb_start(&c, ST_NO, TPM_CC_MakeCredential);
    tb_u32(&c, ak);
    tb_2b(&c, cred, sizeof(cred));
    tb_2b(&c, akname.b, akname.n);
    assert_int_equal(tt_exec(t, &c, &r), H1(TPM_RC_TYPE));
    uint8_t big[64] = {0};
    tb_start(&c, ST_NO, TPM_CC_MakeCredential);
    tb_u32(&c, ek);
    tb_2b(&c, big, 33);
    tb_2b(&c, akname.b, akname.n);
    assert_int_equal(tt_exec(t, &c, &r), P1(TPM_RC_SIZE));
    tpm_free(t);
}

/* ---- LoadExternal ---- */

static void test_load_external(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE prim, h;
    struct blob pp, pub;
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_ECC_SIGN, &prim, &pp), 0);
    assert_int_equal(read_public(t, prim, &pub, NULL), 0);
    struct tb c;
    struct rsp r;
    /* Public only: accepted in any hierarchy. */
    tb_start(&c, ST_NO, TPM_CC_LoadExternal);
    tb_u16(&c, 0);
    tb_2b(&c, pub.b, pub.n);
    tb_u32(&c, TPM_RH_OWNER);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    h = rs_u32(&r);
    /* A public-only key cannot be persisted or unsealed. */
    assert_int_equal(evict(t, TPM_RH_OWNER, h, 0x81000005), TPM_RC_ATTRIBUTES | 0x200u);
    /* A point off the curve. */
    struct blob badpub = pub;
    badpub.b[badpub.n - 1] ^= 1;
    tb_start(&c, ST_NO, TPM_CC_LoadExternal);
    tb_u16(&c, 0);
    tb_2b(&c, badpub.b, badpub.n);
    tb_u32(&c, TPM_RH_OWNER);
    assert_int_equal(tt_exec(t, &c, &r), P2(TPM_RC_ECC_POINT));
    /* With a private part: fixedTPM is refused, and a mismatched key is not bound. */
    struct object *o = object_find(t, prim);
    TPMT_SENSITIVE s = o->sens;
    tb_start(&c, ST_NO, TPM_CC_LoadExternal);
    size_t m = tb_size16_begin(&c);
    tb_u16(&c, TPM_ALG_ECC);
    tb_2b(&c, "", 0);
    tb_2b(&c, "", 0);
    tb_2b(&c, s.sensitive.buffer, s.sensitive.size);
    tb_size16_end(&c, m);
    tb_2b(&c, pub.b, pub.n);
    tb_u32(&c, TPM_RH_NULL);
    assert_int_equal(tt_exec(t, &c, &r), P2(TPM_RC_ATTRIBUTES));
    /* Clear fixedTPM/fixedParent (attributes at offset 4 of the area). */
    struct blob pub3 = pub;
    pub3.b[7] &= (uint8_t)~0x12;
    tb_start(&c, ST_NO, TPM_CC_LoadExternal);
    m = tb_size16_begin(&c);
    tb_u16(&c, TPM_ALG_ECC);
    tb_2b(&c, "", 0);
    tb_2b(&c, "", 0);
    tb_2b(&c, s.sensitive.buffer, s.sensitive.size);
    tb_size16_end(&c, m);
    tb_2b(&c, pub3.b, pub3.n);
    tb_u32(&c, TPM_RH_OWNER);
    assert_int_equal(tt_exec(t, &c, &r), TPM_RC_HIERARCHY | 0x340u);
    tb_start(&c, ST_NO, TPM_CC_LoadExternal);
    m = tb_size16_begin(&c);
    tb_u16(&c, TPM_ALG_ECC);
    tb_2b(&c, "", 0);
    tb_2b(&c, "", 0);
    tb_2b(&c, s.sensitive.buffer, s.sensitive.size);
    tb_size16_end(&c, m);
    tb_2b(&c, pub3.b, pub3.n);
    tb_u32(&c, TPM_RH_NULL);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    s.sensitive.buffer[3] ^= 1;
    tb_start(&c, ST_NO, TPM_CC_LoadExternal);
    m = tb_size16_begin(&c);
    tb_u16(&c, TPM_ALG_ECC);
    tb_2b(&c, "", 0);
    tb_2b(&c, "", 0);
    tb_2b(&c, s.sensitive.buffer, s.sensitive.size);
    tb_size16_end(&c, m);
    tb_2b(&c, pub3.b, pub3.n);
    tb_u32(&c, TPM_RH_NULL);
    assert_int_equal(tt_exec(t, &c, &r), P1(TPM_RC_BINDING));
    tpm_free(t);
}

/* ChangeEPS: the endorsement primary changes and its old contexts no longer load. */
static void test_change_eps(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE h;
    struct blob p1, p2, ctx;
    assert_int_equal(create_primary(t, TPM_RH_ENDORSEMENT, T_ECC_STORAGE, &h, &p1), 0);
    assert_int_equal(context_save(t, h, &ctx), 0);
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_ChangeEPS);
    tb_u32(&c, TPM_RH_PLATFORM);
    tb_pws(&c, pw_empty, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_null(object_find(t, h));
    assert_int_equal(context_load(t, &ctx, &h), P1(TPM_RC_INTEGRITY));
    assert_int_equal(create_primary(t, TPM_RH_ENDORSEMENT, T_ECC_STORAGE, &h, &p2), 0);
    assert_false(blob_eq(&p1, &p2));
    /* SetPrimaryPolicy: the digest must match its hash. */
    tb_start(&c, ST_S, TPM_CC_SetPrimaryPolicy);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, "0123456789abcdef0123456789abcdef", 32);
    tb_u16(&c, TPM_ALG_SHA1);
    assert_int_equal(tt_exec(t, &c, &r), P1(TPM_RC_SIZE));
    tb_start(&c, ST_S, TPM_CC_SetPrimaryPolicy);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, "0123456789abcdef0123456789abcdef", 32);
    tb_u16(&c, TPM_ALG_SHA256);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(t->p.owner_policy.alg, TPM_ALG_SHA256);
    tpm_free(t);
}

/* ---- CreateLoaded: under a hierarchy, a storage parent and a derivation parent ---- */

static uint32_t create_loaded(struct tpm *t, TPM_HANDLE parent, enum tmpl k,
                              const char *label, TPM_HANDLE *h, struct blob *pub)
{
    struct tb c;
    struct rsp r;
    struct blob priv;
    tb_start(&c, ST_S, TPM_CC_CreateLoaded);
    tb_u32(&c, parent);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", NULL, 0);
    size_t m = tb_size16_begin(&c);
    tmpl_body(&c, k, 0, 0);
    if (label) {
        /* unique is a TPMS_DERIVE: replace the empty ECC point (two zero sizes) */
        c.n -= 4;
        tb_2b(&c, label, (uint16_t)strlen(label));
        tb_2b(&c, "ctx", 3);
    }
    tb_size16_end(&c, m);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        *h = rs_u32(&r);
        (void)rs_u32(&r);
        priv.n = rs_2b(&r, priv.b, sizeof(priv.b));
        pub->n = rs_2b(&r, pub->b, sizeof(pub->b));
    }
    return rc;
}

static void test_create_loaded(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE prim, h, dp;
    struct blob p1, p2, p3, pp, priv, pub;
    assert_int_equal(create_loaded(t, TPM_RH_OWNER, T_ECC_STORAGE, NULL, &prim, &p1), 0);
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_ECC_STORAGE, &h, &p2), 0);
    assert_true(blob_eq(&p1, &p2)); /* the same primary as CreatePrimary's */
    assert_int_equal(create_loaded(t, prim, T_ECC_SIGN, NULL, &h, &p1), 0);
    assert_int_equal(create_loaded(t, prim, T_ECC_SIGN, NULL, &h, &p2), 0);
    assert_false(blob_eq(&p1, &p2)); /* ordinary keys are random */
    /* A derivation parent: keyed hash, restricted decrypt. */
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_Create);
    tb_u32(&c, prim);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", NULL, 0);
    size_t m = tb_size16_begin(&c);
    tmpl_body(&c, T_SEAL, 0x00030072, 0);
    tb_size16_end(&c, m);
    tc_no_creation(&c);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    (void)rs_u32(&r);
    priv.n = rs_2b(&r, priv.b, sizeof(priv.b));
    pub.n = rs_2b(&r, pub.b, sizeof(pub.b));
    assert_int_equal(load(t, prim, &priv, &pub, &dp), 0);
    /* Derived keys: the same label and context give the same key, another label another. */
    struct blob d1, d2, d3;
    TPM_HANDLE x;
    assert_int_equal(create_loaded(t, dp, T_ECC_SIGN, "alpha", &x, &d1), 0);
    assert_int_equal(flush(t, x), 0);
    assert_int_equal(create_loaded(t, dp, T_ECC_SIGN, "alpha", &x, &d2), 0);
    assert_int_equal(flush(t, x), 0);
    assert_int_equal(create_loaded(t, dp, T_ECC_SIGN, "beta", &x, &d3), 0);
    assert_true(blob_eq(&d1, &d2));
    assert_false(blob_eq(&d1, &d3));
    /* A sealed object is no parent at all. */
    (void)pp;
    (void)p3;
    tpm_free(t);
}

/* ---- Import and Rewrap without wrappers; ChangePPS ---- */

static void test_import_rewrap(void **state)
{
    (void)state;
    struct tpm *t = tpm_up();
    TPM_HANDLE prim, k, h;
    struct blob pp, pub, priv, pub2;
    assert_int_equal(create_primary(t, TPM_RH_OWNER, T_RSA_STORAGE, &prim, &pp), 0);
    /* A duplicable ECDSA key: fixedTPM and fixedParent clear. */
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_CreatePrimary);
    tb_u32(&c, TPM_RH_NULL);
    tb_pws(&c, pw_empty, 1);
    tc_sensitive(&c, "", NULL, 0);
    size_t m = tb_size16_begin(&c);
    tmpl_body(&c, T_ECC_SIGN, 0x00040060, 0);
    tb_size16_end(&c, m);
    tc_no_creation(&c);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    k = rs_u32(&r);
    assert_int_equal(read_public(t, k, &pub, NULL), 0);
    const struct object *o = object_find(t, k);
    /* duplicate = the plain TPM2B_SENSITIVE (no inner, no outer wrapper) */
    struct blob dup;
    struct tb d;
    d.n = 0;
    m = tb_size16_begin(&d);
    tb_u16(&d, TPM_ALG_ECC);
    tb_2b(&d, "", 0);
    tb_2b(&d, "", 0);
    tb_2b(&d, o->sens.sensitive.buffer, o->sens.sensitive.size);
    tb_size16_end(&d, m);
    memcpy(dup.b, d.b, d.n);
    dup.n = (uint16_t)d.n;
    /* Rewrap from no parent to no parent hands it back unchanged. */
    tb_start(&c, ST_S, TPM_CC_Rewrap);
    tb_u32(&c, TPM_RH_NULL);
    tb_u32(&c, TPM_RH_NULL);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, dup.b, dup.n);
    tb_2b(&c, object_find(t, k)->name.buffer, object_find(t, k)->name.size);
    tb_u16(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    (void)rs_u32(&r);
    struct blob back;
    back.n = rs_2b(&r, back.b, sizeof(back.b));
    assert_true(blob_eq(&back, &dup));
    for (int tamper = 0; tamper < 2; tamper++) {
        struct blob dd = dup;
        if (tamper) {
            dd.b[dd.n - 1] ^= 1;
        }
        tb_start(&c, ST_S, TPM_CC_Import);
        tb_u32(&c, prim);
        tb_pws(&c, pw_empty, 1);
        tb_u16(&c, 0);              /* encryptionKey */
        tb_2b(&c, pub.b, pub.n);    /* objectPublic */
        tb_2b(&c, dd.b, dd.n);      /* duplicate */
        tb_u16(&c, 0);              /* inSymSeed */
        tb_u16(&c, TPM_ALG_NULL);   /* symmetricAlg */
        uint32_t rc = tt_exec(t, &c, &r);
        if (tamper) {
            assert_int_equal(rc, TPM_RC_BINDING | 0x340u);
            continue;
        }
        assert_int_equal(rc, 0);
        (void)rs_u32(&r);
        priv.n = rs_2b(&r, priv.b, sizeof(priv.b));
    }
    assert_int_equal(load(t, prim, &priv, &pub, &h), 0);
    assert_int_equal(read_public(t, h, &pub2, NULL), 0);
    assert_true(blob_eq(&pub, &pub2));
    /* fixedParent objects cannot be imported. */
    assert_int_equal(read_public(t, prim, &pub2, NULL), 0);
    tb_start(&c, ST_S, TPM_CC_Import);
    tb_u32(&c, prim);
    tb_pws(&c, pw_empty, 1);
    tb_u16(&c, 0);
    tb_2b(&c, pub2.b, pub2.n);
    tb_2b(&c, dup.b, dup.n);
    tb_u16(&c, 0);
    tb_u16(&c, TPM_ALG_NULL);
    assert_int_equal(tt_exec(t, &c, &r), P2(TPM_RC_ATTRIBUTES));
    /* ChangePPS: platform objects are flushed. */
    assert_int_equal(create_primary(t, TPM_RH_PLATFORM, T_ECC_STORAGE, &h, &pp), 0);
    tb_start(&c, ST_S, TPM_CC_ChangePPS);
    tb_u32(&c, TPM_RH_PLATFORM);
    tb_pws(&c, pw_empty, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_null(object_find(t, h));
    tpm_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_primary_deterministic),
        cmocka_unit_test(test_primary_cache),
        cmocka_unit_test(test_primary_known_answer),
        cmocka_unit_test(test_primary_kinds),
        cmocka_unit_test(test_seal_roundtrip_and_tamper),
        cmocka_unit_test(test_children_of_every_kind),
        cmocka_unit_test(test_bad_templates),
        cmocka_unit_test(test_object_context),
        cmocka_unit_test(test_null_context_reset),
        cmocka_unit_test(test_persistent),
        cmocka_unit_test(test_persistent_state_malformed),
        cmocka_unit_test(test_change_auth),
        cmocka_unit_test(test_credential),
        cmocka_unit_test(test_load_external),
        cmocka_unit_test(test_change_eps),
        cmocka_unit_test(test_create_loaded),
        cmocka_unit_test(test_import_rewrap),
    };
    return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}

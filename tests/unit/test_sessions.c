/*
 * HMAC sessions and parameter encryption, checked against a small client written here with
 * OpenSSL directly (Part 1 §19.6 HMAC, §21 parameter encryption, §11.4.10.2 KDFa): it does
 * not share code with the engine, so an error on one side cannot hide in both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "tpmtest.h"

struct csession {
    uint32_t handle;
    uint8_t nonce_tpm[32];
    uint8_t nonce_caller[32];
    uint8_t key[32];
    size_t keylen;
    uint16_t sym; /* 0x0010 NULL, 0x0006 AES-128-CFB, 0x000A XOR */
};

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void kdfa(const uint8_t *key, size_t klen, const char *label, const uint8_t *u,
                 size_t ul, const uint8_t *v, size_t vl, uint32_t bits, uint8_t *out)
{
    uint8_t msg[256], blk[32];
    size_t done = 0, want = (bits + 7) / 8;
    for (uint32_t i = 1; done < want; i++) {
        size_t m = 0;
        be32(msg, i);
        m = 4;
        memcpy(msg + m, label, strlen(label) + 1);
        m += strlen(label) + 1;
        memcpy(msg + m, u, ul);
        m += ul;
        memcpy(msg + m, v, vl);
        m += vl;
        be32(msg + m, bits);
        m += 4;
        unsigned int len = 32;
        HMAC(EVP_sha256(), key, (int)klen, msg, m, blk, &len);
        size_t n = want - done < 32 ? want - done : 32;
        memcpy(out + done, blk, n);
        done += n;
    }
}

static void start_session(struct tpm *t, struct csession *s, uint32_t bind, const char *bind_auth,
                          uint16_t sym, uint8_t type)
{
    struct tb c;
    struct rsp r;
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < 32; i++) {
        s->nonce_caller[i] = (uint8_t)(0x40 + i);
    }
    tb_start(&c, 0x8001, 0x176);
    tb_u32(&c, 0x40000007);
    tb_u32(&c, bind);
    tb_2b(&c, s->nonce_caller, 32);
    tb_2b(&c, "", 0);
    tb_u8(&c, type);
    tb_u16(&c, sym);
    if (sym == 0x0006) {
        tb_u16(&c, 128);
        tb_u16(&c, 0x0043);
    } else if (sym == 0x000A) {
        tb_u16(&c, 0x000B);
    }
    tb_u16(&c, 0x000B);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    s->handle = rs_u32(&r);
    assert_int_equal(rs_2b(&r, s->nonce_tpm, 32), 32);
    s->sym = sym;
    if (bind != 0x40000007) {
        kdfa((const uint8_t *)bind_auth, strlen(bind_auth), "ATH", s->nonce_tpm, 32,
             s->nonce_caller, 32, 256, s->key);
        s->keylen = 32;
    }
}

/* Parameter encryption of n bytes, newer/older nonces as Part 1 §21 orders them. */
static void crypt(const struct csession *s, const char *auth, bool enc, const uint8_t *newer,
                  const uint8_t *older, uint8_t *p, size_t n)
{
    uint8_t value[64], k[32];
    size_t vl = s->keylen;
    memcpy(value, s->key, s->keylen);
    memcpy(value + vl, auth, strlen(auth));
    vl += strlen(auth);
    if (s->sym == 0x000A) {
        uint8_t mask[256];
        kdfa(value, vl, "XOR", newer, 32, older, 32, (uint32_t)n * 8, mask);
        for (size_t i = 0; i < n; i++) {
            p[i] ^= mask[i];
        }
        return;
    }
    kdfa(value, vl, "CFB", newer, 32, older, 32, 256, k);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl;
    EVP_CipherInit_ex(ctx, EVP_aes_128_cfb128(), NULL, k, k + 16, enc ? 1 : 0);
    EVP_CipherUpdate(ctx, p, &outl, p, (int)n);
    EVP_CIPHER_CTX_free(ctx);
}

/*
 * HierarchyChangeAuth(owner) through session s (continueSession | attrs), authorized with
 * old_auth, newAuth encrypted when attrs has decrypt. Checks the response HMAC.
 */
static uint32_t change_owner(struct tpm *t, struct csession *s, const char *old_auth,
                             const char *new_auth, uint8_t attrs, bool include_auth,
                             bool corrupt)
{
    uint8_t param[66], cp[32], hm[32], name[4] = {0x40, 0, 0, 1};
    size_t plen = 2 + strlen(new_auth);
    param[0] = 0;
    param[1] = (uint8_t)strlen(new_auth);
    memcpy(param + 2, new_auth, strlen(new_auth));
    const char *keyauth = include_auth ? old_auth : "";
    if (attrs & 0x20) {
        crypt(s, keyauth, true, s->nonce_caller, s->nonce_tpm, param + 2, strlen(new_auth));
    }
    /* cpHash = SHA256(cc || name || parameters) */
    SHA256_CTX h;
    uint8_t ccb[4];
    be32(ccb, 0x129);
    SHA256_Init(&h);
    SHA256_Update(&h, ccb, 4);
    SHA256_Update(&h, name, 4);
    SHA256_Update(&h, param, plen);
    SHA256_Final(cp, &h);
    uint8_t key[64], msg[256];
    size_t kl = s->keylen, m = 0;
    memcpy(key, s->key, s->keylen);
    memcpy(key + kl, keyauth, strlen(keyauth));
    kl += strlen(keyauth);
    memcpy(msg, cp, 32);
    m = 32;
    memcpy(msg + m, s->nonce_caller, 32);
    m += 32;
    memcpy(msg + m, s->nonce_tpm, 32);
    m += 32;
    msg[m++] = attrs;
    unsigned int hl = 32;
    HMAC(EVP_sha256(), key, (int)kl, msg, m, hm, &hl);
    if (corrupt) {
        hm[0] ^= 1;
    }
    struct tb c;
    struct rsp r;
    tb_start(&c, 0x8002, 0x129);
    tb_u32(&c, 0x40000001);
    tb_auth_begin(&c);
    tb_u32(&c, s->handle);
    tb_2b(&c, s->nonce_caller, 32);
    tb_u8(&c, attrs);
    tb_2b(&c, hm, 32);
    tb_auth_end(&c);
    tb_bytes(&c, param, plen);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc) {
        return rc;
    }
    /* response: parameterSize 0, then nonceTPM, attributes, HMAC over rpHash, keyed with the
     * new authValue (the entity's value after the command) */
    assert_int_equal(rs_u32(&r), 0);
    uint8_t nonce[32], rh[32], rp[32], expect[32];
    assert_int_equal(rs_2b(&r, nonce, 32), 32);
    assert_memory_not_equal(nonce, s->nonce_tpm, 32); /* rolled */
    assert_int_equal(rs_u8(&r), attrs);
    assert_int_equal(rs_2b(&r, rh, 32), 32);
    uint8_t zero[4] = {0};
    SHA256_Init(&h);
    SHA256_Update(&h, zero, 4);
    SHA256_Update(&h, ccb, 4);
    SHA256_Final(rp, &h);
    const char *newkey = include_auth ? new_auth : "";
    kl = s->keylen;
    memcpy(key + kl, newkey, strlen(newkey));
    kl += strlen(newkey);
    m = 0;
    memcpy(msg, rp, 32);
    m = 32;
    memcpy(msg + m, nonce, 32);
    m += 32;
    memcpy(msg + m, s->nonce_caller, 32);
    m += 32;
    msg[m++] = attrs;
    HMAC(EVP_sha256(), key, (int)kl, msg, m, expect, &hl);
    assert_memory_equal(rh, expect, 32);
    memcpy(s->nonce_tpm, nonce, 32);
    return 0;
}

static uint32_t pw_change_owner(struct tpm *t, const char *old_auth, const char *new_auth)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, 0x8002, 0x129);
    tb_u32(&c, 0x40000001);
    tb_auth_begin(&c);
    tb_pw(&c, old_auth);
    tb_auth_end(&c);
    tb_2b(&c, new_auth, (uint16_t)strlen(new_auth));
    return tt_exec(t, &c, &r);
}

static void hmac_session_authorizes_and_rolls_nonces(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct csession s;
    start_session(t, &s, 0x40000007, "", 0x0010, 0x00);
    assert_int_equal(s.handle >> 24, 0x02);
    assert_int_equal(change_owner(t, &s, "", "one", 0x01, true, false), 0);
    assert_int_equal(change_owner(t, &s, "one", "two", 0x01, true, false), 0);
    /* a wrong HMAC: TPM_RC_BAD_AUTH on session 1 (owner is not DA-protected) */
    assert_int_equal(change_owner(t, &s, "two", "x", 0x01, true, true), 0x9A2);
    /* the nonce did not move on failure: the right HMAC still works */
    assert_int_equal(change_owner(t, &s, "two", "", 0x01, true, false), 0);
    /* replaying an older nonceTPM fails */
    uint8_t saved[32];
    memcpy(saved, s.nonce_tpm, 32);
    assert_int_equal(change_owner(t, &s, "", "three", 0x01, true, false), 0);
    memcpy(s.nonce_tpm, saved, 32);
    assert_int_equal(change_owner(t, &s, "three", "x", 0x01, true, false), 0x9A2);
    tpm_free(t);
}

static void parameter_encryption_aes_and_xor(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct csession s;
    /* AES-128-CFB: newAuth travels encrypted; a password session then proves its value */
    start_session(t, &s, 0x40000007, "", 0x0006, 0x00);
    assert_int_equal(change_owner(t, &s, "", "secret-aes", 0x21, true, false), 0);
    assert_int_equal(pw_change_owner(t, "secret-aes", ""), 0);
    /* XOR obfuscation */
    start_session(t, &s, 0x40000007, "", 0x000A, 0x00);
    assert_int_equal(change_owner(t, &s, "", "secret-xor", 0x21, true, false), 0);
    assert_int_equal(pw_change_owner(t, "secret-xor", ""), 0);
    /* decrypt on a session without a symmetric algorithm: TPM_RC_SYMMETRIC, session 1 */
    start_session(t, &s, 0x40000007, "", 0x0010, 0x00);
    assert_int_equal(change_owner(t, &s, "", "x", 0x21, true, false), 0x096 | 0x800 | 0x100);
    tpm_free(t);
}

static void bound_session_leaves_out_the_auth(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct csession s;
    assert_int_equal(pw_change_owner(t, "", "bindpw"), 0);
    start_session(t, &s, 0x40000001, "bindpw", 0x0010, 0x00);
    /* bound to owner: the HMAC key is the sessionKey alone */
    assert_int_equal(change_owner(t, &s, "bindpw", "bindpw", 0x01, false, false), 0);
    /* the same session used with the authValue in the key fails */
    assert_int_equal(change_owner(t, &s, "bindpw", "x", 0x01, true, false), 0x9A2);
    tpm_free(t);
}

static void response_encryption_of_hash(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct csession s;
    start_session(t, &s, 0x40000007, "", 0x000A, 0x00);
    /* Hash("abc") with an audit-free session used only to encrypt the response: its HMAC
     * uses the sessionKey (empty here) */
    uint8_t param[32], cp[32], hm[32];
    size_t pl = 0;
    param[pl++] = 0;
    param[pl++] = 3;
    memcpy(param + pl, "abc", 3);
    pl += 3;
    param[pl++] = 0x00;
    param[pl++] = 0x0B;
    be32(param + pl, 0x40000007);
    pl += 4;
    SHA256_CTX h;
    uint8_t ccb[4];
    be32(ccb, 0x17D);
    SHA256_Init(&h);
    SHA256_Update(&h, ccb, 4);
    SHA256_Update(&h, param, pl);
    SHA256_Final(cp, &h);
    uint8_t msg[128];
    size_t m = 0;
    memcpy(msg, cp, 32);
    m = 32;
    memcpy(msg + m, s.nonce_caller, 32);
    m += 32;
    memcpy(msg + m, s.nonce_tpm, 32);
    m += 32;
    msg[m++] = 0x41; /* continueSession | encrypt */
    unsigned int hl = 32;
    uint8_t nokey = 0;
    HMAC(EVP_sha256(), &nokey, 0, msg, m, hm, &hl);
    struct tb c;
    struct rsp r;
    tb_start(&c, 0x8002, 0x17D);
    tb_auth_begin(&c);
    tb_u32(&c, s.handle);
    tb_2b(&c, s.nonce_caller, 32);
    tb_u8(&c, 0x41);
    tb_2b(&c, hm, 32);
    tb_auth_end(&c);
    tb_bytes(&c, param, pl);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u32(&r);
    uint8_t digest[32], nonce[32];
    assert_int_equal(rs_2b(&r, digest, 32), 32);
    rs_u16(&r);
    rs_u32(&r);
    uint8_t tk[64];
    rs_2b(&r, tk, 64);
    assert_int_equal(rs_2b(&r, nonce, 32), 32);
    /* response: newer = the new nonceTPM, older = nonceCaller */
    crypt(&s, "", false, nonce, s.nonce_caller, digest, 32);
    uint8_t want[32];
    SHA256((const uint8_t *)"abc", 3, want);
    assert_memory_equal(digest, want, 32);
    tpm_free(t);
}

/*
 * Load's response parameter (the object's TPM2B_NAME) may be encrypted (Part 3 §12.2: the
 * first response parameter is a TPM2B; ms-tpm-20-ref's command attributes say ENCRYPT_2 for
 * Load and LoadExternal). systemd-cryptenroll loads its sealed object through a session with
 * encrypt set; vtpmd answered TPM_RC_ATTRIBUTES there.
 */
static void response_encryption_of_load(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct tb c;
    struct rsp r;
    /* CreatePrimary(owner): ECC P-256 storage key, AES-128-CFB */
    static const char *const pw[] = {""};
    tb_start(&c, 0x8002, 0x131);
    tb_u32(&c, 0x40000001);
    tb_pws(&c, pw, 1);
    tb_u16(&c, 4); /* inSensitive: empty userAuth, empty data */
    tb_u16(&c, 0);
    tb_u16(&c, 0);
    size_t mark = tb_size16_begin(&c);
    tb_u16(&c, 0x0023);
    tb_u16(&c, 0x000B);
    tb_u32(&c, 0x00030472);
    tb_u16(&c, 0);
    tb_u16(&c, 0x0006);
    tb_u16(&c, 128);
    tb_u16(&c, 0x0043);
    tb_u16(&c, 0x0010);
    tb_u16(&c, 0x0003);
    tb_u16(&c, 0x0010);
    tb_u16(&c, 0);
    tb_u16(&c, 0);
    tb_size16_end(&c, mark);
    tb_u16(&c, 0);
    tb_u32(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    uint32_t parent = rs_u32(&r);
    rs_u32(&r);
    rs_2b(&r, NULL, 0);
    rs_2b(&r, NULL, 0);
    rs_2b(&r, NULL, 0);
    rs_u16(&r);
    rs_u32(&r);
    rs_2b(&r, NULL, 0);
    uint8_t pname[34];
    assert_int_equal(rs_2b(&r, pname, sizeof(pname)), 34);

    /* Create a sealed data object under it */
    tb_start(&c, 0x8002, 0x153);
    tb_u32(&c, parent);
    tb_pws(&c, pw, 1);
    tb_u16(&c, 9);
    tb_u16(&c, 0);
    tb_2b(&c, "hello", 5);
    mark = tb_size16_begin(&c);
    tb_u16(&c, 0x0008);
    tb_u16(&c, 0x000B);
    tb_u32(&c, 0x00000052);
    tb_u16(&c, 0);
    tb_u16(&c, 0x0010);
    tb_u16(&c, 0);
    tb_size16_end(&c, mark);
    tb_u16(&c, 0);
    tb_u32(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u32(&r);
    uint8_t priv[512], pub[256];
    uint16_t privl = rs_2b(&r, priv, sizeof(priv));
    uint16_t publ = rs_2b(&r, pub, sizeof(pub));
    assert_true(privl <= sizeof(priv) && publ <= sizeof(pub));

    /* Load: password for the parent, then a session used only to encrypt the response */
    struct csession s;
    start_session(t, &s, 0x40000007, "", 0x0006, 0x00);
    uint8_t param[800], cp[32], hm[32], ccb[4], msg[128];
    size_t pl = 0, m = 0;
    param[pl++] = (uint8_t)(privl >> 8);
    param[pl++] = (uint8_t)privl;
    memcpy(param + pl, priv, privl);
    pl += privl;
    param[pl++] = (uint8_t)(publ >> 8);
    param[pl++] = (uint8_t)publ;
    memcpy(param + pl, pub, publ);
    pl += publ;
    be32(ccb, 0x157);
    SHA256_CTX h;
    SHA256_Init(&h);
    SHA256_Update(&h, ccb, 4);
    SHA256_Update(&h, pname, sizeof(pname));
    SHA256_Update(&h, param, pl);
    SHA256_Final(cp, &h);
    memcpy(msg, cp, 32);
    m = 32;
    memcpy(msg + m, s.nonce_caller, 32);
    m += 32;
    memcpy(msg + m, s.nonce_tpm, 32);
    m += 32;
    msg[m++] = 0x41; /* continueSession | encrypt */
    unsigned int hl = 32;
    uint8_t nokey = 0;
    HMAC(EVP_sha256(), &nokey, 0, msg, m, hm, &hl);
    tb_start(&c, 0x8002, 0x157);
    tb_u32(&c, parent);
    tb_auth_begin(&c);
    tb_pw(&c, "");
    tb_u32(&c, s.handle);
    tb_2b(&c, s.nonce_caller, 32);
    tb_u8(&c, 0x41);
    tb_2b(&c, hm, 32);
    tb_auth_end(&c);
    tb_bytes(&c, param, pl);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u32(&r);
    rs_u32(&r);
    uint8_t name[34], nonce[32], want[34];
    assert_int_equal(rs_2b(&r, name, sizeof(name)), 34);
    rs_2b(&r, NULL, 0); /* the password session's response */
    rs_u8(&r);
    rs_2b(&r, NULL, 0);
    assert_int_equal(rs_2b(&r, nonce, 32), 32);
    want[0] = 0x00;
    want[1] = 0x0B;
    SHA256(pub, publ, want + 2);
    assert_memory_not_equal(name, want, 34); /* on the wire: encrypted */
    crypt(&s, "", false, nonce, s.nonce_caller, name, 34);
    assert_memory_equal(name, want, 34);
    tpm_free(t);
}

static void session_closes_without_continue(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct csession s;
    start_session(t, &s, 0x40000007, "", 0x0010, 0x00);
    assert_int_equal(change_owner(t, &s, "", "", 0x00, true, false), 0);
    /* gone: using it again is TPM_RC_REFERENCE_S0 */
    assert_int_equal(change_owner(t, &s, "", "", 0x01, true, false), 0x918);
    tpm_free(t);
}

static void context_save_and_load_of_sessions(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct csession s;
    struct tb c;
    struct rsp r;
    start_session(t, &s, 0x40000007, "", 0x0010, 0x00);
    tb_start(&c, 0x8001, 0x162);
    tb_u32(&c, s.handle);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    uint8_t blob[128];
    size_t bl = r.n - 10;
    memcpy(blob, r.b + 10, bl);
    /* saved: it cannot authorize, and a second ContextSave is TPM_RC_REFERENCE_H0 */
    assert_int_equal(change_owner(t, &s, "", "", 0x01, true, false), 0x918);
    assert_int_equal(tt_exec(t, &c, &r), 0x910);
    /* a tampered blob is refused with TPM_RC_INTEGRITY */
    blob[bl - 1] ^= 1;
    tb_start(&c, 0x8001, 0x161);
    tb_bytes(&c, blob, bl);
    assert_int_equal(tt_exec(t, &c, &r), 0x09F | 0x040 | 0x100);
    blob[bl - 1] ^= 1;
    tb_start(&c, 0x8001, 0x161);
    tb_bytes(&c, blob, bl);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(rs_u32(&r), s.handle); /* same handle back */
    assert_int_equal(change_owner(t, &s, "", "", 0x01, true, false), 0);
    /* the old blob cannot be loaded twice */
    tb_start(&c, 0x8001, 0x161);
    tb_bytes(&c, blob, bl);
    assert_int_equal(tt_exec(t, &c, &r), 0x08B | 0x040 | 0x100);
    /* flushed: ContextSave answers TPM_RC_REFERENCE_H0 (the kernel relies on it) */
    tb_start(&c, 0x8001, 0x165);
    tb_u32(&c, s.handle);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    tb_start(&c, 0x8001, 0x162);
    tb_u32(&c, s.handle);
    assert_int_equal(tt_exec(t, &c, &r), 0x910);
    tpm_free(t);
}

/* GetRandom(8) through session s used only for audit (attrs), keyed by the empty sessionKey;
 * on success the response attributes are stored in *rattrs. */
static uint32_t audited_getrandom(struct tpm *t, struct csession *s, uint8_t attrs,
                                  uint8_t *rattrs)
{
    uint8_t param[2] = {0, 8}, cp[32], hm[32], ccb[4], msg[128];
    size_t m = 0;
    be32(ccb, 0x17B);
    SHA256_CTX h;
    SHA256_Init(&h);
    SHA256_Update(&h, ccb, 4);
    SHA256_Update(&h, param, 2);
    SHA256_Final(cp, &h);
    memcpy(msg, cp, 32);
    m = 32;
    memcpy(msg + m, s->nonce_caller, 32);
    m += 32;
    memcpy(msg + m, s->nonce_tpm, 32);
    m += 32;
    msg[m++] = attrs;
    unsigned int hl = 32;
    uint8_t nokey = 0;
    HMAC(EVP_sha256(), &nokey, 0, msg, m, hm, &hl);
    struct tb c;
    struct rsp r;
    tb_start(&c, 0x8002, 0x17B);
    tb_auth_begin(&c);
    tb_u32(&c, s->handle);
    tb_2b(&c, s->nonce_caller, 32);
    tb_u8(&c, attrs);
    tb_2b(&c, hm, 32);
    tb_auth_end(&c);
    tb_bytes(&c, param, 2);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        uint32_t psize = rs_u32(&r);
        r.off += psize;
        rs_2b(&r, s->nonce_tpm, 32);
        *rattrs = rs_u8(&r);
    }
    return rc;
}

static void audit_exclusive(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct csession s;
    uint8_t ra = 0;
    start_session(t, &s, 0x40000007, "", 0x0010, 0x00);
    /* Not yet exclusive: a command that asks for it is refused (TPM_RC_EXCLUSIVE). */
    assert_int_equal(audited_getrandom(t, &s, 0x83, &ra), 0x121);
    /* Audited once: exclusive from then on, and the response says so. */
    assert_int_equal(audited_getrandom(t, &s, 0x81, &ra), 0);
    assert_int_equal(ra, 0x83);
    assert_int_equal(audited_getrandom(t, &s, 0x83, &ra), 0);
    assert_int_equal(ra, 0x83);
    /* A command it does not audit ends the exclusivity. */
    struct tb c;
    struct rsp r;
    tb_start(&c, 0x8001, 0x17B);
    tb_u16(&c, 4);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(audited_getrandom(t, &s, 0x83, &ra), 0x121);
    tpm_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hmac_session_authorizes_and_rolls_nonces),
        cmocka_unit_test(parameter_encryption_aes_and_xor),
        cmocka_unit_test(bound_session_leaves_out_the_auth),
        cmocka_unit_test(response_encryption_of_hash),
        cmocka_unit_test(response_encryption_of_load),
        cmocka_unit_test(session_closes_without_continue),
        cmocka_unit_test(context_save_and_load_of_sessions),
        cmocka_unit_test(audit_exclusive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

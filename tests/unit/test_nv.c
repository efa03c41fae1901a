/*
 * NV indices (Part 3 §31, PolicyNV §23.9, PolicyAuthorizeNV §23.22, PolicyNvWritten at use)
 * through the public API only: command bytes in, response bytes out. Policy sessions are
 * driven by a small client written here with OpenSSL (cpHash and HMAC, Part 1 §18.7,
 * §19.6.5), independent of the engine's code.
 *
 * Known answers (NV Names, NV_Extend values, policy digests) were computed with Python's
 * hashlib by tests/vectors/nv_kat.py, which prints each value named as below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "tpmtest.h"

#define ST_NO 0x8001
#define ST_S 0x8002

#define OWNER 0x40000001u
#define PLATFORM 0x4000000Cu
#define RH_NULL 0x40000007u

/* command codes */
#define CC_NV_UNDEFINE_SPECIAL 0x11F
#define CC_HIERARCHY_CONTROL 0x121
#define CC_NV_UNDEFINE 0x122
#define CC_CLEAR 0x126
#define CC_NV_DEFINE 0x12A
#define CC_NV_GLOBAL_WRITELOCK 0x132
#define CC_NV_INCREMENT 0x134
#define CC_NV_SETBITS 0x135
#define CC_NV_EXTEND 0x136
#define CC_NV_WRITE 0x137
#define CC_NV_WRITELOCK 0x138
#define CC_NV_CHANGEAUTH 0x13B
#define CC_POLICY_NV 0x149
#define CC_NV_READ 0x14E
#define CC_NV_READLOCK 0x14F
#define CC_GET_CAPABILITY 0x17A
#define CC_NV_READPUBLIC 0x169
#define CC_POLICY_CC 0x16C
#define CC_START_AUTH_SESSION 0x176
#define CC_POLICY_GET_DIGEST 0x189
#define CC_POLICY_NV_WRITTEN 0x18F
#define CC_POLICY_AUTHORIZE_NV 0x192

/* TPMA_NV (Part 2 §13.4) */
#define PPWRITE 0x00000001u
#define OWNERWRITE 0x00000002u
#define AUTHWRITE 0x00000004u
#define POLICYWRITE 0x00000008u
#define NT_COUNTER 0x00000010u
#define NT_BITS 0x00000020u
#define NT_EXTEND 0x00000040u
#define NT_PIN_FAIL 0x00000080u
#define NT_PIN_PASS 0x00000090u
#define POLICY_DELETE 0x00000400u
#define WRITELOCKED 0x00000800u
#define WRITEALL 0x00001000u
#define WRITEDEFINE 0x00002000u
#define WRITE_STCLEAR 0x00004000u
#define GLOBALLOCK 0x00008000u
#define PPREAD 0x00010000u
#define OWNERREAD 0x00020000u
#define AUTHREAD 0x00040000u
#define POLICYREAD 0x00080000u
#define NO_DA 0x02000000u
#define ORDERLY 0x04000000u
#define CLEAR_STCLEAR 0x08000000u
#define READLOCKED 0x10000000u
#define WRITTEN 0x20000000u
#define PLATFORMCREATE 0x40000000u
#define READ_STCLEAR 0x80000000u
#define OWNER_RW (OWNERREAD | OWNERWRITE)

/* response codes; P/H/S add a parameter, handle or session number (Part 2 §6.6.3) */
#define RC_AUTH_TYPE 0x124
#define RC_POLICY 0x126
#define RC_AUTH_UNAVAILABLE 0x12F
#define RC_NV_RANGE 0x146
#define RC_NV_LOCKED 0x148
#define RC_NV_AUTHORIZATION 0x149
#define RC_NV_UNINITIALIZED 0x14A
#define RC_NV_SPACE 0x14B
#define RC_NV_DEFINED 0x14C
#define RC_ATTRIBUTES 0x082
#define RC_HASH 0x083
#define RC_VALUE 0x084
#define RC_HIERARCHY 0x085
#define RC_HANDLE 0x08B
#define RC_AUTH_FAIL 0x08E
#define RC_SIZE 0x095
#define RC_POLICY_FAIL 0x09D
#define RC_RESERVED_BITS 0x0A1
#define RC_BAD_AUTH 0x0A2
#define P(rc, n) ((rc) | 0x040u | ((unsigned)(n) << 8))
#define H(rc, n) ((rc) | ((unsigned)(n) << 8))
#define S(rc, n) ((rc) | 0x800u | ((unsigned)(n) << 8))

/* ---- a small client ---- */

/* A policy (or trial) session as the caller sees it; sha256, unbound, unsalted. */
struct sess {
    uint32_t handle;
    uint8_t nonce_tpm[32];
    uint8_t nonce_caller[32];
};

/* One authorization: a password session (s == NULL, value = password) or a policy session
 * whose HMAC key is its (empty) sessionKey || value (the entity's authValue when the policy
 * has PolicyAuthValue, else ""). */
struct au {
    struct sess *s;
    const char *value;
};

static void params_init(struct tb *p)
{
    memset(p, 0, sizeof(*p));
}

static uint32_t read_public(struct tpm *t, uint32_t index, uint8_t *pub, size_t *publen,
                            uint8_t *name, size_t *namelen)
{
    struct tb c;
    struct rsp r;
    uint8_t tmp[256];
    tb_start(&c, ST_NO, CC_NV_READPUBLIC);
    tb_u32(&c, index);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc) {
        return rc;
    }
    size_t n = rs_2b(&r, pub ? pub : tmp, 256);
    if (publen) {
        *publen = n;
    }
    n = rs_2b(&r, name ? name : tmp, 256);
    if (namelen) {
        *namelen = n;
    }
    return 0;
}

/* Part 1 §16: the Name of a handle, as a caller computes cpHash with it. */
static size_t name_of(struct tpm *t, uint32_t h, uint8_t *out)
{
    size_t n = 0;
    if ((h >> 24) == 0x01 && read_public(t, h, NULL, NULL, out, &n) == 0) {
        return n;
    }
    out[0] = (uint8_t)(h >> 24);
    out[1] = (uint8_t)(h >> 16);
    out[2] = (uint8_t)(h >> 8);
    out[3] = (uint8_t)h;
    return 4;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Any command with handles, authorizations and parameters; nonces roll on success. */
static uint32_t run(struct tpm *t, uint32_t cc, const uint32_t *h, int nh, const struct au *a,
                    int na, const struct tb *prm, struct rsp *r)
{
    struct tb c;
    uint8_t cp[32];
    tb_start(&c, na ? ST_S : ST_NO, cc);
    for (int i = 0; i < nh; i++) {
        tb_u32(&c, h[i]);
    }
    if (na) {
        /* cpHash = SHA256(commandCode || names || parameters) */
        SHA256_CTX sh;
        uint8_t ccb[4], name[80];
        be32(ccb, cc);
        SHA256_Init(&sh);
        SHA256_Update(&sh, ccb, 4);
        for (int i = 0; i < nh; i++) {
            size_t n = name_of(t, h[i], name);
            SHA256_Update(&sh, name, n);
        }
        SHA256_Update(&sh, prm ? prm->b : (const uint8_t *)"", prm ? prm->n : 0);
        SHA256_Final(cp, &sh);
        tb_auth_begin(&c);
        for (int i = 0; i < na; i++) {
            if (!a[i].s) {
                tb_pw(&c, a[i].value);
                continue;
            }
            struct sess *s = a[i].s;
            uint8_t msg[32 * 3 + 1], mac[32];
            unsigned int ml = 32;
            memcpy(msg, cp, 32);
            memcpy(msg + 32, s->nonce_caller, 32);
            memcpy(msg + 64, s->nonce_tpm, 32);
            msg[96] = 0x01; /* continueSession */
            HMAC(EVP_sha256(), a[i].value, (int)strlen(a[i].value), msg, sizeof(msg), mac, &ml);
            tb_u32(&c, s->handle);
            tb_2b(&c, s->nonce_caller, 32);
            tb_u8(&c, 0x01);
            tb_2b(&c, mac, 32);
        }
        tb_auth_end(&c);
    }
    if (prm) {
        tb_bytes(&c, prm->b, prm->n);
    }
    uint32_t rc = tt_exec(t, &c, r);
    if (rc == 0 && na) {
        /* skip the parameters; take the new nonceTPM of each session */
        uint32_t psize = rs_u32(r);
        size_t poff = r->off;
        r->off += psize;
        for (int i = 0; i < na; i++) {
            uint8_t nonce[64], mac[64];
            uint16_t n = rs_2b(r, nonce, sizeof(nonce));
            rs_u8(r);
            rs_2b(r, mac, sizeof(mac));
            if (a[i].s) {
                assert_int_equal(n, 32);
                memcpy(a[i].s->nonce_tpm, nonce, 32);
            }
        }
        r->off = poff; /* back to the parameters for the caller */
    }
    return rc;
}

/* A command authorized by one password session. */
static uint32_t pw1(struct tpm *t, uint32_t cc, const uint32_t *h, int nh, const char *pw,
                    const struct tb *prm, struct rsp *r)
{
    struct au a = {NULL, pw};
    return run(t, cc, h, nh, &a, 1, prm, r);
}

static uint32_t define(struct tpm *t, uint32_t auth, uint32_t index, uint16_t alg, uint32_t attrs,
                       const uint8_t *policy, uint16_t plen, uint16_t size, const char *index_auth)
{
    struct tb p;
    struct rsp r;
    params_init(&p);
    tb_2b(&p, index_auth, (uint16_t)strlen(index_auth));
    tb_u16(&p, (uint16_t)(4 + 2 + 4 + 2 + plen + 2));
    tb_u32(&p, index);
    tb_u16(&p, alg);
    tb_u32(&p, attrs);
    tb_2b(&p, policy ? policy : (const uint8_t *)"", plen);
    tb_u16(&p, size);
    return pw1(t, CC_NV_DEFINE, &auth, 1, "", &p, &r);
}

/* The usual owner index: sha256, no authValue, no policy. */
static uint32_t define_owner(struct tpm *t, uint32_t index, uint32_t attrs, uint16_t size)
{
    return define(t, OWNER, index, 0x000B, attrs, NULL, 0, size, "");
}

static uint32_t nv_write(struct tpm *t, uint32_t auth, const char *pw, uint32_t index,
                         const void *d, uint16_t n, uint16_t off)
{
    struct tb p;
    struct rsp r;
    uint32_t h[2] = {auth, index};
    params_init(&p);
    tb_2b(&p, d, n);
    tb_u16(&p, off);
    return pw1(t, CC_NV_WRITE, h, 2, pw, &p, &r);
}

static uint32_t nv_read(struct tpm *t, uint32_t auth, const char *pw, uint32_t index, uint16_t size,
                        uint16_t off, uint8_t *out)
{
    struct tb p;
    struct rsp r;
    uint32_t h[2] = {auth, index};
    params_init(&p);
    tb_u16(&p, size);
    tb_u16(&p, off);
    uint32_t rc = pw1(t, CC_NV_READ, h, 2, pw, &p, &r);
    if (rc == 0) {
        assert_int_equal(rs_2b(&r, out, 1024), size);
    }
    return rc;
}

/* NV_Increment, NV_WriteLock, NV_ReadLock, NV_UndefineSpace: two handles, no parameters. */
static uint32_t nv_two(struct tpm *t, uint32_t cc, uint32_t auth, const char *pw, uint32_t index)
{
    struct rsp r;
    uint32_t h[2] = {auth, index};
    return pw1(t, cc, h, 2, pw, NULL, &r);
}

static uint32_t nv_setbits(struct tpm *t, uint32_t auth, uint32_t index, uint64_t bits)
{
    struct tb p;
    struct rsp r;
    uint32_t h[2] = {auth, index};
    params_init(&p);
    tb_u64(&p, bits);
    return pw1(t, CC_NV_SETBITS, h, 2, "", &p, &r);
}

static uint32_t nv_extend(struct tpm *t, uint32_t auth, uint32_t index, const char *d)
{
    struct tb p;
    struct rsp r;
    uint32_t h[2] = {auth, index};
    params_init(&p);
    tb_2b(&p, d, (uint16_t)strlen(d));
    return pw1(t, CC_NV_EXTEND, h, 2, "", &p, &r);
}

static uint64_t read_u64(struct tpm *t, uint32_t auth, uint32_t index)
{
    uint8_t d[8];
    assert_int_equal(nv_read(t, auth, "", index, 8, 0, d), 0);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | d[i];
    }
    return v;
}

static uint32_t attributes_of(struct tpm *t, uint32_t index)
{
    uint8_t pub[128];
    size_t n;
    assert_int_equal(read_public(t, index, pub, &n, NULL, NULL), 0);
    return (uint32_t)pub[6] << 24 | (uint32_t)pub[7] << 16 | (uint32_t)pub[8] << 8 | pub[9];
}

static uint32_t property(struct tpm *t, uint32_t pt)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, CC_GET_CAPABILITY);
    tb_u32(&c, 6); /* TPM_CAP_TPM_PROPERTIES */
    tb_u32(&c, pt);
    tb_u32(&c, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u8(&r);
    assert_int_equal(rs_u32(&r), 6);
    assert_int_equal(rs_u32(&r), 1);
    assert_int_equal(rs_u32(&r), pt);
    return rs_u32(&r);
}

#define PT_NV_COUNTERS_MAX 0x116
#define PT_NV_INDEX_MAX 0x117
#define PT_NV_BUFFER_MAX 0x12C
#define PT_HR_NV_INDEX 0x202
#define PT_NV_COUNTERS 0x20A
#define PT_NV_COUNTERS_AVAIL 0x20B

/* Handles listed by GetCapability(TPM_CAP_HANDLES, first); returns the count. */
static unsigned list_handles(struct tpm *t, uint32_t first, uint32_t *out, unsigned max,
                             uint8_t *more)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, CC_GET_CAPABILITY);
    tb_u32(&c, 1); /* TPM_CAP_HANDLES */
    tb_u32(&c, first);
    tb_u32(&c, max);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    *more = rs_u8(&r);
    assert_int_equal(rs_u32(&r), 1);
    unsigned n = rs_u32(&r);
    for (unsigned i = 0; i < n; i++) {
        out[i] = rs_u32(&r);
    }
    return n;
}

static void start_session(struct tpm *t, struct sess *s, uint8_t type)
{
    struct tb c;
    struct rsp r;
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < 32; i++) {
        s->nonce_caller[i] = (uint8_t)(0x60 + i);
    }
    tb_start(&c, ST_NO, CC_START_AUTH_SESSION);
    tb_u32(&c, RH_NULL);
    tb_u32(&c, RH_NULL);
    tb_2b(&c, s->nonce_caller, 32);
    tb_2b(&c, "", 0);
    tb_u8(&c, type); /* 0x01 policy, 0x03 trial */
    tb_u16(&c, 0x0010);
    tb_u16(&c, 0x000B);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    s->handle = rs_u32(&r);
    assert_int_equal(rs_2b(&r, s->nonce_tpm, 32), 32);
}

static void policy_cc(struct tpm *t, struct sess *s, uint32_t code)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, CC_POLICY_CC);
    tb_u32(&c, s->handle);
    tb_u32(&c, code);
    assert_int_equal(tt_exec(t, &c, &r), 0);
}

static void policy_digest(struct tpm *t, struct sess *s, uint8_t out[32])
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, CC_POLICY_GET_DIGEST);
    tb_u32(&c, s->handle);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(rs_2b(&r, out, 32), 32);
}

static void hexbytes(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(tt_hex(hex, out, n), n);
}

/* Save the permanent state when the engine says it changed, as a host commits it. */
struct disk {
    struct tpm_buf b;
};

static void commit(struct tpm *t, struct disk *d)
{
    if (tpm_state_dirty(t)) {
        assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, &d->b), 0);
    }
}

/* Power is lost: a new engine from what the host committed, then _TPM_Init and Startup. */
static struct tpm *crash(struct tpm *t, struct disk *d, uint16_t startup)
{
    tpm_free(t);
    struct tpm *n = tpm_new(NULL, NULL);
    assert_non_null(n);
    assert_int_equal(tpm_state_load(n, TPM_STATE_PERMANENT, d->b.data, d->b.len), 0);
    tpm_init(n);
    tt_startup(n, startup);
    return n;
}

/* An orderly power cycle in the same engine: Shutdown, _TPM_Init, Startup. */
static void power_cycle(struct tpm *t, uint16_t shutdown, uint16_t startup)
{
    tt_shutdown(t, shutdown);
    tpm_init(t);
    tt_startup(t, startup);
}

/* Clear the dirty flag so that a test can see whether a command marks a change. */
static void settle(struct tpm *t)
{
    struct tpm_buf b = {0};
    assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, &b), 0);
    tpm_buf_free(&b);
    assert_false(tpm_state_dirty(t));
}

/* ---- tests ---- */

static void names_are_computed_from_the_public_area(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t name[80], want[80], pub[128];
    size_t n, pn;
    assert_int_equal(define_owner(t, 0x01500016, OWNER_RW | AUTHREAD | AUTHWRITE, 32), 0);
    assert_int_equal(read_public(t, 0x01500016, pub, &pn, name, &n), 0);
    /* NAME_OWNER_UNWRITTEN */
    hexbytes("000b5efc224a5ca11f53db485095134d993aa8c24c69fdf17cdc1d38dfa3fec20c80", want, 34);
    assert_int_equal(n, 34);
    assert_memory_equal(name, want, 34);
    const uint8_t pub_want[] = {0x01, 0x50, 0x00, 0x16, 0x00, 0x0b, 0x00, 0x06, 0x00, 0x06,
                                0x00, 0x00, 0x00, 0x20};
    assert_int_equal(pn, sizeof(pub_want));
    assert_memory_equal(pub, pub_want, sizeof(pub_want));
    /* WRITTEN is part of the public area: the Name changes (NAME_OWNER_WRITTEN) */
    assert_int_equal(nv_write(t, OWNER, "", 0x01500016, "hello", 5, 3), 0);
    assert_int_equal(read_public(t, 0x01500016, NULL, NULL, name, &n), 0);
    hexbytes("000be2d663da4fcf077ab479514b7c4db4191b9931cf9551f0b70af9193ff27599ca", want, 34);
    assert_memory_equal(name, want, 34);
    /* sha1 platform index with a policy (NAME_PLATFORM_SHA1) */
    uint8_t pol[20];
    memset(pol, 0x11, sizeof(pol));
    assert_int_equal(define(t, PLATFORM, 0x01400001, 0x0004,
                            PPWRITE | POLICYWRITE | PPREAD | PLATFORMCREATE, pol, 20, 16, ""),
                     0);
    assert_int_equal(read_public(t, 0x01400001, NULL, NULL, name, &n), 0);
    hexbytes("0004cc00305afbd74d62b356c7b198dd0b587291b080", want, 22);
    assert_int_equal(n, 22);
    assert_memory_equal(name, want, 22);
    /* undefined */
    assert_int_equal(read_public(t, 0x01500099, NULL, NULL, NULL, NULL), H(RC_HANDLE, 1));
    tpm_free(t);
}

static void write_and_read_with_offsets(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[1024], big[1024];
    const uint32_t ix = 0x01500001;
    assert_int_equal(define_owner(t, ix, OWNER_RW, 3000), 0);
    /* not written yet */
    assert_int_equal(nv_read(t, OWNER, "", ix, 1, 0, d), RC_NV_UNINITIALIZED);
    for (int i = 0; i < 1024; i++) {
        big[i] = (uint8_t)(i * 7 + 1);
    }
    /* three writes cover 0..2999 (the last one short) */
    assert_int_equal(nv_write(t, OWNER, "", ix, big, 1024, 0), 0);
    assert_int_equal(nv_write(t, OWNER, "", ix, big, 1024, 1024), 0);
    assert_int_equal(nv_write(t, OWNER, "", ix, big, 952, 2048), 0);
    assert_int_equal(nv_read(t, OWNER, "", ix, 1024, 1024, d), 0);
    assert_memory_equal(d, big, 1024);
    assert_int_equal(nv_read(t, OWNER, "", ix, 10, 2990, d), 0);
    assert_memory_equal(d, big + 942, 10);
    /* past the end: offset > size is a bad value, a range past the end is NV_RANGE */
    assert_int_equal(nv_write(t, OWNER, "", ix, big, 1, 3001), P(RC_VALUE, 2));
    assert_int_equal(nv_write(t, OWNER, "", ix, big, 2, 2999), RC_NV_RANGE);
    assert_int_equal(nv_write(t, OWNER, "", ix, big, 0, 3000), 0);
    assert_int_equal(nv_read(t, OWNER, "", ix, 1, 3001, d), P(RC_VALUE, 2));
    assert_int_equal(nv_read(t, OWNER, "", ix, 2, 2999, d), RC_NV_RANGE);
    assert_int_equal(nv_read(t, OWNER, "", ix, 0, 3000, d), 0);
    /* more than one buffer in one read */
    struct tb p;
    struct rsp r;
    uint32_t h[2] = {OWNER, ix};
    params_init(&p);
    tb_u16(&p, 1025);
    tb_u16(&p, 0);
    assert_int_equal(pw1(t, CC_NV_READ, h, 2, "", &p, &r), P(RC_VALUE, 1));
    /* a TPM2B_MAX_NV_BUFFER larger than MAX_NV_BUFFER_SIZE is refused while unmarshaling */
    params_init(&p);
    tb_u16(&p, 1025);
    tb_bytes(&p, big, 1024);
    tb_u8(&p, 0);
    tb_u16(&p, 0);
    assert_int_equal(pw1(t, CC_NV_WRITE, h, 2, "", &p, &r), P(RC_SIZE, 1));
    /* truncated parameters */
    params_init(&p);
    tb_u16(&p, 4);
    tb_u16(&p, 0);
    assert_int_equal(pw1(t, CC_NV_WRITE, h, 2, "", &p, &r), P(0x09A, 1));
    /* the data did not change */
    assert_int_equal(nv_read(t, OWNER, "", ix, 1024, 0, d), 0);
    assert_memory_equal(d, big, 1024);
    tpm_free(t);
}

static void writeall_and_same_bytes(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[16];
    assert_int_equal(define_owner(t, 0x01500002, OWNER_RW | WRITEALL, 8), 0);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500002, "1234", 4, 0), RC_NV_RANGE);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500002, "1234", 4, 4), RC_NV_RANGE);
    assert_int_equal(nv_read(t, OWNER, "", 0x01500002, 8, 0, d), RC_NV_UNINITIALIZED);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500002, "12345678", 8, 0), 0);
    assert_true(tpm_state_dirty(t));
    /* writing the bytes already stored commits nothing */
    settle(t);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500002, "12345678", 8, 0), 0);
    assert_false(tpm_state_dirty(t));
    assert_int_equal(nv_write(t, OWNER, "", 0x01500002, "12345679", 8, 0), 0);
    assert_true(tpm_state_dirty(t));
    /* even an empty write sets WRITTEN and commits, the first time */
    assert_int_equal(define_owner(t, 0x01500003, OWNER_RW, 8), 0);
    settle(t);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500003, "", 0, 0), 0);
    assert_true(tpm_state_dirty(t));
    assert_true(attributes_of(t, 0x01500003) & WRITTEN);
    tpm_free(t);
}

static void authorizations_follow_the_attributes(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[8];
    const uint32_t ix = 0x01500010;
    /* written by owner only, read with the index's authValue only */
    assert_int_equal(define(t, OWNER, ix, 0x000B, OWNERWRITE | AUTHREAD, NULL, 0, 8, "secret"),
                     0);
    assert_int_equal(nv_write(t, ix, "secret", ix, "abcdefgh", 8, 0), RC_AUTH_UNAVAILABLE);
    assert_int_equal(nv_write(t, PLATFORM, "", ix, "abcdefgh", 8, 0), RC_NV_AUTHORIZATION);
    assert_int_equal(nv_write(t, OWNER, "", ix, "abcdefgh", 8, 0), 0);
    assert_int_equal(nv_read(t, OWNER, "", ix, 8, 0, d), RC_NV_AUTHORIZATION);
    assert_int_equal(nv_read(t, PLATFORM, "", ix, 8, 0, d), RC_NV_AUTHORIZATION);
    assert_int_equal(nv_read(t, ix, "secret", ix, 8, 0, d), 0);
    assert_memory_equal(d, "abcdefgh", 8);
    /* a wrong authValue: DA-protected index, AUTH_FAIL on session 1 */
    assert_int_equal(nv_read(t, ix, "wrong", ix, 8, 0, d), S(RC_AUTH_FAIL, 1));
    /* another index cannot authorize this one */
    assert_int_equal(define(t, OWNER, 0x01500011, 0x000B, OWNER_RW | AUTHREAD | NO_DA, NULL, 0,
                            8, "other"),
                     0);
    assert_int_equal(nv_read(t, 0x01500011, "other", ix, 8, 0, d), RC_NV_AUTHORIZATION);
    /* NO_DA: BAD_AUTH, no lockout count */
    assert_int_equal(nv_write(t, OWNER, "", 0x01500011, "x", 1, 0), 0);
    assert_int_equal(nv_read(t, 0x01500011, "bad", 0x01500011, 1, 0, d), S(RC_BAD_AUTH, 1));
    /* the wrong handle types in the handle area */
    assert_int_equal(nv_read(t, 0x81000000, "", ix, 8, 0, d), H(RC_VALUE, 1));
    assert_int_equal(nv_read(t, OWNER, "", 0x40000001, 8, 0, d), H(RC_VALUE, 2));
    assert_int_equal(nv_read(t, OWNER, "", 0x01500099, 8, 0, d), H(RC_HANDLE, 2));
    tpm_free(t);
}

static void types_have_their_own_commands(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    assert_int_equal(define_owner(t, 0x01500020, OWNER_RW, 8), 0);
    assert_int_equal(define_owner(t, 0x01500021, OWNER_RW | NT_COUNTER, 8), 0);
    assert_int_equal(define_owner(t, 0x01500022, OWNER_RW | NT_BITS, 8), 0);
    assert_int_equal(define_owner(t, 0x01500023, OWNER_RW | NT_EXTEND, 32), 0);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500021, "12345678", 8, 0), RC_ATTRIBUTES);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500022, "12345678", 8, 0), RC_ATTRIBUTES);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500023, "12345678", 8, 0), RC_ATTRIBUTES);
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", 0x01500020), H(RC_ATTRIBUTES, 2));
    assert_int_equal(nv_setbits(t, OWNER, 0x01500021, 1), H(RC_ATTRIBUTES, 2));
    assert_int_equal(nv_extend(t, OWNER, 0x01500022, "x"), H(RC_ATTRIBUTES, 2));
    /* none of them changed anything */
    for (uint32_t ix = 0x01500020; ix <= 0x01500023; ix++) {
        assert_false(attributes_of(t, ix) & WRITTEN);
    }
    tpm_free(t);
}

static void counters_never_go_back(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    assert_int_equal(define_owner(t, 0x01500030, OWNER_RW | NT_COUNTER, 8), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", 0x01500030), 0);
    }
    assert_int_equal(read_u64(t, OWNER, 0x01500030), 5);
    /* a new counter starts above every counter there is */
    assert_int_equal(define_owner(t, 0x01500031, OWNER_RW | NT_COUNTER, 8), 0);
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", 0x01500031), 0);
    assert_int_equal(read_u64(t, OWNER, 0x01500031), 6);
    /* ... and above every counter there was */
    assert_int_equal(nv_two(t, CC_NV_UNDEFINE, OWNER, "", 0x01500030), 0);
    assert_int_equal(nv_two(t, CC_NV_UNDEFINE, OWNER, "", 0x01500031), 0);
    assert_int_equal(define_owner(t, 0x01500030, OWNER_RW | NT_COUNTER, 8), 0);
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", 0x01500030), 0);
    assert_int_equal(read_u64(t, OWNER, 0x01500030), 7);
    /* TPM2_Clear deletes owner counters but not what they reached */
    assert_int_equal(pw1(t, CC_CLEAR, (const uint32_t[]){PLATFORM}, 1, "", NULL,
                         &(struct rsp){0}),
                     0);
    assert_int_equal(read_public(t, 0x01500030, NULL, NULL, NULL, NULL), H(RC_HANDLE, 1));
    assert_int_equal(define_owner(t, 0x01500032, OWNER_RW | NT_COUNTER, 8), 0);
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", 0x01500032), 0);
    assert_int_equal(read_u64(t, OWNER, 0x01500032), 8);
    tpm_free(t);
}

static void counters_survive_a_crash(void **state)
{
    (void)state;
    struct disk d = {{0}};
    struct tpm *t = tt_new(NULL);
    const uint32_t plain = 0x01500040, hybrid = 0x01500041;
    assert_int_equal(define_owner(t, plain, OWNER_RW | NT_COUNTER, 8), 0);
    assert_int_equal(define_owner(t, hybrid, OWNER_RW | NT_COUNTER | ORDERLY, 8), 0);
    commit(t, &d);
    /* the first increment of each reaches NV; later ones of the orderly counter do not */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", plain), 0);
        assert_true(tpm_state_dirty(t));
        commit(t, &d);
        assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", hybrid), 0);
        assert_int_equal(tpm_state_dirty(t), i == 0);
        commit(t, &d);
    }
    uint64_t seen_plain = read_u64(t, OWNER, plain), seen_hybrid = read_u64(t, OWNER, hybrid);
    assert_int_equal(seen_plain, 10);
    assert_int_equal(seen_hybrid, 11); /* started above the plain counter's 1 */
    /* power lost without Shutdown: the engine is discarded, the host's last commit reloads */
    t = crash(t, &d, 0);
    assert_int_equal(read_u64(t, OWNER, plain), 10);
    uint64_t after = read_u64(t, OWNER, hybrid);
    assert_true(after >= seen_hybrid);
    assert_int_equal(after, 0xFF); /* its NV copy (1) moved to the end of its block */
    /* the next increment crosses into a new block and commits */
    settle(t);
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", hybrid), 0);
    assert_true(tpm_state_dirty(t));
    commit(t, &d);
    assert_int_equal(read_u64(t, OWNER, hybrid), 0x100);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", hybrid), 0);
        commit(t, &d);
    }
    seen_hybrid = read_u64(t, OWNER, hybrid);
    assert_int_equal(seen_hybrid, 0x100 + 300);
    t = crash(t, &d, 0);
    after = read_u64(t, OWNER, hybrid);
    assert_true(after > seen_hybrid);
    assert_int_equal(after, 0x2FF);
    /* with an orderly shutdown the counter comes back exactly */
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", hybrid), 0);
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", hybrid), 0);
    commit(t, &d);
    tt_shutdown(t, 0);
    commit(t, &d);
    t = crash(t, &d, 0);
    assert_int_equal(read_u64(t, OWNER, hybrid), 0x301);
    tpm_free(t);
    tpm_buf_free(&d.b);
}

/* The host could not commit: it rolls the running engine back to its last durable state. */
static void commit_fails(struct tpm *t, struct disk *d)
{
    assert_true(tpm_state_dirty(t));
    assert_int_equal(tpm_state_load(t, TPM_STATE_PERMANENT, d->b.data, d->b.len), 0);
    assert_false(tpm_state_dirty(t));
}

static void rollback_after_a_failed_commit(void **state)
{
    (void)state;
    struct disk d = {{0}};
    struct tpm *t = tt_new(NULL);
    uint8_t buf[8];
    const uint32_t hybrid = 0x01500045, ord = 0x01500046, fresh = 0x01500047;
    assert_int_equal(define_owner(t, hybrid, OWNER_RW | NT_COUNTER | ORDERLY, 8), 0);
    assert_int_equal(define_owner(t, ord, OWNER_RW | ORDERLY, 8), 0);
    assert_int_equal(nv_write(t, OWNER, "", ord, "11111111", 8, 0), 0);
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", hybrid), 0); /* 1, committed */
    commit(t, &d);
    for (int i = 0; i < 254; i++) {
        assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", hybrid), 0);
        assert_false(tpm_state_dirty(t));
    }
    assert_int_equal(read_u64(t, OWNER, hybrid), 0xFF);
    assert_int_equal(nv_write(t, OWNER, "", ord, "22222222", 8, 0), 0);
    /* the rollover to 0x100 must reach NV: its commit fails */
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", hybrid), 0);
    commit_fails(t, &d);
    /* what was shown stays (0xFF), the failed value does not; the RAM-only write stays */
    assert_int_equal(read_u64(t, OWNER, hybrid), 0xFF);
    assert_int_equal(nv_read(t, OWNER, "", ord, 8, 0, buf), 0);
    assert_memory_equal(buf, "22222222", 8);
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", hybrid), 0);
    assert_true(tpm_state_dirty(t));
    commit(t, &d);
    assert_int_equal(read_u64(t, OWNER, hybrid), 0x100);
    /* an unrelated command failing to commit keeps the live values */
    assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", hybrid), 0);
    assert_int_equal(define_owner(t, fresh, OWNER_RW | ORDERLY, 8), 0);
    commit_fails(t, &d);
    assert_int_equal(read_u64(t, OWNER, hybrid), 0x101);
    assert_int_equal(read_public(t, fresh, NULL, NULL, NULL, NULL), H(RC_HANDLE, 1));
    /* a first write, and a lock, that did not reach NV are undone */
    assert_int_equal(define_owner(t, fresh, OWNER_RW | ORDERLY | WRITE_STCLEAR, 8), 0);
    commit(t, &d);
    assert_int_equal(nv_write(t, OWNER, "", fresh, "33333333", 8, 0), 0);
    commit_fails(t, &d);
    assert_int_equal(nv_read(t, OWNER, "", fresh, 8, 0, buf), RC_NV_UNINITIALIZED);
    assert_int_equal(nv_write(t, OWNER, "", fresh, "33333333", 8, 0), 0);
    commit(t, &d);
    assert_int_equal(nv_two(t, CC_NV_WRITELOCK, OWNER, "", fresh), 0);
    commit_fails(t, &d);
    assert_int_equal(nv_write(t, OWNER, "", fresh, "44444444", 8, 0), 0);
    tpm_free(t);
    tpm_buf_free(&d.b);
}

static void orderly_indices_and_startup_kinds(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[8];
    const uint32_t ix = 0x01500050;
    assert_int_equal(define_owner(t, ix, OWNER_RW | ORDERLY, 8), 0);
    assert_int_equal(nv_write(t, OWNER, "", ix, "aaaaaaaa", 8, 0), 0);
    settle(t);
    /* later writes stay in RAM until Shutdown */
    assert_int_equal(nv_write(t, OWNER, "", ix, "bbbbbbbb", 8, 0), 0);
    assert_false(tpm_state_dirty(t));
    /* TPM Restart (Shutdown(STATE), Startup(CLEAR)): the data is there */
    power_cycle(t, 1, 0);
    assert_int_equal(nv_read(t, OWNER, "", ix, 8, 0, d), 0);
    assert_memory_equal(d, "bbbbbbbb", 8);
    /* TPM Resume */
    assert_int_equal(nv_write(t, OWNER, "", ix, "cccccccc", 8, 0), 0);
    power_cycle(t, 1, 1);
    assert_int_equal(nv_read(t, OWNER, "", ix, 8, 0, d), 0);
    assert_memory_equal(d, "cccccccc", 8);
    /* TPM Reset: an orderly index that is not a counter is no longer written */
    power_cycle(t, 0, 0);
    assert_int_equal(nv_read(t, OWNER, "", ix, 8, 0, d), RC_NV_UNINITIALIZED);
    /* a change after Shutdown(STATE) withdraws the orderly state: no Resume then */
    assert_int_equal(nv_write(t, OWNER, "", ix, "dddddddd", 8, 0), 0);
    tt_shutdown(t, 1);
    settle(t);
    assert_int_equal(nv_write(t, OWNER, "", ix, "eeeeeeee", 8, 0), 0);
    assert_true(tpm_state_dirty(t));
    tpm_init(t);
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, 0x144);
    tb_u16(&c, 1);
    assert_int_equal(tt_exec(t, &c, &r), P(RC_VALUE, 1));
    tt_startup(t, 0);
    tpm_free(t);
}

static void clear_stclear_and_locks(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[8];
    const uint32_t cs = 0x01500060, ws = 0x01500061, wd = 0x01500062, wdu = 0x01500063,
                   rs = 0x01500064, plain = 0x01500065;
    assert_int_equal(define_owner(t, cs, OWNER_RW | CLEAR_STCLEAR, 8), 0);
    assert_int_equal(define_owner(t, ws, OWNER_RW | WRITE_STCLEAR, 8), 0);
    assert_int_equal(define_owner(t, wd, OWNER_RW | WRITEDEFINE, 8), 0);
    assert_int_equal(define_owner(t, wdu, OWNER_RW | WRITEDEFINE, 8), 0);
    assert_int_equal(define_owner(t, rs, OWNER_RW | READ_STCLEAR, 8), 0);
    assert_int_equal(define_owner(t, plain, OWNER_RW, 8), 0);
    for (uint32_t ix = cs; ix <= plain; ix++) {
        if (ix != wdu) {
            assert_int_equal(nv_write(t, OWNER, "", ix, "12345678", 8, 0), 0);
        }
    }
    /* locking needs WRITEDEFINE or WRITE_STCLEAR, reading locks need READ_STCLEAR */
    assert_int_equal(nv_two(t, CC_NV_WRITELOCK, OWNER, "", plain), H(RC_ATTRIBUTES, 2));
    assert_int_equal(nv_two(t, CC_NV_READLOCK, OWNER, "", plain), H(RC_ATTRIBUTES, 2));
    assert_int_equal(nv_two(t, CC_NV_WRITELOCK, OWNER, "", ws), 0);
    assert_int_equal(nv_two(t, CC_NV_WRITELOCK, OWNER, "", wd), 0);
    assert_int_equal(nv_two(t, CC_NV_WRITELOCK, OWNER, "", wdu), 0);
    assert_int_equal(nv_two(t, CC_NV_READLOCK, OWNER, "", rs), 0);
    settle(t);
    /* locking again is no error and changes nothing */
    assert_int_equal(nv_two(t, CC_NV_WRITELOCK, OWNER, "", ws), 0);
    assert_int_equal(nv_two(t, CC_NV_READLOCK, OWNER, "", rs), 0);
    assert_false(tpm_state_dirty(t));
    assert_int_equal(nv_write(t, OWNER, "", ws, "x", 1, 0), RC_NV_LOCKED);
    assert_int_equal(nv_write(t, OWNER, "", wd, "x", 1, 0), RC_NV_LOCKED);
    assert_int_equal(nv_read(t, OWNER, "", rs, 8, 0, d), RC_NV_LOCKED);
    assert_int_equal(nv_read(t, OWNER, "", ws, 8, 0, d), 0);
    /* Resume keeps everything */
    power_cycle(t, 1, 1);
    assert_int_equal(nv_write(t, OWNER, "", ws, "x", 1, 0), RC_NV_LOCKED);
    assert_int_equal(nv_read(t, OWNER, "", rs, 8, 0, d), RC_NV_LOCKED);
    assert_int_equal(nv_read(t, OWNER, "", cs, 8, 0, d), 0);
    /* Startup(CLEAR): STCLEAR locks go, a written WRITEDEFINE lock stays, CLEAR_STCLEAR
     * indices are unwritten */
    power_cycle(t, 0, 0);
    assert_int_equal(nv_write(t, OWNER, "", ws, "x", 1, 0), 0);
    assert_int_equal(nv_write(t, OWNER, "", wd, "x", 1, 0), RC_NV_LOCKED);
    assert_int_equal(nv_write(t, OWNER, "", wdu, "x", 1, 0), 0); /* locked while unwritten */
    assert_int_equal(nv_read(t, OWNER, "", rs, 8, 0, d), 0);
    assert_int_equal(nv_read(t, OWNER, "", cs, 8, 0, d), RC_NV_UNINITIALIZED);
    assert_int_equal(nv_read(t, OWNER, "", plain, 8, 0, d), 0);
    /* an unwritten index can be read-locked */
    assert_int_equal(define_owner(t, 0x01500066, OWNER_RW | READ_STCLEAR, 8), 0);
    assert_int_equal(nv_two(t, CC_NV_READLOCK, OWNER, "", 0x01500066), 0);
    assert_true(attributes_of(t, 0x01500066) & READLOCKED);
    /* the lock commands check the authorization like the others */
    assert_int_equal(define_owner(t, 0x01500067, OWNERWRITE | AUTHREAD | WRITE_STCLEAR, 8), 0);
    assert_int_equal(nv_two(t, CC_NV_READLOCK, OWNER, "", 0x01500067), RC_NV_AUTHORIZATION);
    assert_int_equal(nv_two(t, CC_NV_WRITELOCK, PLATFORM, "", 0x01500067),
                     RC_NV_AUTHORIZATION);
    tpm_free(t);
}

static void global_write_lock(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    assert_int_equal(define_owner(t, 0x01500070, OWNER_RW | GLOBALLOCK, 8), 0);
    assert_int_equal(define_owner(t, 0x01500071, OWNER_RW, 8), 0);
    assert_int_equal(define(t, PLATFORM, 0x01400070, 0x000B,
                            PPWRITE | PPREAD | PLATFORMCREATE | GLOBALLOCK | WRITEDEFINE, NULL, 0,
                            8, ""),
                     0);
    assert_int_equal(nv_write(t, PLATFORM, "", 0x01400070, "12345678", 8, 0), 0);
    assert_int_equal(pw1(t, CC_NV_GLOBAL_WRITELOCK, (const uint32_t[]){OWNER}, 1, "", NULL,
                         &(struct rsp){0}),
                     0);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500070, "x", 1, 0), RC_NV_LOCKED);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500071, "x", 1, 0), 0);
    assert_int_equal(nv_write(t, PLATFORM, "", 0x01400070, "x", 1, 0), RC_NV_LOCKED);
    /* again: nothing to change, nothing committed */
    settle(t);
    assert_int_equal(pw1(t, CC_NV_GLOBAL_WRITELOCK, (const uint32_t[]){PLATFORM}, 1, "", NULL,
                         &(struct rsp){0}),
                     0);
    assert_false(tpm_state_dirty(t));
    /* Startup(CLEAR) unlocks, except a written index with WRITEDEFINE */
    power_cycle(t, 0, 0);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500070, "x", 1, 0), 0);
    assert_int_equal(nv_write(t, PLATFORM, "", 0x01400070, "x", 1, 0), RC_NV_LOCKED);
    tpm_free(t);
}

static void bits_and_extend(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[48], want[48];
    assert_int_equal(define_owner(t, 0x01500080, OWNER_RW | NT_BITS, 8), 0);
    assert_int_equal(nv_setbits(t, OWNER, 0x01500080, 0x0101), 0);
    assert_int_equal(nv_setbits(t, OWNER, 0x01500080, 0x8000000000000010ull), 0);
    assert_int_equal(read_u64(t, OWNER, 0x01500080), 0x8000000000000111ull);
    settle(t);
    assert_int_equal(nv_setbits(t, OWNER, 0x01500080, 0x0100), 0); /* already set */
    assert_false(tpm_state_dirty(t));
    /* NV_Extend on sha256 (EXTEND_SHA256_1, EXTEND_SHA256_2) */
    assert_int_equal(define_owner(t, 0x01500081, OWNER_RW | NT_EXTEND, 32), 0);
    assert_int_equal(nv_extend(t, OWNER, 0x01500081, "abc"), 0);
    assert_int_equal(nv_read(t, OWNER, "", 0x01500081, 32, 0, d), 0);
    hexbytes("365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370", want, 32);
    assert_memory_equal(d, want, 32);
    assert_int_equal(nv_extend(t, OWNER, 0x01500081, "defg"), 0);
    assert_int_equal(nv_read(t, OWNER, "", 0x01500081, 32, 0, d), 0);
    hexbytes("9984cc5df844cc43a0173a1165ef7c5eeb859f65c04f632c052799285cf6c9ea", want, 32);
    assert_memory_equal(d, want, 32);
    /* sha384 (EXTEND_SHA384_1): the size is the nameAlg's */
    assert_int_equal(define(t, OWNER, 0x01500082, 0x000C, OWNER_RW | NT_EXTEND, NULL, 0, 32, ""),
                     P(RC_SIZE, 2));
    assert_int_equal(define(t, OWNER, 0x01500082, 0x000C, OWNER_RW | NT_EXTEND, NULL, 0, 48, ""),
                     0);
    assert_int_equal(nv_extend(t, OWNER, 0x01500082, "abc"), 0);
    assert_int_equal(nv_read(t, OWNER, "", 0x01500082, 48, 0, d), 0);
    hexbytes("b1c16eb7634112b7c9d5ebd27e62a2d4528bbfcfd68b62d3afd9ecf98e0f413a84314acce783"
             "17fb69fd895155343e09",
             want, 48);
    assert_memory_equal(d, want, 48);
    tpm_free(t);
}

/* One DefineSpace that must fail with rc, leaving the state as it was. */
static void refused(struct tpm *t, uint32_t rc, uint32_t auth, uint32_t index, uint16_t alg,
                    uint32_t attrs, uint16_t plen, uint16_t size, const char *iauth)
{
    uint8_t pol[64];
    memset(pol, 0x22, sizeof(pol));
    unsigned before = property(t, PT_HR_NV_INDEX);
    settle(t);
    assert_int_equal(define(t, auth, index, alg, attrs, pol, plen, size, iauth), rc);
    assert_false(tpm_state_dirty(t));
    assert_int_equal(property(t, PT_HR_NV_INDEX), before);
}

static void definitions_that_may_not_be(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    const uint32_t ix = 0x01500090;
    const uint16_t sha = 0x000B;
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | NT_COUNTER | CLEAR_STCLEAR, 0,
            8, "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | NT_PIN_FAIL, 0, 8, "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | NT_PIN_PASS | AUTHWRITE, 0, 8,
            "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | NT_PIN_PASS | WRITEDEFINE, 0, 8,
            "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | NT_PIN_FAIL | NO_DA | GLOBALLOCK,
            0, 8, "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | WRITTEN, 0, 8, "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | WRITELOCKED, 0, 8, "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | READLOCKED, 0, 8, "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNERWRITE, 0, 8, "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNERREAD, 0, 8, "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | CLEAR_STCLEAR | WRITEDEFINE, 0,
            8, "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | 0x30, 0, 8, ""); /* TPM_NT 3 */
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | 0xF0, 0, 8, "");
    refused(t, P(RC_ATTRIBUTES, 2), OWNER, ix, sha, OWNER_RW | POLICY_DELETE, 0, 8, "");
    /* the creator must be able to delete what it creates */
    refused(t, H(RC_ATTRIBUTES, 1), OWNER, ix, sha, OWNER_RW | PLATFORMCREATE, 0, 8, "");
    refused(t, H(RC_ATTRIBUTES, 1), PLATFORM, ix, sha, OWNER_RW, 0, 8, "");
    /* sizes */
    refused(t, P(RC_SIZE, 2), OWNER, ix, sha, OWNER_RW, 0, 4097, "");
    refused(t, P(RC_SIZE, 2), OWNER, ix, sha, OWNER_RW | NT_COUNTER, 0, 4, "");
    refused(t, P(RC_SIZE, 2), OWNER, ix, sha, OWNER_RW | NT_BITS, 0, 16, "");
    refused(t, P(RC_SIZE, 2), OWNER, ix, sha, OWNER_RW | NT_EXTEND, 0, 20, "");
    refused(t, P(RC_SIZE, 2), OWNER, ix, sha, OWNER_RW | WRITEALL, 0, 1025, "");
    refused(t, P(RC_SIZE, 2), OWNER, ix, sha, OWNER_RW, 20, 8, ""); /* policy not sha256 */
    refused(t, P(RC_SIZE, 1), OWNER, ix, sha, OWNER_RW, 0, 8,
            "0123456789abcdef0123456789abcdef!"); /* authValue longer than the nameAlg */
    /* reserved bits, an unknown nameAlg, a handle outside the NV range */
    refused(t, P(RC_RESERVED_BITS, 2), OWNER, ix, sha, OWNER_RW | 0x00100000, 0, 8, "");
    refused(t, P(RC_RESERVED_BITS, 2), OWNER, ix, sha, OWNER_RW | 0x00000100, 0, 8, "");
    refused(t, P(RC_HASH, 2), OWNER, ix, 0x0010, OWNER_RW, 0, 8, "");
    refused(t, P(RC_VALUE, 2), OWNER, 0x81000001, sha, OWNER_RW, 0, 8, "");
    refused(t, P(RC_VALUE, 2), OWNER, 0x02000001, sha, OWNER_RW, 0, 8, "");
    /* already defined */
    assert_int_equal(define_owner(t, ix, OWNER_RW, 8), 0);
    refused(t, RC_NV_DEFINED, OWNER, ix, sha, OWNER_RW, 0, 16, "");
    /* platform NV disabled: HIERARCHY on the handle; a disabled hierarchy's handle too */
    assert_int_equal(pw1(t, CC_HIERARCHY_CONTROL, (const uint32_t[]){PLATFORM}, 1, "",
                         &(struct tb){.b = {0x40, 0, 0, 0x0D, 0}, .n = 5}, &(struct rsp){0}),
                     0);
    refused(t, H(RC_HIERARCHY, 1), PLATFORM, 0x01400090, sha, PPWRITE | PPREAD | PLATFORMCREATE,
            0, 8, "");
    /* wrong authHandle types */
    refused(t, H(RC_VALUE, 1), 0x4000000B, ix + 1, sha, OWNER_RW, 0, 8, "");
    refused(t, H(RC_VALUE, 1), 0x01500090, ix + 1, sha, OWNER_RW, 0, 8, "");
    /* a TPM2B_NV_PUBLIC whose size disagrees with its content */
    struct tb p;
    struct rsp r;
    uint32_t h = OWNER;
    params_init(&p);
    tb_2b(&p, "", 0);
    tb_u16(&p, 15); /* one too many */
    tb_u32(&p, ix + 2);
    tb_u16(&p, sha);
    tb_u32(&p, OWNER_RW);
    tb_u16(&p, 0);
    tb_u16(&p, 8);
    tb_u8(&p, 0);
    assert_int_equal(pw1(t, CC_NV_DEFINE, &h, 1, "", &p, &r), P(RC_SIZE, 2));
    params_init(&p);
    tb_2b(&p, "", 0);
    tb_u16(&p, 0);
    assert_int_equal(pw1(t, CC_NV_DEFINE, &h, 1, "", &p, &r), P(RC_SIZE, 2));
    tpm_free(t);
}

static void space_runs_out_cleanly(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint32_t ix = 0x01000000;
    unsigned n = 0;
    /* 128 KiB of data: 32 indices of 4096 bytes */
    while (define_owner(t, ix + n, OWNER_RW, 4096) == 0) {
        n++;
        assert_true(n <= 32);
    }
    assert_int_equal(n, 32);
    assert_int_equal(property(t, PT_NV_COUNTERS_AVAIL), 0);
    refused(t, RC_NV_SPACE, OWNER, ix + n, 0x000B, OWNER_RW, 0, 1, "");
    /* deleting one makes room again, for exactly as much */
    assert_int_equal(nv_two(t, CC_NV_UNDEFINE, OWNER, "", ix + 3), 0);
    assert_int_equal(define_owner(t, ix + 32, OWNER_RW, 4000), 0);
    refused(t, RC_NV_SPACE, OWNER, ix + 33, 0x000B, OWNER_RW, 0, 97, "");
    assert_int_equal(define_owner(t, ix + 33, OWNER_RW, 96), 0);
    refused(t, RC_NV_SPACE, OWNER, ix + 34, 0x000B, OWNER_RW | NT_COUNTER, 0, 8, "");
    /* the indices after the deleted one kept their data */
    uint8_t d[8];
    assert_int_equal(nv_write(t, OWNER, "", ix + 31, "lastlast", 8, 4088), 0);
    assert_int_equal(nv_two(t, CC_NV_UNDEFINE, OWNER, "", ix + 0), 0);
    assert_int_equal(nv_read(t, OWNER, "", ix + 31, 8, 4088, d), 0);
    assert_memory_equal(d, "lastlast", 8);
    for (unsigned i = 1; i <= 33; i++) {
        if (i != 3) {
            assert_int_equal(nv_two(t, CC_NV_UNDEFINE, OWNER, "", ix + i), 0);
        }
    }
    assert_int_equal(property(t, PT_HR_NV_INDEX), 0);
    /* 128 slots */
    for (n = 0; n < 128; n++) {
        assert_int_equal(define_owner(t, ix + n, OWNER_RW, 1), 0);
    }
    refused(t, RC_NV_SPACE, OWNER, ix + n, 0x000B, OWNER_RW, 0, 1, "");
    assert_int_equal(property(t, PT_HR_NV_INDEX), 128);
    assert_int_equal(property(t, PT_NV_COUNTERS_AVAIL), 0);
    for (n = 0; n < 128; n++) {
        assert_int_equal(nv_two(t, CC_NV_UNDEFINE, OWNER, "", ix + n), 0);
    }
    /* orderly indices also need RAM for their live copy: 4 KiB */
    assert_int_equal(define_owner(t, ix, OWNER_RW | ORDERLY, 4000), 0);
    refused(t, RC_NV_SPACE, OWNER, ix + 1, 0x000B, OWNER_RW | ORDERLY, 0, 97, "");
    assert_int_equal(define_owner(t, ix + 1, OWNER_RW | ORDERLY, 96), 0);
    assert_int_equal(define_owner(t, ix + 2, OWNER_RW, 97), 0);
    tpm_free(t);
}

static void certificates_fit(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    /* EK certificates (RSA 2048, ECC P-384), a platform certificate and a chain at the
     * handles of the TCG EK Credential Profile, defined by the platform as firmware does */
    const uint32_t handles[] = {0x01c00002, 0x01c0000a, 0x01c00016, 0x01c08000, 0x01c00100,
                                0x01c00101, 0x01c00102, 0x01c00103};
    const uint16_t sizes[] = {1500, 1100, 1200, 4096, 4096, 4096, 4096, 4096};
    const uint32_t attrs = PPWRITE | WRITEDEFINE | PPREAD | OWNERREAD | AUTHREAD | NO_DA |
                           PLATFORMCREATE;
    uint8_t buf[1024], d[1024];
    assert_int_equal(property(t, PT_NV_INDEX_MAX), 4096);
    assert_int_equal(property(t, PT_NV_BUFFER_MAX), 1024);
    assert_int_equal(property(t, PT_NV_COUNTERS_MAX), 0);
    for (size_t k = 0; k < 8; k++) {
        assert_int_equal(define(t, PLATFORM, handles[k], 0x000B, attrs, NULL, 0, sizes[k], ""),
                         0);
        for (uint16_t off = 0; off < sizes[k]; off += 1024) {
            uint16_t n = (uint16_t)(sizes[k] - off < 1024 ? sizes[k] - off : 1024);
            memset(buf, (int)(k * 16 + off / 1024), n);
            assert_int_equal(nv_write(t, PLATFORM, "", handles[k], buf, n, off), 0);
        }
        assert_int_equal(nv_two(t, CC_NV_WRITELOCK, PLATFORM, "", handles[k]), 0);
    }
    for (size_t k = 0; k < 8; k++) {
        for (uint16_t off = 0; off < sizes[k]; off += 1024) {
            uint16_t n = (uint16_t)(sizes[k] - off < 1024 ? sizes[k] - off : 1024);
            memset(buf, (int)(k * 16 + off / 1024), n);
            assert_int_equal(nv_read(t, OWNER, "", handles[k], n, off, d), 0);
            assert_memory_equal(d, buf, n);
        }
    }
    assert_int_equal(property(t, PT_HR_NV_INDEX), 8);
    /* listed in ascending order from the handle asked for */
    uint32_t list[16];
    uint8_t more;
    unsigned n = list_handles(t, 0x01000000, list, 16, &more);
    assert_int_equal(n, 8);
    assert_int_equal(more, 0);
    const uint32_t sorted[] = {0x01c00002, 0x01c0000a, 0x01c00016, 0x01c00100,
                               0x01c00101, 0x01c00102, 0x01c00103, 0x01c08000};
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(list[i], sorted[i]);
    }
    n = list_handles(t, 0x01c00017, list, 2, &more);
    assert_int_equal(n, 2);
    assert_int_equal(more, 1);
    assert_int_equal(list[0], 0x01c00100);
    assert_int_equal(list[1], 0x01c00101);
    /* locked for good: the owner cannot rewrite or delete them; Clear keeps them */
    assert_int_equal(nv_write(t, PLATFORM, "", 0x01c00002, "x", 1, 0), RC_NV_LOCKED);
    assert_int_equal(nv_two(t, CC_NV_UNDEFINE, OWNER, "", 0x01c00002), RC_NV_AUTHORIZATION);
    assert_int_equal(pw1(t, CC_CLEAR, (const uint32_t[]){PLATFORM}, 1, "", NULL,
                         &(struct rsp){0}),
                     0);
    assert_int_equal(property(t, PT_HR_NV_INDEX), 8);
    assert_int_equal(nv_two(t, CC_NV_UNDEFINE, PLATFORM, "", 0x01c00002), 0);
    assert_int_equal(property(t, PT_HR_NV_INDEX), 7);
    tpm_free(t);
}

static void hierarchies_hide_their_indices(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[4];
    assert_int_equal(define(t, OWNER, 0x01500100, 0x000B, OWNER_RW | AUTHREAD | AUTHWRITE, NULL,
                            0, 4, ""),
                     0);
    assert_int_equal(define(t, PLATFORM, 0x01400100, 0x000B,
                            PPWRITE | PPREAD | AUTHREAD | AUTHWRITE | PLATFORMCREATE, NULL, 0, 4,
                            ""),
                     0);
    assert_int_equal(nv_write(t, 0x01500100, "", 0x01500100, "abcd", 4, 0), 0);
    assert_int_equal(nv_write(t, 0x01400100, "", 0x01400100, "abcd", 4, 0), 0);
    /* shEnable CLEAR: owner indices are not there */
    assert_int_equal(pw1(t, CC_HIERARCHY_CONTROL, (const uint32_t[]){PLATFORM}, 1, "",
                         &(struct tb){.b = {0x40, 0, 0, 0x01, 0}, .n = 5}, &(struct rsp){0}),
                     0);
    assert_int_equal(nv_read(t, 0x01500100, "", 0x01500100, 4, 0, d), H(RC_HANDLE, 1));
    assert_int_equal(nv_read(t, 0x01400100, "", 0x01400100, 4, 0, d), 0);
    /* phEnableNV CLEAR: platform indices are not there either */
    assert_int_equal(pw1(t, CC_HIERARCHY_CONTROL, (const uint32_t[]){PLATFORM}, 1, "",
                         &(struct tb){.b = {0x40, 0, 0, 0x0D, 0}, .n = 5}, &(struct rsp){0}),
                     0);
    assert_int_equal(nv_read(t, 0x01400100, "", 0x01400100, 4, 0, d), H(RC_HANDLE, 1));
    /* Startup(CLEAR) enables both again */
    power_cycle(t, 0, 0);
    assert_int_equal(nv_read(t, 0x01500100, "", 0x01500100, 4, 0, d), 0);
    assert_int_equal(nv_read(t, 0x01400100, "", 0x01400100, 4, 0, d), 0);
    tpm_free(t);
}

static void undefine_rules(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct rsp r;
    uint8_t pol[32];
    /* owner index: the platform may delete it too */
    assert_int_equal(define_owner(t, 0x01500110, OWNER_RW, 8), 0);
    assert_int_equal(nv_two(t, CC_NV_UNDEFINE, PLATFORM, "", 0x01500110), 0);
    /* a POLICY_DELETE index: only UndefineSpaceSpecial, with its policy */
    hexbytes("1d2dc485e177ddd0a40a344913ceeb420caa093c42587d2e1b132b157ccb5db0", pol, 32);
    assert_int_equal(define(t, PLATFORM, 0x01400110, 0x000B,
                            PPWRITE | PPREAD | PLATFORMCREATE | POLICY_DELETE, pol, 32, 8, ""),
                     0);
    assert_int_equal(nv_two(t, CC_NV_UNDEFINE, PLATFORM, "", 0x01400110), H(RC_ATTRIBUTES, 2));
    uint32_t h[2] = {0x01400110, PLATFORM};
    /* a password cannot give the ADMIN role */
    struct au pw2[2] = {{NULL, ""}, {NULL, ""}};
    assert_int_equal(run(t, CC_NV_UNDEFINE_SPECIAL, h, 2, pw2, 2, NULL, &r), RC_AUTH_TYPE);
    /* a policy for another command fails */
    struct sess s;
    start_session(t, &s, 0x01);
    policy_cc(t, &s, CC_NV_CHANGEAUTH);
    struct au a[2] = {{&s, ""}, {NULL, ""}};
    assert_int_equal(run(t, CC_NV_UNDEFINE_SPECIAL, h, 2, a, 2, NULL, &r), S(RC_POLICY_FAIL, 1));
    start_session(t, &s, 0x01);
    policy_cc(t, &s, CC_NV_UNDEFINE_SPECIAL);
    uint8_t dg[32];
    policy_digest(t, &s, dg);
    assert_memory_equal(dg, pol, 32); /* POLICY_CC_UNDEF_SPEC */
    assert_int_equal(run(t, CC_NV_UNDEFINE_SPECIAL, h, 2, a, 2, NULL, &r), 0);
    assert_int_equal(read_public(t, 0x01400110, NULL, NULL, NULL, NULL), H(RC_HANDLE, 1));
    /* UndefineSpaceSpecial of an index without POLICY_DELETE */
    assert_int_equal(define(t, PLATFORM, 0x01400111, 0x000B, PPWRITE | PPREAD | PLATFORMCREATE,
                            pol, 32, 8, ""),
                     0);
    start_session(t, &s, 0x01);
    policy_cc(t, &s, CC_NV_UNDEFINE_SPECIAL);
    h[0] = 0x01400111;
    assert_int_equal(run(t, CC_NV_UNDEFINE_SPECIAL, h, 2, a, 2, NULL, &r), H(RC_ATTRIBUTES, 1));
    assert_int_equal(read_public(t, 0x01400111, NULL, NULL, NULL, NULL), 0);
    /* undefined handles */
    assert_int_equal(nv_two(t, CC_NV_UNDEFINE, OWNER, "", 0x01500199), H(RC_HANDLE, 2));
    tpm_free(t);
}

static void change_auth_needs_a_policy(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct rsp r;
    struct tb p;
    uint8_t pol[32], d[4];
    const uint32_t ix = 0x01500120;
    hexbytes("445ed953601a045504550999bf2cbb2992cba2dbb5121bcf03869f65b50c26e5", pol, 32);
    assert_int_equal(define(t, OWNER, ix, 0x000B, OWNER_RW | AUTHREAD | AUTHWRITE, pol, 32, 4,
                            "old"),
                     0);
    assert_int_equal(nv_write(t, ix, "old", ix, "abcd", 4, 0), 0);
    params_init(&p);
    tb_2b(&p, "new", 3);
    assert_int_equal(pw1(t, CC_NV_CHANGEAUTH, &ix, 1, "old", &p, &r), RC_AUTH_TYPE);
    struct sess s;
    start_session(t, &s, 0x01);
    policy_cc(t, &s, CC_NV_CHANGEAUTH);
    struct au a = {&s, ""};
    /* a new authValue longer than the nameAlg's digest */
    struct tb big;
    params_init(&big);
    tb_2b(&big, "0123456789abcdef0123456789abcdef+", 33);
    assert_int_equal(run(t, CC_NV_CHANGEAUTH, &ix, 1, &a, 1, &big, &r), P(RC_SIZE, 1));
    start_session(t, &s, 0x01);
    policy_cc(t, &s, CC_NV_CHANGEAUTH);
    assert_int_equal(run(t, CC_NV_CHANGEAUTH, &ix, 1, &a, 1, &p, &r), 0);
    assert_true(tpm_state_dirty(t));
    assert_int_equal(nv_read(t, ix, "old", ix, 4, 0, d), S(RC_AUTH_FAIL, 1));
    assert_int_equal(nv_read(t, ix, "new", ix, 4, 0, d), 0);
    assert_memory_equal(d, "abcd", 4);
    /* The ADMIN role needs a policy that names the command: an index whose authPolicy is the
     * empty policy (all zero) is read with a session that asserted nothing (USER role,
     * POLICYREAD), but that session cannot change its authValue. */
    const uint32_t iz = 0x01500121;
    const uint8_t zero[32] = {0};
    assert_int_equal(define(t, OWNER, iz, 0x000B, OWNERWRITE | POLICYREAD, zero, 32, 4, "z"), 0);
    assert_int_equal(nv_write(t, OWNER, "", iz, "wxyz", 4, 0), 0);
    uint32_t hz[2] = {iz, iz};
    struct tb rp;
    params_init(&rp);
    tb_u16(&rp, 4);
    tb_u16(&rp, 0);
    start_session(t, &s, 0x01);
    assert_int_equal(run(t, CC_NV_READ, hz, 2, &a, 1, &rp, &r), 0);
    assert_int_equal(run(t, CC_NV_CHANGEAUTH, &iz, 1, &a, 1, &p, &r), S(RC_POLICY_FAIL, 1));
    tpm_free(t);
}

static void pin_indices_count_uses(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[8];
    const uint32_t fail = 0x01500130, pass = 0x01500131;
    const uint8_t params[8] = {0, 0, 0, 0, 0, 0, 0, 2}; /* pinCount 0, pinLimit 2 */
    assert_int_equal(define(t, OWNER, fail, 0x000B, OWNER_RW | AUTHREAD | NO_DA | NT_PIN_FAIL,
                            NULL, 0, 8, "pin"),
                     0);
    /* not written: the authValue is not available */
    assert_int_equal(nv_read(t, fail, "pin", fail, 8, 0, d), RC_AUTH_UNAVAILABLE);
    assert_int_equal(nv_write(t, OWNER, "", fail, params, 8, 0), 0);
    assert_int_equal(nv_read(t, fail, "pin", fail, 8, 0, d), 0);
    assert_int_equal(nv_read(t, fail, "bad", fail, 8, 0, d), S(RC_BAD_AUTH, 1));
    assert_int_equal(read_u64(t, OWNER, fail), 0x0000000100000002ull);
    /* a success clears the count */
    assert_int_equal(nv_read(t, fail, "pin", fail, 8, 0, d), 0);
    assert_int_equal(read_u64(t, OWNER, fail), 0x0000000000000002ull);
    assert_int_equal(nv_read(t, fail, "bad", fail, 8, 0, d), S(RC_BAD_AUTH, 1));
    assert_int_equal(nv_read(t, fail, "bad", fail, 8, 0, d), S(RC_BAD_AUTH, 1));
    /* pinCount reached pinLimit: even the right PIN is refused */
    assert_int_equal(nv_read(t, fail, "pin", fail, 8, 0, d), RC_AUTH_UNAVAILABLE);
    assert_int_equal(read_u64(t, OWNER, fail), 0x0000000200000002ull);
    /* PIN Pass counts successes */
    assert_int_equal(define(t, OWNER, pass, 0x000B, OWNER_RW | AUTHREAD | NT_PIN_PASS, NULL, 0, 8,
                            "pass"),
                     0);
    assert_int_equal(nv_write(t, OWNER, "", pass, params, 8, 0), 0);
    assert_int_equal(nv_read(t, pass, "pass", pass, 8, 0, d), 0);
    assert_int_equal(nv_read(t, pass, "pass", pass, 8, 0, d), 0);
    assert_int_equal(nv_read(t, pass, "pass", pass, 8, 0, d), RC_AUTH_UNAVAILABLE);
    assert_int_equal(read_u64(t, OWNER, pass), 0x0000000200000002ull);
    /* a PIN index cannot be a session's bind entity */
    struct tb c;
    struct rsp r;
    uint8_t nonce[16] = {0};
    tb_start(&c, ST_NO, CC_START_AUTH_SESSION);
    tb_u32(&c, RH_NULL);
    tb_u32(&c, pass);
    tb_2b(&c, nonce, 16);
    tb_2b(&c, "", 0);
    tb_u8(&c, 0);
    tb_u16(&c, 0x0010);
    tb_u16(&c, 0x000B);
    assert_int_equal(tt_exec(t, &c, &r), H(RC_HANDLE, 2));
    tpm_free(t);
}

static void policy_nv(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct rsp r;
    struct tb p;
    uint8_t dg[32], want[32];
    const uint32_t ix = 0x01500016, locked = 0x01500017;
    assert_int_equal(define_owner(t, ix, OWNER_RW | AUTHREAD | AUTHWRITE, 32), 0);
    struct sess s;
    start_session(t, &s, 0x01);
    uint32_t h[3] = {OWNER, ix, s.handle};
    struct au a = {NULL, ""};
    params_init(&p);
    tb_2b(&p, "hello", 5);
    tb_u16(&p, 3);
    tb_u16(&p, 0); /* TPM_EO_EQ */
    /* not written */
    assert_int_equal(run(t, CC_POLICY_NV, h, 3, &a, 1, &p, &r), RC_NV_UNINITIALIZED);
    assert_int_equal(nv_write(t, OWNER, "", ix, "hello", 5, 3), 0);
    assert_int_equal(run(t, CC_POLICY_NV, h, 3, &a, 1, &p, &r), 0);
    /* POLICY_NV: the Name of the written index is in the digest */
    policy_digest(t, &s, dg);
    hexbytes("934b6b07d6719bdc685bafdafd41e352a57654321bb3d979cd2798eac922d667", want, 32);
    assert_memory_equal(dg, want, 32);
    /* a trial session computes the same, checking nothing */
    struct sess trial;
    start_session(t, &trial, 0x03);
    uint32_t ht[3] = {OWNER, ix, trial.handle};
    assert_int_equal(run(t, CC_POLICY_NV, ht, 3, &a, 1, &p, &r), 0);
    policy_digest(t, &trial, dg);
    assert_memory_equal(dg, want, 32);
    /* the comparison fails: TPM_RC_POLICY */
    struct tb q;
    params_init(&q);
    tb_2b(&q, "hellp", 5);
    tb_u16(&q, 3);
    tb_u16(&q, 0);
    assert_int_equal(run(t, CC_POLICY_NV, h, 3, &a, 1, &q, &r), RC_POLICY);
    /* TPM_EO_UNSIGNED_GT (3): the index's "h" (0x68) > "g" */
    params_init(&q);
    tb_2b(&q, "g", 1);
    tb_u16(&q, 3);
    tb_u16(&q, 3);
    assert_int_equal(run(t, CC_POLICY_NV, h, 3, &a, 1, &q, &r), 0);
    /* against 0x80: unsigned, 0x68 < 0x80 (UNSIGNED_LT, 5); signed, 0x80 is -128, so 0x68 is
     * not less (SIGNED_LT, 4) but greater (SIGNED_GT, 2) */
    static const struct {
        uint16_t op;
        uint32_t rc;
    } vs80[] = {{5, 0}, {4, RC_POLICY}, {2, 0}, {3, RC_POLICY}, {8, RC_POLICY}, {9, 0}};
    for (size_t i = 0; i < sizeof(vs80) / sizeof(vs80[0]); i++) {
        params_init(&q);
        tb_2b(&q, "\x80", 1);
        tb_u16(&q, 3);
        tb_u16(&q, vs80[i].op);
        assert_int_equal(run(t, CC_POLICY_NV, h, 3, &a, 1, &q, &r), vs80[i].rc);
    }
    /* offsets and sizes outside the index */
    params_init(&q);
    tb_2b(&q, "x", 1);
    tb_u16(&q, 33);
    tb_u16(&q, 0);
    assert_int_equal(run(t, CC_POLICY_NV, h, 3, &a, 1, &q, &r), P(RC_VALUE, 2));
    params_init(&q);
    tb_2b(&q, "xyz", 3);
    tb_u16(&q, 30);
    tb_u16(&q, 0);
    assert_int_equal(run(t, CC_POLICY_NV, h, 3, &a, 1, &q, &r), P(RC_SIZE, 1));
    params_init(&q);
    tb_2b(&q, "x", 1);
    tb_u16(&q, 0);
    tb_u16(&q, 12); /* no such TPM_EO */
    assert_int_equal(run(t, CC_POLICY_NV, h, 3, &a, 1, &q, &r), P(RC_VALUE, 3));
    /* read with the platform (no PPREAD), then read-locked */
    uint32_t hp[3] = {PLATFORM, ix, s.handle};
    assert_int_equal(run(t, CC_POLICY_NV, hp, 3, &a, 1, &p, &r), RC_NV_AUTHORIZATION);
    assert_int_equal(define_owner(t, locked, OWNER_RW | READ_STCLEAR, 32), 0);
    assert_int_equal(nv_write(t, OWNER, "", locked, "hello", 5, 3), 0);
    uint32_t hl[3] = {OWNER, locked, s.handle};
    assert_int_equal(run(t, CC_POLICY_NV, hl, 3, &a, 1, &p, &r), 0);
    assert_int_equal(nv_two(t, CC_NV_READLOCK, OWNER, "", locked), 0);
    assert_int_equal(run(t, CC_POLICY_NV, hl, 3, &a, 1, &p, &r), RC_NV_LOCKED);
    /* the third handle must be a policy session */
    uint32_t hb[3] = {OWNER, ix, OWNER};
    assert_int_equal(run(t, CC_POLICY_NV, hb, 3, &a, 1, &p, &r), H(RC_VALUE, 3));
    tpm_free(t);
}

static void policy_authorize_nv(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct rsp r;
    uint8_t dg[32], want[32], ha[34];
    const uint32_t ix = 0x01500020, data_ix = 0x01500021;
    assert_int_equal(define_owner(t, ix, OWNER_RW, 34), 0);
    /* TPMT_HA { sha256, PolicyCommandCode(NV_Read) } (POLICY_CC_NV_READ) */
    ha[0] = 0x00;
    ha[1] = 0x0B;
    hexbytes("47ce3032d8bad1f3089cb0c09088de43501491d460402b90cd1b7fc0b68ca92f", ha + 2, 32);
    assert_int_equal(nv_write(t, OWNER, "", ix, ha, 34, 0), 0);
    struct sess s;
    start_session(t, &s, 0x01);
    policy_cc(t, &s, CC_NV_READ);
    uint32_t h[3] = {OWNER, ix, s.handle};
    struct au a = {NULL, ""};
    assert_int_equal(run(t, CC_POLICY_AUTHORIZE_NV, h, 3, &a, 1, NULL, &r), 0);
    policy_digest(t, &s, dg);
    /* POLICY_AUTHORIZE_NV = H(0...0 || cc || NAME_POLICY_INDEX) */
    hexbytes("09231ed0e5f014a9464eec76966a306d13f0b7b47e83c18ac9eff0e76d62de84", want, 32);
    assert_memory_equal(dg, want, 32);
    /* that digest authorizes an index read by policy */
    assert_int_equal(define(t, OWNER, data_ix, 0x000B, OWNERWRITE | POLICYREAD, want, 32, 4, ""),
                     0);
    assert_int_equal(nv_write(t, OWNER, "", data_ix, "data", 4, 0), 0);
    struct tb p;
    params_init(&p);
    tb_u16(&p, 4);
    tb_u16(&p, 0);
    uint32_t hr[2] = {data_ix, data_ix};
    struct au pa = {&s, ""};
    assert_int_equal(run(t, CC_NV_READ, hr, 2, &pa, 1, &p, &r), 0);
    uint8_t got[8];
    assert_int_equal(rs_2b(&r, got, 8), 4);
    assert_memory_equal(got, "data", 4);
    /* without POLICYWRITE the policy does not serve writes (nor AUTHWRITE the authValue) */
    params_init(&p);
    tb_2b(&p, "evil", 4);
    tb_u16(&p, 0);
    assert_int_equal(run(t, CC_NV_WRITE, hr, 2, &pa, 1, &p, &r), RC_AUTH_UNAVAILABLE);
    struct au pw = {NULL, ""};
    assert_int_equal(run(t, CC_NV_WRITE, hr, 2, &pw, 1, &p, &r), RC_AUTH_UNAVAILABLE);
    /* a policy other than the approved one: TPM_RC_VALUE */
    start_session(t, &s, 0x01);
    policy_cc(t, &s, CC_NV_WRITE);
    h[2] = s.handle;
    assert_int_equal(run(t, CC_POLICY_AUTHORIZE_NV, h, 3, &a, 1, NULL, &r), RC_VALUE);
    /* an approved policy of another hash: TPM_RC_HASH */
    ha[1] = 0x04;
    assert_int_equal(nv_write(t, OWNER, "", ix, ha, 22, 0), 0);
    assert_int_equal(run(t, CC_POLICY_AUTHORIZE_NV, h, 3, &a, 1, NULL, &r), RC_HASH);
    ha[1] = 0x99;
    assert_int_equal(nv_write(t, OWNER, "", ix, ha, 2, 0), 0);
    assert_int_equal(run(t, CC_POLICY_AUTHORIZE_NV, h, 3, &a, 1, NULL, &r), RC_HASH);
    /* an index that is not written */
    assert_int_equal(define_owner(t, 0x01500022, OWNER_RW, 34), 0);
    uint32_t hu[3] = {OWNER, 0x01500022, s.handle};
    assert_int_equal(run(t, CC_POLICY_AUTHORIZE_NV, hu, 3, &a, 1, NULL, &r),
                     RC_NV_UNINITIALIZED);
    tpm_free(t);
}

static void policy_nv_written_at_use(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct rsp r;
    struct tb p, w;
    uint8_t pol[32];
    const uint32_t ix = 0x01500140;
    /* write once: the policy is PolicyNvWritten(NO) (POLICY_NV_WRITTEN_NO) */
    hexbytes("3c326323670e28ad37bd57f63b4cc34d26ab205ef22f275c58d47fab2485466e", pol, 32);
    assert_int_equal(define(t, OWNER, ix, 0x000B, POLICYWRITE | OWNERREAD, pol, 32, 4, ""), 0);
    params_init(&w);
    tb_2b(&w, "once", 4);
    tb_u16(&w, 0);
    uint32_t h[2] = {ix, ix};
    for (int round = 0; round < 2; round++) {
        struct sess s;
        start_session(t, &s, 0x01);
        struct tb c;
        tb_start(&c, ST_NO, CC_POLICY_NV_WRITTEN);
        tb_u32(&c, s.handle);
        tb_u8(&c, 0);
        assert_int_equal(tt_exec(t, &c, &r), 0);
        struct au a = {&s, ""};
        assert_int_equal(run(t, CC_NV_WRITE, h, 2, &a, 1, &w, &r),
                         round == 0 ? 0 : S(RC_POLICY_FAIL, 1));
    }
    /* PolicyNvWritten(YES) gives another digest: no write either */
    struct sess s;
    start_session(t, &s, 0x01);
    struct tb c;
    tb_start(&c, ST_NO, CC_POLICY_NV_WRITTEN);
    tb_u32(&c, s.handle);
    tb_u8(&c, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    struct au a = {&s, ""};
    params_init(&p);
    tb_2b(&p, "twce", 4);
    tb_u16(&p, 0);
    assert_int_equal(run(t, CC_NV_WRITE, h, 2, &a, 1, &p, &r), S(RC_POLICY_FAIL, 1));
    uint8_t got[8];
    assert_int_equal(nv_read(t, OWNER, "", ix, 4, 0, got), 0);
    assert_memory_equal(got, "once", 4);
    tpm_free(t);
}

static void state_saves_and_loads(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct tpm_buf perm = {0}, vol = {0};
    uint8_t name1[80], name2[80], d[8];
    size_t n1, n2;
    assert_int_equal(define(t, OWNER, 0x01500150, 0x000B, OWNER_RW | AUTHREAD, NULL, 0, 8, "pw"),
                     0);
    assert_int_equal(define_owner(t, 0x01500151, OWNER_RW | NT_COUNTER | ORDERLY, 8), 0);
    assert_int_equal(define_owner(t, 0x01500152, OWNER_RW | ORDERLY, 4), 0);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500150, "saveload", 8, 0), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(nv_two(t, CC_NV_INCREMENT, OWNER, "", 0x01500151), 0);
    }
    assert_int_equal(nv_write(t, OWNER, "", 0x01500152, "aaaa", 4, 0), 0);
    assert_int_equal(nv_write(t, OWNER, "", 0x01500152, "bbbb", 4, 0), 0);
    assert_int_equal(read_public(t, 0x01500150, NULL, NULL, name1, &n1), 0);
    assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, &perm), 0);
    assert_int_equal(tpm_state_save(t, TPM_STATE_VOLATILE, &vol), 0);
    /* the host keeps running in another process: both parts resume exactly */
    struct tpm *u = tpm_new(NULL, NULL);
    assert_int_equal(tpm_state_load(u, TPM_STATE_PERMANENT, perm.data, perm.len), 0);
    tpm_init(u);
    assert_int_equal(tpm_state_load(u, TPM_STATE_VOLATILE, vol.data, vol.len), 0);
    assert_int_equal(read_public(u, 0x01500150, NULL, NULL, name2, &n2), 0);
    assert_int_equal(n1, n2);
    assert_memory_equal(name1, name2, n1);
    assert_int_equal(nv_read(u, 0x01500150, "pw", 0x01500150, 8, 0, d), 0);
    assert_memory_equal(d, "saveload", 8);
    assert_int_equal(read_u64(u, OWNER, 0x01500151), 5);
    assert_int_equal(nv_read(u, OWNER, "", 0x01500152, 4, 0, d), 0);
    assert_memory_equal(d, "bbbb", 4);
    tpm_free(u);
    /* a volatile image that names an index the permanent state lacks is refused */
    u = tpm_new(NULL, NULL);
    tpm_init(u);
    assert_int_equal(tpm_state_load(u, TPM_STATE_VOLATILE, vol.data, vol.len), -22);
    tpm_free(u);
    /* find the NV section (tag 0x0010) and break it in several ways */
    size_t off = 8, sec = 0;
    while (off + 6 <= perm.len) {
        uint16_t tag = (uint16_t)(perm.data[off] << 8 | perm.data[off + 1]);
        uint32_t len = (uint32_t)perm.data[off + 2] << 24 | (uint32_t)perm.data[off + 3] << 16 |
                       (uint32_t)perm.data[off + 4] << 8 | perm.data[off + 5];
        if (tag == 0x0010) {
            sec = off + 6;
            break;
        }
        off += 6 + len;
    }
    assert_true(sec > 0);
    /* body: u64 maxCounter, u16 count, then TPMS_NV_PUBLIC: u32 index, u16 nameAlg, ... */
    const struct {
        size_t at;
        uint8_t value;
    } breaks[] = {
        {sec + 9, 0x09},      /* count 3 -> 9: records missing */
        {sec + 10, 0x81},     /* first index outside the NV range */
        {sec + 15, 0x99},     /* unknown nameAlg */
        {sec + 16, 0x01},     /* reserved attribute bit */
        {sec + 19, 0x30},     /* TPM_NT 3 */
        {sec + 22, 0x40},     /* dataSize beyond the index maximum */
        {sec + 25, 0x30},     /* authValue longer than the nameAlg */
        {sec + 9, 0xFF},      /* more indices than slots */
    };
    for (size_t k = 0; k < sizeof(breaks) / sizeof(breaks[0]); k++) {
        uint8_t *copy = malloc(perm.len);
        assert_non_null(copy);
        memcpy(copy, perm.data, perm.len);
        copy[breaks[k].at] = breaks[k].value;
        u = tpm_new(NULL, NULL);
        assert_int_equal(tpm_state_load(u, TPM_STATE_PERMANENT, copy, perm.len), -22);
        tpm_free(u);
        free(copy);
    }
    tpm_buf_free(&perm);
    tpm_buf_free(&vol);
    tpm_free(t);
}

static void capabilities_count_indices(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    assert_int_equal(property(t, PT_HR_NV_INDEX), 0);
    assert_int_equal(property(t, PT_NV_COUNTERS), 0);
    assert_int_equal(property(t, PT_NV_COUNTERS_AVAIL), 128);
    assert_int_equal(define_owner(t, 0x01500160, OWNER_RW | NT_COUNTER, 8), 0);
    assert_int_equal(define_owner(t, 0x01500161, OWNER_RW, 100), 0);
    assert_int_equal(property(t, PT_HR_NV_INDEX), 2);
    assert_int_equal(property(t, PT_NV_COUNTERS), 1);
    assert_int_equal(property(t, PT_NV_COUNTERS_AVAIL), 126);
    uint32_t list[4];
    uint8_t more;
    assert_int_equal(list_handles(t, 0x01500161, list, 4, &more), 1);
    assert_int_equal(list[0], 0x01500161);
    assert_int_equal(list_handles(t, 0x01500162, list, 4, &more), 0);
    tpm_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_computed_from_the_public_area),
        cmocka_unit_test(write_and_read_with_offsets),
        cmocka_unit_test(writeall_and_same_bytes),
        cmocka_unit_test(authorizations_follow_the_attributes),
        cmocka_unit_test(types_have_their_own_commands),
        cmocka_unit_test(counters_never_go_back),
        cmocka_unit_test(counters_survive_a_crash),
        cmocka_unit_test(rollback_after_a_failed_commit),
        cmocka_unit_test(orderly_indices_and_startup_kinds),
        cmocka_unit_test(clear_stclear_and_locks),
        cmocka_unit_test(global_write_lock),
        cmocka_unit_test(bits_and_extend),
        cmocka_unit_test(definitions_that_may_not_be),
        cmocka_unit_test(space_runs_out_cleanly),
        cmocka_unit_test(certificates_fit),
        cmocka_unit_test(hierarchies_hide_their_indices),
        cmocka_unit_test(undefine_rules),
        cmocka_unit_test(change_auth_needs_a_policy),
        cmocka_unit_test(pin_indices_count_uses),
        cmocka_unit_test(policy_nv),
        cmocka_unit_test(policy_authorize_nv),
        cmocka_unit_test(policy_nv_written_at_use),
        cmocka_unit_test(state_saves_and_loads),
        cmocka_unit_test(capabilities_count_indices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

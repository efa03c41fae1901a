/*
 * Engine tests through the public API only: command bytes in, response bytes out.
 * Known answers were computed independently with Python's hashlib/hmac when the tests were
 * written (see the comment above each vector).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tpmtest.h"

#define ST_NO 0x8001
#define ST_S 0x8002
#define RC_INITIALIZE 0x100
#define RC_FAILURE 0x101
#define RC_COMMAND_SIZE 0x142
#define RC_COMMAND_CODE 0x143
#define RC_AUTHSIZE 0x144
#define RC_AUTH_MISSING 0x125
#define RC_BAD_TAG 0x01E
#define RC_LOCALITY 0x907
#define RC_LOCKOUT 0x921

static const uint16_t algs[4] = {0x0004, 0x000B, 0x000C, 0x000D};
static const uint16_t sizes[4] = {20, 32, 48, 64};

static uint32_t pcr_extend(struct tpm *t, unsigned loc, uint32_t pcr, int nbanks,
                           const uint16_t *which, const uint8_t digests[][64])
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, 0x182);
    tb_u32(&c, pcr);
    tb_auth_begin(&c);
    tb_pw(&c, "");
    tb_auth_end(&c);
    tb_u32(&c, (uint32_t)nbanks);
    for (int i = 0; i < nbanks; i++) {
        tb_u16(&c, algs[which[i]]);
        tb_bytes(&c, digests[i], sizes[which[i]]);
    }
    return tt_exec_loc(t, loc, &c, &r);
}

/* Read one PCR of one bank (index into algs). */
static uint32_t pcr_read(struct tpm *t, unsigned bank, unsigned pcr, uint8_t *out, size_t *n)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, 0x17E);
    tb_u32(&c, 1);
    tb_u16(&c, algs[bank]);
    tb_u8(&c, 3);
    uint8_t sel[3] = {0};
    sel[pcr / 8] = (uint8_t)(1u << (pcr % 8));
    tb_bytes(&c, sel, 3);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc) {
        return rc;
    }
    rs_u32(&r); /* update counter */
    assert_int_equal(rs_u32(&r), 1);
    assert_int_equal(rs_u16(&r), algs[bank]);
    assert_int_equal(rs_u8(&r), 3);
    uint8_t got[3];
    rs_bytes(&r, got, 3);
    uint32_t count = rs_u32(&r);
    *n = 0;
    if (count == 1) {
        *n = rs_2b(&r, out, 64);
    }
    return 0;
}

/* ---- dispatcher ---- */

static void before_init_every_command_fails(void **state)
{
    (void)state;
    struct tpm *t = tpm_new(NULL, NULL);
    struct rsp r;
    /* QEMU's probe: ReadClock before anything (reference/swtpm-protocol.md §4). */
    const uint8_t probe[] = {0x80, 0x01, 0, 0, 0, 0x0a, 0, 0, 0x01, 0x81};
    assert_int_equal(tt_raw(t, probe, sizeof(probe), &r), RC_FAILURE);
    assert_int_equal(r.tag, ST_NO);
    assert_int_equal(r.n, 10);
    tpm_free(t);
}

static void before_startup_initialize(void **state)
{
    (void)state;
    struct tpm *t = tpm_new(NULL, NULL);
    struct rsp r;
    tpm_init(t);
    const uint8_t probe[] = {0x80, 0x01, 0, 0, 0, 0x0a, 0, 0, 0x01, 0x81};
    assert_int_equal(tt_raw(t, probe, sizeof(probe), &r), RC_INITIALIZE);
    assert_int_equal(r.tag, ST_NO);
    /* A TPM 1.2 command (QEMU/OVMF probe, tag 0x00C1) gets a TPM 2.0 error, not silence. */
    const uint8_t ticks[] = {0x00, 0xc1, 0, 0, 0, 0x0a, 0, 0, 0, 0xf1};
    assert_int_equal(tt_raw(t, ticks, sizeof(ticks), &r), RC_BAD_TAG);
    assert_int_equal(r.tag, ST_NO);
    tt_startup(t, 0);
    /* A second Startup answers TPM_RC_INITIALIZE (systemd relies on it). */
    struct tb c;
    tb_start(&c, ST_NO, 0x144);
    tb_u16(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), RC_INITIALIZE);
    tpm_free(t);
}

static void header_checks(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct rsp r;
    const uint8_t short_cmd[] = {0x80, 0x01, 0, 0, 0};
    assert_int_equal(tt_raw(t, short_cmd, sizeof(short_cmd), &r), RC_COMMAND_SIZE);
    /* size field says 12, 10 bytes were sent */
    const uint8_t lie[] = {0x80, 0x01, 0, 0, 0, 0x0c, 0, 0, 0x01, 0x7b};
    assert_int_equal(tt_raw(t, lie, sizeof(lie), &r), RC_COMMAND_SIZE);
    const uint8_t badtag[] = {0x80, 0x03, 0, 0, 0, 0x0a, 0, 0, 0x01, 0x81};
    assert_int_equal(tt_raw(t, badtag, sizeof(badtag), &r), RC_BAD_TAG);
    /* unimplemented command codes, including vendor and field upgrade (pytss checks) */
    const uint32_t missing[] = {0x12F, 0x141, 0x179, 0x20000000, 0x1FF, 0x11E};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        struct tb c;
        tb_start(&c, ST_NO, missing[i]);
        assert_int_equal(tt_exec(t, &c, &r), RC_COMMAND_CODE);
        assert_int_equal(r.n, 10);
    }
    /* trailing bytes after the parameters: TPM_RC_SIZE */
    struct tb c;
    tb_start(&c, ST_NO, 0x17B);
    tb_u16(&c, 8);
    tb_u8(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), 0x095);
    /* parameter too short: TPM_RC_INSUFFICIENT on parameter 1 */
    tb_start(&c, ST_NO, 0x17B);
    tb_u8(&c, 8);
    assert_int_equal(tt_exec(t, &c, &r), 0x09A | 0x040 | 0x100);
    tpm_free(t);
}

static void authorization_area_checks(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct tb c;
    struct rsp r;
    /* HierarchyChangeAuth needs an authorization: NO_SESSIONS is TPM_RC_AUTH_MISSING */
    tb_start(&c, ST_NO, 0x129);
    tb_u32(&c, 0x40000001);
    tb_2b(&c, "x", 1);
    assert_int_equal(tt_exec(t, &c, &r), RC_AUTH_MISSING);
    /* authorizationSize larger than the command */
    tb_start(&c, ST_S, 0x129);
    tb_u32(&c, 0x40000001);
    tb_u32(&c, 100);
    assert_int_equal(tt_exec(t, &c, &r), RC_AUTHSIZE);
    /* authorizationSize smaller than one session */
    tb_start(&c, ST_S, 0x129);
    tb_u32(&c, 0x40000001);
    tb_u32(&c, 4);
    tb_u32(&c, 0x40000009);
    assert_int_equal(tt_exec(t, &c, &r), RC_AUTHSIZE);
    /* a password session with a nonce: TPM_RC_NONCE on session 1 */
    tb_start(&c, ST_S, 0x129);
    tb_u32(&c, 0x40000001);
    tb_auth_begin(&c);
    tb_u32(&c, 0x40000009);
    tb_2b(&c, "nonce", 5);
    tb_u8(&c, 1);
    tb_2b(&c, "", 0);
    tb_auth_end(&c);
    tb_2b(&c, "x", 1);
    assert_int_equal(tt_exec(t, &c, &r), 0x08F | 0x800 | 0x100);
    /* an HMAC session that does not exist: TPM_RC_REFERENCE_S0 */
    tb_start(&c, ST_S, 0x129);
    tb_u32(&c, 0x40000001);
    tb_auth_begin(&c);
    tb_u32(&c, 0x02000005);
    tb_2b(&c, "0123456789abcdef", 16);
    tb_u8(&c, 1);
    tb_2b(&c, "", 0);
    tb_auth_end(&c);
    tb_2b(&c, "x", 1);
    assert_int_equal(tt_exec(t, &c, &r), 0x918);
    /* a handle of the wrong type: TPM_RC_VALUE on handle 1 */
    tb_start(&c, ST_S, 0x129);
    tb_u32(&c, 0x80000000);
    tb_auth_begin(&c);
    tb_pw(&c, "");
    tb_auth_end(&c);
    tb_2b(&c, "x", 1);
    assert_int_equal(tt_exec(t, &c, &r), 0x084 | 0x100);
    /* Startup does not take sessions */
    tb_start(&c, ST_S, 0x144);
    tb_auth_begin(&c);
    tb_pw(&c, "");
    tb_auth_end(&c);
    tb_u16(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), 0x145);
    tpm_free(t);
}

static uint32_t change_auth(struct tpm *t, uint32_t h, const char *old, const char *new_auth)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, 0x129);
    tb_u32(&c, h);
    tb_auth_begin(&c);
    tb_pw(&c, old);
    tb_auth_end(&c);
    tb_2b(&c, new_auth, (uint16_t)strlen(new_auth));
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        /* password response area: empty nonce, continueSession, empty hmac */
        assert_int_equal(r.tag, ST_S);
        assert_int_equal(rs_u32(&r), 0); /* parameterSize */
        assert_int_equal(rs_u16(&r), 0);
        assert_int_equal(rs_u8(&r), 1);
        assert_int_equal(rs_u16(&r), 0);
        assert_int_equal(r.off, r.n);
    }
    return rc;
}

static void passwords_and_dictionary_attack(void **state)
{
    (void)state;
    uint64_t now = 1000;
    struct tpm *t = tt_new(&now);
    struct tb c;
    struct rsp r;
    assert_int_equal(change_auth(t, 0x40000001, "", "owner"), 0);
    /* wrong owner password: BAD_AUTH (hierarchies are not DA-protected), session 1 */
    assert_int_equal(change_auth(t, 0x40000001, "wrong", "x"), 0x0A2 | 0x800 | 0x100);
    /* trailing zeros of the stored authValue do not matter (Part 1 §19.6.4.3) */
    assert_int_equal(change_auth(t, 0x40000001, "owner", "pw\0\0"), 0);
    assert_int_equal(change_auth(t, 0x40000001, "pw", ""), 0);

    /* lockout: one failure disables lockoutAuth until lockoutRecovery passes */
    assert_int_equal(change_auth(t, 0x4000000A, "", "lock"), 0);
    assert_int_equal(change_auth(t, 0x4000000A, "bad", "x"), 0x08E | 0x800 | 0x100);
    assert_int_equal(change_auth(t, 0x4000000A, "lock", "x"), RC_LOCKOUT);
    assert_true(tpm_state_dirty(t)); /* the failure is persisted before the response */
    now += 86400ull * 1000 + 1;
    assert_int_equal(change_auth(t, 0x4000000A, "lock", ""), 0);

    /* DictionaryAttackParameters then DictionaryAttackLockReset, under lockoutAuth */
    tb_start(&c, ST_S, 0x13A);
    tb_u32(&c, 0x4000000A);
    tb_auth_begin(&c);
    tb_pw(&c, "");
    tb_auth_end(&c);
    tb_u32(&c, 3);
    tb_u32(&c, 10);
    tb_u32(&c, 20);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    tb_start(&c, ST_NO, 0x17A);
    tb_u32(&c, 6);
    tb_u32(&c, 0x20E); /* TPM_PT_LOCKOUT_COUNTER .. */
    tb_u32(&c, 4);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u8(&r);
    assert_int_equal(rs_u32(&r), 6);
    assert_int_equal(rs_u32(&r), 4);
    uint32_t expect[4][2] = {{0x20E, 0}, {0x20F, 3}, {0x210, 10}, {0x211, 20}};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rs_u32(&r), expect[i][0]);
        assert_int_equal(rs_u32(&r), expect[i][1]);
    }
    tpm_free(t);
}

/* ---- PCRs ---- */

/*
 * Known answers (Python hashlib): PCR = H(H(0^n || H("abc")) || H("def")) per bank.
 */
static const char *kat_abc_def[4] = {
    "a2b3aa62ce5701698c5fd31333531079c47f5faf",
    "f191db04b526f1e7a178d5da326687c0b27b531fbabde4f555ca7fdd6a239964",
    "c138bc0d993f7bcf76a109b56451f955580eba49e5b9b8a5a8655cdc54239a4e6ef931f15c4909459132b8"
    "f4b73d31a5",
    "63f20574686b3d43138aaa91a97510177aa3705559cb0d911bb5dea37577f6fbccc5d6e357a9c781fd9283"
    "88db555a42c7999466a120651f6b7f1a7c610e4efb",
};

/* H("abc") and H("def") per bank, for the extends (Python hashlib). */
static const char *h_abc[4] = {
    "a9993e364706816aba3e25717850c26c9cd0d89d",
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca1"
    "34c825a7",
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23"
    "a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
};
static const char *h_def[4] = {
    "589c22335a381f122d129225f5c0ba3056ed5811",
    "cb8379ac2098aa165029e3938a51da0bcecfc008fd6795f401178647f96c5b34",
    "180c325cccb299e76ec6c03a5b5a7755af8ef499906dbf531f18d0ca509e4871b0805cac0f122b962d54badc"
    "6119f3cf",
    "40a855bf0a93c1019d75dd5b59cd8157608811dd75c5977e07f3bc4be0cad98b22dde4db9ddb429fc2ad3cf9"
    "ca379fedf6c1dc4d4bb8829f10c2f0ee04a66663",
};

static void pcr_extend_known_answers(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[4][64];
    uint16_t which[4] = {0, 1, 2, 3};
    for (int b = 0; b < 4; b++) {
        tt_hex(h_abc[b], d[b], 64);
    }
    assert_int_equal(pcr_extend(t, 0, 0, 4, which, d), 0);
    for (int b = 0; b < 4; b++) {
        tt_hex(h_def[b], d[b], 64);
    }
    assert_int_equal(pcr_extend(t, 0, 0, 4, which, d), 0);
    for (int b = 0; b < 4; b++) {
        uint8_t got[64], want[64];
        size_t n;
        assert_int_equal(pcr_read(t, (unsigned)b, 0, got, &n), 0);
        assert_int_equal(n, sizes[b]);
        tt_hex(kat_abc_def[b], want, 64);
        assert_memory_equal(got, want, n);
    }
    tpm_free(t);
}

static void pcr_localities_and_reset(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct tb c;
    struct rsp r;
    uint8_t d[1][64] = {{1}};
    uint16_t sha256[1] = {1};
    uint8_t got[64];
    size_t n;
    /* PCRs 17-22 start at all ones after a TPM Reset; 0 and 16 at zero */
    assert_int_equal(pcr_read(t, 1, 17, got, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i], 0xFF);
    }
    /* PCR 17 may not be extended from locality 0 */
    assert_int_equal(pcr_extend(t, 0, 17, 1, sha256, d), RC_LOCALITY);
    assert_int_equal(pcr_extend(t, 2, 17, 1, sha256, d), 0);
    /* PCR 16 resettable from locality 0, PCR 0 never */
    assert_int_equal(pcr_extend(t, 0, 16, 1, sha256, d), 0);
    tb_start(&c, ST_S, 0x13D);
    tb_u32(&c, 16);
    tb_auth_begin(&c);
    tb_pw(&c, "");
    tb_auth_end(&c);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(pcr_read(t, 1, 16, got, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i], 0);
    }
    tb_start(&c, ST_S, 0x13D);
    tb_u32(&c, 0);
    tb_auth_begin(&c);
    tb_pw(&c, "");
    tb_auth_end(&c);
    assert_int_equal(tt_exec(t, &c, &r), RC_LOCALITY);
    tpm_free(t);
}

static void pcr_allocate_takes_effect_at_reset(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct tb c;
    struct rsp r;
    uint8_t got[64];
    size_t n;
    /* allocate sha256 only (sha1, sha384, sha512 get empty selections) */
    tb_start(&c, ST_S, 0x12B);
    tb_u32(&c, 0x4000000C);
    tb_auth_begin(&c);
    tb_pw(&c, "");
    tb_auth_end(&c);
    tb_u32(&c, 4);
    for (int b = 0; b < 4; b++) {
        tb_u16(&c, algs[b]);
        tb_u8(&c, 3);
        uint8_t sel[3] = {0, 0, 0};
        if (b == 1) {
            sel[0] = sel[1] = sel[2] = 0xFF;
        }
        tb_bytes(&c, sel, 3);
    }
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(rs_u32(&r), 13); /* parameterSize */
    assert_int_equal(rs_u8(&r), 1);   /* allocationSuccess */
    assert_int_equal(rs_u32(&r), 24); /* maxPCR */
    assert_true(tpm_state_dirty(t));
    /* still active until the next reset */
    assert_int_equal(pcr_read(t, 0, 0, got, &n), 0);
    assert_int_equal(n, 20);
    /* Shutdown(STATE) is refused after a re-allocation */
    tb_start(&c, ST_NO, 0x145);
    tb_u16(&c, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0x08A | 0x040 | 0x100);
    tt_shutdown(t, 0);
    tpm_init(t);
    tt_startup(t, 0);
    assert_int_equal(pcr_read(t, 0, 0, got, &n), 0);
    assert_int_equal(n, 0); /* sha1 bank no longer allocated */
    assert_int_equal(pcr_read(t, 1, 0, got, &n), 0);
    assert_int_equal(n, 32);
    /* extends for the unallocated banks are accepted and ignored (OVMF sends all four) */
    uint8_t d[4][64] = {{0}};
    uint16_t which[4] = {0, 1, 2, 3};
    assert_int_equal(pcr_extend(t, 0, 5, 4, which, d), 0);
    tpm_free(t);
}

static void shutdown_state_resume_and_restart(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[1][64] = {{7}};
    uint16_t sha256[1] = {1};
    uint8_t before[64], got[64];
    size_t n;
    assert_int_equal(pcr_extend(t, 0, 3, 1, sha256, d), 0);
    assert_int_equal(pcr_extend(t, 0, 16, 1, sha256, d), 0);
    assert_int_equal(pcr_read(t, 1, 3, before, &n), 0);
    tt_shutdown(t, 1);
    /* the saved state goes through the permanent state, as across a process restart */
    struct tpm_buf b = {0};
    assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, &b), 0);
    struct tpm *t2 = tpm_new(NULL, NULL);
    assert_int_equal(tpm_state_load(t2, TPM_STATE_PERMANENT, b.data, b.len), 0);
    tpm_init(t2);
    tt_startup(t2, 1); /* TPM Resume */
    assert_int_equal(pcr_read(t2, 1, 3, got, &n), 0);
    assert_memory_equal(got, before, n); /* PCR 3 saved */
    assert_int_equal(pcr_read(t2, 1, 16, got, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i], 0); /* PCR 16 is not saved */
    }
    /* Startup(STATE) without a saved state: TPM_RC_VALUE on parameter 1 */
    tt_shutdown(t2, 0);
    tpm_init(t2);
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, 0x144);
    tb_u16(&c, 1);
    assert_int_equal(tt_exec(t2, &c, &r), 0x084 | 0x040 | 0x100);
    tt_startup(t2, 0);
    assert_int_equal(pcr_read(t2, 1, 3, got, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i], 0); /* TPM Reset */
    }
    tpm_buf_free(&b);
    tpm_free(t);
    tpm_free(t2);
}

/* ---- hashing ---- */

static void hash_and_sequences(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct tb c;
    struct rsp r;
    /* Hash("abc", sha256, owner): digest and an owner ticket */
    tb_start(&c, ST_NO, 0x17D);
    tb_2b(&c, "abc", 3);
    tb_u16(&c, 0x000B);
    tb_u32(&c, 0x40000001);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    uint8_t d[64], want[64];
    assert_int_equal(rs_2b(&r, d, 64), 32);
    tt_hex(h_abc[1], want, 64);
    assert_memory_equal(d, want, 32);
    assert_int_equal(rs_u16(&r), 0x8024); /* TPM_ST_HASHCHECK */
    assert_int_equal(rs_u32(&r), 0x40000001);
    assert_int_equal(rs_2b(&r, d, 64), 32);
    /* data starting with TPM_GENERATED_VALUE gets the NULL ticket */
    tb_start(&c, ST_NO, 0x17D);
    tb_2b(&c, "\xffTCGx", 5);
    tb_u16(&c, 0x000B);
    tb_u32(&c, 0x40000001);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_2b(&r, d, 64);
    assert_int_equal(rs_u16(&r), 0x8024);
    assert_int_equal(rs_u32(&r), 0x40000007);
    assert_int_equal(rs_u16(&r), 0);

    /* HashSequenceStart(sha384) + SequenceUpdate("hello ") + SequenceComplete("world"):
     * sha384("hello world") (Python hashlib) */
    tb_start(&c, ST_NO, 0x186);
    tb_2b(&c, "pw", 2);
    tb_u16(&c, 0x000C);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    uint32_t seq = rs_u32(&r);
    assert_int_equal(seq >> 24, 0x80);
    tb_start(&c, ST_S, 0x15C);
    tb_u32(&c, seq);
    tb_auth_begin(&c);
    tb_pw(&c, "pw");
    tb_auth_end(&c);
    tb_2b(&c, "hello ", 6);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    tb_start(&c, ST_S, 0x13E);
    tb_u32(&c, seq);
    tb_auth_begin(&c);
    tb_pw(&c, "pw");
    tb_auth_end(&c);
    tb_2b(&c, "world", 5);
    tb_u32(&c, 0x40000007);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u32(&r);
    assert_int_equal(rs_2b(&r, d, 64), 48);
    tt_hex("fdbd8e75a67f29f701a4e040385e2e23986303ea10239211af907fcbb83578b3e417cb71ce646efd08"
           "19dd8c088de1bd",
           want, 64);
    assert_memory_equal(d, want, 48);
    /* the sequence object is gone */
    tb_start(&c, ST_S, 0x15C);
    tb_u32(&c, seq);
    tb_auth_begin(&c);
    tb_pw(&c, "pw");
    tb_auth_end(&c);
    tb_2b(&c, "x", 1);
    assert_int_equal(tt_exec(t, &c, &r), 0x910);

    /* an event sequence extends every allocated bank of PCR 16 */
    tb_start(&c, ST_NO, 0x186);
    tb_2b(&c, "", 0);
    tb_u16(&c, 0x0010);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    seq = rs_u32(&r);
    tb_start(&c, ST_S, 0x185);
    tb_u32(&c, 16);
    tb_u32(&c, seq);
    tb_auth_begin(&c);
    tb_pw(&c, "");
    tb_pw(&c, "");
    tb_auth_end(&c);
    tb_2b(&c, "abc", 3);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u32(&r);
    assert_int_equal(rs_u32(&r), 4);
    for (int b = 0; b < 4; b++) {
        assert_int_equal(rs_u16(&r), algs[b]);
        rs_bytes(&r, d, sizes[b]);
        tt_hex(h_abc[b], want, 64);
        assert_memory_equal(d, want, sizes[b]);
    }
    tpm_free(t);
}

/* ---- capabilities ---- */

static void capabilities_commands_list_is_exact(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, 0x17A);
    tb_u32(&c, 2); /* TPM_CAP_COMMANDS */
    tb_u32(&c, 0x11F);
    tb_u32(&c, 256);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u8(&r);
    assert_int_equal(rs_u32(&r), 2);
    uint32_t n = rs_u32(&r);
    assert_true(n > 20);
    uint32_t last = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t a = rs_u32(&r);
        uint32_t code = a & 0xFFFF;
        assert_true(code > last); /* sorted, no duplicates */
        last = code;
        /* every listed command is implemented: it never answers TPM_RC_COMMAND_CODE */
        struct tb q;
        struct rsp qr;
        tb_start(&q, ST_NO, code);
        assert_int_not_equal(tt_exec(t, &q, &qr), RC_COMMAND_CODE);
        if (code == 0x182) {
            /* PCR_Extend: one handle, no response handle */
            assert_int_equal((a >> 25) & 7, 1);
            assert_int_equal(a & 0x10000000, 0);
        }
        if (code == 0x176) {
            /* StartAuthSession: two handles and a response handle */
            assert_int_equal((a >> 25) & 7, 2);
            assert_int_not_equal(a & 0x10000000, 0);
        }
    }
    /* TOTAL_COMMANDS agrees */
    tb_start(&c, ST_NO, 0x17A);
    tb_u32(&c, 6);
    tb_u32(&c, 0x129);
    tb_u32(&c, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u8(&r);
    rs_u32(&r);
    assert_int_equal(rs_u32(&r), 1);
    assert_int_equal(rs_u32(&r), 0x129);
    assert_int_equal(rs_u32(&r), n);
    /* an unknown capability: TPM_RC_VALUE on parameter 1 */
    tb_start(&c, ST_NO, 0x17A);
    tb_u32(&c, 0x55);
    tb_u32(&c, 0);
    tb_u32(&c, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0x084 | 0x040 | 0x100);
    tpm_free(t);
}

static void capabilities_pcrs_and_properties(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, 0x17A);
    tb_u32(&c, 5); /* PCRS */
    tb_u32(&c, 0);
    tb_u32(&c, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u8(&r);
    assert_int_equal(rs_u32(&r), 5);
    assert_int_equal(rs_u32(&r), 4);
    for (int b = 0; b < 4; b++) {
        assert_int_equal(rs_u16(&r), algs[b]);
        assert_int_equal(rs_u8(&r), 3);
        uint8_t sel[3];
        rs_bytes(&r, sel, 3);
        assert_memory_equal(sel, "\xff\xff\xff", 3);
    }
    /* PCR properties: DRTM reset = 17..22 */
    tb_start(&c, ST_NO, 0x17A);
    tb_u32(&c, 7);
    tb_u32(&c, 0x12);
    tb_u32(&c, 1);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    rs_u8(&r);
    rs_u32(&r);
    assert_int_equal(rs_u32(&r), 1);
    assert_int_equal(rs_u32(&r), 0x12);
    assert_int_equal(rs_u8(&r), 3);
    uint8_t sel[3];
    rs_bytes(&r, sel, 3);
    assert_memory_equal(sel, "\x00\x00\x7e", 3);
    /* the property list is cut to what was asked for, with moreData */
    tb_start(&c, ST_NO, 0x17A);
    tb_u32(&c, 6);
    tb_u32(&c, 0x100);
    tb_u32(&c, 2);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(rs_u8(&r), 1);
    rs_u32(&r);
    assert_int_equal(rs_u32(&r), 2);
    assert_int_equal(rs_u32(&r), 0x100);
    assert_int_equal(rs_u32(&r), 0x322E3000); /* "2.0" */
    tpm_free(t);
}

static void state_round_trip_and_corruption(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    struct tpm_buf b = {0};
    assert_int_equal(change_auth(t, 0x40000001, "", "persist"), 0);
    assert_true(tpm_state_dirty(t));
    assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, &b), 0);
    assert_false(tpm_state_dirty(t));
    /* every truncation is refused and leaves the target unchanged */
    struct tpm *t2 = tpm_new(NULL, NULL);
    for (size_t n = 0; n < b.len; n += 7) {
        assert_int_not_equal(tpm_state_load(t2, TPM_STATE_PERMANENT, b.data, n), 0);
    }
    /* a wrong part or magic is refused */
    uint8_t *copy = malloc(b.len);
    memcpy(copy, b.data, b.len);
    copy[7] ^= 1;
    assert_int_not_equal(tpm_state_load(t2, TPM_STATE_PERMANENT, copy, b.len), 0);
    free(copy);
    tpm_init(t2);
    tt_startup(t2, 0);
    assert_int_equal(change_auth(t2, 0x40000001, "", ""), 0); /* t2 still has its own state */
    /* the whole state loads and carries the owner password */
    assert_int_equal(tpm_state_load(t2, TPM_STATE_PERMANENT, b.data, b.len), 0);
    tpm_init(t2);
    tt_startup(t2, 0);
    assert_int_equal(change_auth(t2, 0x40000001, "persist", "next"), 0);
    tpm_buf_free(&b);
    tpm_free(t);
    tpm_free(t2);
}

static void volatile_state_round_trip(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t d[1][64] = {{9}};
    uint16_t sha256[1] = {1};
    uint8_t a[64], b2[64];
    size_t n, m;
    assert_int_equal(pcr_extend(t, 0, 23, 1, sha256, d), 0);
    assert_int_equal(pcr_read(t, 1, 23, a, &n), 0);
    struct tpm_buf p = {0}, v = {0};
    assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, &p), 0);
    assert_int_equal(tpm_state_save(t, TPM_STATE_VOLATILE, &v), 0);
    struct tpm *t2 = tpm_new(NULL, NULL);
    assert_int_equal(tpm_state_load(t2, TPM_STATE_PERMANENT, p.data, p.len), 0);
    tpm_init(t2);
    assert_int_equal(tpm_state_load(t2, TPM_STATE_VOLATILE, v.data, v.len), 0);
    /* started, with the same PCR 23: no Startup needed (migration) */
    assert_int_equal(pcr_read(t2, 1, 23, b2, &m), 0);
    assert_int_equal(n, m);
    assert_memory_equal(a, b2, n);
    tpm_buf_free(&p);
    tpm_buf_free(&v);
    tpm_free(t);
    tpm_free(t2);
}

static void drtm_sequence(void **state)
{
    (void)state;
    struct tpm *t = tt_new(NULL);
    uint8_t got[64];
    size_t n;
    assert_false(tpm_established(t));
    assert_int_equal(tpm_hash_start(t), 0);
    assert_int_equal(tpm_hash_data(t, (const uint8_t *)"abc", 3), 0);
    assert_int_equal(tpm_hash_end(t), 0);
    assert_true(tpm_established(t));
    /* PCR 17 = H(0^32 || H("abc")), PCR 18 zero (Python hashlib) */
    assert_int_equal(pcr_read(t, 1, 17, got, &n), 0);
    uint8_t want[32];
    tt_hex("589f9ffed4c477966bfb8d41f37895b08c69047df8f911d6f3b57fbe08faee8d", want, 32);
    assert_int_equal(n, 32);
    assert_memory_equal(got, want, 32);
    assert_int_equal(pcr_read(t, 1, 18, got, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i], 0);
    }
    assert_false(tpm_reset_established(t, 0));
    assert_true(tpm_reset_established(t, 3));
    assert_false(tpm_established(t));
    tpm_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(before_init_every_command_fails),
        cmocka_unit_test(before_startup_initialize),
        cmocka_unit_test(header_checks),
        cmocka_unit_test(authorization_area_checks),
        cmocka_unit_test(passwords_and_dictionary_attack),
        cmocka_unit_test(pcr_extend_known_answers),
        cmocka_unit_test(pcr_localities_and_reset),
        cmocka_unit_test(pcr_allocate_takes_effect_at_reset),
        cmocka_unit_test(shutdown_state_resume_and_restart),
        cmocka_unit_test(hash_and_sequences),
        cmocka_unit_test(capabilities_commands_list_is_exact),
        cmocka_unit_test(capabilities_pcrs_and_properties),
        cmocka_unit_test(state_round_trip_and_corruption),
        cmocka_unit_test(volatile_state_round_trip),
        cmocka_unit_test(drtm_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

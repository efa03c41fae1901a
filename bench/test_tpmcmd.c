/*
 * Unit tests of the benchmark client's commands and response checks (bench/tpmcmd.c):
 * commands have the bytes Part 3 prescribes, and every response that is not a well-formed
 * success (truncated, oversized, error code, wrong tag, wrong parameters) is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tpmcmd.h"

static struct bcmd_state st0;

static int setup(void **state)
{
    (void)state;
    return bcmd_state_init(&st0);
}

/* A response: header with the given tag and code, then body; returns the total length. */
static size_t mk_rsp(uint8_t *out, uint16_t tag, uint32_t rc, const uint8_t *body, size_t blen)
{
    size_t n = 10 + blen;
    out[0] = (uint8_t)(tag >> 8);
    out[1] = (uint8_t)tag;
    out[2] = (uint8_t)(n >> 24);
    out[3] = (uint8_t)(n >> 16);
    out[4] = (uint8_t)(n >> 8);
    out[5] = (uint8_t)n;
    out[6] = (uint8_t)(rc >> 24);
    out[7] = (uint8_t)(rc >> 16);
    out[8] = (uint8_t)(rc >> 8);
    out[9] = (uint8_t)rc;
    if (blen > 0) {
        memcpy(out + 10, body, blen);
    }
    return n;
}

static int check(enum bcmd c, const struct bcmd_state *st, const uint8_t *rsp, size_t len,
                 uint32_t *rc)
{
    char why[160];
    int ret = bcmd_check(c, st, rsp, len, rc, why, sizeof(why));
    assert_true(strlen(why) < sizeof(why));
    return ret;
}

static void test_names(void **state)
{
    (void)state;
    for (int c = 0; c < BCMD_COUNT; c++) {
        assert_non_null(bcmd_name((enum bcmd)c));
        assert_int_equal(bcmd_from_name(bcmd_name((enum bcmd)c)), c);
    }
    assert_null(bcmd_name(BCMD_COUNT));
    assert_int_equal(bcmd_from_name("nvwrite"), -1);
    assert_true(bcmd_commits(BCMD_DA_PARAMS));
    assert_true(bcmd_commits(BCMD_CHANGE_AUTH));
    assert_false(bcmd_commits(BCMD_PCR_EXTEND));
}

static void test_build_getrandom(void **state)
{
    static const uint8_t want[] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                   0x00, 0x00, 0x01, 0x7b, 0x00, 0x20};
    uint8_t buf[BCMD_MAX];
    (void)state;
    assert_int_equal(bcmd_build(BCMD_GETRANDOM, &st0, buf, sizeof(buf)), sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    /* too small a buffer: nothing */
    assert_int_equal(bcmd_build(BCMD_GETRANDOM, &st0, buf, 11), 0);
    assert_int_equal(bcmd_build(BCMD_COUNT, &st0, buf, sizeof(buf)), 0);
}

static void test_build_pcr_extend(void **state)
{
    static const uint8_t head[] = {
        0x80, 0x02, 0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x01, 0x82, /* header, size 65 */
        0x00, 0x00, 0x00, 0x10,                                     /* PCR 16 */
        0x00, 0x00, 0x00, 0x09, 0x40, 0x00, 0x00, 0x09,             /* authSize, TPM_RS_PW */
        0x00, 0x00, 0x00, 0x00, 0x00,                               /* nonce, attrs, hmac */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x0b,                         /* one sha256 digest */
    };
    uint8_t buf[BCMD_MAX];
    (void)state;
    assert_int_equal(bcmd_build(BCMD_PCR_EXTEND, &st0, buf, sizeof(buf)), 65);
    assert_memory_equal(buf, head, sizeof(head));
}

static void test_build_every_size_matches(void **state)
{
    uint8_t buf[BCMD_MAX];
    (void)state;
    for (int c = 0; c < BCMD_COUNT; c++) {
        size_t n = bcmd_build((enum bcmd)c, &st0, buf, sizeof(buf));
        assert_true(n >= 10);
        assert_int_equal(bcmd_rsp_size(buf), n); /* the same header layout */
    }
}

static void test_alternation(void **state)
{
    struct bcmd_state st = st0;
    uint8_t a[BCMD_MAX];
    uint8_t b[BCMD_MAX];
    size_t na;
    size_t nb;
    (void)state;

    na = bcmd_build(BCMD_DA_PARAMS, &st, a, sizeof(a));
    bcmd_done(BCMD_DA_PARAMS, &st);
    nb = bcmd_build(BCMD_DA_PARAMS, &st, b, sizeof(b));
    assert_int_equal(na, nb);
    assert_memory_not_equal(a, b, na); /* maxTries differs: every call changes NV */

    na = bcmd_build(BCMD_CHANGE_AUTH, &st, a, sizeof(a));
    bcmd_done(BCMD_CHANGE_AUTH, &st);
    assert_true(st.owner_auth_set);
    nb = bcmd_build(BCMD_CHANGE_AUTH, &st, b, sizeof(b));
    /* first: empty session auth, 8-byte newAuth; then 8-byte session auth, empty newAuth */
    assert_int_equal(na, nb);
    assert_int_equal(a[26], 0);
    assert_int_equal(b[26], 8);
    bcmd_done(BCMD_CHANGE_AUTH, &st);
    assert_false(st.owner_auth_set);
}

static void test_rsp_size(void **state)
{
    uint8_t h[10] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x09, 0, 0, 0, 0};
    (void)state;
    assert_int_equal(bcmd_rsp_size(h), 0);
    h[5] = 10;
    assert_int_equal(bcmd_rsp_size(h), 10);
    h[4] = 0x10;
    h[5] = 0x01; /* 4097 */
    assert_int_equal(bcmd_rsp_size(h), 0);
    h[2] = 0x80;
    assert_int_equal(bcmd_rsp_size(h), 0);
}

static void test_check_getrandom(void **state)
{
    uint8_t body[2 + 32] = {0x00, 0x20};
    uint8_t rsp[BCMD_MAX];
    uint32_t rc;
    size_t n;
    (void)state;

    n = mk_rsp(rsp, 0x8001, 0, body, sizeof(body));
    assert_int_equal(check(BCMD_GETRANDOM, &st0, rsp, n, &rc), 0);
    assert_int_equal(rc, 0);
    /* truncated: the header says more than arrived */
    assert_int_equal(check(BCMD_GETRANDOM, &st0, rsp, n - 1, &rc), -1);
    /* shorter than a header */
    assert_int_equal(check(BCMD_GETRANDOM, &st0, rsp, 9, &rc), -1);
    assert_int_equal(rc, 0xFFFFFFFF);
    /* an error code is never a result */
    n = mk_rsp(rsp, 0x8001, 0x100, NULL, 0);
    assert_int_equal(check(BCMD_GETRANDOM, &st0, rsp, n, &rc), -1);
    assert_int_equal(rc, 0x100);
    /* fewer random bytes than asked */
    body[1] = 16;
    n = mk_rsp(rsp, 0x8001, 0, body, 2 + 16);
    assert_int_equal(check(BCMD_GETRANDOM, &st0, rsp, n, &rc), -1);
    /* a trailing byte after the parameters */
    body[1] = 32;
    n = mk_rsp(rsp, 0x8001, 0, body, sizeof(body));
    rsp[5]++;
    rsp[n] = 0;
    assert_int_equal(check(BCMD_GETRANDOM, &st0, rsp, n + 1, &rc), -1);
    /* the wrong tag */
    n = mk_rsp(rsp, 0x8002, 0, body, sizeof(body));
    assert_int_equal(check(BCMD_GETRANDOM, &st0, rsp, n, &rc), -1);
}

static void test_check_session_commands(void **state)
{
    static const uint8_t ok[] = {0, 0, 0, 0, 0x00, 0x00, 0x01, 0x00, 0x00};
    static const uint8_t hmac[] = {0, 0, 0, 0, 0x00, 0x00, 0x01, 0x00, 0x01, 0xAA};
    static const uint8_t params[] = {0, 0, 0, 1, 0xBB, 0x00, 0x00, 0x01, 0x00, 0x00};
    uint8_t rsp[BCMD_MAX];
    uint32_t rc;
    size_t n;
    (void)state;

    for (enum bcmd c = BCMD_PCR_EXTEND; c < BCMD_COUNT; c++) {
        if (c != BCMD_PCR_EXTEND && !bcmd_commits(c)) {
            continue;
        }
        n = mk_rsp(rsp, 0x8002, 0, ok, sizeof(ok));
        assert_int_equal(check(c, &st0, rsp, n, &rc), 0);
        n = mk_rsp(rsp, 0x8001, 0, ok, sizeof(ok));
        assert_int_equal(check(c, &st0, rsp, n, &rc), -1);
        n = mk_rsp(rsp, 0x8002, 0, hmac, sizeof(hmac));
        assert_int_equal(check(c, &st0, rsp, n, &rc), -1);
        n = mk_rsp(rsp, 0x8002, 0, params, sizeof(params));
        assert_int_equal(check(c, &st0, rsp, n, &rc), -1);
        n = mk_rsp(rsp, 0x8002, 0, ok, 4); /* session area missing */
        assert_int_equal(check(c, &st0, rsp, n, &rc), -1);
        n = mk_rsp(rsp, 0x8001, 0x98e, NULL, 0); /* TPM_RC_AUTH_FAIL */
        assert_int_equal(check(c, &st0, rsp, n, &rc), -1);
        assert_int_equal(rc, 0x98e);
    }
}

static void test_check_hash(void **state)
{
    uint8_t body[2 + 32 + 2 + 4 + 2 + 32];
    uint8_t rsp[BCMD_MAX];
    uint32_t rc;
    size_t n;
    (void)state;

    memset(body, 0, sizeof(body));
    body[1] = 32;
    memcpy(body + 2, st0.hash_expect, 32);
    body[34] = 0x80;
    body[35] = 0x24; /* TPM_ST_HASHCHECK */
    body[36] = 0x40;
    body[39] = 0x01; /* TPM_RH_OWNER */
    body[41] = 32;
    n = mk_rsp(rsp, 0x8001, 0, body, sizeof(body));
    assert_int_equal(check(BCMD_HASH, &st0, rsp, n, &rc), 0);
    rsp[12] ^= 1; /* one bit of the digest */
    assert_int_equal(check(BCMD_HASH, &st0, rsp, n, &rc), -1);
    body[35] = 0x21; /* a creation ticket instead */
    n = mk_rsp(rsp, 0x8001, 0, body, sizeof(body));
    assert_int_equal(check(BCMD_HASH, &st0, rsp, n, &rc), -1);
    body[35] = 0x24;
    body[41] = 33; /* ticket digest runs past the end */
    n = mk_rsp(rsp, 0x8001, 0, body, sizeof(body));
    assert_int_equal(check(BCMD_HASH, &st0, rsp, n, &rc), -1);
}

static void test_check_pcr_read_getcap_readclock(void **state)
{
    uint8_t pcr[4 + 4 + 2 + 1 + 3 + 4 + 2 + 32] = {
        0, 0, 0, 5, 0, 0, 0, 1, 0x00, 0x0b, 3, 1, 0, 0, 0, 0, 0, 1, 0, 32};
    uint8_t cap[1 + 4 + 4 + 4 + 4] = {0, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 1, 0x05, 0x49, 0x42,
                                      0x4d, 0};
    uint8_t clk[25] = {0};
    uint8_t rsp[BCMD_MAX];
    uint32_t rc;
    size_t n;
    (void)state;

    n = mk_rsp(rsp, 0x8001, 0, pcr, sizeof(pcr));
    assert_int_equal(check(BCMD_PCR_READ, &st0, rsp, n, &rc), 0);
    pcr[17] = 0; /* no digest: the bank is not allocated */
    n = mk_rsp(rsp, 0x8001, 0, pcr, sizeof(pcr));
    assert_int_equal(check(BCMD_PCR_READ, &st0, rsp, n, &rc), -1);

    n = mk_rsp(rsp, 0x8001, 0, cap, sizeof(cap));
    assert_int_equal(check(BCMD_GETCAP, &st0, rsp, n, &rc), 0);
    cap[12] = 0x06; /* another property */
    n = mk_rsp(rsp, 0x8001, 0, cap, sizeof(cap));
    assert_int_equal(check(BCMD_GETCAP, &st0, rsp, n, &rc), -1);

    n = mk_rsp(rsp, 0x8001, 0, clk, sizeof(clk));
    assert_int_equal(check(BCMD_READCLOCK, &st0, rsp, n, &rc), 0);
    n = mk_rsp(rsp, 0x8001, 0, clk, sizeof(clk) - 1);
    assert_int_equal(check(BCMD_READCLOCK, &st0, rsp, n, &rc), -1);
    clk[24] = 2; /* safe is a TPMI_YES_NO */
    n = mk_rsp(rsp, 0x8001, 0, clk, sizeof(clk));
    assert_int_equal(check(BCMD_READCLOCK, &st0, rsp, n, &rc), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_build_getrandom),
        cmocka_unit_test(test_build_pcr_extend),
        cmocka_unit_test(test_build_every_size_matches),
        cmocka_unit_test(test_alternation),
        cmocka_unit_test(test_rsp_size),
        cmocka_unit_test(test_check_getrandom),
        cmocka_unit_test(test_check_session_commands),
        cmocka_unit_test(test_check_hash),
        cmocka_unit_test(test_check_pcr_read_getcap_readclock),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

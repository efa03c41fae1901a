/*
 * Unit tests of the benchmark client's commands and response checks (bench/tpmcmd.c):
 * commands have the bytes Part 3 prescribes, and every response that is not a well-formed
 * success (truncated, oversized, error code, wrong tag, wrong parameters) is refused.
 *
 * The expected commands are written out field by field from the Part 3 command tables. Two of
 * them were also checked against what tpm2-tools 5.4 sends (captured from its cmd TCTI):
 * the CreatePrimary parameters of `tpm2_createprimary -C o -G ecc256` and `-G rsa2048` are
 * those of BKEY_ECC_SRK and BKEY_RSA_SRK, and the TPM2B_NV_PUBLIC of `tpm2_nvdefine 0x1500B00
 * -C o -s 64 -a "ownerread|ownerwrite"` is that of bcmd_nv_define. The HMACs of the session
 * tests come from Python's hmac and hashlib.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/rw.h"
#include "tpmcmd.h"
#include "tpmcrypt.h"

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


/* ------------------------------------------------------------------------------------------- */
/* Keys, sessions, NV, signing.                                                                */

/* Hex digits into out (spaces ignored); returns the byte count. */
static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    int hi = -1;

    for (; *h; h++) {
        int v;
        if (*h == ' ' || *h == '\n') {
            continue;
        }
        v = (*h >= '0' && *h <= '9') ? *h - '0' : (*h | 0x20) - 'a' + 10;
        assert_true(v >= 0 && v < 16);
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    return n;
}

/* Asserts that the builder produced exactly the bytes in hex. */
static void expect_bytes(const uint8_t *got, size_t n, const char *hex)
{
    uint8_t want[BCMD_MAX];
    size_t wn = unhex(hex, want);

    assert_int_equal(n, wn);
    assert_memory_equal(got, want, wn);
    /* and the header's commandSize says so */
    assert_int_equal(bcmd_rsp_size(got), n);
}

#define PW "00000009 40000009 0000 00 0000" /* authorizationSize, TPM_RS_PW, empty */

static void test_templates(void **state)
{
    uint8_t b[512];
    uint8_t u[3] = {1, 2, 3};
    size_t n;
    (void)state;

    n = bcmd_template(BKEY_ECC_SRK, NULL, 0, b, sizeof(b));
    assert_int_equal(n, 26);
    assert_memory_equal(b, "\x00\x23\x00\x0b\x00\x03\x00\x72\x00\x00\x00\x06\x00\x80\x00\x43"
                           "\x00\x10\x00\x03\x00\x10\x00\x00\x00\x00", 26);
    n = bcmd_template(BKEY_RSA_SRK, u, sizeof(u), b, sizeof(b));
    assert_int_equal(n, 29);
    assert_memory_equal(b, "\x00\x01\x00\x0b\x00\x03\x00\x72\x00\x00\x00\x06\x00\x80\x00\x43"
                           "\x00\x10\x08\x00\x00\x00\x00\x00\x00\x03\x01\x02\x03", 29);
    n = bcmd_template(BKEY_ECC_SIGN, NULL, 0, b, sizeof(b));
    assert_int_equal(n, 22);
    assert_memory_equal(b, "\x00\x23\x00\x0b\x00\x04\x00\x72\x00\x00\x00\x10\x00\x10\x00\x03"
                           "\x00\x10\x00\x00\x00\x00", 22);
    n = bcmd_template(BKEY_RSA_SIGNDEC, NULL, 0, b, sizeof(b));
    assert_int_equal(n, 22);
    assert_memory_equal(b, "\x00\x01\x00\x0b\x00\x06\x00\x72\x00\x00\x00\x10\x00\x10\x08\x00"
                           "\x00\x00\x00\x00\x00\x00", 22);
    n = bcmd_template(BKEY_ECC_AK, NULL, 0, b, sizeof(b));
    assert_int_equal(n, 24);
    assert_memory_equal(b, "\x00\x23\x00\x0b\x00\x05\x00\x72\x00\x00\x00\x10\x00\x18\x00\x0b"
                           "\x00\x03\x00\x10\x00\x00\x00\x00", 24);
    n = bcmd_template(BKEY_AES, NULL, 0, b, sizeof(b));
    assert_int_equal(n, 18);
    assert_memory_equal(b, "\x00\x25\x00\x0b\x00\x06\x00\x72\x00\x00\x00\x06\x00\x80\x00\x43"
                           "\x00\x00", 18);
    n = bcmd_template(BKEY_SEALED, NULL, 0, b, sizeof(b));
    assert_int_equal(n, 14);
    assert_memory_equal(b, "\x00\x08\x00\x0b\x00\x00\x00\x52\x00\x00\x00\x10\x00\x00", 14);
    /* out of range, or no room */
    assert_int_equal(bcmd_template(BKEY_COUNT, NULL, 0, b, sizeof(b)), 0);
    assert_int_equal(bcmd_template(BKEY_ECC_SRK, NULL, 0, b, 25), 0);
}

static void test_build_objects(void **state)
{
    uint8_t b[BCMD_MAX];
    uint8_t t[512];
    size_t tn;
    struct bblob priv = {3, {0xa1, 0xa2, 0xa3}};
    struct bblob pub = {2, {0xb1, 0xb2}};
    static const uint8_t auth[2] = {0xaa, 0xbb};
    static const uint8_t data[3] = {1, 2, 3};
    (void)state;

    tn = bcmd_template(BKEY_ECC_SRK, NULL, 0, t, sizeof(t));
    expect_bytes(b, bcmd_create_primary(b, sizeof(b), t, tn),
                 "8002 00000043 00000131 40000001" PW
                 "0004 0000 0000"                               /* inSensitive: empty */
                 "001a 0023 000b 00030072 0000 0006 0080 0043 0010 0003 0010 0000 0000"
                 "0000 00000000");                              /* outsideInfo, creationPCR */
    tn = bcmd_template(BKEY_SEALED, NULL, 0, t, sizeof(t));
    expect_bytes(b, bcmd_create(b, sizeof(b), 0x80000000, t, tn, auth, 2, data, 3),
                 "8002 0000003c 00000153 80000000" PW
                 "0009 0002 aabb 0003 010203"                   /* userAuth, data */
                 "000e 0008 000b 00000052 0000 0010 0000"
                 "0000 00000000");
    expect_bytes(b, bcmd_load(b, sizeof(b), 0x80000000, &priv, &pub),
                 "8002 00000024 00000157 80000000" PW "0003 a1a2a3 0002 b1b2");
    expect_bytes(b, bcmd_unseal(b, sizeof(b), 0x80000001, (const uint8_t *)"ab", 2),
                 "8002 0000001d 0000015e 80000001 0000000b 40000009 0000 00 0002 6162");
    expect_bytes(b, bcmd_flush(b, sizeof(b), 0x80000001), "8001 0000000e 00000165 80000001");
    /* no room: nothing */
    assert_int_equal(bcmd_flush(b, 13, 0x80000001), 0);
    assert_int_equal(bcmd_load(b, 35, 0x80000000, &priv, &pub), 0);
}

static void test_build_nv(void **state)
{
    uint8_t b[BCMD_MAX];
    static const uint8_t data[2] = {1, 2};
    (void)state;

    expect_bytes(b, bcmd_nv_define(b, sizeof(b), BCMD_NV_DATA, 0x00020002, 64),
                 "8002 0000002d 0000012a 40000001" PW
                 "0000 000e 01500b00 000b 00020002 0000 0040");
    expect_bytes(b, bcmd_nv_undefine(b, sizeof(b), BCMD_NV_DATA),
                 "8002 0000001f 00000122 40000001 01500b00" PW);
    expect_bytes(b, bcmd_nv_write(b, sizeof(b), BCMD_NV_DATA, data, 2),
                 "8002 00000025 00000137 40000001 01500b00" PW "0002 0102 0000");
    expect_bytes(b, bcmd_nv_read(b, sizeof(b), BCMD_NV_DATA, 64),
                 "8002 00000023 0000014e 40000001 01500b00" PW "0040 0000");
    expect_bytes(b, bcmd_nv_increment(b, sizeof(b), BCMD_NV_COUNTER),
                 "8002 0000001f 00000134 40000001 01500b01" PW);
}

static void test_build_sign(void **state)
{
    uint8_t b[BCMD_MAX];
    uint8_t digest[32];
    uint8_t iv[16];
    static const uint8_t three[3] = {0xc1, 0xc2, 0xc3};
    (void)state;

    memset(digest, 0x5a, sizeof(digest));
    expect_bytes(b, bcmd_sign(b, sizeof(b), 0x80000002, BCMD_ALG_ECDSA, digest),
                 "8002 00000049 0000015d 80000002" PW
                 "0020 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
                 "0018 000b"                                    /* ECDSA, SHA-256 */
                 "8024 40000007 0000");                         /* NULL hashcheck ticket */
    expect_bytes(b, bcmd_sign(b, sizeof(b), 0x80000002, BCMD_ALG_RSASSA, digest),
                 "8002 00000049 0000015d 80000002" PW
                 "0020 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
                 "0014 000b 8024 40000007 0000");
    assert_int_equal(bcmd_sign(b, sizeof(b), 0x80000002, 0x0010, digest), 0);
    expect_bytes(b, bcmd_rsa_decrypt(b, sizeof(b), 0x80000003, three, 3),
                 "8002 00000026 00000159 80000003" PW "0003 c1c2c3 0017 000b 0000");
    expect_bytes(b, bcmd_quote(b, sizeof(b), 0x80000004, three, 2),
                 "8002 0000002b 00000158 80000004" PW
                 "0002 c1c2 0010 00000001 000b 03 ff0000");     /* SHA-256 PCRs 0-7 */
    memset(iv, 0x1f, sizeof(iv));
    expect_bytes(b, bcmd_encrypt_decrypt2(b, sizeof(b), 0x80000005, true, iv, three, 3),
                 "8002 00000035 00000193 80000005" PW
                 "0003 c1c2c3 01 0043 0010 1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f");
    bcmd_encrypt_decrypt2(b, sizeof(b), 0x80000005, false, iv, three, 3);
    assert_int_equal(b[10 + 4 + 13 + 5], 0); /* decrypt: NO */
}

static void test_build_session(void **state)
{
    uint8_t b[BCMD_MAX];
    uint8_t nonce[32];
    uint8_t ex[32];
    uint8_t ey[32];
    uint8_t digest[32];
    struct bsess s;
    (void)state;

    memset(nonce, 0x22, sizeof(nonce));
    memset(ex, 0xe1, sizeof(ex));
    memset(ey, 0xe2, sizeof(ey));
    expect_bytes(b, bcmd_start_auth_session(b, sizeof(b), 0x80000000, nonce, ex, ey),
                 "8001 0000007f 00000176 80000000 40000007"     /* tpmKey, bind TPM_RH_NULL */
                 "0020 2222222222222222222222222222222222222222222222222222222222222222"
                 "0044 0020 e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1"
                 "0020 e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"
                 "00 0010 000b");                               /* HMAC, no symmetric, SHA-256 */

    /* the HMAC of PCR_Extend with sessionKey 0x11.., nonceCaller 0x22.., nonceTPM 0x33.. */
    memset(&s, 0, sizeof(s));
    s.handle = 0x02000000;
    memset(s.key, 0x11, sizeof(s.key));
    memset(s.nonce_caller, 0x22, sizeof(s.nonce_caller));
    memset(s.nonce_tpm, 0x33, sizeof(s.nonce_tpm));
    memset(digest, 0xa5, sizeof(digest));
    expect_bytes(b, bcmd_pcr_extend_hmac(b, sizeof(b), &s, 16, digest),
                 "8002 00000081 00000182 00000010"
                 "00000049 02000000"                            /* authorizationSize, handle */
                 "0020 2222222222222222222222222222222222222222222222222222222222222222"
                 "01"                                           /* continueSession */
                 "0020 8b40d3e221766e6d0e261f3f931fa5a021a3bbbfcfa4caebfb33a96881dde9eb"
                 "00000001 000b"
                 "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5");
}

/* ---- responses ---- */

/* A response written with the project's writer: tag, size (filled by rsp_end), code. */
static void rsp_begin(struct wr *w, uint8_t *buf, size_t cap, uint16_t tag, uint32_t rc)
{
    wr_init(w, buf, cap);
    wr_u16(w, tag);
    wr_u32(w, 0);
    wr_u32(w, rc);
}

static size_t rsp_end(struct wr *w)
{
    assert_false(w->err);
    be32_put(w->p + 2, (uint32_t)w->off);
    return w->off;
}

/* The password session answer: empty nonce, continueSession, empty hmac. */
static void put_pw_answer(struct wr *w)
{
    wr_u16(w, 0);
    wr_u8(w, 1);
    wr_u16(w, 0);
}

static void test_parse_empty(void **state)
{
    uint8_t r[BCMD_MAX];
    char why[200];
    uint32_t rc;
    struct wr w;
    size_t n;
    (void)state;

    rsp_begin(&w, r, sizeof(r), 0x8001, 0);
    n = rsp_end(&w);
    assert_int_equal(bcmd_parse_empty(r, n, "FlushContext", false, &rc, why, sizeof(why)), 0);
    /* a response with sessions where none were sent, and the other way round */
    assert_int_equal(bcmd_parse_empty(r, n, "NV_Write", true, &rc, why, sizeof(why)), -1);
    rsp_begin(&w, r, sizeof(r), 0x8002, 0);
    wr_u32(&w, 0);
    put_pw_answer(&w);
    n = rsp_end(&w);
    assert_int_equal(bcmd_parse_empty(r, n, "NV_Write", true, &rc, why, sizeof(why)), 0);
    assert_int_equal(bcmd_parse_empty(r, n, "FlushContext", false, &rc, why, sizeof(why)), -1);
    /* a truncated one, one byte too many, a parameter where none belongs */
    assert_int_equal(bcmd_parse_empty(r, n - 1, "NV_Write", true, &rc, why, sizeof(why)), -1);
    r[5]++;
    r[n] = 0;
    assert_int_equal(bcmd_parse_empty(r, n + 1, "NV_Write", true, &rc, why, sizeof(why)), -1);
    rsp_begin(&w, r, sizeof(r), 0x8002, 0);
    wr_u32(&w, 1);
    wr_u8(&w, 0);
    put_pw_answer(&w);
    n = rsp_end(&w);
    assert_int_equal(bcmd_parse_empty(r, n, "NV_Write", true, &rc, why, sizeof(why)), -1);
    /* parameterSize larger than what follows */
    rsp_begin(&w, r, sizeof(r), 0x8002, 0);
    wr_u32(&w, 100);
    put_pw_answer(&w);
    n = rsp_end(&w);
    assert_int_equal(bcmd_parse_empty(r, n, "NV_Write", true, &rc, why, sizeof(why)), -1);
    /* a session answer with an HMAC behind a password session */
    rsp_begin(&w, r, sizeof(r), 0x8002, 0);
    wr_u32(&w, 0);
    wr_u16(&w, 0);
    wr_u8(&w, 1);
    wr_u16(&w, 1);
    wr_u8(&w, 0xcc);
    n = rsp_end(&w);
    assert_int_equal(bcmd_parse_empty(r, n, "NV_Write", true, &rc, why, sizeof(why)), -1);
    /* an error code names the command */
    rsp_begin(&w, r, sizeof(r), 0x8001, 0x14c);
    n = rsp_end(&w);
    assert_int_equal(bcmd_parse_empty(r, n, "NV_DefineSpace", true, &rc, why, sizeof(why)),
                     -1);
    assert_int_equal(rc, 0x14c);
    assert_non_null(strstr(why, "NV_DefineSpace"));
    assert_non_null(strstr(why, "0x14c"));
    /* rc may be NULL; why is always terminated, even when short */
    assert_int_equal(bcmd_parse_empty(r, 3, "NV_Write", true, NULL, why, 8), -1);
    assert_int_equal(strlen(why), 7);
}

/* An ECC P-256 TPMT_PUBLIC (the SRK's) with point (x, y) of the given coordinate sizes. */
static void put_ecc_public(struct wr *w, uint16_t xlen, uint16_t ylen)
{
    size_t mark = wr_size16_begin(w);
    uint8_t c[40];

    memset(c, 0x61, sizeof(c));
    wr_bytes(w, "\x00\x23\x00\x0b\x00\x03\x00\x72\x00\x00\x00\x06\x00\x80\x00\x43\x00\x10"
                "\x00\x03\x00\x10", 22);
    wr_u16(w, xlen);
    wr_bytes(w, c, xlen);
    wr_u16(w, ylen);
    memset(c, 0x62, sizeof(c));
    wr_bytes(w, c, ylen);
    wr_size16_end(w, mark);
}

/* creationData (a few bytes), creationHash, creationTicket with the given tag. */
static void put_creation(struct wr *w, uint16_t ticket_tag)
{
    uint8_t d[32];

    memset(d, 0x71, sizeof(d));
    wr_u16(w, 4);
    wr_bytes(w, d, 4);
    wr_u16(w, 32);
    wr_bytes(w, d, 32);
    wr_u16(w, ticket_tag);
    wr_u32(w, 0x40000001);
    wr_u16(w, 32);
    wr_bytes(w, d, 32);
}

static void put_name(struct wr *w, uint16_t alg)
{
    uint8_t d[32];

    memset(d, 0x81, sizeof(d));
    wr_u16(w, 34);
    wr_u16(w, alg);
    wr_bytes(w, d, 32);
}

/* A CreatePrimary response; bad picks one defect (0: none). */
static size_t mk_create_primary(uint8_t *r, int bad)
{
    struct wr w;
    size_t mark;

    rsp_begin(&w, r, BCMD_MAX, 0x8002, 0);
    wr_u32(&w, 0x80000000);
    mark = wr_size32_begin(&w);
    put_ecc_public(&w, bad == 1 ? 31 : 32, 32);
    put_creation(&w, bad == 2 ? 0x8024 : 0x8021);
    put_name(&w, bad == 3 ? 0x0004 : 0x000b);
    if (bad == 4) {
        wr_u8(&w, 0); /* a byte after the last parameter, inside parameterSize */
    }
    wr_size32_end(&w, mark);
    put_pw_answer(&w);
    return rsp_end(&w);
}

static void test_parse_create_primary(void **state)
{
    uint8_t r[BCMD_MAX];
    char why[200];
    uint32_t rc;
    uint32_t h = 0;
    struct bpub pub;
    size_t n;
    (void)state;

    n = mk_create_primary(r, 0);
    assert_int_equal(bcmd_parse_create_primary(r, n, &h, &pub, &rc, why, sizeof(why)), 0);
    assert_int_equal(h, 0x80000000);
    assert_int_equal(pub.type, 0x0023);
    assert_int_equal(pub.attrs, 0x00030072);
    assert_int_equal(pub.x[0], 0x61);
    assert_int_equal(pub.y[31], 0x62);
    for (int bad = 1; bad <= 4; bad++) {
        n = mk_create_primary(r, bad);
        assert_int_equal(bcmd_parse_create_primary(r, n, &h, &pub, &rc, why, sizeof(why)), -1);
    }
    n = mk_create_primary(r, 0);
    for (size_t cut = 0; cut < n; cut++) {
        be32_put(r + 2, (uint32_t)cut); /* every truncation, with a consistent header */
        assert_int_equal(bcmd_parse_create_primary(r, cut, &h, &pub, &rc, why, sizeof(why)),
                         -1);
    }
}

static void test_parse_create_load(void **state)
{
    uint8_t r[BCMD_MAX];
    char why[200];
    uint32_t rc;
    uint32_t h = 0;
    struct bblob priv;
    struct bblob pub;
    struct wr w;
    size_t mark;
    size_t n;
    (void)state;

    rsp_begin(&w, r, sizeof(r), 0x8002, 0);
    mark = wr_size32_begin(&w);
    wr_u16(&w, 3);
    wr_bytes(&w, "\xd1\xd2\xd3", 3);
    wr_bytes(&w, "\x00\x0e\x00\x08\x00\x0b\x00\x00\x00\x52\x00\x00\x00\x10\x00\x00", 16);
    put_creation(&w, 0x8021);
    wr_size32_end(&w, mark);
    put_pw_answer(&w);
    n = rsp_end(&w);
    assert_int_equal(bcmd_parse_create(r, n, &priv, &pub, &rc, why, sizeof(why)), 0);
    assert_int_equal(priv.len, 3);
    assert_memory_equal(priv.b, "\xd1\xd2\xd3", 3);
    assert_int_equal(pub.len, 14);
    assert_int_equal(pub.b[1], 0x08);
    /* a keyedhash public area with an unknown scheme's bytes left over */
    r[10 + 4 + 5 + 2 + 11] = 0x05; /* scheme NULL -> HMAC: the hash eats the unique's size */
    assert_int_equal(bcmd_parse_create(r, n, &priv, &pub, &rc, why, sizeof(why)), -1);

    rsp_begin(&w, r, sizeof(r), 0x8002, 0);
    wr_u32(&w, 0x80000001);
    mark = wr_size32_begin(&w);
    put_name(&w, 0x000b);
    wr_size32_end(&w, mark);
    put_pw_answer(&w);
    n = rsp_end(&w);
    assert_int_equal(bcmd_parse_load(r, n, &h, &rc, why, sizeof(why)), 0);
    assert_int_equal(h, 0x80000001);
    r[10 + 4 + 4 + 1] = 33; /* a name of the wrong size */
    assert_int_equal(bcmd_parse_load(r, n, &h, &rc, why, sizeof(why)), -1);
}

static void test_parse_data_and_session(void **state)
{
    uint8_t r[BCMD_MAX];
    uint8_t nonce[32];
    char why[200];
    uint32_t rc;
    uint32_t h = 0;
    struct bblob out;
    struct bsess s;
    struct wr w;
    size_t mark;
    size_t n;
    (void)state;

    rsp_begin(&w, r, sizeof(r), 0x8002, 0);
    mark = wr_size32_begin(&w);
    wr_u16(&w, 2);
    wr_bytes(&w, "\x01\x02", 2);
    wr_size32_end(&w, mark);
    put_pw_answer(&w);
    n = rsp_end(&w);
    assert_int_equal(bcmd_parse_data(r, n, "Unseal", &out, &rc, why, sizeof(why)), 0);
    assert_int_equal(out.len, 2);
    r[15] = 3; /* the TPM2B runs past the parameter area */
    assert_int_equal(bcmd_parse_data(r, n, "Unseal", &out, &rc, why, sizeof(why)), -1);

    /* StartAuthSession: an HMAC session handle and a 32-byte nonce */
    memset(nonce, 0x33, sizeof(nonce));
    rsp_begin(&w, r, sizeof(r), 0x8001, 0);
    wr_u32(&w, 0x02000001);
    wr_u16(&w, 32);
    wr_bytes(&w, nonce, 32);
    n = rsp_end(&w);
    memset(nonce, 0, sizeof(nonce));
    assert_int_equal(bcmd_parse_start_auth_session(r, n, &h, nonce, &rc, why, sizeof(why)), 0);
    assert_int_equal(h, 0x02000001);
    assert_int_equal(nonce[31], 0x33);
    r[10] = 0x03; /* a policy session */
    assert_int_equal(bcmd_parse_start_auth_session(r, n, &h, nonce, &rc, why, sizeof(why)), -1);
    r[10] = 0x02;
    r[15] = 16; /* a shorter nonce */
    assert_int_equal(bcmd_parse_start_auth_session(r, n, &h, nonce, &rc, why, sizeof(why)), -1);

    /* PCR_Extend through the session: the response HMAC (Python hmac) must verify */
    memset(&s, 0, sizeof(s));
    memset(s.key, 0x11, sizeof(s.key));
    memset(s.nonce_caller, 0x22, sizeof(s.nonce_caller));
    memset(s.nonce_tpm, 0x33, sizeof(s.nonce_tpm));
    n = unhex("8002 00000053 00000000 00000000"
              "0020 4444444444444444444444444444444444444444444444444444444444444444 01"
              "0020 58eda44c04d73dd648961af27f1957b74af59132c2619bbb19480efc8437fc94", r);
    assert_int_equal(bcmd_parse_pcr_extend_hmac(r, n, &s, &rc, why, sizeof(why)), 0);
    assert_int_equal(s.nonce_tpm[0], 0x44); /* rolled to the TPM's new nonce */
    memset(s.nonce_tpm, 0x33, sizeof(s.nonce_tpm));
    r[n - 1] ^= 1;
    assert_int_equal(bcmd_parse_pcr_extend_hmac(r, n, &s, &rc, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "HMAC"));
    assert_int_equal(s.nonce_tpm[0], 0x33); /* not rolled on a failure */
    r[n - 1] ^= 1;
    r[48] = 0x00; /* continueSession dropped */
    assert_int_equal(bcmd_parse_pcr_extend_hmac(r, n, &s, &rc, why, sizeof(why)), -1);
}

/* A TPMT_SIGNATURE: ECDSA with r and s of rl and sl bytes, or RSASSA of rl bytes. */
static void put_sig(struct wr *w, uint16_t alg, uint16_t hash, uint16_t rl, uint16_t sl)
{
    uint8_t b[BCMD_RSA_BYTES];

    memset(b, 0x91, sizeof(b));
    wr_u16(w, alg);
    wr_u16(w, hash);
    wr_u16(w, rl);
    wr_bytes(w, b, rl);
    if (alg == BCMD_ALG_ECDSA) {
        wr_u16(w, sl);
        wr_bytes(w, b, sl);
    }
}

static size_t mk_sign(uint8_t *r, uint16_t alg, uint16_t hash, uint16_t rl, uint16_t sl)
{
    struct wr w;
    size_t mark;

    rsp_begin(&w, r, BCMD_MAX, 0x8002, 0);
    mark = wr_size32_begin(&w);
    put_sig(&w, alg, hash, rl, sl);
    wr_size32_end(&w, mark);
    put_pw_answer(&w);
    return rsp_end(&w);
}

static void test_parse_sign(void **state)
{
    uint8_t r[BCMD_MAX];
    char why[200];
    uint32_t rc;
    struct bsig sig;
    size_t n;
    (void)state;

    n = mk_sign(r, BCMD_ALG_ECDSA, 0x000b, 32, 32);
    assert_int_equal(bcmd_parse_sign(r, n, BCMD_ALG_ECDSA, &sig, &rc, why, sizeof(why)), 0);
    assert_int_equal(sig.rlen, 32);
    assert_int_equal(sig.slen, 32);
    /* another scheme than asked, another hash, an oversized coordinate */
    assert_int_equal(bcmd_parse_sign(r, n, BCMD_ALG_RSASSA, &sig, &rc, why, sizeof(why)), -1);
    n = mk_sign(r, BCMD_ALG_ECDSA, 0x0004, 32, 32);
    assert_int_equal(bcmd_parse_sign(r, n, BCMD_ALG_ECDSA, &sig, &rc, why, sizeof(why)), -1);
    n = mk_sign(r, BCMD_ALG_ECDSA, 0x000b, 33, 32);
    assert_int_equal(bcmd_parse_sign(r, n, BCMD_ALG_ECDSA, &sig, &rc, why, sizeof(why)), -1);
    n = mk_sign(r, BCMD_ALG_RSASSA, 0x000b, 256, 0);
    assert_int_equal(bcmd_parse_sign(r, n, BCMD_ALG_RSASSA, &sig, &rc, why, sizeof(why)), 0);
    assert_int_equal(sig.rlen, 256);
    n = mk_sign(r, BCMD_ALG_RSASSA, 0x000b, 255, 0);
    assert_int_equal(bcmd_parse_sign(r, n, BCMD_ALG_RSASSA, &sig, &rc, why, sizeof(why)), -1);
}

/* A Quote response; bad picks one defect of the attestation (0: none). */
static size_t mk_quote(uint8_t *r, const uint8_t *qual, int bad)
{
    uint8_t d[32];
    struct wr w;
    size_t mark;
    size_t att;

    memset(d, 0x55, sizeof(d));
    rsp_begin(&w, r, BCMD_MAX, 0x8002, 0);
    mark = wr_size32_begin(&w);
    att = wr_size16_begin(&w);
    wr_u32(&w, bad == 1 ? 0xFF544348 : 0xFF544347); /* TPM_GENERATED_VALUE */
    wr_u16(&w, bad == 2 ? 0x8017 : 0x8018);          /* TPM_ST_ATTEST_QUOTE */
    put_name(&w, 0x000b);                            /* qualifiedSigner */
    wr_u16(&w, 16);
    wr_bytes(&w, qual, 16);
    wr_u64(&w, 1000);                                /* clockInfo */
    wr_u32(&w, 1);
    wr_u32(&w, 0);
    wr_u8(&w, bad == 3 ? 2 : 1);
    wr_u64(&w, 0x2023);                              /* firmwareVersion */
    wr_u32(&w, 1);                                   /* pcrSelect */
    wr_u16(&w, 0x000b);
    wr_u8(&w, 3);
    wr_u8(&w, bad == 4 ? 0x7f : 0xff);
    wr_u8(&w, 0);
    wr_u8(&w, 0);
    wr_u16(&w, 32);                                  /* pcrDigest */
    wr_bytes(&w, d, 32);
    if (bad == 5) {
        wr_u8(&w, 0);
    }
    wr_size16_end(&w, att);
    put_sig(&w, BCMD_ALG_ECDSA, 0x000b, 32, 32);
    wr_size32_end(&w, mark);
    put_pw_answer(&w);
    return rsp_end(&w);
}

static void test_parse_quote(void **state)
{
    uint8_t r[BCMD_MAX];
    uint8_t qual[16];
    uint8_t other[16];
    char why[200];
    uint32_t rc;
    struct bblob attest;
    struct bsig sig;
    size_t n;
    (void)state;

    memset(qual, 0x12, sizeof(qual));
    memset(other, 0x13, sizeof(other));
    n = mk_quote(r, qual, 0);
    assert_int_equal(bcmd_parse_quote(r, n, qual, 16, &attest, &sig, &rc, why, sizeof(why)), 0);
    assert_int_equal(attest.len, 4 + 2 + 36 + 18 + 17 + 8 + 10 + 34);
    assert_int_equal(attest.b[0], 0xff);
    /* other qualifying data than asked, and each defect of the attestation */
    assert_int_equal(bcmd_parse_quote(r, n, other, 16, &attest, &sig, &rc, why, sizeof(why)),
                     -1);
    for (int bad = 1; bad <= 5; bad++) {
        n = mk_quote(r, qual, bad);
        assert_int_equal(bcmd_parse_quote(r, n, qual, 16, &attest, &sig, &rc, why,
                                          sizeof(why)), -1);
    }
}

static void test_parse_encrypt_decrypt2(void **state)
{
    uint8_t r[BCMD_MAX];
    uint8_t out[8];
    char why[200];
    uint32_t rc;
    struct wr w;
    size_t mark;
    size_t n;
    (void)state;

    rsp_begin(&w, r, sizeof(r), 0x8002, 0);
    mark = wr_size32_begin(&w);
    wr_u16(&w, 8);
    wr_bytes(&w, "abcdefgh", 8);
    wr_u16(&w, 16);
    wr_bytes(&w, "0123456789abcdef", 16);
    wr_size32_end(&w, mark);
    put_pw_answer(&w);
    n = rsp_end(&w);
    assert_int_equal(bcmd_parse_encrypt_decrypt2(r, n, out, 8, &rc, why, sizeof(why)), 0);
    assert_memory_equal(out, "abcdefgh", 8);
    /* fewer bytes than were sent */
    assert_int_equal(bcmd_parse_encrypt_decrypt2(r, n, out, 7, &rc, why, sizeof(why)), -1);
    r[10 + 4 + 2 + 8 + 1] = 15; /* an iv of 15 bytes */
    assert_int_equal(bcmd_parse_encrypt_decrypt2(r, n, out, 8, &rc, why, sizeof(why)), -1);
}

static void test_property(void **state)
{
    uint8_t b[BCMD_MAX];
    uint8_t r[BCMD_MAX];
    char why[200];
    uint32_t rc;
    uint32_t v = 0;
    size_t n;
    (void)state;

    expect_bytes(b, bcmd_get_property(b, sizeof(b), BCMD_PT_MAX_AUTH_FAIL),
                 "8001 00000016 0000017a 00000006 0000020f 00000001");
    n = unhex("8001 0000001b 00000000 00 00000006 00000001 0000020f 00000020", r);
    assert_int_equal(bcmd_parse_property(r, n, BCMD_PT_MAX_AUTH_FAIL, &v, &rc, why,
                                         sizeof(why)), 0);
    assert_int_equal(v, 32);
    /* another property than asked, or none */
    assert_int_equal(bcmd_parse_property(r, n, 0x00000210, &v, &rc, why, sizeof(why)), -1);
    n = unhex("8001 00000017 00000000 00 00000006 00000000", r);
    assert_int_equal(bcmd_parse_property(r, n, BCMD_PT_MAX_AUTH_FAIL, &v, &rc, why,
                                         sizeof(why)), -1);
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
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_build_objects),
        cmocka_unit_test(test_build_nv),
        cmocka_unit_test(test_build_sign),
        cmocka_unit_test(test_build_session),
        cmocka_unit_test(test_parse_empty),
        cmocka_unit_test(test_parse_create_primary),
        cmocka_unit_test(test_parse_create_load),
        cmocka_unit_test(test_parse_data_and_session),
        cmocka_unit_test(test_parse_sign),
        cmocka_unit_test(test_parse_quote),
        cmocka_unit_test(test_parse_encrypt_decrypt2),
        cmocka_unit_test(test_property),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

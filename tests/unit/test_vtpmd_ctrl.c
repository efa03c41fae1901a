/*
 * Unit tests of vtpmd's control channel (src/daemon/ctrl.c): framing of every command, byte
 * for byte answers before and after INIT (values as swtpm 0.7.1 gives them, see
 * swtpm-protocol.md §2.2), and refusals of malformed requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/ctrl.h"
#include "daemon/dev.h"
#include "daemon/info.h"

struct fixture {
    struct dev dev;
    struct info info;
    int datafd_calls;
    int datafd_seen;
    uint32_t datafd_answer;
};

static uint32_t fake_set_datafd(void *ctx, int fd)
{
    struct fixture *fx = ctx;
    fx->datafd_calls++;
    fx->datafd_seen = fd;
    return fd < 0 ? PTM_BAD_PARAMETER : fx->datafd_answer;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    assert_int_equal(dev_open(&fx->dev, NULL), 0);
    assert_int_equal(info_probe(&fx->info), 0);
    fx->datafd_seen = -2;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    dev_close(&fx->dev);
    free(fx);
    return 0;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Frame and dispatch one request given in hex; compare the answer with want (hex). */
static void exchange_fd(struct fixture *fx, const char *req_hex, int fd, const char *want_hex)
{
    uint8_t req[CTRL_MAX_REQUEST], rsp[CTRL_MAX_RESPONSE], want[CTRL_MAX_RESPONSE];
    size_t len = unhex(req_hex, req, sizeof(req));
    size_t wlen = unhex(want_hex, want, sizeof(want));
    struct ctrl_frame f;
    struct ctrl_env env = {&fx->dev, &fx->info, fd, fake_set_datafd, fx, false};
    size_t n;

    assert_int_equal(ctrl_frame(req, len, &f), CTRL_READY);
    assert_int_equal(f.len, len);
    n = ctrl_dispatch(&env, &f, req, rsp, sizeof(rsp));
    if (n != wlen || memcmp(rsp, want, n) != 0) {
        char got[2 * CTRL_MAX_RESPONSE + 1];
        for (size_t i = 0; i < n && i < CTRL_MAX_RESPONSE; i++) {
            sprintf(got + 2 * i, "%02x", rsp[i]);
        }
        got[2 * n] = '\0';
        fail_msg("request %s: got %s, want %s", req_hex, got, want_hex);
    }
}

static void exchange(struct fixture *fx, const char *req_hex, const char *want_hex)
{
    exchange_fd(fx, req_hex, -1, want_hex);
}

static void test_frame_lengths(void **state)
{
    (void)state;
    /* Request lengths (code included) from the reference table. */
    static const struct {
        uint32_t code;
        size_t len;
    } rows[] = {
        {0x01, 4}, {0x02, 8}, {0x03, 4}, {0x04, 4},  {0x05, 5},  {0x06, 4},
        {0x08, 4}, {0x09, 4}, {0x0a, 4}, {0x0b, 5},  {0x0c, 16}, {0x0e, 4},
        {0x0f, 4}, {0x10, 4}, {0x11, 8}, {0x12, 20}, {0x13, 8},
    };
    uint8_t buf[64] = {0};
    struct ctrl_frame f;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        buf[3] = (uint8_t)rows[i].code;
        /* Byte by byte: the framer asks for exactly what is missing. */
        for (size_t have = 0; have < rows[i].len; have++) {
            assert_int_equal(ctrl_frame(buf, have, &f), CTRL_NEED);
            assert_int_equal(f.need, (have < 4 ? 4 : rows[i].len) - have);
        }
        assert_int_equal(ctrl_frame(buf, rows[i].len, &f), CTRL_READY);
        assert_int_equal(f.len, rows[i].len);
        assert_int_equal(f.code, rows[i].code);
        /* QEMU pads SET_LOCALITY and RESET_TPMESTABLISHED to 4 bytes; nothing else. */
        assert_int_equal(f.pad, rows[i].code == 0x05 || rows[i].code == 0x0b ? 3 : 0);
        /* Bytes of a next request behind it are not part of it. */
        assert_int_equal(ctrl_frame(buf, rows[i].len + 3, &f), CTRL_READY);
        assert_int_equal(f.len, rows[i].len);
    }
}

static void test_frame_hash_data(void **state)
{
    (void)state;
    uint8_t buf[CTRL_MAX_REQUEST + 16] = {0, 0, 0, 7};
    struct ctrl_frame f;

    assert_int_equal(ctrl_frame(buf, 4, &f), CTRL_NEED);
    assert_int_equal(f.need, 4);
    assert_int_equal(ctrl_frame(buf, 7, &f), CTRL_NEED);
    assert_int_equal(f.need, 1);
    buf[6] = 0x01; /* length 256 */
    assert_int_equal(ctrl_frame(buf, 8, &f), CTRL_NEED);
    assert_int_equal(f.need, 256);
    assert_int_equal(ctrl_frame(buf, 8 + 255, &f), CTRL_NEED);
    assert_int_equal(ctrl_frame(buf, 8 + 256, &f), CTRL_READY);
    assert_int_equal(f.len, 264);
    /* Zero bytes is a complete request. */
    buf[6] = 0;
    assert_int_equal(ctrl_frame(buf, 8, &f), CTRL_READY);
    /* The largest piece, and one byte more (refused before reading the data). */
    buf[6] = 0x10;
    assert_int_equal(ctrl_frame(buf, 8, &f), CTRL_NEED);
    assert_int_equal(f.need, 4096);
    buf[7] = 1;
    assert_int_equal(ctrl_frame(buf, 8, &f), CTRL_BAD);
    assert_int_equal(f.result, PTM_BAD_PARAMETER);
    buf[4] = 0xff;
    assert_int_equal(ctrl_frame(buf, 8, &f), CTRL_BAD);
}

static void test_frame_unknown(void **state)
{
    (void)state;
    static const uint32_t codes[] = {0x00, 0x14, 0x99, 0x100, 0x01000000, 0xffffffff};
    uint8_t buf[4], rsp[8];
    struct ctrl_frame f;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        buf[0] = (uint8_t)(codes[i] >> 24);
        buf[1] = (uint8_t)(codes[i] >> 16);
        buf[2] = (uint8_t)(codes[i] >> 8);
        buf[3] = (uint8_t)codes[i];
        assert_int_equal(ctrl_frame(buf, 4, &f), CTRL_BAD);
        assert_null(f.cmd);
        assert_int_equal(ctrl_refuse(&f, rsp, sizeof(rsp)), 4);
        assert_memory_equal(rsp, "\x00\x00\x00\x0a", 4); /* TPM_BAD_ORDINAL, as swtpm */
        assert_string_equal(ctrl_name(codes[i]), "unknown");
    }
}

/* SET_STATEBLOB: flags, type, then the length that frames the blob (at most 512 KiB). */
static void test_frame_set_stateblob(void **state)
{
    (void)state;
    uint8_t buf[32] = {0, 0, 0, 0x0d, 0, 0, 0, 0, 0, 0, 0, 1};
    struct ctrl_frame f;

    for (size_t have = 4; have < 16; have++) {
        assert_int_equal(ctrl_frame(buf, have, &f), CTRL_NEED);
        assert_int_equal(f.need, 16 - have);
    }
    buf[14] = 0x01; /* length 256 */
    assert_int_equal(ctrl_frame(buf, 16, &f), CTRL_NEED);
    assert_int_equal(f.need, 256);
    /* 512 KiB exactly, and one byte more: refused before any of it is read. */
    buf[12] = 0;
    buf[13] = 0x08;
    buf[14] = 0;
    buf[15] = 0;
    assert_int_equal(ctrl_frame(buf, 16, &f), CTRL_NEED);
    assert_int_equal(f.need, 512 * 1024);
    buf[15] = 1;
    assert_int_equal(ctrl_frame(buf, 16, &f), CTRL_BAD);
    assert_int_equal(f.result, PTM_BAD_PARAMETER);
    assert_string_equal(f.reason, "state blob larger than 512 KiB");
    buf[12] = 0xff;
    assert_int_equal(ctrl_frame(buf, 16, &f), CTRL_BAD);
}

/* Frame and dispatch a request of n bytes; returns the response (caller frees). */
static uint8_t *dispatch_heap(struct fixture *fx, const uint8_t *req, size_t n, size_t *rlen)
{
    static uint8_t rsp[CTRL_MAX_RESPONSE];
    struct ctrl_frame f;
    struct ctrl_env env = {&fx->dev, &fx->info, -1, fake_set_datafd, fx, false, NULL, 0};
    assert_int_equal(ctrl_frame(req, n, &f), CTRL_READY);
    assert_int_equal(f.len, n);
    size_t len = ctrl_dispatch(&env, &f, req, rsp, sizeof(rsp));
    uint8_t *out = malloc(len);
    assert_non_null(out);
    memcpy(out, env.heap_rsp ? env.heap_rsp : rsp, len);
    ctrl_env_release(&env);
    assert_null(env.heap_rsp);
    *rlen = len;
    return out;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* GET_STATEBLOB from one device, SET_STATEBLOB into another, over the control framing. */
static void test_stateblobs(void **state)
{
    struct fixture *fx = *state, fy;
    uint8_t req[16];
    uint8_t *rsp, *set;
    size_t n, blen;

    /* Before INIT: the volatile state does not exist; the answer keeps its 16-byte shape. */
    memcpy(req, "\x00\x00\x00\x0c\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00", 16);
    rsp = dispatch_heap(fx, req, 16, &n);
    assert_int_equal(n, 16);
    assert_memory_equal(rsp, "\x00\x00\x00\x0a\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    free(rsp);
    exchange(fx, "0000000200000000", "00000000");
    /* Savestate: absent for a TPM 2 (TPM_RETRY, lengths 0); an unknown type: 3. */
    req[11] = 3;
    rsp = dispatch_heap(fx, req, 16, &n);
    assert_int_equal(n, 16);
    assert_memory_equal(rsp, "\x00\x00\x08\x00\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    free(rsp);
    req[11] = 7;
    rsp = dispatch_heap(fx, req, 16, &n);
    assert_memory_equal(rsp, "\x00\x00\x00\x03\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    free(rsp);

    memset(&fy, 0, sizeof(fy));
    assert_int_equal(dev_open(&fy.dev, NULL), 0);
    fy.info = fx->info;
    for (uint32_t type = 1; type <= 2; type++) {
        req[11] = (uint8_t)type;
        rsp = dispatch_heap(fx, req, 16, &n);
        /* result 0, flags 0 (no state-file key), totlength == length, the blob. */
        assert_memory_equal(rsp, "\0\0\0\0\0\0\0\0", 8);
        blen = (size_t)rsp[8] << 24 | (size_t)rsp[9] << 16 | (size_t)rsp[10] << 8 | rsp[11];
        assert_memory_equal(rsp + 8, rsp + 12, 4);
        assert_int_equal(n, 16 + blen);
        assert_memory_equal(rsp + 16, "VTPMBLOB", 8);
        /* An offset: the rest of the blob. */
        req[15] = 8;
        uint8_t *part = dispatch_heap(fx, req, 16, &n);
        assert_int_equal(n, 16 + blen - 8);
        assert_memory_equal(part + 16, rsp + 24, blen - 8);
        free(part);
        req[15] = 0;
        /* SET_STATEBLOB into the other device: refused while it runs, accepted stopped. */
        set = malloc(16 + blen);
        assert_non_null(set);
        be32(set, CMD_SET_STATEBLOB);
        be32(set + 4, 0);
        be32(set + 8, type);
        be32(set + 12, (uint32_t)blen);
        memcpy(set + 16, rsp + 16, blen);
        exchange(&fy, "0000000200000000", "00000000");
        uint8_t *r2 = dispatch_heap(&fy, set, 16 + blen, &n);
        assert_int_equal(n, 4);
        assert_memory_equal(r2, "\0\0\0\x0a", 4);
        free(r2);
        exchange(&fy, "0000000e", "00000000");
        r2 = dispatch_heap(&fy, set, 16 + blen, &n);
        assert_memory_equal(r2, "\0\0\0\0", 4);
        free(r2);
        /* Not a blob of this type (plain blobs carry no tag: the header is what is checked). */
        set[16 + 11] ^= 0x03;
        r2 = dispatch_heap(&fy, set, 16 + blen, &n);
        assert_memory_equal(r2, "\0\0\0\x03", 4);
        free(r2);
        free(set);
        free(rsp);
    }
    /* INIT with DELETE_VOLATILE resumes from the volatile blob: no Startup needed. */
    {
        static const uint8_t rc_req[] = {0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x81};
        uint8_t out[64];
        exchange(&fy, "0000000200000001", "00000000");
        assert_int_equal(dev_execute(&fy.dev, rc_req, sizeof(rc_req), out, sizeof(out)), 10);
        assert_memory_equal(out + 6, "\x00\x00\x01\x00", 4); /* fx was never started */
    }
    /* LOCK_STORAGE: the folder is always locked; GET_CONFIG: no keys. */
    exchange(&fy, "000000130000012c", "00000000");
    exchange(&fy, "0000000f", "0000000000000000");
    fy.dev.keys.has[BLOB_MIGRATION] = true;
    exchange(&fy, "0000000f", "0000000000000002");
    fy.dev.keys.has[BLOB_STATE] = true;
    exchange(&fy, "0000000f", "0000000000000003");
    dev_close(&fy.dev);
}

/* Before CMD_INIT: what works and what answers TPM_BAD_ORDINAL. */
static void test_before_init(void **state)
{
    struct fixture *fx = *state;
    exchange(fx, "00000001", "000000000001ffff");
    exchange(fx, "00000004", "0000000a");
    exchange(fx, "00000006", "0000000a");
    exchange(fx, "0000000700000003616263", "0000000a");
    exchange(fx, "00000008", "0000000a");
    exchange(fx, "00000009", "0000000a");
    exchange(fx, "0000000a", "0000000a");
    exchange(fx, "0000000b03", "0000000a");
    exchange(fx, "0000000f", "0000000000000000");
    exchange(fx, "0000000503", "00000000");
    exchange(fx, "0000000e", "00000000");
    /* SET_BUFFERSIZE: query, then values clamped into [2808, 4096]. */
    exchange(fx, "0000001100000000", "000000000000100000000af800001000");
    exchange(fx, "0000001100000001", "0000000000000af800000af800001000");
    exchange(fx, "00000011000186a0", "000000000000100000000af800001000");
    exchange(fx, "0000001100000bb8", "0000000000000bb800000af800001000");
    exchange(fx, "0000001100000000", "0000000000000bb800000af800001000");
    exchange(fx, "0000001100000f80", "0000000000000f8000000af800001000");
    assert_int_equal(fx->dev.buffersize, 3968);
    assert_false(fx->dev.running);
}

static void test_after_init(void **state)
{
    struct fixture *fx = *state;
    uint8_t rsp[64];
    static const uint8_t startup[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0};

    exchange(fx, "0000000200000000", "00000000");
    assert_true(fx->dev.running);
    /* The TPM wants TPM2_Startup now. */
    assert_int_equal(dev_execute(&fx->dev, startup, sizeof(startup), rsp, sizeof(rsp)), 10);
    assert_memory_equal(rsp, "\x80\x01\x00\x00\x00\x0a\x00\x00\x00\x00", 10);

    exchange(fx, "00000004", "0000000000000000");
    exchange(fx, "00000009", "00000000");
    exchange(fx, "0000000f", "0000000000000000");
    /* SET_BUFFERSIZE may only query while running. */
    exchange(fx, "0000001100000fa0", "0000000a");
    exchange(fx, "0000001100000000", "000000000000100000000af800001000");
    /* Localities: 0..4, 5 refused; 4 refused with reject-locality-4. */
    exchange(fx, "0000000504", "00000000");
    exchange(fx, "0000000505", "0000003d");
    fx->dev.reject_locality_4 = true;
    exchange(fx, "0000000504", "0000003d");
    exchange(fx, "0000000500", "00000000");
    assert_int_equal(fx->dev.locality, 0);
    /* RESET_TPMESTABLISHED only from locality 3 or 4 (libtpms and the engine agree). */
    exchange(fx, "0000000b00", "0000003d");
    exchange(fx, "0000000b05", "0000003d");
    exchange(fx, "0000000b03", "00000000");
    /* Hash data without a sequence is discarded (Part 3 §11.3.3), as swtpm answers. */
    exchange(fx, "0000000700000003616263", "00000000");
    exchange(fx, "00000008", "00000000");
    /* A DRTM sequence sets the TPM-established flag, RESET_TPMESTABLISHED clears it. */
    exchange(fx, "00000006", "00000000");
    exchange(fx, "0000000700000003616263", "00000000");
    exchange(fx, "0000000700000000", "00000000");
    exchange(fx, "00000008", "00000000");
    exchange(fx, "00000004", "0000000001000000");
    exchange(fx, "0000000b04", "00000000");
    exchange(fx, "00000004", "0000000000000000");
    /* STORE_VOLATILE without a state directory keeps nothing but succeeds. */
    exchange(fx, "0000000a", "00000000");
    /* STOP: running commands are refused again; data commands get TPM_RC_FAILURE. */
    exchange(fx, "0000000e", "00000000");
    assert_false(fx->dev.running);
    exchange(fx, "00000004", "0000000a");
    assert_int_equal(dev_execute(&fx->dev, startup, sizeof(startup), rsp, sizeof(rsp)), 10);
    assert_memory_equal(rsp, "\x80\x01\x00\x00\x00\x0a\x00\x00\x01\x01", 10);
    /* INIT again: the same TPM powers on (Startup(CLEAR) needed again). */
    exchange(fx, "0000000200000001", "00000000");
    assert_int_equal(dev_execute(&fx->dev, startup, sizeof(startup), rsp, sizeof(rsp)), 10);
    assert_memory_equal(rsp, "\x80\x01\x00\x00\x00\x0a\x00\x00\x00\x00", 10);
}

static void test_shutdown(void **state)
{
    struct fixture *fx = *state;
    uint8_t req[] = {0, 0, 0, 3}, rsp[16];
    struct ctrl_frame f;
    struct ctrl_env env = {&fx->dev, &fx->info, -1, NULL, NULL, false};
    exchange(fx, "0000000200000000", "00000000");
    assert_int_equal(ctrl_frame(req, 4, &f), CTRL_READY);
    assert_int_equal(ctrl_dispatch(&env, &f, req, rsp, sizeof(rsp)), 4);
    assert_memory_equal(rsp, "\0\0\0\0", 4);
    assert_true(env.shutdown);
    assert_false(fx->dev.running);
}

static void test_set_datafd(void **state)
{
    struct fixture *fx = *state;
    /* No descriptor with the request: TPM_BAD_PARAMETER. */
    exchange(fx, "00000010", "00000003");
    assert_int_equal(fx->datafd_calls, 1);
    assert_int_equal(fx->datafd_seen, -1);
    /* A descriptor is handed to the loop, which answers. */
    fx->datafd_answer = PTM_SUCCESS;
    exchange_fd(fx, "00000010", 42, "00000000");
    assert_int_equal(fx->datafd_seen, 42);
    fx->datafd_answer = PTM_IOERROR;
    exchange_fd(fx, "00000010", 43, "0000001f");
    /* Over a channel that cannot pass descriptors (TCP): TPM_BAD_PARAMETER. */
    {
        uint8_t req[] = {0, 0, 0, 0x10}, rsp[8];
        struct ctrl_frame f;
        struct ctrl_env env = {&fx->dev, &fx->info, -1, NULL, NULL, false};
        assert_int_equal(ctrl_frame(req, 4, &f), CTRL_READY);
        assert_int_equal(ctrl_dispatch(&env, &f, req, rsp, sizeof(rsp)), 4);
        assert_memory_equal(rsp, "\0\0\0\x03", 4);
    }
    /* Any other command leaves a passed descriptor to the caller. */
    {
        uint8_t req[] = {0, 0, 0, 0x0f}, rsp[16];
        struct ctrl_frame f;
        struct ctrl_env env = {&fx->dev, &fx->info, 77, fake_set_datafd, fx, false};
        assert_int_equal(ctrl_frame(req, 4, &f), CTRL_READY);
        assert_int_equal(ctrl_dispatch(&env, &f, req, rsp, sizeof(rsp)), 8);
        assert_int_equal(env.passed_fd, 77);
    }
}

static void test_get_info(void **state)
{
    struct fixture *fx = *state;
    uint8_t req[20] = {0, 0, 0, 0x12}, rsp[CTRL_MAX_RESPONSE];
    char json[1024];
    struct ctrl_frame f;
    struct ctrl_env env = {&fx->dev, &fx->info, -1, NULL, NULL, false};
    size_t n, jl;

    /* No flags: "{}" and its NUL. */
    exchange(fx, "0000001200000000000000000000000000000000", "0000000000000003000000037b7d00");
    /* TPMSpecification, from the engine's own properties. */
    jl = info_json(&fx->info, 1, json, sizeof(json));
    assert_true(jl > 0);
    assert_non_null(strstr(json, "{\"TPMSpecification\":{\"family\":\"2.0\",\"level\":0,"));
    req[11] = 1;
    assert_int_equal(ctrl_frame(req, sizeof(req), &f), CTRL_READY);
    n = ctrl_dispatch(&env, &f, req, rsp, sizeof(rsp));
    assert_int_equal(n, 12 + jl + 1);
    assert_memory_equal(rsp, "\0\0\0\0", 4);
    assert_int_equal(rsp[7], jl + 1);  /* totlength */
    assert_int_equal(rsp[11], jl + 1); /* length */
    assert_memory_equal(rsp + 12, json, jl + 1);
    /* From an offset: the rest, NUL included. */
    req[15] = 10;
    assert_int_equal(ctrl_frame(req, sizeof(req), &f), CTRL_READY);
    n = ctrl_dispatch(&env, &f, req, rsp, sizeof(rsp));
    assert_int_equal(n, 12 + jl + 1 - 10);
    assert_int_equal(rsp[7], jl + 1);
    assert_int_equal(rsp[11], jl + 1 - 10);
    assert_memory_equal(rsp + 12, json + 10, jl + 1 - 10);
    /* An offset at or past the end of the string: TPM_BAD_PARAMETER. */
    req[15] = (uint8_t)jl;
    assert_int_equal(ctrl_frame(req, sizeof(req), &f), CTRL_READY);
    assert_int_equal(ctrl_dispatch(&env, &f, req, rsp, sizeof(rsp)), 4);
    assert_memory_equal(rsp, "\0\0\0\x03", 4);
    req[12] = 0xff; /* offset far past the end */
    assert_int_equal(ctrl_frame(req, sizeof(req), &f), CTRL_READY);
    assert_int_equal(ctrl_dispatch(&env, &f, req, rsp, sizeof(rsp)), 4);
    /* Several flags in one object, in swtpm's order; unknown bits ignored. */
    jl = info_json(&fx->info, 0xff3, json, sizeof(json));
    assert_true(jl > 0);
    assert_non_null(strstr(json, "},\"TPMAttributes\":{\"manufacturer\":\"id:"));
    assert_non_null(strstr(json, "\"model\":\"vtpmd\"}}"));
    jl = info_json(&fx->info, 4, json, sizeof(json));
    assert_non_null(strstr(json, "{\"TPMFeatures\":{\"RSAKeySizes\":["));
    /* A buffer too small is reported, never overrun. */
    assert_int_equal(info_json(&fx->info, 3, json, 20), 0);
}

static void test_capabilities(void **state)
{
    (void)state;
    uint32_t caps = ctrl_capabilities();
    /* QEMU's minimum for a TPM 2 backend (swtpm-protocol.md §2.3). */
    assert_int_equal(caps & 0x348f, 0x348f);
    /* QEMU blocks migration unless GET_STATEBLOB, SET_STATEBLOB and STOP are present. */
    assert_int_equal(caps & 0x0700, 0x0700);
    /* Every command swtpm 0.8 has, LOCK_STORAGE included, and the send-command prefix. */
    assert_int_equal(caps, 0x1ffff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_lengths),
        cmocka_unit_test(test_frame_hash_data),
        cmocka_unit_test(test_frame_unknown),
        cmocka_unit_test(test_frame_set_stateblob),
        cmocka_unit_test_setup_teardown(test_stateblobs, setup, teardown),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test_setup_teardown(test_before_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_after_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_datafd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_info, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

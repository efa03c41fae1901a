/*
 * Unit tests of vtpmd's data-channel framing (src/daemon/data.c): size framing of split and
 * back-to-back commands, short and oversized headers, the TCG send-command prefix, the
 * vendor SetLocality command, and the answers before INIT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/data.h"
#include "daemon/dev.h"

static const uint8_t read_clock[] = {0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x81};
static const uint8_t startup_clear[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0};
static const uint8_t get_random8[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8};

static int setup(void **state)
{
    struct dev *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    assert_int_equal(dev_open(d, NULL), 0);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    dev_close(*state);
    free(*state);
    return 0;
}

static void test_need_header(void **state)
{
    (void)state;
    struct data_frame f;
    for (size_t have = 0; have < 10; have++) {
        assert_int_equal(data_frame(get_random8, have, 4096, true, &f), DATA_NEED);
        assert_int_equal(f.need, 10 - have);
    }
    assert_int_equal(data_frame(get_random8, 10, 4096, true, &f), DATA_NEED);
    assert_int_equal(f.need, 2);
    assert_int_equal(data_frame(get_random8, 11, 4096, true, &f), DATA_NEED);
    assert_int_equal(f.need, 1);
    assert_int_equal(data_frame(get_random8, 12, 4096, true, &f), DATA_READY);
    assert_int_equal(f.len, 12);
    assert_false(f.prefixed);
    assert_int_equal(f.cmd_off, 0);
    assert_int_equal(f.cmd_len, 12);
}

static void test_two_in_one(void **state)
{
    (void)state;
    uint8_t two[24];
    struct data_frame f;
    memcpy(two, get_random8, 12);
    memcpy(two + 12, startup_clear, 12);
    /* The first frame ends where its size says, whatever follows. */
    assert_int_equal(data_frame(two, sizeof(two), 4096, true, &f), DATA_READY);
    assert_int_equal(f.len, 12);
    assert_int_equal(data_frame(two + 12, 12, 4096, true, &f), DATA_READY);
    assert_int_equal(f.len, 12);
}

static void test_sizes(void **state)
{
    (void)state;
    uint8_t h[10] = {0x80, 0x01, 0, 0, 0, 0, 0, 0, 0x01, 0x7b};
    struct data_frame f;
    static const struct {
        uint32_t size;
        enum data_status st;
    } rows[] = {
        {0, DATA_BAD},          {1, DATA_BAD},          {9, DATA_BAD},    {10, DATA_READY},
        {11, DATA_NEED},        {3968, DATA_NEED},      {3969, DATA_BAD}, {4096, DATA_BAD},
        {0x7fffffff, DATA_BAD}, {0xffffffff, DATA_BAD},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        h[2] = (uint8_t)(rows[i].size >> 24);
        h[3] = (uint8_t)(rows[i].size >> 16);
        h[4] = (uint8_t)(rows[i].size >> 8);
        h[5] = (uint8_t)rows[i].size;
        assert_int_equal(data_frame(h, 10, 3968, true, &f), rows[i].st);
        if (rows[i].st == DATA_BAD) {
            assert_int_equal(f.rc, DEV_TPM_RC_COMMAND_SIZE);
            assert_non_null(f.reason);
        }
        if (rows[i].st == DATA_NEED) {
            assert_int_equal(f.need, rows[i].size - 10);
        }
    }
    /* The limit follows SET_BUFFERSIZE. */
    h[2] = h[3] = 0;
    h[4] = 0x10;
    h[5] = 0x00;
    assert_int_equal(data_frame(h, 10, 4096, true, &f), DATA_NEED);
    assert_int_equal(data_frame(h, 10, 4095, true, &f), DATA_BAD);
}

static void test_prefix(void **state)
{
    (void)state;
    /* swtpm-protocol.md §3: 00000008 00 0000000c + GetRandom(8). */
    uint8_t p[9 + 12] = {0, 0, 0, 8, 3, 0, 0, 0, 12};
    struct data_frame f;
    memcpy(p + 9, get_random8, 12);
    for (size_t have = 0; have < 10; have++) {
        assert_int_equal(data_frame(p, have, 4096, true, &f), DATA_NEED);
    }
    assert_int_equal(data_frame(p, 10, 4096, true, &f), DATA_NEED);
    assert_int_equal(f.need, 11);
    assert_int_equal(data_frame(p, sizeof(p), 4096, true, &f), DATA_READY);
    assert_true(f.prefixed);
    assert_int_equal(f.locality, 3);
    assert_int_equal(f.cmd_off, 9);
    assert_int_equal(f.cmd_len, 12);
    assert_int_equal(f.len, 21);
    /* Disabled: the same bytes are a command of size 0x0800... and refused. */
    assert_int_equal(data_frame(p, sizeof(p), 4096, false, &f), DATA_BAD);
    /* A prefix length out of range is refused like a command size. */
    p[8] = 9;
    assert_int_equal(data_frame(p, sizeof(p), 4096, true, &f), DATA_BAD);
    assert_true(f.prefixed);
    p[7] = 0x20; /* 0x2009 > 4096 */
    assert_int_equal(data_frame(p, sizeof(p), 4096, true, &f), DATA_BAD);
    /* A TPM 2.0 tag is never a prefix, even if the size word happens to be 8. */
    uint8_t q[10] = {0x80, 0x01, 0, 0, 0, 8, 0, 0, 0, 0};
    assert_int_equal(data_frame(q, 10, 4096, true, &f), DATA_BAD);
    assert_false(f.prefixed);
}

static void test_before_init(void **state)
{
    struct dev *d = *state;
    uint8_t out[DATA_MAX_RESPONSE];
    struct data_frame f;
    struct data_opts o = {false};

    /* QEMU's version probe before INIT must get exactly this (tag 0x8001). */
    assert_int_equal(data_frame(read_clock, 10, d->buffersize, true, &f), DATA_READY);
    assert_int_equal(data_process(d, &o, read_clock, &f, out, sizeof(out)), 10);
    assert_memory_equal(out, "\x80\x01\x00\x00\x00\x0a\x00\x00\x01\x01", 10);
}

static void test_process(void **state)
{
    struct dev *d = *state;
    uint8_t out[DATA_MAX_RESPONSE], p[9 + 12] = {0, 0, 0, 8, 2, 0, 0, 0, 12};
    struct data_frame f;
    struct data_opts o = {false};

    assert_int_equal(dev_init(d, false), PTM_SUCCESS);
    assert_int_equal(data_frame(read_clock, 10, d->buffersize, true, &f), DATA_READY);
    assert_int_equal(data_process(d, &o, read_clock, &f, out, sizeof(out)), 10);
    assert_memory_equal(out, "\x80\x01\x00\x00\x00\x0a\x00\x00\x01\x00", 10); /* INITIALIZE */
    assert_int_equal(data_frame(startup_clear, 12, d->buffersize, true, &f), DATA_READY);
    assert_int_equal(data_process(d, &o, startup_clear, &f, out, sizeof(out)), 10);
    assert_memory_equal(out, "\x80\x01\x00\x00\x00\x0a\x00\x00\x00\x00", 10);

    /* Behind the prefix: be32 length, the response, be32 0; the locality sticks. */
    memcpy(p + 9, get_random8, 12);
    assert_int_equal(data_frame(p, sizeof(p), d->buffersize, true, &f), DATA_READY);
    assert_int_equal(data_process(d, &o, p, &f, out, sizeof(out)), 4 + 20 + 4);
    assert_memory_equal(out, "\x00\x00\x00\x14\x80\x01\x00\x00\x00\x14\x00\x00\x00\x00\x00\x08",
                        16);
    assert_memory_equal(out + 24, "\0\0\0\0", 4);
    assert_int_equal(d->locality, 2);
    /* A prefix with locality 5 is answered TPM_RC_LOCALITY, in prefix framing. */
    p[4] = 5;
    assert_int_equal(data_frame(p, sizeof(p), d->buffersize, true, &f), DATA_READY);
    assert_int_equal(data_process(d, &o, p, &f, out, sizeof(out)), 18);
    assert_memory_equal(out, "\x00\x00\x00\x0a\x80\x01\x00\x00\x00\x0a\x00\x00\x09\x07\0\0\0\0",
                        18);
    assert_int_equal(d->locality, 2);
}

static void test_refuse(void **state)
{
    (void)state;
    uint8_t out[64];
    uint8_t h[10] = {0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0x7b};
    uint8_t p[10] = {0, 0, 0, 8, 0, 0x7f, 0, 0, 0, 0};
    struct data_frame f;
    assert_int_equal(data_frame(h, 10, 4096, true, &f), DATA_BAD);
    assert_int_equal(data_refuse(&f, out, sizeof(out)), 10);
    assert_memory_equal(out, "\x80\x01\x00\x00\x00\x0a\x00\x00\x01\x42", 10);
    assert_int_equal(data_frame(p, 10, 4096, true, &f), DATA_BAD);
    assert_int_equal(data_refuse(&f, out, sizeof(out)), 18);
    assert_memory_equal(out, "\x00\x00\x00\x0a\x80\x01\x00\x00\x00\x0a\x00\x00\x01\x42\0\0\0\0",
                        18);
    assert_int_equal(data_refuse(&f, out, 17), 0);
}

static void test_vendor_set_locality(void **state)
{
    struct dev *d = *state;
    uint8_t cmd[11] = {0x80, 0x01, 0, 0, 0, 11, 0x20, 0x00, 0x10, 0x00, 3};
    uint8_t out[DATA_MAX_RESPONSE];
    struct data_frame f;
    struct data_opts deny = {false}, allow = {true};

    assert_int_equal(dev_init(d, false), PTM_SUCCESS);
    assert_int_equal(data_frame(cmd, 11, 4096, true, &f), DATA_READY);
    /* Not allowed: TPM_RC_FAILURE, as swtpm without allow-set-locality. */
    assert_int_equal(data_process(d, &deny, cmd, &f, out, sizeof(out)), 10);
    assert_memory_equal(out + 6, "\x00\x00\x01\x01", 4);
    assert_int_equal(d->locality, 0);
    assert_int_equal(data_process(d, &allow, cmd, &f, out, sizeof(out)), 10);
    assert_memory_equal(out + 6, "\x00\x00\x00\x00", 4);
    assert_int_equal(d->locality, 3);
    cmd[10] = 5;
    assert_int_equal(data_process(d, &allow, cmd, &f, out, sizeof(out)), 10);
    assert_memory_equal(out + 6, "\x00\x00\x09\x07", 4);
    assert_int_equal(d->locality, 3);
    /* Without its parameter: TPM_RC_INSUFFICIENT. */
    cmd[5] = 10;
    assert_int_equal(data_frame(cmd, 10, 4096, true, &f), DATA_READY);
    assert_int_equal(data_process(d, &allow, cmd, &f, out, sizeof(out)), 10);
    assert_memory_equal(out + 6, "\x00\x00\x00\x9a", 4);
}

static void test_response_never_truncated(void **state)
{
    struct dev *d = *state;
    uint8_t out[DATA_MAX_RESPONSE];
    /* GetRandom(48) answers 60 bytes: with room for 20 the engine answers an error instead
     * of a cut response. */
    uint8_t cmd[12] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 48};
    assert_int_equal(dev_init(d, false), PTM_SUCCESS);
    assert_int_equal(dev_execute(d, startup_clear, 12, out, sizeof(out)), 10);
    assert_int_equal(dev_execute(d, cmd, 12, out, sizeof(out)), 60);
    assert_int_equal(dev_execute(d, cmd, 12, out, 20), 10);
    assert_memory_equal(out, "\x80\x01\x00\x00\x00\x0a", 6);
    assert_true(out[8] != 0 || out[9] != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_need_header),
        cmocka_unit_test(test_two_in_one),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_refuse),
        cmocka_unit_test_setup_teardown(test_before_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vendor_set_locality, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_never_truncated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

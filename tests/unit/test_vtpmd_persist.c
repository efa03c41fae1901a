/*
 * Unit tests of vtpmd's state files (src/daemon/persist.c) and of the device's durability
 * rule (src/daemon/dev.c): the file format and its negative cases (truncated, oversized,
 * foreign, damaged, newer), the directory lock, and a commit failed at each named fault
 * point in turn, which must leave the old state on disk, roll the engine back and answer
 * TPM_RC_NV_UNAVAILABLE.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/dev.h"
#include "daemon/persist.h"

static char dir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vtpmd-persist-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown_dir(void **state)
{
    char cmd[512];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static size_t read_file(const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        return 0;
    }
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void write_file(const char *name, const uint8_t *buf, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_format_roundtrip(void **state)
{
    (void)state;
    uint8_t payload[300], img[400];
    const uint8_t *p;
    size_t plen, n;
    for (size_t i = 0; i < sizeof(payload); i++) {
        payload[i] = (uint8_t)(i * 7);
    }
    n = persist_encode(TPM_STATE_PERMANENT, payload, sizeof(payload), img, sizeof(img));
    assert_int_equal(n, sizeof(payload) + PERSIST_OVERHEAD);
    assert_memory_equal(img, "VTPMDST1\x00\x01\x00\x01\x00\x00\x01\x2c", 16);
    assert_int_equal(persist_decode(TPM_STATE_PERMANENT, img, n, &p, &plen), 0);
    assert_int_equal(plen, sizeof(payload));
    assert_memory_equal(p, payload, plen);
    /* Not enough room: nothing written is claimed. */
    assert_int_equal(persist_encode(TPM_STATE_PERMANENT, payload, sizeof(payload), img, n - 1), 0);
    /* The other part is a different file kind. */
    assert_int_equal(persist_decode(TPM_STATE_VOLATILE, img, n, &p, &plen), -EINVAL);
    /* An empty payload is a valid file. */
    n = persist_encode(TPM_STATE_VOLATILE, payload, 0, img, sizeof(img));
    assert_int_equal(n, PERSIST_OVERHEAD);
    assert_int_equal(persist_decode(TPM_STATE_VOLATILE, img, n, &p, &plen), 0);
    assert_int_equal(plen, 0);
}

static void test_format_negative(void **state)
{
    (void)state;
    uint8_t payload[64] = {1, 2, 3}, img[128], bad[130];
    const uint8_t *p;
    size_t plen;
    size_t n = persist_encode(TPM_STATE_PERMANENT, payload, sizeof(payload), img, sizeof(img));

    /* Every truncation. */
    for (size_t len = 0; len < n; len++) {
        assert_int_equal(persist_decode(TPM_STATE_PERMANENT, img, len, &p, &plen), -EINVAL);
    }
    /* A trailing byte. */
    memcpy(bad, img, n);
    bad[n] = 0;
    assert_int_equal(persist_decode(TPM_STATE_PERMANENT, bad, n + 1, &p, &plen), -EINVAL);
    /* Every single-bit flip, in every byte: the header checks or the CRC catch it. */
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < 8; b++) {
            memcpy(bad, img, n);
            bad[i] ^= (uint8_t)(1u << b);
            if (persist_decode(TPM_STATE_PERMANENT, bad, n, &p, &plen) != -EINVAL) {
                fail_msg("flip of bit %d in byte %zu accepted", b, i);
            }
        }
    }
    /* A newer format version, and version 0. */
    memcpy(bad, img, n);
    bad[9] = 2;
    assert_int_equal(persist_decode(TPM_STATE_PERMANENT, bad, n, &p, &plen), -EINVAL);
    bad[9] = 0;
    assert_int_equal(persist_decode(TPM_STATE_PERMANENT, bad, n, &p, &plen), -EINVAL);
    /* A payload length pointing past the end. */
    memcpy(bad, img, n);
    bad[12] = 0xff;
    assert_int_equal(persist_decode(TPM_STATE_PERMANENT, bad, n, &p, &plen), -EINVAL);
}

static void test_save_load_lock(void **state)
{
    (void)state;
    struct persist *p, *q;
    struct tpm_buf b = {0};
    uint8_t data[100];
    memset(data, 0x5a, sizeof(data));

    assert_int_equal(persist_open(dir, 0600, &p), 0);
    assert_int_equal(persist_load(p, TPM_STATE_PERMANENT, &b), -ENOENT);
    assert_int_equal(persist_save(p, TPM_STATE_PERMANENT, data, sizeof(data)), 0);
    assert_int_equal(persist_load(p, TPM_STATE_PERMANENT, &b), 0);
    assert_int_equal(b.len, sizeof(data));
    assert_memory_equal(b.data, data, sizeof(data));
    /* The mode asked for, whatever the umask; no temporary file left. */
    {
        char path[512];
        struct stat st;
        snprintf(path, sizeof(path), "%s/tpm2-00.permall", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        snprintf(path, sizeof(path), "%s/TMP2-00.permall", dir);
        assert_int_not_equal(stat(path, &st), 0);
    }
    /* A second user of the directory is refused while the first holds it. */
    assert_int_equal(persist_open(dir, 0600, &q), -EBUSY);
    /* Volatile state: save, load, remove (twice: absent is fine). */
    assert_int_equal(persist_save(p, TPM_STATE_VOLATILE, data, 10), 0);
    assert_int_equal(persist_load(p, TPM_STATE_VOLATILE, &b), 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(persist_remove(p, TPM_STATE_VOLATILE), 0);
    assert_int_equal(persist_remove(p, TPM_STATE_VOLATILE), 0);
    assert_int_equal(persist_load(p, TPM_STATE_VOLATILE, &b), -ENOENT);
    persist_close(p);
    /* Released: it opens again. */
    assert_int_equal(persist_open(dir, 0600, &q), 0);
    persist_close(q);
    tpm_buf_free(&b);
    assert_int_equal(persist_open("/nonexistent/dir", 0600, &q), -ENOENT);
}

static void test_load_damaged(void **state)
{
    (void)state;
    struct persist *p;
    struct tpm_buf b = {0};
    uint8_t junk[64] = "this is not a vtpmd state file at all";
    assert_int_equal(persist_open(dir, 0600, &p), 0);
    write_file("tpm2-00.permall", junk, sizeof(junk));
    assert_int_equal(persist_load(p, TPM_STATE_PERMANENT, &b), -EINVAL);
    write_file("tpm2-00.permall", junk, 0);
    assert_int_equal(persist_load(p, TPM_STATE_PERMANENT, &b), -EINVAL);
    /* Larger than any state: refused before it is read. */
    {
        char path[512];
        snprintf(path, sizeof(path), "%s/tpm2-00.permall", dir);
        assert_int_equal(truncate(path, (off_t)PERSIST_MAX_FILE + 1), 0);
    }
    assert_int_equal(persist_load(p, TPM_STATE_PERMANENT, &b), -EFBIG);
    /* A device refuses such a directory and leaves the file alone. */
    {
        struct dev d;
        write_file("tpm2-00.permall", junk, sizeof(junk));
        assert_int_equal(dev_open(&d, p, NULL), -EINVAL);
        uint8_t back[128];
        assert_int_equal(read_file("tpm2-00.permall", back, sizeof(back)), sizeof(junk));
        assert_memory_equal(back, junk, sizeof(junk));
    }
    persist_close(p);
    tpm_buf_free(&b);
}

/* The fault injector: fail the named point with EIO, count the points seen. */
struct faults {
    const char *fail_at;
    int seen;
};

static int inject(const char *point, void *ctx)
{
    struct faults *f = ctx;
    f->seen++;
    return f->fail_at && strcmp(point, f->fail_at) == 0 ? EIO : 0;
}

static const uint8_t startup_clear[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0};
static const uint8_t shutdown_clear[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x45, 0, 0};
/* PCR_Extend needs a session; a command that changes nothing: GetRandom(4). */
static const uint8_t get_random4[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 4};

static void test_commit_faults(void **state)
{
    (void)state;
    static const char *points[] = {"open", "write", "fsync", "rename", "dirsync"};
    struct persist *p;
    struct dev d;
    struct faults f = {NULL, 0};
    uint8_t rsp[256], before[8192], after[8192];
    size_t nb, na;

    assert_int_equal(persist_open(dir, 0640, &p), 0);
    persist_set_fault(p, inject, &f);
    assert_int_equal(dev_open(&d, p, NULL), 0);
    /* The first INIT makes the new TPM durable. */
    assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
    assert_true(f.seen >= 5);
    assert_int_equal(dev_execute(&d, startup_clear, 12, rsp, sizeof(rsp)), 10);
    assert_memory_equal(rsp + 6, "\0\0\0\0", 4);
    /* A command that changes nothing writes nothing. */
    f.seen = 0;
    assert_int_equal(dev_execute(&d, get_random4, 12, rsp, sizeof(rsp)), 16);
    assert_int_equal(f.seen, 0);

    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        /* Shutdown(CLEAR) changes the permanent state (the orderly flag). */
        nb = read_file("tpm2-00.permall", before, sizeof(before));
        assert_true(nb > PERSIST_OVERHEAD);
        f.fail_at = points[i];
        assert_int_equal(dev_execute(&d, shutdown_clear, 12, rsp, sizeof(rsp)), 10);
        /* TPM_RC_NV_UNAVAILABLE (Part 2 §6.6.3, RC_WARN + 0x023) */
        if (memcmp(rsp, "\x80\x01\x00\x00\x00\x0a\x00\x00\x09\x23", 10) != 0) {
            fail_msg("fault at %s: the command was not answered NV_UNAVAILABLE", points[i]);
        }
        na = read_file("tpm2-00.permall", after, sizeof(after));
        if (strcmp(points[i], "dirsync") != 0) {
            /* The old file is intact, byte for byte. */
            assert_int_equal(na, nb);
            assert_memory_equal(after, before, nb);
        } else {
            /* Renamed but not known durable: the file is old or new, and whole. */
            const uint8_t *pl;
            size_t pll;
            assert_int_equal(persist_decode(TPM_STATE_PERMANENT, after, na, &pl, &pll), 0);
        }
        assert_false(tpm_state_dirty(d.tpm));
        /* The device goes on: the same command succeeds without the fault. */
        f.fail_at = NULL;
        assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
        assert_int_equal(dev_execute(&d, startup_clear, 12, rsp, sizeof(rsp)), 10);
        assert_memory_equal(rsp + 6, "\0\0\0\0", 4);
    }
    /* With a failed first save, INIT fails and the device stays stopped. */
    dev_close(&d);
    persist_close(p);
    {
        char path[512];
        snprintf(path, sizeof(path), "%s/tpm2-00.permall", dir);
        assert_int_equal(unlink(path), 0);
    }
    assert_int_equal(persist_open(dir, 0640, &p), 0);
    persist_set_fault(p, inject, &f);
    assert_int_equal(dev_open(&d, p, NULL), 0);
    f.fail_at = "fsync";
    assert_int_equal(dev_init(&d, false), PTM_FAIL);
    assert_false(d.running);
    assert_int_equal(dev_execute(&d, startup_clear, 12, rsp, sizeof(rsp)), 10);
    assert_memory_equal(rsp + 6, "\x00\x00\x01\x01", 4);
    f.fail_at = NULL;
    assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
    dev_close(&d);
    persist_close(p);
}

static void test_state_survives_reopen(void **state)
{
    (void)state;
    struct persist *p;
    struct dev d;
    uint8_t rsp[256];
    /* ReadClock: reset_count moves with every Startup(CLEAR) after an unorderly stop. */
    static const uint8_t read_clock[] = {0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x81};
    uint8_t first[64];

    assert_int_equal(persist_open(dir, 0640, &p), 0);
    assert_int_equal(dev_open(&d, p, NULL), 0);
    assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
    assert_int_equal(dev_execute(&d, startup_clear, 12, rsp, sizeof(rsp)), 10);
    assert_int_equal(dev_execute(&d, read_clock, 10, first, sizeof(first)), 35);
    /* STORE_VOLATILE, then a new process: INIT resumes exactly there (no Startup needed). */
    assert_int_equal(dev_store_volatile(&d), PTM_SUCCESS);
    dev_close(&d);
    persist_close(p);

    assert_int_equal(persist_open(dir, 0640, &p), 0);
    assert_int_equal(dev_open(&d, p, NULL), 0);
    assert_int_equal(dev_init(&d, true), PTM_SUCCESS);
    assert_int_equal(dev_execute(&d, read_clock, 10, rsp, sizeof(rsp)), 35);
    assert_memory_equal(rsp, "\x80\x01\x00\x00\x00\x23\x00\x00\x00\x00", 10);
    /* resetCount and restartCount are the same TPM's. */
    assert_memory_equal(rsp + 26, first + 26, 8);
    /* DELETE_VOLATILE removed it: the next INIT needs Startup again. */
    assert_int_equal(read_file("tpm2-00.volatilestate", rsp, sizeof(rsp)), 0);
    assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
    assert_int_equal(dev_execute(&d, read_clock, 10, rsp, sizeof(rsp)), 10);
    assert_memory_equal(rsp + 6, "\x00\x00\x01\x00", 4);
    /* A damaged volatile state makes INIT fail (and is removed with DELETE_VOLATILE). */
    write_file("tpm2-00.volatilestate", (const uint8_t *)"garbage", 7);
    assert_int_equal(dev_init(&d, true), PTM_FAIL);
    assert_false(d.running);
    assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
    dev_close(&d);
    persist_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_roundtrip),
        cmocka_unit_test(test_format_negative),
        cmocka_unit_test_setup_teardown(test_save_load_lock, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_load_damaged, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_commit_faults, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_survives_reopen, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

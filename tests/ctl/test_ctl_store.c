/*
 * Unit tests of the vTPM file creation vtpmctl does (src/ctl/ctl_store.c, through
 * src/store) and of the manufactured state it holds (src/ctl/manufacture.c).
 */
#include <errno.h>
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

#include "ctl/ctl_store.h"
#include "ctl/manufacture.h"
#include "testdir.h"
#include "tmp_store_open.h"
#include "vtpm/tpm.h"

static const uint8_t key[32] = {0x10, 0x20, 0x30};
static const uint8_t vid[16] = {0xAA, 0xBB};
static const char vm[] = "i-0123abcd";

static void creates_sealed_file_bound_to_vm(void **state)
{
    (void)state;
    char dir[256], path[300], err[256];
    uint8_t blob[300], id[16], *back = NULL, other_key[32];
    size_t len = 0;
    struct stat st;
    for (size_t i = 0; i < sizeof(blob); i++) {
        blob[i] = (uint8_t)(i * 7);
    }
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/tpm2-00.permall", dir);
    assert_int_equal(ctl_store_create(path, key, vm, vid, blob, sizeof(blob), err, sizeof(err)),
                     0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(test_count_entries(dir), 1); /* no temporary file left */
    assert_int_equal(tmp_store_open(path, key, vm, id, &back, &len), 0);
    assert_int_equal(len, sizeof(blob));
    assert_memory_equal(back, blob, sizeof(blob));
    assert_memory_equal(id, vid, 16);
    free(back);
    /* Sealed: the plaintext does not appear in the file. */
    uint8_t raw[2048];
    size_t n = test_read_file(path, raw, sizeof(raw));
    assert_null(memmem(raw, n, blob + 16, 32));
    /* Bound to its VM and its key. */
    assert_int_equal(tmp_store_open(path, key, "i-0123abce", id, &back, &len), -EXDEV);
    memcpy(other_key, key, 32);
    other_key[31] ^= 1;
    assert_int_equal(tmp_store_open(path, other_key, vm, id, &back, &len), -EKEYREJECTED);
    test_rmtree(dir);
}

static void a_copied_file_fails_for_another_vm_and_when_changed(void **state)
{
    (void)state;
    char dir[256], path[300], copy[300], err[256];
    uint8_t blob[64] = {1}, raw[32768], id[16], *back = NULL;
    size_t len = 0, n;
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/f", dir);
    snprintf(copy, sizeof(copy), "%s/copy", dir);
    assert_int_equal(ctl_store_create(path, key, vm, vid, blob, sizeof(blob), err, sizeof(err)),
                     0);
    n = test_read_file(path, raw, sizeof(raw));
    /* The file copied to another VM's place does not open there. */
    test_write_file(copy, raw, n, 0600);
    assert_int_equal(tmp_store_open(copy, key, "i-0123abce", id, &back, &len), -EXDEV);
    /* A changed header byte is refused (the store's own tests flip every byte). */
    raw[20] ^= 0x01;
    test_write_file(copy, raw, n, 0600);
    assert_int_not_equal(tmp_store_open(copy, key, vm, id, &back, &len), 0);
    raw[20] ^= 0x01;
    /* Truncated anywhere in the header or the first record. */
    for (size_t m = 0; m < 4096 + 512 && m < n; m += 97) {
        test_write_file(copy, raw, m, 0600);
        assert_int_not_equal(tmp_store_open(copy, key, vm, id, &back, &len), 0);
    }
    /* The original still opens. */
    assert_int_equal(tmp_store_open(path, key, vm, id, &back, &len), 0);
    free(back);
    test_rmtree(dir);
}

static void never_replaces_an_existing_file(void **state)
{
    (void)state;
    char dir[256], path[300], err[256];
    uint8_t blob[16] = {9}, before[64], after[64];
    size_t n1, n2;
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/f", dir);
    test_write_file(path, "precious", 8, 0600);
    n1 = test_read_file(path, before, sizeof(before));
    assert_int_equal(ctl_store_create(path, key, vm, vid, blob, sizeof(blob), err, sizeof(err)),
                     -EEXIST);
    assert_non_null(strstr(err, "already exists"));
    n2 = test_read_file(path, after, sizeof(after));
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    assert_int_equal(test_count_entries(dir), 1);
    test_rmtree(dir);
}

static void refuses_bad_arguments_leaving_nothing(void **state)
{
    (void)state;
    char dir[256], path[300], err[256];
    uint8_t blob[16] = {0};
    uint8_t *big = calloc(1, 1024 * 1024 + 1);
    char long_vm[300];
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/f", dir);
    memset(long_vm, 'a', 256);
    long_vm[256] = '\0';
    assert_int_equal(ctl_store_create(path, key, "", vid, blob, 16, err, sizeof(err)), -EINVAL);
    assert_int_equal(ctl_store_create(path, key, long_vm, vid, blob, 16, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(ctl_store_create(path, key, vm, vid, big, 1024 * 1024 + 1, err,
                                      sizeof(err)), -EFBIG);
    snprintf(path, sizeof(path), "%s/no-such-dir/f", dir);
    assert_int_equal(ctl_store_create(path, key, vm, vid, blob, 16, err, sizeof(err)), -ENOENT);
    assert_int_equal(test_count_entries(dir), 0);
    free(big);
    test_rmtree(dir);
}

static void manufactured_states_are_fresh_and_load(void **state)
{
    (void)state;
    struct tpm_buf a = {0}, b = {0};
    struct ctl_err e = {0};
    struct tpm *t;
    assert_int_equal(ctl_manufacture(&a, &e), 0);
    assert_int_equal(ctl_manufacture(&b, &e), 0);
    assert_true(a.len > 64);
    /* Fresh seeds: two new chips never have the same state. */
    assert_true(a.len != b.len || memcmp(a.data, b.data, a.len) != 0);
    t = tpm_new(NULL, NULL);
    assert_non_null(t);
    assert_int_equal(tpm_state_load(t, TPM_STATE_PERMANENT, a.data, a.len), 0);
    assert_int_equal(tpm_state_load(t, TPM_STATE_PERMANENT, b.data, b.len), 0);
    tpm_free(t);
    tpm_buf_free(&a);
    tpm_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(creates_sealed_file_bound_to_vm),
        cmocka_unit_test(a_copied_file_fails_for_another_vm_and_when_changed),
        cmocka_unit_test(never_replaces_an_existing_file),
        cmocka_unit_test(refuses_bad_arguments_leaving_nothing),
        cmocka_unit_test(manufactured_states_are_fresh_and_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

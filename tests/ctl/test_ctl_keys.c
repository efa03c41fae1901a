/* Unit tests of vtpmctl's host KEK file and key wrapping (src/ctl/keys.c). */
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

#include "ctl/keys.h"
#include "testdir.h"

static const char vm[] = "i-0123abcd";
static const uint8_t vtpm_id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void kek_is_made_once_0600_32_bytes(void **state)
{
    (void)state;
    char dir[256], path[300];
    struct ctl_kek a, b;
    struct ctl_err e = {0};
    struct stat st;
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/kek", dir);
    assert_int_equal(kek_load(path, true, &a, &e), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(strlen(a.id), CTL_KEK_ID_HEX);
    /* Loading again gives the same key, not a new one. */
    assert_int_equal(kek_load(path, true, &b, &e), 0);
    assert_memory_equal(a.key, b.key, 32);
    assert_string_equal(a.id, b.id);
    /* No temporary file is left next to it. */
    assert_int_equal(test_count_entries(dir), 1);
    test_rmtree(dir);
}

static void kek_missing_without_create_is_refused(void **state)
{
    (void)state;
    char dir[256], path[300];
    struct ctl_kek k;
    struct ctl_err e = {0};
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/kek", dir);
    assert_int_equal(kek_load(path, false, &k, &e), -1);
    assert_int_equal(e.kind, CTL_E_KEY);
    assert_int_equal(access(path, F_OK), -1);
    test_rmtree(dir);
}

static void kek_with_bad_mode_size_or_link_is_refused(void **state)
{
    (void)state;
    char dir[256], path[300], link[300];
    struct ctl_kek k;
    struct ctl_err e = {0};
    uint8_t bytes[33] = {0};
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/kek", dir);
    snprintf(link, sizeof(link), "%s/kek-link", dir);

    test_write_file(path, bytes, 32, 0644);
    assert_int_equal(kek_load(path, true, &k, &e), -1);
    assert_int_equal(e.kind, CTL_E_KEY);
    assert_non_null(strstr(e.details, "0644"));

    ctl_err_clear(&e);
    test_write_file(path, bytes, 31, 0600);
    assert_int_equal(kek_load(path, true, &k, &e), -1);
    assert_non_null(strstr(e.details, "31 bytes"));

    ctl_err_clear(&e);
    test_write_file(path, bytes, 33, 0600);
    assert_int_equal(kek_load(path, true, &k, &e), -1);

    ctl_err_clear(&e);
    test_write_file(path, bytes, 32, 0600);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(kek_load(link, true, &k, &e), -1);
    assert_non_null(strstr(e.details, "symbolic link"));

    ctl_err_clear(&e);
    unlink(path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(kek_load(path, true, &k, &e), -1);
    assert_non_null(strstr(e.details, "not a regular file"));
    test_rmtree(dir);
}

static void test_kek(struct ctl_kek *k, uint8_t fill)
{
    memset(k, 0, sizeof(*k));
    memset(k->key, fill, sizeof(k->key));
    assert_int_equal(kek_id(k->key, k->id), 0);
}

static void wrap_unwrap_round_trip(void **state)
{
    (void)state;
    struct ctl_kek k;
    struct ctl_err e = {0};
    uint8_t key[32], w1[CTL_WRAPPED_LEN], w2[CTL_WRAPPED_LEN], out[32];
    test_kek(&k, 0x11);
    memset(key, 0xA5, sizeof(key));
    assert_int_equal(key_wrap(&k, vm, vtpm_id, key, w1, &e), 0);
    assert_int_equal(key_wrap(&k, vm, vtpm_id, key, w2, &e), 0);
    assert_int_equal(w1[0], 1);
    /* Fresh nonce each time: the same key never wraps to the same bytes. */
    assert_memory_not_equal(w1, w2, sizeof(w1));
    /* The key does not appear in the wrapped bytes. */
    assert_null(memmem(w1, sizeof(w1), key, 8));
    assert_int_equal(key_unwrap(&k, vm, vtpm_id, w1, sizeof(w1), out, &e), 0);
    assert_memory_equal(out, key, 32);
}

static void unwrap_refuses_other_vm_vtpm_kek(void **state)
{
    (void)state;
    struct ctl_kek k, other;
    struct ctl_err e = {0};
    uint8_t key[32], w[CTL_WRAPPED_LEN], out[32], id2[16];
    test_kek(&k, 0x11);
    test_kek(&other, 0x22);
    memset(key, 0x5A, sizeof(key));
    memcpy(id2, vtpm_id, 16);
    id2[15] ^= 1;
    assert_int_equal(key_wrap(&k, vm, vtpm_id, key, w, &e), 0);

    memset(out, 0x77, sizeof(out));
    assert_int_equal(key_unwrap(&k, "i-0123abce", vtpm_id, w, sizeof(w), out, &e), -1);
    assert_int_equal(e.kind, CTL_E_KEY);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(out[i], 0); /* wiped on failure */
    }
    ctl_err_clear(&e);
    assert_int_equal(key_unwrap(&k, vm, id2, w, sizeof(w), out, &e), -1);
    ctl_err_clear(&e);
    assert_int_equal(key_unwrap(&other, vm, vtpm_id, w, sizeof(w), out, &e), -1);
    assert_non_null(strstr(e.details, "does not authenticate"));
}

static void unwrap_refuses_every_changed_byte_and_bad_lengths(void **state)
{
    (void)state;
    struct ctl_kek k;
    struct ctl_err e = {0};
    uint8_t key[32], w[CTL_WRAPPED_LEN], big[CTL_WRAPPED_LEN + 1], out[32];
    test_kek(&k, 0x33);
    memset(key, 0x42, sizeof(key));
    assert_int_equal(key_wrap(&k, vm, vtpm_id, key, w, &e), 0);
    for (size_t i = 0; i < sizeof(w); i++) {
        w[i] ^= 0x01;
        ctl_err_clear(&e);
        assert_int_equal(key_unwrap(&k, vm, vtpm_id, w, sizeof(w), out, &e), -1);
        w[i] ^= 0x01;
    }
    /* Truncated at every length, and one byte too long. */
    for (size_t n = 0; n < sizeof(w); n++) {
        ctl_err_clear(&e);
        assert_int_equal(key_unwrap(&k, vm, vtpm_id, w, n, out, &e), -1);
        assert_non_null(strstr(e.details, "malformed"));
    }
    memcpy(big, w, sizeof(w));
    big[sizeof(w)] = 0;
    ctl_err_clear(&e);
    assert_int_equal(key_unwrap(&k, vm, vtpm_id, big, sizeof(big), out, &e), -1);
    /* Version 2 is not read. */
    w[0] = 2;
    ctl_err_clear(&e);
    assert_int_equal(key_unwrap(&k, vm, vtpm_id, w, sizeof(w), out, &e), -1);
    assert_non_null(strstr(e.details, "malformed"));
}

static void kek_ids_differ_per_key(void **state)
{
    (void)state;
    struct ctl_kek a, b;
    test_kek(&a, 1);
    test_kek(&b, 2);
    assert_string_not_equal(a.id, b.id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kek_is_made_once_0600_32_bytes),
        cmocka_unit_test(kek_missing_without_create_is_refused),
        cmocka_unit_test(kek_with_bad_mode_size_or_link_is_refused),
        cmocka_unit_test(wrap_unwrap_round_trip),
        cmocka_unit_test(unwrap_refuses_other_vm_vtpm_kek),
        cmocka_unit_test(unwrap_refuses_every_changed_byte_and_bad_lengths),
        cmocka_unit_test(kek_ids_differ_per_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

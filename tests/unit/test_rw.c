/* Unit tests of the bounded reader and writer (src/common/rw.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sys/mman.h>

#include "common/rw.h"
#include "common/secret.h"

static void reads_big_endian(void **state)
{
    (void)state;
    const uint8_t b[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    struct rd r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    rd_init(&r, b, sizeof(b));
    assert_true(rd_u8(&r, &u8));
    assert_int_equal(u8, 1);
    assert_true(rd_u16(&r, &u16));
    assert_int_equal(u16, 0x0203);
    assert_true(rd_u32(&r, &u32));
    assert_int_equal(u32, 0x04050607);
    assert_true(rd_u64(&r, &u64));
    assert_true(u64 == 0x08090A0B0C0D0E0Full);
    assert_true(rd_done(&r));
}

static void failed_read_keeps_cursor_and_sticks(void **state)
{
    (void)state;
    const uint8_t b[] = {0xAA, 0xBB, 0xCC};
    struct rd r;
    uint32_t u32;
    uint8_t u8;
    rd_init(&r, b, sizeof(b));
    assert_true(rd_u8(&r, &u8));
    assert_false(rd_u32(&r, &u32)); /* 2 bytes left: refused */
    assert_int_equal(r.off, 1);       /* cursor did not move */
    assert_true(r.err);
    assert_false(rd_u8(&r, &u8)); /* sticky: even a fitting read now fails */
    assert_int_equal(rd_left(&r), 0);
    assert_false(rd_done(&r));
}

static void sub_reader_is_bounded(void **state)
{
    (void)state;
    const uint8_t b[] = {1, 2, 3, 4, 5, 6};
    struct rd r, sub;
    uint16_t v;
    rd_init(&r, b, sizeof(b));
    assert_true(rd_sub(&r, 3, &sub));
    assert_int_equal(r.off, 3);
    assert_true(rd_u16(&sub, &v));
    assert_false(rd_u16(&sub, &v)); /* only one byte left inside the child */
    assert_true(rd_u16(&r, &v));     /* the parent is unaffected */
    assert_int_equal(v, 0x0405);
    assert_false(rd_sub(&r, 2, &sub)); /* one byte left */
    assert_int_equal(r.off, 5);
}

static void huge_lengths_do_not_wrap(void **state)
{
    (void)state;
    const uint8_t b[4] = {0};
    struct rd r;
    uint8_t out[4];
    rd_init(&r, b, sizeof(b));
    assert_true(rd_skip(&r, 2));
    assert_false(rd_bytes(&r, out, SIZE_MAX - 1));
    assert_false(rd_skip(&r, SIZE_MAX));
}

static void writer_refuses_overflow(void **state)
{
    (void)state;
    uint8_t b[6];
    struct wr w;
    wr_init(&w, b, sizeof(b));
    wr_u32(&w, 0x01020304);
    wr_u32(&w, 0x05060708); /* does not fit: nothing written */
    assert_true(w.err);
    assert_int_equal(w.off, 4);
    assert_memory_equal(b, "\x01\x02\x03\x04", 4);
}

static void writer_sizes(void **state)
{
    (void)state;
    uint8_t b[32];
    struct wr w;
    wr_init(&w, b, sizeof(b));
    size_t m = wr_size16_begin(&w);
    wr_u8(&w, 0xAB);
    wr_u16(&w, 0xCDEF);
    wr_size16_end(&w, m);
    size_t m32 = wr_size32_begin(&w);
    wr_u64(&w, 1);
    wr_size32_end(&w, m32);
    assert_false(w.err);
    assert_memory_equal(b, "\x00\x03\xAB\xCD\xEF\x00\x00\x00\x08", 9);
}

static void secret_compare(void **state)
{
    (void)state;
    assert_true(secret_eq("abcd", "abcd", 4));
    assert_false(secret_eq("abcd", "abce", 4));
    assert_true(secret_eq("x", "y", 0));
    char buf[8] = "secret!";
    secret_wipe(buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++) {
        assert_int_equal(buf[i], 0);
    }
}

/*
 * The sparse wipe and copy give the results of secret_wipe and memcpy and never write a page
 * that holds and would receive only zeros: such pages are made read-only here, so a write to
 * one would end the test with SIGSEGV.
 */
static void sparse_wipe_and_copy_skip_zero_pages(void **state)
{
    (void)state;
    const size_t pg = 4096;
    uint8_t *a = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *b = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(a != MAP_FAILED && b != MAP_FAILED);
    /* a: secrets in the middle page, across an unaligned start and end */
    memset(a + pg + 100, 0x5a, 200);
    assert_int_equal(mprotect(a, pg, PROT_READ), 0);
    assert_int_equal(mprotect(a + 2 * pg, pg, PROT_READ), 0);
    secret_wipe_sparse(a + 10, 3 * pg - 20);
    for (size_t i = 0; i < 3 * pg; i++) {
        assert_int_equal(a[i], 0);
    }
    /* copy into b: page 0 zero in both (read-only), page 1 data, page 2 old data to clear */
    assert_int_equal(mprotect(a + 2 * pg, pg, PROT_READ | PROT_WRITE), 0);
    assert_int_equal(mprotect(a + pg, pg, PROT_READ | PROT_WRITE), 0);
    memset(a + pg, 0x11, pg);
    memset(b + 2 * pg + 7, 0x22, 3);
    assert_int_equal(mprotect(b, pg, PROT_READ), 0);
    copy_sparse(b, a, 3 * pg);
    assert_memory_equal(b, a, 3 * pg);
    munmap(a, 3 * pg);
    munmap(b, 3 * pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_big_endian),
        cmocka_unit_test(failed_read_keeps_cursor_and_sticks),
        cmocka_unit_test(sub_reader_is_bounded),
        cmocka_unit_test(huge_lengths_do_not_wrap),
        cmocka_unit_test(writer_refuses_overflow),
        cmocka_unit_test(writer_sizes),
        cmocka_unit_test(secret_compare),
        cmocka_unit_test(sparse_wipe_and_copy_skip_zero_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the vTPM file (src/store): round trips, generations and fallback, refusals of
 * damaged or foreign files (each with its own code and the file left unchanged), slot growth,
 * the volatile state, key parsing, fault injection at every named point (as an error and as
 * a crash), a full disk on a tiny tmpfs, and a loop of kill -9 during commits.
 */
#include "store/format.h"
#include "store/seal.h"
#include "store/store.h"
#include "store/store_fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define VM "vm-0d1c9a5e"
#define OTHER_VM "vm-77aa0b31"

struct fx {
    char dir[64];
    char path[128];
    uint8_t key[STORE_KEY_LEN];
    uint8_t vtpm_id[STORE_ID_LEN];
};

/* ---- helpers ---------------------------------------------------------------------------- */

static int rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    if (!d) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
    return rmdir(dir);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    }
    closedir(d);
    return n;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *p = malloc((size_t)st.st_size + 1);
    assert_non_null(p);
    assert_int_equal(pread(fd, p, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return p;
}

static void spit(const char *path, const uint8_t *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    close(fd);
}

/* The blob of generation gen: its number, then a pattern that depends on it. */
static uint8_t *blob_for(uint64_t gen, size_t len)
{
    uint8_t *b = malloc(len > 0 ? len : 1);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++) {
        b[i] = (uint8_t)(gen * 31 + i * 7);
    }
    for (size_t i = 0; i < 8 && i < len; i++) {
        b[i] = (uint8_t)(gen >> (56 - 8 * i));
    }
    return b;
}

static bool blob_is(const struct store_blob *b, uint64_t gen, size_t len)
{
    uint8_t *want = blob_for(gen, len);
    bool ok = b->len == len && (len == 0 || memcmp(b->data, want, len) == 0);
    free(want);
    return ok;
}

static uint64_t blob_gen(const struct store_blob *b)
{
    uint64_t g = 0;
    for (size_t i = 0; i < 8 && i < b->len; i++) {
        g = (g << 8) | b->data[i];
    }
    return g;
}

static void create_gen1(struct fx *f, size_t len)
{
    char err[STORE_ERR_LEN];
    uint8_t *b = blob_for(1, len);
    assert_int_equal(store_create(f->path, f->key, VM, f->vtpm_id, b, len, err, sizeof(err)), 0);
    free(b);
}

static struct store *open_ok(struct fx *f)
{
    char err[STORE_ERR_LEN] = "";
    struct store *s = NULL;
    int rc = store_open(f->path, f->key, VM, &s, err, sizeof(err));
    if (rc != 0) {
        fail_msg("open failed (%d): %s", rc, err);
    }
    return s;
}

static void commit_gen(struct store *s, uint64_t gen, size_t len)
{
    uint8_t *b = blob_for(gen, len);
    int rc = store_commit(s, b, len);
    if (rc != 0) {
        fail_msg("commit of generation %" PRIu64 " failed (%d): %s", gen, rc, store_message(s));
    }
    assert_int_equal(store_generation(s), gen);
    free(b);
}

/* Open, read, and check that the file holds generation gen of length len. */
static void expect_state(struct fx *f, uint64_t gen, size_t len, bool fell_back)
{
    struct store *s = open_ok(f);
    struct store_blob b;
    assert_int_equal(store_read(s, &b), 0);
    assert_int_equal(b.generation, gen);
    assert_true(blob_is(&b, gen, len));
    assert_int_equal(b.fell_back, fell_back);
    if (fell_back) {
        assert_non_null(strstr(store_message(s), "did not verify"));
    }
    store_blob_free(&b);
    store_close(s);
}

/* Open with the given parameters and return the code; the message goes to err. */
static int try_open(struct fx *f, const uint8_t *key, const char *vm, char *err)
{
    struct store *s = NULL;
    err[0] = '\0';
    int rc = store_open(f->path, key, vm, &s, err, STORE_ERR_LEN);
    if (rc == 0) {
        assert_non_null(s);
        store_close(s);
    } else {
        assert_null(s);
        assert_true(strlen(err) > 0);
        assert_null(strchr(err, '\n'));
    }
    return rc;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vtpm-store-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/tpm.vtpm", f->dir);
    for (int i = 0; i < STORE_KEY_LEN; i++) {
        f->key[i] = (uint8_t)(0xa0 + i);
    }
    for (int i = 0; i < STORE_ID_LEN; i++) {
        f->vtpm_id[i] = (uint8_t)(0x10 + i);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_fault_set(NULL, NULL);
    rm_dir(f->dir);
    free(f);
    return 0;
}

/* ---- round trips ------------------------------------------------------------------------ */

static void test_roundtrip(void **state)
{
    struct fx *f = *state;
    struct store_blob b;
    struct stat st;
    uint8_t id[STORE_ID_LEN];

    create_gen1(f, 1424);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(count_entries(f->dir), 1);

    struct store *s = open_ok(f);
    assert_int_equal(store_generation(s), 1);
    store_vtpm_id(s, id);
    assert_memory_equal(id, f->vtpm_id, STORE_ID_LEN);
    assert_int_equal(store_read(s, &b), 0);
    assert_int_equal(b.generation, 1);
    assert_false(b.fell_back);
    assert_true(blob_is(&b, 1, 1424));
    store_blob_free(&b);
    assert_null(b.data);

    for (uint64_t g = 2; g <= 20; g++) {
        commit_gen(s, g, 1000 + (size_t)g * 13);
        assert_int_equal(store_read(s, &b), 0);
        assert_int_equal(b.generation, g);
        assert_true(blob_is(&b, g, 1000 + (size_t)g * 13));
        store_blob_free(&b);
    }
    /* An in-place commit keeps the size of the file. */
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, 3 * 4096);
    store_close(s);
    expect_state(f, 20, 1000 + 20 * 13, false);

    /* Reopen and go on. */
    s = open_ok(f);
    commit_gen(s, 21, 0);
    store_close(s);
    expect_state(f, 21, 0, false);
}

static void test_create_refusals(void **state)
{
    struct fx *f = *state;
    char err[STORE_ERR_LEN];
    uint8_t b[8] = {0};
    size_t len1, len2;

    create_gen1(f, 100);
    uint8_t *before = slurp(f->path, &len1);
    assert_int_equal(store_create(f->path, f->key, VM, f->vtpm_id, b, 8, err, sizeof(err)),
                     -EEXIST);
    assert_non_null(strstr(err, "already exists"));
    uint8_t *after = slurp(f->path, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(before, after, len1);
    free(before);
    free(after);

    char p2[160];
    snprintf(p2, sizeof(p2), "%s/b.vtpm", f->dir);
    assert_int_equal(store_create(p2, f->key, "", f->vtpm_id, b, 8, err, sizeof(err)), -EINVAL);
    assert_int_equal(store_create(p2, f->key, "vm\n1", f->vtpm_id, b, 8, err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(
        store_create(p2, f->key, VM, f->vtpm_id, b, STORE_MAX_BLOB + 1, err, sizeof(err)), -EFBIG);
    snprintf(p2, sizeof(p2), "%s/nodir/b.vtpm", f->dir);
    assert_int_equal(store_create(p2, f->key, VM, f->vtpm_id, b, 8, err, sizeof(err)), -ENOENT);
    assert_int_equal(count_entries(f->dir), 1);
}

static void test_growth(void **state)
{
    struct fx *f = *state;
    struct stat st1, st2;

    create_gen1(f, 1424);
    struct store *s = open_ok(f);
    commit_gen(s, 2, 1424);
    assert_int_equal(stat(f->path, &st1), 0);
    commit_gen(s, 3, 6144); /* outgrows the 4 KiB slot: the file is rewritten */
    assert_int_equal(stat(f->path, &st2), 0);
    assert_true(st2.st_ino != st1.st_ino);
    assert_int_equal(st2.st_size, 4096 + 2 * 8192);
    assert_int_equal(st2.st_mode & 07777, 0600);
    commit_gen(s, 4, 7000); /* fits: in place */
    commit_gen(s, 5, 100 * 1024);
    commit_gen(s, 6, 100 * 1024 - 1);
    commit_gen(s, 7, 10);
    assert_int_equal(count_entries(f->dir), 1);
    store_close(s);
    expect_state(f, 7, 10, false);

    /* The rewrite kept the previous generation in the other slot. */
    s = open_ok(f);
    commit_gen(s, 8, 300 * 1024);
    store_close(s);
    size_t len;
    uint8_t *img = slurp(f->path, &len);
    struct fmt_header h;
    memset(&h, 0, sizeof(h));
    h.slot_size[FMT_PERM] = fmt_slot_size_for(300 * 1024);
    assert_int_equal(len, fmt_file_size(&h));
    /* Spoil slot A (generation 8): the open falls back to generation 7 in slot B. */
    img[fmt_slot_offset(&h, FMT_PERM, 0) + 100] ^= 1;
    spit(f->path, img, len);
    free(img);
    expect_state(f, 7, 10, true);
}

static void test_max_blob(void **state)
{
    struct fx *f = *state;
    create_gen1(f, 16);
    struct store *s = open_ok(f);
    commit_gen(s, 2, STORE_MAX_BLOB);
    uint8_t *b = blob_for(3, STORE_MAX_BLOB + 1);
    assert_int_equal(store_commit(s, b, STORE_MAX_BLOB + 1), -EFBIG);
    assert_non_null(strstr(store_message(s), "limit"));
    free(b);
    assert_int_equal(store_generation(s), 2);
    store_close(s);
    expect_state(f, 2, STORE_MAX_BLOB, false);
}

/* ---- key parsing ------------------------------------------------------------------------ */

static void test_key_parse(void **state)
{
    (void)state;
    uint8_t key[STORE_KEY_LEN], want[STORE_KEY_LEN];
    uint8_t in[80];
    const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";

    for (int i = 0; i < STORE_KEY_LEN; i++) {
        want[i] = (uint8_t)i;
    }
    /* Raw bytes. */
    memcpy(in, want, 32);
    assert_int_equal(store_key_parse(in, 32, key), 0);
    assert_memory_equal(key, want, 32);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(in[i], 0); /* wiped */
    }
    /* Hex, mixed case, with and without a newline. */
    memcpy(in, hex, 64);
    assert_int_equal(store_key_parse(in, 64, key), 0);
    assert_memory_equal(key, want, 32);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(in[i], 0);
    }
    memcpy(in, hex, 64);
    in[64] = '\n';
    memset(key, 0x55, sizeof(key));
    assert_int_equal(store_key_parse(in, 65, key), 0);
    assert_memory_equal(key, want, 32);
    for (int i = 0; i < 65; i++) {
        assert_int_equal(in[i], 0); /* the newline too */
    }
    /* Refusals: every non-digit, wrong lengths, other line ends. The key is wiped. */
    const char bad[] = "gG/:@`~ \r\n\0";
    for (size_t j = 0; j < sizeof(bad) - 1; j++) {
        for (int pos = 0; pos < 64; pos += 21) {
            memcpy(in, hex, 64);
            in[pos] = (uint8_t)bad[j];
            memset(key, 0x55, sizeof(key));
            assert_int_equal(store_key_parse(in, 64, key), -EINVAL);
            for (int i = 0; i < 32; i++) {
                assert_int_equal(key[i], 0);
                assert_int_equal(in[2 * i], 0);
            }
        }
    }
    size_t lens[] = {0, 1, 31, 33, 63, 66, 65};
    for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
        memcpy(in, hex, 64);
        in[64] = '\r';
        in[65] = '\n';
        assert_int_equal(store_key_parse(in, lens[j], key), -EINVAL);
    }
    /* Key ids: stable, and different for different keys. */
    uint8_t id1[16], id2[16], id3[16];
    assert_int_equal(store_key_id(want, id1), 0);
    assert_int_equal(store_key_id(want, id2), 0);
    want[0] ^= 1;
    assert_int_equal(store_key_id(want, id3), 0);
    assert_memory_equal(id1, id2, 16);
    assert_memory_not_equal(id1, id3, 16);
}

/* ---- refusals --------------------------------------------------------------------------- */

/* A file with generations 1..3 in a 4 KiB slot pair: slot A holds 3, slot B holds 2. */
static void make_three(struct fx *f)
{
    create_gen1(f, 1424);
    struct store *s = open_ok(f);
    commit_gen(s, 2, 1424);
    commit_gen(s, 3, 1424);
    store_close(s);
}

static void test_refusals(void **state)
{
    struct fx *f = *state;
    char err[STORE_ERR_LEN];
    uint8_t key2[STORE_KEY_LEN];
    size_t len, len2;

    make_three(f);
    uint8_t *orig = slurp(f->path, &len);

    memcpy(key2, f->key, sizeof(key2));
    key2[31] ^= 0x80;
    assert_int_equal(try_open(f, key2, VM, err), STORE_E_WRONG_KEY);
    assert_non_null(strstr(err, "different data key"));
    assert_non_null(strstr(err, f->path));

    assert_int_equal(try_open(f, f->key, OTHER_VM, err), STORE_E_OTHER_VM);
    assert_non_null(strstr(err, "another VM"));

    /* Copied to another place: the same VM may open the copy, another may not. */
    char copy[160];
    snprintf(copy, sizeof(copy), "%s/copy.vtpm", f->dir);
    spit(copy, orig, len);
    struct store *s = NULL;
    assert_int_equal(store_open(copy, f->key, OTHER_VM, &s, err, sizeof(err)), STORE_E_OTHER_VM);
    assert_int_equal(store_open(copy, f->key, VM, &s, err, sizeof(err)), 0);
    store_close(s);
    unlink(copy);

    /* Unknown versions. */
    uint8_t *img = slurp(f->path, &len2);
    img[8] = 0;
    img[9] = 2;
    spit(f->path, img, len);
    assert_int_equal(try_open(f, f->key, VM, err), STORE_E_VERSION);
    assert_non_null(strstr(err, "unknown format version 2"));
    img[9] = 0;
    spit(f->path, img, len);
    assert_int_equal(try_open(f, f->key, VM, err), STORE_E_VERSION);
    free(img);

    /* Not vTPM files. */
    spit(f->path, (const uint8_t *)"hello, world\n", 13);
    assert_int_equal(try_open(f, f->key, VM, err), STORE_E_NOT_VTPM);
    assert_non_null(strstr(err, "not a vTPM file"));
    uint8_t junk[20000];
    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)(i * 131 + 7);
    }
    spit(f->path, junk, sizeof(junk));
    assert_int_equal(try_open(f, f->key, VM, err), STORE_E_NOT_VTPM);

    /* Truncations, at every interesting length. */
    size_t cuts[] = {0,   1,    4,    7,    8,    9,    10,   100,        127,
                     128, 4095, 4096, 4097, 8191, 8192, 8193, len - 4096, len - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        spit(f->path, orig, cuts[i]);
        assert_int_equal(try_open(f, f->key, VM, err), STORE_E_TRUNCATED);
        assert_non_null(strstr(err, cuts[i] == 0 ? "empty" : "truncated"));
        uint8_t *now = slurp(f->path, &len2);
        assert_int_equal(len2, cuts[i]);
        assert_memory_equal(now, orig, len2);
        free(now);
    }
    /* Trailing bytes. */
    img = malloc(len + 1);
    memcpy(img, orig, len);
    img[len] = 0;
    spit(f->path, img, len + 1);
    assert_int_equal(try_open(f, f->key, VM, err), STORE_E_CORRUPT);
    assert_non_null(strstr(err, "unexpected bytes"));
    free(img);

    /* Not a regular file, a symbolic link, a missing file. */
    unlink(f->path);
    assert_int_equal(try_open(f, f->key, VM, err), -ENOENT);
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(try_open(f, f->key, VM, err), -EISDIR);
    rmdir(f->path);
    assert_int_equal(mkfifo(f->path, 0600), 0);
    assert_int_equal(try_open(f, f->key, VM, err), -EINVAL);
    assert_non_null(strstr(err, "not a regular file"));
    unlink(f->path);
    spit(copy, orig, len);
    assert_int_equal(symlink(copy, f->path), 0);
    assert_int_equal(try_open(f, f->key, VM, err), -ELOOP);
    assert_non_null(strstr(err, "symbolic link"));
    unlink(f->path);
    unlink(copy);
    free(orig);
}

/*
 * Flip each byte of the file in turn. A byte of the header page makes the open fail with the
 * code of its region; a byte of one slot leaves the other slot's generation readable, with
 * fell_back set. The open never changes the file.
 */
static void test_flip_every_byte(void **state)
{
    struct fx *f = *state;
    char err[STORE_ERR_LEN];
    size_t len, len2;
    int codes[8] = {0};

    make_three(f);
    uint8_t *orig = slurp(f->path, &len);
    assert_int_equal(len, 3 * 4096);
    for (size_t off = 0; off < len; off++) {
        orig[off] ^= (uint8_t)(1u << (off % 8));
        spit(f->path, orig, len);
        struct store *s = NULL;
        int rc = store_open(f->path, f->key, VM, &s, err, sizeof(err));
        if (off < 8) {
            assert_int_equal(rc, STORE_E_NOT_VTPM);
            codes[0]++;
        } else if (off < 10) {
            assert_int_equal(rc, STORE_E_VERSION);
            codes[1]++;
        } else if (off < 4096) {
            if (rc != STORE_E_CORRUPT) {
                fail_msg("byte %zu: %d %s", off, rc, err);
            }
            if (off >= 32 && off < 48) {
                assert_non_null(strstr(err, "key id"));
            } else if (off >= 128) {
                assert_non_null(strstr(err, "padding"));
            }
            codes[2]++;
        } else {
            /* Slot A holds generation 3, slot B generation 2. */
            if (rc != 0) {
                fail_msg("byte %zu: %d %s", off, rc, err);
            }
            struct store_blob b;
            assert_int_equal(store_read(s, &b), 0);
            assert_true(b.fell_back);
            uint64_t want = off < 8192 ? 2 : 3;
            assert_int_equal(b.generation, want);
            assert_true(blob_is(&b, want, 1424));
            assert_non_null(strstr(store_message(s), off < 8192 ? "slot A" : "slot B"));
            store_blob_free(&b);
            store_close(s);
            codes[3]++;
        }
        uint8_t *now = slurp(f->path, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(now, orig, len);
        free(now);
        orig[off] ^= (uint8_t)(1u << (off % 8));
    }
    assert_int_equal(codes[0], 8);
    assert_int_equal(codes[1], 2);
    assert_int_equal(codes[2], 4096 - 10);
    assert_int_equal(codes[3], 2 * 4096);

    /* Both slots damaged: refused. */
    orig[4096 + 60] ^= 1;
    orig[8192 + 60] ^= 1;
    spit(f->path, orig, len);
    assert_int_equal(try_open(f, f->key, VM, err), STORE_E_CORRUPT);
    assert_non_null(strstr(err, "neither copy of the permanent state"));
    /* Slots swapped: each is bound to its place. */
    orig[4096 + 60] ^= 1;
    orig[8192 + 60] ^= 1;
    uint8_t tmp[4096];
    memcpy(tmp, orig + 4096, 4096);
    memcpy(orig + 4096, orig + 8192, 4096);
    memcpy(orig + 8192, tmp, 4096);
    spit(f->path, orig, len);
    assert_int_equal(try_open(f, f->key, VM, err), STORE_E_CORRUPT);
    assert_non_null(strstr(err, "belongs elsewhere"));
    free(orig);
}

/* A slot torn at every sector boundary: the open finds the new state only if it is whole. */
static void test_torn_sectors(void **state)
{
    struct fx *f = *state;
    size_t len0, len1;

    make_three(f); /* A: 3, B: 2; the next commit (4) goes to slot B */
    uint8_t *before = slurp(f->path, &len0);
    struct store *s = open_ok(f);
    commit_gen(s, 4, 1424);
    store_close(s);
    uint8_t *after = slurp(f->path, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before, after, 8192); /* only slot B changed */
    for (size_t cut = 0; cut <= 4096; cut += 512) {
        uint8_t *mix = malloc(len0);
        memcpy(mix, before, len0);
        memcpy(mix + 8192, after + 8192, cut);
        spit(f->path, mix, len0);
        if (cut == 0) {
            expect_state(f, 3, 1424, false); /* nothing written: slot B still holds 2 */
        } else if (cut < FMT_REC_OVERHEAD + 1424) {
            expect_state(f, 3, 1424, true);
        } else {
            expect_state(f, 4, 1424, false); /* the record is whole (the rest was zero) */
        }
        /* The store then commits into the torn slot and all is well again. */
        s = open_ok(f);
        uint64_t g = store_generation(s);
        commit_gen(s, g + 1, 1424);
        commit_gen(s, g + 2, 1424);
        store_close(s);
        expect_state(f, g + 2, 1424, false);
        free(mix);
    }
    free(before);
    free(after);
}

static void test_busy(void **state)
{
    struct fx *f = *state;
    char err[STORE_ERR_LEN];
    create_gen1(f, 64);
    struct store *s = open_ok(f);
    assert_int_equal(try_open(f, f->key, VM, err), STORE_E_BUSY);
    assert_non_null(strstr(err, "another process"));
    store_close(s);
    assert_int_equal(try_open(f, f->key, VM, err), 0);
}

static void test_stale_tmps(void **state)
{
    struct fx *f = *state;
    char p[200];
    create_gen1(f, 64);
    snprintf(p, sizeof(p), "%s.tmp-abcdef", f->path);
    spit(p, (const uint8_t *)"x", 1);
    snprintf(p, sizeof(p), "%s.tmp-abc", f->path);
    spit(p, (const uint8_t *)"x", 1);
    assert_int_equal(count_entries(f->dir), 3);
    store_close(open_ok(f));
    assert_int_equal(count_entries(f->dir), 2); /* only the exact pattern is removed */
    assert_int_equal(access(p, F_OK), 0);
}

/* ---- volatile state --------------------------------------------------------------------- */

static void test_volatile(void **state)
{
    struct fx *f = *state;
    struct store_blob b;

    create_gen1(f, 1424);
    struct store *s = open_ok(f);
    assert_int_equal(store_take_volatile(s, &b, false), -ENOENT);
    assert_int_equal(store_take_volatile(s, &b, true), -ENOENT);
    assert_null(b.data);

    uint8_t *v = blob_for(100, 8992);
    assert_int_equal(store_put_volatile(s, v, 8992), 0); /* adds the volatile slots */
    free(v);
    commit_gen(s, 2, 1424);
    store_close(s);

    s = open_ok(f);
    assert_int_equal(store_take_volatile(s, &b, false), 0);
    assert_true(blob_is(&b, 100, 8992));
    assert_int_equal(b.generation, 1);
    store_blob_free(&b);
    v = blob_for(101, 9000);
    assert_int_equal(store_put_volatile(s, v, 9000), 0); /* in place */
    free(v);
    commit_gen(s, 3, 7000); /* the permanent slots grow; the volatile ones are kept */
    assert_int_equal(store_take_volatile(s, &b, true), 0);
    assert_true(blob_is(&b, 101, 9000));
    store_blob_free(&b);
    assert_int_equal(store_take_volatile(s, &b, false), -ENOENT);
    store_close(s);
    expect_state(f, 3, 7000, false);

    s = open_ok(f);
    assert_int_equal(store_take_volatile(s, &b, false), -ENOENT);
    v = blob_for(102, 30000); /* the volatile slots grow */
    assert_int_equal(store_put_volatile(s, v, 30000), 0);
    free(v);
    store_close(s);
    s = open_ok(f);
    assert_int_equal(store_take_volatile(s, &b, true), 0);
    assert_true(blob_is(&b, 102, 30000));
    store_blob_free(&b);
    store_close(s);
    expect_state(f, 3, 7000, false);

    /* A damaged volatile slot is a damaged file too: one copy falls back, two refuse. */
    s = open_ok(f);
    v = blob_for(103, 500);
    assert_int_equal(store_put_volatile(s, v, 500), 0);
    free(v);
    store_close(s);
    size_t len;
    uint8_t *img = slurp(f->path, &len);
    struct fmt_header h;
    memset(&h, 0, sizeof(h));
    h.slot_size[FMT_PERM] = fmt_slot_size_for(7000);
    h.slot_size[FMT_VOL] = fmt_slot_size_for(30000);
    assert_int_equal(len, fmt_file_size(&h));
    size_t va = fmt_slot_offset(&h, FMT_VOL, 0), vb = fmt_slot_offset(&h, FMT_VOL, 1);
    img[va + 70] ^= 4; /* slot A holds the newest volatile state (103) */
    spit(f->path, img, len);
    s = open_ok(f);
    assert_non_null(strstr(store_message(s), "slot A of the volatile state"));
    assert_int_equal(store_take_volatile(s, &b, false), -ENOENT); /* B holds the removal */
    store_close(s);
    img[vb + 70] ^= 4;
    spit(f->path, img, len);
    char err[STORE_ERR_LEN];
    assert_int_equal(try_open(f, f->key, VM, err), STORE_E_CORRUPT);
    assert_non_null(strstr(err, "volatile"));
    free(img);
}

/* ---- fault injection -------------------------------------------------------------------- */

struct fault_plan {
    enum store_fault fail;  /* the point to fail (as an error, or a crash) */
    enum store_fault fail2; /* a second point to fail as an error (STORE_FAULT_COUNT: none) */
    bool crash;             /* _exit(0) at fail instead of failing */
    int hits;               /* how often fail was reached */
};

static int fault_hook(enum store_fault p, void *ctx)
{
    struct fault_plan *plan = ctx;
    if (p == plan->fail && plan->hits++ == 0) {
        if (plan->crash) {
            _exit(0);
        }
        return -EIO;
    }
    if (p == plan->fail2) {
        return -ENOSPC;
    }
    return 0;
}

/* The operations under test, each from a known old state to a known new state. */
enum op { OP_COMMIT, OP_GROW, OP_VOL_ADD, OP_VOL_PUT, OP_VOL_REMOVE, OP_CREATE, OP_COUNT };
static const char *const op_names[] = {"commit",          "grow",  "add volatile", "put volatile",
                                       "remove volatile", "create"};

/* Old state: permanent generation 2 (1424 bytes); for the volatile ops, volatile blob 50. */
static void op_prepare(struct fx *f, enum op op)
{
    if (op == OP_CREATE) {
        return;
    }
    create_gen1(f, 1424);
    struct store *s = open_ok(f);
    commit_gen(s, 2, 1424);
    if (op == OP_VOL_PUT || op == OP_VOL_REMOVE) {
        uint8_t *v = blob_for(50, 2000);
        assert_int_equal(store_put_volatile(s, v, 2000), 0);
        free(v);
    }
    store_close(s);
}

static int op_run(struct fx *f, enum op op, struct store *s)
{
    uint8_t *b;
    int rc;
    struct store_blob out;
    char err[STORE_ERR_LEN];
    switch (op) {
    case OP_COMMIT:
        b = blob_for(3, 1500);
        rc = store_commit(s, b, 1500);
        break;
    case OP_GROW:
        b = blob_for(3, 20000);
        rc = store_commit(s, b, 20000);
        break;
    case OP_VOL_ADD:
    case OP_VOL_PUT:
        b = blob_for(51, 2100);
        rc = store_put_volatile(s, b, 2100);
        break;
    case OP_VOL_REMOVE:
        b = NULL;
        rc = store_take_volatile(s, &out, true);
        if (rc == 0) {
            assert_true(blob_is(&out, 50, 2000));
            store_blob_free(&out);
        }
        break;
    case OP_CREATE:
    default:
        b = blob_for(1, 1424);
        rc = store_create(f->path, f->key, VM, f->vtpm_id, b, 1424, err, sizeof(err));
        break;
    }
    free(b);
    return rc;
}

/* Which state the file holds now: 0 old, 1 new, -1 neither. */
static int op_state(struct fx *f, enum op op)
{
    struct store_blob b, v;
    struct store *s = NULL;
    char err[STORE_ERR_LEN];
    int rc = store_open(f->path, f->key, VM, &s, err, sizeof(err));
    if (op == OP_CREATE) {
        if (rc == -ENOENT) {
            return 0;
        }
        if (rc != 0) {
            return -1;
        }
        rc = store_read(s, &b);
        int st = rc == 0 && b.generation == 1 && blob_is(&b, 1, 1424) ? 1 : -1;
        store_blob_free(&b);
        store_close(s);
        return st;
    }
    if (rc != 0) {
        print_message("open: %s\n", err);
        return -1;
    }
    int st = -1;
    assert_int_equal(store_read(s, &b), 0);
    int vrc = store_take_volatile(s, &v, false);
    switch (op) {
    case OP_COMMIT:
    case OP_GROW: {
        size_t n = op == OP_COMMIT ? 1500 : 20000;
        if (b.generation == 2 && blob_is(&b, 2, 1424)) {
            st = 0;
        } else if (b.generation == 3 && blob_is(&b, 3, n)) {
            st = 1;
        }
        break;
    }
    case OP_VOL_ADD:
    case OP_VOL_PUT:
    case OP_VOL_REMOVE:
        if (b.generation != 2 || !blob_is(&b, 2, 1424)) {
            break;
        }
        if (op == OP_VOL_ADD) {
            st = vrc == -ENOENT ? 0 : (vrc == 0 && blob_is(&v, 51, 2100)) ? 1 : -1;
        } else if (op == OP_VOL_PUT) {
            st = vrc != 0 ? -1 : blob_is(&v, 50, 2000) ? 0 : blob_is(&v, 51, 2100) ? 1 : -1;
        } else {
            st = vrc == -ENOENT ? 1 : (vrc == 0 && blob_is(&v, 50, 2000)) ? 0 : -1;
        }
        break;
    default:
        break;
    }
    store_blob_free(&b);
    store_blob_free(&v);
    store_close(s);
    return st;
}

static bool is_done_point(enum store_fault p)
{
    return p == STORE_FAULT_COMMIT_DONE || p == STORE_FAULT_REWRITE_DONE;
}

/* What an error at a point must leave: 0 old, 1 new, 2 either. */
static int expected_after_error(enum store_fault p, enum store_fault p2)
{
    if (is_done_point(p)) {
        return 1; /* notification points: the operation succeeded */
    }
    if (p == STORE_FAULT_DIR_SYNC) {
        return 1; /* the rename happened: the new file is the live one */
    }
    if (p == STORE_FAULT_SYNC && p2 == STORE_FAULT_INVALIDATE) {
        return 2; /* written, not known durable, and could not be erased */
    }
    return 0;
}

static void run_fault_case(struct fx *f, enum op op, struct fault_plan *plan, int *reached)
{
    rm_dir(f->dir);
    assert_int_equal(mkdir(f->dir, 0700), 0);
    op_prepare(f, op);
    int before = op_state(f, op);
    assert_int_equal(before, 0);

    if (!plan->crash) {
        struct store *s = op == OP_CREATE ? NULL : open_ok(f);
        store_fault_set(fault_hook, plan);
        int rc = op_run(f, op, s);
        store_fault_set(NULL, NULL);
        if (s) {
            if (rc != 0) {
                assert_true(strlen(store_message(s)) > 0);
            }
            store_close(s);
        }
        int want = plan->hits ? expected_after_error(plan->fail, plan->fail2) : 1;
        int got = op_state(f, op);
        if (plan->hits) {
            (*reached)++;
            if (is_done_point(plan->fail) != (rc == 0)) {
                fail_msg("%s, error at %s: rc %d", op_names[op], store_fault_name(plan->fail), rc);
            }
        } else {
            assert_int_equal(rc, 0);
        }
        if (got < 0 || (want != 2 && got != want)) {
            fail_msg("%s, error at %s(+%s): state %d, expected %d", op_names[op],
                     store_fault_name(plan->fail), store_fault_name(plan->fail2), got, want);
        }
    } else {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct store *s = NULL;
            if (op != OP_CREATE && store_open(f->path, f->key, VM, &s, NULL, 0) != 0) {
                _exit(3);
            }
            store_fault_set(fault_hook, plan);
            op_run(f, op, s);
            _exit(2); /* the point was not reached */
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        int code = WEXITSTATUS(status);
        assert_true(code == 0 || code == 2);
        int got = op_state(f, op);
        if (code == 0) {
            (*reached)++;
        }
        if (got < 0 || (code == 2 && got != 1)) {
            fail_msg("%s, crash at %s: state %d", op_names[op], store_fault_name(plan->fail), got);
        }
        /* A crash before the rename or the write leaves the old state; after, the new. */
        enum store_fault p = plan->fail;
        if (code == 0 &&
            (p == STORE_FAULT_SEAL || p == STORE_FAULT_WRITE || p == STORE_FAULT_WRITE_TORN ||
             (p >= STORE_FAULT_TMP_CREATE && p <= STORE_FAULT_RENAME))) {
            assert_int_equal(got, 0);
        }
        if (code == 0 && (is_done_point(p) || p == STORE_FAULT_DIR_SYNC)) {
            assert_int_equal(got, 1);
        }
    }
    /* A file that was not created is created now; a temporary file a crash left behind is
     * removed by the next open; and the store works on. */
    if (op == OP_CREATE && op_state(f, op) == 0) {
        assert_int_equal(op_run(f, op, NULL), 0);
    }
    struct store *s = open_ok(f);
    assert_int_equal(count_entries(f->dir), 1);
    uint8_t *b = blob_for(9, 1424);
    assert_int_equal(store_commit(s, b, 1424), 0);
    free(b);
    store_close(s);
}

static void test_fault_points(void **state)
{
    struct fx *f = *state;
    int reached[STORE_FAULT_COUNT] = {0};
    int cases = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        for (int p = 0; p < STORE_FAULT_COUNT; p++) {
            for (int crash = 0; crash < 2; crash++) {
                struct fault_plan plan = {(enum store_fault)p, STORE_FAULT_COUNT, crash != 0, 0};
                run_fault_case(f, (enum op)op, &plan, &reached[p]);
                cases++;
            }
        }
        /* A failed write whose slot cannot be erased either. */
        enum store_fault firsts[] = {STORE_FAULT_WRITE_TORN, STORE_FAULT_SYNC};
        for (int i = 0; i < 2; i++) {
            struct fault_plan plan = {firsts[i], STORE_FAULT_INVALIDATE, false, 0};
            int dummy = 0;
            run_fault_case(f, (enum op)op, &plan, &dummy);
            cases++;
        }
        /* Torn, then a crash before the slot is erased: what a power cut leaves. */
        struct fault_plan plan = {STORE_FAULT_INVALIDATE, STORE_FAULT_WRITE_TORN, true, 0};
        int dummy = 0;
        run_fault_case(f, (enum op)op, &plan, &dummy);
        cases++;
    }
    /* Every point was reached by some operation. */
    for (int p = 0; p < STORE_FAULT_COUNT; p++) {
        if (p != STORE_FAULT_INVALIDATE && reached[p] == 0) {
            fail_msg("fault point %s was never reached", store_fault_name((enum store_fault)p));
        }
    }
    print_message("fault injection: %d cases\n", cases);
}

/* ---- a full disk -------------------------------------------------------------------------- */

static int disk_full_child(const char *mnt)
{
    char path[200], filler[200], err[STORE_ERR_LEN];
    uint8_t key[32] = {1}, id[16] = {2};
    struct store *s = NULL;
    struct store_blob b;
    snprintf(path, sizeof(path), "%s/full.vtpm", mnt);
    snprintf(filler, sizeof(filler), "%s/filler", mnt);

    uint8_t *blob = blob_for(1, 1424);
    if (store_create(path, key, VM, id, blob, 1424, err, sizeof(err)) != 0) {
        return 10;
    }
    free(blob);
    /* Fill the rest of the file system. */
    int fd = open(filler, O_WRONLY | O_CREAT, 0600);
    static uint8_t chunk[4096];
    while (write(fd, chunk, sizeof(chunk)) > 0) {
    }
    close(fd);
    if (store_open(path, key, VM, &s, err, sizeof(err)) != 0) {
        return 11;
    }
    /* Growth needs a new file: refused with ENOSPC, the old state stays. */
    blob = blob_for(2, 60000);
    int rc = store_commit(s, blob, 60000);
    free(blob);
    if (rc != -ENOSPC || !strstr(store_message(s), "generation 1 is intact")) {
        fprintf(stderr, "grow on a full disk: %d %s\n", rc, store_message(s));
        return 12;
    }
    /* Adding the volatile slots too. */
    blob = blob_for(7, 9000);
    rc = store_put_volatile(s, blob, 9000);
    free(blob);
    if (rc != -ENOSPC) {
        return 13;
    }
    /* An in-place commit needs no new space. */
    blob = blob_for(3, 1424);
    rc = store_commit(s, blob, 1424);
    free(blob);
    if (rc != 0 || store_generation(s) != 3) {
        return 14;
    }
    store_close(s);
    if (store_open(path, key, VM, &s, err, sizeof(err)) != 0 || store_read(s, &b) != 0 ||
        b.generation != 3 || !blob_is(&b, 3, 1424)) {
        return 15;
    }
    store_blob_free(&b);
    store_close(s);
    /* Creating a second vTPM file fails and leaves nothing behind. */
    char p2[200];
    snprintf(p2, sizeof(p2), "%s/second.vtpm", mnt);
    blob = blob_for(1, 1424);
    rc = store_create(p2, key, VM, id, blob, 1424, err, sizeof(err));
    free(blob);
    if (rc != -ENOSPC || !strstr(err, "No space left")) {
        fprintf(stderr, "create on a full disk: %d %s\n", rc, err);
        return 16;
    }
    DIR *d = opendir(mnt);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        n++;
    }
    closedir(d);
    if (n != 4) { /* ., .., full.vtpm, filler */
        return 17;
    }
    return 0;
}

static void test_disk_full(void **state)
{
    struct fx *f = *state;
    char mnt[160];
    snprintf(mnt, sizeof(mnt), "%s/mnt", f->dir);
    assert_int_equal(mkdir(mnt, 0700), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A private mount namespace: the tmpfs goes away with this process. */
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") != 0) {
            _exit(77);
        }
        _exit(disk_full_child(mnt));
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    rmdir(mnt);
    if (WEXITSTATUS(status) == 77) {
        skip(); /* "mounting a tmpfs is not permitted here (needs root)" */
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- kill -9 during commits ------------------------------------------------------------- */

static size_t crash_len(uint64_t gen)
{
    /* Mostly small; now and then larger, so that some kills land in a slot growth. */
    return gen % 50 == 0 ? 1200 + (size_t)(gen * 97 % 40000) : 1200 + (size_t)(gen % 700);
}

static void crash_child(struct fx *f, int wfd)
{
    struct store *s = NULL;
    if (store_open(f->path, f->key, VM, &s, NULL, 0) != 0) {
        _exit(3);
    }
    for (;;) {
        uint64_t g = store_generation(s) + 1;
        size_t len = crash_len(g);
        uint8_t *b = blob_for(g, len);
        if (store_commit(s, b, len) != 0 || store_generation(s) != g) {
            _exit(4);
        }
        free(b);
        if (write(wfd, &g, sizeof(g)) != sizeof(g)) {
            _exit(5);
        }
    }
}

static void test_crash_loop(void **state)
{
    struct fx *f = *state;
    const int rounds = 600;
    uint64_t last = 1;
    int fell_back = 0, grown = 0;
    unsigned seed = (unsigned)time(NULL);

    print_message("crash loop: seed %u\n", seed);
    srand(seed);
    create_gen1(f, crash_len(1));
    for (int round = 0; round < rounds; round++) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            crash_child(f, pfd[1]);
        }
        close(pfd[1]);
        struct timespec ts = {0, (long)(rand() % 4000) * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        uint64_t g;
        ssize_t r;
        while ((r = read(pfd[0], &g, sizeof(g))) == (ssize_t)sizeof(g)) {
            assert_true(g > last);
            last = g;
        }
        close(pfd[0]);

        struct store *s = open_ok(f);
        struct store_blob b;
        assert_int_equal(store_read(s, &b), 0);
        /* The last reported commit, or the one in flight when the kill came. */
        if (b.generation < last || b.generation > last + 1) {
            fail_msg("round %d: file holds generation %" PRIu64 ", child reported %" PRIu64, round,
                     b.generation, last);
        }
        assert_int_equal(blob_gen(&b), b.generation);
        assert_true(blob_is(&b, b.generation, crash_len(b.generation)));
        fell_back += b.fell_back;
        grown += crash_len(b.generation) > 4096;
        last = b.generation;
        store_blob_free(&b);
        store_close(s);
    }
    assert_int_equal(count_entries(f->dir), 1);
    print_message("crash loop: %d kills, reached generation %" PRIu64
                  ", %d opens fell back to the older slot\n",
                  rounds, last, fell_back);
    (void)grown;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_blob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flip_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_sectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_tmps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volatile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_loop, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}

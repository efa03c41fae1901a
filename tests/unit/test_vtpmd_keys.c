/*
 * Unit tests of vtpmd's keys (src/daemon/keys.c) and state blobs (src/daemon/blob.c): every
 * key form (descriptor, file, passphrase; raw, hex; format=), the refusals (file modes and
 * owners, symbolic links, wrong lengths, empty passphrases, oversized input), and the blob
 * format with its negative cases (truncated, oversized, another type, another key, another
 * VM id, every byte flipped).
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

#include "daemon/blob.h"
#include "daemon/keys.h"
#include "daemon/opts.h"

static char dir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vtpmd-keys-XXXXXX");
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

static const uint8_t key32[32] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
                                  0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
                                  0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
static const char key_hex[] = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";

/* A pipe whose read end holds data (then end of file). */
static int pipe_with(const void *data, size_t n)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], data, n), (ssize_t)n);
    close(p[1]);
    return p[0];
}

static int load_fd(const void *data, size_t n, enum key_format fmt, uint8_t key[32], char *err)
{
    struct key_opts ko = {.source = KEY_FD, .fd = pipe_with(data, n), .format = fmt};
    int rc = key_load(&ko, "--key", key, err, 256);
    /* The descriptor was closed whatever the outcome. */
    assert_int_equal(fcntl(ko.fd, F_GETFD), -1);
    return rc;
}

static void test_key_fd_forms(void **state)
{
    (void)state;
    uint8_t key[32];
    char err[256];
    char hexnl[80];

    assert_int_equal(load_fd(key32, 32, KEY_FORMAT_AUTO, key, err), 0);
    assert_memory_equal(key, key32, 32);
    assert_int_equal(load_fd(key_hex, 64, KEY_FORMAT_AUTO, key, err), 0);
    assert_memory_equal(key, key32, 32);
    snprintf(hexnl, sizeof(hexnl), "%s\n", key_hex);
    assert_int_equal(load_fd(hexnl, 65, KEY_FORMAT_HEX, key, err), 0);
    assert_memory_equal(key, key32, 32);
    assert_int_equal(load_fd(key32, 32, KEY_FORMAT_BINARY, key, err), 0);
    assert_memory_equal(key, key32, 32);

    /* Refusals: each leaves the key zero and says why without the key bytes. */
    static const uint8_t zero[32];
    assert_int_equal(load_fd(key_hex, 64, KEY_FORMAT_BINARY, key, err), -1);
    assert_non_null(strstr(err, "format=binary"));
    assert_memory_equal(key, zero, 32);
    assert_int_equal(load_fd(key32, 32, KEY_FORMAT_HEX, key, err), -1);
    assert_non_null(strstr(err, "format=hex"));
    assert_int_equal(load_fd(key32, 31, KEY_FORMAT_AUTO, key, err), -1);
    assert_non_null(strstr(err, "31 bytes"));
    assert_int_equal(load_fd(key32, 0, KEY_FORMAT_AUTO, key, err), -1);
    uint8_t key33[33] = {0};
    memcpy(key33, key32, 32);
    assert_int_equal(load_fd(key33, 33, KEY_FORMAT_AUTO, key, err), -1);
    char bad[65];
    memcpy(bad, key_hex, 64);
    bad[10] = 'g';
    assert_int_equal(load_fd(bad, 64, KEY_FORMAT_AUTO, key, err), -1);
    assert_memory_equal(key, zero, 32);
    assert_null(strstr(err, "0011"));
    /* More than KEY_INPUT_MAX bytes: refused. */
    {
        static uint8_t big[KEY_INPUT_MAX + 1];
        int p[2];
        assert_int_equal(pipe(p), 0);
        assert_int_equal(fcntl(p[1], F_SETPIPE_SZ, 1 << 16) > 0, 1);
        assert_int_equal(write(p[1], big, sizeof(big)), (ssize_t)sizeof(big));
        close(p[1]);
        struct key_opts ko = {.source = KEY_FD, .fd = p[0]};
        assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "longer than 4096"));
    }
    /* A descriptor that is not open. */
    {
        struct key_opts ko = {.source = KEY_FD, .fd = 987};
        assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "descriptor 987 is not open"));
    }
}

static void write_key_file(const char *path, const void *data, size_t n, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void test_key_file(void **state)
{
    (void)state;
    char path[512], link_path[512];
    uint8_t key[32];
    char err[256];
    struct key_opts ko = {.source = KEY_FILE};
    snprintf(path, sizeof(path), "%s/key", dir);
    ko.path = path;

    write_key_file(path, key_hex, 64, 0600);
    assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), 0);
    assert_memory_equal(key, key32, 32);
    write_key_file(path, key32, 32, 0400);
    assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), 0);
    assert_memory_equal(key, key32, 32);
    /* Readable by others, or group: refused unread. */
    static const mode_t bad_modes[] = {0644, 0640, 0604, 0660, 0700, 0606};
    for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
        write_key_file(path, key32, 32, bad_modes[i]);
        assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "must be 0600 or 0400"));
    }
    /* Another owner: refused (the test runs as root or not; chown to another uid). */
    write_key_file(path, key32, 32, 0600);
    if (geteuid() == 0) {
        assert_int_equal(chown(path, 12345, 12345), 0);
        assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "owner uid 12345"));
        assert_int_equal(chown(path, 0, 0), 0);
    }
    /* A symbolic link, a folder, a missing file. */
    snprintf(link_path, sizeof(link_path), "%s/keylink", dir);
    assert_int_equal(symlink(path, link_path), 0);
    ko.path = link_path;
    assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "symbolic link"));
    ko.path = dir;
    assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), -1);
    ko.path = "/nonexistent/key";
    assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open key file"));
    /* remove: the file is gone once read. */
    ko.path = path;
    ko.remove = true;
    assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), 0);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_key_passphrase(void **state)
{
    (void)state;
    uint8_t key[32], again[32], sha[32];
    char err[256];
    struct key_opts ko = {.source = KEY_PWDFD, .kdf = KEY_KDF_PBKDF2};

    ko.fd = pipe_with("secret phrase\n", 14);
    assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), 0);
    /* One trailing newline is dropped; the result is PBKDF2-HMAC-SHA512 of the phrase. */
    assert_int_equal(
        key_from_passphrase((const uint8_t *)"secret phrase", 13, KEY_KDF_PBKDF2, again), 0);
    assert_memory_equal(key, again, 32);
    ko.kdf = KEY_KDF_SHA512;
    ko.fd = pipe_with("secret phrase", 13);
    assert_int_equal(key_load(&ko, "--key", sha, err, sizeof(err)), 0);
    assert_memory_not_equal(sha, key, 32);
    /* SHA-512("abc"), first 32 bytes (FIPS 180-2 appendix C.1). */
    assert_int_equal(key_from_passphrase((const uint8_t *)"abc", 3, KEY_KDF_SHA512, sha), 0);
    static const uint8_t sha_abc[8] = {0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba};
    assert_memory_equal(sha, sha_abc, 8);
    /* An empty passphrase is refused. */
    ko.fd = pipe_with("\n", 1);
    assert_int_equal(key_load(&ko, "--key", key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "passphrase is empty"));
}

/* ---- state blobs ------------------------------------------------------------------------- */

static void keys_with(struct blob_keys *k, bool mig, bool st)
{
    memset(k, 0, sizeof(*k));
    if (mig) {
        assert_int_equal(blob_key_set(k, BLOB_MIGRATION, key32), 0);
    }
    if (st) {
        uint8_t other[32];
        memset(other, 0x5a, sizeof(other));
        assert_int_equal(blob_key_set(k, BLOB_STATE, other), 0);
    }
}

static void test_blob_plain(void **state)
{
    (void)state;
    uint8_t st[100], out[256];
    struct tpm_buf b;
    enum blob_seal seal;
    char err[256];
    for (size_t i = 0; i < sizeof(st); i++) {
        st[i] = (uint8_t)i;
    }
    size_t n =
        blob_encode(BLOB_TYPE_PERMANENT, BLOB_PLAIN, NULL, "vm", st, sizeof(st), out, sizeof(out));
    assert_int_equal(n, BLOB_HDR_LEN + sizeof(st));
    assert_memory_equal(out, "VTPMBLOB\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x64", 20);
    assert_int_equal(
        blob_decode(out, n, BLOB_TYPE_PERMANENT, NULL, "other vm", &b, &seal, err, sizeof(err)), 0);
    assert_int_equal(seal, BLOB_PLAIN);
    assert_int_equal(b.len, sizeof(st));
    assert_memory_equal(b.data, st, sizeof(st));
    tpm_buf_free(&b);
    /* Another type, truncated at every length, one byte too many, a wrong magic or version. */
    assert_int_equal(
        blob_decode(out, n, BLOB_TYPE_VOLATILE, NULL, "vm", &b, &seal, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not the volatile state"));
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(
            blob_decode(out, cut, BLOB_TYPE_PERMANENT, NULL, "vm", &b, &seal, err, sizeof(err)),
            -EINVAL);
        assert_null(b.data);
    }
    out[n] = 0;
    assert_int_equal(
        blob_decode(out, n + 1, BLOB_TYPE_PERMANENT, NULL, "vm", &b, &seal, err, sizeof(err)),
        -EINVAL);
    out[9] = 2;
    assert_int_equal(
        blob_decode(out, n, BLOB_TYPE_PERMANENT, NULL, "vm", &b, &seal, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "version 2"));
    out[9] = 1;
    out[14] = 1; /* reserved */
    assert_int_equal(
        blob_decode(out, n, BLOB_TYPE_PERMANENT, NULL, "vm", &b, &seal, err, sizeof(err)), -EINVAL);
    out[14] = 0;
    out[0] = 'X';
    assert_int_equal(
        blob_decode(out, n, BLOB_TYPE_PERMANENT, NULL, "vm", &b, &seal, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not a vtpmd state blob"));
    /* A length over BLOB_MAX is refused before anything is allocated for it. */
    uint8_t huge[BLOB_HDR_LEN];
    memcpy(huge, "VTPMBLOB\x00\x01\x00\x01\x00\x00\x00\x00\x00\x08\x00\x01", 20);
    assert_int_equal(blob_decode(huge, sizeof(huge), BLOB_TYPE_PERMANENT, NULL, "vm", &b, &seal,
                                 err, sizeof(err)),
                     -EINVAL);
    /* Too small an output buffer: nothing encoded. */
    assert_int_equal(blob_encode(BLOB_TYPE_PERMANENT, BLOB_PLAIN, NULL, "vm", st, sizeof(st), out,
                                 BLOB_HDR_LEN + sizeof(st) - 1),
                     0);
}

static void test_blob_sealed(void **state)
{
    (void)state;
    uint8_t st[300], out[512];
    struct blob_keys k, other, none;
    struct tpm_buf b;
    enum blob_seal seal;
    char err[256];
    memset(st, 0xa5, sizeof(st));
    keys_with(&k, true, true);
    keys_with(&none, false, false);

    for (int s = BLOB_MIGRATION; s <= BLOB_STATE; s++) {
        size_t n = blob_encode(BLOB_TYPE_VOLATILE, (enum blob_seal)s, &k, "vm-1", st, sizeof(st),
                               out, sizeof(out));
        assert_int_equal(n, BLOB_HDR_LEN + BLOB_SEALED_OVERHEAD + sizeof(st));
        /* The state does not appear in the blob. */
        assert_null(memmem(out, n, st, 16));
        assert_int_equal(
            blob_decode(out, n, BLOB_TYPE_VOLATILE, &k, "vm-1", &b, &seal, err, sizeof(err)), 0);
        assert_int_equal(seal, s);
        assert_memory_equal(b.data, st, sizeof(st));
        tpm_buf_free(&b);
        /* Another VM id, no key, another key: refused with their own reason. */
        assert_int_equal(
            blob_decode(out, n, BLOB_TYPE_VOLATILE, &k, "vm-2", &b, &seal, err, sizeof(err)),
            -EBADMSG);
        assert_non_null(strstr(err, "another VM id"));
        assert_int_equal(
            blob_decode(out, n, BLOB_TYPE_VOLATILE, &none, "vm-1", &b, &seal, err, sizeof(err)),
            -EINVAL);
        assert_non_null(strstr(err, "this vtpmd has none"));
        memset(&other, 0, sizeof(other));
        uint8_t ok2[32];
        memset(ok2, 1, sizeof(ok2));
        assert_int_equal(blob_key_set(&other, (enum blob_seal)s, ok2), 0);
        assert_int_equal(
            blob_decode(out, n, BLOB_TYPE_VOLATILE, &other, "vm-1", &b, &seal, err, sizeof(err)),
            -EBADMSG);
        /* Every byte flipped: refused, nothing handed out. */
        for (size_t i = 0; i < n; i++) {
            out[i] ^= 0x01;
            int rc =
                blob_decode(out, n, BLOB_TYPE_VOLATILE, &k, "vm-1", &b, &seal, err, sizeof(err));
            if (rc == 0) {
                fail_msg("sealing %d: byte %zu flipped was accepted", s, i);
            }
            assert_null(b.data);
            out[i] ^= 0x01;
        }
    }
    /* Sealing under a key this vtpmd does not hold: nothing encoded. */
    assert_int_equal(blob_encode(BLOB_TYPE_VOLATILE, BLOB_MIGRATION, &none, "vm", st, sizeof(st),
                                 out, sizeof(out)),
                     0);
    /* The two layer keys of one raw key differ (labels). */
    struct blob_keys both;
    memset(&both, 0, sizeof(both));
    assert_int_equal(blob_key_set(&both, BLOB_MIGRATION, key32), 0);
    assert_int_equal(blob_key_set(&both, BLOB_STATE, key32), 0);
    assert_memory_not_equal(both.key[BLOB_MIGRATION], both.key[BLOB_STATE], 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_fd_forms),
        cmocka_unit_test_setup_teardown(test_key_file, setup_dir, teardown_dir),
        cmocka_unit_test(test_key_passphrase),
        cmocka_unit_test(test_blob_plain),
        cmocka_unit_test(test_blob_sealed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

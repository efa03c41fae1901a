/* vtpmd's keys (see keys.h): reading them from descriptors and files, and their forms. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/secret.h"
#include "store/store.h"

static int key_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int key_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint64_t key_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Read fd to end of file into buf (cap bytes). Returns the length, or a negative errno:
 * -EFBIG when more than cap bytes come, -ETIMEDOUT when the writer does not finish in time.
 */
static ssize_t key_read_all(int fd, uint8_t *buf, size_t cap)
{
    uint64_t end = key_now_ms() + KEY_READ_TIMEOUT_MS;
    size_t n = 0;
    uint8_t extra;

    for (;;) {
        uint64_t now = key_now_ms();
        struct pollfd p = {fd, POLLIN, 0};
        if (now >= end) {
            return -ETIMEDOUT;
        }
        int r = poll(&p, 1, (int)(end - now));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -errno;
        }
        if (r == 0) {
            return -ETIMEDOUT;
        }
        /* One byte beyond the limit tells "too long" from "exactly the limit". */
        ssize_t got = n < cap ? read(fd, buf + n, cap - n) : read(fd, &extra, 1);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (got < 0) {
            return -errno;
        }
        if (got == 0) {
            return (ssize_t)n;
        }
        if (n >= cap) {
            secret_wipe(&extra, 1);
            return -EFBIG;
        }
        n += (size_t)got;
    }
}

/* Open a key file, refusing anything but a regular 0600/0400 file of our own user. */
static int key_open_file(const char *path, const char *opt, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP) {
            return key_fail(err, errlen, "%s: refusing key file '%s': it is a symbolic link", opt,
                            path);
        }
        return key_fail(err, errlen, "%s: cannot open key file '%s': %s", opt, path, strerror(e));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return key_fail(err, errlen, "%s: refusing key file '%s': not a regular file", opt, path);
    }
    if (st.st_uid != geteuid() || ((st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400)) {
        close(fd);
        return key_fail(err, errlen,
                        "%s: refusing key file '%s': its mode is %04o and its owner uid %u; it "
                        "must be 0600 or 0400 and owned by uid %u",
                        opt, path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                        (unsigned)geteuid());
    }
    return fd;
}

int key_from_passphrase(const uint8_t *pass, size_t len, enum key_kdf kdf, uint8_t key[KEY_LEN])
{
    if (kdf == KEY_KDF_SHA512) {
        uint8_t md[SHA512_DIGEST_LENGTH];
        if (!SHA512(pass, len, md)) {
            return -1;
        }
        memcpy(key, md, KEY_LEN);
        secret_wipe(md, sizeof(md));
        return 0;
    }
    if (len > INT32_MAX ||
        PKCS5_PBKDF2_HMAC((const char *)pass, (int)len, (const unsigned char *)KEY_PBKDF2_SALT,
                          (int)strlen(KEY_PBKDF2_SALT), KEY_PBKDF2_ITER, EVP_sha512(), KEY_LEN,
                          key) != 1) {
        secret_wipe(key, KEY_LEN);
        return -1;
    }
    return 0;
}

int key_load(const struct key_opts *ko, const char *opt, uint8_t key[KEY_LEN], char *err,
             size_t errlen)
{
    uint8_t buf[KEY_INPUT_MAX];
    bool pwd = ko->source == KEY_PWDFD || ko->source == KEY_PWDFILE;
    const char *what = pwd ? "passphrase" : "key";
    int fd, rc = -1;
    ssize_t n;

    secret_wipe(key, KEY_LEN);
    if (ko->source == KEY_FD || ko->source == KEY_PWDFD) {
        fd = ko->fd;
        if (fcntl(fd, F_GETFD) < 0) {
            return key_fail(err, errlen, "%s: descriptor %d is not open", opt, fd);
        }
    } else if (ko->source == KEY_FILE || ko->source == KEY_PWDFILE) {
        fd = key_open_file(ko->path, opt, err, errlen);
        if (fd < 0) {
            return -1;
        }
    } else {
        return key_fail(err, errlen, "%s: no key source", opt);
    }
    n = key_read_all(fd, buf, sizeof(buf));
    close(fd);
    if (n == -EFBIG) {
        key_fail(err, errlen, "%s: the %s is longer than %u bytes", opt, what, KEY_INPUT_MAX);
        goto out;
    }
    if (n == -ETIMEDOUT) {
        key_fail(err, errlen, "%s: the %s did not reach end of file within %u s", opt, what,
                 KEY_READ_TIMEOUT_MS / 1000);
        goto out;
    }
    if (n < 0) {
        key_fail(err, errlen, "%s: cannot read the %s: %s", opt, what, strerror((int)-n));
        goto out;
    }
    if (ko->remove && ko->path && unlink(ko->path) != 0) {
        key_fail(err, errlen, "%s: cannot remove key file '%s': %s", opt, ko->path,
                 strerror(errno));
        goto out;
    }
    if (pwd) {
        size_t len = (size_t)n;
        if (len > 0 && buf[len - 1] == '\n') {
            len--;
        }
        if (len == 0) {
            key_fail(err, errlen, "%s: the passphrase is empty", opt);
            goto out;
        }
        if (key_from_passphrase(buf, len, ko->kdf, key) != 0) {
            key_fail(err, errlen, "%s: the key could not be derived from the passphrase", opt);
            goto out;
        }
        rc = 0;
        goto out;
    }
    if ((ko->format == KEY_FORMAT_BINARY && n != KEY_LEN) ||
        (ko->format == KEY_FORMAT_HEX && n == KEY_LEN)) {
        key_fail(err, errlen, "%s: the key is %zd bytes, not %s", opt, n,
                 ko->format == KEY_FORMAT_BINARY ? "32 raw bytes (format=binary)"
                                                 : "64 hexadecimal digits (format=hex)");
        goto out;
    }
    /* store_key_parse wipes what it was given, whatever the outcome. */
    if (store_key_parse(buf, (size_t)n, key) != 0) {
        key_fail(err, errlen,
                 "%s: the key is %zd bytes that are neither 32 raw bytes nor 64 hexadecimal "
                 "digits",
                 opt, n);
        goto out;
    }
    rc = 0;
out:
    secret_wipe(buf, sizeof(buf));
    if (rc != 0) {
        secret_wipe(key, KEY_LEN);
    }
    return rc;
}

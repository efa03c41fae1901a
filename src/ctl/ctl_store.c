/*
 * TEMPORARY stand-in for src/store's store_create() (see ctl_store.h). To be replaced by a
 * call to store_create() when src/store is merged; its encoding is never read by vtpmd.
 *
 * Encoding (all integers big-endian):
 *   8  magic "VTPMTMP1"
 *   2  version (1)
 *  16  vTPM id
 *   1  VM id length n (1..255), then n bytes of VM id
 *  12  GCM nonce (random)
 *   4  ciphertext length m
 *   m  AES-256-GCM ciphertext of the blob, under the data key itself
 *  16  GCM tag
 * The additional authenticated data is every byte before the ciphertext, so the VM id and
 * vTPM id are bound in: the same file presented for another VM fails to authenticate.
 * tests/ctl/tmp_store_open.c reads this encoding back (tests only).
 */
#include "ctl/ctl_store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/rw.h"
#include "common/secret.h"

#define TMP_MAGIC "VTPMTMP1"
#define TMP_VERSION 1
#define TMP_NONCE 12
#define TMP_TAG 16
#define TMP_MAX_BLOB (1024u * 1024u)

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static bool vm_id_ok(const char *vm_id)
{
    size_t n = strlen(vm_id);
    if (n == 0 || n > 255) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (vm_id[i] < 0x21 || vm_id[i] > 0x7e) {
            return false;
        }
    }
    return true;
}

/* Seal blob into a freshly allocated file image. Returns 0 or a negative errno. */
static int seal(const uint8_t *key, const char *vm_id, const uint8_t *vtpm_id,
                const uint8_t *blob, size_t len, uint8_t **imgp, size_t *imglen)
{
    size_t vl = strlen(vm_id);
    size_t hdr = 8 + 2 + CTL_STORE_ID_LEN + 1 + vl + TMP_NONCE + 4;
    size_t total = hdr + len + TMP_TAG;
    uint8_t *img = malloc(total);
    EVP_CIPHER_CTX *c = NULL;
    struct wr w;
    int outl = 0, rc = -EIO;
    if (!img) {
        return -ENOMEM;
    }
    wr_init(&w, img, total);
    wr_bytes(&w, TMP_MAGIC, 8);
    wr_u16(&w, TMP_VERSION);
    wr_bytes(&w, vtpm_id, CTL_STORE_ID_LEN);
    wr_u8(&w, (uint8_t)vl);
    wr_bytes(&w, vm_id, vl);
    if (w.err || RAND_bytes(img + w.off, TMP_NONCE) != 1) {
        goto out;
    }
    w.off += TMP_NONCE;
    wr_u32(&w, (uint32_t)len);
    if (w.err || w.off != hdr) {
        goto out;
    }
    c = EVP_CIPHER_CTX_new();
    if (!c || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, TMP_NONCE, NULL) != 1 ||
        EVP_EncryptInit_ex(c, NULL, NULL, key, img + hdr - 4 - TMP_NONCE) != 1 ||
        EVP_EncryptUpdate(c, NULL, &outl, img, (int)hdr) != 1 ||
        EVP_EncryptUpdate(c, img + hdr, &outl, blob, (int)len) != 1 || (size_t)outl != len ||
        EVP_EncryptFinal_ex(c, img + hdr + len, &outl) != 1 || outl != 0 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TMP_TAG, img + hdr + len) != 1) {
        goto out;
    }
    *imgp = img;
    *imglen = total;
    img = NULL;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    if (img) {
        secret_wipe(img, total);
        free(img);
    }
    return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ctl_store_create(const char *path, const uint8_t key[CTL_STORE_KEY_LEN], const char *vm_id,
                     const uint8_t vtpm_id[CTL_STORE_ID_LEN], const uint8_t *blob, size_t len,
                     char *err, size_t errlen)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    uint8_t *img = NULL;
    size_t imglen = 0;
    int fd = -1, dfd = -1, rc;
    bool tmp_made = false;

    if (!vm_id_ok(vm_id)) {
        return fail(err, errlen, -EINVAL, "%s: the VM id must be 1 to 255 printable characters",
                    path);
    }
    if (len == 0 || len > TMP_MAX_BLOB) {
        return fail(err, errlen, len ? -EFBIG : -EINVAL, "%s: a state of %zu bytes is refused",
                    path, len);
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp) ||
        snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
        return fail(err, errlen, -ENAMETOOLONG, "%s: path too long", path);
    }
    rc = seal(key, vm_id, vtpm_id, blob, len, &img, &imglen);
    if (rc != 0) {
        fail(err, errlen, rc, "%s: sealing the state failed", path);
        goto out;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        fail(err, errlen, rc, "%s: cannot create a temporary file: %s", path, strerror(-rc));
        goto out;
    }
    tmp_made = true;
    rc = write_all(fd, img, imglen);
    if (rc == 0 && fchmod(fd, 0600) != 0) {
        rc = -errno;
    }
    if (rc == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    fd = -1;
    if (rc != 0) {
        fail(err, errlen, rc, "%s: writing the state failed: %s", path, strerror(-rc));
        goto out;
    }
    /* link() never replaces: an existing file is left exactly as it was. */
    if (link(tmp, path) != 0) {
        rc = -errno;
        fail(err, errlen, rc, "%s: %s", path,
             rc == -EEXIST ? "a file is already there; it was left untouched" : strerror(-rc));
        goto out;
    }
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || unlink(tmp) != 0 || fsync(dfd) != 0) {
        rc = -errno;
        unlink(path);
        fail(err, errlen, rc, "%s: syncing its folder failed: %s", path, strerror(-rc));
        goto out;
    }
    tmp_made = false;
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (dfd >= 0) {
        close(dfd);
    }
    if (tmp_made) {
        unlink(tmp);
    }
    if (img) {
        secret_wipe(img, imglen);
        free(img);
    }
    return rc;
}

/*
 * The host KEK file and the wrapping of vTPM data keys (see keys.h for formats and rules).
 * OpenSSL through EVP only; every return value checked; key bytes wiped when they die.
 */
#include "ctl/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/rw.h"
#include "common/secret.h"

#define WRAP_VERSION 1
static const char wrap_label[] = "vtpmctl/wrap/v1";
static const char kek_id_label[] = "vtpmctl/kek-id/v1";

int key_random_private(uint8_t *out, size_t n, struct ctl_err *e)
{
    if (RAND_priv_bytes(out, (int)n) != 1) {
        return ctl_fail(e, CTL_E_INTERNAL, "the random generator failed; nothing was created");
    }
    return 0;
}

int key_random_public(uint8_t *out, size_t n, struct ctl_err *e)
{
    if (RAND_bytes(out, (int)n) != 1) {
        return ctl_fail(e, CTL_E_INTERNAL, "the random generator failed; nothing was created");
    }
    return 0;
}

int kek_id(const uint8_t key[CTL_KEY_LEN], char id[CTL_KEK_ID_HEX + 1])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int rc = -1;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(c, kek_id_label, sizeof(kek_id_label) - 1) != 1 ||
        EVP_DigestUpdate(c, key, CTL_KEY_LEN) != 1 || EVP_DigestFinal_ex(c, md, &mdlen) != 1) {
        goto out;
    }
    for (int i = 0; i < CTL_KEK_ID_HEX / 2; i++) {
        snprintf(id + 2 * i, 3, "%02x", md[i]);
    }
    rc = 0;
out:
    EVP_MD_CTX_free(c);
    secret_wipe(md, sizeof(md));
    return rc;
}

void kek_wipe(struct ctl_kek *k)
{
    WIPE(k);
}

/* fsync the folder that holds path, so that a new name in it survives a power cut. */
static int sync_parent(const char *path)
{
    char buf[PATH_MAX];
    int fd, rc;
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
        return -ENAMETOOLONG;
    }
    fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
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

/* Make a new KEK at path. Returns 0, -EEXIST when another process made it first, -errno. */
static int kek_create(const char *path, struct ctl_err *e)
{
    char tmp[PATH_MAX];
    uint8_t key[CTL_KEY_LEN];
    int fd = -1, rc;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
        return ctl_fail(e, CTL_E_DATA_DIR, "the host key path %s is too long", path);
    }
    if (key_random_private(key, sizeof(key), e) != 0) {
        return -EIO;
    }
    unlink(tmp); /* a leftover of a crashed run of this same pid number */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    rc = write_all(fd, key, sizeof(key));
    if (rc == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    fd = -1;
    if (rc == 0 && link(tmp, path) != 0) {
        rc = -errno;
    }
    unlink(tmp);
    if (rc == 0) {
        rc = sync_parent(path);
    }
out:
    secret_wipe(key, sizeof(key));
    if (rc != 0 && rc != -EEXIST) {
        ctl_fail(e, rc == -EACCES || rc == -EROFS || rc == -EPERM ? CTL_E_DATA_DIR : CTL_E_KEY,
                 "could not create the host key %s: %s; nothing was changed", path,
                 strerror(-rc));
    }
    return rc;
}

int kek_load(const char *path, bool create, struct ctl_kek *k, struct ctl_err *e)
{
    struct stat st;
    int fd = -1, rc = -1;
    size_t got = 0;
    memset(k, 0, sizeof(*k));
    for (int attempt = 0; attempt < 2; attempt++) {
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0 || errno != ENOENT || !create) {
            break;
        }
        int c = kek_create(path, e);
        if (c != 0 && c != -EEXIST) {
            goto out;
        }
    }
    if (fd < 0) {
        if (errno == ELOOP) {
            ctl_fail(e, CTL_E_KEY, "the host key %s is a symbolic link; refused", path);
        } else {
            ctl_fail(e, CTL_E_KEY, "cannot open the host key %s: %s", path, strerror(errno));
        }
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        ctl_fail(e, CTL_E_KEY, "cannot stat the host key %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ctl_fail(e, CTL_E_KEY, "the host key %s is not a regular file; refused", path);
        goto out;
    }
    if (st.st_uid != geteuid()) {
        ctl_fail(e, CTL_E_KEY, "the host key %s belongs to uid %u, not to the user running "
                 "vtpmctl (uid %u); refused", path, (unsigned)st.st_uid, (unsigned)geteuid());
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        ctl_fail(e, CTL_E_KEY, "the host key %s is accessible to group or others (mode %04o); "
                 "refused: it must be mode 0600", path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size != CTL_KEY_LEN) {
        ctl_fail(e, CTL_E_KEY, "the host key %s is %lld bytes long, not %d; refused", path,
                 (long long)st.st_size, CTL_KEY_LEN);
        goto out;
    }
    while (got < CTL_KEY_LEN) {
        ssize_t r = read(fd, k->key + got, CTL_KEY_LEN - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            ctl_fail(e, CTL_E_KEY, "cannot read the host key %s", path);
            goto out;
        }
        got += (size_t)r;
    }
    if (kek_id(k->key, k->id) != 0) {
        ctl_fail(e, CTL_E_INTERNAL, "OpenSSL failed while identifying the host key");
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (rc != 0) {
        kek_wipe(k);
    }
    return rc;
}

/* The additional authenticated data of a wrapped key. Returns its length, 0 if too long. */
static size_t wrap_aad(const char *vm_id, const uint8_t vtpm_id[CTL_VTPM_ID_LEN], uint8_t *aad,
                       size_t cap)
{
    size_t vl = strlen(vm_id);
    size_t n = sizeof(wrap_label) + vl + 1 + CTL_VTPM_ID_LEN;
    if (n > cap) {
        return 0;
    }
    memcpy(aad, wrap_label, sizeof(wrap_label)); /* with its NUL */
    memcpy(aad + sizeof(wrap_label), vm_id, vl);
    aad[sizeof(wrap_label) + vl] = 0;
    memcpy(aad + sizeof(wrap_label) + vl + 1, vtpm_id, CTL_VTPM_ID_LEN);
    return n;
}

int key_wrap(const struct ctl_kek *k, const char *vm_id, const uint8_t vtpm_id[CTL_VTPM_ID_LEN],
             const uint8_t key[CTL_KEY_LEN], uint8_t out[CTL_WRAPPED_LEN], struct ctl_err *e)
{
    uint8_t aad[512];
    size_t aadlen = wrap_aad(vm_id, vtpm_id, aad, sizeof(aad));
    uint8_t *nonce = out + 1, *ct = out + 1 + CTL_WRAP_NONCE_LEN;
    uint8_t *tag = ct + CTL_KEY_LEN;
    int len = 0, rc = -1;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    out[0] = WRAP_VERSION;
    if (!c || aadlen == 0 || key_random_public(nonce, CTL_WRAP_NONCE_LEN, e) != 0) {
        goto out;
    }
    if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, CTL_WRAP_NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(c, NULL, NULL, k->key, nonce) != 1 ||
        EVP_EncryptUpdate(c, NULL, &len, aad, (int)aadlen) != 1 ||
        EVP_EncryptUpdate(c, ct, &len, key, CTL_KEY_LEN) != 1 || len != CTL_KEY_LEN ||
        EVP_EncryptFinal_ex(c, ct + len, &len) != 1 || len != 0 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CTL_WRAP_TAG_LEN, tag) != 1) {
        goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    if (rc != 0) {
        secret_wipe(out, CTL_WRAPPED_LEN);
        ctl_fail(e, CTL_E_INTERNAL, "OpenSSL failed while wrapping a vTPM key; nothing was "
                 "created");
    }
    return rc;
}

int key_unwrap(const struct ctl_kek *k, const char *vm_id, const uint8_t vtpm_id[CTL_VTPM_ID_LEN],
               const uint8_t *wrapped, size_t len, uint8_t key[CTL_KEY_LEN], struct ctl_err *e)
{
    uint8_t aad[512];
    uint8_t tag[CTL_WRAP_TAG_LEN];
    size_t aadlen = wrap_aad(vm_id, vtpm_id, aad, sizeof(aad));
    const uint8_t *nonce = NULL, *ct = NULL;
    uint8_t version = 0;
    int outl = 0, rc = -1;
    EVP_CIPHER_CTX *c = NULL;
    struct rd r;

    /* The registry's bytes are untrusted: read them through the bounded reader. */
    rd_init(&r, wrapped, len);
    rd_u8(&r, &version);
    rd_ptr(&r, CTL_WRAP_NONCE_LEN, &nonce);
    rd_ptr(&r, CTL_KEY_LEN, &ct);
    rd_bytes(&r, tag, sizeof(tag));
    if (!rd_done(&r) || version != WRAP_VERSION || aadlen == 0) {
        ctl_fail(e, CTL_E_KEY, "the wrapped key of VM %s in the registry is malformed "
                 "(%zu bytes); refused", vm_id, len);
        goto out;
    }
    c = EVP_CIPHER_CTX_new();
    if (!c || EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, CTL_WRAP_NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(c, NULL, NULL, k->key, nonce) != 1 ||
        EVP_DecryptUpdate(c, NULL, &outl, aad, (int)aadlen) != 1 ||
        EVP_DecryptUpdate(c, key, &outl, ct, CTL_KEY_LEN) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CTL_WRAP_TAG_LEN, tag) != 1) {
        ctl_fail(e, CTL_E_INTERNAL, "OpenSSL failed while unwrapping the key of VM %s", vm_id);
        goto out;
    }
    if (EVP_DecryptFinal_ex(c, key + outl, &outl) != 1) {
        ctl_fail(e, CTL_E_KEY, "the wrapped key of VM %s does not authenticate under the host "
                 "key: it was wrapped by another host key, for another VM or vTPM, or "
                 "changed; refused", vm_id);
        goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    if (rc != 0) {
        secret_wipe(key, CTL_KEY_LEN);
    }
    return rc;
}

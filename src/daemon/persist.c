/* vtpmd's state files (see persist.h): format, atomic durable replace, directory lock. */
#include "persist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/rw.h"
#include "common/secret.h"

struct persist {
    int dirfd;
    int lockfd;
    mode_t mode;
    persist_fault_fn fault;
    void *fault_ctx;
};

static const struct {
    const char *file;
    const char *tmp;
    const char *name;
    uint16_t tag;
} part_files[] = {
    [TPM_STATE_PERMANENT] = {"tpm2-00.permall", "TMP2-00.permall", "permall", 1},
    [TPM_STATE_VOLATILE] = {"tpm2-00.volatilestate", "TMP2-00.volatilestate", "volatilestate", 2},
};

const char *persist_file_name(enum tpm_state_part part)
{
    return part_files[part].file;
}

const char *persist_state_name(enum tpm_state_part part)
{
    return part_files[part].name;
}

/* CRC-32 as IEEE 802.3 / zlib define it (reflected, polynomial 0xEDB88320). */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        }
    }
    return ~c;
}

size_t persist_encode(enum tpm_state_part part, const uint8_t *payload, size_t len, uint8_t *out,
                      size_t cap)
{
    struct wr w;
    if (len > PERSIST_MAX_FILE - PERSIST_OVERHEAD) {
        return 0;
    }
    wr_init(&w, out, cap);
    wr_bytes(&w, PERSIST_MAGIC, 8);
    wr_u16(&w, PERSIST_VERSION);
    wr_u16(&w, part_files[part].tag);
    wr_u32(&w, (uint32_t)len);
    wr_bytes(&w, payload, len);
    if (w.err) {
        return 0;
    }
    wr_u32(&w, crc32_ieee(out, w.off));
    return w.err ? 0 : w.off;
}

int persist_decode(enum tpm_state_part part, const uint8_t *file, size_t len,
                   const uint8_t **payload, size_t *plen)
{
    struct rd r;
    uint8_t magic[8];
    uint16_t version, tag;
    uint32_t n, crc;
    const uint8_t *body;

    rd_init(&r, file, len);
    if (!rd_bytes(&r, magic, sizeof(magic)) || memcmp(magic, PERSIST_MAGIC, 8) != 0) {
        return -EINVAL;
    }
    /* A newer format version is refused rather than misread. */
    if (!rd_u16(&r, &version) || version == 0 || version > PERSIST_VERSION) {
        return -EINVAL;
    }
    if (!rd_u16(&r, &tag) || tag != part_files[part].tag || !rd_u32(&r, &n) ||
        !rd_ptr(&r, n, &body) || !rd_u32(&r, &crc) || !rd_done(&r)) {
        return -EINVAL;
    }
    if (crc != crc32_ieee(file, len - 4)) {
        return -EINVAL;
    }
    *payload = body;
    *plen = n;
    return 0;
}

static int fault(struct persist *p, const char *point)
{
    int e = p->fault ? p->fault(point, p->fault_ctx) : 0;
    return e > 0 ? -e : e;
}

int persist_open(const char *dir, mode_t mode, struct persist **out)
{
    struct persist *p = calloc(1, sizeof(*p));
    struct flock fl;
    int rc;

    if (!p) {
        return -ENOMEM;
    }
    p->lockfd = -1;
    p->mode = mode;
    p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dirfd < 0) {
        rc = -errno;
        goto out;
    }
    p->lockfd = openat(p->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
    if (p->lockfd < 0) {
        rc = -errno;
        goto out;
    }
    /* An open-file-description lock survives --daemon's fork, unlike a process lock, and
     * conflicts with swtpm's F_SETLK lock on the same file. */
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(p->lockfd, F_OFD_SETLK, &fl) != 0) {
        rc = (errno == EAGAIN || errno == EACCES) ? -EBUSY : -errno;
        goto out;
    }
    *out = p;
    p = NULL;
    rc = 0;
out:
    persist_close(p);
    return rc;
}

void persist_close(struct persist *p)
{
    if (!p) {
        return;
    }
    if (p->lockfd >= 0) {
        close(p->lockfd);
    }
    if (p->dirfd >= 0) {
        close(p->dirfd);
    }
    free(p);
}

void persist_set_fault(struct persist *p, persist_fault_fn fn, void *ctx)
{
    p->fault = fn;
    p->fault_ctx = ctx;
}

static int read_all(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -errno;
        }
        if (r == 0) {
            return -EINVAL; /* shorter than fstat said: changed under us */
        }
        got += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -errno;
        }
        done += (size_t)w;
    }
    return 0;
}

int persist_load(struct persist *p, enum tpm_state_part part, struct tpm_buf *out)
{
    uint8_t *file = NULL;
    size_t size = 0;
    const uint8_t *payload;
    size_t plen;
    struct stat st;
    int rc;
    int fd = openat(p->dirfd, part_files[part].file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        goto out;
    }
    /* The size is checked before anything is allocated for it. */
    if (st.st_size > (off_t)PERSIST_MAX_FILE) {
        rc = -EFBIG;
        goto out;
    }
    size = (size_t)st.st_size;
    file = malloc(size ? size : 1);
    if (!file) {
        rc = -ENOMEM;
        goto out;
    }
    rc = read_all(fd, file, size);
    if (rc != 0) {
        goto out;
    }
    rc = persist_decode(part, file, size, &payload, &plen);
    if (rc != 0) {
        goto out;
    }
    tpm_buf_free(out);
    out->data = malloc(plen ? plen : 1);
    if (!out->data) {
        rc = -ENOMEM;
        goto out;
    }
    memcpy(out->data, payload, plen);
    out->len = plen;
    out->cap = plen ? plen : 1;
    rc = 0;
out:
    if (file) {
        secret_wipe(file, size);
        free(file);
    }
    close(fd);
    return rc;
}

int persist_save(struct persist *p, enum tpm_state_part part, const uint8_t *data, size_t len)
{
    const char *tmp = part_files[part].tmp;
    size_t cap = len + PERSIST_OVERHEAD;
    uint8_t *image = malloc(cap);
    size_t n;
    int fd = -1;
    int rc;

    if (!image) {
        return -ENOMEM;
    }
    n = persist_encode(part, data, len, image, cap);
    if (n == 0) {
        rc = -EFBIG;
        goto out;
    }
    rc = fault(p, "open");
    if (rc != 0) {
        goto out;
    }
    fd = openat(p->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, p->mode);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    /* The mode is what --tpmstate asked for, whatever the umask. */
    if (fchmod(fd, p->mode) != 0) {
        rc = -errno;
        goto out_unlink;
    }
    rc = fault(p, "write");
    if (rc == 0) {
        rc = write_all(fd, image, n);
    }
    if (rc != 0) {
        goto out_unlink;
    }
    rc = fault(p, "fsync");
    if (rc == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    if (rc != 0) {
        goto out_unlink;
    }
    close(fd);
    fd = -1;
    rc = fault(p, "rename");
    if (rc == 0 && renameat(p->dirfd, tmp, p->dirfd, part_files[part].file) != 0) {
        rc = -errno;
    }
    if (rc != 0) {
        goto out_unlink;
    }
    /* The rename is durable only once the directory is. Should this fail, the new file is
     * in place but may not survive a crash: report the failure so the command fails. */
    rc = fault(p, "dirsync");
    if (rc == 0 && fsync(p->dirfd) != 0) {
        rc = -errno;
    }
    goto out;

out_unlink:
    (void)unlinkat(p->dirfd, tmp, 0);
out:
    if (fd >= 0) {
        close(fd);
    }
    secret_wipe(image, cap);
    free(image);
    return rc;
}

int persist_remove(struct persist *p, enum tpm_state_part part)
{
    int rc = fault(p, "unlink");
    if (rc != 0) {
        return rc;
    }
    if (unlinkat(p->dirfd, part_files[part].file, 0) != 0 && errno != ENOENT) {
        return -errno;
    }
    if (fsync(p->dirfd) != 0) {
        return -errno;
    }
    return 0;
}

int persist_stat(const char *dir, enum tpm_state_part part, uint64_t *size)
{
    struct stat st;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (dfd < 0) {
        return -errno;
    }
    if (fstatat(dfd, part_files[part].file, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        rc = -errno;
    } else if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
    } else {
        *size = (uint64_t)st.st_size;
    }
    close(dfd);
    return rc;
}

/* The vTPM file under --tpmstate (see vfile.h): folder lock, open, create, stat. */
#include "vfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/secret.h"

int vfile_lock(struct vfile *v, const char *dir, char *err, size_t errlen)
{
    struct flock fl;
    int dfd;

    memset(v, 0, sizeof(*v));
    v->lockfd = -1;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "--tpmstate: cannot use '%s': %s", dir, strerror(errno));
        return -1;
    }
    /* The lock file's mode does not matter: it holds nothing. */
    v->lockfd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    close(dfd);
    if (v->lockfd < 0) {
        snprintf(err, errlen, "--tpmstate: cannot use '%s': %s", dir, strerror(errno));
        return -1;
    }
    /* An open-file-description lock survives --daemon's fork, unlike a process lock, and
     * conflicts with swtpm's F_SETLK lock on the same file. */
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(v->lockfd, F_OFD_SETLK, &fl) != 0) {
        int e = errno;
        close(v->lockfd);
        v->lockfd = -1;
        if (e == EAGAIN || e == EACCES) {
            snprintf(err, errlen, "--tpmstate: '%s' is in use by another vtpmd or swtpm", dir);
        } else {
            snprintf(err, errlen, "--tpmstate: cannot lock '%s': %s", dir, strerror(e));
        }
        return -1;
    }
    v->path = malloc(strlen(dir) + sizeof(VFILE_NAME) + 1);
    if (!v->path) {
        snprintf(err, errlen, "--tpmstate: out of memory");
        vfile_close(v);
        return -1;
    }
    sprintf(v->path, "%s/%s", dir, VFILE_NAME);
    return 0;
}

int vfile_load(struct vfile *v, const uint8_t key[STORE_KEY_LEN], const char *vm_id,
               struct store_blob *perm, char *err, size_t errlen)
{
    struct stat st;
    int rc;

    memset(perm, 0, sizeof(*perm));
    v->note[0] = '\0';
    if (lstat(v->path, &st) != 0 && errno == ENOENT) {
        return -ENOENT;
    }
    rc = store_open(v->path, key, vm_id, &v->store, err, errlen);
    if (rc != 0) {
        return rc;
    }
    snprintf(v->note, sizeof(v->note), "%s", store_message(v->store));
    rc = store_read(v->store, perm);
    if (rc != 0) {
        snprintf(err, errlen, "%s", store_message(v->store));
        store_close(v->store);
        v->store = NULL;
    }
    return rc;
}

int vfile_create(struct vfile *v, const uint8_t key[STORE_KEY_LEN], const char *vm_id,
                 const uint8_t *state, size_t len, char *err, size_t errlen)
{
    uint8_t id[STORE_ID_LEN];
    int rc;

    if (RAND_bytes(id, sizeof(id)) != 1) {
        snprintf(err, errlen, "cannot create vTPM file %s: no randomness for its id", v->path);
        return -EIO;
    }
    rc = store_create(v->path, key, vm_id, id, state, len, err, errlen);
    if (rc == 0) {
        rc = store_open(v->path, key, vm_id, &v->store, err, errlen);
    }
    return rc;
}

void vfile_close(struct vfile *v)
{
    store_close(v->store);
    v->store = NULL;
    if (v->lockfd >= 0) {
        close(v->lockfd);
        v->lockfd = -1;
    }
    free(v->path);
    v->path = NULL;
}

int vfile_stat(const char *dir, uint64_t *size, int *zero_key)
{
    static const uint8_t zero[STORE_KEY_LEN];
    uint8_t head[48], id[STORE_ID_LEN];
    struct stat st;
    int dfd, fd, rc = 0;

    *zero_key = -1;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return -errno;
    }
    fd = openat(dfd, VFILE_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    close(dfd);
    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
    } else {
        *size = (uint64_t)st.st_size;
        /* docs/STATE-FORMAT.md: magic "VTPMFILE", be16 version 1, key id at bytes 32..48. */
        if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
            memcmp(head, "VTPMFILE", 8) == 0 && head[8] == 0 && head[9] == 1 &&
            store_key_id(zero, id) == 0) {
            *zero_key = memcmp(head + 32, id, sizeof(id)) == 0;
        }
    }
    close(fd);
    return rc;
}

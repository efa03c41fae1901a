/*
 * The data dir: where it is, opening it and its registry, paths, ids, dates, per-VM locks,
 * durable folder creation and removal (see ctl.h for the layout).
 */
#include "ctl/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/secret.h"

int ctl_default_data_dir(char *buf, size_t cap, struct ctl_err *e)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (geteuid() == 0) {
        n = snprintf(buf, cap, "/var/lib/vtpm");
    } else if (xdg && xdg[0] == '/') {
        n = snprintf(buf, cap, "%s/vtpm", xdg);
    } else if (home && home[0] == '/') {
        n = snprintf(buf, cap, "%s/.local/share/vtpm", home);
    } else {
        return ctl_fail(e, CTL_E_DATA_DIR, "no data dir: neither XDG_DATA_HOME nor HOME is an "
                        "absolute path; give --data-dir");
    }
    if (n < 0 || (size_t)n >= cap) {
        return ctl_fail(e, CTL_E_DATA_DIR, "the default data dir path is too long; give "
                        "--data-dir");
    }
    return 0;
}

int ctl_path(struct ctl *c, char *buf, const char *fmt, ...)
{
    char rel[PATH_MAX];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(rel) ||
        snprintf(buf, PATH_MAX, "%s/%s", c->data_dir, rel) >= PATH_MAX) {
        return ctl_fail(&c->err, CTL_E_DATA_DIR, "a path under the data dir %s is too long",
                        c->data_dir);
    }
    return 0;
}

static int sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;
    if (fd < 0) {
        return -errno;
    }
    rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

static int sync_parent(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
        return -ENAMETOOLONG;
    }
    return sync_dir(dirname(buf));
}

int ctl_mkdir_durable(const char *path)
{
    if (mkdir(path, 0700) != 0) {
        struct stat st;
        if (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            return 0;
        }
        return errno == EEXIST ? -ENOTDIR : -errno;
    }
    return sync_parent(path);
}

/* mkdir -p, 0700 for each folder it makes. */
static int mkdir_parents(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf)) {
        return -ENAMETOOLONG;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char saved = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
                return -errno;
            }
            buf[i] = saved;
        }
    }
    return 0;
}

/* Does the folder hold any entry besides . and ..? */
static bool dir_has_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    bool any = false;
    if (!d) {
        return false;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            any = true;
            break;
        }
    }
    closedir(d);
    return any;
}

int ctl_open(struct ctl *c, bool write)
{
    struct stat st;
    char reg_path[PATH_MAX], vtpm_dir[PATH_MAX];
    bool reg_missing;
    int rc;

    if (write) {
        rc = mkdir_parents(c->data_dir);
        if (rc != 0 && rc != -EEXIST) {
            return ctl_fail(&c->err, CTL_E_DATA_DIR, "cannot make the data dir %s: %s; nothing "
                            "was changed", c->data_dir, strerror(-rc));
        }
    }
    if (stat(c->data_dir, &st) != 0) {
        if (!write && errno == ENOENT) {
            return 0; /* nothing recorded yet: read commands list nothing */
        }
        return ctl_fail(&c->err, CTL_E_DATA_DIR, "cannot use the data dir %s: %s",
                        c->data_dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return ctl_fail(&c->err, CTL_E_DATA_DIR, "the data dir %s is not a directory; refused",
                        c->data_dir);
    }
    if (write && access(c->data_dir, W_OK | X_OK) != 0) {
        return ctl_fail(&c->err, CTL_E_DATA_DIR, "the data dir %s is not writable (%s); "
                        "refused, nothing was changed", c->data_dir, strerror(errno));
    }
    if (ctl_path(c, reg_path, "registry.db") != 0 || ctl_path(c, vtpm_dir, "vtpm") != 0) {
        return -1;
    }
    reg_missing = stat(reg_path, &st) != 0 || (S_ISREG(st.st_mode) && st.st_size == 0);
    if (reg_missing) {
        /* Never start a new registry over vTPMs: the sweep would take them for orphans. */
        if (dir_has_entries(vtpm_dir)) {
            return ctl_fail(&c->err, CTL_E_REGISTRY, "the registry %s is missing or empty but "
                            "the data dir holds vTPM folders (%s); refused, nothing was "
                            "changed: restore the registry", reg_path, vtpm_dir);
        }
        if (!write) {
            return 0;
        }
    }
    rc = reg_open(reg_path, write ? REG_WRITE : REG_READ, CTL_BUSY_MS, &c->reg, &c->err);
    if (rc == REG_NOT_FOUND) {
        c->reg = NULL;
        return 0;
    }
    if (rc != 0) {
        return -1;
    }
    c->writable = write;
    return 0;
}

void ctl_close(struct ctl *c)
{
    reg_close(c->reg);
    c->reg = NULL;
    if (c->kek_loaded) {
        kek_wipe(&c->kek);
        c->kek_loaded = false;
    }
}

int ctl_kek(struct ctl *c, bool create)
{
    char path[PATH_MAX], recorded[REG_HEX_ID_MAX];
    int rc;
    if (c->kek_loaded) {
        return 0;
    }
    if (ctl_path(c, path, "kek") != 0) {
        return -1;
    }
    rc = reg_meta_get(c->reg, "kek_id", recorded, sizeof(recorded), &c->err);
    if (rc < 0) {
        return -1;
    }
    /* A registry that already wraps keys never gets a new KEK made for it. */
    if (kek_load(path, create && rc == REG_NOT_FOUND, &c->kek, &c->err) != 0) {
        return -1;
    }
    if (rc == 0 && strcmp(recorded, c->kek.id) != 0) {
        kek_wipe(&c->kek);
        return ctl_fail(&c->err, CTL_E_KEY, "the host key %s (id %s) is not the key that "
                        "wrapped this registry's vTPM keys (id %s); refused", path, c->kek.id,
                        recorded);
    }
    if (rc == REG_NOT_FOUND && reg_meta_set(c->reg, "kek_id", c->kek.id, &c->err) != 0) {
        kek_wipe(&c->kek);
        return -1;
    }
    c->kek_loaded = true;
    return 0;
}

void ctl_now(char buf[REG_TIME_MAX])
{
    struct timespec ts;
    struct tm tm;
    char date[24];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        date[0] = '\0';
    }
    snprintf(buf, REG_TIME_MAX, "%s.%03dZ", date, (int)(ts.tv_nsec / 1000000) % 1000);
}

int ctl_new_id(const char *prefix, char buf[REG_ID_MAX], struct ctl_err *e)
{
    uint8_t r[4];
    if (key_random_public(r, sizeof(r), e) != 0) {
        return -1;
    }
    snprintf(buf, REG_ID_MAX, "%s-%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3]);
    return 0;
}

bool ctl_id_valid(const char *prefix, const char *id)
{
    size_t n = strlen(prefix);
    if (strncmp(id, prefix, n) != 0 || id[n] != '-' || strlen(id + n + 1) != 8) {
        return false;
    }
    for (const char *p = id + n + 1; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            return false;
        }
    }
    return true;
}

int ctl_lock_vm(struct ctl *c, const char *vm_id, bool wait)
{
    char dir[PATH_MAX], path[PATH_MAX];
    int fd, rc;
    if (ctl_path(c, dir, "locks") != 0 || ctl_path(c, path, "locks/%s.lock", vm_id) != 0) {
        return -1;
    }
    rc = ctl_mkdir_durable(dir);
    if (rc != 0) {
        return ctl_fail(&c->err, CTL_E_DATA_DIR, "cannot make %s: %s", dir, strerror(-rc));
    }
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return ctl_fail(&c->err, CTL_E_DATA_DIR, "cannot open the lock %s: %s", path,
                        strerror(errno));
    }
    while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
        if (errno == EINTR) {
            continue;
        }
        close(fd);
        if (!wait && errno == EWOULDBLOCK) {
            return -2;
        }
        return ctl_fail(&c->err, CTL_E_DATA_DIR, "cannot lock %s: %s", path, strerror(errno));
    }
    return fd;
}

void ctl_unlock(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}

/* Overwrite a regular file with zeros and sync it (best effort: see docs/vtpmctl.md). */
static void shred_file(int dirfd, const char *name, off_t size)
{
    static const uint8_t zeros[4096];
    int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    off_t done = 0;
    if (fd < 0) {
        return;
    }
    while (done < size) {
        size_t n = size - done > (off_t)sizeof(zeros) ? sizeof(zeros) : (size_t)(size - done);
        ssize_t w = write(fd, zeros, n);
        if (w <= 0) {
            break;
        }
        done += w;
    }
    fdatasync(fd);
    close(fd);
}

static int remove_dir(const char *path, bool shred, int depth)
{
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d;
    struct dirent *de;
    int rc = 0;
    if (dfd < 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return -errno;
    }
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            char sub[PATH_MAX];
            if (depth >= 2 || snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
                                  (int)sizeof(sub)) {
                rc = -ENOTEMPTY;
                continue;
            }
            int r = remove_dir(sub, shred, depth + 1);
            if (r != 0) {
                rc = r;
            }
            continue;
        }
        if (shred && S_ISREG(st.st_mode)) {
            shred_file(dfd, de->d_name, st.st_size);
        }
        if (unlinkat(dfd, de->d_name, 0) != 0 && errno != ENOENT) {
            rc = -errno;
        }
    }
    closedir(d);
    if (rc == 0 && rmdir(path) != 0 && errno != ENOENT) {
        rc = -errno;
    }
    return rc;
}

int ctl_remove_file(const char *path, bool shred)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    if (shred && S_ISREG(st.st_mode)) {
        shred_file(AT_FDCWD, path, st.st_size);
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        return -errno;
    }
    return sync_parent(path);
}

int ctl_remove_tree(const char *path, bool shred)
{
    int rc = remove_dir(path, shred, 0);
    if (rc == 0) {
        rc = sync_parent(path);
    }
    return rc;
}

/*
 * The vTPM file: opening, reading and committing (see store.h; the layout is format.c's,
 * the cryptography seal.c's, the design docs/STATE-FORMAT.md's).
 *
 * Two ways of writing, chosen per commit:
 *  - in place: the record is sealed into the slot that does not hold the newest good state,
 *    with one pwrite of the whole slot and one fdatasync. A crash part-way leaves a slot that
 *    fails authentication next to the untouched older one.
 *  - whole file ("publish"): when a file is created, or a blob outgrows its slot, or the
 *    volatile slots are added, a complete new image is written to a temporary file in the
 *    same folder, fsynced, renamed over the file, and the folder fsynced.
 * Named fault points (store_fault.h) sit before each system call that can fail.
 */
#include "store/store.h"

#include "common/secret.h"
#include "store/format.h"
#include "store/seal.h"
#include "store/store_fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fault hook (tests only) ------------------------------------------------------------ */

static store_fault_fn fault_fn;
static void *fault_ctx;

void store_fault_set(store_fault_fn fn, void *ctx)
{
    fault_fn = fn;
    fault_ctx = ctx;
}

const char *store_fault_name(enum store_fault point)
{
    static const char *const names[STORE_FAULT_COUNT] = {
        [STORE_FAULT_SEAL] = "seal",
        [STORE_FAULT_WRITE] = "write",
        [STORE_FAULT_WRITE_TORN] = "write-torn",
        [STORE_FAULT_SYNC] = "sync",
        [STORE_FAULT_COMMIT_DONE] = "commit-done",
        [STORE_FAULT_INVALIDATE] = "invalidate",
        [STORE_FAULT_TMP_CREATE] = "tmp-create",
        [STORE_FAULT_TMP_WRITE] = "tmp-write",
        [STORE_FAULT_TMP_TORN] = "tmp-torn",
        [STORE_FAULT_TMP_SYNC] = "tmp-sync",
        [STORE_FAULT_RENAME] = "rename",
        [STORE_FAULT_DIR_SYNC] = "dir-sync",
        [STORE_FAULT_REWRITE_DONE] = "rewrite-done",
    };
    return (unsigned)point < STORE_FAULT_COUNT ? names[point] : "?";
}

static int fault(enum store_fault point)
{
    return fault_fn ? fault_fn(point, fault_ctx) : 0;
}

/* ---- the store -------------------------------------------------------------------------- */

struct store_chan {
    int cur;           /* slot holding the newest good record; -1: no slots */
    uint64_t gen;      /* its generation */
    uint64_t next_gen; /* the next commit's generation (never handed out twice) */
    /* Bytes of each slot that may be non-zero (a record's length, or the whole slot when its
     * content is unknown): an in-place commit rewrites only these and its own record. */
    size_t used[2];
};

struct store {
    int fd;    /* the live file, flock()ed */
    int dirfd; /* its folder: renames and fsyncs go through it */
    char *name;
    char *path; /* as the caller gave it, for messages */
    char *vm_id;
    struct seal_keys keys;
    struct seal_ctx *seal;
    struct fmt_header hdr;
    uint8_t hdr_raw[FMT_HDR_LEN];
    struct store_chan chan[FMT_NCHAN];
    uint8_t *buf; /* one slot, reused by in-place commits */
    size_t buf_cap;
    char msg[STORE_ERR_LEN];
};

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void store_blob_free(struct store_blob *b)
{
    if (!b) {
        return;
    }
    secret_wipe(b->data, b->len);
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* ---- key material ----------------------------------------------------------------------- */

/*
 * Value of one hex digit, computed without branching on the digit; *bad gets 1 when c is not
 * one. (x >> 8) & 1 is 1 exactly when an unsigned x below 256 went "negative".
 */
static unsigned hex_digit(uint8_t c, unsigned *bad)
{
    unsigned x = c;
    unsigned num = x ^ 0x30u;              /* '0'..'9' -> 0..9 */
    unsigned alpha = (x & ~0x20u) - 0x41u; /* 'A'..'F', 'a'..'f' -> 0..5 */
    unsigned num_ok = ((num - 10u) >> 8) & 1u;
    unsigned alpha_ok = ((alpha - 6u) >> 8) & ~(alpha >> 8) & 1u;
    *bad |= 1u ^ (num_ok | alpha_ok);
    return ((num & (0u - num_ok)) | ((alpha + 10u) & (0u - alpha_ok))) & 0xfu;
}

int store_key_parse(uint8_t *in, size_t len, uint8_t key[STORE_KEY_LEN])
{
    int rc = -EINVAL;
    if (!in || !key) {
        goto out;
    }
    if (len == STORE_KEY_LEN) {
        memcpy(key, in, STORE_KEY_LEN);
        rc = 0;
        goto out;
    }
    size_t digits = len;
    if (digits == 2 * STORE_KEY_LEN + 1 && in[digits - 1] == '\n') {
        digits--;
    }
    if (digits != 2 * STORE_KEY_LEN) {
        goto out;
    }
    unsigned bad = 0;
    for (size_t i = 0; i < STORE_KEY_LEN; i++) {
        unsigned hi = hex_digit(in[2 * i], &bad), lo = hex_digit(in[2 * i + 1], &bad);
        key[i] = (uint8_t)((hi << 4) | lo);
    }
    rc = bad ? -EINVAL : 0;
out:
    if (in) {
        secret_wipe(in, len);
    }
    if (rc != 0 && key) {
        secret_wipe(key, STORE_KEY_LEN);
    }
    return rc;
}

int store_key_id(const uint8_t key[STORE_KEY_LEN], uint8_t id[STORE_ID_LEN])
{
    struct seal_keys k;
    int rc = seal_derive(key, &k);
    if (rc == 0) {
        memcpy(id, k.id, STORE_ID_LEN);
    }
    WIPE(&k);
    return rc;
}

/* ---- system calls, each behind its fault point ------------------------------------------ */

/* Write n bytes at off. A fault at the torn point writes the first torn_at bytes, then fails. */
static int write_all(int fd, const uint8_t *p, size_t n, off_t off, enum store_fault whole,
                     enum store_fault torn, size_t torn_at)
{
    int rc = fault(whole);
    if (rc != 0) {
        return rc;
    }
    rc = fault(torn);
    if (rc != 0) {
        /* Leave what a crash or a full disk part-way through would leave. */
        if (pwrite(fd, p, torn_at < n ? torn_at : n, off) < 0) {
            return -errno;
        }
        return rc;
    }
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -errno;
        }
        if (w == 0) {
            return -EIO;
        }
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -errno;
        }
        if (r == 0) {
            return -EIO; /* the file shrank under us */
        }
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

static int sys_rc(int r)
{
    return r < 0 ? -errno : 0;
}

/* Split path into an open folder and a file name. */
static int path_split(const char *path, int *dirfd, char **name)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = NULL;
    int rc = 0;

    *dirfd = -1;
    *name = NULL;
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        return -EINVAL;
    }
    if (!slash) {
        dir = strdup(".");
    } else if (slash == path) {
        dir = strdup("/");
    } else {
        dir = strndup(path, (size_t)(slash - path));
    }
    *name = strdup(base);
    if (!dir || !*name) {
        rc = -ENOMEM;
        goto out;
    }
    *dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0) {
        rc = -errno;
    }
out:
    free(dir);
    if (rc != 0) {
        free(*name);
        *name = NULL;
    }
    return rc;
}

/* The temporary name of a whole-file write: "<name>.tmp-" and six random letters. */
#define TMP_SUFFIX ".tmp-"
#define TMP_RAND 6

static int tmp_name(const char *name, char *out, size_t n)
{
    uint8_t r[TMP_RAND];
    char tail[TMP_RAND + 1];
    int rc = seal_random(r, sizeof(r));
    if (rc != 0) {
        return rc;
    }
    for (int i = 0; i < TMP_RAND; i++) {
        tail[i] = (char)('a' + r[i] % 26);
    }
    tail[TMP_RAND] = '\0';
    if ((size_t)snprintf(out, n, "%s%s%s", name, TMP_SUFFIX, tail) >= n) {
        return -ENAMETOOLONG;
    }
    return 0;
}

/* Move tmp to name only if name does not exist. */
static int rename_noreplace(int dirfd, const char *tmp, const char *name)
{
    if (renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) == 0) {
        return 0;
    }
    if (errno != EINVAL && errno != ENOSYS) {
        return -errno;
    }
    /* File systems without RENAME_NOREPLACE: a hard link also refuses an existing name. */
    if (linkat(dirfd, tmp, dirfd, name, 0) != 0) {
        return -errno;
    }
    unlinkat(dirfd, tmp, 0);
    return 0;
}

/*
 * Write a whole file image under a temporary name, sync it, move it to name (replacing what
 * is there, or only if nothing is), sync the folder. With fd_out the new file stays open and
 * locked and is handed over as soon as it carries the name (even when the folder sync then
 * fails: *fd_out >= 0 tells the caller the new file is the live one). *what names the step
 * that failed.
 */
static int publish(int dirfd, const char *name, const uint8_t *img, size_t n, bool replace,
                   int *fd_out, const char **what)
{
    char tmp[NAME_MAX + 1];
    int fd = -1, rc = 0;
    bool named = false;

    if (fd_out) {
        *fd_out = -1;
    }
    *what = "creating a temporary file";
    for (int tries = 0; fd < 0 && tries < 8; tries++) {
        rc = tmp_name(name, tmp, sizeof(tmp));
        if (rc == 0) {
            rc = fault(STORE_FAULT_TMP_CREATE);
        }
        if (rc != 0) {
            return rc;
        }
        fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno != EEXIST) {
            return -errno;
        }
    }
    if (fd < 0) {
        return -EEXIST;
    }
    /* The mode is 0600 whatever the umask; the lock is taken before anyone can see the name. */
    rc = sys_rc(fchmod(fd, 0600));
    if (rc == 0 && fd_out) {
        rc = sys_rc(flock(fd, LOCK_EX | LOCK_NB));
    }
    if (rc != 0) {
        goto out;
    }
    *what = "writing the temporary file";
    rc = write_all(fd, img, n, 0, STORE_FAULT_TMP_WRITE, STORE_FAULT_TMP_TORN, n / 2);
    if (rc != 0) {
        goto out;
    }
    *what = "syncing the temporary file";
    rc = fault(STORE_FAULT_TMP_SYNC);
    if (rc == 0) {
        rc = sys_rc(fsync(fd));
    }
    if (rc != 0) {
        goto out;
    }
    *what = replace ? "renaming the temporary file over the file" : "giving the file its name";
    rc = fault(STORE_FAULT_RENAME);
    if (rc == 0) {
        rc = replace ? sys_rc(renameat(dirfd, tmp, dirfd, name))
                     : rename_noreplace(dirfd, tmp, name);
    }
    if (rc != 0) {
        goto out;
    }
    named = true;
    if (fd_out) {
        *fd_out = fd;
        fd = -1;
    }
    *what = "syncing the folder";
    rc = fault(STORE_FAULT_DIR_SYNC);
    if (rc == 0) {
        rc = sys_rc(fsync(dirfd));
    }
    if (rc == 0) {
        fault(STORE_FAULT_REWRITE_DONE);
    }
out:
    if (!named) {
        unlinkat(dirfd, tmp, 0);
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

/* Remove temporary files a crash during a whole-file write left behind (we hold the lock). */
static void remove_stale_tmps(const struct store *s)
{
    size_t nlen = strlen(s->name), plen = strlen(TMP_SUFFIX);
    int fd = dup(s->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    if (!d) {
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strlen(e->d_name) == nlen + plen + TMP_RAND && strncmp(e->d_name, s->name, nlen) == 0 &&
            strncmp(e->d_name + nlen, TMP_SUFFIX, plen) == 0) {
            unlinkat(s->dirfd, e->d_name, 0);
        }
    }
    closedir(d);
}

/* ---- reading the file ------------------------------------------------------------------- */

/* Read and verify the whole live file. On refusal s->msg says why. */
static int load(struct store *s, struct fmt_image *img)
{
    struct stat st;
    uint8_t *buf = NULL;
    char why[STORE_ERR_LEN];
    size_t n;
    int rc;

    memset(img, 0, sizeof(*img));
    img->newest[FMT_PERM] = img->newest[FMT_VOL] = -1;
    if (fstat(s->fd, &st) != 0) {
        rc = -errno;
        say(s->msg, sizeof(s->msg), "cannot read vTPM file %s: %s", s->path, strerror(-rc));
        return rc;
    }
    /* A file larger than any vTPM file is only read far enough to say what it is. */
    bool huge = (uint64_t)st.st_size > FMT_MAX_FILE;
    n = huge ? FMT_PAGE : (size_t)st.st_size;
    buf = malloc(n > 0 ? n : 1);
    if (!buf) {
        rc = -ENOMEM;
        say(s->msg, sizeof(s->msg), "cannot read vTPM file %s: out of memory", s->path);
        goto out;
    }
    rc = read_all(s->fd, buf, n, 0);
    if (rc != 0) {
        say(s->msg, sizeof(s->msg), "cannot read vTPM file %s: %s", s->path, strerror(-rc));
        goto out;
    }
    rc = fmt_parse(s->seal, &s->keys, s->vm_id, buf, n, img, why, sizeof(why));
    if (huge && (rc == 0 || rc == STORE_E_TRUNCATED)) {
        fmt_image_free(img);
        rc = STORE_E_CORRUPT;
        snprintf(why, sizeof(why), "corrupt: %lld bytes, larger than any vTPM file",
                 (long long)st.st_size);
    }
    if (rc != 0) {
        say(s->msg, sizeof(s->msg), "refusing vTPM file %s: %s", s->path, why);
    }
out:
    free(buf); /* ciphertext only */
    return rc;
}

/*
 * Note, in s->msg (after what is there), a pair of slots of which one did not verify.
 * Returns whether it did.
 */
static bool note_damage(struct store *s, const struct fmt_image *img, enum fmt_chan c)
{
    int good = img->newest[c];
    if (good < 0 || img->slot[c][good ^ 1].good) {
        return false;
    }
    const struct fmt_slot *bad = &img->slot[c][good ^ 1];
    char claim[48] = "";
    size_t used = strlen(s->msg);
    if (bad->claimed) {
        snprintf(claim, sizeof(claim), ", claims generation %" PRIu64, bad->gen);
    }
    say(s->msg + used, sizeof(s->msg) - used,
        "%svTPM file %s: slot %s of the %s state did not verify (%s%s); using generation %" PRIu64
        " from slot %s",
        used ? "; " : "", s->path, good ? "A" : "B", fmt_chan_name(c), bad->why, claim,
        img->slot[c][good].gen, good ? "B" : "A");
    return true;
}

/* Hand the plaintext of the newest record of c to out. */
static void take_newest(struct store *s, struct fmt_image *img, enum fmt_chan c,
                        struct store_blob *out)
{
    struct fmt_slot *sl = &img->slot[c][img->newest[c]];
    out->len = sl->len;
    out->data = sl->len > 0 ? sl->data : NULL;
    if (sl->len == 0) {
        free(sl->data);
    }
    sl->data = NULL;
    sl->len = 0;
    out->generation = sl->gen;
    out->fell_back = note_damage(s, img, c);
}

static void adopt(struct store *s, const struct fmt_image *img)
{
    s->hdr = img->hdr;
    memcpy(s->hdr_raw, img->hdr_raw, FMT_HDR_LEN);
    for (int c = 0; c < FMT_NCHAN; c++) {
        struct store_chan *ch = &s->chan[c];
        ch->cur = img->newest[c];
        ch->gen = ch->cur >= 0 ? img->slot[c][ch->cur].gen : 0;
        if (ch->next_gen <= ch->gen) {
            ch->next_gen = ch->gen + 1;
        }
        for (int i = 0; i < 2; i++) {
            const struct fmt_slot *sl = &img->slot[c][i];
            ch->used[i] = sl->good ? FMT_REC_OVERHEAD + sl->len : img->hdr.slot_size[c];
        }
    }
}

/* ---- create, open, close ---------------------------------------------------------------- */

static bool args_ok(const char *path, const char *vm_id, const uint8_t *blob, size_t len, char *err,
                    size_t errlen, int *rc)
{
    if (!path || !*path) {
        say(err, errlen, "no vTPM file path was given");
        *rc = -EINVAL;
        return false;
    }
    if (!fmt_vm_id_ok(vm_id)) {
        say(err, errlen,
            "refusing vTPM file %s: the VM id must be 1 to %d printable ASCII "
            "characters",
            path, STORE_VM_ID_MAX);
        *rc = -EINVAL;
        return false;
    }
    if (len > STORE_MAX_BLOB) {
        say(err, errlen, "refusing to store %zu bytes in vTPM file %s: the limit is %u", len, path,
            STORE_MAX_BLOB);
        *rc = -EFBIG;
        return false;
    }
    if (len > 0 && !blob) {
        *rc = -EINVAL;
        return false;
    }
    return true;
}

int store_create(const char *path, const uint8_t key[STORE_KEY_LEN], const char *vm_id,
                 const uint8_t vtpm_id[STORE_ID_LEN], const uint8_t *blob, size_t len, char *err,
                 size_t errlen)
{
    struct seal_keys k;
    struct seal_ctx *c = NULL;
    struct fmt_header h;
    uint8_t *img = NULL;
    char *name = NULL;
    int dirfd = -1, rc = 0;
    const char *what = "sealing the state";

    memset(&k, 0, sizeof(k));
    if (!args_ok(path, vm_id, blob, len, err, errlen, &rc)) {
        return rc;
    }
    memset(&h, 0, sizeof(h));
    memcpy(h.vtpm_id, vtpm_id, STORE_ID_LEN);
    h.slot_size[FMT_PERM] = fmt_slot_size_for(len);
    size_t n = fmt_file_size(&h);
    img = calloc(1, n);
    c = seal_ctx_new();
    if (!img || !c) {
        rc = -ENOMEM;
        goto out;
    }
    rc = seal_derive(key, &k);
    if (rc == 0) {
        rc = seal_vm_tag(&k, vm_id, h.vm_tag);
    }
    if (rc == 0) {
        rc = fmt_header_write(&h, &k, img);
    }
    /* Slot A holds generation 1; slot B an empty record, generation 0, for the next commit. */
    if (rc == 0) {
        rc = fmt_record_write(c, &k, img, vm_id, FMT_PERM, 0, 1, false, blob, len,
                              img + fmt_slot_offset(&h, FMT_PERM, 0), h.slot_size[FMT_PERM]);
    }
    if (rc == 0) {
        rc = fmt_record_write(c, &k, img, vm_id, FMT_PERM, 1, 0, true, NULL, 0,
                              img + fmt_slot_offset(&h, FMT_PERM, 1), h.slot_size[FMT_PERM]);
    }
    if (rc != 0) {
        goto out;
    }
    what = "opening its folder";
    rc = path_split(path, &dirfd, &name);
    if (rc != 0) {
        goto out;
    }
    rc = publish(dirfd, name, img, n, false, NULL, &what);
out:
    if (rc == -EEXIST) {
        say(err, errlen, "refusing to create vTPM file %s: it already exists", path);
    } else if (rc != 0) {
        say(err, errlen, "cannot create vTPM file %s: %s failed: %s", path, what, strerror(-rc));
    }
    if (dirfd >= 0) {
        close(dirfd);
    }
    free(name);
    free(img);
    seal_ctx_free(c);
    WIPE(&k);
    return rc;
}

/* Open name in s->dirfd and lock it, making sure the lock is on the file that has the name. */
static int open_locked(struct store *s)
{
    for (int tries = 0; tries < 5; tries++) {
        struct stat st, st2;
        int fd = openat(s->dirfd, s->name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            int rc = -errno;
            if (rc == -ELOOP) {
                say(s->msg, sizeof(s->msg),
                    "refusing vTPM file %s: it is a symbolic link "
                    "(give the path of the file itself)",
                    s->path);
            } else {
                say(s->msg, sizeof(s->msg), "cannot open vTPM file %s: %s", s->path, strerror(-rc));
            }
            return rc;
        }
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            say(s->msg, sizeof(s->msg), "refusing vTPM file %s: not a regular file", s->path);
            return -EINVAL;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int rc = errno == EWOULDBLOCK ? STORE_E_BUSY : -errno;
            close(fd);
            say(s->msg, sizeof(s->msg), "cannot open vTPM file %s: %s", s->path,
                rc == STORE_E_BUSY ? "another process has it open" : strerror(-rc));
            return rc;
        }
        /* A whole-file write by the previous holder may have renamed a new file over it. */
        if (fstatat(s->dirfd, s->name, &st2, AT_SYMLINK_NOFOLLOW) == 0 && st2.st_dev == st.st_dev &&
            st2.st_ino == st.st_ino) {
            s->fd = fd;
            return 0;
        }
        close(fd);
    }
    say(s->msg, sizeof(s->msg), "cannot open vTPM file %s: it keeps being replaced", s->path);
    return STORE_E_BUSY;
}

int store_open(const char *path, const uint8_t key[STORE_KEY_LEN], const char *vm_id,
               struct store **out, char *err, size_t errlen)
{
    struct store *s = NULL;
    struct fmt_image img;
    int rc = 0;

    memset(&img, 0, sizeof(img));
    *out = NULL;
    if (!args_ok(path, vm_id, NULL, 0, err, errlen, &rc)) {
        return rc;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        say(err, errlen, "cannot open vTPM file %s: out of memory", path);
        return -ENOMEM;
    }
    s->fd = -1;
    s->dirfd = -1;
    s->path = strdup(path);
    s->vm_id = strdup(vm_id);
    s->seal = seal_ctx_new();
    if (!s->path || !s->vm_id || !s->seal) {
        rc = -ENOMEM;
        say(s->msg, sizeof(s->msg), "cannot open vTPM file %s: out of memory", path);
        goto out;
    }
    rc = path_split(path, &s->dirfd, &s->name);
    if (rc != 0) {
        say(s->msg, sizeof(s->msg), "cannot open vTPM file %s: %s", path, strerror(-rc));
        goto out;
    }
    rc = seal_derive(key, &s->keys);
    if (rc != 0) {
        say(s->msg, sizeof(s->msg), "cannot open vTPM file %s: key derivation failed", path);
        goto out;
    }
    rc = open_locked(s);
    if (rc != 0) {
        goto out;
    }
    rc = load(s, &img);
    if (rc != 0) {
        goto out;
    }
    adopt(s, &img);
    s->msg[0] = '\0';
    for (int c = 0; c < FMT_NCHAN; c++) {
        note_damage(s, &img, (enum fmt_chan)c);
    }
    remove_stale_tmps(s);
    *out = s;
    s = NULL;
out:
    fmt_image_free(&img);
    if (s) {
        say(err, errlen, "%s", s->msg);
        store_close(s);
    }
    return rc;
}

void store_close(struct store *s)
{
    if (!s) {
        return;
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->dirfd >= 0) {
        close(s->dirfd);
    }
    free(s->name);
    free(s->path);
    free(s->vm_id);
    free(s->buf);
    seal_ctx_free(s->seal);
    WIPE(&s->keys);
    free(s);
}

const char *store_message(const struct store *s)
{
    return s->msg;
}

uint64_t store_generation(const struct store *s)
{
    return s->chan[FMT_PERM].gen;
}

void store_vtpm_id(const struct store *s, uint8_t id[STORE_ID_LEN])
{
    memcpy(id, s->hdr.vtpm_id, STORE_ID_LEN);
}

int store_read(struct store *s, struct store_blob *out)
{
    struct fmt_image img;
    memset(out, 0, sizeof(*out));
    s->msg[0] = '\0';
    int rc = load(s, &img);
    if (rc == 0) {
        take_newest(s, &img, FMT_PERM, out);
    }
    fmt_image_free(&img);
    return rc;
}

/* ---- committing ------------------------------------------------------------------------- */

struct rec_src {
    uint64_t gen;
    bool empty;
    const uint8_t *data;
    size_t len;
};

/* The records a slot pair keeps across a whole-file write: the newest, then the other one. */
static void keep_pair(const struct fmt_image *img, enum fmt_chan c, struct rec_src *r0,
                      struct rec_src *r1)
{
    int n = img->newest[c];
    const struct fmt_slot *a = &img->slot[c][n], *b = &img->slot[c][n ^ 1];
    *r0 = (struct rec_src){a->gen, a->empty, a->data, a->len};
    *r1 = b->good ? (struct rec_src){b->gen, b->empty, b->data, b->len}
                  : (struct rec_src){0, true, NULL, 0};
}

/*
 * Commit through a whole new file: chan gets the new record in slot A and its current newest
 * record in slot B; the other channel keeps its two records. Slots only grow.
 */
static int commit_publish(struct store *s, enum fmt_chan chan, const struct rec_src *rec,
                          const char **what)
{
    struct fmt_image img;
    struct fmt_header h;
    struct rec_src recs[FMT_NCHAN][2];
    uint8_t *buf = NULL;
    memset(recs, 0, sizeof(recs));
    int newfd = -1;
    int rc;

    *what = "re-reading the file";
    rc = load(s, &img);
    if (rc != 0) {
        return rc;
    }
    h = s->hdr;
    uint32_t need = fmt_slot_size_for(rec->len);
    if (h.slot_size[chan] < need) {
        h.slot_size[chan] = need;
    }
    for (int c = 0; c < FMT_NCHAN; c++) {
        if ((enum fmt_chan)c == chan) {
            struct rec_src older;
            recs[c][0] = *rec;
            recs[c][1] = (struct rec_src){0, true, NULL, 0};
            if (img.newest[c] >= 0) {
                keep_pair(&img, (enum fmt_chan)c, &recs[c][1], &older);
            }
        } else if (h.slot_size[c] > 0) {
            keep_pair(&img, (enum fmt_chan)c, &recs[c][0], &recs[c][1]);
        }
    }
    size_t n = fmt_file_size(&h);
    *what = "sealing the state";
    buf = calloc(1, n);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    rc = fault(STORE_FAULT_SEAL);
    if (rc == 0) {
        rc = fmt_header_write(&h, &s->keys, buf);
    }
    for (int c = 0; c < FMT_NCHAN && rc == 0; c++) {
        for (int i = 0; i < 2 && rc == 0 && h.slot_size[c] > 0; i++) {
            const struct rec_src *r = &recs[c][i];
            rc = fmt_record_write(s->seal, &s->keys, buf, s->vm_id, (enum fmt_chan)c, i, r->gen,
                                  r->empty, r->data, r->len,
                                  buf + fmt_slot_offset(&h, (enum fmt_chan)c, i), h.slot_size[c]);
        }
    }
    if (rc != 0) {
        goto out;
    }
    rc = publish(s->dirfd, s->name, buf, n, true, &newfd, what);
    if (newfd >= 0) {
        /* The new file carries the name: it is the live one, even if the folder sync failed. */
        close(s->fd);
        s->fd = newfd;
        s->hdr = h;
        memcpy(s->hdr_raw, buf, FMT_HDR_LEN);
        for (int c = 0; c < FMT_NCHAN; c++) {
            s->chan[c].cur = h.slot_size[c] > 0 ? 0 : -1;
            s->chan[c].gen = recs[c][0].gen;
            for (int i = 0; i < 2; i++) {
                s->chan[c].used[i] = FMT_REC_OVERHEAD + recs[c][i].len;
            }
        }
    }
out:
    free(buf);
    fmt_image_free(&img);
    return rc;
}

/* Erase the record header of a slot whose write failed, so that no open can find it. */
static void invalidate(struct store *s, off_t off)
{
    static const uint8_t zero[FMT_REC_HDR_LEN];
    if (fault(STORE_FAULT_INVALIDATE) == 0 &&
        pwrite(s->fd, zero, sizeof(zero), off) == (ssize_t)sizeof(zero)) {
        (void)fdatasync(s->fd);
    }
}

static int commit_in_place(struct store *s, enum fmt_chan chan, const struct rec_src *rec,
                           const char **what)
{
    struct store_chan *ch = &s->chan[chan];
    size_t ss = s->hdr.slot_size[chan];
    int idx = ch->cur ^ 1;
    size_t need = FMT_REC_OVERHEAD + rec->len;
    int rc;

    /* The new record, and zeros over whatever the slot's previous content was, in pages. */
    size_t n = need > ch->used[idx] ? need : ch->used[idx];
    n = (n + FMT_PAGE - 1) / FMT_PAGE * FMT_PAGE;
    n = n < ss ? n : ss;
    *what = "sealing the state";
    if (s->buf_cap < n) {
        uint8_t *nb = realloc(s->buf, n);
        if (!nb) {
            return -ENOMEM;
        }
        s->buf = nb;
        s->buf_cap = n;
    }
    rc = fault(STORE_FAULT_SEAL);
    if (rc == 0) {
        rc = fmt_record_write(s->seal, &s->keys, s->hdr_raw, s->vm_id, chan, idx, rec->gen,
                              rec->empty, rec->data, rec->len, s->buf, n);
    }
    if (rc != 0) {
        return rc;
    }
    off_t off = (off_t)fmt_slot_offset(&s->hdr, chan, idx);
    *what = "writing its slot";
    /* From here on the slot's content is unknown until the write is known to be durable. */
    ch->used[idx] = ss;
    /* (A torn write is simulated inside the record, where it matters: the rest is zero.) */
    rc = write_all(s->fd, s->buf, n, off, STORE_FAULT_WRITE, STORE_FAULT_WRITE_TORN, need / 2);
    if (rc == 0) {
        *what = "syncing the file";
        rc = fault(STORE_FAULT_SYNC);
        if (rc == 0) {
            rc = sys_rc(fdatasync(s->fd));
        }
    }
    if (rc != 0) {
        invalidate(s, off);
        return rc;
    }
    ch->cur = idx;
    ch->gen = rec->gen;
    ch->used[idx] = need;
    fault(STORE_FAULT_COMMIT_DONE);
    return 0;
}

static int commit(struct store *s, enum fmt_chan chan, const uint8_t *data, size_t len, bool empty)
{
    struct store_chan *ch = &s->chan[chan];
    const char *what = "checking the state";
    uint64_t prev = ch->gen;
    struct rec_src rec = {ch->next_gen, empty, data, len};
    int rc;

    s->msg[0] = '\0';
    if (len > STORE_MAX_BLOB) {
        say(s->msg, sizeof(s->msg),
            "refusing to store %zu bytes of %s state in vTPM file %s: "
            "the limit is %u",
            len, fmt_chan_name(chan), s->path, STORE_MAX_BLOB);
        return -EFBIG;
    }
    if (len > 0 && !data) {
        rc = -EINVAL;
    } else if (ch->next_gen == UINT64_MAX) {
        rc = -EOVERFLOW;
    } else {
        /* A generation is handed out once, whether its commit succeeds or not. */
        ch->next_gen++;
        /* A file of an older format version is rewritten in the newest at its first commit. */
        if (ch->cur >= 0 && len + FMT_REC_OVERHEAD <= s->hdr.slot_size[chan] &&
            s->hdr.version == FMT_VERSION) {
            rc = commit_in_place(s, chan, &rec, &what);
        } else {
            rc = commit_publish(s, chan, &rec, &what);
        }
    }
    if (rc != 0 && s->msg[0] == '\0') {
        say(s->msg, sizeof(s->msg),
            "could not commit the %s state to vTPM file %s: %s failed: "
            "%s; generation %" PRIu64 " is intact",
            fmt_chan_name(chan), s->path, what, strerror(-rc), prev);
    } else if (rc != 0) {
        /* load() already said why the file was refused. */
        char why[STORE_ERR_LEN];
        snprintf(why, sizeof(why), "%s", s->msg);
        say(s->msg, sizeof(s->msg), "could not commit the %s state: %s", fmt_chan_name(chan), why);
    }
    return rc;
}

int store_commit(struct store *s, const uint8_t *blob, size_t len)
{
    return commit(s, FMT_PERM, blob, len, false);
}

int store_put_volatile(struct store *s, const uint8_t *blob, size_t len)
{
    return commit(s, FMT_VOL, blob, len, false);
}

int store_take_volatile(struct store *s, struct store_blob *out, bool remove)
{
    struct fmt_image img;
    memset(out, 0, sizeof(*out));
    s->msg[0] = '\0';
    int rc = load(s, &img);
    if (rc != 0) {
        return rc;
    }
    if (img.newest[FMT_VOL] < 0 || img.slot[FMT_VOL][img.newest[FMT_VOL]].empty) {
        say(s->msg, sizeof(s->msg), "vTPM file %s holds no volatile state", s->path);
        fmt_image_free(&img);
        return -ENOENT;
    }
    take_newest(s, &img, FMT_VOL, out);
    fmt_image_free(&img);
    if (remove) {
        char note[STORE_ERR_LEN];
        snprintf(note, sizeof(note), "%s", s->msg);
        rc = commit(s, FMT_VOL, NULL, 0, true);
        if (rc != 0) {
            store_blob_free(out);
            return rc;
        }
        snprintf(s->msg, sizeof(s->msg), "%s", note);
    }
    return 0;
}

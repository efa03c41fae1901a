/*
 * Micro-benchmark of the vTPM file's commit (src/store), next to the way swtpm persists its
 * state, in the same run on the same folder:
 *   store_commit      one pwrite of a slot + fdatasync (durable)
 *   swtpm way         write a temporary file, rename it over the state file, no fsync
 *                     (what swtpm does per NV-changing command; not durable)
 *   tmp+fsync+rename  the same made durable: fsync the file, rename, fsync the folder
 * and, to see where a commit's time goes, sealing one record alone and the bare pwrite +
 * fdatasync of a slot (the floor of any durable write on this disk). Prints median and p99
 * in microseconds for states of 1424 bytes (fresh), 6144 (provisioned) and 100 KiB (NV-heavy).
 *
 *   store_bench [-n COMMITS] [-d FOLDER]      (default 2000 commits, the current folder)
 *
 * The folder must be on the disk that matters: on a tmpfs every sync is free.
 */
#include "store/format.h"
#include "store/seal.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define TMPFS_MAGIC_ 0x01021994
#define EXT4_MAGIC_ 0xEF53
#define XFS_MAGIC_ 0x58465342
#define BTRFS_MAGIC_ 0x9123683E

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct stats {
    double median, p99;
};

static struct stats summarize(double *t, int n)
{
    qsort(t, (size_t)n, sizeof(*t), cmp_double);
    struct stats s = {t[n / 2], t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]};
    return s;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "store_bench: %s: %s\n", what, why);
    exit(1);
}

static void fill(uint8_t *b, size_t len, unsigned i)
{
    for (size_t k = 0; k < len; k++) {
        b[k] = (uint8_t)(k * 13 + i);
    }
}

static void write_file(const char *path, const uint8_t *blob, size_t len, bool durable)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, blob, len) != (ssize_t)len || (durable && fsync(fd) != 0)) {
        die("writing the temporary file", strerror(errno));
    }
    close(fd);
}

/* swtpm's way (its dir backend): temporary file, rename; optionally synced (DESIGN.md's). */
static double one_rename(int dfd, const char *path, const char *tmp, const uint8_t *blob,
                         size_t len, bool durable)
{
    double a = now_us();
    write_file(tmp, blob, len, durable);
    if (rename(tmp, path) != 0 || (durable && fsync(dfd) != 0)) {
        die("rename", strerror(errno));
    }
    return now_us() - a;
}

/*
 * store_commit and swtpm's way in alternating blocks of BLOCK commits, so that both see the
 * same disk and the same neighbours over the run (the machine may be shared) without one
 * method's metadata writes landing in the middle of the other's; then the durable rename.
 */
#define BLOCK 100
static void bench_io(const char *dir, const uint8_t *key, uint8_t *blob, size_t len, int n,
                     double *t_store, double *t_swtpm, double *t_durable, double *t_floor)
{
    char vpath[4200], path[4200], tmp[4300], fpath[4200], err[STORE_ERR_LEN];
    uint8_t id[STORE_ID_LEN] = {0};
    struct store *s = NULL;
    snprintf(vpath, sizeof(vpath), "%s/bench.vtpm", dir);
    snprintf(path, sizeof(path), "%s/tpm2-00.permall", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    snprintf(fpath, sizeof(fpath), "%s/floor", dir);
    /* The floor: the same slot-sized write and fdatasync, no sealing, no store. */
    size_t ss = fmt_slot_size_for(len);
    uint8_t *slot = calloc(1, 2 * ss);
    int ffd = open(fpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (!slot || ffd < 0 || write(ffd, slot, 2 * ss) != (ssize_t)(2 * ss) || fsync(ffd) != 0) {
        die("floor file", strerror(errno));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        die(dir, strerror(errno));
    }
    if (store_create(vpath, key, "bench-vm", id, blob, len, err, sizeof(err)) != 0) {
        die("store_create", err);
    }
    if (store_open(vpath, key, "bench-vm", &s, err, sizeof(err)) != 0) {
        die("store_open", err);
    }
    for (int i = -50; i < 0; i++) { /* warm-up */
        store_commit(s, blob, len);
        one_rename(dfd, path, tmp, blob, len, false);
    }
    for (int b0 = 0; b0 < n; b0 += BLOCK) {
        int b1 = b0 + BLOCK < n ? b0 + BLOCK : n;
        for (int i = b0; i < b1; i++) {
            fill(blob, len, (unsigned)i);
            double a = now_us();
            if (store_commit(s, blob, len) != 0) {
                die("store_commit", store_message(s));
            }
            t_store[i] = now_us() - a;
        }
        for (int i = b0; i < b1; i++) {
            fill(blob, len, (unsigned)i);
            t_swtpm[i] = one_rename(dfd, path, tmp, blob, len, false);
        }
        for (int i = b0; i < b1; i++) {
            fill(slot, len, (unsigned)i);
            double a = now_us();
            if (pwrite(ffd, slot, ss, (off_t)((size_t)(i & 1) * ss)) != (ssize_t)ss ||
                fdatasync(ffd) != 0) {
                die("floor", strerror(errno));
            }
            t_floor[i] = now_us() - a;
        }
    }
    for (int i = -50; i < n; i++) {
        double d = one_rename(dfd, path, tmp, blob, len, true);
        if (i >= 0) {
            t_durable[i] = d;
        }
    }
    store_close(s);
    unlink(vpath);
    unlink(path);
    unlink(fpath);
    close(ffd);
    free(slot);
    close(dfd);
}

/* The CPU part of a commit: sealing one record into a slot buffer. */
static struct stats bench_seal(const uint8_t *key, uint8_t *blob, size_t len, int n, double *t)
{
    struct seal_keys k;
    struct seal_ctx *c = seal_ctx_new();
    uint8_t hdr[FMT_HDR_LEN] = {0};
    size_t ss = fmt_slot_size_for(len);
    uint8_t *slot = malloc(ss);
    if (!c || !slot || seal_derive(key, &k) != 0) {
        die("sealing", "setup failed");
    }
    for (int i = -50; i < n; i++) {
        double a = now_us();
        if (fmt_record_write(c, &k, hdr, "bench-vm", FMT_PERM, 0, (uint64_t)i + 100, false, blob,
                             len, slot, ss) != 0) {
            die("sealing", "fmt_record_write failed");
        }
        if (i >= 0) {
            t[i] = now_us() - a;
        }
    }
    free(slot);
    seal_ctx_free(c);
    return summarize(t, n);
}

static const char *fs_name(long type)
{
    switch (type) {
    case TMPFS_MAGIC_:
        return "tmpfs (syncs cost nothing here: use a folder on a disk)";
    case EXT4_MAGIC_:
        return "ext4";
    case XFS_MAGIC_:
        return "xfs";
    case BTRFS_MAGIC_:
        return "btrfs";
    default:
        return "other";
    }
}

int main(int argc, char **argv)
{
    int n = 2000, opt;
    const char *parent = ".";
    while ((opt = getopt(argc, argv, "n:d:h")) != -1) {
        if (opt == 'n') {
            n = atoi(optarg);
        } else if (opt == 'd') {
            parent = optarg;
        } else {
            fprintf(stderr, "usage: store_bench [-n COMMITS] [-d FOLDER]\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    if (n < 10 || n > 1000000) {
        die("-n", "give between 10 and 1000000 commits");
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/store-bench-XXXXXX", parent);
    if (!mkdtemp(dir)) {
        die(parent, strerror(errno));
    }
    struct statfs sf;
    const char *fs = statfs(dir, &sf) == 0 ? fs_name((long)sf.f_type) : "unknown";

    uint8_t key[STORE_KEY_LEN];
    for (int i = 0; i < STORE_KEY_LEN; i++) {
        key[i] = (uint8_t)(i * 7 + 1);
    }
    double *t = malloc(sizeof(double) * (size_t)n * 5);
    const size_t sizes[] = {1424, 6144, 100 * 1024}; /* fresh, provisioned, NV-heavy */
    if (!t) {
        die("memory", "out of memory");
    }
    printf("vTPM file commit, %d commits per row, folder %s (%s)\n", n, parent, fs);
    printf("%-7s %-48s %10s %10s %8s\n", "blob", "method", "median us", "p99 us", "vs swtpm");
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        size_t len = sizes[z];
        uint8_t *blob = malloc(len);
        if (!blob) {
            die("memory", "out of memory");
        }
        bench_io(dir, key, blob, len, n, t, t + n, t + 2 * n, t + 4 * n);
        struct stats st = summarize(t, n);
        struct stats sw = summarize(t + n, n);
        struct stats du = summarize(t + 2 * n, n);
        struct stats se = bench_seal(key, blob, len, n, t + 3 * n);
        struct stats fl = summarize(t + 4 * n, n);
        struct {
            const char *name;
            struct stats s;
        } rows[] = {
            {"store_commit: pwrite slot + fdatasync (durable)", st},
            {"swtpm way: tmp file + rename, no fsync", sw},
            {"tmp + fsync + rename + fsync folder (durable)", du},
            {"  sealing alone (CPU part of store_commit)", se},
            {"  floor: the slot's pwrite + fdatasync alone", fl},
        };
        for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
            printf("%-7zu %-48s %10.1f %10.1f %8.2f\n", len, rows[r].name, rows[r].s.median,
                   rows[r].s.p99, rows[r].s.median / sw.median);
        }
        free(blob);
    }
    free(t);
    rmdir(dir);
    return 0;
}

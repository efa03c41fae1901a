/*
 * Unit tests of vtpmd's vTPM file (src/daemon/vfile.c) and of the device's durability rule
 * (src/daemon/dev.c) on top of src/store: the folder lock, creation and opening, refusals of
 * files that must not open (wrong key, another VM, not a vTPM file, truncated; each left
 * untouched), a commit failed at each of the store's named fault points (the command is
 * answered TPM_RC_NV_UNAVAILABLE, the engine is rolled back to exactly what the file holds),
 * the volatile state (STORE_VOLATILE, INIT with and without DELETE_VOLATILE), and the state
 * blobs of migration moved from one device to another.
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

#include "daemon/dev.h"
#include "daemon/vfile.h"
#include "store/store_fault.h"
#include "tpmtest.h"

static char dir[256];
static const uint8_t key_a[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t key_b[32] = {32, 31, 30};

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vtpmd-vfile-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown_dir(void **state)
{
    char cmd[512];
    (void)state;
    store_fault_set(NULL, NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static size_t file_bytes(uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, VFILE_NAME);
    FILE *f = fopen(path, "rb");
    if (!f) {
        return 0;
    }
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void put_file(const uint8_t *buf, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, VFILE_NAME);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* A device over the file in dir: opened when it exists, created (new vTPM) when it does not. */
static void open_dev(struct vfile *v, struct dev *d, const uint8_t *key, const char *vm)
{
    struct store_blob perm = {0};
    char err[STORE_ERR_LEN];
    assert_int_equal(vfile_lock(v, dir, err, sizeof(err)), 0);
    assert_int_equal(dev_open(d, NULL), 0);
    d->vm_id = vm;
    int rc = vfile_load(v, key, vm, &perm, err, sizeof(err));
    if (rc == -ENOENT) {
        struct tpm_buf b = {0};
        assert_int_equal(dev_save(d, &b), 0);
        assert_int_equal(vfile_create(v, key, vm, b.data, b.len, err, sizeof(err)), 0);
        tpm_buf_free(&b);
    } else {
        if (rc != 0) {
            fail_msg("open: %s", err);
        }
        assert_int_equal(dev_load(d, perm.data, perm.len), 0);
        store_blob_free(&perm);
    }
    dev_attach(d, v->store);
}

static void close_dev(struct vfile *v, struct dev *d)
{
    dev_close(d);
    vfile_close(v);
}

static uint32_t run(struct dev *d, struct tb *c, struct rsp *r)
{
    tb_finish(c);
    r->n = dev_execute(d, c->b, c->n, r->b, sizeof(r->b));
    r->off = 10;
    if (r->n < 10) {
        return 0xFFFFFFFF;
    }
    r->rc = (uint32_t)r->b[6] << 24 | (uint32_t)r->b[7] << 16 | (uint32_t)r->b[8] << 8 | r->b[9];
    return r->rc;
}

static uint32_t startup(struct dev *d, uint16_t su)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, 0x8001, 0x144);
    tb_u16(&c, su);
    return run(d, &c, &r);
}

/* HierarchyChangeAuth(owner): changes the permanent state on every call. */
static uint32_t change_owner_auth(struct dev *d, const char *old, const char *new_auth)
{
    struct tb c;
    struct rsp r;
    const char *pw[1] = {old};
    tb_start(&c, 0x8002, 0x129);
    tb_u32(&c, 0x40000001);
    tb_pws(&c, pw, 1);
    tb_2b(&c, new_auth, (uint16_t)strlen(new_auth));
    return run(d, &c, &r);
}

/* NV_DefineSpace(owner, index, size) with owner and auth read/write. */
static uint32_t nv_define(struct dev *d, const char *owner_auth, uint32_t index, uint16_t size)
{
    struct tb c;
    struct rsp r;
    const char *pw[1] = {owner_auth};
    tb_start(&c, 0x8002, 0x12A);
    tb_u32(&c, 0x40000001);
    tb_pws(&c, pw, 1);
    tb_2b(&c, "", 0);
    size_t m = tb_size16_begin(&c);
    tb_u32(&c, index);
    tb_u16(&c, 0x000B);
    tb_u32(&c, 0x00060006); /* OWNERWRITE | AUTHWRITE | OWNERREAD | AUTHREAD */
    tb_2b(&c, "", 0);
    tb_u16(&c, size);
    tb_size16_end(&c, m);
    return run(d, &c, &r);
}

static uint32_t nv_write(struct dev *d, uint32_t index, const uint8_t *data, uint16_t len,
                         uint16_t off)
{
    struct tb c;
    struct rsp r;
    const char *pw[1] = {""};
    tb_start(&c, 0x8002, 0x137);
    tb_u32(&c, index);
    tb_u32(&c, index);
    tb_pws(&c, pw, 1);
    tb_2b(&c, data, len);
    tb_u16(&c, off);
    return run(d, &c, &r);
}

static uint32_t pcr_extend16(struct dev *d, uint8_t fill)
{
    struct tb c;
    struct rsp r;
    const char *pw[1] = {""};
    uint8_t dig[32];
    memset(dig, fill, sizeof(dig));
    tb_start(&c, 0x8002, 0x182);
    tb_u32(&c, 16);
    tb_pws(&c, pw, 1);
    tb_u32(&c, 1);
    tb_u16(&c, 0x000B);
    tb_bytes(&c, dig, sizeof(dig));
    return run(d, &c, &r);
}

/* PCR_Read(sha256: 16) into out (the whole response). */
static size_t pcr_read16(struct dev *d, uint8_t *out, size_t cap)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, 0x8001, 0x17E);
    tb_u32(&c, 1);
    tb_u16(&c, 0x000B);
    tb_u8(&c, 3);
    tb_u8(&c, 0);
    tb_u8(&c, 0);
    tb_u8(&c, 1);
    assert_int_equal(run(d, &c, &r), 0);
    assert_true(r.n <= cap);
    memcpy(out, r.b, r.n);
    return r.n;
}

/*
 * What a client can see of the permanent state: TPM_PT_PERMANENT (ownerAuthSet and the
 * like), the NV indices defined, and each one's public area (TPMA_NV_WRITTEN among it).
 */
static size_t probe(struct dev *d, uint8_t *out, size_t cap)
{
    struct tb c;
    struct rsp r, list;
    size_t n = 0;

    tb_start(&c, 0x8001, 0x17A);
    tb_u32(&c, 6);     /* TPM_CAP_TPM_PROPERTIES */
    tb_u32(&c, 0x200); /* TPM_PT_PERMANENT */
    tb_u32(&c, 1);
    assert_int_equal(run(d, &c, &r), 0);
    assert_true(n + r.n <= cap);
    memcpy(out + n, r.b, r.n);
    n += r.n;
    tb_start(&c, 0x8001, 0x17A);
    tb_u32(&c, 1); /* TPM_CAP_HANDLES */
    tb_u32(&c, 0x01000000);
    tb_u32(&c, 128);
    assert_int_equal(run(d, &c, &list), 0);
    assert_true(n + list.n <= cap);
    memcpy(out + n, list.b, list.n);
    n += list.n;
    /* moreData, capability, count, handles */
    list.off = 10 + 1 + 4;
    uint32_t count = rs_u32(&list);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t h = rs_u32(&list);
        tb_start(&c, 0x8001, 0x169); /* NV_ReadPublic */
        tb_u32(&c, h);
        assert_int_equal(run(d, &c, &r), 0);
        assert_true(n + r.n <= cap);
        memcpy(out + n, r.b, r.n);
        n += r.n;
    }
    return n;
}

/* The engine shows the same permanent state as the file's newest generation does. */
static void assert_engine_matches_file(struct dev *d)
{
    static uint8_t a[65536], b[65536];
    struct store_blob disk = {0};
    struct dev s;
    size_t na, nb;

    assert_int_equal(store_read(d->store, &disk), 0);
    assert_int_equal(dev_open(&s, NULL), 0);
    assert_int_equal(dev_load(&s, disk.data, disk.len), 0);
    store_blob_free(&disk);
    assert_int_equal(dev_init(&s, false), PTM_SUCCESS);
    assert_int_equal(startup(&s, 0), 0);
    na = probe(d, a, sizeof(a));
    nb = probe(&s, b, sizeof(b));
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    dev_close(&s);
}

static void test_lock(void **state)
{
    (void)state;
    struct vfile a, b;
    char err[256];
    assert_int_equal(vfile_lock(&a, dir, err, sizeof(err)), 0);
    assert_int_equal(vfile_lock(&b, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "in use by another vtpmd or swtpm"));
    vfile_close(&b);
    vfile_close(&a);
    assert_int_equal(vfile_lock(&b, dir, err, sizeof(err)), 0);
    vfile_close(&b);
    assert_int_equal(vfile_lock(&b, "/nonexistent/dir", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot use '/nonexistent/dir'"));
    vfile_close(&b);
}

/* Open with (key, vm) and expect a refusal whose message contains want; file untouched. */
static void expect_refused(const uint8_t *key, const char *vm, const char *want)
{
    static uint8_t before[1 << 16], after[1 << 16];
    struct vfile v;
    struct store_blob perm;
    char err[STORE_ERR_LEN];
    size_t nb = file_bytes(before, sizeof(before));
    assert_int_equal(vfile_lock(&v, dir, err, sizeof(err)), 0);
    int rc = vfile_load(&v, key, vm, &perm, err, sizeof(err));
    if (rc == 0 || rc == -ENOENT || !strstr(err, want) || strchr(err, '\n')) {
        fail_msg("expected a refusal with '%s': rc %d, '%s'", want, rc, err);
    }
    assert_null(v.store);
    vfile_close(&v);
    assert_int_equal(file_bytes(after, sizeof(after)), nb);
    assert_memory_equal(after, before, nb);
}

static void test_create_open_refuse(void **state)
{
    (void)state;
    struct vfile v;
    struct dev d;
    struct store_blob first = {0};
    static uint8_t img[1 << 16];
    size_t n;
    struct stat st;
    char path[512];

    open_dev(&v, &d, key_a, "vm-1");
    assert_int_equal(store_read(v.store, &first), 0);
    close_dev(&v, &d);
    snprintf(path, sizeof(path), "%s/%s", dir, VFILE_NAME);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* Reopened: the state it was created with (the same TPM, not a new one). */
    {
        struct store_blob again = {0};
        open_dev(&v, &d, key_a, "vm-1");
        assert_int_equal(store_read(v.store, &again), 0);
        assert_int_equal(again.generation, 1);
        assert_int_equal(again.len, first.len);
        assert_memory_equal(again.data, first.data, first.len);
        store_blob_free(&again);
        close_dev(&v, &d);
    }
    expect_refused(key_b, "vm-1", "different data key");
    expect_refused(key_a, "vm-2", "another VM");
    n = file_bytes(img, sizeof(img));
    assert_true(n > 4096);
    /* Truncated at several lengths, one byte changed in the header, not a vTPM file. */
    static const size_t cuts[] = {0, 5, 100, 4095, 4096, 8000};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        put_file(img, cuts[i]);
        expect_refused(key_a, "vm-1", "truncated");
    }
    put_file(img, n - 1);
    expect_refused(key_a, "vm-1", "truncated");
    img[20] ^= 1; /* the vTPM id, covered by the header MAC */
    put_file(img, n);
    expect_refused(key_a, "vm-1", "corrupt");
    img[20] ^= 1;
    img[9] = 7; /* format version */
    put_file(img, n);
    expect_refused(key_a, "vm-1", "version");
    img[9] = 1;
    put_file((const uint8_t *)"VTPMDST1\x00\x01\x00\x01", 12);
    expect_refused(key_a, "vm-1", "not a vTPM file");
    store_blob_free(&first);
}

/* The fault hook: fail the planned point with plan.err, count hits. */
struct plan {
    enum store_fault point;
    int err;
    int hits;
};

static int hook(enum store_fault p, void *ctx)
{
    struct plan *pl = ctx;
    if (p == pl->point) {
        pl->hits++;
        return pl->err;
    }
    return 0;
}

static void test_commit_faults(void **state)
{
    (void)state;
    /* In place (a state that fits its slot). */
    static const enum store_fault in_place[] = {STORE_FAULT_SEAL, STORE_FAULT_WRITE,
                                                STORE_FAULT_WRITE_TORN, STORE_FAULT_SYNC};
    /* Whole file (a state that outgrows its slot). */
    static const enum store_fault whole[] = {STORE_FAULT_TMP_CREATE, STORE_FAULT_TMP_WRITE,
                                             STORE_FAULT_TMP_TORN, STORE_FAULT_TMP_SYNC,
                                             STORE_FAULT_RENAME};
    struct vfile v;
    struct dev d;
    struct plan pl = {STORE_FAULT_COUNT, -EIO, 0};
    const char *auth[2] = {"", "abcdefgh"};
    int cur = 0;

    open_dev(&v, &d, key_a, "vm-1");
    assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
    assert_int_equal(startup(&d, 0), 0);
    store_fault_set(hook, &pl);

    for (size_t i = 0; i < sizeof(in_place) / sizeof(in_place[0]); i++) {
        uint64_t gen = store_generation(d.store);
        pl.point = in_place[i];
        pl.hits = 0;
        /* TPM_RC_NV_UNAVAILABLE (Part 2 §6.6.3, RC_WARN + 0x023) */
        assert_int_equal(change_owner_auth(&d, auth[cur], auth[cur ^ 1]), 0x923);
        assert_int_equal(pl.hits, 1);
        assert_false(tpm_state_dirty(d.tpm));
        assert_int_equal(store_generation(d.store), gen);
        assert_engine_matches_file(&d);
        /* The change was undone: the old authorization still works; then without the fault
         * the same command succeeds. */
        pl.point = STORE_FAULT_COUNT;
        assert_int_equal(change_owner_auth(&d, auth[cur], auth[cur ^ 1]), 0);
        cur ^= 1;
        assert_true(store_generation(d.store) > gen);
        assert_engine_matches_file(&d);
    }
    /* Grow the state past its slot: each growth fault leaves the old state. */
    static uint8_t data[1024];
    memset(data, 0x77, sizeof(data));
    uint32_t index = 0x01500000;
    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
        pl.point = whole[i];
        pl.hits = 0;
        uint32_t rc = 0;
        /* Define and fill indices until one commit needs a whole-file write. */
        for (int tries = 0; tries < 64 && pl.hits == 0; tries++) {
            if (rc == 0) {
                rc = nv_define(&d, auth[cur], index, 4096);
                if (rc == 0) {
                    for (uint16_t off = 0; off < 4096 && rc == 0 && pl.hits == 0; off += 1024) {
                        rc = nv_write(&d, index, data, 1024, off);
                    }
                    index++;
                }
            }
        }
        if (pl.hits == 0) {
            fail_msg("no whole-file write reached %s", store_fault_name(whole[i]));
        }
        assert_int_equal(rc, 0x923);
        assert_false(tpm_state_dirty(d.tpm));
        assert_engine_matches_file(&d);
        pl.point = STORE_FAULT_COUNT;
    }
    /* Folder sync failing after the rename: the new file is live, the engine follows it. */
    pl.point = STORE_FAULT_DIR_SYNC;
    pl.hits = 0;
    for (int tries = 0; tries < 64 && pl.hits == 0; tries++) {
        if (nv_define(&d, auth[cur], index, 4096) == 0) {
            for (uint16_t off = 0; off < 4096 && pl.hits == 0; off += 1024) {
                (void)nv_write(&d, index, data, 1024, off);
            }
        }
        index++;
    }
    assert_int_equal(pl.hits, 1);
    assert_engine_matches_file(&d);
    store_fault_set(NULL, NULL);
    close_dev(&v, &d);
}

/* A failed read-back during the roll-back: the engine must not run ahead of the disk. */
static void test_rollback_unreadable(void **state)
{
    (void)state;
    struct vfile v;
    struct dev d;
    struct plan pl = {STORE_FAULT_SYNC, -EIO, 0};
    char path[512];
    open_dev(&v, &d, key_a, "vm-1");
    assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
    assert_int_equal(startup(&d, 0), 0);
    /* The file is replaced by junk behind the store's back, then a commit fails: the
     * read-back refuses the file and the TPM goes to failure mode. */
    snprintf(path, sizeof(path), "%s/%s", dir, VFILE_NAME);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "XXXXXXXX", 8, 0), 8);
    close(fd);
    store_fault_set(hook, &pl);
    assert_int_equal(change_owner_auth(&d, "", "x"), 0x923);
    store_fault_set(NULL, NULL);
    /* Failure mode: every command answers TPM_RC_FAILURE, GetTestResult aside. */
    assert_int_equal(change_owner_auth(&d, "", "x"), 0x101);
    close_dev(&v, &d);
}

static uint32_t read_clock(struct dev *d, uint8_t *out)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, 0x8001, 0x181);
    uint32_t rc = run(d, &c, &r);
    if (out && r.n >= 35) {
        memcpy(out, r.b, 35);
    }
    return rc;
}

static void test_volatile(void **state)
{
    (void)state;
    struct vfile v;
    struct dev d;
    uint8_t first[64], now[64], p1[128], p2[128];
    size_t n1;

    open_dev(&v, &d, key_a, "vm-1");
    assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
    assert_int_equal(startup(&d, 0), 0);
    assert_int_equal(pcr_extend16(&d, 0x42), 0);
    n1 = pcr_read16(&d, p1, sizeof(p1));
    assert_int_equal(read_clock(&d, first), 0);
    /* STORE_VOLATILE, then a new process: INIT resumes exactly there (no Startup needed). */
    assert_int_equal(dev_store_volatile(&d), PTM_SUCCESS);
    close_dev(&v, &d);

    open_dev(&v, &d, key_a, "vm-1");
    assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
    assert_int_equal(read_clock(&d, now), 0);
    assert_memory_equal(now + 26, first + 26, 8); /* resetCount, restartCount */
    assert_int_equal(pcr_read16(&d, p2, sizeof(p2)), n1);
    assert_memory_equal(p2, p1, n1);
    /* Without DELETE_VOLATILE it stays; with it, it is used once more and removed. */
    assert_int_equal(dev_init(&d, true), PTM_SUCCESS);
    assert_int_equal(read_clock(&d, NULL), 0);
    assert_int_equal(dev_init(&d, false), PTM_SUCCESS);
    assert_int_equal(read_clock(&d, NULL), 0x100); /* TPM_RC_INITIALIZE: Startup needed */
    assert_int_equal(startup(&d, 0), 0);
    /* PCR 16 was reset by the TPM Reset. */
    assert_int_equal(pcr_read16(&d, p2, sizeof(p2)), n1);
    assert_memory_not_equal(p2 + 10, p1 + 10, n1 - 10);
    close_dev(&v, &d);
}

/* A blob from device a, as GET_STATEBLOB hands it out; the caller frees it. */
static uint8_t *get_blob(struct dev *a, uint32_t type, uint32_t flags, size_t *len,
                         uint32_t *rflags)
{
    uint8_t *b = NULL;
    assert_int_equal(dev_get_stateblob(a, type, flags, true, &b, len, rflags), PTM_SUCCESS);
    return b;
}

static void test_stateblobs(void **state)
{
    (void)state;
    char dir_a[256], dir_b[256];
    struct vfile va, vb;
    struct dev a, b;
    uint8_t p1[128], p2[128], *perm, *vol;
    size_t n1, plen, vlen;
    uint32_t rf;
    uint8_t mig[32];
    memset(mig, 0x33, sizeof(mig));

    snprintf(dir_a, sizeof(dir_a), "%s", dir);
    assert_true(strlen(dir_a) < sizeof(dir_b) - 3);
    memcpy(dir_b, dir_a, strlen(dir_a));
    memcpy(dir_b + strlen(dir_a), "/b", 3);
    assert_int_equal(mkdir(dir_b, 0700), 0);

    open_dev(&va, &a, key_a, "vm-1");
    assert_int_equal(blob_key_set(&a.keys, BLOB_MIGRATION, mig), 0);
    assert_int_equal(blob_key_set(&a.keys, BLOB_STATE, key_a), 0);
    assert_int_equal(dev_init(&a, false), PTM_SUCCESS);
    assert_int_equal(startup(&a, 0), 0);
    assert_int_equal(pcr_extend16(&a, 0x17), 0);
    assert_int_equal(change_owner_auth(&a, "", "owner"), 0);
    assert_int_equal(nv_define(&a, "owner", 0x01500001, 8), 0);
    assert_int_equal(nv_write(&a, 0x01500001, (const uint8_t *)"migrated", 8, 0), 0);
    n1 = pcr_read16(&a, p1, sizeof(p1));

    /* No savestate for a TPM 2; unknown types refused. */
    uint8_t *none = NULL;
    size_t nl;
    assert_int_equal(dev_get_stateblob(&a, BLOB_TYPE_SAVESTATE, 1, true, &none, &nl, &rf), PTM_RETRY);
    assert_int_equal(dev_get_stateblob(&a, 9, 1, true, &none, &nl, &rf), PTM_BAD_PARAMETER);
    assert_null(none);
    /* DECRYPTED: sealed under the migration key, flags 0. */
    perm = get_blob(&a, BLOB_TYPE_PERMANENT, PTM_STATE_FLAG_DECRYPTED, &plen, &rf);
    assert_int_equal(rf, 0);
    assert_int_equal(perm[13], BLOB_MIGRATION);
    vol = get_blob(&a, BLOB_TYPE_VOLATILE, PTM_STATE_FLAG_DECRYPTED, &vlen, &rf);
    assert_int_equal(vol[13], BLOB_MIGRATION);

    /* Device b: its own (new) file, the same VM id and migration key. */
    memcpy(dir, dir_b, sizeof(dir));
    open_dev(&vb, &b, key_a, "vm-1");
    assert_int_equal(blob_key_set(&b.keys, BLOB_MIGRATION, mig), 0);
    /* Refused: the wrong type, a byte changed, while running. */
    assert_int_equal(dev_set_stateblob(&b, BLOB_TYPE_VOLATILE, 0, perm, plen), PTM_BAD_PARAMETER);
    perm[plen - 1] ^= 1;
    assert_int_equal(dev_set_stateblob(&b, BLOB_TYPE_PERMANENT, 0, perm, plen), PTM_BAD_PARAMETER);
    perm[plen - 1] ^= 1;
    /* The ENCRYPTED flag on a blob not under the state key. */
    assert_int_equal(
        dev_set_stateblob(&b, BLOB_TYPE_PERMANENT, PTM_STATE_FLAG_ENCRYPTED, perm, plen),
        PTM_BAD_PARAMETER);
    /* A plain blob while a migration key is configured. */
    {
        struct dev plain;
        assert_int_equal(dev_open(&plain, NULL), 0);
        assert_int_equal(dev_init(&plain, false), PTM_SUCCESS);
        uint8_t *pb = NULL;
        size_t pbl;
        assert_int_equal(dev_get_stateblob(&plain, BLOB_TYPE_PERMANENT, 1, true, &pb, &pbl, &rf),
                         PTM_SUCCESS);
        assert_int_equal(pb[13], BLOB_PLAIN);
        assert_int_equal(dev_set_stateblob(&b, BLOB_TYPE_PERMANENT, 0, pb, pbl), PTM_BAD_PARAMETER);
        free(pb);
        dev_close(&plain);
    }
    /* Another VM id: refused. */
    b.vm_id = "vm-2";
    assert_int_equal(dev_set_stateblob(&b, BLOB_TYPE_PERMANENT, 0, perm, plen), PTM_BAD_PARAMETER);
    b.vm_id = "vm-1";
    /* The permanent blob is committed at once; a failed commit keeps the old state. */
    {
        struct plan pl = {STORE_FAULT_SYNC, -EIO, 0};
        uint64_t gen = store_generation(b.store);
        store_fault_set(hook, &pl);
        assert_int_equal(dev_set_stateblob(&b, BLOB_TYPE_PERMANENT, 0, perm, plen), PTM_FAIL);
        store_fault_set(NULL, NULL);
        assert_int_equal(store_generation(b.store), gen);
    }
    assert_int_equal(dev_set_stateblob(&b, BLOB_TYPE_PERMANENT, 0, perm, plen), PTM_SUCCESS);
    assert_int_equal(dev_set_stateblob(&b, BLOB_TYPE_VOLATILE, 0, vol, vlen), PTM_SUCCESS);
    /* INIT(DELETE_VOLATILE) as QEMU's post_load sends it: the TPM resumes, no Startup. */
    assert_int_equal(dev_init(&b, true), PTM_SUCCESS);
    assert_engine_matches_file(&b);
    assert_int_equal(pcr_read16(&b, p2, sizeof(p2)), n1);
    assert_memory_equal(p2, p1, n1);
    /* The owner authorization and the NV index came along. */
    assert_int_equal(change_owner_auth(&b, "owner", "owner2"), 0);
    assert_int_equal(nv_write(&b, 0x01500001, (const uint8_t *)"again...", 8, 0), 0);
    /* And they are in b's file: a restart of b finds them. */
    close_dev(&vb, &b);
    open_dev(&vb, &b, key_a, "vm-1");
    assert_int_equal(dev_init(&b, false), PTM_SUCCESS);
    assert_int_equal(startup(&b, 0), 0);
    assert_int_equal(change_owner_auth(&b, "owner2", ""), 0);
    /* A stored volatile state belongs to the permanent state it was taken with: a new
     * permanent blob removes it, so the next INIT starts clean instead of failing. */
    assert_int_equal(dev_store_volatile(&b), PTM_SUCCESS);
    dev_stop(&b);
    assert_int_equal(blob_key_set(&b.keys, BLOB_MIGRATION, mig), 0);
    assert_int_equal(dev_set_stateblob(&b, BLOB_TYPE_PERMANENT, 0, perm, plen), PTM_SUCCESS);
    assert_int_equal(dev_init(&b, false), PTM_SUCCESS);
    assert_int_equal(read_clock(&b, NULL), 0x100);
    close_dev(&vb, &b);
    free(perm);
    free(vol);

    /* Without DECRYPTED and with a state key: the state-key layer, flagged ENCRYPTED. */
    perm = get_blob(&a, BLOB_TYPE_PERMANENT, 0, &plen, &rf);
    assert_int_equal(rf, PTM_STATE_FLAG_ENCRYPTED);
    assert_int_equal(perm[13], BLOB_STATE);
    open_dev(&vb, &b, key_a, "vm-1");
    assert_int_equal(blob_key_set(&b.keys, BLOB_STATE, key_a), 0);
    assert_int_equal(dev_set_stateblob(&b, BLOB_TYPE_PERMANENT, 0, perm, plen), PTM_BAD_PARAMETER);
    assert_int_equal(
        dev_set_stateblob(&b, BLOB_TYPE_PERMANENT, PTM_STATE_FLAG_ENCRYPTED, perm, plen),
        PTM_SUCCESS);
    close_dev(&vb, &b);
    free(perm);
    close_dev(&va, &a);
    memcpy(dir, dir_a, sizeof(dir));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lock, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_create_open_refuse, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_commit_faults, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_rollback_unreadable, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_volatile, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_stateblobs, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

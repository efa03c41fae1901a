/*
 * The registry in SQLite (see registry.h): one database file in the data dir, rollback
 * journal, synchronous=FULL (a committed transaction survives a power cut), secure_delete
 * (erased cells, such as a destroyed wrapped key, are overwritten with zeros in the file),
 * foreign keys on. The schema carries the rules as CHECK constraints and triggers.
 */
#include "ctl/registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/secret.h"

#define SCHEMA_VERSION "1"

struct reg {
    sqlite3 *db;
    char *path;
    int busy_ms;
    bool in_tx;
};

/* Schema version 1. Every rule that a row can break is refused here too (registry.h). */
static const char schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
    "CREATE TABLE images ("
    "  image_id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  boot_modes INTEGER NOT NULL CHECK (boot_modes BETWEEN 1 AND 3),"
    "  tpm_mandatory INTEGER NOT NULL CHECK (tpm_mandatory IN (0, 1)),"
    "  secure_boot INTEGER NOT NULL CHECK (secure_boot IN (0, 1)),"
    "  kernel TEXT, initrd TEXT, cmdline TEXT, disk TEXT,"
    "  created_at TEXT NOT NULL) STRICT;"
    "CREATE TABLE vms ("
    "  vm_id TEXT PRIMARY KEY,"
    "  image_id TEXT NOT NULL,"
    "  boot_mode TEXT NOT NULL CHECK (boot_mode IN ('uefi', 'legacy')),"
    "  tpm_enabled INTEGER NOT NULL CHECK (tpm_enabled IN (0, 1)),"
    "  state TEXT NOT NULL CHECK (state IN ('stopped', 'running', 'terminated')),"
    "  created_at TEXT NOT NULL,"
    "  terminated_at TEXT,"
    "  CHECK ((state = 'terminated') = (terminated_at IS NOT NULL)),"
    "  CHECK (tpm_enabled = 0 OR boot_mode = 'uefi')) STRICT;"
    "CREATE INDEX vms_image ON vms (image_id);"
    "CREATE TABLE vtpms ("
    "  vtpm_id TEXT PRIMARY KEY,"
    "  vm_id TEXT NOT NULL UNIQUE REFERENCES vms (vm_id),"
    "  wrapped_key BLOB,"
    "  kek_id TEXT,"
    "  path TEXT NOT NULL UNIQUE,"
    "  created_at TEXT NOT NULL,"
    "  destroyed_at TEXT,"
    "  CHECK ((destroyed_at IS NULL) = (wrapped_key IS NOT NULL)),"
    "  CHECK ((destroyed_at IS NULL) = (kek_id IS NOT NULL))) STRICT;"
    /* Rule 1: an image never changes; it is not deleted while live VMs use it. */
    "CREATE TRIGGER images_immutable BEFORE UPDATE ON images BEGIN"
    "  SELECT RAISE(ABORT, 'an image cannot change after its creation'); END;"
    "CREATE TRIGGER images_in_use BEFORE DELETE ON images WHEN EXISTS"
    "  (SELECT 1 FROM vms WHERE image_id = OLD.image_id AND state <> 'terminated') BEGIN"
    "  SELECT RAISE(ABORT, 'an image cannot be deleted while VMs use it'); END;"
    /* Rules 2 and 3 at VM creation. */
    "CREATE TRIGGER vms_insert_rules BEFORE INSERT ON vms BEGIN"
    "  SELECT RAISE(ABORT, 'a VM is made from an existing image') WHERE NOT EXISTS"
    "    (SELECT 1 FROM images WHERE image_id = NEW.image_id);"
    "  SELECT RAISE(ABORT, 'the image requires a vTPM (TpmMandatory)')"
    "    WHERE NEW.tpm_enabled = 0 AND"
    "    (SELECT tpm_mandatory FROM images WHERE image_id = NEW.image_id) = 1;"
    "  SELECT RAISE(ABORT, 'a vTPM requires a UEFI-only image') WHERE NEW.tpm_enabled = 1 AND"
    "    (SELECT boot_modes FROM images WHERE image_id = NEW.image_id) <> 1;"
    "  SELECT RAISE(ABORT, 'the image does not support this boot mode') WHERE"
    "    ((SELECT boot_modes FROM images WHERE image_id = NEW.image_id) &"
    "     (CASE NEW.boot_mode WHEN 'uefi' THEN 1 ELSE 2 END)) = 0;"
    "  SELECT RAISE(ABORT, 'a VM is created stopped') WHERE NEW.state <> 'stopped'; END;"
    /* A VM's image, boot mode and TpmEnabled are fixed (rule 7: no turning the vTPM off). */
    "CREATE TRIGGER vms_fixed BEFORE UPDATE OF vm_id, image_id, boot_mode, tpm_enabled,"
    "  created_at ON vms BEGIN"
    "  SELECT RAISE(ABORT, 'a VM''s image, boot mode and TpmEnabled cannot change'); END;"
    "CREATE TRIGGER vms_terminated_final BEFORE UPDATE ON vms WHEN OLD.state = 'terminated'"
    "  BEGIN SELECT RAISE(ABORT, 'a terminated VM cannot change'); END;"
    "CREATE TRIGGER vms_kept BEFORE DELETE ON vms BEGIN"
    "  SELECT RAISE(ABORT, 'VM records are kept'); END;"
    /* Rules 4, 5, 7, 8: attached at creation only, never moved, destroyed only with the VM. */
    "CREATE TRIGGER vtpms_insert_rules BEFORE INSERT ON vtpms BEGIN"
    "  SELECT RAISE(ABORT, 'a vTPM is attached only at the creation of a VM with TpmEnabled')"
    "    WHERE NOT EXISTS (SELECT 1 FROM vms WHERE vm_id = NEW.vm_id AND tpm_enabled = 1"
    "    AND state = 'stopped');"
    "  SELECT RAISE(ABORT, 'a vTPM is created live') WHERE NEW.destroyed_at IS NOT NULL; END;"
    "CREATE TRIGGER vtpms_fixed BEFORE UPDATE OF vtpm_id, vm_id, path, created_at ON vtpms"
    "  BEGIN SELECT RAISE(ABORT, 'a vTPM cannot move to another VM or place'); END;"
    "CREATE TRIGGER vtpms_destroy_only BEFORE UPDATE OF wrapped_key, kek_id, destroyed_at"
    "  ON vtpms WHEN NEW.wrapped_key IS NOT NULL OR NEW.kek_id IS NOT NULL"
    "  OR NEW.destroyed_at IS NULL OR OLD.destroyed_at IS NOT NULL BEGIN"
    "  SELECT RAISE(ABORT, 'a vTPM key can only be destroyed, once'); END;"
    "CREATE TRIGGER vtpms_destroy_with_vm BEFORE UPDATE OF destroyed_at ON vtpms WHEN"
    "  (SELECT state FROM vms WHERE vm_id = NEW.vm_id) <> 'terminated' BEGIN"
    "  SELECT RAISE(ABORT, 'a vTPM cannot be removed while its VM exists'); END;"
    "CREATE TRIGGER vtpms_kept BEFORE DELETE ON vtpms BEGIN"
    "  SELECT RAISE(ABORT, 'vTPM records are kept'); END;"
    "INSERT INTO meta (key, value) VALUES ('schema', '" SCHEMA_VERSION "');";

/* Turn an SQLite failure into a sentence for the operator. Returns -1. */
static int sql_fail(struct reg *r, int rc, const char *what, struct ctl_err *e)
{
    const char *msg = r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ctl_fail(e, CTL_E_REGISTRY, "the registry %s is busy: another vtpmctl kept it "
                        "locked for more than %d ms while %s; nothing was changed, try again",
                        r->path, r->busy_ms, what);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
        return ctl_fail(e, CTL_E_REGISTRY, "the registry %s is damaged or is not a database "
                        "(%s, while %s); refused, nothing was changed", r->path, msg, what);
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return ctl_fail(e, CTL_E_DATA_DIR, "the registry %s cannot be opened for writing (%s, "
                        "while %s); refused, nothing was changed", r->path, msg, what);
    case SQLITE_FULL:
        return ctl_fail(e, CTL_E_REGISTRY, "the disk holding the registry %s is full (while "
                        "%s); nothing was changed", r->path, what);
    case SQLITE_NOMEM:
        return ctl_fail(e, CTL_E_INTERNAL, "out of memory while %s", what);
    case SQLITE_CONSTRAINT:
        return ctl_fail(e, CTL_E_REGISTRY, "the registry refused the change while %s: %s; "
                        "nothing was changed", what, msg);
    default:
        return ctl_fail(e, CTL_E_REGISTRY, "the registry %s failed while %s: %s; nothing was "
                        "changed", r->path, what, msg);
    }
}

static int prep(struct reg *r, sqlite3_stmt **st, const char *sql, const char *what,
                struct ctl_err *e)
{
    int rc = sqlite3_prepare_v2(r->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return sql_fail(r, rc, what, e);
    }
    return 0;
}

/* Bind text parameters 1..n (NULL binds SQL NULL). */
static void bind_texts(sqlite3_stmt *st, int n, const char *const *v)
{
    for (int i = 0; i < n; i++) {
        if (v[i]) {
            sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_null(st, i + 1);
        }
    }
}

/* Run a statement that returns no rows. */
static int exec_stmt(struct reg *r, sqlite3_stmt *st, const char *what, struct ctl_err *e)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return sql_fail(r, rc, what, e);
    }
    return 0;
}

static int exec_sql(struct reg *r, const char *sql, const char *what, struct ctl_err *e)
{
    int rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return sql_fail(r, rc, what, e);
    }
    return 0;
}

/* Copy a text column into a fixed buffer; "" for NULL. Refuses what does not fit. */
static bool col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= cap) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, t ? (const char *)t : "", n);
    dst[n] = '\0';
    return true;
}

/* A text column as a new string; NULL for SQL NULL. *ok is cleared when memory runs out. */
static char *col_dup(sqlite3_stmt *st, int col, bool *ok)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    char *d;
    if (!t) {
        return NULL;
    }
    d = strdup((const char *)t);
    if (!d) {
        *ok = false;
    }
    return d;
}

static int damaged_row(struct reg *r, const char *what, struct ctl_err *e)
{
    return ctl_fail(e, CTL_E_REGISTRY, "the registry %s holds a malformed row (while %s); "
                    "refused, nothing was changed", r->path, what);
}

/* Is the database empty (a new file)? */
static int is_empty(struct reg *r, bool *empty, struct ctl_err *e)
{
    sqlite3_stmt *st;
    int rc;
    if (prep(r, &st, "SELECT count(*) FROM sqlite_master", "reading the schema", e) != 0) {
        return -1;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sql_fail(r, rc, "reading the schema", e);
    }
    *empty = sqlite3_column_int64(st, 0) == 0;
    sqlite3_finalize(st);
    return 0;
}

/* Does the database have vtpmctl's meta table? */
static int has_meta(struct reg *r, bool *meta, struct ctl_err *e)
{
    sqlite3_stmt *st;
    int rc;
    if (prep(r, &st, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
             "reading the schema", e) != 0) {
        return -1;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sql_fail(r, rc, "reading the schema", e);
    }
    *meta = sqlite3_column_int64(st, 0) == 1;
    sqlite3_finalize(st);
    return 0;
}

/* Check the schema version; make the schema in an empty database when may_create. */
static int check_schema(struct reg *r, bool may_create, struct ctl_err *e)
{
    char ver[16];
    bool empty = false, meta = false;
    int rc;
    if (is_empty(r, &empty, e) != 0) {
        return -1;
    }
    if (empty && may_create) {
        if (reg_begin(r, e) != 0) {
            return -1;
        }
        /* Another vtpmctl may have made it while we waited for the lock. */
        if (is_empty(r, &empty, e) != 0 ||
            (empty && exec_sql(r, schema_sql, "creating the registry", e) != 0) ||
            reg_commit(r, e) != 0) {
            reg_rollback(r);
            return -1;
        }
    }
    if (has_meta(r, &meta, e) != 0) {
        return -1;
    }
    if (!meta) {
        return ctl_fail(e, CTL_E_REGISTRY, "%s is not a vtpmctl registry (it has no vtpmctl "
                        "schema); refused, nothing was changed", r->path);
    }
    rc = reg_meta_get(r, "schema", ver, sizeof(ver), e);
    if (rc < 0) {
        return -1;
    }
    if (rc == REG_NOT_FOUND || strcmp(ver, SCHEMA_VERSION) != 0) {
        return ctl_fail(e, CTL_E_REGISTRY, "the registry %s has schema version '%s'; this "
                        "vtpmctl reads version %s only; refused, nothing was changed", r->path,
                        rc == REG_NOT_FOUND ? "none" : ver, SCHEMA_VERSION);
    }
    return 0;
}

static int quick_check(struct reg *r, struct ctl_err *e)
{
    sqlite3_stmt *st;
    int rc;
    char res[64] = "";
    if (prep(r, &st, "PRAGMA quick_check(1)", "checking the registry", e) != 0) {
        return -1;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        col_text(st, 0, res, sizeof(res));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        return sql_fail(r, rc, "checking the registry", e);
    }
    if (strcmp(res, "ok") != 0) {
        return ctl_fail(e, CTL_E_REGISTRY, "the registry %s is damaged (integrity check: %s); "
                        "refused, nothing was changed", r->path, res);
    }
    return 0;
}

/* Are the registry file and its folder writable by this process? */
static bool can_write(const char *path)
{
    char dir[4096];
    char *slash;
    if (access(path, W_OK) != 0 || snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
        return false;
    }
    slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
    }
    return access(slash ? (dir[0] ? dir : "/") : ".", W_OK | X_OK) == 0;
}

int reg_open(const char *path, enum reg_mode mode, int busy_ms, struct reg **out,
             struct ctl_err *e)
{
    struct reg *r = calloc(1, sizeof(*r));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc, ret = -1;
    if (mode == REG_READ) {
        /* A reader that can write rolls back what a crashed writer left (a hot journal),
         * as SQLite requires before anyone reads; where nothing is writable, read only. */
        flags = can_write(path) ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    }
    *out = NULL;
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return ctl_fail(e, CTL_E_INTERNAL, "out of memory while opening the registry");
    }
    r->busy_ms = busy_ms;
    rc = sqlite3_open_v2(path, &r->db, flags | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc != SQLITE_OK) {
        if (mode == REG_READ && (rc & 0xff) == SQLITE_CANTOPEN) {
            ret = REG_NOT_FOUND;
            goto out;
        }
        sql_fail(r, rc, "opening it", e);
        goto out;
    }
    sqlite3_extended_result_codes(r->db, 1);
    sqlite3_busy_timeout(r->db, busy_ms);
    /* journal_mode=DELETE: no -wal/-shm files, so a read-only data dir can still be read. */
    if (exec_sql(r, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
                    "PRAGMA synchronous = FULL;", "configuring it", e) != 0) {
        goto out;
    }
    if (mode == REG_WRITE &&
        exec_sql(r, "PRAGMA journal_mode = DELETE;", "configuring it", e) != 0) {
        goto out;
    }
    if (check_schema(r, mode == REG_WRITE, e) != 0) {
        goto out;
    }
    if (mode == REG_WRITE && quick_check(r, e) != 0) {
        goto out;
    }
    *out = r;
    r = NULL;
    ret = 0;
out:
    reg_close(r);
    return ret;
}

void reg_close(struct reg *r)
{
    if (!r) {
        return;
    }
    if (r->in_tx) {
        reg_rollback(r);
    }
    sqlite3_close_v2(r->db);
    free(r->path);
    free(r);
}

int reg_begin(struct reg *r, struct ctl_err *e)
{
    if (exec_sql(r, "BEGIN IMMEDIATE", "taking the registry's write lock", e) != 0) {
        return -1;
    }
    r->in_tx = true;
    return 0;
}

int reg_commit(struct reg *r, struct ctl_err *e)
{
    if (exec_sql(r, "COMMIT", "committing", e) != 0) {
        reg_rollback(r);
        return -1;
    }
    r->in_tx = false;
    return 0;
}

void reg_rollback(struct reg *r)
{
    if (r->in_tx || !sqlite3_get_autocommit(r->db)) {
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    }
    r->in_tx = false;
}

int reg_meta_get(struct reg *r, const char *key, char *val, size_t cap, struct ctl_err *e)
{
    sqlite3_stmt *st;
    int rc;
    if (prep(r, &st, "SELECT value FROM meta WHERE key = ?", "reading a setting", e) != 0) {
        return -1;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return REG_NOT_FOUND;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sql_fail(r, rc, "reading a setting", e);
    }
    if (!col_text(st, 0, val, cap)) {
        sqlite3_finalize(st);
        return damaged_row(r, "reading a setting", e);
    }
    sqlite3_finalize(st);
    return 0;
}

int reg_meta_set(struct reg *r, const char *key, const char *val, struct ctl_err *e)
{
    sqlite3_stmt *st;
    const char *v[] = {key, val};
    if (prep(r, &st, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
             "writing a setting", e) != 0) {
        return -1;
    }
    bind_texts(st, 2, v);
    return exec_stmt(r, st, "writing a setting", e);
}

/* ---- images ---- */

void reg_image_clear(struct reg_image *im)
{
    free(im->kernel);
    free(im->initrd);
    free(im->cmdline);
    free(im->disk);
    memset(im, 0, sizeof(*im));
}

int reg_image_insert(struct reg *r, const struct reg_image *im, struct ctl_err *e)
{
    sqlite3_stmt *st;
    const char *v[] = {im->image_id, im->name};
    const char *v2[] = {im->kernel, im->initrd, im->cmdline, im->disk, im->created_at};
    if (prep(r, &st,
             "INSERT INTO images (image_id, name, boot_modes, tpm_mandatory, secure_boot,"
             " kernel, initrd, cmdline, disk, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
             "recording the image", e) != 0) {
        return -1;
    }
    bind_texts(st, 2, v);
    sqlite3_bind_int(st, 3, (int)im->boot_modes);
    sqlite3_bind_int(st, 4, im->tpm_mandatory);
    sqlite3_bind_int(st, 5, im->secure_boot);
    for (int i = 0; i < 5; i++) {
        if (v2[i]) {
            sqlite3_bind_text(st, 6 + i, v2[i], -1, SQLITE_TRANSIENT);
        }
    }
    return exec_stmt(r, st, "recording the image", e);
}

#define IMAGE_COLS                                                                         \
    "image_id, name, boot_modes, tpm_mandatory, secure_boot, kernel, initrd, cmdline, disk," \
    " created_at"

static int image_row(struct reg *r, sqlite3_stmt *st, struct reg_image *im, struct ctl_err *e)
{
    bool ok = true;
    memset(im, 0, sizeof(*im));
    ok &= col_text(st, 0, im->image_id, sizeof(im->image_id));
    ok &= col_text(st, 1, im->name, sizeof(im->name));
    im->boot_modes = (unsigned)sqlite3_column_int(st, 2);
    im->tpm_mandatory = sqlite3_column_int(st, 3) != 0;
    im->secure_boot = sqlite3_column_int(st, 4) != 0;
    im->kernel = col_dup(st, 5, &ok);
    im->initrd = col_dup(st, 6, &ok);
    im->cmdline = col_dup(st, 7, &ok);
    im->disk = col_dup(st, 8, &ok);
    ok &= col_text(st, 9, im->created_at, sizeof(im->created_at));
    if (!ok || im->boot_modes < 1 || im->boot_modes > 3) {
        reg_image_clear(im);
        return damaged_row(r, "reading an image", e);
    }
    return 0;
}

int reg_image_get(struct reg *r, const char *image_id, struct reg_image *out, struct ctl_err *e)
{
    sqlite3_stmt *st;
    int rc;
    memset(out, 0, sizeof(*out));
    if (prep(r, &st, "SELECT " IMAGE_COLS " FROM images WHERE image_id = ?", "reading an image",
             e) != 0) {
        return -1;
    }
    sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rc = image_row(r, st, out, e);
    } else if (rc == SQLITE_DONE) {
        rc = REG_NOT_FOUND;
    } else {
        rc = sql_fail(r, rc, "reading an image", e);
    }
    sqlite3_finalize(st);
    return rc;
}

int reg_image_each(struct reg *r, int (*fn)(const struct reg_image *, void *), void *ctx,
                   struct ctl_err *e)
{
    sqlite3_stmt *st;
    int rc;
    if (prep(r, &st, "SELECT " IMAGE_COLS " FROM images ORDER BY created_at, image_id",
             "listing images", e) != 0) {
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct reg_image im;
        int stop;
        if (image_row(r, st, &im, e) != 0) {
            sqlite3_finalize(st);
            return -1;
        }
        stop = fn(&im, ctx);
        reg_image_clear(&im);
        if (stop) {
            sqlite3_finalize(st);
            return stop;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sql_fail(r, rc, "listing images", e);
}

int reg_image_users(struct reg *r, const char *image_id, long *count, struct ctl_err *e)
{
    sqlite3_stmt *st;
    int rc;
    if (prep(r, &st, "SELECT count(*) FROM vms WHERE image_id = ? AND state <> 'terminated'",
             "counting the image's VMs", e) != 0) {
        return -1;
    }
    sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sql_fail(r, rc, "counting the image's VMs", e);
    }
    *count = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

int reg_image_delete(struct reg *r, const char *image_id, struct ctl_err *e)
{
    sqlite3_stmt *st;
    if (prep(r, &st, "DELETE FROM images WHERE image_id = ?", "deleting the image", e) != 0) {
        return -1;
    }
    sqlite3_bind_text(st, 1, image_id, -1, SQLITE_STATIC);
    if (exec_stmt(r, st, "deleting the image", e) != 0) {
        return -1;
    }
    return sqlite3_changes(r->db) == 1 ? 0 : REG_NOT_FOUND;
}

/* ---- VMs ---- */

static const char *const vm_states[] = {
    [REG_VM_STOPPED] = "stopped",
    [REG_VM_RUNNING] = "running",
    [REG_VM_TERMINATED] = "terminated",
};

const char *reg_vm_state_name(enum reg_vm_state s)
{
    return vm_states[s];
}

const char *reg_boot_name(unsigned boot_mode)
{
    return boot_mode == REG_BOOT_UEFI ? "uefi" : "legacy";
}

int reg_vm_insert(struct reg *r, const struct reg_vm *vm, struct ctl_err *e)
{
    sqlite3_stmt *st;
    const char *v[] = {vm->vm_id, vm->image_id, reg_boot_name(vm->boot_mode)};
    if (prep(r, &st,
             "INSERT INTO vms (vm_id, image_id, boot_mode, tpm_enabled, state, created_at)"
             " VALUES (?, ?, ?, ?, ?, ?)", "recording the VM", e) != 0) {
        return -1;
    }
    bind_texts(st, 3, v);
    sqlite3_bind_int(st, 4, vm->tpm_enabled);
    sqlite3_bind_text(st, 5, reg_vm_state_name(vm->state), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, vm->created_at, -1, SQLITE_TRANSIENT);
    return exec_stmt(r, st, "recording the VM", e);
}

#define VM_COLS "vm_id, image_id, boot_mode, tpm_enabled, state, created_at, terminated_at"

static int vm_row(struct reg *r, sqlite3_stmt *st, struct reg_vm *vm, struct ctl_err *e)
{
    char boot[16], state[16];
    bool ok = true;
    memset(vm, 0, sizeof(*vm));
    ok &= col_text(st, 0, vm->vm_id, sizeof(vm->vm_id));
    ok &= col_text(st, 1, vm->image_id, sizeof(vm->image_id));
    ok &= col_text(st, 2, boot, sizeof(boot));
    vm->tpm_enabled = sqlite3_column_int(st, 3) != 0;
    ok &= col_text(st, 4, state, sizeof(state));
    ok &= col_text(st, 5, vm->created_at, sizeof(vm->created_at));
    ok &= col_text(st, 6, vm->terminated_at, sizeof(vm->terminated_at));
    if (ok && strcmp(boot, "uefi") == 0) {
        vm->boot_mode = REG_BOOT_UEFI;
    } else if (ok && strcmp(boot, "legacy") == 0) {
        vm->boot_mode = REG_BOOT_LEGACY;
    } else {
        ok = false;
    }
    if (ok && strcmp(state, "stopped") == 0) {
        vm->state = REG_VM_STOPPED;
    } else if (ok && strcmp(state, "running") == 0) {
        vm->state = REG_VM_RUNNING;
    } else if (ok && strcmp(state, "terminated") == 0) {
        vm->state = REG_VM_TERMINATED;
    } else {
        ok = false;
    }
    return ok ? 0 : damaged_row(r, "reading a VM", e);
}

int reg_vm_get(struct reg *r, const char *vm_id, struct reg_vm *out, struct ctl_err *e)
{
    sqlite3_stmt *st;
    int rc;
    if (prep(r, &st, "SELECT " VM_COLS " FROM vms WHERE vm_id = ?", "reading a VM", e) != 0) {
        return -1;
    }
    sqlite3_bind_text(st, 1, vm_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rc = vm_row(r, st, out, e);
    } else if (rc == SQLITE_DONE) {
        rc = REG_NOT_FOUND;
    } else {
        rc = sql_fail(r, rc, "reading a VM", e);
    }
    sqlite3_finalize(st);
    return rc;
}

int reg_vm_each(struct reg *r, int (*fn)(const struct reg_vm *, void *), void *ctx,
                struct ctl_err *e)
{
    sqlite3_stmt *st;
    int rc;
    if (prep(r, &st, "SELECT " VM_COLS " FROM vms ORDER BY created_at, vm_id", "listing VMs",
             e) != 0) {
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct reg_vm vm;
        int stop;
        if (vm_row(r, st, &vm, e) != 0) {
            sqlite3_finalize(st);
            return -1;
        }
        stop = fn(&vm, ctx);
        if (stop) {
            sqlite3_finalize(st);
            return stop;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sql_fail(r, rc, "listing VMs", e);
}

static int vm_update(struct reg *r, const char *sql, const char *vm_id, const char *a,
                     const char *what, struct ctl_err *e)
{
    sqlite3_stmt *st;
    if (prep(r, &st, sql, what, e) != 0) {
        return -1;
    }
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, vm_id, -1, SQLITE_STATIC);
    if (exec_stmt(r, st, what, e) != 0) {
        return -1;
    }
    return sqlite3_changes(r->db) == 1 ? 0 : REG_NOT_FOUND;
}

int reg_vm_set_state(struct reg *r, const char *vm_id, enum reg_vm_state state,
                     struct ctl_err *e)
{
    if (state == REG_VM_TERMINATED) {
        return ctl_fail(e, CTL_E_INTERNAL, "a VM is terminated only by reg_vm_terminate");
    }
    return vm_update(r, "UPDATE vms SET state = ? WHERE vm_id = ?", vm_id,
                     reg_vm_state_name(state), "recording the VM's state", e);
}

int reg_vm_terminate(struct reg *r, const char *vm_id, const char *at, struct ctl_err *e)
{
    return vm_update(r, "UPDATE vms SET state = 'terminated', terminated_at = ? WHERE vm_id = ?",
                     vm_id, at, "terminating the VM", e);
}

/* ---- vTPMs ---- */

int reg_vtpm_insert(struct reg *r, const struct reg_vtpm *v, struct ctl_err *e)
{
    sqlite3_stmt *st;
    if (prep(r, &st,
             "INSERT INTO vtpms (vtpm_id, vm_id, wrapped_key, kek_id, path, created_at)"
             " VALUES (?, ?, ?, ?, ?, ?)", "recording the vTPM", e) != 0) {
        return -1;
    }
    sqlite3_bind_text(st, 1, v->vtpm_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, v->vm_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, v->wrapped_key, (int)v->wrapped_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, v->kek_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, v->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, v->created_at, -1, SQLITE_STATIC);
    return exec_stmt(r, st, "recording the vTPM", e);
}

int reg_vtpm_get(struct reg *r, const char *vm_id, struct reg_vtpm *out, struct ctl_err *e)
{
    sqlite3_stmt *st;
    int rc;
    bool ok = true;
    memset(out, 0, sizeof(*out));
    if (prep(r, &st,
             "SELECT vtpm_id, vm_id, wrapped_key, kek_id, path, created_at, destroyed_at"
             " FROM vtpms WHERE vm_id = ?", "reading a vTPM", e) != 0) {
        return -1;
    }
    sqlite3_bind_text(st, 1, vm_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return REG_NOT_FOUND;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sql_fail(r, rc, "reading a vTPM", e);
    }
    ok &= col_text(st, 0, out->vtpm_id, sizeof(out->vtpm_id));
    ok &= col_text(st, 1, out->vm_id, sizeof(out->vm_id));
    if (sqlite3_column_type(st, 2) == SQLITE_BLOB) {
        size_t n = (size_t)sqlite3_column_bytes(st, 2);
        const void *b = sqlite3_column_blob(st, 2);
        if (n == 0 || n > sizeof(out->wrapped_key) || !b) {
            ok = false;
        } else {
            memcpy(out->wrapped_key, b, n);
            out->wrapped_len = n;
        }
    }
    ok &= col_text(st, 3, out->kek_id, sizeof(out->kek_id));
    ok &= col_text(st, 4, out->path, sizeof(out->path));
    ok &= col_text(st, 5, out->created_at, sizeof(out->created_at));
    ok &= col_text(st, 6, out->destroyed_at, sizeof(out->destroyed_at));
    sqlite3_finalize(st);
    if (!ok || (out->wrapped_len == 0) != (out->destroyed_at[0] != '\0')) {
        secret_wipe(out->wrapped_key, sizeof(out->wrapped_key));
        return damaged_row(r, "reading a vTPM", e);
    }
    return 0;
}

int reg_vtpm_destroy(struct reg *r, const char *vm_id, const char *at, struct ctl_err *e)
{
    sqlite3_stmt *st;
    if (prep(r, &st,
             "UPDATE vtpms SET wrapped_key = NULL, kek_id = NULL, destroyed_at = ?"
             " WHERE vm_id = ? AND destroyed_at IS NULL", "destroying the vTPM's key", e) != 0) {
        return -1;
    }
    sqlite3_bind_text(st, 1, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, vm_id, -1, SQLITE_STATIC);
    if (exec_stmt(r, st, "destroying the vTPM's key", e) != 0) {
        return -1;
    }
    return sqlite3_changes(r->db) == 1 ? 0 : REG_NOT_FOUND;
}

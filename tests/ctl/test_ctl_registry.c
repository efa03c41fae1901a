/*
 * Unit tests of the registry (src/ctl/registry_sqlite.c): its calls, and the schema's own
 * refusal of every change the rules forbid, tried with raw SQL on the same file (what a bug
 * or a hand-written statement could attempt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "ctl/registry.h"
#include "testdir.h"

struct fx {
    char dir[256];
    char path[300];
    struct reg *r;
    sqlite3 *raw;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ctl_err e = {0};
    test_mkdtemp(f->dir);
    snprintf(f->path, sizeof(f->path), "%s/registry.db", f->dir);
    assert_int_equal(reg_open(f->path, REG_WRITE, 2000, &f->r, &e), 0);
    assert_int_equal(sqlite3_open(f->path, &f->raw), SQLITE_OK);
    sqlite3_busy_timeout(f->raw, 2000);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    reg_close(f->r);
    sqlite3_close(f->raw);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

/* Run raw SQL; returns the SQLite result and copies the message. */
static int raw(struct fx *f, const char *sql, char *msg, size_t cap)
{
    char *m = NULL;
    int rc = sqlite3_exec(f->raw, sql, NULL, NULL, &m);
    if (msg) {
        snprintf(msg, cap, "%s", m ? m : "");
    }
    sqlite3_free(m);
    return rc;
}

static void add_image(struct fx *f, const char *id, unsigned modes, bool mandatory)
{
    struct reg_image im;
    struct ctl_err e = {0};
    memset(&im, 0, sizeof(im));
    snprintf(im.image_id, sizeof(im.image_id), "%s", id);
    snprintf(im.name, sizeof(im.name), "img");
    im.boot_modes = modes;
    im.tpm_mandatory = mandatory;
    snprintf(im.created_at, sizeof(im.created_at), "2024-01-01T00:00:00.000Z");
    assert_int_equal(reg_image_insert(f->r, &im, &e), 0);
}

static int add_vm(struct fx *f, const char *id, const char *image, unsigned boot, bool tpm,
                  struct ctl_err *e)
{
    struct reg_vm vm;
    memset(&vm, 0, sizeof(vm));
    snprintf(vm.vm_id, sizeof(vm.vm_id), "%s", id);
    snprintf(vm.image_id, sizeof(vm.image_id), "%s", image);
    vm.boot_mode = boot;
    vm.tpm_enabled = tpm;
    vm.state = REG_VM_STOPPED;
    snprintf(vm.created_at, sizeof(vm.created_at), "2024-01-01T00:00:01.000Z");
    return reg_vm_insert(f->r, &vm, e);
}

static int add_vtpm(struct fx *f, const char *vm, struct ctl_err *e)
{
    struct reg_vtpm v;
    memset(&v, 0, sizeof(v));
    snprintf(v.vtpm_id, sizeof(v.vtpm_id), "%.8s000000000000000000000000", vm + 2);
    snprintf(v.vm_id, sizeof(v.vm_id), "%s", vm);
    memset(v.wrapped_key, 0x5c, 61);
    v.wrapped_len = 61;
    snprintf(v.kek_id, sizeof(v.kek_id), "0011223344556677");
    snprintf(v.path, sizeof(v.path), "vtpm/%s/tpm2-00.permall", vm);
    snprintf(v.created_at, sizeof(v.created_at), "2024-01-01T00:00:01.000Z");
    return reg_vtpm_insert(f->r, &v, e);
}

static void round_trip_of_every_record(void **state)
{
    struct fx *f = *state;
    struct ctl_err e = {0};
    struct reg_image im;
    struct reg_vm vm;
    struct reg_vtpm v;
    char val[64];
    add_image(f, "ami-00000001", REG_BOOT_UEFI, true);
    assert_int_equal(add_vm(f, "i-00000001", "ami-00000001", REG_BOOT_UEFI, true, &e), 0);
    assert_int_equal(add_vtpm(f, "i-00000001", &e), 0);
    assert_int_equal(reg_image_get(f->r, "ami-00000001", &im, &e), 0);
    assert_int_equal(im.boot_modes, REG_BOOT_UEFI);
    assert_true(im.tpm_mandatory);
    assert_null(im.kernel);
    reg_image_clear(&im);
    assert_int_equal(reg_image_get(f->r, "ami-00000002", &im, &e), REG_NOT_FOUND);
    assert_int_equal(reg_vm_get(f->r, "i-00000001", &vm, &e), 0);
    assert_true(vm.tpm_enabled);
    assert_int_equal(vm.state, REG_VM_STOPPED);
    assert_int_equal(reg_vtpm_get(f->r, "i-00000001", &v, &e), 0);
    assert_int_equal(v.wrapped_len, 61);
    assert_string_equal(v.destroyed_at, "");
    assert_int_equal(reg_vm_get(f->r, "i-00000009", &vm, &e), REG_NOT_FOUND);
    assert_int_equal(reg_meta_get(f->r, "schema", val, sizeof(val), &e), 0);
    assert_string_equal(val, "1");
    assert_int_equal(e.kind, CTL_E_NONE);
}

/* Rule 1: images never change. */
static void schema_refuses_changing_an_image(void **state)
{
    struct fx *f = *state;
    char msg[256];
    add_image(f, "ami-00000001", REG_BOOT_UEFI, true);
    assert_int_equal(raw(f, "UPDATE images SET tpm_mandatory = 0", msg, sizeof(msg)),
                     SQLITE_CONSTRAINT);
    assert_non_null(strstr(msg, "cannot change"));
    assert_int_equal(raw(f, "UPDATE images SET boot_modes = 3", msg, sizeof(msg)),
                     SQLITE_CONSTRAINT);
    assert_int_equal(raw(f, "UPDATE images SET name = 'x'", msg, sizeof(msg)),
                     SQLITE_CONSTRAINT);
}

/* Rules 2 and 3 at the schema level. */
static void schema_refuses_vms_that_break_the_rules(void **state)
{
    struct fx *f = *state;
    struct ctl_err e = {0};
    add_image(f, "ami-0000000a", REG_BOOT_UEFI, true);                    /* mandatory */
    add_image(f, "ami-0000000b", REG_BOOT_UEFI | REG_BOOT_LEGACY, false); /* dual */
    add_image(f, "ami-0000000c", REG_BOOT_LEGACY, false);
    assert_int_equal(add_vm(f, "i-00000001", "ami-0000000a", REG_BOOT_UEFI, false, &e), -1);
    assert_non_null(strstr(e.details, "TpmMandatory"));
    ctl_err_clear(&e);
    assert_int_equal(add_vm(f, "i-00000002", "ami-0000000b", REG_BOOT_UEFI, true, &e), -1);
    assert_non_null(strstr(e.details, "UEFI-only"));
    ctl_err_clear(&e);
    assert_int_equal(add_vm(f, "i-00000003", "ami-0000000c", REG_BOOT_UEFI, false, &e), -1);
    assert_non_null(strstr(e.details, "boot mode"));
    ctl_err_clear(&e);
    assert_int_equal(add_vm(f, "i-00000004", "ami-000000ff", REG_BOOT_UEFI, false, &e), -1);
    assert_non_null(strstr(e.details, "existing image"));
    ctl_err_clear(&e);
    char msg[256];
    assert_int_equal(raw(f, "INSERT INTO vms (vm_id, image_id, boot_mode, tpm_enabled, state,"
                            " created_at) VALUES ('i-00000005', 'ami-0000000b', 'legacy', 1,"
                            " 'stopped', 'x')", msg, sizeof(msg)), SQLITE_CONSTRAINT);
    assert_int_equal(raw(f, "INSERT INTO vms (vm_id, image_id, boot_mode, tpm_enabled, state,"
                            " created_at) VALUES ('i-00000006', 'ami-0000000b', 'uefi', 0,"
                            " 'running', 'x')", msg, sizeof(msg)), SQLITE_CONSTRAINT);
    /* What the rules allow goes in. */
    assert_int_equal(add_vm(f, "i-00000007", "ami-0000000a", REG_BOOT_UEFI, true, &e), 0);
    assert_int_equal(add_vm(f, "i-00000008", "ami-0000000b", REG_BOOT_LEGACY, false, &e), 0);
}

/* Rules 4, 5 and 7: a vTPM is attached at creation to a TpmEnabled VM only, never moved,
 * never turned off. */
static void schema_refuses_attaching_moving_or_disabling(void **state)
{
    struct fx *f = *state;
    struct ctl_err e = {0};
    char msg[256];
    add_image(f, "ami-0000000a", REG_BOOT_UEFI, false);
    assert_int_equal(add_vm(f, "i-00000001", "ami-0000000a", REG_BOOT_UEFI, true, &e), 0);
    assert_int_equal(add_vm(f, "i-00000002", "ami-0000000a", REG_BOOT_UEFI, false, &e), 0);
    assert_int_equal(add_vm(f, "i-00000003", "ami-0000000a", REG_BOOT_UEFI, true, &e), 0);
    assert_int_equal(add_vtpm(f, "i-00000001", &e), 0);
    /* Not to a VM created without TpmEnabled. */
    assert_int_equal(add_vtpm(f, "i-00000002", &e), -1);
    assert_non_null(strstr(e.details, "attached only"));
    ctl_err_clear(&e);
    /* Not a second one. */
    assert_int_equal(raw(f, "INSERT INTO vtpms (vtpm_id, vm_id, wrapped_key, kek_id, path,"
                            " created_at) VALUES ('ff', 'i-00000001', x'00', 'k', 'p2', 'x')",
                         msg, sizeof(msg)), SQLITE_CONSTRAINT);
    /* Not to a running VM after its creation. */
    assert_int_equal(reg_vm_set_state(f->r, "i-00000003", REG_VM_RUNNING, &e), 0);
    assert_int_equal(add_vtpm(f, "i-00000003", &e), -1);
    ctl_err_clear(&e);
    /* Never moved to another VM or place. */
    assert_int_equal(raw(f, "UPDATE vtpms SET vm_id = 'i-00000003'", msg, sizeof(msg)),
                     SQLITE_CONSTRAINT);
    assert_non_null(strstr(msg, "cannot move"));
    assert_int_equal(raw(f, "UPDATE vtpms SET path = 'elsewhere'", msg, sizeof(msg)),
                     SQLITE_CONSTRAINT);
    /* Never turned off: TpmEnabled is fixed, the vTPM not destroyed while the VM exists. */
    assert_int_equal(raw(f, "UPDATE vms SET tpm_enabled = 0 WHERE vm_id = 'i-00000001'", msg,
                         sizeof(msg)), SQLITE_CONSTRAINT);
    assert_int_equal(reg_vtpm_destroy(f->r, "i-00000001", "2024", &e), -1);
    assert_non_null(strstr(e.details, "while its VM exists"));
    ctl_err_clear(&e);
    /* Its key is never replaced. */
    assert_int_equal(raw(f, "UPDATE vtpms SET wrapped_key = x'01'", msg, sizeof(msg)),
                     SQLITE_CONSTRAINT);
    /* Records are never deleted. */
    assert_int_equal(raw(f, "DELETE FROM vtpms", msg, sizeof(msg)), SQLITE_CONSTRAINT);
    assert_int_equal(raw(f, "DELETE FROM vms", msg, sizeof(msg)), SQLITE_CONSTRAINT);
}

/* Rule 8: the key is erased with the VM, once; the record stays. */
static void destroy_erases_the_key_and_keeps_the_record(void **state)
{
    struct fx *f = *state;
    struct ctl_err e = {0};
    struct reg_vtpm v;
    struct reg_vm vm;
    char msg[256];
    uint8_t raw_file[1 << 16];
    size_t n;
    add_image(f, "ami-0000000a", REG_BOOT_UEFI, true);
    assert_int_equal(add_vm(f, "i-00000001", "ami-0000000a", REG_BOOT_UEFI, true, &e), 0);
    assert_int_equal(add_vtpm(f, "i-00000001", &e), 0);
    assert_int_equal(reg_begin(f->r, &e), 0);
    assert_int_equal(reg_vm_terminate(f->r, "i-00000001", "2024-02-02T00:00:00.000Z", &e), 0);
    assert_int_equal(reg_vtpm_destroy(f->r, "i-00000001", "2024-02-02T00:00:00.000Z", &e), 0);
    assert_int_equal(reg_commit(f->r, &e), 0);
    assert_int_equal(reg_vtpm_get(f->r, "i-00000001", &v, &e), 0);
    assert_int_equal(v.wrapped_len, 0);
    assert_string_equal(v.destroyed_at, "2024-02-02T00:00:00.000Z");
    assert_int_equal(reg_vm_get(f->r, "i-00000001", &vm, &e), 0);
    assert_int_equal(vm.state, REG_VM_TERMINATED);
    /* secure_delete: the wrapped key's bytes are gone from the file itself. */
    n = test_read_file(f->path, raw_file, sizeof(raw_file));
    uint8_t pattern[61];
    memset(pattern, 0x5c, sizeof(pattern));
    assert_true(n > 0);
    assert_null(memmem(raw_file, n, pattern, sizeof(pattern)));
    /* Once only; a terminated VM never changes again. */
    assert_int_equal(reg_vtpm_destroy(f->r, "i-00000001", "2025", &e), REG_NOT_FOUND);
    assert_int_equal(raw(f, "UPDATE vtpms SET destroyed_at = '2030'", msg, sizeof(msg)),
                     SQLITE_CONSTRAINT);
    assert_int_equal(raw(f, "UPDATE vms SET state = 'stopped', terminated_at = NULL", msg,
                         sizeof(msg)), SQLITE_CONSTRAINT);
}

static void image_in_use_is_not_deleted(void **state)
{
    struct fx *f = *state;
    struct ctl_err e = {0};
    long users = -1;
    add_image(f, "ami-0000000a", REG_BOOT_UEFI, false);
    assert_int_equal(add_vm(f, "i-00000001", "ami-0000000a", REG_BOOT_UEFI, false, &e), 0);
    assert_int_equal(reg_image_users(f->r, "ami-0000000a", &users, &e), 0);
    assert_int_equal(users, 1);
    assert_int_equal(reg_image_delete(f->r, "ami-0000000a", &e), -1);
    assert_non_null(strstr(e.details, "while VMs use it"));
    ctl_err_clear(&e);
    assert_int_equal(reg_vm_terminate(f->r, "i-00000001", "2024", &e), 0);
    assert_int_equal(reg_image_delete(f->r, "ami-0000000a", &e), 0);
    assert_int_equal(reg_image_delete(f->r, "ami-0000000a", &e), REG_NOT_FOUND);
}

static void rollback_leaves_nothing(void **state)
{
    struct fx *f = *state;
    struct ctl_err e = {0};
    struct reg_image im;
    assert_int_equal(reg_begin(f->r, &e), 0);
    add_image(f, "ami-0000000a", REG_BOOT_UEFI, false);
    reg_rollback(f->r);
    assert_int_equal(reg_image_get(f->r, "ami-0000000a", &im, &e), REG_NOT_FOUND);
}

static void a_second_writer_waits_then_fails_busy(void **state)
{
    struct fx *f = *state;
    struct ctl_err e = {0};
    struct reg *other;
    assert_int_equal(reg_open(f->path, REG_WRITE, 200, &other, &e), 0);
    assert_int_equal(reg_begin(f->r, &e), 0);
    assert_int_equal(reg_begin(other, &e), -1);
    assert_int_equal(e.kind, CTL_E_REGISTRY);
    assert_non_null(strstr(e.details, "busy"));
    reg_rollback(f->r);
    reg_close(other);
}

static void damaged_foreign_or_newer_registries_are_refused(void **state)
{
    (void)state;
    char dir[256], path[300];
    struct reg *r = NULL;
    struct ctl_err e = {0};
    uint8_t junk[8192];
    sqlite3 *db;
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/registry.db", dir);

    /* Not a database at all. */
    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)(i * 131 + 7);
    }
    test_write_file(path, junk, sizeof(junk), 0600);
    assert_int_equal(reg_open(path, REG_WRITE, 100, &r, &e), -1);
    assert_int_equal(e.kind, CTL_E_REGISTRY);
    assert_non_null(strstr(e.details, "not a database"));
    assert_null(r);

    /* Another program's database. */
    unlink(path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ctl_err_clear(&e);
    assert_int_equal(reg_open(path, REG_WRITE, 100, &r, &e), -1);
    assert_non_null(strstr(e.details, "not a vtpmctl registry"));

    /* A newer schema. */
    unlink(path);
    assert_int_equal(reg_open(path, REG_WRITE, 100, &r, &e), 0);
    reg_close(r);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = '2' WHERE key = 'schema'", NULL,
                                  NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ctl_err_clear(&e);
    assert_int_equal(reg_open(path, REG_WRITE, 100, &r, &e), -1);
    assert_non_null(strstr(e.details, "schema version '2'"));

    /* A real registry with a page overwritten in the middle. */
    unlink(path);
    assert_int_equal(reg_open(path, REG_WRITE, 100, &r, &e), 0);
    reg_close(r);
    size_t n = test_read_file(path, junk, sizeof(junk));
    assert_true(n > 4096);
    memset(junk + 4096 + 100, 0xEE, 600);
    test_write_file(path, junk, n, 0600);
    ctl_err_clear(&e);
    assert_int_equal(reg_open(path, REG_WRITE, 100, &r, &e), -1);
    assert_int_equal(e.kind, CTL_E_REGISTRY);
    test_rmtree(dir);
}

static void read_mode_never_creates(void **state)
{
    (void)state;
    char dir[256], path[300];
    struct reg *r = NULL;
    struct ctl_err e = {0};
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/registry.db", dir);
    assert_int_equal(reg_open(path, REG_READ, 100, &r, &e), REG_NOT_FOUND);
    assert_int_equal(access(path, F_OK), -1);
    test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip_of_every_record, setup, teardown),
        cmocka_unit_test_setup_teardown(schema_refuses_changing_an_image, setup, teardown),
        cmocka_unit_test_setup_teardown(schema_refuses_vms_that_break_the_rules, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(schema_refuses_attaching_moving_or_disabling, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(destroy_erases_the_key_and_keeps_the_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(image_in_use_is_not_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_second_writer_waits_then_fails_busy, setup, teardown),
        cmocka_unit_test(damaged_foreign_or_newer_registries_are_refused),
        cmocka_unit_test(read_mode_never_creates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

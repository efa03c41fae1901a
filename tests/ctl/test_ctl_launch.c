/* Unit tests of the command lines of vtpmd and QEMU (src/ctl/launch.c) and of the JSON
 * writer (src/ctl/json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/json.h"
#include "ctl/launch.h"

static struct launch_config cfg(void)
{
    struct launch_config c = {0};
    c.qemu = "/usr/bin/qemu-system-x86_64";
    c.vtpmd = "/opt/vtpm/vtpmd";
    launch_config_defaults(&c);
    return c;
}

/* Index of the argument equal to s, or -1. */
static int find(const struct launch_cmd *c, const char *s)
{
    for (int i = 0; i < c->argc; i++) {
        if (strcmp(c->argv[i], s) == 0) {
            return i;
        }
    }
    return -1;
}

static bool any_contains(const struct launch_cmd *c, const char *s)
{
    for (int i = 0; i < c->argc; i++) {
        if (strstr(c->argv[i], s)) {
            return true;
        }
    }
    return false;
}

static void uefi_vm_with_vtpm(void **state)
{
    (void)state;
    struct launch_config c = cfg();
    struct launch_vm vm = {.vm_id = "i-0123abcd", .uefi = true, .tpm = true,
                           .vtpm_dir = "/d/vtpm/i-0123abcd", .vm_dir = "/d/vms/i-0123abcd",
                           .kernel = "/img/vmlinuz", .initrd = "/img/initrd",
                           .cmdline = "console=ttyS0 panic=-1"};
    struct launch_plan p;
    struct ctl_err e = {0};
    int i;
    assert_int_equal(launch_plan_build(&c, &vm, &p, &e), 0);
    assert_true(p.has_vtpmd);
    /* vtpmd: swtpm's socket interface, the key on fd 3, the VM id, in the background. */
    assert_string_equal(p.vtpmd.argv[0], "/opt/vtpm/vtpmd");
    assert_string_equal(p.vtpmd.argv[1], "socket");
    assert_true(find(&p.vtpmd, "--tpm2") > 0);
    i = find(&p.vtpmd, "--tpmstate");
    assert_string_equal(p.vtpmd.argv[i + 1], "dir=/d/vtpm/i-0123abcd,mode=0600");
    i = find(&p.vtpmd, "--ctrl");
    assert_string_equal(p.vtpmd.argv[i + 1],
                        "type=unixio,path=/d/vms/i-0123abcd/vtpmd.sock,mode=0600");
    i = find(&p.vtpmd, "--key");
    assert_string_equal(p.vtpmd.argv[i + 1], "fd=3,mode=aes-256-gcm");
    assert_int_equal(p.vtpmd.key_fd, 3);
    i = find(&p.vtpmd, "--vmid");
    assert_string_equal(p.vtpmd.argv[i + 1], "i-0123abcd");
    assert_true(find(&p.vtpmd, "--daemon") > 0);
    assert_true(find(&p.vtpmd, "--terminate") > 0);
    assert_null(p.vtpmd.argv[p.vtpmd.argc]);
    /* QEMU: OVMF, the VM's own variables, the TPM wired to vtpmd's control socket. */
    assert_int_equal(p.qemu.key_fd, -1);
    assert_true(any_contains(&p.qemu, "if=pflash,format=raw,unit=0,readonly=on,"
                                      "file=/usr/share/OVMF/OVMF_CODE_4M.fd"));
    assert_true(any_contains(&p.qemu, "unit=1,file=/d/vms/i-0123abcd/OVMF_VARS.fd"));
    assert_true(find(&p.qemu, "socket,id=chrtpm,path=/d/vms/i-0123abcd/vtpmd.sock") > 0);
    assert_true(find(&p.qemu, "emulator,id=tpm0,chardev=chrtpm") > 0);
    assert_true(find(&p.qemu, "tpm-crb,tpmdev=tpm0") > 0);
    i = find(&p.qemu, "-append");
    assert_string_equal(p.qemu.argv[i + 1], "console=ttyS0 panic=-1");
    assert_true(find(&p.qemu, "-daemonize") > 0);
    assert_true(find(&p.qemu, "q35,accel=tcg") > 0);
    launch_plan_free(&p);
}

static void legacy_vm_has_seabios_and_no_tpm(void **state)
{
    (void)state;
    struct launch_config c = cfg();
    struct launch_vm vm = {.vm_id = "i-0123abcd", .uefi = false, .tpm = false,
                           .vtpm_dir = "/d/vtpm/i-0123abcd", .vm_dir = "/d/vms/i-0123abcd"};
    struct launch_plan p;
    struct ctl_err e = {0};
    assert_int_equal(launch_plan_build(&c, &vm, &p, &e), 0);
    assert_false(p.has_vtpmd);
    assert_int_equal(p.vtpmd.argc, 0);
    assert_false(any_contains(&p.qemu, "pflash"));
    assert_false(any_contains(&p.qemu, "tpm"));
    assert_string_equal(p.nvram, "");
    launch_plan_free(&p);
}

static void refusals(void **state)
{
    (void)state;
    struct launch_config c = cfg();
    struct launch_plan p;
    struct ctl_err e = {0};
    char longdir[200];
    struct launch_vm vm = {.vm_id = "i-0123abcd", .uefi = false, .tpm = true,
                           .vtpm_dir = "/d/t", .vm_dir = "/d/v"};
    /* A vTPM without UEFI never gets a command line. */
    assert_int_equal(launch_plan_build(&c, &vm, &p, &e), -1);
    launch_plan_free(&p);
    /* A socket path over 107 bytes. */
    memset(longdir, 'x', sizeof(longdir) - 1);
    longdir[0] = '/';
    longdir[sizeof(longdir) - 1] = '\0';
    vm.uefi = true;
    vm.vm_dir = longdir;
    ctl_err_clear(&e);
    assert_int_equal(launch_plan_build(&c, &vm, &p, &e), -1);
    assert_int_equal(e.kind, CTL_E_LAUNCH);
    assert_non_null(strstr(e.details, "unix socket"));
    launch_plan_free(&p);
    /* A comma in a path would split QEMU's option. */
    vm.vm_dir = "/d/a,b";
    ctl_err_clear(&e);
    assert_int_equal(launch_plan_build(&c, &vm, &p, &e), -1);
    assert_non_null(strstr(e.details, "comma"));
    launch_plan_free(&p);
}

static void command_line_is_shell_quoted_and_json_has_no_key(void **state)
{
    (void)state;
    struct launch_config c = cfg();
    struct launch_vm vm = {.vm_id = "i-0123abcd", .uefi = true, .tpm = true,
                           .vtpm_dir = "/d/t", .vm_dir = "/d/v", .kernel = "/k",
                           .cmdline = "console=ttyS0 it's"};
    struct launch_plan p;
    struct ctl_err e = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *m;
    struct json j;
    assert_int_equal(launch_plan_build(&c, &vm, &p, &e), 0);
    m = open_memstream(&buf, &len);
    launch_cmd_write_line(&p.qemu, m);
    fclose(m);
    assert_non_null(strstr(buf, "-append 'console=ttyS0 it'\\''s'"));
    assert_non_null(strstr(buf, "-m 512 "));
    free(buf);
    m = open_memstream(&buf, &len);
    json_init(&j, m);
    json_obj_begin(&j);
    launch_plan_json(&p, &j);
    json_obj_end(&j);
    fclose(m);
    assert_non_null(strstr(buf, "\"Program\": \"vtpmd\""));
    assert_non_null(strstr(buf, "\"3\": \"the vTPM data key (pipe"));
    /* vtpmd comes first: QEMU needs its socket. */
    assert_true(strstr(buf, "\"vtpmd\"") < strstr(buf, "\"qemu\""));
    free(buf);
    launch_plan_free(&p);
}

static void json_escapes_and_nests(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    struct json j;
    json_init(&j, m);
    json_obj_begin(&j);
    json_kv_str(&j, "A", "q\"b\\n\n\t\x01\x7f\xc3\xa9");
    json_key(&j, "E");
    json_arr_begin(&j);
    json_arr_end(&j);
    json_key(&j, "O");
    json_obj_begin(&j);
    json_obj_end(&j);
    json_key(&j, "L");
    json_arr_begin(&j);
    json_int(&j, -5);
    json_bool(&j, false);
    json_null(&j);
    json_arr_end(&j);
    json_obj_end(&j);
    fclose(m);
    assert_string_equal(buf, "{\n"
                             "  \"A\": \"q\\\"b\\\\n\\n\\t\\u0001\\u007f\xc3\xa9\",\n"
                             "  \"E\": [],\n"
                             "  \"O\": {},\n"
                             "  \"L\": [\n"
                             "    -5,\n"
                             "    false,\n"
                             "    null\n"
                             "  ]\n"
                             "}\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uefi_vm_with_vtpm),
        cmocka_unit_test(legacy_vm_has_seabios_and_no_tpm),
        cmocka_unit_test(refusals),
        cmocka_unit_test(command_line_is_shell_quoted_and_json_has_no_key),
        cmocka_unit_test(json_escapes_and_nests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of vtpmd's command line (src/daemon/opts.c): the command lines libvirt,
 * swtpm_setup and tpm2-tools users write, and every kind of refusal, each naming the option.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/opts.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int parse(int argc, char *const argv[], struct vtpmd_opts *o, char *err, size_t n)
{
    return opts_parse(argc, argv, o, err, n);
}

static void test_libvirt_line(void **state)
{
    (void)state;
    char *argv[] = {"vtpmd",       "socket",
                    "--ctrl",      "type=unixio,path=/run/x/1-vm-swtpm.sock,mode=0600",
                    "--tpmstate",  "dir=/var/lib/x/tpm2,mode=0600",
                    "--log",       "file=/var/log/x.log",
                    "--terminate", "--tpm2"};
    struct vtpmd_opts o;
    char err[256];
    assert_int_equal(parse(ARGC(argv), argv, &o, err, sizeof(err)), 0);
    assert_true(o.tpm2);
    assert_true(o.terminate);
    assert_int_equal(o.ctrl.type, CHAN_UNIX);
    assert_string_equal(o.ctrl.path, "/run/x/1-vm-swtpm.sock");
    assert_true(o.ctrl.has_mode);
    assert_int_equal(o.ctrl.mode, 0600);
    assert_int_equal(o.server.type, CHAN_NONE);
    assert_string_equal(o.state_dir, "/var/lib/x/tpm2");
    assert_int_equal(o.state_mode, 0600);
    assert_string_equal(o.log_file, "/var/log/x.log");
    assert_int_equal(o.log_level, 1);
    assert_int_equal(o.seccomp, SECCOMP_ACTION_KILL);
    assert_false(o.not_need_init);
    opts_free(&o);
}

static void test_swtpm_setup_line(void **state)
{
    (void)state;
    char *argv[] = {"vtpmd",
                    "socket",
                    "--flags",
                    "not-need-init,startup-clear",
                    "--tpmstate",
                    "backend-uri=dir:///tmp/st",
                    "--pid",
                    "file=/tmp/p.pid",
                    "--tpm2",
                    "--log",
                    "file=/tmp/l,level=20",
                    "--server",
                    "type=tcp,fd=7",
                    "--ctrl",
                    "type=unixio,clientfd=5"};
    struct vtpmd_opts o;
    char err[256];
    assert_int_equal(parse(ARGC(argv), argv, &o, err, sizeof(err)), 0);
    assert_true(o.not_need_init);
    assert_int_equal(o.startup, STARTUP_CLEAR);
    assert_string_equal(o.state_dir, "/tmp/st");
    assert_int_equal(o.state_mode, 0640); /* swtpm's default */
    assert_string_equal(o.pid_file, "/tmp/p.pid");
    assert_int_equal(o.log_level, 20);
    assert_int_equal(o.server.type, CHAN_TCP);
    assert_int_equal(o.server.fd, 7);
    assert_int_equal(o.ctrl.type, CHAN_UNIX);
    assert_int_equal(o.ctrl.clientfd, 5);
    assert_int_equal(o.ctrl.fd, -1);
    opts_free(&o);
}

static void test_tcp_channels(void **state)
{
    (void)state;
    char *argv[] = {"vtpmd",
                    "--tpm2",
                    "--server",
                    "port=2321",
                    "--ctrl",
                    "type=tcp,port=2322,bindaddr=::1",
                    "--tpmstate=dir=/s",
                    "--flags",
                    "not-need-init",
                    "--seccomp",
                    "action=log",
                    "--locality",
                    "reject-locality-4,allow-set-locality"};
    struct vtpmd_opts o;
    char err[256];
    assert_int_equal(parse(ARGC(argv), argv, &o, err, sizeof(err)), 0);
    assert_int_equal(o.server.type, CHAN_TCP); /* port= alone means tcp */
    assert_int_equal(o.server.port, 2321);
    assert_false(o.server.disconnect);
    assert_int_equal(o.ctrl.type, CHAN_TCP);
    assert_int_equal(o.ctrl.port, 2322);
    assert_string_equal(o.ctrl.bindaddr, "::1");
    assert_string_equal(o.state_dir, "/s");
    assert_true(o.not_need_init);
    assert_int_equal(o.startup, STARTUP_NONE_GIVEN);
    assert_int_equal(o.seccomp, SECCOMP_ACTION_LOG);
    assert_true(o.reject_locality_4);
    assert_true(o.allow_set_locality);
    opts_free(&o);
}

static void test_short_options(void **state)
{
    (void)state;
    struct vtpmd_opts o;
    char err[256];
    char *a1[] = {"vtpmd", "--tpm2", "-p", "2321", "-t", "-d", "--tpmstate", "dir=/s"};
    assert_int_equal(parse(ARGC(a1), a1, &o, err, sizeof(err)), 0);
    assert_int_equal(o.server.port, 2321);
    assert_true(o.server.disconnect); /* -p: one command per connection, as swtpm */
    assert_true(o.terminate);
    assert_true(o.daemon);
    opts_free(&o);

    char *a2[] = {"vtpmd", "--tpm2", "-p2400", "--port=1"};
    assert_int_equal(parse(ARGC(a2), a2, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--port"));
    opts_free(&o);

    char *a3[] = {"vtpmd", "--tpm2", "-f", "9"};
    assert_int_equal(parse(ARGC(a3), a3, &o, err, sizeof(err)), 0);
    assert_int_equal(o.server.fd, 9);
    assert_true(o.terminate); /* swtpm(8): -f implies -t */
    opts_free(&o);

    char *a4[] = {"vtpmd",   "--tpm2", "--server", "type=unixio,path=/x,mode=0660,uid=0,gid=0",
                  "--pid",   "fd=4",   "--log",    "fd=2,level=3,prefix=vm1: ,truncate",
                  "--runas", "tss"};
    assert_int_equal(parse(ARGC(a4), a4, &o, err, sizeof(err)), 0);
    assert_int_equal(o.server.type, CHAN_UNIX);
    assert_string_equal(o.server.path, "/x");
    assert_int_equal(o.server.mode, 0660);
    assert_true(o.server.has_uid && o.server.has_gid);
    assert_int_equal(o.pid_fd, 4);
    assert_int_equal(o.log_fd, 2);
    assert_int_equal(o.log_level, 3);
    assert_string_equal(o.log_prefix, "vm1: ");
    assert_true(o.log_truncate);
    assert_string_equal(o.runas, "tss");
    opts_free(&o);
}

static void test_info_options(void **state)
{
    (void)state;
    struct vtpmd_opts o;
    char err[256];
    /* libvirt asks without --tpm2. */
    char *a1[] = {"vtpmd", "socket", "--print-capabilities"};
    assert_int_equal(parse(ARGC(a1), a1, &o, err, sizeof(err)), 0);
    assert_true(o.print_capabilities);
    opts_free(&o);
    char *a2[] = {"vtpmd", "--version"};
    assert_int_equal(parse(ARGC(a2), a2, &o, err, sizeof(err)), 0);
    assert_true(o.version);
    opts_free(&o);
    char *a3[] = {"vtpmd", "-h"};
    assert_int_equal(parse(ARGC(a3), a3, &o, err, sizeof(err)), 0);
    assert_true(o.help);
    opts_free(&o);
    char *a4[] = {"vtpmd", "socket", "--print-states", "--tpmstate", "dir=/s", "--tpm2"};
    assert_int_equal(parse(ARGC(a4), a4, &o, err, sizeof(err)), 0);
    assert_true(o.print_states);
    opts_free(&o);
    char *a5[] = {"vtpmd", "--flags", "startup-none"};
    assert_int_equal(parse(ARGC(a5), a5, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--tpm2"));
    opts_free(&o);
    /* startup-none does not imply not-need-init. */
    char *a6[] = {"vtpmd", "--tpm2", "--flags", "startup-none"};
    assert_int_equal(parse(ARGC(a6), a6, &o, err, sizeof(err)), 0);
    assert_int_equal(o.startup, STARTUP_NONE);
    assert_false(o.not_need_init);
    opts_free(&o);
}

/* Each refused command line, and the text its one-line error must contain. */
static const struct {
    const char *args[6];
    const char *expect;
} bad[] = {
    {{"--bogus"}, "--bogus: unknown option"},
    {{"-x"}, "-x: unknown option"},
    {{"--tpm2=1"}, "--tpm2=1: unknown option"},
    {{"stray"}, "'stray'"},
    {{"chardev"}, "'chardev': unsupported interface"},
    {{"--ctrl"}, "--ctrl: needs an argument"},
    {{"--ctrl", "path=/x"}, "--ctrl: type="},
    {{"--ctrl", "type=foo,path=/x"}, "--ctrl: type=foo"},
    {{"--ctrl", "type=unixio,path=/x,bar=1"}, "--ctrl: unknown parameter 'bar'"},
    {{"--ctrl", "type=unixio"}, "--ctrl: path="},
    {{"--ctrl", "type=unixio,path=/x,port=3"}, "--ctrl:"},
    {{"--ctrl", "type=tcp,port=0"}, "--ctrl: port=0"},
    {{"--ctrl", "type=tcp,port=65536"}, "--ctrl: port=65536"},
    {{"--ctrl", "type=tcp,port=12ab"}, "--ctrl: port=12ab"},
    {{"--ctrl", "type=tcp,port=-1"}, "--ctrl: port=-1"},
    {{"--ctrl", "type=tcp,path=/x"}, "--ctrl: path= is for type=unixio"},
    {{"--ctrl", "type=tcp,clientfd=5"}, "--ctrl: clientfd="},
    {{"--ctrl", "type=tcp,port=1,fd=5"}, "--ctrl: path=, port=, fd="},
    {{"--ctrl", "type=unixio,fd=2"}, "--ctrl: fd=2"},
    {{"--ctrl", "type=unixio,fd=x"}, "--ctrl: fd=x"},
    {{"--ctrl", "type=unixio,path=/x,mode=0999"}, "--ctrl: mode=0999"},
    {{"--ctrl", "type=unixio,path=/x,mode=01777"}, "--ctrl: mode=01777"},
    {{"--ctrl", "type=unixio,path=/x,uid=root"}, "--ctrl: uid=root"},
    {{"--ctrl", "type=unixio,path=/x", "--ctrl", "type=unixio,path=/y"}, "more than once"},
    {{"--server", "type=unixio,port=3"}, "--server:"},
    {{"--server", "type=tcp,port=3,mode=0600"}, "--server: mode="},
    {{"--server", "type=tcp,clientfd=5"}, "--server: unknown parameter 'clientfd'"},
    {{"--server", "disconnect=1,port=3"}, "--server: 'disconnect' takes no value"},
    {{"--server", "bindaddr=::1"}, "--server:"},
    {{"--server", "port=3", "-p", "4"}, "--port: the data channel was already given"},
    {{"--tpmstate", "mode=0600"}, "--tpmstate: dir="},
    {{"--tpmstate", "backend-uri=file:///x"}, "--tpmstate: backend-uri=file:///x"},
    {{"--tpmstate", "dir=/a,backend-uri=dir:///b"}, "--tpmstate: dir= and backend-uri="},
    {{"--tpmstate", "dir="}, "--tpmstate: dir= needs a value"},
    {{"--tpmstate", "dir=/a,lock"}, "--tpmstate: unknown parameter 'lock'"},
    {{"--flags", "bogus"}, "--flags: unknown flag 'bogus'"},
    {{"--flags", "startup-clear,startup-state"}, "--flags: only one startup"},
    {{"--flags", "startup-deactivated"}, "--flags: startup-deactivated"},
    {{"--seccomp", "action=xx"}, "--seccomp: action=xx"},
    {{"--seccomp", "mode=kill"}, "--seccomp: unknown parameter 'mode'"},
    {{"--log", "level=x"}, "--log: level=x"},
    {{"--log", "file=/a,fd=3"}, "--log: file= and fd="},
    {{"--log", "file=/a,color"}, "--log: unknown parameter 'color'"},
    {{"--pid", "dir=/x"}, "--pid: unknown parameter 'dir'"},
    {{"--pid", "file=/x,fd=3"}, "--pid: exactly one"},
    {{"--locality", "reject-locality-5"}, "--locality: unknown parameter"},
    {{"--key", "mode=aes-256-gcm"}, "--key: exactly one of fd=, file=, pwdfd= and pwdfile="},
    {{"--key", "fd=3,file=/k"}, "--key: exactly one of"},
    {{"--key", "fd=2"}, "--key: fd=2"},
    {{"--key", "fd=3,mode=aes-cbc"}, "--key: mode=aes-cbc is not supported"},
    {{"--key", "fd=3,mode=aes-128-gcm"}, "--key: mode=aes-128-gcm is not supported"},
    {{"--key", "fd=3,format=base64"}, "--key: format=base64 is not supported"},
    {{"--key", "pwdfd=3,format=hex"}, "--key: format= is for key files"},
    {{"--key", "fd=3,kdf=pbkdf2"}, "--key: kdf= is for passphrases"},
    {{"--key", "pwdfd=3,kdf=md5"}, "--key: kdf=md5 is not supported"},
    {{"--key", "fd=3,remove"}, "--key: remove is for key files"},
    {{"--key", "file=/k,remove=maybe"}, "--key: remove=maybe"},
    {{"--key", "file=/k,colour=red"}, "--key: unknown parameter 'colour'"},
    {{"--key", "file="}, "--key: file= needs a value"},
    {{"--key", "fd=3", "--key", "fd=4"}, "--key: given more than once"},
    {{"--migration-key", "fd=3,file=/k"}, "--migration-key: exactly one of"},
    {{"--vmid", ""}, "--vmid: the VM id must be 1 to 255 characters"},
    {{"--vmid", "a\tb"}, "--vmid: the VM id must be printable ASCII"},
    {{"--vmid", "a", "--vmid", "b"}, "--vmid: given more than once"},
    {{"-p", "70000"}, "--port: '70000'"},
    {{"-f", "1"}, "--fd: fd=1"},
};

static void test_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[10] = {"vtpmd", "--tpm2"};
        int argc = 2;
        struct vtpmd_opts o;
        char err[256];
        for (size_t k = 0; k < 6 && bad[i].args[k]; k++) {
            argv[argc++] = (char *)bad[i].args[k];
        }
        /* The interface word must come first. */
        if (strcmp(bad[i].args[0], "chardev") == 0) {
            argv[1] = "chardev";
            argv[2] = "--tpm2";
            argc = 3;
        }
        int rc = parse(argc, argv, &o, err, sizeof(err));
        if (rc != -1 || !strstr(err, bad[i].expect) || strchr(err, '\n')) {
            fail_msg("case %zu (%s): rc %d, error '%s', expected '%s'", i, bad[i].args[0], rc, err,
                     bad[i].expect);
        }
        opts_free(&o);
    }
}

/* The key forms vtpmctl, libvirt and swtpm users write. */
static void test_keys(void **state)
{
    (void)state;
    char *argv[] = {"vtpmd",
                    "socket",
                    "--tpm2",
                    "--tpmstate",
                    "dir=/s",
                    "--key",
                    "fd=3,mode=aes-256-gcm",
                    "--migration-key",
                    "pwdfile=/etc/pw,kdf=sha512,remove",
                    "--vmid",
                    "vm-0123 name:with spaces"};
    struct vtpmd_opts o;
    char err[256];
    assert_int_equal(opts_parse(ARGC(argv), argv, &o, err, sizeof(err)), 0);
    assert_int_equal(o.key.source, KEY_FD);
    assert_int_equal(o.key.fd, 3);
    assert_int_equal(o.key.format, KEY_FORMAT_AUTO);
    assert_false(o.key.remove);
    assert_int_equal(o.mig_key.source, KEY_PWDFILE);
    assert_string_equal(o.mig_key.path, "/etc/pw");
    assert_int_equal(o.mig_key.kdf, KEY_KDF_SHA512);
    assert_true(o.mig_key.remove);
    assert_string_equal(o.vmid, "vm-0123 name:with spaces");
    opts_free(&o);

    /* libvirt's form (swtpm's mode name is accepted), a key file with its format. */
    char *argv2[] = {"vtpmd",           "--tpm2",
                     "--tpmstate",      "dir=/s",
                     "--key",           "pwdfd=5,mode=aes-256-cbc",
                     "--migration-key", "file=/k,format=binary,remove=true"};
    assert_int_equal(opts_parse(ARGC(argv2), argv2, &o, err, sizeof(err)), 0);
    assert_int_equal(o.key.source, KEY_PWDFD);
    assert_int_equal(o.key.fd, 5);
    assert_int_equal(o.key.kdf, KEY_KDF_PBKDF2);
    assert_int_equal(o.mig_key.source, KEY_FILE);
    assert_int_equal(o.mig_key.format, KEY_FORMAT_BINARY);
    assert_true(o.mig_key.remove);
    assert_null(o.vmid);
    opts_free(&o);
    /* Nothing given: no key. */
    char *argv3[] = {"vtpmd", "--tpm2", "--tpmstate", "dir=/s"};
    assert_int_equal(opts_parse(ARGC(argv3), argv3, &o, err, sizeof(err)), 0);
    assert_int_equal(o.key.source, KEY_NONE);
    assert_int_equal(o.mig_key.source, KEY_NONE);
    opts_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libvirt_line), cmocka_unit_test(test_swtpm_setup_line),
        cmocka_unit_test(test_tcp_channels), cmocka_unit_test(test_short_options),
        cmocka_unit_test(test_info_options), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

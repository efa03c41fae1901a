/*
 * The command lines of vtpmd and QEMU for one VM (see launch.h). Building only: nothing here
 * starts a process, opens a file or sees a key.
 */
#include "ctl/launch.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

void launch_config_defaults(struct launch_config *cfg)
{
    if (!cfg->qemu) {
        cfg->qemu = "qemu-system-x86_64";
    }
    if (!cfg->vtpmd) {
        cfg->vtpmd = "vtpmd";
    }
    if (!cfg->ovmf_code) {
        cfg->ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
    }
    if (!cfg->ovmf_vars) {
        cfg->ovmf_vars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
    }
    if (!cfg->accel) {
        cfg->accel = "tcg";
    }
    if (cfg->memory_mb == 0) {
        cfg->memory_mb = 512;
    }
}

/* Append one formatted argument; a sticky failure is reported by the caller via *ok. */
static void arg(struct launch_cmd *cmd, bool *ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void arg(struct launch_cmd *cmd, bool *ok, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;
    if (!*ok) {
        return;
    }
    if (cmd->argc >= LAUNCH_MAX_ARGS) {
        *ok = false;
        return;
    }
    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        *ok = false;
        return;
    }
    cmd->argv[cmd->argc++] = s;
    cmd->argv[cmd->argc] = NULL;
}

static int run_path(char *dst, const char *dir, const char *name, bool socket, struct ctl_err *e)
{
    size_t max = socket ? sizeof(((struct sockaddr_un *)0)->sun_path) : PATH_MAX;
    int n = snprintf(dst, PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= max) {
        return ctl_fail(e, CTL_E_LAUNCH, "the run file %s/%s is longer than %s allows (%zu "
                        "bytes); use a shorter --data-dir", dir, name,
                        socket ? "a unix socket" : "a path", max - 1);
    }
    return 0;
}

/* Paths go into option lists separated by commas (QEMU's and vtpmd's): refuse commas. */
static int check_path(const char *what, const char *p, struct ctl_err *e)
{
    if (p && strchr(p, ',')) {
        return ctl_fail(e, CTL_E_LAUNCH, "the %s path '%s' contains a comma, which the "
                        "option syntax of QEMU and vtpmd would split; refused", what, p);
    }
    return 0;
}

static void build_vtpmd(const struct launch_config *cfg, const struct launch_vm *vm,
                        struct launch_plan *p, bool *ok)
{
    struct launch_cmd *c = &p->vtpmd;
    arg(c, ok, "%s", cfg->vtpmd);
    arg(c, ok, "socket");
    arg(c, ok, "--tpm2");
    arg(c, ok, "--tpmstate");
    arg(c, ok, "dir=%s,mode=0600", vm->vtpm_dir);
    arg(c, ok, "--ctrl");
    arg(c, ok, "type=unixio,path=%s,mode=0600", p->vtpmd_sock);
    arg(c, ok, "--pid");
    arg(c, ok, "file=%s", p->vtpmd_pid);
    arg(c, ok, "--log");
    arg(c, ok, "file=%s", p->vtpmd_log);
    arg(c, ok, "--key");
    arg(c, ok, "fd=%d,mode=aes-256-gcm", LAUNCH_KEY_FD);
    arg(c, ok, "--vmid");
    arg(c, ok, "%s", vm->vm_id);
    arg(c, ok, "--daemon");
    arg(c, ok, "--terminate");
    c->key_fd = LAUNCH_KEY_FD;
}

static void build_qemu(const struct launch_config *cfg, const struct launch_vm *vm,
                       struct launch_plan *p, bool *ok)
{
    struct launch_cmd *c = &p->qemu;
    arg(c, ok, "%s", cfg->qemu);
    arg(c, ok, "-name");
    arg(c, ok, "guest=%s", vm->vm_id);
    arg(c, ok, "-machine");
    arg(c, ok, "q35,accel=%s", cfg->accel);
    arg(c, ok, "-m");
    arg(c, ok, "%u", cfg->memory_mb);
    arg(c, ok, "-smp");
    arg(c, ok, "1");
    arg(c, ok, "-nodefaults");
    arg(c, ok, "-display");
    arg(c, ok, "none");
    arg(c, ok, "-serial");
    arg(c, ok, "file:%s", p->console);
    arg(c, ok, "-qmp");
    arg(c, ok, "unix:%s,server=on,wait=off", p->qmp_sock);
    arg(c, ok, "-pidfile");
    arg(c, ok, "%s", p->qemu_pid);
    arg(c, ok, "-daemonize");
    if (vm->uefi) {
        arg(c, ok, "-drive");
        arg(c, ok, "if=pflash,format=raw,unit=0,readonly=on,file=%s", cfg->ovmf_code);
        arg(c, ok, "-drive");
        arg(c, ok, "if=pflash,format=raw,unit=1,file=%s", p->nvram);
    }
    /* Legacy: no firmware option, QEMU's default firmware is SeaBIOS. */
    if (vm->tpm) {
        arg(c, ok, "-chardev");
        arg(c, ok, "socket,id=chrtpm,path=%s", p->vtpmd_sock);
        arg(c, ok, "-tpmdev");
        arg(c, ok, "emulator,id=tpm0,chardev=chrtpm");
        arg(c, ok, "-device");
        arg(c, ok, "tpm-crb,tpmdev=tpm0");
    }
    if (vm->kernel) {
        arg(c, ok, "-kernel");
        arg(c, ok, "%s", vm->kernel);
    }
    if (vm->initrd) {
        arg(c, ok, "-initrd");
        arg(c, ok, "%s", vm->initrd);
    }
    if (vm->cmdline) {
        arg(c, ok, "-append");
        arg(c, ok, "%s", vm->cmdline);
    }
    if (vm->disk) {
        /* The image is a template: the VM writes to a temporary overlay, never to it. */
        arg(c, ok, "-drive");
        arg(c, ok, "file=%s,if=virtio,snapshot=on", vm->disk);
    }
    c->key_fd = -1;
}

int launch_plan_build(const struct launch_config *cfg, const struct launch_vm *vm,
                      struct launch_plan *p, struct ctl_err *e)
{
    bool ok = true;
    memset(p, 0, sizeof(*p));
    p->vtpmd.key_fd = p->qemu.key_fd = -1;
    if (vm->tpm && !vm->uefi) {
        /* Rule 3 holds at creation; a plan that would break it is a broken registry. */
        return ctl_fail(e, CTL_E_INTERNAL, "VM %s has a vTPM but no UEFI boot mode; refused",
                        vm->vm_id);
    }
    if (check_path("data dir", vm->vm_dir, e) || check_path("data dir", vm->vtpm_dir, e) ||
        check_path("kernel", vm->kernel, e) || check_path("initrd", vm->initrd, e) ||
        check_path("disk", vm->disk, e) || check_path("OVMF code", cfg->ovmf_code, e) ||
        run_path(p->vtpmd_sock, vm->vm_dir, "vtpmd.sock", true, e) ||
        run_path(p->qmp_sock, vm->vm_dir, "qmp.sock", true, e) ||
        run_path(p->vtpmd_pid, vm->vm_dir, "vtpmd.pid", false, e) ||
        run_path(p->vtpmd_log, vm->vm_dir, "vtpmd.log", false, e) ||
        run_path(p->vtpmd_out, vm->vm_dir, "vtpmd.out", false, e) ||
        run_path(p->qemu_pid, vm->vm_dir, "qemu.pid", false, e) ||
        run_path(p->console, vm->vm_dir, "console.log", false, e) ||
        run_path(p->qemu_out, vm->vm_dir, "qemu.out", false, e) ||
        (vm->uefi && run_path(p->nvram, vm->vm_dir, "OVMF_VARS.fd", false, e))) {
        return -1;
    }
    if (vm->tpm) {
        p->has_vtpmd = true;
        build_vtpmd(cfg, vm, p, &ok);
    }
    build_qemu(cfg, vm, p, &ok);
    if (!ok) {
        return ctl_fail(e, CTL_E_LAUNCH, "could not build the command lines of VM %s (out of "
                        "memory or too many arguments)", vm->vm_id);
    }
    return 0;
}

static void cmd_free(struct launch_cmd *c)
{
    for (int i = 0; i < c->argc; i++) {
        free(c->argv[i]);
        c->argv[i] = NULL;
    }
    c->argc = 0;
}

void launch_plan_free(struct launch_plan *p)
{
    cmd_free(&p->vtpmd);
    cmd_free(&p->qemu);
}

/* Characters a POSIX shell leaves alone in a word. */
static bool shell_plain(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    "_-+=/.,:@%", *s)) {
            return false;
        }
    }
    return true;
}

void launch_cmd_write_line(const struct launch_cmd *cmd, FILE *f)
{
    for (int i = 0; i < cmd->argc; i++) {
        const char *a = cmd->argv[i];
        if (i > 0) {
            fputc(' ', f);
        }
        if (shell_plain(a)) {
            fputs(a, f);
            continue;
        }
        fputc('\'', f);
        for (; *a; a++) {
            if (*a == '\'') {
                fputs("'\\''", f);
            } else {
                fputc(*a, f);
            }
        }
        fputc('\'', f);
    }
}

static void cmd_json(const struct launch_cmd *c, const char *program, struct json *j)
{
    char *line = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&line, &len);
    json_obj_begin(j);
    json_kv_str(j, "Program", program);
    json_key(j, "Argv");
    json_arr_begin(j);
    for (int i = 0; i < c->argc; i++) {
        json_str(j, c->argv[i]);
    }
    json_arr_end(j);
    if (m) {
        launch_cmd_write_line(c, m);
        fclose(m);
        json_kv_str(j, "CommandLine", line ? line : "");
        free(line);
    }
    json_key(j, "Fds");
    json_obj_begin(j);
    if (c->key_fd >= 0) {
        char fd[16];
        snprintf(fd, sizeof(fd), "%d", c->key_fd);
        json_kv_str(j, fd, "the vTPM data key (pipe, 32 bytes, read once)");
    }
    json_obj_end(j);
    json_obj_end(j);
}

void launch_plan_json(const struct launch_plan *p, struct json *j)
{
    json_key(j, "Commands");
    json_arr_begin(j);
    if (p->has_vtpmd) {
        cmd_json(&p->vtpmd, "vtpmd", j);
    }
    cmd_json(&p->qemu, "qemu", j);
    json_arr_end(j);
}

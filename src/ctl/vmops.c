/*
 * VM and vTPM operations (see vmops.h): vTPM creation and crypto-shredding, start, stop,
 * reboot, and the sweep that repairs what a crash left in the data dir.
 */
#include "ctl/vmops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret.h"
#include "ctl/ctl_store.h"
#include "ctl/fault.h"
#include "ctl/manufacture.h"
#include "ctl/supervise.h"

#define VTPMD_READY_MS 10000
#define QEMU_READY_MS 60000
#define QMP_MS 5000
#define TERM_MS 10000
#define KILL_MS 5000
#define VTPMD_EXIT_MS 3000

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    }
}

int vm_vtpm_create(struct ctl *c, const char *vm_id, const char *now, bool *made)
{
    uint8_t key[CTL_KEY_LEN], vtpm_id[CTL_VTPM_ID_LEN];
    struct reg_vtpm row;
    struct tpm_buf blob = {0};
    char top[PATH_MAX], dir[PATH_MAX], file[PATH_MAX], err[512] = "";
    int rc = -1, src;

    memset(&row, 0, sizeof(row));
    *made = false;
    if (ctl_kek(c, true) != 0 || key_random_private(key, sizeof(key), &c->err) != 0 ||
        key_random_public(vtpm_id, sizeof(vtpm_id), &c->err) != 0) {
        goto out;
    }
    if (key_wrap(&c->kek, vm_id, vtpm_id, key, row.wrapped_key, &c->err) != 0) {
        goto out;
    }
    row.wrapped_len = CTL_WRAPPED_LEN;
    if (ctl_manufacture(&blob, &c->err) != 0) {
        goto out;
    }
    if (ctl_path(c, top, "vtpm") != 0 || ctl_path(c, dir, "vtpm/%s", vm_id) != 0 ||
        ctl_path(c, file, "vtpm/%s/%s", vm_id, CTL_VTPM_FILE_NAME) != 0) {
        goto out;
    }
    /* The folder must be new (the sweep, in this same transaction, removed any orphan), and
     * its name durable before the row that points to it is committed. */
    src = ctl_mkdir_durable(top);
    if (src == 0) {
        src = mkdir(dir, 0700) == 0 ? 0 : -errno;
    }
    if (src == 0) {
        int fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *made = true;
        if (fd < 0 || fsync(fd) != 0) {
            src = -errno;
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    if (src != 0) {
        ctl_fail(&c->err, src == -EACCES || src == -EROFS ? CTL_E_DATA_DIR : CTL_E_VTPM,
                 "cannot make the vTPM folder %s: %s; nothing was created", dir,
                 strerror(-src));
        goto out;
    }
    ctl_fault("create-vms:after-mkdir");
    src = ctl_fault_fail("create-vms:store");
    if (src == 0) {
        src = ctl_store_create(file, key, vm_id, vtpm_id, blob.data, blob.len, err,
                               sizeof(err));
    } else {
        snprintf(err, sizeof(err), "%.300s: %s (injected)", file, strerror(-src));
    }
    if (src != 0) {
        ctl_fail(&c->err, CTL_E_VTPM, "cannot create the vTPM file of VM %s: %s; nothing was "
                 "created", vm_id, err);
        goto out;
    }
    ctl_fault("create-vms:after-file");
    hex(vtpm_id, sizeof(vtpm_id), row.vtpm_id);
    snprintf(row.vm_id, sizeof(row.vm_id), "%s", vm_id);
    snprintf(row.kek_id, sizeof(row.kek_id), "%s", c->kek.id);
    snprintf(row.path, sizeof(row.path), "vtpm/%s/%s", vm_id, CTL_VTPM_FILE_NAME);
    snprintf(row.created_at, sizeof(row.created_at), "%s", now);
    if (reg_vtpm_insert(c->reg, &row, &c->err) != 0) {
        goto out;
    }
    ctl_fault("create-vms:after-row");
    rc = 0;
out:
    secret_wipe(key, sizeof(key));
    secret_wipe(&row, sizeof(row));
    tpm_buf_free(&blob);
    return rc;
}

int vm_vtpm_remove_files(struct ctl *c, const char *vm_id)
{
    char dir[PATH_MAX];
    int rc;
    if (ctl_path(c, dir, "vtpm/%s", vm_id) != 0) {
        return -1;
    }
    rc = ctl_remove_tree(dir, true);
    if (rc != 0) {
        return ctl_fail(&c->err, CTL_E_VTPM, "could not remove the vTPM folder %s: %s (its key "
                        "is destroyed: the file can no longer be opened)", dir, strerror(-rc));
    }
    return 0;
}

void vm_remove_run_files(struct ctl *c, const char *vm_id)
{
    char dir[PATH_MAX], lock[PATH_MAX];
    if (ctl_path(c, dir, "vms/%s", vm_id) == 0) {
        ctl_remove_tree(dir, false);
    }
    if (ctl_path(c, lock, "locks/%s.lock", vm_id) == 0) {
        unlink(lock);
    }
}

/* The run folder of a VM: also the marker that identifies its processes in /proc. */
static int vm_dir(struct ctl *c, const char *vm_id, char buf[PATH_MAX])
{
    return ctl_path(c, buf, "vms/%s", vm_id);
}

/* The paths of the run files (launch.c names them; here without any image). */
static int run_plan(struct ctl *c, const struct reg_vm *vm, const struct reg_image *im,
                    struct launch_plan *p)
{
    char vdir[PATH_MAX], tdir[PATH_MAX];
    struct launch_vm lv = {
        .vm_id = vm->vm_id,
        .uefi = vm->boot_mode == REG_BOOT_UEFI,
        .tpm = vm->tpm_enabled,
        .vtpm_dir = tdir,
        .vm_dir = vdir,
    };
    if (vm_dir(c, vm->vm_id, vdir) != 0 || ctl_path(c, tdir, "vtpm/%s", vm->vm_id) != 0) {
        return -1;
    }
    if (im) {
        lv.kernel = im->kernel;
        lv.initrd = im->initrd;
        lv.cmdline = im->cmdline;
        lv.disk = im->disk;
    }
    return launch_plan_build(&c->launch, &lv, p, &c->err);
}

bool vm_observe_running(struct ctl *c, const struct reg_vm *vm)
{
    struct launch_plan p;
    char vdir[PATH_MAX];
    bool alive = false;
    struct ctl_err saved = c->err;
    if (vm->state == REG_VM_TERMINATED) {
        return false;
    }
    if (vm_dir(c, vm->vm_id, vdir) == 0 && run_plan(c, vm, NULL, &p) == 0) {
        alive = sup_pid_of(p.qemu_pid, vdir) > 0;
    }
    launch_plan_free(&p);
    c->err = saved; /* observing never fails a command */
    return alive;
}

static void remove_run_sockets(const struct launch_plan *p)
{
    unlink(p->vtpmd_sock);
    unlink(p->qmp_sock);
    unlink(p->vtpmd_pid);
    unlink(p->qemu_pid);
}

/* Stop a vtpmd whose QEMU is gone: it normally exits by itself (--terminate, CMD_SHUTDOWN
 * from QEMU); otherwise CMD_SHUTDOWN, then signals. */
static bool stop_vtpmd(const struct launch_plan *p, const char *marker)
{
    pid_t pid = sup_pid_of(p->vtpmd_pid, marker);
    if (pid == 0 || sup_wait_gone(pid, marker, VTPMD_EXIT_MS)) {
        return true;
    }
    if (sup_ctrl_shutdown(p->vtpmd_sock, QMP_MS) == 0 && sup_wait_gone(pid, marker, TERM_MS)) {
        return true;
    }
    return sup_terminate(pid, marker, TERM_MS, KILL_MS);
}

int vm_stop(struct ctl *c, const struct reg_vm *vm, bool force, int powerdown_ms)
{
    struct launch_plan p;
    char vdir[PATH_MAX];
    pid_t qpid;
    int rc = -1;
    if (vm_dir(c, vm->vm_id, vdir) != 0 || run_plan(c, vm, NULL, &p) != 0) {
        launch_plan_free(&p);
        return -1;
    }
    qpid = sup_pid_of(p.qemu_pid, vdir);
    if (qpid > 0) {
        bool gone = false;
        if (!force && sup_qmp(p.qmp_sock, "system_powerdown", QMP_MS) == 0) {
            gone = sup_wait_gone(qpid, vdir, powerdown_ms);
        }
        /* SIGTERM makes QEMU exit cleanly: it closes the TPM backend (CMD_SHUTDOWN). */
        if (!gone && !sup_terminate(qpid, vdir, TERM_MS, KILL_MS)) {
            ctl_fail(&c->err, CTL_E_LAUNCH, "QEMU (pid %ld) of VM %s did not stop, even after "
                     "SIGKILL", (long)qpid, vm->vm_id);
            goto out;
        }
    }
    if (!stop_vtpmd(&p, vdir)) {
        ctl_fail(&c->err, CTL_E_LAUNCH, "vtpmd of VM %s did not stop, even after SIGKILL",
                 vm->vm_id);
        goto out;
    }
    remove_run_sockets(&p);
    rc = 0;
out:
    launch_plan_free(&p);
    return rc;
}

static int set_state(struct ctl *c, struct reg_vm *vm, enum reg_vm_state s, bool in_tx)
{
    if (!in_tx && reg_begin(c->reg, &c->err) != 0) {
        return -1;
    }
    if (reg_vm_set_state(c->reg, vm->vm_id, s, &c->err) != 0 ||
        (!in_tx && reg_commit(c->reg, &c->err) != 0)) {
        if (!in_tx) {
            reg_rollback(c->reg);
        }
        return -1;
    }
    vm->state = s;
    return 0;
}

int vm_reconcile(struct ctl *c, struct reg_vm *vm, bool in_tx)
{
    bool running;
    if (vm->state == REG_VM_TERMINATED) {
        return 0;
    }
    running = vm_observe_running(c, vm);
    if (!running) {
        /* Whatever is left of a VM that is not running goes: a lone vtpmd, stale files. */
        if (vm_stop(c, vm, true, 0) != 0) {
            return -1;
        }
    }
    if (running && vm->state != REG_VM_RUNNING) {
        return set_state(c, vm, REG_VM_RUNNING, in_tx);
    }
    if (!running && vm->state != REG_VM_STOPPED) {
        return set_state(c, vm, REG_VM_STOPPED, in_tx);
    }
    return 0;
}

/* Copy the OVMF variables template to the VM's own NVRAM file, once. */
static int make_nvram(struct ctl *c, const struct launch_plan *p)
{
    char buf[65536];
    int in = -1, out = -1, rc = -1;
    char tmp[PATH_MAX];
    if (access(p->nvram, F_OK) == 0) {
        return 0;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", p->nvram) >= (int)sizeof(tmp)) {
        return ctl_fail(&c->err, CTL_E_LAUNCH, "the NVRAM path is too long");
    }
    in = open(c->launch.ovmf_vars, O_RDONLY | O_CLOEXEC);
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (in < 0 || out < 0) {
        ctl_fail(&c->err, CTL_E_LAUNCH, "cannot copy the UEFI variables template %s to %s: %s",
                 c->launch.ovmf_vars, p->nvram, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n == 0) {
            break;
        }
        if (n < 0 || write(out, buf, (size_t)n) != n) {
            ctl_fail(&c->err, CTL_E_LAUNCH, "copying the UEFI variables to %s failed",
                     p->nvram);
            goto out;
        }
    }
    if (fsync(out) != 0 || rename(tmp, p->nvram) != 0) {
        ctl_fail(&c->err, CTL_E_LAUNCH, "cannot install %s: %s", p->nvram, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (in >= 0) {
        close(in);
    }
    if (out >= 0) {
        close(out);
    }
    if (rc != 0) {
        unlink(tmp);
    }
    return rc;
}

/* The live vTPM of a VM with TpmEnabled, its file present, and its unwrapped key. */
static int vtpm_key(struct ctl *c, const struct reg_vm *vm, uint8_t key[CTL_KEY_LEN])
{
    struct reg_vtpm v;
    uint8_t vtpm_id[CTL_VTPM_ID_LEN];
    char file[PATH_MAX];
    struct stat st;
    int rc = reg_vtpm_get(c->reg, vm->vm_id, &v, &c->err);
    if (rc < 0) {
        return -1;
    }
    if (rc == REG_NOT_FOUND || v.wrapped_len == 0) {
        return ctl_fail(&c->err, CTL_E_VTPM, "VM %s has TpmEnabled but its vTPM is not in the "
                        "registry; refused: the VM never starts without its vTPM", vm->vm_id);
    }
    if (ctl_path(c, file, "%s", v.path) != 0) {
        goto fail;
    }
    if (lstat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
        ctl_fail(&c->err, CTL_E_VTPM, "the vTPM file %s of VM %s is missing; refused: the VM "
                 "never starts without its vTPM", file, vm->vm_id);
        goto fail;
    }
    for (size_t i = 0; i < CTL_VTPM_ID_LEN; i++) {
        unsigned b;
        if (sscanf(v.vtpm_id + 2 * i, "%2x", &b) != 1) {
            ctl_fail(&c->err, CTL_E_REGISTRY, "the vTPM id of VM %s is malformed", vm->vm_id);
            goto fail;
        }
        vtpm_id[i] = (uint8_t)b;
    }
    if (ctl_kek(c, false) != 0 ||
        key_unwrap(&c->kek, vm->vm_id, vtpm_id, v.wrapped_key, v.wrapped_len, key, &c->err)) {
        goto fail;
    }
    secret_wipe(&v, sizeof(v));
    return 0;
fail:
    secret_wipe(&v, sizeof(v));
    return -1;
}

int vm_start(struct ctl *c, const struct reg_vm *vm, const struct reg_image *im, bool dry_run)
{
    struct launch_plan p;
    uint8_t key[CTL_KEY_LEN];
    char vdir[PATH_MAX];
    bool vtpmd_started = false;
    pid_t pid;
    int rc = -1, mk;

    memset(key, 0, sizeof(key));
    if (vm_dir(c, vm->vm_id, vdir) != 0 || run_plan(c, vm, im, &p) != 0) {
        goto out;
    }
    if (vm->tpm_enabled && vtpm_key(c, vm, key) != 0) {
        goto out;
    }
    if (dry_run) {
        launch_plan_json(&p, &c->out);
        rc = 0;
        goto out;
    }
    mk = ctl_mkdir_durable(vdir);
    if (mk == -ENOENT) {
        char parent[PATH_MAX];
        if (ctl_path(c, parent, "vms") == 0) {
            ctl_mkdir_durable(parent);
        }
        mk = ctl_mkdir_durable(vdir);
    }
    if (mk != 0) {
        ctl_fail(&c->err, CTL_E_DATA_DIR, "cannot make the run folder %s: %s", vdir,
                 strerror(-mk));
        goto out;
    }
    remove_run_sockets(&p);
    if (vm->boot_mode == REG_BOOT_UEFI && make_nvram(c, &p) != 0) {
        goto out;
    }
    if (p.has_vtpmd) {
        vtpmd_started = true;
        if (sup_spawn(&p.vtpmd, key, sizeof(key), p.vtpmd_out, VTPMD_READY_MS, &c->err) != 0) {
            goto out;
        }
        secret_wipe(key, sizeof(key));
        if (sup_wait_ready("vtpmd", p.vtpmd_pid, p.vtpmd_sock, vdir, p.vtpmd_log,
                           VTPMD_READY_MS, &pid, &c->err) != 0) {
            goto out;
        }
    }
    ctl_fault("start-vms:after-vtpmd");
    if (sup_spawn(&p.qemu, NULL, 0, p.qemu_out, QEMU_READY_MS, &c->err) != 0 ||
        sup_wait_ready("QEMU", p.qemu_pid, p.qmp_sock, vdir, p.qemu_out, QEMU_READY_MS, &pid,
                       &c->err) != 0) {
        goto out;
    }
    rc = 0;
out:
    secret_wipe(key, sizeof(key));
    if (rc != 0 && vtpmd_started) {
        /* Stop what this start began; the refusal already recorded stays the one reported. */
        struct ctl_err saved = c->err;
        vm_stop(c, vm, true, 0);
        c->err = saved;
    }
    launch_plan_free(&p);
    return rc;
}

int vm_reboot(struct ctl *c, const struct reg_vm *vm)
{
    struct launch_plan p;
    int rc = -1, q;
    if (run_plan(c, vm, NULL, &p) != 0) {
        goto out;
    }
    q = sup_qmp(p.qmp_sock, "system_reset", QMP_MS);
    if (q != 0) {
        ctl_fail(&c->err, CTL_E_LAUNCH, "QEMU of VM %s did not accept system_reset on %s: %s",
                 vm->vm_id, p.qmp_sock, strerror(-q));
        goto out;
    }
    rc = 0;
out:
    launch_plan_free(&p);
    return rc;
}

/* ---- the sweep ---- */

/* A vTPM folder whose VM has no live vTPM row is an orphan: a crash between making the file
 * and committing the row, or between destroying the key and removing the file. */
static int sweep_vtpms(struct ctl *c)
{
    char top[PATH_MAX];
    DIR *d;
    struct dirent *de;
    if (ctl_path(c, top, "vtpm") != 0) {
        return -1;
    }
    d = opendir(top);
    if (!d) {
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        struct reg_vtpm v;
        int rc;
        if (!ctl_id_valid("i", de->d_name)) {
            continue; /* not ours: left alone */
        }
        rc = reg_vtpm_get(c->reg, de->d_name, &v, &c->err);
        secret_wipe(v.wrapped_key, sizeof(v.wrapped_key));
        if (rc < 0) {
            closedir(d);
            return -1;
        }
        if (rc == REG_NOT_FOUND || v.destroyed_at[0] != '\0') {
            if (vm_vtpm_remove_files(c, de->d_name) != 0) {
                closedir(d);
                return -1;
            }
        }
    }
    closedir(d);
    return 0;
}

/* Run folders of VMs that are unknown or terminated; running states that are stale. */
static int sweep_vms(struct ctl *c)
{
    char top[PATH_MAX];
    DIR *d;
    struct dirent *de;
    int ret = 0;
    if (ctl_path(c, top, "vms") != 0) {
        return -1;
    }
    d = opendir(top);
    if (!d) {
        return 0;
    }
    while (ret == 0 && (de = readdir(d)) != NULL) {
        struct reg_vm vm;
        int rc, lock;
        if (!ctl_id_valid("i", de->d_name)) {
            continue;
        }
        rc = reg_vm_get(c->reg, de->d_name, &vm, &c->err);
        if (rc < 0) {
            ret = -1;
            break;
        }
        /* A VM being started, stopped or deleted right now is left to that command. */
        lock = ctl_lock_vm(c, de->d_name, false);
        if (lock == -2) {
            continue;
        }
        if (lock < 0) {
            ret = -1;
            break;
        }
        if (rc == REG_NOT_FOUND || vm.state == REG_VM_TERMINATED) {
            vm_remove_run_files(c, de->d_name);
        } else if (vm_reconcile(c, &vm, true) != 0) {
            ret = -1;
        }
        ctl_unlock(lock);
    }
    closedir(d);
    return ret;
}

/* A host key being made when a vtpmctl was killed: never linked into place, never used. */
static void sweep_kek_temporaries(struct ctl *c)
{
    DIR *d = opendir(c->data_dir);
    struct dirent *de;
    if (!d) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "kek.tmp.", 8) == 0) {
            char path[PATH_MAX];
            if (ctl_path(c, path, "%s", de->d_name) == 0) {
                ctl_remove_file(path, true);
            }
        }
    }
    closedir(d);
}

int ctl_sweep(struct ctl *c)
{
    if (sweep_vtpms(c) != 0 || sweep_vms(c) != 0) {
        return -1;
    }
    sweep_kek_temporaries(c);
    return 0;
}

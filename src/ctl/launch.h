/*
 * What runs a VM: the command lines of vtpmd and QEMU, and the file descriptors they get.
 *
 * This is the one module that knows vtpmd's and QEMU's options (docs/vtpmctl.md, "Launch").
 * It only builds: launch_plan_build() fills argv arrays and names the run files; nothing is
 * started here (supervise.c starts and stops; --dry-run prints the plan as JSON).
 *
 * vtpmd (a drop-in for `swtpm socket --tpm2`) gets:
 *   vtpmd socket --tpm2 --tpmstate dir=<vtpm dir>,mode=0600
 *         --ctrl type=unixio,path=<vm dir>/vtpmd.sock,mode=0600
 *         --pid file=<vm dir>/vtpmd.pid --log file=<vm dir>/vtpmd.log
 *         --key fd=3,mode=aes-256-gcm --vmid <VmId> --daemon --terminate
 * and its data key, 32 raw bytes, through a pipe at fd 3 (never on a command line or in the
 * environment). QEMU gets OVMF (read-only code + the VM's own copy of the variables) for UEFI
 * VMs, SeaBIOS (QEMU's default firmware) for legacy ones, and for a VM with a vTPM:
 *   -chardev socket,id=chrtpm,path=<vm dir>/vtpmd.sock
 *   -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0
 * A VM with TpmEnabled never gets a command line without its vTPM.
 */
#ifndef VTPM_CTL_LAUNCH_H
#define VTPM_CTL_LAUNCH_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "ctl/err.h"
#include "ctl/json.h"

#define LAUNCH_KEY_FD 3
#define LAUNCH_MAX_ARGS 64

struct launch_config {
    const char *qemu;      /* QEMU binary (default qemu-system-x86_64) */
    const char *vtpmd;     /* vtpmd binary (default vtpmd) */
    const char *ovmf_code; /* OVMF code, read-only (default /usr/share/OVMF/OVMF_CODE_4M.fd) */
    const char *ovmf_vars; /* OVMF variables template, copied per VM */
    const char *accel;     /* QEMU accelerator (default tcg) */
    unsigned memory_mb;    /* guest memory (default 512) */
};

/* What launch_plan_build needs to know about one VM. */
struct launch_vm {
    const char *vm_id;
    bool uefi;             /* boot mode uefi (else legacy) */
    bool tpm;              /* TpmEnabled: vtpmd runs and QEMU gets a TPM */
    const char *vtpm_dir;  /* vtpmd's --tpmstate dir */
    const char *vm_dir;    /* run files */
    const char *kernel, *initrd, *cmdline, *disk; /* from the image; NULL when absent */
};

struct launch_cmd {
    char *argv[LAUNCH_MAX_ARGS + 1]; /* owned, NULL-terminated */
    int argc;
    int key_fd; /* the child's fd that receives the data key, -1 for none */
};

struct launch_plan {
    bool has_vtpmd;
    struct launch_cmd vtpmd, qemu;
    /* Run files, under the VM's run folder. */
    char vtpmd_sock[PATH_MAX], vtpmd_pid[PATH_MAX], vtpmd_log[PATH_MAX], vtpmd_out[PATH_MAX];
    char qemu_pid[PATH_MAX], qmp_sock[PATH_MAX], console[PATH_MAX], qemu_out[PATH_MAX];
    char nvram[PATH_MAX]; /* the VM's OVMF variables ("" for legacy) */
};

/* Defaults for every field of cfg that is NULL or 0. */
void launch_config_defaults(struct launch_config *cfg);

/*
 * Build the plan for vm. Refused (CTL_E_LAUNCH): a run path longer than a unix socket
 * allows, an argument with a comma where QEMU's option syntax would split it, too many
 * arguments. Returns 0 or -1. The plan is freed with launch_plan_free in both cases.
 */
int launch_plan_build(const struct launch_config *cfg, const struct launch_vm *vm,
                      struct launch_plan *plan, struct ctl_err *e);
void launch_plan_free(struct launch_plan *plan);

/* One command as a line a shell would run the same way (each argument quoted if needed). */
void launch_cmd_write_line(const struct launch_cmd *cmd, FILE *f);

/*
 * The plan as JSON members of the current object: "Commands": [{"Program", "Argv",
 * "CommandLine", "Fds"}] in start order. The key itself never appears: its fd is described
 * as "the vTPM data key (pipe)".
 */
void launch_plan_json(const struct launch_plan *plan, struct json *j);

#endif

/*
 * What happens to a VM and its vTPM: creation of the vTPM (inside create-vms' transaction),
 * its destruction (crypto-shredding), and running the VM (start, stop, reboot) with its
 * vTPM always attached. The commands (commands.c) check the request; this module does it.
 *
 * A VM's running state is what its processes say: the registry's State follows them
 * (vm_observe, vm_reconcile), so a guest that powered itself off, or a vtpmctl killed in the
 * middle of a start, never leaves a VM that the registry calls running while it is not.
 */
#ifndef VTPM_CTL_VMOPS_H
#define VTPM_CTL_VMOPS_H

#include <stdbool.h>

#include "ctl/ctl.h"

/* The default time a guest has to power off after system_powerdown before QEMU is stopped. */
#define VM_POWERDOWN_MS 60000

/*
 * Make the vTPM of the new VM vm_id (whose row is already inserted, in the open write
 * transaction): fresh data key and vTPM id, the key wrapped under the host KEK, a
 * manufactured state written as the vTPM file, and its row. The folder is made and synced
 * before the file, and both before the caller commits, so that a committed row always has
 * its file; a crash before the commit leaves a folder that the next sweep removes.
 * *made is set once the folder exists (the caller removes it if the transaction fails).
 */
int vm_vtpm_create(struct ctl *c, const char *vm_id, const char *now, bool *made);

/* Remove the vTPM folder of vm_id (file overwritten, then unlinked). Absent is fine. */
int vm_vtpm_remove_files(struct ctl *c, const char *vm_id);

/* Remove the run folder and the lock file of a terminated VM. */
void vm_remove_run_files(struct ctl *c, const char *vm_id);

/* Is the VM running now (its QEMU process alive)? Never changes anything. */
bool vm_observe_running(struct ctl *c, const struct reg_vm *vm);

/*
 * With the VM's lock held: make the registry's State match the processes (a QEMU that is
 * gone: stop any leftover vtpmd, clean the run files, record stopped; a QEMU alive while the
 * registry says stopped: record running). in_tx: the caller holds the write transaction.
 * vm->state is updated.
 */
int vm_reconcile(struct ctl *c, struct reg_vm *vm, bool in_tx);

/*
 * Start a stopped VM (lock held): check its vTPM is there, unwrap its key, start vtpmd with
 * the key on a pipe, then QEMU. With dry_run, only the checks, then the plan as JSON into
 * c->out (an object's members). A failed start stops what it started.
 */
int vm_start(struct ctl *c, const struct reg_vm *vm, const struct reg_image *im, bool dry_run);

/* Stop a VM's processes (lock held): QMP system_powerdown and wait up to powerdown_ms (not
 * with force), then SIGTERM/SIGKILL to QEMU; then vtpmd (CMD_SHUTDOWN, then signals). */
int vm_stop(struct ctl *c, const struct reg_vm *vm, bool force, int powerdown_ms);

/* Reset a running VM (QMP system_reset); its vTPM process stays, as on a real reset. */
int vm_reboot(struct ctl *c, const struct reg_vm *vm);

#endif

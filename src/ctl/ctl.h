/*
 * vtpmctl's run context and data dir (docs/vtpmctl.md, "Data dir"):
 *
 *   DIR/registry.db            the registry (SQLite), mode 0600
 *   DIR/kek                    the host key-encryption key, 32 bytes, mode 0600
 *   DIR/vtpm/<VmId>/           one folder per live vTPM: vtpmd's --tpmstate dir
 *   DIR/vtpm/<VmId>/tpm2-00.permall   the vTPM file (sealed under the vTPM's data key)
 *   DIR/vms/<VmId>/            a VM's run files: sockets, pid files, logs, UEFI variables
 *   DIR/locks/<VmId>.lock      serializes start, stop, reboot and delete of one VM
 *
 * Everything is made mode 0700 / 0600 (umask 077). A command that changes anything opens the
 * registry for writing and first sweeps what a crash may have left (a vTPM folder without a
 * committed live vTPM row, the run folder of a terminated VM) under the registry's write lock;
 * read commands open it read-only and change nothing, so they also work on a read-only data
 * dir.
 */
#ifndef VTPM_CTL_CTL_H
#define VTPM_CTL_CTL_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "ctl/err.h"
#include "ctl/json.h"
#include "ctl/keys.h"
#include "ctl/launch.h"
#include "ctl/registry.h"

#define CTL_VTPM_FILE_NAME "tpm2-00.permall"
#define CTL_BUSY_MS 30000

struct ctl {
    char data_dir[PATH_MAX];
    bool writable;       /* opened for writing (registry and data dir) */
    struct reg *reg;     /* NULL in a read command when there is no registry yet */
    struct ctl_kek kek;
    bool kek_loaded;
    struct launch_config launch;
    struct ctl_err err;
    struct json out;     /* the command's output, printed only on success */
};

/* The default data dir: /var/lib/vtpm as root, $XDG_DATA_HOME/vtpm (or ~/.local/share/vtpm). */
int ctl_default_data_dir(char *buf, size_t cap, struct ctl_err *e);

/*
 * Open the data dir and registry. write: make the data dir if missing, refuse it when it is
 * not a writable directory, open (or make) the registry for writing. !write: open what
 * exists read-only (c->reg stays NULL when there is no registry).
 */
int ctl_open(struct ctl *c, bool write);
void ctl_close(struct ctl *c);

/* Load the host KEK (making it on first use when create). Checks it against the registry's
 * record of which KEK wrapped its keys; records it on first use (inside a transaction). */
int ctl_kek(struct ctl *c, bool create);

/* snprintf a path under the data dir into buf (PATH_MAX); -1 with c->err set if too long. */
int ctl_path(struct ctl *c, char *buf, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void ctl_now(char buf[REG_TIME_MAX]);

/* A fresh random id "<prefix>-xxxxxxxx" (8 hex digits). */
int ctl_new_id(const char *prefix, char buf[REG_ID_MAX], struct ctl_err *e);

/* Does id have the form "<prefix>-" followed by exactly 8 lowercase hex digits? */
bool ctl_id_valid(const char *prefix, const char *id);

/* Take (blocking, or not when !wait) the lock of one VM. Returns the fd, -1 (error set), or
 * -2 when !wait and another process holds it. Release with ctl_unlock. */
int ctl_lock_vm(struct ctl *c, const char *vm_id, bool wait);
void ctl_unlock(int fd);

/* mkdir one folder (0700) and sync its parent so that the new name is durable. 0 if it
 * exists already. Returns 0 or -errno. */
int ctl_mkdir_durable(const char *path);

/*
 * Remove a folder and the files in it (one level; sub-folders one level deeper). With shred,
 * each regular file is first overwritten with zeros and synced (see docs/vtpmctl.md on what
 * that does and does not achieve). The parent is synced. Absent is fine. Returns 0 or -errno.
 */
int ctl_remove_tree(const char *path, bool shred);

/* Remove one file, overwritten first with shred; its folder is synced. Absent is fine. */
int ctl_remove_file(const char *path, bool shred);

/* The sweep (every write command, inside the registry's write transaction). */
int ctl_sweep(struct ctl *c);

#endif

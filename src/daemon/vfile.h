/*
 * The vTPM file under --tpmstate dir=D: D/tpm2-00.permall, in the format of src/store
 * (docs/STATE-FORMAT.md), holding the engine's permanent state and, after STORE_VOLATILE,
 * its volatile state. This module finds, locks, opens and creates it; the device (dev.c)
 * then commits through the store directly.
 *
 * Files under D:
 *   tpm2-00.permall        the vTPM file (mode 0600, whatever --tpmstate mode= says)
 *   .lock                  an open-file-description write lock held while vtpmd runs, so
 *                          that a second vtpmd or a swtpm on the same folder is refused
 *   tpm2-00.permall.tmp-*  transient, during a whole-file write (removed at the next open)
 */
#ifndef VTPMD_VFILE_H
#define VTPMD_VFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

#define VFILE_NAME "tpm2-00.permall"
#define VFILE_STATE_NAME "permall" /* its name in --print-states */

struct vfile {
    int lockfd;          /* -1 when not locked */
    char *path;          /* D/tpm2-00.permall */
    struct store *store; /* open once vfile_load or vfile_create succeeded */
    /* After vfile_load: the store's note when a slot of either pair did not verify (the
     * open used the other slot), else "". */
    char note[STORE_ERR_LEN];
};

/*
 * Lock the state folder dir (which must exist) and remember the file's path. Returns 0, or
 * -1 with a sentence in err (another process holds the folder, it cannot be used).
 */
int vfile_lock(struct vfile *v, const char *dir, char *err, size_t errlen);

/*
 * Open the vTPM file for the VM vm_id with key and read its newest permanent state into perm
 * (owned by the caller, store_blob_free). Returns 0; -ENOENT when there is no file (perm is
 * empty, err untouched); or another negative code with the store's one-line reason in err
 * (wrong key, another VM, damaged, truncated, unknown format...; the file is untouched).
 * When a slot of either pair (permanent or volatile) did not verify, v->note says which and
 * why (expected after a crash during a commit; otherwise damage).
 */
int vfile_load(struct vfile *v, const uint8_t key[STORE_KEY_LEN], const char *vm_id,
               struct store_blob *perm, char *err, size_t errlen);

/*
 * Create the vTPM file (a new vTPM id at random) with state as its permanent state and open
 * it. Returns 0, or a negative code with a sentence in err (nothing is left behind).
 */
int vfile_create(struct vfile *v, const uint8_t key[STORE_KEY_LEN], const char *vm_id,
                 const uint8_t *state, size_t len, char *err, size_t errlen);

/* Close the store and release the lock. */
void vfile_close(struct vfile *v);

/*
 * For --print-states, without locking: the file's size, and whether it is sealed under the
 * all-zero key (vtpmd without --key). *zero_key is -1 when that cannot be told (not a vTPM
 * file of a version this build reads). Returns 0, -ENOENT, or another negative errno.
 */
int vfile_stat(const char *dir, uint64_t *size, int *zero_key);

#endif

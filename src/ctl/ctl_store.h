/*
 * The one call vtpmctl makes into the vTPM file library (src/store): create a vTPM's file.
 * vtpmctl never opens or reads a vTPM file: only vtpmd does, inside the VM's own process.
 */
#ifndef VTPM_CTL_STORE_H
#define VTPM_CTL_STORE_H

#include <stddef.h>
#include <stdint.h>

#define CTL_STORE_KEY_LEN 32
#define CTL_STORE_ID_LEN 16

/*
 * Create a new vTPM file at path holding blob (the engine's permanent state) for the VM vm_id
 * (1..255 octets, store_create's rule) and the vTPM vtpm_id, sealed under key. The file is
 * written in full under a temporary name in the same folder, synced, linked to path only if
 * nothing is there yet, and the folder synced: when this returns 0 the file exists durably,
 * mode 0600. The caller keeps ownership of key and blob.
 * Returns 0 or a negative errno: -EEXIST (path exists: it is left untouched), -EINVAL (vm_id out
 * of range), -EFBIG (len over 1 MiB), -ENOSPC / -EIO / others from the file system (no file
 * is left behind), -ENOMEM. On failure err (errlen bytes) holds one sentence.
 */
int ctl_store_create(const char *path, const uint8_t key[CTL_STORE_KEY_LEN], const char *vm_id,
                     const uint8_t vtpm_id[CTL_STORE_ID_LEN], const uint8_t *blob, size_t len,
                     char *err, size_t errlen);

#endif

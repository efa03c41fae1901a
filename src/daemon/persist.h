/*
 * vtpmd's state files under --tpmstate: a plain, versioned, checksummed file per state part,
 * replaced atomically and durably. This module stands in for src/store (the encrypted
 * one-file-per-vTPM format), which will replace it; nothing else in the daemon knows the
 * file layout.
 *
 * Files (names as swtpm's directory backend, so tools that look for them find them):
 *   DIR/tpm2-00.permall        the engine's permanent state
 *   DIR/tpm2-00.volatilestate  the volatile state, written by CMD_STORE_VOLATILE only
 *   DIR/.lock                  an open-file-description write lock held while vtpmd runs
 *
 * File layout (all integers big-endian):
 *   8  magic "VTPMDST1"
 *   2  format version (1)
 *   2  part (1 permanent, 2 volatile)
 *   4  payload length n
 *   n  payload: the engine's tpm_state_save() bytes
 *   4  CRC-32 (IEEE 802.3) of every byte before it
 * The checksum catches torn or damaged files; it is no protection against an attacker (the
 * encrypted format of src/store is).
 *
 * A write goes to DIR/TMP2-00.<name>, is fsync'ed, renamed over the old file, and the
 * directory is fsync'ed: a crash leaves the old or the new file, never a mix.
 */
#ifndef VTPMD_PERSIST_H
#define VTPMD_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vtpm/tpm.h"

#define PERSIST_MAGIC "VTPMDST1"
#define PERSIST_VERSION 1
#define PERSIST_HEADER 16
#define PERSIST_OVERHEAD (PERSIST_HEADER + 4)
/* Largest state file accepted when reading (the engine's state is a few KiB). */
#define PERSIST_MAX_FILE (16u << 20)

struct persist;

/*
 * Fault injection for tests: when set, called at each named point of a write ("open",
 * "write", "fsync", "rename", "dirsync") and of a removal ("unlink"); a non-zero return is
 * taken as that step's errno and the operation fails there.
 */
typedef int (*persist_fault_fn)(const char *point, void *ctx);

/*
 * Open the state directory dir (which must exist) for files of the given mode, taking its
 * lock. Returns 0 and *out, or a negative errno: -EBUSY when another process holds the
 * lock, others from the system.
 */
int persist_open(const char *dir, mode_t mode, struct persist **out);

/* Release the lock and free. NULL is allowed. */
void persist_close(struct persist *p);

void persist_set_fault(struct persist *p, persist_fault_fn fn, void *ctx);

/*
 * Read one part into out (replacing its content; the caller frees it with tpm_buf_free).
 * Returns 0, -ENOENT when there is no such file, -EINVAL when the file is not a valid
 * vtpmd state file of that part (damaged, truncated, foreign, newer version), -EFBIG when
 * it is larger than PERSIST_MAX_FILE, or another negative errno.
 */
int persist_load(struct persist *p, enum tpm_state_part part, struct tpm_buf *out);

/* Replace one part atomically and durably. Returns 0 or a negative errno. */
int persist_save(struct persist *p, enum tpm_state_part part, const uint8_t *data, size_t len);

/* Remove one part's file (absent is fine). Returns 0 or a negative errno. */
int persist_remove(struct persist *p, enum tpm_state_part part);

/* File name of a part, e.g. "tpm2-00.permall"; and the short name --print-states shows. */
const char *persist_file_name(enum tpm_state_part part);
const char *persist_state_name(enum tpm_state_part part);

/*
 * Size of one part's file in dir without opening the directory for use (--print-states).
 * Returns 0 and *size, -ENOENT when absent, or another negative errno.
 */
int persist_stat(const char *dir, enum tpm_state_part part, uint64_t *size);

/*
 * The file format without I/O, for tests and fuzzing. persist_encode writes the file image
 * of payload into out (cap bytes, at least len + PERSIST_OVERHEAD) and returns its size, or
 * 0 when it does not fit. persist_decode checks an image and points *payload into it;
 * returns 0 or -EINVAL.
 */
size_t persist_encode(enum tpm_state_part part, const uint8_t *payload, size_t len, uint8_t *out,
                      size_t cap);
int persist_decode(enum tpm_state_part part, const uint8_t *file, size_t len,
                   const uint8_t **payload, size_t *plen);

#endif

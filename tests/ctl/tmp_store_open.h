/*
 * TESTS ONLY: open a vTPM file the way vtpmd does (src/store) and return its permanent state,
 * so that the tests can prove what vtpmctl wrote (sealed, bound to its VM). vtpmctl itself
 * never opens a vTPM file.
 */
#ifndef VTPM_TESTS_CTL_TMP_STORE_OPEN_H
#define VTPM_TESTS_CTL_TMP_STORE_OPEN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Open the file at path for vm_id with key. Returns 0 with *blob (malloc'd; the caller
 * frees) and vtpm_id, or store_open's codes: -ENOEXEC (not such a file), -EPROTONOSUPPORT
 * (version), -ENODATA (truncated), -EXDEV (made for another VM), -EKEYREJECTED (another key),
 * -EBADMSG (a changed byte), -errno from the system.
 */
int tmp_store_open(const char *path, const uint8_t key[32], const char *vm_id,
                   uint8_t vtpm_id[16], uint8_t **blob, size_t *len);

#endif

/* Helpers of vtpmctl's unit tests: temporary folders and small files. */
#ifndef VTPM_TESTS_CTL_TESTDIR_H
#define VTPM_TESTS_CTL_TESTDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Make a new temporary folder (under $TMPDIR or /tmp); buf holds at least 256 bytes. */
void test_mkdtemp(char *buf);
/* Remove a folder and everything under it. */
void test_rmtree(const char *path);
/* Number of entries in a folder, . and .. excluded. */
int test_count_entries(const char *path);
/* Replace path with exactly these bytes and this mode. */
void test_write_file(const char *path, const void *p, size_t n, mode_t mode);
/* Read a whole small file (at most cap bytes); returns its length. */
size_t test_read_file(const char *path, void *p, size_t cap);

#endif

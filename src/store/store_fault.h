/*
 * Fault injection for the vTPM file (tests only; in the manner of sqlite's sqlite3FaultSim).
 *
 * The store calls the hook at each named point below, just before the operation the point
 * names (or just after, for the *_DONE points). With no hook set (production) nothing
 * changes. A hook returns 0 to let the operation run, or a negative errno to make it fail
 * with that code as if the system had returned it; at a *_TORN point the store then writes
 * the first half of the bytes (of the record, for a slot; of the image, for a whole file)
 * before failing, as a crash or a full disk part-way through would leave them. A hook may
 * also _exit() to simulate a crash at that instant (the file is left exactly as a kill -9
 * there would leave it). Returns from the *_DONE points are
 * ignored. The hook is process-wide: set it only from single-threaded tests.
 */
#ifndef VTPM_STORE_FAULT_H
#define VTPM_STORE_FAULT_H

enum store_fault {
    /* An in-place commit into a slot. */
    STORE_FAULT_SEAL,        /* sealing the record (crypto, memory) */
    STORE_FAULT_WRITE,       /* pwrite of the slot: nothing is written */
    STORE_FAULT_WRITE_TORN,  /* pwrite of the slot: half of it is written */
    STORE_FAULT_SYNC,        /* fdatasync after the write */
    STORE_FAULT_COMMIT_DONE, /* the commit is durable, not yet returned */
    /* Undoing a failed in-place write (erasing the slot's record header). */
    STORE_FAULT_INVALIDATE,
    /* A whole-file write: creation, slot growth, adding the volatile slots. */
    STORE_FAULT_TMP_CREATE, /* creating the temporary file */
    STORE_FAULT_TMP_WRITE,  /* writing it: nothing is written */
    STORE_FAULT_TMP_TORN,   /* writing it: half of it is written */
    STORE_FAULT_TMP_SYNC,   /* fsync of the temporary file */
    STORE_FAULT_RENAME,     /* rename over the file (or link for creation) */
    STORE_FAULT_DIR_SYNC,   /* fsync of the folder, after the rename */
    STORE_FAULT_REWRITE_DONE,
    STORE_FAULT_COUNT
};

typedef int (*store_fault_fn)(enum store_fault point, void *ctx);

/* Set (or with NULL clear) the hook. */
void store_fault_set(store_fault_fn fn, void *ctx);

/* The point's name, "write-torn" etc., for test messages. */
const char *store_fault_name(enum store_fault point);

#endif

/*
 * vtpmctl's errors: what was refused, why, and how the operator sees it.
 *
 * Every refusal carries a kind (which fixes the API-style "Type" and "Code" and the process
 * exit status) and one sentence for the operator. Functions inside vtpmctl return 0 or a
 * negative value and fill a struct ctl_err; only main() prints it, as
 * {"Errors": [{"Code", "Type", "Details"}]} on stderr (docs/vtpmctl.md, "Errors").
 */
#ifndef VTPM_CTL_ERR_H
#define VTPM_CTL_ERR_H

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses: 0 success, then one per class of refusal. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_REFUSED 1 /* the request breaks a rule or names something unknown */
#define CTL_EXIT_USAGE 2   /* the command line is malformed */
#define CTL_EXIT_SYSTEM 3  /* the data dir, registry, keys or a process failed */

enum ctl_kind {
    CTL_E_NONE = 0,
    CTL_E_USAGE,        /* malformed command line: unknown option, missing value */
    CTL_E_MISSING,      /* a required option is absent */
    CTL_E_VALUE,        /* an option's value is malformed or out of range */
    CTL_E_UNSUPPORTED,  /* no such command (there is none to detach, share or disable a vTPM) */
    CTL_E_RULE,         /* the request breaks an association rule (TpmMandatory, UEFI) */
    CTL_E_NOT_FOUND,    /* an id names nothing */
    CTL_E_STATE,        /* the resource is in a state that forbids the operation */
    CTL_E_DEPENDENCY,   /* something else still depends on it (an image in use) */
    CTL_E_DATA_DIR,     /* the data dir cannot be used (not writable, not a directory) */
    CTL_E_REGISTRY,     /* the registry is corrupt, busy, foreign or failed */
    CTL_E_KEY,          /* the host key is missing, foreign or unusable */
    CTL_E_VTPM,         /* a vTPM file is missing or could not be created */
    CTL_E_LAUNCH,       /* starting or stopping QEMU or vtpmd failed */
    CTL_E_INTERNAL,     /* out of memory, randomness or crypto failure */
};

struct ctl_err {
    enum ctl_kind kind;
    char details[1024];
};

/* Record a refusal (the first one wins: later calls do not overwrite it). Returns -1. */
int ctl_fail(struct ctl_err *e, enum ctl_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Is an error recorded? */
bool ctl_failed(const struct ctl_err *e);

/* Clear e (used when a refusal is handled and must not surface). */
void ctl_err_clear(struct ctl_err *e);

/* The API "Type" and "Code" strings of a kind, and its exit status. */
const char *ctl_kind_type(enum ctl_kind kind);
const char *ctl_kind_code(enum ctl_kind kind);
int ctl_kind_exit(enum ctl_kind kind);

#endif

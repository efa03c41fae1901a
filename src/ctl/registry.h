/*
 * vtpmctl's registry: images, VMs and vTPMs, and the rules that tie them together.
 *
 * This header is the whole storage layer: the commands see only these calls and structs,
 * never SQL. The implementation here is SQLite (registry_sqlite.c, one file in the data dir);
 * a PostgreSQL implementation of the same calls can serve many hosts (each call is one or two
 * statements, the write transaction is reg_begin/reg_commit, and the rules the schema
 * enforces are listed in docs/vtpmctl.md so that another backend can enforce the same).
 *
 * The registry holds only what serving a vTPM needs: its wrapped data key (never the key),
 * the id of the host key that wrapped it, the location of its file, and dates. When a VM is
 * terminated its vTPM record stays, with the wrapped key erased and the destruction date.
 *
 * Besides the checks in the commands, the schema itself refuses what the rules forbid, so no
 * code path (or hand-written SQL through these calls) can break them: images never change;
 * a VM's image, boot mode and TpmEnabled never change; a VM is created stopped, from an
 * existing image, with a vTPM when the image says TpmMandatory and only on a UEFI-only image;
 * a vTPM is attached only to a new VM created with TpmEnabled, once; it never moves to another
 * VM or place; its key can only be erased, once, and only when its VM is terminated; no VM or
 * vTPM record is ever deleted; an image is not deleted while a live VM uses it.
 *
 * Errors: every call returns 0, REG_NOT_FOUND (a get that found nothing; e is not set), or -1
 * with e set: CTL_E_REGISTRY (busy past the timeout, corrupt, foreign, I/O, a rule refused by
 * the schema), CTL_E_DATA_DIR (cannot be written), CTL_E_INTERNAL (out of memory).
 */
#ifndef VTPM_CTL_REGISTRY_H
#define VTPM_CTL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl/err.h"

#define REG_NOT_FOUND 1

#define REG_ID_MAX 24  /* "ami-0123abcd", "i-0123abcd" and a NUL, with room */
#define REG_TIME_MAX 32 /* "2024-01-31T12:34:56.789Z" */
#define REG_NAME_MAX 128
#define REG_HEX_ID_MAX 33
#define REG_WRAPPED_MAX 128
#define REG_PATH_MAX 256

/* Boot modes, as bits of reg_image.boot_modes and values of reg_vm.boot_mode. */
#define REG_BOOT_UEFI 1u
#define REG_BOOT_LEGACY 2u

struct reg;

struct reg_image {
    char image_id[REG_ID_MAX];
    char name[REG_NAME_MAX + 1];
    unsigned boot_modes; /* REG_BOOT_* bits, at least one */
    bool tpm_mandatory;
    bool secure_boot;
    char created_at[REG_TIME_MAX];
    /* What the VMs of this image boot (absent: NULL). Owned; reg_image_clear frees them. */
    char *kernel, *initrd, *cmdline, *disk;
};

enum reg_vm_state {
    REG_VM_STOPPED,
    REG_VM_RUNNING,
    REG_VM_TERMINATED,
};

struct reg_vm {
    char vm_id[REG_ID_MAX];
    char image_id[REG_ID_MAX];
    unsigned boot_mode; /* REG_BOOT_UEFI or REG_BOOT_LEGACY */
    bool tpm_enabled;
    enum reg_vm_state state;
    char created_at[REG_TIME_MAX];
    char terminated_at[REG_TIME_MAX]; /* "" while not terminated */
};

struct reg_vtpm {
    char vtpm_id[REG_HEX_ID_MAX]; /* 32 hex digits */
    char vm_id[REG_ID_MAX];
    uint8_t wrapped_key[REG_WRAPPED_MAX];
    size_t wrapped_len;            /* 0 once destroyed */
    char kek_id[REG_HEX_ID_MAX];   /* "" once destroyed */
    char path[REG_PATH_MAX];       /* the file, relative to the data dir */
    char created_at[REG_TIME_MAX];
    char destroyed_at[REG_TIME_MAX]; /* "" while it exists */
};

enum reg_mode {
    REG_READ,  /* read only; a missing registry is REG_NOT_FOUND */
    REG_WRITE, /* read and write; made (with its schema) when missing */
};

/*
 * Open the registry at path. A file that is not a registry of this version (another
 * database, a damaged file) is refused with CTL_E_REGISTRY; in REG_WRITE mode the whole file
 * is checked (quick_check) first. busy_ms: how long a call waits for another process's write
 * transaction before failing as busy.
 */
int reg_open(const char *path, enum reg_mode mode, int busy_ms, struct reg **out,
             struct ctl_err *e);
void reg_close(struct reg *r);

/* The write transaction: reg_begin takes the registry's write lock (other writers wait up to
 * busy_ms); nothing is visible to others, nor durable, before reg_commit returns 0. */
int reg_begin(struct reg *r, struct ctl_err *e);
int reg_commit(struct reg *r, struct ctl_err *e);
void reg_rollback(struct reg *r);

/* Small named values (schema version, host key id). */
int reg_meta_get(struct reg *r, const char *key, char *val, size_t cap, struct ctl_err *e);
int reg_meta_set(struct reg *r, const char *key, const char *val, struct ctl_err *e);

void reg_image_clear(struct reg_image *im);
int reg_image_insert(struct reg *r, const struct reg_image *im, struct ctl_err *e);
int reg_image_get(struct reg *r, const char *image_id, struct reg_image *out, struct ctl_err *e);
/* Calls fn for each image, oldest first; fn returning non-zero stops with that value. */
int reg_image_each(struct reg *r, int (*fn)(const struct reg_image *, void *), void *ctx,
                   struct ctl_err *e);
/* How many VMs that are not terminated were made from image_id. */
int reg_image_users(struct reg *r, const char *image_id, long *count, struct ctl_err *e);
int reg_image_delete(struct reg *r, const char *image_id, struct ctl_err *e);

int reg_vm_insert(struct reg *r, const struct reg_vm *vm, struct ctl_err *e);
int reg_vm_get(struct reg *r, const char *vm_id, struct reg_vm *out, struct ctl_err *e);
int reg_vm_each(struct reg *r, int (*fn)(const struct reg_vm *, void *), void *ctx,
                struct ctl_err *e);
/* stopped <-> running. */
int reg_vm_set_state(struct reg *r, const char *vm_id, enum reg_vm_state state,
                     struct ctl_err *e);
/* Mark a VM terminated at the date at (its vTPM, if any, is destroyed separately). */
int reg_vm_terminate(struct reg *r, const char *vm_id, const char *at, struct ctl_err *e);

int reg_vtpm_insert(struct reg *r, const struct reg_vtpm *v, struct ctl_err *e);
int reg_vtpm_get(struct reg *r, const char *vm_id, struct reg_vtpm *out, struct ctl_err *e);
/* Erase the wrapped key of vm_id's vTPM and record the date (crypto-shredding). */
int reg_vtpm_destroy(struct reg *r, const char *vm_id, const char *at, struct ctl_err *e);

const char *reg_vm_state_name(enum reg_vm_state s);
const char *reg_boot_name(unsigned boot_mode);

#endif

/*
 * Transient object slots (Part 1 §15): keys and sequence objects share one table and the
 * handle range 0x80000000-0x80FFFFFF.
 */
#ifndef VTPM_TPM_OBJECT_H
#define VTPM_TPM_OBJECT_H

#include "engine.h"

/* The loaded object with this transient handle, or NULL. */
struct object *object_find(struct tpm *t, TPM_HANDLE h);

/* A free slot with a fresh handle, or NULL (the caller answers TPM_RC_OBJECT_MEMORY). */
struct object *object_alloc(struct tpm *t, enum obj_kind kind);

/* Release a slot: frees running hashes and wipes secrets. */
void object_free(struct object *o);

/* Flush every loaded object (at _TPM_Init and after Clear for its hierarchy). */
void object_flush_all(struct tpm *t);

/* Flush the loaded objects of one hierarchy (HierarchyControl, Clear). */
void object_flush_hierarchy(struct tpm *t, TPM_HANDLE hierarchy);

/*
 * Secret sharing (Part 1 §24): recover the seed that the caller encrypted to key h with the
 * given label ("SECRET" for salted sessions). RSA: OAEP with the label; ECC: ECDH then KDFe.
 * TPM_RC_KEY when h is not a decryption key, TPM_RC_VALUE/TPM_RC_SIZE/TPM_RC_ECC_POINT for a
 * malformed secret.
 */
TPM_RC object_decrypt_secret(struct tpm *t, TPM_HANDLE h, const char *label,
                             const uint8_t *secret, size_t len, uint8_t *out, size_t cap,
                             size_t *out_len) MUST_CHECK;

/* ContextSave / ContextLoad of a transient object (Part 3 §28.2-28.3). */
TPM_RC object_context_save(struct tpm *t, TPM_HANDLE h, TPMS_CONTEXT *out) MUST_CHECK;
TPM_RC object_context_load(struct tpm *t, const TPMS_CONTEXT *ctx, TPM_HANDLE *out) MUST_CHECK;

/* Number of loaded objects (TPM_PT_HR_TRANSIENT_AVAIL and friends). */
unsigned object_count(const struct tpm *t);

#endif

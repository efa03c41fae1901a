/*
 * Hierarchies (Part 1 §13-14): the permanent handles, their authorizations and enables,
 * and the commands of Part 3 §24 (hierarchy) and §25 (dictionary attack).
 */
#ifndef VTPM_TPM_HIERARCHY_H
#define VTPM_TPM_HIERARCHY_H

#include "entity.h"

/* TPM_RC_HIERARCHY when h is a disabled hierarchy, TPM_RC_HANDLE when unknown. */
TPM_RC hier_check_enabled(struct tpm *t, TPM_HANDLE h) MUST_CHECK;

/* The entity of a permanent handle. */
TPM_RC hier_entity(struct tpm *t, TPM_HANDLE h, struct entity *e) MUST_CHECK;

/* Is hierarchy h (owner, endorsement, platform, null) usable now? */
bool hier_enabled(const struct tpm *t, TPM_HANDLE h);

/* The proof value of a hierarchy (Part 1 §14.4): tickets and contexts are HMACed with it. */
const uint8_t *hier_proof(const struct tpm *t, TPM_HANDLE h);

#endif

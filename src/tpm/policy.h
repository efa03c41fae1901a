/*
 * Enhanced authorization (Part 1 §19.7, Part 3 §23): the policy commands update a policy
 * session's digest and record conditions; policy_check_use enforces those conditions when
 * the session authorizes a command.
 */
#ifndef VTPM_TPM_POLICY_H
#define VTPM_TPM_POLICY_H

#include "cmd.h"

/*
 * The conditions a policy session recorded (command code, cpHash, name hash, locality, PCR
 * counter, expiration, template, physical presence) against the command it now authorizes.
 * cphash is this command's cpHash with the session's hash.
 */
TPM_RC policy_check_use(struct tpm *t, const struct cmd *c, const struct session *s,
                        unsigned si, const uint8_t *cphash) MUST_CHECK;

/* policyDigest = H(policyDigest || cc || arg) (Part 3 §23.2.2 PolicyUpdate, first half). */
TPM_RC policy_extend(struct session *s, TPM_CC cc, const void *arg, size_t len) MUST_CHECK;

/* The loaded policy or trial session named by a handle (TPM_RC_HANDLE otherwise). */
TPM_RC policy_session(struct tpm *t, TPM_HANDLE h, struct session **out) MUST_CHECK;

#endif

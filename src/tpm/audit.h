/*
 * Audit (Part 1 §19.5 command audit, §19.6.14 session audit; Part 3 §21.2
 * SetCommandCodeAuditStatus): digests that extend with cpHash || rpHash of each command.
 */
#ifndef VTPM_TPM_AUDIT_H
#define VTPM_TPM_AUDIT_H

#include "cmd.h"

/* Is command cc in the audit list? (SetCommandCodeAuditStatus always is.) */
bool audit_is_audited(const struct tpm *t, TPM_CC cc);

/* After a successful command: extend the command audit digest and the digests of audit
 * sessions. rparams/rlen: the response parameters as sent. */
TPM_RC audit_command(struct tpm *t, struct cmd *c, const uint8_t *rparams, size_t rlen)
    MUST_CHECK;

/* Audited commands from first, ascending, at most max: for GetCapability. */
unsigned audit_list(const struct tpm *t, TPM_CC first, TPM_CC *out, unsigned max);

#endif

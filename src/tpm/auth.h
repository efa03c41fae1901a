/*
 * Authorization of a command's handles (Part 1 §19) and the response authorization area
 * (Part 1 §18.8), plus dictionary-attack protection (Part 1 §19.8.6).
 */
#ifndef VTPM_TPM_AUTH_H
#define VTPM_TPM_AUTH_H

#include "cmd.h"
#include "entity.h"

/* Authorize every handle with a role through its session; TPM_RC_AUTH_FAIL/BAD_AUTH/LOCKOUT
 * and the session-numbered codes of Part 1 §19.6 on failure. */
TPM_RC auth_check_all(struct tpm *t, struct cmd *c) MUST_CHECK;

/* Decrypt the first parameter in place when a session asks (Part 1 §21). */
TPM_RC auth_decrypt(struct tpm *t, struct cmd *c, uint8_t *params, size_t len) MUST_CHECK;

/* After a successful handler: roll the nonces and encrypt the first response parameter in
 * place (rparams/rlen: the response parameter area). */
TPM_RC auth_encrypt_response(struct tpm *t, struct cmd *c, uint8_t *rparams, size_t rlen)
    MUST_CHECK;
/* Then, after audit: the response authorization area (nonces, attributes, HMACs). */
TPM_RC auth_write_sessions(struct tpm *t, struct cmd *c, const uint8_t *rparams, size_t rlen,
                           struct wr *w) MUST_CHECK;

/* Close sessions without continueSession and reset used policies; wipe authValues. */
void auth_finish(struct tpm *t, struct cmd *c, bool success);

/* cpHash and rpHash of the command with alg (Part 1 §18.7, §18.8); names must be set. */
bool auth_cp_hash(const struct cmd *c, TPM_ALG_ID alg, uint8_t *out);
bool auth_rp_hash(const struct cmd *c, TPM_ALG_ID alg, const uint8_t *rparams, size_t rlen,
                  uint8_t *out);
/* Fill c->names from the handles. */
void auth_names(struct tpm *t, struct cmd *c);

/* Dictionary attack state, brought up to date with the clock (self-healing). */
void da_update(struct tpm *t);
bool da_in_lockout(struct tpm *t);
/* Default parameters (manufacture and TPM2_Clear). */
void da_defaults(struct da_state *da);

/* Store a new authValue with trailing zeros removed (Part 1 §19.6.4.3). */
void auth_set(TPM2B_AUTH *dst, const TPM2B_AUTH *src);

#endif

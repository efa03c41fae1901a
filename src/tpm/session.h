/*
 * Authorization sessions (Part 1 §19, Part 3 §11.1 StartAuthSession): the session table, the
 * session key, and the HMAC and parameter-encryption keys derived from it.
 */
#ifndef VTPM_TPM_SESSION_H
#define VTPM_TPM_SESSION_H

#include "engine.h"

/* A loaded session with this handle, or NULL. */
struct session *session_find(struct tpm *t, TPM_HANDLE h);
/* A session that exists, loaded or context-saved, or NULL. */
struct session *session_find_any(struct tpm *t, TPM_HANDLE h);

/* Release a session and wipe it. */
void session_free(struct session *s);
/* _TPM_Init: loaded sessions die; saved ones survive a Restart or Resume. */
void session_flush_loaded(struct tpm *t);
/* TPM Reset: every session dies, saved ones included. */
void session_flush_all(struct tpm *t);

/* Reset a policy session's policy state (PolicyRestart, and after each use). */
void session_policy_reset(struct session *s);

/* Counts for GetCapability: loaded, and active (loaded + saved). */
unsigned session_loaded_count(const struct tpm *t);
unsigned session_active_count(const struct tpm *t);

/* Session handles in ascending order from first, for TPM_CAP_HANDLES (loaded or saved). */
unsigned session_list(const struct tpm *t, TPM_HANDLE first, bool saved, TPM_HANDLE *out,
                      unsigned max);

/* A new nonceTPM of the session's hash size (rolled after every use, Part 1 §19.6.10). */
TPM_RC session_roll_nonce(struct session *s) MUST_CHECK;

#endif

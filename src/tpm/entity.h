/*
 * Entities: whatever a handle names that can be authorized (Part 1 §14). One lookup that
 * gives the dispatcher and handlers an entity's authValue, authPolicy, name and DA status,
 * whichever module (hierarchy, PCR, object, NV) owns it.
 */
#ifndef VTPM_TPM_ENTITY_H
#define VTPM_TPM_ENTITY_H

#include "engine.h"

struct entity {
    TPM_HANDLE handle;
    const TPM2B_AUTH *auth;      /* authValue (EmptyAuth when the entity has none) */
    const struct policy *policy; /* authPolicy; alg TPM_ALG_NULL when there is none */
    bool da_protected;           /* failures count towards lockout (Part 1 §19.8.6) */
    bool is_lockout;             /* lockoutAuth: its own lockout rule */
    /* Which roles may use the authValue (Part 1 §19.7): objects without userWithAuth, or
     * with adminWithPolicy, need a policy session for USER or ADMIN; DUP always does. */
    bool user_with_auth;
    bool admin_with_auth;
    bool pin;                    /* an NV PIN index: uses of its authValue are counted */
    TPM_ALG_ID name_alg;         /* objects and NV: nameAlg; TPM_ALG_NULL for handles */
    TPM_HANDLE hierarchy;        /* the hierarchy it belongs to (tickets, contexts) */
    TPM2B_NAME name;             /* Part 1 §16 */
};

/*
 * Part 3 §5.4: does the handle name something that exists and may be used now?
 * TPM_RC_HIERARCHY (a disabled hierarchy), TPM_RC_HANDLE (nothing there), or
 * TPM_RC_REFERENCE_H0 (a transient object or session that is not loaded).
 */
TPM_RC entity_check_handle(struct tpm *t, TPM_HANDLE h) MUST_CHECK;

/* The entity behind a handle already checked. */
TPM_RC entity_get(struct tpm *t, TPM_HANDLE h, struct entity *e) MUST_CHECK;

/*
 * Narrow what a command may use of an entity that authorizes handle role `role` (enum
 * auth_role) of command cc. Only NV indices depend on the command: their authValue and
 * authPolicy serve reads and writes separately (TPMA_NV_AUTHREAD/AUTHWRITE,
 * POLICYREAD/POLICYWRITE; Part 2 §13.4). The dispatcher calls it after entity_get.
 */
void entity_for_command(struct tpm *t, TPM_CC cc, unsigned role, struct entity *e);

/* Part 1 §16 names: a permanent, PCR or session handle's name is the handle itself. */
void entity_handle_name(TPM_HANDLE h, TPM2B_NAME *name);

#endif

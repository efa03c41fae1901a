/*
 * Tickets (Part 1 §11.4.5, Part 2 §10.7): HMACs under a hierarchy's proof that let the TPM
 * later trust something it once saw. All are compared in constant time.
 */
#ifndef VTPM_TPM_TICKET_H
#define VTPM_TPM_TICKET_H

#include "engine.h"

/* TPMT_TK_HASHCHECK (Part 2 §10.7.6): HMAC(proof, TPM_ST_HASHCHECK || digest). A NULL
 * hierarchy gives the NULL ticket. */
TPM_RC ticket_hashcheck(struct tpm *t, TPM_HANDLE hierarchy, TPM_ALG_ID alg,
                        const uint8_t *digest, TPMT_TK *out) MUST_CHECK;

/* The NULL ticket of a given tag. */
void ticket_null(TPM_ST tag, TPMT_TK *out);

/* Does tk (a TPMT_TK_HASHCHECK) vouch for the dlen-byte digest made with alg? Recomputed
 * under the proof of the hierarchy the ticket names and compared in constant time; a NULL
 * ticket vouches for nothing. */
bool ticket_hashcheck_ok(struct tpm *t, const TPMT_TK *tk, TPM_ALG_ID alg, const uint8_t *digest,
                         size_t dlen);

/* TPMT_TK_VERIFIED (Part 2 §10.7.4): HMAC_alg(proof, TPM_ST_VERIFIED || digest || keyName),
 * alg the key's nameAlg, as TPM2_PolicyAuthorize checks it; a NULL hierarchy gives the NULL
 * ticket. */
TPM_RC ticket_verified(struct tpm *t, TPM_HANDLE hierarchy, TPM_ALG_ID alg,
                       const uint8_t *digest, size_t dlen, const TPM2B_NAME *key_name,
                       TPMT_TK *out) MUST_CHECK;

/* Does tk (a TPMT_TK_CREATION) vouch for creationHash of the object named name with nameAlg
 * alg: HMAC_alg(proof, TPM_ST_CREATION || name || creationHash) (Part 2 §10.7.3)? */
bool ticket_creation_ok(struct tpm *t, const TPMT_TK *tk, TPM_ALG_ID alg, const TPM2B_NAME *name,
                        const TPM2B_DIGEST *creation_hash);

#endif

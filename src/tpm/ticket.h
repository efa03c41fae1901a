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

#endif

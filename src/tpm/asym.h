/*
 * Commit values of split operations (Part 3 §19: TPM2_Commit for ECDAA signing,
 * TPM2_EC_Ephemeral for two-phase key exchange): each commit takes the next value of a
 * counter that lives as long as the null seed (state-reset data) and marks its slot in a
 * small bitmap; the later TPM2_Sign or TPM2_ZGen_2Phase names it by its low 16 bits and ends
 * it, so each commit value is used once. The secret r of a commit is derived, never stored:
 * r = KDFa(SHA-256, commitNonce, "ECDAA Commit", name, count) reduced into [1, n-1], where
 * name is the signing key's Name (Commit, ECDAA) or empty (EC_Ephemeral, ZGen_2Phase).
 */
#ifndef VTPM_TPM_ASYM_H
#define VTPM_TPM_ASYM_H

#include "engine.h"

/* r of the commit the next commit_take() will record, crypto_ecc_bytes(curve) bytes. */
TPM_RC commit_r_next(struct tpm *t, TPM_ECC_CURVE curve, const TPM2B_NAME *name, uint8_t *r)
    MUST_CHECK;

/* Record a commit: returns the low 16 bits of its count (the caller's "counter"). */
uint16_t commit_take(struct tpm *t);

/* r of outstanding commit c (false when c is not outstanding: TPM_RC_VALUE for callers). */
bool commit_r_of(struct tpm *t, uint16_t c, TPM_ECC_CURVE curve, const TPM2B_NAME *name,
                 uint8_t *r);

/* The commit has been used: it cannot be used again. */
void commit_end(struct tpm *t, uint16_t c);

#endif

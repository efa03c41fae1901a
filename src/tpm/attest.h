/*
 * Attestation (Part 1 §36 "Attestation", Part 3 §18): the TPMS_ATTEST structure of Part 2
 * §10.12.12 and its signature. Each attestation command writes the common head, its own
 * TPMU_ATTEST member, then signs the marshaled bytes.
 */
#ifndef VTPM_TPM_ATTEST_H
#define VTPM_TPM_ATTEST_H

#include "cmd.h"

/* What an attestation command produces: TPM2B_ATTEST (the bytes) and the signature. */
struct attest_out {
    TPM2B_ATTEST info;
    TPMT_SIGNATURE signature;
};

/*
 * The signing key of an attestation: TPM_RH_NULL gives *out = NULL and the NULL scheme;
 * otherwise a loaded key that can sign (TPM_RC_KEY, numbered as handle hnum) whose scheme
 * agrees with *scheme (TPM_RC_SCHEME, numbered as parameter pnum).
 */
TPM_RC attest_signer(struct tpm *t, TPM_HANDLE h, unsigned hnum, TPMT_SIG_SCHEME *scheme,
                     unsigned pnum, struct object **out) MUST_CHECK;

/*
 * Write the common head of TPMS_ATTEST to w: magic, type, qualifiedSigner, extraData,
 * clockInfo, firmwareVersion; resetCount, restartCount and firmwareVersion are obfuscated
 * unless the signer belongs to the endorsement or platform hierarchy.
 */
void attest_head(struct tpm *t, const struct object *signer, const TPMT_SIG_SCHEME *scheme,
                 const TPM2B_DATA *qualifying, TPM_ST type, struct wr *w);

/* Sign the bytes written (out->info) with the signer: the NULL signature when signer is
 * NULL. For an anonymous scheme (ECDAA) the qualifying data is hashed in front. */
TPM_RC attest_sign(struct tpm *t, const struct object *signer, const TPMT_SIG_SCHEME *scheme,
                   const TPM2B_DATA *qualifying, struct attest_out *out) MUST_CHECK;

/* Emit the response: TPM2B_ATTEST then TPMT_SIGNATURE. */
void attest_emit(struct wr *w, const struct attest_out *out);

#endif

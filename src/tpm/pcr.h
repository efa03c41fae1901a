/*
 * Platform Configuration Registers (Part 1 §17; Part 3 §22) with the PC Client profile's
 * attributes (TCG PC Client Platform TPM Profile, PCR table): 24 PCRs, 0-15 saved across
 * Shutdown(STATE), 16 and 23 resettable from any locality, 17-22 for DRTM (all ones after a
 * reset, zeroed by _TPM_Hash_Start).
 */
#ifndef VTPM_TPM_PCR_H
#define VTPM_TPM_PCR_H

#include "engine.h"

/* Initialize every PCR of the active banks for a TPM Reset or Restart. */
void pcr_init_values(struct tpm *t);
/* Restore saved PCRs at a Resume: PCRs without the save attribute are re-initialized. */
void pcr_resume(struct tpm *t, const struct tpm_stclear *saved);

/* Is PCR i allocated in bank b now? */
bool pcr_active(const struct tpm *t, unsigned bank, unsigned i);

/* Extend PCR i of bank b with a digest of that bank's size. */
void pcr_extend(struct tpm *t, unsigned bank, unsigned i, const uint8_t *digest);
/* PCR update bookkeeping after a change to PCR i. */
void pcr_changed(struct tpm *t, unsigned i);

/* Locality checks (TPM_RC_LOCALITY when not allowed). */
TPM_RC pcr_check_extend(unsigned i, unsigned locality) MUST_CHECK;
TPM_RC pcr_check_reset(unsigned i, unsigned locality) MUST_CHECK;

/* The TPM_PT_PCR_* property bitmap for GetCapability(TPM_CAP_PCR_PROPERTIES). */
bool pcr_property(TPM_PT_PCR tag, uint8_t select[PCR_SELECT_MAX]);

/* Digest of the selected PCRs (PolicyPCR, Quote, creation data): concatenation hashed. */
TPM_RC pcr_digest(struct tpm *t, TPM_ALG_ID alg, const TPML_PCR_SELECTION *sel,
                  TPM2B_DIGEST *out) MUST_CHECK;

/* _TPM_Hash_End: DRTM PCRs 17-22 to zero and PCR 17 extended with the DRTM digests. */
void pcr_drtm(struct tpm *t, const uint8_t digests[HASH_COUNT][MAX_DIGEST_SIZE]);

#endif

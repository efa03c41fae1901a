/*
 * Context management (Part 1 §30, Part 3 §28): protected context blobs for objects and
 * sessions, and the commands ContextSave, ContextLoad and FlushContext for objects.
 *
 * A blob is sealed with keys derived from the proof of the hierarchy it belongs to:
 *
 *   key || iv || hmacKey = KDFa(SHA-256, proof, "CONTEXT", sequence (8 octets),
 *                               savedHandle || hierarchy (4 + 4 octets), 640 bits)
 *   contextBlob = TPM2B_DIGEST(HMAC-SHA-256(hmacKey, enc)) || enc,
 *   enc = AES-256-CFB(key, iv, plaintext)
 *
 * so a blob whose sequence, handle, hierarchy or any bit was changed, or that comes from
 * another TPM, or from the null hierarchy before a TPM Reset, fails with TPM_RC_INTEGRITY.
 */
#ifndef VTPM_TPM_CONTEXT_H
#define VTPM_TPM_CONTEXT_H

#include "engine.h"

/*
 * Seal plain (len bytes) into out: sets out->sequence = seq, savedHandle, hierarchy and
 * contextBlob. TPM_RC_SIZE when plain does not fit a TPM2B_CONTEXT_DATA.
 */
TPM_RC context_seal(struct tpm *t, TPM_HANDLE hierarchy, uint64_t seq, TPM_HANDLE saved_handle,
                    const uint8_t *plain, size_t len, TPMS_CONTEXT *out) MUST_CHECK;

/*
 * Check and open a blob made by context_seal: TPM_RC_INTEGRITY when the HMAC does not verify
 * or the blob is malformed, TPM_RC_SIZE when the plaintext would not fit cap. Writes the
 * plaintext to plain, its length to *len. The caller checks the hierarchy is enabled.
 */
TPM_RC context_unseal(struct tpm *t, const TPMS_CONTEXT *in, uint8_t *plain, size_t cap,
                      size_t *len) MUST_CHECK;

/* Drop saved sequence-object state (at _TPM_Init and tpm_free). */
void context_reset(struct tpm *t);

#endif

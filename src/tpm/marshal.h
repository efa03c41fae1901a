/*
 * Marshaling of Part 2 structures: rd_<TYPE> reads one from untrusted bytes through the
 * bounded reader, checking sizes and selectors as Part 2 requires; wr_<TYPE> writes one.
 *
 * Readers return TPM_RC_SUCCESS or the code Part 2 names for the violation: TPM_RC_INSUFFICIENT
 * when bytes run out, TPM_RC_SIZE when a sized field is larger than its type allows, and the
 * type's own code (TPM_RC_HASH, TPM_RC_VALUE, ...) for a value out of range. The caller adds
 * the parameter number (rc.h PARAM). On failure the output may be partly written; callers
 * discard it.
 */
#ifndef VTPM_TPM_MARSHAL_H
#define VTPM_TPM_MARSHAL_H

#include "../common/rw.h"
#include "rc.h"
#include "types.h"

/* Selector rules: may TPM_ALG_NULL (or TPM_RH_NULL) stand in the field? ("+" in Part 2) */
#define NULL_OK true
#define NO_NULL false

TPM_RC rd_U8(struct rd *r, uint8_t *v) MUST_CHECK;
TPM_RC rd_U16(struct rd *r, uint16_t *v) MUST_CHECK;
TPM_RC rd_U32(struct rd *r, uint32_t *v) MUST_CHECK;
TPM_RC rd_U64(struct rd *r, uint64_t *v) MUST_CHECK;

/* Any TPM2B: size, then that many bytes; size > cap is TPM_RC_SIZE and leaves *size 0. */
TPM_RC rd_tpm2b(struct rd *r, uint8_t *buf, uint16_t cap, uint16_t *size) MUST_CHECK;
#define RD_TPM2B(r, b) rd_tpm2b((r), (b)->buffer, sizeof((b)->buffer), &(b)->size)
void wr_tpm2b(struct wr *w, const uint8_t *buf, uint16_t size);
#define WR_TPM2B(w, b) wr_tpm2b((w), (b)->buffer, (b)->size)
/* TPM2B_DIGEST with size checked against a hash: used where Part 2 needs an exact digest. */

TPM_RC rd_TPMI_YES_NO(struct rd *r, TPMI_YES_NO *v) MUST_CHECK;
TPM_RC rd_TPM_SU(struct rd *r, TPM_SU *v) MUST_CHECK;
TPM_RC rd_TPMI_ALG_HASH(struct rd *r, TPM_ALG_ID *alg, bool null_ok) MUST_CHECK;
TPM_RC rd_TPMT_HA(struct rd *r, TPMT_HA *v, bool null_ok) MUST_CHECK;
TPM_RC rd_TPMS_PCR_SELECTION(struct rd *r, TPMS_PCR_SELECTION *v) MUST_CHECK;
TPM_RC rd_TPML_PCR_SELECTION(struct rd *r, TPML_PCR_SELECTION *v) MUST_CHECK;
TPM_RC rd_TPML_DIGEST_VALUES(struct rd *r, TPML_DIGEST_VALUES *v) MUST_CHECK;
TPM_RC rd_TPML_DIGEST(struct rd *r, TPML_DIGEST *v, uint32_t min) MUST_CHECK;
TPM_RC rd_TPML_ALG(struct rd *r, TPML_ALG *v) MUST_CHECK;
TPM_RC rd_TPMT_TK(struct rd *r, TPMT_TK *v, TPM_ST tag) MUST_CHECK;

TPM_RC rd_TPMT_SYM_DEF(struct rd *r, TPMT_SYM_DEF *v, bool null_ok) MUST_CHECK;
TPM_RC rd_TPMT_SYM_DEF_OBJECT(struct rd *r, TPMT_SYM_DEF_OBJECT *v, bool null_ok) MUST_CHECK;
TPM_RC rd_TPMT_KEYEDHASH_SCHEME(struct rd *r, TPMT_KEYEDHASH_SCHEME *v) MUST_CHECK;
TPM_RC rd_TPMT_RSA_SCHEME(struct rd *r, TPMT_SCHEME *v) MUST_CHECK;
TPM_RC rd_TPMT_ECC_SCHEME(struct rd *r, TPMT_SCHEME *v) MUST_CHECK;
TPM_RC rd_TPMT_SIG_SCHEME(struct rd *r, TPMT_SCHEME *v) MUST_CHECK;
TPM_RC rd_TPMT_RSA_DECRYPT(struct rd *r, TPMT_SCHEME *v) MUST_CHECK;
TPM_RC rd_TPMT_KDF_SCHEME(struct rd *r, TPMT_SCHEME *v) MUST_CHECK;
TPM_RC rd_TPMU_PUBLIC_PARMS(struct rd *r, TPM_ALG_ID type, TPMU_PUBLIC_PARMS *v) MUST_CHECK;
TPM_RC rd_TPMT_PUBLIC_PARMS(struct rd *r, TPMT_PUBLIC_PARMS *v) MUST_CHECK;
TPM_RC rd_TPMS_ECC_POINT(struct rd *r, TPMS_ECC_POINT *v) MUST_CHECK;
TPM_RC rd_TPM2B_ECC_POINT(struct rd *r, TPMS_ECC_POINT *v) MUST_CHECK;
TPM_RC rd_TPMT_PUBLIC(struct rd *r, TPMT_PUBLIC *v, bool null_name_ok) MUST_CHECK;
/* A TPMT_PUBLIC up to (not including) its unique field: templates whose unique is a
 * TPMS_DERIVE (CreateLoaded under a derivation parent, Part 2 §12.2.3.2). */
TPM_RC rd_TPMT_PUBLIC_head(struct rd *r, TPMT_PUBLIC *v, bool null_name_ok) MUST_CHECK;
TPM_RC rd_TPM2B_PUBLIC(struct rd *r, TPMT_PUBLIC *v, bool null_name_ok) MUST_CHECK;
TPM_RC rd_TPMT_SIGNATURE(struct rd *r, TPMT_SIGNATURE *v, bool null_ok) MUST_CHECK;
TPM_RC rd_TPMS_NV_PUBLIC(struct rd *r, TPMS_NV_PUBLIC *v) MUST_CHECK;
TPM_RC rd_TPM2B_NV_PUBLIC(struct rd *r, TPMS_NV_PUBLIC *v) MUST_CHECK;
TPM_RC rd_TPMS_CONTEXT(struct rd *r, TPMS_CONTEXT *v) MUST_CHECK;

/* §12.3.2 TPMT_SENSITIVE, selected by sensitiveType; §12.3.3 TPM2B_SENSITIVE (size 0 is
 * TPM_RC_SIZE where a sensitive area is required). §11.1.15 TPM2B_SENSITIVE_CREATE. */
TPM_RC rd_TPMT_SENSITIVE(struct rd *r, TPMT_SENSITIVE *v) MUST_CHECK;
TPM_RC rd_TPM2B_SENSITIVE(struct rd *r, TPMT_SENSITIVE *v) MUST_CHECK;
TPM_RC rd_TPM2B_SENSITIVE_CREATE(struct rd *r, TPMS_SENSITIVE_CREATE *v) MUST_CHECK;
void wr_TPMT_SENSITIVE(struct wr *w, const TPMT_SENSITIVE *v);
void wr_TPM2B_SENSITIVE(struct wr *w, const TPMT_SENSITIVE *v);

void wr_TPMT_HA(struct wr *w, const TPMT_HA *v);
void wr_TPMS_PCR_SELECTION(struct wr *w, const TPMS_PCR_SELECTION *v);
void wr_TPML_PCR_SELECTION(struct wr *w, const TPML_PCR_SELECTION *v);
void wr_TPML_DIGEST(struct wr *w, const TPML_DIGEST *v);
void wr_TPML_DIGEST_VALUES(struct wr *w, const TPML_DIGEST_VALUES *v);
void wr_TPML_ALG(struct wr *w, const TPML_ALG *v);
void wr_TPMS_CLOCK_INFO(struct wr *w, const TPMS_CLOCK_INFO *v);
void wr_TPMS_TIME_INFO(struct wr *w, const TPMS_TIME_INFO *v);
void wr_TPMT_TK(struct wr *w, const TPMT_TK *v);
void wr_TPMS_CAPABILITY_DATA(struct wr *w, const TPMS_CAPABILITY_DATA *v);
void wr_TPMT_SYM_DEF(struct wr *w, const TPMT_SYM_DEF *v);
void wr_TPMT_KEYEDHASH_SCHEME(struct wr *w, const TPMT_KEYEDHASH_SCHEME *v);
void wr_TPMT_SCHEME(struct wr *w, const TPMT_SCHEME *v);
void wr_TPMU_PUBLIC_PARMS(struct wr *w, TPM_ALG_ID type, const TPMU_PUBLIC_PARMS *v);
void wr_TPMS_ECC_POINT(struct wr *w, const TPMS_ECC_POINT *v);
void wr_TPMT_PUBLIC(struct wr *w, const TPMT_PUBLIC *v);
void wr_TPM2B_PUBLIC(struct wr *w, const TPMT_PUBLIC *v);
void wr_TPMT_SIGNATURE(struct wr *w, const TPMT_SIGNATURE *v);
void wr_TPMS_NV_PUBLIC(struct wr *w, const TPMS_NV_PUBLIC *v);
void wr_TPM2B_NV_PUBLIC(struct wr *w, const TPMS_NV_PUBLIC *v);
void wr_TPMS_CONTEXT(struct wr *w, const TPMS_CONTEXT *v);
void wr_TPMS_CREATION_DATA(struct wr *w, const TPMS_CREATION_DATA *v);

#endif

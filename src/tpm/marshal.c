/*
 * Part 2 marshaling (see marshal.h). Each reader names the Part 2 table it implements and
 * checks what that table requires; the selector sets come from alg.c, so a value is accepted
 * only when the engine implements it.
 */
#include "marshal.h"

#include <string.h>

#include "alg.h"

TPM_RC rd_U8(struct rd *r, uint8_t *v)
{
    return rd_u8(r, v) ? TPM_RC_SUCCESS : TPM_RC_INSUFFICIENT;
}

TPM_RC rd_U16(struct rd *r, uint16_t *v)
{
    return rd_u16(r, v) ? TPM_RC_SUCCESS : TPM_RC_INSUFFICIENT;
}

TPM_RC rd_U32(struct rd *r, uint32_t *v)
{
    return rd_u32(r, v) ? TPM_RC_SUCCESS : TPM_RC_INSUFFICIENT;
}

TPM_RC rd_U64(struct rd *r, uint64_t *v)
{
    return rd_u64(r, v) ? TPM_RC_SUCCESS : TPM_RC_INSUFFICIENT;
}

/* Part 2 §10.4.1 TPM2B: the size may not exceed the buffer's capacity. */
TPM_RC rd_tpm2b(struct rd *r, uint8_t *buf, uint16_t cap, uint16_t *size)
{
    uint16_t n;
    *size = 0;
    TRY(rd_U16(r, &n));
    CHECK(n <= cap, TPM_RC_SIZE);
    CHECK(rd_bytes(r, buf, n), TPM_RC_INSUFFICIENT);
    *size = n;
    return TPM_RC_SUCCESS;
}

void wr_tpm2b(struct wr *w, const uint8_t *buf, uint16_t size)
{
    wr_u16(w, size);
    wr_bytes(w, buf, size);
}

/* §9.2 TPMI_YES_NO */
TPM_RC rd_TPMI_YES_NO(struct rd *r, TPMI_YES_NO *v)
{
    TRY(rd_U8(r, v));
    CHECK(*v <= 1, TPM_RC_VALUE);
    return TPM_RC_SUCCESS;
}

/* §6.10 TPM_SU */
TPM_RC rd_TPM_SU(struct rd *r, TPM_SU *v)
{
    TRY(rd_U16(r, v));
    CHECK(*v == TPM_SU_CLEAR || *v == TPM_SU_STATE, TPM_RC_VALUE);
    return TPM_RC_SUCCESS;
}

/* §9.27 TPMI_ALG_HASH */
TPM_RC rd_TPMI_ALG_HASH(struct rd *r, TPM_ALG_ID *alg, bool null_ok)
{
    TRY(rd_U16(r, alg));
    CHECK(hash_info(*alg) || (null_ok && *alg == TPM_ALG_NULL), TPM_RC_HASH);
    return TPM_RC_SUCCESS;
}

/* §10.3.2 TPMT_HA: the digest is as long as its algorithm's. */
TPM_RC rd_TPMT_HA(struct rd *r, TPMT_HA *v, bool null_ok)
{
    TRY(rd_TPMI_ALG_HASH(r, &v->hashAlg, null_ok));
    CHECK(rd_bytes(r, v->digest, hash_size(v->hashAlg)), TPM_RC_INSUFFICIENT);
    return TPM_RC_SUCCESS;
}

void wr_TPMT_HA(struct wr *w, const TPMT_HA *v)
{
    wr_u16(w, v->hashAlg);
    wr_bytes(w, v->digest, hash_size(v->hashAlg));
}

/* §10.6.2 TPMS_PCR_SELECTION: PCR_SELECT_MIN <= sizeofSelect <= PCR_SELECT_MAX */
TPM_RC rd_TPMS_PCR_SELECTION(struct rd *r, TPMS_PCR_SELECTION *v)
{
    TRY(rd_TPMI_ALG_HASH(r, &v->hash, NO_NULL));
    TRY(rd_U8(r, &v->sizeofSelect));
    CHECK(v->sizeofSelect >= PCR_SELECT_MIN && v->sizeofSelect <= PCR_SELECT_MAX,
          TPM_RC_VALUE);
    CHECK(rd_bytes(r, v->pcrSelect, v->sizeofSelect), TPM_RC_INSUFFICIENT);
    return TPM_RC_SUCCESS;
}

void wr_TPMS_PCR_SELECTION(struct wr *w, const TPMS_PCR_SELECTION *v)
{
    wr_u16(w, v->hash);
    wr_u8(w, v->sizeofSelect);
    wr_bytes(w, v->pcrSelect, v->sizeofSelect);
}

/* §10.9.7 TPML_PCR_SELECTION: at most HASH_COUNT entries */
TPM_RC rd_TPML_PCR_SELECTION(struct rd *r, TPML_PCR_SELECTION *v)
{
    TRY(rd_U32(r, &v->count));
    CHECK(v->count <= HASH_COUNT, TPM_RC_SIZE);
    for (uint32_t i = 0; i < v->count; i++) {
        TRY(rd_TPMS_PCR_SELECTION(r, &v->pcrSelections[i]));
    }
    return TPM_RC_SUCCESS;
}

void wr_TPML_PCR_SELECTION(struct wr *w, const TPML_PCR_SELECTION *v)
{
    wr_u32(w, v->count);
    for (uint32_t i = 0; i < v->count; i++) {
        wr_TPMS_PCR_SELECTION(w, &v->pcrSelections[i]);
    }
}

/* §10.9.8 TPML_DIGEST_VALUES */
TPM_RC rd_TPML_DIGEST_VALUES(struct rd *r, TPML_DIGEST_VALUES *v)
{
    TRY(rd_U32(r, &v->count));
    CHECK(v->count <= HASH_COUNT, TPM_RC_SIZE);
    for (uint32_t i = 0; i < v->count; i++) {
        TRY(rd_TPMT_HA(r, &v->digests[i], NO_NULL));
    }
    return TPM_RC_SUCCESS;
}

void wr_TPML_DIGEST_VALUES(struct wr *w, const TPML_DIGEST_VALUES *v)
{
    wr_u32(w, v->count);
    for (uint32_t i = 0; i < v->count; i++) {
        wr_TPMT_HA(w, &v->digests[i]);
    }
}

/* §10.9.3 TPML_DIGEST: min entries (2 for PolicyOR), at most 8 */
TPM_RC rd_TPML_DIGEST(struct rd *r, TPML_DIGEST *v, uint32_t min)
{
    TRY(rd_U32(r, &v->count));
    CHECK(v->count >= min && v->count <= MAX_PCR_DIGESTS, TPM_RC_SIZE);
    for (uint32_t i = 0; i < v->count; i++) {
        TRY(RD_TPM2B(r, &v->digests[i]));
    }
    return TPM_RC_SUCCESS;
}

void wr_TPML_DIGEST(struct wr *w, const TPML_DIGEST *v)
{
    wr_u32(w, v->count);
    for (uint32_t i = 0; i < v->count; i++) {
        WR_TPM2B(w, &v->digests[i]);
    }
}

/* §10.9.2 TPML_ALG */
TPM_RC rd_TPML_ALG(struct rd *r, TPML_ALG *v)
{
    TRY(rd_U32(r, &v->count));
    CHECK(v->count <= MAX_ALG_LIST_SIZE, TPM_RC_SIZE);
    for (uint32_t i = 0; i < v->count; i++) {
        TRY(rd_U16(r, &v->algorithms[i]));
    }
    return TPM_RC_SUCCESS;
}

void wr_TPML_ALG(struct wr *w, const TPML_ALG *v)
{
    wr_u32(w, v->count);
    for (uint32_t i = 0; i < v->count; i++) {
        wr_u16(w, v->algorithms[i]);
    }
}

/* §10.7 tickets: the tag must be the one the ticket type fixes. */
TPM_RC rd_TPMT_TK(struct rd *r, TPMT_TK *v, TPM_ST tag)
{
    TRY(rd_U16(r, &v->tag));
    CHECK(v->tag == tag, TPM_RC_TAG);
    TRY(rd_U32(r, &v->hierarchy));
    /* TPMI_RH_HIERARCHY+ */
    CHECK(v->hierarchy == TPM_RH_OWNER || v->hierarchy == TPM_RH_ENDORSEMENT ||
              v->hierarchy == TPM_RH_PLATFORM || v->hierarchy == TPM_RH_NULL,
          TPM_RC_VALUE);
    return RD_TPM2B(r, &v->digest);
}

void wr_TPMT_TK(struct wr *w, const TPMT_TK *v)
{
    wr_u16(w, v->tag);
    wr_u32(w, v->hierarchy);
    WR_TPM2B(w, &v->digest);
}

/* §10.11 clock and time */
void wr_TPMS_CLOCK_INFO(struct wr *w, const TPMS_CLOCK_INFO *v)
{
    wr_u64(w, v->clock);
    wr_u32(w, v->resetCount);
    wr_u32(w, v->restartCount);
    wr_u8(w, v->safe);
}

void wr_TPMS_TIME_INFO(struct wr *w, const TPMS_TIME_INFO *v)
{
    wr_u64(w, v->time);
    wr_TPMS_CLOCK_INFO(w, &v->clockInfo);
}

/* §10.13.2 TPMS_CAPABILITY_DATA */
void wr_TPMS_CAPABILITY_DATA(struct wr *w, const TPMS_CAPABILITY_DATA *v)
{
    wr_u32(w, v->capability);
    wr_u32(w, v->count);
    for (uint32_t i = 0; i < v->count; i++) {
        switch (v->capability) {
        case TPM_CAP_ALGS:
            wr_u16(w, v->data.algs[i].alg);
            wr_u32(w, v->data.algs[i].attributes);
            break;
        case TPM_CAP_HANDLES:
            wr_u32(w, v->data.handles[i]);
            break;
        case TPM_CAP_COMMANDS:
            wr_u32(w, v->data.command[i]);
            break;
        case TPM_CAP_PP_COMMANDS:
        case TPM_CAP_AUDIT_COMMANDS:
            wr_u32(w, v->data.ppCommands[i]);
            break;
        case TPM_CAP_PCRS:
            wr_TPMS_PCR_SELECTION(w, &v->data.assignedPCR[i]);
            break;
        case TPM_CAP_TPM_PROPERTIES:
            wr_u32(w, v->data.tpmProperties[i].property);
            wr_u32(w, v->data.tpmProperties[i].value);
            break;
        case TPM_CAP_PCR_PROPERTIES:
            wr_u32(w, v->data.pcrProperties[i].tag);
            wr_u8(w, v->data.pcrProperties[i].sizeofSelect);
            wr_bytes(w, v->data.pcrProperties[i].pcrSelect,
                     v->data.pcrProperties[i].sizeofSelect);
            break;
        case TPM_CAP_ECC_CURVES:
            wr_u16(w, v->data.eccCurves[i]);
            break;
        default:
            w->err = true;
            return;
        }
    }
}

/* §11.1.3-6 symmetric definitions: TPMI_ALG_SYM(_OBJECT), key bits, TPMI_ALG_SYM_MODE */
static TPM_RC rd_sym(struct rd *r, TPMT_SYM_DEF *v, bool null_ok, bool xor_ok)
{
    TRY(rd_U16(r, &v->algorithm));
    v->keyBits = 0;
    v->mode = TPM_ALG_NULL;
    if (v->algorithm == TPM_ALG_NULL) {
        CHECK(null_ok, TPM_RC_SYMMETRIC);
        return TPM_RC_SUCCESS;
    }
    if (v->algorithm == TPM_ALG_XOR) {
        CHECK(xor_ok && alg_implemented(TPM_ALG_XOR), TPM_RC_SYMMETRIC);
        return rd_TPMI_ALG_HASH(r, &v->keyBits, NO_NULL);
    }
    CHECK(ALG_IN(v->algorithm, TPM_ALG_AES), TPM_RC_SYMMETRIC);
    TRY(rd_U16(r, &v->keyBits));
    CHECK(alg_sym_bits_ok(v->algorithm, v->keyBits), TPM_RC_VALUE);
    TRY(rd_U16(r, &v->mode));
    CHECK(ALG_IN(v->mode, TPM_ALG_CTR, TPM_ALG_OFB, TPM_ALG_CBC, TPM_ALG_CFB, TPM_ALG_ECB) ||
              v->mode == TPM_ALG_NULL,
          TPM_RC_MODE);
    return TPM_RC_SUCCESS;
}

TPM_RC rd_TPMT_SYM_DEF(struct rd *r, TPMT_SYM_DEF *v, bool null_ok)
{
    return rd_sym(r, v, null_ok, true);
}

TPM_RC rd_TPMT_SYM_DEF_OBJECT(struct rd *r, TPMT_SYM_DEF_OBJECT *v, bool null_ok)
{
    return rd_sym(r, v, null_ok, false);
}

void wr_TPMT_SYM_DEF(struct wr *w, const TPMT_SYM_DEF *v)
{
    wr_u16(w, v->algorithm);
    if (v->algorithm == TPM_ALG_NULL) {
        return;
    }
    wr_u16(w, v->keyBits);
    if (v->algorithm != TPM_ALG_XOR) {
        wr_u16(w, v->mode);
    }
}

/* §11.1.22 TPMT_KEYEDHASH_SCHEME: HMAC { hash } | XOR { hash, kdf } | NULL */
TPM_RC rd_TPMT_KEYEDHASH_SCHEME(struct rd *r, TPMT_KEYEDHASH_SCHEME *v)
{
    TRY(rd_U16(r, &v->scheme));
    v->hashAlg = TPM_ALG_NULL;
    v->kdf = TPM_ALG_NULL;
    if (v->scheme == TPM_ALG_NULL) {
        return TPM_RC_SUCCESS;
    }
    CHECK(ALG_IN(v->scheme, TPM_ALG_HMAC, TPM_ALG_XOR), TPM_RC_VALUE);
    TRY(rd_TPMI_ALG_HASH(r, &v->hashAlg, NO_NULL));
    if (v->scheme == TPM_ALG_XOR) {
        TRY(rd_U16(r, &v->kdf));
        CHECK(ALG_IN(v->kdf, TPM_ALG_MGF1, TPM_ALG_KDF1_SP800_56A, TPM_ALG_KDF2,
                     TPM_ALG_KDF1_SP800_108) ||
                  v->kdf == TPM_ALG_NULL,
              TPM_RC_KDF);
    }
    return TPM_RC_SUCCESS;
}

void wr_TPMT_KEYEDHASH_SCHEME(struct wr *w, const TPMT_KEYEDHASH_SCHEME *v)
{
    wr_u16(w, v->scheme);
    if (v->scheme == TPM_ALG_NULL) {
        return;
    }
    wr_u16(w, v->hashAlg);
    if (v->scheme == TPM_ALG_XOR) {
        wr_u16(w, v->kdf);
    }
}

/* Scheme details (§11.2.1-3): every scheme but RSAES and NULL carries a hash; ECDAA a count. */
static TPM_RC rd_scheme_details(struct rd *r, TPMT_SCHEME *v)
{
    v->hashAlg = TPM_ALG_NULL;
    v->count = 0;
    if (v->scheme == TPM_ALG_NULL || v->scheme == TPM_ALG_RSAES) {
        return TPM_RC_SUCCESS;
    }
    TRY(rd_TPMI_ALG_HASH(r, &v->hashAlg, NO_NULL));
    if (v->scheme == TPM_ALG_ECDAA) {
        TRY(rd_U16(r, &v->count));
    }
    return TPM_RC_SUCCESS;
}

void wr_TPMT_SCHEME(struct wr *w, const TPMT_SCHEME *v)
{
    wr_u16(w, v->scheme);
    if (v->scheme == TPM_ALG_NULL || v->scheme == TPM_ALG_RSAES) {
        return;
    }
    wr_u16(w, v->hashAlg);
    if (v->scheme == TPM_ALG_ECDAA) {
        wr_u16(w, v->count);
    }
}

/* §11.2.4.2 TPMI_ALG_RSA_SCHEME, error TPM_RC_VALUE */
TPM_RC rd_TPMT_RSA_SCHEME(struct rd *r, TPMT_SCHEME *v)
{
    TRY(rd_U16(r, &v->scheme));
    CHECK(ALG_IN(v->scheme, TPM_ALG_RSASSA, TPM_ALG_RSAES, TPM_ALG_RSAPSS, TPM_ALG_OAEP) ||
              v->scheme == TPM_ALG_NULL,
          TPM_RC_VALUE);
    return rd_scheme_details(r, v);
}

/* §11.2.4.4 TPMI_ALG_RSA_DECRYPT, error TPM_RC_VALUE */
TPM_RC rd_TPMT_RSA_DECRYPT(struct rd *r, TPMT_SCHEME *v)
{
    TRY(rd_U16(r, &v->scheme));
    CHECK(ALG_IN(v->scheme, TPM_ALG_RSAES, TPM_ALG_OAEP) || v->scheme == TPM_ALG_NULL,
          TPM_RC_VALUE);
    return rd_scheme_details(r, v);
}

/* §11.2.5.4 TPMI_ALG_ECC_SCHEME, error TPM_RC_SCHEME */
TPM_RC rd_TPMT_ECC_SCHEME(struct rd *r, TPMT_SCHEME *v)
{
    TRY(rd_U16(r, &v->scheme));
    CHECK(ALG_IN(v->scheme, TPM_ALG_ECDSA, TPM_ALG_ECDAA, TPM_ALG_ECSCHNORR, TPM_ALG_SM2,
                 TPM_ALG_ECDH, TPM_ALG_ECMQV) ||
              v->scheme == TPM_ALG_NULL,
          TPM_RC_SCHEME);
    return rd_scheme_details(r, v);
}

/* §11.2.1.5 TPMI_ALG_SIG_SCHEME, error TPM_RC_SCHEME */
TPM_RC rd_TPMT_SIG_SCHEME(struct rd *r, TPMT_SCHEME *v)
{
    TRY(rd_U16(r, &v->scheme));
    CHECK(ALG_IN(v->scheme, TPM_ALG_RSASSA, TPM_ALG_RSAPSS, TPM_ALG_ECDSA, TPM_ALG_ECDAA,
                 TPM_ALG_ECSCHNORR, TPM_ALG_SM2, TPM_ALG_HMAC) ||
              v->scheme == TPM_ALG_NULL,
          TPM_RC_SCHEME);
    return rd_scheme_details(r, v);
}

/* §11.2.3.3 TPMI_ALG_KDF, error TPM_RC_KDF */
TPM_RC rd_TPMT_KDF_SCHEME(struct rd *r, TPMT_SCHEME *v)
{
    TRY(rd_U16(r, &v->scheme));
    CHECK(ALG_IN(v->scheme, TPM_ALG_MGF1, TPM_ALG_KDF1_SP800_56A, TPM_ALG_KDF2,
                 TPM_ALG_KDF1_SP800_108) ||
              v->scheme == TPM_ALG_NULL,
          TPM_RC_KDF);
    return rd_scheme_details(r, v);
}

/* §12.2.3.7 TPMU_PUBLIC_PARMS, selected by a TPMI_ALG_PUBLIC already checked */
TPM_RC rd_TPMU_PUBLIC_PARMS(struct rd *r, TPM_ALG_ID type, TPMU_PUBLIC_PARMS *v)
{
    memset(v, 0, sizeof(*v));
    v->symmetric.algorithm = TPM_ALG_NULL;
    v->scheme.scheme = TPM_ALG_NULL;
    v->keyedHash.scheme = TPM_ALG_NULL;
    v->kdf.scheme = TPM_ALG_NULL;
    switch (type) {
    case TPM_ALG_KEYEDHASH:
        return rd_TPMT_KEYEDHASH_SCHEME(r, &v->keyedHash);
    case TPM_ALG_SYMCIPHER:
        return rd_TPMT_SYM_DEF_OBJECT(r, &v->symmetric, NO_NULL);
    case TPM_ALG_RSA:
        TRY(rd_TPMT_SYM_DEF_OBJECT(r, &v->symmetric, NULL_OK));
        TRY(rd_TPMT_RSA_SCHEME(r, &v->scheme));
        TRY(rd_U16(r, &v->keyBits));
        CHECK(alg_rsa_bits_ok(v->keyBits), TPM_RC_VALUE);
        return rd_U32(r, &v->exponent);
    case TPM_ALG_ECC:
        TRY(rd_TPMT_SYM_DEF_OBJECT(r, &v->symmetric, NULL_OK));
        TRY(rd_TPMT_ECC_SCHEME(r, &v->scheme));
        TRY(rd_U16(r, &v->curveID));
        CHECK(alg_ecc_curve_ok(v->curveID), TPM_RC_CURVE);
        return rd_TPMT_KDF_SCHEME(r, &v->kdf);
    default:
        return TPM_RC_TYPE;
    }
}

void wr_TPMU_PUBLIC_PARMS(struct wr *w, TPM_ALG_ID type, const TPMU_PUBLIC_PARMS *v)
{
    switch (type) {
    case TPM_ALG_KEYEDHASH:
        wr_TPMT_KEYEDHASH_SCHEME(w, &v->keyedHash);
        break;
    case TPM_ALG_SYMCIPHER:
        wr_TPMT_SYM_DEF(w, &v->symmetric);
        break;
    case TPM_ALG_RSA:
        wr_TPMT_SYM_DEF(w, &v->symmetric);
        wr_TPMT_SCHEME(w, &v->scheme);
        wr_u16(w, v->keyBits);
        wr_u32(w, v->exponent);
        break;
    case TPM_ALG_ECC:
        wr_TPMT_SYM_DEF(w, &v->symmetric);
        wr_TPMT_SCHEME(w, &v->scheme);
        wr_u16(w, v->curveID);
        wr_TPMT_SCHEME(w, &v->kdf);
        break;
    default:
        w->err = true;
    }
}

/* §12.2.2 TPMI_ALG_PUBLIC, error TPM_RC_TYPE */
static TPM_RC rd_TPMI_ALG_PUBLIC(struct rd *r, TPM_ALG_ID *type)
{
    TRY(rd_U16(r, type));
    CHECK(ALG_IN(*type, TPM_ALG_RSA, TPM_ALG_KEYEDHASH, TPM_ALG_ECC, TPM_ALG_SYMCIPHER),
          TPM_RC_TYPE);
    return TPM_RC_SUCCESS;
}

/* §12.2.3.8 TPMT_PUBLIC_PARMS */
TPM_RC rd_TPMT_PUBLIC_PARMS(struct rd *r, TPMT_PUBLIC_PARMS *v)
{
    TRY(rd_TPMI_ALG_PUBLIC(r, &v->type));
    return rd_TPMU_PUBLIC_PARMS(r, v->type, &v->parameters);
}

/* §11.2.5.2 TPMS_ECC_POINT */
TPM_RC rd_TPMS_ECC_POINT(struct rd *r, TPMS_ECC_POINT *v)
{
    TRY(RD_TPM2B(r, &v->x));
    return RD_TPM2B(r, &v->y);
}

void wr_TPMS_ECC_POINT(struct wr *w, const TPMS_ECC_POINT *v)
{
    WR_TPM2B(w, &v->x);
    WR_TPM2B(w, &v->y);
}

/* §11.2.5.3 TPM2B_ECC_POINT: the size must be exactly that of the point inside. */
TPM_RC rd_TPM2B_ECC_POINT(struct rd *r, TPMS_ECC_POINT *v)
{
    uint16_t size;
    struct rd sub;
    TRY(rd_U16(r, &size));
    CHECK(size > 0, TPM_RC_SIZE);
    CHECK(rd_sub(r, size, &sub), TPM_RC_INSUFFICIENT);
    TRY(rd_TPMS_ECC_POINT(&sub, v));
    CHECK(rd_done(&sub), TPM_RC_SIZE);
    return TPM_RC_SUCCESS;
}

/* §12.2.4 TPMT_PUBLIC */
TPM_RC rd_TPMT_PUBLIC_head(struct rd *r, TPMT_PUBLIC *v, bool null_name_ok)
{
    memset(v, 0, sizeof(*v));
    TRY(rd_TPMI_ALG_PUBLIC(r, &v->type));
    TRY(rd_TPMI_ALG_HASH(r, &v->nameAlg, null_name_ok));
    TRY(rd_U32(r, &v->objectAttributes));
    CHECK(!(v->objectAttributes & TPMA_OBJECT_RESERVED), TPM_RC_RESERVED_BITS);
    TRY(RD_TPM2B(r, &v->authPolicy));
    return rd_TPMU_PUBLIC_PARMS(r, v->type, &v->parameters);
}

TPM_RC rd_TPMT_PUBLIC(struct rd *r, TPMT_PUBLIC *v, bool null_name_ok)
{
    TRY(rd_TPMT_PUBLIC_head(r, v, null_name_ok));
    switch (v->type) {
    case TPM_ALG_RSA:
        return RD_TPM2B(r, &v->unique.rsa);
    case TPM_ALG_ECC:
        return rd_TPMS_ECC_POINT(r, &v->unique.ecc);
    default:
        return RD_TPM2B(r, &v->unique.digest);
    }
}

void wr_TPMT_PUBLIC(struct wr *w, const TPMT_PUBLIC *v)
{
    wr_u16(w, v->type);
    wr_u16(w, v->nameAlg);
    wr_u32(w, v->objectAttributes);
    WR_TPM2B(w, &v->authPolicy);
    wr_TPMU_PUBLIC_PARMS(w, v->type, &v->parameters);
    switch (v->type) {
    case TPM_ALG_RSA:
        WR_TPM2B(w, &v->unique.rsa);
        break;
    case TPM_ALG_ECC:
        wr_TPMS_ECC_POINT(w, &v->unique.ecc);
        break;
    default:
        WR_TPM2B(w, &v->unique.digest);
    }
}

/* §12.2.5 TPM2B_PUBLIC: size 0 is TPM_RC_SIZE; the size must match the area exactly. */
TPM_RC rd_TPM2B_PUBLIC(struct rd *r, TPMT_PUBLIC *v, bool null_name_ok)
{
    uint16_t size;
    struct rd sub;
    TRY(rd_U16(r, &size));
    CHECK(size > 0, TPM_RC_SIZE);
    CHECK(rd_sub(r, size, &sub), TPM_RC_INSUFFICIENT);
    TRY(rd_TPMT_PUBLIC(&sub, v, null_name_ok));
    CHECK(rd_done(&sub), TPM_RC_SIZE);
    return TPM_RC_SUCCESS;
}

void wr_TPM2B_PUBLIC(struct wr *w, const TPMT_PUBLIC *v)
{
    size_t mark = wr_size16_begin(w);
    wr_TPMT_PUBLIC(w, v);
    wr_size16_end(w, mark);
}

/* §11.3.4 TPMT_SIGNATURE (TPMI_ALG_SIG_SCHEME, error TPM_RC_SCHEME) */
TPM_RC rd_TPMT_SIGNATURE(struct rd *r, TPMT_SIGNATURE *v, bool null_ok)
{
    memset(v, 0, sizeof(*v));
    TRY(rd_U16(r, &v->sigAlg));
    if (v->sigAlg == TPM_ALG_NULL) {
        CHECK(null_ok, TPM_RC_SCHEME);
        return TPM_RC_SUCCESS;
    }
    CHECK(ALG_IN(v->sigAlg, TPM_ALG_RSASSA, TPM_ALG_RSAPSS, TPM_ALG_ECDSA, TPM_ALG_ECDAA,
                 TPM_ALG_ECSCHNORR, TPM_ALG_SM2, TPM_ALG_HMAC),
          TPM_RC_SCHEME);
    TRY(rd_TPMI_ALG_HASH(r, &v->hash, NO_NULL));
    switch (v->sigAlg) {
    case TPM_ALG_RSASSA:
    case TPM_ALG_RSAPSS:
        return RD_TPM2B(r, &v->rsa);
    case TPM_ALG_HMAC:
        CHECK(rd_bytes(r, v->hmac, hash_size(v->hash)), TPM_RC_INSUFFICIENT);
        return TPM_RC_SUCCESS;
    default:
        TRY(RD_TPM2B(r, &v->r));
        return RD_TPM2B(r, &v->s);
    }
}

void wr_TPMT_SIGNATURE(struct wr *w, const TPMT_SIGNATURE *v)
{
    wr_u16(w, v->sigAlg);
    if (v->sigAlg == TPM_ALG_NULL) {
        return;
    }
    wr_u16(w, v->hash);
    switch (v->sigAlg) {
    case TPM_ALG_RSASSA:
    case TPM_ALG_RSAPSS:
        WR_TPM2B(w, &v->rsa);
        break;
    case TPM_ALG_HMAC:
        wr_bytes(w, v->hmac, hash_size(v->hash));
        break;
    default:
        WR_TPM2B(w, &v->r);
        WR_TPM2B(w, &v->s);
    }
}

/* §13.5 TPMS_NV_PUBLIC: index in the NV range, a real nameAlg, no reserved attribute bits */
TPM_RC rd_TPMS_NV_PUBLIC(struct rd *r, TPMS_NV_PUBLIC *v)
{
    TRY(rd_U32(r, &v->nvIndex));
    CHECK((v->nvIndex >> HR_SHIFT) == TPM_HT_NV_INDEX, TPM_RC_VALUE);
    TRY(rd_TPMI_ALG_HASH(r, &v->nameAlg, NO_NULL));
    TRY(rd_U32(r, &v->attributes));
    CHECK(!(v->attributes & TPMA_NV_RESERVED), TPM_RC_RESERVED_BITS);
    TRY(RD_TPM2B(r, &v->authPolicy));
    return rd_U16(r, &v->dataSize);
}

void wr_TPMS_NV_PUBLIC(struct wr *w, const TPMS_NV_PUBLIC *v)
{
    wr_u32(w, v->nvIndex);
    wr_u16(w, v->nameAlg);
    wr_u32(w, v->attributes);
    WR_TPM2B(w, &v->authPolicy);
    wr_u16(w, v->dataSize);
}

TPM_RC rd_TPM2B_NV_PUBLIC(struct rd *r, TPMS_NV_PUBLIC *v)
{
    uint16_t size;
    struct rd sub;
    TRY(rd_U16(r, &size));
    CHECK(size > 0, TPM_RC_SIZE);
    CHECK(rd_sub(r, size, &sub), TPM_RC_INSUFFICIENT);
    TRY(rd_TPMS_NV_PUBLIC(&sub, v));
    CHECK(rd_done(&sub), TPM_RC_SIZE);
    return TPM_RC_SUCCESS;
}

void wr_TPM2B_NV_PUBLIC(struct wr *w, const TPMS_NV_PUBLIC *v)
{
    size_t mark = wr_size16_begin(w);
    wr_TPMS_NV_PUBLIC(w, v);
    wr_size16_end(w, mark);
}

/* §14.3 TPMS_CONTEXT: TPMI_DH_SAVED and TPMI_RH_HIERARCHY+ */
TPM_RC rd_TPMS_CONTEXT(struct rd *r, TPMS_CONTEXT *v)
{
    TRY(rd_U64(r, &v->sequence));
    TRY(rd_U32(r, &v->savedHandle));
    uint8_t ht = (uint8_t)(v->savedHandle >> HR_SHIFT);
    CHECK(ht == TPM_HT_HMAC_SESSION || ht == TPM_HT_POLICY_SESSION || ht == TPM_HT_TRANSIENT,
          TPM_RC_VALUE);
    TRY(rd_U32(r, &v->hierarchy));
    CHECK(v->hierarchy == TPM_RH_OWNER || v->hierarchy == TPM_RH_ENDORSEMENT ||
              v->hierarchy == TPM_RH_PLATFORM || v->hierarchy == TPM_RH_NULL,
          TPM_RC_VALUE);
    return RD_TPM2B(r, &v->contextBlob);
}

void wr_TPMS_CONTEXT(struct wr *w, const TPMS_CONTEXT *v)
{
    wr_u64(w, v->sequence);
    wr_u32(w, v->savedHandle);
    wr_u32(w, v->hierarchy);
    WR_TPM2B(w, &v->contextBlob);
}

/* §15.1 TPMS_CREATION_DATA */
void wr_TPMS_CREATION_DATA(struct wr *w, const TPMS_CREATION_DATA *v)
{
    wr_TPML_PCR_SELECTION(w, &v->pcrSelect);
    WR_TPM2B(w, &v->pcrDigest);
    wr_u8(w, v->locality);
    wr_u16(w, v->parentNameAlg);
    WR_TPM2B(w, &v->parentName);
    WR_TPM2B(w, &v->parentQualifiedName);
    WR_TPM2B(w, &v->outsideInfo);
}

/* §12.3.2 TPMU_SENSITIVE_COMPOSITE: each member is a TPM2B of its own bound. */
static uint16_t sensitive_cap(TPM_ALG_ID type)
{
    switch (type) {
    case TPM_ALG_RSA:
        return MAX_RSA_KEY_BYTES / 2;
    case TPM_ALG_ECC:
        return MAX_ECC_KEY_BYTES;
    case TPM_ALG_KEYEDHASH:
        return MAX_SYM_DATA;
    case TPM_ALG_SYMCIPHER:
        return MAX_SYM_KEY_BYTES;
    default:
        return 0;
    }
}

/* §12.3.2 TPMT_SENSITIVE */
TPM_RC rd_TPMT_SENSITIVE(struct rd *r, TPMT_SENSITIVE *v)
{
    memset(v, 0, sizeof(*v));
    TRY(rd_U16(r, &v->sensitiveType));
    CHECK(ALG_IN(v->sensitiveType, TPM_ALG_RSA, TPM_ALG_KEYEDHASH, TPM_ALG_ECC,
                 TPM_ALG_SYMCIPHER),
          TPM_RC_TYPE);
    TRY(RD_TPM2B(r, &v->authValue));
    TRY(RD_TPM2B(r, &v->seedValue));
    return rd_tpm2b(r, v->sensitive.buffer, sensitive_cap(v->sensitiveType), &v->sensitive.size);
}

void wr_TPMT_SENSITIVE(struct wr *w, const TPMT_SENSITIVE *v)
{
    wr_u16(w, v->sensitiveType);
    WR_TPM2B(w, &v->authValue);
    WR_TPM2B(w, &v->seedValue);
    WR_TPM2B(w, &v->sensitive);
}

/* §12.3.3 TPM2B_SENSITIVE: the size must match the area exactly. */
TPM_RC rd_TPM2B_SENSITIVE(struct rd *r, TPMT_SENSITIVE *v)
{
    uint16_t size;
    struct rd sub;
    TRY(rd_U16(r, &size));
    CHECK(size > 0, TPM_RC_SIZE);
    CHECK(rd_sub(r, size, &sub), TPM_RC_INSUFFICIENT);
    TRY(rd_TPMT_SENSITIVE(&sub, v));
    CHECK(rd_done(&sub), TPM_RC_SIZE);
    return TPM_RC_SUCCESS;
}

void wr_TPM2B_SENSITIVE(struct wr *w, const TPMT_SENSITIVE *v)
{
    size_t mark = wr_size16_begin(w);
    wr_TPMT_SENSITIVE(w, v);
    wr_size16_end(w, mark);
}

/* §11.1.15-16 TPM2B_SENSITIVE_CREATE: userAuth and data, the size exactly theirs. */
TPM_RC rd_TPM2B_SENSITIVE_CREATE(struct rd *r, TPMS_SENSITIVE_CREATE *v)
{
    uint16_t size;
    struct rd sub;
    TRY(rd_U16(r, &size));
    CHECK(size > 0, TPM_RC_SIZE);
    CHECK(rd_sub(r, size, &sub), TPM_RC_INSUFFICIENT);
    TRY(RD_TPM2B(&sub, &v->userAuth));
    TRY(RD_TPM2B(&sub, &v->data));
    CHECK(rd_done(&sub), TPM_RC_SIZE);
    return TPM_RC_SUCCESS;
}

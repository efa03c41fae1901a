/*
 * TPM 2.0 structures (Part 2), as C types named after the specification.
 *
 * These are in-memory forms, never wire images: marshal.c converts between the two, checking
 * every size and selector on the way in. Unions are flattened where the specification's
 * selector makes only one member meaningful, so the structures stay small and copyable.
 */
#ifndef VTPM_TPM_TYPES_H
#define VTPM_TPM_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "tpm_consts.h"

#define MAX_ALG_LIST_SIZE 64
#define MAX_PCR_DIGESTS 8 /* TPML_DIGEST in PCR_Read and PolicyOR (Part 2 §10.9.2) */

/* §10.4 sized buffers */
#define TPM2B_TYPE(name, bytes)                                                              \
    typedef struct {                                                                         \
        uint16_t size;                                                                       \
        uint8_t buffer[bytes];                                                               \
    } name

TPM2B_TYPE(TPM2B_DIGEST, MAX_DIGEST_SIZE);
typedef TPM2B_DIGEST TPM2B_NONCE;
typedef TPM2B_DIGEST TPM2B_AUTH;
typedef TPM2B_DIGEST TPM2B_OPERAND;
TPM2B_TYPE(TPM2B_DATA, MAX_DIGEST_SIZE + 2);
TPM2B_TYPE(TPM2B_EVENT, 1024);
TPM2B_TYPE(TPM2B_MAX_BUFFER, MAX_DIGEST_BUFFER);
TPM2B_TYPE(TPM2B_MAX_NV_BUFFER, MAX_NV_BUFFER_SIZE);
TPM2B_TYPE(TPM2B_TIMEOUT, 8);
TPM2B_TYPE(TPM2B_IV, MAX_SYM_BLOCK_SIZE);
TPM2B_TYPE(TPM2B_NAME, MAX_DIGEST_SIZE + 2);
TPM2B_TYPE(TPM2B_SENSITIVE_DATA, MAX_SYM_DATA);
TPM2B_TYPE(TPM2B_SYM_KEY, MAX_SYM_KEY_BYTES);
TPM2B_TYPE(TPM2B_LABEL, 32);
TPM2B_TYPE(TPM2B_PUBLIC_KEY_RSA, MAX_RSA_KEY_BYTES);
TPM2B_TYPE(TPM2B_PRIVATE_KEY_RSA, MAX_RSA_KEY_BYTES / 2);
TPM2B_TYPE(TPM2B_ECC_PARAMETER, MAX_ECC_KEY_BYTES);
TPM2B_TYPE(TPM2B_ENCRYPTED_SECRET, MAX_RSA_KEY_BYTES);
TPM2B_TYPE(TPM2B_PRIVATE_VENDOR_SPECIFIC, MAX_RSA_KEY_BYTES / 2 * 5);
TPM2B_TYPE(TPM2B_ID_OBJECT, 2 + MAX_DIGEST_SIZE + 2 + MAX_DIGEST_SIZE);
TPM2B_TYPE(TPM2B_CONTEXT_SENSITIVE, MAX_CONTEXT_SIZE);
TPM2B_TYPE(TPM2B_CONTEXT_DATA, MAX_CONTEXT_SIZE + 2 + MAX_DIGEST_SIZE);
TPM2B_TYPE(TPM2B_ATTEST, 1280); /* TPMS_ATTEST at its largest (NV_Certify of 1024 bytes) */

/* §10.3 TPMT_HA */
typedef struct {
    TPM_ALG_ID hashAlg;
    uint8_t digest[MAX_DIGEST_SIZE];
} TPMT_HA;

/* §10.6 PCR selection */
typedef struct {
    TPM_ALG_ID hash;
    uint8_t sizeofSelect;
    uint8_t pcrSelect[PCR_SELECT_MAX];
} TPMS_PCR_SELECTION;

typedef struct {
    uint32_t count;
    TPMS_PCR_SELECTION pcrSelections[HASH_COUNT];
} TPML_PCR_SELECTION;

/* §10.9 lists */
typedef struct {
    uint32_t count;
    TPM2B_DIGEST digests[MAX_PCR_DIGESTS];
} TPML_DIGEST;

typedef struct {
    uint32_t count;
    TPMT_HA digests[HASH_COUNT];
} TPML_DIGEST_VALUES;

typedef struct {
    uint32_t count;
    TPM_ALG_ID algorithms[MAX_ALG_LIST_SIZE];
} TPML_ALG;

typedef struct {
    uint32_t count;
    TPM_CC commandCodes[256];
} TPML_CC;

/* §10.11 clock and time */
typedef struct {
    uint64_t clock;
    uint32_t resetCount;
    uint32_t restartCount;
    TPMI_YES_NO safe;
} TPMS_CLOCK_INFO;

typedef struct {
    uint64_t time;
    TPMS_CLOCK_INFO clockInfo;
} TPMS_TIME_INFO;

/* §10.7 tickets: TK_CREATION, TK_VERIFIED, TK_AUTH and TK_HASHCHECK share one layout */
typedef struct {
    TPM_ST tag;
    TPM_HANDLE hierarchy;
    TPM2B_DIGEST digest;
} TPMT_TK;
typedef TPMT_TK TPMT_TK_HASHCHECK;
typedef TPMT_TK TPMT_TK_CREATION;
typedef TPMT_TK TPMT_TK_VERIFIED;
typedef TPMT_TK TPMT_TK_AUTH;

/* §11.1 symmetric definitions; for XOR keyBits carries the hash algorithm and mode is NULL */
typedef struct {
    TPM_ALG_ID algorithm;
    uint16_t keyBits;
    TPM_ALG_ID mode;
} TPMT_SYM_DEF;
typedef TPMT_SYM_DEF TPMT_SYM_DEF_OBJECT;

/* §11.2 schemes: every scheme's details fit { hashAlg, count } (count: ECDAA only) */
typedef struct {
    TPM_ALG_ID scheme;
    TPM_ALG_ID hashAlg;
    uint16_t count;
} TPMT_SCHEME;
typedef TPMT_SCHEME TPMT_RSA_SCHEME;
typedef TPMT_SCHEME TPMT_ECC_SCHEME;
typedef TPMT_SCHEME TPMT_SIG_SCHEME;
typedef TPMT_SCHEME TPMT_RSA_DECRYPT;
typedef TPMT_SCHEME TPMT_KDF_SCHEME;

/* §12.2.3 keyed-hash scheme: HMAC { hashAlg } or XOR { hashAlg, kdf } */
typedef struct {
    TPM_ALG_ID scheme;
    TPM_ALG_ID hashAlg;
    TPM_ALG_ID kdf;
} TPMT_KEYEDHASH_SCHEME;

/* §11.2.5 ECC point */
typedef struct {
    TPM2B_ECC_PARAMETER x;
    TPM2B_ECC_PARAMETER y;
} TPMS_ECC_POINT;

typedef struct {
    uint16_t size;
    TPMS_ECC_POINT point;
} TPM2B_ECC_POINT;

/* §12.2.3 public parameters, flattened: the member used is the one type selects */
typedef struct {
    TPMT_SYM_DEF_OBJECT symmetric; /* RSA, ECC (storage keys) and SYMCIPHER */
    TPMT_SCHEME scheme;            /* RSA and ECC */
    TPMT_KEYEDHASH_SCHEME keyedHash;
    uint16_t keyBits;  /* RSA */
    uint32_t exponent; /* RSA */
    TPM_ECC_CURVE curveID;
    TPMT_KDF_SCHEME kdf; /* ECC */
} TPMU_PUBLIC_PARMS;

typedef struct {
    TPM_ALG_ID type;
    TPMU_PUBLIC_PARMS parameters;
} TPMT_PUBLIC_PARMS;

/* §12.2.3.2 unique identifier: keyedHash/sym digest, RSA modulus or ECC point */
typedef struct {
    TPM2B_DIGEST digest;
    TPM2B_PUBLIC_KEY_RSA rsa;
    TPMS_ECC_POINT ecc;
} TPMU_PUBLIC_ID;

/* §12.2.4 TPMT_PUBLIC */
typedef struct {
    TPM_ALG_ID type;
    TPM_ALG_ID nameAlg;
    TPMA_OBJECT objectAttributes;
    TPM2B_DIGEST authPolicy;
    TPMU_PUBLIC_PARMS parameters;
    TPMU_PUBLIC_ID unique;
} TPMT_PUBLIC;

typedef struct {
    uint16_t size;
    TPMT_PUBLIC publicArea;
} TPM2B_PUBLIC;

/* §12.1 template (CreateLoaded): the raw marshaled bytes, parsed by the command */
TPM2B_TYPE(TPM2B_TEMPLATE, 2 + 2 + 4 + 2 + MAX_DIGEST_SIZE + 20 + 2 + MAX_RSA_KEY_BYTES);

/* §11.3.2 sensitive creation data */
typedef struct {
    TPM2B_AUTH userAuth;
    TPM2B_SENSITIVE_DATA data;
} TPMS_SENSITIVE_CREATE;

typedef struct {
    uint16_t size;
    TPMS_SENSITIVE_CREATE sensitive;
} TPM2B_SENSITIVE_CREATE;

/* §12.3 sensitive area: sensitive holds the RSA prime, ECC scalar, HMAC key or AES key */
typedef struct {
    TPM_ALG_ID sensitiveType;
    TPM2B_AUTH authValue;
    TPM2B_DIGEST seedValue;
    TPM2B_PRIVATE_VENDOR_SPECIFIC sensitive;
} TPMT_SENSITIVE;

typedef struct {
    uint16_t size;
    TPMT_SENSITIVE sensitiveArea;
} TPM2B_SENSITIVE;

/* §12.3.7 private area as stored outside the TPM: opaque integrity + encrypted sensitive */
TPM2B_TYPE(TPM2B_PRIVATE, 2 + MAX_DIGEST_SIZE + MAX_SYM_BLOCK_SIZE + 2 + 2 + 2 +
                              MAX_DIGEST_SIZE + 2 + MAX_DIGEST_SIZE + 2 + MAX_RSA_KEY_BYTES / 2 * 5);

/* §15.1 creation data */
typedef struct {
    TPML_PCR_SELECTION pcrSelect;
    TPM2B_DIGEST pcrDigest;
    TPMA_LOCALITY locality;
    TPM_ALG_ID parentNameAlg;
    TPM2B_NAME parentName;
    TPM2B_NAME parentQualifiedName;
    TPM2B_DATA outsideInfo;
} TPMS_CREATION_DATA;

/* §11.3.1 derivation (CreateLoaded under a derivation parent) */
typedef struct {
    TPM2B_LABEL label;
    TPM2B_LABEL context;
} TPMS_DERIVE;

/* §11.3.4 signatures, flattened */
typedef struct {
    TPM_ALG_ID sigAlg;
    TPM_ALG_ID hash;
    TPM2B_PUBLIC_KEY_RSA rsa; /* RSASSA / RSAPSS */
    TPM2B_ECC_PARAMETER r;    /* ECDSA / ECDAA / ECSCHNORR / SM2 */
    TPM2B_ECC_PARAMETER s;
    uint8_t hmac[MAX_DIGEST_SIZE]; /* HMAC: TPMT_HA digest */
} TPMT_SIGNATURE;

/* §13.5 NV public area */
typedef struct {
    TPM_HANDLE nvIndex;
    TPM_ALG_ID nameAlg;
    TPMA_NV attributes;
    TPM2B_DIGEST authPolicy;
    uint16_t dataSize;
} TPMS_NV_PUBLIC;

typedef struct {
    uint16_t size;
    TPMS_NV_PUBLIC nvPublic;
} TPM2B_NV_PUBLIC;

/* §14.3 context blob */
typedef struct {
    uint64_t sequence;
    TPM_HANDLE savedHandle;
    TPM_HANDLE hierarchy;
    TPM2B_CONTEXT_DATA contextBlob;
} TPMS_CONTEXT;

/* §10.13 capability data, flattened: only the list the capability selects is used */
typedef struct {
    TPM_PT property;
    uint32_t value;
} TPMS_TAGGED_PROPERTY;

typedef struct {
    TPM_ALG_ID alg;
    TPMA_ALGORITHM attributes;
} TPMS_ALG_PROPERTY;

typedef struct {
    TPM_PT_PCR tag;
    uint8_t sizeofSelect;
    uint8_t pcrSelect[PCR_SELECT_MAX];
} TPMS_TAGGED_PCR_SELECT;

#define MAX_CAP_ITEMS 256

typedef struct {
    TPM_CAP capability;
    uint32_t count;
    union {
        TPMS_ALG_PROPERTY algs[MAX_CAP_ITEMS];
        TPM_HANDLE handles[MAX_CAP_ITEMS];
        TPMA_CC command[MAX_CAP_ITEMS];
        TPM_CC ppCommands[MAX_CAP_ITEMS];
        TPMS_TAGGED_PROPERTY tpmProperties[MAX_CAP_ITEMS];
        TPMS_TAGGED_PCR_SELECT pcrProperties[MAX_CAP_ITEMS];
        TPM_ECC_CURVE eccCurves[MAX_CAP_ITEMS];
        TPMS_PCR_SELECTION assignedPCR[HASH_COUNT];
    } data;
} TPMS_CAPABILITY_DATA;

#endif

/*
 * The TPM 2.0 commands the benchmark client sends, built byte by byte from the command tables
 * of TPM 2.0 Part 3, and the check of every response (Part 1 §18.2 response header, Part 3
 * response tables). No TSS: the client's own cost per command must stay negligible.
 *
 * A response counts only if it is TPM_RC_SUCCESS with the expected tag, its header size equals
 * the bytes received, and its parameters parse exactly (a benchmark of error answers would be
 * worthless). Commands that alternate values (DictionaryAttackParameters, HierarchyChangeAuth)
 * keep what they need in struct bcmd_state, one per server connection.
 */
#ifndef VTPM_BENCH_TPMCMD_H
#define VTPM_BENCH_TPMCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest command or response the client handles (the TPM2 buffer swtpm and QEMU use). */
#define BCMD_MAX 4096

enum bcmd {
    BCMD_GETRANDOM,   /* TPM2_GetRandom(32), Part 3 §16.1 */
    BCMD_PCR_EXTEND,  /* TPM2_PCR_Extend(PCR 16, one sha256 digest), password session, §22.2 */
    BCMD_PCR_READ,    /* TPM2_PCR_Read(sha256, PCR 0), §22.4 */
    BCMD_HASH,        /* TPM2_Hash(64 bytes, sha256, owner hierarchy), §15.4 */
    BCMD_GETCAP,      /* TPM2_GetCapability(TPM_PROPERTIES, TPM_PT_MANUFACTURER, 1), §30.2 */
    BCMD_READCLOCK,   /* TPM2_ReadClock, §29.1 */
    BCMD_DA_PARAMS,   /* TPM2_DictionaryAttackParameters, alternating maxTries, §25.3 */
    BCMD_CHANGE_AUTH, /* TPM2_HierarchyChangeAuth(owner), alternating empty / 8-byte auth, §24.8 */
    BCMD_COUNT
};

/* What one server connection has to remember between commands. */
struct bcmd_state {
    uint32_t da_seq;          /* DictionaryAttackParameters sent so far: picks maxTries */
    bool owner_auth_set;      /* the owner authValue is currently the 8-byte bench value */
    uint8_t hash_expect[32];  /* SHA-256 of the Hash command's 64 input bytes */
};

/* Fills the state for a server whose owner authValue is empty. 0, or -1 if libcrypto failed. */
int bcmd_state_init(struct bcmd_state *st);

/* The command's short name ("getrandom", ...), or NULL for a value out of range. */
const char *bcmd_name(enum bcmd c);

/* The command for a short name, or -1. */
int bcmd_from_name(const char *name);

/* True for the commands that change the TPM's persistent state (the server must commit it). */
bool bcmd_commits(enum bcmd c);

/*
 * Writes command c into buf (cap bytes) for the state st. Returns its length, or 0 if c is
 * out of range or cap is too small.
 */
size_t bcmd_build(enum bcmd c, const struct bcmd_state *st, uint8_t *buf, size_t cap);

/*
 * Checks the response to command c built from st. Returns 0 if it is a well-formed
 * TPM_RC_SUCCESS answer; otherwise -1 and a sentence in why (whylen bytes, always terminated).
 * *rc receives the response code when the header could be read, else 0xFFFFFFFF.
 */
int bcmd_check(enum bcmd c, const struct bcmd_state *st, const uint8_t *rsp, size_t len,
               uint32_t *rc, char *why, size_t whylen);

/* Records that command c succeeded: advances the alternating values in st. */
void bcmd_done(enum bcmd c, struct bcmd_state *st);

/*
 * Reads the 10-byte response header in hdr (at least 10 bytes) and returns the size field,
 * or 0 when it is below 10 or above BCMD_MAX (the caller then stops reading).
 */
uint32_t bcmd_rsp_size(const uint8_t *hdr);

/*
 * Keys, sessions, NV indices, signing and attestation (the measurements of tpmbench's modes
 * primary_*, seal, salted, nv*, sign_*, rsa_decrypt, quote, encdec). Each builder writes one
 * command into buf (cap bytes) and returns its length, or 0 when it does not fit or an argument
 * is out of range. Every authorization is a password session (TPM_RS_PW) with the empty
 * authValue unless an auth argument says otherwise, except bcmd_pcr_extend_hmac. The owner
 * hierarchy, an empty owner authValue and SHA-256 everywhere.
 *
 * Each parser checks a whole response: it returns 0 only for TPM_RC_SUCCESS with the tag the
 * command's sessions call for, a header size equal to len, the handles and parameters the
 * command returns, nothing after them, and, behind a password session, a response session
 * with an empty HMAC. Otherwise -1, *rc (when not NULL) the response code or 0xFFFFFFFF, and
 * a sentence in why (whylen bytes, always terminated).
 */

/* The largest TPM2B the parsers keep (a TPM2B_PUBLIC or TPM2B_PRIVATE of the keys used here). */
#define BCMD_BLOB_MAX 1024
#define BCMD_NONCE 32          /* nonceCaller and nonceTPM: SHA-256 size */
#define BCMD_RSA_BYTES 256     /* RSA-2048 modulus, signature and ciphertext */
#define BCMD_ENC_BYTES 1024    /* EncryptDecrypt2 input of the encdec mode (TPM2B_MAX_BUFFER) */
#define BCMD_NV_BYTES 64       /* size of the ordinary NV index */
#define BCMD_NV_DATA 0x01500B00u    /* the ordinary index: OWNERREAD | OWNERWRITE, 64 bytes */
#define BCMD_NV_COUNTER 0x01500B01u /* the counter index: OWNERREAD | OWNERWRITE, TPM_NT_COUNTER */

/* The objects the benchmark creates: their TPMT_PUBLIC templates (Part 2 §12.2.4). */
enum bkey {
    BKEY_ECC_SRK,     /* ECC P-256 storage key: restricted decrypt, AES-128-CFB (tpm2 ecc256) */
    BKEY_RSA_SRK,     /* RSA-2048 storage key, the same attributes (tpm2-tools rsa2048) */
    BKEY_ECC_SIGN,    /* ECC P-256 signing key, unrestricted, scheme NULL */
    BKEY_RSA_SIGNDEC, /* RSA-2048 key for signing and decryption, unrestricted, scheme NULL */
    BKEY_ECC_AK,      /* ECC P-256 restricted signing key, ECDSA-SHA256 (an attestation key) */
    BKEY_AES,         /* AES-128 symmetric key, CFB, sign and decrypt (EncryptDecrypt2) */
    BKEY_SEALED,      /* sealed data object: keyedhash, scheme NULL, userWithAuth (a child) */
    BKEY_COUNT
};

/* A TPM2B's contents, without its size field. */
struct bblob {
    uint16_t len;
    uint8_t b[BCMD_BLOB_MAX];
};

/* The parts of a TPMT_PUBLIC the client needs. */
struct bpub {
    uint16_t type;                /* TPM_ALG_RSA, _ECC, _KEYEDHASH or _SYMCIPHER */
    uint32_t attrs;               /* TPMA_OBJECT */
    uint16_t curve;               /* ECC: TPM_ECC_CURVE */
    uint8_t x[32], y[32];         /* ECC: the public point (exactly 32 bytes each, P-256) */
    uint16_t nlen;                /* RSA: modulus size in bytes */
    uint8_t n[BCMD_RSA_BYTES];    /* RSA: modulus */
};

/* A TPMT_SIGNATURE of the schemes used here. */
struct bsig {
    uint16_t alg;                 /* TPM_ALG_ECDSA or TPM_ALG_RSASSA */
    uint16_t hash;                /* TPM_ALG_SHA256 */
    uint16_t rlen, slen;          /* ECDSA: r and s; RSASSA: the signature in r */
    uint8_t r[BCMD_RSA_BYTES], s[32];
};

/* An HMAC session as the caller sees it (Part 1 §19.6). */
struct bsess {
    uint32_t handle;
    uint8_t key[32];              /* sessionKey (Part 1 §19.6.8) */
    uint8_t nonce_caller[BCMD_NONCE];
    uint8_t nonce_tpm[BCMD_NONCE];
};

/* The signature scheme of bcmd_sign: ECDSA or RSASSA, both with SHA-256. */
#define BCMD_ALG_RSASSA 0x0014
#define BCMD_ALG_ECDSA 0x0018

/* The template of key k (TPMT_PUBLIC, no size field); unique (ulen bytes) fills its unique
 * field: the RSA modulus, the ECC x coordinate (y stays empty) or the keyedhash/symcipher
 * digest. Returns the length, or 0. */
size_t bcmd_template(enum bkey k, const uint8_t *unique, uint16_t ulen, uint8_t *buf,
                     size_t cap);

/* TPM2_CreatePrimary(owner, empty sensitive, template tmpl, no outsideInfo, no PCRs), §24.1 */
size_t bcmd_create_primary(uint8_t *buf, size_t cap, const uint8_t *tmpl, size_t tlen);
/* TPM2_Create(parent, sensitive {auth, data}, template, no outsideInfo, no PCRs), §12.1 */
size_t bcmd_create(uint8_t *buf, size_t cap, uint32_t parent, const uint8_t *tmpl, size_t tlen,
                   const uint8_t *auth, uint16_t alen, const uint8_t *data, uint16_t dlen);
/* TPM2_Load(parent, private, public), §12.2 */
size_t bcmd_load(uint8_t *buf, size_t cap, uint32_t parent, const struct bblob *priv,
                 const struct bblob *pub);
/* TPM2_Unseal(item, authorized with auth), §12.7 */
size_t bcmd_unseal(uint8_t *buf, size_t cap, uint32_t item, const uint8_t *auth, uint16_t alen);
/* TPM2_FlushContext(handle), §28.4 */
size_t bcmd_flush(uint8_t *buf, size_t cap, uint32_t handle);
/*
 * TPM2_StartAuthSession(tpmKey, bind TPM_RH_NULL, nonceCaller, encryptedSalt = the ECC point
 * (ex, ey), TPM_SE_HMAC, symmetric TPM_ALG_NULL, authHash SHA-256), §11.1
 */
size_t bcmd_start_auth_session(uint8_t *buf, size_t cap, uint32_t tpm_key,
                               const uint8_t nonce_caller[BCMD_NONCE], const uint8_t ex[32],
                               const uint8_t ey[32]);
/*
 * TPM2_PCR_Extend(pcr, one SHA-256 digest) authorized by HMAC session s with continueSession
 * (the PCR's authValue is empty): the command HMAC over cpHash, s->nonce_caller and
 * s->nonce_tpm (Part 1 §19.6.5). Returns 0 if libcrypto failed.
 */
size_t bcmd_pcr_extend_hmac(uint8_t *buf, size_t cap, const struct bsess *s, uint32_t pcr,
                            const uint8_t digest[32]);
/* TPM2_NV_DefineSpace(owner, empty auth, index, SHA-256, attrs, no policy, size), §31.3 */
size_t bcmd_nv_define(uint8_t *buf, size_t cap, uint32_t index, uint32_t attrs, uint16_t size);
/* TPM2_NV_UndefineSpace(owner, index), §31.4 */
size_t bcmd_nv_undefine(uint8_t *buf, size_t cap, uint32_t index);
/* TPM2_NV_Write(owner, index, data, offset 0), §31.7 */
size_t bcmd_nv_write(uint8_t *buf, size_t cap, uint32_t index, const uint8_t *data,
                     uint16_t len);
/* TPM2_NV_Read(owner, index, size, offset 0), §31.13 */
size_t bcmd_nv_read(uint8_t *buf, size_t cap, uint32_t index, uint16_t size);
/* TPM2_NV_Increment(owner, index), §31.8 */
size_t bcmd_nv_increment(uint8_t *buf, size_t cap, uint32_t index);
/* TPM2_Sign(key, SHA-256 digest, scheme (ECDSA or RSASSA) with SHA-256, NULL ticket), §20.2 */
size_t bcmd_sign(uint8_t *buf, size_t cap, uint32_t key, uint16_t scheme,
                 const uint8_t digest[32]);
/* TPM2_RSA_Decrypt(key, ciphertext, OAEP with SHA-256, empty label), §14.3 */
size_t bcmd_rsa_decrypt(uint8_t *buf, size_t cap, uint32_t key, const uint8_t *cipher,
                        uint16_t clen);
/* TPM2_Quote(key, qualifyingData, the key's scheme, SHA-256 PCRs 0-7), §18.4 */
size_t bcmd_quote(uint8_t *buf, size_t cap, uint32_t key, const uint8_t *qual, uint16_t qlen);
/* TPM2_EncryptDecrypt2(key, data, decrypt or encrypt, CFB, 16-byte iv), §15.3 */
size_t bcmd_encrypt_decrypt2(uint8_t *buf, size_t cap, uint32_t key, bool decrypt,
                             const uint8_t iv[16], const uint8_t *data, uint16_t len);

/* The response to a command with no response parameters (FlushContext: sessions false; the
 * NV and other authorized commands: a password session). what names the command. */
int bcmd_parse_empty(const uint8_t *rsp, size_t len, const char *what, bool sessions,
                     uint32_t *rc, char *why, size_t whylen);
/* CreatePrimary: the object's handle and the parts of its public area the client uses. */
int bcmd_parse_create_primary(const uint8_t *rsp, size_t len, uint32_t *handle,
                              struct bpub *pub, uint32_t *rc, char *why, size_t whylen);
/* Create: the new object's private and public areas, to give to Load. */
int bcmd_parse_create(const uint8_t *rsp, size_t len, struct bblob *priv, struct bblob *pub,
                      uint32_t *rc, char *why, size_t whylen);
/* Load: the object's handle. */
int bcmd_parse_load(const uint8_t *rsp, size_t len, uint32_t *handle, uint32_t *rc, char *why,
                    size_t whylen);
/* Unseal, NV_Read, RSA_Decrypt: the one TPM2B they return, into out. what names the command. */
int bcmd_parse_data(const uint8_t *rsp, size_t len, const char *what, struct bblob *out,
                    uint32_t *rc, char *why, size_t whylen);
/* StartAuthSession: the session handle (an HMAC session) and nonceTPM (32 bytes). */
int bcmd_parse_start_auth_session(const uint8_t *rsp, size_t len, uint32_t *handle,
                                  uint8_t nonce_tpm[BCMD_NONCE], uint32_t *rc, char *why,
                                  size_t whylen);
/*
 * PCR_Extend through HMAC session s: the response HMAC must verify (Part 1 §19.6.5 with rpHash
 * over TPM_RC_SUCCESS, the command code and no parameters) and continueSession be kept; on
 * success s->nonce_tpm becomes the TPM's new nonce.
 */
int bcmd_parse_pcr_extend_hmac(const uint8_t *rsp, size_t len, struct bsess *s, uint32_t *rc,
                               char *why, size_t whylen);
/* Sign: the signature, which must use scheme with SHA-256. */
int bcmd_parse_sign(const uint8_t *rsp, size_t len, uint16_t scheme, struct bsig *sig,
                    uint32_t *rc, char *why, size_t whylen);
/*
 * Quote: the TPMS_ATTEST bytes (in attest) and their ECDSA signature. The attestation must be a
 * TPM_GENERATED quote (Part 2 §10.12.12) carrying qual as extraData and the selection of
 * bcmd_quote with a SHA-256 digest.
 */
int bcmd_parse_quote(const uint8_t *rsp, size_t len, const uint8_t *qual, uint16_t qlen,
                     struct bblob *attest, struct bsig *sig, uint32_t *rc, char *why,
                     size_t whylen);
/* EncryptDecrypt2: outData (len bytes, the input's length) and a 16-byte ivOut. */
int bcmd_parse_encrypt_decrypt2(const uint8_t *rsp, size_t len, uint8_t *out, uint16_t out_len,
                                uint32_t *rc, char *why, size_t whylen);

/* TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES, prop, 1), Part 3 §30.2 */
size_t bcmd_get_property(uint8_t *buf, size_t cap, uint32_t prop);
/* Its response: the value of exactly that property. */
int bcmd_parse_property(const uint8_t *rsp, size_t len, uint32_t prop, uint32_t *value,
                        uint32_t *rc, char *why, size_t whylen);

/* TPM_PT_MAX_AUTH_FAIL (Part 2 §6.13): the maxTries that DictionaryAttackParameters sets. */
#define BCMD_PT_MAX_AUTH_FAIL 0x0000020F

/* The first maxTries that BCMD_DA_PARAMS sends from st (the others alternate from it). */
uint32_t bcmd_da_max_tries(const struct bcmd_state *st);

/* sessionKey = KDFa(SHA-256, salt, "ATH", nonceTPM, nonceCaller, 256) (Part 1 §19.6.8) for a
 * session with bind TPM_RH_NULL. 0, or -1 if libcrypto failed. */
int bcmd_session_key(struct bsess *s, const uint8_t salt[32]);

#endif

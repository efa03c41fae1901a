/*
 * Objects (Part 1 §15, §27; Part 2 §12): transient slots and persistent copies, names,
 * public-area validation, key generation, and the protection of private areas (Part 1 §23:
 * symmetric encryption with KDFa "STORAGE", integrity with KDFa "INTEGRITY").
 * Keys and sequence objects share one table and the handle range 0x80000000-0x80FFFFFF;
 * persistent objects live in struct tpm_pers (0x81000000-0x81FFFFFF).
 */
#ifndef VTPM_TPM_OBJECT_H
#define VTPM_TPM_OBJECT_H

#include "engine.h"

/* The loaded object with this transient handle, or NULL. */
struct object *object_find(struct tpm *t, TPM_HANDLE h);

/* The transient or persistent object with this handle, or NULL. */
struct object *object_get(struct tpm *t, TPM_HANDLE h);

/* A free slot with a fresh handle, or NULL (the caller answers TPM_RC_OBJECT_MEMORY). */
struct object *object_alloc(struct tpm *t, enum obj_kind kind);

/* Release a slot: frees running hashes and wipes secrets. */
void object_free(struct object *o);

/* Flush every loaded object (at _TPM_Init and after Clear for its hierarchy). */
void object_flush_all(struct tpm *t);

/* Flush the loaded objects of one hierarchy (HierarchyControl, Clear). */
void object_flush_hierarchy(struct tpm *t, TPM_HANDLE hierarchy);

/* Remove the persistent objects of one hierarchy (Clear: owner and endorsement). */
void object_evict_hierarchy(struct tpm *t, TPM_HANDLE hierarchy);
/*
 * Secret sharing (Part 1 §24): recover the seed that the caller encrypted to key h with the
 * given label ("SECRET" for salted sessions). RSA: OAEP with the label; ECC: ECDH then KDFe.
 * TPM_RC_KEY when h is not a decryption key, TPM_RC_VALUE/TPM_RC_SIZE/TPM_RC_ECC_POINT for a
 * malformed secret.
 */
TPM_RC object_decrypt_secret(struct tpm *t, TPM_HANDLE h, const char *label,
                             const uint8_t *secret, size_t len, uint8_t *out, size_t cap,
                             size_t *out_len) MUST_CHECK;

/* ContextSave / ContextLoad of a transient object (Part 3 §28.2-28.3). */
TPM_RC object_context_save(struct tpm *t, TPM_HANDLE h, TPMS_CONTEXT *out) MUST_CHECK;
TPM_RC object_context_load(struct tpm *t, const TPMS_CONTEXT *ctx, TPM_HANDLE *out) MUST_CHECK;

/* Number of loaded objects (TPM_PT_HR_TRANSIENT_AVAIL and friends). */
unsigned object_count(const struct tpm *t);
/* Number of persistent objects, and of those in a handle range (owner 0x8100-0x817F...). */
unsigned object_persistent_count(const struct tpm *t);

/* Part 1 §16: Name = nameAlg || H_nameAlg(TPMT_PUBLIC). TPM_RC_HASH when nameAlg is NULL. */
TPM_RC object_name(const TPMT_PUBLIC *pub, TPM2B_NAME *name) MUST_CHECK;
/* Part 1 §16: QN = nameAlg || H_nameAlg(QN_parent || Name). */
TPM_RC object_qname(TPM_ALG_ID alg, const TPM2B_NAME *parent_qn, const TPM2B_NAME *name,
                    TPM2B_NAME *qn) MUST_CHECK;

/* Is o a storage parent (restricted decrypt, not sign, asymmetric or symmetric)? */
bool object_is_storage(const struct object *o);
/* Is o a derivation parent (keyedHash, restricted decrypt, not sign; Part 1 §27.1)? */
bool object_is_derivation(const struct object *o);

/*
 * Part 3 §12.1 / Part 1 §27.2 checks of a public area for an object the TPM creates,
 * loads or imports. parent is the parent object, NULL for a hierarchy (primary keys).
 * Codes are bare (the caller numbers the parameter): TPM_RC_ATTRIBUTES, _HASH, _SIZE,
 * _SYMMETRIC, _SCHEME, _KDF, _TYPE, _VALUE, _KEY_SIZE.
 */
TPM_RC object_check_public(const TPMT_PUBLIC *pub, const struct object *parent) MUST_CHECK;

/* Part 3 §12.1: checks of TPM2B_SENSITIVE_CREATE against a template (sizes, data rules). */
TPM_RC object_check_create(const TPMT_PUBLIC *pub, const TPMS_SENSITIVE_CREATE *sc) MUST_CHECK;

/*
 * A source of key material: random (ordinary objects) or derived (primary keys, derived
 * keys). derive: out = KDFa(alg, key, label, [counter]32, context, bits), counter counting
 * the draws of one object from 1.
 */
struct keysrc {
    bool derive;
    TPM_ALG_ID alg;
    const uint8_t *key;
    size_t keylen;
    const uint8_t *context;
    size_t ctxlen;
    uint32_t counter;
};
TPM_RC keysrc_draw(struct keysrc *s, const char *label, uint8_t *out, size_t len) MUST_CHECK;

/*
 * Fill sens and pub->unique for a new object of template pub with sensitive creation data
 * sc: generates the key (RSA, ECC, HMAC or AES) or takes the data, and the seed value of
 * parents and the obfuscation value of symmetric objects (Part 1 §27.7).
 */
TPM_RC object_generate(TPMT_PUBLIC *pub, TPMT_SENSITIVE *sens, const TPMS_SENSITIVE_CREATE *sc,
                       struct keysrc *src) MUST_CHECK;

/* Do pub and sens belong together (same type, key sizes, the private key matches unique)?
 * TPM_RC_TYPE, TPM_RC_KEY_SIZE, TPM_RC_BINDING. */
TPM_RC object_check_binding(const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *sens) MUST_CHECK;

/*
 * Part 1 §23 protection of a sensitive area under a storage parent: encrypt the marshaled
 * TPM2B_SENSITIVE with AES-CFB (key KDFa(parentNameAlg, seed, "STORAGE", name), zero IV) and
 * prefix an HMAC (key KDFa(..., "INTEGRITY")) over ciphertext || name. seed is the parent's
 * seedValue (or the duplication seed for outer wrappers), with nameAlg alg and the parent's
 * symmetric definition sym.
 */
TPM_RC object_wrap(TPM_ALG_ID alg, const TPMT_SYM_DEF_OBJECT *sym, const uint8_t *seed,
                   size_t seedlen, const TPM2B_NAME *name, const uint8_t *plain, size_t plen,
                   TPM2B_PRIVATE *out) MUST_CHECK;
/* The inverse: TPM_RC_INTEGRITY when the HMAC does not verify (or the sizes are wrong). */
TPM_RC object_unwrap(TPM_ALG_ID alg, const TPMT_SYM_DEF_OBJECT *sym, const uint8_t *seed,
                     size_t seedlen, const TPM2B_NAME *name, const uint8_t *blob, size_t blen,
                     uint8_t *plain, size_t cap, size_t *plen) MUST_CHECK;

/* Protect sens of an object named name under parent (a storage key) into TPM2B_PRIVATE. */
TPM_RC object_protect(const struct object *parent, const TPM2B_NAME *name,
                      const TPMT_SENSITIVE *sens, TPM2B_PRIVATE *out) MUST_CHECK;
/* Unprotect and unmarshal: TPM_RC_INTEGRITY, TPM_RC_SENSITIVE. */
TPM_RC object_unprotect(const struct object *parent, const TPM2B_NAME *name,
                        const TPM2B_PRIVATE *in, TPMT_SENSITIVE *sens) MUST_CHECK;

/* Fill a new slot from parts; computes name and qualified name. */
TPM_RC object_install(struct object *o, TPM_HANDLE hierarchy, const TPM2B_NAME *parent_qn,
                      const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *sens, uint8_t flags)
    MUST_CHECK;

#endif

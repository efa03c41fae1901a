/*
 * Signing with loaded keys (Part 1 Annex C and §11.4.6; Part 3 §20): choosing the scheme,
 * signing a digest, verifying a signature. Used by TPM2_Sign and TPM2_VerifySignature (sign.c),
 * the attestation commands (attest.c) and TPM2_PolicySigned (policy.c).
 */
#ifndef VTPM_TPM_SIGN_H
#define VTPM_TPM_SIGN_H

#include "crypto_asym.h"
#include "engine.h"

/* Part 3 §18.1 (IsSigningObject): a key with sign set that is not a symmetric cipher. */
bool sign_is_signing_key(const struct object *o);

/* Has o a private part (not loaded public-only)? */
bool sign_has_private(const struct object *o);

/*
 * Part 3 §20.2 / §18 scheme selection: with o NULL the NULL scheme; a key without a scheme
 * takes the caller's (which may not be NULL); a key with one takes it when the caller says
 * NULL (unless it is ECDAA, whose commit count only the caller knows), else the two must have
 * the same scheme and hash. false: TPM_RC_SCHEME for the caller to number.
 */
bool sign_select_scheme(const struct object *o, TPMT_SIG_SCHEME *scheme);

/*
 * Sign digest with key o under a selected scheme. TPM_RC_SCHEME when the scheme is not one
 * of o's type (RSA: RSASSA, RSAPSS; ECC: ECDSA, ECSCHNORR, ECDAA; keyed hash: HMAC),
 * TPM_RC_VALUE when an RSA digest is not of the scheme's hash size or an ECDAA commit count
 * is not outstanding, TPM_RC_FAILURE when the cryptography fails. A NULL scheme gives the
 * NULL signature.
 */
TPM_RC sign_digest(struct tpm *t, const struct object *o, const TPMT_SIG_SCHEME *scheme,
                   const uint8_t *digest, size_t dlen, TPMT_SIGNATURE *sig) MUST_CHECK;

/*
 * Verify sig over digest with key o (Part 3 §20.1, CryptValidateSignature): TPM_RC_SCHEME
 * when the signature's scheme is not one this key type can verify, TPM_RC_HANDLE for an HMAC
 * key loaded without its private part, TPM_RC_SIGNATURE when it does not verify.
 */
TPM_RC sign_verify(struct tpm *t, const struct object *o, const uint8_t *digest, size_t dlen,
                   const TPMT_SIGNATURE *sig) MUST_CHECK;

/* The key material of an RSA or ECC object as crypto_asym takes it (private when loaded),
 * with the engine's built copy of it when t is given (the key cache, engine.h). */
void sign_rsa_key(struct tpm *t, const struct object *o, struct crypto_rsa_key *k);
void sign_ecc_key(struct tpm *t, const struct object *o, struct crypto_ecc_key *k);

/* Drop every built key (their secrets cleared): _TPM_Init, tpm_free. */
void sign_cache_clear(struct tpm *t);

#endif

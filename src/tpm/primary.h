/*
 * Primary keys (Part 1 §27.8 "Primary objects", Part 3 §24.1 CreatePrimary): derived from a
 * hierarchy's primary seed and the template, so that the same seed, template and sensitive
 * data give the same key every time, and a cache that makes a repeated derivation fast.
 */
#ifndef VTPM_TPM_PRIMARY_H
#define VTPM_TPM_PRIMARY_H

#include "engine.h"

/* The primary seed of a hierarchy (owner: SPS, endorsement: EPS, platform: PPS, null). */
const uint8_t *primary_seed(const struct tpm *t, TPM_HANDLE hierarchy);

/*
 * Derive the primary object of template pub (its unique field included) and the sensitive
 * data of sc under hierarchy's seed:
 *
 *   K = KDFa(nameAlg, seed, "Primary Object Creation", Name(template), sc->data, 8*|H|)
 *   draw_k(label, bits) = KDFa(nameAlg, K, label, [k]32, "", bits), k = 1, 2, ...
 *
 * draws in order: "SEED" (parents, keyed-hash and symmetric objects), then "ECC" (orderBytes
 * + 8 bytes, d = r mod (n-1) + 1), "RSA" (one candidate per draw, see crypto_rsa_generate),
 * "KEYEDHASH" or "SYMCIPHER". Fills pub->unique and sens (authValue left empty). Consults and
 * fills t's cache; use_cache false bypasses it (tests prove the results are the same).
 */
TPM_RC primary_derive(struct tpm *t, TPM_HANDLE hierarchy, TPMT_PUBLIC *pub,
                      const TPMS_SENSITIVE_CREATE *sc, TPMT_SENSITIVE *sens, bool use_cache)
    MUST_CHECK;

/* Forget every cached primary key (seed changes; wipes the entries). */
void primary_cache_clear(struct tpm *t);

#endif

/*
 * The algorithms this engine implements (Part 2 §6.3) and what it knows of each hash.
 *
 * One table decides what GetCapability(TPM_CAP_ALGS) reports, what TestParms accepts and
 * which algorithm identifiers the unmarshalers let through: an algorithm is listed here
 * only when the engine really does it.
 */
#ifndef VTPM_TPM_ALG_H
#define VTPM_TPM_ALG_H

#include <stdbool.h>
#include <stddef.h>

#include "tpm_consts.h"

struct hash_info {
    TPM_ALG_ID alg;
    uint16_t size;   /* digest bytes */
    uint16_t block;  /* block bytes, for HMAC */
    unsigned bank;   /* index of its PCR bank, 0..HASH_COUNT-1 */
    const char *ossl; /* OpenSSL digest name */
};

/* The implemented hash algorithms, in PCR bank order (sha1, sha256, sha384, sha512). */
extern const struct hash_info hash_table[HASH_COUNT];

/* NULL when alg is not an implemented hash. */
const struct hash_info *hash_info(TPM_ALG_ID alg);

/* Digest size of alg, or 0 when alg is not an implemented hash (TPM_ALG_NULL included). */
uint16_t hash_size(TPM_ALG_ID alg);

struct alg_entry {
    TPM_ALG_ID alg;
    TPMA_ALGORITHM attributes; /* Part 2 §8.2 */
};

extern const struct alg_entry alg_table[];
extern const size_t alg_table_len;

bool alg_implemented(TPM_ALG_ID alg);



/* Key sizes and curves the engine implements (TPMI_RSA_KEY_BITS, TPMI_ECC_CURVE,
 * TPMI_AES_KEY_BITS); each false while its algorithm is not in alg_table. */
bool alg_rsa_bits_ok(uint16_t bits);
bool alg_ecc_curve_ok(TPM_ECC_CURVE curve);
bool alg_sym_bits_ok(TPM_ALG_ID alg, uint16_t bits);
/* Is alg one of the members of a TPMI_ALG_ set and implemented? */
bool alg_in(TPM_ALG_ID alg, const TPM_ALG_ID *set, size_t n);
#define ALG_IN(alg, ...)                                                                     \
    alg_in((alg), (const TPM_ALG_ID[]){__VA_ARGS__},                                         \
           sizeof((const TPM_ALG_ID[]){__VA_ARGS__}) / sizeof(TPM_ALG_ID))
#endif

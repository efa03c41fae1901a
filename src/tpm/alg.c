/* The implemented algorithms (see alg.h); attributes as Part 2 §8.2 and Part 2 Table 9. */
#include "alg.h"

const struct hash_info hash_table[HASH_COUNT] = {
    {TPM_ALG_SHA1, 20, 64, 0, "SHA1"},
    {TPM_ALG_SHA256, 32, 64, 1, "SHA256"},
    {TPM_ALG_SHA384, 48, 128, 2, "SHA384"},
    {TPM_ALG_SHA512, 64, 128, 3, "SHA512"},
};

const struct hash_info *hash_info(TPM_ALG_ID alg)
{
    for (size_t i = 0; i < HASH_COUNT; i++) {
        if (hash_table[i].alg == alg) {
            return &hash_table[i];
        }
    }
    return NULL;
}

uint16_t hash_size(TPM_ALG_ID alg)
{
    const struct hash_info *h = hash_info(alg);
    return h ? h->size : 0;
}

#define A_ASYM TPMA_ALGORITHM_ASYMMETRIC
#define A_SYM TPMA_ALGORITHM_SYMMETRIC
#define A_HASH TPMA_ALGORITHM_HASH
#define A_OBJ TPMA_ALGORITHM_OBJECT
#define A_SIGN TPMA_ALGORITHM_SIGNING
#define A_ENC TPMA_ALGORITHM_ENCRYPTING
#define A_METH TPMA_ALGORITHM_METHOD

/* Sorted by identifier, as GetCapability reports them. */
const struct alg_entry alg_table[] = {
    {TPM_ALG_RSA, A_ASYM | A_OBJ},
    {TPM_ALG_SHA1, A_HASH},
    {TPM_ALG_HMAC, A_HASH | A_SIGN},
    {TPM_ALG_AES, A_SYM},
    {TPM_ALG_MGF1, A_HASH | A_METH},
    {TPM_ALG_KEYEDHASH, A_HASH | A_OBJ},
    {TPM_ALG_XOR, A_HASH | A_SYM},
    {TPM_ALG_SHA256, A_HASH},
    {TPM_ALG_SHA384, A_HASH},
    {TPM_ALG_SHA512, A_HASH},
    {TPM_ALG_RSASSA, A_ASYM | A_SIGN},
    {TPM_ALG_RSAPSS, A_ASYM | A_SIGN},
    {TPM_ALG_OAEP, A_ASYM | A_ENC},
    {TPM_ALG_ECDSA, A_ASYM | A_SIGN},
    {TPM_ALG_ECDH, A_ASYM | A_METH},
    {TPM_ALG_KDF1_SP800_56A, A_HASH | A_METH},
    {TPM_ALG_KDF1_SP800_108, A_HASH | A_METH},
    {TPM_ALG_ECC, A_ASYM | A_OBJ},
    {TPM_ALG_SYMCIPHER, A_OBJ},
    {TPM_ALG_CFB, A_SYM | A_ENC},
};

const size_t alg_table_len = sizeof(alg_table) / sizeof(alg_table[0]);

bool alg_implemented(TPM_ALG_ID alg)
{
    for (size_t i = 0; i < alg_table_len; i++) {
        if (alg_table[i].alg == alg) {
            return true;
        }
    }
    return false;
}

bool alg_rsa_bits_ok(uint16_t bits)
{
    return alg_implemented(TPM_ALG_RSA) && (bits == 1024 || bits == 2048 || bits == 3072);
}

bool alg_ecc_curve_ok(TPM_ECC_CURVE curve)
{
    return alg_implemented(TPM_ALG_ECC) &&
           (curve == TPM_ECC_NIST_P256 || curve == TPM_ECC_NIST_P384 ||
            curve == TPM_ECC_NIST_P521);
}

bool alg_sym_bits_ok(TPM_ALG_ID alg, uint16_t bits)
{
    return alg == TPM_ALG_AES && alg_implemented(TPM_ALG_AES) &&
           (bits == 128 || bits == 192 || bits == 256);
}

bool alg_in(TPM_ALG_ID alg, const TPM_ALG_ID *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (set[i] == alg) {
            return alg_implemented(alg);
        }
    }
    return false;
}

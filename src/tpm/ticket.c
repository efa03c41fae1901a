/* Tickets (see ticket.h). */
#include "ticket.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "hierarchy.h"

void ticket_null(TPM_ST tag, TPMT_TK *out)
{
    memset(out, 0, sizeof(*out));
    out->tag = tag;
    out->hierarchy = TPM_RH_NULL;
}

TPM_RC ticket_hashcheck(struct tpm *t, TPM_HANDLE hierarchy, TPM_ALG_ID alg,
                        const uint8_t *digest, TPMT_TK *out)
{
    struct hmac_state m;
    if (hierarchy == TPM_RH_NULL) {
        ticket_null(TPM_ST_HASHCHECK, out);
        return TPM_RC_SUCCESS;
    }
    out->tag = TPM_ST_HASHCHECK;
    out->hierarchy = hierarchy;
    CHECK(hmac_begin(&m, alg, hier_proof(t, hierarchy), PROOF_BYTES), TPM_RC_FAILURE);
    uint8_t tag[2] = {TPM_ST_HASHCHECK >> 8, TPM_ST_HASHCHECK & 0xFF};
    hmac_update(&m, tag, 2);
    hmac_update(&m, digest, hash_size(alg));
    CHECK(hmac_end(&m, out->digest.buffer), TPM_RC_FAILURE);
    out->digest.size = hash_size(alg);
    return TPM_RC_SUCCESS;
}

/* HMAC_alg(proof(hierarchy), tag || a || b) into out (hash_size(alg) bytes). */
static bool ticket_mac(struct tpm *t, TPM_HANDLE hierarchy, TPM_ST tag, TPM_ALG_ID alg,
                       const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                       uint8_t *out)
{
    struct hmac_state m;
    uint8_t tb[2] = {(uint8_t)(tag >> 8), (uint8_t)tag};
    if (!hmac_begin(&m, alg, hier_proof(t, hierarchy), PROOF_BYTES)) {
        return false;
    }
    hmac_update(&m, tb, 2);
    hmac_update(&m, a, alen);
    hmac_update(&m, b, blen);
    return hmac_end(&m, out);
}

bool ticket_hashcheck_ok(struct tpm *t, const TPMT_TK *tk, TPM_ALG_ID alg, const uint8_t *digest,
                         size_t dlen)
{
    uint8_t mac[MAX_DIGEST_SIZE];
    uint16_t n = hash_size(alg);
    if (n == 0 || tk->tag != TPM_ST_HASHCHECK || tk->hierarchy == TPM_RH_NULL ||
        tk->digest.size != n) {
        return false;
    }
    return ticket_mac(t, tk->hierarchy, TPM_ST_HASHCHECK, alg, digest, dlen, NULL, 0, mac) &&
           secret_eq(mac, tk->digest.buffer, n);
}

TPM_RC ticket_verified(struct tpm *t, TPM_HANDLE hierarchy, TPM_ALG_ID alg,
                       const uint8_t *digest, size_t dlen, const TPM2B_NAME *key_name,
                       TPMT_TK *out)
{
    if (hierarchy == TPM_RH_NULL) {
        ticket_null(TPM_ST_VERIFIED, out);
        return TPM_RC_SUCCESS;
    }
    out->tag = TPM_ST_VERIFIED;
    out->hierarchy = hierarchy;
    CHECK(ticket_mac(t, hierarchy, TPM_ST_VERIFIED, alg, digest, dlen, key_name->buffer,
                     key_name->size, out->digest.buffer),
          TPM_RC_FAILURE);
    out->digest.size = hash_size(alg);
    return TPM_RC_SUCCESS;
}

bool ticket_creation_ok(struct tpm *t, const TPMT_TK *tk, TPM_ALG_ID alg, const TPM2B_NAME *name,
                        const TPM2B_DIGEST *creation_hash)
{
    uint8_t mac[MAX_DIGEST_SIZE];
    uint16_t n = hash_size(alg);
    if (n == 0 || tk->tag != TPM_ST_CREATION || tk->digest.size != n) {
        return false;
    }
    return ticket_mac(t, tk->hierarchy, TPM_ST_CREATION, alg, name->buffer, name->size,
                      creation_hash->buffer, creation_hash->size, mac) &&
           secret_eq(mac, tk->digest.buffer, n);
}

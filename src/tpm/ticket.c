/* Tickets (see ticket.h). */
#include "ticket.h"

#include <string.h>

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

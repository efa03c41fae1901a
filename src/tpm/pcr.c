/*
 * PCR commands: Part 3 §22.2 PCR_Extend, §22.3 PCR_Event, §22.4 PCR_Read, §22.5 PCR_Allocate,
 * §22.8 PCR_Reset. Attributes from the PC Client Platform TPM Profile PCR table.
 */
#include "pcr.h"

#include <string.h>

#include "alg.h"
#include "cmd.h"

/* Locality masks: bit n set = locality n allowed. */
struct pcr_attr {
    bool save;
    uint8_t reset; /* PCR_Reset allowed from */
    uint8_t extend; /* PCR_Extend allowed from */
    bool drtm;      /* reset by _TPM_Hash_Start; all ones after a TPM Reset */
    bool no_increment; /* does not move pcrUpdateCounter */
};

/* save, reset localities, extend localities, DRTM, no-increment */
static const struct pcr_attr pcr_attrs[IMPLEMENTATION_PCR] = {
    {true, 0x00, 0x1F, false, false}, /* 0 */
    {true, 0x00, 0x1F, false, false}, /* 1 */
    {true, 0x00, 0x1F, false, false}, /* 2 */
    {true, 0x00, 0x1F, false, false}, /* 3 */
    {true, 0x00, 0x1F, false, false}, /* 4 */
    {true, 0x00, 0x1F, false, false}, /* 5 */
    {true, 0x00, 0x1F, false, false}, /* 6 */
    {true, 0x00, 0x1F, false, false}, /* 7 */
    {true, 0x00, 0x1F, false, false}, /* 8 */
    {true, 0x00, 0x1F, false, false}, /* 9 */
    {true, 0x00, 0x1F, false, false}, /* 10 */
    {true, 0x00, 0x1F, false, false}, /* 11 */
    {true, 0x00, 0x1F, false, false}, /* 12 */
    {true, 0x00, 0x1F, false, false}, /* 13 */
    {true, 0x00, 0x1F, false, false}, /* 14 */
    {true, 0x00, 0x1F, false, false}, /* 15 */
    {false, 0x1F, 0x1F, false, true}, /* 16 */
    {false, 0x10, 0x1C, true, false}, /* 17 */
    {false, 0x10, 0x1C, true, false}, /* 18 */
    {false, 0x10, 0x1C, true, false}, /* 19 */
    {false, 0x14, 0x0E, true, false}, /* 20 */
    {false, 0x14, 0x04, true, true}, /* 21 */
    {false, 0x14, 0x04, true, true}, /* 22 */
    {false, 0x1F, 0x1F, false, true}, /* 23 */
};

bool pcr_active(const struct tpm *t, unsigned bank, unsigned i)
{
    return bank < HASH_COUNT && i < IMPLEMENTATION_PCR && (t->sr.pcr_active[bank] >> i) & 1;
}

static void pcr_init_one(struct tpm *t, unsigned i)
{
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        memset(t->sc.pcr[b][i], pcr_attrs[i].drtm ? 0xFF : 0x00, MAX_DIGEST_SIZE);
    }
}

void pcr_init_values(struct tpm *t)
{
    for (unsigned i = 0; i < IMPLEMENTATION_PCR; i++) {
        pcr_init_one(t, i);
    }
    t->sc.pcr_update_counter = 0;
}

void pcr_resume(struct tpm *t, const struct tpm_stclear *saved)
{
    for (unsigned i = 0; i < IMPLEMENTATION_PCR; i++) {
        if (pcr_attrs[i].save) {
            for (unsigned b = 0; b < HASH_COUNT; b++) {
                memcpy(t->sc.pcr[b][i], saved->pcr[b][i], MAX_DIGEST_SIZE);
            }
        } else {
            pcr_init_one(t, i);
        }
    }
    t->sc.pcr_update_counter = saved->pcr_update_counter;
}

void pcr_changed(struct tpm *t, unsigned i)
{
    if (!pcr_attrs[i].no_increment) {
        t->sc.pcr_update_counter++;
    }
}

void pcr_extend(struct tpm *t, unsigned bank, unsigned i, const uint8_t *digest)
{
    const struct hash_info *h = &hash_table[bank];
    struct hash_state s;
    uint8_t *v = t->sc.pcr[bank][i];
    /* PCR_new = H(PCR_old || digest) (Part 1 §17.2); a hash failure is an invariant break. */
    if (!hash_begin(&s, h->alg)) {
        (void)tpm_fail(t, TPM_RC_FAILURE);
        return;
    }
    hash_update(&s, v, h->size);
    hash_update(&s, digest, h->size);
    if (!hash_end(&s, v)) {
        (void)tpm_fail(t, TPM_RC_FAILURE);
    }
}

TPM_RC pcr_check_extend(unsigned i, unsigned locality)
{
    CHECK(i < IMPLEMENTATION_PCR && locality <= 4, TPM_RC_LOCALITY);
    CHECK((pcr_attrs[i].extend >> locality) & 1, TPM_RC_LOCALITY);
    return TPM_RC_SUCCESS;
}

TPM_RC pcr_check_reset(unsigned i, unsigned locality)
{
    CHECK(i < IMPLEMENTATION_PCR && locality <= 4, TPM_RC_LOCALITY);
    CHECK((pcr_attrs[i].reset >> locality) & 1, TPM_RC_LOCALITY);
    return TPM_RC_SUCCESS;
}

bool pcr_property(TPM_PT_PCR tag, uint8_t select[PCR_SELECT_MAX])
{
    memset(select, 0, PCR_SELECT_MAX);
    for (unsigned i = 0; i < IMPLEMENTATION_PCR; i++) {
        const struct pcr_attr *a = &pcr_attrs[i];
        bool set;
        switch (tag) {
        case TPM_PT_PCR_SAVE:
            set = a->save;
            break;
        case TPM_PT_PCR_EXTEND_L0:
        case TPM_PT_PCR_EXTEND_L1:
        case TPM_PT_PCR_EXTEND_L2:
        case TPM_PT_PCR_EXTEND_L3:
        case TPM_PT_PCR_EXTEND_L4:
            set = (a->extend >> ((tag - TPM_PT_PCR_EXTEND_L0) / 2)) & 1;
            break;
        case TPM_PT_PCR_RESET_L0:
        case TPM_PT_PCR_RESET_L1:
        case TPM_PT_PCR_RESET_L2:
        case TPM_PT_PCR_RESET_L3:
        case TPM_PT_PCR_RESET_L4:
            set = (a->reset >> ((tag - TPM_PT_PCR_RESET_L0) / 2)) & 1;
            break;
        case TPM_PT_PCR_NO_INCREMENT:
            set = a->no_increment;
            break;
        case TPM_PT_PCR_DRTM_RESET:
            set = a->drtm;
            break;
        case TPM_PT_PCR_POLICY:
        case TPM_PT_PCR_AUTH:
            set = false; /* no PCR authorization groups in this profile */
            break;
        default:
            return false;
        }
        if (set) {
            select[i / 8] |= (uint8_t)(1u << (i % 8));
        }
    }
    return true;
}

TPM_RC pcr_digest(struct tpm *t, TPM_ALG_ID alg, const TPML_PCR_SELECTION *sel,
                  TPM2B_DIGEST *out)
{
    struct hash_state s;
    CHECK(hash_begin(&s, alg), TPM_RC_HASH);
    for (uint32_t k = 0; k < sel->count; k++) {
        const TPMS_PCR_SELECTION *ps = &sel->pcrSelections[k];
        const struct hash_info *h = hash_info(ps->hash);
        for (unsigned i = 0; i < (unsigned)ps->sizeofSelect * 8 && i < IMPLEMENTATION_PCR; i++) {
            if ((ps->pcrSelect[i / 8] >> (i % 8)) & 1 && pcr_active(t, h->bank, i)) {
                hash_update(&s, t->sc.pcr[h->bank][i], h->size);
            }
        }
    }
    out->size = hash_size(alg);
    CHECK(hash_end(&s, out->buffer), TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

void pcr_drtm(struct tpm *t, const uint8_t digests[HASH_COUNT][MAX_DIGEST_SIZE])
{
    for (unsigned i = 17; i <= 22; i++) {
        for (unsigned b = 0; b < HASH_COUNT; b++) {
            memset(t->sc.pcr[b][i], 0, MAX_DIGEST_SIZE);
        }
    }
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        if (pcr_active(t, b, 17)) {
            pcr_extend(t, b, 17, digests[b]);
        }
    }
    pcr_changed(t, 17);
}

/* ---- Part 3 §22.2 TPM2_PCR_Extend ---- */

struct in_PCR_Extend {
    TPML_DIGEST_VALUES digests;
};

static TPM_RC parse_PCR_Extend(struct rd *r, struct in_PCR_Extend *in)
{
    PARAM(1, rd_TPML_DIGEST_VALUES(r, &in->digests));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PCR_Extend(struct tpm *t, struct cmd *c, const struct in_PCR_Extend *in,
                            struct out_none *out)
{
    (void)out;
    TPM_HANDLE pcr = c->handles[0];
    if (pcr == TPM_RH_NULL) {
        return TPM_RC_SUCCESS;
    }
    TRY(pcr_check_extend(pcr, c->locality));
    /* Digests for banks that are implemented but not allocated are ignored, as firmware
     * sends one per implemented bank (reference/client-coverage.md). */
    for (uint32_t k = 0; k < in->digests.count; k++) {
        const struct hash_info *h = hash_info(in->digests.digests[k].hashAlg);
        if (pcr_active(t, h->bank, pcr)) {
            pcr_extend(t, h->bank, pcr, in->digests.digests[k].digest);
        }
    }
    pcr_changed(t, pcr);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PCR_Extend);

/* ---- Part 3 §22.3 TPM2_PCR_Event ---- */

struct in_PCR_Event {
    TPM2B_EVENT eventData;
};

struct out_PCR_Event {
    TPML_DIGEST_VALUES digests;
};

static TPM_RC parse_PCR_Event(struct rd *r, struct in_PCR_Event *in)
{
    PARAM(1, RD_TPM2B(r, &in->eventData));
    return TPM_RC_SUCCESS;
}

static void emit_PCR_Event(struct wr *w, const struct out_PCR_Event *out)
{
    wr_TPML_DIGEST_VALUES(w, &out->digests);
}

static TPM_RC cc_PCR_Event(struct tpm *t, struct cmd *c, const struct in_PCR_Event *in,
                           struct out_PCR_Event *out)
{
    TPM_HANDLE pcr = c->handles[0];
    if (pcr != TPM_RH_NULL) {
        TRY(pcr_check_extend(pcr, c->locality));
    }
    /* One digest per implemented hash, extended into the banks where the PCR is allocated. */
    out->digests.count = HASH_COUNT;
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        TPMT_HA *d = &out->digests.digests[b];
        d->hashAlg = hash_table[b].alg;
        CHECK(crypto_hash(d->hashAlg, in->eventData.buffer, in->eventData.size, d->digest),
              TPM_RC_FAILURE);
        if (pcr != TPM_RH_NULL && pcr_active(t, b, pcr)) {
            pcr_extend(t, b, pcr, d->digest);
        }
    }
    if (pcr != TPM_RH_NULL) {
        pcr_changed(t, pcr);
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS(PCR_Event);

/* ---- Part 3 §22.4 TPM2_PCR_Read ---- */

struct in_PCR_Read {
    TPML_PCR_SELECTION pcrSelectionIn;
};

struct out_PCR_Read {
    uint32_t pcrUpdateCounter;
    TPML_PCR_SELECTION pcrSelectionOut;
    TPML_DIGEST pcrValues;
};

static TPM_RC parse_PCR_Read(struct rd *r, struct in_PCR_Read *in)
{
    PARAM(1, rd_TPML_PCR_SELECTION(r, &in->pcrSelectionIn));
    return TPM_RC_SUCCESS;
}

static void emit_PCR_Read(struct wr *w, const struct out_PCR_Read *out)
{
    wr_u32(w, out->pcrUpdateCounter);
    wr_TPML_PCR_SELECTION(w, &out->pcrSelectionOut);
    wr_TPML_DIGEST(w, &out->pcrValues);
}

static TPM_RC cc_PCR_Read(struct tpm *t, struct cmd *c, const struct in_PCR_Read *in,
                          struct out_PCR_Read *out)
{
    (void)c;
    out->pcrUpdateCounter = t->sc.pcr_update_counter;
    out->pcrSelectionOut = in->pcrSelectionIn;
    /* Walk the selection in order; a PCR that is not allocated or does not fit in the
     * eight digests of the answer has its bit cleared in pcrSelectionOut. */
    for (uint32_t k = 0; k < in->pcrSelectionIn.count; k++) {
        TPMS_PCR_SELECTION *ps = &out->pcrSelectionOut.pcrSelections[k];
        const struct hash_info *h = hash_info(ps->hash);
        for (unsigned i = 0; i < (unsigned)ps->sizeofSelect * 8; i++) {
            uint8_t bit = (uint8_t)(1u << (i % 8));
            if (!(ps->pcrSelect[i / 8] & bit)) {
                continue;
            }
            if (!pcr_active(t, h->bank, i) || out->pcrValues.count == MAX_PCR_DIGESTS) {
                ps->pcrSelect[i / 8] &= (uint8_t)~bit;
                continue;
            }
            TPM2B_DIGEST *d = &out->pcrValues.digests[out->pcrValues.count++];
            d->size = h->size;
            memcpy(d->buffer, t->sc.pcr[h->bank][i], h->size);
        }
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS(PCR_Read);

/* ---- Part 3 §22.5 TPM2_PCR_Allocate ---- */

struct in_PCR_Allocate {
    TPML_PCR_SELECTION pcrAllocation;
};

struct out_PCR_Allocate {
    TPMI_YES_NO allocationSuccess;
    uint32_t maxPCR;
    uint32_t sizeNeeded;
    uint32_t sizeAvailable;
};

static TPM_RC parse_PCR_Allocate(struct rd *r, struct in_PCR_Allocate *in)
{
    PARAM(1, rd_TPML_PCR_SELECTION(r, &in->pcrAllocation));
    return TPM_RC_SUCCESS;
}

static void emit_PCR_Allocate(struct wr *w, const struct out_PCR_Allocate *out)
{
    wr_u8(w, out->allocationSuccess);
    wr_u32(w, out->maxPCR);
    wr_u32(w, out->sizeNeeded);
    wr_u32(w, out->sizeAvailable);
}

static TPM_RC cc_PCR_Allocate(struct tpm *t, struct cmd *c, const struct in_PCR_Allocate *in,
                              struct out_PCR_Allocate *out)
{
    (void)c;
    uint32_t alloc[HASH_COUNT];
    /* Banks not named keep their allocation (Part 3 §22.5.1). */
    memcpy(alloc, t->p.pcr_alloc, sizeof(alloc));
    for (uint32_t k = 0; k < in->pcrAllocation.count; k++) {
        const TPMS_PCR_SELECTION *ps = &in->pcrAllocation.pcrSelections[k];
        uint32_t mask = 0;
        for (unsigned j = 0; j < ps->sizeofSelect; j++) {
            mask |= (uint32_t)ps->pcrSelect[j] << (8 * j);
        }
        CHECK(mask >> IMPLEMENTATION_PCR == 0, RC_P(TPM_RC_VALUE, 1));
        alloc[hash_info(ps->hash)->bank] = mask;
    }
    uint32_t needed = 0;
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        needed += (uint32_t)__builtin_popcount(alloc[b]) * hash_table[b].size;
    }
    out->allocationSuccess = 1;
    out->maxPCR = IMPLEMENTATION_PCR;
    out->sizeNeeded = needed;
    out->sizeAvailable = HASH_COUNT * IMPLEMENTATION_PCR * MAX_DIGEST_SIZE;
    if (memcmp(alloc, t->p.pcr_alloc, sizeof(alloc)) != 0) {
        memcpy(t->p.pcr_alloc, alloc, sizeof(alloc));
        /* Takes effect at the next TPM Reset; a saved state no longer matches it. */
        t->pcr_reconfig = true;
        t->p.saved_valid = false;
        pers_changed(t);
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS(PCR_Allocate);

/* ---- Part 3 §22.8 TPM2_PCR_Reset ---- */

static TPM_RC cc_PCR_Reset(struct tpm *t, struct cmd *c, const struct in_none *in,
                           struct out_none *out)
{
    (void)in;
    (void)out;
    unsigned pcr = c->handles[0];
    TRY(pcr_check_reset(pcr, c->locality));
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        memset(t->sc.pcr[b][pcr], 0, MAX_DIGEST_SIZE);
    }
    pcr_changed(t, pcr);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(PCR_Reset);

/*
 * Capabilities: Part 3 §30.2 GetCapability, §30.3 TestParms. What is reported comes from the
 * tables that drive the engine (cmd_table, alg_table, pcr attributes), so the capability
 * always says what the engine does.
 */
#include <string.h>

#include "alg.h"
#include "audit.h"
#include "auth.h"
#include "cmd.h"
#include "nv.h"
#include "object.h"
#include "pcr.h"

/* Vendor identity: our own (GetCapability answers only what we are). */
#define VTPM_MANUFACTURER 0x5654504D /* "VTPM" */
#define VTPM_VENDOR_1 0x7674706D     /* "vtpm" */
#define VTPM_VENDOR_2 0x00000000
/* The library specification followed: family 2.0, level 00, revision 1.59 (2019-11-08). */
#define SPEC_REVISION 159
#define SPEC_DAY 312
#define SPEC_YEAR 2019
/* PC Client Platform TPM Profile 1.05 */
#define PS_REVISION 0x105
#define PS_DAY 0
#define PS_YEAR 2020

/* Sorted by value, as GetCapability lists them. */
static const TPM_HANDLE permanent_handles[] = {
    TPM_RH_OWNER, TPM_RH_NULL, TPM_RS_PW, TPM_RH_LOCKOUT, TPM_RH_ENDORSEMENT,
    TPM_RH_PLATFORM, TPM_RH_PLATFORM_NV,
};

static uint32_t permanent_attributes(struct tpm *t)
{
    uint32_t a = TPMA_PERMANENT_TPMGENERATEDEPS;
    if (t->p.owner_auth.size) {
        a |= TPMA_PERMANENT_OWNERAUTHSET;
    }
    if (t->p.endorsement_auth.size) {
        a |= TPMA_PERMANENT_ENDORSEMENTAUTHSET;
    }
    if (t->p.lockout_auth.size) {
        a |= TPMA_PERMANENT_LOCKOUTAUTHSET;
    }
    if (t->p.disable_clear) {
        a |= TPMA_PERMANENT_DISABLECLEAR;
    }
    if (da_in_lockout(t)) {
        a |= TPMA_PERMANENT_INLOCKOUT;
    }
    return a;
}

static uint32_t startup_clear_attributes(const struct tpm *t)
{
    uint32_t a = 0;
    a |= t->sc.ph_enable ? TPMA_STARTUP_CLEAR_PHENABLE : 0;
    a |= t->sc.sh_enable ? TPMA_STARTUP_CLEAR_SHENABLE : 0;
    a |= t->sc.eh_enable ? TPMA_STARTUP_CLEAR_EHENABLE : 0;
    a |= t->sc.ph_enable_nv ? TPMA_STARTUP_CLEAR_PHENABLENV : 0;
    a |= t->p.orderly != SU_NONE ? TPMA_STARTUP_CLEAR_ORDERLY : 0;
    return a;
}

/* The value of one property (Part 2 §6.13); false when the property does not exist. */
static bool property(struct tpm *t, TPM_PT pt, uint32_t *v)
{
    switch (pt) {
    case TPM_PT_FAMILY_INDICATOR: *v = 0x322E3000; return true; /* "2.0" */
    case TPM_PT_LEVEL: *v = 0; return true;
    case TPM_PT_REVISION: *v = SPEC_REVISION; return true;
    case TPM_PT_DAY_OF_YEAR: *v = SPEC_DAY; return true;
    case TPM_PT_YEAR: *v = SPEC_YEAR; return true;
    case TPM_PT_MANUFACTURER: *v = VTPM_MANUFACTURER; return true;
    case TPM_PT_VENDOR_STRING_1: *v = VTPM_VENDOR_1; return true;
    case TPM_PT_VENDOR_STRING_2: *v = VTPM_VENDOR_2; return true;
    case TPM_PT_VENDOR_STRING_3: *v = 0; return true;
    case TPM_PT_VENDOR_STRING_4: *v = 0; return true;
    case TPM_PT_VENDOR_TPM_TYPE: *v = 1; return true;
    case TPM_PT_FIRMWARE_VERSION_1: *v = t->p.firmware_v1; return true;
    case TPM_PT_FIRMWARE_VERSION_2: *v = t->p.firmware_v2; return true;
    case TPM_PT_INPUT_BUFFER: *v = MAX_DIGEST_BUFFER; return true;
    case TPM_PT_HR_TRANSIENT_MIN: *v = MAX_LOADED_OBJECTS; return true;
    case TPM_PT_HR_PERSISTENT_MIN: *v = MAX_PERSISTENT; return true;
    case TPM_PT_HR_LOADED_MIN: *v = MAX_LOADED_SESSIONS; return true;
    case TPM_PT_ACTIVE_SESSIONS_MAX: *v = MAX_ACTIVE_SESSIONS; return true;
    case TPM_PT_PCR_COUNT: *v = IMPLEMENTATION_PCR; return true;
    case TPM_PT_PCR_SELECT_MIN: *v = PCR_SELECT_MIN; return true;
    case TPM_PT_CONTEXT_GAP_MAX: *v = 0xFFFF; return true;
    case TPM_PT_NV_COUNTERS_MAX: *v = 0; return true; /* no separate limit: NV space only */
    case TPM_PT_NV_INDEX_MAX: *v = MAX_NV_INDEX_SIZE; return true;
    case TPM_PT_MEMORY: *v = TPMA_MEMORY_OBJECTCOPIEDTORAM; return true;
    case TPM_PT_CLOCK_UPDATE: *v = 1u << 22; return true;
    case TPM_PT_CONTEXT_HASH: *v = TPM_ALG_SHA256; return true;
    case TPM_PT_CONTEXT_SYM: *v = TPM_ALG_AES; return true;
    case TPM_PT_CONTEXT_SYM_SIZE: *v = 256; return true;
    case TPM_PT_ORDERLY_COUNT: *v = NV_ORDERLY_COUNT; return true;
    case TPM_PT_MAX_COMMAND_SIZE: *v = MAX_COMMAND_SIZE; return true;
    case TPM_PT_MAX_RESPONSE_SIZE: *v = MAX_RESPONSE_SIZE; return true;
    case TPM_PT_MAX_DIGEST: *v = MAX_DIGEST_SIZE; return true;
    case TPM_PT_MAX_OBJECT_CONTEXT: *v = MAX_CONTEXT_SIZE; return true;
    case TPM_PT_MAX_SESSION_CONTEXT: *v = MAX_CONTEXT_SIZE; return true;
    case TPM_PT_PS_FAMILY_INDICATOR: *v = TPM_PS_PC; return true;
    case TPM_PT_PS_LEVEL: *v = 0; return true;
    case TPM_PT_PS_REVISION: *v = PS_REVISION; return true;
    case TPM_PT_PS_DAY_OF_YEAR: *v = PS_DAY; return true;
    case TPM_PT_PS_YEAR: *v = PS_YEAR; return true;
    case TPM_PT_SPLIT_MAX: *v = COMMIT_SLOTS; return true; /* outstanding commits (asym.h) */
    case TPM_PT_TOTAL_COMMANDS: *v = (uint32_t)cmd_table_len; return true;
    case TPM_PT_LIBRARY_COMMANDS: *v = (uint32_t)cmd_table_len; return true;
    case TPM_PT_VENDOR_COMMANDS: *v = 0; return true;
    case TPM_PT_NV_BUFFER_MAX: *v = MAX_NV_BUFFER_SIZE; return true;
    case TPM_PT_MODES: *v = 0; return true;
    case TPM_PT_MAX_CAP_BUFFER: *v = MAX_CAP_BUFFER; return true;
    case TPM_PT_PERMANENT: *v = permanent_attributes(t); return true;
    case TPM_PT_STARTUP_CLEAR: *v = startup_clear_attributes(t); return true;
    case TPM_PT_HR_NV_INDEX: *v = nv_index_count(t); return true;
    case TPM_PT_HR_LOADED: *v = 0; return true;
    case TPM_PT_HR_LOADED_AVAIL: *v = MAX_LOADED_SESSIONS; return true;
    case TPM_PT_HR_ACTIVE: *v = 0; return true;
    case TPM_PT_HR_ACTIVE_AVAIL: *v = MAX_ACTIVE_SESSIONS; return true;
    case TPM_PT_HR_TRANSIENT_AVAIL: *v = MAX_LOADED_OBJECTS - object_count(t); return true;
    case TPM_PT_HR_PERSISTENT: *v = object_persistent_count(t); return true;
    case TPM_PT_HR_PERSISTENT_AVAIL: *v = MAX_PERSISTENT - object_persistent_count(t); return true;
    case TPM_PT_NV_COUNTERS: *v = nv_counter_count(t); return true;
    case TPM_PT_NV_COUNTERS_AVAIL: *v = nv_counters_avail(t); return true;
    case TPM_PT_ALGORITHM_SET: *v = 0; return true;
    case TPM_PT_LOADED_CURVES: *v = 0; return true;
    case TPM_PT_LOCKOUT_COUNTER: da_update(t); *v = t->p.da.failed_tries; return true;
    case TPM_PT_MAX_AUTH_FAIL: *v = t->p.da.max_tries; return true;
    case TPM_PT_LOCKOUT_INTERVAL: *v = t->p.da.recovery_time; return true;
    case TPM_PT_LOCKOUT_RECOVERY: *v = t->p.da.lockout_recovery; return true;
    case TPM_PT_NV_WRITE_RECOVERY: *v = 0; return true;
    case TPM_PT_AUDIT_COUNTER_0: *v = (uint32_t)(t->p.audit_counter >> 32); return true;
    case TPM_PT_AUDIT_COUNTER_1: *v = (uint32_t)t->p.audit_counter; return true;
    default: return false;
    }
}

/* Number of entries of each kind that fit in MAX_CAP_BUFFER after the 9-byte prefix. */
#define CAP_FIT(entry) ((MAX_CAP_BUFFER - 9) / (entry))

struct in_GetCapability {
    TPM_CAP capability;
    uint32_t property;
    uint32_t propertyCount;
};

struct out_GetCapability {
    TPMI_YES_NO moreData;
    TPMS_CAPABILITY_DATA capabilityData;
};

static TPM_RC parse_GetCapability(struct rd *r, struct in_GetCapability *in)
{
    PARAM(1, rd_U32(r, &in->capability));
    PARAM(2, rd_U32(r, &in->property));
    PARAM(3, rd_U32(r, &in->propertyCount));
    return TPM_RC_SUCCESS;
}

static void emit_GetCapability(struct wr *w, const struct out_GetCapability *out)
{
    wr_u8(w, out->moreData);
    wr_TPMS_CAPABILITY_DATA(w, &out->capabilityData);
}

/* Adds items while count < max; past that, sets moreData. Returns false when full. */
static bool cap_room(struct out_GetCapability *out, uint32_t max)
{
    if (out->capabilityData.count >= max) {
        out->moreData = 1;
        return false;
    }
    return true;
}

static void cap_handles(struct tpm *t, uint32_t first, uint32_t max,
                        struct out_GetCapability *out)
{
    TPMS_CAPABILITY_DATA *d = &out->capabilityData;
    switch (first >> HR_SHIFT) {
    case TPM_HT_PCR:
        for (uint32_t h = first; h < IMPLEMENTATION_PCR && cap_room(out, max); h++) {
            d->data.handles[d->count++] = h;
        }
        break;
    case TPM_HT_PERMANENT:
        /* permanent_handles is sorted by value */
        for (size_t i = 0; i < sizeof(permanent_handles) / sizeof(permanent_handles[0]); i++) {
            if (permanent_handles[i] >= first) {
                if (!cap_room(out, max)) {
                    break;
                }
                d->data.handles[d->count++] = permanent_handles[i];
            }
        }
        break;
    case TPM_HT_TRANSIENT: {
        /* Slots give ascending handles. */
        for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
            const struct object *o = &t->objects[i];
            if (o->kind != OBJ_FREE && o->handle >= first) {
                if (!cap_room(out, max)) {
                    break;
                }
                d->data.handles[d->count++] = o->handle;
            }
        }
        break;
    }
    case TPM_HT_NV_INDEX: {
        TPM_HANDLE h = first;
        while (nv_next_handle(t, &h) && cap_room(out, max)) {
            d->data.handles[d->count++] = h;
            if (h == HR_NV_INDEX + HR_HANDLE_MASK) {
                break;
            }
            h++;
        }
        break;
    }
    case TPM_HT_PERSISTENT: {
        /* The store is unordered: list in ascending handle order. */
        TPM_HANDLE next = first;
        for (;;) {
            TPM_HANDLE best = 0;
            bool found = false;
            for (size_t i = 0; i < MAX_PERSISTENT; i++) {
                const struct object *o = &t->p.persist[i];
                if (o->kind != OBJ_FREE && o->handle >= next && (!found || o->handle < best)) {
                    best = o->handle;
                    found = true;
                }
            }
            if (!found || !cap_room(out, max)) {
                break;
            }
            d->data.handles[d->count++] = best;
            if (best == 0xFFFFFFFF) {
                break;
            }
            next = best + 1;
        }
        break;
    }
    default:
        break; /* sessions: none listed yet */
    }
}

static TPM_RC cc_GetCapability(struct tpm *t, struct cmd *c, const struct in_GetCapability *in,
                               struct out_GetCapability *out)
{
    (void)c;
    TPMS_CAPABILITY_DATA *d = &out->capabilityData;
    uint32_t max = in->propertyCount;
    d->capability = in->capability;
    switch (in->capability) {
    case TPM_CAP_ALGS:
        if (max > CAP_FIT(6)) {
            max = CAP_FIT(6);
        }
        for (size_t i = 0; i < alg_table_len; i++) {
            if (alg_table[i].alg >= in->property && in->property <= 0xFFFF) {
                if (!cap_room(out, max)) {
                    break;
                }
                d->data.algs[d->count].alg = alg_table[i].alg;
                d->data.algs[d->count++].attributes = alg_table[i].attributes;
            }
        }
        break;
    case TPM_CAP_HANDLES: {
        uint8_t ht = (uint8_t)(in->property >> HR_SHIFT);
        CHECK(ht == TPM_HT_PCR || ht == TPM_HT_NV_INDEX || ht == TPM_HT_HMAC_SESSION ||
                  ht == TPM_HT_POLICY_SESSION || ht == TPM_HT_PERMANENT ||
                  ht == TPM_HT_TRANSIENT || ht == TPM_HT_PERSISTENT,
              RC_P(TPM_RC_HANDLE, 2));
        cap_handles(t, in->property, max > CAP_FIT(4) ? CAP_FIT(4) : max, out);
        break;
    }
    case TPM_CAP_COMMANDS:
        if (max > CAP_FIT(4)) {
            max = CAP_FIT(4);
        }
        for (size_t i = 0; i < cmd_table_len; i++) {
            if (cmd_table[i].cc >= (in->property & 0xFFFF) && !(in->property & TPMA_CC_V)) {
                if (!cap_room(out, max)) {
                    break;
                }
                d->data.command[d->count++] = cmd_attributes(&cmd_table[i]);
            }
        }
        break;
    case TPM_CAP_PP_COMMANDS:
        /* No command needs physical presence here. */
        break;
    case TPM_CAP_AUDIT_COMMANDS:
        if (max > CAP_FIT(4)) {
            max = CAP_FIT(4);
        }
        /* Ask for one more than fits: if it comes, there is more data. */
        d->count = audit_list(t, in->property, d->data.ppCommands, max + 1);
        if (d->count > max) {
            d->count = max;
            out->moreData = 1;
        }
        break;
    case TPM_CAP_PCRS:
        /* Every implemented bank, with the PCRs allocated in it now (Part 3 §30.2). */
        d->count = HASH_COUNT;
        for (unsigned b = 0; b < HASH_COUNT; b++) {
            TPMS_PCR_SELECTION *s = &d->data.assignedPCR[b];
            s->hash = hash_table[b].alg;
            s->sizeofSelect = PCR_SELECT_MAX;
            for (unsigned j = 0; j < PCR_SELECT_MAX; j++) {
                s->pcrSelect[j] = (uint8_t)(t->sr.pcr_active[b] >> (8 * j));
            }
        }
        break;
    case TPM_CAP_TPM_PROPERTIES:
        if (max > CAP_FIT(8)) {
            max = CAP_FIT(8);
        }
        for (TPM_PT pt = in->property; pt <= TPM_PT_AUDIT_COUNTER_1; pt++) {
            uint32_t v;
            if (pt >= PT_FIXED && property(t, pt, &v)) {
                if (!cap_room(out, max)) {
                    break;
                }
                d->data.tpmProperties[d->count].property = pt;
                d->data.tpmProperties[d->count++].value = v;
            }
            if (pt < PT_FIXED) {
                pt = PT_FIXED - 1;
            }
        }
        break;
    case TPM_CAP_PCR_PROPERTIES:
        if (max > CAP_FIT(8)) {
            max = CAP_FIT(8);
        }
        for (TPM_PT_PCR tag = in->property; tag <= TPM_PT_PCR_AUTH; tag++) {
            uint8_t sel[PCR_SELECT_MAX];
            if (pcr_property(tag, sel)) {
                if (!cap_room(out, max)) {
                    break;
                }
                TPMS_TAGGED_PCR_SELECT *p = &d->data.pcrProperties[d->count++];
                p->tag = tag;
                p->sizeofSelect = PCR_SELECT_MAX;
                memcpy(p->pcrSelect, sel, PCR_SELECT_MAX);
            }
        }
        break;
    case TPM_CAP_ECC_CURVES: {
        static const TPM_ECC_CURVE curves[] = {TPM_ECC_NIST_P256, TPM_ECC_NIST_P384,
                                               TPM_ECC_NIST_P521};
        for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
            if (curves[i] >= in->property && alg_ecc_curve_ok(curves[i])) {
                if (!cap_room(out, max)) {
                    break;
                }
                d->data.eccCurves[d->count++] = curves[i];
            }
        }
        break;
    }
    default:
        return RC_P(TPM_RC_VALUE, 1);
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS(GetCapability);

/* ---- Part 3 §10.3 TPM2_TestParms ---- */

struct in_TestParms {
    TPMT_PUBLIC_PARMS parameters;
};

static TPM_RC parse_TestParms(struct rd *r, struct in_TestParms *in)
{
    PARAM(1, rd_TPMT_PUBLIC_PARMS(r, &in->parameters));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_TestParms(struct tpm *t, struct cmd *c, const struct in_TestParms *in,
                           struct out_none *out)
{
    (void)t;
    (void)c;
    (void)in;
    (void)out;
    /* Unmarshaling accepted only what the engine implements: the answer is yes. */
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(TestParms);

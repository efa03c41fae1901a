/*
 * Hierarchy commands: Part 3 §24.2 HierarchyControl, §24.3 SetPrimaryPolicy, §24.4
 * ChangePPS, §24.5 ChangeEPS, §24.6 Clear, §24.7 ClearControl, §24.8 HierarchyChangeAuth;
 * §25.2 DictionaryAttackLockReset, §25.3 DictionaryAttackParameters.
 */
#include "hierarchy.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "auth.h"
#include "cmd.h"
#include "nv.h"
#include "object.h"
#include "primary.h"

bool hier_enabled(const struct tpm *t, TPM_HANDLE h)
{
    switch (h) {
    case TPM_RH_OWNER:
        return t->sc.sh_enable;
    case TPM_RH_ENDORSEMENT:
        return t->sc.eh_enable;
    case TPM_RH_PLATFORM:
        return t->sc.ph_enable;
    case TPM_RH_NULL:
        return true;
    default:
        return false;
    }
}

const uint8_t *hier_proof(const struct tpm *t, TPM_HANDLE h)
{
    switch (h) {
    case TPM_RH_OWNER:
        return t->p.sh_proof;
    case TPM_RH_ENDORSEMENT:
        return t->p.eh_proof;
    case TPM_RH_PLATFORM:
        return t->p.ph_proof;
    default:
        return t->sr.null_proof;
    }
}

TPM_RC hier_check_enabled(struct tpm *t, TPM_HANDLE h)
{
    switch (h) {
    case TPM_RH_OWNER:
    case TPM_RH_ENDORSEMENT:
    case TPM_RH_PLATFORM:
        return hier_enabled(t, h) ? TPM_RC_SUCCESS : TPM_RC_HIERARCHY;
    case TPM_RH_PLATFORM_NV:
        return t->sc.ph_enable_nv ? TPM_RC_SUCCESS : TPM_RC_HIERARCHY;
    case TPM_RH_LOCKOUT:
    case TPM_RH_NULL:
        return TPM_RC_SUCCESS;
    default:
        return TPM_RC_HANDLE;
    }
}

TPM_RC hier_entity(struct tpm *t, TPM_HANDLE h, struct entity *e)
{
    switch (h) {
    case TPM_RH_OWNER:
        e->auth = &t->p.owner_auth;
        e->policy = &t->p.owner_policy;
        break;
    case TPM_RH_ENDORSEMENT:
        e->auth = &t->p.endorsement_auth;
        e->policy = &t->p.endorsement_policy;
        break;
    case TPM_RH_PLATFORM:
    case TPM_RH_PLATFORM_NV:
        e->auth = &t->sc.platform_auth;
        e->policy = &t->sc.platform_policy;
        break;
    case TPM_RH_LOCKOUT:
        e->auth = &t->p.lockout_auth;
        e->policy = &t->p.lockout_policy;
        e->is_lockout = true;
        break;
    case TPM_RH_NULL:
        break;
    default:
        return TPM_RC_HANDLE;
    }
    /* Permanent entities are their own hierarchy; lockout and platform NV belong to the
     * owner and platform hierarchies. */
    e->hierarchy = h == TPM_RH_LOCKOUT ? TPM_RH_OWNER : h == TPM_RH_PLATFORM_NV ? TPM_RH_PLATFORM : h;
    return TPM_RC_SUCCESS;
}

/* ---- Part 3 §24.2 TPM2_HierarchyControl ---- */

struct in_HierarchyControl {
    TPM_HANDLE enable;
    TPMI_YES_NO state;
};

static TPM_RC parse_HierarchyControl(struct rd *r, struct in_HierarchyControl *in)
{
    PARAM(1, rd_U32(r, &in->enable));
    /* TPMI_RH_ENABLES */
    PARAM(1, in->enable == TPM_RH_OWNER || in->enable == TPM_RH_ENDORSEMENT ||
                     in->enable == TPM_RH_PLATFORM || in->enable == TPM_RH_PLATFORM_NV
                 ? TPM_RC_SUCCESS
                 : TPM_RC_VALUE);
    PARAM(2, rd_TPMI_YES_NO(r, &in->state));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_HierarchyControl(struct tpm *t, struct cmd *c,
                                  const struct in_HierarchyControl *in, struct out_none *out)
{
    (void)out;
    TPM_HANDLE auth = c->handles[0];
    bool *flag;
    /* Only the platform may enable, and only it may touch the platform's own enables. */
    CHECK(!in->state || auth == TPM_RH_PLATFORM, TPM_RC_AUTH_TYPE);
    CHECK(auth == TPM_RH_PLATFORM || auth == in->enable, TPM_RC_AUTH_TYPE);
    switch (in->enable) {
    case TPM_RH_OWNER:
        flag = &t->sc.sh_enable;
        break;
    case TPM_RH_ENDORSEMENT:
        flag = &t->sc.eh_enable;
        break;
    case TPM_RH_PLATFORM:
        flag = &t->sc.ph_enable;
        break;
    default:
        flag = &t->sc.ph_enable_nv;
        break;
    }
    if (*flag && !in->state && in->enable != TPM_RH_PLATFORM_NV) {
        object_flush_hierarchy(t, in->enable);
    }
    *flag = in->state;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(HierarchyControl);

/* ---- Part 3 §24.4 TPM2_ClearControl ---- */

struct in_ClearControl {
    TPMI_YES_NO disable;
};

static TPM_RC parse_ClearControl(struct rd *r, struct in_ClearControl *in)
{
    PARAM(1, rd_TPMI_YES_NO(r, &in->disable));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_ClearControl(struct tpm *t, struct cmd *c, const struct in_ClearControl *in,
                              struct out_none *out)
{
    (void)out;
    /* The lockout hierarchy may disable Clear but only the platform may re-enable it. */
    CHECK(!(c->handles[0] == TPM_RH_LOCKOUT && !in->disable), TPM_RC_AUTH_FAIL);
    if (t->p.disable_clear != (bool)in->disable) {
        t->p.disable_clear = in->disable;
        pers_changed(t);
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(ClearControl);

/* ---- Part 3 §24.6 TPM2_Clear ---- */

static TPM_RC cc_Clear(struct tpm *t, struct cmd *c, const struct in_none *in,
                       struct out_none *out)
{
    (void)c;
    (void)in;
    (void)out;
    CHECK(!t->p.disable_clear, TPM_RC_DISABLED);
    /* A new storage seed and new proofs: every owner and endorsement object dies. */
    CHECK(crypto_random(t->p.sps, SEED_BYTES), TPM_RC_FAILURE);
    CHECK(crypto_random(t->p.sh_proof, PROOF_BYTES), TPM_RC_FAILURE);
    CHECK(crypto_random(t->p.eh_proof, PROOF_BYTES), TPM_RC_FAILURE);
    t->sc.sh_enable = true;
    t->sc.eh_enable = true;
    secret_wipe(&t->p.owner_auth, sizeof(TPM2B_AUTH));
    secret_wipe(&t->p.endorsement_auth, sizeof(TPM2B_AUTH));
    secret_wipe(&t->p.lockout_auth, sizeof(TPM2B_AUTH));
    memset(&t->p.owner_policy, 0, sizeof(struct policy));
    memset(&t->p.endorsement_policy, 0, sizeof(struct policy));
    memset(&t->p.lockout_policy, 0, sizeof(struct policy));
    t->p.owner_policy.alg = TPM_ALG_NULL;
    t->p.endorsement_policy.alg = TPM_ALG_NULL;
    t->p.lockout_policy.alg = TPM_ALG_NULL;
    object_flush_hierarchy(t, TPM_RH_OWNER);
    object_flush_hierarchy(t, TPM_RH_ENDORSEMENT);
    nv_clear(t); /* owner NV indices go; PLATFORMCREATE ones stay */
    /* Persistent objects of both go too (they were made under the old proofs). */
    object_evict_hierarchy(t, TPM_RH_OWNER);
    object_evict_hierarchy(t, TPM_RH_ENDORSEMENT);
    primary_cache_clear(t);
    da_defaults(&t->p.da);
    /* Clock and counters restart (Part 3 §24.6.1). */
    t->p.clock = 0;
    t->clock_ms = tpm_now(t);
    t->clock_safe = true;
    t->p.reset_count = 0;
    t->sr.restart_count = 0;
    t->sr.clear_count = 0;
    t->sc.pcr_update_counter++;
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(Clear);

/* ---- Part 3 §24.3 TPM2_SetPrimaryPolicy ---- */

struct in_SetPrimaryPolicy {
    TPM2B_DIGEST authPolicy;
    TPM_ALG_ID hashAlg;
};

static TPM_RC parse_SetPrimaryPolicy(struct rd *r, struct in_SetPrimaryPolicy *in)
{
    PARAM(1, RD_TPM2B(r, &in->authPolicy));
    PARAM(2, rd_TPMI_ALG_HASH(r, &in->hashAlg, NULL_OK));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_SetPrimaryPolicy(struct tpm *t, struct cmd *c,
                                  const struct in_SetPrimaryPolicy *in, struct out_none *out)
{
    (void)out;
    struct policy *dst;
    /* The digest is empty with TPM_ALG_NULL, else exactly the hash's size. */
    CHECK(in->authPolicy.size == hash_size(in->hashAlg), RC_P(TPM_RC_SIZE, 1));
    switch (c->handles[0]) {
    case TPM_RH_OWNER:
        dst = &t->p.owner_policy;
        break;
    case TPM_RH_ENDORSEMENT:
        dst = &t->p.endorsement_policy;
        break;
    case TPM_RH_LOCKOUT:
        dst = &t->p.lockout_policy;
        break;
    default:
        dst = &t->sc.platform_policy; /* state-clear: not persistent */
        break;
    }
    dst->alg = in->hashAlg;
    dst->digest = in->authPolicy;
    if (dst != &t->sc.platform_policy) {
        pers_changed(t);
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(SetPrimaryPolicy);

/*
 * Part 3 §24.4 TPM2_ChangePPS and §24.5 TPM2_ChangeEPS: a new seed and proof; the
 * hierarchy's objects (loaded and persistent) are flushed and its saved contexts no longer
 * load; the policy (and for the endorsement hierarchy, the authValue) go back to empty.
 */
static TPM_RC change_seed(struct tpm *t, TPM_HANDLE h, uint8_t *seed, uint8_t *proof)
{
    CHECK(crypto_random(seed, SEED_BYTES), TPM_RC_FAILURE);
    CHECK(crypto_random(proof, PROOF_BYTES), TPM_RC_FAILURE);
    object_flush_hierarchy(t, h);
    object_evict_hierarchy(t, h);
    primary_cache_clear(t);
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_ChangePPS(struct tpm *t, struct cmd *c, const struct in_none *in,
                           struct out_none *out)
{
    (void)c;
    (void)in;
    (void)out;
    memset(&t->sc.platform_policy, 0, sizeof(t->sc.platform_policy));
    t->sc.platform_policy.alg = TPM_ALG_NULL;
    return change_seed(t, TPM_RH_PLATFORM, t->p.pps, t->p.ph_proof);
}

CMD_OPS_NONE(ChangePPS);

static TPM_RC cc_ChangeEPS(struct tpm *t, struct cmd *c, const struct in_none *in,
                           struct out_none *out)
{
    (void)c;
    (void)in;
    (void)out;
    secret_wipe(&t->p.endorsement_auth, sizeof(TPM2B_AUTH));
    memset(&t->p.endorsement_policy, 0, sizeof(struct policy));
    t->p.endorsement_policy.alg = TPM_ALG_NULL;
    return change_seed(t, TPM_RH_ENDORSEMENT, t->p.eps, t->p.eh_proof);
}

CMD_OPS_NONE(ChangeEPS);

/* ---- Part 3 §24.8 TPM2_HierarchyChangeAuth ---- */

struct in_HierarchyChangeAuth {
    TPM2B_AUTH newAuth;
};

static TPM_RC parse_HierarchyChangeAuth(struct rd *r, struct in_HierarchyChangeAuth *in)
{
    PARAM(1, RD_TPM2B(r, &in->newAuth));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_HierarchyChangeAuth(struct tpm *t, struct cmd *c,
                                     const struct in_HierarchyChangeAuth *in,
                                     struct out_none *out)
{
    (void)out;
    TPM2B_AUTH *dst;
    switch (c->handles[0]) {
    case TPM_RH_OWNER:
        dst = &t->p.owner_auth;
        break;
    case TPM_RH_ENDORSEMENT:
        dst = &t->p.endorsement_auth;
        break;
    case TPM_RH_LOCKOUT:
        dst = &t->p.lockout_auth;
        break;
    default:
        dst = &t->sc.platform_auth; /* state-clear: not persistent */
        auth_set(dst, &in->newAuth);
        return TPM_RC_SUCCESS;
    }
    auth_set(dst, &in->newAuth);
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(HierarchyChangeAuth);

/* ---- Part 3 §25.2 TPM2_DictionaryAttackLockReset ---- */

static TPM_RC cc_DictionaryAttackLockReset(struct tpm *t, struct cmd *c,
                                           const struct in_none *in, struct out_none *out)
{
    (void)c;
    (void)in;
    (void)out;
    t->p.da.failed_tries = 0;
    t->p.da.self_heal_ms = tpm_clock(t);
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(DictionaryAttackLockReset);

/* ---- Part 3 §25.3 TPM2_DictionaryAttackParameters ---- */

struct in_DictionaryAttackParameters {
    uint32_t newMaxTries;
    uint32_t newRecoveryTime;
    uint32_t lockoutRecovery;
};

static TPM_RC parse_DictionaryAttackParameters(struct rd *r,
                                               struct in_DictionaryAttackParameters *in)
{
    PARAM(1, rd_U32(r, &in->newMaxTries));
    PARAM(2, rd_U32(r, &in->newRecoveryTime));
    PARAM(3, rd_U32(r, &in->lockoutRecovery));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_DictionaryAttackParameters(struct tpm *t, struct cmd *c,
                                            const struct in_DictionaryAttackParameters *in,
                                            struct out_none *out)
{
    (void)c;
    (void)out;
    da_update(t);
    t->p.da.max_tries = in->newMaxTries;
    t->p.da.recovery_time = in->newRecoveryTime;
    t->p.da.lockout_recovery = in->lockoutRecovery;
    /* failedTries is kept: an errata to Part 3 removed its reset here. */
    t->p.da.self_heal_ms = tpm_clock(t);
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(DictionaryAttackParameters);

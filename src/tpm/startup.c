/*
 * Start-up, shutdown and testing: Part 3 §9.3 Startup, §9.4 Shutdown, §10.2 SelfTest,
 * §10.3 IncrementalSelfTest, §10.4 GetTestResult. The kinds of start-up (TPM Reset, TPM
 * Restart, TPM Resume) are those of Part 1 §12.2.
 */
#include <string.h>

#include "../common/secret.h"
#include "auth.h"
#include "cmd.h"
#include "nv.h"
#include "pcr.h"
#include "session.h"

/* State-clear defaults: a TPM Reset or Restart (Part 1 §12.2.3). */
static void stclear_defaults(struct tpm *t)
{
    t->sc.ph_enable = true;
    t->sc.sh_enable = true;
    t->sc.eh_enable = true;
    t->sc.ph_enable_nv = true;
    secret_wipe(&t->sc.platform_auth, sizeof(t->sc.platform_auth));
    memset(&t->sc.platform_policy, 0, sizeof(t->sc.platform_policy));
    t->sc.platform_policy.alg = TPM_ALG_NULL;
    pcr_init_values(t);
}

/* State-reset defaults: a TPM Reset. */
static TPM_RC streset_defaults(struct tpm *t)
{
    secret_wipe(&t->sr, sizeof(t->sr));
    CHECK(crypto_random(t->sr.null_proof, PROOF_BYTES), TPM_RC_FAILURE);
    CHECK(crypto_random(t->sr.null_seed, SEED_BYTES), TPM_RC_FAILURE);
    CHECK(crypto_random(t->sr.commit_nonce, COMMIT_NONCE_BYTES), TPM_RC_FAILURE);
    memcpy(t->sr.pcr_active, t->p.pcr_alloc, sizeof(t->sr.pcr_active));
    return TPM_RC_SUCCESS;
}

/* ---- Part 3 §9.3 TPM2_Startup ---- */

struct in_Startup {
    TPM_SU startupType;
};

static TPM_RC parse_Startup(struct rd *r, struct in_Startup *in)
{
    PARAM(1, rd_TPM_SU(r, &in->startupType));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_Startup(struct tpm *t, struct cmd *c, const struct in_Startup *in,
                         struct out_none *out)
{
    (void)c;
    (void)out;
    /* A second Startup is refused; systemd and FAPI send one on every use and expect this. */
    CHECK(!t->started, TPM_RC_INITIALIZE);
    bool saved = t->p.orderly == TPM_SU_STATE && t->p.saved_valid;
    CHECK(in->startupType == TPM_SU_CLEAR || saved, RC_P(TPM_RC_VALUE, 1));
    /* NV indices: locks and STCLEAR attributes by kind; orderly counters after a power loss. */
    nv_startup(t, !saved ? NV_RESET : in->startupType == TPM_SU_STATE ? NV_RESUME : NV_RESTART,
               t->p.orderly == SU_NONE);

    if (saved) {
        /* TPM Restart or Resume: state-reset data comes back. */
        t->sr = t->p.saved_sr;
        t->sr.restart_count++;
        if (in->startupType == TPM_SU_STATE) {
            struct tpm_stclear *s = &t->p.saved_sc;
            t->sc.sh_enable = s->sh_enable;
            t->sc.eh_enable = s->eh_enable;
            t->sc.ph_enable_nv = s->ph_enable_nv;
            t->sc.platform_auth = s->platform_auth;
            t->sc.platform_policy = s->platform_policy;
            t->sc.ph_enable = true;
            pcr_resume(t, s);
        } else {
            stclear_defaults(t);
        }
    } else {
        /* TPM Reset: saved session contexts die with the state-reset data. */
        session_flush_all(t);
        TRY(streset_defaults(t));
        stclear_defaults(t);
        t->p.reset_count++;
        if (t->p.da.lockout_recovery == 0) {
            t->p.da.lockout_auth_enabled = true; /* only a TPM Reset brings it back */
        }
    }
    /* A clock that was not saved by an orderly shutdown may have gone back (Part 1 §36.5). */
    t->clock_safe = t->p.orderly != SU_NONE;
    t->p.orderly = SU_NONE;
    t->p.saved_valid = false;
    secret_wipe_sparse(&t->p.saved_sc, sizeof(t->p.saved_sc));
    secret_wipe_sparse(&t->p.saved_sr, sizeof(t->p.saved_sr));
    t->pcr_reconfig = false;
    t->started = true;
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(Startup);

/* ---- Part 3 §9.4 TPM2_Shutdown ---- */

struct in_Shutdown {
    TPM_SU shutdownType;
};

static TPM_RC parse_Shutdown(struct rd *r, struct in_Shutdown *in)
{
    PARAM(1, rd_TPM_SU(r, &in->shutdownType));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_Shutdown(struct tpm *t, struct cmd *c, const struct in_Shutdown *in,
                          struct out_none *out)
{
    (void)c;
    (void)out;
    /* After PCR_Allocate the saved PCRs would not match the new banks. */
    CHECK(!(in->shutdownType == TPM_SU_STATE && t->pcr_reconfig), RC_P(TPM_RC_TYPE, 1));
    t->p.orderly = in->shutdownType;
    nv_shutdown(t); /* orderly NV indices reach NV */
    if (in->shutdownType == TPM_SU_STATE) {
        t->p.saved_sc = t->sc;
        t->p.saved_sr = t->sr;
        t->p.saved_valid = true;
    } else {
        t->p.saved_valid = false;
    }
    t->clock_safe = true;
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(Shutdown);

/* ---- Part 3 §10.2 TPM2_SelfTest: every algorithm is tested at start-up by OpenSSL ---- */

struct in_SelfTest {
    TPMI_YES_NO fullTest;
};

static TPM_RC parse_SelfTest(struct rd *r, struct in_SelfTest *in)
{
    PARAM(1, rd_TPMI_YES_NO(r, &in->fullTest));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_SelfTest(struct tpm *t, struct cmd *c, const struct in_SelfTest *in,
                          struct out_none *out)
{
    (void)t;
    (void)c;
    (void)in;
    (void)out;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(SelfTest);

/* ---- Part 3 §10.3 TPM2_IncrementalSelfTest ---- */

struct in_IncrementalSelfTest {
    TPML_ALG toTest;
};

struct out_IncrementalSelfTest {
    TPML_ALG toDoList;
};

static TPM_RC parse_IncrementalSelfTest(struct rd *r, struct in_IncrementalSelfTest *in)
{
    PARAM(1, rd_TPML_ALG(r, &in->toTest));
    return TPM_RC_SUCCESS;
}

static void emit_IncrementalSelfTest(struct wr *w, const struct out_IncrementalSelfTest *out)
{
    wr_TPML_ALG(w, &out->toDoList);
}

static TPM_RC cc_IncrementalSelfTest(struct tpm *t, struct cmd *c,
                                     const struct in_IncrementalSelfTest *in,
                                     struct out_IncrementalSelfTest *out)
{
    (void)t;
    (void)c;
    (void)in;
    out->toDoList.count = 0; /* nothing is left to test */
    return TPM_RC_SUCCESS;
}

CMD_OPS(IncrementalSelfTest);

/* ---- Part 3 §10.4 TPM2_GetTestResult ---- */

struct out_GetTestResult {
    TPM2B_MAX_BUFFER outData;
    TPM_RC testResult;
};

static void emit_GetTestResult(struct wr *w, const struct out_GetTestResult *out)
{
    WR_TPM2B(w, &out->outData);
    wr_u32(w, out->testResult);
}

static TPM_RC cc_GetTestResult(struct tpm *t, struct cmd *c, const struct in_none *in,
                               struct out_GetTestResult *out)
{
    (void)c;
    (void)in;
    out->testResult = t->failure ? TPM_RC_FAILURE : TPM_RC_SUCCESS;
    if (t->failure) {
        /* outData is vendor-specific: the code that put the engine in failure mode. */
        out->outData.size = 4;
        be32_put(out->outData.buffer, t->failure_rc);
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_IN(GetTestResult);

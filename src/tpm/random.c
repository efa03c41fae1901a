/* Random numbers and the clock: Part 3 §16.1 GetRandom, §16.2 StirRandom, §29.1 ReadClock. */
#include "cmd.h"

/* ---- Part 3 §16.1 TPM2_GetRandom ---- */

struct in_GetRandom {
    uint16_t bytesRequested;
};

struct out_GetRandom {
    TPM2B_DIGEST randomBytes;
};

static TPM_RC parse_GetRandom(struct rd *r, struct in_GetRandom *in)
{
    PARAM(1, rd_U16(r, &in->bytesRequested));
    return TPM_RC_SUCCESS;
}

static void emit_GetRandom(struct wr *w, const struct out_GetRandom *out)
{
    WR_TPM2B(w, &out->randomBytes);
}

static TPM_RC cc_GetRandom(struct tpm *t, struct cmd *c, const struct in_GetRandom *in,
                           struct out_GetRandom *out)
{
    (void)t;
    (void)c;
    /* At most one digest's worth per call (Part 3 §16.1.1). */
    uint16_t n = in->bytesRequested;
    if (n > sizeof(out->randomBytes.buffer)) {
        n = sizeof(out->randomBytes.buffer);
    }
    CHECK(crypto_random(out->randomBytes.buffer, n), TPM_RC_FAILURE);
    out->randomBytes.size = n;
    return TPM_RC_SUCCESS;
}

CMD_OPS(GetRandom);

/* ---- Part 3 §16.2 TPM2_StirRandom ---- */

struct in_StirRandom {
    TPM2B_SENSITIVE_DATA inData;
};

static TPM_RC parse_StirRandom(struct rd *r, struct in_StirRandom *in)
{
    PARAM(1, RD_TPM2B(r, &in->inData));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_StirRandom(struct tpm *t, struct cmd *c, const struct in_StirRandom *in,
                            struct out_none *out)
{
    (void)t;
    (void)c;
    (void)out;
    crypto_stir(in->inData.buffer, in->inData.size);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(StirRandom);

/* ---- Part 3 §29.1 TPM2_ReadClock ---- */

struct out_ReadClock {
    TPMS_TIME_INFO currentTime;
};

static void emit_ReadClock(struct wr *w, const struct out_ReadClock *out)
{
    wr_TPMS_TIME_INFO(w, &out->currentTime);
}

static TPM_RC cc_ReadClock(struct tpm *t, struct cmd *c, const struct in_none *in,
                           struct out_ReadClock *out)
{
    (void)c;
    (void)in;
    tpm_time_info(t, &out->currentTime);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_IN(ReadClock);

/* ---- Part 3 §29.2 TPM2_ClockSet ---- */

struct in_ClockSet {
    uint64_t newTime;
};

static TPM_RC parse_ClockSet(struct rd *r, struct in_ClockSet *in)
{
    PARAM(1, rd_U64(r, &in->newTime));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_ClockSet(struct tpm *t, struct cmd *c, const struct in_ClockSet *in,
                          struct out_none *out)
{
    (void)c;
    (void)out;
    /* Clock only moves forward, and not into its last 2^48 ms (Part 3 §29.2.1). */
    PARAM(1, in->newTime >= tpm_clock(t) && in->newTime <= 0xFFFF000000000000ull
                 ? TPM_RC_SUCCESS
                 : TPM_RC_VALUE);
    t->p.clock = in->newTime;
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(ClockSet);

/* ---- Part 3 §29.3 TPM2_ClockRateAdjust ---- */

struct in_ClockRateAdjust {
    int8_t rateAdjust;
};

static TPM_RC parse_ClockRateAdjust(struct rd *r, struct in_ClockRateAdjust *in)
{
    uint8_t v;
    PARAM(1, rd_U8(r, &v));
    in->rateAdjust = (int8_t)v;
    /* TPM_CLOCK_ADJUST: -3 (coarse slower) .. +3 (coarse faster) */
    PARAM(1, in->rateAdjust >= -3 && in->rateAdjust <= 3 ? TPM_RC_SUCCESS : TPM_RC_VALUE);
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_ClockRateAdjust(struct tpm *t, struct cmd *c, const struct in_ClockRateAdjust *in,
                                 struct out_none *out)
{
    (void)c;
    (void)out;
    (void)tpm_clock(t); /* settle the clock at the old rate first */
    t->clock_rate = tpm_clock_rate_step(t->clock_rate, in->rateAdjust);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(ClockRateAdjust);

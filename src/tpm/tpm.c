/* The engine's public API (include/vtpm/tpm.h): lifecycle, execution, DRTM, clock. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/secret.h"
#include "alg.h"
#include "cmd.h"
#include "context.h"
#include "engine.h"
#include "nv.h"
#include "object.h"
#include "pcr.h"
#include "session.h"
#include "sign.h"

void tpm_profile_default(struct tpm_profile *p)
{
    memset(p, 0, sizeof(*p));
    p->pcr_banks = TPM_BANK_SHA1 | TPM_BANK_SHA256 | TPM_BANK_SHA384 | TPM_BANK_SHA512;
    p->firmware_v1 = 0x00010000; /* 1.0 */
    p->firmware_v2 = 0;
}

uint64_t tpm_now(struct tpm *t)
{
    if (t->host.now_ms) {
        return t->host.now_ms(t->host.ctx);
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int32_t tpm_clock_rate_step(int32_t rate, int8_t adjust)
{
    static const int32_t step[4] = {0, 1000, 10000, 100000}; /* fine, medium, coarse (ppm) */
    if (adjust == 0) {
        return rate;
    }
    int32_t r = rate + (adjust > 0 ? step[adjust] : -step[-adjust]);
    return r > 150000 ? 150000 : r < -150000 ? -150000 : r;
}

/*
 * Clock persistence (Part 1 §36, TPM_PT_CLOCK_UPDATE): the NV copy of Clock is updated
 * each time Clock enters a new interval of CLOCK_NV_INTERVAL ms, so it is never more than one
 * interval behind. After a disorderly shutdown the restored Clock may be behind values already
 * reported, so safe is NO (startup.c) until such an update has reached NV: from then on Clock
 * is past anything reported before the loss.
 */
#define CLOCK_NV_MASK ((UINT64_C(1) << 22) - 1) /* 2^22 ms, as TPM_PT_CLOCK_UPDATE says */

static void clock_advance_to(struct tpm *t, uint64_t v)
{
    if ((v | CLOCK_NV_MASK) > (t->p.clock | CLOCK_NV_MASK)) {
        t->clock_nv_due = true;
        pers_changed(t); /* the host commits it before the response leaves */
    }
    t->p.clock = v;
}

uint64_t tpm_clock(struct tpm *t)
{
    uint64_t now = tpm_now(t);
    if (now > t->clock_ms) {
        uint64_t d = now - t->clock_ms;
        int64_t adj = (int64_t)d * t->clock_rate / 1000000;
        clock_advance_to(t, t->p.clock + (uint64_t)((int64_t)d + adj));
    }
    t->clock_ms = now;
    return t->p.clock;
}

void tpm_clock_set(struct tpm *t, uint64_t v)
{
    (void)tpm_clock(t);
    clock_advance_to(t, v);
    pers_changed(t);
}

void tpm_time_info(struct tpm *t, TPMS_TIME_INFO *out)
{
    out->time = t->time_base + (tpm_now(t) - t->time_host);
    out->clockInfo.clock = tpm_clock(t);
    out->clockInfo.resetCount = t->p.reset_count;
    out->clockInfo.restartCount = t->sr.restart_count;
    out->clockInfo.safe = t->clock_safe;
}

TPM_RC tpm_fail(struct tpm *t, TPM_RC why)
{
    t->failure = true;
    t->failure_rc = why;
    return TPM_RC_FAILURE;
}

void tpm_enter_failure(struct tpm *t)
{
    (void)tpm_fail(t, TPM_RC_FAILURE);
}

struct tpm *tpm_new(const struct tpm_profile *profile, const struct tpm_host *host)
{
    struct tpm *t = calloc(1, sizeof(*t));
    if (!t) {
        return NULL;
    }
    if (profile) {
        t->profile = *profile;
    } else {
        tpm_profile_default(&t->profile);
    }
    if (host) {
        t->host = *host;
    }
    if (tpm_manufacture(t) != TPM_RC_SUCCESS) {
        tpm_free(t);
        return NULL;
    }
    return t;
}

static void drtm_abort(struct tpm *t)
{
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        hash_abort(&t->drtm.h[b]);
    }
    t->drtm.active = false;
}

void tpm_free(struct tpm *t)
{
    if (!t) {
        return;
    }
    object_flush_all(t);
    context_reset(t);
    session_flush_all(t);
    drtm_abort(t);
    sign_cache_clear(t);
    nv_state_free(&t->p.nv);
    secret_wipe(t, sizeof(*t));
    free(t);
}

void tpm_init(struct tpm *t)
{
    object_flush_all(t);
    sign_cache_clear(t);
    context_reset(t);
    session_flush_loaded(t);
    drtm_abort(t);
    t->powered = true;
    t->started = false;
    t->failure = false;
    t->pcr_reconfig = false;
    t->time_base = 0;
    t->time_host = tpm_now(t);
}

void tpm_power_off(struct tpm *t)
{
    object_flush_all(t);
    sign_cache_clear(t);
    context_reset(t);
    session_flush_loaded(t);
    drtm_abort(t);
    t->powered = false;
    t->started = false;
}

bool tpm_is_powered(const struct tpm *t)
{
    return t->powered;
}

size_t tpm_execute(struct tpm *t, unsigned locality, const uint8_t *cmd, size_t len,
                   uint8_t *rsp, size_t cap)
{
    if (!t->powered) {
        return tpm_error_response(TPM_RC_FAILURE, rsp, cap);
    }
    if (locality > 4) {
        return tpm_error_response(TPM_RC_LOCALITY, rsp, cap);
    }
    return cmd_execute(t, locality, cmd, len, rsp, cap);
}

bool tpm_state_dirty(const struct tpm *t)
{
    return t->dirty;
}

bool tpm_established(const struct tpm *t)
{
    return t->p.established;
}

bool tpm_reset_established(struct tpm *t, unsigned locality)
{
    if (locality != 3 && locality != 4) {
        return false;
    }
    if (t->p.established) {
        t->p.established = false;
        t->dirty = true;
    }
    return true;
}

/* Part 3 §11.3.2 _TPM_Hash_Start: an event sequence in every bank. */
int tpm_hash_start(struct tpm *t)
{
    if (!t->powered || !t->started) {
        return -1;
    }
    drtm_abort(t);
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        if (!hash_begin(&t->drtm.h[b], hash_table[b].alg)) {
            drtm_abort(t);
            return -1;
        }
    }
    t->drtm.active = true;
    return 0;
}

int tpm_hash_data(struct tpm *t, const uint8_t *p, size_t len)
{
    if (!t->drtm.active) {
        return -1;
    }
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        hash_update(&t->drtm.h[b], p, len);
    }
    return 0;
}

/* Part 3 §11.3.4 _TPM_Hash_End: DRTM PCRs reset, PCR 17 extended, TPM established. */
int tpm_hash_end(struct tpm *t)
{
    uint8_t d[HASH_COUNT][MAX_DIGEST_SIZE];
    bool ok = t->drtm.active;
    for (unsigned b = 0; ok && b < HASH_COUNT; b++) {
        ok = hash_end(&t->drtm.h[b], d[b]);
    }
    drtm_abort(t);
    if (!ok) {
        return -1;
    }
    pcr_drtm(t, d);
    if (!t->p.established) {
        t->p.established = true;
        t->dirty = true;
    }
    return 0;
}

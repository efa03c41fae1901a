/*
 * Manufacture, and the saved form of the engine's state (tpm_state_save / tpm_state_load).
 *
 * Layout (docs/STATE-FORMAT.md): a header { u32 magic "VTPS", u16 version, u16 part } and a
 * run of sections { u16 tag, u32 length, body }. Bodies are marshaled field by field, never
 * as struct images. A reader skips sections it does not know and ignores bytes past the
 * fields it knows at the end of a section, so an older reader opens a newer file's known
 * parts; a section that a newer writer grew gets its missing tail from the defaults.
 * Loading parses into a copy and replaces the live state only when everything was valid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "auth.h"
#include "engine.h"
#include "marshal.h"
#include "nv.h"
#include "object.h"
#include "session.h"

#define STATE_MAGIC 0x56545053 /* "VTPS" */
#define STATE_VERSION 1

enum {
    SEC_SEEDS = 0x0001,
    SEC_HIERARCHY = 0x0002,
    SEC_DA = 0x0003,
    SEC_PCR_ALLOC = 0x0004,
    SEC_MISC = 0x0005,
    SEC_SAVED = 0x0006,
    SEC_SAVED_SESSIONS = 0x0007,
    SEC_AUDIT = 0x0008,
    SEC_PERSIST = 0x0009, /* persistent objects (EvictControl) */
    SEC_NV = 0x0010,      /* NV indices (nv.c): their definitions and data as in NV */
    SEC_FLAGS = 0x0101,
    SEC_STCLEAR = 0x0102,
    SEC_STRESET = 0x0103,
    SEC_SESSIONS = 0x0104,
    SEC_OBJECTS = 0x0106, /* loaded transient keys */
    SEC_CLOCK = 0x0105,  /* Clock when the volatile state was taken */
    SEC_NV_RAM = 0x0110, /* live copies of orderly NV indices (nv.c) */
};

TPM_RC tpm_manufacture(struct tpm *t)
{
    struct tpm_pers *p = &t->p;
    nv_state_free(&p->nv);
    secret_wipe_sparse(p, sizeof(*p)); /* on a new engine: all zero, and left unwritten */
    CHECK(crypto_random(p->eps, SEED_BYTES) && crypto_random(p->sps, SEED_BYTES) &&
              crypto_random(p->pps, SEED_BYTES) && crypto_random(p->eh_proof, PROOF_BYTES) &&
              crypto_random(p->sh_proof, PROOF_BYTES) &&
              crypto_random(p->ph_proof, PROOF_BYTES),
          TPM_RC_FAILURE);
    p->owner_policy.alg = TPM_ALG_NULL;
    p->endorsement_policy.alg = TPM_ALG_NULL;
    p->lockout_policy.alg = TPM_ALG_NULL;
    da_defaults(&p->da);
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        p->pcr_alloc[b] = (t->profile.pcr_banks >> b) & 1 ? (1u << IMPLEMENTATION_PCR) - 1 : 0;
    }
    p->orderly = TPM_SU_CLEAR; /* a new chip: its clock is safe */
    p->firmware_v1 = t->profile.firmware_v1;
    p->firmware_v2 = t->profile.firmware_v2;
    p->audit_alg = TPM_ALG_SHA256;
    t->clock_ms = tpm_now(t);
    t->clock_safe = true;
    t->dirty = true;
    return TPM_RC_SUCCESS;
}

/* ---- writing ---- */

static size_t sec_begin(struct wr *w, uint16_t tag)
{
    wr_u16(w, tag);
    return wr_size32_begin(w);
}

static void wr_policy(struct wr *w, const struct policy *p)
{
    wr_u16(w, p->alg);
    WR_TPM2B(w, &p->digest);
}

static void wr_masks(struct wr *w, const uint32_t masks[HASH_COUNT])
{
    wr_u8(w, HASH_COUNT);
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        wr_u16(w, hash_table[b].alg);
        wr_u32(w, masks[b]);
    }
}

static void wr_stclear(struct wr *w, const struct tpm_stclear *sc)
{
    wr_u8(w, (uint8_t)(sc->ph_enable | sc->sh_enable << 1 | sc->eh_enable << 2 |
                       sc->ph_enable_nv << 3));
    WR_TPM2B(w, &sc->platform_auth);
    wr_policy(w, &sc->platform_policy);
    wr_u32(w, sc->pcr_update_counter);
    wr_u8(w, HASH_COUNT);
    wr_u8(w, IMPLEMENTATION_PCR);
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        wr_u16(w, hash_table[b].alg);
        for (unsigned i = 0; i < IMPLEMENTATION_PCR; i++) {
            wr_bytes(w, sc->pcr[b][i], hash_table[b].size);
        }
    }
}

static void wr_streset(struct wr *w, const struct tpm_streset *sr)
{
    WR_TPM2B(w, &sr->command_audit_digest);
    wr_bytes(w, sr->null_proof, PROOF_BYTES);
    wr_bytes(w, sr->null_seed, SEED_BYTES);
    wr_u32(w, sr->restart_count);
    wr_u32(w, sr->clear_count);
    wr_u64(w, sr->object_context_id);
    wr_u64(w, sr->context_counter);
    wr_masks(w, sr->pcr_active);
    /* added after version 1's first release: readers take a missing tail as absent */
    wr_bytes(w, sr->commit_nonce, COMMIT_NONCE_BYTES);
    wr_u64(w, sr->commit_counter);
    wr_u8(w, COMMIT_SLOTS / 8);
    wr_bytes(w, sr->commit_array, COMMIT_SLOTS / 8);
}

static void wr_session(struct wr *w, const struct session *x)
{
    wr_u32(w, x->handle);
    wr_u8(w, x->type);
    wr_u8(w, x->saved);
    wr_u16(w, x->auth_hash);
    wr_u16(w, x->symmetric.algorithm);
    wr_u16(w, x->symmetric.keyBits);
    wr_u16(w, x->symmetric.mode);
    WR_TPM2B(w, &x->nonce_tpm);
    WR_TPM2B(w, &x->session_key);
    wr_u64(w, x->context_seq);
    wr_u8(w, x->bound);
    WR_TPM2B(w, &x->bind_name);
    WR_TPM2B(w, &x->bind_auth);
    WR_TPM2B(w, &x->policy_digest);
    wr_u8(w, x->cc_set);
    wr_u32(w, x->command_code);
    WR_TPM2B(w, &x->cp_hash);
    WR_TPM2B(w, &x->name_hash);
    WR_TPM2B(w, &x->template_hash);
    wr_u8(w, x->locality_mask);
    wr_u8(w, (uint8_t)(x->need_auth_value | x->need_password << 1 | x->need_pp << 2 |
                       x->pcr_set << 3 | x->nv_written_set << 4 | x->nv_written << 5 |
                       x->audit << 6));
    wr_u32(w, x->pcr_counter);
    wr_u64(w, x->timeout_ms);
    WR_TPM2B(w, &x->audit_digest);
}

/* Sessions as a count and records; only_saved keeps just the context-saved ones. */
static void wr_sessions(struct wr *w, const struct tpm *t, bool only_saved)
{
    uint16_t n = 0;
    for (size_t i = 0; i < MAX_ACTIVE_SESSIONS; i++) {
        n += t->sessions[i].used && (!only_saved || t->sessions[i].saved);
    }
    wr_u16(w, n);
    for (size_t i = 0; i < MAX_ACTIVE_SESSIONS; i++) {
        if (t->sessions[i].used && (!only_saved || t->sessions[i].saved)) {
            wr_session(w, &t->sessions[i]);
        }
    }
}

/* One key object: { u32 handle, u8 flags, u32 hierarchy, TPM2B_PUBLIC, TPM2B_SENSITIVE
 * (authValue in it), TPM2B_NAME qualifiedName }. Persistent objects and, in the volatile
 * part, loaded transient keys. */
static void wr_object(struct wr *w, const struct object *o)
{
    TPMT_SENSITIVE s;
    wr_u32(w, o->handle);
    wr_u8(w, o->flags);
    wr_u32(w, o->hierarchy);
    wr_TPM2B_PUBLIC(w, &o->pub);
    if (o->flags & OBJF_PUBLIC_ONLY) {
        wr_u16(w, 0); /* a public area loaded alone: no sensitive part */
    } else {
        s = o->sens;
        memcpy(&s.authValue, &o->auth, sizeof(s.authValue));
        wr_TPM2B_SENSITIVE(w, &s);
        secret_wipe(&s, sizeof(s));
    }
    WR_TPM2B(w, &o->qname);
}

static void save_permanent(struct tpm *t, struct wr *w)
{
    const struct tpm_pers *p = &t->p;
    size_t m;

    m = sec_begin(w, SEC_SEEDS);
    wr_bytes(w, p->eps, SEED_BYTES);
    wr_bytes(w, p->sps, SEED_BYTES);
    wr_bytes(w, p->pps, SEED_BYTES);
    wr_bytes(w, p->eh_proof, PROOF_BYTES);
    wr_bytes(w, p->sh_proof, PROOF_BYTES);
    wr_bytes(w, p->ph_proof, PROOF_BYTES);
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_HIERARCHY);
    WR_TPM2B(w, &p->owner_auth);
    WR_TPM2B(w, &p->endorsement_auth);
    WR_TPM2B(w, &p->lockout_auth);
    wr_policy(w, &p->owner_policy);
    wr_policy(w, &p->endorsement_policy);
    wr_policy(w, &p->lockout_policy);
    wr_u8(w, p->disable_clear);
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_DA);
    wr_u32(w, p->da.failed_tries);
    wr_u32(w, p->da.max_tries);
    wr_u32(w, p->da.recovery_time);
    wr_u32(w, p->da.lockout_recovery);
    wr_u8(w, p->da.lockout_auth_enabled);
    wr_u64(w, p->da.self_heal_ms);
    wr_u64(w, p->da.lockout_heal_ms);
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_AUDIT);
    wr_u16(w, p->audit_alg);
    wr_u64(w, p->audit_counter);
    wr_u8(w, AUDIT_CC_BYTES);
    wr_bytes(w, p->audit_cc, AUDIT_CC_BYTES);
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_PCR_ALLOC);
    wr_masks(w, p->pcr_alloc);
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_MISC);
    wr_u16(w, p->orderly);
    wr_u32(w, p->reset_count);
    wr_u64(w, p->clock);
    wr_u32(w, p->firmware_v1);
    wr_u32(w, p->firmware_v2);
    wr_u8(w, p->established);
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_NV);
    nv_state_write(w, &p->nv);
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_PERSIST);
    wr_u8(w, (uint8_t)object_persistent_count(t));
    for (size_t i = 0; i < MAX_PERSISTENT; i++) {
        if (p->persist[i].kind != OBJ_FREE) {
            wr_object(w, &p->persist[i]);
        }
    }
    wr_size32_end(w, m);

    if (p->saved_valid) {
        m = sec_begin(w, SEC_SAVED);
        wr_stclear(w, &p->saved_sc);
        wr_streset(w, &p->saved_sr);
        wr_size32_end(w, m);
        m = sec_begin(w, SEC_SAVED_SESSIONS);
        wr_sessions(w, t, true);
        wr_size32_end(w, m);
    }
}

static void save_volatile(struct tpm *t, struct wr *w)
{
    size_t m = sec_begin(w, SEC_FLAGS);
    wr_u8(w, t->started);
    wr_u8(w, t->failure);
    wr_u32(w, t->failure_rc);
    wr_u8(w, t->pcr_reconfig);
    wr_u8(w, t->clock_safe);
    wr_u64(w, t->time_base + (tpm_now(t) - t->time_host));
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_STCLEAR);
    wr_stclear(w, &t->sc);
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_STRESET);
    wr_streset(w, &t->sr);
    wr_size32_end(w, m);

    /* Loaded keys come back after a migration. Sequence objects do not: OpenSSL cannot
     * export a running hash (docs/ENGINE.md). */
    m = sec_begin(w, SEC_OBJECTS);
    uint8_t nkeys = 0;
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        nkeys += t->objects[i].kind == OBJ_KEY;
    }
    wr_u8(w, nkeys);
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        if (t->objects[i].kind == OBJ_KEY) {
            wr_object(w, &t->objects[i]);
        }
    }
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_SESSIONS);
    wr_sessions(w, t, false);
    wr_size32_end(w, m);

    m = sec_begin(w, SEC_NV_RAM);
    nv_ram_write(w, &t->p.nv, &t->nv_ram);
    wr_size32_end(w, m);

    /* A volatile snapshot is a TPM that kept running: its Clock may be ahead of the last NV
     * copy (tpm.c), and restoring the snapshot must not take Clock back. */
    m = sec_begin(w, SEC_CLOCK);
    wr_u64(w, t->p.clock);
    wr_size32_end(w, m);
}

void tpm_buf_free(struct tpm_buf *b)
{
    if (b->data) {
        secret_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

int tpm_state_save(struct tpm *t, enum tpm_state_part part, struct tpm_buf *out)
{
    size_t cap = 16384;
    (void)tpm_clock(t); /* bring the persistent clock up to date before saving it */
    for (;;) {
        uint8_t *p = malloc(cap);
        struct wr w;
        if (!p) {
            return -ENOMEM;
        }
        wr_init(&w, p, cap);
        wr_u32(&w, STATE_MAGIC);
        wr_u16(&w, STATE_VERSION);
        wr_u16(&w, (uint16_t)part);
        if (part == TPM_STATE_PERMANENT) {
            save_permanent(t, &w);
        } else {
            save_volatile(t, &w);
        }
        if (!w.err) {
            tpm_buf_free(out);
            out->data = p;
            out->len = w.off;
            out->cap = cap;
            if (part == TPM_STATE_PERMANENT) {
                t->dirty = false;
                if (t->clock_nv_due) {
                    /* Clock's NV copy reached a new interval (tpm.c): it is safe again. */
                    t->clock_safe = true;
                    t->clock_nv_due = false;
                }
            }
            return 0;
        }
        secret_wipe(p, cap);
        free(p);
        cap *= 2;
        if (cap > (64u << 20)) {
            return -ENOMEM;
        }
    }
}

/* ---- reading ---- */

static bool rd_auth(struct rd *r, TPM2B_AUTH *a)
{
    return RD_TPM2B(r, a) == TPM_RC_SUCCESS;
}

static bool rd_policy(struct rd *r, struct policy *p)
{
    if (!rd_u16(r, &p->alg) || RD_TPM2B(r, &p->digest) != TPM_RC_SUCCESS) {
        return false;
    }
    return p->alg == TPM_ALG_NULL || p->digest.size == hash_size(p->alg);
}

static bool rd_flag(struct rd *r, bool *v)
{
    uint8_t b;
    if (!rd_u8(r, &b) || b > 1) {
        return false;
    }
    *v = b;
    return true;
}

/* Per-bank masks, matched by algorithm: a bank this build lacks is dropped. */
static bool rd_masks(struct rd *r, uint32_t masks[HASH_COUNT])
{
    uint8_t n;
    if (!rd_u8(r, &n)) {
        return false;
    }
    memset(masks, 0, HASH_COUNT * sizeof(uint32_t));
    for (unsigned k = 0; k < n; k++) {
        uint16_t alg;
        uint32_t mask;
        if (!rd_u16(r, &alg) || !rd_u32(r, &mask) || mask >> IMPLEMENTATION_PCR) {
            return false;
        }
        const struct hash_info *h = hash_info(alg);
        if (h) {
            masks[h->bank] = mask;
        }
    }
    return true;
}

static bool rd_stclear(struct rd *r, struct tpm_stclear *sc)
{
    uint8_t flags, banks, pcrs;
    if (!rd_u8(r, &flags) || flags > 0xF || !rd_auth(r, &sc->platform_auth) ||
        !rd_policy(r, &sc->platform_policy) || !rd_u32(r, &sc->pcr_update_counter) ||
        !rd_u8(r, &banks) || !rd_u8(r, &pcrs) || pcrs != IMPLEMENTATION_PCR) {
        return false;
    }
    sc->ph_enable = flags & 1;
    sc->sh_enable = flags >> 1 & 1;
    sc->eh_enable = flags >> 2 & 1;
    sc->ph_enable_nv = flags >> 3 & 1;
    for (unsigned k = 0; k < banks; k++) {
        uint16_t alg;
        if (!rd_u16(r, &alg)) {
            return false;
        }
        const struct hash_info *h = hash_info(alg);
        if (!h) {
            return false; /* PCR values of a bank we cannot size */
        }
        for (unsigned i = 0; i < IMPLEMENTATION_PCR; i++) {
            if (!rd_bytes(r, sc->pcr[h->bank][i], h->size)) {
                return false;
            }
        }
    }
    return true;
}

/* The commit state at the end of state-reset data: a writer older than it left it out, and
 * then no commit is outstanding and a fresh nonce is drawn. */
static bool rd_commit(struct rd *r, struct tpm_streset *sr)
{
    uint8_t n;
    memset(sr->commit_array, 0, sizeof(sr->commit_array));
    sr->commit_counter = 0;
    if (rd_left(r) == 0) {
        return crypto_random(sr->commit_nonce, COMMIT_NONCE_BYTES);
    }
    if (!rd_bytes(r, sr->commit_nonce, COMMIT_NONCE_BYTES) || !rd_u64(r, &sr->commit_counter) ||
        !rd_u8(r, &n)) {
        return false;
    }
    /* A different bitmap size: keep what fits; anything outstanding beyond is dropped. */
    size_t keep = n < sizeof(sr->commit_array) ? n : sizeof(sr->commit_array);
    return rd_bytes(r, sr->commit_array, keep) && rd_skip(r, n - keep);
}

static bool rd_streset(struct rd *r, struct tpm_streset *sr)
{
    return RD_TPM2B(r, &sr->command_audit_digest) == TPM_RC_SUCCESS &&
           rd_bytes(r, sr->null_proof, PROOF_BYTES) && rd_bytes(r, sr->null_seed, SEED_BYTES) &&
           rd_u32(r, &sr->restart_count) && rd_u32(r, &sr->clear_count) &&
           rd_u64(r, &sr->object_context_id) && rd_u64(r, &sr->context_counter) &&
           rd_masks(r, sr->pcr_active) && rd_commit(r, sr);
}

/* One object record (wr_object), checked as a Load would check it; its handle must be of
 * type ht. */
static bool rd_object(struct rd *r, struct object *o, uint8_t ht)
{
    TPMT_PUBLIC pub;
    TPMT_SENSITIVE sens;
    TPM_HANDLE h = 0, hier = 0;
    uint8_t flags = 0;
    uint16_t empty = 0;
    TPM2B_NAME qn;
    bool ok = rd_u32(r, &h) && (h >> HR_SHIFT) == ht && rd_u8(r, &flags) && rd_u32(r, &hier) &&
              (hier == TPM_RH_OWNER || hier == TPM_RH_ENDORSEMENT || hier == TPM_RH_PLATFORM ||
               (ht == TPM_HT_TRANSIENT && hier == TPM_RH_NULL)) &&
              rd_TPM2B_PUBLIC(r, &pub, ht == TPM_HT_TRANSIENT) == TPM_RC_SUCCESS;
    bool public_only = flags & OBJF_PUBLIC_ONLY;
    ok = ok && (public_only ? rd_u16(r, &empty) && empty == 0
                            : rd_TPM2B_SENSITIVE(r, &sens) == TPM_RC_SUCCESS) &&
         RD_TPM2B(r, &qn) == TPM_RC_SUCCESS &&
         object_install(o, hier, NULL, &pub, public_only ? NULL : &sens, flags) == TPM_RC_SUCCESS;
    secret_wipe(&sens, sizeof(sens));
    if (ok) {
        o->handle = h;
        o->qname = qn;
    }
    return ok;
}

/* The persistent objects. */
static bool rd_persist(struct rd *r, struct tpm_pers *p)
{
    uint8_t n;
    if (!rd_u8(r, &n) || n > MAX_PERSISTENT) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        if (!rd_object(r, &p->persist[i], TPM_HT_PERSISTENT)) {
            return false;
        }
        for (unsigned j = 0; j < i; j++) {
            if (p->persist[j].handle == p->persist[i].handle) {
                return false;
            }
        }
    }
    return true;
}

/* Loaded transient keys of the volatile part, each back in its own slot (its handle). */
static bool rd_loaded_objects(struct rd *r, struct object *table)
{
    uint8_t n;
    if (!rd_u8(r, &n) || n > MAX_LOADED_OBJECTS) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        struct object o;
        memset(&o, 0, sizeof(o));
        if (!rd_object(r, &o, TPM_HT_TRANSIENT)) {
            object_free(&o);
            return false;
        }
        uint32_t idx = o.handle & HR_HANDLE_MASK;
        if (idx >= MAX_LOADED_OBJECTS || table[idx].kind != OBJ_FREE) {
            object_free(&o);
            return false;
        }
        table[idx] = o;
        secret_wipe(&o, sizeof(o));
    }
    return true;
}

static bool rd_digest_of(struct rd *r, TPM2B_DIGEST *d, TPM_ALG_ID alg, bool empty_ok)
{
    if (RD_TPM2B(r, d) != TPM_RC_SUCCESS) {
        return false;
    }
    return d->size == hash_size(alg) || (empty_ok && d->size == 0);
}

static bool rd_session(struct rd *r, struct session *x)
{
    uint8_t flags, saved, bound, cc_set;
    memset(x, 0, sizeof(*x));
    x->used = true;
    if (!rd_u32(r, &x->handle) || !rd_u8(r, &x->type) || !rd_u8(r, &saved) ||
        !rd_u16(r, &x->auth_hash) || !rd_u16(r, &x->symmetric.algorithm) ||
        !rd_u16(r, &x->symmetric.keyBits) || !rd_u16(r, &x->symmetric.mode)) {
        return false;
    }
    uint8_t ht = (uint8_t)(x->handle >> HR_SHIFT);
    bool type_ok = (x->type == TPM_SE_HMAC && ht == TPM_HT_HMAC_SESSION) ||
                   ((x->type == TPM_SE_POLICY || x->type == TPM_SE_TRIAL) &&
                    ht == TPM_HT_POLICY_SESSION);
    bool sym_ok = x->symmetric.algorithm == TPM_ALG_NULL ||
                  (x->symmetric.algorithm == TPM_ALG_XOR && hash_info(x->symmetric.keyBits)) ||
                  (alg_sym_bits_ok(x->symmetric.algorithm, x->symmetric.keyBits) &&
                   x->symmetric.mode == TPM_ALG_CFB);
    if (!type_ok || !sym_ok || saved > 1 || (x->handle & HR_HANDLE_MASK) >= MAX_ACTIVE_SESSIONS ||
        !hash_info(x->auth_hash)) {
        return false;
    }
    x->saved = saved;
    if (!rd_digest_of(r, &x->nonce_tpm, x->auth_hash, false) ||
        !rd_digest_of(r, &x->session_key, x->auth_hash, true) || !rd_u64(r, &x->context_seq) ||
        !rd_u8(r, &bound) || bound > 1 || RD_TPM2B(r, &x->bind_name) != TPM_RC_SUCCESS ||
        RD_TPM2B(r, &x->bind_auth) != TPM_RC_SUCCESS ||
        !rd_digest_of(r, &x->policy_digest, x->auth_hash, true) || !rd_u8(r, &cc_set) ||
        cc_set > 1 || !rd_u32(r, &x->command_code) ||
        !rd_digest_of(r, &x->cp_hash, x->auth_hash, true) ||
        !rd_digest_of(r, &x->name_hash, x->auth_hash, true) ||
        !rd_digest_of(r, &x->template_hash, x->auth_hash, true) || !rd_u8(r, &x->locality_mask) ||
        !rd_u8(r, &flags) || flags > 0x7F || !rd_u32(r, &x->pcr_counter) ||
        !rd_u64(r, &x->timeout_ms) || !rd_digest_of(r, &x->audit_digest, x->auth_hash, true)) {
        return false;
    }
    x->bound = bound;
    x->cc_set = cc_set;
    x->need_auth_value = flags & 1;
    x->need_password = flags >> 1 & 1;
    x->need_pp = flags >> 2 & 1;
    x->pcr_set = flags >> 3 & 1;
    x->nv_written_set = flags >> 4 & 1;
    x->nv_written = flags >> 5 & 1;
    x->audit = flags >> 6 & 1;
    return true;
}

/* Sessions into a table indexed by slot; a slot named twice is malformed. */
static bool rd_sessions(struct rd *r, struct session *table, bool only_saved)
{
    uint16_t n;
    if (!rd_u16(r, &n) || n > MAX_ACTIVE_SESSIONS) {
        return false;
    }
    for (uint16_t k = 0; k < n; k++) {
        struct session x;
        if (!rd_session(r, &x) || (only_saved && !x.saved)) {
            secret_wipe(&x, sizeof(x));
            return false;
        }
        struct session *slot = &table[x.handle & HR_HANDLE_MASK];
        bool dup = slot->used;
        *slot = x;
        secret_wipe(&x, sizeof(x));
        if (dup) {
            return false;
        }
    }
    return true;
}

static bool load_permanent_section(struct tpm_pers *p, struct session *sessions, uint16_t tag,
                                   struct rd *r, unsigned *seen)
{
    switch (tag) {
    case SEC_PERSIST:
        return rd_persist(r, p);
    case SEC_SEEDS:
        *seen |= 1;
        return rd_bytes(r, p->eps, SEED_BYTES) && rd_bytes(r, p->sps, SEED_BYTES) &&
               rd_bytes(r, p->pps, SEED_BYTES) && rd_bytes(r, p->eh_proof, PROOF_BYTES) &&
               rd_bytes(r, p->sh_proof, PROOF_BYTES) && rd_bytes(r, p->ph_proof, PROOF_BYTES);
    case SEC_HIERARCHY:
        *seen |= 2;
        return rd_auth(r, &p->owner_auth) && rd_auth(r, &p->endorsement_auth) &&
               rd_auth(r, &p->lockout_auth) && rd_policy(r, &p->owner_policy) &&
               rd_policy(r, &p->endorsement_policy) && rd_policy(r, &p->lockout_policy) &&
               rd_flag(r, &p->disable_clear);
    case SEC_DA:
        return rd_u32(r, &p->da.failed_tries) && rd_u32(r, &p->da.max_tries) &&
               rd_u32(r, &p->da.recovery_time) && rd_u32(r, &p->da.lockout_recovery) &&
               rd_flag(r, &p->da.lockout_auth_enabled) && rd_u64(r, &p->da.self_heal_ms) &&
               rd_u64(r, &p->da.lockout_heal_ms);
    case SEC_PCR_ALLOC:
        return rd_masks(r, p->pcr_alloc);
    case SEC_AUDIT: {
        uint8_t n;
        memset(p->audit_cc, 0, AUDIT_CC_BYTES);
        if (!rd_u16(r, &p->audit_alg) || !rd_u64(r, &p->audit_counter) || !rd_u8(r, &n) ||
            !rd_bytes(r, p->audit_cc, n < AUDIT_CC_BYTES ? n : AUDIT_CC_BYTES) ||
            (n > AUDIT_CC_BYTES && !rd_skip(r, n - AUDIT_CC_BYTES))) {
            return false;
        }
        return p->audit_alg == TPM_ALG_NULL || hash_info(p->audit_alg);
    }
    case SEC_MISC:
        *seen |= 4;
        if (!rd_u16(r, &p->orderly) || !rd_u32(r, &p->reset_count) || !rd_u64(r, &p->clock) ||
            !rd_u32(r, &p->firmware_v1) || !rd_u32(r, &p->firmware_v2) ||
            !rd_flag(r, &p->established)) {
            return false;
        }
        return p->orderly == TPM_SU_CLEAR || p->orderly == TPM_SU_STATE || p->orderly == SU_NONE;
    case SEC_SAVED:
        p->saved_valid = true;
        return rd_stclear(r, &p->saved_sc) && rd_streset(r, &p->saved_sr);
    case SEC_SAVED_SESSIONS:
        return rd_sessions(r, sessions, true);
    case SEC_NV:
        return nv_state_read(r, &p->nv);
    default:
        return true; /* a section from a newer version: skipped */
    }
}

struct vol_copy {
    bool started, failure, pcr_reconfig, clock_safe, has_clock;
    uint32_t failure_rc;
    uint64_t time;
    uint64_t clock;
    struct tpm_stclear sc;
    struct tpm_streset sr;
    struct session sessions[MAX_ACTIVE_SESSIONS];
    struct object objects[MAX_LOADED_OBJECTS];
    struct nv_ram nv_ram;
};

static bool load_volatile_section(const struct tpm *t, struct vol_copy *v, uint16_t tag,
                                  struct rd *r, unsigned *seen)
{
    switch (tag) {
    case SEC_FLAGS:
        *seen |= 1;
        return rd_flag(r, &v->started) && rd_flag(r, &v->failure) && rd_u32(r, &v->failure_rc) &&
               rd_flag(r, &v->pcr_reconfig) && rd_flag(r, &v->clock_safe) && rd_u64(r, &v->time);
    case SEC_STCLEAR:
        *seen |= 2;
        return rd_stclear(r, &v->sc);
    case SEC_STRESET:
        *seen |= 4;
        return rd_streset(r, &v->sr);
    case SEC_SESSIONS:
        return rd_sessions(r, v->sessions, false);
    case SEC_OBJECTS:
        return rd_loaded_objects(r, v->objects);
    case SEC_CLOCK:
        v->has_clock = true;
        return rd_u64(r, &v->clock);
    case SEC_NV_RAM:
        return nv_ram_read(r, &t->p.nv, &v->nv_ram);
    default:
        return true;
    }
}

int tpm_state_load(struct tpm *t, enum tpm_state_part part, const uint8_t *data, size_t len)
{
    struct rd r;
    uint32_t magic;
    uint16_t version, kind;
    unsigned seen = 0;
    bool ok = true;
    struct tpm_pers *p = NULL;
    struct session *ps = NULL; /* sessions saved with the permanent state */
    struct vol_copy *v = NULL;
    struct nv_ram *ram = NULL;
    int rc = -EINVAL;

    rd_init(&r, data, len);
    if (!rd_u32(&r, &magic) || magic != STATE_MAGIC || !rd_u16(&r, &version) ||
        version == 0 || version > STATE_VERSION || !rd_u16(&r, &kind) || kind != part) {
        return -EINVAL;
    }
    if (part == TPM_STATE_PERMANENT) {
        p = calloc(1, sizeof(*p));
        ps = calloc(MAX_ACTIVE_SESSIONS, sizeof(*ps));
        if (!p || !ps) {
            free(p);
            free(ps);
            return -ENOMEM;
        }
        /* Defaults for what an older writer did not record. */
        p->owner_policy.alg = p->endorsement_policy.alg = p->lockout_policy.alg = TPM_ALG_NULL;
        da_defaults(&p->da);
        memcpy(p->pcr_alloc, t->p.pcr_alloc, sizeof(p->pcr_alloc));
        p->audit_alg = TPM_ALG_SHA256;
    } else {
        if (!t->powered) {
            return -EINVAL;
        }
        v = calloc(1, sizeof(*v));
        if (!v) {
            return -ENOMEM;
        }
        /* Orderly NV indices absent from the image keep their NV copy. */
        nv_ram_init(&t->p.nv, &v->nv_ram);
    }
    while (ok && rd_left(&r) > 0) {
        uint16_t tag;
        uint32_t n;
        struct rd sec;
        ok = rd_u16(&r, &tag) && rd_u32(&r, &n) && rd_sub(&r, n, &sec);
        if (ok) {
            ok = p ? load_permanent_section(p, ps, tag, &sec, &seen)
                   : load_volatile_section(t, v, tag, &sec, &seen);
        }
    }
    ok = ok && !r.err && seen == 7;
    if (ok && p) {
        /* Orderly NV indices: as NV holds them after a power-on; a running TPM is being
         * rolled back past a failed commit and keeps the live values NV still agrees with. */
        ram = calloc(1, sizeof(*ram));
        if (!ram) {
            ok = false;
            rc = -ENOMEM;
        } else if (t->started) {
            nv_ram_rollback(&t->p.nv, &t->nv_ram, p->orderly != SU_NONE, &p->nv, ram);
        } else {
            nv_ram_init(&p->nv, ram);
        }
    }
    if (ok && p) {
        nv_state_free(&t->p.nv);
        secret_wipe_sparse(&t->p, sizeof(t->p));
        copy_sparse(&t->p, p, sizeof(*p)); /* most persistent-object slots are empty */
        p->nv.data = NULL; /* now t's */
        p->nv.cap = 0;
        t->clock_ms = tpm_now(t);
        t->dirty = false;
        t->nv_ram = *ram;
        if (p->saved_valid) {
            /* Saved session contexts wait for the Startup after this power cycle. */
            for (size_t i = 0; i < MAX_ACTIVE_SESSIONS; i++) {
                if (ps[i].used && !t->sessions[i].used) {
                    t->sessions[i] = ps[i];
                }
            }
        }
    } else if (ok && v) {
        object_flush_all(t);
        session_flush_all(t);
        copy_sparse(t->sessions, v->sessions, sizeof(t->sessions));
        copy_sparse(t->objects, v->objects, sizeof(t->objects));
        memset(v->objects, 0, sizeof(v->objects)); /* now owned by t */
        t->started = v->started;
        t->failure = v->failure;
        t->failure_rc = v->failure_rc;
        t->pcr_reconfig = v->pcr_reconfig;
        t->clock_safe = v->clock_safe;
        if (v->has_clock && v->clock > t->p.clock) {
            t->p.clock = v->clock;
            t->clock_ms = tpm_now(t);
            t->dirty = true;
        }
        t->time_base = v->time;
        t->time_host = tpm_now(t);
        t->sc = v->sc;
        t->sr = v->sr;
        t->nv_ram = v->nv_ram;
    }
    if (p) {
        nv_state_free(&p->nv);
        secret_wipe(p, sizeof(*p));
        free(p);
        secret_wipe(ps, MAX_ACTIVE_SESSIONS * sizeof(*ps));
        free(ps);
    }
    if (v) {
        for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
            if (v->objects[i].kind != OBJ_FREE) {
                object_free(&v->objects[i]); /* a failed load: what was read is released */
            }
        }
        secret_wipe(v, sizeof(*v));
        free(v);
    }
    if (ram) {
        secret_wipe(ram, sizeof(*ram));
        free(ram);
    }
    return ok ? 0 : rc;
}

/*
 * Authorization (see auth.h). Password authorization here (Part 1 §19.6.4, TPM_RS_PW);
 * HMAC and policy sessions are checked by session.c through the same entry point.
 */
#include "auth.h"

#include <string.h>

#include "../common/secret.h"

/* Default DA parameters: those Windows provisions (32 tries, 2 h healing, 24 h lockout). */
void da_defaults(struct da_state *da)
{
    memset(da, 0, sizeof(*da));
    da->max_tries = 32;
    da->recovery_time = 7200;
    da->lockout_recovery = 86400;
    da->lockout_auth_enabled = true;
}

/*
 * Self-healing (Part 1 §19.8.6): failedTries drops by one every recoveryTime seconds of
 * clock, and lockoutAuth comes back lockoutRecovery seconds after it failed. Both follow
 * from the persistent clock, so this derives state rather than changing it: nothing to commit.
 */
void da_update(struct tpm *t)
{
    struct da_state *da = &t->p.da;
    uint64_t now = tpm_clock(t);
    if (da->failed_tries > 0 && da->recovery_time > 0) {
        uint64_t step = (uint64_t)da->recovery_time * 1000;
        uint64_t healed = (now - da->self_heal_ms) / step;
        if (now < da->self_heal_ms) {
            da->self_heal_ms = now; /* the clock was set back: restart the period */
        } else if (healed > 0) {
            da->failed_tries = healed >= da->failed_tries ? 0 : da->failed_tries - (uint32_t)healed;
            da->self_heal_ms += healed * step;
        }
    }
    if (!da->lockout_auth_enabled && da->lockout_recovery > 0 &&
        now >= da->lockout_heal_ms + (uint64_t)da->lockout_recovery * 1000) {
        da->lockout_auth_enabled = true;
    }
}

bool da_in_lockout(struct tpm *t)
{
    da_update(t);
    return t->p.da.failed_tries >= t->p.da.max_tries;
}

/* A failed authorization (Part 1 §19.8.6.2): count it, commit it, name the failure. */
static TPM_RC da_failure(struct tpm *t, const struct entity *e)
{
    struct da_state *da = &t->p.da;
    if (e->is_lockout) {
        da->lockout_auth_enabled = false;
        da->lockout_heal_ms = tpm_clock(t);
        pers_changed(t);
        return TPM_RC_AUTH_FAIL;
    }
    if (!e->da_protected) {
        return TPM_RC_BAD_AUTH;
    }
    da_update(t);
    if (da->failed_tries == 0) {
        da->self_heal_ms = tpm_clock(t);
    }
    if (da->failed_tries < da->max_tries) {
        da->failed_tries++;
    }
    pers_changed(t);
    return TPM_RC_AUTH_FAIL;
}

void auth_set(TPM2B_AUTH *dst, const TPM2B_AUTH *src)
{
    uint16_t n = src->size;
    while (n > 0 && src->buffer[n - 1] == 0) {
        n--;
    }
    secret_wipe(dst, sizeof(*dst));
    memcpy(dst->buffer, src->buffer, n);
    dst->size = n;
}

/* Constant-time comparison of an authValue with what the caller sent. */
static bool auth_equal(const TPM2B_AUTH *stored, const TPM2B_AUTH *given)
{
    uint8_t a[MAX_DIGEST_SIZE] = {0}, b[MAX_DIGEST_SIZE] = {0};
    memcpy(a, stored->buffer, stored->size);
    memcpy(b, given->buffer, given->size);
    bool same = secret_eq(a, b, sizeof(a)) & (stored->size == given->size);
    secret_wipe(a, sizeof(a));
    secret_wipe(b, sizeof(b));
    return same;
}

/* Part 1 §19.7: may the authValue (password or HMAC) authorize this handle's role? */
static TPM_RC auth_role_allows_value(const struct cmd *c, unsigned hi, const struct entity *e)
{
    switch (c->def->h[hi].role) {
    case ROLE_USER:
        CHECK(e->user_with_auth, RC_H(TPM_RC_AUTH_UNAVAILABLE, hi + 1));
        return TPM_RC_SUCCESS;
    case ROLE_ADMIN:
        CHECK(e->admin_with_auth, RC_H(TPM_RC_AUTH_UNAVAILABLE, hi + 1));
        return TPM_RC_SUCCESS;
    default:
        return TPM_RC_AUTH_UNAVAILABLE; /* DUP: policy only */
    }
}

/* Part 1 §19.6.4: a password session (TPM_RS_PW) authorizing handle hi. */
static TPM_RC auth_password(struct tpm *t, struct cmd *c, unsigned hi, unsigned si)
{
    const struct cmd_session *s = &c->sess[si];
    struct entity e;
    CHECK(s->nonce_caller.size == 0, RC_S(TPM_RC_NONCE, si + 1));
    CHECK(!(s->attributes & (TPMA_SESSION_AUDIT | TPMA_SESSION_AUDITEXCLUSIVE |
                             TPMA_SESSION_AUDITRESET | TPMA_SESSION_DECRYPT |
                             TPMA_SESSION_ENCRYPT)),
          RC_S(TPM_RC_ATTRIBUTES, si + 1));
    TRY(entity_get(t, c->handles[hi], &e));
    TRY(auth_role_allows_value(c, hi, &e));
    if (e.is_lockout) {
        da_update(t);
        CHECK(t->p.da.lockout_auth_enabled, TPM_RC_LOCKOUT);
    } else if (e.da_protected) {
        CHECK(!da_in_lockout(t), TPM_RC_LOCKOUT);
    }
    if (!auth_equal(e.auth, &s->hmac)) {
        return RC_S(da_failure(t, &e), si + 1);
    }
    return TPM_RC_SUCCESS;
}

TPM_RC auth_check_all(struct tpm *t, struct cmd *c)
{
    unsigned si = 0;
    for (unsigned hi = 0; hi < c->def->n_handles; hi++) {
        if (c->def->h[hi].role == ROLE_NONE) {
            continue;
        }
        if (c->sess[si].handle == TPM_RS_PW) {
            TRY(auth_password(t, c, hi, si));
        } else {
            return TPM_RC_REFERENCE_S0 + si; /* no such session is loaded */
        }
        si++;
    }
    /* Sessions past the authorizations may only audit or encrypt: never a password. */
    for (; si < c->n_sessions; si++) {
        CHECK(c->sess[si].handle != TPM_RS_PW, RC_S(TPM_RC_HANDLE, si + 1));
        return TPM_RC_REFERENCE_S0 + si;
    }
    return TPM_RC_SUCCESS;
}

void auth_respond(struct tpm *t, struct cmd *c, struct wr *w)
{
    (void)t;
    for (unsigned si = 0; si < c->n_sessions; si++) {
        /* TPM_RS_PW: empty nonce, continueSession, empty hmac (Part 1 §19.6.4.2) */
        wr_u16(w, 0);
        wr_u8(w, TPMA_SESSION_CONTINUESESSION);
        wr_u16(w, 0);
    }
}

/*
 * Authorization (Part 1 §19) and parameter encryption (Part 1 §21) for every command:
 *
 *   auth_check_all   each session of the authorization area: password (§19.6.4), HMAC
 *                    (§19.6.5-19.6.9) or policy (§19.7); roles (§19.7.1); dictionary attack
 *   auth_decrypt     the first parameter, when a session has decrypt set (§21)
 *   auth_encrypt_response / auth_write_sessions   nonces rolled, the first response
 *                    parameter encrypted, then (after audit) rpHash, response
 *                    HMACs, sessions closed or policy state reset (§19.6.10, §18.8)
 *
 * cpHash covers the parameter area as it was received (encrypted), rpHash the response
 * parameters as they are sent (encrypted): the HMAC authenticates what travels.
 */
#include "auth.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "audit.h"
#include "nv.h"
#include "policy.h"
#include "session.h"

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
        if (now < da->self_heal_ms) {
            da->self_heal_ms = now; /* the clock was set back: restart the period */
        } else {
            uint64_t healed = (now - da->self_heal_ms) / step;
            if (healed > 0) {
                da->failed_tries =
                    healed >= da->failed_tries ? 0 : da->failed_tries - (uint32_t)healed;
                da->self_heal_ms += healed * step;
            }
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
    if (e->pin) {
        nv_pin_result(t, e->handle, false); /* NV PIN index: counted by the index (nv.c) */
    }
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

/* Lockout checks before an authValue is tried (Part 1 §19.8.6.1). */
static TPM_RC da_check(struct tpm *t, const struct entity *e)
{
    if (e->is_lockout) {
        da_update(t);
        CHECK(t->p.da.lockout_auth_enabled, TPM_RC_LOCKOUT);
    } else if (e->da_protected) {
        CHECK(!da_in_lockout(t), TPM_RC_LOCKOUT);
    }
    return TPM_RC_SUCCESS;
}

void auth_set(TPM2B_AUTH *dst, const TPM2B_AUTH *src)
{
    uint16_t n = src->size;
    while (n > 0 && src->buffer[n - 1] == 0) {
        n--;
    }
    TPM2B_AUTH tmp;
    memcpy(tmp.buffer, src->buffer, n);
    tmp.size = n;
    secret_wipe(dst, sizeof(*dst));
    memcpy(dst->buffer, tmp.buffer, n);
    dst->size = n;
    secret_wipe(&tmp, sizeof(tmp));
}

/* Constant-time comparison of two sized secrets (sizes are not secret). */
static bool b2_equal(const uint8_t *a, uint16_t alen, const uint8_t *b, uint16_t blen)
{
    uint8_t x[MAX_DIGEST_SIZE] = {0}, y[MAX_DIGEST_SIZE] = {0};
    if (alen > MAX_DIGEST_SIZE || blen > MAX_DIGEST_SIZE) {
        return false;
    }
    memcpy(x, a, alen);
    memcpy(y, b, blen);
    bool same = secret_eq(x, y, sizeof(x)) & (alen == blen);
    secret_wipe(x, sizeof(x));
    secret_wipe(y, sizeof(y));
    return same;
}

/*
 * Part 1 §19.7.1 (and the reference's rules for roles): does this handle's role need a
 * policy session? DUP always; ADMIN unless the object lets its authValue through
 * (adminWithPolicy CLEAR).
 */
static bool policy_required(const struct cmd *c, unsigned hi, const struct entity *e)
{
    switch (c->def->h[hi].role) {
    case ROLE_DUP:
        return true;
    case ROLE_ADMIN:
        return !e->admin_with_auth;
    default:
        return false;
    }
}

static bool entity_has_policy(const struct entity *e)
{
    return e->policy->alg != TPM_ALG_NULL && e->policy->digest.size > 0;
}

/* Is the session bound to this very entity with the authValue it still has? */
static bool bound_to(const struct session *s, const struct entity *e)
{
    return s->bound && s->bind_name.size == e->name.size &&
           memcmp(s->bind_name.buffer, e->name.buffer, e->name.size) == 0 &&
           b2_equal(s->bind_auth.buffer, s->bind_auth.size, e->auth->buffer, e->auth->size);
}

/* cpHash with the session's hash (Part 1 §18.7): code, handle names, parameters. */
bool auth_cp_hash(const struct cmd *c, TPM_ALG_ID alg, uint8_t *out)
{
    struct hash_state h;
    if (!hash_begin(&h, alg)) {
        return false;
    }
    hash_update_u32(&h, c->cc);
    for (unsigned i = 0; i < c->def->n_handles; i++) {
        hash_update(&h, c->names[i].buffer, c->names[i].size);
    }
    hash_update(&h, c->params, c->params_len);
    return hash_end(&h, out);
}

void auth_names(struct tpm *t, struct cmd *c)
{
    for (unsigned i = 0; i < c->def->n_handles; i++) {
        struct entity e;
        if (entity_get(t, c->handles[i], &e) == TPM_RC_SUCCESS) {
            c->names[i] = e.name;
        } else {
            entity_handle_name(c->handles[i], &c->names[i]);
        }
    }
}

bool auth_rp_hash(const struct cmd *c, TPM_ALG_ID alg, const uint8_t *rparams, size_t rlen,
                  uint8_t *out)
{
    struct hash_state h;
    if (!hash_begin(&h, alg)) {
        return false;
    }
    hash_update_u32(&h, TPM_RC_SUCCESS);
    hash_update_u32(&h, c->cc);
    hash_update(&h, rparams, rlen);
    return hash_end(&h, out);
}

/* sessionKey || authValue: the HMAC key and the parameter-encryption secret. */
static size_t session_value(const struct cmd *c, unsigned si, uint8_t *out)
{
    const struct session *s = c->session[si];
    size_t n = s->session_key.size;
    memcpy(out, s->session_key.buffer, n);
    if (c->include_auth[si]) {
        memcpy(out + n, c->auth_value[si].buffer, c->auth_value[si].size);
        n += c->auth_value[si].size;
    }
    return n;
}

/*
 * The command HMAC (Part 1 §19.6.5): HMAC(sessionKey || authValue, cpHash || nonceCaller ||
 * nonceTPM || nonceDecrypt || nonceEncrypt || sessionAttributes). The first session also
 * covers the nonces of another session used for decryption or encryption.
 */
static bool command_hmac(const struct cmd *c, unsigned si, const uint8_t *cphash,
                         uint8_t *out)
{
    const struct session *s = c->session[si];
    uint8_t key[2 * MAX_DIGEST_SIZE];
    size_t klen = session_value(c, si, key);
    struct hmac_state m;
    bool ok = hmac_begin(&m, s->auth_hash, key, klen);
    secret_wipe(key, sizeof(key));
    hmac_update(&m, cphash, hash_size(s->auth_hash));
    hmac_update(&m, c->sess[si].nonce_caller.buffer, c->sess[si].nonce_caller.size);
    hmac_update(&m, s->nonce_tpm.buffer, s->nonce_tpm.size);
    if (si == 0 && c->dec_session > 0) {
        const TPM2B_NONCE *n = &c->session[c->dec_session]->nonce_tpm;
        hmac_update(&m, n->buffer, n->size);
    }
    if (si == 0 && c->enc_session > 0 && c->enc_session != c->dec_session) {
        const TPM2B_NONCE *n = &c->session[c->enc_session]->nonce_tpm;
        hmac_update(&m, n->buffer, n->size);
    }
    hmac_update(&m, &c->sess[si].attributes, 1);
    return hmac_end(&m, out) && ok;
}

/* Part 1 §19.6.4: a password session (TPM_RS_PW) authorizing handle hi. */
static TPM_RC auth_password(struct tpm *t, struct cmd *c, unsigned hi, unsigned si,
                            const struct entity *e)
{
    const struct cmd_session *s = &c->sess[si];
    CHECK(s->nonce_caller.size == 0, RC_S(TPM_RC_NONCE, si + 1));
    CHECK(!(s->attributes & (TPMA_SESSION_AUDIT | TPMA_SESSION_AUDITEXCLUSIVE |
                             TPMA_SESSION_AUDITRESET | TPMA_SESSION_DECRYPT |
                             TPMA_SESSION_ENCRYPT)),
          RC_S(TPM_RC_ATTRIBUTES, si + 1));
    CHECK(!policy_required(c, hi, e), TPM_RC_AUTH_TYPE);
    CHECK(c->def->h[hi].role != ROLE_USER || e->user_with_auth, TPM_RC_AUTH_UNAVAILABLE);
    TRY(da_check(t, e));
    if (!b2_equal(e->auth->buffer, e->auth->size, s->hmac.buffer, s->hmac.size)) {
        return RC_S(da_failure(t, e), si + 1);
    }
    return TPM_RC_SUCCESS;
}

/* An HMAC session authorizing handle hi (Part 1 §19.6.5-19.6.9). */
static TPM_RC auth_hmac(struct tpm *t, struct cmd *c, unsigned hi, unsigned si,
                        const struct entity *e, const uint8_t *cphash)
{
    uint8_t expect[MAX_DIGEST_SIZE];
    struct session *s = c->session[si];
    CHECK(!policy_required(c, hi, e), TPM_RC_AUTH_TYPE);
    CHECK(c->def->h[hi].role != ROLE_USER || e->user_with_auth, TPM_RC_AUTH_UNAVAILABLE);
    TRY(da_check(t, e));
    /* A session bound to this entity already has its authValue in the sessionKey. */
    c->include_auth[si] = !bound_to(s, e);
    CHECK(command_hmac(c, si, cphash, expect), TPM_RC_FAILURE);
    bool ok = b2_equal(expect, hash_size(s->auth_hash), c->sess[si].hmac.buffer,
                       c->sess[si].hmac.size);
    secret_wipe(expect, sizeof(expect));
    if (!ok) {
        return RC_S(da_failure(t, e), si + 1);
    }
    return TPM_RC_SUCCESS;
}

/* A policy session authorizing handle hi (Part 1 §19.7, Part 3 §23). */
static TPM_RC auth_policy(struct tpm *t, struct cmd *c, unsigned hi, unsigned si,
                          const struct entity *e, const uint8_t *cphash)
{
    struct session *s = c->session[si];
    CHECK(s->type == TPM_SE_POLICY, RC_S(TPM_RC_POLICY_FAIL, si + 1)); /* a trial session */
    CHECK(entity_has_policy(e), TPM_RC_AUTH_UNAVAILABLE);
    /* The ADMIN and DUP roles: the policy must name the command it allows (PolicyCommandCode,
     * or PolicyDuplicationSelect for Duplicate), so that a policy satisfied for one
     * administrative command cannot serve another. */
    CHECK(s->cc_set || (c->def->h[hi].role != ROLE_ADMIN && c->def->h[hi].role != ROLE_DUP),
          RC_S(TPM_RC_POLICY_FAIL, si + 1));
    /* The policy must be the entity's, computed with the same hash (Part 1 §19.7.3). */
    CHECK(s->auth_hash == e->policy->alg &&
              b2_equal(s->policy_digest.buffer, s->policy_digest.size,
                       e->policy->digest.buffer, e->policy->digest.size),
          RC_S(TPM_RC_POLICY_FAIL, si + 1));
    TRY(policy_check_use(t, c, s, si, cphash));
    if (s->need_password) {
        /* PolicyPassword: the authValue in clear in the hmac field (Part 3 §23.18). */
        TRY(da_check(t, e));
        c->include_auth[si] = false;
        if (!b2_equal(e->auth->buffer, e->auth->size, c->sess[si].hmac.buffer,
                      c->sess[si].hmac.size)) {
            return RC_S(da_failure(t, e), si + 1);
        }
        return TPM_RC_SUCCESS;
    }
    uint8_t expect[MAX_DIGEST_SIZE];
    c->include_auth[si] = s->need_auth_value && !bound_to(s, e);
    if (s->need_auth_value) {
        TRY(da_check(t, e));
    }
    CHECK(command_hmac(c, si, cphash, expect), TPM_RC_FAILURE);
    bool ok = b2_equal(expect, hash_size(s->auth_hash), c->sess[si].hmac.buffer,
                       c->sess[si].hmac.size);
    secret_wipe(expect, sizeof(expect));
    if (!ok) {
        /* Without PolicyAuthValue no secret was tried: no dictionary-attack count. */
        return s->need_auth_value ? RC_S(da_failure(t, e), si + 1) : RC_S(TPM_RC_AUTH_FAIL, si + 1);
    }
    return TPM_RC_SUCCESS;
}

/* Attribute rules of one session (Part 1 §18.6.3, §21.1). */
static TPM_RC check_attributes(const struct tpm *t, struct cmd *c, unsigned si)
{
    TPMA_SESSION a = c->sess[si].attributes;
    struct session *s = c->session[si];
    if (a & TPMA_SESSION_DECRYPT) {
        CHECK(c->dec_session < 0 && (c->def->flags & CMDF_ENC_IN),
              RC_S(TPM_RC_ATTRIBUTES, si + 1));
        CHECK(s->symmetric.algorithm != TPM_ALG_NULL, RC_S(TPM_RC_SYMMETRIC, si + 1));
        c->dec_session = (int)si;
    }
    if (a & TPMA_SESSION_ENCRYPT) {
        CHECK(c->enc_session < 0 && (c->def->flags & CMDF_ENC_OUT),
              RC_S(TPM_RC_ATTRIBUTES, si + 1));
        CHECK(s->symmetric.algorithm != TPM_ALG_NULL, RC_S(TPM_RC_SYMMETRIC, si + 1));
        c->enc_session = (int)si;
    }
    if (a & TPMA_SESSION_AUDIT) {
        /* Audit is for HMAC sessions only. */
        CHECK(s->type == TPM_SE_HMAC, RC_S(TPM_RC_ATTRIBUTES, si + 1));
        /* auditExclusive asks that no other command ran since this session's last audit. */
        CHECK(!(a & TPMA_SESSION_AUDITEXCLUSIVE) || t->exclusive_audit == s->handle,
              TPM_RC_EXCLUSIVE);
    } else {
        CHECK(!(a & (TPMA_SESSION_AUDITEXCLUSIVE | TPMA_SESSION_AUDITRESET)),
              RC_S(TPM_RC_ATTRIBUTES, si + 1));
    }
    CHECK(c->sess[si].nonce_caller.size <= hash_size(s->auth_hash), RC_S(TPM_RC_SIZE, si + 1));
    return TPM_RC_SUCCESS;
}

TPM_RC auth_check_all(struct tpm *t, struct cmd *c)
{
    uint8_t cphash[HASH_COUNT][MAX_DIGEST_SIZE];
    bool have_cphash[HASH_COUNT] = {false};
    /* Names feed cpHash: needed by any session, and by command audit. */
    bool any_session = audit_is_audited(t, c->cc) && t->p.audit_alg != TPM_ALG_NULL;
    unsigned si;

    c->dec_session = c->enc_session = -1;
    /* Find the sessions; check their attributes before any secret is used. */
    for (si = 0; si < c->n_sessions; si++) {
        if (c->sess[si].handle == TPM_RS_PW) {
            continue;
        }
        c->session[si] = session_find(t, c->sess[si].handle);
        CHECK(c->session[si], TPM_RC_REFERENCE_S0 + si);
        for (unsigned k = 0; k < si; k++) {
            CHECK(c->sess[k].handle != c->sess[si].handle, RC_S(TPM_RC_HANDLE, si + 1));
        }
        TRY(check_attributes(t, c, si));
        any_session = true;
    }
    if (any_session) {
        auth_names(t, c);
    }

    si = 0;
    for (unsigned hi = 0; hi < c->def->n_handles; hi++) {
        struct entity e;
        if (c->def->h[hi].role == ROLE_NONE) {
            continue;
        }
        TRY(entity_get(t, c->handles[hi], &e));
        entity_for_command(t, c->cc, c->def->h[hi].role, &e); /* NV: read vs write (nv.c) */
        c->authorizes[si] = c->handles[hi];
        auth_set(&c->auth_value[si], e.auth);
        if (c->sess[si].handle == TPM_RS_PW) {
            TRY(auth_password(t, c, hi, si, &e));
            if (e.pin) {
                nv_pin_result(t, e.handle, true);
            }
            si++;
            continue;
        }
        const struct session *s = c->session[si];
        unsigned b = hash_info(s->auth_hash)->bank;
        if (!have_cphash[b]) {
            CHECK(auth_cp_hash(c, s->auth_hash, cphash[b]), TPM_RC_FAILURE);
            have_cphash[b] = true;
        }
        if (s->type == TPM_SE_HMAC) {
            TRY(auth_hmac(t, c, hi, si, &e, cphash[b]));
        } else {
            TRY(auth_policy(t, c, hi, si, &e, cphash[b]));
        }
        /* An NV PIN index counts each use of its authValue (nv.c). */
        if (e.pin && (s->type == TPM_SE_HMAC ? c->include_auth[si]
                                             : s->need_auth_value || s->need_password)) {
            nv_pin_result(t, e.handle, true);
        }
        si++;
    }
    /* Sessions past the authorizations may only audit or encrypt: HMAC sessions, whose
     * HMAC is keyed by the sessionKey alone. */
    for (; si < c->n_sessions; si++) {
        uint8_t expect[MAX_DIGEST_SIZE];
        struct session *s = c->session[si];
        CHECK(s, RC_S(TPM_RC_HANDLE, si + 1)); /* a password session with nothing to do */
        CHECK(s->type == TPM_SE_HMAC, RC_S(TPM_RC_ATTRIBUTES, si + 1));
        CHECK(c->sess[si].attributes &
                  (TPMA_SESSION_AUDIT | TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT),
              RC_S(TPM_RC_ATTRIBUTES, si + 1));
        unsigned b = hash_info(s->auth_hash)->bank;
        if (!have_cphash[b]) {
            CHECK(auth_cp_hash(c, s->auth_hash, cphash[b]), TPM_RC_FAILURE);
            have_cphash[b] = true;
        }
        c->include_auth[si] = false;
        CHECK(command_hmac(c, si, cphash[b], expect), TPM_RC_FAILURE);
        bool ok = b2_equal(expect, hash_size(s->auth_hash), c->sess[si].hmac.buffer,
                           c->sess[si].hmac.size);
        secret_wipe(expect, sizeof(expect));
        CHECK(ok, RC_S(TPM_RC_AUTH_FAIL, si + 1));
    }
    return TPM_RC_SUCCESS;
}

/*
 * Parameter encryption (Part 1 §21): the buffer of the first TPM2B parameter, with
 * AES-CFB (key and IV from KDFa "CFB") or XOR (mask from KDFa "XOR"). nonce_newer and
 * nonce_older are nonceCaller and nonceTPM for a command, the other way round for a response.
 */
static TPM_RC param_crypt(const struct cmd *c, unsigned si, bool encrypt,
                          const TPM2B_NONCE *newer, const TPM2B_NONCE *older, uint8_t *p,
                          size_t n)
{
    const struct session *s = c->session[si];
    uint8_t value[2 * MAX_DIGEST_SIZE];
    size_t vlen = session_value(c, si, value);
    bool ok;
    if (n == 0) {
        secret_wipe(value, sizeof(value));
        return TPM_RC_SUCCESS;
    }
    if (s->symmetric.algorithm == TPM_ALG_XOR) {
        uint8_t mask[MAX_COMMAND_SIZE];
        ok = n <= sizeof(mask) &&
             crypto_kdfa(s->auth_hash, value, vlen, "XOR", newer->buffer, newer->size,
                         older->buffer, older->size, (uint32_t)n * 8, mask);
        for (size_t i = 0; ok && i < n; i++) {
            p[i] ^= mask[i];
        }
        secret_wipe(mask, sizeof(mask));
    } else {
        uint8_t keyiv[MAX_SYM_KEY_BYTES + MAX_SYM_BLOCK_SIZE];
        uint16_t kbytes = s->symmetric.keyBits / 8;
        ok = crypto_kdfa(s->auth_hash, value, vlen, "CFB", newer->buffer, newer->size,
                         older->buffer, older->size,
                         (uint32_t)(kbytes + MAX_SYM_BLOCK_SIZE) * 8, keyiv) &&
             crypto_sym(s->symmetric.algorithm, s->symmetric.keyBits, TPM_ALG_CFB, encrypt,
                        keyiv, keyiv + kbytes, p, p, n);
        secret_wipe(keyiv, sizeof(keyiv));
    }
    secret_wipe(value, sizeof(value));
    return ok ? TPM_RC_SUCCESS : TPM_RC_FAILURE;
}

TPM_RC auth_decrypt(struct tpm *t, struct cmd *c, uint8_t *params, size_t len)
{
    (void)t;
    if (c->dec_session < 0) {
        return TPM_RC_SUCCESS;
    }
    /* The size of the first parameter is in clear; it must fit in what was sent. */
    struct rd r;
    uint16_t size;
    rd_init(&r, params, len);
    CHECK(rd_u16(&r, &size) && size <= rd_left(&r), RC_P(TPM_RC_SIZE, 1));
    unsigned si = (unsigned)c->dec_session;
    return param_crypt(c, si, false, &c->sess[si].nonce_caller, &c->session[si]->nonce_tpm,
                       params + 2, size);
}

/* The response HMAC (Part 1 §19.6.10 / §18.8): HMAC(key, rpHash || nonceTPM || nonceCaller
 * || sessionAttributes), with the entity's authValue as it is after the command. */
static bool response_hmac(struct tpm *t, struct cmd *c, unsigned si, const uint8_t *rphash,
                          uint8_t *out)
{
    const struct session *s = c->session[si];
    struct entity e;
    if (c->include_auth[si] && c->authorizes[si] &&
        entity_get(t, c->authorizes[si], &e) == TPM_RC_SUCCESS) {
        auth_set(&c->auth_value[si], e.auth);
    } else if (c->include_auth[si] && (c->authorizes[si] >> HR_SHIFT) == TPM_HT_NV_INDEX) {
        /* NV_UndefineSpaceSpecial deleted the index: its authValue is gone (EmptyAuth). */
        secret_wipe(&c->auth_value[si], sizeof(c->auth_value[si]));
    }
    uint8_t key[2 * MAX_DIGEST_SIZE];
    size_t klen = session_value(c, si, key);
    struct hmac_state m;
    bool ok = hmac_begin(&m, s->auth_hash, key, klen);
    secret_wipe(key, sizeof(key));
    hmac_update(&m, rphash, hash_size(s->auth_hash));
    hmac_update(&m, s->nonce_tpm.buffer, s->nonce_tpm.size);
    hmac_update(&m, c->sess[si].nonce_caller.buffer, c->sess[si].nonce_caller.size);
    hmac_update(&m, &c->sess[si].attributes, 1);
    return hmac_end(&m, out) && ok;
}

TPM_RC auth_encrypt_response(struct tpm *t, struct cmd *c, uint8_t *rparams, size_t rlen)
{
    (void)t;
    /* New nonces first: response encryption and HMACs use them. */
    for (unsigned si = 0; si < c->n_sessions; si++) {
        if (c->session[si]) {
            TRY(session_roll_nonce(c->session[si]));
        }
    }
    if (c->enc_session >= 0) {
        unsigned si = (unsigned)c->enc_session;
        uint16_t size = rlen >= 2 ? (uint16_t)(rparams[0] << 8 | rparams[1]) : 0;
        CHECK((size_t)size + 2 <= rlen, TPM_RC_FAILURE);
        TRY(param_crypt(c, si, true, &c->session[si]->nonce_tpm, &c->sess[si].nonce_caller,
                        rparams + 2, size));
    }
    return TPM_RC_SUCCESS;
}

TPM_RC auth_write_sessions(struct tpm *t, struct cmd *c, const uint8_t *rparams, size_t rlen,
                           struct wr *w)
{
    uint8_t rphash[HASH_COUNT][MAX_DIGEST_SIZE];
    bool have[HASH_COUNT] = {false};

    for (unsigned si = 0; si < c->n_sessions; si++) {
        struct session *s = c->session[si];
        if (!s) {
            /* TPM_RS_PW: empty nonce, continueSession, empty hmac (Part 1 §19.6.4.2) */
            wr_u16(w, 0);
            wr_u8(w, TPMA_SESSION_CONTINUESESSION);
            wr_u16(w, 0);
            continue;
        }
        /* The response's attributes (Part 1 §18.8): auditReset never set, auditExclusive set
         * when this session is the exclusive audit session now. The HMAC covers these. */
        TPMA_SESSION a = c->sess[si].attributes &
                         (TPMA_SESSION) ~(TPMA_SESSION_AUDITRESET | TPMA_SESSION_AUDITEXCLUSIVE);
        if ((a & TPMA_SESSION_AUDIT) && t->exclusive_audit == s->handle) {
            a |= TPMA_SESSION_AUDITEXCLUSIVE;
        }
        c->sess[si].attributes = a;
        unsigned b = hash_info(s->auth_hash)->bank;
        if (!have[b]) {
            CHECK(auth_rp_hash(c, s->auth_hash, rparams, rlen, rphash[b]), TPM_RC_FAILURE);
            have[b] = true;
        }
        uint8_t mac[MAX_DIGEST_SIZE];
        bool ok = s->type == TPM_SE_POLICY && s->need_password
                      ? true
                      : response_hmac(t, c, si, rphash[b], mac);
        CHECK(ok, TPM_RC_FAILURE);
        WR_TPM2B(w, &s->nonce_tpm);
        wr_u8(w, a);
        if (s->type == TPM_SE_POLICY && s->need_password) {
            wr_u16(w, 0); /* PolicyPassword: no response HMAC (Part 1 §19.6.13) */
        } else {
            wr_tpm2b(w, mac, hash_size(s->auth_hash));
        }
        secret_wipe(mac, sizeof(mac));
    }
    return TPM_RC_SUCCESS;
}

void auth_finish(struct tpm *t, struct cmd *c, bool success)
{
    (void)t;
    for (unsigned si = 0; si < c->n_sessions; si++) {
        struct session *s = c->session[si];
        secret_wipe(&c->auth_value[si], sizeof(c->auth_value[si]));
        if (!s || !success) {
            continue;
        }
        if (!(c->sess[si].attributes & TPMA_SESSION_CONTINUESESSION)) {
            session_free(s);
        } else if (s->type != TPM_SE_HMAC && c->authorizes[si]) {
            /* A policy is used once: it starts over for the next authorization. */
            session_policy_reset(s);
        }
    }
}

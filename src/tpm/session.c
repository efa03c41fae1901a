/*
 * Sessions: the session table and Part 3 §11.1 TPM2_StartAuthSession, §23.13
 * TPM2_PolicyRestart's reset. A session's handle is its slot, so a context-saved session
 * comes back with the same handle (the Linux resource manager relies on it).
 */
#include "session.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "auth.h"
#include "cmd.h"
#include "entity.h"
#include "object.h"

struct session *session_find_any(struct tpm *t, TPM_HANDLE h)
{
    uint8_t ht = (uint8_t)(h >> HR_SHIFT);
    uint32_t slot = h & HR_HANDLE_MASK;
    if ((ht != TPM_HT_HMAC_SESSION && ht != TPM_HT_POLICY_SESSION) ||
        slot >= MAX_ACTIVE_SESSIONS) {
        return NULL;
    }
    struct session *s = &t->sessions[slot];
    return s->used && s->handle == h ? s : NULL;
}

struct session *session_find(struct tpm *t, TPM_HANDLE h)
{
    struct session *s = session_find_any(t, h);
    return s && !s->saved ? s : NULL;
}

void session_free(struct session *s)
{
    secret_wipe(s, sizeof(*s));
}

void session_flush_loaded(struct tpm *t)
{
    for (size_t i = 0; i < MAX_ACTIVE_SESSIONS; i++) {
        if (t->sessions[i].used && !t->sessions[i].saved) {
            session_free(&t->sessions[i]);
        }
    }
}

void session_flush_all(struct tpm *t)
{
    secret_wipe_sparse(t->sessions, sizeof(t->sessions)); /* session_free of every slot */
}

unsigned session_loaded_count(const struct tpm *t)
{
    unsigned n = 0;
    for (size_t i = 0; i < MAX_ACTIVE_SESSIONS; i++) {
        n += t->sessions[i].used && !t->sessions[i].saved;
    }
    return n;
}

unsigned session_active_count(const struct tpm *t)
{
    unsigned n = 0;
    for (size_t i = 0; i < MAX_ACTIVE_SESSIONS; i++) {
        n += t->sessions[i].used;
    }
    return n;
}

unsigned session_list(const struct tpm *t, TPM_HANDLE first, bool saved, TPM_HANDLE *out,
                      unsigned max)
{
    /* HMAC handles (0x02..) sort before policy handles (0x03..): two passes. */
    unsigned n = 0;
    for (int pass = 0; pass < 2; pass++) {
        TPM_SE want = pass == 0 ? TPM_SE_HMAC : TPM_SE_POLICY;
        for (size_t i = 0; i < MAX_ACTIVE_SESSIONS && n < max; i++) {
            const struct session *s = &t->sessions[i];
            bool is_hmac = s->type == TPM_SE_HMAC;
            if (s->used && s->saved == saved && is_hmac == (want == TPM_SE_HMAC) &&
                s->handle >= first) {
                out[n++] = s->handle;
            }
        }
    }
    return n;
}

void session_policy_reset(struct session *s)
{
    uint16_t n = hash_size(s->auth_hash);
    memset(&s->policy_digest, 0, sizeof(s->policy_digest));
    s->policy_digest.size = n;
    s->cc_set = false;
    s->command_code = 0;
    memset(&s->cp_hash, 0, sizeof(s->cp_hash));
    memset(&s->name_hash, 0, sizeof(s->name_hash));
    memset(&s->template_hash, 0, sizeof(s->template_hash));
    s->locality_mask = 0;
    s->need_auth_value = false;
    s->need_password = false;
    s->need_pp = false;
    s->pcr_set = false;
    s->pcr_counter = 0;
    s->nv_written_set = false;
    s->nv_written = false;
    s->timeout_ms = 0;
}

TPM_RC session_roll_nonce(struct session *s)
{
    s->nonce_tpm.size = hash_size(s->auth_hash);
    CHECK(crypto_random(s->nonce_tpm.buffer, s->nonce_tpm.size), TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

/* A free slot; TPM_RC_SESSION_HANDLES when every handle is taken, TPM_RC_SESSION_MEMORY
 * when too many sessions are loaded (Part 3 §11.1.1). */
static TPM_RC session_alloc(struct tpm *t, TPM_SE type, struct session **out)
{
    CHECK(session_loaded_count(t) < MAX_LOADED_SESSIONS, TPM_RC_SESSION_MEMORY);
    for (size_t i = 0; i < MAX_ACTIVE_SESSIONS; i++) {
        struct session *s = &t->sessions[i];
        if (!s->used) {
            memset(s, 0, sizeof(*s));
            s->used = true;
            s->type = type;
            s->handle = (type == TPM_SE_HMAC ? HR_HMAC_SESSION : HR_POLICY_SESSION) |
                        (TPM_HANDLE)i;
            *out = s;
            return TPM_RC_SUCCESS;
        }
    }
    return TPM_RC_SESSION_HANDLES;
}

/* ---- Part 3 §11.1 TPM2_StartAuthSession ---- */

struct in_StartAuthSession {
    TPM2B_NONCE nonceCaller;
    TPM2B_ENCRYPTED_SECRET encryptedSalt;
    TPM_SE sessionType;
    TPMT_SYM_DEF symmetric;
    TPM_ALG_ID authHash;
};

struct out_StartAuthSession {
    TPM2B_NONCE nonceTPM;
};

static TPM_RC parse_StartAuthSession(struct rd *r, struct in_StartAuthSession *in)
{
    PARAM(1, RD_TPM2B(r, &in->nonceCaller));
    PARAM(2, RD_TPM2B(r, &in->encryptedSalt));
    PARAM(3, rd_U8(r, &in->sessionType));
    PARAM(3, in->sessionType == TPM_SE_HMAC || in->sessionType == TPM_SE_POLICY ||
                     in->sessionType == TPM_SE_TRIAL
                 ? TPM_RC_SUCCESS
                 : TPM_RC_VALUE);
    PARAM(4, rd_TPMT_SYM_DEF(r, &in->symmetric, NULL_OK));
    PARAM(5, rd_TPMI_ALG_HASH(r, &in->authHash, NO_NULL));
    return TPM_RC_SUCCESS;
}

static void emit_StartAuthSession(struct wr *w, const struct out_StartAuthSession *out)
{
    WR_TPM2B(w, &out->nonceTPM);
}

static TPM_RC cc_StartAuthSession(struct tpm *t, struct cmd *c,
                                  const struct in_StartAuthSession *in,
                                  struct out_StartAuthSession *out)
{
    TPM_HANDLE tpm_key = c->handles[0];
    TPM_HANDLE bind = c->handles[1];
    uint8_t salt[MAX_DIGEST_SIZE + MAX_RSA_KEY_BYTES];
    size_t salt_len = 0;
    struct entity e;
    struct session *s;
    TPM_RC rc;

    /* A block cipher for parameter encryption must run in CFB (Part 1 §21.3). */
    if (in->symmetric.algorithm != TPM_ALG_NULL && in->symmetric.algorithm != TPM_ALG_XOR) {
        PARAM(4, in->symmetric.mode == TPM_ALG_CFB ? TPM_RC_SUCCESS : TPM_RC_MODE);
    }
    /* nonceCaller: at least 16 octets, at most the session hash (Part 3 §11.1.1). */
    PARAM(1, in->nonceCaller.size >= 16 && in->nonceCaller.size <= hash_size(in->authHash)
                 ? TPM_RC_SUCCESS
                 : TPM_RC_SIZE);
    /* A PIN index is no bind entity: every use of its authValue must be counted (nv.c). */
    if (bind != TPM_RH_NULL && entity_get(t, bind, &e) == TPM_RC_SUCCESS && e.pin) {
        return RC_H(TPM_RC_HANDLE, 2);
    }
    if (tpm_key == TPM_RH_NULL) {
        PARAM(2, in->encryptedSalt.size == 0 ? TPM_RC_SUCCESS : TPM_RC_VALUE);
    } else {
        /* Salted sessions: the salt is decrypted with tpmKey (object.c). */
        TPM_RC src = object_decrypt_secret(t, tpm_key, "SECRET", in->encryptedSalt.buffer,
                                          in->encryptedSalt.size, salt, sizeof(salt),
                                          &salt_len);
        if (src != TPM_RC_SUCCESS) {
            secret_wipe(salt, sizeof(salt));
            return src == TPM_RC_KEY || src == TPM_RC_TYPE ? RC_H(src, 1) : RC_P(src, 2);
        }
    }

    rc = session_alloc(t, in->sessionType, &s);
    if (rc != TPM_RC_SUCCESS) {
        secret_wipe(salt, sizeof(salt));
        return rc;
    }
    s->auth_hash = in->authHash;
    s->symmetric = in->symmetric;
    if (session_roll_nonce(s) != TPM_RC_SUCCESS) {
        goto fail;
    }

    /* sessionKey = KDFa(authHash, bind.authValue || salt, "ATH", nonceTPM, nonceCaller)
     * when the session is bound or salted, Empty otherwise (Part 1 §19.6.8). */
    if (bind != TPM_RH_NULL || tpm_key != TPM_RH_NULL) {
        uint8_t secret[MAX_DIGEST_SIZE + sizeof(salt)];
        size_t n = 0;
        if (bind != TPM_RH_NULL) {
            if (entity_get(t, bind, &e) != TPM_RC_SUCCESS) {
                goto fail;
            }
            s->bound = true;
            s->bind_name = e.name;
            auth_set(&s->bind_auth, e.auth);
            memcpy(secret, s->bind_auth.buffer, s->bind_auth.size);
            n = s->bind_auth.size;
        }
        memcpy(secret + n, salt, salt_len);
        n += salt_len;
        uint16_t size = hash_size(s->auth_hash);
        bool ok = crypto_kdfa(s->auth_hash, secret, n, "ATH", s->nonce_tpm.buffer,
                              s->nonce_tpm.size, in->nonceCaller.buffer, in->nonceCaller.size,
                              size * 8u, s->session_key.buffer);
        secret_wipe(secret, sizeof(secret));
        if (!ok) {
            goto fail;
        }
        s->session_key.size = size;
    }
    secret_wipe(salt, sizeof(salt));
    if (s->type != TPM_SE_HMAC) {
        session_policy_reset(s);
    }
    c->out_handle = s->handle;
    out->nonceTPM = s->nonce_tpm;
    return TPM_RC_SUCCESS;

fail:
    secret_wipe(salt, sizeof(salt));
    session_free(s);
    return TPM_RC_FAILURE;
}

CMD_OPS(StartAuthSession);

/* ---- Part 3 §28.4 TPM2_FlushContext: a transient object or a session, loaded or saved ---- */

struct in_FlushContext {
    TPM_HANDLE flushHandle;
};

static TPM_RC parse_FlushContext(struct rd *r, struct in_FlushContext *in)
{
    PARAM(1, rd_U32(r, &in->flushHandle));
    uint8_t ht = (uint8_t)(in->flushHandle >> HR_SHIFT);
    /* TPMI_DH_CONTEXT */
    PARAM(1, ht == TPM_HT_TRANSIENT || ht == TPM_HT_HMAC_SESSION || ht == TPM_HT_POLICY_SESSION
                 ? TPM_RC_SUCCESS
                 : TPM_RC_VALUE);
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_FlushContext(struct tpm *t, struct cmd *c, const struct in_FlushContext *in,
                              struct out_none *out)
{
    (void)c;
    (void)out;
    if ((in->flushHandle >> HR_SHIFT) == TPM_HT_TRANSIENT) {
        struct object *o = object_find(t, in->flushHandle);
        PARAM(1, o ? TPM_RC_SUCCESS : TPM_RC_HANDLE);
        object_free(o);
        return TPM_RC_SUCCESS;
    }
    struct session *s = session_find_any(t, in->flushHandle);
    PARAM(1, s ? TPM_RC_SUCCESS : TPM_RC_HANDLE);
    session_free(s);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(FlushContext);

/*
 * The dispatcher: one pipeline for every command, in the order of Part 3 §5 ("Command
 * Processing"): header (§5.2), mode checks (§5.3), handle area (§5.4), authorization area
 * (§5.5, Part 1 §18-19), parameter area (§5.6), the handler, then the response (Part 1 §18.8).
 * Response codes from format-one failures carry the handle, session or parameter number here.
 */
#include "cmd.h"

#include <string.h>

#include "../common/secret.h"
#include "audit.h"
#include "auth.h"
#include "entity.h"

TPM_RC parse_none(struct rd *r, struct in_none *in)
{
    (void)r;
    (void)in;
    return TPM_RC_SUCCESS;
}

void emit_none(struct wr *w, const struct out_none *out)
{
    (void)w;
    (void)out;
}

const struct cmd_def *cmd_find(TPM_CC cc)
{
    size_t lo = 0, hi = cmd_table_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmd_table[mid].cc == cc) {
            return &cmd_table[mid];
        }
        if (cmd_table[mid].cc < cc) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Part 2 §8.9 TPMA_CC: commandIndex, nv, extensive, flushed, cHandles, rHandle. */
TPMA_CC cmd_attributes(const struct cmd_def *d)
{
    TPMA_CC a = d->cc & 0xFFFF;
    if (d->flags & CMDF_NV) {
        a |= TPMA_CC_NV;
    }
    if (d->flags & CMDF_EXTENSIVE) {
        a |= TPMA_CC_EXTENSIVE;
    }
    if (d->flags & CMDF_FLUSHED) {
        a |= TPMA_CC_FLUSHED;
    }
    a |= (TPMA_CC)d->n_handles << TPMA_CC_CHANDLES_SHIFT;
    if (d->flags & CMDF_RHANDLE) {
        a |= TPMA_CC_RHANDLE;
    }
    return a;
}

size_t tpm_error_response(uint32_t rc, uint8_t *rsp, size_t cap)
{
    struct wr w;
    wr_init(&w, rsp, cap);
    wr_u16(&w, TPM_ST_NO_SESSIONS);
    wr_u32(&w, 10);
    wr_u32(&w, rc);
    return w.err ? 0 : w.off;
}

size_t tpm_nv_error_response(uint8_t *rsp, size_t cap)
{
    return tpm_error_response(TPM_RC_NV_UNAVAILABLE, rsp, cap);
}

/* Part 3 §5.4: the handle's type must be the one its interface allows (TPM_RC_VALUE). */
static bool handle_kind_ok(const struct handle_spec *s, TPM_HANDLE h)
{
    uint8_t ht = (uint8_t)(h >> HR_SHIFT);
    if (h == TPM_RH_NULL) {
        return s->null_ok;
    }
    switch (s->kind) {
    case HK_RH_HIERARCHY_AUTH:
    case HK_RH_HIERARCHY_POLICY:
        return h == TPM_RH_OWNER || h == TPM_RH_ENDORSEMENT || h == TPM_RH_PLATFORM ||
               h == TPM_RH_LOCKOUT;
    case HK_RH_HIERARCHY:
        return h == TPM_RH_OWNER || h == TPM_RH_ENDORSEMENT || h == TPM_RH_PLATFORM;
    case HK_RH_ENABLES:
        return h == TPM_RH_OWNER || h == TPM_RH_ENDORSEMENT || h == TPM_RH_PLATFORM ||
               h == TPM_RH_PLATFORM_NV;
    case HK_RH_PLATFORM:
        return h == TPM_RH_PLATFORM;
    case HK_RH_OWNER:
        return h == TPM_RH_OWNER;
    case HK_RH_ENDORSEMENT:
        return h == TPM_RH_ENDORSEMENT;
    case HK_RH_PROVISION:
        return h == TPM_RH_OWNER || h == TPM_RH_PLATFORM;
    case HK_RH_CLEAR:
        return h == TPM_RH_LOCKOUT || h == TPM_RH_PLATFORM;
    case HK_RH_LOCKOUT:
        return h == TPM_RH_LOCKOUT;
    case HK_RH_NV_AUTH:
        return h == TPM_RH_OWNER || h == TPM_RH_PLATFORM || ht == TPM_HT_NV_INDEX;
    case HK_RH_NV_INDEX:
        return ht == TPM_HT_NV_INDEX;
    case HK_DH_PCR:
        return h < IMPLEMENTATION_PCR;
    case HK_DH_OBJECT:
        return ht == TPM_HT_TRANSIENT || ht == TPM_HT_PERSISTENT;
    case HK_DH_PARENT:
        return ht == TPM_HT_TRANSIENT || ht == TPM_HT_PERSISTENT || h == TPM_RH_OWNER ||
               h == TPM_RH_ENDORSEMENT || h == TPM_RH_PLATFORM;
    case HK_DH_PERSISTENT:
        return ht == TPM_HT_PERSISTENT;
    case HK_DH_ENTITY:
        return h == TPM_RH_OWNER || h == TPM_RH_ENDORSEMENT || h == TPM_RH_PLATFORM ||
               h == TPM_RH_LOCKOUT || ht == TPM_HT_TRANSIENT || ht == TPM_HT_PERSISTENT ||
               ht == TPM_HT_NV_INDEX || h < IMPLEMENTATION_PCR ||
               (h >= TPM_RH_AUTH_00 && h <= TPM_RH_AUTH_FF);
    case HK_DH_CONTEXT:
        return ht == TPM_HT_HMAC_SESSION || ht == TPM_HT_POLICY_SESSION ||
               ht == TPM_HT_TRANSIENT;
    case HK_SH_POLICY:
        return ht == TPM_HT_POLICY_SESSION;
    case HK_SH_HMAC:
        return ht == TPM_HT_HMAC_SESSION;
    case HK_SH_AUTH_SESSION:
        return ht == TPM_HT_HMAC_SESSION || ht == TPM_HT_POLICY_SESSION;
    default:
        return false;
    }
}

/* Part 1 §18.6: one entry of the authorization area. */
static TPM_RC parse_session(struct rd *r, struct cmd_session *s)
{
    TRY(rd_U32(r, &s->handle));
    uint8_t ht = (uint8_t)(s->handle >> HR_SHIFT);
    CHECK(s->handle == TPM_RS_PW || ht == TPM_HT_HMAC_SESSION || ht == TPM_HT_POLICY_SESSION,
          TPM_RC_HANDLE);
    TRY(RD_TPM2B(r, &s->nonce_caller));
    TRY(rd_U8(r, &s->attributes));
    CHECK(!(s->attributes & TPMA_SESSION_RESERVED), TPM_RC_RESERVED_BITS);
    return RD_TPM2B(r, &s->hmac);
}

static unsigned auth_handle_count(const struct cmd_def *d)
{
    unsigned n = 0;
    for (unsigned i = 0; i < d->n_handles; i++) {
        if (d->h[i].role != ROLE_NONE) {
            n++;
        }
    }
    return n;
}

/* Header, mode, handles and authorization area; leaves r at the parameters. */
static TPM_RC dispatch_prologue(struct tpm *t, struct cmd *c, struct rd *r, size_t len)
{
    uint32_t size;
    CHECK(len >= 10, TPM_RC_COMMAND_SIZE);
    (void)rd_u16(r, &c->tag);
    (void)rd_u32(r, &size);
    (void)rd_u32(r, &c->cc);
    /* §5.2: tag, size, code. A TPM 1.2 command lands here too (tag 0x00C1). */
    CHECK(c->tag == TPM_ST_NO_SESSIONS || c->tag == TPM_ST_SESSIONS, TPM_RC_BAD_TAG);
    CHECK(size == len && size <= MAX_COMMAND_SIZE, TPM_RC_COMMAND_SIZE);
    c->def = cmd_find(c->cc);
    CHECK(c->def != NULL, TPM_RC_COMMAND_CODE);

    /* §5.3: failure mode, then initialization. */
    if (t->failure) {
        CHECK(c->cc == TPM_CC_GetTestResult || c->cc == TPM_CC_GetCapability, TPM_RC_FAILURE);
    }
    CHECK(t->started || c->cc == TPM_CC_Startup, TPM_RC_INITIALIZE);

    /* §5.4: handles. */
    for (unsigned i = 0; i < c->def->n_handles; i++) {
        CHECK(rd_u32(r, &c->handles[i]), RC_H(TPM_RC_INSUFFICIENT, i + 1));
        CHECK(handle_kind_ok(&c->def->h[i], c->handles[i]), RC_H(TPM_RC_VALUE, i + 1));
        TPM_RC rc = entity_check_handle(t, c->handles[i]);
        if (rc == TPM_RC_REFERENCE_H0) {
            return rc + i; /* a warning: the handle's index is in the code itself */
        }
        CHECK(rc == TPM_RC_SUCCESS, RC_H(rc, i + 1));
    }

    /* §5.5: the authorization area. */
    unsigned need = auth_handle_count(c->def);
    if (c->tag == TPM_ST_SESSIONS) {
        uint32_t auth_size;
        struct rd ar;
        CHECK(!(c->def->flags & CMDF_NO_SESS), TPM_RC_AUTH_CONTEXT);
        CHECK(rd_u32(r, &auth_size), TPM_RC_AUTHSIZE);
        CHECK(auth_size >= 9 && auth_size <= rd_left(r), TPM_RC_AUTHSIZE);
        (void)rd_sub(r, auth_size, &ar);
        while (rd_left(&ar) > 0) {
            CHECK(c->n_sessions < 3, TPM_RC_AUTHSIZE);
            TPM_RC rc = parse_session(&ar, &c->sess[c->n_sessions]);
            c->n_sessions++;
            if (rc != TPM_RC_SUCCESS) {
                return rc == TPM_RC_INSUFFICIENT ? TPM_RC_AUTHSIZE : RC_S(rc, c->n_sessions);
            }
        }
    }
    CHECK(c->n_sessions >= need, TPM_RC_AUTH_MISSING);
    return TPM_RC_SUCCESS;
}

size_t cmd_execute(struct tpm *t, unsigned locality, const uint8_t *buf, size_t len,
                   uint8_t *rsp, size_t cap)
{
    struct cmd c;
    struct rd r;
    struct wr w;
    void *in = t->cmd_in;
    void *out = t->cmd_out;
    TPM_RC rc;

    memset(&c, 0, sizeof(c));
    c.locality = locality;
    rd_init(&r, buf, len);
    rc = dispatch_prologue(t, &c, &r, len);
    if (rc == TPM_RC_SUCCESS) {
        /* §5.5 authorization covers the parameters as received. */
        c.params = buf + r.off;
        c.params_len = rd_left(&r);
        rc = auth_check_all(t, &c);
    }
    if (rc != TPM_RC_SUCCESS) {
        auth_finish(t, &c, false);
        return tpm_error_response(rc, rsp, cap);
    }

    /* §5.6: parameters, decrypted in a copy when a session asks. */
    const struct cmd_ops *ops = c.def->ops;
    memcpy(t->cmd_params, c.params, c.params_len);
    memset(in, 0, ops->in_size);
    memset(out, 0, ops->out_size);
    TRY_OUT(auth_decrypt(t, &c, t->cmd_params, c.params_len));
    rd_init(&r, t->cmd_params, c.params_len);
    TRY_OUT(ops->parse(&r, in));
    if (!rd_done(&r)) {
        rc = TPM_RC_SIZE;
        goto out;
    }
    TRY_OUT(ops->run(t, &c, in, out));

    /* Part 1 §18.8: the response. */
    wr_init(&w, rsp, cap);
    wr_u16(&w, c.tag);
    wr_u32(&w, 0); /* size, filled below */
    wr_u32(&w, TPM_RC_SUCCESS);
    if (c.def->flags & CMDF_RHANDLE) {
        wr_u32(&w, c.out_handle);
    }
    size_t mark = 0;
    if (c.tag == TPM_ST_SESSIONS) {
        mark = wr_size32_begin(&w);
    }
    size_t start = w.off;
    ops->emit(&w, out);
    size_t rparams_len = w.off - start;
    if (c.tag == TPM_ST_SESSIONS && !w.err) {
        wr_size32_end(&w, mark);
        TRY_OUT(auth_encrypt_response(t, &c, rsp + start, rparams_len));
    }
    /* Audit digests cover the response parameters as they are sent (encrypted). */
    if (!w.err) {
        TRY_OUT(audit_command(t, &c, rsp + start, rparams_len));
    }
    if (c.tag == TPM_ST_SESSIONS && !w.err) {
        TRY_OUT(auth_write_sessions(t, &c, rsp + start, rparams_len, &w));
    }
    if (w.err) {
        rc = TPM_RC_SIZE; /* a response that cannot fit: never truncate */
        goto out;
    }
    be32_put(rsp + 2, (uint32_t)w.off);
    auth_finish(t, &c, true);
    secret_wipe(t->cmd_params, c.params_len);
    secret_wipe(in, ops->in_size);
    secret_wipe(out, ops->out_size);
    return w.off;

out:
    auth_finish(t, &c, false);
    secret_wipe(t->cmd_params, c.params_len);
    secret_wipe(in, c.def->ops->in_size);
    secret_wipe(out, c.def->ops->out_size);
    return tpm_error_response(rc, rsp, cap);
}

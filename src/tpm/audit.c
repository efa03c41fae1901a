/*
 * Audit: Part 1 §19.5 (command audit), §19.6.14 (audit sessions), Part 3 §21.2
 * TPM2_SetCommandCodeAuditStatus. The digests are extended with H(cpHash || rpHash) in the
 * order commands complete; GetCommandAuditDigest / GetSessionAuditDigest report them.
 */
#include "audit.h"

#include <string.h>

#include "alg.h"
#include "auth.h"
#include "session.h"

static bool cc_bit(const struct tpm *t, TPM_CC cc)
{
    if (cc < TPM_CC_FIRST || cc - TPM_CC_FIRST >= AUDIT_CC_BYTES * 8) {
        return false;
    }
    unsigned i = cc - TPM_CC_FIRST;
    return (t->p.audit_cc[i / 8] >> (i % 8)) & 1;
}

bool audit_is_audited(const struct tpm *t, TPM_CC cc)
{
    return cc == TPM_CC_SetCommandCodeAuditStatus || cc_bit(t, cc);
}

unsigned audit_list(const struct tpm *t, TPM_CC first, TPM_CC *out, unsigned max)
{
    unsigned n = 0;
    for (size_t i = 0; i < cmd_table_len && n < max; i++) {
        TPM_CC cc = cmd_table[i].cc;
        if (cc >= first && audit_is_audited(t, cc)) {
            out[n++] = cc;
        }
    }
    return n;
}

/* digest = H(digest || cpHash || rpHash) with alg. */
static TPM_RC extend(TPM2B_DIGEST *digest, TPM_ALG_ID alg, const struct cmd *c,
                     const uint8_t *rparams, size_t rlen)
{
    uint8_t cp[MAX_DIGEST_SIZE], rp[MAX_DIGEST_SIZE];
    struct hash_state h;
    uint16_t n = hash_size(alg);
    CHECK(auth_cp_hash(c, alg, cp) && auth_rp_hash(c, alg, rparams, rlen, rp), TPM_RC_FAILURE);
    CHECK(hash_begin(&h, alg), TPM_RC_FAILURE);
    hash_update(&h, digest->buffer, digest->size);
    hash_update(&h, cp, n);
    hash_update(&h, rp, n);
    CHECK(hash_end(&h, digest->buffer), TPM_RC_FAILURE);
    digest->size = n;
    return TPM_RC_SUCCESS;
}

TPM_RC audit_command(struct tpm *t, struct cmd *c, const uint8_t *rparams, size_t rlen)
{
    bool exclusive_seen = false;
    for (unsigned si = 0; si < c->n_sessions; si++) {
        struct session *s = c->session[si];
        TPMA_SESSION a = c->sess[si].attributes;
        if (!s || !(a & TPMA_SESSION_AUDIT)) {
            continue;
        }
        if (a & TPMA_SESSION_AUDITRESET) {
            s->audit_digest.size = 0;
        }
        s->audit = true;
        TRY(extend(&s->audit_digest, s->auth_hash, c, rparams, rlen));
        if (a & TPMA_SESSION_AUDITEXCLUSIVE) {
            /* Exclusive from here on, as long as no command runs without it. */
            if (t->exclusive_audit != s->handle) {
                t->exclusive_audit = s->handle;
            }
            exclusive_seen = true;
        } else if (t->exclusive_audit == s->handle) {
            exclusive_seen = true;
        }
    }
    if (!exclusive_seen) {
        t->exclusive_audit = 0;
    }
    if (audit_is_audited(t, c->cc) && t->p.audit_alg != TPM_ALG_NULL) {
        TPM2B_DIGEST *d = &t->sr.command_audit_digest;
        if (d->size == 0) {
            /* A new audit run: the counter moves and the digest starts at zero. */
            t->p.audit_counter++;
            d->size = hash_size(t->p.audit_alg);
            memset(d->buffer, 0, d->size);
            pers_changed(t);
        }
        TRY(extend(d, t->p.audit_alg, c, rparams, rlen));
    }
    return TPM_RC_SUCCESS;
}

/* ---- Part 3 §21.2 TPM2_SetCommandCodeAuditStatus ---- */

struct in_SetCommandCodeAuditStatus {
    TPM_ALG_ID auditAlg;
    TPML_CC setList;
    TPML_CC clearList;
};

static TPM_RC rd_cc_list(struct rd *r, TPML_CC *l)
{
    TRY(rd_U32(r, &l->count));
    CHECK(l->count <= sizeof(l->commandCodes) / sizeof(l->commandCodes[0]), TPM_RC_SIZE);
    for (uint32_t i = 0; i < l->count; i++) {
        TRY(rd_U32(r, &l->commandCodes[i]));
    }
    return TPM_RC_SUCCESS;
}

static TPM_RC parse_SetCommandCodeAuditStatus(struct rd *r,
                                              struct in_SetCommandCodeAuditStatus *in)
{
    PARAM(1, rd_TPMI_ALG_HASH(r, &in->auditAlg, NULL_OK));
    PARAM(2, rd_cc_list(r, &in->setList));
    PARAM(3, rd_cc_list(r, &in->clearList));
    return TPM_RC_SUCCESS;
}

static void set_bit(struct tpm *t, TPM_CC cc, bool on)
{
    unsigned i = cc - TPM_CC_FIRST;
    uint8_t m = (uint8_t)(1u << (i % 8));
    t->p.audit_cc[i / 8] = on ? t->p.audit_cc[i / 8] | m : t->p.audit_cc[i / 8] & (uint8_t)~m;
}

static TPM_RC cc_SetCommandCodeAuditStatus(struct tpm *t, struct cmd *c,
                                           const struct in_SetCommandCodeAuditStatus *in,
                                           struct out_none *out)
{
    (void)c;
    (void)out;
    if (in->auditAlg != TPM_ALG_NULL && in->auditAlg != t->p.audit_alg) {
        /* A new hash: lists may not change at the same time, and the digest restarts. */
        PARAM(1, in->setList.count == 0 && in->clearList.count == 0 ? TPM_RC_SUCCESS
                                                                    : TPM_RC_VALUE);
        t->p.audit_alg = in->auditAlg;
        t->sr.command_audit_digest.size = 0;
        pers_changed(t);
        return TPM_RC_SUCCESS;
    }
    /* Codes that are not implemented are ignored (Part 3 §21.2.1). */
    for (uint32_t i = 0; i < in->setList.count; i++) {
        if (cmd_find(in->setList.commandCodes[i])) {
            set_bit(t, in->setList.commandCodes[i], true);
        }
    }
    for (uint32_t i = 0; i < in->clearList.count; i++) {
        TPM_CC cc = in->clearList.commandCodes[i];
        if (cmd_find(cc) && cc != TPM_CC_SetCommandCodeAuditStatus) {
            set_bit(t, cc, false);
        }
    }
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(SetCommandCodeAuditStatus);

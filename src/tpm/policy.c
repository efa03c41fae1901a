/*
 * Policy commands (Part 3 §23): PolicySigned §23.3, PolicySecret §23.4, PolicyTicket §23.5,
 * PolicyOR §23.6, PolicyPCR §23.7, PolicyLocality §23.8, PolicyNV §23.9, PolicyCounterTimer
 * §23.10, PolicyCommandCode §23.11, PolicyPhysicalPresence §23.12, PolicyCpHash §23.13,
 * PolicyNameHash §23.14, PolicyDuplicationSelect §23.15, PolicyAuthorize §23.16,
 * PolicyAuthValue §23.17, PolicyPassword §23.18, PolicyGetDigest §23.19, PolicyNvWritten
 * §23.20, PolicyTemplate §23.21, PolicyAuthorizeNV §23.22, PolicyRestart §23.3 (Part 3 §23
 * numbering of revision 1.59).
 *
 * A trial session (TPM_SE_TRIAL) computes digests and checks nothing.
 */
#include "policy.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "auth.h"
#include "entity.h"
#include "hierarchy.h"
#include "nv.h"
#include "object.h"
#include "pcr.h"
#include "session.h"
#include "sign.h"
#include "ticket.h"

TPM_RC policy_session(struct tpm *t, TPM_HANDLE h, struct session **out)
{
    struct session *s = session_find(t, h);
    CHECK(s && s->type != TPM_SE_HMAC, RC_H(TPM_RC_HANDLE, 1));
    *out = s;
    return TPM_RC_SUCCESS;
}

TPM_RC policy_extend(struct session *s, TPM_CC cc, const void *arg, size_t len)
{
    struct hash_state h;
    CHECK(hash_begin(&h, s->auth_hash), TPM_RC_FAILURE);
    hash_update(&h, s->policy_digest.buffer, s->policy_digest.size);
    hash_update_u32(&h, cc);
    hash_update(&h, arg, len);
    CHECK(hash_end(&h, s->policy_digest.buffer), TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

/* PolicyUpdate (Part 3 §23.2.2): extend with cc || name, then with policyRef. */
static TPM_RC policy_update(struct session *s, TPM_CC cc, const TPM2B_NAME *name,
                            const TPM2B_NONCE *ref)
{
    struct hash_state h;
    TRY(policy_extend(s, cc, name->buffer, name->size));
    CHECK(hash_begin(&h, s->auth_hash), TPM_RC_FAILURE);
    hash_update(&h, s->policy_digest.buffer, s->policy_digest.size);
    hash_update(&h, ref->buffer, ref->size);
    CHECK(hash_end(&h, s->policy_digest.buffer), TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

/* H(name1 || name2 || ...) of the command's handles, for PolicyNameHash. */
static bool name_hash(const struct cmd *c, TPM_ALG_ID alg, uint8_t *out)
{
    struct hash_state h;
    if (!hash_begin(&h, alg)) {
        return false;
    }
    for (unsigned i = 0; i < c->def->n_handles; i++) {
        hash_update(&h, c->names[i].buffer, c->names[i].size);
    }
    return hash_end(&h, out);
}

/* The template a Create/CreatePrimary/CreateLoaded asks for: the second parameter. */
static bool template_hash(const struct cmd *c, TPM_ALG_ID alg, uint8_t *out)
{
    struct rd r;
    uint16_t n;
    const uint8_t *p;
    rd_init(&r, c->params, c->params_len);
    if (!rd_u16(&r, &n) || !rd_skip(&r, n) || !rd_u16(&r, &n) || !rd_ptr(&r, n, &p)) {
        return false;
    }
    return crypto_hash(alg, p, n, out);
}

TPM_RC policy_check_use(struct tpm *t, const struct cmd *c, const struct session *s,
                        unsigned si, const uint8_t *cphash)
{
    uint16_t hs = hash_size(s->auth_hash);
    uint8_t d[MAX_DIGEST_SIZE];
    if (s->cc_set) {
        CHECK(s->command_code == c->cc, RC_S(TPM_RC_POLICY_CC, si + 1));
    }
    if (s->cp_hash.size) {
        CHECK(secret_eq(s->cp_hash.buffer, cphash, hs), RC_S(TPM_RC_POLICY_FAIL, si + 1));
    }
    if (s->name_hash.size) {
        CHECK(name_hash(c, s->auth_hash, d), TPM_RC_FAILURE);
        CHECK(secret_eq(s->name_hash.buffer, d, hs), RC_S(TPM_RC_POLICY_FAIL, si + 1));
    }
    if (s->template_hash.size) {
        CHECK(c->cc == TPM_CC_Create || c->cc == TPM_CC_CreatePrimary ||
                  c->cc == TPM_CC_CreateLoaded,
              RC_S(TPM_RC_POLICY_FAIL, si + 1));
        CHECK(template_hash(c, s->auth_hash, d) && secret_eq(s->template_hash.buffer, d, hs),
              RC_S(TPM_RC_POLICY_FAIL, si + 1));
    }
    if (s->locality_mask) {
        CHECK((s->locality_mask >> c->locality) & 1, TPM_RC_LOCALITY);
    }
    if (s->pcr_set) {
        CHECK(s->pcr_counter == t->sc.pcr_update_counter, TPM_RC_PCR_CHANGED);
    }
    if (s->timeout_ms) {
        TPMS_TIME_INFO now;
        tpm_time_info(t, &now);
        CHECK(now.time < s->timeout_ms, RC_S(TPM_RC_EXPIRED, si + 1));
    }
    /* A vTPM has no physical presence signal: a policy that needs it cannot be satisfied. */
    CHECK(!s->need_pp, RC_S(TPM_RC_PP, si + 1));
    if (s->nv_written_set) {
        /* PolicyNvWritten: the authorized entity is an NV index in the state asked for. */
        int written = nv_is_written(t, c->authorizes[si]);
        CHECK(written >= 0 && (written == 1) == s->nv_written,
              RC_S(TPM_RC_POLICY_FAIL, si + 1));
    }
    return TPM_RC_SUCCESS;
}

/* ---- handlers ---- */

/* Part 3 §23.17 TPM2_PolicyAuthValue and §23.18 TPM2_PolicyPassword: both extend with
 * TPM_CC_PolicyAuthValue, so either satisfies the same policy. */
static TPM_RC cc_PolicyAuthValue(struct tpm *t, struct cmd *c, const struct in_none *in,
                                 struct out_none *out)
{
    (void)in;
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    TRY(policy_extend(s, TPM_CC_PolicyAuthValue, NULL, 0));
    s->need_auth_value = true;
    s->need_password = false;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(PolicyAuthValue);

static TPM_RC cc_PolicyPassword(struct tpm *t, struct cmd *c, const struct in_none *in,
                                struct out_none *out)
{
    (void)in;
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    TRY(policy_extend(s, TPM_CC_PolicyAuthValue, NULL, 0));
    s->need_password = true;
    s->need_auth_value = false;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(PolicyPassword);

/* Part 3 §23.12 TPM2_PolicyPhysicalPresence */
static TPM_RC cc_PolicyPhysicalPresence(struct tpm *t, struct cmd *c, const struct in_none *in,
                                        struct out_none *out)
{
    (void)in;
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    TRY(policy_extend(s, TPM_CC_PolicyPhysicalPresence, NULL, 0));
    s->need_pp = true;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(PolicyPhysicalPresence);

/* Part 3 §23.3 TPM2_PolicyRestart */
static TPM_RC cc_PolicyRestart(struct tpm *t, struct cmd *c, const struct in_none *in,
                               struct out_none *out)
{
    (void)in;
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    session_policy_reset(s);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(PolicyRestart);

/* Part 3 §23.19 TPM2_PolicyGetDigest */
struct out_PolicyGetDigest {
    TPM2B_DIGEST policyDigest;
};

static void emit_PolicyGetDigest(struct wr *w, const struct out_PolicyGetDigest *out)
{
    WR_TPM2B(w, &out->policyDigest);
}

static TPM_RC cc_PolicyGetDigest(struct tpm *t, struct cmd *c, const struct in_none *in,
                                 struct out_PolicyGetDigest *out)
{
    (void)in;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    out->policyDigest = s->policy_digest;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_IN(PolicyGetDigest);

/* Part 3 §23.11 TPM2_PolicyCommandCode */
struct in_PolicyCommandCode {
    TPM_CC code;
};

static TPM_RC parse_PolicyCommandCode(struct rd *r, struct in_PolicyCommandCode *in)
{
    PARAM(1, rd_U32(r, &in->code));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicyCommandCode(struct tpm *t, struct cmd *c,
                                   const struct in_PolicyCommandCode *in, struct out_none *out)
{
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    PARAM(1, cmd_find(in->code) ? TPM_RC_SUCCESS : TPM_RC_POLICY_CC);
    CHECK(!s->cc_set || s->command_code == in->code, RC_P(TPM_RC_VALUE, 1));
    uint8_t b[4];
    be32_put(b, in->code);
    TRY(policy_extend(s, TPM_CC_PolicyCommandCode, b, 4));
    s->cc_set = true;
    s->command_code = in->code;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PolicyCommandCode);

/* Part 3 §23.8 TPM2_PolicyLocality */
struct in_PolicyLocality {
    TPMA_LOCALITY locality;
};

static TPM_RC parse_PolicyLocality(struct rd *r, struct in_PolicyLocality *in)
{
    PARAM(1, rd_U8(r, &in->locality));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicyLocality(struct tpm *t, struct cmd *c, const struct in_PolicyLocality *in,
                                struct out_none *out)
{
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    /* Localities 0-4 are bits 0-4; extended localities (>= 32) are not supported here. */
    uint8_t mask = in->locality & 0x1F;
    PARAM(1, mask != 0 && in->locality < 32 ? TPM_RC_SUCCESS : TPM_RC_RANGE);
    if (s->locality_mask) {
        /* A later PolicyLocality may only narrow the set (Part 3 §23.8.1). */
        mask &= s->locality_mask;
        PARAM(1, mask ? TPM_RC_SUCCESS : TPM_RC_RANGE);
    }
    TRY(policy_extend(s, TPM_CC_PolicyLocality, &in->locality, 1));
    s->locality_mask = mask;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PolicyLocality);

/* Part 3 §23.13 TPM2_PolicyCpHash and §23.14 TPM2_PolicyNameHash */
struct in_PolicyCpHash {
    TPM2B_DIGEST cpHashA;
};

static TPM_RC parse_PolicyCpHash(struct rd *r, struct in_PolicyCpHash *in)
{
    PARAM(1, RD_TPM2B(r, &in->cpHashA));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicyCpHash(struct tpm *t, struct cmd *c, const struct in_PolicyCpHash *in,
                              struct out_none *out)
{
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    PARAM(1, in->cpHashA.size == hash_size(s->auth_hash) ? TPM_RC_SUCCESS : TPM_RC_SIZE);
    CHECK(s->cp_hash.size == 0 || secret_eq(s->cp_hash.buffer, in->cpHashA.buffer,
                                         in->cpHashA.size),
          TPM_RC_CPHASH);
    CHECK(s->name_hash.size == 0, TPM_RC_CPHASH);
    TRY(policy_extend(s, TPM_CC_PolicyCpHash, in->cpHashA.buffer, in->cpHashA.size));
    s->cp_hash = in->cpHashA;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PolicyCpHash);

#define in_PolicyNameHash in_PolicyCpHash
#define parse_PolicyNameHash parse_PolicyCpHash

static TPM_RC cc_PolicyNameHash(struct tpm *t, struct cmd *c, const struct in_PolicyCpHash *in,
                                struct out_none *out)
{
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    PARAM(1, in->cpHashA.size == hash_size(s->auth_hash) ? TPM_RC_SUCCESS : TPM_RC_SIZE);
    CHECK(s->name_hash.size == 0 && s->cp_hash.size == 0, TPM_RC_CPHASH);
    TRY(policy_extend(s, TPM_CC_PolicyNameHash, in->cpHashA.buffer, in->cpHashA.size));
    s->name_hash = in->cpHashA;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PolicyNameHash);

/* Part 3 §23.21 TPM2_PolicyTemplate */
#define in_PolicyTemplate in_PolicyCpHash
#define parse_PolicyTemplate parse_PolicyCpHash

static TPM_RC cc_PolicyTemplate(struct tpm *t, struct cmd *c, const struct in_PolicyCpHash *in,
                                struct out_none *out)
{
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    PARAM(1, in->cpHashA.size == hash_size(s->auth_hash) ? TPM_RC_SUCCESS : TPM_RC_SIZE);
    CHECK(s->template_hash.size == 0 || secret_eq(s->template_hash.buffer, in->cpHashA.buffer,
                                               in->cpHashA.size),
          TPM_RC_VALUE);
    TRY(policy_extend(s, TPM_CC_PolicyTemplate, in->cpHashA.buffer, in->cpHashA.size));
    s->template_hash = in->cpHashA;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PolicyTemplate);

/* Part 3 §23.20 TPM2_PolicyNvWritten */
struct in_PolicyNvWritten {
    TPMI_YES_NO writtenSet;
};

static TPM_RC parse_PolicyNvWritten(struct rd *r, struct in_PolicyNvWritten *in)
{
    PARAM(1, rd_TPMI_YES_NO(r, &in->writtenSet));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicyNvWritten(struct tpm *t, struct cmd *c,
                                 const struct in_PolicyNvWritten *in, struct out_none *out)
{
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    CHECK(!s->nv_written_set || s->nv_written == (bool)in->writtenSet, RC_P(TPM_RC_VALUE, 1));
    TRY(policy_extend(s, TPM_CC_PolicyNvWritten, &in->writtenSet, 1));
    s->nv_written_set = true;
    s->nv_written = in->writtenSet;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PolicyNvWritten);

/* Part 3 §23.6 TPM2_PolicyOR */
struct in_PolicyOR {
    TPML_DIGEST pHashList;
};

static TPM_RC parse_PolicyOR(struct rd *r, struct in_PolicyOR *in)
{
    PARAM(1, rd_TPML_DIGEST(r, &in->pHashList, 2));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicyOR(struct tpm *t, struct cmd *c, const struct in_PolicyOR *in,
                          struct out_none *out)
{
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    uint16_t hs = hash_size(s->auth_hash);
    bool found = s->type == TPM_SE_TRIAL;
    for (uint32_t i = 0; i < in->pHashList.count; i++) {
        const TPM2B_DIGEST *d = &in->pHashList.digests[i];
        if (d->size == hs && secret_eq(d->buffer, s->policy_digest.buffer, hs)) {
            found = true;
        }
    }
    PARAM(1, found ? TPM_RC_SUCCESS : TPM_RC_VALUE);
    /* policyDigest = H(0...0 || TPM_CC_PolicyOR || digests) */
    struct hash_state h;
    CHECK(hash_begin(&h, s->auth_hash), TPM_RC_FAILURE);
    memset(s->policy_digest.buffer, 0, hs);
    hash_update(&h, s->policy_digest.buffer, hs);
    hash_update_u32(&h, TPM_CC_PolicyOR);
    for (uint32_t i = 0; i < in->pHashList.count; i++) {
        hash_update(&h, in->pHashList.digests[i].buffer, in->pHashList.digests[i].size);
    }
    CHECK(hash_end(&h, s->policy_digest.buffer), TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PolicyOR);

/* Part 3 §23.7 TPM2_PolicyPCR */
struct in_PolicyPCR {
    TPM2B_DIGEST pcrDigest;
    TPML_PCR_SELECTION pcrs;
};

static TPM_RC parse_PolicyPCR(struct rd *r, struct in_PolicyPCR *in)
{
    PARAM(1, RD_TPM2B(r, &in->pcrDigest));
    PARAM(2, rd_TPML_PCR_SELECTION(r, &in->pcrs));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicyPCR(struct tpm *t, struct cmd *c, const struct in_PolicyPCR *in,
                           struct out_none *out)
{
    (void)out;
    struct session *s;
    TPM2B_DIGEST now;
    TRY(policy_session(t, c->handles[0], &s));
    TRY(pcr_digest(t, s->auth_hash, &in->pcrs, &now));
    if (s->type == TPM_SE_TRIAL && in->pcrDigest.size) {
        PARAM(1, in->pcrDigest.size == now.size ? TPM_RC_SUCCESS : TPM_RC_SIZE);
        now = in->pcrDigest; /* a trial computes with the digest it is given */
    } else if (in->pcrDigest.size) {
        PARAM(1, in->pcrDigest.size == now.size &&
                         secret_eq(in->pcrDigest.buffer, now.buffer, now.size)
                     ? TPM_RC_SUCCESS
                     : TPM_RC_VALUE);
    }
    /* policyDigest = H(policyDigest || TPM_CC_PolicyPCR || pcrs || digest) */
    uint8_t buf[4 + HASH_COUNT * 6];
    struct wr w;
    wr_init(&w, buf, sizeof(buf));
    wr_TPML_PCR_SELECTION(&w, &in->pcrs);
    struct hash_state h;
    CHECK(!w.err && hash_begin(&h, s->auth_hash), TPM_RC_FAILURE);
    hash_update(&h, s->policy_digest.buffer, s->policy_digest.size);
    hash_update_u32(&h, TPM_CC_PolicyPCR);
    hash_update(&h, buf, w.off);
    hash_update(&h, now.buffer, now.size);
    CHECK(hash_end(&h, s->policy_digest.buffer), TPM_RC_FAILURE);
    if (s->type != TPM_SE_TRIAL) {
        /* Later PCR changes void the session (checked at use: TPM_RC_PCR_CHANGED). */
        CHECK(!s->pcr_set || s->pcr_counter == t->sc.pcr_update_counter, TPM_RC_PCR_CHANGED);
        s->pcr_set = true;
        s->pcr_counter = t->sc.pcr_update_counter;
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PolicyPCR);

/* Part 3 §23.10 TPM2_PolicyCounterTimer: compares operandB with TPMS_TIME_INFO bytes. */
struct in_PolicyCounterTimer {
    TPM2B_OPERAND operandB;
    uint16_t offset;
    uint16_t operation;
};

static TPM_RC parse_PolicyCounterTimer(struct rd *r, struct in_PolicyCounterTimer *in)
{
    PARAM(1, RD_TPM2B(r, &in->operandB));
    PARAM(2, rd_U16(r, &in->offset));
    PARAM(3, rd_U16(r, &in->operation));
    PARAM(3, in->operation <= 0x000B ? TPM_RC_SUCCESS : TPM_RC_VALUE);
    return TPM_RC_SUCCESS;
}

/* TPM_EO (Part 2 §6.8): compare a (the TPM's bytes) with b, unsigned big-endian or bits. */
static bool policy_compare(uint16_t op, const uint8_t *a, const uint8_t *b, size_t n)
{
    int cmp = memcmp(a, b, n); /* TPM_EO ordering: public operands */
    bool all = true, any = false;
    for (size_t i = 0; i < n; i++) {
        all &= (a[i] & b[i]) == b[i];
        any |= (a[i] & b[i]) != 0;
    }
    switch (op) {
    case 0x0000: return cmp == 0;  /* TPM_EO_EQ */
    case 0x0001: return cmp != 0;  /* TPM_EO_NEQ */
    case 0x0002: case 0x0003: return cmp > 0;  /* SIGNED_GT / UNSIGNED_GT */
    case 0x0004: case 0x0005: return cmp < 0;  /* SIGNED_LT / UNSIGNED_LT */
    case 0x0006: case 0x0007: return cmp >= 0; /* SIGNED_GE / UNSIGNED_GE */
    case 0x0008: case 0x0009: return cmp <= 0; /* SIGNED_LE / UNSIGNED_LE */
    case 0x000A: return all;       /* TPM_EO_BITSET */
    case 0x000B: return !any;      /* TPM_EO_BITCLEAR */
    default: return false;
    }
}

/* Signed comparisons flip the sign bit so that memcmp orders two's complement values. */
static bool compare_operand(uint16_t op, const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t x[sizeof(((TPM2B_OPERAND *)0)->buffer)], y[sizeof(x)];
    if (n > sizeof(x)) {
        return false;
    }
    memcpy(x, a, n);
    memcpy(y, b, n);
    if (n > 0 && (op == 2 || op == 4 || op == 6 || op == 8)) { /* the SIGNED_ operations */
        x[0] ^= 0x80;
        y[0] ^= 0x80;
    }
    return policy_compare(op, x, y, n);
}

static TPM_RC cc_PolicyCounterTimer(struct tpm *t, struct cmd *c,
                                    const struct in_PolicyCounterTimer *in,
                                    struct out_none *out)
{
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    if (s->type != TPM_SE_TRIAL) {
        TPMS_TIME_INFO ti;
        uint8_t buf[32];
        struct wr w;
        tpm_time_info(t, &ti);
        wr_init(&w, buf, sizeof(buf));
        wr_TPMS_TIME_INFO(&w, &ti);
        PARAM(2, (size_t)in->offset + in->operandB.size <= w.off ? TPM_RC_SUCCESS
                                                                 : TPM_RC_RANGE);
        CHECK(compare_operand(in->operation, buf + in->offset, in->operandB.buffer,
                              in->operandB.size),
              TPM_RC_POLICY);
    }
    /* args = H(operandB || offset || operation); policyDigest = H(digest || cc || args) */
    uint8_t args[MAX_DIGEST_SIZE];
    struct hash_state h;
    CHECK(hash_begin(&h, s->auth_hash), TPM_RC_FAILURE);
    hash_update(&h, in->operandB.buffer, in->operandB.size);
    hash_update_u16(&h, in->offset);
    hash_update_u16(&h, in->operation);
    CHECK(hash_end(&h, args), TPM_RC_FAILURE);
    return policy_extend(s, TPM_CC_PolicyCounterTimer, args, hash_size(s->auth_hash));
}

CMD_OPS_NO_OUT(PolicyCounterTimer);

/* Part 3 §23.15 TPM2_PolicyDuplicationSelect */
struct in_PolicyDuplicationSelect {
    TPM2B_NAME objectName;
    TPM2B_NAME newParentName;
    TPMI_YES_NO includeObject;
};

static TPM_RC parse_PolicyDuplicationSelect(struct rd *r, struct in_PolicyDuplicationSelect *in)
{
    PARAM(1, RD_TPM2B(r, &in->objectName));
    PARAM(2, RD_TPM2B(r, &in->newParentName));
    PARAM(3, rd_TPMI_YES_NO(r, &in->includeObject));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicyDuplicationSelect(struct tpm *t, struct cmd *c,
                                         const struct in_PolicyDuplicationSelect *in,
                                         struct out_none *out)
{
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    CHECK(s->name_hash.size == 0 && s->cp_hash.size == 0, TPM_RC_CPHASH);
    CHECK(!s->cc_set || s->command_code == TPM_CC_Duplicate, TPM_RC_COMMAND_CODE);
    struct hash_state h;
    /* nameHash = H(objectName || newParentName) */
    CHECK(hash_begin(&h, s->auth_hash), TPM_RC_FAILURE);
    hash_update(&h, in->objectName.buffer, in->objectName.size);
    hash_update(&h, in->newParentName.buffer, in->newParentName.size);
    CHECK(hash_end(&h, s->name_hash.buffer), TPM_RC_FAILURE);
    s->name_hash.size = hash_size(s->auth_hash);
    /* policyDigest = H(digest || cc || [objectName] || newParentName || includeObject) */
    CHECK(hash_begin(&h, s->auth_hash), TPM_RC_FAILURE);
    hash_update(&h, s->policy_digest.buffer, s->policy_digest.size);
    hash_update_u32(&h, TPM_CC_PolicyDuplicationSelect);
    if (in->includeObject) {
        hash_update(&h, in->objectName.buffer, in->objectName.size);
    }
    hash_update(&h, in->newParentName.buffer, in->newParentName.size);
    hash_update(&h, &in->includeObject, 1);
    CHECK(hash_end(&h, s->policy_digest.buffer), TPM_RC_FAILURE);
    s->cc_set = true;
    s->command_code = TPM_CC_Duplicate;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PolicyDuplicationSelect);

/*
 * Part 3 §23.4 TPM2_PolicySecret: the caller proves knowledge of authHandle's authorization
 * (checked by the dispatcher like any authorization). With expiration < 0 a ticket is
 * returned for PolicyTicket.
 */
struct in_PolicySecret {
    TPM2B_NONCE nonceTPM;
    TPM2B_DIGEST cpHashA;
    TPM2B_NONCE policyRef;
    int32_t expiration;
};

struct out_PolicySecret {
    TPM2B_TIMEOUT timeout;
    TPMT_TK policyTicket;
};

static TPM_RC parse_PolicySecret(struct rd *r, struct in_PolicySecret *in)
{
    uint32_t e;
    PARAM(1, RD_TPM2B(r, &in->nonceTPM));
    PARAM(2, RD_TPM2B(r, &in->cpHashA));
    PARAM(3, RD_TPM2B(r, &in->policyRef));
    PARAM(4, rd_U32(r, &e));
    in->expiration = (int32_t)e;
    return TPM_RC_SUCCESS;
}

static void emit_PolicySecret(struct wr *w, const struct out_PolicySecret *out)
{
    WR_TPM2B(w, &out->timeout);
    wr_TPMT_TK(w, &out->policyTicket);
}

/* Expiration and binding checks shared by PolicySigned and PolicySecret (Part 3 §23.2.3
 * PolicyParameterChecks); in both commands nonceTPM, cpHashA and expiration are parameters
 * 1, 2 and 4. */
static TPM_RC policy_parameter_checks(struct tpm *t, struct session *s,
                                      const TPM2B_NONCE *nonce, const TPM2B_DIGEST *cp,
                                      int32_t expiration, uint64_t *timeout_out)
{
    *timeout_out = 0;
    if (nonce->size) {
        PARAM(1, nonce->size == s->nonce_tpm.size &&
                         secret_eq(nonce->buffer, s->nonce_tpm.buffer, nonce->size)
                     ? TPM_RC_SUCCESS
                     : TPM_RC_NONCE);
    }
    if (cp->size) {
        PARAM(2, cp->size == hash_size(s->auth_hash) ? TPM_RC_SUCCESS : TPM_RC_SIZE);
        CHECK(s->cp_hash.size == 0 || secret_eq(s->cp_hash.buffer, cp->buffer, cp->size),
              TPM_RC_CPHASH);
    }
    if (expiration != 0) {
        /* Expiration in seconds counts from the nonce's issue: it needs the nonce. */
        uint64_t secs = expiration < 0 ? (uint64_t)(-(int64_t)expiration) : (uint64_t)expiration;
        PARAM(4, nonce->size || expiration < 0 ? TPM_RC_SUCCESS : TPM_RC_EXPIRED);
        TPMS_TIME_INFO ti;
        tpm_time_info(t, &ti);
        *timeout_out = ti.time + secs * 1000;
    }
    return TPM_RC_SUCCESS;
}

/* A TPMT_TK_AUTH (Part 2 §10.7.5): HMAC(proof, tag || H(timeout || cpHash || policyRef ||
 * authName)) — the digest inside is computed by the caller of this helper. */
static TPM_RC ticket_auth(struct tpm *t, TPM_ST tag, TPM_HANDLE hierarchy, TPM_ALG_ID alg,
                          const TPM2B_TIMEOUT *timeout, const TPM2B_DIGEST *cp,
                          const TPM2B_NONCE *ref, const TPM2B_NAME *name, TPMT_TK *tk)
{
    uint8_t d[MAX_DIGEST_SIZE];
    struct hash_state h;
    struct hmac_state m;
    CHECK(hash_begin(&h, alg), TPM_RC_FAILURE);
    hash_update(&h, timeout->buffer, timeout->size);
    hash_update(&h, cp->buffer, cp->size);
    hash_update(&h, ref->buffer, ref->size);
    hash_update(&h, name->buffer, name->size);
    CHECK(hash_end(&h, d), TPM_RC_FAILURE);
    tk->tag = tag;
    tk->hierarchy = hierarchy;
    CHECK(hmac_begin(&m, alg, hier_proof(t, hierarchy), PROOF_BYTES), TPM_RC_FAILURE);
    uint8_t tb[2] = {(uint8_t)(tag >> 8), (uint8_t)tag};
    hmac_update(&m, tb, 2);
    hmac_update(&m, d, hash_size(alg));
    CHECK(hmac_end(&m, tk->digest.buffer), TPM_RC_FAILURE);
    tk->digest.size = hash_size(alg);
    return TPM_RC_SUCCESS;
}

static void timeout_bytes(uint64_t ms, TPM2B_TIMEOUT *out)
{
    out->size = 8;
    for (int i = 0; i < 8; i++) {
        out->buffer[i] = (uint8_t)(ms >> (56 - 8 * i));
    }
}

static TPM_RC cc_PolicySecret(struct tpm *t, struct cmd *c, const struct in_PolicySecret *in,
                              struct out_PolicySecret *out)
{
    struct session *s;
    uint64_t timeout;
    struct entity e;
    struct session *found = session_find(t, c->handles[1]);
    CHECK(found && found->type != TPM_SE_HMAC, RC_H(TPM_RC_HANDLE, 2));
    s = found;
    TRY(policy_parameter_checks(t, s, &in->nonceTPM, &in->cpHashA, in->expiration, &timeout));
    TRY(entity_get(t, c->handles[0], &e));
    TRY(policy_update(s, TPM_CC_PolicySecret, &e.name, &in->policyRef));
    if (in->cpHashA.size) {
        s->cp_hash = in->cpHashA;
    }
    if (timeout && in->expiration > 0 && (s->timeout_ms == 0 || timeout < s->timeout_ms)) {
        s->timeout_ms = timeout;
    }
    ticket_null(TPM_ST_AUTH_SECRET, &out->policyTicket);
    if (in->expiration < 0 && s->type != TPM_SE_TRIAL) {
        /* A ticket that PolicyTicket accepts until the timeout (bound to this nonce). */
        timeout_bytes(timeout, &out->timeout);
        TRY(ticket_auth(t, TPM_ST_AUTH_SECRET, e.hierarchy, s->auth_hash,
                        &out->timeout, &in->cpHashA, &in->policyRef, &e.name,
                        &out->policyTicket));
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS(PolicySecret);

/*
 * Part 3 §23.3 TPM2_PolicySigned: an authority holding authObject's private key signed
 * aHash = H_sig(nonceTPM || expiration || cpHashA || policyRef) to approve this use. The
 * signature is checked as TPM2_VerifySignature checks it (sign.c); a trial session only
 * extends the digest. With expiration < 0 a TPMT_TK_AUTH ticket is returned for PolicyTicket.
 */
struct in_PolicySigned {
    TPM2B_NONCE nonceTPM;
    int32_t expiration;
    TPM2B_DIGEST cpHashA;
    TPM2B_NONCE policyRef;
    TPMT_SIGNATURE auth;
};

static TPM_RC parse_PolicySigned(struct rd *r, struct in_PolicySigned *in)
{
    uint32_t e;
    /* the parameter order of Part 3 §23.3 (the signed aHash orders them differently) */
    PARAM(1, RD_TPM2B(r, &in->nonceTPM));
    PARAM(2, RD_TPM2B(r, &in->cpHashA));
    PARAM(3, RD_TPM2B(r, &in->policyRef));
    PARAM(4, rd_U32(r, &e));
    in->expiration = (int32_t)e;
    PARAM(5, rd_TPMT_SIGNATURE(r, &in->auth, NO_NULL));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicySigned(struct tpm *t, struct cmd *c, const struct in_PolicySigned *in,
                              struct out_PolicySecret *out)
{
    uint64_t timeout = 0;
    struct session *s = session_find(t, c->handles[1]);
    CHECK(s && s->type != TPM_SE_HMAC, RC_H(TPM_RC_HANDLE, 2));
    struct object *o = object_get(t, c->handles[0]);
    CHECK(o && o->kind == OBJ_KEY, RC_H(TPM_RC_HANDLE, 1));
    if (s->type != TPM_SE_TRIAL) {
        uint8_t ahash[MAX_DIGEST_SIZE];
        struct hash_state h;
        TRY(policy_parameter_checks(t, s, &in->nonceTPM, &in->cpHashA, in->expiration,
                                    &timeout));
        CHECK(hash_begin(&h, in->auth.hash), RC_P(TPM_RC_SCHEME, 5));
        hash_update(&h, in->nonceTPM.buffer, in->nonceTPM.size);
        hash_update_u32(&h, (uint32_t)in->expiration);
        hash_update(&h, in->cpHashA.buffer, in->cpHashA.size);
        hash_update(&h, in->policyRef.buffer, in->policyRef.size);
        CHECK(hash_end(&h, ahash), TPM_RC_FAILURE);
        TPM_RC rc = sign_verify(t, o, ahash, hash_size(in->auth.hash), &in->auth);
        CHECK(rc == TPM_RC_SUCCESS, rc == TPM_RC_HANDLE ? RC_H(rc, 1) : RC_P(rc, 5));
    }
    TRY(policy_update(s, TPM_CC_PolicySigned, &o->name, &in->policyRef));
    if (in->cpHashA.size) {
        s->cp_hash = in->cpHashA;
    }
    if (timeout && in->expiration > 0 && (s->timeout_ms == 0 || timeout < s->timeout_ms)) {
        s->timeout_ms = timeout;
    }
    ticket_null(TPM_ST_AUTH_SIGNED, &out->policyTicket);
    if (in->expiration < 0 && s->type != TPM_SE_TRIAL) {
        timeout_bytes(timeout, &out->timeout);
        TRY(ticket_auth(t, TPM_ST_AUTH_SIGNED, o->hierarchy, s->auth_hash, &out->timeout,
                        &in->cpHashA, &in->policyRef, &o->name, &out->policyTicket));
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS_FULL(PolicySigned, struct in_PolicySigned, struct out_PolicySecret, parse_PolicySigned,
             emit_PolicySecret);

/* Part 3 §23.5 TPM2_PolicyTicket */
struct in_PolicyTicket {
    TPM2B_TIMEOUT timeout;
    TPM2B_DIGEST cpHashA;
    TPM2B_NONCE policyRef;
    TPM2B_NAME authName;
    TPMT_TK ticket;
};

static TPM_RC parse_PolicyTicket(struct rd *r, struct in_PolicyTicket *in)
{
    PARAM(1, RD_TPM2B(r, &in->timeout));
    PARAM(2, RD_TPM2B(r, &in->cpHashA));
    PARAM(3, RD_TPM2B(r, &in->policyRef));
    PARAM(4, RD_TPM2B(r, &in->authName));
    PARAM(5, rd_U16(r, &in->ticket.tag));
    PARAM(5, in->ticket.tag == TPM_ST_AUTH_SECRET || in->ticket.tag == TPM_ST_AUTH_SIGNED
                 ? TPM_RC_SUCCESS
                 : TPM_RC_TAG);
    PARAM(5, rd_U32(r, &in->ticket.hierarchy));
    PARAM(5, RD_TPM2B(r, &in->ticket.digest));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicyTicket(struct tpm *t, struct cmd *c, const struct in_PolicyTicket *in,
                              struct out_none *out)
{
    (void)out;
    struct session *s;
    TPMT_TK expect;
    TRY(policy_session(t, c->handles[0], &s));
    PARAM(1, in->timeout.size == 8 ? TPM_RC_SUCCESS : TPM_RC_SIZE);
    uint64_t timeout = 0;
    for (int i = 0; i < 8; i++) {
        timeout = timeout << 8 | in->timeout.buffer[i];
    }
    TPMS_TIME_INFO ti;
    tpm_time_info(t, &ti);
    PARAM(1, timeout > ti.time ? TPM_RC_SUCCESS : TPM_RC_EXPIRED);
    if (in->cpHashA.size) {
        PARAM(2, in->cpHashA.size == hash_size(s->auth_hash) ? TPM_RC_SUCCESS : TPM_RC_SIZE);
        CHECK(s->cp_hash.size == 0 ||
                  secret_eq(s->cp_hash.buffer, in->cpHashA.buffer, in->cpHashA.size),
              TPM_RC_CPHASH);
    }
    TPM_HANDLE hier = in->ticket.hierarchy;
    PARAM(5, hier == TPM_RH_OWNER || hier == TPM_RH_ENDORSEMENT || hier == TPM_RH_PLATFORM ||
                     hier == TPM_RH_NULL
                 ? TPM_RC_SUCCESS
                 : TPM_RC_TICKET);
    TRY(ticket_auth(t, in->ticket.tag, hier, s->auth_hash, &in->timeout, &in->cpHashA,
                    &in->policyRef, &in->authName, &expect));
    PARAM(5, expect.digest.size == in->ticket.digest.size &&
                     secret_eq(expect.digest.buffer, in->ticket.digest.buffer,
                               expect.digest.size)
                 ? TPM_RC_SUCCESS
                 : TPM_RC_TICKET);
    TPM_CC cc = in->ticket.tag == TPM_ST_AUTH_SECRET ? TPM_CC_PolicySecret : TPM_CC_PolicySigned;
    TRY(policy_update(s, cc, &in->authName, &in->policyRef));
    if (in->cpHashA.size) {
        s->cp_hash = in->cpHashA;
    }
    if (s->timeout_ms == 0 || timeout < s->timeout_ms) {
        s->timeout_ms = timeout;
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(PolicyTicket);

/* Part 3 §23.16 TPM2_PolicyAuthorize: a policy approved by keySign (ticket from
 * VerifySignature over H(approvedPolicy || policyRef)). */
struct in_PolicyAuthorize {
    TPM2B_DIGEST approvedPolicy;
    TPM2B_NONCE policyRef;
    TPM2B_NAME keySign;
    TPMT_TK checkTicket;
};

static TPM_RC parse_PolicyAuthorize(struct rd *r, struct in_PolicyAuthorize *in)
{
    PARAM(1, RD_TPM2B(r, &in->approvedPolicy));
    PARAM(2, RD_TPM2B(r, &in->policyRef));
    PARAM(3, RD_TPM2B(r, &in->keySign));
    PARAM(4, rd_TPMT_TK(r, &in->checkTicket, TPM_ST_VERIFIED));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicyAuthorize(struct tpm *t, struct cmd *c,
                                 const struct in_PolicyAuthorize *in, struct out_none *out)
{
    (void)out;
    struct session *s;
    TRY(policy_session(t, c->handles[0], &s));
    uint16_t hs = hash_size(s->auth_hash);
    if (s->type != TPM_SE_TRIAL) {
        /* The policy so far must be the one approved. */
        PARAM(1, in->approvedPolicy.size == hs &&
                         secret_eq(in->approvedPolicy.buffer, s->policy_digest.buffer, hs)
                     ? TPM_RC_SUCCESS
                     : TPM_RC_VALUE);
        /* keySign is a name: its algorithm comes first. */
        PARAM(3, in->keySign.size >= 2 ? TPM_RC_SUCCESS : TPM_RC_SIZE);
        TPM_ALG_ID kalg = (TPM_ALG_ID)(in->keySign.buffer[0] << 8 | in->keySign.buffer[1]);
        PARAM(3, hash_info(kalg) && in->keySign.size == 2 + hash_size(kalg) ? TPM_RC_SUCCESS
                                                                             : TPM_RC_SIZE);
        /* aHash = H_keySignAlg(approvedPolicy || policyRef); the ticket is
         * HMAC(proof, TPM_ST_VERIFIED || aHash || keySign) (Part 2 §10.7.4). */
        uint8_t ahash[MAX_DIGEST_SIZE], mac[MAX_DIGEST_SIZE];
        struct hash_state h;
        struct hmac_state m;
        TPM_HANDLE hier = in->checkTicket.hierarchy;
        PARAM(4, hier != TPM_RH_NULL ? TPM_RC_SUCCESS : TPM_RC_TICKET);
        CHECK(hash_begin(&h, kalg), TPM_RC_FAILURE);
        hash_update(&h, in->approvedPolicy.buffer, in->approvedPolicy.size);
        hash_update(&h, in->policyRef.buffer, in->policyRef.size);
        CHECK(hash_end(&h, ahash), TPM_RC_FAILURE);
        CHECK(hmac_begin(&m, kalg, hier_proof(t, hier), PROOF_BYTES), TPM_RC_FAILURE);
        uint8_t tb[2] = {TPM_ST_VERIFIED >> 8, TPM_ST_VERIFIED & 0xFF};
        hmac_update(&m, tb, 2);
        hmac_update(&m, ahash, hash_size(kalg));
        hmac_update(&m, in->keySign.buffer, in->keySign.size);
        CHECK(hmac_end(&m, mac), TPM_RC_FAILURE);
        PARAM(4, in->checkTicket.digest.size == hash_size(kalg) &&
                         secret_eq(mac, in->checkTicket.digest.buffer, hash_size(kalg))
                     ? TPM_RC_SUCCESS
                     : TPM_RC_POLICY_FAIL);
    }
    /* policyDigest = 0, then PolicyUpdate(TPM_CC_PolicyAuthorize, keySign, policyRef) */
    memset(s->policy_digest.buffer, 0, hs);
    return policy_update(s, TPM_CC_PolicyAuthorize, &in->keySign, &in->policyRef);
}

CMD_OPS_NO_OUT(PolicyAuthorize);

/* The policy session named by handle n of a command (TPM_RC_HANDLE on that handle). */
static TPM_RC policy_session_at(struct tpm *t, const struct cmd *c, unsigned n,
                                struct session **out)
{
    struct session *s = session_find(t, c->handles[n - 1]);
    CHECK(s && s->type != TPM_SE_HMAC, RC_H(TPM_RC_HANDLE, n));
    *out = s;
    return TPM_RC_SUCCESS;
}

/*
 * Part 3 §23.9 TPM2_PolicyNV: compares operandB with the index's data at offset, read with
 * the authorization of authHandle (NvReadAccessChecks). A trial session checks nothing.
 */
struct in_PolicyNV {
    TPM2B_OPERAND operandB;
    uint16_t offset;
    uint16_t operation;
};

static TPM_RC parse_PolicyNV(struct rd *r, struct in_PolicyNV *in)
{
    PARAM(1, RD_TPM2B(r, &in->operandB));
    PARAM(2, rd_U16(r, &in->offset));
    PARAM(3, rd_U16(r, &in->operation));
    PARAM(3, in->operation <= 0x000B ? TPM_RC_SUCCESS : TPM_RC_VALUE);
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_PolicyNV(struct tpm *t, struct cmd *c, const struct in_PolicyNV *in,
                          struct out_none *out)
{
    (void)out;
    struct session *s;
    struct entity e;
    TPM_HANDLE index = c->handles[1];
    TRY(policy_session_at(t, c, 3, &s));
    if (s->type != TPM_SE_TRIAL) {
        uint16_t size;
        TRY(nv_read_check(t, c->handles[0], index));
        const uint8_t *d = nv_data_of(t, index, &size);
        CHECK(d, RC_H(TPM_RC_HANDLE, 2));
        PARAM(2, in->offset <= size ? TPM_RC_SUCCESS : TPM_RC_VALUE);
        PARAM(1, in->operandB.size <= size - in->offset ? TPM_RC_SUCCESS : TPM_RC_SIZE);
        CHECK(compare_operand(in->operation, d + in->offset, in->operandB.buffer,
                              in->operandB.size),
              TPM_RC_POLICY);
    }
    /* args = H(operandB || offset || operation);
     * policyDigest = H(policyDigest || TPM_CC_PolicyNV || args || nvIndex->Name) */
    uint8_t arg[MAX_DIGEST_SIZE + sizeof(TPM2B_NAME)];
    uint16_t hs = hash_size(s->auth_hash);
    struct hash_state h;
    TRY(entity_get(t, index, &e));
    CHECK(hash_begin(&h, s->auth_hash), TPM_RC_FAILURE);
    hash_update(&h, in->operandB.buffer, in->operandB.size);
    hash_update_u16(&h, in->offset);
    hash_update_u16(&h, in->operation);
    CHECK(hash_end(&h, arg), TPM_RC_FAILURE);
    memcpy(arg + hs, e.name.buffer, e.name.size);
    return policy_extend(s, TPM_CC_PolicyNV, arg, hs + e.name.size);
}

CMD_OPS_NO_OUT(PolicyNV);

/*
 * Part 3 §23.22 TPM2_PolicyAuthorizeNV: the policy so far must be the TPMT_HA stored in the
 * index (same hash as the session); then policyDigest = H(0...0 || TPM_CC_PolicyAuthorizeNV
 * || nvIndex->Name).
 */
static TPM_RC cc_PolicyAuthorizeNV(struct tpm *t, struct cmd *c, const struct in_none *in,
                                   struct out_none *out)
{
    (void)in;
    (void)out;
    struct session *s;
    struct entity e;
    TPM_HANDLE index = c->handles[1];
    uint16_t hs;
    TRY(policy_session_at(t, c, 3, &s));
    hs = hash_size(s->auth_hash);
    if (s->type != TPM_SE_TRIAL) {
        uint16_t size;
        struct rd r;
        TPMT_HA approved;
        TRY(nv_read_check(t, c->handles[0], index));
        const uint8_t *d = nv_data_of(t, index, &size);
        CHECK(d, RC_H(TPM_RC_HANDLE, 2));
        /* The index holds a TPMT_HA as the TPM would marshal it; bytes after it are ignored. */
        rd_init(&r, d, size);
        TRY(rd_TPMT_HA(&r, &approved, NO_NULL));
        CHECK(approved.hashAlg == s->auth_hash, TPM_RC_HASH);
        CHECK(secret_eq(approved.digest, s->policy_digest.buffer, hs), TPM_RC_VALUE);
    }
    TRY(entity_get(t, index, &e));
    memset(s->policy_digest.buffer, 0, hs);
    return policy_extend(s, TPM_CC_PolicyAuthorizeNV, e.name.buffer, e.name.size);
}

CMD_OPS_NONE(PolicyAuthorizeNV);

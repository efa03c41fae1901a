/*
 * Attestation commands (Part 3 §18): §18.2 Certify, §18.3 CertifyCreation, §18.4 Quote,
 * §18.5 GetSessionAuditDigest, §18.6 GetCommandAuditDigest, §18.7 GetTime, and §31.16
 * NV_Certify; the TPMS_ATTEST structure of Part 2 §10.12.12 with its TPMU_ATTEST members
 * (§10.12.3-10.12.11).
 *
 * Privacy (Part 3 §18.1): resetCount, restartCount and firmwareVersion
 * tell a verifier how often the platform rebooted and which firmware it runs. They are given
 * plainly only to keys of the endorsement and platform hierarchies (whose owners know them);
 * for any other signer they are offset by an obfuscation value that is constant for that
 * signer, so a verifier still sees when they change but not what they are:
 *   obf = KDFa(SHA-256, shProof, "OBFUSCATE", qualifiedSigner, "", 128)
 *   firmwareVersion += obf[0..7], resetCount += obf[8..11], restartCount += obf[12..15]
 * (big-endian words, additions modulo 2^64 / 2^32).
 */
#include "attest.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "audit.h"
#include "entity.h"
#include "nv.h"
#include "object.h"
#include "pcr.h"
#include "session.h"
#include "sign.h"
#include "ticket.h"

TPM_RC attest_signer(struct tpm *t, TPM_HANDLE h, unsigned hnum, TPMT_SIG_SCHEME *scheme,
                     unsigned pnum, struct object **out)
{
    struct object *o = NULL;
    if (h != TPM_RH_NULL) {
        o = object_get(t, h);
        CHECK(o && sign_is_signing_key(o), RC_H(TPM_RC_KEY, hnum));
        CHECK(sign_has_private(o), TPM_RC_AUTH_UNAVAILABLE);
    }
    CHECK(sign_select_scheme(o, scheme), RC_P(TPM_RC_SCHEME, pnum));
    *out = o;
    return TPM_RC_SUCCESS;
}

static bool anonymous(const TPMT_SIG_SCHEME *scheme)
{
    return scheme->scheme == TPM_ALG_ECDAA;
}

static uint64_t be_get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

void attest_head(struct tpm *t, const struct object *signer, const TPMT_SIG_SCHEME *scheme,
                 const TPM2B_DATA *qualifying, TPM_ST type, struct wr *w)
{
    TPM2B_NAME qs;
    TPMS_TIME_INFO ti;
    uint64_t fw = (uint64_t)t->p.firmware_v1 << 32 | t->p.firmware_v2;
    qs.size = 0;
    if (!signer) {
        entity_handle_name(TPM_RH_NULL, &qs); /* the Name of the NULL handle */
    } else if (!anonymous(scheme)) {
        qs = signer->qname;
    }
    tpm_time_info(t, &ti);
    bool plain = signer && (signer->hierarchy == TPM_RH_ENDORSEMENT ||
                            signer->hierarchy == TPM_RH_PLATFORM);
    if (!plain) {
        uint8_t obf[16];
        if (crypto_kdfa(TPM_ALG_SHA256, t->p.sh_proof, PROOF_BYTES, "OBFUSCATE", qs.buffer,
                        qs.size, NULL, 0, 128, obf)) {
            fw += be_get(obf, 8);
            ti.clockInfo.resetCount += (uint32_t)be_get(obf + 8, 4);
            ti.clockInfo.restartCount += (uint32_t)be_get(obf + 12, 4);
        } else {
            w->err = true; /* never sign plain values for a key that must not see them */
        }
        secret_wipe(obf, sizeof(obf));
    }
    wr_u32(w, TPM_GENERATED_VALUE);
    wr_u16(w, type);
    WR_TPM2B(w, &qs);
    if (anonymous(scheme)) {
        wr_u16(w, 0); /* the qualifying data is signed, not shown (Part 3 §18.1) */
    } else {
        WR_TPM2B(w, qualifying);
    }
    wr_TPMS_CLOCK_INFO(w, &ti.clockInfo);
    wr_u64(w, fw);
}

TPM_RC attest_sign(struct tpm *t, const struct object *signer, const TPMT_SIG_SCHEME *scheme,
                   const TPM2B_DATA *qualifying, struct attest_out *out)
{
    uint8_t d[MAX_DIGEST_SIZE];
    if (!signer) {
        return sign_digest(t, NULL, scheme, NULL, 0, &out->signature);
    }
    TPM_ALG_ID alg = scheme->hashAlg;
    uint16_t n = hash_size(alg);
    CHECK(n > 0, TPM_RC_SCHEME);
    CHECK(crypto_hash(alg, out->info.buffer, out->info.size, d), TPM_RC_FAILURE);
    if (anonymous(scheme) && qualifying->size) {
        /* digest = H(qualifyingData || H(attest)) */
        struct hash_state h;
        CHECK(hash_begin(&h, alg), TPM_RC_FAILURE);
        hash_update(&h, qualifying->buffer, qualifying->size);
        hash_update(&h, d, n);
        CHECK(hash_end(&h, d), TPM_RC_FAILURE);
    }
    return sign_digest(t, signer, scheme, d, n, &out->signature);
}

void attest_emit(struct wr *w, const struct attest_out *out)
{
    WR_TPM2B(w, &out->info);
    wr_TPMT_SIGNATURE(w, &out->signature);
}

/* Begin writing into out->info; attest_close records the size (TPM_RC_FAILURE if full). */
static void attest_open(struct attest_out *out, struct wr *w)
{
    wr_init(w, out->info.buffer, sizeof(out->info.buffer));
}

static TPM_RC attest_close(struct attest_out *out, const struct wr *w)
{
    CHECK(!w->err, TPM_RC_FAILURE);
    out->info.size = (uint16_t)w->off;
    return TPM_RC_SUCCESS;
}

/* Shared parameters: qualifyingData, inScheme. */
struct in_attest {
    TPM2B_DATA qualifyingData;
    TPMT_SIG_SCHEME inScheme;
};

static TPM_RC parse_attest(struct rd *r, struct in_attest *in)
{
    PARAM(1, RD_TPM2B(r, &in->qualifyingData));
    PARAM(2, rd_TPMT_SIG_SCHEME(r, &in->inScheme));
    return TPM_RC_SUCCESS;
}

/* A key object (not a sequence) named by a handle already checked. */
static TPM_RC key_object(struct tpm *t, TPM_HANDLE h, unsigned hnum, struct object **out)
{
    struct object *o = object_get(t, h);
    CHECK(o, RC_H(TPM_RC_HANDLE, hnum));
    CHECK(o->kind == OBJ_KEY, TPM_RC_SEQUENCE);
    *out = o;
    return TPM_RC_SUCCESS;
}

/* ---- Part 3 §18.2 TPM2_Certify ---- */

static TPM_RC cc_Certify(struct tpm *t, struct cmd *c, const struct in_attest *in,
                         struct attest_out *out)
{
    struct object *obj, *signer;
    TPMT_SIG_SCHEME scheme = in->inScheme;
    struct wr w;
    TRY(key_object(t, c->handles[0], 1, &obj));
    TRY(attest_signer(t, c->handles[1], 2, &scheme, 2, &signer));
    attest_open(out, &w);
    attest_head(t, signer, &scheme, &in->qualifyingData, TPM_ST_ATTEST_CERTIFY, &w);
    /* TPMS_CERTIFY_INFO: name, qualifiedName (empty for an anonymous signature) */
    WR_TPM2B(&w, &obj->name);
    if (anonymous(&scheme)) {
        wr_u16(&w, 0);
    } else {
        WR_TPM2B(&w, &obj->qname);
    }
    TRY(attest_close(out, &w));
    return attest_sign(t, signer, &scheme, &in->qualifyingData, out);
}

CMD_OPS_FULL(Certify, struct in_attest, struct attest_out, parse_attest, attest_emit);

/* ---- Part 3 §18.3 TPM2_CertifyCreation ---- */

struct in_CertifyCreation {
    TPM2B_DATA qualifyingData;
    TPM2B_DIGEST creationHash;
    TPMT_SIG_SCHEME inScheme;
    TPMT_TK creationTicket;
};

static TPM_RC parse_CertifyCreation(struct rd *r, struct in_CertifyCreation *in)
{
    PARAM(1, RD_TPM2B(r, &in->qualifyingData));
    PARAM(2, RD_TPM2B(r, &in->creationHash));
    PARAM(3, rd_TPMT_SIG_SCHEME(r, &in->inScheme));
    PARAM(4, rd_TPMT_TK(r, &in->creationTicket, TPM_ST_CREATION));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_CertifyCreation(struct tpm *t, struct cmd *c,
                                 const struct in_CertifyCreation *in, struct attest_out *out)
{
    struct object *obj, *signer;
    TPMT_SIG_SCHEME scheme = in->inScheme;
    struct wr w;
    TRY(attest_signer(t, c->handles[0], 1, &scheme, 3, &signer));
    TRY(key_object(t, c->handles[1], 2, &obj));
    /* The ticket proves the TPM made this object with this creation data. */
    CHECK(ticket_creation_ok(t, &in->creationTicket, obj->pub.nameAlg, &obj->name,
                             &in->creationHash),
          RC_P(TPM_RC_TICKET, 4));
    attest_open(out, &w);
    attest_head(t, signer, &scheme, &in->qualifyingData, TPM_ST_ATTEST_CREATION, &w);
    /* TPMS_CREATION_INFO: objectName, creationHash */
    WR_TPM2B(&w, &obj->name);
    WR_TPM2B(&w, &in->creationHash);
    TRY(attest_close(out, &w));
    return attest_sign(t, signer, &scheme, &in->qualifyingData, out);
}

CMD_OPS_FULL(CertifyCreation, struct in_CertifyCreation, struct attest_out,
             parse_CertifyCreation, attest_emit);

/* ---- Part 3 §18.4 TPM2_Quote ---- */

struct in_Quote {
    TPM2B_DATA qualifyingData;
    TPMT_SIG_SCHEME inScheme;
    TPML_PCR_SELECTION PCRselect;
};

static TPM_RC parse_Quote(struct rd *r, struct in_Quote *in)
{
    PARAM(1, RD_TPM2B(r, &in->qualifyingData));
    PARAM(2, rd_TPMT_SIG_SCHEME(r, &in->inScheme));
    PARAM(3, rd_TPML_PCR_SELECTION(r, &in->PCRselect));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_Quote(struct tpm *t, struct cmd *c, const struct in_Quote *in,
                       struct attest_out *out)
{
    struct object *signer;
    TPMT_SIG_SCHEME scheme = in->inScheme;
    TPML_PCR_SELECTION sel = in->PCRselect;
    TPM2B_DIGEST digest;
    struct wr w;
    TRY(attest_signer(t, c->handles[0], 1, &scheme, 2, &signer));
    /* The PCR digest uses the signature's hash: without one there is nothing to quote. */
    CHECK(scheme.hashAlg != TPM_ALG_NULL, RC_P(TPM_RC_SCHEME, 2));
    /* PCRs that are not allocated are left out of the digest and of the selection. */
    for (uint32_t k = 0; k < sel.count; k++) {
        TPMS_PCR_SELECTION *ps = &sel.pcrSelections[k];
        const struct hash_info *h = hash_info(ps->hash);
        for (unsigned i = 0; i < (unsigned)ps->sizeofSelect * 8; i++) {
            if (i >= IMPLEMENTATION_PCR || !h || !pcr_active(t, h->bank, i)) {
                ps->pcrSelect[i / 8] &= (uint8_t)~(1u << (i % 8));
            }
        }
    }
    TRY(pcr_digest(t, scheme.hashAlg, &sel, &digest));
    attest_open(out, &w);
    attest_head(t, signer, &scheme, &in->qualifyingData, TPM_ST_ATTEST_QUOTE, &w);
    /* TPMS_QUOTE_INFO: pcrSelect, pcrDigest */
    wr_TPML_PCR_SELECTION(&w, &sel);
    WR_TPM2B(&w, &digest);
    TRY(attest_close(out, &w));
    return attest_sign(t, signer, &scheme, &in->qualifyingData, out);
}

CMD_OPS_FULL(Quote, struct in_Quote, struct attest_out, parse_Quote, attest_emit);

/* ---- Part 3 §18.5 TPM2_GetSessionAuditDigest ---- */

static TPM_RC cc_GetSessionAuditDigest(struct tpm *t, struct cmd *c, const struct in_attest *in,
                                       struct attest_out *out)
{
    struct object *signer;
    TPMT_SIG_SCHEME scheme = in->inScheme;
    struct wr w;
    TRY(attest_signer(t, c->handles[1], 2, &scheme, 2, &signer));
    struct session *s = session_find(t, c->handles[2]);
    CHECK(s, RC_H(TPM_RC_HANDLE, 3));
    CHECK(s->audit, RC_H(TPM_RC_TYPE, 3)); /* only an audit session has a digest */
    attest_open(out, &w);
    attest_head(t, signer, &scheme, &in->qualifyingData, TPM_ST_ATTEST_SESSION_AUDIT, &w);
    /* TPMS_SESSION_AUDIT_INFO: exclusiveSession, sessionDigest */
    wr_u8(&w, t->exclusive_audit == s->handle ? 1 : 0);
    WR_TPM2B(&w, &s->audit_digest);
    TRY(attest_close(out, &w));
    return attest_sign(t, signer, &scheme, &in->qualifyingData, out);
}

CMD_OPS_FULL(GetSessionAuditDigest, struct in_attest, struct attest_out, parse_attest,
             attest_emit);

/* ---- Part 3 §18.6 TPM2_GetCommandAuditDigest ---- */

/* commandDigest: the audited command codes, ascending, as 32-bit values, hashed with the
 * audit hash (Part 3 §18.6.1). */
static TPM_RC command_digest(const struct tpm *t, TPM2B_DIGEST *out)
{
    TPM_CC list[256];
    struct hash_state h;
    out->size = 0;
    if (t->p.audit_alg == TPM_ALG_NULL) {
        return TPM_RC_SUCCESS;
    }
    unsigned n = audit_list(t, 0, list, 256);
    CHECK(hash_begin(&h, t->p.audit_alg), TPM_RC_FAILURE);
    for (unsigned i = 0; i < n; i++) {
        hash_update_u32(&h, list[i]);
    }
    CHECK(hash_end(&h, out->buffer), TPM_RC_FAILURE);
    out->size = hash_size(t->p.audit_alg);
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_GetCommandAuditDigest(struct tpm *t, struct cmd *c, const struct in_attest *in,
                                       struct attest_out *out)
{
    struct object *signer;
    TPMT_SIG_SCHEME scheme = in->inScheme;
    TPM2B_DIGEST cd;
    struct wr w;
    TRY(attest_signer(t, c->handles[1], 2, &scheme, 2, &signer));
    TRY(command_digest(t, &cd));
    attest_open(out, &w);
    attest_head(t, signer, &scheme, &in->qualifyingData, TPM_ST_ATTEST_COMMAND_AUDIT, &w);
    /* TPMS_COMMAND_AUDIT_INFO: auditCounter, digestAlg, auditDigest, commandDigest */
    wr_u64(&w, t->p.audit_counter);
    wr_u16(&w, t->p.audit_alg);
    WR_TPM2B(&w, &t->sr.command_audit_digest);
    WR_TPM2B(&w, &cd);
    TRY(attest_close(out, &w));
    TRY(attest_sign(t, signer, &scheme, &in->qualifyingData, out));
    /* A signed report closes the audit run: the next audited command starts a new one. */
    if (signer) {
        t->sr.command_audit_digest.size = 0;
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS_FULL(GetCommandAuditDigest, struct in_attest, struct attest_out, parse_attest,
             attest_emit);

/* ---- Part 3 §18.7 TPM2_GetTime ---- */

static TPM_RC cc_GetTime(struct tpm *t, struct cmd *c, const struct in_attest *in,
                         struct attest_out *out)
{
    struct object *signer;
    TPMT_SIG_SCHEME scheme = in->inScheme;
    TPMS_TIME_INFO ti;
    struct wr w;
    TRY(attest_signer(t, c->handles[1], 2, &scheme, 2, &signer));
    attest_open(out, &w);
    attest_head(t, signer, &scheme, &in->qualifyingData, TPM_ST_ATTEST_TIME, &w);
    /* TPMS_TIME_ATTEST_INFO: time (plain: the privacy administrator authorized this), then
     * firmwareVersion (plain) */
    tpm_time_info(t, &ti);
    wr_TPMS_TIME_INFO(&w, &ti);
    wr_u64(&w, (uint64_t)t->p.firmware_v1 << 32 | t->p.firmware_v2);
    TRY(attest_close(out, &w));
    return attest_sign(t, signer, &scheme, &in->qualifyingData, out);
}

CMD_OPS_FULL(GetTime, struct in_attest, struct attest_out, parse_attest, attest_emit);

/* ---- Part 3 §31.16 TPM2_NV_Certify ---- */

struct in_NV_Certify {
    TPM2B_DATA qualifyingData;
    TPMT_SIG_SCHEME inScheme;
    uint16_t size;
    uint16_t offset;
};

static TPM_RC parse_NV_Certify(struct rd *r, struct in_NV_Certify *in)
{
    PARAM(1, RD_TPM2B(r, &in->qualifyingData));
    PARAM(2, rd_TPMT_SIG_SCHEME(r, &in->inScheme));
    PARAM(3, rd_U16(r, &in->size));
    PARAM(4, rd_U16(r, &in->offset));
    return TPM_RC_SUCCESS;
}

/*
 * The index is read as NV_Read reads it (authHandle: the owner with OWNERREAD, the platform
 * with PPREAD, or the index itself; not read-locked; written). size = offset = 0 asks for a
 * digest of all of it with the signature's hash (TPMS_NV_DIGEST_CERTIFY_INFO, revision 1.59),
 * anything else for the bytes themselves (TPMS_NV_CERTIFY_INFO).
 */
static TPM_RC cc_NV_Certify(struct tpm *t, struct cmd *c, const struct in_NV_Certify *in,
                            struct attest_out *out)
{
    struct object *signer;
    TPMT_SIG_SCHEME scheme = in->inScheme;
    struct entity e;
    uint16_t dsize;
    struct wr w;
    TRY(attest_signer(t, c->handles[0], 1, &scheme, 2, &signer));
    TRY(nv_read_check(t, c->handles[1], c->handles[2]));
    const uint8_t *data = nv_data_of(t, c->handles[2], &dsize);
    CHECK(data, RC_H(TPM_RC_HANDLE, 3));
    CHECK((uint32_t)in->size + in->offset <= dsize, TPM_RC_NV_RANGE);
    CHECK(in->size <= MAX_NV_BUFFER_SIZE, RC_P(TPM_RC_VALUE, 3));
    TRY(nv_entity(t, c->handles[2], &e));
    bool digest = in->size == 0 && in->offset == 0;
    attest_open(out, &w);
    attest_head(t, signer, &scheme, &in->qualifyingData,
                digest ? TPM_ST_ATTEST_NV_DIGEST : TPM_ST_ATTEST_NV, &w);
    WR_TPM2B(&w, &e.name);
    if (digest) {
        /* nvDigest: H_sig(all the data); empty without a signing hash (NULL signer) */
        TPM2B_DIGEST d = {0};
        if (scheme.hashAlg != TPM_ALG_NULL) {
            CHECK(crypto_hash(scheme.hashAlg, data, dsize, d.buffer), TPM_RC_FAILURE);
            d.size = hash_size(scheme.hashAlg);
        }
        WR_TPM2B(&w, &d);
    } else {
        wr_u16(&w, in->offset);
        wr_tpm2b(&w, data + in->offset, in->size);
    }
    TRY(attest_close(out, &w));
    return attest_sign(t, signer, &scheme, &in->qualifyingData, out);
}

CMD_OPS_FULL(NV_Certify, struct in_NV_Certify, struct attest_out, parse_NV_Certify,
             attest_emit);

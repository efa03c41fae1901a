/*
 * Hashing: Part 3 §15.4 Hash, §17.3 HashSequenceStart, §17.4 SequenceUpdate, §17.5
 * SequenceComplete, §17.6 EventSequenceComplete. A sequence is a transient object
 * (object.c) holding a running hash, or one per bank for an event sequence.
 */
#include <string.h>

#include "alg.h"
#include "auth.h"
#include "cmd.h"
#include "hierarchy.h"
#include "object.h"
#include "pcr.h"
#include "ticket.h"

/* Does the data start with TPM_GENERATED_VALUE? Such data may not get a ticket, or a
 * restricted key could be made to sign a forged attestation (Part 1 §11.4.5.4). */
static bool starts_generated(const uint8_t *p, size_t n)
{
    return n >= 4 && p[0] == 0xFF && p[1] == 'T' && p[2] == 'C' && p[3] == 'G';
}

/* A hierarchy named for a ticket must be enabled (TPM_RC_HIERARCHY). */
static TPM_RC ticket_hierarchy_ok(struct tpm *t, TPM_HANDLE h)
{
    return hier_enabled(t, h) ? TPM_RC_SUCCESS : TPM_RC_HIERARCHY;
}

static TPM_RC rd_hierarchy(struct rd *r, TPM_HANDLE *h)
{
    TRY(rd_U32(r, h));
    /* TPMI_RH_HIERARCHY+ */
    CHECK(*h == TPM_RH_OWNER || *h == TPM_RH_ENDORSEMENT || *h == TPM_RH_PLATFORM ||
              *h == TPM_RH_NULL,
          TPM_RC_VALUE);
    return TPM_RC_SUCCESS;
}

/* ---- Part 3 §15.4 TPM2_Hash ---- */

struct in_Hash {
    TPM2B_MAX_BUFFER data;
    TPM_ALG_ID hashAlg;
    TPM_HANDLE hierarchy;
};

struct out_Hash {
    TPM2B_DIGEST outHash;
    TPMT_TK validation;
};

static TPM_RC parse_Hash(struct rd *r, struct in_Hash *in)
{
    PARAM(1, RD_TPM2B(r, &in->data));
    PARAM(2, rd_TPMI_ALG_HASH(r, &in->hashAlg, NO_NULL));
    PARAM(3, rd_hierarchy(r, &in->hierarchy));
    return TPM_RC_SUCCESS;
}

static void emit_Hash(struct wr *w, const struct out_Hash *out)
{
    WR_TPM2B(w, &out->outHash);
    wr_TPMT_TK(w, &out->validation);
}

static TPM_RC cc_Hash(struct tpm *t, struct cmd *c, const struct in_Hash *in,
                      struct out_Hash *out)
{
    (void)c;
    TPM_HANDLE h = in->hierarchy;
    PARAM(3, ticket_hierarchy_ok(t, h));
    CHECK(crypto_hash(in->hashAlg, in->data.buffer, in->data.size, out->outHash.buffer),
          TPM_RC_FAILURE);
    out->outHash.size = hash_size(in->hashAlg);
    if (starts_generated(in->data.buffer, in->data.size)) {
        h = TPM_RH_NULL;
    }
    return ticket_hashcheck(t, h, in->hashAlg, out->outHash.buffer, &out->validation);
}

CMD_OPS(Hash);

/* ---- Part 3 §17.3 TPM2_HashSequenceStart ---- */

struct in_HashSequenceStart {
    TPM2B_AUTH auth;
    TPM_ALG_ID hashAlg;
};

static TPM_RC parse_HashSequenceStart(struct rd *r, struct in_HashSequenceStart *in)
{
    PARAM(1, RD_TPM2B(r, &in->auth));
    PARAM(2, rd_TPMI_ALG_HASH(r, &in->hashAlg, NULL_OK));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_HashSequenceStart(struct tpm *t, struct cmd *c,
                                   const struct in_HashSequenceStart *in, struct out_none *out)
{
    (void)out;
    bool event = in->hashAlg == TPM_ALG_NULL;
    struct object *o = object_alloc(t, event ? OBJ_EVENT_SEQ : OBJ_HASH_SEQ);
    CHECK(o, TPM_RC_OBJECT_MEMORY);
    o->hierarchy = TPM_RH_NULL;
    o->seq_alg = in->hashAlg;
    auth_set(&o->auth, &in->auth);
    /* An event sequence hashes in every implemented bank at once. */
    for (unsigned b = 0; b < (event ? HASH_COUNT : 1); b++) {
        if (!hash_begin(&o->seq[b], event ? hash_table[b].alg : in->hashAlg)) {
            object_free(o);
            return TPM_RC_MEMORY;
        }
    }
    c->out_handle = o->handle;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(HashSequenceStart);

/* The sequence object named by a handle, of one of the kinds allowed (TPM_RC_MODE). */
static TPM_RC seq_object(struct tpm *t, TPM_HANDLE h, bool event_ok, bool hash_ok,
                         struct object **op)
{
    struct object *o = object_find(t, h);
    CHECK(o, TPM_RC_HANDLE);
    bool ok = (o->kind == OBJ_EVENT_SEQ && event_ok) ||
              ((o->kind == OBJ_HASH_SEQ || o->kind == OBJ_HMAC_SEQ) && hash_ok);
    CHECK(ok, TPM_RC_MODE);
    *op = o;
    return TPM_RC_SUCCESS;
}

static void seq_feed(struct object *o, const uint8_t *p, size_t n)
{
    if (!o->seq_fed && n > 0) {
        o->seq_no_ticket = starts_generated(p, n);
        o->seq_fed = true;
    }
    if (o->kind == OBJ_HMAC_SEQ) {
        hmac_update(&o->hmac, p, n);
        return;
    }
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        if (o->seq[b].ctx) {
            hash_update(&o->seq[b], p, n);
        }
    }
}

/* ---- Part 3 §17.4 TPM2_SequenceUpdate ---- */

struct in_SequenceUpdate {
    TPM2B_MAX_BUFFER buffer;
};

static TPM_RC parse_SequenceUpdate(struct rd *r, struct in_SequenceUpdate *in)
{
    PARAM(1, RD_TPM2B(r, &in->buffer));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_SequenceUpdate(struct tpm *t, struct cmd *c,
                                const struct in_SequenceUpdate *in, struct out_none *out)
{
    (void)out;
    struct object *o;
    TPM_RC rc = seq_object(t, c->handles[0], true, true, &o);
    CHECK(rc == TPM_RC_SUCCESS, RC_H(rc, 1));
    seq_feed(o, in->buffer.buffer, in->buffer.size);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(SequenceUpdate);

/* ---- Part 3 §17.5 TPM2_SequenceComplete ---- */

struct in_SequenceComplete {
    TPM2B_MAX_BUFFER buffer;
    TPM_HANDLE hierarchy;
};

struct out_SequenceComplete {
    TPM2B_DIGEST result;
    TPMT_TK validation;
};

static TPM_RC parse_SequenceComplete(struct rd *r, struct in_SequenceComplete *in)
{
    PARAM(1, RD_TPM2B(r, &in->buffer));
    PARAM(2, rd_hierarchy(r, &in->hierarchy));
    return TPM_RC_SUCCESS;
}

static void emit_SequenceComplete(struct wr *w, const struct out_SequenceComplete *out)
{
    WR_TPM2B(w, &out->result);
    wr_TPMT_TK(w, &out->validation);
}

static TPM_RC cc_SequenceComplete(struct tpm *t, struct cmd *c,
                                  const struct in_SequenceComplete *in,
                                  struct out_SequenceComplete *out)
{
    struct object *o;
    TPM_RC rc = seq_object(t, c->handles[0], false, true, &o);
    CHECK(rc == TPM_RC_SUCCESS, RC_H(rc, 1));
    PARAM(2, ticket_hierarchy_ok(t, in->hierarchy));
    seq_feed(o, in->buffer.buffer, in->buffer.size);
    bool ok;
    if (o->kind == OBJ_HMAC_SEQ) {
        ok = hmac_end(&o->hmac, out->result.buffer);
        ticket_null(TPM_ST_HASHCHECK, &out->validation);
        rc = TPM_RC_SUCCESS;
    } else {
        ok = hash_end(&o->seq[0], out->result.buffer);
        TPM_HANDLE h = o->seq_no_ticket ? TPM_RH_NULL : in->hierarchy;
        rc = ok ? ticket_hashcheck(t, h, o->seq_alg, out->result.buffer, &out->validation)
                : TPM_RC_FAILURE;
    }
    out->result.size = hash_size(o->seq_alg);
    object_free(o);
    CHECK(ok, TPM_RC_FAILURE);
    return rc;
}

CMD_OPS(SequenceComplete);

/* ---- Part 3 §17.6 TPM2_EventSequenceComplete ---- */

struct in_EventSequenceComplete {
    TPM2B_MAX_BUFFER buffer;
};

struct out_EventSequenceComplete {
    TPML_DIGEST_VALUES results;
};

static TPM_RC parse_EventSequenceComplete(struct rd *r, struct in_EventSequenceComplete *in)
{
    PARAM(1, RD_TPM2B(r, &in->buffer));
    return TPM_RC_SUCCESS;
}

static void emit_EventSequenceComplete(struct wr *w, const struct out_EventSequenceComplete *out)
{
    wr_TPML_DIGEST_VALUES(w, &out->results);
}

static TPM_RC cc_EventSequenceComplete(struct tpm *t, struct cmd *c,
                                       const struct in_EventSequenceComplete *in,
                                       struct out_EventSequenceComplete *out)
{
    TPM_HANDLE pcr = c->handles[0];
    struct object *o;
    TPM_RC rc = seq_object(t, c->handles[1], true, false, &o);
    CHECK(rc == TPM_RC_SUCCESS, RC_H(rc, 2));
    if (pcr != TPM_RH_NULL) {
        TRY(pcr_check_extend(pcr, c->locality));
    }
    seq_feed(o, in->buffer.buffer, in->buffer.size);
    bool ok = true;
    out->results.count = HASH_COUNT;
    for (unsigned b = 0; b < HASH_COUNT; b++) {
        TPMT_HA *d = &out->results.digests[b];
        d->hashAlg = hash_table[b].alg;
        ok &= hash_end(&o->seq[b], d->digest);
        if (ok && pcr != TPM_RH_NULL && pcr_active(t, b, pcr)) {
            pcr_extend(t, b, pcr, d->digest);
        }
    }
    if (pcr != TPM_RH_NULL) {
        pcr_changed(t, pcr);
    }
    object_free(o);
    CHECK(ok, TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

CMD_OPS(EventSequenceComplete);

/*
 * Object commands: Part 3 §12.1 Create, §12.2 Load, §12.3 LoadExternal, §12.4 ReadPublic,
 * §12.6 ObjectChangeAuth, §12.7 Unseal, §12.9 CreateLoaded, §28.5 EvictControl.
 * Attribute rules are those of Part 1 §27.2 and Part 2 §8.3 (object.c does the checks).
 */
#include "objcmd.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "crypto_asym.h"
#include "hierarchy.h"
#include "object.h"
#include "pcr.h"
#include "primary.h"

TPM_RC objcmd_creation(struct tpm *t, const struct cmd *c, TPM_HANDLE hierarchy,
                       TPM_ALG_ID parent_alg, const TPM2B_NAME *parent_name,
                       const TPM2B_NAME *parent_qn, const TPM2B_DATA *outside,
                       const TPML_PCR_SELECTION *pcrs, const struct object *o,
                       struct out_create *out)
{
    TPMS_CREATION_DATA *cd = &out->creationData;
    TPM_ALG_ID alg = o->pub.nameAlg;
    uint8_t buf[1024];
    struct wr w;
    struct hmac_state m;
    cd->pcrSelect = *pcrs;
    TRY(pcr_digest(t, alg, pcrs, &cd->pcrDigest));
    cd->locality = (TPMA_LOCALITY)(1u << c->locality);
    cd->parentNameAlg = parent_alg;
    cd->parentName = *parent_name;
    cd->parentQualifiedName = *parent_qn;
    cd->outsideInfo = *outside;
    wr_init(&w, buf, sizeof(buf));
    wr_TPMS_CREATION_DATA(&w, cd);
    CHECK(!w.err, TPM_RC_FAILURE);
    CHECK(crypto_hash(alg, buf, w.off, out->creationHash.buffer), TPM_RC_FAILURE);
    out->creationHash.size = hash_size(alg);
    /* Part 2 §10.7.3 TPMT_TK_CREATION: HMAC(proof, TPM_ST_CREATION || name || creationHash) */
    out->creationTicket.tag = TPM_ST_CREATION;
    out->creationTicket.hierarchy = hierarchy;
    CHECK(hmac_begin(&m, alg, hier_proof(t, hierarchy), PROOF_BYTES), TPM_RC_FAILURE);
    uint8_t tag[2] = {TPM_ST_CREATION >> 8, TPM_ST_CREATION & 0xFF};
    hmac_update(&m, tag, 2);
    hmac_update(&m, o->name.buffer, o->name.size);
    hmac_update(&m, out->creationHash.buffer, out->creationHash.size);
    CHECK(hmac_end(&m, out->creationTicket.digest.buffer), TPM_RC_FAILURE);
    out->creationTicket.digest.size = hash_size(alg);
    return TPM_RC_SUCCESS;
}

static void wr_creation_data(struct wr *w, const TPMS_CREATION_DATA *cd)
{
    size_t mark = wr_size16_begin(w);
    wr_TPMS_CREATION_DATA(w, cd);
    wr_size16_end(w, mark);
}

void objcmd_emit_primary(struct wr *w, const struct out_create *out)
{
    wr_TPM2B_PUBLIC(w, &out->outPublic);
    wr_creation_data(w, &out->creationData);
    WR_TPM2B(w, &out->creationHash);
    wr_TPMT_TK(w, &out->creationTicket);
    WR_TPM2B(w, &out->name);
}

static void emit_create(struct wr *w, const struct out_create *out)
{
    WR_TPM2B(w, &out->outPrivate);
    wr_TPM2B_PUBLIC(w, &out->outPublic);
    wr_creation_data(w, &out->creationData);
    WR_TPM2B(w, &out->creationHash);
    wr_TPMT_TK(w, &out->creationTicket);
}

/* A key object that can be used (not a sequence, not public-only when need_private). */
static struct object *key_of(struct tpm *t, TPM_HANDLE h)
{
    struct object *o = object_get(t, h);
    return o && o->kind == OBJ_KEY ? o : NULL;
}

/* The sensitive area of o as it is protected: with its authValue. */
static void sens_with_auth(const struct object *o, TPMT_SENSITIVE *s)
{
    *s = o->sens;
    memcpy(&s->authValue, &o->auth, sizeof(s->authValue));
}

/* ---- Part 3 §12.1 TPM2_Create ---- */

struct in_Create {
    TPMS_SENSITIVE_CREATE inSensitive;
    TPMT_PUBLIC inPublic;
    TPM2B_DATA outsideInfo;
    TPML_PCR_SELECTION creationPCR;
};

static TPM_RC parse_Create(struct rd *r, struct in_Create *in)
{
    PARAM(1, rd_TPM2B_SENSITIVE_CREATE(r, &in->inSensitive));
    PARAM(2, rd_TPM2B_PUBLIC(r, &in->inPublic, NO_NULL));
    PARAM(3, RD_TPM2B(r, &in->outsideInfo));
    PARAM(4, rd_TPML_PCR_SELECTION(r, &in->creationPCR));
    return TPM_RC_SUCCESS;
}

/* Make an ordinary object under a storage parent: the part Create and CreateLoaded share. */
static TPM_RC create_under(struct tpm *t, struct object *parent, const TPMT_PUBLIC *tmpl,
                           const TPMS_SENSITIVE_CREATE *sc, struct object *o)
{
    TPMT_SENSITIVE sens;
    TPMT_PUBLIC pub = *tmpl;
    struct keysrc src = {false, TPM_ALG_NULL, NULL, 0, NULL, 0, 0};
    (void)t;
    TPM_RC rc = object_generate(&pub, &sens, sc, &src);
    if (rc == TPM_RC_SUCCESS) {
        auth_set(&sens.authValue, &sc->userAuth);
        rc = object_install(o, parent->hierarchy, &parent->qname, &pub, &sens, 0);
    }
    secret_wipe(&sens, sizeof(sens));
    return rc == TPM_RC_VALUE ? RC_P(rc, 2) : rc;
}

static TPM_RC cc_Create(struct tpm *t, struct cmd *c, const struct in_Create *in,
                        struct out_create *out)
{
    struct object *parent = key_of(t, c->handles[0]);
    struct object tmp;
    TPMT_SENSITIVE sens;
    TPM_RC rc;
    CHECK(parent && object_is_storage(parent), RC_H(TPM_RC_TYPE, 1));
    PARAM(2, object_check_public(&in->inPublic, parent));
    PARAM(1, object_check_create(&in->inPublic, &in->inSensitive));
    memset(&tmp, 0, sizeof(tmp));
    rc = create_under(t, parent, &in->inPublic, &in->inSensitive, &tmp);
    if (rc == TPM_RC_SUCCESS) {
        sens_with_auth(&tmp, &sens);
        rc = object_protect(parent, &tmp.name, &sens, &out->outPrivate);
        secret_wipe(&sens, sizeof(sens));
    }
    if (rc == TPM_RC_SUCCESS) {
        out->outPublic = tmp.pub;
        rc = objcmd_creation(t, c, parent->hierarchy, parent->pub.nameAlg, &parent->name,
                             &parent->qname, &in->outsideInfo, &in->creationPCR, &tmp, out);
    }
    object_free(&tmp);
    return rc;
}

CMD_OPS_FULL(Create, struct in_Create, struct out_create, parse_Create, emit_create);

/* ---- Part 3 §12.2 TPM2_Load ---- */

struct in_Load {
    TPM2B_PRIVATE inPrivate;
    TPMT_PUBLIC inPublic;
};

struct out_Load {
    TPM2B_NAME name;
};

static TPM_RC parse_Load(struct rd *r, struct in_Load *in)
{
    PARAM(1, RD_TPM2B(r, &in->inPrivate));
    PARAM(2, rd_TPM2B_PUBLIC(r, &in->inPublic, NO_NULL));
    return TPM_RC_SUCCESS;
}

static void emit_Load(struct wr *w, const struct out_Load *out)
{
    WR_TPM2B(w, &out->name);
}

static TPM_RC cc_Load(struct tpm *t, struct cmd *c, const struct in_Load *in,
                      struct out_Load *out)
{
    struct object *parent = key_of(t, c->handles[0]);
    TPMT_SENSITIVE sens;
    TPM2B_NAME name;
    TPM_RC rc;
    CHECK(parent && object_is_storage(parent), RC_H(TPM_RC_TYPE, 1));
    CHECK(in->inPrivate.size > 0, RC_P(TPM_RC_SIZE, 1));
    PARAM(2, object_check_public(&in->inPublic, parent));
    TRY(object_name(&in->inPublic, &name));
    PARAM(1, object_unprotect(parent, &name, &in->inPrivate, &sens));
    rc = object_check_binding(&in->inPublic, &sens);
    if (rc == TPM_RC_SUCCESS) {
        rc = sens.authValue.size <= hash_size(in->inPublic.nameAlg) ? TPM_RC_SUCCESS
                                                                      : TPM_RC_SIZE;
    }
    struct object *o = rc == TPM_RC_SUCCESS ? object_alloc(t, OBJ_KEY) : NULL;
    if (rc == TPM_RC_SUCCESS && !o) {
        rc = TPM_RC_OBJECT_MEMORY;
    }
    if (rc == TPM_RC_SUCCESS) {
        rc = object_install(o, parent->hierarchy, &parent->qname, &in->inPublic, &sens, 0);
        if (rc != TPM_RC_SUCCESS) {
            object_free(o);
        }
    }
    secret_wipe(&sens, sizeof(sens));
    if (rc != TPM_RC_SUCCESS) {
        return rc == TPM_RC_OBJECT_MEMORY ? rc : RC_P(rc, 1);
    }
    out->name = o->name;
    c->out_handle = o->handle;
    return TPM_RC_SUCCESS;
}

CMD_OPS(Load);

/* ---- Part 3 §12.3 TPM2_LoadExternal ---- */

struct in_LoadExternal {
    bool has_private;
    TPMT_SENSITIVE inPrivate;
    TPMT_PUBLIC inPublic;
    TPM_HANDLE hierarchy;
};

static TPM_RC parse_LoadExternal(struct rd *r, struct in_LoadExternal *in)
{
    uint16_t size;
    struct rd peek = *r;
    /* inPrivate is an optional TPM2B_SENSITIVE: size 0 means public only. */
    PARAM(1, rd_U16(&peek, &size));
    if (size == 0) {
        *r = peek;
    } else {
        PARAM(1, rd_TPM2B_SENSITIVE(r, &in->inPrivate));
        in->has_private = true;
    }
    PARAM(2, rd_TPM2B_PUBLIC(r, &in->inPublic, NO_NULL));
    PARAM(3, rd_U32(r, &in->hierarchy));
    /* TPMI_RH_HIERARCHY+ */
    PARAM(3, in->hierarchy == TPM_RH_OWNER || in->hierarchy == TPM_RH_ENDORSEMENT ||
                     in->hierarchy == TPM_RH_PLATFORM || in->hierarchy == TPM_RH_NULL
                 ? TPM_RC_SUCCESS
                 : TPM_RC_VALUE);
    return TPM_RC_SUCCESS;
}

/* A public key without its private part must at least be a key (Part 3 §12.3). */
static TPM_RC public_key_ok(const TPMT_PUBLIC *pub)
{
    const TPMU_PUBLIC_ID *u = &pub->unique;
    switch (pub->type) {
    case TPM_ALG_RSA:
        CHECK(u->rsa.size == pub->parameters.keyBits / 8, TPM_RC_KEY_SIZE);
        return TPM_RC_SUCCESS;
    case TPM_ALG_ECC:
        CHECK(crypto_ecc_point_ok(pub->parameters.curveID, u->ecc.x.buffer, u->ecc.x.size,
                                  u->ecc.y.buffer, u->ecc.y.size),
              TPM_RC_ECC_POINT);
        return TPM_RC_SUCCESS;
    default:
        CHECK(u->digest.size == hash_size(pub->nameAlg), TPM_RC_SIZE);
        return TPM_RC_SUCCESS;
    }
}

static TPM_RC cc_LoadExternal(struct tpm *t, struct cmd *c, const struct in_LoadExternal *in,
                              struct out_Load *out)
{
    const TPMT_PUBLIC *pub = &in->inPublic;
    TPMA_OBJECT a = pub->objectAttributes;
    TPM2B_NAME hname;
    PARAM(3, hier_enabled(t, in->hierarchy) ? TPM_RC_SUCCESS : TPM_RC_HIERARCHY);
    if (in->has_private) {
        /* An external key with its private part is not the TPM's: it cannot claim to be
         * fixed to it or to a parent, and it lives in the null hierarchy (Part 3 §12.3). */
        PARAM(2, (a & (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT)) ? TPM_RC_ATTRIBUTES
                                                                        : TPM_RC_SUCCESS);
        PARAM(3, in->hierarchy == TPM_RH_NULL ? TPM_RC_SUCCESS : TPM_RC_HIERARCHY);
        PARAM(1, in->inPrivate.authValue.size <= hash_size(pub->nameAlg) ? TPM_RC_SUCCESS
                                                                         : TPM_RC_SIZE);
    }
    PARAM(2, object_check_public(pub, NULL));
    if (in->has_private) {
        PARAM(1, object_check_binding(pub, &in->inPrivate));
    } else {
        PARAM(2, public_key_ok(pub));
    }
    struct object *o = object_alloc(t, OBJ_KEY);
    CHECK(o, TPM_RC_OBJECT_MEMORY);
    entity_handle_name(in->hierarchy, &hname);
    TPM_RC rc = object_install(o, in->hierarchy, &hname, pub,
                               in->has_private ? &in->inPrivate : NULL,
                               (uint8_t)(OBJF_EXTERNAL | (in->has_private ? 0 : OBJF_PUBLIC_ONLY)));
    if (rc != TPM_RC_SUCCESS) {
        object_free(o);
        return rc;
    }
    out->name = o->name;
    c->out_handle = o->handle;
    return TPM_RC_SUCCESS;
}

CMD_OPS_FULL(LoadExternal, struct in_LoadExternal, struct out_Load, parse_LoadExternal,
             emit_Load);

/* ---- Part 3 §12.4 TPM2_ReadPublic ---- */

struct out_ReadPublic {
    TPMT_PUBLIC outPublic;
    TPM2B_NAME name;
    TPM2B_NAME qualifiedName;
};

static void emit_ReadPublic(struct wr *w, const struct out_ReadPublic *out)
{
    wr_TPM2B_PUBLIC(w, &out->outPublic);
    WR_TPM2B(w, &out->name);
    WR_TPM2B(w, &out->qualifiedName);
}

static TPM_RC cc_ReadPublic(struct tpm *t, struct cmd *c, const struct in_none *in,
                            struct out_ReadPublic *out)
{
    (void)in;
    struct object *o = object_get(t, c->handles[0]);
    CHECK(o, RC_H(TPM_RC_HANDLE, 1));
    CHECK(o->kind == OBJ_KEY, RC_H(TPM_RC_SEQUENCE, 1));
    out->outPublic = o->pub;
    out->name = o->name;
    out->qualifiedName = o->qname;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_IN(ReadPublic);

/* ---- Part 3 §12.6 TPM2_ObjectChangeAuth ---- */

struct in_ObjectChangeAuth {
    TPM2B_AUTH newAuth;
};

struct out_ObjectChangeAuth {
    TPM2B_PRIVATE outPrivate;
};

static TPM_RC parse_ObjectChangeAuth(struct rd *r, struct in_ObjectChangeAuth *in)
{
    PARAM(1, RD_TPM2B(r, &in->newAuth));
    return TPM_RC_SUCCESS;
}

static void emit_ObjectChangeAuth(struct wr *w, const struct out_ObjectChangeAuth *out)
{
    WR_TPM2B(w, &out->outPrivate);
}

static TPM_RC cc_ObjectChangeAuth(struct tpm *t, struct cmd *c,
                                  const struct in_ObjectChangeAuth *in,
                                  struct out_ObjectChangeAuth *out)
{
    struct object *o = object_get(t, c->handles[0]);
    struct object *parent = key_of(t, c->handles[1]);
    TPM2B_NAME qn;
    TPMT_SENSITIVE sens;
    CHECK(o && o->kind == OBJ_KEY && !(o->flags & (OBJF_PUBLIC_ONLY | OBJF_EXTERNAL)),
          RC_H(TPM_RC_TYPE, 1));
    CHECK(!(o->flags & OBJF_PRIMARY), RC_H(TPM_RC_TYPE, 1)); /* a primary has no blob */
    CHECK(parent && object_is_storage(parent), RC_H(TPM_RC_TYPE, 2));
    /* parentHandle must be the object's parent: QN(object) = H(QN(parent) || Name). */
    TRY(object_qname(o->pub.nameAlg, &parent->qname, &o->name, &qn));
    CHECK(qn.size == o->qname.size && memcmp(qn.buffer, o->qname.buffer, qn.size) == 0,
          RC_H(TPM_RC_TYPE, 2));
    CHECK(in->newAuth.size <= hash_size(o->pub.nameAlg), RC_P(TPM_RC_SIZE, 1));
    sens = o->sens;
    auth_set(&sens.authValue, &in->newAuth);
    TPM_RC rc = object_protect(parent, &o->name, &sens, &out->outPrivate);
    secret_wipe(&sens, sizeof(sens));
    return rc;
}

CMD_OPS(ObjectChangeAuth);

/* ---- Part 3 §12.7 TPM2_Unseal ---- */

struct out_Unseal {
    TPM2B_SENSITIVE_DATA outData;
};

static void emit_Unseal(struct wr *w, const struct out_Unseal *out)
{
    WR_TPM2B(w, &out->outData);
}

static TPM_RC cc_Unseal(struct tpm *t, struct cmd *c, const struct in_none *in,
                        struct out_Unseal *out)
{
    (void)in;
    struct object *o = key_of(t, c->handles[0]);
    CHECK(o && o->pub.type == TPM_ALG_KEYEDHASH && !(o->flags & OBJF_PUBLIC_ONLY),
          RC_H(TPM_RC_TYPE, 1));
    CHECK(!(o->pub.objectAttributes & (TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT |
                                       TPMA_OBJECT_RESTRICTED)),
          RC_H(TPM_RC_ATTRIBUTES, 1));
    CHECK(o->sens.sensitive.size <= sizeof(out->outData.buffer), TPM_RC_FAILURE);
    memcpy(out->outData.buffer, o->sens.sensitive.buffer, o->sens.sensitive.size);
    out->outData.size = o->sens.sensitive.size;
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_IN(Unseal);

/* ---- Part 3 §28.5 TPM2_EvictControl ---- */

struct in_EvictControl {
    TPM_HANDLE persistentHandle;
};

static TPM_RC parse_EvictControl(struct rd *r, struct in_EvictControl *in)
{
    PARAM(1, rd_U32(r, &in->persistentHandle));
    PARAM(1, (in->persistentHandle >> HR_SHIFT) == TPM_HT_PERSISTENT ? TPM_RC_SUCCESS
                                                                     : TPM_RC_VALUE);
    return TPM_RC_SUCCESS;
}

/* Owner handles 0x81000000-0x817FFFFF, platform 0x81800000-0x81FFFFFF (Part 2 §7.5). */
static bool persistent_range_ok(TPM_HANDLE auth, TPM_HANDLE h)
{
    bool platform_range = (h & 0x00800000) != 0;
    return auth == TPM_RH_PLATFORM ? platform_range : !platform_range;
}

static TPM_RC cc_EvictControl(struct tpm *t, struct cmd *c, const struct in_EvictControl *in,
                              struct out_none *out)
{
    (void)out;
    TPM_HANDLE auth = c->handles[0];
    TPM_HANDLE ph = in->persistentHandle;
    struct object *o = object_get(t, c->handles[1]);
    CHECK(o, RC_H(TPM_RC_HANDLE, 2));
    if ((c->handles[1] >> HR_SHIFT) == TPM_HT_PERSISTENT) {
        /* Evict: the handle must name the object, and auth must own its range. */
        CHECK(ph == c->handles[1], RC_P(TPM_RC_HANDLE, 1));
        CHECK(persistent_range_ok(auth, ph), RC_H(TPM_RC_HIERARCHY, 1));
        object_free(o);
        pers_changed(t);
        return TPM_RC_SUCCESS;
    }
    CHECK(o->kind == OBJ_KEY, RC_H(TPM_RC_TYPE, 2));
    /* Only TPM-protected objects of a lasting hierarchy, without stClear, may persist. */
    CHECK(!(o->flags & (OBJF_EXTERNAL | OBJF_PUBLIC_ONLY)), RC_H(TPM_RC_ATTRIBUTES, 2));
    CHECK(!(o->pub.objectAttributes & TPMA_OBJECT_STCLEAR), RC_H(TPM_RC_ATTRIBUTES, 2));
    CHECK(o->hierarchy != TPM_RH_NULL, RC_H(TPM_RC_HIERARCHY, 2));
    CHECK(auth == TPM_RH_PLATFORM || o->hierarchy != TPM_RH_PLATFORM,
          RC_H(TPM_RC_HIERARCHY, 2));
    CHECK(persistent_range_ok(auth, ph), RC_P(TPM_RC_RANGE, 1));
    CHECK(object_get(t, ph) == NULL, TPM_RC_NV_DEFINED);
    for (size_t i = 0; i < MAX_PERSISTENT; i++) {
        struct object *slot = &t->p.persist[i];
        if (slot->kind == OBJ_FREE) {
            *slot = *o;
            slot->handle = ph;
            pers_changed(t);
            return TPM_RC_SUCCESS;
        }
    }
    return TPM_RC_NV_SPACE;
}

CMD_OPS_NO_OUT(EvictControl);

/* ---- Part 3 §12.9 TPM2_CreateLoaded ---- */

struct in_CreateLoaded {
    TPMS_SENSITIVE_CREATE inSensitive;
    TPM2B_TEMPLATE inPublic; /* parsed by the handler: its unique depends on the parent */
};

static TPM_RC parse_CreateLoaded(struct rd *r, struct in_CreateLoaded *in)
{
    PARAM(1, rd_TPM2B_SENSITIVE_CREATE(r, &in->inSensitive));
    PARAM(2, RD_TPM2B(r, &in->inPublic));
    return TPM_RC_SUCCESS;
}

static void emit_CreateLoaded(struct wr *w, const struct out_create *out)
{
    WR_TPM2B(w, &out->outPrivate);
    wr_TPM2B_PUBLIC(w, &out->outPublic);
    WR_TPM2B(w, &out->name);
}

/*
 * The template: a TPMT_PUBLIC, except under a derivation parent where unique is a
 * TPMS_DERIVE { label, context } (Part 2 §12.2.3.2, Part 1 §27.7.4). A derived object's
 * key material comes from K = KDFa(parentNameAlg, parentSecret, "Derived Object", label,
 * context, 8*|H|) with the draws of primary.h.
 */
static TPM_RC parse_template(const TPM2B_TEMPLATE *tp, bool derive, TPMT_PUBLIC *pub,
                             TPMS_DERIVE *dv)
{
    struct rd r;
    rd_init(&r, tp->buffer, tp->size);
    CHECK(tp->size > 0, TPM_RC_SIZE);
    if (!derive) {
        TRY(rd_TPMT_PUBLIC(&r, pub, NO_NULL));
    } else {
        TRY(rd_TPMT_PUBLIC_head(&r, pub, NO_NULL));
        TRY(RD_TPM2B(&r, &dv->label));
        TRY(RD_TPM2B(&r, &dv->context));
    }
    CHECK(rd_done(&r), TPM_RC_SIZE);
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_CreateLoaded(struct tpm *t, struct cmd *c, const struct in_CreateLoaded *in,
                              struct out_create *out)
{
    TPM_HANDLE ph = c->handles[0];
    bool primary = (ph >> HR_SHIFT) == TPM_HT_PERMANENT;
    struct object *parent = primary ? NULL : key_of(t, ph);
    bool derive = parent && object_is_derivation(parent);
    TPMT_PUBLIC pub;
    TPMS_DERIVE dv;
    TPMT_SENSITIVE sens;
    TPM2B_NAME hname;
    uint8_t k[MAX_DIGEST_SIZE];
    TPM_RC rc;
    memset(&dv, 0, sizeof(dv));
    CHECK(primary || (parent && (derive || object_is_storage(parent))), RC_H(TPM_RC_TYPE, 1));
    PARAM(2, parse_template(&in->inPublic, derive, &pub, &dv));
    PARAM(2, object_check_public(&pub, parent));
    PARAM(1, object_check_create(&pub, &in->inSensitive));
    if (derive) {
        /* Derived keys are asymmetric or keyed-hash keys the TPM computes itself. */
        PARAM(1, in->inSensitive.data.size == 0 ? TPM_RC_SUCCESS : TPM_RC_VALUE);
    }
    struct object *o = object_alloc(t, OBJ_KEY);
    CHECK(o, TPM_RC_OBJECT_MEMORY);
    if (primary) {
        rc = primary_derive(t, ph, &pub, &in->inSensitive, &sens, true);
    } else if (derive) {
        uint16_t dsize = hash_size(parent->pub.nameAlg);
        rc = crypto_kdfa(parent->pub.nameAlg, parent->sens.sensitive.buffer,
                         parent->sens.sensitive.size, "Derived Object", dv.label.buffer,
                         dv.label.size, dv.context.buffer, dv.context.size, dsize * 8u, k)
                 ? TPM_RC_SUCCESS
                 : TPM_RC_FAILURE;
        struct keysrc src = {true, parent->pub.nameAlg, k, dsize, NULL, 0, 0};
        if (rc == TPM_RC_SUCCESS) {
            rc = object_generate(&pub, &sens, &in->inSensitive, &src);
        }
        secret_wipe(k, sizeof(k));
    } else {
        struct keysrc src = {false, TPM_ALG_NULL, NULL, 0, NULL, 0, 0};
        rc = object_generate(&pub, &sens, &in->inSensitive, &src);
    }
    if (rc == TPM_RC_SUCCESS) {
        auth_set(&sens.authValue, &in->inSensitive.userAuth);
        if (primary) {
            entity_handle_name(ph, &hname);
            rc = object_install(o, ph, &hname, &pub, &sens, OBJF_PRIMARY);
        } else {
            rc = object_install(o, parent->hierarchy, &parent->qname, &pub, &sens, 0);
        }
    }
    if (rc == TPM_RC_SUCCESS && !primary && !derive) {
        /* A derived object has no private blob: the same label and context derive it again
         * (a keyed-hash derivation parent has no symmetric key to protect one with). */
        rc = object_protect(parent, &o->name, &sens, &out->outPrivate);
    }
    secret_wipe(&sens, sizeof(sens));
    if (rc != TPM_RC_SUCCESS) {
        object_free(o);
        return rc == TPM_RC_VALUE ? RC_P(rc, 2) : rc;
    }
    out->outPublic = o->pub;
    out->name = o->name;
    c->out_handle = o->handle;
    return TPM_RC_SUCCESS;
}

CMD_OPS_FULL(CreateLoaded, struct in_CreateLoaded, struct out_create, parse_CreateLoaded,
             emit_CreateLoaded);

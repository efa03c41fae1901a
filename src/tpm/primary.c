/*
 * Primary keys: Part 3 §24.1 CreatePrimary and the derivation of primary objects from
 * hierarchy seeds (Part 1 §27.8, key generation from a seeded KDF as Part 1 §11.4.10.2
 * describes for KDFa). See primary.h for the derivation.
 */
#include "primary.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "cmd.h"
#include "hierarchy.h"
#include "marshal.h"
#include "object.h"
#include "objcmd.h"

const uint8_t *primary_seed(const struct tpm *t, TPM_HANDLE hierarchy)
{
    switch (hierarchy) {
    case TPM_RH_OWNER:
        return t->p.sps;
    case TPM_RH_ENDORSEMENT:
        return t->p.eps;
    case TPM_RH_PLATFORM:
        return t->p.pps;
    default:
        return t->sr.null_seed;
    }
}

void primary_cache_clear(struct tpm *t)
{
    secret_wipe(t->pcache, sizeof(t->pcache));
}

/* The cache key: SHA-256(hierarchy || seed || marshaled template || sensitive data). */
static TPM_RC cache_key(const uint8_t *seed, TPM_HANDLE hierarchy, const TPMT_PUBLIC *pub,
                        const TPMS_SENSITIVE_CREATE *sc, uint8_t key[32])
{
    uint8_t buf[sizeof(TPMT_PUBLIC) + 64];
    struct wr w;
    struct hash_state h;
    wr_init(&w, buf, sizeof(buf));
    wr_u32(&w, hierarchy);
    wr_TPMT_PUBLIC(&w, pub);
    CHECK(!w.err, TPM_RC_FAILURE);
    CHECK(hash_begin(&h, TPM_ALG_SHA256), TPM_RC_FAILURE);
    hash_update(&h, seed, SEED_BYTES);
    hash_update(&h, buf, w.off);
    hash_update_u32(&h, sc->data.size);
    hash_update(&h, sc->data.buffer, sc->data.size);
    CHECK(hash_end(&h, key), TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

static struct primary_cache_entry *cache_find(struct tpm *t, const uint8_t key[32])
{
    for (size_t i = 0; i < PRIMARY_CACHE_SLOTS; i++) {
        if (t->pcache[i].used && secret_eq(t->pcache[i].key, key, 32)) {
            return &t->pcache[i];
        }
    }
    return NULL;
}

static void cache_store(struct tpm *t, const uint8_t key[32], const TPMT_PUBLIC *pub,
                        const TPMT_SENSITIVE *sens)
{
    struct primary_cache_entry *e = &t->pcache[0];
    for (size_t i = 0; i < PRIMARY_CACHE_SLOTS; i++) {
        if (!t->pcache[i].used) {
            e = &t->pcache[i];
            break;
        }
        if (t->pcache[i].last_use < e->last_use) {
            e = &t->pcache[i];
        }
    }
    secret_wipe(e, sizeof(*e));
    e->used = true;
    e->last_use = ++t->pcache_clock;
    memcpy(e->key, key, 32);
    e->pub = *pub;
    e->sens = *sens;
}

TPM_RC primary_derive(struct tpm *t, TPM_HANDLE hierarchy, TPMT_PUBLIC *pub,
                      const TPMS_SENSITIVE_CREATE *sc, TPMT_SENSITIVE *sens, bool use_cache)
{
    const uint8_t *seed = primary_seed(t, hierarchy);
    uint8_t key[32], k[MAX_DIGEST_SIZE];
    uint16_t dsize = hash_size(pub->nameAlg);
    TPM2B_NAME tname;
    TPM_RC rc;
    CHECK(dsize > 0, TPM_RC_HASH);
    if (use_cache) {
        TRY(cache_key(seed, hierarchy, pub, sc, key));
        struct primary_cache_entry *e = cache_find(t, key);
        if (e) {
            e->last_use = ++t->pcache_clock;
            *pub = e->pub;
            *sens = e->sens;
            return TPM_RC_SUCCESS;
        }
    }
    TRY(object_name(pub, &tname));
    CHECK(crypto_kdfa(pub->nameAlg, seed, SEED_BYTES, "Primary Object Creation", tname.buffer,
                      tname.size, sc->data.buffer, sc->data.size, dsize * 8u, k),
          TPM_RC_FAILURE);
    struct keysrc src = {true, pub->nameAlg, k, dsize, NULL, 0, 0};
    rc = object_generate(pub, sens, sc, &src);
    secret_wipe(k, sizeof(k));
    if (rc == TPM_RC_SUCCESS && use_cache) {
        cache_store(t, key, pub, sens);
    }
    return rc;
}

/* ---- Part 3 §24.1 TPM2_CreatePrimary ---- */

struct in_CreatePrimary {
    TPMS_SENSITIVE_CREATE inSensitive;
    TPMT_PUBLIC inPublic;
    TPM2B_DATA outsideInfo;
    TPML_PCR_SELECTION creationPCR;
};

static TPM_RC parse_CreatePrimary(struct rd *r, struct in_CreatePrimary *in)
{
    PARAM(1, rd_TPM2B_SENSITIVE_CREATE(r, &in->inSensitive));
    PARAM(2, rd_TPM2B_PUBLIC(r, &in->inPublic, NO_NULL));
    PARAM(3, RD_TPM2B(r, &in->outsideInfo));
    PARAM(4, rd_TPML_PCR_SELECTION(r, &in->creationPCR));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_CreatePrimary(struct tpm *t, struct cmd *c, const struct in_CreatePrimary *in,
                               struct out_create *out)
{
    TPM_HANDLE hier = c->handles[0];
    TPMT_SENSITIVE sens;
    TPM2B_NAME hname;
    TPM_RC rc;
    PARAM(2, object_check_public(&in->inPublic, NULL));
    PARAM(1, object_check_create(&in->inPublic, &in->inSensitive));
    struct object *o = object_alloc(t, OBJ_KEY);
    CHECK(o, TPM_RC_OBJECT_MEMORY);
    out->outPublic = in->inPublic;
    rc = primary_derive(t, hier, &out->outPublic, &in->inSensitive, &sens, true);
    if (rc == TPM_RC_SUCCESS) {
        auth_set(&sens.authValue, &in->inSensitive.userAuth);
        entity_handle_name(hier, &hname);
        rc = object_install(o, hier, &hname, &out->outPublic, &sens, OBJF_PRIMARY);
    }
    secret_wipe(&sens, sizeof(sens));
    if (rc == TPM_RC_SUCCESS) {
        rc = objcmd_creation(t, c, hier, TPM_ALG_NULL, &hname, &hname, &in->outsideInfo,
                             &in->creationPCR, o, out);
    }
    if (rc != TPM_RC_SUCCESS) {
        object_free(o);
        return rc == TPM_RC_VALUE ? RC_P(rc, 2) : rc;
    }
    out->name = o->name;
    c->out_handle = o->handle;
    return TPM_RC_SUCCESS;
}

CMD_OPS_FULL(CreatePrimary, struct in_CreatePrimary, struct out_create, parse_CreatePrimary,
             objcmd_emit_primary);

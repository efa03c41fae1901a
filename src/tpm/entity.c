/* Entity lookup (see entity.h). */
#include "entity.h"

#include "hierarchy.h"
#include "nv.h"
#include "object.h"
#include "session.h"

static const TPM2B_AUTH empty_auth;
static const struct policy no_policy = {TPM_ALG_NULL, {0, {0}}};

TPM_RC entity_check_handle(struct tpm *t, TPM_HANDLE h)
{
    switch (h >> HR_SHIFT) {
    case TPM_HT_PERMANENT:
        return hier_check_enabled(t, h);
    case TPM_HT_PCR:
        return h < IMPLEMENTATION_PCR ? TPM_RC_SUCCESS : TPM_RC_HANDLE;
    case TPM_HT_TRANSIENT:
        return object_find(t, h) ? TPM_RC_SUCCESS : TPM_RC_REFERENCE_H0;
    case TPM_HT_PERSISTENT: {
        /* Part 3 §5.4: a persistent object must exist and its hierarchy be enabled. */
        const struct object *o = object_get(t, h);
        CHECK(o, TPM_RC_HANDLE);
        return hier_enabled(t, o->hierarchy) ? TPM_RC_SUCCESS : TPM_RC_HIERARCHY;
    }
    case TPM_HT_HMAC_SESSION:
    case TPM_HT_POLICY_SESSION:
        return session_find(t, h) ? TPM_RC_SUCCESS : TPM_RC_REFERENCE_H0;
    case TPM_HT_NV_INDEX:
        return nv_check_handle(t, h);
    default:
        return TPM_RC_HANDLE;
    }
}

TPM_RC entity_get(struct tpm *t, TPM_HANDLE h, struct entity *e)
{
    e->handle = h;
    e->auth = &empty_auth;
    e->policy = &no_policy;
    e->da_protected = false;
    e->is_lockout = false;
    e->user_with_auth = true;
    e->admin_with_auth = true;
    e->pin = false;
    e->name_alg = TPM_ALG_NULL;
    e->hierarchy = TPM_RH_NULL;
    entity_handle_name(h, &e->name);
    switch (h >> HR_SHIFT) {
    case TPM_HT_PERMANENT:
        return hier_entity(t, h, e);
    case TPM_HT_PCR:
        return TPM_RC_SUCCESS; /* PC Client PCRs have no authValue groups: EmptyAuth */
    case TPM_HT_TRANSIENT:
    case TPM_HT_PERSISTENT: {
        struct object *o = object_get(t, h);
        CHECK(o, TPM_RC_HANDLE);
        e->auth = &o->auth;
        if (o->kind != OBJ_KEY) {
            /* Sequence objects have no public area: their Name is the Empty Buffer, and
             * they are not DA-protected (Part 3 §17.3). */
            e->name.size = 0;
            return TPM_RC_SUCCESS;
        }
        /* Part 1 §19.7: the authValue serves USER only with userWithAuth, ADMIN only
         * without adminWithPolicy; DA protection unless noDA. */
        TPMA_OBJECT a = o->pub.objectAttributes;
        o->policy.alg = o->pub.authPolicy.size ? o->pub.nameAlg : TPM_ALG_NULL;
        o->policy.digest = o->pub.authPolicy;
        e->policy = &o->policy;
        e->user_with_auth = (a & TPMA_OBJECT_USERWITHAUTH) != 0;
        e->admin_with_auth = (a & TPMA_OBJECT_ADMINWITHPOLICY) == 0;
        e->da_protected = (a & TPMA_OBJECT_NODA) == 0;
        e->name_alg = o->pub.nameAlg;
        e->name = o->name;
        return TPM_RC_SUCCESS;
    }
    case TPM_HT_NV_INDEX:
        return nv_entity(t, h, e);
    default:
        return TPM_RC_HANDLE;
    }
}

void entity_for_command(struct tpm *t, TPM_CC cc, unsigned role, struct entity *e)
{
    if ((e->handle >> HR_SHIFT) == TPM_HT_NV_INDEX) {
        nv_entity_for_command(t, cc, role, e);
    }
}

void entity_handle_name(TPM_HANDLE h, TPM2B_NAME *name)
{
    name->size = 4;
    name->buffer[0] = (uint8_t)(h >> 24);
    name->buffer[1] = (uint8_t)(h >> 16);
    name->buffer[2] = (uint8_t)(h >> 8);
    name->buffer[3] = (uint8_t)h;
}

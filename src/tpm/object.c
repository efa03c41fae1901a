/* Transient object slots (see object.h). */
#include "object.h"

#include <string.h>

#include "../common/secret.h"

struct object *object_find(struct tpm *t, TPM_HANDLE h)
{
    if ((h >> HR_SHIFT) != TPM_HT_TRANSIENT) {
        return NULL;
    }
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        if (t->objects[i].kind != OBJ_FREE && t->objects[i].handle == h) {
            return &t->objects[i];
        }
    }
    return NULL;
}

/* Handles are the slot index in the low bits: stable, small, and never two alike. */
struct object *object_alloc(struct tpm *t, enum obj_kind kind)
{
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        struct object *o = &t->objects[i];
        if (o->kind == OBJ_FREE) {
            memset(o, 0, sizeof(*o));
            o->kind = (uint8_t)kind;
            o->handle = HR_TRANSIENT | (TPM_HANDLE)i;
            return o;
        }
    }
    return NULL;
}

void object_free(struct object *o)
{
    for (size_t i = 0; i < HASH_COUNT; i++) {
        hash_abort(&o->seq[i]);
    }
    hmac_abort(&o->hmac);
    secret_wipe(o, sizeof(*o));
    o->kind = OBJ_FREE;
}

void object_flush_all(struct tpm *t)
{
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        if (t->objects[i].kind != OBJ_FREE) {
            object_free(&t->objects[i]);
        }
    }
}

unsigned object_count(const struct tpm *t)
{
    unsigned n = 0;
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        n += t->objects[i].kind != OBJ_FREE;
    }
    return n;
}

void object_flush_hierarchy(struct tpm *t, TPM_HANDLE hierarchy)
{
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        if (t->objects[i].kind != OBJ_FREE && t->objects[i].hierarchy == hierarchy) {
            object_free(&t->objects[i]);
        }
    }
}

TPM_RC object_decrypt_secret(struct tpm *t, TPM_HANDLE h, const char *label,
                             const uint8_t *secret, size_t len, uint8_t *out, size_t cap,
                             size_t *out_len)
{
    (void)t;
    (void)h;
    (void)label;
    (void)secret;
    (void)len;
    (void)out;
    (void)cap;
    *out_len = 0;
    return TPM_RC_KEY; /* no asymmetric keys yet */
}

/* Object contexts come with the keys work; sequence objects cannot be saved (their running
 * OpenSSL hash state cannot be exported). */
TPM_RC object_context_save(struct tpm *t, TPM_HANDLE h, TPMS_CONTEXT *out)
{
    (void)t;
    (void)h;
    (void)out;
    return RC_H(TPM_RC_TYPE, 1);
}

TPM_RC object_context_load(struct tpm *t, const TPMS_CONTEXT *ctx, TPM_HANDLE *out)
{
    (void)t;
    (void)ctx;
    (void)out;
    return RC_P(TPM_RC_HANDLE, 1);
}

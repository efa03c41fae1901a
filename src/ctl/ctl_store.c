/*
 * vtpmctl's one call into the vTPM file library (see ctl_store.h): a new vTPM's file is made
 * by src/store's store_create, the same code vtpmd opens it with.
 */
#include "ctl/ctl_store.h"

#include "store/store.h"

_Static_assert(CTL_STORE_KEY_LEN == STORE_KEY_LEN, "key sizes agree");
_Static_assert(CTL_STORE_ID_LEN == STORE_ID_LEN, "vTPM id sizes agree");

int ctl_store_create(const char *path, const uint8_t key[CTL_STORE_KEY_LEN], const char *vm_id,
                     const uint8_t vtpm_id[CTL_STORE_ID_LEN], const uint8_t *blob, size_t len,
                     char *err, size_t errlen)
{
    return store_create(path, key, vm_id, vtpm_id, blob, len, err, errlen);
}

/* Tests only: a vTPM file read back through src/store (see tmp_store_open.h). */
#include "tmp_store_open.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

int tmp_store_open(const char *path, const uint8_t key[32], const char *vm_id,
                   uint8_t vtpm_id[16], uint8_t **blob, size_t *len)
{
    struct store *s = NULL;
    struct store_blob b = {0};
    char err[256];
    int rc = store_open(path, key, vm_id, &s, err, sizeof(err));
    if (rc != 0) {
        return rc;
    }
    rc = store_read(s, &b);
    if (rc == 0) {
        store_vtpm_id(s, vtpm_id);
        *blob = malloc(b.len ? b.len : 1);
        if (!*blob) {
            rc = -ENOMEM;
        } else {
            memcpy(*blob, b.data, b.len);
            *len = b.len;
        }
    }
    store_blob_free(&b);
    store_close(s);
    return rc;
}

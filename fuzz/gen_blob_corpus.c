/*
 * Writes the seed corpus of fuzz_blob into a folder: real state blobs of a TPM that ran a
 * little (permanent and volatile; plain, under the migration key, under the state key), each
 * preceded by the selector byte fuzz_blob.c reads. Run: gen_blob_corpus fuzz/corpus/blob
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/blob.h"
#include "daemon/dev.h"

extern const uint8_t fuzz_blob_mig_key[32];
extern const uint8_t fuzz_blob_state_key[32];
extern const char fuzz_blob_vm[];

static void save(const char *dir, const char *name, uint8_t sel, const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(sel, f) == EOF || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "gen_blob_corpus: cannot write %s\n", path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static const uint8_t startup[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0};
    static const struct {
        const char *name;
        uint32_t type, flags;
        int keys; /* 0 none (plain), 1 migration key, 2 state key (no DECRYPTED) */
        uint8_t sel;
    } rows[] = {
        {"perm-plain", BLOB_TYPE_PERMANENT, 1, 0, 4},
        {"vol-plain", BLOB_TYPE_VOLATILE, 1, 0, 5},
        {"perm-migration", BLOB_TYPE_PERMANENT, 1, 1, 0},
        {"vol-migration", BLOB_TYPE_VOLATILE, 1, 1, 1},
        {"perm-statekey", BLOB_TYPE_PERMANENT, 0, 2, 2},
        {"vol-statekey", BLOB_TYPE_VOLATILE, 0, 2, 3},
    };
    uint8_t rsp[64];
    if (argc != 2) {
        fprintf(stderr, "usage: gen_blob_corpus FOLDER\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct dev d;
        uint8_t *b = NULL;
        size_t n;
        uint32_t rf;
        if (dev_open(&d, NULL) != 0) {
            return 1;
        }
        d.vm_id = fuzz_blob_vm;
        if (rows[i].keys == 1) {
            blob_key_set(&d.keys, BLOB_MIGRATION, fuzz_blob_mig_key);
        } else if (rows[i].keys == 2) {
            blob_key_set(&d.keys, BLOB_STATE, fuzz_blob_state_key);
        }
        dev_init(&d, false);
        dev_execute(&d, startup, sizeof(startup), rsp, sizeof(rsp));
        if (dev_get_stateblob(&d, rows[i].type, rows[i].flags, true, &b, &n, &rf) != PTM_SUCCESS) {
            fprintf(stderr, "gen_blob_corpus: %s: no blob\n", rows[i].name);
            return 1;
        }
        save(argv[1], rows[i].name, rows[i].sel, b, n);
        free(b);
        dev_close(&d);
    }
    return 0;
}

/*
 * libFuzzer target: the state blobs of CMD_SET_STATEBLOB (src/daemon/blob.c blob_decode) and
 * what the device does with a blob that decodes (dev.c dev_set_stateblob: the engine's
 * tpm_state_load of a permanent state at once, of a volatile state at the next INIT).
 *
 * Input: one byte selecting the request (bit 0: type volatile instead of permanent; bit 1:
 * the ENCRYPTED flag; bit 2: the device holds no migration key), then the blob. The device
 * is an in-memory one (no file), stopped, holding the migration and state-key layers derived
 * from fuzz_blob_mig_key and fuzz_blob_state_key for the VM id fuzz_blob_vm; the seeds in
 * fuzz/corpus/blob/ (fuzz/gen_blob_corpus.c) are real blobs sealed under them, so mutations
 * reach past the GCM tag check into the engine's parser. Checked: the answer is one of the
 * documented results, and a refused blob changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/blob.h"
#include "daemon/dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const uint8_t fuzz_blob_mig_key[32] = "fuzz-blob-migration-key-0123456";
const uint8_t fuzz_blob_state_key[32] = "fuzz-blob-state-key-01234567890";
const char fuzz_blob_vm[] = "fuzz-vm-blob";

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dev d;
    if (size < 1) {
        return 0;
    }
    uint8_t sel = data[0];
    uint32_t type = (sel & 1) ? BLOB_TYPE_VOLATILE : BLOB_TYPE_PERMANENT;
    uint32_t flags = (sel & 2) ? PTM_STATE_FLAG_ENCRYPTED : 0;

    check(dev_open(&d, NULL) == 0);
    d.vm_id = fuzz_blob_vm;
    if (!(sel & 4)) {
        check(blob_key_set(&d.keys, BLOB_MIGRATION, fuzz_blob_mig_key) == 0);
    }
    check(blob_key_set(&d.keys, BLOB_STATE, fuzz_blob_state_key) == 0);
    uint32_t res = dev_set_stateblob(&d, type, flags, data + 1, size - 1);
    check(res == PTM_SUCCESS || res == PTM_BAD_PARAMETER || res == PTM_FAIL);
    check(!d.running);
    if (res == PTM_SUCCESS && type == BLOB_TYPE_VOLATILE) {
        check(d.pending_volatile.data != NULL);
        uint32_t r = dev_init(&d, true);
        check(r == PTM_SUCCESS || r == PTM_FAIL);
        check(d.pending_volatile.data == NULL);
        check(d.running == (r == PTM_SUCCESS));
    } else if (res != PTM_SUCCESS) {
        check(d.pending_volatile.data == NULL);
    }
    /* Whatever was loaded, the engine still answers and saves. */
    if (!d.running) {
        check(dev_init(&d, false) == PTM_SUCCESS);
    }
    struct tpm_buf b = {0};
    check(dev_save(&d, &b) == 0);
    tpm_buf_free(&b);
    dev_close(&d);
    return 0;
}

/*
 * libFuzzer target: the vTPM file loader (src/store/format.c fmt_parse) on arbitrary bytes,
 * as store_open would read them from disk, with a fixed data key and VM id. Checks that the
 * parser never reads out of bounds, never leaks, and that its answer is one of the documented
 * ones: a refusal code with a sentence, or an image whose slots are consistent.
 *
 * The seeds in fuzz/corpus/store/ are real files sealed under the same key and VM id
 * (fuzz/gen_store_corpus.c), so mutations reach the slots behind the header MAC.
 */
#include "store/format.h"
#include "store/seal.h"
#include "store/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key and VM id of the seed corpus (gen_store_corpus.c uses the same). */
const uint8_t fuzz_store_key[STORE_KEY_LEN] = {
    0x46, 0x55, 0x5a, 0x5a, 0x2d, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30,
    0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x21,
};
const char fuzz_store_vm[] = "fuzz-vm-0001";

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct seal_keys keys;
    static struct seal_ctx *ctx;
    struct fmt_image img;
    char err[STORE_ERR_LEN];

    if (!ctx) {
        ctx = seal_ctx_new();
        check(ctx != NULL && seal_derive(fuzz_store_key, &keys) == 0);
    }
    err[0] = '\0';
    int rc = fmt_parse(ctx, &keys, fuzz_store_vm, data, size, &img, err, sizeof(err));
    if (rc != 0) {
        check(rc == STORE_E_NOT_VTPM || rc == STORE_E_VERSION || rc == STORE_E_TRUNCATED ||
              rc == STORE_E_WRONG_KEY || rc == STORE_E_OTHER_VM || rc == STORE_E_CORRUPT);
        check(err[0] != '\0' && strchr(err, '\n') == NULL);
        for (int c = 0; c < FMT_NCHAN; c++) {
            check(img.slot[c][0].data == NULL && img.slot[c][1].data == NULL);
        }
        return 0;
    }
    check(size == fmt_file_size(&img.hdr));
    check(img.newest[FMT_PERM] >= 0);
    for (int c = 0; c < FMT_NCHAN; c++) {
        check(img.hdr.slot_size[c] == 0 ? img.newest[c] == -1 : img.newest[c] >= 0);
        for (int i = 0; i < 2; i++) {
            const struct fmt_slot *s = &img.slot[c][i];
            check(s->good == (s->data != NULL));
            check(s->len + FMT_REC_OVERHEAD <= img.hdr.slot_size[c] || !s->good);
            volatile uint8_t sink = 0;
            for (size_t k = 0; k < s->len; k++) {
                sink ^= s->data[k]; /* every plaintext byte is readable */
            }
            (void)sink;
        }
        if (img.newest[c] >= 0) {
            const struct fmt_slot *n = &img.slot[c][img.newest[c]];
            const struct fmt_slot *o = &img.slot[c][img.newest[c] ^ 1];
            check(n->good && (!o->good || o->gen <= n->gen));
        }
    }
    check(!img.slot[FMT_PERM][img.newest[FMT_PERM]].empty);
    fmt_image_free(&img);
    return 0;
}

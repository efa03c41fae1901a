/*
 * Writes the seed corpus of fuzz_store into a folder: real vTPM files sealed under the
 * fuzz target's key and VM id, in the shapes a file goes through (fresh, after commits,
 * with volatile slots, with a removed volatile state, after a slot growth), and a few
 * prefixes. Run: gen_store_corpus fuzz/corpus/store
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const uint8_t fuzz_store_key[STORE_KEY_LEN];
extern const char fuzz_store_vm[];

static void die(const char *what, const char *why)
{
    fprintf(stderr, "gen_store_corpus: %s: %s\n", what, why);
    exit(1);
}

static void copy_prefix(const char *from, const char *to, long n)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) {
        die(to, "cannot copy");
    }
    for (long i = 0; i < n; i++) {
        int c = fgetc(a);
        if (c == EOF) {
            break;
        }
        fputc(c, b);
    }
    fclose(a);
    fclose(b);
}

int main(int argc, char **argv)
{
    char p[4096], err[STORE_ERR_LEN];
    uint8_t id[STORE_ID_LEN] = {0x01, 0x02, 0x03};
    uint8_t blob[300];
    struct store *s = NULL;
    struct store_blob b;
    if (argc != 2) {
        fprintf(stderr, "usage: gen_store_corpus FOLDER\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(blob); i++) {
        blob[i] = (uint8_t)i;
    }
#define SEED(name) (snprintf(p, sizeof(p), "%s/%s", argv[1], name), unlink(p), p)
#define OPEN()                                                                                     \
    if (store_open(p, fuzz_store_key, fuzz_store_vm, &s, err, sizeof(err)) != 0)                   \
    die(p, err)
#define CREATE()                                                                                   \
    if (store_create(p, fuzz_store_key, fuzz_store_vm, id, blob, 100, err, sizeof(err)) != 0)      \
    die(p, err)

    SEED("fresh");
    CREATE();

    SEED("committed");
    CREATE();
    OPEN();
    if (store_commit(s, blob, 200) || store_commit(s, blob, 50)) {
        die(p, store_message(s));
    }
    store_close(s);

    SEED("volatile");
    CREATE();
    OPEN();
    if (store_put_volatile(s, blob, 300) || store_commit(s, blob, 120)) {
        die(p, store_message(s));
    }
    store_close(s);

    SEED("volatile-removed");
    CREATE();
    OPEN();
    if (store_put_volatile(s, blob, 30) || store_take_volatile(s, &b, true)) {
        die(p, store_message(s));
    }
    store_blob_free(&b);
    store_close(s);

    SEED("grown");
    CREATE();
    OPEN();
    {
        uint8_t *big = calloc(1, 5000);
        if (!big || store_commit(s, big, 5000)) {
            die(p, "grow");
        }
        free(big);
    }
    store_close(s);

    char from[4096];
    snprintf(from, sizeof(from), "%s/fresh", argv[1]);
    SEED("prefix-header");
    copy_prefix(from, p, 128);
    SEED("prefix-magic");
    copy_prefix(from, p, 10);
    return 0;
}

/*
 * Replays fuzz inputs without libFuzzer: each argument is a file or a directory of files,
 * each file is passed once to the target's LLVMFuzzerTestOneInput. Built for every target in
 * every build, so that the normal test run (suite 'fuzz-replay') replays the seed corpus and
 * every kept crash input (sqlite's test/fuzzcheck.c does the same for its fuzzers).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs larger than this are not fuzz inputs. */
#define REPLAY_MAX (1u << 20)

static int replay_file(const char *path, unsigned *count)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(REPLAY_MAX);
    size_t n;
    if (!f || !buf) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        if (f) {
            fclose(f);
        }
        free(buf);
        return -1;
    }
    n = fread(buf, 1, REPLAY_MAX, f);
    fclose(f);
    /* An exact-size copy, so that a read past the input is caught by the sanitizers. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    (*count)++;
    return 0;
}

static int replay_path(const char *path, unsigned *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return 0; /* an absent directory (no crashes kept) is fine */
    }
    if (!S_ISDIR(st.st_mode)) {
        return replay_file(path, count);
    }
    DIR *d = opendir(path);
    struct dirent *e;
    int rc = 0;
    if (!d) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        char sub[4096];
        if (e->d_name[0] == '.') {
            continue; /* ".", "..", ".gitkeep" */
        }
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (replay_path(sub, count) != 0) {
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (replay_path(argv[i], &count) != 0) {
            rc = 1;
        }
    }
    printf("replay: %u inputs ran\n", count);
    return rc;
}

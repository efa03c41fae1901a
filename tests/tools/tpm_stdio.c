/*
 * tpm_stdio: the engine served over stdin/stdout, one command after another, for tpm2-tss's
 * "cmd" TCTI (-T "cmd:tpm_stdio STATEFILE"). Tests use it to drive the engine with real
 * clients without sockets. The permanent state is loaded from STATEFILE at start and saved
 * after every command that changed it; the volatile state is kept in STATEFILE.vol at exit,
 * so a sequence of tool invocations behaves like one powered TPM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtpm/tpm.h"

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int load_file(const char *path, struct tpm_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return -1;
    }
    b->cap = 1 << 20;
    b->data = malloc(b->cap);
    b->len = b->data ? fread(b->data, 1, b->cap, f) : 0;
    fclose(f);
    return b->len > 0 ? 0 : -1;
}

static int save_file(const char *path, const struct tpm_buf *b)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        return -1;
    }
    int ok = fwrite(b->data, 1, b->len, f) == b->len;
    ok &= fclose(f) == 0;
    return ok ? rename(tmp, path) : -1;
}

/*
 * Each tool invocation is a client of its own: like a resource manager at the end of a
 * client's connection, flush the transient objects it left loaded, so that they do not pile
 * up across invocations in the volatile state (which does carry loaded objects).
 */
static void flush_transients(struct tpm *t)
{
    const uint8_t getcap[] = {0x80, 0x01, 0, 0, 0, 0x16, 0, 0, 0x01, 0x7a, 0, 0, 0, 1,
                              0x80, 0, 0, 0, 0, 0, 0, 64};
    static uint8_t rsp[4096];
    size_t n = tpm_execute(t, 0, getcap, sizeof(getcap), rsp, sizeof(rsp));
    /* header 10, moreData 1, capability 4, count 4, then the handles */
    if (n < 19 || rsp[6] | rsp[7] | rsp[8] | rsp[9]) {
        return;
    }
    uint32_t count = (uint32_t)rsp[15] << 24 | rsp[16] << 16 | rsp[17] << 8 | rsp[18];
    uint32_t handles[64];
    for (uint32_t i = 0; i < count && i < 64 && 19 + 4 * i + 4 <= n; i++) {
        const uint8_t *p = rsp + 19 + 4 * i;
        handles[i] = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
    }
    for (uint32_t i = 0; i < count && i < 64; i++) {
        uint8_t flush[14] = {0x80, 0x01, 0, 0, 0, 14, 0, 0, 0x01, 0x65};
        flush[10] = (uint8_t)(handles[i] >> 24);
        flush[11] = (uint8_t)(handles[i] >> 16);
        flush[12] = (uint8_t)(handles[i] >> 8);
        flush[13] = (uint8_t)handles[i];
        (void)tpm_execute(t, 0, flush, sizeof(flush), rsp, sizeof(rsp));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tpm_stdio STATEFILE\n");
        return 2;
    }
    char vol[4096];
    snprintf(vol, sizeof(vol), "%s.vol", argv[1]);
    struct tpm *t = tpm_new(NULL, NULL);
    struct tpm_buf b = {0};
    if (!t) {
        return 1;
    }
    if (load_file(argv[1], &b) == 0) {
        if (tpm_state_load(t, TPM_STATE_PERMANENT, b.data, b.len) != 0) {
            fprintf(stderr, "tpm_stdio: %s: not a vtpm state file\n", argv[1]);
            return 1;
        }
        tpm_buf_free(&b);
    }
    tpm_init(t);
    if (load_file(vol, &b) == 0) {
        if (tpm_state_load(t, TPM_STATE_VOLATILE, b.data, b.len) != 0) {
            fprintf(stderr, "tpm_stdio: %s: bad volatile state\n", vol);
        }
        tpm_buf_free(&b);
    }
    static uint8_t cmd[4096], rsp[4096];
    for (;;) {
        if (read_full(0, cmd, 10) != 0) {
            break;
        }
        uint32_t size = (uint32_t)cmd[2] << 24 | cmd[3] << 16 | cmd[4] << 8 | cmd[5];
        size_t n;
        if (size < 10 || size > sizeof(cmd)) {
            n = tpm_error_response(0x142, rsp, sizeof(rsp));
        } else if (read_full(0, cmd + 10, size - 10) != 0) {
            break;
        } else {
            n = tpm_execute(t, 0, cmd, size, rsp, sizeof(rsp));
        }
        if (tpm_state_dirty(t)) {
            if (tpm_state_save(t, TPM_STATE_PERMANENT, &b) != 0 || save_file(argv[1], &b) != 0) {
                n = tpm_nv_error_response(rsp, sizeof(rsp));
            }
        }
        if (write_full(1, rsp, n) != 0) {
            break;
        }
    }
    flush_transients(t);
    if (tpm_state_save(t, TPM_STATE_VOLATILE, &b) == 0) {
        save_file(vol, &b);
    }
    if (tpm_state_dirty(t) && tpm_state_save(t, TPM_STATE_PERMANENT, &b) == 0) {
        save_file(argv[1], &b);
    }
    tpm_buf_free(&b);
    tpm_free(t);
    return 0;
}

/*
 * libFuzzer target: the whole engine from bytes (STYLE.md "Tests and fuzzing").
 *
 * Input: a run of commands, each introduced by one byte of flags (low 3 bits: locality;
 * 0x80: power-cycle with _TPM_Init before it) followed by a TPM command whose header size
 * says how long it is (clamped to what is left). The engine starts powered and started, so
 * the fuzzer reaches every command; a seed starting with 0x80 covers the pre-Startup paths.
 * After the run the state is saved and loaded into a fresh engine, which must succeed:
 * whatever commands did, the state they left stays well-formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vtpm/tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_clock(void *ctx)
{
    uint64_t *now = ctx;
    *now += 7; /* time moves, deterministically */
    return *now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t rsp[4096];
    uint64_t now = 0;
    struct tpm_host host = {fuzz_clock, &now};
    struct tpm *t = tpm_new(NULL, &host);
    if (!t) {
        return 0;
    }
    tpm_init(t);
    const uint8_t startup[] = {0x80, 0x01, 0, 0, 0, 0x0c, 0, 0, 0x01, 0x44, 0, 0};
    (void)tpm_execute(t, 0, startup, sizeof(startup), rsp, sizeof(rsp));

    size_t off = 0;
    while (off < size) {
        uint8_t flags = data[off++];
        if (flags & 0x80) {
            tpm_init(t);
        }
        size_t left = size - off;
        size_t len = left;
        if (left >= 6) {
            size_t hdr = (size_t)data[off + 2] << 24 | (size_t)data[off + 3] << 16 |
                         (size_t)data[off + 4] << 8 | data[off + 5];
            if (hdr >= 10 && hdr < left) {
                len = hdr;
            }
        }
        size_t n = tpm_execute(t, flags & 7, data + off, len, rsp, sizeof(rsp));
        if (n < 10 || n > sizeof(rsp)) {
            abort(); /* every command gets a well-formed response */
        }
        size_t said = (size_t)rsp[2] << 24 | (size_t)rsp[3] << 16 | (size_t)rsp[4] << 8 | rsp[5];
        if (said != n) {
            abort();
        }
        off += len;
    }

    struct tpm_buf p = {0}, v = {0};
    if (tpm_state_save(t, TPM_STATE_PERMANENT, &p) != 0 ||
        tpm_state_save(t, TPM_STATE_VOLATILE, &v) != 0) {
        abort();
    }
    struct tpm *t2 = tpm_new(NULL, &host);
    if (t2) {
        if (tpm_state_load(t2, TPM_STATE_PERMANENT, p.data, p.len) != 0) {
            abort();
        }
        tpm_init(t2);
        if (tpm_state_load(t2, TPM_STATE_VOLATILE, v.data, v.len) != 0) {
            abort();
        }
        tpm_free(t2);
    }
    tpm_buf_free(&p);
    tpm_buf_free(&v);
    tpm_free(t);
    return 0;
}

/*
 * vtpm-engine-demo: the engine driven in-process through a short, readable sequence of real
 * TPM 2.0 commands (the main job before vtpmd serves it to a VM): a new chip is manufactured,
 * started, measured into, read back, asked for randomness and a hash, given an owner
 * password, saved and powered back on from its saved state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vtpm/tpm.h"

static struct tpm *t;
static uint8_t rsp[4096];
static size_t rlen;

struct cmdbuf {
    uint8_t b[1024];
    size_t n;
};

static void put(struct cmdbuf *c, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        c->b[c->n++] = (uint8_t)(v >> (8 * i));
    }
}

static void start(struct cmdbuf *c, uint16_t tag, uint32_t cc)
{
    c->n = 0;
    put(c, tag, 2);
    put(c, 0, 4);
    put(c, cc, 4);
}

static void pw_session(struct cmdbuf *c, const char *pw)
{
    put(c, 9 + strlen(pw), 4);
    put(c, 0x40000009, 4);
    put(c, 0, 2);
    put(c, 1, 1);
    put(c, strlen(pw), 2);
    memcpy(c->b + c->n, pw, strlen(pw));
    c->n += strlen(pw);
}

static uint32_t run(struct cmdbuf *c)
{
    for (int i = 0; i < 4; i++) {
        c->b[2 + i] = (uint8_t)(c->n >> (24 - 8 * i));
    }
    rlen = tpm_execute(t, 0, c->b, c->n, rsp, sizeof(rsp));
    return (uint32_t)rsp[6] << 24 | rsp[7] << 16 | rsp[8] << 8 | rsp[9];
}

static void hexline(const char *label, const uint8_t *p, size_t n)
{
    printf("    %-22s", label);
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
    printf("\n");
}

static void step(const char *what, uint32_t rc, uint32_t want)
{
    printf("%s %s (response code 0x%03x)\n", rc == want ? "ok  " : "FAIL", what, rc);
    if (rc != want) {
        exit(1);
    }
}

static void read_pcr(int pcr)
{
    struct cmdbuf c;
    start(&c, 0x8001, 0x17E);
    put(&c, 1, 4);
    put(&c, 0x000B, 2);
    put(&c, 3, 1);
    put(&c, pcr < 8 ? 1u << pcr : 0, 1);
    put(&c, pcr >= 8 && pcr < 16 ? 1u << (pcr - 8) : 0, 1);
    put(&c, pcr >= 16 ? 1u << (pcr - 16) : 0, 1);
    step("PCR_Read sha256", run(&c), 0);
    char label[32];
    snprintf(label, sizeof(label), "PCR[%d] sha256 =", pcr);
    hexline(label, rsp + rlen - 32, 32);
}

int main(void)
{
    struct cmdbuf c;
    printf("vtpm engine demo: one TPM 2.0, in this process, driven by raw commands\n\n");
    t = tpm_new(NULL, NULL);
    if (!t) {
        return 1;
    }
    printf("     manufactured a new TPM (fresh seeds), powered on (_TPM_Init)\n");
    tpm_init(t);

    start(&c, 0x8001, 0x181);
    step("ReadClock before Startup is refused, as QEMU's probe expects", run(&c), 0x100);
    start(&c, 0x8001, 0x144);
    put(&c, 0, 2);
    step("Startup(CLEAR)", run(&c), 0);

    start(&c, 0x8001, 0x17B);
    put(&c, 16, 2);
    step("GetRandom(16)", run(&c), 0);
    hexline("random =", rsp + 12, 16);

    read_pcr(7);
    start(&c, 0x8002, 0x182);
    put(&c, 7, 4);
    pw_session(&c, "");
    put(&c, 1, 4);
    put(&c, 0x000B, 2);
    for (int i = 0; i < 32; i++) {
        put(&c, (uint64_t)(0xA0 + i), 1);
    }
    step("PCR_Extend PCR 7 (a measurement, as firmware makes them)", run(&c), 0);
    read_pcr(7);

    start(&c, 0x8001, 0x17D);
    put(&c, 5, 2);
    memcpy(c.b + c.n, "hello", 5);
    c.n += 5;
    put(&c, 0x000B, 2);
    put(&c, 0x40000001, 4);
    step("Hash(\"hello\", sha256) with an owner ticket", run(&c), 0);
    hexline("digest =", rsp + 12, 32);

    start(&c, 0x8002, 0x129);
    put(&c, 0x40000001, 4);
    pw_session(&c, "");
    put(&c, 6, 2);
    memcpy(c.b + c.n, "s3cret", 6);
    c.n += 6;
    step("HierarchyChangeAuth(owner): a password for the owner", run(&c), 0);
    start(&c, 0x8002, 0x129);
    put(&c, 0x40000001, 4);
    pw_session(&c, "guess");
    put(&c, 0, 2);
    step("a wrong owner password is refused (TPM_RC_BAD_AUTH, session 1)", run(&c), 0x9A2);

    printf("     state changed: %s\n", tpm_state_dirty(t) ? "yes, it must be saved" : "no");
    struct tpm_buf saved = {0};
    if (tpm_state_save(t, TPM_STATE_PERMANENT, &saved) != 0) {
        return 1;
    }
    printf("     saved the permanent state: %zu bytes (versioned sections)\n", saved.len);
    tpm_free(t);

    t = tpm_new(NULL, NULL);
    if (!t || tpm_state_load(t, TPM_STATE_PERMANENT, saved.data, saved.len) != 0) {
        return 1;
    }
    tpm_buf_free(&saved);
    tpm_init(t);
    printf("     power cycle: a new engine loaded the saved state\n");
    start(&c, 0x8001, 0x144);
    put(&c, 0, 2);
    step("Startup(CLEAR)", run(&c), 0);
    read_pcr(7);
    printf("     PCR 7 is back to zero: PCRs are reset by a TPM Reset, as on a real chip\n");
    start(&c, 0x8002, 0x129);
    put(&c, 0x40000001, 4);
    pw_session(&c, "s3cret");
    put(&c, 0, 2);
    step("the owner password survived the power cycle", run(&c), 0);
    tpm_free(t);
    printf("\ndemo: done\n");
    return 0;
}

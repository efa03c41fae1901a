/*
 * Test helpers: build TPM commands byte by byte, run them through the engine, read the
 * response. Independent of the engine's marshaling code on purpose: tests that reuse the
 * code under test prove nothing.
 */
#ifndef VTPM_TEST_TPMTEST_H
#define VTPM_TEST_TPMTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vtpm/tpm.h"

struct tb {
    uint8_t b[8192];
    size_t n;
    size_t auth_mark; /* where the authorization size goes, 0 if none */
    size_t auth_start;
};

void tb_start(struct tb *c, uint16_t tag, uint32_t cc);
void tb_u8(struct tb *c, uint8_t v);
void tb_u16(struct tb *c, uint16_t v);
void tb_u32(struct tb *c, uint32_t v);
void tb_u64(struct tb *c, uint64_t v);
void tb_bytes(struct tb *c, const void *p, size_t n);
void tb_2b(struct tb *c, const void *p, uint16_t n); /* size then bytes */
/* Open the authorization area; add password sessions; close it before the parameters. */
void tb_auth_begin(struct tb *c);
void tb_pw(struct tb *c, const char *password);
void tb_auth_end(struct tb *c);
/* A whole authorization area of count password sessions, one per entry of pw. */
void tb_pws(struct tb *c, const char *const *pw, unsigned count);
/* A size-prefixed (u16) part, e.g. TPM2B_PUBLIC: begin returns a mark for end. */
size_t tb_size16_begin(struct tb *c);
void tb_size16_end(struct tb *c, size_t mark);
/* Patch commandSize. */
void tb_finish(struct tb *c);

struct rsp {
    uint8_t b[8192];
    size_t n;
    uint16_t tag;
    uint32_t rc;
    size_t off; /* read cursor, after the header */
};

/*
 * Execute at locality 0; returns the response code. With VTPM_CORPUS_DIR set, the first
 * successful command of each code is also written there as an engine fuzz seed (fuzz/
 * fuzz_engine.c format), preceded by the successful commands of the same test since its
 * Startup, so that the seed reaches its handler with the objects it needs loaded.
 */
uint32_t tt_exec(struct tpm *t, struct tb *c, struct rsp *r);
uint32_t tt_exec_loc(struct tpm *t, unsigned locality, struct tb *c, struct rsp *r);
/* Raw bytes in, response out. */
uint32_t tt_raw(struct tpm *t, const uint8_t *p, size_t n, struct rsp *r);

uint8_t rs_u8(struct rsp *r);
uint16_t rs_u16(struct rsp *r);
uint32_t rs_u32(struct rsp *r);
uint64_t rs_u64(struct rsp *r);
void rs_bytes(struct rsp *r, void *p, size_t n);
/* Read a TPM2B: returns its size and copies at most cap bytes of it to p (p may be NULL). */
uint16_t rs_2b(struct rsp *r, void *p, size_t cap);

/* A fresh TPM, powered, after Startup(CLEAR), with a controllable clock (ms). */
struct tpm *tt_new(uint64_t *clock_ms);
void tt_startup(struct tpm *t, uint16_t type);
void tt_shutdown(struct tpm *t, uint16_t type);

/* Hex to bytes: returns the length. */
size_t tt_hex(const char *hex, uint8_t *out, size_t cap);

#endif

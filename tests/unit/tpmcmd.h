/*
 * A small builder of raw TPM 2.0 command bytes for unit tests, and a runner that executes
 * them on an engine and returns the response code. Commands are written field by field as
 * Part 3 lays them out; the size field is filled in by cmd_end.
 */
#ifndef VTPM_TESTS_TPMCMD_H
#define VTPM_TESTS_TPMCMD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vtpm/tpm.h"

struct tcmd {
    uint8_t b[8192];
    size_t n;
    size_t auth_mark; /* where the authorization size goes */
};

static inline void tc_u8(struct tcmd *c, uint8_t v)
{
    c->b[c->n++] = v;
}

static inline void tc_u16(struct tcmd *c, uint16_t v)
{
    tc_u8(c, (uint8_t)(v >> 8));
    tc_u8(c, (uint8_t)v);
}

static inline void tc_u32(struct tcmd *c, uint32_t v)
{
    tc_u16(c, (uint16_t)(v >> 16));
    tc_u16(c, (uint16_t)v);
}

static inline void tc_bytes(struct tcmd *c, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }
    memcpy(c->b + c->n, p, n);
    c->n += n;
}

/* A TPM2B: u16 size, then the bytes. */
static inline void tc_2b(struct tcmd *c, const void *p, uint16_t n)
{
    tc_u16(c, n);
    tc_bytes(c, p, n);
}

/* Header: tag, size (filled by tc_end), command code. */
static inline void tc_begin(struct tcmd *c, uint16_t tag, uint32_t cc)
{
    c->n = 0;
    tc_u16(c, tag);
    tc_u32(c, 0);
    tc_u32(c, cc);
}

/* The authorization area with one password session per entry of pw (NULL ends). */
static inline void tc_pw_sessions(struct tcmd *c, const char *const *pw, unsigned count)
{
    size_t mark = c->n;
    tc_u32(c, 0);
    for (unsigned i = 0; i < count; i++) {
        tc_u32(c, 0x40000009); /* TPM_RS_PW */
        tc_u16(c, 0);          /* nonce */
        tc_u8(c, 1);           /* continueSession */
        tc_2b(c, pw[i], (uint16_t)strlen(pw[i]));
    }
    uint32_t size = (uint32_t)(c->n - mark - 4);
    c->b[mark] = (uint8_t)(size >> 24);
    c->b[mark + 1] = (uint8_t)(size >> 16);
    c->b[mark + 2] = (uint8_t)(size >> 8);
    c->b[mark + 3] = (uint8_t)size;
}

/* Start and end a size-prefixed (u16) part, e.g. TPM2B_PUBLIC. */
static inline size_t tc_size16_begin(struct tcmd *c)
{
    size_t m = c->n;
    tc_u16(c, 0);
    return m;
}

static inline void tc_size16_end(struct tcmd *c, size_t m)
{
    uint16_t size = (uint16_t)(c->n - m - 2);
    c->b[m] = (uint8_t)(size >> 8);
    c->b[m + 1] = (uint8_t)size;
}

static inline void tc_end(struct tcmd *c)
{
    c->b[2] = (uint8_t)(c->n >> 24);
    c->b[3] = (uint8_t)(c->n >> 16);
    c->b[4] = (uint8_t)(c->n >> 8);
    c->b[5] = (uint8_t)c->n;
}

/* A response: its bytes and a reader cursor over them. */
struct trsp {
    uint8_t b[8192];
    size_t n;
    size_t off;
};

static inline uint32_t tr_rc(const struct trsp *r)
{
    return (uint32_t)r->b[6] << 24 | (uint32_t)r->b[7] << 16 | (uint32_t)r->b[8] << 8 | r->b[9];
}

/*
 * Seeds for the engine fuzzer (fuzz/fuzz_engine.c format: each command preceded by a flag
 * byte, 0 = locality 0). With VTPM_CORPUS_DIR set, the first successful command of each code
 * named here is written to that folder under its command name, preceded by the successful
 * commands of the same test since its Startup, so the seed reaches the handler with objects
 * loaded (fuzz/corpus/engine/ is made this way: VTPM_CORPUS_DIR=fuzz/corpus/engine test_keys).
 */
static uint8_t tc_log[32768];
static size_t tc_log_n;

static inline void tc_corpus(const struct tcmd *c)
{
    static const struct {
        uint32_t cc;
        const char *name;
    } names[] = {
        {0x120, "EvictControl"}, {0x124, "ChangeEPS"}, {0x125, "ChangePPS"},
        {0x12E, "SetPrimaryPolicy"}, {0x131, "CreatePrimary"}, {0x147, "ActivateCredential"},
        {0x14B, "Duplicate"}, {0x150, "ObjectChangeAuth"}, {0x152, "Rewrap"}, {0x153, "Create"},
        {0x156, "Import"}, {0x157, "Load"}, {0x15E, "Unseal"}, {0x161, "ContextLoad"},
        {0x162, "ContextSave"}, {0x165, "FlushContext"}, {0x167, "LoadExternal"},
        {0x168, "MakeCredential"}, {0x173, "ReadPublic"}, {0x191, "CreateLoaded"},
        {0x128, "ClockSet"}, {0x130, "ClockRateAdjust"}, {0x133, "GetCommandAuditDigest"},
        {0x148, "Certify"}, {0x14A, "CertifyCreation"}, {0x14C, "GetTime"},
        {0x14D, "GetSessionAuditDigest"}, {0x154, "ECDH_ZGen"}, {0x155, "HMAC"},
        {0x158, "Quote"}, {0x159, "RSA_Decrypt"}, {0x15B, "HMAC_Start"}, {0x15D, "Sign"},
        {0x160, "PolicySigned"}, {0x163, "ECDH_KeyGen"}, {0x164, "EncryptDecrypt"},
        {0x174, "RSA_Encrypt"}, {0x177, "VerifySignature"}, {0x178, "ECC_Parameters"},
        {0x181, "ReadClock"}, {0x18B, "Commit"}, {0x18D, "ZGen_2Phase"},
        {0x18E, "EC_Ephemeral"}, {0x193, "EncryptDecrypt2"}, {0x184, "NV_Certify"},
    };
    const char *dir = getenv("VTPM_CORPUS_DIR");
    uint32_t cc = (uint32_t)c->b[6] << 24 | (uint32_t)c->b[7] << 16 | (uint32_t)c->b[8] << 8 |
                  c->b[9];
    if (!dir) {
        return;
    }
    if (cc == 0x144) { /* Startup: a new engine; the fuzz target starts it itself */
        tc_log_n = 0;
        return;
    }
    if (tc_log_n + 1 + c->n > sizeof(tc_log)) {
        return;
    }
    tc_log[tc_log_n++] = 0;
    memcpy(tc_log + tc_log_n, c->b, c->n);
    tc_log_n += c->n;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[4096];
        if (names[i].cc != cc) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, names[i].name);
        FILE *f = fopen(path, "wbx"); /* the first one only */
        if (f) {
            fwrite(tc_log, 1, tc_log_n, f);
            fclose(f);
        }
    }
}

static inline uint32_t tc_run(struct tpm *t, struct tcmd *c, struct trsp *r)
{
    tc_end(c);
    r->n = tpm_execute(t, 0, c->b, c->n, r->b, sizeof(r->b));
    r->off = 10;
    uint32_t rc = r->n >= 10 ? tr_rc(r) : 0xFFFFFFFF;
    if (rc == 0) {
        tc_corpus(c);
    }
    return rc;
}

static inline uint8_t tr_u8(struct trsp *r)
{
    return r->off < r->n ? r->b[r->off++] : 0;
}

static inline uint16_t tr_u16(struct trsp *r)
{
    uint16_t v = (uint16_t)(tr_u8(r) << 8);
    return (uint16_t)(v | tr_u8(r));
}

static inline uint32_t tr_u32(struct trsp *r)
{
    uint32_t v = (uint32_t)tr_u16(r) << 16;
    return v | tr_u16(r);
}

/* A TPM2B from the response: returns its size, copies at most cap bytes to out (may be NULL). */
static inline uint16_t tr_2b(struct trsp *r, void *out, size_t cap)
{
    uint16_t n = tr_u16(r);
    if (out) {
        memcpy(out, r->b + r->off, n < cap ? n : cap);
    }
    r->off += n;
    return n;
}

#endif

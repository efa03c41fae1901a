/* Test helpers (see tpmtest.h). */
#include "tpmtest.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct tb *c, uint64_t v, int bytes)
{
    assert(c->n + (size_t)bytes <= sizeof(c->b));
    for (int i = bytes - 1; i >= 0; i--) {
        c->b[c->n++] = (uint8_t)(v >> (8 * i));
    }
}

void tb_start(struct tb *c, uint16_t tag, uint32_t cc)
{
    memset(c, 0, sizeof(*c));
    put(c, tag, 2);
    put(c, 0, 4);
    put(c, cc, 4);
}

void tb_u8(struct tb *c, uint8_t v) { put(c, v, 1); }
void tb_u16(struct tb *c, uint16_t v) { put(c, v, 2); }
void tb_u32(struct tb *c, uint32_t v) { put(c, v, 4); }
void tb_u64(struct tb *c, uint64_t v) { put(c, v, 8); }

void tb_bytes(struct tb *c, const void *p, size_t n)
{
    assert(c->n + n <= sizeof(c->b));
    if (n > 0) { /* an empty TPM2B may come with a NULL pointer: no memcpy from NULL */
        memcpy(c->b + c->n, p, n);
        c->n += n;
    }
}

void tb_2b(struct tb *c, const void *p, uint16_t n)
{
    tb_u16(c, n);
    tb_bytes(c, p, n);
}

void tb_auth_begin(struct tb *c)
{
    c->auth_mark = c->n;
    put(c, 0, 4);
    c->auth_start = c->n;
}

void tb_pw(struct tb *c, const char *password)
{
    tb_u32(c, 0x40000009);
    tb_u16(c, 0);
    tb_u8(c, 1);
    tb_2b(c, password, (uint16_t)strlen(password));
}

void tb_auth_end(struct tb *c)
{
    size_t len = c->n - c->auth_start;
    for (int i = 0; i < 4; i++) {
        c->b[c->auth_mark + (size_t)i] = (uint8_t)(len >> (24 - 8 * i));
    }
}

void tb_pws(struct tb *c, const char *const *pw, unsigned count)
{
    tb_auth_begin(c);
    for (unsigned i = 0; i < count; i++) {
        tb_pw(c, pw[i]);
    }
    tb_auth_end(c);
}

size_t tb_size16_begin(struct tb *c)
{
    size_t m = c->n;
    put(c, 0, 2);
    return m;
}

void tb_size16_end(struct tb *c, size_t mark)
{
    size_t len = c->n - mark - 2;
    c->b[mark] = (uint8_t)(len >> 8);
    c->b[mark + 1] = (uint8_t)len;
}

void tb_finish(struct tb *c)
{
    for (int i = 0; i < 4; i++) {
        c->b[2 + i] = (uint8_t)(c->n >> (24 - 8 * i));
    }
}

uint32_t tt_raw(struct tpm *t, const uint8_t *p, size_t n, struct rsp *r)
{
    memset(r, 0, sizeof(*r));
    r->n = tpm_execute(t, 0, p, n, r->b, sizeof(r->b));
    assert(r->n >= 10);
    r->tag = (uint16_t)(r->b[0] << 8 | r->b[1]);
    uint32_t size = (uint32_t)r->b[2] << 24 | r->b[3] << 16 | r->b[4] << 8 | r->b[5];
    assert(size == r->n);
    r->rc = (uint32_t)r->b[6] << 24 | r->b[7] << 16 | r->b[8] << 8 | r->b[9];
    r->off = 10;
    return r->rc;
}

static const char *cc_name(uint32_t cc)
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
        {0x181, "ReadClock"}, {0x184, "NV_Certify"}, {0x18B, "Commit"}, {0x18D, "ZGen_2Phase"},
        {0x18E, "EC_Ephemeral"}, {0x193, "EncryptDecrypt2"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].cc == cc) {
            return names[i].name;
        }
    }
    return NULL;
}

/* The seed log: successful commands since the last Startup, each after a flag byte. */
static uint8_t seed_log[32768];
static size_t seed_log_n;

static void corpus_seed(const struct tb *c)
{
    const char *dir = getenv("VTPM_CORPUS_DIR");
    uint32_t cc = (uint32_t)c->b[6] << 24 | (uint32_t)c->b[7] << 16 | (uint32_t)c->b[8] << 8 |
                  c->b[9];
    if (!dir) {
        return;
    }
    if (cc == 0x144) { /* Startup: a new engine; the fuzz target starts it itself */
        seed_log_n = 0;
        return;
    }
    if (seed_log_n + 1 + c->n > sizeof(seed_log)) {
        return;
    }
    seed_log[seed_log_n++] = 0;
    memcpy(seed_log + seed_log_n, c->b, c->n);
    seed_log_n += c->n;
    const char *name = cc_name(cc);
    if (name) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "wbx"); /* the first one only */
        if (f) {
            fwrite(seed_log, 1, seed_log_n, f);
            fclose(f);
        }
    }
}

uint32_t tt_exec_loc(struct tpm *t, unsigned locality, struct tb *c, struct rsp *r)
{
    tb_finish(c);
    memset(r, 0, sizeof(*r));
    r->n = tpm_execute(t, locality, c->b, c->n, r->b, sizeof(r->b));
    assert(r->n >= 10);
    r->tag = (uint16_t)(r->b[0] << 8 | r->b[1]);
    r->rc = (uint32_t)r->b[6] << 24 | r->b[7] << 16 | r->b[8] << 8 | r->b[9];
    r->off = 10;
    if (r->rc == 0) {
        corpus_seed(c);
    }
    return r->rc;
}

uint32_t tt_exec(struct tpm *t, struct tb *c, struct rsp *r)
{
    return tt_exec_loc(t, 0, c, r);
}

static uint64_t get(struct rsp *r, int bytes)
{
    uint64_t v = 0;
    assert(r->off + (size_t)bytes <= r->n);
    for (int i = 0; i < bytes; i++) {
        v = v << 8 | r->b[r->off++];
    }
    return v;
}

uint8_t rs_u8(struct rsp *r) { return (uint8_t)get(r, 1); }
uint16_t rs_u16(struct rsp *r) { return (uint16_t)get(r, 2); }
uint32_t rs_u32(struct rsp *r) { return (uint32_t)get(r, 4); }
uint64_t rs_u64(struct rsp *r) { return get(r, 8); }

void rs_bytes(struct rsp *r, void *p, size_t n)
{
    assert(r->off + n <= r->n);
    memcpy(p, r->b + r->off, n);
    r->off += n;
}

uint16_t rs_2b(struct rsp *r, void *p, size_t cap)
{
    uint16_t n = rs_u16(r);
    assert(r->off + n <= r->n);
    if (p) {
        memcpy(p, r->b + r->off, n < cap ? n : cap);
    }
    r->off += n;
    return n;
}

static uint64_t test_clock(void *ctx)
{
    return *(uint64_t *)ctx;
}

struct tpm *tt_new(uint64_t *clock_ms)
{
    struct tpm_host host = {test_clock, clock_ms};
    struct tpm *t = tpm_new(NULL, clock_ms ? &host : NULL);
    assert(t);
    tpm_init(t);
    tt_startup(t, 0);
    return t;
}

void tt_startup(struct tpm *t, uint16_t type)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, 0x8001, 0x144);
    tb_u16(&c, type);
    uint32_t rc = tt_exec(t, &c, &r);
    assert(rc == 0);
    (void)rc;
}

void tt_shutdown(struct tpm *t, uint16_t type)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, 0x8001, 0x145);
    tb_u16(&c, type);
    uint32_t rc = tt_exec(t, &c, &r);
    assert(rc == 0);
    (void)rc;
}

size_t tt_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (hex[0] && hex[1] && n < cap) {
        unsigned v;
        char b[3] = {hex[0], hex[1], 0};
        v = (unsigned)strtoul(b, NULL, 16);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

/*
 * Benchmark commands built byte by byte and their responses checked (see tpmcmd.h).
 * Constants are the specification's (TPM 2.0 Part 2: §6.5 TPM_CC, §6.9 TPM_ST, §7.4 TPM_RH,
 * §6.3 TPM_ALG_ID, §6.12 TPM_CAP, §6.13 TPM_PT); they are spelled here rather than taken from
 * the engine so that the client stays independent of the servers it measures.
 */
#include "tpmcmd.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/rw.h"

#define ST_NO_SESSIONS 0x8001
#define ST_SESSIONS 0x8002
#define ST_HASHCHECK 0x8024

#define CC_HierarchyChangeAuth 0x00000129
#define CC_DictionaryAttackParameters 0x0000013A
#define CC_GetCapability 0x0000017A
#define CC_GetRandom 0x0000017B
#define CC_Hash 0x0000017D
#define CC_PCR_Read 0x0000017E
#define CC_ReadClock 0x00000181
#define CC_PCR_Extend 0x00000182

#define RH_OWNER 0x40000001
#define RS_PW 0x40000009
#define RH_LOCKOUT 0x4000000A
#define ALG_SHA256 0x000B
#define CAP_TPM_PROPERTIES 0x00000006
#define PT_MANUFACTURER 0x00000105

#define RANDOM_BYTES 32
#define HASH_INPUT 64
#define SHA256_SIZE 32
#define EXTEND_PCR 16 /* the debug PCR: extendable from locality 0, used by no boot chain */
#define READ_PCR 0

/* The owner authValue HierarchyChangeAuth alternates with the empty one. Not a secret. */
static const uint8_t bench_owner_auth[8] = {'v', 't', 'p', 'm', 'b', 'n', 'c', 'h'};

static const char *const bcmd_names[BCMD_COUNT] = {
    [BCMD_GETRANDOM] = "getrandom",
    [BCMD_PCR_EXTEND] = "pcrextend",
    [BCMD_PCR_READ] = "pcrread",
    [BCMD_HASH] = "hash",
    [BCMD_GETCAP] = "getcap",
    [BCMD_READCLOCK] = "readclock",
    [BCMD_DA_PARAMS] = "daparams",
    [BCMD_CHANGE_AUTH] = "changeauth",
};

static void hash_input(uint8_t out[HASH_INPUT])
{
    for (unsigned i = 0; i < HASH_INPUT; i++) {
        out[i] = (uint8_t)(i * 7 + 1);
    }
}

int bcmd_state_init(struct bcmd_state *st)
{
    uint8_t in[HASH_INPUT];
    unsigned int n = 0;

    memset(st, 0, sizeof(*st));
    hash_input(in);
    if (EVP_Digest(in, sizeof(in), st->hash_expect, &n, EVP_sha256(), NULL) != 1 ||
        n != SHA256_SIZE) {
        return -1;
    }
    return 0;
}

const char *bcmd_name(enum bcmd c)
{
    if ((unsigned)c >= BCMD_COUNT) {
        return NULL;
    }
    return bcmd_names[c];
}

int bcmd_from_name(const char *name)
{
    for (int c = 0; c < BCMD_COUNT; c++) {
        if (strcmp(name, bcmd_names[c]) == 0) {
            return c;
        }
    }
    return -1;
}

bool bcmd_commits(enum bcmd c)
{
    return c == BCMD_DA_PARAMS || c == BCMD_CHANGE_AUTH;
}

/* TPMS_AUTH_COMMAND for a password session (Part 1 §19.8.4), behind its authorizationSize. */
static void put_pw_session(struct wr *w, const uint8_t *auth, uint16_t auth_len)
{
    size_t mark = wr_size32_begin(w);
    wr_u32(w, RS_PW);
    wr_u16(w, 0); /* nonceCaller: empty */
    wr_u8(w, 0);  /* sessionAttributes: none (continueSession is ignored for TPM_RS_PW) */
    wr_u16(w, auth_len);
    wr_bytes(w, auth, auth_len);
    wr_size32_end(w, mark);
}

size_t bcmd_build(enum bcmd c, const struct bcmd_state *st, uint8_t *buf, size_t cap)
{
    struct wr w;
    uint8_t data[HASH_INPUT];
    uint8_t digest[SHA256_SIZE];
    size_t size_mark = 0;

    wr_init(&w, buf, cap);
    switch (c) {
    case BCMD_GETRANDOM:
        wr_u16(&w, ST_NO_SESSIONS);
        size_mark = wr_size32_begin(&w);
        wr_u32(&w, CC_GetRandom);
        wr_u16(&w, RANDOM_BYTES);
        break;
    case BCMD_PCR_EXTEND:
        wr_u16(&w, ST_SESSIONS);
        size_mark = wr_size32_begin(&w);
        wr_u32(&w, CC_PCR_Extend);
        wr_u32(&w, EXTEND_PCR);
        put_pw_session(&w, NULL, 0);
        memset(digest, 0xA5, sizeof(digest));
        wr_u32(&w, 1); /* TPML_DIGEST_VALUES.count */
        wr_u16(&w, ALG_SHA256);
        wr_bytes(&w, digest, sizeof(digest));
        break;
    case BCMD_PCR_READ:
        wr_u16(&w, ST_NO_SESSIONS);
        size_mark = wr_size32_begin(&w);
        wr_u32(&w, CC_PCR_Read);
        wr_u32(&w, 1); /* TPML_PCR_SELECTION.count */
        wr_u16(&w, ALG_SHA256);
        wr_u8(&w, 3); /* sizeofSelect: PCRs 0..23 */
        wr_u8(&w, 1u << READ_PCR);
        wr_u8(&w, 0);
        wr_u8(&w, 0);
        break;
    case BCMD_HASH:
        wr_u16(&w, ST_NO_SESSIONS);
        size_mark = wr_size32_begin(&w);
        wr_u32(&w, CC_Hash);
        hash_input(data);
        wr_u16(&w, sizeof(data));
        wr_bytes(&w, data, sizeof(data));
        wr_u16(&w, ALG_SHA256);
        wr_u32(&w, RH_OWNER);
        break;
    case BCMD_GETCAP:
        wr_u16(&w, ST_NO_SESSIONS);
        size_mark = wr_size32_begin(&w);
        wr_u32(&w, CC_GetCapability);
        wr_u32(&w, CAP_TPM_PROPERTIES);
        wr_u32(&w, PT_MANUFACTURER);
        wr_u32(&w, 1);
        break;
    case BCMD_READCLOCK:
        wr_u16(&w, ST_NO_SESSIONS);
        size_mark = wr_size32_begin(&w);
        wr_u32(&w, CC_ReadClock);
        break;
    case BCMD_DA_PARAMS:
        wr_u16(&w, ST_SESSIONS);
        size_mark = wr_size32_begin(&w);
        wr_u32(&w, CC_DictionaryAttackParameters);
        wr_u32(&w, RH_LOCKOUT);
        put_pw_session(&w, NULL, 0);
        wr_u32(&w, 32 + (st->da_seq & 1)); /* newMaxTries: alternates, so every call changes NV */
        wr_u32(&w, 7200);                  /* newRecoveryTime, seconds */
        wr_u32(&w, 86400);                 /* lockoutRecovery, seconds */
        break;
    case BCMD_CHANGE_AUTH:
        wr_u16(&w, ST_SESSIONS);
        size_mark = wr_size32_begin(&w);
        wr_u32(&w, CC_HierarchyChangeAuth);
        wr_u32(&w, RH_OWNER);
        if (st->owner_auth_set) {
            put_pw_session(&w, bench_owner_auth, sizeof(bench_owner_auth));
            wr_u16(&w, 0); /* newAuth: back to empty */
        } else {
            put_pw_session(&w, NULL, 0);
            wr_u16(&w, sizeof(bench_owner_auth));
            wr_bytes(&w, bench_owner_auth, sizeof(bench_owner_auth));
        }
        break;
    default:
        return 0;
    }
    /* commandSize covers the whole command, its own tag included (Part 1 §18.2). */
    if (w.err) {
        return 0;
    }
    be32_put(buf + size_mark, (uint32_t)w.off);
    return w.off;
}

static int fail(char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    return -1;
}

/* TPMS_AUTH_RESPONSE of a password session (Part 1 §19.8.5): nonce, attributes, empty hmac. */
static bool rd_pw_session_rsp(struct rd *r)
{
    uint16_t nonce_len;
    uint16_t hmac_len;
    uint8_t attrs;

    if (!rd_u16(r, &nonce_len) || !rd_skip(r, nonce_len) || !rd_u8(r, &attrs) ||
        !rd_u16(r, &hmac_len)) {
        return false;
    }
    return hmac_len == 0;
}

/* Response parameters of the commands answered with no handle and no parameter. */
static bool rd_empty_params_with_session(struct rd *r)
{
    uint32_t param_size;

    if (!rd_u32(r, &param_size) || param_size != 0) {
        return false;
    }
    return rd_pw_session_rsp(r);
}

static int check_params(enum bcmd c, const struct bcmd_state *st, struct rd *r, char *why,
                        size_t whylen)
{
    uint8_t u8v;
    uint16_t u16v;
    uint32_t u32v;
    uint64_t u64v;
    const uint8_t *p;

    switch (c) {
    case BCMD_GETRANDOM:
        if (!rd_u16(r, &u16v) || u16v != RANDOM_BYTES || !rd_skip(r, u16v)) {
            return fail(why, whylen, "GetRandom did not return the 32 bytes asked for");
        }
        break;
    case BCMD_PCR_EXTEND:
    case BCMD_DA_PARAMS:
    case BCMD_CHANGE_AUTH:
        if (!rd_empty_params_with_session(r)) {
            return fail(why, whylen,
                        "the response has no empty parameter area and password session");
        }
        break;
    case BCMD_PCR_READ:
        /* pcrUpdateCounter, then the selection echoed back, then the digests */
        if (!rd_u32(r, &u32v) || !rd_u32(r, &u32v) || u32v != 1 || !rd_u16(r, &u16v) ||
            u16v != ALG_SHA256 || !rd_u8(r, &u8v) || !rd_skip(r, u8v)) {
            return fail(why, whylen, "PCR_Read did not echo one sha256 selection");
        }
        if (!rd_u32(r, &u32v) || u32v != 1 || !rd_u16(r, &u16v) || u16v != SHA256_SIZE ||
            !rd_skip(r, u16v)) {
            return fail(why, whylen, "PCR_Read did not return one sha256 digest");
        }
        break;
    case BCMD_HASH:
        if (!rd_u16(r, &u16v) || u16v != SHA256_SIZE || !rd_ptr(r, u16v, &p)) {
            return fail(why, whylen, "Hash did not return a sha256 digest");
        }
        if (memcmp(p, st->hash_expect, SHA256_SIZE) != 0) {
            return fail(why, whylen, "Hash returned a wrong sha256 digest");
        }
        if (!rd_u16(r, &u16v) || u16v != ST_HASHCHECK || !rd_u32(r, &u32v) ||
            u32v != RH_OWNER || !rd_u16(r, &u16v) || !rd_skip(r, u16v)) {
            return fail(why, whylen, "Hash did not return an owner TPMT_TK_HASHCHECK ticket");
        }
        break;
    case BCMD_GETCAP:
        if (!rd_u8(r, &u8v) || u8v > 1 || !rd_u32(r, &u32v) || u32v != CAP_TPM_PROPERTIES ||
            !rd_u32(r, &u32v) || u32v != 1 || !rd_u32(r, &u32v) || u32v != PT_MANUFACTURER ||
            !rd_u32(r, &u32v)) {
            return fail(why, whylen, "GetCapability did not return TPM_PT_MANUFACTURER");
        }
        break;
    case BCMD_READCLOCK:
        /* TPMS_TIME_INFO: time, then TPMS_CLOCK_INFO (clock, resetCount, restartCount, safe) */
        if (!rd_u64(r, &u64v) || !rd_u64(r, &u64v) || !rd_u32(r, &u32v) ||
            !rd_u32(r, &u32v) || !rd_u8(r, &u8v) || u8v > 1) {
            return fail(why, whylen, "ReadClock did not return a TPMS_TIME_INFO");
        }
        break;
    default:
        return fail(why, whylen, "unknown benchmark command");
    }
    if (!rd_done(r)) {
        return fail(why, whylen, "the response carries bytes after its last parameter");
    }
    return 0;
}

int bcmd_check(enum bcmd c, const struct bcmd_state *st, const uint8_t *rsp, size_t len,
               uint32_t *rc, char *why, size_t whylen)
{
    struct rd r;
    uint16_t tag;
    uint32_t size;
    uint16_t want_tag;

    *rc = 0xFFFFFFFF;
    if ((unsigned)c >= BCMD_COUNT) {
        return fail(why, whylen, "unknown benchmark command");
    }
    rd_init(&r, rsp, len);
    if (!rd_u16(&r, &tag) || !rd_u32(&r, &size) || !rd_u32(&r, rc)) {
        return fail(why, whylen, "the response is shorter than a TPM response header");
    }
    if (size != len) {
        return fail(why, whylen, "the response header size differs from the bytes received");
    }
    if (*rc != 0) {
        snprintf(why, whylen, "the TPM answered %s with response code 0x%03x, not success",
                 bcmd_names[c], (unsigned)*rc);
        return -1;
    }
    want_tag = (c == BCMD_PCR_EXTEND || bcmd_commits(c)) ? ST_SESSIONS : ST_NO_SESSIONS;
    if (tag != want_tag) {
        return fail(why, whylen, "the response tag does not match the command's sessions");
    }
    return check_params(c, st, &r, why, whylen);
}

void bcmd_done(enum bcmd c, struct bcmd_state *st)
{
    if (c == BCMD_DA_PARAMS) {
        st->da_seq++;
    } else if (c == BCMD_CHANGE_AUTH) {
        st->owner_auth_set = !st->owner_auth_set;
    }
}

uint32_t bcmd_rsp_size(const uint8_t *hdr)
{
    struct rd r;
    uint16_t tag;
    uint32_t size;

    rd_init(&r, hdr, 10);
    if (!rd_u16(&r, &tag) || !rd_u32(&r, &size) || size < 10 || size > BCMD_MAX) {
        return 0;
    }
    return size;
}

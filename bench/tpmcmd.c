/*
 * Benchmark commands built byte by byte and their responses checked (see tpmcmd.h).
 * Constants are the specification's (TPM 2.0 Part 2: §6.5 TPM_CC, §6.9 TPM_ST, §7.4 TPM_RH,
 * §6.3 TPM_ALG_ID, §6.12 TPM_CAP, §6.13 TPM_PT); they are spelled here rather than taken from
 * the engine so that the client stays independent of the servers it measures.
 */
#include "tpmcmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/rw.h"
#include "common/secret.h"
#include "tpmcrypt.h"

#define ST_NO_SESSIONS 0x8001
#define ST_SESSIONS 0x8002
#define ST_HASHCHECK 0x8024

#define ST_CREATION 0x8021
#define ST_ATTEST_QUOTE 0x8018

#define CC_NV_UndefineSpace 0x00000122
#define CC_HierarchyChangeAuth 0x00000129
#define CC_NV_DefineSpace 0x0000012A
#define CC_CreatePrimary 0x00000131
#define CC_NV_Increment 0x00000134
#define CC_NV_Write 0x00000137
#define CC_DictionaryAttackParameters 0x0000013A
#define CC_NV_Read 0x0000014E
#define CC_Create 0x00000153
#define CC_Load 0x00000157
#define CC_Quote 0x00000158
#define CC_RSA_Decrypt 0x00000159
#define CC_Sign 0x0000015D
#define CC_Unseal 0x0000015E
#define CC_FlushContext 0x00000165
#define CC_StartAuthSession 0x00000176
#define CC_GetCapability 0x0000017A
#define CC_GetRandom 0x0000017B
#define CC_Hash 0x0000017D
#define CC_PCR_Read 0x0000017E
#define CC_ReadClock 0x00000181
#define CC_PCR_Extend 0x00000182
#define CC_EncryptDecrypt2 0x00000193

#define RH_OWNER 0x40000001
#define RH_NULL 0x40000007
#define RS_PW 0x40000009
#define RH_LOCKOUT 0x4000000A
#define HT_HMAC_SESSION 0x02

#define ALG_RSA 0x0001
#define ALG_AES 0x0006
#define ALG_KEYEDHASH 0x0008
#define ALG_HMAC 0x0005
#define ALG_XOR 0x000A
#define ALG_SHA256 0x000B
#define ALG_NULL 0x0010
#define ALG_OAEP 0x0017
#define ALG_ECDAA 0x001A
#define ALG_ECC 0x0023
#define ALG_SYMCIPHER 0x0025
#define ALG_CFB 0x0043
#define ECC_NIST_P256 0x0003

/* TPMA_OBJECT (Part 2 §8.3) */
#define OA_FIXED_TPM 0x00000002u
#define OA_FIXED_PARENT 0x00000010u
#define OA_SENSITIVE_DATA_ORIGIN 0x00000020u
#define OA_USER_WITH_AUTH 0x00000040u
#define OA_RESTRICTED 0x00010000u
#define OA_DECRYPT 0x00020000u
#define OA_SIGN 0x00040000u
#define OA_KEY (OA_FIXED_TPM | OA_FIXED_PARENT | OA_SENSITIVE_DATA_ORIGIN | OA_USER_WITH_AUTH)

#define SESSION_CONTINUE 0x01    /* TPMA_SESSION continueSession */
#define SE_HMAC 0x00             /* TPM_SE_HMAC */
#define GENERATED_VALUE 0xFF544347u /* TPM_GENERATED_VALUE, Part 2 §6.2 */
#define QUOTE_PCRS 0xFF          /* pcrSelect[0] of bcmd_quote: PCRs 0-7 */
#define IV_SIZE 16
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

uint32_t bcmd_da_max_tries(const struct bcmd_state *st)
{
    return 32 + (st->da_seq & 1);
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
        wr_u32(&w, bcmd_da_max_tries(st)); /* alternates, so that every call changes NV */
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

/* ------------------------------------------------------------------------------------------- */
/* Keys, sessions, NV, signing and attestation.                                                */

/* Starts a command: tag, a commandSize to fill in by cmd_end, the command code. */
static size_t cmd_begin(struct wr *w, uint8_t *buf, size_t cap, uint16_t tag, uint32_t cc)
{
    size_t mark;

    wr_init(w, buf, cap);
    wr_u16(w, tag);
    mark = wr_size32_begin(w);
    wr_u32(w, cc);
    return mark;
}

/* commandSize covers the whole command, its own tag included (Part 1 §18.2). */
static size_t cmd_end(struct wr *w, size_t mark)
{
    if (w->err) {
        return 0;
    }
    be32_put(w->p + mark, (uint32_t)w->off);
    return w->off;
}

/* A TPM2B: size, then the bytes. */
static void wr_2b(struct wr *w, const uint8_t *p, uint16_t n)
{
    wr_u16(w, n);
    wr_bytes(w, p, n);
}

/* TPMT_SYM_DEF_OBJECT AES-128-CFB, the storage keys' and the AES key's (Part 2 §11.1.6). */
static void put_aes128cfb(struct wr *w)
{
    wr_u16(w, ALG_AES);
    wr_u16(w, 128);
    wr_u16(w, ALG_CFB);
}

size_t bcmd_template(enum bkey k, const uint8_t *unique, uint16_t ulen, uint8_t *buf,
                     size_t cap)
{
    struct wr w;

    wr_init(&w, buf, cap);
    switch (k) {
    case BKEY_ECC_SRK:
    case BKEY_ECC_SIGN:
    case BKEY_ECC_AK:
        /* TPMS_ECC_PARMS (§12.2.3.6): symmetric, scheme, curveID, kdf */
        wr_u16(&w, ALG_ECC);
        wr_u16(&w, ALG_SHA256);
        if (k == BKEY_ECC_SRK) {
            wr_u32(&w, OA_KEY | OA_RESTRICTED | OA_DECRYPT);
            wr_u16(&w, 0); /* authPolicy */
            put_aes128cfb(&w);
            wr_u16(&w, ALG_NULL);
        } else if (k == BKEY_ECC_SIGN) {
            wr_u32(&w, OA_KEY | OA_SIGN);
            wr_u16(&w, 0);
            wr_u16(&w, ALG_NULL);
            wr_u16(&w, ALG_NULL);
        } else {
            wr_u32(&w, OA_KEY | OA_RESTRICTED | OA_SIGN);
            wr_u16(&w, 0);
            wr_u16(&w, ALG_NULL);
            wr_u16(&w, BCMD_ALG_ECDSA);
            wr_u16(&w, ALG_SHA256);
        }
        wr_u16(&w, ECC_NIST_P256);
        wr_u16(&w, ALG_NULL); /* kdf */
        wr_2b(&w, unique, ulen); /* unique.x */
        wr_u16(&w, 0);           /* unique.y */
        break;
    case BKEY_RSA_SRK:
    case BKEY_RSA_SIGNDEC:
        /* TPMS_RSA_PARMS (§12.2.3.5): symmetric, scheme, keyBits, exponent (0: 65537) */
        wr_u16(&w, ALG_RSA);
        wr_u16(&w, ALG_SHA256);
        if (k == BKEY_RSA_SRK) {
            wr_u32(&w, OA_KEY | OA_RESTRICTED | OA_DECRYPT);
            wr_u16(&w, 0);
            put_aes128cfb(&w);
        } else {
            wr_u32(&w, OA_KEY | OA_SIGN | OA_DECRYPT);
            wr_u16(&w, 0);
            wr_u16(&w, ALG_NULL);
        }
        wr_u16(&w, ALG_NULL);
        wr_u16(&w, 2048);
        wr_u32(&w, 0);
        wr_2b(&w, unique, ulen);
        break;
    case BKEY_AES:
        wr_u16(&w, ALG_SYMCIPHER);
        wr_u16(&w, ALG_SHA256);
        wr_u32(&w, OA_KEY | OA_SIGN | OA_DECRYPT);
        wr_u16(&w, 0);
        put_aes128cfb(&w);
        wr_2b(&w, unique, ulen);
        break;
    case BKEY_SEALED:
        /* sensitiveDataOrigin clear: the data comes from the caller (Part 1 §27.2.5) */
        wr_u16(&w, ALG_KEYEDHASH);
        wr_u16(&w, ALG_SHA256);
        wr_u32(&w, OA_FIXED_TPM | OA_FIXED_PARENT | OA_USER_WITH_AUTH);
        wr_u16(&w, 0);
        wr_u16(&w, ALG_NULL); /* TPMT_KEYEDHASH_SCHEME */
        wr_2b(&w, unique, ulen);
        break;
    default:
        return 0;
    }
    return w.err ? 0 : w.off;
}

/* TPM2B_SENSITIVE_CREATE (Part 2 §11.1.16): userAuth and data behind a size. */
static void put_sensitive(struct wr *w, const uint8_t *auth, uint16_t alen, const uint8_t *data,
                          uint16_t dlen)
{
    size_t mark = wr_size16_begin(w);
    wr_2b(w, auth, alen);
    wr_2b(w, data, dlen);
    wr_size16_end(w, mark);
}

/* inSensitive, inPublic, outsideInfo (empty), creationPCR (none): Create and CreatePrimary. */
static void put_create_params(struct wr *w, const uint8_t *tmpl, size_t tlen,
                              const uint8_t *auth, uint16_t alen, const uint8_t *data,
                              uint16_t dlen)
{
    put_sensitive(w, auth, alen, data, dlen);
    if (tlen > UINT16_MAX) {
        w->err = true;
        return;
    }
    wr_2b(w, tmpl, (uint16_t)tlen);
    wr_u16(w, 0);
    wr_u32(w, 0);
}

size_t bcmd_create_primary(uint8_t *buf, size_t cap, const uint8_t *tmpl, size_t tlen)
{
    struct wr w;
    size_t mark = cmd_begin(&w, buf, cap, ST_SESSIONS, CC_CreatePrimary);

    wr_u32(&w, RH_OWNER);
    put_pw_session(&w, NULL, 0);
    put_create_params(&w, tmpl, tlen, NULL, 0, NULL, 0);
    return cmd_end(&w, mark);
}

size_t bcmd_create(uint8_t *buf, size_t cap, uint32_t parent, const uint8_t *tmpl, size_t tlen,
                   const uint8_t *auth, uint16_t alen, const uint8_t *data, uint16_t dlen)
{
    struct wr w;
    size_t mark = cmd_begin(&w, buf, cap, ST_SESSIONS, CC_Create);

    wr_u32(&w, parent);
    put_pw_session(&w, NULL, 0);
    put_create_params(&w, tmpl, tlen, auth, alen, data, dlen);
    return cmd_end(&w, mark);
}

size_t bcmd_load(uint8_t *buf, size_t cap, uint32_t parent, const struct bblob *priv,
                 const struct bblob *pub)
{
    struct wr w;
    size_t mark = cmd_begin(&w, buf, cap, ST_SESSIONS, CC_Load);

    wr_u32(&w, parent);
    put_pw_session(&w, NULL, 0);
    wr_2b(&w, priv->b, priv->len);
    wr_2b(&w, pub->b, pub->len);
    return cmd_end(&w, mark);
}

size_t bcmd_unseal(uint8_t *buf, size_t cap, uint32_t item, const uint8_t *auth, uint16_t alen)
{
    struct wr w;
    size_t mark = cmd_begin(&w, buf, cap, ST_SESSIONS, CC_Unseal);

    wr_u32(&w, item);
    put_pw_session(&w, auth, alen);
    return cmd_end(&w, mark);
}

size_t bcmd_flush(uint8_t *buf, size_t cap, uint32_t handle)
{
    struct wr w;
    size_t mark = cmd_begin(&w, buf, cap, ST_NO_SESSIONS, CC_FlushContext);

    wr_u32(&w, handle); /* flushHandle is a parameter, not a handle (Part 3 §28.4) */
    return cmd_end(&w, mark);
}

size_t bcmd_start_auth_session(uint8_t *buf, size_t cap, uint32_t tpm_key,
                               const uint8_t nonce_caller[BCMD_NONCE], const uint8_t ex[32],
                               const uint8_t ey[32])
{
    struct wr w;
    size_t mark = cmd_begin(&w, buf, cap, ST_NO_SESSIONS, CC_StartAuthSession);
    size_t secret;

    wr_u32(&w, tpm_key);
    wr_u32(&w, RH_NULL); /* bind */
    wr_2b(&w, nonce_caller, BCMD_NONCE);
    /* encryptedSalt: a TPM2B_ENCRYPTED_SECRET holding the marshaled TPMS_ECC_POINT */
    secret = wr_size16_begin(&w);
    wr_2b(&w, ex, 32);
    wr_2b(&w, ey, 32);
    wr_size16_end(&w, secret);
    wr_u8(&w, SE_HMAC);
    wr_u16(&w, ALG_NULL);   /* symmetric: no parameter encryption */
    wr_u16(&w, ALG_SHA256); /* authHash */
    return cmd_end(&w, mark);
}

/* TPML_DIGEST_VALUES with one SHA-256 digest (Part 2 §10.9.7). */
static void put_one_sha256(struct wr *w, const uint8_t digest[32])
{
    wr_u32(w, 1);
    wr_u16(w, ALG_SHA256);
    wr_bytes(w, digest, SHA256_SIZE);
}

size_t bcmd_pcr_extend_hmac(uint8_t *buf, size_t cap, const struct bsess *s, uint32_t pcr,
                            const uint8_t digest[32])
{
    uint8_t params[4 + 2 + SHA256_SIZE];
    uint8_t ccb[4];
    uint8_t name[4];
    uint8_t cp[SHA256_SIZE];
    uint8_t hmac[SHA256_SIZE];
    uint8_t attrs = SESSION_CONTINUE;
    struct wr w;
    size_t mark;
    size_t auth;

    /* the parameters once, for cpHash; a PCR's Name is its handle (Part 1 §16) */
    wr_init(&w, params, sizeof(params));
    put_one_sha256(&w, digest);
    be32_put(ccb, CC_PCR_Extend);
    be32_put(name, pcr);
    {
        struct bcrypt_part cp_parts[] = {{ccb, 4}, {name, 4}, {params, sizeof(params)}};
        /* HMAC key: sessionKey || authValue, and the PCR's authValue is empty (§19.6.5) */
        struct bcrypt_part h_parts[] = {{cp, sizeof(cp)},
                                        {s->nonce_caller, BCMD_NONCE},
                                        {s->nonce_tpm, BCMD_NONCE},
                                        {&attrs, 1}};
        if (w.err || bcrypt_sha256(cp_parts, 3, cp) != 0 ||
            bcrypt_hmac(s->key, sizeof(s->key), h_parts, 4, hmac) != 0) {
            return 0;
        }
    }
    mark = cmd_begin(&w, buf, cap, ST_SESSIONS, CC_PCR_Extend);
    wr_u32(&w, pcr);
    auth = wr_size32_begin(&w);
    wr_u32(&w, s->handle);
    wr_2b(&w, s->nonce_caller, BCMD_NONCE);
    wr_u8(&w, attrs);
    wr_2b(&w, hmac, sizeof(hmac));
    wr_size32_end(&w, auth);
    wr_bytes(&w, params, sizeof(params));
    return cmd_end(&w, mark);
}

size_t bcmd_nv_define(uint8_t *buf, size_t cap, uint32_t index, uint32_t attrs, uint16_t size)
{
    struct wr w;
    size_t mark = cmd_begin(&w, buf, cap, ST_SESSIONS, CC_NV_DefineSpace);
    size_t pub;

    wr_u32(&w, RH_OWNER);
    put_pw_session(&w, NULL, 0);
    wr_u16(&w, 0); /* auth: empty */
    /* TPM2B_NV_PUBLIC (Part 2 §13.5, §13.6) */
    pub = wr_size16_begin(&w);
    wr_u32(&w, index);
    wr_u16(&w, ALG_SHA256);
    wr_u32(&w, attrs);
    wr_u16(&w, 0); /* authPolicy */
    wr_u16(&w, size);
    wr_size16_end(&w, pub);
    return cmd_end(&w, mark);
}

/* An NV command authorized by the owner: owner handle, the index, the session. */
static size_t nv_begin(struct wr *w, uint8_t *buf, size_t cap, uint32_t cc, uint32_t index)
{
    size_t mark = cmd_begin(w, buf, cap, ST_SESSIONS, cc);

    wr_u32(w, RH_OWNER);
    wr_u32(w, index);
    put_pw_session(w, NULL, 0);
    return mark;
}

size_t bcmd_nv_undefine(uint8_t *buf, size_t cap, uint32_t index)
{
    struct wr w;
    size_t mark = nv_begin(&w, buf, cap, CC_NV_UndefineSpace, index);

    return cmd_end(&w, mark);
}

size_t bcmd_nv_write(uint8_t *buf, size_t cap, uint32_t index, const uint8_t *data,
                     uint16_t len)
{
    struct wr w;
    size_t mark = nv_begin(&w, buf, cap, CC_NV_Write, index);

    wr_2b(&w, data, len);
    wr_u16(&w, 0); /* offset */
    return cmd_end(&w, mark);
}

size_t bcmd_nv_read(uint8_t *buf, size_t cap, uint32_t index, uint16_t size)
{
    struct wr w;
    size_t mark = nv_begin(&w, buf, cap, CC_NV_Read, index);

    wr_u16(&w, size);
    wr_u16(&w, 0); /* offset */
    return cmd_end(&w, mark);
}

size_t bcmd_nv_increment(uint8_t *buf, size_t cap, uint32_t index)
{
    struct wr w;
    size_t mark = nv_begin(&w, buf, cap, CC_NV_Increment, index);

    return cmd_end(&w, mark);
}

/* An object command with one handle authorized by a password session with the empty auth. */
static size_t obj_begin(struct wr *w, uint8_t *buf, size_t cap, uint32_t cc, uint32_t key)
{
    size_t mark = cmd_begin(w, buf, cap, ST_SESSIONS, cc);

    wr_u32(w, key);
    put_pw_session(w, NULL, 0);
    return mark;
}

size_t bcmd_sign(uint8_t *buf, size_t cap, uint32_t key, uint16_t scheme,
                 const uint8_t digest[32])
{
    struct wr w;
    size_t mark;

    if (scheme != BCMD_ALG_ECDSA && scheme != BCMD_ALG_RSASSA) {
        return 0;
    }
    mark = obj_begin(&w, buf, cap, CC_Sign, key);
    wr_2b(&w, digest, SHA256_SIZE);
    wr_u16(&w, scheme); /* TPMT_SIG_SCHEME */
    wr_u16(&w, ALG_SHA256);
    /* validation: a NULL ticket, enough for an unrestricted key (Part 3 §20.2.1) */
    wr_u16(&w, ST_HASHCHECK);
    wr_u32(&w, RH_NULL);
    wr_u16(&w, 0);
    return cmd_end(&w, mark);
}

size_t bcmd_rsa_decrypt(uint8_t *buf, size_t cap, uint32_t key, const uint8_t *cipher,
                        uint16_t clen)
{
    struct wr w;
    size_t mark = obj_begin(&w, buf, cap, CC_RSA_Decrypt, key);

    wr_2b(&w, cipher, clen);
    wr_u16(&w, ALG_OAEP); /* TPMT_RSA_DECRYPT */
    wr_u16(&w, ALG_SHA256);
    wr_u16(&w, 0); /* label: empty */
    return cmd_end(&w, mark);
}

/* TPML_PCR_SELECTION of SHA-256 PCRs 0-7. */
static void put_quote_pcrs(struct wr *w)
{
    wr_u32(w, 1);
    wr_u16(w, ALG_SHA256);
    wr_u8(w, 3);
    wr_u8(w, QUOTE_PCRS);
    wr_u8(w, 0);
    wr_u8(w, 0);
}

size_t bcmd_quote(uint8_t *buf, size_t cap, uint32_t key, const uint8_t *qual, uint16_t qlen)
{
    struct wr w;
    size_t mark = obj_begin(&w, buf, cap, CC_Quote, key);

    wr_2b(&w, qual, qlen);
    wr_u16(&w, ALG_NULL); /* inScheme: the key's own (ECDSA, SHA-256) */
    put_quote_pcrs(&w);
    return cmd_end(&w, mark);
}

size_t bcmd_encrypt_decrypt2(uint8_t *buf, size_t cap, uint32_t key, bool decrypt,
                             const uint8_t iv[16], const uint8_t *data, uint16_t len)
{
    struct wr w;
    size_t mark = obj_begin(&w, buf, cap, CC_EncryptDecrypt2, key);

    wr_2b(&w, data, len);
    wr_u8(&w, decrypt ? 1 : 0);
    wr_u16(&w, ALG_CFB);
    wr_2b(&w, iv, IV_SIZE);
    return cmd_end(&w, mark);
}

/* ---- responses ---- */

static int failf(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/*
 * Opens a response: header checked (size, success, tag), the handle read when handle is not
 * NULL, then the parameter area in *params and, with sessions, the session area in *auths
 * (Part 1 §18.10: parameterSize comes only in responses with sessions).
 */
static int rsp_open(const uint8_t *rsp, size_t len, const char *what, bool sessions,
                    uint32_t *handle, struct rd *params, struct rd *auths, uint32_t *rc,
                    char *why, size_t whylen)
{
    struct rd r;
    uint16_t tag;
    uint32_t size;
    uint32_t psize;

    *rc = 0xFFFFFFFF;
    rd_init(&r, rsp, len);
    if (!rd_u16(&r, &tag) || !rd_u32(&r, &size) || !rd_u32(&r, rc)) {
        return failf(why, whylen, "the response to %s is shorter than a TPM response header",
                     what);
    }
    if (size != len) {
        return failf(why, whylen,
                     "the response to %s carries a header size that differs from the bytes "
                     "received", what);
    }
    if (*rc != 0) {
        return failf(why, whylen, "the TPM answered %s with response code 0x%03x, not success",
                     what, (unsigned)*rc);
    }
    if (tag != (sessions ? ST_SESSIONS : ST_NO_SESSIONS)) {
        return failf(why, whylen, "the response tag of %s does not match the command's sessions",
                     what);
    }
    if (handle && !rd_u32(&r, handle)) {
        return failf(why, whylen, "the response to %s carries no handle", what);
    }
    if (sessions) {
        if (!rd_u32(&r, &psize) || !rd_sub(&r, psize, params)) {
            return failf(why, whylen, "the parameterSize of the %s response runs past its end",
                         what);
        }
        *auths = r;
    } else {
        *params = r;
        rd_init(auths, rsp, 0);
    }
    return 0;
}

/* The end of a response: parameters all read, and one password session answered. */
static int rsp_close(struct rd *params, struct rd *auths, bool sessions, const char *what,
                     char *why, size_t whylen)
{
    if (!rd_done(params)) {
        return failf(why, whylen, "the %s response parameters are malformed or followed by "
                     "extra bytes", what);
    }
    if (sessions && (!rd_pw_session_rsp(auths) || !rd_done(auths))) {
        return failf(why, whylen, "the %s response has no single password session answer",
                     what);
    }
    return 0;
}

int bcmd_parse_empty(const uint8_t *rsp, size_t len, const char *what, bool sessions,
                     uint32_t *rc, char *why, size_t whylen)
{
    struct rd params;
    struct rd auths;
    uint32_t rcv;

    if (rsp_open(rsp, len, what, sessions, NULL, &params, &auths, rc ? rc : &rcv, why,
                 whylen) != 0) {
        return -1;
    }
    return rsp_close(&params, &auths, sessions, what, why, whylen);
}

/* A TPM2B into a blob; false if it does not fit or runs past the end. */
static bool rd_2b_blob(struct rd *r, struct bblob *b)
{
    uint16_t n;

    if (!rd_u16(r, &n) || n > sizeof(b->b) || !rd_bytes(r, b->b, n)) {
        r->err = true;
        return false;
    }
    b->len = n;
    return true;
}

/* A TPM2B of exactly n bytes, copied into out (which may be NULL: skipped). */
static bool rd_2b_exact(struct rd *r, uint16_t n, uint8_t *out)
{
    uint16_t got;

    if (!rd_u16(r, &got) || got != n) {
        r->err = true;
        return false;
    }
    return out ? rd_bytes(r, out, n) : rd_skip(r, n);
}

static bool rd_2b_skip(struct rd *r)
{
    uint16_t n;
    return rd_u16(r, &n) && rd_skip(r, n);
}

/* TPMT_SYM_DEF_OBJECT: algorithm, and keyBits and mode unless it is NULL. */
static bool rd_sym_def(struct rd *r)
{
    uint16_t alg;
    uint16_t v;

    if (!rd_u16(r, &alg)) {
        return false;
    }
    return alg == ALG_NULL || (rd_u16(r, &v) && rd_u16(r, &v));
}

/* An asymmetric scheme (TPMT_RSA_SCHEME, TPMT_ECC_SCHEME, TPMT_KDF_SCHEME): alg [hash [count]]. */
static bool rd_scheme(struct rd *r)
{
    uint16_t alg;
    uint16_t v;

    if (!rd_u16(r, &alg)) {
        return false;
    }
    if (alg == ALG_NULL) {
        return true;
    }
    if (!rd_u16(r, &v)) {
        return false;
    }
    return alg != ALG_ECDAA || rd_u16(r, &v);
}

/* TPMT_PUBLIC (Part 2 §12.2.4) of the object types the benchmark creates; the whole of r. */
static bool rd_public(struct rd *r, struct bpub *pub)
{
    uint16_t v;
    uint32_t v32;

    memset(pub, 0, sizeof(*pub));
    if (!rd_u16(r, &pub->type) || !rd_u16(r, &v) || v != ALG_SHA256 ||
        !rd_u32(r, &pub->attrs) || !rd_2b_skip(r)) {
        return false;
    }
    switch (pub->type) {
    case ALG_RSA:
        if (!rd_sym_def(r) || !rd_scheme(r) || !rd_u16(r, &v) || v != 2048 || !rd_u32(r, &v32) ||
            (v32 != 0 && v32 != 65537) || !rd_u16(r, &pub->nlen) ||
            pub->nlen != BCMD_RSA_BYTES || !rd_bytes(r, pub->n, pub->nlen)) {
            return false;
        }
        break;
    case ALG_ECC:
        if (!rd_sym_def(r) || !rd_scheme(r) || !rd_u16(r, &pub->curve) ||
            pub->curve != ECC_NIST_P256 || !rd_scheme(r) || !rd_2b_exact(r, 32, pub->x) ||
            !rd_2b_exact(r, 32, pub->y)) {
            return false;
        }
        break;
    case ALG_KEYEDHASH:
        /* TPMT_KEYEDHASH_SCHEME: HMAC has a hash, XOR a hash and a KDF */
        if (!rd_u16(r, &v) || (v == ALG_HMAC && !rd_u16(r, &v)) ||
            (v == ALG_XOR && (!rd_u16(r, &v) || !rd_u16(r, &v))) || !rd_2b_skip(r)) {
            return false;
        }
        break;
    case ALG_SYMCIPHER:
        if (!rd_sym_def(r) || !rd_2b_skip(r)) {
            return false;
        }
        break;
    default:
        return false;
    }
    return rd_done(r);
}

/* TPM2B_PUBLIC into pub (and its bytes into raw if not NULL). */
static bool rd_2b_public(struct rd *r, struct bpub *pub, struct bblob *raw)
{
    uint16_t n;
    struct rd sub;

    if (!rd_u16(r, &n) || !rd_sub(r, n, &sub)) {
        return false;
    }
    if (raw) {
        if (n > sizeof(raw->b)) {
            return false;
        }
        memcpy(raw->b, sub.p, n);
        raw->len = n;
    }
    if (!rd_public(&sub, pub)) {
        r->err = true;
        return false;
    }
    return true;
}

/* creationData, creationHash, creationTicket (TPMT_TK_CREATION, Part 2 §10.7.3). */
static bool rd_creation(struct rd *r)
{
    uint16_t tag;
    uint32_t hier;

    return rd_2b_skip(r) && rd_2b_exact(r, SHA256_SIZE, NULL) && rd_u16(r, &tag) &&
           tag == ST_CREATION && rd_u32(r, &hier) && rd_2b_skip(r);
}

/* A TPM2B_NAME of an object with nameAlg SHA-256: the algorithm, then 32 bytes. */
static bool rd_object_name(struct rd *r)
{
    uint16_t n;
    uint16_t alg;

    return rd_u16(r, &n) && n == 2 + SHA256_SIZE && rd_u16(r, &alg) && alg == ALG_SHA256 &&
           rd_skip(r, SHA256_SIZE);
}

int bcmd_parse_create_primary(const uint8_t *rsp, size_t len, uint32_t *handle,
                              struct bpub *pub, uint32_t *rc, char *why, size_t whylen)
{
    struct rd params;
    struct rd auths;
    uint32_t rcv;

    if (rsp_open(rsp, len, "CreatePrimary", true, handle, &params, &auths, rc ? rc : &rcv, why,
                 whylen) != 0) {
        return -1;
    }
    if (!rd_2b_public(&params, pub, NULL)) {
        return failf(why, whylen, "CreatePrimary returned a public area that does not parse");
    }
    if (!rd_creation(&params) || !rd_object_name(&params)) {
        return failf(why, whylen, "CreatePrimary returned malformed creation data or name");
    }
    return rsp_close(&params, &auths, true, "CreatePrimary", why, whylen);
}

int bcmd_parse_create(const uint8_t *rsp, size_t len, struct bblob *priv, struct bblob *pub,
                      uint32_t *rc, char *why, size_t whylen)
{
    struct rd params;
    struct rd auths;
    struct bpub parsed;
    uint32_t rcv;

    if (rsp_open(rsp, len, "Create", true, NULL, &params, &auths, rc ? rc : &rcv, why,
                 whylen) != 0) {
        return -1;
    }
    if (!rd_2b_blob(&params, priv) || priv->len == 0) {
        return failf(why, whylen, "Create returned no private area that fits %d bytes",
                     BCMD_BLOB_MAX);
    }
    if (!rd_2b_public(&params, &parsed, pub)) {
        return failf(why, whylen, "Create returned a public area that does not parse");
    }
    if (!rd_creation(&params)) {
        return failf(why, whylen, "Create returned malformed creation data");
    }
    return rsp_close(&params, &auths, true, "Create", why, whylen);
}

int bcmd_parse_load(const uint8_t *rsp, size_t len, uint32_t *handle, uint32_t *rc, char *why,
                    size_t whylen)
{
    struct rd params;
    struct rd auths;
    uint32_t rcv;

    if (rsp_open(rsp, len, "Load", true, handle, &params, &auths, rc ? rc : &rcv, why,
                 whylen) != 0) {
        return -1;
    }
    if (!rd_object_name(&params)) {
        return failf(why, whylen, "Load returned no SHA-256 name");
    }
    return rsp_close(&params, &auths, true, "Load", why, whylen);
}

int bcmd_parse_data(const uint8_t *rsp, size_t len, const char *what, struct bblob *out,
                    uint32_t *rc, char *why, size_t whylen)
{
    struct rd params;
    struct rd auths;
    uint32_t rcv;

    if (rsp_open(rsp, len, what, true, NULL, &params, &auths, rc ? rc : &rcv, why, whylen) !=
        0) {
        return -1;
    }
    if (!rd_2b_blob(&params, out)) {
        return failf(why, whylen, "the %s response data runs past its end", what);
    }
    return rsp_close(&params, &auths, true, what, why, whylen);
}

int bcmd_parse_start_auth_session(const uint8_t *rsp, size_t len, uint32_t *handle,
                                  uint8_t nonce_tpm[BCMD_NONCE], uint32_t *rc, char *why,
                                  size_t whylen)
{
    struct rd params;
    struct rd auths;
    uint32_t rcv;

    if (rsp_open(rsp, len, "StartAuthSession", false, handle, &params, &auths, rc ? rc : &rcv,
                 why, whylen) != 0) {
        return -1;
    }
    if ((*handle >> 24) != HT_HMAC_SESSION) {
        return failf(why, whylen, "StartAuthSession returned handle 0x%08x, not an HMAC session",
                     (unsigned)*handle);
    }
    if (!rd_2b_exact(&params, BCMD_NONCE, nonce_tpm)) {
        return failf(why, whylen, "StartAuthSession returned no 32-byte nonceTPM");
    }
    return rsp_close(&params, &auths, false, "StartAuthSession", why, whylen);
}

int bcmd_parse_pcr_extend_hmac(const uint8_t *rsp, size_t len, struct bsess *s, uint32_t *rc,
                               char *why, size_t whylen)
{
    struct rd params;
    struct rd auths;
    uint8_t nonce[BCMD_NONCE];
    uint8_t got[SHA256_SIZE];
    uint8_t want[SHA256_SIZE];
    uint8_t rp[SHA256_SIZE];
    uint8_t head[8];
    uint8_t attrs;
    uint32_t rcv;

    if (rsp_open(rsp, len, "PCR_Extend", true, NULL, &params, &auths, rc ? rc : &rcv, why,
                 whylen) != 0) {
        return -1;
    }
    if (!rd_done(&params)) {
        return failf(why, whylen, "PCR_Extend returned parameters");
    }
    if (!rd_2b_exact(&auths, BCMD_NONCE, nonce) || !rd_u8(&auths, &attrs) ||
        !rd_2b_exact(&auths, SHA256_SIZE, got) || !rd_done(&auths)) {
        return failf(why, whylen, "PCR_Extend answered without one HMAC session response");
    }
    if (attrs != SESSION_CONTINUE) {
        return failf(why, whylen, "PCR_Extend answered with session attributes 0x%02x, not "
                     "continueSession", attrs);
    }
    /* rpHash = H(responseCode || commandCode || parameters), Part 1 §18.8 */
    be32_put(head, 0);
    be32_put(head + 4, CC_PCR_Extend);
    {
        struct bcrypt_part rp_parts[] = {{head, 8}};
        struct bcrypt_part h_parts[] = {
            {rp, sizeof(rp)}, {nonce, BCMD_NONCE}, {s->nonce_caller, BCMD_NONCE}, {&attrs, 1}};
        if (bcrypt_sha256(rp_parts, 1, rp) != 0 ||
            bcrypt_hmac(s->key, sizeof(s->key), h_parts, 4, want) != 0) {
            return failf(why, whylen, "libcrypto could not compute the response HMAC");
        }
    }
    if (!secret_eq(got, want, sizeof(want))) {
        return failf(why, whylen, "the response HMAC of PCR_Extend does not verify");
    }
    memcpy(s->nonce_tpm, nonce, BCMD_NONCE);
    return 0;
}

/* TPMT_SIGNATURE of scheme with SHA-256. */
static bool rd_signature(struct rd *r, uint16_t scheme, struct bsig *sig)
{
    memset(sig, 0, sizeof(*sig));
    if (!rd_u16(r, &sig->alg) || sig->alg != scheme || !rd_u16(r, &sig->hash) ||
        sig->hash != ALG_SHA256) {
        return false;
    }
    if (scheme == BCMD_ALG_RSASSA) {
        return rd_u16(r, &sig->rlen) && sig->rlen == BCMD_RSA_BYTES &&
               rd_bytes(r, sig->r, sig->rlen);
    }
    return rd_u16(r, &sig->rlen) && sig->rlen <= 32 && rd_bytes(r, sig->r, sig->rlen) &&
           rd_u16(r, &sig->slen) && sig->slen <= 32 && rd_bytes(r, sig->s, sig->slen);
}

int bcmd_parse_sign(const uint8_t *rsp, size_t len, uint16_t scheme, struct bsig *sig,
                    uint32_t *rc, char *why, size_t whylen)
{
    struct rd params;
    struct rd auths;
    uint32_t rcv;

    if (rsp_open(rsp, len, "Sign", true, NULL, &params, &auths, rc ? rc : &rcv, why, whylen) !=
        0) {
        return -1;
    }
    if (!rd_signature(&params, scheme, sig)) {
        return failf(why, whylen, "Sign returned no %s signature with SHA-256",
                     scheme == BCMD_ALG_RSASSA ? "RSASSA" : "ECDSA");
    }
    return rsp_close(&params, &auths, true, "Sign", why, whylen);
}

/* TPMS_ATTEST of a quote (Part 2 §10.12.12, §10.12.1): the whole of r. */
static int rd_quote_attest(struct rd *r, const uint8_t *qual, uint16_t qlen, char *why,
                           size_t whylen)
{
    uint32_t magic;
    uint16_t type;
    uint16_t n;
    const uint8_t *p;
    uint64_t u64;
    uint32_t u32;
    uint8_t safe;
    uint8_t sel[4];

    if (!rd_u32(r, &magic) || magic != GENERATED_VALUE || !rd_u16(r, &type) ||
        type != ST_ATTEST_QUOTE) {
        return failf(why, whylen, "Quote returned an attestation that is not a TPM-generated "
                     "quote");
    }
    if (!rd_2b_skip(r) || !rd_u16(r, &n) || !rd_ptr(r, n, &p) || n != qlen ||
        memcmp(p, qual, qlen) != 0) {
        return failf(why, whylen, "Quote returned an attestation without the qualifying data");
    }
    /* clockInfo (clock, resetCount, restartCount, safe), firmwareVersion */
    if (!rd_u64(r, &u64) || !rd_u32(r, &u32) || !rd_u32(r, &u32) || !rd_u8(r, &safe) ||
        safe > 1 || !rd_u64(r, &u64)) {
        return failf(why, whylen, "Quote returned a malformed clock or firmware version");
    }
    if (!rd_u32(r, &u32) || u32 != 1 || !rd_u16(r, &n) || n != ALG_SHA256 ||
        !rd_bytes(r, sel, 4) || sel[0] != 3 || sel[1] != QUOTE_PCRS || sel[2] != 0 ||
        sel[3] != 0 || !rd_2b_exact(r, SHA256_SIZE, NULL) || !rd_done(r)) {
        return failf(why, whylen, "Quote did not attest the SHA-256 PCRs 0-7 asked for");
    }
    return 0;
}

int bcmd_parse_quote(const uint8_t *rsp, size_t len, const uint8_t *qual, uint16_t qlen,
                     struct bblob *attest, struct bsig *sig, uint32_t *rc, char *why,
                     size_t whylen)
{
    struct rd params;
    struct rd auths;
    struct rd a;
    uint32_t rcv;

    if (rsp_open(rsp, len, "Quote", true, NULL, &params, &auths, rc ? rc : &rcv, why, whylen) !=
        0) {
        return -1;
    }
    if (!rd_2b_blob(&params, attest)) {
        return failf(why, whylen, "Quote returned an attestation that runs past its end");
    }
    rd_init(&a, attest->b, attest->len);
    if (rd_quote_attest(&a, qual, qlen, why, whylen) != 0) {
        return -1;
    }
    if (!rd_signature(&params, BCMD_ALG_ECDSA, sig)) {
        return failf(why, whylen, "Quote returned no ECDSA signature with SHA-256");
    }
    return rsp_close(&params, &auths, true, "Quote", why, whylen);
}

int bcmd_parse_encrypt_decrypt2(const uint8_t *rsp, size_t len, uint8_t *out, uint16_t out_len,
                                uint32_t *rc, char *why, size_t whylen)
{
    struct rd params;
    struct rd auths;
    uint32_t rcv;

    if (rsp_open(rsp, len, "EncryptDecrypt2", true, NULL, &params, &auths, rc ? rc : &rcv, why,
                 whylen) != 0) {
        return -1;
    }
    if (!rd_2b_exact(&params, out_len, out) || !rd_2b_exact(&params, IV_SIZE, NULL)) {
        return failf(why, whylen, "EncryptDecrypt2 did not return %u bytes and a 16-byte iv",
                     (unsigned)out_len);
    }
    return rsp_close(&params, &auths, true, "EncryptDecrypt2", why, whylen);
}

int bcmd_session_key(struct bsess *s, const uint8_t salt[32])
{
    return bcrypt_kdfa(salt, 32, "ATH", s->nonce_tpm, BCMD_NONCE, s->nonce_caller, BCMD_NONCE,
                       256, s->key);
}

size_t bcmd_get_property(uint8_t *buf, size_t cap, uint32_t prop)
{
    struct wr w;
    size_t mark = cmd_begin(&w, buf, cap, ST_NO_SESSIONS, CC_GetCapability);

    wr_u32(&w, CAP_TPM_PROPERTIES);
    wr_u32(&w, prop);
    wr_u32(&w, 1);
    return cmd_end(&w, mark);
}

int bcmd_parse_property(const uint8_t *rsp, size_t len, uint32_t prop, uint32_t *value,
                        uint32_t *rc, char *why, size_t whylen)
{
    struct rd params;
    struct rd auths;
    uint8_t more;
    uint32_t v;
    uint32_t rcv;

    if (rsp_open(rsp, len, "GetCapability", false, NULL, &params, &auths, rc ? rc : &rcv, why,
                 whylen) != 0) {
        return -1;
    }
    /* moreData, TPMS_CAPABILITY_DATA: capability, TPML_TAGGED_TPM_PROPERTY with one entry */
    if (!rd_u8(&params, &more) || more > 1 || !rd_u32(&params, &v) || v != CAP_TPM_PROPERTIES ||
        !rd_u32(&params, &v) || v != 1 || !rd_u32(&params, &v) || v != prop ||
        !rd_u32(&params, value)) {
        return failf(why, whylen, "GetCapability did not return property 0x%08x",
                     (unsigned)prop);
    }
    return rsp_close(&params, &auths, false, "GetCapability", why, whylen);
}

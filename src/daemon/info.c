/* What vtpmd tells about itself (see info.h), learned from a scratch engine. */
#include "info.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/rw.h"
#include "vfile.h"
#include "vtpm/tpm.h"

#ifndef VTPMD_VERSION
#define VTPMD_VERSION "unknown"
#endif

/* TPM 2.0 constants (Part 2) used to build the probe commands. */
#define ST_NO_SESSIONS 0x8001
#define CC_STARTUP 0x0144
#define CC_GET_CAPABILITY 0x017A
#define CC_TEST_PARMS 0x018A
#define CAP_TPM_PROPERTIES 0x00000006
#define PT_FAMILY_INDICATOR 0x100
#define PT_LEVEL 0x101
#define PT_REVISION 0x102
#define PT_MANUFACTURER 0x105
#define PT_FIRMWARE_VERSION_1 0x10B
#define ALG_RSA 0x0001
#define ALG_NULL 0x0010
#define ALG_SYMCIPHER 0x0025
#define ALG_CAMELLIA 0x0026
#define ALG_CFB 0x0043

/* Run one command on the scratch engine; returns its response code. */
static uint32_t probe_cmd(struct tpm *t, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap,
                          size_t *rlen)
{
    struct rd r;
    uint16_t tag;
    uint32_t size, rc;
    size_t n = tpm_execute(t, 0, cmd, len, rsp, cap);
    rd_init(&r, rsp, n);
    if (!rd_u16(&r, &tag) || !rd_u32(&r, &size) || !rd_u32(&r, &rc)) {
        return 0xFFFFFFFFu;
    }
    *rlen = n;
    return rc;
}

/* Begin a command in w; end_cmd fills in its size. */
static void begin_cmd(struct wr *w, uint8_t *buf, size_t cap, uint32_t cc)
{
    wr_init(w, buf, cap);
    wr_u16(w, ST_NO_SESSIONS);
    wr_u32(w, 0);
    wr_u32(w, cc);
}

static void end_cmd(struct wr *w)
{
    if (!w->err) {
        be32_put(w->p + 2, (uint32_t)w->off);
    }
}

/* TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES) from PT_FIXED: Part 3 §30.2. */
static int probe_properties(struct tpm *t, struct info *out)
{
    uint8_t cmd[32], rsp[2048];
    struct wr w;
    struct rd r;
    size_t n = 0;
    uint8_t more;
    uint32_t cap, count;

    begin_cmd(&w, cmd, sizeof(cmd), CC_GET_CAPABILITY);
    wr_u32(&w, CAP_TPM_PROPERTIES);
    wr_u32(&w, PT_FAMILY_INDICATOR);
    wr_u32(&w, 64);
    end_cmd(&w);
    if (w.err || probe_cmd(t, cmd, w.off, rsp, sizeof(rsp), &n) != 0) {
        return -EIO;
    }
    rd_init(&r, rsp, n);
    if (!rd_skip(&r, 10) || !rd_u8(&r, &more) || !rd_u32(&r, &cap) || !rd_u32(&r, &count) ||
        cap != CAP_TPM_PROPERTIES) {
        return -EIO;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t prop, val;
        if (!rd_u32(&r, &prop) || !rd_u32(&r, &val)) {
            return -EIO;
        }
        switch (prop) {
        case PT_FAMILY_INDICATOR: {
            /* Four characters, NUL padded: "2.0\0". */
            size_t k = 0;
            for (int s = 24; s >= 0; s -= 8) {
                char ch = (char)((val >> s) & 0xFF);
                if (ch != '\0' && k + 1 < sizeof(out->family)) {
                    out->family[k++] = ch;
                }
            }
            out->family[k] = '\0';
            break;
        }
        case PT_LEVEL:
            out->level = val;
            break;
        case PT_REVISION:
            out->revision = val;
            break;
        case PT_MANUFACTURER:
            out->manufacturer = val;
            break;
        case PT_FIRMWARE_VERSION_1:
            out->firmware1 = val;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* TPM2_TestParms (Part 3 §10.3) of an RSA or a symmetric-cipher object of a key size. */
static bool probe_parms(struct tpm *t, uint16_t type, uint16_t sym, uint16_t bits)
{
    uint8_t cmd[64], rsp[64];
    struct wr w;
    size_t n;

    begin_cmd(&w, cmd, sizeof(cmd), CC_TEST_PARMS);
    wr_u16(&w, type);
    if (type == ALG_RSA) {
        wr_u16(&w, ALG_NULL); /* symmetric: none (a signing or decryption key) */
        wr_u16(&w, ALG_NULL); /* scheme */
        wr_u16(&w, bits);
        wr_u32(&w, 0); /* default exponent */
    } else {
        wr_u16(&w, sym);
        wr_u16(&w, bits);
        wr_u16(&w, ALG_CFB);
    }
    end_cmd(&w);
    return !w.err && probe_cmd(t, cmd, w.off, rsp, sizeof(rsp), &n) == 0;
}

int info_probe(struct info *out)
{
    static const uint16_t rsa[] = {1024, 2048, 3072, 4096};
    static const uint16_t camellia[] = {128, 192, 256};
    uint8_t cmd[12] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0}; /* Startup(CLEAR) */
    uint8_t rsp[64];
    size_t n;
    int rc;
    struct tpm *t = tpm_new(NULL, NULL);

    memset(out, 0, sizeof(*out));
    if (!t) {
        return -ENOMEM;
    }
    tpm_init(t);
    if (probe_cmd(t, cmd, sizeof(cmd), rsp, sizeof(rsp), &n) != 0) {
        rc = -EIO;
        goto out;
    }
    rc = probe_properties(t, out);
    if (rc != 0) {
        goto out;
    }
    for (size_t i = 0; i < sizeof(rsa) / sizeof(rsa[0]); i++) {
        if (probe_parms(t, ALG_RSA, 0, rsa[i])) {
            out->rsa_bits[out->n_rsa++] = rsa[i];
        }
    }
    for (size_t i = 0; i < sizeof(camellia) / sizeof(camellia[0]); i++) {
        if (probe_parms(t, ALG_SYMCIPHER, ALG_CAMELLIA, camellia[i])) {
            out->camellia_bits[out->n_camellia++] = camellia[i];
        }
    }
out:
    tpm_free(t);
    return rc;
}

/* An appending string builder that remembers overflow. */
struct sb {
    char *p;
    size_t cap, len;
    bool err;
};

static void sb_add(struct sb *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *s, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (s->err) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= s->cap - s->len) {
        s->err = true;
        return;
    }
    s->len += (size_t)n;
}

static void sb_list(struct sb *s, const unsigned *v, size_t n)
{
    sb_add(s, "[");
    for (size_t i = 0; i < n; i++) {
        sb_add(s, "%s%u", i ? "," : "", v[i]);
    }
    sb_add(s, "]");
}

size_t info_json(const struct info *in, uint64_t flags, char *out, size_t cap)
{
    struct sb s = {out, cap, 0, cap == 0};
    const char *sep = "";

    sb_add(&s, "{");
    if (flags & INFO_TPMSPECIFICATION) {
        sb_add(&s, "\"TPMSpecification\":{\"family\":\"%s\",\"level\":%u,\"revision\":%u}",
               in->family, in->level, in->revision);
        sep = ",";
    }
    if (flags & INFO_TPMATTRIBUTES) {
        sb_add(&s,
               "%s\"TPMAttributes\":{\"manufacturer\":\"id:%08X\",\"version\":\"id:%08X\","
               "\"model\":\"vtpmd\"}",
               sep, in->manufacturer, in->firmware1);
        sep = ",";
    }
    if (flags & INFO_TPMFEATURES) {
        sb_add(&s, "%s\"TPMFeatures\":{\"RSAKeySizes\":", sep);
        sb_list(&s, in->rsa_bits, in->n_rsa);
        sb_add(&s, ",\"CamelliaKeySizes\":");
        sb_list(&s, in->camellia_bits, in->n_camellia);
        sb_add(&s, "}");
    }
    sb_add(&s, "}");
    return s.err ? 0 : s.len;
}

size_t info_capabilities_json(const struct info *in, char *out, size_t cap)
{
    /* The features vtpmd implements, in swtpm's words (swtpm(8) --print-capabilities). */
    static const char *const features[] = {
        "tpm-2.0",       "tpm-send-command-header", "flags-opt-startup",   "cmdarg-seccomp",
        "cmdarg-key-fd", "cmdarg-pwd-fd",           "cmdarg-print-states", "nvram-backend-dir",
    };
    struct sb s = {out, cap, 0, cap == 0};
    sb_add(&s, "{ \"type\": \"swtpm\", \"features\": [ ");
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        sb_add(&s, "%s\"%s\"", i ? ", " : "", features[i]);
    }
    for (size_t i = 0; i < in->n_rsa; i++) {
        sb_add(&s, ", \"rsa-keysize-%u\"", in->rsa_bits[i]);
    }
    sb_add(&s, " ], \"version\": \"%s\" }\n", VTPMD_VERSION);
    return s.err ? 0 : s.len;
}

size_t info_states_json(const char *dir, char *out, size_t cap)
{
    struct sb s = {out, cap, 0, cap == 0};
    struct stat st;
    uint64_t size;
    int zero_key, rc;

    if (stat(dir, &st) != 0) {
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return 0;
    }
    /* One file holds the permanent and the volatile state; "encrypted" is vtpmd's own field:
     * false when the file is sealed under the all-zero key (vtpmd ran without --key). */
    rc = vfile_stat(dir, &size, &zero_key);
    if (rc == -ENOENT) {
        sb_add(&s, "{ \"type\": \"swtpm\", \"states\": [] }");
    } else if (rc != 0) {
        errno = -rc;
        return 0;
    } else {
        sb_add(&s, "{ \"type\": \"swtpm\", \"states\": [ {\"name\": \"%s\", \"size\": %llu",
               VFILE_STATE_NAME, (unsigned long long)size);
        if (zero_key >= 0) {
            sb_add(&s, ", \"encrypted\": %s", zero_key ? "false" : "true");
        }
        sb_add(&s, "} ] }");
    }
    if (s.err) {
        errno = ENOSPC;
        return 0;
    }
    return s.len;
}

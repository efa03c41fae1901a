/*
 * libFuzzer target: the benchmark client's checks of TPM responses (bench/tpmcmd.c). The
 * servers it measures send these bytes, and a benchmark must refuse a malformed answer rather
 * than read past it. The first input byte picks the parser, the rest is the response.
 * Checked on every input: the verdict sentence is terminated and says something on a refusal,
 * an accepted response has response code 0, and what a parser hands back stays within its
 * bounds (blob and signature lengths).
 */
#include <stdint.h>
#include <string.h>

#include "tpmcmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSIMPLE BCMD_COUNT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t qual[16] = {0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12,
                                     0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12, 0x12};
    struct bcmd_state st;
    struct bblob a;
    struct bblob b;
    struct bpub pub;
    struct bsig sig;
    struct bsess s;
    uint8_t out[BCMD_ENC_BYTES];
    uint8_t nonce[BCMD_NONCE];
    char why[96];
    uint32_t rc = 0;
    uint32_t h = 0;
    uint32_t v = 0;
    const uint8_t *r;
    size_t n;
    int ret;

    if (size < 1) {
        return 0;
    }
    r = data + 1;
    n = size - 1;
    memset(why, 'x', sizeof(why));
    memset(&s, 0, sizeof(s));
    memset(s.key, 0x11, sizeof(s.key));
    memset(s.nonce_caller, 0x22, sizeof(s.nonce_caller));
    memset(s.nonce_tpm, 0x33, sizeof(s.nonce_tpm));
    if (bcmd_state_init(&st) != 0) {
        return 0;
    }
    switch (data[0] % (NSIMPLE + 13)) {
    case NSIMPLE + 0:
        ret = bcmd_parse_empty(r, n, "FlushContext", false, &rc, why, sizeof(why));
        break;
    case NSIMPLE + 1:
        ret = bcmd_parse_empty(r, n, "NV_Write", true, &rc, why, sizeof(why));
        break;
    case NSIMPLE + 2:
        ret = bcmd_parse_create_primary(r, n, &h, &pub, &rc, why, sizeof(why));
        if (ret == 0 && pub.nlen > sizeof(pub.n)) {
            __builtin_trap();
        }
        break;
    case NSIMPLE + 3:
        ret = bcmd_parse_create(r, n, &a, &b, &rc, why, sizeof(why));
        if (ret == 0 && (a.len > BCMD_BLOB_MAX || b.len > BCMD_BLOB_MAX)) {
            __builtin_trap();
        }
        break;
    case NSIMPLE + 4:
        ret = bcmd_parse_load(r, n, &h, &rc, why, sizeof(why));
        break;
    case NSIMPLE + 5:
        ret = bcmd_parse_data(r, n, "Unseal", &a, &rc, why, sizeof(why));
        if (ret == 0 && a.len > BCMD_BLOB_MAX) {
            __builtin_trap();
        }
        break;
    case NSIMPLE + 6:
        ret = bcmd_parse_start_auth_session(r, n, &h, nonce, &rc, why, sizeof(why));
        break;
    case NSIMPLE + 7:
        ret = bcmd_parse_pcr_extend_hmac(r, n, &s, &rc, why, sizeof(why));
        break;
    case NSIMPLE + 8:
    case NSIMPLE + 9:
        ret = bcmd_parse_sign(r, n, data[0] % (NSIMPLE + 13) == NSIMPLE + 8 ? BCMD_ALG_ECDSA
                                                                          : BCMD_ALG_RSASSA,
                              &sig, &rc, why, sizeof(why));
        if (ret == 0 && (sig.rlen > sizeof(sig.r) || sig.slen > sizeof(sig.s))) {
            __builtin_trap();
        }
        break;
    case NSIMPLE + 10:
        ret = bcmd_parse_quote(r, n, qual, sizeof(qual), &a, &sig, &rc, why, sizeof(why));
        if (ret == 0 && (a.len > BCMD_BLOB_MAX || sig.rlen > 32 || sig.slen > 32)) {
            __builtin_trap();
        }
        break;
    case NSIMPLE + 11:
        ret = bcmd_parse_encrypt_decrypt2(r, n, out, 8, &rc, why, sizeof(why));
        break;
    case NSIMPLE + 12:
        ret = bcmd_parse_property(r, n, BCMD_PT_MAX_AUTH_FAIL, &v, &rc, why, sizeof(why));
        break;
    default:
        ret = bcmd_check((enum bcmd)(data[0] % (NSIMPLE + 13)), &st, r, n, &rc, why,
                         sizeof(why));
        break;
    }
    if (ret == 0 && rc != 0) {
        __builtin_trap(); /* success is TPM_RC_SUCCESS only */
    }
    if (ret != 0 && (memchr(why, '\0', sizeof(why)) == NULL || why[0] == '\0')) {
        __builtin_trap(); /* a refusal says why, in a terminated sentence */
    }
    return 0;
}

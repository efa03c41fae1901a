/*
 * Unit tests of attestation (src/tpm/attest.c, Part 3 §18; TPMS_ATTEST, Part 2 §10.12.12) and
 * of the clock (Part 3 §29, Part 1 §36): every TPMS_ATTEST is parsed field by field here and
 * compared with what the test knows independently (PCR values read back and hashed with
 * OpenSSL, names from ReadPublic, audit digests recomputed from the commands sent), each
 * signature is checked with OpenSSL, and the privacy rule is exercised: resetCount,
 * restartCount and firmwareVersion are plain for endorsement keys, offset consistently per
 * key for the others.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <openssl/hmac.h>

#include "tpmkeys.h"

#define FW_DEFAULT 0x0001000000000000ull /* tpm_profile_default: 1.0, 0 */

static uint64_t now_ms;

static uint64_t test_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}

static struct tpm *up_with_clock(void)
{
    struct tpm_host host = {test_now, NULL};
    struct tb c;
    struct rsp r;
    struct tpm *t = tpm_new(NULL, &host);
    assert_non_null(t);
    tpm_init(t);
    tb_start(&c, ST_NO, TPM_CC_Startup);
    tb_u16(&c, TPM_SU_CLEAR);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    return t;
}

/* ---- TPMS_ATTEST, read field by field ---- */

struct attest {
    uint32_t magic;
    uint16_t type;
    uint8_t signer[70], extra[70];
    uint16_t signer_len, extra_len;
    uint64_t clock;
    uint32_t reset, restart;
    uint8_t safe;
    uint64_t fw;
    struct rsp body; /* the TPMU_ATTEST member, cursor at its start */
    uint8_t raw[1024];
    uint16_t raw_len;
};

/* Parse TPM2B_ATTEST at r's cursor; checks that the size covers exactly the structure is left
 * to each test (it knows the member's length). */
static void parse_attest(struct rsp *r, struct attest *a)
{
    a->raw_len = rs_2b(r, a->raw, sizeof(a->raw));
    memcpy(a->body.b, a->raw, a->raw_len);
    a->body.n = a->raw_len;
    a->body.off = 0;
    struct rsp *b = &a->body;
    a->magic = rs_u32(b);
    a->type = rs_u16(b);
    a->signer_len = rs_2b(b, a->signer, sizeof(a->signer));
    a->extra_len = rs_2b(b, a->extra, sizeof(a->extra));
    a->clock = rs_u64(b);
    a->reset = rs_u32(b);
    a->restart = rs_u32(b);
    a->safe = rs_u8(b);
    a->fw = rs_u64(b);
}

struct clockinfo {
    uint64_t time, clock;
    uint32_t reset, restart;
    uint8_t safe;
};

static void read_clock(struct tpm *t, struct clockinfo *ci)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_ReadClock);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    ci->time = rs_u64(&r);
    ci->clock = rs_u64(&r);
    ci->reset = rs_u32(&r);
    ci->restart = rs_u32(&r);
    ci->safe = rs_u8(&r);
}

/* Quote with the key's own scheme over one selection of a bank. */
static uint32_t quote(struct tpm *t, uint32_t h, const uint8_t *nonce, uint16_t nl,
                      uint16_t bank, uint32_t pcr_mask, struct attest *a, struct tk_sig *sig)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_Quote);
    tb_u32(&c, h);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, nonce, nl);
    tb_u16(&c, TPM_ALG_NULL);
    tb_u32(&c, 1);
    tb_u16(&c, bank);
    tb_u8(&c, 3);
    tb_u8(&c, (uint8_t)pcr_mask);
    tb_u8(&c, (uint8_t)(pcr_mask >> 8));
    tb_u8(&c, (uint8_t)(pcr_mask >> 16));
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        parse_attest(&r, a);
        tk_parse_sig(&r, sig);
        assert_int_equal(r.off, r.n - 5); /* then the password session's response */
    }
    return rc;
}

static void pcr_extend(struct tpm *t, uint32_t pcr, uint8_t fill)
{
    struct tb c;
    struct rsp r;
    uint8_t d[32];
    memset(d, fill, sizeof(d));
    tb_start(&c, ST_S, TPM_CC_PCR_Extend);
    tb_u32(&c, pcr);
    tb_pws(&c, pw_empty, 1);
    tb_u32(&c, 1);
    tb_u16(&c, TPM_ALG_SHA256);
    tb_bytes(&c, d, 32);
    assert_int_equal(tt_exec(t, &c, &r), 0);
}

/* H(PCR[i] for i in mask, ascending) of the SHA-256 bank, read back with PCR_Read. */
static void pcr_digest(struct tpm *t, uint32_t mask, uint8_t *out)
{
    uint8_t all[24 * 32];
    size_t n = 0;
    for (unsigned i = 0; i < 24; i++) {
        if (!((mask >> i) & 1)) {
            continue;
        }
        struct tb c;
        struct rsp r;
        tb_start(&c, ST_NO, TPM_CC_PCR_Read);
        tb_u32(&c, 1);
        tb_u16(&c, TPM_ALG_SHA256);
        tb_u8(&c, 3);
        tb_u8(&c, (uint8_t)(i < 8 ? 1u << i : 0));
        tb_u8(&c, (uint8_t)(i >= 8 && i < 16 ? 1u << (i - 8) : 0));
        tb_u8(&c, (uint8_t)(i >= 16 ? 1u << (i - 16) : 0));
        assert_int_equal(tt_exec(t, &c, &r), 0);
        (void)rs_u32(&r);     /* pcrUpdateCounter */
        r.off += 4 + 2 + 1 + 3; /* the selection echoed */
        assert_int_equal(rs_u32(&r), 1);
        assert_int_equal(rs_2b(&r, all + n, 32), 32);
        n += 32;
    }
    uint16_t l;
    ossl_digest(TPM_ALG_SHA256, all, n, out, &l);
}

static void test_quote_layout(void **state)
{
    (void)state;
    struct tpm *t = up_with_clock();
    struct kdesc ak = kd_ecc(TPM_ECC_NIST_P256, A_KEY | A_RESTRICTED | A_SIGN, TPM_ALG_ECDSA,
                             TPM_ALG_SHA256);
    uint32_t h;
    struct tk_pub p;
    struct attest a;
    struct tk_sig sig;
    struct clockinfo before, after;
    static const uint8_t nonce[] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
    uint8_t want[32], d[32];
    uint16_t dl;
    now_ms = 5000;
    /* an endorsement key: clock information is plain */
    assert_int_equal(tk_primary(t, TPM_RH_ENDORSEMENT, &ak, &h), 0);
    assert_int_equal(tk_read_public(t, h, &p), 0);
    pcr_extend(t, 1, 0x11);
    pcr_extend(t, 7, 0x77);
    pcr_extend(t, 16, 0x16);
    read_clock(t, &before);
    now_ms += 1234;
    const uint32_t mask = 0x0100FF; /* PCRs 0-7 and 16 */
    assert_int_equal(quote(t, h, nonce, sizeof(nonce), TPM_ALG_SHA256, mask, &a, &sig), 0);
    now_ms += 10;
    read_clock(t, &after);

    assert_int_equal(a.magic, TPM_GENERATED_VALUE);
    assert_int_equal(a.type, TPM_ST_ATTEST_QUOTE);
    assert_int_equal(a.signer_len, p.qname_len);
    assert_memory_equal(a.signer, p.qname, p.qname_len);
    assert_int_equal(a.extra_len, sizeof(nonce));
    assert_memory_equal(a.extra, nonce, sizeof(nonce));
    assert_true(a.clock >= before.clock + 1234 && a.clock <= after.clock);
    assert_int_equal(a.reset, before.reset);
    assert_int_equal(a.restart, before.restart);
    assert_int_equal(a.safe, 1);
    assert_int_equal(a.fw, FW_DEFAULT);
    /* TPMS_QUOTE_INFO: the selection as asked, then the digest of those PCRs */
    struct rsp *b = &a.body;
    assert_int_equal(rs_u32(b), 1);
    assert_int_equal(rs_u16(b), TPM_ALG_SHA256);
    assert_int_equal(rs_u8(b), 3);
    assert_int_equal(rs_u8(b), 0xFF);
    assert_int_equal(rs_u8(b), 0x00);
    assert_int_equal(rs_u8(b), 0x01);
    uint8_t got[32];
    assert_int_equal(rs_2b(b, got, 32), 32);
    pcr_digest(t, mask, want);
    assert_memory_equal(got, want, 32);
    assert_int_equal(b->off, a.raw_len); /* nothing after the member */

    /* the signature covers H(TPMS_ATTEST), checked with OpenSSL from the public key */
    assert_int_equal(sig.alg, TPM_ALG_ECDSA);
    ossl_digest(TPM_ALG_SHA256, a.raw, a.raw_len, d, &dl);
    EVP_PKEY *pub = ossl_ec_pub(TPM_ECC_NIST_P256, p.u1, p.u2, 32);
    assert_true(ossl_verify(pub, &sig, d, dl));
    EVP_PKEY_free(pub);

    /* an extended PCR changes the digest */
    pcr_extend(t, 3, 0x33);
    struct attest a2;
    assert_int_equal(quote(t, h, nonce, sizeof(nonce), TPM_ALG_SHA256, mask, &a2, &sig), 0);
    assert_memory_not_equal(a2.raw + a2.raw_len - 32, got, 32);
    pcr_digest(t, mask, want);
    assert_memory_equal(a2.raw + a2.raw_len - 32, want, 32);

    /* refusals: a storage key cannot sign, a scheme the key does not have, no key at all */
    struct kdesc sd = kd_storage();
    uint32_t sh;
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &sd, &sh), 0);
    assert_int_equal(quote(t, sh, nonce, 4, TPM_ALG_SHA256, mask, &a2, &sig),
                     RCH(TPM_RC_KEY, 1));
    {
        struct tb c;
        struct rsp r;
        tb_start(&c, ST_S, TPM_CC_Quote);
        tb_u32(&c, h);
        tb_pws(&c, pw_empty, 1);
        tb_2b(&c, nonce, 4);
        tk_scheme(&c, TPM_ALG_ECDSA, TPM_ALG_SHA384, 0);
        tb_u32(&c, 0);
        assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_SCHEME, 2));
        /* the NULL handle: no hash to digest the PCRs with */
        tb_start(&c, ST_S, TPM_CC_Quote);
        tb_u32(&c, TPM_RH_NULL);
        tb_pws(&c, pw_empty, 1);
        tb_2b(&c, nonce, 4);
        tk_scheme(&c, TPM_ALG_ECDSA, TPM_ALG_SHA256, 0);
        tb_u32(&c, 0);
        assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_SCHEME, 2));
        /* qualifyingData larger than TPM2B_DATA */
        uint8_t big[67] = {0};
        tb_start(&c, ST_S, TPM_CC_Quote);
        tb_u32(&c, h);
        tb_pws(&c, pw_empty, 1);
        tb_2b(&c, big, sizeof(big));
        tb_u16(&c, TPM_ALG_NULL);
        tb_u32(&c, 0);
        assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_SIZE, 1));
        /* a bank that is not implemented */
        tb_start(&c, ST_S, TPM_CC_Quote);
        tb_u32(&c, h);
        tb_pws(&c, pw_empty, 1);
        tb_2b(&c, nonce, 4);
        tb_u16(&c, TPM_ALG_NULL);
        tb_u32(&c, 1);
        tb_u16(&c, 0x0012); /* SM3 */
        tb_u8(&c, 3);
        tb_u8(&c, 1);
        tb_u8(&c, 0);
        tb_u8(&c, 0);
        assert_int_equal(tt_exec(t, &c, &r) & 0xBF, TPM_RC_HASH & 0xBF);
    }
    tpm_free(t);
}

/* Privacy: plain for endorsement keys, per-key constant offsets for the others. */
static void test_obfuscation(void **state)
{
    (void)state;
    struct tpm *t = up_with_clock();
    struct ossl_ec k1, k2;
    uint32_t h1, h2, he;
    struct attest a, b, e;
    struct tk_sig sig;
    struct clockinfo ci;
    static const uint8_t n[] = {1};
    ossl_ec_new(&k1, TPM_ECC_NIST_P256);
    ossl_ec_new(&k2, TPM_ECC_NIST_P256);
    struct kdesc kd = kd_ecc(TPM_ECC_NIST_P256, A_EXT | A_SIGN, TPM_ALG_ECDSA, TPM_ALG_SHA256);
    struct kdesc ek = kd_ecc(TPM_ECC_NIST_P256, A_KEY | A_RESTRICTED | A_SIGN, TPM_ALG_ECDSA,
                             TPM_ALG_SHA256);
    assert_int_equal(
        tk_external(t, TPM_RH_NULL, &kd, k1.d, 32, k1.x, 32, k1.y, 32, &h1), 0);
    assert_int_equal(
        tk_external(t, TPM_RH_NULL, &kd, k2.d, 32, k2.x, 32, k2.y, 32, &h2), 0);
    assert_int_equal(tk_primary(t, TPM_RH_ENDORSEMENT, &ek, &he), 0);
    read_clock(t, &ci);
    assert_int_equal(quote(t, h1, n, 1, TPM_ALG_SHA256, 1, &a, &sig), 0);
    assert_int_equal(quote(t, h2, n, 1, TPM_ALG_SHA256, 1, &b, &sig), 0);
    assert_int_equal(quote(t, he, n, 1, TPM_ALG_SHA256, 1, &e, &sig), 0);
    assert_int_equal(e.reset, ci.reset);
    assert_int_equal(e.restart, ci.restart);
    assert_int_equal(e.fw, FW_DEFAULT);
    /* other keys see offsets (2^-32 chance each that an offset is zero) */
    assert_true(a.reset != ci.reset || a.restart != ci.restart);
    assert_true(a.fw != FW_DEFAULT);
    assert_true(a.reset != b.reset || a.restart != b.restart || a.fw != b.fw);
    /* Clock itself is never hidden */
    assert_true(a.clock >= ci.clock && e.clock >= a.clock);
    /* the same key sees the same offsets */
    struct attest a2;
    assert_int_equal(quote(t, h1, n, 1, TPM_ALG_SHA256, 1, &a2, &sig), 0);
    assert_int_equal(a2.reset, a.reset);
    assert_int_equal(a2.restart, a.restart);
    assert_int_equal(a2.fw, a.fw);

    /* A TPM Restart moves restartCount by one, seen through the same offset. */
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_NO, TPM_CC_Shutdown);
    tb_u16(&c, TPM_SU_STATE);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    tpm_init(t);
    tb_start(&c, ST_NO, TPM_CC_Startup);
    tb_u16(&c, TPM_SU_CLEAR);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    read_clock(t, &ci);
    assert_int_equal(
        tk_external(t, TPM_RH_NULL, &kd, k1.d, 32, k1.x, 32, k1.y, 32, &h1), 0);
    assert_int_equal(quote(t, h1, n, 1, TPM_ALG_SHA256, 1, &a2, &sig), 0);
    assert_int_equal(a2.reset, a.reset);
    assert_int_equal((uint32_t)(a2.restart - a.restart), 1);
    assert_int_equal(a2.fw, a.fw);
    /* A TPM Reset moves resetCount by one and restartCount back to 0. */
    tb_start(&c, ST_NO, TPM_CC_Shutdown);
    tb_u16(&c, TPM_SU_CLEAR);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    tpm_init(t);
    tb_start(&c, ST_NO, TPM_CC_Startup);
    tb_u16(&c, TPM_SU_CLEAR);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_int_equal(
        tk_external(t, TPM_RH_NULL, &kd, k1.d, 32, k1.x, 32, k1.y, 32, &h1), 0);
    struct attest a3;
    assert_int_equal(quote(t, h1, n, 1, TPM_ALG_SHA256, 1, &a3, &sig), 0);
    assert_int_equal((uint32_t)(a3.reset - a.reset), 1);
    assert_int_equal(a3.restart, a.restart); /* 0 again, through the same offset */
    EVP_PKEY_free(k1.pkey);
    EVP_PKEY_free(k2.pkey);
    tpm_free(t);
}

/* ---- Certify, CertifyCreation, GetTime ---- */

static uint32_t certify(struct tpm *t, uint32_t obj, uint32_t signer, const uint8_t *q,
                        uint16_t ql, struct attest *a, struct tk_sig *sig)
{
    struct tb c;
    struct rsp r;
    tb_start(&c, ST_S, TPM_CC_Certify);
    tb_u32(&c, obj);
    tb_u32(&c, signer);
    static const char *const two[] = {"", ""};
    tb_pws(&c, two, 2);
    tb_2b(&c, q, ql);
    tb_u16(&c, TPM_ALG_NULL);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        parse_attest(&r, a);
        tk_parse_sig(&r, sig);
    }
    return rc;
}

static void test_certify(void **state)
{
    (void)state;
    struct tpm *t = up_with_clock();
    struct kdesc sd = kd_storage();
    struct kdesc ak = kd_rsa(2048, A_KEY | A_RESTRICTED | A_SIGN, TPM_ALG_RSASSA, TPM_ALG_SHA256);
    struct kdesc cd = kd_ecc(TPM_ECC_NIST_P256, A_KEY | A_SIGN, TPM_ALG_NULL, 0);
    uint32_t parent, signer, obj;
    struct tk_pub sp, op;
    struct attest a;
    struct tk_sig sig;
    uint8_t d[32];
    uint16_t dl;
    static const uint8_t q[] = "certify me";
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &sd, &parent), 0);
    assert_int_equal(tk_create_load(t, parent, &ak, NULL, 0, &signer, NULL), 0);
    assert_int_equal(tk_create_load(t, parent, &cd, NULL, 0, &obj, NULL), 0);
    assert_int_equal(tk_read_public(t, signer, &sp), 0);
    assert_int_equal(tk_read_public(t, obj, &op), 0);
    assert_int_equal(certify(t, obj, signer, q, sizeof(q), &a, &sig), 0);
    assert_int_equal(a.magic, TPM_GENERATED_VALUE);
    assert_int_equal(a.type, TPM_ST_ATTEST_CERTIFY);
    assert_memory_equal(a.signer, sp.qname, sp.qname_len);
    assert_memory_equal(a.extra, q, sizeof(q));
    uint8_t nm[70];
    assert_int_equal(rs_2b(&a.body, nm, sizeof(nm)), op.name_len);
    assert_memory_equal(nm, op.name, op.name_len);
    assert_int_equal(rs_2b(&a.body, nm, sizeof(nm)), op.qname_len);
    assert_memory_equal(nm, op.qname, op.qname_len);
    assert_int_equal(a.body.off, a.raw_len);
    ossl_digest(TPM_ALG_SHA256, a.raw, a.raw_len, d, &dl);
    EVP_PKEY *pub = ossl_rsa_pub(sp.u1, sp.n1);
    assert_int_equal(sig.alg, TPM_ALG_RSASSA);
    assert_true(ossl_verify(pub, &sig, d, dl));
    EVP_PKEY_free(pub);
    /* a key certifies itself */
    assert_int_equal(certify(t, signer, signer, q, 0, &a, &sig), 0);
    /* the NULL signer: the structure, no signature; the signer's Name is the handle */
    assert_int_equal(certify(t, obj, TPM_RH_NULL, q, 0, &a, &sig), 0);
    assert_int_equal(sig.alg, TPM_ALG_NULL);
    assert_int_equal(a.signer_len, 4);
    assert_int_equal(a.signer[0] << 24 | a.signer[1] << 16 | a.signer[2] << 8 | a.signer[3],
                     TPM_RH_NULL);
    /* a signer that cannot sign */
    assert_int_equal(certify(t, obj, parent, q, 0, &a, &sig), RCH(TPM_RC_KEY, 2));
    tpm_free(t);
}

static void test_certify_creation(void **state)
{
    (void)state;
    struct tpm *t = up_with_clock();
    struct kdesc sd = kd_storage();
    struct kdesc ak = kd_ecc(TPM_ECC_NIST_P256, A_KEY | A_RESTRICTED | A_SIGN, TPM_ALG_ECSCHNORR,
                             TPM_ALG_SHA256);
    struct kdesc cd = kd_ecc(TPM_ECC_NIST_P256, A_KEY | A_SIGN, TPM_ALG_NULL, 0);
    uint32_t parent, signer, obj, obj2;
    struct tk_creation cr, cr2;
    struct tk_pub op;
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &sd, &parent), 0);
    assert_int_equal(tk_primary(t, TPM_RH_OWNER, &ak, &signer), 0);
    assert_int_equal(tk_create_load(t, parent, &cd, NULL, 0, &obj, &cr), 0);
    assert_int_equal(tk_create_load(t, parent, &cd, NULL, 0, &obj2, &cr2), 0);
    assert_int_equal(tk_read_public(t, obj, &op), 0);

    struct tb c;
    struct rsp r;
#define CERTIFY_CREATION(obj_, hash_, hl_, tk_, tkl_)                                          \
    do {                                                                                     \
        tb_start(&c, ST_S, TPM_CC_CertifyCreation);                                          \
        tb_u32(&c, signer);                                                                  \
        tb_u32(&c, obj_);                                                                    \
        tb_pws(&c, pw_empty, 1);                                                     \
        tb_u16(&c, 0);                                                                       \
        tb_2b(&c, hash_, hl_);                                                               \
        tb_u16(&c, TPM_ALG_NULL);                                                            \
        tb_bytes(&c, tk_, tkl_);                                                             \
    } while (0)
    CERTIFY_CREATION(obj, cr.hash, cr.hash_len, cr.ticket, cr.ticket_len);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    struct attest a;
    struct tk_sig sig;
    (void)rs_u32(&r);
    parse_attest(&r, &a);
    tk_parse_sig(&r, &sig);
    assert_int_equal(a.type, TPM_ST_ATTEST_CREATION);
    uint8_t nm[70];
    assert_int_equal(rs_2b(&a.body, nm, sizeof(nm)), op.name_len);
    assert_memory_equal(nm, op.name, op.name_len);
    assert_int_equal(rs_2b(&a.body, nm, sizeof(nm)), cr.hash_len);
    assert_memory_equal(nm, cr.hash, cr.hash_len);
    assert_int_equal(sig.alg, TPM_ALG_ECSCHNORR);
    /* another object's ticket, an altered ticket, another hash, another hierarchy */
    CERTIFY_CREATION(obj, cr2.hash, cr2.hash_len, cr2.ticket, cr2.ticket_len);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_TICKET, 4));
    cr2 = cr;
    cr2.ticket[cr2.ticket_len - 1] ^= 1;
    CERTIFY_CREATION(obj, cr2.hash, cr2.hash_len, cr2.ticket, cr2.ticket_len);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_TICKET, 4));
    cr2 = cr;
    cr2.hash[0] ^= 1;
    CERTIFY_CREATION(obj, cr2.hash, cr2.hash_len, cr2.ticket, cr2.ticket_len);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_TICKET, 4));
    cr2 = cr;
    cr2.ticket[5] = 0x0B; /* TPM_RH_ENDORSEMENT */
    CERTIFY_CREATION(obj, cr2.hash, cr2.hash_len, cr2.ticket, cr2.ticket_len);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_TICKET, 4));
    /* a ticket of the wrong kind */
    cr2 = cr;
    cr2.ticket[1] = 0x24; /* TPM_ST_HASHCHECK */
    CERTIFY_CREATION(obj, cr2.hash, cr2.hash_len, cr2.ticket, cr2.ticket_len);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_TAG, 4));
#undef CERTIFY_CREATION
    tpm_free(t);
}

static void test_gettime(void **state)
{
    (void)state;
    struct tpm *t = up_with_clock();
    struct ossl_ec k;
    uint32_t h;
    struct clockinfo ci;
    ossl_ec_new(&k, TPM_ECC_NIST_P256);
    struct kdesc kd = kd_ecc(TPM_ECC_NIST_P256, A_EXT | A_SIGN, TPM_ALG_ECDSA, TPM_ALG_SHA256);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &kd, k.d, 32, k.x, 32, k.y, 32, &h), 0);
    now_ms += 777;
    read_clock(t, &ci);
    struct tb c;
    struct rsp r;
    static const char *const two[] = {"", ""};
    tb_start(&c, ST_S, TPM_CC_GetTime);
    tb_u32(&c, TPM_RH_ENDORSEMENT);
    tb_u32(&c, h);
    tb_pws(&c, two, 2);
    tb_2b(&c, "nonce", 5);
    tb_u16(&c, TPM_ALG_NULL);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    struct attest a;
    struct tk_sig sig;
    (void)rs_u32(&r);
    parse_attest(&r, &a);
    tk_parse_sig(&r, &sig);
    assert_int_equal(a.type, TPM_ST_ATTEST_TIME);
    /* TPMS_TIME_ATTEST_INFO: the time plain, though the head is obfuscated for this key */
    struct rsp *b = &a.body;
    assert_int_equal(rs_u64(b), ci.time);
    assert_int_equal(rs_u64(b), ci.clock);
    assert_int_equal(rs_u32(b), ci.reset);
    assert_int_equal(rs_u32(b), ci.restart);
    assert_int_equal(rs_u8(b), ci.safe);
    assert_int_equal(rs_u64(b), FW_DEFAULT);
    assert_int_equal(b->off, a.raw_len);
    assert_true(a.fw != FW_DEFAULT);
    assert_int_equal(a.clock, ci.clock);
    uint8_t d[32];
    uint16_t dl;
    ossl_digest(TPM_ALG_SHA256, a.raw, a.raw_len, d, &dl);
    assert_true(ossl_verify(k.pkey, &sig, d, dl));
    /* the privacy administrator's authorization is required */
    static const char *const bad[] = {"wrong", ""};
    tb_start(&c, ST_S, TPM_CC_GetTime);
    tb_u32(&c, TPM_RH_ENDORSEMENT);
    tb_u32(&c, h);
    tb_pws(&c, bad, 2);
    tb_2b(&c, "nonce", 5);
    tb_u16(&c, TPM_ALG_NULL);
    assert_int_equal(tt_exec(t, &c, &r), TPM_RC_BAD_AUTH | 0x900); /* session 1 */
    EVP_PKEY_free(k.pkey);
    tpm_free(t);
}

/* ---- audit digests ---- */

static void be32put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* digest = H(digest || cpHash || rpHash) */
static void audit_extend(uint8_t *digest, const uint8_t *cp, const uint8_t *rp)
{
    uint8_t buf[96];
    uint16_t l;
    memcpy(buf, digest, 32);
    memcpy(buf + 32, cp, 32);
    memcpy(buf + 64, rp, 32);
    ossl_digest(TPM_ALG_SHA256, buf, 96, digest, &l);
}

/* cpHash = H(commandCode || names || parameters); rpHash = H(0 || commandCode || rparams) */
static void cp_hash(uint32_t cc, const uint8_t *names, size_t nl, const uint8_t *params,
                    size_t pl, uint8_t *out)
{
    uint8_t buf[512];
    uint16_t l;
    be32put(buf, cc);
    if (nl) {
        memcpy(buf + 4, names, nl);
    }
    if (pl) {
        memcpy(buf + 4 + nl, params, pl);
    }
    ossl_digest(TPM_ALG_SHA256, buf, 4 + nl + pl, out, &l);
}

static void rp_hash(uint32_t cc, const uint8_t *rparams, size_t rl, uint8_t *out)
{
    uint8_t buf[512];
    uint16_t l;
    be32put(buf, 0);
    be32put(buf + 4, cc);
    if (rl) {
        memcpy(buf + 8, rparams, rl);
    }
    ossl_digest(TPM_ALG_SHA256, buf, 8 + rl, out, &l);
}

static uint32_t get_command_audit(struct tpm *t, uint32_t signer, struct attest *a,
                                  struct tk_sig *sig)
{
    struct tb c;
    struct rsp r;
    static const char *const two[] = {"", ""};
    tb_start(&c, ST_S, TPM_CC_GetCommandAuditDigest);
    tb_u32(&c, TPM_RH_ENDORSEMENT);
    tb_u32(&c, signer);
    tb_pws(&c, two, 2);
    tb_u16(&c, 0);
    tb_u16(&c, TPM_ALG_NULL);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        parse_attest(&r, a);
        tk_parse_sig(&r, sig);
    }
    return rc;
}

static void test_command_audit_digest(void **state)
{
    (void)state;
    struct tpm *t = up_with_clock();
    struct ossl_ec k;
    uint32_t h;
    struct tb c;
    struct rsp r;
    uint8_t digest[32] = {0}, cp[32], rp[32];
    ossl_ec_new(&k, TPM_ECC_NIST_P256);
    struct kdesc kd = kd_ecc(TPM_ECC_NIST_P256, A_EXT | A_SIGN, TPM_ALG_ECDSA, TPM_ALG_SHA256);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &kd, k.d, 32, k.x, 32, k.y, 32, &h), 0);

    /* SetCommandCodeAuditStatus(owner, SHA-256 kept: NULL, set {GetRandom}, clear {}) is
     * itself always audited: it opens the run. */
    uint8_t params[2 + 4 + 4 + 4];
    size_t pl = 0;
    params[pl++] = 0x00;
    params[pl++] = 0x10; /* TPM_ALG_NULL: keep the hash */
    be32put(params + pl, 1);
    pl += 4;
    be32put(params + pl, TPM_CC_GetRandom);
    pl += 4;
    be32put(params + pl, 0);
    pl += 4;
    tb_start(&c, ST_S, TPM_CC_SetCommandCodeAuditStatus);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tb_bytes(&c, params, pl);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    uint8_t owner_name[4];
    be32put(owner_name, TPM_RH_OWNER);
    cp_hash(TPM_CC_SetCommandCodeAuditStatus, owner_name, 4, params, pl, cp);
    rp_hash(TPM_CC_SetCommandCodeAuditStatus, NULL, 0, rp);
    audit_extend(digest, cp, rp);

    for (int i = 0; i < 2; i++) {
        uint8_t p2[2] = {0, 8};
        tb_start(&c, ST_NO, TPM_CC_GetRandom);
        tb_bytes(&c, p2, 2);
        assert_int_equal(tt_exec(t, &c, &r), 0);
        cp_hash(TPM_CC_GetRandom, NULL, 0, p2, 2, cp);
        rp_hash(TPM_CC_GetRandom, r.b + 10, r.n - 10, rp);
        audit_extend(digest, cp, rp);
        /* a command that is not audited leaves the digest alone */
        tb_start(&c, ST_NO, TPM_CC_ReadClock);
        assert_int_equal(tt_exec(t, &c, &r), 0);
    }

    struct attest a;
    struct tk_sig sig;
    assert_int_equal(get_command_audit(t, h, &a, &sig), 0);
    assert_int_equal(a.type, TPM_ST_ATTEST_COMMAND_AUDIT);
    struct rsp *b = &a.body;
    uint64_t counter = rs_u64(b);
    assert_true(counter >= 1);
    assert_int_equal(rs_u16(b), TPM_ALG_SHA256);
    uint8_t got[32];
    assert_int_equal(rs_2b(b, got, 32), 32);
    assert_memory_equal(got, digest, 32);
    /* commandDigest = H(GetRandom? no: ascending: SetCommandCodeAuditStatus, GetRandom) */
    uint8_t list[8], want[32];
    uint16_t l;
    be32put(list, TPM_CC_SetCommandCodeAuditStatus);
    be32put(list + 4, TPM_CC_GetRandom);
    ossl_digest(TPM_ALG_SHA256, list, 8, want, &l);
    assert_int_equal(rs_2b(b, got, 32), 32);
    assert_memory_equal(got, want, 32);
    assert_int_equal(b->off, a.raw_len);
    uint8_t d[32];
    ossl_digest(TPM_ALG_SHA256, a.raw, a.raw_len, d, &l);
    assert_true(ossl_verify(k.pkey, &sig, d, l));

    /* a signed report closed the run: the next audited command opens another */
    uint8_t p2[2] = {0, 4};
    tb_start(&c, ST_NO, TPM_CC_GetRandom);
    tb_bytes(&c, p2, 2);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    memset(digest, 0, 32);
    cp_hash(TPM_CC_GetRandom, NULL, 0, p2, 2, cp);
    rp_hash(TPM_CC_GetRandom, r.b + 10, r.n - 10, rp);
    audit_extend(digest, cp, rp);
    /* ... reported unsigned by the NULL signer, which does not close it */
    assert_int_equal(get_command_audit(t, TPM_RH_NULL, &a, &sig), 0);
    assert_int_equal(sig.alg, TPM_ALG_NULL);
    assert_int_equal(rs_u64(&a.body), counter + 1);
    (void)rs_u16(&a.body);
    assert_int_equal(rs_2b(&a.body, got, 32), 32);
    assert_memory_equal(got, digest, 32);
    assert_int_equal(get_command_audit(t, TPM_RH_NULL, &a, &sig), 0);
    assert_int_equal(rs_u64(&a.body), counter + 1);
    EVP_PKEY_free(k.pkey);
    tpm_free(t);
}

/* An HMAC session used only for audit: unbound and unsalted, so its key is empty. */
struct audit_session {
    uint32_t h;
    uint8_t nonce_tpm[32];
};

static void audit_get_random(struct tpm *t, struct audit_session *s, uint8_t attrs,
                             uint8_t *digest)
{
    struct tb c;
    struct rsp r;
    uint8_t caller[32], cp[32], rp[32], mac[32], buf[128];
    unsigned int ml = 32;
    uint8_t p2[2] = {0, 16};
    memset(caller, 0x5A, sizeof(caller));
    cp_hash(TPM_CC_GetRandom, NULL, 0, p2, 2, cp);
    memcpy(buf, cp, 32);
    memcpy(buf + 32, caller, 32);
    memcpy(buf + 64, s->nonce_tpm, 32);
    buf[96] = attrs;
    HMAC(EVP_sha256(), "", 0, buf, 97, mac, &ml);
    tb_start(&c, ST_S, TPM_CC_GetRandom);
    size_t m = c.n;
    tb_u32(&c, 0);
    tb_u32(&c, s->h);
    tb_2b(&c, caller, 32);
    tb_u8(&c, attrs);
    tb_2b(&c, mac, 32);
    be32put(c.b + m, (uint32_t)(c.n - m - 4));
    tb_bytes(&c, p2, 2);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    uint32_t psize = rs_u32(&r);
    rp_hash(TPM_CC_GetRandom, r.b + 14, psize, rp);
    r.off += psize;
    assert_int_equal(rs_2b(&r, s->nonce_tpm, 32), 32);
    if (digest) {
        audit_extend(digest, cp, rp);
    }
}

static uint32_t get_session_audit(struct tpm *t, uint32_t signer, uint32_t session,
                                  struct attest *a, struct tk_sig *sig)
{
    struct tb c;
    struct rsp r;
    static const char *const two[] = {"", ""};
    tb_start(&c, ST_S, TPM_CC_GetSessionAuditDigest);
    tb_u32(&c, TPM_RH_ENDORSEMENT);
    tb_u32(&c, signer);
    tb_u32(&c, session);
    tb_pws(&c, two, 2);
    tb_u16(&c, 0);
    tb_u16(&c, TPM_ALG_NULL);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        parse_attest(&r, a);
        tk_parse_sig(&r, sig);
    }
    return rc;
}

static void test_session_audit_digest(void **state)
{
    (void)state;
    struct tpm *t = up_with_clock();
    struct ossl_ec k;
    uint32_t h;
    struct tb c;
    struct rsp r;
    struct audit_session s;
    uint8_t digest[32] = {0}, caller[32] = {1};
    ossl_ec_new(&k, TPM_ECC_NIST_P256);
    struct kdesc kd = kd_ecc(TPM_ECC_NIST_P256, A_EXT | A_SIGN, TPM_ALG_ECDSA, TPM_ALG_SHA256);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &kd, k.d, 32, k.x, 32, k.y, 32, &h), 0);
    tb_start(&c, ST_NO, TPM_CC_StartAuthSession);
    tb_u32(&c, TPM_RH_NULL);
    tb_u32(&c, TPM_RH_NULL);
    tb_2b(&c, caller, 32);
    tb_u16(&c, 0);
    tb_u8(&c, 0x00); /* TPM_SE_HMAC */
    tb_u16(&c, TPM_ALG_NULL);
    tb_u16(&c, TPM_ALG_SHA256);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    s.h = rs_u32(&r);
    assert_int_equal(rs_2b(&r, s.nonce_tpm, 32), 32);

    /* not yet an audit session */
    struct attest a;
    struct tk_sig sig;
    assert_int_equal(get_session_audit(t, h, s.h, &a, &sig), RCH(TPM_RC_TYPE, 3));
    /* two audited commands: the digest starts from zeros */
    audit_get_random(t, &s, 0x81, digest); /* continueSession | audit */
    audit_get_random(t, &s, 0x81, digest);
    assert_int_equal(get_session_audit(t, h, s.h, &a, &sig), 0);
    assert_int_equal(a.type, TPM_ST_ATTEST_SESSION_AUDIT);
    assert_int_equal(rs_u8(&a.body), 1); /* exclusive: nothing else ran in between */
    uint8_t got[32];
    assert_int_equal(rs_2b(&a.body, got, 32), 32);
    assert_memory_equal(got, digest, 32);
    assert_int_equal(a.body.off, a.raw_len);
    uint8_t d[32];
    uint16_t l;
    ossl_digest(TPM_ALG_SHA256, a.raw, a.raw_len, d, &l);
    assert_true(ossl_verify(k.pkey, &sig, d, l));
    /* that report ran outside the session: no longer exclusive */
    assert_int_equal(get_session_audit(t, h, s.h, &a, &sig), 0);
    assert_int_equal(rs_u8(&a.body), 0);
    /* auditReset starts over from zeros, exclusive again */
    memset(digest, 0, 32);
    audit_get_random(t, &s, 0x81 | 0x04, digest); /* auditReset */
    assert_int_equal(get_session_audit(t, h, s.h, &a, &sig), 0);
    assert_int_equal(rs_u8(&a.body), 1);
    assert_int_equal(rs_2b(&a.body, got, 32), 32);
    assert_memory_equal(got, digest, 32);
    /* a password "session" handle is not an HMAC session */
    assert_int_equal(get_session_audit(t, h, 0x40000009, &a, &sig), RCH(TPM_RC_VALUE, 3));
    EVP_PKEY_free(k.pkey);
    tpm_free(t);
}

/* ---- the clock: advancing, NV copy, safe flag ---- */

static void save(struct tpm *t, struct tpm_buf *b)
{
    assert_int_equal(tpm_state_save(t, TPM_STATE_PERMANENT, b), 0);
}

static struct tpm *reload(const struct tpm_buf *b, uint16_t su)
{
    struct tpm_host host = {test_now, NULL};
    struct tpm *t = tpm_new(NULL, &host);
    struct tb c;
    struct rsp r;
    assert_int_equal(tpm_state_load(t, TPM_STATE_PERMANENT, b->data, b->len), 0);
    tpm_init(t);
    tb_start(&c, ST_NO, TPM_CC_Startup);
    tb_u16(&c, su);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    return t;
}

static void test_clock(void **state)
{
    (void)state;
    struct tpm_buf b = {0};
    struct clockinfo ci, ci2;
    struct tb c;
    struct rsp r;
    now_ms = 1000000;
    struct tpm *t = up_with_clock();
    save(t, &b);
    read_clock(t, &ci);
    assert_int_equal(ci.safe, 1);
    /* Clock and time follow the host clock */
    now_ms += 60000;
    read_clock(t, &ci2);
    assert_int_equal(ci2.clock - ci.clock, 60000);
    assert_int_equal(ci2.time - ci.time, 60000);
    /* within one NV interval nothing needs saving */
    assert_false(tpm_state_dirty(t));

    /* power lost: Clock comes back from NV, behind what was reported, and is not safe */
    tpm_free(t);
    t = reload(&b, TPM_SU_CLEAR);
    read_clock(t, &ci);
    assert_true(ci.clock < ci2.clock);
    assert_int_equal(ci.safe, 0);
    assert_int_equal(ci.time, 0);
    /* a save that is not a Clock update does not make it safe */
    save(t, &b);
    read_clock(t, &ci);
    assert_int_equal(ci.safe, 0);
    /* crossing into the next NV interval (2^22 ms) updates NV: safe again once saved */
    now_ms += 1u << 22;
    read_clock(t, &ci);
    assert_true(tpm_state_dirty(t));
    save(t, &b);
    read_clock(t, &ci);
    assert_int_equal(ci.safe, 1);
    uint64_t saved_clock = ci.clock;

    /* an orderly shutdown keeps it safe, and Clock continues from the saved value */
    now_ms += 5000;
    tb_start(&c, ST_NO, TPM_CC_Shutdown);
    tb_u16(&c, TPM_SU_CLEAR);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    save(t, &b);
    tpm_free(t);
    t = reload(&b, TPM_SU_CLEAR);
    read_clock(t, &ci);
    assert_int_equal(ci.safe, 1);
    assert_int_equal(ci.clock, saved_clock + 5000);

    /* ClockSet: forward only, not into the last 2^48 ms; the new value is kept */
    tb_start(&c, ST_S, TPM_CC_ClockSet);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tb_u32(&c, 0);
    tb_u32(&c, 10);
    assert_int_equal(tt_exec(t, &c, &r), RCP(TPM_RC_VALUE, 1));
    tb_start(&c, ST_S, TPM_CC_ClockSet);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tb_u32(&c, 0x00000100);
    tb_u32(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    assert_true(tpm_state_dirty(t));
    read_clock(t, &ci);
    assert_int_equal(ci.clock, 0x0000010000000000ull);
    /* ClockRateAdjust: coarse faster runs 10% fast */
    tb_start(&c, ST_S, TPM_CC_ClockRateAdjust);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tb_u8(&c, 3);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    now_ms += 10000;
    read_clock(t, &ci2);
    assert_int_equal(ci2.clock - ci.clock, 11000);
    tpm_buf_free(&b);
    tpm_free(t);
}

/* ---- NV_Certify (Part 3 §31.16) ---- */

#define NV_INDEX 0x01500020u
#define NVA_AUTHWRITE 0x00000004u
#define NVA_AUTHREAD 0x00040000u

static uint32_t nv_certify(struct tpm *t, uint32_t signer, uint32_t auth, uint16_t size,
                           uint16_t offset, struct attest *a, struct tk_sig *sig)
{
    struct tb c;
    struct rsp r;
    static const char *const two[] = {"", ""};
    tb_start(&c, ST_S, TPM_CC_NV_Certify);
    tb_u32(&c, signer);
    tb_u32(&c, auth);
    tb_u32(&c, NV_INDEX);
    tb_pws(&c, two, 2);
    tb_2b(&c, "q", 1);
    tb_u16(&c, TPM_ALG_NULL);
    tb_u16(&c, size);
    tb_u16(&c, offset);
    uint32_t rc = tt_exec(t, &c, &r);
    if (rc == 0) {
        (void)rs_u32(&r);
        parse_attest(&r, a);
        tk_parse_sig(&r, sig);
    }
    return rc;
}

static void test_nv_certify(void **state)
{
    (void)state;
    struct tpm *t = up_with_clock();
    struct ossl_ec k;
    uint32_t h;
    struct tb c;
    struct rsp r;
    uint8_t data[32], name[70], got[64], want[32], d[32];
    uint16_t name_len, l;
    struct attest a;
    struct tk_sig sig;
    for (int i = 0; i < 32; i++) {
        data[i] = (uint8_t)(i * 7 + 1);
    }
    ossl_ec_new(&k, TPM_ECC_NIST_P256);
    struct kdesc kd = kd_ecc(TPM_ECC_NIST_P256, A_EXT | A_SIGN, TPM_ALG_ECDSA, TPM_ALG_SHA256);
    assert_int_equal(tk_external(t, TPM_RH_NULL, &kd, k.d, 32, k.x, 32, k.y, 32, &h), 0);
    /* an ordinary index of 32 bytes, read and written with its own authValue */
    tb_start(&c, ST_S, TPM_CC_NV_DefineSpace);
    tb_u32(&c, TPM_RH_OWNER);
    tb_pws(&c, pw_empty, 1);
    tb_u16(&c, 0);
    size_t m = tb_size16_begin(&c);
    tb_u32(&c, NV_INDEX);
    tb_u16(&c, TPM_ALG_SHA256);
    tb_u32(&c, NVA_AUTHWRITE | NVA_AUTHREAD);
    tb_u16(&c, 0);
    tb_u16(&c, 32);
    tb_size16_end(&c, m);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    /* not written yet */
    assert_int_equal(nv_certify(t, h, NV_INDEX, 8, 0, &a, &sig), TPM_RC_NV_UNINITIALIZED);
    tb_start(&c, ST_S, TPM_CC_NV_Write);
    tb_u32(&c, NV_INDEX);
    tb_u32(&c, NV_INDEX);
    tb_pws(&c, pw_empty, 1);
    tb_2b(&c, data, 32);
    tb_u16(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    tb_start(&c, ST_NO, TPM_CC_NV_ReadPublic);
    tb_u32(&c, NV_INDEX);
    assert_int_equal(tt_exec(t, &c, &r), 0);
    (void)rs_2b(&r, NULL, 0);
    name_len = rs_2b(&r, name, sizeof(name));

    /* 16 bytes from offset 8: TPMS_NV_CERTIFY_INFO */
    assert_int_equal(nv_certify(t, h, NV_INDEX, 16, 8, &a, &sig), 0);
    assert_int_equal(a.magic, TPM_GENERATED_VALUE);
    assert_int_equal(a.type, TPM_ST_ATTEST_NV);
    assert_int_equal(rs_2b(&a.body, got, sizeof(got)), name_len);
    assert_memory_equal(got, name, name_len);
    assert_int_equal(rs_u16(&a.body), 8);
    assert_int_equal(rs_2b(&a.body, got, sizeof(got)), 16);
    assert_memory_equal(got, data + 8, 16);
    assert_int_equal(a.body.off, a.raw_len);
    ossl_digest(TPM_ALG_SHA256, a.raw, a.raw_len, d, &l);
    assert_true(ossl_verify(k.pkey, &sig, d, l));

    /* size = offset = 0: a digest of all of it (TPMS_NV_DIGEST_CERTIFY_INFO) */
    assert_int_equal(nv_certify(t, h, NV_INDEX, 0, 0, &a, &sig), 0);
    assert_int_equal(a.type, TPM_ST_ATTEST_NV_DIGEST);
    assert_int_equal(rs_2b(&a.body, got, sizeof(got)), name_len);
    assert_memory_equal(got, name, name_len);
    assert_int_equal(rs_2b(&a.body, got, sizeof(got)), 32);
    ossl_digest(TPM_ALG_SHA256, data, 32, want, &l);
    assert_memory_equal(got, want, 32);
    assert_int_equal(a.body.off, a.raw_len);

    /* past the end; the owner, who may not read this index; an unknown index */
    assert_int_equal(nv_certify(t, h, NV_INDEX, 16, 17, &a, &sig), TPM_RC_NV_RANGE);
    assert_int_equal(nv_certify(t, h, NV_INDEX, 33, 0, &a, &sig), TPM_RC_NV_RANGE);
    assert_int_equal(nv_certify(t, h, TPM_RH_OWNER, 4, 0, &a, &sig), TPM_RC_NV_AUTHORIZATION);
    tb_start(&c, ST_S, TPM_CC_NV_Certify);
    tb_u32(&c, h);
    tb_u32(&c, NV_INDEX + 1);
    tb_u32(&c, NV_INDEX + 1);
    static const char *const two[] = {"", ""};
    tb_pws(&c, two, 2);
    tb_u16(&c, 0);
    tb_u16(&c, TPM_ALG_NULL);
    tb_u16(&c, 0);
    tb_u16(&c, 0);
    assert_int_equal(tt_exec(t, &c, &r), RCH(TPM_RC_HANDLE, 2));
    /* no signer: the structure with a NULL signature and an empty digest */
    assert_int_equal(nv_certify(t, TPM_RH_NULL, NV_INDEX, 0, 0, &a, &sig), 0);
    assert_int_equal(sig.alg, TPM_ALG_NULL);
    (void)rs_2b(&a.body, NULL, 0);
    assert_int_equal(rs_2b(&a.body, got, sizeof(got)), 0);
    EVP_PKEY_free(k.pkey);
    tpm_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_layout),
        cmocka_unit_test(test_obfuscation),
        cmocka_unit_test(test_certify),
        cmocka_unit_test(test_certify_creation),
        cmocka_unit_test(test_gettime),
        cmocka_unit_test(test_command_audit_digest),
        cmocka_unit_test(test_session_audit_digest),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_nv_certify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

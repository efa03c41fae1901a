/*
 * esapi_seal: seal a secret to PCR 7 and unseal it through the tpm2-tss ESAPI (libtss2-esys),
 * the way systemd-cryptenroll --tpm2-device does, against any TPM reachable through a TCTI
 * (VTPM_TCTI, e.g. "swtpm:host=127.0.0.1,port=2321"; tests/integration/on_vtpmd.sh sets it).
 *
 * Steps (TPM 2.0 Part 3 section in brackets), each checked:
 *  1. Startup(CLEAR) [9.3], TPM_RC_INITIALIZE accepted (already started).
 *  2. CreatePrimary [24.1] in the owner hierarchy: the SRK, an ECC NIST P-256 restricted
 *     decryption key with AES-128-CFB, SHA-256.
 *  3. StartAuthSession [11.1]: an HMAC session salted by the SRK (ECDH) and bound to it,
 *     AES-128-CFB, SHA-256, attributes decrypt | encrypt | continueSession.
 *  4. PCR_Read [22.4] of PCR 7 (SHA-256); a trial session [11.1] with PolicyPCR [23.7] and
 *     PolicyGetDigest [23.19]. The digest is checked against one computed here, with OpenSSL,
 *     from the PCR value (Part 3 23.7: H(0...0 || TPM_CC_PolicyPCR || pcrs || H(PCR 7))).
 *  5. Create [12.1] a sealed data object (keyedhash, fixedTPM | fixedParent, no userWithAuth,
 *     authPolicy = that digest) holding 32 random bytes, under the SRK, authorized by the HMAC
 *     session, so inSensitive travels encrypted; Load [12.2] it the same way.
 *  6. A policy session salted by the SRK (AES-128-CFB), PolicyPCR(PCR 7), Unseal [12.7] with
 *     the policy session first and the HMAC session second carrying encrypt: the secret comes
 *     back encrypted and must equal the one sealed.
 *  7. PCR_Extend [22.2] PCR 7 with SHA-256("vtpm"); the new value must be
 *     SHA-256(old || SHA-256("vtpm")); PolicyPCR with the old PCR digest must be refused
 *     (TPM_RC_VALUE, parameter 1); a fresh policy session with PolicyPCR(7) and Unseal must be
 *     refused with TPM_RC_POLICY_FAIL for session 1 (0x99d).
 *  8. FlushContext [28.4] of everything; Finalize.
 *
 * What "encrypted both ways" rests on: the TCTI handed to ESAPI is a pass-through wrapper that
 * sees every command and response byte on the wire. The test checks that the 32 secret bytes
 * never appear in clear in the Create command (decrypt session) nor in the Unseal response
 * (encrypt session), and, as controls that the wire scan itself can fail, that they do appear
 * in clear in a Create authorized by a plain password session and in an Unseal without the
 * encrypt session. ESAPI also refuses a response whose encrypted parameter or HMAC does not
 * check, so a wrong session key or wrong CFB on the TPM's side fails the Unseal. Not verified
 * here: that the ciphertext is AES-128-CFB with the right key beyond ESAPI's own decryption
 * (ESAPI computes the keys itself), nor the salt's ECDH arithmetic beyond the session's HMACs
 * verifying on both sides.
 *
 * Exit 0 with a one-line summary when every check passed; 1 with a sentence on the first
 * failure.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#define SECRET_LEN 32
#define PCR_INDEX 7

/* Every byte ESAPI exchanges with the TPM passes through this TCTI; it looks for the secret. */
struct wire {
    TSS2_TCTI_CONTEXT_COMMON_V2 common; /* first: ESAPI casts the context to this */
    TSS2_TCTI_CONTEXT *inner;
    const uint8_t *needle;              /* the secret, or NULL before it exists */
    unsigned cmd_hits;                  /* commands / responses that held it in clear */
    unsigned rsp_hits;
};

struct run {
    struct wire wire;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    ESYS_TR srk;
    ESYS_TR hmac;
    ESYS_TR sealed;
    uint8_t secret[SECRET_LEN];
    TPM2B_DIGEST policy;
    TPM2B_DIGEST pcr7;
    unsigned checks;
};

static const TPMT_SYM_DEF sym_aes128cfb = {
    .algorithm = TPM2_ALG_AES,
    .keyBits = { .aes = 128 },
    .mode = { .aes = TPM2_ALG_CFB },
};

static const TPML_PCR_SELECTION pcr7_sel = {
    .count = 1,
    .pcrSelections = { {
        .hash = TPM2_ALG_SHA256,
        .sizeofSelect = 3,
        .pcrSelect = { 1u << (PCR_INDEX % 8), 0, 0 },
    } },
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
    va_list ap;

    fputs("esapi_seal: FAIL: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* rc is a TSS2_RC: say which step failed and what tpm2-tss makes of the code. */
static int esys_ok(TSS2_RC rc, const char *step)
{
    if (rc == TSS2_RC_SUCCESS) {
        return 1;
    }
    fail("%s returned 0x%x (%s)", step, (unsigned)rc, Tss2_RC_Decode(rc));
    return 0;
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    size_t i;

    for (i = 0; i + m <= n; i++) {
        if (memcmp(hay + i, needle, m) == 0) {
            return 1;
        }
    }
    return 0;
}

static TSS2_RC wire_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
    struct wire *w = (struct wire *)ctx;

    if (w->needle != NULL && contains(cmd, size, w->needle, SECRET_LEN)) {
        w->cmd_hits++;
    }
    return Tss2_Tcti_Transmit(w->inner, size, cmd);
}

static TSS2_RC wire_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *rsp, int32_t timeout)
{
    struct wire *w = (struct wire *)ctx;
    TSS2_RC rc = Tss2_Tcti_Receive(w->inner, size, rsp, timeout);

    if (rc == TSS2_RC_SUCCESS && rsp != NULL && w->needle != NULL &&
        contains(rsp, *size, w->needle, SECRET_LEN)) {
        w->rsp_hits++;
    }
    return rc;
}

static void wire_finalize(TSS2_TCTI_CONTEXT *ctx)
{
    (void)ctx; /* the inner TCTI is finalized by its owner, run_close */
}

static TSS2_RC wire_cancel(TSS2_TCTI_CONTEXT *ctx)
{
    return Tss2_Tcti_Cancel(((struct wire *)ctx)->inner);
}

static TSS2_RC wire_poll(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
    return Tss2_Tcti_GetPollHandles(((struct wire *)ctx)->inner, h, n);
}

static TSS2_RC wire_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t locality)
{
    return Tss2_Tcti_SetLocality(((struct wire *)ctx)->inner, locality);
}

static void wire_init(struct wire *w, TSS2_TCTI_CONTEXT *inner)
{
    memset(w, 0, sizeof(*w));
    w->common.v1.magic = 0x7674706d77697265ull; /* "vtpmwire" */
    w->common.v1.version = 1;
    w->common.v1.transmit = wire_transmit;
    w->common.v1.receive = wire_receive;
    w->common.v1.finalize = wire_finalize;
    w->common.v1.cancel = wire_cancel;
    w->common.v1.getPollHandles = wire_poll;
    w->common.v1.setLocality = wire_locality;
    w->inner = inner;
}

static int sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, a, alen) == 1 &&
             (blen == 0 || EVP_DigestUpdate(md, b, blen) == 1) &&
             EVP_DigestFinal_ex(md, out, NULL) == 1;

    EVP_MD_CTX_free(md);
    if (!ok) {
        fail("OpenSSL could not compute a SHA-256 digest.");
    }
    return ok;
}

static int flush(struct run *r, ESYS_TR *h, const char *what)
{
    TSS2_RC rc;

    if (*h == ESYS_TR_NONE) {
        return 1;
    }
    rc = Esys_FlushContext(r->esys, *h);
    *h = ESYS_TR_NONE;
    if (rc != TSS2_RC_SUCCESS) {
        fail("FlushContext of the %s returned 0x%x (%s)", what, (unsigned)rc, Tss2_RC_Decode(rc));
        return 0;
    }
    return 1;
}

static int step_startup(struct run *r)
{
    TSS2_RC rc = Esys_Startup(r->esys, TPM2_SU_CLEAR);

    if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE) {
        return esys_ok(rc, "Startup(CLEAR)");
    }
    r->checks++;
    return 1;
}

/* The SRK as systemd-cryptenroll makes it (TCG's ECC template, P-256, AES-128-CFB). */
static int step_srk(struct run *r)
{
    TPM2B_SENSITIVE_CREATE sens = { 0 };
    TPM2B_PUBLIC tmpl = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION creation_pcr = { 0 };
    TPM2B_PUBLIC *pub = NULL;
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ticket = NULL;
    TSS2_RC rc;
    int ok = 0;

    tmpl.publicArea.type = TPM2_ALG_ECC;
    tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
    tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
        TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED |
        TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA;
    tmpl.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
    tmpl.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
    tmpl.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
    tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    tmpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    tmpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;

    rc = Esys_CreatePrimary(r->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, &sens, &tmpl, &outside, &creation_pcr, &r->srk, &pub,
                            &cdata, &chash, &ticket);
    if (!esys_ok(rc, "CreatePrimary of the ECC P-256 SRK")) {
        goto out;
    }
    if (pub->publicArea.type != TPM2_ALG_ECC || pub->publicArea.unique.ecc.x.size != 32 ||
        pub->publicArea.unique.ecc.y.size != 32) {
        fail("CreatePrimary returned a public area that is not a P-256 point.");
        goto out;
    }
    r->checks++;
    ok = 1;
out:
    Esys_Free(pub);
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ticket);
    return ok;
}

static int step_hmac_session(struct run *r)
{
    const TPMA_SESSION attrs = TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT |
                               TPMA_SESSION_CONTINUESESSION;
    TPMA_SESSION got = 0;
    TSS2_RC rc;

    rc = Esys_StartAuthSession(r->esys, r->srk, r->srk, ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym_aes128cfb,
                               TPM2_ALG_SHA256, &r->hmac);
    if (!esys_ok(rc, "StartAuthSession (HMAC, salted by and bound to the SRK)")) {
        return 0;
    }
    rc = Esys_TRSess_SetAttributes(r->esys, r->hmac, attrs, 0xff);
    if (!esys_ok(rc, "TRSess_SetAttributes") ||
        !esys_ok(Esys_TRSess_GetAttributes(r->esys, r->hmac, &got), "TRSess_GetAttributes")) {
        return 0;
    }
    if ((got & attrs) != attrs) {
        fail("the HMAC session's attributes are 0x%x, not decrypt | encrypt | continue.",
             (unsigned)got);
        return 0;
    }
    r->checks++;
    return 1;
}

static int read_pcr7(struct run *r, TPM2B_DIGEST *out)
{
    UINT32 counter = 0;
    TPML_PCR_SELECTION *sel = NULL;
    TPML_DIGEST *vals = NULL;
    TSS2_RC rc;
    int ok = 0;

    rc = Esys_PCR_Read(r->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pcr7_sel, &counter,
                       &sel, &vals);
    if (!esys_ok(rc, "PCR_Read of sha256:7")) {
        goto out;
    }
    if (vals->count != 1 || vals->digests[0].size != 32 || sel->count != 1 ||
        sel->pcrSelections[0].hash != TPM2_ALG_SHA256 ||
        sel->pcrSelections[0].pcrSelect[0] != (1u << PCR_INDEX)) {
        fail("PCR_Read returned %u digests of %u bytes, not the one SHA-256 value of PCR 7.",
             (unsigned)vals->count, vals->count ? (unsigned)vals->digests[0].size : 0u);
        goto out;
    }
    *out = vals->digests[0];
    ok = 1;
out:
    Esys_Free(sel);
    Esys_Free(vals);
    return ok;
}

/* Part 3 23.7: policyDigest' = H(policyDigest || TPM_CC_PolicyPCR || pcrs || H(values)). */
static int expected_policy(const TPM2B_DIGEST *pcr, uint8_t out[32])
{
    uint8_t buf[32 + 4 + 10 + 32];
    uint8_t values[32];
    size_t n = 0;

    if (!sha256(pcr->buffer, pcr->size, NULL, 0, values)) {
        return 0;
    }
    memset(buf, 0, 32);
    n = 32;
    memcpy(buf + n, "\x00\x00\x01\x7f", 4);                  /* TPM_CC_PolicyPCR */
    n += 4;
    memcpy(buf + n, "\x00\x00\x00\x01\x00\x0b\x03\x80\x00\x00", 10); /* sha256: 7 */
    n += 10;
    memcpy(buf + n, values, 32);
    n += 32;
    return sha256(buf, n, NULL, 0, out);
}

static int step_policy_digest(struct run *r)
{
    TPM2B_DIGEST empty = { 0 };
    TPM2B_DIGEST *got = NULL;
    ESYS_TR trial = ESYS_TR_NONE;
    uint8_t want[32];
    TSS2_RC rc;
    int ok = 0;

    if (!read_pcr7(r, &r->pcr7)) {
        goto out;
    }
    r->checks++;
    rc = Esys_StartAuthSession(r->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, NULL, TPM2_SE_TRIAL,
                               &(TPMT_SYM_DEF){ .algorithm = TPM2_ALG_NULL }, TPM2_ALG_SHA256,
                               &trial);
    if (!esys_ok(rc, "StartAuthSession (trial)")) {
        goto out;
    }
    rc = Esys_PolicyPCR(r->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty,
                        &pcr7_sel);
    if (!esys_ok(rc, "PolicyPCR(sha256:7) in the trial session")) {
        goto out;
    }
    rc = Esys_PolicyGetDigest(r->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &got);
    if (!esys_ok(rc, "PolicyGetDigest")) {
        goto out;
    }
    if (!expected_policy(&r->pcr7, want)) {
        goto out;
    }
    if (got->size != 32 || memcmp(got->buffer, want, 32) != 0) {
        fail("the trial session's PolicyPCR digest differs from the one computed from PCR 7.");
        goto out;
    }
    r->policy = *got;
    r->checks++;
    ok = 1;
out:
    Esys_Free(got);
    if (!flush(r, &trial, "trial session")) {
        ok = 0;
    }
    return ok;
}

/* Create the sealed object under the SRK with session auth (HMAC session or password). */
static int create_sealed(struct run *r, ESYS_TR auth, TPM2B_PRIVATE **priv, TPM2B_PUBLIC **pub)
{
    TPM2B_SENSITIVE_CREATE sens = { 0 };
    TPM2B_PUBLIC tmpl = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION creation_pcr = { 0 };
    TPM2B_CREATION_DATA *cdata = NULL;
    TPM2B_DIGEST *chash = NULL;
    TPMT_TK_CREATION *ticket = NULL;
    TSS2_RC rc;

    sens.sensitive.data.size = SECRET_LEN;
    memcpy(sens.sensitive.data.buffer, r->secret, SECRET_LEN);
    tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
    tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
    tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
    tmpl.publicArea.authPolicy = r->policy;
    tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;

    rc = Esys_Create(r->esys, r->srk, auth, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
                     &creation_pcr, priv, pub, &cdata, &chash, &ticket);
    OPENSSL_cleanse(&sens, sizeof(sens));
    Esys_Free(cdata);
    Esys_Free(chash);
    Esys_Free(ticket);
    return esys_ok(rc, auth == ESYS_TR_PASSWORD ? "Create (password session, control)"
                                                : "Create of the sealed object (HMAC session)");
}

static int step_seal(struct run *r)
{
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *pub = NULL;
    TSS2_RC rc;
    int ok = 0;

    if (getrandom(r->secret, SECRET_LEN, 0) != SECRET_LEN) {
        fail("getrandom could not give %d bytes for the secret.", SECRET_LEN);
        goto out;
    }
    r->wire.needle = r->secret;
    if (!create_sealed(r, r->hmac, &priv, &pub)) {
        goto out;
    }
    if (pub->publicArea.type != TPM2_ALG_KEYEDHASH ||
        (pub->publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH) != 0 ||
        pub->publicArea.authPolicy.size != 32 ||
        memcmp(pub->publicArea.authPolicy.buffer, r->policy.buffer, 32) != 0) {
        fail("Create returned a public area that is not the sealed object asked for.");
        goto out;
    }
    if (r->wire.cmd_hits != 0 || r->wire.rsp_hits != 0) {
        fail("the secret crossed the wire in clear during Create (decrypt session ignored).");
        goto out;
    }
    r->checks++;
    rc = Esys_Load(r->esys, r->srk, r->hmac, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &r->sealed);
    if (!esys_ok(rc, "Load of the sealed object (HMAC session)")) {
        goto out;
    }
    r->checks++;
    ok = 1;
out:
    Esys_Free(priv);
    Esys_Free(pub);
    return ok;
}

/* A policy session salted by the SRK, AES-128-CFB, with PolicyPCR(sha256:7) (current values). */
static int policy_session(struct run *r, ESYS_TR *sess)
{
    TPM2B_DIGEST empty = { 0 };
    TSS2_RC rc;

    rc = Esys_StartAuthSession(r->esys, r->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym_aes128cfb,
                               TPM2_ALG_SHA256, sess);
    if (!esys_ok(rc, "StartAuthSession (policy, salted by the SRK)")) {
        return 0;
    }
    rc = Esys_PolicyPCR(r->esys, *sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty,
                        &pcr7_sel);
    return esys_ok(rc, "PolicyPCR(sha256:7) in the policy session");
}

/* Unseal with a fresh policy session; 'encrypted' adds the HMAC session carrying encrypt. */
static int unseal(struct run *r, int encrypted, TSS2_RC *rc, TPM2B_SENSITIVE_DATA **out)
{
    ESYS_TR pol = ESYS_TR_NONE;
    int ok = 0;

    if (!policy_session(r, &pol)) {
        goto out;
    }
    *rc = Esys_Unseal(r->esys, r->sealed, pol, encrypted ? r->hmac : ESYS_TR_NONE, ESYS_TR_NONE,
                      out);
    ok = 1;
out:
    /* a failed command leaves the session loaded; a successful one keeps it (continueSession) */
    if (!flush(r, &pol, "policy session")) {
        ok = 0;
    }
    return ok;
}

static int same_secret(const struct run *r, const TPM2B_SENSITIVE_DATA *d)
{
    return d->size == SECRET_LEN && CRYPTO_memcmp(d->buffer, r->secret, SECRET_LEN) == 0;
}

static int step_unseal(struct run *r)
{
    TPM2B_SENSITIVE_DATA *out = NULL;
    TSS2_RC rc = TSS2_RC_SUCCESS;
    int ok = 0;

    if (!unseal(r, 1, &rc, &out) || !esys_ok(rc, "Unseal (policy session + encrypt session)")) {
        goto out;
    }
    if (!same_secret(r, out)) {
        fail("Unseal returned %u bytes that are not the secret sealed.", (unsigned)out->size);
        goto out;
    }
    r->checks++;
    if (r->wire.cmd_hits != 0 || r->wire.rsp_hits != 0) {
        fail("the secret crossed the wire in clear in the Unseal response (encrypt ignored).");
        goto out;
    }
    r->checks++;
    ok = 1;
out:
    if (out != NULL) {
        OPENSSL_cleanse(out, sizeof(*out));
    }
    Esys_Free(out);
    return ok;
}

/* Controls: the wire scan does see the secret when no session encrypts it. */
static int step_controls(struct run *r)
{
    TPM2B_SENSITIVE_DATA *out = NULL;
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *pub = NULL;
    TSS2_RC rc = TSS2_RC_SUCCESS;
    int ok = 0;

    if (!unseal(r, 0, &rc, &out) || !esys_ok(rc, "Unseal without encryption (control)")) {
        goto out;
    }
    if (!same_secret(r, out) || r->wire.rsp_hits != 1 || r->wire.cmd_hits != 0) {
        fail("control: an unencrypted Unseal response was not seen to hold the secret "
             "(%u responses, %u commands).", r->wire.rsp_hits, r->wire.cmd_hits);
        goto out;
    }
    r->checks++;
    if (!create_sealed(r, ESYS_TR_PASSWORD, &priv, &pub)) {
        goto out;
    }
    if (r->wire.cmd_hits != 1) {
        fail("control: a Create with a password session was not seen to carry the secret.");
        goto out;
    }
    r->checks++;
    ok = 1;
out:
    if (out != NULL) {
        OPENSSL_cleanse(out, sizeof(*out));
    }
    Esys_Free(out);
    Esys_Free(priv);
    Esys_Free(pub);
    return ok;
}

static int step_extend_refuses(struct run *r)
{
    static const char word[] = "vtpm";
    TPML_DIGEST_VALUES dv = { .count = 1 };
    TPM2B_DIGEST now = { 0 };
    TPM2B_SENSITIVE_DATA *out = NULL;
    ESYS_TR pol = ESYS_TR_NONE;
    uint8_t ext[32];
    uint8_t want[32];
    uint8_t old_values[32];
    TPM2B_DIGEST old_digest = { .size = 32 };
    TSS2_RC rc = TSS2_RC_SUCCESS;
    int ok = 0;

    if (!sha256(word, sizeof(word) - 1, NULL, 0, ext) ||
        !sha256(r->pcr7.buffer, r->pcr7.size, ext, 32, want) ||
        !sha256(r->pcr7.buffer, r->pcr7.size, NULL, 0, old_values)) {
        goto out;
    }
    dv.digests[0].hashAlg = TPM2_ALG_SHA256;
    memcpy(dv.digests[0].digest.sha256, ext, 32);
    rc = Esys_PCR_Extend(r->esys, ESYS_TR_PCR0 + PCR_INDEX, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE, &dv);
    if (!esys_ok(rc, "PCR_Extend of PCR 7")) {
        goto out;
    }
    if (!read_pcr7(r, &now)) {
        goto out;
    }
    if (memcmp(now.buffer, want, 32) != 0) {
        fail("PCR 7 after the extend is not SHA-256(old || SHA-256(\"vtpm\")).");
        goto out;
    }
    r->checks++;

    /* PolicyPCR naming the old values is refused at once (Part 3 23.7: TPM_RC_VALUE). */
    memcpy(old_digest.buffer, old_values, 32);
    rc = Esys_StartAuthSession(r->esys, r->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym_aes128cfb,
                               TPM2_ALG_SHA256, &pol);
    if (!esys_ok(rc, "StartAuthSession (policy, salted by the SRK)")) {
        goto out;
    }
    rc = Esys_PolicyPCR(r->esys, pol, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &old_digest,
                        &pcr7_sel);
    if (rc != (TPM2_RC_VALUE | TPM2_RC_P | TPM2_RC_1)) {
        fail("PolicyPCR with the old PCR 7 digest returned 0x%x (%s), not TPM_RC_VALUE for "
             "parameter 1 (0x1c4).", (unsigned)rc, Tss2_RC_Decode(rc));
        goto out;
    }
    r->checks++;
    if (!flush(r, &pol, "policy session")) {
        goto out;
    }

    /* PolicyPCR with the current values, then Unseal: the policy no longer matches. */
    if (!unseal(r, 1, &rc, &out)) {
        goto out;
    }
    if (rc != (TPM2_RC_POLICY_FAIL | TPM2_RC_S | TPM2_RC_1)) {
        fail("Unseal after PCR 7 changed returned 0x%x (%s), not TPM_RC_POLICY_FAIL for "
             "session 1 (0x99d).", (unsigned)rc, Tss2_RC_Decode(rc));
        goto out;
    }
    if (out != NULL) {
        fail("Unseal after PCR 7 changed failed yet returned data.");
        goto out;
    }
    r->checks++;
    ok = 1;
out:
    if (out != NULL) {
        OPENSSL_cleanse(out, sizeof(*out));
    }
    Esys_Free(out);
    if (!flush(r, &pol, "policy session")) {
        ok = 0;
    }
    return ok;
}

static int run_open(struct run *r, const char *conf)
{
    TSS2_RC rc;

    rc = Tss2_TctiLdr_Initialize(conf, &r->tcti);
    if (!esys_ok(rc, "Tss2_TctiLdr_Initialize")) {
        fprintf(stderr, "esapi_seal: the TCTI configuration was \"%s\".\n", conf);
        return 0;
    }
    wire_init(&r->wire, r->tcti);
    rc = Esys_Initialize(&r->esys, (TSS2_TCTI_CONTEXT *)&r->wire, NULL);
    return esys_ok(rc, "Esys_Initialize");
}

/* Flush what is still loaded, finalize ESAPI and the TCTI; 0 if a flush failed. */
static int run_close(struct run *r)
{
    int ok = 1;

    if (r->esys != NULL) {
        ok &= flush(r, &r->sealed, "sealed object");
        ok &= flush(r, &r->hmac, "HMAC session");
        ok &= flush(r, &r->srk, "SRK");
        Esys_Finalize(&r->esys);
    }
    if (r->tcti != NULL) {
        Tss2_TctiLdr_Finalize(&r->tcti);
    }
    OPENSSL_cleanse(r->secret, sizeof(r->secret));
    return ok;
}

int main(void)
{
    static struct run r = {
        .srk = ESYS_TR_NONE, .hmac = ESYS_TR_NONE, .sealed = ESYS_TR_NONE,
    };
    const char *conf = getenv("VTPM_TCTI");
    int ok = 0;

    if (conf == NULL || conf[0] == '\0') {
        fail("VTPM_TCTI is not set; it names the TCTI, e.g. swtpm:host=127.0.0.1,port=2321.");
        return 1;
    }
    ok = run_open(&r, conf) && step_startup(&r) && step_srk(&r) && step_hmac_session(&r) &&
         step_policy_digest(&r) && step_seal(&r) && step_unseal(&r) && step_controls(&r) &&
         step_extend_refuses(&r);
    if (!run_close(&r)) {
        ok = 0;
    } else if (ok) {
        r.checks++; /* everything flushed */
    }
    if (!ok) {
        return 1;
    }
    printf("esapi_seal: %u checks passed (SRK P-256, salted bound AES-128-CFB session, "
           "sealed to PCR 7, unsealed encrypted, refused after extend)\n", r.checks);
    return 0;
}

/*
 * Asymmetric primitives (Part 3 §14): §14.2 RSA_Encrypt, §14.3 RSA_Decrypt, §14.4 ECDH_KeyGen,
 * §14.5 ECDH_ZGen, §14.6 ECC_Parameters, §14.7 ZGen_2Phase; ephemeral EC keys (Part 3 §19):
 * §19.2 Commit, §19.3 EC_Ephemeral; and the commit values they share (asym.h).
 */
#include "asym.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "cmd.h"
#include "crypto_asym.h"
#include "object.h"
#include "sign.h"

/* ---- commit values (asym.h) ---- */

static bool commit_r(struct tpm *t, uint64_t count, TPM_ECC_CURVE curve, const TPM2B_NAME *name,
                     uint8_t *r)
{
    size_t size = crypto_ecc_bytes(curve);
    uint8_t raw[MAX_ECC_KEY_BYTES + 8], ctr[8];
    for (int i = 0; i < 8; i++) {
        ctr[i] = (uint8_t)(count >> (56 - 8 * i));
    }
    /* 64 bits more than the order so that the reduction into [1, n-1] is unbiased. */
    bool ok = size > 0 &&
              crypto_kdfa(TPM_ALG_SHA256, t->sr.commit_nonce, sizeof(t->sr.commit_nonce),
                          "ECDAA Commit", name ? name->buffer : NULL, name ? name->size : 0, ctr,
                          8, (uint32_t)(size + 8) * 8, raw) &&
              crypto_ecc_scalar_from_bytes(curve, raw, size + 8, r);
    secret_wipe(raw, sizeof(raw));
    return ok;
}

TPM_RC commit_r_next(struct tpm *t, TPM_ECC_CURVE curve, const TPM2B_NAME *name, uint8_t *r)
{
    return commit_r(t, t->sr.commit_counter, curve, name, r) ? TPM_RC_SUCCESS
                                                              : TPM_RC_NO_RESULT;
}

uint16_t commit_take(struct tpm *t)
{
    uint64_t c = t->sr.commit_counter++;
    t->sr.commit_array[(c % COMMIT_SLOTS) / 8] |= (uint8_t)(1u << (c % 8));
    return (uint16_t)c;
}

/* The full count of outstanding commit c: one of the last COMMIT_SLOTS commits whose slot
 * has not been ended. */
static bool commit_full(const struct tpm *t, uint16_t c, uint64_t *full)
{
    uint64_t next = t->sr.commit_counter;
    uint64_t v = (next & ~(uint64_t)0xFFFF) | c;
    if (v >= next) {
        if (v < 0x10000) {
            return false;
        }
        v -= 0x10000;
    }
    if (next - v > COMMIT_SLOTS) {
        return false;
    }
    if (!((t->sr.commit_array[(v % COMMIT_SLOTS) / 8] >> (v % 8)) & 1)) {
        return false;
    }
    *full = v;
    return true;
}

bool commit_r_of(struct tpm *t, uint16_t c, TPM_ECC_CURVE curve, const TPM2B_NAME *name,
                 uint8_t *r)
{
    uint64_t v;
    return commit_full(t, c, &v) && commit_r(t, v, curve, name, r);
}

void commit_end(struct tpm *t, uint16_t c)
{
    uint64_t v;
    if (commit_full(t, c, &v)) {
        t->sr.commit_array[(v % COMMIT_SLOTS) / 8] &= (uint8_t)~(1u << (v % 8));
    }
}

/* ---- shared ---- */

/* A key object of a given type (TPM_RC_KEY as handle 1 otherwise). */
static TPM_RC key_of_type(struct tpm *t, TPM_HANDLE h, TPM_ALG_ID type, struct object **out)
{
    struct object *o = object_get(t, h);
    CHECK(o && o->kind == OBJ_KEY && o->pub.type == type, RC_H(TPM_RC_KEY, 1));
    *out = o;
    return TPM_RC_SUCCESS;
}

/* Unrestricted with decrypt set: may use its private key on caller data. */
static bool free_decrypt(const struct object *o)
{
    TPMA_OBJECT a = o->pub.objectAttributes;
    return !(a & TPMA_OBJECT_RESTRICTED) && (a & TPMA_OBJECT_DECRYPT);
}

/* TPMI_ECC_CURVE: an implemented curve (TPM_RC_CURVE). */
static TPM_RC rd_curve(struct rd *r, TPM_ECC_CURVE *c)
{
    TRY(rd_U16(r, c));
    CHECK(alg_ecc_curve_ok(*c), TPM_RC_CURVE);
    return TPM_RC_SUCCESS;
}

/* A TPM2B_ECC_POINT that may be empty (size 0, or two empty coordinates). */
static TPM_RC rd_point_opt(struct rd *r, TPMS_ECC_POINT *p)
{
    struct rd peek = *r;
    uint16_t size;
    TRY(rd_U16(&peek, &size));
    if (size == 0) {
        *r = peek;
        memset(p, 0, sizeof(*p));
        return TPM_RC_SUCCESS;
    }
    return rd_TPM2B_ECC_POINT(r, p);
}

static void wr_point2b(struct wr *w, const TPMS_ECC_POINT *p)
{
    size_t m = wr_size16_begin(w);
    wr_TPMS_ECC_POINT(w, p);
    wr_size16_end(w, m);
}

/* A point of the key's size from x and y (crypto_ecc_bytes long each). */
static void point_set(TPMS_ECC_POINT *p, size_t size)
{
    p->x.size = p->y.size = (uint16_t)size;
}

static bool point_ok(TPM_ECC_CURVE curve, const TPMS_ECC_POINT *p)
{
    return crypto_ecc_point_ok(curve, p->x.buffer, p->x.size, p->y.buffer, p->y.size);
}

/* ---- RSA encryption: Part 3 §14.2-14.3 ---- */

/* Part 3 §14.2.1: a label, when present, is a string with its terminating zero octet. */
static bool label_ok(const TPM2B_DATA *l)
{
    return l->size == 0 || l->buffer[l->size - 1] == 0;
}

/* CryptRsaSelectScheme (Part 3 §14.2.1): the key's scheme unless it has none; both given,
 * they must agree. The result must be an encryption scheme. */
static bool rsa_select(const struct object *o, const TPMT_RSA_DECRYPT *in, TPMT_SCHEME *out)
{
    const TPMT_SCHEME *ks = &o->pub.parameters.scheme;
    if (ks->scheme == TPM_ALG_NULL) {
        *out = *in;
    } else if (in->scheme == TPM_ALG_NULL) {
        *out = *ks;
    } else if (ks->scheme == in->scheme && ks->hashAlg == in->hashAlg) {
        *out = *in;
    } else {
        return false;
    }
    return out->scheme == TPM_ALG_NULL || out->scheme == TPM_ALG_RSAES ||
           out->scheme == TPM_ALG_OAEP;
}

struct in_RSA_Encrypt {
    TPM2B_PUBLIC_KEY_RSA message;
    TPMT_RSA_DECRYPT inScheme;
    TPM2B_DATA label;
};

struct out_RSA {
    TPM2B_PUBLIC_KEY_RSA data;
};

static TPM_RC parse_RSA_Encrypt(struct rd *r, struct in_RSA_Encrypt *in)
{
    PARAM(1, RD_TPM2B(r, &in->message));
    PARAM(2, rd_TPMT_RSA_DECRYPT(r, &in->inScheme));
    PARAM(3, RD_TPM2B(r, &in->label));
    return TPM_RC_SUCCESS;
}

static void emit_RSA(struct wr *w, const struct out_RSA *out)
{
    WR_TPM2B(w, &out->data);
}

static TPM_RC cc_RSA_Encrypt(struct tpm *t, struct cmd *c, const struct in_RSA_Encrypt *in,
                             struct out_RSA *out)
{
    struct object *o;
    struct crypto_rsa_key k;
    TPMT_SCHEME scheme;
    TRY(key_of_type(t, c->handles[0], TPM_ALG_RSA, &o));
    CHECK(o->pub.objectAttributes & TPMA_OBJECT_DECRYPT, RC_H(TPM_RC_ATTRIBUTES, 1));
    CHECK(label_ok(&in->label), RC_P(TPM_RC_VALUE, 3));
    CHECK(rsa_select(o, &in->inScheme, &scheme), RC_P(TPM_RC_SCHEME, 2));
    sign_rsa_key(t, o, &k);
    /* Room in the modulus for the message and the padding (RFC 8017 §7.1.1, §7.2.1). */
    size_t room = k.nlen;
    if (scheme.scheme == TPM_ALG_RSAES) {
        room = k.nlen > 11 ? k.nlen - 11 : 0;
    } else if (scheme.scheme == TPM_ALG_OAEP) {
        size_t h = hash_size(scheme.hashAlg);
        room = k.nlen > 2 * h + 2 ? k.nlen - 2 * h - 2 : 0;
    }
    CHECK(in->message.size <= room, RC_P(TPM_RC_VALUE, 1));
    /* The raw primitive also needs the message smaller than the modulus. */
    CHECK(crypto_rsa_encrypt(&k, scheme.scheme, scheme.hashAlg, in->label.buffer, in->label.size,
                             in->message.buffer, in->message.size, out->data.buffer),
          scheme.scheme == TPM_ALG_NULL ? RC_P(TPM_RC_VALUE, 1) : TPM_RC_FAILURE);
    out->data.size = (uint16_t)k.nlen;
    return TPM_RC_SUCCESS;
}

CMD_OPS_FULL(RSA_Encrypt, struct in_RSA_Encrypt, struct out_RSA, parse_RSA_Encrypt, emit_RSA);

static TPM_RC cc_RSA_Decrypt(struct tpm *t, struct cmd *c, const struct in_RSA_Encrypt *in,
                             struct out_RSA *out)
{
    struct object *o;
    struct crypto_rsa_key k;
    TPMT_SCHEME scheme;
    size_t len = 0;
    TRY(key_of_type(t, c->handles[0], TPM_ALG_RSA, &o));
    CHECK(free_decrypt(o), RC_H(TPM_RC_ATTRIBUTES, 1));
    CHECK(sign_has_private(o), TPM_RC_AUTH_UNAVAILABLE);
    CHECK(label_ok(&in->label), RC_P(TPM_RC_VALUE, 3));
    CHECK(rsa_select(o, &in->inScheme, &scheme), RC_P(TPM_RC_SCHEME, 2));
    sign_rsa_key(t, o, &k);
    CHECK(in->message.size == k.nlen, RC_P(TPM_RC_SIZE, 1));
    /* One answer for every failure: the value is out of range or the padding is wrong. */
    CHECK(crypto_rsa_decrypt(&k, scheme.scheme, scheme.hashAlg, in->label.buffer,
                             in->label.size, in->message.buffer, in->message.size,
                             out->data.buffer, sizeof(out->data.buffer), &len),
          RC_P(TPM_RC_VALUE, 1));
    out->data.size = (uint16_t)len;
    return TPM_RC_SUCCESS;
}

CMD_OPS_FULL(RSA_Decrypt, struct in_RSA_Encrypt, struct out_RSA, parse_RSA_Encrypt, emit_RSA);

/* ---- Part 3 §14.4 TPM2_ECDH_KeyGen ---- */

struct out_ECDH_KeyGen {
    TPMS_ECC_POINT zPoint;
    TPMS_ECC_POINT pubPoint;
};

static void emit_ECDH_KeyGen(struct wr *w, const struct out_ECDH_KeyGen *out)
{
    wr_point2b(w, &out->zPoint);
    wr_point2b(w, &out->pubPoint);
}

static TPM_RC cc_ECDH_KeyGen(struct tpm *t, struct cmd *c, const struct in_none *in,
                             struct out_ECDH_KeyGen *out)
{
    (void)in;
    struct object *o;
    uint8_t d[MAX_ECC_KEY_BYTES];
    TRY(key_of_type(t, c->handles[0], TPM_ALG_ECC, &o));
    TPM_ECC_CURVE curve = o->pub.parameters.curveID;
    size_t size = crypto_ecc_bytes(curve);
    const TPMS_ECC_POINT *q = &o->pub.unique.ecc;
    CHECK(point_ok(curve, q), RC_H(TPM_RC_KEY, 1));
    /* An ephemeral pair (d, [d]G) and Z = [d]Q; d is forgotten. */
    bool ok = crypto_ecc_generate(curve, d, out->pubPoint.x.buffer, out->pubPoint.y.buffer) &&
              crypto_ecc_mul(curve, d, size, q->x.buffer, q->x.size, q->y.buffer, q->y.size,
                             out->zPoint.x.buffer, out->zPoint.y.buffer);
    secret_wipe(d, sizeof(d));
    CHECK(ok, TPM_RC_NO_RESULT);
    point_set(&out->pubPoint, size);
    point_set(&out->zPoint, size);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_IN(ECDH_KeyGen);

/* ---- Part 3 §14.5 TPM2_ECDH_ZGen ---- */

struct in_ECDH_ZGen {
    TPMS_ECC_POINT inPoint;
};

struct out_ECDH_ZGen {
    TPMS_ECC_POINT outPoint;
};

static TPM_RC parse_ECDH_ZGen(struct rd *r, struct in_ECDH_ZGen *in)
{
    PARAM(1, rd_TPM2B_ECC_POINT(r, &in->inPoint));
    return TPM_RC_SUCCESS;
}

static void emit_ECDH_ZGen(struct wr *w, const struct out_ECDH_ZGen *out)
{
    wr_point2b(w, &out->outPoint);
}

static TPM_RC cc_ECDH_ZGen(struct tpm *t, struct cmd *c, const struct in_ECDH_ZGen *in,
                           struct out_ECDH_ZGen *out)
{
    struct object *o;
    TRY(key_of_type(t, c->handles[0], TPM_ALG_ECC, &o));
    CHECK(free_decrypt(o), RC_H(TPM_RC_ATTRIBUTES, 1));
    TPM_ALG_ID ks = o->pub.parameters.scheme.scheme;
    CHECK(ks == TPM_ALG_ECDH || ks == TPM_ALG_NULL, RC_H(TPM_RC_SCHEME, 1));
    CHECK(sign_has_private(o), TPM_RC_AUTH_UNAVAILABLE);
    TPM_ECC_CURVE curve = o->pub.parameters.curveID;
    const TPMS_ECC_POINT *p = &in->inPoint;
    CHECK(point_ok(curve, p), RC_P(TPM_RC_ECC_POINT, 1));
    CHECK(crypto_ecc_mul(curve, o->sens.sensitive.buffer, o->sens.sensitive.size, p->x.buffer,
                         p->x.size, p->y.buffer, p->y.size, out->outPoint.x.buffer,
                         out->outPoint.y.buffer),
          RC_P(TPM_RC_NO_RESULT, 1));
    point_set(&out->outPoint, crypto_ecc_bytes(curve));
    return TPM_RC_SUCCESS;
}

CMD_OPS(ECDH_ZGen);

/* ---- Part 3 §14.6 TPM2_ECC_Parameters ---- */

struct in_ECC_Parameters {
    TPM_ECC_CURVE curveID;
};

/* TPMS_ALGORITHM_DETAIL_ECC (Part 2 §11.2.5): the NIST curves name no KDF and no scheme. */
struct out_ECC_Parameters {
    TPM_ECC_CURVE curveID;
    uint16_t keySize;
    TPM2B_ECC_PARAMETER p, a, b, gX, gY, n, h;
};

static TPM_RC parse_ECC_Parameters(struct rd *r, struct in_ECC_Parameters *in)
{
    PARAM(1, rd_curve(r, &in->curveID));
    return TPM_RC_SUCCESS;
}

static void emit_ECC_Parameters(struct wr *w, const struct out_ECC_Parameters *out)
{
    wr_u16(w, out->curveID);
    wr_u16(w, out->keySize);
    wr_u16(w, TPM_ALG_NULL); /* kdf */
    wr_u16(w, TPM_ALG_NULL); /* sign */
    WR_TPM2B(w, &out->p);
    WR_TPM2B(w, &out->a);
    WR_TPM2B(w, &out->b);
    WR_TPM2B(w, &out->gX);
    WR_TPM2B(w, &out->gY);
    WR_TPM2B(w, &out->n);
    WR_TPM2B(w, &out->h);
}

static TPM_RC cc_ECC_Parameters(struct tpm *t, struct cmd *c,
                                const struct in_ECC_Parameters *in,
                                struct out_ECC_Parameters *out)
{
    (void)t;
    (void)c;
    size_t size = crypto_ecc_bytes(in->curveID), hlen = 0;
    CHECK(size > 0, RC_P(TPM_RC_VALUE, 1));
    CHECK(crypto_ecc_curve(in->curveID, out->p.buffer, out->a.buffer, out->b.buffer,
                           out->gX.buffer, out->gY.buffer, out->n.buffer, out->h.buffer, &hlen),
          TPM_RC_FAILURE);
    out->curveID = in->curveID;
    out->keySize = in->curveID == TPM_ECC_NIST_P521 ? 521 : (uint16_t)(size * 8);
    out->p.size = out->a.size = out->b.size = out->gX.size = out->gY.size = out->n.size =
        (uint16_t)size;
    out->h.size = (uint16_t)hlen;
    return TPM_RC_SUCCESS;
}

CMD_OPS(ECC_Parameters);

/* ---- Part 3 §14.7 TPM2_ZGen_2Phase ---- */

struct in_ZGen_2Phase {
    TPMS_ECC_POINT inQsB;
    TPMS_ECC_POINT inQeB;
    TPM_ALG_ID inScheme;
    uint16_t counter;
};

struct out_ZGen_2Phase {
    TPMS_ECC_POINT outZ1;
    TPMS_ECC_POINT outZ2;
};

static TPM_RC parse_ZGen_2Phase(struct rd *r, struct in_ZGen_2Phase *in)
{
    PARAM(1, rd_TPM2B_ECC_POINT(r, &in->inQsB));
    PARAM(2, rd_TPM2B_ECC_POINT(r, &in->inQeB));
    PARAM(3, rd_U16(r, &in->inScheme));
    /* TPMI_ECC_KEY_EXCHANGE: of ECDH, ECMQV and SM2 only ECDH is implemented. */
    PARAM(3, ALG_IN(in->inScheme, TPM_ALG_ECDH, TPM_ALG_ECMQV, TPM_ALG_SM2) ? TPM_RC_SUCCESS
                                                                         : TPM_RC_SCHEME);
    PARAM(4, rd_U16(r, &in->counter));
    return TPM_RC_SUCCESS;
}

static void emit_ZGen_2Phase(struct wr *w, const struct out_ZGen_2Phase *out)
{
    wr_point2b(w, &out->outZ1);
    wr_point2b(w, &out->outZ2);
}

static TPM_RC cc_ZGen_2Phase(struct tpm *t, struct cmd *c, const struct in_ZGen_2Phase *in,
                             struct out_ZGen_2Phase *out)
{
    struct object *o;
    uint8_t r[MAX_ECC_KEY_BYTES];
    TRY(key_of_type(t, c->handles[0], TPM_ALG_ECC, &o));
    CHECK(free_decrypt(o), RC_H(TPM_RC_ATTRIBUTES, 1));
    CHECK(sign_has_private(o), TPM_RC_AUTH_UNAVAILABLE);
    TPM_ALG_ID scheme = o->pub.parameters.scheme.scheme;
    if (scheme == TPM_ALG_NULL) {
        scheme = in->inScheme;
    }
    CHECK(scheme == in->inScheme && scheme == TPM_ALG_ECDH, RC_P(TPM_RC_SCHEME, 3));
    TPM_ECC_CURVE curve = o->pub.parameters.curveID;
    size_t size = crypto_ecc_bytes(curve);
    CHECK(point_ok(curve, &in->inQsB), RC_P(TPM_RC_ECC_POINT, 1));
    CHECK(point_ok(curve, &in->inQeB), RC_P(TPM_RC_ECC_POINT, 2));
    /* The ephemeral key of EC_Ephemeral's commit: r = that commit's value. */
    CHECK(commit_r_of(t, in->counter, curve, NULL, r), RC_P(TPM_RC_VALUE, 4));
    /* C(2e, 2s) ECDH (SP 800-56A §6.1.1): Z1 = [dsA]QsB, Z2 = [deA]QeB. */
    bool ok = crypto_ecc_mul(curve, o->sens.sensitive.buffer, o->sens.sensitive.size,
                             in->inQsB.x.buffer, in->inQsB.x.size, in->inQsB.y.buffer,
                             in->inQsB.y.size, out->outZ1.x.buffer, out->outZ1.y.buffer) &&
              crypto_ecc_mul(curve, r, size, in->inQeB.x.buffer, in->inQeB.x.size,
                             in->inQeB.y.buffer, in->inQeB.y.size, out->outZ2.x.buffer,
                             out->outZ2.y.buffer);
    secret_wipe(r, sizeof(r));
    CHECK(ok, TPM_RC_NO_RESULT);
    commit_end(t, in->counter);
    point_set(&out->outZ1, size);
    point_set(&out->outZ2, size);
    return TPM_RC_SUCCESS;
}

CMD_OPS(ZGen_2Phase);

/* ---- Part 3 §19.3 TPM2_EC_Ephemeral ---- */

struct out_EC_Ephemeral {
    TPMS_ECC_POINT Q;
    uint16_t counter;
};

#define in_EC_Ephemeral in_ECC_Parameters
#define parse_EC_Ephemeral parse_ECC_Parameters

static void emit_EC_Ephemeral(struct wr *w, const struct out_EC_Ephemeral *out)
{
    wr_point2b(w, &out->Q);
    wr_u16(w, out->counter);
}

static TPM_RC cc_EC_Ephemeral(struct tpm *t, struct cmd *c, const struct in_ECC_Parameters *in,
                              struct out_EC_Ephemeral *out)
{
    (void)c;
    uint8_t r[MAX_ECC_KEY_BYTES];
    size_t size = crypto_ecc_bytes(in->curveID);
    TRY(commit_r_next(t, in->curveID, NULL, r));
    bool ok = crypto_ecc_mul(in->curveID, r, size, NULL, 0, NULL, 0, out->Q.x.buffer,
                             out->Q.y.buffer);
    secret_wipe(r, sizeof(r));
    CHECK(ok, TPM_RC_NO_RESULT);
    point_set(&out->Q, size);
    out->counter = commit_take(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS(EC_Ephemeral);

/* ---- Part 3 §19.2 TPM2_Commit ---- */

struct in_Commit {
    TPMS_ECC_POINT P1;
    TPM2B_SENSITIVE_DATA s2;
    TPM2B_ECC_PARAMETER y2;
};

struct out_Commit {
    TPMS_ECC_POINT K, L, E;
    uint16_t counter;
};

static TPM_RC parse_Commit(struct rd *r, struct in_Commit *in)
{
    PARAM(1, rd_point_opt(r, &in->P1));
    PARAM(2, RD_TPM2B(r, &in->s2));
    PARAM(3, RD_TPM2B(r, &in->y2));
    return TPM_RC_SUCCESS;
}

static void emit_Commit(struct wr *w, const struct out_Commit *out)
{
    wr_point2b(w, &out->K);
    wr_point2b(w, &out->L);
    wr_point2b(w, &out->E);
    wr_u16(w, out->counter);
}

static TPM_RC cc_Commit(struct tpm *t, struct cmd *c, const struct in_Commit *in,
                        struct out_Commit *out)
{
    struct object *o;
    uint8_t r[MAX_ECC_KEY_BYTES];
    TPMS_ECC_POINT p2;
    TPM_RC rc = TPM_RC_SUCCESS;
    TRY(key_of_type(t, c->handles[0], TPM_ALG_ECC, &o));
    /* Only a key with an anonymous scheme commits (Part 3 §19.2.1). */
    CHECK(o->pub.parameters.scheme.scheme == TPM_ALG_ECDAA, RC_H(TPM_RC_SCHEME, 1));
    CHECK((in->s2.size == 0) == (in->y2.size == 0), RC_P(TPM_RC_SIZE, 3));
    CHECK(sign_has_private(o), RC_H(TPM_RC_KEY, 1));
    TPM_ECC_CURVE curve = o->pub.parameters.curveID;
    size_t size = crypto_ecc_bytes(curve);
    bool have_p1 = in->P1.x.size || in->P1.y.size;
    bool have_p2 = in->s2.size != 0;
    if (have_p2) {
        /* P2 = (H_nameAlg(s2) mod p, y2) must be a point of the curve. */
        uint8_t h[MAX_DIGEST_SIZE];
        CHECK(crypto_hash(o->pub.nameAlg, in->s2.buffer, in->s2.size, h) &&
                  crypto_ecc_mod_p(curve, h, hash_size(o->pub.nameAlg), p2.x.buffer),
              TPM_RC_FAILURE);
        p2.x.size = (uint16_t)size;
        p2.y = in->y2;
        CHECK(point_ok(curve, &p2), RC_P(TPM_RC_ECC_POINT, 2));
    }
    if (have_p1) {
        CHECK(point_ok(curve, &in->P1), RC_P(TPM_RC_ECC_POINT, 1));
    }
    TRY(commit_r_next(t, curve, &o->name, r));
    if (have_p2) {
        /* K = [ds]P2, L = [r]P2 */
        if (!crypto_ecc_mul(curve, o->sens.sensitive.buffer, o->sens.sensitive.size,
                            p2.x.buffer, p2.x.size, p2.y.buffer, p2.y.size, out->K.x.buffer,
                            out->K.y.buffer) ||
            !crypto_ecc_mul(curve, r, size, p2.x.buffer, p2.x.size, p2.y.buffer, p2.y.size,
                            out->L.x.buffer, out->L.y.buffer)) {
            rc = TPM_RC_NO_RESULT;
            goto out;
        }
        point_set(&out->K, size);
        point_set(&out->L, size);
    }
    if (have_p1 || !have_p2) {
        /* E = [r]P1, or [r]G without P1 */
        if (!crypto_ecc_mul(curve, r, size, have_p1 ? in->P1.x.buffer : NULL, in->P1.x.size,
                            in->P1.y.buffer, in->P1.y.size, out->E.x.buffer,
                            out->E.y.buffer)) {
            rc = TPM_RC_NO_RESULT;
            goto out;
        }
        point_set(&out->E, size);
    }
    out->counter = commit_take(t);
out:
    secret_wipe(r, sizeof(r));
    return rc;
}

CMD_OPS(Commit);

/*
 * Objects (see object.h): slots, names (Part 1 §16), public-area checks (Part 3 §12.1,
 * Part 1 §27.2), generation (Part 1 §27.6-7) and protection of private areas (Part 1 §23).
 */
#include "object.h"

#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "crypto_asym.h"
#include "marshal.h"

/* ---- slots ---- */

struct object *object_find(struct tpm *t, TPM_HANDLE h)
{
    if ((h >> HR_SHIFT) != TPM_HT_TRANSIENT) {
        return NULL;
    }
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        if (t->objects[i].kind != OBJ_FREE && t->objects[i].handle == h) {
            return &t->objects[i];
        }
    }
    return NULL;
}

struct object *object_get(struct tpm *t, TPM_HANDLE h)
{
    if ((h >> HR_SHIFT) == TPM_HT_PERSISTENT) {
        for (size_t i = 0; i < MAX_PERSISTENT; i++) {
            if (t->p.persist[i].kind == OBJ_KEY && t->p.persist[i].handle == h) {
                return &t->p.persist[i];
            }
        }
        return NULL;
    }
    return object_find(t, h);
}

/* Handles are the slot index in the low bits: stable, small, and never two alike. */
struct object *object_alloc(struct tpm *t, enum obj_kind kind)
{
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        struct object *o = &t->objects[i];
        if (o->kind == OBJ_FREE) {
            memset(o, 0, sizeof(*o));
            o->kind = (uint8_t)kind;
            o->handle = HR_TRANSIENT | (TPM_HANDLE)i;
            return o;
        }
    }
    return NULL;
}

void object_free(struct object *o)
{
    for (size_t i = 0; i < HASH_COUNT; i++) {
        hash_abort(&o->seq[i]);
    }
    hmac_abort(&o->hmac);
    secret_wipe(o, sizeof(*o));
    o->kind = OBJ_FREE;
}

void object_flush_all(struct tpm *t)
{
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        if (t->objects[i].kind != OBJ_FREE) {
            object_free(&t->objects[i]);
        }
    }
}

unsigned object_count(const struct tpm *t)
{
    unsigned n = 0;
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        n += t->objects[i].kind != OBJ_FREE;
    }
    return n;
}

unsigned object_persistent_count(const struct tpm *t)
{
    unsigned n = 0;
    for (size_t i = 0; i < MAX_PERSISTENT; i++) {
        n += t->p.persist[i].kind != OBJ_FREE;
    }
    return n;
}

void object_flush_hierarchy(struct tpm *t, TPM_HANDLE hierarchy)
{
    for (size_t i = 0; i < MAX_LOADED_OBJECTS; i++) {
        struct object *o = &t->objects[i];
        if (o->kind != OBJ_FREE && o->hierarchy == hierarchy) {
            object_free(o);
        }
    }
}

void object_evict_hierarchy(struct tpm *t, TPM_HANDLE hierarchy)
{
    for (size_t i = 0; i < MAX_PERSISTENT; i++) {
        struct object *o = &t->p.persist[i];
        if (o->kind != OBJ_FREE && o->hierarchy == hierarchy) {
            object_free(o);
            pers_changed(t);
        }
    }
}

/* ---- names ---- */

TPM_RC object_name(const TPMT_PUBLIC *pub, TPM2B_NAME *name)
{
    uint8_t buf[sizeof(TPMT_PUBLIC) + 64];
    struct wr w;
    uint16_t n = hash_size(pub->nameAlg);
    CHECK(n > 0, TPM_RC_HASH);
    wr_init(&w, buf, sizeof(buf));
    wr_TPMT_PUBLIC(&w, pub);
    CHECK(!w.err, TPM_RC_FAILURE);
    be16_put(name->buffer, pub->nameAlg);
    CHECK(crypto_hash(pub->nameAlg, buf, w.off, name->buffer + 2), TPM_RC_FAILURE);
    name->size = (uint16_t)(n + 2);
    return TPM_RC_SUCCESS;
}

TPM_RC object_qname(TPM_ALG_ID alg, const TPM2B_NAME *parent_qn, const TPM2B_NAME *name,
                    TPM2B_NAME *qn)
{
    struct hash_state h;
    uint16_t n = hash_size(alg);
    CHECK(n > 0, TPM_RC_HASH);
    CHECK(hash_begin(&h, alg), TPM_RC_FAILURE);
    hash_update(&h, parent_qn->buffer, parent_qn->size);
    hash_update(&h, name->buffer, name->size);
    be16_put(qn->buffer, alg);
    CHECK(hash_end(&h, qn->buffer + 2), TPM_RC_FAILURE);
    qn->size = (uint16_t)(n + 2);
    return TPM_RC_SUCCESS;
}

/* ---- kinds of object ---- */

static bool attr(const TPMT_PUBLIC *p, TPMA_OBJECT a)
{
    return (p->objectAttributes & a) != 0;
}

bool object_is_storage(const struct object *o)
{
    const TPMT_PUBLIC *p = &o->pub;
    return o->kind == OBJ_KEY && !(o->flags & OBJF_PUBLIC_ONLY) &&
           attr(p, TPMA_OBJECT_RESTRICTED) && attr(p, TPMA_OBJECT_DECRYPT) &&
           !attr(p, TPMA_OBJECT_SIGN_ENCRYPT) &&
           (p->type == TPM_ALG_RSA || p->type == TPM_ALG_ECC || p->type == TPM_ALG_SYMCIPHER);
}

bool object_is_derivation(const struct object *o)
{
    const TPMT_PUBLIC *p = &o->pub;
    return o->kind == OBJ_KEY && !(o->flags & OBJF_PUBLIC_ONLY) &&
           p->type == TPM_ALG_KEYEDHASH && attr(p, TPMA_OBJECT_RESTRICTED) &&
           attr(p, TPMA_OBJECT_DECRYPT) && !attr(p, TPMA_OBJECT_SIGN_ENCRYPT);
}

/* ---- public area checks ---- */

static bool is_sign_scheme(TPM_ALG_ID s)
{
    return s == TPM_ALG_RSASSA || s == TPM_ALG_RSAPSS || s == TPM_ALG_ECDSA ||
           s == TPM_ALG_ECDAA || s == TPM_ALG_ECSCHNORR || s == TPM_ALG_SM2 || s == TPM_ALG_HMAC;
}

static bool is_decrypt_scheme(TPM_ALG_ID s)
{
    return s == TPM_ALG_OAEP || s == TPM_ALG_RSAES || s == TPM_ALG_ECDH || s == TPM_ALG_ECMQV ||
           s == TPM_ALG_XOR;
}

/* The scheme of a key agrees with what it may do (Part 1 §27.2.4; TPM_RC_SCHEME). */
static TPM_RC check_scheme(const TPMT_PUBLIC *p, TPM_ALG_ID scheme)
{
    bool sign = attr(p, TPMA_OBJECT_SIGN_ENCRYPT), dec = attr(p, TPMA_OBJECT_DECRYPT);
    bool restricted = attr(p, TPMA_OBJECT_RESTRICTED);
    if (scheme == TPM_ALG_NULL) {
        /* A restricted signing key must name its scheme. */
        CHECK(!(restricted && sign), TPM_RC_SCHEME);
        return TPM_RC_SUCCESS;
    }
    CHECK(!(sign && dec), TPM_RC_SCHEME);          /* both uses: the scheme is chosen later */
    CHECK(!(restricted && dec), TPM_RC_SCHEME);    /* storage parents have no scheme */
    CHECK(!sign || is_sign_scheme(scheme), TPM_RC_SCHEME);
    CHECK(!dec || is_decrypt_scheme(scheme), TPM_RC_SCHEME);
    CHECK(sign || dec, TPM_RC_SCHEME);
    return TPM_RC_SUCCESS;
}

/* The symmetric definition: storage parents need AES in CFB, the rest none. */
static TPM_RC check_parent_sym(const TPMT_PUBLIC *p)
{
    const TPMT_SYM_DEF_OBJECT *s = &p->parameters.symmetric;
    bool parent = attr(p, TPMA_OBJECT_RESTRICTED) && attr(p, TPMA_OBJECT_DECRYPT);
    if (!parent) {
        CHECK(s->algorithm == TPM_ALG_NULL, TPM_RC_SYMMETRIC);
        return TPM_RC_SUCCESS;
    }
    CHECK(s->algorithm != TPM_ALG_NULL, TPM_RC_SYMMETRIC);
    CHECK(s->mode == TPM_ALG_CFB, TPM_RC_SYMMETRIC);
    return TPM_RC_SUCCESS;
}

static TPM_RC check_type_parms(const TPMT_PUBLIC *p)
{
    bool sign = attr(p, TPMA_OBJECT_SIGN_ENCRYPT), dec = attr(p, TPMA_OBJECT_DECRYPT);
    bool restricted = attr(p, TPMA_OBJECT_RESTRICTED);
    switch (p->type) {
    case TPM_ALG_RSA:
        /* Exponent: 0 stands for 2^16 + 1; otherwise an odd prime >= 3 (crypto checks). */
        CHECK(p->parameters.exponent == 0 || (p->parameters.exponent & 1), TPM_RC_VALUE);
        TRY(check_parent_sym(p));
        return check_scheme(p, p->parameters.scheme.scheme);
    case TPM_ALG_ECC:
        TRY(check_parent_sym(p));
        CHECK(p->parameters.kdf.scheme == TPM_ALG_NULL, TPM_RC_KDF);
        CHECK(!(p->parameters.scheme.scheme == TPM_ALG_ECDAA), TPM_RC_SCHEME);
        return check_scheme(p, p->parameters.scheme.scheme);
    case TPM_ALG_KEYEDHASH: {
        TPM_ALG_ID s = p->parameters.keyedHash.scheme;
        if (sign && dec) {
            CHECK(!restricted, TPM_RC_ATTRIBUTES);
            CHECK(s == TPM_ALG_NULL, TPM_RC_SCHEME);
        } else if (sign) {
            CHECK(s == TPM_ALG_HMAC || (s == TPM_ALG_NULL && !restricted), TPM_RC_SCHEME);
        } else if (dec) {
            CHECK(s == TPM_ALG_XOR || s == TPM_ALG_NULL, TPM_RC_SCHEME);
        } else {
            /* A data object (sealed data): no scheme, not restricted. */
            CHECK(s == TPM_ALG_NULL, TPM_RC_SCHEME);
            CHECK(!restricted, TPM_RC_ATTRIBUTES);
        }
        return TPM_RC_SUCCESS;
    }
    case TPM_ALG_SYMCIPHER:
        CHECK(!sign, TPM_RC_ATTRIBUTES); /* CMAC keys are not implemented */
        CHECK(dec, TPM_RC_ATTRIBUTES);
        if (restricted) {
            CHECK(p->parameters.symmetric.mode == TPM_ALG_CFB, TPM_RC_SYMMETRIC);
        }
        return TPM_RC_SUCCESS;
    default:
        return TPM_RC_TYPE;
    }
}

TPM_RC object_check_public(const TPMT_PUBLIC *p, const struct object *parent)
{
    TPMA_OBJECT a = p->objectAttributes;
    CHECK(hash_size(p->nameAlg) > 0, TPM_RC_HASH);
    CHECK(p->authPolicy.size == 0 || p->authPolicy.size == hash_size(p->nameAlg), TPM_RC_SIZE);
    CHECK(!(a & TPMA_OBJECT_RESERVED), TPM_RC_RESERVED_BITS);
    /* fixedTPM needs fixedParent; a child of a duplicable parent cannot be fixedTPM. */
    CHECK(!(a & TPMA_OBJECT_FIXEDTPM) || (a & TPMA_OBJECT_FIXEDPARENT), TPM_RC_ATTRIBUTES);
    if (parent) {
        TPMA_OBJECT pa = parent->pub.objectAttributes;
        CHECK(!(a & TPMA_OBJECT_FIXEDTPM) || (pa & TPMA_OBJECT_FIXEDTPM), TPM_RC_ATTRIBUTES);
        /* Under a parent that may be duplicated, encryptedDuplication must follow it. */
        if (!(pa & TPMA_OBJECT_FIXEDTPM)) {
            CHECK((a & TPMA_OBJECT_ENCRYPTEDDUPLICATION) ==
                      (pa & TPMA_OBJECT_ENCRYPTEDDUPLICATION),
                  TPM_RC_ATTRIBUTES);
        }
    }
    /* A restricted key is either for signing or for decryption. */
    CHECK(!((a & TPMA_OBJECT_RESTRICTED) && (a & TPMA_OBJECT_SIGN_ENCRYPT) &&
            (a & TPMA_OBJECT_DECRYPT)),
          TPM_RC_ATTRIBUTES);
    /* x509sign: an unrestricted signing key only. */
    if (a & TPMA_OBJECT_X509SIGN) {
        CHECK((a & TPMA_OBJECT_SIGN_ENCRYPT) && !(a & TPMA_OBJECT_RESTRICTED) &&
                  !(a & TPMA_OBJECT_DECRYPT),
              TPM_RC_ATTRIBUTES);
    }
    return check_type_parms(p);
}

TPM_RC object_check_create(const TPMT_PUBLIC *p, const TPMS_SENSITIVE_CREATE *sc)
{
    TPMA_OBJECT a = p->objectAttributes;
    bool sdo = (a & TPMA_OBJECT_SENSITIVEDATAORIGIN) != 0;
    CHECK(sc->userAuth.size <= hash_size(p->nameAlg), TPM_RC_SIZE);
    switch (p->type) {
    case TPM_ALG_RSA:
    case TPM_ALG_ECC:
        /* The TPM makes asymmetric keys itself. */
        CHECK(sc->data.size == 0, TPM_RC_VALUE);
        CHECK(sdo, TPM_RC_ATTRIBUTES);
        return TPM_RC_SUCCESS;
    case TPM_ALG_KEYEDHASH:
        if (!(a & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT))) {
            CHECK(!sdo, TPM_RC_ATTRIBUTES); /* data objects hold the caller's data */
            return TPM_RC_SUCCESS;
        }
        CHECK(!(sdo && sc->data.size), TPM_RC_ATTRIBUTES);
        CHECK(sdo || sc->data.size, TPM_RC_ATTRIBUTES);
        return TPM_RC_SUCCESS;
    case TPM_ALG_SYMCIPHER:
        CHECK(!(sdo && sc->data.size), TPM_RC_ATTRIBUTES);
        CHECK(sdo || sc->data.size, TPM_RC_ATTRIBUTES);
        CHECK(sdo || sc->data.size * 8 == p->parameters.symmetric.keyBits, TPM_RC_KEY_SIZE);
        return TPM_RC_SUCCESS;
    default:
        return TPM_RC_TYPE;
    }
}

/* ---- generation ---- */

TPM_RC keysrc_draw(struct keysrc *s, const char *label, uint8_t *out, size_t len)
{
    if (!s->derive) {
        CHECK(crypto_random(out, len), TPM_RC_FAILURE);
        return TPM_RC_SUCCESS;
    }
    uint8_t ctr[4];
    s->counter++;
    be32_put(ctr, s->counter);
    CHECK(len <= UINT32_MAX / 8, TPM_RC_FAILURE);
    CHECK(crypto_kdfa(s->alg, s->key, s->keylen, label, ctr, 4, s->context, s->ctxlen,
                      (uint32_t)len * 8, out),
          TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

struct rsa_src_ctx {
    struct keysrc *src;
    TPM_RC rc;
};

static bool rsa_src(void *ctx, uint8_t *buf, size_t len)
{
    struct rsa_src_ctx *c = ctx;
    c->rc = keysrc_draw(c->src, "RSA", buf, len);
    return c->rc == TPM_RC_SUCCESS;
}

/* unique of a symmetric or keyed-hash object: H_nameAlg(obfuscation value || key) */
static TPM_RC sym_unique(const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *sens, TPM2B_DIGEST *out)
{
    struct hash_state h;
    CHECK(hash_begin(&h, pub->nameAlg), TPM_RC_FAILURE);
    hash_update(&h, sens->seedValue.buffer, sens->seedValue.size);
    hash_update(&h, sens->sensitive.buffer, sens->sensitive.size);
    CHECK(hash_end(&h, out->buffer), TPM_RC_FAILURE);
    out->size = hash_size(pub->nameAlg);
    return TPM_RC_SUCCESS;
}

static bool needs_seed(const TPMT_PUBLIC *pub)
{
    bool parent = attr(pub, TPMA_OBJECT_RESTRICTED) && attr(pub, TPMA_OBJECT_DECRYPT);
    return parent || pub->type == TPM_ALG_KEYEDHASH || pub->type == TPM_ALG_SYMCIPHER;
}

TPM_RC object_generate(TPMT_PUBLIC *pub, TPMT_SENSITIVE *sens, const TPMS_SENSITIVE_CREATE *sc,
                       struct keysrc *src)
{
    uint16_t dsize = hash_size(pub->nameAlg);
    memset(sens, 0, sizeof(*sens));
    sens->sensitiveType = pub->type;
    if (needs_seed(pub)) {
        TRY(keysrc_draw(src, "SEED", sens->seedValue.buffer, dsize));
        sens->seedValue.size = dsize;
    }
    switch (pub->type) {
    case TPM_ALG_RSA: {
        uint16_t bits = pub->parameters.keyBits;
        uint32_t e = pub->parameters.exponent ? pub->parameters.exponent
                                              : CRYPTO_RSA_DEFAULT_EXPONENT;
        struct rsa_src_ctx c = {src, TPM_RC_SUCCESS};
        if (!crypto_rsa_generate(bits, e, rsa_src, &c, pub->unique.rsa.buffer,
                                 sens->sensitive.buffer)) {
            /* an exponent OpenSSL cannot use is the caller's error, the rest ours */
            return c.rc != TPM_RC_SUCCESS ? c.rc : TPM_RC_VALUE;
        }
        pub->unique.rsa.size = bits / 8;
        sens->sensitive.size = bits / 16;
        return TPM_RC_SUCCESS;
    }
    case TPM_ALG_ECC: {
        TPM_ECC_CURVE curve = pub->parameters.curveID;
        size_t size = crypto_ecc_bytes(curve);
        uint8_t r[MAX_ECC_KEY_BYTES + 8];
        TPM_RC rc = keysrc_draw(src, "ECC", r, size + 8);
        if (rc == TPM_RC_SUCCESS &&
            !(crypto_ecc_scalar_from_bytes(curve, r, size + 8, sens->sensitive.buffer) &&
              crypto_ecc_public(curve, sens->sensitive.buffer, size, pub->unique.ecc.x.buffer,
                                pub->unique.ecc.y.buffer))) {
            rc = TPM_RC_FAILURE;
        }
        secret_wipe(r, sizeof(r));
        TRY(rc);
        sens->sensitive.size = (uint16_t)size;
        pub->unique.ecc.x.size = pub->unique.ecc.y.size = (uint16_t)size;
        return TPM_RC_SUCCESS;
    }
    case TPM_ALG_KEYEDHASH:
        if (sc->data.size > 0 ||
            !attr(pub, TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT)) {
            memcpy(sens->sensitive.buffer, sc->data.buffer, sc->data.size);
            sens->sensitive.size = sc->data.size;
        } else {
            TPM_ALG_ID h = pub->parameters.keyedHash.scheme != TPM_ALG_NULL
                               ? pub->parameters.keyedHash.hashAlg
                               : pub->nameAlg;
            uint16_t n = hash_size(h);
            TRY(keysrc_draw(src, "KEYEDHASH", sens->sensitive.buffer, n));
            sens->sensitive.size = n;
        }
        return sym_unique(pub, sens, &pub->unique.digest);
    case TPM_ALG_SYMCIPHER: {
        uint16_t n = pub->parameters.symmetric.keyBits / 8;
        if (sc->data.size > 0) {
            memcpy(sens->sensitive.buffer, sc->data.buffer, sc->data.size);
        } else {
            TRY(keysrc_draw(src, "SYMCIPHER", sens->sensitive.buffer, n));
        }
        sens->sensitive.size = n;
        return sym_unique(pub, sens, &pub->unique.digest);
    }
    default:
        return TPM_RC_TYPE;
    }
}

TPM_RC object_check_binding(const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *sens)
{
    CHECK(pub->type == sens->sensitiveType, TPM_RC_TYPE);
    CHECK(sens->seedValue.size <= hash_size(pub->nameAlg), TPM_RC_KEY_SIZE);
    switch (pub->type) {
    case TPM_ALG_RSA: {
        uint32_t e = pub->parameters.exponent ? pub->parameters.exponent
                                              : CRYPTO_RSA_DEFAULT_EXPONENT;
        CHECK(pub->unique.rsa.size == pub->parameters.keyBits / 8, TPM_RC_KEY_SIZE);
        CHECK(sens->sensitive.size > 0 && sens->sensitive.size <= pub->unique.rsa.size / 2,
              TPM_RC_KEY_SIZE);
        CHECK(crypto_rsa_check(pub->unique.rsa.buffer, pub->unique.rsa.size, e,
                               sens->sensitive.buffer, sens->sensitive.size),
              TPM_RC_BINDING);
        return TPM_RC_SUCCESS;
    }
    case TPM_ALG_ECC: {
        TPM_ECC_CURVE curve = pub->parameters.curveID;
        size_t size = crypto_ecc_bytes(curve);
        uint8_t x[MAX_ECC_KEY_BYTES], y[MAX_ECC_KEY_BYTES];
        CHECK(sens->sensitive.size > 0 && sens->sensitive.size <= size, TPM_RC_KEY_SIZE);
        CHECK(crypto_ecc_public(curve, sens->sensitive.buffer, sens->sensitive.size, x, y),
              TPM_RC_BINDING);
        /* unique must be exactly Q (leading zero octets may have been stripped by a client) */
        CHECK(pub->unique.ecc.x.size <= size && pub->unique.ecc.y.size <= size, TPM_RC_BINDING);
        uint8_t ux[MAX_ECC_KEY_BYTES] = {0}, uy[MAX_ECC_KEY_BYTES] = {0};
        memcpy(ux + size - pub->unique.ecc.x.size, pub->unique.ecc.x.buffer,
               pub->unique.ecc.x.size);
        memcpy(uy + size - pub->unique.ecc.y.size, pub->unique.ecc.y.buffer,
               pub->unique.ecc.y.size);
        CHECK(memcmp(ux, x, size) == 0 && memcmp(uy, y, size) == 0, TPM_RC_BINDING);
        return TPM_RC_SUCCESS;
    }
    case TPM_ALG_KEYEDHASH:
    case TPM_ALG_SYMCIPHER: {
        TPM2B_DIGEST u;
        if (pub->type == TPM_ALG_SYMCIPHER) {
            CHECK(sens->sensitive.size * 8 == pub->parameters.symmetric.keyBits,
                  TPM_RC_KEY_SIZE);
        }
        TRY(sym_unique(pub, sens, &u));
        CHECK(u.size == pub->unique.digest.size &&
                  secret_eq(u.buffer, pub->unique.digest.buffer, u.size),
              TPM_RC_BINDING);
        return TPM_RC_SUCCESS;
    }
    default:
        return TPM_RC_TYPE;
    }
}

/* ---- protection (Part 1 §23) ---- */

TPM_RC object_wrap(TPM_ALG_ID alg, const TPMT_SYM_DEF_OBJECT *sym, const uint8_t *seed,
                   size_t seedlen, const TPM2B_NAME *name, const uint8_t *plain, size_t plen,
                   TPM2B_PRIVATE *out)
{
    uint8_t key[MAX_SYM_KEY_BYTES], hkey[MAX_DIGEST_SIZE], iv[MAX_SYM_BLOCK_SIZE] = {0};
    uint16_t dsize = hash_size(alg);
    struct hmac_state m;
    TPM_RC rc = TPM_RC_FAILURE;
    CHECK(dsize > 0 && sym->algorithm == TPM_ALG_AES, TPM_RC_SYMMETRIC);
    CHECK(2 + dsize + plen <= sizeof(out->buffer), TPM_RC_SIZE);
    if (!crypto_kdfa(alg, seed, seedlen, "STORAGE", name->buffer, name->size, NULL, 0,
                     sym->keyBits, key) ||
        !crypto_kdfa(alg, seed, seedlen, "INTEGRITY", NULL, 0, NULL, 0, dsize * 8u, hkey)) {
        goto out;
    }
    uint8_t *enc = out->buffer + 2 + dsize;
    if (!crypto_sym(TPM_ALG_AES, sym->keyBits, TPM_ALG_CFB, true, key, iv, plain, enc, plen) ||
        !hmac_begin(&m, alg, hkey, dsize)) {
        goto out;
    }
    hmac_update(&m, enc, plen);
    hmac_update(&m, name->buffer, name->size);
    if (!hmac_end(&m, out->buffer + 2)) {
        goto out;
    }
    be16_put(out->buffer, dsize);
    out->size = (uint16_t)(2 + dsize + plen);
    rc = TPM_RC_SUCCESS;
out:
    secret_wipe(key, sizeof(key));
    secret_wipe(hkey, sizeof(hkey));
    return rc;
}

TPM_RC object_unwrap(TPM_ALG_ID alg, const TPMT_SYM_DEF_OBJECT *sym, const uint8_t *seed,
                     size_t seedlen, const TPM2B_NAME *name, const uint8_t *blob, size_t blen,
                     uint8_t *plain, size_t cap, size_t *plen)
{
    uint8_t key[MAX_SYM_KEY_BYTES], hkey[MAX_DIGEST_SIZE], mac[MAX_DIGEST_SIZE];
    uint8_t iv[MAX_SYM_BLOCK_SIZE] = {0};
    uint16_t dsize = hash_size(alg);
    struct hmac_state m;
    struct rd r;
    uint16_t isize;
    const uint8_t *given;
    TPM_RC rc = TPM_RC_FAILURE;
    CHECK(dsize > 0 && sym->algorithm == TPM_ALG_AES, TPM_RC_SYMMETRIC);
    rd_init(&r, blob, blen);
    /* The integrity digest must be one of the parent's nameAlg (Part 1 §23.4). */
    CHECK(rd_u16(&r, &isize) && isize == dsize && rd_ptr(&r, dsize, &given), TPM_RC_INTEGRITY);
    size_t elen = rd_left(&r);
    CHECK(elen > 0, TPM_RC_INTEGRITY);
    CHECK(elen <= cap, TPM_RC_SIZE);
    const uint8_t *enc = blob + 2 + dsize;
    if (!crypto_kdfa(alg, seed, seedlen, "INTEGRITY", NULL, 0, NULL, 0, dsize * 8u, hkey) ||
        !hmac_begin(&m, alg, hkey, dsize)) {
        goto out;
    }
    hmac_update(&m, enc, elen);
    hmac_update(&m, name->buffer, name->size);
    if (!hmac_end(&m, mac)) {
        goto out;
    }
    if (!secret_eq(mac, given, dsize)) {
        rc = TPM_RC_INTEGRITY;
        goto out;
    }
    if (!crypto_kdfa(alg, seed, seedlen, "STORAGE", name->buffer, name->size, NULL, 0,
                     sym->keyBits, key) ||
        !crypto_sym(TPM_ALG_AES, sym->keyBits, TPM_ALG_CFB, false, key, iv, enc, plain, elen)) {
        goto out;
    }
    *plen = elen;
    rc = TPM_RC_SUCCESS;
out:
    secret_wipe(key, sizeof(key));
    secret_wipe(hkey, sizeof(hkey));
    secret_wipe(mac, sizeof(mac));
    return rc;
}

TPM_RC object_protect(const struct object *parent, const TPM2B_NAME *name,
                      const TPMT_SENSITIVE *sens, TPM2B_PRIVATE *out)
{
    uint8_t buf[sizeof(TPMT_SENSITIVE) + 16];
    struct wr w;
    wr_init(&w, buf, sizeof(buf));
    wr_TPM2B_SENSITIVE(&w, sens);
    TPM_RC rc = w.err ? TPM_RC_FAILURE
                      : object_wrap(parent->pub.nameAlg, &parent->pub.parameters.symmetric,
                                    parent->sens.seedValue.buffer, parent->sens.seedValue.size,
                                    name, buf, w.off, out);
    secret_wipe(buf, sizeof(buf));
    return rc;
}

TPM_RC object_unprotect(const struct object *parent, const TPM2B_NAME *name,
                        const TPM2B_PRIVATE *in, TPMT_SENSITIVE *sens)
{
    uint8_t buf[sizeof(TPM2B_PRIVATE)];
    size_t len = 0;
    struct rd r;
    TPM_RC rc = object_unwrap(parent->pub.nameAlg, &parent->pub.parameters.symmetric,
                              parent->sens.seedValue.buffer, parent->sens.seedValue.size, name,
                              in->buffer, in->size, buf, sizeof(buf), &len);
    if (rc == TPM_RC_SUCCESS) {
        rd_init(&r, buf, len);
        rc = rd_TPM2B_SENSITIVE(&r, sens);
        if (rc != TPM_RC_SUCCESS || !rd_done(&r)) {
            rc = TPM_RC_SENSITIVE;
        }
    }
    secret_wipe(buf, sizeof(buf));
    return rc;
}

TPM_RC object_install(struct object *o, TPM_HANDLE hierarchy, const TPM2B_NAME *parent_qn,
                      const TPMT_PUBLIC *pub, const TPMT_SENSITIVE *sens, uint8_t flags)
{
    o->kind = OBJ_KEY;
    o->flags = flags;
    o->hierarchy = hierarchy;
    o->pub = *pub;
    if (sens) {
        o->sens = *sens;
        memcpy(&o->auth, &sens->authValue, sizeof(o->auth));
        secret_wipe(&o->sens.authValue, sizeof(o->sens.authValue));
    }
    TRY(object_name(pub, &o->name));
    if (parent_qn) {
        return object_qname(pub->nameAlg, parent_qn, &o->name, &o->qname);
    }
    o->qname = o->name;
    return TPM_RC_SUCCESS;
}

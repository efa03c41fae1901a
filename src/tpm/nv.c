/*
 * NV indices: the store (Part 1 §37), the index types and attributes of Part 2 §13 (TPM_NT,
 * TPMA_NV), and the commands of Part 3 §31: NV_DefineSpace §31.3, NV_UndefineSpace §31.4,
 * NV_UndefineSpaceSpecial §31.5, NV_ReadPublic §31.6, NV_Write §31.7, NV_Increment §31.8,
 * NV_Extend §31.9, NV_SetBits §31.10, NV_WriteLock §31.11, NV_GlobalWriteLock §31.12,
 * NV_Read §31.13, NV_ReadLock §31.14, NV_ChangeAuth §31.15 (revision 1.59 numbering).
 *
 * Durability: an index without TPMA_NV_ORDERLY lives in the persistent state, and every change
 * to it marks the state changed so that the host commits it before the response leaves. An
 * orderly index is changed in its live copy (struct nv_ram) and reaches NV at Shutdown, at its
 * first write, when its attributes change and, for a counter, whenever its low bits roll over
 * NV_ORDERLY_COUNT ("hybrid" counters): after a power loss it comes back as of that copy, and
 * a counter then starts past the last block it could have reached, so that it never gives a
 * value twice.
 */
#include "nv.h"

#include <stdlib.h>
#include <string.h>

#include "../common/secret.h"
#include "alg.h"
#include "auth.h"
#include "cmd.h"

#define NT(a) (((a) & TPMA_NV_TPM_NT_MASK) >> TPMA_NV_TPM_NT_SHIFT)

/* Attributes that only the TPM sets (Part 2 §13.4): refused in a definition. */
#define NV_STATE_BITS (TPMA_NV_WRITTEN | TPMA_NV_WRITELOCKED | TPMA_NV_READLOCKED)

static const struct policy nv_no_policy = {TPM_ALG_NULL, {0, {0}}};

/* ---- the store ---- */

static int slot_of(const struct nv_state *nv, TPM_HANDLE h)
{
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        if (nv->idx[i].used && nv->idx[i].pub.nvIndex == h) {
            return i;
        }
    }
    return -1;
}

static bool is_orderly(const struct nv_index *x)
{
    return (x->pub.attributes & TPMA_NV_ORDERLY) != 0;
}

static bool is_pin(TPMA_NV a)
{
    return NT(a) == TPM_NT_PIN_FAIL || NT(a) == TPM_NT_PIN_PASS;
}

/* The live attributes and data of slot i. */
static TPMA_NV *attrs(struct tpm *t, int i)
{
    return is_orderly(&t->p.nv.idx[i]) ? &t->nv_ram.attributes[i]
                                        : &t->p.nv.idx[i].pub.attributes;
}

static TPMA_NV attrs_c(const struct tpm *t, int i)
{
    return is_orderly(&t->p.nv.idx[i]) ? t->nv_ram.attributes[i]
                                        : t->p.nv.idx[i].pub.attributes;
}

static uint8_t *data(struct tpm *t, int i)
{
    const struct nv_index *x = &t->p.nv.idx[i];
    return is_orderly(x) ? t->nv_ram.data + t->nv_ram.off[i] : t->p.nv.data + x->off;
}

/* Counters, bit fields and PIN parameters are stored as they are marshaled: big-endian. */
static uint64_t get_u64(const uint8_t *p)
{
    struct rd r;
    uint64_t v = 0;
    rd_init(&r, p, 8);
    (void)rd_u64(&r, &v);
    return v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    struct wr w;
    wr_init(&w, p, 8);
    wr_u64(&w, v);
}

/* The public area as it is now (live attributes): what NV_ReadPublic and the Name show. */
static void live_public(const struct tpm *t, int i, TPMS_NV_PUBLIC *out)
{
    *out = t->p.nv.idx[i].pub;
    out->attributes = attrs_c(t, i);
}

/* Part 1 §16: Name = nameAlg || H_nameAlg(TPMS_NV_PUBLIC as marshaled). */
static bool index_name(const struct tpm *t, int i, TPM2B_NAME *name)
{
    TPMS_NV_PUBLIC pub;
    uint8_t buf[96];
    struct wr w;
    live_public(t, i, &pub);
    wr_init(&w, buf, sizeof(buf));
    wr_TPMS_NV_PUBLIC(&w, &pub);
    name->size = 0;
    if (w.err || !crypto_hash(pub.nameAlg, buf, w.off, name->buffer + 2)) {
        return false;
    }
    be16_put(name->buffer, pub.nameAlg);
    name->size = (uint16_t)(2 + hash_size(pub.nameAlg));
    return true;
}

/* The NV copy of orderly slot i takes its live attributes and data. */
static void sync_index(struct tpm *t, int i)
{
    struct nv_index *x = &t->p.nv.idx[i];
    x->pub.attributes = t->nv_ram.attributes[i];
    memcpy(t->p.nv.data + x->off, t->nv_ram.data + t->nv_ram.off[i], x->pub.dataSize);
}

/*
 * Slot i changed. Non-orderly: commit. Orderly: commit the live copy when sync is asked;
 * otherwise the change stays in RAM, and if a Shutdown already recorded an orderly state that
 * no longer holds, that state is withdrawn (the next start-up is then not orderly).
 */
static void changed(struct tpm *t, int i, bool sync)
{
    if (!is_orderly(&t->p.nv.idx[i])) {
        pers_changed(t);
    } else if (sync) {
        sync_index(t, i);
        pers_changed(t);
    } else if (t->p.orderly != SU_NONE) {
        t->p.orderly = SU_NONE;
        pers_changed(t);
    }
}

/* Store n bytes at off and set TPMA_NV_WRITTEN; the same bytes again change nothing. The
 * first write of an index always reaches NV. */
static void store(struct tpm *t, int i, uint16_t off, const uint8_t *p, uint16_t n, bool sync)
{
    TPMA_NV *a = attrs(t, i);
    uint8_t *d = data(t, i) + off;
    bool first = !(*a & TPMA_NV_WRITTEN);
    if (!first && memcmp(d, p, n) == 0) {
        return;
    }
    memmove(d, p, n);
    *a |= TPMA_NV_WRITTEN;
    changed(t, i, first || sync);
}

/* New attributes (locks): always committed, for orderly indices too. */
static void set_attrs(struct tpm *t, int i, TPMA_NV a)
{
    TPMA_NV *cur = attrs(t, i);
    if (*cur != a) {
        *cur = a;
        changed(t, i, true);
    }
}

/* Remove size bytes at off from a packed pool of used bytes; the caller moves offsets. */
static void pool_cut(uint8_t *pool, uint32_t used, uint32_t off, uint32_t size)
{
    memmove(pool + off, pool + off + size, used - off - size);
    secret_wipe(pool + used - size, size);
}

/* Delete slot i. A counter leaves its value behind: counters defined later start above it. */
static void delete_index(struct tpm *t, int i)
{
    struct nv_state *nv = &t->p.nv;
    struct nv_ram *ram = &t->nv_ram;
    struct nv_index *x = &nv->idx[i];
    TPMA_NV a = *attrs(t, i);
    uint16_t size = x->pub.dataSize;
    if (NT(a) == TPM_NT_COUNTER && (a & TPMA_NV_WRITTEN)) {
        uint64_t v = get_u64(data(t, i));
        if (v > nv->max_counter) {
            nv->max_counter = v;
        }
    }
    if (is_orderly(x)) {
        uint16_t off = ram->off[i];
        pool_cut(ram->data, ram->used, off, size);
        for (int j = 0; j < NV_MAX_INDICES; j++) {
            if (j != i && nv->idx[j].used && is_orderly(&nv->idx[j]) && ram->off[j] > off) {
                ram->off[j] = (uint16_t)(ram->off[j] - size);
            }
        }
        ram->used = (uint16_t)(ram->used - size);
        ram->attributes[i] = 0;
        ram->off[i] = 0;
    }
    pool_cut(nv->data, nv->used, x->off, size);
    for (int j = 0; j < NV_MAX_INDICES; j++) {
        if (j != i && nv->idx[j].used && nv->idx[j].off > x->off) {
            nv->idx[j].off -= size;
        }
    }
    nv->used -= size;
    secret_wipe(x, sizeof(*x));
    pers_changed(t);
}

bool nv_reserve(struct nv_state *nv, uint32_t need)
{
    /* Allocated at the first index even when it has no data, so that nv->data + off is
     * always a valid pointer where an index exists (a fuzz finding: NULL + 0 for a
     * zero-size index is undefined behaviour). */
    if (need <= nv->cap && nv->data) {
        return true;
    }
    if (need > NV_DATA_BYTES) {
        return false;
    }
    uint32_t cap = nv->cap ? nv->cap : 4096;
    while (cap < need) {
        cap *= 2;
    }
    if (cap > NV_DATA_BYTES) {
        cap = NV_DATA_BYTES;
    }
    uint8_t *d = calloc(1, cap);
    if (!d) {
        return false;
    }
    if (nv->data) {
        memcpy(d, nv->data, nv->used);
        secret_wipe(nv->data, nv->cap);
        free(nv->data);
    }
    nv->data = d;
    nv->cap = cap;
    return true;
}

void nv_state_free(struct nv_state *nv)
{
    if (nv->data) {
        secret_wipe(nv->data, nv->cap);
        free(nv->data);
    }
    nv->data = NULL;
    nv->cap = 0;
}

/* The first value of a counter: above every counter there is or was (Part 1 §37, Part 3
 * §31.8: a counter index never shows a value lower than one it showed before). */
static uint64_t counter_start(struct tpm *t)
{
    uint64_t m = t->p.nv.max_counter;
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        if (!t->p.nv.idx[i].used) {
            continue;
        }
        TPMA_NV a = *attrs(t, i);
        if (NT(a) == TPM_NT_COUNTER && (a & TPMA_NV_WRITTEN)) {
            uint64_t v = get_u64(data(t, i));
            m = v > m ? v : m;
        }
    }
    return m;
}

/* ---- definition rules (Part 2 §13.4, Part 3 §31.3.1) ---- */

/*
 * The checks of NV_DefineSpace on a public area, apart from the ones on the handles and the
 * authValue: creator is TPM_RH_OWNER or TPM_RH_PLATFORM. Codes carry their parameter (2,
 * publicInfo) or handle (1, authHandle) number.
 */
static TPM_RC check_public(const TPMS_NV_PUBLIC *p, TPM_HANDLE creator)
{
    TPMA_NV a = p->attributes;
    uint16_t hs = hash_size(p->nameAlg);
    unsigned nt = NT(a);
    CHECK(p->authPolicy.size == 0 || p->authPolicy.size == hs, RC_P(TPM_RC_SIZE, 2));
    CHECK(nt == TPM_NT_ORDINARY || nt == TPM_NT_COUNTER || nt == TPM_NT_BITS ||
              nt == TPM_NT_EXTEND || nt == TPM_NT_PIN_FAIL || nt == TPM_NT_PIN_PASS,
          RC_P(TPM_RC_ATTRIBUTES, 2));
    switch (nt) {
    case TPM_NT_ORDINARY:
        CHECK(p->dataSize <= MAX_NV_INDEX_SIZE, RC_P(TPM_RC_SIZE, 2));
        break;
    case TPM_NT_EXTEND:
        CHECK(p->dataSize == hs, RC_P(TPM_RC_SIZE, 2));
        break;
    default: /* counter, bits, PIN: eight octets */
        CHECK(p->dataSize == 8, RC_P(TPM_RC_SIZE, 2));
        break;
    }
    /* A counter is never cleared; a PIN Fail index is its own dictionary-attack defence; the
     * authValue of a PIN index is not there to write it with, and it may not be locked. */
    CHECK(!(nt == TPM_NT_COUNTER && (a & TPMA_NV_CLEAR_STCLEAR)), RC_P(TPM_RC_ATTRIBUTES, 2));
    CHECK(!(nt == TPM_NT_PIN_FAIL && !(a & TPMA_NV_NO_DA)), RC_P(TPM_RC_ATTRIBUTES, 2));
    CHECK(!(is_pin(a) && (a & (TPMA_NV_AUTHWRITE | TPMA_NV_GLOBALLOCK | TPMA_NV_WRITEDEFINE))),
          RC_P(TPM_RC_ATTRIBUTES, 2));
    CHECK(!(a & NV_STATE_BITS), RC_P(TPM_RC_ATTRIBUTES, 2));
    /* There must be a way to read it and a way to write it. */
    CHECK(a & (TPMA_NV_OWNERREAD | TPMA_NV_PPREAD | TPMA_NV_AUTHREAD | TPMA_NV_POLICYREAD),
          RC_P(TPM_RC_ATTRIBUTES, 2));
    CHECK(a & (TPMA_NV_OWNERWRITE | TPMA_NV_PPWRITE | TPMA_NV_AUTHWRITE | TPMA_NV_POLICYWRITE),
          RC_P(TPM_RC_ATTRIBUTES, 2));
    CHECK(!((a & TPMA_NV_CLEAR_STCLEAR) && (a & TPMA_NV_WRITEDEFINE)), RC_P(TPM_RC_ATTRIBUTES, 2));
    /* Its creator must be able to delete it. */
    CHECK(((a & TPMA_NV_PLATFORMCREATE) != 0) == (creator == TPM_RH_PLATFORM),
          RC_H(TPM_RC_ATTRIBUTES, 1));
    CHECK(!((a & TPMA_NV_POLICY_DELETE) && creator != TPM_RH_PLATFORM),
          RC_P(TPM_RC_ATTRIBUTES, 2));
    /* A write of the whole index must fit one command. */
    CHECK(!(p->dataSize > MAX_NV_BUFFER_SIZE && (a & TPMA_NV_WRITEALL)), RC_P(TPM_RC_SIZE, 2));
    return TPM_RC_SUCCESS;
}

/* ---- access rules (Part 3 §31: NvWriteAccessChecks, NvReadAccessChecks) ---- */

/* The authorization (already checked by the dispatcher) came from auth: may it write? */
static TPM_RC write_access(TPM_HANDLE auth, TPM_HANDLE h, TPMA_NV a)
{
    CHECK(!(a & TPMA_NV_WRITELOCKED), TPM_RC_NV_LOCKED);
    if (auth == TPM_RH_OWNER) {
        CHECK(a & TPMA_NV_OWNERWRITE, TPM_RC_NV_AUTHORIZATION);
    } else if (auth == TPM_RH_PLATFORM) {
        CHECK(a & TPMA_NV_PPWRITE, TPM_RC_NV_AUTHORIZATION);
    } else {
        /* The index itself: AUTHWRITE or POLICYWRITE was required to authorize it. */
        CHECK(auth == h, TPM_RC_NV_AUTHORIZATION);
    }
    return TPM_RC_SUCCESS;
}

static TPM_RC read_access(TPM_HANDLE auth, TPM_HANDLE h, TPMA_NV a)
{
    CHECK(!(a & TPMA_NV_READLOCKED), TPM_RC_NV_LOCKED);
    if (auth == TPM_RH_OWNER) {
        CHECK(a & TPMA_NV_OWNERREAD, TPM_RC_NV_AUTHORIZATION);
    } else if (auth == TPM_RH_PLATFORM) {
        CHECK(a & TPMA_NV_PPREAD, TPM_RC_NV_AUTHORIZATION);
    } else {
        CHECK(auth == h, TPM_RC_NV_AUTHORIZATION);
    }
    /* After the authorization checks, so that NV_ReadLock can lock an unwritten index. */
    CHECK(a & TPMA_NV_WRITTEN, TPM_RC_NV_UNINITIALIZED);
    return TPM_RC_SUCCESS;
}

/* Commands that write an index's data (and NV_WriteLock): they use the write authorizations
 * (AUTHWRITE, POLICYWRITE); every other command that authorizes with an index reads. */
static bool is_write_command(TPM_CC cc)
{
    return cc == TPM_CC_NV_Write || cc == TPM_CC_NV_Increment || cc == TPM_CC_NV_SetBits ||
           cc == TPM_CC_NV_Extend || cc == TPM_CC_NV_WriteLock;
}

/* ---- interfaces of nv.h ---- */

TPM_RC nv_check_handle(struct tpm *t, TPM_HANDLE h)
{
    int i = slot_of(&t->p.nv, h);
    CHECK(i >= 0, TPM_RC_HANDLE);
    /* An index of a disabled hierarchy is as if it were not there (Part 3 §5.4). */
    if (t->p.nv.idx[i].pub.attributes & TPMA_NV_PLATFORMCREATE) {
        CHECK(t->sc.ph_enable_nv, TPM_RC_HANDLE);
    } else {
        CHECK(t->sc.sh_enable, TPM_RC_HANDLE);
    }
    return TPM_RC_SUCCESS;
}

TPM_RC nv_entity(struct tpm *t, TPM_HANDLE h, struct entity *e)
{
    int i = slot_of(&t->p.nv, h);
    CHECK(i >= 0, TPM_RC_HANDLE);
    const struct nv_index *x = &t->p.nv.idx[i];
    TPMA_NV a = attrs_c(t, i);
    e->auth = &x->auth;
    e->policy = x->policy.alg != TPM_ALG_NULL ? &x->policy : &nv_no_policy;
    e->da_protected = !(a & TPMA_NV_NO_DA);
    e->user_with_auth = true;   /* narrowed per command by nv_entity_for_command */
    e->admin_with_auth = false; /* the ADMIN role (NV_ChangeAuth, UndefineSpaceSpecial) needs
                                 * a policy (Part 1 §19.7) */
    e->pin = is_pin(a);
    e->name_alg = x->pub.nameAlg;
    e->hierarchy = (a & TPMA_NV_PLATFORMCREATE) ? TPM_RH_PLATFORM : TPM_RH_OWNER;
    CHECK(index_name(t, i, &e->name), TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

void nv_entity_for_command(struct tpm *t, TPM_CC cc, unsigned role, struct entity *e)
{
    int i = slot_of(&t->p.nv, e->handle);
    if (i < 0) {
        return;
    }
    TPMA_NV a = attrs_c(t, i);
    bool policy_ok;
    if (is_write_command(cc)) {
        e->user_with_auth = (a & TPMA_NV_AUTHWRITE) != 0;
        policy_ok = (a & TPMA_NV_POLICYWRITE) != 0;
    } else {
        if (is_pin(a)) {
            /* A PIN index's authValue serves while pinCount < pinLimit, once written. */
            const uint8_t *d = data(t, i);
            uint64_t v = get_u64(d);
            e->user_with_auth = (a & TPMA_NV_WRITTEN) && (uint32_t)(v >> 32) < (uint32_t)v;
        } else {
            e->user_with_auth = (a & TPMA_NV_AUTHREAD) != 0;
        }
        policy_ok = (a & TPMA_NV_POLICYREAD) != 0;
    }
    if (role == ROLE_ADMIN) {
        policy_ok = true;
    }
    if (!policy_ok) {
        e->policy = &nv_no_policy;
    }
}

void nv_pin_result(struct tpm *t, TPM_HANDLE h, bool success)
{
    int i = slot_of(&t->p.nv, h);
    if (i < 0) {
        return;
    }
    TPMA_NV a = *attrs(t, i);
    uint8_t d[8];
    if (!is_pin(a) || !(a & TPMA_NV_WRITTEN)) {
        return;
    }
    /* TPMS_NV_PIN_COUNTER_PARAMETERS: pinCount, then pinLimit */
    uint64_t v = get_u64(data(t, i));
    uint32_t count = (uint32_t)(v >> 32), limit = (uint32_t)v, next = count;
    if (NT(a) == TPM_NT_PIN_FAIL) {
        next = success ? 0 : (count == UINT32_MAX ? count : count + 1);
    } else if (success && count != UINT32_MAX) {
        next = count + 1;
    }
    put_u64(d, (uint64_t)next << 32 | limit);
    store(t, i, 0, d, 8, false);
}

TPM_RC nv_read_check(struct tpm *t, TPM_HANDLE auth, TPM_HANDLE h)
{
    int i = slot_of(&t->p.nv, h);
    CHECK(i >= 0, TPM_RC_HANDLE);
    return read_access(auth, h, attrs_c(t, i));
}

const uint8_t *nv_data_of(struct tpm *t, TPM_HANDLE h, uint16_t *size)
{
    int i = slot_of(&t->p.nv, h);
    if (i < 0) {
        *size = 0;
        return NULL;
    }
    *size = t->p.nv.idx[i].pub.dataSize;
    return data(t, i);
}

int nv_is_written(struct tpm *t, TPM_HANDLE h)
{
    int i = slot_of(&t->p.nv, h);
    return i < 0 ? -1 : (attrs_c(t, i) & TPMA_NV_WRITTEN) != 0;
}

/* ---- life cycle ---- */

void nv_ram_init(const struct nv_state *nv, struct nv_ram *ram)
{
    memset(ram, 0, sizeof(*ram));
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        const struct nv_index *x = &nv->idx[i];
        /* nv_state_read and DefineSpace keep the orderly total within NV_RAM_BYTES. */
        if (!x->used || !is_orderly(x) || ram->used + x->pub.dataSize > NV_RAM_BYTES) {
            continue;
        }
        ram->attributes[i] = x->pub.attributes;
        ram->off[i] = ram->used;
        memcpy(ram->data + ram->used, nv->data + x->off, x->pub.dataSize);
        ram->used = (uint16_t)(ram->used + x->pub.dataSize);
    }
}

/* Part 3 §9.3 and the reference's NvSetStartupAttributes: a TPM Reset or Restart. */
static TPMA_NV startup_attributes(TPMA_NV a, bool reset)
{
    a &= ~(TPMA_NV)TPMA_NV_READLOCKED;
    if (NT(a) != TPM_NT_COUNTER &&
        ((a & TPMA_NV_CLEAR_STCLEAR) || ((a & TPMA_NV_ORDERLY) && reset))) {
        a &= ~(TPMA_NV)TPMA_NV_WRITTEN;
    }
    if (!(a & TPMA_NV_WRITTEN) || !(a & TPMA_NV_WRITEDEFINE)) {
        a &= ~(TPMA_NV)TPMA_NV_WRITELOCKED;
    }
    return a;
}

void nv_startup(struct tpm *t, enum nv_startup kind, bool disorderly)
{
    nv_ram_init(&t->p.nv, &t->nv_ram);
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        if (!t->p.nv.idx[i].used) {
            continue;
        }
        TPMA_NV *a = attrs(t, i);
        if (kind != NV_RESUME) {
            *a = startup_attributes(*a, kind == NV_RESET);
        }
        if (disorderly && is_orderly(&t->p.nv.idx[i]) && NT(*a) == TPM_NT_COUNTER &&
            (*a & TPMA_NV_WRITTEN)) {
            /* Increments since the last NV copy are lost: move to the end of the block they
             * could have reached; the next increment crosses into a new one and commits. */
            uint8_t *d = data(t, i);
            put_u64(d, get_u64(d) | NV_ORDERLY_COUNT);
        }
    }
}

void nv_shutdown(struct tpm *t)
{
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        if (t->p.nv.idx[i].used && is_orderly(&t->p.nv.idx[i])) {
            sync_index(t, i);
        }
    }
}

void nv_clear(struct tpm *t)
{
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        if (t->p.nv.idx[i].used &&
            !(t->p.nv.idx[i].pub.attributes & TPMA_NV_PLATFORMCREATE)) {
            delete_index(t, i);
        }
    }
}

/* ---- capabilities ---- */

unsigned nv_index_count(const struct tpm *t)
{
    unsigned n = 0;
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        n += t->p.nv.idx[i].used;
    }
    return n;
}

unsigned nv_counter_count(const struct tpm *t)
{
    unsigned n = 0;
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        n += t->p.nv.idx[i].used && NT(t->p.nv.idx[i].pub.attributes) == TPM_NT_COUNTER;
    }
    return n;
}

unsigned nv_counters_avail(const struct tpm *t)
{
    unsigned slots = NV_MAX_INDICES - nv_index_count(t);
    unsigned room = (NV_DATA_BYTES - t->p.nv.used) / 8;
    return slots < room ? slots : room;
}

bool nv_next_handle(const struct tpm *t, TPM_HANDLE *h)
{
    bool found = false;
    TPM_HANDLE best = 0;
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        TPM_HANDLE x = t->p.nv.idx[i].pub.nvIndex;
        if (t->p.nv.idx[i].used && x >= *h && (!found || x < best)) {
            best = x;
            found = true;
        }
    }
    if (found) {
        *h = best;
    }
    return found;
}

/* ---- saved state ---- */

/*
 * { u64 maxCounter, u16 count, count x { TPMS_NV_PUBLIC, TPM2B_AUTH, dataSize bytes } }
 * in slot order; the data of an orderly index is its NV copy.
 */
void nv_state_write(struct wr *w, const struct nv_state *nv)
{
    uint16_t n = 0;
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        n += nv->idx[i].used;
    }
    wr_u64(w, nv->max_counter);
    wr_u16(w, n);
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        const struct nv_index *x = &nv->idx[i];
        if (x->used) {
            wr_TPMS_NV_PUBLIC(w, &x->pub);
            WR_TPM2B(w, &x->auth);
            wr_bytes(w, nv->data + x->off, x->pub.dataSize);
        }
    }
}

bool nv_state_read(struct rd *r, struct nv_state *nv)
{
    uint16_t n;
    uint32_t ram = 0;
    secret_wipe(nv, sizeof(*nv)); /* a repeated section replaces the first */
    if (!rd_u64(r, &nv->max_counter) || !rd_u16(r, &n) || n > NV_MAX_INDICES) {
        return false;
    }
    for (uint16_t i = 0; i < n; i++) {
        struct nv_index *x = &nv->idx[i];
        TPMS_NV_PUBLIC fresh;
        if (rd_TPMS_NV_PUBLIC(r, &x->pub) != TPM_RC_SUCCESS ||
            RD_TPM2B(r, &x->auth) != TPM_RC_SUCCESS ||
            x->auth.size > hash_size(x->pub.nameAlg) ||
            x->pub.dataSize > NV_DATA_BYTES - nv->used || slot_of(nv, x->pub.nvIndex) >= 0) {
            return false;
        }
        /* The same rules as at definition, the TPM-set bits apart. */
        fresh = x->pub;
        fresh.attributes &= ~(TPMA_NV)NV_STATE_BITS;
        TPM_HANDLE creator =
            (fresh.attributes & TPMA_NV_PLATFORMCREATE) ? TPM_RH_PLATFORM : TPM_RH_OWNER;
        if (check_public(&fresh, creator) != TPM_RC_SUCCESS) {
            return false;
        }
        if (is_orderly(x)) {
            ram += x->pub.dataSize;
            if (ram > NV_RAM_BYTES) {
                return false;
            }
        }
        x->off = nv->used;
        if (!nv_reserve(nv, nv->used + x->pub.dataSize) ||
            !rd_bytes(r, nv->data + x->off, x->pub.dataSize)) {
            return false;
        }
        nv->used += x->pub.dataSize;
        x->policy.alg = x->pub.authPolicy.size ? x->pub.nameAlg : TPM_ALG_NULL;
        x->policy.digest = x->pub.authPolicy;
        x->used = true;
    }
    return true;
}

void nv_ram_rollback(const struct nv_state *old_nv, const struct nv_ram *old_ram,
                     bool orderly_recorded, const struct nv_state *nv, struct nv_ram *ram)
{
    nv_ram_init(nv, ram);
    if (orderly_recorded) {
        return; /* after a Shutdown the live copies equal NV until that record is withdrawn */
    }
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        const struct nv_index *x = &nv->idx[i];
        int j = x->used && is_orderly(x) ? slot_of(old_nv, x->pub.nvIndex) : -1;
        if (j < 0) {
            continue;
        }
        const struct nv_index *o = &old_nv->idx[j];
        TPMA_NV live = old_ram->attributes[j], now = ram->attributes[i];
        if (!is_orderly(o) || o->pub.dataSize != x->pub.dataSize ||
            (live & ~(TPMA_NV)NV_STATE_BITS) != (now & ~(TPMA_NV)NV_STATE_BITS)) {
            continue;
        }
        /* State bits NV does not have came from the undone command (locks and first writes
         * always reach NV); those NV has but RAM lost were cleared by a Startup. */
        TPMA_NV a = live & (now | ~(TPMA_NV)NV_STATE_BITS);
        ram->attributes[i] = a;
        if (!(a & TPMA_NV_WRITTEN)) {
            continue;
        }
        const uint8_t *src = old_ram->data + old_ram->off[j];
        uint8_t *dst = ram->data + ram->off[i];
        if (NT(a) == TPM_NT_COUNTER) {
            uint64_t in_nv = get_u64(dst), v = get_u64(src);
            uint64_t end = in_nv | NV_ORDERLY_COUNT;
            put_u64(dst, v < in_nv ? in_nv : v > end ? end : v);
        } else {
            memcpy(dst, src, x->pub.dataSize);
        }
    }
}

/* { u16 count, count x { u32 handle, u32 attributes, u16 size, size bytes } } */
void nv_ram_write(struct wr *w, const struct nv_state *nv, const struct nv_ram *ram)
{
    uint16_t n = 0;
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        n += nv->idx[i].used && is_orderly(&nv->idx[i]);
    }
    wr_u16(w, n);
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        const struct nv_index *x = &nv->idx[i];
        if (x->used && is_orderly(x)) {
            wr_u32(w, x->pub.nvIndex);
            wr_u32(w, ram->attributes[i]);
            wr_tpm2b(w, ram->data + ram->off[i], x->pub.dataSize);
        }
    }
}

bool nv_ram_read(struct rd *r, const struct nv_state *nv, struct nv_ram *ram)
{
    uint16_t n;
    if (!rd_u16(r, &n) || n > NV_MAX_INDICES) {
        return false;
    }
    for (uint16_t k = 0; k < n; k++) {
        TPM_HANDLE h;
        TPMA_NV a;
        uint16_t size;
        if (!rd_u32(r, &h) || !rd_u32(r, &a) || !rd_u16(r, &size)) {
            return false;
        }
        int i = slot_of(nv, h);
        const struct nv_index *x = i >= 0 ? &nv->idx[i] : NULL;
        /* Live attributes may differ from NV only in the bits the TPM sets. */
        if (!x || !is_orderly(x) || size != x->pub.dataSize ||
            (a & ~(TPMA_NV)NV_STATE_BITS) != (x->pub.attributes & ~(TPMA_NV)NV_STATE_BITS) ||
            !rd_bytes(r, ram->data + ram->off[i], size)) {
            return false;
        }
        ram->attributes[i] = a;
    }
    return true;
}

/* ---- Part 3 §31.3 TPM2_NV_DefineSpace ---- */

struct in_NV_DefineSpace {
    TPM2B_AUTH auth;
    TPMS_NV_PUBLIC publicInfo;
};

static TPM_RC parse_NV_DefineSpace(struct rd *r, struct in_NV_DefineSpace *in)
{
    PARAM(1, RD_TPM2B(r, &in->auth));
    PARAM(2, rd_TPM2B_NV_PUBLIC(r, &in->publicInfo));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_NV_DefineSpace(struct tpm *t, struct cmd *c, const struct in_NV_DefineSpace *in,
                                struct out_none *out)
{
    (void)out;
    TPM_HANDLE creator = c->handles[0];
    const TPMS_NV_PUBLIC *p = &in->publicInfo;
    struct nv_state *nv = &t->p.nv;
    TPM2B_AUTH auth;
    int i;

    /* phEnable may be SET while phEnableNV is CLEAR: platform NV is then closed. */
    CHECK(creator != TPM_RH_PLATFORM || t->sc.ph_enable_nv, RC_H(TPM_RC_HIERARCHY, 1));
    auth_set(&auth, &in->auth);
    uint16_t asize = auth.size;
    secret_wipe(&auth, sizeof(auth));
    CHECK(asize <= hash_size(p->nameAlg), RC_P(TPM_RC_SIZE, 1));
    TRY(check_public(p, creator));
    CHECK(slot_of(nv, p->nvIndex) < 0, TPM_RC_NV_DEFINED);

    /* Space: a free slot, room for the data, and RAM for an orderly index's live copy. */
    for (i = 0; i < NV_MAX_INDICES && nv->idx[i].used; i++) {
    }
    CHECK(i < NV_MAX_INDICES, TPM_RC_NV_SPACE);
    CHECK(p->dataSize <= NV_DATA_BYTES - nv->used, TPM_RC_NV_SPACE);
    bool orderly = (p->attributes & TPMA_NV_ORDERLY) != 0;
    CHECK(!orderly || p->dataSize <= NV_RAM_BYTES - t->nv_ram.used, TPM_RC_NV_SPACE);
    CHECK(nv_reserve(nv, nv->used + p->dataSize), TPM_RC_MEMORY);

    struct nv_index *x = &nv->idx[i];
    memset(x, 0, sizeof(*x));
    x->used = true;
    x->pub = *p;
    auth_set(&x->auth, &in->auth);
    x->policy.alg = p->authPolicy.size ? p->nameAlg : TPM_ALG_NULL;
    x->policy.digest = p->authPolicy;
    x->off = nv->used;
    memset(nv->data + x->off, 0, p->dataSize);
    nv->used += p->dataSize;
    if (orderly) {
        struct nv_ram *ram = &t->nv_ram;
        ram->attributes[i] = p->attributes;
        ram->off[i] = ram->used;
        memset(ram->data + ram->used, 0, p->dataSize);
        ram->used = (uint16_t)(ram->used + p->dataSize);
    }
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(NV_DefineSpace);

/* ---- Part 3 §31.4 TPM2_NV_UndefineSpace ---- */

static TPM_RC cc_NV_UndefineSpace(struct tpm *t, struct cmd *c, const struct in_none *in,
                                  struct out_none *out)
{
    (void)in;
    (void)out;
    int i = slot_of(&t->p.nv, c->handles[1]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 2));
    TPMA_NV a = *attrs(t, i);
    /* Only NV_UndefineSpaceSpecial deletes a POLICY_DELETE index. */
    CHECK(!(a & TPMA_NV_POLICY_DELETE), RC_H(TPM_RC_ATTRIBUTES, 2));
    /* The owner may delete only what the owner created; the platform may delete either. */
    CHECK(!(c->handles[0] == TPM_RH_OWNER && (a & TPMA_NV_PLATFORMCREATE)),
          TPM_RC_NV_AUTHORIZATION);
    delete_index(t, i);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(NV_UndefineSpace);

/* ---- Part 3 §31.5 TPM2_NV_UndefineSpaceSpecial: the index's policy (ADMIN) and platform ---- */

static TPM_RC cc_NV_UndefineSpaceSpecial(struct tpm *t, struct cmd *c, const struct in_none *in,
                                         struct out_none *out)
{
    (void)in;
    (void)out;
    int i = slot_of(&t->p.nv, c->handles[0]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 1));
    CHECK(*attrs(t, i) & TPMA_NV_POLICY_DELETE, RC_H(TPM_RC_ATTRIBUTES, 1));
    delete_index(t, i);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(NV_UndefineSpaceSpecial);

/* ---- Part 3 §31.6 TPM2_NV_ReadPublic ---- */

struct out_NV_ReadPublic {
    TPMS_NV_PUBLIC nvPublic;
    TPM2B_NAME nvName;
};

static void emit_NV_ReadPublic(struct wr *w, const struct out_NV_ReadPublic *out)
{
    wr_TPM2B_NV_PUBLIC(w, &out->nvPublic);
    WR_TPM2B(w, &out->nvName);
}

static TPM_RC cc_NV_ReadPublic(struct tpm *t, struct cmd *c, const struct in_none *in,
                               struct out_NV_ReadPublic *out)
{
    (void)in;
    int i = slot_of(&t->p.nv, c->handles[0]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 1));
    live_public(t, i, &out->nvPublic);
    CHECK(index_name(t, i, &out->nvName), TPM_RC_FAILURE);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_IN(NV_ReadPublic);

/* ---- Part 3 §31.7 TPM2_NV_Write ---- */

struct in_NV_Write {
    TPM2B_MAX_NV_BUFFER data;
    uint16_t offset;
};

static TPM_RC parse_NV_Write(struct rd *r, struct in_NV_Write *in)
{
    PARAM(1, RD_TPM2B(r, &in->data));
    PARAM(2, rd_U16(r, &in->offset));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_NV_Write(struct tpm *t, struct cmd *c, const struct in_NV_Write *in,
                          struct out_none *out)
{
    (void)out;
    int i = slot_of(&t->p.nv, c->handles[1]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 2));
    TPMA_NV a = *attrs(t, i);
    uint16_t size = t->p.nv.idx[i].pub.dataSize;
    TRY(write_access(c->handles[0], c->handles[1], a));
    /* Counters, bit fields and extend indices have their own commands. */
    CHECK(NT(a) != TPM_NT_COUNTER && NT(a) != TPM_NT_BITS && NT(a) != TPM_NT_EXTEND,
          TPM_RC_ATTRIBUTES);
    CHECK(in->offset <= size, RC_P(TPM_RC_VALUE, 2));
    CHECK(in->data.size <= size - in->offset, TPM_RC_NV_RANGE);
    CHECK(!(a & TPMA_NV_WRITEALL) || in->data.size == size, TPM_RC_NV_RANGE);
    store(t, i, in->offset, in->data.buffer, in->data.size, false);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(NV_Write);

/* ---- Part 3 §31.8 TPM2_NV_Increment ---- */

static TPM_RC cc_NV_Increment(struct tpm *t, struct cmd *c, const struct in_none *in,
                              struct out_none *out)
{
    (void)in;
    (void)out;
    int i = slot_of(&t->p.nv, c->handles[1]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 2));
    TPMA_NV a = *attrs(t, i);
    uint8_t d[8];
    TRY(write_access(c->handles[0], c->handles[1], a));
    CHECK(NT(a) == TPM_NT_COUNTER, RC_H(TPM_RC_ATTRIBUTES, 2));
    uint64_t v = (a & TPMA_NV_WRITTEN) ? get_u64(data(t, i)) : counter_start(t);
    /* A counter never wraps back to a value it had. */
    CHECK(v != UINT64_MAX, TPM_RC_NV_RANGE);
    v++;
    put_u64(d, v);
    /* An orderly counter reaches NV each time its low bits roll over. */
    store(t, i, 0, d, 8, (v & NV_ORDERLY_COUNT) == 0);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(NV_Increment);

/* ---- Part 3 §31.9 TPM2_NV_Extend: data = H_nameAlg(data || input) ---- */

struct in_NV_Extend {
    TPM2B_MAX_NV_BUFFER data;
};

static TPM_RC parse_NV_Extend(struct rd *r, struct in_NV_Extend *in)
{
    PARAM(1, RD_TPM2B(r, &in->data));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_NV_Extend(struct tpm *t, struct cmd *c, const struct in_NV_Extend *in,
                           struct out_none *out)
{
    (void)out;
    int i = slot_of(&t->p.nv, c->handles[1]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 2));
    TPMA_NV a = *attrs(t, i);
    TPM_ALG_ID alg = t->p.nv.idx[i].pub.nameAlg;
    uint16_t hs = hash_size(alg);
    uint8_t old[MAX_DIGEST_SIZE] = {0}, now[MAX_DIGEST_SIZE];
    struct hash_state h;
    TRY(write_access(c->handles[0], c->handles[1], a));
    CHECK(NT(a) == TPM_NT_EXTEND, RC_H(TPM_RC_ATTRIBUTES, 2));
    if (a & TPMA_NV_WRITTEN) {
        memcpy(old, data(t, i), hs);
    }
    CHECK(hash_begin(&h, alg), TPM_RC_FAILURE);
    hash_update(&h, old, hs);
    hash_update(&h, in->data.buffer, in->data.size);
    CHECK(hash_end(&h, now), TPM_RC_FAILURE);
    store(t, i, 0, now, hs, false);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(NV_Extend);

/* ---- Part 3 §31.10 TPM2_NV_SetBits ---- */

struct in_NV_SetBits {
    uint64_t bits;
};

static TPM_RC parse_NV_SetBits(struct rd *r, struct in_NV_SetBits *in)
{
    PARAM(1, rd_U64(r, &in->bits));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_NV_SetBits(struct tpm *t, struct cmd *c, const struct in_NV_SetBits *in,
                            struct out_none *out)
{
    (void)out;
    int i = slot_of(&t->p.nv, c->handles[1]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 2));
    TPMA_NV a = *attrs(t, i);
    uint8_t d[8];
    TRY(write_access(c->handles[0], c->handles[1], a));
    CHECK(NT(a) == TPM_NT_BITS, RC_H(TPM_RC_ATTRIBUTES, 2));
    uint64_t v = (a & TPMA_NV_WRITTEN) ? get_u64(data(t, i)) : 0;
    put_u64(d, v | in->bits);
    store(t, i, 0, d, 8, false);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(NV_SetBits);

/* ---- Part 3 §31.11 TPM2_NV_WriteLock ---- */

static TPM_RC cc_NV_WriteLock(struct tpm *t, struct cmd *c, const struct in_none *in,
                              struct out_none *out)
{
    (void)in;
    (void)out;
    int i = slot_of(&t->p.nv, c->handles[1]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 2));
    TPMA_NV a = *attrs(t, i);
    TPM_RC rc = write_access(c->handles[0], c->handles[1], a);
    if (rc != TPM_RC_SUCCESS) {
        /* Already locked is not an error; the wrong authorization is. */
        return rc == TPM_RC_NV_LOCKED ? TPM_RC_SUCCESS : rc;
    }
    CHECK(a & (TPMA_NV_WRITEDEFINE | TPMA_NV_WRITE_STCLEAR), RC_H(TPM_RC_ATTRIBUTES, 2));
    set_attrs(t, i, a | TPMA_NV_WRITELOCKED);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(NV_WriteLock);

/* ---- Part 3 §31.12 TPM2_NV_GlobalWriteLock: every TPMA_NV_GLOBALLOCK index ---- */

static TPM_RC cc_NV_GlobalWriteLock(struct tpm *t, struct cmd *c, const struct in_none *in,
                                    struct out_none *out)
{
    (void)c;
    (void)in;
    (void)out;
    for (int i = 0; i < NV_MAX_INDICES; i++) {
        if (t->p.nv.idx[i].used && (*attrs(t, i) & TPMA_NV_GLOBALLOCK)) {
            set_attrs(t, i, *attrs(t, i) | TPMA_NV_WRITELOCKED);
        }
    }
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(NV_GlobalWriteLock);

/* ---- Part 3 §31.13 TPM2_NV_Read ---- */

struct in_NV_Read {
    uint16_t size;
    uint16_t offset;
};

struct out_NV_Read {
    TPM2B_MAX_NV_BUFFER data;
};

static TPM_RC parse_NV_Read(struct rd *r, struct in_NV_Read *in)
{
    PARAM(1, rd_U16(r, &in->size));
    PARAM(2, rd_U16(r, &in->offset));
    return TPM_RC_SUCCESS;
}

static void emit_NV_Read(struct wr *w, const struct out_NV_Read *out)
{
    WR_TPM2B(w, &out->data);
}

static TPM_RC cc_NV_Read(struct tpm *t, struct cmd *c, const struct in_NV_Read *in,
                         struct out_NV_Read *out)
{
    int i = slot_of(&t->p.nv, c->handles[1]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 2));
    uint16_t size = t->p.nv.idx[i].pub.dataSize;
    TRY(read_access(c->handles[0], c->handles[1], *attrs(t, i)));
    CHECK(in->size <= MAX_NV_BUFFER_SIZE, RC_P(TPM_RC_VALUE, 1));
    CHECK(in->offset <= size, RC_P(TPM_RC_VALUE, 2));
    CHECK(in->size <= size - in->offset, TPM_RC_NV_RANGE);
    memcpy(out->data.buffer, data(t, i) + in->offset, in->size);
    out->data.size = in->size;
    return TPM_RC_SUCCESS;
}

CMD_OPS(NV_Read);

/* ---- Part 3 §31.14 TPM2_NV_ReadLock ---- */

static TPM_RC cc_NV_ReadLock(struct tpm *t, struct cmd *c, const struct in_none *in,
                             struct out_none *out)
{
    (void)in;
    (void)out;
    int i = slot_of(&t->p.nv, c->handles[1]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 2));
    TPMA_NV a = *attrs(t, i);
    TPM_RC rc = read_access(c->handles[0], c->handles[1], a);
    /* Already locked is success; an unwritten index may be locked all the same. */
    if (rc == TPM_RC_NV_LOCKED) {
        return TPM_RC_SUCCESS;
    }
    CHECK(rc == TPM_RC_SUCCESS || rc == TPM_RC_NV_UNINITIALIZED, rc);
    CHECK(a & TPMA_NV_READ_STCLEAR, RC_H(TPM_RC_ATTRIBUTES, 2));
    set_attrs(t, i, a | TPMA_NV_READLOCKED);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NONE(NV_ReadLock);

/* ---- Part 3 §31.15 TPM2_NV_ChangeAuth (ADMIN role: a policy session) ---- */

struct in_NV_ChangeAuth {
    TPM2B_AUTH newAuth;
};

static TPM_RC parse_NV_ChangeAuth(struct rd *r, struct in_NV_ChangeAuth *in)
{
    PARAM(1, RD_TPM2B(r, &in->newAuth));
    return TPM_RC_SUCCESS;
}

static TPM_RC cc_NV_ChangeAuth(struct tpm *t, struct cmd *c, const struct in_NV_ChangeAuth *in,
                               struct out_none *out)
{
    (void)out;
    int i = slot_of(&t->p.nv, c->handles[0]);
    CHECK(i >= 0, RC_H(TPM_RC_HANDLE, 1));
    struct nv_index *x = &t->p.nv.idx[i];
    TPM2B_AUTH a;
    auth_set(&a, &in->newAuth);
    uint16_t size = a.size;
    secret_wipe(&a, sizeof(a));
    CHECK(size <= hash_size(x->pub.nameAlg), RC_P(TPM_RC_SIZE, 1));
    auth_set(&x->auth, &in->newAuth);
    pers_changed(t);
    return TPM_RC_SUCCESS;
}

CMD_OPS_NO_OUT(NV_ChangeAuth);

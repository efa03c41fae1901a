/*
 * The engine's state: one struct tpm, split by lifetime as Part 1 §36-37 splits TPM state.
 *
 *   struct tpm_pers      persistent: survives every power cycle (seeds, authorizations,
 *                        DA, PCR allocation, NV, clock, saved state)
 *   struct tpm_stclear   state-clear: reset by Startup(CLEAR), kept by Startup(STATE)
 *                        (PCRs, hierarchy enables, platform authorization)
 *   struct tpm_streset   state-reset: reset only by a TPM Reset (null seed, counters)
 *   the rest             volatile: lost at _TPM_Init (loaded objects, sessions)
 *
 * Shutdown(STATE) copies stclear and streset into pers.saved; Startup restores them as
 * Part 1 §12.2 describes. Only the persistent part is saved after each command.
 */
#ifndef VTPM_TPM_ENGINE_H
#define VTPM_TPM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../include/vtpm/tpm.h"
#include "crypto.h"
#include "rc.h"
#include "types.h"

#define SEED_BYTES 64  /* Part 1 §14.3: seeds as large as the largest hash */
#define PROOF_BYTES 64
#define SU_NONE 0xFFFF /* orderly state when the last shutdown was not orderly */
#define AUDIT_CC_BYTES 32 /* one bit per command code from TPM_CC_FIRST */
#define COMMIT_SLOTS 64   /* outstanding commits of Commit / EC_Ephemeral (TPM_PT_SPLIT_MAX) */
#define COMMIT_NONCE_BYTES 32

/* Limits this implementation reports through GetCapability (cap.c). */
#define MAX_LOADED_OBJECTS 16
#define MAX_LOADED_SESSIONS 32
#define MAX_ACTIVE_SESSIONS 64
/* NV indices (nv.c, Part 1 §37): the space DefineSpace allocates from. */
#define NV_MAX_INDICES 128           /* indices defined at once */
#define NV_DATA_BYTES (128u * 1024)  /* their data, all together */
#define NV_RAM_BYTES 4096            /* live copies of TPMA_NV_ORDERLY indices */
#define NV_ORDERLY_COUNT 0xFFu       /* MAX_ORDERLY_COUNT: TPM_PT_ORDERLY_COUNT */
#define MAX_PERSISTENT 16        /* persistent objects, owner and platform ranges together */
#define PRIMARY_CACHE_SLOTS 8
#define SEQ_SAVED_SLOTS 8        /* saved contexts of sequence objects (context.c) */    /* derived primary keys kept for a repeated CreatePrimary */

/* A hierarchy's or entity's policy: an authPolicy digest and the hash that made it. */
struct policy {
    TPM_ALG_ID alg; /* TPM_ALG_NULL: no policy */
    TPM2B_DIGEST digest;
};

/* Dictionary-attack protection (Part 1 §19.8.6), persistent. */
struct da_state {
    uint32_t failed_tries;     /* TPM_PT_LOCKOUT_COUNTER */
    uint32_t max_tries;        /* TPM_PT_MAX_AUTH_FAIL */
    uint32_t recovery_time;    /* seconds per decrement, TPM_PT_LOCKOUT_INTERVAL */
    uint32_t lockout_recovery; /* seconds, TPM_PT_LOCKOUT_RECOVERY */
    bool lockout_auth_enabled; /* cleared by a failed lockoutAuth */
    uint64_t self_heal_ms;     /* clock when failed_tries last moved */
    uint64_t lockout_heal_ms;  /* clock when lockoutAuth failed */
};

/*
 * NV indices (Part 1 §37, Part 2 §13), persistent. Each defined index has a slot; its data
 * lies in data[off .. off + dataSize), packed in definition order (an undefine closes the
 * gap). For an index with TPMA_NV_ORDERLY this is the copy in NV, brought up to date at
 * Shutdown, at the first write, when its attributes change and when a counter crosses a
 * multiple of NV_ORDERLY_COUNT + 1; its live copy is
 * struct nv_ram below (Part 1 §37: "hybrid" indices, Part 2 §13.4 TPMA_NV_ORDERLY).
 */
struct nv_index {
    bool used;
    TPMS_NV_PUBLIC pub;   /* as committed (WRITTEN and the locks included) */
    TPM2B_AUTH auth;      /* trailing zeros removed */
    struct policy policy; /* pub.authPolicy with pub.nameAlg, as entities report it */
    uint32_t off;
};

struct nv_state {
    uint64_t max_counter; /* the highest value a deleted counter index had */
    uint32_t used;        /* bytes of data[] in use */
    struct nv_index idx[NV_MAX_INDICES];
    /* Their data: on the heap, grown as indices are defined (at most NV_DATA_BYTES), so a
     * vTPM with a few certificates does not carry 128 KiB it does not use. Owned by the
     * nv_state: nv_state_free releases it. */
    uint8_t *data;
    uint32_t cap;
};

/* Live attributes and data of the orderly indices (volatile), by the slot of p.nv.idx. */
struct nv_ram {
    TPMA_NV attributes[NV_MAX_INDICES];
    uint16_t off[NV_MAX_INDICES];
    uint16_t used;
    uint8_t data[NV_RAM_BYTES];
};

struct tpm_stclear {
    bool ph_enable, sh_enable, eh_enable, ph_enable_nv;
    TPM2B_AUTH platform_auth;
    struct policy platform_policy;
    uint32_t pcr_update_counter;
    uint8_t pcr[HASH_COUNT][IMPLEMENTATION_PCR][MAX_DIGEST_SIZE];
};

struct tpm_streset {
    uint8_t null_proof[PROOF_BYTES];
    uint8_t null_seed[SEED_BYTES];
    uint32_t restart_count;
    uint32_t clear_count;
    uint64_t object_context_id;
    uint64_t context_counter;
    uint32_t pcr_active[HASH_COUNT]; /* PCRs allocated per bank since the last Startup */
    TPM2B_DIGEST command_audit_digest; /* Empty after a reset, or a change of audit hash */
    /* Split operations (asym.h): the secret the commit values derive from, the next count,
     * and which of the last COMMIT_SLOTS counts are still outstanding. */
    uint8_t commit_nonce[COMMIT_NONCE_BYTES];
    uint64_t commit_counter;
    uint8_t commit_array[COMMIT_SLOTS / 8];
};

/*
 * An object (Part 1 §15, §27): a transient slot or a persistent copy. Keys (OBJ_KEY) keep
 * their public area and sensitive area in TPM form (RSA: one prime; ECC: the scalar), their
 * name and qualified name; sequence objects (hash.c) keep running hashes. The auth field is
 * the authValue for both (Part 2 §12.3.7 TPMT_SENSITIVE.authValue).
 */
enum obj_kind { OBJ_FREE = 0, OBJ_KEY, OBJ_HASH_SEQ, OBJ_HMAC_SEQ, OBJ_EVENT_SEQ };

#define OBJF_PUBLIC_ONLY 0x01 /* LoadExternal of a public area: no sensitive part */
#define OBJF_EXTERNAL 0x02    /* LoadExternal: not protected by this TPM (no parent) */
#define OBJF_PRIMARY 0x04     /* created by CreatePrimary: its parent is its hierarchy */

struct object {
    uint8_t kind;
    uint8_t flags; /* OBJF_ */
    TPM_HANDLE handle;
    TPM_HANDLE hierarchy; /* TPM_RH_OWNER, _ENDORSEMENT, _PLATFORM or _NULL */
    TPM2B_AUTH auth;
    /* keys */
    TPMT_PUBLIC pub;
    TPMT_SENSITIVE sens; /* authValue unused: auth above is the one value */
    TPM2B_NAME name;
    TPM2B_NAME qname;
    struct policy policy; /* authPolicy as entity_get reports it (kept in step with pub) */
    /* sequences: one hash per bank for event sequences, one otherwise */
    struct hash_state seq[HASH_COUNT];
    struct hmac_state hmac;
    TPM_ALG_ID seq_alg;
    bool seq_fed;      /* some data has been hashed (the first block decides the ticket) */
    bool seq_no_ticket; /* the data began with TPM_GENERATED_VALUE: no ticket (Part 3 §17.4) */
};

struct tpm_pers {
    uint8_t eps[SEED_BYTES], sps[SEED_BYTES], pps[SEED_BYTES];
    uint8_t eh_proof[PROOF_BYTES], sh_proof[PROOF_BYTES], ph_proof[PROOF_BYTES];
    TPM2B_AUTH owner_auth, endorsement_auth, lockout_auth;
    struct policy owner_policy, endorsement_policy, lockout_policy;
    bool disable_clear;
    struct da_state da;
    uint32_t pcr_alloc[HASH_COUNT]; /* PCRs per bank the next Startup(CLEAR) activates */
    bool established; /* TPM-established flag, set by _TPM_Hash_End */
    TPM_SU orderly;     /* the last Shutdown's type, SU_NONE after any Startup */
    uint32_t reset_count;
    uint64_t clock; /* ms; the live value is tpm_clock() */
    uint32_t firmware_v1, firmware_v2;
    struct nv_state nv; /* NV indices (nv.c) */
    /* Persistent objects (EvictControl, Part 3 §28.5): handle in 0x81xxxxxx, kind OBJ_KEY;
     * a free entry has kind OBJ_FREE. */
    struct object persist[MAX_PERSISTENT];
    /* command audit (Part 1 §19.5): the hash, the audited commands, the counter */
    TPM_ALG_ID audit_alg;
    uint8_t audit_cc[AUDIT_CC_BYTES];
    uint64_t audit_counter;
    /* Shutdown(STATE) saves these for the next Startup (Part 1 §12.2.3). */
    bool saved_valid;
    struct tpm_stclear saved_sc;
    struct tpm_streset saved_sr;
};

/*
 * A derived primary key remembered for a repeated CreatePrimary (primary.c). The key is a
 * SHA-256 digest of the hierarchy's seed, the whole marshaled template and the sensitive
 * data: any change of seed or input selects another entry. What is kept is exactly what the
 * derivation produced, so a hit gives the result a derivation would give.
 */
struct primary_cache_entry {
    bool used;
    uint64_t last_use;
    uint8_t key[32];
    TPMT_PUBLIC pub;
    TPMT_SENSITIVE sens;
};

/*
 * An authorization session (Part 1 §19): HMAC, policy or trial. Sessions stay in the TPM
 * while context-saved (saved = true); a saved context blob only names the slot and its
 * sequence, so a session always reloads to the same handle.
 */
struct session {
    bool used;
    bool saved;           /* context-saved: exists but is not loaded */
    TPM_HANDLE handle;    /* HR_HMAC_SESSION or HR_POLICY_SESSION | slot */
    TPM_SE type;          /* TPM_SE_HMAC, TPM_SE_POLICY, TPM_SE_TRIAL */
    TPM_ALG_ID auth_hash;
    TPMT_SYM_DEF symmetric;
    TPM2B_NONCE nonce_tpm;
    TPM2B_DIGEST session_key;
    uint64_t context_seq; /* sequence of the last ContextSave */
    /* bound session (Part 1 §19.6.11): the bind entity's name and authValue at start */
    bool bound;
    TPM2B_NAME bind_name;
    TPM2B_AUTH bind_auth;
    /* policy state (Part 3 §23) */
    TPM2B_DIGEST policy_digest;
    bool cc_set;
    TPM_CC command_code;
    TPM2B_DIGEST cp_hash;   /* PolicyCpHash */
    TPM2B_DIGEST name_hash; /* PolicyNameHash / PolicyDuplicationSelect */
    TPM2B_DIGEST template_hash;
    uint8_t locality_mask;  /* 0: any */
    bool need_auth_value, need_password, need_pp;
    bool pcr_set;
    uint32_t pcr_counter;
    bool nv_written_set, nv_written;
    uint64_t timeout_ms;    /* 0: none; else the session expires at this TPM time */
    bool is_bound_policy; /* sessionKey includes bind authValue */
    /* audit session */
    bool audit;
    TPM2B_DIGEST audit_digest;
};

/*
 * OpenSSL's form of loaded keys that are used again (sign.c): building an RSA private key
 * costs more than a signature with it. An entry belongs to the object slot it was built for
 * and to the exact key material (id: a SHA-256 over it); it is dropped when that slot is
 * freed or holds another key, and all entries at _TPM_Init and tpm_free.
 */
#define KEY_CACHE_SLOTS 8
struct crypto_pkey;
struct key_cache_entry {
    const struct object *o;
    uint8_t id[32];
    struct crypto_pkey *pkey;
    uint64_t used;
};

/* DRTM sequence (_TPM_Hash_Start .. _TPM_Hash_End). */
struct drtm_state {
    bool active;
    struct hash_state h[HASH_COUNT];
};

/* Buffers the dispatcher decodes into and encodes from: large enough for every command. */
#define CMD_IN_MAX 12288
#define CMD_OUT_MAX 12288
#define CMD_PARAM_MAX MAX_COMMAND_SIZE

struct tpm {
    struct tpm_profile profile;
    struct tpm_host host;
    bool powered;  /* _TPM_Init seen */
    bool started;  /* Startup succeeded since _TPM_Init */
    bool failure;  /* failure mode (Part 1 §12.6) */
    bool dirty;    /* persistent state changed since the last save */
    bool pcr_reconfig; /* PCR_Allocate since Startup: Shutdown(STATE) is refused */
    TPM_RC failure_rc;
    uint64_t time_base; /* TPMS_TIME_INFO.time at host time time_host (0 at _TPM_Init) */
    uint64_t time_host;
    uint64_t clock_ms; /* host time when pers.clock was last brought up to date */
    bool clock_safe;
    bool clock_nv_due; /* Clock entered a new update interval: the next save makes it safe */
    int32_t clock_rate; /* ClockRateAdjust: parts per million faster (+) or slower (-) */
    TPM_HANDLE exclusive_audit; /* the session that audited every command since it began */

    struct tpm_pers p;
    struct tpm_stclear sc;
    struct tpm_streset sr;

    struct object objects[MAX_LOADED_OBJECTS];
    struct session sessions[MAX_ACTIVE_SESSIONS];
    struct drtm_state drtm;
    struct nv_ram nv_ram; /* live copies of orderly NV indices (nv.c) */
    struct primary_cache_entry pcache[PRIMARY_CACHE_SLOTS];
    /* Sequence objects saved by ContextSave (context.c): OpenSSL hash states cannot be
     * exported into a blob, so the blob names a copy kept here until _TPM_Init. */
    struct object seq_saved[SEQ_SAVED_SLOTS];
    uint64_t seq_saved_id[SEQ_SAVED_SLOTS];
    uint64_t pcache_clock; /* use counter: the least recently used entry is replaced */
    struct key_cache_entry key_cache[KEY_CACHE_SLOTS];
    uint64_t key_cache_clock;

    /* Per-command scratch, wiped after every command (inputs may hold secrets). */
    _Alignas(16) uint8_t cmd_in[CMD_IN_MAX];
    _Alignas(16) uint8_t cmd_out[CMD_OUT_MAX];
    uint8_t cmd_params[CMD_PARAM_MAX]; /* the parameter area, decrypted in place */
};

/* Mark persistent state changed: the host must commit it before the response leaves. */
static inline void pers_changed(struct tpm *t)
{
    t->dirty = true;
}

/* The clock rate after a TPM_CLOCK_ADJUST step (Part 2 §6.7): medium 1%, fine 0.1%, coarse
 * 10%, clamped to ±15% of the host's time; 0 (no adjustment) resets it. */
int32_t tpm_clock_rate_step(int32_t rate, int8_t adjust);

/* Milliseconds on the host clock. */
uint64_t tpm_now(struct tpm *t);
/* TPMS_CLOCK_INFO.clock: persistent milliseconds, advancing with the host clock (tpm.c says
 * when its NV copy is updated). */
uint64_t tpm_clock(struct tpm *t);
/* ClockSet: Clock jumps forward to v (the caller checked v). */
void tpm_clock_set(struct tpm *t, uint64_t v);
void tpm_time_info(struct tpm *t, TPMS_TIME_INFO *out);

/* Enter failure mode after a broken invariant; returns TPM_RC_FAILURE for convenience. */
TPM_RC tpm_fail(struct tpm *t, TPM_RC why);

/* Manufacture: fresh seeds and proofs, defaults (state.c). */
TPM_RC tpm_manufacture(struct tpm *t) MUST_CHECK;

#endif

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

/* Limits this implementation reports through GetCapability (cap.c). */
#define MAX_LOADED_OBJECTS 16
#define MAX_LOADED_SESSIONS 32
#define MAX_ACTIVE_SESSIONS 64
/* NV indices (nv.c, Part 1 §37): the space DefineSpace allocates from. */
#define NV_MAX_INDICES 128           /* indices defined at once */
#define NV_DATA_BYTES (128u * 1024)  /* their data, all together */
#define NV_RAM_BYTES 4096            /* live copies of TPMA_NV_ORDERLY indices */
#define NV_ORDERLY_COUNT 0xFFu       /* MAX_ORDERLY_COUNT: TPM_PT_ORDERLY_COUNT */

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
 * Shutdown, at the first write and when a counter crosses NV_ORDERLY_COUNT; its live copy is
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
    uint8_t data[NV_DATA_BYTES];
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
    /* Shutdown(STATE) saves these for the next Startup (Part 1 §12.2.3). */
    bool saved_valid;
    struct tpm_stclear saved_sc;
    struct tpm_streset saved_sr;
};

/* A transient object slot: keys (object.c) and hash/HMAC/event sequences (hash.c). */
enum obj_kind { OBJ_FREE = 0, OBJ_KEY, OBJ_HASH_SEQ, OBJ_HMAC_SEQ, OBJ_EVENT_SEQ };

struct object {
    uint8_t kind;
    TPM_HANDLE handle;
    TPM_HANDLE hierarchy;
    TPM2B_AUTH auth;
    /* sequences: one hash per bank for event sequences, one otherwise */
    struct hash_state seq[HASH_COUNT];
    struct hmac_state hmac;
    TPM_ALG_ID seq_alg;
    bool seq_fed;      /* some data has been hashed (the first block decides the ticket) */
    bool seq_no_ticket; /* the data began with TPM_GENERATED_VALUE: no ticket (Part 3 §17.4) */
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

    struct tpm_pers p;
    struct tpm_stclear sc;
    struct tpm_streset sr;

    struct object objects[MAX_LOADED_OBJECTS];
    struct session sessions[MAX_ACTIVE_SESSIONS];
    struct drtm_state drtm;
    struct nv_ram nv_ram; /* live copies of orderly NV indices (nv.c) */

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

/* Milliseconds on the host clock. */
uint64_t tpm_now(struct tpm *t);
/* TPMS_CLOCK_INFO.clock: persistent milliseconds, advancing with the host clock. */
uint64_t tpm_clock(struct tpm *t);
void tpm_time_info(struct tpm *t, TPMS_TIME_INFO *out);

/* Enter failure mode after a broken invariant; returns TPM_RC_FAILURE for convenience. */
TPM_RC tpm_fail(struct tpm *t, TPM_RC why);

/* Manufacture: fresh seeds and proofs, defaults (state.c). */
TPM_RC tpm_manufacture(struct tpm *t) MUST_CHECK;

#endif

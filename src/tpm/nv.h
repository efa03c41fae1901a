/*
 * NV indices (Part 1 §37, Part 2 §13, Part 3 §31): the store behind TPM_HT_NV_INDEX handles
 * and what the rest of the engine asks of it. The NV commands themselves live in nv.c and
 * are reached through the command table only.
 *
 * An index's data is always read and written through its live copy: for a TPMA_NV_ORDERLY
 * index that is struct nv_ram (volatile), for any other the persistent copy itself. Every
 * change that must survive a power loss calls pers_changed(); a change that stores the bytes
 * already there calls nothing.
 */
#ifndef VTPM_TPM_NV_H
#define VTPM_TPM_NV_H

#include "entity.h"
#include "marshal.h"

/* ---- handles and entities (entity.c) ---- */

/*
 * Part 3 §5.4 for an NV index handle: TPM_RC_HANDLE when it is not defined, or when its
 * hierarchy is disabled (platform indices need phEnableNV, owner indices shEnable).
 */
TPM_RC nv_check_handle(struct tpm *t, TPM_HANDLE h) MUST_CHECK;

/* The entity of a defined index: authValue, authPolicy, Name, DA protection, hierarchy. */
TPM_RC nv_entity(struct tpm *t, TPM_HANDLE h, struct entity *e) MUST_CHECK;

/*
 * Narrow e (from nv_entity) to what command cc may use, for a handle with authorization role
 * `role` (enum auth_role): the authValue only with TPMA_NV_AUTHWRITE (write commands) or
 * TPMA_NV_AUTHREAD (any other), for PIN indices only while written and pinCount < pinLimit;
 * the authPolicy only with TPMA_NV_POLICYWRITE / TPMA_NV_POLICYREAD, or for the ADMIN role.
 */
void nv_entity_for_command(struct tpm *t, TPM_CC cc, unsigned role, struct entity *e);

/* A PIN index's authValue was just tried: PIN Fail counts failures and clears the count on
 * success, PIN Pass counts successes (Part 1 §37, Part 2 §13.2 TPM_NT_PIN_FAIL/PASS). */
void nv_pin_result(struct tpm *t, TPM_HANDLE h, bool success);

/* ---- policy commands (policy.c) ---- */

/*
 * NvReadAccessChecks of PolicyNV and PolicyAuthorizeNV: TPM_RC_NV_LOCKED (read-locked),
 * TPM_RC_NV_AUTHORIZATION (auth is the owner without OWNERREAD, the platform without PPREAD,
 * or another index), TPM_RC_NV_UNINITIALIZED (not written).
 */
TPM_RC nv_read_check(struct tpm *t, TPM_HANDLE auth, TPM_HANDLE h) MUST_CHECK;

/* The live data of a defined index and its size, or NULL. */
const uint8_t *nv_data_of(struct tpm *t, TPM_HANDLE h, uint16_t *size);

/* Is a defined index written? -1 when h is not a defined index (PolicyNvWritten at use). */
int nv_is_written(struct tpm *t, TPM_HANDLE h);

/* ---- life cycle (startup.c, hierarchy.c) ---- */

enum nv_startup { NV_RESET, NV_RESTART, NV_RESUME };

/*
 * TPM2_Startup: the live copies of orderly indices come back from NV; at a TPM Reset or
 * Restart READLOCKED clears, WRITTEN clears for TPMA_NV_CLEAR_STCLEAR indices (and orderly
 * non-counters at a Reset), WRITELOCKED clears unless written with TPMA_NV_WRITEDEFINE. After
 * a shutdown that was not orderly, orderly counters jump to the end of their NV_ORDERLY_COUNT
 * block so that no value they reached is ever given again. The caller commits.
 */
void nv_startup(struct tpm *t, enum nv_startup kind, bool disorderly);

/* TPM2_Shutdown: orderly indices are written to NV. The caller commits. */
void nv_shutdown(struct tpm *t);

/* TPM2_Clear: every index not created by the platform is deleted (Part 3 §24.6). */
void nv_clear(struct tpm *t);

/* ---- capabilities (cap.c) ---- */

unsigned nv_index_count(const struct tpm *t);   /* TPM_PT_HR_NV_INDEX */
unsigned nv_counter_count(const struct tpm *t); /* TPM_PT_NV_COUNTERS */
unsigned nv_counters_avail(const struct tpm *t); /* TPM_PT_NV_COUNTERS_AVAIL */
/* The smallest defined index handle >= *h, in *h; false when there is none. */
bool nv_next_handle(const struct tpm *t, TPM_HANDLE *h);

/* ---- saved state (state.c) ---- */

/* The persistent NV section body: max counter, then each index with its data. */
/* Room for need bytes of data (false when memory is short); release the data, wiped. */
bool nv_reserve(struct nv_state *nv, uint32_t need) MUST_CHECK;
void nv_state_free(struct nv_state *nv);

void nv_state_write(struct wr *w, const struct nv_state *nv);
/* Read it into a zeroed nv, checking every index as DefineSpace would; false if malformed. */
bool nv_state_read(struct rd *r, struct nv_state *nv) MUST_CHECK;

/* Live copies of the orderly indices of nv, as they are in NV (power-on). */
void nv_ram_init(const struct nv_state *nv, struct nv_ram *ram);
/*
 * The permanent state is replaced while the TPM runs (the host undoes a command whose commit
 * failed): ram gets the orderly indices of nv, keeping from old_nv/old_ram the live values NV
 * still agrees with. What only an undone command can have made is dropped: WRITTEN and locks
 * that nv lacks, a counter past the block of its NV copy (clamped to the end of that block),
 * anything changed after a Shutdown that nv still records (orderly_recorded).
 */
void nv_ram_rollback(const struct nv_state *old_nv, const struct nv_ram *old_ram,
                     bool orderly_recorded, const struct nv_state *nv, struct nv_ram *ram);
/* The volatile NV section body: each orderly index's handle, live attributes and data. */
void nv_ram_write(struct wr *w, const struct nv_state *nv, const struct nv_ram *ram);
/* Read it over ram (from nv_ram_init); false when it names an index nv does not have. */
bool nv_ram_read(struct rd *r, const struct nv_state *nv, struct nv_ram *ram) MUST_CHECK;

#endif

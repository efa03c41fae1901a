/*
 * vtpm engine: the public API of the TPM 2.0 engine (src/tpm).
 *
 * The engine turns TPM 2.0 command bytes into response bytes as the TCG TPM 2.0 Library
 * specification (Parts 1-3) describes. It opens no socket and no file and has no global
 * state: everything lives in one struct tpm, so several can live in one process. The host
 * hands it a clock; randomness comes from OpenSSL's DRBG.
 *
 * Persistence: after tpm_execute(), tpm_state_dirty() tells whether permanent state changed.
 * The host then saves it (tpm_state_save(TPM_STATE_PERMANENT)) and makes it durable before it
 * lets the response leave. If that fails, the host calls tpm_state_load() with the last
 * durable permanent state to roll the engine back, and answers tpm_nv_error_response().
 */
#ifndef VTPM_TPM_H
#define VTPM_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tpm;

/* PCR banks, as bits of tpm_profile.pcr_banks */
#define TPM_BANK_SHA1 0x1u
#define TPM_BANK_SHA256 0x2u
#define TPM_BANK_SHA384 0x4u
#define TPM_BANK_SHA512 0x8u

struct tpm_profile {
    /* PCR banks allocated when the TPM is manufactured (all four are implemented). */
    unsigned pcr_banks;
    /* Firmware version reported in TPM_PT_FIRMWARE_VERSION_1/2 and attestations. */
    uint32_t firmware_v1, firmware_v2;
};

/* The default profile: every bank allocated, as swtpm does and OVMF expects. */
void tpm_profile_default(struct tpm_profile *p);

struct tpm_host {
    /* Milliseconds from any fixed origin; must not go backwards. NULL: CLOCK_MONOTONIC. */
    uint64_t (*now_ms)(void *ctx);
    void *ctx;
};

/*
 * A new, manufactured TPM: fresh seeds and proofs, default authorizations, the profile's
 * PCR allocation. It is powered off: call tpm_init() before the first command. host may be
 * NULL. Returns NULL when memory or randomness is not available.
 */
struct tpm *tpm_new(const struct tpm_profile *profile, const struct tpm_host *host);

/* Zeroizes every secret and frees. NULL is allowed. */
void tpm_free(struct tpm *t);

/* _TPM_Init (Part 1 §12.2.2): power-on or reset. The next command must be TPM2_Startup. */
void tpm_init(struct tpm *t);

/* Power off: like losing power, nothing is saved that tpm_execute did not already save. */
void tpm_power_off(struct tpm *t);

/* Is the engine powered (tpm_init called since tpm_new/tpm_power_off)? */
bool tpm_is_powered(const struct tpm *t);

/*
 * Execute one command at locality 0..4. cmd/len is the whole command (header included);
 * the response is written to rsp (cap bytes, at least 10) and its length returned.
 * Never fails outside the protocol: malformed input gets a TPM error response.
 * Before tpm_init() every command answers TPM_RC_FAILURE with tag TPM_ST_NO_SESSIONS.
 */
size_t tpm_execute(struct tpm *t, unsigned locality, const uint8_t *cmd, size_t len,
                   uint8_t *rsp, size_t cap);

/* A 10-byte error response with tag TPM_ST_NO_SESSIONS, for the host's own refusals. */
size_t tpm_error_response(uint32_t rc, uint8_t *rsp, size_t cap);

/* Response for a command whose state could not be made durable (TPM_RC_NV_UNAVAILABLE). */
size_t tpm_nv_error_response(uint8_t *rsp, size_t cap);

/* Did permanent state change since the last tpm_state_save(TPM_STATE_PERMANENT)? */
bool tpm_state_dirty(const struct tpm *t);

enum tpm_state_part {
    TPM_STATE_PERMANENT, /* seeds, authorizations, NV, persistent objects, saved state */
    TPM_STATE_VOLATILE,  /* what a power loss would lose: PCRs, loaded objects, sessions */
};

/* A growable byte buffer the host owns. tpm_buf_free wipes before freeing. */
struct tpm_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};
void tpm_buf_free(struct tpm_buf *b);

/*
 * Serialize one part of the state, versioned and field by field, replacing out's content.
 * Saving the permanent part clears the dirty flag. Returns 0, or -ENOMEM.
 * The volatile part is only defined while the TPM is powered.
 */
int tpm_state_save(struct tpm *t, enum tpm_state_part part, struct tpm_buf *out);

/*
 * Replace one part of the state from bytes produced by tpm_state_save (this or an older
 * version). Loading the permanent part powers the TPM off (call tpm_init next); loading the
 * volatile part requires a powered TPM whose permanent part matches and resumes exactly
 * where the saved TPM was. Loading the permanent part into a TPM that has started is the
 * roll-back after a failed commit: what lives only in RAM (orderly NV indices) is kept where
 * the permanent state still agrees with it. Returns 0, -EINVAL for malformed or foreign bytes
 * (the state is then unchanged), -ENOMEM.
 */
int tpm_state_load(struct tpm *t, enum tpm_state_part part, const uint8_t *p, size_t len);

/* TPM-established flag (the swtpm control channel's GET_TPMESTABLISHED). */
bool tpm_established(const struct tpm *t);
/* RESET_TPMESTABLISHED: allowed from locality 3 or 4 only; returns false otherwise. */
bool tpm_reset_established(struct tpm *t, unsigned locality);

/* _TPM_Hash_Start, _TPM_Hash_Data, _TPM_Hash_End (Part 3 §11.3), locality 4 DRTM. */
int tpm_hash_start(struct tpm *t);
int tpm_hash_data(struct tpm *t, const uint8_t *p, size_t len);
int tpm_hash_end(struct tpm *t);

/* Put the engine into failure mode (tests, and the host after an internal fault). */
void tpm_enter_failure(struct tpm *t);

#ifdef __cplusplus
}
#endif

#endif

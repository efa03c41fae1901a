/*
 * The vTPM device vtpmd serves: the engine (include/vtpm/tpm.h), its durable state, and what
 * swtpm's control channel adds around a TPM (running or stopped, locality, buffer size,
 * DRTM hashing). Both channels act on it; it does no socket I/O.
 *
 * Durability rule (DESIGN.md "The engine contract"): after anything that changed the
 * engine's permanent state, the state is saved before the answer is given. If saving fails,
 * the engine is rolled back to the last saved state and the TPM command is answered
 * TPM_RC_NV_UNAVAILABLE (a control command answers TPM_FAIL).
 */
#ifndef VTPMD_DEV_H
#define VTPMD_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persist.h"
#include "vtpm/tpm.h"

/* Result codes of swtpm's control channel (TPM 1.2 numbering, swtpm-protocol.md §2.4). */
#define PTM_SUCCESS 0x00u
#define PTM_BAD_PARAMETER 0x03u
#define PTM_FAIL 0x09u
#define PTM_BAD_ORDINAL 0x0Au
#define PTM_IOERROR 0x1Fu
#define PTM_BAD_LOCALITY 0x3Du
#define PTM_RETRY 0x800u

/* The TPM buffer size range (SET_BUFFERSIZE), as swtpm 0.7.1 with libtpms 0.9 reports it. */
#define DEV_BUFFER_MIN 2808u
#define DEV_BUFFER_MAX 4096u

/* TPM 2.0 codes the daemon itself answers with (Part 2 §6.6). */
#define DEV_TPM_ST_NO_SESSIONS 0x8001u
#define DEV_TPM_RC_SUCCESS 0x000u
#define DEV_TPM_RC_INITIALIZE 0x100u
#define DEV_TPM_RC_FAILURE 0x101u
#define DEV_TPM_RC_INSUFFICIENT 0x09Au
#define DEV_TPM_RC_COMMAND_SIZE 0x142u
#define DEV_TPM_RC_LOCALITY 0x907u

struct dev {
    struct tpm *tpm;
    struct persist *store; /* NULL: state kept in memory only (tests, fuzzing) */
    struct tpm_buf saved;  /* the last durable permanent state, to roll back to */
    bool saved_valid;
    bool running;      /* CMD_INIT done (or --flags not-need-init) and no STOP since */
    bool hash_active;  /* a HASH_START sequence is open */
    unsigned locality; /* for data-channel commands: SET_LOCALITY, or a command prefix */
    bool reject_locality_4;
    uint32_t buffersize; /* largest command and response on the data channel */
};

/*
 * Open the device over store (NULL for memory only): load the permanent state if the store
 * has one, or manufacture a new TPM (saved at the first INIT). Returns 0, -EINVAL when the
 * stored state is damaged or foreign (nothing is overwritten then), -ENOMEM, or another
 * negative errno from the store. The device is stopped: CMD_INIT (dev_init) starts it.
 */
int dev_open(struct dev *d, struct persist *store, const struct tpm_profile *profile);

/* Free the engine (secrets wiped). The store stays the caller's. */
void dev_close(struct dev *d);

/*
 * CMD_INIT: power-cycle the engine (_TPM_Init), restoring the volatile state if one was
 * stored (and deleting it with delete_volatile). Returns a control result code: PTM_SUCCESS,
 * or PTM_FAIL when the state could not be saved or the volatile state could not be
 * restored (the device is then stopped).
 */
uint32_t dev_init(struct dev *d, bool delete_volatile);

/* CMD_STOP / CMD_SHUTDOWN: power the engine off, keeping its state. */
void dev_stop(struct dev *d);

/*
 * Execute one TPM command (cmd, len) and write the response to rsp (cap bytes, at least 10);
 * returns its length. The response never exceeds the buffer size. Stopped: TPM_RC_FAILURE.
 */
size_t dev_execute(struct dev *d, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap);

/* TPM2_Startup(su) from the daemon itself (--flags startup-*); returns the response code. */
uint32_t dev_startup(struct dev *d, uint16_t su);

/*
 * Save the permanent state now if the engine changed it. Returns 0, or a negative errno
 * after rolling the engine back to the last saved state.
 */
int dev_commit(struct dev *d);

/* CMD_STORE_VOLATILE. Returns PTM_SUCCESS or PTM_FAIL. */
uint32_t dev_store_volatile(struct dev *d);

/* CMD_HASH_START / DATA / END (_TPM_Hash_*). Each returns PTM_SUCCESS or PTM_FAIL. */
uint32_t dev_hash_start(struct dev *d);
uint32_t dev_hash_data(struct dev *d, const uint8_t *p, size_t len);
uint32_t dev_hash_end(struct dev *d);

/* CMD_RESET_TPMESTABLISHED from locality loc: PTM_SUCCESS, PTM_BAD_LOCALITY or PTM_FAIL. */
uint32_t dev_reset_established(struct dev *d, unsigned loc);

/* CMD_SET_LOCALITY and the command prefix: PTM_SUCCESS or PTM_BAD_LOCALITY. */
uint32_t dev_set_locality(struct dev *d, unsigned loc);

/* Clamp a SET_BUFFERSIZE request into [DEV_BUFFER_MIN, DEV_BUFFER_MAX]; 0 only queries. */
uint32_t dev_set_buffersize(struct dev *d, uint32_t want);

#endif

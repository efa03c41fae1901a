/*
 * The vTPM device vtpmd serves: the engine (include/vtpm/tpm.h), its durable state in the
 * vTPM file (src/store), and what swtpm's control channel adds around a TPM (running or
 * stopped, locality, buffer size, DRTM hashing, state blobs). Both channels act on it; it
 * does no socket I/O.
 *
 * Durability rule (DESIGN.md "The engine contract"): after anything that changed the
 * engine's permanent state, the state is committed (store_commit: durable when it returns)
 * before the answer is given. If the commit fails, the engine is rolled back to what the
 * file holds (store_read: exactly what a later open finds) and the TPM command is answered
 * TPM_RC_NV_UNAVAILABLE (a control command answers TPM_FAIL). Between commands the engine's
 * permanent state and the file's newest state are the same.
 */
#ifndef VTPMD_DEV_H
#define VTPMD_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blob.h"
#include "store/store.h"
#include "vtpm/tpm.h"

/* Result codes of swtpm's control channel (TPM 1.2 numbering, swtpm-protocol.md §2.4). */
#define PTM_SUCCESS 0x00u
#define PTM_BAD_PARAMETER 0x03u
#define PTM_FAIL 0x09u
#define PTM_BAD_ORDINAL 0x0Au
#define PTM_IOERROR 0x1Fu
#define PTM_BAD_LOCALITY 0x3Du
#define PTM_RETRY 0x800u

/* State-blob flags (swtpm's PTM_STATE_FLAG_*). */
#define PTM_STATE_FLAG_DECRYPTED 0x1u /* request: not under the state-file key */
#define PTM_STATE_FLAG_ENCRYPTED 0x2u /* the blob is under the state-file key */

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
    struct store *store; /* NULL: state kept in memory only (tests, fuzzing) */
    bool running;        /* CMD_INIT done (or --flags not-need-init) and no STOP since */
    bool hash_active;    /* a HASH_START sequence is open */
    unsigned locality;   /* for data-channel commands: SET_LOCALITY, or a command prefix */
    bool reject_locality_4;
    uint32_t buffersize; /* largest command and response on the data channel */
    /* State blobs: the layer keys, the VM id sealed blobs are bound to, and a volatile state
     * from SET_STATEBLOB waiting for the next INIT. */
    struct blob_keys keys;
    const char *vm_id;
    struct tpm_buf pending_volatile;
    /* The last blob GET_STATEBLOB made, so that reads at an offset continue the same blob
     * (the engine's volatile state moves with its clock). Dropped when the TPM changes. */
    struct {
        uint8_t *p;
        size_t len;
        uint32_t type, flags, rsp_flags;
    } blob_cache;
};

/*
 * A device with a newly manufactured engine (tpm_new with profile, NULL: the default),
 * stopped, keeping its state in memory until dev_attach. Returns 0 or -ENOMEM.
 */
int dev_open(struct dev *d, const struct tpm_profile *profile);

/*
 * Replace the engine's permanent state with state (from the vTPM file at start-up). Returns
 * 0, or -EINVAL when the bytes are not a state this engine reads (nothing changed), -ENOMEM.
 */
int dev_load(struct dev *d, const uint8_t *state, size_t len);

/*
 * The engine's permanent state as it is now, into out (replacing its content; the caller
 * frees it with tpm_buf_free). 0 or -ENOMEM.
 */
int dev_save(struct dev *d, struct tpm_buf *out);

/* From now on, commit to s (which holds the engine's current permanent state). */
void dev_attach(struct dev *d, struct store *s);

/* Free the engine and pending blobs (secrets wiped). The store stays the caller's. */
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
 * Commit the permanent state now if the engine changed it. Returns 0, or a negative errno
 * after rolling the engine back to what the file holds.
 */
int dev_commit(struct dev *d);

/*
 * CMD_GET_STATEBLOB: the blob of type (BLOB_TYPE_*) sealed as asked (flags: the request's
 * PTM_STATE_FLAG_*), in a new heap buffer *out of *out_len bytes (the caller wipes and frees
 * it); *rsp_flags gets the response's state flags. Returns PTM_SUCCESS, PTM_RETRY (no such
 * blob: the savestate of a TPM 2), PTM_BAD_PARAMETER (unknown type), PTM_FAIL.
 */
uint32_t dev_get_stateblob(struct dev *d, uint32_t type, uint32_t flags, bool fresh,
                           uint8_t **out, size_t *out_len, uint32_t *rsp_flags);

/*
 * CMD_SET_STATEBLOB (the TPM is stopped): a permanent blob replaces the engine's permanent
 * state and is committed at once; a volatile blob waits for the next INIT, which resumes
 * from it. Returns PTM_SUCCESS, PTM_BAD_PARAMETER (unknown type, or a blob this vtpmd does
 * not accept: wrong format, key, VM id, type; the reason is logged), PTM_FAIL (the commit
 * failed; the old state stays).
 */
uint32_t dev_set_stateblob(struct dev *d, uint32_t type, uint32_t flags, const uint8_t *blob,
                           size_t len);

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

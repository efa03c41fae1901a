/*
 * The vTPM file: one encrypted, authenticated file per vTPM (docs/STATE-FORMAT.md).
 *
 * The store keeps opaque blobs that the engine produced (tpm_state_save): the permanent state,
 * committed after every command that changed it, and an optional volatile state
 * (swtpm's CMD_STORE_VOLATILE / CMD_INIT). It never interprets them.
 *
 * Each blob is sealed with AES-256-GCM under keys derived from the vTPM's own 256-bit data
 * key. The file header, the record's own header and the owning VM's id are authenticated
 * data, so a file copied to another VM, sealed under another key, or edited in one byte is
 * refused with its own reason. Every commit is atomic and durable before it returns: the file
 * holds two fixed slots per blob, written alternately in place (one pwrite + one fdatasync);
 * a write torn by a crash fails authentication and the other slot, one generation older,
 * is used.
 *
 * Conventions: every function returns 0 or a negative errno-style code. The codes below name
 * the refusals of a file; anything else is an errno from the system (-ENOENT, -EACCES from
 * open(2), -ENOSPC, -EIO, -EDQUOT from a write, -ENOMEM). Functions that take (err, errlen)
 * put one sentence there (no newline) on failure, naming the file and the reason; functions
 * on an open store keep the sentence for store_message(). Nothing here logs or prints.
 * Keys and plaintexts are wiped (secret_wipe) when the store is done with them.
 *
 * Thread safety: a struct store is used by one thread at a time. Different stores are
 * independent, except for the fault hook of store_fault.h (tests only).
 */
#ifndef VTPM_STORE_H
#define VTPM_STORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_KEY_LEN 32 /* the data key: 32 raw bytes (AES-256) */
#define STORE_ID_LEN 16  /* vTPM id and key id */
#define STORE_VM_ID_MAX 255
#define STORE_MAX_BLOB (1024u * 1024u) /* largest permanent or volatile blob */
#define STORE_ERR_LEN 512 /* an err buffer this long holds any sentence (long paths are cut) */

/* Why a file was refused. Each has its own sentence too. */
#define STORE_E_NOT_VTPM (-ENOEXEC)        /* not a vTPM file at all (no magic) */
#define STORE_E_VERSION (-EPROTONOSUPPORT) /* a vTPM file of a format version we do not read */
#define STORE_E_TRUNCATED (-ENODATA)       /* shorter than its header says */
#define STORE_E_WRONG_KEY (-EKEYREJECTED)  /* sealed under another data key */
#define STORE_E_OTHER_VM (-EXDEV)          /* made for another VM */
#define STORE_E_CORRUPT (-EBADMSG)         /* a byte changed: authentication failed */
#define STORE_E_BUSY (-EBUSY)              /* another process has it open (locked) */

struct store;

/* A blob handed to the caller. The caller owns data and frees it with store_blob_free. */
struct store_blob {
    uint8_t *data; /* NULL when len is 0 */
    size_t len;
    /* Permanent state: its generation (1 at creation, +1 per commit). Volatile state: the
     * generation of its own slot pair (+1 per put or removal). */
    uint64_t generation;
    /* One of the two slots did not verify and this blob came from the other one. After a
     * crash during a commit this is expected (that commit never returned, nothing committed
     * is lost); otherwise it means damage. store_message() says which slot and why. */
    bool fell_back;
};

/* Wipe and free b->data; b is left empty. NULL is allowed. */
void store_blob_free(struct store_blob *b);

/*
 * Turn key material as it arrives from a key file or descriptor into the 32-byte data key.
 * Accepts exactly 32 raw bytes, or 64 hexadecimal digits (either case) with an optional
 * trailing "\n". in is wiped (all len bytes) before returning, whatever the result; key is
 * written only on success and wiped on failure. Decoding does not branch on the digits.
 * Returns 0 or -EINVAL.
 */
int store_key_parse(uint8_t *in, size_t len, uint8_t key[STORE_KEY_LEN]);

/*
 * The key id of a data key, as written into every file sealed under it: a one-way value
 * (HKDF-SHA256) that lets the registry and the error messages tell keys apart without the
 * key. Returns 0, or -EIO if OpenSSL fails.
 */
int store_key_id(const uint8_t key[STORE_KEY_LEN], uint8_t id[STORE_ID_LEN]);

/*
 * Create a new vTPM file at path holding blob as its permanent state, generation 1, for the
 * VM vm_id (1..255 printable ASCII characters) and the vTPM vtpm_id. The file is written in
 * full under a temporary name in the same folder, synced, moved to path only if nothing is
 * there yet, and the folder synced: when this returns 0 the file exists durably, mode 0600.
 * The caller keeps ownership of key and blob (wipe them when done).
 * Errors: -EEXIST (path exists, it is untouched), -EINVAL (vm_id, len out of range),
 * -EFBIG (len > STORE_MAX_BLOB), -ENOSPC / -EIO / other errno from the file system (no file
 * is left behind), -ENOMEM.
 */
int store_create(const char *path, const uint8_t key[STORE_KEY_LEN], const char *vm_id,
                 const uint8_t vtpm_id[STORE_ID_LEN], const uint8_t *blob, size_t len, char *err,
                 size_t errlen);

/*
 * Open and verify the vTPM file at path for the VM vm_id. Every byte of the file is checked
 * (header, both slots of each blob, padding); the file is never modified by opening. On
 * success *out owns an open, locked file (flock) and the derived keys; key itself is not
 * kept. When one slot of a pair did not verify, the open still succeeds from the other slot
 * and store_message() holds the note (see store_blob.fell_back).
 * Errors: STORE_E_NOT_VTPM, STORE_E_VERSION, STORE_E_TRUNCATED, STORE_E_WRONG_KEY,
 * STORE_E_OTHER_VM, STORE_E_CORRUPT (header changed, trailing bytes, or both slots of a
 * pair unreadable), STORE_E_BUSY, -ELOOP (path is a symbolic link: give the real path, a
 * commit that renames would replace the link), -EINVAL (not a regular file, bad vm_id),
 * -ENOENT / -EACCES / other errno from opening, -ENOMEM. *out is NULL on failure.
 */
int store_open(const char *path, const uint8_t key[STORE_KEY_LEN], const char *vm_id,
               struct store **out, char *err, size_t errlen);

/*
 * Read the newest permanent state from the file (read and verified again from disk).
 * out is filled and owned by the caller. After a failed store_commit this is the state to
 * roll the engine back to: exactly what a later open will find. Errors: as store_open for a
 * file that changed under us, -EIO, -ENOMEM.
 */
int store_read(struct store *s, struct store_blob *out);

/*
 * Make blob the permanent state, generation + 1, durably: when this returns 0 a crash at any
 * later instant leaves this state (or a newer one). Usually one pwrite + fdatasync into the
 * slot that does not hold the current state; a blob that outgrows its slot makes the store
 * rewrite the whole file with larger slots (temporary file, fsync, rename, fsync of the
 * folder). On failure the previous state is intact on disk and stays the one an open finds,
 * except in the cases docs/STATE-FORMAT.md "Failed commits" lists (then an open finds the old
 * or the new state, never a mix). The caller keeps blob.
 * Errors: -EFBIG (len > STORE_MAX_BLOB), -ENOSPC, -EIO, -EDQUOT, other errno from the
 * file system, -ENOMEM, -EIO (OpenSSL failure).
 */
int store_commit(struct store *s, const uint8_t *blob, size_t len);

/*
 * Store blob as the volatile state, durably (same slot mechanism, its own pair of slots; the
 * first one adds the pair with a full rewrite). The caller keeps blob. Errors: as
 * store_commit.
 */
int store_put_volatile(struct store *s, const uint8_t *blob, size_t len);

/*
 * Read the volatile state into out (owned by the caller). With remove, the volatile state is
 * then durably removed (an authenticated "empty" record is committed in place); out is filled
 * only if the removal succeeded too. -ENOENT when no volatile state is stored (the normal
 * case, out is empty). Other errors: as store_read and store_commit.
 */
int store_take_volatile(struct store *s, struct store_blob *out, bool remove);

/* The generation of the newest permanent state (the last committed). */
uint64_t store_generation(const struct store *s);

/* The vTPM id recorded in the file. */
void store_vtpm_id(const struct store *s, uint8_t id[STORE_ID_LEN]);

/*
 * The sentence for the last failed call on s, or the recovery note of the last open or read
 * that fell back; "" when there is none. Valid until the next call on s.
 */
const char *store_message(const struct store *s);

/* Close the file (releasing the lock), wipe the keys and free. NULL is allowed. */
void store_close(struct store *s);

#endif

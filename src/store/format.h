/*
 * The vTPM file's byte layout (docs/STATE-FORMAT.md): the parser of a whole file image and
 * the writers of its parts. Pure functions on memory: no file I/O here (store.c does that),
 * so the parser is what fuzz/fuzz_store.c and the unit tests drive directly.
 *
 * Reading dispatches on the format version (fmt_parse -> one parser per version, all kept);
 * writing always produces the newest version, FMT_VERSION.
 */
#ifndef VTPM_STORE_FORMAT_H
#define VTPM_STORE_FORMAT_H

#include "store/seal.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FMT_VERSION 1 /* the version this build writes */
#define FMT_MAGIC_LEN 8
#define FMT_PAGE 4096u   /* header area and slot granularity */
#define FMT_HDR_LEN 128u /* the header's fields; the rest of its page is zero */
#define FMT_REC_HDR_LEN 48u
#define FMT_REC_OVERHEAD (FMT_REC_HDR_LEN + SEAL_TAG_LEN)
#define FMT_REC_EMPTY 0x0001u /* record flag: holds "no state" (a removed volatile state) */
/* Largest slot: the largest blob plus a record's overhead, rounded up to a page. */
#define FMT_MAX_SLOT ((STORE_MAX_BLOB + FMT_REC_OVERHEAD + FMT_PAGE - 1) / FMT_PAGE * FMT_PAGE)
/* Largest file: the header page and two slots for each of the two channels. */
#define FMT_MAX_FILE (FMT_PAGE + 4 * (size_t)FMT_MAX_SLOT)

extern const uint8_t fmt_magic[FMT_MAGIC_LEN];

/* The two blobs a file keeps, each in its own pair of slots. */
enum fmt_chan {
    FMT_PERM = 0, /* the permanent state: always present */
    FMT_VOL = 1,  /* the volatile state: present once put */
    FMT_NCHAN = 2,
};

/* The header's fields, independent of the version they were read from. */
struct fmt_header {
    uint16_t version;
    uint8_t vtpm_id[STORE_ID_LEN];
    uint8_t key_id[SEAL_KEY_ID_LEN];
    uint8_t vm_tag[SEAL_VM_TAG_LEN];
    uint32_t slot_size[FMT_NCHAN]; /* bytes per slot; 0: the channel has no slots */
};

/* One slot as the parser found it. */
struct fmt_slot {
    bool good;    /* parsed, authenticated, padding zero */
    bool empty;   /* good and marked FMT_REC_EMPTY */
    bool claimed; /* the record header parsed, so gen says what the slot claims to be */
    uint64_t gen;
    uint8_t *data; /* the plaintext when good (owned, wiped by fmt_image_free) */
    size_t len;
    char why[96]; /* when not good: why, as a phrase */
};

/* A verified file image. */
struct fmt_image {
    struct fmt_header hdr;
    uint8_t hdr_raw[FMT_HDR_LEN]; /* the header's bytes: every record's AAD starts with them */
    struct fmt_slot slot[FMT_NCHAN][2];
    int newest[FMT_NCHAN]; /* index of the newest good slot, -1 when the channel has none */
};

/* Where a slot starts, and the size of the whole file, for a header. */
size_t fmt_slot_offset(const struct fmt_header *h, enum fmt_chan c, int idx);
size_t fmt_file_size(const struct fmt_header *h);

/* A slot size for a blob of len bytes, with room to grow (a quarter), at most FMT_MAX_SLOT. */
uint32_t fmt_slot_size_for(size_t len);

/*
 * Parse and verify a whole file image (len bytes, as read from disk) for the VM vm_id under
 * keys k. On success every slot has been checked and out owns the good slots' plaintexts
 * (fmt_image_free). On refusal returns one of the STORE_E_* codes (see store.h) and writes
 * the reason to err as a phrase ("sealed under a different data key ..."), out is left
 * empty. Other negative codes: -ENOMEM, -EIO (OpenSSL).
 */
int fmt_parse(struct seal_ctx *c, const struct seal_keys *k, const char *vm_id, const uint8_t *img,
              size_t len, struct fmt_image *out, char *err, size_t errlen);

/* Wipe and free the plaintexts; out is left empty. */
void fmt_image_free(struct fmt_image *im);

/*
 * Write the header page (FMT_PAGE bytes: fields, zero padding, MAC) of version FMT_VERSION
 * for h; the key id is k's. Returns 0 or -EIO.
 */
int fmt_header_write(const struct fmt_header *h, const struct seal_keys *k, uint8_t page[FMT_PAGE]);

/*
 * Seal one record into the first slot_size bytes of a slot (record header, ciphertext, tag,
 * zero padding up to slot_size), with a fresh salt and nonce. hdr_raw is the file header it
 * will live under. empty marks a record that holds no state (len must be 0). Requires
 * len + FMT_REC_OVERHEAD <= slot_size. Returns 0, -EINVAL, -EIO.
 */
int fmt_record_write(struct seal_ctx *c, const struct seal_keys *k,
                     const uint8_t hdr_raw[FMT_HDR_LEN], const char *vm_id, enum fmt_chan chan,
                     int idx, uint64_t gen, bool empty, const uint8_t *pt, size_t len,
                     uint8_t *slot, size_t slot_size);

/* "permanent" or "volatile", for messages. */
const char *fmt_chan_name(enum fmt_chan c);

/* Is vm_id acceptable (1..STORE_VM_ID_MAX printable ASCII characters)? */
bool fmt_vm_id_ok(const char *vm_id);

#endif

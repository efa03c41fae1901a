/*
 * The vTPM file's byte layout: version dispatch, the version 1 parser, and the writers
 * (see format.h; the layout itself is specified in docs/STATE-FORMAT.md).
 *
 * The parser checks in the order that gives each kind of damage its own reason: magic (not a
 * vTPM file), version (unknown version), header length (truncated), header field ranges and
 * padding (corrupt), key id and MAC together (wrong key, or a header byte changed), VM tag
 * (another VM), file size (truncated, trailing bytes), then every slot. Every read of file
 * bytes goes through the bounded reader (common/rw.h).
 */
#include "store/format.h"

#include "common/rw.h"
#include "common/secret.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t fmt_magic[FMT_MAGIC_LEN] = {'V', 'T', 'P', 'M', 'F', 'I', 'L', 'E'};

/* Version 1 header field offsets (docs/STATE-FORMAT.md "Header"). */
#define V1_KEY_ID_OFF 32u
#define V1_VM_TAG_OFF 48u
#define V1_MAC_OFF 96u
#define V1_RESERVED_LEN 24u

static void phrase(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void phrase(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

static const char *slot_name(int idx)
{
    return idx == 0 ? "A" : "B";
}

const char *fmt_chan_name(enum fmt_chan c)
{
    return c == FMT_PERM ? "permanent" : "volatile";
}

bool fmt_vm_id_ok(const char *vm_id)
{
    size_t n = 0;
    if (!vm_id) {
        return false;
    }
    for (; vm_id[n] != '\0'; n++) {
        if (n >= STORE_VM_ID_MAX || vm_id[n] < 0x20 || vm_id[n] > 0x7e) {
            return false;
        }
    }
    return n > 0;
}

/* The header page, then channel by channel, each channel's slot A then slot B. */
size_t fmt_slot_offset(const struct fmt_header *h, enum fmt_chan c, int idx)
{
    size_t off = FMT_PAGE;
    for (int i = 0; i < (int)c; i++) {
        off += 2 * (size_t)h->slot_size[i];
    }
    return off + (size_t)idx * h->slot_size[c];
}

size_t fmt_file_size(const struct fmt_header *h)
{
    return fmt_slot_offset(h, FMT_VOL, 2);
}

uint32_t fmt_slot_size_for(size_t len)
{
    size_t want = len + len / 4 + FMT_REC_OVERHEAD;
    size_t need = len + FMT_REC_OVERHEAD;
    if (want > FMT_MAX_SLOT) {
        want = need > FMT_MAX_SLOT ? need : FMT_MAX_SLOT;
    }
    return (uint32_t)((want + FMT_PAGE - 1) / FMT_PAGE * FMT_PAGE);
}

static bool slot_size_ok(uint32_t v)
{
    return v >= FMT_PAGE && v <= FMT_MAX_SLOT && v % FMT_PAGE == 0;
}

void fmt_image_free(struct fmt_image *im)
{
    for (int c = 0; c < FMT_NCHAN; c++) {
        for (int i = 0; i < 2; i++) {
            struct fmt_slot *s = &im->slot[c][i];
            secret_wipe(s->data, s->len);
            free(s->data);
        }
    }
    memset(im, 0, sizeof(*im));
    im->newest[FMT_PERM] = im->newest[FMT_VOL] = -1;
}

/* ---- version 1 ------------------------------------------------------------------------- */

/*
 * Check one record in place. Returns 0 when the slot was judged (s->good says how), or a
 * negative code for a failure that is not the file's fault (-ENOMEM, -EIO).
 */
static int v1_record_parse(struct seal_ctx *c, const struct seal_keys *k, const char *vm_id,
                           const uint8_t *hdr_raw, enum fmt_chan chan, int idx, const uint8_t *slot,
                           size_t slot_size, struct fmt_slot *s)
{
    struct rd r;
    uint8_t rchan = 0, ridx = 0;
    uint16_t flags = 0;
    uint32_t len = 0, reserved = 0;
    const uint8_t *salt = NULL, *nonce = NULL, *ct = NULL, *tag = NULL, *pad = NULL;

    rd_init(&r, slot, slot_size);
    rd_u8(&r, &rchan);
    rd_u8(&r, &ridx);
    rd_u16(&r, &flags);
    rd_u32(&r, &len);
    rd_u64(&r, &s->gen);
    rd_ptr(&r, SEAL_SALT_LEN, &salt);
    rd_ptr(&r, SEAL_NONCE_LEN, &nonce);
    rd_u32(&r, &reserved);
    if (r.err) {
        snprintf(s->why, sizeof(s->why), "its record header is cut short");
        return 0;
    }
    s->claimed = true;
    if (rchan != (uint8_t)chan || ridx != (uint8_t)idx) {
        snprintf(s->why, sizeof(s->why), "it holds a record that belongs elsewhere");
        return 0;
    }
    if ((flags & ~FMT_REC_EMPTY) != 0 || reserved != 0 || ((flags & FMT_REC_EMPTY) && len != 0)) {
        snprintf(s->why, sizeof(s->why), "its record header has impossible values");
        return 0;
    }
    if (len > slot_size - FMT_REC_OVERHEAD) {
        snprintf(s->why, sizeof(s->why), "its record length %" PRIu32 " exceeds the slot", len);
        return 0;
    }
    rd_ptr(&r, len, &ct);
    rd_ptr(&r, SEAL_TAG_LEN, &tag);
    rd_ptr(&r, rd_left(&r), &pad);
    if (r.err) {
        snprintf(s->why, sizeof(s->why), "its record is cut short");
        return 0;
    }
    if (!all_zero(pad, (size_t)(slot + slot_size - pad))) {
        snprintf(s->why, sizeof(s->why), "bytes after its record were changed");
        return 0;
    }
    s->data = malloc(len > 0 ? len : 1);
    if (!s->data) {
        return -ENOMEM;
    }
    struct seal_aad aad = {hdr_raw, FMT_HDR_LEN, slot, FMT_REC_HDR_LEN, vm_id};
    int rc = seal_unrecord(c, k, salt, nonce, &aad, ct, len, tag, s->data);
    if (rc == -EBADMSG) {
        free(s->data);
        s->data = NULL;
        snprintf(s->why, sizeof(s->why), "it fails authentication");
        return 0;
    }
    if (rc != 0) {
        free(s->data);
        s->data = NULL;
        return rc;
    }
    s->len = len;
    s->good = true;
    s->empty = (flags & FMT_REC_EMPTY) != 0;
    return 0;
}

/* Describe a slot that did not verify, for the "neither copy" refusal. */
static void slot_desc(const struct fmt_slot *s, char *out, size_t n)
{
    if (s->claimed) {
        snprintf(out, n, "%s, claims generation %" PRIu64, s->why, s->gen);
    } else {
        snprintf(out, n, "%s", s->why);
    }
}

static int v1_parse(struct seal_ctx *c, const struct seal_keys *k, const char *vm_id,
                    const uint8_t *img, size_t len, struct fmt_image *out, char *err, size_t errlen)
{
    struct rd r;
    uint16_t version = 0, hdr_len = 0;
    uint32_t flags = 0;
    const uint8_t *reserved = NULL, *mac = NULL;
    struct fmt_header *h = &out->hdr;
    uint8_t want_mac[SEAL_MAC_LEN], want_tag[SEAL_VM_TAG_LEN];
    int rc;

    if (len < FMT_PAGE) {
        phrase(err, errlen, "truncated: %zu bytes, shorter than its %u-byte header", len, FMT_PAGE);
        return STORE_E_TRUNCATED;
    }
    rd_init(&r, img, FMT_HDR_LEN);
    rd_skip(&r, FMT_MAGIC_LEN);
    rd_u16(&r, &version);
    rd_u16(&r, &hdr_len);
    rd_u32(&r, &flags);
    rd_bytes(&r, h->vtpm_id, sizeof(h->vtpm_id));
    rd_bytes(&r, h->key_id, sizeof(h->key_id));
    rd_bytes(&r, h->vm_tag, sizeof(h->vm_tag));
    rd_u32(&r, &h->slot_size[FMT_PERM]);
    rd_u32(&r, &h->slot_size[FMT_VOL]);
    rd_ptr(&r, V1_RESERVED_LEN, &reserved);
    rd_ptr(&r, SEAL_MAC_LEN, &mac);
    if (!rd_done(&r)) {
        phrase(err, errlen, "corrupt: its header does not parse");
        return STORE_E_CORRUPT;
    }
    h->version = version;
    memcpy(out->hdr_raw, img, FMT_HDR_LEN);

    if (hdr_len != FMT_HDR_LEN || flags != 0 || !all_zero(reserved, V1_RESERVED_LEN) ||
        !slot_size_ok(h->slot_size[FMT_PERM]) ||
        (h->slot_size[FMT_VOL] != 0 && !slot_size_ok(h->slot_size[FMT_VOL]))) {
        phrase(err, errlen, "corrupt: its header holds impossible values (a byte was changed)");
        return STORE_E_CORRUPT;
    }
    if (!all_zero(img + FMT_HDR_LEN, FMT_PAGE - FMT_HDR_LEN)) {
        phrase(err, errlen, "corrupt: the padding after its header was changed");
        return STORE_E_CORRUPT;
    }

    /*
     * The MAC covers every header field but the key id, which is itself a function of the
     * key: a MAC that verifies proves the key right, so a key id that then differs was edited;
     * a MAC that fails beside a matching key id means a header byte changed; both failing is
     * the signature of another key.
     */
    rc = seal_header_mac(k, img, V1_KEY_ID_OFF, img + V1_VM_TAG_OFF, V1_MAC_OFF - V1_VM_TAG_OFF,
                         want_mac);
    if (rc != 0) {
        return rc;
    }
    bool mac_ok = secret_eq(mac, want_mac, SEAL_MAC_LEN);
    bool id_ok = secret_eq(h->key_id, k->id, SEAL_KEY_ID_LEN);
    if (!mac_ok && !id_ok) {
        phrase(err, errlen,
               "sealed under a different data key (the file's key id begins %02x%02x%02x%02x, "
               "the given key's %02x%02x%02x%02x)",
               h->key_id[0], h->key_id[1], h->key_id[2], h->key_id[3], k->id[0], k->id[1], k->id[2],
               k->id[3]);
        return STORE_E_WRONG_KEY;
    }
    if (!mac_ok) {
        phrase(err, errlen, "corrupt: its header fails authentication (a byte was changed)");
        return STORE_E_CORRUPT;
    }
    if (!id_ok) {
        phrase(err, errlen, "corrupt: the key id in its header was changed");
        return STORE_E_CORRUPT;
    }
    rc = seal_vm_tag(k, vm_id, want_tag);
    if (rc != 0) {
        return rc;
    }
    if (!secret_eq(h->vm_tag, want_tag, SEAL_VM_TAG_LEN)) {
        phrase(err, errlen, "made for another VM: it is not bound to VM \"%s\"", vm_id);
        return STORE_E_OTHER_VM;
    }

    size_t want = fmt_file_size(h);
    if (len < want) {
        phrase(err, errlen, "truncated: %zu bytes, its header says %zu", len, want);
        return STORE_E_TRUNCATED;
    }
    if (len > want) {
        phrase(err, errlen, "corrupt: %zu unexpected bytes after its last slot", len - want);
        return STORE_E_CORRUPT;
    }

    for (int ch = 0; ch < FMT_NCHAN; ch++) {
        size_t ss = h->slot_size[ch];
        if (ss == 0) {
            continue;
        }
        for (int i = 0; i < 2; i++) {
            rc = v1_record_parse(c, k, vm_id, out->hdr_raw, (enum fmt_chan)ch, i,
                                 img + fmt_slot_offset(h, (enum fmt_chan)ch, i), ss,
                                 &out->slot[ch][i]);
            if (rc != 0) {
                return rc;
            }
        }
        struct fmt_slot *a = &out->slot[ch][0], *b = &out->slot[ch][1];
        if (!a->good && !b->good) {
            char da[128], db[128];
            slot_desc(a, da, sizeof(da));
            slot_desc(b, db, sizeof(db));
            phrase(err, errlen,
                   "corrupt: neither copy of the %s state verifies (slot A: %s; "
                   "slot B: %s)",
                   fmt_chan_name((enum fmt_chan)ch), da, db);
            return STORE_E_CORRUPT;
        }
        out->newest[ch] = (b->good && (!a->good || b->gen > a->gen)) ? 1 : 0;
        if (ch == FMT_PERM && out->slot[ch][out->newest[ch]].empty) {
            phrase(err, errlen,
                   "corrupt: its only readable copy of the permanent state (slot "
                   "%s) is empty",
                   slot_name(out->newest[ch]));
            return STORE_E_CORRUPT;
        }
    }
    return 0;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

typedef int (*fmt_parse_fn)(struct seal_ctx *c, const struct seal_keys *k, const char *vm_id,
                            const uint8_t *img, size_t len, struct fmt_image *out, char *err,
                            size_t errlen);

/* Every version this build reads. A new version adds a row; no row is ever removed. */
static const struct {
    uint16_t version;
    fmt_parse_fn parse;
} fmt_readers[] = {
    {1, v1_parse},
};

int fmt_parse(struct seal_ctx *c, const struct seal_keys *k, const char *vm_id, const uint8_t *img,
              size_t len, struct fmt_image *out, char *err, size_t errlen)
{
    struct rd r;
    uint16_t version = 0;
    const uint8_t *magic = NULL;

    memset(out, 0, sizeof(*out));
    out->newest[FMT_PERM] = out->newest[FMT_VOL] = -1;
    if (len == 0) {
        phrase(err, errlen, "truncated: the file is empty");
        return STORE_E_TRUNCATED;
    }
    rd_init(&r, img, len);
    if (!rd_ptr(&r, FMT_MAGIC_LEN, &magic)) {
        if (memcmp(img, fmt_magic, len) == 0) {
            phrase(err, errlen, "truncated: %zu bytes, shorter than its header", len);
            return STORE_E_TRUNCATED;
        }
        phrase(err, errlen, "not a vTPM file (it does not start with the vTPM file magic)");
        return STORE_E_NOT_VTPM;
    }
    if (memcmp(magic, fmt_magic, FMT_MAGIC_LEN) != 0) {
        phrase(err, errlen, "not a vTPM file (it does not start with the vTPM file magic)");
        return STORE_E_NOT_VTPM;
    }
    if (!rd_u16(&r, &version)) {
        phrase(err, errlen, "truncated: %zu bytes, shorter than its header", len);
        return STORE_E_TRUNCATED;
    }
    for (size_t i = 0; i < sizeof(fmt_readers) / sizeof(fmt_readers[0]); i++) {
        if (fmt_readers[i].version == version) {
            int rc = fmt_readers[i].parse(c, k, vm_id, img, len, out, err, errlen);
            if (rc != 0) {
                fmt_image_free(out);
            }
            return rc;
        }
    }
    phrase(err, errlen, "unknown format version %u (this build reads version 1 to %u)", version,
           FMT_VERSION);
    return STORE_E_VERSION;
}

/* ---- writers (always FMT_VERSION) ----------------------------------------------------- */

int fmt_header_write(const struct fmt_header *h, const struct seal_keys *k, uint8_t page[FMT_PAGE])
{
    struct wr w;
    memset(page, 0, FMT_PAGE);
    wr_init(&w, page, FMT_HDR_LEN);
    wr_bytes(&w, fmt_magic, FMT_MAGIC_LEN);
    wr_u16(&w, FMT_VERSION);
    wr_u16(&w, FMT_HDR_LEN);
    wr_u32(&w, 0); /* flags */
    wr_bytes(&w, h->vtpm_id, sizeof(h->vtpm_id));
    wr_bytes(&w, k->id, sizeof(k->id));
    wr_bytes(&w, h->vm_tag, sizeof(h->vm_tag));
    wr_u32(&w, h->slot_size[FMT_PERM]);
    wr_u32(&w, h->slot_size[FMT_VOL]);
    wr_zero(&w, V1_RESERVED_LEN);
    if (w.err || w.off != V1_MAC_OFF) {
        return -EIO;
    }
    return seal_header_mac(k, page, V1_KEY_ID_OFF, page + V1_VM_TAG_OFF, V1_MAC_OFF - V1_VM_TAG_OFF,
                           page + V1_MAC_OFF);
}

int fmt_record_write(struct seal_ctx *c, const struct seal_keys *k,
                     const uint8_t hdr_raw[FMT_HDR_LEN], const char *vm_id, enum fmt_chan chan,
                     int idx, uint64_t gen, bool empty, const uint8_t *pt, size_t len,
                     uint8_t *slot, size_t slot_size)
{
    struct wr w;
    uint8_t salt[SEAL_SALT_LEN], nonce[SEAL_NONCE_LEN];
    int rc;

    if (len > STORE_MAX_BLOB || len + FMT_REC_OVERHEAD > slot_size || (empty && len != 0) ||
        (len > 0 && !pt)) {
        return -EINVAL;
    }
    rc = seal_random(salt, sizeof(salt));
    if (rc == 0) {
        rc = seal_random(nonce, sizeof(nonce));
    }
    if (rc != 0) {
        return rc;
    }
    wr_init(&w, slot, FMT_REC_HDR_LEN);
    wr_u8(&w, (uint8_t)chan);
    wr_u8(&w, (uint8_t)idx);
    wr_u16(&w, empty ? FMT_REC_EMPTY : 0);
    wr_u32(&w, (uint32_t)len);
    wr_u64(&w, gen);
    wr_bytes(&w, salt, sizeof(salt));
    wr_bytes(&w, nonce, sizeof(nonce));
    wr_u32(&w, 0);
    if (w.err || w.off != FMT_REC_HDR_LEN) {
        return -EIO;
    }
    struct seal_aad aad = {hdr_raw, FMT_HDR_LEN, slot, FMT_REC_HDR_LEN, vm_id};
    rc = seal_record(c, k, salt, nonce, &aad, pt, len, slot + FMT_REC_HDR_LEN,
                     slot + FMT_REC_HDR_LEN + len);
    if (rc != 0) {
        return rc;
    }
    memset(slot + FMT_REC_HDR_LEN + len + SEAL_TAG_LEN, 0,
           slot_size - FMT_REC_HDR_LEN - len - SEAL_TAG_LEN);
    return 0;
}

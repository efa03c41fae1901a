/*
 * Bounded reader and writer: the only way any part of vtpm reads or writes wire bytes.
 *
 * Both carry a sticky error. A read that cannot be satisfied sets the error and leaves the
 * cursor where it was; every later read then fails too, so a parser can read a run of fields
 * and test once. A sized field is read through a child reader bounded by its size
 * (rd_sub), so nothing inside it can read past its end. Big-endian throughout, as the TPM
 * wire format (Part 1 §7 "endianness") and swtpm's control channel are.
 */
#ifndef VTPM_COMMON_RW_H
#define VTPM_COMMON_RW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool err;
};

struct wr {
    uint8_t *p;
    size_t cap;
    size_t off;
    bool err;
};

static inline void rd_init(struct rd *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->err = false;
}

static inline size_t rd_left(const struct rd *r)
{
    return r->err ? 0 : r->len - r->off;
}

/* True when every byte was consumed and no read failed. */
static inline bool rd_done(const struct rd *r)
{
    return !r->err && r->off == r->len;
}

/* Each returns true on success; on failure it sets r->err and moves nothing. */
bool rd_u8(struct rd *r, uint8_t *v);
bool rd_u16(struct rd *r, uint16_t *v);
bool rd_u32(struct rd *r, uint32_t *v);
bool rd_u64(struct rd *r, uint64_t *v);
bool rd_bytes(struct rd *r, void *dst, size_t n);
bool rd_skip(struct rd *r, size_t n);
/* Borrow n bytes in place: *p points into the reader's buffer. */
bool rd_ptr(struct rd *r, size_t n, const uint8_t **p);
/* A child reader over the next n bytes; the parent moves past them. */
bool rd_sub(struct rd *r, size_t n, struct rd *child);

static inline void wr_init(struct wr *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->cap = cap;
    w->off = 0;
    w->err = false;
}

/* Each writes nothing and sets w->err when the bytes do not fit. */
void wr_u8(struct wr *w, uint8_t v);
void wr_u16(struct wr *w, uint16_t v);
void wr_u32(struct wr *w, uint32_t v);
void wr_u64(struct wr *w, uint64_t v);
void wr_bytes(struct wr *w, const void *src, size_t n);
void wr_zero(struct wr *w, size_t n);
/* Reserve room for a size field; wr_size16/32_end fills it with the byte count written since. */
size_t wr_size16_begin(struct wr *w);
void wr_size16_end(struct wr *w, size_t mark);
size_t wr_size32_begin(struct wr *w);
void wr_size32_end(struct wr *w, size_t mark);

/* Raw big-endian stores for fixed places the writer already reserved. */
void be16_put(uint8_t *p, uint16_t v);
void be32_put(uint8_t *p, uint32_t v);

#endif

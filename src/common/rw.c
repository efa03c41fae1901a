/* Bounded reader and writer (see rw.h). */
#include "rw.h"

#include <string.h>

static bool rd_take(struct rd *r, size_t n, const uint8_t **p)
{
    if (r->err || n > r->len - r->off) {
        r->err = true;
        return false;
    }
    *p = r->p + r->off;
    r->off += n;
    return true;
}

bool rd_u8(struct rd *r, uint8_t *v)
{
    const uint8_t *p;
    if (!rd_take(r, 1, &p)) {
        return false;
    }
    *v = p[0];
    return true;
}

bool rd_u16(struct rd *r, uint16_t *v)
{
    const uint8_t *p;
    if (!rd_take(r, 2, &p)) {
        return false;
    }
    *v = (uint16_t)((p[0] << 8) | p[1]);
    return true;
}

bool rd_u32(struct rd *r, uint32_t *v)
{
    const uint8_t *p;
    if (!rd_take(r, 4, &p)) {
        return false;
    }
    *v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return true;
}

bool rd_u64(struct rd *r, uint64_t *v)
{
    const uint8_t *p;
    if (!rd_take(r, 8, &p)) {
        return false;
    }
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) {
        x = (x << 8) | p[i];
    }
    *v = x;
    return true;
}

bool rd_bytes(struct rd *r, void *dst, size_t n)
{
    const uint8_t *p;
    if (!rd_take(r, n, &p)) {
        return false;
    }
    if (n > 0) {
        memcpy(dst, p, n);
    }
    return true;
}

bool rd_skip(struct rd *r, size_t n)
{
    const uint8_t *p;
    return rd_take(r, n, &p);
}

bool rd_ptr(struct rd *r, size_t n, const uint8_t **p)
{
    return rd_take(r, n, p);
}

bool rd_sub(struct rd *r, size_t n, struct rd *child)
{
    const uint8_t *p;
    if (!rd_take(r, n, &p)) {
        return false;
    }
    rd_init(child, p, n);
    return true;
}

static uint8_t *wr_take(struct wr *w, size_t n)
{
    if (w->err || n > w->cap - w->off) {
        w->err = true;
        return NULL;
    }
    uint8_t *p = w->p + w->off;
    w->off += n;
    return p;
}

void be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void wr_u8(struct wr *w, uint8_t v)
{
    uint8_t *p = wr_take(w, 1);
    if (p) {
        p[0] = v;
    }
}

void wr_u16(struct wr *w, uint16_t v)
{
    uint8_t *p = wr_take(w, 2);
    if (p) {
        be16_put(p, v);
    }
}

void wr_u32(struct wr *w, uint32_t v)
{
    uint8_t *p = wr_take(w, 4);
    if (p) {
        be32_put(p, v);
    }
}

void wr_u64(struct wr *w, uint64_t v)
{
    uint8_t *p = wr_take(w, 8);
    if (p) {
        be32_put(p, (uint32_t)(v >> 32));
        be32_put(p + 4, (uint32_t)v);
    }
}

void wr_bytes(struct wr *w, const void *src, size_t n)
{
    uint8_t *p = wr_take(w, n);
    if (p && n > 0) {
        memcpy(p, src, n);
    }
}

void wr_zero(struct wr *w, size_t n)
{
    uint8_t *p = wr_take(w, n);
    if (p && n > 0) {
        memset(p, 0, n);
    }
}

size_t wr_size16_begin(struct wr *w)
{
    size_t mark = w->off;
    wr_u16(w, 0);
    return mark;
}

void wr_size16_end(struct wr *w, size_t mark)
{
    if (w->err) {
        return;
    }
    size_t n = w->off - mark - 2;
    if (n > 0xFFFF) {
        w->err = true;
        return;
    }
    be16_put(w->p + mark, (uint16_t)n);
}

size_t wr_size32_begin(struct wr *w)
{
    size_t mark = w->off;
    wr_u32(w, 0);
    return mark;
}

void wr_size32_end(struct wr *w, size_t mark)
{
    if (w->err) {
        return;
    }
    be32_put(w->p + mark, (uint32_t)(w->off - mark - 4));
}

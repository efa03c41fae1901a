/*
 * libFuzzer target: the data channel's framing (src/daemon/data.c) as one connection sees
 * it, down to the engine.
 *
 * The first input byte sets the scene: bit 0 CMD_INIT first, bit 1 TPM2_Startup(CLEAR)
 * after it, bit 2 the send-command prefix enabled, bit 3 --locality allow-set-locality; the
 * second byte picks the buffer size (SET_BUFFERSIZE, clamped as the control channel does).
 * The rest is the byte stream, framed exactly as the event loop frames it. Checked on every
 * step: the framer asks only for bytes within the buffer, and every answer is a whole TPM
 * response (its size field equals its length) inside the prefix framing when there was one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/data.h"
#include "daemon/dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void check_response(const struct data_frame *f, const uint8_t *out, size_t n)
{
    size_t head = f->prefixed ? 4 : 0;
    if (n < head + 10 + head || n > DATA_MAX_RESPONSE) {
        abort();
    }
    const uint8_t *rsp = out + head;
    size_t rlen = n - 2 * head;
    if (be32(rsp + 2) != rlen) {
        abort();
    }
    if (f->prefixed && (be32(out) != rlen || be32(out + head + rlen) != 0)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[DATA_MAX_FRAME], out[DATA_MAX_RESPONSE];
    static const uint8_t startup[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0};
    struct dev dev;
    struct data_opts opts;
    size_t off = 2, have = 0;
    bool prefix_ok;

    if (size < 2) {
        return 0;
    }
    if (dev_open(&dev, NULL) != 0) {
        abort();
    }
    opts.allow_set_locality = (data[0] & 8) != 0;
    prefix_ok = (data[0] & 4) != 0;
    (void)dev_set_buffersize(&dev, DEV_BUFFER_MIN + (uint32_t)data[1] * 16);
    if (data[0] & 1) {
        (void)dev_init(&dev, false);
        if (data[0] & 2) {
            (void)dev_execute(&dev, startup, sizeof(startup), out, sizeof(out));
        }
    }
    for (;;) {
        struct data_frame f;
        enum data_status st = data_frame(buf, have, dev.buffersize, prefix_ok, &f);
        if (st == DATA_NEED) {
            if (f.need == 0 || have + f.need > sizeof(buf)) {
                abort();
            }
            if (off == size) {
                break;
            }
            size_t take = size - off < f.need ? size - off : f.need;
            memcpy(buf + have, data + off, take);
            have += take;
            off += take;
            continue;
        }
        if (st == DATA_BAD) {
            size_t n = data_refuse(&f, out, sizeof(out));
            check_response(&f, out, n);
            break; /* the connection is closed */
        }
        if (f.len != have || f.cmd_off + f.cmd_len != f.len || f.cmd_len > dev.buffersize) {
            abort();
        }
        size_t n = data_process(&dev, &opts, buf, &f, out, sizeof(out));
        check_response(&f, out, n);
        have = 0;
    }
    dev_close(&dev);
    return 0;
}

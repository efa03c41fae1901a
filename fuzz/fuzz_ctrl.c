/*
 * libFuzzer target: the control channel (src/daemon/ctrl.c) as one connection sees it.
 *
 * The input is the byte stream a client sends. It is handed to the framer exactly as the
 * event loop does (only the bytes ctrl_frame asks for), every complete request is
 * dispatched on a fresh in-memory device, and the stream ends where the loop would close
 * the connection (a refused request, SHUTDOWN). Checked on every step: the framer asks for
 * bytes only within a request's bounds, and every answer has the shape the protocol gives
 * it (4 bytes when the result is not 0 (16 for GET_STATEBLOB), never more than
 * CTRL_MAX_RESPONSE but for a state blob).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctrl.h"
#include "daemon/dev.h"
#include "daemon/info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What SET_DATAFD would do: the fuzzer passes no descriptor, so it is always refused. */
static uint32_t fuzz_set_datafd(void *ctx, int fd)
{
    (void)ctx;
    return fd < 0 ? PTM_BAD_PARAMETER : PTM_IOERROR;
}

static const struct info *fuzz_info(void)
{
    static struct info info;
    static int ready;
    if (!ready) {
        if (info_probe(&info) != 0) {
            abort();
        }
        ready = 1;
    }
    return &info;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* As large as the loop's buffer can grow (a SET_STATEBLOB of 512 KiB). */
    static uint8_t req[CTRL_MAX_BLOB_REQUEST], rsp[CTRL_MAX_RESPONSE];
    struct dev dev;
    size_t off = 0, have = 0;

    if (dev_open(&dev, NULL) != 0) {
        abort();
    }
    for (;;) {
        struct ctrl_frame f;
        enum ctrl_status st = ctrl_frame(req, have, &f);
        if (st == CTRL_NEED) {
            if (f.need == 0 || have + f.need > sizeof(req)) {
                abort(); /* the framer must bound every request */
            }
            if (off == size) {
                break; /* the client stops sending: the loop would time the request out */
            }
            size_t take = size - off < f.need ? size - off : f.need;
            memcpy(req + have, data + off, take);
            have += take;
            off += take;
            continue;
        }
        if (st == CTRL_BAD) {
            /* Only the two commands with a length field refuse a known code (too long). */
            if (f.cmd != NULL && f.code != CMD_HASH_DATA && f.code != CMD_SET_STATEBLOB) {
                abort();
            }
            if (ctrl_refuse(&f, rsp, sizeof(rsp)) != 4) {
                abort();
            }
            break; /* the connection is closed */
        }
        if (f.len != have || f.cmd == NULL) {
            abort();
        }
        struct ctrl_env env = {&dev, fuzz_info(), -1, fuzz_set_datafd, NULL, false, NULL, 0};
        size_t n = ctrl_dispatch(&env, &f, req, rsp, sizeof(rsp));
        const uint8_t *out = env.heap_rsp ? env.heap_rsp : rsp;
        if (n < 4 || (!env.heap_rsp && n > sizeof(rsp))) {
            abort();
        }
        uint32_t result =
            (uint32_t)out[0] << 24 | (uint32_t)out[1] << 16 | (uint32_t)out[2] << 8 | out[3];
        /* An error is the 4-byte result, but GET_STATEBLOB keeps its 16-byte head. */
        if (result != 0 && n != (f.code == CMD_GET_STATEBLOB ? 16u : 4u)) {
            abort();
        }
        ctrl_env_release(&env);
        /* As the loop does: padding that came with the request is discarded. */
        off += f.pad < size - off ? f.pad : size - off;
        have = 0;
        if (env.shutdown) {
            break;
        }
    }
    dev_close(&dev);
    return 0;
}

/*
 * The control channel (see ctrl.h): one table row per CMD_ code with its request length,
 * whether the TPM must be running, its capability bit and its handler. Handlers read their
 * body through the bounded reader and write the part of the response that follows the
 * result code; the dispatcher writes the result and cuts the response to those 4 bytes when
 * it is not 0 (swtpm-protocol.md §2.1).
 */
#include "ctrl.h"

#include <stdlib.h>
#include <string.h>

#include "common/rw.h"
#include "common/secret.h"
#include "log.h"

#define CTRL_VARIABLE UINT32_MAX

struct ctrl_cmd {
    uint32_t code;
    const char *name;
    uint32_t req_len; /* body bytes after the code, or CTRL_VARIABLE (fields, be32 length, bytes) */
    uint32_t len_off; /* CTRL_VARIABLE: where the be32 length sits in the body */
    uint32_t max_len; /* CTRL_VARIABLE: the largest length accepted */
    uint8_t pad;      /* padding bytes that may follow the body (see ctrl.h) */
    bool needs_running;  /* otherwise TPM_BAD_ORDINAL, as swtpm */
    bool whole_on_error; /* the handler's answer keeps its shape when the result is not 0 */
    uint32_t cap;        /* its GET_CAPABILITY bit (PTM_CAP_*) */
    uint32_t (*handler)(struct ctrl_env *env, struct rd *body, struct wr *out);
};

static uint32_t h_get_capability(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    (void)env;
    (void)body;
    /* swtpm 0.7.1 answers one be64; its upper half is this position's zero result. */
    wr_u32(out, ctrl_capabilities());
    return PTM_SUCCESS;
}

static uint32_t h_init(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    uint32_t flags;
    (void)out;
    if (!rd_u32(body, &flags)) {
        return PTM_BAD_PARAMETER;
    }
    /* Flags other than DELETE_VOLATILE are ignored, as swtpm does. */
    return dev_init(env->dev, (flags & PTM_INIT_FLAG_DELETE_VOLATILE) != 0);
}

static uint32_t h_shutdown(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    (void)body;
    (void)out;
    dev_stop(env->dev);
    env->shutdown = true;
    return PTM_SUCCESS;
}

static uint32_t h_get_tpmestablished(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    (void)body;
    wr_u8(out, tpm_established(env->dev->tpm) ? 1 : 0);
    wr_zero(out, 3);
    return PTM_SUCCESS;
}

static uint32_t h_set_locality(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    uint8_t loc;
    (void)out;
    if (!rd_u8(body, &loc)) {
        return PTM_BAD_PARAMETER;
    }
    return dev_set_locality(env->dev, loc);
}

static uint32_t h_hash_start(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    (void)body;
    (void)out;
    return dev_hash_start(env->dev);
}

static uint32_t h_hash_data(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    uint32_t n;
    const uint8_t *p;
    (void)out;
    if (!rd_u32(body, &n) || !rd_ptr(body, n, &p)) {
        return PTM_BAD_PARAMETER;
    }
    return dev_hash_data(env->dev, p, n);
}

static uint32_t h_hash_end(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    (void)body;
    (void)out;
    return dev_hash_end(env->dev);
}

static uint32_t h_cancel_tpm_cmd(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    /* Commands run to completion before the next request is read: nothing to cancel. */
    (void)env;
    (void)body;
    (void)out;
    return PTM_SUCCESS;
}

static uint32_t h_store_volatile(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    (void)body;
    (void)out;
    return dev_store_volatile(env->dev);
}

static uint32_t h_reset_tpmestablished(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    uint8_t loc;
    (void)out;
    if (!rd_u8(body, &loc)) {
        return PTM_BAD_PARAMETER;
    }
    return dev_reset_established(env->dev, loc);
}

static uint32_t h_stop(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    (void)body;
    (void)out;
    dev_stop(env->dev);
    return PTM_SUCCESS;
}

static uint32_t h_get_config(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    (void)body;
    /* Bit 0: a state-file key (--key) is in use; bit 1: a migration key (--migration-key). */
    wr_u32(out, (env->dev->keys.has[BLOB_STATE] ? 1u : 0u) |
                    (env->dev->keys.has[BLOB_MIGRATION] ? 2u : 0u));
    return PTM_SUCCESS;
}

/*
 * GET_STATEBLOB: be32 flags, be32 type, be32 offset. The answer always has its 16-byte head
 * (result, flags, total length, length), even for an error, because QEMU reads 16 bytes
 * whatever the result; the blob from offset follows in the same answer (a socket carries it
 * whole: totlength is the blob's size, length what follows).
 */
static uint32_t h_get_stateblob(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    uint32_t flags, type, offset, rsp_flags = 0, res;
    uint8_t *blob = NULL;
    size_t len = 0;

    if (!rd_u32(body, &flags) || !rd_u32(body, &type) || !rd_u32(body, &offset)) {
        res = PTM_BAD_PARAMETER;
    } else if (type == BLOB_TYPE_VOLATILE && !env->dev->running) {
        res = PTM_BAD_ORDINAL; /* the volatile state only exists while the TPM runs */
    } else {
        res = dev_get_stateblob(env->dev, type, flags, offset == 0, &blob, &len, &rsp_flags);
    }
    if (res == PTM_SUCCESS && offset > len) {
        res = PTM_BAD_PARAMETER;
    }
    if (res != PTM_SUCCESS) {
        if (blob) {
            secret_wipe(blob, len);
            free(blob);
        }
        wr_u32(out, 0);
        wr_u32(out, 0);
        wr_u32(out, 0);
        return res;
    }
    size_t n = 16 + (len - offset);
    env->heap_rsp = malloc(n);
    if (!env->heap_rsp) {
        secret_wipe(blob, len);
        free(blob);
        wr_zero(out, 12);
        return PTM_FAIL;
    }
    struct wr w;
    wr_init(&w, env->heap_rsp, n);
    wr_u32(&w, PTM_SUCCESS);
    wr_u32(&w, rsp_flags);
    wr_u32(&w, (uint32_t)len);
    wr_u32(&w, (uint32_t)(len - offset));
    wr_bytes(&w, blob + offset, len - offset);
    env->heap_len = w.off;
    secret_wipe(blob, len);
    free(blob);
    log_msg(LOG_CMD, "ctrl: GET_STATEBLOB type %u: %zu bytes, flags 0x%x", type, len, rsp_flags);
    return PTM_SUCCESS;
}

/* SET_STATEBLOB: be32 flags, be32 type, be32 length, the blob. Only while stopped. */
static uint32_t h_set_stateblob(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    uint32_t flags, type, len;
    const uint8_t *blob;
    (void)out;
    if (!rd_u32(body, &flags) || !rd_u32(body, &type) || !rd_u32(body, &len) ||
        !rd_ptr(body, len, &blob)) {
        return PTM_BAD_PARAMETER;
    }
    if (env->dev->running) {
        log_msg(LOG_ERR, "SET_STATEBLOB refused: the TPM is running (send STOP first)");
        return PTM_BAD_ORDINAL;
    }
    return dev_set_stateblob(env->dev, type, flags, blob, len);
}

/*
 * LOCK_STORAGE (swtpm 0.8): take the state folder's lock again after an outgoing migration
 * released it. vtpmd never releases it, so it is held already.
 */
static uint32_t h_lock_storage(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    uint32_t retries;
    (void)env;
    (void)out;
    if (!rd_u32(body, &retries)) {
        return PTM_BAD_PARAMETER;
    }
    return PTM_SUCCESS;
}

static uint32_t h_set_datafd(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    int fd = env->passed_fd;
    (void)body;
    (void)out;
    if (!env->set_datafd) {
        return PTM_BAD_PARAMETER; /* no descriptor can come over this channel */
    }
    env->passed_fd = -1; /* the callback owns it now, whatever it answers */
    return env->set_datafd(env->ctx, fd);
}

static uint32_t h_set_buffersize(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    uint32_t want;
    if (!rd_u32(body, &want)) {
        return PTM_BAD_PARAMETER;
    }
    /* Changing the size is only allowed while the TPM is stopped; querying always is. */
    if (want != 0 && env->dev->running) {
        return PTM_BAD_ORDINAL;
    }
    wr_u32(out, dev_set_buffersize(env->dev, want));
    wr_u32(out, DEV_BUFFER_MIN);
    wr_u32(out, DEV_BUFFER_MAX);
    return PTM_SUCCESS;
}

static uint32_t h_get_info(struct ctrl_env *env, struct rd *body, struct wr *out)
{
    uint64_t flags;
    uint32_t offset, pad;
    char json[CTRL_INFO_MAX * 2];
    size_t n, chunk;

    if (!rd_u64(body, &flags) || !rd_u32(body, &offset) || !rd_u32(body, &pad)) {
        return PTM_BAD_PARAMETER;
    }
    n = info_json(env->info, flags, json, sizeof(json));
    if (n == 0) {
        return PTM_FAIL;
    }
    if (offset >= n) {
        return PTM_BAD_PARAMETER;
    }
    /* The string goes with its NUL; a long one comes in pieces of at most 3072 bytes. */
    chunk = n + 1 - offset;
    if (chunk > CTRL_INFO_MAX) {
        chunk = CTRL_INFO_MAX;
    }
    wr_u32(out, (uint32_t)(n + 1));
    wr_u32(out, (uint32_t)chunk);
    wr_bytes(out, json + offset, chunk);
    return PTM_SUCCESS;
}

/* Sorted by code. Capability bits: swtpm-protocol.md §2.3. */
static const struct ctrl_cmd ctrl_table[] = {
    /* code, name, req_len, len_off, max_len, pad, needs_running, whole_on_error, cap, handler */
    {CMD_GET_CAPABILITY, "GET_CAPABILITY", 0, 0, 0, 0, false, false, 0, h_get_capability},
    {CMD_INIT, "INIT", 4, 0, 0, 0, false, false, 0x0001, h_init},
    {CMD_SHUTDOWN, "SHUTDOWN", 0, 0, 0, 0, false, false, 0x0002, h_shutdown},
    {CMD_GET_TPMESTABLISHED, "GET_TPMESTABLISHED", 0, 0, 0, 0, true, false, 0x0004,
     h_get_tpmestablished},
    {CMD_SET_LOCALITY, "SET_LOCALITY", 1, 0, 0, 3, false, false, 0x0008, h_set_locality},
    {CMD_HASH_START, "HASH_START", 0, 0, 0, 0, true, false, 0x0010, h_hash_start},
    {CMD_HASH_DATA, "HASH_DATA", CTRL_VARIABLE, 0, CTRL_HASH_DATA_MAX, 0, true, false, 0x0010,
     h_hash_data},
    {CMD_HASH_END, "HASH_END", 0, 0, 0, 0, true, false, 0x0010, h_hash_end},
    {CMD_CANCEL_TPM_CMD, "CANCEL_TPM_CMD", 0, 0, 0, 0, true, false, 0x0020, h_cancel_tpm_cmd},
    {CMD_STORE_VOLATILE, "STORE_VOLATILE", 0, 0, 0, 0, true, false, 0x0040, h_store_volatile},
    {CMD_RESET_TPMESTABLISHED, "RESET_TPMESTABLISHED", 1, 0, 0, 3, true, false, 0x0080,
     h_reset_tpmestablished},
    {CMD_GET_STATEBLOB, "GET_STATEBLOB", 12, 0, 0, 0, false, true, 0x0100, h_get_stateblob},
    {CMD_SET_STATEBLOB, "SET_STATEBLOB", CTRL_VARIABLE, 8, BLOB_MAX, 0, false, false, 0x0200,
     h_set_stateblob},
    {CMD_STOP, "STOP", 0, 0, 0, 0, false, false, 0x0400, h_stop},
    {CMD_GET_CONFIG, "GET_CONFIG", 0, 0, 0, 0, false, false, 0x0800, h_get_config},
    {CMD_SET_DATAFD, "SET_DATAFD", 0, 0, 0, 0, false, false, 0x1000, h_set_datafd},
    {CMD_SET_BUFFERSIZE, "SET_BUFFERSIZE", 4, 0, 0, 0, false, false, 0x2000, h_set_buffersize},
    {CMD_GET_INFO, "GET_INFO", 16, 0, 0, 0, false, false, 0x4000, h_get_info},
    {CMD_LOCK_STORAGE, "LOCK_STORAGE", 4, 0, 0, 0, false, false, 0x10000, h_lock_storage},
};

#define CTRL_TABLE_LEN (sizeof(ctrl_table) / sizeof(ctrl_table[0]))

static const struct ctrl_cmd *ctrl_find(uint32_t code)
{
    for (size_t i = 0; i < CTRL_TABLE_LEN; i++) {
        if (ctrl_table[i].code == code) {
            return &ctrl_table[i];
        }
    }
    return NULL;
}

const char *ctrl_name(uint32_t code)
{
    const struct ctrl_cmd *c = ctrl_find(code);
    return c ? c->name : "unknown";
}

uint32_t ctrl_capabilities(void)
{
    uint32_t caps = PTM_CAP_SEND_COMMAND_HEADER;
    for (size_t i = 0; i < CTRL_TABLE_LEN; i++) {
        caps |= ctrl_table[i].cap;
    }
    return caps;
}

enum ctrl_status ctrl_frame(const uint8_t *buf, size_t len, struct ctrl_frame *f)
{
    struct rd r;
    size_t total;

    memset(f, 0, sizeof(*f));
    rd_init(&r, buf, len);
    if (!rd_u32(&r, &f->code)) {
        f->need = 4 - len;
        return CTRL_NEED;
    }
    f->cmd = ctrl_find(f->code);
    if (!f->cmd) {
        f->result = PTM_BAD_ORDINAL;
        f->reason = "unknown command code";
        return CTRL_BAD;
    }
    if (f->cmd->req_len != CTRL_VARIABLE) {
        total = 4 + (size_t)f->cmd->req_len;
    } else {
        uint32_t n;
        size_t head = 4 + (size_t)f->cmd->len_off + 4;
        if (!rd_skip(&r, f->cmd->len_off) || !rd_u32(&r, &n)) {
            f->need = head - len;
            return CTRL_NEED;
        }
        /* The length is checked before any of its bytes are read. */
        if (n > f->cmd->max_len) {
            f->result = PTM_BAD_PARAMETER;
            f->reason = f->code == CMD_SET_STATEBLOB ? "state blob larger than 512 KiB"
                                                     : "data length over the limit";
            return CTRL_BAD;
        }
        total = head + (size_t)n;
    }
    if (len < total) {
        f->need = total - len;
        return CTRL_NEED;
    }
    f->len = total;
    f->pad = f->cmd->pad;
    return CTRL_READY;
}

size_t ctrl_dispatch(struct ctrl_env *env, const struct ctrl_frame *f, const uint8_t *req,
                     uint8_t *rsp, size_t cap)
{
    const struct ctrl_cmd *c = f->cmd;
    struct rd body;
    struct wr out;
    uint32_t result;

    if (cap < 4) {
        return 0;
    }
    rd_init(&body, req + 4, f->len - 4);
    wr_init(&out, rsp, cap);
    wr_u32(&out, PTM_SUCCESS);
    if (c->needs_running && !env->dev->running) {
        result = PTM_BAD_ORDINAL;
    } else {
        result = c->handler(env, &body, &out);
    }
    if (result == PTM_SUCCESS && (out.err || !rd_done(&body))) {
        result = PTM_FAIL; /* cannot happen with the table's lengths; never answer garbage */
        ctrl_env_release(env);
    }
    log_msg(LOG_CMD, "ctrl: %s -> 0x%x", c->name, result);
    if (env->heap_rsp) {
        return env->heap_len;
    }
    if (result != PTM_SUCCESS) {
        be32_put(rsp, result);
        return c->whole_on_error && !out.err ? out.off : 4;
    }
    return out.off;
}

void ctrl_env_release(struct ctrl_env *env)
{
    if (env->heap_rsp) {
        secret_wipe(env->heap_rsp, env->heap_len);
        free(env->heap_rsp);
    }
    env->heap_rsp = NULL;
    env->heap_len = 0;
}

size_t ctrl_refuse(const struct ctrl_frame *f, uint8_t *rsp, size_t cap)
{
    if (cap < 4) {
        return 0;
    }
    be32_put(rsp, f->result);
    return 4;
}

/* The data channel's framing and execution (see data.h). */
#include "data.h"

#include <string.h>

#include "common/rw.h"
#include "log.h"

enum data_status data_frame(const uint8_t *buf, size_t len, size_t max_cmd, bool prefix_ok,
                            struct data_frame *f)
{
    struct rd r;
    uint16_t tag;
    uint32_t size, first;
    size_t total;

    memset(f, 0, sizeof(*f));
    /* Both forms need at least 10 bytes before anything can be decided. */
    if (len < 10) {
        f->need = 10 - len;
        return DATA_NEED;
    }
    rd_init(&r, buf, len);
    (void)rd_u32(&r, &first);
    rd_init(&r, buf, len);
    (void)rd_u16(&r, &tag);
    (void)rd_u32(&r, &size);

    /* The prefix is recognised as swtpm does: not a TPM 2.0 tag, and the word 8 first. */
    if (prefix_ok && tag != 0x8001 && tag != 0x8002 && first == DATA_SEND_COMMAND) {
        rd_init(&r, buf, len);
        (void)rd_skip(&r, 4);
        (void)rd_u8(&r, &f->locality);
        (void)rd_u32(&r, &size);
        f->prefixed = true;
        f->cmd_off = DATA_PREFIX_LEN;
    }
    if (size < 10) {
        f->rc = DEV_TPM_RC_COMMAND_SIZE;
        f->reason = "the command size is smaller than a command header";
        return DATA_BAD;
    }
    if (size > max_cmd) {
        f->rc = DEV_TPM_RC_COMMAND_SIZE;
        f->reason = "the command size is larger than the TPM buffer";
        return DATA_BAD;
    }
    f->cmd_len = size;
    total = f->cmd_off + size;
    if (len < total) {
        f->need = total - len;
        return DATA_NEED;
    }
    f->len = total;
    return DATA_READY;
}

/* The vendor TPM2_SetLocality swtpm knows from the vTPM proxy (one byte: the locality). */
static size_t data_set_locality(struct dev *d, const struct data_opts *o, const uint8_t *cmd,
                                size_t len, uint8_t *rsp, size_t cap)
{
    struct rd r;
    uint8_t loc;
    if (!o->allow_set_locality || !d->running) {
        return tpm_error_response(DEV_TPM_RC_FAILURE, rsp, cap);
    }
    rd_init(&r, cmd, len);
    if (!rd_skip(&r, 10) || !rd_u8(&r, &loc)) {
        return tpm_error_response(DEV_TPM_RC_INSUFFICIENT, rsp, cap);
    }
    if (dev_set_locality(d, loc) != PTM_SUCCESS) {
        return tpm_error_response(DEV_TPM_RC_LOCALITY, rsp, cap);
    }
    return tpm_error_response(DEV_TPM_RC_SUCCESS, rsp, cap);
}

size_t data_process(struct dev *d, const struct data_opts *o, const uint8_t *frame,
                    const struct data_frame *f, uint8_t *out, size_t cap)
{
    const uint8_t *cmd = frame + f->cmd_off;
    size_t head = f->prefixed ? 4 : 0;
    size_t tail = f->prefixed ? 4 : 0;
    uint8_t *rsp = out + head;
    size_t rcap, n;
    uint32_t cc = 0;
    struct rd r;

    if (cap < head + tail + 10) {
        return 0;
    }
    rcap = cap - head - tail;
    rd_init(&r, cmd, f->cmd_len);
    (void)rd_skip(&r, 6);
    (void)rd_u32(&r, &cc);

    if (f->prefixed && dev_set_locality(d, f->locality) != PTM_SUCCESS) {
        n = tpm_error_response(DEV_TPM_RC_LOCALITY, rsp, rcap);
    } else if (cc == DATA_CC_SET_LOCALITY) {
        n = data_set_locality(d, o, cmd, f->cmd_len, rsp, rcap);
    } else {
        n = dev_execute(d, cmd, f->cmd_len, rsp, rcap);
    }
    if (log_enabled(LOG_CMD)) {
        struct rd rr;
        uint32_t rc = 0;
        rd_init(&rr, rsp, n);
        (void)rd_skip(&rr, 6);
        (void)rd_u32(&rr, &rc);
        log_msg(LOG_CMD, "data: command 0x%08x (%zu bytes) at locality %u -> 0x%x (%zu bytes)", cc,
                f->cmd_len, d->locality, rc, n);
    }
    if (f->prefixed) {
        be32_put(out, (uint32_t)n);
        be32_put(out + head + n, 0);
    }
    return head + n + tail;
}

size_t data_refuse(const struct data_frame *f, uint8_t *out, size_t cap)
{
    size_t head = f->prefixed ? 4 : 0;
    size_t n;
    if (cap < head + 10 + head) {
        return 0;
    }
    n = tpm_error_response(f->rc, out + head, cap - 2 * head);
    if (f->prefixed) {
        be32_put(out, (uint32_t)n);
        be32_put(out + head + n, 0);
    }
    return head + n + head;
}

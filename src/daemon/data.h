/*
 * The data channel (swtpm-protocol.md §3): TPM 2.0 commands framed by the commandSize in
 * their 10-byte header (Part 1 §18.2 / Part 3 §5.2), optionally behind the TCG "send
 * command" prefix (be32 8 TPM_SEND_COMMAND, u8 locality, be32 length), which swtpm accepts
 * when the first two bytes are no TPM 2.0 tag and whose answer is be32 length, the response,
 * be32 0.
 *
 * Unlike swtpm, which hands whatever one read() returned to the TPM, vtpmd frames by size: a
 * command split over several writes, or two commands in one write, is answered correctly.
 * The size is checked as soon as the header is in, before the body is read; a size below 10
 * or above the buffer size is refused with TPM_RC_COMMAND_SIZE and the connection closed,
 * since the rest of the stream can no longer be framed.
 *
 * No I/O here: the caller reads exactly data_frame()'s need bytes at a time.
 */
#ifndef VTPMD_DATA_H
#define VTPMD_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev.h"

#define DATA_PREFIX_LEN 9u   /* be32 8, u8 locality, be32 length */
#define DATA_SEND_COMMAND 8u /* TPM_SEND_COMMAND */
#define DATA_MAX_FRAME (DATA_PREFIX_LEN + DEV_BUFFER_MAX)
#define DATA_MAX_RESPONSE (4u + DEV_BUFFER_MAX + 4u)
/* The vendor command swtpm intercepts with --locality allow-set-locality. */
#define DATA_CC_SET_LOCALITY 0x20001000u

/* A partial command is dropped (connection closed) when it stalls this long. */
#define DATA_PARTIAL_TIMEOUT_MS 5000

enum data_status {
    DATA_NEED,  /* f->need more bytes */
    DATA_READY, /* a whole frame of f->len bytes */
    DATA_BAD,   /* answer data_refuse() and close */
};

struct data_frame {
    size_t need;
    size_t len;    /* DATA_READY: the frame's length, prefix included */
    bool prefixed; /* behind the send-command prefix */
    uint8_t locality;
    size_t cmd_off; /* the TPM command: cmd_off, cmd_len within the frame */
    size_t cmd_len;
    uint32_t rc;        /* DATA_BAD: the TPM response code to answer */
    const char *reason; /* DATA_BAD: why, for the log */
};

/*
 * Frame the first len bytes of the stream; max_cmd is the largest command accepted (the
 * device's buffer size). prefix_ok enables the send-command prefix.
 */
enum data_status data_frame(const uint8_t *buf, size_t len, size_t max_cmd, bool prefix_ok,
                            struct data_frame *f);

struct data_opts {
    bool allow_set_locality; /* --locality allow-set-locality */
};

/*
 * Execute a complete frame on the device and write the answer (prefix framing included when
 * the frame had it) to out (cap bytes, at least DATA_MAX_RESPONSE). Returns its length.
 */
size_t data_process(struct dev *d, const struct data_opts *o, const uint8_t *frame,
                    const struct data_frame *f, uint8_t *out, size_t cap);

/* The answer to a frame data_frame() refused. */
size_t data_refuse(const struct data_frame *f, uint8_t *out, size_t cap);

#endif

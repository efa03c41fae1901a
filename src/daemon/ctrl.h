/*
 * swtpm's control channel ("CMD_*" protocol, swtpm-protocol.md §2; swtpm_ioctls(3)): framing
 * and a dispatch table, without I/O.
 *
 * A request is a be32 command code followed by a body whose length the command fixes (or,
 * for HASH_DATA, a be32 length and that many bytes). The response is the command's response
 * body; when the result is not 0 it is the 4-byte result alone. ctrl_frame() tells from the
 * bytes received so far whether a request is complete, how many bytes are missing, or that
 * the bytes cannot be a request (unknown code, length out of range): the connection is then
 * answered ctrl_refuse() and closed, since no later byte could be framed reliably.
 *
 * Padding: QEMU sends SET_LOCALITY and RESET_TPMESTABLISHED with a 4-byte body (its request
 * structure is a union with the 4-byte response), tpm2-tss with the 1 byte swtpm's table
 * gives. ctrl_frame() frames the 1 byte and reports in pad how many more may follow; the
 * caller discards up to that many bytes that have already arrived with the request.
 */
#ifndef VTPMD_CTRL_H
#define VTPMD_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev.h"
#include "info.h"

/* Command codes (swtpm's tpm_ioctl.h numbering). */
#define CMD_GET_CAPABILITY 0x01u
#define CMD_INIT 0x02u
#define CMD_SHUTDOWN 0x03u
#define CMD_GET_TPMESTABLISHED 0x04u
#define CMD_SET_LOCALITY 0x05u
#define CMD_HASH_START 0x06u
#define CMD_HASH_DATA 0x07u
#define CMD_HASH_END 0x08u
#define CMD_CANCEL_TPM_CMD 0x09u
#define CMD_STORE_VOLATILE 0x0Au
#define CMD_RESET_TPMESTABLISHED 0x0Bu
#define CMD_GET_STATEBLOB 0x0Cu
#define CMD_SET_STATEBLOB 0x0Du
#define CMD_STOP 0x0Eu
#define CMD_GET_CONFIG 0x0Fu
#define CMD_SET_DATAFD 0x10u
#define CMD_SET_BUFFERSIZE 0x11u
#define CMD_GET_INFO 0x12u
#define CMD_LOCK_STORAGE 0x13u

/* CMD_INIT flag: delete the stored volatile state after reading it. */
#define PTM_INIT_FLAG_DELETE_VOLATILE 0x1u

/* Capability bit advertised for the TCG send-command prefix on the data channel. */
#define PTM_CAP_SEND_COMMAND_HEADER 0x8000u

/* Largest HASH_DATA piece (swtpm's ptm_hdata carries at most 4096 bytes). */
#define CTRL_HASH_DATA_MAX 4096u
/* Largest request and response of any command but the state-blob ones. */
#define CTRL_MAX_REQUEST (4u + 4u + CTRL_HASH_DATA_MAX)
/* SET_STATEBLOB: code, flags, type, length, and at most BLOB_MAX bytes. */
#define CTRL_STATEBLOB_HEAD 16u
#define CTRL_MAX_BLOB_REQUEST (CTRL_STATEBLOB_HEAD + BLOB_MAX)
#define CTRL_INFO_MAX 3072u /* GET_INFO: most JSON bytes in one reply */
#define CTRL_MAX_RESPONSE (12u + CTRL_INFO_MAX)

/* The whole request must arrive within this time of its first byte (as swtpm). */
#define CTRL_REQUEST_TIMEOUT_MS 500

/* What handlers may act on besides the device. */
struct ctrl_env {
    struct dev *dev;
    const struct info *info;
    /* A descriptor that arrived with this request (SCM_RIGHTS), or -1. A handler that keeps
     * it sets this to -1; whatever is left is closed by the caller. */
    int passed_fd;
    /* SET_DATAFD: make fd (possibly -1) the data channel; returns a result code. */
    uint32_t (*set_datafd)(void *ctx, int fd);
    void *ctx;
    /* Set by SHUTDOWN: answer, then end the process. */
    bool shutdown;
    /* A response too large for the caller's buffer (GET_STATEBLOB): when set, it is the
     * whole response; the caller sends it and releases it with ctrl_env_release. */
    uint8_t *heap_rsp;
    size_t heap_len;
};

/* Wipe and free env->heap_rsp (it may hold state). */
void ctrl_env_release(struct ctrl_env *env);

struct ctrl_cmd;

enum ctrl_status {
    CTRL_NEED,  /* more bytes are needed: f->need of them */
    CTRL_READY, /* a whole request of f->len bytes */
    CTRL_BAD,   /* not a request: answer ctrl_refuse() and close */
};

struct ctrl_frame {
    uint32_t code;
    const struct ctrl_cmd *cmd; /* NULL when the code is unknown */
    size_t need;
    size_t len;
    size_t pad;      /* CTRL_READY: how many more bytes may follow in the same write as padding */
    uint32_t result; /* CTRL_BAD: the result code to answer */
    const char *reason; /* CTRL_BAD: why, for the log */
};

/* Frame the first len bytes of a request (see above). */
enum ctrl_status ctrl_frame(const uint8_t *buf, size_t len, struct ctrl_frame *f);

/*
 * Execute a complete request (req, f->len bytes, framed by ctrl_frame) and write its response
 * to rsp (cap bytes, at least CTRL_MAX_RESPONSE). Returns the response length.
 */
size_t ctrl_dispatch(struct ctrl_env *env, const struct ctrl_frame *f, const uint8_t *req,
                     uint8_t *rsp, size_t cap);

/* The 4-byte answer to a request ctrl_frame() refused. */
size_t ctrl_refuse(const struct ctrl_frame *f, uint8_t *rsp, size_t cap);

/* The command's name for logs ("INIT"), or "unknown". */
const char *ctrl_name(uint32_t code);

/* GET_CAPABILITY's bits: one per command in the table, plus the send-command prefix. */
uint32_t ctrl_capabilities(void);

#endif

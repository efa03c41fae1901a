/*
 * vtpmd's event loop: one thread, one ppoll() over at most five descriptors (control
 * listener, control client, data listener, data client) plus signals, as swtpm's main loop
 * (swtpm-protocol.md §1). One client per channel: a listener is not polled while its channel
 * has a client, so a second client waits in the kernel's backlog until the first leaves.
 *
 * Each channel reads exactly the bytes its framer asks for (ctrl_frame, data_frame), so the
 * header of a TPM command is checked before its body is read and no read ever goes past a
 * request. Malformed input is answered when the protocol has an answer for it, logged with
 * its reason, and closes that connection only; the device and the other channel go on.
 */
#ifndef VTPMD_LOOP_H
#define VTPMD_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrl.h"
#include "data.h"
#include "dev.h"
#include "info.h"

struct conn {
    int fd;       /* -1: no client */
    bool given;   /* handed over (fd=, clientfd=, -f, SET_DATAFD), not accepted */
    uint8_t *buf; /* the request being assembled: small, or a heap buffer for a state blob */
    size_t cap, len;
    uint8_t *small; /* the connection's fixed buffer */
    size_t small_cap;
    uint64_t started_ms; /* when its first byte came; 0 while empty */
    int passed_fd;       /* control: descriptor that came with the request, or -1 */
};

struct loop {
    struct dev *dev;
    const struct info *info;
    struct data_opts data_opts;
    int ctrl_listen;      /* -1: none */
    int data_listen;      /* -1: none */
    bool data_configured; /* --server given: CMD_SET_DATAFD is refused, as swtpm */
    bool terminate;       /* --terminate: exit when the data connection closes */
    bool disconnect;      /* close the data connection after each response */
    bool prefix_ok;       /* accept the send-command prefix */
    struct conn ctrl, data;
    bool quit;
    int exit_code;
    uint8_t ctrl_req[CTRL_MAX_REQUEST];
    uint8_t data_req[DATA_MAX_FRAME];
    uint8_t rsp[DATA_MAX_RESPONSE > CTRL_MAX_RESPONSE ? DATA_MAX_RESPONSE : CTRL_MAX_RESPONSE];
};

/* Set up l with no channels; the caller then fills in listeners and given descriptors. */
void loop_init(struct loop *l, struct dev *dev, const struct info *info);

/* Use fd (already connected) as the control or the data client. */
void loop_give_ctrl(struct loop *l, int fd);
void loop_give_data(struct loop *l, int fd);

/* Run until SHUTDOWN, a signal, or --terminate. Returns the process exit code. */
int loop_run(struct loop *l);

/* Close every descriptor the loop holds. */
void loop_close(struct loop *l);

/* The signal handlers the loop reacts to (SIGTERM, SIGINT, SIGHUP; SIGPIPE ignored). */
int loop_signals(void);

#endif

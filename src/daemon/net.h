/*
 * vtpmd's sockets: listening TCP and unix sockets as swtpm's --ctrl and --server create them,
 * descriptors handed over by a parent, and the small I/O helpers the poll loop uses
 * (non-blocking per call, descriptors received with SCM_RIGHTS).
 */
#ifndef VTPMD_NET_H
#define VTPMD_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "opts.h"

/*
 * A listening socket for a channel given by path or port (c->fd and c->clientfd are the
 * caller's business). TCP binds c->bindaddr (default 127.0.0.1), with c->ifname as the scope
 * of a link-local IPv6 address. A unix socket replaces a stale socket file at its path (never
 * another kind of file) and gets c->mode (default 0770) and c->uid / c->gid.
 * Returns the descriptor, or -1 with a sentence in err.
 */
int net_listen(const struct chan_opts *c, char *err, size_t errlen);

/*
 * A descriptor from the parent: must be a stream socket. Returns 1 when it is listening,
 * 0 when it is connected, -1 with a sentence in err otherwise.
 */
int net_check_fd(int fd, char *err, size_t errlen);

/*
 * Read up to n bytes without blocking, taking at most one passed descriptor (more are
 * closed). Returns the byte count, 0 at end of stream, -EAGAIN when nothing is there, or
 * another negative errno. *passed_fd gets a received descriptor (close-on-exec), else -1.
 */
ssize_t net_recv(int fd, uint8_t *buf, size_t n, int *passed_fd);

/* Write all n bytes, waiting at most timeout_ms for a slow reader. Returns 0 or -errno. */
int net_send(int fd, const uint8_t *buf, size_t n, int timeout_ms);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t net_now_ms(void);

#endif

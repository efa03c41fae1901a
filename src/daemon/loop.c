/* vtpmd's event loop (see loop.h). */
#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret.h"
#include "log.h"
#include "net.h"

/* How long a response may wait for a slow reader before the connection is dropped. */
#define SEND_TIMEOUT_MS 5000

/* Set from the signal handler only. */
static volatile sig_atomic_t loop_signal;

static void loop_on_signal(int sig)
{
    loop_signal = sig;
}

int loop_signals(void)
{
    struct sigaction sa;
    sigset_t set;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = loop_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGHUP, &sa, NULL) != 0) {
        return -errno;
    }
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {
        return -errno;
    }
    /* Signals are held except inside ppoll(), so a flag is never missed between checks. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return sigprocmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -errno;
}

static void conn_reset(struct conn *c)
{
    /* A state blob's buffer goes as soon as its request is done: it may hold state. */
    if (c->buf != c->small) {
        secret_wipe(c->buf, c->cap);
        free(c->buf);
        c->buf = c->small;
        c->cap = c->small_cap;
    }
    c->len = 0;
    c->started_ms = 0;
    if (c->passed_fd >= 0) {
        close(c->passed_fd);
        c->passed_fd = -1;
    }
}

static void conn_init(struct conn *c, uint8_t *buf, size_t cap)
{
    c->fd = -1;
    c->given = false;
    c->small = c->buf = buf;
    c->small_cap = c->cap = cap;
    c->passed_fd = -1;
    conn_reset(c);
}

/* Room for a request of total bytes (the framer bounds total): a heap buffer beyond small. */
static int conn_reserve(struct conn *c, size_t total)
{
    uint8_t *b;
    if (total <= c->cap) {
        return 0;
    }
    b = malloc(total);
    if (!b) {
        return -ENOMEM;
    }
    memcpy(b, c->buf, c->len);
    if (c->buf != c->small) {
        secret_wipe(c->buf, c->cap);
        free(c->buf);
    }
    c->buf = b;
    c->cap = total;
    return 0;
}

static void conn_open(struct conn *c, int fd, bool given)
{
    conn_reset(c);
    c->fd = fd;
    c->given = given;
}

void loop_init(struct loop *l, struct dev *dev, const struct info *info)
{
    memset(l, 0, sizeof(*l));
    l->dev = dev;
    l->info = info;
    l->ctrl_listen = -1;
    l->data_listen = -1;
    l->prefix_ok = true;
    conn_init(&l->ctrl, l->ctrl_req, sizeof(l->ctrl_req));
    conn_init(&l->data, l->data_req, sizeof(l->data_req));
}

void loop_give_ctrl(struct loop *l, int fd)
{
    conn_open(&l->ctrl, fd, true);
}

void loop_give_data(struct loop *l, int fd)
{
    conn_open(&l->data, fd, true);
}

static void loop_close_data(struct loop *l, const char *why)
{
    if (l->data.fd < 0) {
        return;
    }
    log_msg(LOG_CONN, "data: connection closed (%s)", why);
    close(l->data.fd);
    conn_init(&l->data, l->data.small, l->data.small_cap);
    /* --terminate: the client went away, and so does the TPM (swtpm -t). */
    if (l->terminate && !l->quit) {
        log_msg(LOG_ERR, "data connection closed and --terminate given: exiting");
        l->quit = true;
        l->exit_code = 0;
    }
}

static void loop_close_ctrl(struct loop *l, const char *why)
{
    if (l->ctrl.fd < 0) {
        return;
    }
    log_msg(LOG_CONN, "ctrl: connection closed (%s)", why);
    close(l->ctrl.fd);
    conn_reset(&l->ctrl);
    l->ctrl.fd = -1;
}

/* CMD_SET_DATAFD: the descriptor becomes the data connection (swtpm-protocol.md §2.2). */
static uint32_t loop_set_datafd(void *ctx, int fd)
{
    struct loop *l = ctx;
    char err[128];

    if (l->data_configured || l->data.fd >= 0) {
        if (fd >= 0) {
            close(fd);
        }
        return PTM_IOERROR;
    }
    if (fd < 0) {
        return PTM_BAD_PARAMETER;
    }
    if (net_check_fd(fd, err, sizeof(err)) != 0) {
        log_msg(LOG_ERR, "SET_DATAFD refused: %s", err);
        close(fd);
        return PTM_BAD_PARAMETER;
    }
    conn_open(&l->data, fd, true);
    log_msg(LOG_CONN, "data: connection handed over by SET_DATAFD");
    return PTM_SUCCESS;
}

static void loop_reply_from(struct loop *l, struct conn *c, const uint8_t *rsp, size_t n, bool ctrl)
{
    int rc = n ? net_send(c->fd, rsp, n, SEND_TIMEOUT_MS) : -EIO;
    if (rc != 0) {
        log_msg(LOG_ERR, "%s: the response could not be sent (%s)", ctrl ? "ctrl" : "data",
                strerror(-rc));
        if (ctrl) {
            loop_close_ctrl(l, "send failed");
        } else {
            loop_close_data(l, "send failed");
        }
    }
}

static void loop_reply(struct loop *l, struct conn *c, size_t n, bool ctrl)
{
    loop_reply_from(l, c, l->rsp, n, ctrl);
}

/*
 * Discard up to max padding bytes that came with the request just served (see ctrl.h):
 * only bytes already there, so a client that sent none is not waited for.
 */
static void loop_drain_padding(struct conn *c, size_t max)
{
    uint8_t pad[8];
    int pfd = -1;
    ssize_t r;

    if (max == 0 || max > sizeof(pad)) {
        return;
    }
    r = net_recv(c->fd, pad, max, &pfd);
    if (pfd >= 0) {
        close(pfd);
    }
    if (r > 0) {
        log_msg(LOG_DEBUG, "ctrl: %zd padding bytes after the request discarded", r);
    }
}

/* Read what the framer still needs. Returns 1 when bytes came, 0 when none, -1 closed. */
static int loop_read(struct loop *l, struct conn *c, size_t need, bool ctrl)
{
    int pfd = -1;
    ssize_t r;

    if (need > c->cap - c->len) {
        need = c->cap - c->len; /* cannot happen: the framers bound every request */
    }
    r = net_recv(c->fd, c->buf + c->len, need, &pfd);
    if (pfd >= 0) {
        if (ctrl) {
            if (c->passed_fd >= 0) {
                close(c->passed_fd);
            }
            c->passed_fd = pfd;
        } else {
            close(pfd); /* nothing is passed on the data channel */
        }
    }
    if (r == -EAGAIN) {
        return 0;
    }
    if (r <= 0) {
        const char *why = r == 0
                              ? (c->len ? "peer closed in the middle of a request" : "peer closed")
                              : strerror((int)-r);
        if (ctrl) {
            loop_close_ctrl(l, why);
        } else {
            loop_close_data(l, why);
        }
        return -1;
    }
    if (c->len == 0) {
        c->started_ms = net_now_ms();
    }
    c->len += (size_t)r;
    return 1;
}

static void loop_ctrl_readable(struct loop *l)
{
    struct conn *c = &l->ctrl;
    struct ctrl_frame f;

    for (;;) {
        enum ctrl_status st = ctrl_frame(c->buf, c->len, &f);
        if (st == CTRL_NEED) {
            if (conn_reserve(c, c->len + f.need) != 0) {
                log_msg(LOG_ERR, "ctrl: no memory for a %zu-byte request; closing the connection",
                        c->len + f.need);
                loop_close_ctrl(l, "out of memory");
                return;
            }
            if (loop_read(l, c, f.need, true) <= 0) {
                return;
            }
            continue;
        }
        if (st == CTRL_BAD) {
            log_msg(LOG_ERR, "ctrl: request 0x%08x refused (%s); closing the connection", f.code,
                    f.reason);
            loop_reply(l, c, ctrl_refuse(&f, l->rsp, sizeof(l->rsp)), true);
            loop_close_ctrl(l, "malformed request");
            return;
        }
        struct ctrl_env env = {
            .dev = l->dev,
            .info = l->info,
            .passed_fd = c->passed_fd,
            .set_datafd = loop_set_datafd,
            .ctx = l,
        };
        c->passed_fd = -1;
        size_t n = ctrl_dispatch(&env, &f, c->buf, l->rsp, sizeof(l->rsp));
        if (env.passed_fd >= 0) {
            close(env.passed_fd); /* a descriptor nobody asked for */
        }
        conn_reset(c);
        loop_drain_padding(c, f.pad);
        loop_reply_from(l, c, env.heap_rsp ? env.heap_rsp : l->rsp, n, true);
        ctrl_env_release(&env);
        if (env.shutdown) {
            log_msg(LOG_ERR, "SHUTDOWN received: exiting");
            l->quit = true;
            l->exit_code = 0;
        }
        return; /* one request per wake-up: the data channel gets its turn */
    }
}

static void loop_data_readable(struct loop *l)
{
    struct conn *c = &l->data;
    struct data_frame f;

    for (;;) {
        enum data_status st = data_frame(c->buf, c->len, l->dev->buffersize, l->prefix_ok, &f);
        if (st == DATA_NEED) {
            /* Read all that is there, not only what this frame needs: a command usually
             * arrives whole, so one read serves it (swtpm's count of system calls), and
             * pipelined commands are framed from the buffer. */
            if (loop_read(l, c, c->cap - c->len, false) <= 0) {
                return;
            }
            continue;
        }
        if (st == DATA_BAD) {
            log_msg(LOG_ERR, "data: command refused (%s); closing the connection", f.reason);
            loop_reply(l, c, data_refuse(&f, l->rsp, sizeof(l->rsp)), false);
            loop_close_data(l, "malformed command");
            return;
        }
        size_t n = data_process(l->dev, &l->data_opts, c->buf, &f, l->rsp, sizeof(l->rsp));
        size_t rest = c->len - f.len;
        if (rest > 0) {
            /* The next command's first bytes came with this one: keep them. */
            memmove(c->buf, c->buf + f.len, rest);
            c->len = rest;
            c->started_ms = net_now_ms();
        } else {
            conn_reset(c);
        }
        loop_reply(l, c, n, false);
        if (l->disconnect) {
            loop_close_data(l, "one command per connection");
            return;
        }
        if (c->fd < 0 || rest == 0) {
            return;
        }
        /* more bytes are buffered: frame them before going back to poll */
    }
}

static int loop_accept(int lfd, const char *what)
{
    int fd;
    do {
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
            log_msg(LOG_ERR, "%s: accept failed (%s)", what, strerror(errno));
        }
        return -1;
    }
    log_msg(LOG_CONN, "%s: client connected", what);
    return fd;
}

/* Drop a request that stalls half-way: the control channel after 500 ms, as swtpm. */
static int loop_check_timeouts(struct loop *l, uint64_t now)
{
    int wait = -1;
    struct {
        struct conn *c;
        uint64_t limit;
        bool ctrl;
    } t[2] = {{&l->ctrl, CTRL_REQUEST_TIMEOUT_MS, true},
              {&l->data, DATA_PARTIAL_TIMEOUT_MS, false}};

    for (int i = 0; i < 2; i++) {
        struct conn *c = t[i].c;
        if (c->fd < 0 || c->len == 0) {
            continue;
        }
        uint64_t end = c->started_ms + t[i].limit;
        if (now >= end) {
            log_msg(LOG_ERR, "%s: incomplete request (%zu bytes) timed out; closing the connection",
                    t[i].ctrl ? "ctrl" : "data", c->len);
            if (t[i].ctrl) {
                loop_close_ctrl(l, "request timed out");
            } else {
                loop_close_data(l, "command timed out");
            }
            continue;
        }
        int left = (int)(end - now);
        if (wait < 0 || left < wait) {
            wait = left;
        }
    }
    return wait;
}

int loop_run(struct loop *l)
{
    enum { P_CTRL_LISTEN, P_CTRL, P_DATA_LISTEN, P_DATA, P_COUNT };
    sigset_t unblocked;

    sigemptyset(&unblocked);
    while (!l->quit) {
        struct pollfd p[P_COUNT];
        struct timespec ts, *tsp = NULL;
        int wait = loop_check_timeouts(l, net_now_ms());

        if (l->quit) {
            break;
        }
        if (l->ctrl.fd < 0 && l->ctrl_listen < 0 && l->data.fd < 0 && l->data_listen < 0) {
            /* Every channel is gone and none can come back: nobody can reach this TPM. */
            log_msg(LOG_ERR, "no channel is left open: exiting");
            break;
        }
        /* A listener is watched only while its channel has no client. */
        p[P_CTRL_LISTEN] = (struct pollfd){l->ctrl.fd < 0 ? l->ctrl_listen : -1, POLLIN, 0};
        p[P_CTRL] = (struct pollfd){l->ctrl.fd, POLLIN, 0};
        p[P_DATA_LISTEN] = (struct pollfd){l->data.fd < 0 ? l->data_listen : -1, POLLIN, 0};
        p[P_DATA] = (struct pollfd){l->data.fd, POLLIN, 0};
        if (wait >= 0) {
            ts.tv_sec = wait / 1000;
            ts.tv_nsec = (long)(wait % 1000) * 1000000;
            tsp = &ts;
        }
        int n = ppoll(p, P_COUNT, tsp, &unblocked);
        if (loop_signal) {
            log_msg(LOG_ERR, "signal %d received: exiting", (int)loop_signal);
            l->exit_code = 0;
            break;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            log_msg(LOG_ERR, "poll failed (%s)", strerror(errno));
            l->exit_code = 1;
            break;
        }
        if (p[P_CTRL].revents & (POLLIN | POLLHUP | POLLERR)) {
            loop_ctrl_readable(l);
        }
        if (!l->quit && (p[P_DATA].revents & (POLLIN | POLLHUP | POLLERR))) {
            loop_data_readable(l);
        }
        if (!l->quit && (p[P_CTRL_LISTEN].revents & POLLIN) && l->ctrl.fd < 0) {
            int fd = loop_accept(l->ctrl_listen, "ctrl");
            if (fd >= 0) {
                conn_open(&l->ctrl, fd, false);
            }
        }
        if (!l->quit && (p[P_DATA_LISTEN].revents & POLLIN) && l->data.fd < 0) {
            int fd = loop_accept(l->data_listen, "data");
            if (fd >= 0) {
                conn_open(&l->data, fd, false);
            }
        }
    }
    return l->exit_code;
}

void loop_close(struct loop *l)
{
    bool term = l->terminate;
    l->terminate = false; /* closing here is not a client leaving */
    loop_close_ctrl(l, "exiting");
    loop_close_data(l, "exiting");
    l->terminate = term;
    if (l->ctrl_listen >= 0) {
        close(l->ctrl_listen);
        l->ctrl_listen = -1;
    }
    if (l->data_listen >= 0) {
        close(l->data_listen);
        l->data_listen = -1;
    }
}

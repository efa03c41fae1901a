/* vtpmd's sockets (see net.h). */
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int net_listen_tcp(const struct chan_opts *c, char *err, size_t errlen)
{
    char host[256], port[8];
    struct addrinfo hints, *res = NULL;
    int fd = -1, on = 1, rc;

    snprintf(port, sizeof(port), "%u", c->port);
    if (c->ifname) {
        rc = snprintf(host, sizeof(host), "%s%%%s", c->bindaddr ? c->bindaddr : "", c->ifname);
    } else {
        rc = snprintf(host, sizeof(host), "%s", c->bindaddr ? c->bindaddr : "127.0.0.1");
    }
    if (rc < 0 || (size_t)rc >= sizeof(host)) {
        snprintf(err, errlen, "bind address too long");
        return -1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "'%s' is not a numeric IP address: %s", host, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a TCP socket: %s", strerror(errno));
        goto fail;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        snprintf(err, errlen, "cannot listen on %s port %u: %s", host, c->port, strerror(errno));
        goto fail;
    }
    if (listen(fd, 4) != 0) {
        snprintf(err, errlen, "cannot listen on %s port %u: %s", host, c->port, strerror(errno));
        goto fail;
    }
    freeaddrinfo(res);
    return fd;
fail:
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(res);
    return -1;
}

static int net_listen_unix(const struct chan_opts *c, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(c->path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "socket path '%s' is longer than %zu bytes", c->path,
                 sizeof(sa.sun_path) - 1);
        return -1;
    }
    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    /* A socket left behind by an earlier run is replaced; any other file is not touched. */
    if (lstat(c->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "'%s' exists and is not a socket", c->path);
            return -1;
        }
        (void)unlink(c->path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a unix socket: %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4) != 0) {
        snprintf(err, errlen, "cannot listen on '%s': %s", c->path, strerror(errno));
        close(fd);
        return -1;
    }
    if (chmod(c->path, c->has_mode ? c->mode : 0770) != 0) {
        snprintf(err, errlen, "cannot set the mode of '%s': %s", c->path, strerror(errno));
        goto fail;
    }
    if ((c->has_uid || c->has_gid) &&
        chown(c->path, c->has_uid ? c->uid : (uid_t)-1, c->has_gid ? c->gid : (gid_t)-1) != 0) {
        snprintf(err, errlen, "cannot set the owner of '%s': %s", c->path, strerror(errno));
        goto fail;
    }
    return fd;
fail:
    (void)unlink(c->path);
    close(fd);
    return -1;
}

int net_listen(const struct chan_opts *c, char *err, size_t errlen)
{
    return c->type == CHAN_UNIX ? net_listen_unix(c, err, errlen) : net_listen_tcp(c, err, errlen);
}

int net_check_fd(int fd, char *err, size_t errlen)
{
    struct stat st;
    int type = 0, acc = 0;
    socklen_t len = sizeof(type);

    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "file descriptor %d is not open: %s", fd, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode) || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
        type != SOCK_STREAM) {
        snprintf(err, errlen, "file descriptor %d is not a stream socket", fd);
        return -1;
    }
    len = sizeof(acc);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0) {
        snprintf(err, errlen, "file descriptor %d: %s", fd, strerror(errno));
        return -1;
    }
    return acc ? 1 : 0;
}

ssize_t net_recv(int fd, uint8_t *buf, size_t n, int *passed_fd)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } control;
    struct iovec iov = {buf, n};
    struct msghdr msg;
    struct cmsghdr *cm;
    ssize_t r;

    *passed_fd = -1;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    do {
        r = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    /* Keep the first descriptor passed, close any other (and any the kernel cut short). */
    for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
            cm->cmsg_len < CMSG_LEN(0)) {
            continue;
        }
        size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int pfd;
            memcpy(&pfd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (*passed_fd < 0) {
                *passed_fd = pfd;
            } else {
                close(pfd);
            }
        }
    }
    return r;
}

uint64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int net_send(int fd, const uint8_t *buf, size_t n, int timeout_ms)
{
    uint64_t deadline = net_now_ms() + (uint64_t)timeout_ms;
    size_t done = 0;

    while (done < n) {
        ssize_t w = send(fd, buf + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w >= 0) {
            done += (size_t)w;
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -errno;
        }
        /* The reader is slow: wait for room, but never longer than the deadline. */
        uint64_t now = net_now_ms();
        if (now >= deadline) {
            return -ETIMEDOUT;
        }
        struct pollfd p = {fd, POLLOUT, 0};
        struct timespec ts = {(time_t)((deadline - now) / 1000),
                              (long)((deadline - now) % 1000) * 1000000};
        if (ppoll(&p, 1, &ts, NULL) < 0 && errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

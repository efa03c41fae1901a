/* vtpmd's log (see log.h). One line per write() so concurrent writers never interleave. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The process has one log; this is the daemon's only writable file-scope state besides
 * the signal flag, and it is set once at start-up. */
static struct {
    int fd; /* -1: none */
    unsigned level;
    bool to_stderr; /* no --log yet: level 1 to stderr */
    bool detached;  /* --daemon: stderr is /dev/null */
    char prefix[64];
} log_state = {-1, 0, true, false, "vtpmd: "};

int log_open(const char *path, int fd, unsigned level, const char *prefix, bool truncate)
{
    int nfd = fd;
    if (path && strcmp(path, "-") == 0) {
        log_state.to_stderr = false;
        log_state.fd = -1;
        log_state.level = 0;
        return 0;
    }
    if (path) {
        int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY;
        if (truncate) {
            flags |= O_TRUNC;
        }
        nfd = open(path, flags, 0640);
        if (nfd < 0) {
            return -errno;
        }
    }
    log_state.fd = nfd;
    log_state.level = level;
    log_state.to_stderr = false;
    snprintf(log_state.prefix, sizeof(log_state.prefix), "%s", prefix ? prefix : "");
    return 0;
}

void log_detach_stderr(void)
{
    log_state.to_stderr = false;
    log_state.detached = true;
}

bool log_enabled(unsigned level)
{
    if (log_state.fd >= 0) {
        return level <= log_state.level;
    }
    return log_state.to_stderr && level <= LOG_ERR;
}

void log_msg(unsigned level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n, m;

    if (!log_enabled(level)) {
        return;
    }
    n = snprintf(line, sizeof(line), "%s", log_state.prefix);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        n = 0;
    }
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) {
        return;
    }
    n += m;
    if ((size_t)n > sizeof(line) - 2) {
        n = (int)sizeof(line) - 2; /* truncated line */
    }
    line[n++] = '\n';
    int fd = log_state.fd >= 0 ? log_state.fd : STDERR_FILENO;
    ssize_t w;
    do {
        w = write(fd, line, (size_t)n);
    } while (w < 0 && errno == EINTR);
}

void log_startup_error(const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_msg(LOG_ERR, "%s", msg);
    if (!log_state.detached && log_state.fd >= 0 && log_state.fd != STDERR_FILENO) {
        char line[800];
        int n = snprintf(line, sizeof(line), "vtpmd: %s\n", msg);
        if (n > 0) {
            ssize_t w =
                write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
            (void)w;
        }
    }
}

void log_close(void)
{
    if (log_state.fd > STDERR_FILENO) {
        close(log_state.fd);
    }
    log_state.fd = -1;
}

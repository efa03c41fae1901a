/*
 * Process supervision of a VM's vtpmd and QEMU (see supervise.h): spawn with a key pipe,
 * pid files, liveness checked against /proc, swtpm's CMD_SHUTDOWN and QMP commands.
 */
#include "ctl/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/rw.h"

#define CMD_SHUTDOWN 0x00000003u
#define PROC_CMDLINE_MAX 65536
#define QMP_LINE_MAX 65536

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Read at most cap bytes of a file; returns the count or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return -errno;
    }
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    return (ssize_t)got;
}

void sup_last_line(const char *path, char *buf, size_t cap)
{
    char tail[4096];
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    buf[0] = '\0';
    if (fd < 0) {
        return;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof(tail) ? size - (off_t)sizeof(tail) : 0;
    if (size > 0 && lseek(fd, from, SEEK_SET) == from) {
        n = read(fd, tail, sizeof(tail));
    }
    close(fd);
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r')) {
        n--;
    }
    if (n <= 0) {
        return;
    }
    ssize_t start = n;
    while (start > 0 && tail[start - 1] != '\n') {
        start--;
    }
    size_t len = (size_t)(n - start);
    if (len >= cap) {
        len = cap - 1;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = tail[start + (ssize_t)i];
        buf[i] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
    }
    buf[len] = '\0';
}

int sup_spawn(const struct launch_cmd *cmd, const uint8_t *key, size_t keylen,
              const char *out_path, int timeout_ms, struct ctl_err *e)
{
    int kp[2] = {-1, -1};
    int outfd = -1, nullfd = -1, status = 0, rc = -1;
    pid_t pid = -1;
    int64_t deadline = now_ms() + timeout_ms;
    const char *prog = cmd->argv[0];

    if (key) {
        if (pipe2(kp, O_CLOEXEC) != 0) {
            return ctl_fail(e, CTL_E_LAUNCH, "cannot make the key pipe for %s: %s", prog,
                            strerror(errno));
        }
        /* A pipe holds 64 KiB: the 32-byte key fits before anyone reads. */
        if (write(kp[1], key, keylen) != (ssize_t)keylen) {
            ctl_fail(e, CTL_E_LAUNCH, "cannot fill the key pipe for %s", prog);
            goto out;
        }
        close(kp[1]);
        kp[1] = -1;
    }
    outfd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (outfd < 0 || nullfd < 0) {
        ctl_fail(e, CTL_E_LAUNCH, "cannot open %s for the output of %s: %s", out_path, prog,
                 strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        ctl_fail(e, CTL_E_LAUNCH, "cannot start %s: %s", prog, strerror(errno));
        goto out;
    }
    if (pid == 0) {
        /* Child: move what it keeps above the fds it sets, then set 0, 1, 2 and the key. */
        sigset_t none;
        int k = kp[0] >= 0 ? fcntl(kp[0], F_DUPFD_CLOEXEC, 10) : -1;
        int o = fcntl(outfd, F_DUPFD_CLOEXEC, 10);
        int n = fcntl(nullfd, F_DUPFD_CLOEXEC, 10);
        int first_closed = 3;
        if (o < 0 || n < 0 || (kp[0] >= 0 && k < 0) || dup2(n, 0) < 0 || dup2(o, 1) < 0 ||
            dup2(o, 2) < 0) {
            _exit(126);
        }
        if (k >= 0) {
            if (dup2(k, cmd->key_fd) < 0) {
                _exit(126);
            }
            first_closed = cmd->key_fd + 1;
            for (int fd = 3; fd < cmd->key_fd; fd++) {
                close(fd);
            }
        }
        close_range((unsigned)first_closed, ~0u, 0);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        execvp(prog, cmd->argv);
        dprintf(2, "vtpmctl: cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(kp[0]);
    kp[0] = -1;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            break;
        }
        if (w < 0 && errno != EINTR) {
            ctl_fail(e, CTL_E_LAUNCH, "lost track of %s: %s", prog, strerror(errno));
            goto out;
        }
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ctl_fail(e, CTL_E_LAUNCH, "%s did not go to the background within %d ms; it was "
                     "killed", prog, timeout_ms);
            goto out;
        }
        sleep_ms(10);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char last[256];
        sup_last_line(out_path, last, sizeof(last));
        if (WIFEXITED(status)) {
            ctl_fail(e, CTL_E_LAUNCH, "%s failed to start (exit status %d)%s%s", prog,
                     WEXITSTATUS(status), last[0] ? ": " : "", last);
        } else {
            ctl_fail(e, CTL_E_LAUNCH, "%s failed to start (killed by signal %d)", prog,
                     WTERMSIG(status));
        }
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (kp[i] >= 0) {
            close(kp[i]);
        }
    }
    if (outfd >= 0) {
        close(outfd);
    }
    if (nullfd >= 0) {
        close(nullfd);
    }
    return rc;
}

int sup_parse_pid(const char *buf, size_t n, pid_t *pid)
{
    long v = 0;
    if (n > 0 && buf[n - 1] == '\n') {
        n--;
    }
    if (n == 0 || n > 10) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9') {
            return -EINVAL;
        }
        v = v * 10 + (buf[i] - '0');
    }
    if (v < 2 || v > 0x7fffffff) {
        return -EINVAL;
    }
    *pid = (pid_t)v;
    return 0;
}

int sup_read_pid(const char *path, pid_t *pid)
{
    char buf[32];
    ssize_t n = read_small(path, buf, sizeof(buf));
    if (n < 0) {
        return (int)n;
    }
    return sup_parse_pid(buf, (size_t)n, pid);
}

bool sup_alive(pid_t pid, const char *marker)
{
    char path[64], *buf;
    ssize_t n;
    bool ok = false;
    if (pid <= 1 || (kill(pid, 0) != 0 && errno == ESRCH)) {
        return false;
    }
    /* A zombie is dead for us: its parent (init) has not reaped it yet. */
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    buf = malloc(PROC_CMDLINE_MAX);
    if (!buf) {
        return false;
    }
    n = read_small(path, buf, 1023);
    if (n <= 0) {
        goto out;
    }
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    if (!paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X') {
        goto out;
    }
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
    n = read_small(path, buf, PROC_CMDLINE_MAX);
    ok = n > 0 && memmem(buf, (size_t)n, marker, strlen(marker)) != NULL;
out:
    free(buf);
    return ok;
}

pid_t sup_pid_of(const char *pid_path, const char *marker)
{
    pid_t pid;
    if (sup_read_pid(pid_path, &pid) != 0 || !sup_alive(pid, marker)) {
        return 0;
    }
    return pid;
}

int sup_wait_ready(const char *what, const char *pid_path, const char *sock_path,
                   const char *marker, const char *log_path, int timeout_ms, pid_t *pid,
                   struct ctl_err *e)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        struct stat st;
        pid_t p = sup_pid_of(pid_path, marker);
        if (p > 0 && (!sock_path || (stat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode)))) {
            *pid = p;
            return 0;
        }
        if (now_ms() > deadline) {
            char last[256] = "";
            if (log_path) {
                sup_last_line(log_path, last, sizeof(last));
            }
            return ctl_fail(e, CTL_E_LAUNCH, "%s did not become ready within %d ms%s%s", what,
                            timeout_ms, last[0] ? "; its log says: " : "", last);
        }
        sleep_ms(20);
    }
}

bool sup_wait_gone(pid_t pid, const char *marker, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (sup_alive(pid, marker)) {
        if (now_ms() > deadline) {
            return false;
        }
        sleep_ms(20);
    }
    return true;
}

bool sup_terminate(pid_t pid, const char *marker, int term_ms, int kill_ms)
{
    if (!sup_alive(pid, marker)) {
        return true;
    }
    kill(pid, SIGTERM);
    if (sup_wait_gone(pid, marker, term_ms)) {
        return true;
    }
    if (sup_alive(pid, marker)) {
        kill(pid, SIGKILL);
    }
    return sup_wait_gone(pid, marker, kill_ms);
}

/* Connect to a unix stream socket, bounded by the deadline. Returns the fd or -errno. */
static int unix_connect(const char *path, int64_t deadline)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int err = errno;
        if (err == EINTR) {
            continue;
        }
        /* EAGAIN: the listener's backlog is full; retry until the deadline. */
        if (err != EAGAIN || now_ms() > deadline) {
            close(fd);
            return -err;
        }
        sleep_ms(10);
    }
    return fd;
}

/* Wait until fd is readable or writable (events) before the deadline. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = events};
        int r;
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        r = poll(&p, 1, (int)left);
        if (r > 0) {
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

static int send_all(int fd, const void *buf, size_t n, int64_t deadline)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                int rc = wait_fd(fd, POLLOUT, deadline);
                if (rc != 0) {
                    return rc;
                }
                continue;
            }
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read exactly n bytes before the deadline. */
static int recv_exact(int fd, void *buf, size_t n, int64_t deadline)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r == 0) {
            return -ECONNRESET;
        }
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                int rc = wait_fd(fd, POLLIN, deadline);
                if (rc != 0) {
                    return rc;
                }
                continue;
            }
            return -errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int sup_ctrl_shutdown(const char *sock_path, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    uint8_t req[4], rsp[4];
    uint32_t result = 1;
    struct wr w;
    struct rd r;
    int fd = unix_connect(sock_path, deadline), rc;
    if (fd < 0) {
        return fd;
    }
    wr_init(&w, req, sizeof(req));
    wr_u32(&w, CMD_SHUTDOWN);
    rc = send_all(fd, req, sizeof(req), deadline);
    if (rc == 0) {
        rc = recv_exact(fd, rsp, sizeof(rsp), deadline);
    }
    close(fd);
    if (rc != 0) {
        return rc;
    }
    rd_init(&r, rsp, sizeof(rsp));
    if (!rd_u32(&r, &result) || result != 0) {
        return -EPROTO;
    }
    return 0;
}

/* Read one line (without its newline) into buf before the deadline. */
static int qmp_line(int fd, char *buf, size_t cap, int64_t deadline)
{
    size_t n = 0;
    for (;;) {
        char ch;
        int rc = recv_exact(fd, &ch, 1, deadline);
        if (rc != 0) {
            return rc;
        }
        if (ch == '\n') {
            buf[n] = '\0';
            return 0;
        }
        if (n + 1 >= cap) {
            return -EMSGSIZE;
        }
        buf[n++] = ch;
    }
}

/* Send one QMP command and wait for its answer, skipping asynchronous events. */
static int qmp_exec(int fd, const char *command, char *line, int64_t deadline)
{
    char req[128];
    int n = snprintf(req, sizeof(req), "{\"execute\": \"%s\"}\n", command);
    int rc;
    if (n < 0 || (size_t)n >= sizeof(req)) {
        return -EINVAL;
    }
    rc = send_all(fd, req, (size_t)n, deadline);
    while (rc == 0) {
        rc = qmp_line(fd, line, QMP_LINE_MAX, deadline);
        if (rc != 0) {
            break;
        }
        if (strstr(line, "\"event\"")) {
            continue;
        }
        if (strstr(line, "\"return\"")) {
            return 0;
        }
        return -EPROTO;
    }
    return rc;
}

int sup_qmp(const char *sock_path, const char *command, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    char *line = malloc(QMP_LINE_MAX);
    int fd, rc;
    if (!line) {
        return -ENOMEM;
    }
    fd = unix_connect(sock_path, deadline);
    if (fd < 0) {
        free(line);
        return fd;
    }
    rc = qmp_line(fd, line, QMP_LINE_MAX, deadline);
    if (rc == 0 && !strstr(line, "\"QMP\"")) {
        rc = -EPROTO;
    }
    if (rc == 0) {
        rc = qmp_exec(fd, "qmp_capabilities", line, deadline);
    }
    if (rc == 0) {
        rc = qmp_exec(fd, command, line, deadline);
    }
    close(fd);
    free(line);
    return rc;
}

/*
 * tpmbench: the benchmark client. It speaks raw TPM 2.0 command bytes (tpmcmd.c) over one
 * persistent data connection per server, as QEMU does, and times each command from the write
 * of the command to the last byte of its response. Every response is checked; the first one
 * that is not TPM_RC_SUCCESS ends the run with an error (exit 1).
 *
 *   tpmbench lat   [-n ITERS] [-b BLOCK] [-w WARMUP] [-C CMD,...] -e EP [-s DIR] -e EP ...
 *       Latency of each command against each server, alternating between the servers in
 *       blocks of BLOCK commands so that machine drift hits every server alike. -s names the
 *       server's state directory: for commands that change persistent state, the warm-up then
 *       checks that the directory's bytes change with every command (the commit happened).
 *       Prints per server and command: RESULT ep=I cmd=NAME n= median_us= p99_us= ...
 *   tpmbench load  [-n COUNT] -e EP ...      COUNT commands of every kind, in turn, untimed
 *   tpmbench ping  [-t MS] -e EP ...         wait until each server answers GetRandom
 *   tpmbench start [-t MS] [-l LOG] -e EP [-c CTRL] -- SERVER ARGS...
 *       Spawns the server (its stdout and stderr appended to LOG if given), connects as soon as
 *       the data socket accepts, sends GetRandom and times process start to answer; then stops
 *       it with CMD_SHUTDOWN on the control socket CTRL (SIGTERM without -c) and times that
 *       until the process is reaped.
 *       Prints: RESULT start_us= stop_us= pid=
 *
 * EP is unix:PATH, tcp:PORT or tcp:HOST:PORT (numeric IPv4 host, default 127.0.0.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tpmcmd.h"

extern char **environ;

#define MAX_EPS 512
#define CTRL_CMD_SHUTDOWN 0x00000003 /* swtpm control channel CMD_SHUTDOWN */

struct ep {
    const char *spec;
    const char *state_dir; /* NULL: no commit check */
    int fd;
    struct bcmd_state st;
    uint64_t *samples;
};

struct opts {
    unsigned long iters;
    unsigned long block;
    unsigned long warmup;
    unsigned long timeout_ms;
    bool cmds[BCMD_COUNT];
    bool cmds_given;
    const char *ctrl;
    const char *log;
    struct ep eps[MAX_EPS];
    size_t neps;
    char **server_argv;
};

/* The server `start` spawned and has not reaped yet: die() must not leave it running. */
static pid_t start_child;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    int status;

    fputs("tpmbench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (start_child > 0) {
        kill(start_child, SIGKILL);
        waitpid(start_child, &status, 0);
    }
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(long ns)
{
    struct timespec ts = {0, ns};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Builds the socket address for EP; returns its length, or 0 with a sentence on stderr. */
static socklen_t ep_addr(const char *spec, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        const char *path = spec + 5;
        if (strlen(path) == 0 || strlen(path) >= sizeof(un->sun_path)) {
            fprintf(stderr, "tpmbench: refusing endpoint %s: the socket path is empty or "
                            "longer than %zu bytes\n", spec, sizeof(un->sun_path) - 1);
            return 0;
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path, strlen(path) + 1);
        return (socklen_t)sizeof(*un);
    }
    if (strncmp(spec, "tcp:", 4) == 0) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        char host[64] = "127.0.0.1";
        const char *port = spec + 4;
        const char *colon = strrchr(port, ':');
        char *end = NULL;
        unsigned long p;
        if (colon) {
            size_t hl = (size_t)(colon - port);
            if (hl == 0 || hl >= sizeof(host)) {
                fprintf(stderr, "tpmbench: refusing endpoint %s: bad host\n", spec);
                return 0;
            }
            memcpy(host, port, hl);
            host[hl] = '\0';
            port = colon + 1;
        }
        errno = 0;
        p = strtoul(port, &end, 10);
        in->sin_family = AF_INET;
        if (errno != 0 || *port == '\0' || *end != '\0' || p == 0 || p > 65535 ||
            inet_pton(AF_INET, host, &in->sin_addr) != 1) {
            fprintf(stderr, "tpmbench: refusing endpoint %s: expected tcp:[IPV4:]PORT\n", spec);
            return 0;
        }
        in->sin_port = htons((uint16_t)p);
        return (socklen_t)sizeof(*in);
    }
    fprintf(stderr, "tpmbench: refusing endpoint %s: expected unix:PATH or tcp:PORT\n", spec);
    return 0;
}

/*
 * Connects to EP, retrying while the server is not listening yet (ENOENT, ECONNREFUSED)
 * until deadline_ns (0: try once). While start_child is set, gives up as soon as that process
 * has exited (and clears start_child, since it is reaped). Returns the socket, or -1 with a
 * sentence on stderr.
 */
static int ep_connect(const char *spec, uint64_t deadline_ns)
{
    struct sockaddr_storage ss;
    socklen_t sl = ep_addr(spec, &ss);
    int one = 1;

    if (sl == 0) {
        return -1;
    }
    for (;;) {
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            fprintf(stderr, "tpmbench: cannot create a socket: %s\n", strerror(errno));
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
            if (ss.ss_family == AF_INET) {
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            }
            return fd;
        }
        int err = errno;
        close(fd);
        if ((err != ENOENT && err != ECONNREFUSED && err != EINTR) || deadline_ns == 0 ||
            now_ns() > deadline_ns) {
            fprintf(stderr, "tpmbench: cannot connect to %s: %s\n", spec, strerror(err));
            return -1;
        }
        if (start_child > 0) {
            int status;
            if (waitpid(start_child, &status, WNOHANG) == start_child) {
                start_child = 0;
                fprintf(stderr, "tpmbench: the server exited (status 0x%x) before %s accepted "
                                "a connection\n", (unsigned)status, spec);
                return -1;
            }
        }
        sleep_ns(20000);
    }
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads one TPM response framed by its header size. 0, or -1 with a sentence in why. */
static int read_rsp(int fd, uint8_t *rsp, size_t *len, const char **why)
{
    size_t got = 0;
    size_t need = 10;

    while (got < need) {
        ssize_t r = read(fd, rsp + got, BCMD_MAX - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            *why = r == 0 ? "the server closed the connection" : "reading the response failed";
            return -1;
        }
        got += (size_t)r;
        if (need == 10 && got >= 10) {
            need = bcmd_rsp_size(rsp);
            if (need == 0) {
                *why = "the response header carries a size below 10 or above 4096";
                return -1;
            }
        }
    }
    if (got != need) {
        *why = "the server sent more bytes than the response header announced";
        return -1;
    }
    *len = got;
    return 0;
}

/* Sends command c to the server of ep and checks the answer; *ns gets the round trip. */
static void ep_run(struct ep *ep, enum bcmd c, uint64_t *ns)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    size_t clen = bcmd_build(c, &ep->st, cmd, sizeof(cmd));
    size_t rlen = 0;
    const char *why = NULL;
    char msg[160];
    uint32_t rc;
    uint64_t t0;
    uint64_t t1;

    if (clen == 0) {
        die("cannot build command %s", bcmd_name(c));
    }
    t0 = now_ns();
    if (write_full(ep->fd, cmd, clen) != 0) {
        die("%s: sending %s failed: %s", ep->spec, bcmd_name(c), strerror(errno));
    }
    if (read_rsp(ep->fd, rsp, &rlen, &why) != 0) {
        die("%s: %s: %s", ep->spec, bcmd_name(c), why);
    }
    t1 = now_ns();
    if (bcmd_check(c, &ep->st, rsp, rlen, &rc, msg, sizeof(msg)) != 0) {
        die("%s: %s", ep->spec, msg);
    }
    bcmd_done(c, &ep->st);
    if (ns) {
        *ns = t1 - t0;
    }
}

/*
 * A digest of every regular file in dir (names, then contents), to see whether a command
 * changed what the server keeps on disk. Returns 0, or -1 with a sentence on stderr.
 */
static int dir_digest(const char *dir, uint8_t out[32])
{
    struct dirent **names = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int n = scandir(dir, &names, NULL, alphasort);
    int ret = -1;
    unsigned int olen = 0;

    if (n < 0) {
        fprintf(stderr, "tpmbench: cannot list state directory %s: %s\n", dir, strerror(errno));
        goto out;
    }
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        fprintf(stderr, "tpmbench: libcrypto could not start a digest\n");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        uint8_t buf[8192];
        struct stat sb;
        ssize_t r;
        int fd;

        if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >= (int)sizeof(path) ||
            lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            continue;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue; /* replaced between lstat and open: the next snapshot sees it */
        }
        EVP_DigestUpdate(md, names[i]->d_name, strlen(names[i]->d_name) + 1);
        while ((r = read(fd, buf, sizeof(buf))) > 0) {
            EVP_DigestUpdate(md, buf, (size_t)r);
        }
        close(fd);
    }
    if (EVP_DigestFinal_ex(md, out, &olen) != 1) {
        fprintf(stderr, "tpmbench: libcrypto could not finish a digest\n");
        goto out;
    }
    ret = 0;
out:
    for (int i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    EVP_MD_CTX_free(md);
    return ret;
}

/* Warm-up of command c on ep; for state-changing commands, checks that each one committed. */
static void ep_warmup(struct ep *ep, enum bcmd c, unsigned long count)
{
    bool check = ep->state_dir != NULL && bcmd_commits(c);
    uint8_t before[32];
    uint8_t after[32];

    for (unsigned long i = 0; i < count; i++) {
        if (check && dir_digest(ep->state_dir, before) != 0) {
            exit(1);
        }
        ep_run(ep, c, NULL);
        if (check) {
            if (dir_digest(ep->state_dir, after) != 0) {
                exit(1);
            }
            if (memcmp(before, after, sizeof(before)) == 0) {
                die("%s: %s changed the TPM's persistent state but nothing in %s changed "
                    "before the response arrived: the server did not commit it",
                    ep->spec, bcmd_name(c), ep->state_dir);
            }
        }
    }
}

/* Leaves the server as the run found it: owner authValue empty. */
static void ep_finish(struct ep *ep)
{
    if (ep->st.owner_auth_set) {
        ep_run(ep, BCMD_CHANGE_AUTH, NULL);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples (pct in 1..100). */
static uint64_t pct_rank(const uint64_t *s, size_t n, unsigned pct)
{
    size_t k = (n * pct + 99) / 100;
    return s[k == 0 ? 0 : k - 1];
}

static void report(size_t i, enum bcmd c, uint64_t *s, size_t n)
{
    double sum = 0;
    double median;

    qsort(s, n, sizeof(*s), cmp_u64);
    for (size_t k = 0; k < n; k++) {
        sum += (double)s[k];
    }
    median = n % 2 ? (double)s[n / 2] : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2;
    printf("RESULT ep=%zu cmd=%s n=%zu median_us=%.2f p99_us=%.2f mean_us=%.2f min_us=%.2f "
           "max_us=%.2f\n", i, bcmd_name(c), n, median / 1e3,
           (double)pct_rank(s, n, 99) / 1e3, sum / (double)n / 1e3, (double)s[0] / 1e3,
           (double)s[n - 1] / 1e3);
}

static void connect_all(struct opts *o, uint64_t deadline_ns)
{
    for (size_t i = 0; i < o->neps; i++) {
        o->eps[i].fd = ep_connect(o->eps[i].spec, deadline_ns);
        if (o->eps[i].fd < 0) {
            exit(1);
        }
        if (bcmd_state_init(&o->eps[i].st) != 0) {
            die("libcrypto could not compute the expected Hash digest");
        }
    }
}

static int cmd_lat(struct opts *o)
{
    connect_all(o, 0);
    for (size_t i = 0; i < o->neps; i++) {
        o->eps[i].samples = calloc(o->iters, sizeof(uint64_t));
        if (!o->eps[i].samples) {
            die("out of memory for %lu samples", o->iters);
        }
    }
    for (int c = 0; c < BCMD_COUNT; c++) {
        if (!o->cmds[c]) {
            continue;
        }
        for (size_t i = 0; i < o->neps; i++) {
            ep_warmup(&o->eps[i], (enum bcmd)c, o->warmup);
        }
        for (unsigned long done = 0; done < o->iters;) {
            unsigned long b = o->iters - done < o->block ? o->iters - done : o->block;
            for (size_t i = 0; i < o->neps; i++) {
                for (unsigned long k = 0; k < b; k++) {
                    ep_run(&o->eps[i], (enum bcmd)c, &o->eps[i].samples[done + k]);
                }
            }
            done += b;
        }
        for (size_t i = 0; i < o->neps; i++) {
            report(i, (enum bcmd)c, o->eps[i].samples, o->iters);
        }
        fflush(stdout);
    }
    for (size_t i = 0; i < o->neps; i++) {
        ep_finish(&o->eps[i]);
        close(o->eps[i].fd);
        free(o->eps[i].samples);
    }
    return 0;
}

static int cmd_load(struct opts *o)
{
    connect_all(o, 0);
    for (size_t i = 0; i < o->neps; i++) {
        for (unsigned long k = 0; k < o->iters; k++) {
            ep_run(&o->eps[i], (enum bcmd)(k % BCMD_COUNT), NULL);
        }
        ep_finish(&o->eps[i]);
        close(o->eps[i].fd);
    }
    return 0;
}

static int cmd_ping(struct opts *o)
{
    uint64_t deadline = now_ns() + (uint64_t)o->timeout_ms * 1000000u;

    connect_all(o, deadline);
    for (size_t i = 0; i < o->neps; i++) {
        ep_run(&o->eps[i], BCMD_GETRANDOM, NULL);
        close(o->eps[i].fd);
    }
    return 0;
}

/* Waits up to timeout_ms for pid to exit; SIGKILLs it after that. 0 if it exited by itself. */
static int reap(pid_t pid, unsigned long timeout_ms, int *status)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) {
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
        if (now_ns() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return -1;
        }
        sleep_ns(50000);
    }
}

/* CMD_SHUTDOWN on the control socket; the server answers, then exits. */
static int ctrl_shutdown(const char *ctrl_path, uint64_t deadline_ns)
{
    char spec[PATH_MAX + 8];
    uint8_t req[4];
    uint8_t res[4];
    size_t got = 0;
    int fd;
    int ret = -1;

    snprintf(spec, sizeof(spec), "unix:%s", ctrl_path);
    fd = ep_connect(spec, deadline_ns);
    if (fd < 0) {
        return -1;
    }
    req[0] = 0;
    req[1] = 0;
    req[2] = 0;
    req[3] = CTRL_CMD_SHUTDOWN;
    if (write_full(fd, req, sizeof(req)) != 0) {
        fprintf(stderr, "tpmbench: sending CMD_SHUTDOWN failed: %s\n", strerror(errno));
        goto out;
    }
    while (got < sizeof(res)) {
        ssize_t r = read(fd, res + got, sizeof(res) - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            fprintf(stderr, "tpmbench: no answer to CMD_SHUTDOWN\n");
            goto out;
        }
        got += (size_t)r;
    }
    if (res[0] | res[1] | res[2] | res[3]) {
        fprintf(stderr, "tpmbench: CMD_SHUTDOWN answered %02x%02x%02x%02x, not success\n",
                res[0], res[1], res[2], res[3]);
        goto out;
    }
    ret = 0;
out:
    close(fd);
    return ret;
}

static int cmd_start(struct opts *o)
{
    struct ep *ep = &o->eps[0];
    uint64_t t0;
    uint64_t t1;
    uint64_t t2;
    uint64_t t3;
    pid_t pid;
    posix_spawn_file_actions_t fa;
    int status = 0;
    int err;

    if (o->neps != 1 || !o->server_argv || !o->server_argv[0]) {
        die("start needs one -e endpoint and the server command after --");
    }
    if (bcmd_state_init(&ep->st) != 0) {
        die("libcrypto could not compute the expected Hash digest");
    }
    posix_spawn_file_actions_init(&fa);
    if (o->log) {
        posix_spawn_file_actions_addopen(&fa, 1, o->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    t0 = now_ns();
    err = posix_spawnp(&pid, o->server_argv[0], &fa, NULL, o->server_argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0) {
        die("cannot start %s: %s", o->server_argv[0], strerror(err));
    }
    start_child = pid;
    ep->fd = ep_connect(ep->spec, t0 + (uint64_t)o->timeout_ms * 1000000u);
    if (ep->fd < 0) {
        die("the server %s did not answer on %s", o->server_argv[0], ep->spec);
    }
    ep_run(ep, BCMD_GETRANDOM, NULL);
    t1 = now_ns();

    t2 = now_ns();
    if (o->ctrl) {
        if (ctrl_shutdown(o->ctrl, t2 + 1000000000u) != 0) {
            die("the server did not accept CMD_SHUTDOWN on %s", o->ctrl);
        }
    } else {
        kill(pid, SIGTERM);
    }
    close(ep->fd);
    if (reap(pid, 5000, &status) != 0) {
        start_child = 0; /* reap() killed and reaped it */
        die("the server (pid %d) did not exit within 5 s of being told to", (int)pid);
    }
    start_child = 0;
    t3 = now_ns();
    printf("RESULT start_us=%.1f stop_us=%.1f pid=%d\n", (double)(t1 - t0) / 1e3,
           (double)(t3 - t2) / 1e3, (int)pid);
    return 0;
}

static unsigned long parse_count(const char *opt, const char *s, unsigned long max)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(s ? s : "", &end, 10);
    if (!s || errno != 0 || *s == '\0' || *end != '\0' || v == 0 || v > max) {
        die("%s needs a whole number from 1 to %lu, not '%s'", opt, max, s ? s : "");
    }
    return v;
}

static void parse_cmds(struct opts *o, const char *list)
{
    char buf[256];
    char *save = NULL;

    if (strlen(list) >= sizeof(buf)) {
        die("-C: the command list is too long");
    }
    memcpy(buf, list, strlen(list) + 1);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int c = bcmd_from_name(t);
        if (c < 0) {
            die("-C: unknown command '%s' (known: getrandom pcrextend pcrread hash getcap "
                "readclock daparams changeauth)", t);
        }
        o->cmds[c] = true;
    }
    o->cmds_given = true;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--") == 0) {
            o->server_argv = argv + i + 1;
            return;
        }
        if (a[0] != '-' || a[1] == '\0' || a[2] != '\0' || !v) {
            die("unexpected argument '%s' (see the usage at the top of bench/tpmbench.c)", a);
        }
        i++;
        switch (a[1]) {
        case 'n':
            o->iters = parse_count("-n", v, 100000000);
            break;
        case 'b':
            o->block = parse_count("-b", v, 100000000);
            break;
        case 'w':
            o->warmup = strcmp(v, "0") == 0 ? 0 : parse_count("-w", v, 1000000);
            break;
        case 't':
            o->timeout_ms = parse_count("-t", v, 3600000);
            break;
        case 'C':
            parse_cmds(o, v);
            break;
        case 'c':
            o->ctrl = v;
            break;
        case 'l':
            o->log = v;
            break;
        case 'e':
            if (o->neps == MAX_EPS) {
                die("at most %d endpoints", MAX_EPS);
            }
            o->eps[o->neps].spec = v;
            o->eps[o->neps].fd = -1;
            o->neps++;
            break;
        case 's':
            if (o->neps == 0) {
                die("-s names the state directory of the -e before it");
            }
            o->eps[o->neps - 1].state_dir = v;
            break;
        default:
            die("unknown option '%s'", a);
        }
    }
}

int main(int argc, char **argv)
{
    static struct opts o;
    const char *mode = argc > 1 ? argv[1] : "";

    o.iters = 2000;
    o.block = 250;
    o.warmup = 20;
    o.timeout_ms = 10000;
    signal(SIGPIPE, SIG_IGN);
    /* Sleeps while polling for a starting server should not be stretched by timer slack. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    parse_args(&o, argc, argv);
    if (strcmp(mode, "start") != 0 && o.server_argv) {
        die("only start takes a server command after --");
    }
    if (!o.cmds_given) {
        for (int c = 0; c < BCMD_COUNT; c++) {
            o.cmds[c] = true;
        }
    }
    if (o.neps == 0) {
        die("usage: tpmbench lat|load|ping|start [options] -e unix:PATH|tcp:PORT ... "
            "(see bench/tpmbench.c)");
    }
    if (strcmp(mode, "lat") == 0) {
        return cmd_lat(&o);
    }
    if (strcmp(mode, "load") == 0) {
        return cmd_load(&o);
    }
    if (strcmp(mode, "ping") == 0) {
        return cmd_ping(&o);
    }
    if (strcmp(mode, "start") == 0) {
        return cmd_start(&o);
    }
    die("unknown mode '%s': expected lat, load, ping or start", mode);
}

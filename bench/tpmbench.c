/*
 * tpmbench: the benchmark client. It speaks raw TPM 2.0 command bytes (tpmcmd.c) over one
 * persistent data connection per server, as QEMU does, and times each command from the write
 * of the command to the last byte of its response. Every response is checked; the first one
 * that is not TPM_RC_SUCCESS ends the run with an error (exit 1).
 *
 *   tpmbench lat   [-n ITERS] [-b BLOCK] [-w WARMUP] [-C MODE,...] -e EP [-s DIR] -e EP ...
 *       Latency of each measurement mode (the table `modes` below: one command, or a short
 *       flow such as Create + Load + Unseal) against each server, alternating between the
 *       servers in blocks of BLOCK samples so that machine drift hits every server alike.
 *       Before a mode, each server gets the keys and NV indices it needs (created untimed,
 *       flushed or undefined when no later mode needs them, all gone at the end). -s names
 *       the server's state directory: for modes that change persistent state, the warm-up
 *       then checks that the directory's bytes change with every sample (the commit happened).
 *       Prints per server and mode: RESULT ep=I cmd=NAME n= median_us= p99_us= ... retries=,
 *       and for a flow one more line per timed step (cmd=NAME_STEP); a flow's sample is the
 *       sum of its timed steps. Without -C: the single commands getrandom ... changeauth;
 *       -C all: every mode (a wrong name lists them).
 *   tpmbench load  [-n COUNT] -e EP ...      COUNT single commands, in turn, untimed
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
#include <openssl/rand.h>

#include "common/secret.h"
#include "tpmcmd.h"
#include "tpmcrypt.h"

extern char **environ;

#define MAX_EPS 512
#define MAX_MODES 32
#define CTRL_CMD_SHUTDOWN 0x00000003 /* swtpm control channel CMD_SHUTDOWN */

#define MAX_PARTS 3   /* timed steps of one flow */

/* The objects and NV indices the modes work on, per server. */
enum res {
    RES_ECC_SRK,    /* ECC P-256 storage primary: parent of sealed objects, salt key */
    RES_ECC_SIGN,   /* ECC P-256 signing primary */
    RES_RSA,        /* RSA-2048 sign + decrypt primary */
    RES_ECC_AK,     /* ECC P-256 restricted signing primary (quotes) */
    RES_AES,        /* AES-128-CFB primary */
    RES_NV_DATA,    /* the 64-byte ordinary index, written once */
    RES_NV_COUNTER, /* the counter index, incremented once */
    RES_COUNT
};

struct live {
    bool up;
    uint32_t handle;
    struct bpub pub;
    EVP_PKEY *pkey;    /* the public key of signing and RSA keys, to check their results */
};

struct ep {
    const char *spec;
    const char *state_dir; /* NULL: no commit check */
    int fd;
    struct bcmd_state st;
    uint64_t *samples[1 + MAX_PARTS]; /* total, then each timed step of a flow */
    struct live res[RES_COUNT];
    uint64_t seq;                         /* samples taken: varies data, nonces, templates */
    unsigned long retries;                /* TPM_RC_RETRY answers resent (see ep_xfer) */
    bool enc_have;                        /* enc_cipher holds the encryption of enc_plain */
    uint8_t nv_last[BCMD_NV_BYTES];       /* what the ordinary index holds */
    uint64_t counter;                     /* what the counter index holds */
    uint8_t rsa_msg[32];                  /* the plaintext of rsa_cipher */
    uint8_t rsa_cipher[BCMD_RSA_BYTES];   /* OAEP ciphertext made with RES_RSA's public key */
    uint8_t enc_plain[BCMD_ENC_BYTES];    /* encdec: the last plaintext encrypted ... */
    uint8_t enc_cipher[BCMD_ENC_BYTES];   /* ... and what the TPM made of it */
};

struct opts {
    unsigned long iters;
    unsigned long block;
    unsigned long warmup;
    unsigned long timeout_ms;
    bool modes[MAX_MODES];
    bool modes_given;
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
        int err = 0;
        if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
            if (ss.ss_family != AF_INET) {
                return fd;
            }
            /* A loopback connect to a port nobody listens on yet can succeed by connecting
             * the socket to itself, when the kernel picks that very port as its source
             * (found in make check: the "response" was our own GetRandom command). */
            struct sockaddr_in self;
            socklen_t selflen = sizeof(self);
            if (getsockname(fd, (struct sockaddr *)&self, &selflen) == 0 &&
                self.sin_port == ((struct sockaddr_in *)&ss)->sin_port) {
                err = ECONNREFUSED;
            } else {
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                return fd;
            }
        } else {
            err = errno;
        }
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

/* ------------------------------------------------------------------------------------------- */
/* One exchange of the keys, sessions, NV and signing modes: build, send, time, check.        */

#define RC_RETRY 0x00000922 /* TPM_RC_RETRY: the TPM asks for the same command again */
#define MAX_RETRIES 8

/*
 * Sends clen bytes of cmd (0: the builder failed) and reads the response; returns the round
 * trip in ns. what names the command for the error sentence. A TPM_RC_RETRY answer is resent
 * as a TSS does (libtpms answers it to the first use of a DA-protected object after start-up,
 * once it has recorded that use in NV); the time includes every try, and ep->retries counts
 * them.
 */
static uint64_t ep_xfer(struct ep *ep, const char *what, const uint8_t *cmd, size_t clen,
                        uint8_t *rsp, size_t *rlen)
{
    const char *why = NULL;
    uint64_t t0;

    if (clen == 0) {
        die("cannot build command %s", what);
    }
    t0 = now_ns();
    for (int tries = 0;; tries++) {
        if (write_full(ep->fd, cmd, clen) != 0) {
            die("%s: sending %s failed: %s", ep->spec, what, strerror(errno));
        }
        if (read_rsp(ep->fd, rsp, rlen, &why) != 0) {
            die("%s: %s: %s", ep->spec, what, why);
        }
        /* a bare header whose responseCode is TPM_RC_RETRY */
        if (*rlen != 10 || rsp[6] != 0 || rsp[7] != 0 || rsp[8] != (RC_RETRY >> 8) ||
            rsp[9] != (RC_RETRY & 0xFF) || tries == MAX_RETRIES) {
            break;
        }
        ep->retries++;
    }
    return now_ns() - t0;
}

/* A parser's verdict: ret 0 goes on, anything else ends the run with its sentence. */
static void ep_ok(const struct ep *ep, int ret, const char *why)
{
    if (ret != 0) {
        die("%s: %s", ep->spec, why);
    }
}

static void ep_flush(struct ep *ep, uint32_t handle)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    size_t rlen = 0;
    char why[200];

    ep_xfer(ep, "FlushContext", cmd, bcmd_flush(cmd, sizeof(cmd), handle), rsp, &rlen);
    ep_ok(ep, bcmd_parse_empty(rsp, rlen, "FlushContext", false, NULL, why, sizeof(why)), why);
}

/* An NV command answered with no parameter (define, undefine, write, increment). */
static uint64_t ep_nv(struct ep *ep, const char *what, const uint8_t *cmd, size_t clen)
{
    uint8_t rsp[BCMD_MAX];
    size_t rlen = 0;
    char why[200];
    uint64_t ns = ep_xfer(ep, what, cmd, clen, rsp, &rlen);

    ep_ok(ep, bcmd_parse_empty(rsp, rlen, what, true, NULL, why, sizeof(why)), why);
    return ns;
}

/* The value of the counter index (8 bytes, big-endian). */
static uint64_t ep_read_counter(struct ep *ep)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    size_t rlen = 0;
    struct bblob out;
    char why[200];
    uint64_t v = 0;

    ep_xfer(ep, "NV_Read", cmd, bcmd_nv_read(cmd, sizeof(cmd), BCMD_NV_COUNTER, 8), rsp, &rlen);
    ep_ok(ep, bcmd_parse_data(rsp, rlen, "NV_Read", &out, NULL, why, sizeof(why)), why);
    if (out.len != 8) {
        die("%s: NV_Read of the counter index returned %u bytes, not 8", ep->spec,
            (unsigned)out.len);
    }
    for (int i = 0; i < 8; i++) {
        v = v << 8 | out.b[i];
    }
    return v;
}

/* Bytes that differ from one sample to the next: b[i] = seq + i * step. */
static void fill_seq(uint8_t *b, size_t n, uint64_t seq, unsigned step)
{
    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(seq + i * step);
    }
}

/* The template of each key resource. */
static const enum bkey res_key[RES_NV_DATA] = {
    [RES_ECC_SRK] = BKEY_ECC_SRK, [RES_ECC_SIGN] = BKEY_ECC_SIGN,
    [RES_RSA] = BKEY_RSA_SIGNDEC, [RES_ECC_AK] = BKEY_ECC_AK, [RES_AES] = BKEY_AES,
};

/* The NV attributes of bench indices: OWNERWRITE | OWNERREAD (Part 2 §13.4), TPM_NT in 7:4. */
#define NV_OWNER_RW 0x00020002u
#define NV_TYPE_COUNTER 0x00000010u

/* Creates resource r on ep (untimed). */
static void res_acquire(struct ep *ep, enum res r)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    uint8_t tmpl[512];
    size_t rlen = 0;
    size_t tlen;
    char why[200];
    struct live *l = &ep->res[r];

    switch (r) {
    case RES_NV_DATA:
        ep_nv(ep, "NV_DefineSpace",
              cmd, bcmd_nv_define(cmd, sizeof(cmd), BCMD_NV_DATA, NV_OWNER_RW, BCMD_NV_BYTES));
        /* written once, so that NV_Read has data to return */
        fill_seq(ep->nv_last, sizeof(ep->nv_last), ep->seq++, 1);
        ep_nv(ep, "NV_Write", cmd, bcmd_nv_write(cmd, sizeof(cmd), BCMD_NV_DATA, ep->nv_last,
                                                 sizeof(ep->nv_last)));
        break;
    case RES_NV_COUNTER:
        ep_nv(ep, "NV_DefineSpace", cmd,
              bcmd_nv_define(cmd, sizeof(cmd), BCMD_NV_COUNTER, NV_OWNER_RW | NV_TYPE_COUNTER,
                             8));
        ep_nv(ep, "NV_Increment", cmd, bcmd_nv_increment(cmd, sizeof(cmd), BCMD_NV_COUNTER));
        ep->counter = ep_read_counter(ep);
        break;
    default:
        tlen = bcmd_template(res_key[r], NULL, 0, tmpl, sizeof(tmpl));
        ep_xfer(ep, "CreatePrimary", cmd, bcmd_create_primary(cmd, sizeof(cmd), tmpl, tlen), rsp,
                &rlen);
        ep_ok(ep, bcmd_parse_create_primary(rsp, rlen, &l->handle, &l->pub, NULL, why,
                                            sizeof(why)), why);
        if (r == RES_ECC_SIGN || r == RES_ECC_AK) {
            l->pkey = bcrypt_ecc_pkey(l->pub.x, l->pub.y);
        } else if (r == RES_RSA) {
            size_t clen = sizeof(ep->rsa_cipher);
            l->pkey = bcrypt_rsa_pkey(l->pub.n, l->pub.nlen);
            fill_seq(ep->rsa_msg, sizeof(ep->rsa_msg), 0x40, 3);
            if (l->pkey && (bcrypt_oaep_encrypt(l->pkey, ep->rsa_msg, sizeof(ep->rsa_msg),
                                                ep->rsa_cipher, &clen) != 0 ||
                            clen != sizeof(ep->rsa_cipher))) {
                die("libcrypto could not encrypt to the RSA key of %s", ep->spec);
            }
        }
        if ((r == RES_ECC_SIGN || r == RES_ECC_AK || r == RES_RSA) && !l->pkey) {
            die("%s: CreatePrimary returned a public key that libcrypto refuses", ep->spec);
        }
        break;
    }
    l->up = true;
}

/* Flushes or undefines resource r on ep (untimed). */
static void res_release(struct ep *ep, enum res r)
{
    uint8_t cmd[BCMD_MAX];
    struct live *l = &ep->res[r];

    if (r == RES_NV_DATA || r == RES_NV_COUNTER) {
        uint32_t index = r == RES_NV_DATA ? BCMD_NV_DATA : BCMD_NV_COUNTER;
        ep_nv(ep, "NV_UndefineSpace", cmd, bcmd_nv_undefine(cmd, sizeof(cmd), index));
    } else {
        ep_flush(ep, l->handle);
    }
    EVP_PKEY_free(l->pkey);
    memset(l, 0, sizeof(*l));
    if (r == RES_AES) {
        ep->enc_have = false;
    }
}

/* Holds exactly the resources in mask: a server keeps few objects loaded (libtpms: 3). */
static void ep_hold(struct ep *ep, unsigned mask)
{
    for (int r = 0; r < RES_COUNT; r++) {
        if (ep->res[r].up && !(mask & (1u << r))) {
            res_release(ep, (enum res)r);
        }
    }
    for (int r = 0; r < RES_COUNT; r++) {
        if (!ep->res[r].up && (mask & (1u << r))) {
            res_acquire(ep, (enum res)r);
        }
    }
}

/* ---- one sample of each mode: ns[k] gets the round trip of timed step k ---- */

/* A unique field never used before: 8 bytes drawn once per process (so that it differs from
 * any earlier run's), then a counter. */
static void fresh_unique(struct ep *ep, uint8_t unique[16])
{
    static uint8_t run_nonce[8];
    static bool have_nonce;

    if (!have_nonce) {
        if (RAND_bytes(run_nonce, sizeof(run_nonce)) != 1) {
            die("libcrypto could not make a random template nonce");
        }
        have_nonce = true;
    }
    memcpy(unique, run_nonce, 8);
    for (int i = 0; i < 8; i++) {
        unique[8 + i] = (uint8_t)(ep->seq >> (56 - 8 * i));
    }
    ep->seq++;
}

/* CreatePrimary of key k with the given unique field, then FlushContext (untimed); returns the
 * CreatePrimary round trip. */
static uint64_t ep_primary(struct ep *ep, enum bkey k, const uint8_t *unique, uint16_t ulen)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    uint8_t tmpl[512];
    size_t rlen = 0;
    size_t tlen = bcmd_template(k, unique, ulen, tmpl, sizeof(tmpl));
    uint32_t h;
    struct bpub pub;
    char why[200];
    uint64_t ns;

    ns = ep_xfer(ep, "CreatePrimary", cmd, bcmd_create_primary(cmd, sizeof(cmd), tmpl, tlen),
                 rsp, &rlen);
    ep_ok(ep, bcmd_parse_create_primary(rsp, rlen, &h, &pub, NULL, why, sizeof(why)), why);
    ep_flush(ep, h);
    return ns;
}

/* The ECC P-256 storage key of tpm2-tools (empty unique), again and again. */
static void one_primary_ecc(struct ep *ep, uint64_t *ns)
{
    ns[0] = ep_primary(ep, BKEY_ECC_SRK, NULL, 0);
}

/*
 * An RSA-2048 template asked for a second time: a new template each sample, first asked for
 * untimed (a server that caches derived keys fills its cache then), and the same again timed.
 * A server without a cache pays the derivation of that template's primes twice; a median over
 * many templates does not depend on how long one seed's prime search happens to be.
 */
static void one_primary_rsa(struct ep *ep, uint64_t *ns)
{
    uint8_t unique[16];

    fresh_unique(ep, unique);
    ep_primary(ep, BKEY_RSA_SRK, unique, sizeof(unique));
    ns[0] = ep_primary(ep, BKEY_RSA_SRK, unique, sizeof(unique));
}

/* An RSA-2048 template never asked for before: no cache can answer it. */
static void one_primary_rsa_new(struct ep *ep, uint64_t *ns)
{
    uint8_t unique[16];

    fresh_unique(ep, unique);
    ns[0] = ep_primary(ep, BKEY_RSA_SRK, unique, sizeof(unique));
}

/* The authValue of the sealed objects. Not a secret. */
static const uint8_t seal_auth[8] = {'s', 'e', 'a', 'l', 'a', 'u', 't', 'h'};

/* Create (a sealed object under the ECC SRK) + Load + Unseal, timed; FlushContext untimed. */
static void one_seal(struct ep *ep, uint64_t *ns)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    uint8_t tmpl[128];
    uint8_t secret[32];
    size_t rlen = 0;
    size_t tlen = bcmd_template(BKEY_SEALED, NULL, 0, tmpl, sizeof(tmpl));
    struct bblob priv;
    struct bblob pub;
    struct bblob out;
    uint32_t srk = ep->res[RES_ECC_SRK].handle;
    uint32_t h;
    char why[200];

    fill_seq(secret, sizeof(secret), ep->seq++, 5);
    ns[0] = ep_xfer(ep, "Create", cmd,
                    bcmd_create(cmd, sizeof(cmd), srk, tmpl, tlen, seal_auth, sizeof(seal_auth),
                                secret, sizeof(secret)), rsp, &rlen);
    ep_ok(ep, bcmd_parse_create(rsp, rlen, &priv, &pub, NULL, why, sizeof(why)), why);
    ns[1] = ep_xfer(ep, "Load", cmd, bcmd_load(cmd, sizeof(cmd), srk, &priv, &pub), rsp, &rlen);
    ep_ok(ep, bcmd_parse_load(rsp, rlen, &h, NULL, why, sizeof(why)), why);
    ns[2] = ep_xfer(ep, "Unseal", cmd,
                    bcmd_unseal(cmd, sizeof(cmd), h, seal_auth, sizeof(seal_auth)), rsp, &rlen);
    ep_ok(ep, bcmd_parse_data(rsp, rlen, "Unseal", &out, NULL, why, sizeof(why)), why);
    if (out.len != sizeof(secret) || memcmp(out.b, secret, sizeof(secret)) != 0) {
        die("%s: Unseal returned other bytes than were sealed", ep->spec);
    }
    ep_flush(ep, h);
}

/*
 * StartAuthSession salted with the ECC SRK, PCR_Extend(16) authorized by that HMAC session
 * (command HMAC made, response HMAC checked), FlushContext of the session: all three timed.
 * The client's own ECDH, KDFs and HMACs happen between the timed exchanges.
 */
static void one_salted(struct ep *ep, uint64_t *ns)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    uint8_t salt[32];
    uint8_t ex[32];
    uint8_t ey[32];
    uint8_t digest[32];
    size_t rlen = 0;
    struct bsess s;
    const struct bpub *srk = &ep->res[RES_ECC_SRK].pub;
    char why[200];

    memset(&s, 0, sizeof(s));
    if (bcrypt_ecc_salt(srk->x, srk->y, NULL, salt, ex, ey) != 0 ||
        RAND_bytes(s.nonce_caller, sizeof(s.nonce_caller)) != 1) {
        die("libcrypto could not make the salt of a session for %s", ep->spec);
    }
    ns[0] = ep_xfer(ep, "StartAuthSession", cmd,
                    bcmd_start_auth_session(cmd, sizeof(cmd), ep->res[RES_ECC_SRK].handle,
                                            s.nonce_caller, ex, ey), rsp, &rlen);
    ep_ok(ep, bcmd_parse_start_auth_session(rsp, rlen, &s.handle, s.nonce_tpm, NULL, why,
                                            sizeof(why)), why);
    /* a new nonceCaller for the command, as a caller rolls it (Part 1 §19.6.2) */
    if (bcmd_session_key(&s, salt) != 0 || RAND_bytes(s.nonce_caller, BCMD_NONCE) != 1) {
        die("libcrypto could not derive the session key for %s", ep->spec);
    }
    fill_seq(digest, sizeof(digest), ep->seq++, 11);
    ns[1] = ep_xfer(ep, "PCR_Extend", cmd,
                    bcmd_pcr_extend_hmac(cmd, sizeof(cmd), &s, 16, digest), rsp, &rlen);
    ep_ok(ep, bcmd_parse_pcr_extend_hmac(rsp, rlen, &s, NULL, why, sizeof(why)), why);
    ns[2] = ep_xfer(ep, "FlushContext", cmd, bcmd_flush(cmd, sizeof(cmd), s.handle), rsp, &rlen);
    ep_ok(ep, bcmd_parse_empty(rsp, rlen, "FlushContext", false, NULL, why, sizeof(why)), why);
    secret_wipe(salt, sizeof(salt));
    WIPE(&s);
}

static void one_nvwrite(struct ep *ep, uint64_t *ns)
{
    uint8_t cmd[BCMD_MAX];

    /* every byte differs from the previous write */
    fill_seq(ep->nv_last, sizeof(ep->nv_last), ep->seq++, 1);
    ns[0] = ep_nv(ep, "NV_Write", cmd, bcmd_nv_write(cmd, sizeof(cmd), BCMD_NV_DATA, ep->nv_last,
                                                     sizeof(ep->nv_last)));
}

static void one_nvread(struct ep *ep, uint64_t *ns)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    size_t rlen = 0;
    struct bblob out;
    char why[200];

    ns[0] = ep_xfer(ep, "NV_Read", cmd,
                    bcmd_nv_read(cmd, sizeof(cmd), BCMD_NV_DATA, BCMD_NV_BYTES), rsp, &rlen);
    ep_ok(ep, bcmd_parse_data(rsp, rlen, "NV_Read", &out, NULL, why, sizeof(why)), why);
    if (out.len != BCMD_NV_BYTES || memcmp(out.b, ep->nv_last, BCMD_NV_BYTES) != 0) {
        die("%s: NV_Read returned other bytes than the last NV_Write wrote", ep->spec);
    }
}

static void one_nvincrement(struct ep *ep, uint64_t *ns)
{
    uint8_t cmd[BCMD_MAX];

    ns[0] = ep_nv(ep, "NV_Increment", cmd,
                  bcmd_nv_increment(cmd, sizeof(cmd), BCMD_NV_COUNTER));
    ep->counter++;
}

/* After the increments: the counter went up by exactly their number. */
static void end_nvincrement(struct ep *ep)
{
    uint64_t v = ep_read_counter(ep);

    if (v != ep->counter) {
        die("%s: the counter index holds %llu after the increments, not %llu", ep->spec,
            (unsigned long long)v, (unsigned long long)ep->counter);
    }
}

/* Sign of a digest that changes every sample, verified with the key's public part. */
static void one_sign(struct ep *ep, enum res r, uint16_t scheme, uint64_t *ns)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    uint8_t digest[32];
    size_t rlen = 0;
    struct bsig sig;
    struct live *l = &ep->res[r];
    char why[200];
    int bad;

    fill_seq(digest, sizeof(digest), ep->seq++, 7);
    ns[0] = ep_xfer(ep, "Sign", cmd, bcmd_sign(cmd, sizeof(cmd), l->handle, scheme, digest), rsp,
                    &rlen);
    ep_ok(ep, bcmd_parse_sign(rsp, rlen, scheme, &sig, NULL, why, sizeof(why)), why);
    if (scheme == BCMD_ALG_ECDSA) {
        bad = bcrypt_verify_ecdsa(l->pkey, digest, sig.r, sig.rlen, sig.s, sig.slen);
    } else {
        bad = bcrypt_verify_rsassa(l->pkey, digest, sig.r, sig.rlen);
    }
    if (bad) {
        die("%s: the signature Sign returned does not verify with the key's public part",
            ep->spec);
    }
}

static void one_sign_ecc(struct ep *ep, uint64_t *ns)
{
    one_sign(ep, RES_ECC_SIGN, BCMD_ALG_ECDSA, ns);
}

static void one_sign_rsa(struct ep *ep, uint64_t *ns)
{
    one_sign(ep, RES_RSA, BCMD_ALG_RSASSA, ns);
}

static void one_rsa_decrypt(struct ep *ep, uint64_t *ns)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    size_t rlen = 0;
    struct bblob out;
    char why[200];

    ns[0] = ep_xfer(ep, "RSA_Decrypt", cmd,
                    bcmd_rsa_decrypt(cmd, sizeof(cmd), ep->res[RES_RSA].handle, ep->rsa_cipher,
                                     sizeof(ep->rsa_cipher)), rsp, &rlen);
    ep_ok(ep, bcmd_parse_data(rsp, rlen, "RSA_Decrypt", &out, NULL, why, sizeof(why)), why);
    if (out.len != sizeof(ep->rsa_msg) || memcmp(out.b, ep->rsa_msg, sizeof(ep->rsa_msg)) != 0) {
        die("%s: RSA_Decrypt returned other bytes than were encrypted", ep->spec);
    }
}

static void one_quote(struct ep *ep, uint64_t *ns)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    uint8_t qual[16];
    uint8_t digest[32];
    size_t rlen = 0;
    struct bblob attest;
    struct bsig sig;
    struct live *l = &ep->res[RES_ECC_AK];
    char why[200];

    fill_seq(qual, sizeof(qual), ep->seq++, 13);
    ns[0] = ep_xfer(ep, "Quote", cmd, bcmd_quote(cmd, sizeof(cmd), l->handle, qual, sizeof(qual)),
                    rsp, &rlen);
    ep_ok(ep, bcmd_parse_quote(rsp, rlen, qual, sizeof(qual), &attest, &sig, NULL, why,
                               sizeof(why)), why);
    {
        struct bcrypt_part part = {attest.b, attest.len};
        if (bcrypt_sha256(&part, 1, digest) != 0 ||
            bcrypt_verify_ecdsa(l->pkey, digest, sig.r, sig.rlen, sig.s, sig.slen) != 0) {
            die("%s: the quote's signature does not verify with the AK's public part",
                ep->spec);
        }
    }
}

/* EncryptDecrypt2 of 1 KiB, alternately encrypting new data and decrypting what came back. */
static void one_encdec(struct ep *ep, uint64_t *ns)
{
    static const uint8_t iv[16] = {0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
                                   0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0};
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    uint8_t out[BCMD_ENC_BYTES];
    size_t rlen = 0;
    bool decrypt = ep->enc_have;
    uint32_t key = ep->res[RES_AES].handle;
    char why[200];

    if (!decrypt) {
        fill_seq(ep->enc_plain, sizeof(ep->enc_plain), ep->seq, 17);
    }
    ep->seq++;
    ep->enc_have = !ep->enc_have;
    ns[0] = ep_xfer(ep, "EncryptDecrypt2", cmd,
                    bcmd_encrypt_decrypt2(cmd, sizeof(cmd), key, decrypt, iv,
                                          decrypt ? ep->enc_cipher : ep->enc_plain,
                                          BCMD_ENC_BYTES), rsp, &rlen);
    ep_ok(ep, bcmd_parse_encrypt_decrypt2(rsp, rlen, out, sizeof(out), NULL, why, sizeof(why)),
          why);
    if (decrypt) {
        if (memcmp(out, ep->enc_plain, sizeof(out)) != 0) {
            die("%s: EncryptDecrypt2 did not decrypt its own ciphertext back", ep->spec);
        }
    } else {
        if (memcmp(out, ep->enc_plain, sizeof(out)) == 0) {
            die("%s: EncryptDecrypt2 returned the plaintext as its ciphertext", ep->spec);
        }
        memcpy(ep->enc_cipher, out, sizeof(out));
    }
}

/* ---- the modes ---- */

#define RB(r) (1u << (r))

struct mode {
    const char *name;
    int bcmd;            /* a command of tpmcmd.h's enum bcmd (sample = that command), or -1 */
    unsigned need;       /* RB() of the resources the mode works on */
    bool commits;        /* every sample changes the TPM's persistent state */
    const char *parts[MAX_PARTS]; /* names of a flow's timed steps (NULL: one step) */
    void (*one)(struct ep *ep, uint64_t *ns);
    void (*end)(struct ep *ep);   /* after the mode's last sample, or NULL */
};

/* In the order tpmbench runs them: modes on the same resources stay adjacent. */
static const struct mode modes[] = {
    {"getrandom", BCMD_GETRANDOM, 0, false, {NULL}, NULL, NULL},
    {"pcrextend", BCMD_PCR_EXTEND, 0, false, {NULL}, NULL, NULL},
    {"pcrread", BCMD_PCR_READ, 0, false, {NULL}, NULL, NULL},
    {"hash", BCMD_HASH, 0, false, {NULL}, NULL, NULL},
    {"getcap", BCMD_GETCAP, 0, false, {NULL}, NULL, NULL},
    {"readclock", BCMD_READCLOCK, 0, false, {NULL}, NULL, NULL},
    {"daparams", BCMD_DA_PARAMS, 0, true, {NULL}, NULL, NULL},
    {"changeauth", BCMD_CHANGE_AUTH, 0, true, {NULL}, NULL, NULL},
    {"nvwrite", -1, RB(RES_NV_DATA), true, {NULL}, one_nvwrite, NULL},
    {"nvread", -1, RB(RES_NV_DATA), false, {NULL}, one_nvread, NULL},
    {"nvincrement", -1, RB(RES_NV_COUNTER), true, {NULL}, one_nvincrement, end_nvincrement},
    {"primary_ecc", -1, 0, false, {NULL}, one_primary_ecc, NULL},
    {"primary_rsa", -1, 0, false, {NULL}, one_primary_rsa, NULL},
    {"primary_rsa_new", -1, 0, false, {NULL}, one_primary_rsa_new, NULL},
    {"seal", -1, RB(RES_ECC_SRK), false, {"create", "load", "unseal"}, one_seal, NULL},
    {"salted", -1, RB(RES_ECC_SRK), false, {"start", "hmac", "flush"}, one_salted, NULL},
    {"sign_ecc", -1, RB(RES_ECC_SIGN), false, {NULL}, one_sign_ecc, NULL},
    {"sign_rsa", -1, RB(RES_RSA), false, {NULL}, one_sign_rsa, NULL},
    {"rsa_decrypt", -1, RB(RES_RSA), false, {NULL}, one_rsa_decrypt, NULL},
    {"quote", -1, RB(RES_ECC_AK), false, {NULL}, one_quote, NULL},
    {"encdec", -1, RB(RES_AES), false, {NULL}, one_encdec, NULL},
};

#define MODE_COUNT (sizeof(modes) / sizeof(modes[0]))
_Static_assert(MODE_COUNT <= MAX_MODES, "raise MAX_MODES");

static size_t mode_parts(const struct mode *m)
{
    size_t n = 0;
    while (n < MAX_PARTS && m->parts[n]) {
        n++;
    }
    return n;
}

/* One sample of mode m on ep: the total round trip in *ns, each timed step in parts[]. */
static void ep_sample(struct ep *ep, const struct mode *m, uint64_t *ns, uint64_t *parts)
{
    uint64_t step[MAX_PARTS] = {0};

    if (m->bcmd >= 0) {
        ep_run(ep, (enum bcmd)m->bcmd, &step[0]);
    } else {
        m->one(ep, step);
    }
    *ns = 0;
    for (size_t k = 0; k < MAX_PARTS; k++) {
        *ns += step[k];
        if (parts) {
            parts[k] = step[k];
        }
    }
}

/* Warm-up of mode m on ep; for state-changing modes, checks that each sample committed. */
static void ep_warmup(struct ep *ep, const struct mode *m, unsigned long count)
{
    bool check = ep->state_dir != NULL && m->commits;
    uint8_t before[32];
    uint8_t after[32];
    uint64_t ns;

    for (unsigned long i = 0; i < count; i++) {
        if (check && dir_digest(ep->state_dir, before) != 0) {
            exit(1);
        }
        ep_sample(ep, m, &ns, NULL);
        if (check) {
            if (dir_digest(ep->state_dir, after) != 0) {
                exit(1);
            }
            if (memcmp(before, after, sizeof(before)) == 0) {
                die("%s: %s changed the TPM's persistent state but nothing in %s changed "
                    "before the response arrived: the server did not commit it",
                    ep->spec, m->name, ep->state_dir);
            }
        }
    }
}

/*
 * Starts DictionaryAttackParameters' alternation from the maxTries the TPM does not hold now, so
 * that the first one changes the persistent state too (an earlier run may have left either).
 */
static void ep_da_start(struct ep *ep)
{
    uint8_t cmd[BCMD_MAX];
    uint8_t rsp[BCMD_MAX];
    size_t rlen = 0;
    uint32_t now = 0;
    char why[200];

    ep_xfer(ep, "GetCapability", cmd, bcmd_get_property(cmd, sizeof(cmd), BCMD_PT_MAX_AUTH_FAIL),
            rsp, &rlen);
    ep_ok(ep, bcmd_parse_property(rsp, rlen, BCMD_PT_MAX_AUTH_FAIL, &now, NULL, why,
                                  sizeof(why)), why);
    if (bcmd_da_max_tries(&ep->st) == now) {
        bcmd_done(BCMD_DA_PARAMS, &ep->st);
    }
}

/* Leaves the server's owner authValue empty, as the run found it and the NV modes need it. */
static void ep_restore_auth(struct ep *ep)
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

/* One RESULT line; retries: TPM_RC_RETRY answers resent during the timed samples. */
static void report(size_t i, const char *name, const char *part, uint64_t *s, size_t n,
                   unsigned long retries)
{
    double sum = 0;
    double median;

    qsort(s, n, sizeof(*s), cmp_u64);
    for (size_t k = 0; k < n; k++) {
        sum += (double)s[k];
    }
    median = n % 2 ? (double)s[n / 2] : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2;
    printf("RESULT ep=%zu cmd=%s%s%s n=%zu median_us=%.2f p99_us=%.2f mean_us=%.2f "
           "min_us=%.2f max_us=%.2f retries=%lu\n", i, name, part ? "_" : "", part ? part : "",
           n, median / 1e3, (double)pct_rank(s, n, 99) / 1e3, sum / (double)n / 1e3,
           (double)s[0] / 1e3, (double)s[n - 1] / 1e3, retries);
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

/* The samples of mode m, in blocks alternating between the servers. */
static void lat_mode(struct opts *o, const struct mode *m)
{
    size_t np = mode_parts(m);

    unsigned long retries[MAX_EPS];

    for (size_t i = 0; i < o->neps; i++) {
        ep_hold(&o->eps[i], m->need);
        ep_warmup(&o->eps[i], m, o->warmup);
        retries[i] = o->eps[i].retries;
    }
    for (unsigned long done = 0; done < o->iters;) {
        unsigned long b = o->iters - done < o->block ? o->iters - done : o->block;
        for (size_t i = 0; i < o->neps; i++) {
            struct ep *ep = &o->eps[i];
            for (unsigned long k = 0; k < b; k++) {
                uint64_t parts[MAX_PARTS];
                ep_sample(ep, m, &ep->samples[0][done + k], parts);
                for (size_t p = 0; p < np; p++) {
                    ep->samples[1 + p][done + k] = parts[p];
                }
            }
        }
        done += b;
    }
    for (size_t i = 0; i < o->neps; i++) {
        struct ep *ep = &o->eps[i];
        if (m->end) {
            m->end(ep);
        }
        retries[i] = ep->retries - retries[i];
        ep_restore_auth(ep);
        report(i, m->name, NULL, ep->samples[0], o->iters, retries[i]);
        for (size_t p = 0; p < np; p++) {
            report(i, m->name, m->parts[p], ep->samples[1 + p], o->iters, retries[i]);
        }
    }
    fflush(stdout);
}

static int cmd_lat(struct opts *o)
{
    connect_all(o, 0);
    for (size_t i = 0; i < o->neps; i++) {
        ep_da_start(&o->eps[i]);
        for (size_t p = 0; p < 1 + MAX_PARTS; p++) {
            o->eps[i].samples[p] = calloc(o->iters, sizeof(uint64_t));
            if (!o->eps[i].samples[p]) {
                die("out of memory for %lu samples", o->iters);
            }
        }
    }
    for (size_t m = 0; m < MODE_COUNT; m++) {
        if (o->modes[m]) {
            lat_mode(o, &modes[m]);
        }
    }
    for (size_t i = 0; i < o->neps; i++) {
        ep_hold(&o->eps[i], 0);
        ep_restore_auth(&o->eps[i]);
        close(o->eps[i].fd);
        for (size_t p = 0; p < 1 + MAX_PARTS; p++) {
            free(o->eps[i].samples[p]);
        }
    }
    return 0;
}

static int cmd_load(struct opts *o)
{
    connect_all(o, 0);
    for (size_t i = 0; i < o->neps; i++) {
        ep_da_start(&o->eps[i]);
        for (unsigned long k = 0; k < o->iters; k++) {
            ep_run(&o->eps[i], (enum bcmd)(k % BCMD_COUNT), NULL);
        }
        ep_restore_auth(&o->eps[i]);
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

static void parse_modes(struct opts *o, const char *list)
{
    char buf[512];
    char *save = NULL;

    if (strlen(list) >= sizeof(buf)) {
        die("-C: the mode list is too long");
    }
    memcpy(buf, list, strlen(list) + 1);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t m = 0;
        if (strcmp(t, "all") == 0) {
            for (m = 0; m < MODE_COUNT; m++) {
                o->modes[m] = true;
            }
            continue;
        }
        while (m < MODE_COUNT && strcmp(t, modes[m].name) != 0) {
            m++;
        }
        if (m == MODE_COUNT) {
            fprintf(stderr, "tpmbench: -C: unknown mode '%s'; known:", t);
            for (m = 0; m < MODE_COUNT; m++) {
                fprintf(stderr, " %s", modes[m].name);
            }
            die(" (or all)");
        }
        o->modes[m] = true;
    }
    o->modes_given = true;
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
            parse_modes(o, v);
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
    if (!o.modes_given) {
        /* the single commands of the first benchmark; -C all adds keys, NV and signing */
        for (size_t m = 0; m < MODE_COUNT; m++) {
            o.modes[m] = modes[m].bcmd >= 0;
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

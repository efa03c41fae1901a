/*
 * vtpmd: a TPM 2.0 for one virtual machine, a drop-in for `swtpm socket --tpm2`.
 *
 * Start-up, in order: parse the command line (opts.c); answer --help, --version,
 * --print-capabilities, --print-states; read the keys (keys.c); open the sockets; switch
 * user (--runas); lock the state folder and open the vTPM file, or manufacture a new vTPM
 * and create it (vfile.c, dev.c); learn what the engine supports (info.c); start the TPM
 * when --flags asks; detach (--daemon); write the pid file; drop privileges for good
 * (sandbox.c); serve (loop.c). Errors at start-up are one sentence and exit code 1; the
 * vTPM file is never modified by a failed start.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/secret.h"
#include "ctrl.h"
#include "dev.h"
#include "info.h"
#include "keys.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "opts.h"
#include "sandbox.h"
#include "vfile.h"

#ifndef VTPMD_VERSION
#define VTPMD_VERSION "unknown"
#endif

/* Everything main() owns, released in one place. */
struct vtpmd {
    struct vtpmd_opts opts;
    struct vfile file;
    uint8_t key[KEY_LEN]; /* --key (all zero without it); wiped once the file is open */
    struct dev dev;
    bool dev_open;
    struct info info;
    struct loop loop;
    char *unlink_paths[2]; /* unix sockets vtpmd created, removed at exit as swtpm does */
    char *pid_path;        /* removed at exit as swtpm does */
    int ready_fd;          /* --daemon: tells the waiting parent that start-up succeeded */
};

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_startup_error("%s", msg);
    return 1;
}

/* An absolute copy of path, so that it still names the same file after chdir("/"). */
static char *abs_path(const char *path)
{
    char cwd[PATH_MAX];
    char *out;
    if (path[0] == '/') {
        return strdup(path);
    }
    if (!getcwd(cwd, sizeof(cwd))) {
        return NULL;
    }
    out = malloc(strlen(cwd) + strlen(path) + 2);
    if (out) {
        sprintf(out, "%s/%s", cwd, path);
    }
    return out;
}

/* Set up one channel: a listener, a handed-over listener, or a connected client. */
static int setup_channel(struct vtpmd *v, const struct chan_opts *c, bool ctrl)
{
    const char *name = ctrl ? "--ctrl" : "--server";
    char err[256];
    int fd = c->fd >= 0 ? c->fd : c->clientfd;

    if (c->type == CHAN_NONE) {
        return 0;
    }
    if (fd >= 0) {
        int kind = net_check_fd(fd, err, sizeof(err));
        if (kind < 0) {
            return die("%s: %s", name, err);
        }
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (c->clientfd >= 0 && kind == 1) {
            return die("%s: clientfd=%d is a listening socket, not a connection", name, fd);
        }
        if (kind == 1) {
            *(ctrl ? &v->loop.ctrl_listen : &v->loop.data_listen) = fd;
        } else if (ctrl) {
            loop_give_ctrl(&v->loop, fd);
        } else {
            /* A connected data socket from the parent: its end ends vtpmd (swtpm fd=). */
            loop_give_data(&v->loop, fd);
            v->loop.terminate = true;
        }
        return 0;
    }
    fd = net_listen(c, err, sizeof(err));
    if (fd < 0) {
        return die("%s: %s", name, err);
    }
    *(ctrl ? &v->loop.ctrl_listen : &v->loop.data_listen) = fd;
    if (c->type == CHAN_UNIX) {
        v->unlink_paths[ctrl ? 0 : 1] = abs_path(c->path);
    }
    log_msg(LOG_CONN, "%s: listening", name);
    return 0;
}

static int runas(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        return die("--runas: user '%s' does not exist", user);
    }
    if (geteuid() != 0) {
        return die("--runas: only root can switch to another user");
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        return die("--runas: cannot switch to user '%s': %s", user, strerror(errno));
    }
    return 0;
}

static int write_pid(struct vtpmd *v)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "%ld", (long)getpid());
    int fd = v->opts.pid_fd;

    if (v->opts.pid_file) {
        fd = open(v->opts.pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
            return die("--pid: cannot write '%s': %s", v->opts.pid_file, strerror(errno));
        }
        v->pid_path = abs_path(v->opts.pid_file);
    } else if (fd < 0) {
        return 0;
    }
    if (write(fd, line, (size_t)n) != n) {
        int e = errno;
        close(fd);
        return die("--pid: cannot write the process id: %s", strerror(e));
    }
    close(fd);
    return 0;
}

/*
 * --daemon: the parent waits until the child has finished start-up, and exits 0 only then,
 * so that whoever started vtpmd knows its sockets serve (or sees exit code 1).
 */
static int daemonize(struct vtpmd *v)
{
    int pipefd[2];
    pid_t pid;
    char ok;
    int devnull;

    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        return die("--daemon: %s", strerror(errno));
    }
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return die("--daemon: cannot fork: %s", strerror(e));
    }
    if (pid > 0) {
        close(pipefd[1]);
        ssize_t r = read(pipefd[0], &ok, 1);
        _exit(r == 1 ? 0 : 1);
    }
    close(pipefd[0]);
    v->ready_fd = pipefd[1];
    if (setsid() < 0 || chdir("/") != 0) {
        return die("--daemon: cannot detach: %s", strerror(errno));
    }
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        (void)dup2(devnull, STDIN_FILENO);
        (void)dup2(devnull, STDOUT_FILENO);
        (void)dup2(devnull, STDERR_FILENO);
        if (devnull > STDERR_FILENO) {
            close(devnull);
        }
    }
    log_detach_stderr();
    return 0;
}

static void signal_ready(struct vtpmd *v)
{
    if (v->ready_fd >= 0) {
        char ok = 1;
        if (write(v->ready_fd, &ok, 1) != 1) {
            log_msg(LOG_ERR, "--daemon: the parent could not be told that start-up finished");
        }
        close(v->ready_fd);
        v->ready_fd = -1;
    }
}

static int print_capabilities(void)
{
    struct info info;
    char out[1024];
    size_t n;
    if (info_probe(&info) != 0) {
        return die("--print-capabilities: the TPM engine did not start");
    }
    n = info_capabilities_json(&info, out, sizeof(out));
    if (n == 0 || fwrite(out, 1, n, stdout) != n) {
        return 1;
    }
    return 0;
}

static int print_states(const char *dir)
{
    char out[512];
    size_t n = info_states_json(dir, out, sizeof(out));
    if (n == 0) {
        return die("--print-states: cannot read the state directory '%s': %s", dir,
                   strerror(errno));
    }
    return fwrite(out, 1, n, stdout) == n ? 0 : 1;
}

/*
 * --key and --migration-key: read them before anything else is set up. Without --key the
 * file is sealed under an all-zero key: it is then authenticated and bound to its VM id, but
 * anyone can read it (docs/vtpmd.md "Keys"). The migration key is kept only as the layer key
 * of the state blobs (blob.h); the data key only until the vTPM file is open.
 */
static int vtpmd_keys(struct vtpmd *v)
{
    struct vtpmd_opts *o = &v->opts;
    uint8_t mig[KEY_LEN];
    char err[512];
    int rc = 0;

    if (o->key.source != KEY_NONE) {
        if (key_load(&o->key, "--key", v->key, err, sizeof(err)) != 0) {
            return die("%s", err);
        }
        if (blob_key_set(&v->dev.keys, BLOB_STATE, v->key) != 0) {
            return die("--key: the state-blob key could not be derived");
        }
    }
    if (o->mig_key.source != KEY_NONE) {
        rc = key_load(&o->mig_key, "--migration-key", mig, err, sizeof(err));
        if (rc == 0 && blob_key_set(&v->dev.keys, BLOB_MIGRATION, mig) != 0) {
            snprintf(err, sizeof(err), "--migration-key: the state-blob key could not be derived");
            rc = -1;
        }
        secret_wipe(mig, sizeof(mig));
        if (rc != 0) {
            return die("%s", err);
        }
    }
    return 0;
}

/*
 * Open the vTPM file, or manufacture a new vTPM and create its file when there is none (as
 * swtpm does on an empty state folder). A file that does not open is never touched.
 */
static int vtpmd_open_state(struct vtpmd *v, const char *vm_id)
{
    struct store_blob perm = {0};
    struct tpm_buf fresh = {0};
    char err[STORE_ERR_LEN + 64];
    int rc = vfile_load(&v->file, v->key, vm_id, &perm, err, sizeof(err));

    if (rc == 0) {
        if (v->file.note[0] != '\0') {
            log_msg(LOG_ERR, "%s", v->file.note);
        }
        rc = dev_load(&v->dev, perm.data, perm.len);
        store_blob_free(&perm);
        if (rc != 0) {
            return die("refusing vTPM file %s: its state is not one this vtpmd's engine reads; "
                       "it was left untouched",
                       v->file.path);
        }
    } else if (rc == -ENOENT) {
        rc = dev_save(&v->dev, &fresh);
        if (rc == 0) {
            rc = vfile_create(&v->file, v->key, vm_id, fresh.data, fresh.len, err, sizeof(err));
        } else {
            snprintf(err, sizeof(err), "a new vTPM's state could not be serialized");
        }
        tpm_buf_free(&fresh);
        if (rc != 0) {
            return die("%s", err);
        }
        log_msg(LOG_ERR, "a new vTPM was manufactured in %s", v->file.path);
    } else if (rc == STORE_E_WRONG_KEY && v->opts.key.source == KEY_NONE) {
        return die("%s (no --key was given); it was left untouched", err);
    } else {
        return die("%s; it was left untouched", err);
    }
    dev_attach(&v->dev, v->file.store);
    if (v->opts.key.source == KEY_NONE) {
        log_msg(LOG_ERR, "state file not encrypted: no --key given");
    }
    return 0;
}

/* The parts of start-up after the command line is understood. */
static int vtpmd_start(struct vtpmd *v)
{
    struct vtpmd_opts *o = &v->opts;
    const char *state_dir = o->state_dir ? o->state_dir : getenv("TPM_PATH");
    const char *env_port = getenv("TPM_PORT");
    const char *vm_id = o->vmid ? o->vmid : OPTS_DEFAULT_VMID;
    char err[STORE_ERR_LEN + 64];
    int rc;

    /* Without a data channel option, TPM_PORT serves as -p does (swtpm(8)). */
    if (o->server.type == CHAN_NONE && env_port && *env_port) {
        char *end;
        unsigned long port = strtoul(env_port, &end, 10);
        if (*end != '\0' || port == 0 || port > 65535) {
            return die("TPM_PORT: '%s' is not a TCP port (1 to 65535)", env_port);
        }
        o->server.type = CHAN_TCP;
        o->server.port = (uint16_t)port;
        o->server.disconnect = true;
    }
    if (!state_dir || !*state_dir) {
        return die("--tpmstate: required (or TPM_PATH in the environment)");
    }
    if (o->ctrl.type == CHAN_NONE && o->server.type == CHAN_NONE) {
        return die("no channel to serve: give --ctrl and/or --server");
    }

    /* A newly manufactured engine: replaced by the file's state if there is one. */
    rc = dev_open(&v->dev, NULL);
    if (rc != 0) {
        return die("the TPM engine could not be created: %s", strerror(-rc));
    }
    v->dev_open = true;
    v->dev.vm_id = vm_id;
    if (vtpmd_keys(v) != 0) {
        return 1;
    }
    loop_init(&v->loop, &v->dev, &v->info);
    v->loop.data_configured = o->server.type != CHAN_NONE;
    v->loop.terminate = o->terminate;
    v->loop.disconnect = o->server.disconnect;
    v->loop.data_opts.allow_set_locality = o->allow_set_locality;
    if (setup_channel(v, &o->ctrl, true) != 0 || setup_channel(v, &o->server, false) != 0) {
        return 1;
    }
    if (o->runas && runas(o->runas) != 0) {
        return 1;
    }

    if (vfile_lock(&v->file, state_dir, err, sizeof(err)) != 0) {
        return die("%s", err);
    }
    rc = vtpmd_open_state(v, vm_id);
    secret_wipe(v->key, sizeof(v->key));
    if (rc != 0) {
        return 1;
    }
    v->dev.reject_locality_4 = o->reject_locality_4;
    if (info_probe(&v->info) != 0) {
        return die("the TPM engine did not start");
    }

    if (o->not_need_init && dev_init(&v->dev, false) != PTM_SUCCESS) {
        return die("--flags not-need-init: the TPM could not be started");
    }
    if (o->startup == STARTUP_CLEAR || o->startup == STARTUP_STATE) {
        uint32_t trc = dev_startup(&v->dev, o->startup == STARTUP_CLEAR ? 0 : 1);
        if (trc != DEV_TPM_RC_SUCCESS) {
            log_msg(LOG_ERR, "--flags startup-%s: TPM2_Startup answered 0x%x",
                    o->startup == STARTUP_CLEAR ? "clear" : "state", trc);
        }
    }

    if (o->daemon && daemonize(v) != 0) {
        return 1;
    }
    if (write_pid(v) != 0) {
        return 1;
    }
    if (loop_signals() != 0) {
        return die("cannot install the signal handlers: %s", strerror(errno));
    }
    malloc_trim(0); /* give back what start-up freed: 56 KiB of heap less per instance */
    if (sandbox_apply(o->seccomp, err, sizeof(err)) != 0) {
        return die("--seccomp: %s", err);
    }
    log_msg(LOG_ERR, "vtpmd %s serving the TPM in '%s'", VTPMD_VERSION, state_dir);
    signal_ready(v);
    return 0;
}

static void vtpmd_cleanup(struct vtpmd *v)
{
    loop_close(&v->loop);
    if (v->dev_open) {
        dev_close(&v->dev);
    }
    vfile_close(&v->file);
    secret_wipe(v->key, sizeof(v->key));
    for (size_t i = 0; i < 2; i++) {
        if (v->unlink_paths[i]) {
            (void)unlink(v->unlink_paths[i]);
            free(v->unlink_paths[i]);
        }
    }
    if (v->pid_path) {
        (void)unlink(v->pid_path);
        free(v->pid_path);
    }
    opts_free(&v->opts);
    log_close();
}

int main(int argc, char **argv)
{
    static struct vtpmd v; /* large buffers: not on the stack */
    char err[256];
    int code;

    v.ready_fd = -1;
    v.file.lockfd = -1;
    loop_init(&v.loop, NULL, NULL);
    if (opts_parse(argc, argv, &v.opts, err, sizeof(err)) != 0) {
        fprintf(stderr, "vtpmd: %s\n", err);
        opts_free(&v.opts);
        return 1;
    }
    if (v.opts.help) {
        fputs(opts_usage, stdout);
        opts_free(&v.opts);
        return 0;
    }
    if (v.opts.version) {
        printf("vtpmd %s (TPM 2.0, swtpm-compatible socket interface)\n", VTPMD_VERSION);
        opts_free(&v.opts);
        return 0;
    }
    if (v.opts.has_log) {
        int rc = log_open(v.opts.log_file, v.opts.log_fd, v.opts.log_level, v.opts.log_prefix,
                          v.opts.log_truncate);
        if (rc != 0) {
            fprintf(stderr, "vtpmd: --log: cannot open '%s': %s\n",
                    v.opts.log_file ? v.opts.log_file : "", strerror(-rc));
            opts_free(&v.opts);
            return 1;
        }
    }
    if (v.opts.print_capabilities) {
        code = print_capabilities();
    } else if (v.opts.print_states) {
        const char *dir = v.opts.state_dir ? v.opts.state_dir : getenv("TPM_PATH");
        code = dir ? print_states(dir) : die("--print-states: --tpmstate is required");
    } else {
        code = vtpmd_start(&v);
        if (code == 0) {
            code = loop_run(&v.loop);
            log_msg(LOG_ERR, "vtpmd exiting");
        }
    }
    vtpmd_cleanup(&v);
    return code;
}

/* vtpmd's seccomp allowlist and no-new-privileges (see sandbox.h). */
#include "sandbox.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

/*
 * Everything vtpmd does once it serves: the poll loop and its sockets, the vTPM file (the
 * store's calls, docs/STATE-FORMAT.md "Other rules": in-place pwrite + fdatasync, whole-file
 * writes through a temporary file, flock, the folder scan for stale temporary files), the
 * log, memory, time and randomness for the engine, and leaving. Names absent on this
 * architecture are skipped.
 */
/* clang-format off */
static const char *const sandbox_allow[] = {
    /* event loop and channels */
    "ppoll", "poll", "read", "readv", "write", "writev", "recvmsg", "recvfrom", "sendmsg",
    "sendto", "accept", "accept4", "getsockopt", "shutdown", "close", "fcntl",
    /* the vTPM file and the log */
    "openat", "open", "fstat", "newfstatat", "statx", "lseek", "fsync", "fdatasync", "fchmod",
    "rename", "renameat", "renameat2", "unlink", "unlinkat", "linkat", "flock", "pread64",
    "pwrite64", "getdents64", "dup",
    /* memory */
    "brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
    /* time, randomness, threads-library internals */
    "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
    "getrandom", "futex", "sched_yield", "getpid", "gettid",
    /* signals and exit */
    "rt_sigreturn", "rt_sigprocmask", "restart_syscall", "exit", "exit_group",
};
/* clang-format on */

int sandbox_apply(enum seccomp_action action, char *err, size_t errlen)
{
    scmp_filter_ctx ctx = NULL;
    uint32_t deny;
    int rc;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot set no-new-privileges: %s", strerror(errno));
        return -1;
    }
    if (action == SECCOMP_ACTION_NONE) {
        return 0;
    }
    deny = action == SECCOMP_ACTION_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
    ctx = seccomp_init(deny);
    if (!ctx) {
        snprintf(err, errlen, "cannot create the seccomp filter");
        return -1;
    }
    for (size_t i = 0; i < sizeof(sandbox_allow) / sizeof(sandbox_allow[0]); i++) {
        int nr = seccomp_syscall_resolve_name(sandbox_allow[i]);
        if (nr == __NR_SCMP_ERROR) {
            continue;
        }
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (rc != 0) {
            snprintf(err, errlen, "cannot allow %s in the seccomp filter: %s", sandbox_allow[i],
                     strerror(-rc));
            goto fail;
        }
    }
    rc = seccomp_load(ctx);
    if (rc != 0) {
        snprintf(err, errlen, "cannot load the seccomp filter: %s", strerror(-rc));
        goto fail;
    }
    seccomp_release(ctx);
    return 0;
fail:
    seccomp_release(ctx);
    return -1;
}

/*
 * Starting and stopping the processes of a VM: vtpmd and QEMU, both daemons that write a pid
 * file. Nothing here knows their options (launch.c does); this module knows processes, pid
 * files, swtpm's control channel (CMD_SHUTDOWN) and QEMU's QMP monitor.
 *
 * A pid in a pid file is trusted only while /proc/<pid>/cmdline still contains the VM's run
 * folder (the "marker"): a stale pid file whose number was reused by another process is never
 * signalled. Every wait is bounded; bytes read from a pid file, /proc or a socket are
 * length-checked before use.
 */
#ifndef VTPM_CTL_SUPERVISE_H
#define VTPM_CTL_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl/err.h"
#include "ctl/launch.h"

/*
 * Run cmd (a program that puts itself in the background): stdin from /dev/null, stdout and
 * stderr appended to out_path, every descriptor closed but those; when key is not NULL, a
 * pipe holding the keylen key bytes (and nothing else, then end of file) is the child's
 * cmd->key_fd. Waits up to timeout_ms for the started process to exit (a daemon's parent
 * exits once the daemon is up). Refused (CTL_E_LAUNCH): the program cannot run, exits
 * non-zero (the sentence quotes the last line of out_path) or does not exit in time (then it
 * is killed). The parent's copy of the key is not kept; the caller wipes its own.
 */
int sup_spawn(const struct launch_cmd *cmd, const uint8_t *key, size_t keylen,
              const char *out_path, int timeout_ms, struct ctl_err *e);

/* Parse a pid file's bytes: 1 to 10 decimal digits and an optional newline, a value from 2
 * to 2^31-1. Returns 0 with *pid, or -EINVAL. */
int sup_parse_pid(const char *buf, size_t len, pid_t *pid);

/* Read a pid file (at most 32 bytes are read: a longer file is refused as -EINVAL).
 * 0, -ENOENT (or another -errno from open), -EINVAL. */
int sup_read_pid(const char *path, pid_t *pid);

/* Is pid a live (not zombie) process whose command line contains marker? */
bool sup_alive(pid_t pid, const char *marker);

/* The live process of a pid file, or 0. */
pid_t sup_pid_of(const char *pid_path, const char *marker);

/*
 * Wait up to timeout_ms for the pid file to name a live process (with marker) and, when
 * sock_path is not NULL, for that unix socket to exist. Returns 0 with *pid, or -1
 * (CTL_E_LAUNCH, the sentence quotes the last line of log_path when given).
 */
int sup_wait_ready(const char *what, const char *pid_path, const char *sock_path,
                   const char *marker, const char *log_path, int timeout_ms, pid_t *pid,
                   struct ctl_err *e);

/* Wait up to timeout_ms for pid to be gone. true when gone. */
bool sup_wait_gone(pid_t pid, const char *marker, int timeout_ms);

/*
 * Send swtpm's CMD_SHUTDOWN (0x00000003) on the control socket and read its 4-byte result.
 * Returns 0 when vtpmd answered success, -errno otherwise (no socket, refused, timeout).
 */
int sup_ctrl_shutdown(const char *sock_path, int timeout_ms);

/*
 * Run one QMP command without arguments ("system_powerdown", "system_reset", "quit") on
 * QEMU's QMP socket: greeting, qmp_capabilities, the command, its "return". Returns 0, or
 * -errno (-EPROTO for an "error" answer or a malformed exchange).
 */
int sup_qmp(const char *sock_path, const char *command, int timeout_ms);

/* SIGTERM, wait term_ms, then SIGKILL and wait kill_ms. true when the process is gone. */
bool sup_terminate(pid_t pid, const char *marker, int term_ms, int kill_ms);

/* The last non-empty line of a text file (at most cap-1 bytes of it), "" when none. */
void sup_last_line(const char *path, char *buf, size_t cap);

#endif

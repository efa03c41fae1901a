/*
 * vtpmd's confinement after start-up (openssh-portable sandbox-seccomp-filter.c shows the
 * idea): PR_SET_NO_NEW_PRIVS, then a seccomp allowlist of the system calls the event loop,
 * the engine (OpenSSL) and the state files need. Sockets can no longer be created, bound or
 * connected, no program can be executed, no process or file outside the open state
 * directory can be reached by name other than through openat().
 */
#ifndef VTPMD_SANDBOX_H
#define VTPMD_SANDBOX_H

#include <stddef.h>

#include "opts.h"

/*
 * Apply no-new-privileges and, unless action is SECCOMP_ACTION_NONE, the allowlist with
 * that action for everything else (kill the process, or only log). Returns 0, or -1 with a
 * sentence in err.
 */
int sandbox_apply(enum seccomp_action action, char *err, size_t errlen);

#endif

/*
 * vtpmd's log: one line per event, to the file or descriptor --log names, filtered by level.
 *
 * Levels (--log level=N): 1 errors and lifecycle (start, stop, refused input), 2 connections
 * opened and closed, 3 every control command and TPM command code with its result, 4 and up
 * the same with more detail about framing. Nothing that could be a secret is ever logged:
 * command and response bodies, state bytes and keys never reach a log line, only codes,
 * lengths and reasons.
 *
 * Before log_open() (and without --log) level-1 lines go to stderr, so start-up errors reach
 * the operator; "--log file=-" silences the log completely.
 */
#ifndef VTPMD_LOG_H
#define VTPMD_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_ERR = 1,  /* errors, lifecycle, refused input */
    LOG_CONN = 2, /* connections */
    LOG_CMD = 3,  /* each command and its result */
    LOG_DEBUG = 4,
};

/*
 * Send the log to path (opened O_APPEND, or O_TRUNC with truncate; mode 0640) or to fd
 * (taken over), keeping lines up to level and starting each with prefix (copied; may be
 * NULL). path "-" discards everything. Returns 0 or a negative errno (nothing changes then).
 */
int log_open(const char *path, int fd, unsigned level, const char *prefix, bool truncate);

/* Stop logging to stderr (after --daemon has detached from the terminal). */
void log_detach_stderr(void);

/* Is a line of this level going anywhere? Lets callers skip building expensive lines. */
bool log_enabled(unsigned level);

/* Write one line (a newline is added). */
void log_msg(unsigned level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A start-up error: to the log, and to stderr as well while vtpmd has not detached from it,
 * so that whoever started vtpmd sees why it exits even when --log names a file.
 */
void log_startup_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Close the log file. */
void log_close(void);

#endif

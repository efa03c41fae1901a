/* Named fault points (see fault.h). */
#include "ctl/fault.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How many times each point was passed: a handful of points, a tiny table. */
static struct {
    const char *point;
    unsigned passes;
} seen[32];

static unsigned fault_pass(const char *point)
{
    for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++) {
        if (!seen[i].point) {
            seen[i].point = point;
        }
        if (strcmp(seen[i].point, point) == 0) {
            return ++seen[i].passes;
        }
    }
    return 0;
}

/* Does the environment name this point (as prefix + point, optionally "@N" for pass N)? */
static bool fault_named(const char *prefix, const char *point)
{
    const char *want = getenv("VTPMCTL_FAULT");
    unsigned pass = fault_pass(point);
    size_t pl = strlen(prefix), n = strlen(point);
    if (!want || strncmp(want, prefix, pl) != 0 || strncmp(want + pl, point, n) != 0) {
        return false;
    }
    want += pl + n;
    if (*want == '@') {
        char *end;
        unsigned long nth = strtoul(want + 1, &end, 10);
        return *end == '\0' && nth == pass;
    }
    return *want == '\0';
}

void ctl_fault(const char *point)
{
    if (fault_named("", point)) {
        kill(getpid(), SIGKILL);
        _exit(137); /* not reached */
    }
}

int ctl_fault_fail(const char *point)
{
    return fault_named("fail:", point) ? -EIO : 0;
}

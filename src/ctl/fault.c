/* Named fault points (see fault.h). */
#include "ctl/fault.h"

#include <signal.h>
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

void ctl_fault(const char *point)
{
    const char *want = getenv("VTPMCTL_FAULT");
    unsigned pass = fault_pass(point);
    size_t n = strlen(point);
    if (!want || strncmp(want, point, n) != 0) {
        return;
    }
    if (want[n] == '@') {
        char *end;
        unsigned long nth = strtoul(want + n + 1, &end, 10);
        if (*end != '\0' || nth != pass) {
            return;
        }
    } else if (want[n] != '\0') {
        return;
    }
    kill(getpid(), SIGKILL);
    _exit(137); /* not reached */
}

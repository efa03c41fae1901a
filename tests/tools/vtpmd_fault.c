/*
 * TESTS ONLY: linked into vtpmd_fault, a vtpmd with the store's fault hook (store_fault.h)
 * driven from the environment, so that integration tests can fail the vTPM file's writes at
 * named points through the real daemon. Never part of the installed vtpmd.
 *
 *   VTPMD_FAULT=<point>:<n>:<action>
 *     point   a store fault point name ("write", "write-torn", "sync", "commit-done", ...)
 *     n       the n-th time the point is reached in this process fails (1 = the first)
 *     action  eio | enospc: the call fails with that error; crash: the process kills itself
 *             with SIGKILL at that instant (what a kill -9 or a power cut there leaves)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_fault.h"

static struct {
    enum store_fault point;
    long nth;
    int action; /* 0 crash, else the negative errno */
    long hits;
} plan;

static int vtpmd_fault_hook(enum store_fault p, void *ctx)
{
    (void)ctx;
    if (p != plan.point || ++plan.hits != plan.nth) {
        return 0;
    }
    if (plan.action == 0) {
        kill(getpid(), SIGKILL);
        pause();
    }
    return plan.action;
}

__attribute__((constructor)) static void vtpmd_fault_setup(void)
{
    const char *spec = getenv("VTPMD_FAULT");
    char name[32], action[16];
    if (!spec || !*spec) {
        return;
    }
    if (sscanf(spec, "%31[a-z-]:%ld:%15s", name, &plan.nth, action) != 3 || plan.nth < 1) {
        fprintf(stderr, "vtpmd_fault: VTPMD_FAULT='%s' is not <point>:<n>:<action>\n", spec);
        exit(2);
    }
    plan.point = STORE_FAULT_COUNT;
    for (int i = 0; i < STORE_FAULT_COUNT; i++) {
        if (strcmp(store_fault_name((enum store_fault)i), name) == 0) {
            plan.point = (enum store_fault)i;
        }
    }
    if (plan.point == STORE_FAULT_COUNT) {
        fprintf(stderr, "vtpmd_fault: unknown fault point '%s'\n", name);
        exit(2);
    }
    if (strcmp(action, "crash") == 0) {
        plan.action = 0;
    } else if (strcmp(action, "eio") == 0) {
        plan.action = -EIO;
    } else if (strcmp(action, "enospc") == 0) {
        plan.action = -ENOSPC;
    } else {
        fprintf(stderr, "vtpmd_fault: unknown action '%s' (crash, eio, enospc)\n", action);
        exit(2);
    }
    store_fault_set(vtpmd_fault_hook, NULL);
}

/* vtpmctl's error kinds and their API names (see err.h and docs/vtpmctl.md, "Errors"). */
#include "ctl/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One row per kind: the Type follows the cloud API's error types; the codes are vtpmctl's. */
static const struct {
    const char *type;
    const char *code;
    int exit;
} kinds[] = {
    [CTL_E_NONE] = {"", "", CTL_EXIT_OK},
    [CTL_E_USAGE] = {"InvalidParameter", "3001", CTL_EXIT_USAGE},
    [CTL_E_MISSING] = {"MissingParameter", "7000", CTL_EXIT_USAGE},
    [CTL_E_VALUE] = {"InvalidParameterValue", "4000", CTL_EXIT_USAGE},
    [CTL_E_UNSUPPORTED] = {"OperationNotSupported", "8000", CTL_EXIT_USAGE},
    [CTL_E_RULE] = {"InvalidParameterCombination", "4100", CTL_EXIT_REFUSED},
    [CTL_E_NOT_FOUND] = {"InvalidResource", "5000", CTL_EXIT_REFUSED},
    [CTL_E_STATE] = {"InvalidState", "6000", CTL_EXIT_REFUSED},
    [CTL_E_DEPENDENCY] = {"DependencyProblem", "1000", CTL_EXIT_REFUSED},
    [CTL_E_DATA_DIR] = {"DataDirectoryError", "2001", CTL_EXIT_SYSTEM},
    [CTL_E_REGISTRY] = {"RegistryError", "2002", CTL_EXIT_SYSTEM},
    [CTL_E_KEY] = {"KeyError", "2003", CTL_EXIT_SYSTEM},
    [CTL_E_VTPM] = {"VtpmError", "2004", CTL_EXIT_SYSTEM},
    [CTL_E_LAUNCH] = {"LaunchError", "2005", CTL_EXIT_SYSTEM},
    [CTL_E_INTERNAL] = {"InternalError", "2999", CTL_EXIT_SYSTEM},
};

int ctl_fail(struct ctl_err *e, enum ctl_kind kind, const char *fmt, ...)
{
    va_list ap;
    if (!e || e->kind != CTL_E_NONE) {
        return -1;
    }
    e->kind = kind;
    va_start(ap, fmt);
    vsnprintf(e->details, sizeof(e->details), fmt, ap);
    va_end(ap);
    return -1;
}

bool ctl_failed(const struct ctl_err *e)
{
    return e->kind != CTL_E_NONE;
}

void ctl_err_clear(struct ctl_err *e)
{
    e->kind = CTL_E_NONE;
    e->details[0] = '\0';
}

const char *ctl_kind_type(enum ctl_kind kind)
{
    return kinds[kind].type;
}

const char *ctl_kind_code(enum ctl_kind kind)
{
    return kinds[kind].code;
}

int ctl_kind_exit(enum ctl_kind kind)
{
    return kinds[kind].exit;
}

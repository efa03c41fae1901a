/* Manufacturing a new vTPM's permanent state through the engine's public API (see .h). */
#include "ctl/manufacture.h"

int ctl_manufacture(struct tpm_buf *out, struct ctl_err *e)
{
    struct tpm_profile profile;
    struct tpm *t;
    int rc;
    tpm_profile_default(&profile);
    t = tpm_new(&profile, NULL);
    if (!t) {
        return ctl_fail(e, CTL_E_INTERNAL, "the TPM engine could not manufacture a vTPM (out "
                        "of memory or randomness); nothing was created");
    }
    rc = tpm_state_save(t, TPM_STATE_PERMANENT, out);
    tpm_free(t);
    if (rc != 0) {
        return ctl_fail(e, CTL_E_INTERNAL, "the TPM engine could not save a new vTPM's state; "
                        "nothing was created");
    }
    return 0;
}

/*
 * A new vTPM's first state: the engine's manufacturing (fresh primary seeds and proofs,
 * default authorizations, every PCR bank allocated), as a chip leaves the factory.
 */
#ifndef VTPM_CTL_MANUFACTURE_H
#define VTPM_CTL_MANUFACTURE_H

#include "ctl/err.h"
#include "vtpm/tpm.h"

/*
 * Manufacture a TPM (tpm_new with the default profile) and save its permanent state into
 * out (owned by the caller, freed with tpm_buf_free, which wipes). The engine's memory is
 * wiped before returning. Returns 0, or -1 with e set (CTL_E_INTERNAL).
 */
int ctl_manufacture(struct tpm_buf *out, struct ctl_err *e);

#endif

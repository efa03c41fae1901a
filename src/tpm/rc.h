/*
 * Response-code helpers used across the engine. Every function that can fail returns TPM_RC
 * and is marked MUST_CHECK.
 *
 *   TRY(expr)        return expr's code when it is not TPM_RC_SUCCESS
 *   CHECK(cond, rc)  return rc when cond is false
 *   TRY_OUT(expr)    rc = expr; on failure jump to the function's out: label (one exit)
 *   RC_P(rc, n)      a format-one code naming parameter n (1-based), Part 2 §6.6.3
 *   RC_H(rc, n)      ... naming handle n
 *   RC_S(rc, n)      ... naming session n
 */
#ifndef VTPM_TPM_RC_H
#define VTPM_TPM_RC_H

#include "tpm_consts.h"

#define MUST_CHECK __attribute__((warn_unused_result))

#define TRY(expr)                                                                            \
    do {                                                                                     \
        TPM_RC try_rc_ = (expr);                                                             \
        if (try_rc_ != TPM_RC_SUCCESS) {                                                     \
            return try_rc_;                                                                  \
        }                                                                                    \
    } while (0)

#define CHECK(cond, code)                                                                    \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            return (code);                                                                   \
        }                                                                                    \
    } while (0)

#define TRY_OUT(expr)                                                                        \
    do {                                                                                     \
        rc = (expr);                                                                         \
        if (rc != TPM_RC_SUCCESS) {                                                          \
            goto out;                                                                        \
        }                                                                                    \
    } while (0)

/* Format-one codes carry the number; format-zero codes (warnings, VER1) are left as they are. */
static inline TPM_RC rc_number(TPM_RC rc, TPM_RC where, unsigned n)
{
    if (!(rc & RC_FMT1) || (rc & 0xF40) != 0) {
        return rc; /* not a bare format-one code, or already numbered */
    }
    return rc | where | ((TPM_RC)(n & 0xF) << 8);
}

#define RC_P(rc, n) rc_number((rc), TPM_RC_P, (n))
#define RC_H(rc, n) rc_number((rc), TPM_RC_H, (n))
#define RC_S(rc, n) rc_number((rc), TPM_RC_S, (n))

/* Unmarshal parameter n of a command: number the code if it fails. */
#define PARAM(n, expr)                                                                       \
    do {                                                                                     \
        TPM_RC param_rc_ = (expr);                                                           \
        if (param_rc_ != TPM_RC_SUCCESS) {                                                   \
            return RC_P(param_rc_, (n));                                                     \
        }                                                                                    \
    } while (0)

#endif

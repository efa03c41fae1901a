/*
 * What vtpmd tells about itself: --print-capabilities, --print-states and CMD_GET_INFO, in
 * the JSON shapes swtpm uses (swtpm-protocol.md §2.2 GET_INFO, §7.3).
 *
 * The facts come from the engine, never from a list kept by hand: info_probe() starts a
 * scratch TPM and asks it (TPM2_GetCapability for the specification level and vendor
 * properties, TPM2_TestParms for the RSA and Camellia key sizes it accepts), so what vtpmd
 * advertises is what its engine does.
 */
#ifndef VTPMD_INFO_H
#define VTPMD_INFO_H

#include <stddef.h>
#include <stdint.h>

/* CMD_GET_INFO flags (swtpm's SWTPM_INFO_*). */
#define INFO_TPMSPECIFICATION 0x1u
#define INFO_TPMATTRIBUTES 0x2u
#define INFO_TPMFEATURES 0x4u

struct info {
    char family[8];    /* TPM_PT_FAMILY_INDICATOR, e.g. "2.0" */
    uint32_t level;    /* TPM_PT_LEVEL */
    uint32_t revision; /* TPM_PT_REVISION */
    uint32_t manufacturer;
    uint32_t firmware1;
    unsigned rsa_bits[8];
    size_t n_rsa;
    unsigned camellia_bits[4];
    size_t n_camellia;
};

/* Ask a scratch engine. Returns 0, or -ENOMEM / -EIO when the engine would not answer. */
int info_probe(struct info *out);

/*
 * The GET_INFO JSON for flags into out (cap bytes, NUL-terminated). Unknown flag bits are
 * ignored, as swtpm 0.7.1 does ("{}" for none). Returns the string length, or 0 when it does
 * not fit.
 */
size_t info_json(const struct info *in, uint64_t flags, char *out, size_t cap);

/* The --print-capabilities JSON (one line, with a trailing newline). Same return rule. */
size_t info_capabilities_json(const struct info *in, char *out, size_t cap);

/* --print-states for the state directory dir. Returns the length, 0 on error (errno set). */
size_t info_states_json(const char *dir, char *out, size_t cap);

#endif

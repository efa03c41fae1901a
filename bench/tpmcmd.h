/*
 * The TPM 2.0 commands the benchmark client sends, built byte by byte from the command tables
 * of TPM 2.0 Part 3, and the check of every response (Part 1 §18.2 response header, Part 3
 * response tables). No TSS: the client's own cost per command must stay negligible.
 *
 * A response counts only if it is TPM_RC_SUCCESS with the expected tag, its header size equals
 * the bytes received, and its parameters parse exactly (a benchmark of error answers would be
 * worthless). Commands that alternate values (DictionaryAttackParameters, HierarchyChangeAuth)
 * keep what they need in struct bcmd_state, one per server connection.
 */
#ifndef VTPM_BENCH_TPMCMD_H
#define VTPM_BENCH_TPMCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest command or response the client handles (the TPM2 buffer swtpm and QEMU use). */
#define BCMD_MAX 4096

enum bcmd {
    BCMD_GETRANDOM,   /* TPM2_GetRandom(32), Part 3 §16.1 */
    BCMD_PCR_EXTEND,  /* TPM2_PCR_Extend(PCR 16, one sha256 digest), password session, §22.2 */
    BCMD_PCR_READ,    /* TPM2_PCR_Read(sha256, PCR 0), §22.4 */
    BCMD_HASH,        /* TPM2_Hash(64 bytes, sha256, owner hierarchy), §15.4 */
    BCMD_GETCAP,      /* TPM2_GetCapability(TPM_PROPERTIES, TPM_PT_MANUFACTURER, 1), §30.2 */
    BCMD_READCLOCK,   /* TPM2_ReadClock, §29.1 */
    BCMD_DA_PARAMS,   /* TPM2_DictionaryAttackParameters, alternating maxTries, §25.3 */
    BCMD_CHANGE_AUTH, /* TPM2_HierarchyChangeAuth(owner), alternating empty / 8-byte auth, §24.8 */
    BCMD_COUNT
};

/* What one server connection has to remember between commands. */
struct bcmd_state {
    uint32_t da_seq;          /* DictionaryAttackParameters sent so far: picks maxTries */
    bool owner_auth_set;      /* the owner authValue is currently the 8-byte bench value */
    uint8_t hash_expect[32];  /* SHA-256 of the Hash command's 64 input bytes */
};

/* Fills the state for a server whose owner authValue is empty. 0, or -1 if libcrypto failed. */
int bcmd_state_init(struct bcmd_state *st);

/* The command's short name ("getrandom", ...), or NULL for a value out of range. */
const char *bcmd_name(enum bcmd c);

/* The command for a short name, or -1. */
int bcmd_from_name(const char *name);

/* True for the commands that change the TPM's persistent state (the server must commit it). */
bool bcmd_commits(enum bcmd c);

/*
 * Writes command c into buf (cap bytes) for the state st. Returns its length, or 0 if c is
 * out of range or cap is too small.
 */
size_t bcmd_build(enum bcmd c, const struct bcmd_state *st, uint8_t *buf, size_t cap);

/*
 * Checks the response to command c built from st. Returns 0 if it is a well-formed
 * TPM_RC_SUCCESS answer; otherwise -1 and a sentence in why (whylen bytes, always terminated).
 * *rc receives the response code when the header could be read, else 0xFFFFFFFF.
 */
int bcmd_check(enum bcmd c, const struct bcmd_state *st, const uint8_t *rsp, size_t len,
               uint32_t *rc, char *why, size_t whylen);

/* Records that command c succeeded: advances the alternating values in st. */
void bcmd_done(enum bcmd c, struct bcmd_state *st);

/*
 * Reads the 10-byte response header in hdr (at least 10 bytes) and returns the size field,
 * or 0 when it is below 10 or above BCMD_MAX (the caller then stops reading).
 */
uint32_t bcmd_rsp_size(const uint8_t *hdr);

#endif

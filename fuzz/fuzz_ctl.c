/*
 * libFuzzer target for the parsers of untrusted bytes in vtpmctl: a wrapped key as it comes
 * out of the registry (key_unwrap: length, version, authentication) and a pid file's content
 * (sup_parse_pid). The first input byte picks the parser; the rest is its input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctl/keys.h"
#include "ctl/supervise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (data[0] & 1) {
        pid_t pid = 0;
        if (sup_parse_pid((const char *)data + 1, size - 1, &pid) == 0 && pid < 2) {
            __builtin_trap(); /* a parsed pid is always >= 2 */
        }
        return 0;
    }
    struct ctl_kek k;
    struct ctl_err e = {0};
    uint8_t key[CTL_KEY_LEN];
    static const uint8_t vtpm_id[CTL_VTPM_ID_LEN] = {1};
    memset(&k, 0, sizeof(k));
    memset(k.key, 0x42, sizeof(k.key));
    if (key_unwrap(&k, "i-0123abcd", vtpm_id, data + 1, size - 1, key, &e) == 0) {
        /* Only bytes wrapped under this KEK for this VM unwrap; a fuzzer cannot forge a
         * GCM tag, so success here means the check is broken. */
        __builtin_trap();
    }
    if (e.kind != CTL_E_KEY && e.kind != CTL_E_INTERNAL) {
        __builtin_trap();
    }
    return 0;
}

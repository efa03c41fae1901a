/*
 * TESTS ONLY: what the fake vtpmd (fake_vtpmd.py) uses to play vtpmd's part in opening a
 * vTPM file. Usage: vtpm_check FILE VMID < key   (32 raw bytes or 64 hex digits)
 * Opens FILE for VMID with the key (tmp_store_open), loads the state into a fresh engine
 * (tpm_state_load), and prints "ok <sha256 of the state>" (so a test can tell that the
 * content did not change across stops and starts), or "refused: <reason>" and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/secret.h"
#include "tmp_store_open.h"
#include "vtpm/tpm.h"

static int unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t in[80], key[32], id[16], md[32];
    uint8_t *blob = NULL;
    size_t len = 0, got = 0;
    unsigned mdlen = 0;
    struct tpm *t;
    int rc;
    if (argc != 3) {
        fprintf(stderr, "usage: vtpm_check FILE VMID < key\n");
        return 2;
    }
    for (ssize_t n; got < sizeof(in) && (n = read(0, in + got, sizeof(in) - got)) > 0;) {
        got += (size_t)n;
    }
    if (got == 32) {
        memcpy(key, in, 32);
    } else if ((got == 64 || (got == 65 && in[64] == '\n')) && unhex((char *)in, key, 32) == 0) {
    } else {
        printf("refused: the key is %zu bytes, neither 32 raw bytes nor 64 hex digits\n", got);
        return 1;
    }
    secret_wipe(in, sizeof(in));
    rc = tmp_store_open(argv[1], key, argv[2], id, &blob, &len);
    secret_wipe(key, sizeof(key));
    if (rc != 0) {
        printf("refused: %s: %s\n", argv[1],
               rc == -EXDEV          ? "the file belongs to another VM"
               : rc == -EKEYREJECTED ? "sealed under a different data key: another VM's vTPM"
               : rc == -EBADMSG      ? "authentication failed (changed bytes)"
                                     : strerror(-rc));
        return 1;
    }
    t = tpm_new(NULL, NULL);
    if (!t || tpm_state_load(t, TPM_STATE_PERMANENT, blob, len) != 0) {
        printf("refused: the engine does not load the state\n");
        return 1;
    }
    tpm_free(t);
    EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL);
    printf("ok ");
    for (unsigned i = 0; i < mdlen; i++) {
        printf("%02x", md[i]);
    }
    printf("\n");
    secret_wipe(blob, len);
    free(blob);
    return 0;
}

/* TESTS ONLY: the reader of ctl_store.c's temporary encoding (see tmp_store_open.h). */
#include "tmp_store_open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/rw.h"
#include "common/secret.h"

#define MAX_FILE (2u * 1024u * 1024u)

int tmp_store_open(const char *path, const uint8_t key[32], const char *vm_id,
                   uint8_t vtpm_id[16], uint8_t **blob, size_t *len)
{
    struct stat st;
    uint8_t *img = NULL, *out = NULL;
    const uint8_t *vm, *nonce, *ct, *tag;
    uint8_t magic[8], vl = 0;
    uint16_t ver = 0;
    uint32_t ctlen = 0;
    size_t got = 0, hdr;
    struct rd r;
    int fd, rc = -ENODATA, outl = 0;
    EVP_CIPHER_CTX *c = NULL;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0 || st.st_size > MAX_FILE || !(img = malloc((size_t)st.st_size + 1))) {
        close(fd);
        return -EFBIG;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, img + got, (size_t)st.st_size - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    rd_init(&r, img, got);
    if (!rd_bytes(&r, magic, 8) || memcmp(magic, "VTPMTMP1", 8) != 0) {
        rc = -ENOEXEC;
        goto out;
    }
    if (!rd_u16(&r, &ver) || ver != 1) {
        rc = r.err ? -ENODATA : -EPROTONOSUPPORT;
        goto out;
    }
    rd_bytes(&r, vtpm_id, 16);
    rd_u8(&r, &vl);
    rd_ptr(&r, vl, &vm);
    rd_ptr(&r, 12, &nonce);
    rd_u32(&r, &ctlen);
    hdr = r.off;
    rd_ptr(&r, ctlen, &ct);
    rd_ptr(&r, 16, &tag);
    if (!rd_done(&r)) {
        goto out;
    }
    if (vl != strlen(vm_id) || memcmp(vm, vm_id, vl) != 0) {
        rc = -EXDEV;
        goto out;
    }
    out = malloc(ctlen ? ctlen : 1);
    c = EVP_CIPHER_CTX_new();
    rc = -EBADMSG;
    if (!out || !c || EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
        EVP_DecryptUpdate(c, NULL, &outl, img, (int)hdr) != 1 ||
        EVP_DecryptUpdate(c, out, &outl, ct, (int)ctlen) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) != 1 ||
        EVP_DecryptFinal_ex(c, out + outl, &outl) != 1) {
        goto out;
    }
    *blob = out;
    *len = ctlen;
    out = NULL;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    if (out) {
        secret_wipe(out, ctlen);
        free(out);
    }
    free(img);
    return rc;
}

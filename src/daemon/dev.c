/* The vTPM device (see dev.h): engine lifecycle, durable commits with roll-back, DRTM hash. */
#include "dev.h"

#include <errno.h>
#include <string.h>

#include "common/rw.h"
#include "log.h"

static uint32_t rsp_code(const uint8_t *rsp, size_t n)
{
    struct rd r;
    uint16_t tag;
    uint32_t size, rc;
    rd_init(&r, rsp, n);
    if (!rd_u16(&r, &tag) || !rd_u32(&r, &size) || !rd_u32(&r, &rc)) {
        return DEV_TPM_RC_FAILURE;
    }
    return rc;
}

/* Make the engine's permanent state durable, whether or not it is dirty. */
static int dev_save_permanent(struct dev *d)
{
    struct tpm_buf b = {0};
    int rc = tpm_state_save(d->tpm, TPM_STATE_PERMANENT, &b);
    if (rc == 0 && d->store) {
        rc = persist_save(d->store, TPM_STATE_PERMANENT, b.data, b.len);
    }
    if (rc != 0) {
        tpm_buf_free(&b);
        return rc;
    }
    tpm_buf_free(&d->saved);
    d->saved = b;
    d->saved_valid = true;
    return 0;
}

/*
 * Return the engine to the last durable permanent state. Loading the permanent part may
 * power the engine off (tpm.h); a powered engine is then powered on again with the volatile
 * state it had, so that only the failed command's persistent effects are undone.
 */
static void dev_rollback(struct dev *d)
{
    struct tpm_buf vol = {0};
    bool powered = tpm_is_powered(d->tpm);

    if (powered && tpm_state_save(d->tpm, TPM_STATE_VOLATILE, &vol) != 0) {
        tpm_buf_free(&vol);
    }
    if (!d->saved_valid ||
        tpm_state_load(d->tpm, TPM_STATE_PERMANENT, d->saved.data, d->saved.len) != 0) {
        /* Nothing durable to return to: refuse to go on with state that is not on disk. */
        log_msg(LOG_ERR, "the TPM state could not be rolled back; the TPM enters failure mode");
        tpm_enter_failure(d->tpm);
    } else if (powered && !tpm_is_powered(d->tpm)) {
        tpm_init(d->tpm);
        if (vol.len > 0 && tpm_state_load(d->tpm, TPM_STATE_VOLATILE, vol.data, vol.len) != 0) {
            log_msg(LOG_ERR, "the volatile state could not be restored after a roll-back");
        }
    }
    tpm_buf_free(&vol);
}

int dev_commit(struct dev *d)
{
    int rc;
    if (!tpm_state_dirty(d->tpm)) {
        return 0;
    }
    rc = dev_save_permanent(d);
    if (rc != 0) {
        log_msg(LOG_ERR, "saving the TPM state failed (%s); the change is undone", strerror(-rc));
        dev_rollback(d);
    }
    return rc;
}

int dev_open(struct dev *d, struct persist *store, const struct tpm_profile *profile)
{
    int rc;
    memset(d, 0, sizeof(*d));
    d->store = store;
    d->buffersize = DEV_BUFFER_MAX;
    d->tpm = tpm_new(profile, NULL);
    if (!d->tpm) {
        return -ENOMEM;
    }
    if (!store) {
        return 0;
    }
    rc = persist_load(store, TPM_STATE_PERMANENT, &d->saved);
    if (rc == -ENOENT) {
        return 0; /* a new TPM: saved at the first INIT */
    }
    if (rc == 0) {
        rc = tpm_state_load(d->tpm, TPM_STATE_PERMANENT, d->saved.data, d->saved.len);
    }
    if (rc != 0) {
        dev_close(d);
        return rc;
    }
    d->saved_valid = true;
    return 0;
}

void dev_close(struct dev *d)
{
    tpm_free(d->tpm);
    d->tpm = NULL;
    tpm_buf_free(&d->saved);
    d->saved_valid = false;
}

static uint32_t dev_restore_volatile(struct dev *d, bool delete_volatile)
{
    struct tpm_buf vol = {0};
    uint32_t res = PTM_SUCCESS;
    int rc;

    if (!d->store) {
        return PTM_SUCCESS;
    }
    rc = persist_load(d->store, TPM_STATE_VOLATILE, &vol);
    if (rc == 0) {
        rc = tpm_state_load(d->tpm, TPM_STATE_VOLATILE, vol.data, vol.len);
        if (rc != 0) {
            log_msg(LOG_ERR, "INIT: the stored volatile state does not fit this TPM (%s)",
                    strerror(-rc));
            res = PTM_FAIL;
        } else {
            log_msg(LOG_CMD, "INIT: volatile state restored");
        }
    } else if (rc != -ENOENT) {
        log_msg(LOG_ERR, "INIT: the stored volatile state cannot be read (%s)", strerror(-rc));
        res = PTM_FAIL;
    }
    tpm_buf_free(&vol);
    if (delete_volatile && rc != -ENOENT) {
        rc = persist_remove(d->store, TPM_STATE_VOLATILE);
        if (rc != 0) {
            log_msg(LOG_ERR, "INIT: the volatile state could not be deleted (%s)", strerror(-rc));
            res = PTM_FAIL;
        }
    }
    return res;
}

uint32_t dev_init(struct dev *d, bool delete_volatile)
{
    int rc;
    uint32_t res;

    dev_stop(d);
    /* A newly manufactured TPM becomes durable before it answers anything (its seeds). */
    if (!d->saved_valid) {
        rc = dev_save_permanent(d);
        if (rc != 0) {
            log_msg(LOG_ERR, "INIT: the new TPM state could not be saved (%s)", strerror(-rc));
            return PTM_FAIL;
        }
    }
    tpm_init(d->tpm);
    res = dev_restore_volatile(d, delete_volatile);
    if (res != PTM_SUCCESS) {
        tpm_power_off(d->tpm);
        return res;
    }
    d->running = true;
    return PTM_SUCCESS;
}

void dev_stop(struct dev *d)
{
    if (tpm_is_powered(d->tpm)) {
        tpm_power_off(d->tpm);
    }
    d->running = false;
    d->hash_active = false;
}

size_t dev_execute(struct dev *d, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
    size_t lim = cap < d->buffersize ? cap : d->buffersize;
    size_t n;

    if (!d->running) {
        return tpm_error_response(DEV_TPM_RC_FAILURE, rsp, cap);
    }
    n = tpm_execute(d->tpm, d->locality, cmd, len, rsp, lim);
    if (n < 10) {
        n = tpm_error_response(DEV_TPM_RC_FAILURE, rsp, cap);
    }
    if (dev_commit(d) != 0) {
        n = tpm_nv_error_response(rsp, cap);
    }
    return n;
}

uint32_t dev_startup(struct dev *d, uint16_t su)
{
    uint8_t cmd[12], rsp[64];
    struct wr w;
    size_t n;

    wr_init(&w, cmd, sizeof(cmd));
    wr_u16(&w, DEV_TPM_ST_NO_SESSIONS);
    wr_u32(&w, sizeof(cmd));
    wr_u32(&w, 0x00000144); /* TPM_CC_Startup, Part 3 §9.3 */
    wr_u16(&w, su);
    n = dev_execute(d, cmd, w.off, rsp, sizeof(rsp));
    return rsp_code(rsp, n);
}

uint32_t dev_store_volatile(struct dev *d)
{
    struct tpm_buf vol = {0};
    int rc = tpm_state_save(d->tpm, TPM_STATE_VOLATILE, &vol);
    if (rc == 0 && d->store) {
        rc = persist_save(d->store, TPM_STATE_VOLATILE, vol.data, vol.len);
    }
    tpm_buf_free(&vol);
    if (rc != 0) {
        log_msg(LOG_ERR, "STORE_VOLATILE: the volatile state could not be saved (%s)",
                strerror(-rc));
        return PTM_FAIL;
    }
    return PTM_SUCCESS;
}

uint32_t dev_hash_start(struct dev *d)
{
    d->hash_active = false;
    if (tpm_hash_start(d->tpm) != 0) {
        return PTM_FAIL;
    }
    d->hash_active = true;
    return PTM_SUCCESS;
}

/* Part 3 §11.3.3: _TPM_Hash_Data with no open sequence is discarded (swtpm answers 0). */
uint32_t dev_hash_data(struct dev *d, const uint8_t *p, size_t len)
{
    if (!d->hash_active) {
        return PTM_SUCCESS;
    }
    if (tpm_hash_data(d->tpm, p, len) != 0) {
        d->hash_active = false;
        return PTM_FAIL;
    }
    return PTM_SUCCESS;
}

uint32_t dev_hash_end(struct dev *d)
{
    int rc;
    if (!d->hash_active) {
        return PTM_SUCCESS;
    }
    d->hash_active = false;
    rc = tpm_hash_end(d->tpm);
    if (dev_commit(d) != 0 || rc != 0) {
        return PTM_FAIL;
    }
    return PTM_SUCCESS;
}

uint32_t dev_reset_established(struct dev *d, unsigned loc)
{
    if (loc > 4 || !tpm_reset_established(d->tpm, loc)) {
        return PTM_BAD_LOCALITY;
    }
    return dev_commit(d) == 0 ? PTM_SUCCESS : PTM_FAIL;
}

uint32_t dev_set_locality(struct dev *d, unsigned loc)
{
    if (loc > 4 || (loc == 4 && d->reject_locality_4)) {
        return PTM_BAD_LOCALITY;
    }
    d->locality = loc;
    return PTM_SUCCESS;
}

uint32_t dev_set_buffersize(struct dev *d, uint32_t want)
{
    if (want != 0) {
        if (want < DEV_BUFFER_MIN) {
            want = DEV_BUFFER_MIN;
        }
        if (want > DEV_BUFFER_MAX) {
            want = DEV_BUFFER_MAX;
        }
        d->buffersize = want;
    }
    return d->buffersize;
}

/*
 * The vTPM device (see dev.h): engine lifecycle, durable commits with roll-back, volatile
 * state, state blobs, DRTM hash.
 */
#include "dev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/rw.h"
#include "common/secret.h"
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

static void dev_blob_cache_drop(struct dev *d)
{
    if (d->blob_cache.p) {
        secret_wipe(d->blob_cache.p, d->blob_cache.len);
        free(d->blob_cache.p);
    }
    memset(&d->blob_cache, 0, sizeof(d->blob_cache));
}

int dev_open(struct dev *d, const struct tpm_profile *profile)
{
    memset(d, 0, sizeof(*d));
    d->buffersize = DEV_BUFFER_MAX;
    d->vm_id = "";
    d->tpm = tpm_new(profile, NULL);
    return d->tpm ? 0 : -ENOMEM;
}

int dev_load(struct dev *d, const uint8_t *state, size_t len)
{
    return tpm_state_load(d->tpm, TPM_STATE_PERMANENT, state, len);
}

int dev_save(struct dev *d, struct tpm_buf *out)
{
    return tpm_state_save(d->tpm, TPM_STATE_PERMANENT, out);
}

void dev_attach(struct dev *d, struct store *s)
{
    d->store = s;
}

void dev_close(struct dev *d)
{
    tpm_free(d->tpm);
    d->tpm = NULL;
    tpm_buf_free(&d->pending_volatile);
    dev_blob_cache_drop(d);
    WIPE(&d->keys);
}

/*
 * Return the engine to the permanent state the file holds (store_read: what a later open
 * finds). Loading the permanent part may power the engine off (tpm.h); a powered engine is
 * then powered on again with the volatile state it had, so that only the failed command's
 * persistent effects are undone. Without a readable file the engine cannot know its durable
 * state and enters failure mode rather than run ahead of the disk.
 */
static void dev_rollback(struct dev *d)
{
    struct tpm_buf vol = {0};
    struct store_blob disk = {0};
    bool powered = tpm_is_powered(d->tpm);
    int rc;

    if (powered && tpm_state_save(d->tpm, TPM_STATE_VOLATILE, &vol) != 0) {
        tpm_buf_free(&vol);
    }
    rc = store_read(d->store, &disk);
    if (rc != 0) {
        log_msg(LOG_ERR, "the state file cannot be read back (%s); the TPM enters failure mode",
                store_message(d->store));
        tpm_enter_failure(d->tpm);
    } else if (tpm_state_load(d->tpm, TPM_STATE_PERMANENT, disk.data, disk.len) != 0) {
        log_msg(LOG_ERR, "the state read back from the file was refused by the engine; the TPM "
                         "enters failure mode");
        tpm_enter_failure(d->tpm);
    } else if (powered && !tpm_is_powered(d->tpm)) {
        tpm_init(d->tpm);
        if (vol.len > 0 && tpm_state_load(d->tpm, TPM_STATE_VOLATILE, vol.data, vol.len) != 0) {
            log_msg(LOG_ERR, "the volatile state could not be restored after a roll-back");
        }
    }
    store_blob_free(&disk);
    tpm_buf_free(&vol);
}

/* Commit the engine's permanent state, whether or not it changed; roll back on failure. */
static int dev_save_permanent(struct dev *d)
{
    struct tpm_buf b = {0};
    int rc = tpm_state_save(d->tpm, TPM_STATE_PERMANENT, &b);
    if (rc != 0) {
        log_msg(LOG_ERR, "the TPM state could not be serialized (%s)", strerror(-rc));
    } else if (d->store) {
        rc = store_commit(d->store, b.data, b.len);
        if (rc != 0) {
            log_msg(LOG_ERR, "%s; the change is undone", store_message(d->store));
            dev_rollback(d);
        }
    }
    tpm_buf_free(&b);
    return rc;
}

int dev_commit(struct dev *d)
{
    if (!tpm_state_dirty(d->tpm)) {
        return 0;
    }
    return dev_save_permanent(d);
}

/* The volatile state the file holds (CMD_STORE_VOLATILE), deleted from it if asked. */
static uint32_t dev_restore_volatile(struct dev *d, bool delete_volatile)
{
    struct store_blob vol = {0};
    uint32_t res = PTM_SUCCESS;
    int rc;

    if (!d->store) {
        return PTM_SUCCESS;
    }
    rc = store_take_volatile(d->store, &vol, delete_volatile);
    if (rc == 0) {
        if (tpm_state_load(d->tpm, TPM_STATE_VOLATILE, vol.data, vol.len) != 0) {
            log_msg(LOG_ERR, "INIT: the stored volatile state does not fit this TPM");
            res = PTM_FAIL;
        } else {
            log_msg(LOG_CMD, "INIT: volatile state restored%s",
                    delete_volatile ? " and deleted" : "");
        }
    } else if (rc != -ENOENT) {
        log_msg(LOG_ERR, "INIT: the stored volatile state cannot be read: %s",
                store_message(d->store));
        res = PTM_FAIL;
    }
    store_blob_free(&vol);
    return res;
}

/* A volatile state that came with SET_STATEBLOB replaces whatever the file holds. */
static uint32_t dev_apply_pending_volatile(struct dev *d, bool delete_volatile)
{
    uint32_t res = PTM_SUCCESS;
    if (tpm_state_load(d->tpm, TPM_STATE_VOLATILE, d->pending_volatile.data,
                       d->pending_volatile.len) != 0) {
        log_msg(LOG_ERR, "INIT: the volatile state blob does not fit this TPM's permanent state");
        res = PTM_FAIL;
    } else {
        log_msg(LOG_CMD, "INIT: resumed from the volatile state blob");
    }
    tpm_buf_free(&d->pending_volatile);
    /* An older stored volatile state must not come back at a later INIT. */
    if (res == PTM_SUCCESS && delete_volatile && d->store) {
        struct store_blob old = {0};
        int rc = store_take_volatile(d->store, &old, true);
        store_blob_free(&old);
        if (rc != 0 && rc != -ENOENT) {
            log_msg(LOG_ERR, "INIT: the stored volatile state could not be deleted: %s",
                    store_message(d->store));
            res = PTM_FAIL;
        }
    }
    return res;
}

uint32_t dev_init(struct dev *d, bool delete_volatile)
{
    uint32_t res;

    dev_stop(d);
    dev_blob_cache_drop(d);
    tpm_init(d->tpm);
    if (d->pending_volatile.data) {
        res = dev_apply_pending_volatile(d, delete_volatile);
    } else {
        res = dev_restore_volatile(d, delete_volatile);
    }
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
    if (d->blob_cache.p) {
        dev_blob_cache_drop(d);
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
    if (rc != 0) {
        log_msg(LOG_ERR, "STORE_VOLATILE: the volatile state could not be serialized (%s)",
                strerror(-rc));
    } else if (d->store) {
        rc = store_put_volatile(d->store, vol.data, vol.len);
        if (rc != 0) {
            log_msg(LOG_ERR, "STORE_VOLATILE: %s", store_message(d->store));
        }
    }
    tpm_buf_free(&vol);
    return rc == 0 ? PTM_SUCCESS : PTM_FAIL;
}

static uint32_t dev_make_stateblob(struct dev *d, uint32_t type, uint32_t flags, uint8_t **out,
                                   size_t *out_len, uint32_t *rsp_flags);

uint32_t dev_get_stateblob(struct dev *d, uint32_t type, uint32_t flags, bool fresh,
                           uint8_t **out, size_t *out_len, uint32_t *rsp_flags)
{
    if (fresh || !d->blob_cache.p || d->blob_cache.type != type || d->blob_cache.flags != flags) {
        uint32_t res = dev_make_stateblob(d, type, flags, out, out_len, rsp_flags);
        dev_blob_cache_drop(d);
        if (res == PTM_SUCCESS && (d->blob_cache.p = malloc(*out_len)) != NULL) {
            memcpy(d->blob_cache.p, *out, *out_len);
            d->blob_cache.len = *out_len;
            d->blob_cache.type = type;
            d->blob_cache.flags = flags;
            d->blob_cache.rsp_flags = *rsp_flags;
        }
        return res;
    }
    *out = malloc(d->blob_cache.len);
    if (!*out) {
        return PTM_FAIL;
    }
    memcpy(*out, d->blob_cache.p, d->blob_cache.len);
    *out_len = d->blob_cache.len;
    *rsp_flags = d->blob_cache.rsp_flags;
    return PTM_SUCCESS;
}

static uint32_t dev_make_stateblob(struct dev *d, uint32_t type, uint32_t flags, uint8_t **out,
                                   size_t *out_len, uint32_t *rsp_flags)
{
    struct tpm_buf state = {0};
    enum blob_seal seal = BLOB_PLAIN;
    uint8_t *buf = NULL;
    uint32_t res = PTM_FAIL;
    size_t cap, n;
    int rc;

    *out = NULL;
    *out_len = 0;
    *rsp_flags = 0;
    if (type == BLOB_TYPE_SAVESTATE) {
        return PTM_RETRY; /* a TPM 2 keeps its saved state inside the permanent state */
    }
    if (type != BLOB_TYPE_PERMANENT && type != BLOB_TYPE_VOLATILE) {
        return PTM_BAD_PARAMETER;
    }
    /* Without DECRYPTED the blob stays under the state-file key (swtpm's ENCRYPTED layer). */
    if (!(flags & PTM_STATE_FLAG_DECRYPTED) && d->keys.has[BLOB_STATE]) {
        seal = BLOB_STATE;
        *rsp_flags = PTM_STATE_FLAG_ENCRYPTED;
    } else if (d->keys.has[BLOB_MIGRATION]) {
        seal = BLOB_MIGRATION;
    }
    rc = tpm_state_save(
        d->tpm, type == BLOB_TYPE_PERMANENT ? TPM_STATE_PERMANENT : TPM_STATE_VOLATILE, &state);
    if (rc != 0) {
        log_msg(LOG_ERR, "GET_STATEBLOB: the state could not be serialized (%s)", strerror(-rc));
        goto out;
    }
    cap = blob_encoded_len(seal, state.len);
    if (cap > BLOB_MAX) {
        log_msg(LOG_ERR, "GET_STATEBLOB: the state blob would be %zu bytes, over the %u-byte limit",
                cap, BLOB_MAX);
        goto out;
    }
    buf = malloc(cap);
    if (!buf) {
        goto out;
    }
    n = blob_encode((uint16_t)type, seal, &d->keys, d->vm_id, state.data, state.len, buf, cap);
    if (n == 0) {
        log_msg(LOG_ERR, "GET_STATEBLOB: the state blob could not be sealed");
        secret_wipe(buf, cap);
        free(buf);
        goto out;
    }
    *out = buf;
    *out_len = n;
    res = PTM_SUCCESS;
out:
    tpm_buf_free(&state);
    return res;
}

uint32_t dev_set_stateblob(struct dev *d, uint32_t type, uint32_t flags, const uint8_t *blob,
                           size_t len)
{
    struct tpm_buf state = {0};
    enum blob_seal seal;
    char why[256];
    uint32_t res = PTM_BAD_PARAMETER;
    int rc;

    if (type == BLOB_TYPE_SAVESTATE) {
        log_msg(LOG_ERR, "SET_STATEBLOB refused: a TPM 2 has no separate savestate blob");
        return PTM_BAD_PARAMETER;
    }
    if (type != BLOB_TYPE_PERMANENT && type != BLOB_TYPE_VOLATILE) {
        log_msg(LOG_ERR, "SET_STATEBLOB refused: unknown blob type %u", type);
        return PTM_BAD_PARAMETER;
    }
    rc =
        blob_decode(blob, len, (uint16_t)type, &d->keys, d->vm_id, &state, &seal, why, sizeof(why));
    if (rc != 0) {
        log_msg(LOG_ERR, "SET_STATEBLOB refused: %s", why);
        return rc == -ENOMEM ? PTM_FAIL : PTM_BAD_PARAMETER;
    }
    /* The flag says whether the state-file key layer is on: it must agree with the blob. */
    if (((flags & PTM_STATE_FLAG_ENCRYPTED) != 0) != (seal == BLOB_STATE)) {
        log_msg(LOG_ERR, "SET_STATEBLOB refused: the ENCRYPTED flag does not match the blob");
        goto out;
    }
    /* With a migration key, state must arrive sealed: a plain blob could come from anyone. */
    if (seal == BLOB_PLAIN && d->keys.has[BLOB_MIGRATION]) {
        log_msg(LOG_ERR, "SET_STATEBLOB refused: --migration-key was given and the blob is not "
                         "sealed under it");
        goto out;
    }
    if (type == BLOB_TYPE_VOLATILE) {
        tpm_buf_free(&d->pending_volatile);
        d->pending_volatile = state;
        memset(&state, 0, sizeof(state));
        log_msg(LOG_CMD, "SET_STATEBLOB: volatile state kept for the next INIT");
        res = PTM_SUCCESS;
        goto out;
    }
    if (tpm_state_load(d->tpm, TPM_STATE_PERMANENT, state.data, state.len) != 0) {
        log_msg(LOG_ERR, "SET_STATEBLOB refused: the engine does not read this permanent state");
        goto out;
    }
    /* A volatile state taken beside another permanent state cannot follow this one: not a
     * pending blob, nor one the file holds from this vTPM's earlier life. */
    tpm_buf_free(&d->pending_volatile);
    res = dev_save_permanent(d) == 0 ? PTM_SUCCESS : PTM_FAIL;
    if (res == PTM_SUCCESS && d->store) {
        struct store_blob old = {0};
        rc = store_take_volatile(d->store, &old, true);
        store_blob_free(&old);
        if (rc != 0 && rc != -ENOENT) {
            log_msg(LOG_ERR,
                    "SET_STATEBLOB: the stored volatile state of the replaced state "
                    "could not be removed: %s",
                    store_message(d->store));
            res = PTM_FAIL;
        }
    }
    if (res == PTM_SUCCESS) {
        log_msg(LOG_CMD, "SET_STATEBLOB: permanent state replaced and committed");
    }
out:
    tpm_buf_free(&state);
    return res;
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

/*
 * The commands of vtpmctl (see commands.h): the association rules of images, VMs and vTPMs
 * (docs/vtpmctl.md, "Rules") are checked here, before anything is created, and again by the
 * registry's schema when rows are written.
 */
#include "ctl/commands.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/secret.h"
#include "ctl/fault.h"
#include "ctl/vmops.h"

#define MAX_COUNT 50
#define MAX_IDS 64
#define ID_TRIES 16

/* ---- option values ---- */

static int parse_bool(struct ctl *c, const char *opt, const char *v, bool *out)
{
    if (strcmp(v, "true") == 0) {
        *out = true;
    } else if (strcmp(v, "false") == 0) {
        *out = false;
    } else {
        return ctl_fail(&c->err, CTL_E_VALUE, "--%s: '%s' is not a boolean (true or false)",
                        opt, v);
    }
    return 0;
}

static int parse_boot_mode(struct ctl *c, const char *opt, const char *v, unsigned *out)
{
    if (strcmp(v, "uefi") == 0) {
        *out = REG_BOOT_UEFI;
    } else if (strcmp(v, "legacy") == 0) {
        *out = REG_BOOT_LEGACY;
    } else {
        return ctl_fail(&c->err, CTL_E_VALUE, "--%s: '%s' is not a boot mode (uefi or legacy)",
                        opt, v);
    }
    return 0;
}

static int parse_boot_modes(struct ctl *c, const char *v, unsigned *out)
{
    char buf[64];
    char *save = NULL;
    *out = 0;
    if (strlen(v) >= sizeof(buf) || v[0] == '\0') {
        return ctl_fail(&c->err, CTL_E_VALUE, "--boot-modes: '%s' is not a list of boot modes "
                        "(uefi, legacy or uefi,legacy)", v);
    }
    memcpy(buf, v, strlen(v) + 1);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned m = 0;
        if (parse_boot_mode(c, "boot-modes", t, &m) != 0) {
            return -1;
        }
        if (*out & m) {
            return ctl_fail(&c->err, CTL_E_VALUE, "--boot-modes: '%s' is listed twice", t);
        }
        *out |= m;
    }
    if (*out == 0 || v[strlen(v) - 1] == ',' || strstr(v, ",,") || v[0] == ',') {
        return ctl_fail(&c->err, CTL_E_VALUE, "--boot-modes: '%s' is not a list of boot modes "
                        "(uefi, legacy or uefi,legacy)", v);
    }
    return 0;
}

/* A comma-separated list of ids of one kind ("i" VMs, "ami" images), none twice. */
struct id_list {
    char ids[MAX_IDS][REG_ID_MAX];
    int n;
};

static int parse_ids(struct ctl *c, const char *opt, const char *prefix, const char *v,
                     struct id_list *l)
{
    const char *p = v;
    l->n = 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char id[REG_ID_MAX];
        if (len == 0 || len >= sizeof(id)) {
            return ctl_fail(&c->err, CTL_E_VALUE, "--%s: '%s' is not a comma-separated list "
                            "of ids like %s-0123abcd", opt, v, prefix);
        }
        memcpy(id, p, len);
        id[len] = '\0';
        if (!ctl_id_valid(prefix, id)) {
            return ctl_fail(&c->err, CTL_E_VALUE, "--%s: '%s' is not an id of the form "
                            "%s-0123abcd (8 lowercase hexadecimal digits)", opt, id, prefix);
        }
        for (int i = 0; i < l->n; i++) {
            if (strcmp(l->ids[i], id) == 0) {
                return ctl_fail(&c->err, CTL_E_VALUE, "--%s: %s is listed twice", opt, id);
            }
        }
        if (l->n == MAX_IDS) {
            return ctl_fail(&c->err, CTL_E_VALUE, "--%s: more than %d ids", opt, MAX_IDS);
        }
        memcpy(l->ids[l->n++], id, len + 1);
        if (!end) {
            return 0;
        }
        p = end + 1;
    }
}

/* The read-* filters. An optional true|false filter: -1 when not given, else 0 or 1. */
static int filter_bool(struct ctl *c, const struct cmd_args *a, const char *opt, int *out)
{
    const char *v = cmd_arg(a, opt);
    bool b = false;
    *out = -1;
    if (v == NULL) {
        return 0;
    }
    if (parse_bool(c, opt, v, &b) != 0) {
        return -1;
    }
    *out = b;
    return 0;
}

/* An optional list of ids with this prefix; *given says whether the option was there. */
static int filter_ids(struct ctl *c, const struct cmd_args *a, const char *opt, const char *prefix,
                      struct id_list *l, bool *given)
{
    const char *v = cmd_arg(a, opt);
    *given = v != NULL;
    return v == NULL ? 0 : parse_ids(c, opt, prefix, v, l);
}

static bool in_list(const struct id_list *l, const char *id)
{
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->ids[i], id) == 0) {
            return true;
        }
    }
    return false;
}

static int parse_count(struct ctl *c, const char *opt, const char *v, long lo, long hi,
                       long *out)
{
    char *end;
    long n;
    errno = 0;
    n = strtol(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n < lo || n > hi) {
        return ctl_fail(&c->err, CTL_E_VALUE, "--%s: '%s' is not a whole number from %ld to "
                        "%ld", opt, v, lo, hi);
    }
    *out = n;
    return 0;
}

static int check_text(struct ctl *c, const char *opt, const char *v, size_t max)
{
    size_t n = strlen(v);
    if (n == 0 || n > max) {
        return ctl_fail(&c->err, CTL_E_VALUE, "--%s: must be 1 to %zu characters (got %zu)",
                        opt, max, n);
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e) {
            return ctl_fail(&c->err, CTL_E_VALUE, "--%s: only printable ASCII characters are "
                            "accepted (byte %zu is 0x%02x)", opt, i, (unsigned char)v[i]);
        }
    }
    return 0;
}

/* An absolute path to an existing regular file (what QEMU will boot). */
static int check_file(struct ctl *c, const char *opt, const char *v)
{
    struct stat st;
    if (check_text(c, opt, v, 1024) != 0) {
        return -1;
    }
    if (v[0] != '/') {
        return ctl_fail(&c->err, CTL_E_VALUE, "--%s: '%s' is not an absolute path", opt, v);
    }
    if (stat(v, &st) != 0 || !S_ISREG(st.st_mode)) {
        return ctl_fail(&c->err, CTL_E_VALUE, "--%s: '%s' is not an existing regular file",
                        opt, v);
    }
    return 0;
}

/* ---- output ---- */

static void response_context(struct ctl *c)
{
    uint8_t r[16];
    char id[40];
    struct ctl_err ignore = {0};
    if (key_random_public(r, sizeof(r), &ignore) != 0) {
        memset(r, 0, sizeof(r));
    }
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    snprintf(id, sizeof(id),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
             r[15]);
    json_key(&c->out, "ResponseContext");
    json_obj_begin(&c->out);
    json_kv_str(&c->out, "RequestId", id);
    json_obj_end(&c->out);
}

static void boot_modes_json(struct json *j, unsigned modes)
{
    json_arr_begin(j);
    if (modes & REG_BOOT_UEFI) {
        json_str(j, "uefi");
    }
    if (modes & REG_BOOT_LEGACY) {
        json_str(j, "legacy");
    }
    json_arr_end(j);
}

static void image_json(struct json *j, const struct reg_image *im)
{
    json_obj_begin(j);
    json_kv_str(j, "ImageId", im->image_id);
    json_kv_str(j, "ImageName", im->name);
    json_key(j, "BootModes");
    boot_modes_json(j, im->boot_modes);
    json_kv_bool(j, "TpmMandatory", im->tpm_mandatory);
    json_kv_bool(j, "SecureBoot", im->secure_boot);
    json_kv_str(j, "CreationDate", im->created_at);
    json_kv_str(j, "State", "available");
    json_kv_str(j, "Architecture", "x86_64");
    json_kv_str(j, "ImageType", "machine");
    if (im->disk) {
        json_kv_str(j, "FileLocation", im->disk);
    }
    if (im->kernel) {
        json_kv_str(j, "KernelFile", im->kernel);
    }
    if (im->initrd) {
        json_kv_str(j, "InitrdFile", im->initrd);
    }
    if (im->cmdline) {
        json_kv_str(j, "KernelCmdline", im->cmdline);
    }
    json_obj_end(j);
}

/* One VM; state is what is reported (the registry's, or what the processes say). */
static int vm_json(struct ctl *c, const struct reg_vm *vm, enum reg_vm_state state)
{
    struct json *j = &c->out;
    json_obj_begin(j);
    json_kv_str(j, "VmId", vm->vm_id);
    json_kv_str(j, "ImageId", vm->image_id);
    json_kv_str(j, "BootMode", reg_boot_name(vm->boot_mode));
    json_kv_bool(j, "TpmEnabled", vm->tpm_enabled);
    json_kv_str(j, "State", reg_vm_state_name(state));
    json_kv_str(j, "CreationDate", vm->created_at);
    if (vm->terminated_at[0]) {
        json_kv_str(j, "DeletionDate", vm->terminated_at);
    }
    json_kv_str(j, "Architecture", "x86_64");
    if (vm->tpm_enabled && c->reg) {
        struct reg_vtpm v;
        int rc = reg_vtpm_get(c->reg, vm->vm_id, &v, &c->err);
        secret_wipe(v.wrapped_key, sizeof(v.wrapped_key));
        if (rc < 0) {
            return -1;
        }
        json_key(j, "Vtpm");
        json_obj_begin(j);
        if (rc == 0) {
            json_kv_str(j, "VtpmId", v.vtpm_id);
            json_kv_str(j, "State", v.destroyed_at[0] ? "destroyed" : "attached");
            json_kv_str(j, "CreationDate", v.created_at);
            if (v.destroyed_at[0]) {
                json_kv_str(j, "DestructionDate", v.destroyed_at);
            }
        } else {
            json_kv_str(j, "State", "missing");
        }
        json_obj_end(j);
    }
    json_obj_end(j);
    return 0;
}

static void transition_json(struct json *j, const char *vm_id, enum reg_vm_state before,
                            enum reg_vm_state after)
{
    json_obj_begin(j);
    json_kv_str(j, "VmId", vm_id);
    json_kv_str(j, "PreviousState", reg_vm_state_name(before));
    json_kv_str(j, "CurrentState", reg_vm_state_name(after));
    json_obj_end(j);
}

/* ---- a write command's transaction: lock, sweep ---- */

static int begin_write(struct ctl *c)
{
    if (reg_begin(c->reg, &c->err) != 0) {
        return -1;
    }
    if (ctl_sweep(c) != 0) {
        reg_rollback(c->reg);
        return -1;
    }
    return 0;
}

/* ---- images ---- */

int cmd_create_image(struct ctl *c, const struct cmd_args *a)
{
    struct reg_image im;
    const char *name = cmd_arg(a, "image-name"), *modes = cmd_arg(a, "boot-modes");
    int rc = -1;

    memset(&im, 0, sizeof(im));
    if (!name) {
        return ctl_fail(&c->err, CTL_E_MISSING, "create-image: --image-name is required");
    }
    if (!modes) {
        return ctl_fail(&c->err, CTL_E_MISSING, "create-image: --boot-modes is required "
                        "(uefi, legacy or uefi,legacy)");
    }
    if (check_text(c, "image-name", name, REG_NAME_MAX) != 0 ||
        parse_boot_modes(c, modes, &im.boot_modes) != 0) {
        return -1;
    }
    snprintf(im.name, sizeof(im.name), "%s", name);
    im.tpm_mandatory = cmd_arg(a, "tpm-mandatory") != NULL;
    im.secure_boot = false;
    const char *files[][2] = {{"kernel", NULL}, {"initrd", NULL}, {"file-location", NULL}};
    for (size_t i = 0; i < 3; i++) {
        files[i][1] = cmd_arg(a, files[i][0]);
        if (files[i][1] && check_file(c, files[i][0], files[i][1]) != 0) {
            return -1;
        }
    }
    if (cmd_arg(a, "kernel-cmdline") &&
        check_text(c, "kernel-cmdline", cmd_arg(a, "kernel-cmdline"), 1024) != 0) {
        return -1;
    }
    if ((cmd_arg(a, "initrd") || cmd_arg(a, "kernel-cmdline")) && !cmd_arg(a, "kernel")) {
        return ctl_fail(&c->err, CTL_E_MISSING, "create-image: --initrd and --kernel-cmdline "
                        "need --kernel");
    }
    /* The image's fields are fixed from here on: no command changes an image (rule 1). */
    im.kernel = files[0][1] ? strdup(files[0][1]) : NULL;
    im.initrd = files[1][1] ? strdup(files[1][1]) : NULL;
    im.disk = files[2][1] ? strdup(files[2][1]) : NULL;
    im.cmdline = cmd_arg(a, "kernel-cmdline") ? strdup(cmd_arg(a, "kernel-cmdline")) : NULL;
    ctl_now(im.created_at);
    if (ctl_open(c, true) != 0 || begin_write(c) != 0) {
        goto out;
    }
    for (int tries = 0;; tries++) {
        struct reg_image other;
        int g;
        if (ctl_new_id("ami", im.image_id, &c->err) != 0) {
            goto rollback;
        }
        g = reg_image_get(c->reg, im.image_id, &other, &c->err);
        reg_image_clear(&other);
        if (g < 0) {
            goto rollback;
        }
        if (g == REG_NOT_FOUND) {
            break;
        }
        if (tries == ID_TRIES) {
            ctl_fail(&c->err, CTL_E_INTERNAL, "no free image id after %d tries", ID_TRIES);
            goto rollback;
        }
    }
    if (reg_image_insert(c->reg, &im, &c->err) != 0 || reg_commit(c->reg, &c->err) != 0) {
        goto rollback;
    }
    json_obj_begin(&c->out);
    json_key(&c->out, "Image");
    image_json(&c->out, &im);
    response_context(c);
    json_obj_end(&c->out);
    rc = 0;
    goto out;
rollback:
    reg_rollback(c->reg);
out:
    reg_image_clear(&im);
    return rc;
}

struct image_filter {
    struct ctl *c;
    int tpm_mandatory; /* -1: any */
    struct id_list ids;
    bool by_id;
};

static int image_each(const struct reg_image *im, void *ctx)
{
    struct image_filter *f = ctx;
    if (f->tpm_mandatory >= 0 && im->tpm_mandatory != (f->tpm_mandatory == 1)) {
        return 0;
    }
    if (f->by_id && !in_list(&f->ids, im->image_id)) {
        return 0;
    }
    image_json(&f->c->out, im);
    return 0;
}

int cmd_read_images(struct ctl *c, const struct cmd_args *a)
{
    struct image_filter *f = calloc(1, sizeof(*f));
    int rc = -1;
    if (!f) {
        return ctl_fail(&c->err, CTL_E_INTERNAL, "out of memory");
    }
    f->c = c;
    if (filter_bool(c, a, "filter-tpm-mandatory", &f->tpm_mandatory) != 0 ||
        filter_ids(c, a, "filter-image-ids", "ami", &f->ids, &f->by_id) != 0 ||
        ctl_open(c, false) != 0) {
        goto out;
    }
    json_obj_begin(&c->out);
    json_key(&c->out, "Images");
    json_arr_begin(&c->out);
    if (c->reg && reg_image_each(c->reg, image_each, f, &c->err) != 0) {
        goto out;
    }
    json_arr_end(&c->out);
    response_context(c);
    json_obj_end(&c->out);
    rc = 0;
out:
    free(f);
    return rc;
}

static int list_users(const struct reg_vm *vm, void *ctx)
{
    void **p = ctx;
    const char *image_id = p[0];
    char *buf = p[1];
    if (strcmp(vm->image_id, image_id) == 0 && vm->state != REG_VM_TERMINATED &&
        strlen(buf) < 200) {
        strcat(buf, buf[0] ? ", " : "");
        strcat(buf, vm->vm_id);
    }
    return 0;
}

int cmd_delete_image(struct ctl *c, const struct cmd_args *a)
{
    const char *id = cmd_arg(a, "image-id");
    struct reg_image im;
    long users = 0;
    int g;
    if (!id) {
        return ctl_fail(&c->err, CTL_E_MISSING, "delete-image: --image-id is required");
    }
    if (!ctl_id_valid("ami", id)) {
        return ctl_fail(&c->err, CTL_E_VALUE, "--image-id: '%s' is not an id of the form "
                        "ami-0123abcd", id);
    }
    if (ctl_open(c, true) != 0 || begin_write(c) != 0) {
        return -1;
    }
    g = reg_image_get(c->reg, id, &im, &c->err);
    reg_image_clear(&im);
    if (g == REG_NOT_FOUND) {
        ctl_fail(&c->err, CTL_E_NOT_FOUND, "image %s does not exist; nothing was deleted", id);
    }
    if (g != 0 || reg_image_users(c->reg, id, &users, &c->err) != 0) {
        goto rollback;
    }
    if (users > 0) {
        char names[256] = "";
        void *ctx[] = {(void *)id, names};
        reg_vm_each(c->reg, list_users, ctx, &c->err);
        ctl_fail(&c->err, CTL_E_DEPENDENCY, "image %s is used by %ld VM%s (%s); it cannot be "
                 "deleted until they are terminated; nothing was deleted", id, users,
                 users == 1 ? "" : "s", names);
        goto rollback;
    }
    if (reg_image_delete(c->reg, id, &c->err) != 0 || reg_commit(c->reg, &c->err) != 0) {
        goto rollback;
    }
    json_obj_begin(&c->out);
    response_context(c);
    json_obj_end(&c->out);
    return 0;
rollback:
    reg_rollback(c->reg);
    return -1;
}

/* ---- VMs ---- */

/* Rules 2 and 3: does a VM of this image, asked with these options, get a vTPM, and in which
 * boot mode? Refuses (CTL_E_RULE) before anything is created. */
static int decide_vm(struct ctl *c, const struct reg_image *im, const char *boot_arg,
                     const char *tpm_arg, unsigned *boot_mode, bool *tpm)
{
    bool asked_tpm = false;
    if (tpm_arg && parse_bool(c, "tpm-enabled", tpm_arg, &asked_tpm) != 0) {
        return -1;
    }
    if (boot_arg) {
        if (parse_boot_mode(c, "boot-mode", boot_arg, boot_mode) != 0) {
            return -1;
        }
    } else {
        *boot_mode = (im->boot_modes & REG_BOOT_UEFI) ? REG_BOOT_UEFI : REG_BOOT_LEGACY;
    }
    if (im->tpm_mandatory) {
        if (tpm_arg && !asked_tpm) {
            return ctl_fail(&c->err, CTL_E_RULE, "image %s has TpmMandatory: every VM made "
                            "from it has a vTPM, so --tpm-enabled false is refused; nothing "
                            "was created", im->image_id);
        }
        *tpm = true;
    } else {
        *tpm = asked_tpm;
    }
    if (*tpm && im->boot_modes != REG_BOOT_UEFI) {
        return ctl_fail(&c->err, CTL_E_RULE, "a vTPM requires UEFI, but image %s boots in %s "
                        "mode (it is not UEFI-only), and its VMs %s; nothing was created",
                        im->image_id,
                        im->boot_modes == REG_BOOT_LEGACY ? "legacy" : "uefi and legacy",
                        im->tpm_mandatory ? "must have a vTPM (TpmMandatory)"
                                          : "were asked with --tpm-enabled true");
    }
    if (*tpm && *boot_mode != REG_BOOT_UEFI) {
        return ctl_fail(&c->err, CTL_E_RULE, "a vTPM requires UEFI, but the VM was asked with "
                        "--boot-mode legacy; nothing was created");
    }
    if (!(im->boot_modes & *boot_mode)) {
        return ctl_fail(&c->err, CTL_E_RULE, "image %s does not boot in %s mode (its boot "
                        "modes: %s); nothing was created", im->image_id,
                        reg_boot_name(*boot_mode),
                        im->boot_modes == REG_BOOT_UEFI ? "uefi" : "legacy");
    }
    return 0;
}

int cmd_create_vms(struct ctl *c, const struct cmd_args *a)
{
    const char *image_id = cmd_arg(a, "image-id");
    struct reg_image im;
    struct reg_vm *vms = NULL;
    bool *made = NULL;
    long count = 1;
    unsigned boot_mode = 0;
    bool tpm = false;
    int g, rc = -1;
    long done = 0;

    memset(&im, 0, sizeof(im));
    if (!image_id) {
        return ctl_fail(&c->err, CTL_E_MISSING, "create-vms: --image-id is required");
    }
    if (!ctl_id_valid("ami", image_id)) {
        return ctl_fail(&c->err, CTL_E_VALUE, "--image-id: '%s' is not an id of the form "
                        "ami-0123abcd", image_id);
    }
    if (cmd_arg(a, "count") && parse_count(c, "count", cmd_arg(a, "count"), 1, MAX_COUNT,
                                           &count) != 0) {
        return -1;
    }
    /* Values are checked before the registry is touched; rules once the image is known. */
    if (cmd_arg(a, "boot-mode") && parse_boot_mode(c, "boot-mode", cmd_arg(a, "boot-mode"),
                                                   &boot_mode) != 0) {
        return -1;
    }
    if (cmd_arg(a, "tpm-enabled") &&
        parse_bool(c, "tpm-enabled", cmd_arg(a, "tpm-enabled"), &tpm) != 0) {
        return -1;
    }
    vms = calloc((size_t)count, sizeof(*vms));
    made = calloc((size_t)count, sizeof(*made));
    if (!vms || !made) {
        ctl_fail(&c->err, CTL_E_INTERNAL, "out of memory");
        goto out;
    }
    if (ctl_open(c, true) != 0 || begin_write(c) != 0) {
        goto out;
    }
    g = reg_image_get(c->reg, image_id, &im, &c->err);
    if (g == REG_NOT_FOUND) {
        ctl_fail(&c->err, CTL_E_NOT_FOUND, "image %s does not exist; nothing was created",
                 image_id);
    }
    if (g != 0 || decide_vm(c, &im, cmd_arg(a, "boot-mode"), cmd_arg(a, "tpm-enabled"),
                            &boot_mode, &tpm) != 0) {
        goto rollback;
    }
    for (done = 0; done < count; done++) {
        struct reg_vm *vm = &vms[done];
        for (int tries = 0;; tries++) {
            struct reg_vm other;
            char dir[PATH_MAX];
            struct stat st;
            if (ctl_new_id("i", vm->vm_id, &c->err) != 0) {
                goto rollback;
            }
            g = reg_vm_get(c->reg, vm->vm_id, &other, &c->err);
            if (g < 0 || ctl_path(c, dir, "vtpm/%s", vm->vm_id) != 0) {
                goto rollback;
            }
            if (g == REG_NOT_FOUND && lstat(dir, &st) != 0) {
                break;
            }
            if (tries == ID_TRIES) {
                ctl_fail(&c->err, CTL_E_INTERNAL, "no free VM id after %d tries", ID_TRIES);
                goto rollback;
            }
        }
        snprintf(vm->image_id, sizeof(vm->image_id), "%s", im.image_id);
        vm->boot_mode = boot_mode;
        vm->tpm_enabled = tpm;
        vm->state = REG_VM_STOPPED;
        ctl_now(vm->created_at);
        if (reg_vm_insert(c->reg, vm, &c->err) != 0) {
            goto rollback;
        }
        /* Rule 4: the vTPM is made and attached now, as a new chip, or the VM is not made. */
        if (tpm && vm_vtpm_create(c, vm->vm_id, vm->created_at, &made[done]) != 0) {
            done++;
            goto rollback;
        }
    }
    ctl_fault("create-vms:before-commit");
    if (ctl_fault_fail("create-vms:commit") != 0) {
        ctl_fail(&c->err, CTL_E_REGISTRY, "committing the new VMs failed (injected); nothing "
                 "was created");
        goto rollback;
    }
    if (reg_commit(c->reg, &c->err) != 0) {
        goto undo_files;
    }
    ctl_fault("create-vms:after-commit");
    json_obj_begin(&c->out);
    json_key(&c->out, "Vms");
    json_arr_begin(&c->out);
    for (long i = 0; i < count; i++) {
        if (vm_json(c, &vms[i], REG_VM_STOPPED) != 0) {
            goto out;
        }
    }
    json_arr_end(&c->out);
    response_context(c);
    json_obj_end(&c->out);
    rc = 0;
    goto out;
rollback:
    reg_rollback(c->reg);
undo_files:
    /* Nothing was committed: the files made for it go too (the sweep would remove them). */
    for (long i = 0; i < done; i++) {
        if (made[i]) {
            struct ctl_err saved = c->err;
            vm_vtpm_remove_files(c, vms[i].vm_id);
            c->err = saved;
        }
    }
out:
    reg_image_clear(&im);
    free(vms);
    free(made);
    return rc;
}

struct vm_filter {
    struct ctl *c;
    int tpm_enabled; /* -1: any */
    struct id_list ids, images;
    bool by_id, by_image;
    unsigned states; /* bits 1 << reg_vm_state; 0: any */
};

static int vm_each(const struct reg_vm *vm, void *ctx)
{
    struct vm_filter *f = ctx;
    enum reg_vm_state state = vm->state;
    if (f->tpm_enabled >= 0 && vm->tpm_enabled != (f->tpm_enabled == 1)) {
        return 0;
    }
    if ((f->by_id && !in_list(&f->ids, vm->vm_id)) ||
        (f->by_image && !in_list(&f->images, vm->image_id))) {
        return 0;
    }
    /* Read commands change nothing: the State shown is what the processes say. */
    if (state != REG_VM_TERMINATED) {
        state = vm_observe_running(f->c, vm) ? REG_VM_RUNNING : REG_VM_STOPPED;
    }
    if (f->states && !(f->states & (1u << state))) {
        return 0;
    }
    return vm_json(f->c, vm, state) != 0 ? -1 : 0;
}

static int parse_states(struct ctl *c, const char *v, unsigned *out)
{
    char buf[128];
    char *save = NULL;
    if (strlen(v) >= sizeof(buf)) {
        return ctl_fail(&c->err, CTL_E_VALUE, "--filter-vm-states: too long");
    }
    memcpy(buf, v, strlen(v) + 1);
    *out = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "stopped") == 0) {
            *out |= 1u << REG_VM_STOPPED;
        } else if (strcmp(t, "running") == 0) {
            *out |= 1u << REG_VM_RUNNING;
        } else if (strcmp(t, "terminated") == 0) {
            *out |= 1u << REG_VM_TERMINATED;
        } else {
            return ctl_fail(&c->err, CTL_E_VALUE, "--filter-vm-states: '%s' is not a state "
                            "(stopped, running, terminated)", t);
        }
    }
    if (*out == 0) {
        return ctl_fail(&c->err, CTL_E_VALUE, "--filter-vm-states: no state given");
    }
    return 0;
}

int cmd_read_vms(struct ctl *c, const struct cmd_args *a)
{
    struct vm_filter *f = calloc(1, sizeof(*f));
    const char *v;
    int rc = -1;
    if (!f) {
        return ctl_fail(&c->err, CTL_E_INTERNAL, "out of memory");
    }
    f->c = c;
    if (filter_bool(c, a, "filter-tpm-enabled", &f->tpm_enabled) != 0 ||
        filter_ids(c, a, "filter-vm-ids", "i", &f->ids, &f->by_id) != 0 ||
        filter_ids(c, a, "filter-image-ids", "ami", &f->images, &f->by_image) != 0) {
        goto out;
    }
    if ((v = cmd_arg(a, "filter-vm-states")) != NULL && parse_states(c, v, &f->states) != 0) {
        goto out;
    }
    if (ctl_open(c, false) != 0) {
        goto out;
    }
    json_obj_begin(&c->out);
    json_key(&c->out, "Vms");
    json_arr_begin(&c->out);
    if (c->reg && reg_vm_each(c->reg, vm_each, f, &c->err) != 0) {
        goto out;
    }
    json_arr_end(&c->out);
    response_context(c);
    json_obj_end(&c->out);
    rc = 0;
out:
    free(f);
    return rc;
}

/* The VMs a start/stop/reboot/delete names: every id must exist, checked before any change.
 * Their locks are taken in id order (no deadlock between two commands), then each VM is read
 * again and reconciled with its processes. */
struct targets {
    struct id_list ids;
    struct reg_vm vms[MAX_IDS];
    int locks[MAX_IDS];
};

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int targets_open(struct ctl *c, const struct cmd_args *a, bool write, struct targets *t)
{
    const char *v = cmd_arg(a, "vm-ids");
    for (int i = 0; i < MAX_IDS; i++) {
        t->locks[i] = -1;
    }
    if (!v) {
        return ctl_fail(&c->err, CTL_E_MISSING, "%s: --vm-ids is required",
                        cmd_name(a));
    }
    if (parse_ids(c, "vm-ids", "i", v, &t->ids) != 0) {
        return -1;
    }
    qsort(t->ids.ids, (size_t)t->ids.n, sizeof(t->ids.ids[0]), cmp_ids);
    if (ctl_open(c, write) != 0) {
        return -1;
    }
    if (!c->reg) {
        return ctl_fail(&c->err, CTL_E_NOT_FOUND, "VM %s does not exist; nothing was changed",
                        t->ids.ids[0]);
    }
    if (write && begin_write(c) != 0) {
        return -1;
    }
    for (int i = 0; i < t->ids.n; i++) {
        int g = reg_vm_get(c->reg, t->ids.ids[i], &t->vms[i], &c->err);
        if (g == REG_NOT_FOUND) {
            ctl_fail(&c->err, CTL_E_NOT_FOUND, "VM %s does not exist; nothing was changed",
                     t->ids.ids[i]);
        }
        if (g != 0) {
            if (write) {
                reg_rollback(c->reg);
            }
            return -1;
        }
    }
    if (write && reg_commit(c->reg, &c->err) != 0) {
        return -1;
    }
    if (!write) {
        return 0;
    }
    for (int i = 0; i < t->ids.n; i++) {
        if (t->vms[i].state == REG_VM_TERMINATED) {
            continue; /* final: nothing can change it, no lock needed */
        }
        t->locks[i] = ctl_lock_vm(c, t->ids.ids[i], true);
        if (t->locks[i] < 0) {
            return -1;
        }
        if (reg_vm_get(c->reg, t->ids.ids[i], &t->vms[i], &c->err) != 0 ||
            vm_reconcile(c, &t->vms[i], false) != 0) {
            return -1;
        }
    }
    return 0;
}

static void targets_close(struct targets *t)
{
    for (int i = 0; i < MAX_IDS; i++) {
        ctl_unlock(t->locks[i]);
        t->locks[i] = -1;
    }
}

static int refuse_terminated(struct ctl *c, const struct targets *t, const char *what)
{
    for (int i = 0; i < t->ids.n; i++) {
        if (t->vms[i].state == REG_VM_TERMINATED) {
            return ctl_fail(&c->err, CTL_E_STATE, "VM %s is terminated; it cannot be %s; "
                            "nothing was changed", t->vms[i].vm_id, what);
        }
    }
    return 0;
}

int cmd_start_vms(struct ctl *c, const struct cmd_args *a)
{
    struct targets *t = calloc(1, sizeof(*t));
    bool dry = cmd_arg(a, "dry-run") != NULL;
    enum reg_vm_state before[MAX_IDS];
    int started = 0, rc = -1;
    if (!t) {
        return ctl_fail(&c->err, CTL_E_INTERNAL, "out of memory");
    }
    if (targets_open(c, a, !dry, t) != 0 || refuse_terminated(c, t, "started") != 0) {
        goto out;
    }
    json_obj_begin(&c->out);
    if (dry) {
        json_kv_bool(&c->out, "DryRun", true);
    }
    json_key(&c->out, "Vms");
    json_arr_begin(&c->out);
    for (int i = 0; i < t->ids.n; i++) {
        struct reg_vm *vm = &t->vms[i];
        struct reg_image im;
        int g;
        before[i] = vm->state;
        if (!dry && vm->state == REG_VM_RUNNING) {
            continue;
        }
        g = reg_image_get(c->reg, vm->image_id, &im, &c->err);
        if (g == REG_NOT_FOUND) {
            ctl_fail(&c->err, CTL_E_REGISTRY, "the image %s of VM %s is missing from the "
                     "registry", vm->image_id, vm->vm_id);
        }
        if (g != 0) {
            goto undo;
        }
        if (dry) {
            json_obj_begin(&c->out);
            json_kv_str(&c->out, "VmId", vm->vm_id);
        }
        g = vm_start(c, vm, &im, dry);
        reg_image_clear(&im);
        if (g != 0) {
            goto undo;
        }
        if (dry) {
            json_obj_end(&c->out);
        }
        started = i + 1;
    }
    if (!dry) {
        if (reg_begin(c->reg, &c->err) != 0) {
            goto undo;
        }
        for (int i = 0; i < t->ids.n; i++) {
            if (reg_vm_set_state(c->reg, t->vms[i].vm_id, REG_VM_RUNNING, &c->err) != 0) {
                reg_rollback(c->reg);
                goto undo;
            }
        }
        if (reg_commit(c->reg, &c->err) != 0) {
            goto undo;
        }
        for (int i = 0; i < t->ids.n; i++) {
            transition_json(&c->out, t->vms[i].vm_id, before[i], REG_VM_RUNNING);
        }
    }
    json_arr_end(&c->out);
    response_context(c);
    json_obj_end(&c->out);
    rc = 0;
    goto out;
undo:
    /* A start that fails part-way stops the VMs it started: all or nothing. */
    if (!dry) {
        struct ctl_err saved = c->err;
        for (int i = 0; i < started; i++) {
            if (before[i] != REG_VM_RUNNING) {
                vm_stop(c, &t->vms[i], true, 0);
            }
        }
        c->err = saved;
    }
out:
    targets_close(t);
    free(t);
    return rc;
}

int cmd_stop_vms(struct ctl *c, const struct cmd_args *a)
{
    struct targets *t = calloc(1, sizeof(*t));
    bool force = cmd_arg(a, "force-stop") != NULL;
    long timeout = VM_POWERDOWN_MS / 1000;
    enum reg_vm_state before[MAX_IDS];
    int rc = -1, stopped = 0;
    if (!t) {
        return ctl_fail(&c->err, CTL_E_INTERNAL, "out of memory");
    }
    if (cmd_arg(a, "timeout") &&
        parse_count(c, "timeout", cmd_arg(a, "timeout"), 0, 3600, &timeout) != 0) {
        goto out;
    }
    if (targets_open(c, a, true, t) != 0 || refuse_terminated(c, t, "stopped") != 0) {
        goto out;
    }
    for (int i = 0; i < t->ids.n; i++) {
        before[i] = t->vms[i].state;
        if (vm_stop(c, &t->vms[i], force, (int)timeout * 1000) != 0) {
            break;
        }
        stopped = i + 1;
    }
    /* Record what was stopped, even when a later VM refused to stop. */
    if (stopped > 0) {
        struct ctl_err saved = c->err;
        ctl_err_clear(&c->err);
        if (reg_begin(c->reg, &c->err) == 0) {
            for (int i = 0; i < stopped; i++) {
                reg_vm_set_state(c->reg, t->vms[i].vm_id, REG_VM_STOPPED, &c->err);
            }
            if (ctl_failed(&c->err)) {
                reg_rollback(c->reg);
            } else {
                reg_commit(c->reg, &c->err);
            }
        }
        if (ctl_failed(&saved)) {
            c->err = saved;
        }
    }
    if (ctl_failed(&c->err)) {
        goto out;
    }
    json_obj_begin(&c->out);
    json_key(&c->out, "Vms");
    json_arr_begin(&c->out);
    for (int i = 0; i < t->ids.n; i++) {
        transition_json(&c->out, t->vms[i].vm_id, before[i], REG_VM_STOPPED);
    }
    json_arr_end(&c->out);
    response_context(c);
    json_obj_end(&c->out);
    rc = 0;
out:
    targets_close(t);
    free(t);
    return rc;
}

int cmd_reboot_vms(struct ctl *c, const struct cmd_args *a)
{
    struct targets *t = calloc(1, sizeof(*t));
    int rc = -1;
    if (!t) {
        return ctl_fail(&c->err, CTL_E_INTERNAL, "out of memory");
    }
    if (targets_open(c, a, true, t) != 0 || refuse_terminated(c, t, "rebooted") != 0) {
        goto out;
    }
    for (int i = 0; i < t->ids.n; i++) {
        if (t->vms[i].state != REG_VM_RUNNING) {
            ctl_fail(&c->err, CTL_E_STATE, "VM %s is stopped; only a running VM can be "
                     "rebooted; nothing was changed", t->vms[i].vm_id);
            goto out;
        }
    }
    for (int i = 0; i < t->ids.n; i++) {
        if (vm_reboot(c, &t->vms[i]) != 0) {
            goto out;
        }
    }
    json_obj_begin(&c->out);
    response_context(c);
    json_obj_end(&c->out);
    rc = 0;
out:
    targets_close(t);
    free(t);
    return rc;
}

int cmd_delete_vms(struct ctl *c, const struct cmd_args *a)
{
    struct targets *t = calloc(1, sizeof(*t));
    enum reg_vm_state before[MAX_IDS];
    char now[REG_TIME_MAX];
    int rc = -1;
    if (!t) {
        return ctl_fail(&c->err, CTL_E_INTERNAL, "out of memory");
    }
    if (targets_open(c, a, true, t) != 0) {
        goto out;
    }
    /* Terminate: the VM stops at once (its vTPM is about to be destroyed anyway). */
    for (int i = 0; i < t->ids.n; i++) {
        before[i] = t->vms[i].state;
        if (before[i] != REG_VM_TERMINATED && vm_stop(c, &t->vms[i], true, 0) != 0) {
            goto out;
        }
    }
    ctl_now(now);
    if (reg_begin(c->reg, &c->err) != 0) {
        goto out;
    }
    for (int i = 0; i < t->ids.n; i++) {
        const struct reg_vm *vm = &t->vms[i];
        if (before[i] == REG_VM_TERMINATED) {
            continue;
        }
        /* Rule 8: the wrapped key is erased with the VM, in one transaction. */
        if (reg_vm_terminate(c->reg, vm->vm_id, now, &c->err) != 0 ||
            (vm->tpm_enabled && reg_vtpm_destroy(c->reg, vm->vm_id, now, &c->err) < 0)) {
            reg_rollback(c->reg);
            goto out;
        }
    }
    ctl_fault("delete-vms:before-commit");
    if (reg_commit(c->reg, &c->err) != 0) {
        goto out;
    }
    ctl_fault("delete-vms:after-commit");
    /* The key is gone: the file can no longer be opened. Now the file goes too; if this is
     * interrupted, the next sweep finishes it. */
    for (int i = 0; i < t->ids.n; i++) {
        if (t->vms[i].tpm_enabled && vm_vtpm_remove_files(c, t->vms[i].vm_id) != 0) {
            goto out;
        }
        vm_remove_run_files(c, t->vms[i].vm_id);
    }
    json_obj_begin(&c->out);
    json_key(&c->out, "Vms");
    json_arr_begin(&c->out);
    for (int i = 0; i < t->ids.n; i++) {
        transition_json(&c->out, t->vms[i].vm_id, before[i], REG_VM_TERMINATED);
    }
    json_arr_end(&c->out);
    response_context(c);
    json_obj_end(&c->out);
    rc = 0;
out:
    targets_close(t);
    free(t);
    return rc;
}

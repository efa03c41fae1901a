/*
 * vtpmctl: the operator's tool for images, VMs and their vTPMs (docs/vtpmctl.md).
 *
 *   vtpmctl [global options] <command> [options]
 *
 * This file parses the command line against a table of commands and their options, runs the
 * command, and prints its JSON on stdout, or {"Errors": [...]} on stderr with a non-zero
 * exit status. A command's output is assembled in memory and printed only when it succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/commands.h"
#include "ctl/ctl.h"

struct opt_spec {
    const char *name;  /* without "--" */
    const char *value; /* the value's name in help, NULL for a flag */
    const char *help;
};

struct cmd_def {
    const char *name;
    const char *summary;
    const char *usage;   /* the options line */
    const char *details; /* paragraphs after the options */
    int (*run)(struct ctl *c, const struct cmd_args *a);
    struct opt_spec opts[CMD_MAX_OPTS];
};

static const struct cmd_def commands[] = {
    {
        "create-image",
        "Create an image: its boot modes and whether its VMs must have a vTPM.",
        "--image-name NAME --boot-modes uefi|legacy|uefi,legacy [--tpm-mandatory]\n"
        "       [--kernel PATH [--initrd PATH] [--kernel-cmdline TEXT]] [--file-location PATH]",
        "Neither the boot modes nor TpmMandatory can change after creation: there is no\n"
        "command to update an image. VMs made from a TpmMandatory image always get a vTPM;\n"
        "a vTPM requires UEFI, so VMs with a vTPM can only be made from a UEFI-only image.\n"
        "Output: {\"Image\": {\"ImageId\", \"ImageName\", \"BootModes\", \"TpmMandatory\",\n"
        "\"SecureBoot\", \"CreationDate\", ...}}.",
        cmd_create_image,
        {
            {"image-name", "NAME", "the image's name (1 to 128 printable ASCII characters)"},
            {"boot-modes", "MODES", "uefi, legacy, or both (uefi,legacy)"},
            {"tpm-mandatory", NULL, "every VM made from this image has a vTPM"},
            {"kernel", "PATH", "a kernel its VMs boot directly (absolute path)"},
            {"initrd", "PATH", "the initramfs that goes with --kernel"},
            {"kernel-cmdline", "TEXT", "the kernel command line that goes with --kernel"},
            {"file-location", "PATH", "a disk image its VMs boot (never written: each VM "
                                      "writes to a temporary overlay)"},
        },
    },
    {
        "read-images",
        "List images.",
        "[--filter-tpm-mandatory true|false] [--filter-image-ids ID[,ID..]]",
        "Output: {\"Images\": [...]}, oldest first. Reads only: works on a read-only data dir.",
        cmd_read_images,
        {
            {"filter-tpm-mandatory", "BOOL", "only images whose TpmMandatory is this"},
            {"filter-image-ids", "IDS", "only these images"},
        },
    },
    {
        "delete-image",
        "Delete an image that no live VM uses.",
        "--image-id ID",
        "Refused while any VM made from the image is not terminated.",
        cmd_delete_image,
        {
            {"image-id", "ID", "the image to delete"},
        },
    },
    {
        "create-vms",
        "Create VMs from an image; with a vTPM when the image or TpmEnabled asks for one.",
        "--image-id ID [--boot-mode uefi|legacy] [--tpm-enabled true|false] [--count N]",
        "From a TpmMandatory image every VM gets a vTPM and --tpm-enabled false is refused.\n"
        "From other images a vTPM is made only with --tpm-enabled true. A vTPM requires\n"
        "UEFI: when a VM would get one but the image is not UEFI-only, or --boot-mode legacy\n"
        "is asked, nothing is created. The vTPM is made at once (a new chip: fresh seeds),\n"
        "attached to this VM for its whole life, and destroyed only by delete-vms. The VMs\n"
        "are created stopped; start-vms runs them. Either all --count VMs are created, or\n"
        "none. Output: {\"Vms\": [{\"VmId\", \"ImageId\", \"BootMode\", \"TpmEnabled\",\n"
        "\"State\", ...}]}.",
        cmd_create_vms,
        {
            {"image-id", "ID", "the image the VMs are made from"},
            {"boot-mode", "MODE", "uefi or legacy (default: uefi if the image has it)"},
            {"tpm-enabled", "BOOL", "give the VMs a vTPM (implied by a TpmMandatory image)"},
            {"count", "N", "how many VMs (1 to 50, default 1)"},
        },
    },
    {
        "read-vms",
        "List VMs, terminated ones included (with their destroyed vTPM's record).",
        "[--filter-tpm-enabled true|false] [--filter-vm-ids IDS] [--filter-image-ids IDS]\n"
        "       [--filter-vm-states stopped,running,terminated]",
        "Output: {\"Vms\": [...]}, oldest first. State is what the VM's processes say now.\n"
        "Reads only: works on a read-only data dir.",
        cmd_read_vms,
        {
            {"filter-tpm-enabled", "BOOL", "only VMs whose TpmEnabled is this"},
            {"filter-vm-ids", "IDS", "only these VMs"},
            {"filter-image-ids", "IDS", "only VMs made from these images"},
            {"filter-vm-states", "STATES", "only VMs in these states"},
        },
    },
    {
        "start-vms",
        "Start VMs: vtpmd with the VM's vTPM (for VMs that have one), then QEMU.",
        "--vm-ids ID[,ID..] [--dry-run]",
        "UEFI VMs boot OVMF, legacy VMs SeaBIOS. A VM with a vTPM never starts without it:\n"
        "a missing vTPM file or key refuses the start. The vTPM's data key reaches vtpmd\n"
        "through a pipe, never on a command line. All VMs start, or none stays started.\n"
        "--dry-run checks everything and prints the command lines instead of running them.\n"
        "Output: {\"Vms\": [{\"VmId\", \"PreviousState\", \"CurrentState\"}]}.",
        cmd_start_vms,
        {
            {"vm-ids", "IDS", "the VMs to start"},
            {"dry-run", NULL, "print the vtpmd and QEMU command lines; start nothing"},
        },
    },
    {
        "stop-vms",
        "Stop VMs; their vTPMs stay attached with their content.",
        "--vm-ids ID[,ID..] [--force-stop] [--timeout SECONDS]",
        "The guest is asked to power off (QMP system_powerdown) and given --timeout seconds\n"
        "(default 60); then QEMU is stopped with SIGTERM (SIGKILL if it must). vtpmd then\n"
        "gets CMD_SHUTDOWN on its control channel; its state is already committed.",
        cmd_stop_vms,
        {
            {"vm-ids", "IDS", "the VMs to stop"},
            {"force-stop", NULL, "do not wait for the guest: stop QEMU at once"},
            {"timeout", "SECONDS", "how long the guest has to power off (0 to 3600)"},
        },
    },
    {
        "reboot-vms",
        "Reboot running VMs (a reset: the vTPM stays, its content intact).",
        "--vm-ids ID[,ID..]",
        "Refused for a VM that is not running.",
        cmd_reboot_vms,
        {
            {"vm-ids", "IDS", "the VMs to reboot"},
        },
    },
    {
        "delete-vms",
        "Terminate VMs and destroy their vTPMs.",
        "--vm-ids ID[,ID..]",
        "Running VMs are stopped at once. Each vTPM's data key is erased from the registry\n"
        "(crypto-shredding: its file can no longer be opened), then the file is removed.\n"
        "The registry keeps a record that the VM and its vTPM existed, and when they were\n"
        "destroyed. Output: {\"Vms\": [{\"VmId\", \"PreviousState\", \"CurrentState\"}]}.",
        cmd_delete_vms,
        {
            {"vm-ids", "IDS", "the VMs to terminate"},
        },
    },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char tool_help[] =
    "Usage: vtpmctl [--data-dir DIR] <command> [options]\n"
    "\n"
    "Images, VMs and their vTPMs, with the cloud's association rules. Output is JSON on\n"
    "stdout; a refusal is {\"Errors\": [{\"Code\", \"Type\", \"Details\"}]} on stderr with a\n"
    "non-zero exit status (1 refused, 2 malformed command line, 3 data dir, registry, keys\n"
    "or processes), and changes nothing.\n"
    "\n"
    "Commands:\n";

static const char tool_help_tail[] =
    "\n"
    "There is no command to detach, move, share, export or disable a vTPM: a vTPM is made\n"
    "with its VM, stays attached to it, and is destroyed with it.\n"
    "\n"
    "Global options:\n"
    "  --data-dir DIR     the data dir (default /var/lib/vtpm as root, else\n"
    "                     $XDG_DATA_HOME/vtpm or ~/.local/share/vtpm)\n"
    "  --qemu PATH        QEMU binary (env VTPMCTL_QEMU; default qemu-system-x86_64)\n"
    "  --vtpmd PATH       vtpmd binary (env VTPMCTL_VTPMD; default vtpmd)\n"
    "  --ovmf-code PATH   OVMF code (env VTPMCTL_OVMF_CODE)\n"
    "  --ovmf-vars PATH   OVMF variables template (env VTPMCTL_OVMF_VARS)\n"
    "  --accel NAME       QEMU accelerator (env VTPMCTL_ACCEL; default tcg)\n"
    "  --help             this text; vtpmctl <command> --help for a command\n"
    "  --version          print the version\n";

static void print_tool_help(FILE *f)
{
    fputs(tool_help, f);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
    }
    fputs(tool_help_tail, f);
}

static void print_cmd_help(const struct cmd_def *d, FILE *f)
{
    fprintf(f, "Usage: vtpmctl [--data-dir DIR] %s %s\n\n%s\n\nOptions:\n", d->name, d->usage,
            d->summary);
    for (const struct opt_spec *o = d->opts; o->name; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->value ? " " : "",
                 o->value ? o->value : "");
        fprintf(f, "  %-28s %s\n", left, o->help);
    }
    fprintf(f, "  %-28s %s\n\n%s\n", "--help", "this text", d->details);
}

const char *cmd_arg(const struct cmd_args *a, const char *name)
{
    for (int i = 0; i < CMD_MAX_OPTS && a->def->opts[i].name; i++) {
        if (strcmp(a->def->opts[i].name, name) == 0) {
            return a->val[i];
        }
    }
    return NULL;
}

const char *cmd_name(const struct cmd_args *a)
{
    return a->def->name;
}

/* Split "--name=value" or "--name value". Returns the option index, or -1 (error set). */
static int parse_cmd_opts(const struct cmd_def *d, int argc, char **argv, struct cmd_args *a,
                          bool *help, struct ctl_err *e)
{
    a->def = d;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i], *eq, *val = NULL;
        size_t n;
        int k;
        if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
            *help = true;
            return 0;
        }
        if (strncmp(w, "--", 2) != 0) {
            return ctl_fail(e, CTL_E_USAGE, "%s: unexpected argument '%s' (options start with "
                            "--; see vtpmctl %s --help)", d->name, w, d->name);
        }
        eq = strchr(w, '=');
        n = eq ? (size_t)(eq - w - 2) : strlen(w + 2);
        for (k = 0; k < CMD_MAX_OPTS && d->opts[k].name; k++) {
            if (strlen(d->opts[k].name) == n && strncmp(d->opts[k].name, w + 2, n) == 0) {
                break;
            }
        }
        if (k == CMD_MAX_OPTS || !d->opts[k].name) {
            return ctl_fail(e, CTL_E_USAGE, "%s: unknown option '%.*s' (see vtpmctl %s --help)",
                            d->name, (int)n + 2, w, d->name);
        }
        if (a->val[k]) {
            return ctl_fail(e, CTL_E_USAGE, "%s: --%s is given twice", d->name,
                            d->opts[k].name);
        }
        if (!d->opts[k].value) {
            if (eq) {
                return ctl_fail(e, CTL_E_USAGE, "%s: --%s takes no value", d->name,
                                d->opts[k].name);
            }
            val = "true";
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return ctl_fail(e, CTL_E_USAGE, "%s: --%s needs a value (%s)", d->name,
                            d->opts[k].name, d->opts[k].value);
        }
        if (d->opts[k].value && val[0] == '\0') {
            return ctl_fail(e, CTL_E_VALUE, "%s: --%s has an empty value", d->name,
                            d->opts[k].name);
        }
        a->val[k] = val;
    }
    return 0;
}

static void print_error(const struct ctl_err *e)
{
    fputs("{\n  \"Errors\": [\n    {\n      \"Code\": ", stderr);
    json_write_string(stderr, ctl_kind_code(e->kind));
    fputs(",\n      \"Type\": ", stderr);
    json_write_string(stderr, ctl_kind_type(e->kind));
    fputs(",\n      \"Details\": ", stderr);
    json_write_string(stderr, e->details);
    fputs("\n    }\n  ]\n}\n", stderr);
}

/* Global options; returns the index of the command word, or -1 (error set), or 0 for
 * --help/--version handled. */
static int parse_global(int argc, char **argv, struct ctl *c, const char **data_dir,
                        bool *done)
{
    static const char *const names[] = {"data-dir", "qemu", "vtpmd", "ovmf-code", "ovmf-vars",
                                        "accel"};
    const char **slots[] = {data_dir, &c->launch.qemu, &c->launch.vtpmd, &c->launch.ovmf_code,
                            &c->launch.ovmf_vars, &c->launch.accel};
    int i = 1;
    for (; i < argc && strncmp(argv[i], "-", 1) == 0; i++) {
        const char *w = argv[i];
        size_t k;
        if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
            print_tool_help(stdout);
            *done = true;
            return 0;
        }
        if (strcmp(w, "--version") == 0) {
            printf("vtpmctl %s\n", VTPM_VERSION);
            *done = true;
            return 0;
        }
        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            size_t n = strlen(names[k]);
            if (strncmp(w + 2, names[k], n) == 0 && (w[2 + n] == '\0' || w[2 + n] == '=')) {
                break;
            }
        }
        if (strncmp(w, "--", 2) != 0 || k == sizeof(names) / sizeof(names[0])) {
            return ctl_fail(&c->err, CTL_E_USAGE, "unknown global option '%s' (see vtpmctl "
                            "--help)", w);
        }
        const char *eq = strchr(w, '=');
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || !v[0]) {
            return ctl_fail(&c->err, CTL_E_USAGE, "--%s needs a value", names[k]);
        }
        *slots[k] = v;
    }
    if (i >= argc) {
        return ctl_fail(&c->err, CTL_E_USAGE, "no command given (see vtpmctl --help)");
    }
    return i;
}

int main(int argc, char **argv)
{
    struct ctl *c = calloc(1, sizeof(*c));
    struct cmd_args args;
    const struct cmd_def *d = NULL;
    const char *data_dir = NULL;
    char *out = NULL;
    size_t outlen = 0;
    FILE *m = NULL;
    bool done = false, help = false;
    int ci, status = CTL_EXIT_SYSTEM;

    umask(077);
    if (!c) {
        fputs("vtpmctl: out of memory\n", stderr);
        return CTL_EXIT_SYSTEM;
    }
    memset(&args, 0, sizeof(args));
    c->launch.qemu = getenv("VTPMCTL_QEMU");
    c->launch.vtpmd = getenv("VTPMCTL_VTPMD");
    c->launch.ovmf_code = getenv("VTPMCTL_OVMF_CODE");
    c->launch.ovmf_vars = getenv("VTPMCTL_OVMF_VARS");
    c->launch.accel = getenv("VTPMCTL_ACCEL");
    ci = parse_global(argc, argv, c, &data_dir, &done);
    if (done) {
        status = CTL_EXIT_OK;
        goto out;
    }
    if (ci < 0) {
        goto fail;
    }
    launch_config_defaults(&c->launch);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, argv[ci]) == 0) {
            d = &commands[i];
        }
    }
    if (!d) {
        ctl_fail(&c->err, CTL_E_UNSUPPORTED, "unknown command '%s': vtpmctl has no such "
                 "command (see vtpmctl --help)", argv[ci]);
        goto fail;
    }
    if (parse_cmd_opts(d, argc - ci - 1, argv + ci + 1, &args, &help, &c->err) != 0) {
        goto fail;
    }
    if (help) {
        print_cmd_help(d, stdout);
        status = CTL_EXIT_OK;
        goto out;
    }
    if (data_dir) {
        /* Absolute: vtpmd and QEMU run from / once they are in the background. */
        char cwd[PATH_MAX];
        int n;
        if (data_dir[0] == '/') {
            n = snprintf(c->data_dir, sizeof(c->data_dir), "%s", data_dir);
        } else if (getcwd(cwd, sizeof(cwd))) {
            n = snprintf(c->data_dir, sizeof(c->data_dir), "%s/%s", cwd, data_dir);
        } else {
            n = -1;
        }
        if (n < 0 || (size_t)n >= sizeof(c->data_dir)) {
            ctl_fail(&c->err, CTL_E_DATA_DIR, "--data-dir: the path is too long");
            goto fail;
        }
    } else if (ctl_default_data_dir(c->data_dir, sizeof(c->data_dir), &c->err) != 0) {
        goto fail;
    }
    m = open_memstream(&out, &outlen);
    if (!m) {
        ctl_fail(&c->err, CTL_E_INTERNAL, "out of memory");
        goto fail;
    }
    json_init(&c->out, m);
    if (d->run(c, &args) != 0) {
        if (!ctl_failed(&c->err)) {
            ctl_fail(&c->err, CTL_E_INTERNAL, "%s failed without a reason (a bug)", d->name);
        }
        goto fail;
    }
    if (fflush(m) != 0 || ferror(m)) {
        ctl_fail(&c->err, CTL_E_INTERNAL, "out of memory while writing the output");
        goto fail;
    }
    fclose(m);
    m = NULL;
    fwrite(out, 1, outlen, stdout);
    if (fflush(stdout) != 0) {
        status = CTL_EXIT_SYSTEM;
        goto out;
    }
    status = CTL_EXIT_OK;
    goto out;
fail:
    print_error(&c->err);
    status = ctl_kind_exit(c->err.kind);
out:
    if (m) {
        fclose(m);
    }
    free(out);
    ctl_close(c);
    free(c);
    return status;
}

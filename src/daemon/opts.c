/*
 * vtpmd's command line (see opts.h): a table of options, each with its own small parser for
 * swtpm's "key=value,key,..." sub-option lists. Nothing here touches the system.
 */
#include "opts.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char opts_usage[] =
    "Usage: vtpmd socket --tpm2 [options]\n"
    "\n"
    "A TPM 2.0 for one virtual machine, served like `swtpm socket --tpm2`.\n"
    "\n"
    "--tpm2             emulate a TPM 2.0 (required: vtpmd has no TPM 1.2)\n"
    "--tpmstate dir=<dir>[,mode=0640]|backend-uri=dir://<dir>[,mode=0640]\n"
    "                   where the TPM's state files live (mode: their file mode);\n"
    "                   TPM_PATH in the environment is used when this is absent\n"
    "--ctrl type=unixio,path=<path>[,mode=0770][,uid=<n>][,gid=<n>]\n"
    "--ctrl type=unixio,fd=<fd>|clientfd=<fd>\n"
    "--ctrl type=tcp,port=<port>[,bindaddr=<addr>[,ifname=<if>]]|fd=<fd>\n"
    "                   the control channel (swtpm's CMD_* protocol)\n"
    "--server [type=tcp,]port=<port>[,bindaddr=<addr>[,ifname=<if>]][,disconnect]\n"
    "--server type=unixio,path=<path>[,mode=0770][,uid=<n>][,gid=<n>]\n"
    "--server [type=tcp|unixio,]fd=<fd>\n"
    "                   the data channel (TPM commands); without it the data channel\n"
    "                   arrives over the control channel (CMD_SET_DATAFD)\n"
    "-p|--port <port>   same as --server type=tcp,port=<port>,disconnect\n"
    "-f|--fd <fd>       use this connected socket as the data channel (implies -t)\n"
    "-t|--terminate     exit when the data connection closes\n"
    "-d|--daemon        run in the background\n"
    "--flags [not-need-init][,startup-clear|startup-state|startup-none]\n"
    "                   run without CMD_INIT; send TPM2_Startup at start\n"
    "--locality [reject-locality-4][,allow-set-locality]\n"
    "--pid file=<path>|fd=<fd>\n"
    "                   write the process id\n"
    "--log file=<path>|fd=<fd>[,level=<n>][,prefix=<text>][,truncate]\n"
    "                   log to a file (\"-\" for none); level 1 errors, 2 connections,\n"
    "                   3 every command (codes and results only, never contents)\n"
    "--seccomp action=kill|log|none\n"
    "                   what the system-call allowlist does on a violation (default kill)\n"
    "--key fd=<fd>|file=<path>[,format=hex|binary][,mode=aes-256-gcm][,remove]\n"
    "--key pwdfd=<fd>|pwdfile=<path>[,kdf=pbkdf2|sha512][,mode=aes-256-gcm][,remove]\n"
    "                   the vTPM file's 256-bit data key (or a passphrase it is derived\n"
    "                   from); without --key the file is sealed under an all-zero key,\n"
    "                   i.e. not encrypted\n"
    "--migration-key ...\n"
    "                   same forms: seals the state blobs CMD_GET_STATEBLOB hands out\n"
    "--vmid <id>        the VM the vTPM file is bound to (1 to 255 printable characters)\n"
    "-r|--runas <user>  switch to this user after opening the sockets\n"
    "--print-capabilities\n"
    "                   print the supported features as JSON and exit\n"
    "--print-states     print the state blobs stored under --tpmstate as JSON and exit\n"
    "--version          print the version and exit\n"
    "-h|--help          print this text and exit\n";

/* snprintf into err, always terminated. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A whole string as an unsigned number in base (8 or 10), at most max. */
static bool parse_num(const char *s, int base, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;
    if (!s || s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    v = strtoul(s, &end, base);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

static int set_str(char **dst, const char *v, const char *opt, const char *key, char *err,
                   size_t errlen)
{
    if (!v || !*v) {
        return fail(err, errlen, "%s: %s= needs a value", opt, key);
    }
    free(*dst);
    *dst = strdup(v);
    if (!*dst) {
        return fail(err, errlen, "%s: out of memory", opt);
    }
    return 0;
}

/* A descriptor handed over by the parent: never 0, 1 or 2. */
static int set_fd(int *dst, const char *v, const char *opt, const char *key, int min, char *err,
                  size_t errlen)
{
    unsigned long n;
    if (!parse_num(v, 10, INT_MAX, &n) || n < (unsigned long)min) {
        return fail(err, errlen, "%s: %s=%s is not a usable file descriptor (a number from %d)",
                    opt, key, v ? v : "", min);
    }
    *dst = (int)n;
    return 0;
}

static int set_mode(mode_t *dst, bool *has, const char *v, const char *opt, char *err,
                    size_t errlen)
{
    unsigned long n;
    if (!parse_num(v, 8, 0777, &n)) {
        return fail(err, errlen, "%s: mode=%s is not an octal file mode from 0 to 0777", opt,
                    v ? v : "");
    }
    *dst = (mode_t)n;
    *has = true;
    return 0;
}

/*
 * Walk "k1=v1,k2,k3=v3" in place: each call cuts the next item and returns its key and
 * value (NULL when the item has no '='). Returns false at the end.
 */
static bool kv_next(char **cursor, char **key, char **val)
{
    char *p = *cursor;
    if (!p) {
        return false;
    }
    char *comma = strchr(p, ',');
    if (comma) {
        *comma = '\0';
        *cursor = comma + 1;
    } else {
        *cursor = NULL;
    }
    char *eq = strchr(p, '=');
    if (eq) {
        *eq = '\0';
        *val = eq + 1;
    } else {
        *val = NULL;
    }
    *key = p;
    return true;
}

/* Keys that take no value refuse one, keys that need one refuse its absence. */
static int need_val(const char *opt, const char *key, const char *val, char *err, size_t errlen)
{
    if (!val) {
        return fail(err, errlen, "%s: '%s' needs a value (%s=...)", opt, key, key);
    }
    return 0;
}

static int no_val(const char *opt, const char *key, const char *val, char *err, size_t errlen)
{
    if (val) {
        return fail(err, errlen, "%s: '%s' takes no value", opt, key);
    }
    return 0;
}

/* --ctrl and --server share one grammar; ctrl says which rules apply. */
static int parse_chan(struct chan_opts *c, const char *opt, bool ctrl, char *arg, char *err,
                      size_t errlen)
{
    char *cur = arg, *k, *v;
    bool has_type = false;
    unsigned long n;

    if (c->type != CHAN_NONE) {
        return fail(err, errlen, "%s: given more than once", opt);
    }
    c->type = CHAN_TCP;
    while (kv_next(&cur, &k, &v)) {
        if (strcmp(k, "type") == 0) {
            if (need_val(opt, k, v, err, errlen)) {
                return -1;
            }
            if (strcmp(v, "tcp") == 0) {
                c->type = CHAN_TCP;
            } else if (strcmp(v, "unixio") == 0) {
                c->type = CHAN_UNIX;
            } else {
                return fail(err, errlen, "%s: type=%s is not supported (tcp or unixio)", opt, v);
            }
            has_type = true;
        } else if (strcmp(k, "path") == 0) {
            if (set_str(&c->path, v, opt, k, err, errlen)) {
                return -1;
            }
        } else if (strcmp(k, "port") == 0) {
            if (!parse_num(v, 10, 65535, &n) || n == 0) {
                return fail(err, errlen, "%s: port=%s is not a TCP port (1 to 65535)", opt,
                            v ? v : "");
            }
            c->port = (uint16_t)n;
        } else if (strcmp(k, "bindaddr") == 0) {
            if (set_str(&c->bindaddr, v, opt, k, err, errlen)) {
                return -1;
            }
        } else if (strcmp(k, "ifname") == 0) {
            if (set_str(&c->ifname, v, opt, k, err, errlen)) {
                return -1;
            }
        } else if (strcmp(k, "fd") == 0) {
            if (set_fd(&c->fd, v, opt, k, 3, err, errlen)) {
                return -1;
            }
        } else if (ctrl && strcmp(k, "clientfd") == 0) {
            if (set_fd(&c->clientfd, v, opt, k, 3, err, errlen)) {
                return -1;
            }
        } else if (strcmp(k, "mode") == 0) {
            if (set_mode(&c->mode, &c->has_mode, v, opt, err, errlen)) {
                return -1;
            }
        } else if (strcmp(k, "uid") == 0 || strcmp(k, "gid") == 0) {
            if (!parse_num(v, 10, UINT_MAX - 1, &n)) {
                return fail(err, errlen, "%s: %s=%s is not a numeric id", opt, k, v ? v : "");
            }
            if (k[0] == 'u') {
                c->uid = (uid_t)n;
                c->has_uid = true;
            } else {
                c->gid = (gid_t)n;
                c->has_gid = true;
            }
        } else if (!ctrl && strcmp(k, "disconnect") == 0) {
            if (no_val(opt, k, v, err, errlen)) {
                return -1;
            }
            c->disconnect = true;
        } else {
            return fail(err, errlen, "%s: unknown parameter '%s'", opt, k);
        }
    }
    if (ctrl && !has_type) {
        return fail(err, errlen, "%s: type=unixio or type=tcp is required", opt);
    }
    /* Exactly one source of sockets, and parameters that fit the type. */
    int sources = (c->path != NULL) + (c->port != 0) + (c->fd >= 0) + (c->clientfd >= 0);
    if (sources == 0) {
        return fail(err, errlen, "%s: %s", opt,
                    c->type == CHAN_UNIX ? "path=, fd= or clientfd= is required"
                                         : "port= or fd= is required");
    }
    if (sources > 1) {
        return fail(err, errlen, "%s: path=, port=, fd= and clientfd= exclude each other", opt);
    }
    if (c->type == CHAN_TCP) {
        if (c->path) {
            return fail(err, errlen, "%s: path= is for type=unixio", opt);
        }
        if (c->clientfd >= 0) {
            return fail(err, errlen, "%s: clientfd= is only valid with type=unixio", opt);
        }
        if (c->has_mode || c->has_uid || c->has_gid) {
            return fail(err, errlen, "%s: mode=, uid= and gid= are for type=unixio", opt);
        }
        if ((c->bindaddr || c->ifname) && c->port == 0) {
            return fail(err, errlen, "%s: bindaddr= and ifname= need port=", opt);
        }
    } else {
        if (c->port != 0 || c->bindaddr || c->ifname) {
            return fail(err, errlen, "%s: port=, bindaddr= and ifname= are for type=tcp", opt);
        }
        if ((c->has_mode || c->has_uid || c->has_gid) && !c->path) {
            return fail(err, errlen, "%s: mode=, uid= and gid= need path=", opt);
        }
    }
    return 0;
}

static int opt_ctrl(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    return parse_chan(&o->ctrl, opt, true, arg, err, errlen);
}

static int opt_server(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    return parse_chan(&o->server, opt, false, arg, err, errlen);
}

static int opt_port(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    unsigned long n;
    if (o->server.type != CHAN_NONE) {
        return fail(err, errlen, "%s: the data channel was already given", opt);
    }
    if (!parse_num(arg, 10, 65535, &n) || n == 0) {
        return fail(err, errlen, "%s: '%s' is not a TCP port (1 to 65535)", opt, arg);
    }
    o->server.type = CHAN_TCP;
    o->server.port = (uint16_t)n;
    o->server.disconnect = true; /* as swtpm: -p means one command per connection */
    return 0;
}

static int opt_fd(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    if (o->server.type != CHAN_NONE) {
        return fail(err, errlen, "%s: the data channel was already given", opt);
    }
    if (set_fd(&o->server.fd, arg, opt, "fd", 3, err, errlen)) {
        return -1;
    }
    o->server.type = CHAN_TCP;
    o->terminate = true;
    return 0;
}

static int opt_tpmstate(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    char *cur = arg, *k, *v;
    if (o->state_dir) {
        return fail(err, errlen, "%s: given more than once", opt);
    }
    while (kv_next(&cur, &k, &v)) {
        if (strcmp(k, "dir") == 0 || strcmp(k, "backend-uri") == 0) {
            const char *path = v;
            if (o->state_dir) {
                return fail(err, errlen, "%s: dir= and backend-uri= exclude each other", opt);
            }
            if (need_val(opt, k, v, err, errlen)) {
                return -1;
            }
            if (k[0] == 'b') {
                if (strncmp(v, "dir://", 6) != 0) {
                    return fail(err, errlen, "%s: backend-uri=%s is not supported (only dir://)",
                                opt, v);
                }
                path = v + 6;
            }
            if (set_str(&o->state_dir, path, opt, k, err, errlen)) {
                return -1;
            }
        } else if (strcmp(k, "mode") == 0) {
            if (set_mode(&o->state_mode, &o->has_state_mode, v, opt, err, errlen)) {
                return -1;
            }
        } else {
            return fail(err, errlen, "%s: unknown parameter '%s'", opt, k);
        }
    }
    if (!o->state_dir) {
        return fail(err, errlen, "%s: dir= or backend-uri=dir:// is required", opt);
    }
    return 0;
}

static int opt_log(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    char *cur = arg, *k, *v;
    unsigned long n;
    if (o->has_log) {
        return fail(err, errlen, "%s: given more than once", opt);
    }
    o->has_log = true;
    while (kv_next(&cur, &k, &v)) {
        if (strcmp(k, "file") == 0) {
            if (set_str(&o->log_file, v, opt, k, err, errlen)) {
                return -1;
            }
        } else if (strcmp(k, "fd") == 0) {
            if (set_fd(&o->log_fd, v, opt, k, 1, err, errlen)) {
                return -1;
            }
        } else if (strcmp(k, "level") == 0) {
            if (!parse_num(v, 10, 1000, &n)) {
                return fail(err, errlen, "%s: level=%s is not a number from 0 to 1000", opt,
                            v ? v : "");
            }
            o->log_level = (unsigned)n;
        } else if (strcmp(k, "prefix") == 0) {
            if (need_val(opt, k, v, err, errlen)) {
                return -1;
            }
            free(o->log_prefix);
            o->log_prefix = strdup(v);
            if (!o->log_prefix) {
                return fail(err, errlen, "%s: out of memory", opt);
            }
        } else if (strcmp(k, "truncate") == 0) {
            if (no_val(opt, k, v, err, errlen)) {
                return -1;
            }
            o->log_truncate = true;
        } else {
            return fail(err, errlen, "%s: unknown parameter '%s'", opt, k);
        }
    }
    if (o->log_file && o->log_fd >= 0) {
        return fail(err, errlen, "%s: file= and fd= exclude each other", opt);
    }
    return 0;
}

static int opt_pid(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    char *cur = arg, *k, *v;
    if (o->pid_file || o->pid_fd >= 0) {
        return fail(err, errlen, "%s: given more than once", opt);
    }
    while (kv_next(&cur, &k, &v)) {
        if (strcmp(k, "file") == 0) {
            if (set_str(&o->pid_file, v, opt, k, err, errlen)) {
                return -1;
            }
        } else if (strcmp(k, "fd") == 0) {
            if (set_fd(&o->pid_fd, v, opt, k, 1, err, errlen)) {
                return -1;
            }
        } else {
            return fail(err, errlen, "%s: unknown parameter '%s'", opt, k);
        }
    }
    if ((o->pid_file != NULL) == (o->pid_fd >= 0)) {
        return fail(err, errlen, "%s: exactly one of file= and fd= is required", opt);
    }
    return 0;
}

static int opt_flags(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        enum startup_type type;
    } startups[] = {
        {"startup-clear", STARTUP_CLEAR},
        {"startup-state", STARTUP_STATE},
        {"startup-none", STARTUP_NONE},
    };
    char *cur = arg, *k, *v;
    while (kv_next(&cur, &k, &v)) {
        bool known = false;
        if (no_val(opt, k, v, err, errlen)) {
            return -1;
        }
        if (strcmp(k, "not-need-init") == 0) {
            o->not_need_init = true;
            continue;
        }
        if (strcmp(k, "startup-deactivated") == 0) {
            return fail(err, errlen, "%s: startup-deactivated is for TPM 1.2 only", opt);
        }
        for (size_t i = 0; i < sizeof(startups) / sizeof(startups[0]); i++) {
            if (strcmp(k, startups[i].name) == 0) {
                if (o->startup != STARTUP_NONE_GIVEN) {
                    return fail(err, errlen, "%s: only one startup-... flag may be given", opt);
                }
                o->startup = startups[i].type;
                known = true;
            }
        }
        if (!known) {
            return fail(err, errlen, "%s: unknown flag '%s'", opt, k);
        }
    }
    /* swtpm(8): the startup options imply not-need-init, except startup-none. */
    if (o->startup == STARTUP_CLEAR || o->startup == STARTUP_STATE) {
        o->not_need_init = true;
    }
    return 0;
}

static int opt_locality(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    char *cur = arg, *k, *v;
    while (kv_next(&cur, &k, &v)) {
        if (no_val(opt, k, v, err, errlen)) {
            return -1;
        }
        if (strcmp(k, "reject-locality-4") == 0) {
            o->reject_locality_4 = true;
        } else if (strcmp(k, "allow-set-locality") == 0) {
            o->allow_set_locality = true;
        } else {
            return fail(err, errlen, "%s: unknown parameter '%s'", opt, k);
        }
    }
    return 0;
}

static int opt_seccomp(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    char *cur = arg, *k, *v;
    while (kv_next(&cur, &k, &v)) {
        if (strcmp(k, "action") != 0) {
            return fail(err, errlen, "%s: unknown parameter '%s'", opt, k);
        }
        if (need_val(opt, k, v, err, errlen)) {
            return -1;
        }
        if (strcmp(v, "kill") == 0) {
            o->seccomp = SECCOMP_ACTION_KILL;
        } else if (strcmp(v, "log") == 0) {
            o->seccomp = SECCOMP_ACTION_LOG;
        } else if (strcmp(v, "none") == 0) {
            o->seccomp = SECCOMP_ACTION_NONE;
        } else {
            return fail(err, errlen, "%s: action=%s is not supported (none, log or kill)", opt, v);
        }
    }
    return 0;
}

/*
 * --key and --migration-key (swtpm(8)): exactly one of fd=, file=, pwdfd=, pwdfile=; format=,
 * mode=, kdf= and remove refine it. vtpmd seals with AES-256-GCM only; swtpm's mode name
 * aes-256-cbc is accepted so that libvirt's command line works (docs/vtpmd.md, "Keys").
 */
static int parse_key(struct key_opts *ko, const char *opt, char *arg, char *err, size_t errlen)
{
    char *cur = arg, *k, *v;
    int sources = 0;
    bool has_format = false, has_kdf = false;

    if (ko->source != KEY_NONE) {
        return fail(err, errlen, "%s: given more than once", opt);
    }
    while (kv_next(&cur, &k, &v)) {
        if (strcmp(k, "fd") == 0 || strcmp(k, "pwdfd") == 0) {
            if (set_fd(&ko->fd, v, opt, k, 3, err, errlen)) {
                return -1;
            }
            ko->source = k[0] == 'f' ? KEY_FD : KEY_PWDFD;
            sources++;
        } else if (strcmp(k, "file") == 0 || strcmp(k, "pwdfile") == 0) {
            if (set_str(&ko->path, v, opt, k, err, errlen)) {
                return -1;
            }
            ko->source = k[0] == 'f' ? KEY_FILE : KEY_PWDFILE;
            sources++;
        } else if (strcmp(k, "format") == 0) {
            if (need_val(opt, k, v, err, errlen)) {
                return -1;
            }
            if (strcmp(v, "hex") == 0) {
                ko->format = KEY_FORMAT_HEX;
            } else if (strcmp(v, "binary") == 0) {
                ko->format = KEY_FORMAT_BINARY;
            } else {
                return fail(err, errlen, "%s: format=%s is not supported (hex or binary)", opt, v);
            }
            has_format = true;
        } else if (strcmp(k, "mode") == 0) {
            if (need_val(opt, k, v, err, errlen)) {
                return -1;
            }
            if (strcmp(v, "aes-256-gcm") != 0 && strcmp(v, "aes-256-cbc") != 0) {
                return fail(err, errlen,
                            "%s: mode=%s is not supported (vtpmd seals with aes-256-gcm and a "
                            "256-bit key)",
                            opt, v);
            }
        } else if (strcmp(k, "kdf") == 0) {
            if (need_val(opt, k, v, err, errlen)) {
                return -1;
            }
            if (strcmp(v, "pbkdf2") == 0) {
                ko->kdf = KEY_KDF_PBKDF2;
            } else if (strcmp(v, "sha512") == 0) {
                ko->kdf = KEY_KDF_SHA512;
            } else {
                return fail(err, errlen, "%s: kdf=%s is not supported (pbkdf2 or sha512)", opt, v);
            }
            has_kdf = true;
        } else if (strcmp(k, "remove") == 0) {
            if (v && strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
                return fail(err, errlen, "%s: remove=%s is not true or false", opt, v);
            }
            ko->remove = !v || strcmp(v, "true") == 0;
        } else {
            return fail(err, errlen, "%s: unknown parameter '%s'", opt, k);
        }
    }
    if (sources != 1) {
        return fail(err, errlen, "%s: exactly one of fd=, file=, pwdfd= and pwdfile= is required",
                    opt);
    }
    bool pwd = ko->source == KEY_PWDFD || ko->source == KEY_PWDFILE;
    if (pwd && has_format) {
        return fail(err, errlen, "%s: format= is for key files and descriptors, not passphrases",
                    opt);
    }
    if (!pwd && has_kdf) {
        return fail(err, errlen, "%s: kdf= is for passphrases (pwdfd=, pwdfile=)", opt);
    }
    if (ko->remove && (ko->source == KEY_FD || ko->source == KEY_PWDFD)) {
        return fail(err, errlen, "%s: remove is for key files (file=, pwdfile=)", opt);
    }
    return 0;
}

static int opt_key(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    return parse_key(&o->key, opt, arg, err, errlen);
}

static int opt_migration_key(struct vtpmd_opts *o, const char *opt, char *arg, char *err,
                             size_t errlen)
{
    return parse_key(&o->mig_key, opt, arg, err, errlen);
}

/* --vmid (swtpm_setup's option): the VM the vTPM file is bound to. Printable ASCII only. */
static int opt_vmid(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    size_t n = strlen(arg);
    if (o->vmid) {
        return fail(err, errlen, "%s: given more than once", opt);
    }
    if (n == 0 || n > OPTS_VMID_MAX) {
        return fail(err, errlen, "%s: the VM id must be 1 to %d characters", opt, OPTS_VMID_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        if (arg[i] < 0x20 || arg[i] > 0x7e) {
            return fail(err, errlen, "%s: the VM id must be printable ASCII characters", opt);
        }
    }
    return set_str(&o->vmid, arg, opt, "vmid", err, errlen);
}

static int opt_runas(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen)
{
    return set_str(&o->runas, arg, opt, "user", err, errlen);
}

#define FLAG_OPT(field)                                                                            \
    static int opt_##field(struct vtpmd_opts *o, const char *opt, char *arg, char *err,            \
                           size_t errlen)                                                          \
    {                                                                                              \
        (void)opt;                                                                                 \
        (void)arg;                                                                                 \
        (void)err;                                                                                 \
        (void)errlen;                                                                              \
        o->field = true;                                                                           \
        return 0;                                                                                  \
    }
FLAG_OPT(tpm2)
FLAG_OPT(daemon)
FLAG_OPT(terminate)
FLAG_OPT(print_capabilities)
FLAG_OPT(print_states)
FLAG_OPT(version)
FLAG_OPT(help)

/* One row per option: long name, short letter (0: none), takes an argument, parser. */
static const struct opt_def {
    const char *name;
    char letter;
    bool has_arg;
    int (*parse)(struct vtpmd_opts *o, const char *opt, char *arg, char *err, size_t errlen);
} opt_table[] = {
    {"tpm2", 0, false, opt_tpm2},
    {"tpmstate", 0, true, opt_tpmstate},
    {"ctrl", 0, true, opt_ctrl},
    {"server", 0, true, opt_server},
    {"port", 'p', true, opt_port},
    {"fd", 'f', true, opt_fd},
    {"terminate", 't', false, opt_terminate},
    {"daemon", 'd', false, opt_daemon},
    {"flags", 0, true, opt_flags},
    {"locality", 0, true, opt_locality},
    {"pid", 0, true, opt_pid},
    {"log", 0, true, opt_log},
    {"seccomp", 0, true, opt_seccomp},
    {"key", 0, true, opt_key},
    {"migration-key", 0, true, opt_migration_key},
    {"vmid", 0, true, opt_vmid},
    {"runas", 'r', true, opt_runas},
    {"print-capabilities", 0, false, opt_print_capabilities},
    {"print-states", 0, false, opt_print_states},
    {"version", 0, false, opt_version},
    {"help", 'h', false, opt_help},
};

static const struct opt_def *opt_find(const char *word, const char **inline_arg)
{
    *inline_arg = NULL;
    for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
        const struct opt_def *d = &opt_table[i];
        if (word[0] == '-' && word[1] == '-') {
            size_t n = strlen(d->name);
            if (strncmp(word + 2, d->name, n) == 0) {
                if (word[2 + n] == '\0') {
                    return d;
                }
                if (word[2 + n] == '=' && d->has_arg) {
                    *inline_arg = word + 3 + n;
                    return d;
                }
            }
        } else if (word[0] == '-' && d->letter && word[1] == d->letter) {
            if (word[2] == '\0') {
                return d;
            }
            if (d->has_arg) {
                *inline_arg = word + 2; /* -p2321, as getopt allows */
                return d;
            }
        }
    }
    return NULL;
}

static void opts_init(struct vtpmd_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->ctrl.fd = o->ctrl.clientfd = -1;
    o->server.fd = o->server.clientfd = -1;
    o->pid_fd = -1;
    o->log_fd = -1;
    o->log_level = 1;
    o->state_mode = 0640;
    o->seccomp = SECCOMP_ACTION_KILL;
    o->key.fd = o->mig_key.fd = -1;
}

int opts_parse(int argc, char *const argv[], struct vtpmd_opts *o, char *err, size_t errlen)
{
    int i = 1;
    opts_init(o);
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (i < argc && argv[i][0] != '-') {
        if (strcmp(argv[i], "socket") != 0) {
            return fail(err, errlen,
                        "'%s': unsupported interface (vtpmd serves the 'socket' interface only)",
                        argv[i]);
        }
        i++;
    }
    for (; i < argc; i++) {
        const char *word = argv[i];
        const char *inline_arg;
        const struct opt_def *d = opt_find(word, &inline_arg);
        char label[64];
        char *arg = NULL;
        int rc;

        if (!d) {
            if (word[0] == '-') {
                return fail(err, errlen, "%s: unknown option", word);
            }
            return fail(err, errlen, "'%s': unexpected argument", word);
        }
        snprintf(label, sizeof(label), "--%s", d->name);
        if (d->has_arg) {
            const char *a = inline_arg;
            if (!a) {
                if (i + 1 >= argc) {
                    return fail(err, errlen, "%s: needs an argument", label);
                }
                a = argv[++i];
            }
            arg = strdup(a);
            if (!arg) {
                return fail(err, errlen, "%s: out of memory", label);
            }
        }
        rc = d->parse(o, label, arg, err, errlen);
        free(arg);
        if (rc != 0) {
            return -1;
        }
    }
    if (o->help || o->version || o->print_capabilities) {
        return 0;
    }
    if (!o->tpm2) {
        return fail(err, errlen, "--tpm2: required (vtpmd emulates a TPM 2.0 only)");
    }
    return 0;
}

void opts_free(struct vtpmd_opts *o)
{
    struct chan_opts *chans[] = {&o->ctrl, &o->server};
    for (size_t i = 0; i < 2; i++) {
        free(chans[i]->path);
        free(chans[i]->bindaddr);
        free(chans[i]->ifname);
        chans[i]->path = chans[i]->bindaddr = chans[i]->ifname = NULL;
    }
    free(o->state_dir);
    free(o->pid_file);
    free(o->log_file);
    free(o->log_prefix);
    free(o->runas);
    free(o->key.path);
    free(o->mig_key.path);
    free(o->vmid);
    o->state_dir = o->pid_file = o->log_file = o->log_prefix = o->runas = NULL;
    o->key.path = o->mig_key.path = o->vmid = NULL;
}

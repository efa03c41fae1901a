/*
 * vtpmd's command line: `vtpmd socket --tpm2 ...` with swtpm 0.7.1's options and meanings
 * (swtpm(8), "Options for socket interface" and "Options for all interfaces").
 *
 * opts_parse() only parses: it opens nothing and prints nothing, so unit tests can call it
 * with any argv. Every refusal is one sentence naming the option, for the operator.
 */
#ifndef VTPMD_OPTS_H
#define VTPMD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum chan_type {
    CHAN_NONE,
    CHAN_TCP,
    CHAN_UNIX,
};

/* One channel: --ctrl or --server (and -p / -f, which are shorthands for --server). */
struct chan_opts {
    enum chan_type type;
    char *path;     /* unixio path, or NULL */
    uint16_t port;  /* tcp port, 0 when not given */
    char *bindaddr; /* tcp bind address (default 127.0.0.1), or NULL */
    char *ifname;   /* interface for a link-local IPv6 bind address, or NULL */
    int fd;         /* fd=: a socket the parent opened (listening or connected), or -1 */
    int clientfd;   /* clientfd=: an already connected control socket, or -1 */
    bool has_mode;
    mode_t mode; /* unixio socket file mode */
    bool has_uid, has_gid;
    uid_t uid;
    gid_t gid;
    bool disconnect; /* --server: close the data connection after each response */
};

enum seccomp_action {
    SECCOMP_ACTION_KILL, /* the default, as swtpm */
    SECCOMP_ACTION_LOG,
    SECCOMP_ACTION_NONE,
};

/* Where a key comes from (--key, --migration-key; swtpm(8) "--key"). */
enum key_source {
    KEY_NONE,    /* option not given */
    KEY_FD,      /* fd=N: the key bytes, read to end of file */
    KEY_FILE,    /* file=PATH: a key file (0600 or 0400, owned by vtpmd's user) */
    KEY_PWDFD,   /* pwdfd=N: a passphrase, read to end of file */
    KEY_PWDFILE, /* pwdfile=PATH: a passphrase file (same rules as file=) */
};

enum key_format {
    KEY_FORMAT_AUTO,   /* 32 raw bytes or 64 hexadecimal digits */
    KEY_FORMAT_HEX,    /* format=hex: 64 hexadecimal digits (an optional newline after) */
    KEY_FORMAT_BINARY, /* format=binary: exactly 32 raw bytes */
};

enum key_kdf {
    KEY_KDF_PBKDF2, /* kdf=pbkdf2 (default for passphrases) */
    KEY_KDF_SHA512, /* kdf=sha512 */
};

/* One --key or --migration-key as given; nothing is read while parsing. */
struct key_opts {
    enum key_source source;
    int fd;     /* KEY_FD, KEY_PWDFD */
    char *path; /* KEY_FILE, KEY_PWDFILE */
    enum key_format format;
    enum key_kdf kdf;
    bool remove; /* remove: unlink the key file once read */
};

/* The VM id a file is bound to when --vmid is not given (the store needs a non-empty id). */
#define OPTS_DEFAULT_VMID "(no vmid)"
#define OPTS_VMID_MAX 255

enum startup_type {
    STARTUP_NONE_GIVEN, /* no startup-* flag */
    STARTUP_CLEAR,
    STARTUP_STATE,
    STARTUP_NONE, /* startup-none: send nothing */
};

struct vtpmd_opts {
    bool tpm2;
    bool daemon;
    bool terminate;
    bool print_capabilities;
    bool print_states;
    bool version;
    bool help;

    char *state_dir; /* --tpmstate dir= or backend-uri=dir:// */
    bool has_state_mode;
    mode_t state_mode; /* default 0640 */

    struct chan_opts ctrl;
    struct chan_opts server;

    bool not_need_init;
    enum startup_type startup;

    char *pid_file;
    int pid_fd;

    bool has_log;
    char *log_file; /* "-" discards */
    int log_fd;
    unsigned log_level;
    char *log_prefix;
    bool log_truncate;

    bool reject_locality_4;
    bool allow_set_locality;

    enum seccomp_action seccomp;
    char *runas;

    struct key_opts key;     /* --key: the vTPM file's data key */
    struct key_opts mig_key; /* --migration-key: seals the state blobs of migration */
    char *vmid;              /* --vmid, or NULL */
};

/*
 * Parse argv[1..argc-1] into o (which opts_parse initialises). An optional first word
 * "socket" is accepted, as swtpm's interface selector. Returns 0, or -1 with a one-line
 * message in err (errlen bytes) naming the option that was refused and why; o must still
 * be released with opts_free in both cases.
 */
int opts_parse(int argc, char *const argv[], struct vtpmd_opts *o, char *err, size_t errlen);

/* Release what opts_parse allocated (NULL-safe fields). */
void opts_free(struct vtpmd_opts *o);

/* The --help text. */
extern const char opts_usage[];

#endif

/*
 * The command table and what handlers see of a command in flight.
 *
 * One row per command code (cmd_table.c): its handles with their Part 2 interface type and
 * authorization role (Part 3 "Auth Index" / "Auth Role"), its flags, and its operations.
 * The dispatcher (cmd.c) does the shared pipeline of Part 3 §5 once: header, handles,
 * sessions and authorization, parameter decryption, unmarshal, handler, marshal, response
 * sessions. A command's operations are three functions: parse (wire -> typed input), the
 * handler (typed input -> typed output), emit (typed output -> wire). Handlers never see
 * wire bytes.
 */
#ifndef VTPM_TPM_CMD_H
#define VTPM_TPM_CMD_H

#include "engine.h"
#include "marshal.h"

/* Authorization role of a handle (Part 1 §19.7.1). */
enum auth_role { ROLE_NONE = 0, ROLE_USER, ROLE_ADMIN, ROLE_DUP };

/* The Part 2 interface type a handle in the handle area must have (Part 2 §9). */
enum handle_kind {
    HK_NONE = 0,
    HK_RH_HIERARCHY_AUTH,   /* TPMI_RH_HIERARCHY_AUTH: owner, endorsement, platform, lockout */
    HK_RH_HIERARCHY_POLICY, /* TPMI_RH_HIERARCHY_POLICY: same set here */
    HK_RH_HIERARCHY,        /* TPMI_RH_HIERARCHY: owner, endorsement, platform (+null) */
    HK_RH_ENABLES,          /* TPMI_RH_ENABLES: + platform NV (+null) */
    HK_RH_PLATFORM,         /* TPMI_RH_PLATFORM */
    HK_RH_OWNER,            /* TPMI_RH_OWNER (+null) */
    HK_RH_ENDORSEMENT,      /* TPMI_RH_ENDORSEMENT (+null) */
    HK_RH_PROVISION,        /* TPMI_RH_PROVISION: owner, platform */
    HK_RH_CLEAR,            /* TPMI_RH_CLEAR: lockout, platform */
    HK_RH_LOCKOUT,          /* TPMI_RH_LOCKOUT */
    HK_RH_NV_AUTH,          /* TPMI_RH_NV_AUTH: platform, owner, NV index */
    HK_RH_NV_INDEX,         /* TPMI_RH_NV_INDEX */
    HK_DH_PCR,              /* TPMI_DH_PCR (+null) */
    HK_DH_OBJECT,           /* TPMI_DH_OBJECT: transient, persistent (+null) */
    HK_DH_PARENT,           /* TPMI_DH_PARENT: + owner, endorsement, platform (+null) */
    HK_DH_PERSISTENT,       /* TPMI_DH_PERSISTENT */
    HK_DH_ENTITY,           /* TPMI_DH_ENTITY (+null) */
    HK_DH_CONTEXT,          /* TPMI_DH_CONTEXT: sessions, transient */
    HK_SH_POLICY,           /* TPMI_SH_POLICY */
    HK_SH_HMAC,             /* TPMI_SH_HMAC */
    HK_SH_AUTH_SESSION,     /* TPMI_SH_AUTH_SESSION */
};

struct handle_spec {
    uint8_t kind;    /* enum handle_kind */
    uint8_t role;    /* enum auth_role */
    bool null_ok;    /* "+" in Part 3's table: TPM_RH_NULL accepted */
};

/* Command flags: the attribute bits of TPM_CAP_COMMANDS and the dispatcher's choices. */
#define CMDF_NV 0x0001        /* may write NV (TPMA_CC.nv) */
#define CMDF_EXTENSIVE 0x0002 /* TPMA_CC.extensive */
#define CMDF_FLUSHED 0x0004   /* flushes its handle (TPMA_CC.flushed) */
#define CMDF_RHANDLE 0x0008   /* the response carries a handle (TPMA_CC.rHandle) */
#define CMDF_ENC_IN 0x0010    /* the first parameter is a TPM2B: may be encrypted */
#define CMDF_ENC_OUT 0x0020   /* the first response parameter is a TPM2B */
#define CMDF_NO_AUDIT 0x0040  /* may not be audited */
#define CMDF_PP 0x0080        /* physical presence may be required (PP_Commands) */
#define CMDF_NO_SESS 0x0100   /* no authorization area allowed (Part 3: tag NO_SESSIONS only) */

struct cmd;

struct cmd_ops {
    size_t in_size, out_size;
    TPM_RC (*parse)(struct rd *r, void *in);
    TPM_RC (*run)(struct tpm *t, struct cmd *c, const void *in, void *out);
    void (*emit)(struct wr *w, const void *out);
};

struct cmd_def {
    TPM_CC cc;
    const char *name;
    uint8_t n_handles;
    struct handle_spec h[3];
    uint16_t flags;
    const struct cmd_ops *ops;
};

/* One authorization-area entry as parsed (Part 1 §18.6). */
struct cmd_session {
    TPM_HANDLE handle;
    TPM2B_NONCE nonce_caller;
    TPMA_SESSION attributes;
    TPM2B_AUTH hmac;
};

/* A command in flight: what the dispatcher knows and handlers may read. */
struct cmd {
    const struct cmd_def *def;
    TPM_CC cc;
    unsigned locality;
    TPM_ST tag;
    TPM_HANDLE handles[3];
    unsigned n_sessions;
    struct cmd_session sess[3];
    TPM_HANDLE out_handle; /* set by handlers of CMDF_RHANDLE commands */
    /* authorization state (auth.c) */
    const uint8_t *params; /* the parameter area as received (cpHash covers it) */
    size_t params_len;
    struct session *session[3];  /* NULL for TPM_RS_PW */
    TPM_HANDLE authorizes[3];    /* the handle each session authorizes, or 0 */
    bool include_auth[3];        /* the entity's authValue is part of the session's keys */
    TPM2B_AUTH auth_value[3];    /* that authValue, as of the command */
    int dec_session, enc_session; /* index of the decrypt / encrypt session, or -1 */
    TPM2B_NAME names[3];         /* names of the handles */
};

/* Run one command (tpm_execute after its power and locality checks). */
size_t cmd_execute(struct tpm *t, unsigned locality, const uint8_t *buf, size_t len,
                   uint8_t *rsp, size_t cap);

/* The table, sorted by command code. */
extern const struct cmd_def cmd_table[];
extern const size_t cmd_table_len;
const struct cmd_def *cmd_find(TPM_CC cc);
/* TPMA_CC of a row, as GetCapability(TPM_CAP_COMMANDS) reports it. */
TPMA_CC cmd_attributes(const struct cmd_def *d);

/*
 * Binds a command's three functions, declared in its module as
 *   static TPM_RC parse_X(struct rd *, struct in_X *);
 *   static TPM_RC cc_X(struct tpm *, struct cmd *, const struct in_X *, struct out_X *);
 *   static void emit_X(struct wr *, const struct out_X *);
 * into const struct cmd_ops ops_X, which cmd_table.c references. A command without
 * parameters uses struct in_none and parse_none; one without response parameters
 * struct out_none and emit_none (CMD_OPS_NO_IN, CMD_OPS_NO_OUT, CMD_OPS_NONE).
 */
#define CMD_OPS_FULL(X, IN, OUT, PARSE, EMIT)                                                \
    _Static_assert(sizeof(IN) <= CMD_IN_MAX, "input of " #X " too large");                   \
    _Static_assert(sizeof(OUT) <= CMD_OUT_MAX, "output of " #X " too large");                \
    static TPM_RC parse_##X##_any(struct rd *r, void *in) { return PARSE(r, in); }          \
    static TPM_RC run_##X##_any(struct tpm *t, struct cmd *c, const void *in, void *out)    \
    {                                                                                        \
        return cc_##X(t, c, in, out);                                                        \
    }                                                                                        \
    static void emit_##X##_any(struct wr *w, const void *out) { EMIT(w, out); }             \
    const struct cmd_ops ops_##X = {sizeof(IN), sizeof(OUT), parse_##X##_any, run_##X##_any, \
                                    emit_##X##_any}

#define CMD_OPS(X) CMD_OPS_FULL(X, struct in_##X, struct out_##X, parse_##X, emit_##X)
#define CMD_OPS_NO_OUT(X) CMD_OPS_FULL(X, struct in_##X, struct out_none, parse_##X, emit_none)
#define CMD_OPS_NO_IN(X) CMD_OPS_FULL(X, struct in_none, struct out_##X, parse_none, emit_##X)
#define CMD_OPS_NONE(X) CMD_OPS_FULL(X, struct in_none, struct out_none, parse_none, emit_none)

/* For commands without parameters or without response parameters. */
struct in_none {
    uint8_t unused;
};
struct out_none {
    uint8_t unused;
};
TPM_RC parse_none(struct rd *r, struct in_none *in);
void emit_none(struct wr *w, const struct out_none *out);

#endif

/*
 * vtpmctl's commands, one function each, named after the cloud API's calls. Each gets the
 * open context and its parsed options (main.c checked their names and that values are
 * present; the command checks the values). Each returns 0 with its JSON in c->out, or -1
 * with c->err set and nothing changed.
 */
#ifndef VTPM_CTL_COMMANDS_H
#define VTPM_CTL_COMMANDS_H

#include "ctl/ctl.h"

#define CMD_MAX_OPTS 16

struct cmd_def;

struct cmd_args {
    const struct cmd_def *def;
    const char *val[CMD_MAX_OPTS]; /* by option index; "true" for flags; NULL when absent */
};

/* An option's value by name (without "--"), NULL when it was not given. */
const char *cmd_arg(const struct cmd_args *a, const char *name);

/* The command's name, for messages. */
const char *cmd_name(const struct cmd_args *a);

int cmd_create_image(struct ctl *c, const struct cmd_args *a);
int cmd_read_images(struct ctl *c, const struct cmd_args *a);
int cmd_delete_image(struct ctl *c, const struct cmd_args *a);
int cmd_create_vms(struct ctl *c, const struct cmd_args *a);
int cmd_read_vms(struct ctl *c, const struct cmd_args *a);
int cmd_start_vms(struct ctl *c, const struct cmd_args *a);
int cmd_stop_vms(struct ctl *c, const struct cmd_args *a);
int cmd_reboot_vms(struct ctl *c, const struct cmd_args *a);
int cmd_delete_vms(struct ctl *c, const struct cmd_args *a);

#endif

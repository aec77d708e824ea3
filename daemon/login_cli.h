/* login_cli — the command-line side of login accounts (dualguardd --create-account,
 * --set-password): how the first administrator comes to exist, since no account exists by
 * default. The password is read from the terminal without echo (asked twice) or, when standard
 * input is not a terminal, from its first line; never from the command line. One-shot commands
 * only (they hash on the calling thread). */
#ifndef DG_LOGIN_CLI_H
#define DG_LOGIN_CLI_H

#include "model.h"
#include "store.h"

/* Creates account `login` for configured person `person`: 0 or negative errno (reported). */
int login_cli_create(struct store *s, const struct dg_config *cfg, const char *login, const char *person);
/* Sets a new password for account `login` and ends its sessions: 0 or negative errno. */
int login_cli_set_password(struct store *s, const char *login);

#endif

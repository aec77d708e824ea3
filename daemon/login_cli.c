#include "login_cli.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "login.h"

/* One line from fd 0 into buf without its newline: 0, or -EIO at end of input. */
static int login_cli__line(const char *prompt, char *buf, size_t len)
{
  struct termios old, quiet;
  int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    fprintf(stderr, "%s", prompt);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  char *got = fgets(buf, (int)len, stdin);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
  }
  if (!got) return -EIO;
  buf[strcspn(buf, "\r\n")] = '\0';
  return 0;
}

/* The new password of `login` into buf (checked, and confirmed on a terminal). */
static int login_cli__password(const char *login, char *buf, size_t len)
{
  char again[LOGIN_PW_MAX + 2];
  if (login_cli__line("Password / 密码: ", buf, len)) {
    DG_ERR("login", "no password given on standard input");
    return -EINVAL;
  }
  const char *why = login_pw_problem(login, buf);
  int rc = why ? -EINVAL : 0;
  if (why) DG_ERR("login", "%s", why);
  if (!rc && isatty(STDIN_FILENO)) {
    rc = login_cli__line("Again / 再次输入: ", again, sizeof again) || strcmp(again, buf) ? -EINVAL : 0;
    if (rc) DG_ERR("login", "the two passwords differ");
  }
  sodium_memzero(again, sizeof again);
  return rc;
}

/* Hashes a password read from the input into hash. */
static int login_cli__hash(const char *login, char hash[LOGIN_HASH_LEN])
{
  char pw[LOGIN_PW_MAX + 2];
  int rc = sodium_init() < 0 ? -EIO : login_cli__password(login, pw, sizeof pw);
  if (!rc && (rc = login_pw_hash_now(pw, hash))) DG_ERR("login", "password not hashed: out of memory");
  sodium_memzero(pw, sizeof pw);
  return rc;
}

int login_cli_create(struct store *s, const struct dg_config *cfg, const char *login, const char *person)
{
  char hash[LOGIN_HASH_LEN];
  const struct dg_person *p = dg_config_person(cfg, person);
  struct login_account acct;
  int rc = 0;
  if (!login_name_valid(login)) {
    DG_ERR("login", "'%s': a login name is 1 to 64 of A-Z a-z 0-9 . _ - @", login);
    return -EINVAL;
  }
  if (!p) {
    DG_ERR("login", "no person '%s' in the configuration (persons:); give one with --person", person);
    return -ENOENT;
  }
  if (login_account_get(s, login, &acct) == 0 || login_person_has_account(s, person)) {
    DG_ERR("login", "account '%s' or an account of person '%s' exists already", login, person);
    return -EEXIST;
  }
  if (!auth_role_usable(p))
    DG_WARN("login", "person '%s' has no role the API knows: the account can log in to nothing; 该人员没有可用角色",
            person);
  if (!rc) rc = login_cli__hash(login, hash);
  if (!rc && (rc = login_write_now(s, login_write_account_insert(login, person, hash)))) DG_ERR("login", "account not stored: %s", strerror(-rc));
  if (!rc) printf("account '%s' created for %s (%s)\n", login, person, p->name ? p->name : person);
  if (!rc) DG_INFO("login", "account '%s' for person '%s' created on the command line", login, person);
  return rc;
}

int login_cli_set_password(struct store *s, const char *login)
{
  char hash[LOGIN_HASH_LEN];
  struct login_account acct;
  int rc = login_account_get(s, login, &acct);
  if (rc) {
    DG_ERR("login", "no account '%s'", login);
    return rc;
  }
  rc = login_cli__hash(login, hash);
  if (!rc) rc = login_write_now(s, login_write_set_hash(login, hash, NULL));
  if (rc) DG_ERR("login", "password of '%s' not changed: %s", login, strerror(-rc));
  else printf("password of '%s' changed; its sessions have ended\n", login);
  if (!rc) DG_INFO("login", "password of account '%s' set on the command line", login);
  return rc;
}

/* login — people's accounts and sessions. An account is a login name for one person of the plant
 * model (whose roles decide what the account may do) with an Argon2id password hash
 * (libsodium crypto_pwhash_str); a session is a random token ("s-" and 64 hex digits) that the
 * browser holds in an HttpOnly cookie and the database only as its SHA-256. A session ends when
 * it is logged out, unused for daemon.login.idle_timeout or older than session_lifetime.
 *
 * Hashing takes ~100 ms and tens of MiB, so it runs on libuv's thread pool (login_pw_job), at
 * most LOGIN_MAX_HASHING at once; everything else runs on the loop thread, which owns struct
 * login. Failed logins are counted per login name and per client address (login_limit.h). */
#ifndef DG_LOGIN_H
#define DG_LOGIN_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "login_limit.h"
#include "model.h"
#include "store.h"

#define LOGIN_TOKEN_PREFIX "s-"
#define LOGIN_NAME_LEN 64
#define LOGIN_PW_MIN 10
#define LOGIN_PW_MAX 256
#define LOGIN_MAX_HASHING 2
#define LOGIN_HASH_LEN 128 /* crypto_pwhash_STRBYTES */

struct login {
  uv_loop_t *loop;
  struct store *store;
  const struct dg_config *const *cfg; /* the config in force (changes on reload) */
  int secure_cookie;                  /* served over TLS: the cookie gets Secure */
  struct login_limit limit;
  unsigned hashing;                   /* password jobs on the thread pool */
  unsigned writing;                   /* login_write_submit's jobs on the store */
  int closing;                        /* login_free ran while jobs were out: the last frees */
};

int login_new(struct login **out, uv_loop_t *loop, struct store *store, const struct dg_config *const *cfg,
              int secure_cookie);
void login_free(struct login *l);

/* Account rows. */
struct login_account {
  char login[LOGIN_NAME_LEN + 1];
  char person[128];
  char pwhash[LOGIN_HASH_LEN];
  int disabled;
};

/* 1 when `name` is a valid login name: 1..64 of A-Z a-z 0-9 . _ - @ */
int login_name_valid(const char *name);
/* NULL when the password is acceptable for `name`, else why not (English). */
const char *login_pw_problem(const char *name, const char *password);

/* Reads account `name`: 0, -ENOENT or -EIO. */
int login_account_get(struct store *s, const char *name, struct login_account *out);
/* 1 when some account belongs to `person`. */
int login_person_has_account(struct store *s, const char *person);
/* Every account, by login name: [{login, person, person_name, roles, disabled, created_ms,
 * changed_ms, active_sessions}]; NULL on a database error. */
cJSON *login_account_list(struct login *l);

/* Password hashing off the loop thread. kind LOGIN_PW_HASH hashes `password`; LOGIN_PW_VERIFY
 * checks it against `hash` (NULL: no account, it hashes instead so the answer takes as long, and
 * fails); LOGIN_PW_CHANGE verifies, then hashes `new_password`. done runs on the loop thread with
 * rc 0 (hash set for HASH and CHANGE), -EACCES (wrong password), -ECANCELED or -ENOMEM. */
enum login_pw_kind { LOGIN_PW_HASH, LOGIN_PW_VERIFY, LOGIN_PW_CHANGE };
typedef void (*login_pw_done)(void *ud, int rc, const char *hash);
/* 0, -EBUSY (LOGIN_MAX_HASHING jobs out), -ENOMEM. */
int login_pw_job(struct login *l, enum login_pw_kind kind, const char *password, const char *hash,
                 const char *new_password, login_pw_done done, void *ud);
/* Synchronous hash, for the command line: 0 or -ENOMEM. */
int login_pw_hash_now(const char *password, char out[LOGIN_HASH_LEN]);

#define LOGIN_TOKEN_LEN 66
/* The person of a live session token (and its account in name_out, LOGIN_NAME_LEN + 1 bytes,
 * when not NULL), or NULL (logged, rate-limited). Records use for the idle timeout. */
const struct dg_person *login_session_person(struct login *l, const char *token, char *name_out);

/* Writes of accounts and sessions, committed by the store's writer while the loop goes on: a
 * login_write_* builds one (NULL: out of memory or no randomness) and login_write_submit hands
 * it to the store's urgent lane. Its statements commit together.
 *
 * session_open: a new session of account `name`; its token (LOGIN_TOKEN_LEN + 1 bytes) and
 *   absolute end are written at once, and are valid once the write is committed. Sessions ended
 *   long ago are removed in the same commit.
 * session_close: ends the session of `token` (-ENOENT: none live).
 * account_insert: a new account (-EEXIST: the login or the person has one).
 * set_hash: a new password hash; every other session of the account ends (keep_token's stays;
 *   NULL: none) in the same commit (-ENOENT: no account).
 * set_disabled: disables (ending every session) or enables an account (-ENOENT: no account). */
struct login_write;
struct login_write *login_write_session_open(struct login *l, const char *name, char *token, int64_t *expires_ms);
struct login_write *login_write_session_close(const char *token);
struct login_write *login_write_account_insert(const char *name, const char *person, const char *pwhash);
struct login_write *login_write_set_hash(const char *name, const char *pwhash, const char *keep_token);
struct login_write *login_write_set_disabled(const char *name, int disabled);
/* Loop thread, once the write is committed: rc 0, -EEXIST, -ENOENT (as above), -EIO, or
 * -ECANCELED when login_free ran meanwhile (then nothing of struct login may be used). */
typedef void (*login_written_fn)(void *arg, int rc);
/* Takes w (NULL: -ENOMEM). 0, with done to come; or a negative errno, w freed and no done. */
int login_write_submit(struct login *l, struct login_write *w, login_written_fn done, void *arg);
/* The command line's: submits w and waits for its commit (no loop serves anyone else). */
int login_write_now(struct store *s, struct login_write *w);

/* Set-Cookie value carrying token (NULL: one that deletes the cookie), malloc'd. */
char *login_cookie(const struct login *l, const char *token);

#endif

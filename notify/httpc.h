/* httpc — asynchronous HTTP client (libcurl multi driven by the libuv loop, as in curl's
 * multi-uv.c). Used by notification channels. Loop thread only. */
#ifndef DG_HTTPC_H
#define DG_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct httpc;

/* Called once per request on the loop thread. status: HTTP status, or 0 on a transport error
 * (then `error` says why: "timeout", "connection refused", "cancelled", ...). `body` is the
 * response body (may be NULL), valid only during the call. */
typedef void (*httpc_done_fn)(void *ud, long status, const char *error, const char *body);

int httpc_init(struct httpc **out, uv_loop_t *loop);

/* POSTs `body` (copied) to url. headers: NULL-terminated array of "Name: value" (copied), may be
 * NULL. Always sets CURLOPT_NOSIGNAL and the given total timeout. Returns 0 or negative errno;
 * on 0, `done` will be called exactly once. */
int httpc_post(struct httpc *c, const char *url, const char *content_type, const char *body,
               size_t len, const char *const *headers, uint32_t timeout_ms, httpc_done_fn done,
               void *ud);

/* Sends e-mail `msg` (a whole RFC 5322 message, copied) from `from` to `rcpt` through the SMTP
 * server at url (smtp:// or smtps://). user/password may be NULL. With require_tls the session must
 * be encrypted (CURLUSESSL_ALL: STARTTLS is mandatory, never opportunistic). `done` gets the
 * server's last reply code as status (250 when accepted). Otherwise as httpc_post. */
int httpc_smtp(struct httpc *c, const char *url, const char *user, const char *password, bool require_tls,
               const char *from, const char *rcpt, const char *msg, size_t len, uint32_t timeout_ms,
               httpc_done_fn done, void *ud);

/* Number of requests in flight. */
size_t httpc_active(const struct httpc *c);

/* Cancels in-flight requests (their done is called with status 0, "cancelled"), then closes
 * the handles; the loop must run once more for them to close. */
void httpc_close(struct httpc *c);

#endif

/* dualguardctl — a command-line client of the dualguardd HTTP API (docs/openapi.yaml): what it
 * shares between its request code (ctl_http.c) and its commands (dualguardctl.c). */
#ifndef DG_CTL_H
#define DG_CTL_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Exit statuses: 0 done, 1 the server refused or failed (or the config is invalid), 2 usage,
 * 3 the server could not be reached. */
#define CTL_EXIT_REFUSED 1
#define CTL_EXIT_USAGE 2
#define CTL_EXIT_UNREACHABLE 3

struct ctl {
  const char *url; /* without a trailing '/' */
  char token[256]; /* "" when none */
  int json;        /* --json: print the server's JSON answer */
};

/* One request to c->url + path with the token (always sent when there is one) and body (NULL:
 * none). 0 with *out the decoded JSON answer (the caller deletes it); else an exit status after
 * a message on stderr that names the request and the server's error. */
int ctl_call(const struct ctl *c, const char *method, const char *path, const cJSON *body, cJSON **out);

/* in, URL-encoded into out: 0, or -1 when it does not fit. */
int ctl_escape(const char *in, char *out, size_t outlen);

#endif

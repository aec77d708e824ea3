#include "ctl.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_buf {
  char *p;
  size_t n;
};

static size_t ctl__write(char *data, size_t size, size_t nmemb, void *ud)
{
  struct ctl_buf *b = ud;
  size_t len = size * nmemb;
  char *np = realloc(b->p, b->n + len + 1);
  if (!np) return 0;
  memcpy(np + b->n, data, len);
  b->p = np;
  b->n += len;
  b->p[b->n] = '\0';
  return len;
}

/* The server's message for a refusal, with a hint where the cause is usually the caller's. */
static void ctl__refused(const char *method, const char *path, long status, const cJSON *answer)
{
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(answer, "error");
  if (!err) err = cJSON_GetObjectItemCaseSensitive(answer, "reason"); /* /healthz when degraded */
  const char *msg = cJSON_IsString(err) ? err->valuestring : "(no message)";
  fprintf(stderr, "dualguardctl: %s %s: HTTP %ld: %s\n", method, path, status, msg);
  if (status == 401)
    fprintf(stderr, "dualguardctl: the token was refused or missing: give a valid one with --token, --token-file,"
                    " DUALGUARD_TOKEN or DUALGUARD_TOKEN_FILE (令牌无效或缺失)\n");
  else if (status == 403)
    fprintf(stderr, "dualguardctl: the token's person lacks the role for this (权限不足)\n");
}

int ctl_call(const struct ctl *c, const char *method, const char *path, const cJSON *body, cJSON **out)
{
  char url[1024], auth[320], err[CURL_ERROR_SIZE] = "";
  struct ctl_buf buf = {0};
  struct curl_slist *hdr = NULL;
  char *text = body ? cJSON_PrintUnformatted(body) : NULL;
  long status = 0;
  int rc = CTL_EXIT_UNREACHABLE;
  *out = NULL;
  CURL *h = curl_easy_init();
  if (!h || snprintf(url, sizeof url, "%s%s", c->url, path) >= (int)sizeof url) goto done;
  if (c->token[0]) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
    hdr = curl_slist_append(hdr, auth);
  }
  if (text) hdr = curl_slist_append(hdr, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ctl__write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &buf);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (text) curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
  else if (strcmp(method, "POST") == 0) curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
  CURLcode cc = curl_easy_perform(h);
  if (cc != CURLE_OK) {
    fprintf(stderr, "dualguardctl: cannot reach %s: %s (set --url or DUALGUARD_URL; 无法连接服务)\n", c->url,
            err[0] ? err : curl_easy_strerror(cc));
    goto done;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  *out = buf.p ? cJSON_Parse(buf.p) : NULL;
  if (status >= 400) {
    ctl__refused(method, path, status, *out);
    rc = CTL_EXIT_REFUSED;
  } else if (!*out) {
    fprintf(stderr, "dualguardctl: %s %s: HTTP %ld with an answer that is not JSON\n", method, path, status);
    rc = CTL_EXIT_REFUSED;
  } else {
    rc = 0;
  }
done:
  if (rc && *out) {
    cJSON_Delete(*out);
    *out = NULL;
  }
  curl_slist_free_all(hdr);
  if (h) curl_easy_cleanup(h);
  free(buf.p);
  free(text);
  return rc;
}

int ctl_escape(const char *in, char *out, size_t outlen)
{
  char *e = curl_easy_escape(NULL, in, 0);
  int rc = e && snprintf(out, outlen, "%s", e) < (int)outlen ? 0 : -1;
  curl_free(e);
  return rc;
}

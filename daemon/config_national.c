#include "config_national.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "national.h"

static int config_national__fail(const char *file, const struct dg_ynode *n, const char *key, char *err,
                                 size_t errlen, const char *fmt, ...)
{
  char msg[384], prefix[96];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(prefix, sizeof prefix, "national%s%s: ", key ? "." : "", key ? key : "");
  dg_yaml_format_error(err, errlen, file, n->line, n->col, prefix, msg);
  return -EINVAL;
}

static const char *config_national__scalar(const struct dg_ynode *v)
{
  return v && v->type == DG_YSCALAR && !v->has_nul ? v->text : NULL;
}

static bool config_national__digits(const char *s, size_t len)
{
  if (!s || strlen(s) != len) return false;
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

static int config_national__codes(const struct dg_ynode *v, const char *file, struct dg_national *nat, char *err,
                                  size_t errlen)
{
  if (v->type != DG_YMAP)
    return config_national__fail(file, v, "hazard_codes", err, errlen,
                                 "expected a mapping of hazard source id to registration code");
  if (!(nat->codes = calloc(v->n / 2 + 1, sizeof *nat->codes))) return -ENOMEM;
  for (size_t k = 0; k + 1 < v->n; k += 2) {
    const char *id = config_national__scalar(v->kids[k]), *code = config_national__scalar(v->kids[k + 1]);
    if (!id || !code || !*code || strlen(code) > 36)
      return config_national__fail(file, v->kids[k + 1], "hazard_codes", err, errlen,
                                   "expected a registration code of 1 to 36 characters for '%.64s'", id ? id : "");
    struct dg_national_code *c = &nat->codes[nat->n_codes++];
    c->line = v->kids[k]->line;
    c->col = v->kids[k]->col;
    if (!(c->source = strdup(id)) || !(c->code = strdup(code))) return -ENOMEM;
  }
  return 0;
}

static const char *const config_national__kinds[8] = {
  "hazardSources", "riskUnits", "riskEvents", "controlMeasures", "checkTasks", "checkRecords", "hazards",
  "shutdownRecords"};
/* The upload client's paths; hazard sources have none there: ours follows its naming. */
static const char *const config_national__default_paths[8] = {
  "/sec_hazard_source", "/sec_security_risk_unit", "/sec_security_risk_events",
  "/sec_security_risk_control_measures", "/sec_hidden_check_mission", "/sec_hidden_check_record",
  "/sec_hidden_danger_info", "/sec_deactivated_maintenance_record"};

static int config_national__uint(const struct dg_ynode *v, const char *key, unsigned lo, unsigned hi, unsigned *out,
                                 const char *file, char *err, size_t errlen)
{
  const char *t = config_national__scalar(v);
  char *end = NULL;
  unsigned long n = t ? strtoul(t, &end, 10) : 0;
  if (!t || !*t || *end || t[0] == '-' || n < lo || n > hi)
    return config_national__fail(file, v, key, err, errlen, "expected an integer from %u to %u, got '%.64s'", lo, hi,
                                 t ? t : "");
  *out = (unsigned)n;
  return 0;
}

static int config_national__paths(const struct dg_ynode *v, const char *file, struct dg_national_upload *u, char *err,
                                  size_t errlen)
{
  if (v->type != DG_YMAP)
    return config_national__fail(file, v, "upload.paths", err, errlen, "expected a mapping of record type to path");
  for (size_t k = 0; k + 1 < v->n; k += 2) {
    const char *kind = config_national__scalar(v->kids[k]), *path = config_national__scalar(v->kids[k + 1]);
    int i = 0;
    while (i < 8 && (!kind || strcmp(kind, config_national__kinds[i]))) i++;
    if (i == 8)
      return config_national__fail(file, v->kids[k], "upload.paths", err, errlen,
                                   "unknown record type '%.64s' (expected hazardSources, riskUnits, riskEvents, "
                                   "controlMeasures, checkTasks, checkRecords, hazards or shutdownRecords)",
                                   kind ? kind : "");
    if (!path || path[0] != '/')
      return config_national__fail(file, v->kids[k + 1], "upload.paths", err, errlen,
                                   "expected a path starting with '/'");
    free(u->paths[i]);
    if (!(u->paths[i] = strdup(path))) return -ENOMEM;
  }
  return 0;
}

static int config_national__text(const struct dg_ynode *v, const char *key, char **out, const char *file, char *err,
                                 size_t errlen)
{
  const char *t = config_national__scalar(v);
  if (!t || !*t) return config_national__fail(file, v, key, err, errlen, "expected a text");
  free(*out);
  return (*out = strdup(t)) ? 0 : -ENOMEM;
}

static int config_national__upload_key(const char *key, const struct dg_ynode *v, const char *file,
                                       struct dg_national_upload *u, char *err, size_t errlen)
{
  char path[48];
  snprintf(path, sizeof path, "upload.%s", key);
  if (!strcmp(key, "url")) {
    const char *t = config_national__scalar(v);
    if (!t || (strncmp(t, "http://", 7) && strncmp(t, "https://", 8)))
      return config_national__fail(file, v, path, err, errlen, "expected an http:// or https:// URL");
    return config_national__text(v, path, &u->url, file, err, errlen);
  }
  if (!strcmp(key, "token")) return config_national__text(v, path, &u->token, file, err, errlen);
  if (!strcmp(key, "token_header")) return config_national__text(v, path, &u->token_header, file, err, errlen);
  if (!strcmp(key, "aes_key")) {
    const char *t = config_national__scalar(v);
    if (!t || strlen(t) != 16)
      return config_national__fail(file, v, path, err, errlen, "expected a key of 16 bytes (AES-128)");
    return config_national__text(v, path, &u->aes_key, file, err, errlen);
  }
  if (!strcmp(key, "page_size")) return config_national__uint(v, path, 1, 1000, &u->page_size, file, err, errlen);
  if (!strcmp(key, "interval_s")) return config_national__uint(v, path, 1, 86400, &u->interval_s, file, err, errlen);
  if (!strcmp(key, "timeout_s")) return config_national__uint(v, path, 1, 600, &u->timeout_s, file, err, errlen);
  if (!strcmp(key, "max_backoff_s"))
    return config_national__uint(v, path, 1, 86400, &u->max_backoff_s, file, err, errlen);
  if (!strcmp(key, "success_code")) {
    unsigned code = 0;
    int rc = config_national__uint(v, path, 0, 999999, &code, file, err, errlen);
    u->success_code = code;
    return rc;
  }
  if (!strcmp(key, "paths")) return config_national__paths(v, file, u, err, errlen);
  return config_national__fail(file, v, "upload", err, errlen,
                               "unknown key '%.64s' (expected url, token, token_header, aes_key, page_size, "
                               "interval_s, timeout_s, max_backoff_s, success_code, paths)",
                               key);
}

static int config_national__upload(const struct dg_ynode *v, const char *file, struct dg_national *nat, char *err,
                                   size_t errlen)
{
  if (v->type != DG_YMAP) return config_national__fail(file, v, "upload", err, errlen, "expected a mapping with url");
  struct dg_national_upload *u = nat->upload = calloc(1, sizeof *u);
  if (!u) return -ENOMEM;
  *u = (struct dg_national_upload){.page_size = 20, .interval_s = 60, .timeout_s = 10, .max_backoff_s = 300,
                                   .success_code = 200};
  int rc = 0;
  for (size_t k = 0; !rc && k + 1 < v->n; k += 2) {
    const char *key = config_national__scalar(v->kids[k]);
    rc = config_national__upload_key(key ? key : "", v->kids[k + 1], file, u, err, errlen);
  }
  if (!rc && !u->url) rc = config_national__fail(file, v, "upload", err, errlen, "missing url");
  if (!rc && !u->token_header && !(u->token_header = strdup("token"))) rc = -ENOMEM;
  for (int i = 0; !rc && i < 8; i++)
    if (!u->paths[i] && !(u->paths[i] = strdup(config_national__default_paths[i]))) rc = -ENOMEM;
  return rc;
}

static void config_national__upload_free(struct dg_national_upload *u)
{
  if (!u) return;
  for (int i = 0; i < 8; i++) free(u->paths[i]);
  free(u->url);
  free(u->token);
  free(u->token_header);
  free(u->aes_key);
  free(u);
}

/* One key of the section; 0, or negative with err set. */
static int config_national__key(const char *key, const struct dg_ynode *v, const char *file, struct dg_national *nat,
                                char *err, size_t errlen)
{
  const char *t = config_national__scalar(v);
  if (!strcmp(key, "hazard_codes")) return config_national__codes(v, file, nat, err, errlen);
  if (!strcmp(key, "upload")) return config_national__upload(v, file, nat, err, errlen);
  if (!strcmp(key, "company_code")) {
    if (!config_national__digits(t, 9))
      return config_national__fail(file, v, key, err, errlen, "expected the 9-digit enterprise code, got '%.64s'",
                                   t ? t : "");
    return (nat->company_code = strdup(t)) ? 0 : -ENOMEM;
  }
  if (!strcmp(key, "credit_code")) {
    if (!t || strlen(t) != 18)
      return config_national__fail(file, v, key, err, errlen,
                                   "expected the 18-character unified social credit code, got '%.64s'", t ? t : "");
    if (!national_credit_code_valid(t)) {
      char want = national_credit_code_check(t);
      return config_national__fail(file, v, key, err, errlen,
                                   want ? "check character is '%c', expected '%c' (GB 32100)"
                                        : "'%.18s' has a character outside 0-9 and A-Y without I, O, S, V, Z",
                                   want ? t[17] : 0, want);
    }
    return (nat->credit_code = strdup(t)) ? 0 : -ENOMEM;
  }
  if (!strcmp(key, "time_format")) {
    if (t && !strcmp(t, "compact")) nat->time_format = NATIONAL_TIME_COMPACT;
    else if (t && !strcmp(t, "iso")) nat->time_format = NATIONAL_TIME_ISO;
    else return config_national__fail(file, v, key, err, errlen, "expected compact or iso, got '%.64s'", t ? t : "");
    return 0;
  }
  if (!strcmp(key, "risk_class_base")) {
    if (!t || (strcmp(t, "0") && strcmp(t, "1")))
      return config_national__fail(file, v, key, err, errlen, "expected 0 or 1, got '%.64s'", t ? t : "");
    nat->risk_class_base = t[0] - '0';
    return 0;
  }
  return config_national__fail(file, v, NULL, err, errlen,
                               "unknown key '%.64s' (expected company_code, credit_code, time_format, "
                               "risk_class_base, hazard_codes, upload)", key);
}

int config_national_parse(const struct dg_ynode *n, const char *file, struct dg_national **out, char *err,
                          size_t errlen)
{
  if (n->type != DG_YMAP)
    return config_national__fail(file, n, NULL, err, errlen, "expected a mapping with company_code and credit_code");
  struct dg_national *nat = calloc(1, sizeof *nat);
  if (!nat) return -ENOMEM;
  nat->risk_class_base = 1;
  int rc = 0;
  for (size_t k = 0; !rc && k + 1 < n->n; k += 2) {
    const char *key = config_national__scalar(n->kids[k]);
    rc = config_national__key(key ? key : "", n->kids[k + 1], file, nat, err, errlen);
    if (!key && !rc) rc = config_national__fail(file, n->kids[k], NULL, err, errlen, "expected a key");
  }
  if (!rc && !nat->company_code)
    rc = config_national__fail(file, n, NULL, err, errlen, "missing company_code (the 9-digit enterprise code)");
  if (!rc && !nat->credit_code)
    rc = config_national__fail(file, n, NULL, err, errlen, "missing credit_code (the unified social credit code)");
  if (rc == -ENOMEM) snprintf(err, errlen, "%s: out of memory", file);
  if (rc) {
    config_national_free(nat);
    return rc;
  }
  *out = nat;
  return 0;
}

static bool config_national__has_source(const struct dg_config *c, const char *id)
{
  for (size_t i = 0; i < c->n_sources; i++)
    if (!strcmp(c->sources[i].id, id)) return true;
  return false;
}

int config_national_check(const struct dg_config *c, const char *file, char *err, size_t errlen)
{
  const struct dg_national *nat = c->national;
  for (size_t i = 0; nat && i < nat->n_codes; i++) {
    if (config_national__has_source(c, nat->codes[i].source)) continue;
    char msg[128];
    snprintf(msg, sizeof msg, "unknown hazard source '%.64s'", nat->codes[i].source);
    dg_yaml_format_error(err, errlen, file, nat->codes[i].line, nat->codes[i].col, "national.hazard_codes: ", msg);
    return -EINVAL;
  }
  return 0;
}

const char *config_national_hazard_code(const struct dg_national *n, const char *id)
{
  for (size_t i = 0; n && id && i < n->n_codes; i++)
    if (!strcmp(n->codes[i].source, id)) return n->codes[i].code;
  return id;
}

void config_national_free(struct dg_national *n)
{
  if (!n) return;
  for (size_t i = 0; i < n->n_codes; i++) {
    free(n->codes[i].source);
    free(n->codes[i].code);
  }
  free(n->codes);
  config_national__upload_free(n->upload);
  free(n->company_code);
  free(n->credit_code);
  free(n);
}

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

/* One key of the section; 0, or negative with err set. */
static int config_national__key(const char *key, const struct dg_ynode *v, const char *file, struct dg_national *nat,
                                char *err, size_t errlen)
{
  const char *t = config_national__scalar(v);
  if (!strcmp(key, "hazard_codes")) return config_national__codes(v, file, nat, err, errlen);
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
                               "risk_class_base, hazard_codes)", key);
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
  free(n->company_code);
  free(n->credit_code);
  free(n);
}

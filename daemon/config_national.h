/* config_national — the `national:` configuration section: the enterprise's codes and the
 * choices of the national upload profile (ledger/national.h, docs/national-upload.md).
 *
 *   national:
 *     company_code: "123456789"          # 9 digits, the dangerous-chemicals registration code
 *     credit_code: 91320000MA1XXXXXXX    # 18 characters, GB 32100 check character
 *     time_format: compact               # compact (yyyyMMddHHmmss) | iso (yyyy-MM-dd HH:mm:ss)
 *     risk_class_base: 1                 # 1: 1 重大 … 4 低; 0: 0 重大 … 3 低
 *     hazard_codes: { HS01: "320500001" }  # hazard source id → its registration code (危险源编码)
 *     upload:                            # push to the regulator's platform (notify/upload.h)
 *       url: https://platform.example/api   # base; each record type POSTs to url + its path
 *       token: "…"                       # sent as header `token_header: token` (optional)
 *       token_header: token
 *       aes_key: 16-character key        # `datas` AES-128-CBC encrypted, IV = key (optional)
 *       page_size: 20                    # records per POST
 *       interval_s: 60                   # how often changed records are looked for
 *       timeout_s: 10                    # per POST
 *       max_backoff_s: 300               # retries back off 1 s, 2 s, 4 s … up to this
 *       success_code: 200                # the platform's `code` (top level or data.code) of success
 *       paths: { hazards: /sec_hidden_danger_info, … }  # per record type, defaults in docs
 *
 * Present, it also makes the measures' troubleshoot required on inspected measures (data_src 2).
 * Owned by the dg_config (config_national_free). */
#ifndef DG_CONFIG_NATIONAL_H
#define DG_CONFIG_NATIONAL_H

#include <stddef.h>

#include "yaml.h"

enum national_time_format { NATIONAL_TIME_COMPACT = 0, NATIONAL_TIME_ISO = 1 };

struct dg_national_code {
  char *source;  /* hazard source id */
  char *code;    /* its registration code */
  int line, col; /* where it was given, for the check against the loaded sources */
};

struct dg_national_upload {
  char *url, *token, *token_header, *aes_key;
  char *paths[8];            /* per enum national_kind; defaults filled by the parser */
  unsigned page_size, interval_s, timeout_s, max_backoff_s;
  long success_code;
};

struct dg_national {
  char *company_code;
  char *credit_code;
  enum national_time_format time_format;
  int risk_class_base;
  struct dg_national_code *codes;
  size_t n_codes;
  struct dg_national_upload *upload; /* NULL: no push, the pull export only */
};

struct dg_config;

/* Parses the section at n (file names the YAML for errors). 0, or -EINVAL with err set to
 * "file:line:column: national.key: what was expected", or -ENOMEM. */
int config_national_parse(const struct dg_ynode *n, const char *file, struct dg_national **out, char *err,
                          size_t errlen);
/* After the model is loaded: every hazard_codes key names a hazard source. 0 or -EINVAL. */
int config_national_check(const struct dg_config *c, const char *file, char *err, size_t errlen);
/* The registration code of hazard source `id` (the id itself when none is configured). */
const char *config_national_hazard_code(const struct dg_national *n, const char *id);
void config_national_free(struct dg_national *n);

#endif

#include "api_kpi.h"

#include "log.h"

/* ---- /api/v1/alarm-kpis (EEMUA 191 / ISA-18.2) -------------------------------------------- */

#define KPI_TEN_MIN_MS 600000LL
#define KPI_DAY_MS 86400000LL

/* Annunciated activations only: those while shelved or out of service do not reach an operator. */
#define KPI_ACTIVATIONS "event = 'activate' AND to_state NOT IN ('SHELVED', 'OUT_OF_SERVICE', 'SUPPRESSED')"

static const char *const kpi_api__sql_kpi_count =
  "SELECT COUNT(*) FROM alarm_journal WHERE " KPI_ACTIVATIONS " AND ts_ms >= ?1";
/* A flood starts at the activation that is the 11th within the preceding 10 minutes. */
static const char *const kpi_api__sql_kpi_floods =
  "SELECT j.ts_ms, j.id FROM alarm_journal j WHERE j." KPI_ACTIVATIONS " AND j.ts_ms >= ?1"
  " AND (SELECT COUNT(*) FROM alarm_journal k WHERE k." KPI_ACTIVATIONS
  "      AND k.ts_ms > j.ts_ms - 600000 AND k.id <= j.id) = 11 ORDER BY j.id";
static const char *const kpi_api__sql_kpi_chattering =
  "SELECT j.alarm_id, a.rule, MAX((SELECT COUNT(*) FROM alarm_journal k WHERE k.alarm_id = j.alarm_id"
  "   AND k.event = 'activate' AND k.to_state NOT IN ('SHELVED', 'OUT_OF_SERVICE', 'SUPPRESSED')"
  "   AND k.ts_ms > j.ts_ms - 60000 AND k.ts_ms <= j.ts_ms))"
  " FROM alarm_journal j JOIN alarms a ON a.id = j.alarm_id"
  " WHERE j.event = 'activate' AND j.to_state NOT IN ('SHELVED', 'OUT_OF_SERVICE', 'SUPPRESSED') AND j.ts_ms >= ?1"
  " GROUP BY j.alarm_id HAVING MAX((SELECT COUNT(*) FROM alarm_journal k WHERE k.alarm_id = j.alarm_id"
  "   AND k.event = 'activate' AND k.to_state NOT IN ('SHELVED', 'OUT_OF_SERVICE', 'SUPPRESSED')"
  "   AND k.ts_ms > j.ts_ms - 60000 AND k.ts_ms <= j.ts_ms)) >= 3 ORDER BY 3 DESC, 1";
static const char *const kpi_api__sql_kpi_standing =
  "SELECT id, rule, first_active_ms, state FROM alarms WHERE active = 1 AND first_active_ms < ?1"
  " ORDER BY first_active_ms, id";
static const char *const kpi_api__sql_kpi_top =
  "SELECT j.alarm_id, a.rule, COUNT(*) FROM alarm_journal j JOIN alarms a ON a.id = j.alarm_id"
  " WHERE j." KPI_ACTIVATIONS " AND j.ts_ms >= ?1 GROUP BY j.alarm_id ORDER BY 3 DESC, 1 LIMIT 10";

static int64_t kpi_api__kpi_count(struct store_conn *c, int64_t since)
{
  sqlite3_stmt *st = store_stmt(c, kpi_api__sql_kpi_count);
  if (!st) return -1;
  sqlite3_bind_int64(st, 1, since);
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_reset(st);
  return n;
}

/* Rows of `sql` bound to ?1 = since, as objects with the given keys (all columns). */
static cJSON *kpi_api__kpi_rows(struct store_conn *c, const char *sql, int64_t since, const char *const *keys, int n,
                            int *err)
{
  cJSON *arr = cJSON_CreateArray();
  sqlite3_stmt *st = store_stmt(c, sql);
  if (!st) {
    *err = 1;
    return arr;
  }
  sqlite3_bind_int64(st, 1, since);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < n; i++) {
      if (sqlite3_column_type(st, i) == SQLITE_TEXT) api_col_text(o, keys[i], st, i);
      else api_col_num(o, keys[i], st, i);
    }
    cJSON_AddItemToArray(arr, o);
  }
  if (rc != SQLITE_DONE) *err = 1;
  sqlite3_reset(st);
  return arr;
}

static void kpi_api__alarm_kpis(void *ud, const struct http_request *req, struct http_response *resp)
{
  static const char *const flood_keys[] = {"start_ms", "journal_id"};
  static const char *const chatter_keys[] = {"alarm_id", "rule", "max_activations_per_min"};
  static const char *const standing_keys[] = {"alarm_id", "rule", "first_active_ms", "state"};
  static const char *const top_keys[] = {"alarm_id", "rule", "activations"};
  struct api_ctx *ctx = ud;
  struct store_conn *c = store_reader(ctx->store);
  int64_t now = dg_wall_ms(), day = now - KPI_DAY_MS;
  int err = store_read_begin(c) != 0; /* every figure from one snapshot of the journal */
  int64_t last10 = kpi_api__kpi_count(c, now - KPI_TEN_MIN_MS), last_day = kpi_api__kpi_count(c, day);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "now_ms", (double)now);
  cJSON_AddNumberToObject(o, "alarms_last_10min", (double)last10);
  cJSON_AddNumberToObject(o, "alarms_last_24h", (double)last_day);
  cJSON_AddNumberToObject(o, "avg_alarms_per_10min_24h", (double)last_day / 144.0);
  cJSON_AddItemToObject(o, "floods", kpi_api__kpi_rows(c, kpi_api__sql_kpi_floods, day, flood_keys, 2, &err));
  cJSON_AddItemToObject(o, "chattering", kpi_api__kpi_rows(c, kpi_api__sql_kpi_chattering, day, chatter_keys, 3, &err));
  cJSON_AddItemToObject(o, "standing", kpi_api__kpi_rows(c, kpi_api__sql_kpi_standing, day, standing_keys, 4, &err));
  cJSON_AddItemToObject(o, "top10", kpi_api__kpi_rows(c, kpi_api__sql_kpi_top, day, top_keys, 3, &err));
  store_read_end(c);
  if (err || last10 < 0 || last_day < 0) {
    cJSON_Delete(o);
    api_error(resp, 500, "database error");
    return;
  }
  api_reply(resp, 200, o);
}

static const struct api_route kpi_api__routes[] = {
  {"GET", "/api/v1/alarm-kpis", kpi_api__alarm_kpis, 0, NULL},
};

struct api_routes kpi_api_routes(void) { return API_ROUTES(kpi_api__routes); }

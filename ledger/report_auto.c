#include "report_auto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "report.h"
#include "upload.h"

#define REPORT_AUTO_EVERY_MS 3600000u

struct report_auto {
  uv_timer_t timer;
  const struct dg_config *const *cfgp;
  struct store *store;
  struct notify *notify;
  struct upload *upload;
  int closing, timer_open, jobs;
};

struct report_auto__job {
  struct report_auto *r;
  char month[12];
  char *body;
  int64_t now_ms;
  struct notify_msg *msgs;
  int stored;
};

static void report_auto__maybe_free(struct report_auto *r)
{
  if (r->closing && !r->timer_open && !r->jobs) free(r);
}

/* "YYYY-MM" of the month before the one holding now_ms (local time). */
static void report_auto__previous_month(int64_t now_ms, char out[12])
{
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  int y = tm.tm_year + 1900, m = tm.tm_mon; /* tm_mon is 0-based: the month before, 1-based */
  if (m == 0) {
    m = 12;
    y--;
  }
  snprintf(out, 12, "%04d-%02d", y % 10000, m % 100);
}

static const char *const report_auto__sql_have = "SELECT 1 FROM monthly_reports WHERE month = ?1";
static const char *const report_auto__sql_put =
  "INSERT OR IGNORE INTO monthly_reports (month, created_ms, body) VALUES (?1, ?2, ?3)";

static int report_auto__work(struct store_conn *c, void *arg)
{
  struct report_auto__job *j = arg;
  sqlite3_stmt *st = store_stmt(c, report_auto__sql_put);
  if (!st) return SQLITE_ERROR;
  store_bind_text(st, 1, j->month);
  sqlite3_bind_int64(st, 2, j->now_ms);
  store_bind_text(st, 3, j->body);
  int rc = store_step_done(st);
  j->stored = rc == SQLITE_OK && sqlite3_changes(store_conn_db(c)) == 1;
  return rc == SQLITE_OK && j->stored ? notify_msg_write(c, j->msgs) : rc;
}

static void report_auto__done(void *arg, int rc)
{
  struct report_auto__job *j = arg;
  struct report_auto *r = j->r;
  r->jobs--;
  if (rc == SQLITE_OK && j->stored) {
    DG_INFO("report", "monthly report %s stored", j->month);
    if (!r->closing) { /* closing, the notifier is gone: the outbox rows go out at the next start */
      notify_send(r->notify, j->msgs);
      j->msgs = NULL;
      upload_kick(r->upload);
    }
  } else if (rc != SQLITE_OK) {
    DG_WARN("report", "storing the monthly report %s failed: %s", j->month, sqlite3_errstr(rc));
  }
  notify_msg_free_list(j->msgs);
  free(j->body);
  free(j);
  report_auto__maybe_free(r);
}

/* The announcement: the month, its counts and who it is for (the safety directors). */
static char *report_auto__message(const struct dg_config *cfg, const char *month, const cJSON *doc)
{
  cJSON *o = cJSON_CreateObject(), *to = cJSON_AddArrayToObject(o, "to");
  char zh[256], en[256];
  for (size_t i = 0; i < cfg->n_persons; i++)
    for (size_t k = 0; k < cfg->persons[i].n_roles; k++)
      if (!strcmp(cfg->persons[i].roles[k], "safety_director"))
        cJSON_AddItemToArray(to, cJSON_CreateString(cfg->persons[i].name ? cfg->persons[i].name : cfg->persons[i].id));
  cJSON_AddStringToObject(o, "type", "monthly_report");
  cJSON_AddStringToObject(o, "month", month);
  snprintf(zh, sizeof zh, "【月报】%s 重大风险和重大隐患月报已生成，请安全总监审阅：GET /api/v1/reports/monthly?month=%s",
           month, month);
  snprintf(en, sizeof en, "[monthly report] the %s report of major risks and major hazards is ready for the safety "
           "director", month);
  cJSON_AddStringToObject(o, "text_zh", zh);
  cJSON_AddStringToObject(o, "text_en", en);
  cJSON_AddItemReferenceToObject(o, "summary", cJSON_GetObjectItem((cJSON *)doc, "hazards"));
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

static void report_auto__announce(struct report_auto__job *j, const struct dg_config *cfg, const char *body)
{
  char ref[40];
  snprintf(ref, sizeof ref, "report:monthly:%s", j->month);
  for (size_t i = 0; body && i < cfg->n_policies; i++) {
    const struct dg_policy *pol = &cfg->policies[i];
    if (!(pol->priority_mask & (1u << DG_PRIO_HIGH))) continue;
    for (size_t k = 0; k < pol->n_channels; k++) {
      struct notify_msg *m, *dup = j->msgs;
      while (dup && strcmp(dup->channel, pol->channels[k]->id)) dup = dup->next;
      char *copy = dup ? NULL : strdup(body);
      if (!copy || !(m = notify_msg_new(j->r->notify, pol->channels[k], ref, copy, j->now_ms))) continue;
      m->next = j->msgs;
      j->msgs = m;
    }
  }
}

static int report_auto__have(struct report_auto *r, const char *month)
{
  sqlite3_stmt *st = store_stmt(store_reader(r->store), report_auto__sql_have);
  if (!st) return -EIO;
  store_bind_text(st, 1, month);
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  return step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -EIO;
}

static void report_auto__check(struct report_auto *r)
{
  const struct dg_config *cfg = *r->cfgp;
  struct report_month m;
  char month[12];
  int64_t now = dg_wall_ms();
  report_auto__previous_month(now, month);
  if (!cfg->national || r->closing || r->jobs || report_auto__have(r, month) != 0 || report_month_parse(month, &m))
    return;
  struct store_conn *c = store_reader(r->store);
  cJSON *doc = store_read_begin(c) ? NULL : report_monthly(cfg, store_conn_db(c), &m, now);
  store_read_end(c);
  struct report_auto__job *j = calloc(1, sizeof *j);
  char *msg = doc ? report_auto__message(cfg, month, doc) : NULL;
  if (j && doc && msg) {
    *j = (struct report_auto__job){.r = r, .body = cJSON_PrintUnformatted(doc), .now_ms = now};
    snprintf(j->month, sizeof j->month, "%s", month);
    report_auto__announce(j, cfg, msg);
  }
  free(msg);
  cJSON_Delete(doc);
  if (!j || !j->body || store_submit(r->store, report_auto__work, report_auto__done, j)) {
    DG_WARN("report", "making the monthly report %s failed", month);
    if (j) {
      notify_msg_free_list(j->msgs);
      free(j->body);
    }
    free(j);
    return;
  }
  r->jobs++;
}

static void report_auto__on_timer(uv_timer_t *t)
{
  report_auto__check(t->data);
}

int report_auto_start(struct report_auto **out, uv_loop_t *loop, const struct dg_config *const *cfgp,
                      struct store *store, struct notify *notify, struct upload *upload)
{
  struct report_auto *r = calloc(1, sizeof *r);
  if (!r) return -ENOMEM;
  *r = (struct report_auto){.cfgp = cfgp, .store = store, .notify = notify, .upload = upload, .timer_open = 1};
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, report_auto__on_timer, 0, REPORT_AUTO_EVERY_MS);
  *out = r;
  return 0;
}

static void report_auto__on_closed(uv_handle_t *h)
{
  struct report_auto *r = h->data;
  r->timer_open = 0;
  report_auto__maybe_free(r);
}

void report_auto_close(struct report_auto *r)
{
  if (!r) return;
  r->closing = 1;
  uv_close((uv_handle_t *)&r->timer, report_auto__on_closed);
}

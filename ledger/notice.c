#include "notice.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doc_page.h"

static const char *const notice__sql_issue =
  "INSERT INTO rect_notices (number, year, seq, hazard_id, rectifier, issued_ms, issued_by)"
  " SELECT printf('ZG-%d-%04d', ?1, n), ?1, n, ?2, ?3, ?4, ?5"
  " FROM (SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM rect_notices WHERE year = ?1) RETURNING number";

static const char *const notice__sql_get =
  "SELECT n.number, n.issued_ms, n.issued_by, n.rectifier, h.code, h.danger_level, h.description, h.reason,"
  " h.rectify_measures, h.deadline_ms, h.unit, h.liable_person, h.contingency_plan"
  " FROM rect_notices n JOIN hazards h ON h.id = n.hazard_id WHERE n.number = ?1";

int notice_issue(struct store_conn *c, int64_t hazard_id, const char *rectifier, const char *by, int64_t now_ms,
                 char *number, size_t len)
{
  time_t t = (time_t)(now_ms / 1000);
  struct tm tm;
  if (!localtime_r(&t, &tm)) return SQLITE_ERROR;
  sqlite3_stmt *st = store_stmt(c, notice__sql_issue);
  if (!st) return SQLITE_ERROR;
  sqlite3_bind_int(st, 1, tm.tm_year + 1900);
  sqlite3_bind_int64(st, 2, hazard_id);
  store_bind_text(st, 3, rectifier);
  sqlite3_bind_int64(st, 4, now_ms);
  store_bind_text(st, 5, by);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) snprintf(number, len, "%s", (const char *)sqlite3_column_text(st, 0));
  int done = rc == SQLITE_ROW ? sqlite3_step(st) : rc;
  sqlite3_reset(st);
  return rc == SQLITE_ROW && done == SQLITE_DONE ? SQLITE_OK : rc == SQLITE_ROW ? done : rc;
}

static const char notice__css[] =
  ".doc { width: 190mm; min-height: 270mm; border: 0.6mm solid #333; padding: 8mm; }\n"
  ".doc > header { margin: -8mm -8mm 4mm; padding: 5mm 0 3mm; border-bottom: 1.5mm double #b71c1c; color: #b71c1c; }\n"
  ".no { text-align: right; font-size: 12pt; font-weight: 700; }\n"
  ".facts th { width: 30mm; } .facts td { font-size: 11pt; }\n"
  ".ask { margin: 5mm 0; font-size: 11.5pt; line-height: 1.8; }\n"
  ".sign { display: flex; justify-content: space-between; margin-top: 12mm; font-size: 11pt; }\n"
  ".bottom { display: flex; justify-content: flex-end; margin-top: 8mm; } .scan { width: 40mm; }\n";

static const char *notice__col(sqlite3_stmt *st, int i) { return (const char *)sqlite3_column_text(st, i); }

static const char *notice__name(const struct dg_config *cfg, const char *id)
{
  const struct dg_person *p = id ? dg_config_person(cfg, id) : NULL;
  return p && p->name ? p->name : id;
}

static void notice__row(FILE *f, const char *th, const char *td)
{
  fprintf(f, "<tr><th>%s</th><td>", th);
  doc_text(f, td);
  fputs("</td></tr>", f);
}

static int notice__write(FILE *f, const struct dg_config *cfg, sqlite3_stmt *st, const char *url)
{
  char issued[32], deadline[32] = "—";
  const struct dg_unit *u = notice__col(st, 10) ? dg_config_unit(cfg, notice__col(st, 10)) : NULL;
  doc_date(sqlite3_column_int64(st, 1), issued, sizeof issued);
  if (sqlite3_column_type(st, 9) != SQLITE_NULL) doc_date(sqlite3_column_int64(st, 9), deadline, sizeof deadline);
  fputs("<div class=\"doc\"><header><h1>隐患整改通知书</h1><div class=\"en\">RECTIFICATION NOTICE</div></header>\n"
        "<div class=\"no\">编号 No. ", f);
  doc_text(f, notice__col(st, 0));
  fputs("</div>\n<p class=\"ask\"><b>", f);
  doc_text(f, notice__name(cfg, notice__col(st, 3)));
  fputs("</b>：<br>经排查，发现下列事故隐患，现通知你按要求限期整改，整改完成后报请验收。"
        "<span class=\"en\"> (The hazard below is assigned to you for rectification by the deadline.)</span></p>\n"
        "<table class=\"facts\">", f);
  notice__row(f, "隐患编号", notice__col(st, 4));
  notice__row(f, "隐患等级", sqlite3_column_int(st, 5) ? "重大隐患" : "一般隐患");
  notice__row(f, "所在单元", u && u->name ? u->name : notice__col(st, 10));
  notice__row(f, "隐患描述", notice__col(st, 6));
  notice__row(f, "原因分析", notice__col(st, 7));
  notice__row(f, "整改要求", notice__col(st, 8));
  notice__row(f, "整改期限", deadline);
  notice__row(f, "整改责任人", notice__name(cfg, notice__col(st, 3)));
  notice__row(f, "应急措施", notice__col(st, 12));
  fputs("</table>\n<div class=\"sign\"><span>签发人 Issued by：", f);
  doc_text(f, notice__name(cfg, notice__col(st, 2)));
  fprintf(f, "</span><span>签发日期 Date：%s</span><span>签收人 Received：__________</span></div>\n", issued);
  int rc = 0;
  if (url) {
    fputs("<div class=\"bottom\"><div class=\"scan\">", f);
    rc = doc_qr_svg(f, url);
    fputs("扫码查看隐患 Scan for the hazard</div></div>", f);
  }
  fputs("<footer><span>", f);
  doc_text(f, cfg->site_name ? cfg->site_name : cfg->site_code);
  fputs("</span><span>整改通知由隐患台账生成，编号唯一</span></footer></div>\n", f);
  return rc;
}

int notice_html(struct store_conn *c, const struct dg_config *cfg, const char *number, const char *url, char **page)
{
  sqlite3_stmt *st = store_stmt(c, notice__sql_get);
  if (!st) return -EIO;
  store_bind_text(st, 1, number);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? -ENOENT : -EIO;
  }
  char *buf;
  size_t len;
  FILE *f = doc_page_open(&buf, &len);
  if (!f) {
    sqlite3_reset(st);
    return -ENOMEM;
  }
  doc_page_head(f, "隐患整改通知书", number, "A4 portrait", notice__css);
  rc = notice__write(f, cfg, st, url);
  doc_page_tail(f);
  sqlite3_reset(st);
  *page = doc_page_close(f, &buf, rc);
  return *page ? 0 : -ENOMEM;
}

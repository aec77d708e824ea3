/* national — the national dual-prevention upload profile of the record model (docs/national-upload.md).
 *
 * Turns the plant model and the ledger into the eight national record types (hazard sources,
 * risk units, risk events, control measures, inspection tasks, inspection records, hazards,
 * shutdown records) with the national enums, time formats and enterprise codes. Every record
 * carries a 36-character UUID stored in table national_ids the first time the record is seen
 * and never regenerated; an entity deleted from the plant model is sent again with deleted = 1.
 *
 * Pure functions (enums, times, credit code) are usable from any thread. national_assign_ids
 * runs on the loop thread (it submits a writer job and waits for it); national_build reads
 * through a reader connection. */
#ifndef DG_NATIONAL_H
#define DG_NATIONAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "national_config.h"
#include "model.h"
#include "store.h"

/* The record types in upload order (a record only references types before it); the monthly
 * report of major risks and major hazards (table monthly_reports, report_auto.h), then the
 * confirmed daily safety commitments (table commitments, govern.h) last. */
enum national_kind {
  NATIONAL_SOURCE, NATIONAL_UNIT, NATIONAL_EVENT, NATIONAL_MEASURE, NATIONAL_TASK, NATIONAL_RECORD,
  NATIONAL_HAZARD, NATIONAL_SHUTDOWN, NATIONAL_REPORT, NATIONAL_COMMITMENT, NATIONAL_N_KINDS
};
_Static_assert(NATIONAL_N_KINDS == DG_NATIONAL_N_PATHS, "one upload path per record type");
/* Key of the type's array in the export document ("riskUnits" …). */
const char *national_kind_key(enum national_kind k);

/* Risk level (enum dg_level 1 blue … 4 red) to the national riskClass (base + 0 重大 … base + 3
 * 低) and back; base is 1 (wwyt schema) or 0 (the upload client's 0-based list). The reverse
 * answers 0 for a value outside the list. */
int national_risk_class(int dg_level, int base);
int national_risk_level(int risk_class, int base);

/* Inspection cycle unit (enum inspect_unit 1 hour … 4 year) to the national checkCycleUnit
 * text (小时 天 月 年) and back (0 for unknown text). */
const char *national_cycle_unit(int unit);
int national_cycle_unit_parse(const char *text);

/* Formats local time ms into out: a datetime in the configured format ("yyyyMMddHHmmss" or
 * "yyyy-MM-dd HH:mm:ss") or a date ("yyyy-MM-dd"). Returns out, or NULL for ms <= 0. */
#define NATIONAL_TIME_LEN 20
char *national_time(int64_t ms, enum national_time_format f, char out[NATIONAL_TIME_LEN]);
char *national_date(int64_t ms, char out[NATIONAL_TIME_LEN]);
/* Parses either datetime form (or a date) back to local ms; 0 on success, -EINVAL. */
int national_time_parse(const char *text, int64_t *ms);

/* A fresh random version-4 UUID, 36 characters, lower case. 0 or -EIO. */
int national_uuid(char out[37]);

/* Loop thread: stores a UUID for every model entity, standing task, inspection record, hazard
 * and shutdown record that has none yet (with its parent entity, so a deleted entity still
 * names its parent), through the writer, and waits for its commit (not for the history's
 * batches: store_wait_own). 0 or negative. */
int national_assign_ids(const struct dg_config *cfg, struct store *s);
/* The same without waiting: done (may be NULL) runs on the loop thread after the commit, with
 * 0 or -EIO. 0, or negative when nothing was queued (done is then not called). */
int national_assign_submit(const struct dg_config *cfg, struct store *s, void (*done)(void *arg, int rc), void *arg);

/* The national document through reader c, one snapshot: { profile, companyCode, tyshxydm,
 * hazardSources: […], riskUnits: […], …, shutdownRecords: […], monthlyReports: […], safetyCommitments: […] }; ledger records and reports stored after
 * since_ms only, the model in full (deleted entities included). NULL on error or when cfg has
 * no national section. */
cJSON *national_build(const struct dg_config *cfg, struct store_conn *c, int64_t since_ms);

#endif

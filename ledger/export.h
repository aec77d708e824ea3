/* export — incremental export in the national dual-prevention upload field names, built from
 * the plant model and the store (no HTTP: api_export serves it as GET /api/v1/export). The plant model (hazard sources, risk units, events, measures) is
 * exported in full every time; inspection tasks, records and hazards only when changed after
 * `since`. The field names are listed in README.md, "Export field names". */
#ifndef DG_EXPORT_H
#define DG_EXPORT_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

/* SQL of a ms column as the national interface carries times: a local "yyyy-MM-dd HH:mm:ss"
 * string (NULL stays NULL). */
#define EXPORT_TIME(col) "strftime('%Y-%m-%d %H:%M:%S', " col " / 1000, 'unixepoch', 'localtime')"

/* Adds v to o under k as a string, or null when v is NULL. Shared with the report module. */
void export_json_text(cJSON *o, const char *k, const char *v);

/* Appends one JSON object per result row to arr, keyed by the column names (SQL aliases);
 * NULL columns become null. Returns 0 or -EIO. Shared with the report module. */
int export_rows(sqlite3_stmt *st, cJSON *arr);

/* A hazard source in national field names (hazardCode, hazardName, hazardType, isMajor,
 * hazardLevel = grade 1..4, rValue, substances …); shared with the risk map. */
cJSON *export_hazard_source(const struct dg_hazard_source *hs);
/* The substances of a graded source: name, category, quantity, critical quantity (under
 * critical_key: "criticalQuantity" in the export, "critical" as the config names it), beta. */
cJSON *export_substances(const struct dg_hazard_source *hs, const char *critical_key);

/* The whole export document for changes after since_ms, read through c; NULL on error. */
cJSON *export_build(const struct dg_config *cfg, struct store_conn *c, int64_t since_ms);

/* Writes the export for changes after since_ms as JSON files in dir (created if missing): one
 * file per record kind (riskUnits.json … hazards.json, each an array) and manifest.json with
 * since, until, enterpriseCode and the record counts. Each file is written to a temporary name
 * and renamed, so a reader never sees half a file. 0, or negative with err filled. */
int export_write_files(const struct dg_config *cfg, struct store_conn *c, int64_t since_ms, const char *dir,
                       char *err, size_t errlen);

#endif

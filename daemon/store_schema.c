/* Forward-only schema migrations. Never edit a shipped entry; append a new one. */
#include "store.h"

const char *const store_migrations[] = {
  /* 0 → 1: foundation */
  "CREATE TABLE samples ("
  "  point TEXT NOT NULL, ts_ms INTEGER NOT NULL, value REAL, quality INTEGER NOT NULL);"
  "CREATE INDEX samples_point_ts ON samples(point, ts_ms);"
  "CREATE INDEX samples_ts ON samples(ts_ms);"

  /* One row per rule: the alarm of that rule, with its current ISA-18.2 state. */
  "CREATE TABLE alarms ("
  "  id INTEGER PRIMARY KEY, rule TEXT NOT NULL UNIQUE, point TEXT, measure TEXT,"
  "  state TEXT NOT NULL DEFAULT 'NORMAL',"  /* NORMAL UNACK ACKED RTN_UNACK ... */
  "  active INTEGER NOT NULL DEFAULT 0, stage TEXT, priority TEXT, value REAL,"
  "  first_active_ms INTEGER, last_active_ms INTEGER, cleared_ms INTEGER,"
  "  ack_user TEXT, ack_comment TEXT, ack_ms INTEGER, activations INTEGER NOT NULL DEFAULT 0,"
  "  updated_ms INTEGER NOT NULL);"
  "CREATE TABLE alarm_journal ("
  "  id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL REFERENCES alarms(id), ts_ms INTEGER NOT NULL,"
  "  event TEXT NOT NULL, from_state TEXT, to_state TEXT, stage TEXT, priority TEXT, value REAL,"
  "  actor TEXT, comment TEXT);"
  "CREATE INDEX alarm_journal_alarm ON alarm_journal(alarm_id, id);"

  /* 隐患 hazard ledger, national field semantics in comments. */
  "CREATE TABLE hazards ("
  "  id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE,"
  "  danger_level INTEGER NOT NULL,"        /* dangerLevel 0 一般 1 重大 */
  "  danger_src INTEGER NOT NULL,"          /* dangerSrc 9 管控措施失效 */
  "  danger_manage_type INTEGER NOT NULL,"  /* 0 即查即改 1 限期整改 */
  "  hazard_danger_type INTEGER NOT NULL,"  /* 1 安全 … 8 其他 */
  "  danger_state INTEGER NOT NULL,"        /* 0 整改中 1 待验收 9 已验收 */
  "  description TEXT NOT NULL, reason TEXT, rectify_measures TEXT, cost REAL,"
  "  liable_person TEXT, deadline_ms INTEGER, contingency_plan TEXT,"
  "  reporter TEXT, rectifier TEXT, verifier TEXT, verify_comment TEXT,"
  "  hazard_source TEXT, unit TEXT, event TEXT, measure TEXT, rule TEXT, alarm_id INTEGER,"
  "  occurrences INTEGER NOT NULL DEFAULT 1,"
  "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, closed_ms INTEGER);"
  "CREATE INDEX hazards_measure_open ON hazards(measure, danger_state);"
  "CREATE TABLE hazard_occurrences ("
  "  id INTEGER PRIMARY KEY, hazard_id INTEGER NOT NULL REFERENCES hazards(id),"
  "  ts_ms INTEGER NOT NULL, alarm_id INTEGER, rule TEXT, stage TEXT, value REAL);"
  "CREATE TABLE hazard_journal ("
  "  id INTEGER PRIMARY KEY, hazard_id INTEGER NOT NULL REFERENCES hazards(id),"
  "  ts_ms INTEGER NOT NULL, actor TEXT, action TEXT NOT NULL, from_state INTEGER, to_state INTEGER,"
  "  comment TEXT);"

  /* Durable notification outbox: committed with the transition it announces. */
  "CREATE TABLE outbox ("
  "  id INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL, channel TEXT NOT NULL,"
  "  ref TEXT NOT NULL,"                     /* what it announces, e.g. alarm:3:journal:17 */
  "  body TEXT NOT NULL,"
  "  state INTEGER NOT NULL DEFAULT 0,"      /* 0 pending 1 delivered 2 expired */
  "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL,"
  "  expires_ms INTEGER NOT NULL, last_error TEXT, delivered_ms INTEGER,"
  "  UNIQUE(channel, ref));"
  "CREATE INDEX outbox_pending ON outbox(state, next_attempt_ms);",

  /* 1 → 2: hazard closed loop and dynamic risk */
  "ALTER TABLE hazards ADD COLUMN overdue_ms INTEGER;"  /* when the deadline passed unclosed */
  "CREATE TABLE risk_level_history ("
  "  id INTEGER PRIMARY KEY, unit TEXT NOT NULL, ts_ms INTEGER NOT NULL,"
  "  from_level INTEGER, to_level INTEGER NOT NULL,"   /* enum dg_level: 1 blue … 4 red */
  "  cause TEXT);"
  "CREATE INDEX risk_level_history_unit ON risk_level_history(unit, id);"
  /* 隐患排查任务 / 记录: one row per measure and period [start_ms, due_ms). */
  "CREATE TABLE inspection_tasks ("
  "  id INTEGER PRIMARY KEY, measure TEXT NOT NULL, event TEXT, unit TEXT, hazard_source TEXT,"
  "  check_cycle INTEGER NOT NULL, check_cycle_unit TEXT NOT NULL,"  /* checkCycle, 小时/天/月/年 */
  "  start_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL,"
  "  check_status INTEGER,"                /* NULL pending; 0 正常 1 存在隐患 2 未排查 3 其他 */
  "  checker TEXT, checked_ms INTEGER, note TEXT, hazard_id INTEGER,"
  "  UNIQUE(measure, start_ms));"
  "CREATE INDEX inspection_tasks_due ON inspection_tasks(check_status, due_ms);",

  /* 2 → 3: shelving, out of service and latching survive a restart; operator API tokens
   * (only their SHA-256 is stored). */
  "ALTER TABLE alarms ADD COLUMN shelved_until_ms INTEGER;"
  "ALTER TABLE alarms ADD COLUMN shelve_reason TEXT;"
  "ALTER TABLE alarms ADD COLUMN latched INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE alarms ADD COLUMN out_of_service INTEGER NOT NULL DEFAULT 0;"
  "CREATE TABLE api_tokens ("
  "  id INTEGER PRIMARY KEY, person TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE,"
  "  created_ms INTEGER NOT NULL, last_used_ms INTEGER, revoked INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX alarm_journal_event_ts ON alarm_journal(event, ts_ms);",

  /* 3 → 4: plant-model edits made through the API, replayed over the YAML file at every load
   * (the live model is the file plus these rows, in id order); also the model's audit trail. */
  "CREATE TABLE model_edits ("
  "  id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, actor TEXT NOT NULL,"
  "  op TEXT NOT NULL,"                      /* create | update | delete */
  "  kind TEXT NOT NULL,"                    /* hazard_source | unit | event | measure */
  "  entity TEXT NOT NULL, parent TEXT,"     /* the entity's id; the parent's id for create */
  "  body TEXT,"                             /* JSON of the keys given, YAML config key names */
  "  before TEXT, after TEXT);"              /* JSON snapshots of the entity, NULL if none */
  "CREATE INDEX model_edits_entity ON model_edits(kind, entity, id);",
  /* 4 → 5: inspection evidence. data_src of the measure when the task was created (1 自动化监控,
   * 2 隐患排查); evidence of the completion: 'person' (by hand), 'monitoring' (judged from the
   * monitoring of a data_src 1 measure), 'system' (closed 未排查 at the end of its period). */
  "ALTER TABLE inspection_tasks ADD COLUMN data_src INTEGER;"
  "ALTER TABLE inspection_tasks ADD COLUMN evidence TEXT;"
  "UPDATE inspection_tasks SET data_src = 2;"  /* tasks were only generated for inspected measures */
  "UPDATE inspection_tasks SET evidence = CASE WHEN checker = 'system' THEN 'system' ELSE 'person' END"
  " WHERE check_status IS NOT NULL;",

  /* 5 → 6: review of manual hazard reports (审核中 -1): who confirmed or dismissed, why, when; a
   * dismissed report keeps state -1 with closed_ms set. Photos (and other evidence) stored on
   * disk under their SHA-256, one row per upload, for a hazard or an inspection task. */
  "ALTER TABLE hazards ADD COLUMN dismissed INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE hazards ADD COLUMN reviewer TEXT;"
  "ALTER TABLE hazards ADD COLUMN review_comment TEXT;"
  "ALTER TABLE hazards ADD COLUMN reviewed_ms INTEGER;"
  "CREATE TABLE attachments ("
  "  id INTEGER PRIMARY KEY, hazard_id INTEGER REFERENCES hazards(id),"
  "  task_id INTEGER REFERENCES inspection_tasks(id),"
  "  stage TEXT,"                            /* hazards: discover, rectify, verify */
  "  sha256 TEXT NOT NULL, size INTEGER NOT NULL, content_type TEXT NOT NULL,"
  "  file TEXT NOT NULL,"                    /* name inside the attachments directory */
  "  uploader TEXT NOT NULL, note TEXT, created_ms INTEGER NOT NULL,"
  "  CHECK ((hazard_id IS NULL) <> (task_id IS NULL)));"
  "CREATE INDEX attachments_hazard ON attachments(hazard_id, id);"
  "CREATE INDEX attachments_task ON attachments(task_id, id);",

  /* 6 → 7: a person named to rectify by someone else (the assignee, who must then rectify as
   * themselves); API tokens expire (tokens issued before get 90 days from the upgrade) and
   * record when they were revoked. */
  "ALTER TABLE hazards ADD COLUMN assignee TEXT;"
  "ALTER TABLE api_tokens ADD COLUMN expires_ms INTEGER;"
  "ALTER TABLE api_tokens ADD COLUMN revoked_ms INTEGER;"
  "UPDATE api_tokens SET expires_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 90 * 86400000;"
  "CREATE INDEX attachments_uploader ON attachments(uploader, created_ms);",

  /* 7 → 8: national upload profile. Every record sent to the regulator's platform has a UUID,
   * stored the first time the record is seen and never regenerated; parent is the key of the
   * entity it belongs to (so a deleted entity still names it). kind: hazard_source, unit, event,
   * measure, task (standing task of a measure, key = the measure id), record (inspection_tasks
   * id), hazard (hazards id), shutdown (shutdown_records id). 停车检修 shutdown / maintenance
   * records of a hazard source or unit. */
  "CREATE TABLE national_ids ("
  "  kind TEXT NOT NULL, key TEXT NOT NULL, uuid TEXT NOT NULL UNIQUE, parent TEXT,"
  "  created_ms INTEGER NOT NULL, PRIMARY KEY (kind, key));"
  "CREATE TABLE shutdown_records ("
  "  id INTEGER PRIMARY KEY, hazard_source TEXT NOT NULL, unit TEXT,"
  "  start_ms INTEGER NOT NULL, end_ms INTEGER, reason TEXT NOT NULL,"
  "  deleted INTEGER NOT NULL DEFAULT 0,"
  "  created_ms INTEGER NOT NULL, created_by TEXT NOT NULL, updated_ms INTEGER NOT NULL, updated_by TEXT NOT NULL);"
  /* Upload journal: every version of a record to push, in order (seq), acknowledged only on the
   * platform's success code; upload_state holds the digest of the last version queued. */
  "CREATE TABLE upload_state (uuid TEXT PRIMARY KEY, kind INTEGER NOT NULL, sha256 TEXT NOT NULL);"
  "CREATE TABLE upload_queue ("
  "  seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL,"  /* enum national_kind */
  "  uuid TEXT NOT NULL, body TEXT NOT NULL, queued_ms INTEGER NOT NULL,"
  "  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, acked_ms INTEGER);"
  "CREATE INDEX upload_queue_pending ON upload_queue(acked_ms, seq);"
  /* 月报 the monthly report of major risks and major hazards, made once per month for the month
   * before (report_auto.h): its JSON document as report_monthly built it. */
  "CREATE TABLE monthly_reports (month TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, body TEXT NOT NULL);",

  /* 8 → 9: alerts to persons. An outbox row names its recipient; an escalation is committed with
   * the transition that starts, moves or stops it, with the time of its next step, so a restart
   * resumes it with its remaining time; every tier step is journaled; acknowledgement links are
   * one-time and expire (only their SHA-256 is stored). */
  "ALTER TABLE outbox ADD COLUMN recipient TEXT;"
  "CREATE TABLE escalations ("
  "  id INTEGER PRIMARY KEY, alarm_id INTEGER, policy TEXT NOT NULL,"
  "  state INTEGER NOT NULL,"                 /* 0 running 1 stopped */
  "  tier INTEGER NOT NULL, tier_start_ms INTEGER NOT NULL, last_notify_ms INTEGER NOT NULL,"
  "  next_ms INTEGER,"                        /* NULL: nothing more scheduled */
  "  steps INTEGER NOT NULL, stop_reason TEXT, context TEXT NOT NULL,"
  "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
  "CREATE INDEX escalations_state ON escalations(state, id);"
  "CREATE INDEX escalations_alarm ON escalations(alarm_id, id);"
  "CREATE TABLE escalation_steps ("
  "  id INTEGER PRIMARY KEY, escalation_id INTEGER NOT NULL, alarm_id INTEGER, ts_ms INTEGER NOT NULL,"
  "  tier INTEGER, action TEXT NOT NULL,"     /* start notify jump stop */
  "  detail TEXT);"                           /* JSON: who was told through what, or why it stopped */
  "CREATE INDEX escalation_steps_esc ON escalation_steps(escalation_id, id);"
  "CREATE TABLE ack_links ("
  "  id INTEGER PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, alarm_id INTEGER NOT NULL,"
  "  person TEXT NOT NULL, escalation_id INTEGER, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
  "  used_ms INTEGER);",

  /* 9 → 10: history keyed by integer point ids (text keys in two indexes cost most of a row's
   * insert). sample_rows holds the rows, point_ids names the points; `samples` stays as a view
   * with the old columns (and rowid) for readers and tools, and inserting into it still works.
   * The open major hazards of the risk map get a partial index. */
  "CREATE TABLE point_ids (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
  "CREATE TABLE sample_rows ("
  "  point INTEGER NOT NULL REFERENCES point_ids(id), ts_ms INTEGER NOT NULL, value REAL, quality INTEGER NOT NULL);"
  "INSERT INTO point_ids (name) SELECT DISTINCT point FROM samples ORDER BY point;"
  "INSERT INTO sample_rows (rowid, point, ts_ms, value, quality)"
  " SELECT s.rowid, p.id, s.ts_ms, s.value, s.quality FROM samples s JOIN point_ids p ON p.name = s.point;"
  "DROP TABLE samples;"
  "CREATE INDEX sample_rows_point_ts ON sample_rows(point, ts_ms);"
  "CREATE INDEX sample_rows_ts ON sample_rows(ts_ms);"
  "CREATE VIEW samples AS SELECT s.rowid AS rowid, p.name AS point, s.ts_ms AS ts_ms, s.value AS value,"
  " s.quality AS quality FROM sample_rows s JOIN point_ids p ON p.id = s.point;"
  "CREATE TRIGGER samples_insert INSTEAD OF INSERT ON samples BEGIN"
  " INSERT OR IGNORE INTO point_ids (name) VALUES (NEW.point);"
  " INSERT INTO sample_rows (point, ts_ms, value, quality)"
  " VALUES ((SELECT id FROM point_ids WHERE name = NEW.point), NEW.ts_ms, NEW.value, NEW.quality);"
  " END;"
  "CREATE TRIGGER samples_delete INSTEAD OF DELETE ON samples BEGIN"
  " DELETE FROM sample_rows WHERE rowid = OLD.rowid;"
  " END;"
  "CREATE INDEX hazards_major_open ON hazards(unit) WHERE danger_level = 1 AND danger_state IN (0, 1);",

  /* site plan (four-colour spatial map): the plan images uploaded (the newest is in force; the
   * file lives in the attachments directory under its SHA-256), each risk unit's polygon on it
   * in image pixels (max_x/max_y: its bounding box, checked against a new image), and the
   * journal of every change with before and after. */
  "CREATE TABLE site_plans ("
  "  id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, content_type TEXT NOT NULL,"
  "  file TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, uploader TEXT NOT NULL,"
  "  created_ms INTEGER NOT NULL);"
  "CREATE TABLE site_plan_units ("
  "  unit TEXT PRIMARY KEY, points TEXT NOT NULL, max_x REAL NOT NULL, max_y REAL NOT NULL,"
  "  actor TEXT NOT NULL, updated_ms INTEGER NOT NULL);"
  "CREATE TABLE site_plan_edits ("
  "  id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, actor TEXT NOT NULL,"
  "  op TEXT NOT NULL,"                          /* image set delete drop */
  "  unit TEXT, before TEXT, after TEXT);",      /* JSON */

  /* national upload journal: every transaction that changes a record of the national profile
   * marks it in upload_marks (triggers, so no writer forgets and the mark commits or rolls back
   * with the change); the upload turns marks into versions in upload_queue (kind: enum
   * national_kind, 0..4 the plant model, 5 record, 6 hazard, 7 shutdown, 8 monthly report). A
   * version the platform keeps refusing is dead-lettered (dead_ms) until retried (retried_ms).
   * 隐患 managementClassification (1..3) and occurrenceLink (1..10) of the wwyt schema. */
  "CREATE TABLE upload_marks (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, key TEXT NOT NULL,"
  "  ts_ms INTEGER NOT NULL);"
  "ALTER TABLE upload_queue ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE upload_queue ADD COLUMN dead_ms INTEGER;"
  "ALTER TABLE upload_queue ADD COLUMN retried_ms INTEGER;"
  "CREATE INDEX upload_queue_uuid ON upload_queue(uuid, seq);"
  "ALTER TABLE hazards ADD COLUMN management_classification INTEGER;"
  "ALTER TABLE hazards ADD COLUMN occurrence_link INTEGER;"
  "CREATE TRIGGER upload_mark_hazard_new AFTER INSERT ON hazards BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) VALUES (6, NEW.id, NEW.updated_ms); END;"
  "CREATE TRIGGER upload_mark_hazard AFTER UPDATE ON hazards BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) VALUES (6, NEW.id, NEW.updated_ms); END;"
  "CREATE TRIGGER upload_mark_photo AFTER INSERT ON attachments WHEN NEW.hazard_id IS NOT NULL BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) VALUES (6, NEW.hazard_id, NEW.created_ms); END;"
  /* a period's result is an inspection record; the hazard it opened now names it; the first
   * period of a measure is its standing task's taskStartTime */
  "CREATE TRIGGER upload_mark_record AFTER UPDATE ON inspection_tasks"
  " WHEN NEW.check_status IS NOT NULL OR OLD.check_status IS NOT NULL BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) VALUES (5, NEW.id, COALESCE(NEW.checked_ms, NEW.start_ms));"
  " INSERT INTO upload_marks (kind, key, ts_ms) SELECT 6, NEW.hazard_id, COALESCE(NEW.checked_ms, NEW.start_ms)"
  "  WHERE NEW.hazard_id IS NOT NULL AND NEW.hazard_id IS NOT OLD.hazard_id; END;"
  "CREATE TRIGGER upload_mark_record_new AFTER INSERT ON inspection_tasks BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) SELECT 5, NEW.id, NEW.checked_ms WHERE NEW.check_status IS NOT NULL;"
  " INSERT INTO upload_marks (kind, key, ts_ms) SELECT 4, NEW.measure, NEW.start_ms"
  "  WHERE NOT EXISTS (SELECT 1 FROM inspection_tasks t WHERE t.measure = NEW.measure AND t.id != NEW.id"
  "  AND t.start_ms <= NEW.start_ms); END;"
  "CREATE TRIGGER upload_mark_shutdown_new AFTER INSERT ON shutdown_records BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) VALUES (7, NEW.id, NEW.updated_ms); END;"
  "CREATE TRIGGER upload_mark_shutdown AFTER UPDATE ON shutdown_records BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) VALUES (7, NEW.id, NEW.updated_ms); END;"
  "CREATE TRIGGER upload_mark_report AFTER INSERT ON monthly_reports BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) VALUES (8, NEW.month, NEW.created_ms); END;"
  "CREATE TRIGGER upload_mark_model AFTER INSERT ON model_edits"
  " WHEN NEW.kind IN ('hazard_source', 'unit', 'event', 'measure') BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) VALUES (CASE NEW.kind WHEN 'hazard_source' THEN 0"
  "  WHEN 'unit' THEN 1 WHEN 'event' THEN 2 ELSE 3 END, NEW.entity, NEW.ts_ms); END;",

  /* Login accounts: a login name for a person of the plant model, an Argon2id password hash
   * (libsodium's crypto_pwhash_str text), never a password. Sessions keep only their token's
   * SHA-256; a session ends when revoked, idle too long or past expires_ms. */
  "CREATE TABLE accounts ("
  "  login TEXT PRIMARY KEY, person TEXT NOT NULL UNIQUE, pwhash TEXT NOT NULL,"
  "  disabled INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL, changed_ms INTEGER NOT NULL);"
  "CREATE TABLE sessions ("
  "  id INTEGER PRIMARY KEY, login TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE,"
  "  created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
  "  revoked_ms INTEGER);"
  "CREATE INDEX sessions_login ON sessions(login);",
  /* hazard escalations: an escalation names the event that started it, and a hazard's escalation
   * the hazard and the state it started in (hazard_moved_on stops it once the hazard leaves it). */
  "ALTER TABLE escalations ADD COLUMN event TEXT;"
  "ALTER TABLE escalations ADD COLUMN hazard_id INTEGER;"
  "ALTER TABLE escalations ADD COLUMN hazard_state INTEGER;"
  "CREATE INDEX escalations_hazard ON escalations(hazard_id, id) WHERE hazard_id IS NOT NULL;",

  /* provider rate limits across restarts: each send counted against a limit (a channel's
   * rate_per_min, a voice number's caps) is logged for an hour, and a start counts them again. */
  "CREATE TABLE notify_sends (key TEXT NOT NULL, ts_ms INTEGER NOT NULL);"
  "CREATE INDEX notify_sends_ts ON notify_sends(ts_ms);",

  /* Printed documents (cards, boards, notices): the secret signing the posts' phone links and
   * each post's link generation (a revoked link is replaced by the next generation); the
   * rectification notices (整改通知), numbered per year, a number never reused. */
  "CREATE TABLE doc_secret (id INTEGER PRIMARY KEY CHECK (id = 1), key BLOB NOT NULL);"
  "CREATE TABLE post_links (post TEXT PRIMARY KEY, generation INTEGER NOT NULL, revoked_ms INTEGER, revoked_by TEXT);"
  "CREATE TABLE rect_notices (id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, year INTEGER NOT NULL,"
  "  seq INTEGER NOT NULL, hazard_id INTEGER NOT NULL REFERENCES hazards(id), rectifier TEXT, issued_ms INTEGER NOT NULL,"
  "  issued_by TEXT, UNIQUE (year, seq));",

  /* Major-hazard governance and the daily safety commitment (govern.h). A major hazard's stop
   * flag (0 none, 1 停产停业, 2 撤人) with who set it, why and when; its expert reviews; the
   * operating state of each hazard source as a history (the latest row is current); the special
   * operations declared; the confirmed commitments, which the database itself keeps unchanged. */
  "ALTER TABLE hazards ADD COLUMN stop_flag INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE hazards ADD COLUMN stop_reason TEXT;"
  "ALTER TABLE hazards ADD COLUMN stop_by TEXT;"
  "ALTER TABLE hazards ADD COLUMN stop_ms INTEGER;"
  "CREATE TABLE expert_reviews ("
  "  id INTEGER PRIMARY KEY, hazard_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, recorder TEXT NOT NULL,"
  "  reviewers TEXT NOT NULL,"                /* JSON array of names */
  "  conclusion INTEGER NOT NULL,"            /* 1 approved 通过, 2 rejected 不通过 */
  "  opinion TEXT);"
  "CREATE INDEX expert_reviews_hazard ON expert_reviews(hazard_id, id);"
  "CREATE TABLE source_states ("
  "  id INTEGER PRIMARY KEY, hazard_source TEXT NOT NULL,"
  "  state INTEGER NOT NULL,"                 /* 0 running 1 shutdown 2 maintenance */
  "  reason TEXT, actor TEXT NOT NULL, ts_ms INTEGER NOT NULL);"
  "CREATE INDEX source_states_source ON source_states(hazard_source, id);"
  "CREATE TABLE special_operations ("
  "  id INTEGER PRIMARY KEY, op_type INTEGER NOT NULL, place TEXT NOT NULL, unit TEXT,"
  "  start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, supervisor TEXT, note TEXT,"
  "  declared_by TEXT NOT NULL, created_ms INTEGER NOT NULL);"
  "CREATE INDEX special_operations_window ON special_operations(start_ms, end_ms);"
  "CREATE TABLE commitments ("
  "  day TEXT PRIMARY KEY, body TEXT NOT NULL, confirmed_by TEXT NOT NULL, confirmed_ms INTEGER NOT NULL);"
  "CREATE TRIGGER commitments_immutable_update BEFORE UPDATE ON commitments"
  " BEGIN SELECT RAISE(ABORT, 'a confirmed commitment is immutable'); END;"
  "CREATE TRIGGER commitments_immutable_delete BEFORE DELETE ON commitments"
  " BEGIN SELECT RAISE(ABORT, 'a confirmed commitment is immutable'); END;",

  /* Inspection assignment and plans: each task stores whom it is assigned to when it is created
   * (posts: space-separated post ids; person: a person id), overridable per task (assigned_by,
   * assigned_ms: who changed it and when; NULL while it is the control level's). Tasks of an
   * inspection plan (全年/专项/季节性/节假日排查) have `plan` set and the measure column holds
   * "plan:<id>"; `items` holds the JSON results of the plan's checklist. Tasks created before
   * keep NULL assignees and are assigned by the model in force. */
  "ALTER TABLE inspection_tasks ADD COLUMN assigned_posts TEXT;"
  "ALTER TABLE inspection_tasks ADD COLUMN assigned_person TEXT;"
  "ALTER TABLE inspection_tasks ADD COLUMN assigned_by TEXT;"
  "ALTER TABLE inspection_tasks ADD COLUMN assigned_ms INTEGER;"
  "ALTER TABLE inspection_tasks ADD COLUMN plan TEXT;"
  "ALTER TABLE inspection_tasks ADD COLUMN items TEXT;"
  "CREATE INDEX inspection_tasks_due_ms ON inspection_tasks(due_ms);"
  /* plan tasks belong to no control measure: they are no national record or standing task */
  "DROP TRIGGER upload_mark_record;"
  "CREATE TRIGGER upload_mark_record AFTER UPDATE ON inspection_tasks"
  " WHEN NEW.plan IS NULL AND (NEW.check_status IS NOT NULL OR OLD.check_status IS NOT NULL) BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) VALUES (5, NEW.id, COALESCE(NEW.checked_ms, NEW.start_ms));"
  " INSERT INTO upload_marks (kind, key, ts_ms) SELECT 6, NEW.hazard_id, COALESCE(NEW.checked_ms, NEW.start_ms)"
  "  WHERE NEW.hazard_id IS NOT NULL AND NEW.hazard_id IS NOT OLD.hazard_id; END;"
  "DROP TRIGGER upload_mark_record_new;"
  "CREATE TRIGGER upload_mark_record_new AFTER INSERT ON inspection_tasks WHEN NEW.plan IS NULL BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) SELECT 5, NEW.id, NEW.checked_ms WHERE NEW.check_status IS NOT NULL;"
  " INSERT INTO upload_marks (kind, key, ts_ms) SELECT 4, NEW.measure, NEW.start_ms"
  "  WHERE NOT EXISTS (SELECT 1 FROM inspection_tasks t WHERE t.measure = NEW.measure AND t.id != NEW.id"
  "  AND t.start_ms <= NEW.start_ms); END;",

  /* National upload of the daily safety commitment: a confirmed commitment (never changed
   * after) is marked for the upload journal in the transaction that confirms it (kind 9,
   * enum national_kind NATIONAL_COMMITMENT, keyed by its day). Those confirmed before are marked
   * here, so the upload sends them as changes rather than finding them unmarked. */
  "CREATE TRIGGER upload_mark_commitment AFTER INSERT ON commitments BEGIN"
  " INSERT INTO upload_marks (kind, key, ts_ms) VALUES (9, NEW.day, NEW.confirmed_ms); END;"
  "INSERT INTO upload_marks (kind, key, ts_ms) SELECT 9, day, confirmed_ms FROM commitments ORDER BY day;",

  /* History moves to its own database beside this one (store_history.c): sampled values get
   * their own writer and WAL, so their commits never hold an alarm transition back. The rows
   * kept here are renamed for store_history_carry, which copies them over and drops them. */
  "DROP TRIGGER samples_insert;"
  "DROP TRIGGER samples_delete;"
  "DROP VIEW samples;"
  "DROP INDEX sample_rows_point_ts;"
  "DROP INDEX sample_rows_ts;"
  "ALTER TABLE sample_rows RENAME TO history_carry_rows;"
  "ALTER TABLE point_ids RENAME TO history_carry_ids;",

  /* The inspection task that found a hazard, looked up per hazard by the national upload's
   * document (and the hazard's page): without an index each hazard scanned every task, and a
   * year of tasks with 2 000 hazards took seconds (bench_upload_pass). Few tasks have one. */
  "CREATE INDEX inspection_tasks_hazard ON inspection_tasks(hazard_id) WHERE hazard_id IS NOT NULL;",
};

const unsigned store_n_migrations = sizeof store_migrations / sizeof store_migrations[0];

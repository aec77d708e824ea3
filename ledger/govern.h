/* govern — major-hazard governance (重大隐患治理) and the daily safety commitment (安全承诺公告),
 * the rules and names, free of I/O.
 *
 * A major hazard (danger_level 1) is governed in steps, each journaled with who and when:
 *   1. documents: the assessment report (评估报告书, stage "assessment") and the treatment plan
 *      (治理方案, stage "plan") are attached (PDF or image);
 *   2. expert review (专家论证): reviewers and a conclusion, recorded once both documents exist;
 *      only an approved review lets the hazard be accepted;
 *   3. acceptance (验收/销号, verify) and its refusal (reject): only by the principal person in
 *      charge (role `principal`) or a person named in ledger.principal_delegates, whatever
 *      other roles anyone else holds.
 * A stop flag (停产停业 stop production, or 撤人 evacuate) is set and cleared with a reason by
 * the safety_director, principal or admin roles or a delegate; it shows on the risk map, the
 * dashboard and the commitment.
 *
 * The commitment of a day is prefilled from the live data and confirmed only by the principal
 * person in charge or a delegate, for the current local day only; once confirmed it never
 * changes. */
#ifndef DG_GOVERN_H
#define DG_GOVERN_H

#include <stddef.h>

#include "model.h"

enum govern_stop { GOVERN_STOP_NONE = 0, GOVERN_STOP_PRODUCTION = 1, GOVERN_STOP_EVACUATE = 2 };
enum govern_op_state { GOVERN_RUNNING = 0, GOVERN_SHUTDOWN = 1, GOVERN_MAINTENANCE = 2 };

#define GOVERN_N_OP_TYPES 8

/* 1 when the person is the principal person in charge or one of the configured delegates. */
int govern_is_principal(const struct dg_config *cfg, const struct dg_person *p);
/* The hazard rights of a person (hazard_rights of the roles); a delegate of the principal also
 * gets REPORT, VERIFY_MAJOR and ACCEPT_MAJOR. 0 for NULL. */
unsigned govern_rights(const struct dg_config *cfg, const struct dg_person *p);

/* "none" "stop_production" "evacuate" ↔ enum govern_stop; parse returns -1 if unknown. */
const char *govern_stop_name(int s);
const char *govern_stop_zh(int s);
int govern_stop_parse(const char *s);

/* "running" "shutdown" "maintenance" ↔ enum govern_op_state (运行 停产 检修). */
const char *govern_op_state_name(int s);
const char *govern_op_state_zh(int s);
int govern_op_state_parse(const char *s);

/* The special operations of GB 30871 (特殊作业): index 0..GOVERN_N_OP_TYPES-1 ↔ "hot_work"
 * (动火作业) … Parse accepts the English or the Chinese name; -1 if unknown. */
const char *govern_op_type_name(int t);
const char *govern_op_type_zh(int t);
int govern_op_type_parse(const char *s);

/* Expert review conclusion: "approved" (通过) or "rejected" (不通过); -1 if unknown. */
enum govern_conclusion { GOVERN_APPROVED = 1, GOVERN_REJECTED = 2 };
int govern_conclusion_parse(const char *s);
const char *govern_conclusion_zh(int c);

/* A document stage of an attachment: 1 for "assessment" or "plan", else 0. */
int govern_is_document_stage(const char *stage);

#endif

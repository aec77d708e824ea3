#include "govern.h"

#include <string.h>

#include "hazard_flow.h"

static const char *const govern__stop[] = {"none", "stop_production", "evacuate"};
static const char *const govern__stop_zh[] = {"无", "停产停业", "撤人"};
static const char *const govern__op_state[] = {"running", "shutdown", "maintenance"};
static const char *const govern__op_state_zh[] = {"运行", "停产", "检修"};
static const char *const govern__op_type[GOVERN_N_OP_TYPES] = {
  "hot_work", "confined_space", "blind_plate", "work_at_height", "lifting", "temporary_power", "excavation",
  "road_break"};
static const char *const govern__op_type_zh[GOVERN_N_OP_TYPES] = {
  "动火作业", "受限空间作业", "盲板抽堵作业", "高处作业", "吊装作业", "临时用电作业", "动土作业", "断路作业"};

int govern_is_principal(const struct dg_config *cfg, const struct dg_person *p)
{
  if (!p) return 0;
  for (size_t i = 0; i < p->n_roles; i++)
    if (strcmp(p->roles[i], "principal") == 0) return 1;
  for (size_t i = 0; i < cfg->n_principal_delegates; i++)
    if (cfg->principal_delegates[i] == p || strcmp(cfg->principal_delegates[i]->id, p->id) == 0) return 1;
  return 0;
}

unsigned govern_rights(const struct dg_config *cfg, const struct dg_person *p)
{
  if (!p) return 0;
  unsigned r = hazard_rights(p->roles, p->n_roles);
  if (govern_is_principal(cfg, p)) r |= HAZARD_RIGHT_REPORT | HAZARD_RIGHT_VERIFY_MAJOR | HAZARD_RIGHT_ACCEPT_MAJOR;
  return r;
}

static int govern__find(const char *const *names, int n, const char *s)
{
  for (int i = 0; s && i < n; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

#define GOVERN__N(a) ((int)(sizeof a / sizeof a[0]))
#define GOVERN__AT(a, i) ((i) >= 0 && (i) < GOVERN__N(a) ? a[i] : "unknown")

const char *govern_stop_name(int s) { return GOVERN__AT(govern__stop, s); }
const char *govern_stop_zh(int s) { return GOVERN__AT(govern__stop_zh, s); }
int govern_stop_parse(const char *s) { return govern__find(govern__stop, GOVERN__N(govern__stop), s); }

const char *govern_op_state_name(int s) { return GOVERN__AT(govern__op_state, s); }
const char *govern_op_state_zh(int s) { return GOVERN__AT(govern__op_state_zh, s); }
int govern_op_state_parse(const char *s) { return govern__find(govern__op_state, GOVERN__N(govern__op_state), s); }

const char *govern_op_type_name(int t) { return GOVERN__AT(govern__op_type, t); }
const char *govern_op_type_zh(int t) { return GOVERN__AT(govern__op_type_zh, t); }
int govern_op_type_parse(const char *s)
{
  int t = govern__find(govern__op_type, GOVERN_N_OP_TYPES, s);
  if (t >= 0) return t;
  t = govern__find(govern__op_type_zh, GOVERN_N_OP_TYPES, s);
  if (t >= 0) return t;
  /* 动火 for 动火作业 */
  for (int i = 0; s && s[0] && i < GOVERN_N_OP_TYPES; i++)
    if (strncmp(govern__op_type_zh[i], s, strlen(s)) == 0 && strcmp(govern__op_type_zh[i] + strlen(s), "作业") == 0)
      return i;
  return -1;
}

int govern_conclusion_parse(const char *s)
{
  return s && !strcmp(s, "approved") ? GOVERN_APPROVED : s && !strcmp(s, "rejected") ? GOVERN_REJECTED : -1;
}

const char *govern_conclusion_zh(int c) { return c == GOVERN_APPROVED ? "通过" : c == GOVERN_REJECTED ? "不通过" : "未知"; }

int govern_is_document_stage(const char *stage)
{
  return stage && (!strcmp(stage, "assessment") || !strcmp(stage, "plan"));
}

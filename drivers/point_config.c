#include "point_config.h"

#include "config_ctx.h"
#include "mqtt.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const point_config__mb_types[] = {"bool", "int16", "uint16", "int32", "uint32",
                                                    "float32", "int64", "uint64", "float64", NULL};
static const char *const point_config__orders[] = {"ABCD", "DCBA", "BADC", "CDAB", NULL};

/* Key flags: which driver a point key belongs to. */
enum { F_MQTT = 2, F_MODBUS = 4 };

enum {
  PT_ID, PT_NAME, PT_ENG_UNIT, PT_UNIT, PT_DRIVER, PT_SCALE, PT_OFFSET, PT_DEADBAND,
  PT_TOPIC, PT_PATH, PT_TS_PATH,
  PT_SLAVE, PT_COIL, PT_DISCRETE, PT_INPUT, PT_HOLDING, PT_TYPE, PT_ORDER, PT_BIT, PT_POLL, PT_STATES
};
static const struct dg_yfield point_config__point_fields[] = {
  [PT_ID] = YF_STR("id", struct dg_point, id, DG_YF_REQ),
  [PT_NAME] = YF_STR("name", struct dg_point, name, 0),
  [PT_ENG_UNIT] = YF_STR("eng_unit", struct dg_point, eng_unit, 0),
  [PT_UNIT] = YF_STR("unit_id", struct dg_point, unit_id, 0),
  [PT_DRIVER] = YF_NODE("driver", DG_YF_REQ),
  [PT_SCALE] = YF_NUM("scale", DG_YK_DOUBLE, struct dg_point, scale, 0, -DBL_MAX, DBL_MAX),
  [PT_OFFSET] = YF_NUM("offset", DG_YK_DOUBLE, struct dg_point, offset, 0, -DBL_MAX, DBL_MAX),
  [PT_DEADBAND] = YF_NUM("deadband", DG_YK_DOUBLE, struct dg_point, deadband, 0, 0, DBL_MAX),
  [PT_TOPIC] = YF_STR("topic", struct dg_point, mqtt.topic, F_MQTT),
  [PT_PATH] = YF_STR("path", struct dg_point, mqtt.path, F_MQTT),
  [PT_TS_PATH] = YF_STR("ts_path", struct dg_point, mqtt.ts_path, F_MQTT),
  [PT_SLAVE] = YF_NUM("slave", DG_YK_INT, struct dg_point, modbus.slave, F_MODBUS, 0, 247),
  [PT_COIL] = YF_NODE("coil", F_MODBUS),
  [PT_DISCRETE] = YF_NODE("discrete", F_MODBUS),
  [PT_INPUT] = YF_NODE("input", F_MODBUS),
  [PT_HOLDING] = YF_NODE("holding", F_MODBUS),
  [PT_TYPE] = YF_ENUM("type", struct dg_point, modbus.type, F_MODBUS, point_config__mb_types),
  [PT_ORDER] = YF_NODE("order", F_MODBUS),
  [PT_BIT] = YF_NUM("bit", DG_YK_INT, struct dg_point, modbus.bit, F_MODBUS, 0, 15),
  [PT_POLL] = YF_NUM("poll", DG_YK_MS, struct dg_point, modbus.poll_ms, F_MODBUS, 1, DG_YMS_DAY),
  [PT_STATES] = YF_NODE("states", F_MQTT),
};

static int point_config__driver(struct dg_ycheck *y, const struct dg_ynode *v, struct dg_point *p)
{
  const char *t, *dot;
  void *obj;
  int rc = dg_yc_text(y, v, &t);
  if (rc) return rc;
  if (!strncmp(t, "mqtt.", 5)) p->driver_kind = DG_DRIVER_MQTT;
  else if (!strncmp(t, "modbus.", 7)) p->driver_kind = DG_DRIVER_MODBUS;
  dot = strchr(t, '.');
  if (!p->driver_kind || !dot[1])
    return dg_yc_fail(y, v, "expected 'mqtt.<broker id>' or 'modbus.<bus id>', got '%.64s'", t);
  if (!(p->driver_id = strdup(dot + 1))) return dg_yc_oom(y);
  if (p->driver_kind == DG_DRIVER_MQTT) {
    if (!(obj = dg_idmap_get(&cfg_ctx(y)->brokers, p->driver_id)))
      return dg_yc_fail(y, v, "unknown MQTT broker '%.64s' (no mqtt entry has that id)", p->driver_id);
    p->driver_index = (size_t)((struct dg_mqtt_broker *)obj - cfg_ctx(y)->c->mqtt_brokers);
  } else {
    if (!(obj = dg_idmap_get(&cfg_ctx(y)->buses, p->driver_id)))
      return dg_yc_fail(y, v, "unknown Modbus bus '%.64s' (no modbus entry has that id)", p->driver_id);
    p->driver_index = (size_t)((struct dg_modbus_bus *)obj - cfg_ctx(y)->c->modbus_buses);
  }
  return 0;
}

static int point_config__mqtt_paths(struct dg_ycheck *y, const struct dg_point *p, const struct dg_yseen *s)
{
  if (p->mqtt.path && mqtt_path_check(p->mqtt.path))
    return dg_yc_failk(y, s->val[PT_PATH], "path",
                       "expected a field path like value, data.ch4, values.0 or [id=GT101].value, got '%.64s'",
                       p->mqtt.path);
  if (p->mqtt.ts_path && mqtt_path_check(p->mqtt.ts_path))
    return dg_yc_failk(y, s->val[PT_TS_PATH], "ts_path",
                       "expected a field path like ts, meta.ts or [id=GT101].ts, got '%.64s'", p->mqtt.ts_path);
  return 0;
}

/* states: { "RUN": 1, "STOP": 0 }: text → finite number, texts unique. */
static int point_config__mqtt_states(struct dg_ycheck *y, struct dg_point *p, const struct dg_yseen *s)
{
  const struct dg_ynode *m = s->val[PT_STATES];
  if (!m || dg_yc_is_null(m)) return 0;
  if (m->type != DG_YMAP || !m->n)
    return dg_yc_failk(y, m, "states", "expected a non-empty mapping of payload text to number, like { RUN: 1, STOP: 0 }");
  size_t n = m->n / 2;
  p->mqtt.states = calloc(n, sizeof *p->mqtt.states);
  if (!p->mqtt.states) return dg_yc_oom(y);
  for (size_t i = 0; i < n; i++) {
    const struct dg_ynode *k = m->kids[2 * i], *v = m->kids[2 * i + 1];
    const char *text, *num;
    int rc = dg_yc_scalar(y, k, "a state text", &text);
    if (!rc) rc = dg_yc_scalar(y, v, "a number", &num);
    if (rc) return rc;
    if (!text || !*text) return dg_yc_failk(y, k, "states", "expected a non-empty state text");
    for (size_t j = 0; j < p->mqtt.n_states; j++)
      if (!strcmp(p->mqtt.states[j].text, text))
        return dg_yc_failk(y, k, "states", "state '%.64s' given twice", text);
    char *end = NULL;
    errno = 0;
    double d = num ? strtod(num, &end) : NAN;
    if (!num || end == num || *end || errno || !isfinite(d))
      return dg_yc_failk(y, v, "states", "expected a number for state '%.64s'", text);
    p->mqtt.states[p->mqtt.n_states].text = strdup(text);
    if (!p->mqtt.states[p->mqtt.n_states].text) return dg_yc_oom(y);
    p->mqtt.states[p->mqtt.n_states++].value = d;
  }
  return 0;
}

static int point_config__mqtt_binding(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_point *p,
                                      const struct dg_yseen *s)
{
  int rc = dg_yc_forbid(y, s, point_config__point_fields, DG_YCOUNT(point_config__point_fields), F_MODBUS, "for modbus points");
  if (!rc) rc = point_config__mqtt_states(y, p, s);
  if (rc) return rc;
  if (!p->mqtt.topic && !s->val[PT_TOPIC] && cfg_ctx(y)->c->mqtt_brokers[p->driver_index].n_wildcards)
    return point_config__mqtt_paths(y, p, s); /* fed only through the broker's wildcard_topics */
  if (!p->mqtt.topic || !*p->mqtt.topic) {
    if (s->val[PT_TOPIC]) return dg_yc_failk(y, s->val[PT_TOPIC], "topic", "expected a non-empty string");
    return dg_yc_fail(y, n, "missing required key 'topic' (MQTT points)");
  }
  if (strpbrk(p->mqtt.topic, "+#"))
    return dg_yc_failk(y, s->val[PT_TOPIC], "topic", "expected an exact topic without wildcards, got '%.64s'",
                       p->mqtt.topic);
  return point_config__mqtt_paths(y, p, s);
}

static unsigned point_config__mb_words(enum dg_mb_type t)
{
  switch (t) {
  case DG_MB_INT32:
  case DG_MB_UINT32:
  case DG_MB_FLOAT32: return 2;
  case DG_MB_INT64:
  case DG_MB_UINT64:
  case DG_MB_FLOAT64: return 4;
  default: return 1;
  }
}

/* Picks the one register space given and its address. */
static int point_config__mb_space(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_point *p, const struct dg_yseen *s)
{
  static const int keys[] = {PT_COIL, PT_DISCRETE, PT_INPUT, PT_HOLDING};
  static const enum dg_mb_space spaces[] = {DG_MB_COIL, DG_MB_DISCRETE, DG_MB_INPUT, DG_MB_HOLDING};
  int chosen = -1;
  for (int k = 0; k < 4; k++) {
    if (!s->key[keys[k]]) continue;
    if (chosen >= 0) {
      const struct dg_ynode *a = s->key[keys[chosen]], *b = s->key[keys[k]];
      bool b_later = b->line > a->line || (b->line == a->line && b->col > a->col);
      return dg_yc_fail(y, b_later ? b : a, "both '%s' and '%s' given; a point reads one of coil, discrete, input, holding",
                        (b_later ? a : b)->text, (b_later ? b : a)->text);
    }
    chosen = k;
  }
  if (chosen < 0) return dg_yc_fail(y, n, "missing register address: one of coil, discrete, input, holding");
  long long addr;
  const char *key = point_config__point_fields[keys[chosen]].key;
  size_t mark = dg_yc_path_key(y, key);
  int rc = dg_yc_int(y, s->val[keys[chosen]], 0, 65535, &addr);
  dg_yc_path_restore(y, mark);
  p->modbus.space = spaces[chosen];
  p->modbus.address = (uint16_t)addr;
  return rc;
}

static int point_config__mb_type(struct dg_ycheck *y, struct dg_point *p, const struct dg_yseen *s)
{
  struct dg_modbus_binding *mb = &p->modbus;
  bool is_bit_space = mb->space == DG_MB_COIL || mb->space == DG_MB_DISCRETE;
  if (!mb->type) mb->type = is_bit_space ? DG_MB_BOOL : DG_MB_UINT16;
  if (is_bit_space) {
    if (mb->type != DG_MB_BOOL)
      return dg_yc_failk(y, s->val[PT_TYPE], "type", "coils and discrete inputs are bool");
    if (s->key[PT_BIT]) return dg_yc_fail(y, s->key[PT_BIT], "key 'bit' is only valid for input or holding registers");
    if (s->key[PT_ORDER]) return dg_yc_fail(y, s->key[PT_ORDER], "key 'order' is only valid for input or holding registers");
    return 0;
  }
  if (mb->type == DG_MB_BOOL)
    return dg_yc_failk(y, s->val[PT_TYPE], "type",
                       "type bool needs a coil or discrete input; use 'bit' to read one bit of a register");
  if (s->key[PT_BIT] && mb->type != DG_MB_INT16 && mb->type != DG_MB_UINT16)
    return dg_yc_fail(y, s->key[PT_BIT], "key 'bit' needs a 16-bit type (int16 or uint16)");
  if ((unsigned)mb->address + point_config__mb_words(mb->type) - 1 > 65535) {
    const struct dg_ynode *at = s->val[PT_COIL + (int)mb->space - 1];
    return dg_yc_failk(y, at, point_config__point_fields[PT_COIL + (int)mb->space - 1].key,
                       "a %s at address %u runs past register 65535", point_config__mb_types[mb->type - 1], mb->address);
  }
  return 0;
}

static int point_config__modbus_binding(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_point *p,
                                        const struct dg_yseen *s)
{
  int rc = dg_yc_forbid(y, s, point_config__point_fields, DG_YCOUNT(point_config__point_fields), F_MQTT, "for mqtt points");
  if (!rc) rc = point_config__mb_space(y, n, p, s);
  if (!rc) rc = point_config__mb_type(y, p, s);
  if (!rc && s->val[PT_ORDER]) {
    int order;
    size_t mark = dg_yc_path_key(y, "order");
    rc = dg_yc_choice(y, s->val[PT_ORDER], point_config__orders, &order);
    dg_yc_path_restore(y, mark);
    if (!rc) memcpy(p->modbus.order, point_config__orders[order], 5);
  }
  return rc;
}

static int point_config__point(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_point *p = item;
  struct dg_yseen s;
  p->index = i;
  p->scale = 1;
  p->modbus.slave = 1;
  p->modbus.bit = -1;
  memcpy(p->modbus.order, "ABCD", 5);
  int rc = DG_YC_MAP(y, n, point_config__point_fields, p, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->ix->points, p->id, p, s.val[PT_ID], "point");
  if (!rc) {
    size_t mark = dg_yc_path_key(y, "driver");
    rc = point_config__driver(y, s.val[PT_DRIVER], p);
    dg_yc_path_restore(y, mark);
  }
  if (!rc && p->unit_id && !dg_idmap_get(&cfg_ctx(y)->ix->units, p->unit_id))
    rc = dg_yc_failk(y, s.val[PT_UNIT], "unit_id", "unknown unit '%.64s'", p->unit_id);
  if (rc) return rc;
  if (p->driver_kind == DG_DRIVER_MQTT) return point_config__mqtt_binding(y, n, p, &s);
  return point_config__modbus_binding(y, n, p, &s);
}

int point_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->points, &c->points, &c->n_points, point_config__point);
}

void point_config_free(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_points; i++) {
    struct dg_point *p = &c->points[i];
    free(p->id);
    free(p->name);
    free(p->eng_unit);
    free(p->unit_id);
    free(p->driver_id);
    free(p->mqtt.topic);
    free(p->mqtt.path);
    free(p->mqtt.ts_path);
    for (size_t k = 0; k < p->mqtt.n_states; k++) free(p->mqtt.states[k].text);
    free(p->mqtt.states);
  }
  free(c->points);
}

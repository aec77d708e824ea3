#include "modbus_config.h"

#include "config_ctx.h"

#include <stdlib.h>

static const char *const modbus_config__transports[] = {"tcp", "rtu", "rtu_over_tcp", NULL};
static const char *const modbus_config__parities[] = {"N", "E", "O", NULL};

/* Key flags: which transport a bus key belongs to. */
enum { F_NET = 2, F_SERIAL = 4 };

enum {
  MB_ID, MB_TRANSPORT, MB_HOST, MB_PORT, MB_DEVICE, MB_BAUD, MB_PARITY, MB_DATA_BITS, MB_STOP_BITS,
  MB_RS485, MB_RESPONSE, MB_BYTE, MB_POLL, MB_PAUSE, MB_GAP, MB_FAILS, MB_RECONNECT
};
static const struct dg_yfield modbus_config__modbus_fields[] = {
  [MB_ID] = YF_STR("id", struct dg_modbus_bus, id, DG_YF_REQ),
  [MB_TRANSPORT] = YF_ENUM("transport", struct dg_modbus_bus, transport, DG_YF_REQ, modbus_config__transports),
  [MB_HOST] = YF_STR("host", struct dg_modbus_bus, host, F_NET),
  [MB_PORT] = YF_NUM("port", DG_YK_U16, struct dg_modbus_bus, port, F_NET, 1, 65535),
  [MB_DEVICE] = YF_STR("device", struct dg_modbus_bus, device, F_SERIAL),
  [MB_BAUD] = YF_NUM("baud", DG_YK_U32, struct dg_modbus_bus, baud, F_SERIAL, 50, 4000000),
  [MB_PARITY] = YF_NODE("parity", F_SERIAL),
  [MB_DATA_BITS] = YF_NUM("data_bits", DG_YK_U8, struct dg_modbus_bus, data_bits, F_SERIAL, 5, 8),
  [MB_STOP_BITS] = YF_NUM("stop_bits", DG_YK_U8, struct dg_modbus_bus, stop_bits, F_SERIAL, 1, 2),
  [MB_RS485] = {"rs485", DG_YK_BOOL, F_SERIAL, offsetof(struct dg_modbus_bus, rs485), 0, 0, NULL},
  [MB_RESPONSE] = YF_NUM("response_timeout", DG_YK_MS, struct dg_modbus_bus, response_timeout_ms, 0, 1, 600000),
  [MB_BYTE] = YF_NUM("byte_timeout", DG_YK_MS, struct dg_modbus_bus, byte_timeout_ms, 0, 0, 600000),
  [MB_POLL] = YF_NUM("poll_interval", DG_YK_MS, struct dg_modbus_bus, poll_interval_ms, 0, 1, DG_YMS_DAY),
  [MB_PAUSE] = YF_NUM("request_pause", DG_YK_MS, struct dg_modbus_bus, request_pause_ms, 0, 0, 60000),
  [MB_GAP] = YF_NUM("max_gap", DG_YK_U16, struct dg_modbus_bus, max_gap, 0, 0, 125),
  [MB_FAILS] = YF_NUM("fail_threshold", DG_YK_U32, struct dg_modbus_bus, fail_threshold, 0, 1, 1000000),
  [MB_RECONNECT] = YF_NUM("reconnect_max", DG_YK_MS, struct dg_modbus_bus, reconnect_max_ms, 0, 1, DG_YMS_DAY),
};

static void modbus_config__modbus_defaults(struct dg_modbus_bus *b)
{
  b->port = 502;
  b->baud = 9600;
  b->parity = 'N';
  b->data_bits = 8;
  b->stop_bits = 1;
  b->response_timeout_ms = 1000;
  b->byte_timeout_ms = 500;
  b->poll_interval_ms = 1000;
  b->max_gap = 8;
  b->fail_threshold = 3;
  b->reconnect_max_ms = 30000;
}

static int modbus_config__modbus_transport(struct dg_ycheck *y, const struct dg_ynode *n, struct dg_modbus_bus *b,
                                           const struct dg_yseen *s)
{
  const size_t nf = DG_YCOUNT(modbus_config__modbus_fields);
  if (b->transport == DG_MB_RTU) {
    int rc = dg_yc_forbid(y, s, modbus_config__modbus_fields, nf, F_NET, "for transport tcp or rtu_over_tcp");
    if (!rc && !b->device) rc = dg_yc_fail(y, n, "missing required key 'device' (transport rtu)");
    return rc;
  }
  int rc = dg_yc_forbid(y, s, modbus_config__modbus_fields, nf, F_SERIAL, "for transport rtu");
  if (!rc && !b->host) rc = dg_yc_fail(y, n, "missing required key 'host' (transport %s)",
                                       modbus_config__transports[b->transport - 1]);
  return rc;
}

static int modbus_config__bus(struct dg_ycheck *y, const struct dg_ynode *n, void *item, size_t i)
{
  struct dg_modbus_bus *b = item;
  struct dg_yseen s;
  int parity;
  modbus_config__modbus_defaults(b);
  int rc = DG_YC_MAP(y, n, modbus_config__modbus_fields, b, &s);
  if (!rc) rc = dg_yc_add_id(y, &cfg_ctx(y)->buses, b->id, b, s.val[MB_ID], "Modbus bus");
  if (!rc) rc = modbus_config__modbus_transport(y, n, b, &s);
  if (!rc && s.val[MB_PARITY]) {
    size_t mark = dg_yc_path_key(y, "parity");
    rc = dg_yc_choice(y, s.val[MB_PARITY], modbus_config__parities, &parity);
    dg_yc_path_restore(y, mark);
    if (!rc) b->parity = modbus_config__parities[parity][0];
  }
  return rc;
}

int modbus_config_parse(struct cfg_ctx *x, const struct dg_ynode *n)
{
  struct dg_config *c = x->c;
  return dg_yc_list(&x->y, n, sizeof *c->modbus_buses, &c->modbus_buses, &c->n_modbus_buses, modbus_config__bus);
}

void modbus_config_free(struct dg_config *c)
{
  for (size_t i = 0; i < c->n_modbus_buses; i++) {
    free(c->modbus_buses[i].id);
    free(c->modbus_buses[i].host);
    free(c->modbus_buses[i].device);
  }
  free(c->modbus_buses);
}

/* api — the REST API (JSON) over http.h: the core read routes (health, points, alarms and their
 * journal, hazards, drivers) and the alarm actions, and api_register, which hands the
 * server these routes and the route tables of the other API modules (api_kpi, api_ledger,
 * api_attach, api_model, api_export, api_report). Handlers run on the loop thread and read the engine's
 * in-memory state or the store's read-only connection; api_req.h holds what they share. */
#ifndef DG_API_H
#define DG_API_H

#include "api_req.h"
#include "http.h"

int api_register(struct http_server *s, struct api_ctx *ctx);

#endif

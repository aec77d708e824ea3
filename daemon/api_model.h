/* api_model — the plant model through the API: hazard sources, risk units, risk events and
 * control measures, read as one tree and edited one entity at a time, with an audit trail.
 *
 * An edit is a row of the model_edits journal (model_edits.h): the handler replays the journal
 * and the new edit over the YAML file as it is on disk now (a trial load running every rule of
 * the loader), commits the row with before/after snapshots of the entity, then hands the new
 * config to api_ctx.apply_model (the reload path). Handlers run on the loop thread and wait for
 * the commit (low-rate human actions; the answer says whether the edit was committed). */
#ifndef DG_API_MODEL_H
#define DG_API_MODEL_H

#include "api_req.h"

struct api_routes model_api_routes(void);

#endif

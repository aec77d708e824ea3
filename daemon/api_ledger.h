/* api_ledger — the ledger's write routes: hazard reports, their review (confirm / dismiss of a
 * report in 审核中, role engineer or admin) and closed-loop transitions, inspection records, and
 * the four-colour risk map; photo uploads on these paths are handed to api_attach. Handlers run on the loop thread; a write is one store transaction (the
 * hazard row and its journal entry), submitted and then awaited with store_wait_idle: these are
 * low-rate human actions, and the answer must say whether the change was committed. */
#ifndef DG_API_LEDGER_H
#define DG_API_LEDGER_H

#include "api_req.h"

struct api_routes ledger_api_routes(void);

#endif

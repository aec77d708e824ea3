/* upload — pushes the national records (ledger/national.h) to the regulator's platform
 * (national.upload in the config; docs/national-upload.md).
 *
 * Journal (upload_journal.h): every transaction that changes a national record leaves a mark
 * (SQLite triggers, committed with the change); every interval_s (and on upload_kick) the
 * marks are turned into versions appended to upload_queue. At start and after the
 * configuration changes a reconciling pass compares every record as a safety net. The queue is
 * sent in seq order, a page (up to page_size records of one type) per POST {"datas": …} to url
 * + the type's path, `datas` AES-128-CBC encrypted and base64 encoded when aes_key is set. A
 * page is marked acknowledged only on the platform's success code. A transient failure
 * (transport, timeout, 5xx …) retries the same page with exponential backoff up to
 * max_backoff_s, for as long as it takes. A refusal (the platform answered with another code)
 * sends the page again one record at a time; a record refused max_refusals times, or with one
 * of refuse_codes, is set aside (dead-lettered, shown by GET /api/v1/upload) so the queue goes
 * on; it is queued again by upload_journal_retry_work. kill -9 loses nothing: marks, versions and
 * acknowledgements are durable; a page is re-sent only if its acknowledgement was not
 * committed.
 *
 * Loop thread only. Reads the config through *cfgp (the daemon swaps it on reload). */
#ifndef DG_UPLOAD_H
#define DG_UPLOAD_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <uv.h>

#include "httpc.h"
#include "model.h"
#include "store.h"

struct upload;

/* Starts pushing when the config has national.upload (*out NULL otherwise). 0 or negative. */
int upload_start(struct upload **out, uv_loop_t *loop, const struct dg_config *const *cfgp, struct store *store,
                 struct httpc *httpc);
/* Turns the change marks into versions soon (after a commit the platform should see soon). */
void upload_kick(struct upload *u);
/* The configuration in force changed: the next pass compares every record. NULL is a no-op. */
void upload_reconcile(struct upload *u);
/* Queue depth, oldest pending and last error per record type (GET /api/v1/upload); NULL on a
 * database error. u may be NULL (then enabled is false). */
cJSON *upload_status(struct upload *u, const struct dg_config *cfg, struct store_conn *reader);
/* Stops; frees itself once its handles are closed, its request is done and its writer jobs
 * have finished (the loop must run). NULL is a no-op. */
void upload_close(struct upload *u);

/* The AES-128-CBC (PKCS#7 padding, IV = key) base64 encoding of `text` with the 16-byte key;
 * malloc'd, NULL on error. Exposed for the tests. */
char *upload_encrypt(const char *key, const char *text, size_t len);

#endif

/* upload — pushes the national records (ledger/national.h) to the regulator's platform
 * (national.upload in the config; docs/national-upload.md).
 *
 * Journal: every interval the national document is built from the committed database and each
 * record whose content differs from the last version queued is appended to upload_queue (one
 * writer transaction with its digest in upload_state). The queue is sent in seq order, a page
 * (up to page_size records of one type) per POST {"datas": …} to url + the type's path, `datas`
 * AES-128-CBC encrypted and base64 encoded when aes_key is set. A page is marked acknowledged
 * only on the platform's success code; a failure (transport, HTTP status, another code) retries
 * the same page with exponential backoff. As the queue is durable and rebuilt from committed
 * state, kill -9 loses nothing; a page is re-sent only if its acknowledgement was not committed.
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
/* Looks for changed records now (after a commit the platform should see soon). */
void upload_kick(struct upload *u);
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

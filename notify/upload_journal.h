/* upload_journal — the writer side of the upload journal (notify/upload.h).
 *
 * Every transaction that changes a record of the national profile leaves a mark in
 * upload_marks (SQLite triggers, store_schema.c), committed or rolled back with the change. A
 * pass turns the marks into versions: the national document is built from what is committed
 * after the marks were read, and each marked record whose content differs from its last
 * version (SHA-256 in upload_state) is appended to upload_queue in one writer transaction
 * that also deletes the marks it consumed. A mark on the plant model (kinds 0..4) compares the
 * whole model, so a cascade (a unit deleted with its events and measures) is one change.
 *
 * A reconciling pass (at start and after the configuration changes) also compares every
 * record of the document: model records changed by the configuration file are queued there
 * (counted as `model`); a ledger record found changed without a mark is counted as `missed`,
 * which stays 0 unless the configuration changed how ledger records read (a person renamed).
 *
 * Functions marked loop thread must be called there; their done callbacks run there too. */
#ifndef DG_UPLOAD_JOURNAL_H
#define DG_UPLOAD_JOURNAL_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "store.h"

struct upload_pass_count {
  unsigned marks;   /* marks consumed */
  unsigned queued;  /* versions appended */
  unsigned model;   /* reconciling pass: model records changed by the configuration */
  unsigned missed;  /* reconciling pass: ledger records changed without a mark */
};

typedef void (*upload_pass_done_fn)(void *arg, int rc, const struct upload_pass_count *n);

/* Loop thread: seq of the newest mark committed (0: none), or -EIO. */
int64_t upload_journal_last_mark(struct store_conn *reader);

/* Loop thread: without an upload nothing reads the marks; they are deleted (a writer job). */
int upload_journal_drop_marks(struct store *s);

/* Loop thread: a pass over the marks up to max_mark (and every record when reconcile) against
 * doc (the national document, taken). 0, or negative (doc freed, done not called). */
int upload_journal_pass(struct store *s, cJSON *doc, int64_t max_mark, int reconcile, upload_pass_done_fn done,
                        void *arg);

/* The platform's answer to a page (seq first..last of one kind). */
enum upload_answer { UPLOAD_TAKEN, UPLOAD_TRANSIENT, UPLOAD_REFUSED };
struct upload_outcome {
  int kind;
  int64_t first, last, now;
  enum upload_answer answer;
  int dead_letter;   /* REFUSED of a one-record page: set it aside (dead-letter) now */
  unsigned max_refusals; /* REFUSED: dead-letter a one-record page refused this often */
  char error[256];
  int dead;          /* out: the record was dead-lettered */
};
/* Writer job body: records the outcome on the page's rows. */
int upload_journal_record(struct store_conn *c, struct upload_outcome *o);

/* Dead-lettered versions to queue again in their record's current version (their digest
 * forgotten and a mark left): one seq when seq > 0, else those of kind when kind >= 0, else all. */
struct upload_retry {
  int kind;
  int64_t seq, now;
  unsigned n; /* out: how many */
};
/* Writer job body (arg: a struct upload_retry). */
int upload_journal_retry_work(struct store_conn *c, void *arg);

#endif

#include "emergency.h"

#include <errno.h>
#include <stdio.h>

size_t emergency_steps(const struct dg_event *e, const char **out, size_t max)
{
  size_t n = 0;
  if (!e) return 0;
  for (size_t i = 0; i < e->n_emergency && n < max; i++) out[n++] = e->emergency[i];
  if (e->n_emergency) return n;
  for (size_t i = 0; i < e->n_measures && n < max; i++)
    if (e->measures[i].classify1 == 4 && e->measures[i].desc) out[n++] = e->measures[i].desc;
  return n;
}

int emergency_text(const struct dg_event *e, char *out, size_t len)
{
  const char *steps[32];
  size_t n = emergency_steps(e, steps, sizeof steps / sizeof steps[0]), at = 0;
  if (len) out[0] = '\0';
  if (!n) return -ENOENT;
  for (size_t i = 0; i < n; i++) {
    int w = n == 1 ? snprintf(out + at, len - at, "%s", steps[i])
                   : snprintf(out + at, len - at, "%s%zu. %s", i ? "；" : "", i + 1, steps[i]);
    if (w < 0 || (size_t)w >= len - at) return -ENOSPC;
    at += (size_t)w;
  }
  return 0;
}

int emergency_todo(const struct dg_measure *m, char *out, size_t len)
{
  if (len) out[0] = '\0';
  if (!m) return -ENOENT;
  int rc = emergency_text(m->event, out, len);
  if (rc != -ENOENT) return rc;
  const char *t = m->troubleshoot ? m->troubleshoot : m->desc;
  if (!t) return -ENOENT;
  snprintf(out, len, "%s", t);
  return 0;
}

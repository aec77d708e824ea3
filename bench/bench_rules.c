/* Rule evaluation throughput: 10k points, 20k rules of mixed types (a 2-stage high on each
 * point, plus a low, deviation, vote (2oo3 with the next two points), rate or quality rule), deadband
 * and delays, random-walk samples through
 * rule_eval and the alarm state machine, one core. Prints samples/s and bytes of state per rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alarm.h"
#include "rule.h"

#define N_POINTS 10000
#define N_SAMPLES 20000000L

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
  struct dg_point *points = calloc(N_POINTS, sizeof *points);
  struct dg_rule *rules = calloc(2 * N_POINTS, sizeof *rules);
  struct rule_state *st = calloc(2 * N_POINTS, sizeof *st);
  struct alarm *alarms = calloc(2 * N_POINTS, sizeof *alarms);
  double *value = calloc(N_POINTS, sizeof *value);
  struct rule_rate *rates = calloc(N_POINTS, sizeof *rates);
  struct dg_point **vote_inputs = calloc(3 * N_POINTS, sizeof *vote_inputs);
  static double vote_limits[3] = {80, 80, 80};
  static const uint8_t vote_good[3] = {1, 1, 1};
  for (int p = 0; p < N_POINTS; p++) {
    points[p].id = "P";
    struct dg_rule *h = &rules[2 * p], *l = &rules[2 * p + 1];
    *h = (struct dg_rule){.type = DG_RULE_HIGH, .point = &points[p], .n_stages = 2, .deadband = 1, .on_delay_ms = 2000};
    h->stages[0] = (struct dg_stage){.name = "H", .limit = 80, .priority = DG_PRIO_HIGH};
    h->stages[1] = (struct dg_stage){.name = "HH", .limit = 90, .priority = DG_PRIO_CRITICAL};
    *l = (struct dg_rule){.type = DG_RULE_LOW, .point = &points[p], .n_stages = 1, .deadband = 1, .off_delay_ms = 1000};
    l->stages[0] = (struct dg_stage){.name = "L", .limit = 10, .priority = DG_PRIO_LOW};
    if (p % 3 == 1) {
      l->type = DG_RULE_RATE; /* 20 units per second over a 5 s window */
      l->rate_per_ms = 1000;
      l->rate_window_ms = 5000;
      l->rate_direction = DG_RATE_RISING;
      l->stages[0] = (struct dg_stage){.name = "RoC", .limit = 20, .priority = DG_PRIO_MEDIUM};
    } else if (p % 3 == 2) {
      l->type = DG_RULE_QUALITY;
      l->stages[0] = (struct dg_stage){.name = "quality", .limit = 0, .priority = DG_PRIO_HIGH};
    } else if (p % 6 == 0) {
      l->type = DG_RULE_DEVIATION;
      l->point2 = &points[(p + 1) % N_POINTS];
      l->stages[0] = (struct dg_stage){.name = "deviation", .limit = 30, .priority = DG_PRIO_HIGH};
    } else {
      l->type = DG_RULE_VOTE;
      for (int k = 0; k < 3; k++) vote_inputs[3 * p + k] = &points[(p + k) % N_POINTS];
      l->inputs = &vote_inputs[3 * p];
      l->input_limits = vote_limits;
      l->n_inputs = 3;
      l->vote_k = 2;
      l->stages[0] = (struct dg_stage){.name = "vote", .limit = 2, .priority = DG_PRIO_CRITICAL};
    }
    for (int k = 0; k < 2; k++) {
      rule_state_init(&st[2 * p + k]);
      st[2 * p + k].rate = &rates[p];
      alarm_init(&alarms[2 * p + k], &rules[2 * p + k], 2 * p + k);
    }
    value[p] = 50;
  }
  unsigned seed = 42;
  long transitions = 0;
  int64_t t = 0;
  double start = now_s();
  for (long i = 0; i < N_SAMPLES; i++) {
    int p = (int)(i % N_POINTS);
    if (p == 0) t += 100;
    seed = seed * 1103515245u + 12345u;
    value[p] += ((int)(seed >> 16) % 2001 - 1000) / 100.0;
    if (value[p] < 0) value[p] = 0;
    if (value[p] > 100) value[p] = 100;
    for (int k = 0; k < 2; k++) {
      int ri = 2 * p + k;
      int64_t deadline;
      struct alarm_transition tr;
      int changed;
      if (rules[ri].type == DG_RULE_QUALITY) {
        changed = rule_eval_fault(&rules[ri], &st[ri], (seed & 0xfff) == 0, t, &deadline);
      } else if (rules[ri].type == DG_RULE_DEVIATION) {
        changed = rule_eval_pair(&rules[ri], &st[ri], value[p], value[(p + 1) % N_POINTS], t, &deadline);
      } else if (rules[ri].type == DG_RULE_VOTE) {
        double v[3] = {value[p], value[(p + 1) % N_POINTS], value[(p + 2) % N_POINTS]};
        changed = rule_eval_vote(&rules[ri], &st[ri], v, vote_good, t, &deadline);
      } else {
        changed = rule_eval(&rules[ri], &st[ri], value[p], t, &deadline);
      }
      if (changed &&
          alarm_on_stage(&alarms[ri], st[ri].stage, value[p], t, &tr))
        transitions++;
    }
  }
  double elapsed = now_s() - start;
  printf("rules: %d points, %d rules, %ld samples in %.3f s\n", N_POINTS, 2 * N_POINTS, N_SAMPLES, elapsed);
  printf("rules: %.2f M samples/s (%.2f M rule evaluations/s), %ld alarm transitions\n", N_SAMPLES / elapsed / 1e6,
         2 * N_SAMPLES / elapsed / 1e6, transitions);
  printf("rules: state per rule %zu bytes (rule_state) + %zu bytes (alarm) + %zu bytes (config rule);"
         " a rate rule adds %zu bytes of history\n",
         sizeof(struct rule_state), sizeof(struct alarm), sizeof(struct dg_rule), sizeof(struct rule_rate));
  free(points);
  free(rules);
  free(st);
  free(alarms);
  free(value);
  free(rates);
  free(vote_inputs);
  return 0;
}

#include "grade.h"

#include <errno.h>
#include <string.h>

double grade_alpha(long persons)
{
  if (persons >= 100) return 2.0;
  if (persons >= 50) return 1.5;
  if (persons >= 30) return 1.2;
  if (persons >= 1) return 1.0;
  return 0.5;
}

struct grade__named {
  const char *name;
  double beta;
};

/* GB 18218-2018 table 3 (toxic gases), with the common names of the same substances. */
static const struct grade__named grade__gases[] = {
  {"一氧化碳", 2},  {"二氧化硫", 2}, {"氨", 2},        {"液氨", 2},      {"氨气", 2},
  {"环氧乙烷", 2},  {"氯化氢", 3},   {"溴甲烷", 3},    {"氯", 4},        {"氯气", 4},
  {"液氯", 4},      {"硫化氢", 5},   {"氟化氢", 5},    {"二氧化氮", 10}, {"氰化氢", 10},
  {"碳酰氯", 20},   {"光气", 20},    {"磷化氢", 20},   {"异氰酸甲酯", 20},
};

/* GB 18218-2018 table 4 (substances not in table 3, by hazard category). */
static const struct grade__named grade__categories[] = {
  {"J1", 4},   {"J2", 1},   {"J3", 2},   {"J4", 2},   {"J5", 1},   {"W1.1", 2}, {"W1.2", 2},
  {"W1.3", 2}, {"W2", 1.5}, {"W3", 1},   {"W4", 1},   {"W5.1", 1.5}, {"W5.2", 1}, {"W5.3", 1},
  {"W5.4", 1}, {"W6.1", 1.5}, {"W6.2", 1}, {"W7.1", 1.5}, {"W7.2", 1}, {"W8", 1},  {"W9.1", 1},
  {"W9.2", 1}, {"W10", 1},  {"W11", 1},
};

static double grade__lookup(const struct grade__named *t, size_t n, const char *key)
{
  if (!key) return 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(t[i].name, key) == 0) return t[i].beta;
  return 0;
}

double grade_beta_by_name(const char *name)
{
  return grade__lookup(grade__gases, sizeof grade__gases / sizeof grade__gases[0], name);
}

double grade_beta_by_category(const char *category)
{
  return grade__lookup(grade__categories, sizeof grade__categories / sizeof grade__categories[0], category);
}

double grade_beta(const struct grade_substance *s)
{
  if (s->beta > 0) return s->beta;
  double b = grade_beta_by_name(s->name);
  return b > 0 ? b : grade_beta_by_category(s->category);
}

int grade_of_r(double r)
{
  if (r >= 100) return 1;
  if (r >= 50) return 2;
  if (r >= 10) return 3;
  return 4;
}

const char *grade_name_zh(int grade)
{
  static const char *const names[] = {"", "一级", "二级", "三级", "四级"};
  return grade >= 1 && grade <= 4 ? names[grade] : "";
}

int grade_compute(const struct grade_substance *subs, size_t n, double alpha, struct grade_result *out)
{
  double s = 0, sum = 0;
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < n; i++) {
    double beta = grade_beta(&subs[i]);
    if (beta <= 0) {
      out->missing_beta = i + 1;
      return -EINVAL;
    }
    if (!(subs[i].critical > 0)) return -EINVAL;
    s += subs[i].quantity / subs[i].critical;
    sum += beta * subs[i].quantity / subs[i].critical;
  }
  out->s = s;
  out->r = alpha * sum;
  out->is_major = s >= 1;
  out->grade = out->is_major ? grade_of_r(out->r) : 0;
  return 0;
}

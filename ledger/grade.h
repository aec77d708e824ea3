/* grade — major hazard installation grading (重大危险源分级), GB 18218-2018.
 *
 * An installation holding substances i with quantities qᵢ and critical quantities Qᵢ is a major
 * hazard when S = Σ qᵢ/Qᵢ ≥ 1. Its grade comes from R = α · Σ βᵢ·qᵢ/Qᵢ:
 * R ≥ 100 一级, 50 ≤ R < 100 二级, 10 ≤ R < 50 三级, R < 10 四级.
 * β is the correction for the substance: the standard's table of toxic gases by name (氨 2, 氯 4,
 * 硫化氢 5, …), else its table by hazard category (J1…J5, W1.1…W11). α corrects for the number of
 * people outside the plant who may be exposed within 500 m. Pure functions. */
#ifndef DG_GRADE_H
#define DG_GRADE_H

#include <stddef.h>

/* One substance as configured: beta > 0 if given explicitly. */
struct grade_substance {
  const char *name;
  const char *category;   /* "J1".."J5", "W1.1".."W11", or NULL */
  double quantity;        /* q, tonnes */
  double critical;        /* Q, tonnes, > 0 */
  double beta;            /* 0: look it up by name, then by category */
};

/* α from the number of exposed persons: ≥ 100 → 2.0, 50–99 → 1.5, 30–49 → 1.2, 1–29 → 1.0, 0 → 0.5. */
double grade_alpha(long persons);

/* β of a toxic gas listed by name in the standard (Chinese name, e.g. "氨", "液氨", "氯气"), 0 if not listed. */
double grade_beta_by_name(const char *name);

/* β of a hazard category ("J1", "W5.1", ...), 0 if the category is unknown. */
double grade_beta_by_category(const char *category);

/* β of a substance: explicit, by name, by category; 0 when none applies. */
double grade_beta(const struct grade_substance *s);

/* Grade 1..4 of an R value. */
int grade_of_r(double r);

const char *grade_name_zh(int grade); /* 一级 … 四级, "" for 0 */

struct grade_result {
  double s;               /* Σ q/Q */
  double r;               /* α · Σ β q/Q */
  int is_major;           /* s >= 1 */
  int grade;              /* 1..4 when major, else 0 */
  size_t missing_beta;    /* index + 1 of the first substance without a β, 0 if all have one */
};

/* Grades an installation. Returns 0, or -EINVAL when a substance has no β (result.missing_beta)
 * or a non-positive critical quantity. */
int grade_compute(const struct grade_substance *subs, size_t n, double alpha, struct grade_result *out);

#endif

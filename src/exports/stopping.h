#pragma once
// The DSMB's stopping-rule monitor (issue 6): safety boundaries from alerts/rules/stopping.json,
// each judged with a beta-binomial model. With a Beta(a, b) prior on the true rate p and x of n
// treated participants with a qualifying event, the posterior is Beta(a + x, b + n - x); the
// boundary is crossed when P(p > unacceptable_rate | data) >= threshold. The daemon reports; the
// DSMB decides.

#include <string>
#include <vector>

#include "core/status.h"
#include "rules/categories.h"
#include "rules/reporting.h"

namespace vigil::exports {

enum class RelatedTo { kAny, kAnlotinib, kSintilimab, kEither };

struct Boundary {
  std::string id;
  std::string label;
  rules::TermCondition when;            // categories / terms, min_grade
  bool any_term = false;                // every CTCAE term counts (min_grade still applies)
  RelatedTo related_to = RelatedTo::kAny;
  bool serious_only = false;
  double unacceptable_rate = 0;         // in (0, 1)
  double prior_a = 1;                   // Beta prior, both > 0
  double prior_b = 1;
  double threshold = 0.9;               // posterior probability that crosses the boundary
  std::string source;
  bool verified = false;
};

struct StoppingRules {
  std::string version;
  std::vector<Boundary> boundaries;

  // Loads and checks the file: known categories and CTCAE terms, rates and thresholds in (0, 1),
  // prior parameters > 0, a source for each boundary, unique ids. Fails naming the boundary.
  static core::Result<StoppingRules> load(const std::string& path, const grading::Catalogue& catalogue,
                                          const rules::CategorySet& categories);
};

// The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1.
double regularizedIncompleteBeta(double x, double a, double b);

// P(p > rate) for p ~ Beta(a, b).
double betaTailAbove(double rate, double a, double b);

}  // namespace vigil::exports

#include "exports/stopping.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace vigil::exports {
namespace {

using nlohmann::json;

// Continued fraction of the incomplete beta function (modified Lentz), valid for
// x < (a + 1) / (a + b + 2); the caller uses the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) otherwise.
double betaContinuedFraction(double x, double a, double b) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-15;
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double f = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    // even step
    double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + num * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + num / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    f *= d * c;
    // odd step
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + num * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + num / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    f *= delta;
    if (std::fabs(delta - 1.0) < kEps) break;
  }
  return f;
}

}  // namespace

double regularizedIncompleteBeta(double x, double a, double b) {
  if (!(a > 0) || !(b > 0) || x < 0 || x > 1) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0) return 0;
  if (x == 1) return 1;
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1.0) / (a + b + 2.0)) return front * betaContinuedFraction(x, a, b) / a;
  return 1.0 - front * betaContinuedFraction(1.0 - x, b, a) / b;
}

double betaTailAbove(double rate, double a, double b) { return 1.0 - regularizedIncompleteBeta(rate, a, b); }

core::Result<StoppingRules> StoppingRules::load(const std::string& path, const grading::Catalogue& catalogue,
                                                const rules::CategorySet& categories) {
  StoppingRules out;
  std::string where = path;
  try {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot be read");
    const json doc = json::parse(in);
    if (doc.value("format", "") != "vigil-stopping-rules/1") throw std::runtime_error("format must be vigil-stopping-rules/1");
    out.version = doc.at("version").get<std::string>();
    std::set<std::string> ids;
    const json& list = doc.at("boundaries");
    for (const auto& b : list) {
      Boundary r;
      r.id = b.at("id").get<std::string>();
      where = path + ": boundary " + r.id;
      if (!ids.insert(r.id).second) throw std::runtime_error("duplicate id");
      static const std::set<std::string> kKnown = {"id", "label", "any_term", "categories", "terms", "min_grade", "related_to",
                                                   "serious_only", "unacceptable_rate", "prior", "threshold",
                                                   "source", "verified", "note"};
      for (const auto& [key, value] : b.items())
        if (!kKnown.count(key)) throw std::runtime_error("unknown field '" + key + "'");
      r.label = b.at("label").get<std::string>();
      r.when.categories = b.value("categories", std::vector<std::string>{});
      r.when.terms = b.value("terms", std::vector<std::string>{});
      r.when.min_grade = b.value("min_grade", 1);
      r.any_term = b.value("any_term", false);
      const bool listed = !r.when.categories.empty() || !r.when.terms.empty();
      if (r.any_term == listed) throw std::runtime_error("needs either categories/terms or any_term, not both");
      for (const auto& c : r.when.categories)
        if (!categories.find(c)) throw std::runtime_error("unknown category '" + c + "'");
      for (auto& t : r.when.terms) {
        const auto* term = catalogue.find(t);
        if (!term) throw std::runtime_error("'" + t + "' is not a CTCAE v5.0 term");
        t = term->term;
      }
      if (r.when.min_grade < 1 || r.when.min_grade > 5) throw std::runtime_error("min_grade must be 1-5");
      const std::string rel = b.value("related_to", "any");
      if (rel == "any") r.related_to = RelatedTo::kAny;
      else if (rel == "anlotinib") r.related_to = RelatedTo::kAnlotinib;
      else if (rel == "sintilimab") r.related_to = RelatedTo::kSintilimab;
      else if (rel == "either") r.related_to = RelatedTo::kEither;
      else throw std::runtime_error("related_to must be any, anlotinib, sintilimab or either");
      r.serious_only = b.value("serious_only", false);
      r.unacceptable_rate = b.at("unacceptable_rate").get<double>();
      r.prior_a = b.at("prior").at("a").get<double>();
      r.prior_b = b.at("prior").at("b").get<double>();
      r.threshold = b.at("threshold").get<double>();
      if (!(r.unacceptable_rate > 0 && r.unacceptable_rate < 1)) throw std::runtime_error("unacceptable_rate must be in (0, 1)");
      if (!(r.threshold > 0 && r.threshold < 1)) throw std::runtime_error("threshold must be in (0, 1)");
      if (!(r.prior_a > 0 && r.prior_b > 0)) throw std::runtime_error("prior a and b must be > 0");
      r.source = b.value("source", "");
      if (r.source.empty()) throw std::runtime_error("needs a source");
      r.verified = b.value("verified", false);
      out.boundaries.push_back(std::move(r));
    }
  } catch (const std::exception& e) {
    return core::Status::invalid(where + ": " + e.what());
  }
  return out;
}

}  // namespace vigil::exports

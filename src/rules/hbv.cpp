#include "rules/hbv.h"

#include <cctype>
#include <cmath>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "rules/eligibility.h"

namespace vigil::rules {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

HbvSettings parseHbvSettings(const nlohmann::json& j) {
  static const std::set<std::string> kKeys = {"test",          "units",           "units_source",
                                              "reactivation_iu_ml", "log10_rise", "undetectable_iu_ml",
                                              "plausible_max_iu_ml", "source",   "verified"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!kKeys.count(it.key())) throw std::invalid_argument("hbv." + it.key() + ": not a known key");
  HbvSettings s;
  s.test = j.at("test").get<std::string>();
  if (s.test.empty()) throw std::invalid_argument("hbv.test: the test code");
  for (const auto& [unit, factor] : j.at("units").items()) {
    const double f = factor.get<double>();
    if (!(f > 0)) throw std::invalid_argument("hbv.units." + unit + ": IU/mL per unit must be above 0");
    s.units[lower(unit)] = f;
  }
  if (s.units.empty()) throw std::invalid_argument("hbv.units: at least one");
  if (j.at("units_source").get<std::string>().empty()) throw std::invalid_argument("hbv.units_source: the conversion cites its source");
  s.reactivation_iu_ml = j.at("reactivation_iu_ml").get<double>();
  s.log10_rise = j.at("log10_rise").get<double>();
  s.undetectable_iu_ml = j.at("undetectable_iu_ml").get<double>();
  s.plausible_max_iu_ml = j.at("plausible_max_iu_ml").get<double>();
  if (!(s.reactivation_iu_ml > 0) || !(s.log10_rise > 0) || !(s.undetectable_iu_ml > 0) ||
      !(s.plausible_max_iu_ml > s.reactivation_iu_ml))
    throw std::invalid_argument("hbv: the limits must be above 0, the plausible maximum above the reactivation level");
  s.source = j.at("source").get<std::string>();
  if (s.source.empty()) throw std::invalid_argument("hbv.source: every number cites its source");
  s.verified = j.at("verified").get<bool>();
  return s;
}

bool isHbvTest(const HbvSettings& s, const std::string& test) { return lower(test) == lower(s.test); }

std::optional<double> hbvIuPerMl(const HbvSettings& s, double value, const std::string& unit) {
  std::string u;
  for (char c : unit)
    if (!std::isspace(static_cast<unsigned char>(c))) u += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = s.units.find(u);
  if (it == s.units.end()) return std::nullopt;
  return value * it->second;
}

std::optional<core::FieldError> checkHbvLab(const HbvSettings& s, double value, const std::string& unit) {
  const auto iu = hbvIuPerMl(s, value, unit);
  if (!iu) {
    std::string known;
    for (const auto& [u, f] : s.units) known += (known.empty() ? "" : ", ") + u;
    return core::FieldError{"unit", "HBV-DNA is given in one of: " + known};
  }
  if (!std::isfinite(value) || value < 0 || *iu > s.plausible_max_iu_ml)
    return core::FieldError{"value", "HBV-DNA must be from 0 to " + findingNumber(s.plausible_max_iu_ml) +
                                         " IU/mL (physically possible)"};
  return std::nullopt;
}

bool hbvCarrier(const core::BaselineFacts& f) { return f.hbsag == "positive" || f.anti_hbc == "positive"; }

std::optional<double> hbvBaseline(const HbvSettings& s, const core::Participant& p) {
  if (p.facts.hbv_dna_iu_ml) return p.facts.hbv_dna_iu_ml;
  for (const auto& b : p.baseline_labs)
    if (isHbvTest(s, b.test))
      if (auto iu = hbvIuPerMl(s, b.value, b.unit)) return iu;
  return std::nullopt;
}

std::optional<std::string> hbvReactivation(const HbvSettings& s, double iu, std::optional<double> baseline) {
  // Equal to 12 significant digits is equal: exactly 2000 IU/mL, or exactly 1 log10, meets it.
  const auto atLeast = [](double v, double limit) { return v >= limit || std::fabs(v - limit) <= 1e-12 * std::fabs(limit); };
  if (atLeast(iu, s.reactivation_iu_ml))
    return "HBV-DNA " + findingNumber(iu) + " IU/mL, at or above " + findingNumber(s.reactivation_iu_ml) + " IU/mL";
  if (baseline) {
    const double from = std::max(*baseline, s.undetectable_iu_ml);
    if (iu > 0 && atLeast(std::log10(iu) - std::log10(from), s.log10_rise))
      return "HBV-DNA " + findingNumber(iu) + " IU/mL, " + findingNumber(s.log10_rise) + " log10 or more above the baseline " +
             findingNumber(*baseline) + " IU/mL";
  }
  return std::nullopt;
}

}  // namespace vigil::rules

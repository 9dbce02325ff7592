#include "rules/eligibility.h"

#include <cstdio>

#include "core/time.h"
#include "rules/baseline_facts.h"

namespace vigil::rules {
namespace {

// The engine's exactness rule: ANC 1.5 meets a floor of 1.5 however it was converted.
bool atLeast(double v, double limit) { return compare(v, Measure::Op::kGe, limit); }

}  // namespace

std::string findingNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

std::optional<bool> meetsFloor(const EligibilityRule& r, const grading::LabGrader& grader, const std::string& test,
                               double value, const std::string& unit) {
  const grading::Analyte* a = grader.find(test);
  if (!a) return std::nullopt;
  auto prepared = grader.prepare(*a, unit);
  if (!prepared.isOk() || !prepared.value().system) return std::nullopt;
  const bool us = *prepared.value().system == grading::UnitSystem::kUs;
  const std::optional<double> floor = us ? r.min_us : r.min;
  if (!floor) return std::nullopt;
  return atLeast(value * prepared.value().factor, *floor);
}

void checkEligibility(const Scenario& s, const DoseRules& rules, const grading::LabGrader& grader, Evaluation& out) {
  const core::Participant& p = s.participant;
  const core::BaselineFacts& f = p.facts;
  // Dated at enrolment; a scenario without one, at its as_of.
  const auto enrolled_day = core::parseDate(p.enrolled_on);
  const int64_t enrolled_ms = enrolled_day ? *enrolled_day * core::kDayMs : s.as_of_ms;
  for (const EligibilityRule& r : rules.eligibility()) {
    std::string missed;
    if (r.fact == "age") {
      if (const auto ages = ageRange(f, p.enrolled_on)) {
        // From a birth year the age is one of two: judged missed only when both miss.
        const bool too_young = r.min && !atLeast(ages->second, *r.min);
        const bool too_old = r.max && !atLeast(*r.max, ages->first);
        if (too_young || too_old)
          missed = "age " + (ages->first == ages->second ? std::to_string(ages->first)
                                                         : std::to_string(ages->first) + " or " + std::to_string(ages->second)) +
                   " at enrolment";
      }
    } else if (r.fact == "ecog") {
      if (f.ecog && ((r.max && !atLeast(*r.max, *f.ecog)) || (r.min && !atLeast(*f.ecog, *r.min))))
        missed = "ECOG performance status " + std::to_string(*f.ecog);
    } else if (r.fact == "hbv_dna_iu_ml") {
      if (f.hbv_dna_iu_ml && r.below && atLeast(*f.hbv_dna_iu_ml, *r.below))
        missed = "baseline HBV-DNA " + findingNumber(*f.hbv_dna_iu_ml) + " IU/mL";
    } else if (r.fact == "fistula_or_perforation_6m") {
      if (f.fistula_or_perforation_6m && *f.fistula_or_perforation_6m)
        missed = "a fistula or perforation in the 6 months before the first dose";
    } else if (!r.test.empty()) {
      for (const auto& b : p.baseline_labs) {
        const grading::Analyte* a = grader.find(b.test);
        if (!a || a->code != r.test) continue;
        if (meetsFloor(r, grader, b.test, b.value, b.unit) == false)
          missed = a->code + " " + findingNumber(b.value) + " " + b.unit + " at baseline";
      }
    }
    if (missed.empty()) continue;
    Finding finding;
    finding.kind = "eligibility";
    finding.code = "eligibility_not_met";
    finding.ref = r.id;
    finding.date_ms = enrolled_ms;
    finding.rule_ids = {r.id};
    finding.unverified = !r.verified;
    finding.text = missed + ": outside the eligibility criterion \"" + r.text + "\"";
    out.findings.push_back(std::move(finding));
  }
}

}  // namespace vigil::rules

#pragma once
// HBV monitoring (issue 14; clinical-rules.md section 3 SI-HBV, section 6.3): for a participant who
// is HBsAg-positive or anti-HBc-positive (the trial admits inactive carriers), HBV-DNA results are a
// lab test (IU/mL, or copies/mL converted by the trial record's equivalence 10^4 copies/mL = 2000
// IU/mL). A result at or above the reactivation level (2000 IU/mL), or at least 1 log10 above the
// participant's baseline, is "Hepatitis B reactivation" (an event of grade 1, CTCAE's "diagnostic
// observations only"): SI-HBV withholds both drugs and it is an AESI with a 24 h clock from the
// collection. A later result below both limits resolves it. Every number is rule data (the "hbv"
// section of alerts/rules/dose.json) with its source; the thresholds are UNVERIFIED.

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/model.h"
#include "core/status.h"

namespace vigil::rules {

inline constexpr const char* kHbvTerm = "Hepatitis B reactivation";

struct HbvSettings {
  std::string test = "HBVDNA";          // the test code sites send (any case)
  std::map<std::string, double> units;  // lower-case spelling -> IU/mL per unit
  double reactivation_iu_ml = 2000;     // at or above: reactivation
  double log10_rise = 1;                // or at least this far above the baseline
  double undetectable_iu_ml = 20;       // a baseline below this counts as this (a rise from "not detected")
  double plausible_max_iu_ml = 1e10;    // above: refused as impossible
  std::string source;
  bool verified = false;
};

// Reads the "hbv" section; throws std::invalid_argument naming the key on a problem.
HbvSettings parseHbvSettings(const nlohmann::json& section);

bool isHbvTest(const HbvSettings& s, const std::string& test);
// The value in IU/mL; none for a unit that is not one of the settings' spellings (any case).
std::optional<double> hbvIuPerMl(const HbvSettings& s, double value, const std::string& unit);
// A result as it may be stored: a known unit and a value from 0 to the plausible maximum. Nothing
// when both hold; otherwise the problem, its field "unit" or "value".
std::optional<core::FieldError> checkHbvLab(const HbvSettings& s, double value, const std::string& unit);
// HBsAg-positive or anti-HBc-positive.
bool hbvCarrier(const core::BaselineFacts& facts);
// The participant's baseline HBV-DNA in IU/mL: the baseline fact, else a baseline lab of the test.
std::optional<double> hbvBaseline(const HbvSettings& s, const core::Participant& p);
// Whether a result (IU/mL) is a reactivation against the baseline (if known), and why in words.
std::optional<std::string> hbvReactivation(const HbvSettings& s, double iu_ml, std::optional<double> baseline_iu_ml);

}  // namespace vigil::rules

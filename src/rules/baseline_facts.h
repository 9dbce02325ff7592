#pragma once
// A participant's baseline facts (issue 14): sex, age at enrolment or birth year, weight, ECOG
// performance status, HBsAg and anti-HBc status, baseline HBV-DNA and the medical-history flag
// the eligibility criteria need. One reader for the HTTP body and the `vigilctl evaluate`
// scenario, so both accept and refuse the same values. Never a name, initials or date of birth.

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace vigil::rules {

// The facts' JSON names (top-level fields of a participant), for readers that refuse unknown keys.
const std::vector<std::string>& baselineFactKeys();

// Reads the facts present in `participant` (each optional; null is absent), appending one error
// per bad field, named prefix + key. `enrolled_on` (YYYY-MM-DD, may be empty) checks that an age
// and a birth year given together agree.
core::BaselineFacts readBaselineFacts(const nlohmann::json& participant, const std::string& prefix,
                                      const std::string& enrolled_on, std::vector<core::FieldError>& errors);

// Every fact key into `out`, null where absent.
void writeBaselineFacts(const core::BaselineFacts& facts, nlohmann::json& out);

// The ages at enrolment the facts allow, lowest and highest: the age given, or from a birth year
// the two ages a person born that year has during the enrolment year. None when neither is given.
std::optional<std::pair<int, int>> ageRange(const core::BaselineFacts& facts, const std::string& enrolled_on);

}  // namespace vigil::rules

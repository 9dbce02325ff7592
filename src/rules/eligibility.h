#pragma once
// Eligibility at registration (issue 14): the trial record's floors, checked against the
// participant's baseline facts and baseline labs. A participant outside them is still registered;
// each criterion missed is a finding of kind "eligibility" (code eligibility_not_met, ref the
// criterion's id), alerted as a deviation and listed in the DSMB protocol-deviation listing. A fact
// or lab not given is not judged (all are optional at registration).

#include "grading/lab_grader.h"
#include "rules/dose_rules.h"
#include "rules/evaluator.h"

namespace vigil::rules {

void checkEligibility(const Scenario& scenario, const DoseRules& rules, const grading::LabGrader& grader,
                      Evaluation& out);

// Whether a lab value (in `unit`) meets a lab criterion's floor (inclusive, numbers equal to 12
// significant digits are equal), in the unit system the value's unit belongs to; nothing when the
// value cannot be compared (an unknown analyte or a unit that does not fit it).
std::optional<bool> meetsFloor(const EligibilityRule& rule, const grading::LabGrader& grader, const std::string& test,
                               double value, const std::string& unit);

// A number as the findings write it: up to 12 significant digits, no trailing zeros.
std::string findingNumber(double v);

}  // namespace vigil::rules

#pragma once
// The JSON contract of `vigilctl evaluate` (docs/evaluate.md): a scenario in, the findings out.
// Also used by vigild to answer GET /api/v1/participants/{id}/recommendations.

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "core/status.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "rules/evaluator.h"

namespace vigil::rules {

// Decodes and checks a scenario: every bad field is reported (FieldError paths such as
// "adverse_events[2].grade"), terms resolve by name (any case) or MedDRA code to the NCI
// spelling, grades must exist for the term, units must fit the test; concomitant medications are
// checked against the medication rule data (rules/medications.h checkMedication), HBV-DNA results
// (rules/hbv.h) against the HBV rule data.
core::Result<Scenario> parseScenario(const nlohmann::json& doc, const grading::Catalogue& catalogue,
                                     const grading::LabGrader& grader, const DoseRules& rules);

// The contract output: {"events":[...],"deadlines":[...],"drugs":{...}}. With detail, also each
// event's kind, recurrence and AESI rule ids, each deadline's anchor, each drug's events, resume
// conditions and clocks, the protocol-deviation findings, the on-study flags and the rule-set
// version.
std::string evaluationToJson(const Evaluation& evaluation, const DoseRules& rules, bool detail, int indent = -1);

// "YYYY-MM-DDTHH:MM:SSZ", with milliseconds only when there are some.
std::string isoTime(int64_t epoch_ms);

}  // namespace vigil::rules

#pragma once
// The real CTCAE and safety-rule files of the repository, loaded once per test binary: what the
// in-process tests of the safety monitor and the alert planner run on. Header-only, so only the
// test binaries that link grading and rules include it.

#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "rules/categories.h"
#include "rules/dose_rules.h"
#include "rules/evaluator.h"
#include "rules/reporting.h"

namespace vigil::test {

struct ClinicalData {
  grading::Catalogue catalogue = std::move(grading::Catalogue::load(VIGIL_SOURCE_DIR "/ctcae/terms.tsv").value());
  grading::LabGrader grader = std::move(grading::LabGrader::load(VIGIL_SOURCE_DIR "/ctcae").value());
  rules::CategorySet categories =
      std::move(rules::CategorySet::load(VIGIL_SOURCE_DIR "/alerts/rules/categories.json", catalogue).value());
  rules::ReportingRules reporting =
      std::move(rules::ReportingRules::load(VIGIL_SOURCE_DIR "/alerts", catalogue, categories).value());
  rules::DoseRules dose = std::move(
      rules::DoseRules::load(VIGIL_SOURCE_DIR "/alerts/rules/dose.json", catalogue, categories, grader).value());
  rules::Evaluator evaluator{dose, reporting, categories, grader};
};

inline const ClinicalData& clinicalData() {
  static const ClinicalData data;
  return data;
}

}  // namespace vigil::test

#pragma once
// The clinical knowledge both programs load at start-up: the CTCAE dictionary and grading
// criteria (ctcae/) and the safety rules (alerts/). Immutable once loaded.

#include <memory>
#include <string>

#include "app/settings.h"
#include "exports/analysis.h"
#include "exports/stopping.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "rules/categories.h"
#include "rules/dose_rules.h"
#include "rules/reporting.h"

namespace vigil::app {

struct Knowledge {
  grading::Catalogue catalogue;
  grading::LabGrader grader;
  rules::CategorySet categories;
  rules::ReportingRules reporting;  // refers to categories: Knowledge is never copied or moved
  rules::DoseRules dose;            // alerts/rules/dose.json
  exports::StoppingRules stopping;  // alerts/rules/stopping.json (DSMB monitor)
  std::string ctcae_version;        // e.g. "5.0 (2017-11-27), data sha256 1a2b..." (ctcae/SHA256SUMS)
};

// What the DSMB package is computed against, with the versions its manifest names.
exports::Reference exportReference(const Knowledge& k);

// Loads and checks everything; on failure returns nullptr and sets error to what is wrong.
std::unique_ptr<Knowledge> loadKnowledge(const Settings& settings, std::string& error);

}  // namespace vigil::app

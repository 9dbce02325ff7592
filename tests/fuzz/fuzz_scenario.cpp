// The `vigilctl evaluate` scenario parser and the evaluator behind it: a scenario that parses is
// evaluated and its answer must be JSON.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "rules/categories.h"
#include "rules/dose_rules.h"
#include "rules/evaluator.h"
#include "rules/reporting.h"
#include "rules/scenario_json.h"

using namespace vigil;

namespace {
// Loaded once and never moved: the rules refer to the catalogue, grader and categories.
struct Knowledge {
  grading::Catalogue catalogue;
  grading::LabGrader grader;
  rules::CategorySet categories;
  rules::ReportingRules reporting;
  rules::DoseRules dose;
};
const Knowledge& knowledge() {
  static const Knowledge* k = [] {
    auto catalogue = grading::Catalogue::load(VIGIL_SOURCE_DIR "/ctcae/terms.tsv");
    auto grader = grading::LabGrader::load(VIGIL_SOURCE_DIR "/ctcae");
    if (!catalogue.isOk() || !grader.isOk()) std::abort();
    auto* x = new Knowledge{std::move(catalogue.value()), std::move(grader.value()), {}, {}, {}};
    auto categories = rules::CategorySet::load(VIGIL_SOURCE_DIR "/alerts/rules/categories.json", x->catalogue);
    if (!categories.isOk()) std::abort();
    x->categories = std::move(categories.value());
    auto reporting = rules::ReportingRules::load(VIGIL_SOURCE_DIR "/alerts", x->catalogue, x->categories);
    auto dose = rules::DoseRules::load(VIGIL_SOURCE_DIR "/alerts/rules/dose.json", x->catalogue, x->categories, x->grader);
    if (!reporting.isOk() || !dose.isOk()) std::abort();
    x->reporting = std::move(reporting.value());
    x->dose = std::move(dose.value());
    return x;
  }();
  return *k;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json doc = nlohmann::json::parse(data, data + size, nullptr, false);
  if (doc.is_discarded()) return 0;
  auto scenario = rules::parseScenario(doc, knowledge().catalogue, knowledge().grader, knowledge().dose);
  if (!scenario.isOk()) {
    if (scenario.status().fields().empty() && scenario.status().message().empty()) std::abort();
    return 0;
  }
  const rules::Evaluator evaluator(knowledge().dose, knowledge().reporting, knowledge().categories, knowledge().grader);
  const std::string answer =
      rules::evaluationToJson(evaluator.evaluate(scenario.value()), knowledge().dose, true);
  if (nlohmann::json::parse(answer, nullptr, false).is_discarded()) std::abort();
  return 0;
}

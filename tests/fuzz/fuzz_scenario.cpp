// The `vigilctl evaluate` scenario parser and the evaluator behind it: a scenario that parses is
// evaluated and its answer must be JSON.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "rules/scenario_json.h"

using namespace vigil;

namespace {
struct Knowledge {
  grading::Catalogue catalogue;
  grading::LabGrader grader;
};
const Knowledge& knowledge() {
  static const Knowledge* k = [] {
    auto catalogue = grading::Catalogue::load(VIGIL_SOURCE_DIR "/ctcae/terms.tsv");
    auto grader = grading::LabGrader::load(VIGIL_SOURCE_DIR "/ctcae");
    if (!catalogue.isOk() || !grader.isOk()) std::abort();
    return new Knowledge{std::move(catalogue.value()), std::move(grader.value())};
  }();
  return *k;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json doc = nlohmann::json::parse(data, data + size, nullptr, false);
  if (doc.is_discarded()) return 0;
  auto scenario = rules::parseScenario(doc, knowledge().catalogue, knowledge().grader, knowledge().dose);
  if (!scenario.isOk() && scenario.status().fields().empty() && scenario.status().message().empty()) std::abort();
  return 0;
}

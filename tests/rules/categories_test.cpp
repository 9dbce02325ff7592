// Loads the real alerts/rules/categories.json against the real CTCAE dictionary.
#include <catch2/catch.hpp>

#include "rules/categories.h"

using namespace vigil;

namespace {
const grading::Catalogue& catalogue() {
  static const grading::Catalogue c = std::move(grading::Catalogue::load(VIGIL_SOURCE_DIR "/ctcae/terms.tsv").value());
  return c;
}
const rules::CategorySet& categories() {
  static const rules::CategorySet s = [] {
    auto r = rules::CategorySet::load(VIGIL_SOURCE_DIR "/alerts/rules/categories.json", catalogue());
    if (!r.isOk()) throw std::runtime_error(r.status().message());
    return std::move(r.value());
  }();
  return s;
}
std::vector<std::string> names(const rules::Classification& c) {
  std::vector<std::string> out;
  for (auto* cat : c.categories) out.push_back(cat->name);
  return out;
}
}  // namespace

TEST_CASE("the real category file loads: 25 categories, every term in CTCAE v5.0, every one sourced", "[rules]") {
  REQUIRE(categories().categories().size() == 25);
  for (const auto& c : categories().categories()) {
    INFO(c.name);
    CHECK_FALSE(c.terms.empty());
    CHECK_FALSE(c.source.empty());
    for (const auto& t : c.terms) CHECK(catalogue().find(t));
  }
  CHECK_FALSE(categories().version().empty());
}

TEST_CASE("events are classified as anti-angiogenic, immune-related or overlapping", "[rules]") {
  auto bleed = categories().classify("Esophageal hemorrhage");
  CHECK(names(bleed) == std::vector<std::string>{"hemorrhage"});
  CHECK(bleed.anti_angiogenic);
  CHECK_FALSE(bleed.irae);
  CHECK(bleed.overlap.empty());

  auto lung = categories().classify("Pneumonitis");
  CHECK(names(lung) == std::vector<std::string>{"pneumonitis"});
  CHECK(lung.irae);
  CHECK_FALSE(lung.anti_angiogenic);

  // Terms either drug can cause carry their section 5 overlap rule.
  CHECK(categories().classify("Alanine aminotransferase increased").overlap == "OV-HEP");
  CHECK(categories().classify("Diarrhea").overlap == "OV-DIA");
  CHECK(categories().classify("Hypothyroidism").overlap == "OV-THY");
  CHECK(categories().classify("Proteinuria").overlap == "OV-REN");
  CHECK(categories().classify("Proteinuria").anti_angiogenic);

  CHECK(names(categories().classify("Esophageal fistula")) == std::vector<std::string>{"fistula_perforation"});
  CHECK(names(categories().classify("Thromboembolic event")) == std::vector<std::string>{"venous_thromboembolism"});
  CHECK(categories().classify("Alopecia").categories.empty());
  CHECK(categories().classify("Meningitis").categories.empty());  // an infection, not an irAE
}

TEST_CASE("a category file with a term CTCAE does not have is refused, naming it", "[rules]") {
  const std::string path = std::string(VIGIL_SOURCE_DIR) + "/tests/data/categories_bad_term.json";
  auto r = rules::CategorySet::load(path, catalogue());
  REQUIRE_FALSE(r.isOk());
  CHECK_THAT(r.status().message(), Catch::Contains("'Esophageal haemorrhage' is not a CTCAE v5.0 term"));
}

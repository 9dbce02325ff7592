#include <catch2/catch.hpp>

#include "grading/catalogue.h"

using namespace vigil::grading;

namespace {
const Catalogue& catalogue() {
  static const Catalogue c = [] {
    auto r = Catalogue::load(VIGIL_SOURCE_DIR "/ctcae/terms.tsv");
    if (!r.isOk()) throw std::runtime_error(r.status().message());
    return std::move(r.value());
  }();
  return c;
}
}  // namespace

TEST_CASE("all 837 CTCAE v5.0 terms load with the grades NCI allows", "[grading]") {
  CHECK(catalogue().size() == 837);
  int absent[5] = {0, 0, 0, 0, 0};
  for (const auto& t : catalogue().terms())
    for (int g = 1; g <= 5; ++g) absent[g - 1] += t.hasGrade(g) ? 0 : 1;
  CHECK(absent[0] == 192);
  CHECK(absent[1] == 92);
  CHECK(absent[2] == 87);
  CHECK(absent[3] == 286);
  CHECK(absent[4] == 343);
  const auto* alopecia = catalogue().find("Alopecia");
  REQUIRE(alopecia);
  CHECK(alopecia->grades() == std::vector<int>{1, 2});
}

TEST_CASE("terms are found by exact name in any case or by MedDRA code", "[grading]") {
  const auto* a = catalogue().find("esophageal HEMORRHAGE");
  REQUIRE(a);
  CHECK(a->term == "Esophageal hemorrhage");
  CHECK(catalogue().find(a->meddra_code) == a);
  CHECK(a->soc == "Gastrointestinal disorders");
  CHECK_FALSE(catalogue().find("Esophageal haemorrhage"));
  const auto* other = catalogue().find("Gastrointestinal disorders - Other, specify");
  REQUIRE(other);
  CHECK(other->other_specify);
  CHECK_FALSE(a->other_specify);
}

TEST_CASE("search finds terms by prefix, by words and despite small typos", "[grading]") {
  auto names = [](const std::vector<const CtcaeTerm*>& v) {
    std::vector<std::string> out;
    for (auto* t : v) out.push_back(t->term);
    return out;
  };
  CHECK(names(catalogue().search("anemia", 3)).front() == "Anemia");
  CHECK(names(catalogue().search("esophageal hem", 5)).front() == "Esophageal hemorrhage");
  auto words = names(catalogue().search("hemorrhage esophageal", 5));
  CHECK(std::find(words.begin(), words.end(), "Esophageal hemorrhage") != words.end());
  auto typo = names(catalogue().search("esophagel hemorhage", 5));
  REQUIRE_FALSE(typo.empty());
  CHECK(typo.front() == "Esophageal hemorrhage");
  CHECK(catalogue().search("zzzzqqq", 5).empty());
}

TEST_CASE("suggestions fall back to words of NCI's definitions", "[grading]") {
  auto s = catalogue().suggest("nose bleed", 5);
  REQUIRE_FALSE(s.empty());
  bool epistaxis = false;
  for (auto* t : s) epistaxis = epistaxis || t->term == "Epistaxis";
  CHECK(epistaxis);
  CHECK(catalogue().suggest("Anemia", 1).front()->term == "Anemia");  // the exact term still comes first
}

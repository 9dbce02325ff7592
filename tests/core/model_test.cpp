#include <catch2/catch.hpp>

#include "core/model.h"

using namespace vigil::core;

TEST_CASE("every enumeration round-trips through its wire spelling", "[core]") {
  for (auto s : kSeriousnessCriteria) CHECK(parseEnum<Seriousness>(toString(s)) == s);
  for (auto d : kDrugs) CHECK(parseEnum<Drug>(toString(d)) == d);
  CHECK(parseEnum<Role>("safety_officer") == Role::kSafetyOfficer);
  CHECK(parseEnum<Relatedness>("definite") == Relatedness::kDefinite);
  CHECK(parseEnum<Outcome>("recovered_with_sequelae") == Outcome::kRecoveredWithSequelae);
  CHECK(parseEnum<ActionTaken>("drug_withdrawn") == ActionTaken::kDrugWithdrawn);
}

TEST_CASE("unknown spellings are rejected and the choices are listed", "[core]") {
  CHECK_FALSE(parseEnum<Role>("Investigator"));
  CHECK_FALSE(parseEnum<Relatedness>("related"));
  CHECK(enumChoices<Relatedness>() == "not_related, unlikely, possible, probable, definite");
}

TEST_CASE("an AE is serious exactly when it has a seriousness criterion", "[core]") {
  AeVersion v;
  CHECK_FALSE(v.serious());
  v.serious_criteria.push_back(Seriousness::kHospitalization);
  CHECK(v.serious());
  CHECK(v.hasCriterion(Seriousness::kHospitalization));
  CHECK_FALSE(v.hasCriterion(Seriousness::kDeath));
}

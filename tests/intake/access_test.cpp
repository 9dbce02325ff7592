#include <catch2/catch.hpp>

#include "intake/access.h"

using namespace vigil;

TEST_CASE("investigators read and write only their own sites", "[intake]") {
  core::User inv{1, "inv", core::Role::kInvestigator, {"S01", "S03"}, false};
  CHECK(intake::canRead(inv, "S01"));
  CHECK(intake::canWrite(inv, "S03"));
  CHECK_FALSE(intake::canRead(inv, "S02"));
  CHECK_FALSE(intake::canWrite(inv, "S02"));
}

TEST_CASE("oversight roles read every site and write no clinical data", "[intake]") {
  for (auto role : {core::Role::kSafetyOfficer, core::Role::kDsmb, core::Role::kAdmin}) {
    core::User u{1, "u", role, {}, false};
    CHECK(intake::canRead(u, "S01"));
    CHECK_FALSE(intake::canWrite(u, "S01"));
  }
}

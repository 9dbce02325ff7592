#include <catch2/catch.hpp>

#include "core/health.h"

using vigil::core::HealthBoard;

TEST_CASE("a health board is healthy until a component posts a problem, and again once it clears it", "[core]") {
  HealthBoard board;
  CHECK(board.problems().empty());
  board.set("outbox", "alert 7 late");
  board.set("audit", "chain broken at 12");
  REQUIRE(board.problems().size() == 2);
  CHECK(board.problems().at("outbox") == "alert 7 late");
  board.set("outbox", "alerts 7, 9 late");
  CHECK(board.problems().at("outbox") == "alerts 7, 9 late");
  board.clear("outbox");
  CHECK(board.problems().size() == 1);
  CHECK(board.problems().count("audit") == 1);
  board.clear("audit");
  board.clear("never-posted");
  CHECK(board.problems().empty());
}

// The beta-binomial arithmetic of the stopping-rule monitor and the loading of its boundaries.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "exports/stopping.h"
#include "support/clinical_data.h"
#include "support/temp_dir.h"

using namespace vigil;

namespace {

// For integer a, b: I_x(a, b) = P(Binomial(a + b - 1, x) >= a), an independent closed form.
double binomialTail(int a, int b, double x) {
  const int n = a + b - 1;
  double sum = 0;
  for (int j = a; j <= n; ++j) {
    double c = 1;
    for (int i = 0; i < j; ++i) c = c * (n - i) / (i + 1);
    sum += c * std::pow(x, j) * std::pow(1 - x, n - j);
  }
  return sum;
}

}  // namespace

TEST_CASE("the regularized incomplete beta function against closed forms") {
  for (double x : {0.0, 0.001, 0.05, 0.1, 0.3, 0.5, 0.7, 0.95, 0.999, 1.0}) {
    CHECK(exports::regularizedIncompleteBeta(x, 1, 1) == Approx(x).margin(1e-13));
    CHECK(exports::regularizedIncompleteBeta(x, 2, 1) == Approx(x * x).margin(1e-13));
    CHECK(exports::regularizedIncompleteBeta(x, 1, 3) == Approx(1 - std::pow(1 - x, 3)).margin(1e-13));
    // Beta(1/2, 1/2), the arcsine distribution.
    CHECK(exports::regularizedIncompleteBeta(x, 0.5, 0.5) == Approx(2 / M_PI * std::asin(std::sqrt(x))).margin(1e-12));
    for (int a = 1; a <= 12; a += 3)
      for (int b = 1; b <= 60; b += 7)
        CHECK(exports::regularizedIncompleteBeta(x, a, b) == Approx(binomialTail(a, b, x)).margin(1e-12));
  }
  CHECK(exports::betaTailAbove(0.5, 7, 7) == Approx(0.5).margin(1e-13));
  CHECK(std::isnan(exports::regularizedIncompleteBeta(0.5, 0, 1)));
  CHECK(std::isnan(exports::regularizedIncompleteBeta(1.5, 1, 1)));
}

TEST_CASE("the repository's stopping rules load, and each is UNVERIFIED with a source") {
  const auto& c = test::clinicalData();
  auto rules = exports::StoppingRules::load(VIGIL_SOURCE_DIR "/alerts/rules/stopping.json", c.catalogue, c.categories);
  REQUIRE(rules.isOk());
  REQUIRE(rules.value().boundaries.size() >= 2);
  for (const auto& b : rules.value().boundaries) {
    CHECK_FALSE(b.verified);  // the trial record names no stopping rules
    CHECK_FALSE(b.source.empty());
  }
}

TEST_CASE("a boundary file with a mistake is refused, naming the boundary") {
  const auto& c = test::clinicalData();
  test::TempDir dir;
  auto load = [&](const std::string& boundary) {
    const std::string path = dir.file("stopping.json");
    std::ofstream(path) << R"({"format":"vigil-stopping-rules/1","version":"t","boundaries":[)" << boundary << "]}";
    return exports::StoppingRules::load(path, c.catalogue, c.categories);
  };
  const std::string good =
      R"({"id":"X1","label":"l","categories":["hemorrhage"],"min_grade":3,"related_to":"either",)"
      R"("unacceptable_rate":0.1,"prior":{"a":1,"b":1},"threshold":0.9,"source":"s"})";
  REQUIRE(load(good).isOk());
  auto broken = [&](const std::string& from, const std::string& to) {
    std::string b = good;
    b.replace(b.find(from), from.size(), to);
    auto r = load(b);
    REQUIRE_FALSE(r.isOk());
    CHECK_THAT(r.status().message(), Catch::Contains("X1"));
    return r.status().message();
  };
  CHECK_THAT(broken(R"("hemorrhage")", R"("bleeding")"), Catch::Contains("unknown category"));
  CHECK_THAT(broken(R"("unacceptable_rate":0.1)", R"("unacceptable_rate":0)"), Catch::Contains("unacceptable_rate"));
  CHECK_THAT(broken(R"("unacceptable_rate":0.1)", R"("unacceptable_rate":1)"), Catch::Contains("unacceptable_rate"));
  CHECK_THAT(broken(R"("threshold":0.9)", R"("threshold":1.2)"), Catch::Contains("threshold"));
  CHECK_THAT(broken(R"("a":1,)", R"("a":0,)"), Catch::Contains("prior"));
  CHECK_THAT(broken(R"("source":"s")", R"("source":"")"), Catch::Contains("source"));
  CHECK_THAT(broken(R"("related_to":"either")", R"("related_to":"both")"), Catch::Contains("related_to"));
  CHECK_THAT(broken(R"("min_grade":3,)", R"("min_grade":3,"any_term":true,)"), Catch::Contains("not both"));
  CHECK_THAT(broken(R"("label":"l",)", R"("label":"l","colour":"red",)"), Catch::Contains("unknown field"));
  CHECK_THAT(broken(R"("categories":["hemorrhage"])", R"("terms":["Nosebleed"])"), Catch::Contains("not a CTCAE"));
}

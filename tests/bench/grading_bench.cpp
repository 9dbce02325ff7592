// In-process CTCAE grading throughput on one core: a mix of analytes resolved once, then
// graded value after value (the daemon's lab-batch path).
// Usage: bench_grading CTCAE_DIR [millions]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "grading/lab_grader.h"

using namespace vigil::grading;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CTCAE_DIR [millions]\n", argv[0]);
    return 64;
  }
  const size_t n = static_cast<size_t>((argc > 2 ? std::atof(argv[2]) : 20.0) * 1e6);
  auto grader = LabGrader::load(argv[1]);
  if (!grader.isOk()) return 1;
  struct Prepared {
    const Analyte* analyte;
    PreparedUnit unit;
    LabInput refs;
    double lo, hi;
  };
  std::vector<Prepared> tests;
  auto add = [&](const char* code, const char* unit, LabInput refs, double lo, double hi) {
    const Analyte* a = grader.value().find(code);
    tests.push_back({a, grader.value().prepare(*a, unit).value(), refs, lo, hi});
  };
  add("HGB", "g/L", {0, 120.0, 160.0, 135.0, false}, 50, 220);
  add("PLAT", "10^9/L", {0, 150.0, 400.0, {}, false}, 10, 500);
  add("NEUT", "10^9/L", {0, 2.0, 7.5, {}, false}, 0.2, 10);
  add("ALT", "U/L", {0, 7.0, 40.0, 30.0, false}, 5, 1000);
  add("AST", "U/L", {0, 8.0, 35.0, 60.0, false}, 5, 1000);
  add("BILI", "umol/L", {0, 3.0, 21.0, 10.0, false}, 2, 300);
  add("CREAT", "umol/L", {0, 45.0, 100.0, 80.0, false}, 30, 800);
  add("K", "mmol/L", {0, 3.5, 5.1, 4.0, false}, 2, 8);
  add("SODIUM", "mmol/L", {0, 135.0, 145.0, {}, false}, 115, 165);
  add("GLUC", "mg/dL", {0, 70.0, 110.0, {}, false}, 20, 400);
  // Values drawn ahead of time so the loop measures grading only.
  std::mt19937_64 rng(42);
  const size_t pool = 1 << 16;
  std::vector<std::pair<uint32_t, double>> values(pool);
  for (auto& v : values) {
    const auto t = static_cast<uint32_t>(rng() % tests.size());
    std::uniform_real_distribution<double> d(tests[t].lo, tests[t].hi);
    v = {t, d(rng)};
  }
  TermGrade out[kMaxCriteriaPerAnalyte];
  long checksum = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) {
    const auto& [t, value] = values[i & (pool - 1)];
    LabInput in = tests[t].refs;
    in.value = value;
    grader.value().grade(*tests[t].analyte, tests[t].unit, in, out);
    checksum += out[0].grade.value_or(9);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("in-process grading, one core: %.1f million values/s (%zu values, checksum %ld)\n", n / s / 1e6, n, checksum);
  return 0;
}

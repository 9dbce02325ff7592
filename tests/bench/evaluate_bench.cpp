// Re-evaluating every safety rule for one participant with 500 events (issue 4's target: under
// 1 ms). A year of a plausible history: 260 AEs over terms from many categories (some resolved,
// some recurring), 200 lab results with baselines, 100 blood-pressure readings, and the doses of
// 17 cycles. Prints the distribution of Evaluator::evaluate over many runs.
// Usage: bench_evaluate CTCAE_DIR ALERTS_DIR [runs]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "rules/evaluator.h"

using namespace vigil;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CTCAE_DIR ALERTS_DIR [runs]\n", argv[0]);
    return 64;
  }
  const std::string ctcae = argv[1], alerts = argv[2];
  const int runs = argc > 3 ? std::atoi(argv[3]) : 2000;
  auto catalogue = grading::Catalogue::load(ctcae + "/terms.tsv");
  auto grader = grading::LabGrader::load(ctcae);
  if (!catalogue.isOk() || !grader.isOk()) return 1;
  auto categories = rules::CategorySet::load(alerts + "/rules/categories.json", catalogue.value());
  if (!categories.isOk()) return 1;
  auto reporting = rules::ReportingRules::load(alerts, catalogue.value(), categories.value());
  auto dose = rules::DoseRules::load(alerts + "/rules/dose.json", catalogue.value(), categories.value(), grader.value());
  if (!reporting.isOk() || !dose.isOk()) {
    std::fprintf(stderr, "%s\n", (reporting.isOk() ? dose.status() : reporting.status()).message().c_str());
    return 1;
  }
  const rules::Evaluator evaluator(dose.value(), reporting.value(), categories.value(), grader.value());

  constexpr int64_t kDay = 86400000;
  const int64_t start = 20458 * kDay;  // 2026-01-05
  std::mt19937 rng(42);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  rules::Scenario s;
  s.as_of_ms = start + 365 * kDay;
  s.participant.study_id = "S01-001";
  s.participant.site = "S01";
  s.participant.enrolled_on = "2026-01-05";
  s.participant.baseline_labs = {{"ALT", 30, "U/L", 7, 40, {}},       {"AST", 28, "U/L", 8, 35, {}},
                                 {"BILI", 10, "umol/L", 3, 21, {}},   {"CREAT", 80, "umol/L", 45, 100, {}},
                                 {"PLAT", 250, "10^9/L", 150, 400, {}}, {"TSH", 2, "mIU/L", 0.4, 4.0, {}}};
  const char* terms[] = {"Hypertension", "Diarrhea", "Fatigue", "Palmar-plantar erythrodysesthesia syndrome",
                         "Proteinuria", "Hypothyroidism", "Epistaxis", "Mucositis oral", "Rash maculo-papular",
                         "Pruritus", "Arthralgia", "Anorexia", "Nausea", "Hoarseness", "Cough", "Pneumonitis",
                         "Colitis", "Hypertriglyceridemia", "Weight loss", "Dysphagia"};
  for (int i = 0; i < 260; ++i) {
    rules::ScenarioAe ae;
    ae.ref = "ae" + std::to_string(i % 200);  // some refs recur
    ae.term = terms[uniform(0, 19)];
    const auto* t = catalogue.value().find(ae.term);
    do ae.grade = uniform(1, 3);
    while (!t->hasGrade(ae.grade));
    ae.onset_ms = start + uniform(0, 360) * kDay;
    if (uniform(0, 3)) ae.resolved_ms = ae.onset_ms + uniform(1, 20) * kDay;
    ae.investigator = {core::Relatedness(uniform(0, 4)), core::Relatedness(uniform(0, 4))};
    ae.site_aware_ms = ae.onset_ms + 8 * 3600000LL;
    if (uniform(0, 20) == 0) ae.serious = {core::Seriousness::kHospitalization};
    s.adverse_events.push_back(ae);
  }
  struct Lab {
    const char* test;
    const char* unit;
    double lln, uln, lo, hi;
  } labs[] = {{"ALT", "U/L", 7, 40, 10, 200},      {"AST", "U/L", 8, 35, 10, 150},
              {"BILI", "umol/L", 3, 21, 4, 50},    {"CREAT", "umol/L", 45, 100, 60, 200},
              {"PLAT", "10^9/L", 150, 400, 40, 350}, {"TSH", "mIU/L", 0.4, 4.0, 0.5, 20}};
  for (int i = 0; i < 200; ++i) {
    const Lab& l = labs[i % 6];
    rules::ScenarioLab r;
    r.ref = "lab" + std::to_string(i);
    r.test = l.test;
    r.unit = l.unit;
    r.lln = l.lln;
    r.uln = l.uln;
    r.value = l.lo + (l.hi - l.lo) * std::uniform_real_distribution<double>(0, 1)(rng);
    r.collected_ms = start + (i / 6) * 11 * kDay;
    s.labs.push_back(r);
  }
  for (int i = 0; i < 100; ++i) {
    rules::ScenarioVital v;
    v.ref = "bp" + std::to_string(i);
    v.measured_ms = start + i * 3 * kDay + 9 * 3600000LL;
    v.systolic = uniform(110, 175);
    v.diastolic = uniform(70, 105);
    s.vitals.push_back(v);
  }
  for (int cycle = 0; cycle < 17; ++cycle) {
    s.doses.push_back({"s" + std::to_string(cycle), core::Drug::kSintilimab, start + cycle * 21 * kDay, 200.0, true, 1});
    s.doses.push_back({"a" + std::to_string(cycle), core::Drug::kAnlotinib, start + cycle * 21 * kDay, 12.0, true, 1});
  }

  // Concomitant medications (issue 14): a steroid taper of three steps for every tenth AE (given
  // for it), anticoagulation, antihypertensives of two classes, and others the rules pass over.
  auto med = [&](const std::string& ref, const char* name, const char* category, double mg, const char* freq,
                 int64_t from, std::optional<int64_t> to, const std::string& for_ae = "") {
    rules::ScenarioMedication m;
    m.ref = ref;
    m.name = name;
    m.category = category;
    m.dose = mg;
    m.unit = "mg";
    m.route = "oral";
    m.frequency = freq;
    m.start_ms = from;
    m.end_ms = to;
    m.indication_ref = for_ae;
    m.has_indication = !for_ae.empty();
    s.medications.push_back(m);
  };
  for (size_t i = 0; i < s.adverse_events.size(); i += 10) {
    const auto& ae = s.adverse_events[i];
    const int64_t d0 = ae.onset_ms / kDay * kDay;
    med("m" + std::to_string(i) + "a", "prednisone", "corticosteroid", 60, "QD", d0, d0 + 7 * kDay, ae.ref);
    med("m" + std::to_string(i) + "b", "prednisone", "corticosteroid", 30, "QD", d0 + 7 * kDay, d0 + 14 * kDay, ae.ref);
    med("m" + std::to_string(i) + "c", "prednisone", "corticosteroid", 5, "BID", d0 + 14 * kDay, d0 + 28 * kDay, ae.ref);
  }
  med("ac1", "enoxaparin", "anticoagulant", 80, "BID", start + 100 * kDay, start + 200 * kDay);
  med("ht1", "amlodipine", "antihypertensive", 5, "QD", start + 10 * kDay, std::nullopt);
  med("ht2", "losartan", "antihypertensive", 50, "QD", start + 60 * kDay, std::nullopt);
  s.medications.back().drug_class = "arb";
  med("o1", "omeprazole", "other", 20, "QD", start, std::nullopt);

  rules::Evaluation last;
  std::vector<double> us;
  us.reserve(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    last = evaluator.evaluate(s);
    const auto t1 = std::chrono::steady_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  size_t events = 0;
  for (const auto& e : last.events) events += e.grade >= 1;
  std::printf("evaluate: %zu AEs, %zu labs, %zu vitals, %zu doses, %zu medications -> %zu graded events, %zu deadlines, "
              "%zu findings; anlotinib %s, sintilimab %s\n",
              s.adverse_events.size(), s.labs.size(), s.vitals.size(), s.doses.size(), s.medications.size(), events,
              last.deadlines.size(),
              last.findings.size(), std::string(rules::toString(last.drugs[0].action)).c_str(),
              std::string(rules::toString(last.drugs[1].action)).c_str());
  std::printf("evaluate over %d runs: median %.0f us, p99 %.0f us, max %.0f us\n", runs, us[us.size() / 2],
              us[us.size() * 99 / 100], us.back());
  return 0;
}

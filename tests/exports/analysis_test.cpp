// Counting rules of the DSMB package (issue 6) on small hand-built data cuts, against the real
// CTCAE dictionary, safety categories and AESI rules.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/time.h"
#include "exports/analysis.h"
#include "support/clinical_data.h"
#include "support/dsmb_data.h"

using namespace vigil;
using test::CutBuilder;

namespace {

const exports::IncidenceTable& table(const exports::Analysis& a, const std::string& id) {
  for (const auto& t : a.incidence)
    if (t.id == id) return t;
  FAIL("no incidence table " << id);
  throw std::logic_error("unreachable");
}

const exports::IncidenceRow* row(const exports::IncidenceTable& t, const std::string& term) {
  for (const auto& r : t.rows)
    if (r.term == term) return &r;
  return nullptr;
}

const exports::IncidenceRow* socRow(const exports::IncidenceTable& t, const std::string& soc) {
  for (const auto& r : t.rows)
    if (r.soc == soc && r.term.empty()) return &r;
  return nullptr;
}

exports::Analysis analyse(const CutBuilder& b, bool zero_rows = false) {
  return exports::analyse(b.cut, b.reference(), {zero_rows});
}

}  // namespace

TEST_CASE("each participant counts once per term, once per SOC and once overall, at the worst grade") {
  CutBuilder b;
  b.participant("P01").treated("2026-01-05");
  b.participant("P02").treated("2026-01-05");
  b.participant("P03").treated("2026-01-05");
  b.ae("P01", "Hypertension", 2, "2026-01-10");
  b.ae("P01", "Hypertension", 3, "2026-02-10");
  b.ae("P01", "Hypertension", 1, "2026-03-10");
  b.ae("P01", "Sinus tachycardia", 1, "2026-01-20");  // Cardiac disorders
  b.ae("P02", "Hypertension", 1, "2026-01-12");
  b.ae("P02", "Hypertension", 1, "2026-01-13");
  const auto a = analyse(b);
  const auto& all = table(a, "all");
  REQUIRE(all.denominator == 3);

  const auto* htn = row(all, "Hypertension");
  REQUIRE(htn);
  CHECK(htn->soc == "Vascular disorders");
  CHECK(htn->by_worst_grade == std::array<int, 5>{1, 0, 1, 0, 0});  // P02 at G1, P01 at G3 (not G1, G2 or G3 twice)
  CHECK(htn->grade3_plus == 1);
  CHECK(htn->any == 2);

  const auto* vascular = socRow(all, "Vascular disorders");
  REQUIRE(vascular);
  CHECK(vascular->any == 2);
  const auto* cardiac = socRow(all, "Cardiac disorders");
  REQUIRE(cardiac);
  CHECK(cardiac->by_worst_grade == std::array<int, 5>{1, 0, 0, 0, 0});

  // The "any AE" row: P01 at G3 (worst of everything), P02 at G1; P03 had none.
  const auto& any = all.rows.front();
  CHECK(any.soc.empty());
  CHECK(any.by_worst_grade == std::array<int, 5>{1, 0, 1, 0, 0});
  CHECK(any.any == 2);
}

TEST_CASE("relatedness is counted per drug, either party's 'possible' makes it related") {
  CutBuilder b;
  b.participant("P01").treated("2026-01-05");
  b.participant("P02").treated("2026-01-05");
  b.participant("P03").treated("2026-01-05");
  b.ae("P01", "Hypertension", 3, "2026-01-10").related(core::Relatedness::kProbable, core::Relatedness::kNotRelated);
  b.ae("P02", "Pneumonitis", 2, "2026-01-10").related(core::Relatedness::kUnlikely, core::Relatedness::kPossible);
  // The investigator says unlikely for both; the sponsor cannot rule sintilimab out (CDE 2018).
  b.ae("P03", "Diarrhea", 2, "2026-01-10")
      .related(core::Relatedness::kUnlikely, core::Relatedness::kUnlikely)
      .sponsor(std::nullopt, core::Relatedness::kPossible);
  b.ae("P03", "Fatigue", 1, "2026-01-11").related(core::Relatedness::kUnlikely, core::Relatedness::kNotRelated);
  const auto a = analyse(b);

  const auto& anl = table(a, "related_anlotinib");
  const auto& sin = table(a, "related_sintilimab");
  const auto& either = table(a, "related_either");
  CHECK(row(anl, "Hypertension"));
  CHECK_FALSE(row(anl, "Pneumonitis"));
  CHECK_FALSE(row(anl, "Diarrhea"));
  CHECK_FALSE(row(sin, "Hypertension"));
  CHECK(row(sin, "Pneumonitis"));
  CHECK(row(sin, "Diarrhea"));
  CHECK(row(either, "Hypertension"));
  CHECK(row(either, "Pneumonitis"));
  CHECK(row(either, "Diarrhea"));
  CHECK_FALSE(row(either, "Fatigue"));
  CHECK(either.rows.front().any == 3);
  CHECK(anl.rows.front().any == 1);
  CHECK(sin.rows.front().any == 2);
  // Unrelated AEs still count in the table of all AEs.
  CHECK(row(table(a, "all"), "Fatigue"));
}

TEST_CASE("irAE, anti-angiogenic and AESI tables follow the rule data") {
  CutBuilder b;
  b.participant("P01").treated("2026-01-05");
  b.ae("P01", "Pneumonitis", 2, "2026-01-10");
  b.ae("P01", "Hypertension", 2, "2026-01-11");
  b.ae("P01", "Esophageal fistula", 2, "2026-01-12");
  b.ae("P01", "Fatigue", 2, "2026-01-13");
  const auto a = analyse(b);
  CHECK(row(table(a, "irae"), "Pneumonitis"));
  CHECK_FALSE(row(table(a, "irae"), "Hypertension"));
  CHECK(row(table(a, "anti_angiogenic"), "Hypertension"));
  CHECK(row(table(a, "anti_angiogenic"), "Esophageal fistula"));
  CHECK_FALSE(row(table(a, "anti_angiogenic"), "Fatigue"));
  CHECK_FALSE(row(table(a, "irae"), "Fatigue"));
  // Pneumonitis is an AESI in alerts/rules/aesi.json; fatigue is not.
  CHECK(row(table(a, "aesi"), "Pneumonitis"));
  CHECK_FALSE(row(table(a, "aesi"), "Fatigue"));
  for (const auto& c : a.by_category) {
    if (c.category == "pneumonitis" || c.category == "hypertension" || c.category == "fistula_perforation") {
      CHECK(c.any == 1);
      CHECK(c.by_worst_grade[1] == 1);
    } else {
      CHECK(c.any == 0);
    }
  }
}

TEST_CASE("zero rows are kept only on request") {
  CutBuilder b;
  b.participant("P01").treated("2026-01-05");
  b.ae("P01", "Hypertension", 2, "2026-01-10");
  const auto without = analyse(b, false);
  const auto with = analyse(b, true);
  CHECK_FALSE(row(table(without, "all"), "Epistaxis"));
  const auto* epistaxis = row(table(with, "all"), "Epistaxis");
  REQUIRE(epistaxis);
  CHECK(epistaxis->any == 0);
  CHECK(epistaxis->by_worst_grade == std::array<int, 5>{});
  // Every CTCAE term has its row in the full table; the irAE table keeps only irAE terms.
  size_t terms = 0;
  for (const auto& r : table(with, "all").rows) terms += !r.term.empty();
  CHECK(terms == b.reference().catalogue.size());
  CHECK(row(table(with, "irae"), "Pneumonitis"));
  CHECK_FALSE(row(table(with, "irae"), "Epistaxis"));
  CHECK(row(table(with, "anti_angiogenic"), "Epistaxis"));
  CHECK(row(table(with, "all"), "Hypertension")->any == 1);
}

TEST_CASE("the treated population and treatment-emergent AEs") {
  CutBuilder b;
  b.participant("P01").treated("2026-01-05");
  b.participant("P02");  // enrolled, never dosed
  b.participant("P03").treated("2026-01-05");
  b.ae("P01", "Hypertension", 2, "2026-01-04");  // the day before the first dose
  b.ae("P01", "Fatigue", 1, "2026-01-05");       // the day of the first dose
  b.ae("P02", "Anorexia", 3, "2026-01-06").serious({core::Seriousness::kHospitalization});
  const auto a = analyse(b);
  CHECK(a.participants == 3);
  CHECK(a.treated == 2);
  const auto& all = table(a, "all");
  CHECK(all.denominator == 2);
  CHECK_FALSE(row(all, "Hypertension"));
  CHECK(row(all, "Fatigue"));
  CHECK_FALSE(row(all, "Anorexia"));
  // Listings hold what happened regardless.
  REQUIRE(a.serious.size() == 1);
  CHECK(a.serious[0]->version->ctcae_term == "Anorexia");
}

TEST_CASE("listings: deaths, dose actions, pending lab AEs, deviations and late clocks") {
  CutBuilder b;
  b.participant("P01").treated("2026-01-05");
  b.ae("P01", "Pneumonitis", 5, "2026-01-20").outcome(core::Outcome::kFatal).serious({core::Seriousness::kDeath});
  b.ae("P01", "Hypertension", 3, "2026-01-10").action(core::ActionTaken::kDrugInterrupted, std::nullopt);
  b.ae("P01", "Diarrhea", 2, "2026-01-11").action(core::ActionTaken::kDoseReduced, core::ActionTaken::kDoseNotChanged);
  b.ae("P01", "Colitis", 3, "2026-01-12").action(core::ActionTaken::kDoseNotChanged, core::ActionTaken::kDrugWithdrawn);
  b.ae("P01", "Fatigue", 1, "2026-01-13").action(core::ActionTaken::kDoseNotChanged, core::ActionTaken::kDoseNotChanged);
  b.candidate("P01", "Alanine aminotransferase increased", core::CandidateStatus::kPending);
  b.candidate("P01", "Anemia", core::CandidateStatus::kConfirmed);
  b.deviation("P01", "dose_during_hold");
  b.finding("P01", "collection_window", "before_first_dose");
  b.deadline(1, "sae_24h", "2026-01-21T08:00:00.000Z", "");                          // open, due before the cut
  b.deadline(1, "susar_7d", "2026-01-27T08:00:00.000Z", "2026-01-27T09:30:00.000Z");  // met 1.5 h late
  b.deadline(2, "aesi_24h", "2026-01-11T08:00:00.000Z", "2026-01-11T07:00:00.000Z");  // met in time
  const auto a = analyse(b);
  REQUIRE(a.deaths.size() == 1);
  CHECK(a.deaths[0]->version->ctcae_term == "Pneumonitis");
  std::vector<std::string> acted;
  for (const auto* f : a.dose_actions) acted.push_back(f->version->ctcae_term);
  CHECK(acted == std::vector<std::string>{"Hypertension", "Diarrhea", "Colitis"});
  REQUIRE(a.pending_candidates.size() == 1);
  CHECK(a.pending_candidates[0]->ctcae_term == "Alanine aminotransferase increased");
  REQUIRE(a.deviations.size() == 1);  // the collection-window finding is not a protocol deviation
  REQUIRE(a.clocks.size() == 2);
  CHECK(a.clocks[0].state == "overdue");
  CHECK(a.clocks[0].deadline->kind == "sae_24h");
  CHECK(a.clocks[1].state == "met_late");
  CHECK(a.clocks[1].hours_late == Approx(1.5));
  // The withdrawal marks the participant's discontinuation for the swimmer plot.
  REQUIRE(a.exposure[0].discontinued);
  CHECK(*a.exposure[0].discontinued == "2026-01-12");
}

TEST_CASE("exposure: cycles, relative dose intensity, sintilimab doses, time on treatment, rates") {
  CutBuilder b;
  // Cycle 1 full (14 x 12 mg), cycle 2: 7 days at 12 mg, 7 at 10 mg; sintilimab on day 1 of each.
  auto p = b.participant("P01");
  for (int d = 0; d < 14; ++d) p.dose(core::Drug::kAnlotinib, core::formatDate(*core::parseDate("2026-01-05") + d), 1, 12);
  for (int d = 0; d < 14; ++d)
    p.dose(core::Drug::kAnlotinib, core::formatDate(*core::parseDate("2026-01-26") + d), 2, d < 7 ? 12 : 10);
  p.dose(core::Drug::kSintilimab, "2026-01-05", 1, 200);
  p.dose(core::Drug::kSintilimab, "2026-01-26", 2, 200);
  p.held(core::Drug::kAnlotinib, "2026-02-09", 2);
  b.participant("P02");  // never treated
  b.ae("P01", "Hypertension", 3, "2026-01-10");
  b.ae("P01", "Fatigue", 1, "2026-01-11");
  const auto a = analyse(b);
  const auto& e = a.exposure[0];
  CHECK(e.first_dose == "2026-01-05");
  CHECK(e.last_dose == "2026-02-08");
  CHECK(e.cycles_started == 2);
  CHECK(e.anlotinib_mg_given == Approx(14 * 12 + 7 * 12 + 7 * 10));
  CHECK(e.anlotinib_mg_planned == Approx(2 * 14 * 12));
  REQUIRE(e.anlotinib_rdi);
  CHECK(*e.anlotinib_rdi == Approx((14.0 * 12 + 7 * 12 + 7 * 10) / (2 * 14 * 12)));
  CHECK(e.sintilimab_doses == 2);
  CHECK(e.days_on_treatment == 35);
  CHECK(e.holds == 1);
  CHECK(e.hold_dates == std::vector<std::string>{"2026-02-09"});
  CHECK(a.exposure[1].first_dose.empty());
  CHECK(a.participant_years == Approx(35 / 365.25));
  // Summaries over the one treated participant.
  REQUIRE(a.exposure_summary.size() == 4);
  CHECK(a.exposure_summary[0].label == "Cycles started");
  CHECK(a.exposure_summary[0].n == 1);
  CHECK(a.exposure_summary[0].median == 2);
  CHECK(a.exposure_summary[1].max == 35);
  CHECK(a.exposure_summary[2].median == Approx(100 * (14.0 * 12 + 7 * 12 + 7 * 10) / (2 * 14 * 12)));
  CHECK(a.exposure_summary[3].total == 2);
  for (const auto& r : a.rates) {
    if (r.id == "any") {
      CHECK(r.events == 2);
      CHECK(r.per_100_py == Approx(100.0 * 2 / (35 / 365.25)));
    }
    if (r.id == "grade3_plus") CHECK(r.events == 1);
  }
}

TEST_CASE("lab shift: baseline grade against the worst post-baseline grade") {
  CutBuilder b;
  b.participant("P01").treated("2026-01-05").baseline("ALT", 30, "U/L", 7, 40);
  b.participant("P02").treated("2026-01-05").baseline("ALT", 130, "U/L", 7, 40);  // 3.25 x ULN: grade 2
  b.participant("P03").treated("2026-01-05");                                    // no baseline
  b.lab("P01", "ALT", "2026-01-04T08:00:00Z", R"([{"term":"Alanine aminotransferase increased","grade":3}])");  // before the first dose
  b.lab("P01", "ALT", "2026-01-12T08:00:00Z", R"([{"term":"Alanine aminotransferase increased","grade":1}])");
  b.lab("P01", "ALT", "2026-01-19T08:00:00Z", R"([{"term":"Alanine aminotransferase increased","grade":2}])");
  b.lab("P03", "ALT", "2026-01-19T08:00:00Z", R"([{"term":"Alanine aminotransferase increased","grade":0}])");
  const auto a = analyse(b);
  const exports::ShiftTable* alt = nullptr;
  for (const auto& t : a.shifts)
    if (t.test == "ALT" && t.term == "Alanine aminotransferase increased") alt = &t;
  REQUIRE(alt);
  CHECK(alt->participants == 3);
  CHECK(alt->counts[0][2] == 1);  // P01: baseline 0, worst after the first dose 2 (the G3 came before it)
  CHECK(alt->counts[5][0] == 1);  // P03: no baseline, worst 0
  CHECK(alt->counts[2][5] == 1);  // P02: baseline grade 2 (graded against the ULN), nothing after
}

TEST_CASE("stopping monitor: observed count and the beta-binomial posterior") {
  CutBuilder b;
  for (int i = 1; i <= 10; ++i) b.participant("P" + std::to_string(100 + i)).treated("2026-01-05");
  // Two related G3 bleeds (one participant twice), one unrelated G3 bleed, one related G2 bleed.
  b.ae("P101", "Esophageal hemorrhage", 3, "2026-01-10").related(core::Relatedness::kProbable, std::nullopt);
  b.ae("P101", "Epistaxis", 3, "2026-01-20").related(core::Relatedness::kPossible, std::nullopt);
  b.ae("P102", "Bronchopulmonary hemorrhage", 4, "2026-01-10").related(std::nullopt, core::Relatedness::kPossible);
  b.ae("P103", "Epistaxis", 3, "2026-01-10").related(core::Relatedness::kNotRelated, core::Relatedness::kNotRelated);
  b.ae("P104", "Epistaxis", 2, "2026-01-10").related(core::Relatedness::kDefinite, std::nullopt);
  b.ae("P105", "Esophageal fistula", 2, "2026-01-10");
  exports::StoppingRules rules;
  exports::Boundary bleed;
  bleed.id = "B";
  bleed.when.categories = {"hemorrhage"};
  bleed.when.min_grade = 3;
  bleed.related_to = exports::RelatedTo::kEither;
  bleed.unacceptable_rate = 0.10;
  bleed.prior_a = 1;
  bleed.prior_b = 1;
  bleed.threshold = 0.8;
  exports::Boundary fistula = bleed;
  fistula.id = "F";
  fistula.when.categories = {"fistula_perforation"};
  fistula.when.min_grade = 1;
  fistula.related_to = exports::RelatedTo::kAny;
  fistula.threshold = 0.75;
  rules.boundaries = {bleed, fistula};
  const auto a = exports::analyse(b.cut, b.reference(rules), {});
  REQUIRE(a.stopping.size() == 2);
  const auto& rb = a.stopping[0];
  CHECK(rb.observed == 2);  // P101 once, P102; not the unrelated or the G2 bleed
  CHECK(rb.treated == 10);
  CHECK(rb.posterior_a == 3);
  CHECK(rb.posterior_b == 9);
  // Beta(3, 9) with integer parameters: P(p > 0.1) = P(Binomial(11, 0.1) <= 2).
  double expected = 0;
  for (int j = 0; j <= 2; ++j) {
    double c = 1;
    for (int i = 0; i < j; ++i) c = c * (11 - i) / (i + 1);
    expected += c * std::pow(0.1, j) * std::pow(0.9, 11 - j);
  }
  CHECK(rb.probability == Approx(expected).epsilon(1e-10));
  CHECK(rb.probability > 0.8);
  CHECK(rb.crossed);
  const auto& rf = a.stopping[1];
  CHECK(rf.observed == 1);
  // Beta(2, 10): P(p > 0.1) = P(Binomial(11, 0.1) <= 1) = 0.9^11 + 11 x 0.1 x 0.9^10 = 0.697...
  CHECK(rf.probability == Approx(std::pow(0.9, 11) + 11 * 0.1 * std::pow(0.9, 10)).epsilon(1e-10));
  CHECK_FALSE(rf.crossed);  // below its threshold of 0.75
}

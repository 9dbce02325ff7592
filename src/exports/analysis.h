#pragma once
// The DSMB package's numbers (issue 6), computed from one data cut. Plain data out, no I/O, so
// the counting rules are tested on hand-built cuts.
//
// Counting rules (chosen where the issue is silent, stated in the report):
//  - Treated participants: at least one dose given on or before the cut. They are the
//    denominator of every percentage.
//  - Incidence counts treatment-emergent AEs of treated participants: AESTDTC on or after the
//    first dose given. Each participant counts once per term (and once per SOC, once in the
//    "any AE" row) at their worst grade.
//  - Related to a drug: "possible" or above by the investigator or the sponsor (CDE 2018, as the
//    reporting rules); "either" is related to at least one drug.
//  - irAE and anti-angiogenic: the term is in an immune-related / anti-angiogenic category of
//    alerts/rules/categories.json; AESI: an AESI rule of alerts/rules/aesi.json applies.
//  - Listings hold every AE standing at the cut, treatment-emergent or not.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exports/stopping.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "rules/categories.h"
#include "rules/reporting.h"
#include "store/store.h"

namespace vigil::exports {

// The reference data the package is computed against, with their versions for the manifest.
struct Reference {
  const grading::Catalogue& catalogue;
  const grading::LabGrader& grader;
  const rules::CategorySet& categories;
  const rules::ReportingRules& reporting;
  const StoppingRules& stopping;
  std::string dose_rules_version;
  std::string ctcae_version;
};

// One AE as it stood at the cut, with what the package derives from it.
struct AeFacts {
  const core::AeReport* report = nullptr;
  const core::AeVersion* version = nullptr;
  std::string soc;
  int participant = -1;      // index into Analysis::exposure
  bool treated = false;      // the participant is in the treated population
  bool emergent = false;     // started on or after the participant's first dose
  std::array<bool, 2> related{};
  bool irae = false;
  bool anti_angiogenic = false;
  bool aesi = false;
  bool serious = false;
  bool death = false;        // grade 5, outcome fatal or the death criterion
  std::vector<std::string> categories;
  int64_t start_day = 0;     // days since the epoch
};

struct IncidenceRow {
  std::string soc;   // empty in the "any AE" row
  std::string term;  // empty in a SOC row and in the "any AE" row
  std::array<int, 5> by_worst_grade{};  // participants whose worst grade is 1..5
  int grade3_plus = 0;
  int any = 0;
};

struct IncidenceTable {
  std::string id;     // all, related_anlotinib, related_sintilimab, related_either, irae, anti_angiogenic, aesi
  std::string title;
  int denominator = 0;
  std::vector<IncidenceRow> rows;  // "any AE" row, then each SOC followed by its terms, alphabetical
};

struct CategoryRow {
  std::string category;
  std::string kind;  // anti_angiogenic or immune_related
  std::array<int, 5> by_worst_grade{};
  int grade3_plus = 0;
  int any = 0;
};

// One CTCAE grade stored with a lab result (LabResult::grades_json), parsed once per export.
struct LabGrade {
  std::string term;
  std::optional<int> grade;  // null: not decidable from the inputs
};

struct ShiftTable {
  std::string test;  // LBTESTCD
  std::string term;  // the CTCAE term graded
  // counts[baseline][post]: grades 0-4 and index 5 for "missing"
  std::array<std::array<int, 6>, 6> counts{};
  int participants = 0;
};

struct Exposure {
  std::string study_id;
  std::string site;
  std::string first_dose;  // YYYY-MM-DD, empty when never treated
  std::string last_dose;
  int cycles_started = 0;
  double anlotinib_mg_given = 0;
  double anlotinib_mg_planned = 0;
  std::optional<double> anlotinib_rdi;  // given / planned
  int anlotinib_days_given = 0;
  int sintilimab_doses = 0;
  int days_on_treatment = 0;
  int holds = 0;                        // doses recorded as held
  std::vector<std::string> hold_dates;  // distinct dates of held doses, ascending
  std::optional<std::string> discontinued;  // date of the first AE whose action withdrew a drug
};

// One exposure measure over the treated participants.
struct ExposureSummary {
  std::string label;
  int n = 0;  // participants with a value
  double median = 0, min = 0, max = 0, total = 0;
};

struct EventRate {
  std::string id;
  std::string label;
  int events = 0;
  double per_100_py = 0;
};

struct BoundaryResult {
  const Boundary* boundary = nullptr;
  int observed = 0;
  int treated = 0;
  double posterior_a = 0;
  double posterior_b = 0;
  double probability = 0;  // P(rate > unacceptable_rate | data)
  bool crossed = false;
};

struct ClockRow {
  const core::ReportingDeadline* deadline = nullptr;
  std::string state;  // overdue, met_late
  double hours_late = 0;
};

// The listings point into aes: an Analysis moves (vectors keep their elements) but never copies.
struct Analysis {
  Analysis() = default;
  Analysis(const Analysis&) = delete;
  Analysis& operator=(const Analysis&) = delete;
  Analysis(Analysis&&) = default;
  Analysis& operator=(Analysis&&) = default;

  std::string cut;
  int64_t cut_ms = 0;
  int participants = 0;
  int treated = 0;
  std::vector<AeFacts> aes;  // by AE id
  std::vector<IncidenceTable> incidence;
  std::vector<CategoryRow> by_category;
  std::vector<const AeFacts*> serious, deaths, dose_actions;
  std::vector<const core::SafetyChange*> deviations;  // protocol-deviation findings
  std::vector<const core::AeCandidate*> pending_candidates;
  std::vector<ClockRow> clocks;
  std::vector<const core::PregnancyReport*> pregnancies;  // participant's or partner's, by id
  std::vector<std::vector<LabGrade>> lab_grades;  // by index into the cut's labs
  std::vector<ShiftTable> shifts;
  std::vector<Exposure> exposure;  // every participant, by study ID
  std::vector<ExposureSummary> exposure_summary;  // cycles, days, anlotinib RDI (%), sintilimab doses
  double participant_years = 0;
  std::vector<EventRate> rates;
  std::vector<BoundaryResult> stopping;
};

struct AnalysisOptions {
  bool zero_rows = false;  // keep incidence rows for terms with no events
};

// Derives everything from the cut; the cut must outlive the Analysis (it points into it).
Analysis analyse(const store::DataCut& cut, const Reference& ref, const AnalysisOptions& options);

// Planned anlotinib per cycle started: 12 mg on days 1-14 of a 21-day cycle (the starting dose
// of the trial record).
inline constexpr double kAnlotinibPlannedMgPerCycle = 12.0 * 14;

}  // namespace vigil::exports

#pragma once
// The dose-modification rules of clinical-rules.md sections 1, 2, 3 and 5 and the on-study flags
// of section 9, loaded from alerts/rules/dose.json (format vigil-dose-rules/1, alerts/README.md).
// Each table row is one rule with its id, source and whether that source is verified; routing
// rows (which only say which other rows apply) are kept so that every row is accounted for.
// Immutable after load, so safe to share between threads.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "rules/categories.h"
#include "rules/hbv.h"
#include "rules/medications.h"

namespace vigil::rules {

// In order of restriction: the most restrictive recommendation for a drug wins.
enum class DrugAction { kContinue, kInterruptInfusion, kHold, kDiscontinue };
std::string_view toString(DrugAction action);  // continue, interrupt_infusion, hold, discontinue

enum class DrugScope { kAnlotinib, kSintilimab, kBoth };
enum class EventKind { kAe, kLab, kVital };
std::string_view toString(EventKind kind);  // ae, lab, vital

// Which causality a row needs. A drug is "ruled out" for an AE when every relatedness given
// for it (investigator and sponsor) is not_related or unlikely; lab and vital-sign events rule
// nothing out. "related" is possible or above by either.
//  not_ruled_out: the row's drug (for both-drug rows: each drug) is not ruled out (the default)
//  related:       the row's drug (each drug) is related
//  either:        at least one of the drugs is not ruled out
//  both_related:  both drugs are related
//  any:           whatever the causality
enum class Attribution { kNotRuledOut, kRelated, kEither, kBothRelated, kAny };
enum class Recurrence { kAny, kFirst, kRecurrent };

// A comparison on a lab or vital-sign value.
struct Measure {
  enum class Of { kValue, kXUln, kTbilXUln, kAlpXUln, kBaselineXUln, kSystolic, kDiastolic };
  enum class Op { kGe, kGt, kLe, kLt };
  Of of = Of::kValue;
  Op op = Op::kGe;
  double value = 0;     // SI unit for kValue
  double us_value = 0;  // kValue in the analyte's US unit
  bool if_known = false;  // holds when the input is not available
};

// The engine's exactness rule: v op limit, numbers equal to 12 significant digits being equal.
bool compare(double v, Measure::Op op, double limit);

struct Condition {
  std::vector<std::string> terms;
  std::vector<std::string> categories;
  std::vector<CategoryKind> kinds;
  std::vector<std::string> tests;  // lab events of these LBTESTCD only
  int min_grade = 1;
  int max_grade = 5;
  std::array<bool, 3> events{true, true, true};  // by EventKind
  Attribution attribution = Attribution::kNotRuledOut;
  Recurrence recurrence = Recurrence::kAny;
  bool other = false;  // applies only when no specific row for the drug matched the event
  std::vector<Measure> measure;
  std::optional<bool> liver_mets_abnormal_baseline;
  std::optional<bool> suspected;
  std::vector<std::string> verbatim_contains;  // any of, case-insensitive
  int persists_hours = 0;  // the event must stay unresolved (> G1) this long

  bool hasTermFilter() const { return !terms.empty() || !categories.empty() || !kinds.empty(); }
};

enum class MaxHold { kNone, kDefault, kDays };

struct DoseRule {
  std::string id;
  std::string section;
  DrugScope drug = DrugScope::kAnlotinib;
  bool routing = false;  // a routing row: no action of its own
  std::vector<std::string> routes_to;
  std::vector<Condition> when;  // any of
  DrugAction action = DrugAction::kContinue;
  std::string resume;         // the resume condition, in words
  int resume_max_grade = 1;   // resolution for lab and vital events: a later value graded <= this
  bool minus_one = false;     // anlotinib resumes one level lower
  std::optional<bool> minus_one_recurrent;  // overrides minus_one for a recurrent event
  MaxHold max_hold = MaxHold::kNone;        // anlotinib; sintilimab holds always run the 12-week clocks
  int max_hold_days = 0;
  bool sequential = false;  // hold both, then rechallenge one drug at a time (section 5)
  bool aesi = false;        // also an adverse event of special interest
  // A hold that also ends once anticoagulation has been stable long enough (AN-VTE-2:
  // medications.anticoagulation_stable_days), whatever the event's grade by then.
  bool resume_on_stable_anticoagulation = false;
  std::string source;
  bool verified = false;
  std::string note;

  bool appliesTo(core::Drug d) const {
    return drug == DrugScope::kBoth || (drug == DrugScope::kAnlotinib) == (d == core::Drug::kAnlotinib);
  }
};

// A rule that is not a table row of its own: a clock, the 8 mg floor, the missed-dose rules of
// section 1, the collection windows of section 6.5. days is the rule's period where it has one.
struct ClockRule {
  std::string id;
  std::string source;
  bool verified = false;
  std::string note;
  std::optional<int> days;
};

// A test the protocol expects at a cadence (clinical-rules.md section 4).
struct MonitoringRule {
  std::string id;
  std::vector<std::string> tests;     // analyte codes (SYSBP for blood pressure)
  std::optional<int> every_days;      // due this long after the last result (or the first dose)
  std::optional<int> cycle1_every_days;  // tighter during the first cycle
  int if_grade = 0;                   // with if_grade_every_days: when the last result is >= this grade
  std::optional<int> if_grade_every_days;
  std::optional<int> before_sintilimab_within_days;  // a result within this many days before each sintilimab dose
  bool hbv_carriers_only = false;     // only for HBsAg- or anti-HBc-positive participants (rules/hbv.h)
  std::string text;
  std::string source;
  bool verified = false;
};

struct OnStudyFlag {
  std::string id;
  std::vector<Condition> when;
  std::string text;
  std::string source;
  bool verified = false;
  bool latest_only = false;  // judged on each test's latest result only
};

// An eligibility criterion of the trial record, checked at registration (rules/eligibility.h):
// a baseline fact (age, ecog, hbv_dna_iu_ml, fistula_or_perforation_6m) or a baseline lab (test).
struct EligibilityRule {
  std::string id;
  std::string fact;
  std::string test;               // analyte code
  std::optional<double> min;      // inclusive; a lab's in its SI unit
  std::optional<double> min_us;   // a lab's floor in its US unit
  std::optional<double> max;      // inclusive
  std::optional<double> below;    // exclusive upper limit
  std::string text;
  std::string source;
  bool verified = false;
};

struct DoseSettings {
  std::vector<int> anlotinib_levels_mg{12, 10, 8};
  int sintilimab_dose_mg = 200;
  int anlotinib_default_max_hold_days = 14;
  int sintilimab_max_hold_days = 84;
  int overlap_dechallenge_days = 14;
  int cycle_days = 21;         // anlotinib days 1-14 and sintilimab day 1 of each 21-day cycle
  int anlotinib_days_on = 14;
  int hepatic_pair_window_days = 7;  // bilirubin and ALP pair with an aminotransferase this close in time
};

class DoseRules {
 public:
  // Loads and checks the file: known fields only, every term a CTCAE v5.0 term, every category
  // and test known, every row with a source, unique ids, routing targets that exist.
  static core::Result<DoseRules> load(const std::string& path, const grading::Catalogue& catalogue,
                                      const CategorySet& categories, const grading::LabGrader& grader);

  const std::string& version() const { return version_; }
  const DoseSettings& settings() const { return settings_; }
  const std::vector<DoseRule>& rules() const { return rules_; }
  const std::vector<OnStudyFlag>& flags() const { return flags_; }
  const std::vector<MonitoringRule>& monitoring() const { return monitoring_; }
  const std::vector<EligibilityRule>& eligibility() const { return eligibility_; }
  const MedicationSettings& medications() const { return medications_; }
  const HbvSettings& hbv() const { return hbv_; }
  const DoseRule* find(std::string_view id) const;
  const ClockRule* clock(std::string_view id) const;
  bool verified(std::string_view rule_or_clock_id) const;

  // Indices into rules() of the action rows whose term filter can match the term (a CTCAE term
  // as NCI spells it), rows filtering on lab tests only included; "other" rows are separate.
  const std::vector<size_t>& candidates(const std::string& term) const;
  const std::vector<size_t>& otherRules() const { return other_; }

 private:
  std::string version_;
  DoseSettings settings_;
  std::vector<DoseRule> rules_;
  std::vector<ClockRule> clocks_;
  std::vector<OnStudyFlag> flags_;
  std::vector<MonitoringRule> monitoring_;
  std::vector<EligibilityRule> eligibility_;
  MedicationSettings medications_;
  HbvSettings hbv_;
  std::unordered_map<std::string, std::vector<size_t>> by_term_;
  std::vector<size_t> other_;
  std::vector<size_t> none_;
};

}  // namespace vigil::rules

#pragma once
// Evaluates a participant's whole safety history as of a moment: every AE, lab result, vital-sign
// reading and dose, in time order, through the dose-modification rules (DoseRules), the
// reporting rules (ReportingRules) and the on-study flags. The result is what the safety team
// must do: per event its categories, AESI, seriousness and suspected SUSAR status; the reporting
// clocks; per drug the current recommendation with the rules and events behind it; protocol
// deviations (a dose given against an open hold or after a discontinuation) and flags.
//
// The evaluation is a pure function of its input, so vigild recomputes it whenever anything
// changes and `vigilctl evaluate` gives the same answer from a JSON scenario. Time semantics:
//  - AE onset and resolution dates are taken at 00:00 UTC; a resolution date means the resume
//    condition of the rules it triggered was met that day.
//  - Lab and vital-sign events resolve at the first later value of the same term graded at or
//    below the rule's resume grade (<= G1 unless the row says otherwise).
//  - A hold past its maximum becomes a discontinuation only once as_of is strictly after the
//    limit: resolving exactly on day 14 of a 14-day window is in time.
//  - A dose date is a whole day: a dose on the day a hold started is not a deviation (it may
//    have been given first); a dose on a later day is.
// Thread-safe: evaluate() keeps all state on its own stack.

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "grading/lab_grader.h"
#include "rules/dose_rules.h"
#include "rules/medications.h"
#include "rules/reporting.h"

namespace vigil::rules {

struct ScenarioAe {
  std::string ref;
  std::string term;  // CTCAE v5.0 term as NCI spells it
  std::string verbatim;
  int grade = 1;
  int64_t onset_ms = 0;
  std::optional<int64_t> resolved_ms;
  std::vector<core::Seriousness> serious;
  std::array<std::optional<core::Relatedness>, 2> investigator;  // by core::Drug
  std::array<std::optional<core::Relatedness>, 2> sponsor;
  std::optional<int64_t> site_aware_ms;
  std::optional<int64_t> sponsor_aware_ms;
  std::optional<int64_t> steroid_start_ms;  // starts the second 12-week clock of section 3.0
  bool suspected = false;                   // a suspected (not confirmed) diagnosis
};

struct ScenarioLab {
  std::string ref;
  std::string test;  // LBTESTCD or LOINC
  double value = 0;
  std::string unit;
  std::optional<double> lln;
  std::optional<double> uln;
  int64_t collected_ms = 0;
};

struct ScenarioVital {
  std::string ref;
  int64_t measured_ms = 0;
  std::optional<int> systolic;
  std::optional<int> diastolic;
  std::optional<double> temperature_c;
  std::optional<int> qtc_ms;
};

struct ScenarioDose {
  std::string ref;
  core::Drug drug = core::Drug::kAnlotinib;
  int64_t date_ms = 0;  // 00:00 UTC of the dosing day
  std::optional<double> dose_mg;
  bool given = true;  // false: recorded as held or missed
  std::optional<int> cycle_day;  // day of the 21-day cycle, when recorded
};

// A pregnancy of the participant or a partner (clinical-rules.md section 6.4). Not an AE itself.
enum class PregnancyOutcome { kOngoing, kLiveBirth, kCongenitalAnomaly, kPregnancyLoss, kSeriousNeonatalReaction,
                              kElectiveTermination };
std::string_view toString(PregnancyOutcome o);
std::optional<PregnancyOutcome> parsePregnancyOutcome(std::string_view text);
// Congenital anomaly, fetal death / spontaneous abortion and a serious neonatal reaction are
// reported as serious (EU GVP pregnancy module).
bool seriousOutcome(PregnancyOutcome o);

struct ScenarioPregnancy {
  std::string ref;
  bool partner = false;  // the pregnancy of a participant's partner
  int64_t site_aware_ms = 0;
  PregnancyOutcome outcome = PregnancyOutcome::kOngoing;
  std::optional<int64_t> outcome_aware_ms;  // when the site learnt the outcome
};

struct Scenario {
  int64_t as_of_ms = 0;
  // study_id, site, enrolled_on, liver_metastases, baseline_labs and the dose levels at the
  // start of the history (anlotinib_dose_mg, sintilimab_dose_mg; null = already discontinued).
  core::Participant participant;
  std::vector<ScenarioDose> doses;
  std::vector<ScenarioAe> adverse_events;
  std::vector<ScenarioLab> labs;
  std::vector<ScenarioVital> vitals;
  std::vector<ScenarioPregnancy> pregnancies;
  std::vector<ScenarioMedication> medications;  // concomitant medications (rules/medications.h)
};

struct EventResult {
  std::string ref;
  EventKind kind = EventKind::kAe;
  std::string term;
  int grade = 0;
  int64_t onset_ms = 0;
  std::vector<std::string> categories;
  bool irae = false;
  bool anti_angiogenic = false;
  bool aesi = false;
  bool serious = false;
  bool susar = false;
  bool recurrent = false;
  std::vector<std::string> aesi_ids;
  // Hypertension: the antihypertensive classes in use at onset (CTCAE grade 3 rests on "more than
  // one drug or more intensive therapy than previously used"); none for other terms.
  std::optional<int> antihypertensive_classes;
  // The peak daily prednisone-equivalent (mg) of the systemic corticosteroids given for the event.
  std::optional<double> steroid_peak_mg_day;
};

struct DeadlineResult {
  std::string ref;
  DeadlineKind kind = DeadlineKind::kSae24h;
  int64_t due_ms = 0;
  std::string anchor;
};

struct DrugRecommendation {
  DrugAction action = DrugAction::kContinue;
  std::optional<int> dose_mg;  // the dose to give when treatment continues or resumes
  std::vector<std::string> rule_ids;
  bool unverified = false;  // a rule behind it has an UNVERIFIED source
  std::vector<std::string> event_refs;
  std::vector<std::string> resume;  // the resume conditions of the open holds, in words
  std::optional<int64_t> since_ms;  // when the current hold or discontinuation began
  std::optional<int64_t> discontinue_after_ms;  // a hold unresolved past this becomes a discontinuation
  bool awaiting_rechallenge = false;  // held only until the other drug has been given again
  // A discontinuation because a lab or vital-sign hold ran out with no later reading of its term:
  // what it rests on, in words ("no Hypertension reading at or below grade 1 recorded since ...").
  std::optional<std::string> rests_on;
  // Sintilimab: the daily prednisone-equivalent (mg) of the systemic corticosteroids at as_of, when
  // any is recorded (it resumes only at or below medications.resume_prednisone_max_mg_day).
  std::optional<double> prednisone_mg_day;
};

struct Finding {
  // protocol_deviation: dose_during_hold, dose_after_discontinuation, dose_above_recommended,
  //   anlotinib_dose_made_up, anlotinib_off_week, sintilimab_dose_made_up, test_missing_before_dose;
  // collection_window: before_first_dose, outside_collection_window.
  std::string kind = "protocol_deviation";
  std::string code;
  std::optional<core::Drug> drug;  // none for collection-window findings
  std::string dose_ref;
  std::string ref;  // the event (collection window) or test (monitoring) concerned
  int64_t date_ms = 0;
  std::vector<std::string> rule_ids;
  bool unverified = false;
  std::string text;
};

struct FlagResult {
  std::string id;
  std::string ref;
  std::string text;
  bool verified = false;
};

// When a test the protocol schedules is next due (section 4).
struct MonitoringDue {
  std::string rule_id;
  std::string test;
  std::optional<int64_t> last_ms;  // the latest result
  std::optional<int64_t> due_ms;   // none: no cadence configured, or not on treatment
  bool overdue = false;
  bool unverified = false;
  std::string text;
};

struct Evaluation {
  std::vector<EventResult> events;
  std::vector<DeadlineResult> deadlines;
  std::array<DrugRecommendation, 2> drugs;  // by core::Drug
  std::vector<Finding> findings;
  std::vector<FlagResult> flags;
  std::vector<MonitoringDue> monitoring;
};

class Evaluator {
 public:
  // All references must outlive the evaluator.
  Evaluator(const DoseRules& dose, const ReportingRules& reporting, const CategorySet& categories,
            const grading::LabGrader& grader)
      : dose_(dose), reporting_(reporting), categories_(categories), grader_(grader) {}

  Evaluation evaluate(const Scenario& scenario) const;

  const DoseRules& doseRules() const { return dose_; }

 private:
  const DoseRules& dose_;
  const ReportingRules& reporting_;
  const CategorySet& categories_;
  const grading::LabGrader& grader_;
};

}  // namespace vigil::rules

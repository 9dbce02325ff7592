#pragma once
// Concomitant medications as the safety rules read them (issue 14; clinical-rules.md sections 2
// and 3.0). The rule data is the "medications" section of alerts/rules/dose.json, each number with
// its source:
//  - corticosteroids: the daily prednisone-equivalent dose of the systemic ones (oral, IV, IM, SC;
//    topical and inhaled steroids do not count), from a conversion table (prednisone 5 mg =
//    methylprednisolone 4 mg = dexamethasone 0.75 mg = hydrocortisone 20 mg) and the doses a day
//    of each frequency;
//  - anticoagulants: whether one is active (INR graded on its anticoagulated branch) and since
//    when one has been stable (one record, so one drug and one dose, running without a change);
//  - antihypertensives: how many classes are in use (CTCAE hypertension grade 3 rests on "more
//    than one drug or more intensive therapy than previously used").
// Dates are whole days: a medication is active from 00:00 UTC of its start day to the end of its
// end day; "once" is its start day only.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model.h"
#include "core/status.h"

namespace vigil::rules {

inline constexpr const char* kMedicationCategories[] = {"corticosteroid", "anticoagulant", "antihypertensive",
                                                        "thyroid_replacement", "antiviral", "other"};

struct MedicationSettings {
  std::map<std::string, double> steroid_equivalent_mg;  // generic name (lower case) -> mg equal to prednisone 5 mg
  std::string steroid_equivalent_source;
  std::set<std::string> routes;           // every route accepted
  std::set<std::string> systemic_routes;  // the routes a steroid dose counts by
  std::map<std::string, double> doses_per_day;  // frequency (upper case, "once" lower) -> administrations a day
  double resume_prednisone_max_mg_day = 10;     // sintilimab resumes only at or below (section 3.0)
  std::string resume_prednisone_source;
  bool resume_prednisone_verified = true;
  int taper_min_days = 28;  // a systemic steroid course for an irAE shorter than this is a finding
  std::string taper_source;
  bool taper_verified = true;
  int anticoagulation_stable_days = 7;  // AN-VTE resumption: anticoagulation stable this long
  std::string anticoagulation_stable_source;
  bool anticoagulation_stable_verified = false;
};

// Reads the "medications" section; throws std::invalid_argument naming the key on a problem.
MedicationSettings parseMedicationSettings(const nlohmann::json& section);

// Checks one medication as intake and `vigilctl evaluate` take it, canonicalising its spellings
// (category and route lower case, frequency upper case, "once" lower case; the dose stays as
// given). Each problem goes to errors with its field name prefixed by `prefix`, unless errors
// already names that field.
void checkMedication(const MedicationSettings& settings, core::ConcomitantMedication& m,
                     std::vector<core::FieldError>& errors, const std::string& prefix = "");

struct ScenarioMedication {
  std::string ref;
  std::string name;
  std::string category;
  std::string drug_class;
  std::optional<double> dose;
  std::string unit;
  std::string route;
  std::string frequency;
  int64_t start_ms = 0;                // 00:00 UTC of the start day
  std::optional<int64_t> end_ms;       // 00:00 UTC of the day after the last day; none while it continues
  std::string indication_ref;          // the AE it treats (its ref), if given
  bool has_indication = false;         // an indication given, as an AE or as free text
};

// The rules' view of a stored medication; the AE it treats becomes "ae/ID".
ScenarioMedication scenarioMedication(const core::ConcomitantMedication& m, const std::string& ref);

class MedicationTimeline {
 public:
  MedicationTimeline(const MedicationSettings& settings, const std::vector<ScenarioMedication>& meds);

  // The daily prednisone-equivalent (mg) of one corticosteroid record; 0 for any other record, a
  // non-systemic route or a name not in the table (intake refuses those for systemic routes).
  double prednisoneOf(const ScenarioMedication& m) const;
  // The total daily prednisone-equivalent of the systemic corticosteroids active at t.
  double prednisoneAt(int64_t t) const;
  // The first moment at or after `from` when that total is at or below limit (equal to 9
  // significant digits counts as equal); none if it never is.
  std::optional<int64_t> prednisoneAtMostFrom(int64_t from, double limit) const;
  bool anticoagulatedAt(int64_t t) const;
  // The first moment when one anticoagulant record has run for `days` counted from the later of its
  // start and `from`, and still runs; none if none does.
  std::optional<int64_t> stableAnticoagulationFrom(int64_t from, int days) const;
  // Distinct antihypertensive classes (drug_class, else the name) active at t.
  int antihypertensiveClassesAt(int64_t t) const;
  // The systemic corticosteroids given for an event: those whose indication is the event, and
  // for an immune-related event also those with no indication at all (neither an AE nor free text)
  // started while it was open (from its onset day to its resolution). By start.
  std::vector<const ScenarioMedication*> steroidsFor(const std::string& ref, int64_t onset_ms,
                                                     std::optional<int64_t> resolved_ms, bool irae) const;
  // The daily prednisone-equivalent of `steroids` (steroidsFor) at each start among them: the
  // totals of the records running together, by start.
  std::vector<std::pair<int64_t, double>> steroidSteps(const std::vector<const ScenarioMedication*>& steroids) const;
  bool anySystemicSteroid() const;

 private:
  bool systemicSteroid(const ScenarioMedication& m) const;
  const MedicationSettings& settings_;
  const std::vector<ScenarioMedication>& meds_;
  // Built once: the daily systemic-steroid total from each time a record starts or ends on (by
  // time), the steroids by the AE they are given for, and those given for none (by start).
  std::vector<std::pair<int64_t, double>> steroid_totals_;
  std::unordered_map<std::string, std::vector<const ScenarioMedication*>> steroids_by_ae_;
  std::vector<const ScenarioMedication*> steroids_without_indication_;
};

}  // namespace vigil::rules

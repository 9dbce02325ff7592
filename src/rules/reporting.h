#pragma once
// Seriousness, adverse events of special interest (AESI), suspected SUSARs and their reporting
// clocks (clinical-rules.md section 6). Data: alerts/rules/aesi.json and the reference safety
// information alerts/rsi/<drug>.json, both loaded and checked against CTCAE at start-up.
// Immutable after load, so safe to share between threads.
//
//  - Serious by the ICH E2A criteria; grade 5 is always serious; a CTCAE grade alone never makes
//    an event serious.
//  - Suspected SUSAR: serious, related to a drug ("possible" or above by the investigator or the
//    sponsor: if either cannot rule a relationship out, it counts, CDE 2018), and not expected
//    for that drug per its reference safety information.
//  - Clocks: SAE to the sponsor 24 h from site awareness; a non-serious AESI 24 h from site
//    awareness (a serious one travels with its SAE report); SUSAR fatal or life-threatening 7 days
//    from sponsor awareness with the follow-up 8 days later, other SUSARs 15 days. Without a
//    recorded sponsor awareness the SUSAR clocks start at site awareness (the earlier, so the
//    conservative, anchor).

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "grading/catalogue.h"
#include "rules/categories.h"

namespace vigil::rules {

// When a rule applies: the term is in one of the categories or terms, at min_grade or above.
struct TermCondition {
  std::vector<std::string> categories;
  std::vector<std::string> terms;
  bool irae = false;  // any immune-related event (CategorySet's irAE classification)
  int min_grade = 1;
};

// A limit on the raw blood-pressure reading behind a vital-sign event: the rule applies when
// either value is at or above its limit (AESI-HTN-READING: 180/110).
struct ReadingCondition {
  std::optional<int> systolic_at_least;
  std::optional<int> diastolic_at_least;
};

struct AesiRule {
  std::string id;
  TermCondition when;
  std::optional<ReadingCondition> reading;  // set: applies to vital-sign readings only
  // Set: applies when the event's systemic corticosteroids reached this daily prednisone-equivalent
  // per kg of body weight (AESI-IRAE-STEROID: any irAE needing >= 1 mg/kg); its clock runs from the
  // start of the steroid that reached it.
  std::optional<double> steroid_mg_per_kg_at_least;
  std::string source;
  bool verified = false;
  std::string note;
};

// Reference safety information of one drug: the CTCAE terms expected, each up to a grade.
struct ReferenceSafetyInformation {
  core::Drug drug = core::Drug::kAnlotinib;
  std::string version;
  std::string source;
  bool verified = false;
  std::unordered_map<std::string, int> max_expected_grade;
  bool expected(const std::string& term, int grade) const;
};

struct ReportableEvent {
  std::string ref;
  std::string term;  // CTCAE v5.0 term as NCI spells it
  int grade = 1;
  std::vector<core::Seriousness> serious;
  std::array<std::optional<core::Relatedness>, 2> investigator;  // by core::Drug
  std::array<std::optional<core::Relatedness>, 2> sponsor;
  std::optional<int64_t> site_aware_ms;
  std::optional<int64_t> sponsor_aware_ms;
  // A vital-sign reading: its raw values, and the site is aware from the measurement on.
  bool reading = false;
  std::optional<int> systolic;
  std::optional<int> diastolic;
  // The daily prednisone-equivalent per kg of body weight given for the event at each start of its
  // systemic corticosteroids (rules/medications.h steroidSteps), by time; empty when none was
  // given or the weight is not known.
  std::vector<std::pair<int64_t, double>> steroid_mg_per_kg_steps;
};

struct Assessment {
  Classification classification;
  std::vector<const AesiRule*> aesi;  // the AESI rules that apply
  bool serious = false;
  bool fatal_or_life_threatening = false;
  std::array<bool, 2> related{};   // by core::Drug
  std::array<bool, 2> expected{};  // by core::Drug, per its reference safety information
  bool susar = false;
  bool unverified = false;  // an UNVERIFIED source (AESI rule or RSI) decided part of this
};

// kPregnancy24h: a pregnancy reported on the pregnancy form on the SAE timeline (section 6.4).
enum class DeadlineKind { kSae24h, kAesi24h, kSusar7d, kSusarFollowup8d, kSusar15d, kPregnancy24h };
std::string_view toString(DeadlineKind kind);  // "sae_24h", "aesi_24h", "susar_7d", ..., "pregnancy_24h"

struct Deadline {
  std::string ref;
  DeadlineKind kind = DeadlineKind::kSae24h;
  int64_t due_ms = 0;
  std::string anchor;  // what day 0 is
};

// Relatedness that counts as related for reporting: possible, probable or definite.
bool atLeastPossible(const std::optional<core::Relatedness>& r);

enum class DeadlineState { kDue, kMet, kOverdue };
std::string_view toString(DeadlineState state);
// Met once met_at is recorded (even if late: the DSMB lists late ones); otherwise due until
// due_ms, overdue from then on.
DeadlineState stateOf(const Deadline& deadline, int64_t as_of_ms, std::optional<int64_t> met_at_ms);

class ReportingRules {
 public:
  // Loads alerts/rules/aesi.json and alerts/rsi/{anlotinib,sintilimab}.json from alerts_dir.
  // Fails naming the file and problem: unknown term or category, rule without a source.
  static core::Result<ReportingRules> load(const std::string& alerts_dir, const grading::Catalogue& catalogue,
                                           const CategorySet& categories);

  Assessment assess(const ReportableEvent& event) const;
  // The clocks an assessed event starts; none for a clock whose anchor is unknown.
  std::vector<Deadline> deadlines(const ReportableEvent& event, const Assessment& assessment) const;

  const std::vector<AesiRule>& aesiRules() const { return aesi_; }
  const std::string& aesiVersion() const { return aesi_version_; }
  const ReferenceSafetyInformation& rsi(core::Drug drug) const { return rsi_[static_cast<size_t>(drug)]; }

 private:
  const CategorySet* categories_ = nullptr;
  std::vector<AesiRule> aesi_;
  std::string aesi_version_;
  std::array<ReferenceSafetyInformation, 2> rsi_;
};

}  // namespace vigil::rules

#include "core/model.h"

#include <algorithm>

namespace vigil::core {
namespace {

template <typename E, size_t N>
struct Names {
  std::array<std::pair<E, std::string_view>, N> items;
};

constexpr Names<Role, 4> kRoles{{{{Role::kInvestigator, "investigator"},
                                  {Role::kSafetyOfficer, "safety_officer"},
                                  {Role::kDsmb, "dsmb"},
                                  {Role::kAdmin, "admin"}}}};
constexpr Names<Drug, 2> kDrugNames{{{{Drug::kAnlotinib, "anlotinib"}, {Drug::kSintilimab, "sintilimab"}}}};
constexpr Names<Route, 2> kRoutes{{{{Route::kOral, "oral"}, {Route::kIntravenous, "intravenous"}}}};
constexpr Names<DoseStatus, 3> kDoseStatuses{
    {{{DoseStatus::kGiven, "given"}, {DoseStatus::kHeld, "held"}, {DoseStatus::kMissed, "missed"}}}};
constexpr Names<Relatedness, 5> kRelatedness{{{{Relatedness::kNotRelated, "not_related"},
                                               {Relatedness::kUnlikely, "unlikely"},
                                               {Relatedness::kPossible, "possible"},
                                               {Relatedness::kProbable, "probable"},
                                               {Relatedness::kDefinite, "definite"}}}};
constexpr Names<ActionTaken, 7> kActions{{{{ActionTaken::kDoseNotChanged, "dose_not_changed"},
                                           {ActionTaken::kDoseReduced, "dose_reduced"},
                                           {ActionTaken::kDoseIncreased, "dose_increased"},
                                           {ActionTaken::kDrugInterrupted, "drug_interrupted"},
                                           {ActionTaken::kDrugWithdrawn, "drug_withdrawn"},
                                           {ActionTaken::kNotApplicable, "not_applicable"},
                                           {ActionTaken::kUnknown, "unknown"}}}};
constexpr Names<Outcome, 6> kOutcomes{{{{Outcome::kRecovered, "recovered"},
                                        {Outcome::kRecovering, "recovering"},
                                        {Outcome::kNotRecovered, "not_recovered"},
                                        {Outcome::kRecoveredWithSequelae, "recovered_with_sequelae"},
                                        {Outcome::kFatal, "fatal"},
                                        {Outcome::kUnknown, "unknown"}}}};
constexpr Names<Seriousness, 6> kSeriousness{{{{Seriousness::kDeath, "death"},
                                               {Seriousness::kLifeThreatening, "life_threatening"},
                                               {Seriousness::kHospitalization, "hospitalization"},
                                               {Seriousness::kDisability, "disability"},
                                               {Seriousness::kCongenitalAnomaly, "congenital_anomaly"},
                                               {Seriousness::kImportantMedicalEvent, "important_medical_event"}}}};

template <typename E, size_t N>
std::string_view nameOf(const Names<E, N>& names, E v) {
  for (const auto& [e, s] : names.items)
    if (e == v) return s;
  return "?";
}
template <typename E, size_t N>
std::optional<E> parse(const Names<E, N>& names, std::string_view text) {
  for (const auto& [e, s] : names.items)
    if (s == text) return e;
  return std::nullopt;
}
template <typename E, size_t N>
std::string choices(const Names<E, N>& names) {
  std::string out;
  for (const auto& [e, s] : names.items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

}  // namespace

constexpr Names<CandidateStatus, 3> kCandidateStatuses{{{{CandidateStatus::kPending, "pending"},
                                                         {CandidateStatus::kConfirmed, "confirmed"},
                                                         {CandidateStatus::kDismissed, "dismissed"}}}};

#define VIGIL_ENUM_NAMES(Type, table)                                                        \
  std::string_view toString(Type v) { return nameOf(table, v); }                             \
  template <> std::optional<Type> parseEnum<Type>(std::string_view t) { return parse(table, t); } \
  template <> std::string enumChoices<Type>() { return choices(table); }

VIGIL_ENUM_NAMES(Role, kRoles)
VIGIL_ENUM_NAMES(Drug, kDrugNames)
VIGIL_ENUM_NAMES(Route, kRoutes)
VIGIL_ENUM_NAMES(DoseStatus, kDoseStatuses)
VIGIL_ENUM_NAMES(Relatedness, kRelatedness)
VIGIL_ENUM_NAMES(ActionTaken, kActions)
VIGIL_ENUM_NAMES(Outcome, kOutcomes)
VIGIL_ENUM_NAMES(Seriousness, kSeriousness)
VIGIL_ENUM_NAMES(CandidateStatus, kCandidateStatuses)
#undef VIGIL_ENUM_NAMES

bool AeVersion::hasCriterion(Seriousness s) const {
  return std::find(serious_criteria.begin(), serious_criteria.end(), s) != serious_criteria.end();
}

}  // namespace vigil::core

#include "intake/write_support.h"

#include <algorithm>

namespace vigil::intake {

using core::Status;
using grading::checkLab;
using grading::MeasurementGrade;
using grading::worseThanBaseline;

// Baseline labs as for results: a unit that fits the test and a physically possible value.
// A baseline HBV-DNA (rules/hbv.h) as for results: IU/mL or copies/mL and a possible value.
void checkBaselineLabs(const grading::LabGrader& grader, const rules::HbvSettings* hbv, const core::Participant& p,
                       Errors& errors) {
  for (size_t i = 0; i < p.baseline_labs.size(); ++i) {
    const core::BaselineLab& b = p.baseline_labs[i];
    const std::string prefix = "baseline_labs[" + std::to_string(i) + "].";
    if (hbv && !b.test.empty() && rules::isHbvTest(*hbv, b.test)) {
      if (auto bad = rules::checkHbvLab(*hbv, b.value, b.unit)) errors.push_back({prefix + bad->field, std::move(bad->detail)});
      continue;
    }
    if (b.test.empty() || b.unit.empty()) continue;
    if (auto bad = checkLab(grader, b.test, b.value, b.unit)) errors.push_back({prefix + bad->field, std::move(bad->detail)});
  }
}

// Whether an anticoagulant was recorded as active on the day a lab was collected: INR is then
// graded on its anticoagulated branch. Only INR needs it, so only INR reads the medications.
bool anticoagulatedAt(store::Transaction& tx, const grading::LabGrader& grader, const core::LabResult& l) {
  const auto* analyte = grader.find(l.test);
  if (!analyte || analyte->code != "INR") return false;
  const std::string day = l.collected_at.substr(0, 10);
  for (const auto& m : tx.medicationsOf(l.study_id))
    if (m.category == "anticoagulant" && m.start <= day && (!m.end || day <= *m.end) &&
        (m.frequency != "once" || day == m.start))
      return true;
  return false;
}

core::Result<std::vector<MeasurementGrade>> labGrades(store::Transaction& tx, const grading::LabGrader& grader,
                                                      const core::Participant& p, const core::LabResult& l) {
  return grading::gradeMeasurement(grader, l.test, l.value, l.unit, l.lln, l.uln, p, anticoagulatedAt(tx, grader, l));
}

Status checkIndication(store::Transaction& tx, const core::ConcomitantMedication& m) {
  if (!m.indication_ae_id) return Status::ok();
  const auto ae = tx.adverseEvent(*m.indication_ae_id);
  if (!ae || ae->study_id != m.study_id || ae->current().voided)
    return Status::invalid("unknown adverse event",
                           {{"indication_ae_id", "must be the id of an adverse event of this participant"}});
  return Status::ok();
}

Status invalidIf(const Errors& errors) {
  if (errors.empty()) return Status::ok();
  return Status::invalid("the request has invalid fields", errors);
}

store::AuditRecord auditOf(const core::User& user, std::string action, std::string entity, std::string id,
                           std::string before, std::string after) {
  return {user.name, std::move(action), std::move(entity), std::move(id), std::move(before), std::move(after)};
}

// A candidate keeps the results that support its current grade: a higher grade replaces them, an
// equal one adds to them, a lower one adds nothing. At most this many, the most recent.
constexpr size_t kMaxSourceIds = 50;

void keepRecent(std::vector<int64_t>& ids) {
  if (ids.size() > kMaxSourceIds) ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(kMaxSourceIds));
}

// Compares grades of the same term: +1 when a is stronger evidence than b, 0 when equal, -1 weaker.
int strength(const MeasurementGrade& a, int grade, int worst) {
  if (*a.grade != grade) return *a.grade > grade ? 1 : -1;
  const int a_worst = a.worst_case_grade.value_or(*a.grade);
  return a_worst > worst ? 1 : a_worst < worst ? -1 : 0;
}

void collectEvidence(EvidenceMap& map, const std::string& study_id, const std::vector<MeasurementGrade>& grades,
                     int64_t source_id) {
  for (const auto& g : grades) {
    if (!worseThanBaseline(g)) continue;
    auto [it, fresh] = map.try_emplace({study_id, g.term});
    CandidateEvidence& e = it->second;
    int order = fresh ? 1 : strength(g, *e.grade.grade, e.grade.worst_case_grade.value_or(*e.grade.grade));
    // A 24-hour urine protein overrides the dipstick (CTCAE v5.0 navigational note).
    if (!fresh && g.from_24h_urine != e.grade.from_24h_urine) order = g.from_24h_urine ? 1 : -1;
    if (order > 0) {
      e.grade = g;
      e.ids = {source_id};
    } else if (order == 0) {
      e.ids.push_back(source_id);
    }
  }
}

// Creates or raises the pending candidate of each participant and term; audited.
void applyEvidence(store::Transaction& tx, const core::User& user, const std::string& source, const EvidenceMap& map) {
  for (const auto& [key, e] : map) {
    const auto& g = e.grade;
    auto existing = tx.pendingCandidate(key.first, key.second);
    if (!existing) {
      core::AeCandidate c;
      c.study_id = key.first;
      c.ctcae_term = g.term;
      c.meddra_code = g.meddra_code;
      c.grade = *g.grade;
      c.worst_case_grade = g.worst_case_grade.value_or(*g.grade);
      c.qualifier = c.worst_case_grade > c.grade ? g.qualifier : "";
      c.baseline_grade = g.baseline_grade;
      c.source = source;
      c.source_ids = e.ids;
      keepRecent(c.source_ids);
      c.from_24h_urine = g.from_24h_urine;
      c.created_at = c.updated_at = tx.now();
      c.id = tx.insertCandidate(c);
      tx.appendAudit({user.name, "create", "ae_candidate", std::to_string(c.id), "", toJson(c).dump()});
      continue;
    }
    int order = strength(g, existing->grade, existing->worst_case_grade);
    if (g.from_24h_urine != existing->from_24h_urine) order = g.from_24h_urine ? 1 : -1;
    if (order < 0) continue;  // weaker evidence (or a dipstick after a 24-hour urine) changes nothing
    core::AeCandidate updated = *existing;
    if (order > 0) {
      updated.grade = *g.grade;
      updated.worst_case_grade = g.worst_case_grade.value_or(*g.grade);
      updated.qualifier = updated.worst_case_grade > updated.grade ? g.qualifier : "";
      updated.from_24h_urine = g.from_24h_urine;
      updated.source_ids = e.ids;
    } else {
      // Equal evidence adds its results; a result already cited (a corrected one) adds nothing.
      bool added = false;
      for (int64_t id : e.ids)
        if (std::find(updated.source_ids.begin(), updated.source_ids.end(), id) == updated.source_ids.end()) {
          updated.source_ids.push_back(id);
          added = true;
        }
      if (!added) continue;
    }
    keepRecent(updated.source_ids);
    updated.updated_at = tx.now();
    tx.updateCandidate(updated);
    tx.appendAudit({user.name, "update", "ae_candidate", std::to_string(updated.id), toJson(*existing).dump(),
                    toJson(updated).dump()});
  }
}

}  // namespace vigil::intake

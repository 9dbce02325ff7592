#pragma once
// What the intake use cases share (intake_service.cpp, corrections.cpp): checks of baseline
// labs, the answer to invalid fields, audit records, and the AE candidates that graded lab results
// and vital signs create, raise and (after a correction or void, issue 16) revise.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "grading/lab_grader.h"
#include "grading/measurement_grading.h"
#include "intake/json_codec.h"
#include "rules/hbv.h"
#include "store/store.h"

namespace vigil::intake {

// Baseline labs as for results: a unit that fits the test and a physically possible value; a
// baseline HBV-DNA (rules/hbv.h) in IU/mL or copies/mL.
void checkBaselineLabs(const grading::LabGrader& grader, const rules::HbvSettings* hbv, const core::Participant& p,
                       Errors& errors);

// Whether an anticoagulant was recorded as active on the day a lab was collected: INR is then
// graded on its anticoagulated branch.
bool anticoagulatedAt(store::Transaction& tx, const grading::LabGrader& grader, const core::LabResult& l);

// The CTCAE grades of a lab result for the participant as they stand (baseline, anticoagulation).
core::Result<std::vector<grading::MeasurementGrade>> labGrades(store::Transaction& tx, const grading::LabGrader& grader,
                                                               const core::Participant& p, const core::LabResult& l);

// A medication's indication_ae_id names a standing AE of its own participant (422 otherwise).
core::Status checkIndication(store::Transaction& tx, const core::ConcomitantMedication& m);

core::Status invalidIf(const Errors& errors);

store::AuditRecord auditOf(const core::User& user, std::string action, std::string entity, std::string id,
                           std::string before, std::string after);

// The strongest evidence per participant and term within one write, before it meets the
// stored candidates.
struct CandidateEvidence {
  grading::MeasurementGrade grade;
  std::vector<int64_t> ids;
};
using EvidenceMap = std::map<std::pair<std::string, std::string>, CandidateEvidence>;

// A candidate keeps the results that support its current grade, at most this many, the most recent.
void keepRecent(std::vector<int64_t>& ids);

// Compares grades of the same term: +1 when a is stronger evidence than (grade, worst), 0 when
// equal, -1 weaker.
int strength(const grading::MeasurementGrade& a, int grade, int worst);

void collectEvidence(EvidenceMap& map, const std::string& study_id, const std::vector<grading::MeasurementGrade>& grades,
                     int64_t source_id);

// Creates or raises the pending candidate of each participant and term; audited.
void applyEvidence(store::Transaction& tx, const core::User& user, const std::string& source, const EvidenceMap& map);

}  // namespace vigil::intake

// Corrections and voids of every clinical record (issue 16): a new version with a reason for
// change, or a void that is the record's last version. Nothing is overwritten; each version stays
// readable (GET .../{id}/versions) and the audit entry holds the version before and after.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <tuple>
#include <functional>

#include "intake/access.h"
#include "intake/intake_service.h"
#include "intake/json_codec.h"
#include "intake/write_support.h"

namespace vigil::intake {

using core::Result;
using core::Status;
using nlohmann::json;

// What differs between record types: how a record is named, read and stored, how its new
// version is completed inside the unit (grades, site), and what a change of it touches beyond
// the participant's re-evaluation.
template <typename R>
struct RecordEdit {
  const char* entity;  // the audit entity: dose, lab_result, ...
  const char* label;   // for messages: "dose", "lab result", ...
  std::function<Result<std::vector<R>>()> versions;  // every version of the record, read outside the unit
  std::function<std::optional<R>(store::Transaction&)> current;
  // Completes and checks the new version (not called for a void).
  std::function<Status(store::Transaction&, const core::Participant&, R&)> prepare;
  std::function<void(store::Transaction&, R&)> insert;
  // After the new version is stored: candidates, clocks. May add to the answer.
  std::function<void(store::Transaction&, const core::User&, const core::Participant&, const R& before, const R& after,
                     json& answer)>
      effects;
};

namespace {

std::string ofRecord(const char* label, int64_t id) { return std::string(label) + " " + std::to_string(id); }

}  // namespace

template <typename R>
Result<Reply> IntakeService::editRecord(const WriteContext& ctx, const RecordEdit<R>& edit, int64_t id,
                                        const std::optional<R>& fields, const std::string& reason,
                                        std::optional<int> base_version) {
  // A record never changes participant, so the one to re-evaluate is read before the unit.
  auto found = edit.versions();
  if (!found.isOk()) return found.status();
  if (found.value().empty()) return Status::notFound("no " + ofRecord(edit.label, id));
  const std::string study_id = found.value().back().study_id;
  const bool voiding = !fields;
  const std::string cause = std::string(voiding ? "void " : "correct ") + ofRecord(edit.label, id);
  return commit(ctx, {study_id}, cause, [&](store::Transaction& tx, Reply& reply) -> Status {
    const auto before = edit.current(tx);
    if (!before) return Status::notFound("no " + ofRecord(edit.label, id));
    auto p = tx.participant(before->study_id);
    if (!p) return Status::notFound("no " + ofRecord(edit.label, id));
    if (!canWrite(ctx.user, p->site)) return Status::forbidden("you may not change data of site " + p->site);
    if (before->revision.voided)
      return Status::conflict(ofRecord(edit.label, id) + " was voided (version " +
                              std::to_string(before->revision.version) + "); a voided record takes no further version");
    if (base_version && *base_version != before->revision.version)
      return Status::conflict(ofRecord(edit.label, id) + " is at version " + std::to_string(before->revision.version) +
                              ", not " + std::to_string(*base_version) + "; reload and apply your change again");
    R after = voiding ? *before : *fields;
    if (!voiding && after.study_id != before->study_id)
      return Status::invalid("study_id cannot change",
                             {{"study_id", "differs from the record's participant " + before->study_id +
                                               "; void this record and record it for the other participant"}});
    after.id = id;
    after.revision = core::Revision{before->revision.version + 1, voiding, reason, before->revision.entered_at};
    after.recorded_at = tx.now();
    after.recorded_by = ctx.user.name;
    if (!voiding)
      if (Status s = edit.prepare(tx, *p, after); !s.isOk()) return s;
    edit.insert(tx, after);
    json answer = toJson(after);
    tx.appendAudit(auditOf(ctx.user, voiding ? "void" : "update", edit.entity, std::to_string(id), toJson(*before).dump(),
                           answer.dump()));
    if (edit.effects) edit.effects(tx, ctx.user, *p, *before, after, answer);
    reply = {200, answer.dump(), false};
    return Status::ok();
  });
}

namespace {

// The grades of a lab result or vital-sign record as it stands now, for the candidates' review;
// none for a voided or unknown one.
std::vector<grading::MeasurementGrade> currentGrades(store::Transaction& tx, const grading::LabGrader& grader,
                                                     const std::string& source, const core::Participant& p,
                                                     int64_t id) {
  if (source == "lab") {
    const auto l = tx.lab(id);
    if (!l || l->revision.voided) return {};
    auto g = labGrades(tx, grader, p, *l);
    return g.isOk() ? g.value() : std::vector<grading::MeasurementGrade>{};
  }
  const auto v = tx.vitalSigns(id);
  if (!v || v->revision.voided) return {};
  return grading::gradeVitals(grader, *v, p);
}

std::vector<grading::MeasurementGrade> ofTerm(const std::vector<grading::MeasurementGrade>& grades,
                                              const std::string& term) {
  std::vector<grading::MeasurementGrade> out;
  for (const auto& g : grades)
    if (g.term == term) out.push_back(g);
  return out;
}

}  // namespace

void IntakeService::reviseCandidates(store::Transaction& tx, const core::User& user, const std::string& source,
                                     const core::Participant& p, int64_t record_id,
                                     const std::vector<grading::MeasurementGrade>& grades,
                                     const std::string& why) const {
  for (const auto& c : tx.pendingCandidates(p.study_id)) {
    if (c.source != source ||
        std::find(c.source_ids.begin(), c.source_ids.end(), record_id) == c.source_ids.end())
      continue;
    // The evidence that still stands: the other cited results as they are now, and this record's
    // new version.
    EvidenceMap standing;
    for (int64_t other : c.source_ids)
      if (other != record_id)
        collectEvidence(standing, p.study_id, ofTerm(currentGrades(tx, grader_, source, p, other), c.ctcae_term), other);
    collectEvidence(standing, p.study_id, ofTerm(grades, c.ctcae_term), record_id);
    core::AeCandidate updated = c;
    updated.updated_at = tx.now();
    const auto e = standing.find({p.study_id, c.ctcae_term});
    std::string action = "update";
    if (e == standing.end()) {
      // Nothing left supports it: withdrawn, with the reason, by whoever made the change.
      updated.status = core::CandidateStatus::kDismissed;
      updated.decided_by = user.name;
      updated.decided_at = tx.now();
      updated.decision_reason = "withdrawn: " + why;
      action = "withdraw";
    } else {
      const auto& g = e->second.grade;
      updated.grade = *g.grade;
      updated.worst_case_grade = g.worst_case_grade.value_or(*g.grade);
      updated.qualifier = updated.worst_case_grade > updated.grade ? g.qualifier : "";
      updated.from_24h_urine = g.from_24h_urine;
      updated.baseline_grade = g.baseline_grade;
      updated.source_ids = e->second.ids;
      keepRecent(updated.source_ids);
    }
    tx.updateCandidate(updated);
    tx.appendAudit({user.name, action, "ae_candidate", std::to_string(c.id), toJson(c).dump(), toJson(updated).dump()});
  }
  // The new version's own evidence raises or opens candidates as a new result would.
  EvidenceMap evidence;
  collectEvidence(evidence, p.study_id, grades, record_id);
  applyEvidence(tx, user, source, evidence);
}

namespace {

// The grades a record carries against the ones computed now: equal when each term has the same
// grade, worst-case grade and baseline grade, whatever else an older spelling stored beside them.
bool sameGrades(const std::string& now, const std::string& stored) {
  auto key = [](const std::string& text) {
    std::vector<std::tuple<std::string, json, json, json>> out;
    const json parsed = json::parse(text, nullptr, false);
    if (!parsed.is_array()) return out;
    for (const auto& g : parsed)
      if (g.is_object())
        out.emplace_back(g.value("term", ""), g.value("grade", json()), g.value("worst_case_grade", g.value("grade", json())),
                         g.value("baseline_grade", json(0)));
    std::sort(out.begin(), out.end());
    return out;
  };
  return key(now) == key(stored);
}

}  // namespace

void IntakeService::regrade(store::Transaction& tx, const core::User& user, const core::Participant& p, bool only_inr,
                            const std::string& why) const {
  const auto h = tx.history(p.study_id);
  if (!h) return;
  const std::string reason = "graded again: " + why;
  auto nextVersion = [&](auto record) {
    record.revision = core::Revision{record.revision.version + 1, false, reason, record.revision.entered_at};
    record.recorded_at = tx.now();
    record.recorded_by = user.name;
    return record;
  };
  for (const auto& l : h->labs) {
    const auto* analyte = grader_.find(l.test);
    if (!analyte || (only_inr && analyte->code != "INR")) continue;
    auto grades = labGrades(tx, grader_, p, l);
    if (!grades.isOk()) continue;
    const std::string text = grading::gradesToJson(grades.value());
    if (sameGrades(text, l.grades_json)) continue;
    core::LabResult next = nextVersion(l);
    next.grades_json = text;
    tx.insertLab(next);
    tx.appendAudit(auditOf(user, "update", "lab_result", std::to_string(l.id), toJsonText(l), toJsonText(next)));
    reviseCandidates(tx, user, "lab", p, l.id, grades.value(), "lab_result " + std::to_string(l.id) + " " + next.revision.reason);
  }
  if (only_inr) return;
  for (const auto& v : h->vitals) {
    const auto grades = grading::gradeVitals(grader_, v, p);
    const std::string text = grading::gradesToJson(grades);
    if (sameGrades(text, v.grades_json)) continue;
    core::VitalSigns next = nextVersion(v);
    next.grades_json = text;
    tx.insertVitals(next);
    tx.appendAudit(auditOf(user, "update", "vital_signs", std::to_string(v.id), toJson(v).dump(), toJson(next).dump()));
    reviseCandidates(tx, user, "vitals", p, v.id, grades, "vital_signs " + std::to_string(v.id) + " " + next.revision.reason);
  }
}

namespace {

// The "candidates" of an answer: the participant's pending candidates after the change.
json pendingOf(store::Transaction& tx, const std::string& study_id) {
  json out = json::array();
  for (const auto& c : tx.pendingCandidates(study_id)) out.push_back(toJson(c));
  return out;
}

std::string whyText(const char* entity, int64_t id, const core::Revision& r) {
  return std::string(entity) + " " + std::to_string(id) + (r.voided ? " voided: " : " corrected: ") + r.reason;
}

}  // namespace

void IntakeService::measurementChanged(store::Transaction& tx, const core::User& user, const core::Participant& p,
                                       const char* source, const char* entity, int64_t id, const core::Revision& r,
                                       json& answer) const {
  reviseCandidates(tx, user, source, p, id, currentGrades(tx, grader_, source, p, id), whyText(entity, id, r));
  answer["pending_candidates"] = pendingOf(tx, p.study_id);
}

template <>
RecordEdit<core::DoseRecord> IntakeService::editFor<core::DoseRecord>(int64_t id) {
  RecordEdit<core::DoseRecord> e;
  e.entity = "dose";
  e.label = "dose";
  e.versions = [this, id] { return store_.doseVersions(id); };
  e.current = [id](store::Transaction& tx) { return tx.dose(id); };
  e.prepare = [](store::Transaction&, const core::Participant& p, core::DoseRecord& d) {
    if (d.date < p.enrolled_on)
      return Status::invalid("dose before enrolment", {{"date", "is before the participant's enrolment on " + p.enrolled_on}});
    return Status::ok();
  };
  e.insert = [](store::Transaction& tx, core::DoseRecord& d) { tx.insertDose(d); };
  return e;
}

template <>
RecordEdit<core::LabResult> IntakeService::editFor<core::LabResult>(int64_t id) {
  RecordEdit<core::LabResult> e;
  e.entity = "lab_result";
  e.label = "lab result";
  e.versions = [this, id] { return store_.labVersions(id); };
  e.current = [id](store::Transaction& tx) { return tx.lab(id); };
  e.prepare = [this](store::Transaction& tx, const core::Participant& p, core::LabResult& l) -> Status {
    auto grades = labGrades(tx, grader_, p, l);
    if (!grades.isOk()) return grades.status();  // the unit was checked before; kept as a guard
    l.grades_json = grading::gradesToJson(grades.value());
    l.unit_canonical = grading::canonicalUnit(grader_, l.test, l.unit);
    return Status::ok();
  };
  e.insert = [](store::Transaction& tx, core::LabResult& l) { tx.insertLab(l); };
  e.effects = [this, id](store::Transaction& tx, const core::User& user, const core::Participant& p,
                         const core::LabResult&, const core::LabResult& after, json& answer) {
    measurementChanged(tx, user, p, "lab", "lab_result", id, after.revision, answer);
  };
  return e;
}

template <>
RecordEdit<core::VitalSigns> IntakeService::editFor<core::VitalSigns>(int64_t id) {
  RecordEdit<core::VitalSigns> e;
  e.entity = "vital_signs";
  e.label = "vital signs";
  e.versions = [this, id] { return store_.vitalSignsVersions(id); };
  e.current = [id](store::Transaction& tx) { return tx.vitalSigns(id); };
  e.prepare = [this](store::Transaction&, const core::Participant& p, core::VitalSigns& v) {
    v.grades_json = grading::gradesToJson(grading::gradeVitals(grader_, v, p));
    return Status::ok();
  };
  e.insert = [](store::Transaction& tx, core::VitalSigns& v) { tx.insertVitals(v); };
  e.effects = [this, id](store::Transaction& tx, const core::User& user, const core::Participant& p,
                         const core::VitalSigns&, const core::VitalSigns& after, json& answer) {
    measurementChanged(tx, user, p, "vitals", "vital_signs", id, after.revision, answer);
  };
  return e;
}

template <>
RecordEdit<core::PregnancyReport> IntakeService::editFor<core::PregnancyReport>(int64_t id) {
  RecordEdit<core::PregnancyReport> e;
  e.entity = "pregnancy";
  e.label = "pregnancy";
  e.versions = [this, id] { return store_.pregnancyVersions(id); };
  e.current = [id](store::Transaction& tx) { return tx.pregnancy(id); };
  e.prepare = [id](store::Transaction& tx, const core::Participant& p, core::PregnancyReport& g) {
    g.site = p.site;
    // A correction that does not restate the outcome keeps the one recorded (correctRecord leaves
    // it empty): an outcome is never lost to a fix of another field.
    if (g.outcome.empty())
      if (const auto before = tx.pregnancy(id)) {
        g.outcome = before->outcome;
        if (!g.outcome_aware_at) g.outcome_aware_at = before->outcome_aware_at;  // unless this one corrects it
      }
    return Status::ok();
  };
  e.insert = [](store::Transaction& tx, core::PregnancyReport& g) { tx.insertPregnancy(g); };
  return e;
}

template <>
RecordEdit<core::ConcomitantMedication> IntakeService::editFor<core::ConcomitantMedication>(int64_t id) {
  RecordEdit<core::ConcomitantMedication> e;
  e.entity = "concomitant_medication";
  e.label = "concomitant medication";
  e.versions = [this, id] { return store_.medicationVersions(id); };
  e.current = [id](store::Transaction& tx) { return tx.medication(id); };
  e.prepare = [](store::Transaction& tx, const core::Participant& p, core::ConcomitantMedication& m) -> Status {
    if (Status s = checkIndication(tx, m); !s.isOk()) return s;
    m.site = p.site;
    return Status::ok();
  };
  e.insert = [](store::Transaction& tx, core::ConcomitantMedication& m) { tx.insertMedication(m); };
  // A systemic corticosteroid may make an AE of special interest (AESI-IRAE-STEROID), or stop
  // making it one: the stored clocks follow, as for a new medication.
  // An anticoagulant decides INR's grading branch: the INR results it covered, or covers now, are
  // graded again.
  e.effects = [this, id](store::Transaction& tx, const core::User& user, const core::Participant& p,
                         const core::ConcomitantMedication& before, const core::ConcomitantMedication& after, json&) {
    if (before.category == "anticoagulant" || after.category == "anticoagulant")
      regrade(tx, user, p, true,
              "concomitant_medication " + std::to_string(id) + (after.revision.voided ? " voided" : " corrected"));
    if (before.category != "corticosteroid" && after.category != "corticosteroid") return;
    if (auto h = tx.history(p.study_id))
      for (const auto& ae : h->adverse_events) (void)syncDeadlines(tx, user, ae.id, ae.current());
  };
  return e;
}

Result<Reply> IntakeService::correctRecord(const WriteContext& ctx, RecordType type, int64_t id, const json& body) {
  Errors errors;
  const Correction c = splitCorrection(body, errors);
  // Each record's fields are decoded and checked as for creating it, then stored as its next version.
  auto edit = [&](auto record) -> Result<Reply> {
    if (auto s = invalidIf(errors); !s.isOk()) return s;
    using R = decltype(record);
    return editRecord(ctx, editFor<R>(id), id, std::optional<R>(std::move(record)), c.reason, c.base_version);
  };
  const json& fields = c.fields;
  switch (type) {
    case RecordType::kDose:
      return edit(decodeDoseBody(fields, errors));
    case RecordType::kLab: {
      core::LabResult l = decodeLab(fields, "", errors);
      checkLabBody(l, "", errors);
      return edit(std::move(l));
    }
    case RecordType::kVitals:
      return edit(decodeVitalsBody(fields, errors));
    case RecordType::kPregnancy: {
      core::PregnancyReport g = decodePregnancyBody(fields, errors);
      if (fields.is_object() && !fields.contains("outcome")) g.outcome.clear();  // kept from the current version
      return edit(std::move(g));
    }
    case RecordType::kMedication:
      if (!safety_) return Status::unavailable("the safety rules are not loaded");
      return edit(decodeMedicationBody(fields, errors));
  }
  return Status::internal("unknown record type");
}

Result<Reply> IntakeService::voidRecord(const WriteContext& ctx, RecordType type, int64_t id, const json& body) {
  Errors errors;
  const Correction c = splitCorrection(body, errors);
  if (c.fields.is_object())
    for (auto it = c.fields.begin(); it != c.fields.end(); ++it)
      errors.push_back({it.key(), "is not a known field (a void takes reason_for_change and base_version)"});
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  auto run = [&](auto none) { return editRecord(ctx, editFor<typename decltype(none)::value_type>(id), id, none, c.reason, c.base_version); };
  switch (type) {
    case RecordType::kDose: return run(std::optional<core::DoseRecord>());
    case RecordType::kLab: return run(std::optional<core::LabResult>());
    case RecordType::kVitals: return run(std::optional<core::VitalSigns>());
    case RecordType::kPregnancy: return run(std::optional<core::PregnancyReport>());
    case RecordType::kMedication: return run(std::optional<core::ConcomitantMedication>());
  }
  return Status::internal("unknown record type");
}

Result<Reply> IntakeService::voidAdverseEvent(const WriteContext& ctx, int64_t id, const json& body) {
  Errors errors;
  const Correction c = splitCorrection(body, errors);
  if (c.fields.is_object())
    for (auto it = c.fields.begin(); it != c.fields.end(); ++it)
      errors.push_back({it.key(), "is not a known field (a void takes reason_for_change and base_version)"});
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  auto found = store_.adverseEvent(id);
  if (!found.isOk()) return found.status();
  if (!found.value()) return Status::notFound("no adverse event " + std::to_string(id));
  const std::string study_id = found.value()->study_id;
  return commit(ctx, {study_id}, "void adverse event " + std::to_string(id), [&](store::Transaction& tx, Reply& reply) -> Status {
    auto report = tx.adverseEvent(id);
    if (!report) return Status::notFound("no adverse event " + std::to_string(id));
    if (!canWrite(ctx.user, report->site)) return Status::forbidden("you may not change data of site " + report->site);
    const core::AeVersion previous = report->current();
    if (previous.voided)
      return Status::conflict("adverse event " + std::to_string(id) + " was voided (version " +
                              std::to_string(previous.version) + "); a voided record takes no further version");
    if (c.base_version && *c.base_version != previous.version)
      return Status::conflict("the report is at version " + std::to_string(previous.version) + ", not " +
                              std::to_string(*c.base_version) + "; reload and apply your change again");
    core::AeVersion v = previous;
    v.version = previous.version + 1;
    v.voided = true;
    v.reason = c.reason;
    v.recorded_at = tx.now();
    v.recorded_by = ctx.user.name;
    tx.insertAeVersion(id, v);
    // Its open clocks are no longer required: marked with the void's version, never dropped.
    for (const auto& d : tx.deadlinesOf(id)) {
      if (!d.met_at.empty() || d.no_longer_required_since_version) continue;
      core::ReportingDeadline updated = d;
      updated.no_longer_required_since_version = v.version;
      tx.updateDeadline(updated);
      tx.appendAudit(auditOf(ctx.user, "update", "deadline", std::to_string(d.id), toJson(d, clock_.nowMs()).dump(),
                             toJson(updated, clock_.nowMs()).dump()));
    }
    report->versions.push_back(v);
    reply = {200, toJson(*report, true).dump(), false};
    tx.appendAudit(auditOf(ctx.user, "void", "adverse_event", std::to_string(id), toJson(previous).dump(), toJson(v).dump()));
    return Status::ok();
  });
}

Result<Reply> IntakeService::voidParticipant(const WriteContext& ctx, const std::string& study_id, const json& body) {
  Errors errors;
  const Correction c = splitCorrection(body, errors);
  if (c.fields.is_object())
    for (auto it = c.fields.begin(); it != c.fields.end(); ++it)
      errors.push_back({it.key(), "is not a known field (a void takes reason_for_change and base_version)"});
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {}, "void participant " + study_id, [&](store::Transaction& tx, Reply& reply) -> Status {
    auto before = tx.participant(study_id);
    if (!before) return Status::notFound("no participant " + study_id);
    if (!canWrite(ctx.user, before->site)) return Status::forbidden("you may not change data of site " + before->site);
    if (before->revision.voided)
      return Status::conflict("participant " + study_id + " was voided; a voided record takes no further version");
    if (c.base_version && *c.base_version != before->revision.version)
      return Status::conflict("participant " + study_id + " is at version " + std::to_string(before->revision.version) +
                              ", not " + std::to_string(*c.base_version) + "; reload and apply your change again");
    // Only a registration with nothing standing on it is voided: each record is voided first,
    // with its own reason.
    const auto h = tx.history(study_id);
    std::string remaining;
    auto count = [&](size_t n, const char* what) {
      if (n) remaining += (remaining.empty() ? "" : ", ") + std::to_string(n) + " " + what;
    };
    if (h) {
      count(h->doses.size(), "doses");
      count(h->adverse_events.size(), "adverse events");
      count(h->labs.size(), "lab results");
      count(h->vitals.size(), "vital signs");
      count(h->pregnancies.size(), "pregnancies");
      count(h->medications.size(), "concomitant medications");
    }
    if (!remaining.empty())
      return Status::conflict("participant " + study_id + " still has " + remaining + "; void them first");
    core::Participant next = *before;
    next.revision = core::Revision{before->revision.version + 1, true, c.reason, ""};
    tx.updateParticipant(next, ctx.user.name);
    json answer = toJson(next);
    tx.appendAudit(auditOf(ctx.user, "void", "participant", study_id, toJson(*before).dump(), answer.dump()));
    reply = {200, answer.dump(), false};
    return Status::ok();
  });
}

Result<Reply> IntakeService::correctParticipant(const WriteContext& ctx, const std::string& study_id, const json& body) {
  Errors errors;
  const Correction c = splitCorrection(body, errors);
  json fields = c.fields;
  if (fields.is_object() && !fields.contains("study_id")) fields["study_id"] = study_id;
  core::Participant next = decodeParticipantBody(fields, errors);
  if (next.study_id != study_id && !next.study_id.empty())
    errors.push_back({"study_id", "differs from the participant " + study_id + "; a study ID never changes"});
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {study_id}, "correct participant " + study_id, [&](store::Transaction& tx, Reply& reply) -> Status {
    auto before = tx.participant(study_id);
    if (!before) return Status::notFound("no participant " + study_id);
    if (!canWrite(ctx.user, before->site)) return Status::forbidden("you may not change data of site " + before->site);
    if (before->revision.voided)
      return Status::conflict("participant " + study_id + " was voided; a voided record takes no further version");
    if (c.base_version && *c.base_version != before->revision.version)
      return Status::conflict("participant " + study_id + " is at version " + std::to_string(before->revision.version) +
                              ", not " + std::to_string(*c.base_version) + "; reload and apply your change again");
    if (next.site != before->site)
      return Status::invalid("site cannot change",
                             {{"site", "differs from the participant's site " + before->site +
                                           "; a participant moves site by an administrator's decision, not a correction"}});
    // The enrolment date may not pass a recorded dose (doses are refused before enrolment).
    if (auto h = tx.history(study_id))
      for (const auto& d : h->doses)
        if (d.date < next.enrolled_on)
          return Status::invalid("dose before enrolment",
                                 {{"enrolled_on", "is after dose " + std::to_string(d.id) + " given on " + d.date}});
    next.created_at = before->created_at;
    next.created_by = before->created_by;
    next.revision = core::Revision{before->revision.version + 1, false, c.reason, ""};
    tx.updateParticipant(next, ctx.user.name);
    json answer = toJson(next);
    tx.appendAudit(auditOf(ctx.user, "update", "participant", study_id, toJson(*before).dump(), answer.dump()));
    // Baseline labs and facts are what results are graded against: graded again.
    regrade(tx, ctx.user, next, false, "participant " + study_id + " corrected");
    // The weight scales the steroid dose per kg (AESI-IRAE-STEROID): the stored clocks follow.
    if (auto h = tx.history(study_id))
      for (const auto& ae : h->adverse_events) (void)syncDeadlines(tx, ctx.user, ae.id, ae.current());
    reply = {200, answer.dump(), false};
    return Status::ok();
  });
}

// ---- reads ----------------------------------------------------------------------------------

namespace {

template <typename R>
json versionsJson(const std::vector<R>& versions) {
  json items = json::array();
  for (const auto& v : versions) items.push_back(toJson(v));
  return json{{"items", std::move(items)}};
}

}  // namespace

template <typename Fn>
Result<std::string> IntakeService::readRecord(const core::User& user, RecordType type, int64_t id, Fn answer) {
  auto read = [&](auto versions, const char* label) -> Result<std::string> {
    if (!versions.isOk()) return versions.status();
    if (versions.value().empty()) return Status::notFound("no " + ofRecord(label, id));
    if (auto s = readableParticipant(user, versions.value().back().study_id); !s.isOk()) return s;
    return answer(versions.value());
  };
  switch (type) {
    case RecordType::kDose: return read(store_.doseVersions(id), "dose");
    case RecordType::kLab: return read(store_.labVersions(id), "lab result");
    case RecordType::kVitals: return read(store_.vitalSignsVersions(id), "vital signs");
    case RecordType::kPregnancy: return read(store_.pregnancyVersions(id), "pregnancy");
    case RecordType::kMedication: return read(store_.medicationVersions(id), "concomitant medication");
  }
  return Status::internal("unknown record type");
}

Result<std::string> IntakeService::record(const core::User& user, RecordType type, int64_t id) {
  return readRecord(user, type, id, [](const auto& versions) { return toJson(versions.back()).dump(); });
}

Result<std::string> IntakeService::recordVersions(const core::User& user, RecordType type, int64_t id) {
  return readRecord(user, type, id, [](const auto& versions) { return versionsJson(versions).dump(); });
}

Result<std::string> IntakeService::participantVersions(const core::User& user, const std::string& study_id) {
  if (auto s = readableParticipant(user, study_id); !s.isOk()) return s;
  auto versions = store_.participantVersions(study_id);
  if (!versions.isOk()) return versions.status();
  json items = json::array();
  for (const auto& v : versions.value()) {
    json item = toJson(v.participant);
    item["recorded_at"] = v.recorded_at;
    item["recorded_by"] = v.recorded_by;
    items.push_back(std::move(item));
  }
  return json{{"items", std::move(items)}}.dump();
}

Result<std::string> IntakeService::adverseEventVersions(const core::User& user, int64_t id) {
  auto r = readableAe(user, id);
  if (!r.isOk()) return r.status();
  json items = json::array();
  for (const auto& v : r.value().versions) items.push_back(toJson(v));
  return json{{"items", std::move(items)}}.dump();
}

}  // namespace vigil::intake

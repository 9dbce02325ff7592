#include "intake/intake_service.h"

#include <nlohmann/json.hpp>
#include <algorithm>
#include <map>
#include <set>

#include "core/crypto.h"
#include "intake/access.h"
#include "intake/json_codec.h"
#include "intake/write_support.h"
#include "grading/measurement_grading.h"
#include "rules/medications.h"
#include "rules/scenario_json.h"

namespace vigil::intake {
namespace {

using core::Result;
using core::Status;
using nlohmann::json;
using grading::checkLab;
using grading::gradeMeasurement;
using grading::gradesToJson;
using grading::gradeVitals;
using grading::MeasurementGrade;
using grading::worseThanBaseline;

constexpr int64_t kTimestampSkewMs = 5 * 60 * 1000;  // tolerated client clock drift

std::string joinGrades(const std::vector<int>& grades) {
  std::string out;
  for (int g : grades) out += (out.empty() ? "" : ", ") + std::to_string(g);
  return out;
}

}  // namespace

void IntakeService::checkTerm(AeInput& in, Errors& errors) const {
  auto& v = in.version;
  if (v.ctcae_term.empty()) return;  // already reported as required
  const grading::CtcaeTerm* term = catalogue_.find(v.ctcae_term);
  if (!term) {
    std::string closest;
    for (const auto* t : catalogue_.suggest(v.ctcae_term, 5)) closest += (closest.empty() ? "" : "; ") + t->term;
    errors.push_back({"ctcae_term", "is not a CTCAE v5.0 term (give the exact term or its MedDRA code)" +
                                        (closest.empty() ? std::string() : "; closest: " + closest)});
    return;
  }
  if (!v.meddra_code.empty() && v.meddra_code != term->meddra_code)
    errors.push_back({"meddra_code", "does not match " + term->term + " (MedDRA " + term->meddra_code + ")"});
  if (!term->hasGrade(v.grade))
    errors.push_back({"grade", term->term + " has no grade " + std::to_string(v.grade) + " in CTCAE v5.0; its grades are " +
                                   joinGrades(term->grades())});
  v.ctcae_term = term->term;
  v.meddra_code = term->meddra_code;
}

bool IntakeService::inFuture(const std::string& value) const {
  const int64_t now = clock_.nowMs();
  if (auto day = core::parseDate(value)) return *day > now / core::kDayMs + 1;  // +1: sites ahead of UTC
  if (auto ms = core::parseTimestamp(value)) return *ms > now + kTimestampSkewMs;
  return false;
}

Result<Reply> IntakeService::commit(const WriteContext& ctx, const std::vector<std::string>& evaluate,
                                    const std::string& cause, const Work& work) {
  Reply reply;
  Status s = store_.write([&](store::Transaction& tx) -> Status {
    if (ctx.idempotency_key) {
      if (auto previous = tx.idempotentReply(ctx.user.id, *ctx.idempotency_key)) {
        if (previous->request_hash != ctx.request_hash)
          return Status::conflict("Idempotency-Key was already used for a different request");
        reply = {previous->status, previous->body, true};
        return Status::ok();
      }
    }
    reply = Reply{};
    Status st = work(tx, reply);
    if (!st.isOk()) return st;
    if (safety_)
      for (const auto& study_id : evaluate) safety_->record(tx, study_id, ctx.user.name, cause);
    if (ctx.idempotency_key)
      tx.saveIdempotentReply(ctx.user.id, *ctx.idempotency_key, {ctx.request_hash, reply.status, reply.body});
    return Status::ok();
  });
  if (!s.isOk()) return s;
  return reply;
}

Status IntakeService::checkWritable(const core::User& user, store::Transaction& tx, const std::string& study_id,
                                    const std::string& field, core::Participant* out) {
  auto p = tx.participant(study_id);
  if (!p) return Status::invalid("unknown participant", {{field, "no participant with this study ID"}});
  if (!canWrite(user, p->site)) return Status::forbidden("you may not record data for site " + p->site);
  if (p->revision.voided)
    return Status::invalid("voided participant", {{field, "participant " + study_id + " was voided: registered in error"}});
  if (out) *out = std::move(*p);
  return Status::ok();
}

core::Participant IntakeService::decodeParticipantBody(const json& body, Errors& errors) const {
  core::Participant p = decodeParticipant(body, errors);
  if (!p.enrolled_on.empty() && inFuture(p.enrolled_on)) errors.push_back({"enrolled_on", "is in the future"});
  checkBaselineLabs(grader_, safety_ ? &safety_->evaluator().doseRules().hbv() : nullptr, p, errors);
  return p;
}

Result<Reply> IntakeService::createParticipant(const WriteContext& ctx, const json& body) {
  Errors errors;
  core::Participant p = decodeParticipantBody(body, errors);
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  if (!canWrite(ctx.user, p.site)) return Status::forbidden("you may not register participants at site " + p.site);
  return commit(ctx, {p.study_id}, "create participant", [&](store::Transaction& tx, Reply& reply) -> Status {
    if (!tx.siteExists(p.site)) return Status::invalid("unknown site", {{"site", "no such site"}});
    if (tx.participant(p.study_id)) return Status::conflict("participant " + p.study_id + " is already registered");
    p.created_at = tx.now();
    p.created_by = ctx.user.name;
    tx.insertParticipant(p);
    reply = {201, toJson(p).dump(), false};
    tx.appendAudit(auditOf(ctx.user, "create", "participant", p.study_id, "", reply.body));
    return Status::ok();
  });
}

core::DoseRecord IntakeService::decodeDoseBody(const json& body, Errors& errors) const {
  core::DoseRecord d = decodeDose(body, errors);
  if (!d.date.empty() && inFuture(d.date)) errors.push_back({"date", "is in the future"});
  return d;
}

Result<Reply> IntakeService::recordDose(const WriteContext& ctx, const json& body) {
  Errors errors;
  core::DoseRecord d = decodeDoseBody(body, errors);
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {d.study_id}, "record dose", [&](store::Transaction& tx, Reply& reply) -> Status {
    core::Participant p;
    if (auto s = checkWritable(ctx.user, tx, d.study_id, "study_id", &p); !s.isOk()) return s;
    if (d.date < p.enrolled_on)
      return Status::invalid("dose before enrolment", {{"date", "is before the participant's enrolment on " + p.enrolled_on}});
    d.recorded_at = tx.now();
    d.recorded_by = ctx.user.name;
    d.id = tx.insertDose(d);
    reply = {201, toJson(d).dump(), false};
    tx.appendAudit(auditOf(ctx.user, "create", "dose", std::to_string(d.id), "", reply.body));
    return Status::ok();
  });
}

Status IntakeService::insertAe(store::Transaction& tx, const WriteContext& ctx, AeInput& in, Reply& reply,
                               int64_t* id_out) {
  core::Participant p;
  if (auto s = checkWritable(ctx.user, tx, in.study_id, "study_id", &p); !s.isOk()) return s;
  in.version.version = 1;
  in.version.recorded_at = tx.now();
  in.version.recorded_by = ctx.user.name;
  const int64_t id = tx.insertAdverseEvent(in.study_id, in.version);
  if (id_out) *id_out = id;
  // The answer is toJson(report, true) of the new report; the version's JSON is built once and
  // serves the answer's top level, its history and the audit entry.
  json version = toJson(in.version);
  std::string audit_after = version.dump();
  json answer = version;
  answer["id"] = id;
  answer["study_id"] = in.study_id;
  answer["site"] = p.site;
  answer["versions"] = json::array({std::move(version)});
  answer["safety"] = syncDeadlines(tx, ctx.user, id, in.version);
  reply = {201, answer.dump(), false};
  tx.appendAudit(auditOf(ctx.user, "create", "adverse_event", std::to_string(id), "", std::move(audit_after)));
  return Status::ok();
}

// The steroids given for the AE per kg of the participant's weight (AESI-IRAE-STEROID), as the rules
// link them (rules/medications.h): the stored clocks then agree with the evaluation.
void IntakeService::addSteroids(store::Transaction& tx, int64_t ae_id, const core::AeVersion& v,
                                rules::ReportableEvent& event) const {
  if (!safety_) return;
  const auto report = tx.adverseEvent(ae_id);
  if (!report) return;
  const auto p = tx.participant(report->study_id);
  if (!p || !p->facts.weight_kg || *p->facts.weight_kg <= 0) return;
  const auto meds = tx.medicationsOf(report->study_id);
  if (meds.empty()) return;
  std::vector<rules::ScenarioMedication> known;
  for (const auto& m : meds) known.push_back(rules::scenarioMedication(m, "medication/" + std::to_string(m.id)));
  const rules::MedicationTimeline timeline(safety_->evaluator().doseRules().medications(), known);
  const bool irae = reporting_.assess(event).classification.irae;
  const int64_t onset = core::parseInstant(v.start).value_or(0);
  const auto resolved = v.end ? core::parseInstant(v.end->substr(0, 10)) : std::nullopt;
  for (const auto& [t, mg] : timeline.steroidSteps(timeline.steroidsFor("ae/" + std::to_string(ae_id), onset, resolved, irae)))
    event.steroid_mg_per_kg_steps.emplace_back(t, mg / *p->facts.weight_kg);
}

json IntakeService::syncDeadlines(store::Transaction& tx, const core::User& user, int64_t ae_id,
                                  const core::AeVersion& v) {
  rules::ReportableEvent event;
  event.ref = std::to_string(ae_id);
  event.term = v.ctcae_term;
  event.grade = v.grade;
  event.serious = v.serious_criteria;
  for (core::Drug drug : core::kDrugs)
    event.investigator[static_cast<size_t>(drug)] = v.per_drug[static_cast<size_t>(drug)].relatedness;
  event.sponsor = v.sponsor_relatedness;
  event.site_aware_ms = core::parseTimestamp(v.site_aware_at);
  if (v.sponsor_aware_at) event.sponsor_aware_ms = core::parseTimestamp(*v.sponsor_aware_at);
  addSteroids(tx, ae_id, v, event);
  const auto assessment = reporting_.assess(event);
  const auto computed = reporting_.deadlines(event, assessment);

  auto existing = tx.deadlinesOf(ae_id);
  auto audit = [&](const std::string& action, const core::ReportingDeadline& d, const std::string& before) {
    tx.appendAudit({user.name, action, "deadline", std::to_string(d.id), before, toJson(d, clock_.nowMs()).dump()});
  };
  for (const auto& c : computed) {
    const std::string kind(rules::toString(c.kind));
    const std::string due = core::formatTimestamp(c.due_ms);
    auto it = std::find_if(existing.begin(), existing.end(), [&](const auto& d) { return d.kind == kind; });
    if (it == existing.end()) {
      core::ReportingDeadline d;
      d.ae_id = ae_id;
      d.kind = kind;
      d.due_at = due;
      d.anchor = c.anchor;
      d.opened_in_version = v.version;
      d.id = tx.insertDeadline(d);
      d.created_at = tx.now();
      audit("open", d, "");
      existing.push_back(d);
      continue;
    }
    // A clock keeps its earliest due date; one required again is no longer marked otherwise.
    core::ReportingDeadline updated = *it;
    if (due < updated.due_at) {
      updated.due_at = due;
      updated.anchor = c.anchor;
    }
    updated.no_longer_required_since_version.reset();
    if (updated.due_at != it->due_at || it->no_longer_required_since_version) {
      tx.updateDeadline(updated);
      audit("update", updated, toJson(*it, clock_.nowMs()).dump());
      *it = updated;
    }
  }
  // A clock this version no longer needs (seriousness downgraded, say) stays, marked, until
  // someone records it as met: it is never dropped silently.
  for (auto& d : existing) {
    const bool still = std::any_of(computed.begin(), computed.end(),
                                   [&](const auto& c) { return rules::toString(c.kind) == d.kind; });
    if (still || !d.met_at.empty() || d.no_longer_required_since_version) continue;
    core::ReportingDeadline updated = d;
    updated.no_longer_required_since_version = v.version;
    tx.updateDeadline(updated);
    audit("update", updated, toJson(d, clock_.nowMs()).dump());
    d = updated;
  }

  json categories = json::array(), aesi = json::array(), clocks = json::array();
  for (const auto* c : assessment.classification.categories) categories.push_back(c->name);
  for (const auto* r : assessment.aesi) aesi.push_back(r->id);
  for (const auto& d : existing) clocks.push_back(toJson(d, clock_.nowMs()));
  return {{"categories", std::move(categories)},
          {"irae", assessment.classification.irae},
          {"anti_angiogenic", assessment.classification.anti_angiogenic},
          {"aesi", std::move(aesi)},
          {"serious", assessment.serious},
          {"susar", assessment.susar},
          {"unverified", assessment.unverified},
          {"deadlines", std::move(clocks)}};
}

Result<Reply> IntakeService::createAdverseEvent(const WriteContext& ctx, const json& body) {
  Errors errors;
  AeInput in = decodeAe(body, false, errors);
  checkTerm(in, errors);
  if (!in.version.start.empty() && inFuture(in.version.start)) errors.push_back({"start", "is in the future"});
  if (in.version.end && inFuture(*in.version.end)) errors.push_back({"end", "is in the future"});
  if (!in.version.site_aware_at.empty() && inFuture(in.version.site_aware_at))
    errors.push_back({"site_aware_at", "is in the future"});
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {in.study_id}, "create adverse event",
                [&](store::Transaction& tx, Reply& reply) { return insertAe(tx, ctx, in, reply, nullptr); });
}

Result<Reply> IntakeService::updateAdverseEvent(const WriteContext& ctx, int64_t id, const json& body) {
  Errors errors;
  AeInput in = decodeAe(body, true, errors);
  checkTerm(in, errors);
  if (!in.version.start.empty() && inFuture(in.version.start)) errors.push_back({"start", "is in the future"});
  if (in.version.end && inFuture(*in.version.end)) errors.push_back({"end", "is in the future"});
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  // An AE never changes participant, so the one to re-evaluate can be read before the unit.
  auto found = store_.adverseEvent(id);
  if (!found.isOk()) return found.status();
  std::vector<std::string> evaluate;
  if (found.value()) evaluate.push_back(found.value()->study_id);
  return commit(ctx, evaluate, "update adverse event " + std::to_string(id), [&](store::Transaction& tx, Reply& reply) -> Status {
    auto report = tx.adverseEvent(id);
    if (!report) return Status::notFound("no adverse event " + std::to_string(id));
    if (!canWrite(ctx.user, report->site)) return Status::forbidden("you may not change data of site " + report->site);
    if (!in.study_id.empty() && in.study_id != report->study_id)
      return Status::invalid("study_id cannot change", {{"study_id", "differs from the report's participant"}});
    const core::AeVersion& previous = report->current();
    if (previous.voided)
      return Status::conflict("adverse event " + std::to_string(id) + " was voided (version " +
                              std::to_string(previous.version) + "); a voided record takes no further version");
    if (in.base_version && *in.base_version != previous.version)
      return Status::conflict("the report is at version " + std::to_string(previous.version) + ", not " +
                              std::to_string(*in.base_version) + "; reload and apply your change again");
    in.version.version = previous.version + 1;
    in.version.recorded_at = tx.now();
    in.version.recorded_by = ctx.user.name;
    in.version.reason = in.reason;
    tx.insertAeVersion(id, in.version);
    const std::string before = toJson(previous).dump();
    report->versions.push_back(in.version);
    json answer = toJson(*report, true);
    answer["safety"] = syncDeadlines(tx, ctx.user, id, in.version);
    reply = {200, answer.dump(), false};
    tx.appendAudit(auditOf(ctx.user, "update", "adverse_event", std::to_string(id), before, toJson(in.version).dump()));
    return Status::ok();
  });
}

void IntakeService::checkLabBody(const core::LabResult& l, const std::string& prefix, Errors& errors) const {
  if (!l.collected_at.empty() && inFuture(l.collected_at)) errors.push_back({prefix + "collected_at", "is in the future"});
  // An unknown or incompatible unit for a gradable test is refused, never guessed, and a
  // physically impossible value is refused: never stored, graded or alerted.
  if (safety_ && !l.test.empty() && rules::isHbvTest(safety_->evaluator().doseRules().hbv(), l.test)) {
    // HBV-DNA (rules/hbv.h): IU/mL or copies/mL, a possible value; the rules read it.
    if (auto bad = rules::checkHbvLab(safety_->evaluator().doseRules().hbv(), l.value, l.unit))
      errors.push_back({prefix + bad->field, std::move(bad->detail)});
  } else if (!l.test.empty() && !l.unit.empty()) {
    if (auto bad = checkLab(grader_, l.test, l.value, l.unit)) errors.push_back({prefix + bad->field, std::move(bad->detail)});
  }
}

Result<Reply> IntakeService::recordLabs(const WriteContext& ctx, const json& body, bool skip_recorded) {
  Errors errors;
  std::vector<core::LabResult> labs;
  const bool batch = body.is_object() && body.contains("results");
  if (batch) {
    const json& results = body["results"];
    for (auto it = body.begin(); it != body.end(); ++it)
      if (it.key() != "results") errors.push_back({it.key(), "is not a known field"});
    if (!results.is_array() || results.empty()) {
      errors.push_back({"results", "must be a non-empty JSON array"});
    } else if (results.size() > kMaxLabBatch) {
      errors.push_back({"results", "holds " + std::to_string(results.size()) + " results; at most " +
                                       std::to_string(kMaxLabBatch) + " per request"});
    } else {
      labs.reserve(results.size());
      for (size_t i = 0; i < results.size(); ++i)
        labs.push_back(decodeLab(results[i], "results[" + std::to_string(i) + "].", errors));
    }
  } else {
    labs.push_back(decodeLab(body, "", errors));
  }
  for (size_t i = 0; i < labs.size(); ++i)
    checkLabBody(labs[i], batch ? "results[" + std::to_string(i) + "]." : std::string(), errors);
  if (auto s = invalidIf(errors); !s.isOk()) return s;

  std::vector<std::string> evaluate;
  for (const auto& l : labs)
    if (std::find(evaluate.begin(), evaluate.end(), l.study_id) == evaluate.end()) evaluate.push_back(l.study_id);
  return commit(ctx, evaluate, "record labs", [&](store::Transaction& tx, Reply& reply) -> Status {
    // Check each distinct participant once; collect every unknown one.
    std::map<std::string, std::pair<Status, core::Participant>> checked;
    Errors unknown;
    for (size_t i = 0; i < labs.size(); ++i) {
      auto [it, fresh] = checked.try_emplace(labs[i].study_id);
      if (fresh) it->second.first = checkWritable(ctx.user, tx, labs[i].study_id, "study_id", &it->second.second);
      if (it->second.first.code() == core::StatusCode::kForbidden) return it->second.first;
      if (!it->second.first.isOk())
        unknown.push_back({(batch ? "results[" + std::to_string(i) + "]." : std::string()) + "study_id",
                           "no participant with this study ID"});
    }
    if (!unknown.empty()) return Status::invalid("unknown participant", unknown);
    json ids = json::array();
    EvidenceMap evidence;
    size_t already = 0, voided = 0;
    for (auto& l : labs) {
      // A re-sent file: the same participant, test, collection time and value is already there.
      if (skip_recorded) {
        const store::LabSeen seen = tx.labRecorded(l.study_id, l.test, l.collected_at, l.value);
        if (seen == store::LabSeen::kLive) ++already;
        if (seen == store::LabSeen::kVoided) ++voided;  // voided since: a re-sent file does not undo the void
        if (seen != store::LabSeen::kNew) continue;
      }
      l.recorded_at = tx.now();
      l.recorded_by = ctx.user.name;
      auto grades = labGrades(tx, grader_, checked.at(l.study_id).second, l);
      if (!grades.isOk()) return grades.status();  // units were checked before; kept as a guard
      l.grades_json = gradesToJson(grades.value());
      l.unit_canonical = grading::canonicalUnit(grader_, l.test, l.unit);
      l.id = tx.insertLab(l);
      collectEvidence(evidence, l.study_id, grades.value(), l.id);
      ids.push_back(l.id);
      tx.appendAudit(auditOf(ctx.user, "create", "lab_result", std::to_string(l.id), "", toJsonText(l)));
    }
    applyEvidence(tx, ctx.user, "lab", evidence);
    json answer = batch ? json{{"stored", ids.size()}, {"ids", std::move(ids)}} : json();
    if (skip_recorded) {
      answer["already_recorded"] = already;
      answer["already_voided"] = voided;
    }
    reply = {201, batch ? answer.dump() : toJsonText(labs.front()), false};
    return Status::ok();
  });
}

core::VitalSigns IntakeService::decodeVitalsBody(const json& body, Errors& errors) const {
  core::VitalSigns v = decodeVitals(body, errors);
  if (!v.measured_at.empty() && inFuture(v.measured_at)) errors.push_back({"measured_at", "is in the future"});
  return v;
}

Result<Reply> IntakeService::recordVitals(const WriteContext& ctx, const json& body) {
  Errors errors;
  core::VitalSigns v = decodeVitalsBody(body, errors);
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {v.study_id}, "record vital signs", [&](store::Transaction& tx, Reply& reply) -> Status {
    core::Participant p;
    if (auto s = checkWritable(ctx.user, tx, v.study_id, "study_id", &p); !s.isOk()) return s;
    v.recorded_at = tx.now();
    v.recorded_by = ctx.user.name;
    const auto grades = gradeVitals(grader_, v, p);
    v.grades_json = gradesToJson(grades);
    v.id = tx.insertVitals(v);
    reply = {201, toJson(v).dump(), false};
    tx.appendAudit(auditOf(ctx.user, "create", "vital_signs", std::to_string(v.id), "", reply.body));
    EvidenceMap evidence;
    collectEvidence(evidence, v.study_id, grades, v.id);
    applyEvidence(tx, ctx.user, "vitals", evidence);
    return Status::ok();
  });
}

Result<Reply> IntakeService::confirmCandidate(const WriteContext& ctx, int64_t id, json body) {
  auto found = store_.candidate(id);
  if (!found.isOk()) return found.status();
  if (!found.value()) return Status::notFound("no AE candidate " + std::to_string(id));
  const core::AeCandidate& found_candidate = *found.value();
  // Defaults from the candidate; the investigator may change the grade with the clinical picture.
  if (body.is_object()) {
    if (!body.contains("study_id")) body["study_id"] = found_candidate.study_id;
    if (!body.contains("ctcae_term")) body["ctcae_term"] = found_candidate.ctcae_term;
    if (!body.contains("meddra_code")) body["meddra_code"] = found_candidate.meddra_code;
    if (!body.contains("grade")) body["grade"] = found_candidate.grade;
  }
  Errors errors;
  AeInput in = decodeAe(body, false, errors);
  checkTerm(in, errors);
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {in.study_id}, "confirm candidate " + std::to_string(id), [&](store::Transaction& tx, Reply& reply) -> Status {
    auto c = tx.candidate(id);  // read again inside the unit: it may have been decided meanwhile
    if (!c) return Status::notFound("no AE candidate " + std::to_string(id));
    if (c->status != core::CandidateStatus::kPending) return Status::conflict("the candidate is already " + std::string(core::toString(c->status)));
    if (in.study_id != c->study_id)
      return Status::invalid("study_id cannot change", {{"study_id", "differs from the candidate's participant"}});
    int64_t ae_id = 0;
    if (auto s = insertAe(tx, ctx, in, reply, &ae_id); !s.isOk()) return s;
    core::AeCandidate updated = *c;
    updated.status = core::CandidateStatus::kConfirmed;
    updated.ae_id = ae_id;
    updated.decided_by = ctx.user.name;
    updated.decided_at = tx.now();
    updated.decision_reason = "confirmed as adverse event " + std::to_string(ae_id);
    updated.updated_at = tx.now();
    tx.updateCandidate(updated);
    tx.appendAudit(auditOf(ctx.user, "confirm", "ae_candidate", std::to_string(id), toJson(*c).dump(), toJson(updated).dump()));
    return Status::ok();
  });
}

Result<Reply> IntakeService::markDeadlineMet(const WriteContext& ctx, int64_t id, const json& body) {
  Errors errors;
  std::string reference;
  std::optional<std::string> met_at;
  if (!body.is_object()) {
    errors.push_back({"(body)", "must be a JSON object"});
  } else {
    for (auto it = body.begin(); it != body.end(); ++it)
      if (it.key() != "reference" && it.key() != "met_at") errors.push_back({it.key(), "is not a known field"});
    if (!body.contains("reference") || !body["reference"].is_string() || body["reference"].get<std::string>().empty() ||
        body["reference"].get<std::string>().size() > 200)
      errors.push_back({"reference", "is required: the report's reference (1-200 characters)"});
    else
      reference = body["reference"].get<std::string>();
    if (body.contains("met_at")) {
      auto ms = body["met_at"].is_string() ? core::parseTimestamp(body["met_at"].get<std::string>()) : std::nullopt;
      if (!ms) errors.push_back({"met_at", "must be an ISO 8601 date-time with a zone"});
      else if (inFuture(body["met_at"].get<std::string>())) errors.push_back({"met_at", "is in the future"});
      else met_at = core::formatTimestamp(*ms);
    }
  }
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {}, "", [&](store::Transaction& tx, Reply& reply) -> Status {
    auto d = tx.deadline(id);
    if (!d) return Status::notFound("no deadline " + std::to_string(id));
    if (!canRecordReport(ctx.user, d->site)) return Status::forbidden("you may not record reports for site " + d->site);
    if (!d->met_at.empty()) return Status::conflict("the deadline was already met on " + d->met_at);
    core::ReportingDeadline updated = *d;
    updated.met_at = met_at.value_or(tx.now());
    updated.met_reference = reference;
    updated.met_by = ctx.user.name;
    tx.updateDeadline(updated);
    reply = {200, toJson(updated, clock_.nowMs()).dump(), false};
    tx.appendAudit(auditOf(ctx.user, "met", "deadline", std::to_string(id), toJson(*d, clock_.nowMs()).dump(), reply.body));
    return Status::ok();
  });
}

namespace {

// Checks outcome and outcome_aware_at of a pregnancy body into g; problems go to errors.
void decodeOutcome(const json& body, core::PregnancyReport& g, Errors& errors, bool required) {
  if (body.contains("outcome") || required) {
    const bool ok = body.contains("outcome") && body["outcome"].is_string() &&
                    rules::parsePregnancyOutcome(body["outcome"].get<std::string>());
    if (!ok)
      errors.push_back({"outcome", "must be one of: ongoing, live_birth, congenital_anomaly, pregnancy_loss, "
                                   "serious_neonatal_reaction, elective_termination"});
    else g.outcome = body["outcome"].get<std::string>();
  }
  if (body.contains("outcome_aware_at") && !body["outcome_aware_at"].is_null()) {
    auto ms = body["outcome_aware_at"].is_string() ? core::parseTimestamp(body["outcome_aware_at"].get<std::string>())
                                                   : std::nullopt;
    if (!ms) errors.push_back({"outcome_aware_at", "must be an ISO 8601 date-time with a zone"});
    else g.outcome_aware_at = core::formatTimestamp(*ms);
  }
  if (g.outcome != "ongoing" && !g.outcome_aware_at)
    errors.push_back({"outcome_aware_at", "is required with an outcome: when the site learnt it"});
}

}  // namespace

core::PregnancyReport IntakeService::decodePregnancyBody(const json& body, Errors& errors) const {
  core::PregnancyReport g;
  if (!body.is_object()) {
    errors.push_back({"(body)", "must be a JSON object"});
  } else {
    for (auto it = body.begin(); it != body.end(); ++it)
      if (it.key() != "study_id" && it.key() != "subject" && it.key() != "site_aware_at" && it.key() != "outcome" &&
          it.key() != "outcome_aware_at")
        errors.push_back({it.key(), "is not a known field"});
    if (!body.contains("study_id") || !body["study_id"].is_string() || body["study_id"].get<std::string>().empty())
      errors.push_back({"study_id", "is required"});
    else g.study_id = body["study_id"].get<std::string>();
    if (!body.contains("subject") || !body["subject"].is_string() ||
        (body["subject"] != "participant" && body["subject"] != "partner"))
      errors.push_back({"subject", "must be participant or partner"});
    else g.subject = body["subject"].get<std::string>();
    auto aware = body.contains("site_aware_at") && body["site_aware_at"].is_string()
                     ? core::parseTimestamp(body["site_aware_at"].get<std::string>())
                     : std::nullopt;
    if (!aware) errors.push_back({"site_aware_at", "is required: an ISO 8601 date-time with a zone"});
    else if (inFuture(body["site_aware_at"].get<std::string>())) errors.push_back({"site_aware_at", "is in the future"});
    else g.site_aware_at = core::formatTimestamp(*aware);
    decodeOutcome(body, g, errors, false);
    if (g.outcome_aware_at && inFuture(*g.outcome_aware_at)) errors.push_back({"outcome_aware_at", "is in the future"});
  }
  return g;
}

Result<Reply> IntakeService::recordPregnancy(const WriteContext& ctx, const json& body) {
  Errors errors;
  core::PregnancyReport g = decodePregnancyBody(body, errors);
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {g.study_id}, "record pregnancy", [&](store::Transaction& tx, Reply& reply) -> Status {
    core::Participant p;
    if (auto s = checkWritable(ctx.user, tx, g.study_id, "study_id", &p); !s.isOk()) return s;
    g.site = p.site;
    g.recorded_at = tx.now();
    g.recorded_by = ctx.user.name;
    g.id = tx.insertPregnancy(g);
    reply = {201, toJson(g).dump(), false};
    tx.appendAudit(auditOf(ctx.user, "create", "pregnancy", std::to_string(g.id), "", reply.body));
    return Status::ok();
  });
}

Result<Reply> IntakeService::recordPregnancyOutcome(const WriteContext& ctx, int64_t id, const json& body) {
  Errors errors;
  core::PregnancyReport outcome;
  if (!body.is_object()) {
    errors.push_back({"(body)", "must be a JSON object"});
  } else {
    for (auto it = body.begin(); it != body.end(); ++it)
      if (it.key() != "outcome" && it.key() != "outcome_aware_at") errors.push_back({it.key(), "is not a known field"});
    decodeOutcome(body, outcome, errors, true);
    if (outcome.outcome_aware_at && inFuture(*outcome.outcome_aware_at))
      errors.push_back({"outcome_aware_at", "is in the future"});
  }
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  const std::string cause = "record pregnancy outcome " + std::to_string(id);
  return commit(ctx, {}, cause,
                [&](store::Transaction& tx, Reply& reply) -> Status {
                  auto g = tx.pregnancy(id);
                  if (!g) return Status::notFound("no pregnancy " + std::to_string(id));
                  if (!canWrite(ctx.user, g->site)) return Status::forbidden("you may not change data of site " + g->site);
                  if (g->revision.voided)
                    return Status::conflict("pregnancy " + std::to_string(id) + " was voided; it takes no outcome");
                  // An outcome once recorded is changed only by a correction, with its reason and a
                  // version of its own (issue 16). The same outcome sent again changes nothing.
                  if (g->outcome != "ongoing") {
                    auto instant = [](const std::optional<std::string>& t) {
                      return t ? core::parseTimestamp(*t) : std::nullopt;
                    };
                    if (g->outcome == outcome.outcome && instant(g->outcome_aware_at) == instant(outcome.outcome_aware_at)) {
                      reply = {200, toJson(*g).dump(), false};
                      return Status::ok();
                    }
                    return Status::conflict("pregnancy " + std::to_string(id) + " has its outcome (" + g->outcome +
                                            "); correct it with PUT /api/v1/pregnancies/" + std::to_string(id) +
                                            " and a reason_for_change");
                  }
                  core::PregnancyReport updated = *g;
                  updated.outcome = outcome.outcome;
                  updated.outcome_aware_at = outcome.outcome_aware_at;
                  tx.updatePregnancy(updated);
                  reply = {200, toJson(updated).dump(), false};
                  tx.appendAudit(auditOf(ctx.user, "outcome", "pregnancy", std::to_string(id), toJson(*g).dump(), reply.body));
                  if (safety_) safety_->record(tx, g->study_id, ctx.user.name, cause);
                  return Status::ok();
                });
}

// Needs the safety rules (the caller checks safety_).
core::ConcomitantMedication IntakeService::decodeMedicationBody(const json& body, Errors& errors) const {
  core::ConcomitantMedication m;
  if (!body.is_object()) {
    errors.push_back({"(body)", "must be a JSON object"});
  } else {
    static const std::set<std::string> kKeys = {"study_id", "name",  "category",   "drug_class", "dose",
                                                "unit",     "route", "frequency",  "start",      "end",
                                                "indication", "indication_ae_id"};
    for (auto it = body.begin(); it != body.end(); ++it)
      if (!kKeys.count(it.key())) errors.push_back({it.key(), "is not a known field"});
    auto text = [&](const char* key, bool required) -> std::string {
      if (!body.contains(key) || body[key].is_null()) {
        if (required) errors.push_back({key, "is required"});
        return "";
      }
      if (!body[key].is_string()) {
        errors.push_back({key, "must be a string"});
        return "";
      }
      return body[key].get<std::string>();
    };
    m.study_id = text("study_id", true);
    m.name = text("name", true);
    m.category = text("category", true);
    m.drug_class = text("drug_class", false);
    m.unit = text("unit", false);
    m.route = text("route", true);
    m.frequency = text("frequency", true);
    m.start = text("start", true);
    if (body.contains("end") && !body["end"].is_null()) m.end = text("end", false);
    m.indication = text("indication", false);
    if (body.contains("dose") && !body["dose"].is_null()) {
      if (!body["dose"].is_number()) errors.push_back({"dose", "must be a number"});
      else m.dose = body["dose"].get<double>();
    }
    if (body.contains("indication_ae_id") && !body["indication_ae_id"].is_null()) {
      if (!body["indication_ae_id"].is_number_integer() || body["indication_ae_id"].get<int64_t>() < 1)
        errors.push_back({"indication_ae_id", "must be the id of an adverse event of this participant"});
      else m.indication_ae_id = body["indication_ae_id"].get<int64_t>();
    }
    rules::checkMedication(safety_->evaluator().doseRules().medications(), m, errors);
    if (!m.start.empty() && core::parseDate(m.start) && inFuture(m.start)) errors.push_back({"start", "is in the future"});
  }
  return m;
}

Result<Reply> IntakeService::recordMedication(const WriteContext& ctx, const json& body) {
  if (!safety_) return Status::unavailable("the safety rules are not loaded");
  Errors errors;
  core::ConcomitantMedication m = decodeMedicationBody(body, errors);
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {m.study_id}, "record concomitant medication", [&](store::Transaction& tx, Reply& reply) -> Status {
    core::Participant p;
    if (auto s = checkWritable(ctx.user, tx, m.study_id, "study_id", &p); !s.isOk()) return s;
    if (auto s = checkIndication(tx, m); !s.isOk()) return s;
    m.site = p.site;
    m.recorded_at = tx.now();
    m.recorded_by = ctx.user.name;
    m.id = tx.insertMedication(m);
    // An anticoagulant decides INR's grading branch: results it covers are graded again.
    if (m.category == "anticoagulant")
      regrade(tx, ctx.user, p, true, "concomitant_medication " + std::to_string(m.id) + " recorded");
    // A systemic corticosteroid may make an AE of special interest (AESI-IRAE-STEROID): its stored
    // clocks follow, as they do for a new AE version.
    if (m.category == "corticosteroid")
      if (auto h = tx.history(m.study_id))
        for (const auto& ae : h->adverse_events) (void)syncDeadlines(tx, ctx.user, ae.id, ae.current());
    reply = {201, toJson(m).dump(), false};
    tx.appendAudit(auditOf(ctx.user, "create", "concomitant_medication", std::to_string(m.id), "", reply.body));
    return Status::ok();
  });
}

Result<Reply> IntakeService::dismissCandidate(const WriteContext& ctx, int64_t id, const json& body) {
  Errors errors;
  std::string reason;
  if (!body.is_object()) {
    errors.push_back({"(body)", "must be a JSON object"});
  } else {
    for (auto it = body.begin(); it != body.end(); ++it)
      if (it.key() != "reason") errors.push_back({it.key(), "is not a known field"});
    if (!body.contains("reason") || !body["reason"].is_string() || body["reason"].get<std::string>().empty())
      errors.push_back({"reason", "is required: why the candidate is not an adverse event"});
    else
      reason = body["reason"].get<std::string>();
  }
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {}, "", [&](store::Transaction& tx, Reply& reply) -> Status {
    auto c = tx.candidate(id);
    if (!c) return Status::notFound("no AE candidate " + std::to_string(id));
    if (auto s = checkWritable(ctx.user, tx, c->study_id, "study_id", nullptr); !s.isOk()) return s;
    if (c->status != core::CandidateStatus::kPending) return Status::conflict("the candidate is already " + std::string(core::toString(c->status)));
    core::AeCandidate updated = *c;
    updated.status = core::CandidateStatus::kDismissed;
    updated.decided_by = ctx.user.name;
    updated.decided_at = tx.now();
    updated.decision_reason = reason;
    updated.updated_at = tx.now();
    tx.updateCandidate(updated);
    reply = {200, toJson(updated).dump(), false};
    tx.appendAudit(auditOf(ctx.user, "dismiss", "ae_candidate", std::to_string(id), toJson(*c).dump(), reply.body));
    return Status::ok();
  });
}

namespace {

json alertToJson(const core::Alert& a) {
  json deliveries = json::array();
  int pending = 0, sent = 0, dead = 0;
  for (const auto& d : a.deliveries) {
    deliveries.push_back({{"id", d.id},
                          {"recipient", d.recipient},
                          {"role", d.role},
                          {"state", d.state},
                          {"attempts", d.attempts},
                          {"sent_at", d.sent_at.empty() ? json(nullptr) : json(d.sent_at)},
                          {"last_error", d.last_error.empty() ? json(nullptr) : json(d.last_error)},
                          {"message_id", d.message_id}});
    pending += d.state == "pending";
    sent += d.state == "sent";
    dead += d.state == "dead";
  }
  const char* delivery = dead ? "dead" : pending ? "pending" : "sent";
  json payload = json::parse(a.payload, nullptr, false);
  return {{"id", a.id},
          {"class", a.alert_class},
          {"study_id", a.study_id.empty() ? json(nullptr) : json(a.study_id)},
          {"site", a.site},
          {"ref", a.ref},
          {"created_at", a.created_at},
          {"delivery", delivery},
          {"deliveries", std::move(deliveries)},
          {"acknowledged", !a.acked_at.empty()},
          {"acked_at", a.acked_at.empty() ? json(nullptr) : json(a.acked_at)},
          {"acked_by", a.acked_by.empty() ? json(nullptr) : json(a.acked_by)},
          {"escalates", a.escalate_at_ms.has_value()},
          {"escalate_at", a.escalate_at_ms ? json(core::formatTimestamp(*a.escalate_at_ms)) : json(nullptr)},
          {"escalated_at", a.escalated_at.empty() ? json(nullptr) : json(a.escalated_at)},
          {"fields", payload.is_object() ? payload : json::object()}};
}

}  // namespace

Result<Reply> IntakeService::ackAlert(const WriteContext& ctx, int64_t id, const json& body) {
  Errors errors;
  if (!body.is_null() && !body.is_object()) errors.push_back({"(body)", "must be empty or a JSON object"});
  else if (body.is_object())
    for (auto it = body.begin(); it != body.end(); ++it) errors.push_back({it.key(), "is not a known field"});
  if (auto s = invalidIf(errors); !s.isOk()) return s;
  return commit(ctx, {}, "", [&](store::Transaction& tx, Reply& reply) -> Status {
    auto a = tx.alert(id);
    if (!a) return Status::notFound("no alert " + std::to_string(id));
    // The same people who may report for the site: its investigators and safety officers.
    if (!canRecordReport(ctx.user, a->site))
      return Status::forbidden("only a safety officer or an investigator of site " + a->site + " may acknowledge this alert");
    if (a->acked_at.empty()) {
      const std::string before = alertToJson(*a).dump();
      tx.ackAlert(id, ctx.user.name);
      a = tx.alert(id);
      tx.appendAudit(auditOf(ctx.user, "acknowledge", "alert", std::to_string(id), before, alertToJson(*a).dump()));
    }
    reply = {200, alertToJson(*a).dump(), false};
    return Status::ok();
  });
}

// ---- reads -------------------------------------------------------------------------------------

Status IntakeService::readableParticipant(const core::User& user, const std::string& study_id) {
  auto p = store_.participant(study_id);
  if (!p.isOk()) return p.status();
  if (!p.value()) return Status::notFound("no participant " + study_id);
  if (!canRead(user, p.value()->site)) return Status::forbidden("you may not read data of site " + p.value()->site);
  return Status::ok();
}

Result<std::string> IntakeService::participant(const core::User& user, const std::string& study_id) {
  auto p = store_.participant(study_id);
  if (!p.isOk()) return p.status();
  if (!p.value()) return Status::notFound("no participant " + study_id);
  if (!canRead(user, p.value()->site)) return Status::forbidden("you may not read data of site " + p.value()->site);
  return toJson(*p.value()).dump();
}

Result<std::string> IntakeService::participants(const core::User& user, const std::optional<std::string>& site) {
  std::optional<std::vector<std::string>> sites;
  if (site) {
    if (!canRead(user, *site)) return Status::forbidden("you may not read data of site " + *site);
    sites = std::vector<std::string>{*site};
  } else if (user.role == core::Role::kInvestigator) {
    sites = user.sites;
  }
  auto list = store_.participants(sites);
  if (!list.isOk()) return list.status();
  json items = json::array();
  for (const auto& p : list.value()) items.push_back(toJson(p));
  return json{{"items", std::move(items)}}.dump();
}

template <typename T>
static std::string page(const std::vector<T>& rows) {
  json items = json::array();
  for (const auto& r : rows) items.push_back(toJson(r));
  json out{{"items", std::move(items)}};
  out["next_after_id"] = rows.empty() ? json(nullptr) : json(rows.back().id);
  return out.dump();
}

Result<std::string> IntakeService::doses(const core::User& user, const std::string& study_id, store::Page pg) {
  if (auto s = readableParticipant(user, study_id); !s.isOk()) return s;
  auto rows = store_.doses(study_id, pg);
  if (!rows.isOk()) return rows.status();
  return page(rows.value());
}

Result<std::string> IntakeService::recommendations(const core::User& user, const std::string& study_id) {
  if (!safety_) return Status::unavailable("the safety rules are not loaded");
  auto h = store_.history(study_id);
  if (!h.isOk()) return h.status();
  if (!h.value()) return Status::notFound("no participant " + study_id);
  if (!canRead(user, h.value()->participant.site))
    return Status::forbidden("you may not read data of site " + h.value()->participant.site);
  const int64_t now = clock_.nowMs();
  const auto& evaluator = safety_->evaluator();
  json out = json::parse(rules::evaluationToJson(evaluator.evaluate(scenarioOf(*h.value(), now)), evaluator.doseRules(), true));
  out["study_id"] = study_id;
  out["as_of"] = rules::isoTime(now);
  return out.dump();
}

Result<std::string> IntakeService::pregnancies(const core::User& user, const std::string& study_id, store::Page pg) {
  if (auto s = readableParticipant(user, study_id); !s.isOk()) return s;
  auto rows = store_.pregnancies(study_id, pg);
  if (!rows.isOk()) return rows.status();
  return page(rows.value());
}

Result<std::string> IntakeService::medications(const core::User& user, const std::string& study_id, store::Page pg) {
  if (auto s = readableParticipant(user, study_id); !s.isOk()) return s;
  auto rows = store_.medications(study_id, pg);
  if (!rows.isOk()) return rows.status();
  return page(rows.value());
}

Result<std::string> IntakeService::safetyChanges(const core::User& user, const std::string& study_id, store::Page pg) {
  if (auto s = readableParticipant(user, study_id); !s.isOk()) return s;
  auto rows = store_.safetyChanges(study_id, pg);
  if (!rows.isOk()) return rows.status();
  return page(rows.value());
}

Result<std::string> IntakeService::labs(const core::User& user, const std::string& study_id, store::Page pg) {
  if (auto s = readableParticipant(user, study_id); !s.isOk()) return s;
  auto rows = store_.labs(study_id, pg);
  if (!rows.isOk()) return rows.status();
  return page(rows.value());
}

Result<std::string> IntakeService::vitals(const core::User& user, const std::string& study_id, store::Page pg) {
  if (auto s = readableParticipant(user, study_id); !s.isOk()) return s;
  auto rows = store_.vitals(study_id, pg);
  if (!rows.isOk()) return rows.status();
  return page(rows.value());
}

Result<std::string> IntakeService::candidates(const core::User& user, const std::string& study_id, store::Page pg) {
  if (auto s = readableParticipant(user, study_id); !s.isOk()) return s;
  auto rows = store_.candidates(study_id, pg);
  if (!rows.isOk()) return rows.status();
  return page(rows.value());
}

Result<std::string> IntakeService::alerts(const core::User& user, core::AlertFilter filter) {
  if (user.role == core::Role::kDsmb) return Status::forbidden("the DSMB receives review exports, not alerts");
  if (filter.study_id)
    if (auto s = readableParticipant(user, *filter.study_id); !s.isOk()) return s;
  if (user.role == core::Role::kInvestigator) {
    filter.restrict_sites = true;
    filter.sites = user.sites;
  }
  auto rows = store_.alerts(filter);
  if (!rows.isOk()) return rows.status();
  json items = json::array();
  for (const auto& a : rows.value()) items.push_back(alertToJson(a));
  json out{{"items", std::move(items)}};
  out["next_after_id"] = rows.value().empty() ? json(nullptr) : json(rows.value().back().id);
  return out.dump();
}

Result<std::string> IntakeService::auditTrail(const core::User& user, store::AuditFilter filter) {
  if (user.role == core::Role::kDsmb) return Status::forbidden("the DSMB receives review exports, not the audit trail");
  if (filter.study_id)
    if (auto s = readableParticipant(user, *filter.study_id); !s.isOk()) return s;
  if (user.role == core::Role::kInvestigator) {
    filter.restrict_sites = true;
    filter.sites = user.sites;
  }
  auto rows = store_.auditRows(filter);
  if (!rows.isOk()) return rows.status();
  json query = json::object();
  auto put = [&](const char* key, const std::optional<std::string>& v) {
    if (v) query[key] = *v;
  };
  put("entity", filter.entity);
  put("id", filter.entity_id);
  put("study_id", filter.study_id);
  put("actor", filter.actor);
  put("from", filter.from);
  put("to", filter.to);
  query["after_seq"] = filter.after_seq;
  query["limit"] = filter.limit;
  query["returned"] = rows.value().size();
  // The read is on the record before it is answered: no answer without its audit entry.
  const Status audited = store_.write([&](store::Transaction& tx) {
    tx.appendAudit({user.name, "read", "audit", "", "", query.dump()});
    return Status::ok();
  });
  if (!audited.isOk()) return audited;
  auto parsed = [](const std::string& text) {
    if (text.empty()) return json(nullptr);
    json j = json::parse(text, nullptr, false);
    return j.is_discarded() ? json(text) : j;
  };
  json items = json::array();
  for (const auto& r : rows.value()) {
    const auto& e = r.entry;
    json after = parsed(e.after);
    // The reason for change: reason_for_change of a corrected record (issue 16), reason of an AE version.
    json reason = nullptr;
    for (const char* key : {"reason_for_change", "reason"})
      if (reason.is_null() && after.is_object() && after.contains(key) && after[key].is_string() &&
          !after[key].get<std::string>().empty())
        reason = after[key];
    items.push_back({{"seq", e.seq},
                     {"at", e.at},
                     {"actor", e.actor},
                     {"action", e.action},
                     {"entity", e.entity},
                     {"id", e.entity_id},
                     {"study_id", r.study_id ? json(*r.study_id) : json(nullptr)},
                     {"before", parsed(e.before)},
                     {"after", std::move(after)},
                     {"reason", std::move(reason)},
                     {"hash", e.hash}});
  }
  json out{{"items", std::move(items)}};
  out["next_after_seq"] = rows.value().size() < static_cast<size_t>(filter.limit) || rows.value().empty()
                              ? json(nullptr)
                              : json(rows.value().back().entry.seq);
  return out.dump();
}

Result<std::string> IntakeService::deadlines(const core::User& user, core::DeadlineFilter filter) {
  if (filter.study_id)
    if (auto s = readableParticipant(user, *filter.study_id); !s.isOk()) return s;
  if (user.role == core::Role::kInvestigator) {
    filter.restrict_sites = true;
    filter.sites = user.sites;
  }
  auto rows = store_.deadlines(filter);
  if (!rows.isOk()) return rows.status();
  const int64_t now = clock_.nowMs();
  json items = json::array();
  for (const auto& d : rows.value()) items.push_back(toJson(d, now));
  json out{{"items", std::move(items)}};
  out["next_after_id"] = rows.value().empty() ? json(nullptr) : json(rows.value().back().id);
  return out.dump();
}

std::string IntakeService::searchTerms(const std::string& query, size_t limit) const {
  json items = json::array();
  for (const auto* t : catalogue_.suggest(query, limit)) {
    json grades = json::object();
    for (int g = 1; g <= 5; ++g)
      grades[std::to_string(g)] = t->hasGrade(g) ? json(t->grade_text[static_cast<size_t>(g - 1)]) : json(nullptr);
    items.push_back({{"term", t->term},
                     {"meddra_code", t->meddra_code},
                     {"soc", t->soc},
                     {"grades", std::move(grades)},
                     {"other_specify", t->other_specify},
                     {"definition", t->definition},
                     {"navigational_note", t->navigational_note}});
  }
  return json{{"items", std::move(items)}}.dump();
}

Result<core::AeReport> IntakeService::readableAe(const core::User& user, int64_t id) {
  auto r = store_.adverseEvent(id);
  if (!r.isOk()) return r.status();
  if (!r.value()) return Status::notFound("no adverse event " + std::to_string(id));
  if (!canRead(user, r.value()->site)) return Status::forbidden("you may not read data of site " + r.value()->site);
  return std::move(*r.value());
}

Result<std::string> IntakeService::adverseEvent(const core::User& user, int64_t id) {
  auto r = readableAe(user, id);
  if (!r.isOk()) return r.status();
  return toJson(r.value(), true).dump();
}

Result<std::string> IntakeService::adverseEvents(const core::User& user, core::AeFilter filter) {
  if (filter.site && !canRead(user, *filter.site)) return Status::forbidden("you may not read data of site " + *filter.site);
  if (filter.study_id)
    if (auto s = readableParticipant(user, *filter.study_id); !s.isOk()) return s;
  if (user.role == core::Role::kInvestigator) {
    filter.restrict_sites = true;
    filter.sites = user.sites;
  }
  auto rows = store_.adverseEvents(filter);
  if (!rows.isOk()) return rows.status();
  json items = json::array();
  for (const auto& r : rows.value()) items.push_back(toJson(r, false));
  json out{{"items", std::move(items)}};
  out["next_after_id"] = rows.value().empty() ? json(nullptr) : json(rows.value().back().id);
  return out.dump();
}

// ---- administration ----------------------------------------------------------------------------

Status IntakeService::addSite(const std::string& actor, const std::string& id, const std::string& name) {
  Errors errors;
  (void)decodeSiteId(id, errors);
  if (!errors.empty()) return Status::invalid("site id must be 1-16 letters, digits or '-'");
  if (name.empty()) return Status::invalid("site name is required");
  return store_.write([&](store::Transaction& tx) -> Status {
    if (tx.siteExists(id)) return Status::conflict("site " + id + " already exists");
    tx.insertSite(id, name);
    tx.appendAudit({actor, "create", "site", id, "", json{{"id", id}, {"name", name}}.dump()});
    return Status::ok();
  });
}

Result<std::string> IntakeService::addUser(const std::string& actor, const core::User& user) {
  if (user.name.empty() || user.name.size() > 64) return Status::invalid("user name must be 1-64 characters");
  if (user.role == core::Role::kInvestigator && user.sites.empty())
    return Status::invalid("an investigator must be bound to at least one site (--site)");
  if (user.role != core::Role::kInvestigator && !user.sites.empty())
    return Status::invalid("only investigators are bound to sites");
  const std::string token = core::newApiToken();
  Status s = store_.write([&](store::Transaction& tx) -> Status {
    if (tx.userExists(user.name)) return Status::conflict("user " + user.name + " already exists");
    for (const auto& site : user.sites)
      if (!tx.siteExists(site)) return Status::invalid("unknown site " + site + " (add it with: vigilctl site add)");
    const int64_t id = tx.insertUser(user, core::sha256Hex(token));
    // The token never enters the audit trail; its hash is not needed there either.
    tx.appendAudit({actor, "create", "user", std::to_string(id), "",
                    json{{"name", user.name}, {"role", core::toString(user.role)}, {"sites", user.sites}}.dump()});
    return Status::ok();
  });
  if (!s.isOk()) return s;
  return token;
}

Status IntakeService::setUserDisabled(const std::string& actor, const std::string& name, bool disabled) {
  return store_.write([&](store::Transaction& tx) -> Status {
    auto user = tx.userByName(name);
    if (!user) return Status::notFound("no user " + name);
    if (user->disabled == disabled) return Status::ok();  // nothing changes, nothing to audit
    tx.setUserDisabled(user->id, disabled);
    tx.appendAudit({actor, disabled ? "disable" : "enable", "user", std::to_string(user->id),
                    json{{"disabled", !disabled}}.dump(), json{{"disabled", disabled}}.dump()});
    return Status::ok();
  });
}

Result<std::string> IntakeService::rotateToken(const std::string& actor, const std::string& name) {
  const std::string token = core::newApiToken();
  Status s = store_.write([&](store::Transaction& tx) -> Status {
    auto user = tx.userByName(name);
    if (!user) return Status::notFound("no user " + name);
    tx.setUserTokenHash(user->id, core::sha256Hex(token));
    // Neither token nor hash enters the audit trail: only that it was replaced.
    tx.appendAudit({actor, "rotate-token", "user", std::to_string(user->id), "", json{{"token", "replaced"}}.dump()});
    return Status::ok();
  });
  if (!s.isOk()) return s;
  return token;
}

}  // namespace vigil::intake

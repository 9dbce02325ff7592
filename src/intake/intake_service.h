#pragma once
// The intake use cases behind the HTTP API and vigilctl: validate, authorise, store with its
// audit entries in one unit of work, and answer. Thread-safe (state lives in the Store).
//
// Every write: decode and validate the whole body first (all bad fields reported together,
// nothing stored); check the caller may write the participant's site; then, in one unit of
// work, replay a stored answer for a repeated Idempotency-Key or store the rows, their audit
// entries and the answer for the key.

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "core/model.h"
#include "core/status.h"
#include "core/time.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "grading/measurement_grading.h"
#include "rules/reporting.h"
#include "intake/safety_monitor.h"
#include "store/store.h"

namespace vigil::intake {

inline constexpr size_t kMaxLabBatch = 10000;

// The records that are corrected and voided by id (issue 16); participants and AEs have their own calls.
enum class RecordType { kDose, kLab, kVitals, kPregnancy, kMedication };

template <typename R>
struct RecordEdit;  // corrections.cpp

struct WriteContext {
  const core::User& user;
  std::optional<std::string> idempotency_key;  // from the Idempotency-Key header
  std::string request_hash;                    // SHA-256 of method, path and body
};

struct Reply {
  int status = 200;
  std::string body;       // JSON text
  bool replayed = false;  // true when answered from a stored Idempotency-Key
};

class IntakeService {
 public:
  // The catalogue and grader are immutable and must outlive the service.
  // With a safety monitor, every write of participants, doses, AEs, labs and vital signs records
  // the participant's re-evaluation in the same unit of work; without one, nothing is evaluated
  // and recommendations() answers 503.
  IntakeService(store::Store& store, const core::Clock& clock, const grading::Catalogue& catalogue,
                const grading::LabGrader& grader, const rules::ReportingRules& reporting,
                const SafetyMonitor* safety = nullptr)
      : store_(store), clock_(clock), catalogue_(catalogue), grader_(grader), reporting_(reporting), safety_(safety) {}

  core::Result<Reply> createParticipant(const WriteContext& ctx, const nlohmann::json& body);
  core::Result<Reply> recordDose(const WriteContext& ctx, const nlohmann::json& body);
  core::Result<Reply> createAdverseEvent(const WriteContext& ctx, const nlohmann::json& body);
  // Adds a new version; the body carries the whole report plus a required "reason".
  core::Result<Reply> updateAdverseEvent(const WriteContext& ctx, int64_t id, const nlohmann::json& body);
  // One result object, or {"results":[...]} with 1..kMaxLabBatch results, stored together. Each
  // result is graded by CTCAE v5.0 against the participant's baseline and stored with its
  // grades; a grade at least one worse than baseline creates or raises a pending AE candidate.
  // With skip_recorded (a lab file, issue 16) a result whose participant, test, collection time and
  // value are already stored is not stored again; the answer counts it in "already_recorded".
  core::Result<Reply> recordLabs(const WriteContext& ctx, const nlohmann::json& body, bool skip_recorded = false);
  // Graded as labs are: Hypertension, Fever and QTc prolonged, with candidates likewise.
  core::Result<Reply> recordVitals(const WriteContext& ctx, const nlohmann::json& body);
  // Turns a pending candidate into an AE: the body is an AE report whose study_id, ctcae_term,
  // meddra_code and grade default to the candidate's.
  core::Result<Reply> confirmCandidate(const WriteContext& ctx, int64_t id, nlohmann::json body);
  // Records that the report a deadline asks for was sent: {"reference": ..., "met_at": optional}.
  core::Result<Reply> markDeadlineMet(const WriteContext& ctx, int64_t id, const nlohmann::json& body);
  // A pregnancy of the participant or a partner (clinical-rules.md section 6.4):
  // {"study_id", "subject": participant|partner, "site_aware_at", "outcome"?, "outcome_aware_at"?}.
  core::Result<Reply> recordPregnancy(const WriteContext& ctx, const nlohmann::json& body);
  // Records the outcome: {"outcome", "outcome_aware_at"}; an abnormal outcome is reported as serious.
  core::Result<Reply> recordPregnancyOutcome(const WriteContext& ctx, int64_t id, const nlohmann::json& body);
  // A concomitant medication (issue 14; docs/api.md): {"study_id", "name", "category", "route",
  // "frequency", "start", "end"?, "dose"?, "unit"?, "drug_class"?, "indication"?,
  // "indication_ae_id"?}, checked against the medication rule data (a systemic corticosteroid
  // needs a name in the conversion table, a dose and a mass unit). Re-evaluates the participant.
  core::Result<Reply> recordMedication(const WriteContext& ctx, const nlohmann::json& body);
  // Acknowledges an alert (issue 5): a safety officer, or an investigator of the alert's site (the
  // addressed investigators). The body is empty or {}. Acknowledging again answers the first
  // acknowledgement. An acknowledged alert no longer escalates.
  core::Result<Reply> ackAlert(const WriteContext& ctx, int64_t id, const nlohmann::json& body);
  // Closes a pending candidate without an AE; the body needs {"reason": ...}.
  core::Result<Reply> dismissCandidate(const WriteContext& ctx, int64_t id, const nlohmann::json& body);

  // ---- corrections and voids (issue 16; docs/api.md "Corrections and voids") ----
  // PUT .../{id}: the record's fields as for creating it, a required reason_for_change and an
  // optional base_version (409 when it is not the current version). The record's participant
  // cannot change (void it and record it for the other participant). The new version is graded
  // again (labs, vital signs); a pending AE candidate that cited the record is revised or
  // withdrawn with the reason. Rights as for creating; audited with before and after.
  core::Result<Reply> correctRecord(const WriteContext& ctx, RecordType type, int64_t id, const nlohmann::json& body);
  // DELETE .../{id} with {"reason_for_change"}: the record's last version, a void. It leaves
  // evaluation, grading, candidates and exports; its versions stay readable.
  core::Result<Reply> voidRecord(const WriteContext& ctx, RecordType type, int64_t id, const nlohmann::json& body);
  // DELETE /adverse-events/{id} with {"reason_for_change", "base_version"?}: a last version that
  // voids the report (entered twice, or for the wrong participant). Its open reporting clocks are
  // marked no longer required; an SAE or urgent alert it raised is superseded.
  core::Result<Reply> voidAdverseEvent(const WriteContext& ctx, int64_t id, const nlohmann::json& body);
  // DELETE /participants/{study_id} with {"reason_for_change", "base_version"?}: a participant
  // registered in error, once every record of theirs is voided (409 naming what remains). The
  // study ID is not registered again; nothing is recorded for it any more.
  core::Result<Reply> voidParticipant(const WriteContext& ctx, const std::string& study_id, const nlohmann::json& body);
  // PUT /participants/{study_id}: baseline facts and baseline labs, as for registering, with
  // reason_for_change and base_version; study_id and site stay.
  core::Result<Reply> correctParticipant(const WriteContext& ctx, const std::string& study_id, const nlohmann::json& body);
  // The record's current version (a voided one included) and every version, oldest first.
  core::Result<std::string> record(const core::User& user, RecordType type, int64_t id);
  core::Result<std::string> recordVersions(const core::User& user, RecordType type, int64_t id);
  core::Result<std::string> participantVersions(const core::User& user, const std::string& study_id);
  core::Result<std::string> adverseEventVersions(const core::User& user, int64_t id);

  // Reads answer JSON text; not found and forbidden come back as Status.
  core::Result<std::string> participant(const core::User& user, const std::string& study_id);
  core::Result<std::string> participants(const core::User& user, const std::optional<std::string>& site);
  core::Result<std::string> doses(const core::User& user, const std::string& study_id, store::Page page);
  core::Result<std::string> adverseEvent(const core::User& user, int64_t id);
  // Alerts with delivery and acknowledgement state: investigators see their sites', safety
  // officers and admins all; the DSMB none.
  core::Result<std::string> alerts(const core::User& user, core::AlertFilter filter);
  core::Result<std::string> adverseEvents(const core::User& user, core::AeFilter filter);
  core::Result<std::string> labs(const core::User& user, const std::string& study_id, store::Page page);
  core::Result<std::string> vitals(const core::User& user, const std::string& study_id, store::Page page);
  core::Result<std::string> candidates(const core::User& user, const std::string& study_id, store::Page page);
  core::Result<std::string> pregnancies(const core::User& user, const std::string& study_id, store::Page page);
  core::Result<std::string> medications(const core::User& user, const std::string& study_id, store::Page page);
  // The audit trail (issue 16, docs/api.md "Audit trail"): safety officers and admins every entry,
  // investigators the entries about participants of their sites, the DSMB none. Each read is
  // itself audited (action "read", entity "audit", the query as its after).
  core::Result<std::string> auditTrail(const core::User& user, store::AuditFilter filter);
  // Reporting deadlines with their state at the current time (due, overdue, met).
  core::Result<std::string> deadlines(const core::User& user, core::DeadlineFilter filter);
  // The participant's whole stored history evaluated now by the safety rules: per drug the current
  // recommendation with the events and rule ids behind it, clocks that have run out since the
  // last write included; every event with its categories and seriousness; the reporting clocks;
  // protocol-deviation findings and on-study flags (docs/api.md, docs/evaluate.md).
  core::Result<std::string> recommendations(const core::User& user, const std::string& study_id);
  // The recorded safety changes of a participant (recommendation, finding, flag), oldest first.
  core::Result<std::string> safetyChanges(const core::User& user, const std::string& study_id, store::Page page);
  // CTCAE v5.0 terms for a data-entry search box, with the text of each grade.
  std::string searchTerms(const std::string& query, size_t limit) const;

  // Administration (vigilctl). actor names the operator in the audit trail.
  core::Status addSite(const std::string& actor, const std::string& id, const std::string& name);
  // Creates the user and returns the new API token; only its hash is stored.
  core::Result<std::string> addUser(const std::string& actor, const core::User& user);
  // Disables or enables the user; the change holds from the next request (tokens are looked up
  // on every request). Not found when there is no such user.
  core::Status setUserDisabled(const std::string& actor, const std::string& name, bool disabled);
  // Replaces the user's API token and returns the new one; the old one stops working at once.
  core::Result<std::string> rotateToken(const std::string& actor, const std::string& name);

 private:
  using Work = std::function<core::Status(store::Transaction&, Reply&)>;
  // Runs work in one unit of work; once it succeeded (and was not a replay), re-evaluates each
  // participant in evaluate inside the same unit, cause naming the write.
  core::Result<Reply> commit(const WriteContext& ctx, const std::vector<std::string>& evaluate,
                             const std::string& cause, const Work& work);
  core::Status checkWritable(const core::User& user, store::Transaction& tx, const std::string& study_id,
                             const std::string& field, core::Participant* out);
  core::Status readableParticipant(const core::User& user, const std::string& study_id);
  // The AE with every version, when the user may read its site.
  core::Result<core::AeReport> readableAe(const core::User& user, int64_t id);
  bool inFuture(const std::string& date_or_timestamp) const;
  // A record's body decoded and checked as for creating it; corrections (issue 16) check theirs
  // the same way. Problems go to errors.
  core::Participant decodeParticipantBody(const nlohmann::json& body, std::vector<core::FieldError>& errors) const;
  core::DoseRecord decodeDoseBody(const nlohmann::json& body, std::vector<core::FieldError>& errors) const;
  void checkLabBody(const core::LabResult& lab, const std::string& prefix, std::vector<core::FieldError>& errors) const;
  core::VitalSigns decodeVitalsBody(const nlohmann::json& body, std::vector<core::FieldError>& errors) const;
  core::PregnancyReport decodePregnancyBody(const nlohmann::json& body, std::vector<core::FieldError>& errors) const;
  core::ConcomitantMedication decodeMedicationBody(const nlohmann::json& body,
                                                   std::vector<core::FieldError>& errors) const;
  // Checks the AE's term and grade against CTCAE v5.0 and puts the canonical term and MedDRA
  // code into the version; problems go to errors.
  void checkTerm(struct AeInput& in, std::vector<core::FieldError>& errors) const;
  // Stores a new AE (version 1) for a writable participant; answers with the AE.
  core::Status insertAe(store::Transaction& tx, const WriteContext& ctx, struct AeInput& in, Reply& reply,
                        int64_t* id_out);

  // Assesses the AE's current version (seriousness, AESI, suspected SUSAR) and brings its stored
  // deadlines in line: new clocks open, earlier due dates win, clocks no longer required are
  // marked, never dropped. Returns the "safety" object of the AE answer.
  void addSteroids(store::Transaction& tx, int64_t ae_id, const core::AeVersion& v, rules::ReportableEvent& event) const;
  nlohmann::json syncDeadlines(store::Transaction& tx, const core::User& user, int64_t ae_id,
                               const core::AeVersion& version);

  // A correction or void of one record (corrections.cpp): fields is the new version, or nullopt
  // for a void.
  template <typename R>
  RecordEdit<R> editFor(int64_t id);
  template <typename Fn>
  core::Result<std::string> readRecord(const core::User& user, RecordType type, int64_t id, Fn answer);
  template <typename R>
  core::Result<Reply> editRecord(const WriteContext& ctx, const RecordEdit<R>& edit, int64_t id,
                                 const std::optional<R>& fields, const std::string& reason,
                                 std::optional<int> base_version);
  // Revises the pending candidates that cite a corrected or voided lab result or vital-sign
  // record, then lets the new version's grades (none for a void) raise or open candidates.
  void reviseCandidates(store::Transaction& tx, const core::User& user, const std::string& source,
                        const core::Participant& p, int64_t record_id,
                        const std::vector<grading::MeasurementGrade>& grades, const std::string& why) const;

  // After a lab result (source "lab") or vital-sign record ("vitals") was corrected or voided: its
  // candidates are revised and the answer lists the participant's pending candidates.
  void measurementChanged(store::Transaction& tx, const core::User& user, const core::Participant& p,
                          const char* source, const char* entity, int64_t id, const core::Revision& revision,
                          nlohmann::json& answer) const;
  // Grades the participant's live lab results (only INR when only_inr) and, unless only_inr, vital
  // signs again, as they stand now (baseline, anticoagulation). A record whose grades change gets
  // a new version with them, by user, reason "graded again: <why>"; its candidates follow.
  void regrade(store::Transaction& tx, const core::User& user, const core::Participant& p, bool only_inr,
               const std::string& why) const;

  store::Store& store_;
  const core::Clock& clock_;
  const grading::Catalogue& catalogue_;
  const grading::LabGrader& grader_;
  const rules::ReportingRules& reporting_;
  const SafetyMonitor* safety_;
};

}  // namespace vigil::intake

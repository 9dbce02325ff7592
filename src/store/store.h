#pragma once
// The persistence interface. vigild uses SqliteStore; a PostgreSQL backend will implement the
// same two classes. Writes run inside Store::write as a unit of work that either commits whole
// or leaves nothing behind; the audit entry of a change is appended inside the same unit.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/model.h"
#include "core/status.h"

namespace vigil::store {

// The stored first answer to a POST carrying an Idempotency-Key.
struct IdempotentReply {
  std::string request_hash;  // SHA-256 of method, path and body of the first request
  int status = 0;
  std::string body;
};

// What a change wants recorded; the store stamps seq, time and hashes.
struct AuditRecord {
  std::string actor;
  std::string action;
  std::string entity;
  std::string entity_id;
  std::string before;
  std::string after;
};

// Everything the safety rules read about one participant: AEs with their current version only.
struct History {
  core::Participant participant;
  std::vector<core::DoseRecord> doses;
  std::vector<core::AeReport> adverse_events;
  std::vector<core::LabResult> labs;
  std::vector<core::VitalSigns> vitals;
  std::vector<core::PregnancyReport> pregnancies;
  std::vector<core::ConcomitantMedication> medications;  // by id
};

// An audit entry with the participant it concerns (none for sites, users, alerts and the like).
struct AuditRow {
  audit::AuditEntry entry;
  std::optional<std::string> study_id;
};

// What had been recorded at a data cut (issue 6), read in one consistent snapshot: only rows
// recorded at or before the cut, each AE as the version that stood at the cut, a candidate
// decided after the cut as still pending and with its grade at the cut, a clock met (or recorded
// as met) after the cut as still open and with its due date at the cut (from the audit trail).
struct DataCut {
  std::string cut;                                 // UTC timestamp, formatTimestamp's spelling
  std::vector<core::Participant> participants;     // with baseline labs, by study ID
  std::vector<core::DoseRecord> doses;             // by study ID, date, id
  std::vector<core::AeReport> adverse_events;      // one version each, by id
  std::vector<core::LabResult> labs;               // by study ID, collection time, id
  std::vector<core::AeCandidate> candidates;       // by id
  std::vector<core::ReportingDeadline> deadlines;  // by id
  std::vector<core::SafetyChange> safety_changes;  // by id
  std::vector<core::PregnancyReport> pregnancies;  // by id, outcome as known at the cut
  audit::Head audit_head;                          // the audit chain's newest row written at or before the cut
  // Issue 16: the cut of the newest DSMB package exported at or before this cut (none before the
  // first), and every correction and void made after it up to this cut (from the first record
  // on without one): updates and voids of clinical records, withdrawn candidates; by seq.
  std::optional<std::string> previous_cut;
  std::vector<AuditRow> changes;
};

// The whole audit trail and every current clinical row, read in one snapshot, so that each row
// can be compared with its latest audit entry (issue 13.4) without a concurrent write showing
// up on one side only.
struct AuditSnapshot {
  std::vector<audit::AuditEntry> entries;            // by seq
  std::vector<core::Participant> participants;       // with baseline labs, by study ID
  std::vector<core::DoseRecord> doses;               // by study ID, then id
  std::vector<core::AeReport> adverse_events;        // current version only, by id
  std::vector<core::LabResult> labs;                 // by study ID, then id
  std::vector<core::VitalSigns> vitals;              // by study ID, then id
  std::vector<core::PregnancyReport> pregnancies;    // by study ID, then id
  std::vector<core::ConcomitantMedication> medications;  // by study ID, then id
};

// What GET /api/v1/audit asks for (issue 16): every field optional; times inclusive, in
// formatTimestamp's spelling; restrict_sites limits to entries about participants of `sites`.
struct AuditFilter {
  std::optional<std::string> entity;
  std::optional<std::string> entity_id;
  std::optional<std::string> study_id;
  std::optional<std::string> actor;
  std::optional<std::string> from;
  std::optional<std::string> to;
  bool restrict_sites = false;
  std::vector<std::string> sites;
  int64_t after_seq = 0;
  int limit = 100;
};


// One version of a participant (issue 16): the facts and baseline labs as that version stated them.
struct ParticipantVersion {
  core::Participant participant;  // revision.version and .reason are this version's
  std::string recorded_at;
  std::string recorded_by;
};

struct Page {
  int64_t after_id = 0;
  int limit = 1000;
};

enum class LabSeen { kNew, kLive, kVoided };

// A unit of work. Reads see the unit's own writes. Methods throw on database failure; the Store
// catches, rolls the unit back and reports Status::unavailable or internal.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual std::optional<core::Participant> participant(const std::string& study_id) = 0;
  virtual bool siteExists(const std::string& site) = 0;
  virtual bool userExists(const std::string& name) = 0;
  virtual std::optional<core::AeReport> adverseEvent(int64_t id) = 0;
  virtual std::optional<IdempotentReply> idempotentReply(int64_t user_id, const std::string& key) = 0;

  virtual void insertSite(const std::string& id, const std::string& name) = 0;
  virtual int64_t insertUser(const core::User& user, const std::string& token_hash) = 0;
  // The user of that name (disabled or not), without sites.
  virtual std::optional<core::User> userByName(const std::string& name) = 0;
  virtual void setUserDisabled(int64_t user_id, bool disabled) = 0;
  virtual void setUserTokenHash(int64_t user_id, const std::string& token_hash) = 0;
  // Stores version 1 of the participant (with its baseline labs).
  virtual void insertParticipant(const core::Participant& participant) = 0;
  // Stores participant.revision.version (which must be current + 1) with its baseline labs and
  // makes it current; study_id, site and creation stay.
  virtual void updateParticipant(const core::Participant& participant, const std::string& recorded_by) = 0;
  // Correctable records (issue 16). insertX with x.revision.version 1 creates a record and
  // returns its id; with a later version it stores the next version of record x.id (it must be
  // the live version + 1; a voided record takes no version) and returns x.id. x.revision.voided
  // stores a void. The getters return a record's current version, a voided one included.
  virtual int64_t insertDose(const core::DoseRecord& dose) = 0;
  virtual std::optional<core::DoseRecord> dose(int64_t id) = 0;
  virtual std::optional<core::LabResult> lab(int64_t id) = 0;
  virtual std::optional<core::VitalSigns> vitalSigns(int64_t id) = 0;
  virtual std::optional<core::ConcomitantMedication> medication(int64_t id) = 0;
  // Creates the AE with its first version; returns the AE id.
  virtual int64_t insertAdverseEvent(const std::string& study_id, const core::AeVersion& first) = 0;
  // Appends version.version (which must be current + 1) and makes it current.
  virtual void insertAeVersion(int64_t ae_id, const core::AeVersion& version) = 0;
  virtual int64_t insertLab(const core::LabResult& lab) = 0;
  // Whether a result of the participant with this test, collection time and value was stored:
  // kLive when its record stands, kVoided when the record was voided since (issue 16).
  virtual LabSeen labRecorded(const std::string& study_id, const std::string& test, const std::string& collected_at,
                              double value) = 0;
  virtual int64_t insertVitals(const core::VitalSigns& vitals) = 0;
  // The pending candidate for a participant and term, if any.
  virtual std::optional<core::AeCandidate> pendingCandidate(const std::string& study_id, const std::string& term) = 0;
  virtual std::optional<core::AeCandidate> candidate(int64_t id) = 0;
  // The participant's pending candidates, by id.
  virtual std::vector<core::AeCandidate> pendingCandidates(const std::string& study_id) = 0;
  virtual int64_t insertCandidate(const core::AeCandidate& candidate) = 0;
  // Rewrites grade, sources, status and decision of an existing candidate.
  virtual void updateCandidate(const core::AeCandidate& candidate) = 0;
  virtual std::vector<core::ReportingDeadline> deadlinesOf(int64_t ae_id) = 0;
  virtual std::optional<core::ReportingDeadline> deadline(int64_t id) = 0;
  virtual int64_t insertDeadline(const core::ReportingDeadline& deadline) = 0;
  // Rewrites due_at, anchor, no_longer_required_since_version and the met fields.
  virtual void updateDeadline(const core::ReportingDeadline& deadline) = 0;
  virtual void saveIdempotentReply(int64_t user_id, const std::string& key, const IdempotentReply& reply) = 0;
  virtual void appendAudit(const AuditRecord& record) = 0;
  // The participant's whole history as this unit sees it (its own writes included).
  virtual std::optional<History> history(const std::string& study_id) = 0;
  // The summary of the participant's last recorded evaluation (JSON text), if any.
  virtual std::optional<std::string> safetyState(const std::string& study_id) = 0;
  virtual void saveSafetyState(const std::string& study_id, const std::string& state) = 0;
  virtual int64_t insertSafetyChange(const core::SafetyChange& change) = 0;
  virtual int64_t insertPregnancy(const core::PregnancyReport& pregnancy) = 0;
  virtual std::optional<core::PregnancyReport> pregnancy(int64_t id) = 0;
  // Rewrites outcome and outcome_aware_at.
  virtual void updatePregnancy(const core::PregnancyReport& pregnancy) = 0;
  virtual int64_t insertMedication(const core::ConcomitantMedication& medication) = 0;
  // The participant's concomitant medications, by id.
  virtual std::vector<core::ConcomitantMedication> medicationsOf(const std::string& study_id) = 0;
  // ---- alerts and their outbox (issue 5) ----
  virtual bool alertExists(const std::string& dedupe_key) = 0;
  // Inserts the alert and one pending delivery per entry of alert.deliveries, filling in the ids
  // and created_at. The dedupe key must be new (alertExists), or the insert throws.
  virtual int64_t insertAlert(core::Alert& alert) = 0;
  virtual std::optional<core::Alert> alert(int64_t id) = 0;
  // A participant's alerts of the given classes, oldest first, without their deliveries.
  virtual std::vector<core::Alert> alertsOf(const std::string& study_id, const std::vector<std::string>& classes) = 0;
  // Sets acked_at (this unit's time) and acked_by.
  virtual void ackAlert(int64_t id, const std::string& by) = 0;
  // Sets escalated_at to this unit's time: the alert escalates only once.
  virtual void markEscalated(int64_t id) = 0;
  // Sets (or, with nullopt, clears) escalate_at_ms of an alert that has not escalated yet: an alert
  // withdrawn by a correction or void stops escalating, and starts again if a later correction
  // makes it stand (issue 16).
  virtual void setEscalation(int64_t id, std::optional<int64_t> escalate_at_ms) = 0;
  // Rewrites state, attempts, next_attempt_ms, last_error and sent_at.
  virtual void updateDelivery(const core::AlertDelivery& delivery) = 0;
  // The time the store stamps on this unit's rows (UTC timestamp).
  virtual const std::string& now() const = 0;
};

enum class DeliveryState { kPending, kLate, kDead };

class Store {
 public:
  virtual ~Store() = default;

  // Runs work as one atomic unit and returns once it is durable (or failed). work returning a
  // non-ok Status rolls the unit back and that Status is returned. Thread-safe; concurrent
  // callers may share one commit (group commit).
  virtual core::Status write(const std::function<core::Status(Transaction&)>& work) = 0;

  virtual core::Result<core::User> userByTokenHash(const std::string& token_hash) = 0;
  // Every user, disabled ones included, by name, with their sites.
  virtual core::Result<std::vector<core::User>> users() = 0;
  virtual core::Result<std::optional<core::Participant>> participant(const std::string& study_id) = 0;
  // Every site id, sorted.
  virtual core::Result<std::vector<std::string>> siteIds() = 0;
  // Participants of the given sites, or of all sites when sites is nullopt; voided ones left out.
  virtual core::Result<std::vector<core::Participant>> participants(const std::optional<std::vector<std::string>>& sites) = 0;
  virtual core::Result<std::vector<core::DoseRecord>> doses(const std::string& study_id, Page page) = 0;
  virtual core::Result<std::optional<core::AeReport>> adverseEvent(int64_t id) = 0;
  // Matching AEs, each with only its current version, ordered by id.
  virtual core::Result<std::vector<core::AeReport>> adverseEvents(const core::AeFilter& filter) = 0;
  virtual core::Result<std::vector<core::LabResult>> labs(const std::string& study_id, Page page) = 0;
  virtual core::Result<std::vector<core::VitalSigns>> vitals(const std::string& study_id, Page page) = 0;
  virtual core::Result<std::optional<History>> history(const std::string& study_id) = 0;
  // The recorded safety changes of a participant, oldest first.
  virtual core::Result<std::vector<core::SafetyChange>> safetyChanges(const std::string& study_id, Page page) = 0;
  virtual core::Result<std::vector<core::PregnancyReport>> pregnancies(const std::string& study_id, Page page) = 0;
  virtual core::Result<std::vector<core::ConcomitantMedication>> medications(const std::string& study_id, Page page) = 0;
  // Every version of one record, oldest first; empty when there is no such record (issue 16).
  virtual core::Result<std::vector<ParticipantVersion>> participantVersions(const std::string& study_id) = 0;
  virtual core::Result<std::vector<core::DoseRecord>> doseVersions(int64_t id) = 0;
  virtual core::Result<std::vector<core::LabResult>> labVersions(int64_t id) = 0;
  virtual core::Result<std::vector<core::VitalSigns>> vitalSignsVersions(int64_t id) = 0;
  virtual core::Result<std::vector<core::PregnancyReport>> pregnancyVersions(int64_t id) = 0;
  virtual core::Result<std::vector<core::ConcomitantMedication>> medicationVersions(int64_t id) = 0;
  virtual core::Result<std::vector<audit::AuditEntry>> auditEntries() = 0;
  // The entries with seq >= first_seq, by seq (the start-up head check reads from the anchor on).
  virtual core::Result<std::vector<audit::AuditEntry>> auditEntriesFrom(int64_t first_seq) = 0;
  virtual core::Result<AuditSnapshot> auditSnapshot() = 0;
  // Matching audit entries by seq, at most filter.limit.
  virtual core::Result<std::vector<AuditRow>> auditRows(const AuditFilter& filter) = 0;
  // The newest audit row's seq and hash (seq 0 and the genesis hash for an empty chain).
  virtual core::Result<audit::Head> auditHead() = 0;
  virtual core::Result<std::vector<core::AeCandidate>> candidates(const std::string& study_id, Page page) = 0;
  virtual core::Result<std::optional<core::AeCandidate>> candidate(int64_t id) = 0;
  virtual core::Result<std::vector<core::ReportingDeadline>> deadlines(const core::DeadlineFilter& filter) = 0;

  // Alerts with all their deliveries, in id order.
  virtual core::Result<std::vector<core::Alert>> alerts(const core::AlertFilter& filter) = 0;
  virtual core::Result<std::optional<core::Alert>> alert(int64_t id) = 0;
  // Pending deliveries due at now_ms (next_attempt_ms <= now_ms), oldest first, at most limit;
  // each comes inside a copy of its alert whose deliveries hold just that one delivery.
  virtual core::Result<std::vector<core::Alert>> dueDeliveries(int64_t now_ms, int limit) = 0;
  // Deliveries in a state at now_ms (kLate: still pending past late_at_ms), in the same shape as
  // dueDeliveries, at most limit.
  virtual core::Result<std::vector<core::Alert>> deliveriesIn(DeliveryState state, int64_t now_ms, int limit) = 0;
  // Unacknowledged, not yet escalated alerts whose escalate_at_ms is at or before now_ms.
  virtual core::Result<std::vector<core::Alert>> alertsToEscalate(int64_t now_ms) = 0;
  virtual core::Result<core::OutboxStats> outboxStats(int64_t now_ms) = 0;

  // Everything recorded at or before cut (a UTC timestamp in formatTimestamp's spelling).
  virtual core::Result<DataCut> dataCut(const std::string& cut) = 0;

  virtual core::Result<int> schemaVersion() = 0;
  // Number of transactions committed by write() since start (for /metrics).
  virtual uint64_t commits() const = 0;
  // Why the latest write transaction failed (disk full, I/O error, database locked), while no
  // write has committed since; nullopt when writes are working. For /healthz.
  virtual std::optional<std::string> writeProblem() const { return std::nullopt; }
  // Stops accepting writes, finishes queued ones and closes connections. Idempotent.
  virtual void close() = 0;
};

}  // namespace vigil::store

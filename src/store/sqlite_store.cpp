#include "store/sqlite_store.h"

#include <unordered_map>
#include <unordered_set>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <unordered_map>

#include "audit/anchor.h"
#include "store/migrations.h"

namespace vigil::store {
namespace {

using core::Result;
using core::Status;

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto l = spdlog::get("store");
    return l ? l : spdlog::default_logger();
  }();
  return logger;
}

const char* yn(bool b) { return b ? "Y" : "N"; }

template <typename E>
std::optional<E> optEnum(const Statement& s, int col) {
  auto t = s.optText(col);
  if (!t) return std::nullopt;
  return core::parseEnum<E>(*t);
}

// ---- row mapping, shared by the writer's transaction and the readers ----------------------

const char* kParticipantColumns =
    "study_id, site_id, enrolled_on, liver_metastases, prior_thoracic_rt, anlotinib_dose_mg, sintilimab_dose_mg, "
    "created_at, created_by, sex, age, birth_year, weight_kg, ecog, hbsag, anti_hbc, hbv_dna_iu_ml, "
    "fistula_or_perforation_6m, version, reason, voided";

core::Participant participantFromRow(const Statement& s) {
  core::Participant p;
  p.study_id = s.text(0);
  p.site = s.text(1);
  p.enrolled_on = s.text(2);
  p.liver_metastases = s.int64(3) != 0;
  p.prior_thoracic_radiotherapy = s.int64(4) != 0;
  p.anlotinib_dose_mg = s.optInt(5);
  p.sintilimab_dose_mg = s.optInt(6);
  p.created_at = s.text(7);
  p.created_by = s.text(8);
  p.facts.sex = s.optText(9);
  p.facts.age = s.optInt(10);
  p.facts.birth_year = s.optInt(11);
  p.facts.weight_kg = s.optReal(12);
  p.facts.ecog = s.optInt(13);
  p.facts.hbsag = s.optText(14);
  p.facts.anti_hbc = s.optText(15);
  p.facts.hbv_dna_iu_ml = s.optReal(16);
  if (!s.isNull(17)) p.facts.fistula_or_perforation_6m = s.int64(17) != 0;
  p.revision.version = s.integer(18);
  p.revision.reason = s.text(19);
  p.revision.voided = s.int64(20) != 0;
  return p;
}

const char* kBaselineLabColumns = "test_code, value, unit, lln, uln, collected_at";

core::BaselineLab baselineLabFromRow(const Statement& s, int o) {
  return {s.text(o), s.real(o + 1), s.text(o + 2), s.optReal(o + 3), s.optReal(o + 4), s.optText(o + 5)};
}

void loadBaselineLabs(Connection& c, core::Participant& p) {
  auto& s = c.prepare(std::string("SELECT ") + kBaselineLabColumns +
                      " FROM baseline_labs WHERE study_id=? AND version=? ORDER BY id");
  s.bind(1, p.study_id).bind(2, p.revision.version);
  while (s.step()) p.baseline_labs.push_back(baselineLabFromRow(s, 0));
}

std::optional<core::Participant> selectParticipant(Connection& c, const std::string& study_id) {
  auto& s = c.prepare(std::string("SELECT ") + kParticipantColumns + " FROM participants WHERE study_id=?");
  s.bind(1, study_id);
  if (!s.step()) return std::nullopt;
  auto p = participantFromRow(s);
  s.reset();
  loadBaselineLabs(c, p);
  return p;
}

// A participant's versions, oldest first, each with its baseline labs (empty for no such participant).
std::vector<ParticipantVersion> selectParticipantVersions(Connection& c, const std::string& study_id) {
  auto& s = c.prepare(
      "SELECT pv.study_id, pv.site_id, pv.enrolled_on, pv.liver_metastases, pv.prior_thoracic_rt, pv.anlotinib_dose_mg, "
      "pv.sintilimab_dose_mg, p.created_at, p.created_by, pv.sex, pv.age, pv.birth_year, pv.weight_kg, pv.ecog, "
      "pv.hbsag, pv.anti_hbc, pv.hbv_dna_iu_ml, pv.fistula_or_perforation_6m, pv.version, pv.reason, pv.voided, "
      "pv.recorded_at, pv.recorded_by FROM participant_versions pv JOIN participants p ON p.study_id=pv.study_id "
      "WHERE pv.study_id=? ORDER BY pv.version");
  s.bind(1, study_id);
  std::vector<ParticipantVersion> out;
  while (s.step()) out.push_back({participantFromRow(s), s.text(21), s.text(22)});
  for (auto& v : out) loadBaselineLabs(c, v.participant);
  return out;
}

const char* kAeVersionColumns =
    "v.version, v.aeterm, v.aedecod, v.aelltcd, v.aetoxgr, v.aesdth, v.aeslife, v.aeshosp, v.aesdisab, v.aescong, "
    "v.aesmie, v.aerel_anlotinib, v.aerel_sintilimab, v.aeacn_anlotinib, v.aeacn_sintilimab, v.aeout, v.aestdtc, "
    "v.aeendtc, v.site_aware_at, v.narrative, v.recorded_at, v.recorded_by, v.reason, v.sponsor_rel_anlotinib, "
    "v.sponsor_rel_sintilimab, v.sponsor_aware_at, v.steroid_start, v.voided";
constexpr int kAeVersionColumnCount = 28;

core::AeVersion aeVersionFromRow(const Statement& s, int o) {
  core::AeVersion v;
  v.version = s.integer(o + 0);
  v.verbatim = s.text(o + 1);
  v.ctcae_term = s.text(o + 2);
  v.meddra_code = s.text(o + 3);
  v.grade = s.integer(o + 4);
  for (size_t i = 0; i < core::kSeriousnessCriteria.size(); ++i)
    if (s.text(o + 5 + static_cast<int>(i)) == "Y") v.serious_criteria.push_back(core::kSeriousnessCriteria[i]);
  v.per_drug[0].relatedness = optEnum<core::Relatedness>(s, o + 11);
  v.per_drug[1].relatedness = optEnum<core::Relatedness>(s, o + 12);
  v.per_drug[0].action = optEnum<core::ActionTaken>(s, o + 13);
  v.per_drug[1].action = optEnum<core::ActionTaken>(s, o + 14);
  v.outcome = core::parseEnum<core::Outcome>(s.text(o + 15)).value_or(core::Outcome::kUnknown);
  v.start = s.text(o + 16);
  v.end = s.optText(o + 17);
  v.site_aware_at = s.text(o + 18);
  v.narrative = s.text(o + 19);
  v.recorded_at = s.text(o + 20);
  v.recorded_by = s.text(o + 21);
  v.reason = s.text(o + 22);
  v.sponsor_relatedness[0] = optEnum<core::Relatedness>(s, o + 23);
  v.sponsor_relatedness[1] = optEnum<core::Relatedness>(s, o + 24);
  v.sponsor_aware_at = s.optText(o + 25);
  v.steroid_start = s.optText(o + 26);
  v.voided = s.int64(o + 27) != 0;
  return v;
}

std::optional<core::AeReport> selectAdverseEvent(Connection& c, int64_t id) {
  auto& s = c.prepare(std::string("SELECT r.id, r.study_id, p.site_id, ") + kAeVersionColumns +
                      " FROM ae_reports r JOIN participants p ON p.study_id=r.study_id"
                      " JOIN ae_versions v ON v.ae_id=r.id WHERE r.id=? ORDER BY v.version");
  s.bind(1, id);
  std::optional<core::AeReport> report;
  while (s.step()) {
    if (!report) {
      report.emplace();
      report->id = s.int64(0);
      report->study_id = s.text(1);
      report->site = s.text(2);
    }
    report->versions.push_back(aeVersionFromRow(s, 3));
  }
  if (report) report->entered_at = report->versions.front().recorded_at;
  return report;
}

std::vector<audit::AuditEntry> selectAudit(Connection& c, int64_t first_seq = 1) {
  std::vector<audit::AuditEntry> out;
  auto& s = c.prepare(
      "SELECT seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash, scheme FROM audit_log "
      "WHERE seq>=? ORDER BY seq");
  s.bind(1, first_seq);
  while (s.step()) {
    out.push_back({s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7), s.text(8),
                   s.text(9), s.text(10)});
  }
  return out;
}

audit::Head selectAuditHead(Connection& c) {
  audit::Head head;
  auto& s = c.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  if (s.step()) {
    head = {s.int64(0), s.text(1)};
    s.reset();
  }
  return head;
}

std::optional<std::string> selectAuditHash(Connection& c, int64_t seq) {
  auto& s = c.prepare("SELECT hash FROM audit_log WHERE seq=?");
  s.bind(1, seq);
  if (!s.step()) return std::nullopt;
  std::string hash = s.text(0);
  s.reset();
  return hash;
}

int currentSchemaVersion(Connection& c) {
  auto& s = c.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  int v = s.step() ? s.integer(0) : 0;
  s.reset();
  return v;
}

int applyMigrations(Connection& c, const core::Clock& clock) {
  c.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  int version = currentSchemaVersion(c);
  for (const auto& m : migrations()) {
    if (m.version <= version) continue;
    c.execute("BEGIN IMMEDIATE");
    try {
      c.execute(m.sql);
      c.prepare("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?)")
          .bind(1, m.version)
          .bind(2, m.name)
          .bind(3, core::formatTimestamp(clock.nowMs()))
          .exec();
      c.execute("COMMIT");
    } catch (...) {
      c.execute("ROLLBACK");
      throw;
    }
    log()->info("applied schema migration {} ({})", m.version, m.name);
    version = m.version;
  }
  return version;
}

const char* kCandidateColumns =
    "id, study_id, ctcae_term, meddra_code, grade, worst_case_grade, qualifier, baseline_grade, source, source_ids, "
    "from_24h_urine, status, ae_id, decided_by, decided_at, decision_reason, created_at, updated_at";

std::string idsToText(const std::vector<int64_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "]";
}

std::vector<int64_t> idsFromText(const std::string& text) {
  std::vector<int64_t> out;
  int64_t v = 0;
  bool in_number = false;
  for (char ch : text) {
    if (ch >= '0' && ch <= '9') {
      v = v * 10 + (ch - '0');
      in_number = true;
    } else if (in_number) {
      out.push_back(v);
      v = 0;
      in_number = false;
    }
  }
  return out;
}

core::AeCandidate candidateFromRow(const Statement& s) {
  core::AeCandidate c;
  c.id = s.int64(0);
  c.study_id = s.text(1);
  c.ctcae_term = s.text(2);
  c.meddra_code = s.text(3);
  c.grade = s.integer(4);
  c.worst_case_grade = s.integer(5);
  c.qualifier = s.text(6);
  c.baseline_grade = s.integer(7);
  c.source = s.text(8);
  c.source_ids = idsFromText(s.text(9));
  c.from_24h_urine = s.int64(10) != 0;
  c.status = core::parseEnum<core::CandidateStatus>(s.text(11)).value_or(core::CandidateStatus::kPending);
  if (!s.isNull(12)) c.ae_id = s.int64(12);
  c.decided_by = s.optText(13).value_or("");
  c.decided_at = s.optText(14).value_or("");
  c.decision_reason = s.optText(15).value_or("");
  c.created_at = s.text(16);
  c.updated_at = s.text(17);
  return c;
}

std::optional<core::AeCandidate> selectCandidate(Connection& c, int64_t id) {
  auto& s = c.prepare(std::string("SELECT ") + kCandidateColumns + " FROM ae_candidates WHERE id=?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  auto out = candidateFromRow(s);
  s.reset();
  return out;
}

const char* kDeadlineColumns =
    "d.id, d.ae_id, r.study_id, p.site_id, d.kind, d.due_at, d.anchor, d.opened_in_version, "
    "d.no_longer_required_since_version, d.met_at, d.met_reference, d.met_by, d.created_at";
const char* kDeadlineFrom =
    " FROM deadlines d JOIN ae_reports r ON r.id=d.ae_id JOIN participants p ON p.study_id=r.study_id";

core::ReportingDeadline deadlineFromRow(const Statement& s) {
  core::ReportingDeadline d;
  d.id = s.int64(0);
  d.ae_id = s.int64(1);
  d.study_id = s.text(2);
  d.site = s.text(3);
  d.kind = s.text(4);
  d.due_at = s.text(5);
  d.anchor = s.text(6);
  d.opened_in_version = s.integer(7);
  d.no_longer_required_since_version = s.optInt(8);
  d.met_at = s.optText(9).value_or("");
  d.met_reference = s.optText(10).value_or("");
  d.met_by = s.optText(11).value_or("");
  d.created_at = s.text(12);
  return d;
}

// ---- alerts ------------------------------------------------------------------------------

const char* kAlertColumns =
    "a.id, a.dedupe_key, a.class, a.study_id, a.site, a.ref, a.payload, a.created_at, a.escalate_at_ms, "
    "a.escalated_at, a.acked_at, a.acked_by FROM alerts a";
const char* kDeliveryColumns =
    "d.id, d.alert_id, d.recipient, d.role, d.state, d.attempts, d.next_attempt_ms, d.last_error, d.sent_at, "
    "d.message_id, d.pending_since_ms, d.late_at_ms FROM alert_deliveries d";

// A row of "SELECT id, name, role, disabled FROM users ...", without sites.
core::User userFromRow(const Statement& s) {
  core::User u;
  u.id = s.int64(0);
  u.name = s.text(1);
  u.role = core::parseEnum<core::Role>(s.text(2)).value_or(core::Role::kInvestigator);
  u.disabled = s.int64(3) != 0;
  return u;
}

core::Alert alertFromRow(const Statement& s) {
  core::Alert a;
  a.id = s.int64(0);
  a.dedupe_key = s.text(1);
  a.alert_class = s.text(2);
  a.study_id = s.optText(3).value_or("");
  a.site = s.text(4);
  a.ref = s.text(5);
  a.payload = s.text(6);
  a.created_at = s.text(7);
  if (!s.isNull(8)) a.escalate_at_ms = s.int64(8);
  a.escalated_at = s.optText(9).value_or("");
  a.acked_at = s.optText(10).value_or("");
  a.acked_by = s.optText(11).value_or("");
  return a;
}

core::AlertDelivery deliveryFromRow(const Statement& s, int first = 0) {
  core::AlertDelivery d;
  d.id = s.int64(first);
  d.alert_id = s.int64(first + 1);
  d.recipient = s.text(first + 2);
  d.role = s.text(first + 3);
  d.state = s.text(first + 4);
  d.attempts = s.integer(first + 5);
  d.next_attempt_ms = s.int64(first + 6);
  d.last_error = s.optText(first + 7).value_or("");
  d.sent_at = s.optText(first + 8).value_or("");
  d.message_id = s.text(first + 9);
  d.pending_since_ms = s.int64(first + 10);
  d.late_at_ms = s.int64(first + 11);
  return d;
}

void loadDeliveries(Connection& c, core::Alert& a) {
  auto& s = c.prepare(std::string("SELECT ") + kDeliveryColumns + " WHERE d.alert_id=? ORDER BY d.id");
  s.bind(1, a.id);
  while (s.step()) a.deliveries.push_back(deliveryFromRow(s));
}

std::optional<core::Alert> selectAlert(Connection& c, int64_t id) {
  auto& s = c.prepare(std::string("SELECT ") + kAlertColumns + " WHERE a.id=?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  core::Alert a = alertFromRow(s);
  s.reset();
  loadDeliveries(c, a);
  return a;
}

// ---- per-participant reads, shared by the reader pool and the writer's unit of work ---------

// Rows of one participant after a cursor, in id order: the shape of every per-participant list.
// A limit of -1 reads them all.
template <typename T, typename Map>
std::vector<T> pageOfParticipant(Connection& c, const std::string& sql, const std::string& study_id, Page page,
                                 Map map) {
  std::vector<T> out;
  auto& s = c.prepare(sql);
  s.bind(1, study_id).bind(2, page.after_id).bind(3, page.limit);
  while (s.step()) out.push_back(map(s));
  return out;
}

// ---- correctable records (issue 16) -----------------------------------------------------------
// Doses, lab results, vital signs, pregnancies and concomitant medications keep one row per
// version (migration 17). A read names its rows: the live ones (current, not voided) for
// evaluation, lists and exports; the current ones, voided included, where a void must show
// (the audit check, a record read by id); every version for a record's history. The id a
// client sees is the record id; each select list ends with version, voided and reason.

enum class Rows { kLive, kCurrent };

// When the record was entered: its first version's recorded_at (a rowid lookup, only for a record
// corrected since). A macro, to be pasted into the select lists' string literals.
#define VIGIL_ENTERED_AT(table) \
  "CASE WHEN r.version=1 THEN r.recorded_at ELSE (SELECT f.recorded_at FROM " table " f WHERE f.id=r.record_id) END"

// The version of a record that stood at a data cut (?1): recorded by then, not superseded by
// then, and not a void.
constexpr const char* kStoodAtCut =
    " WHERE r.recorded_at<=?1 AND (r.superseded_at IS NULL OR r.superseded_at>?1) AND r.voided=0";

const char* rowsFilter(Rows rows) {
  return rows == Rows::kLive ? " AND r.superseded_at IS NULL AND r.voided=0" : " AND r.superseded_at IS NULL";
}

// version, voided, reason and the first version's recorded_at (VIGIL_ENTERED_AT).
core::Revision revisionFromRow(const Statement& s, int o) {
  return core::Revision{s.integer(o), s.int64(o + 1) != 0, s.text(o + 2), s.text(o + 3)};
}

template <typename T>
struct RecordSql {
  const char* table;
  const char* select;  // "columns FROM table r ..." with the record table as r
  T (*map)(const Statement&);
};

template <typename T>
std::vector<T> recordsOf(Connection& c, const RecordSql<T>& t, const std::string& study_id, Page page, Rows rows) {
  return pageOfParticipant<T>(c,
                              std::string("SELECT ") + t.select + " WHERE r.study_id=? AND r.record_id>?" +
                                  rowsFilter(rows) + " ORDER BY r.record_id LIMIT ?",
                              study_id, page, t.map);
}

// Every version of a record, oldest first (empty for no such record).
template <typename T>
std::vector<T> versionsOf(Connection& c, const RecordSql<T>& t, int64_t id) {
  auto& s = c.prepare(std::string("SELECT ") + t.select + " WHERE r.record_id=? ORDER BY r.version");
  s.bind(1, id);
  std::vector<T> out;
  while (s.step()) out.push_back(t.map(s));
  return out;
}

// The current version of a record, a voided one included.
template <typename T>
std::optional<T> currentOf(Connection& c, const RecordSql<T>& t, int64_t id) {
  auto& s = c.prepare(std::string("SELECT ") + t.select + " WHERE r.record_id=? AND r.superseded_at IS NULL");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  T out = t.map(s);
  s.reset();
  return out;
}

core::DoseRecord doseFromRow(const Statement& s) {
  core::DoseRecord d;
  d.id = s.int64(0);
  d.study_id = s.text(1);
  d.drug = core::parseEnum<core::Drug>(s.text(2)).value_or(core::Drug::kAnlotinib);
  d.dose_mg = s.optReal(3);
  d.route = core::parseEnum<core::Route>(s.text(4)).value_or(core::Route::kOral);
  d.date = s.text(5);
  d.cycle = s.integer(6);
  d.day = s.integer(7);
  d.status = core::parseEnum<core::DoseStatus>(s.text(8)).value_or(core::DoseStatus::kGiven);
  d.recorded_at = s.text(9);
  d.recorded_by = s.text(10);
  d.revision = revisionFromRow(s, 11);
  return d;
}

const RecordSql<core::DoseRecord> kDoses{
    "doses",
    "r.record_id, r.study_id, r.drug, r.dose_mg, r.route, r.dose_date, r.cycle, r.cycle_day, r.status, r.recorded_at, "
    "r.recorded_by, r.version, r.voided, r.reason, " VIGIL_ENTERED_AT("doses") " FROM doses r",
    doseFromRow};

std::vector<core::DoseRecord> selectDoses(Connection& c, const std::string& study_id, Page page,
                                          Rows rows = Rows::kLive) {
  return recordsOf(c, kDoses, study_id, page, rows);
}

std::vector<core::AeReport> selectAdverseEvents(Connection& c, const core::AeFilter& f) {
  // Dynamic WHERE built only from fixed fragments; every value is bound.
  std::string sql = std::string("SELECT r.id, r.study_id, p.site_id, ") + kAeVersionColumns +
                    ", (SELECT f.recorded_at FROM ae_versions f WHERE f.ae_id=r.id AND f.version=1)"
                    " FROM ae_reports r JOIN participants p ON p.study_id=r.study_id"
                    " JOIN ae_versions v ON v.ae_id=r.id AND v.version=r.current_version WHERE r.id>?";
  if (f.study_id) sql += " AND r.study_id=?";
  if (f.site) sql += " AND p.site_id=?";
  if (f.restrict_sites) {
    sql += " AND p.site_id IN (";
    for (size_t i = 0; i < f.sites.size(); ++i) sql += i ? ",?" : "?";
    sql += f.sites.empty() ? "NULL)" : ")";
  }
  if (f.start_from) sql += " AND substr(v.aestdtc,1,10)>=?";
  if (f.start_to) sql += " AND substr(v.aestdtc,1,10)<=?";
  if (f.term) sql += " AND v.aedecod=? COLLATE NOCASE";
  if (f.grade) sql += " AND v.aetoxgr=?";
  if (f.serious) sql += " AND v.aeser=?";
  if (!f.include_voided) sql += " AND v.voided=0";
  sql += " ORDER BY r.id LIMIT ?";
  auto& s = c.prepare(sql);
  int i = 1;
  s.bind(i++, f.after_id);
  if (f.study_id) s.bind(i++, *f.study_id);
  if (f.site) s.bind(i++, *f.site);
  if (f.restrict_sites)
    for (const auto& site : f.sites) s.bind(i++, site);
  if (f.start_from) s.bind(i++, *f.start_from);
  if (f.start_to) s.bind(i++, *f.start_to);
  if (f.term) s.bind(i++, *f.term);
  if (f.grade) s.bind(i++, *f.grade);
  if (f.serious) s.bind(i++, yn(*f.serious));
  s.bind(i++, f.limit);
  std::vector<core::AeReport> out;
  while (s.step()) {
    core::AeReport r;
    r.id = s.int64(0);
    r.study_id = s.text(1);
    r.site = s.text(2);
    r.versions.push_back(aeVersionFromRow(s, 3));
    r.entered_at = s.text(3 + kAeVersionColumnCount);
    out.push_back(std::move(r));
  }
  return out;
}

core::LabResult labFromRow(const Statement& s) {
  core::LabResult l{s.int64(0), s.text(1), s.text(2),  s.real(3),  s.text(4),  s.optReal(5), s.optReal(6),
                    s.text(7),  s.text(8), s.text(9), s.text(10), s.text(11), s.text(12), {}};
  l.revision = revisionFromRow(s, 13);
  return l;
}

const RecordSql<core::LabResult> kLabs{
    "lab_results",
    "r.record_id, r.study_id, r.test_code, r.value, r.unit, r.lln, r.uln, r.collected_at, r.specimen, r.recorded_at, "
    "r.recorded_by, r.grades, r.unit_canonical, r.version, r.voided, r.reason, " VIGIL_ENTERED_AT("lab_results") " FROM lab_results r",
    labFromRow};

std::vector<core::LabResult> selectLabs(Connection& c, const std::string& study_id, Page page, Rows rows = Rows::kLive) {
  return recordsOf(c, kLabs, study_id, page, rows);
}

core::VitalSigns vitalsFromRow(const Statement& s) {
  core::VitalSigns v{s.int64(0),   s.text(1),    s.text(2),   s.optInt(3), s.optInt(4), s.optInt(5), s.optReal(6),
                     s.optReal(7), s.optInt(8), s.text(9),   s.text(10),  s.text(11), {}};
  v.revision = revisionFromRow(s, 12);
  return v;
}

const RecordSql<core::VitalSigns> kVitals{
    "vital_signs",
    "r.record_id, r.study_id, r.measured_at, r.systolic_mmhg, r.diastolic_mmhg, r.heart_rate_bpm, r.temperature_c, "
    "r.weight_kg, r.qtc_ms, r.recorded_at, r.recorded_by, r.grades, r.version, r.voided, r.reason, " VIGIL_ENTERED_AT("vital_signs") " FROM vital_signs r",
    vitalsFromRow};

std::vector<core::VitalSigns> selectVitals(Connection& c, const std::string& study_id, Page page,
                                           Rows rows = Rows::kLive) {
  return recordsOf(c, kVitals, study_id, page, rows);
}

core::PregnancyReport pregnancyFromRow(const Statement& s) {
  core::PregnancyReport g{s.int64(0), s.text(1),    s.text(2), s.text(3), s.text(4),
                          s.text(5),  s.optText(6), s.text(7), s.text(8), {}};
  g.revision = revisionFromRow(s, 9);
  return g;
}

const RecordSql<core::PregnancyReport> kPregnancies{
    "pregnancies",
    "r.record_id, r.study_id, p.site_id, r.subject, r.site_aware_at, r.outcome, r.outcome_aware_at, r.recorded_at, "
    "r.recorded_by, r.version, r.voided, r.reason, " VIGIL_ENTERED_AT("pregnancies") " FROM pregnancies r JOIN participants p ON p.study_id=r.study_id",
    pregnancyFromRow};

std::vector<core::PregnancyReport> selectPregnancies(Connection& c, const std::string& study_id, Page page,
                                                     Rows rows = Rows::kLive) {
  return recordsOf(c, kPregnancies, study_id, page, rows);
}

core::ConcomitantMedication medicationFromRow(const Statement& s) {
  core::ConcomitantMedication m;
  m.id = s.int64(0);
  m.study_id = s.text(1);
  m.site = s.text(2);
  m.name = s.text(3);
  m.category = s.text(4);
  m.drug_class = s.text(5);
  m.dose = s.optReal(6);
  m.unit = s.text(7);
  m.route = s.text(8);
  m.frequency = s.text(9);
  m.start = s.text(10);
  m.end = s.optText(11);
  m.indication = s.text(12);
  m.indication_ae_id = s.optInt64(13);
  m.recorded_at = s.text(14);
  m.recorded_by = s.text(15);
  m.revision = revisionFromRow(s, 16);
  return m;
}

const RecordSql<core::ConcomitantMedication> kMedications{
    "concomitant_medications",
    "r.record_id, r.study_id, p.site_id, r.name, r.category, r.drug_class, r.dose, r.unit, r.route, r.frequency, "
    "r.start_date, r.end_date, r.indication, r.indication_ae_id, r.recorded_at, r.recorded_by, r.version, r.voided, "
    "r.reason, " VIGIL_ENTERED_AT("concomitant_medications") " FROM concomitant_medications r JOIN participants p ON p.study_id=r.study_id",
    medicationFromRow};

std::vector<core::ConcomitantMedication> selectMedications(Connection& c, const std::string& study_id, Page page,
                                                           Rows rows = Rows::kLive) {
  return recordsOf(c, kMedications, study_id, page, rows);
}

std::optional<History> selectHistory(Connection& c, const std::string& study_id) {
  auto p = selectParticipant(c, study_id);
  if (!p) return std::nullopt;
  History h;
  h.participant = std::move(*p);
  const Page all{0, -1};
  h.doses = selectDoses(c, study_id, all);
  core::AeFilter f;
  f.study_id = study_id;
  f.limit = -1;
  h.adverse_events = selectAdverseEvents(c, f);
  h.labs = selectLabs(c, study_id, all);
  h.vitals = selectVitals(c, study_id, all);
  h.pregnancies = selectPregnancies(c, study_id, all);
  h.medications = selectMedications(c, study_id, all);
  return h;
}

core::SafetyChange safetyChangeFromRow(const Statement& s) {
  return core::SafetyChange{s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7)};
}

// ---- the writer's unit of work -----------------------------------------------------------

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(Connection& c, std::string now, const std::string& audit_key)
      : c_(c), now_(std::move(now)), audit_key_(audit_key) {
    const audit::Head head = selectAuditHead(c_);
    seq_ = head.seq;
    head_ = head.hash;
  }

  audit::Head head() const { return {seq_, head_}; }

  // Audit head state, saved before a unit and restored if the unit rolls back.
  std::pair<int64_t, std::string> mark() const { return {seq_, head_}; }
  void restore(std::pair<int64_t, std::string> m) {
    seq_ = m.first;
    head_ = std::move(m.second);
  }

  std::optional<core::Participant> participant(const std::string& study_id) override {
    return selectParticipant(c_, study_id);
  }
  bool siteExists(const std::string& site) override {
    auto& s = c_.prepare("SELECT 1 FROM sites WHERE id=?");
    s.bind(1, site);
    const bool found = s.step();
    s.reset();
    return found;
  }
  bool userExists(const std::string& name) override {
    auto& s = c_.prepare("SELECT 1 FROM users WHERE name=?");
    s.bind(1, name);
    const bool found = s.step();
    s.reset();
    return found;
  }
  std::optional<core::AeReport> adverseEvent(int64_t id) override { return selectAdverseEvent(c_, id); }
  std::optional<IdempotentReply> idempotentReply(int64_t user_id, const std::string& key) override {
    auto& s = c_.prepare("SELECT request_hash, status, body FROM idempotency_keys WHERE user_id=? AND key=?");
    s.bind(1, user_id).bind(2, key);
    if (!s.step()) return std::nullopt;
    IdempotentReply r{s.text(0), s.integer(1), s.text(2)};
    s.reset();
    return r;
  }

  void insertSite(const std::string& id, const std::string& name) override {
    c_.prepare("INSERT INTO sites(id, name, created_at) VALUES (?,?,?)").bind(1, id).bind(2, name).bind(3, now_).exec();
  }
  int64_t insertUser(const core::User& user, const std::string& token_hash) override {
    c_.prepare("INSERT INTO users(name, role, token_hash, created_at) VALUES (?,?,?,?)")
        .bind(1, user.name)
        .bind(2, core::toString(user.role))
        .bind(3, token_hash)
        .bind(4, now_)
        .exec();
    const int64_t id = c_.lastInsertRowId();
    for (const auto& site : user.sites)
      c_.prepare("INSERT INTO user_sites(user_id, site_id) VALUES (?,?)").bind(1, id).bind(2, site).exec();
    return id;
  }
  std::optional<core::User> userByName(const std::string& name) override {
    auto& s = c_.prepare("SELECT id, name, role, disabled FROM users WHERE name=?");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    core::User u = userFromRow(s);
    s.reset();
    return u;
  }
  void setUserDisabled(int64_t user_id, bool disabled) override {
    c_.prepare("UPDATE users SET disabled=? WHERE id=?").bind(1, disabled ? 1 : 0).bind(2, user_id).exec();
  }
  void setUserTokenHash(int64_t user_id, const std::string& token_hash) override {
    c_.prepare("UPDATE users SET token_hash=? WHERE id=?").bind(1, token_hash).bind(2, user_id).exec();
  }
  void insertParticipant(const core::Participant& p) override {
    auto& insert = c_.prepare(std::string("INSERT INTO participants(") + kParticipantColumns +
                              ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,'',0)");
    bindParticipant(insert, p).bind(8, p.created_at).bind(9, p.created_by).exec();
    insertParticipantVersion(p, 1, p.created_at, p.created_by);
  }
  void updateParticipant(const core::Participant& p, const std::string& recorded_by) override {
    auto& update = c_.prepare(
        "UPDATE participants SET site_id=?2, enrolled_on=?3, liver_metastases=?4, prior_thoracic_rt=?5, "
        "anlotinib_dose_mg=?6, sintilimab_dose_mg=?7, sex=?10, age=?11, birth_year=?12, weight_kg=?13, ecog=?14, "
        "hbsag=?15, anti_hbc=?16, hbv_dna_iu_ml=?17, fistula_or_perforation_6m=?18, version=?19, reason=?20, "
        "voided=?21 WHERE study_id=?1 AND version=?19-1 AND voided=0");
    bindParticipant(update, p).bind(19, p.revision.version).bind(20, p.revision.reason).bind(21, p.revision.voided ? 1 : 0);
    update.exec();
    if (c_.changes() != 1) throw SqliteError(SQLITE_CONSTRAINT, "participant version is not current + 1");
    insertParticipantVersion(p, p.revision.version, now_, recorded_by);
  }
  // Binds ?1-?7 and ?10-?18 of kParticipantColumns' order (?8, ?9 are created_at and created_by).
  static Statement& bindParticipant(Statement& s, const core::Participant& p) {
    const auto& f = p.facts;
    if (f.fistula_or_perforation_6m) s.bind(18, *f.fistula_or_perforation_6m ? 1 : 0);
    else s.bindNull(18);
    return s.bind(1, p.study_id)
        .bind(2, p.site)
        .bind(3, p.enrolled_on)
        .bind(4, p.liver_metastases ? 1 : 0)
        .bind(5, p.prior_thoracic_radiotherapy ? 1 : 0)
        .bind(6, p.anlotinib_dose_mg)
        .bind(7, p.sintilimab_dose_mg)
        .bind(10, f.sex)
        .bind(11, f.age)
        .bind(12, f.birth_year)
        .bind(13, f.weight_kg)
        .bind(14, f.ecog)
        .bind(15, f.hbsag)
        .bind(16, f.anti_hbc)
        .bind(17, f.hbv_dna_iu_ml);
  }
  // The version's row in participant_versions and its baseline labs.
  void insertParticipantVersion(const core::Participant& p, int version, const std::string& at, const std::string& by) {
    auto& s = c_.prepare(
        "INSERT INTO participant_versions(study_id, site_id, enrolled_on, liver_metastases, prior_thoracic_rt, "
        "anlotinib_dose_mg, sintilimab_dose_mg, recorded_at, recorded_by, sex, age, birth_year, weight_kg, ecog, hbsag, "
        "anti_hbc, hbv_dna_iu_ml, fistula_or_perforation_6m, version, reason, voided) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    bindParticipant(s, p).bind(8, at).bind(9, by).bind(19, version).bind(20, p.revision.reason);
    s.bind(21, p.revision.voided ? 1 : 0).exec();
    for (const auto& b : p.baseline_labs) {
      c_.prepare(
            "INSERT INTO baseline_labs(study_id, test_code, value, unit, lln, uln, collected_at, version) "
            "VALUES (?,?,?,?,?,?,?,?)")
          .bind(1, p.study_id)
          .bind(2, b.test)
          .bind(3, b.value)
          .bind(4, b.unit)
          .bind(5, b.lln)
          .bind(6, b.uln)
          .bind(7, b.collected_at)
          .bind(8, version)
          .exec();
    }
  }
  // The row id of a record's new version: a first version's row id is its record id; a later one
  // marks the record's current row superseded (it must be version - 1) and takes the next row id.
  std::optional<int64_t> newVersionRow(const char* table, int64_t record_id, const core::Revision& r) {
    if (r.version == 1) {
      auto& s = c_.prepare(std::string("SELECT coalesce(max(id), 0) + 1 FROM ") + table);
      s.step();
      const int64_t id = s.int64(0);
      s.reset();
      return id;
    }
    c_.prepare(std::string("UPDATE ") + table +
               " SET superseded_at=? WHERE record_id=? AND version=? AND superseded_at IS NULL AND voided=0")
        .bind(1, now_)
        .bind(2, record_id)
        .bind(3, r.version - 1)
        .exec();
    if (c_.changes() != 1)
      throw SqliteError(SQLITE_CONSTRAINT, std::string(table) + ": the version is not the live one + 1");
    return std::nullopt;
  }
  // Binds the row id (null: the next one), record id and revision to the ?s at `at`..`at + 4`.
  static void bindRevision(Statement& s, int at, const std::optional<int64_t>& row, int64_t record_id,
                           const core::Revision& r) {
    if (row) s.bind(at, *row);
    else s.bindNull(at);
    s.bind(at + 1, row ? *row : record_id).bind(at + 2, r.version).bind(at + 3, r.voided ? 1 : 0).bind(at + 4, r.reason);
  }
  int64_t insertDose(const core::DoseRecord& d) override {
    const auto row = newVersionRow("doses", d.id, d.revision);
    auto& s = c_.prepare(
        "INSERT INTO doses(study_id, drug, dose_mg, route, dose_date, cycle, cycle_day, status, recorded_at, "
        "recorded_by, id, record_id, version, voided, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, d.study_id)
        .bind(2, core::toString(d.drug))
        .bind(3, d.dose_mg)
        .bind(4, core::toString(d.route))
        .bind(5, d.date)
        .bind(6, d.cycle)
        .bind(7, d.day)
        .bind(8, core::toString(d.status))
        .bind(9, d.recorded_at)
        .bind(10, d.recorded_by);
    bindRevision(s, 11, row, d.id, d.revision);
    s.exec();
    return row.value_or(d.id);
  }
  int64_t insertAdverseEvent(const std::string& study_id, const core::AeVersion& first) override {
    c_.prepare("INSERT INTO ae_reports(study_id, current_version, created_at) VALUES (?,?,?)")
        .bind(1, study_id)
        .bind(2, first.version)
        .bind(3, now_)
        .exec();
    const int64_t id = c_.lastInsertRowId();
    insertVersionRow(id, first);
    return id;
  }
  void insertAeVersion(int64_t ae_id, const core::AeVersion& v) override {
    auto& s = c_.prepare("UPDATE ae_reports SET current_version=? WHERE id=? AND current_version=?");
    s.bind(1, v.version).bind(2, ae_id).bind(3, v.version - 1).exec();
    if (c_.changes() != 1) throw SqliteError(SQLITE_CONSTRAINT, "AE version is not current + 1");
    insertVersionRow(ae_id, v);
  }
  int64_t insertLab(const core::LabResult& l) override {
    const auto row = newVersionRow("lab_results", l.id, l.revision);
    auto& s = c_.prepare(
        "INSERT INTO lab_results(study_id, test_code, value, unit, lln, uln, collected_at, specimen, recorded_at, "
        "recorded_by, grades, unit_canonical, id, record_id, version, voided, reason) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, l.study_id)
        .bind(2, l.test)
        .bind(3, l.value)
        .bind(4, l.unit)
        .bind(5, l.lln)
        .bind(6, l.uln)
        .bind(7, l.collected_at)
        .bind(8, l.specimen)
        .bind(9, l.recorded_at)
        .bind(10, l.recorded_by)
        .bind(11, l.grades_json)
        .bind(12, l.unit_canonical);
    bindRevision(s, 13, row, l.id, l.revision);
    s.exec();
    return row.value_or(l.id);
  }
  int64_t insertVitals(const core::VitalSigns& v) override {
    const auto row = newVersionRow("vital_signs", v.id, v.revision);
    auto& s = c_.prepare(
        "INSERT INTO vital_signs(study_id, measured_at, systolic_mmhg, diastolic_mmhg, heart_rate_bpm, "
        "temperature_c, weight_kg, qtc_ms, recorded_at, recorded_by, grades, id, record_id, version, voided, reason) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, v.study_id)
        .bind(2, v.measured_at)
        .bind(3, v.systolic_mmhg)
        .bind(4, v.diastolic_mmhg)
        .bind(5, v.heart_rate_bpm)
        .bind(6, v.temperature_c)
        .bind(7, v.weight_kg)
        .bind(8, v.qtc_ms)
        .bind(9, v.recorded_at)
        .bind(10, v.recorded_by)
        .bind(11, v.grades_json);
    bindRevision(s, 12, row, v.id, v.revision);
    s.exec();
    return row.value_or(v.id);
  }
  std::optional<core::DoseRecord> dose(int64_t id) override { return currentOf(c_, kDoses, id); }
  std::optional<core::LabResult> lab(int64_t id) override { return currentOf(c_, kLabs, id); }
  std::optional<core::VitalSigns> vitalSigns(int64_t id) override { return currentOf(c_, kVitals, id); }
  std::optional<core::ConcomitantMedication> medication(int64_t id) override { return currentOf(c_, kMedications, id); }
  std::optional<core::AeCandidate> pendingCandidate(const std::string& study_id, const std::string& term) override {
    auto& s = c_.prepare(std::string("SELECT ") + kCandidateColumns +
                         " FROM ae_candidates WHERE study_id=? AND ctcae_term=? AND status='pending'");
    s.bind(1, study_id).bind(2, term);
    if (!s.step()) return std::nullopt;
    auto c = candidateFromRow(s);
    s.reset();
    return c;
  }
  std::optional<core::AeCandidate> candidate(int64_t id) override { return selectCandidate(c_, id); }
  std::vector<core::AeCandidate> pendingCandidates(const std::string& study_id) override {
    auto& s = c_.prepare(std::string("SELECT ") + kCandidateColumns +
                         " FROM ae_candidates WHERE study_id=? AND status='pending' ORDER BY id");
    s.bind(1, study_id);
    std::vector<core::AeCandidate> out;
    while (s.step()) out.push_back(candidateFromRow(s));
    return out;
  }
  int64_t insertCandidate(const core::AeCandidate& c) override {
    auto& s = c_.prepare(
        "INSERT INTO ae_candidates(study_id, ctcae_term, meddra_code, grade, worst_case_grade, qualifier, "
        "baseline_grade, source, source_ids, from_24h_urine, status, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, c.study_id).bind(2, c.ctcae_term).bind(3, c.meddra_code).bind(4, c.grade).bind(5, c.worst_case_grade);
    s.bind(6, c.qualifier).bind(7, c.baseline_grade).bind(8, c.source).bind(9, idsToText(c.source_ids));
    s.bind(10, c.from_24h_urine ? 1 : 0).bind(11, core::toString(c.status)).bind(12, now_).bind(13, now_);
    s.exec();
    return c_.lastInsertRowId();
  }
  void updateCandidate(const core::AeCandidate& c) override {
    auto& s = c_.prepare(
        "UPDATE ae_candidates SET grade=?, worst_case_grade=?, qualifier=?, source_ids=?, from_24h_urine=?, status=?, "
        "ae_id=?, decided_by=?, decided_at=?, decision_reason=?, updated_at=? WHERE id=?");
    s.bind(1, c.grade).bind(2, c.worst_case_grade).bind(3, c.qualifier).bind(4, idsToText(c.source_ids));
    s.bind(5, c.from_24h_urine ? 1 : 0).bind(6, core::toString(c.status)).bind(7, c.ae_id);
    auto optText = [](const std::string& v) { return v.empty() ? std::nullopt : std::optional<std::string>(v); };
    s.bind(8, optText(c.decided_by)).bind(9, optText(c.decided_at)).bind(10, optText(c.decision_reason));
    s.bind(11, now_).bind(12, c.id);
    s.exec();
  }
  std::vector<core::ReportingDeadline> deadlinesOf(int64_t ae_id) override {
    std::vector<core::ReportingDeadline> out;
    auto& s = c_.prepare(std::string("SELECT ") + kDeadlineColumns + kDeadlineFrom + " WHERE d.ae_id=? ORDER BY d.id");
    s.bind(1, ae_id);
    while (s.step()) out.push_back(deadlineFromRow(s));
    return out;
  }
  std::optional<core::ReportingDeadline> deadline(int64_t id) override {
    auto& s = c_.prepare(std::string("SELECT ") + kDeadlineColumns + kDeadlineFrom + " WHERE d.id=?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    auto d = deadlineFromRow(s);
    s.reset();
    return d;
  }
  int64_t insertDeadline(const core::ReportingDeadline& d) override {
    c_.prepare(
          "INSERT INTO deadlines(ae_id, kind, due_at, anchor, opened_in_version, created_at) VALUES (?,?,?,?,?,?)")
        .bind(1, d.ae_id)
        .bind(2, d.kind)
        .bind(3, d.due_at)
        .bind(4, d.anchor)
        .bind(5, d.opened_in_version)
        .bind(6, now_)
        .exec();
    return c_.lastInsertRowId();
  }
  void updateDeadline(const core::ReportingDeadline& d) override {
    auto opt = [](const std::string& v) { return v.empty() ? std::nullopt : std::optional<std::string>(v); };
    c_.prepare(
          "UPDATE deadlines SET due_at=?, anchor=?, no_longer_required_since_version=?, met_at=?, met_reference=?, "
          "met_by=? WHERE id=?")
        .bind(1, d.due_at)
        .bind(2, d.anchor)
        .bind(3, d.no_longer_required_since_version)
        .bind(4, opt(d.met_at))
        .bind(5, opt(d.met_reference))
        .bind(6, opt(d.met_by))
        .bind(7, d.id)
        .exec();
  }
  void saveIdempotentReply(int64_t user_id, const std::string& key, const IdempotentReply& r) override {
    c_.prepare("INSERT INTO idempotency_keys(user_id, key, request_hash, status, body, created_at) VALUES (?,?,?,?,?,?)")
        .bind(1, user_id)
        .bind(2, key)
        .bind(3, r.request_hash)
        .bind(4, r.status)
        .bind(5, r.body)
        .bind(6, now_)
        .exec();
  }
  void appendAudit(const AuditRecord& r) override {
    audit::AuditEntry e{seq_ + 1, now_, r.actor, r.action, r.entity, r.entity_id, r.before, r.after, head_, {},
                        audit_key_.empty() ? audit::kPlainScheme : audit::kKeyedScheme};
    e.hash = audit::computeHash(e, audit_key_);
    // study_id (migration 15) is read from the entry itself: the after (else before) JSON's
    // study_id, or the id of a participant or of its safety evaluation; an AE version's JSON has
    // none, so its report's.
    c_.prepare(
          "INSERT INTO audit_log(seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash, scheme, "
          "study_id) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,"
          "coalesce(json_extract(CASE WHEN json_valid(?8) THEN ?8 END, '$.study_id'),"
          " json_extract(CASE WHEN json_valid(?7) THEN ?7 END, '$.study_id'),"
          " CASE WHEN ?5 IN ('participant', 'safety') THEN ?6"
          " WHEN ?5 = 'adverse_event' THEN (SELECT study_id FROM ae_reports WHERE id = CAST(?6 AS INTEGER)) END))")
        .bind(1, e.seq)
        .bind(2, e.at)
        .bind(3, e.actor)
        .bind(4, e.action)
        .bind(5, e.entity)
        .bind(6, e.entity_id)
        .bind(7, e.before)
        .bind(8, e.after)
        .bind(9, e.prev_hash)
        .bind(10, e.hash)
        .bind(11, e.scheme)
        .exec();
    seq_ = e.seq;
    head_ = e.hash;
  }
  std::optional<History> history(const std::string& study_id) override { return selectHistory(c_, study_id); }
  std::optional<std::string> safetyState(const std::string& study_id) override {
    auto& s = c_.prepare("SELECT state FROM safety_state WHERE study_id=?");
    s.bind(1, study_id);
    if (!s.step()) return std::nullopt;
    std::string state = s.text(0);
    s.reset();
    return state;
  }
  void saveSafetyState(const std::string& study_id, const std::string& state) override {
    c_.prepare(
          "INSERT INTO safety_state(study_id, state, evaluated_at) VALUES (?,?,?) "
          "ON CONFLICT(study_id) DO UPDATE SET state=excluded.state, evaluated_at=excluded.evaluated_at")
        .bind(1, study_id)
        .bind(2, state)
        .bind(3, now_)
        .exec();
  }
  int64_t insertSafetyChange(const core::SafetyChange& ch) override {
    c_.prepare("INSERT INTO safety_changes(study_id, at, kind, subject, detail, actor, cause) VALUES (?,?,?,?,?,?,?)")
        .bind(1, ch.study_id)
        .bind(2, ch.at)
        .bind(3, ch.kind)
        .bind(4, ch.subject)
        .bind(5, ch.detail)
        .bind(6, ch.actor)
        .bind(7, ch.cause)
        .exec();
    return c_.lastInsertRowId();
  }
  int64_t insertPregnancy(const core::PregnancyReport& g) override {
    const auto row = newVersionRow("pregnancies", g.id, g.revision);
    auto& s = c_.prepare(
        "INSERT INTO pregnancies(study_id, subject, site_aware_at, outcome, outcome_aware_at, recorded_at, recorded_by, "
        "id, record_id, version, voided, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, g.study_id)
        .bind(2, g.subject)
        .bind(3, g.site_aware_at)
        .bind(4, g.outcome)
        .bind(5, g.outcome_aware_at)
        .bind(6, g.recorded_at)
        .bind(7, g.recorded_by);
    bindRevision(s, 8, row, g.id, g.revision);
    s.exec();
    return row.value_or(g.id);
  }
  std::optional<core::PregnancyReport> pregnancy(int64_t id) override { return currentOf(c_, kPregnancies, id); }
  void updatePregnancy(const core::PregnancyReport& g) override {
    c_.prepare("UPDATE pregnancies SET outcome=?, outcome_aware_at=? WHERE record_id=? AND superseded_at IS NULL")
        .bind(1, g.outcome)
        .bind(2, g.outcome_aware_at)
        .bind(3, g.id)
        .exec();
  }
  LabSeen labRecorded(const std::string& study_id, const std::string& test, const std::string& collected_at,
                      double value) override {
    // Any version matches (a re-sent original after a correction is not stored again); the
    // record it belongs to says whether it stands. A live match wins over a voided one.
    auto& s = c_.prepare(
        "SELECT (SELECT c.voided FROM lab_results c WHERE c.record_id=l.record_id AND c.superseded_at IS NULL) AS v "
        "FROM lab_results l WHERE l.study_id=? AND l.test_code=? AND l.collected_at=? AND l.value=? ORDER BY v LIMIT 1");
    s.bind(1, study_id).bind(2, test).bind(3, collected_at).bind(4, value);
    const LabSeen seen = !s.step() ? LabSeen::kNew : s.int64(0) != 0 ? LabSeen::kVoided : LabSeen::kLive;
    s.reset();
    return seen;
  }
  int64_t insertMedication(const core::ConcomitantMedication& m) override {
    const auto row = newVersionRow("concomitant_medications", m.id, m.revision);
    auto& s = c_.prepare(
        "INSERT INTO concomitant_medications(study_id, name, category, drug_class, dose, unit, route, frequency, "
        "start_date, end_date, indication, indication_ae_id, recorded_at, recorded_by, id, record_id, version, voided, "
        "reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, m.study_id)
        .bind(2, m.name)
        .bind(3, m.category)
        .bind(4, m.drug_class)
        .bind(5, m.dose)
        .bind(6, m.unit)
        .bind(7, m.route)
        .bind(8, m.frequency)
        .bind(9, m.start)
        .bind(10, m.end)
        .bind(11, m.indication)
        .bind(12, m.indication_ae_id)
        .bind(13, m.recorded_at)
        .bind(14, m.recorded_by);
    bindRevision(s, 15, row, m.id, m.revision);
    s.exec();
    return row.value_or(m.id);
  }
  std::vector<core::ConcomitantMedication> medicationsOf(const std::string& study_id) override {
    return selectMedications(c_, study_id, Page{0, -1});
  }
  bool alertExists(const std::string& dedupe_key) override {
    auto& s = c_.prepare("SELECT 1 FROM alerts WHERE dedupe_key=?");
    s.bind(1, dedupe_key);
    const bool found = s.step();
    if (found) s.reset();
    return found;
  }
  int64_t insertAlert(core::Alert& a) override {
    a.created_at = now_;
    c_.prepare(
          "INSERT INTO alerts(dedupe_key, class, study_id, site, ref, payload, created_at, escalate_at_ms) "
          "VALUES (?,?,?,?,?,?,?,?)")
        .bind(1, a.dedupe_key)
        .bind(2, a.alert_class)
        .bind(3, a.study_id.empty() ? std::nullopt : std::optional<std::string>(a.study_id))
        .bind(4, a.site)
        .bind(5, a.ref)
        .bind(6, a.payload)
        .bind(7, a.created_at)
        .bind(8, a.escalate_at_ms)
        .exec();
    a.id = c_.lastInsertRowId();
    for (auto& d : a.deliveries) {
      d.alert_id = a.id;
      d.state = "pending";
      c_.prepare(
            "INSERT INTO alert_deliveries(alert_id, recipient, role, state, attempts, next_attempt_ms, message_id, "
            "pending_since_ms, late_at_ms) VALUES (?,?,?,?,0,?,?,?,?)")
          .bind(1, d.alert_id)
          .bind(2, d.recipient)
          .bind(3, d.role)
          .bind(4, d.state)
          .bind(5, d.next_attempt_ms)
          .bind(6, d.message_id)
          .bind(7, d.pending_since_ms)
          .bind(8, d.late_at_ms)
          .exec();
      d.id = c_.lastInsertRowId();
    }
    return a.id;
  }
  std::optional<core::Alert> alert(int64_t id) override { return selectAlert(c_, id); }
  std::vector<core::Alert> alertsOf(const std::string& study_id, const std::vector<std::string>& classes) override {
    std::string sql = std::string("SELECT ") + kAlertColumns + " WHERE a.study_id=? AND a.class IN (";
    for (size_t i = 0; i < classes.size(); ++i) sql += i ? ",?" : "?";
    sql += classes.empty() ? "NULL) ORDER BY a.id" : ") ORDER BY a.id";
    auto& s = c_.prepare(sql);
    s.bind(1, study_id);
    for (size_t i = 0; i < classes.size(); ++i) s.bind(static_cast<int>(i) + 2, classes[i]);
    std::vector<core::Alert> out;
    while (s.step()) out.push_back(alertFromRow(s));
    return out;
  }
  void ackAlert(int64_t id, const std::string& by) override {
    c_.prepare("UPDATE alerts SET acked_at=?, acked_by=? WHERE id=?").bind(1, now_).bind(2, by).bind(3, id).exec();
  }
  void markEscalated(int64_t id) override {
    c_.prepare("UPDATE alerts SET escalated_at=? WHERE id=?").bind(1, now_).bind(2, id).exec();
  }
  void setEscalation(int64_t id, std::optional<int64_t> escalate_at_ms) override {
    c_.prepare("UPDATE alerts SET escalate_at_ms=? WHERE id=? AND escalated_at IS NULL")
        .bind(1, escalate_at_ms)
        .bind(2, id)
        .exec();
  }
  void updateDelivery(const core::AlertDelivery& d) override {
    auto opt = [](const std::string& v) { return v.empty() ? std::nullopt : std::optional<std::string>(v); };
    c_.prepare(
          "UPDATE alert_deliveries SET state=?, attempts=?, next_attempt_ms=?, last_error=?, sent_at=?, pending_since_ms=?, "
          "late_at_ms=? WHERE id=?")
        .bind(1, d.state)
        .bind(2, d.attempts)
        .bind(3, d.next_attempt_ms)
        .bind(4, opt(d.last_error))
        .bind(5, opt(d.sent_at))
        .bind(6, d.pending_since_ms)
        .bind(7, d.late_at_ms)
        .bind(8, d.id)
        .exec();
  }
  const std::string& now() const override { return now_; }

 private:
  void insertVersionRow(int64_t ae_id, const core::AeVersion& v) {
    auto opt = [](const auto& o) -> std::optional<std::string> {
      if (!o) return std::nullopt;
      return std::string(core::toString(*o));
    };
    auto& s = c_.prepare(
        "INSERT INTO ae_versions(ae_id, version, aeterm, aedecod, aelltcd, aetoxgr, aeser, aesdth, aeslife, aeshosp, "
        "aesdisab, aescong, aesmie, aerel_anlotinib, aerel_sintilimab, aeacn_anlotinib, aeacn_sintilimab, aeout, "
        "aestdtc, aeendtc, site_aware_at, narrative, recorded_at, recorded_by, reason, sponsor_rel_anlotinib, "
        "sponsor_rel_sintilimab, sponsor_aware_at, steroid_start, voided) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, ae_id).bind(2, v.version).bind(3, v.verbatim).bind(4, v.ctcae_term).bind(5, v.meddra_code);
    s.bind(6, v.grade).bind(7, yn(v.serious()));
    for (size_t i = 0; i < core::kSeriousnessCriteria.size(); ++i)
      s.bind(8 + static_cast<int>(i), yn(v.hasCriterion(core::kSeriousnessCriteria[i])));
    s.bind(14, opt(v.per_drug[0].relatedness)).bind(15, opt(v.per_drug[1].relatedness));
    s.bind(16, opt(v.per_drug[0].action)).bind(17, opt(v.per_drug[1].action));
    s.bind(18, core::toString(v.outcome)).bind(19, v.start).bind(20, v.end).bind(21, v.site_aware_at);
    s.bind(22, v.narrative).bind(23, v.recorded_at).bind(24, v.recorded_by).bind(25, v.reason);
    s.bind(26, opt(v.sponsor_relatedness[0])).bind(27, opt(v.sponsor_relatedness[1]));
    s.bind(28, v.sponsor_aware_at).bind(29, v.steroid_start).bind(30, v.voided ? 1 : 0);
    s.exec();
  }

  Connection& c_;
  std::string now_;
  const std::string& audit_key_;
  int64_t seq_ = 0;
  std::string head_;
};

}  // namespace

struct SqliteStore::Job {
  const std::function<Status(Transaction&)>* work;
  Status status;
  std::promise<void> done;
};

SqliteStore::SqliteStore(SqliteOptions options, const core::Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  writer_ = std::make_unique<Connection>(options_.path, false);
  writer_->execute("PRAGMA journal_mode=WAL");
  writer_->execute("PRAGMA synchronous=FULL");
  // A 10,000-row lab batch with its audit rows is ~6 MB of pages: keep a whole group's pages in
  // memory so a large transaction does not spill to the WAL twice.
  writer_->execute("PRAGMA cache_size=-65536");
  writer_->execute("PRAGMA wal_autocheckpoint=0");
  // After a checkpoint resets the WAL, SQLite truncates the file back to this size.
  writer_->execute("PRAGMA journal_size_limit=" + std::to_string(kWalLimitBytes));
  {
    auto& mode = writer_->prepare("PRAGMA journal_mode");
    if (mode.step()) journal_mode_ = mode.text(0);
    mode.reset();
    auto& page = writer_->prepare("PRAGMA page_size");
    if (page.step()) page_size_ = page.int64(0);
    page.reset();
    auto& sync = writer_->prepare("PRAGMA synchronous");
    if (sync.step()) synchronous_ = sync.integer(0);
    sync.reset();
  }
  if (journal_mode_ != "wal") throw SqliteError(SQLITE_ERROR, "cannot switch " + options_.path + " to WAL mode");
  if (options_.migrate_on_open) applyMigrations(*writer_, clock_);
  for (int i = 0; i < std::max(1, options_.read_connections); ++i) {
    auto r = std::make_unique<Reader>();
    r->connection = std::make_unique<Connection>(options_.path, false);
    r->connection->execute("PRAGMA query_only=1");
    readers_.push_back(std::move(r));
  }
  checkpointer_ = std::make_unique<Connection>(options_.path, false);
  openAnchor();
  writer_thread_ = std::thread([this] { writerLoop(); });
  checkpoint_thread_ = std::thread([this] { checkpointLoop(); });
}

void SqliteStore::checkpointLoop() {
  std::unique_lock lock(queue_mutex_);
  while (!stopping_) {
    checkpoint_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    if (stopping_ || !checkpoint_due_) continue;
    checkpoint_due_ = false;
    lock.unlock();
    try {
      // PASSIVE never blocks the writer or readers; what it cannot copy now it copies next time.
      // But under constant writes and reads the WAL is never reset by PASSIVE alone and grows
      // without bound (the soak filled 1.5 GB with a 234 MB database): once it holds more than
      // journal_size_limit, a RESTART checkpoint waits (busy timeout) for the readers to reach the
      // latest snapshot, so the next writer starts the WAL again and SQLite truncates the file.
      auto& passive = checkpointer_->prepare("PRAGMA wal_checkpoint(PASSIVE)");
      int64_t wal_frames = 0;
      if (passive.step()) wal_frames = passive.int64(1);
      passive.reset();
      if (wal_frames * page_size_ > kWalLimitBytes) checkpointer_->execute("PRAGMA wal_checkpoint(RESTART)");
    } catch (const SqliteError& e) {
      log()->warn("background checkpoint failed: {}", e.what());
    }
    lock.lock();
  }
}

void SqliteStore::openAnchor() {
  if (options_.anchor_path.empty()) return;
  const audit::Head head = selectAuditHead(*writer_);
  auto anchor = audit::readAnchor(options_.anchor_path, options_.audit_key);
  {
    std::lock_guard lock(anchor_mutex_);
    if (!anchor.isOk()) {
      anchor_problem_ = anchor.status().message();
    } else if (!anchor.value()) {
      if (head.seq == 0) anchor_live_ = true;  // a new database: anchor the empty chain
      else
        anchor_problem_ = "the audit anchor " + options_.anchor_path + " is missing for a chain of " +
                          std::to_string(head.seq) + " rows";
    } else {
      const audit::Head& a = *anchor.value();
      const auto hash = a.seq == 0 ? std::optional<std::string>(audit::kGenesisHash) : selectAuditHash(*writer_, a.seq);
      if (a.seq > head.seq || !hash || *hash != a.hash) {
        anchor_problem_ = "the audit anchor " + options_.anchor_path + " (row " + std::to_string(a.seq) +
                          ") does not match the database (newest row " + std::to_string(head.seq) + ")";
      } else {
        anchor_live_ = true;
        anchored_seq_ = a.seq;
      }
    }
    if (anchor_problem_) {
      // Left untouched: it is the evidence of what the database lost.
      log()->error("{}; it is left as it is and not updated: run vigilctl audit verify", *anchor_problem_);
      return;
    }
  }
  // A new database gets its anchor now; one that lags after a crash catches up.
  advanceAnchor(head);
}

void SqliteStore::advanceAnchor(const audit::Head& head) {
  std::lock_guard lock(anchor_mutex_);
  if (!anchor_live_ || head.seq <= anchored_seq_) return;  // never backwards: the anchor only grows
  auto written = audit::writeAnchor(options_.anchor_path, head, options_.audit_key);
  if (!written.isOk()) {
    log()->warn("{} (it lags the database until the next commit)", written.message());
    return;
  }
  anchored_seq_ = head.seq;
}

std::optional<std::string> SqliteStore::anchorProblem() const {
  std::lock_guard lock(anchor_mutex_);
  return anchor_problem_;
}

Result<audit::Head> SqliteStore::reanchor() {
  if (options_.anchor_path.empty()) return Status::invalid("no anchor file is configured");
  auto head = read<audit::Head>([](Connection& c) { return selectAuditHead(c); });
  if (!head.isOk()) return head.status();
  std::lock_guard lock(anchor_mutex_);
  auto written = audit::writeAnchor(options_.anchor_path, head.value(), options_.audit_key);
  if (!written.isOk()) return written;
  anchor_live_ = true;
  anchor_problem_.reset();
  anchored_seq_ = std::max(anchored_seq_, head.value().seq);
  return head;
}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::close() {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_ && !writer_thread_.joinable()) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  checkpoint_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  checkpointer_.reset();
  readers_.clear();
  if (writer_) {
    try {
      writer_->execute("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (const SqliteError& e) {
      log()->warn("checkpoint at close failed: {}", e.what());
    }
    writer_.reset();
  }
}

Status SqliteStore::write(const std::function<Status(Transaction&)>& work) {
  Job job{&work, Status::ok(), {}};
  auto done = job.done.get_future();
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) return Status::unavailable("store is shutting down");
    queue_.push_back(&job);
  }
  queue_cv_.notify_one();
  done.wait();
  return job.status;
}

void SqliteStore::writerLoop() {
  std::deque<Job*> group;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every queued unit has been served
      const size_t n = std::min(queue_.size(), static_cast<size_t>(options_.max_group));
      group.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    runGroup(group);
    for (Job* job : group) job->done.set_value();
    group.clear();
  }
}

void SqliteStore::runGroup(std::deque<Job*>& group) {
  Connection& c = *writer_;
  try {
    c.execute("BEGIN IMMEDIATE");
  } catch (const SqliteError& e) {
    log()->error("cannot begin a write transaction: {}", e.what());
    noteWriteFailure(std::string("cannot begin a write transaction: ") + e.what());
    for (Job* job : group) job->status = Status::unavailable("database busy or unavailable");
    return;
  }
  bool any_ok = false;
  try {
    SqliteTransaction tx(c, core::formatTimestamp(clock_.nowMs()), options_.audit_key);
    const int64_t seq_before = tx.head().seq;
    for (Job* job : group) {
      const auto mark = tx.mark();
      c.execute("SAVEPOINT unit");
      try {
        job->status = (*job->work)(tx);
      } catch (const SqliteError& e) {
        const bool constraint = (e.code() & 0xff) == SQLITE_CONSTRAINT;
        if (!constraint) {
          log()->error("write failed: {}", e.what());
          noteWriteFailure(std::string("write failed: ") + e.what());
        }
        job->status = constraint ? Status::conflict(std::string("conflicts with stored data: ") + e.what())
                                 : Status::unavailable("database error");
      } catch (const std::exception& e) {
        log()->error("write failed: {}", e.what());
        job->status = Status::internal("internal error");
      }
      if (job->status.isOk()) {
        c.execute("RELEASE unit");
        any_ok = true;
      } else {
        c.execute("ROLLBACK TO unit");
        c.execute("RELEASE unit");
        tx.restore(mark);
      }
    }
    c.execute("COMMIT");
    if (any_ok) {
      commits_.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard problem_lock(write_problem_mutex_);
        write_problem_.reset();  // writes work again
      }
      {
        std::lock_guard lock(queue_mutex_);
        checkpoint_due_ = true;
      }
      // After the commit, never before: the anchor may lag the database, never lead it.
      if (tx.head().seq > seq_before && !options_.anchor_path.empty()) advanceAnchor(tx.head());
    }
  } catch (const std::exception& e) {
    log()->error("commit failed, {} units rolled back: {}", group.size(), e.what());
    noteWriteFailure(std::string("commit failed: ") + e.what());
    try {
      c.execute("ROLLBACK");
    } catch (const std::exception& e2) {
      log()->error("rollback failed: {}", e2.what());
    }
    for (Job* job : group)
      if (job->status.isOk()) job->status = Status::unavailable("commit failed");
  }
}

template <typename T, typename F>
Result<T> SqliteStore::read(F&& fn) {
  if (readers_.empty()) return Status::unavailable("store is closed");
  const size_t start = next_reader_.fetch_add(1, std::memory_order_relaxed) % readers_.size();
  Reader* chosen = nullptr;
  std::unique_lock<std::mutex> lock;
  for (size_t i = 0; i < readers_.size() && !chosen; ++i) {
    Reader* r = readers_[(start + i) % readers_.size()].get();
    std::unique_lock<std::mutex> attempt(r->mutex, std::try_to_lock);
    if (attempt.owns_lock()) {
      chosen = r;
      lock = std::move(attempt);
    }
  }
  if (!chosen) {
    chosen = readers_[start].get();
    lock = std::unique_lock<std::mutex>(chosen->mutex);
  }
  try {
    return Result<T>(fn(*chosen->connection));
  } catch (const SqliteError& e) {
    log()->error("read failed: {}", e.what());
    return Status::unavailable("database read failed");
  }
}


Result<core::User> SqliteStore::userByTokenHash(const std::string& token_hash) {
  auto r = read<std::optional<core::User>>([&](Connection& c) -> std::optional<core::User> {
    auto& s = c.prepare("SELECT id, name, role, disabled FROM users WHERE token_hash=?");
    s.bind(1, token_hash);
    if (!s.step()) return std::nullopt;
    core::User u = userFromRow(s);
    s.reset();
    auto& sites = c.prepare("SELECT site_id FROM user_sites WHERE user_id=? ORDER BY site_id");
    sites.bind(1, u.id);
    while (sites.step()) u.sites.push_back(sites.text(0));
    return u;
  });
  if (!r.isOk()) return r.status();
  if (!r.value() || r.value()->disabled) return Status::unauthenticated("unknown or disabled token");
  return *r.value();
}

Result<std::vector<core::User>> SqliteStore::users() {
  return read<std::vector<core::User>>([&](Connection& c) {
    std::vector<core::User> out;
    auto& s = c.prepare("SELECT id, name, role, disabled FROM users ORDER BY name");
    while (s.step()) out.push_back(userFromRow(s));
    auto& sites = c.prepare("SELECT site_id FROM user_sites WHERE user_id=? ORDER BY site_id");
    for (auto& u : out) {
      sites.bind(1, u.id);
      while (sites.step()) u.sites.push_back(sites.text(0));
      sites.reset();
    }
    return out;
  });
}

Result<std::optional<core::Participant>> SqliteStore::participant(const std::string& study_id) {
  return read<std::optional<core::Participant>>([&](Connection& c) { return selectParticipant(c, study_id); });
}

Result<std::vector<core::Participant>> SqliteStore::participants(const std::optional<std::vector<std::string>>& sites) {
  return read<std::vector<core::Participant>>([&](Connection& c) {
    std::vector<core::Participant> out;
    auto collect = [&](Statement& s) {
      while (s.step()) out.push_back(participantFromRow(s));
    };
    if (!sites) {
      collect(c.prepare(std::string("SELECT ") + kParticipantColumns + " FROM participants WHERE voided=0 ORDER BY study_id"));
    } else {
      for (const auto& site : *sites) {
        auto& s = c.prepare(std::string("SELECT ") + kParticipantColumns +
                            " FROM participants WHERE site_id=? AND voided=0 ORDER BY study_id");
        s.bind(1, site);
        collect(s);
      }
    }
    for (auto& p : out) loadBaselineLabs(c, p);
    return out;
  });
}

Result<std::vector<core::DoseRecord>> SqliteStore::doses(const std::string& study_id, Page page) {
  return read<std::vector<core::DoseRecord>>([&](Connection& c) { return selectDoses(c, study_id, page); });
}

Result<std::optional<core::AeReport>> SqliteStore::adverseEvent(int64_t id) {
  return read<std::optional<core::AeReport>>([&](Connection& c) { return selectAdverseEvent(c, id); });
}

Result<std::vector<core::AeReport>> SqliteStore::adverseEvents(const core::AeFilter& f) {
  return read<std::vector<core::AeReport>>([&](Connection& c) { return selectAdverseEvents(c, f); });
}

Result<std::vector<core::LabResult>> SqliteStore::labs(const std::string& study_id, Page page) {
  return read<std::vector<core::LabResult>>([&](Connection& c) { return selectLabs(c, study_id, page); });
}

Result<std::optional<History>> SqliteStore::history(const std::string& study_id) {
  return read<std::optional<History>>([&](Connection& c) { return selectHistory(c, study_id); });
}

Result<std::vector<core::PregnancyReport>> SqliteStore::pregnancies(const std::string& study_id, Page page) {
  return read<std::vector<core::PregnancyReport>>([&](Connection& c) { return selectPregnancies(c, study_id, page); });
}

Result<std::vector<core::ConcomitantMedication>> SqliteStore::medications(const std::string& study_id, Page page) {
  return read<std::vector<core::ConcomitantMedication>>([&](Connection& c) { return selectMedications(c, study_id, page); });
}

Result<std::vector<ParticipantVersion>> SqliteStore::participantVersions(const std::string& study_id) {
  return read<std::vector<ParticipantVersion>>([&](Connection& c) { return selectParticipantVersions(c, study_id); });
}

Result<std::vector<core::DoseRecord>> SqliteStore::doseVersions(int64_t id) {
  return read<std::vector<core::DoseRecord>>([&](Connection& c) { return versionsOf(c, kDoses, id); });
}

Result<std::vector<core::LabResult>> SqliteStore::labVersions(int64_t id) {
  return read<std::vector<core::LabResult>>([&](Connection& c) { return versionsOf(c, kLabs, id); });
}

Result<std::vector<core::VitalSigns>> SqliteStore::vitalSignsVersions(int64_t id) {
  return read<std::vector<core::VitalSigns>>([&](Connection& c) { return versionsOf(c, kVitals, id); });
}

Result<std::vector<core::PregnancyReport>> SqliteStore::pregnancyVersions(int64_t id) {
  return read<std::vector<core::PregnancyReport>>([&](Connection& c) { return versionsOf(c, kPregnancies, id); });
}

Result<std::vector<core::ConcomitantMedication>> SqliteStore::medicationVersions(int64_t id) {
  return read<std::vector<core::ConcomitantMedication>>([&](Connection& c) { return versionsOf(c, kMedications, id); });
}

Result<std::vector<core::SafetyChange>> SqliteStore::safetyChanges(const std::string& study_id, Page page) {
  return read<std::vector<core::SafetyChange>>([&](Connection& c) {
    return pageOfParticipant<core::SafetyChange>(
        c,
        "SELECT id, study_id, at, kind, subject, detail, actor, cause FROM safety_changes "
        "WHERE study_id=? AND id>? ORDER BY id LIMIT ?",
        study_id, page, safetyChangeFromRow);
  });
}

Result<std::vector<core::VitalSigns>> SqliteStore::vitals(const std::string& study_id, Page page) {
  return read<std::vector<core::VitalSigns>>([&](Connection& c) { return selectVitals(c, study_id, page); });
}

Result<std::vector<audit::AuditEntry>> SqliteStore::auditEntries() {
  return read<std::vector<audit::AuditEntry>>([](Connection& c) { return selectAudit(c); });
}

Result<std::vector<audit::AuditEntry>> SqliteStore::auditEntriesFrom(int64_t first_seq) {
  return read<std::vector<audit::AuditEntry>>([&](Connection& c) { return selectAudit(c, first_seq); });
}

Result<std::vector<AuditRow>> SqliteStore::auditRows(const AuditFilter& f) {
  return read<std::vector<AuditRow>>([&](Connection& c) {
    std::string sql =
        "SELECT seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash, scheme, study_id "
        "FROM audit_log WHERE seq>?";
    std::vector<std::string> texts;
    auto where = [&](const char* clause, const std::optional<std::string>& v) {
      if (!v) return;
      sql += clause;
      texts.push_back(*v);
    };
    where(" AND entity=?", f.entity);
    where(" AND entity_id=?", f.entity_id);
    where(" AND study_id=?", f.study_id);
    where(" AND actor=?", f.actor);
    where(" AND at>=?", f.from);
    where(" AND at<=?", f.to);
    if (f.restrict_sites) {
      sql += " AND study_id IN (SELECT study_id FROM participants WHERE site_id IN (";
      for (size_t i = 0; i < f.sites.size(); ++i) sql += i ? ",?" : "?";
      if (f.sites.empty()) sql += "NULL";
      sql += "))";
      for (const auto& site : f.sites) texts.push_back(site);
    }
    sql += " ORDER BY seq LIMIT ?";
    auto& s = c.prepare(sql);
    int i = 1;
    s.bind(i++, f.after_seq);
    for (const auto& t : texts) s.bind(i++, t);
    s.bind(i, static_cast<int64_t>(f.limit));
    std::vector<AuditRow> out;
    while (s.step())
      out.push_back({{s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7), s.text(8),
                      s.text(9), s.text(10)},
                     s.optText(11)});
    return out;
  });
}

Result<audit::Head> SqliteStore::auditHead() {
  return read<audit::Head>([](Connection& c) { return selectAuditHead(c); });
}

Result<AuditSnapshot> SqliteStore::auditSnapshot() {
  return read<AuditSnapshot>([](Connection& c) {
    // One read transaction: every table and the audit trail at the same committed state.
    c.execute("BEGIN");
    struct Finish {
      Connection& c;
      ~Finish() {
        try {
          c.execute("COMMIT");
        } catch (const SqliteError& e) {
          log()->warn("ending the audit snapshot failed: {}", e.what());
        }
      }
    } finish{c};
    AuditSnapshot out;
    out.entries = selectAudit(c);
    {
      auto& s = c.prepare(std::string("SELECT ") + kParticipantColumns + " FROM participants ORDER BY study_id");
      while (s.step()) out.participants.push_back(participantFromRow(s));
    }
    const Page all{0, -1};
    for (auto& p : out.participants) {
      loadBaselineLabs(c, p);
      // Current rows, voided ones included: a void's audit entry is checked like any other.
      for (auto& d : selectDoses(c, p.study_id, all, Rows::kCurrent)) out.doses.push_back(std::move(d));
      for (auto& l : selectLabs(c, p.study_id, all, Rows::kCurrent)) out.labs.push_back(std::move(l));
      for (auto& v : selectVitals(c, p.study_id, all, Rows::kCurrent)) out.vitals.push_back(std::move(v));
      for (auto& g : selectPregnancies(c, p.study_id, all, Rows::kCurrent)) out.pregnancies.push_back(std::move(g));
      for (auto& m : selectMedications(c, p.study_id, all, Rows::kCurrent)) out.medications.push_back(std::move(m));
    }
    core::AeFilter f;
    f.limit = -1;
    f.include_voided = true;  // a void's audit entry is checked like any other
    out.adverse_events = selectAdverseEvents(c, f);
    return out;
  });
}

Result<std::vector<core::AeCandidate>> SqliteStore::candidates(const std::string& study_id, Page page) {
  return read<std::vector<core::AeCandidate>>([&](Connection& c) {
    return pageOfParticipant<core::AeCandidate>(
        c, std::string("SELECT ") + kCandidateColumns + " FROM ae_candidates WHERE study_id=? AND id>? ORDER BY id LIMIT ?",
        study_id, page, candidateFromRow);
  });
}

Result<std::optional<core::AeCandidate>> SqliteStore::candidate(int64_t id) {
  return read<std::optional<core::AeCandidate>>([&](Connection& c) { return selectCandidate(c, id); });
}

Result<std::vector<core::ReportingDeadline>> SqliteStore::deadlines(const core::DeadlineFilter& f) {
  return read<std::vector<core::ReportingDeadline>>([&](Connection& c) {
    // Dynamic WHERE from fixed fragments; every value is bound.
    std::string sql = std::string("SELECT ") + kDeadlineColumns + kDeadlineFrom + " WHERE d.id>?";
    if (f.study_id) sql += " AND r.study_id=?";
    if (f.restrict_sites) {
      sql += " AND p.site_id IN (";
      for (size_t i = 0; i < f.sites.size(); ++i) sql += i ? ",?" : "?";
      sql += f.sites.empty() ? "NULL)" : ")";
    }
    if (f.met) sql += *f.met ? " AND d.met_at IS NOT NULL" : " AND d.met_at IS NULL";
    sql += " ORDER BY d.id LIMIT ?";
    auto& s = c.prepare(sql);
    int i = 1;
    s.bind(i++, f.after_id);
    if (f.study_id) s.bind(i++, *f.study_id);
    if (f.restrict_sites)
      for (const auto& site : f.sites) s.bind(i++, site);
    s.bind(i++, f.limit);
    std::vector<core::ReportingDeadline> out;
    while (s.step()) out.push_back(deadlineFromRow(s));
    return out;
  });
}

Result<std::vector<core::Alert>> SqliteStore::alerts(const core::AlertFilter& f) {
  return read<std::vector<core::Alert>>([&](Connection& c) {
    // Dynamic WHERE from fixed fragments; every value is bound.
    std::string sql = std::string("SELECT ") + kAlertColumns + " WHERE a.id>?";
    if (f.study_id) sql += " AND a.study_id=?";
    if (f.restrict_sites) {
      sql += " AND a.site IN (";
      for (size_t i = 0; i < f.sites.size(); ++i) sql += i ? ",?" : "?";
      sql += f.sites.empty() ? "NULL)" : ")";
    }
    if (f.alert_class) sql += " AND a.class=?";
    if (f.acked) sql += *f.acked ? " AND a.acked_at IS NOT NULL" : " AND a.acked_at IS NULL";
    sql += " ORDER BY a.id LIMIT ?";
    std::vector<core::Alert> out;
    {
      auto& s = c.prepare(sql);
      int i = 1;
      s.bind(i++, f.after_id);
      if (f.study_id) s.bind(i++, *f.study_id);
      if (f.restrict_sites)
        for (const auto& site : f.sites) s.bind(i++, site);
      if (f.alert_class) s.bind(i++, *f.alert_class);
      s.bind(i++, f.limit);
      while (s.step()) out.push_back(alertFromRow(s));
    }
    for (auto& a : out) loadDeliveries(c, a);
    return out;
  });
}

Result<std::optional<core::Alert>> SqliteStore::alert(int64_t id) {
  return read<std::optional<core::Alert>>([&](Connection& c) { return selectAlert(c, id); });
}

namespace {

// Deliveries matching where (over d and a; binds 1 and 2 are now_ms and limit), each inside a
// copy of its alert holding just that delivery.
std::vector<core::Alert> deliveriesWhere(Connection& c, const char* where, const char* order, int64_t now_ms, int limit) {
  // Alert columns 0-11, then the delivery's from 12.
  auto& s = c.prepare(std::string("SELECT a.id, a.dedupe_key, a.class, a.study_id, a.site, a.ref, a.payload, a.created_at, "
                                  "a.escalate_at_ms, a.escalated_at, a.acked_at, a.acked_by, d.id, d.alert_id, d.recipient, "
                                  "d.role, d.state, d.attempts, d.next_attempt_ms, d.last_error, d.sent_at, d.message_id, "
                                  "d.pending_since_ms, d.late_at_ms FROM alert_deliveries d JOIN alerts a ON a.id=d.alert_id "
                                  "WHERE ") +
                      where + " ORDER BY " + order + " LIMIT ?2");
  s.bind(1, now_ms).bind(2, limit);
  std::vector<core::Alert> out;
  while (s.step()) {
    core::Alert alert = alertFromRow(s);
    alert.deliveries.push_back(deliveryFromRow(s, 12));
    out.push_back(std::move(alert));
  }
  return out;
}

}  // namespace

Result<std::vector<core::Alert>> SqliteStore::dueDeliveries(int64_t now_ms, int limit) {
  return read<std::vector<core::Alert>>([&](Connection& c) {
    return deliveriesWhere(c, "d.state='pending' AND d.next_attempt_ms<=?1", "d.next_attempt_ms, d.id", now_ms, limit);
  });
}

Result<std::vector<core::Alert>> SqliteStore::deliveriesIn(DeliveryState state, int64_t now_ms, int limit) {
  return read<std::vector<core::Alert>>([&](Connection& c) {
    switch (state) {
      case DeliveryState::kLate:
        return deliveriesWhere(c, "d.state='pending' AND d.late_at_ms<=?1", "d.late_at_ms, d.id", now_ms, limit);
      case DeliveryState::kDead:
        return deliveriesWhere(c, "d.state='dead' AND ?1=?1", "d.id", now_ms, limit);
      case DeliveryState::kPending:
        break;
    }
    return deliveriesWhere(c, "d.state='pending' AND ?1=?1", "d.id", now_ms, limit);
  });
}

Result<std::vector<core::Alert>> SqliteStore::alertsToEscalate(int64_t now_ms) {
  return read<std::vector<core::Alert>>([&](Connection& c) {
    auto& s = c.prepare(std::string("SELECT ") + kAlertColumns +
                        " WHERE a.escalate_at_ms IS NOT NULL AND a.escalate_at_ms<=? AND a.acked_at IS NULL "
                        "AND a.escalated_at IS NULL ORDER BY a.id");
    s.bind(1, now_ms);
    std::vector<core::Alert> out;
    while (s.step()) out.push_back(alertFromRow(s));
    return out;
  });
}

Result<core::OutboxStats> SqliteStore::outboxStats(int64_t now_ms) {
  return read<core::OutboxStats>([&](Connection& c) {
    core::OutboxStats st;
    auto& s = c.prepare("SELECT state, COUNT(*) FROM alert_deliveries GROUP BY state");
    while (s.step()) {
      const std::string state = s.text(0);
      const int64_t n = s.int64(1);
      if (state == "pending") st.pending = n;
      if (state == "sent") st.sent = n;
      if (state == "dead") st.dead = n;
    }
    auto& l = c.prepare("SELECT COUNT(*) FROM alert_deliveries WHERE state='pending' AND late_at_ms<=?");
    l.bind(1, now_ms);
    if (l.step()) {
      st.late = l.int64(0);
      l.reset();
    }
    auto& o = c.prepare(
        "SELECT MIN(a.created_at) FROM alert_deliveries d JOIN alerts a ON a.id=d.alert_id WHERE d.state='pending'");
    if (o.step()) {
      if (auto oldest = o.optText(0)) {
        if (auto ms = core::parseTimestamp(*oldest)) st.oldest_pending_age_ms = std::max<int64_t>(0, now_ms - *ms);
      }
      o.reset();
    }
    return st;
  });
}

Result<std::vector<std::string>> SqliteStore::siteIds() {
  return read<std::vector<std::string>>([](Connection& c) {
    std::vector<std::string> out;
    auto& s = c.prepare("SELECT id FROM sites ORDER BY id");
    while (s.step()) out.push_back(s.text(0));
    return out;
  });
}

Result<DataCut> SqliteStore::dataCut(const std::string& cut) {
  return read<DataCut>([&](Connection& c) {
    // Memory-mapped reads let the kernel read ahead: a cut scans whole tables, and page-by-page
    // reads of a database that is not in the page cache were the slowest part of an export
    // (7.3 of 11.5 s for 1M AE versions). Only for the cut: reset when it is done.
    c.execute("PRAGMA mmap_size=4294967296");
    // One read transaction: every table is seen at the same committed state.
    c.execute("BEGIN");
    struct Finish {
      Connection& c;
      ~Finish() {
        try {
          c.execute("COMMIT");
          c.execute("PRAGMA mmap_size=0");  // the pool's other reads stay as they were
        } catch (const SqliteError&) {
        }
      }
    } finish{c};
    DataCut out;
    out.cut = cut;
    {
      // The chain's head as of the cut: the newest row written at or before it.
      auto& s = c.prepare("SELECT seq, hash FROM audit_log WHERE at<=? ORDER BY seq DESC LIMIT 1");
      s.bind(1, cut);
      if (s.step()) {
        out.audit_head = {s.int64(0), s.text(1)};
        s.reset();
      }
    }
    {
      auto& s = c.prepare(
          "SELECT max(entity_id) FROM audit_log WHERE entity='dsmb_package' AND action='export' AND at<=?1 AND "
          "entity_id<?1");
      s.bind(1, cut);
      if (s.step() && !s.isNull(0)) out.previous_cut = s.text(0);
      s.reset();
    }
    {
      // Listed by the package (issue 16): corrections and voids since the previous package's cut.
      auto& s = c.prepare(
          "SELECT seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash, scheme, study_id "
          "FROM audit_log WHERE at<=?1 AND at>?2 AND ((action IN ('update','void') AND entity IN ('participant',"
          "'dose','lab_result','vital_signs','pregnancy','concomitant_medication','adverse_event')) OR "
          "(action='withdraw' AND entity='ae_candidate')) ORDER BY seq");
      s.bind(1, cut).bind(2, out.previous_cut.value_or(""));
      while (s.step())
        out.changes.push_back({{s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7),
                                s.text(8), s.text(9), s.text(10)},
                               s.optText(11)});
    }
    {
      // Each participant as its version standing at the cut stated it (issue 16).
      auto& s = c.prepare(
          "SELECT pv.study_id, pv.site_id, pv.enrolled_on, pv.liver_metastases, pv.prior_thoracic_rt, "
          "pv.anlotinib_dose_mg, pv.sintilimab_dose_mg, p.created_at, p.created_by, pv.sex, pv.age, pv.birth_year, "
          "pv.weight_kg, pv.ecog, pv.hbsag, pv.anti_hbc, pv.hbv_dna_iu_ml, pv.fistula_or_perforation_6m, pv.version, "
          "pv.reason, pv.voided FROM participant_versions pv JOIN participants p ON p.study_id=pv.study_id "
          "WHERE p.created_at<=?1 AND pv.recorded_at<=?1 AND NOT EXISTS (SELECT 1 FROM participant_versions n "
          "WHERE n.study_id=pv.study_id AND n.version>pv.version AND n.recorded_at<=?1) ORDER BY pv.study_id");
      s.bind(1, cut);
      while (s.step()) {
        auto p = participantFromRow(s);
        if (!p.revision.voided) out.participants.push_back(std::move(p));  // voided by the cut: not in it
      }
    }
    {
      // Every baseline lab in one query, not one per participant.
      std::unordered_map<std::string, core::Participant*> by_id;
      for (auto& p : out.participants) by_id[p.study_id] = &p;
      auto& s = c.prepare(std::string("SELECT study_id, version, ") + kBaselineLabColumns + " FROM baseline_labs ORDER BY id");
      while (s.step()) {
        auto p = by_id.find(s.text(0));
        if (p == by_id.end()) continue;  // a participant enrolled after the cut
        if (s.integer(1) != p->second->revision.version) continue;  // another version's
        p->second->baseline_labs.push_back(baselineLabFromRow(s, 2));
      }
    }
    {
      auto& s = c.prepare(std::string("SELECT ") + kDoses.select + kStoodAtCut + " ORDER BY r.study_id, r.dose_date, r.record_id");
      s.bind(1, cut);
      while (s.step()) out.doses.push_back(doseFromRow(s));
    }
    std::unordered_set<int64_t> voided_at_cut;
    {
      // SQLite takes the bare columns of a MAX() aggregate from the row holding the maximum: the
      // latest version recorded by the cut.
      auto& s = c.prepare(std::string("SELECT r.id, r.study_id, p.site_id, ") + kAeVersionColumns +
                          ", MAX(v.version), (SELECT f.recorded_at FROM ae_versions f WHERE f.ae_id=v.ae_id AND f.version=1)"
                          " FROM ae_versions v JOIN ae_reports r ON r.id=v.ae_id"
                          " JOIN participants p ON p.study_id=r.study_id WHERE v.recorded_at<=? GROUP BY v.ae_id"
                          " ORDER BY v.ae_id");
      s.bind(1, cut);
      while (s.step()) {
        core::AeReport r;
        r.id = s.int64(0);
        r.study_id = s.text(1);
        r.site = s.text(2);
        r.versions.push_back(aeVersionFromRow(s, 3));
        r.entered_at = s.text(3 + kAeVersionColumnCount + 1);  // after the version columns and MAX(v.version)
        if (r.current().voided) {  // voided by the cut (issue 16): out of the package, its clocks too
          voided_at_cut.insert(r.id);
          continue;
        }
        out.adverse_events.push_back(std::move(r));
      }
    }
    {
      auto& s = c.prepare(std::string("SELECT ") + kLabs.select + kStoodAtCut +
                          " ORDER BY r.study_id, r.collected_at, r.record_id");
      s.bind(1, cut);
      while (s.step()) out.labs.push_back(labFromRow(s));
    }
    // Candidates and clocks are rewritten in place after they are written (a higher grade, an
    // earlier due date, a report recorded). The audit trail holds each row as it was before a
    // change: the first change after the cut gives the row as it stood at the cut.
    std::unordered_map<int64_t, std::pair<int, int>> grade_at_cut;             // candidate -> grades
    std::unordered_map<int64_t, std::pair<std::string, std::string>> due_at_cut;  // deadline -> due, anchor
    std::unordered_set<int64_t> met_after_cut, outcome_after_cut;
    {
      auto& s = c.prepare(
          "SELECT entity, action, entity_id, json_extract(before,'$.grade'), json_extract(before,'$.worst_case_grade'), "
          "json_extract(before,'$.due'), json_extract(before,'$.anchor') FROM audit_log "
          "WHERE at>? AND ((entity='ae_candidate' AND action='update') OR (entity='deadline' AND action IN ('update','met')) "
          "OR (entity='pregnancy' AND action='outcome')) "
          "ORDER BY seq");
      s.bind(1, cut);
      while (s.step()) {
        const int64_t id = std::stoll(s.text(2));
        if (s.text(0) == "pregnancy") {
          outcome_after_cut.insert(id);
        } else if (s.text(0) == "ae_candidate") {
          if (!s.isNull(3) && !s.isNull(4)) grade_at_cut.try_emplace(id, s.integer(3), s.integer(4));
        } else if (s.text(1) == "met") {
          met_after_cut.insert(id);
        } else if (!s.isNull(5) && !s.isNull(6)) {
          due_at_cut.try_emplace(id, s.text(5), s.text(6));
        }
      }
    }
    {
      auto& s = c.prepare(std::string("SELECT ") + kCandidateColumns + " FROM ae_candidates WHERE created_at<=? ORDER BY id");
      s.bind(1, cut);
      while (s.step()) {
        auto cand = candidateFromRow(s);
        if (cand.status != core::CandidateStatus::kPending && cand.decided_at > cut) {
          cand.status = core::CandidateStatus::kPending;  // decided after the cut
          cand.ae_id.reset();
          cand.decided_at.clear();
          cand.decided_by.clear();
          cand.decision_reason.clear();
        }
        if (auto g = grade_at_cut.find(cand.id); g != grade_at_cut.end()) {
          cand.grade = g->second.first;
          cand.worst_case_grade = g->second.second;
        }
        out.candidates.push_back(std::move(cand));
      }
    }
    {
      std::unordered_map<int64_t, int> version_at_cut;
      for (const auto& ae : out.adverse_events) version_at_cut[ae.id] = ae.current().version;
      auto& s = c.prepare(std::string("SELECT ") + kDeadlineColumns + kDeadlineFrom + " WHERE d.created_at<=? ORDER BY d.id");
      s.bind(1, cut);
      while (s.step()) {
        auto d = deadlineFromRow(s);
        if (voided_at_cut.count(d.ae_id)) continue;
        if (auto due = due_at_cut.find(d.id); due != due_at_cut.end()) {
          d.due_at = due->second.first;
          d.anchor = due->second.second;
        }
        // Met after the cut (recorded then, or dated then): still open at it.
        if (!d.met_at.empty() && (d.met_at > cut || met_after_cut.count(d.id))) {
          d.met_at.clear();
          d.met_reference.clear();
          d.met_by.clear();
        }
        const auto v = version_at_cut.find(d.ae_id);
        if (d.no_longer_required_since_version && (v == version_at_cut.end() || v->second < *d.no_longer_required_since_version))
          d.no_longer_required_since_version.reset();
        out.deadlines.push_back(std::move(d));
      }
    }
    {
      auto& s = c.prepare("SELECT id, study_id, at, kind, subject, detail, actor, cause FROM safety_changes WHERE at<=? ORDER BY id");
      s.bind(1, cut);
      while (s.step()) out.safety_changes.push_back(safetyChangeFromRow(s));
    }
    {
      auto& s = c.prepare(std::string("SELECT ") + kPregnancies.select + kStoodAtCut + " ORDER BY r.record_id");
      s.bind(1, cut);
      while (s.step()) {
        auto g = pregnancyFromRow(s);
        if (outcome_after_cut.count(g.id)) {  // the outcome was reported after the cut
          g.outcome = "ongoing";
          g.outcome_aware_at.reset();
        }
        out.pregnancies.push_back(std::move(g));
      }
    }
    return out;
  });
}

Result<int> SqliteStore::schemaVersion() {
  return read<int>([](Connection& c) { return currentSchemaVersion(c); });
}

void SqliteStore::noteWriteFailure(const std::string& what) {
  std::lock_guard lock(write_problem_mutex_);
  write_problem_ = what;
}

std::optional<std::string> SqliteStore::writeProblem() const {
  std::lock_guard lock(write_problem_mutex_);
  return write_problem_;
}

uint64_t SqliteStore::commits() const { return commits_.load(std::memory_order_relaxed); }

}  // namespace vigil::store

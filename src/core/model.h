#pragma once
// Domain value types shared by every module. Plain data: no I/O, no JSON, no SQL.
// AE fields follow CDISC SDTM AE (variable names in comments); times are UTC.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::core {

// ---- enumerations with their wire spellings ---------------------------------------------
enum class Role { kInvestigator, kSafetyOfficer, kDsmb, kAdmin };
enum class Drug { kAnlotinib, kSintilimab };
inline constexpr std::array<Drug, 2> kDrugs = {Drug::kAnlotinib, Drug::kSintilimab};
enum class Route { kOral, kIntravenous };
enum class DoseStatus { kGiven, kHeld, kMissed };
// AEREL, five levels.
enum class Relatedness { kNotRelated, kUnlikely, kPossible, kProbable, kDefinite };
// AEACN per drug (SDTM controlled terminology C66767).
enum class ActionTaken { kDoseNotChanged, kDoseReduced, kDoseIncreased, kDrugInterrupted, kDrugWithdrawn, kNotApplicable, kUnknown };
// AEOUT (SDTM controlled terminology C66768).
enum class Outcome { kRecovered, kRecovering, kNotRecovered, kRecoveredWithSequelae, kFatal, kUnknown };
// ICH E2A seriousness criteria; SDTM AESDTH, AESLIFE, AESHOSP, AESDISAB, AESCONG, AESMIE.
enum class Seriousness { kDeath, kLifeThreatening, kHospitalization, kDisability, kCongenitalAnomaly, kImportantMedicalEvent };
inline constexpr std::array<Seriousness, 6> kSeriousnessCriteria = {
    Seriousness::kDeath, Seriousness::kLifeThreatening, Seriousness::kHospitalization,
    Seriousness::kDisability, Seriousness::kCongenitalAnomaly, Seriousness::kImportantMedicalEvent};

std::string_view toString(Role v);
std::string_view toString(Drug v);
std::string_view toString(Route v);
std::string_view toString(DoseStatus v);
std::string_view toString(Relatedness v);
std::string_view toString(ActionTaken v);
std::string_view toString(Outcome v);
std::string_view toString(Seriousness v);

// Parse the wire spelling; nullopt for anything else (case-sensitive).
template <typename E> std::optional<E> parseEnum(std::string_view text);
// All wire spellings of E, for error messages ("one of: a, b, c").
template <typename E> std::string enumChoices();

// ---- people and places -------------------------------------------------------------------
struct User {
  int64_t id = 0;
  std::string name;
  Role role = Role::kInvestigator;
  std::vector<std::string> sites;  // investigator only: the sites they may see and write
  bool disabled = false;
};

// ---- participants --------------------------------------------------------------------------
struct BaselineLab {
  std::string test;  // LBTESTCD, e.g. ALT
  double value = 0;
  std::string unit;
  std::optional<double> lln;
  std::optional<double> uln;
  std::optional<std::string> collected_at;  // UTC timestamp
};

// Baseline facts the rules need (issue 14), all optional; rules/baseline_facts.h reads them.
// Never a name, initials or date of birth.
struct BaselineFacts {
  std::optional<std::string> sex;        // F, M or U (SDTM DM SEX)
  std::optional<int> age;                // whole years at enrolment (SDTM DM AGE)
  std::optional<int> birth_year;         // instead of the age: then the age is one of two
  std::optional<double> weight_kg;
  std::optional<int> ecog;               // ECOG performance status 0-5
  std::optional<std::string> hbsag;      // positive, negative
  std::optional<std::string> anti_hbc;   // positive, negative
  std::optional<double> hbv_dna_iu_ml;   // baseline HBV-DNA (copies/mL / 5)
  std::optional<bool> fistula_or_perforation_6m;  // a fistula or perforation in the 6 months before
};

// Where a correctable record stands (issue 16): version 1 as first recorded, each correction the
// next version; a void is a last version that takes the record out of evaluation, grading,
// candidates and exports. Nothing is overwritten: every version stays readable.
struct Revision {
  int version = 1;
  bool voided = false;
  std::string reason;  // the reason for change given with this version (empty for version 1)
  std::string entered_at;  // when version 1 was recorded: the record's entry, whatever corrected it since
  // When the record was entered: entered_at, or recorded_at for a record read without it.
  const std::string& enteredOr(const std::string& recorded_at) const { return entered_at.empty() ? recorded_at : entered_at; }
};

struct Participant {
  std::string study_id;  // the only identifier Vigil ever holds
  std::string site;
  std::string enrolled_on;  // YYYY-MM-DD
  bool liver_metastases = false;
  bool prior_thoracic_radiotherapy = false;
  std::optional<int> anlotinib_dose_mg = 12;    // null once discontinued
  std::optional<int> sintilimab_dose_mg = 200;  // null once discontinued
  std::vector<BaselineLab> baseline_labs;
  BaselineFacts facts;
  std::string created_at;
  std::string created_by;
  Revision revision;  // never voided: a participant is corrected, not voided
};

// ---- dosing ---------------------------------------------------------------------------------
struct DoseRecord {
  int64_t id = 0;
  std::string study_id;
  Drug drug = Drug::kAnlotinib;
  std::optional<double> dose_mg;  // absent when held or missed
  Route route = Route::kOral;
  std::string date;  // YYYY-MM-DD
  int cycle = 1;
  int day = 1;
  DoseStatus status = DoseStatus::kGiven;
  std::string recorded_at;
  std::string recorded_by;
  Revision revision;  // recorded_at and recorded_by are this version's
};

// ---- adverse events -------------------------------------------------------------------------
struct PerDrug {
  std::optional<Relatedness> relatedness;  // AEREL for this drug
  std::optional<ActionTaken> action;       // AEACN for this drug
};

// One version of an AE report. Versions are immutable once stored.
struct AeVersion {
  int version = 1;
  std::string verbatim;     // AETERM
  std::string ctcae_term;   // AEDECOD (CTCAE v5.0 term, a MedDRA LLT)
  std::string meddra_code;  // AELLTCD
  int grade = 1;            // AETOXGR
  std::vector<Seriousness> serious_criteria;  // AESER = Y iff non-empty
  std::array<PerDrug, 2> per_drug;            // indexed by Drug
  Outcome outcome = Outcome::kUnknown;        // AEOUT
  std::string start;                          // AESTDTC: date or timestamp
  std::optional<std::string> end;             // AEENDTC
  std::string site_aware_at;                  // when the site learnt of the event
  // The sponsor's causality per drug and when the sponsor learnt of the event (CDE 2018: either
  // party's "possible" makes it related; SUSAR clocks start at sponsor awareness).
  std::array<std::optional<Relatedness>, 2> sponsor_relatedness;  // indexed by Drug
  std::optional<std::string> sponsor_aware_at;
  std::optional<std::string> steroid_start;  // date: starts the second 12-week clock (irAEs)
  std::string narrative;
  std::string recorded_at;
  std::string recorded_by;
  std::string reason;  // why this version replaced the previous one; empty for version 1
  bool voided = false;  // a void (issue 16): the report's last version, out of evaluation and exports

  bool serious() const { return !serious_criteria.empty(); }
  bool hasCriterion(Seriousness s) const;
};

struct AeReport {
  int64_t id = 0;
  std::string study_id;
  std::string site;
  std::vector<AeVersion> versions;  // oldest first; back() is current
  std::string entered_at;  // when version 1 was recorded (also where `versions` holds the current one only)
  const AeVersion& current() const { return versions.back(); }
};

struct AeFilter {
  std::optional<std::string> study_id;
  std::vector<std::string> sites;  // empty = all sites the caller may see
  bool restrict_sites = false;     // true: only the listed sites
  std::optional<std::string> site;
  std::optional<std::string> start_from;  // inclusive, compares on AESTDTC's date part
  std::optional<std::string> start_to;    // inclusive
  std::optional<std::string> term;        // case-insensitive CTCAE term
  std::optional<int> grade;
  std::optional<bool> serious;
  bool include_voided = false;  // voided reports are left out unless asked for (the audit check)
  int64_t after_id = 0;
  int limit = 100;
};

// ---- labs and vital signs -------------------------------------------------------------------
struct LabResult {
  int64_t id = 0;
  std::string study_id;
  std::string test;  // LBTESTCD
  double value = 0;  // LBORRES as a number
  std::string unit;  // LBORRESU
  std::optional<double> lln;  // LBORNRLO
  std::optional<double> uln;  // LBORNRHI
  std::string collected_at;   // LBDTC
  std::string specimen;       // LBSPEC
  std::string recorded_at;
  std::string recorded_by;
  std::string grades_json = "[]";  // CTCAE grades computed on arrival (LBTOXGR per term)
  // The unit as Vigil spells it (ctcae/units.json: "MG/DL" -> "mg/dL", "G/L" for a count ->
  // "10^9/L"), kept beside `unit` as it was sent; empty for a test Vigil does not grade.
  std::string unit_canonical;
  Revision revision;  // recorded_at and recorded_by are this version's
};

struct VitalSigns {
  int64_t id = 0;
  std::string study_id;
  std::string measured_at;
  std::optional<int> systolic_mmhg;
  std::optional<int> diastolic_mmhg;
  std::optional<int> heart_rate_bpm;
  std::optional<double> temperature_c;
  std::optional<double> weight_kg;
  std::optional<int> qtc_ms;
  std::string recorded_at;
  std::string recorded_by;
  std::string grades_json = "[]";  // CTCAE grades computed on arrival
  Revision revision;  // recorded_at and recorded_by are this version's
};

// A reporting clock of an AE (clinical-rules.md section 6.2), kept once opened: a later version
// that no longer needs it marks it, never deletes it.
struct ReportingDeadline {
  int64_t id = 0;
  int64_t ae_id = 0;
  std::string study_id;
  std::string site;
  std::string kind;  // sae_24h, aesi_24h, susar_7d, susar_followup_8d, susar_15d
  std::string due_at;
  std::string anchor;
  int opened_in_version = 1;
  std::optional<int> no_longer_required_since_version;
  std::string met_at;  // empty while open
  std::string met_reference;
  std::string met_by;
  std::string created_at;
};

struct DeadlineFilter {
  std::optional<std::string> study_id;
  bool restrict_sites = false;
  std::vector<std::string> sites;
  std::optional<bool> met;  // nullopt: both
  int64_t after_id = 0;
  int limit = 1000;
};

// A CTCAE grade derived from a lab value or vital sign that is worse than the participant's
// baseline: it waits for the investigator, and is not an AE until confirmed.
enum class CandidateStatus { kPending, kConfirmed, kDismissed };
std::string_view toString(CandidateStatus v);

struct AeCandidate {
  int64_t id = 0;
  std::string study_id;
  std::string ctcae_term;
  std::string meddra_code;
  int grade = 0;
  int worst_case_grade = 0;
  std::string qualifier;
  int baseline_grade = 0;
  std::string source;                 // "lab" or "vitals"
  std::vector<int64_t> source_ids;    // lab result or vital-sign ids behind the grade
  bool from_24h_urine = false;        // Proteinuria from a 24-hour collection (overrides dipstick)
  CandidateStatus status = CandidateStatus::kPending;
  std::optional<int64_t> ae_id;       // the AE it became, once confirmed
  std::string decided_by;
  std::string decided_at;
  std::string decision_reason;
  std::string created_at;
  std::string updated_at;
};

// A pregnancy of a participant or a participant's partner (clinical-rules.md section 6.4): not
// an AE, reported on a pregnancy form within 24 h and followed to its outcome.
struct PregnancyReport {
  int64_t id = 0;
  std::string study_id;
  std::string site;
  std::string subject;        // participant, partner
  std::string site_aware_at;  // UTC timestamp
  std::string outcome = "ongoing";  // ongoing, live_birth, congenital_anomaly, pregnancy_loss, ...
  std::optional<std::string> outcome_aware_at;
  std::string recorded_at;
  std::string recorded_by;
  Revision revision;  // recorded_at and recorded_by are this version's
};

// A concomitant medication (SDTM CM; issue 14): what the rules read of steroid doses,
// anticoagulation and antihypertensive therapy. Dates are whole days (CMSTDTC, CMENDTC), the end
// day included; no end while it continues. Append-only until corrections (issue 16).
struct ConcomitantMedication {
  int64_t id = 0;
  std::string study_id;
  std::string site;
  std::string name;       // CMTRT, the generic name (a corticosteroid's first word is looked up)
  std::string category;   // corticosteroid, anticoagulant, antihypertensive, thyroid_replacement, antiviral, other
  std::string drug_class; // antihypertensive class (e.g. ace_inhibitor); empty when not given
  std::optional<double> dose;  // CMDOSE, per administration
  std::string unit;            // CMDOSU
  std::string route;           // CMROUTE: oral, intravenous, intramuscular, subcutaneous, topical, inhaled, ...
  std::string frequency;       // CMDOSFRQ: once, QD, BID, TID, QID, Q6H, Q8H, Q12H, QOD, QW, PRN
  std::string start;           // YYYY-MM-DD
  std::optional<std::string> end;  // YYYY-MM-DD, the last day taken
  std::string indication;          // CMINDC, free text (never an identifier)
  std::optional<int64_t> indication_ae_id;  // the AE it treats
  std::string recorded_at;
  std::string recorded_by;
  Revision revision;  // recorded_at and recorded_by are this version's
};

// Something the safety rules' evaluation changed for a participant, recorded when it changed (by
// a write or by a clock running out): a drug's recommendation, a new protocol-deviation finding
// or a new on-study flag.
struct SafetyChange {
  int64_t id = 0;
  std::string study_id;
  std::string at;       // UTC timestamp of the evaluation
  std::string kind;     // recommendation, finding, flag
  std::string subject;  // the drug (recommendation), finding code or flag id
  std::string detail;   // JSON text: the new recommendation, finding or flag
  std::string actor;    // the user whose write caused it, or "vigild" for a clock
  std::string cause;    // e.g. "POST /adverse-events", "clock"
};

// ---- alerts (issue 5) ----------------------------------------------------------------------
// One email to one recipient for one alert: the outbox row the dispatcher works through.
struct AlertDelivery {
  int64_t id = 0;
  int64_t alert_id = 0;
  std::string recipient;   // email address
  std::string role;        // investigator, safety_officer, sponsor_pv, medical_monitor
  std::string state;       // pending, sent, dead (given up after outbox.give_up_after_seconds)
  int attempts = 0;
  int64_t next_attempt_ms = 0;  // when a pending delivery is next due
  int64_t pending_since_ms = 0; // when it was queued, or last put back by a retry; its give-up age counts from here
  int64_t late_at_ms = 0;       // past this while still pending it is late (its class's threshold after pending_since)
  std::string last_error;
  std::string sent_at;     // UTC timestamp once sent
  std::string message_id;  // stable RFC 5322 Message-ID, "<...@...>", the same on every attempt
};

// Something a person must hear about (clinical-rules.md section 0.3), raised once per dedupe key
// in the unit of work of the write (or clock) that caused it.
struct Alert {
  int64_t id = 0;
  std::string dedupe_key;   // e.g. "sae:ae/12"; an alert is raised once per key
  std::string alert_class;  // sae, urgent, dose, deviation, reminder, overdue, escalation, digest
  std::string study_id;     // empty for a site digest
  std::string site;
  std::string ref;          // what it is about: ae/12, deadline/3, safety_change/7, alert/5, site/S01
  std::string payload;      // JSON object of coded template fields (never narrative or identifiers)
  std::string created_at;
  std::optional<int64_t> escalate_at_ms;  // unacknowledged by then: escalates (sae, urgent)
  std::string escalated_at;               // when it escalated; empty if not
  std::string acked_at;                   // empty while unacknowledged
  std::string acked_by;
  std::vector<AlertDelivery> deliveries;
};

struct AlertFilter {
  std::optional<std::string> study_id;
  bool restrict_sites = false;
  std::vector<std::string> sites;
  std::optional<std::string> alert_class;
  std::optional<bool> acked;
  int64_t after_id = 0;
  int limit = 1000;
};

// The outbox at a glance, for /healthz and /metrics.
struct OutboxStats {
  int64_t pending = 0;
  int64_t sent = 0;
  int64_t dead = 0;
  int64_t late = 0;                   // pending past their class's late threshold (late_at_ms)
  int64_t oldest_pending_age_ms = 0;  // 0 when nothing is pending
};

}  // namespace vigil::core

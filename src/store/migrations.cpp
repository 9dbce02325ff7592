#include "store/migrations.h"

namespace vigil::store {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "foundation", R"SQL(
CREATE TABLE sites (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  role       TEXT NOT NULL CHECK (role IN ('investigator','safety_officer','dsmb','admin')),
  token_hash TEXT NOT NULL UNIQUE,
  disabled   INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE user_sites (
  user_id INTEGER NOT NULL REFERENCES users(id),
  site_id TEXT NOT NULL REFERENCES sites(id),
  PRIMARY KEY (user_id, site_id)
) WITHOUT ROWID;
CREATE TABLE participants (
  study_id            TEXT PRIMARY KEY,
  site_id             TEXT NOT NULL REFERENCES sites(id),
  enrolled_on         TEXT NOT NULL,
  liver_metastases    INTEGER NOT NULL,
  prior_thoracic_rt   INTEGER NOT NULL,
  anlotinib_dose_mg   INTEGER,
  sintilimab_dose_mg  INTEGER,
  created_at          TEXT NOT NULL,
  created_by          TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX participants_site ON participants(site_id);
CREATE TABLE baseline_labs (
  id           INTEGER PRIMARY KEY,
  study_id     TEXT NOT NULL REFERENCES participants(study_id),
  test_code    TEXT NOT NULL,
  value        REAL NOT NULL,
  unit         TEXT NOT NULL,
  lln          REAL,
  uln          REAL,
  collected_at TEXT
);
CREATE INDEX baseline_labs_participant ON baseline_labs(study_id);
CREATE TABLE doses (
  id          INTEGER PRIMARY KEY,
  study_id    TEXT NOT NULL REFERENCES participants(study_id),
  drug        TEXT NOT NULL,
  dose_mg     REAL,
  route       TEXT NOT NULL,
  dose_date   TEXT NOT NULL,
  cycle       INTEGER NOT NULL,
  cycle_day   INTEGER NOT NULL,
  status      TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  recorded_by TEXT NOT NULL
);
CREATE INDEX doses_participant ON doses(study_id, id);
CREATE TABLE ae_reports (
  id              INTEGER PRIMARY KEY,
  study_id        TEXT NOT NULL REFERENCES participants(study_id),
  current_version INTEGER NOT NULL,
  created_at      TEXT NOT NULL
);
CREATE INDEX ae_reports_participant ON ae_reports(study_id);
CREATE TABLE ae_versions (
  ae_id         INTEGER NOT NULL REFERENCES ae_reports(id),
  version       INTEGER NOT NULL,
  aeterm        TEXT NOT NULL,
  aedecod       TEXT NOT NULL,
  aelltcd       TEXT NOT NULL,
  aetoxgr       INTEGER NOT NULL,
  aeser         TEXT NOT NULL CHECK (aeser IN ('Y','N')),
  aesdth        TEXT NOT NULL,
  aeslife       TEXT NOT NULL,
  aeshosp       TEXT NOT NULL,
  aesdisab      TEXT NOT NULL,
  aescong       TEXT NOT NULL,
  aesmie        TEXT NOT NULL,
  aerel_anlotinib  TEXT,
  aerel_sintilimab TEXT,
  aeacn_anlotinib  TEXT,
  aeacn_sintilimab TEXT,
  aeout         TEXT NOT NULL,
  aestdtc       TEXT NOT NULL,
  aeendtc       TEXT,
  site_aware_at TEXT NOT NULL,
  narrative     TEXT NOT NULL,
  recorded_at   TEXT NOT NULL,
  recorded_by   TEXT NOT NULL,
  reason        TEXT NOT NULL,
  PRIMARY KEY (ae_id, version)
) WITHOUT ROWID;
CREATE TRIGGER ae_versions_no_update BEFORE UPDATE ON ae_versions
  BEGIN SELECT RAISE(ABORT, 'ae_versions is append-only'); END;
CREATE TRIGGER ae_versions_no_delete BEFORE DELETE ON ae_versions
  BEGIN SELECT RAISE(ABORT, 'ae_versions is append-only'); END;
CREATE TABLE lab_results (
  id           INTEGER PRIMARY KEY,
  study_id     TEXT NOT NULL REFERENCES participants(study_id),
  test_code    TEXT NOT NULL,
  value        REAL NOT NULL,
  unit         TEXT NOT NULL,
  lln          REAL,
  uln          REAL,
  collected_at TEXT NOT NULL,
  specimen     TEXT NOT NULL,
  recorded_at  TEXT NOT NULL,
  recorded_by  TEXT NOT NULL
);
CREATE INDEX lab_results_participant ON lab_results(study_id, id);
CREATE TABLE vital_signs (
  id             INTEGER PRIMARY KEY,
  study_id       TEXT NOT NULL REFERENCES participants(study_id),
  measured_at    TEXT NOT NULL,
  systolic_mmhg  INTEGER,
  diastolic_mmhg INTEGER,
  heart_rate_bpm INTEGER,
  temperature_c  REAL,
  weight_kg      REAL,
  qtc_ms         INTEGER,
  recorded_at    TEXT NOT NULL,
  recorded_by    TEXT NOT NULL
);
CREATE INDEX vital_signs_participant ON vital_signs(study_id, id);
CREATE TABLE idempotency_keys (
  user_id      INTEGER NOT NULL REFERENCES users(id),
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  body         TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (user_id, key)
) WITHOUT ROWID;
CREATE TABLE audit_log (
  seq       INTEGER PRIMARY KEY,
  at        TEXT NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  entity    TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  before    TEXT NOT NULL,
  after     TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)SQL"},
      {2, "ctcae_grades_and_candidates", R"SQL(
ALTER TABLE lab_results ADD COLUMN grades TEXT NOT NULL DEFAULT '[]';
ALTER TABLE vital_signs ADD COLUMN grades TEXT NOT NULL DEFAULT '[]';
CREATE TABLE ae_candidates (
  id               INTEGER PRIMARY KEY,
  study_id         TEXT NOT NULL REFERENCES participants(study_id),
  ctcae_term       TEXT NOT NULL,
  meddra_code      TEXT NOT NULL,
  grade            INTEGER NOT NULL,
  worst_case_grade INTEGER NOT NULL,
  qualifier        TEXT NOT NULL,
  baseline_grade   INTEGER NOT NULL,
  source           TEXT NOT NULL CHECK (source IN ('lab','vitals')),
  source_ids       TEXT NOT NULL,
  from_24h_urine   INTEGER NOT NULL DEFAULT 0,
  status           TEXT NOT NULL CHECK (status IN ('pending','confirmed','dismissed')),
  ae_id            INTEGER REFERENCES ae_reports(id),
  decided_by       TEXT,
  decided_at       TEXT,
  decision_reason  TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX ae_candidates_pending ON ae_candidates(study_id, ctcae_term) WHERE status='pending';
CREATE INDEX ae_candidates_participant ON ae_candidates(study_id, id);
)SQL"},
      {3, "reporting_deadlines", R"SQL(
CREATE TABLE deadlines (
  id                INTEGER PRIMARY KEY,
  ae_id             INTEGER NOT NULL REFERENCES ae_reports(id),
  kind              TEXT NOT NULL CHECK (kind IN ('sae_24h','aesi_24h','susar_7d','susar_followup_8d','susar_15d')),
  due_at            TEXT NOT NULL,
  anchor            TEXT NOT NULL,
  opened_in_version INTEGER NOT NULL,
  no_longer_required_since_version INTEGER,
  met_at            TEXT,
  met_reference     TEXT,
  met_by            TEXT,
  created_at        TEXT NOT NULL,
  UNIQUE (ae_id, kind)
);
CREATE INDEX deadlines_due ON deadlines(met_at, due_at);
)SQL"},
      {4, "sponsor_assessment", R"SQL(
ALTER TABLE ae_versions ADD COLUMN sponsor_rel_anlotinib TEXT;
ALTER TABLE ae_versions ADD COLUMN sponsor_rel_sintilimab TEXT;
ALTER TABLE ae_versions ADD COLUMN sponsor_aware_at TEXT;
ALTER TABLE ae_versions ADD COLUMN steroid_start TEXT;
)SQL"},
      {5, "safety_evaluations", R"SQL(
CREATE TABLE safety_state (
  study_id     TEXT PRIMARY KEY REFERENCES participants(study_id),
  state        TEXT NOT NULL,
  evaluated_at TEXT NOT NULL
);
CREATE TABLE safety_changes (
  id       INTEGER PRIMARY KEY,
  study_id TEXT NOT NULL REFERENCES participants(study_id),
  at       TEXT NOT NULL,
  kind     TEXT NOT NULL CHECK (kind IN ('recommendation','finding','flag')),
  subject  TEXT NOT NULL,
  detail   TEXT NOT NULL,
  actor    TEXT NOT NULL,
  cause    TEXT NOT NULL
);
CREATE INDEX safety_changes_participant ON safety_changes(study_id, id);
CREATE TRIGGER safety_changes_no_update BEFORE UPDATE ON safety_changes
  BEGIN SELECT RAISE(ABORT, 'safety_changes is append-only'); END;
CREATE TRIGGER safety_changes_no_delete BEFORE DELETE ON safety_changes
  BEGIN SELECT RAISE(ABORT, 'safety_changes is append-only'); END;
)SQL"},
      {6, "pregnancies", R"SQL(
CREATE TABLE pregnancies (
  id               INTEGER PRIMARY KEY,
  study_id         TEXT NOT NULL REFERENCES participants(study_id),
  subject          TEXT NOT NULL CHECK (subject IN ('participant','partner')),
  site_aware_at    TEXT NOT NULL,
  outcome          TEXT NOT NULL CHECK (outcome IN ('ongoing','live_birth','congenital_anomaly','pregnancy_loss',
                                                    'serious_neonatal_reaction','elective_termination')),
  outcome_aware_at TEXT,
  recorded_at      TEXT NOT NULL,
  recorded_by      TEXT NOT NULL
);
CREATE INDEX pregnancies_participant ON pregnancies(study_id, id);
)SQL"},
      {7, "alert_outbox", R"SQL(
CREATE TABLE alerts (
  id             INTEGER PRIMARY KEY,
  dedupe_key     TEXT NOT NULL UNIQUE,
  class          TEXT NOT NULL CHECK (class IN ('sae','urgent','dose','deviation','reminder','overdue','escalation','digest')),
  study_id       TEXT,
  site           TEXT NOT NULL,
  ref            TEXT NOT NULL,
  payload        TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  escalate_at_ms INTEGER,
  escalated_at   TEXT,
  acked_at       TEXT,
  acked_by       TEXT
);
CREATE INDEX alerts_site ON alerts(site, id);
CREATE INDEX alerts_escalation ON alerts(escalate_at_ms) WHERE escalate_at_ms IS NOT NULL;
CREATE TABLE alert_deliveries (
  id              INTEGER PRIMARY KEY,
  alert_id        INTEGER NOT NULL REFERENCES alerts(id),
  recipient       TEXT NOT NULL,
  role            TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending','sent','dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  last_error      TEXT,
  sent_at         TEXT,
  message_id      TEXT NOT NULL UNIQUE,
  UNIQUE (alert_id, recipient)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries(next_attempt_ms) WHERE state = 'pending';
CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);
CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
  BEGIN SELECT RAISE(ABORT, 'alerts are never deleted'); END;
CREATE TRIGGER alert_deliveries_no_delete BEFORE DELETE ON alert_deliveries
  BEGIN SELECT RAISE(ABORT, 'alert deliveries are never deleted'); END;
)SQL"},
      // A data cut (issue 6) looks up the changes made after it to rows rewritten in place.
      {8, "audit_by_entity_time", R"SQL(
CREATE INDEX audit_log_entity_at ON audit_log(entity, at);
)SQL"},
      // Issue 13: delivery is bounded by age, not by a count of attempts. pending_since_ms is
      // when a delivery was queued (or put back by vigilctl alerts retry); late_at_ms is when it
      // turns late (its class's threshold: urgent 15 min, sae 1 h, others 24 h by default).
      // Existing rows take their alert's creation time and the default thresholds.
      {9, "delivery_age", R"SQL(
ALTER TABLE alert_deliveries ADD COLUMN pending_since_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alert_deliveries ADD COLUMN late_at_ms INTEGER NOT NULL DEFAULT 0;
UPDATE alert_deliveries SET pending_since_ms =
  (SELECT CAST(ROUND((julianday(a.created_at) - 2440587.5) * 86400000) AS INTEGER) FROM alerts a WHERE a.id = alert_id);
UPDATE alert_deliveries SET late_at_ms = pending_since_ms +
  (SELECT CASE a.class WHEN 'urgent' THEN 900000 WHEN 'sae' THEN 3600000 ELSE 86400000 END
   FROM alerts a WHERE a.id = alert_id);
CREATE INDEX alert_deliveries_late ON alert_deliveries(late_at_ms) WHERE state = 'pending';
)SQL"},
      // Issue 13.4: a keyed audit chain and append-only clinical tables. Each audit row names
      // how its hash was made; the rows already stored keep plain SHA-256 ('sha256') and stay
      // verifiable, new rows are HMAC-SHA-256 under the audit key ('hmac-sha256'), and the
      // verifier accepts plain rows only before the first keyed one.
      // Rows that are only ever inserted refuse UPDATE and DELETE. Rows the application rewrites
      // in place refuse DELETE and accept only the rewrite it makes: an AE report moves its
      // current version on by one, a pregnancy gets its outcome; candidates and clocks keep
      // their identity (participant, term; AE, kind).
      {10, "append_only_clinical_tables", R"SQL(
ALTER TABLE audit_log ADD COLUMN scheme TEXT NOT NULL DEFAULT 'sha256';
CREATE TRIGGER participants_no_update BEFORE UPDATE ON participants
  BEGIN SELECT RAISE(ABORT, 'participants is append-only'); END;
CREATE TRIGGER participants_no_delete BEFORE DELETE ON participants
  BEGIN SELECT RAISE(ABORT, 'participants is append-only'); END;
CREATE TRIGGER baseline_labs_no_update BEFORE UPDATE ON baseline_labs
  BEGIN SELECT RAISE(ABORT, 'baseline_labs is append-only'); END;
CREATE TRIGGER baseline_labs_no_delete BEFORE DELETE ON baseline_labs
  BEGIN SELECT RAISE(ABORT, 'baseline_labs is append-only'); END;
CREATE TRIGGER doses_no_update BEFORE UPDATE ON doses
  BEGIN SELECT RAISE(ABORT, 'doses is append-only'); END;
CREATE TRIGGER doses_no_delete BEFORE DELETE ON doses
  BEGIN SELECT RAISE(ABORT, 'doses is append-only'); END;
CREATE TRIGGER lab_results_no_update BEFORE UPDATE ON lab_results
  BEGIN SELECT RAISE(ABORT, 'lab_results is append-only'); END;
CREATE TRIGGER lab_results_no_delete BEFORE DELETE ON lab_results
  BEGIN SELECT RAISE(ABORT, 'lab_results is append-only'); END;
CREATE TRIGGER vital_signs_no_update BEFORE UPDATE ON vital_signs
  BEGIN SELECT RAISE(ABORT, 'vital_signs is append-only'); END;
CREATE TRIGGER vital_signs_no_delete BEFORE DELETE ON vital_signs
  BEGIN SELECT RAISE(ABORT, 'vital_signs is append-only'); END;
CREATE TRIGGER ae_reports_only_next_version BEFORE UPDATE ON ae_reports
  WHEN NEW.id IS NOT OLD.id OR NEW.study_id IS NOT OLD.study_id OR NEW.created_at IS NOT OLD.created_at
    OR NEW.current_version IS NOT OLD.current_version + 1
  BEGIN SELECT RAISE(ABORT, 'ae_reports is append-only: only current_version moves on by one'); END;
CREATE TRIGGER ae_reports_no_delete BEFORE DELETE ON ae_reports
  BEGIN SELECT RAISE(ABORT, 'ae_reports is append-only'); END;
CREATE TRIGGER pregnancies_only_outcome BEFORE UPDATE ON pregnancies
  WHEN NEW.id IS NOT OLD.id OR NEW.study_id IS NOT OLD.study_id OR NEW.subject IS NOT OLD.subject
    OR NEW.site_aware_at IS NOT OLD.site_aware_at OR NEW.recorded_at IS NOT OLD.recorded_at
    OR NEW.recorded_by IS NOT OLD.recorded_by
  BEGIN SELECT RAISE(ABORT, 'pregnancies is append-only: only the outcome is recorded later'); END;
CREATE TRIGGER pregnancies_no_delete BEFORE DELETE ON pregnancies
  BEGIN SELECT RAISE(ABORT, 'pregnancies is append-only'); END;
CREATE TRIGGER ae_candidates_keep_identity BEFORE UPDATE ON ae_candidates
  WHEN NEW.id IS NOT OLD.id OR NEW.study_id IS NOT OLD.study_id OR NEW.ctcae_term IS NOT OLD.ctcae_term
    OR NEW.created_at IS NOT OLD.created_at
  BEGIN SELECT RAISE(ABORT, 'ae_candidates keep their participant and term'); END;
CREATE TRIGGER ae_candidates_no_delete BEFORE DELETE ON ae_candidates
  BEGIN SELECT RAISE(ABORT, 'ae_candidates is append-only'); END;
CREATE TRIGGER deadlines_keep_identity BEFORE UPDATE ON deadlines
  WHEN NEW.id IS NOT OLD.id OR NEW.ae_id IS NOT OLD.ae_id OR NEW.kind IS NOT OLD.kind
    OR NEW.created_at IS NOT OLD.created_at
  BEGIN SELECT RAISE(ABORT, 'deadlines keep their AE and kind'); END;
CREATE TRIGGER deadlines_no_delete BEFORE DELETE ON deadlines
  BEGIN SELECT RAISE(ABORT, 'deadlines is append-only'); END;
)SQL"},
      // Units as laboratories write them (issue 14): the unit as sent stays in `unit`; the
      // spelling Vigil resolved it to sits beside it. Rows from before have '' (not resolved then).
      {11, "lab_unit_canonical", R"SQL(
ALTER TABLE lab_results ADD COLUMN unit_canonical TEXT NOT NULL DEFAULT '';
)SQL"},
      // Issue 14.5: the 'supersede' class, and a participant's alerts by id (a superseding alert
      // looks up the earlier ones). SQLite cannot change a CHECK, so both outbox tables are
      // rebuilt: the new ones are filled, the old dropped (child first; DROP fires no trigger),
      // and the new renamed, which also renames the deliveries' reference to their alert.
      {12, "alert_class_supersede", R"SQL(
CREATE TABLE alerts_v12 (
  id             INTEGER PRIMARY KEY,
  dedupe_key     TEXT NOT NULL UNIQUE,
  class          TEXT NOT NULL CHECK (class IN ('sae','urgent','dose','deviation','reminder','overdue','escalation',
                                                'digest','supersede')),
  study_id       TEXT,
  site           TEXT NOT NULL,
  ref            TEXT NOT NULL,
  payload        TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  escalate_at_ms INTEGER,
  escalated_at   TEXT,
  acked_at       TEXT,
  acked_by       TEXT
);
INSERT INTO alerts_v12(id, dedupe_key, class, study_id, site, ref, payload, created_at, escalate_at_ms, escalated_at,
                       acked_at, acked_by)
  SELECT id, dedupe_key, class, study_id, site, ref, payload, created_at, escalate_at_ms, escalated_at, acked_at,
         acked_by FROM alerts;
CREATE TABLE alert_deliveries_v12 (
  id               INTEGER PRIMARY KEY,
  alert_id         INTEGER NOT NULL REFERENCES alerts_v12(id),
  recipient        TEXT NOT NULL,
  role             TEXT NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('pending','sent','dead')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms  INTEGER NOT NULL,
  last_error       TEXT,
  sent_at          TEXT,
  message_id       TEXT NOT NULL UNIQUE,
  pending_since_ms INTEGER NOT NULL DEFAULT 0,
  late_at_ms       INTEGER NOT NULL DEFAULT 0,
  UNIQUE (alert_id, recipient)
);
INSERT INTO alert_deliveries_v12(id, alert_id, recipient, role, state, attempts, next_attempt_ms, last_error, sent_at,
                                 message_id, pending_since_ms, late_at_ms)
  SELECT id, alert_id, recipient, role, state, attempts, next_attempt_ms, last_error, sent_at, message_id,
         pending_since_ms, late_at_ms FROM alert_deliveries;
DROP TABLE alert_deliveries;
DROP TABLE alerts;
ALTER TABLE alerts_v12 RENAME TO alerts;
ALTER TABLE alert_deliveries_v12 RENAME TO alert_deliveries;
CREATE INDEX alerts_site ON alerts(site, id);
CREATE INDEX alerts_escalation ON alerts(escalate_at_ms) WHERE escalate_at_ms IS NOT NULL;
CREATE INDEX alerts_participant ON alerts(study_id, id);
CREATE INDEX alert_deliveries_due ON alert_deliveries(next_attempt_ms) WHERE state = 'pending';
CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);
CREATE INDEX alert_deliveries_late ON alert_deliveries(late_at_ms) WHERE state = 'pending';
CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
  BEGIN SELECT RAISE(ABORT, 'alerts are never deleted'); END;
CREATE TRIGGER alert_deliveries_no_delete BEFORE DELETE ON alert_deliveries
  BEGIN SELECT RAISE(ABORT, 'alert deliveries are never deleted'); END;
)SQL"},
      // Issue 14: baseline facts for the eligibility criteria and the rules (all optional).
      {13, "participant_baseline_facts", R"SQL(
ALTER TABLE participants ADD COLUMN sex TEXT;
ALTER TABLE participants ADD COLUMN age INTEGER;
ALTER TABLE participants ADD COLUMN birth_year INTEGER;
ALTER TABLE participants ADD COLUMN weight_kg REAL;
ALTER TABLE participants ADD COLUMN ecog INTEGER;
ALTER TABLE participants ADD COLUMN hbsag TEXT;
ALTER TABLE participants ADD COLUMN anti_hbc TEXT;
ALTER TABLE participants ADD COLUMN hbv_dna_iu_ml REAL;
ALTER TABLE participants ADD COLUMN fistula_or_perforation_6m INTEGER;
)SQL"},
      // Issue 14: concomitant medications (SDTM CM), append-only like every clinical record.
      {14, "concomitant_medications", R"SQL(
CREATE TABLE concomitant_medications (
  id               INTEGER PRIMARY KEY,
  study_id         TEXT NOT NULL REFERENCES participants(study_id),
  name             TEXT NOT NULL,
  category         TEXT NOT NULL CHECK (category IN ('corticosteroid','anticoagulant','antihypertensive',
                                                     'thyroid_replacement','antiviral','other')),
  drug_class       TEXT NOT NULL DEFAULT '',
  dose             REAL,
  unit             TEXT NOT NULL DEFAULT '',
  route            TEXT NOT NULL,
  frequency        TEXT NOT NULL,
  start_date       TEXT NOT NULL,
  end_date         TEXT,
  indication       TEXT NOT NULL DEFAULT '',
  indication_ae_id INTEGER REFERENCES ae_reports(id),
  recorded_at      TEXT NOT NULL,
  recorded_by      TEXT NOT NULL
);
CREATE INDEX concomitant_medications_participant ON concomitant_medications(study_id, id);
CREATE TRIGGER concomitant_medications_no_update BEFORE UPDATE ON concomitant_medications
  BEGIN SELECT RAISE(ABORT, 'concomitant_medications is append-only'); END;
CREATE TRIGGER concomitant_medications_no_delete BEFORE DELETE ON concomitant_medications
  BEGIN SELECT RAISE(ABORT, 'concomitant_medications is append-only'); END;
)SQL"},
      // Issue 16, the audit read API: the participant each entry concerns, taken from the study_id
      // of its after (else before) JSON, or its id for a participant or its safety evaluation; the
      // rows already written are filled once (the append-only trigger is lifted for that alone).
      // The column is an index for reading, outside the hash: verify compares the hashed fields.
      {15, "audit_log_study_id", R"SQL(
ALTER TABLE audit_log ADD COLUMN study_id TEXT;
DROP TRIGGER audit_log_no_update;
UPDATE audit_log SET study_id = coalesce(
  json_extract(CASE WHEN json_valid(after) THEN after END, '$.study_id'),
  json_extract(CASE WHEN json_valid(before) THEN before END, '$.study_id'),
  CASE WHEN entity IN ('participant', 'safety') THEN entity_id
       WHEN entity = 'adverse_event' THEN (SELECT study_id FROM ae_reports WHERE id = CAST(audit_log.entity_id AS INTEGER)) END);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE INDEX audit_log_study ON audit_log(study_id, seq);
CREATE INDEX audit_log_entity_id ON audit_log(entity, entity_id, seq);
)SQL"},
      // Issue 16, lab files: a re-sent row is found by participant, test and collection time.
      {16, "lab_results_identity", R"SQL(
CREATE INDEX lab_results_identity ON lab_results(study_id, test_code, collected_at);
)SQL"},
      // Issue 16: every clinical record is correctable and voidable, never overwritten. Doses,
      // lab results, vital signs, concomitant medications and pregnancies keep one row per
      // version: record_id is the record's id (its first row's id), version counts from 1, a void
      // is a last version with voided = 1, and reason is the reason for change. A row's only
      // rewrite is superseded_at, set once when the next version is stored; the current row of
      // a record is the one without it. Participants keep their current facts in place (study_id
      // is the key every record refers to) and every version in participant_versions; baseline
      // labs belong to a participant version.
      {17, "record_versions", R"SQL(
ALTER TABLE doses ADD COLUMN record_id INTEGER;
ALTER TABLE doses ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE doses ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
ALTER TABLE doses ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE doses ADD COLUMN superseded_at TEXT;
DROP TRIGGER doses_no_update;
UPDATE doses SET record_id = id;
CREATE TRIGGER doses_no_update BEFORE UPDATE OF id, study_id, drug, dose_mg, route, dose_date, cycle, cycle_day, status, recorded_at, recorded_by, record_id, version, voided, reason ON doses
  BEGIN SELECT RAISE(ABORT, 'doses is append-only: a row is only marked superseded'); END;
CREATE TRIGGER doses_superseded_once BEFORE UPDATE OF superseded_at ON doses
  WHEN OLD.superseded_at IS NOT NULL OR NEW.superseded_at IS NULL
  BEGIN SELECT RAISE(ABORT, 'doses: a version is superseded once'); END;
CREATE TRIGGER doses_has_record BEFORE INSERT ON doses WHEN NEW.record_id IS NULL
  BEGIN SELECT RAISE(ABORT, 'doses: every row names its record'); END;
CREATE UNIQUE INDEX doses_versions ON doses(record_id, version);
CREATE INDEX doses_live ON doses(study_id, record_id) WHERE superseded_at IS NULL;
ALTER TABLE lab_results ADD COLUMN record_id INTEGER;
ALTER TABLE lab_results ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE lab_results ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lab_results ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE lab_results ADD COLUMN superseded_at TEXT;
DROP TRIGGER lab_results_no_update;
UPDATE lab_results SET record_id = id;
CREATE TRIGGER lab_results_no_update BEFORE UPDATE OF id, study_id, test_code, value, unit, lln, uln, collected_at, specimen, recorded_at, recorded_by, grades, unit_canonical, record_id, version, voided, reason ON lab_results
  BEGIN SELECT RAISE(ABORT, 'lab_results is append-only: a row is only marked superseded'); END;
CREATE TRIGGER lab_results_superseded_once BEFORE UPDATE OF superseded_at ON lab_results
  WHEN OLD.superseded_at IS NOT NULL OR NEW.superseded_at IS NULL
  BEGIN SELECT RAISE(ABORT, 'lab_results: a version is superseded once'); END;
CREATE TRIGGER lab_results_has_record BEFORE INSERT ON lab_results WHEN NEW.record_id IS NULL
  BEGIN SELECT RAISE(ABORT, 'lab_results: every row names its record'); END;
CREATE UNIQUE INDEX lab_results_versions ON lab_results(record_id, version);
CREATE INDEX lab_results_live ON lab_results(study_id, record_id) WHERE superseded_at IS NULL;
ALTER TABLE vital_signs ADD COLUMN record_id INTEGER;
ALTER TABLE vital_signs ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE vital_signs ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vital_signs ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE vital_signs ADD COLUMN superseded_at TEXT;
DROP TRIGGER vital_signs_no_update;
UPDATE vital_signs SET record_id = id;
CREATE TRIGGER vital_signs_no_update BEFORE UPDATE OF id, study_id, measured_at, systolic_mmhg, diastolic_mmhg, heart_rate_bpm, temperature_c, weight_kg, qtc_ms, recorded_at, recorded_by, grades, record_id, version, voided, reason ON vital_signs
  BEGIN SELECT RAISE(ABORT, 'vital_signs is append-only: a row is only marked superseded'); END;
CREATE TRIGGER vital_signs_superseded_once BEFORE UPDATE OF superseded_at ON vital_signs
  WHEN OLD.superseded_at IS NOT NULL OR NEW.superseded_at IS NULL
  BEGIN SELECT RAISE(ABORT, 'vital_signs: a version is superseded once'); END;
CREATE TRIGGER vital_signs_has_record BEFORE INSERT ON vital_signs WHEN NEW.record_id IS NULL
  BEGIN SELECT RAISE(ABORT, 'vital_signs: every row names its record'); END;
CREATE UNIQUE INDEX vital_signs_versions ON vital_signs(record_id, version);
CREATE INDEX vital_signs_live ON vital_signs(study_id, record_id) WHERE superseded_at IS NULL;
ALTER TABLE concomitant_medications ADD COLUMN record_id INTEGER;
ALTER TABLE concomitant_medications ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE concomitant_medications ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
ALTER TABLE concomitant_medications ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE concomitant_medications ADD COLUMN superseded_at TEXT;
DROP TRIGGER concomitant_medications_no_update;
UPDATE concomitant_medications SET record_id = id;
CREATE TRIGGER concomitant_medications_no_update BEFORE UPDATE OF id, study_id, name, category, drug_class, dose, unit, route, frequency, start_date, end_date, indication, indication_ae_id, recorded_at, recorded_by, record_id, version, voided, reason ON concomitant_medications
  BEGIN SELECT RAISE(ABORT, 'concomitant_medications is append-only: a row is only marked superseded'); END;
CREATE TRIGGER concomitant_medications_superseded_once BEFORE UPDATE OF superseded_at ON concomitant_medications
  WHEN OLD.superseded_at IS NOT NULL OR NEW.superseded_at IS NULL
  BEGIN SELECT RAISE(ABORT, 'concomitant_medications: a version is superseded once'); END;
CREATE TRIGGER concomitant_medications_has_record BEFORE INSERT ON concomitant_medications WHEN NEW.record_id IS NULL
  BEGIN SELECT RAISE(ABORT, 'concomitant_medications: every row names its record'); END;
CREATE UNIQUE INDEX concomitant_medications_versions ON concomitant_medications(record_id, version);
CREATE INDEX concomitant_medications_live ON concomitant_medications(study_id, record_id) WHERE superseded_at IS NULL;
ALTER TABLE pregnancies ADD COLUMN record_id INTEGER;
ALTER TABLE pregnancies ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE pregnancies ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pregnancies ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE pregnancies ADD COLUMN superseded_at TEXT;
DROP TRIGGER pregnancies_only_outcome;
UPDATE pregnancies SET record_id = id;
CREATE TRIGGER pregnancies_only_outcome BEFORE UPDATE ON pregnancies
  WHEN NEW.id IS NOT OLD.id OR NEW.study_id IS NOT OLD.study_id OR NEW.subject IS NOT OLD.subject
    OR NEW.site_aware_at IS NOT OLD.site_aware_at OR NEW.recorded_at IS NOT OLD.recorded_at
    OR NEW.recorded_by IS NOT OLD.recorded_by OR NEW.record_id IS NOT OLD.record_id OR NEW.version IS NOT OLD.version
    OR NEW.voided IS NOT OLD.voided OR NEW.reason IS NOT OLD.reason
    OR (OLD.superseded_at IS NOT NULL AND (NEW.outcome IS NOT OLD.outcome OR NEW.outcome_aware_at IS NOT OLD.outcome_aware_at))
  BEGIN SELECT RAISE(ABORT, 'pregnancies is append-only: only the outcome is recorded later'); END;
CREATE TRIGGER pregnancies_superseded_once BEFORE UPDATE OF superseded_at ON pregnancies
  WHEN OLD.superseded_at IS NOT NULL OR NEW.superseded_at IS NULL
  BEGIN SELECT RAISE(ABORT, 'pregnancies: a version is superseded once'); END;
CREATE TRIGGER pregnancies_has_record BEFORE INSERT ON pregnancies WHEN NEW.record_id IS NULL
  BEGIN SELECT RAISE(ABORT, 'pregnancies: every row names its record'); END;
CREATE UNIQUE INDEX pregnancies_versions ON pregnancies(record_id, version);
CREATE INDEX pregnancies_live ON pregnancies(study_id, record_id) WHERE superseded_at IS NULL;
ALTER TABLE participants ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE participants ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE baseline_labs ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX baseline_labs_version ON baseline_labs(study_id, version);
CREATE TABLE participant_versions (
  study_id           TEXT NOT NULL REFERENCES participants(study_id),
  version            INTEGER NOT NULL,
  site_id            TEXT NOT NULL,
  enrolled_on        TEXT NOT NULL,
  liver_metastases   INTEGER NOT NULL,
  prior_thoracic_rt  INTEGER NOT NULL,
  anlotinib_dose_mg  INTEGER,
  sintilimab_dose_mg INTEGER,
  sex TEXT, age INTEGER, birth_year INTEGER, weight_kg REAL, ecog INTEGER, hbsag TEXT, anti_hbc TEXT,
  hbv_dna_iu_ml REAL, fistula_or_perforation_6m INTEGER,
  reason             TEXT NOT NULL,
  recorded_at        TEXT NOT NULL,
  recorded_by        TEXT NOT NULL,
  PRIMARY KEY (study_id, version)
) WITHOUT ROWID;
INSERT INTO participant_versions
  SELECT study_id, 1, site_id, enrolled_on, liver_metastases, prior_thoracic_rt, anlotinib_dose_mg, sintilimab_dose_mg,
         sex, age, birth_year, weight_kg, ecog, hbsag, anti_hbc, hbv_dna_iu_ml, fistula_or_perforation_6m, '',
         created_at, created_by FROM participants;
CREATE TRIGGER participant_versions_no_update BEFORE UPDATE ON participant_versions
  BEGIN SELECT RAISE(ABORT, 'participant_versions is append-only'); END;
CREATE TRIGGER participant_versions_no_delete BEFORE DELETE ON participant_versions
  BEGIN SELECT RAISE(ABORT, 'participant_versions is append-only'); END;
DROP TRIGGER participants_no_update;
CREATE TRIGGER participants_only_next_version BEFORE UPDATE ON participants
  WHEN NEW.study_id IS NOT OLD.study_id OR NEW.site_id IS NOT OLD.site_id OR NEW.created_at IS NOT OLD.created_at
    OR NEW.created_by IS NOT OLD.created_by OR NEW.version IS NOT OLD.version + 1
  BEGIN SELECT RAISE(ABORT, 'participants is append-only: a correction moves version on by one'); END;
)SQL"},
      // Issue 16: an AE report, and a participant registered in error, are voided by a last
      // version that says so.
      {18, "ae_and_participant_void", R"SQL(
ALTER TABLE ae_versions ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
ALTER TABLE participants ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
ALTER TABLE participant_versions ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
)SQL"},
      // A participant's records are read by record id from the live rows' index (migration 17),
      // which replaces the index by row id: one index less to fill on every insert.
      {19, "drop_record_row_indexes", R"SQL(
DROP INDEX IF EXISTS doses_participant;
DROP INDEX IF EXISTS lab_results_participant;
DROP INDEX IF EXISTS vital_signs_participant;
DROP INDEX IF EXISTS concomitant_medications_participant;
DROP INDEX IF EXISTS pregnancies_participant;
)SQL"},
  };
  return kMigrations;
}

}  // namespace vigil::store

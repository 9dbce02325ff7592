#pragma once
// Decides which alerts a participant's evaluation and the clock call for, and writes them to the
// outbox (tables alerts and alert_deliveries) inside the caller's unit of work, once per dedupe
// key. The classes follow clinical-rules.md section 0.3:
//   urgent      A4: a fatal or life-threatening AE, or a suspected SUSAR      key urgent:ae/ID
//   sae         A3: a serious AE, an AESI, a pregnancy or its abnormal outcome key sae:ae/ID, sae:pregnancy/ID
//   dose        A2: a drug's recommendation became hold, interrupt, reduce or discontinue
//                                                                              key dose:safety_change/ID
//   deviation   a new protocol-deviation finding                                key deviation:safety_change/ID
//   reminder    an open reporting clock at 50 % / 90 % (configurable) of its length
//                                                                              key reminder50:deadline/ID
//   overdue     an open reporting clock past due                                key overdue:deadline/ID
//   escalation  an urgent or sae alert not acknowledged in time                key escalation:alert/ID
//   digest      a site's lower-level changes (flags, collection-window findings, resumed treatment)
//               once a day                                                     key digest:SITE:DATE
//   supersede   an alerted recommendation became less restrictive (late data, a correction), or an
//               alerted AE was corrected; to the recipients of the earlier alert, naming it
//                                                     key supersede:safety_change/ID, supersede:alert/ID:vN
// An AE that becomes fatal after its SAE alert gets the urgent alert too. Payloads hold coded
// fields only (study ID, site, CTCAE term and grade, categories, criteria, causality, rule ids
// with source and verification): never names, initials, dates of birth, verbatim or narrative.
// Immutable after construction, except the clock's memory of keys already dealt with (guarded
// by a mutex; in practice used by the one dispatcher thread that runs the clock).

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "mail/templates.h"
#include "outbox/routing.h"
#include "rules/dose_rules.h"
#include "store/store.h"

namespace vigil::outbox {

struct AlertOptions {
  std::string link_base = "http://127.0.0.1:8080";  // vigild's address as users reach it
  int64_t escalate_after_ms = 3600 * 1000LL;        // an unacknowledged sae/urgent alert escalates
  std::vector<int> reminder_percents = {50, 90};    // of each reporting clock
  int digest_hour_utc = 7;                          // the daily digest goes out after this hour
  std::string message_id_domain = "vigil.invalid";
  // A delivery still pending this long after it was queued is late: /healthz degraded, an ERROR,
  // and the message written to the .eml fallback folder for a person to send (issue 13).
  int64_t late_urgent_ms = 15 * 60 * 1000LL;
  int64_t late_sae_ms = 3600 * 1000LL;
  int64_t late_other_ms = 24 * 3600 * 1000LL;
  // A record entered this long after it occurred is marked late in the alerts it causes (issue
  // 14.5: late data is the usual cause of a recommendation that a later entry withdraws).
  int64_t late_entry_ms = 3 * 24 * 3600 * 1000LL;
  int64_t lateAfterMs(const std::string& alert_class) const {
    return alert_class == "urgent" ? late_urgent_ms : alert_class == "sae" ? late_sae_ms : late_other_ms;
  }
};

class AlertPlanner {
 public:
  // routing and rules must outlive the planner.
  AlertPlanner(const Routing& routing, const rules::DoseRules& rules, AlertOptions options)
      : routing_(routing), rules_(rules), options_(std::move(options)) {}

  const AlertOptions& options() const { return options_; }

  // In the unit of work of a write or of the sweep: raises the urgent, sae, dose and deviation
  // alerts that the participant's evaluation (rules::evaluationToJson with detail) and its newly
  // recorded changes (with ids) call for. Returns the ids of the alerts raised. Throws only what
  // the Transaction throws. cause names the write ("correct lab result 12", "void vital signs 3":
  // a correction or void may take back what an alert said).
  std::vector<int64_t> onEvaluation(store::Transaction& tx, const store::History& history,
                                    const nlohmann::json& evaluation,
                                    const std::vector<core::SafetyChange>& changes, const std::string& actor,
                                    const std::string& cause = "") const;

  // The clock: reminders and overdue alerts for open reporting clocks, escalation of
  // unacknowledged alerts, and each site's daily digest; each alert in its own unit of work.
  // Returns the number raised, or the first store failure.
  core::Result<size_t> runClock(store::Store& store, int64_t now_ms) const;

  // Writes one alert with a delivery per recipient of its class at its site. Returns 0 without
  // writing when the dedupe key exists already. Public for tests and for the clock.
  // `to` replaces the class's routing (a superseding alert goes where the earlier one went).
  int64_t raise(store::Transaction& tx, const std::string& alert_class, const std::string& dedupe_key,
                const std::string& study_id, const std::string& site, const std::string& ref,
                const nlohmann::json& payload, const std::string& actor,
                const std::vector<Recipient>* to = nullptr) const;

  // "ae/12 onset 2026-09-03, entered 2026-12-05 (93 days later)" when the record `ref` (ae/, lab/,
  // vitals/, dose/) was entered more than late_entry_ms after it occurred; empty otherwise.
  std::string lateEntry(const store::History& history, const std::string& ref) const;

  // The fields each class's templates may use: the payload's plus alert_id, alert_class and
  // ack_link, which the dispatcher adds when it renders.
  static const std::map<std::string, std::set<std::string>>& templateFields();
  // The whole set of fields to render an alert with.
  mail::Fields renderFields(const core::Alert& alert) const;

  // Whether a recorded safety change gets an alert of its own ("dose", "deviation") or goes into
  // the site's daily digest ("").
  static std::string individualClass(const core::SafetyChange& change);

 private:
  std::string citation(const std::string& rule_id) const;
  std::string citations(const nlohmann::json& rule_ids) const;
  std::string lateEntries(const store::History& history, const nlohmann::json& refs) const;
  // Superseding alerts for this evaluation's less restrictive recommendations and corrected AEs;
  // fills `supersedes` (drug -> earlier dose alert) for changes that get a dose alert of their own.
  void supersede(store::Transaction& tx, const store::History& history, const nlohmann::json& evaluation,
                 const std::vector<core::SafetyChange>& changes, const std::string& actor, const std::string& cause,
                 std::map<std::string, std::string>& supersedes, std::vector<int64_t>& raised) const;
  // An unacknowledged sae or urgent alert that has not escalated: withdrawn (escalates false) it
  // stops escalating; standing again it escalates at its first time. Audited when it changes.
  void setEscalation(store::Transaction& tx, const core::Alert& alert, bool escalates, const std::string& actor) const;
  size_t clockDeadlines(store::Store& store, int64_t now_ms, core::Status& failure) const;
  size_t clockEscalations(store::Store& store, int64_t now_ms, core::Status& failure) const;
  size_t clockDigests(store::Store& store, int64_t now_ms, core::Status& failure) const;
  // One clock alert in its own unit of work: counts it in raised when raise_one raised it, then
  // settles the key; false (failure set) when the store failed, and the key stays unsettled.
  bool writeClockAlert(store::Store& store, const std::string& key, size_t& raised, core::Status& failure,
                       const std::function<bool(store::Transaction&)>& raise_one) const;

  const Routing& routing_;
  const rules::DoseRules& rules_;
  AlertOptions options_;
  // Clock keys already dealt with (raised, found raised, or a digest with nothing to send), so
  // each clock tick does not open a unit of work per overdue clock for the rest of its life.
  bool settled(const std::string& key) const;
  void settle(const std::string& key) const;
  mutable std::mutex settled_mutex_;
  mutable std::set<std::string> settled_;
};

}  // namespace vigil::outbox

#include "outbox/alert_planner.h"
#include "rules/hbv.h"

#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "core/crypto.h"
#include "core/time.h"

namespace vigil::outbox {
namespace {

using nlohmann::json;

const std::set<std::string> kCommonFields = {"study_id", "site", "link", "alert_id", "alert_class", "ack_link"};

std::string yesNo(bool v) { return v ? "yes" : "no"; }

std::string joined(const json& list, const std::string& sep = ", ") {
  std::string out;
  for (const auto& v : list) {
    if (!out.empty()) out += sep;
    out += v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out.empty() ? "none" : out;
}

std::string doseText(const json& dose) { return dose.is_number() ? std::to_string(dose.get<int>()) + " mg" : "none"; }

// Clock lengths by kind, for reminders at a fraction of each (rules/reporting.cpp sets the dues).
int64_t clockLengthMs(const std::string& kind) {
  if (kind == "susar_7d") return 7 * core::kDayMs;
  if (kind == "susar_followup_8d") return 8 * core::kDayMs;
  if (kind == "susar_15d") return 15 * core::kDayMs;
  return 24 * core::kHourMs;  // sae_24h, aesi_24h
}

const core::AeReport* findAe(const store::History& h, const std::string& ref) {
  for (const auto& r : h.adverse_events)
    if ("ae/" + std::to_string(r.id) == ref) return &r;
  return nullptr;
}

const core::VitalSigns* findVital(const store::History& h, const std::string& ref) {
  for (const auto& v : h.vitals)
    if ("vitals/" + std::to_string(v.id) == ref) return &v;
  return nullptr;
}

// How restrictive a recommendation is: discontinue > hold > interrupt > continue; at the same
// action a lower dose is more restrictive.
int actionRank(const std::string& action) {
  if (action == "discontinue") return 3;
  if (action == "hold") return 2;
  if (action == "interrupt_infusion") return 1;
  return 0;
}
int doseOfText(const std::string& text) {  // "10 mg" -> 10; "none" -> -1
  if (text.empty() || text[0] < '0' || text[0] > '9') return -1;
  return std::atoi(text.c_str());
}
// Doses in mg, -1 for none.
bool lessRestrictive(const std::string& now_action, int now_dose, const std::string& was_action, int was_dose) {
  if (actionRank(now_action) != actionRank(was_action)) return actionRank(now_action) < actionRank(was_action);
  return now_dose >= 0 && was_dose >= 0 && now_dose > was_dose;
}

std::string readingText(const core::VitalSigns& v) {
  auto part = [](const std::optional<int>& x) { return x ? std::to_string(*x) : std::string("-"); };
  return part(v.systolic_mmhg) + "/" + part(v.diastolic_mmhg) + " mmHg";
}

std::string earlierAlertText(const core::Alert& a) {
  return "alert " + std::to_string(a.id) + " (" + a.alert_class + ", raised " + a.created_at + ")";
}

const json* findEvent(const json& evaluation, const std::string& ref) {
  for (const auto& e : evaluation["events"])
    if (e.value("ref", "") == ref) return &e;
  return nullptr;
}

std::string criteriaText(const core::AeVersion& v) {
  std::string out;
  for (auto c : v.serious_criteria) {
    if (!out.empty()) out += ", ";
    out += std::string(core::toString(c));
  }
  return out.empty() ? "not serious" : out;
}

std::string relatednessText(const core::AeVersion& v) {
  std::string out;
  for (core::Drug d : core::kDrugs) {
    const auto& rel = v.per_drug[static_cast<size_t>(d)].relatedness;
    if (!out.empty()) out += "; ";
    out += std::string(core::toString(d)) + ": " + (rel ? std::string(core::toString(*rel)) : "not assessed");
    if (const auto& sp = v.sponsor_relatedness[static_cast<size_t>(d)])
      out += " (sponsor: " + std::string(core::toString(*sp)) + ")";
  }
  return out;
}

// Causes as intake names them (issue 16): "correct lab result 12", "void vital signs 3",
// "correct participant S01-001", "void adverse event 4".
bool isCorrection(const std::string& cause) { return cause.rfind("correct ", 0) == 0 || cause.rfind("void ", 0) == 0; }

// The supersede alerts that name alert `id` as the one they supersede.
bool superseded(const std::vector<core::Alert>& alerts, int64_t id) {
  return std::any_of(alerts.begin(), alerts.end(), [&](const core::Alert& s) {
    if (s.alert_class != "supersede") return false;
    const json sp = json::parse(s.payload, nullptr, false);
    return sp.is_object() && sp.value("supersedes_id", "") == std::to_string(id);
  });
}

// " version 3" for a corrected record; nothing for a record as first entered.
std::string versionText(int version) { return version > 1 ? " version " + std::to_string(version) : ""; }

}  // namespace

const std::map<std::string, std::set<std::string>>& AlertPlanner::templateFields() {
  static const std::map<std::string, std::set<std::string>> k = [] {
    auto with = [](std::set<std::string> extra) {
      extra.insert(kCommonFields.begin(), kCommonFields.end());
      return extra;
    };
    const std::set<std::string> event = {"term",   "grade",     "categories", "seriousness",    "relatedness", "aesi",
                                         "susar",  "reason",    "deadlines",  "recommendation", "record",      "late"};
    std::map<std::string, std::set<std::string>> m;
    m["urgent"] = with(event);
    m["sae"] = with(event);
    m["dose"] = with({"drug", "action", "dose", "previous", "rules", "resume", "discontinue_after", "events", "basis",
                      "late", "supersedes"});
    m["supersede"] = with({"subject", "supersedes", "supersedes_id", "was", "now", "changed", "rules", "cause", "drug",
                           "version"});
    m["deviation"] = with({"code", "drug", "date", "text", "rules", "late"});
    m["reminder"] = with({"deadline_kind", "due", "percent", "term", "grade"});
    m["overdue"] = with({"deadline_kind", "due", "term", "grade"});
    m["escalation"] = with({"original_class", "original_id", "raised_at", "term", "grade", "waited"});
    m["digest"] = with({"date", "count", "items"});
    return m;
  }();
  return k;
}

mail::Fields AlertPlanner::renderFields(const core::Alert& alert) const {
  mail::Fields f;
  const json payload = json::parse(alert.payload, nullptr, false);
  if (payload.is_object())
    for (const auto& [k, v] : payload.items()) f[k] = v.is_string() ? v.get<std::string>() : v.dump();
  f["alert_id"] = std::to_string(alert.id);
  f["alert_class"] = alert.alert_class;
  f["ack_link"] = options_.link_base + "/api/v1/alerts/" + std::to_string(alert.id) + "/ack";
  // Fields added to the templates after an alert was queued (issue 14.5): an alert raised by an
  // earlier version, still pending across the upgrade, says so rather than failing to render and
  // never being sent. Any other missing field still fails the delivery.
  static const std::map<std::string, std::string> kLaterFields = {
      {"late", "not assessed (raised before late entries were marked)"},
      {"basis", "the rules and events below"},
      {"supersedes", "none"}};
  const auto& allowed = templateFields();
  if (const auto cls = allowed.find(alert.alert_class); cls != allowed.end())
    for (const auto& [name, text] : kLaterFields)
      if (cls->second.count(name) && !f.count(name)) f[name] = text;
  return f;
}

std::string AlertPlanner::individualClass(const core::SafetyChange& c) {
  const json d = json::parse(c.detail, nullptr, false);
  if (!d.is_object()) return "";
  if (c.kind == "recommendation") {
    const std::string action = d.value("action", "");
    if (action != "continue") return "dose";
    const json prev = d.value("previous", json::object());
    const json now_dose = d.value("dose_mg", json());
    const json was_dose = prev.value("dose_mg", json());
    if (now_dose.is_number() && was_dose.is_number() && now_dose.get<int>() < was_dose.get<int>()) return "dose";
    return "";
  }
  if (c.kind == "finding" && (d.value("kind", "") == "protocol_deviation" || d.value("kind", "") == "eligibility"))
    return "deviation";
  return "";
}

std::string AlertPlanner::citation(const std::string& id) const {
  std::string source;
  bool verified = false;
  if (const auto* r = rules_.find(id)) {
    source = r->source;
    verified = r->verified;
  } else if (const auto* c = rules_.clock(id)) {
    source = c->source;
    verified = c->verified;
  } else {
    for (const auto& f : rules_.flags())
      if (f.id == id) source = f.source, verified = f.verified;
    for (const auto& m : rules_.monitoring())
      if (m.id == id) source = m.source, verified = m.verified;
    for (const auto& e : rules_.eligibility())
      if (e.id == id) source = e.source, verified = e.verified;
  }
  if (source.empty()) return id;
  return id + " (" + (verified ? "VERIFIED" : "UNVERIFIED") + "; source: " + source + ")";
}

std::string AlertPlanner::citations(const json& ids) const {
  std::string out;
  for (const auto& id : ids) {
    if (!id.is_string()) continue;
    out += "- " + citation(id.get<std::string>()) + "\n";
  }
  return out.empty() ? "- none\n" : out;
}

int64_t AlertPlanner::raise(store::Transaction& tx, const std::string& cls, const std::string& key,
                            const std::string& study_id, const std::string& site, const std::string& ref,
                            const json& payload, const std::string& actor, const std::vector<Recipient>* to) const {
  if (tx.alertExists(key)) return 0;
  core::Alert a;
  a.dedupe_key = key;
  a.alert_class = cls;
  a.study_id = study_id;
  a.site = site;
  a.ref = ref;
  json p = payload;
  p["study_id"] = study_id.empty() ? "-" : study_id;
  p["site"] = site;
  a.payload = p.dump();
  const int64_t now_ms = core::parseTimestamp(tx.now()).value_or(0);
  if (cls == "sae" || cls == "urgent") a.escalate_at_ms = now_ms + options_.escalate_after_ms;
  for (const auto& r : to ? *to : routing_.recipients(cls, site)) {
    core::AlertDelivery d;
    d.recipient = r.address;
    d.role = r.role;
    d.next_attempt_ms = now_ms;
    d.pending_since_ms = now_ms;
    d.late_at_ms = now_ms + options_.lateAfterMs(cls);
    // Stable across attempts and restarts (it is stored), unique per alert and recipient.
    d.message_id = "<vigil." + core::sha256Hex(key + "|" + r.address + "|" + tx.now()).substr(0, 32) + "@" +
                   options_.message_id_domain + ">";
    a.deliveries.push_back(std::move(d));
  }
  const int64_t id = tx.insertAlert(a);
  if (a.deliveries.empty())  // a site added after start-up without recipients: stored, never silently dropped
    if (auto log = spdlog::get("outbox"))
      log->error("alert {} ({}) for site {} has no recipients: add the site to alerts.recipients_file and restart",
                 id, cls, site);
  json recipients = json::array();
  for (const auto& d : a.deliveries) recipients.push_back({{"role", d.role}, {"recipient", d.recipient}});
  tx.appendAudit({actor, "raise", "alert", std::to_string(id), "",
                  json{{"class", cls}, {"key", key}, {"ref", ref}, {"recipients", recipients}}.dump()});
  return id;
}

std::string AlertPlanner::lateEntry(const store::History& h, const std::string& ref) const {
  std::string occurred, entered, what;
  const std::string id = ref.substr(ref.find('/') + 1);
  if (ref.rfind("ae/", 0) == 0) {
    // The onset as now known (a correction may move it), entered when first recorded.
    if (const core::AeReport* r = findAe(h, ref)) occurred = r->current().start, entered = r->entered_at, what = "onset";
  } else if (ref.rfind("vitals/", 0) == 0) {
    // Entered when first recorded (issue 16: a correction since is not a late entry).
    if (const core::VitalSigns* v = findVital(h, ref))
      occurred = v->measured_at, entered = v->revision.enteredOr(v->recorded_at), what = "measured";
  } else if (ref.rfind("lab/", 0) == 0) {
    for (const auto& l : h.labs)
      if (std::to_string(l.id) == id) occurred = l.collected_at, entered = l.revision.enteredOr(l.recorded_at), what = "collected";
  } else if (ref.rfind("dose/", 0) == 0) {
    for (const auto& d : h.doses)
      if (std::to_string(d.id) == id) occurred = d.date, entered = d.revision.enteredOr(d.recorded_at), what = "dosed";
  }
  const auto at = core::parseInstant(occurred);
  const auto in = core::parseTimestamp(entered);
  if (!at || !in || *in - *at <= options_.late_entry_ms) return "";
  return ref + " " + what + " " + occurred + ", entered " + entered + " (" + std::to_string((*in - *at) / core::kDayMs) +
         " days later)";
}

std::string AlertPlanner::lateEntries(const store::History& h, const json& refs) const {
  std::string out;
  for (const auto& r : refs) {
    if (!r.is_string()) continue;
    const std::string late = lateEntry(h, r.get<std::string>());
    if (late.empty()) continue;
    if (!out.empty()) out += "; ";
    out += late;
  }
  return out.empty() ? "no" : "yes: " + out;
}

void AlertPlanner::setEscalation(store::Transaction& tx, const core::Alert& a, bool escalates,
                                 const std::string& actor) const {
  if (a.alert_class != "sae" && a.alert_class != "urgent") return;
  if (!a.acked_at.empty() || !a.escalated_at.empty()) return;
  if (escalates == a.escalate_at_ms.has_value()) return;  // as it should be: an alert never stopped keeps its time
  std::optional<int64_t> at;
  if (escalates) at = core::parseTimestamp(a.created_at).value_or(0) + options_.escalate_after_ms;
  tx.setEscalation(a.id, at);
  auto text = [](const std::optional<int64_t>& ms) { return ms ? json(core::formatTimestamp(*ms)) : json(nullptr); };
  tx.appendAudit({actor, escalates ? "resume_escalation" : "stop_escalation", "alert", std::to_string(a.id),
                  json{{"escalate_at", text(a.escalate_at_ms)}}.dump(), json{{"escalate_at", text(at)}}.dump()});
}

void AlertPlanner::supersede(store::Transaction& tx, const store::History& h, const json& ev,
                             const std::vector<core::SafetyChange>& changes, const std::string& actor,
                             const std::string& cause, std::map<std::string, std::string>& supersedes,
                             std::vector<int64_t>& raised) const {
  const std::string& study_id = h.participant.study_id;
  const std::string& site = h.participant.site;
  // The history holds each AE's current version only.
  const bool corrected_ae = std::any_of(h.adverse_events.begin(), h.adverse_events.end(),
                                        [](const core::AeReport& r) { return r.current().version > 1; });
  const bool recommendation_changed = std::any_of(changes.begin(), changes.end(), [](const core::SafetyChange& c) {
    return c.kind == "recommendation" && c.id != 0;
  });
  // A correction or void of a record (issue 16) may take back an alert raised from a measurement.
  const bool corrected_record = isCorrection(cause);
  if (!corrected_ae && !recommendation_changed && !corrected_record) return;  // the common write: no lookup at all
  const std::vector<core::Alert> earlier = tx.alertsOf(study_id, {"sae", "urgent", "dose", "supersede"});
  auto recipientsOf = [&](const core::Alert& a) {
    std::vector<Recipient> to;
    if (auto full = tx.alert(a.id))
      for (const auto& d : full->deliveries) to.push_back({d.recipient, d.role});
    return to;
  };
  const std::string participant_link = options_.link_base + "/api/v1/participants/" + study_id;

  // Recommendations: the standing alert for a drug is its latest dose or supersede alert.
  for (const auto& c : changes) {
    if (c.kind != "recommendation" || c.id == 0) continue;
    const json d = json::parse(c.detail, nullptr, false);
    if (!d.is_object()) continue;
    const std::string drug = d.value("drug", c.subject);
    const core::Alert* standing = nullptr;
    for (const auto& a : earlier) {
      if (a.alert_class != "dose" && a.alert_class != "supersede") continue;
      const json p = json::parse(a.payload, nullptr, false);
      if (p.is_object() && p.value("drug", "") == drug) standing = &a;
    }
    if (!standing || standing->alert_class != "dose") continue;  // nothing restrictive stands alerted
    const json was = json::parse(standing->payload, nullptr, false);
    const std::string was_action = was.value("action", ""), was_dose = was.value("dose", "none");
    const std::string now_action = d.value("action", "");
    const json now_dose_json = d.value("dose_mg", json());
    const int now_dose = now_dose_json.is_number() ? now_dose_json.get<int>() : -1;
    if (!lessRestrictive(now_action, now_dose, was_action, doseOfText(was_dose))) continue;
    // A hold that resolves as its rule foresaw is the expected course (the digest lists the
    // resumption). The alerted recommendation is withdrawn, not fulfilled, when it was a
    // discontinuation (final by nature: late data or a correction took it back) or when a
    // correction of a record made it less restrictive.
    // Causes as intake names them: "update adverse event N", "correct lab result N", "void dose N",
    // "correct participant ID" (issue 16).
    const bool correction =
        c.cause.rfind("update ", 0) == 0 || c.cause.rfind("correct ", 0) == 0 || c.cause.rfind("void ", 0) == 0;
    if (was_action != "discontinue" && !correction) continue;
    const std::string now_text = now_action + ", dose " + doseText(now_dose_json);
    if (!individualClass(c).empty()) {
      // The change has a dose alert of its own: it names the alert it supersedes.
      supersedes[drug] = earlierAlertText(*standing) + ": " + was_action + ", dose " + was_dose;
      continue;
    }
    const std::vector<Recipient> to = recipientsOf(*standing);
    json p = {{"subject", drug + " recommendation"},
              {"drug", drug},
              {"supersedes", earlierAlertText(*standing)},
              {"supersedes_id", std::to_string(standing->id)},
              {"was", was_action + ", dose " + was_dose},
              {"now", now_text},
              {"changed", "the recommendation for " + drug + " is now less restrictive: " + now_text + " (alerted: " +
                              was_action + ", dose " + was_dose + ")"},
              {"rules", citations(d.value("rule_ids", json::array()))},
              {"cause", c.cause},
              {"link", participant_link + "/recommendations"}};
    const std::string ref = "safety_change/" + std::to_string(c.id);
    if (const int64_t id = raise(tx, "supersede", "supersede:" + ref, study_id, site, ref, p, actor, &to)) raised.push_back(id);
  }

  // SAE-class alerts raised from a record (a blood pressure of 180/110 or more, an HBV-DNA result
  // meeting SI-HBV, a pregnancy or its abnormal outcome): once the record is voided, or corrected or
  // re-based so that it no longer calls for the alert, the alert no longer stands: its recipients
  // hear so and it stops escalating. Likewise the sae and urgent alerts of an AE report that was
  // voided (issue 16). A later version that makes the record stand again raises a new alert
  // (onEvaluation).
  if (corrected_record) {
    for (const auto& a : earlier) {
      if (a.alert_class != "sae" && a.alert_class != "urgent") continue;
      const bool lab = a.ref.rfind("lab/", 0) == 0, vitals = a.ref.rfind("vitals/", 0) == 0,
                 ae = a.ref.rfind("ae/", 0) == 0, pregnancy = a.ref.rfind("pregnancy/", 0) == 0;
      if (!lab && !vitals && !ae && !pregnancy) continue;
      const int64_t record_id = std::stoll(a.ref.substr(a.ref.find('/') + 1));
      const bool outcome = pregnancy && a.dedupe_key.find("/outcome") != std::string::npos;
      std::optional<core::Revision> r;
      if (ae) {
        // An SAE that became fatal or life-threatening has its urgent alert: that one stands now.
        if (a.alert_class == "sae" && tx.alertExists("urgent:" + a.ref)) continue;
        const auto report = tx.adverseEvent(record_id);
        if (!report || !report->current().voided) continue;  // corrections of AEs are handled below
        r = core::Revision{report->current().version, true, "", ""};
      } else {
        if (a.alert_class != "sae") continue;
        const bool stands =
            pregnancy ? std::any_of(ev["deadlines"].begin(), ev["deadlines"].end(),
                                    [&](const json& d) {
                                      return d.value("ref", "") == a.ref &&
                                             d.value("kind", "") == (outcome ? "sae_24h" : "pregnancy_24h");
                                    })
                      : std::any_of(ev["events"].begin(), ev["events"].end(), [&](const json& e) {
                          return e.value("ref", "") == a.ref && e.value("aesi", false);
                        });
        if (stands) continue;
        if (lab) {
          if (auto l = tx.lab(record_id)) r = l->revision;
        } else if (vitals) {
          if (auto v = tx.vitalSigns(record_id)) r = v->revision;
        } else if (auto g = tx.pregnancy(record_id)) {
          r = g->revision;
        }
      }
      if (!r) continue;
      // Only when this write corrected or voided the record itself, or, for an HBV-DNA result (which
      // rests on the participant's serology and baseline too), corrected the participant. A result
      // that merely became the follow-up of an earlier one still stands: the reactivation is
      // alerted under the earlier result's key.
      const std::string label = lab ? "lab result " : vitals ? "vital signs " : "pregnancy ";
      const bool own = cause == "correct " + label + std::to_string(record_id) ||
                       cause == "void " + label + std::to_string(record_id);
      const bool by_participant = lab && !own && cause.rfind("correct participant ", 0) == 0;
      if (!ae && !own && !by_participant) continue;
      // Withdrawn: it no longer escalates (an AE's sae alert beside its urgent one neither).
      for (const auto& w : earlier)
        if (w.ref == a.ref && (w.id == a.id || ae)) setEscalation(tx, w, false, actor);
      const std::string key = "supersede:alert/" + std::to_string(a.id) + ":v" + std::to_string(r->version);
      if (tx.alertExists(key)) continue;
      // Once per alert: a later version that still does not make it stand says nothing new. (A
      // voided AE takes no later version.)
      if (superseded(earlier, a.id) && !ae) continue;
      const json p = json::parse(a.payload, nullptr, false);
      const std::string what = (ae          ? "adverse event "
                                : lab       ? "lab result "
                                : vitals    ? "vital signs "
                                            : "pregnancy report ") +
                               std::to_string(record_id);
      const std::string no_longer = outcome ? "the outcome is no longer reported as serious"
                                            : "no longer an adverse event of special interest";
      const std::string now =
          r->voided        ? what + " was voided: the " + (pregnancy ? "pregnancy" : "event") + " is not on record"
          : by_participant ? what + " after a correction of the participant's baseline facts: " + no_longer
                           : what + " was corrected (version " + std::to_string(r->version) + "): " + no_longer;
      std::string was;
      if (p.is_object())
        was = pregnancy ? p.value("term", "") + " (" + p.value("reason", "") + ")"
                        : p.value("term", "") + " grade " + p.value("grade", "") + ", " +
                              (ae ? p.value("seriousness", "") : "AESI " + p.value("aesi", ""));
      json q = {{"subject", what},
                {"supersedes", earlierAlertText(a)},
                {"supersedes_id", std::to_string(a.id)},
                {"version", std::to_string(r->version)},
                {"was", was},
                {"now", now},
                {"changed", std::string(r->voided         ? "voided"
                                        : by_participant ? "the participant's baseline facts were corrected"
                                                         : "corrected to version " + std::to_string(r->version))},
                {"rules", "- none\n"},
                // The reason for change is free text: it stays in the record, never in an email.
                {"cause", std::string(r->voided ? "void" : "correction") + " recorded " + tx.now()},
                {"link", options_.link_base +
                             (ae          ? "/api/v1/adverse-events/"
                              : lab       ? "/api/v1/labs/"
                              : vitals    ? "/api/v1/vitals/"
                                          : "/api/v1/pregnancies/") +
                             std::to_string(record_id) + "/versions"}};
      const std::vector<Recipient> to = recipientsOf(a);
      if (const int64_t id = raise(tx, "supersede", key, study_id, site, a.ref, q, actor, &to)) raised.push_back(id);
    }
  }

  // Corrected adverse events: what an sae or urgent alert said that the current version no longer says.
  if (!corrected_ae) return;
  for (const auto& a : earlier) {
    if ((a.alert_class != "sae" && a.alert_class != "urgent") || a.ref.rfind("ae/", 0) != 0) continue;
    // An SAE that became fatal or life-threatening has its urgent alert: that one stands now.
    if (a.alert_class == "sae" && tx.alertExists("urgent:" + a.ref)) continue;
    const core::AeReport* current = findAe(h, a.ref);
    if (!current || current->current().version < 2) continue;
    const auto full = tx.adverseEvent(current->id);  // every version, to compare with the one alerted
    if (!full) continue;
    const core::AeReport* report = &*full;
    const core::AeVersion& v = report->current();
    const json e = [&] {
      for (const auto& x : ev["events"])
        if (x.value("ref", "") == a.ref) return x;
      return json::object();
    }();
    // Corrected so that it is no longer serious or of special interest, the alert is withdrawn and
    // stops escalating (its sae alert beside an urgent one too); corrected back, it escalates again.
    const bool stands = e.empty() || e.value("serious", false) || e.value("aesi", false);
    const json p = json::parse(a.payload, nullptr, false);
    if (!p.is_object()) continue;
    // The version the recipients last heard of: the alert's, or that of its latest supersede.
    int told = 0;
    const std::string record = p.value("record", "");
    if (const auto at = record.rfind(" version "); at != std::string::npos) told = std::atoi(record.c_str() + at + 9);
    for (const auto& s : earlier) {
      if (s.alert_class != "supersede" || s.ref != a.ref) continue;
      const json sp = json::parse(s.payload, nullptr, false);
      if (sp.is_object() && sp.value("supersedes_id", "") == std::to_string(a.id))
        told = std::atoi(sp.value("version", "0").c_str());
    }
    if (told < 1 || told >= v.version || static_cast<size_t>(told) > report->versions.size()) continue;
    const core::AeVersion& then = report->versions[static_cast<size_t>(told) - 1];
    std::vector<std::string> what;
    auto differs = [&](const char* field, const std::string& before, const std::string& now) {
      if (before != now) what.push_back(std::string(field) + " " + before + " -> " + now);
    };
    differs("term", then.ctcae_term, v.ctcae_term);
    differs("grade", std::to_string(then.grade), std::to_string(v.grade));
    differs("seriousness", criteriaText(then), criteriaText(v));
    differs("relatedness", relatednessText(then), relatednessText(v));
    if (what.empty()) continue;
    const std::string key = "supersede:alert/" + std::to_string(a.id) + ":v" + std::to_string(v.version);
    if (tx.alertExists(key)) continue;
    // With the superseding alert: withdrawn, the alert stops escalating (and the sae alert beside an
    // urgent one); standing again, the superseded alert escalates again.
    for (const auto& w : earlier)
      if (w.ref == a.ref && (!stands || w.id == a.id)) setEscalation(tx, w, stands, actor);
    std::string changed;
    for (const auto& w : what) changed += (changed.empty() ? "" : "; ") + w;
    std::string now = v.ctcae_term + " grade " + std::to_string(v.grade) + ", " + criteriaText(v);
    if (!stands)
      now += ": no longer serious or of special interest (its reporting clocks are no longer required)";
    const std::vector<Recipient> to = recipientsOf(a);
    json q = {{"subject", "adverse event " + std::to_string(report->id)},
              {"supersedes", earlierAlertText(a)},
              {"supersedes_id", std::to_string(a.id)},
              {"version", std::to_string(v.version)},
              {"was", then.ctcae_term + " grade " + std::to_string(then.grade) + ", " + criteriaText(then)},
              {"now", now},
              {"changed", "corrected to version " + std::to_string(v.version) + ": " + changed},
              {"rules", "- none\n"},
              // The reason for change is free text: it stays in the record, never in an email.
              {"cause", "correction recorded " + v.recorded_at},
              {"link", options_.link_base + "/api/v1/adverse-events/" + std::to_string(report->id)}};
    if (const int64_t id = raise(tx, "supersede", key, study_id, site, a.ref, q, actor, &to)) raised.push_back(id);
  }
}

std::vector<int64_t> AlertPlanner::onEvaluation(store::Transaction& tx, const store::History& h, const json& ev,
                                                const std::vector<core::SafetyChange>& changes,
                                                const std::string& actor, const std::string& cause) const {
  std::vector<int64_t> raised;
  const std::string& study_id = h.participant.study_id;
  const std::string& site = h.participant.site;
  auto keep = [&](int64_t id) {
    if (id) raised.push_back(id);
  };
  const std::string participant_link = options_.link_base + "/api/v1/participants/" + study_id;

  // Every write passes here; the recommendation text is built only if an alert needs it.
  std::string recommendation_text;
  auto recommendation = [&]() -> const std::string& {
    if (!recommendation_text.empty()) return recommendation_text;
    for (const auto& [drug, d] : ev["drugs"].items()) {
      recommendation_text += drug + ": " + d.value("action", "") + ", dose " + doseText(d.value("dose_mg", json())) + "\n";
      for (const auto& id : d.value("rule_ids", json::array()))
        if (id.is_string()) recommendation_text += "  - " + citation(id.get<std::string>()) + "\n";
    }
    recommendation_text += "Vigil recommends; the investigator decides.";
    return recommendation_text;
  };

  // The key of an SAE-class alert raised from a record (a reading, an HBV-DNA result, a pregnancy's
  // outcome): `base`; or, when a correction or void withdrew the latest alert of that key (a
  // supersede alert names it) and the record stands again, "<base>:after/<withdrawn alert id>", so
  // that it is alerted anew, once per withdrawal (issue 16). Alerts are looked up only on a
  // correction, or on the write that records a pregnancy's outcome (`outcome_write`).
  const bool correction = isCorrection(cause);
  std::optional<std::vector<core::Alert>> record_alerts;
  auto keyFor = [&](const std::string& base, bool outcome_write = false) -> std::string {
    if ((!correction && !outcome_write) || !tx.alertExists(base)) return base;
    if (!record_alerts) record_alerts = tx.alertsOf(study_id, {"sae", "supersede"});
    const core::Alert* latest = nullptr;
    for (const auto& a : *record_alerts)
      if (a.alert_class == "sae" && (a.dedupe_key == base || a.dedupe_key.rfind(base + ":after/", 0) == 0)) latest = &a;
    if (!latest || !superseded(*record_alerts, latest->id)) return base;
    return base + ":after/" + std::to_string(latest->id);
  };

  // A3 for a vital-sign reading that is itself an AESI (AESI-HTN-READING, a single reading
  // >= 180/110): its 24 h clock runs from the measurement, so it cannot wait for the candidate to
  // be confirmed as an AE. Other lab and vital-sign events alert once confirmed as AEs.
  for (const auto& e : ev["events"]) {
    const std::string ref = e.value("ref", "");
    if (ref.rfind("vitals/", 0) != 0 || !e.value("aesi", false)) continue;
    const core::VitalSigns* v = findVital(h, ref);
    if (!v) continue;
    const std::string key = keyFor("sae:" + ref);
    if (tx.alertExists(key)) continue;
    std::string deadlines;
    for (const auto& d : ev["deadlines"])
      if (d.value("ref", "") == ref) deadlines += d.value("kind", "") + " due " + d.value("due", "") + " (from the measurement)\n";
    const json aesi_ids = e.value("aesi_ids", json::array());
    json p = {{"term", e.value("term", "")},
              {"grade", std::to_string(e.value("grade", 0))},
              {"categories", joined(e.value("categories", json::array()))},
              {"seriousness", "not assessed: a measurement, not yet an AE report"},
              {"relatedness", "not assessed"},
              {"aesi", aesi_ids.empty() ? "yes" : joined(aesi_ids)},
              {"susar", "no"},
              {"reason", "adverse event of special interest: blood pressure " + readingText(*v) + " measured " +
                             v->measured_at + "; confirm the AE candidate and report it"},
              {"deadlines", deadlines.empty() ? "none\n" : deadlines},
              {"recommendation", recommendation()},
              {"record", "vital signs " + std::to_string(v->id) + versionText(v->revision.version)},
              {"late", lateEntries(h, json::array({ref}))},
              {"link", options_.link_base + "/api/v1/vitals?participant=" + study_id}};
    keep(raise(tx, "sae", key, study_id, site, ref, p, actor));
  }
  // A3 for a hepatitis B reactivation found by an HBV-DNA result (SI-HBV, AESI-HBV): its 24 h clock
  // runs from the collection and no CTCAE candidate stands for it, so it alerts at once.
  for (const auto& e : ev["events"]) {
    const std::string ref = e.value("ref", "");
    if (ref.rfind("lab/", 0) != 0 || e.value("term", "") != rules::kHbvTerm || !e.value("aesi", false)) continue;
    const core::LabResult* lab = nullptr;
    for (const auto& l : h.labs)
      if ("lab/" + std::to_string(l.id) == ref) lab = &l;
    if (!lab) continue;
    const std::string key = keyFor("sae:" + ref);
    if (tx.alertExists(key)) continue;
    std::string deadlines;
    for (const auto& d : ev["deadlines"])
      if (d.value("ref", "") == ref) deadlines += d.value("kind", "") + " due " + d.value("due", "") + " (from the collection)\n";
    const json aesi_ids = e.value("aesi_ids", json::array());
    std::ostringstream value;
    value << lab->value;
    json p = {{"term", rules::kHbvTerm},
              {"grade", std::to_string(e.value("grade", 0))},
              {"categories", joined(e.value("categories", json::array()))},
              {"seriousness", "not assessed: a laboratory result, not yet an AE report"},
              {"relatedness", "not assessed"},
              {"aesi", aesi_ids.empty() ? "yes" : joined(aesi_ids)},
              {"susar", "no"},
              {"reason", "hepatitis B reactivation: HBV-DNA " + value.str() + " " + lab->unit + " collected " +
                             lab->collected_at + " in an HBsAg- or anti-HBc-positive participant (SI-HBV); report it as an AE"},
              {"deadlines", deadlines.empty() ? "none\n" : deadlines},
              {"recommendation", recommendation()},
              {"record", "lab result " + std::to_string(lab->id) + versionText(lab->revision.version)},
              {"late", lateEntries(h, json::array({ref}))},
              {"link", options_.link_base + "/api/v1/labs?participant=" + study_id}};
    keep(raise(tx, "sae", key, study_id, site, ref, p, actor));
  }
  // A3 / A4 for adverse events: serious, AESI, fatal or life-threatening, suspected SUSAR.
  for (const auto& e : ev["events"]) {
    const std::string ref = e.value("ref", "");
    if (ref.rfind("ae/", 0) != 0) continue;  // lab and vital-sign events alert once confirmed as AEs
    const bool serious = e.value("serious", false), aesi = e.value("aesi", false), susar = e.value("susar", false);
    if (!serious && !aesi) continue;
    const core::AeReport* report = findAe(h, ref);
    if (!report) continue;
    const core::AeVersion& v = report->current();
    std::vector<std::string> reasons;
    if (v.grade == 5 || v.hasCriterion(core::Seriousness::kDeath)) reasons.push_back("fatal");
    if (v.hasCriterion(core::Seriousness::kLifeThreatening)) reasons.push_back("life-threatening");
    if (susar) reasons.push_back("suspected SUSAR (serious, related, unexpected)");
    const std::string cls = reasons.empty() ? "sae" : "urgent";
    const std::string key = cls + ":" + ref;
    if (tx.alertExists(key)) continue;
    std::string deadlines;
    for (const auto& d : ev["deadlines"])
      if (d.value("ref", "") == ref) deadlines += d.value("kind", "") + " due " + d.value("due", "") + "\n";
    json aesi_ids = e.value("aesi_ids", json::array());
    json p = {{"term", v.ctcae_term},
              {"grade", std::to_string(v.grade)},
              {"categories", joined(e.value("categories", json::array()))},
              {"seriousness", criteriaText(v)},
              {"relatedness", relatednessText(v)},
              {"aesi", aesi ? (aesi_ids.empty() ? "yes" : joined(aesi_ids)) : "no"},
              {"susar", yesNo(susar)},
              {"reason", reasons.empty() ? (serious ? "serious adverse event" : "adverse event of special interest")
                                         : joined(json(reasons))},
              {"deadlines", deadlines.empty() ? "none\n" : deadlines},
              {"recommendation", recommendation()},
              {"record", "adverse event " + std::to_string(report->id) + " version " + std::to_string(v.version)},
              {"late", lateEntries(h, json::array({ref}))},
              {"link", options_.link_base + "/api/v1/adverse-events/" + std::to_string(report->id)}};
    keep(raise(tx, cls, key, study_id, site, ref, p, actor));
  }
  // A3 for pregnancies (section 6.4) and their abnormal outcomes, from their clocks.
  for (const auto& d : ev["deadlines"]) {
    const std::string ref = d.value("ref", "");
    if (ref.rfind("pregnancy/", 0) != 0) continue;
    const std::string kind = d.value("kind", "");
    const bool outcome = kind == "sae_24h";
    int version = 1;
    for (const auto& g : h.pregnancies)
      if ("pregnancy/" + std::to_string(g.id) == ref) version = g.revision.version;
    const std::string key =
        keyFor("sae:" + ref + (outcome ? "/outcome" : ""), outcome && cause.rfind("record pregnancy outcome ", 0) == 0);
    if (tx.alertExists(key)) continue;
    json p = {{"term", outcome ? "Pregnancy outcome reported as serious" : "Pregnancy reported"},
              {"grade", "n/a"},
              {"categories", "pregnancy"},
              {"seriousness", outcome ? "congenital anomaly, pregnancy loss or serious neonatal reaction" : "not an AE"},
              {"relatedness", "n/a"},
              {"aesi", "no"},
              {"susar", "no"},
              {"reason", outcome ? "abnormal pregnancy outcome (PREG-OUTCOME)" : "pregnancy on study (PREG-24H)"},
              {"deadlines", kind + " due " + d.value("due", "") + "\n"},
              {"recommendation", recommendation()},
              {"record", ref + versionText(version)},
              {"link", options_.link_base + "/api/v1/pregnancies?participant=" + study_id}};
    keep(raise(tx, "sae", key, study_id, site, ref, p, actor));
  }
  // Superseding alerts first: a dose alert below names the alert it supersedes.
  std::map<std::string, std::string> supersedes;
  supersede(tx, h, ev, changes, actor, cause, supersedes, raised);
  // A2 and protocol deviations, from the changes this evaluation recorded.
  for (const auto& c : changes) {
    const std::string cls = individualClass(c);
    if (cls.empty() || c.id == 0) continue;
    const json d = json::parse(c.detail, nullptr, false);
    const std::string ref = "safety_change/" + std::to_string(c.id);
    json p;
    if (cls == "dose") {
      std::string events;
      for (const auto& r : d.value("event_refs", json::array())) {
        if (!r.is_string()) continue;
        if (const json* e = findEvent(ev, r.get<std::string>()))
          events += "- " + e->value("term", "") + " grade " + std::to_string(e->value("grade", 0)) + " (" +
                    r.get<std::string>() + ")\n";
      }
      const json prev = d.value("previous", json::object());
      p = {{"drug", d.value("drug", c.subject)},
           {"action", d.value("action", "")},
           {"dose", doseText(d.value("dose_mg", json()))},
           {"previous", prev.value("action", "") + ", dose " + doseText(prev.value("dose_mg", json()))},
           {"rules", citations(d.value("rule_ids", json::array()))},
           {"resume", d.contains("resume") ? joined(d["resume"], "; ") : "none"},
           {"discontinue_after", d.value("discontinue_after", json()).is_string() ? d["discontinue_after"].get<std::string>() : "none"},
           {"events", events.empty() ? "- none recorded\n" : events},
           {"basis", d.value("rests_on", json()).is_string() ? d["rests_on"].get<std::string>()
                                                             : std::string("the rules and events below")},
           {"late", lateEntries(h, d.value("event_refs", json::array()))},
           {"supersedes", supersedes.count(d.value("drug", c.subject)) ? supersedes.at(d.value("drug", c.subject)) : "none"},
           {"link", participant_link + "/recommendations"}};
    } else {
      p = {{"code", d.value("code", c.subject)},
           {"drug", d.value("drug", json()).is_string() ? d["drug"].get<std::string>() : "none"},
           {"date", d.value("date", json()).is_string() ? d["date"].get<std::string>() : "unknown"},
           {"text", d.value("text", "")},
           {"rules", citations(d.value("rule_ids", json::array()))},
           {"late", lateEntries(h, json::array({d.value("dose_ref", "")}))},
           {"link", participant_link + "/safety-changes"}};
    }
    keep(raise(tx, cls, cls + ":" + ref, study_id, site, ref, p, actor));
  }
  return raised;
}

bool AlertPlanner::settled(const std::string& key) const {
  std::lock_guard lock(settled_mutex_);
  return settled_.count(key) > 0;
}

void AlertPlanner::settle(const std::string& key) const {
  std::lock_guard lock(settled_mutex_);
  settled_.insert(key);
}

core::Result<size_t> AlertPlanner::runClock(store::Store& store, int64_t now_ms) const {
  core::Status failure = core::Status::ok();
  size_t raised = clockDeadlines(store, now_ms, failure);
  if (failure.isOk()) raised += clockEscalations(store, now_ms, failure);
  if (failure.isOk()) raised += clockDigests(store, now_ms, failure);
  if (!failure.isOk()) return failure;
  return raised;
}

size_t AlertPlanner::clockDeadlines(store::Store& store, int64_t now_ms, core::Status& failure) const {
  core::DeadlineFilter filter;
  filter.met = false;
  filter.limit = 100000;
  auto open = store.deadlines(filter);
  if (!open.isOk()) {
    failure = open.status();
    return 0;
  }
  size_t raised = 0;
  for (const auto& d : open.value()) {
    if (d.no_longer_required_since_version) continue;
    const auto due = core::parseTimestamp(d.due_at);
    if (!due) continue;
    const int64_t length = clockLengthMs(d.kind);
    const int64_t start = *due - length;
    std::string cls, key, percent;
    if (now_ms >= *due) {
      cls = "overdue";
      key = "overdue:deadline/" + std::to_string(d.id);
    } else {
      for (int pct : options_.reminder_percents)
        if (now_ms >= start + length * pct / 100) {
          cls = "reminder";
          percent = std::to_string(pct);
          key = "reminder" + percent + ":deadline/" + std::to_string(d.id);
        }
    }
    if (cls.empty() || settled(key)) continue;
    const bool written = writeClockAlert(store, key, raised, failure, [&](store::Transaction& tx) {
      if (tx.alertExists(key)) return false;
      auto ae = tx.adverseEvent(d.ae_id);
      json p = {{"deadline_kind", d.kind},
                {"due", d.due_at},
                {"term", ae ? ae->current().ctcae_term : "unknown"},
                {"grade", ae ? std::to_string(ae->current().grade) : "unknown"},
                {"link", options_.link_base + "/api/v1/adverse-events/" + std::to_string(d.ae_id)}};
      if (cls == "reminder") p["percent"] = percent;
      return raise(tx, cls, key, d.study_id, d.site, "deadline/" + std::to_string(d.id), p, "vigild") != 0;
    });
    if (!written) return raised;
  }
  return raised;
}

bool AlertPlanner::writeClockAlert(store::Store& store, const std::string& key, size_t& raised, core::Status& failure,
                                   const std::function<bool(store::Transaction&)>& raise_one) const {
  core::Status s = store.write([&](store::Transaction& tx) {
    if (raise_one(tx)) ++raised;
    return core::Status::ok();
  });
  if (!s.isOk()) {
    failure = s;
    return false;
  }
  settle(key);
  return true;
}

size_t AlertPlanner::clockEscalations(store::Store& store, int64_t now_ms, core::Status& failure) const {
  auto due = store.alertsToEscalate(now_ms);
  if (!due.isOk()) {
    failure = due.status();
    return 0;
  }
  size_t raised = 0;
  for (const auto& original : due.value()) {
    core::Status s = store.write([&](store::Transaction& tx) {
      auto a = tx.alert(original.id);
      if (!a || !a->acked_at.empty() || !a->escalated_at.empty()) return core::Status::ok();
      tx.markEscalated(a->id);
      const json op = json::parse(a->payload, nullptr, false);
      const int64_t created = core::parseTimestamp(a->created_at).value_or(now_ms);
      json p = {{"original_class", a->alert_class},
                {"original_id", std::to_string(a->id)},
                {"raised_at", a->created_at},
                {"term", op.is_object() ? op.value("term", "unknown") : "unknown"},
                {"grade", op.is_object() ? op.value("grade", "unknown") : "unknown"},
                {"waited", std::to_string((now_ms - created) / 60000) + " min"},
                {"link", op.is_object() ? op.value("link", options_.link_base) : options_.link_base}};
      if (raise(tx, "escalation", "escalation:alert/" + std::to_string(a->id), a->study_id, a->site,
                "alert/" + std::to_string(a->id), p, "vigild"))
        ++raised;
      return core::Status::ok();
    });
    if (!s.isOk()) {
      failure = s;
      return raised;
    }
  }
  return raised;
}

size_t AlertPlanner::clockDigests(store::Store& store, int64_t now_ms, core::Status& failure) const {
  const int64_t day = now_ms / core::kDayMs;
  const int64_t digest_at = day * core::kDayMs + options_.digest_hour_utc * core::kHourMs;
  if (now_ms < digest_at) return 0;
  const std::string date = core::formatDate(day);
  auto participants = store.participants(std::nullopt);
  if (!participants.isOk()) {
    failure = participants.status();
    return 0;
  }
  std::map<std::string, std::vector<std::string>> by_site;
  for (const auto& p : participants.value()) by_site[p.site].push_back(p.study_id);
  size_t raised = 0;
  for (const auto& site_entry : by_site) {
    // Named references, not structured bindings: clang 14 (the fuzz build) cannot capture those.
    const auto& site = site_entry.first;
    const auto& study_ids = site_entry.second;
    const std::string key = "digest:" + site + ":" + date;
    if (settled(key)) continue;
    // The window is the 24 hours before today's digest time.
    const std::string from = core::formatTimestamp(digest_at - core::kDayMs), to = core::formatTimestamp(digest_at);
    std::string items;
    int count = 0;
    for (const auto& study_id : study_ids) {
      auto changes = store.safetyChanges(study_id, {0, 100000});
      if (!changes.isOk()) {
        failure = changes.status();
        return raised;
      }
      for (const auto& c : changes.value()) {
        if (c.at < from || c.at >= to || !individualClass(c).empty()) continue;
        const json d = json::parse(c.detail, nullptr, false);
        std::string what = c.kind + " " + c.subject;
        if (d.is_object() && c.kind == "recommendation")
          what += ": " + d.value("action", "") + ", dose " + doseText(d.value("dose_mg", json()));
        if (d.is_object() && d.contains("rule_ids")) what += " [" + joined(d["rule_ids"]) + "]";
        else if (d.is_object() && d.contains("id")) what += " [" + d.value("id", "") + "]";
        items += "- " + c.at + " " + study_id + ": " + what + "\n";
        ++count;
      }
    }
    if (count == 0) {
      settle(key);  // nothing to send today
      continue;
    }
    const bool written = writeClockAlert(store, key, raised, failure, [&](store::Transaction& tx) {
      json p = {{"date", date},
                {"count", std::to_string(count)},
                {"items", items},
                {"link", options_.link_base + "/api/v1/participants?site=" + site}};
      return raise(tx, "digest", key, "", site, "site/" + site, p, "vigild") != 0;
    });
    if (!written) return raised;
  }
  return raised;
}

}  // namespace vigil::outbox

#include "intake/safety_monitor.h"

#include <nlohmann/json.hpp>
#include <set>

#include "rules/scenario_json.h"

namespace vigil::intake {
namespace {

using nlohmann::json;

std::string findingKey(const json& f) {
  return f.value("code", "") + "|" + f.value("dose_ref", "") + "|" + f.value("ref", "");
}
std::string flagKey(const json& f) { return f.value("id", "") + "|" + f.value("ref", ""); }

// A change of recommendation is a new action or dose, or other rules behind a hold or a
// discontinuation. Rules that only confirm "continue" (AN-HEM-1 for a G1 nosebleed) and new
// events behind the same rules are not a change.
bool sameRecommendation(const json& a, const json& b) {
  if (a.value("action", "") != b.value("action", "") || a.value("dose_mg", json()) != b.value("dose_mg", json()))
    return false;
  return a.value("action", "") == "continue" || a.value("rule_ids", json::array()) == b.value("rule_ids", json::array());
}

// Before any recorded evaluation a participant stands at the starting dose with no rule behind it.
json startingState(const core::Participant& p) {
  auto drug = [](const std::optional<int>& dose) {
    return json{{"action", dose ? "continue" : "discontinue"}, {"dose_mg", dose ? json(*dose) : json()},
                {"rule_ids", json::array()}};
  };
  return {{"drugs", {{"anlotinib", drug(p.anlotinib_dose_mg)}, {"sintilimab", drug(p.sintilimab_dose_mg)}}},
          {"findings", json::array()},
          {"flags", json::array()}};
}

}  // namespace

rules::Scenario scenarioOf(const store::History& h, int64_t as_of_ms) {
  rules::Scenario sc;
  sc.as_of_ms = as_of_ms;
  sc.participant = h.participant;
  for (const auto& d : h.doses) {
    rules::ScenarioDose sd;
    sd.ref = "dose/" + std::to_string(d.id);
    sd.drug = d.drug;
    sd.date_ms = core::parseInstant(d.date).value_or(0);
    sd.dose_mg = d.dose_mg;
    sd.given = d.status == core::DoseStatus::kGiven;
    sd.cycle_day = d.day;
    sc.doses.push_back(sd);
  }
  for (const auto& r : h.adverse_events) {
    const auto& v = r.current();
    rules::ScenarioAe ae;
    ae.ref = "ae/" + std::to_string(r.id);
    ae.term = v.ctcae_term;
    ae.verbatim = v.verbatim;
    ae.grade = v.grade;
    ae.onset_ms = core::parseInstant(v.start).value_or(0);
    if (v.end) ae.resolved_ms = core::parseInstant(v.end->substr(0, 10));
    ae.serious = v.serious_criteria;
    for (core::Drug drug : core::kDrugs) {
      ae.investigator[static_cast<size_t>(drug)] = v.per_drug[static_cast<size_t>(drug)].relatedness;
      ae.sponsor[static_cast<size_t>(drug)] = v.sponsor_relatedness[static_cast<size_t>(drug)];
    }
    ae.site_aware_ms = core::parseTimestamp(v.site_aware_at);
    if (v.sponsor_aware_at) ae.sponsor_aware_ms = core::parseTimestamp(*v.sponsor_aware_at);
    if (v.steroid_start) ae.steroid_start_ms = core::parseInstant(*v.steroid_start);
    sc.adverse_events.push_back(std::move(ae));
  }
  for (const auto& l : h.labs) {
    rules::ScenarioLab sl;
    sl.ref = "lab/" + std::to_string(l.id);
    sl.test = l.test;
    sl.value = l.value;
    sl.unit = l.unit;
    sl.lln = l.lln;
    sl.uln = l.uln;
    sl.collected_ms = core::parseTimestamp(l.collected_at).value_or(0);
    sc.labs.push_back(std::move(sl));
  }
  for (const auto& v : h.vitals) {
    rules::ScenarioVital sv;
    sv.ref = "vitals/" + std::to_string(v.id);
    sv.measured_ms = core::parseTimestamp(v.measured_at).value_or(0);
    sv.systolic = v.systolic_mmhg;
    sv.diastolic = v.diastolic_mmhg;
    sv.temperature_c = v.temperature_c;
    sv.qtc_ms = v.qtc_ms;
    sc.vitals.push_back(sv);
  }
  for (const auto& g : h.pregnancies) {
    rules::ScenarioPregnancy sp;
    sp.ref = "pregnancy/" + std::to_string(g.id);
    sp.partner = g.subject == "partner";
    sp.site_aware_ms = core::parseTimestamp(g.site_aware_at).value_or(0);
    sp.outcome = rules::parsePregnancyOutcome(g.outcome).value_or(rules::PregnancyOutcome::kOngoing);
    if (g.outcome_aware_at) sp.outcome_aware_ms = core::parseTimestamp(*g.outcome_aware_at);
    sc.pregnancies.push_back(sp);
  }
  for (const auto& m : h.medications)
    sc.medications.push_back(rules::scenarioMedication(m, "medication/" + std::to_string(m.id)));
  return sc;
}

std::vector<core::SafetyChange> SafetyMonitor::record(store::Transaction& tx, const std::string& study_id,
                                                      const std::string& actor, const std::string& cause) const {
  std::vector<core::SafetyChange> changes;
  auto history = tx.history(study_id);
  if (!history) return changes;
  const int64_t now_ms = core::parseTimestamp(tx.now()).value_or(0);
  const json full = json::parse(
      rules::evaluationToJson(evaluator_.evaluate(scenarioOf(*history, now_ms)), evaluator_.doseRules(), true));
  json state = {{"drugs", full["drugs"]}, {"findings", full["findings"]}, {"flags", full["flags"]}};

  const auto stored = tx.safetyState(study_id);
  const json before = stored ? json::parse(*stored) : startingState(history->participant);

  auto add = [&](const std::string& kind, const std::string& subject, json detail) {
    changes.push_back({0, study_id, tx.now(), kind, subject, detail.dump(), actor, cause});
  };
  for (core::Drug drug : core::kDrugs) {
    const std::string name(core::toString(drug));
    const json& now_drug = state["drugs"][name];
    const json& was = before["drugs"][name];
    if (sameRecommendation(now_drug, was)) continue;
    json detail = now_drug;
    detail["drug"] = name;
    detail["previous"] = {{"action", was.value("action", "")}, {"dose_mg", was.value("dose_mg", json())},
                          {"rule_ids", was.value("rule_ids", json::array())}};
    add("recommendation", name, std::move(detail));
  }
  std::set<std::string> known_findings, known_flags;
  for (const auto& f : before["findings"]) known_findings.insert(findingKey(f));
  for (const auto& f : before["flags"]) known_flags.insert(flagKey(f));
  for (const auto& f : state["findings"])
    if (!known_findings.count(findingKey(f))) add("finding", f.value("code", ""), f);
  for (const auto& f : state["flags"])
    if (!known_flags.count(flagKey(f))) add("flag", f.value("id", ""), f);

  const std::string state_text = state.dump();
  if (!stored || *stored != state_text) {
    tx.saveSafetyState(study_id, state_text);
    for (auto& c : changes) c.id = tx.insertSafetyChange(c);
    if (!changes.empty()) tx.appendAudit({actor, "evaluate", "safety", study_id, before.dump(), state_text});
  }
  // Alerts look at the whole evaluation, not only at what changed: a new SAE of a term no rule
  // acts on changes no recommendation but must still reach the sponsor.
  if (alerts_) alerts_->onEvaluation(tx, *history, full, changes, actor, cause);
  return changes;
}

core::Result<size_t> SafetyMonitor::sweep(store::Store& store) const {
  auto all = store.participants(std::nullopt);
  if (!all.isOk()) return all.status();
  size_t recorded = 0;
  for (const auto& p : all.value()) {
    core::Status s = store.write([&](store::Transaction& tx) {
      recorded += record(tx, p.study_id, "vigild", "clock").size();
      return core::Status::ok();
    });
    if (!s.isOk()) return s;
  }
  return recorded;
}

}  // namespace vigil::intake

#include "rules/dose_rules.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

namespace vigil::rules {
namespace {

using nlohmann::json;

void onlyKeys(const json& j, std::initializer_list<const char*> allowed, const std::string& where) {
  if (!j.is_object()) throw std::invalid_argument(where + ": must be an object");
  for (const auto& item : j.items()) {
    const std::string& key = item.key();  // not a structured binding: clang 14 cannot capture one
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }))
      throw std::invalid_argument(where + ": unknown field '" + key + "'");
  }
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key))
    for (const auto& s : j.at(key)) out.push_back(s.get<std::string>());
  return out;
}

DrugAction parseAction(const std::string& s, const std::string& where) {
  if (s == "continue") return DrugAction::kContinue;
  if (s == "interrupt_infusion") return DrugAction::kInterruptInfusion;
  if (s == "hold") return DrugAction::kHold;
  if (s == "discontinue") return DrugAction::kDiscontinue;
  throw std::invalid_argument(where + ": unknown action '" + s + "'");
}

DrugScope parseScope(const std::string& s, const std::string& where) {
  if (s == "anlotinib") return DrugScope::kAnlotinib;
  if (s == "sintilimab") return DrugScope::kSintilimab;
  if (s == "both") return DrugScope::kBoth;
  throw std::invalid_argument(where + ": unknown drug '" + s + "'");
}

Measure parseMeasure(const json& j, const std::string& where) {
  onlyKeys(j, {"of", "op", "value", "si", "us", "if_known"}, where);
  Measure m;
  const std::string of = j.at("of");
  if (of == "value") m.of = Measure::Of::kValue;
  else if (of == "x_uln") m.of = Measure::Of::kXUln;
  else if (of == "tbil_x_uln") m.of = Measure::Of::kTbilXUln;
  else if (of == "alp_x_uln") m.of = Measure::Of::kAlpXUln;
  else if (of == "baseline_x_uln") m.of = Measure::Of::kBaselineXUln;
  else if (of == "systolic") m.of = Measure::Of::kSystolic;
  else if (of == "diastolic") m.of = Measure::Of::kDiastolic;
  else throw std::invalid_argument(where + ": unknown measure '" + of + "'");
  const std::string op = j.at("op");
  if (op == ">=") m.op = Measure::Op::kGe;
  else if (op == ">") m.op = Measure::Op::kGt;
  else if (op == "<=") m.op = Measure::Op::kLe;
  else if (op == "<") m.op = Measure::Op::kLt;
  else throw std::invalid_argument(where + ": unknown operator '" + op + "'");
  if (m.of == Measure::Of::kValue) {
    m.value = j.at("si").get<double>();
    m.us_value = j.at("us").get<double>();
  } else {
    m.value = j.at("value").get<double>();
  }
  m.if_known = j.value("if_known", false);
  return m;
}

// text_only: a flag may select AEs by their verbatim text alone (an imaging report recorded as an
// AE); a dose rule must name terms, categories, kinds or tests.
Condition parseCondition(const json& j, const std::string& where, const grading::Catalogue& catalogue,
                         const CategorySet& categories, const grading::LabGrader& grader, bool text_only = false) {
  onlyKeys(j,
           {"terms", "categories", "kinds", "tests", "min_grade", "max_grade", "events", "attribution", "recurrence",
            "other", "measure", "liver_mets_abnormal_baseline", "suspected", "verbatim_contains", "persists_hours"},
           where);
  Condition c;
  c.terms = strings(j, "terms");
  for (const auto& t : c.terms) {
    const auto* found = catalogue.find(t);
    if (!found || found->term != t) throw std::invalid_argument(where + ": '" + t + "' is not a CTCAE v5.0 term as NCI spells it");
  }
  c.categories = strings(j, "categories");
  for (const auto& name : c.categories)
    if (!categories.find(name)) throw std::invalid_argument(where + ": unknown category '" + name + "'");
  for (const auto& k : strings(j, "kinds")) {
    if (k == "anti_angiogenic") c.kinds.push_back(CategoryKind::kAntiAngiogenic);
    else if (k == "immune_related") c.kinds.push_back(CategoryKind::kImmuneRelated);
    else throw std::invalid_argument(where + ": unknown kind '" + k + "'");
  }
  c.tests = strings(j, "tests");
  for (const auto& t : c.tests)
    if (!grader.find(t)) throw std::invalid_argument(where + ": unknown lab test '" + t + "'");
  c.min_grade = j.value("min_grade", 1);
  c.max_grade = j.value("max_grade", 5);
  if (c.min_grade < 1 || c.max_grade > 5 || c.min_grade > c.max_grade)
    throw std::invalid_argument(where + ": grades must satisfy 1 <= min_grade <= max_grade <= 5");
  if (j.contains("events")) {
    c.events = {false, false, false};
    for (const auto& e : j.at("events")) {
      if (e == "ae") c.events[0] = true;
      else if (e == "lab") c.events[1] = true;
      else if (e == "vital") c.events[2] = true;
      else throw std::invalid_argument(where + ": unknown event kind " + e.dump());
    }
  }
  const std::string attribution = j.value("attribution", "not_ruled_out");
  if (attribution == "not_ruled_out") c.attribution = Attribution::kNotRuledOut;
  else if (attribution == "related") c.attribution = Attribution::kRelated;
  else if (attribution == "either") c.attribution = Attribution::kEither;
  else if (attribution == "both_related") c.attribution = Attribution::kBothRelated;
  else if (attribution == "any") c.attribution = Attribution::kAny;
  else throw std::invalid_argument(where + ": unknown attribution '" + attribution + "'");
  const std::string recurrence = j.value("recurrence", "any");
  if (recurrence == "any") c.recurrence = Recurrence::kAny;
  else if (recurrence == "first") c.recurrence = Recurrence::kFirst;
  else if (recurrence == "recurrent") c.recurrence = Recurrence::kRecurrent;
  else throw std::invalid_argument(where + ": unknown recurrence '" + recurrence + "'");
  c.other = j.value("other", false);
  if (j.contains("measure")) {
    size_t i = 0;
    for (const auto& m : j.at("measure")) c.measure.push_back(parseMeasure(m, where + ".measure[" + std::to_string(i++) + "]"));
  }
  if (j.contains("liver_mets_abnormal_baseline")) c.liver_mets_abnormal_baseline = j.at("liver_mets_abnormal_baseline").get<bool>();
  if (j.contains("suspected")) c.suspected = j.at("suspected").get<bool>();
  c.verbatim_contains = strings(j, "verbatim_contains");
  c.persists_hours = j.value("persists_hours", 0);
  if (!c.other && !c.hasTermFilter() && c.tests.empty() && !(text_only && !c.verbatim_contains.empty()))
    throw std::invalid_argument(where + ": names no terms, categories, kinds or tests");
  if (c.other && (c.hasTermFilter() || !c.tests.empty()))
    throw std::invalid_argument(where + ": an 'other' condition cannot name terms");
  return c;
}

bool canMatchTerm(const Condition& c, const std::string& term, const Classification& cls,
                  const grading::LabGrader& grader) {
  if (c.other) return false;
  if (c.hasTermFilter()) {
    if (std::find(c.terms.begin(), c.terms.end(), term) != c.terms.end()) return true;
    for (const auto* cat : cls.categories) {
      if (std::find(c.categories.begin(), c.categories.end(), cat->name) != c.categories.end()) return true;
      if (std::find(c.kinds.begin(), c.kinds.end(), cat->kind) != c.kinds.end()) return true;
    }
    return false;
  }
  for (const auto& test : c.tests)
    if (const auto* a = grader.find(test))
      for (const auto& cr : a->criteria)
        if (cr.term == term) return true;
  return false;
}

}  // namespace

std::string_view toString(DrugAction action) {
  switch (action) {
    case DrugAction::kContinue: return "continue";
    case DrugAction::kInterruptInfusion: return "interrupt_infusion";
    case DrugAction::kHold: return "hold";
    case DrugAction::kDiscontinue: return "discontinue";
  }
  return "?";
}

std::string_view toString(EventKind kind) {
  switch (kind) {
    case EventKind::kAe: return "ae";
    case EventKind::kLab: return "lab";
    case EventKind::kVital: return "vital";
  }
  return "?";
}

core::Result<DoseRules> DoseRules::load(const std::string& path, const grading::Catalogue& catalogue,
                                        const CategorySet& categories, const grading::LabGrader& grader) {
  DoseRules r;
  std::string where = path;
  try {
    std::ifstream in(path);
    if (!in) return core::Status::invalid("cannot read " + path);
    const json doc = json::parse(in);
    onlyKeys(doc, {"format", "version", "about", "settings", "clock_rules", "rules", "on_study_flags", "monitoring",
                   "eligibility", "medications", "hbv"},
             path);
    if (doc.at("format") != "vigil-dose-rules/1") throw std::invalid_argument("unknown format " + doc.at("format").dump());
    r.version_ = doc.at("version");
    const json& s = doc.at("settings");
    onlyKeys(s,
             {"anlotinib_levels_mg", "sintilimab_dose_mg", "anlotinib_default_max_hold_days",
              "anlotinib_default_max_hold_source", "anlotinib_default_max_hold_verified", "sintilimab_max_hold_days",
              "overlap_dechallenge_days", "cycle_days", "anlotinib_days_on", "hepatic_pair_window_days",
              "hepatic_pair_window_source", "hepatic_pair_window_verified"},
             "settings");
    r.settings_.anlotinib_levels_mg = s.at("anlotinib_levels_mg").get<std::vector<int>>();
    if (r.settings_.anlotinib_levels_mg.empty() ||
        !std::is_sorted(r.settings_.anlotinib_levels_mg.rbegin(), r.settings_.anlotinib_levels_mg.rend()))
      throw std::invalid_argument("settings.anlotinib_levels_mg: must list the levels from the starting dose down");
    r.settings_.sintilimab_dose_mg = s.at("sintilimab_dose_mg");
    r.settings_.anlotinib_default_max_hold_days = s.at("anlotinib_default_max_hold_days");
    r.settings_.sintilimab_max_hold_days = s.at("sintilimab_max_hold_days");
    r.settings_.overlap_dechallenge_days = s.at("overlap_dechallenge_days");
    r.settings_.cycle_days = s.at("cycle_days");
    r.settings_.anlotinib_days_on = s.at("anlotinib_days_on");
    r.settings_.hepatic_pair_window_days = s.at("hepatic_pair_window_days");
    if (r.settings_.hepatic_pair_window_days < 0 || s.at("hepatic_pair_window_source").get<std::string>().empty())
      throw std::invalid_argument("settings.hepatic_pair_window_days: needs a non-negative number of days and its source");
    if (r.settings_.cycle_days < 1 || r.settings_.anlotinib_days_on < 1 ||
        r.settings_.anlotinib_days_on > r.settings_.cycle_days)
      throw std::invalid_argument("settings: need 1 <= anlotinib_days_on <= cycle_days");

    std::set<std::string> ids;
    for (const auto& j : doc.at("clock_rules")) {
      ClockRule c;
      c.id = j.at("id");
      where = "clock rule " + c.id;
      onlyKeys(j, {"id", "drug", "action", "source", "verified", "note", "days"}, where);
      c.source = j.at("source");
      c.verified = j.at("verified");
      c.note = j.value("note", "");
      if (j.contains("days")) {
        if (!j.at("days").is_number_integer() || j.at("days").get<int>() < 1)
          throw std::invalid_argument("days: a positive whole number");
        c.days = j.at("days").get<int>();
      }
      if (c.source.empty()) throw std::invalid_argument("no source");
      if (!ids.insert(c.id).second) throw std::invalid_argument("duplicate id");
      r.clocks_.push_back(std::move(c));
    }
    for (const char* needed : {"AN-HOLD-MAX", "SI-12W", "AN-INT", "GEN-DEATH", "AN-MISS", "AN-OFFWEEK",
                                "PREG-24H", "PREG-OUTCOME"})
      if (!r.clock(needed)) throw std::invalid_argument(std::string("clock_rules: missing ") + needed);
    for (const char* needed : {"SI-MISS", "WIN-AE", "WIN-SAE", "CYCLE-START"})
      if (!r.clock(needed) || !r.clock(needed)->days)
        throw std::invalid_argument(std::string("clock_rules: missing ") + needed + " with its days");

    for (const auto& j : doc.at("rules")) {
      DoseRule rule;
      rule.id = j.at("id");
      where = "rule " + rule.id;
      onlyKeys(j,
               {"id", "section", "drug", "kind", "routes_to", "when", "action", "resume", "resume_max_grade", "resume_dose",
                "resume_dose_recurrent", "max_hold_days", "rechallenge", "aesi", "resume_also", "source", "verified", "note"},
               where);
      if (!ids.insert(rule.id).second) throw std::invalid_argument("duplicate id");
      rule.section = j.at("section");
      rule.drug = parseScope(j.at("drug"), where);
      rule.source = j.at("source");
      if (rule.source.empty()) throw std::invalid_argument("no source");
      rule.verified = j.at("verified");
      rule.note = j.value("note", "");
      const std::string kind = j.value("kind", "action");
      if (kind == "routing") {
        rule.routing = true;
        rule.routes_to = strings(j, "routes_to");
        if (j.contains("when") || j.contains("action")) throw std::invalid_argument("a routing row has no when or action");
        r.rules_.push_back(std::move(rule));
        continue;
      }
      if (kind != "action") throw std::invalid_argument("unknown kind '" + kind + "'");
      size_t i = 0;
      for (const auto& c : j.at("when"))
        rule.when.push_back(parseCondition(c, "when[" + std::to_string(i++) + "]", catalogue, categories, grader));
      if (rule.when.empty()) throw std::invalid_argument("empty when");
      rule.action = parseAction(j.at("action"), where);
      rule.resume = j.value("resume", "");
      rule.resume_max_grade = j.value("resume_max_grade", 1);
      if (j.contains("resume_also")) {
        if (j.at("resume_also") != "stable_anticoagulation")
          throw std::invalid_argument("resume_also: only \"stable_anticoagulation\"");
        if (rule.action != DrugAction::kHold) throw std::invalid_argument("resume_also needs a hold");
        rule.resume_on_stable_anticoagulation = true;
      }
      auto dose = [&](const char* key) -> std::optional<bool> {
        if (!j.contains(key)) return std::nullopt;
        const std::string v = j.at(key);
        if (v == "same") return false;
        if (v == "minus_one") return true;
        throw std::invalid_argument(std::string(key) + ": must be same or minus_one");
      };
      rule.minus_one = dose("resume_dose").value_or(false);
      rule.minus_one_recurrent = dose("resume_dose_recurrent");
      if (j.contains("max_hold_days")) {
        const json& m = j.at("max_hold_days");
        if (m.is_string() && m == "default") rule.max_hold = MaxHold::kDefault;
        else if (m.is_number_integer() && m.get<int>() > 0) {
          rule.max_hold = MaxHold::kDays;
          rule.max_hold_days = m.get<int>();
        } else if (!m.is_null()) throw std::invalid_argument("max_hold_days: a number of days, \"default\" or null");
      }
      if (j.contains("rechallenge")) {
        if (j.at("rechallenge") != "sequential") throw std::invalid_argument("rechallenge: only \"sequential\"");
        if (rule.drug != DrugScope::kBoth) throw std::invalid_argument("a sequential rechallenge needs both drugs held");
        rule.sequential = true;
      }
      rule.aesi = j.value("aesi", false);
      if (rule.action == DrugAction::kHold && rule.resume.empty()) throw std::invalid_argument("a hold needs its resume condition");
      r.rules_.push_back(std::move(rule));
    }
    for (const auto& rule : r.rules_)
      for (const auto& target : rule.routes_to)
        if (!r.find(target)) throw std::invalid_argument("rule " + rule.id + ": routes to unknown rule " + target);

    for (const auto& j : doc.at("on_study_flags")) {
      OnStudyFlag f;
      f.id = j.at("id");
      where = "flag " + f.id;
      onlyKeys(j, {"id", "when", "text", "source", "verified", "latest_only"}, where);
      if (!ids.insert(f.id).second) throw std::invalid_argument("duplicate id");
      size_t i = 0;
      for (const auto& c : j.at("when"))
        f.when.push_back(parseCondition(c, "when[" + std::to_string(i++) + "]", catalogue, categories, grader, true));
      f.text = j.at("text");
      f.source = j.at("source");
      if (f.source.empty()) throw std::invalid_argument("no source");
      f.verified = j.at("verified");
      f.latest_only = j.value("latest_only", false);
      r.flags_.push_back(std::move(f));
    }

    where = "hbv";
    r.hbv_ = parseHbvSettings(doc.at("hbv"));
    if (doc.contains("monitoring"))
      for (const auto& j : doc.at("monitoring")) {
        MonitoringRule m;
        m.id = j.at("id");
        where = "monitoring " + m.id;
        onlyKeys(j,
                 {"id", "tests", "every_days", "cycle1_every_days", "if_grade", "if_grade_every_days",
                  "before_sintilimab_within_days", "hbv_carriers_only", "text", "source", "verified"},
                 where);
        if (!ids.insert(m.id).second) throw std::invalid_argument("duplicate id");
        m.tests = strings(j, "tests");
        if (m.tests.empty()) throw std::invalid_argument("tests: at least one");
        for (auto& t : m.tests) {
          if (isHbvTest(r.hbv_, t)) {
            t = r.hbv_.test;
            continue;
          }
          const auto* analyte = grader.find(t);
          if (!analyte) throw std::invalid_argument("tests: unknown test " + t);
          t = analyte->code;
        }
        m.hbv_carriers_only = j.value("hbv_carriers_only", false);
        auto days = [&](const char* key) -> std::optional<int> {
          if (!j.contains(key)) return std::nullopt;
          if (!j.at(key).is_number_integer() || j.at(key).get<int>() < 0)
            throw std::invalid_argument(std::string(key) + ": a whole number of days");
          return j.at(key).get<int>();
        };
        m.every_days = days("every_days");
        m.cycle1_every_days = days("cycle1_every_days");
        m.if_grade_every_days = days("if_grade_every_days");
        m.before_sintilimab_within_days = days("before_sintilimab_within_days");
        m.if_grade = j.value("if_grade", 0);
        if (m.if_grade_every_days && m.if_grade < 1) throw std::invalid_argument("if_grade_every_days needs if_grade >= 1");
        m.text = j.at("text");
        m.source = j.at("source");
        if (m.source.empty()) throw std::invalid_argument("no source");
        m.verified = j.at("verified");
        r.monitoring_.push_back(std::move(m));
      }

    if (doc.contains("eligibility"))
      for (const auto& j : doc.at("eligibility")) {
        EligibilityRule e;
        e.id = j.at("id");
        where = "eligibility " + e.id;
        onlyKeys(j, {"id", "fact", "test", "min", "min_us", "max", "below", "text", "source", "verified"}, where);
        if (!ids.insert(e.id).second) throw std::invalid_argument("duplicate id");
        e.fact = j.value("fact", "");
        e.test = j.value("test", "");
        static const std::set<std::string> kFacts = {"age", "ecog", "hbv_dna_iu_ml", "fistula_or_perforation_6m"};
        if (e.fact.empty() == e.test.empty()) throw std::invalid_argument("needs either fact or test");
        if (!e.fact.empty() && !kFacts.count(e.fact)) throw std::invalid_argument("fact: unknown fact " + e.fact);
        if (!e.test.empty()) {
          const auto* analyte = grader.find(e.test);
          if (!analyte) throw std::invalid_argument("test: unknown test " + e.test);
          e.test = analyte->code;
          if (j.contains("min") != j.contains("min_us") && !analyte->us_unit.empty())
            throw std::invalid_argument("a lab floor needs min (SI) and min_us (US)");
        }
        auto num = [&](const char* key) -> std::optional<double> {
          if (!j.contains(key)) return std::nullopt;
          return j.at(key).get<double>();
        };
        e.min = num("min");
        e.min_us = num("min_us");
        e.max = num("max");
        e.below = num("below");
        // Each kind needs the limit it is judged by, and no other (a limit never read is a mistake).
        const bool ok = !e.test.empty()                    ? e.min && !e.max && !e.below
                        : e.fact == "hbv_dna_iu_ml"        ? e.below && !e.min && !e.max
                        : e.fact == "fistula_or_perforation_6m" ? !e.min && !e.max && !e.below
                                                           : (e.min || e.max) && !e.below;
        if (!ok)
          throw std::invalid_argument(!e.test.empty() ? "a lab criterion takes min (and min_us) only"
                                      : e.fact == "hbv_dna_iu_ml" ? "hbv_dna_iu_ml takes below only"
                                      : e.fact == "fistula_or_perforation_6m" ? "fistula_or_perforation_6m takes no limit"
                                                                              : e.fact + " takes min and/or max only");
        e.text = j.at("text");
        e.source = j.at("source");
        if (e.source.empty()) throw std::invalid_argument("no source");
        e.verified = j.at("verified");
        r.eligibility_.push_back(std::move(e));
      }
    where = "medications";
    r.medications_ = parseMedicationSettings(doc.at("medications"));
  } catch (const std::exception& e) {
    return core::Status::invalid(path + ": " + where + ": " + e.what());
  }

  // Index the action rows by every CTCAE term they can match.
  for (const auto& t : catalogue.terms()) {
    const Classification cls = categories.classify(t.term);
    std::vector<size_t> list;
    for (size_t i = 0; i < r.rules_.size(); ++i) {
      const DoseRule& rule = r.rules_[i];
      if (rule.routing) continue;
      if (std::any_of(rule.when.begin(), rule.when.end(),
                      [&](const Condition& c) { return canMatchTerm(c, t.term, cls, grader); }))
        list.push_back(i);
    }
    if (!list.empty()) r.by_term_.emplace(t.term, std::move(list));
  }
  for (size_t i = 0; i < r.rules_.size(); ++i)
    if (!r.rules_[i].routing && std::any_of(r.rules_[i].when.begin(), r.rules_[i].when.end(),
                                            [](const Condition& c) { return c.other; }))
      r.other_.push_back(i);
  return r;
}

bool compare(double v, Measure::Op op, double limit) {
  const double scale = std::max(std::fabs(v), std::fabs(limit));
  const bool equal = std::fabs(v - limit) <= scale * 1e-12;
  switch (op) {
    case Measure::Op::kGe: return equal || v > limit;
    case Measure::Op::kGt: return !equal && v > limit;
    case Measure::Op::kLe: return equal || v < limit;
    case Measure::Op::kLt: return !equal && v < limit;
  }
  return false;
}

const DoseRule* DoseRules::find(std::string_view id) const {
  for (const auto& rule : rules_)
    if (rule.id == id) return &rule;
  return nullptr;
}

const ClockRule* DoseRules::clock(std::string_view id) const {
  for (const auto& c : clocks_)
    if (c.id == id) return &c;
  return nullptr;
}

bool DoseRules::verified(std::string_view id) const {
  if (const auto* rule = find(id)) return rule->verified;
  if (const auto* c = clock(id)) return c->verified;
  for (const auto& m : monitoring_)
    if (m.id == id) return m.verified;
  for (const auto& e : eligibility_)
    if (e.id == id) return e.verified;
  return false;
}

const std::vector<size_t>& DoseRules::candidates(const std::string& term) const {
  auto it = by_term_.find(term);
  return it == by_term_.end() ? none_ : it->second;
}

}  // namespace vigil::rules

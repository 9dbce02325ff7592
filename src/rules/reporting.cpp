#include "rules/reporting.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/time.h"

namespace vigil::rules {
namespace {

using nlohmann::json;

using core::kDayMs;
using core::kHourMs;

json readJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return json::parse(in);
}

void checkTerm(const grading::Catalogue& catalogue, const std::string& term, const std::string& where) {
  const auto* t = catalogue.find(term);
  if (!t || t->term != term) throw std::invalid_argument(where + ": '" + term + "' is not a CTCAE v5.0 term as NCI spells it");
}

bool matches(const TermCondition& when, const std::string& term, int grade, const Classification& c) {
  if (grade < when.min_grade) return false;
  if (when.irae && c.irae) return true;
  if (std::find(when.terms.begin(), when.terms.end(), term) != when.terms.end()) return true;
  for (const auto* category : c.categories)
    if (std::find(when.categories.begin(), when.categories.end(), category->name) != when.categories.end()) return true;
  return false;
}

bool readingHolds(const ReadingCondition& c, const ReportableEvent& e) {
  if (!e.reading) return false;
  return (c.systolic_at_least && e.systolic && *e.systolic >= *c.systolic_at_least) ||
         (c.diastolic_at_least && e.diastolic && *e.diastolic >= *c.diastolic_at_least);
}

// The first moment the event's steroids reached `at_least` mg/kg/day (equal to 9 significant
// digits counts: 70 mg for 70 kg is 1 mg/kg).
std::optional<int64_t> steroidReached(const ReportableEvent& e, double at_least) {
  for (const auto& [t, mg_per_kg] : e.steroid_mg_per_kg_steps)
    if (mg_per_kg >= at_least * (1 - 1e-9)) return t;
  return std::nullopt;
}
bool steroidReaches(const ReportableEvent& e, double at_least) { return steroidReached(e, at_least).has_value(); }

}  // namespace

bool atLeastPossible(const std::optional<core::Relatedness>& r) {
  return r && (*r == core::Relatedness::kPossible || *r == core::Relatedness::kProbable ||
               *r == core::Relatedness::kDefinite);
}

bool ReferenceSafetyInformation::expected(const std::string& term, int grade) const {
  auto it = max_expected_grade.find(term);
  return it != max_expected_grade.end() && grade <= it->second;
}

std::string_view toString(DeadlineKind kind) {
  switch (kind) {
    case DeadlineKind::kSae24h: return "sae_24h";
    case DeadlineKind::kAesi24h: return "aesi_24h";
    case DeadlineKind::kSusar7d: return "susar_7d";
    case DeadlineKind::kSusarFollowup8d: return "susar_followup_8d";
    case DeadlineKind::kSusar15d: return "susar_15d";
    case DeadlineKind::kPregnancy24h: return "pregnancy_24h";
  }
  return "?";
}

std::string_view toString(DeadlineState state) {
  switch (state) {
    case DeadlineState::kDue: return "due";
    case DeadlineState::kMet: return "met";
    case DeadlineState::kOverdue: return "overdue";
  }
  return "?";
}

DeadlineState stateOf(const Deadline& d, int64_t as_of_ms, std::optional<int64_t> met_at_ms) {
  if (met_at_ms) return DeadlineState::kMet;
  return as_of_ms >= d.due_ms ? DeadlineState::kOverdue : DeadlineState::kDue;
}

core::Result<ReportingRules> ReportingRules::load(const std::string& dir, const grading::Catalogue& catalogue,
                                                  const CategorySet& categories) {
  ReportingRules r;
  r.categories_ = &categories;
  std::string file = dir + "/rules/aesi.json";
  try {
    const json aesi = readJson(file);
    if (aesi.at("format") != "vigil-rules/1") throw std::invalid_argument("unknown format");
    r.aesi_version_ = aesi.value("version", "");
    for (const auto& j : aesi.at("rules")) {
      AesiRule rule;
      rule.id = j.at("id").get<std::string>();
      rule.source = j.at("source").get<std::string>();
      if (rule.source.empty()) throw std::invalid_argument(rule.id + ": every rule cites its source");
      rule.verified = j.at("verified").get<bool>();
      rule.note = j.value("note", "");
      const json& when = j.at("when");
      rule.when.min_grade = when.at("min_grade").get<int>();
      if (rule.when.min_grade < 1 || rule.when.min_grade > 5) throw std::invalid_argument(rule.id + ": min_grade 1-5");
      for (const auto& c : when.value("categories", json::array())) {
        const std::string name = c.get<std::string>();
        if (!categories.find(name)) throw std::invalid_argument(rule.id + ": unknown category '" + name + "'");
        rule.when.categories.push_back(name);
      }
      for (const auto& t : when.value("terms", json::array())) {
        checkTerm(catalogue, t.get<std::string>(), rule.id);
        rule.when.terms.push_back(t.get<std::string>());
      }
      rule.when.irae = when.value("irae", false);
      if (rule.when.categories.empty() && rule.when.terms.empty() && !rule.when.irae)
        throw std::invalid_argument(rule.id + ": names no category, no term and not irae");
      if (when.contains("steroid_mg_per_kg_at_least")) {
        const double v = when.at("steroid_mg_per_kg_at_least").get<double>();
        if (!(v > 0) || v > 100) throw std::invalid_argument(rule.id + ": steroid_mg_per_kg_at_least must be above 0 and at most 100");
        rule.steroid_mg_per_kg_at_least = v;
      }
      if (when.contains("reading")) {
        const json& rd = when.at("reading");
        ReadingCondition c;
        for (const auto& [key, value] : rd.items()) {
          if (key != "systolic_at_least" && key != "diastolic_at_least")
            throw std::invalid_argument(rule.id + ": reading." + key + " is not a known limit");
          const int v = value.get<int>();
          if (v < 40 || v > 300) throw std::invalid_argument(rule.id + ": reading." + key + " must be 40-300 mmHg");
          (key == "systolic_at_least" ? c.systolic_at_least : c.diastolic_at_least) = v;
        }
        if (!c.systolic_at_least && !c.diastolic_at_least) throw std::invalid_argument(rule.id + ": reading sets no limit");
        rule.reading = c;
      }
      r.aesi_.push_back(std::move(rule));
    }
    for (core::Drug drug : core::kDrugs) {
      file = dir + "/rsi/" + std::string(core::toString(drug)) + ".json";
      const json j = readJson(file);
      if (j.at("format") != "vigil-rsi/1" || j.at("drug") != core::toString(drug))
        throw std::invalid_argument("unknown format or drug");
      auto& rsi = r.rsi_[static_cast<size_t>(drug)];
      rsi.drug = drug;
      rsi.version = j.at("version").get<std::string>();
      rsi.source = j.at("source").get<std::string>();
      rsi.verified = j.at("verified").get<bool>();
      for (const auto& e : j.at("expected")) {
        const std::string term = e.at("term").get<std::string>();
        checkTerm(catalogue, term, "expected");
        const int max_grade = e.at("max_grade").get<int>();
        const auto* t = catalogue.find(term);
        if (max_grade < 1 || max_grade > 5 || !t->hasGrade(max_grade))
          throw std::invalid_argument(term + ": max_grade " + std::to_string(max_grade) + " is not a grade of the term");
        rsi.max_expected_grade[term] = max_grade;
      }
    }
  } catch (const std::exception& e) {
    return core::Status::invalid(file + ": " + e.what());
  }
  return r;
}

Assessment ReportingRules::assess(const ReportableEvent& e) const {
  Assessment a;
  a.classification = categories_->classify(e.term);
  for (const auto& rule : aesi_) {
    if (!matches(rule.when, e.term, e.grade, a.classification)) continue;
    if (rule.reading && !readingHolds(*rule.reading, e)) continue;
    // Equal to 9 significant digits is equal: 70 mg for 70 kg is 1 mg/kg.
    if (rule.steroid_mg_per_kg_at_least && !steroidReaches(e, *rule.steroid_mg_per_kg_at_least)) continue;
    a.aesi.push_back(&rule);
    a.unverified = a.unverified || !rule.verified;
  }
  auto has = [&](core::Seriousness s) { return std::find(e.serious.begin(), e.serious.end(), s) != e.serious.end(); };
  // ICH E2A: any criterion; grade 5 (death) is always serious.
  a.serious = !e.serious.empty() || e.grade == 5;
  a.fatal_or_life_threatening = e.grade == 5 || has(core::Seriousness::kDeath) || has(core::Seriousness::kLifeThreatening);
  for (core::Drug drug : core::kDrugs) {
    const size_t d = static_cast<size_t>(drug);
    a.related[d] = atLeastPossible(e.investigator[d]) || atLeastPossible(e.sponsor[d]);
    a.expected[d] = rsi_[d].expected(e.term, e.grade);
    if (a.serious && a.related[d]) {
      a.unverified = a.unverified || !rsi_[d].verified;
      if (!a.expected[d]) a.susar = true;
    }
  }
  return a;
}

std::vector<Deadline> ReportingRules::deadlines(const ReportableEvent& e, const Assessment& a) const {
  std::vector<Deadline> out;
  if (!e.site_aware_ms) return out;
  const char* aware = e.reading ? "measured" : "site_aware";
  if (a.serious) {
    out.push_back({e.ref, DeadlineKind::kSae24h, *e.site_aware_ms + 24 * kHourMs, aware});
  } else if (!a.aesi.empty()) {
    // An event that is of special interest only by its steroid dose became so when that steroid
    // began: the 24 h run from then (or from site awareness, if later).
    std::optional<int64_t> reached;  // the earliest a steroid rule was met; none if another rule applies
    bool by_steroid = true;
    for (const AesiRule* r : a.aesi) {
      if (!r->steroid_mg_per_kg_at_least) {
        by_steroid = false;
        break;
      }
      const auto t = steroidReached(e, *r->steroid_mg_per_kg_at_least);
      if (t && (!reached || *t < *reached)) reached = t;
    }
    if (by_steroid && reached && *reached > *e.site_aware_ms)
      out.push_back({e.ref, DeadlineKind::kAesi24h, *reached + 24 * kHourMs, "steroid_start"});
    else
      out.push_back({e.ref, DeadlineKind::kAesi24h, *e.site_aware_ms + 24 * kHourMs, aware});
  }
  if (a.susar) {
    const int64_t day0 = e.sponsor_aware_ms.value_or(*e.site_aware_ms);
    const std::string anchor = e.sponsor_aware_ms ? "sponsor_aware" : "site_aware (sponsor awareness not recorded)";
    if (a.fatal_or_life_threatening) {
      out.push_back({e.ref, DeadlineKind::kSusar7d, day0 + 7 * kDayMs, anchor});
      out.push_back({e.ref, DeadlineKind::kSusarFollowup8d, day0 + 15 * kDayMs, anchor});
    } else {
      out.push_back({e.ref, DeadlineKind::kSusar15d, day0 + 15 * kDayMs, anchor});
    }
  }
  return out;
}

}  // namespace vigil::rules

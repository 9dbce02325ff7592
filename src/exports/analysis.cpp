#include "exports/analysis.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "exports/format.h"
#include "grading/measurement_grading.h"

namespace vigil::exports {
namespace {

using nlohmann::json;

size_t idx(core::Drug d) { return static_cast<size_t>(d); }

bool withdrewOrChanged(const core::AeVersion& v, bool withdrawal_only) {
  for (const auto& pd : v.per_drug) {
    if (!pd.action) continue;
    if (*pd.action == core::ActionTaken::kDrugWithdrawn) return true;
    if (!withdrawal_only && (*pd.action == core::ActionTaken::kDrugInterrupted || *pd.action == core::ActionTaken::kDoseReduced))
      return true;
  }
  return false;
}

// Worst grade per participant for one row: the participant's index -> grade (0 = none).
using Worst = std::vector<int8_t>;

void raise(Worst& w, int participant, int grade) {
  auto& cell = w[static_cast<size_t>(participant)];
  cell = static_cast<int8_t>(std::max<int>(cell, grade));
}

template <typename Row>
void fill(Row& row, const Worst& worst) {
  for (int8_t g : worst) {
    if (g <= 0) continue;
    if (g <= 5) ++row.by_worst_grade[static_cast<size_t>(g - 1)];
    if (g >= 3) ++row.grade3_plus;
    ++row.any;
  }
}

// Counts with participant and term indices, not names: one table is a pass over every AE.
IncidenceTable incidence(const std::string& id, const std::string& title, int denominator, size_t participants,
                         const std::vector<AeFacts>& aes, bool (*keep)(const AeFacts&),
                         const std::vector<const grading::CtcaeTerm*>& zero_terms) {
  std::unordered_map<std::string_view, size_t> term_of, soc_of;
  std::vector<std::pair<std::string_view, std::string_view>> terms;  // (soc, term) by term index
  std::vector<std::string_view> socs;
  std::vector<Worst> by_term, by_soc;
  Worst any(participants, 0);
  auto index = [&](std::string_view soc, std::string_view term) {
    auto [t, new_term] = term_of.emplace(term, terms.size());
    if (new_term) {
      terms.emplace_back(soc, term);
      by_term.emplace_back();
      auto [s, new_soc] = soc_of.emplace(soc, socs.size());
      if (new_soc) {
        socs.push_back(soc);
        by_soc.emplace_back();
      }
    }
    return std::pair(t->second, soc_of.at(soc));
  };
  for (const auto& f : aes) {
    if (!f.treated || !f.emergent || f.participant < 0 || !keep(f)) continue;
    const int g = f.version->grade;
    const auto [t, s] = index(f.soc, f.version->ctcae_term);
    if (by_term[t].empty()) by_term[t].assign(participants, 0);
    if (by_soc[s].empty()) by_soc[s].assign(participants, 0);
    raise(any, f.participant, g);
    raise(by_soc[s], f.participant, g);
    raise(by_term[t], f.participant, g);
  }
  for (const auto* t : zero_terms) index(t->soc, t->term);

  IncidenceTable table{id, title, denominator, {}};
  IncidenceRow any_row;
  fill(any_row, any);
  table.rows.push_back(any_row);
  std::vector<size_t> order(terms.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return terms[x] < terms[y]; });
  std::string_view current_soc;
  bool first = true;
  for (size_t t : order) {
    const auto& [soc, term] = terms[t];
    if (first || soc != current_soc) {
      IncidenceRow row;
      row.soc = soc;
      fill(row, by_soc[soc_of.at(soc)]);
      table.rows.push_back(row);
      current_soc = soc;
      first = false;
    }
    IncidenceRow row;
    row.soc = soc;
    row.term = term;
    fill(row, by_term[t]);
    table.rows.push_back(row);
  }
  return table;
}

}  // namespace

Analysis analyse(const store::DataCut& cut, const Reference& ref, const AnalysisOptions& options) {
  Analysis a;
  a.cut = cut.cut;
  a.cut_ms = core::parseTimestamp(cut.cut).value_or(0);
  a.participants = static_cast<int>(cut.participants.size());

  // ---- exposure, participant by participant (doses come sorted by study ID, date, id) ----
  std::unordered_map<std::string, size_t> exposure_of;
  for (const auto& p : cut.participants) {
    exposure_of[p.study_id] = a.exposure.size();
    Exposure e;
    e.study_id = p.study_id;
    e.site = p.site;
    a.exposure.push_back(std::move(e));
  }
  {
    std::unordered_map<std::string, std::set<int>> cycles;
    for (const auto& d : cut.doses) {
      auto it = exposure_of.find(d.study_id);
      if (it == exposure_of.end()) continue;
      Exposure& e = a.exposure[it->second];
      if (d.status == core::DoseStatus::kHeld) {
        ++e.holds;
        if (std::find(e.hold_dates.begin(), e.hold_dates.end(), d.date) == e.hold_dates.end()) e.hold_dates.push_back(d.date);
      }
      if (d.status != core::DoseStatus::kGiven) continue;
      if (e.first_dose.empty() || d.date < e.first_dose) e.first_dose = d.date;
      if (d.date > e.last_dose) e.last_dose = d.date;
      cycles[d.study_id].insert(d.cycle);
      if (d.drug == core::Drug::kAnlotinib) {
        e.anlotinib_mg_given += d.dose_mg.value_or(0);
        ++e.anlotinib_days_given;
      } else {
        ++e.sintilimab_doses;
      }
    }
    for (auto& e : a.exposure) {
      if (e.first_dose.empty()) continue;
      ++a.treated;
      e.cycles_started = static_cast<int>(cycles[e.study_id].size());
      e.anlotinib_mg_planned = kAnlotinibPlannedMgPerCycle * e.cycles_started;
      if (e.anlotinib_mg_planned > 0) e.anlotinib_rdi = e.anlotinib_mg_given / e.anlotinib_mg_planned;
      e.days_on_treatment = static_cast<int>(dayNumber(e.last_dose) - dayNumber(e.first_dose) + 1);
      a.participant_years += e.days_on_treatment / 365.25;
    }
  }

  {
    std::vector<std::pair<const char*, std::vector<double>>> measures = {{"Cycles started", {}},
                                                                       {"Days on treatment", {}},
                                                                       {"Anlotinib relative dose intensity (%)", {}},
                                                                       {"Sintilimab doses given", {}}};
    for (const auto& e : a.exposure) {
      if (e.first_dose.empty()) continue;
      measures[0].second.push_back(e.cycles_started);
      measures[1].second.push_back(e.days_on_treatment);
      if (e.anlotinib_rdi) measures[2].second.push_back(100 * *e.anlotinib_rdi);
      measures[3].second.push_back(e.sintilimab_doses);
    }
    for (auto& [label, v] : measures) {
      ExposureSummary sum{label, static_cast<int>(v.size()), 0, 0, 0, 0};
      if (!v.empty()) {
        std::sort(v.begin(), v.end());
        const size_t n = v.size();
        sum.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        sum.min = v.front();
        sum.max = v.back();
        for (double x : v) sum.total += x;
      }
      a.exposure_summary.push_back(sum);
    }
  }

  // ---- each AE as it stood ----
  a.aes.reserve(cut.adverse_events.size());
  for (const auto& r : cut.adverse_events) {
    AeFacts f;
    f.report = &r;
    f.version = &r.current();
    const auto* term = ref.catalogue.find(f.version->ctcae_term);
    f.soc = term ? term->soc : "(term not in CTCAE v5.0)";
    f.start_day = dayNumber(f.version->start);
    auto e = exposure_of.find(r.study_id);
    if (e != exposure_of.end()) {
      f.participant = static_cast<int>(e->second);
      const Exposure& x = a.exposure[e->second];
      f.treated = !x.first_dose.empty();
      f.emergent = f.treated && f.start_day >= dayNumber(x.first_dose);
    }
    rules::ReportableEvent ev;
    ev.ref = "ae/" + std::to_string(r.id);
    ev.term = f.version->ctcae_term;
    ev.grade = f.version->grade;
    ev.serious = f.version->serious_criteria;
    for (core::Drug d : core::kDrugs) {
      ev.investigator[idx(d)] = f.version->per_drug[idx(d)].relatedness;
      ev.sponsor[idx(d)] = f.version->sponsor_relatedness[idx(d)];
    }
    const auto as = ref.reporting.assess(ev);
    f.related = as.related;
    f.irae = as.classification.irae;
    f.anti_angiogenic = as.classification.anti_angiogenic;
    f.aesi = !as.aesi.empty();
    f.serious = as.serious;
    f.death = f.version->grade == 5 || f.version->outcome == core::Outcome::kFatal ||
              f.version->hasCriterion(core::Seriousness::kDeath);
    for (const auto* c : as.classification.categories) f.categories.push_back(c->name);
    a.aes.push_back(std::move(f));
  }

  // ---- incidence tables ----
  auto zeroTerms = [&](auto keep_term) {
    std::vector<const grading::CtcaeTerm*> out;
    if (!options.zero_rows) return out;
    for (const auto& t : ref.catalogue.terms())
      if (keep_term(t)) out.push_back(&t);
    return out;
  };
  const auto all_terms = zeroTerms([](const grading::CtcaeTerm&) { return true; });
  const auto irae_terms = zeroTerms([&](const grading::CtcaeTerm& t) { return ref.categories.classify(t.term).irae; });
  const auto aa_terms =
      zeroTerms([&](const grading::CtcaeTerm& t) { return ref.categories.classify(t.term).anti_angiogenic; });
  const auto aesi_terms = zeroTerms([&](const grading::CtcaeTerm& t) {
    rules::ReportableEvent ev;
    ev.term = t.term;
    for (int g = 5; g >= 1; --g) {
      if (!t.hasGrade(g)) continue;
      ev.grade = g;
      return !ref.reporting.assess(ev).aesi.empty();
    }
    return false;
  });
  a.incidence.push_back(incidence("all", "All treatment-emergent AEs", a.treated, a.exposure.size(), a.aes,
                                  [](const AeFacts&) { return true; }, all_terms));
  a.incidence.push_back(incidence("related_anlotinib", "AEs related to anlotinib", a.treated, a.exposure.size(), a.aes,
                                  [](const AeFacts& f) { return f.related[0]; }, all_terms));
  a.incidence.push_back(incidence("related_sintilimab", "AEs related to sintilimab", a.treated, a.exposure.size(), a.aes,
                                  [](const AeFacts& f) { return f.related[1]; }, all_terms));
  a.incidence.push_back(incidence("related_either", "AEs related to anlotinib or sintilimab", a.treated, a.exposure.size(), a.aes,
                                  [](const AeFacts& f) { return f.related[0] || f.related[1]; }, all_terms));
  a.incidence.push_back(incidence("irae", "Immune-related AEs (irAE)", a.treated, a.exposure.size(), a.aes,
                                  [](const AeFacts& f) { return f.irae; }, irae_terms));
  a.incidence.push_back(incidence("anti_angiogenic", "Anti-angiogenic AEs", a.treated, a.exposure.size(), a.aes,
                                  [](const AeFacts& f) { return f.anti_angiogenic; }, aa_terms));
  a.incidence.push_back(incidence("aesi", "AEs of special interest (AESI)", a.treated, a.exposure.size(), a.aes,
                                  [](const AeFacts& f) { return f.aesi; }, aesi_terms));

  // ---- by category (the report's bars) ----
  {
    std::map<std::string, Worst> worst;
    for (const auto& c : ref.categories.categories()) worst[c.name].assign(a.exposure.size(), 0);
    for (const auto& f : a.aes) {
      if (!f.treated || !f.emergent) continue;
      for (const auto& c : f.categories) raise(worst[c], f.participant, f.version->grade);
    }
    for (const auto& c : ref.categories.categories()) {
      CategoryRow row;
      row.category = c.name;
      row.kind = c.kind == rules::CategoryKind::kImmuneRelated ? "immune_related" : "anti_angiogenic";
      fill(row, worst[c.name]);
      a.by_category.push_back(row);
    }
  }

  // ---- listings ----
  for (const auto& f : a.aes) {
    if (f.serious) a.serious.push_back(&f);
    if (f.death) a.deaths.push_back(&f);
    if (withdrewOrChanged(*f.version, false)) a.dose_actions.push_back(&f);
    if (withdrewOrChanged(*f.version, true)) {
      auto e = exposure_of.find(f.report->study_id);
      if (e != exposure_of.end()) {
        auto& when = a.exposure[e->second].discontinued;
        const std::string date = f.version->start.substr(0, 10);
        if (!when || date < *when) when = date;
      }
    }
  }
  for (const auto& c : cut.safety_changes) {
    if (c.kind != "finding") continue;
    const json detail = json::parse(c.detail, nullptr, false);
    // An eligibility criterion missed at registration is a protocol deviation too (issue 14).
    if (detail.is_object() && (detail.value("kind", "") == "protocol_deviation" || detail.value("kind", "") == "eligibility"))
      a.deviations.push_back(&c);
  }
  for (const auto& c : cut.candidates)
    if (c.status == core::CandidateStatus::kPending) a.pending_candidates.push_back(&c);
  for (const auto& g : cut.pregnancies) a.pregnancies.push_back(&g);
  for (const auto& d : cut.deadlines) {
    if (d.no_longer_required_since_version) continue;
    const auto due = core::parseTimestamp(d.due_at);
    if (!due) continue;
    if (d.met_at.empty()) {
      if (*due < a.cut_ms) a.clocks.push_back({&d, "overdue", static_cast<double>(a.cut_ms - *due) / core::kHourMs});
    } else if (auto met = core::parseTimestamp(d.met_at); met && *met > *due) {
      a.clocks.push_back({&d, "met_late", static_cast<double>(*met - *due) / core::kHourMs});
    }
  }

  // ---- lab shifts: baseline grade against worst post-baseline grade ----
  {
    // (test, term) -> study ID -> (baseline, worst post); -1 while missing
    std::map<std::pair<std::string, std::string>, std::map<std::string, std::pair<int, int>>> shift;
    std::unordered_map<std::string, const core::Participant*> by_id;
    for (const auto& p : cut.participants) by_id[p.study_id] = &p;
    for (const auto& p : cut.participants) {
      const Exposure& x = a.exposure[exposure_of[p.study_id]];
      if (x.first_dose.empty()) continue;
      // The baseline value's own grade, against its reference range: graded as a value of a
      // participant with a normal baseline (graded against itself, every value would be 0).
      core::Participant without_baseline = p;
      without_baseline.baseline_labs.clear();
      for (const auto& b : p.baseline_labs) {
        const auto* analyte = ref.grader.find(b.test);
        if (!analyte) continue;
        auto grades = grading::gradeAssumingNormalBaseline(ref.grader, b.test, b.value, b.unit, b.lln, b.uln,
                                                           without_baseline);
        if (!grades.isOk()) continue;
        for (const auto& g : grades.value()) {
          auto& cell = shift[{analyte->code, g.term}].try_emplace(p.study_id, -1, -1).first->second;
          if (g.grade) cell.first = std::min(*g.grade, 4);
        }
      }
    }
    a.lab_grades.reserve(cut.labs.size());
    for (const auto& l : cut.labs) {
      auto& parsed = a.lab_grades.emplace_back();
      const json grades = json::parse(l.grades_json, nullptr, false);
      if (!grades.is_array()) continue;
      for (const auto& g : grades) {
        if (!g.is_object() || !g.contains("term") || !g["term"].is_string()) continue;
        parsed.push_back({g["term"].get<std::string>(), std::nullopt});
        if (g.contains("grade") && g["grade"].is_number_integer()) parsed.back().grade = g["grade"].get<int>();
      }
    }
    for (size_t i = 0; i < cut.labs.size(); ++i) {
      const auto& l = cut.labs[i];
      auto e = exposure_of.find(l.study_id);
      if (e == exposure_of.end()) continue;
      const Exposure& x = a.exposure[e->second];
      if (x.first_dose.empty() || dayNumber(l.collected_at) < dayNumber(x.first_dose)) continue;
      const auto* analyte = ref.grader.find(l.test);
      const std::string code = analyte ? analyte->code : l.test;
      for (const auto& g : a.lab_grades[i]) {
        auto& cell = shift[{code, g.term}].try_emplace(l.study_id, -1, -1).first->second;
        if (g.grade) cell.second = std::max(cell.second, std::min(*g.grade, 4));
      }
    }
    for (const auto& [key, per] : shift) {
      ShiftTable t;
      t.test = key.first;
      t.term = key.second;
      for (const auto& [who, grades] : per) {
        const size_t b = grades.first < 0 ? 5 : static_cast<size_t>(grades.first);
        const size_t w = grades.second < 0 ? 5 : static_cast<size_t>(grades.second);
        ++t.counts[b][w];
        ++t.participants;
      }
      a.shifts.push_back(t);
    }
  }

  // ---- event rates per 100 participant-years ----
  {
    struct Def {
      const char* id;
      const char* label;
      bool (*keep)(const AeFacts&);
    };
    static const Def kDefs[] = {
        {"any", "Any AE", [](const AeFacts&) { return true; }},
        {"grade3_plus", "Grade >= 3 AE", [](const AeFacts& f) { return f.version->grade >= 3; }},
        {"serious", "Serious AE", [](const AeFacts& f) { return f.serious; }},
        {"related_either", "AE related to either drug", [](const AeFacts& f) { return f.related[0] || f.related[1]; }},
        {"irae", "Immune-related AE", [](const AeFacts& f) { return f.irae; }},
        {"anti_angiogenic", "Anti-angiogenic AE", [](const AeFacts& f) { return f.anti_angiogenic; }},
        {"aesi", "AE of special interest", [](const AeFacts& f) { return f.aesi; }},
        {"death", "Fatal AE", [](const AeFacts& f) { return f.death; }},
    };
    for (const auto& d : kDefs) {
      EventRate r{d.id, d.label, 0, 0};
      for (const auto& f : a.aes)
        if (f.treated && f.emergent && d.keep(f)) ++r.events;
      r.per_100_py = a.participant_years > 0 ? 100.0 * r.events / a.participant_years : 0;
      a.rates.push_back(r);
    }
  }

  // ---- stopping-rule monitor ----
  for (const auto& b : ref.stopping.boundaries) {
    std::set<std::string> with_event;
    for (const auto& f : a.aes) {
      if (!f.treated || !f.emergent || f.version->grade < b.when.min_grade) continue;
      if (b.serious_only && !f.serious) continue;
      bool related = true;
      switch (b.related_to) {
        case RelatedTo::kAny: break;
        case RelatedTo::kAnlotinib: related = f.related[0]; break;
        case RelatedTo::kSintilimab: related = f.related[1]; break;
        case RelatedTo::kEither: related = f.related[0] || f.related[1]; break;
      }
      if (!related) continue;
      bool in = b.any_term ||
                std::find(b.when.terms.begin(), b.when.terms.end(), f.version->ctcae_term) != b.when.terms.end();
      for (const auto& c : b.when.categories)
        in = in || std::find(f.categories.begin(), f.categories.end(), c) != f.categories.end();
      if (in) with_event.insert(f.report->study_id);
    }
    BoundaryResult r;
    r.boundary = &b;
    r.observed = static_cast<int>(with_event.size());
    r.treated = a.treated;
    r.posterior_a = b.prior_a + r.observed;
    r.posterior_b = b.prior_b + (r.treated - r.observed);
    r.probability = betaTailAbove(b.unacceptable_rate, r.posterior_a, r.posterior_b);
    r.crossed = r.probability >= b.threshold;
    a.stopping.push_back(r);
  }
  return a;
}

}  // namespace vigil::exports

#include "rules/evaluator.h"

#include "rules/schedule.h"
#include "rules/eligibility.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <queue>
#include <unordered_map>

#include "core/time.h"
#include "grading/measurement_grading.h"

namespace vigil::rules {
namespace {

using core::kDayMs;
using core::kHourMs;
constexpr size_t kAnl = 0;  // index of core::Drug::kAnlotinib
constexpr size_t kSin = 1;

size_t idx(core::Drug d) { return static_cast<size_t>(d); }

bool containsNoCase(const std::string& haystack, const std::string& needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

struct SeriesPoint {
  int64_t t;
  int grade;
};

// One lab result with the values the rows compare.
struct LabInfo {
  const ScenarioLab* in = nullptr;
  const grading::Analyte* analyte = nullptr;
  std::optional<double> x_uln, tbil_x_uln, alp_x_uln, baseline_x_uln;
  std::optional<double> system_value;  // the value in the unit of `system`
  std::optional<grading::UnitSystem> system;
  bool lm_abnormal = false;
};

struct Episode {
  EventKind kind = EventKind::kAe;
  std::string ref, term, verbatim;
  int grade = 0;
  int64_t onset = 0;
  std::optional<int64_t> resolved;                  // AE
  const std::vector<SeriesPoint>* series = nullptr;  // lab and vital: the term's values in time order
  size_t pos = 0;                                   // this event's place in series
  const ScenarioAe* ae = nullptr;
  const LabInfo* lab = nullptr;
  const ScenarioVital* vital = nullptr;
  bool ungraded = false;  // a lab value CTCAE cannot grade here (e.g. no baseline): value rows only
  Classification cls;
  std::array<bool, 2> ruled_out{};
  std::array<bool, 2> related{};
  std::optional<int64_t> resolved1;  // resolvedAt(1), cached
  size_t result = 0;                 // index into Evaluation::events

  std::optional<int64_t> resolvedAt(int threshold) const {
    if (kind == EventKind::kAe) return resolved;
    for (size_t i = pos + 1; i < series->size(); ++i)
      if ((*series)[i].grade <= threshold) return (*series)[i].t;
    return std::nullopt;
  }
};

bool measureHolds(const Measure& m, const Episode& e) {
  std::optional<double> v;
  double limit = m.value;
  switch (m.of) {
    case Measure::Of::kValue:
      if (e.lab && e.lab->system_value) {
        v = e.lab->system_value;
        if (*e.lab->system == grading::UnitSystem::kUs) limit = m.us_value;
      }
      break;
    case Measure::Of::kXUln: v = e.lab ? e.lab->x_uln : std::nullopt; break;
    case Measure::Of::kTbilXUln: v = e.lab ? e.lab->tbil_x_uln : std::nullopt; break;
    case Measure::Of::kAlpXUln: v = e.lab ? e.lab->alp_x_uln : std::nullopt; break;
    case Measure::Of::kBaselineXUln: v = e.lab ? e.lab->baseline_x_uln : std::nullopt; break;
    case Measure::Of::kSystolic:
      if (e.vital && e.vital->systolic) v = *e.vital->systolic;
      break;
    case Measure::Of::kDiastolic:
      if (e.vital && e.vital->diastolic) v = *e.vital->diastolic;
      break;
  }
  if (!v) return m.if_known;
  return compare(*v, m.op, limit);
}

bool attributionHolds(Attribution a, DrugScope scope, const Episode& e) {
  auto open = [&](size_t d) { return !e.ruled_out[d]; };
  switch (a) {
    case Attribution::kAny: return true;
    case Attribution::kEither: return open(kAnl) || open(kSin);
    case Attribution::kBothRelated: return e.related[kAnl] && e.related[kSin];
    case Attribution::kNotRuledOut:
      if (scope == DrugScope::kBoth) return open(kAnl) && open(kSin);
      return open(scope == DrugScope::kAnlotinib ? kAnl : kSin);
    case Attribution::kRelated:
      if (scope == DrugScope::kBoth) return e.related[kAnl] && e.related[kSin];
      return e.related[scope == DrugScope::kAnlotinib ? kAnl : kSin];
  }
  return false;
}

enum class ItemKind { kWatch, kInterrupt, kHold };

struct Item {
  ItemKind kind = ItemKind::kHold;
  size_t episode = 0;
  const DoseRule* rule = nullptr;
  int64_t start = 0;
  bool open = true;
  bool wait = false;  // sequential rechallenge: waits for a dose of the other drug
  int64_t wait_since = 0;
  std::optional<int64_t> expiry;
};

struct DrugState {
  bool discontinued = false;
  size_t level = 0;  // anlotinib: index into the levels
  std::vector<Item> items;
  bool pending_minus = false;
  std::vector<std::string> pending_rules;
  std::vector<std::string> reduction_rules;
  std::vector<std::string> discontinue_rules;
  std::vector<std::string> discontinue_refs;
  std::optional<int64_t> since;
  std::optional<int64_t> last_given;
  std::string rests_on;  // a discontinuation that rests on a follow-up reading never recorded

  bool held() const {
    return std::any_of(items.begin(), items.end(), [](const Item& i) { return i.open && i.kind == ItemKind::kHold; });
  }
};

enum class Step { kResolve = 0, kOnset = 1, kDeferred = 2, kDose = 3, kExpire = 4 };

struct Timed {
  int64_t t = 0;
  Step step = Step::kOnset;
  uint64_t seq = 0;
  size_t a = 0;  // episode, dose or item index
  size_t drug = 0;
  const DoseRule* rule = nullptr;
  const char* clock = nullptr;
  bool operator>(const Timed& o) const {
    if (t != o.t) return t > o.t;
    if (step != o.step) return step > o.step;
    return seq > o.seq;
  }
};

// Indices of items in time order (stable for equal times).
template <typename T, typename Time>
std::vector<size_t> timeOrder(const std::vector<T>& items, Time time) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return time(items[a]) < time(items[b]); });
  return order;
}

void addUnique(std::vector<std::string>& list, const std::string& id) {
  if (std::find(list.begin(), list.end(), id) == list.end()) list.push_back(id);
}

// A medication recorded as starting after as_of is not yet known to the rules.
std::vector<ScenarioMedication> knownBy(const Scenario& s) {
  std::vector<ScenarioMedication> out;
  for (const auto& m : s.medications)
    if (m.start_ms <= s.as_of_ms) out.push_back(m);
  return out;
}

class Run {
 public:
  Run(const DoseRules& dose, const ReportingRules& reporting, const CategorySet& categories,
      const grading::LabGrader& grader, const Scenario& s)
      : dose_(dose), reporting_(reporting), categories_(categories), grader_(grader), s_(s),
        meds_in_(knownBy(s)), meds_(dose.medications(), meds_in_) {}

  Evaluation run() {
    const auto& levels = dose_.settings().anlotinib_levels_mg;
    auto& anl = st_[kAnl];
    if (!s_.participant.anlotinib_dose_mg) {
      anl.discontinued = true;
    } else {
      auto it = std::find(levels.begin(), levels.end(), *s_.participant.anlotinib_dose_mg);
      anl.level = it == levels.end() ? 0 : static_cast<size_t>(it - levels.begin());
    }
    st_[kSin].discontinued = !s_.participant.sintilimab_dose_mg;

    buildEpisodes();
    for (size_t i = 0; i < eps_.size(); ++i) push({eps_[i].onset, Step::kOnset, 0, i});
    // A dose counts at noon of its day, or at as_of when that is earlier the same day: a dose
    // recorded at 09:00 for today has been given.
    for (size_t i = 0; i < s_.doses.size(); ++i) {
      const int64_t noon = s_.doses[i].date_ms + 12 * kHourMs;
      const int64_t t = s_.doses[i].date_ms <= s_.as_of_ms ? std::min(noon, s_.as_of_ms) : noon;
      push({t, Step::kDose, 0, i});
    }
    while (!queue_.empty()) {
      const Timed x = queue_.top();
      const bool strict = x.step == Step::kDeferred || x.step == Step::kExpire;
      if (strict ? x.t >= s_.as_of_ms : x.t > s_.as_of_ms) break;
      queue_.pop();
      switch (x.step) {
        case Step::kOnset: onset(x.a, x.t); break;
        case Step::kDeferred: deferred(x.a, x.drug, *x.rule, x.t); break;
        case Step::kDose: doseGiven(x.a, x.t); break;
        case Step::kResolve: resolve(x.drug, x.a, x.t); break;
        case Step::kExpire: expire(x.drug, x.a, x.clock, x.t); break;
      }
    }
    finish();
    return std::move(out_);
  }

 private:
  void push(Timed t) {
    t.seq = seq_++;
    queue_.push(t);
  }

  // ---- building the events ----------------------------------------------------------------
  // A graded lab value or vital sign joins its term's series; grade 1 or more also makes an
  // episode (returned for the caller to point at its source), grade 0 none.
  Episode* addMeasured(EventKind kind, const std::string& ref, const std::string& term, int grade, int64_t at) {
    auto& series = series_[term];
    series.push_back({at, grade});
    if (grade < 1) return nullptr;
    Episode e;
    e.kind = kind;
    e.ref = ref;
    e.term = term;
    e.grade = grade;
    e.onset = at;
    e.pos = series.size() - 1;
    eps_.push_back(std::move(e));
    return &eps_.back();
  }

  void buildEpisodes() {
    const core::Participant& p = s_.participant;
    for (const auto& ae : s_.adverse_events) {
      Episode e;
      e.kind = EventKind::kAe;
      e.ref = ae.ref;
      e.term = ae.term;
      e.verbatim = ae.verbatim;
      e.grade = ae.grade;
      e.onset = ae.onset_ms;
      e.resolved = ae.resolved_ms;
      e.ae = &ae;
      for (size_t d = 0; d < 2; ++d) {
        const auto& inv = ae.investigator[d];
        const auto& sp = ae.sponsor[d];
        e.related[d] = atLeastPossible(inv) || atLeastPossible(sp);
        e.ruled_out[d] = (inv || sp) && !e.related[d];
      }
      eps_.push_back(std::move(e));
    }

    // Labs in time order, each graded against the participant's baseline.
    const auto order = timeOrder(s_.labs, [](const ScenarioLab& l) { return l.collected_ms; });
    labs_.resize(s_.labs.size());
    std::unordered_map<std::string, const LabInfo*> latest_by_code;
    std::vector<LabInfo*> aminotransferases;
    std::vector<const LabInfo*> companions;  // bilirubin and ALP, in time order
    for (size_t i : order) {
      const ScenarioLab& l = s_.labs[i];
      LabInfo& info = labs_[i];
      info.in = &l;
      info.analyte = grader_.find(l.test);
      if (!info.analyte) continue;
      const std::string& code = info.analyte->code;
      if (l.uln && *l.uln > 0) info.x_uln = l.value / *l.uln;
      if (auto prepared = grader_.prepare(*info.analyte, l.unit); prepared.isOk() && prepared.value().system) {
        info.system = prepared.value().system;
        info.system_value = l.value * prepared.value().factor;
      }
      for (const auto& b : p.baseline_labs) {
        const auto* ba = grader_.find(b.test);
        if (ba && ba->code == code) {
          const auto uln = b.uln ? b.uln : l.uln;
          if (uln && *uln > 0) info.baseline_x_uln = b.value / *uln;
        }
      }
      info.lm_abnormal = p.liver_metastases && info.baseline_x_uln && *info.baseline_x_uln > 1;
      latest_by_code[code] = &info;
      if (code == "ALT" || code == "AST") aminotransferases.push_back(&info);
      else if (code == "BILI" || code == "ALP") companions.push_back(&info);
      // No baseline where CTCAE needs one: graded as if the baseline were normal.
      // INR is graded on its anticoagulated branch while an anticoagulant is recorded as active.
      const bool anticoagulated = code == "INR" && meds_.anticoagulatedAt(l.collected_ms);
      auto grades = grading::gradeAssumingNormalBaseline(grader_, l.test, l.value, l.unit, l.lln, l.uln, p, anticoagulated);
      if (!grades.isOk()) continue;
      for (const auto& g : grades.value()) {
        if (!g.grade) {
          // Rows on the raw value (x ULN) still apply: an ALT of 15 x ULN must not pass
          // unnoticed because the participant's baseline is missing.
          Episode e;
          e.kind = EventKind::kLab;
          e.ref = l.ref;
          e.term = g.term;
          e.onset = l.collected_ms;
          e.lab = &info;
          e.ungraded = true;
          eps_.push_back(std::move(e));
          continue;
        }
        if (Episode* e = addMeasured(EventKind::kLab, l.ref, g.term, *g.grade, l.collected_ms)) e->lab = &info;
      }
    }
    pairHepaticLabs(aminotransferases, companions);
    hbvEpisodes(order);
    latest_labs_.clear();
    for (const auto& [code, info] : latest_by_code) latest_labs_.push_back(info);
    // Flags come out in a stable order: by time, then ref.
    std::sort(latest_labs_.begin(), latest_labs_.end(), [](const LabInfo* a, const LabInfo* b) {
      if (a->in->collected_ms != b->in->collected_ms) return a->in->collected_ms < b->in->collected_ms;
      return a->in->ref < b->in->ref;
    });

    for (size_t i : timeOrder(s_.vitals, [](const ScenarioVital& v) { return v.measured_ms; })) {
      const ScenarioVital& v = s_.vitals[i];
      core::VitalSigns vs;
      vs.study_id = p.study_id;
      vs.systolic_mmhg = v.systolic;
      vs.diastolic_mmhg = v.diastolic;
      vs.temperature_c = v.temperature_c;
      vs.qtc_ms = v.qtc_ms;
      for (const auto& g : grading::gradeVitals(grader_, vs, p)) {
        if (!g.grade) continue;
        if (Episode* e = addMeasured(EventKind::kVital, v.ref, g.term, *g.grade, v.measured_ms)) e->vital = &v;
      }
    }
    // The series pointers are stable now.
    for (auto& e : eps_) {
      if (e.kind != EventKind::kAe) e.series = &series_[e.term];
      e.cls = categories_.classify(e.term);
      e.resolved1 = e.resolvedAt(1);
    }
    // Events in time order; the output keeps the input order (AEs, labs, vitals).
    out_.events.reserve(eps_.size());
    for (size_t i = 0; i < eps_.size(); ++i) {
      Episode& e = eps_[i];
      e.result = i;
      EventResult r;
      r.ref = e.ref;
      r.kind = e.kind;
      r.term = e.term;
      r.grade = e.grade;
      r.onset_ms = e.onset;
      for (const auto* c : e.cls.categories) r.categories.push_back(c->name);
      r.irae = e.cls.irae;
      r.anti_angiogenic = e.cls.anti_angiogenic;
      out_.events.push_back(std::move(r));
      by_term_[e.term].push_back(i);
      for (const auto* c : e.cls.categories)
        if (c->kind == CategoryKind::kImmuneRelated) by_category_[c->name].push_back(i);
    }
  }

  // True when an earlier event of the same term (or the same immune-related category) reached
  // min_grade and resolved to <= G1 before this one began.
  bool recurrent(const Episode& e, int min_grade) const {
    auto check = [&](const std::vector<size_t>& list) {
      for (size_t j : list) {
        const Episode& p = eps_[j];
        if (&p == &e || p.onset >= e.onset || p.grade < min_grade) continue;
        if (p.resolved1 && *p.resolved1 <= e.onset) return true;
      }
      return false;
    };
    if (check(by_term_.at(e.term))) return true;
    for (const auto* c : e.cls.categories)
      if (c->kind == CategoryKind::kImmuneRelated && check(by_category_.at(c->name))) return true;
    return false;
  }

  // 0: no, 1: holds now, 2: holds once the event persists (deferred).
  int conditionHolds(const Condition& c, DrugScope scope, const Episode& e, bool ignore_attribution) const {
    if (e.ungraded) {
      if (c.measure.empty() || c.tests.empty()) return 0;
    } else if (e.grade < c.min_grade || e.grade > c.max_grade) {
      return 0;
    }
    if (!c.events[static_cast<size_t>(e.kind)]) return 0;
    if (c.hasTermFilter()) {
      bool hit = std::find(c.terms.begin(), c.terms.end(), e.term) != c.terms.end();
      for (const auto* cat : e.cls.categories) {
        if (hit) break;
        hit = std::find(c.categories.begin(), c.categories.end(), cat->name) != c.categories.end() ||
              std::find(c.kinds.begin(), c.kinds.end(), cat->kind) != c.kinds.end();
      }
      if (!hit) return 0;
    }
    if (!c.tests.empty()) {
      if (!e.lab || !e.lab->analyte) return 0;
      if (std::find(c.tests.begin(), c.tests.end(), e.lab->analyte->code) == c.tests.end()) return 0;
    }
    if (!ignore_attribution && !attributionHolds(c.attribution, scope, e)) return 0;
    if (c.liver_mets_abnormal_baseline && (e.lab ? e.lab->lm_abnormal : false) != *c.liver_mets_abnormal_baseline) return 0;
    if (c.suspected && (e.ae ? e.ae->suspected : false) != *c.suspected) return 0;
    if (!c.verbatim_contains.empty() &&
        std::none_of(c.verbatim_contains.begin(), c.verbatim_contains.end(),
                     [&](const std::string& w) { return containsNoCase(e.verbatim, w); }))
      return 0;
    for (const auto& m : c.measure)
      if (!measureHolds(m, e)) return 0;
    if (c.recurrence != Recurrence::kAny) {
      const bool rec = recurrent(e, c.min_grade);
      if (rec != (c.recurrence == Recurrence::kRecurrent)) return 0;
    }
    return c.persists_hours > 0 ? 2 : 1;
  }

  struct Match {
    const DoseRule* rule;
    bool recurrent;
    int persists_hours;  // 0: now
  };

  std::vector<Match> match(const Episode& e, const std::vector<size_t>& rule_indices) const {
    std::vector<Match> out;
    for (size_t ri : rule_indices) {
      const DoseRule& rule = dose_.rules()[ri];
      const Condition* chosen = nullptr;
      int best = 0;
      for (const auto& c : rule.when) {
        const int h = conditionHolds(c, rule.drug, e, false);
        if (h == 1 || (h == 2 && (best == 0 || c.persists_hours < chosen->persists_hours))) {
          best = h;
          chosen = &c;
        }
        if (h == 1) break;
      }
      if (!best) continue;
      // Recurrence matters only to a row whose resumption dose depends on it.
      const bool rec = rule.minus_one_recurrent &&
                       (chosen->recurrence == Recurrence::kRecurrent ||
                        (chosen->recurrence == Recurrence::kAny && e.kind == EventKind::kAe && recurrent(e, chosen->min_grade)));
      out.push_back({&rule, rec, best == 1 ? 0 : chosen->persists_hours});
    }
    return out;
  }

  // HBV monitoring (rules/hbv.h): for an HBsAg- or anti-HBc-positive participant each HBV-DNA result
  // joins the series of "Hepatitis B reactivation", grade 1 when it meets the reactivation criterion
  // (an episode: SI-HBV, AESI-HBV) and 0 when not (a later one resolves it).
  void hbvEpisodes(const std::vector<size_t>& order) {
    const HbvSettings& hbv = dose_.hbv();
    if (!hbvCarrier(s_.participant.facts)) return;
    const auto baseline = hbvBaseline(hbv, s_.participant);
    for (size_t i : order) {
      const ScenarioLab& l = s_.labs[i];
      if (!isHbvTest(hbv, l.test)) continue;
      const auto iu = hbvIuPerMl(hbv, l.value, l.unit);
      if (!iu) continue;
      const bool met = hbvReactivation(hbv, *iu, baseline).has_value();
      // A result that still meets the criterion is a follow-up of the open reactivation, not a new
      // one: it joins the series (keeping the episode unresolved) without a new episode, clock or alert.
      auto& series = series_[kHbvTerm];
      if (met && !series.empty() && series.back().grade >= 1) {
        series.push_back({l.collected_ms, 1});
        continue;
      }
      if (Episode* e = addMeasured(EventKind::kLab, l.ref, kHbvTerm, met ? 1 : 0, l.collected_ms)) e->lab = &labs_[i];
    }
  }

  // ---- the timeline ---------------------------------------------------------------------------
  // Pairs each aminotransferase with the bilirubin and ALP collected within the window either side
  // of it (settings.hepatic_pair_window_days), whatever their order in time or of arrival: a panel
  // drawn at one minute, or a bilirubin drawn a day after the ALT, pairs the same (potential Hy's
  // law, OV-HEP-2). Of several candidates the one that makes the finding more likely is taken,
  // as a safety system should: the highest bilirubin, the lowest ALP (ALP <= 2 x ULN is what
  // keeps the injury hepatocellular).
  void pairHepaticLabs(const std::vector<LabInfo*>& aminotransferases, const std::vector<const LabInfo*>& companions) {
    const int64_t window = static_cast<int64_t>(dose_.settings().hepatic_pair_window_days) * kDayMs;
    for (LabInfo* at : aminotransferases) {
      const int64_t t = at->in->collected_ms;
      // companions are in time order: visit only those inside the window
      auto first = std::lower_bound(companions.begin(), companions.end(), t - window,
                                    [](const LabInfo* c, int64_t v) { return c->in->collected_ms < v; });
      for (auto it = first; it != companions.end() && (*it)->in->collected_ms <= t + window; ++it) {
        const LabInfo* c = *it;
        if (!c->x_uln) continue;
        if (c->analyte->code == "BILI") {
          if (!at->tbil_x_uln || *c->x_uln > *at->tbil_x_uln) at->tbil_x_uln = c->x_uln;
        } else if (!at->alp_x_uln || *c->x_uln < *at->alp_x_uln) {
          at->alp_x_uln = c->x_uln;
        }
      }
    }
  }

  void onset(size_t ei, int64_t t) {
    Episode& e = eps_[ei];
    const auto specific = match(e, dose_.candidates(e.term));
    std::array<bool, 2> has_specific{};
    for (const auto& m : specific)
      for (core::Drug d : core::kDrugs)
        if (m.rule->appliesTo(d)) has_specific[idx(d)] = true;
    std::vector<Match> others;
    if (!has_specific[kAnl] || !has_specific[kSin]) others = match(e, dose_.otherRules());

    std::array<bool, 2> discontinued_by_rule{};
    auto apply = [&](const Match& m, core::Drug d) {
      if (m.rule->aesi) out_.events[e.result].aesi_ids.push_back(m.rule->id);
      if (m.persists_hours > 0) {
        push({t + m.persists_hours * kHourMs, Step::kDeferred, 0, ei, idx(d), m.rule});
        return;
      }
      if (m.rule->action == DrugAction::kDiscontinue) discontinued_by_rule[idx(d)] = true;
      applyRule(idx(d), *m.rule, ei, t, m.recurrent);
    };
    for (const auto& m : specific)
      for (core::Drug d : core::kDrugs)
        if (m.rule->appliesTo(d)) apply(m, d);
    for (const auto& m : others)
      for (core::Drug d : core::kDrugs)
        if (m.rule->appliesTo(d) && !has_specific[idx(d)]) apply(m, d);

    // A fatal event ends treatment with both drugs.
    const bool fatal = e.grade == 5 || (e.ae && std::find(e.ae->serious.begin(), e.ae->serious.end(),
                                                          core::Seriousness::kDeath) != e.ae->serious.end());
    if (fatal)
      for (size_t d = 0; d < 2; ++d)
        if (!discontinued_by_rule[d]) discontinue(d, t, {"GEN-DEATH"}, e.ref);
  }

  // A row that needs the event to persist: applies when the event is still unresolved.
  void deferred(size_t ei, size_t d, const DoseRule& rule, int64_t t) {
    const Episode& e = eps_[ei];
    if (e.resolved1 && *e.resolved1 <= t) return;
    applyRule(d, rule, ei, t, recurrent(e, rule.when.front().min_grade));
  }

  void applyRule(size_t d, const DoseRule& rule, size_t ei, int64_t t, bool recurrent_event) {
    DrugState& s = st_[d];
    const Episode& e = eps_[ei];
    if (rule.action == DrugAction::kDiscontinue) return discontinue(d, t, {rule.id}, e.ref);
    if (s.discontinued) return;
    switch (rule.action) {
      case DrugAction::kDiscontinue: return;
      case DrugAction::kContinue: addItem(d, ItemKind::kWatch, rule, ei, t); return;
      case DrugAction::kInterruptInfusion: addItem(d, ItemKind::kInterrupt, rule, ei, t); return;
      case DrugAction::kHold: break;
    }
    bool minus = false;
    if (d == kAnl) {
      minus = rule.minus_one;
      if (recurrent_event && rule.minus_one_recurrent) minus = *rule.minus_one_recurrent;
    }
    if (minus && !s.pending_minus && s.level + 1 >= dose_.settings().anlotinib_levels_mg.size()) {
      discontinue(d, t, {rule.id, "AN-INT"}, e.ref);
      return;
    }
    if (!s.held()) s.since = t;
    const size_t item = addItem(d, ItemKind::kHold, rule, ei, t);
    if (minus) {
      s.pending_minus = true;
      addUnique(s.pending_rules, rule.id);
    }
    // Clocks.
    if (d == kAnl) {
      if (!rule.sequential) {
        int days = 0;
        const char* clock = nullptr;
        if (rule.max_hold == MaxHold::kDays) days = rule.max_hold_days;
        if (rule.max_hold == MaxHold::kDefault) {
          days = dose_.settings().anlotinib_default_max_hold_days;
          clock = "AN-HOLD-MAX";
        }
        if (days > 0) expireAt(d, item, t + days * kDayMs, clock);
      }
    } else {
      const int64_t limit = dose_.settings().sintilimab_max_hold_days * kDayMs;
      const int64_t anchor = s.last_given && *s.last_given <= t ? *s.last_given - 12 * kHourMs : t;
      expireAt(d, item, anchor + limit, "SI-12W");
      // The second clock runs from the first systemic corticosteroid given for the event (the
      // medications); the AE's steroid_start field stands in when none is recorded.
      if (auto start = steroidStart(e)) expireAt(d, item, *start + limit, "SI-12W");
    }
  }

  void expireAt(size_t d, size_t item, int64_t at, const char* clock) {
    Item& it = st_[d].items[item];
    if (!it.expiry || at < *it.expiry) it.expiry = at;
    push({at, Step::kExpire, 0, item, d, nullptr, clock});
  }

  // When the event behind an item resolved, by the rule's resume grade (lab, vital) or the AE's
  // resolution date.
  std::optional<int64_t> eventResolved(const Item& it) const {
    return eps_[it.episode].resolvedAt(it.kind == ItemKind::kHold ? it.rule->resume_max_grade : 1);
  }

  // When an item's resume condition is met: its event resolved; for a sintilimab hold also the
  // daily prednisone-equivalent at or below the limit (section 3.0, SI-RESUME-STEROID); for a row
  // resuming on stable anticoagulation (AN-VTE-2) that, if it comes first.
  std::optional<int64_t> resolutionOf(size_t d, const Item& it) const {
    std::optional<int64_t> r = eventResolved(it);
    if (it.kind != ItemKind::kHold) return r;
    if (it.rule->resume_on_stable_anticoagulation)
      if (auto stable = meds_.stableAnticoagulationFrom(it.start, dose_.medications().anticoagulation_stable_days))
        if (!r || *stable < *r) r = stable;
    if (d == kSin && r) r = meds_.prednisoneAtMostFrom(std::max(*r, it.start), dose_.medications().resume_prednisone_max_mg_day);
    return r;
  }

  // The start of the first systemic corticosteroid given for an AE, else its steroid_start field.
  std::optional<int64_t> steroidStart(const Episode& e) const {
    if (!e.ae) return std::nullopt;
    const auto steroids = meds_.steroidsFor(e.ref, e.onset, e.resolved, e.cls.irae);
    if (!steroids.empty()) return steroids.front()->start_ms;
    return e.ae->steroid_start_ms;
  }

  size_t addItem(size_t d, ItemKind kind, const DoseRule& rule, size_t ei, int64_t t) {
    DrugState& s = st_[d];
    Item it;
    it.kind = kind;
    it.episode = ei;
    it.rule = &rule;
    it.start = t;
    s.items.push_back(it);
    const size_t index = s.items.size() - 1;
    if (auto r = resolutionOf(d, s.items[index])) push({std::max(*r, t), Step::kResolve, 0, index, d});
    return index;
  }

  void discontinue(size_t d, int64_t t, std::vector<std::string> rule_ids, const std::string& ref) {
    DrugState& s = st_[d];
    if (s.discontinued) {
      // Several rows stopping the drug on the same event: all of them are behind it.
      if (s.since == t && s.discontinue_refs == std::vector<std::string>{ref})
        for (const auto& id : rule_ids) addUnique(s.discontinue_rules, id);
      return;
    }
    s.discontinued = true;
    s.since = t;
    s.discontinue_rules = std::move(rule_ids);
    s.discontinue_refs = {ref};
    for (auto& it : s.items) it.open = false;
    // Nothing is left to rechallenge against: the other drug stops waiting.
    DrugState& o = st_[1 - d];
    for (auto& it : o.items)
      if (it.open && it.wait) it.open = false;
    maybeResume(1 - d);
  }

  void resolve(size_t d, size_t item, int64_t t) {
    DrugState& s = st_[d];
    Item& it = s.items[item];
    if (!it.open || it.wait) return;
    it.open = false;
    if (it.kind == ItemKind::kHold && it.rule->sequential) {
      // Dechallenge: quick recovery blames anlotinib, so sintilimab restarts first; slow
      // recovery blames sintilimab, so anlotinib restarts first. The drug blamed waits for a
      // dose of the other.
      const Episode& e = eps_[it.episode];
      // The event's own recovery decides, not a resumption a steroid dose delayed.
      const int64_t recovered = std::min(t, eventResolved(it).value_or(t));
      const bool tki_blamed = recovered - e.onset <= dose_.settings().overlap_dechallenge_days * kDayMs;
      const size_t blamed = tki_blamed ? kAnl : kSin;
      if (d == blamed && !st_[1 - d].discontinued) {
        it.open = true;
        it.wait = true;
        it.wait_since = t;
        return;
      }
    }
    maybeResume(d);
  }

  void maybeResume(size_t d) {
    DrugState& s = st_[d];
    if (s.discontinued || s.held() || !s.since) return;
    s.since.reset();
    if (s.pending_minus) {
      ++s.level;
      for (const auto& r : s.pending_rules) s.reduction_rules.push_back(r);
      s.pending_minus = false;
      s.pending_rules.clear();
    }
  }

  void expire(size_t d, size_t item, const char* clock, int64_t t) {
    DrugState& s = st_[d];
    const Item& it = s.items[item];
    if (s.discontinued || !it.open) return;
    std::vector<std::string> ids{it.rule->id};
    if (clock) ids.push_back(clock);
    const Episode& e = eps_[it.episode];
    // A lab or vital-sign hold that runs out with no later reading of its term at all (up to
    // as_of): the discontinuation rests on data not yet entered, not on data showing the event
    // persisted. Any later reading, even one after the hold ran out, is data the rules judged.
    const bool no_follow_up = e.kind != EventKind::kAe && e.series && e.pos + 1 >= e.series->size();
    discontinue(d, t, std::move(ids), e.ref);
    if (no_follow_up && st_[d].since == t && st_[d].rests_on.empty())
      st_[d].rests_on = "no " + e.term + " reading at or below grade " + std::to_string(it.rule->resume_max_grade) +
                        " recorded since " + core::formatDate(e.onset / kDayMs) +
                        ": enter the follow-up value before acting on this discontinuation";
  }

  void doseGiven(size_t di, int64_t t) {
    const ScenarioDose& dose = s_.doses[di];
    if (!dose.given || !dose.dose_mg || *dose.dose_mg <= 0) return;
    const size_t d = idx(dose.drug);
    DrugState& s = st_[d];
    const int64_t day = dose.date_ms / kDayMs;
    const auto& levels = dose_.settings().anlotinib_levels_mg;
    auto finding = [&](const char* code, std::vector<std::string> ids, std::string text) {
      Finding f;
      f.code = code;
      f.drug = dose.drug;
      f.dose_ref = dose.ref;
      f.date_ms = dose.date_ms;
      f.unverified = std::any_of(ids.begin(), ids.end(), [&](const std::string& id) { return !dose_.verified(id); });
      f.rule_ids = std::move(ids);
      f.text = std::move(text);
      out_.findings.push_back(std::move(f));
    };
    const std::string drug(core::toString(dose.drug));
    if (s.discontinued) {
      if (s.since && day > *s.since / kDayMs)
        finding("dose_after_discontinuation", s.discontinue_rules, drug + " given after the recommendation to discontinue it");
    } else if (s.held()) {
      std::vector<std::string> ids;
      bool earlier = false;
      for (const auto& it : s.items)
        if (it.open && it.kind == ItemKind::kHold) {
          addUnique(ids, it.rule->id);
          earlier = earlier || it.start / kDayMs < day;
        }
      if (earlier) finding("dose_during_hold", ids, drug + " given while a hold was open");
    } else if (d == kAnl && s.level < levels.size() && *dose.dose_mg > levels[s.level] + 1e-9) {
      finding("dose_above_recommended", s.reduction_rules,
              "anlotinib " + std::to_string(static_cast<int>(*dose.dose_mg)) + " mg given where " +
                  std::to_string(levels[s.level]) + " mg is recommended (no re-escalation)");
    }
    if (d == kAnl && !s.discontinued && !s.held()) {
      // The investigator may reduce further than recommended; the engine follows.
      for (size_t l = s.level + 1; l < levels.size(); ++l)
        if (std::fabs(*dose.dose_mg - levels[l]) < 1e-9) s.level = l;
    }
    s.last_given = t;
    // Sequential rechallenge: the other drug's wait ends with this dose.
    DrugState& o = st_[1 - d];
    bool released = false;
    for (auto& it : o.items)
      if (it.open && it.wait && it.wait_since < t) {
        it.open = false;
        released = true;
      }
    if (released) maybeResume(1 - d);
  }

  // SI-TAPER: a systemic corticosteroid course for an immune-related AE that has ended, first start to
  // last day, in fewer than medications.taper_min_days days.
  void steroidFindings() {
    const auto& ms = dose_.medications();
    for (const auto& e : eps_) {
      if (!e.ae || !e.cls.irae) continue;
      const auto steroids = meds_.steroidsFor(e.ref, e.onset, e.resolved, true);
      if (steroids.empty()) continue;
      int64_t end = 0;
      bool ended = true;
      for (const auto* m : steroids) {
        if (!m->end_ms) ended = false;
        else end = std::max(end, *m->end_ms);
      }
      if (!ended || end > s_.as_of_ms) continue;
      const int64_t start = steroids.front()->start_ms;
      const int64_t days = (end - start) / kDayMs;
      if (days >= ms.taper_min_days) continue;
      Finding f;
      f.code = "steroid_taper_short";
      f.drug = core::Drug::kSintilimab;
      f.ref = e.ref;
      f.date_ms = end - kDayMs;
      f.rule_ids = {"SI-TAPER"};
      f.unverified = !dose_.verified("SI-TAPER");
      f.text = "systemic corticosteroids for " + e.term + " (" + e.ref + ") ran " + std::to_string(days) + " day" +
               (days == 1 ? "" : "s") + ", " + core::formatDate(start / kDayMs) + " to " +
               core::formatDate(end / kDayMs - 1) + ": an irAE taper takes at least " +
               std::to_string(ms.taper_min_days) + " days (" + ms.taper_source + ")";
      out_.findings.push_back(std::move(f));
    }
  }

  // ---- the answer -----------------------------------------------------------------------------
  void finish() {
    const auto& levels = dose_.settings().anlotinib_levels_mg;
    for (size_t d = 0; d < 2; ++d) {
      const DrugState& s = st_[d];
      DrugRecommendation& r = out_.drugs[d];
      auto doseNow = [&](bool pending) -> std::optional<int> {
        if (d == kSin) return dose_.settings().sintilimab_dose_mg;
        const size_t l = std::min(s.level + (pending ? 1 : 0), levels.size() - 1);
        return levels[l];
      };
      auto collect = [&](ItemKind kind) {
        for (const auto& it : s.items)
          if (it.open && it.kind == kind) {
            addUnique(r.rule_ids, it.rule->id);
            addUnique(r.event_refs, eps_[it.episode].ref);
            if (!it.rule->resume.empty()) addUnique(r.resume, it.rule->resume);
            if (it.expiry && (!r.discontinue_after_ms || *it.expiry < *r.discontinue_after_ms))
              r.discontinue_after_ms = it.expiry;
          }
      };
      if (s.discontinued) {
        r.action = DrugAction::kDiscontinue;
        r.dose_mg.reset();
        r.rule_ids = s.discontinue_rules;
        r.event_refs = s.discontinue_refs;
        r.since_ms = s.since;
        if (!s.rests_on.empty()) r.rests_on = s.rests_on;
      } else if (s.held()) {
        r.action = DrugAction::kHold;
        r.dose_mg = doseNow(s.pending_minus);
        collect(ItemKind::kHold);
        if (d == kSin) {
          // Section 3.0: sintilimab resumes only at prednisone-equivalent <= the limit. A hold whose
          // event has resolved is kept by the steroid dose alone: cite the rule.
          const auto& ms = dose_.medications();
          const bool kept_by_steroid = std::any_of(s.items.begin(), s.items.end(), [&](const Item& it) {
            if (!it.open || it.kind != ItemKind::kHold || it.wait) return false;
            const auto resolved = eventResolved(it);
            return resolved && *resolved <= s_.as_of_ms;
          });
          if (kept_by_steroid) addUnique(r.rule_ids, "SI-RESUME-STEROID");
          if (meds_.anySystemicSteroid())
            addUnique(r.resume, "prednisone-equivalent <= " + findingNumber(ms.resume_prednisone_max_mg_day) +
                                    " mg/day (now " + findingNumber(meds_.prednisoneAt(s_.as_of_ms)) + " mg/day)");
        }
        r.since_ms = s.since;
        r.awaiting_rechallenge = std::all_of(s.items.begin(), s.items.end(), [](const Item& it) {
          return !it.open || it.kind != ItemKind::kHold || it.wait;
        });
      } else if (std::any_of(s.items.begin(), s.items.end(),
                             [](const Item& it) { return it.open && it.kind == ItemKind::kInterrupt; })) {
        r.action = DrugAction::kInterruptInfusion;
        r.dose_mg = doseNow(false);
        collect(ItemKind::kInterrupt);
      } else {
        r.action = DrugAction::kContinue;
        r.dose_mg = doseNow(false);
        for (const auto& id : s.reduction_rules) addUnique(r.rule_ids, id);
        collect(ItemKind::kWatch);
      }
      r.unverified = std::any_of(r.rule_ids.begin(), r.rule_ids.end(), [&](const std::string& id) {
        return !dose_.verified(id);
      });
      if (d == kSin && meds_.anySystemicSteroid()) r.prednisone_mg_day = meds_.prednisoneAt(s_.as_of_ms);
    }
    steroidFindings();

    // Seriousness, AESI, suspected SUSAR and the reporting clocks.
    for (const auto& e : eps_) {
      EventResult& r = out_.events[e.result];
      if (e.term == "Hypertension") r.antihypertensive_classes = meds_.antihypertensiveClassesAt(e.onset);
      ReportableEvent ev;
      ev.ref = e.ref;
      ev.term = e.term;
      ev.grade = e.grade;
      if (e.ungraded) continue;
      if (e.ae) {
        ev.serious = e.ae->serious;
        ev.investigator = e.ae->investigator;
        ev.sponsor = e.ae->sponsor;
        ev.site_aware_ms = e.ae->site_aware_ms;
        ev.sponsor_aware_ms = e.ae->sponsor_aware_ms;
        const auto steps = meds_.steroidSteps(meds_.steroidsFor(e.ref, e.onset, e.resolved, e.cls.irae));
        for (const auto& [t, mg] : steps)
          if (!r.steroid_peak_mg_day || mg > *r.steroid_peak_mg_day) r.steroid_peak_mg_day = mg;
        if (const auto& w = s_.participant.facts.weight_kg; w && *w > 0)
          for (const auto& [t, mg] : steps) ev.steroid_mg_per_kg_steps.emplace_back(t, mg / *w);
      } else if (e.lab && e.term == kHbvTerm) {
        // An HBV-DNA result meeting the reactivation criterion: the site knows it from the result.
        ev.reading = true;
        ev.site_aware_ms = e.lab->in->collected_ms;
      } else if (e.vital) {
        // The site measured it: aware from the measurement (AESI-HTN-READING's 24 h clock).
        ev.reading = true;
        ev.systolic = e.vital->systolic;
        ev.diastolic = e.vital->diastolic;
        ev.site_aware_ms = e.vital->measured_ms;
      }
      const Assessment a = reporting_.assess(ev);
      for (const auto* rule : a.aesi) r.aesi_ids.push_back(rule->id);
      r.aesi = !r.aesi_ids.empty();
      r.serious = a.serious;
      r.susar = a.susar;
      r.recurrent = e.kind == EventKind::kAe && recurrent(e, 1);
      if (e.ae || e.vital || ev.reading)
        for (const auto& dl : reporting_.deadlines(ev, a)) out_.deadlines.push_back({dl.ref, dl.kind, dl.due_ms, dl.anchor});
    }
    std::stable_sort(out_.deadlines.begin(), out_.deadlines.end(), [](const DeadlineResult& a, const DeadlineResult& b) {
      if (a.due_ms != b.due_ms) return a.due_ms < b.due_ms;
      return a.ref < b.ref;
    });

    // On-study flags (section 9).
    for (const auto& flag : dose_.flags()) {
      if (flag.latest_only) {
        for (const LabInfo* info : latest_labs_) {
          Episode e;
          e.kind = EventKind::kLab;
          e.lab = info;
          e.ref = info->in->ref;
          for (const auto& c : flag.when) {
            if (c.tests.empty() || std::find(c.tests.begin(), c.tests.end(), info->analyte->code) == c.tests.end()) continue;
            if (std::all_of(c.measure.begin(), c.measure.end(), [&](const Measure& m) { return measureHolds(m, e); })) {
              out_.flags.push_back({flag.id, e.ref, flag.text, flag.verified});
              break;
            }
          }
        }
        continue;
      }
      for (const auto& e : eps_) {
        for (const auto& c : flag.when)
          if (conditionHolds(c, DrugScope::kBoth, e, true)) {
            out_.flags.push_back({flag.id, e.ref, flag.text, flag.verified});
            break;
          }
      }
    }
  }

  const DoseRules& dose_;
  const ReportingRules& reporting_;
  const CategorySet& categories_;
  const grading::LabGrader& grader_;
  const Scenario& s_;
  std::vector<ScenarioMedication> meds_in_;  // the medications started by as_of
  MedicationTimeline meds_;
  std::vector<Episode> eps_;
  std::vector<LabInfo> labs_;
  std::vector<const LabInfo*> latest_labs_;
  std::unordered_map<std::string, std::vector<SeriesPoint>> series_;
  std::unordered_map<std::string, std::vector<size_t>> by_term_;
  std::unordered_map<std::string, std::vector<size_t>> by_category_;
  std::array<DrugState, 2> st_;
  std::priority_queue<Timed, std::vector<Timed>, std::greater<Timed>> queue_;
  uint64_t seq_ = 0;
  Evaluation out_;
};

}  // namespace

Evaluation Evaluator::evaluate(const Scenario& scenario) const {
  Run run(dose_, reporting_, categories_, grader_, scenario);
  Evaluation ev = run.run();
  checkSchedule(scenario, dose_, grader_, ev);
  checkEligibility(scenario, dose_, grader_, ev);
  return ev;
}

}  // namespace vigil::rules

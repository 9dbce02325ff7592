#include "rules/schedule.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/time.h"
#include "grading/measurement_grading.h"
#include "rules/eligibility.h"

namespace vigil::rules {
namespace {

using core::kDayMs;

bool given(const ScenarioDose& d) { return d.given && d.dose_mg && *d.dose_mg > 0; }

class Checks {
 public:
  Checks(const Scenario& s, const DoseRules& rules, const grading::LabGrader& grader, Evaluation& out)
      : s_(s), rules_(rules), grader_(grader), out_(out) {
    for (const auto& d : s_.doses)
      if (given(d) && d.date_ms <= s_.as_of_ms) doses_.push_back(&d);
    std::stable_sort(doses_.begin(), doses_.end(), [](auto* a, auto* b) { return a->date_ms < b->date_ms; });
  }

  void run() {
    const size_t before = out_.findings.size();
    missedDoses();
    windows();
    const auto all = results();
    monitoring(all);
    cycleStart(all);
    pregnancies();
    std::stable_sort(out_.findings.begin() + static_cast<std::ptrdiff_t>(before), out_.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.date_ms < b.date_ms; });
  }

 private:
  void add(const char* kind, const char* code, std::optional<core::Drug> drug, const std::string& dose_ref,
           const std::string& ref, int64_t date_ms, const std::string& rule_id, std::string text) {
    Finding f;
    f.kind = kind;
    f.code = code;
    f.drug = drug;
    f.dose_ref = dose_ref;
    f.ref = ref;
    f.date_ms = date_ms;
    f.rule_ids = {rule_id};
    f.unverified = !rules_.verified(rule_id);
    f.text = std::move(text);
    out_.findings.push_back(std::move(f));
  }

  // Section 1: a missed dose is not made up; anlotinib only on days 1-14 of the cycle.
  void missedDoses() {
    const auto& settings = rules_.settings();
    std::map<int64_t, int> anlotinib_per_day;
    const ScenarioDose* last_sintilimab = nullptr;
    const int si_days = rules_.clock("SI-MISS")->days.value_or(settings.cycle_days);
    for (const ScenarioDose* d : doses_) {
      const int64_t day = d->date_ms / kDayMs;
      if (d->drug == core::Drug::kAnlotinib) {
        if (++anlotinib_per_day[day] > 1)
          add("protocol_deviation", "anlotinib_dose_made_up", d->drug, d->ref, "", d->date_ms, "AN-MISS",
              "a second anlotinib dose on one day: a missed dose is skipped, not made up");
        if (d->cycle_day && *d->cycle_day > settings.anlotinib_days_on)
          add("protocol_deviation", "anlotinib_off_week", d->drug, d->ref, "", d->date_ms, "AN-OFFWEEK",
              "anlotinib on cycle day " + std::to_string(*d->cycle_day) + " (given on days 1-" +
                  std::to_string(settings.anlotinib_days_on) + "): a possible medication error to report as an AESI");
      } else {
        if (last_sintilimab && d->date_ms - last_sintilimab->date_ms < si_days * kDayMs)
          add("protocol_deviation", "sintilimab_dose_made_up", d->drug, d->ref, "", d->date_ms, "SI-MISS",
              "sintilimab " + std::to_string((d->date_ms - last_sintilimab->date_ms) / kDayMs) +
                  " days after the previous dose (at least " + std::to_string(si_days) +
                  "): a withheld dose is not made up, the next waits for its cycle day");
        last_sintilimab = d;
      }
    }
  }

  // Section 6.5: AEs from the first dose to 30 days after the last; SAEs and irAEs to 90 days after
  // the last sintilimab dose; related SAEs at any time. Judged only once a dose is recorded, and
  // the end of the window only once both drugs are discontinued (Vigil records no other end of
  // treatment, so the window is never judged early: a missed finding is safer than a false one).
  void windows() {
    if (doses_.empty()) return;
    const int64_t first_day = doses_.front()->date_ms / kDayMs;
    const int64_t last = doses_.back()->date_ms;
    std::optional<int64_t> last_sintilimab;
    for (const ScenarioDose* d : doses_)
      if (d->drug == core::Drug::kSintilimab) last_sintilimab = d->date_ms;
    const int ae_days = *rules_.clock("WIN-AE")->days;
    const bool treatment_ended = std::all_of(out_.drugs.begin(), out_.drugs.end(), [](const DrugRecommendation& d) {
      return d.action == DrugAction::kDiscontinue;
    });
    const int sae_days = *rules_.clock("WIN-SAE")->days;
    std::map<std::string, const ScenarioAe*> by_ref;
    for (const auto& ae : s_.adverse_events) by_ref.emplace(ae.ref, &ae);
    for (const auto& e : out_.events) {
      if (e.kind != EventKind::kAe) continue;
      const ScenarioAe* ae = by_ref.at(e.ref);
      if (e.onset_ms / kDayMs < first_day) {
        add("collection_window", "before_first_dose", std::nullopt, "", e.ref, e.onset_ms, "WIN-AE",
            "onset before the first dose (" + core::formatDate(first_day) +
                "): a baseline condition, not a treatment-emergent AE");
        continue;
      }
      // After the last dose only once treatment has ended (both drugs discontinued): while a
      // participant is on treatment, a late dose entry must not make an AE look uncollectable.
      if (!treatment_ended || e.onset_ms <= last + ae_days * kDayMs) continue;
      if (e.serious || e.irae) {
        const bool related = std::any_of(ae->investigator.begin(), ae->investigator.end(), atLeastPossible) ||
                             std::any_of(ae->sponsor.begin(), ae->sponsor.end(), atLeastPossible);
        if (related || (last_sintilimab && e.onset_ms <= *last_sintilimab + sae_days * kDayMs)) continue;
        add("collection_window", "outside_collection_window", std::nullopt, "", e.ref, e.onset_ms, "WIN-SAE",
            std::string(e.serious ? "SAE" : "irAE") + " more than " + std::to_string(sae_days) +
                " days after the last sintilimab dose and not related: outside the collection window");
      } else {
        add("collection_window", "outside_collection_window", std::nullopt, "", e.ref, e.onset_ms, "WIN-AE",
            "onset more than " + std::to_string(ae_days) + " days after the last dose (" +
                core::formatDate(last / kDayMs) + "): outside the AE collection window");
      }
    }
  }

  struct Result {
    int64_t t = 0;
    std::optional<int> grade;  // the worst CTCAE grade of the latest lab result of each test
    const ScenarioLab* lab = nullptr;
  };

  // The results of each scheduled test, oldest first: labs by analyte, blood pressure from vitals.
  std::map<std::string, std::vector<Result>> results() const {
    std::map<std::string, std::vector<Result>> out;
    for (const auto& l : s_.labs) {
      if (l.collected_ms > s_.as_of_ms) continue;
      const auto* analyte = grader_.find(l.test);
      if (!analyte) {
        if (isHbvTest(rules_.hbv(), l.test)) out[rules_.hbv().test].push_back({l.collected_ms, std::nullopt, &l});
        continue;
      }
      out[analyte->code].push_back({l.collected_ms, std::nullopt, &l});
    }
    for (const auto& v : s_.vitals) {
      if (v.measured_ms > s_.as_of_ms) continue;
      if (v.systolic) out["SYSBP"].push_back({v.measured_ms, std::nullopt, nullptr});
      if (v.diastolic) out["DIABP"].push_back({v.measured_ms, std::nullopt, nullptr});
      if (v.temperature_c) out["TEMP"].push_back({v.measured_ms, std::nullopt, nullptr});
      if (v.qtc_ms) out["QTCF"].push_back({v.measured_ms, std::nullopt, nullptr});
    }
    for (auto& [code, list] : out) {
      std::stable_sort(list.begin(), list.end(), [](const Result& a, const Result& b) { return a.t < b.t; });
      // Only the latest grade is used (if_grade): grade that one alone.
      Result& latest = list.back();
      if (!latest.lab) continue;
      const ScenarioLab& l = *latest.lab;
      auto grades = grading::gradeAssumingNormalBaseline(grader_, l.test, l.value, l.unit, l.lln, l.uln, s_.participant);
      if (grades.isOk())
        for (const auto& g : grades.value())
          if (g.grade) latest.grade = std::max(latest.grade.value_or(0), *g.grade);
    }
    return out;
  }

  // Cycle-start checks (issue 14): before each cycle-day-1 dose (either drug; one check per dosing
  // day), the latest HGB, NEUT and PLAT from CYCLE-START's window (3 days) before through the
  // dosing day must meet the eligibility floors (ELIG-HGB, ELIG-ANC, ELIG-PLT), used as re-treatment
  // criteria (UNVERIFIED). One finding per test, so a result entered after the dose ends the
  // "missing" finding rather than making a new one. The first dosing day is left to the
  // eligibility check at registration (screening labs are rarely within 3 days of it). A dose has
  // a date, not a time: any result of the dosing day counts. Baseline labs with a collection time
  // count like any result.
  void cycleStart(const std::map<std::string, std::vector<Result>>& all) {
    const ClockRule* rule = rules_.clock("CYCLE-START");
    if (!rule || !rule->days) return;
    std::vector<const EligibilityRule*> floors;
    for (const auto& e : rules_.eligibility())
      if (e.test == "HGB" || e.test == "NEUT" || e.test == "PLAT") floors.push_back(&e);
    if (floors.empty()) return;
    // The lab results by test (results(), up to as_of), and the baseline labs with a collection time.
    struct Point {
      int64_t t;
      double value;
      const std::string* unit;
    };
    std::map<std::string, std::vector<Point>> by_test;
    for (const EligibilityRule* f : floors)
      if (auto it = all.find(f->test); it != all.end())
        for (const Result& r : it->second) by_test[f->test].push_back({r.t, r.lab->value, &r.lab->unit});
    for (const auto& b : s_.participant.baseline_labs) {
      const auto* a = grader_.find(b.test);
      const auto t = b.collected_at ? core::parseTimestamp(*b.collected_at) : std::nullopt;
      if (a && t) by_test[a->code].push_back({*t, b.value, &b.unit});
    }
    std::set<int64_t> days_checked;
    if (!doses_.empty()) days_checked.insert(doses_.front()->date_ms / kDayMs);  // the first dosing day
    for (const ScenarioDose* d : doses_) {
      if (!d->cycle_day || *d->cycle_day != 1 || !days_checked.insert(d->date_ms / kDayMs).second) continue;
      const int64_t from = d->date_ms - *rule->days * kDayMs;
      const int64_t to = d->date_ms + kDayMs;  // the dosing day itself counts
      const std::string day = core::formatDate(d->date_ms / kDayMs);
      for (const EligibilityRule* f : floors) {
        const Point* latest = nullptr;
        for (const auto& p : by_test[f->test])
          if (p.t >= from && p.t < to && (!latest || p.t >= latest->t)) latest = &p;
        if (!latest)
          add("protocol_deviation", "cycle_start_labs_missing", d->drug, d->ref, f->test, d->date_ms, "CYCLE-START",
              "cycle day 1 dose on " + day + " given with no " + f->test + " result in the " +
                  std::to_string(*rule->days) + " days before it (" + f->text + ")");
        else if (meetsFloor(*f, grader_, f->test, latest->value, *latest->unit) == false)
          add("protocol_deviation", "cycle_start_labs_not_met", d->drug, d->ref, f->test, d->date_ms, "CYCLE-START",
              "cycle day 1 dose on " + day + " given with " + f->test + " " + findingNumber(latest->value) + " " +
                  *latest->unit + " on " + core::formatDate(latest->t / kDayMs) + " (" + f->text + ")");
      }
    }
  }

  // Section 4: when each scheduled test is next due while on treatment, and creatinine before each
  // sintilimab dose.
  void monitoring(const std::map<std::string, std::vector<Result>>& all) {
    const bool on_treatment = !doses_.empty() && std::any_of(out_.drugs.begin(), out_.drugs.end(), [](const auto& d) {
      return d.action != DrugAction::kDiscontinue;
    });
    const int64_t start = doses_.empty() ? 0 : doses_.front()->date_ms;
    const bool cycle1 = on_treatment && s_.as_of_ms < start + rules_.settings().cycle_days * kDayMs;
    for (const auto& m : rules_.monitoring()) {
      if (m.hbv_carriers_only && !hbvCarrier(s_.participant.facts)) continue;
      for (const auto& test : m.tests) {
        MonitoringDue due;
        due.rule_id = m.id;
        due.test = test;
        due.unverified = !m.verified;
        due.text = m.text;
        auto it = all.find(test);
        const Result* latest = it == all.end() || it->second.empty() ? nullptr : &it->second.back();
        if (latest) due.last_ms = latest->t;
        std::optional<int> every = m.every_days;
        if (cycle1 && m.cycle1_every_days) every = m.cycle1_every_days;
        if (m.if_grade_every_days && latest && latest->grade && *latest->grade >= m.if_grade)
          every = std::min(every.value_or(*m.if_grade_every_days), *m.if_grade_every_days);
        if (on_treatment && every) {
          const int64_t anchor = latest ? std::max(latest->t, start) : start;
          due.due_ms = anchor + *every * kDayMs;
          due.overdue = s_.as_of_ms > *due.due_ms;
        }
        out_.monitoring.push_back(std::move(due));

        if (!m.before_sintilimab_within_days) continue;
        for (const ScenarioDose* d : doses_) {
          if (d->drug != core::Drug::kSintilimab) continue;
          const int64_t from = d->date_ms - *m.before_sintilimab_within_days * kDayMs;
          const int64_t to = d->date_ms + kDayMs;  // the dosing day itself counts
          const bool found = it != all.end() && std::any_of(it->second.begin(), it->second.end(), [&](const Result& r) {
                               return r.t >= from && r.t < to;
                             });
          if (!found)
            add("protocol_deviation", "test_missing_before_dose", d->drug, d->ref, test, d->date_ms, m.id,
                test + " not recorded in the " + std::to_string(*m.before_sintilimab_within_days) +
                    " days before this sintilimab dose: " + m.text);
        }
      }
    }
  }

  // Section 6.4: a pregnancy is not an AE but is reported on the SAE timeline (<= 24 h from site
  // awareness) and followed to its outcome; an abnormal outcome is reported as serious.
  void pregnancies() {
    const ClockRule* report = rules_.clock("PREG-24H");
    const ClockRule* outcome = rules_.clock("PREG-OUTCOME");
    bool added = false;
    for (const auto& p : s_.pregnancies) {
      if (p.site_aware_ms > s_.as_of_ms) continue;
      out_.deadlines.push_back({p.ref, DeadlineKind::kPregnancy24h, p.site_aware_ms + 24 * core::kHourMs, "site_aware"});
      out_.flags.push_back({"PREG-24H", p.ref,
                            std::string(p.partner ? "partner pregnancy" : "pregnancy") +
                                " reported: pregnancy form within 24 h of site awareness; follow to outcome" +
                                (p.partner ? "" : "; treatment per protocol (anlotinib contraindicated in pregnancy)"),
                            report->verified});
      if (seriousOutcome(p.outcome) && p.outcome_aware_ms && *p.outcome_aware_ms <= s_.as_of_ms) {
        out_.deadlines.push_back({p.ref, DeadlineKind::kSae24h, *p.outcome_aware_ms + 24 * core::kHourMs, "outcome_aware"});
        out_.flags.push_back({"PREG-OUTCOME", p.ref,
                              "pregnancy outcome " + std::string(toString(p.outcome)) + ": report as serious (SAE timeline)",
                              outcome->verified});
      }
      added = true;
    }
    if (added)
      std::stable_sort(out_.deadlines.begin(), out_.deadlines.end(), [](const DeadlineResult& a, const DeadlineResult& b) {
        if (a.due_ms != b.due_ms) return a.due_ms < b.due_ms;
        return a.ref < b.ref;
      });
  }

  const Scenario& s_;
  const DoseRules& rules_;
  const grading::LabGrader& grader_;
  Evaluation& out_;
  std::vector<const ScenarioDose*> doses_;  // given doses up to as_of, by date
};

}  // namespace

std::string_view toString(PregnancyOutcome o) {
  switch (o) {
    case PregnancyOutcome::kOngoing: return "ongoing";
    case PregnancyOutcome::kLiveBirth: return "live_birth";
    case PregnancyOutcome::kCongenitalAnomaly: return "congenital_anomaly";
    case PregnancyOutcome::kPregnancyLoss: return "pregnancy_loss";
    case PregnancyOutcome::kSeriousNeonatalReaction: return "serious_neonatal_reaction";
    case PregnancyOutcome::kElectiveTermination: return "elective_termination";
  }
  return "ongoing";
}

std::optional<PregnancyOutcome> parsePregnancyOutcome(std::string_view text) {
  for (auto o : {PregnancyOutcome::kOngoing, PregnancyOutcome::kLiveBirth, PregnancyOutcome::kCongenitalAnomaly,
                 PregnancyOutcome::kPregnancyLoss, PregnancyOutcome::kSeriousNeonatalReaction,
                 PregnancyOutcome::kElectiveTermination})
    if (toString(o) == text) return o;
  return std::nullopt;
}

bool seriousOutcome(PregnancyOutcome o) {
  return o == PregnancyOutcome::kCongenitalAnomaly || o == PregnancyOutcome::kPregnancyLoss ||
         o == PregnancyOutcome::kSeriousNeonatalReaction;
}

void checkSchedule(const Scenario& scenario, const DoseRules& rules, const grading::LabGrader& grader,
                   Evaluation& evaluation) {
  Checks(scenario, rules, grader, evaluation).run();
}

}  // namespace vigil::rules

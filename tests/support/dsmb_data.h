#pragma once
// Hand-built data cuts for the DSMB package tests: a few participants, doses, AEs, labs and
// clocks, written the way the store would hand them over, against the real reference data.

#include <optional>
#include <string>
#include <vector>

#include "exports/analysis.h"
#include "support/clinical_data.h"

namespace vigil::test {

class CutBuilder {
 public:
  class Participant {
   public:
    Participant(CutBuilder& b, size_t i) : b_(b), i_(i) {}
    // One anlotinib 12 mg dose given on date (cycle 1, day 1).
    Participant& treated(const std::string& date) { return dose(core::Drug::kAnlotinib, date, 1, 12); }
    Participant& dose(core::Drug drug, const std::string& date, int cycle, double mg) {
      core::DoseRecord d;
      d.id = static_cast<int64_t>(b_.cut.doses.size()) + 1;
      d.study_id = id();
      d.drug = drug;
      d.dose_mg = mg;
      d.route = drug == core::Drug::kAnlotinib ? core::Route::kOral : core::Route::kIntravenous;
      d.date = date;
      d.cycle = cycle;
      b_.cut.doses.push_back(d);
      return *this;
    }
    Participant& held(core::Drug drug, const std::string& date, int cycle) {
      dose(drug, date, cycle, 0);
      b_.cut.doses.back().dose_mg.reset();
      b_.cut.doses.back().status = core::DoseStatus::kHeld;
      return *this;
    }
    Participant& baseline(const std::string& test, double value, const std::string& unit, double lln, double uln) {
      b_.cut.participants[i_].baseline_labs.push_back({test, value, unit, lln, uln, std::nullopt});
      return *this;
    }
    const std::string& id() const { return b_.cut.participants[i_].study_id; }

   private:
    CutBuilder& b_;
    size_t i_;
  };

  class Ae {
   public:
    Ae(CutBuilder& b, size_t i) : b_(b), i_(i) {}
    Ae& related(std::optional<core::Relatedness> anlotinib, std::optional<core::Relatedness> sintilimab) {
      v().per_drug[0].relatedness = anlotinib;
      v().per_drug[1].relatedness = sintilimab;
      return *this;
    }
    Ae& sponsor(std::optional<core::Relatedness> anlotinib, std::optional<core::Relatedness> sintilimab) {
      v().sponsor_relatedness = {anlotinib, sintilimab};
      return *this;
    }
    Ae& action(std::optional<core::ActionTaken> anlotinib, std::optional<core::ActionTaken> sintilimab) {
      v().per_drug[0].action = anlotinib;
      v().per_drug[1].action = sintilimab;
      return *this;
    }
    Ae& serious(std::vector<core::Seriousness> criteria) {
      v().serious_criteria = std::move(criteria);
      return *this;
    }
    Ae& outcome(core::Outcome o) {
      v().outcome = o;
      return *this;
    }
    Ae& end(const std::string& date) {
      v().end = date;
      return *this;
    }
    Ae& verbatim(const std::string& text) {
      v().verbatim = text;
      return *this;
    }

   private:
    core::AeVersion& v() { return b_.cut.adverse_events[i_].versions.back(); }
    CutBuilder& b_;
    size_t i_;
  };

  store::DataCut cut;

  CutBuilder() { cut.cut = "2026-10-31T23:59:59.000Z"; }

  Participant participant(const std::string& study_id, const std::string& site = "S01") {
    core::Participant p;
    p.study_id = study_id;
    p.site = site;
    p.enrolled_on = "2026-01-02";
    cut.participants.push_back(p);
    return Participant(*this, cut.participants.size() - 1);
  }

  Ae ae(const std::string& study_id, const std::string& term, int grade, const std::string& start) {
    core::AeReport r;
    r.id = static_cast<int64_t>(cut.adverse_events.size()) + 1;
    r.study_id = study_id;
    r.site = "S01";
    core::AeVersion v;
    v.verbatim = term;
    const auto* t = clinicalData().catalogue.find(term);
    v.ctcae_term = t ? t->term : term;
    v.meddra_code = t ? t->meddra_code : "";
    v.grade = grade;
    v.start = start;
    v.site_aware_at = start + "T08:00:00Z";
    r.versions.push_back(v);
    cut.adverse_events.push_back(r);
    return Ae(*this, cut.adverse_events.size() - 1);
  }

  void lab(const std::string& study_id, const std::string& test, const std::string& collected_at,
           const std::string& grades_json, double value = 1, const std::string& unit = "U/L") {
    core::LabResult l;
    l.id = static_cast<int64_t>(cut.labs.size()) + 1;
    l.study_id = study_id;
    l.test = test;
    l.value = value;
    l.unit = unit;
    l.collected_at = collected_at;
    l.grades_json = grades_json;
    cut.labs.push_back(l);
  }

  void candidate(const std::string& study_id, const std::string& term, core::CandidateStatus status) {
    core::AeCandidate c;
    c.id = static_cast<int64_t>(cut.candidates.size()) + 1;
    c.study_id = study_id;
    c.ctcae_term = term;
    c.grade = 2;
    c.source = "lab";
    c.status = status;
    cut.candidates.push_back(c);
  }

  void finding(const std::string& study_id, const std::string& kind, const std::string& code) {
    core::SafetyChange c;
    c.id = static_cast<int64_t>(cut.safety_changes.size()) + 1;
    c.study_id = study_id;
    c.at = "2026-01-15T10:00:00.000Z";
    c.kind = "finding";
    c.subject = code;
    c.detail = R"({"kind":")" + kind + R"(","code":")" + code +
               R"(","drug":"anlotinib","date":"2026-01-15","rule_ids":["AN-HOLD"],"unverified":false,"text":"t"})";
    cut.safety_changes.push_back(c);
  }
  void deviation(const std::string& study_id, const std::string& code) { finding(study_id, "protocol_deviation", code); }

  void deadline(int64_t ae_id, const std::string& kind, const std::string& due_at, const std::string& met_at) {
    core::ReportingDeadline d;
    d.id = static_cast<int64_t>(cut.deadlines.size()) + 1;
    d.ae_id = ae_id;
    d.study_id = cut.adverse_events.at(static_cast<size_t>(ae_id - 1)).study_id;
    d.kind = kind;
    d.due_at = due_at;
    d.anchor = "site_aware";
    d.met_at = met_at;
    cut.deadlines.push_back(d);
  }

  exports::Reference reference() const { return reference(stopping_); }
  exports::Reference reference(const exports::StoppingRules& rules) const {
    const auto& c = clinicalData();
    return {c.catalogue, c.grader, c.categories, c.reporting, rules, c.dose.version(), "5.0 (test)"};
  }

 private:
  exports::StoppingRules stopping_;
};

}  // namespace vigil::test

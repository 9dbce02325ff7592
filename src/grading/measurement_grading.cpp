#include "grading/measurement_grading.h"

#include <algorithm>
#include <cstdio>

#include "core/json_text.h"

namespace vigil::grading {
namespace {

const core::BaselineLab* baselineOf(const core::Participant& p, const std::string& code) {
  for (const auto& b : p.baseline_labs)
    if (b.test == code) return &b;
  return nullptr;
}

core::Result<std::vector<MeasurementGrade>> grade(const grading::LabGrader& grader, const std::string& code,
                                                  double value, const std::string& unit, std::optional<double> lln,
                                                  std::optional<double> uln, const core::Participant& participant,
                                                  bool assume_normal_baseline, bool on_anticoagulation);

}  // namespace

std::optional<core::FieldError> checkLab(const grading::LabGrader& grader, const std::string& code, double value,
                                         const std::string& unit) {
  const grading::Analyte* a = grader.find(code);
  if (!a) return std::nullopt;
  auto p = grader.prepare(*a, unit);
  if (!p.isOk()) return core::FieldError{"unit", p.status().message()};
  if (auto why = grader.implausible(*a, p.value(), value); !why.empty()) return core::FieldError{"value", std::move(why)};
  return std::nullopt;
}

std::string canonicalUnit(const grading::LabGrader& grader, const std::string& code, const std::string& unit) {
  const grading::Analyte* a = grader.find(code);
  if (!a) return {};
  auto p = grader.prepare(*a, unit);
  return p.isOk() ? p.value().canonical : std::string();
}

core::Result<std::vector<MeasurementGrade>> gradeMeasurement(const grading::LabGrader& grader, const std::string& code,
                                                             double value, const std::string& unit,
                                                             std::optional<double> lln, std::optional<double> uln,
                                                             const core::Participant& participant,
                                                             bool on_anticoagulation) {
  return grade(grader, code, value, unit, lln, uln, participant, false, on_anticoagulation);
}

core::Result<std::vector<MeasurementGrade>> gradeAssumingNormalBaseline(const grading::LabGrader& grader,
                                                                        const std::string& code, double value,
                                                                        const std::string& unit,
                                                                        std::optional<double> lln,
                                                                        std::optional<double> uln,
                                                                        const core::Participant& participant,
                                                                        bool on_anticoagulation) {
  return grade(grader, code, value, unit, lln, uln, participant, true, on_anticoagulation);
}

namespace {

core::Result<std::vector<MeasurementGrade>> grade(const grading::LabGrader& grader, const std::string& code,
                                                  double value, const std::string& unit, std::optional<double> lln,
                                                  std::optional<double> uln, const core::Participant& participant,
                                                  bool assume_normal_baseline, bool on_anticoagulation) {
  std::vector<MeasurementGrade> out;
  const grading::Analyte* a = grader.find(code);
  if (!a) return out;
  auto prepared = grader.prepare(*a, unit);
  if (!prepared.isOk()) return prepared.status();

  grading::LabInput input{value, lln, uln, std::nullopt, on_anticoagulation};
  // The baseline of the same test: its value in this value's unit, and its range as a fallback.
  std::optional<grading::PreparedUnit> baseline_unit;
  const core::BaselineLab* base = baselineOf(participant, code);
  if (base) {
    auto bu = grader.prepare(*a, base->unit);
    if (bu.isOk() && bu.value().system == prepared.value().system) {
      const double to_value_unit = bu.value().factor / prepared.value().factor;
      input.baseline = base->value * to_value_unit;
      if (!input.lln && base->lln) input.lln = *base->lln * to_value_unit;
      if (!input.uln && base->uln) input.uln = *base->uln * to_value_unit;
      baseline_unit = bu.value();
    }
  }
  grading::TermGrade grades[grading::kMaxCriteriaPerAnalyte];
  if (assume_normal_baseline) grader.gradeAssumingNormalBaseline(*a, prepared.value(), input, grades);
  else grader.grade(*a, prepared.value(), input, grades);
  grading::TermGrade at_baseline[grading::kMaxCriteriaPerAnalyte];
  if (baseline_unit) {
    // The baseline graded against itself: what the participant already had before treatment.
    grading::LabInput b{base->value, base->lln, base->uln, base->value, false};
    grader.grade(*a, *baseline_unit, b, at_baseline);
  }
  for (size_t i = 0; i < a->criteria.size(); ++i) {
    MeasurementGrade g;
    g.term = a->criteria[i].term;
    g.meddra_code = a->criteria[i].meddra_code;
    g.grade = grades[i].grade;
    g.worst_case_grade = grades[i].worst_case_grade;
    g.qualifier = std::string(grades[i].qualifier);
    g.reason = std::string(grades[i].reason);
    g.baseline_grade = baseline_unit ? at_baseline[i].grade.value_or(0) : 0;
    g.from_24h_urine = code == "PROT24H";
    g.baseline_assumed = grades[i].baseline_assumed;
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

std::vector<MeasurementGrade> gradeVitals(const grading::LabGrader& grader, const core::VitalSigns& v,
                                          const core::Participant& participant) {
  std::vector<MeasurementGrade> out;
  auto add = [&](const char* code, std::optional<double> value, const char* unit) {
    if (!value) return;
    auto g = gradeMeasurement(grader, code, *value, unit, std::nullopt, std::nullopt, participant);
    if (!g.isOk()) return;
    for (auto& one : g.value()) {
      // Systolic and diastolic both grade Hypertension: keep the higher.
      auto same = std::find_if(out.begin(), out.end(), [&](const auto& o) { return o.term == one.term; });
      if (same == out.end()) {
        out.push_back(std::move(one));
      } else if (one.grade.value_or(-1) > same->grade.value_or(-1)) {
        one.baseline_grade = std::max(one.baseline_grade, same->baseline_grade);
        *same = std::move(one);
      } else {
        same->baseline_grade = std::max(one.baseline_grade, same->baseline_grade);
      }
    }
  };
  add("SYSBP", v.systolic_mmhg ? std::optional<double>(*v.systolic_mmhg) : std::nullopt, "mmHg");
  add("DIABP", v.diastolic_mmhg ? std::optional<double>(*v.diastolic_mmhg) : std::nullopt, "mmHg");
  add("TEMP", v.temperature_c, "C");
  add("QTCF", v.qtc_ms ? std::optional<double>(*v.qtc_ms) : std::nullopt, "ms");
  return out;
}

bool worseThanBaseline(const MeasurementGrade& g) { return g.grade && *g.grade >= 1 && *g.grade >= g.baseline_grade + 1; }

std::string gradesToJson(const std::vector<MeasurementGrade>& grades) {
  std::string out = "[";
  for (size_t i = 0; i < grades.size(); ++i) {
    const auto& g = grades[i];
    if (i) out += ',';
    out += "{\"term\":\"";
    core::appendJsonEscaped(out, g.term);
    out += "\",\"grade\":";
    out += g.grade ? std::to_string(*g.grade) : "null";
    out += ",\"worst_case_grade\":";
    out += g.worst_case_grade ? std::to_string(*g.worst_case_grade) : "null";
    out += ",\"baseline_grade\":" + std::to_string(g.baseline_grade);
    if (!g.qualifier.empty() && g.worst_case_grade > g.grade) {
      out += ",\"qualifier\":\"";
      core::appendJsonEscaped(out, g.qualifier);
      out += '"';
    }
    if (g.baseline_assumed) out += ",\"baseline_assumed\":\"normal\"";
    if (!g.grade) {
      out += ",\"reason\":\"";
      core::appendJsonEscaped(out, g.reason);
      out += '"';
    }
    out += '}';
  }
  return out + "]";
}

}  // namespace vigil::grading

#pragma once
// CTCAE grading of measurements as they arrive: a lab result against the participant's baseline
// of the same test, a vital-sign reading against its criteria, and the rule that turns a grade
// worse than baseline into an AE candidate for the investigator to confirm.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "grading/lab_grader.h"

namespace vigil::grading {

struct MeasurementGrade {
  std::string term;
  std::string meddra_code;
  std::optional<int> grade;             // null: not decidable from the inputs (see reason)
  std::optional<int> worst_case_grade;
  std::string qualifier;
  std::string reason;
  int baseline_grade = 0;               // the grade of the participant's baseline value, 0 if none
  bool from_24h_urine = false;
  bool baseline_assumed = false;        // graded as if the missing baseline were normal
};

// Grades one value of analyte `code`; on_anticoagulation selects INR's anticoagulated branch. The participant's baseline lab of the same code (if any)
// supplies the baseline value (converted into the value's unit when the units differ) and the
// reference range when the value has none. Returns no grades for an analyte Vigil cannot grade.
// Fails only for a unit that does not fit the analyte (check with checkLab first).
core::Result<std::vector<MeasurementGrade>> gradeMeasurement(const grading::LabGrader& grader, const std::string& code,
                                                             double value, const std::string& unit,
                                                             std::optional<double> lln, std::optional<double> uln,
                                                             const core::Participant& participant,
                                                             bool on_anticoagulation = false);

// As gradeMeasurement; where CTCAE needs a baseline the participant lacks, grades as if the
// baseline were normal (LabGrader::gradeAssumingNormalBaseline: the midpoint of the reference
// range) rather than let a high value pass ungraded, and marks the grade baseline_assumed. The
// same behaviour as `vigilctl grade`. Used by the safety rules, never for the stored AE candidates.
core::Result<std::vector<MeasurementGrade>> gradeAssumingNormalBaseline(
    const grading::LabGrader& grader, const std::string& code, double value, const std::string& unit,
    std::optional<double> lln, std::optional<double> uln, const core::Participant& participant,
    bool on_anticoagulation = false);

// A lab value as it may be stored: its unit must fit analyte `code` and the value must be
// physically possible in it (ctcae/plausibility.json). Nothing when both hold or the analyte is
// not graded; otherwise the first problem, its field "unit" or "value" (the caller prefixes it).
std::optional<core::FieldError> checkLab(const grading::LabGrader& grader, const std::string& code, double value,
                                         const std::string& unit);

// The unit as Vigil spells it for analyte `code` ("MG/DL" -> "mg/dL", "10^3/ML" -> "10^3/mL");
// empty when the analyte is not graded or the unit does not fit it.
std::string canonicalUnit(const grading::LabGrader& grader, const std::string& code, const std::string& unit);

// The grades of a vital-signs reading: Hypertension (the higher of the systolic and diastolic
// grades), Fever, QTc prolonged.
std::vector<MeasurementGrade> gradeVitals(const grading::LabGrader& grader, const core::VitalSigns& vitals,
                                          const core::Participant& participant);

// True when the grade should become (or raise) an AE candidate: grade >= 1 and at least one
// grade worse than the participant's baseline grade for the term.
bool worseThanBaseline(const MeasurementGrade& g);

// JSON array text of grades: [{"term":..,"grade":..,"worst_case_grade":..,"baseline_grade":..}, ...]
std::string gradesToJson(const std::vector<MeasurementGrade>& grades);

}  // namespace vigil::grading

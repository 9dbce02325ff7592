#pragma once
// CTCAE v5.0 grading of lab values and vital signs from ctcae/lab_criteria.json and
// ctcae/units.json. Immutable after load, so safe to share between threads.
//
// Semantics (see the "semantics" block of lab_criteria.json):
//  - A band is entered when `value OP limit`; bands are tried from the most severe down, so a
//    value exactly at a limit keeps the milder grade (Hgb 100 g/L is grade 1, ALT 5.0 x ULN is
//    grade 2) unless NCI's text makes that end inclusive.
//  - Comparisons treat numbers that agree to 12 significant digits as equal, so k x ULN limits
//    are exact for lab values (ALT 200 U/L against ULN 40 is exactly 5.0 x ULN, and
//    0.6 against 3.0 x 0.2 is exactly at the limit).
//  - grade is what the value alone supports; worst_case_grade is the grade if the clinical
//    qualifier (symptoms, intervention) were present. Rules act on grade.
//  - A missing input (no ULN, no baseline where a branch needs it, no unit for an absolute
//    limit) gives a null grade with the reason, unless an absolute limit decides alone.
//  - An unknown unit, or one that cannot be converted to the analyte's units, is an error.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace vigil::grading {

// Each analyte maps to at most this many CTCAE terms (HGB: Anemia and Hemoglobin increased).
inline constexpr size_t kMaxCriteriaPerAnalyte = 4;

enum class Op { kAbove, kAtLeast, kBelow, kAtMost };
enum class RefKind { kLln, kUln, kBaseline, kAbsolute, kUlnPlus, kBaselinePlus };
enum class When { kAlways, kBaselineNormal, kBaselineAbnormal, kWithBaseline, kAnticoagulated, kNotAnticoagulated };
enum class UnitSystem { kSi = 0, kUs = 1 };

struct Band {
  int grade = 0;
  int worst_case = 0;  // == grade when no qualifier raises it
  std::string qualifier;
  Op op = Op::kAbove;
  RefKind ref = RefKind::kUln;
  double k = 1;               // multiple, for lln/uln/baseline
  double amount[2] = {0, 0};  // absolute value or offset, by UnitSystem
};

struct Scale {
  When when = When::kAlways;
  std::vector<Band> bands;  // mildest first
  int top_grade = 0;
};

struct Criterion {
  std::string term;
  std::string meddra_code;
  bool high = true;  // direction
  std::vector<Scale> scales;
};

// Physically possible values (ctcae/plausibility.json), by UnitSystem: lo <= value <= hi, or
// lo < value when above_zero.
struct Plausible {
  double lo[2] = {0, 0};
  double hi[2] = {0, 0};
  bool above_zero = false;
  std::string why;
};

struct Analyte {
  std::string code;  // SDTM LBTESTCD (or Vigil's code for vital signs)
  std::string name;
  std::vector<std::string> loinc;
  std::string si_unit;
  std::string us_unit;  // empty when CTCAE gives SI only
  std::optional<double> molar_mass;
  std::vector<Criterion> criteria;
  Plausible plausible;
};

// One value and its references, all in the same unit.
struct LabInput {
  double value = 0;
  std::optional<double> lln;
  std::optional<double> uln;
  std::optional<double> baseline;
  bool on_anticoagulation = false;
};

struct TermGrade {
  const Criterion* criterion = nullptr;
  std::optional<int> grade;
  std::optional<int> worst_case_grade;
  std::string_view qualifier;  // set when worst_case_grade > grade
  std::string_view reason;     // set when grade is null (static text)
  bool baseline_assumed = false;  // graded as if the missing baseline were normal (gradeAssumingNormalBaseline)
};

// How an input unit maps onto an analyte's limits.
struct PreparedUnit {
  std::optional<UnitSystem> system;  // nullopt: no unit given, absolute limits cannot be used
  double factor = 1;                 // multiply input numbers by this to reach the system's unit
  std::string canonical;             // the unit as Vigil spells it ("MG/DL" -> "mg/dL"); empty: none
};

class LabGrader {
 public:
  // Loads both files from the ctcae directory; fails naming the file and the problem.
  static core::Result<LabGrader> load(const std::string& ctcae_dir);

  // By LBTESTCD (case-insensitive) or LOINC code; nullptr when unknown.
  const Analyte* find(std::string_view test) const;
  const std::vector<Analyte>& analytes() const { return analytes_; }

  // Resolves a unit for an analyte once; empty unit means none given. A spelling is taken as
  // written when that fits the analyte, else case-folded ("MG/DL", "Mmol/L"; "G/L" is g/L for
  // haemoglobin, 10^9/L for a count), and a count may be per any power of ten and volume
  // ("10^3/mL", "cells/mm3"). Fails for an unknown unit, one that does not fit the analyte
  // (naming the units that do), or a spelling that fits it in two ways.
  static std::string foldUnit(std::string_view unit);
  core::Result<PreparedUnit> prepare(const Analyte& analyte, std::string_view unit) const;

  // Empty when the value (in `unit`, as prepared) is physically possible; otherwise why not, naming
  // the limit and its rationale (ctcae/plausibility.json). A value without a unit system (no unit
  // given for a dimensioned analyte) is checked against nothing. Allocates nothing when possible.
  std::string implausible(const Analyte& analyte, const PreparedUnit& unit, double value) const;
  // Grades one value against every criterion of the analyte, in the order of the criteria.
  // out must have room for analyte.criteria.size() results. Allocates nothing: the hot path for
  // bulk grading.
  void grade(const Analyte& analyte, const PreparedUnit& unit, const LabInput& input, TermGrade* out) const;

  // As grade(), for a value whose baseline is not known. Where a criterion needs the baseline and
  // the input has none, it is graded as if the baseline were normal: the midpoint of the reference
  // range given (the ULN, or the LLN, alone when only one is), and baseline_assumed is set. Its
  // worst_case_grade is raised to the grade a baseline just past the normal limit would give where
  // that is higher (the abnormal-baseline reading), with that qualifier. A criterion still needs
  // the limit it is graded against: without it the grade stays null. Allocates nothing.
  void gradeAssumingNormalBaseline(const Analyte& analyte, const PreparedUnit& unit, const LabInput& input,
                                   TermGrade* out) const;

  // Convenience: prepare + grade.
  core::Result<std::vector<TermGrade>> grade(const Analyte& analyte, std::string_view unit, const LabInput& input) const;

 private:
  std::vector<Analyte> analytes_;
  std::unordered_map<std::string, size_t> by_code_;
  std::unordered_map<std::string, std::string> unit_alias_;  // spelling -> canonical
  // Case-folded spelling -> the canonicals it may mean (the analyte decides: "g/l" is g/L or 10^9/L).
  std::unordered_map<std::string, std::vector<std::string>> folded_alias_;
  // Counts per any power of ten (units.json "counts"): folded volume spelling -> (Vigil's spelling, litres).
  std::unordered_map<std::string, std::pair<std::string, double>> count_volumes_;
  std::string count_unit_;  // the analyte unit counts convert to (10^9/L)
  std::optional<PreparedUnit> fit(const Analyte& analyte, const std::string& canonical) const;
  std::optional<PreparedUnit> powerOfTenCount(const std::string& folded) const;
  std::unordered_map<std::string, std::vector<std::pair<std::string, double>>> conversions_;  // from -> (to, factor)
};

}  // namespace vigil::grading

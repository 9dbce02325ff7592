// Every CTCAE v5.0 limit of every lab-gradable term, just below, exactly at and just above,
// in SI and in US conventional units. The expectations are typed from NCI's grade texts (quoted
// beside each block), not derived from ctcae/lab_criteria.json, so they check the data too.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <sstream>

#include "grading/lab_grader.h"

using namespace vigil::grading;

namespace {

const LabGrader& grader() {
  static const LabGrader g = [] {
    auto r = LabGrader::load(VIGIL_SOURCE_DIR "/ctcae");
    if (!r.isOk()) throw std::runtime_error(r.status().message());
    return std::move(r.value());
  }();
  return g;
}

struct Refs {
  std::optional<double> lln, uln, baseline;
  bool anticoagulated = false;
};

// One limit: the grade just on the milder side, exactly at it, and just on the severe side.
struct Limit {
  double at;
  int below, at_grade, above;  // by value: below < at < above
};

struct Case {
  const char* test;
  const char* unit;
  Refs refs;
  const char* term;
  std::vector<Limit> limits;
};

std::optional<int> gradeOf(const char* test, const char* unit, const Refs& refs, double value, const char* term,
                           std::optional<int>* worst = nullptr) {
  const Analyte* a = grader().find(test);
  REQUIRE(a);
  LabInput in{value, refs.lln, refs.uln, refs.baseline, refs.anticoagulated};
  auto r = grader().grade(*a, unit, in);
  REQUIRE(r.isOk());
  for (const auto& tg : r.value())
    if (tg.criterion->term == term) {
      if (worst) *worst = tg.worst_case_grade;
      return tg.grade;
    }
  FAIL("no result for " << term);
  return std::nullopt;
}

void check(const Case& c) {
  for (const auto& l : c.limits) {
    const double delta = std::max(std::fabs(l.at), 1.0) * 1e-6;
    std::ostringstream where;
    where << c.test << " " << c.term << " in " << c.unit << " around " << l.at;
    INFO(where.str());
    CHECK(gradeOf(c.test, c.unit, c.refs, l.at - delta, c.term) == l.below);
    CHECK(gradeOf(c.test, c.unit, c.refs, l.at, c.term) == l.at_grade);
    CHECK(gradeOf(c.test, c.unit, c.refs, l.at + delta, c.term) == l.above);
  }
}

}  // namespace

TEST_CASE("hematology limits, SI and US", "[grading]") {
  // Anemia: G1 <LLN - 100 g/L (10.0 g/dL); G2 <100 - 80 g/L; G3 <80 g/L.
  check({"HGB", "g/L", {120.0, 160.0, {}}, "Anemia", {{120, 1, 0, 0}, {100, 2, 1, 1}, {80, 3, 2, 2}}});
  check({"HGB", "g/dL", {12.0, 16.0, {}}, "Anemia", {{12, 1, 0, 0}, {10.0, 2, 1, 1}, {8.0, 3, 2, 2}}});
  // Hemoglobin increased: G1 >0 - 2 g/dL above ULN; G2 >2 - 4; G3 >4.
  check({"HGB", "g/L", {120.0, 160.0, {}}, "Hemoglobin increased", {{160, 0, 0, 1}, {180, 1, 1, 2}, {200, 2, 2, 3}}});
  check({"HGB", "g/dL", {12.0, 16.0, {}}, "Hemoglobin increased", {{16, 0, 0, 1}, {18, 1, 1, 2}, {20, 2, 2, 3}}});
  // White blood cell decreased: <LLN - 3.0; <3.0 - 2.0; <2.0 - 1.0; <1.0 x 10e9/L.
  check({"WBC", "10^9/L", {4.0, 10.0, {}}, "White blood cell decreased",
         {{4.0, 1, 0, 0}, {3.0, 2, 1, 1}, {2.0, 3, 2, 2}, {1.0, 4, 3, 3}}});
  check({"WBC", "/uL", {4000.0, 10000.0, {}}, "White blood cell decreased",
         {{4000, 1, 0, 0}, {3000, 2, 1, 1}, {2000, 3, 2, 2}, {1000, 4, 3, 3}}});
  // Leukocytosis: G3 >100,000/mm3.
  check({"WBC", "10^9/L", {4.0, 10.0, {}}, "Leukocytosis", {{100, 0, 0, 3}}});
  check({"WBC", "/uL", {4000.0, 10000.0, {}}, "Leukocytosis", {{100000, 0, 0, 3}}});
  // Neutrophil count decreased: <LLN - 1.5; <1.5 - 1.0; <1.0 - 0.5; <0.5 x 10e9/L.
  check({"NEUT", "10^9/L", {2.0, 7.5, {}}, "Neutrophil count decreased",
         {{2.0, 1, 0, 0}, {1.5, 2, 1, 1}, {1.0, 3, 2, 2}, {0.5, 4, 3, 3}}});
  check({"NEUT", "/uL", {2000.0, 7500.0, {}}, "Neutrophil count decreased", {{1500, 2, 1, 1}, {1000, 3, 2, 2}, {500, 4, 3, 3}}});
  // Lymphocyte count decreased: <LLN - 0.8; <0.8 - 0.5; <0.5 - 0.2; <0.2. Increased: >4 - 20; >20.
  check({"LYM", "10^9/L", {1.0, 3.5, {}}, "Lymphocyte count decreased",
         {{1.0, 1, 0, 0}, {0.8, 2, 1, 1}, {0.5, 3, 2, 2}, {0.2, 4, 3, 3}}});
  check({"LYM", "/uL", {1000.0, 3500.0, {}}, "Lymphocyte count decreased", {{800, 2, 1, 1}, {500, 3, 2, 2}, {200, 4, 3, 3}}});
  check({"LYM", "10^9/L", {1.0, 3.5, {}}, "Lymphocyte count increased", {{4, 0, 0, 2}, {20, 2, 2, 3}}});
  check({"LYM", "/uL", {1000.0, 3500.0, {}}, "Lymphocyte count increased", {{4000, 0, 0, 2}, {20000, 2, 2, 3}}});
  // Platelet count decreased: <LLN - 75.0; <75.0 - 50.0; <50.0 - 25.0; <25.0 x 10e9/L (75 exactly is G1).
  check({"PLAT", "10^9/L", {150.0, 400.0, {}}, "Platelet count decreased",
         {{150, 1, 0, 0}, {75, 2, 1, 1}, {50, 3, 2, 2}, {25, 4, 3, 3}}});
  check({"PLAT", "/uL", {150000.0, 400000.0, {}}, "Platelet count decreased",
         {{75000, 2, 1, 1}, {50000, 3, 2, 2}, {25000, 4, 3, 3}}});
  check({"PLAT", "10^3/uL", {150.0, 400.0, {}}, "Platelet count decreased", {{75, 2, 1, 1}, {25, 4, 3, 3}}});
  // CD4 lymphocytes decreased: <LLN - 0.5; <0.5 - 0.2; <0.2 - 0.05; <0.05 x 10e9/L.
  check({"CD4", "10^9/L", {0.6, 1.6, {}}, "CD4 lymphocytes decreased",
         {{0.6, 1, 0, 0}, {0.5, 2, 1, 1}, {0.2, 3, 2, 2}, {0.05, 4, 3, 3}}});
  check({"CD4", "/uL", {600.0, 1600.0, {}}, "CD4 lymphocytes decreased", {{500, 2, 1, 1}, {200, 3, 2, 2}, {50, 4, 3, 3}}});
}

TEST_CASE("liver enzymes with normal and abnormal baselines", "[grading]") {
  // ALT/AST, baseline normal: >ULN - 3.0; >3.0 - 5.0; >5.0 - 20.0; >20.0 x ULN.
  // Baseline abnormal: 1.5 - 3.0; >3.0 - 5.0; >5.0 - 20.0; >20.0 x baseline (1.5 x is inclusive).
  for (const char* test : {"ALT", "AST"}) {
    const char* term = std::string(test) == "ALT" ? "Alanine aminotransferase increased" : "Aspartate aminotransferase increased";
    check({test, "U/L", {7.0, 40.0, 30.0}, term, {{40, 0, 0, 1}, {120, 1, 1, 2}, {200, 2, 2, 3}, {800, 3, 3, 4}}});
    check({test, "U/L", {7.0, 40.0, 60.0}, term, {{90, 0, 1, 1}, {180, 1, 1, 2}, {300, 2, 2, 3}, {1200, 3, 3, 4}}});
  }
  // ALP/GGT, baseline normal: >ULN - 2.5; >2.5 - 5.0; >5.0 - 20.0; >20.0 x ULN.
  // Baseline abnormal: 2.0 - 2.5; >2.5 - 5.0; >5.0 - 20.0; >20.0 x baseline.
  check({"ALP", "U/L", {40.0, 120.0, 100.0}, "Alkaline phosphatase increased",
         {{120, 0, 0, 1}, {300, 1, 1, 2}, {600, 2, 2, 3}, {2400, 3, 3, 4}}});
  check({"ALP", "U/L", {40.0, 120.0, 150.0}, "Alkaline phosphatase increased",
         {{300, 0, 1, 1}, {375, 1, 1, 2}, {750, 2, 2, 3}, {3000, 3, 3, 4}}});
  check({"GGT", "U/L", {8.0, 60.0, 40.0}, "GGT increased", {{60, 0, 0, 1}, {150, 1, 1, 2}, {300, 2, 2, 3}, {1200, 3, 3, 4}}});
  check({"GGT", "U/L", {8.0, 60.0, 80.0}, "GGT increased", {{160, 0, 1, 1}, {200, 1, 1, 2}, {400, 2, 2, 3}, {1600, 3, 3, 4}}});
  // Blood bilirubin increased, normal: >ULN - 1.5; >1.5 - 3.0; >3.0 - 10.0; >10.0 x ULN.
  // Abnormal: >1.0 - 1.5; >1.5 - 3.0; >3.0 - 10.0; >10.0 x baseline.
  check({"BILI", "umol/L", {3.0, 21.0, 10.0}, "Blood bilirubin increased",
         {{21, 0, 0, 1}, {31.5, 1, 1, 2}, {63, 2, 2, 3}, {210, 3, 3, 4}}});
  check({"BILI", "umol/L", {3.0, 21.0, 30.0}, "Blood bilirubin increased",
         {{30, 0, 0, 1}, {45, 1, 1, 2}, {90, 2, 2, 3}, {300, 3, 3, 4}}});
  check({"BILI", "mg/dL", {0.2, 1.2, 0.6}, "Blood bilirubin increased",
         {{1.2, 0, 0, 1}, {1.8, 1, 1, 2}, {3.6, 2, 2, 3}, {12, 3, 3, 4}}});
}

TEST_CASE("kidney, coagulation, pancreas and muscle enzymes", "[grading]") {
  // Creatinine increased: >ULN - 1.5 x ULN; >1.5 - 3.0 x baseline or ULN; >3.0 x baseline or >3.0 - 6.0 x ULN; >6.0 x ULN.
  check({"CREAT", "umol/L", {45.0, 100.0, 100.0}, "Creatinine increased",
         {{100, 0, 0, 1}, {150, 1, 1, 2}, {300, 2, 2, 3}, {600, 3, 3, 4}}});
  check({"CREAT", "mg/dL", {0.5, 1.2, 1.2}, "Creatinine increased", {{1.8, 1, 1, 2}, {3.6, 2, 2, 3}, {7.2, 3, 3, 4}}});
  // A rise to more than 1.5 x baseline is grade 2 even within the normal range.
  check({"CREAT", "umol/L", {45.0, 100.0, 50.0}, "Creatinine increased", {{75, 0, 0, 2}, {150, 2, 2, 3}}});
  // INR increased, not anticoagulated: >1.2 - 1.5; >1.5 - 2.5; >2.5.
  check({"INR", "", {{}, {}, {}}, "INR increased", {{1.2, 0, 0, 1}, {1.5, 1, 1, 2}, {2.5, 2, 2, 3}}});
  // Anticoagulated: >1 - 1.5; >1.5 - 2.5; >2.5 x baseline.
  Refs anticoagulated{{}, {}, 2.0, true};
  check({"INR", "", anticoagulated, "INR increased", {{2.0, 0, 0, 1}, {3.0, 1, 1, 2}, {5.0, 2, 2, 3}}});
  // APTT prolonged: >ULN - 1.5; >1.5 - 2.5; >2.5 x ULN.
  check({"APTT", "s", {25.0, 35.0, {}}, "Activated partial thromboplastin time prolonged",
         {{35, 0, 0, 1}, {52.5, 1, 1, 2}, {87.5, 2, 2, 3}}});
  // Lipase/amylase: >ULN - 1.5; >1.5 - 2.0, or >2.0 - 5.0 and asymptomatic (G2); >5.0 asymptomatic (G3).
  check({"LIPASE", "U/L", {10.0, 60.0, {}}, "Lipase increased", {{60, 0, 0, 1}, {90, 1, 1, 2}, {120, 2, 2, 2}, {300, 2, 2, 3}}});
  check({"AMYLASE", "U/L", {30.0, 100.0, {}}, "Serum amylase increased",
         {{100, 0, 0, 1}, {150, 1, 1, 2}, {200, 2, 2, 2}, {500, 2, 2, 3}}});
  // CPK increased: >ULN - 2.5; >2.5 - 5; >5 - 10; >10 x ULN.
  check({"CK", "U/L", {30.0, 200.0, {}}, "CPK increased", {{200, 0, 0, 1}, {500, 1, 1, 2}, {1000, 2, 2, 3}, {2000, 3, 3, 4}}});
  // LDH: G1 >ULN only.
  check({"LDH", "U/L", {120.0, 250.0, {}}, "Blood lactate dehydrogenase increased", {{250, 0, 0, 1}}});
}

TEST_CASE("electrolytes, SI and US", "[grading]") {
  // Hypokalemia: <LLN - 3.0 (G1, symptomatic G2); <3.0 - 2.5; <2.5. Hyperkalemia: >ULN - 5.5; >5.5 - 6.0; >6.0 - 7.0; >7.0.
  check({"K", "mmol/L", {3.5, 5.1, {}}, "Hypokalemia", {{3.5, 1, 0, 0}, {3.0, 3, 1, 1}, {2.5, 4, 3, 3}}});
  check({"K", "mEq/L", {3.5, 5.1, {}}, "Hyperkalemia", {{5.1, 0, 0, 1}, {5.5, 1, 1, 2}, {6.0, 2, 2, 3}, {7.0, 3, 3, 4}}});
  // Hyponatremia: <LLN - 130; 125-129 (G2, symptomatic G3); 120-124; <120. Hypernatremia: >ULN - 150; >150 - 155; >155 - 160; >160.
  check({"SODIUM", "mmol/L", {135.0, 145.0, {}}, "Hyponatremia",
         {{135, 1, 0, 0}, {130, 2, 1, 1}, {125, 3, 2, 2}, {120, 4, 3, 3}}});
  check({"SODIUM", "mmol/L", {135.0, 145.0, {}}, "Hypernatremia",
         {{145, 0, 0, 1}, {150, 1, 1, 2}, {155, 2, 2, 3}, {160, 3, 3, 4}}});
  // Corrected calcium: hypo <LLN - 2.0 (8.0 mg/dL); <2.0 - 1.75 (7.0); <1.75 - 1.5 (6.0); <1.5 (6.0).
  // Hyper >ULN - 2.9 (11.5); >2.9 - 3.1 (12.5); >3.1 - 3.4 (13.5); >3.4.
  check({"CA", "mmol/L", {2.1, 2.6, {}}, "Hypocalcemia", {{2.1, 1, 0, 0}, {2.0, 2, 1, 1}, {1.75, 3, 2, 2}, {1.5, 4, 3, 3}}});
  check({"CA", "mg/dL", {8.5, 10.5, {}}, "Hypocalcemia", {{8.0, 2, 1, 1}, {7.0, 3, 2, 2}, {6.0, 4, 3, 3}}});
  check({"CA", "mmol/L", {2.1, 2.6, {}}, "Hypercalcemia", {{2.6, 0, 0, 1}, {2.9, 1, 1, 2}, {3.1, 2, 2, 3}, {3.4, 3, 3, 4}}});
  check({"CA", "mg/dL", {8.5, 10.5, {}}, "Hypercalcemia", {{11.5, 1, 1, 2}, {12.5, 2, 2, 3}, {13.5, 3, 3, 4}}});
  // Ionized calcium: hypo <LLN - 1.0; <1.0 - 0.9; <0.9 - 0.8; <0.8. Hyper >ULN - 1.5; >1.5 - 1.6; >1.6 - 1.8; >1.8 mmol/L.
  check({"CAION", "mmol/L", {1.1, 1.3, {}}, "Hypocalcemia", {{1.0, 2, 1, 1}, {0.9, 3, 2, 2}, {0.8, 4, 3, 3}}});
  check({"CAION", "mmol/L", {1.1, 1.3, {}}, "Hypercalcemia", {{1.3, 0, 0, 1}, {1.5, 1, 1, 2}, {1.6, 2, 2, 3}, {1.8, 3, 3, 4}}});
  // Ionized calcium has SI limits only; in mg/dL the SI limits apply after conversion
  // (1.0 mmol/L = 4.0078 mg/dL).
  check({"CAION", "mg/dL", {4.4, 5.2, {}}, "Hypocalcemia", {{4.0078, 2, 1, 1}}});
  // Magnesium: hypo <LLN - 0.5 (1.2 mg/dL); <0.5 - 0.4 (0.9); <0.4 - 0.3 (0.7); <0.3 (0.7).
  // Hyper >ULN - 1.23 (3.0) G1; >1.23 - 3.30 (8.0) G3; >3.30 G4.
  check({"MG", "mmol/L", {0.7, 1.0, {}}, "Hypomagnesemia", {{0.7, 1, 0, 0}, {0.5, 2, 1, 1}, {0.4, 3, 2, 2}, {0.3, 4, 3, 3}}});
  check({"MG", "mg/dL", {1.7, 2.4, {}}, "Hypomagnesemia", {{1.2, 2, 1, 1}, {0.9, 3, 2, 2}, {0.7, 4, 3, 3}}});
  check({"MG", "mmol/L", {0.7, 1.0, {}}, "Hypermagnesemia", {{1.0, 0, 0, 1}, {1.23, 1, 1, 3}, {3.30, 3, 3, 4}}});
  check({"MG", "mg/dL", {1.7, 2.4, {}}, "Hypermagnesemia", {{3.0, 1, 1, 3}, {8.0, 3, 3, 4}}});
  // Albumin: <LLN - 30 g/L (3 g/dL); <30 - 20 (3 - 2); <20 (2).
  check({"ALB", "g/L", {35.0, 50.0, {}}, "Hypoalbuminemia", {{35, 1, 0, 0}, {30, 2, 1, 1}, {20, 3, 2, 2}}});
  check({"ALB", "g/dL", {3.5, 5.0, {}}, "Hypoalbuminemia", {{3.0, 2, 1, 1}, {2.0, 3, 2, 2}}});
  // pH: acidosis <normal but >=7.3 (G1), <7.3 (G3); alkalosis >normal but <=7.5 (G1), >7.5 (G3).
  check({"PH", "", {7.35, 7.45, {}}, "Acidosis", {{7.35, 1, 0, 0}, {7.3, 3, 1, 1}}});
  check({"PH", "", {7.35, 7.45, {}}, "Alkalosis", {{7.45, 0, 0, 1}, {7.5, 1, 1, 3}}});
}

TEST_CASE("glucose, lipids, urate, phosphate, proteins and TSH", "[grading]") {
  // Hypoglycemia: <LLN - 3.0 (55 mg/dL); <3.0 - 2.2 (55 - 40); <2.2 - 1.7 (40 - 30); <1.7 (30).
  check({"GLUC", "mmol/L", {3.9, 6.1, {}}, "Hypoglycemia", {{3.9, 1, 0, 0}, {3.0, 2, 1, 1}, {2.2, 3, 2, 2}, {1.7, 4, 3, 3}}});
  check({"GLUC", "mg/dL", {70.0, 110.0, {}}, "Hypoglycemia", {{55, 2, 1, 1}, {40, 3, 2, 2}, {30, 4, 3, 3}}});
  // Hyperglycemia is graded by treatment in v5.0: a value above ULN supports grade 1.
  check({"GLUC", "mmol/L", {3.9, 6.1, {}}, "Hyperglycemia", {{6.1, 0, 0, 1}}});
  // Cholesterol high: >ULN - 7.75 (300 mg/dL); >7.75 - 10.34 (400); >10.34 - 12.92 (500); >12.92.
  check({"CHOL", "mmol/L", {2.0, 5.2, {}}, "Cholesterol high", {{5.2, 0, 0, 1}, {7.75, 1, 1, 2}, {10.34, 2, 2, 3}, {12.92, 3, 3, 4}}});
  check({"CHOL", "mg/dL", {80.0, 200.0, {}}, "Cholesterol high", {{300, 1, 1, 2}, {400, 2, 2, 3}, {500, 3, 3, 4}}});
  // Hypertriglyceridemia: 1.71 - 3.42 (150 - 300 mg/dL, inclusive); >3.42 - 5.7; >5.7 - 11.4; >11.4.
  check({"TRIG", "mmol/L", {}, "Hypertriglyceridemia", {{1.71, 0, 1, 1}, {3.42, 1, 1, 2}, {5.7, 2, 2, 3}, {11.4, 3, 3, 4}}});
  check({"TRIG", "mg/dL", {}, "Hypertriglyceridemia", {{150, 0, 1, 1}, {300, 1, 1, 2}, {500, 2, 2, 3}, {1000, 3, 3, 4}}});
  // Hypophosphatemia (treatment-graded): below LLN supports grade 1. Hyperuricemia: >ULN is G1 (G3 with consequences).
  check({"PHOS", "mmol/L", {0.8, 1.5, {}}, "Hypophosphatemia", {{0.8, 1, 0, 0}}});
  check({"PHOS", "mg/dL", {2.5, 4.5, {}}, "Hypophosphatemia", {{2.5, 1, 0, 0}}});
  check({"URATE", "umol/L", {150.0, 420.0, {}}, "Hyperuricemia", {{420, 0, 0, 1}}});
  check({"URATE", "mg/dL", {2.5, 7.0, {}}, "Hyperuricemia", {{7.0, 0, 0, 1}}});
  check({"GLUC", "mg/dL", {70.0, 110.0, {}}, "Hyperglycemia", {{110, 0, 0, 1}}});
  // Fibrinogen decreased, normal baseline: <1.0 - 0.75; <0.75 - 0.5; <0.5 - 0.25; <0.25 x LLN, or <50 mg/dL.
  check({"FIBRINO", "g/L", {2.0, 4.0, 3.0}, "Fibrinogen decreased", {{2.0, 1, 0, 0}, {1.5, 2, 1, 1}, {1.0, 3, 2, 2}, {0.5, 4, 3, 3}}});
  check({"FIBRINO", "mg/dL", {200.0, 400.0, 300.0}, "Fibrinogen decreased", {{150, 2, 1, 1}, {100, 3, 2, 2}, {50, 4, 3, 3}}});
  // Abnormal baseline: <25% decrease; 25 - <50%; 50 - <75%; 75% decrease from baseline (inclusive ends).
  check({"FIBRINO", "g/L", {4.0, 6.0, 3.6}, "Fibrinogen decreased", {{3.6, 1, 0, 0}, {2.7, 2, 2, 1}, {1.8, 3, 3, 2}, {0.9, 4, 4, 3}}});
  // Haptoglobin decreased <LLN; TSH increased >ULN (G1 only).
  check({"HAPTOG", "g/L", {0.3, 2.0, {}}, "Haptoglobin decreased", {{0.3, 1, 0, 0}}});
  check({"HAPTOG", "mg/dL", {30.0, 200.0, {}}, "Haptoglobin decreased", {{30, 1, 0, 0}}});
  check({"TSH", "mIU/L", {0.4, 4.2, {}}, "Thyroid stimulating hormone increased", {{4.2, 0, 0, 1}}});
  // Proteinuria (adult): >=ULN - <1.0 g/24 h; 1.0 - <3.5; >=3.5. Dipstick 1+; 2+ and 3+; 4+.
  check({"PROT24H", "g/24h", {{}, 0.15, {}}, "Proteinuria", {{0.15, 0, 1, 1}, {1.0, 1, 2, 2}, {3.5, 2, 3, 3}}});
  check({"PROT24H", "mg/24h", {{}, 150.0, {}}, "Proteinuria", {{1000, 1, 2, 2}, {3500, 2, 3, 3}}});
  check({"PROTDIP", "", {}, "Proteinuria", {{1, 0, 1, 1}, {2, 1, 2, 2}, {4, 2, 3, 3}}});
}

TEST_CASE("vital signs: blood pressure, temperature and QTc", "[grading]") {
  // Hypertension (adult): SBP 120 - 139 or DBP 80 - 89 (G1); 140 - 159 or 90 - 99 (G2); >=160 or >=100 (G3).
  check({"SYSBP", "mmHg", {}, "Hypertension", {{120, 0, 1, 1}, {140, 1, 2, 2}, {160, 2, 3, 3}}});
  check({"DIABP", "mmHg", {}, "Hypertension", {{80, 0, 1, 1}, {90, 1, 2, 2}, {100, 2, 3, 3}}});
  // Fever: 38.0 - 39.0 C (100.4 - 102.2 F); >39.0 - 40.0 (102.3 - 104.0); >40.0 (>104.0).
  check({"TEMP", "C", {}, "Fever", {{38.0, 0, 1, 1}, {39.0, 1, 1, 2}, {40.0, 2, 2, 3}}});
  check({"TEMP", "F", {}, "Fever", {{100.4, 0, 1, 1}, {102.2, 1, 1, 2}, {104.0, 2, 2, 3}}});
  // QTc: 450 - 480 ms; 481 - 500; >=501 ms or >60 ms change from baseline.
  // (baseline 445: the >60 ms rule starts beyond 505, clear of the absolute limits)
  check({"QTCF", "ms", {{}, {}, 445.0}, "Electrocardiogram QT corrected interval prolonged",
         {{450, 0, 1, 1}, {480, 1, 1, 2}, {500, 2, 2, 3}}});
  check({"QTCF", "ms", {{}, {}, 380.0}, "Electrocardiogram QT corrected interval prolonged", {{440, 0, 0, 3}}});
}

TEST_CASE("multiples of ULN are compared exactly, not in binary floating point", "[grading]") {
  // 200 / 40 is 5.0 x ULN: grade 2, not 3.
  CHECK(gradeOf("ALT", "U/L", {7.0, 40.0, 30.0}, 200, "Alanine aminotransferase increased") == 2);
  // 3.0 x 0.1 is 0.30000000000000004 in binary; 0.3 must count as exactly at the 3.0 x ULN
  // limit and keep grade 2 (>1.5 - 3.0 x ULN).
  CHECK(gradeOf("BILI", "mg/dL", {0.05, 0.1, 0.08}, 0.3, "Blood bilirubin increased") == 2);
  CHECK(gradeOf("BILI", "mg/dL", {0.05, 0.1, 0.08}, 0.30001, "Blood bilirubin increased") == 3);
  // 1.5 x 0.7 = 1.05 (binary 1.0499999999999998).
  CHECK(gradeOf("APTT", "s", {0.5, 0.7, {}}, 1.05, "Activated partial thromboplastin time prolonged") == 1);
}

TEST_CASE("a clinical qualifier raises worst_case_grade, not grade", "[grading]") {
  std::optional<int> worst;
  CHECK(gradeOf("K", "mmol/L", {3.5, 5.1, {}}, 3.2, "Hypokalemia", &worst) == 1);
  CHECK(worst == 2);  // symptomatic; intervention indicated
  CHECK(gradeOf("LIPASE", "U/L", {10.0, 60.0, {}}, 400, "Lipase increased", &worst) == 3);
  CHECK(worst == 4);  // >5.0 x ULN with signs or symptoms
  CHECK(gradeOf("SODIUM", "mmol/L", {135.0, 145.0, {}}, 127, "Hyponatremia", &worst) == 2);
  CHECK(worst == 3);
  CHECK(gradeOf("GLUC", "mmol/L", {3.9, 6.1, {}}, 15, "Hyperglycemia", &worst) == 1);
  CHECK(worst == 3);
  CHECK(gradeOf("TEMP", "C", {}, 40.5, "Fever", &worst) == 3);
  CHECK(worst == 4);
  CHECK(gradeOf("K", "mmol/L", {3.5, 5.1, {}}, 2.8, "Hypokalemia", &worst) == 3);
  CHECK(worst == 3);
}

TEST_CASE("missing inputs give a null grade with the reason, unless an absolute limit decides", "[grading]") {
  const Analyte* hgb = grader().find("HGB");
  auto no_lln = grader().grade(*hgb, "g/L", {110, {}, {}, {}, false}).value();
  CHECK_FALSE(no_lln[0].grade);
  CHECK_THAT(std::string(no_lln[0].reason), Catch::Contains("lower limit of normal"));
  auto decided = grader().grade(*hgb, "g/L", {85, {}, {}, {}, false}).value();
  CHECK(decided[0].grade == 2);  // <100 g/L decides without LLN

  const Analyte* alt = grader().find("ALT");
  auto no_baseline = grader().grade(*alt, "U/L", {250, 7.0, 40.0, {}, false}).value();
  CHECK_FALSE(no_baseline[0].grade);
  CHECK_THAT(std::string(no_baseline[0].reason), Catch::Contains("baseline"));
  auto no_uln = grader().grade(*alt, "U/L", {250, 7.0, {}, 30.0, false}).value();
  CHECK_FALSE(no_uln[0].grade);
  CHECK_THAT(std::string(no_uln[0].reason), Catch::Contains("upper limit of normal"));

  // Without a unit, absolute limits cannot be used.
  auto no_unit = grader().grade(*hgb, "", {85, 120.0, 160.0, {}, false}).value();
  CHECK_FALSE(no_unit[0].grade);
  CHECK_THAT(std::string(no_unit[0].reason), Catch::Contains("unit"));
  // Creatinine far above 6 x ULN is grade 4 whatever the baseline.
  auto creat = grader().grade(*grader().find("CREAT"), "umol/L", {700, 45.0, 100.0, {}, false}).value();
  CHECK(creat[0].grade == 4);
}

TEST_CASE("units convert exactly and an unknown or incompatible unit is an error", "[grading]") {
  // Creatinine in mg/dL is its US conventional unit: US limits, no conversion.
  auto us = grader().prepare(*grader().find("CREAT"), "mg/dL");
  REQUIRE(us.isOk());
  CHECK(us.value().system == UnitSystem::kUs);
  CHECK(us.value().factor == 1.0);
  // Ionized calcium has no US limits: 1 mg/dL = 10 / 40.078 mmol/L.
  auto molar = grader().prepare(*grader().find("CAION"), "mg/dL");
  REQUIRE(molar.isOk());
  CHECK(molar.value().system == UnitSystem::kSi);
  CHECK(molar.value().factor == Approx(10 / 40.078).epsilon(1e-12));
  CHECK(grader().prepare(*grader().find("BILI"), "mmol/L").value().factor == 1000.0);
  CHECK(grader().prepare(*grader().find("GLUC"), "mg/dL").value().system == UnitSystem::kUs);
  CHECK(grader().prepare(*grader().find("PLAT"), "10^3/uL").value().factor == 1.0);
  CHECK(grader().prepare(*grader().find("WBC"), "cells/mm3").value().system == UnitSystem::kUs);
  auto bad = grader().prepare(*grader().find("HGB"), "mmol/L");
  REQUIRE_FALSE(bad.isOk());
  CHECK_THAT(bad.status().message(), Catch::Contains("g/L or g/dL"));
  CHECK_FALSE(grader().prepare(*grader().find("K"), "furlongs").isOk());
  // Ionized calcium has SI limits only; mg/dL converts through the molar mass (4.0 mg/dL = 0.998 mmol/L).
  auto caion = grader().grade(*grader().find("CAION"), "mg/dL", {4.0, 4.4, 5.2, {}, false});
  REQUIRE(caion.isOk());
  CHECK(caion.value()[0].grade == 2);
}

TEST_CASE("units as laboratories write them: case, micro sign and any power of ten, where the analyte decides", "[grading]") {
  struct Spelling {
    const char* test;
    const char* unit;  // as the laboratory sent it
    const char* canonical;
    UnitSystem system;
    double factor;
  };
  const Spelling accepted[] = {
      // "G/L" written so is giga per litre for a count, and grams per litre for a mass.
      {"PLAT", "G/L", "10^9/L", UnitSystem::kSi, 1},
      {"NEUT", "G/L", "10^9/L", UnitSystem::kSi, 1},
      {"HGB", "G/L", "g/L", UnitSystem::kSi, 1},
      {"ALB", "G/L", "g/L", UnitSystem::kSi, 1},
      {"HGB", "G/DL", "g/dL", UnitSystem::kUs, 1},
      {"CREAT", "MG/DL", "mg/dL", UnitSystem::kUs, 1},
      {"K", "Mmol/L", "mmol/L", UnitSystem::kSi, 1},
      {"K", "MMOL/L", "mmol/L", UnitSystem::kSi, 1},
      {"BILI", "\xC2\xB5mol/L", "umol/L", UnitSystem::kSi, 1},  // micro sign
      {"BILI", "\xCE\xBCMOL/L", "umol/L", UnitSystem::kSi, 1},  // Greek mu, capitals
      {"ALT", "iu/L", "U/L", UnitSystem::kSi, 1},
      {"NEUT", "10^9/l", "10^9/L", UnitSystem::kSi, 1},
      {"NEUT", "10 ^ 9 / L", "10^9/L", UnitSystem::kSi, 1},
      // Counts per a power of ten and a volume: n x 10^N per V litres in 10^9/L.
      {"WBC", "10^3/mL", "10^3/mL", UnitSystem::kSi, 1e-3},
      {"WBC", "10^3/uL", "10^3/uL", UnitSystem::kSi, 1},
      {"WBC", "10^6/mL", "10^6/mL", UnitSystem::kSi, 1},
      {"PLAT", "x10E9/l", "10^9/L", UnitSystem::kSi, 1},
      {"PLAT", "10E+12/L", "10^12/L", UnitSystem::kSi, 1e3},
      {"LYM", "/uL", "/uL", UnitSystem::kUs, 1},
      {"LYM", "/mm3", "/uL", UnitSystem::kUs, 1},
      {"LYM", "cells/uL", "/uL", UnitSystem::kUs, 1},
      {"CD4", "CELLS/MM3", "/uL", UnitSystem::kUs, 1},
      {"NEUT", "/L", "/L", UnitSystem::kSi, 1e-9},
  };
  for (const auto& a : accepted) {
    INFO(a.test << " in '" << a.unit << "'");
    auto p = grader().prepare(*grader().find(a.test), a.unit);
    REQUIRE(p.isOk());
    CHECK(p.value().canonical == a.canonical);
    CHECK(p.value().system == a.system);
    CHECK(p.value().factor == Approx(a.factor).epsilon(1e-12));
  }
  // The same neutrophil count in four spellings grades alike: 0.5 x 10^9/L is the grade 3/4 limit.
  for (const char* unit : {"10^9/L", "G/L", "10^3/uL", "10^6/mL"}) {
    INFO(unit);
    CHECK(gradeOf("NEUT", unit, {}, 0.5, "Neutrophil count decreased") == 3);
  }
  CHECK(gradeOf("NEUT", "/uL", {}, 500, "Neutrophil count decreased") == 3);
  CHECK(gradeOf("NEUT", "10^3/mL", {}, 499.999, "Neutrophil count decreased") == 4);

  // Still refused: a unit that does not fit the analyte, whatever its case.
  const std::pair<const char*, const char*> refused[] = {
      {"PLAT", "g/L"},      // a mass for a count: only "G/L" as written is giga per litre
      {"PLAT", "g/l"},      {"PLAT", "mg/dL"},   {"NEUT", "mmol/L"},
      {"CHOL", "umol/L"},   // no laboratory reports cholesterol so: a slip, not a unit
      {"HGB", "10^9/L"},    {"HGB", "10^3/uL"},  // a count for a mass
      {"K", "MG"},          {"WBC", "10^3/furlong"}, {"WBC", "10^/uL"}, {"WBC", "10^123/uL"},
      {"WBC", "100^3/uL"},
  };
  for (const auto& [test, unit] : refused) {
    INFO(test << " in '" << unit << "'");
    CHECK_FALSE(grader().prepare(*grader().find(test), unit).isOk());
  }
  auto count_as_mass = grader().prepare(*grader().find("PLAT"), "g/L");
  REQUIRE_FALSE(count_as_mass.isOk());
  CHECK_THAT(count_as_mass.status().message(), Catch::Contains("does not fit PLAT") && Catch::Contains("10^9/L"));
}

TEST_CASE("analytes are found by LBTESTCD or LOINC and map to each direction's term", "[grading]") {
  CHECK(grader().find("hgb") == grader().find("718-7"));
  CHECK(grader().find("CAION")->criteria[0].term == "Hypocalcemia");
  CHECK_FALSE(grader().find("XYZ"));
  const std::map<std::string, std::vector<std::string>> pairs = {
      {"HGB", {"Anemia", "Hemoglobin increased"}},
      {"K", {"Hypokalemia", "Hyperkalemia"}},
      {"WBC", {"White blood cell decreased", "Leukocytosis"}},
      {"LYM", {"Lymphocyte count decreased", "Lymphocyte count increased"}},
      {"SODIUM", {"Hyponatremia", "Hypernatremia"}},
      {"GLUC", {"Hypoglycemia", "Hyperglycemia"}}};
  for (const auto& [code, terms] : pairs) {
    std::vector<std::string> got;
    for (const auto& c : grader().find(code)->criteria) got.push_back(c.term);
    CHECK(got == terms);
  }
  // Every analyte the issue names is present.
  for (const char* code : {"HGB", "WBC", "NEUT", "LYM", "PLAT", "ALT", "AST", "ALP", "GGT", "BILI", "CREAT", "K",
                           "SODIUM", "CA", "CAION", "MG", "GLUC", "ALB", "INR", "APTT", "LIPASE", "AMYLASE", "CK",
                           "CHOL", "TRIG", "PHOS", "URATE", "FIBRINO", "LDH", "CD4", "HAPTOG", "PH", "TSH",
                           "PROT24H", "PROTDIP"})
    CHECK(grader().find(code));
}

// Physically impossible values (ctcae/plausibility.json, issue 14). The figures below are typed
// here from the table's stated bounds, in both unit systems and through a conversion.
TEST_CASE("impossible values are named with their limit, possible ones at the limit pass", "[grading]") {
  auto check = [](const char* test, const char* unit, double value) {
    const Analyte* a = grader().find(test);
    REQUIRE(a);
    auto p = grader().prepare(*a, unit);
    REQUIRE(p.isOk());
    return grader().implausible(*a, p.value(), value);
  };
  CHECK(check("ALT", "U/L", 0).empty());
  CHECK(check("ALT", "U/L", 100000).empty());
  CHECK_FALSE(check("ALT", "U/L", 100000.5).empty());
  CHECK(check("ALT", "U/L", 1e12).find("cannot be above 100000 U/L") != std::string::npos);
  CHECK(check("ALT", "U/L", -5).find("cannot be below 0 U/L") != std::string::npos);
  CHECK(check("HGB", "g/L", 0).find("must be above 0 g/L") != std::string::npos);
  CHECK(check("HGB", "g/L", 0.1).empty());
  CHECK(check("HGB", "g/L", 250).empty());
  CHECK_FALSE(check("HGB", "g/L", 250.1).empty());
  CHECK(check("HGB", "g/dL", 25).empty());
  CHECK(check("HGB", "g/dL", 25.01).find("25 g/dL") != std::string::npos);
  CHECK(check("K", "mmol/L", -3).find("cannot be below 0.5 mmol/L") != std::string::npos);
  CHECK_FALSE(check("K", "mmol/L", 0.49).empty());
  CHECK(check("K", "mmol/L", 0.5).empty());
  CHECK(check("K", "mmol/L", 15).empty());
  CHECK_FALSE(check("K", "mmol/L", 15.01).empty());
  CHECK(check("BILI", "mg/dL", 100).empty());
  CHECK_FALSE(check("BILI", "mg/dL", 100.1).empty());
  CHECK(check("BILI", "umol/L", 1710).empty());
  CHECK_FALSE(check("BILI", "umol/L", 1711).empty());
  // 10^3/uL converts to 10^9/L by a factor of 1; /uL is the US system.
  CHECK(check("PLAT", "10^3/uL", 5000).empty());
  CHECK(check("PLAT", "10^3/uL", 5001).find("cannot be above 5000 10^9/L") != std::string::npos);
  CHECK(check("HGB", "mg/dL", 25001).find("after conversion") != std::string::npos);  // 25,001 mg/dL = 250.01 g/L
  CHECK(check("WBC", "/uL", 1000000).empty());
  CHECK_FALSE(check("WBC", "/uL", 1000001).empty());
  CHECK(check("NEUT", "10^9/L", 0).empty());  // 0 occurs: aplasia
  CHECK_FALSE(check("NEUT", "10^9/L", -0.01).empty());
}

TEST_CASE("every analyte has a plausible range: each end passes and just past it is refused", "[grading]") {
  for (const Analyte& a : grader().analytes()) {
    for (int s = 0; s < 2; ++s) {
      if (s == 1 && a.us_unit.empty()) continue;
      const PreparedUnit unit{static_cast<UnitSystem>(s), 1, {}};
      const double lo = a.plausible.lo[s], hi = a.plausible.hi[s];
      const double step = (hi - lo) * 1e-6;
      INFO(a.code << " system " << s << " [" << lo << ", " << hi << "]");
      CHECK(lo < hi);
      CHECK_FALSE(a.plausible.why.empty());
      CHECK(grader().implausible(a, unit, hi).empty());
      CHECK_FALSE(grader().implausible(a, unit, hi + step).empty());
      CHECK_FALSE(grader().implausible(a, unit, lo - step).empty());
      CHECK(grader().implausible(a, unit, lo + step).empty());
      CHECK(grader().implausible(a, unit, lo).empty() == !a.plausible.above_zero);
    }
  }
}

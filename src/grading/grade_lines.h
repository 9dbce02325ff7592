#pragma once
// The `vigilctl grade` contract: one JSON object per input line, one JSON line out per input
// line, in order.
//   in:  {"id":"r1","test":"K","value":2.8,"unit":"mmol/L","lln":3.5,"uln":5.1,"baseline":4.0}
//   out: {"id":"r1","results":[{"term":"Hypokalemia","grade":3,"worst_case_grade":3},
//                              {"term":"Hyperkalemia","grade":0,"worst_case_grade":0}]}
// unit, lln, uln and baseline may be absent or null; "on_anticoagulation":true selects the
// anticoagulated branch of INR increased. Without a baseline, a criterion that needs one is graded
// as if it were normal (the midpoint of lln and uln) and says "baseline_assumed":"normal"; its
// worst_case_grade is the abnormal-baseline reading where that is higher. An undecidable result
// (no uln, say) has "grade":null and a
// "reason"; a result whose worst_case_grade exceeds grade names the "qualifier". A malformed
// line gets {"id":...,"error":"..."} and the next lines go on. Blank lines are skipped.
//
// Lines are read with nlohmann's SAX interface (a strict JSON lexer, no document built) and the
// answers written by hand: a million lines must grade in under 3 seconds.

#include <cstdio>
#include <istream>
#include <string>
#include <string_view>

#include "grading/lab_grader.h"

namespace vigil::grading {

// Grades one line, appending the answer (with its newline) to out.
void gradeLine(const LabGrader& grader, std::string_view line, std::string& out);

// Reads lines from in until EOF, writing answers to out (flushed in blocks). Returns the
// number of lines answered.
size_t gradeLines(const LabGrader& grader, std::FILE* in, std::FILE* out);

}  // namespace vigil::grading

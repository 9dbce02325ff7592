#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "grading/grade_lines.h"
#include "support/temp_dir.h"

using namespace vigil::grading;
using nlohmann::json;

namespace {
const LabGrader& grader() {
  static const LabGrader g = std::move(LabGrader::load(VIGIL_SOURCE_DIR "/ctcae").value());
  return g;
}
std::string answer(const std::string& line) {
  std::string out;
  gradeLine(grader(), line, out);
  return out;
}
}  // namespace

TEST_CASE("vigilctl grade answers the documented example exactly", "[grading]") {
  CHECK(answer(R"({"id":"r1","test":"K","value":2.8,"unit":"mmol/L","lln":3.5,"uln":5.1,"baseline":4.0})") ==
        "{\"id\":\"r1\",\"results\":[{\"term\":\"Hypokalemia\",\"grade\":3,\"worst_case_grade\":3},"
        "{\"term\":\"Hyperkalemia\",\"grade\":0,\"worst_case_grade\":0}]}\n");
}

TEST_CASE("grade lines: nulls carry a reason, qualifiers are named, ids echo as given", "[grading]") {
  auto null_line = json::parse(answer(R"({"id":7,"test":"ALT","value":250,"unit":"U/L"})"));
  CHECK(null_line["id"] == 7);
  CHECK(null_line["results"][0]["grade"].is_null());
  CHECK(null_line["results"][0]["reason"].get<std::string>().find("upper limit of normal (uln)") != std::string::npos);
  auto qualified = json::parse(answer(R"({"id":"q","test":"K","value":3.2,"unit":"mmol/L","lln":3.5,"uln":5.1})"));
  CHECK(qualified["results"][0]["worst_case_grade"] == 2);
  CHECK(qualified["results"][0]["qualifier"] == "symptomatic; intervention indicated");
  auto inr = json::parse(answer(R"({"id":"i","test":"INR","value":2.0,"baseline":1.0,"on_anticoagulation":true})"));
  CHECK(inr["results"][0]["grade"] == 2);
  auto not_anticoagulated = json::parse(answer(R"({"id":"i","test":"INR","value":2.0,"baseline":1.0})"));
  CHECK(not_anticoagulated["results"][0]["grade"] == 2);  // >1.5 - 2.5 absolute
  auto escaped = json::parse(answer(R"({"id":"a\"b","test":"TSH","value":5,"unit":"mIU/L","uln":4.2})"));
  CHECK(escaped["id"] == "a\"b");
}

TEST_CASE("grade lines: a malformed line gets an error and names its id where it can", "[grading]") {
  auto unknown = json::parse(answer(R"({"id":"x","test":"FOO","value":1})"));
  CHECK(unknown["id"] == "x");
  CHECK(unknown["error"].get<std::string>().find("unknown test") != std::string::npos);
  CHECK(json::parse(answer("not json"))["error"].is_string());
  CHECK(json::parse(answer(R"({"id":"u","test":"HGB","value":9,"unit":"mg"})"))["error"].is_string());
  CHECK(json::parse(answer(R"({"id":"v","test":"HGB"})"))["error"] == "value is required");
  CHECK(json::parse(answer(R"({"id":"w","test":"HGB","value":"9"})"))["error"].is_string());
  CHECK(json::parse(answer(R"({"id":"n","test":"HGB","value":9,"nested":{"a":1}})"))["error"].is_string());
}

TEST_CASE("grade lines: what strict JSON refuses is an error and every answer is valid JSON", "[grading]") {
  // Each was accepted by the hand-written reader and echoed as invalid JSON.
  for (const std::string line : {R"({"id":-abc,"test":"HGB","value":9,"unit":"g/dL"})",
                                 R"({"id":"a\q","test":"HGB","value":9,"unit":"g/dL"})",
                                 R"({"id":01,"test":"HGB","value":9,"unit":"g/dL"})",
                                 R"({"id":1.,"test":"HGB","value":9,"unit":"g/dL"})",
                                 R"({"id":"r","test":"HGB","value":01,"unit":"g/dL"})",
                                 R"({"id":"r","test":"HGB","value":9.,"unit":"g/dL"})",
                                 R"({"id":"r","test":"HGB","value":1e999,"unit":"g/dL"})",
                                 R"({"id":"r","test":"HGB","value":9,"value":10,"unit":"g/dL"})",
                                 R"({"id":"r","test":"HGB","value":9,"unit":"g/dL"} trailing)",
                                 R"([{"id":"r"}])", R"("just a string")", "{\"id\":\"r\",\"test\":\"HGB\""}) {
    const std::string out = answer(line);
    INFO(line << " -> " << out);
    REQUIRE(json::accept(out));
    CHECK(json::parse(out)["error"].is_string());
  }
  CHECK(json::parse(answer(R"({"id":"r","test":"HGB","value":9,"value":10})"))["error"] ==
        "member 'value' appears more than once");
  CHECK(json::parse(answer(R"({"id":"r","test":"HGB","value":1e999})"))["error"] ==
        "member 'value' is a number out of range");
  // Escapes are read and written back correctly, numbers echo as given.
  auto unicode = json::parse(answer(R"({"id":"caf\u00e9 \\ \"x\"","test":"HGB","value":9,"unit":"g/dL"})"));
  CHECK(unicode["id"] == "caf\u00e9 \\ \"x\"");
  CHECK(answer(R"({"id":-1.5e3,"test":"HGB","value":9,"unit":"g/dL"})").rfind("{\"id\":-1.5e3,", 0) == 0);
  CHECK(answer(R"({"id":18446744073709551615,"test":"HGB","value":9,"unit":"g/dL"})")
            .rfind("{\"id\":18446744073709551615,", 0) == 0);
  // A test name with an escape is still the name it spells.
  CHECK(json::parse(answer(R"({"id":"e","test":"H\u0047B","value":9,"unit":"g/dL","lln":12})"))["results"].is_array());
}

TEST_CASE("grade lines: the stream keeps order and skips blank lines", "[grading]") {
  std::string input =
      "{\"id\":1,\"test\":\"PLAT\",\"value\":74,\"unit\":\"10^9/L\",\"lln\":150}\n\n"
      "oops\r\n"
      "{\"id\":3,\"test\":\"PLAT\",\"value\":75,\"unit\":\"10^9/L\",\"lln\":150}";
  std::FILE* in = fmemopen(input.data(), input.size(), "r");
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buf, &size);
  CHECK(gradeLines(grader(), in, out) == 3);
  std::fclose(in);
  std::fclose(out);
  std::string text(buf, size);
  free(buf);
  std::vector<json> lines;
  size_t start = 0, nl;
  while ((nl = text.find('\n', start)) != std::string::npos) {
    lines.push_back(json::parse(text.substr(start, nl - start)));
    start = nl + 1;
  }
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["results"][0]["grade"] == 2);
  CHECK(lines[1]["error"].is_string());
  CHECK(lines[2]["results"][0]["grade"] == 1);  // 75 exactly keeps grade 1
}

TEST_CASE("grade lines: a physically impossible value is an error naming the limit", "[grading]") {
  auto huge = json::parse(answer(R"({"id":"h","test":"ALT","value":1e12,"unit":"U/L","uln":40})"));
  CHECK(huge["id"] == "h");
  CHECK_FALSE(huge.contains("results"));
  CHECK(huge["error"].get<std::string>().find("cannot be above 100000 U/L") != std::string::npos);
  auto at_limit = json::parse(answer(R"({"id":"l","test":"ALT","value":100000,"unit":"U/L","uln":40})"));
  CHECK_FALSE(at_limit.contains("error"));
  CHECK(at_limit["results"].size() == 1);
}

TEST_CASE("grade lines: without a baseline ALT and creatinine are graded with it taken as normal and say so", "[grading]") {
  auto result = [](const std::string& line) { return json::parse(answer(line))["results"][0]; };
  // ALT (ULN 40): 3.0 x ULN is still grade 1, just above it grade 2 (baseline-normal bands).
  const auto at3 = result(R"({"test":"ALT","value":120,"unit":"U/L","uln":40})");
  CHECK(at3["grade"] == 1);
  CHECK(at3["baseline_assumed"] == "normal");
  CHECK(result(R"({"test":"ALT","value":119.9,"unit":"U/L","uln":40})")["grade"] == 1);
  CHECK(result(R"({"test":"ALT","value":120.1,"unit":"U/L","uln":40})")["grade"] == 2);
  const auto alt = result(R"({"test":"ALT","value":130,"unit":"U/L","uln":40})");  // 3.25 x ULN: null before
  CHECK(alt["grade"] == 2);
  CHECK(alt["worst_case_grade"] == 2);  // an abnormal baseline (> ULN) can only make it milder
  CHECK(alt["baseline_assumed"] == "normal");
  CHECK_FALSE(alt.contains("reason"));
  // Creatinine 1.5 x ULN: the baseline taken as normal is the middle of the range given (or the ULN alone).
  const auto creat_uln = result(R"({"test":"CREAT","value":150,"unit":"umol/L","uln":100})");
  CHECK(creat_uln["grade"] == 1);  // 1.5 x ULN and 1.5 x the ULN as baseline: neither above 1.5
  CHECK(creat_uln["baseline_assumed"] == "normal");
  CHECK(result(R"({"test":"CREAT","value":150.1,"unit":"umol/L","uln":100})")["grade"] == 2);
  CHECK(result(R"({"test":"CREAT","value":150,"unit":"umol/L","lln":60,"uln":100})")["grade"] == 2);  // 1.875 x 80
  // A baseline given is used as given, and nothing is assumed.
  const auto given = result(R"({"test":"ALT","value":130,"unit":"U/L","uln":40,"baseline":60})");
  CHECK(given["grade"] == 1);  // abnormal baseline: 2.17 x baseline
  CHECK_FALSE(given.contains("baseline_assumed"));
  // A test whose criteria need no baseline is not marked.
  CHECK_FALSE(result(R"({"test":"K","value":2.8,"unit":"mmol/L","lln":3.5,"uln":5.1})").contains("baseline_assumed"));
}

TEST_CASE("grade lines: the abnormal-baseline reading raises worst_case_grade where it is higher", "[grading]") {
  // The real ALT bands never grade an abnormal baseline higher, so a copy of ctcae/ whose
  // abnormal-baseline ALT grade 2 starts above 2 x baseline shows the rule itself.
  vigil::test::TempDir dir;
  std::filesystem::copy(VIGIL_SOURCE_DIR "/ctcae", dir.path(), std::filesystem::copy_options::recursive);
  const std::string file = dir.file("lab_criteria.json");
  json criteria;
  std::ifstream(file) >> criteria;
  for (auto& a : criteria["analytes"])
    if (a["code"] == "ALT")
      for (auto& s : a["criteria"][0]["scales"])
        if (s["when"] == "baseline_abnormal") s["bands"][1]["limit"]["baseline"] = 2.0;
  std::ofstream(file, std::ios::trunc) << criteria.dump();
  auto modified = LabGrader::load(dir.path());
  REQUIRE(modified.isOk());
  std::string out;
  gradeLine(modified.value(), R"({"test":"ALT","value":100,"unit":"U/L","uln":40})", out);  // 2.5 x ULN
  const auto r = json::parse(out)["results"][0];
  CHECK(r["grade"] == 1);
  CHECK(r["worst_case_grade"] == 2);
  CHECK(r["qualifier"] == "if the baseline was abnormal");
  CHECK(r["baseline_assumed"] == "normal");
  out.clear();
  gradeLine(modified.value(), R"({"test":"ALT","value":80,"unit":"U/L","uln":40})", out);  // exactly 2 x ULN
  const auto at2 = json::parse(out)["results"][0];  // 80 is just under 2 x any baseline above the ULN
  CHECK(at2["worst_case_grade"] == 1);
  CHECK_FALSE(at2.contains("qualifier"));
}

// `vigilctl grade` lines: whatever the line, the answer is exactly one line of valid JSON that
// carries either results or an error.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "grading/grade_lines.h"

using namespace vigil;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const grading::LabGrader* grader = [] {
    auto g = grading::LabGrader::load(VIGIL_SOURCE_DIR "/ctcae");
    if (!g.isOk()) std::abort();
    return new grading::LabGrader(std::move(g.value()));
  }();
  std::string_view line(reinterpret_cast<const char*>(data), size);
  if (line.find('\n') != std::string_view::npos) line = line.substr(0, line.find('\n'));  // one line, as gradeLines cuts
  std::string out;
  grading::gradeLine(*grader, line, out);
  if (out.empty() || out.back() != '\n' || out.find('\n') != out.size() - 1) std::abort();
  const auto answer = nlohmann::json::parse(out, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) std::abort();
  if (!answer.contains("results") && !answer.contains("error")) std::abort();
  return 0;
}

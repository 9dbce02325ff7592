#include "grading/grade_lines.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <optional>
#include <vector>

#include "core/json_text.h"

namespace vigil::grading {
namespace {

using json = nlohmann::json;

// A member's value, as the SAX reader delivered it.
struct Token {
  enum Kind { kNone, kString, kInteger, kFloat, kTrue, kFalse, kNull } kind = kNone;
  std::string text;  // strings: unescaped; numbers: as written (valid JSON, checked by the lexer)
  double number = 0;
};

// Reads one line with nlohmann's SAX interface (a strict JSON lexer: `-abc`, `"a\q"`, `01` and
// `1.` are errors) and accepts only a flat object. A plain struct, not json_sax<>, so the calls
// are not virtual. Members are handed to visit(key, token) as they come.
template <typename Visit>
class LineReader {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  explicit LineReader(Visit& visit) : visit_(visit) {}

  bool parse(std::string_view line) {
    const bool ok = json::sax_parse(line.begin(), line.end(), this, json::input_format_t::json, true);
    if (!ok && error_.empty()) error_ = "the line is not a complete JSON object";
    return ok && error_.empty();
  }
  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  const std::string& error() const { return error_; }

  bool null() { return value(Token{Token::kNull, {}, 0}); }
  bool boolean(bool v) { return value(Token{v ? Token::kTrue : Token::kFalse, {}, 0}); }
  bool number_integer(number_integer_t v) {
    return value(Token{Token::kInteger, std::to_string(v), static_cast<double>(v)});
  }
  bool number_unsigned(number_unsigned_t v) {
    return value(Token{Token::kInteger, std::to_string(v), static_cast<double>(v)});
  }
  bool number_float(number_float_t v, const string_t& raw) { return value(Token{Token::kFloat, raw, v}); }
  bool string(string_t& v) { return value(Token{Token::kString, std::move(v), 0}); }
  bool binary(binary_t&) { return fail("binary values are not accepted"); }
  bool start_object(std::size_t) {
    if (depth_++ > 0) return fail("nested objects and arrays are not accepted");
    return true;
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    return fail(depth_ == 0 ? "a line must be a JSON object" : "nested objects and arrays are not accepted");
  }
  bool end_array() { return true; }
  bool key(string_t& k) {
    for (const auto& seen : keys_)
      if (seen == k) return fail("member '" + k + "' appears more than once");
    keys_.push_back(k);
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    if (ex.id == 406) return fail("member '" + key_ + "' is a number out of range");
    return fail("the line is not valid JSON (at byte " + std::to_string(position) + ")");
  }

 private:
  bool value(Token&& t) {
    if (depth_ == 0) return fail("a line must be a JSON object");
    return visit_(key_, t) || fail("invalid member '" + key_ + "'");
  }

  Visit& visit_;
  int depth_ = 0;
  std::string key_;
  std::vector<std::string> keys_;
  std::string error_;
};

void appendGrade(std::string& out, const std::optional<int>& g) {
  if (g) out += static_cast<char>('0' + *g);
  else out += "null";
}

}  // namespace

void gradeLine(const LabGrader& grader, std::string_view line, std::string& out) {
  Token id;
  std::string test, unit;
  LabInput input;
  bool has_value = false;
  std::string problem;
  std::string member_error;  // the first member problem, reported instead of the generic one

  auto visit = [&](const std::string& key, Token& t) {
    auto bad = [&](std::string message) {
      if (member_error.empty()) member_error = std::move(message);
      return false;
    };
    auto num = [&](std::optional<double>& slot) {
      if (t.kind == Token::kNull) return true;
      if (t.kind != Token::kInteger && t.kind != Token::kFloat) return bad(key + " must be a number");
      slot = t.number;
      return true;
    };
    if (key == "id") {
      if (t.kind != Token::kString && t.kind != Token::kInteger && t.kind != Token::kFloat && t.kind != Token::kNull)
        return bad("id must be a string or a number");
      id = std::move(t);
      return true;
    }
    if (key == "test") {
      if (t.kind != Token::kString) return bad("test must be a string");
      test = std::move(t.text);
      return true;
    }
    if (key == "value") {
      if (t.kind != Token::kInteger && t.kind != Token::kFloat) return bad("value must be a number");
      input.value = t.number;
      has_value = true;
      return true;
    }
    if (key == "unit") {
      if (t.kind == Token::kNull) return true;
      if (t.kind != Token::kString) return bad("unit must be a string");
      unit = std::move(t.text);
      return true;
    }
    if (key == "lln") return num(input.lln);
    if (key == "uln") return num(input.uln);
    if (key == "baseline") return num(input.baseline);
    if (key == "on_anticoagulation") {
      if (t.kind != Token::kTrue && t.kind != Token::kFalse && t.kind != Token::kNull)
        return bad("on_anticoagulation must be true or false");
      input.on_anticoagulation = t.kind == Token::kTrue;
      return true;
    }
    return bad("unknown member '" + key + "'");
  };
  LineReader<decltype(visit)> reader(visit);
  const bool ok = reader.parse(line);

  // The id echoes as valid JSON: a string re-escaped, a number as the lexer accepted it.
  out += "{\"id\":";
  if (id.kind == Token::kString) {
    out += '"';
    core::appendJsonEscaped(out, id.text);
    out += '"';
  } else if (id.kind == Token::kInteger || id.kind == Token::kFloat) {
    out += id.text;
  } else {
    out += "null";
  }

  if (!ok) problem = member_error.empty() ? reader.error() : member_error;
  else if (test.empty()) problem = "test is required";
  else if (!has_value) problem = "value is required";
  const Analyte* analyte = problem.empty() ? grader.find(test) : nullptr;
  if (problem.empty() && !analyte) problem = "unknown test '" + test + "'";
  std::optional<PreparedUnit> prepared;
  if (problem.empty()) {
    auto p = grader.prepare(*analyte, unit);
    if (p.isOk()) prepared = p.value();
    else problem = p.status().message();
  }
  if (problem.empty()) {
    problem = grader.implausible(*analyte, *prepared, input.value);
    if (!problem.empty()) problem = "value " + problem;
  }
  if (!problem.empty()) {
    out += ",\"error\":\"";
    core::appendJsonEscaped(out, problem);
    out += "\"}\n";
    return;
  }

  TermGrade results[kMaxCriteriaPerAnalyte];
  const size_t n = analyte->criteria.size();
  grader.gradeAssumingNormalBaseline(*analyte, *prepared, input, results);
  out += ",\"results\":[";
  for (size_t i = 0; i < n; ++i) {
    const TermGrade& r = results[i];
    if (i) out += ',';
    out += "{\"term\":\"";
    core::appendJsonEscaped(out, r.criterion->term);
    out += "\",\"grade\":";
    appendGrade(out, r.grade);
    out += ",\"worst_case_grade\":";
    appendGrade(out, r.worst_case_grade);
    if (r.baseline_assumed) out += ",\"baseline_assumed\":\"normal\"";
    if (!r.grade) {
      out += ",\"reason\":\"";
      core::appendJsonEscaped(out, r.reason);
      out += '"';
    } else if (!r.qualifier.empty()) {
      out += ",\"qualifier\":\"";
      core::appendJsonEscaped(out, r.qualifier);
      out += '"';
    }
    out += '}';
  }
  out += "]}\n";
}

size_t gradeLines(const LabGrader& grader, std::FILE* in, std::FILE* out) {
  std::string buffer;
  buffer.reserve(1 << 20);
  std::vector<char> chunk(1 << 16);
  std::string pending;
  size_t lines = 0;
  auto handle = [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;
    gradeLine(grader, line, buffer);
    ++lines;
    if (buffer.size() > (1 << 20) - 4096) {
      std::fwrite(buffer.data(), 1, buffer.size(), out);
      buffer.clear();
    }
  };
  size_t n = 0;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), in)) > 0) {
    std::string_view data(chunk.data(), n);
    size_t start = 0;
    for (;;) {
      const size_t nl = data.find('\n', start);
      if (nl == std::string_view::npos) {
        pending.append(data.substr(start));
        break;
      }
      if (pending.empty()) {
        handle(data.substr(start, nl - start));
      } else {
        pending.append(data.substr(start, nl - start));
        handle(pending);
        pending.clear();
      }
      start = nl + 1;
    }
  }
  if (!pending.empty()) handle(pending);
  std::fwrite(buffer.data(), 1, buffer.size(), out);
  std::fflush(out);
  return lines;
}

}  // namespace vigil::grading

#include "grading/grade_lines.h"

#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "core/json_text.h"

namespace vigil::grading {
namespace {

// A value of the flat input object: the raw JSON text of strings is kept unescaped where that
// is possible without allocation.
struct Token {
  enum Kind { kNone, kString, kNumber, kTrue, kFalse, kNull } kind = kNone;
  std::string_view raw;  // as written (strings without quotes, escapes left as-is)
  bool escaped = false;  // the string contained a backslash
};

class LineReader {
 public:
  explicit LineReader(std::string_view s) : s_(s) {}

  // Parses {"key": value, ...}; calls visit(key, token) per member. False with error_ set on
  // malformed input or a nested value.
  template <typename Visit>
  bool parse(Visit&& visit) {
    skip();
    if (!eat('{')) return fail("a line must be a JSON object");
    skip();
    if (eat('}')) return end();
    for (;;) {
      skip();
      Token key;
      if (!string(key)) return fail("expected a quoted member name");
      skip();
      if (!eat(':')) return fail("expected ':' after a member name");
      skip();
      Token value;
      if (!scalar(value)) return false;
      if (!visit(key.raw, value)) return false;
      skip();
      if (eat(',')) continue;
      if (eat('}')) return end();
      return fail("expected ',' or '}'");
    }
  }
  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  bool end() {
    skip();
    return pos_ == s_.size() ? true : fail("unexpected text after the object");
  }
  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool string(Token& t) {
    if (!eat('"')) return false;
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (static_cast<unsigned char>(s_[pos_]) < 0x20) return false;
      if (s_[pos_] == '\\') {
        t.escaped = true;
        ++pos_;
      }
      ++pos_;
    }
    if (pos_ >= s_.size()) return false;
    t.kind = Token::kString;
    t.raw = s_.substr(start, pos_ - start);
    ++pos_;
    return true;
  }
  bool scalar(Token& t) {
    if (pos_ >= s_.size()) return fail("a member has no value");
    const char c = s_[pos_];
    if (c == '"') return string(t) || fail("unterminated string");
    if (c == '{' || c == '[') return fail("nested objects and arrays are not accepted");
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' && s_[pos_] != ' ' && s_[pos_] != '\t') ++pos_;
    t.raw = s_.substr(start, pos_ - start);
    if (t.raw == "true") t.kind = Token::kTrue;
    else if (t.raw == "false") t.kind = Token::kFalse;
    else if (t.raw == "null") t.kind = Token::kNull;
    else if (!t.raw.empty() && (t.raw[0] == '-' || (t.raw[0] >= '0' && t.raw[0] <= '9'))) t.kind = Token::kNumber;
    else return fail("unexpected value '" + std::string(t.raw) + "'");
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

std::optional<double> number(const Token& t) {
  double d = 0;
  const char* end = t.raw.data() + t.raw.size();
  auto [ptr, ec] = std::from_chars(t.raw.data(), end, d);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return d;
}

void appendGrade(std::string& out, const std::optional<int>& g) {
  if (g) out += static_cast<char>('0' + *g);
  else out += "null";
}

}  // namespace

void gradeLine(const LabGrader& grader, std::string_view line, std::string& out) {
  LineReader reader(line);
  std::string_view id_raw;
  Token::Kind id_kind = Token::kNone;
  std::string_view test, unit;
  LabInput input;
  bool has_value = false;
  std::string problem;

  const bool ok = reader.parse([&](std::string_view key, const Token& t) {
    auto num = [&](std::optional<double>& slot) {
      if (t.kind == Token::kNull) return true;
      auto d = t.kind == Token::kNumber ? number(t) : std::nullopt;
      if (!d) return reader.fail(std::string(key) + " must be a number");
      slot = d;
      return true;
    };
    if (key == "id") {
      id_raw = t.raw;
      id_kind = t.kind;
      return true;
    }
    if (key == "test") {
      if (t.kind != Token::kString || t.escaped) return reader.fail("test must be a plain string");
      test = t.raw;
      return true;
    }
    if (key == "value") {
      std::optional<double> v;
      if (t.kind == Token::kNull || !num(v) || !v) return reader.fail("value must be a number");
      input.value = *v;
      has_value = true;
      return true;
    }
    if (key == "unit") {
      if (t.kind == Token::kNull) return true;
      if (t.kind != Token::kString || t.escaped) return reader.fail("unit must be a plain string");
      unit = t.raw;
      return true;
    }
    if (key == "lln") return num(input.lln);
    if (key == "uln") return num(input.uln);
    if (key == "baseline") return num(input.baseline);
    if (key == "on_anticoagulation") {
      if (t.kind != Token::kTrue && t.kind != Token::kFalse && t.kind != Token::kNull)
        return reader.fail("on_anticoagulation must be true or false");
      input.on_anticoagulation = t.kind == Token::kTrue;
      return true;
    }
    return reader.fail("unknown member '" + std::string(key) + "'");
  });

  out += "{\"id\":";
  if (id_kind == Token::kString) {
    out += '"';
    out.append(id_raw);  // escapes were valid JSON and are kept as written
    out += '"';
  } else if (id_kind == Token::kNumber) {
    out.append(id_raw);
  } else {
    out += "null";
  }

  if (!ok) problem = reader.error();
  else if (test.empty()) problem = "test is required";
  else if (!has_value) problem = "value is required";
  const Analyte* analyte = problem.empty() ? grader.find(test) : nullptr;
  if (problem.empty() && !analyte) problem = "unknown test '" + std::string(test) + "'";
  std::optional<PreparedUnit> prepared;
  if (problem.empty()) {
    auto p = grader.prepare(*analyte, unit);
    if (p.isOk()) prepared = p.value();
    else problem = p.status().message();
  }
  if (!problem.empty()) {
    out += ",\"error\":\"";
    core::appendJsonEscaped(out, problem);
    out += "\"}\n";
    return;
  }

  TermGrade results[kMaxCriteriaPerAnalyte];
  const size_t n = analyte->criteria.size();
  grader.grade(*analyte, *prepared, input, results);
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

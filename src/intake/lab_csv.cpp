#include "intake/lab_csv.h"

#include <charconv>
#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::intake {
namespace {

using nlohmann::json;

struct Column {
  const char* csv;
  const char* field;
  bool required;
  bool number;
};
constexpr Column kColumns[] = {
    {"USUBJID", "study_id", true, false},  {"LBTESTCD", "test", true, false},     {"LBORRES", "value", true, true},
    {"LBORRESU", "unit", true, false},     {"LBORNRLO", "lln", false, true},      {"LBORNRHI", "uln", false, true},
    {"LBDTC", "collected_at", true, false}, {"LBSPEC", "specimen", false, false},
};

// Splits the text into records of fields; `lines` gets each record's first line number.
bool parse(std::string_view text, std::vector<std::vector<std::string>>& records, std::vector<size_t>& lines,
           std::vector<core::FieldError>& errors) {
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false, after_quote = false;
  size_t line = 1, record_line = 1;
  auto endField = [&] {
    record.push_back(std::move(field));
    field.clear();
    field_started = after_quote = false;
  };
  auto endRecord = [&] {
    endField();
    // A blank line (one empty field) is skipped.
    if (!(record.size() == 1 && record[0].empty())) {
      records.push_back(std::move(record));
      lines.push_back(record_line);
    }
    record.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
          after_quote = true;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == ',') {
      endField();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;
    } else if (c == '\n') {
      endRecord();
      record_line = ++line;
    } else if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (after_quote) {
      errors.push_back({"line " + std::to_string(line), "text after a closing quote"});
      return false;
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) {
    errors.push_back({"line " + std::to_string(record_line), "a quoted field is not closed"});
    return false;
  }
  if (field_started || !record.empty()) endRecord();
  return true;
}

std::optional<double> number(const std::string& s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

}  // namespace

core::Result<json> labsFromCsv(std::string_view text, size_t max_rows, std::vector<size_t>& row_lines) {
  std::vector<core::FieldError> errors;
  std::vector<std::vector<std::string>> records;
  std::vector<size_t> lines;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte-order mark
  if (!parse(text, records, lines, errors)) return core::Status::invalid("the CSV cannot be read", errors);
  if (records.empty()) return core::Status::invalid("empty CSV", {{"(body)", "needs a header line and at least one row"}});
  // The header: each column known, once.
  std::vector<const Column*> columns;
  std::map<std::string, size_t> seen;
  for (const auto& name : records[0]) {
    const Column* col = nullptr;
    for (const auto& c : kColumns)
      if (name == c.csv) col = &c;
    if (!col) errors.push_back({"columns." + name, "is not a known column (USUBJID, LBTESTCD, LBORRES, LBORRESU, "
                                                    "LBORNRLO, LBORNRHI, LBDTC, LBSPEC)"});
    else if (seen.count(name)) errors.push_back({"columns." + name, "appears twice"});
    seen[name] = columns.size();
    columns.push_back(col);
  }
  for (const auto& c : kColumns)
    if (c.required && !seen.count(c.csv)) errors.push_back({std::string("columns.") + c.csv, "is required"});
  if (!errors.empty()) return core::Status::invalid("bad CSV header", errors);
  const size_t rows = records.size() - 1;
  if (rows == 0) return core::Status::invalid("no rows", {{"(body)", "the CSV has a header and no row"}});
  if (rows > max_rows)
    return core::Status::invalid("too many rows", {{"(body)", "holds " + std::to_string(rows) + " rows; at most " +
                                                                   std::to_string(max_rows) + " per file"}});
  json results = json::array();
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& rec = records[r];
    if (rec.size() != columns.size()) {
      errors.push_back({"line " + std::to_string(lines[r]), "has " + std::to_string(rec.size()) + " fields; the header has " +
                                                                 std::to_string(columns.size())});
      results.push_back(json::object());
      continue;
    }
    json row = json::object();
    for (size_t i = 0; i < rec.size(); ++i) {
      const Column& c = *columns[i];
      if (rec[i].empty()) continue;  // absent: a required one is reported by the decoder
      if (c.number) {
        if (auto v = number(rec[i])) row[c.field] = *v;
        else row[c.field] = rec[i];  // the decoder names it as not a number
      } else {
        row[c.field] = rec[i];
      }
    }
    results.push_back(std::move(row));
  }
  if (!errors.empty()) return core::Status::invalid("bad CSV rows", errors);
  row_lines.assign(lines.begin() + 1, lines.end());
  return json{{"results", std::move(results)}};
}

std::string csvFieldName(const std::string& f, const std::vector<size_t>& lines) {
  static const std::string kPrefix = "results[";
  if (f.rfind(kPrefix, 0) != 0) return f;
  const size_t close = f.find("].", kPrefix.size());
  if (close == std::string::npos) return f;
  size_t index = 0;
  try {
    index = std::stoul(f.substr(kPrefix.size(), close - kPrefix.size()));
  } catch (const std::exception&) {
    return f;
  }
  const std::string field = f.substr(close + 2);
  std::string column = field;
  for (const auto& c : kColumns)
    if (field == c.field) column = c.csv;
  return "line " + std::to_string(index < lines.size() ? lines[index] : index + 2) + " " + column;
}

}  // namespace vigil::intake

#include <catch2/catch.hpp>

#include <cctype>
#include <cmath>
#include <ctime>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "http/metrics.h"

using vigil::http::Metrics;

namespace {

// A strict reader of the Prometheus text exposition format (0.0.4), as far as vigild uses it:
// throws std::runtime_error naming the line at the first thing out of place.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family -> counter|gauge|histogram
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;

  const Sample* find(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return &s;
    return nullptr;
  }
};

bool nameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool nameChar(char c) { return nameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

[[noreturn]] void fail(const std::string& why, const std::string& line) {
  throw std::runtime_error(why + " in line: " + line);
}

std::string readName(const std::string& line, size_t& i, bool label_name) {
  const size_t start = i;
  if (i >= line.size() || !nameStart(line[i]) || (label_name && line[i] == ':')) fail("bad name", line);
  while (i < line.size() && nameChar(line[i]) && !(label_name && line[i] == ':')) ++i;
  return line.substr(start, i - start);
}

double readNumber(const std::string& text, const std::string& line) {
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  if (text.empty()) fail("missing value", line);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || std::isspace(static_cast<unsigned char>(text[0]))) fail("bad number '" + text + "'", line);
  return v;
}

// The family a sample belongs to: histogram samples carry _bucket, _sum or _count.
std::string familyOf(const Exposition& e, const std::string& name) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = e.types.find(base);
      if (it != e.types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

Exposition parse(const std::string& text) {
  Exposition e;
  if (!text.empty() && text.back() != '\n') throw std::runtime_error("text does not end with a line feed");
  std::set<std::string> families_with_samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) fail("empty line", line);
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, kind, name;
      words >> hash >> kind >> name;
      size_t i = 0;
      if (hash != "#" || !(readName(name, i, false).size() == name.size())) fail("bad comment", line);
      if (kind == "TYPE") {
        std::string type, extra;
        words >> type;
        if (type != "counter" && type != "gauge" && type != "histogram") fail("bad type", line);
        if (words >> extra) fail("text after the type", line);
        if (e.types.count(name)) fail("second TYPE", line);
        if (families_with_samples.count(name)) fail("TYPE after samples", line);
        e.types[name] = type;
      } else if (kind == "HELP") {
        const std::string prefix = "# HELP " + name + " ";
        if (line.compare(0, prefix.size(), prefix) != 0) fail("bad HELP", line);
        const std::string help = line.substr(prefix.size());
        for (size_t j = 0; j < help.size(); ++j)
          if (help[j] == '\\' && (j + 1 >= help.size() || (help[j + 1] != '\\' && help[j + 1] != 'n')))
            fail("bad escape in HELP", line);
          else if (help[j] == '\\')
            ++j;
        if (e.help.count(name)) fail("second HELP", line);
        e.help[name] = help;
      } else {
        fail("comment is neither HELP nor TYPE", line);
      }
      continue;
    }
    Sample s;
    size_t i = 0;
    s.name = readName(line, i, false);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') break;
        const std::string key = readName(line, i, true);
        if (line.compare(i, 2, "=\"") != 0) fail("label without =\"", line);
        i += 2;
        std::string value;
        while (true) {
          if (i >= line.size()) fail("unterminated label value", line);
          const char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) fail("dangling backslash", line);
            const char esc = line[i++];
            if (esc == '\\')
              value += '\\';
            else if (esc == '"')
              value += '"';
            else if (esc == 'n')
              value += '\n';
            else
              fail("bad escape in label value", line);
          } else {
            value += c;
          }
        }
        if (!s.labels.emplace(key, value).second) fail("repeated label", line);
        if (i < line.size() && line[i] == ',') {
          ++i;
          continue;
        }
        if (i < line.size() && line[i] == '}') break;
        fail("expected , or }", line);
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') fail("expected one space before the value", line);
    s.value = readNumber(line.substr(i + 1), line);
    const std::string fam = familyOf(e, s.name);
    if (!e.types.count(fam)) fail("sample before its TYPE line", line);
    families_with_samples.insert(fam);
    e.samples.push_back(std::move(s));
  }
  // Histograms: every series has le on each bucket, ascending counts and a +Inf bucket equal to
  // _count.
  for (const auto& [fam, type] : e.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    for (const auto& s : e.samples) {
      if (s.name != fam + "_bucket") continue;
      auto labels = s.labels;
      auto le = labels.find("le");
      if (le == labels.end()) throw std::runtime_error(fam + " bucket without le");
      const double bound = readNumber(le->second, "le=" + le->second);
      labels.erase(le);
      buckets[labels].push_back({bound, s.value});
    }
    for (const auto& [labels, series] : buckets) {
      double last_bound = -INFINITY, last_count = 0;
      for (const auto& [bound, n] : series) {
        if (bound <= last_bound) throw std::runtime_error(fam + " buckets out of order");
        if (n < last_count) throw std::runtime_error(fam + " bucket counts decrease");
        last_bound = bound;
        last_count = n;
      }
      if (!std::isinf(series.back().first)) throw std::runtime_error(fam + " has no +Inf bucket");
      const Sample* count = e.find(fam + "_count", labels);
      if (!count) throw std::runtime_error(fam + " has no _count");
      if (count->value != series.back().second) throw std::runtime_error(fam + " +Inf bucket differs from _count");
      if (!e.find(fam + "_sum", labels)) throw std::runtime_error(fam + " has no _sum");
    }
  }
  return e;
}

}  // namespace

TEST_CASE("metrics count requests by route and status and bucket their latency", "[http]") {
  Metrics m;
  m.observe("POST", "/api/v1/labs", 201, 0.002);
  m.observe("POST", "/api/v1/labs", 201, 0.030);
  m.observe("POST", "/api/v1/labs", 422, 0.0004);
  const std::string text = m.render(7, 12.5);
  CHECK_THAT(text, Catch::Contains("vigil_http_requests_total{method=\"POST\",route=\"/api/v1/labs\",status=\"201\"} 2"));
  CHECK_THAT(text, Catch::Contains("vigil_http_requests_total{method=\"POST\",route=\"/api/v1/labs\",status=\"422\"} 1"));
  // 0.0004 s falls in le=0.0005; 0.002 s first counts in le=0.0025; 0.030 s in le=0.05.
  CHECK_THAT(text, Catch::Contains("vigil_http_request_duration_seconds_bucket{route=\"/api/v1/labs\",le=\"0.0005\"} 1"));
  CHECK_THAT(text, Catch::Contains("vigil_http_request_duration_seconds_bucket{route=\"/api/v1/labs\",le=\"0.0025\"} 2"));
  CHECK_THAT(text, Catch::Contains("vigil_http_request_duration_seconds_bucket{route=\"/api/v1/labs\",le=\"0.025\"} 2"));
  CHECK_THAT(text, Catch::Contains("vigil_http_request_duration_seconds_bucket{route=\"/api/v1/labs\",le=\"0.05\"} 3"));
  CHECK_THAT(text, Catch::Contains("vigil_http_request_duration_seconds_count{route=\"/api/v1/labs\"} 3"));
  CHECK_THAT(text, Catch::Contains("vigil_store_commits_total 7"));
}

TEST_CASE("metrics text passes a strict exposition-format parser even with a 300-character route", "[http]") {
  Metrics m;
  const std::string long_route = "/api/v1/" + std::string(300, 'r') + "/{id}";
  const std::string odd_route = "/odd/\"quoted\"/back\\slash/line\nfeed";
  m.observe("GET", long_route, 200, 0.003);
  m.observe("GET", long_route, 404, 7.0);
  m.observe("PUT", odd_route, 201, 0.0001);
  m.observe("GET", "/healthz", 200, 0.0002);
  const std::string text = m.render(3, 1.5);
  Exposition e;
  try {
    e = parse(text);
  } catch (const std::exception& ex) {
    FAIL(ex.what() << "\n--- text ---\n" << text);
  }

  const Sample* ok = e.find("vigil_http_requests_total", {{"method", "GET"}, {"route", long_route}, {"status", "200"}});
  REQUIRE(ok);
  CHECK(ok->value == 1);
  const Sample* count = e.find("vigil_http_request_duration_seconds_count", {{"route", long_route}});
  REQUIRE(count);
  CHECK(count->value == 2);
  const Sample* inf = e.find("vigil_http_request_duration_seconds_bucket", {{"route", long_route}, {"le", "+Inf"}});
  REQUIRE(inf);
  CHECK(inf->value == 2);  // 7 s is above every finite bucket
  const Sample* odd = e.find("vigil_http_requests_total", {{"method", "PUT"}, {"route", odd_route}, {"status", "201"}});
  REQUIRE(odd);
  CHECK(odd->value == 1);
  CHECK_THAT(text, Catch::Contains("route=\"/odd/\\\"quoted\\\"/back\\\\slash/line\\nfeed\""));

  CHECK(e.types.at("vigil_http_requests_total") == "counter");
  CHECK(e.types.at("vigil_http_request_duration_seconds") == "histogram");
  CHECK(e.types.at("vigil_store_commits_total") == "counter");
  CHECK(e.types.at("vigil_uptime_seconds") == "gauge");
  CHECK(e.find("vigil_uptime_seconds", {})->value == 1.5);
}

TEST_CASE("metrics include the standard process metrics with HELP and TYPE", "[http]") {
  const Exposition e = parse(Metrics().render(0, 0));
  const std::map<std::string, std::string> expected = {{"process_resident_memory_bytes", "gauge"},
                                                       {"process_cpu_seconds_total", "counter"},
                                                       {"process_open_fds", "gauge"},
                                                       {"process_start_time_seconds", "gauge"}};
  for (const auto& [name, type] : expected) {
    INFO(name);
    REQUIRE(e.types.count(name));
    CHECK(e.types.at(name) == type);
    CHECK(e.help.count(name));
    REQUIRE(e.find(name, {}));
  }
  CHECK(e.find("process_resident_memory_bytes", {})->value > 1024 * 1024);
  CHECK(e.find("process_cpu_seconds_total", {})->value >= 0);
  CHECK(e.find("process_open_fds", {})->value >= 3);  // stdin, stdout, stderr at least
  const double start = e.find("process_start_time_seconds", {})->value;
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(start > now - 24 * 3600);  // this test process started recently
  CHECK(start <= now + 1);
}

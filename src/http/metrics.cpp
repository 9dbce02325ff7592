#include "http/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <tuple>
#include <vector>

namespace vigil::http {
namespace {

// Label values: backslash, double quote and line feed are escaped (text exposition format 0.0.4).
std::string escapeLabel(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// The shortest text that reads back as the same double, in plain decimals where that stays short
// ("0.0005", "2.5", "1793692800.42"), in exponent form beyond (1e-09).
std::string number(double v) {
  char buf[64];
  const double a = std::fabs(v);
  const bool plain = v == 0 || (a >= 1e-6 && a < 1e15);
  const auto r = plain ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const std::string& labels, const std::string& value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

std::string label(const char* name, const std::string& value) {
  return std::string(name) + "=\"" + escapeLabel(value) + "\"";
}

// /proc/self/stat fields after the parenthesised command name (which may hold spaces).
std::vector<std::string> statFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> fields;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;  // fields[0] is field 3 (state)
}

void processMetrics(std::string& out) {
  const long page = sysconf(_SC_PAGESIZE);
  const long ticks = sysconf(_SC_CLK_TCK);

  long long size_pages = 0, resident_pages = 0;
  std::ifstream statm("/proc/self/statm");
  statm >> size_pages >> resident_pages;
  family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  sample(out, "process_resident_memory_bytes", "", std::to_string(resident_pages * page));

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  family(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  sample(out, "process_cpu_seconds_total", "", number(cpu));

  long fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (const dirent* e = readdir(dir))
      if (e->d_name[0] != '.') ++fds;
    closedir(dir);
    --fds;  // the descriptor opendir itself holds
  }
  family(out, "process_open_fds", "gauge", "Number of open file descriptors.");
  sample(out, "process_open_fds", "", std::to_string(fds));

  // Field 22 of /proc/self/stat is the start time in clock ticks after boot; btime in /proc/stat
  // is the boot time in unix seconds.
  double start = 0;
  const auto fields = statFields();
  long long btime = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string key; proc_stat >> key;) {
    if (key == "btime") {
      proc_stat >> btime;
      break;
    }
    proc_stat.ignore(1 << 20, '\n');
  }
  if (fields.size() > 19 && ticks > 0)
    start = static_cast<double>(btime) + std::stod(fields[19]) / static_cast<double>(ticks);
  family(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  sample(out, "process_start_time_seconds", "", number(start));
}

}  // namespace

void Metrics::observe(const std::string& method, const std::string& route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{method, route, status}];
  auto& h = latency_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::render(uint64_t store_commits, double uptime_seconds) const {
  std::string out;
  family(out, "vigil_http_requests_total", "counter", "HTTP requests by method, route and status.");
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, n] : requests_) {
      const auto& [method, route, status] = key;
      sample(out, "vigil_http_requests_total",
             label("method", method) + "," + label("route", route) + "," + label("status", std::to_string(status)),
             std::to_string(n));
    }
    family(out, "vigil_http_request_duration_seconds", "histogram", "Time from request start to response sent.");
    for (const auto& [route, h] : latency_) {
      const std::string r = label("route", route);
      for (size_t i = 0; i < kBuckets.size(); ++i)
        sample(out, "vigil_http_request_duration_seconds_bucket", r + "," + label("le", number(kBuckets[i])),
               std::to_string(h.buckets[i]));
      sample(out, "vigil_http_request_duration_seconds_bucket", r + ",le=\"+Inf\"", std::to_string(h.count));
      sample(out, "vigil_http_request_duration_seconds_sum", r, number(h.sum));
      sample(out, "vigil_http_request_duration_seconds_count", r, std::to_string(h.count));
    }
  }
  family(out, "vigil_store_commits_total", "counter", "Write transactions committed (each may carry many requests).");
  sample(out, "vigil_store_commits_total", "", std::to_string(store_commits));
  family(out, "vigil_http_body_bytes_in_flight", "gauge", "Bytes of request bodies being read or handled now.");
  sample(out, "vigil_http_body_bytes_in_flight", "", std::to_string(bodyBytesInFlight()));
  family(out, "vigil_http_body_budget_refusals_total", "counter",
         "Requests answered 503 because their body did not fit in the memory budget.");
  sample(out, "vigil_http_body_budget_refusals_total", "", std::to_string(body_refusals_.load()));
  family(out, "vigil_http_connections_open", "gauge", "Client connections open now (idle, reading, handled or answering).");
  sample(out, "vigil_http_connections_open", "", std::to_string(connections_open_.load()));
  family(out, "vigil_http_connections_refused_total", "counter",
         "Connections closed at once: too many from one client address, or no room left.");
  sample(out, "vigil_http_connections_refused_total", "reason=\"per_client\"", std::to_string(refused_per_client_.load()));
  sample(out, "vigil_http_connections_refused_total", "reason=\"capacity\"", std::to_string(refused_capacity_.load()));
  family(out, "vigil_http_connections_timed_out_total", "counter",
         "Connections closed for taking too long: to send a request head or body, idle, or to read the answer.");
  for (size_t i = 0; i < kTimeoutPhases.size(); ++i)
    sample(out, "vigil_http_connections_timed_out_total", std::string("phase=\"") + kTimeoutPhases[i] + "\"",
           std::to_string(timed_out_[i].load()));
  family(out, "vigil_uptime_seconds", "gauge", "Seconds since vigild started.");
  sample(out, "vigil_uptime_seconds", "", number(uptime_seconds));
  processMetrics(out);
  return out;
}

bool Metrics::reserveBody(size_t bytes, size_t budget) {
  size_t now = body_bytes_.load(std::memory_order_relaxed);
  do {
    if (now + bytes > budget) {
      body_refusals_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  } while (!body_bytes_.compare_exchange_weak(now, now + bytes, std::memory_order_relaxed));
  return true;
}

}  // namespace vigil::http

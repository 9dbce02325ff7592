// Alert delivery benchmarks (issue 5), run by hand through tests/bench/run-all:
//   bench_alerts queue N SMTP_PORT ALERTS_DIR CTCAE_DIR
//     N alerts queued in one unit of work on a fresh SQLite store, then delivered by the real
//     Dispatcher and SmtpMailer to the SMTP server on 127.0.0.1:SMTP_PORT; prints the time from
//     the dispatcher's start until the outbox is empty.
//   bench_alerts latency VIGILD_PORT TOKEN SINK_DIR N RATE
//     against a running vigild that sends to the test sink writing into SINK_DIR: RATE writes/s
//     of background load (vital signs that raise nothing), and N SAEs, one every 100 ms, each on
//     its own participant; prints the percentiles of (sink acceptance - POST's 2xx) per SAE.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/time.h"
#include "mail/smtp_mailer.h"
#include "mail/templates.h"
#include "outbox/alert_planner.h"
#include "outbox/dispatcher.h"
#include "outbox/routing.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "rules/categories.h"
#include "rules/dose_rules.h"
#include "store/sqlite_store.h"

using namespace vigil;
using nlohmann::json;

namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int queue(int n, int smtp_port, const std::string& alerts_dir, const std::string& ctcae_dir) {
  const std::string dir = std::filesystem::temp_directory_path() / ("vigil-alert-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  core::SystemClock clock;
  store::SqliteOptions o;
  o.path = dir + "/vigil.db";
  store::SqliteStore store(o, clock);
  std::string classes;
  for (const auto& c : outbox::alertClasses())
    if (outbox::routedByClass(c)) classes += (classes.empty() ? "" : ",") + ("\"" + c + "\":[\"investigator\"]");
  const auto routing = outbox::Routing::parse(
      R"({"format":"vigil-recipients/1","classes":{)" + classes + R"(},"sites":{"*":{"investigator":["inv@site.test"]}}})",
      "bench");
  const auto catalogue = std::move(grading::Catalogue::load(ctcae_dir + "/terms.tsv").value());
  const auto grader = std::move(grading::LabGrader::load(ctcae_dir).value());
  const auto categories = std::move(rules::CategorySet::load(alerts_dir + "/rules/categories.json", catalogue).value());
  const auto dose = std::move(rules::DoseRules::load(alerts_dir + "/rules/dose.json", catalogue, categories, grader).value());
  outbox::AlertPlanner planner(routing, dose, {});
  const auto templates = mail::Templates::load(alerts_dir + "/templates", outbox::AlertPlanner::templateFields());
  auto s = store.write([&](store::Transaction& tx) {
    for (int i = 0; i < n; ++i) {
      json p = {{"code", "dose_during_hold"}, {"drug", "anlotinib"}, {"date", "2026-02-13"},
                {"text", "anlotinib given during a hold"}, {"rules", "- AN-HEM-2\n"}, {"link", "http://x/"}};
      planner.raise(tx, "deviation", "deviation:bench/" + std::to_string(i), "S01-" + std::to_string(i), "S01",
                    "bench/" + std::to_string(i), p, "bench");
    }
    return core::Status::ok();
  });
  if (!s.isOk()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  mail::SmtpOptions smtp;
  smtp.host = "127.0.0.1";
  smtp.port = smtp_port;
  mail::SmtpMailer mailer(smtp);
  outbox::DispatcherOptions d;
  d.batch = 200;
  d.clock_ms = 3600000;
  outbox::Dispatcher dispatcher(store, mailer, templates, planner, clock, d);
  const auto start = std::chrono::steady_clock::now();
  dispatcher.start();
  while (store.outboxStats(clock.nowMs()).value().pending > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  dispatcher.stop();
  const auto st = store.outboxStats(clock.nowMs()).value();
  std::printf("%d queued alerts delivered over SMTP: %.2f s (%.0f mails/s), sent %lld, dead %lld\n", n, secs, n / secs,
              static_cast<long long>(st.sent), static_cast<long long>(st.dead));
  store.close();
  std::filesystem::remove_all(dir);
  return 0;
}

int post(Poco::Net::HTTPClientSession& http, const std::string& path, const std::string& token, const std::string& body) {
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, path, Poco::Net::HTTPMessage::HTTP_1_1);
  req.setContentType("application/json");
  req.setContentLength(static_cast<std::streamsize>(body.size()));
  req.set("Authorization", "Bearer " + token);
  http.sendRequest(req) << body;
  Poco::Net::HTTPResponse res;
  std::istream& in = http.receiveResponse(res);
  std::string ignored((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return res.getStatus();
}

int latency(int port, const std::string& token, const std::string& sink_dir, int n, int rate) {
  Poco::Net::HTTPClientSession http("127.0.0.1", static_cast<Poco::UInt16>(port));
  http.setKeepAlive(true);
  const std::string today = core::formatDate(nowMs() / core::kDayMs);
  for (int i = 0; i <= n; ++i) {
    json p = {{"study_id", "S01-" + std::to_string(1000 + i)}, {"site", "S01"}, {"enrolled_on", "2026-01-05"},
              {"liver_metastases", false}, {"prior_thoracic_radiotherapy", false}, {"baseline_labs", json::array()}};
    if (post(http, "/api/v1/participants", token, p.dump()) != 201) {
      std::cerr << "cannot create participants\n";
      return 1;
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<long> load_done{0}, load_failed{0};
  const int threads = 32;
  std::vector<std::thread> load;
  for (int t = 0; t < threads; ++t)
    load.emplace_back([&, t] {
      Poco::Net::HTTPClientSession s("127.0.0.1", static_cast<Poco::UInt16>(port));
      s.setKeepAlive(true);
      const auto interval = std::chrono::microseconds(1000000LL * threads / rate);
      auto next = std::chrono::steady_clock::now();
      int k = 0;
      while (!stop) {
        const std::string ts = core::formatTimestamp(nowMs() - 60000 - (k++ % 50000) * 1000LL);
        const std::string who = "S01-" + std::to_string(1000 + (k * 7 + t) % (n + 1));  // spread over participants
        json v = {{"study_id", who}, {"measured_at", ts}, {"systolic_mmhg", 118}, {"diastolic_mmhg", 76}};
        try {
          (post(s, "/api/v1/vitals", token, v.dump()) / 100 == 2 ? load_done : load_failed)++;
        } catch (const std::exception&) {
          load_failed++;
        }
        next += interval;
        std::this_thread::sleep_until(next);
      }
    });
  std::this_thread::sleep_for(std::chrono::seconds(2));  // load running
  const long load_before = load_done;
  const auto load_start = std::chrono::steady_clock::now();
  std::map<std::string, int64_t> posted;  // study ID -> time of the 2xx
  for (int i = 1; i <= n; ++i) {
    const std::string id = "S01-" + std::to_string(1000 + i);
    json ae = {{"study_id", id}, {"verbatim", "pneumonia"}, {"ctcae_term", "Lung infection"}, {"grade", 3},
               {"serious_criteria", {"hospitalization"}},
               {"relatedness", {{"anlotinib", "not_related"}, {"sintilimab", "not_related"}}},
               {"action_taken", {{"anlotinib", "dose_not_changed"}, {"sintilimab", "dose_not_changed"}}},
               {"outcome", "not_recovered"}, {"start", today}, {"site_aware_at", core::formatTimestamp(nowMs() - 60000)}};
    if (post(http, "/api/v1/adverse-events", token, ae.dump()) != 201) {
      std::cerr << "SAE refused\n";
      return 1;
    }
    posted[id] = nowMs();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double load_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const long load_count = load_done - load_before;
  stop = true;
  for (auto& t : load) t.join();
  // The first message per participant is the first SAE email accepted (three recipients each).
  std::map<std::string, int64_t> first;
  for (const auto& e : std::filesystem::directory_iterator(sink_dir)) {
    if (e.path().extension() != ".json") continue;
    std::ifstream in(e.path());
    json m = json::parse(in);
    const std::string data = m.value("data", "");
    const auto at = data.find("Subject: [Vigil SAE/AESI]");
    if (at == std::string::npos) continue;
    const auto sid = data.find("S01-", at);
    const std::string id = data.substr(sid, 8);
    const int64_t t = m.value("received_ms", int64_t{0});
    auto& last = first[id];
    last = std::max(last, t);  // latency to the last of the three recipients
  }
  std::vector<int64_t> lat;
  for (const auto& [id, t] : posted)
    if (first.count(id)) lat.push_back(first[id] - t);
  std::sort(lat.begin(), lat.end());
  if (lat.empty()) {
    std::cerr << "no SAE email arrived\n";
    return 1;
  }
  auto pct = [&](double p) { return lat[std::min(lat.size() - 1, static_cast<size_t>(p * static_cast<double>(lat.size())))]; };
  std::printf("alert latency (POST 2xx -> SMTP acceptance, last of 3 recipients), %zu/%d SAEs under %.0f writes/s "
              "background (%ld failed): p50 %lld ms, p90 %lld ms, p99 %lld ms, max %lld ms\n",
              lat.size(), n, static_cast<double>(load_count) / load_secs, static_cast<long>(load_failed),
              static_cast<long long>(pct(0.5)), static_cast<long long>(pct(0.9)), static_cast<long long>(pct(0.99)),
              static_cast<long long>(lat.back()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "queue" && argc == 6) return queue(std::stoi(argv[2]), std::stoi(argv[3]), argv[4], argv[5]);
  if (mode == "latency" && argc == 7)
    return latency(std::stoi(argv[2]), argv[3], argv[4], std::stoi(argv[5]), std::stoi(argv[6]));
  std::cerr << "usage: bench_alerts queue N SMTP_PORT ALERTS_DIR CTCAE_DIR | latency VIGILD_PORT TOKEN SINK_DIR N RATE\n";
  return 64;
}

// Alert delivery on the real vigild against a real SMTP server (python3-aiosmtpd, started by the
// harness on a free loopback port): who receives what and how fast, what an email may and may not
// say, outages, a crash mid-send, refused recipients, acknowledgement and escalation.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "core/time.h"
#include "support/daemon.h"
#include "support/smtp_sink.h"

using namespace vigil::test;
using nlohmann::json;

namespace {

const char* kInvestigatorS01 = "pi.s01@site1.test";
const char* kInvestigatorS02 = "pi.s02@site2.test";
const char* kSafetyOfficer = "safety@trial.test";
const char* kMedicalMonitor = "monitor@sponsor.test";

std::string writeRecipients(const Daemon& d, const std::string& pv = "pv@sponsor.test") {
  json r = {{"format", "vigil-recipients/1"},
            {"classes",
             {{"urgent", {"investigator", "safety_officer", "sponsor_pv", "medical_monitor"}},
              {"sae", {"investigator", "safety_officer", "sponsor_pv"}},
              {"dose", {"investigator"}},
              {"deviation", {"investigator", "safety_officer"}},
              {"reminder", {"investigator", "safety_officer"}},
              {"overdue", {"investigator", "safety_officer", "medical_monitor"}},
              {"escalation", {"safety_officer", "medical_monitor"}},
              {"digest", {"investigator"}}}},
            {"roles",
             {{"safety_officer", {kSafetyOfficer}}, {"sponsor_pv", {pv}}, {"medical_monitor", {kMedicalMonitor}}}},
            {"sites", {{"S01", {{"investigator", {kInvestigatorS01}}}}, {"S02", {{"investigator", {kInvestigatorS02}}}}}}};
  const std::string path = d.dir() + "/recipients.json";
  std::ofstream(path) << r.dump(2);
  return path;
}

std::vector<std::string> smtpArgs(const SmtpSink& sink, const std::string& recipients) {
  return {"--set=smtp.host=127.0.0.1", "--set=smtp.port=" + std::to_string(sink.port()),
          "--set=alerts.recipients_file=" + recipients, "--set=outbox.poll_ms=20"};
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The site learnt of every test AE an hour ago, so its 24-hour clock is at 4 % (no reminder yet).
const int64_t kAwareMs = (nowMs() / 1000 - 3600) * 1000;

// A serious, unrelated pneumonia: an SAE (A3) and nothing more. The narrative and verbatim carry
// identifiers that must never reach an email.
json seriousAe(const std::string& study_id) {
  json ae = aeBody(study_id);
  ae["verbatim"] = "pneumonia (Mr Zhang Wei)";
  ae["ctcae_term"] = "Lung infection";
  ae.erase("meddra_code");
  ae["grade"] = 3;
  ae["serious_criteria"] = {"hospitalization"};
  ae["relatedness"] = {{"anlotinib", "not_related"}, {"sintilimab", "not_related"}};
  ae["narrative"] = "Zhang Wei, born 1961-04-02, admitted with pneumonia.";
  ae["start"] = vigil::core::formatDate(kAwareMs / vigil::core::kDayMs);
  ae["site_aware_at"] = vigil::core::formatTimestamp(kAwareMs);
  return ae;
}

std::vector<SinkMessage> withSubject(const std::vector<SinkMessage>& all, const std::string& part) {
  std::vector<SinkMessage> out;
  for (const auto& m : all)
    if (m.header("subject").find(part) != std::string::npos) out.push_back(m);
  return out;
}

std::set<std::string> recipientsOf(const std::vector<SinkMessage>& messages) {
  std::set<std::string> out;
  for (const auto& m : messages)
    for (const auto& r : m.rcpt_tos) out.insert(r);
  return out;
}

struct Setup {
  Daemon d;
  SmtpSink sink;
  std::string inv, so;
  std::string recipients;
  explicit Setup(const SinkOptions& sink_options = {}, const std::string& pv = "pv@sponsor.test") {
    inv = d.addUser("inv1", "investigator", {"S01"});
    so = d.addUser("so1", "safety_officer");
    recipients = writeRecipients(d, pv);
    sink.start(sink_options);
  }
  void start(std::vector<std::string> extra = {}) {
    auto args = smtpArgs(sink, recipients);
    args.insert(args.end(), extra.begin(), extra.end());
    d.start(args);
  }
  void participant(const std::string& id) { REQUIRE(d.post("/api/v1/participants", inv, participantBody(id, "S01")).status == 201); }
  json alerts(const std::string& query = "") { return d.get("/api/v1/alerts" + query, so).json()["items"]; }
  size_t deliveries() {
    size_t n = 0;
    for (const auto& a : alerts()) n += a["deliveries"].size();
    return n;
  }
};

}  // namespace

TEST_CASE("an SAE reaches the site's investigator, the safety officer and sponsor PV within 2 s, study ID only",
          "[integration][alerts]") {
  Setup s;
  s.start();
  s.participant("S01-001");
  auto r = s.d.post("/api/v1/adverse-events", s.inv, seriousAe("S01-001"));
  REQUIRE(r.status == 201);
  const int64_t posted = nowMs();
  REQUIRE(s.sink.waitFor(3, 5000));
  auto sae = withSubject(s.sink.messages(), "[Vigil SAE/AESI]");
  REQUIRE(sae.size() == 3);
  CHECK(recipientsOf(sae) == std::set<std::string>{kInvestigatorS01, kSafetyOfficer, "pv@sponsor.test"});
  std::set<std::string> ids;
  for (const auto& m : sae) {
    CHECK(m.received_ms - posted < 2000);
    CHECK(m.rcpt_tos.size() == 1);
    CHECK(m.header("to") == m.rcpt_tos.front());
    CHECK(m.header("from") == "vigil@localhost");
    CHECK(m.header("subject") == "[Vigil SAE/AESI] Lung infection grade 3 - S01-001 (site S01)");
    CHECK_THAT(m.header("message-id"), Catch::Matches("<vigil\\.[0-9a-f]{32}@vigil\\.invalid>"));
    CHECK_THAT(m.header("x-vigil-alert"), Catch::StartsWith("alert/"));
    CHECK_THAT(m.header("content-type"), Catch::StartsWith("multipart/alternative"));
    ids.insert(m.header("message-id"));
    for (const std::string& expected : std::vector<std::string>{"S01-001", "site S01", "Lung infection, CTCAE v5.0 grade 3", "hospitalization",
                                 "anlotinib: not_related", "sae_24h due " + vigil::core::formatTimestamp(kAwareMs + vigil::core::kDayMs).substr(0, 19),
                                 "http://127.0.0.1:8080/api/v1/adverse-events/1", "/api/v1/alerts/",
                                 "the investigator decides"})
      CHECK_THAT(m.body, Catch::Contains(expected));
    for (const char* secret : {"Zhang", "Wei", "1961", "born", "admitted"}) {
      CHECK_THAT(m.data, !Catch::Contains(secret));
    }
  }
  CHECK(ids.size() == 3);  // one Message-ID per recipient
  // The alert is listed with its delivery state; nothing else went out for an unrelated SAE.
  REQUIRE(s.d.waitOutboxIdle(3));
  auto list = s.alerts();
  REQUIRE(list.size() == 1);
  CHECK(list[0]["class"] == "sae");
  CHECK(list[0]["delivery"] == "sent");
  CHECK(list[0]["acknowledged"] == false);
  CHECK(list[0]["ref"] == "ae/1");
  CHECK(s.sink.messages().size() == 3);
}

TEST_CASE("a fatal AE is urgent and also reaches the medical monitor", "[integration][alerts]") {
  Setup s;
  s.start();
  s.participant("S01-001");
  json ae = seriousAe("S01-001");
  ae["grade"] = 5;
  ae["serious_criteria"] = {"death"};
  ae["outcome"] = "fatal";
  ae["end"] = ae["start"];
  auto r = s.d.post("/api/v1/adverse-events", s.inv, ae);
  REQUIRE(r.status == 201);
  REQUIRE(s.d.waitOutboxIdle(4));
  auto urgent = withSubject(s.sink.messages(), "[Vigil URGENT] fatal: Lung infection grade 5");
  CHECK(recipientsOf(urgent) ==
        std::set<std::string>{kInvestigatorS01, kSafetyOfficer, "pv@sponsor.test", kMedicalMonitor});
  CHECK(withSubject(s.sink.messages(), "[Vigil SAE/AESI]").empty());  // the wider alert replaces A3
  // GEN-DEATH discontinues both drugs: each drug's dose alert goes to the site's investigator.
  auto dose = withSubject(s.sink.messages(), "[Vigil DOSE]");
  REQUIRE(dose.size() == 2);
  CHECK(recipientsOf(dose) == std::set<std::string>{kInvestigatorS01});
  CHECK_THAT(dose[0].body, Catch::Contains("GEN-DEATH"));
}

TEST_CASE("SAEs posted during a 25 s mail outage, longer than any fixed attempt budget, are all delivered exactly once after it",
          "[integration][alerts]") {
  Setup s;
  const int port = s.sink.port();
  s.sink.stop();
  // Retries compressed: 200 ms doubling to 1 s. A budget of 8 attempts would be spent in ~5 s.
  s.start({"--set=outbox.backoff_initial_ms=200", "--set=outbox.backoff_max_ms=1000"});
  const auto outage_began = std::chrono::steady_clock::now();
  for (const char* id : {"S01-001", "S01-002", "S01-003"}) {
    s.participant(id);
    REQUIRE(s.d.post("/api/v1/adverse-events", s.inv, seriousAe(id)).status == 201);
  }
  // The outage itself lasts 25 s; all the while every delivery stays pending, none dies.
  int most_attempts = 0;
  while (std::chrono::steady_clock::now() - outage_began < std::chrono::seconds(25)) {
    for (const auto& a : s.alerts()) {
      CHECK(a["delivery"] == "pending");
      for (const auto& d : a["deliveries"]) most_attempts = std::max(most_attempts, d["attempts"].get<int>());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the outage's length is the scenario
  }
  CHECK(most_attempts > 8);  // beyond the old fixed budget, and still trying
  CHECK(s.d.get("/healthz", "").json()["outbox"]["pending"] == 9);
  CHECK(s.d.get("/healthz", "").json()["outbox"]["dead"] == 0);
  SinkOptions again;
  again.port = port;
  s.sink.start(again);
  REQUIRE(s.d.waitOutboxIdle(9, 20000));
  const auto messages = s.sink.messages();
  CHECK(messages.size() == 9);
  std::set<std::string> ids;
  for (const auto& m : messages) ids.insert(m.header("message-id"));
  CHECK(ids.size() == 9);  // each delivered exactly once
  for (const auto& a : s.alerts()) CHECK(a["delivery"] == "sent");
}

// Late past its class's threshold: /healthz degraded, an ERROR, an .eml; vigilctl lists it and,
// once dead, retries it.
TEST_CASE("a late delivery is flagged and written as .eml and vigilctl retries it once dead",
          "[integration][alerts]") {
  SinkOptions refusing;
  refusing.refuse = {"refused"};
  Setup s(refusing, "refused-pv@sponsor.test");
  s.start({"--set=outbox.late_seconds.sae=1", "--set=outbox.give_up_after_seconds=4", "--set=outbox.clock_ms=100",
           "--set=outbox.backoff_initial_ms=100", "--set=outbox.backoff_max_ms=300"});
  s.participant("S01-001");
  REQUIRE(s.d.post("/api/v1/adverse-events", s.inv, seriousAe("S01-001")).status == 201);
  REQUIRE(s.sink.waitFor(2));
  // Late: the refused sponsor PV delivery, a second after it was queued.
  json health;
  for (int i = 0; i < 300; ++i) {
    health = s.d.get("/healthz", "").json();
    if (health["outbox"]["late"] == 1 && health["problems"].contains("outbox")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(health["outbox"]["late"] == 1);
  CHECK(health["status"] == "degraded");
  CHECK_THAT(health["problems"]["outbox"].get<std::string>(), Catch::Contains("(sae)"));
  CHECK_THAT(s.d.get("/metrics", s.so).body, Catch::Contains("vigil_alert_deliveries_late 1"));
  auto listed = s.d.ctl({"alerts", "list", "--state=late"});
  REQUIRE(listed.exit_code == 0);
  CHECK_THAT(listed.out, Catch::Contains("sponsor_pv"));
  CHECK_THAT(listed.out, Catch::Contains("550"));
  // The fallback folder holds the message for a person to send.
  std::vector<std::string> eml;
  for (const auto& e : std::filesystem::directory_iterator(s.d.mailDir()))
    if (e.path().extension() == ".eml") eml.push_back(e.path().string());
  REQUIRE(eml.size() == 1);
  std::ifstream f(eml[0]);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Catch::Contains("refused-pv@sponsor.test"));
  CHECK_THAT(text, Catch::Contains("[Vigil SAE"));
  // Given up after 4 s: dead, and listed so.
  json dead;
  for (int i = 0; i < 500 && dead.is_null(); ++i) {
    const json alerts = s.alerts();  // kept: a range-for over a temporary's member would dangle
    for (const auto& d : alerts[0]["deliveries"])
      if (d["state"] == "dead") dead = d;
    if (dead.is_null()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(!dead.is_null());
  CHECK(dead["attempts"].get<int>() >= 3);
  CHECK_THAT(s.d.ctl({"alerts", "list", "--state=dead"}).out, Catch::Contains("sponsor_pv"));
  // The server is mended; retrying the dead delivery sends it once.
  const int port = s.sink.port();
  s.sink.stop();
  SinkOptions mended;
  mended.port = port;
  s.sink.start(mended);
  auto retried = s.d.ctl({"alerts", "retry", "--all-dead"});
  REQUIRE(retried.exit_code == 0);
  CHECK_THAT(retried.out, Catch::Contains("1 deliveries queued again"));
  REQUIRE(s.sink.waitFor(3));
  CHECK(recipientsOf(s.sink.messages()) ==
        std::set<std::string>{kInvestigatorS01, kSafetyOfficer, "refused-pv@sponsor.test"});
  for (int i = 0; i < 300 && s.d.get("/healthz", "").json()["status"] != "ok"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(s.d.get("/healthz", "").json()["status"] == "ok");
  CHECK(s.d.ctl({"alerts", "retry", "99"}).exit_code == 65);
  CHECK(s.d.ctl({"alerts", "retry", "x1"}).exit_code == 64);
  REQUIRE(s.d.stop() == 0);
  std::ifstream log(s.d.logPath());
  const std::string log_text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK_THAT(log_text, Catch::Contains("to role sponsor_pv is late"));
  CHECK(log_text.find("S01-001") == std::string::npos);  // the alert is named, not the patient
}

TEST_CASE("killed with SIGKILL mid-send, vigild delivers every alert after restart, repeats with the same Message-ID",
          "[integration][alerts]") {
  SinkOptions slow;
  slow.delay_ms = 250;
  Setup s(slow);
  s.start();
  for (const char* id : {"S01-001", "S01-002", "S01-003", "S01-004"}) {
    s.participant(id);
    REQUIRE(s.d.post("/api/v1/adverse-events", s.inv, seriousAe(id)).status == 201);
  }
  REQUIRE(s.sink.waitFor(2, 10000));
  s.d.kill9();
  const size_t before_restart = s.sink.messages().size();
  CHECK(before_restart < 12);
  s.start();
  REQUIRE(s.d.waitOutboxIdle(12, 20000));
  std::map<std::string, std::string> expected;  // Message-ID -> recipient, from vigild's records
  for (const auto& a : s.alerts())
    for (const auto& d : a["deliveries"]) expected[d["message_id"]] = d["recipient"];
  REQUIRE(expected.size() == 12);
  std::map<std::string, std::set<std::string>> seen;  // Message-ID -> the subjects it came with
  for (const auto& m : s.sink.messages()) {
    const std::string id = m.header("message-id");
    REQUIRE(expected.count(id) == 1);
    CHECK(m.rcpt_tos == std::vector<std::string>{expected[id]});
    seen[id].insert(m.header("subject"));
  }
  CHECK(seen.size() == 12);  // every alert delivered
  for (const auto& [id, subjects] : seen) CHECK(subjects.size() == 1);
}

TEST_CASE("a recipient the server refuses is retried, then dead, and shows in /healthz and /metrics",
          "[integration][alerts]") {
  SinkOptions refusing;
  refusing.refuse = {"refused"};
  Setup s(refusing, "refused-pv@sponsor.test");
  s.start({"--set=outbox.give_up_after_seconds=1", "--set=outbox.backoff_initial_ms=50", "--set=outbox.backoff_max_ms=100"});
  CHECK(s.d.get("/healthz", "").json()["status"] == "ok");
  s.participant("S01-001");
  REQUIRE(s.d.post("/api/v1/adverse-events", s.inv, seriousAe("S01-001")).status == 201);
  REQUIRE(s.sink.waitFor(2));
  json dead;
  for (int i = 0; i < 200 && dead.is_null(); ++i) {
    const json list = s.alerts();
    for (const auto& d : list[0]["deliveries"])
      if (d["state"] == "dead") dead = d;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(!dead.is_null());
  CHECK(dead["recipient"] == "refused-pv@sponsor.test");
  CHECK(dead["attempts"].get<int>() >= 3);  // retried for the whole give-up age
  CHECK_THAT(dead["last_error"].get<std::string>(), Catch::Contains("550"));
  CHECK(s.alerts()[0]["delivery"] == "dead");
  CHECK(recipientsOf(s.sink.messages()) == std::set<std::string>{kInvestigatorS01, kSafetyOfficer});
  auto health = s.d.get("/healthz", "");
  CHECK(health.status == 200);
  CHECK(health.json()["status"] == "degraded");
  CHECK(health.json()["outbox"]["dead"] == 1);
  CHECK_THAT(s.d.get("/metrics", s.so).body, Catch::Contains("vigil_alert_deliveries{state=\"dead\"} 1"));
  REQUIRE(s.d.stop() == 0);
  std::ifstream log(s.d.logPath());
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Catch::Contains("to role sponsor_pv is dead: still failing after"));
}

TEST_CASE("an unacknowledged SAE alert escalates to the next tier, an acknowledged one does not",
          "[integration][alerts]") {
  Setup s;
  const std::string other = s.d.addUser("inv2", "investigator", {"S02"});
  const std::string dsmb = s.d.addUser("dsmb1", "dsmb");
  s.start({"--set=alerts.escalate_after_seconds=1", "--set=outbox.clock_ms=100"});
  s.participant("S01-001");
  s.participant("S01-002");
  REQUIRE(s.d.post("/api/v1/adverse-events", s.inv, seriousAe("S01-001")).status == 201);
  REQUIRE(s.d.post("/api/v1/adverse-events", s.inv, seriousAe("S01-002")).status == 201);
  auto list = s.alerts("?class=sae");
  REQUIRE(list.size() == 2);
  const std::string acked = "/api/v1/alerts/" + std::to_string(list[0]["id"].get<int>()) + "/ack";
  const int unacked_id = list[1]["id"].get<int>();
  // Who may acknowledge: the addressed site's investigator or a safety officer.
  CHECK(s.d.post(acked, other, json::object()).status == 403);
  CHECK(s.d.post(acked, dsmb, json::object()).status == 403);
  CHECK(s.d.post("/api/v1/alerts/999/ack", s.so, json::object()).status == 404);
  auto bad = s.d.post(acked, s.inv, json{{"note", "x"}});
  CHECK(bad.status == 422);
  CHECK_THAT(bad.body, Catch::Contains("\"field\":\"note\""));
  auto ok = s.d.request("POST", acked, s.inv, "");
  REQUIRE(ok.status == 200);
  CHECK(ok.json()["acked_by"] == "inv1");
  CHECK(s.d.post(acked, s.so, json::object()).json()["acked_by"] == "inv1");  // the first acknowledgement stands

  json escalations;
  for (int i = 0; i < 250 && escalations.empty(); ++i) {
    escalations = s.alerts("?class=escalation");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(escalations.size() == 1);
  CHECK(escalations[0]["ref"] == "alert/" + std::to_string(unacked_id));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the acknowledged one had as long
  CHECK(s.alerts("?class=escalation").size() == 1);
  REQUIRE(s.d.waitOutboxIdle(8));
  auto esc = withSubject(s.sink.messages(), "[Vigil ESCALATION]");
  CHECK(recipientsOf(esc) == std::set<std::string>{kSafetyOfficer, kMedicalMonitor});
  CHECK_THAT(esc[0].header("subject"), Catch::Contains("sae alert " + std::to_string(unacked_id) + " unacknowledged"));
  CHECK(s.alerts("?acknowledged=true").size() == 1);
  CHECK(s.d.get("/api/v1/alerts?class=nonsense", s.so).status == 400);
  CHECK(s.d.get("/api/v1/alerts", dsmb).status == 403);
  CHECK(s.d.get("/api/v1/alerts", other).json()["items"].empty());  // another site's investigator
}

TEST_CASE("without an SMTP server each email is written as an .eml file", "[integration][alerts]") {
  Daemon d;
  const std::string inv = d.addUser("inv1", "investigator", {"S01"});
  d.start();
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
  REQUIRE(d.post("/api/v1/adverse-events", inv, seriousAe("S01-001")).status == 201);
  REQUIRE(d.waitOutboxIdle(3));
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(d.mailDir())) files.push_back(e.path().string());
  REQUIRE(files.size() == 3);
  std::set<std::string> to;
  for (const auto& f : files) {
    CHECK_THAT(f, Catch::EndsWith(".eml"));
    std::ifstream in(f);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_THAT(text, Catch::Contains("Subject: [Vigil SAE/AESI] Lung infection grade 3 - S01-001 (site S01)\r\n"));
    const auto at = text.find("To: ");
    to.insert(text.substr(at + 4, text.find("\r\n", at) - at - 4));
  }
  CHECK(to == std::set<std::string>{"investigators@site.example.org", "safety-officer@trial.example.org",
                                    "pharmacovigilance@sponsor.example.org"});
}

TEST_CASE("a class with no recipient stops start-up with a clear message", "[integration][alerts]") {
  Daemon d;
  d.addSite("S01");
  json r = {{"format", "vigil-recipients/1"},
            {"classes",
             {{"urgent", {"investigator"}}, {"sae", {"investigator", "sponsor_pv"}}, {"dose", {"investigator"}},
              {"deviation", {"investigator"}}, {"reminder", {"investigator"}}, {"overdue", {"investigator"}},
              {"escalation", {"investigator"}}, {"digest", {"investigator"}}}},
            {"roles", json::object()},
            {"sites", {{"S01", {{"investigator", {kInvestigatorS01}}}}}}};
  std::ofstream(d.dir() + "/no-pv.json") << r.dump();
  r["roles"] = {{"sponsor_pv", {"pv@sponsor.test"}}};
  r["sites"] = {{"S02", {{"investigator", {kInvestigatorS02}}}}};
  std::ofstream(d.dir() + "/no-s01.json") << r.dump();
  auto no_pv = runCommand(VIGILD_PATH, [&] {
    auto a = d.commonArgs();
    a.push_back("--set=alerts.recipients_file=" + d.dir() + "/no-pv.json");
    return a;
  }());
  CHECK(no_pv.exit_code == 78);
  CHECK_THAT(no_pv.out + no_pv.err, Catch::Contains("alert class sae goes to sponsor_pv, but roles.sponsor_pv has no address"));
  auto no_site = runCommand(VIGILD_PATH, [&] {
    auto a = d.commonArgs();
    a.push_back("--set=alerts.recipients_file=" + d.dir() + "/no-s01.json");
    return a;
  }());
  CHECK(no_site.exit_code == 78);
  CHECK_THAT(no_site.out + no_site.err, Catch::Contains("goes to the investigators of site S01"));
}

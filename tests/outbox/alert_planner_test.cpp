// Alerts raised on a real SQLite store by the real rules and routing, with a clock the test moves:
// every class from real data, dedupe, reminders at 50/90 % and overdue at exact times, escalation,
// the daily digest, and every template rendering every class with nothing missing or unescaped.
// The dispatcher runs against a fake mailer: sent, retried with backoff, dead, same Message-ID.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>

#include "core/crypto.h"
#include "core/health.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "intake/intake_service.h"
#include "intake/safety_monitor.h"
#include "mail/message.h"
#include "mail/templates.h"
#include "outbox/alert_planner.h"
#include "outbox/dispatcher.h"
#include "outbox/routing.h"
#include "rules/categories.h"
#include "rules/dose_rules.h"
#include "rules/evaluator.h"
#include "rules/reporting.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "mail/smtp_mailer.h"
#include "support/clinical_data.h"
#include "support/fixed_clock.h"
#include "support/smtp_sink.h"
#include "support/temp_dir.h"

using namespace vigil;
using nlohmann::json;

namespace {

// The real clinical data (support/clinical_data.h) plus the committed routing and templates.
struct Rules : test::ClinicalData {
  outbox::Routing routing = outbox::Routing::load(VIGIL_SOURCE_DIR "/config/recipients.json");
  mail::Templates templates =
      mail::Templates::load(VIGIL_SOURCE_DIR "/alerts/templates", outbox::AlertPlanner::templateFields());
};

const Rules& rulesOnce() {
  static const Rules r;
  return r;
}

int64_t at(const char* ts) { return *core::parseTimestamp(ts); }

class FakeMailer final : public mail::Mailer {
 public:
  core::Status send(const mail::MailMessage& m) override {
    attempts.push_back(m.message_id);
    if (failing) return core::Status::unavailable("550 refused");
    sent.push_back({m.to, m.subject, m.message_id});
    return core::Status::ok();
  }
  std::string describe() const override { return "fake"; }
  struct Sent {
    std::string to, subject, message_id;
  };
  std::vector<Sent> sent;
  std::vector<std::string> attempts;
  bool failing = false;
};

struct Fixture {
  test::TempDir dir;
  test::FixedClock clock{at("2026-02-12T09:00:00Z")};
  store::SqliteStore store{store::SqliteOptions{.path = dir.file("vigil.db")}, clock};
  outbox::AlertPlanner planner{rulesOnce().routing, rulesOnce().dose, outbox::AlertOptions{}};
  intake::SafetyMonitor monitor{rulesOnce().evaluator, &planner};
  intake::IntakeService intake{store, clock, rulesOnce().catalogue, rulesOnce().grader, rulesOnce().reporting, &monitor};
  core::User inv{1, "inv1", core::Role::kInvestigator, {"S01"}, false};

  Fixture() {
    REQUIRE(intake.addSite("test", "S01", "Site one").isOk());
    auto token = intake.addUser("test", inv);
    REQUIRE(token.isOk());
    inv = store.userByTokenHash(core::sha256Hex(token.value())).value();
    for (const char* id : {"S01-001", "S01-002"}) {
      json p = {{"study_id", id}, {"site", "S01"}, {"enrolled_on", "2026-01-05"}, {"liver_metastases", false},
                {"prior_thoracic_radiotherapy", false}, {"baseline_labs", json::array()}};
      REQUIRE(intake.createParticipant(ctx(), p).isOk());
    }
  }
  intake::WriteContext ctx() { return {inv, std::nullopt, "h"}; }
  // Records a heart rate for S01-001 and corrects it: a correction that changes nothing alerted, so
  // that the supersede rules (which run on corrections) run again.
  void unrelatedCorrection() {
    json v = {{"study_id", "S01-001"}, {"measured_at", "2026-02-12T08:45:00Z"}, {"heart_rate_bpm", 80}};
    auto reading = intake.recordVitals(ctx(), v);
    REQUIRE(reading.isOk());
    v["heart_rate_bpm"] = 82;
    v["reason_for_change"] = "recounted";
    REQUIRE(intake.correctRecord(ctx(), vigil::intake::RecordType::kVitals, json::parse(reading.value().body)["id"], v).isOk());
  }
  // Registers S01-003, HBsAg-positive with a baseline HBV-DNA of 150 IU/mL (monitored by SI-HBV).
  json hbvCarrier() {
    json p = {{"study_id", "S01-003"}, {"site", "S01"}, {"enrolled_on", "2026-01-05"}, {"liver_metastases", false},
              {"prior_thoracic_radiotherapy", false}, {"baseline_labs", json::array()}, {"hbsag", "positive"},
              {"hbv_dna_iu_ml", 150}};
    REQUIRE(intake.createParticipant(ctx(), p).isOk());
    return p;
  }
  json ae(const std::string& study_id, const std::string& term, int grade, json serious, const std::string& verbatim) {
    return {{"study_id", study_id},
            {"verbatim", verbatim},
            {"ctcae_term", term},
            {"grade", grade},
            {"serious_criteria", serious},
            {"relatedness", {{"anlotinib", "not_related"}, {"sintilimab", "not_related"}}},
            {"action_taken", {{"anlotinib", "dose_not_changed"}, {"sintilimab", "dose_not_changed"}}},
            {"outcome", grade == 5 ? "fatal" : "not_recovered"},
            {"start", "2026-02-12"},
            {"end", grade == 5 ? json("2026-02-12") : json()},
            {"site_aware_at", "2026-02-12T08:00:00Z"},
            {"narrative", "Li Na, born 1958-03-01, was admitted."}};
  }
  std::vector<core::Alert> alerts(const std::string& cls = "") {
    core::AlertFilter f;
    if (!cls.empty()) f.alert_class = cls;
    return store.alerts(f).value();
  }
  size_t clockRaises(const char* when) {
    clock.set(at(when));
    auto n = planner.runClock(store, clock.nowMs());
    REQUIRE(n.isOk());
    return n.value();
  }
};

}  // namespace

TEST_CASE("every alert class is raised from real data, and every template renders it with nothing missing",
          "[outbox]") {
  Fixture f;
  // sae: a serious, unrelated infection; urgent (+ GEN-DEATH dose alerts): a death; digest: a flag.
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "pneumonia")).isOk());
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-002", "Lung infection", 5, {"death"}, "pneumonia")).isOk());
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-001", "Rash maculo-papular", 1, json::array(), "psoriasis flare")).isOk());
  CHECK(f.alerts("sae").size() == 1);
  CHECK(f.alerts("urgent").size() == 1);
  CHECK(f.alerts("dose").size() == 2);
  // deviation: anlotinib given the next day to the participant whose drugs were discontinued.
  f.clock.set(at("2026-02-13T05:00:00Z"));
  json dose = {{"study_id", "S01-002"}, {"drug", "anlotinib"}, {"dose_mg", 12}, {"route", "oral"},
                {"date", "2026-02-13"}, {"cycle", 2}, {"day", 1}, {"status", "given"}};
  REQUIRE(f.intake.recordDose(f.ctx(), dose).isOk());
  CHECK(f.alerts("deviation").size() == 1);
  // supersede: the serious infection's causality corrected (still serious, still unrelated).
  json corrected = f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "pneumonia");
  corrected["relatedness"]["anlotinib"] = "unlikely";
  corrected["reason"] = "causality reviewed";
  corrected["base_version"] = 1;
  REQUIRE(f.intake.updateAdverseEvent(f.ctx(), 1, corrected).isOk());
  CHECK(f.alerts("supersede").size() == 1);
  // The clock: escalation (nobody acknowledged within the hour), reminders, overdue, digest.
  CHECK(f.clockRaises("2026-02-12T10:00:00Z") == 2);  // both SAE-class alerts escalate
  CHECK(f.alerts("escalation").size() == 2);
  f.clockRaises("2026-02-13T07:00:00Z");
  CHECK(f.alerts("digest").size() == 1);
  f.clockRaises("2026-02-13T08:00:00Z");
  CHECK(f.alerts("overdue").size() == 2);  // the SAE and the fatal AE clocks (aware 08:00 + 24 h)

  // Every class now exists; each renders with the real templates, no placeholder left.
  std::set<std::string> classes;
  for (const auto& a : f.alerts()) {
    classes.insert(a.alert_class);
    auto r = rulesOnce().templates.render(a.alert_class, f.planner.renderFields(a));
    REQUIRE(r.isOk());
    for (const std::string* part : {&r.value().subject, &r.value().text, &r.value().html}) {
      CHECK(part->find("{{") == std::string::npos);
      for (const char* secret : {"Li Na", "1958", "admitted", "pneumonia", "psoriasis"}) {
        CHECK(part->find(secret) == std::string::npos);
      }
    }
    CHECK(r.value().subject.find('\n') == std::string::npos);
    CHECK(!a.deliveries.empty());
  }
  classes.insert("reminder");  // raised below, at its own times
  CHECK(classes == std::set<std::string>(outbox::alertClasses().begin(), outbox::alertClasses().end()));
  // The digest lists the flag with its rule, the dose alerts cite rule, verification and source.
  const auto digest = f.alerts("digest").front();
  CHECK_THAT(digest.payload, Catch::Contains("FLAG-AUTOIMMUNE-FLARE"));
  CHECK_THAT(f.alerts("dose").front().payload, Catch::Contains("GEN-DEATH (VERIFIED; source: "));
}

TEST_CASE("reminders come at 50 % and 90 % of a clock and overdue at its due time, each once", "[outbox]") {
  Fixture f;
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
  // site awareness 2026-02-12T08:00Z, due 2026-02-13T08:00Z: 50 % at 20:00, 90 % at 05:36.
  CHECK(f.clockRaises("2026-02-12T19:59:59Z") == 1);  // only the escalation of the unacknowledged alert
  CHECK(f.alerts("reminder").empty());
  CHECK(f.clockRaises("2026-02-12T20:00:00Z") == 1);
  CHECK(f.alerts("reminder").size() == 1);
  CHECK(f.alerts("reminder")[0].dedupe_key == "reminder50:deadline/1");
  CHECK(f.clockRaises("2026-02-12T20:00:01Z") == 0);
  CHECK(f.clockRaises("2026-02-13T05:35:59Z") == 0);
  CHECK(f.clockRaises("2026-02-13T05:36:00Z") == 1);
  CHECK(f.alerts("reminder").back().dedupe_key == "reminder90:deadline/1");
  CHECK(f.clockRaises("2026-02-13T07:59:59Z") == 0);
  CHECK(f.alerts("overdue").empty());
  CHECK(f.clockRaises("2026-02-13T08:00:00Z") == 1);
  CHECK(f.alerts("overdue").size() == 1);
  CHECK(f.clockRaises("2026-02-14T08:00:00Z") == 0);
  // A clock recorded as met gets nothing more.
  Fixture g;
  REQUIRE(g.intake.createAdverseEvent(g.ctx(), g.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
  REQUIRE(g.intake.markDeadlineMet(g.ctx(), 1, json{{"reference", "SAE-1"}}).isOk());
  g.clockRaises("2026-02-14T08:00:00Z");
  CHECK(g.alerts("reminder").empty());
  CHECK(g.alerts("overdue").empty());
}

TEST_CASE("an alert is raised once per key, however often the participant is re-evaluated", "[outbox]") {
  Fixture f;
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
  REQUIRE(f.monitor.sweep(f.store).isOk());
  REQUIRE(f.monitor.sweep(f.store).isOk());
  const auto sae = f.alerts("sae");
  REQUIRE(sae.size() == 1);
  CHECK(sae[0].deliveries.size() == 3);  // investigator, safety officer, sponsor PV
  std::set<std::string> ids;
  for (const auto& d : sae[0].deliveries) ids.insert(d.message_id);
  CHECK(ids.size() == 3);
  // An update making it fatal adds the urgent alert; the SAE alert stays the one it was.
  json fatal = f.ae("S01-001", "Lung infection", 5, {"death"}, "x");
  fatal["reason"] = "patient died";
  fatal["base_version"] = 1;
  REQUIRE(f.intake.updateAdverseEvent(f.ctx(), 1, fatal).isOk());
  CHECK(f.alerts("sae").size() == 1);
  CHECK(f.alerts("urgent").size() == 1);
}

TEST_CASE("the dispatcher sends, and retries with backoff keeping the Message-ID", "[outbox]") {
  Fixture f;
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
  FakeMailer mailer;
  outbox::DispatcherOptions o;
  o.give_up_after_ms = 60 * 1000;
  o.backoff_initial_ms = 1000;
  o.backoff_max_ms = 4000;
  o.clock_ms = 1000000000;
  outbox::Dispatcher dispatcher(f.store, mailer, rulesOnce().templates, f.planner, f.clock, o);
  mailer.failing = true;
  CHECK(dispatcher.runOnce() == 3);
  CHECK(dispatcher.runOnce() == 0);  // nothing due before the backoff
  auto d = f.alerts("sae")[0].deliveries[0];
  CHECK(d.state == "pending");
  CHECK(d.attempts == 1);
  CHECK(d.last_error == "550 refused");
  CHECK(d.next_attempt_ms >= f.clock.nowMs() + 500);
  CHECK(d.next_attempt_ms <= f.clock.nowMs() + 1000);
  f.clock.set(f.clock.nowMs() + 1000);
  CHECK(dispatcher.runOnce() == 3);
  d = f.alerts("sae")[0].deliveries[0];
  CHECK(d.attempts == 2);
  CHECK(d.next_attempt_ms >= f.clock.nowMs() + 1000);  // doubled: [1 s, 2 s]
  CHECK(d.next_attempt_ms <= f.clock.nowMs() + 2000);
  f.clock.set(f.clock.nowMs() + 2000);
  mailer.failing = false;
  mailer.sent.clear();
  // Two recipients succeed on the third attempt; make the third fail again to reach dead.
  CHECK(dispatcher.runOnce() == 3);
  CHECK(mailer.sent.size() == 3);
  std::set<std::string> retried(mailer.attempts.begin(), mailer.attempts.end());
  CHECK(retried.size() == 3);  // nine attempts, three Message-IDs
  const auto sent = f.alerts("sae");  // kept: a range-for over a temporary's member would dangle
  REQUIRE_FALSE(sent.empty());
  for (const auto& del : sent[0].deliveries) CHECK(del.state == "sent");
  CHECK(dispatcher.counters().sent == 3);
  CHECK(dispatcher.counters().failed_attempts == 6);
}

// A crash (kill -9) between the server's 250 and the commit resends what was not recorded: each
// outcome is committed before the next message goes out, so that is at most the one in flight.
TEST_CASE("each sent delivery is recorded before the next message goes out", "[outbox]") {
  Fixture f;
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-002", "Sepsis", 4, {"hospitalization"}, "y")).isOk());
  class Observing final : public mail::Mailer {
   public:
    explicit Observing(store::Store& s) : store_(s) {}
    core::Status send(const mail::MailMessage&) override {
      size_t recorded = 0;
      const auto alerts = store_.alerts({}).value();  // kept: a range-for over a temporary's member would dangle
      for (const auto& a : alerts)
        for (const auto& d : a.deliveries) recorded += d.state == "sent";
      sent_before.push_back(recorded);
      return core::Status::ok();
    }
    std::string describe() const override { return "observing"; }
    std::vector<size_t> sent_before;

   private:
    store::Store& store_;
  };
  Observing mailer(f.store);
  outbox::DispatcherOptions o;
  o.clock_ms = 1000000000;
  outbox::Dispatcher dispatcher(f.store, mailer, rulesOnce().templates, f.planner, f.clock, o);
  const size_t n = dispatcher.runOnce();
  REQUIRE(n >= 4);
  REQUIRE(mailer.sent_before.size() == n);
  for (size_t i = 0; i < n; ++i) CHECK(mailer.sent_before[i] == i);  // the i before it are already stored as sent
}

// The second soak: with the disk full, every commit failed and each pass sent the same messages
// again. A sent outcome the store cannot take is kept and nothing more is sent until it is stored.
TEST_CASE("while the store cannot record outcomes nothing is sent again", "[outbox]") {
  Fixture f;
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
  FakeMailer mailer;
  outbox::DispatcherOptions o;
  o.clock_ms = 1000000000;
  o.backoff_initial_ms = 1000;
  o.backoff_max_ms = 1000;
  outbox::Dispatcher dispatcher(f.store, mailer, rulesOnce().templates, f.planner, f.clock, o);
  mailer.failing = true;
  REQUIRE(dispatcher.runOnce() == 3);  // the clock has run; three recorded failures
  f.clock.set(f.clock.nowMs() + 2000);
  mailer.failing = false;
  store::Connection blocker(f.dir.file("vigil.db"), false);
  blocker.execute("BEGIN IMMEDIATE");  // every write of the store fails (after its busy timeout)
  CHECK(dispatcher.runOnce() == 1);   // one sent; its outcome cannot be stored; the pass stops
  CHECK(mailer.sent.size() == 1);
  CHECK(dispatcher.runOnce() == 0);   // the outcome still cannot be stored: nothing is sent
  CHECK(mailer.sent.size() == 1);
  blocker.execute("ROLLBACK");
  CHECK(dispatcher.runOnce() == 2);   // the kept outcome is stored, then the other two go
  REQUIRE(mailer.sent.size() == 3);
  std::set<std::string> ids;
  for (const auto& m : mailer.sent) ids.insert(m.message_id);
  CHECK(ids.size() == 3);  // each message once
  const auto sae = f.alerts("sae");  // kept: a range-for over a temporary's member would dangle
  REQUIRE(sae.size() == 1);
  for (const auto& d : sae[0].deliveries) CHECK(d.state == "sent");
}

TEST_CASE("a failing delivery is retried for as long as the give-up age, however many attempts that takes, then is dead",
          "[outbox]") {
  Fixture g;
  REQUIRE(g.intake.createAdverseEvent(g.ctx(), g.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
  const int64_t queued = g.clock.nowMs();
  FakeMailer down;
  down.failing = true;
  outbox::DispatcherOptions o;
  o.give_up_after_ms = 60 * 1000;
  o.backoff_initial_ms = 200;
  o.backoff_max_ms = 1000;
  o.clock_ms = 1000000000;
  outbox::Dispatcher gives_up(g.store, down, rulesOnce().templates, g.planner, g.clock, o);
  // Each attempt at the moment it is due; every failure before the give-up age keeps it pending.
  int attempts = 0;
  while (true) {
    const auto alerts = g.alerts("sae");
    REQUIRE_FALSE(alerts.empty());
    const auto d = alerts[0].deliveries[0];
    if (d.state != "pending") break;
    CHECK(d.pending_since_ms == queued);
    // Each delivery has its own jittered backoff: go to the moment all three are due.
    int64_t due = g.clock.nowMs();
    for (const auto& each : alerts[0].deliveries) due = std::max(due, each.next_attempt_ms);
    g.clock.set(due);
    REQUIRE(gives_up.runOnce() == 3);
    ++attempts;
    REQUIRE(attempts < 1000);
  }
  // Past 60 s at a backoff capped at 1 s: far more than the old fixed budget of 8 attempts.
  CHECK(attempts > 60);
  const auto dead = g.alerts("sae");
  for (const auto& del : dead[0].deliveries) {
    CHECK(del.state == "dead");
    CHECK(del.attempts == attempts);
  }
  // It died on the first failure at or past the give-up age, not before.
  CHECK(g.clock.nowMs() - queued >= o.give_up_after_ms);
  CHECK(g.clock.nowMs() - queued < o.give_up_after_ms + o.backoff_max_ms);
  CHECK(gives_up.counters().dead == 3);
  CHECK(g.store.outboxStats(g.clock.nowMs()).value().dead == 3);
}

TEST_CASE("the give-up age is exact: a failure 1 ms before it stays pending, at it the delivery is dead", "[outbox]") {
  for (const int64_t offset : {-1, 0, 1}) {
    Fixture g;
    REQUIRE(g.intake.createAdverseEvent(g.ctx(), g.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
    const int64_t queued = g.clock.nowMs();
    FakeMailer down;
    down.failing = true;
    outbox::DispatcherOptions o;
    o.give_up_after_ms = 10 * 1000;
    o.clock_ms = 1000000000;
    outbox::Dispatcher dispatcher(g.store, down, rulesOnce().templates, g.planner, g.clock, o);
    g.clock.set(queued + o.give_up_after_ms + offset);
    REQUIRE(dispatcher.runOnce() == 3);
    CHECK(g.alerts("sae")[0].deliveries[0].state == (offset < 0 ? "pending" : "dead"));
  }
}

TEST_CASE("a delivery pending past its class's threshold is late: logged once, written to the fallback, health degraded",
          "[outbox]") {
  Fixture g;
  REQUIRE(g.intake.createAdverseEvent(g.ctx(), g.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
  const int64_t queued = g.clock.nowMs();
  FakeMailer down;
  down.failing = true;
  FakeMailer fallback;
  core::HealthBoard health;
  outbox::DispatcherOptions o;
  o.backoff_initial_ms = 1000;
  o.backoff_max_ms = 60000;
  o.clock_ms = 1;  // the late check runs with the clock: here on every pass
  outbox::Dispatcher dispatcher(g.store, down, rulesOnce().templates, g.planner, g.clock, o);
  dispatcher.setFallback(&fallback, &health);
  const int64_t sae_late = outbox::AlertOptions{}.late_sae_ms;  // 1 h by default
  REQUIRE(g.alerts("sae")[0].deliveries[0].late_at_ms == queued + sae_late);
  // Just before the threshold: failing, but not late.
  g.clock.set(queued + sae_late - 1);
  dispatcher.runOnce();
  CHECK(fallback.sent.empty());
  CHECK(health.problems().empty());
  CHECK(g.store.outboxStats(g.clock.nowMs()).value().late == 0);
  // At it: late, each delivery written once to the fallback with its own Message-ID.
  g.clock.set(queued + sae_late);
  dispatcher.runOnce();
  CHECK(fallback.sent.size() == 3);
  CHECK(dispatcher.counters().late == 3);
  CHECK(g.store.outboxStats(g.clock.nowMs()).value().late == 3);
  REQUIRE(health.problems().count("outbox") == 1);
  CHECK(health.problems().at("outbox").find(std::to_string(g.alerts("sae")[0].id) + " (sae)") != std::string::npos);
  CHECK(health.problems().at("outbox").find("S01-001") == std::string::npos);
  for (const auto& s : fallback.sent) CHECK(s.subject.find("S01-001") != std::string::npos);
  // Later passes do not write it again.
  g.clock.set(queued + sae_late + 5000);
  dispatcher.runOnce();
  CHECK(fallback.sent.size() == 3);
  CHECK(dispatcher.counters().late == 3);
  // Once the server takes them, nothing is late and the health problem is withdrawn.
  down.failing = false;
  g.clock.set(queued + sae_late + 3600 * 1000);
  dispatcher.runOnce();
  g.clock.set(g.clock.nowMs() + 2000);
  dispatcher.runOnce();
  const auto sae = g.alerts("sae");  // (the clock's reminders were sent as well)
  for (const auto& del : sae[0].deliveries) CHECK(del.state == "sent");
  CHECK(g.store.outboxStats(g.clock.nowMs()).value().late == 0);
  CHECK(health.problems().empty());
}

TEST_CASE("backoff doubles from the initial delay up to the cap, with jitter in the upper half", "[outbox]") {
  std::mt19937_64 random(42);
  for (int i = 0; i < 200; ++i) {
    const int64_t first = outbox::Dispatcher::backoffMs(1, 1000, 60000, random);
    CHECK(first >= 500);
    CHECK(first <= 1000);
    const int64_t fourth = outbox::Dispatcher::backoffMs(4, 1000, 60000, random);
    CHECK(fourth >= 4000);
    CHECK(fourth <= 8000);
    const int64_t capped = outbox::Dispatcher::backoffMs(30, 1000, 60000, random);
    CHECK(capped >= 30000);
    CHECK(capped <= 60000);
  }
}

TEST_CASE("templates escape HTML, keep the subject on one line, and refuse missing or unknown fields", "[outbox]") {
  const auto& t = rulesOnce().templates;
  for (const auto& [cls, fields] : outbox::AlertPlanner::templateFields()) {
    mail::Fields hostile;
    for (const auto& name : fields) hostile[name] = "<b>" + name + "</b> & \"q\" 'a'\r\nBcc: evil@x.test";
    auto r = t.render(cls, hostile);
    REQUIRE(r.isOk());
    CHECK(r.value().subject.find('\n') == std::string::npos);
    CHECK(r.value().subject.find('\r') == std::string::npos);
    CHECK(r.value().text.find("{{") == std::string::npos);
    if (t.hasHtml(cls)) {
      CHECK(r.value().html.find("<b>") == std::string::npos);
      CHECK(r.value().html.find("&lt;b&gt;") != std::string::npos);
      CHECK(r.value().html.find("&amp; &quot;q&quot; &#39;a&#39;") != std::string::npos);
    }
    mail::Fields missing = hostile;
    missing.erase("site");
    auto m = t.render(cls, missing);
    REQUIRE(!m.isOk());
    CHECK_THAT(m.status().message(), Catch::Contains("no value for field 'site'"));
  }
  test::TempDir dir;
  std::ofstream(dir.file("sae.subject.txt")) << "{{study_id}} {{patient_name}}";
  std::ofstream(dir.file("sae.text.txt")) << "x";
  CHECK_THROWS_WITH(mail::Templates::load(dir.path(), {{"sae", {"study_id"}}}), Catch::Contains("unknown field '{{patient_name}}'"));
  CHECK_THROWS_WITH(mail::Templates::load(dir.path(), {{"dose", {"study_id"}}}), Catch::Contains("dose.subject.txt: missing"));
}

TEST_CASE("a message's MIME form cannot carry an injected header and is quoted-printable", "[outbox]") {
  mail::MailMessage m;
  m.from = "vigil@localhost";
  m.to = "a@b.test\r\nBcc: evil@x.test";
  m.subject = "Ödem grade 2\r\nBcc: evil@x.test";
  m.text = "line = one\n" + std::string(100, 'x') + "\n";
  m.message_id = "<vigil.abc@vigil.invalid>";
  m.date_ms = at("2026-02-12T09:00:00Z");
  const std::string mime = mail::toMime(m);
  CHECK(mime.find("\r\nBcc:") == std::string::npos);
  CHECK_THAT(mime, Catch::Contains("Subject: =?UTF-8?B?"));
  CHECK_THAT(mime, Catch::Contains("Date: Thu, 12 Feb 2026 09:00:00 GMT\r\n"));
  CHECK_THAT(mime, Catch::Contains("line =3D one\r\n"));
  CHECK_THAT(mime, Catch::Contains("=\r\n"));  // the 100-character line is soft-broken
  CHECK(mime.find("\n") == mime.find("\r\n") + 1);
}

TEST_CASE("routing refuses incomplete or malformed recipients and names the gap", "[outbox]") {
  const std::string classes =
      R"("classes":{"urgent":["investigator"],"sae":["investigator","sponsor_pv"],"dose":["investigator"],)"
      R"("deviation":["investigator"],"reminder":["investigator"],"overdue":["investigator"],)"
      R"("escalation":["safety_officer"],"digest":["investigator"]})";
  auto doc = [&](const std::string& rest) { return R"({"format":"vigil-recipients/1",)" + classes + "," + rest + "}"; };
  const std::string roles = R"("roles":{"sponsor_pv":["pv@s.test"],"safety_officer":["so@s.test","pv@s.test"]})";
  auto r = outbox::Routing::parse(doc(roles + R"(,"sites":{"S01":{"investigator":["a@s1.test"]},"*":{"investigator":["all@s.test"]}})"), "t");
  CHECK(r.recipients("sae", "S01").size() == 2);
  CHECK(r.recipients("sae", "S09")[0].address == "all@s.test");  // "*" covers other sites
  CHECK(r.recipients("escalation", "S01").size() == 2);
  CHECK_NOTHROW(r.checkSites({"S01", "S09"}));
  auto no_star = outbox::Routing::parse(doc(roles + R"(,"sites":{"S01":{"investigator":["a@s1.test"]}})"), "t");
  CHECK_THROWS_WITH(no_star.checkSites({"S01", "S02"}), Catch::Contains("investigators of site S02"));
  CHECK_THROWS_WITH(outbox::Routing::parse(doc(R"("roles":{"safety_officer":["so@s.test"]})"), "t"),
                    Catch::Contains("alert class sae goes to sponsor_pv, but roles.sponsor_pv has no address"));
  CHECK_THROWS_WITH(outbox::Routing::parse(doc(R"("roles":{"sponsor_pv":["not an address"],"safety_officer":["so@s.test"]})"), "t"),
                    Catch::Contains("'not an address' is not an email address"));
  CHECK_THROWS_WITH(outbox::Routing::parse(R"({"format":"vigil-recipients/1","classes":{"sae":["investigator"]}})", "t"),
                    Catch::Contains("classes.urgent is missing"));
  CHECK_THROWS_WITH(outbox::Routing::parse(doc(roles + R"(,"sites":{"S01":{"pv":["a@s1.test"]}})"), "t"),
                    Catch::Contains("only 'investigator' is per site"));
}

TEST_CASE("a pregnancy and its abnormal outcome each raise an SAE-class alert", "[outbox]") {
  Fixture f;
  json g = {{"study_id", "S01-001"}, {"subject", "partner"}, {"site_aware_at", "2026-02-12T08:00:00Z"}};
  REQUIRE(f.intake.recordPregnancy(f.ctx(), g).isOk());
  auto sae = f.alerts("sae");
  REQUIRE(sae.size() == 1);
  CHECK(sae[0].dedupe_key == "sae:pregnancy/1");
  CHECK_THAT(sae[0].payload, Catch::Contains("pregnancy_24h due 2026-02-13T08:00:00Z"));
  json outcome = {{"outcome", "congenital_anomaly"}, {"outcome_aware_at", "2026-02-12T08:30:00Z"}};
  REQUIRE(f.intake.recordPregnancyOutcome(f.ctx(), 1, outcome).isOk());
  sae = f.alerts("sae");
  REQUIRE(sae.size() == 2);
  CHECK(sae[1].dedupe_key == "sae:pregnancy/1/outcome");
  CHECK_THAT(sae[1].payload, Catch::Contains("PREG-OUTCOME"));
}

TEST_CASE("a single reading of 180 or 110 or more raises an SAE-class AESI alert at once but 179 over 109 does not", "[outbox]") {
  Fixture f;
  auto post = [&](int sys, int dia, const char* when) {
    json v = {{"study_id", "S01-001"}, {"measured_at", when}, {"systolic_mmhg", sys}, {"diastolic_mmhg", dia}};
    REQUIRE(f.intake.recordVitals(f.ctx(), v).isOk());
  };
  post(179, 109, "2026-02-12T07:00:00Z");
  CHECK(f.alerts("sae").empty());
  CHECK(f.alerts("dose").size() == 1);  // AN-HTN-3 holds anlotinib
  post(150, 110, "2026-02-12T08:30:00Z");
  auto sae = f.alerts("sae");
  REQUIRE(sae.size() == 1);
  CHECK(sae[0].dedupe_key == "sae:vitals/2");
  CHECK_THAT(sae[0].payload, Catch::Contains("AESI-HTN-READING"));
  CHECK_THAT(sae[0].payload, Catch::Contains("150/110 mmHg"));
  CHECK_THAT(sae[0].payload, Catch::Contains("aesi_24h due 2026-02-13T08:30:00Z (from the measurement)"));
  auto r = rulesOnce().templates.render("sae", f.planner.renderFields(sae[0]));
  REQUIRE(r.isOk());
  CHECK(r.value().text.find("{{") == std::string::npos);
  // Another high reading is its own AESI; re-evaluation raises neither again.
  post(186, 96, "2026-02-12T08:40:00Z");
  REQUIRE(f.monitor.sweep(f.store).isOk());
  CHECK(f.alerts("sae").size() == 2);
}

TEST_CASE("late data: a discontinuation resting on a missing reading says so, and the reading entered next supersedes it",
          "[outbox]") {
  // Issue 14.5, as found: a grade 3 blood pressure from weeks ago entered today; its 14-day hold
  // has "run out", so anlotinib is discontinued. The normal reading of a week later, entered a
  // moment after, resolves the hold in time: the discontinuation no longer stands.
  Fixture f;  // now 2026-02-12T09:00Z
  auto post = [&](int sys, int dia, const char* when) {
    json v = {{"study_id", "S01-001"}, {"measured_at", when}, {"systolic_mmhg", sys}, {"diastolic_mmhg", dia}};
    REQUIRE(f.intake.recordVitals(f.ctx(), v).isOk());
  };
  post(170, 100, "2026-01-20T09:00:00Z");
  auto dose = f.alerts("dose");
  REQUIRE(dose.size() == 1);
  const json was = json::parse(dose[0].payload);
  CHECK(was["action"] == "discontinue");
  CHECK_THAT(was["basis"].get<std::string>(),
             Catch::StartsWith("no Hypertension reading at or below grade 1 recorded since 2026-01-20: enter the "
                               "follow-up value before acting on this discontinuation"));
  CHECK(was["late"] == "yes: vitals/1 measured 2026-01-20T09:00:00.000Z, entered 2026-02-12T09:00:00.000Z (23 days later)");
  CHECK(was["supersedes"] == "none");
  auto rendered = rulesOnce().templates.render("dose", f.planner.renderFields(dose[0]));
  REQUIRE(rendered.isOk());
  CHECK_THAT(rendered.value().text, Catch::Contains("Rests on:     no Hypertension reading"));

  f.clock.set(at("2026-02-12T09:00:01Z"));
  post(132, 84, "2026-01-27T09:00:00Z");
  const auto sup = f.alerts("supersede");
  REQUIRE(sup.size() == 1);
  const json p = json::parse(sup[0].payload);
  CHECK(p["supersedes_id"] == std::to_string(dose[0].id));
  CHECK(p["was"] == "discontinue, dose none");
  CHECK(p["now"] == "continue, dose 10 mg");
  CHECK_THAT(p["changed"].get<std::string>(), Catch::Contains("now less restrictive"));
  CHECK_THAT(p["rules"].get<std::string>(), Catch::Contains("AN-HTN-3"));
  // To exactly the recipients of the alert it supersedes.
  std::multiset<std::string> to_before, to_now;
  for (const auto& d : dose[0].deliveries) to_before.insert(d.role + " " + d.recipient);
  for (const auto& d : sup[0].deliveries) to_now.insert(d.role + " " + d.recipient);
  CHECK(to_now == to_before);
  auto r = rulesOnce().templates.render("supersede", f.planner.renderFields(sup[0]));
  REQUIRE(r.isOk());
  CHECK_THAT(r.value().subject, Catch::StartsWith("[Vigil SUPERSEDES alert " + std::to_string(dose[0].id) + "]"));
  CHECK(r.value().text.find("{{") == std::string::npos);
  // Once: re-evaluation raises nothing more, and nothing stands alerted to supersede again.
  REQUIRE(f.monitor.sweep(f.store).isOk());
  CHECK(f.alerts("supersede").size() == 1);
  CHECK(f.alerts("dose").size() == 1);

  // A reading entered on time is not late, and a more restrictive change is a dose alert, not a
  // superseding one.
  f.clock.set(at("2026-02-12T10:00:00Z"));
  post(172, 104, "2026-02-12T09:30:00Z");
  dose = f.alerts("dose");
  REQUIRE(dose.size() == 2);
  CHECK(json::parse(dose[1].payload)["action"] == "hold");
  CHECK(json::parse(dose[1].payload)["late"] == "no");
  CHECK(f.alerts("supersede").size() == 1);
}

TEST_CASE("a participant registered outside the eligibility floors is registered, and each criterion missed is a deviation alert",
          "[outbox]") {
  Fixture f;
  json p = {{"study_id", "S01-009"}, {"site", "S01"}, {"enrolled_on", "2026-02-01"}, {"liver_metastases", false},
            {"prior_thoracic_radiotherapy", false}, {"ecog", 2}, {"age", 80},
            {"baseline_labs", {{{"test", "NEUT"}, {"value", 1.2}, {"unit", "10^9/L"}},
                               {{"test", "PLAT"}, {"value", 80}, {"unit", "10^9/L"}}}}};
  REQUIRE(f.intake.createParticipant(f.ctx(), p).isOk());
  std::set<std::string> codes;
  for (const auto& a : f.alerts("deviation")) {
    const json payload = json::parse(a.payload);
    CHECK(payload["code"] == "eligibility_not_met");
    codes.insert(payload["text"].get<std::string>().substr(0, 4));
    CHECK_THAT(payload["rules"].get<std::string>(), Catch::Contains("(VERIFIED; source: trial registry record"));
    auto r = rulesOnce().templates.render("deviation", f.planner.renderFields(a));
    REQUIRE(r.isOk());
  }
  CHECK(codes == std::set<std::string>{"ECOG", "NEUT"});  // age 80 and platelets 80 are inside
  // The DSMB sees them in the protocol-deviation listing: the safety changes hold them as findings.
  size_t findings = 0;
  const auto changes = f.store.safetyChanges("S01-009", {0, 100}).value();
  for (const auto& c : changes)
    if (c.kind == "finding" && json::parse(c.detail)["kind"] == "eligibility") ++findings;
  CHECK(findings == 2);
  // Re-evaluation raises nothing again.
  REQUIRE(f.monitor.sweep(f.store).isOk());
  CHECK(f.alerts("deviation").size() == 2);
}

TEST_CASE("a corrected or voided reading that took back a hold supersedes the dose alert it raised", "[outbox]") {
  Fixture f;  // now 2026-02-12T09:00Z
  json v = {{"study_id", "S01-001"}, {"measured_at", "2026-02-12T08:30:00Z"}, {"systolic_mmhg", 172},
            {"diastolic_mmhg", 104}};
  auto created = f.intake.recordVitals(f.ctx(), v);
  REQUIRE(created.isOk());
  const int64_t id = json::parse(created.value().body)["id"];
  const auto dose = f.alerts("dose");
  REQUIRE(dose.size() == 1);
  REQUIRE(json::parse(dose[0].payload)["action"] == "hold");
  CHECK(f.alerts("supersede").empty());

  SECTION("corrected") {
    v["systolic_mmhg"] = 132;
    v["diastolic_mmhg"] = 84;
    v["reason_for_change"] = "cuff reading misentered";
    REQUIRE(f.intake.correctRecord(f.ctx(), intake::RecordType::kVitals, id, v).isOk());
  }
  SECTION("voided") {
    REQUIRE(f.intake.voidRecord(f.ctx(), intake::RecordType::kVitals, id, {{"reason_for_change", "wrong participant"}})
                .isOk());
  }
  const auto sup = f.alerts("supersede");
  REQUIRE(sup.size() == 1);
  const json p = json::parse(sup[0].payload);
  CHECK(p["supersedes_id"] == std::to_string(dose[0].id));
  CHECK(p["was"] == "hold, dose 10 mg");
  CHECK(p["now"] == "continue, dose 12 mg");
  CHECK_THAT(p["changed"].get<std::string>(), Catch::Contains("now less restrictive"));
  CHECK_THAT(p["cause"].get<std::string>(), Catch::StartsWith("correct vital signs") || Catch::StartsWith("void vital signs"));
  // Once: a later correction of another record runs the supersede rules again and raises nothing.
  f.unrelatedCorrection();
  CHECK(f.alerts("supersede").size() == 1);
}

TEST_CASE("an SAE-class alert raised by a reading is superseded once the reading is voided or corrected below 180/110",
          "[outbox]") {
  Fixture f;  // now 2026-02-12T09:00Z
  json v = {{"study_id", "S01-001"}, {"measured_at", "2026-02-12T08:30:00Z"}, {"systolic_mmhg", 182},
            {"diastolic_mmhg", 100}};
  auto created = f.intake.recordVitals(f.ctx(), v);
  REQUIRE(created.isOk());
  const int64_t id = json::parse(created.value().body)["id"];
  const auto sae = f.alerts("sae");
  REQUIRE(sae.size() == 1);
  REQUIRE(sae[0].ref == "vitals/" + std::to_string(id));
  auto supersedingSae = [&] {
    std::vector<core::Alert> out;
    for (auto& a : f.alerts("supersede"))
      if (json::parse(a.payload)["supersedes_id"] == std::to_string(sae[0].id)) out.push_back(a);
    return out;
  };
  v["reason_for_change"] = "systolic 182 misread";
  SECTION("a correction that keeps it at 180 or more changes nothing alerted") {
    v["systolic_mmhg"] = 180;
    REQUIRE(f.intake.correctRecord(f.ctx(), intake::RecordType::kVitals, id, v).isOk());
    CHECK(supersedingSae().empty());
  }
  SECTION("a correction to 179 over 109") {
    v["systolic_mmhg"] = 179;
    v["diastolic_mmhg"] = 109;
    REQUIRE(f.intake.correctRecord(f.ctx(), intake::RecordType::kVitals, id, v).isOk());
    const auto sup = supersedingSae();
    REQUIRE(sup.size() == 1);
    const json p = json::parse(sup[0].payload);
    CHECK_THAT(p["now"].get<std::string>(), Catch::Contains("was corrected (version 2)"));
    std::multiset<std::string> to_before, to_now;
    for (const auto& d : sae[0].deliveries) to_before.insert(d.role + " " + d.recipient);
    for (const auto& d : sup[0].deliveries) to_now.insert(d.role + " " + d.recipient);
    CHECK(to_now == to_before);
    auto r = rulesOnce().templates.render("supersede", f.planner.renderFields(sup[0]));
    REQUIRE(r.isOk());
    CHECK(r.value().text.find("misread") == std::string::npos);  // the reason stays out of email
    // Once, whatever follows.
    v["systolic_mmhg"] = 170;
    REQUIRE(f.intake.correctRecord(f.ctx(), intake::RecordType::kVitals, id, v).isOk());
    CHECK(supersedingSae().size() == 1);
  }
  SECTION("voided") {
    REQUIRE(f.intake.voidRecord(f.ctx(), intake::RecordType::kVitals, id, {{"reason_for_change", "wrong participant"}})
                .isOk());
    const auto sup = supersedingSae();
    REQUIRE(sup.size() == 1);
    CHECK_THAT(json::parse(sup[0].payload)["now"].get<std::string>(), Catch::Contains("was voided"));
  }
}

TEST_CASE("a reading corrected back to 180/110 or more after its alert was withdrawn alerts again once, and withdrawn alerts do not escalate",
          "[outbox]") {
  Fixture f;  // now 2026-02-12T09:00Z; unacknowledged sae alerts escalate after an hour
  json v = {{"study_id", "S01-001"}, {"measured_at", "2026-02-12T08:30:00Z"}, {"systolic_mmhg", 182},
            {"diastolic_mmhg", 100}, {"reason_for_change", "transcription"}};
  json first = v;
  first.erase("reason_for_change");
  auto created = f.intake.recordVitals(f.ctx(), first);
  REQUIRE(created.isOk());
  const int64_t id = json::parse(created.value().body)["id"];
  const std::string ref = "vitals/" + std::to_string(id);
  auto saeOf = [&] {
    std::vector<core::Alert> out;
    for (auto& a : f.alerts("sae"))
      if (a.ref == ref) out.push_back(a);
    return out;
  };
  auto correct = [&](int systolic) {
    v["systolic_mmhg"] = systolic;
    REQUIRE(f.intake.correctRecord(f.ctx(), intake::RecordType::kVitals, id, v).isOk());
  };
  REQUIRE(saeOf().size() == 1);
  CHECK(saeOf()[0].escalate_at_ms == at("2026-02-12T10:00:00Z"));
  correct(179);  // version 2: withdrawn
  REQUIRE(f.alerts("supersede").size() == 1);
  CHECK_FALSE(saeOf()[0].escalate_at_ms.has_value());
  correct(180);  // version 3: stands again, at the limit
  auto sae = saeOf();
  REQUIRE(sae.size() == 2);
  CHECK(sae[1].dedupe_key == "sae:" + ref + ":after/" + std::to_string(sae[0].id));
  CHECK(json::parse(sae[1].payload)["record"] == "vital signs " + std::to_string(id) + " version 3");
  CHECK_THAT(sae[1].payload, Catch::Contains("180/100 mmHg"));
  CHECK(sae[1].escalate_at_ms == at("2026-02-12T10:00:00Z"));
  CHECK(sae[1].deliveries.size() == sae[0].deliveries.size());
  auto r = rulesOnce().templates.render("sae", f.planner.renderFields(sae[1]));
  REQUIRE(r.isOk());
  // Still standing at version 4, and on the sweep: nothing new.
  correct(185);
  REQUIRE(f.monitor.sweep(f.store).isOk());
  CHECK(saeOf().size() == 2);
  CHECK(f.alerts("supersede").size() == 1);
  // The hour passes: only the standing alert escalates, the withdrawn one does not.
  CHECK(f.clockRaises("2026-02-12T10:00:00Z") == 1);
  auto esc = f.alerts("escalation");
  REQUIRE(esc.size() == 1);
  CHECK(esc[0].ref == "alert/" + std::to_string(sae[1].id));
  // Withdrawn again at version 5: the second alert is superseded, once.
  correct(150);
  auto sup = f.alerts("supersede");
  REQUIRE(sup.size() == 2);
  CHECK(sup[1].dedupe_key == "supersede:alert/" + std::to_string(sae[1].id) + ":v5");
  // The stop is in the audit trail.
  bool audited = false;
  const auto entries = f.store.auditEntries().value();
  for (const auto& e : entries)
    if (e.action == "stop_escalation" && e.entity_id == std::to_string(sae[0].id)) audited = true;
  CHECK(audited);
}

TEST_CASE("an HBV-DNA result corrected below SI-HBV and back alerts again once per withdrawal", "[outbox]") {
  Fixture f;
  const json p = f.hbvCarrier();
  json l = {{"study_id", "S01-003"}, {"test", "HBVDNA"}, {"value", 1500}, {"unit", "IU/mL"},
            {"collected_at", "2026-02-12T08:30:00Z"}};
  auto created = f.intake.recordLabs(f.ctx(), l);
  REQUIRE(created.isOk());
  const int64_t id = json::parse(created.value().body)["id"];
  REQUIRE(f.alerts("sae").size() == 1);
  l["reason_for_change"] = "value misread";
  l["value"] = 1400;  // below 1 log10 over 150
  REQUIRE(f.intake.correctRecord(f.ctx(), intake::RecordType::kLab, id, l).isOk());
  size_t withdrawals = 0;  // the holds SI-HBV called for are superseded too, by alerts of their own
  for (const auto& a : f.alerts("supersede"))
    if (json::parse(a.payload)["supersedes_id"] == std::to_string(f.alerts("sae")[0].id)) ++withdrawals;
  CHECK(withdrawals == 1);
  CHECK_FALSE(f.alerts("sae")[0].escalate_at_ms.has_value());
  l["value"] = 1500;
  REQUIRE(f.intake.correctRecord(f.ctx(), intake::RecordType::kLab, id, l).isOk());
  auto sae = f.alerts("sae");
  REQUIRE(sae.size() == 2);
  CHECK(sae[1].dedupe_key == "sae:lab/" + std::to_string(id) + ":after/" + std::to_string(sae[0].id));
  CHECK(sae[1].escalate_at_ms.has_value());
  // The result also rests on the participant's serology: corrected to a non-carrier, the alert is
  // withdrawn though the result's own version did not change; corrected back, it alerts anew.
  auto withdrawalsOf = [&](int64_t alert_id) {
    std::vector<json> out;
    for (const auto& a : f.alerts("supersede")) {
      const json sp = json::parse(a.payload);
      if (sp["supersedes_id"] == std::to_string(alert_id)) out.push_back(sp);
    }
    return out;
  };
  json q = p;
  q["hbsag"] = "negative";
  q["reason_for_change"] = "serology of another participant";
  REQUIRE(f.intake.correctParticipant(f.ctx(), "S01-003", q).isOk());
  auto w = withdrawalsOf(sae[1].id);
  REQUIRE(w.size() == 1);
  CHECK_THAT(w[0]["now"].get<std::string>(), Catch::Contains("after a correction of the participant's baseline facts"));
  CHECK_FALSE(f.alerts("sae")[1].escalate_at_ms.has_value());
  q["hbsag"] = "positive";
  REQUIRE(f.intake.correctParticipant(f.ctx(), "S01-003", q).isOk());
  sae = f.alerts("sae");
  REQUIRE(sae.size() == 3);
  CHECK(sae[2].dedupe_key == "sae:lab/" + std::to_string(id) + ":after/" + std::to_string(sae[1].id));
  // An unrelated correction changes nothing alerted.
  q["weight_kg"] = 61;
  REQUIRE(f.intake.correctParticipant(f.ctx(), "S01-003", q).isOk());
  CHECK(f.alerts("sae").size() == 3);
  CHECK(withdrawalsOf(sae[2].id).empty());
}

TEST_CASE("a pregnancy's alerts are withdrawn by a void or an outcome corrected to ongoing, and alert again when it is abnormal again",
          "[outbox]") {
  Fixture f;
  json g = {{"study_id", "S01-001"}, {"subject", "partner"}, {"site_aware_at", "2026-02-12T08:00:00Z"}};
  REQUIRE(f.intake.recordPregnancy(f.ctx(), g).isOk());
  json outcome = {{"outcome", "congenital_anomaly"}, {"outcome_aware_at", "2026-02-12T08:30:00Z"}};
  REQUIRE(f.intake.recordPregnancyOutcome(f.ctx(), 1, outcome).isOk());
  // Sent again it changes nothing; another outcome takes a correction.
  REQUIRE(f.intake.recordPregnancyOutcome(f.ctx(), 1, outcome).isOk());
  CHECK(f.intake.recordPregnancyOutcome(f.ctx(), 1, {{"outcome", "live_birth"}, {"outcome_aware_at", "2026-02-12T08:40:00Z"}})
            .status()
            .code() == core::StatusCode::kConflict);
  REQUIRE(f.alerts("sae").size() == 2);
  json c = g;
  c["reason_for_change"] = "outcome entered for another pregnancy";
  c["outcome"] = "ongoing";
  REQUIRE(f.intake.correctRecord(f.ctx(), intake::RecordType::kPregnancy, 1, c).isOk());
  auto sae = f.alerts("sae");
  auto sup = f.alerts("supersede");
  REQUIRE(sup.size() == 1);
  CHECK(json::parse(sup[0].payload)["supersedes_id"] == std::to_string(sae[1].id));
  CHECK_THAT(json::parse(sup[0].payload)["now"].get<std::string>(),
             Catch::Contains("the outcome is no longer reported as serious"));
  CHECK(sae[0].escalate_at_ms.has_value());  // the pregnancy itself still stands
  CHECK_FALSE(sae[1].escalate_at_ms.has_value());
  REQUIRE(rulesOnce().templates.render("supersede", f.planner.renderFields(sup[0])).isOk());
  // An abnormal outcome again, by the outcome write: a new alert, once.
  REQUIRE(f.intake.recordPregnancyOutcome(f.ctx(), 1, {{"outcome", "pregnancy_loss"}, {"outcome_aware_at", "2026-02-12T08:45:00Z"}})
              .isOk());
  sae = f.alerts("sae");
  REQUIRE(sae.size() == 3);
  CHECK(sae[2].dedupe_key == "sae:pregnancy/1/outcome:after/" + std::to_string(sae[1].id));
  REQUIRE(f.monitor.sweep(f.store).isOk());
  CHECK(f.alerts("sae").size() == 3);
  // Withdrawn again (version 3), then abnormal again by a correction (version 4).
  c["outcome"] = "ongoing";
  REQUIRE(f.intake.correctRecord(f.ctx(), intake::RecordType::kPregnancy, 1, c).isOk());
  REQUIRE(f.alerts("supersede").size() == 2);
  c["outcome"] = "congenital_anomaly";
  c["outcome_aware_at"] = "2026-02-12T08:50:00Z";
  REQUIRE(f.intake.correctRecord(f.ctx(), intake::RecordType::kPregnancy, 1, c).isOk());
  sae = f.alerts("sae");
  REQUIRE(sae.size() == 4);
  CHECK(sae[3].dedupe_key == "sae:pregnancy/1/outcome:after/" + std::to_string(sae[2].id));
  CHECK(json::parse(sae[3].payload)["record"] == "pregnancy/1 version 4");
  // Voided: both standing alerts are withdrawn, each once.
  REQUIRE(f.intake.voidRecord(f.ctx(), intake::RecordType::kPregnancy, 1, {{"reason_for_change", "wrong participant"}})
              .isOk());
  sup = f.alerts("supersede");
  REQUIRE(sup.size() == 4);
  std::set<std::string> withdrawn;
  for (size_t i = 2; i < sup.size(); ++i) {
    const json sp = json::parse(sup[i].payload);
    withdrawn.insert(sp["supersedes_id"].get<std::string>());
    CHECK_THAT(sp["now"].get<std::string>(), Catch::Contains("was voided: the pregnancy is not on record"));
  }
  CHECK(withdrawn == std::set<std::string>{std::to_string(sae[0].id), std::to_string(sae[3].id)});
  for (const auto& a : f.alerts("sae")) CHECK_FALSE(a.escalate_at_ms.has_value());
  CHECK(f.clockRaises("2026-02-12T12:00:00Z") == 0);
  CHECK(f.alerts("escalation").empty());
}

TEST_CASE("an SAE corrected to not serious stops escalating and escalates again when corrected back", "[outbox]") {
  Fixture f;
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
  const auto sae = f.alerts("sae");
  REQUIRE(sae.size() == 1);
  const auto first = sae[0].escalate_at_ms;
  REQUIRE(first == at("2026-02-12T10:00:00Z"));
  json lower = f.ae("S01-001", "Lung infection", 2, json::array(), "x");
  lower["reason"] = "outpatient";
  lower["base_version"] = 1;
  REQUIRE(f.intake.updateAdverseEvent(f.ctx(), 1, lower).isOk());
  CHECK_FALSE(f.alerts("sae")[0].escalate_at_ms.has_value());
  // Another write of the participant, a correction among them, leaves that as it is.
  f.unrelatedCorrection();
  CHECK_FALSE(f.alerts("sae")[0].escalate_at_ms.has_value());
  CHECK(f.alerts("supersede").size() == 1);
  CHECK(f.clockRaises("2026-02-12T10:00:00Z") == 0);
  json again = f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x");
  again["reason"] = "admitted after all";
  again["base_version"] = 2;
  REQUIRE(f.intake.updateAdverseEvent(f.ctx(), 1, again).isOk());
  CHECK(f.alerts("sae")[0].escalate_at_ms == first);
  CHECK(f.alerts("supersede").size() == 2);  // withdrawn, then standing again
  CHECK(f.clockRaises("2026-02-12T10:00:01Z") == 1);
  CHECK(f.alerts("escalation").size() == 1);
}

TEST_CASE("a voided SAE report supersedes its SAE alert once", "[outbox]") {
  Fixture f;
  auto created = f.intake.createAdverseEvent(
      f.ctx(), f.ae("S01-001", "Sepsis", 3, {"hospitalization"}, "sepsis, admitted"));
  REQUIRE(created.isOk());
  const int64_t id = json::parse(created.value().body)["id"];
  const auto sae = f.alerts("sae");
  REQUIRE(sae.size() == 1);
  REQUIRE(f.intake.voidAdverseEvent(f.ctx(), id, {{"reason_for_change", "entered for the wrong participant"}}).isOk());
  const auto sup = f.alerts("supersede");
  REQUIRE(sup.size() == 1);
  const json p = json::parse(sup[0].payload);
  CHECK(p["supersedes_id"] == std::to_string(sae[0].id));
  CHECK(p["now"] == "adverse event " + std::to_string(id) + " was voided: the event is not on record");
  CHECK_FALSE(f.alerts("sae")[0].escalate_at_ms.has_value());  // withdrawn: it does not escalate
  CHECK(sup[0].deliveries.size() == sae[0].deliveries.size());
  auto r = rulesOnce().templates.render("supersede", f.planner.renderFields(sup[0]));
  REQUIRE(r.isOk());
  CHECK(r.value().text.find("wrong participant") == std::string::npos);  // the reason stays out of email
  // Once: a later correction of another record runs the supersede rules again and raises nothing.
  f.unrelatedCorrection();
  CHECK(f.alerts("supersede").size() == 1);
}

TEST_CASE("an alert queued before the late, basis and supersedes fields existed still renders and is sent", "[outbox]") {
  // A pending delivery across the upgrade: its payload lacks the fields the new templates use.
  Fixture f;
  int64_t id = 0;
  REQUIRE(f.store.write([&](store::Transaction& tx) {
                   json dose = {{"drug", "anlotinib"}, {"action", "hold"}, {"dose", "12 mg"}, {"previous", "continue, dose 12 mg"},
                                {"rules", "- AN-HEM-2\n"}, {"resume", "none"}, {"discontinue_after", "none"},
                                {"events", "- none recorded\n"}, {"link", "http://x/"}};
                   id = f.planner.raise(tx, "dose", "dose:old/1", "S01-001", "S01", "old/1", dose, "test");
                   json dev = {{"code", "dose_during_hold"}, {"drug", "anlotinib"}, {"date", "2026-02-13"},
                               {"text", "given during a hold"}, {"rules", "- AN-HEM-2\n"}, {"link", "http://x/"}};
                   f.planner.raise(tx, "deviation", "deviation:old/2", "S01-001", "S01", "old/2", dev, "test");
                   return core::Status::ok();
                 }).isOk());
  for (const auto& a : f.alerts()) {
    auto r = rulesOnce().templates.render(a.alert_class, f.planner.renderFields(a));
    INFO(a.alert_class);
    REQUIRE(r.isOk());
    CHECK_THAT(r.value().text, Catch::Contains("not assessed (raised before late entries were marked)"));
  }
  auto dose = rulesOnce().templates.render("dose", f.planner.renderFields(*f.store.alert(id).value()));
  REQUIRE(dose.isOk());
  CHECK_THAT(dose.value().text, Catch::Contains("Supersedes:   none"));
  // A field that is not one of those still fails the delivery rather than sending a gap.
  core::Alert broken = *f.store.alert(id).value();
  json p = json::parse(broken.payload);
  p.erase("resume");
  broken.payload = p.dump();
  CHECK_FALSE(rulesOnce().templates.render("dose", f.planner.renderFields(broken)).isOk());
}

TEST_CASE("late entry: a record entered 3 days after it occurred is on time, a second more is late", "[outbox]") {
  Fixture f;  // now 2026-02-12T09:00Z
  store::History h;
  core::VitalSigns on_time, late;
  on_time.id = 1, late.id = 2;
  on_time.measured_at = "2026-02-09T09:00:00Z";
  late.measured_at = "2026-02-09T08:59:59Z";
  on_time.recorded_at = late.recorded_at = "2026-02-12T09:00:00Z";
  h.vitals = {on_time, late};
  CHECK(f.planner.lateEntry(h, "vitals/1").empty());
  CHECK(f.planner.lateEntry(h, "vitals/2") ==
        "vitals/2 measured 2026-02-09T08:59:59Z, entered 2026-02-12T09:00:00Z (3 days later)");
  CHECK(f.planner.lateEntry(h, "vitals/3").empty());  // no such record
}

TEST_CASE("a correction of an alerted AE supersedes its alert, one that changes nothing alerted does not", "[outbox]") {
  Fixture f;
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x")).isOk());
  const auto sae = f.alerts("sae");
  REQUIRE(sae.size() == 1);
  json same = f.ae("S01-001", "Lung infection", 3, {"hospitalization"}, "x, on oxygen");
  same["reason"] = "verbatim completed";
  same["base_version"] = 1;
  REQUIRE(f.intake.updateAdverseEvent(f.ctx(), 1, same).isOk());
  CHECK(f.alerts("supersede").empty());
  json lower = f.ae("S01-001", "Lung infection", 2, json::array(), "x");
  lower["reason"] = "outpatient; grade 2 on review";
  lower["base_version"] = 2;
  REQUIRE(f.intake.updateAdverseEvent(f.ctx(), 1, lower).isOk());
  const auto sup = f.alerts("supersede");
  REQUIRE(sup.size() == 1);
  CHECK(sup[0].dedupe_key == "supersede:alert/" + std::to_string(sae[0].id) + ":v3");
  const json p = json::parse(sup[0].payload);
  CHECK(p["changed"] == "corrected to version 3: grade 3 -> 2; seriousness hospitalization -> not serious");
  CHECK_THAT(p["now"].get<std::string>(), Catch::Contains("no longer serious or of special interest"));
  CHECK(p["cause"] == "correction recorded 2026-02-12T09:00:00.000Z");
  CHECK(p.dump().find("outpatient") == std::string::npos);  // the reason for change is free text: not emailed
  CHECK(sup[0].deliveries.size() == sae[0].deliveries.size());
  REQUIRE(f.monitor.sweep(f.store).isOk());
  CHECK(f.alerts("supersede").size() == 1);
}

TEST_CASE("the SMTP mailer authenticates with AUTH LOGIN and AUTH PLAIN, and a wrong password fails", "[outbox]") {
  test::SmtpSink sink;
  test::SinkOptions o;
  o.auth = "vigil:s3cret";
  sink.start(o);
  mail::MailMessage m;
  m.from = "vigil@localhost";
  m.to = "so@trial.test";
  m.subject = "auth test";
  m.text = "body\n.\nafter a lone dot\n";
  m.message_id = "<vigil.auth@vigil.invalid>";
  m.date_ms = at("2026-02-12T09:00:00Z");
  for (auto method : {mail::SmtpAuth::kLogin, mail::SmtpAuth::kPlain}) {
    mail::SmtpOptions s;
    s.host = "127.0.0.1";
    s.port = sink.port();
    s.auth = method;
    s.user = "vigil";
    s.password = "s3cret";
    mail::SmtpMailer mailer(s);
    auto status = mailer.send(m);
    INFO(status.message() << " method " << static_cast<int>(method));
    CHECK(status.isOk());
    mailer.idle();
    s.password = "wrong";
    mail::SmtpMailer refused(s);
    CHECK(!refused.send(m).isOk());
  }
  REQUIRE(sink.waitFor(2));
  const auto got = sink.messages();
  REQUIRE(got.size() == 2);
  CHECK(got[0].header("message-id") == "<vigil.auth@vigil.invalid>");
  CHECK_THAT(got[0].body, Catch::Contains("body\r\n.\r\nafter a lone dot"));  // dot-stuffing undone by the server
}

TEST_CASE("the SMTP mailer speaks STARTTLS and SMTPS, and refuses a certificate it cannot verify", "[outbox]") {
  for (const char* mode : {"starttls", "smtps"}) {
    INFO(mode);
    test::SmtpSink sink;
    test::SinkOptions o;
    o.tls = mode;
    o.auth = "vigil:s3cret";
    sink.start(o);
    mail::MailMessage m;
    m.from = "vigil@localhost";
    m.to = "so@trial.test";
    m.subject = std::string("over ") + mode;
    m.text = "body\n";
    m.message_id = std::string("<vigil.") + mode + "@vigil.invalid>";
    m.date_ms = at("2026-02-12T09:00:00Z");
    mail::SmtpOptions s;
    s.host = "127.0.0.1";
    s.port = sink.port();
    s.tls = std::string(mode) == "starttls" ? mail::SmtpTls::kStartTls : mail::SmtpTls::kSmtps;
    s.auth = mail::SmtpAuth::kLogin;
    s.user = "vigil";
    s.password = "s3cret";
    s.timeout_ms = 5000;
    // The test server's certificate is self-signed: with verification on, nothing is sent.
    {
      mail::SmtpMailer checked(s);
      const auto refused = checked.send(m);
      CHECK_FALSE(refused.isOk());
      CHECK_THAT(refused.message(), Catch::Contains("certificate"));
    }
    s.verify_certificate = false;
    mail::SmtpMailer mailer(s);
    auto status = mailer.send(m);
    INFO(status.message());
    CHECK(status.isOk());
    mailer.idle();
    REQUIRE(sink.waitFor(1));
    const auto got = sink.messages();
    REQUIRE(got.size() == 1);
    CHECK(got[0].tls);
    CHECK(got[0].header("subject") == m.subject);
  }
}

TEST_CASE("an HBV-DNA result meeting SI-HBV in a carrier raises an SAE-class AESI alert at once, and a dose alert", "[outbox]") {
  Fixture f;
  f.hbvCarrier();
  auto post = [&](const char* study_id, double value, const char* unit, const char* when) {
    json l = {{"study_id", study_id}, {"test", "HBVDNA"}, {"value", value}, {"unit", unit}, {"collected_at", when}};
    auto r = f.intake.recordLabs(f.ctx(), l);
    INFO((r.isOk() ? r.value().body : r.status().message()));
    REQUIRE(r.isOk());
  };
  // A participant negative for both markers is not monitored: no alert whatever the value.
  post("S01-001", 50000, "IU/mL", "2026-02-12T06:00:00Z");
  CHECK(f.alerts().empty());
  post("S01-003", 1400, "IU/mL", "2026-02-12T07:00:00Z");  // < 1 log10 over 150, < 2000
  CHECK(f.alerts().empty());
  post("S01-003", 7500, "copies/mL", "2026-02-12T08:30:00Z");  // 1500 IU/mL: 1 log10 over 150
  auto sae = f.alerts("sae");
  REQUIRE(sae.size() == 1);
  CHECK(sae[0].dedupe_key == "sae:lab/3");
  CHECK_THAT(sae[0].payload, Catch::Contains("AESI-HBV"));
  CHECK_THAT(sae[0].payload, Catch::Contains("HBV-DNA 7500 copies/mL"));
  CHECK_THAT(sae[0].payload, Catch::Contains("aesi_24h due 2026-02-13T08:30:00Z (from the collection)"));
  auto r = rulesOnce().templates.render("sae", f.planner.renderFields(sae[0]));
  REQUIRE(r.isOk());
  CHECK(r.value().text.find("{{") == std::string::npos);
  auto dose = f.alerts("dose");
  REQUIRE(dose.size() == 2);  // both drugs held by SI-HBV
  CHECK_THAT(dose[0].payload, Catch::Contains("SI-HBV"));
  // Unit and value are checked before anything is stored.
  json bad = {{"study_id", "S01-003"}, {"test", "HBVDNA"}, {"value", -5}, {"unit", "log IU/mL"},
              {"collected_at", "2026-02-12T08:40:00Z"}};
  auto refused = f.intake.recordLabs(f.ctx(), bad);
  REQUIRE_FALSE(refused.isOk());
  CHECK(refused.status().fields().size() == 1);
  CHECK(refused.status().fields()[0].field == "unit");
}

TEST_CASE("a steroid dose of >= 1 mg/kg for an irAE opens its stored AESI clock and alerts, like the evaluation", "[outbox]") {
  Fixture f;
  json p = {{"study_id", "S01-004"}, {"site", "S01"}, {"enrolled_on", "2026-01-05"}, {"liver_metastases", false},
            {"prior_thoracic_radiotherapy", false}, {"baseline_labs", json::array()}, {"weight_kg", 60}};
  REQUIRE(f.intake.createParticipant(f.ctx(), p).isOk());
  json ae = f.ae("S01-004", "Colitis", 2, json::array(), "colitis");
  ae["relatedness"] = {{"anlotinib", "unlikely"}, {"sintilimab", "probable"}};
  auto created = f.intake.createAdverseEvent(f.ctx(), ae);
  REQUIRE(created.isOk());
  const int64_t ae_id = json::parse(created.value().body)["id"];
  auto clocks = [&] {
    core::DeadlineFilter filter;
    filter.study_id = "S01-004";
    return f.store.deadlines(filter).value();
  };
  CHECK(clocks().empty());  // colitis G2 is not of special interest by itself
  CHECK(f.alerts("sae").empty());
  json m = {{"study_id", "S01-004"}, {"name", "prednisone"}, {"category", "corticosteroid"}, {"dose", 59},
            {"unit", "mg"}, {"route", "oral"}, {"frequency", "QD"}, {"start", "2026-02-12"}, {"indication_ae_id", ae_id}};
  REQUIRE(f.intake.recordMedication(f.ctx(), m).isOk());
  CHECK(clocks().empty());  // 59 mg for 60 kg
  m["dose"] = 60;
  m["start"] = "2026-02-12";
  REQUIRE(f.intake.recordMedication(f.ctx(), m).isOk());  // another 60 mg record: 119 mg/day from 02-12
  auto stored = clocks();
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].kind == "aesi_24h");
  CHECK(stored[0].anchor == "site_aware");  // the steroid began before site awareness of the AE
  auto sae = f.alerts("sae");
  REQUIRE(sae.size() == 1);
  CHECK_THAT(sae[0].payload, Catch::Contains("AESI-IRAE-STEROID"));
}

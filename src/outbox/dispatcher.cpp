#include "outbox/dispatcher.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace vigil::outbox {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto l = spdlog::get("outbox");
    return l ? l : spdlog::default_logger();
  }();
  return logger;
}

}  // namespace

Dispatcher::Dispatcher(store::Store& store, mail::Mailer& mailer, const mail::Templates& templates,
                       const AlertPlanner& planner, const core::Clock& clock, DispatcherOptions options)
    : store_(store),
      mailer_(mailer),
      templates_(templates),
      planner_(planner),
      clock_(clock),
      options_(std::move(options)),
      random_(std::random_device{}()) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t Dispatcher::backoffMs(int failed, int64_t initial_ms, int64_t max_ms, std::mt19937_64& random) {
  int64_t delay = initial_ms;
  for (int i = 1; i < failed && delay < max_ms; ++i) delay *= 2;
  delay = std::min(delay, max_ms);
  std::uniform_int_distribution<int64_t> jitter(delay / 2, delay);
  return jitter(random);
}

void Dispatcher::loop() {
  while (true) {
    size_t attempted = 0;
    try {
      attempted = runOnce();
    } catch (const std::exception& e) {
      log()->error("outbox pass failed: {}", e.what());
    }
    std::unique_lock lock(mutex_);
    if (stopping_) break;
    if (attempted == 0) {
      mailer_.idle();
      wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_; });
      if (stopping_) break;
    }
  }
  mailer_.idle();
}

size_t Dispatcher::runOnce() {
  const int64_t now = clock_.nowMs();
  if (now >= next_clock_ms_) {
    next_clock_ms_ = now + options_.clock_ms;
    auto raised = planner_.runClock(store_, now);
    if (!raised.isOk()) log()->warn("alert clock failed, next try in {} ms: {}", options_.clock_ms, raised.status().message());
  }
  if (now >= next_late_check_ms_) {
    next_late_check_ms_ = now + options_.clock_ms;
    checkLate(now);
  }
  // A sent outcome the store could not take goes first, before the due list is read (which
  // would still hold it); until it is recorded nothing more is sent (retried every poll_ms).
  if (unrecorded_) {
    if (!recordOutcome(unrecorded_->first, unrecorded_->second)) return 0;
    unrecorded_.reset();
  }
  auto due = store_.dueDeliveries(now, options_.batch);
  if (!due.isOk()) {
    log()->warn("cannot read the outbox: {}", due.status().message());
    return 0;
  }
  if (due.value().empty()) return 0;

  // Each outcome is committed as soon as the server has answered, before the next message goes
  // out: a kill -9 can then resend at most the one message whose 250 was not yet recorded (with
  // the same Message-ID), not every message of the batch.
  size_t attempted = 0;
  for (const auto& alert : due.value()) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;  // the rest waits for the next start
    }
    core::AlertDelivery d = alert.deliveries.front();
    core::Status status = core::Status::ok();
    const mail::MailMessage m = compose(alert, d, now, status);
    if (status.isOk()) status = mailer_.send(m);
    ++d.attempts;
    const int64_t after = clock_.nowMs();
    std::string event;
    if (status.isOk()) {
      d.state = "sent";
      d.sent_at = core::formatTimestamp(after);
      d.last_error.clear();
      event = "sent";
      ++counters_.sent;
    } else if (after - d.pending_since_ms >= options_.give_up_after_ms) {
      d.state = "dead";
      d.last_error = status.message();
      event = "dead";
      ++counters_.dead;
      log()->error("alert {} ({}) to role {} is dead: still failing after {} attempts over {} s; deliver it by hand "
                   "(the .eml fallback folder holds it) or run vigilctl alerts retry {}: {}",
                   alert.id, alert.alert_class, d.role, d.attempts, (after - d.pending_since_ms) / 1000, alert.id,
                   status.message());
    } else {
      d.last_error = status.message();
      const int64_t delay = backoffMs(d.attempts, options_.backoff_initial_ms, options_.backoff_max_ms, random_);
      d.next_attempt_ms = after + delay;
      event = "failed";
      ++counters_.failed_attempts;
      log()->warn("alert {} to role {} failed (attempt {}), retry in {} ms: {}", alert.id, d.role, d.attempts, delay,
                  status.message());
    }
    ++attempted;
    if (!recordOutcome(d, event)) {
      // The store fails: a sent message is remembered, never sent again by this process; stop
      // sending until the store takes it.
      if (d.state == "sent") unrecorded_.emplace(d, event);
      break;
    }
  }
  return attempted;
}

bool Dispatcher::recordOutcome(const core::AlertDelivery& d, const std::string& event) {
  core::Status s = store_.write([&](store::Transaction& tx) {
    tx.updateDelivery(d);
    nlohmann::json after = {{"alert_id", d.alert_id},
                            {"role", d.role},
                            {"state", d.state},
                            {"attempts", d.attempts},
                            {"message_id", d.message_id}};
    if (!d.last_error.empty()) after["error"] = d.last_error;
    tx.appendAudit({"vigild", event, "alert_delivery", std::to_string(d.id), "", after.dump()});
    return core::Status::ok();
  });
  if (!s.isOk())
    log()->error("alert {} to role {} was attempted ({}) but the outcome could not be stored ({}); nothing more is "
                 "sent until it is",
                 d.alert_id, d.role, event, s.message());
  return s.isOk();
}

mail::MailMessage Dispatcher::compose(const core::Alert& alert, const core::AlertDelivery& d, int64_t now,
                                     core::Status& status) const {
  mail::MailMessage m;
  auto rendered = templates_.render(alert.alert_class, planner_.renderFields(alert));
  if (!rendered.isOk()) {
    status = rendered.status();
    return m;
  }
  m.from = options_.from;
  m.to = d.recipient;
  m.subject = rendered.value().subject;
  m.text = rendered.value().text;
  m.html = rendered.value().html;
  m.message_id = d.message_id;
  m.date_ms = core::parseTimestamp(alert.created_at).value_or(now);
  m.alert_ref = "alert/" + std::to_string(alert.id);
  return m;
}

void Dispatcher::checkLate(int64_t now) {
  auto late = store_.deliveriesIn(store::DeliveryState::kLate, now, 10000);
  if (!late.isOk()) {
    log()->warn("cannot read late deliveries: {}", late.status().message());
    return;
  }
  std::set<int64_t> still_late;
  std::string ids;
  for (const auto& alert : late.value()) {
    const core::AlertDelivery& d = alert.deliveries.front();
    still_late.insert(d.id);
    if (ids.size() < 200) ids += (ids.empty() ? "" : ", ") + std::to_string(alert.id) + " (" + alert.alert_class + ")";
    if (late_noted_.count(d.id)) continue;
    ++counters_.late;
    std::string written = "no fallback folder";
    if (fallback_) {
      core::Status status = core::Status::ok();
      const mail::MailMessage m = compose(alert, d, now, status);
      if (status.isOk()) status = fallback_->send(m);
      written = status.isOk() ? "written to " + fallback_->describe() : "NOT written: " + status.message();
    }
    log()->error("alert {} ({}) to role {} is late: pending {} s after it was queued ({} attempts, last error: {}); "
                 "send it by hand, the message is {}",
                 alert.id, alert.alert_class, d.role, (now - d.pending_since_ms) / 1000, d.attempts,
                 d.last_error.empty() ? "none" : d.last_error, written);
  }
  late_noted_ = std::move(still_late);  // a delivery sent or dead is forgotten
  if (health_) {
    if (late_noted_.empty()) health_->clear("outbox");
    else health_->set("outbox", std::to_string(late_noted_.size()) + " alert deliveries late: alerts " + ids);
  }
}

core::Result<int> retryDeliveries(store::Store& store, std::optional<int64_t> alert_id, const std::string& actor,
                                  int64_t now_ms) {
  std::vector<int64_t> alert_ids;
  if (alert_id) {
    alert_ids.push_back(*alert_id);
  } else {
    auto dead = store.deliveriesIn(store::DeliveryState::kDead, now_ms, 1000000);
    if (!dead.isOk()) return dead.status();
    for (const auto& a : dead.value())
      if (alert_ids.empty() || alert_ids.back() != a.id) alert_ids.push_back(a.id);
  }
  int put_back = 0;
  core::Status s = store.write([&](store::Transaction& tx) {
    put_back = 0;
    for (const int64_t id : alert_ids) {
      auto alert = tx.alert(id);
      if (!alert) return core::Status::notFound("no alert " + std::to_string(id));
      for (core::AlertDelivery d : alert->deliveries) {
        const std::string before = d.state;
        if (d.state == "dead") {
          const int64_t late_span = d.late_at_ms - d.pending_since_ms;
          d.state = "pending";
          d.pending_since_ms = now_ms;
          d.late_at_ms = now_ms + late_span;
        } else if (d.state != "pending" || !alert_id) {
          continue;
        }
        d.next_attempt_ms = now_ms;
        tx.updateDelivery(d);
        tx.appendAudit({actor, "retry", "alert_delivery", std::to_string(d.id), nlohmann::json{{"state", before}}.dump(),
                        nlohmann::json{{"alert_id", d.alert_id}, {"role", d.role}, {"state", d.state}}.dump()});
        ++put_back;
      }
    }
    return core::Status::ok();
  });
  if (!s.isOk()) return s;
  return put_back;
}

}  // namespace vigil::outbox

#pragma once
// The outbox's one sending thread (STYLE section 2, step 4). Each pass: run the alert clock when
// it is due (reminders, overdue, escalation, digests), then take the pending deliveries that are
// due, render each from its alert's payload and the templates, send it through the Mailer, and
// record its outcome in its own unit of work before the next is sent: sent; or a failed attempt
// with the next one after an exponential backoff with jitter, capped; retrying is bounded by time, not by
// a count, so a mail outage of any length loses nothing: only a delivery still failing
// give_up_after_ms after it was queued is dead (an ERROR line, a metric, /healthz degraded).
// A delivery pending past its class's late threshold (AlertOptions::lateAfterMs) is late: once
// per delivery and process it logs an ERROR naming the alert, writes the message to the
// fallback mailer (the .eml folder) so a person can send it by hand, and the health board shows
// "outbox" degraded while any is late. A delivery is marked only after the server accepted it,
// so a crash between the two sends it again, with the same Message-ID (at least once); since each
// outcome is committed at once, a crash resends at most the one message then in flight.
//
// Lifecycle (STYLE R2): constructed and started in vigild's main(), stopped before the store
// closes. Counters are safe to read from any thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "core/health.h"
#include "core/time.h"
#include "mail/mailer.h"
#include "mail/templates.h"
#include "outbox/alert_planner.h"
#include "store/store.h"

namespace vigil::outbox {

struct DispatcherOptions {
  std::string from = "vigil@localhost";  // envelope and From: address
  int64_t give_up_after_ms = 7 * 24 * 3600 * 1000LL;  // a delivery failing this long after it was queued is dead
  int64_t backoff_initial_ms = 1000;     // delay after the first failure; doubles each time
  int64_t backoff_max_ms = 300000;       // the cap of the doubling
  int poll_ms = 100;                     // how often an empty queue is looked at again
  int batch = 100;                       // deliveries per pass
  int64_t clock_ms = 5000;               // how often the alert clock runs
};

struct DispatcherCounters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> failed_attempts{0};
  std::atomic<uint64_t> dead{0};
  std::atomic<uint64_t> late{0};  // deliveries found late (each once per process)
};

class Dispatcher {
 public:
  // Everything passed must outlive the dispatcher.
  Dispatcher(store::Store& store, mail::Mailer& mailer, const mail::Templates& templates, const AlertPlanner& planner,
             const core::Clock& clock, DispatcherOptions options);
  ~Dispatcher();

  void start();
  // Finishes and records the delivery in hand, then joins the thread. Idempotent.
  void stop();
  // One pass on the caller's thread (tests): the clock if due, then one batch. Returns the number
  // of deliveries attempted.
  size_t runOnce();

  const DispatcherCounters& counters() const { return counters_; }
  // Where late deliveries are written for a person to send (the .eml folder) and where the
  // dispatcher posts its health; both optional, both must outlive the dispatcher. Call before start().
  void setFallback(mail::Mailer* fallback, core::HealthBoard* health) {
    fallback_ = fallback;
    health_ = health;
  }

  // The delay before attempt n+1 after n failed attempts: initial * 2^(n-1), capped at max, then
  // drawn uniformly from [delay/2, delay] (jitter, so retries of many alerts do not line up).
  static int64_t backoffMs(int failed_attempts, int64_t initial_ms, int64_t max_ms, std::mt19937_64& random);

 private:
  void loop();
  mail::MailMessage compose(const core::Alert& alert, const core::AlertDelivery& d, int64_t now, core::Status& status) const;
  // Finds the deliveries late at now: logs and writes each newly late one to the fallback, and
  // posts or clears the "outbox" health problem.
  void checkLate(int64_t now);

  store::Store& store_;
  mail::Mailer& mailer_;
  const mail::Templates& templates_;
  const AlertPlanner& planner_;
  const core::Clock& clock_;
  DispatcherOptions options_;
  DispatcherCounters counters_;
  std::mt19937_64 random_;
  int64_t next_clock_ms_ = 0;
  int64_t next_late_check_ms_ = 0;
  mail::Mailer* fallback_ = nullptr;
  core::HealthBoard* health_ = nullptr;
  std::set<int64_t> late_noted_;  // delivery ids already logged and written as late (dispatcher thread only)
  // A delivery the server accepted but the store could not record (a full disk), with its event:
  // recorded first on the next passes, and nothing else is sent until it is, so a failing store
  // never makes the dispatcher send the same message again and again (dispatcher thread only).
  std::optional<std::pair<core::AlertDelivery, std::string>> unrecorded_;
  bool recordOutcome(const core::AlertDelivery& d, const std::string& event);

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// Puts deliveries back in the queue, due at now_ms (vigilctl alerts retry): every dead delivery
// of alert_id, or of every alert when alert_id is nullopt; a pending delivery of alert_id is
// made due now as well. A dead delivery put back starts a new give-up age (pending_since_ms =
// now_ms, its late threshold moved with it). One audit entry per delivery, by actor. Returns how
// many deliveries were put back; notFound for an alert_id that does not exist.
core::Result<int> retryDeliveries(store::Store& store, std::optional<int64_t> alert_id, const std::string& actor,
                                  int64_t now_ms);

}  // namespace vigil::outbox

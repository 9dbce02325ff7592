#pragma once
// The outbox's one sending thread (STYLE section 2, step 4). Each pass: run the alert clock when
// it is due (reminders, overdue, escalation, digests), then take the pending deliveries that are
// due, render each from its alert's payload and the templates, send it through the Mailer, and
// record the outcome of the whole batch in one unit of work: sent; or a failed attempt with the
// next one after an exponential backoff with jitter; or, after max_attempts, dead (an ERROR line,
// a metric, and /healthz reports degraded). A delivery is marked only after the server accepted
// it, so a crash between the two sends it again, with the same Message-ID (at least once).
//
// Lifecycle (STYLE R2): constructed and started in vigild's main(), stopped before the store
// closes. Counters are safe to read from any thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "core/time.h"
#include "mail/mailer.h"
#include "mail/templates.h"
#include "outbox/alert_planner.h"
#include "store/store.h"

namespace vigil::outbox {

struct DispatcherOptions {
  std::string from = "vigil@localhost";  // envelope and From: address
  int max_attempts = 8;                  // then the delivery is dead
  int64_t backoff_initial_ms = 1000;     // delay after the first failure; doubles each time
  int64_t backoff_max_ms = 300000;
  int poll_ms = 100;                     // how often an empty queue is looked at again
  int batch = 100;                       // deliveries per pass
  int64_t clock_ms = 5000;               // how often the alert clock runs
};

struct DispatcherCounters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> failed_attempts{0};
  std::atomic<uint64_t> dead{0};
};

class Dispatcher {
 public:
  // Everything passed must outlive the dispatcher.
  Dispatcher(store::Store& store, mail::Mailer& mailer, const mail::Templates& templates, const AlertPlanner& planner,
             const core::Clock& clock, DispatcherOptions options);
  ~Dispatcher();

  void start();
  // Finishes the delivery in hand, records the batch and joins the thread. Idempotent.
  void stop();
  // One pass on the caller's thread (tests): the clock if due, then one batch. Returns the number
  // of deliveries attempted.
  size_t runOnce();

  const DispatcherCounters& counters() const { return counters_; }

  // The delay before attempt n+1 after n failed attempts: initial * 2^(n-1), capped at max, then
  // drawn uniformly from [delay/2, delay] (jitter, so retries of many alerts do not line up).
  static int64_t backoffMs(int failed_attempts, int64_t initial_ms, int64_t max_ms, std::mt19937_64& random);

 private:
  void loop();

  store::Store& store_;
  mail::Mailer& mailer_;
  const mail::Templates& templates_;
  const AlertPlanner& planner_;
  const core::Clock& clock_;
  DispatcherOptions options_;
  DispatcherCounters counters_;
  std::mt19937_64 random_;
  int64_t next_clock_ms_ = 0;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vigil::outbox

#pragma once
// Runs a task on its own thread every interval until stopped: vigild's timers (the safety sweep,
// later the alert dispatcher's retries). The first run is one interval after start, or at once
// with run_at_start; stop() wakes the thread at once and waits for a run in progress to finish.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace vigil::app {

class Ticker {
 public:
  Ticker(std::chrono::milliseconds interval, std::function<void()> task, bool run_at_start = false)
      : interval_(interval), task_(std::move(task)), run_at_start_(run_at_start), thread_([this] { loop(); }) {}
  ~Ticker() { stop(); }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    if (run_at_start_) task_();
    std::unique_lock<std::mutex> lock(mutex_);
    while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      task_();
      lock.lock();
    }
  }

  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool run_at_start_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace vigil::app

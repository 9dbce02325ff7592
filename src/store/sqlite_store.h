#pragma once
// SQLite implementation of Store: one file in WAL mode with synchronous=FULL, so a write that
// write() reported as done survives a crash or power loss.
//
// Group commit: write() enqueues its unit of work and blocks; one writer thread takes every
// queued unit, runs each inside its own SAVEPOINT of one transaction, commits once (one fsync)
// and then wakes the callers. A unit that fails rolls back to its savepoint alone. Reads use a
// small pool of separate connections, which WAL lets run beside the writer. Checkpoints (copying
// the WAL back into the database file) run on a background connection once a second after
// writes, never inside commits. Small, frequent checkpoints keep each one's fsync short: a
// large one stalls the WAL fsyncs of the commits behind it.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "core/time.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace vigil::store {

struct SqliteOptions {
  std::string path;            // database file; its directory must exist
  int read_connections = 4;    // size of the reader pool
  int max_group = 1024;        // most units of work sharing one commit
  bool migrate_on_open = true; // apply pending migrations when opening
  // The audit key (raw bytes, issue 13.4): new audit rows are HMAC-SHA-256 under it. Empty:
  // plain SHA-256 rows (unit tests; vigild and vigilctl always give one).
  std::string audit_key = {};
  // The audit anchor file (audit/anchor.h), rewritten after each commit that appended audit
  // rows; empty for none.
  std::string anchor_path = {};
};

class SqliteStore final : public Store {
 public:
  // Opens the database and starts the writer thread. Throws SqliteError when the file cannot be
  // opened or migrated (a start-up failure). clock must outlive the store.
  SqliteStore(SqliteOptions options, const core::Clock& clock);
  ~SqliteStore() override;

  core::Status write(const std::function<core::Status(Transaction&)>& work) override;

  core::Result<core::User> userByTokenHash(const std::string& token_hash) override;
  core::Result<std::vector<core::User>> users() override;
  core::Result<std::optional<core::Participant>> participant(const std::string& study_id) override;
  core::Result<std::vector<core::Participant>> participants(const std::optional<std::vector<std::string>>& sites) override;
  core::Result<std::vector<core::DoseRecord>> doses(const std::string& study_id, Page page) override;
  core::Result<std::optional<core::AeReport>> adverseEvent(int64_t id) override;
  core::Result<std::vector<core::AeReport>> adverseEvents(const core::AeFilter& filter) override;
  core::Result<std::vector<core::LabResult>> labs(const std::string& study_id, Page page) override;
  core::Result<std::vector<core::VitalSigns>> vitals(const std::string& study_id, Page page) override;
  core::Result<std::optional<History>> history(const std::string& study_id) override;
  core::Result<std::vector<core::SafetyChange>> safetyChanges(const std::string& study_id, Page page) override;
  core::Result<std::vector<core::PregnancyReport>> pregnancies(const std::string& study_id, Page page) override;
  core::Result<std::vector<core::ConcomitantMedication>> medications(const std::string& study_id, Page page) override;
  core::Result<std::vector<ParticipantVersion>> participantVersions(const std::string& study_id) override;
  core::Result<std::vector<core::DoseRecord>> doseVersions(int64_t id) override;
  core::Result<std::vector<core::LabResult>> labVersions(int64_t id) override;
  core::Result<std::vector<core::VitalSigns>> vitalSignsVersions(int64_t id) override;
  core::Result<std::vector<core::PregnancyReport>> pregnancyVersions(int64_t id) override;
  core::Result<std::vector<core::ConcomitantMedication>> medicationVersions(int64_t id) override;
  core::Result<std::vector<audit::AuditEntry>> auditEntries() override;
  core::Result<std::vector<audit::AuditEntry>> auditEntriesFrom(int64_t first_seq) override;
  core::Result<AuditSnapshot> auditSnapshot() override;
  core::Result<std::vector<AuditRow>> auditRows(const AuditFilter& filter) override;
  core::Result<audit::Head> auditHead() override;
  core::Result<std::vector<core::AeCandidate>> candidates(const std::string& study_id, Page page) override;
  core::Result<std::optional<core::AeCandidate>> candidate(int64_t id) override;
  core::Result<std::vector<core::ReportingDeadline>> deadlines(const core::DeadlineFilter& filter) override;
  core::Result<std::vector<core::Alert>> alerts(const core::AlertFilter& filter) override;
  core::Result<std::optional<core::Alert>> alert(int64_t id) override;
  core::Result<std::vector<core::Alert>> dueDeliveries(int64_t now_ms, int limit) override;
  core::Result<std::vector<core::Alert>> deliveriesIn(DeliveryState state, int64_t now_ms, int limit) override;
  core::Result<std::vector<core::Alert>> alertsToEscalate(int64_t now_ms) override;
  core::Result<DataCut> dataCut(const std::string& cut) override;
  core::Result<core::OutboxStats> outboxStats(int64_t now_ms) override;
  core::Result<std::vector<std::string>> siteIds() override;
  core::Result<int> schemaVersion() override;
  uint64_t commits() const override;
  std::optional<std::string> writeProblem() const override;
  void close() override;

  // The writer connection's durability settings as SQLite reports them after opening
  // ("wal", and 2 for synchronous=FULL).
  // Why the anchor file is not kept up to date, or nullopt when it is. The store creates the
  // anchor only for an empty chain; an anchor that is missing for a chain with rows, or that
  // does not match the database, is left as it is (the evidence of a cut tail) and no longer
  // written, until reanchor().
  std::optional<std::string> anchorProblem() const;
  // Anchors the chain's current head (after an operator has verified it): writes the anchor
  // file and keeps it up to date from now on. Returns the head anchored.
  core::Result<audit::Head> reanchor();

  const std::string& journalMode() const { return journal_mode_; }
  int synchronous() const { return synchronous_; }

 private:
  struct Job;
  struct Reader {
    std::mutex mutex;
    std::unique_ptr<Connection> connection;
  };
  template <typename T, typename F>
  core::Result<T> read(F&& fn);
  void writerLoop();
  void runGroup(std::deque<Job*>& group);
  void checkpointLoop();
  void openAnchor();
  void advanceAnchor(const audit::Head& head);

  SqliteOptions options_;
  const core::Clock& clock_;
  std::unique_ptr<Connection> writer_;
  std::vector<std::unique_ptr<Reader>> readers_;
  std::atomic<uint64_t> next_reader_{0};
  std::atomic<uint64_t> commits_{0};
  void noteWriteFailure(const std::string& what);
  mutable std::mutex write_problem_mutex_;
  std::optional<std::string> write_problem_;  // guarded by write_problem_mutex_
  // The anchor: written by the writer thread after commits, by reanchor() on the caller's.
  mutable std::mutex anchor_mutex_;
  bool anchor_live_ = false;          // guarded by anchor_mutex_
  int64_t anchored_seq_ = -1;         // guarded by anchor_mutex_: the newest seq written
  std::optional<std::string> anchor_problem_;  // guarded by anchor_mutex_
  // The WAL's size after a reset (journal_size_limit) and the size past which the checkpointer
  // forces one (RESTART): 64 MiB.
  static constexpr int64_t kWalLimitBytes = 64LL * 1024 * 1024;
  int64_t page_size_ = 4096;
  std::string journal_mode_;
  int synchronous_ = -1;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::thread writer_thread_;

  // WAL checkpoints run on their own connection and thread, so a commit never waits for one.
  std::unique_ptr<Connection> checkpointer_;
  std::thread checkpoint_thread_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_due_ = false;
};

}  // namespace vigil::store

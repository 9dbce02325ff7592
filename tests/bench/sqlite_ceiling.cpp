// The storage ceiling: raw sqlite3 inserts of AE-sized rows into a WAL file with
// synchronous=FULL, one row per transaction and then N rows per transaction.
// Usage: bench_sqlite_ceiling DBFILE [seconds]
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {
void check(int rc, sqlite3* db) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
    std::exit(1);
  }
}

double run(sqlite3* db, sqlite3_stmt* ins, int rows_per_txn, double seconds) {
  const std::string payload(600, 'x');
  const auto start = std::chrono::steady_clock::now();
  long rows = 0;
  for (;;) {
    check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db);
    for (int i = 0; i < rows_per_txn; ++i) {
      sqlite3_bind_text(ins, 1, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
      check(sqlite3_step(ins), db);
      sqlite3_reset(ins);
    }
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
    rows += rows_per_txn;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed >= seconds) return static_cast<double>(rows) / elapsed;
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DBFILE [seconds]\n", argv[0]);
    return 64;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  sqlite3* db = nullptr;
  check(sqlite3_open(argv[1], &db), db);
  check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, body TEXT)",
                     nullptr, nullptr, nullptr),
        db);
  sqlite3_stmt* ins = nullptr;
  check(sqlite3_prepare_v2(db, "INSERT INTO t(body) VALUES (?)", -1, &ins, nullptr), db);
  for (int n : {1, 8, 32, 128}) std::printf("sqlite WAL+FULL, %3d rows/transaction: %9.0f rows/s\n", n, run(db, ins, n, seconds));
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return 0;
}

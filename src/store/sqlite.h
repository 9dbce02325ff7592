#pragma once
// A thin RAII layer over the sqlite3 C API: one connection, prepared statements cached by SQL
// text, typed binding and reading. Not thread-safe: each connection belongs to one thread at a
// time (the store serialises access). Errors throw SqliteError; the store translates them into
// Status values at its edge.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vigil::store {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }
  bool busy() const { return (code_ & 0xff) == SQLITE_BUSY || (code_ & 0xff) == SQLITE_LOCKED; }

 private:
  int code_;
};

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binding is 1-based, as in SQLite. Returns *this for chaining.
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bindNull(int index);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bindNull(index);
  }

  // Advances to the next row; false when done. Resets itself when exhausted.
  bool step();
  // Runs a statement that returns no rows.
  void exec();
  void reset();

  bool isNull(int col) const;
  int64_t int64(int col) const;
  int integer(int col) const { return static_cast<int>(int64(col)); }
  double real(int col) const;
  std::string text(int col) const;
  std::optional<std::string> optText(int col) const;
  std::optional<double> optReal(int col) const;
  std::optional<int> optInt(int col) const;
  std::optional<int64_t> optInt64(int col) const;

 private:
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  // Opens (creating if needed) the database file. read_only connections never write.
  Connection(const std::string& path, bool read_only);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results (pragmas, DDL, BEGIN/COMMIT).
  void execute(const std::string& sql);
  // A cached prepared statement, reset and with bindings cleared. Valid until the connection
  // closes; callers must not keep two uses of the same SQL alive at once.
  Statement& prepare(const std::string& sql);
  int64_t lastInsertRowId() const;
  int changes() const;
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace vigil::store

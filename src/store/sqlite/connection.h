// A thin C++ wrapper over one SQLite connection (sqlite3*) and its prepared statements.
//
// Internal to the SQLite store. A Connection is used by one thread at a time (it is opened
// with SQLITE_OPEN_NOMUTEX); the store gives each of its threads its own connection.
//
// Failures of SQLite calls are thrown as SqliteError, so that the SQL code of the store reads
// as a straight sequence of statements. They never leave src/store/sqlite/: the store's
// worker threads catch them at the boundary of every job and turn them into a Status
// (ToStatus), which is what callers of the Store see.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace todo::store {

// A failed SQLite call: its extended result code and SQLite's message.
class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message);
  int code() const { return code_; }  // extended result code (SQLITE_BUSY_SNAPSHOT, ...)
  int primary_code() const { return code_ & 0xff; }
  // SQLITE_BUSY or SQLITE_LOCKED: another connection holds a lock; retrying may succeed.
  bool busy() const;

 private:
  int code_;
};

// The Status a Store caller sees for a database failure: kUnavailable for what may pass
// (locks, I/O, a full disk, a file that cannot be opened), kInternal for the rest (SQL
// errors, corruption, misuse: bugs or damage).
core::Status ToStatus(const SqliteError& e);

// A prepared statement borrowed from a Connection's cache for one use. On destruction it is
// reset and its bindings cleared, which also ends the implicit read transaction a SELECT
// holds, so a cached statement never pins a snapshot between uses.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are numbered from 1 (?1, ?2, ...). Text is copied by SQLite.
  Statement& Bind(int param, int64_t value);
  Statement& Bind(int param, std::string_view value);
  Statement& Bind(int param, std::optional<int64_t> value);  // nullopt binds NULL

  // Advances to the next row: true when a row is ready, false when the statement is done.
  bool Step();
  // Runs a statement that returns no rows.
  void Run();

  // Columns are numbered from 0.
  int64_t Int(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;  // nullopt for NULL
  std::string Text(int column) const;
  bool IsNull(int column) const;

 private:
  [[noreturn]] void Throw(int rc) const;

  sqlite3_stmt* stmt_;
  sqlite3* db_;
};

// How a connection is configured when opened.
enum class ConnectionRole {
  kWriter,  // creates the file if missing; WAL, synchronous=NORMAL
  kReader,  // query_only: a bug that writes through it fails instead of bypassing the writer
};

// One open SQLite connection with its statement cache. Not thread-safe: one thread at a
// time. Closes the connection (finalizing cached statements) on destruction.
class Connection {
 public:
  // Opens `path` and applies the per-connection settings (busy timeout, WAL, synchronous,
  // foreign keys). kUnavailable if the file cannot be opened or configured.
  static core::Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                        ConnectionRole role);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A cached prepared statement for `sql`. `sql` must be a string constant with static
  // storage duration: its address is the cache key.
  Statement Prepare(const char* sql);

  // Runs one or more statements without caching them (DDL, pragmas). Throws SqliteError.
  void Exec(const char* sql);

  // Starts a write transaction (BEGIN IMMEDIATE: takes the write lock now, so the
  // transaction can never fail later with SQLITE_BUSY because another connection wrote
  // first). SQLite's busy handler already waits up to kBusyTimeoutMs for the lock; if BUSY
  // still comes back (a writer in another process held it that long, or SQLite decided that
  // waiting could deadlock), this retries a few times before throwing.
  void BeginImmediate();
  // COMMIT, retried while SQLITE_BUSY (the transaction stays open then). Throws otherwise.
  void Commit();
  // ROLLBACK if a transaction is open; never throws (used on error paths).
  void RollbackQuietly() noexcept;
  // True while a transaction is open (SQLite may roll back on its own after some errors).
  bool InTransaction() const;
  // The rowid of the last row this connection inserted.
  int64_t LastInsertRowId() const;

  static constexpr int kBusyTimeoutMs = 10000;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  void Configure(ConnectionRole role);

  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace todo::store

#include "store/sqlite/connection.h"

#include <sqlite3.h>

#include <chrono>
#include <random>
#include <thread>

namespace todo::store {
namespace {

// How often BEGIN IMMEDIATE / COMMIT / a pragma is tried again when SQLITE_BUSY comes back
// although the busy handler already waited kBusyTimeoutMs.
constexpr int kBusyAttempts = 3;

// A short random pause before trying again, so that processes that collided do not retry
// in lockstep.
void PauseBeforeRetry() {
  thread_local std::minstd_rand rng(std::random_device{}());
  std::uniform_int_distribution<int> ms(5, 50);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms(rng)));
}

std::string Message(sqlite3* db, int rc) {
  const char* m = db != nullptr ? sqlite3_errmsg(db) : nullptr;
  return m != nullptr ? std::string(m) : std::string(sqlite3_errstr(rc));
}

}  // namespace

SqliteError::SqliteError(int code, const std::string& message)
    : std::runtime_error("sqlite: " + message), code_(code) {}

bool SqliteError::busy() const {
  return primary_code() == SQLITE_BUSY || primary_code() == SQLITE_LOCKED;
}

core::Status ToStatus(const SqliteError& e) {
  switch (e.primary_code()) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return core::Status::Unavailable("database is busy, try again: " + std::string(e.what()));
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return core::Status::Unavailable(e.what());
    default:
      return core::Status::Internal(e.what());
  }
}

// --- Statement -----------------------------------------------------------------------------

Statement::~Statement() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::Throw(int rc) const { throw SqliteError(rc, Message(db_, rc)); }

Statement& Statement::Bind(int param, int64_t value) {
  if (int rc = sqlite3_bind_int64(stmt_, param, value); rc != SQLITE_OK) Throw(rc);
  return *this;
}

Statement& Statement::Bind(int param, std::string_view value) {
  if (int rc = sqlite3_bind_text64(stmt_, param, value.data(), value.size(), SQLITE_TRANSIENT,
                                   SQLITE_UTF8);
      rc != SQLITE_OK) {
    Throw(rc);
  }
  return *this;
}

Statement& Statement::Bind(int param, std::optional<int64_t> value) {
  if (value) return Bind(param, *value);
  if (int rc = sqlite3_bind_null(stmt_, param); rc != SQLITE_OK) Throw(rc);
  return *this;
}

bool Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Throw(rc);
}

void Statement::Run() {
  while (Step()) {
  }
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::optional<int64_t> Statement::OptionalInt(int column) const {
  if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::Text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  int n = sqlite3_column_bytes(stmt_, column);
  return p != nullptr ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// --- Connection ----------------------------------------------------------------------------

core::Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                           ConnectionRole role) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (role == ConnectionRole::kWriter) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open SQLite database '" + path + "': " + Message(db, rc);
    sqlite3_close_v2(db);  // a handle is returned even on failure (or null: a no-op)
    return core::Status::Unavailable(std::move(message));
  }
  std::unique_ptr<Connection> connection(new Connection(db));
  try {
    connection->Configure(role);
  } catch (const SqliteError& e) {
    return core::Status::Unavailable("cannot configure SQLite database '" + path +
                                     "': " + e.what());
  }
  return connection;
}

void Connection::Configure(ConnectionRole role) {
  sqlite3_extended_result_codes(db_, 1);
  // First, so that every pragma below already waits for locks instead of failing.
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  if (role == ConnectionRole::kWriter) {
    // WAL: readers never block the writer nor the writer readers, and a commit appends to
    // the log instead of rewriting pages. The mode is stored in the file. Switching to it
    // needs an exclusive lock, which several processes opening a new file at once can fight
    // over; the busy handler does not cover every such case, hence the loop.
    for (int attempt = 1;; ++attempt) {
      try {
        Statement mode = Prepare("PRAGMA journal_mode=WAL");
        if (!mode.Step() || mode.Text(0) != "wal") {
          throw SqliteError(SQLITE_CANTOPEN, "the file system does not support WAL mode");
        }
        break;
      } catch (const SqliteError& e) {
        if (!e.busy() || attempt >= kBusyAttempts) throw;
        PauseBeforeRetry();
      }
    }
    // synchronous=NORMAL in WAL mode: a commit is written to the WAL but not fsynced; the
    // WAL is fsynced at checkpoints. A process crash (the usual failure) loses no committed
    // transaction, since the data is in the OS page cache; a power loss or OS crash may lose
    // the last transactions committed before it, never corrupting the file. FULL would fsync
    // every commit and was measured ~20x slower here; we choose NORMAL.
    Exec("PRAGMA synchronous=NORMAL");
  } else {
    Exec("PRAGMA query_only=ON");
  }
  Exec("PRAGMA foreign_keys=ON");
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Statement Connection::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) throw SqliteError(rc, Message(db_, rc) + " in: " + sql);
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(it->second, db_);
}

void Connection::Exec(const char* sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error != nullptr ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw SqliteError(rc, message);
  }
}

void Connection::BeginImmediate() {
  for (int attempt = 1;; ++attempt) {
    try {
      Prepare("BEGIN IMMEDIATE").Run();
      return;
    } catch (const SqliteError& e) {
      if (!e.busy() || attempt >= kBusyAttempts) throw;
      PauseBeforeRetry();
    }
  }
}

void Connection::Commit() {
  for (int attempt = 1;; ++attempt) {
    try {
      Prepare("COMMIT").Run();
      return;
    } catch (const SqliteError& e) {
      // After a failed COMMIT SQLite keeps the transaction open only for SQLITE_BUSY.
      if (!e.busy() || attempt >= kBusyAttempts || !InTransaction()) throw;
      PauseBeforeRetry();
    }
  }
}

void Connection::RollbackQuietly() noexcept {
  if (!InTransaction()) return;
  // Uncached: the ROLLBACK must work even when preparing (allocating) fails.
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

bool Connection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

int64_t Connection::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

}  // namespace todo::store

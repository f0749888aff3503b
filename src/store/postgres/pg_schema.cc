#include "store/postgres/pg_schema.h"

#include <memory>
#include <string>

namespace todo::store::pg {
namespace {

using core::Status;

// pg_advisory_xact_lock key serializing migrations across servers ("todo" in ASCII).
constexpr char kLockMigrations[] = "SELECT pg_advisory_xact_lock(1953457263)";
constexpr char kCreateBookkeeping[] =
    "CREATE SCHEMA IF NOT EXISTS todo;"
    "CREATE TABLE IF NOT EXISTS todo.schema_migrations ("
    "  version integer PRIMARY KEY,"
    "  applied timestamptz NOT NULL DEFAULT now())";
// Index: none needed (a handful of rows).
constexpr char kHasBookkeeping[] = "SELECT to_regclass('todo.schema_migrations') IS NOT NULL";
// schema_migrations primary key (its last entry).
constexpr char kReadVersion[] = "SELECT coalesce(max(version), 0) FROM todo.schema_migrations";
constexpr char kRecordVersion[] = "INSERT INTO todo.schema_migrations (version) VALUES ($1)";

struct ClearResult {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ClearResult>;

Status Failure(PGconn* conn, const PGresult* result, const std::string& what) {
  std::string message = result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (PQstatus(conn) != CONNECTION_OK) return Status::Unavailable(what + ": " + message);
  return Status::Internal(what + ": " + message);
}

// Runs `sql` (one or more statements, no parameters). Sets `out` to the last result.
Status Exec(PGconn* conn, const char* sql, const std::string& what, ResultPtr* out = nullptr) {
  ResultPtr result(PQexec(conn, sql));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Failure(conn, result.get(), what);
  }
  if (out != nullptr) *out = std::move(result);
  return Status::Ok();
}

Status ReadVersion(PGconn* conn, int& version) {
  ResultPtr result;
  if (Status s = Exec(conn, kReadVersion, "reading the schema version", &result); !s.ok()) {
    return s;
  }
  version = std::stoi(PQgetvalue(result.get(), 0, 0));
  return Status::Ok();
}

Status CheckOnly(PGconn* conn) {
  constexpr int kLatest = static_cast<int>(kMigrations.size());
  ResultPtr has;
  if (Status s = Exec(conn, kHasBookkeeping, "reading the schema version", &has); !s.ok()) {
    return s;
  }
  int version = 0;
  if (std::string(PQgetvalue(has.get(), 0, 0)) == "t") {
    if (Status s = ReadVersion(conn, version); !s.ok()) return s;
  }
  if (version == kLatest) return Status::Ok();
  if (version < kLatest) {
    return Status::Unavailable("the database has schema version " + std::to_string(version) +
                               " and this program needs " + std::to_string(kLatest) +
                               ": run `todod migrate`");
  }
  return Status::Internal("the database has schema version " + std::to_string(version) +
                          ", newer than this program (" + std::to_string(kLatest) +
                          "): upgrade todo");
}

}  // namespace

Status Migrate(PGconn* conn, bool apply) {
  if (!apply) return CheckOnly(conn);
  constexpr int kLatest = static_cast<int>(kMigrations.size());
  if (Status s = Exec(conn, "BEGIN", "starting the migration"); !s.ok()) return s;
  // The lock comes before CREATE SCHEMA IF NOT EXISTS: two sessions creating it at once can
  // both pass the IF NOT EXISTS check and one then fails on the catalog's unique index.
  Status status = Exec(conn, kLockMigrations, "locking the migrations");
  if (status.ok()) status = Exec(conn, kCreateBookkeeping, "creating todo.schema_migrations");
  int version = 0;
  if (status.ok()) status = ReadVersion(conn, version);
  if (status.ok() && version > kLatest) {
    status = Status::Internal("the database has schema version " + std::to_string(version) +
                              ", newer than this program (" + std::to_string(kLatest) +
                              "): upgrade todo");
  }
  for (int n = version + 1; status.ok() && n <= kLatest; ++n) {
    std::string what = "migration " + std::to_string(n);
    status = Exec(conn, kMigrations[static_cast<std::size_t>(n - 1)], what + " failed");
    if (!status.ok()) break;
    std::string number = std::to_string(n);
    const char* values[] = {number.c_str()};
    ResultPtr recorded(PQexecParams(conn, kRecordVersion, 1, nullptr, values, nullptr, nullptr, 0));
    if (!recorded || PQresultStatus(recorded.get()) != PGRES_COMMAND_OK) {
      status = Failure(conn, recorded.get(), "recording " + what);
    }
  }
  if (!status.ok()) {
    if (PQstatus(conn) == CONNECTION_OK) PQclear(PQexec(conn, "ROLLBACK"));
    return status;
  }
  return Exec(conn, "COMMIT", "committing the migration");
}

}  // namespace todo::store::pg

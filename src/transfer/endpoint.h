// The two ends of a copy: a Source read in one consistent snapshot, and a Target written in
// one transaction. One implementation of each per engine (SQLite, PostgreSQL) and for the
// NDJSON backup file; see docs/decisions/0008 for why the transfer has its own small
// readers and writers rather than going through the Store interface.
//
// Synchronous (blocking) on purpose: they run in todod's copy, backup and restore
// commands, never on a server's event loop. Not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transfer/tables.h"

namespace todo::transfer {

// How many rows a source hands over at a time, and a target writes per statement.
inline constexpr int kPageRows = 500;

class Source {
 public:
  virtual ~Source() = default;
  // Opens the snapshot (one read transaction held until the source is destroyed) and says
  // what it holds. kInvalidArgument if the database is not a todo database of this schema
  // version; kUnavailable if it cannot be reached.
  virtual Result<SourceInfo> Begin() = 0;
  // Calls `page` with the rows of `table`, in key order, at most kPageRows at a time, until
  // the table is read or `page` fails (its status is returned). Tables are scanned in the
  // order of Tables(), each once.
  using PageFn = std::function<Status(const std::vector<Row>&)>;
  virtual Status Scan(const Table& table, const PageFn& page) = 0;
  // For a source that carries its own checksum (a backup file): the summary recorded when it
  // was written, once every table was scanned. nullopt otherwise.
  virtual std::optional<Summary> Recorded() const { return std::nullopt; }
};

class Target {
 public:
  virtual ~Target() = default;
  // Opens the target's transaction for a copy of the source `info` describes. kConflict if
  // the target holds anything and `force` is false; with `force`, everything in it is
  // deleted first, in the same transaction.
  virtual Status Begin(const SourceInfo& info, bool force) = 0;
  // Writes rows of `table` (checked by the caller); tables come in the order of Tables().
  virtual Status Append(const Table& table, const std::vector<Row>& rows) = 0;
  // Sets the id generators past `info.sequences` and the copied ids, records `summary` where
  // the format keeps one, and commits. Nothing is visible before this returns OK; a target
  // destroyed without it leaves the destination as it was.
  virtual Status Finish(const SourceInfo& info, const Summary& summary) = 0;
};

// Database URLs as todod takes them: "sqlite:PATH" (or a bare path) and "postgresql://..."
// (or "postgres://...").
enum class Engine { kSqlite, kPostgres };
struct Location {
  Engine engine = Engine::kSqlite;
  std::string where;  // the SQLite path, or the PostgreSQL URL
};
// kInvalidArgument for an empty URL or an unknown scheme ("mysql://...").
Result<Location> ParseLocation(const std::string& url);

// A source on an existing database: kInvalidArgument if a SQLite file does not exist
// (whether it is a todo database of the right version, Begin says).
Result<std::unique_ptr<Source>> OpenSource(const Location& location);
// A target: creates the database's schema when missing (a new SQLite file, an empty
// PostgreSQL database), through the store's migrations.
Result<std::unique_ptr<Target>> OpenTarget(const Location& location);

// The SQLite implementations (sqlite_io.cc). `path` must exist for the source.
Result<std::unique_ptr<Source>> OpenSqliteSource(const std::string& path);
Result<std::unique_ptr<Target>> OpenSqliteTarget(const std::string& path);
// The PostgreSQL implementations (pg_io.cc).
Result<std::unique_ptr<Source>> OpenPgSource(const std::string& url);
Result<std::unique_ptr<Target>> OpenPgTarget(const std::string& url);

}  // namespace todo::transfer

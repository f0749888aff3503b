// The SQLite ends of a copy, on the raw sqlite3 API: a read transaction for the source, a
// write transaction (BEGIN IMMEDIATE) for the target, and the online backup.
#include <sqlite3.h>

#include <filesystem>
#include <system_error>
#include <utility>

#include "store/sqlite/migrations.h"
#include "store/store.h"
#include "transfer/backup.h"
#include "transfer/endpoint.h"

namespace todo::transfer {
namespace {

constexpr int kBusyTimeoutMs = 10000;
constexpr int64_t kSchemaVersion = static_cast<int64_t>(store::kMigrations.size());
// tables.h describes schema version 2. A new migration must be reflected there (and in the
// backup format's version) before this builds again.
static_assert(store::kMigrations.size() == 2, "a new SQLite migration: update transfer/tables.h");

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseDb>;
struct FinalizeStmt {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

Status Failed(sqlite3* db, const std::string& what) {
  return Status::Unavailable(what + ": " + sqlite3_errmsg(db));
}

Result<DbPtr> OpenDb(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return Status::Unavailable("cannot open SQLite file '" + path +
                               "': " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  return db;
}

Result<StmtPtr> Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Failed(db, "cannot prepare '" + sql + "'");
  }
  return StmtPtr(raw);
}

Status Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : sqlite3_errmsg(db);
    sqlite3_free(error);
    return Status::Unavailable(sql + ": " + message);
  }
  return Status::Ok();
}

// The single integer a query answers (0 for NULL or no row).
Result<int64_t> QueryInt(sqlite3* db, const std::string& sql) {
  auto stmt = Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(stmt->get(), 0);
  if (rc == SQLITE_DONE) return int64_t{0};
  return Failed(db, sql);
}

Status Bind(sqlite3_stmt* stmt, int param, const Column& column, const Cell& cell) {
  int rc = SQLITE_OK;
  if (!cell) {
    rc = sqlite3_bind_null(stmt, param);
  } else if (column.kind == Kind::kText) {
    rc = sqlite3_bind_text(stmt, param, cell->data(), static_cast<int>(cell->size()),
                           SQLITE_TRANSIENT);
  } else {
    rc = sqlite3_bind_int64(stmt, param, std::stoll(*cell));
  }
  return rc == SQLITE_OK ? Status::Ok() : Status::Internal("cannot bind a value");
}

std::string ColumnList(const Table& table) {
  std::string out;
  for (const Column& column : table.columns) {
    if (!out.empty()) out += ", ";
    out += column.name;
  }
  return out;
}

std::string KeyList(const Table& table) {
  std::string out;
  for (std::size_t i = 0; i < table.key_columns; ++i) {
    if (i > 0) out += ", ";
    out += table.columns[i].name;
  }
  return out;
}

// Keyset pages in key order (the primary key's index; BINARY collation: byte order).
std::string PageSql(const Table& table, bool after) {
  std::string sql = "SELECT " + ColumnList(table) + " FROM " + std::string(table.name);
  if (after) {
    std::string params;
    for (std::size_t i = 1; i <= table.key_columns; ++i) {
      params += (i > 1 ? ", ?" : "?") + std::to_string(i);
    }
    sql += " WHERE (" + KeyList(table) + ") > (" + params + ")";
  }
  return sql + " ORDER BY " + KeyList(table) + " LIMIT " + std::to_string(kPageRows);
}

class SqliteSource final : public Source {
 public:
  SqliteSource(std::string path, DbPtr db) : path_(std::move(path)), db_(std::move(db)) {}
  ~SqliteSource() override { (void)Exec(db_.get(), "ROLLBACK"); }

  Result<SourceInfo> Begin() override {
    if (Status s = Exec(db_.get(), "BEGIN"); !s.ok()) return s;
    auto version = QueryInt(db_.get(), "PRAGMA user_version");
    if (!version.ok()) {
      return Status::InvalidArgument("'" + path_ +
                                     "' is not a SQLite database: " + version.status().message());
    }
    if (*version != kSchemaVersion) {
      return Status::InvalidArgument("'" + path_ + "' is not a todo database of schema version " +
                                     std::to_string(kSchemaVersion) + " (it has version " +
                                     std::to_string(*version) + ")");
    }
    SourceInfo info;
    info.taken = core::Now();
    auto position = QueryInt(db_.get(), "SELECT max(id) FROM event");
    auto element = QueryInt(db_.get(), "SELECT seq FROM sqlite_sequence WHERE name = 'element'");
    auto event = QueryInt(db_.get(), "SELECT seq FROM sqlite_sequence WHERE name = 'event'");
    for (const auto* r : {&position, &element, &event}) {
      if (!r->ok()) return r->status();
    }
    info.position = *position;
    info.sequences = Sequences{.element = *element, .event = *event};
    for (const Table& table : Tables()) {
      auto count = QueryInt(db_.get(), "SELECT count(*) FROM " + std::string(table.name));
      if (!count.ok()) return count.status();
      info.rows[std::string(table.name)] = *count;
    }
    return info;
  }

  Status Scan(const Table& table, const PageFn& page) override {
    auto first = Prepare(db_.get(), PageSql(table, false));
    if (!first.ok()) return first.status();
    auto next = Prepare(db_.get(), PageSql(table, true));
    if (!next.ok()) return next.status();
    sqlite3_stmt* stmt = first->get();
    std::vector<Row> rows;
    for (;;) {
      rows.clear();
      int rc = SQLITE_OK;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) rows.push_back(ReadRow(stmt, table));
      if (rc != SQLITE_DONE) return Failed(db_.get(), "reading " + std::string(table.name));
      if (rows.empty()) return Status::Ok();
      if (Status s = page(rows); !s.ok()) return s;
      if (rows.size() < static_cast<std::size_t>(kPageRows)) return Status::Ok();
      stmt = next->get();
      sqlite3_reset(stmt);
      for (std::size_t i = 0; i < table.key_columns; ++i) {
        const Row& last = rows.back();
        if (Status s = Bind(stmt, static_cast<int>(i) + 1, table.columns[i], last[i]); !s.ok()) {
          return s;
        }
      }
    }
  }

 private:
  static Row ReadRow(sqlite3_stmt* stmt, const Table& table) {
    Row row;
    row.reserve(table.columns.size());
    for (int i = 0; i < static_cast<int>(table.columns.size()); ++i) {
      if (sqlite3_column_type(stmt, i) == SQLITE_NULL) {
        row.emplace_back(std::nullopt);
        continue;
      }
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      row.emplace_back(std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i))));
    }
    return row;
  }

  std::string path_;
  DbPtr db_;
};

class SqliteTarget final : public Target {
 public:
  explicit SqliteTarget(DbPtr db) : db_(std::move(db)) {}
  ~SqliteTarget() override {
    if (!sqlite3_get_autocommit(db_.get())) (void)Exec(db_.get(), "ROLLBACK");
  }

  Status Begin(const SourceInfo&, bool force) override {
    if (Status s = Exec(db_.get(), "BEGIN IMMEDIATE"); !s.ok()) return s;
    for (const Table& table : Tables()) {
      std::string name(table.name);
      auto rows = QueryInt(db_.get(), "SELECT EXISTS (SELECT 1 FROM " + name + ")");
      if (!rows.ok()) return rows.status();
      if (*rows == 0) continue;
      if (!force) {
        return Status::Conflict("the target is not empty (table " + name +
                                " has rows); --force replaces everything in it");
      }
      if (Status s = Exec(db_.get(), "DELETE FROM " + name); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Status Append(const Table& table, const std::vector<Row>& rows) override {
    StmtPtr& insert = inserts_[std::string(table.name)];
    if (!insert) {
      std::string params;
      for (std::size_t i = 1; i <= table.columns.size(); ++i) {
        params += (i > 1 ? ", ?" : "?") + std::to_string(i);
      }
      auto prepared = Prepare(db_.get(), "INSERT INTO " + std::string(table.name) + " (" +
                                             ColumnList(table) + ") VALUES (" + params + ")");
      if (!prepared.ok()) return prepared.status();
      insert = std::move(prepared).value();
    }
    for (const Row& row : rows) {
      sqlite3_reset(insert.get());
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (Status s = Bind(insert.get(), static_cast<int>(i) + 1, table.columns[i], row[i]);
            !s.ok()) {
          return s;
        }
      }
      if (sqlite3_step(insert.get()) != SQLITE_DONE) {
        return Failed(db_.get(), "writing " + std::string(table.name));
      }
    }
    return Status::Ok();
  }

  Status Finish(const SourceInfo& info, const Summary&) override {
    // AUTOINCREMENT continues after sqlite_sequence's value: set it past the source's
    // generators, not only past the ids copied (ids of removed tasks must not come back).
    for (auto [name, seq] :
         {std::pair{"element", info.sequences.element}, std::pair{"event", info.sequences.event}}) {
      std::string table(name);
      std::string sql = "DELETE FROM sqlite_sequence WHERE name = '" + table +
                        "'; INSERT INTO sqlite_sequence (name, seq) VALUES ('" + table + "', max(" +
                        std::to_string(seq) + ", (SELECT coalesce(max(id), 0) FROM " + table +
                        ")))";
      if (Status s = Exec(db_.get(), sql); !s.ok()) return s;
    }
    return Exec(db_.get(), "COMMIT");
  }

 private:
  DbPtr db_;
  std::map<std::string, StmtPtr> inserts_;
};

}  // namespace

Result<std::unique_ptr<Source>> OpenSqliteSource(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return Status::InvalidArgument("no such SQLite file: '" + path + "'");
  }
  auto db = OpenDb(path, SQLITE_OPEN_READONLY);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Source>(new SqliteSource(path, std::move(db).value()));
}

Result<std::unique_ptr<Target>> OpenSqliteTarget(const std::string& path) {
  // The store creates the file (and its directory) and applies the migrations.
  store::OpenOptions options;
  options.readers = 1;
  auto created = store::OpenStore("sqlite:" + path, options);
  if (!created.ok()) return created.status();
  created->reset();
  auto db = OpenDb(path, SQLITE_OPEN_READWRITE);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Target>(new SqliteTarget(std::move(db).value()));
}

Status BackupSqlite(const std::string& path, const std::string& out) {
  auto source = OpenSqliteSource(path);
  if (!source.ok()) return source.status();
  if (auto info = (*source)->Begin(); !info.ok()) return info.status();
  source->reset();
  auto from = OpenDb(path, SQLITE_OPEN_READONLY);
  if (!from.ok()) return from.status();
  std::string partial = out + ".partial";
  std::filesystem::remove(partial);
  auto to = OpenDb(partial, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!to.ok()) return to.status();
  // One step of every page: the copy is made inside one read transaction on the source, so
  // it is the database as of one instant even while a server writes to it.
  sqlite3_backup* backup = sqlite3_backup_init(to->get(), "main", from->get(), "main");
  if (backup == nullptr) return Failed(to->get(), "cannot start the backup");
  int rc = SQLITE_OK;
  do {
    rc = sqlite3_backup_step(backup, -1);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    to.value().reset();
    std::filesystem::remove(partial);
    return Status::Unavailable(std::string("the backup failed: ") + sqlite3_errstr(rc));
  }
  // A self-contained file: no -wal beside it.
  if (Status s = Exec(to->get(), "PRAGMA journal_mode = DELETE"); !s.ok()) return s;
  to.value().reset();
  std::error_code error;
  std::filesystem::rename(partial, out, error);
  if (error) return Status::Unavailable("cannot write '" + out + "': " + error.message());
  return Status::Ok();
}

}  // namespace todo::transfer

// The PostgreSQL ends of a copy, on blocking libpq: the source is one REPEATABLE READ, READ
// ONLY transaction; the target one transaction that TRUNCATEs (with --force) and INSERTs in
// multi-row statements. Times cross as bigint milliseconds through todo.ms() and
// todo.at_ms() (pg_schema.h), text keys are ordered COLLATE "C" (byte order, as SQLite).
#include <libpq-fe.h>

#include <utility>

#include "store/postgres/pg_schema.h"
#include "store/store.h"
#include "transfer/endpoint.h"

namespace todo::transfer {
namespace {

// tables.h describes schema version 4 (see sqlite_io.cc; migrations 3 and 4 changed how
// todo.ms() computes and how names compare, not the tables' columns).
static_assert(store::pg::kMigrations.size() == 4,
              "a new PostgreSQL migration: update transfer/tables.h");

struct ClearResult {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ClearResult>;
struct Finish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, Finish>;

std::string Trimmed(const char* message) {
  std::string out = message != nullptr ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// One statement with text parameters; kUnavailable with the server's message on failure.
Result<ResultPtr> Run(PGconn* conn, const std::string& sql,
                      const std::vector<const char*>& params = {}) {
  ResultPtr result(PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                params.data(), nullptr, nullptr, 0));
  ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Status::Unavailable("PostgreSQL: " + Trimmed(PQresultErrorMessage(result.get())));
  }
  return result;
}

Result<int64_t> QueryInt(PGconn* conn, const std::string& sql) {
  auto r = Run(conn, sql);
  if (!r.ok()) return r.status();
  if (PQntuples(r->get()) == 0 || PQgetisnull(r->get(), 0, 0)) return int64_t{0};
  return std::stoll(PQgetvalue(r->get(), 0, 0));
}

Result<ConnPtr> Connect(const std::string& url) {
  ConnPtr conn(PQconnectdb(url.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::Unavailable("cannot connect to PostgreSQL: " +
                               Trimmed(conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

std::string Qualified(const Table& table) { return "todo." + std::string(table.name); }

// What a source selects for a column: times as milliseconds.
std::string Selected(const Column& column) {
  if (column.kind == Kind::kTime) return "todo.ms(" + std::string(column.name) + ")";
  return std::string(column.name);
}

// A key column in ORDER BY and comparisons: text in byte order.
std::string Ordered(const Column& column) {
  if (column.kind == Kind::kText) return std::string(column.name) + " COLLATE \"C\"";
  return std::string(column.name);
}

// A parameter as a value of the column's type.
std::string Param(const Column& column, int n) {
  std::string p = "$" + std::to_string(n);
  switch (column.kind) {
    case Kind::kInt:
      return p + "::bigint";
    case Kind::kTime:
      return "todo.at_ms(" + p + "::bigint)";
    case Kind::kText:
      break;
  }
  return p + "::text";
}

std::string PageSql(const Table& table, bool after) {
  std::string select;
  for (const Column& column : table.columns) {
    select += (select.empty() ? "" : ", ") + Selected(column);
  }
  std::string keys;
  std::string params;
  for (std::size_t i = 0; i < table.key_columns; ++i) {
    keys += (i > 0 ? ", " : "") + Ordered(table.columns[i]);
    params += (i > 0 ? ", " : "") + Param(table.columns[i], static_cast<int>(i) + 1);
  }
  std::string sql = "SELECT " + select + " FROM " + Qualified(table);
  std::string where;
  if (table.name == "tally") where = "last_update_time IS NOT NULL";  // see tables.h
  if (after) where += (where.empty() ? "" : " AND ") + ("(" + keys + ") > (" + params + ")");
  if (!where.empty()) sql += " WHERE " + where;
  return sql + " ORDER BY " + keys + " LIMIT " + std::to_string(kPageRows);
}

std::string SequenceOf(const Table& table) {
  return "pg_get_serial_sequence('" + Qualified(table) + "', 'id')";
}

class PgSource final : public Source {
 public:
  explicit PgSource(ConnPtr conn) : conn_(std::move(conn)) {}

  Result<SourceInfo> Begin() override {
    if (auto r = Run(conn_.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r.ok()) {
      return r.status();
    }
    auto version = QueryInt(conn_.get(), "SELECT max(version) FROM todo.schema_migrations");
    if (!version.ok()) {
      return Status::InvalidArgument("the PostgreSQL database is not a todo database: " +
                                     version.status().message());
    }
    const int64_t expected = ExpectedVersion();
    if (*version != expected) {
      return Status::InvalidArgument("the PostgreSQL database has todo schema version " +
                                     std::to_string(*version) + ", this program copies version " +
                                     std::to_string(expected));
    }
    SourceInfo info;
    auto taken = QueryInt(conn_.get(), "SELECT todo.ms(date_trunc('milliseconds', now()))");
    auto position = QueryInt(conn_.get(), "SELECT max(id) FROM todo.event");
    // A sequence's value is not part of the snapshot: it may be ahead, which only makes the
    // target skip a few more ids.
    auto element = QueryInt(conn_.get(), SeqValue("todo.element_id_seq"));
    auto event = QueryInt(conn_.get(), SeqValue("todo.event_id_seq"));
    for (const auto* r : {&taken, &position, &element, &event}) {
      if (!r->ok()) return r->status();
    }
    info.taken = core::FromMillis(*taken);
    info.position = *position;
    info.sequences = Sequences{.element = *element, .event = *event};
    for (const Table& table : Tables()) {
      std::string sql = "SELECT count(*) FROM " + Qualified(table);
      if (table.name == "tally") sql += " WHERE last_update_time IS NOT NULL";
      auto count = QueryInt(conn_.get(), sql);
      if (!count.ok()) return count.status();
      info.rows[std::string(table.name)] = *count;
    }
    return info;
  }

  Status Scan(const Table& table, const PageFn& page) override {
    const std::string first = PageSql(table, false);
    const std::string next = PageSql(table, true);
    std::vector<Row> rows;
    std::vector<std::string> keys;
    for (bool more = true; more;) {
      std::vector<const char*> params;
      for (const std::string& key : keys) params.push_back(key.c_str());
      auto result = Run(conn_.get(), keys.empty() ? first : next, params);
      if (!result.ok()) return result.status();
      PGresult* r = result->get();
      rows.clear();
      for (int i = 0; i < PQntuples(r); ++i) rows.push_back(ReadRow(r, i, table));
      if (rows.empty()) break;
      if (Status s = page(rows); !s.ok()) return s;
      more = rows.size() == static_cast<std::size_t>(kPageRows);
      keys.clear();
      for (std::size_t k = 0; k < table.key_columns; ++k) keys.push_back(*rows.back()[k]);
    }
    return Status::Ok();
  }

 private:
  static int64_t ExpectedVersion();
  static std::string SeqValue(const std::string& sequence) {
    return "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM " + sequence;
  }
  static Row ReadRow(PGresult* r, int i, const Table& table) {
    Row row;
    for (int c = 0; c < static_cast<int>(table.columns.size()); ++c) {
      if (PQgetisnull(r, i, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(r, i, c), PQgetlength(r, i, c)));
      }
    }
    return row;
  }

  ConnPtr conn_;
};

class PgTarget final : public Target {
 public:
  explicit PgTarget(ConnPtr conn) : conn_(std::move(conn)) {}
  ~PgTarget() override {
    // Closing the connection rolls back an unfinished transaction.
  }

  Status Begin(const SourceInfo&, bool force) override {
    if (auto r = Run(conn_.get(), "BEGIN"); !r.ok()) return r.status();
    std::string all;
    for (const Table& table : Tables()) {
      all += (all.empty() ? "" : ", ") + Qualified(table);
      auto rows = QueryInt(conn_.get(), "SELECT count(*) FROM (SELECT 1 FROM " + Qualified(table) +
                                            " LIMIT 1) AS any_row");
      if (!rows.ok()) return rows.status();
      if (*rows > 0 && !force) {
        return Status::Conflict("the target is not empty (table " + std::string(table.name) +
                                " has rows); --force replaces everything in it");
      }
    }
    if (force) {
      if (auto r = Run(conn_.get(), "TRUNCATE " + all); !r.ok()) return r.status();
    }
    return Status::Ok();
  }

  Status Append(const Table& table, const std::vector<Row>& rows) override {
    if (rows.empty()) return Status::Ok();
    std::string columns;
    for (const Column& column : table.columns) {
      columns += (columns.empty() ? "" : ", ") + std::string(column.name);
    }
    const bool identity = table.name == "element" || table.name == "event";
    std::string sql = "INSERT INTO " + Qualified(table) + " (" + columns + ") " +
                      (identity ? "OVERRIDING SYSTEM VALUE " : "") + "VALUES ";
    std::vector<const char*> params;
    int n = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      sql += i > 0 ? ", (" : "(";
      for (std::size_t c = 0; c < table.columns.size(); ++c) {
        sql += (c > 0 ? ", " : "") + Param(table.columns[c], ++n);
        params.push_back(rows[i][c] ? rows[i][c]->c_str() : nullptr);
      }
      sql += ")";
    }
    auto r = Run(conn_.get(), sql, params);
    return r.ok() ? Status::Ok() : r.status();
  }

  Status Finish(const SourceInfo& info, const Summary&) override {
    for (auto [name, seq] :
         {std::pair{"element", info.sequences.element}, std::pair{"event", info.sequences.event}}) {
      const Table* table = FindTable(name);
      // The next id is past both the source's generator and every copied id.
      std::string sql = "SELECT setval(" + SequenceOf(*table) + ", greatest(" +
                        std::to_string(seq) + ", (SELECT coalesce(max(id), 0) FROM " +
                        Qualified(*table) + "), 1), greatest(" + std::to_string(seq) +
                        ", (SELECT coalesce(max(id), 0) FROM " + Qualified(*table) + ")) > 0)";
      if (auto r = Run(conn_.get(), sql); !r.ok()) return r.status();
    }
    auto r = Run(conn_.get(), "COMMIT");
    return r.ok() ? Status::Ok() : r.status();
  }

 private:
  ConnPtr conn_;
};

}  // namespace

int64_t PgSource::ExpectedVersion() { return static_cast<int64_t>(store::pg::kMigrations.size()); }

Result<std::unique_ptr<Source>> OpenPgSource(const std::string& url) {
  auto conn = Connect(url);
  if (!conn.ok()) return conn.status();
  return std::unique_ptr<Source>(new PgSource(std::move(conn).value()));
}

Result<std::unique_ptr<Target>> OpenPgTarget(const std::string& url) {
  // The store applies the migrations (an empty database gets the schema).
  store::OpenOptions options;
  options.pool_per_loop = 1;
  auto created = store::OpenStore(url, options);
  if (!created.ok()) return created.status();
  created->reset();
  auto conn = Connect(url);
  if (!conn.ok()) return conn.status();
  return std::unique_ptr<Target>(new PgTarget(std::move(conn).value()));
}

}  // namespace todo::transfer

// What a copy moves: the tables of the todo schema as plain rows, the same on every engine,
// and the summary both ends of a copy compute to verify it.
//
// A row is a vector of cells, one per column, each NULL or the value as text: integers in
// decimal, times as integer milliseconds since the Unix epoch (docs/decisions/0004), text
// as is. Every table is read in the order of its key, compared byte by byte (SQLite's
// BINARY collation, PostgreSQL's "C"), so both engines produce the same rows in the same
// order and therefore the same digest.
//
// Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/task.h"

struct crypto_hash_sha256_state;

namespace todo::transfer {

using core::Result;
using core::Status;

using Cell = std::optional<std::string>;
using Row = std::vector<Cell>;

enum class Kind { kInt, kText, kTime };

struct Column {
  std::string_view name;
  Kind kind = Kind::kText;
  bool nullable = false;
};

// One table: its name (without schema), its columns, the first `key_columns` of which are
// its key (the order rows are read and written in).
struct Table {
  std::string_view name;
  std::vector<Column> columns;
  std::size_t key_columns = 1;
  std::string_view label;  // for people: "tasks" for element
};

// Every table a copy moves, in the order it moves them. The per-user counters (tally) are
// copied as they are: they were committed with the tasks they count, so in one snapshot they
// agree with them. PostgreSQL may hold a tally row with no change yet (last_update_time
// NULL): it means the same as no row, so readers leave such rows out.
const std::vector<Table>& Tables();
// The table named `name`, or nullptr.
const Table* FindTable(std::string_view name);

// How far a store's id generators have gone: a copy sets the target's past these, so that no
// id (of a task since removed, say) is handed out twice.
struct Sequences {
  int64_t element = 0;
  int64_t event = 0;
};

// What a source says about itself once its snapshot is open.
struct SourceInfo {
  int64_t position = 0;   // the largest event id in the snapshot
  core::TimePoint taken;  // when the snapshot was taken
  Sequences sequences;
  std::map<std::string, int64_t> rows;  // by table name; may be empty (unknown)
};

// The verification of a copy: rows per table, tasks per user, and a SHA-256 over every row
// of every table in order (each cell framed by its length, NULL distinct from "").
struct Summary {
  std::map<std::string, int64_t> rows;
  std::map<std::string, int64_t> tasks_per_user;
  std::string sha256;  // hex

  bool operator==(const Summary&) const = default;
  // "accounts 3, tasks 120, events 300, requests 4, tallies 2, sha256 ab12..."
  std::string Describe() const;
};

// Computes a Summary from rows fed in the order of Tables(), each table's in key order.
class Summarizer {
 public:
  Summarizer();
  ~Summarizer();
  Summarizer(const Summarizer&) = delete;
  Summarizer& operator=(const Summarizer&) = delete;

  void Add(const Table& table, const std::vector<Row>& rows);
  // The summary of everything added; call once.
  Summary Finish();

 private:
  std::unique_ptr<crypto_hash_sha256_state> state_;
  Summary summary_;
};

// A difference between two summaries, for the verification message ("" when equal).
std::string Difference(const Summary& source, const Summary& target);

// Checks a row read from a file before it is written anywhere: the right number of cells,
// integers and times in decimal, NULL only where the schema allows it.
Status CheckRow(const Table& table, const Row& row);

}  // namespace todo::transfer

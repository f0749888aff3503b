// Backup files. A SQLite database is backed up as a SQLite file (sqlite3's online backup
// API: the database as of one instant, while a server keeps writing). Any database can also
// be written as a todo backup file: JSON lines, a header, one line per row, and an end line
// with the copy's summary (tables.h), so a truncated or altered file is refused on restore:
//
//   {"format":"todo-backup","version":1,"position":N,"taken":"TIME",
//    "sequences":{"element":N,"event":N},"rows":{"account":N,...}}
//   {"table":"element","row":[42,"dev0001",1764403534859,1764403534859,null,"text"]}
//   ...
//   {"end":{"rows":{"account":N,...},"tasks_per_user":{"dev0001":N,...},"sha256":"HEX"}}
//
// Rows come table by table in the order of Tables(), each table in key order; integers and
// times (milliseconds) are JSON numbers, text JSON strings, NULL null.
#pragma once

#include <memory>
#include <string>

#include "transfer/endpoint.h"

namespace todo::transfer {

inline constexpr char kBackupFormat[] = "todo-backup";
inline constexpr int kBackupVersion = 2;  // 2: request rows have `result`

enum class BackupKind { kSqlite, kJsonLines };

// What kind of backup `path` is, from its first bytes. kInvalidArgument if it is missing,
// empty, or neither kind.
Result<BackupKind> DetectBackupKind(const std::string& path);

// The todo backup file at `path` as a source. It is checked line by line as it is read (a
// malformed line, an unknown table, a row that does not fit the schema, a missing end line:
// kInvalidArgument naming the line); Recorded() gives the end line's summary.
Result<std::unique_ptr<Source>> OpenBackupFileSource(const std::string& path);
// A todo backup file written at `path`: into PATH.partial, renamed to `path` by Finish, so
// that a failed backup leaves no file. Begin refuses (kConflict) an existing `path` unless
// forced.
Result<std::unique_ptr<Target>> OpenBackupFileTarget(const std::string& path);

// Copies the SQLite database at `path` into a new SQLite file `out` (through
// `out`.partial, renamed at the end) with the online backup API. kInvalidArgument if `path`
// is not a todo database.
Status BackupSqlite(const std::string& path, const std::string& out);

}  // namespace todo::transfer

#include "todod/transfer_commands.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "server/config.h"
#include "transfer/copy.h"

namespace todo::todod {
namespace {

constexpr int kExitFailure = 1;

// Tests only (tests/transfer): make a copy fail after this many rows, before its commit.
constexpr char kFailAfterRowsEnv[] = "TODO_TRANSFER_FAIL_AFTER_ROWS";

transfer::CopyOptions Options(bool force, bool quiet) {
  transfer::CopyOptions options;
  options.force = force;
  options.progress = !quiet && isatty(STDERR_FILENO) == 1;
  if (const char* fail = std::getenv(kFailAfterRowsEnv); fail != nullptr && *fail != '\0') {
    options.fail_after_rows = std::atoll(fail);
  }
  return options;
}

int Report(const char* command, const core::Status& status) {
  if (status.ok()) return 0;
  std::cerr << "todod " << command << ": " << status.message() << "\n";
  return kExitFailure;
}

}  // namespace

struct TransferCommands::Args {
  CLI::App* copy = nullptr;
  CLI::App* backup = nullptr;
  CLI::App* restore = nullptr;
  std::string from;
  std::string to;
  std::string db;
  std::string file;
  bool force = false;
  bool quiet = false;
};

TransferCommands::TransferCommands(CLI::App& app) : args_(std::make_shared<Args>()) {
  Args& a = *args_;
  a.copy = app.add_subcommand("copy", "copy a whole database into another (SQLite <-> PostgreSQL)");
  a.copy->footer(
      "Copies accounts (with their token hashes: old tokens keep working), tasks with their ids "
      "and times, the change log, idempotency records and per-user counters, and moves the "
      "target's id generators past the source's. The source is read in one consistent "
      "snapshot (a server may be using it); the target is written in one transaction, so an "
      "interrupted copy leaves it as it was, then read back and verified (rows per table, "
      "tasks per user, SHA-256 of every row); exit 1 if they differ.\n"
      "Example: todod copy --from sqlite:todo.db --to postgresql://todo@db/todo");
  a.copy->add_option("--from", a.from, "source database: sqlite:PATH or a postgresql:// URL")
      ->required();
  a.copy->add_option("--to", a.to, "destination database: sqlite:PATH or a postgresql:// URL")
      ->required();
  a.copy->add_flag("--force", a.force,
                   "replace whatever the destination holds (refused otherwise when not empty)");
  a.copy->add_flag("--quiet", a.quiet, "no progress line on stderr");

  a.backup = app.add_subcommand("backup", "back up a database while servers use it");
  a.backup->footer(
      "SQLite: a SQLite file made with the online backup API (the database as of one "
      "instant). PostgreSQL: a todo backup file (JSON lines: a header, one line per row, an "
      "end line with a SHA-256), read in one REPEATABLE READ snapshot and verified by reading "
      "the file back. The file appears only once complete.\n"
      "Example: todod backup --db sqlite:todo.db --out todo-2026-11-29.backup");
  a.backup->add_option("--db", a.db, "database: sqlite:PATH or a postgresql:// URL")
      ->envname("TODO_DB")
      ->required();
  a.backup->add_option("--out", a.file, "backup file to write")->required();
  a.backup->add_flag("--force", a.force, "replace the backup file if it exists");
  a.backup->add_flag("--quiet", a.quiet, "no progress line on stderr");

  a.restore = app.add_subcommand("restore", "restore a backup file into a database");
  a.restore->footer(
      "Either kind of backup (detected from the file) into SQLite or PostgreSQL. The file is "
      "checked in full (format, schema, checksum) before the database is touched; the "
      "database is written in one transaction and verified like a copy.\n"
      "Example: todod restore --in todo.backup --db sqlite:restored.db");
  a.restore->add_option("--in", a.file, "backup file (from todod backup)")->required();
  a.restore->add_option("--db", a.db, "database to restore into: sqlite:PATH or postgresql://")
      ->required();
  a.restore->add_flag("--force", a.force,
                      "replace whatever the database holds (refused otherwise when not empty)");
  a.restore->add_flag("--quiet", a.quiet, "no progress line on stderr");
}

std::optional<int> TransferCommands::Run() const {
  const Args& a = *args_;
  transfer::CopyOptions options = Options(a.force, a.quiet);
  if (a.copy->parsed()) {
    return Report("copy", transfer::CopyDatabase(a.from, a.to, options, std::cout));
  }
  if (a.backup->parsed()) {
    return Report("backup", transfer::BackupDatabase(a.db, a.file, options, std::cout));
  }
  if (a.restore->parsed()) {
    return Report("restore", transfer::RestoreDatabase(a.file, a.db, options, std::cout));
  }
  return std::nullopt;
}

}  // namespace todo::todod

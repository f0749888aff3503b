#include "transfer/copy.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

namespace todo::transfer {
namespace {

using Clock = std::chrono::steady_clock;

// The progress line: "copy: tasks 120000/1000000", rewritten at most ten times a second
// and at the end of each table.
class Progress {
 public:
  Progress(bool enabled, const SourceInfo& info) : enabled_(enabled), info_(info) {}
  ~Progress() {
    if (shown_) std::fputc('\n', stderr);
  }

  void Add(const Table& table, int64_t rows) {
    done_ += rows;
    if (Clock::now() >= next_) Show(table);
  }
  void EndTable(const Table& table) {
    Show(table);
    done_ = 0;
  }

 private:
  void Show(const Table& table) {
    if (!enabled_) return;
    next_ = Clock::now() + std::chrono::milliseconds(100);
    auto total = info_.rows.find(std::string(table.name));
    std::fprintf(stderr, "\rcopy: %s %lld/%lld\x1b[K", std::string(table.label).c_str(),
                 static_cast<long long>(done_),
                 static_cast<long long>(total == info_.rows.end() ? 0 : total->second));
    std::fflush(stderr);
    shown_ = true;
  }

  bool enabled_;
  const SourceInfo& info_;
  int64_t done_ = 0;
  Clock::time_point next_;
  bool shown_ = false;
};

// A failure before the destination's commit: it is as it was.
Status Unchanged(const Status& failed) {
  return Status(failed.code(), failed.message() + "; nothing was changed");
}

// A failure after the commit: the destination holds the copy, unverified.
Status Unverified(const Status& failed) {
  return Status(failed.code(), "the copy was committed but could not be verified (" +
                                   failed.message() + "); check it, or copy again with --force");
}

// Begins the source (so that a source that is not a todo database is refused before the
// destination is created), copies into the target `open_target` makes, then reads the
// destination back through `reopen` and compares.
template <typename MakeTarget, typename Reopen>
Status CopyAndVerify(Source& source, MakeTarget open_target, Reopen reopen,
                     const CopyOptions& options, std::ostream& out) {
  auto info = source.Begin();
  if (!info.ok()) return Unchanged(info.status());
  Result<std::unique_ptr<Target>> target = open_target();
  if (!target.ok()) return Unchanged(target.status());
  auto copied = CopyAll(source, *info, **target, options);
  if (!copied.ok()) return Unchanged(copied.status());
  target->reset();
  auto again = reopen();
  if (!again.ok()) return Unverified(again.status());
  auto written = Summarize(**again);
  if (!written.ok()) return Unverified(written.status());
  std::string difference = Difference(*copied, *written);
  if (!difference.empty()) {
    out << "verify: FAILED: " << difference << "\n";
    return Status::Internal("the copy was committed but differs from the source: " + difference);
  }
  out << "verify: ok: " << written->Describe() << "\n";
  return Status::Ok();
}

// Two spellings of one SQLite file ("a.db", "./a.db") are the same place.
bool SameLocation(const Location& a, const Location& b) {
  if (a.engine != b.engine) return false;
  if (a.engine == Engine::kPostgres) return a.where == b.where;
  std::error_code error;
  auto canonical = [&error](const std::string& path) {
    return std::filesystem::weakly_canonical(path, error);
  };
  return canonical(a.where) == canonical(b.where);
}

}  // namespace

Result<std::unique_ptr<Source>> OpenSource(const Location& location) {
  if (location.engine == Engine::kPostgres) return OpenPgSource(location.where);
  return OpenSqliteSource(location.where);
}

Result<std::unique_ptr<Target>> OpenTarget(const Location& location) {
  if (location.engine == Engine::kPostgres) return OpenPgTarget(location.where);
  return OpenSqliteTarget(location.where);
}

Result<Location> ParseLocation(const std::string& url) {
  if (url.empty()) return Status::InvalidArgument("no database given");
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return Location{.engine = Engine::kPostgres, .where = url};
  }
  if (url.starts_with("sqlite:")) {
    std::string path = url.substr(7);
    if (path.empty()) return Status::InvalidArgument("sqlite: needs a file path");
    return Location{.engine = Engine::kSqlite, .where = path};
  }
  std::size_t scheme = url.find("://");
  if (scheme != std::string::npos || url.find(':') < url.find('/')) {
    return Status::InvalidArgument("unknown database '" + url +
                                   "': use sqlite:PATH or postgresql://...");
  }
  return Location{.engine = Engine::kSqlite, .where = url};
}

Result<Summary> CopyAll(Source& source, const SourceInfo& info, Target& target,
                        const CopyOptions& options) {
  if (Status s = target.Begin(info, options.force); !s.ok()) return s;
  Summarizer summarizer;
  Progress progress(options.progress, info);
  int64_t written = 0;
  for (const Table& table : Tables()) {
    Status scanned = source.Scan(table, [&](const std::vector<Row>& rows) -> Status {
      if (options.fail_after_rows && written >= *options.fail_after_rows) {
        return Status::Internal("stopped after " + std::to_string(written) +
                                " rows (TODO_TRANSFER_FAIL_AFTER_ROWS)");
      }
      summarizer.Add(table, rows);
      if (Status s = target.Append(table, rows); !s.ok()) return s;
      written += static_cast<int64_t>(rows.size());
      progress.Add(table, static_cast<int64_t>(rows.size()));
      return Status::Ok();
    });
    if (!scanned.ok()) return scanned;
    progress.EndTable(table);
  }
  Summary summary = summarizer.Finish();
  if (auto recorded = source.Recorded(); recorded && *recorded != summary) {
    return Status::InvalidArgument("the backup file does not match its own checksum: " +
                                   Difference(*recorded, summary));
  }
  if (Status s = target.Finish(info, summary); !s.ok()) return s;
  return summary;
}

Result<Summary> Summarize(Source& source) {
  auto info = source.Begin();
  if (!info.ok()) return info.status();
  Summarizer summarizer;
  for (const Table& table : Tables()) {
    Status scanned = source.Scan(table, [&](const std::vector<Row>& rows) {
      summarizer.Add(table, rows);
      return Status::Ok();
    });
    if (!scanned.ok()) return scanned;
  }
  Summary summary = summarizer.Finish();
  if (auto recorded = source.Recorded(); recorded && *recorded != summary) {
    return Status::InvalidArgument("the backup file does not match its own checksum: " +
                                   Difference(*recorded, summary));
  }
  return summary;
}

Status CopyDatabase(const std::string& from, const std::string& to, const CopyOptions& options,
                    std::ostream& out) {
  auto source_at = ParseLocation(from);
  if (!source_at.ok()) return source_at.status();
  auto target_at = ParseLocation(to);
  if (!target_at.ok()) return target_at.status();
  if (SameLocation(*source_at, *target_at)) {
    return Status::InvalidArgument("--from and --to name the same database");
  }
  auto source = OpenSource(*source_at);
  if (!source.ok()) return source.status();
  return CopyAndVerify(
      **source, [&] { return OpenTarget(*target_at); }, [&] { return OpenSource(*target_at); },
      options, out);
}

Status BackupDatabase(const std::string& db, const std::string& file, const CopyOptions& options,
                      std::ostream& out) {
  auto source_at = ParseLocation(db);
  if (!source_at.ok()) return source_at.status();
  if (source_at->engine == Engine::kSqlite) {
    std::error_code ignored;
    if (!options.force && std::filesystem::exists(file, ignored)) {
      return Status::Conflict("'" + file + "' exists; --force replaces it");
    }
    if (Status s = BackupSqlite(source_at->where, file); !s.ok()) return s;
    auto written = OpenSqliteSource(file);
    if (!written.ok()) return written.status();
    auto summary = Summarize(**written);
    if (!summary.ok()) return summary.status();
    out << "backup: SQLite file " << file << ": " << summary->Describe() << "\n";
    return Status::Ok();
  }
  auto source = OpenSource(*source_at);
  if (!source.ok()) return source.status();
  return CopyAndVerify(
      **source, [&] { return OpenBackupFileTarget(file); },
      [&] { return OpenBackupFileSource(file); }, options, out);
}

Status RestoreDatabase(const std::string& file, const std::string& db, const CopyOptions& options,
                       std::ostream& out) {
  auto target_at = ParseLocation(db);
  if (!target_at.ok()) return target_at.status();
  auto kind = DetectBackupKind(file);
  if (!kind.ok()) return kind.status();
  auto open_file = [&]() -> Result<std::unique_ptr<Source>> {
    if (*kind == BackupKind::kSqlite) return OpenSqliteSource(file);
    return OpenBackupFileSource(file);
  };
  // The whole file is checked before the database is touched.
  {
    auto check = open_file();
    if (!check.ok()) return check.status();
    if (auto summary = Summarize(**check); !summary.ok()) return summary.status();
  }
  auto source = open_file();
  if (!source.ok()) return source.status();
  return CopyAndVerify(
      **source, [&] { return OpenTarget(*target_at); }, [&] { return OpenSource(*target_at); },
      options, out);
}

}  // namespace todo::transfer

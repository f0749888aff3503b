// todod's copy, backup and restore: a whole todo database moved from one place to another
// (SQLite file, PostgreSQL database, backup file), read in one consistent snapshot, written
// in one transaction, then verified by reading the destination back.
//
// Memory: one page of rows (endpoint.h, kPageRows) at a time, plus the per-user task
// counts of the verification.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "transfer/backup.h"
#include "transfer/endpoint.h"

namespace todo::transfer {

struct CopyOptions {
  bool force = false;     // replace whatever the destination holds
  bool progress = false;  // a progress line on stderr, rewritten in place (for terminals)
  // Tests only: fail (kInternal) after this many rows were written, before the commit, to
  // check that an interrupted copy leaves the destination as it was.
  std::optional<int64_t> fail_after_rows;
};

// Copies everything `source` (begun: `info` is what its Begin returned) holds into
// `target`: Begin, every table page by page, then Finish. Returns the summary of what was
// read. A source with a recorded summary (a backup file) must match it, or nothing is
// committed (kInvalidArgument).
Result<Summary> CopyAll(Source& source, const SourceInfo& info, Target& target,
                        const CopyOptions& options);

// The summary of everything a source holds (Begin is called here).
Result<Summary> Summarize(Source& source);

// `todod copy --from FROM --to TO`: FROM and TO are database URLs (sqlite:PATH, a bare
// path, postgresql://...). Writes the verification result to `out`. kInvalidArgument for a
// bad URL, the same database twice, or a source that is not a todo database; kConflict for
// a non-empty destination without options.force; kInternal if the verification fails.
Status CopyDatabase(const std::string& from, const std::string& to, const CopyOptions& options,
                    std::ostream& out);

// `todod backup --db DB --out FILE`: a SQLite database as a SQLite file (online backup), a
// PostgreSQL one as a todo backup file (backup.h). Runs beside a serving todod.
Status BackupDatabase(const std::string& db, const std::string& file, const CopyOptions& options,
                      std::ostream& out);

// `todod restore --in FILE --db DB`: either kind of backup file into a database; the file
// is checked in full before the database is touched.
Status RestoreDatabase(const std::string& file, const std::string& db, const CopyOptions& options,
                       std::ostream& out);

}  // namespace todo::transfer

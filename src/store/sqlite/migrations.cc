#include "store/sqlite/migrations.h"

#include <string>

#include "store/sqlite/connection.h"

namespace todo::store {
namespace {

constexpr char kReadVersion[] = "PRAGMA user_version";
constexpr int64_t kLatest = static_cast<int64_t>(kMigrations.size());

int64_t ReadVersion(Connection& db) {
  Statement read = db.Prepare(kReadVersion);
  return read.Step() ? read.Int(0) : 0;
}

core::Status TooNew(int64_t version) {
  return core::Status::Internal("the database has schema version " + std::to_string(version) +
                                ", newer than this program (" + std::to_string(kLatest) +
                                "): upgrade todo");
}

}  // namespace

core::Status Migrate(Connection& db) {
  try {
    db.BeginImmediate();
    int64_t version = ReadVersion(db);
    if (version > kLatest) {
      db.RollbackQuietly();
      return TooNew(version);
    }
    for (int64_t n = version + 1; n <= kLatest; ++n) {
      try {
        db.Exec(kMigrations[static_cast<std::size_t>(n - 1)]);
      } catch (const SqliteError& e) {
        db.RollbackQuietly();
        return core::Status::Internal("migration " + std::to_string(n) + " failed: " + e.what());
      }
    }
    if (version < kLatest) {
      // PRAGMA takes no bound parameters; the value is our own integer.
      std::string set_version = "PRAGMA user_version = " + std::to_string(kLatest);
      db.Exec(set_version.c_str());
    }
    db.Commit();
    return core::Status::Ok();
  } catch (const SqliteError& e) {
    db.RollbackQuietly();
    return ToStatus(e);
  }
}

core::Status CheckSchema(Connection& db) {
  try {
    int64_t version = ReadVersion(db);
    if (version > kLatest) return TooNew(version);
    if (version < kLatest) {
      return core::Status::Unavailable("the database has schema version " +
                                       std::to_string(version) + ", this program needs " +
                                       std::to_string(kLatest) + ": apply the migrations first");
    }
    return core::Status::Ok();
  } catch (const SqliteError& e) {
    return ToStatus(e);
  }
}

}  // namespace todo::store

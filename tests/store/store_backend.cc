#include "store_backend.h"

#include "support/test_database.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace todo::store::conformance {
namespace {

// A new private directory under the system's temporary directory.
std::filesystem::path MakeTempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "todo-store-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

StoreBackend SqliteBackend() {
  return StoreBackend{
      .name = "sqlite",
      // A subdirectory that does not exist yet: opening must create it.
      .fresh_location = [] { return "sqlite:" + (MakeTempDir() / "data" / "todo.db").string(); },
      .discard =
          [](const std::string& location) {
            // sqlite:/tmp/todo-store-test-XXXXXX/data/todo.db -> /tmp/todo-store-test-XXXXXX
            std::filesystem::path file = location.substr(std::string("sqlite:").size());
            std::error_code ignored;
            std::filesystem::remove_all(file.parent_path().parent_path(), ignored);
          },
      .unavailable = [] { return std::string(); },
  };
}

// PostgreSQL on the server TODO_TEST_PG_URL names (read when a case runs): each location is
// a new database on it, dropped by discard.
StoreBackend PostgresBackend() {
  // The databases alive now, by URL; guarded because tests may open stores from threads.
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<testing::TestDatabase>> alive;
  static testing::TempDir unused_dir;
  return StoreBackend{
      .name = "postgres",
      .fresh_location =
          [] {
            auto db = std::make_unique<testing::TestDatabase>("postgres", unused_dir);
            std::string location = db->url();
            std::lock_guard lock(mu);
            alive[location] = std::move(db);
            return location;
          },
      .discard =
          [](const std::string& location) {
            std::lock_guard lock(mu);
            alive.erase(location);
          },
      .unavailable =
          [] {
            const char* url = std::getenv("TODO_TEST_PG_URL");
            return url == nullptr || *url == '\0' ? std::string("TODO_TEST_PG_URL is not set")
                                                   : std::string();
          },
  };
}

}  // namespace

std::vector<StoreBackend> Backends() {
  return {SqliteBackend(), PostgresBackend()};
}

}  // namespace todo::store::conformance

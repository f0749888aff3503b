#include "store_backend.h"

#include <cstdlib>
#include <filesystem>
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
  };
}

// TODO(postgres): when src/store/postgres/ exists, return a backend here if TODO_TEST_PG_URL
// is set: fresh_location creates an empty database (or schema) through that server and
// returns its URL, discard drops it. Until then the suite runs on SQLite only.
std::optional<StoreBackend> PostgresBackend() { return std::nullopt; }

}  // namespace

std::vector<StoreBackend> Backends() {
  std::vector<StoreBackend> backends = {SqliteBackend()};
  if (std::optional<StoreBackend> pg = PostgresBackend()) backends.push_back(*std::move(pg));
  return backends;
}

}  // namespace todo::store::conformance

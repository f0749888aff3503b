// OpenStore's URL handling (store.h): which store a URL names, and the URLs it refuses.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "store/store.h"
#include "store/sync.h"
#include "store_backend.h"

namespace todo::store {
namespace {

using core::ErrorCode;

class OpenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "todo-open-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::filesystem::path dir_;
};

OpenOptions ReadersOnly(int readers) {
  OpenOptions options;
  options.readers = readers;
  return options;
}

const Actor kAlice{.name = "alice", .role = core::Role::kDeveloper};

// Both spellings reach the PostgreSQL store; with nothing listening it says unavailable.
TEST_F(OpenStoreTest, PostgresqlWithNoServerIsUnavailable) {
  for (const char* url : {"postgresql://postgres@127.0.0.1:1/todo", "postgres://u:p@127.0.0.1:1/todo"}) {
    auto store = OpenStore(url);
    ASSERT_FALSE(store.ok()) << url;
    EXPECT_EQ(store.status().code(), ErrorCode::kUnavailable) << store.status().ToString();
  }
}

TEST_F(OpenStoreTest, UnknownSchemesAreInvalid) {
  for (const char* url : {"mysql://localhost/todo", "http://example.com/db", "redis:x"}) {
    auto store = OpenStore(url);
    ASSERT_FALSE(store.ok()) << url;
    EXPECT_EQ(store.status().code(), ErrorCode::kInvalidArgument) << url;
  }
}

TEST_F(OpenStoreTest, EmptyPathAndInMemoryAreInvalid) {
  for (const char* url : {"", "sqlite:", ":memory:", "sqlite::memory:"}) {
    auto store = OpenStore(url);
    ASSERT_FALSE(store.ok()) << url;
    EXPECT_EQ(store.status().code(), ErrorCode::kInvalidArgument) << url;
  }
}

TEST_F(OpenStoreTest, BarePathSqliteUrlAndTripleSlashNameTheSameFile) {
  std::filesystem::path file = dir_ / "a" / "b" / "todo.db";  // parents are created
  {
    auto store = OpenStore(file.string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE(RunSync((*store)->AddTask(kAlice, "one", nullptr)).ok());
  }
  EXPECT_TRUE(std::filesystem::exists(file));
  for (const std::string& url : {"sqlite:" + file.string(), "sqlite://" + file.string()}) {
    auto store = OpenStore(url, ReadersOnly(1));
    ASSERT_TRUE(store.ok()) << url << ": " << store.status().ToString();
    auto page = RunSync((*store)->ListTasks(kAlice, TaskQuery{}));
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->tasks.size(), 1u) << url;
  }
}

TEST_F(OpenStoreTest, ZeroReadersStillReads) {
  auto store = OpenStore((dir_ / "todo.db").string(), ReadersOnly(0));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(RunSync((*store)->Ping()).ok());
}

TEST_F(OpenStoreTest, WithoutMigratingANewFileIsUnavailableUntilMigrated) {
  std::string path = (dir_ / "todo.db").string();
  OpenOptions no_migrate;
  no_migrate.migrate = false;
  auto unmigrated = OpenStore(path, no_migrate);
  ASSERT_FALSE(unmigrated.ok());
  EXPECT_EQ(unmigrated.status().code(), ErrorCode::kUnavailable);
  ASSERT_TRUE(OpenStore(path).ok());  // migrates
  auto migrated = OpenStore(path, no_migrate);
  ASSERT_TRUE(migrated.ok()) << migrated.status().ToString();
  EXPECT_TRUE(RunSync((*migrated)->Ping()).ok());
}

TEST_F(OpenStoreTest, UnwritableLocationIsUnavailable) {
  std::filesystem::path blocker = dir_ / "file";
  { std::ofstream(blocker) << "not a directory"; }
  auto store = OpenStore((blocker / "todo.db").string());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kUnavailable);
}

TEST_F(OpenStoreTest, NotADatabaseFails) {
  std::filesystem::path file = dir_ / "junk.db";
  { std::ofstream(file) << std::string(8192, 'j'); }
  auto store = OpenStore(file.string());
  ASSERT_FALSE(store.ok());
}

}  // namespace
}  // namespace todo::store

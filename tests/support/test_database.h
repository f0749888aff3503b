// Test support: a fresh database per test, SQLite in a temporary directory or PostgreSQL on
// the server named by TODO_TEST_PG_URL (scripts/test starts one with scripts/pg).
#pragma once

#include <string>

#include "support/process.h"

namespace todo::testing {

// A database for one test; dropped (PostgreSQL) or deleted (SQLite) with the object.
class TestDatabase {
 public:
  // kind: "sqlite" or "postgres". For postgres, url() is empty (and a failure recorded)
  // when the database could not be created; check skip_reason() first.
  TestDatabase(const std::string& kind, const TempDir& dir);
  ~TestDatabase();
  const std::string& url() const { return url_; }
  // Non-empty when the test must be skipped (postgres without TODO_TEST_PG_URL).
  const std::string& skip_reason() const { return skip_reason_; }

 private:
  std::string admin_url_;  // TODO_TEST_PG_URL
  std::string name_;       // the PostgreSQL database made for the test
  std::string url_;
  std::string skip_reason_;
};

// `url` with its database (the path) replaced by `database`.
std::string WithDatabase(const std::string& url, const std::string& database);

}  // namespace todo::testing

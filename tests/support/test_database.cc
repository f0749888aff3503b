#include "support/test_database.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>

#include <gtest/gtest.h>

namespace todo::testing {
namespace {

bool Psql(const std::string& url, const std::string& sql, std::string* error) {
  ProcessResult r = RunProcess({"/usr/bin/psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql});
  if (r.exit_code != 0 && error != nullptr) *error = r.err;
  return r.exit_code == 0;
}

}  // namespace

std::string WithDatabase(const std::string& url, const std::string& database) {
  std::size_t scheme = url.find("://");
  std::size_t authority = scheme == std::string::npos ? 0 : scheme + 3;
  std::size_t path = url.find_first_of("/?", authority);
  if (path == std::string::npos) return url + "/" + database;
  std::size_t query = url.find('?', path);
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return url.substr(0, path) + "/" + database + rest;
}

TestDatabase::TestDatabase(const std::string& kind, const TempDir& dir) {
  if (kind == "sqlite") {
    url_ = "sqlite:" + dir.File("todo.db");
    return;
  }
  const char* admin = std::getenv("TODO_TEST_PG_URL");
  if (admin == nullptr || *admin == '\0') {
    skip_reason_ = "TODO_TEST_PG_URL is not set (scripts/pg start DIR)";
    return;
  }
  admin_url_ = admin;
  static std::atomic<int> counter{0};
  name_ = "todo_server_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
  std::string error;
  if (!Psql(admin_url_, "CREATE DATABASE " + name_, &error)) {
    ADD_FAILURE() << "cannot create database " << name_ << ": " << error;
    name_.clear();
    return;
  }
  url_ = WithDatabase(admin_url_, name_);
}

TestDatabase::~TestDatabase() {
  if (!name_.empty()) {
    std::string error;
    if (!Psql(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", &error)) {
      ADD_FAILURE() << "cannot drop database " << name_ << ": " << error;
    }
  }
}

}  // namespace todo::testing

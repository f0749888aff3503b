// ServerTest: the fixture of todod's integration tests. Each test gets a fresh database (a
// SQLite file in a temporary directory, or, for the "postgres" parameter, a new database on
// the server named by TODO_TEST_PG_URL; skipped when unset), four accounts (ada the admin,
// made with `todod user add`; alice and bob, developers, and mia, a manager, made by ada over
// the API), and a real todod on an ephemeral loopback port, stopped with SIGTERM at the end
// (which must exit 0).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "http_client.h"
#include "support/process.h"
#include "support/test_database.h"
#include "support/todod_process.h"

namespace todo::testing {

// Runs `todod user add NAME --role ROLE --db URL`; returns the token (a test failure and ""
// when it fails or prints anything but the token).
std::string AddUserWithCli(const std::string& db_url, const std::string& name,
                           const std::string& role);

class ServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts todod on this test's database (serve --listen 127.0.0.1:0 --db URL --threads 2
  // plus `extra`); fails the test when it does not start.
  void StartServer(const std::vector<std::string>& extra = {});
  // SIGTERM, then the exit code.
  int StopServer();

  int port() const { return server_ ? server_->port() : 0; }
  HttpClient Client(const std::string& token) const { return HttpClient(port(), token); }
  // An account made by the admin over the API; returns its token.
  std::string AddUser(const std::string& name, const std::string& role);

  // What the admin sees of everything (every task of everyone, the change log, the users),
  // to compare before and after requests that must change nothing.
  std::string Snapshot();

  TempDir dir_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<TododProcess> server_;
  std::string admin_;  // ada
  std::string alice_;  // developer
  std::string bob_;    // developer
  std::string mia_;    // manager
};

// "sqlite" / "postgres" as test name suffixes.
std::string StoreName(const ::testing::TestParamInfo<std::string>& info);

}  // namespace todo::testing

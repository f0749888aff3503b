#include "server_fixture.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <regex>

namespace todo::testing {

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string AddUserWithCli(const std::string& db_url, const std::string& name,
                           const std::string& role) {
  ProcessResult r =
      RunProcess({BinPath("todod"), "user", "add", name, "--role", role, "--db", db_url});
  static const std::regex kTokenLine("todo_[0-9a-f]{64}\n");
  if (r.exit_code != 0 || !std::regex_match(r.out, kTokenLine)) {
    ADD_FAILURE() << "todod user add " << name << ": exit " << r.exit_code << "\nstdout: " << r.out
                  << "\nstderr: " << r.err;
    return "";
  }
  return Trim(r.out);
}

void ServerTest::SetUp() {
  db_ = std::make_unique<TestDatabase>(GetParam(), dir_);
  if (!db_->skip_reason().empty()) GTEST_SKIP() << db_->skip_reason();
  ASSERT_FALSE(db_->url().empty());
  admin_ = AddUserWithCli(db_->url(), "ada", "admin");
  ASSERT_FALSE(admin_.empty());
  StartServer();
  ASSERT_TRUE(server_);
  alice_ = AddUser("alice", "developer");
  bob_ = AddUser("bob", "developer");
  mia_ = AddUser("mia", "manager");
  ASSERT_FALSE(alice_.empty() || bob_.empty() || mia_.empty());
}

void ServerTest::TearDown() {
  if (server_) {
    int code = StopServer();
    EXPECT_EQ(code, 0) << "todod's stderr:\n" << server_->log();
  }
  server_.reset();
  db_.reset();
}

void ServerTest::StartServer(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"serve",     "--listen", "127.0.0.1:0", "--db", db_->url(),
                                   "--threads", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  server_ = TododProcess::Start(args);
  ASSERT_TRUE(server_) << "todod did not start";
}

int ServerTest::StopServer() {
  if (!server_) return -1;
  return server_->Stop();
}

std::string ServerTest::AddUser(const std::string& name, const std::string& role) {
  HttpClient admin = Client(admin_);
  HttpResponse r =
      admin.Post("/v1/users", R"({"name":")" + name + R"(","role":")" + role + R"("})");
  if (r.status != 201) {
    ADD_FAILURE() << "create " << name << ": " << r.status << " " << r.error << r.body;
    return "";
  }
  return std::string(r.Json().at("token").as_string());
}

std::string ServerTest::Snapshot() {
  HttpClient admin = Client(admin_);
  std::string out;
  int64_t after = 0;
  for (;;) {
    HttpResponse r = admin.Get("/v1/tasks?state=all&limit=1000&after=" + std::to_string(after));
    if (r.status != 200) {
      ADD_FAILURE() << "snapshot tasks: " << r.status << " " << r.error << r.body;
      return out;
    }
    out += r.body + "\n";
    auto next = r.Json().at("next");
    if (next.is_null()) break;
    after = next.as_int64();
  }
  after = 0;
  for (;;) {
    HttpResponse r = admin.Get("/v1/events?limit=1000&after=" + std::to_string(after));
    if (r.status != 200) {
      ADD_FAILURE() << "snapshot events: " << r.status << " " << r.error << r.body;
      return out;
    }
    out += r.body + "\n";
    auto next = r.Json().at("next");
    if (next.is_null()) break;
    after = next.as_int64();
  }
  out += admin.Get("/v1/users").body;
  return out;
}

std::string StoreName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace todo::testing

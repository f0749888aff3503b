// End to end: the real todo-sim against a real todod on a temporary SQLite database. The
// simulator's checker must find the server's history clean, and its reports must hold the
// counts.

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/process.h"
#include "support/todod_process.h"

namespace todo::testing {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

class SimE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = "sqlite:" + dir_.File("todo.db");
    ProcessResult admin =
        RunProcess({BinPath("todod"), "user", "add", "admin", "--role", "admin", "--db", db_});
    ASSERT_EQ(admin.exit_code, 0) << admin.err;
    token_ = Trim(admin.out);
    ASSERT_FALSE(token_.empty());
    server_ = TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", db_});
    ASSERT_NE(server_, nullptr);
  }

  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << server_->log();
    }
  }

  ProcessResult Sim(std::vector<std::string> extra) {
    std::vector<std::string> argv = {BinPath("todo-sim"), "--server", server_->url(),
                                     "--admin-token", token_, "--developers", "20",
                                     "--managers", "2", "--delay", "10ms", "--duration", "3"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv);
  }

  TempDir dir_;
  std::string db_;
  std::string token_;
  std::unique_ptr<TododProcess> server_;
};

// The numbers of a verdict line, or an empty match.
std::smatch Verdict(const std::string& text) {
  static const std::regex kVerdict(
      R"(checker: ok acknowledged=(\d+) maybe=(\d+) lost=0 duplicated=0 leaked=0 unexpected=0)");
  std::smatch m;
  std::regex_search(text, m, kVerdict);
  return m;
}

TEST_F(SimE2eTest, TwentyDevelopersAndTwoManagersLeaveACleanHistory) {
  ProcessResult run = Sim({"--seed", "7"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  std::smatch verdict = Verdict(run.out);
  ASSERT_FALSE(verdict.empty()) << run.out << run.err;
  EXPECT_GT(std::stoll(verdict[1].str()), 0) << run.out;
  EXPECT_EQ(std::stoll(verdict[2].str()), 0) << run.out;  // loopback: every write answered
  EXPECT_NE(run.out.find("errors: none"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("20 developers, 2 managers"), std::string::npos) << run.out;
}

TEST_F(SimE2eTest, JsonReportHoldsTheCounts) {
  ProcessResult run = Sim({"--json", "--mix", "add=60,remove=30,list=10"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(run.out, ec);
  ASSERT_FALSE(ec) << "not JSON: " << run.out;
  const auto& ops = v.at("ops");
  int64_t total = ops.at("total").as_int64();
  EXPECT_GT(ops.at("add").as_int64(), 0);
  EXPECT_GT(ops.at("remove").as_int64(), 0);
  EXPECT_GT(ops.at("users").as_int64(), 0);
  EXPECT_EQ(total, ops.at("add").as_int64() + ops.at("remove").as_int64() +
                       ops.at("list").as_int64() + ops.at("users").as_int64() +
                       ops.at("all-tasks").as_int64() + ops.at("events").as_int64());
  EXPECT_EQ(v.at("latency_ms").at("all").at("count").as_int64(), total);
  // Every operation made at least one exchange on a connection (a page-through makes more).
  EXPECT_GE(v.at("exchange_ms").at("count").as_int64(), total);
  EXPECT_EQ(v.at("errors").at("total").as_int64(), 0);
  EXPECT_EQ(v.at("developers").as_int64(), 20);
  EXPECT_EQ(v.at("managers").as_int64(), 2);
  const auto& checker = v.at("checker");
  EXPECT_TRUE(checker.at("ok").as_bool()) << run.out;
  // Every acknowledged write is an add or a remove the report counted.
  EXPECT_GT(checker.at("acknowledged").as_int64(), 0);
  EXPECT_EQ(checker.at("acknowledged").as_int64() + checker.at("maybe").as_int64() +
                checker.at("failed").as_int64(),
            ops.at("add").as_int64() + ops.at("remove").as_int64());
  for (const char* kind : {"lost", "duplicated", "leaked", "unexpected", "mismatched"}) {
    EXPECT_EQ(checker.at(kind).as_int64(), 0) << kind;
  }
  // The verdict line still goes to stderr for people.
  EXPECT_FALSE(Verdict(run.err).empty()) << run.err;
}

TEST_F(SimE2eTest, ReusedAccountsKeepTheirTasksAcrossRuns) {
  std::string accounts = dir_.File("accounts.txt");
  ProcessResult first = Sim({"--reuse", accounts, "--mix", "add=80,remove=10,list=10"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  std::string saved = ReadFile(accounts);
  EXPECT_NE(saved.find("developer "), std::string::npos) << saved;
  EXPECT_NE(saved.find("manager "), std::string::npos) << saved;
  // The second run creates nothing (no admin token needed) and finds the first run's tasks.
  ProcessResult second = RunProcess({BinPath("todo-sim"), "--server", server_->url(),
                                     "--developers", "20", "--managers", "2", "--delay", "10ms",
                                     "--duration", "1", "--reuse", accounts});
  EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_FALSE(Verdict(second.out).empty()) << second.out << second.err;
  EXPECT_EQ(ReadFile(accounts), saved);
}

TEST(SimUsageTest, BadArgumentsExitTwo) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--mix", "add=1,add=2"}, {"--delay", "soon"},
        {"--duration", "-3"}, {"--developers", "0"}, {"--server", "https://x:1"},
        {"--prefix", "bad name"}, {"--no-such-flag"}}) {
    std::vector<std::string> argv = {BinPath("todo-sim"), "--admin-token", "t"};
    if (args[0] != "--server") argv.insert(argv.end(), {"--server", "http://127.0.0.1:9"});
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult run = RunProcess(argv);
    EXPECT_EQ(run.exit_code, 2) << args[0] << ": " << run.err;
    EXPECT_TRUE(run.out.empty()) << run.out;
  }
  ProcessResult help = RunProcess({BinPath("todo-sim"), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--developers"), std::string::npos);
}

}  // namespace
}  // namespace todo::testing

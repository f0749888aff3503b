// Black-box tests of the `todo` binary in remote mode: a real todod on a temporary SQLite
// store, accounts made with `todod user add`, and the CLI pointed at it with --server or the
// environment (TODO_SERVER, the origin's MONSERVEUR, TODO_TOKEN).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include "support/process.h"
#include "support/todod_process.h"

namespace todo::testing {
namespace {

class CliRemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = "sqlite:" + dir_.File("todo.db");
    alice_ = AddUser("alice", "developer");
    bob_ = AddUser("bob", "developer");
    boss_ = AddUser("boss", "manager");
    server_ = TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", db_});
    ASSERT_NE(server_, nullptr);
  }

  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << server_->log();
    }
  }

  std::string AddUser(const std::string& name, const std::string& role) {
    auto r = RunProcess({BinPath("todod"), "user", "add", name, "--role", role, "--db", db_});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string token = r.out;
    while (!token.empty() && token.back() == '\n') token.pop_back();
    return token;
  }

  // Runs todo against the server as the holder of `token`.
  ProcessResult Todo(const std::string& token, std::vector<std::string> args,
                     std::map<std::string, std::string> env = {}) {
    ProcessOptions options;
    options.env = {{"TODO_SERVER", server_->url()}, {"TODO_TOKEN", token}, {"MONSERVEUR", ""},
                   {"TODO_DB", dir_.File("unused.db")}, {"TODO_USER", "someone"},
                   {"HOME", dir_.path()}};
    for (auto& [k, v] : env) options.env[k] = v;
    args.insert(args.begin(), BinPath("todo"));
    return RunProcess(args, options);
  }

  std::string Ok(const std::string& token, std::vector<std::string> args) {
    auto r = Todo(token, args);
    EXPECT_EQ(r.exit_code, 0) << "stderr: " << r.err;
    return r.out;
  }

  static int CountLines(const std::string& text) {
    int n = 0;
    for (char c : text) n += c == '\n';
    return n;
  }

  TempDir dir_;
  std::string db_;
  std::string alice_, bob_, boss_;
  std::unique_ptr<TododProcess> server_;
};

TEST_F(CliRemoteTest, DeveloperVerbsGoThroughTheServer) {
  EXPECT_EQ(Ok(alice_, {"add", "remote", "task"}), "added 1: remote task\n");
  Ok(alice_, {"nouveau", "second"});
  EXPECT_NE(Ok(alice_, {"done", "1"}).find("[x]"), std::string::npos);
  EXPECT_NE(Ok(alice_, {"edit", "2", "second, edited"}).find("second, edited"),
            std::string::npos);
  EXPECT_EQ(CountLines(Ok(alice_, {"ls", "--all"})), 2);
  EXPECT_EQ(Ok(alice_, {"retrait", "--oldest", "5"}), "removed 1 task: 2\n");
  EXPECT_EQ(Ok(alice_, {"rm", "1"}), "removed 1\n");
  EXPECT_EQ(Ok(alice_, {"ls", "--all"}), "");
  // Nothing went to the embedded store named by TODO_DB.
  EXPECT_EQ(ReadFile(dir_.File("unused.db")), "");
}

TEST_F(CliRemoteTest, DevelopersSeeOnlyTheirOwnAndManagersReadAll) {
  Ok(alice_, {"add", "alice's"});
  Ok(bob_, {"add", "bob's"});
  EXPECT_EQ(CountLines(Ok(alice_, {"ls"})), 1);
  auto r = Todo(alice_, {"ls", "--user", "bob"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("todo: ", 0), 0u) << r.err;
  EXPECT_EQ(Todo(alice_, {"rm", "2"}).exit_code, 1);  // bob's task: not found for alice
  EXPECT_EQ(CountLines(Ok(boss_, {"ls", "--everyone"})), 2);
  EXPECT_EQ(CountLines(Ok(boss_, {"ls", "--user", "bob"})), 1);
  std::string users = Ok(boss_, {"users"});
  EXPECT_NE(users.find("alice"), std::string::npos);
  EXPECT_NE(users.find("manager"), std::string::npos);
  // A manager writes nothing.
  auto write = Todo(boss_, {"add", "not allowed"});
  EXPECT_EQ(write.exit_code, 1);
  EXPECT_NE(write.err.find("todo: "), std::string::npos);
  EXPECT_EQ(CountLines(Ok(boss_, {"ls", "--everyone"})), 2);
}

TEST_F(CliRemoteTest, ManagersDownloadASnapshotAndDevelopersAreRefused) {
  Ok(alice_, {"add", "alice's"});
  Ok(bob_, {"add", "bob's"});
  std::string out = Ok(boss_, {"snapshot"});
  EXPECT_EQ(CountLines(out), 4) << out;
  EXPECT_EQ(out.rfind(R"({"position":2,)", 0), 0u) << out;
  EXPECT_NE(out.find(R"("task":"bob's")"), std::string::npos) << out;
  std::string file = dir_.File("snap.ndjson");
  EXPECT_EQ(Ok(boss_, {"snapshot", "--out", file}),
            "snapshot: 2 tasks at change-log position 2 in " + file + "\n");
  // The same tasks and trailer (the header's time differs).
  std::string saved = ReadFile(file);
  EXPECT_EQ(saved.substr(saved.find('\n')), out.substr(out.find('\n')));
  auto refused = Todo(alice_, {"snapshot", "--out", file + "2"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("only managers and admins"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(file + "2"));
  EXPECT_FALSE(std::filesystem::exists(file + "2.partial"));
}

TEST_F(CliRemoteTest, OriginEnvironmentNamesTheServer) {
  auto r = Todo(alice_, {"add", "via MONSERVEUR"},
                {{"TODO_SERVER", ""}, {"MONSERVEUR", server_->url()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Ok(alice_, {"ls"}).find("via MONSERVEUR"), std::string::npos);
}

TEST_F(CliRemoteTest, ClearErrorsForBadTokensServersAndInput) {
  auto bad_token = Todo("todo_" + std::string(64, '0'), {"ls"});
  EXPECT_EQ(bad_token.exit_code, 1);
  EXPECT_EQ(CountLines(bad_token.err), 1) << bad_token.err;
  auto no_token = Todo("", {"ls"}, {{"TODO_TOKEN", ""}});
  EXPECT_EQ(no_token.exit_code, 2);
  EXPECT_NE(no_token.err.find("token"), std::string::npos);
  auto bad_url = Todo(alice_, {"ls"}, {{"TODO_SERVER", "https://example.com"}});
  EXPECT_EQ(bad_url.exit_code, 2);
  auto invalid = Todo(alice_, {"add", "   "});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_NE(invalid.err.find("whitespace"), std::string::npos) << invalid.err;
  EXPECT_EQ(Ok(alice_, {"ls", "--all"}), "");
}

TEST_F(CliRemoteTest, UnreachableServerFailsWithOneLine) {
  // Port 1 on loopback: nothing listens there.
  auto r = Todo(alice_, {"ls"}, {{"TODO_SERVER", "http://127.0.0.1:1"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("127.0.0.1:1"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace todo::testing

namespace todo::testing {
namespace {

class CliWatchTest : public CliRemoteTest {};

TEST_F(CliWatchTest, WatchPrintsTheChangeLogOneLinePerChange) {
  Ok(alice_, {"add", "first"});
  Ok(alice_, {"done", "1"});
  Ok(bob_, {"add", "bobs"});
  // A developer sees their own changes only; --after 0 replays from the start.
  auto r = Todo(alice_, {"watch", "--after", "0", "--count", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CountLines(r.out), 2);
  EXPECT_NE(r.out.find("created  #1  first"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done     #1  first"), std::string::npos) << r.out;
  auto manager = Todo(boss_, {"watch", "--after", "0", "--count", "3"});
  ASSERT_EQ(manager.exit_code, 0) << manager.err;
  EXPECT_NE(manager.out.find("bobs"), std::string::npos) << manager.out;
}

TEST_F(CliWatchTest, WatchWithABadTokenFailsAtOnce) {
  auto r = Todo("todo_" + std::string(64, '0'), {"watch"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("token"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace todo::testing

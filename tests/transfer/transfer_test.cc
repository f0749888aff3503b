// todod copy, backup and restore, black-box: the real todod on real databases (SQLite files;
// PostgreSQL databases when TODO_TEST_PG_URL is set, skipped otherwise). What a database
// holds is compared through the API of a todod started on it: the snapshot, the whole
// change log and the users list, read with a token made before the copy (so old tokens
// still work), and a task added after the copy must get an id never used before.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "server_fixture.h"
#include "store/store.h"
#include "store/sync.h"
#include "support/process.h"
#include "support/test_database.h"
#include "support/todod_process.h"

namespace todo::testing {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

ProcessResult Todod(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), BinPath("todod"));
  ProcessOptions options;
  options.env = std::move(env);
  return RunProcess(args, options);
}

// The tokens of the accounts Populate makes.
struct Tokens {
  std::string admin;
  std::string alice;
  std::string bob;
};

// What a todod on `db` shows an admin: the snapshot (without its time), the change log and
// the users, as one string; also the largest id any event names.
struct View {
  std::string text;
  int64_t largest_task_id = 0;
};

View ViewOf(const std::string& db, const std::string& token) {
  View view;
  auto server = TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", db});
  if (server == nullptr) return view;
  HttpClient client(server->port(), token);
  HttpResponse snapshot = client.Get("/v1/snapshot");
  EXPECT_EQ(snapshot.status, 200) << snapshot.body;
  std::istringstream lines(snapshot.body);
  std::string line;
  for (bool first = true; std::getline(lines, line); first = false) {
    if (first) {
      view.text += "position " + std::to_string(json::parse(line).at("position").as_int64());
    } else {
      view.text += line;
    }
    view.text += "\n";
  }
  for (int64_t after = 0;;) {
    HttpResponse page = client.Get("/v1/events?limit=1000&after=" + std::to_string(after));
    EXPECT_EQ(page.status, 200) << page.body;
    if (page.status != 200) break;
    json::object body = page.Json().as_object();
    for (const json::value& e : body.at("events").as_array()) {
      view.text += json::serialize(e) + "\n";
      view.largest_task_id = std::max(view.largest_task_id, e.at("task_id").as_int64());
    }
    if (body.at("next").is_null()) break;
    after = body.at("next").as_int64();
  }
  HttpResponse users = client.Get("/v1/users");
  EXPECT_EQ(users.status, 200) << users.body;
  view.text += users.body;
  EXPECT_EQ(server->Stop(), 0) << server->log();
  return view;
}

// Accounts, tasks (some done, some edited, some removed, the newest removed too, so that
// the id generator is ahead of every id in the table) and idempotency records.
Tokens Populate(const std::string& db) {
  Tokens tokens{.admin = AddUserWithCli(db, "ada", "admin"),
                .alice = AddUserWithCli(db, "alice", "developer"),
                .bob = AddUserWithCli(db, "bob", "developer")};
  auto server = TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", db});
  if (server == nullptr) return tokens;
  HttpClient alice(server->port(), tokens.alice);
  HttpClient bob(server->port(), tokens.bob);
  for (int i = 0; i < 12; ++i) {
    std::string body = R"({"task":"alice task )" + std::to_string(i) + "\"}";
    Headers key = {{"Idempotency-Key", "k" + std::to_string(i)}};
    EXPECT_EQ(alice.Post("/v1/tasks", body, i % 3 == 0 ? key : Headers{}).status, 201);
    EXPECT_EQ(
        bob.Post("/v1/tasks", R"({"task":"bob \"quoted\" é )" + std::to_string(i) + "\"}").status,
        201);
  }
  EXPECT_EQ(alice.Send(http::verb::patch, "/v1/tasks/3", R"({"done":true})").status, 200);
  EXPECT_EQ(alice.Send(http::verb::patch, "/v1/tasks/5", R"({"task":"edited"})").status, 200);
  EXPECT_EQ(bob.Post("/v1/tasks/remove-oldest", R"({"count":2})").status, 200);
  HttpResponse last = alice.Post("/v1/tasks", R"({"task":"short-lived"})");
  EXPECT_EQ(last.status, 201);
  EXPECT_EQ(
      alice
          .Send(http::verb::delete_, "/v1/tasks/" + std::to_string(last.Json().at("id").as_int64()))
          .status,
      204);
  EXPECT_EQ(server->Stop(), 0) << server->log();
  return tokens;
}

// Adds a task on `db` with `token` and returns its id (0 on failure).
int64_t AddTaskOn(const std::string& db, const std::string& token) {
  auto server = TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", db});
  if (server == nullptr) return 0;
  HttpResponse added = HttpClient(server->port(), token).Post("/v1/tasks", R"({"task":"after"})");
  EXPECT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(server->Stop(), 0) << server->log();
  return added.status == 201 ? added.Json().at("id").as_int64() : 0;
}

// A destination database of the test's parameter ("sqlite" or "postgres").
class TransferTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    source_ = "sqlite:" + dir_.File("source.db");
    target_db_ = std::make_unique<TestDatabase>(GetParam(), target_dir_);
    if (!target_db_->skip_reason().empty()) GTEST_SKIP() << target_db_->skip_reason();
    target_ = target_db_->url();
    tokens_ = Populate(source_);
    ASSERT_FALSE(tokens_.alice.empty());
  }

  TempDir dir_;
  TempDir target_dir_;
  std::unique_ptr<TestDatabase> target_db_;
  std::string source_;
  std::string target_;
  Tokens tokens_;
};

TEST_P(TransferTest, CopyKeepsTasksAccountsTokensAndTheChangeLog) {
  View before = ViewOf(source_, tokens_.admin);
  ProcessResult copy = Todod({"copy", "--from", source_, "--to", target_});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  EXPECT_NE(copy.out.find("verify: ok: accounts 3, tasks 22, events 30,"), std::string::npos)
      << copy.out;
  View after = ViewOf(target_, tokens_.admin);  // the old admin token works
  EXPECT_EQ(after.text, before.text);
  int64_t id = AddTaskOn(target_, tokens_.alice);  // and a developer's
  EXPECT_GT(id, before.largest_task_id) << "a new task reuses the id of a removed one";
}

TEST_P(TransferTest, RoundTripThroughTheOtherEngineIsIdentical) {
  View before = ViewOf(source_, tokens_.admin);
  ASSERT_EQ(Todod({"copy", "--from", source_, "--to", target_, "--quiet"}).exit_code, 0);
  std::string back = "sqlite:" + dir_.File("back.db");
  ProcessResult copy = Todod({"copy", "--from", target_, "--to", back});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  View after = ViewOf(back, tokens_.admin);
  EXPECT_EQ(after.text, before.text);
  EXPECT_GT(AddTaskOn(back, tokens_.bob), before.largest_task_id);
}

// An idempotency record travels with its answer: a write made with a key on the copy
// (PostgreSQL records the answer as data, SQLite as text) and retried after a copy to the
// other engine is answered as the first time, and applied once.
TEST_P(TransferTest, ARetryAfterACopyIsAnsweredAsTheFirstTime) {
  ASSERT_EQ(Todod({"copy", "--from", source_, "--to", target_, "--quiet"}).exit_code, 0);
  const Headers key = {{"Idempotency-Key", "across-engines"}};
  const std::string body = R"({"task":"made before the copy"})";
  HttpResponse first;
  {
    auto server = TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", target_});
    ASSERT_TRUE(server);
    first = HttpClient(server->port(), tokens_.alice).Post("/v1/tasks", body, key);
    ASSERT_EQ(first.status, 201) << first.body;
    EXPECT_EQ(server->Stop(), 0) << server->log();
  }
  std::string back = "sqlite:" + dir_.File("back.db");
  ASSERT_EQ(Todod({"copy", "--from", target_, "--to", back, "--quiet"}).exit_code, 0);
  auto server = TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", back});
  ASSERT_TRUE(server);
  HttpClient alice(server->port(), tokens_.alice);
  HttpResponse retry = alice.Post("/v1/tasks", body, key);
  EXPECT_EQ(retry.status, 201);
  EXPECT_EQ(retry.body, first.body);
  EXPECT_EQ(retry.Header("idempotent-replayed"), "true");
  HttpResponse page = alice.Get("/v1/tasks?limit=1000");
  ASSERT_NE(page.body.find("made before the copy"), std::string::npos) << page.body;
  EXPECT_EQ(page.body.find("made before the copy"), page.body.rfind("made before the copy"));
  EXPECT_EQ(server->Stop(), 0) << server->log();
}

TEST_P(TransferTest, BackupOfARunningServerRestoresIdentical) {
  View before = ViewOf(source_, tokens_.admin);
  // The source is a SQLite file backed up while a server writes to it; the parameter is the
  // engine backed up: the SQLite source itself, or a PostgreSQL copy of it.
  std::string db = source_;
  if (GetParam() == "postgres") {
    ASSERT_EQ(Todod({"copy", "--from", source_, "--to", target_}).exit_code, 0);
    db = target_;
  }
  auto server = TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", db});
  ASSERT_NE(server, nullptr);
  std::string file = dir_.File("todo.backup");
  ProcessResult backup = Todod({"backup", "--db", db, "--out", file});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  // The server keeps working after the backup; what it writes now is not in the backup.
  EXPECT_EQ(
      HttpClient(server->port(), tokens_.alice).Post("/v1/tasks", R"({"task":"later"})").status,
      201);
  EXPECT_EQ(server->Stop(), 0) << server->log();

  std::string restored = "sqlite:" + dir_.File("restored.db");
  ProcessResult restore = Todod({"restore", "--in", file, "--db", restored});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_NE(restore.out.find("verify: ok"), std::string::npos) << restore.out;
  View after = ViewOf(restored, tokens_.admin);
  EXPECT_EQ(after.text, before.text);
  EXPECT_GT(AddTaskOn(restored, tokens_.alice), before.largest_task_id);

  // Either kind of backup restores into the test's engine too (PostgreSQL: a fresh database).
  TempDir other_dir;
  TestDatabase other(GetParam(), other_dir);
  ProcessResult again = Todod({"restore", "--in", file, "--db", other.url()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ViewOf(other.url(), tokens_.admin).text, before.text);
}

TEST_P(TransferTest, RefusesANonEmptyTargetWithoutForce) {
  ASSERT_EQ(Todod({"copy", "--from", source_, "--to", target_}).exit_code, 0);
  int64_t id = AddTaskOn(target_, tokens_.alice);
  View changed = ViewOf(target_, tokens_.admin);
  ProcessResult again = Todod({"copy", "--from", source_, "--to", target_});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_EQ(ViewOf(target_, tokens_.admin).text, changed.text);  // unchanged
  ProcessResult forced = Todod({"copy", "--from", source_, "--to", target_, "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(ViewOf(target_, tokens_.admin).text, ViewOf(source_, tokens_.admin).text);
  EXPECT_GT(id, 0);
}

// A copy that fails half-way (here: an injected failure after 20 rows, the tests' stand-in
// for a crash) commits nothing: the target keeps what it had; run again, the copy is whole.
TEST_P(TransferTest, AnInterruptedCopyChangesNothingAndRunningItAgainCompletesIt) {
  std::string other = "sqlite:" + dir_.File("other.db");
  Tokens other_tokens = Populate(other);
  AddTaskOn(other, other_tokens.bob);
  ASSERT_EQ(Todod({"copy", "--from", other, "--to", target_}).exit_code, 0);
  View old = ViewOf(target_, other_tokens.admin);

  ProcessResult interrupted = Todod({"copy", "--from", source_, "--to", target_, "--force"},
                                    {{"TODO_TRANSFER_FAIL_AFTER_ROWS", "20"}});
  EXPECT_EQ(interrupted.exit_code, 1);
  EXPECT_NE(interrupted.err.find("nothing was changed"), std::string::npos) << interrupted.err;
  EXPECT_EQ(ViewOf(target_, other_tokens.admin).text, old.text);

  ProcessResult again = Todod({"copy", "--from", source_, "--to", target_, "--force"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ViewOf(target_, tokens_.admin).text, ViewOf(source_, tokens_.admin).text);
}

TEST_P(TransferTest, ACorruptBackupIsRefusedBeforeTheTargetIsTouched) {
  std::string db = source_;
  if (GetParam() == "postgres") {
    ASSERT_EQ(Todod({"copy", "--from", source_, "--to", target_}).exit_code, 0);
    db = target_;
  }
  std::string file = dir_.File("todo.backup");
  ASSERT_EQ(Todod({"backup", "--db", db, "--out", file}).exit_code, 0);
  std::string good = ReadFile(file);
  std::string restored = "sqlite:" + dir_.File("restored.db");
  std::vector<std::pair<std::string, std::string>> corruptions = {
      {"truncated", good.substr(0, good.size() * 2 / 3)},
      {"garbage", "this is not a backup\n"},
      {"empty", ""},
  };
  if (GetParam() == "postgres") {
    // A JSON lines file: one task's text changed keeps it well-formed; only the checksum
    // tells.
    std::string altered = good;
    std::size_t at = altered.find("alice task 7");
    ASSERT_NE(at, std::string::npos);
    altered.replace(at, 12, "alice task 8");
    corruptions.emplace_back("altered", altered);
  }
  for (const auto& [what, content] : corruptions) {
    WriteFile(file, content);
    ProcessResult restore = Todod({"restore", "--in", file, "--db", restored});
    EXPECT_EQ(restore.exit_code, 1) << what;
    EXPECT_FALSE(restore.err.empty()) << what;
    EXPECT_FALSE(std::filesystem::exists(dir_.File("restored.db"))) << what << ": " << restore.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, TransferTest, ::testing::Values("sqlite", "postgres"), StoreName);

// Starts `todod args...` without waiting; stdout and stderr go nowhere.
pid_t SpawnTodod(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BinPath("todod")};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, raw[0], &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

std::uintmax_t SizeOf(const std::string& path) {
  std::error_code error;
  std::uintmax_t size = std::filesystem::file_size(path, error);
  return error ? 0 : size;
}

// The crash the injected failure stands for, for real: a copy into SQLite killed with
// SIGKILL once it has written a good part of its transaction. The target holds nothing of
// it afterwards (SQLite rolls the transaction back), and the copy run again is whole.
TEST(TransferKillTest, ACopyKilledHalfWayLeavesNothingAndRunsAgain) {
  TempDir dir;
  std::string source = "sqlite:" + dir.File("big.db");
  std::string admin = AddUserWithCli(source, "ada", "admin");
  {
    store::OpenOptions options;
    auto big = store::OpenStore(source, options);
    ASSERT_TRUE(big.ok()) << big.status().ToString();
    for (const char* user : {"alice", "bob", "carol"}) {
      std::vector<store::ImportItem> items(20000);
      for (std::size_t i = 0; i < items.size(); ++i) {
        items[i].text = std::string(user) + " task " + std::to_string(i);
      }
      store::Actor actor{.name = user, .role = core::Role::kDeveloper};
      auto added = store::RunSync((*big)->ImportTasks(actor, std::move(items)));
      ASSERT_TRUE(added.ok()) << added.status().ToString();
    }
  }
  std::string target_file = dir.File("target.db");
  std::string target = "sqlite:" + target_file;
  pid_t copy = SpawnTodod({"copy", "--from", source, "--to", target, "--quiet"});
  ASSERT_GT(copy, 0);
  // Half-way: the transaction's pages pile up in the target's WAL.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (SizeOf(target_file + "-wal") < 2u * 1024 * 1024 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(kill(copy, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(copy, &status, 0), copy);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the copy ended before it could be killed; make the source "
                                      "bigger";

  auto server = TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", target});
  ASSERT_NE(server, nullptr);
  HttpResponse users = HttpClient(server->port(), admin).Get("/v1/users");
  EXPECT_EQ(users.status, 401) << "no account was committed: " << users.body;
  EXPECT_EQ(server->Stop(), 0);

  ProcessResult again = Todod({"copy", "--from", source, "--to", target, "--force"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("verify: ok: accounts 1, tasks 60000, events 60000"), std::string::npos)
      << again.out;
}

TEST(TransferInputTest, BadArgumentsGiveAClearErrorAndCreateNothing) {
  TempDir dir;
  std::string target = "sqlite:" + dir.File("target.db");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {{"copy", "--from", "sqlite:" + dir.File("missing.db"), "--to", target},
       "no such SQLite file"},
      {{"copy", "--from", "mysql://host/db", "--to", target}, "unknown database"},
      {{"copy", "--from", target, "--to", target}, "same database"},
      {{"copy", "--from", target, "--to", dir.File("./target.db")}, "same database"},
      {{"restore", "--in", dir.File("missing.backup"), "--db", target}, "cannot open"},
      {{"backup", "--db", "sqlite:" + dir.File("missing.db"), "--out", dir.File("b")},
       "no such SQLite file"},
  };
  for (const Case& c : cases) {
    ProcessResult r = Todod(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args[0] << " " << c.args[2];
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.File("target.db"))) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.File("b"))) << r.err;
  }
  // A file that is a SQLite database but not a todo one.
  WriteFile(dir.File("plain.db"), "");
  ProcessResult not_todo =
      Todod({"copy", "--from", "sqlite:" + dir.File("plain.db"), "--to", target});
  EXPECT_EQ(not_todo.exit_code, 1);
  EXPECT_NE(not_todo.err.find("not a todo database"), std::string::npos) << not_todo.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("target.db")));
}

TEST(TransferInputTest, EachCommandExplainsItselfInHelp) {
  for (std::string command : {"copy", "backup", "restore"}) {
    ProcessResult help = Todod({command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.out.find("--force"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("sqlite:PATH"), std::string::npos) << help.out;
  }
  ProcessResult help = Todod({"--help"});
  for (std::string command : {"copy", "backup", "restore", "serve"}) {
    EXPECT_NE(help.out.find(command), std::string::npos) << help.out;
  }
}

}  // namespace
}  // namespace todo::testing

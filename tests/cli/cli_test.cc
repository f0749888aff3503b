// Black-box tests of the `todo` binary in embedded mode: each test gets its own temporary
// data directory and runs the real program, checking its output, its exit code, and what a
// later run of the program sees (nothing is durable until another process reads it back).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "support/process.h"

namespace todo::testing {
namespace {

class CliTest : public ::testing::Test {
 protected:
  // Runs todo with the test's store and user, unless the test overrides them.
  ProcessResult Todo(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                     std::string stdin_data = "") {
    ProcessOptions options;
    options.env = {{"TODO_DB", db_},     {"TODO_USER", "alice"}, {"MONNOM", ""},
                   {"HOME", dir_.path()}, {"XDG_DATA_HOME", ""}, {"TODO_SERVER", ""},
                   {"MONSERVEUR", ""}};
    for (auto& [k, v] : env) options.env[k] = v;
    options.stdin_data = std::move(stdin_data);
    args.insert(args.begin(), BinPath("todo"));
    return RunProcess(args, options);
  }

  // Runs todo and expects success; returns stdout.
  std::string Ok(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    auto r = Todo(args, env);
    EXPECT_EQ(r.exit_code, 0) << "stderr: " << r.err;
    return r.out;
  }

  static std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // The ids printed by `ls`, in order.
  static std::vector<long> Ids(const std::string& ls_output) {
    std::vector<long> ids;
    for (const auto& line : Lines(ls_output)) ids.push_back(std::stol(line));
    return ids;
  }

  // Expects a failure with `code`, one line on stderr starting with "todo: ".
  void ExpectError(const ProcessResult& r, int code, const std::string& fragment) {
    EXPECT_EQ(r.exit_code, code) << "stdout: " << r.out << "\nstderr: " << r.err;
    EXPECT_EQ(r.err.rfind("todo: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
  }

  TempDir dir_;
  std::string db_ = dir_.File("todo.db");
};

TEST_F(CliTest, AddThenListShowsTheTask) {
  EXPECT_EQ(Ok({"add", "buy", "milk"}), "added 1: buy milk\n");
  std::string out = Ok({"ls"});
  auto lines = Lines(out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(\s+1 \[ \] alice\s+\d{4}-\d\d-\d\d \d\d:\d\d  buy milk)")))
      << lines[0];
}

TEST_F(CliTest, WatchWithoutAServerSaysItNeedsOne) {
  auto r = Todo({"watch"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("needs"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--server"), std::string::npos) << r.err;
}

TEST_F(CliTest, SnapshotWritesEveryUsersTasksAsJsonLines) {
  Ok({"add", "mine"});
  Ok({"add", "theirs"}, {{"TODO_USER", "bob"}});
  Ok({"add", "gone"});
  Ok({"rm", "3"});
  std::vector<std::string> lines = Lines(Ok({"snapshot"}));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].rfind(R"({"position":4,"at":")", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(R"("tasks":2})"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1].rfind(R"({"id":1,"user":"alice","task":"mine",)", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind(R"({"id":2,"user":"bob","task":"theirs",)", 0), 0u) << lines[2];
  EXPECT_EQ(lines[3], R"({"end":{"tasks":2}})");

  std::string file = dir_.File("snapshot.ndjson");
  EXPECT_EQ(Ok({"snapshot", "--out", file}),
            "snapshot: 2 tasks at change-log position 4 in " + file + "\n");
  EXPECT_EQ(Lines(ReadFile(file)).size(), 4u);
  ExpectError(Todo({"snapshot", "--out", dir_.File("no/such/dir/s.ndjson")}), 1, "cannot write");
}

TEST_F(CliTest, OriginAliasesWork) {
  Ok({"nouveau", "premiere tache"});
  Ok({"nouveau", "deuxieme tache"});
  EXPECT_EQ(Ids(Ok({"liste"})), (std::vector<long>{1, 2}));
  EXPECT_EQ(Ok({"retrait", "--oldest", "1"}), "removed 1 task: 1\n");
  EXPECT_EQ(Ids(Ok({"liste"})), (std::vector<long>{2}));
  EXPECT_EQ(Ok({"retrait", "2"}), "removed 2\n");
  EXPECT_EQ(Ok({"liste"}), "");
}

TEST_F(CliTest, DoneUndoneEditAndStateFilters) {
  Ok({"add", "one"});
  Ok({"add", "two"});
  EXPECT_NE(Ok({"done", "1"}).find("[x]"), std::string::npos);
  EXPECT_EQ(Ids(Ok({"ls"})), (std::vector<long>{2}));
  EXPECT_EQ(Ids(Ok({"ls", "--done"})), (std::vector<long>{1}));
  EXPECT_EQ(Ids(Ok({"ls", "--all"})), (std::vector<long>{1, 2}));
  EXPECT_NE(Ok({"undone", "1"}).find("[ ]"), std::string::npos);
  EXPECT_EQ(Ids(Ok({"ls"})), (std::vector<long>{1, 2}));
  EXPECT_NE(Ok({"edit", "2", "two", "edited"}).find("two edited"), std::string::npos);
  EXPECT_NE(Ok({"ls"}).find("two edited"), std::string::npos);
}

TEST_F(CliTest, RemoveOldestSkipsDoneTasksAndOthersTasks) {
  Ok({"add", "a1"});
  Ok({"add", "b1"}, {{"TODO_USER", "bob"}});
  Ok({"add", "a2"});
  Ok({"add", "a3"});
  Ok({"done", "3"});
  EXPECT_EQ(Ok({"rm", "--oldest", "5"}), "removed 2 tasks: 1 4\n");
  EXPECT_EQ(Ids(Ok({"ls", "--all"})), (std::vector<long>{3}));
  EXPECT_EQ(Ids(Ok({"ls", "--user", "bob"})), (std::vector<long>{2}));
}

TEST_F(CliTest, UsersSeeTheirOwnByDefaultAndEveryoneOnRequest) {
  Ok({"add", "mine"});
  Ok({"add", "his"}, {{"TODO_USER", "bob"}});
  EXPECT_EQ(Ids(Ok({"ls"})), (std::vector<long>{1}));
  EXPECT_EQ(Ids(Ok({"ls"}, {{"TODO_USER", "bob"}})), (std::vector<long>{2}));
  EXPECT_EQ(Ids(Ok({"ls", "--everyone"})), (std::vector<long>{1, 2}));
  EXPECT_EQ(Ids(Ok({"--user", "bob", "ls"})), (std::vector<long>{2}));
}

TEST_F(CliTest, CannotTouchAnotherUsersTask) {
  Ok({"add", "bob's"}, {{"TODO_USER", "bob"}});
  ExpectError(Todo({"rm", "1"}), 1, "not found");
  ExpectError(Todo({"done", "1"}), 1, "not found");
  ExpectError(Todo({"edit", "1", "mine now"}), 1, "not found");
  EXPECT_NE(Ok({"ls", "--user", "bob"}).find("bob's"), std::string::npos);
}

TEST_F(CliTest, UserResolutionOrder) {
  // --user beats TODO_USER beats MONNOM beats USER.
  Ok({"add", "--user", "u1", "x"}, {{"TODO_USER", "u2"}, {"MONNOM", "u3"}, {"USER", "u4"}});
  Ok({"add", "x"}, {{"TODO_USER", "u2"}, {"MONNOM", "u3"}, {"USER", "u4"}});
  Ok({"add", "x"}, {{"TODO_USER", ""}, {"MONNOM", "u3"}, {"USER", "u4"}});
  Ok({"add", "x"}, {{"TODO_USER", ""}, {"MONNOM", ""}, {"USER", "u4"}});
  std::string all = Ok({"ls", "--everyone"});
  auto lines = Lines(all);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[0].find(" u1 "), std::string::npos);
  EXPECT_NE(lines[1].find(" u2 "), std::string::npos);
  EXPECT_NE(lines[2].find(" u3 "), std::string::npos);
  EXPECT_NE(lines[3].find(" u4 "), std::string::npos);
  ExpectError(Todo({"add", "x"}, {{"TODO_USER", ""}, {"MONNOM", ""}, {"USER", ""}}), 2, "no user");
}

TEST_F(CliTest, StoreLocationOrder) {
  std::string flag_db = dir_.File("flag.db");
  Ok({"--db", flag_db, "add", "in flag db"});
  Ok({"add", "in xdg db"}, {{"TODO_DB", ""}, {"XDG_DATA_HOME", dir_.File("xdg")}});
  Ok({"add", "in home db"}, {{"TODO_DB", ""}});
  EXPECT_NE(Ok({"ls", "--db", flag_db}).find("in flag db"), std::string::npos);
  EXPECT_NE(ReadFile(dir_.File("xdg/todo/todo.db")).size(), 0u);
  EXPECT_NE(ReadFile(dir_.File(".local/share/todo/todo.db")).size(), 0u);
  EXPECT_NE(Ok({"ls"}, {{"TODO_DB", ""}}).find("in home db"), std::string::npos);
  EXPECT_EQ(Ok({"ls"}), "");  // TODO_DB's store was never written
}

TEST_F(CliTest, InvalidTasksAreRefusedAndChangeNothing) {
  Ok({"add", "keep"});
  ExpectError(Todo({"add", "   "}), 1, "whitespace");
  ExpectError(Todo({"add", "line\nbreak"}), 1, "control character");
  ExpectError(Todo({"add", std::string(4097, 'x')}), 1, "4097 bytes");
  ExpectError(Todo({"add", "bad \xC3 utf8"}), 1, "UTF-8");
  ExpectError(Todo({"edit", "1", "\x01"}), 1, "control character");
  EXPECT_EQ(Ok({"add", std::string(4096, 'y')}).substr(0, 9), "added 2: ");
  EXPECT_EQ(Ids(Ok({"ls"})), (std::vector<long>{1, 2}));
  EXPECT_NE(Ok({"ls"}).find("  keep"), std::string::npos);
}

TEST_F(CliTest, AccentsAndEmojiSurvive) {
  Ok({"add", "café ☕ réunion 🎉"});
  EXPECT_NE(Ok({"ls"}).find("café ☕ réunion 🎉"), std::string::npos);
}

TEST_F(CliTest, NotFoundIsExitOneWithOneLine) {
  auto r = Todo({"done", "42"});
  ExpectError(r, 1, "42");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  ExpectError(Todo({"rm", "7", "8"}), 1, "not removed");
}

TEST_F(CliTest, UsageErrorsAreExitTwo) {
  EXPECT_EQ(Todo({}).exit_code, 2);
  EXPECT_EQ(Todo({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Todo({"add"}).exit_code, 2);
  EXPECT_EQ(Todo({"done", "notanumber"}).exit_code, 2);
  ExpectError(Todo({"rm"}), 2, "--oldest");
  ExpectError(Todo({"rm", "1", "--oldest", "2"}), 2, "--oldest");
  EXPECT_EQ(Todo({"rm", "--oldest", "0"}).exit_code, 2);
  EXPECT_EQ(Todo({"rm", "--oldest", "1001"}).exit_code, 2);
  EXPECT_EQ(Todo({"ls", "--done", "--all"}).exit_code, 2);
  EXPECT_EQ(Todo({"export", "--format", "xml"}).exit_code, 2);
  EXPECT_EQ(Todo({"add", "x"}, {{"TODO_USER", "bad name"}}).exit_code, 2);
  // Nothing was created by any of them.
  EXPECT_EQ(Ok({"ls", "--everyone", "--all"}), "");
}

TEST_F(CliTest, EveryVerbHasHelp) {
  for (std::string verb : {"add", "nouveau", "ls", "liste", "rm", "retrait", "done", "undone",
                           "edit", "import", "export"}) {
    auto r = Todo({verb, "--help"});
    EXPECT_EQ(r.exit_code, 0) << verb;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << verb << ": " << r.out;
  }
  auto top = Todo({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  for (std::string word : {"add", "nouveau", "liste", "retrait", "import", "export", "TODO_DB"}) {
    EXPECT_NE(top.out.find(word), std::string::npos) << word;
  }
}

TEST_F(CliTest, DataSurvivesAcrossProcesses) {
  Ok({"add", "durable"});
  Ok({"done", "1"});
  Ok({"add", "second"});
  EXPECT_EQ(Ids(Ok({"ls", "--all"})), (std::vector<long>{1, 2}));
  EXPECT_EQ(Ids(Ok({"ls", "--done"})), (std::vector<long>{1}));
}

TEST_F(CliTest, TodoTxtExportImportRoundTrip) {
  Ok({"add", "(A) call Bob +phone @office"});
  Ok({"add", "write report +work"});
  Ok({"done", "2"});
  std::string exported = Ok({"export", "--format", "todotxt"});
  auto lines = Lines(exported);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(\(A\) \d{4}-\d\d-\d\d call Bob \+phone @office)")))
      << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(R"(x \d{4}-\d\d-\d\d \d{4}-\d\d-\d\d write report \+work)")))
      << lines[1];
  // Into a fresh store: the same tasks, states and text come back.
  WriteFile(dir_.File("out.txt"), exported);
  std::string other = dir_.File("other.db");
  EXPECT_NE(Ok({"import", dir_.File("out.txt"), "--db", other}).find("imported 2 tasks"),
            std::string::npos);
  EXPECT_EQ(Ok({"export", "--format", "todotxt", "--db", other}), exported);
  // Importing the same file again adds nothing, in both stores.
  EXPECT_NE(Ok({"import", dir_.File("out.txt"), "--db", other}).find("imported 0 tasks"),
            std::string::npos);
  EXPECT_NE(Ok({"import", dir_.File("out.txt")}).find("imported 0 tasks"), std::string::npos);
  EXPECT_EQ(Ids(Ok({"ls", "--all", "--db", other})).size(), 2u);
}

TEST_F(CliTest, OriginFormatImportKeepsUsersAndTimes) {
  std::string origin =
      "TODO1 : [c1], (2024-09-04:10:15:00) : preparer le rapport\n"
      "TODO2 : [c2], (2024-09-04:10:16:30) : corriger le serveur\n"
      "TODO3 : [c1], (2024-09-04:10:17:00) : preparer le rapport\n";
  WriteFile(dir_.File("todo.txt"), origin);
  EXPECT_NE(Ok({"import", dir_.File("todo.txt")}).find("imported 3 tasks"), std::string::npos);
  EXPECT_NE(Ok({"import", dir_.File("todo.txt")}).find("imported 0 tasks"), std::string::npos);
  // Each user's tasks are imported together, in file order: c1 gets ids 1 and 2.
  EXPECT_EQ(Ok({"export", "--format", "origin", "--everyone"}),
            "TODO1 : [c1], (2024-09-04:10:15:00) : preparer le rapport\n"
            "TODO2 : [c1], (2024-09-04:10:17:00) : preparer le rapport\n"
            "TODO3 : [c2], (2024-09-04:10:16:30) : corriger le serveur\n");
  EXPECT_EQ(Ids(Ok({"ls", "--user", "c1"})), (std::vector<long>{1, 2}));
  EXPECT_EQ(Ids(Ok({"ls", "--user", "c2"})), (std::vector<long>{3}));
  // Identical lines of one user are distinct tasks: the same line twice gives two tasks.
  WriteFile(dir_.File("twice.txt"),
            "TODO1 : [c3], (2024-09-04:10:15:00) : meme tache\n"
            "TODO2 : [c3], (2024-09-04:10:15:00) : meme tache\n");
  EXPECT_NE(Ok({"import", dir_.File("twice.txt")}).find("imported 2 tasks"), std::string::npos);
  EXPECT_NE(Ok({"import", dir_.File("twice.txt")}).find("imported 0 tasks"), std::string::npos);
}

TEST_F(CliTest, JsonExportImportRoundTrip) {
  Ok({"add", "json \"quoted\" task"});
  Ok({"add", "second"});
  Ok({"done", "1"});
  std::string exported = Ok({"export", "--format", "json"});
  EXPECT_EQ(exported.front(), '[');
  std::string other = dir_.File("other.db");
  auto r = Todo({"import", "-", "--db", other}, {}, exported);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Ok({"export", "--format", "json", "--db", other}), exported);
}

TEST_F(CliTest, ExportToFile) {
  Ok({"add", "to a file"});
  std::string file = dir_.File("export.txt");
  auto r = Todo({"export", "--out", file});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(ReadFile(file).find("to a file"), std::string::npos);
}

TEST_F(CliTest, BadImportFileChangesNothing) {
  WriteFile(dir_.File("bad.txt"),
            "TODO1 : [c1], (2024-09-04:10:15:00) : fine\n"
            "TODO2 : [c1], (not a time) : broken\n");
  ExpectError(Todo({"import", dir_.File("bad.txt")}), 1, "line 2");
  ExpectError(Todo({"import", dir_.File("missing.txt")}), 1, "missing.txt");
  EXPECT_EQ(Ok({"ls", "--everyone", "--all"}), "");
}

// The origin's stop 4 problem: several clients on one store at once must lose nothing.
TEST_F(CliTest, ConcurrentAddsFromEightProcessesLoseNothing) {
  Ok({"ls"});  // create the store (and its schema) once, before the race
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int p = 0; p < 8; ++p) {
    workers.emplace_back([&, p] {
      for (int i = 0; i < 50; ++i) {
        auto r = Todo({"add", "p" + std::to_string(p) + " task " + std::to_string(i)},
                      {{"TODO_USER", "dev" + std::to_string(p % 3)}});
        if (r.exit_code != 0) {
          ++failures;
          ADD_FAILURE() << r.err;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(failures, 0);
  auto ids = Ids(Ok({"ls", "--everyone"}));
  EXPECT_EQ(ids.size(), 400u);
  EXPECT_EQ(std::set<long>(ids.begin(), ids.end()).size(), 400u);
}

TEST_F(CliTest, ConcurrentRemoveOldestNeverRemovesATaskTwice) {
  std::string lines;
  for (int i = 0; i < 120; ++i) lines += "2026-01-01 task " + std::to_string(i) + "\n";
  WriteFile(dir_.File("many.txt"), lines);
  Ok({"import", dir_.File("many.txt")});
  std::vector<std::thread> workers;
  std::mutex mu;
  std::multiset<long> removed;
  for (int p = 0; p < 6; ++p) {
    workers.emplace_back([&] {
      for (int i = 0; i < 8; ++i) {
        auto r = Todo({"retrait", "--oldest", "3"});
        if (r.exit_code != 0) {
          ADD_FAILURE() << r.err;
          continue;
        }
        // "removed 3 tasks: 4 5 6"
        std::istringstream in(r.out.substr(r.out.find(':') + 1));
        std::lock_guard lock(mu);
        for (long id; in >> id;) removed.insert(id);
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(removed.size(), 120u);  // 6 x 8 x 3 = 144 asked for, 120 existed
  EXPECT_EQ(std::set<long>(removed.begin(), removed.end()).size(), removed.size());
  EXPECT_EQ(Ok({"ls"}), "");
}

}  // namespace
}  // namespace todo::testing

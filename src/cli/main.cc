// todo: the command-line client of a developer or a manager.
//
// With --server (else TODO_SERVER, else the origin's MONSERVEUR) it talks to a todod server
// with --token (else TODO_TOKEN). Otherwise it works alone on an embedded SQLite file (the
// origin's stop 1). Store location: --db, else TODO_DB, else $XDG_DATA_HOME/todo/todo.db, else
// ~/.local/share/todo/todo.db. User: --user, else TODO_USER, else MONNOM (the origin's
// variable), else USER.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "cli/embedded_backend.h"
#include "cli/remote_backend.h"
#include "cli/verbs.h"
#include "core/validate.h"
#include "store/store.h"

namespace {

using todo::core::ErrorCode;
using todo::core::Status;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string DefaultDbPath() {
  if (std::string db = Env("TODO_DB"); !db.empty()) return db;
  if (std::string xdg = Env("XDG_DATA_HOME"); !xdg.empty()) return xdg + "/todo/todo.db";
  if (std::string home = Env("HOME"); !home.empty()) return home + "/.local/share/todo/todo.db";
  return "todo.db";
}

std::string DefaultUser() {
  for (const char* name : {"TODO_USER", "MONNOM", "USER"}) {
    if (std::string v = Env(name); !v.empty()) return v;
  }
  return "";
}

// The one place where an error becomes an exit code.
int ExitCodeFor(const Status& s) {
  return s.ok() ? todo::cli::kExitOk : todo::cli::kExitFailed;
}

int Fail(const std::string& message, int code) {
  std::cerr << "todo: " << message << '\n';
  return code;
}

int RunVerb(todo::cli::Verb& verb, todo::cli::Backend& backend) {
  Status result = verb.Run(backend, std::cout);
  std::cout.flush();
  return result.ok() ? todo::cli::kExitOk : Fail(result.message(), ExitCodeFor(result));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"todo: your tasks, alone on this machine or shared through a todod server."};
  app.set_help_all_flag("--help-all", "Show the help of every verb");
  app.require_subcommand(0, 1);
  app.footer(
      "Environment: TODO_SERVER or MONSERVEUR (server URL), TODO_TOKEN (your token),\n"
      "TODO_DB (store file), TODO_USER or MONNOM (your name).\n"
      "Exit codes: 0 ok, 1 the operation failed, 2 usage error.\n"
      "Run 'todo VERB --help' for a verb's options.");

  std::string db;
  std::string user;
  std::string server;
  std::string token;
  app.add_option("--server", server,
                 "todod URL, e.g. http://127.0.0.1:8080 (default: $TODO_SERVER, $MONSERVEUR; "
                 "none: the embedded store)");
  app.add_option("--token", token, "Your token for the server (default: $TODO_TOKEN)");
  auto add_common = [&](CLI::App& cmd) {
    cmd.add_option("--db", db, "Store file (default: $TODO_DB, else ~/.local/share/todo/todo.db)");
    cmd.add_option("--user", user, "Act as this user (default: $TODO_USER, $MONNOM, $USER)");
  };
  add_common(app);

  auto verbs = todo::cli::AllVerbs();
  todo::cli::Verb* chosen = nullptr;
  for (auto& verb : verbs) {
    auto info = verb->info();
    CLI::App* cmd = app.add_subcommand(std::string(info.name), std::string(info.summary));
    if (!info.alias.empty()) cmd->alias(std::string(info.alias));
    if (!info.writes) cmd->group("Reading");
    verb->AddOptions(*cmd);
    // The global --db/--user are accepted after the verb too; ls and export redefine
    // --user as "whose tasks", which is the same person for writes.
    if (!cmd->get_option_no_throw("--user")) {
      add_common(*cmd);
    } else {
      cmd->add_option("--db", db, "Store file (default: $TODO_DB)");
    }
    cmd->callback([&chosen, v = verb.get()] { chosen = v; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "todo: " << e.what() << "\nRun 'todo --help' for usage.\n";
    return todo::cli::kExitUsage;
  }
  if (!chosen) {
    std::cerr << app.help();
    return todo::cli::kExitUsage;
  }
  if (Status usage = chosen->CheckUsage(); !usage.ok()) {
    return Fail(usage.message() + " (see 'todo " + std::string(chosen->info().name) + " --help')",
                todo::cli::kExitUsage);
  }

  if (server.empty()) server = Env("TODO_SERVER");
  if (server.empty()) server = Env("MONSERVEUR");
  if (!server.empty()) {
    auto endpoint = todo::client::ParseServerUrl(server);
    if (!endpoint.ok()) return Fail(endpoint.status().message(), todo::cli::kExitUsage);
    if (token.empty()) token = Env("TODO_TOKEN");
    if (token.empty()) {
      return Fail("no token for " + server + ": pass --token or set TODO_TOKEN",
                  todo::cli::kExitUsage);
    }
    // The server knows who the token belongs to; the name here only labels imports.
    todo::cli::RemoteBackend backend(std::move(*endpoint), token,
                                     user.empty() ? DefaultUser() : user);
    return RunVerb(*chosen, backend);
  }

  if (db.empty()) db = DefaultDbPath();
  std::string acting_user = DefaultUser();
  // ls and export bind their own --user (whose tasks to read), so `user` is only ever the
  // acting user here.
  if (!user.empty()) acting_user = user;
  if (acting_user.empty()) {
    return Fail("no user: pass --user NAME or set TODO_USER", todo::cli::kExitUsage);
  }
  if (Status s = todo::core::ValidateUserName(acting_user); !s.ok()) {
    return Fail(s.message(), todo::cli::kExitUsage);
  }

  auto store = todo::store::OpenStore(db);
  if (!store.ok()) return Fail(db + ": " + store.status().message(), todo::cli::kExitFailed);
  todo::cli::EmbeddedBackend backend(std::move(*store), acting_user);
  return RunVerb(*chosen, backend);
}

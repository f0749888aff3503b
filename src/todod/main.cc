// todod: the todo server.
//   todod serve [--listen HOST:PORT] [--db URL] [--read-db URL] [--threads N] [--db-pool N]
//                [--db-pipeline N] ...
//   todod migrate [--db URL]
//   todod user add NAME --role developer|manager|admin [--db URL]   (prints the token)
//   todod copy --from DB --to DB | backup --db DB --out FILE | restore --in FILE --db DB
// Exit codes: 0 ok, 1 failure (database, bind, name taken...), 2 usage error.
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "core/task.h"
#include "core/validate.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/server.h"
#include "store/store.h"
#include "store/sync.h"
#include "todod/transfer_commands.h"

namespace {

using todo::core::Result;
using todo::core::Status;
namespace server = todo::server;
namespace store = todo::store;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("todod");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ todod %l: %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(level));
}

// Each connection is a file descriptor: lift the soft limit to the hard one when the cap
// asks for more than the soft limit allows.
void RaiseFileLimit(int max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t wanted = static_cast<rlim_t>(max_connections) + 256;
  if (limit.rlim_cur < wanted && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < wanted) {
    spdlog::warn("open file limit {} is below --max-connections {}: accepts may fail first",
                 static_cast<unsigned long long>(limit.rlim_cur), max_connections);
  }
}

struct ServeArgs {
  std::string db = "sqlite:todo.db";
  std::string read_db;  // a PostgreSQL replica for managers' reads; empty: none
  int db_pool = 1;
  int db_pipeline = 2;
  double header_timeout = 10;
  double idle_timeout = 60;
  double request_timeout = 5;
  double shutdown_grace = 10;
  double heartbeat = 15;
  std::string web;  // empty: found next to the executable or in the source tree
  server::ServerOptions options;
};

// The web pages' folder when --web/TODO_WEB is not given: web/ two levels above the
// executable (build/bin/todod -> web/), else the source tree's; empty if neither exists.
std::string FindWebDir() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::vector<std::filesystem::path> candidates;
  if (!ec) candidates.push_back(exe.parent_path() / ".." / ".." / "web");
#ifdef TODO_SOURCE_WEB_DIR
  candidates.emplace_back(TODO_SOURCE_WEB_DIR);
#endif
  for (const auto& dir : candidates) {
    if (std::filesystem::is_regular_file(dir / "index.html", ec)) {
      return std::filesystem::weakly_canonical(dir, ec).string();
    }
  }
  return std::string();
}

int Serve(ServeArgs args) {
  // SIGINT/SIGTERM are taken by sigwait below: block them in every thread (the loops and the
  // store's threads inherit this mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  server::ServerOptions& opt = args.options;
  if (Result<boost::asio::ip::tcp::endpoint> listen = server::ParseListenAddress(opt.listen);
      !listen.ok()) {
    spdlog::error("{}", listen.status().message());
    return kExitUsage;
  }
  opt.header_timeout = Millis(args.header_timeout);
  opt.idle_timeout = Millis(args.idle_timeout);
  opt.request_deadline = Millis(args.request_timeout);
  opt.shutdown_grace = Millis(args.shutdown_grace);
  opt.heartbeat = Millis(args.heartbeat);
  opt.web_dir = args.web.empty() ? FindWebDir() : args.web;
  if (opt.web_dir.empty()) {
    spdlog::warn("no web/ folder found (--web DIR): the pages answer 404");
  } else if (!std::filesystem::is_directory(opt.web_dir)) {
    spdlog::error("--web {}: not a folder", opt.web_dir);
    return kExitUsage;
  }
  RaiseFileLimit(opt.max_connections);

  server::Server srv(opt);
  std::string db_shown = server::RedactDbUrl(args.db);
  store::OpenOptions open;
  open.loops = srv.loops();
  open.pool_per_loop = args.db_pool;
  open.pipeline_depth = args.db_pipeline;
  open.migrate = true;
  Result<std::unique_ptr<store::Store>> opened = store::OpenStore(args.db, open);
  if (!opened.ok()) {
    spdlog::error("cannot open database {}: {}", db_shown, opened.status().ToString());
    return kExitFailure;
  }
  std::unique_ptr<store::Store> db = std::move(*opened);
  std::unique_ptr<store::Store> read_db;
  if (!args.read_db.empty()) {
    if (server::DbKind(args.read_db) != std::string_view("postgresql") ||
        server::DbKind(args.db) != std::string_view("postgresql")) {
      spdlog::error("--read-db must be a postgresql:// URL, a replica of a PostgreSQL --db");
      return kExitUsage;
    }
    store::OpenOptions replica = open;
    replica.migrate = false;
    replica.replica = true;
    Result<std::unique_ptr<store::Store>> opened_replica = store::OpenStore(args.read_db, replica);
    if (!opened_replica.ok()) {
      spdlog::error("cannot open --read-db {}: {}", server::RedactDbUrl(args.read_db),
                    opened_replica.status().ToString());
      return kExitFailure;
    }
    read_db = std::move(*opened_replica);
    spdlog::info("managers' reads go to the replica {} (the primary answers those it cannot)",
                 server::RedactDbUrl(args.read_db));
  }

  Result<boost::asio::ip::tcp::endpoint> endpoint = srv.Listen();
  if (!endpoint.ok()) {
    spdlog::error("{}", endpoint.status().ToString());
    srv.Stop();
    return kExitFailure;
  }
  srv.Serve(*db, read_db.get());
  std::string url = server::EndpointUrl(*endpoint);
  // The exact line tools and tests wait for (kept apart from the log format).
  std::fprintf(stderr, "todod: listening on %s\n", url.c_str());
  std::fflush(stderr);
  spdlog::info("serving {} with {} thread(s); database {} ({}); max {} connections", url,
               srv.threads(), server::DbKind(args.db), db_shown, opt.max_connections);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}: no new connections, finishing requests in flight (up to {} s)",
               sig == SIGTERM ? "SIGTERM" : "SIGINT", args.shutdown_grace);
  if (!srv.Drain()) {
    // Closing the store under a call still running would be a use after free; the database
    // itself keeps every committed write.
    spdlog::error(
        "store calls still running after the grace period; exiting without closing "
        "the database");
    std::_Exit(kExitFailure);
  }
  read_db.reset();
  db.reset();
  spdlog::info("database closed");
  srv.Stop();
  spdlog::info("stopped");
  return 0;
}

int Migrate(const std::string& db) {
  store::OpenOptions open;
  open.migrate = true;
  Result<std::unique_ptr<store::Store>> opened = store::OpenStore(db, open);
  if (!opened.ok()) {
    spdlog::error("cannot migrate {}: {}", server::RedactDbUrl(db), opened.status().ToString());
    return kExitFailure;
  }
  spdlog::info("database {} is up to date", server::RedactDbUrl(db));
  return 0;
}

int UserAdd(const std::string& db, const std::string& name, const std::string& role_name) {
  if (Status valid = todo::core::ValidateUserName(name); !valid.ok()) {
    std::cerr << "todod: " << valid.message() << "\n";
    return kExitUsage;
  }
  Result<todo::core::Role> role = todo::core::ParseRole(role_name);
  if (!role.ok()) {
    std::cerr << "todod: " << role.status().message() << "\n";
    return kExitUsage;
  }
  store::OpenOptions open;
  open.migrate = true;
  Result<std::unique_ptr<store::Store>> opened = store::OpenStore(db, open);
  if (!opened.ok()) {
    std::cerr << "todod: cannot open database " << server::RedactDbUrl(db) << ": "
              << opened.status().ToString() << "\n";
    return kExitFailure;
  }
  std::string token = server::GenerateToken();
  store::Account account{name, *role, server::HashToken(token), todo::core::Now()};
  Status created = store::RunSync((*opened)->CreateAccount(account));
  if (!created.ok()) {
    std::cerr << "todod: cannot create account '" << name << "': " << created.ToString() << "\n";
    return kExitFailure;
  }
  // The token alone on stdout, so that `TOKEN=$(todod user add ...)` works; it is shown once.
  std::cout << token << "\n" << std::flush;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"todod: the todo server (HTTP/JSON API v1, see docs/api.md)"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->envname("TODO_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.fallthrough();

  ServeArgs serve;
  CLI::App* serve_cmd = app.add_subcommand("serve", "answer the HTTP API until SIGTERM/SIGINT");
  serve_cmd->add_option("--listen", serve.options.listen, "HOST:PORT to listen on (port 0: any)")
      ->envname("TODO_LISTEN")
      ->capture_default_str();
  serve_cmd->add_option("--db", serve.db, "sqlite:PATH or a postgresql:// URL")
      ->envname("TODO_DB")
      ->capture_default_str();
  serve_cmd
      ->add_option("--read-db", serve.read_db,
                   "a postgresql:// URL of a replica of --db for managers' reads (a read that "
                   "sends Todo-Min-Position goes to the primary while the replica is behind)")
      ->envname("TODO_READ_DB");
  serve_cmd
      ->add_option("--threads", serve.options.threads, "event loops (0: one per two hardware threads)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  serve_cmd->add_option("--db-pool", serve.db_pool,
                         "PostgreSQL connections per event loop for requests (the live feed's "
                         "horizon has one more of its own)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve_cmd
      ->add_option("--db-pipeline", serve.db_pipeline,
                   "batches in flight at once on each PostgreSQL request connection (the next "
                   "is sent while the one before runs)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-connections", serve.options.max_connections,
                   "open connections at most; over it: 503 and close")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  serve_cmd
      ->add_option("--header-timeout", serve.header_timeout,
                   "seconds a client has to send a request head once started")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  serve_cmd
      ->add_option("--idle-timeout", serve.idle_timeout,
                   "seconds an idle keep-alive connection stays open")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  serve_cmd
      ->add_option("--request-timeout", serve.request_timeout,
                   "seconds a database call may take before the answer is 503")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  serve_cmd
      ->add_option("--shutdown-grace", serve.shutdown_grace,
                   "seconds requests in flight get to finish at SIGTERM/SIGINT")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();

  serve_cmd
      ->add_option("--heartbeat", serve.heartbeat,
                   "seconds between heartbeat comments on an idle event stream")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  serve_cmd->add_option("--web", serve.web, "folder of the web pages (default: found)")
      ->envname("TODO_WEB");

  std::string migrate_db = "sqlite:todo.db";
  CLI::App* migrate_cmd = app.add_subcommand("migrate", "apply pending database migrations");
  migrate_cmd->add_option("--db", migrate_db, "sqlite:PATH or a postgresql:// URL")
      ->envname("TODO_DB")
      ->capture_default_str();

  CLI::App* user_cmd = app.add_subcommand("user", "manage accounts");
  user_cmd->require_subcommand(1);
  std::string user_db = "sqlite:todo.db";
  std::string user_name;
  std::string user_role;
  CLI::App* user_add = user_cmd->add_subcommand(
      "add", "create an account and print its token (shown only this once) on stdout");
  user_add->add_option("NAME", user_name, "account name")->required();
  user_add->add_option("--role", user_role, "developer, manager or admin")->required();
  user_add->add_option("--db", user_db, "sqlite:PATH or a postgresql:// URL")
      ->envname("TODO_DB")
      ->capture_default_str();

  todo::todod::TransferCommands transfer_cmds(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  SetUpLogging(log_level);
  try {
    if (serve_cmd->parsed()) return Serve(serve);
    if (migrate_cmd->parsed()) return Migrate(migrate_db);
    if (user_add->parsed()) return UserAdd(user_db, user_name, user_role);
    if (std::optional<int> code = transfer_cmds.Run()) return *code;
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return kExitFailure;
  }
  return kExitUsage;
}

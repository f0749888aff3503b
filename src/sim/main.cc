// todo-sim: the origin's clients grown up. N simulated developers add and remove random tasks
// and M managers read everything, against any todod; then a final read, a check of the
// history, and a report of throughput, latency percentiles and errors (db_bench's way: named
// workloads, a seeded RNG per developer, latency histograms).
//
// Exit codes: 0 ok, 1 a violation or an error the retries did not absorb, 2 usage error,
// 130 a second SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <iostream>
#include <random>
#include <string>

#include "core/validate.h"
#include "sim/accounts.h"
#include "sim/driver.h"
#include "sim/duration.h"
#include "sim/mix.h"

namespace {

namespace sim = todo::sim;

int Usage(const std::string& message) {
  std::cerr << "todo-sim: " << message << "\nRun 'todo-sim --help' for the options.\n";
  return sim::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "todo-sim: simulated developers and managers against a todod server, then a check of\n"
      "everything they were answered (nothing acknowledged lost, nothing duplicated, nobody\n"
      "shown what is not theirs) and a report of throughput and latency."};
  app.footer(
      "Developers loop: pick an operation by --mix with their own RNG (seed + index), run it,\n"
      "wait --delay. With --rate, arrivals are open loop instead: R operations per second in\n"
      "all, each given to a random developer, latency counted from when it was due.\n"
      "Operations: add (a new task with a unique text), remove (the oldest open task),\n"
      "list (the 50 oldest open tasks). Managers loop over the users list, every task and\n"
      "the change log.\n"
      "\n"
      "Accounts are created through the admin API with names unique to the run\n"
      "(PREFIX-dev0001..., PREFIX-mgr01...). Tokens are shown only at creation: with --reuse\n"
      "FILE they are kept in FILE (ROLE NAME TOKEN lines) and read back by later runs.\n"
      "\n"
      "Ctrl-C (SIGINT) or SIGTERM stops the load, lets operations in flight finish, then\n"
      "checks and reports; a second one quits at once. Progress is printed every second when\n"
      "stderr is a terminal.\n"
      "\n"
      "Environment: TODO_SERVER (--server), TODO_ADMIN_TOKEN (--admin-token).\n"
      "Exit codes: 0 ok, 1 a violation or an error the retries did not absorb, 2 usage error.\n"
      "Example: todo-sim --server http://127.0.0.1:8080 --admin-token $T --developers 1000 \\\n"
      "           --delay 250ms --duration 60s");

  sim::SimOptions options;
  std::string delay = "1s";
  std::string duration;
  std::string mix = "add=45,remove=45,list=10";
  std::string timeout = "10s";
  uint64_t seed = 0;
  app.add_option("--server", options.server, "todod URL, e.g. http://127.0.0.1:8080")
      ->type_name("URL")
      ->envname("TODO_SERVER")
      ->required();
  app.add_option("--admin-token", options.admin_token,
                 "an admin's token, to create the accounts (and, with --managers 0, to read "
                 "every task at the end)")
      ->envname("TODO_ADMIN_TOKEN")
      ->type_name("TOKEN");
  app.add_option("--developers", options.developers, "simulated developers")
      ->type_name("N")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--managers", options.managers, "simulated managers")
      ->type_name("M")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  app.add_option("--delay", delay, "a developer's (and manager's) pause between operations: "
                                   "1s, 250ms, 0 ...")
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_option("--duration", duration,
                 "how long to run: 60 (seconds), 90s, 5m ... (default: until Ctrl-C)")
      ->type_name("DURATION");
  app.add_option("--mix", mix, "the developers' workload: weights of add, remove and list")
      ->type_name("MIX")
      ->capture_default_str();
  app.add_option("--rate", options.rate,
                 "open loop: R operations per second in all instead of --delay")
      ->type_name("R")
      ->check(CLI::PositiveNumber);
  CLI::Option* seed_option =
      app.add_option("--seed", seed, "seed of the RNGs (default: random, shown in the report)")
          ->type_name("X");
  app.add_flag("--json", options.json, "print the report as one JSON object on stdout");
  app.add_option("--connections", options.connections,
                 "keep-alive connections to the server, shared by everyone")
      ->type_name("C")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--reuse", options.reuse_file,
                 "account file: read if it exists, else written with the accounts created")
      ->type_name("FILE");
  app.add_option("--prefix", options.prefix,
                 "account names' prefix (default: from --reuse FILE, else s + 4 random hex)")
      ->type_name("P");
  app.add_option("--timeout", timeout, "time one HTTP exchange may take")
      ->type_name("DURATION")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : sim::kExitUsage;
  }

  auto endpoint = todo::client::ParseServerUrl(options.server);
  if (!endpoint.ok()) return Usage("--server: " + endpoint.status().message());
  options.endpoint = *endpoint;
  auto parsed_delay = sim::ParseDuration(delay);
  if (!parsed_delay.ok()) return Usage("--delay: " + parsed_delay.status().message());
  options.delay = *parsed_delay;
  if (!duration.empty()) {
    auto parsed = sim::ParseDuration(duration);
    if (!parsed.ok()) return Usage("--duration: " + parsed.status().message());
    options.duration = *parsed;
  }
  auto parsed_timeout = sim::ParseDuration(timeout);
  if (!parsed_timeout.ok()) return Usage("--timeout: " + parsed_timeout.status().message());
  if (parsed_timeout->count() < 1000) return Usage("--timeout: at least 1ms");
  options.timeout = *parsed_timeout;
  auto parsed_mix = sim::ParseMix(mix);
  if (!parsed_mix.ok()) return Usage("--mix: " + parsed_mix.status().message());
  options.mix = *parsed_mix;
  if (!options.prefix.empty()) {
    std::string longest = sim::DeveloperName(options.prefix, options.developers - 1);
    if (auto valid = todo::core::ValidateUserName(longest); !valid.ok()) {
      return Usage("--prefix: " + valid.message());
    }
  }
  options.seed = seed_option->count() > 0 ? seed : std::random_device{}();
  return sim::RunSimulation(options);
}

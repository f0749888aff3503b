// The simulator's driver: accounts, the load (one coroutine per simulated user on one event
// loop, all sharing one HttpPool), the final read, the checker and the report. Part of the
// todo-sim program, not of the todo_sim library: it does I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "client/http_pool.h"
#include "sim/duration.h"
#include "sim/mix.h"

namespace todo::sim {

// Exit codes of todo-sim.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // a violation, an error the retries did not absorb
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;  // a second SIGINT/SIGTERM

struct SimOptions {
  std::string server;  // as given, for the report
  client::Endpoint endpoint;
  std::string admin_token;  // may be empty when every account comes from `reuse_file`
  int developers = 3;
  int managers = 1;
  Micros delay = std::chrono::seconds(1);
  std::optional<Micros> duration;  // none: until SIGINT/SIGTERM
  Mix mix;
  double rate = 0;  // total ops/s, open loop; 0: closed loop
  uint64_t seed = 0;
  bool json = false;
  int connections = 64;
  std::string reuse_file;  // empty: fresh accounts, not saved
  std::string prefix;      // empty: from `reuse_file`, else "s" + 4 random hex digits
  Micros timeout = std::chrono::seconds(10);  // per HTTP exchange
};

// Runs one simulation on the calling thread (one io_context), handling SIGINT/SIGTERM: the
// first stops the load gracefully, a second exits at once with kExitInterrupted. Prints
// progress and diagnostics on stderr, the report on stdout. Returns the exit code.
int RunSimulation(const SimOptions& options);

}  // namespace todo::sim

// The end-of-run report, as text for people and as one JSON object for programs (--json).
// Pure functions of what the run measured; thread-safe.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>

#include "sim/checker.h"
#include "sim/stats.h"

namespace todo::sim {

// How the run was set up and how long it lasted.
struct RunInfo {
  std::string server;
  int developers = 0;
  int managers = 0;
  std::string delay;     // as FormatDuration spells it
  std::string duration;  // empty: until stopped
  std::string mix;       // Mix::ToString
  double rate = 0;       // ops/s in all; 0: closed loop (each developer waits `delay`)
  uint64_t seed = 0;
  int connections = 0;
  std::string prefix;
  double elapsed_seconds = 0;  // of the load phase
  bool interrupted = false;    // stopped by SIGINT/SIGTERM rather than by --duration
};

// Violations listed under a FAILED verdict, at most.
inline constexpr std::size_t kViolationsShown = 20;

// Several lines, each ending in '\n': setup, throughput, operations, errors, a latency table
// (ms: count, p50, p90, p99, p99.9, max per kind and overall), then the checker's verdict
// line and the first violations (if `check` is null, the checker did not run).
std::string TextReport(const RunInfo& info, const Stats& stats, const CheckReport* check);

// The same as one JSON object (latencies in ms; "checker" null when it did not run).
boost::json::object JsonReport(const RunInfo& info, const Stats& stats, const CheckReport* check);

}  // namespace todo::sim

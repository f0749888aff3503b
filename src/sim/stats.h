// Stats: what the simulator's operations cost and how they ended, by kind of operation, for
// the progress line and the final report. Not thread-safe (one event loop records all).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"
#include "sim/duration.h"
#include "sim/histogram.h"

namespace todo::sim {

// Every call the load phase makes. The first three are the developers' (DevOp order).
enum class OpKind {
  kAdd,       // POST /v1/tasks
  kRemove,    // POST /v1/tasks/remove-oldest
  kList,      // GET /v1/tasks (a developer's own)
  kUsers,     // GET /v1/users (manager)
  kAllTasks,  // GET /v1/tasks, one page of every user's tasks (manager)
  kEvents,    // GET /v1/events, one page of the change log (manager)
};
inline constexpr int kOpKindCount = 6;
std::string_view OpKindName(OpKind kind);  // "add", ..., "all-tasks", "events"

struct ErrorTally {
  int64_t count = 0;
  std::string first_message;
};

class Stats {
 public:
  // One finished call: its latency (from when it was due), how it ended, and how many
  // attempts the client made (more than one: a retry absorbed a failure, or tried to).
  void Record(OpKind kind, Micros latency, const core::Status& status, int attempts);

  // One HTTP exchange on a connection (client::HttpPool::OnExchange): the server's latency,
  // without the wait for one of the --connections (which Record's latency includes).
  void RecordExchange(Micros time) { exchange_.Add(time.count()); }
  const Histogram& exchange() const { return exchange_; }

  const Histogram& latency(OpKind kind) const { return latency_[static_cast<int>(kind)]; }
  Histogram overall() const;
  int64_t ops(OpKind kind) const { return ops_[static_cast<int>(kind)]; }
  int64_t total_ops() const;
  int64_t errors() const { return errors_; }
  // Final errors by code name ("unavailable"), after the client's retries.
  const std::map<std::string, ErrorTally>& errors_by_code() const { return by_code_; }
  int64_t retried() const { return retried_; }

  // Calls finished since the previous TakeInterval (for the once-a-second progress line).
  struct Interval {
    int64_t ops = 0;
    Histogram latency;
  };
  Interval TakeInterval();

 private:
  std::array<Histogram, kOpKindCount> latency_;
  Histogram exchange_;
  std::array<int64_t, kOpKindCount> ops_{};
  int64_t errors_ = 0;
  int64_t retried_ = 0;
  std::map<std::string, ErrorTally> by_code_;
  Interval interval_;
};

}  // namespace todo::sim

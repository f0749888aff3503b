// Request metrics in the Prometheus text format (GET /metrics).
//
// Each event loop records into its own MetricsShard, so recording takes no lock and shares
// no cache line with another loop. Counters are atomics written by their one loop (a plain
// load + store, not a locked read-modify-write) and read by whichever loop renders
// /metrics, which sums the shards; a scrape may miss the requests of the last instant,
// never count one twice.
#pragma once

// clang-format off
// <ostream> before Beast: Boost 1.81's core::string_view uses it without including it.
#include <ostream>
// clang-format on

#include <array>
#include <atomic>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/router.h"
#include "store/store.h"

namespace todo::server {

// Counters known at compile time, so a shard is flat arrays.
inline constexpr int kMethodLabels = 6;  // GET POST PATCH DELETE HEAD other
inline constexpr std::array<int, 14> kStatusLabels = {200, 201, 204, 400, 401, 403, 404,
                                                      405, 408, 409, 413, 431, 500, 503};
inline constexpr int kStatusSlots = static_cast<int>(kStatusLabels.size()) + 1;  // + other
inline constexpr std::array<std::string_view, 9> kErrorCodeLabels = {
    "invalid_argument", "not_found",   "permission_denied", "unauthenticated",   "conflict",
    "too_large",        "unavailable", "internal",          "method_not_allowed"};
// Upper bounds of the latency histogram's buckets, in microseconds (+Inf is implicit).
inline constexpr std::array<int64_t, 14> kLatencyBucketsUs = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

// One event loop's counters. Record* must be called from one thread only (the loop's).
class MetricsShard {
 public:
  // One answered request: its route, method, status, the error code named in its body
  // (empty for success) and the time from the end of its head to its answer being ready.
  void RecordRequest(Route route, boost::beast::http::verb method, int status,
                     std::string_view error_code, std::chrono::nanoseconds duration);

 private:
  friend class Metrics;
  // Written by one thread, read by any.
  struct Counter {
    std::atomic<uint64_t> value{0};
    void Add(uint64_t n) {
      value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    uint64_t Get() const { return value.load(std::memory_order_relaxed); }
  };
  std::array<std::array<std::array<Counter, kStatusSlots>, kMethodLabels>, kRouteCount> requests_;
  std::array<std::array<Counter, kLatencyBucketsUs.size() + 1>, kRouteCount> latency_buckets_;
  std::array<Counter, kRouteCount> latency_sum_us_;
  std::array<Counter, kErrorCodeLabels.size()> errors_;
};

// The shards of every loop, and the rendering. Thread-safe as described above.
class Metrics {
 public:
  explicit Metrics(int shards);
  MetricsShard& shard(int index) { return *shards_[index]; }

  // Process-wide values the server keeps itself.
  struct Gauges {
    int64_t connections_open = 0;
    uint64_t connections_accepted = 0;
    uint64_t connections_rejected = 0;  // over --max-connections
    int64_t store_calls_in_flight = 0;
    // Managers' reads with --read-db: answered by the replica; sent on to the primary
    // (the replica was behind the request's Todo-Min-Position, or could not answer).
    uint64_t replica_reads = 0;
    uint64_t replica_fallbacks = 0;
    store::Store::BatchStats batches;  // the primary store's
  };
  // The whole exposition: todo_http_requests_total{route,method,status},
  // todo_http_request_duration_seconds{route} (histogram), todo_errors_total{code},
  // todo_http_connections, todo_http_connections_accepted_total,
  // todo_http_connections_rejected_total, todo_store_calls_in_flight,
  // todo_replica_reads_total{served_by}, todo_db_batches_total, todo_db_batched_total{kind}.
  std::string Render(const Gauges& gauges) const;

 private:
  std::vector<std::unique_ptr<MetricsShard>> shards_;
};

}  // namespace todo::server

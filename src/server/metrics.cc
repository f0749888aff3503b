#include "server/metrics.h"

#include <cstdio>

namespace todo::server {
namespace {

namespace http = boost::beast::http;

constexpr std::array<std::string_view, kMethodLabels> kMethodNames = {"GET",    "POST", "PATCH",
                                                                      "DELETE", "HEAD", "other"};

int MethodSlot(http::verb method) {
  switch (method) {
    case http::verb::get:
      return 0;
    case http::verb::post:
      return 1;
    case http::verb::patch:
      return 2;
    case http::verb::delete_:
      return 3;
    case http::verb::head:
      return 4;
    default:
      return 5;
  }
}

int StatusSlot(int status) {
  for (std::size_t i = 0; i < kStatusLabels.size(); ++i) {
    if (kStatusLabels[i] == status) return static_cast<int>(i);
  }
  return kStatusSlots - 1;
}

std::string StatusName(int slot) {
  if (slot == kStatusSlots - 1) return "other";
  return std::to_string(kStatusLabels[slot]);
}

// Microseconds as seconds with the precision Prometheus expects ("0.0025").
std::string Seconds(uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%llu.%06llu", static_cast<unsigned long long>(us / 1000000),
                static_cast<unsigned long long>(us % 1000000));
  std::string s(buf);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

void MetricsShard::RecordRequest(Route route, http::verb method, int status,
                                 std::string_view error_code, std::chrono::nanoseconds duration) {
  int r = static_cast<int>(route);
  requests_[r][MethodSlot(method)][StatusSlot(status)].Add(1);
  int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
  if (us < 0) us = 0;
  std::size_t bucket = 0;
  while (bucket < kLatencyBucketsUs.size() && us > kLatencyBucketsUs[bucket]) ++bucket;
  latency_buckets_[r][bucket].Add(1);
  latency_sum_us_[r].Add(static_cast<uint64_t>(us));
  if (!error_code.empty()) {
    for (std::size_t i = 0; i < kErrorCodeLabels.size(); ++i) {
      if (kErrorCodeLabels[i] == error_code) {
        errors_[i].Add(1);
        break;
      }
    }
  }
}

Metrics::Metrics(int shards) {
  for (int i = 0; i < shards; ++i) shards_.push_back(std::make_unique<MetricsShard>());
}

std::string Metrics::Render(const Gauges& gauges) const {
  std::string out;
  out.reserve(8192);
  auto line = [&out](std::string_view text) {
    out += text;
    out += '\n';
  };

  line("# HELP todo_http_requests_total HTTP requests answered.");
  line("# TYPE todo_http_requests_total counter");
  for (int r = 0; r < kRouteCount; ++r) {
    for (int m = 0; m < kMethodLabels; ++m) {
      for (int s = 0; s < kStatusSlots; ++s) {
        uint64_t total = 0;
        for (const auto& shard : shards_) total += shard->requests_[r][m][s].Get();
        if (total == 0) continue;
        out += "todo_http_requests_total{route=\"";
        out += RouteLabel(static_cast<Route>(r));
        out += "\",method=\"";
        out += kMethodNames[m];
        out += "\",status=\"";
        out += StatusName(s);
        out += "\"} ";
        out += std::to_string(total);
        out += '\n';
      }
    }
  }

  line("# HELP todo_http_request_duration_seconds Time from a request's head to its answer.");
  line("# TYPE todo_http_request_duration_seconds histogram");
  for (int r = 0; r < kRouteCount; ++r) {
    std::array<uint64_t, kLatencyBucketsUs.size() + 1> buckets{};
    uint64_t sum_us = 0;
    for (const auto& shard : shards_) {
      for (std::size_t b = 0; b < buckets.size(); ++b) {
        buckets[b] += shard->latency_buckets_[r][b].Get();
      }
      sum_us += shard->latency_sum_us_[r].Get();
    }
    uint64_t cumulative = 0;
    for (uint64_t b : buckets) cumulative += b;
    if (cumulative == 0) continue;
    std::string label(RouteLabel(static_cast<Route>(r)));
    cumulative = 0;
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      cumulative += buckets[b];
      std::string le = b < kLatencyBucketsUs.size() ? Seconds(kLatencyBucketsUs[b]) : "+Inf";
      out += "todo_http_request_duration_seconds_bucket{route=\"" + label + "\",le=\"" + le +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    out +=
        "todo_http_request_duration_seconds_sum{route=\"" + label + "\"} " + Seconds(sum_us) + "\n";
    out += "todo_http_request_duration_seconds_count{route=\"" + label + "\"} " +
           std::to_string(cumulative) + "\n";
  }

  line("# HELP todo_errors_total Error answers, by the code in their body.");
  line("# TYPE todo_errors_total counter");
  for (std::size_t i = 0; i < kErrorCodeLabels.size(); ++i) {
    uint64_t total = 0;
    for (const auto& shard : shards_) total += shard->errors_[i].Get();
    out += "todo_errors_total{code=\"" + std::string(kErrorCodeLabels[i]) + "\"} " +
           std::to_string(total) + "\n";
  }

  line("# HELP todo_http_connections Open client connections.");
  line("# TYPE todo_http_connections gauge");
  line("todo_http_connections " + std::to_string(gauges.connections_open));
  line("# HELP todo_http_connections_accepted_total Client connections accepted.");
  line("# TYPE todo_http_connections_accepted_total counter");
  line("todo_http_connections_accepted_total " + std::to_string(gauges.connections_accepted));
  line("# HELP todo_http_connections_rejected_total Connections refused over --max-connections.");
  line("# TYPE todo_http_connections_rejected_total counter");
  line("todo_http_connections_rejected_total " + std::to_string(gauges.connections_rejected));
  line("# HELP todo_store_calls_in_flight Store calls started and not finished.");
  line("# TYPE todo_store_calls_in_flight gauge");
  line("todo_store_calls_in_flight " + std::to_string(gauges.store_calls_in_flight));
  line("# HELP todo_replica_reads_total Managers' reads by who answered them (--read-db).");
  line("# TYPE todo_replica_reads_total counter");
  line("todo_replica_reads_total{served_by=\"replica\"} " + std::to_string(gauges.replica_reads));
  line("todo_replica_reads_total{served_by=\"primary\"} " +
       std::to_string(gauges.replica_fallbacks));
  line("# HELP todo_db_batches_total Round trips of the PostgreSQL batchers (group commit).");
  line("# TYPE todo_db_batches_total counter");
  line("todo_db_batches_total " + std::to_string(gauges.batches.batches));
  line("# HELP todo_db_batched_total What those round trips carried: writes in their shared "
       "transactions, other statements alone.");
  line("# TYPE todo_db_batched_total counter");
  line("todo_db_batched_total{kind=\"write\"} " + std::to_string(gauges.batches.writes));
  line("todo_db_batched_total{kind=\"alone\"} " + std::to_string(gauges.batches.alone));
  line("# HELP todo_db_merged_total Of the batched writes, those sent as one statement with the "
       "batch's others of their kind.");
  line("# TYPE todo_db_merged_total counter");
  line("todo_db_merged_total{kind=\"add\"} " + std::to_string(gauges.batches.merged_adds));
  line("todo_db_merged_total{kind=\"remove_oldest\"} " +
       std::to_string(gauges.batches.merged_removes));
  line("# HELP todo_db_batches_resent_total Batches whose shared transaction failed (a write's "
       "error, a deadlock, a retried key among merged writes) and whose writes were sent "
       "again, each in its own transaction.");
  line("# TYPE todo_db_batches_resent_total counter");
  line("todo_db_batches_resent_total " + std::to_string(gauges.batches.resent));
  return out;
}

}  // namespace todo::server

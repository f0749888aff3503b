#include "sim/report.h"

#include <cstdio>

namespace todo::sim {
namespace {

constexpr double kPercentiles[] = {50, 90, 99, 99.9};
constexpr const char* kPercentileNames[] = {"p50", "p90", "p99", "p99.9"};

double Ms(int64_t micros) { return static_cast<double>(micros) / 1000.0; }

double Throughput(const RunInfo& info, const Stats& stats) {
  return info.elapsed_seconds > 0 ? static_cast<double>(stats.total_ops()) / info.elapsed_seconds
                                  : 0;
}

std::string Format(const char* format, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

std::string LatencyRow(std::string_view name, const Histogram& h) {
  std::string row = Format("%-12.*s %9lld", static_cast<int>(name.size()), name.data(),
                           static_cast<long long>(h.count()));
  for (double p : kPercentiles) row += Format(" %9.2f", Ms(h.Percentile(p)));
  row += Format(" %9.2f\n", Ms(h.max()));
  return row;
}

boost::json::object LatencyJson(const Histogram& h) {
  boost::json::object o;
  o["count"] = h.count();
  o["mean"] = h.mean() / 1000.0;
  for (std::size_t i = 0; i < std::size(kPercentiles); ++i) {
    o[kPercentileNames[i]] = Ms(h.Percentile(kPercentiles[i]));
  }
  o["max"] = Ms(h.max());
  return o;
}

}  // namespace

std::string TextReport(const RunInfo& info, const Stats& stats, const CheckReport* check) {
  auto count = [](int n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  std::string out = "todo-sim: " + count(info.developers, "developer") + ", " +
                    count(info.managers, "manager") + " against " + info.server +
                    " (accounts " + info.prefix + "-*, mix " + info.mix + ", ";
  out += info.rate > 0 ? Format("open loop at %.1f ops/s", info.rate)
                       : "closed loop, delay " + info.delay;
  out += ", seed " + std::to_string(info.seed) + ", " + std::to_string(info.connections) +
         " connections)\n";
  out += Format("ran %.2f s%s: %lld operations, %.1f ops/s\n", info.elapsed_seconds,
                info.interrupted ? " (interrupted)" : "",
                static_cast<long long>(stats.total_ops()), Throughput(info, stats));
  out += "operations:";
  for (int k = 0; k < kOpKindCount; ++k) {
    auto kind = static_cast<OpKind>(k);
    out += std::string(k ? ", " : " ") + std::string(OpKindName(kind)) + " " +
           std::to_string(stats.ops(kind));
  }
  out += "\nretried: " + std::to_string(stats.retried()) +
         " operations needed more than one attempt\n";
  if (stats.errors() == 0) {
    out += "errors: none\n";
  } else {
    out += "errors: " + std::to_string(stats.errors()) + " (after retries)\n";
    for (const auto& [code, tally] : stats.errors_by_code()) {
      out += "  " + code + " " + std::to_string(tally.count) + ", first: " +
             tally.first_message + "\n";
    }
  }
  out += Format("%-12s %9s %9s %9s %9s %9s %9s\n", "latency (ms)", "count", "p50", "p90", "p99",
                "p99.9", "max");
  for (int k = 0; k < kOpKindCount; ++k) {
    auto kind = static_cast<OpKind>(k);
    if (stats.ops(kind) > 0) out += LatencyRow(OpKindName(kind), stats.latency(kind));
  }
  out += LatencyRow("all", stats.overall());
  if (stats.exchange().count() > 0) out += LatencyRow("per exchange", stats.exchange());
  if (check) {
    out += VerdictLine(*check) + "\n";
    std::size_t shown = 0;
    for (const auto& v : check->violations) {
      if (shown++ == kViolationsShown) break;
      out += "  " + std::string(ViolationKindName(v.kind)) + ": " + v.detail + "\n";
    }
  }
  return out;
}

boost::json::object JsonReport(const RunInfo& info, const Stats& stats, const CheckReport* check) {
  boost::json::object o;
  o["server"] = info.server;
  o["developers"] = info.developers;
  o["managers"] = info.managers;
  o["prefix"] = info.prefix;
  o["mix"] = info.mix;
  o["delay"] = info.delay;
  if (info.duration.empty()) {
    o["duration"] = nullptr;
  } else {
    o["duration"] = info.duration;
  }
  if (info.rate > 0) {
    o["rate"] = info.rate;
  } else {
    o["rate"] = nullptr;
  }
  o["seed"] = info.seed;
  o["connections"] = info.connections;
  o["elapsed_s"] = info.elapsed_seconds;
  o["interrupted"] = info.interrupted;

  boost::json::object ops;
  for (int k = 0; k < kOpKindCount; ++k) {
    auto kind = static_cast<OpKind>(k);
    ops[OpKindName(kind)] = stats.ops(kind);
  }
  ops["total"] = stats.total_ops();
  o["ops"] = std::move(ops);
  o["throughput_ops_s"] = Throughput(info, stats);
  o["retried"] = stats.retried();

  boost::json::object errors;
  errors["total"] = stats.errors();
  boost::json::object by_code;
  for (const auto& [code, tally] : stats.errors_by_code()) {
    boost::json::object t;
    t["count"] = tally.count;
    t["first_message"] = tally.first_message;
    by_code[code] = std::move(t);
  }
  errors["by_code"] = std::move(by_code);
  o["errors"] = std::move(errors);

  boost::json::object latency;
  for (int k = 0; k < kOpKindCount; ++k) {
    auto kind = static_cast<OpKind>(k);
    latency[OpKindName(kind)] = LatencyJson(stats.latency(kind));
  }
  latency["all"] = LatencyJson(stats.overall());
  o["latency_ms"] = std::move(latency);
  o["exchange_ms"] = LatencyJson(stats.exchange());

  if (!check) {
    o["checker"] = nullptr;
    return o;
  }
  boost::json::object c;
  c["ok"] = check->ok();
  c["acknowledged"] = check->acknowledged;
  c["maybe"] = check->maybe;
  c["maybe_applied"] = check->maybe_applied;
  c["failed"] = check->failed;
  c["lost"] = check->count(ViolationKind::kLost);
  c["duplicated"] = check->count(ViolationKind::kDuplicated);
  c["leaked"] = check->count(ViolationKind::kLeaked);
  c["unexpected"] = check->count(ViolationKind::kUnexpected);
  c["mismatched"] = check->count(ViolationKind::kMismatch);
  boost::json::array violations;
  for (const auto& v : check->violations) {
    if (violations.size() == kViolationsShown) break;
    boost::json::object item;
    item["kind"] = ViolationKindName(v.kind);
    item["detail"] = v.detail;
    violations.push_back(std::move(item));
  }
  c["violations"] = std::move(violations);
  o["checker"] = std::move(c);
  return o;
}

}  // namespace todo::sim

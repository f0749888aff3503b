#include "sim/stats.h"

#include <utility>

namespace todo::sim {

std::string_view OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kAdd: return "add";
    case OpKind::kRemove: return "remove";
    case OpKind::kList: return "list";
    case OpKind::kUsers: return "users";
    case OpKind::kAllTasks: return "all-tasks";
    case OpKind::kEvents: return "events";
  }
  return "?";
}

void Stats::Record(OpKind kind, Micros latency, const core::Status& status, int attempts) {
  int k = static_cast<int>(kind);
  ++ops_[k];
  latency_[k].Add(latency.count());
  ++interval_.ops;
  interval_.latency.Add(latency.count());
  if (attempts > 1) ++retried_;
  if (!status.ok()) {
    ++errors_;
    ErrorTally& tally = by_code_[std::string(core::ErrorCodeName(status.code()))];
    if (tally.count++ == 0) tally.first_message = status.message();
  }
}

Histogram Stats::overall() const {
  Histogram all;
  for (const auto& h : latency_) all.Merge(h);
  return all;
}

int64_t Stats::total_ops() const {
  int64_t total = 0;
  for (int64_t n : ops_) total += n;
  return total;
}

Stats::Interval Stats::TakeInterval() {
  Interval taken = std::move(interval_);
  interval_ = Interval{};
  return taken;
}

}  // namespace todo::sim

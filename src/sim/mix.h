// The developers' workload mix: how often each operation is picked, as db_bench names its
// workloads. "add=45,remove=45,list=10" is the origin's developer (adds and removes in equal
// measure) with a look at the list now and then. Plain value; thread-safe to read.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace todo::sim {

// What a simulated developer does in one step.
enum class DevOp {
  kAdd,     // POST /v1/tasks with a text unique to this operation
  kRemove,  // POST /v1/tasks/remove-oldest {"count": 1}
  kList,    // GET /v1/tasks?limit=50 (own open tasks)
};
inline constexpr int kDevOpCount = 3;
std::string_view DevOpName(DevOp op);  // "add", "remove", "list"

struct Mix {
  std::array<int64_t, kDevOpCount> weights{45, 45, 10};  // by DevOp

  int64_t total() const { return weights[0] + weights[1] + weights[2]; }
  // The operation for a uniform draw `r` in [0, total()): weight-proportional.
  DevOp Pick(uint64_t r) const;
  // "add=45,remove=45,list=10" (every operation, in DevOp order).
  std::string ToString() const;
};

// Comma-separated NAME=WEIGHT with NAME one of add, remove, list, each at most once; a name
// left out weighs 0. Weights are whole numbers from 0 to 1000000 and at least one is positive.
// Anything else (unknown or repeated names, signs, empty parts, spaces) is kInvalidArgument.
core::Result<Mix> ParseMix(std::string_view text);

}  // namespace todo::sim

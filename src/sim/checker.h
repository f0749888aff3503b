// The history checker: after the run and a final read, decides whether what the server
// answered is consistent with what it ends up holding. A pure function of its inputs, so it
// is tested on hand-made histories.
//
// Violations (each counted; the first ones are kept with a one-line description):
//   lost        an acknowledged add (or a task the developer had before the run) is absent
//               from the developer's final tasks and no acknowledged remove took it; the
//               developer's maybe-removes may explain at most as many missing tasks as they
//               asked to remove in all, and only the excess is lost;
//   duplicated  a task id or an add's text appears twice in the final state; two
//               acknowledged adds got the same id; an id was returned by two acknowledged
//               removes; an acknowledged removed id is still present;
//   leaked      a developer was shown another's task (any list, the final one included); a
//               remove returned an id known to be someone else's; a task seen with two owners;
//   unexpected  a developer's final task whose text no add of that developer attempted (or
//               whose add was refused with a 4xx, or whose text changed);
//   mismatch    the manager's final view (restricted to the run's developers) differs from
//               the union of the developers' final views: ids, or any field of a task.
// Maybe-adds resolve against the final state: present once means applied, absent means not
// applied or removed since; either is fine.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/task.h"
#include "sim/history.h"

namespace todo::sim {

struct FinalState {
  // Each developer's own tasks at the end (every state), by developer index.
  std::vector<std::vector<core::Task>> developers;
  // Every task a reader of everything (a manager, else the admin) listed at the end. Tasks of
  // users outside the run are ignored.
  std::vector<core::Task> manager;
};

struct CheckReport {
  int64_t acknowledged = 0;   // writes (adds and removes) answered 2xx
  int64_t maybe = 0;          // writes without a definite answer
  int64_t maybe_applied = 0;  // maybe-adds found in the final state
  int64_t failed = 0;         // writes refused with a 4xx
  std::array<int64_t, 5> counts{};  // by ViolationKind
  std::vector<Violation> violations;  // the first History::kMaxKept

  int64_t count(ViolationKind kind) const { return counts[static_cast<int>(kind)]; }
  bool ok() const;
};

CheckReport CheckHistory(const History& history, const FinalState& final_state);

// "checker: ok acknowledged=A maybe=M lost=L duplicated=D leaked=K unexpected=U mismatched=X"
// ("checker: FAILED ..." when any count is not 0).
std::string VerdictLine(const CheckReport& report);

}  // namespace todo::sim

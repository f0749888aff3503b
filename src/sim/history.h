// History: what the simulated developers asked and were answered, kept for the checker
// (checker.h). One History per run; not thread-safe (the simulator runs on one event loop).
//
// A write's outcome is one of three: acknowledged (a 2xx answer: committed), failed (a
// definite refusal such as 400: nothing changed) or maybe (no usable answer: the connection
// broke, the call timed out, 503 persisted past the retries; it may or may not have been
// applied). Lists are checked as they come ("online"): a developer who is shown a task that
// is not theirs is a leak, whatever happens later.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "core/task.h"

namespace todo::sim {

enum class Outcome { kOk, kFailed, kMaybe };
std::string_view OutcomeName(Outcome outcome);  // "ok", "failed", "maybe"

// How a write's result classifies: OK is kOk; an error answer in 4xx is kFailed (the server
// refused and changed nothing); anything else (no answer, 5xx, an answer that could not be
// read) is kMaybe. `http_status` is the last attempt's status, 0 when there was no answer.
Outcome OutcomeOf(const core::Status& status, int http_status);

struct AddRecord {
  std::string text;  // unique to this add
  Outcome outcome = Outcome::kMaybe;
  int64_t id = 0;  // the new task's id when kOk
};

struct RemoveRecord {
  int count = 1;  // how many oldest tasks were asked for
  Outcome outcome = Outcome::kMaybe;
  std::vector<int64_t> ids;  // the removed ids when kOk
};

enum class ViolationKind { kLost, kDuplicated, kLeaked, kUnexpected, kMismatch };
std::string_view ViolationKindName(ViolationKind kind);  // "lost", "duplicated", ...

struct Violation {
  ViolationKind kind;
  std::string detail;  // one line, naming the users, ids and texts involved
};

class History {
 public:
  // Registers a developer of the run; returns its index (0, 1, ... in call order). Names
  // must be distinct.
  int AddDeveloper(std::string name);
  int developers() const { return static_cast<int>(devs_.size()); }
  const std::string& name(int dev) const { return devs_[dev].name; }
  // The index of the developer called `name`, if it is one of the run's.
  std::optional<int> Find(std::string_view name) const;

  // A task `dev` already had when the run started (accounts reused with --reuse): it counts
  // as an acknowledged add made before the run.
  void RecordExisting(int dev, const core::Task& task);
  void RecordAdd(int dev, std::string text, Outcome outcome, int64_t id = 0);
  void RecordRemove(int dev, int count, Outcome outcome, std::vector<int64_t> ids = {});
  // A list answered to `dev`: each task must be dev's own, else a leak is recorded now.
  // Remembers who owns each listed task (for checking later removes).
  void RecordList(int dev, const std::vector<core::Task>& tasks);
  // Who owns a task, as seen by a reader of everything (a manager's list, the change log).
  // Tasks of users outside the run are not remembered. A task seen with two owners is a leak
  // (reported once per task).
  void RecordOwner(int64_t id, std::string_view user);

  // For the checker.
  const std::vector<AddRecord>& adds(int dev) const { return devs_[dev].adds; }
  const std::vector<RemoveRecord>& removes(int dev) const { return devs_[dev].removes; }
  const std::vector<core::Task>& existing(int dev) const { return devs_[dev].existing; }
  // Owners remembered from lists and RecordOwner: task id -> developer index.
  const std::unordered_map<int64_t, int>& owners() const { return owners_; }
  // Violations seen as they happened (leaks in lists, tasks that changed owner): all of them
  // are counted, the first kMaxKept are kept.
  const std::vector<Violation>& online_violations() const { return online_; }
  int64_t online_violation_count() const { return online_count_; }
  static constexpr std::size_t kMaxKept = 1000;
  int64_t lists() const { return lists_; }

 private:
  struct Developer {
    std::string name;
    std::vector<AddRecord> adds;
    std::vector<RemoveRecord> removes;
    std::vector<core::Task> existing;
  };
  void NoteOwner(int64_t id, int dev, std::string_view where);
  void CheckOwn(int dev, const core::Task& task);
  void Note(Violation violation);

  std::vector<Developer> devs_;
  std::unordered_map<std::string, int> by_name_;
  std::unordered_map<int64_t, int> owners_;
  std::unordered_set<int64_t> contested_;  // tasks seen with two owners
  std::vector<Violation> online_;
  int64_t online_count_ = 0;
  int64_t lists_ = 0;
};

}  // namespace todo::sim

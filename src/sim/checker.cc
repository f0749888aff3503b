#include "sim/checker.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace todo::sim {
namespace {

// Collects violations: counts all, keeps the first History::kMaxKept.
class Findings {
 public:
  explicit Findings(CheckReport& report) : report_(report) {}
  void Add(ViolationKind kind, std::string detail, int64_t weight = 1) {
    report_.counts[static_cast<int>(kind)] += weight;
    if (report_.violations.size() < History::kMaxKept) {
      report_.violations.push_back(Violation{kind, std::move(detail)});
    }
  }

 private:
  CheckReport& report_;
};

std::string Quote(const std::string& text) {
  constexpr std::size_t kMax = 60;
  return "'" + (text.size() > kMax ? text.substr(0, kMax) + "..." : text) + "'";
}

std::string IdList(const std::vector<int64_t>& ids) {
  constexpr std::size_t kMax = 10;
  std::string out;
  for (std::size_t i = 0; i < ids.size() && i < kMax; ++i) {
    out += (i ? ", " : "") + std::to_string(ids[i]);
  }
  if (ids.size() > kMax) out += ", ...";
  return out;
}

std::string Describe(const core::Task& t) {
  return "{id " + std::to_string(t.id) + ", user " + t.user + ", text " + Quote(t.text) +
         ", created " + core::FormatIso8601(t.created) + ", updated " +
         core::FormatIso8601(t.updated) + ", done " +
         (t.done ? core::FormatIso8601(*t.done) : std::string("null")) + "}";
}

struct AddRef {
  int dev;
  std::size_t index;  // in history.adds(dev)
};

}  // namespace

bool CheckReport::ok() const {
  for (int64_t c : counts) {
    if (c != 0) return false;
  }
  return true;
}

CheckReport CheckHistory(const History& h, const FinalState& final_state) {
  CheckReport report;
  Findings found(report);
  const int n = h.developers();
  auto final_of = [&](int dev) -> const std::vector<core::Task>& {
    static const std::vector<core::Task> kNone;
    return dev < static_cast<int>(final_state.developers.size()) ? final_state.developers[dev]
                                                                   : kNone;
  };

  // Everything attempted: texts to their add, acknowledged ids to their owner.
  std::unordered_map<std::string, AddRef> add_by_text;
  std::unordered_map<int64_t, int> acked_owner;  // acknowledged adds and pre-run tasks
  std::unordered_map<int64_t, const std::string*> acked_text;
  std::unordered_map<int64_t, int> existing_owner;  // tasks from before the run
  for (int d = 0; d < n; ++d) {
    const auto& adds = h.adds(d);
    for (std::size_t i = 0; i < adds.size(); ++i) {
      const AddRecord& add = adds[i];
      add_by_text.emplace(add.text, AddRef{d, i});
      if (add.outcome == Outcome::kOk) {
        ++report.acknowledged;
        acked_text.emplace(add.id, &add.text);
        auto [it, fresh] = acked_owner.emplace(add.id, d);
        if (!fresh) {
          found.Add(ViolationKind::kDuplicated,
                    "id " + std::to_string(add.id) + " returned by two acknowledged adds (" +
                        h.name(it->second) + " and " + h.name(d) + ", " + Quote(add.text) + ")");
        }
      } else if (add.outcome == Outcome::kMaybe) {
        ++report.maybe;
      } else {
        ++report.failed;
      }
    }
    for (const auto& task : h.existing(d)) {
      acked_owner.emplace(task.id, d);
      acked_text.emplace(task.id, &task.text);
      existing_owner.emplace(task.id, d);
    }
    for (const auto& remove : h.removes(d)) {
      if (remove.outcome == Outcome::kOk) ++report.acknowledged;
      if (remove.outcome == Outcome::kMaybe) ++report.maybe;
      if (remove.outcome == Outcome::kFailed) ++report.failed;
    }
  }

  // Who owns what, from every source; a contradiction with an acknowledged add is a leak.
  std::unordered_map<int64_t, int> owner = acked_owner;
  for (const auto& [id, d] : h.owners()) {
    auto [it, fresh] = owner.emplace(id, d);
    if (!fresh && it->second != d) {
      found.Add(ViolationKind::kLeaked, "task " + std::to_string(id) + " acknowledged to " +
                                            h.name(it->second) + " but seen as " + h.name(d) +
                                            "'s");
    }
  }

  // The final state as the developers see it.
  std::unordered_map<int64_t, int> id_seen;           // id -> times
  std::unordered_map<std::string, int> text_seen;     // text -> times
  std::unordered_map<int64_t, const core::Task*> union_view;
  std::vector<std::unordered_set<int64_t>> final_ids(n);
  for (int d = 0; d < n; ++d) {
    for (const core::Task& task : final_of(d)) {
      if (task.user != h.name(d)) {
        found.Add(ViolationKind::kLeaked, h.name(d) + "'s final list holds task " +
                                              std::to_string(task.id) + " of " + task.user +
                                              " (" + Quote(task.text) + ")");
      } else {
        final_ids[d].insert(task.id);
      }
      if (++id_seen[task.id] == 2) {
        found.Add(ViolationKind::kDuplicated,
                  "task id " + std::to_string(task.id) + " appears twice in the final state");
      }
      union_view.emplace(task.id, &task);
      auto add = add_by_text.find(task.text);
      if (add != add_by_text.end() && ++text_seen[task.text] == 2) {
        found.Add(ViolationKind::kDuplicated,
                  "the text " + Quote(task.text) + " of " + h.name(add->second.dev) +
                      " appears twice in the final state (ids include " +
                      std::to_string(task.id) + ")");
      }
      if (task.user != h.name(d)) continue;

      // Was this task ever asked for by this developer?
      if (add == add_by_text.end()) {
        auto pre = existing_owner.find(task.id);
        if (pre == existing_owner.end() || pre->second != d) {
          found.Add(ViolationKind::kUnexpected,
                    h.name(d) + " holds task " + std::to_string(task.id) + " " +
                        Quote(task.text) + " that no add of theirs attempted");
        }
      } else {
        const AddRecord& record = h.adds(add->second.dev)[add->second.index];
        if (add->second.dev != d) {
          found.Add(ViolationKind::kUnexpected,
                    h.name(d) + " holds task " + std::to_string(task.id) + " " +
                        Quote(task.text) + " that " + h.name(add->second.dev) + " added");
        } else if (record.outcome == Outcome::kFailed) {
          found.Add(ViolationKind::kUnexpected,
                    h.name(d) + " holds task " + std::to_string(task.id) + " " +
                        Quote(task.text) + " although its add was refused");
        } else if (record.outcome == Outcome::kMaybe && text_seen[task.text] == 1) {
          ++report.maybe_applied;
        }
      }
      // An acknowledged id must keep its text.
      if (auto it = acked_text.find(task.id); it != acked_text.end() && *it->second != task.text) {
        found.Add(ViolationKind::kUnexpected,
                  "task " + std::to_string(task.id) + " of " + h.name(d) + " was added as " +
                      Quote(*it->second) + " but reads " + Quote(task.text));
      }
    }
  }

  // The manager's view, restricted to the run's developers.
  std::unordered_map<int64_t, const core::Task*> manager_view;
  for (const core::Task& task : final_state.manager) {
    if (!h.Find(task.user)) continue;
    if (!manager_view.emplace(task.id, &task).second) {
      found.Add(ViolationKind::kMismatch,
                "the manager sees task " + std::to_string(task.id) + " twice");
    }
  }

  // Removes: each acknowledged id once, of the remover's own, and gone.
  std::unordered_map<int64_t, int> removed_by;
  std::vector<int64_t> maybe_capacity(n, 0);
  for (int d = 0; d < n; ++d) {
    for (const RemoveRecord& remove : h.removes(d)) {
      if (remove.outcome == Outcome::kMaybe) maybe_capacity[d] += remove.count;
      if (remove.outcome != Outcome::kOk) continue;
      for (int64_t id : remove.ids) {
        auto [it, fresh] = removed_by.emplace(id, d);
        if (!fresh) {
          found.Add(ViolationKind::kDuplicated, "task " + std::to_string(id) +
                                                    " removed twice (by " + h.name(it->second) +
                                                    " and " + h.name(d) + ")");
        }
        if (id_seen.count(id) || manager_view.count(id)) {
          found.Add(ViolationKind::kDuplicated, "task " + std::to_string(id) +
                                                    " removed by " + h.name(d) +
                                                    " (acknowledged) is still present");
        }
        if (auto o = owner.find(id); o != owner.end() && o->second != d) {
          found.Add(ViolationKind::kLeaked, h.name(d) + "'s remove returned task " +
                                                std::to_string(id) + " of " + h.name(o->second));
        }
      }
    }
  }

  // Lost: acknowledged, not removed with an acknowledgement, not there.
  for (int d = 0; d < n; ++d) {
    std::vector<int64_t> missing;
    auto consider = [&](int64_t id) {
      if (final_ids[d].count(id)) return;
      if (auto r = removed_by.find(id); r != removed_by.end() && r->second == d) return;
      missing.push_back(id);
    };
    for (const auto& add : h.adds(d)) {
      if (add.outcome == Outcome::kOk) consider(add.id);
    }
    for (const auto& task : h.existing(d)) consider(task.id);
    std::sort(missing.begin(), missing.end());
    missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
    auto excess = static_cast<int64_t>(missing.size()) - maybe_capacity[d];
    if (excess > 0) {
      found.Add(ViolationKind::kLost,
                h.name(d) + ": " + std::to_string(missing.size()) +
                    " acknowledged task(s) missing (ids " + IdList(missing) +
                    "), unacknowledged removes explain at most " +
                    std::to_string(maybe_capacity[d]),
                excess);
    }
  }

  // The manager must see exactly what the developers see.
  for (const auto& [id, task] : union_view) {
    auto m = manager_view.find(id);
    if (m == manager_view.end()) {
      found.Add(ViolationKind::kMismatch,
                "task " + std::to_string(id) + " of " + task->user + " missing from the manager's view");
    } else if (!(*m->second == *task)) {
      found.Add(ViolationKind::kMismatch, "task " + std::to_string(id) + " differs: " +
                                              task->user + " sees " + Describe(*task) +
                                              ", the manager " + Describe(*m->second));
    }
  }
  for (const auto& [id, task] : manager_view) {
    if (!union_view.count(id)) {
      found.Add(ViolationKind::kMismatch, "the manager sees task " + std::to_string(id) + " of " +
                                              task->user + " (" + Quote(task->text) +
                                              ") that " + task->user + " does not");
    }
  }

  // What was seen online.
  report.counts[static_cast<int>(ViolationKind::kLeaked)] += h.online_violation_count();
  for (const auto& v : h.online_violations()) {
    if (report.violations.size() < History::kMaxKept) report.violations.push_back(v);
  }
  return report;
}

std::string VerdictLine(const CheckReport& r) {
  return std::string("checker: ") + (r.ok() ? "ok" : "FAILED") +
         " acknowledged=" + std::to_string(r.acknowledged) + " maybe=" + std::to_string(r.maybe) +
         " lost=" + std::to_string(r.count(ViolationKind::kLost)) +
         " duplicated=" + std::to_string(r.count(ViolationKind::kDuplicated)) +
         " leaked=" + std::to_string(r.count(ViolationKind::kLeaked)) +
         " unexpected=" + std::to_string(r.count(ViolationKind::kUnexpected)) +
         " mismatched=" + std::to_string(r.count(ViolationKind::kMismatch));
}

}  // namespace todo::sim

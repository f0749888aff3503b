#include "sim/history.h"

namespace todo::sim {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return "ok";
    case Outcome::kFailed: return "failed";
    case Outcome::kMaybe: return "maybe";
  }
  return "?";
}

Outcome OutcomeOf(const core::Status& status, int http_status) {
  if (status.ok()) return Outcome::kOk;
  // A 4xx answer is the server's refusal: API writes are all-or-nothing, so nothing changed.
  // A 5xx may come after a commit (the server failed while answering), and an unreadable
  // 2xx answer certainly does: both are "maybe", as is no answer at all.
  if (http_status >= 400 && http_status < 500) return Outcome::kFailed;
  return Outcome::kMaybe;
}

std::string_view ViolationKindName(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::kLost: return "lost";
    case ViolationKind::kDuplicated: return "duplicated";
    case ViolationKind::kLeaked: return "leaked";
    case ViolationKind::kUnexpected: return "unexpected";
    case ViolationKind::kMismatch: return "manager mismatch";
  }
  return "?";
}

int History::AddDeveloper(std::string name) {
  int index = static_cast<int>(devs_.size());
  by_name_.emplace(name, index);
  devs_.push_back(Developer{std::move(name), {}, {}, {}});
  return index;
}

std::optional<int> History::Find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

void History::RecordExisting(int dev, const core::Task& task) {
  devs_[dev].existing.push_back(task);
  CheckOwn(dev, task);
}

void History::RecordAdd(int dev, std::string text, Outcome outcome, int64_t id) {
  devs_[dev].adds.push_back(AddRecord{std::move(text), outcome, outcome == Outcome::kOk ? id : 0});
}

void History::RecordRemove(int dev, int count, Outcome outcome, std::vector<int64_t> ids) {
  if (outcome != Outcome::kOk) ids.clear();
  devs_[dev].removes.push_back(RemoveRecord{count, outcome, std::move(ids)});
}

void History::NoteOwner(int64_t id, int dev, std::string_view where) {
  auto [it, inserted] = owners_.try_emplace(id, dev);
  // Reported once per task, however often it is seen afterwards.
  if (!inserted && it->second != dev && contested_.insert(id).second) {
    Note(Violation{ViolationKind::kLeaked, "task " + std::to_string(id) + " seen as " +
                                               devs_[it->second].name + "'s, then as " +
                                               devs_[dev].name + "'s (" + std::string(where) +
                                               ")"});
  }
}

void History::Note(Violation violation) {
  ++online_count_;
  if (online_.size() < kMaxKept) online_.push_back(std::move(violation));
}

void History::CheckOwn(int dev, const core::Task& task) {
  if (task.user != devs_[dev].name) {
    Note(Violation{ViolationKind::kLeaked, devs_[dev].name + " was shown task " +
                                               std::to_string(task.id) + " of " + task.user +
                                               " ('" + task.text + "')"});
    if (auto owner = Find(task.user)) NoteOwner(task.id, *owner, "a list");
    return;
  }
  NoteOwner(task.id, dev, "a list");
}

void History::RecordList(int dev, const std::vector<core::Task>& tasks) {
  ++lists_;
  for (const auto& task : tasks) CheckOwn(dev, task);
}

void History::RecordOwner(int64_t id, std::string_view user) {
  if (auto owner = Find(user)) NoteOwner(id, *owner, "a manager's view");
}

}  // namespace todo::sim

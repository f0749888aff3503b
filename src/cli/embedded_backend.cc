#include "cli/embedded_backend.h"

#include <map>

#include "core/json.h"
#include "store/sync.h"

namespace todo::cli {
namespace {

// Unwraps a write's outcome. The CLI sends no idempotency keys, so a replay cannot happen.
template <typename T>
Result<T> Fresh(Result<store::Written<T>> written) {
  if (!written.ok()) return written.status();
  if (!written->value) return Status::Internal("unexpected idempotent replay");
  return std::move(*written->value);
}

}  // namespace

Result<core::Task> EmbeddedBackend::Add(std::string text) {
  return Fresh(store::RunSync(store_->AddTask(Writer(), std::move(text), nullptr)));
}

Result<store::TaskPage> EmbeddedBackend::List(const store::TaskQuery& query) {
  store::TaskQuery q = query;
  if (q.user.empty()) q.user = user_;
  if (q.user == "*") q.user.clear();
  // The file's owner reads everyone's tasks, as the origin's `liste` did.
  store::Actor reader{user_, core::Role::kManager};
  return store::RunSync(store_->ListTasks(reader, q));
}

Result<core::Task> EmbeddedBackend::Update(int64_t id, store::TaskPatch patch) {
  return Fresh(store::RunSync(store_->UpdateTask(Writer(), id, std::move(patch), nullptr)));
}

Status EmbeddedBackend::Remove(int64_t id) {
  auto removed = Fresh(store::RunSync(store_->RemoveTask(Writer(), id, nullptr)));
  return removed.ok() ? Status::Ok() : removed.status();
}

Result<std::vector<int64_t>> EmbeddedBackend::RemoveOldest(int count) {
  return Fresh(store::RunSync(store_->RemoveOldest(Writer(), count, nullptr)));
}

Result<store::ImportStats> EmbeddedBackend::Import(const std::string& user,
                                                   std::vector<store::ImportItem> items) {
  store::Actor owner{user, core::Role::kDeveloper};
  return store::RunSync(store_->ImportTasks(owner, std::move(items)));
}

Result<std::vector<store::UserSummary>> EmbeddedBackend::Users() {
  std::map<std::string, store::UserSummary> by_name;
  store::TaskQuery query{.user = "*", .state = core::TaskState::kAll, .after = 0,
                         .limit = store::kMaxPageLimit};
  for (;;) {
    auto page = List(query);
    if (!page.ok()) return page.status();
    for (const auto& t : page->tasks) {
      auto& u = by_name[t.user];
      u.name = t.user;
      ++(t.done ? u.done : u.open);
      if (!u.last_update || *u.last_update < t.updated) u.last_update = t.updated;
    }
    if (!page->next) break;
    query.after = *page->next;
  }
  std::vector<store::UserSummary> users;
  for (auto& [name, u] : by_name) users.push_back(std::move(u));
  return users;
}

Status EmbeddedBackend::Watch(std::optional<int64_t>, int64_t,
                              const std::function<void(const core::Event&)>&,
                              const std::function<void(const std::string&)>&) {
  return Status::InvalidArgument(
      "watch needs a server (it follows the server's live feed): pass --server URL or set "
      "TODO_SERVER");
}

namespace {

// Renders what the store reads as the API's lines.
class LineSink final : public store::SnapshotSink {
 public:
  explicit LineSink(const std::function<Status(std::string_view)>& on_line) : on_line_(on_line) {}
  int64_t tasks() const { return tasks_; }

  boost::asio::awaitable<Status> Begin(const store::SnapshotHeader& header) override {
    co_return on_line_(core::SnapshotHeaderLine(header.position, header.taken, header.tasks));
  }
  boost::asio::awaitable<Status> Page(std::vector<core::Task> tasks) override {
    std::string line;
    for (const core::Task& task : tasks) {
      line.clear();
      core::AppendTaskJson(line, task);
      if (Status s = on_line_(line); !s.ok()) co_return s;
      ++tasks_;
    }
    co_return Status::Ok();
  }

 private:
  const std::function<Status(std::string_view)>& on_line_;
  int64_t tasks_ = 0;
};

}  // namespace

Status EmbeddedBackend::Snapshot(const std::function<Status(std::string_view line)>& on_line) {
  // The person at the keyboard owns the file: they read it as a manager would.
  store::Actor reader{user_, core::Role::kManager};
  LineSink sink(on_line);
  if (Status s = store::RunSync(store_->Snapshot(reader, sink)); !s.ok()) return s;
  return on_line(core::SnapshotTrailerLine(sink.tasks()));
}

}  // namespace todo::cli

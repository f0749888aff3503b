#include "cli/remote_backend.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

namespace todo::cli {

RemoteBackend::RemoteBackend(client::Endpoint endpoint, std::string token, std::string user)
    : pool_(io_.get_executor(), std::move(endpoint), 1, std::chrono::seconds(10)),
      client_(pool_, std::move(token)),
      user_(std::move(user)) {}

template <typename T>
T RemoteBackend::Run(boost::asio::awaitable<T> work) {
  auto result = boost::asio::co_spawn(io_, std::move(work), boost::asio::use_future);
  io_.restart();
  io_.run();
  return result.get();
}

Result<core::Task> RemoteBackend::Add(std::string text) {
  return Run(client_.AddTask(std::move(text)));
}

Result<store::TaskPage> RemoteBackend::List(const store::TaskQuery& query) {
  client::ListOptions options;
  // "*" (everyone) is the API's listing without `user`; empty is the caller's own, which the
  // server also gives without `user` to a developer.
  options.user = query.user == "*" ? "" : query.user;
  options.state = query.state;
  options.after = query.after;
  options.limit = query.limit;
  auto page = Run(client_.ListTasks(options));
  if (!page.ok()) return page.status();
  return store::TaskPage{std::move(page->tasks), page->next};
}

Result<core::Task> RemoteBackend::Update(int64_t id, store::TaskPatch patch) {
  return Run(client_.UpdateTask(id, std::move(patch.text), patch.done));
}

Status RemoteBackend::Remove(int64_t id) { return Run(client_.RemoveTask(id)); }

Result<std::vector<int64_t>> RemoteBackend::RemoveOldest(int count) {
  return Run(client_.RemoveOldest(count));
}

Result<store::ImportStats> RemoteBackend::Import(const std::string&,
                                                 std::vector<store::ImportItem>) {
  return Status::InvalidArgument(
      "import works on the embedded store only for now: import into a local file with --db, "
      "or copy the store");
}

Result<std::vector<store::UserSummary>> RemoteBackend::Users() {
  auto users = Run(client_.ListUsers());
  if (!users.ok()) return users.status();
  std::vector<store::UserSummary> out;
  for (auto& u : *users) out.push_back({std::move(u.name), u.role, u.open, u.done, u.last_update});
  return out;
}

}  // namespace todo::cli

// EmbeddedBackend: the CLI working alone on a local SQLite file (the origin's stop 1).
//
// The person at the keyboard owns the file, so reads may name any user (the acting role for
// reads is manager-like); writes are made as a developer named `user`. Not thread-safe: one
// CLI thread drives it.
#pragma once

#include <memory>
#include <string>

#include "cli/backend.h"
#include "store/store.h"

namespace todo::cli {

class EmbeddedBackend final : public Backend {
 public:
  EmbeddedBackend(std::unique_ptr<store::Store> store, std::string user)
      : store_(std::move(store)), user_(std::move(user)) {}

  const std::string& user() const override { return user_; }
  Result<core::Task> Add(std::string text) override;
  Result<store::TaskPage> List(const store::TaskQuery& query) override;
  Result<core::Task> Update(int64_t id, store::TaskPatch patch) override;
  Status Remove(int64_t id) override;
  Result<std::vector<int64_t>> RemoveOldest(int count) override;
  Result<store::ImportStats> Import(const std::string& user,
                                    std::vector<store::ImportItem> items) override;
  // From the tasks themselves: a local file may have tasks of users without accounts.
  Result<std::vector<store::UserSummary>> Users() override;
  Status Snapshot(const std::function<Status(std::string_view line)>& on_line) override;
  Status Watch(std::optional<int64_t> after, int64_t count,
               const std::function<void(const core::Event&)>& on_event,
               const std::function<void(const std::string&)>& on_note) override;

 private:
  store::Actor Writer() const { return {user_, core::Role::kDeveloper}; }

  std::unique_ptr<store::Store> store_;
  std::string user_;
};

}  // namespace todo::cli

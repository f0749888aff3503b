// RemoteBackend: the CLI talking to a todod server through the typed client library.
// The token decides who acts; writes carry Idempotency-Keys and are retried on connection
// errors and 503 (see client::Client). Not thread-safe: one CLI thread drives it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "cli/backend.h"
#include "client/client.h"

namespace todo::cli {

class RemoteBackend final : public Backend {
 public:
  // `endpoint` from client::ParseServerUrl.
  RemoteBackend(client::Endpoint endpoint, std::string token, std::string user);

  const std::string& user() const override { return user_; }
  Result<core::Task> Add(std::string text) override;
  Result<store::TaskPage> List(const store::TaskQuery& query) override;
  Result<core::Task> Update(int64_t id, store::TaskPatch patch) override;
  Status Remove(int64_t id) override;
  Result<std::vector<int64_t>> RemoveOldest(int count) override;
  Result<store::ImportStats> Import(const std::string& user,
                                    std::vector<store::ImportItem> items) override;
  Result<std::vector<store::UserSummary>> Users() override;
  Status Snapshot(const std::function<Status(std::string_view line)>& on_line) override;
  Status Watch(std::optional<int64_t> after, int64_t count,
               const std::function<void(const core::Event&)>& on_event,
               const std::function<void(const std::string&)>& on_note) override;

 private:
  // Runs one client coroutine to completion on this backend's io_context.
  template <typename T>
  T Run(boost::asio::awaitable<T> work);

  client::Endpoint endpoint_;
  std::string token_;
  boost::asio::io_context io_;
  client::HttpPool pool_;
  client::Client client_;
  std::string user_;
};

}  // namespace todo::cli

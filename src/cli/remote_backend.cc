#include "cli/remote_backend.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <thread>

#include "client/snapshot_reader.h"
#include "core/json.h"
#include <boost/asio/use_future.hpp>

namespace todo::cli {

RemoteBackend::RemoteBackend(client::Endpoint endpoint, std::string token, std::string user)
    : endpoint_(endpoint),
      token_(token),
      pool_(io_.get_executor(), std::move(endpoint), 1, std::chrono::seconds(10)),
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

namespace {

// One connection to the stream. Returns OK when the connection ended (to be reopened), or a
// failure reconnecting cannot fix. `last` is the id of the last event delivered.
Status FollowOnce(const client::Endpoint& endpoint, const std::string& token,
                  std::optional<int64_t>& last, int64_t count, int64_t& delivered,
                  const std::function<void(const core::Event&)>& on_event, std::string& why) {
  namespace asio = boost::asio;
  using asio::ip::tcp;
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto addresses = resolver.resolve(endpoint.host, endpoint.port, ec);
  if (!ec) asio::connect(socket, addresses, ec);
  if (ec) {
    why = "cannot connect to " + endpoint.host + ":" + endpoint.port + ": " + ec.message();
    return Status::Ok();
  }
  std::string request = "GET /v1/events/stream HTTP/1.1\r\nHost: " + endpoint.host + ":" +
                        endpoint.port + "\r\nAuthorization: Bearer " + token +
                        "\r\nAccept: text/event-stream\r\n";
  if (last) request += "Last-Event-ID: " + std::to_string(*last) + "\r\n";
  request += "\r\n";
  asio::write(socket, asio::buffer(request), ec);
  if (ec) {
    why = "sending the request: " + ec.message();
    return Status::Ok();
  }
  std::string raw;
  bool head_done = false;
  char buf[8192];
  for (;;) {
    std::size_t n = socket.read_some(asio::buffer(buf), ec);
    raw.append(buf, n);
    if (!head_done) {
      auto end = raw.find("\r\n\r\n");
      if (end != std::string::npos) {
        head_done = true;
        int status = raw.size() > 12 ? std::atoi(raw.substr(9, 3).c_str()) : 0;
        if (status != 200) {
          std::string body = raw.substr(end + 4);
          if (status == 401) return Status::Unauthenticated("the server refused the token");
          if (status == 403) return Status::PermissionDenied(body);
          if (status >= 400 && status < 500) return Status::InvalidArgument(body);
          why = "the server answered " + std::to_string(status);
          return Status::Ok();
        }
        raw.erase(0, end + 4);
      }
    }
    if (head_done) {
      for (auto end = raw.find("\n\n"); end != std::string::npos; end = raw.find("\n\n")) {
        std::string block = raw.substr(0, end);
        raw.erase(0, end + 2);
        std::size_t at = block.find("data: ");
        if (at == std::string::npos) {
          // A comment (heartbeat), retry:, or an id alone: where a live stream starts.
          std::size_t id = block.rfind("id: ", 0) == 0 ? 0 : block.find("\nid: ");
          if (id != std::string::npos) {
            id += block[id] == '\n' ? 5 : 4;
            last = std::atoll(block.c_str() + id);
          }
          continue;
        }
        std::size_t eol = block.find('\n', at);
        std::string data = block.substr(at + 6, eol == std::string::npos ? eol : eol - at - 6);
        boost::system::error_code jec;
        boost::json::value json = boost::json::parse(data, jec);
        if (jec) continue;
        Result<core::Event> event = core::EventFromJson(json);
        if (!event.ok()) continue;
        last = event->id;
        on_event(*event);
        if (count > 0 && ++delivered >= count) return Status::Ok();
      }
    }
    if (ec) {
      why = ec == asio::error::eof ? std::string("the server closed the stream") : ec.message();
      return Status::Ok();
    }
  }
}

}  // namespace

Status RemoteBackend::Snapshot(const std::function<Status(std::string_view line)>& on_line) {
  return client::ReadSnapshot(endpoint_, token_, on_line);
}

Status RemoteBackend::Watch(std::optional<int64_t> after, int64_t count,
                            const std::function<void(const core::Event&)>& on_event,
                            const std::function<void(const std::string&)>& on_note) {
  int64_t delivered = 0;
  std::optional<int64_t> last = after;
  for (int attempt = 0;; ++attempt) {
    std::string why;
    Status s = FollowOnce(endpoint_, token_, last, count, delivered, on_event, why);
    if (!s.ok()) return s;
    if (count > 0 && delivered >= count) return Status::Ok();
    on_note("stream interrupted (" + why + "); reconnecting" +
            (last ? " after event " + std::to_string(*last) : std::string()) + "...");
    // Quickly the first time (a server restarting), then at most every 5 s.
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt == 0 ? 500 : 2000));
    if (attempt > 3) std::this_thread::sleep_for(std::chrono::seconds(3));
  }
}

}  // namespace todo::cli

// Backend: what the CLI's verbs need from wherever the tasks live. Two implementations: the
// embedded SQLite store on this machine (EmbeddedBackend) and, later, a todod server over
// HTTP. The verbs are written once, against this interface.
//
// Calls block until done. A Backend acts for one user (the CLI's --user) and is used from
// one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/task.h"
#include "store/store.h"

namespace todo::cli {

using core::Result;
using core::Status;

class Backend {
 public:
  virtual ~Backend() = default;

  // The user this backend acts for.
  virtual const std::string& user() const = 0;

  virtual Result<core::Task> Add(std::string text) = 0;
  // `query.user` empty means the acting user; "*" means everyone (where allowed).
  virtual Result<store::TaskPage> List(const store::TaskQuery& query) = 0;
  virtual Result<core::Task> Update(int64_t id, store::TaskPatch patch) = 0;
  virtual Status Remove(int64_t id) = 0;
  virtual Result<std::vector<int64_t>> RemoveOldest(int count) = 0;
  // Adds the tasks of `user` found in a file; see store::Store::ImportTasks.
  virtual Result<store::ImportStats> Import(const std::string& user,
                                            std::vector<store::ImportItem> items) = 0;
  // Every user with open/done counts and last activity, by name.
  virtual Result<std::vector<store::UserSummary>> Users() = 0;

  // Every task of every user at one instant (GET /v1/snapshot; Store::Snapshot embedded), as
  // the API's JSON lines: header, tasks in id order, trailer. `on_line` gets each line
  // without its newline; its failure stops the walk and is returned.
  virtual Status Snapshot(const std::function<Status(std::string_view line)>& on_line) = 0;

  // Follows the live change log (GET /v1/events/stream): calls on_event for each event after
  // `after` (none: from now), in id order, until `count` events (0: forever) or a failure
  // that reconnecting cannot fix (kUnauthenticated, kPermissionDenied, kInvalidArgument).
  // A dropped connection is reopened with Last-Event-ID, after on_note("reconnecting...").
  // The embedded store has no stream: kInvalidArgument.
  virtual Status Watch(std::optional<int64_t> after, int64_t count,
                       const std::function<void(const core::Event&)>& on_event,
                       const std::function<void(const std::string&)>& on_note) = 0;
};

}  // namespace todo::cli

// Backend: what the CLI's verbs need from wherever the tasks live. Two implementations: the
// embedded SQLite store on this machine (EmbeddedBackend) and, later, a todod server over
// HTTP. The verbs are written once, against this interface.
//
// Calls block until done. A Backend acts for one user (the CLI's --user) and is used from
// one thread.
#pragma once

#include <cstdint>
#include <string>
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
};

}  // namespace todo::cli

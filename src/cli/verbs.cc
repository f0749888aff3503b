#include "cli/verbs.h"

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <sstream>

#include "core/formats.h"

namespace todo::cli {
namespace {

std::string JoinWords(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& w : words) {
    if (!text.empty()) text += ' ';
    text += w;
  }
  return text;
}

// Reads every page of a listing.
Result<std::vector<core::Task>> ListAll(Backend& backend, store::TaskQuery query) {
  std::vector<core::Task> all;
  query.limit = store::kMaxPageLimit;
  for (;;) {
    auto page = backend.List(query);
    if (!page.ok()) return page.status();
    all.insert(all.end(), std::make_move_iterator(page->tasks.begin()),
               std::make_move_iterator(page->tasks.end()));
    if (!page->next) return all;
    query.after = *page->next;
  }
}

// The --done / --all / --user / --everyone selection shared by ls and export.
struct Selection {
  bool done = false;
  bool all = false;
  std::string user;
  bool everyone = false;

  void AddOptions(CLI::App& command, std::string_view default_state) {
    auto* d = command.add_flag("--done", done, "Only done tasks");
    auto* a = command.add_flag("-a,--all", all,
                               std::string("Open and done tasks (default: ") +
                                   std::string(default_state) + ")");
    d->excludes(a);
    auto* u = command.add_option("-u,--user", user, "Whose tasks (default: yours)");
    command.add_flag("-e,--everyone", everyone, "Every user's tasks")->excludes(u);
  }

  store::TaskQuery Query(core::TaskState default_state) const {
    store::TaskQuery q;
    q.state = done ? core::TaskState::kDone : all ? core::TaskState::kAll : default_state;
    q.user = everyone ? "*" : user;
    return q;
  }
};

class AddVerb final : public Verb {
 public:
  Info info() const override { return {"add", "nouveau", "Add a task", true}; }
  void AddOptions(CLI::App& c) override {
    c.add_option("text", words_, "The task (several words are joined with spaces)")
        ->required();
  }
  Status Run(Backend& backend, std::ostream& out) override {
    auto task = backend.Add(JoinWords(words_));
    if (!task.ok()) return task.status();
    out << "added " << task->id << ": " << task->text << '\n';
    return Status::Ok();
  }

 private:
  std::vector<std::string> words_;
};

class ListVerb final : public Verb {
 public:
  Info info() const override { return {"ls", "liste", "List tasks, oldest first", false}; }
  void AddOptions(CLI::App& c) override { selection_.AddOptions(c, "open only"); }
  Status Run(Backend& backend, std::ostream& out) override {
    auto tasks = ListAll(backend, selection_.Query(core::TaskState::kOpen));
    if (!tasks.ok()) return tasks.status();
    for (const auto& t : *tasks) out << FormatTaskLine(t) << '\n';
    return Status::Ok();
  }

 private:
  Selection selection_;
};

class RemoveVerb final : public Verb {
 public:
  Info info() const override {
    return {"rm", "retrait", "Remove tasks by id, or your N oldest open ones", true};
  }
  void AddOptions(CLI::App& c) override {
    c.add_option("ids", ids_, "Ids of the tasks to remove");
    c.add_option("--oldest", oldest_, "Remove your N oldest open tasks, atomically")
        ->check(CLI::Range(1, store::kMaxRemoveOldest));
  }
  Status CheckUsage() const override {
    if (ids_.empty() == (oldest_ == 0)) {
      return Status::InvalidArgument("give task ids or --oldest N (one of the two)");
    }
    return Status::Ok();
  }
  Status Run(Backend& backend, std::ostream& out) override {
    if (oldest_ > 0) {
      auto removed = backend.RemoveOldest(oldest_);
      if (!removed.ok()) return removed.status();
      out << "removed " << removed->size() << (removed->size() == 1 ? " task" : " tasks");
      for (std::size_t i = 0; i < removed->size(); ++i) out << (i ? " " : ": ") << (*removed)[i];
      out << '\n';
      return Status::Ok();
    }
    // Each id on its own: one missing id does not stop the others; the first error is
    // returned (and so sets the exit code) after the rest were tried.
    Status first_error;
    for (int64_t id : ids_) {
      Status s = backend.Remove(id);
      if (s.ok()) {
        out << "removed " << id << '\n';
      } else {
        if (first_error.ok()) first_error = s;
        if (ids_.size() > 1) std::cerr << "todo: " << s.message() << '\n';
      }
    }
    if (!first_error.ok() && ids_.size() > 1) {
      return Status(first_error.code(), "some tasks were not removed");
    }
    return first_error;
  }

 private:
  std::vector<int64_t> ids_;
  int oldest_ = 0;
};

// done and undone differ only in the state they set.
class DoneVerb final : public Verb {
 public:
  explicit DoneVerb(bool done) : done_(done) {}
  Info info() const override {
    return done_ ? Info{"done", "", "Mark a task done", true}
                 : Info{"undone", "", "Mark a done task open again", true};
  }
  void AddOptions(CLI::App& c) override {
    c.add_option("id", id_, "Id of the task")->required();
  }
  Status Run(Backend& backend, std::ostream& out) override {
    auto task = backend.Update(id_, store::TaskPatch{.text = std::nullopt, .done = done_});
    if (!task.ok()) return task.status();
    out << FormatTaskLine(*task) << '\n';
    return Status::Ok();
  }

 private:
  bool done_;
  int64_t id_ = 0;
};

class EditVerb final : public Verb {
 public:
  Info info() const override { return {"edit", "", "Replace a task's text", true}; }
  void AddOptions(CLI::App& c) override {
    c.add_option("id", id_, "Id of the task")->required();
    c.add_option("text", words_, "The new text")->required();
  }
  Status Run(Backend& backend, std::ostream& out) override {
    auto task = backend.Update(id_, store::TaskPatch{.text = JoinWords(words_), .done = {}});
    if (!task.ok()) return task.status();
    out << FormatTaskLine(*task) << '\n';
    return Status::Ok();
  }

 private:
  int64_t id_ = 0;
  std::vector<std::string> words_;
};

class ImportVerb final : public Verb {
 public:
  Info info() const override {
    return {"import", "", "Add the tasks of a file (origin or todo.txt format, or JSON)", true};
  }
  void AddOptions(CLI::App& c) override {
    c.add_option("file", file_, "The file to read, or - for standard input")->required();
    c.add_option("-f,--format", format_, "origin, todotxt or json (default: detected)")
        ->check(CLI::IsMember({"origin", "todotxt", "json"}));
  }
  Status Run(Backend& backend, std::ostream& out) override {
    std::string content;
    if (file_ == "-") {
      content.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
      std::ifstream in(file_, std::ios::binary);
      if (!in) return Status::NotFound("cannot read " + file_);
      content.assign(std::istreambuf_iterator<char>(in), {});
    }
    core::TextFormat format = core::DetectFormat(content);
    if (!format_.empty()) format = *core::ParseTextFormat(format_);
    auto records = core::Decode(format, content);
    if (!records.ok()) {
      return Status(records.status().code(), file_ + ": " + records.status().message());
    }
    // Lines that name no user (todo.txt) are the acting user's. Each user's tasks are
    // imported in one transaction, users in the order the file first names them, so ids
    // follow the file's order within each user (see docs/decisions/0003).
    std::vector<std::pair<std::string, std::vector<store::ImportItem>>> by_user;
    for (auto& r : *records) {
      const std::string& owner = r.user.empty() ? backend.user() : r.user;
      auto group = std::find_if(by_user.begin(), by_user.end(),
                                [&](const auto& g) { return g.first == owner; });
      if (group == by_user.end()) group = by_user.insert(by_user.end(), {owner, {}});
      group->second.push_back(store::ImportItem{.text = std::move(r.text),
                                                .created = r.created,
                                                .is_done = r.is_done,
                                                .done = r.done,
                                                .precision = r.precision});
    }
    store::ImportStats total;
    for (auto& [user, items] : by_user) {
      auto stats = backend.Import(user, std::move(items));
      if (!stats.ok()) return stats.status();
      total.added += stats->added;
      total.skipped += stats->skipped;
    }
    out << "imported " << total.added << (total.added == 1 ? " task" : " tasks") << " from "
        << file_ << " (" << core::TextFormatName(format) << " format), " << total.skipped
        << " already present\n";
    return Status::Ok();
  }

 private:
  std::string file_;
  std::string format_;
};

class ExportVerb final : public Verb {
 public:
  Info info() const override {
    return {"export", "", "Write tasks as origin lines, todo.txt or JSON", false};
  }
  void AddOptions(CLI::App& c) override {
    c.add_option("-f,--format", format_, "origin, todotxt or json")
        ->check(CLI::IsMember({"origin", "todotxt", "json"}))
        ->capture_default_str();
    c.add_option("-o,--out", file_, "Write to this file instead of standard output");
    c.add_flag("--open", open_only_, "Only open tasks (default: open and done)");
    selection_.AddOptions(c, "open and done");
  }
  Status Run(Backend& backend, std::ostream& out) override {
    core::TaskState default_state = open_only_ ? core::TaskState::kOpen : core::TaskState::kAll;
    auto tasks = ListAll(backend, selection_.Query(default_state));
    if (!tasks.ok()) return tasks.status();
    std::string text = core::Encode(*core::ParseTextFormat(format_), *tasks);
    if (file_.empty()) {
      out << text;
      return Status::Ok();
    }
    std::ofstream f(file_, std::ios::binary | std::ios::trunc);
    if (!(f << text) || !f.flush()) return Status::Unavailable("cannot write " + file_);
    std::cerr << "exported " << tasks->size() << " tasks to " << file_ << '\n';
    return Status::Ok();
  }

 private:
  std::string format_ = "todotxt";
  std::string file_;
  bool open_only_ = false;
  Selection selection_;
};

class UsersVerb final : public Verb {
 public:
  Info info() const override {
    return {"users", "", "Every user with open and done counts (managers)", false};
  }
  void AddOptions(CLI::App&) override {}
  Status Run(Backend& backend, std::ostream& out) override {
    auto users = backend.Users();
    if (!users.ok()) return users.status();
    out << std::left << std::setw(16) << "USER" << std::setw(11) << "ROLE" << std::right
        << std::setw(7) << "OPEN" << std::setw(7) << "DONE" << "  LAST UPDATE\n";
    for (const auto& u : *users) {
      out << std::left << std::setw(16) << u.name << std::setw(11) << core::RoleName(u.role)
          << std::right << std::setw(7) << u.open << std::setw(7) << u.done << "  "
          << (u.last_update ? core::FormatIso8601(*u.last_update) : "-") << '\n';
    }
    return Status::Ok();
  }
};

class WatchVerb final : public Verb {
 public:
  Info info() const override {
    return {"watch", "", "Print the live change log, one line per change (needs a server)",
            false};
  }
  void AddOptions(CLI::App& command) override {
    command.add_option("--after", after_, "first replay every change after this event id")
        ->check(CLI::NonNegativeNumber);
    command.add_option("--count", count_, "stop after this many changes (default: never)")
        ->check(CLI::NonNegativeNumber);
  }
  Status Run(Backend& backend, std::ostream& out) override {
    std::optional<int64_t> after;
    if (after_ >= 0) after = after_;
    return backend.Watch(
        after, count_,
        [&out](const core::Event& e) {
          out << std::setw(6) << e.id << "  " << core::FormatIso8601(e.at) << "  " << std::left
              << std::setw(12) << e.user << ' ' << std::setw(8) << core::EventKindName(e.kind)
              << std::right << " #" << e.task_id << "  " << e.task << std::endl;
        },
        [](const std::string& note) { std::cerr << "todo: " << note << std::endl; });
  }

 private:
  int64_t after_ = -1;
  int64_t count_ = 0;
};

}  // namespace

class SnapshotVerb final : public Verb {
 public:
  Info info() const override {
    return {"snapshot", "",
            "Every task of every user at one instant, as JSON lines (managers; see docs/api.md)",
            false};
  }
  void AddOptions(CLI::App& command) override {
    command.add_option("--out", out_file_, "write to this file instead of stdout");
  }
  Status Run(Backend& backend, std::ostream& out) override {
    if (out_file_.empty()) return Write(backend, out);
    // Into FILE.partial, renamed once the trailer arrived: FILE is never a cut-short snapshot.
    std::string partial = out_file_ + ".partial";
    std::ofstream file(partial, std::ios::out | std::ios::trunc | std::ios::binary);
    if (!file) return Status::Unavailable("cannot write '" + partial + "'");
    Status written = Write(backend, file);
    file.close();
    std::error_code error;
    if (written.ok() && !file) written = Status::Unavailable("cannot write '" + partial + "'");
    if (written.ok()) std::filesystem::rename(partial, out_file_, error);
    if (!written.ok() || error) {
      std::filesystem::remove(partial, error);
      return written.ok() ? Status::Unavailable("cannot write '" + out_file_ + "'") : written;
    }
    out << "snapshot: " << tasks_ << " tasks at change-log position " << position_ << " in "
        << out_file_ << "\n";
    return Status::Ok();
  }

 private:
  // Copies the lines to `out`, noting the header's position and the trailer's count; a
  // snapshot without its trailer is incomplete (kUnavailable).
  Status Write(Backend& backend, std::ostream& out) {
    bool header = true;
    bool ended = false;
    Status walked = backend.Snapshot([&](std::string_view line) -> Status {
      out << line << '\n';
      if (!out) return Status::Unavailable("cannot write the snapshot");
      boost::system::error_code ec;
      boost::json::value value = boost::json::parse(line, ec);
      if (ec || !value.is_object()) return Status::Internal("the snapshot has a line that is not JSON");
      if (header) {
        header = false;
        if (const auto* p = value.as_object().if_contains("position"); p && p->is_int64()) {
          position_ = p->as_int64();
        }
      } else if (const auto* end = value.as_object().if_contains("end")) {
        ended = true;
        if (const auto* t = end->is_object() ? end->as_object().if_contains("tasks") : nullptr;
            t && t->is_int64()) {
          tasks_ = t->as_int64();
        }
      }
      return Status::Ok();
    });
    if (!walked.ok()) return walked;
    if (!ended) return Status::Unavailable("the snapshot was cut short (no end line)");
    out.flush();
    return Status::Ok();
  }

  std::string out_file_;
  int64_t position_ = 0;
  int64_t tasks_ = 0;
};

std::vector<std::unique_ptr<Verb>> AllVerbs() {
  std::vector<std::unique_ptr<Verb>> verbs;
  verbs.push_back(std::make_unique<AddVerb>());
  verbs.push_back(std::make_unique<ListVerb>());
  verbs.push_back(std::make_unique<RemoveVerb>());
  verbs.push_back(std::make_unique<DoneVerb>(true));
  verbs.push_back(std::make_unique<DoneVerb>(false));
  verbs.push_back(std::make_unique<EditVerb>());
  verbs.push_back(std::make_unique<UsersVerb>());
  verbs.push_back(std::make_unique<WatchVerb>());
  verbs.push_back(std::make_unique<SnapshotVerb>());
  verbs.push_back(std::make_unique<ImportVerb>());
  verbs.push_back(std::make_unique<ExportVerb>());
  return verbs;
}

std::string FormatTaskLine(const core::Task& task) {
  std::string created = core::FormatIso8601(task.created);  // 2026-11-29T08:15:34.859Z
  std::ostringstream line;
  line << std::setw(4) << task.id << (task.done ? " [x] " : " [ ] ") << std::left
       << std::setw(12) << task.user << ' ' << created.substr(0, 10) << ' '
       << created.substr(11, 5) << "  " << task.text;
  return line.str();
}

}  // namespace todo::cli

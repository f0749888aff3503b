#include "sim/driver.h"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <vector>

#include "client/client.h"
#include "core/validate.h"
#include "sim/accounts.h"
#include "sim/checker.h"
#include "sim/history.h"
#include "sim/report.h"
#include "sim/stats.h"

namespace todo::sim {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using client::Client;
using core::Result;
using core::Status;

// Pages of the final read and of the managers' walks: the API's largest.
constexpr int kPageLimit = 1000;
// Change-log pages a manager reads per round at most, so a long log does not starve the rest.
constexpr int kEventPagesPerRound = 10;
// What a developer's list asks for (the origin's `liste`, bounded).
constexpr int kListLimit = 50;

constexpr std::string_view kWords[] = {
    "fix",     "review", "write",  "test",   "deploy", "refactor", "document", "measure",
    "the",     "flaky",  "parser", "cache",  "index",  "login",    "report",   "backup",
    "release", "notes",  "query",  "server", "client", "budget",   "meeting",  "bug"};

// Counts coroutines still running; Wait() returns once the count is back to zero. One
// executor, so no locking; one waiter at a time.
class WaitGroup {
 public:
  explicit WaitGroup(asio::any_io_executor executor)
      : timer_(executor, asio::steady_timer::time_point::max()) {}
  void Add(int n = 1) { count_ += n; }
  void Done() {
    if (--count_ == 0) timer_.cancel();
  }
  int count() const { return count_; }
  asio::awaitable<void> Wait() {
    while (count_ > 0) {
      boost::system::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

 private:
  asio::steady_timer timer_;
  int count_ = 0;
};

// Waits for `timer` to expire after `d`, or to be cancelled (by Stop).
asio::awaitable<void> Sleep(asio::steady_timer& timer, Micros d) {
  timer.expires_after(d);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

Micros Since(Clock::time_point t) {
  return std::chrono::duration_cast<Micros>(Clock::now() - t);
}

std::string RandomHex(int digits) {
  std::random_device device;
  std::string out;
  for (int i = 0; i < digits; ++i) out += "0123456789abcdef"[device() % 16];
  return out;
}

// The prefix of a name made by DeveloperName/ManagerName ("s1a2b-dev0001" -> "s1a2b").
std::string PrefixOf(const std::string& name) {
  auto dash = name.rfind('-');
  return dash == std::string::npos ? name : name.substr(0, dash);
}

Status WriteAccounts(const std::string& path, const std::vector<Account>& accounts) {
  // Written aside then renamed, readable by the owner only: the tokens are secrets.
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::Internal("cannot write " + tmp);
    std::error_code ec;
    std::filesystem::permissions(tmp, std::filesystem::perms::owner_read |
                                          std::filesystem::perms::owner_write,
                                 ec);
    out << FormatAccounts(accounts);
    out.flush();
    if (!out) return Status::Internal("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::Internal("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::Ok();
}

Status Failure(const std::string& what, const Status& why) {
  return Status(why.code(), what + ": " + why.message());
}

// A simulated developer: an account, a client for its token, its own seeded RNG.
struct Developer {
  Developer(asio::any_io_executor executor, client::HttpPool& pool, Account a, uint64_t seed,
            std::shared_ptr<client::Positions> positions)
      : account(std::move(a)),
        client(pool, account.token, client::RetryPolicy{}, std::move(positions)),
        rng(seed),
        timer(executor) {}
  Account account;
  Client client;
  std::mt19937_64 rng;
  asio::steady_timer timer;  // the delay between operations
  int64_t next_add = 1;      // numbers this developer's adds
};

struct Manager {
  Manager(asio::any_io_executor executor, client::HttpPool& pool, Account a,
          std::shared_ptr<client::Positions> positions)
      : account(std::move(a)),
        client(pool, account.token, client::RetryPolicy{}, std::move(positions)),
        timer(executor) {}
  Account account;
  Client client;
  asio::steady_timer timer;
  int64_t cursor = 0;  // the last change-log id read
};

class Simulator {
 public:
  Simulator(asio::io_context& io, const SimOptions& options)
      : io_(io),
        options_(options),
        pool_(io.get_executor(), options.endpoint, options.connections,
              std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout)),
        admin_(pool_, options.admin_token, client::RetryPolicy{}, positions_),
        load_(io.get_executor()),
        dispatch_timer_(io),
        duration_timer_(io),
        progress_timer_(io),
        run_tag_(RandomHex(6)),
        progress_(isatty(STDERR_FILENO) == 1) {}

  asio::awaitable<int> Run();

  // The first signal during the load stops it gracefully (true); any other means "now".
  bool GracefulStop() {
    if (!loading_ || stopping_) return false;
    interrupted_ = true;
    Stop();
    return true;
  }

 private:
  asio::awaitable<int> SetUpAccounts();
  asio::awaitable<Status> ReadBaseline();
  asio::awaitable<void> RunLoad();
  asio::awaitable<void> DeveloperLoop(int dev);
  asio::awaitable<void> Dispatcher();
  asio::awaitable<void> DevOperation(int dev, DevOp op, Clock::time_point due);
  asio::awaitable<void> ManagerLoop(int mgr);
  asio::awaitable<void> ManagerRound(Manager& m);
  asio::awaitable<void> Progress();
  asio::awaitable<Status> FinalRead(FinalState& final_state);
  asio::awaitable<Result<std::vector<core::Task>>> ListAll(Client& client);
  // Runs fn(0) .. fn(count - 1), at most `options_.connections` at a time.
  asio::awaitable<void> ForEach(int count, std::function<asio::awaitable<void>(int)> fn);
  // Starts `work` as its own coroutine, counted in `group`.
  void Spawn(WaitGroup& group, asio::awaitable<void> work);
  void Stop();
  std::string NewTaskText(Developer& dev);
  void Print(const std::string& line) { std::cerr << "todo-sim: " << line << std::endl; }

  asio::io_context& io_;
  SimOptions options_;
  // Every client's writes' commit positions, sent back on every client's reads: the final
  // reads see every acknowledged write, also when todod reads a replica.
  std::shared_ptr<client::Positions> positions_ = std::make_shared<client::Positions>();
  client::HttpPool pool_;
  Client admin_;
  std::deque<Developer> devs_;  // deque: stable addresses while coroutines hold them
  std::deque<Manager> managers_;
  History history_;
  Stats stats_;
  WaitGroup load_;  // every coroutine of the load phase, and every operation in flight
  asio::steady_timer dispatch_timer_;
  asio::steady_timer duration_timer_;
  asio::steady_timer progress_timer_;
  std::string run_tag_;  // makes task texts unique across runs on reused accounts
  bool progress_;
  bool loading_ = false;
  bool stopping_ = false;
  bool interrupted_ = false;
  int in_flight_ = 0;  // developers' operations started and not finished
  std::string first_fatal_;  // an exception escaped an operation
  Clock::time_point load_start_;
};

void Simulator::Spawn(WaitGroup& group, asio::awaitable<void> work) {
  group.Add();
  asio::co_spawn(io_, std::move(work), [this, &group](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        if (first_fatal_.empty()) first_fatal_ = ex.what();
      } catch (...) {
        if (first_fatal_.empty()) first_fatal_ = "unknown exception";
      }
    }
    group.Done();
  });
}

asio::awaitable<void> Simulator::ForEach(int count,
                                         std::function<asio::awaitable<void>(int)> fn) {
  WaitGroup group(io_.get_executor());
  int next = 0;
  int workers = std::min(count, options_.connections);
  for (int w = 0; w < workers; ++w) {
    Spawn(group, [](int& shared_next, int total,
                    std::function<asio::awaitable<void>(int)>& body) -> asio::awaitable<void> {
      while (shared_next < total) co_await body(shared_next++);
    }(next, count, fn));
  }
  co_await group.Wait();
}

void Simulator::Stop() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& d : devs_) d.timer.cancel();
  for (auto& m : managers_) m.timer.cancel();
  dispatch_timer_.cancel();
  duration_timer_.cancel();
}

std::string Simulator::NewTaskText(Developer& dev) {
  // "dev0007 #12@3fa9c1 review the flaky cache": who, which add, which run, then a few words.
  std::string name = dev.account.name;
  std::string text = name.substr(name.rfind('-') + 1) + " #" + std::to_string(dev.next_add++) +
                     "@" + run_tag_;
  int words = 2 + static_cast<int>(dev.rng() % 3);
  for (int i = 0; i < words; ++i) {
    text += ' ';
    text += kWords[dev.rng() % std::size(kWords)];
  }
  return text;
}

asio::awaitable<int> Simulator::SetUpAccounts() {
  std::vector<Account> file_accounts;
  bool have_file = false;
  if (!options_.reuse_file.empty() && std::filesystem::exists(options_.reuse_file)) {
    std::ifstream in(options_.reuse_file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ParseAccounts(text.str());
    if (!parsed.ok()) {
      Print(options_.reuse_file + ": " + parsed.status().message());
      co_return kExitUsage;
    }
    file_accounts = std::move(*parsed);
    have_file = true;
  }

  std::string prefix = options_.prefix;
  if (prefix.empty()) {
    for (const auto& a : file_accounts) {
      if (a.role != core::Role::kAdmin) {
        prefix = PrefixOf(a.name);
        break;
      }
    }
  }
  if (prefix.empty()) prefix = "s" + RandomHex(4);
  options_.prefix = prefix;

  // The accounts of the run: from the file first, in its order, then new ones.
  std::vector<Account> devs, mgrs;
  std::set<std::string> taken;
  for (const auto& a : file_accounts) {
    taken.insert(a.name);
    if (a.role == core::Role::kDeveloper && static_cast<int>(devs.size()) < options_.developers) {
      devs.push_back(a);
    }
    if (a.role == core::Role::kManager && static_cast<int>(mgrs.size()) < options_.managers) {
      mgrs.push_back(a);
    }
  }
  std::vector<Account> wanted;  // token still to be learnt
  for (int i = 0; static_cast<int>(devs.size() + wanted.size()) < options_.developers; ++i) {
    std::string name = DeveloperName(prefix, i);
    if (taken.insert(name).second) wanted.push_back(Account{name, core::Role::kDeveloper, ""});
  }
  int new_devs = static_cast<int>(wanted.size());
  for (int i = 0; static_cast<int>(mgrs.size() + wanted.size()) - new_devs < options_.managers;
       ++i) {
    std::string name = ManagerName(prefix, i);
    if (taken.insert(name).second) wanted.push_back(Account{name, core::Role::kManager, ""});
  }
  if (!wanted.empty() && options_.admin_token.empty()) {
    Print("--admin-token (or TODO_ADMIN_TOKEN) is needed to create " +
          std::to_string(wanted.size()) + " account(s)");
    co_return kExitUsage;
  }
  if (options_.managers == 0 && options_.admin_token.empty()) {
    Print("--admin-token (or TODO_ADMIN_TOKEN) is needed for the final read when --managers is 0");
    co_return kExitUsage;
  }
  if (auto valid = core::ValidateUserName(wanted.empty() ? prefix : wanted.back().name);
      !valid.ok()) {
    Print("--prefix: " + valid.message());
    co_return kExitUsage;
  }

  std::vector<Status> failures(wanted.size());
  co_await ForEach(static_cast<int>(wanted.size()), [&](int i) -> asio::awaitable<void> {
    auto made = co_await admin_.CreateUser(wanted[i].name, wanted[i].role);
    if (made.ok()) {
      wanted[i].token = made->token;
    } else {
      failures[i] = made.status();
    }
  });
  int failed = 0;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (failures[i].ok()) {
      (wanted[i].role == core::Role::kDeveloper ? devs : mgrs).push_back(wanted[i]);
      file_accounts.push_back(wanted[i]);
    } else if (failed++ == 0) {
      Print("cannot create account " + wanted[i].name + ": " + failures[i].ToString());
    }
  }
  // Save what was made even if some failed: those tokens cannot be had again.
  if (!options_.reuse_file.empty() && (!have_file || !wanted.empty())) {
    if (Status saved = WriteAccounts(options_.reuse_file, file_accounts); !saved.ok()) {
      Print(saved.message());
      co_return kExitFailed;
    }
  }
  if (failed > 0) {
    Print(std::to_string(failed) + " of " + std::to_string(wanted.size()) +
          " account(s) could not be created");
    co_return kExitFailed;
  }
  for (std::size_t i = 0; i < devs.size(); ++i) {
    history_.AddDeveloper(devs[i].name);
    devs_.emplace_back(io_.get_executor(), pool_, devs[i], options_.seed + i, positions_);
  }
  for (auto& m : mgrs) managers_.emplace_back(io_.get_executor(), pool_, m, positions_);
  co_return kExitOk;
}

asio::awaitable<Result<std::vector<core::Task>>> Simulator::ListAll(Client& client) {
  std::vector<core::Task> all;
  client::ListOptions list;
  list.state = core::TaskState::kAll;
  list.limit = kPageLimit;
  for (;;) {
    auto page = co_await client.ListTasks(list);
    if (!page.ok()) co_return page.status();
    for (auto& t : page->tasks) all.push_back(std::move(t));
    if (!page->next) break;
    list.after = *page->next;
  }
  co_return all;
}

asio::awaitable<Status> Simulator::ReadBaseline() {
  // What reused accounts already hold counts as acknowledged before the run; a fresh account
  // holds nothing, and reading it proves its token works.
  std::vector<Status> failures(devs_.size());
  co_await ForEach(static_cast<int>(devs_.size()), [&](int i) -> asio::awaitable<void> {
    auto tasks = co_await ListAll(devs_[i].client);
    if (!tasks.ok()) {
      failures[i] = tasks.status();
      co_return;
    }
    for (const auto& t : *tasks) history_.RecordExisting(i, t);
  });
  for (std::size_t i = 0; i < failures.size(); ++i) {
    if (!failures[i].ok()) {
      co_return Failure("cannot read the tasks of " + devs_[i].account.name, failures[i]);
    }
  }
  co_return Status::Ok();
}

asio::awaitable<void> Simulator::DevOperation(int i, DevOp op, Clock::time_point due) {
  Developer& dev = devs_[i];
  client::CallInfo info;
  ++in_flight_;
  switch (op) {
    case DevOp::kAdd: {
      std::string text = NewTaskText(dev);
      auto added = co_await dev.client.AddTask(text, &info);
      Status status = added.ok() ? Status::Ok() : added.status();
      stats_.Record(OpKind::kAdd, Since(due), status, info.attempts);
      history_.RecordAdd(i, std::move(text), OutcomeOf(status, info.http_status),
                         added.ok() ? added->id : 0);
      break;
    }
    case DevOp::kRemove: {
      auto removed = co_await dev.client.RemoveOldest(1, &info);
      Status status = removed.ok() ? Status::Ok() : removed.status();
      stats_.Record(OpKind::kRemove, Since(due), status, info.attempts);
      history_.RecordRemove(i, 1, OutcomeOf(status, info.http_status),
                            removed.ok() ? std::move(*removed) : std::vector<int64_t>{});
      break;
    }
    case DevOp::kList: {
      client::ListOptions list;
      list.limit = kListLimit;
      auto page = co_await dev.client.ListTasks(list, &info);
      Status status = page.ok() ? Status::Ok() : page.status();
      stats_.Record(OpKind::kList, Since(due), status, info.attempts);
      if (page.ok()) history_.RecordList(i, page->tasks);
      break;
    }
  }
  --in_flight_;
}

asio::awaitable<void> Simulator::DeveloperLoop(int i) {
  Developer& dev = devs_[i];
  const auto total = static_cast<uint64_t>(options_.mix.total());
  // Start at a random point of the first delay, so that N developers do not fire together.
  if (options_.delay.count() > 0) {
    co_await Sleep(dev.timer, Micros(static_cast<int64_t>(
                                  dev.rng() % static_cast<uint64_t>(options_.delay.count()))));
  }
  while (!stopping_) {
    DevOp op = options_.mix.Pick(dev.rng() % total);
    co_await DevOperation(i, op, Clock::now());
    if (stopping_) break;
    if (options_.delay.count() > 0) co_await Sleep(dev.timer, options_.delay);
  }
}

asio::awaitable<void> Simulator::Dispatcher() {
  // Open loop: arrival k is due at start + k/R whatever happened to the earlier ones, and its
  // latency counts from then; a server that falls behind shows as latency, not as fewer
  // requests (no coordinated omission).
  std::mt19937_64 rng(options_.seed ^ 0x9e3779b97f4a7c15ULL);
  const auto total = static_cast<uint64_t>(options_.mix.total());
  const auto start = Clock::now();
  for (int64_t k = 0; !stopping_; ++k) {
    auto due = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(static_cast<double>(k) / options_.rate));
    if (due > Clock::now()) {
      dispatch_timer_.expires_at(due);
      boost::system::error_code ec;
      co_await dispatch_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping_) break;
    }
    int i = static_cast<int>(rng() % devs_.size());
    DevOp op = options_.mix.Pick(devs_[i].rng() % total);
    Spawn(load_, DevOperation(i, op, due));
  }
}

asio::awaitable<void> Simulator::ManagerRound(Manager& m) {
  client::CallInfo info;
  auto start = Clock::now();
  auto users = co_await m.client.ListUsers(&info);
  stats_.Record(OpKind::kUsers, Since(start), users.ok() ? Status::Ok() : users.status(),
                info.attempts);

  // Every task of every user, page by page.
  client::ListOptions list;
  list.state = core::TaskState::kAll;
  list.limit = kPageLimit;
  while (!stopping_) {
    info = {};
    start = Clock::now();
    auto page = co_await m.client.ListTasks(list, &info);
    stats_.Record(OpKind::kAllTasks, Since(start), page.ok() ? Status::Ok() : page.status(),
                  info.attempts);
    if (!page.ok()) break;
    for (const auto& t : page->tasks) history_.RecordOwner(t.id, t.user);
    if (!page->next) break;
    list.after = *page->next;
  }

  // The change log from where this manager left it.
  for (int p = 0; p < kEventPagesPerRound && !stopping_; ++p) {
    info = {};
    start = Clock::now();
    auto page = co_await m.client.ListEvents(m.cursor, kPageLimit, &info);
    stats_.Record(OpKind::kEvents, Since(start), page.ok() ? Status::Ok() : page.status(),
                  info.attempts);
    if (!page.ok()) break;
    for (const auto& e : page->events) {
      if (e.kind == core::EventKind::kCreated) history_.RecordOwner(e.task_id, e.user);
      m.cursor = std::max(m.cursor, e.id);
    }
    if (!page->next || page->events.empty()) break;
  }
}

asio::awaitable<void> Simulator::ManagerLoop(int index) {
  Manager& m = managers_[index];
  if (options_.delay.count() > 0) {
    std::mt19937_64 rng(options_.seed + 1000003ULL * static_cast<uint64_t>(index + 1));
    co_await Sleep(m.timer, Micros(static_cast<int64_t>(
                                rng() % static_cast<uint64_t>(options_.delay.count()))));
  }
  while (!stopping_) {
    co_await ManagerRound(m);
    if (stopping_) break;
    if (options_.delay.count() > 0) co_await Sleep(m.timer, options_.delay);
  }
}

asio::awaitable<void> Simulator::Progress() {
  auto last = Clock::now();
  while (loading_) {
    progress_timer_.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await progress_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!loading_) break;
    auto now = Clock::now();
    Stats::Interval interval = stats_.TakeInterval();
    double seconds = std::chrono::duration<double>(now - last).count();
    last = now;
    char line[200];
    std::snprintf(line, sizeof line,
                  "[%7.1f s] %8.0f ops/s  errors %lld  p99 %.2f ms  in flight %d%s",
                  std::chrono::duration<double>(now - load_start_).count(),
                  seconds > 0 ? static_cast<double>(interval.ops) / seconds : 0.0,
                  static_cast<long long>(stats_.errors()),
                  static_cast<double>(interval.latency.Percentile(99)) / 1000.0,
                  in_flight_,
                  stopping_ ? "  (stopping)" : "");
    std::cerr << line << std::endl;
  }
}

asio::awaitable<void> Simulator::RunLoad() {
  loading_ = true;
  load_start_ = Clock::now();
  WaitGroup side(io_.get_executor());
  if (progress_) Spawn(side, Progress());
  if (options_.duration) {
    Spawn(side, [](Simulator& sim, Micros d) -> asio::awaitable<void> {
      co_await Sleep(sim.duration_timer_, d);
      sim.Stop();
    }(*this, *options_.duration));
  }
  if (options_.rate > 0) {
    Spawn(load_, Dispatcher());
  } else {
    for (int i = 0; i < static_cast<int>(devs_.size()); ++i) Spawn(load_, DeveloperLoop(i));
  }
  for (int m = 0; m < static_cast<int>(managers_.size()); ++m) Spawn(load_, ManagerLoop(m));
  co_await load_.Wait();
  loading_ = false;
  Stop();  // ends the duration timer
  progress_timer_.cancel();
  co_await side.Wait();
}

asio::awaitable<Status> Simulator::FinalRead(FinalState& final_state) {
  final_state.developers.assign(devs_.size(), {});
  std::vector<Status> failures(devs_.size());
  co_await ForEach(static_cast<int>(devs_.size()), [&](int i) -> asio::awaitable<void> {
    auto tasks = co_await ListAll(devs_[i].client);
    if (tasks.ok()) {
      final_state.developers[i] = std::move(*tasks);
    } else {
      failures[i] = tasks.status();
    }
  });
  for (std::size_t i = 0; i < failures.size(); ++i) {
    if (!failures[i].ok()) {
      co_return Failure("final read of " + devs_[i].account.name, failures[i]);
    }
  }
  // After the developers' reads: nothing writes any more, so both views are of one state.
  Client& reader = managers_.empty() ? admin_ : managers_.front().client;
  auto all = co_await ListAll(reader);
  if (!all.ok()) co_return Failure("final read of every task", all.status());
  final_state.manager = std::move(*all);
  co_return Status::Ok();
}

asio::awaitable<int> Simulator::Run() {
  if (int code = co_await SetUpAccounts(); code != kExitOk) co_return code;
  if (Status base = co_await ReadBaseline(); !base.ok()) {
    Print(base.ToString());
    co_return kExitFailed;
  }
  // The load's exchanges only: not the set-up's nor the final read's.
  pool_.OnExchange([this](std::chrono::microseconds time) { stats_.RecordExchange(time); });
  co_await RunLoad();
  pool_.OnExchange(nullptr);
  double elapsed = std::chrono::duration<double>(Clock::now() - load_start_).count();

  FinalState final_state;
  Status read = co_await FinalRead(final_state);
  std::optional<CheckReport> check;
  if (read.ok()) {
    check = CheckHistory(history_, final_state);
  } else {
    Print(read.ToString() + "; the history cannot be checked");
  }

  RunInfo info;
  info.server = options_.server;
  info.developers = static_cast<int>(devs_.size());
  info.managers = static_cast<int>(managers_.size());
  info.delay = FormatDuration(options_.delay);
  info.duration = options_.duration ? FormatDuration(*options_.duration) : "";
  info.mix = options_.mix.ToString();
  info.rate = options_.rate;
  info.seed = options_.seed;
  info.connections = options_.connections;
  info.prefix = options_.prefix;
  info.elapsed_seconds = elapsed;
  info.interrupted = interrupted_;
  const CheckReport* checked = check ? &*check : nullptr;
  if (options_.json) {
    std::cout << boost::json::serialize(JsonReport(info, stats_, checked)) << std::endl;
    if (checked) std::cerr << VerdictLine(*checked) << std::endl;
  } else {
    std::cout << TextReport(info, stats_, checked) << std::flush;
  }

  if (!first_fatal_.empty()) Print("an operation failed with an exception: " + first_fatal_);
  if (stats_.errors() > 0) {
    Print(std::to_string(stats_.errors()) + " operation(s) failed after retries");
  }
  bool ok = read.ok() && check->ok() && stats_.errors() == 0 && first_fatal_.empty();
  co_return ok ? kExitOk : kExitFailed;
}

}  // namespace

int RunSimulation(const SimOptions& options) {
  asio::io_context io(1);
  Simulator sim(io, options);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  int exit_code = kExitFailed;

  asio::co_spawn(
      io,
      [](asio::signal_set& set, Simulator& s) -> asio::awaitable<void> {
        for (;;) {
          boost::system::error_code ec;
          int signo = co_await set.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;  // cancelled: the run is over
          if (s.GracefulStop()) {
            std::cerr << "todo-sim: " << (signo == SIGINT ? "SIGINT" : "SIGTERM")
                      << ": stopping, letting operations in flight finish (again to quit now)"
                      << std::endl;
            continue;
          }
          std::cerr << "todo-sim: interrupted" << std::endl;
          std::_Exit(kExitInterrupted);
        }
      }(signals, sim),
      asio::detached);

  asio::co_spawn(io, sim.Run(), [&](std::exception_ptr e, int code) {
    exit_code = code;
    if (e) {
      exit_code = kExitFailed;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "todo-sim: fatal: " << ex.what() << std::endl;
      } catch (...) {
        std::cerr << "todo-sim: fatal: unknown exception" << std::endl;
      }
    }
    boost::system::error_code ignored;
    signals.cancel(ignored);
  });
  io.run();
  return exit_code;
}

}  // namespace todo::sim

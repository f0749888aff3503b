// TododProcess: a real `todod serve` running as a child process for black-box tests, with
// its stderr collected (the "listening on" line tells its port). The child gets SIGKILL if
// the thread that started it dies, so a crashed test leaves no server behind: start it from
// the test's main thread. Not thread-safe, except log() and WaitForLog(), which may be
// called while another thread talks to the server.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace todo::testing {

class TododProcess {
 public:
  // Runs BinPath("todod") with `args` (e.g. {"serve", "--listen", "127.0.0.1:0", ...}) and
  // waits up to 60 s for "todod: listening on http://HOST:PORT". On failure, records a test
  // failure (with the log) and returns nullptr.
  static std::unique_ptr<TododProcess> Start(const std::vector<std::string>& args,
                                             const std::map<std::string, std::string>& env = {});
  ~TododProcess();  // SIGKILL and reap if still running
  TododProcess(const TododProcess&) = delete;
  TododProcess& operator=(const TododProcess&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

  // Sends `signal`, waits up to `timeout` for the exit and returns the exit code (128 + N when
  // killed by signal N); -1 if it had to be killed after the timeout.
  int Stop(int signal = 15, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Sends a signal without waiting.
  void Signal(int signal);
  // Waits for the exit (up to `timeout`); exit code as Stop, -1 on timeout (still running).
  int Wait(std::chrono::milliseconds timeout);

  // Everything written to stderr so far.
  std::string log() const;
  // Waits until stderr contains `needle`.
  bool WaitForLog(std::string_view needle, std::chrono::milliseconds timeout) const;

 private:
  TododProcess() = default;
  void ReadStderr();

  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
  bool exited_ = false;
  int err_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::string log_;   // guarded by mu_
  bool eof_ = false;  // guarded by mu_
};

}  // namespace todo::testing

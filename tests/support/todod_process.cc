#include "support/todod_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "support/process.h"

extern char** environ;

namespace todo::testing {

std::unique_ptr<TododProcess> TododProcess::Start(const std::vector<std::string>& args,
                                                  const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) {
    if (v.empty()) {
      vars.erase(k);
    } else {
      vars[k] = v;
    }
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = {BinPath("todod")};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<TododProcess> p(new TododProcess());
  pid_t parent = getpid();
  // fork + exec rather than posix_spawn, to ask for SIGKILL when the test dies: a crashed
  // test must not leave servers behind. Only async-signal-safe calls between fork and exec.
  p->pid_ = fork();
  if (p->pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int null_in = open("/dev/null", O_RDONLY);
    int null_out = open("/dev/null", O_WRONLY);
    if (null_in < 0 || null_out < 0 || dup2(null_in, 0) < 0 || dup2(null_out, 1) < 0 ||
        dup2(err_pipe[1], 2) < 0) {
      _exit(127);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(err_pipe[1]);
  if (p->pid_ < 0) {
    close(err_pipe[0]);
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return nullptr;
  }
  p->err_fd_ = err_pipe[0];
  p->reader_ = std::thread([raw = p.get()] { raw->ReadStderr(); });

  constexpr std::string_view kListening = "todod: listening on http://";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::unique_lock lock(p->mu_);
  for (;;) {
    std::size_t at = p->log_.find(kListening);
    if (at != std::string::npos) {
      std::size_t eol = p->log_.find('\n', at);
      if (eol != std::string::npos) {
        std::string url = p->log_.substr(at + kListening.size(), eol - at - kListening.size());
        p->port_ = std::stoi(url.substr(url.rfind(':') + 1));
        return p;
      }
    }
    if (p->eof_ || p->changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (!p->eof_ && std::chrono::steady_clock::now() < deadline) continue;
      std::string log = p->log_;
      lock.unlock();
      ADD_FAILURE() << "todod did not start; its stderr:\n" << log;
      return nullptr;
    }
  }
}

void TododProcess::ReadStderr() {
  char buf[4096];
  for (;;) {
    ssize_t n = read(err_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mu_);
    if (n <= 0) {
      eof_ = true;
      changed_.notify_all();
      return;
    }
    log_.append(buf, static_cast<std::size_t>(n));
    changed_.notify_all();
  }
}

TododProcess::~TododProcess() {
  if (!exited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (reader_.joinable()) reader_.join();
  if (err_fd_ >= 0) close(err_fd_);
}

void TododProcess::Signal(int signal) {
  if (!exited_) kill(pid_, signal);
}

int TododProcess::Wait(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int TododProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  Signal(signal);
  int code = Wait(timeout);
  if (code == -1 && !exited_) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
    ADD_FAILURE() << "todod did not exit within " << timeout.count() << " ms of signal " << signal
                  << "; its stderr:\n"
                  << log();
    return -1;
  }
  return code;
}

std::string TododProcess::log() const {
  std::lock_guard lock(mu_);
  return log_;
}

bool TododProcess::WaitForLog(std::string_view needle, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] {
    return log_.find(needle) != std::string::npos || eof_;
  }) && log_.find(needle) != std::string::npos;
}

}  // namespace todo::testing

// Test support: run a real program (the todo binaries) as a child process and capture what
// it does, for black-box tests. Not thread-safe per object; distinct calls may run in
// parallel threads.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace todo::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number if killed by a signal
  std::string out;
  std::string err;
};

struct ProcessOptions {
  // Variables set (or, with an empty value, removed) on top of this process's environment.
  std::map<std::string, std::string> env;
  std::string stdin_data;
  std::string cwd;
};

// Runs `argv` (argv[0] is a path) to completion. Fails the current test (ADD_FAILURE) if it
// cannot be started.
ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// The path of a program built by this project, e.g. BinPath("todo").
std::string BinPath(const std::string& name);

// A fresh temporary directory, removed with its content when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);

}  // namespace todo::testing

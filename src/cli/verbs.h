// The CLI's verbs, one class each (the Taskwarrior pattern): a verb's metadata (name, the
// origin's alias, summary, whether it writes) drives help and dispatch, its options are its
// members, and Run does the work against a Backend. Verbs print results on `out`; they do
// not print errors: they return them, and main prints one line on stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <ostream>
#include <string_view>
#include <vector>

#include "cli/backend.h"

namespace todo::cli {

// Exit codes of the todo program.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation failed: not found, invalid task, ...
inline constexpr int kExitUsage = 2;   // the command line is wrong

class Verb {
 public:
  struct Info {
    std::string_view name;
    std::string_view alias;  // the origin's French name, or empty
    std::string_view summary;
    bool writes;
  };

  virtual ~Verb() = default;
  virtual Info info() const = 0;
  // Declares the verb's own options and arguments on its subcommand.
  virtual void AddOptions(CLI::App& command) = 0;
  // Checks the combination of options that CLI11 cannot express; an error is a usage error.
  virtual Status CheckUsage() const { return Status::Ok(); }
  virtual Status Run(Backend& backend, std::ostream& out) = 0;
};

// Every verb, in the order `todo --help` lists them.
std::vector<std::unique_ptr<Verb>> AllVerbs();

// "  42 [ ] alice       2026-11-29 08:15  buy milk" ([x] once done).
std::string FormatTaskLine(const core::Task& task);

}  // namespace todo::cli

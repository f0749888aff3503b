// todod's copy, backup and restore subcommands (their logic is in src/transfer).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace todo::todod {

class TransferCommands {
 public:
  // Adds `copy`, `backup` and `restore` to `app`.
  explicit TransferCommands(CLI::App& app);

  // If one of them was given on the command line: runs it and returns its exit code (0 ok,
  // 1 failure, the message on stderr). nullopt otherwise.
  std::optional<int> Run() const;

 private:
  struct Args;
  std::shared_ptr<Args> args_;
};

}  // namespace todo::todod

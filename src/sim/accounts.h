// The simulator's accounts: their names, and the file that keeps their tokens between runs
// (--reuse FILE), since a token can only be learnt when its account is created.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/task.h"

namespace todo::sim {

struct Account {
  std::string name;
  core::Role role = core::Role::kDeveloper;
  std::string token;

  friend bool operator==(const Account&, const Account&) = default;
};

// "<prefix>-dev0001" for index 0 (at least four digits), "<prefix>-mgr01" (at least two).
std::string DeveloperName(std::string_view prefix, int index);
std::string ManagerName(std::string_view prefix, int index);

// The account file: one "ROLE NAME TOKEN" line per account (role as RoleName spells it),
// lines starting with '#' and blank lines ignored. kInvalidArgument naming the first bad line
// (wrong field count, unknown role, invalid name, empty token, a name twice).
core::Result<std::vector<Account>> ParseAccounts(std::string_view text);
std::string FormatAccounts(const std::vector<Account>& accounts);

}  // namespace todo::sim

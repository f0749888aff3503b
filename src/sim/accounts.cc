#include "sim/accounts.h"

#include <cstdio>
#include <set>

#include "core/validate.h"

namespace todo::sim {
namespace {

std::string Numbered(std::string_view prefix, const char* kind, int width, int number) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%0*d", width, number);
  return std::string(prefix) + "-" + kind + digits;
}

}  // namespace

std::string DeveloperName(std::string_view prefix, int index) {
  return Numbered(prefix, "dev", 4, index + 1);
}

std::string ManagerName(std::string_view prefix, int index) {
  return Numbered(prefix, "mgr", 2, index + 1);
}

core::Result<std::vector<Account>> ParseAccounts(std::string_view text) {
  std::vector<Account> accounts;
  std::set<std::string, std::less<>> names;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string_view> fields;
    std::size_t pos = 0;
    while (pos < line.size()) {
      auto start = line.find_first_not_of(" \t", pos);
      if (start == std::string_view::npos) break;
      auto end = line.find_first_of(" \t", start);
      if (end == std::string_view::npos) end = line.size();
      fields.push_back(line.substr(start, end - start));
      pos = end;
    }
    if (fields.empty() || fields[0].starts_with('#')) continue;
    auto bad = [&](const std::string& why) {
      return core::Status::InvalidArgument("account file line " + std::to_string(line_no) +
                                           ": " + why);
    };
    if (fields.size() != 3) return bad("expected 'ROLE NAME TOKEN'");
    auto role = core::ParseRole(fields[0]);
    if (!role.ok()) return bad("unknown role '" + std::string(fields[0]) + "'");
    if (auto valid = core::ValidateUserName(fields[1]); !valid.ok()) return bad(valid.message());
    if (!names.insert(std::string(fields[1])).second) {
      return bad("account '" + std::string(fields[1]) + "' given twice");
    }
    accounts.push_back(Account{std::string(fields[1]), *role, std::string(fields[2])});
  }
  return accounts;
}

std::string FormatAccounts(const std::vector<Account>& accounts) {
  std::string out =
      "# todo-sim accounts: ROLE NAME TOKEN. The tokens are secrets: keep this file private.\n";
  for (const auto& a : accounts) {
    out += std::string(core::RoleName(a.role)) + " " + a.name + " " + a.token + "\n";
  }
  return out;
}

}  // namespace todo::sim

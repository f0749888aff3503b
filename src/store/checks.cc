#include "store/checks.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace todo::store {

core::Status TaskNotFound(int64_t id) {
  return core::Status::NotFound("task " + std::to_string(id) + " not found");
}

core::Status CheckCanWrite(const Actor& actor) {
  if (core::CanWriteTasks(actor.role)) return core::Status::Ok();
  return core::Status::PermissionDenied("a " + std::string(core::RoleName(actor.role)) +
                                        " cannot write tasks; only developers write their own");
}

core::Status CheckLimit(int limit) {
  if (limit >= 1 && limit <= kMaxPageLimit) return core::Status::Ok();
  return core::Status::InvalidArgument("limit must be between 1 and " +
                                       std::to_string(kMaxPageLimit) + ", not " +
                                       std::to_string(limit));
}

core::Status CheckAfter(int64_t after) {
  if (after >= 0) return core::Status::Ok();
  return core::Status::InvalidArgument("after must not be negative");
}

core::Result<std::string> ListedUser(const Actor& actor, const TaskQuery& query) {
  if (core::Status s = CheckLimit(query.limit); !s.ok()) return s;
  if (core::Status s = CheckAfter(query.after); !s.ok()) return s;
  if (core::CanReadAll(actor.role) || query.user == actor.name) return query.user;
  if (query.user.empty()) return actor.name;
  return core::Status::PermissionDenied("a developer lists only their own tasks");
}

core::Status CheckPosition(std::string_view position) {
  auto hex_part = [](std::string_view part) {
    return !part.empty() && part.size() <= 8 &&
           std::all_of(part.begin(), part.end(), [](char c) { return std::isxdigit(c) != 0; });
  };
  std::size_t slash = position.find('/');
  if (slash != std::string_view::npos && hex_part(position.substr(0, slash)) &&
      hex_part(position.substr(slash + 1))) {
    return core::Status::Ok();
  }
  return core::Status::InvalidArgument(
      "a position is two hexadecimal numbers separated by '/', like 16/B374D848, as a write's "
      "Todo-Position header gives it");
}

}  // namespace todo::store

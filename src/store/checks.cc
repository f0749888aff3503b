#include "store/checks.h"

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

}  // namespace todo::store

// Checks every Store implementation makes before touching its database, in one place so that
// SQLite and PostgreSQL refuse the same inputs with the same messages. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/store.h"

namespace todo::store {

// "task 7 not found": also the answer for another user's task, so ids are not revealed.
core::Status TaskNotFound(int64_t id);
// Only developers write tasks (their own).
core::Status CheckCanWrite(const Actor& actor);
// A page limit within 1..kMaxPageLimit.
core::Status CheckLimit(int limit);
// A keyset cursor: not negative.
core::Status CheckAfter(int64_t after);
// Checks a listing request (limit, after, who may list whom) and returns whose tasks it
// lists: the named user, the developer's own name when none is named, or "" for every
// user's (managers and admins naming nobody). kPermissionDenied if a developer names
// another user.
core::Result<std::string> ListedUser(const Actor& actor, const TaskQuery& query);
// A commit position as Written::position gives them: a PostgreSQL WAL position, two
// hexadecimal numbers of 1 to 8 digits separated by '/' ("16/B374D848").
core::Status CheckPosition(std::string_view position);

}  // namespace todo::store

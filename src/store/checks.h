// Checks every Store implementation makes before touching its database, in one place so that
// SQLite and PostgreSQL refuse the same inputs with the same messages. Pure functions.
#pragma once

#include <cstdint>
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
// A commit position as Written::position gives them: a PostgreSQL WAL position, two
// hexadecimal numbers of 1 to 8 digits separated by '/' ("16/B374D848").
core::Status CheckPosition(std::string_view position);

}  // namespace todo::store

// Input validation shared by every entry point (CLI, HTTP, import), so that a task or a
// name that one path accepts is accepted by all. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/status.h"

namespace todo::core {

inline constexpr std::size_t kMaxTaskBytes = 4096;
inline constexpr std::size_t kMaxUserNameBytes = 64;

// A task text is 1 to 4096 bytes of valid UTF-8 (no overlongs, no surrogates), not only
// whitespace, with no control characters (U+0000..U+001F, U+007F) other than tab.
// Returns kInvalidArgument with a message naming the first problem.
Status ValidateTaskText(std::string_view text);

// True if `text` is well-formed UTF-8.
bool IsValidUtf8(std::string_view text);

// A user (account) name: 1 to 64 bytes of ASCII letters, digits, '.', '_' and '-',
// starting with a letter or digit.
Status ValidateUserName(std::string_view name);

}  // namespace todo::core

#include "core/validate.h"

#include <string>

namespace todo::core {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if malformed. Rejects
// overlong forms, surrogates (U+D800..U+DFFF) and code points above U+10FFFF.
std::size_t DecodeOne(std::string_view s, std::size_t i, char32_t& cp) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c0 = b(0);
  if (c0 < 0x80) {
    cp = c0;
    return 1;
  }
  std::size_t len;
  char32_t min;
  if ((c0 & 0xE0) == 0xC0) {
    len = 2, cp = c0 & 0x1F, min = 0x80;
  } else if ((c0 & 0xF0) == 0xE0) {
    len = 3, cp = c0 & 0x0F, min = 0x800;
  } else if ((c0 & 0xF8) == 0xF0) {
    len = 4, cp = c0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool IsUnicodeSpace(char32_t cp) {
  switch (cp) {
    case ' ': case '\t': case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000: case 0xFEFF:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200B;
  }
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  char32_t cp;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = DecodeOne(text, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

Status ValidateTaskText(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("task is empty");
  if (text.size() > kMaxTaskBytes) {
    return Status::InvalidArgument("task is " + std::to_string(text.size()) +
                                   " bytes, the limit is " + std::to_string(kMaxTaskBytes));
  }
  bool only_space = true;
  char32_t cp;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = DecodeOne(text, i, cp);
    if (n == 0) {
      return Status::InvalidArgument("task is not valid UTF-8 (bad byte at offset " +
                                     std::to_string(i) + ")");
    }
    if ((cp < 0x20 && cp != '\t') || cp == 0x7F) {
      return Status::InvalidArgument("task contains a control character at offset " +
                                     std::to_string(i) + " (tasks are one line)");
    }
    if (!IsUnicodeSpace(cp)) only_space = false;
    i += n;
  }
  if (only_space) return Status::InvalidArgument("task is only whitespace");
  return Status::Ok();
}

Status ValidateUserName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("user name is empty");
  if (name.size() > kMaxUserNameBytes) {
    return Status::InvalidArgument("user name is longer than " +
                                   std::to_string(kMaxUserNameBytes) + " bytes");
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0])) {
    return Status::InvalidArgument("user name '" + std::string(name) +
                                   "' must start with a letter or digit");
  }
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') {
      return Status::InvalidArgument("user name '" + std::string(name) +
                                     "' may hold only letters, digits, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

}  // namespace todo::core

#include "sim/duration.h"

#include <cstdint>

namespace todo::sim {
namespace {

constexpr int64_t kMaxMicros = int64_t{366} * 24 * 3600 * 1000 * 1000;

// Micros per unit, or 0 for a unit we do not know.
int64_t UnitMicros(std::string_view unit) {
  if (unit.empty() || unit == "s") return 1000 * 1000;
  if (unit == "ms") return 1000;
  if (unit == "us") return 1;
  if (unit == "m") return 60 * 1000 * 1000;
  if (unit == "h") return int64_t{3600} * 1000 * 1000;
  return 0;
}

core::Status Bad(std::string_view text, std::string_view why) {
  return core::Status::InvalidArgument("invalid duration '" + std::string(text) + "': " +
                                       std::string(why) +
                                       " (write e.g. 1s, 250ms, 1.5s, 2m or 0)");
}

}  // namespace

core::Result<Micros> ParseDuration(std::string_view text) {
  // Digits and at most one point, parsed by hand: no locale, no exponents, no signs.
  std::size_t i = 0;
  int64_t whole = 0;
  bool any_digit = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    whole = whole * 10 + (text[i] - '0');
    if (whole > kMaxMicros) return Bad(text, "too long");
    any_digit = true;
    ++i;
  }
  // The fraction is kept as numerator/denominator, at most 6 digits (microsecond precision
  // once multiplied by the smallest unit worth a fraction, the second).
  int64_t frac = 0;
  int64_t frac_scale = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    bool frac_digit = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (frac_scale < 1000 * 1000) {
        frac = frac * 10 + (text[i] - '0');
        frac_scale *= 10;
      }
      frac_digit = true;
      ++i;
    }
    if (!frac_digit) return Bad(text, "a point must be followed by digits");
    any_digit = true;
  }
  if (!any_digit) return Bad(text, "no number");
  int64_t unit = UnitMicros(text.substr(i));
  if (unit == 0) return Bad(text, "unknown unit '" + std::string(text.substr(i)) + "'");
  if (whole > kMaxMicros / unit) return Bad(text, "too long");
  int64_t micros = whole * unit + frac * unit / frac_scale;
  if (micros > kMaxMicros) return Bad(text, "too long");
  return Micros(micros);
}

std::string FormatDuration(Micros d) {
  int64_t us = d.count();
  if (us == 0) return "0";
  auto with_unit = [](int64_t value, int64_t unit, const char* suffix) {
    std::string out = std::to_string(value / unit);
    if (int64_t rest = value % unit; rest != 0) {
      std::string digits = std::to_string(rest);
      std::string frac = std::string(std::to_string(unit).size() - 1 - digits.size(), '0') + digits;
      while (frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    return out + suffix;
  };
  if (us % 1000 != 0) return std::to_string(us) + "us";
  if (us < 1000 * 1000) return std::to_string(us / 1000) + "ms";
  if (us % (60 * 1000 * 1000) == 0 && us >= 60 * 1000 * 1000) {
    return std::to_string(us / (60 * 1000 * 1000)) + "m";
  }
  return with_unit(us, 1000 * 1000, "s");
}

}  // namespace todo::sim

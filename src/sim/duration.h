// Durations as the simulator's command line spells them: "1s", "250ms", "0", "1.5s", "2m".
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/status.h"

namespace todo::sim {

using Micros = std::chrono::microseconds;

// A non-negative decimal number followed by an optional unit: "us", "ms", "s", "m" or "h".
// A bare number is seconds ("3" is three seconds; "0" is zero). Whitespace, signs, exponents,
// a missing number, an unknown unit and values over a year are kInvalidArgument.
core::Result<Micros> ParseDuration(std::string_view text);

// The shortest exact spelling in the largest unit that keeps it short: "1s", "250ms", "1.5s",
// "0". ParseDuration(FormatDuration(d)) == d for whole microseconds.
std::string FormatDuration(Micros d);

}  // namespace todo::sim

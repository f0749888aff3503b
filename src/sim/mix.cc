#include "sim/mix.h"

namespace todo::sim {
namespace {

core::Status Bad(std::string_view text, std::string_view why) {
  return core::Status::InvalidArgument("invalid mix '" + std::string(text) + "': " +
                                       std::string(why) +
                                       " (write e.g. add=45,remove=45,list=10)");
}

}  // namespace

std::string_view DevOpName(DevOp op) {
  switch (op) {
    case DevOp::kAdd: return "add";
    case DevOp::kRemove: return "remove";
    case DevOp::kList: return "list";
  }
  return "?";
}

DevOp Mix::Pick(uint64_t r) const {
  for (int i = 0; i < kDevOpCount; ++i) {
    auto w = static_cast<uint64_t>(weights[i]);
    if (r < w) return static_cast<DevOp>(i);
    r -= w;
  }
  // Out of range: the last operation that can be picked at all.
  for (int i = kDevOpCount - 1; i > 0; --i) {
    if (weights[i] > 0) return static_cast<DevOp>(i);
  }
  return DevOp::kAdd;
}

std::string Mix::ToString() const {
  std::string out;
  for (int i = 0; i < kDevOpCount; ++i) {
    if (i > 0) out += ',';
    out += std::string(DevOpName(static_cast<DevOp>(i))) + "=" + std::to_string(weights[i]);
  }
  return out;
}

core::Result<Mix> ParseMix(std::string_view text) {
  constexpr int64_t kMaxWeight = 1000000;
  Mix mix;
  mix.weights = {0, 0, 0};
  std::array<bool, kDevOpCount> seen{};
  if (text.empty()) return Bad(text, "empty");
  std::string_view rest = text;
  for (;;) {
    auto comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) return Bad(text, "'" + std::string(part) + "' lacks '='");
    std::string_view name = part.substr(0, eq);
    std::string_view value = part.substr(eq + 1);
    int index = -1;
    for (int i = 0; i < kDevOpCount; ++i) {
      if (name == DevOpName(static_cast<DevOp>(i))) index = i;
    }
    if (index < 0) return Bad(text, "unknown operation '" + std::string(name) + "'");
    if (seen[index]) return Bad(text, "'" + std::string(name) + "' given twice");
    seen[index] = true;
    if (value.empty() || value.size() > 7 ||
        value.find_first_not_of("0123456789") != std::string_view::npos) {
      return Bad(text, "weight '" + std::string(value) + "' is not a whole number");
    }
    int64_t weight = std::stoll(std::string(value));
    if (weight > kMaxWeight) return Bad(text, "weight over 1000000");
    mix.weights[index] = weight;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (mix.total() == 0) return Bad(text, "every weight is 0");
  return mix;
}

}  // namespace todo::sim

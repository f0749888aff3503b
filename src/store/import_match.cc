#include "store/import_match.h"

#include <algorithm>
#include <compare>
#include <map>
#include <optional>

#include "core/task.h"

namespace todo::store {
namespace {

int64_t FloorTo(int64_t ms, int64_t precision) {
  int64_t rest = ms % precision;
  if (rest < 0) rest += precision;
  return ms - rest;
}

// What an imported item is matched on: its text and, when the file gave a creation time,
// the interval [floor, floor + precision) that time falls into.
struct ImportKey {
  std::string_view text;
  std::optional<int64_t> floor;
  int64_t precision = 1;
  auto operator<=>(const ImportKey&) const = default;
};

}  // namespace

std::vector<const ImportItem*> ItemsToAdd(
    const std::vector<ImportItem>& items,
    std::unordered_map<std::string_view, std::vector<int64_t>>& existing) {
  for (auto& [text, times] : existing) std::sort(times.begin(), times.end());
  std::map<ImportKey, int64_t> unmatched;
  std::vector<const ImportItem*> to_add;
  for (const ImportItem& item : items) {
    ImportKey key{.text = item.text, .floor = std::nullopt, .precision = item.precision.count()};
    if (item.created) key.floor = FloorTo(core::ToMillis(*item.created), key.precision);
    auto [it, fresh] = unmatched.try_emplace(key, 0);
    if (fresh) {
      auto found = existing.find(item.text);
      if (found != existing.end()) {
        const std::vector<int64_t>& times = found->second;
        if (!key.floor) {
          it->second = static_cast<int64_t>(times.size());
        } else {
          auto first = std::lower_bound(times.begin(), times.end(), *key.floor);
          auto last = std::lower_bound(first, times.end(), *key.floor + key.precision);
          it->second = last - first;
        }
      }
    }
    if (it->second > 0) {
      --it->second;
      continue;
    }
    to_add.push_back(&item);
  }
  return to_add;
}

}  // namespace todo::store

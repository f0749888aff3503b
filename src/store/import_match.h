// The multiset rule of Store::ImportTasks (docs/decisions/0003), shared by both stores: which
// items of a file to add, given the tasks the user already has. Pure.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/store.h"

namespace todo::store {

// The items of `items` to add, in file order. `existing` holds, for each text the file names,
// the creation times (ms) of the user's tasks with that text, as they were before the
// import (it is sorted in place). For each key (text, and the creation time rounded down to
// the item's precision when the item has one), the first items are matched by existing
// tasks of that key; the rest are added.
std::vector<const ImportItem*> ItemsToAdd(
    const std::vector<ImportItem>& items,
    std::unordered_map<std::string_view, std::vector<int64_t>>& existing);

}  // namespace todo::store

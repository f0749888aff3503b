// The stores the conformance suite runs against. Every case of store_conformance_test.cc runs
// once per backend listed by Backends(), so a new Store implementation gets the whole suite
// by adding one entry there.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "core/status.h"

namespace todo::core {
// Error codes by name ("not_found") in GoogleTest failure messages. Here, in the one header
// every test file of the suite includes, so all of them print codes the same way.
inline void PrintTo(ErrorCode code, std::ostream* os) { *os << ErrorCodeName(code); }
}  // namespace todo::core

namespace todo::store::conformance {

struct StoreBackend {
  std::string name;  // a test-name suffix: letters, digits, '_'
  // The URL (for OpenStore) of a new, empty store of this kind. Each call is a new store.
  std::function<std::string()> fresh_location;
  // Deletes what fresh_location created, once the test closed its stores. May be empty.
  std::function<void(const std::string& location)> discard;
};

// SQLite always; PostgreSQL when TODO_TEST_PG_URL names a server (see store_backend.cc).
std::vector<StoreBackend> Backends();

}  // namespace todo::store::conformance

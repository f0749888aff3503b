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
  // Why this backend cannot run now ("" when it can): its cases are then skipped.
  std::function<std::string()> unavailable;
};

// SQLite, and PostgreSQL, which runs when TODO_TEST_PG_URL names a server and is skipped
// otherwise (see store_backend.cc). Both are always listed: CTest learns the cases when the
// suite is built, before scripts/test starts the server.
std::vector<StoreBackend> Backends();

}  // namespace todo::store::conformance

// Authentication: bearer tokens, their hashes, and the per-loop cache of who a token is.
//
// A token is "todo_" followed by 64 lowercase hex digits: 256 random bits from libsodium.
// Only its SHA-256 (hex) is stored (store::Account::token_hash), so a leaked database does
// not leak working tokens. A request's token is hashed, looked up (cache, then
// Store::FindAccountByTokenHash) and the stored hash compared in constant time.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"
#include "server/store_gate.h"
#include "store/store.h"

namespace todo::server {

using core::Result;
using core::Status;

inline constexpr std::string_view kTokenPrefix = "todo_";
inline constexpr std::size_t kTokenBytes = 32;  // 256 bits

// A fresh random token. Thread-safe.
std::string GenerateToken();
// Whether `token` has the shape GenerateToken gives ("todo_" + 64 lowercase hex digits).
bool IsWellFormedToken(std::string_view token);
// The stored form of a token: SHA-256, 64 lowercase hex digits.
std::string HashToken(std::string_view token);
// SHA-256 (lowercase hex) of the concatenation of `parts`.
std::string Sha256Hex(std::initializer_list<std::string_view> parts);
// Constant-time equality of two hashes (false when lengths differ).
bool HashesEqual(std::string_view a, std::string_view b);

// The token of an "Authorization: Bearer <token>" header value (scheme case-insensitive).
// kUnauthenticated when the header is empty, of another scheme, or has no token.
Result<std::string_view> ParseBearer(std::string_view authorization);

// token hash -> account, for `ttl` after the store answered, at most `max_entries` entries
// (when full it is emptied: simpler than LRU, and a refill costs one lookup per token).
// Unknown tokens are not cached, so an account works as soon as it is created. Not
// thread-safe: each event loop owns one, so the hot path takes no lock.
class TokenCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TokenCache(Clock::duration ttl = std::chrono::seconds(10),
                      std::size_t max_entries = 10000)
      : ttl_(ttl), max_entries_(max_entries) {}

  // The cached account for `token_hash`, or nullptr if absent or expired.
  const store::Account* Find(const std::string& token_hash, Clock::time_point now);
  void Put(const std::string& token_hash, store::Account account, Clock::time_point now);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    store::Account account;
    Clock::time_point expires;
  };
  Clock::duration ttl_;
  std::size_t max_entries_;
  std::unordered_map<std::string, Entry> entries_;
};

// Who sends a request: the Actor behind its Authorization header. kUnauthenticated (401)
// for a missing, malformed or unknown token; kUnavailable when the store cannot answer.
// Runs on the caller's event loop; `cache` must be that loop's.
asio::awaitable<Result<store::Actor>> Authenticate(StoreGate& gate, TokenCache& cache,
                                                   std::string_view authorization);

}  // namespace todo::server

#include "server/auth.h"

#include <sodium.h>

#include <array>
#include <cstdlib>

namespace todo::server {
namespace {

// libsodium must be initialized once before its random generator is used; sodium_init is
// idempotent and thread-safe, and a function-local static runs it exactly once.
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no secure randomness: refuse to make tokens
}

std::string Hex(const unsigned char* data, std::size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string GenerateToken() {
  EnsureSodium();
  std::array<unsigned char, kTokenBytes> bytes;
  randombytes_buf(bytes.data(), bytes.size());
  std::string token(kTokenPrefix);
  token += Hex(bytes.data(), bytes.size());
  sodium_memzero(bytes.data(), bytes.size());
  return token;
}

bool IsWellFormedToken(std::string_view token) {
  if (!token.starts_with(kTokenPrefix)) return false;
  std::string_view hex = token.substr(kTokenPrefix.size());
  if (hex.size() != kTokenBytes * 2) return false;
  for (char c : hex) {
    if (!IsLowerHex(c)) return false;
  }
  return true;
}

std::string Sha256Hex(std::initializer_list<std::string_view> parts) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  for (std::string_view p : parts) {
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(p.data()), p.size());
  }
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest;
  crypto_hash_sha256_final(&state, digest.data());
  return Hex(digest.data(), digest.size());
}

std::string HashToken(std::string_view token) { return Sha256Hex({token}); }

bool HashesEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string_view> ParseBearer(std::string_view authorization) {
  if (authorization.empty()) return Status::Unauthenticated("missing Authorization: Bearer token");
  constexpr std::string_view kScheme = "bearer";
  bool scheme_ok = authorization.size() > kScheme.size() &&
                   (authorization[kScheme.size()] == ' ' || authorization[kScheme.size()] == '\t');
  for (std::size_t i = 0; scheme_ok && i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    scheme_ok = c == kScheme[i];
  }
  if (!scheme_ok) return Status::Unauthenticated("Authorization must use the Bearer scheme");
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return Status::Unauthenticated("missing bearer token");
  return token;
}

const store::Account* TokenCache::Find(const std::string& token_hash, Clock::time_point now) {
  auto it = entries_.find(token_hash);
  if (it == entries_.end()) return nullptr;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return nullptr;
  }
  return &it->second.account;
}

void TokenCache::Put(const std::string& token_hash, store::Account account, Clock::time_point now) {
  if (entries_.size() >= max_entries_ && !entries_.contains(token_hash)) entries_.clear();
  entries_[token_hash] = Entry{std::move(account), now + ttl_};
}

asio::awaitable<Result<store::Actor>> Authenticate(StoreGate& gate, TokenCache& cache,
                                                   std::string_view authorization) {
  Result<std::string_view> token = ParseBearer(authorization);
  if (!token.ok()) co_return token.status();
  // Tokens of another shape were never issued: refuse them without a database round trip.
  if (!IsWellFormedToken(*token)) co_return Status::Unauthenticated("unknown token");
  std::string hash = HashToken(*token);
  if (const store::Account* cached = cache.Find(hash, TokenCache::Clock::now())) {
    co_return store::Actor{cached->name, cached->role};
  }
  // A named awaitable, not a lambda temporary inside co_await (see store_gate.h).
  auto call = gate.Call([hash](store::Store& s) { return s.FindAccountByTokenHash(hash); });
  Result<store::Account> account = co_await std::move(call);
  if (!account.ok()) {
    if (account.status().code() == core::ErrorCode::kUnauthenticated ||
        account.status().code() == core::ErrorCode::kNotFound) {
      co_return Status::Unauthenticated("unknown token");
    }
    co_return account.status();
  }
  if (!HashesEqual(account->token_hash, hash)) co_return Status::Unauthenticated("unknown token");
  store::Actor actor{account->name, account->role};
  cache.Put(hash, std::move(*account), TokenCache::Clock::now());
  co_return actor;
}

}  // namespace todo::server

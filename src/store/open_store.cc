// OpenStore: picks the Store implementation a URL names (store.h).
#include <cctype>
#include <string>

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace todo::store {
namespace {

// True if `url` starts with a URL scheme ("name:"): a letter, then letters, digits, '+', '-'
// or '.'. A single letter is not taken for a scheme, so "C:..." stays a path.
bool HasScheme(std::string_view url, std::string_view& scheme) {
  std::size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon < 2) return false;
  if (!std::isalpha(static_cast<unsigned char>(url[0]))) return false;
  for (std::size_t i = 1; i < colon; ++i) {
    auto c = static_cast<unsigned char>(url[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  scheme = url.substr(0, colon);
  return true;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenStore(std::string_view url, const OpenOptions& options) {
  std::string_view path = url;
  if (std::string_view scheme; HasScheme(url, scheme)) {
    if (scheme == "postgresql" || scheme == "postgres") {
      return OpenPostgresStore(url, options);
    }
    if (scheme != "sqlite") {
      return Status::InvalidArgument("unknown store scheme '" + std::string(scheme) +
                                     ":' (use sqlite:PATH, a file path, or postgresql://...)");
    }
    path = url.substr(scheme.size() + 1);
    // "sqlite:///abs/path.db" and "sqlite://rel.db", the URL-like spellings, mean the same
    // as "sqlite:/abs/path.db" and "sqlite:rel.db".
    if (path.starts_with("//")) path.remove_prefix(2);
  }
  auto store = SqliteStore::Open(std::string(path), options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(store).value());
}

}  // namespace todo::store

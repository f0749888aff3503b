// The PostgreSQL Store: many todod servers over one database.
//
// Raw libpq in non-blocking pipeline mode, on Asio event loops: one small pool of connections
// per loop (OpenOptions::loops, pool_per_loop connections each), so a call made from one of
// those loops runs on that loop, on that thread, without any hand-off; a call from any other
// executor (RunSync's private io_context, a test's thread) is carried to one of the store's
// loops and its result posted back to the caller's executor. With no loops given, the store
// runs one loop on a thread of its own.
//
// Each request is one round trip where it can be: its statements (a write is one statement,
// a data-modifying CTE; a write that changes existing tasks is preceded by a per-user lock)
// are sent together with one Sync, and the transaction commits at that Sync. Writes that
// arrive while every connection of their loop is busy go together, in one transaction (group
// commit: one commit, one WAL flush for the lot; pg_batch.h). A write with an
// Idempotency-Key takes two round trips in a transaction of its own (claim + write, then
// record the answer + COMMIT): its answer is rendered by the caller's function between them.
// Schema, SQL and locking: pg_schema.h and pg_sql.h.
//
// Failures: a database that cannot be reached, a connection that breaks, or a request that
// takes longer than kRequestTimeout give kUnavailable, never a hang; broken connections are
// dropped and reopened by the next request, so the store heals when the database returns.
//
// Thread-safety: as Store. The loops in OpenOptions must each be run by exactly one thread
// and must outlive the store.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "core/status.h"
#include "store/store.h"

namespace todo::store {

// The longest one call may take, waiting for a connection included; then kUnavailable.
inline constexpr std::chrono::seconds kPostgresRequestTimeout{5};

// Opens the PostgreSQL store at `url` ("postgresql://..." or "postgres://...", or a libpq
// key=value string). Connects once to check the server answers, then applies pending
// migrations (options.migrate) or checks that the schema is current (otherwise). The pools'
// connections open lazily, on first use. kInvalidArgument if libpq cannot parse the URL;
// kUnavailable if the server cannot be reached (within ~3 s) or, without options.migrate,
// migrations are pending; kInternal if a migration fails or the schema is newer than this
// program.
core::Result<std::unique_ptr<Store>> OpenPostgresStore(std::string_view url,
                                                       const OpenOptions& options);

}  // namespace todo::store

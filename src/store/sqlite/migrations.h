// The SQLite schema, as numbered migrations, and the code that applies them on open.
//
// Migration N (1-based) is kMigrations[N - 1]. The number of the last one applied is kept in
// the file's `PRAGMA user_version`. Migrations are append-only: never edit one that has
// shipped; add the next one. Times are INTEGER milliseconds since the Unix epoch, UTC.
#pragma once

#include <array>

#include "core/status.h"

namespace todo::store {

class Connection;

// 1: the origin's `element` table (names kept) and everything todo adds around it.
inline constexpr char kMigration1[] = R"sql(
CREATE TABLE element (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids of removed tasks never come back
  td_user TEXT NOT NULL,
  init_time INTEGER NOT NULL,
  last_update_time INTEGER NOT NULL,
  done_time INTEGER,                     -- NULL while the task is open
  task TEXT NOT NULL
);
-- A user's tasks in id order (state=all, imports).
CREATE INDEX element_user_id ON element (td_user, id);
-- A user's open tasks in id order (the default listing, remove-oldest). Partial indexes
-- keep the open and the done pages index-only ranges, with no sort.
CREATE INDEX element_user_open ON element (td_user, id) WHERE done_time IS NULL;
-- A user's done tasks in id order.
CREATE INDEX element_user_done ON element (td_user, id) WHERE done_time IS NOT NULL;

-- Accounts; only a hash of each token is stored.
CREATE TABLE account (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('developer', 'manager', 'admin')),
  token_hash TEXT UNIQUE,                -- NULL: no token yet
  created INTEGER NOT NULL
);

-- Per-user counters, updated in the transaction of every task write, so that the users
-- list never counts `element` rows.
CREATE TABLE tally (
  td_user TEXT PRIMARY KEY,
  open_count INTEGER NOT NULL,
  done_count INTEGER NOT NULL,
  last_update_time INTEGER NOT NULL
) WITHOUT ROWID;

-- The append-only change log: one row per created, edited, done, undone, removed.
CREATE TABLE event (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids only grow: a feed resumes after the last seen
  at INTEGER NOT NULL,
  td_user TEXT NOT NULL,                 -- owner of the task
  actor TEXT NOT NULL,                   -- who made the change
  kind TEXT NOT NULL CHECK (kind IN ('created', 'edited', 'done', 'undone', 'removed')),
  task_id INTEGER NOT NULL,
  task TEXT NOT NULL                     -- the text after the change (removed: as it was)
);
-- A developer's own change log in id order.
CREATE INDEX event_user_id ON event (td_user, id);

-- Idempotency records: the recorded answer of each (user, Idempotency-Key).
CREATE TABLE request (
  td_user TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,             -- hash of method, path and body
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (td_user, key)
) WITHOUT ROWID;
-- Purging records older than their retention.
CREATE INDEX request_at ON request (at);
)sql";

// 2: room for answers recorded as data (store/recorded.h). This store records rendered
// answers in `body`, but a copy from PostgreSQL brings records whose answer is in `result`.
inline constexpr char kMigration2[] = R"sql(
ALTER TABLE request ADD COLUMN result TEXT;
)sql";

inline constexpr std::array<const char*, 2> kMigrations = {kMigration1, kMigration2};

// Brings the file's schema up to date: in one write transaction (BEGIN IMMEDIATE, so that
// several processes opening a new file at once apply each migration exactly once), reads
// user_version, runs the missing migrations in order and records the new version.
// kInternal if a migration fails or the file has a newer schema than this program knows;
// kUnavailable if the database stays locked or cannot be written.
core::Status Migrate(Connection& db);

// For a caller told not to migrate (OpenOptions::migrate false): OK if the schema is exactly
// the one this program knows; kUnavailable if migrations are pending (run them first, e.g.
// `todod migrate`); kInternal if the file's schema is newer than this program.
core::Status CheckSchema(Connection& db);

}  // namespace todo::store

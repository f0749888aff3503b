// The PostgreSQL schema `todo`, as numbered migrations, and the code that applies them when a
// store opens.
//
// Migration N (1-based) is kMigrations[N - 1]; the numbers applied are rows of
// todo.schema_migrations. Migrations are append-only: never edit one that has shipped; add
// the next one. Several servers may open one database at once: the whole check-and-apply
// runs in one transaction under pg_advisory_xact_lock, so each migration runs exactly once.
//
// Times are timestamptz truncated to the millisecond (docs/decisions/0004); the SQL reads
// and writes them as bigint milliseconds since the Unix epoch through todo.ms() and
// todo.at_ms(), so no text timestamp is ever parsed.
#pragma once

#include <libpq-fe.h>

#include <array>

#include "core/status.h"

namespace todo::store::pg {

// 1: the origin's `element` table (names kept) and everything todo adds around it.
inline constexpr char kMigration1[] = R"sql(
-- Milliseconds since the epoch <-> timestamptz, exact both ways for millisecond values.
-- STABLE, like the functions they call, so that the planner inlines them.
CREATE FUNCTION todo.ms(t timestamptz) RETURNS bigint
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  RETURN (extract(epoch FROM t) * 1000)::bigint;
CREATE FUNCTION todo.at_ms(ms bigint) RETURNS timestamptz
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  RETURN timestamptz '1970-01-01 00:00:00+00' + ms * interval '1 millisecond';

CREATE TABLE todo.element (
  -- An identity never hands out an id twice: ids of removed tasks never come back.
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  td_user text NOT NULL,
  init_time timestamptz NOT NULL,
  last_update_time timestamptz NOT NULL,
  done_time timestamptz,                 -- NULL while the task is open
  task text NOT NULL
);
-- A user's tasks in id order (state=all, imports).
CREATE INDEX element_user_id ON todo.element (td_user, id);
-- A user's open tasks in id order (the default listing, remove-oldest). Partial indexes keep
-- the open and the done pages plain index ranges, with no sort and no filtering.
CREATE INDEX element_user_open ON todo.element (td_user, id) WHERE done_time IS NULL;
-- A user's done tasks in id order.
CREATE INDEX element_user_done ON todo.element (td_user, id) WHERE done_time IS NOT NULL;

-- Accounts; only a hash of each token is stored.
CREATE TABLE todo.account (
  name text PRIMARY KEY,
  role text NOT NULL CHECK (role IN ('developer', 'manager', 'admin')),
  token_hash text UNIQUE,                -- NULL: no token
  created timestamptz NOT NULL
);

-- Per-user counters, updated by the statement of every task write, so that the users list
-- never counts `element` rows. The row is also the user's write lock: writes that change
-- existing tasks lock it first (see pg_sql.h). Updates change no indexed column, so they
-- stay HOT; the fillfactor leaves room for that on the page.
CREATE TABLE todo.tally (
  td_user text PRIMARY KEY,
  open_count bigint NOT NULL,
  done_count bigint NOT NULL,
  last_update_time timestamptz           -- NULL until the user's first change
) WITH (fillfactor = 70);

-- The append-only change log: one row per created, edited, done, undone, removed.
CREATE TABLE todo.event (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  td_user text NOT NULL,                 -- owner of the task
  actor text NOT NULL,                   -- who made the change
  kind text NOT NULL CHECK (kind IN ('created', 'edited', 'done', 'undone', 'removed')),
  task_id bigint NOT NULL,
  task text NOT NULL                     -- the text after the change (removed: as it was)
);
-- A developer's own change log in id order.
CREATE INDEX event_user_id ON todo.event (td_user, id);

-- Idempotency records: the recorded answer of each (user, Idempotency-Key).
CREATE TABLE todo.request (
  td_user text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,             -- hash of method, path and body
  status integer NOT NULL,
  body text NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (td_user, key)
);
-- Purging records older than their retention.
CREATE INDEX request_at ON todo.request (at);

-- Claims (user, key) for the calling transaction, or raises SQLSTATE TD001 if a committed
-- (or concurrently committing) request already holds it. The raise aborts the pipeline, so
-- the write sent after it in the same round trip never runs.
CREATE FUNCTION todo.claim_request(u text, k text, f text) RETURNS void
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO todo.request (td_user, key, fingerprint, status, body, at)
  VALUES (u, k, f, 0, '', now())
  ON CONFLICT (td_user, key) DO NOTHING;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'idempotency key already used' USING ERRCODE = 'TD001';
  END IF;
END
$$;
)sql";

// 2: keyed writes record their result as data in the same statement (pg_sql.h).
inline constexpr char kMigration2[] = R"sql(
ALTER TABLE todo.request ADD COLUMN result text;
)sql";

// 3: todo.ms() in double precision (date_part) rather than numeric (extract, numeric since
// PostgreSQL 14): a third of the cost per call (0.08 against 0.27 us), and a page of tasks
// makes three calls per task (a manager's page of 100: 0.132 -> 0.095 ms in the database;
// docs/benchmarks.md, sixth session). Still
// exact for every millisecond time of years 1 to 9999: the double's error before rounding is
// below 0.1 ms there (checked against the numeric form on 2 million random times).
inline constexpr char kMigration3[] = R"sql(
CREATE OR REPLACE FUNCTION todo.ms(t timestamptz) RETURNS bigint
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  RETURN (date_part('epoch', t) * 1000)::bigint;
)sql";

// 4: user names and Idempotency-Keys compare byte by byte (COLLATE "C") in every index that
// holds them. Under the cluster's collation (C.UTF-8 from scripts/pg; often a language's)
// each comparison in those indexes went through strcoll, and every write and read searches
// them by user: 4.8% fewer instructions for a batch of the developer mix
// (bench/statement_cost: 7.70 -> 7.33 million; docs/benchmarks.md, seventh session). The
// order of names is now their bytes' (the users view, as SQLite's BINARY order; C.UTF-8's
// order is that too). The columns keep their type, so no table is rewritten, but each index
// on them is rebuilt while the migration holds its tables' locks: on a large database the
// migration takes as long as those index builds. Statements prepared before it that return
// these columns fail until prepared again ("cached plan must not change result type"):
// Connection::Run then closes the connection and the pool prepares them on a new one; older
// todods do not, and must be restarted (operations.md).
inline constexpr char kMigration4[] = R"sql(
ALTER TABLE todo.account ALTER COLUMN name TYPE text COLLATE "C";
ALTER TABLE todo.element ALTER COLUMN td_user TYPE text COLLATE "C";
ALTER TABLE todo.tally ALTER COLUMN td_user TYPE text COLLATE "C";
ALTER TABLE todo.event ALTER COLUMN td_user TYPE text COLLATE "C",
                       ALTER COLUMN actor TYPE text COLLATE "C";
ALTER TABLE todo.request ALTER COLUMN td_user TYPE text COLLATE "C",
                         ALTER COLUMN key TYPE text COLLATE "C";
-- ALTER COLUMN TYPE drops the columns' statistics: gather them again at once.
ANALYZE todo.account, todo.element, todo.tally, todo.event, todo.request;
)sql";

inline constexpr std::array<const char*, 4> kMigrations = {kMigration1, kMigration2,
                                                           kMigration3, kMigration4};

// Migration 1's todo.claim_request is unused since decision 0010 (each write statement
// claims its key itself, pg_sql.h); it stays, as shipped migrations do. Migration 1 also
// names the sequences the statements use: todo.element_id_seq and todo.event_id_seq (the
// identity columns' own).

// Brings the database's schema up to date on the blocking connection `conn` (open time
// only), or with `apply` false only checks that it is current. kInternal if a migration
// fails or the schema is newer than this program; kUnavailable if the connection fails, or
// (without `apply`) migrations are pending, as for SQLite.
core::Status Migrate(PGconn* conn, bool apply);

}  // namespace todo::store::pg

// Every statement the PostgreSQL store runs, prepared once per connection. Each names the
// index it expects. Every statement on todo.element names td_user, except the managers'
// all-users views (marked "all users"), so the table can later be distributed by td_user.
//
// Task rows are read as: id, td_user, task, created ms, updated ms, done ms (NULL if open).
// Times come from the database's clock (now(), the transaction's start), truncated to the
// millisecond, so a task read back equals the one a write returned.
//
// Writes are single statements: a data-modifying CTE changes the task, appends its events
// and updates the owner's tally row, all in the statement's transaction. Each event insert
// reads the rows its statement already wrote, so the transaction has its xid before it draws
// an event id: the live feed's horizon (kEventHorizon, docs/decisions/0006) relies on it;
// keep it so in new writes.
//
// No write calls pg_notify. A NOTIFY takes one lock for the whole database at commit and
// holds it until the commit is flushed (and, with synchronous replication, confirmed by a
// standby): every notifying transaction commits one after the other. Measured with pgbench on
// kAddTask: 7.6k tps without it, 3k with it (docs/benchmarks.md). A NOTIFY in a transaction
// of its own after each batch costs a WAL flush of its own instead. So the live feeds are
// not notified at all: each store watches the change log's sequence (kLastEventId, no lock,
// no WAL) on a connection of its own, and wakes its own feed at once after its own commits.
//
// Locking: a write that changes or removes existing tasks first runs kLockUser, which locks
// the user's tally row (FOR UPDATE), in the same transaction and round trip. So one user's
// task writes are serialized (lock order: tally row, then task rows, for everyone: no
// deadlocks), and the write statement, which under READ COMMITTED takes its snapshot after
// the lock is granted, sees every earlier write of that user committed. That is what makes
// remove-oldest exact; see kRemoveOldest. Adds need no lock: a new row conflicts with nobody,
// and their tally upsert waits for the row lock like any other writer. An add with an
// Idempotency-Key locks the tally row in its statement before it claims the key, so that
// every write takes the tally row before the key.
#pragma once

#include "store/postgres/pg_connection.h"

namespace todo::store::pg {

// Run when a connection opens.
//
// client_connection_check_interval: a request that gives up (its deadline passed) closes
// its connection; without this the server would finish the request's work, and perhaps
// commit it, whenever the lock or the load that held it up goes away. With it, a backend
// that is still waiting notices the closed socket within a second and aborts.
//
// plan_cache_mode: every statement here is planned once per connection (a generic plan).
// By default PostgreSQL compares a generic plan with plans made for each call's values and,
// for the writes, keeps re-planning on every call (a custom plan can fold away the `$k IS
// NULL` branches, so it always looks cheaper): a third of the database's CPU under the
// benchmark's load went to the planner (docs/benchmarks.md). Each statement names the index
// it uses, and the generic plan uses it for any value.
inline constexpr Statement kSessionSetup{
    "",
    "SELECT set_config('client_connection_check_interval', '1000', false), "
    "set_config('plan_cache_mode', 'force_generic_plan', false)"};

// Transaction control and the health check: no table, no index.
inline constexpr Statement kBegin{"begin", "BEGIN"};
inline constexpr Statement kCommit{"commit", "COMMIT"};
inline constexpr Statement kRollback{"rollback", "ROLLBACK"};
inline constexpr Statement kPing{"ping", "SELECT 1"};

// tally primary key. Serializes this user's writes until the transaction ends (a user with no
// row has no tasks yet: nothing to lock).
inline constexpr Statement kLockUser{
    "lock_user", "SELECT 1 FROM todo.tally WHERE td_user = $1::text FOR UPDATE"};

// tally primary key. Makes sure the user has a tally row (imports lock it next).
inline constexpr Statement kEnsureTally{
    "ensure_tally",
    "INSERT INTO todo.tally (td_user, open_count, done_count, last_update_time) "
    "VALUES ($1::text, 0, 0, NULL) ON CONFLICT (td_user) DO NOTHING"};

// $1 user, $2 text, then the key columns $3 key, $4 status, $5 fingerprint (see "Idempotency
// records" below). With a key, first locks the user's tally row (`lk`): the lock order of
// every write is the tally row, then the key (kLockUser runs before the other writes), so
// two writes of one user in two batches cannot each wait for the other's. Then draws the
// task's id (the element identity's own sequence), so the request record is inserted
// complete, before the task. Appends to the element primary key and (td_user, id) indexes,
// to the event primary key and event_user_id; tally primary key (upsert); request primary
// key and request_at. Returns id, created ms, claimed.
inline constexpr Statement kAddTask{"add_task", R"sql(
WITH lk AS (
  SELECT 1 FROM todo.tally WHERE td_user = $1::text AND $3::text IS NOT NULL FOR UPDATE),
i AS (
  SELECT nextval('todo.element_id_seq') AS id, date_trunc('milliseconds', now()) AS at,
         (SELECT count(*) FROM lk) AS locked),
k AS (
  INSERT INTO todo.request (td_user, key, fingerprint, status, body, at, result)
  SELECT $1::text, $3::text, $5::text, $4::int4, '', now(),
         json_build_array(i.id, $2::text, todo.ms(i.at), todo.ms(i.at), NULL)::text
  FROM i WHERE $3::text IS NOT NULL AND i.locked >= 0
  ON CONFLICT (td_user, key) DO NOTHING
  RETURNING 1),
go AS (SELECT $3::text IS NULL OR EXISTS (SELECT 1 FROM k) AS ok),
t AS (
  INSERT INTO todo.element (id, td_user, init_time, last_update_time, task)
  OVERRIDING SYSTEM VALUE
  SELECT i.id, $1::text, i.at, i.at, $2::text FROM i, go WHERE go.ok
  RETURNING id, init_time),
e AS (
  INSERT INTO todo.event (at, td_user, actor, kind, task_id, task)
  SELECT t.init_time, $1::text, $1::text, 'created', t.id, $2::text FROM t
  RETURNING id),
c AS (
  INSERT INTO todo.tally AS y (td_user, open_count, done_count, last_update_time)
  SELECT $1::text, 1, 0, t.init_time FROM t
  ON CONFLICT (td_user) DO UPDATE
  SET open_count = y.open_count + 1,
      last_update_time = greatest(y.last_update_time, excluded.last_update_time))
SELECT t.id, todo.ms(t.init_time), true FROM t
UNION ALL SELECT NULL, NULL, false FROM go WHERE NOT go.ok)sql"};

// $1 users (text[], ascending). tally primary key, one lookup per user, in array order. The
// first statement of a batch of two writes or more, in place of each write's kLockUser:
// locks every user of the batch in user order at once, creating the rows of users who have
// none yet (zero counts, as kEnsureTally), so that nothing of theirs is locked out of order
// later either: the merged statements (kAddTasks, kRemoveOldests), which touch several
// users, and the writes after them, each of one user, take no tally lock and claim no key
// of a user this batch has not locked (pg_batch.h). An ON CONFLICT DO UPDATE whose WHERE
// is false updates nothing but locks the row.
inline constexpr Statement kLockUsers{"lock_users", R"sql(
INSERT INTO todo.tally AS y (td_user, open_count, done_count, last_update_time)
SELECT u.name, 0, 0, NULL FROM unnest($1::text[]) WITH ORDINALITY AS u(name, ord)
ORDER BY u.ord
ON CONFLICT (td_user) DO UPDATE SET open_count = y.open_count WHERE false)sql"};

// Several adds as one statement (a batch's adds, pg_batch.h): $1 users, $2 texts, $3 keys
// (NULL: none), $4 statuses, $5 fingerprints, as arrays, one element per add; each add as
// kAddTask does it, with ids drawn in array order. After kLockUsers, which made every
// user's tally row exist and locked it (the upsert below only updates). Returns ord
// (1-based), id, created ms, claimed (always true): one row per add.
//
// Claims each key with a plain insert: a key already recorded (a retry, or one key twice in
// the batch) fails the statement with a unique violation, and so the batch, which then goes
// again write by write (each kAddTask replays its key or claims it), and the loop uses
// kAddTasksOrReplay for a while (pg_batch.h). Speculative insertion (ON CONFLICT) costs an
// index search, a lock and a WAL record per row more than a plain insert, and the replay
// check a lookup in `k` per row: with kRemoveOldests claiming the same way, a batch's
// statements run 14% fewer instructions in the database (callgrind; decision 0014).
inline constexpr Statement kAddTasks{"add_tasks", R"sql(
WITH x AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::text[])
    WITH ORDINALITY AS x(u, txt, key, status, fp, ord)),
i AS (
  SELECT x.*, nextval('todo.element_id_seq') AS id, date_trunc('milliseconds', now()) AS at
  FROM x),
k AS (
  INSERT INTO todo.request (td_user, key, fingerprint, status, body, at, result)
  SELECT i.u, i.key, i.fp, i.status, '', now(),
         json_build_array(i.id, i.txt, todo.ms(i.at), todo.ms(i.at), NULL)::text
  FROM i WHERE i.key IS NOT NULL ORDER BY i.ord),
t AS (
  INSERT INTO todo.element (id, td_user, init_time, last_update_time, task)
  OVERRIDING SYSTEM VALUE
  SELECT i.id, i.u, i.at, i.at, i.txt FROM i ORDER BY i.ord
  RETURNING id, td_user, init_time, task),
e AS (
  INSERT INTO todo.event (at, td_user, actor, kind, task_id, task)
  SELECT t.init_time, t.td_user, t.td_user, 'created', t.id, t.task FROM t ORDER BY t.id
  RETURNING id),
c AS (
  INSERT INTO todo.tally AS y (td_user, open_count, done_count, last_update_time)
  SELECT t.td_user, count(*), 0, max(t.init_time) FROM t GROUP BY t.td_user
  ON CONFLICT (td_user) DO UPDATE
  SET open_count = y.open_count + excluded.open_count,
      last_update_time = greatest(y.last_update_time, excluded.last_update_time))
SELECT i.ord, i.id, todo.ms(i.at), true FROM i ORDER BY i.ord)sql"};

// kAddTasks for a loop that met a key already recorded lately: each key is claimed with ON
// CONFLICT DO NOTHING, so a retry answers claimed false (the caller replays the record once
// the batch has committed) instead of failing its batch. Same parameters and rows, claimed
// false for a key already recorded (and for the second of one key twice in the batch).
inline constexpr Statement kAddTasksOrReplay{"add_tasks_or_replay", R"sql(
WITH x AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::text[])
    WITH ORDINALITY AS x(u, txt, key, status, fp, ord)),
i AS (
  SELECT x.*, nextval('todo.element_id_seq') AS id, date_trunc('milliseconds', now()) AS at
  FROM x),
k AS (
  INSERT INTO todo.request (td_user, key, fingerprint, status, body, at, result)
  SELECT i.u, i.key, i.fp, i.status, '', now(),
         json_build_array(i.id, i.txt, todo.ms(i.at), todo.ms(i.at), NULL)::text
  FROM i WHERE i.key IS NOT NULL ORDER BY i.ord
  ON CONFLICT (td_user, key) DO NOTHING
  RETURNING td_user, key),
go AS (
  SELECT i.*,
         i.key IS NULL OR (
           EXISTS (SELECT 1 FROM k WHERE k.td_user = i.u AND k.key = i.key)
           -- one key twice in the batch: the first (inserted first) is the claim
           AND i.ord = (SELECT min(j.ord) FROM i j WHERE j.u = i.u AND j.key = i.key)) AS ok
  FROM i),
t AS (
  INSERT INTO todo.element (id, td_user, init_time, last_update_time, task)
  OVERRIDING SYSTEM VALUE
  SELECT go.id, go.u, go.at, go.at, go.txt FROM go WHERE go.ok ORDER BY go.ord
  RETURNING id, td_user, init_time, task),
e AS (
  INSERT INTO todo.event (at, td_user, actor, kind, task_id, task)
  SELECT t.init_time, t.td_user, t.td_user, 'created', t.id, t.task FROM t ORDER BY t.id
  RETURNING id),
c AS (
  INSERT INTO todo.tally AS y (td_user, open_count, done_count, last_update_time)
  SELECT t.td_user, count(*), 0, max(t.init_time) FROM t GROUP BY t.td_user
  ON CONFLICT (td_user) DO UPDATE
  SET open_count = y.open_count + excluded.open_count,
      last_update_time = greatest(y.last_update_time, excluded.last_update_time))
SELECT go.ord, CASE WHEN go.ok THEN go.id END, CASE WHEN go.ok THEN todo.ms(go.at) END, go.ok
FROM go ORDER BY go.ord)sql"};

// $1 id, $2 user. element_user_id: the one entry (td_user, id).
inline constexpr Statement kGetTaskOfUser{
    "get_task_of_user",
    "SELECT id, td_user, task, todo.ms(init_time), todo.ms(last_update_time), "
    "todo.ms(done_time) FROM todo.element WHERE id = $1::int8 AND td_user = $2::text"};
// $1 id. element primary key (all users: managers).
inline constexpr Statement kGetAnyTask{
    "get_any_task",
    "SELECT id, td_user, task, todo.ms(init_time), todo.ms(last_update_time), "
    "todo.ms(done_time) FROM todo.element WHERE id = $1::int8"};

// $1 user, $2 after, $3 limit. element_user_open: a range of (td_user, id), no sort.
inline constexpr Statement kListUserOpen{
    "list_user_open",
    "SELECT id, td_user, task, todo.ms(init_time), todo.ms(last_update_time), "
    "todo.ms(done_time) FROM todo.element "
    "WHERE td_user = $1::text AND done_time IS NULL AND id > $2::int8 ORDER BY id LIMIT $3::int4"};
// $1 user, $2 after, $3 limit. element_user_done: a range of (td_user, id), no sort.
inline constexpr Statement kListUserDone{
    "list_user_done",
    "SELECT id, td_user, task, todo.ms(init_time), todo.ms(last_update_time), "
    "todo.ms(done_time) FROM todo.element WHERE td_user = $1::text AND done_time IS NOT NULL "
    "AND id > $2::int8 ORDER BY id LIMIT $3::int4"};
// $1 user, $2 after, $3 limit. element_user_id: a range of (td_user, id), no sort.
inline constexpr Statement kListUserAll{
    "list_user_all",
    "SELECT id, td_user, task, todo.ms(init_time), todo.ms(last_update_time), "
    "todo.ms(done_time) FROM todo.element "
    "WHERE td_user = $1::text AND id > $2::int8 ORDER BY id LIMIT $3::int4"};
// $1 after, $2 limit. element primary key range, filtering done_time (all users).
inline constexpr Statement kListAnyOpen{
    "list_any_open",
    "SELECT id, td_user, task, todo.ms(init_time), todo.ms(last_update_time), "
    "todo.ms(done_time) FROM todo.element "
    "WHERE done_time IS NULL AND id > $1::int8 ORDER BY id LIMIT $2::int4"};
// $1 after, $2 limit. element primary key range, filtering done_time (all users).
inline constexpr Statement kListAnyDone{
    "list_any_done",
    "SELECT id, td_user, task, todo.ms(init_time), todo.ms(last_update_time), "
    "todo.ms(done_time) FROM todo.element "
    "WHERE done_time IS NOT NULL AND id > $1::int8 ORDER BY id LIMIT $2::int4"};
// $1 after, $2 limit. element primary key range (all users).
inline constexpr Statement kListAny{
    "list_any",
    "SELECT id, td_user, task, todo.ms(init_time), todo.ms(last_update_time), "
    "todo.ms(done_time) FROM todo.element WHERE id > $1::int8 ORDER BY id LIMIT $2::int4"};

// $1 user, $2 id, $3 new text or NULL, $4 new done state or NULL, then the key columns $5
// key, $6 status, $7 fingerprint. After kLockUser. element_user_id: the one entry (td_user,
// id); event appends; tally primary key; request primary key and request_at. Changes, logs
// and counts only what actually changes (edited before done/undone). Returns the task as it
// is now, and claimed (no row: not the user's task, nothing recorded). The task as it will
// be is computed from the row as it is (`now_`), so the record is inserted complete before
// the change; under the user's lock nobody else changes the row in between.
inline constexpr Statement kUpdateTask{"update_task", R"sql(
WITH old AS (
  SELECT id, task, init_time, last_update_time, done_time
  FROM todo.element WHERE id = $2::int8 AND td_user = $1::text),
ch AS (
  SELECT old.id, date_trunc('milliseconds', now()) AS at,
         coalesce($3::text <> old.task, false) AS edit,
         coalesce($4::bool <> (old.done_time IS NOT NULL), false) AS flip
  FROM old),
now_ AS (
  SELECT old.id, CASE WHEN ch.edit THEN $3::text ELSE old.task END AS task,
         todo.ms(old.init_time) AS created,
         todo.ms(CASE WHEN ch.edit OR ch.flip THEN ch.at ELSE old.last_update_time END) AS updated,
         todo.ms(CASE WHEN NOT ch.flip THEN old.done_time WHEN $4::bool THEN ch.at END) AS done
  FROM old, ch),
k AS (
  INSERT INTO todo.request (td_user, key, fingerprint, status, body, at, result)
  SELECT $1::text, $5::text, $7::text, $6::int4, '', now(),
         json_build_array(id, task, created, updated, done)::text
  FROM now_ WHERE $5::text IS NOT NULL
  ON CONFLICT (td_user, key) DO NOTHING
  RETURNING 1),
go AS (
  SELECT $5::text IS NULL OR EXISTS (SELECT 1 FROM k)
         OR NOT (EXISTS (SELECT 1 FROM old) OR EXISTS (
             SELECT 1 FROM todo.request WHERE td_user = $1::text AND key = $5::text)) AS ok),
upd AS (
  UPDATE todo.element el
  SET task = CASE WHEN ch.edit THEN $3::text ELSE el.task END,
      done_time = CASE WHEN NOT ch.flip THEN el.done_time WHEN $4::bool THEN ch.at END,
      last_update_time = ch.at
  FROM ch, go
  WHERE el.id = ch.id AND el.td_user = $1::text AND (ch.edit OR ch.flip) AND go.ok
  RETURNING el.id, el.task),
ev AS (
  INSERT INTO todo.event (at, td_user, actor, kind, task_id, task)
  SELECT ch.at, $1::text, $1::text, k.kind, upd.id, upd.task
  FROM ch, upd,
       (VALUES (1, 'edited'), (2, CASE WHEN $4::bool THEN 'done' ELSE 'undone' END)) AS k(ord, kind)
  WHERE (k.ord = 1 AND ch.edit) OR (k.ord = 2 AND ch.flip)
  ORDER BY k.ord
  RETURNING id),
c AS (
  UPDATE todo.tally y
  SET open_count = y.open_count + CASE WHEN NOT ch.flip THEN 0 WHEN $4::bool THEN -1 ELSE 1 END,
      done_count = y.done_count + CASE WHEN NOT ch.flip THEN 0 WHEN $4::bool THEN 1 ELSE -1 END,
      last_update_time = greatest(y.last_update_time, ch.at)
  FROM ch, go
  WHERE y.td_user = $1::text AND (ch.edit OR ch.flip) AND go.ok)
SELECT now_.id, $1::text, now_.task, now_.created, now_.updated, now_.done, true
FROM now_, go WHERE go.ok
UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, false FROM go WHERE NOT go.ok)sql"};

// $1 user, $2 id, then the key columns $3 key, $4 status, $5 fingerprint. After kLockUser.
// element_user_id: the one entry (td_user, id); event appends; tally primary key; request
// primary key and request_at. Returns the task as it was, and claimed (no row: not the
// user's task, nothing recorded).
inline constexpr Statement kRemoveTask{"remove_task", R"sql(
WITH old AS (
  SELECT id, task, init_time, last_update_time, done_time
  FROM todo.element WHERE id = $2::int8 AND td_user = $1::text),
k AS (
  INSERT INTO todo.request (td_user, key, fingerprint, status, body, at, result)
  SELECT $1::text, $3::text, $5::text, $4::int4, '', now(),
         json_build_array(old.id, old.task, todo.ms(old.init_time),
                          todo.ms(old.last_update_time), todo.ms(old.done_time))::text
  FROM old WHERE $3::text IS NOT NULL
  ON CONFLICT (td_user, key) DO NOTHING
  RETURNING 1),
go AS (
  SELECT $3::text IS NULL OR EXISTS (SELECT 1 FROM k)
         OR NOT (EXISTS (SELECT 1 FROM old) OR EXISTS (
             SELECT 1 FROM todo.request WHERE td_user = $1::text AND key = $3::text)) AS ok),
d AS (
  DELETE FROM todo.element el USING go
  WHERE el.id = $2::int8 AND el.td_user = $1::text AND go.ok
  RETURNING el.id, el.task, el.init_time, el.last_update_time, el.done_time),
ev AS (
  INSERT INTO todo.event (at, td_user, actor, kind, task_id, task)
  SELECT date_trunc('milliseconds', now()), $1::text, $1::text, 'removed', d.id, d.task FROM d
  RETURNING id),
c AS (
  UPDATE todo.tally y
  SET open_count = y.open_count - (d.done_time IS NULL)::int,
      done_count = y.done_count - (d.done_time IS NOT NULL)::int,
      last_update_time = greatest(y.last_update_time, date_trunc('milliseconds', now()))
  FROM d WHERE y.td_user = $1::text)
SELECT d.id, $1::text, d.task, todo.ms(d.init_time), todo.ms(d.last_update_time),
       todo.ms(d.done_time), true
FROM d
UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, false FROM go WHERE NOT go.ok)sql"};

// $1 user, $2 count, then the key columns $3 key, $4 status, $5 fingerprint. After kLockUser.
// element_user_open: the first $2 entries of the user's range (index only); then
// element_user_id per row; request primary key and request_at. Returns the removed ids,
// ascending, and claimed; records them as a JSON array (an empty one too).
//
// Why not `FOR UPDATE SKIP LOCKED`: it would skip rows another transaction holds, which is
// wrong whenever that transaction does not remove them after all (an edit of the oldest task
// that keeps it open, a remove-oldest that rolls back): the caller would get younger tasks
// while an older open one stays, so not "the N oldest". Plain `FOR UPDATE` is wrong the
// other way: under READ COMMITTED, rows removed by the transaction it waited for drop out
// after the LIMIT was applied, so it returns fewer than N while more are open. Serializing
// the user's writes on the tally row (kLockUser) gives the exact answer, and costs nothing
// that matters: one developer's writes are sequential anyway, other users are not blocked.
inline constexpr Statement kRemoveOldest{"remove_oldest", R"sql(
WITH victim AS (
  SELECT id FROM todo.element
  WHERE td_user = $1::text AND done_time IS NULL ORDER BY id LIMIT $2::int4),
k AS (
  INSERT INTO todo.request (td_user, key, fingerprint, status, body, at, result)
  SELECT $1::text, $3::text, $5::text, $4::int4, '', now(),
         coalesce((SELECT json_agg(id ORDER BY id) FROM victim), '[]'::json)::text
  WHERE $3::text IS NOT NULL
  ON CONFLICT (td_user, key) DO NOTHING
  RETURNING 1),
go AS (SELECT $3::text IS NULL OR EXISTS (SELECT 1 FROM k) AS ok),
d AS (
  DELETE FROM todo.element el USING victim, go
  WHERE el.id = victim.id AND el.td_user = $1::text AND go.ok
  RETURNING el.id, el.task),
ev AS (
  INSERT INTO todo.event (at, td_user, actor, kind, task_id, task)
  SELECT date_trunc('milliseconds', now()), $1::text, $1::text, 'removed', d.id, d.task
  FROM d ORDER BY d.id
  RETURNING id),
c AS (
  UPDATE todo.tally y
  SET open_count = y.open_count - (SELECT count(*) FROM d),
      last_update_time = greatest(y.last_update_time, date_trunc('milliseconds', now()))
  WHERE y.td_user = $1::text AND EXISTS (SELECT 1 FROM d))
SELECT d.id, true FROM d
UNION ALL SELECT NULL, false FROM go WHERE NOT go.ok
ORDER BY 1)sql"};

// Several remove-oldest as one statement (a batch's, pg_batch.h), each of another user: $1
// users, $2 counts, $3 keys (NULL: none), $4 statuses, $5 fingerprints, as arrays, one
// element per request; each as kRemoveOldest does it. After kLockUsers (the users' writes
// are serialized, hence exact: see kRemoveOldest). element_user_open per user (index only),
// element_user_id per row; request primary key and request_at. Returns ord (1-based), then
// kRemoveOldest's rows for that request: the removed ids, ascending, and claimed (always
// true). Claims each key with a plain insert, as kAddTasks does: a key already recorded
// fails the batch, which goes again write by write.
inline constexpr Statement kRemoveOldests{"remove_oldests", R"sql(
WITH x AS (
  SELECT * FROM unnest($1::text[], $2::int4[], $3::text[], $4::int4[], $5::text[])
    WITH ORDINALITY AS x(u, n, key, status, fp, ord)),
victim AS (
  SELECT x.ord, x.u, v.id FROM x,
    LATERAL (SELECT id FROM todo.element
             WHERE td_user = x.u AND done_time IS NULL ORDER BY id LIMIT x.n) v),
k AS (
  INSERT INTO todo.request (td_user, key, fingerprint, status, body, at, result)
  SELECT x.u, x.key, x.fp, x.status, '', now(), coalesce(g.ids, '[]'::json)::text
  FROM x LEFT JOIN (SELECT v.ord, json_agg(v.id ORDER BY v.id) AS ids FROM victim v
                    GROUP BY v.ord) g ON g.ord = x.ord
  WHERE x.key IS NOT NULL ORDER BY x.ord),
d AS (
  DELETE FROM todo.element el USING victim
  WHERE el.id = victim.id AND el.td_user = victim.u
  RETURNING el.id, el.td_user, el.task, victim.ord),
ev AS (
  INSERT INTO todo.event (at, td_user, actor, kind, task_id, task)
  SELECT date_trunc('milliseconds', now()), d.td_user, d.td_user, 'removed', d.id, d.task
  FROM d ORDER BY d.id
  RETURNING id),
c AS (
  UPDATE todo.tally y
  SET open_count = y.open_count - s.n,
      last_update_time = greatest(y.last_update_time, date_trunc('milliseconds', now()))
  FROM (SELECT d.td_user, count(*) AS n FROM d GROUP BY d.td_user) s
  WHERE y.td_user = s.td_user)
SELECT d.ord, d.id, true FROM d
ORDER BY 1, 2)sql"};

// kRemoveOldests claiming each key with ON CONFLICT DO NOTHING (see kAddTasksOrReplay):
// the same parameters and rows, plus (ord, NULL, false) for a key already recorded.
inline constexpr Statement kRemoveOldestsOrReplay{"remove_oldests_or_replay", R"sql(
WITH x AS (
  SELECT * FROM unnest($1::text[], $2::int4[], $3::text[], $4::int4[], $5::text[])
    WITH ORDINALITY AS x(u, n, key, status, fp, ord)),
victim AS (
  SELECT x.ord, v.id FROM x,
    LATERAL (SELECT id FROM todo.element
             WHERE td_user = x.u AND done_time IS NULL ORDER BY id LIMIT x.n) v),
k AS (
  INSERT INTO todo.request (td_user, key, fingerprint, status, body, at, result)
  SELECT x.u, x.key, x.fp, x.status, '', now(),
         coalesce((SELECT json_agg(v.id ORDER BY v.id) FROM victim v WHERE v.ord = x.ord),
                  '[]'::json)::text
  FROM x WHERE x.key IS NOT NULL ORDER BY x.ord
  ON CONFLICT (td_user, key) DO NOTHING
  RETURNING td_user, key),
go AS (
  SELECT x.ord, x.u,
         x.key IS NULL OR EXISTS (SELECT 1 FROM k WHERE k.td_user = x.u AND k.key = x.key) AS ok
  FROM x),
d AS (
  DELETE FROM todo.element el USING victim, go
  WHERE el.id = victim.id AND victim.ord = go.ord AND el.td_user = go.u AND go.ok
  RETURNING el.id, el.td_user, el.task, go.ord),
ev AS (
  INSERT INTO todo.event (at, td_user, actor, kind, task_id, task)
  SELECT date_trunc('milliseconds', now()), d.td_user, d.td_user, 'removed', d.id, d.task
  FROM d ORDER BY d.id
  RETURNING id),
c AS (
  UPDATE todo.tally y
  SET open_count = y.open_count - s.n,
      last_update_time = greatest(y.last_update_time, date_trunc('milliseconds', now()))
  FROM (SELECT d.td_user, count(*) AS n FROM d GROUP BY d.td_user) s
  WHERE y.td_user = s.td_user)
SELECT d.ord, d.id, true FROM d
UNION ALL SELECT go.ord, NULL, false FROM go WHERE NOT go.ok
ORDER BY 1, 2)sql"};


// $1 user, $2 texts. After kEnsureTally and kLockUser. element_user_id (the user's range),
// filtering on the texts the file names. Returns text, created ms.
inline constexpr Statement kImportExisting{"import_existing",
                                           "SELECT task, todo.ms(init_time) FROM todo.element "
                                           "WHERE td_user = $1::text AND task = ANY ($2::text[])"};

// $1 user, $2 texts, $3 created ms (NULL: now), $4 is done, $5 done ms (NULL: created, or
// now). Inserts in array order (ids ascending), logs created (and done) for each task, in
// order; tally primary key. Returns the number added.
inline constexpr Statement kImportInsert{"import_insert", R"sql(
WITH item AS (
  SELECT * FROM unnest($2::text[], $3::int8[], $4::bool[], $5::int8[]) WITH ORDINALITY
    AS i(task, created, is_done, done, ord)),
n AS (SELECT date_trunc('milliseconds', now()) AS at),
x AS (
  SELECT item.ord, item.task, coalesce(todo.at_ms(item.created), n.at) AS init_time,
         CASE WHEN item.is_done
              THEN coalesce(todo.at_ms(item.done), todo.at_ms(item.created), n.at) END AS done_time
  FROM item, n),
added AS (
  INSERT INTO todo.element (td_user, init_time, last_update_time, done_time, task)
  SELECT $1::text, x.init_time, coalesce(x.done_time, x.init_time), x.done_time, x.task
  FROM x ORDER BY x.ord
  RETURNING id, task, done_time),
ev AS (
  INSERT INTO todo.event (at, td_user, actor, kind, task_id, task)
  SELECT n.at, $1::text, $1::text, k.kind, added.id, added.task
  FROM added, n, (VALUES (1, 'created'), (2, 'done')) AS k(ord, kind)
  WHERE k.ord = 1 OR added.done_time IS NOT NULL
  ORDER BY added.id, k.ord
  RETURNING id),
c AS (
  UPDATE todo.tally y
  SET open_count = y.open_count + (SELECT count(*) FROM added WHERE done_time IS NULL),
      done_count = y.done_count + (SELECT count(*) FROM added WHERE done_time IS NOT NULL),
      last_update_time = greatest(y.last_update_time, (SELECT at FROM n))
  WHERE y.td_user = $1::text)
SELECT (SELECT count(*) FROM added))sql"};

// Idempotency records (store.h, Idempotency). A keyed write is its one write statement,
// batched like any other write (pg_batch.h). Every write statement takes three more
// parameters, the key columns: the key, the answer's HTTP status and the request's
// fingerprint (NULL, 0 and NULL without a key: nothing is recorded). In its `k` CTE it
// inserts the complete record, its result computed from the rows as they are before the
// change (column `result`: a task as [id, text, created ms, updated ms, done ms or null], or
// remove-oldest's ids as [id, ...]), with ON CONFLICT DO NOTHING on the request primary key:
// that insert is the claim (it waits for a transaction inserting the same key and conflicts
// once that one commits). Only if it inserted does the statement change anything (`go`).
// Its last column, claimed, says which: false (one row, nothing else) means the key was
// already recorded, and the caller replays the record with kFindRequest once its batch has
// committed. No error is raised, so a replay never aborts the other writes of its batch.
// The merged kAddTasks and kRemoveOldests are the exception: they claim with plain inserts,
// so a key already recorded fails their batch, which is then resent write by write, each
// write's own statement claiming as above (decision 0014).
//
// Only successful answers are recorded: an edit or removal of a task that is not the user's
// inserts nothing. Such a write still answers "replay" if its key is recorded (visible to
// the statement; a retry finds the first answer even when the first one removed the task),
// else "not found". (A same-key request still being committed by another transaction is not
// visible then; the answer is "not found" rather than "key used for another request", and
// nothing is recorded or changed either way.)
//
// One row write per keyed write and no lookup: the earlier claim-then-update design wrote
// the row twice and, with a generic plan made while the table was empty, found it again by
// a sequential scan (docs/benchmarks.md). Records made before migration 2 hold the rendered
// answer in `body` and no `result`.

// $1 user, $2 key. request primary key.
inline constexpr Statement kFindRequest{"find_request",
                                        "SELECT fingerprint, status, body, result FROM todo.request "
                                        "WHERE td_user = $1::text AND key = $2::text"};
// request_at: the oldest records past their retention (24 h), a bounded batch at a time
// (kPurgeChunk rows: postgres_store.cc). SKIP LOCKED: loops and servers purging at once take
// different records instead of waiting for each other's.
inline constexpr Statement kPurgeRequests{
    "purge_requests",
    "DELETE FROM todo.request WHERE (td_user, key) IN (SELECT td_user, key FROM todo.request "
    "WHERE at < now() - interval '24 hours' ORDER BY at LIMIT 1000 FOR UPDATE SKIP LOCKED)"};
inline constexpr int64_t kPurgeChunk = 1000;

// $1 name, $2 role, $3 token hash or NULL, $4 created ms. account primary key and the UNIQUE
// index on token_hash (a taken token is a unique violation: kConflict). No row: name taken.
inline constexpr Statement kCreateAccount{
    "create_account",
    "INSERT INTO todo.account (name, role, token_hash, created) "
    "VALUES ($1::text, $2::text, $3::text, todo.at_ms($4::int8)) "
    "ON CONFLICT (name) DO NOTHING RETURNING 1"};
// $1 token hash. The UNIQUE index on account.token_hash.
inline constexpr Statement kFindAccount{
    "find_account",
    "SELECT name, role, token_hash, todo.ms(created) FROM todo.account "
    "WHERE token_hash = $1::text"};
// account primary key order (no sort), tally primary key per account.
inline constexpr Statement kListUsers{
    "list_users",
    "SELECT a.name, a.role, coalesce(t.open_count, 0), coalesce(t.done_count, 0), "
    "todo.ms(t.last_update_time) FROM todo.account a "
    "LEFT JOIN todo.tally t ON t.td_user = a.name ORDER BY a.name"};

// $1 user, $2 after, $3 limit. event_user_id: a range of (td_user, id), no sort.
inline constexpr Statement kListEventsOfUser{
    "list_events_of_user",
    "SELECT id, todo.ms(at), td_user, actor, kind, task_id, task FROM todo.event "
    "WHERE td_user = $1::text AND id > $2::int8 ORDER BY id LIMIT $3::int4"};
// $1 after, $2 limit. event primary key range (all users).
inline constexpr Statement kListEventsAny{
    "list_events_any",
    "SELECT id, todo.ms(at), td_user, actor, kind, task_id, task FROM todo.event "
    "WHERE id > $1::int8 ORDER BY id LIMIT $2::int4"};

// Commit positions (store.h, Written::position; Actor::min_position). kWalPosition runs after
// a write's COMMIT, in a transaction of its own in the same round trip: the WAL insert
// position then is at or past the end of the commit record, so a replica that has replayed
// up to it has the write (pg_current_wal_lsn is not enough: it can lag the insert position).
// No table.
inline constexpr Statement kWalPosition{"wal_position", "SELECT pg_current_wal_insert_lsn()::text"};
// $1 position. True on a primary, and on a replica that has replayed up to $1. No table.
inline constexpr Statement kReplayedPast{
    "replayed_past",
    "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::text::pg_lsn"};

// The change log's stable horizon (PostgresStore::EventHorizon, docs/decisions/0006), sent
// in this order, each in its own implicit transaction: the last event id drawn (the
// sequence; no index), then a fresh transaction id, committed at once, then the oldest
// transaction id still running, asked again until it is past the fresh one.
inline constexpr Statement kLastEventId{
    "last_event_id",
    "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM todo.event_id_seq"};
inline constexpr Statement kNewXid{"new_xid", "SELECT pg_current_xact_id()::text"};
inline constexpr Statement kOldestRunningXid{
    "oldest_running_xid", "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"};


// Everything a connection runs or prepares when it opens.
inline constexpr const Statement* kAllStatements[] = {
    &kSessionSetup,  &kBegin,        &kCommit,       &kRollback,         &kPing,
    &kLockUser,      &kEnsureTally,  &kAddTask,      &kGetTaskOfUser,    &kGetAnyTask,
    &kLockUsers,     &kAddTasks,     &kRemoveOldests,    &kAddTasksOrReplay,
    &kRemoveOldestsOrReplay,
    &kListUserOpen,  &kListUserDone, &kListUserAll,  &kListAnyOpen,      &kListAnyDone,
    &kListAny,       &kUpdateTask,   &kRemoveTask,   &kRemoveOldest,     &kImportExisting,
    &kImportInsert,  &kFindRequest,  &kPurgeRequests,
    &kCreateAccount, &kFindAccount,  &kListUsers,    &kListEventsOfUser, &kListEventsAny,
    &kLastEventId,   &kNewXid,       &kOldestRunningXid, &kWalPosition,      &kReplayedPast,
};

}  // namespace todo::store::pg

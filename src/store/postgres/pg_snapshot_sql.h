// The statements of PostgresStore::Snapshot (docs/decisions/0007), prepared on every
// connection with those of pg_sql.h. The pages themselves are kListAny's.
//
// A snapshot is one REPEATABLE READ transaction whose snapshot is taken while it holds a
// SHARE lock on todo.event. Every write appends its events with an INSERT that holds ROW
// EXCLUSIVE on todo.event from the start of its statement (before it draws an event id)
// until it commits, and SHARE conflicts with ROW EXCLUSIVE: so while the lock is held no
// transaction has drawn an event id without having ended, and none can draw one. The
// snapshot taken then therefore shows every event up to the largest id it sees, and none
// after: an exact cut of the change log. The lock is taken inside a savepoint and released
// by rolling back to it (the transaction's snapshot stays), so writers wait at most one
// round trip; with a short lock_timeout the snapshot backs off and tries again rather than
// queue writers behind it (or deadlock with a batch that holds a tally row one of them
// waits for).
#pragma once

#include "store/postgres/pg_connection.h"

namespace todo::store::pg {

// No table, no index: transaction control.
inline constexpr Statement kSnapshotBegin{"snapshot_begin",
                                          "BEGIN ISOLATION LEVEL REPEATABLE READ"};
inline constexpr Statement kSnapshotSavepoint{"snapshot_savepoint", "SAVEPOINT snapshot_cut"};
inline constexpr Statement kSnapshotLockTimeout{"snapshot_lock_timeout",
                                                "SET LOCAL lock_timeout = '100ms'"};
// Table lock only; no rows read.
inline constexpr Statement kSnapshotLockLog{"snapshot_lock_log",
                                            "LOCK TABLE todo.event IN SHARE MODE"};
// The first query: takes the transaction's snapshot. event primary key (its last entry);
// tally primary key (every user's counters: the number of tasks without counting them).
inline constexpr Statement kSnapshotHead{
    "snapshot_head",
    "SELECT (SELECT coalesce(max(id), 0) FROM todo.event), "
    "todo.ms(date_trunc('milliseconds', now())), "
    "(SELECT coalesce(sum(open_count + done_count), 0) FROM todo.tally)"};
inline constexpr Statement kSnapshotRelease{"snapshot_release",
                                            "ROLLBACK TO SAVEPOINT snapshot_cut"};
inline constexpr Statement kSnapshotReadOnly{"snapshot_read_only", "SET TRANSACTION READ ONLY"};

inline constexpr const Statement* kSnapshotStatements[] = {
    &kSnapshotBegin, &kSnapshotSavepoint, &kSnapshotLockTimeout, &kSnapshotLockLog,
    &kSnapshotHead,  &kSnapshotRelease,   &kSnapshotReadOnly,
};

// The SQLSTATE of a lock_timeout (lock_not_available).
inline constexpr char kLockNotAvailableState[] = "55P03";

}  // namespace todo::store::pg

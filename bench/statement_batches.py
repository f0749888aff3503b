#!/usr/bin/env python3
"""Writes the input of bench/statement_cost: N batches as todod sends them under the
developer mix, for a PostgreSQL backend in single-user mode.

Each batch locks 28 users (kLockUsers), adds one task for each of 14 of them (kAddTasks) and
removes the oldest open task of each of the other 14 (kRemoveOldests), every write with an
Idempotency-Key, in one transaction. The statements' SQL is read from pg_sql.h, so the
input follows the working tree. Users are bench-dev0001..1000 (bench/compare's); keys are
random but the same for every run (fixed seed).

  statement_batches.py PG_SQL_H BATCHES PART > input
PART: all (the three statements), lock (kLockUsers only), lock+add (without the removes).
"""
import random
import re
import sys
import uuid

WRITES = 14  # adds, and as many remove-oldests, per batch


def statement(source, name):
    match = re.search(r'inline constexpr Statement ' + name + r'\{"[a-z_]+", R"sql\((.*?)\)sql"\};',
                      source, re.S)
    if not match:
        sys.exit(f"statement_batches: {name} not found in pg_sql.h")
    return re.sub(r'--[^\n]*', '', match.group(1)).strip()


def array(values, sql_type):
    return "ARRAY[" + ",".join(values) + "]::" + sql_type


def quoted(text):
    return "'" + text + "'"


def main():
    source = open(sys.argv[1]).read()
    batches = int(sys.argv[2])
    part = sys.argv[3]
    lines = [
        "SET plan_cache_mode = force_generic_plan",  # as todod's sessions (kSessionSetup)
        "SET synchronous_commit = off",  # no flush waits under valgrind; same work otherwise
        "PREPARE lk(text[]) AS " + statement(source, "kLockUsers"),
        "PREPARE ad(text[], text[], text[], int4[], text[]) AS " + statement(source, "kAddTasks"),
        "PREPARE rm(text[], int4[], text[], int4[], text[]) AS " +
        statement(source, "kRemoveOldests"),
    ]
    rng = random.Random(11)
    for _ in range(batches):
        first = rng.randint(1, 1000 - 2 * WRITES + 1)
        users = [quoted("bench-dev%04d" % (first + i)) for i in range(2 * WRITES)]
        keys = [quoted(uuid.UUID(int=rng.getrandbits(128)).hex) for _ in range(2 * WRITES)]
        lines += ["BEGIN", "EXECUTE lk(%s)" % array(users, "text[]")]
        if part in ("all", "lock+add"):
            lines.append("EXECUTE ad(%s, %s, %s, %s, %s)" % (
                array(users[:WRITES], "text[]"),
                array([quoted("bench task")] * WRITES, "text[]"),
                array(keys[:WRITES], "text[]"), array(["201"] * WRITES, "int4[]"),
                array([quoted("fingerprint")] * WRITES, "text[]")))
        if part == "all":
            lines.append("EXECUTE rm(%s, %s, %s, %s, %s)" % (
                array(users[WRITES:], "text[]"), array(["1"] * WRITES, "int4[]"),
                array(keys[WRITES:], "text[]"), array(["200"] * WRITES, "int4[]"),
                array([quoted("fingerprint")] * WRITES, "text[]")))
        lines.append("COMMIT")
    # Single-user mode with -j: a statement ends at a semicolon followed by an empty line.
    sys.stdout.write("".join(line + ";\n\n" for line in lines))


if __name__ == "__main__":
    main()

-- The same eight keyed adds as adds_one_statement_each.sql in ONE statement over arrays
-- (a sketch of statement-level batching: one lock step for the users in order, one
-- insert per table, the tally upsert grouped by user).
-- On a todod schema seeded like bench/compare's: see docs/benchmarks.md, third session.
\set u0 0 + random(1, 125)
\set k0 random(1, 1000000000000)
\set u1 125 + random(1, 125)
\set k1 random(1, 1000000000000)
\set u2 250 + random(1, 125)
\set k2 random(1, 1000000000000)
\set u3 375 + random(1, 125)
\set k3 random(1, 1000000000000)
\set u4 500 + random(1, 125)
\set k4 random(1, 1000000000000)
\set u5 625 + random(1, 125)
\set k5 random(1, 1000000000000)
\set u6 750 + random(1, 125)
\set k6 random(1, 1000000000000)
\set u7 875 + random(1, 125)
\set k7 random(1, 1000000000000)
WITH x AS (   SELECT * FROM unnest(ARRAY['bench-dev' || lpad(:u0::text, 4, '0'),'bench-dev' || lpad(:u1::text, 4, '0'),'bench-dev' || lpad(:u2::text, 4, '0'),'bench-dev' || lpad(:u3::text, 4, '0'),'bench-dev' || lpad(:u4::text, 4, '0'),'bench-dev' || lpad(:u5::text, 4, '0'),'bench-dev' || lpad(:u6::text, 4, '0'),'bench-dev' || lpad(:u7::text, 4, '0')], ARRAY['k' || :k0,'k' || :k1,'k' || :k2,'k' || :k3,'k' || :k4,'k' || :k5,'k' || :k6,'k' || :k7]) WITH ORDINALITY AS x(u, key, ord)), lk AS (SELECT 1 FROM todo.tally WHERE td_user IN (SELECT u FROM x) ORDER BY td_user FOR UPDATE), i AS (SELECT x.*, nextval('todo.element_id_seq') AS id, date_trunc('milliseconds', now()) AS at,              (SELECT count(*) FROM lk) AS locked FROM x ORDER BY x.ord), k AS (   INSERT INTO todo.request (td_user, key, fingerprint, status, body, at, result)   SELECT i.u, i.key, 'fp', 201, '', now(),          json_build_array(i.id, 'task text', todo.ms(i.at), todo.ms(i.at), NULL)::text   FROM i WHERE i.locked >= 0   ON CONFLICT (td_user, key) DO NOTHING   RETURNING td_user, key), t AS (   INSERT INTO todo.element (id, td_user, init_time, last_update_time, task)   OVERRIDING SYSTEM VALUE   SELECT i.id, i.u, i.at, i.at, 'task text' FROM i JOIN k ON k.td_user = i.u AND k.key = i.key   ORDER BY i.ord   RETURNING id, td_user, init_time), e AS (   INSERT INTO todo.event (at, td_user, actor, kind, task_id, task)   SELECT t.init_time, t.td_user, t.td_user, 'created', t.id, 'task text' FROM t ORDER BY t.id   RETURNING id), c AS (   INSERT INTO todo.tally AS y (td_user, open_count, done_count, last_update_time)   SELECT t.td_user, count(*), 0, max(t.init_time) FROM t GROUP BY t.td_user ORDER BY t.td_user   ON CONFLICT (td_user) DO UPDATE   SET open_count = y.open_count + excluded.open_count,       last_update_time = greatest(y.last_update_time, excluded.last_update_time)) SELECT t.id, todo.ms(t.init_time) FROM t; 

-- The developers' mix of todo-sim (45% add, 45% remove the caller's oldest open task,
-- 10% list the caller's first 50 open tasks) as bare SQL on todod's own tables: what a
-- client talking straight to the database would run. Users are bench-dev0001..bench-dev1000.
\set r random(1, 100)
\set u random(1, 1000)
\if :r <= 45
INSERT INTO todo.element (td_user, init_time, last_update_time, task)
  VALUES ('bench-dev' || lpad(:u::text, 4, '0'), now(), now(), 'pgbench task');
\elif :r <= 90
DELETE FROM todo.element WHERE id = (
  SELECT id FROM todo.element
  WHERE td_user = 'bench-dev' || lpad(:u::text, 4, '0') AND done_time IS NULL
  ORDER BY id LIMIT 1);
\else
SELECT id, td_user, init_time, last_update_time, done_time, task FROM todo.element
  WHERE td_user = 'bench-dev' || lpad(:u::text, 4, '0') AND done_time IS NULL
  ORDER BY id LIMIT 50;
\endif

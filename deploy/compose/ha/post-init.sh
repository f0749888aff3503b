#!/bin/bash
# Patroni's bootstrap.post_init: called once with a superuser connection URL on the new
# primary. Makes the role and database todod uses; the password comes from the environment.
set -euo pipefail
: "${TODO_DB_PASSWORD:?post-init: TODO_DB_PASSWORD is not set}"
psql -v ON_ERROR_STOP=1 -v pw="$TODO_DB_PASSWORD" "$1" <<'SQL'
CREATE ROLE todo LOGIN PASSWORD :'pw';
CREATE DATABASE todo OWNER todo;
SQL

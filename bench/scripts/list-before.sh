#!/bin/sh
# The screening list statement as it was before migration 0017 (each filter
# always present, as `($n = '' OR column = $n)`, over the index on
# (scope, occurred_us)), with the parameters the list API bound, timed by
# the databases' own shells. The databases are ones that
# `shouwang-bench screenings --only stats --keep FILE --pg-keep NAME`
# filled at commit 9bbdb2d, with the schema of that time:
#
#   git checkout 9bbdb2d && cargo build --release -p shouwang-bench
#   target/release/shouwang-bench screenings --only stats --keep /var/tmp/base10m.db --pg-keep shouwang_base10m
#   bench/scripts/list-before.sh /var/tmp/base10m.db postgres://postgres@127.0.0.1:5432/shouwang_base10m
#
# SQLite: three runs each, with the plan. PostgreSQL: seven runs of a
# prepared statement (the first five planned for their values, then the
# generic plan sqlx's cached statements settle on), after ANALYZE.
set -eu
DB=${1:-/var/tmp/base10m.db}
PG=${2:-postgres://postgres@127.0.0.1:5432/shouwang_base10m}
NOW=$(($(date +%s) * 1000000))
FROM4W=$((NOW - 28 * 86400000000))
MIN=-9223372036854775808
MAX=9223372036854775807
COLUMNS="id, checkpoint_id, scope, occurred_us, recorded_us, officer_id, direction, plate, vehicle_type, people_count, cargo, pass_number, outcome, note, flags, erased_us"
WHERE="scope >= \$1 AND scope < \$2 AND (\$3 = 0 OR checkpoint_id = \$3) AND occurred_us >= \$4 AND occurred_us < \$5 AND (\$6 = '' OR plate = \$6) AND (\$7 = '' OR outcome = \$7) AND (\$8 = 0 OR flags <> 0)"
SQL="SELECT $COLUMNS FROM screenings WHERE $WHERE ORDER BY occurred_us DESC, id DESC LIMIT \$9;"

sqlite_run() { # label post from plate
    echo "-- SQLite: $1"
    sqlite3 "$DB" <<SQL | grep -E "^(Run Time|QUERY|[|\`]--)"
.param init
.param set \$1 '/1/'
.param set \$2 '/10'
.param set \$3 $2
.param set \$4 $3
.param set \$5 $MAX
.param set \$6 '$4'
.param set \$7 ''
.param set \$8 0
.param set \$9 50
EXPLAIN QUERY PLAN $SQL
.timer on
$SQL
$SQL
$SQL
SQL
}

pg_run() { # label post from plate
    echo "-- PostgreSQL: $1"
    EXEC="EXECUTE list('/1/', '/10', $2, $3, $MAX, '$4', '', 0, 50);"
    psql -q "$PG" <<SQL | grep -E "^Time"
PREPARE list(text, text, bigint, bigint, bigint, text, text, bigint, bigint) AS $SQL
\\o /dev/null
\\timing on
$EXEC
$EXEC
$EXEC
$EXEC
$EXEC
$EXEC
$EXEC
SQL
}

PLATE=$(sqlite3 "$DB" "SELECT plate FROM screenings WHERE occurred_us >= $FROM4W AND plate IS NOT NULL LIMIT 1")
sqlite_run "the county's newest 50" 0 "$MIN" ''
sqlite_run "one post's newest 50" 7 "$MIN" ''
sqlite_run "one plate over four weeks, newest 50" 0 "$FROM4W" "$PLATE"

psql -q "$PG" -c "ANALYZE"
PLATE=$(psql -At "$PG" -c "SELECT plate FROM screenings WHERE occurred_us >= $FROM4W AND plate IS NOT NULL LIMIT 1")
pg_run "the county's newest 50" 0 "$MIN" ''
pg_run "one post's newest 50" 7 "$MIN" ''
pg_run "one plate over four weeks, newest 50" 0 "$FROM4W" "$PLATE"

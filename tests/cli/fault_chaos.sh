#!/bin/sh
# fault_chaos.sh -- `make test`'s short run of tests/fault/chaos.sh: agents
# sync through the chaos proxy with 20 % drop and 20 % duplication (plus
# delay, reordering and week-old replays), then the checker's figure line
# (`make soak` runs it long).
# Under a wrapper (make check-valgrind: DN_WRAP) 1 round a week.
[ -n "${DN_WRAP:-}" ] && rounds=1 || rounds=2
exec env DN_ROUNDS="${DN_ROUNDS:-$rounds}" DN_DROP="${DN_DROP:-20}" DN_DUP="${DN_DUP:-20}" \
    sh "$(dirname "$0")/../fault/chaos.sh"

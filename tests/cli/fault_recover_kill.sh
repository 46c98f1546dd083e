#!/bin/sh
# fault_recover_kill.sh -- `make test`'s short run of
# tests/fault/recover_kill.sh: `recover` SIGKILLed 30 times while it pulls a
# chain of several chunks and rebuilds the log, then the checker's figure
# line (`make soak` can run it long with DN_CYCLES).
# Under a wrapper (make check-valgrind: DN_WRAP) 5 kills.
[ -n "${DN_WRAP:-}" ] && cycles=5 || cycles=30
exec env DN_CYCLES="${DN_CYCLES:-$cycles}" sh "$(dirname "$0")/../fault/recover_kill.sh"

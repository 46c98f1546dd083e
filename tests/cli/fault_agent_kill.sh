#!/bin/sh
# fault_agent_kill.sh -- `make test`'s short run of tests/fault/agent_kill.sh:
# the agent SIGKILLed 200 times while recording and syncing, then the
# checker's figure line (`make soak` runs it long).
# Under a wrapper (make check-valgrind: DN_WRAP) 10 kills: there the test
# looks for memory errors on the paths a kill leaves behind, not for counts.
[ -n "${DN_WRAP:-}" ] && cycles=10 || cycles=200
exec env DN_CYCLES="${DN_CYCLES:-$cycles}" sh "$(dirname "$0")/../fault/agent_kill.sh"

#!/bin/sh
# fault_down_kill.sh -- `make test`'s short run of tests/fault/down_kill.sh:
# `sync` SIGKILLed 20 times while it uploads a shop's pending sales and pulls
# HQ's catalogue of several chunks (HQ changing prices between the kills),
# each kill's agent.db holding whole chunks only, then the checker's figure
# line (`make soak` can run it long with DN_CYCLES).
# Under a wrapper (make check-valgrind: DN_WRAP) 5 kills.
[ -n "${DN_WRAP:-}" ] && cycles=5 || cycles=20
exec env DN_CYCLES="${DN_CYCLES:-$cycles}" sh "$(dirname "$0")/../fault/down_kill.sh"

#!/bin/sh
# fault_agent_kill.sh -- `make test`'s short run of tests/fault/agent_kill.sh:
# the agent SIGKILLed 200 times while recording and syncing, then the
# checker's figure line (`make soak` runs it long).
exec env DN_CYCLES="${DN_CYCLES:-200}" sh "$(dirname "$0")/../fault/agent_kill.sh"

#!/bin/sh
# fault_server_kill.sh -- `make test`'s short run of
# tests/fault/server_kill.sh: the server SIGKILLed (or stopped by its
# commit hook) 200 times while agents sync, then the checker's figure line
# (`make soak` runs it long).
exec env DN_CYCLES="${DN_CYCLES:-200}" sh "$(dirname "$0")/../fault/server_kill.sh"

#!/bin/sh
# soak.sh -- `make soak`: the fault tests, long.  Runs tests/fault/
# agent_kill.sh, server_kill.sh, recover_kill.sh and down_kill.sh with
# DN_SOAK_CYCLES kills each (default 1,000) and chaos.sh with DN_SOAK_ROUNDS
# rounds per week (default 10), each printing its seed and its checker
# figure line; ends with one summary line and exits non-zero if any failed.
# DN_SEED fixes the seed of all of them.  Environment as for the tests
# (DN_BIN ...).
set -u
dir=$(dirname "$0")
cycles=${DN_SOAK_CYCLES:-1000}
rounds=${DN_SOAK_ROUNDS:-10}
pass=0
fail=0
failed=""
for t in agent_kill server_kill recover_kill down_kill chaos; do
    echo "== soak/$t"
    start=$(date +%s)
    DN_CYCLES=$cycles DN_ROUNDS=$rounds sh "$dir/$t.sh"
    rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
        echo "-- soak/$t: ok (${secs}s)"
    else
        fail=$((fail + 1))
        failed="$failed $t"
        echo "-- soak/$t: FAILED (exit $rc, ${secs}s)"
    fi
done
if [ -n "$failed" ]; then echo "failed:$failed"; fi
echo "soak: $pass passed, $fail failed"
[ $fail -eq 0 ]

#!/bin/sh
# run.sh B BIN -- runs every test of dealernet and ends with one summary line.
#
#   B    build folder holding tests/unit/test_* (cmocka programs)
#   BIN  folder holding the programs the CLI tests drive
#
# Unit tests are programs; CLI, crash and integration tests are shell scripts
# in tests/cli/ that get DN_BIN (and DN_WRAP, a command prefix such as
# valgrind).  A test that exits 77 was skipped (automake's convention).
# DN_VALGRIND=1 runs unit and CLI tests under valgrind memcheck.
set -u
B=${1:-build}
BIN=${2:-bin}
pass=0
fail=0
skip=0
failed=""

WRAP=""
if [ "${DN_VALGRIND:-}" = 1 ]; then
    WRAP="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
fi

run() {
    name=$1
    shift
    echo "== $name"
    start=$(date +%s)
    "$@"
    rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
        echo "-- $name: ok (${secs}s)"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1))
        echo "-- $name: skipped"
    else
        fail=$((fail + 1))
        failed="$failed $name"
        echo "-- $name: FAILED (exit $rc)"
    fi
}

for t in "$B"/tests/unit/test_*; do
    case "$t" in *.o | *.d) continue ;; esac
    [ -x "$t" ] || continue
    # shellcheck disable=SC2086
    run "unit/$(basename "$t")" $WRAP "$t"
done

# The deterministic simulation (tests/sim): DN_SIM_SEEDS seeds (2,000); a few
# in this process under valgrind.
for t in "$B"/tests/sim/dn_*; do
    case "$t" in *.o | *.d) continue ;; esac
    [ -x "$t" ] || continue
    if [ -n "$WRAP" ]; then
        # shellcheck disable=SC2086
        run "sim/$(basename "$t")" $WRAP "$t" --seeds 3 --jobs 0 --repeat 1 --bug-check 0
    else
        run "sim/$(basename "$t")" "$t" --seeds "${DN_SIM_SEEDS:-2000}"
    fi
done

for t in tests/cli/*.sh; do
    [ -f "$t" ] || continue
    run "cli/$(basename "$t" .sh)" env DN_BIN="$BIN" DN_WRAP="$WRAP" sh "$t"
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]

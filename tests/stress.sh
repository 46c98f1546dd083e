#!/bin/sh
# stress.sh [RUNS] -- runs `make test` RUNS times in a row (default 3, or
# $DN_STRESS_RUNS) while `stress-ng --cpu <nproc>` keeps every core busy
# beside it: the suite must not depend on an idle machine.  `make stress`
# runs it.
#
# It installs stress-ng when missing (deploy/deps.sh's check: nothing to do
# when present; apt-get as root or through sudo, no questions asked), builds
# once before the load starts (so each run's time is the tests' own), then
# prints one figure line per run and a summary line, e.g.
#
#   stress: run 2/3: 51 passed, 0 failed, 0 skipped in 612 s under stress-ng --cpu 2
#   stress: 3 runs, 3 clean, 0 failed under stress-ng --cpu 2
#
# Each run's whole output is kept in $DN_STRESS_LOGS (default a new folder
# under ${TMPDIR:-/tmp}, printed first); a failed run also prints its
# "failed: ..." line and the last lines of each failed test.  The load is
# stopped on every exit (the EXIT trap; INT, TERM and HUP exit through it),
# and stress-ng's own --timeout bounds its life should the trap never run.
# Exits 0 only if every run passed; 69 when stress-ng cannot be had.
set -u
cd "$(dirname "$0")/.." || exit 1

RUNS=${1:-${DN_STRESS_RUNS:-3}}
case $RUNS in
'' | *[!0-9]* | 0)
    echo "stress: RUNS must be a positive number, not '$RUNS'" >&2
    exit 64
    ;;
esac
CPUS=$(nproc 2>/dev/null || echo 2)
LOAD="stress-ng --cpu $CPUS"

if ! command -v stress-ng >/dev/null 2>&1; then
    sh deploy/deps.sh stress-ng || exit 69
fi
command -v stress-ng >/dev/null 2>&1 || {
    echo "stress: stress-ng is not installed (apt-get install stress-ng)" >&2
    exit 69
}

LOGS=${DN_STRESS_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/dn-stress.XXXXXX")}
mkdir -p "$LOGS" || exit 1
echo "stress: logs in $LOGS"

# Build first, unloaded: a broken build is not a stress finding, and the
# runs' times then count tests only.
if ! make --no-print-directory deps >"$LOGS/build.log" 2>&1 ||
    ! make --no-print-directory build-tests -j"$CPUS" >>"$LOGS/build.log" 2>&1; then
    echo "stress: the build failed; its log: $LOGS/build.log" >&2
    tail -n 20 "$LOGS/build.log" >&2
    exit 1
fi

LOAD_PID=
stop_load() {
    if [ -n "$LOAD_PID" ]; then
        # stress-ng's parent stops its workers on SIGTERM; wait for that.
        kill -TERM "$LOAD_PID" 2>/dev/null
        wait "$LOAD_PID" 2>/dev/null
        LOAD_PID=
    fi
}
trap 'stop_load' EXIT
trap 'exit 130' INT TERM HUP

# The bound: two hours a run, far above any run seen under load.
stress-ng --cpu "$CPUS" --timeout $((RUNS * 7200))s --quiet >"$LOGS/stress-ng.log" 2>&1 &
LOAD_PID=$!
sleep 1
if ! kill -0 "$LOAD_PID" 2>/dev/null; then
    echo "stress: $LOAD did not start: $(head -c 300 "$LOGS/stress-ng.log")" >&2
    exit 1
fi

clean=0
bad=0
i=0
while [ "$i" -lt "$RUNS" ]; do
    i=$((i + 1))
    log=$LOGS/run-$i.log
    start=$(date +%s)
    make --no-print-directory test >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
    [ -n "$summary" ] || summary="no summary line (make exited $rc)"
    kill -0 "$LOAD_PID" 2>/dev/null || LOAD="$LOAD (ended early!)"
    echo "stress: run $i/$RUNS: $summary in $secs s under $LOAD"
    if [ "$rc" -eq 0 ]; then
        clean=$((clean + 1))
    else
        bad=$((bad + 1))
        grep '^failed:' "$log"
        for t in $(sed -n 's/^-- \(.*\): FAILED.*/\1/p' "$log"); do
            echo "--- $t, its last lines:"
            awk -v t="$t" '$0 == "== " t { on = 1; n = 0; next }
                           on && /^-- / { on = 0 }
                           on { buf[n++ % 15] = $0 }
                           END { for (k = (n > 15 ? n - 15 : 0); k < n; k++) print buf[k % 15] }' "$log"
        done
    fi
done
echo "stress: $RUNS runs, $clean clean, $bad failed under $LOAD"
[ "$bad" -eq 0 ]

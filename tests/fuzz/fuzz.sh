#!/bin/sh
# fuzz.sh [-k] FUZZ_B SECONDS TARGET... -- runs each libFuzzer target for
# SECONDS and prints one figure line per target:
#
#   fuzz: fuzz_ingest 30 s, 412345 runs, 13745 exec/s, cov 2345, corpus 310, peak RSS 120 MiB, crashes 0
#
# FUZZ_B is the fuzz build folder (make fuzz-build; the targets are in
# FUZZ_B/tests/fuzz/).  Each target starts from its committed seeds,
# tests/fuzz/corpus/TARGET, which it only reads.  With -k (make fuzz) what
# it finds is kept and grown in FUZZ_B/corpus/TARGET from run to run;
# without (make test) it goes to a scratch folder removed afterwards.
# A crash, a leak, an invariant broken (abort) or an input slower than 10 s
# fails the run: its input is left in FUZZ_B/crashes/, libFuzzer's output
# in FUZZ_B/TARGET.PID.log, and the line to reproduce it is printed.
# Exit: 0 if every target ran clean, 1 if not.
set -u
keep=0
if [ "${1:-}" = -k ]; then
    keep=1
    shift
fi
if [ $# -lt 3 ]; then
    echo "usage: fuzz.sh [-k] FUZZ_B SECONDS TARGET..." >&2
    exit 64
fi
FB=$1
SECS=$2
shift 2
status=0
mkdir -p "$FB/crashes"
for t in "$@"; do
    bin=$FB/tests/fuzz/$t
    seeds=tests/fuzz/corpus/$t
    if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
        echo "fuzz: $t: no $bin or no $seeds (run make fuzz-build)" >&2
        status=1
        continue
    fi
    if [ $keep -eq 1 ]; then
        work=$FB/corpus/$t
        mkdir -p "$work"
    else
        work=$(mktemp -d "${TMPDIR:-/tmp}/dn-fuzz-$t.XXXXXX")
    fi
    log=$FB/$t.$$.log # kept only when the run fails
    # -rss_limit_mb: the targets peak near 400-500 MiB, most of it ASan's
    # quarantine of freed memory; a leak or a blow-up past 1 GiB is a
    # failure, not a slow machine.
    "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$FB/crashes/$t-" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    n=$(find "$work" -type f | wc -l | tr -d ' ')
    crashes=0
    [ $rc -ne 0 ] && crashes=1
    echo "fuzz: $t $SECS s, ${runs:-0} runs, ${eps:-0} exec/s, cov ${cov:-0}," \
        "corpus $n, peak RSS ${rss:-?} MiB, crashes $crashes"
    if [ $rc -ne 0 ]; then
        status=1
        echo "fuzz: $t FAILED (exit $rc); the end of $log:"
        grep -av '^#' "$log" | tail -n 25
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        [ -n "$art" ] && echo "fuzz: reproduce with: $bin $art"
    fi
    [ $keep -eq 1 ] || rm -rf "$work"
    [ $rc -eq 0 ] && rm -f "$log"
done
exit $status

#!/bin/sh
# demo_zh.sh -- `make demo` under LANG=zh_CN.UTF-8: Chinese, aligned, the
# same figures as in English (issue 13, "Done when").
#
# Runs deploy/demo.sh twice on one pinned clock (2026-11-20 10:00:00 UTC,
# as cli/demo_figures pins it, so both runs fall in one month), once under
# LANG=C.UTF-8 and once under LANG=zh_CN.UTF-8, each in its own throwaway
# folder (the demo makes it, and sets the DEALERNET_* variables of its HQ
# itself; any of the caller's are unset), and lets tests/lib/demo_zh.py
# compare them:
#   (a) every section (one command's output) holds the same decimal amounts
#       in the same order in both runs (67 amounts in 49 sections), and the
#       closing balances computed by hand in cli/demo_figures hold in both,
#       read at each run's own label (closing / 期末余额):
#         DEALER-BJ  5.99+1.48+3.00+5.92-1.48+16.50-1.65 = 29.76
#         RESELLER-7 44.00+5.00+5.50-4.40-0.55           = 49.55
#         Wang Fang  5.00+0.60                           =  5.60
#       as do the team volume (822.20, refunds 73.50, net 748.70) and the
#       group buy (550.00 less 55.00 = 495.00);
#   (b) the Chinese run's table headers and statement labels are the
#       catalogue's (期初余额, 期末余额, 佣金, 推荐奖励 ...), and every line
#       of the English run that is a message the catalogue translates
#       shows translated in the same section of the Chinese run;
#   (c) every table and label block of the agent's and HQ's sections has
#       its columns at the same display column on every line, in both runs
#       (tests/lib/table_align.py, as cli/display_width).
# The checker's own self-test runs first: it catches a changed amount, a
# row padded by bytes, a message and a header left in English.
set -u
BIN=${DN_BIN:-bin}
[ -n "${DN_WRAP:-}" ] && exit 77 # two whole demos under valgrind prove nothing more
if ! command -v faketime >/dev/null 2>&1; then
    echo "demo_zh: skipped, faketime is not installed (make deps)"
    exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "demo_zh: skipped, python3 is not installed"
    exit 77
fi
# the catalogue the programs read: DEALERNET_LOCALEDIR, else the build
# folder paired with BIN (bin -> build/locale, bin-asan -> build-asan/locale)
base=$(basename "$BIN")
LOCALEDIR=${DEALERNET_LOCALEDIR:-$(dirname "$BIN")/build${base#bin}/locale}
if [ ! -f "$LOCALEDIR/zh_CN/LC_MESSAGES/dealernet.mo" ]; then
    echo "demo_zh: no catalogue $LOCALEDIR/zh_CN/LC_MESSAGES/dealernet.mo (make build)" >&2
    exit 1
fi
en=$(mktemp)
zh=$(mktemp)
trap 'rm -f "$en" "$zh"' EXIT
fail=0
python3 tests/lib/demo_zh.py --self-test || fail=1

# The clock as cli/demo_figures pins it (its comment says why): libfaketime
# preloaded by hand, one offset from the real clock for every process of a
# run, monotonic clocks real.
. "$(dirname "$0")/../lib/net.sh"
START=$(date -u -d '2026-11-20 10:00:00' +%s)
# run LANG OUT: the demo under LANG, its output in OUT
run() {
    offset=$((START - $(env -u LD_PRELOAD -u FAKETIME date -u +%s)))
    [ "$offset" -ge 0 ] && offset=+$offset
    env -u LC_ALL -u LC_MESSAGES -u LANGUAGE -u FAKETIME_SHARED \
        -u DEALERNET_AGENT_DIR -u DEALERNET_SERVER -u DEALERNET_SERVER_KEY \
        -u DEALERNET_HQ_KEY -u DEALERNET_TOKEN \
        LANG="$1" LD_PRELOAD="$(net_faketime_lib)" FAKETIME="${offset}s" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        FAKETIME_DONT_FAKE_MONOTONIC=1 sh deploy/demo.sh "$BIN" >"$2" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAIL the demo under LANG=$1 exits $rc:"
        cat "$2"
        fail=1
    else
        echo "ok   the demo under LANG=$1: exit 0, $(wc -l <"$2") lines"
    fi
}
run C.UTF-8 "$en"
run zh_CN.UTF-8 "$zh"
python3 tests/lib/demo_zh.py "$en" "$zh" "$LOCALEDIR" || fail=1
[ "$fail" -eq 0 ] && echo "demo_zh: ok" || echo "demo_zh: FAILED"
[ "$fail" -eq 0 ]

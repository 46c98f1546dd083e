#!/bin/sh
# web_browser.sh -- the HQ web page in a real browser (issue 15, item 3):
# headless Chromium (Debian's chromium, driven by Debian's python3-selenium
# through chromedriver) logs in through the form, opens every page by its
# navigation links, table links and forms, reads each table from the DOM
# and compares it, cell by cell, with `dealernet-hq --json` for the same
# command and arguments; checks that every chart drew what its table
# holds, that no script failed, that each CSV link downloads what
# `dealernet-hq --csv` prints, that the Chinese page has Chinese headers,
# and that the logout button ends the session (tests/lib/web_browser.py
# drives the browser; this builds the network and asks dealernet-hq).
# A screenshot of every page, whole, is saved as NN-PAGE.png in the build
# folder's test-output/web_browser (build/ for bin/, build-asan/ for
# bin-asan/; DN_TEST_OUT=DIR: DIR/web_browser), made anew each run and
# kept after it, unlike the test's throwaway folder; its path is printed.
# Skipped (77) without /usr/bin/chromium, /usr/bin/chromedriver or the
# python3-selenium of /usr/bin/python3 (make deps installs them).
#
# The network is the README's worked example (hq_drill.sh's, whose
# drill-down figures are worked there): HQ (hq) -> REGION-N -> DEALER-BJ ->
# RESELLER-7, deploy/plan.ini, the shop SHOP-BJ1 of DEALER-BJ and the
# group leader's GROUP-7 of RESELLER-7, every program on a clock pinned to
# 2026-11-20 10:00 UTC (18:00 in the network's zone, Asia/Shanghai), so
# the overview's "last 30 days" are 2026-10-22 to 2026-11-20 and "this
# month" is 2026-11 whatever today is (readme_network in tests/lib/net.sh
# builds it).  Beyond hq_drill's:
#   - a fourth shop sale at SHOP-BJ1 (receipt 0004) credited to REGION-N
#     (not below the site's DEALER-BJ): held, the open exception
#     (RICE-5KG x 1 = 59.90);
#   - GROUP-7's threshold 500.00: the group buy (550.00) is flagged
#     large_sale, then acknowledged: an exception only ?all=1 shows;
#   - a payout of 10.00 to RESELLER-7 (reference BANK-1).
# By hand, RESELLER-7's statement for 2026-11 (opening 0.00):
#   commission 44.00, bonus 5.00, referral 5.50, clawbacks -4.40 and -0.55,
#   payout -10.00: closing 44.00 + 5.00 + 5.50 - 4.40 - 0.55 - 10.00 = 39.55.
# DEALER-BJ's: the shop's sales at level 0 (rice 5 %, oil 8 %): sale 1 rice
#   119.80 x 5 % = 5.99, oil 18.50 x 8 % = 1.48; sale 2 rice 59.90 x 5 % =
#   2.995 -> 3.00; sale 3 oil 74.00 x 8 % = 5.92, its refund of one oil of
#   four -5.92 / 4 = -1.48; the group buy at level 1: 16.50 and -1.65:
#   closing 5.99 + 1.48 + 3.00 + 5.92 - 1.48 + 16.50 - 1.65 = 29.76.
# REGION-N's: the shop's at level 1 (rice 2 %, oil 3 %): 119.80 x 2 % =
#   2.396 -> 2.40, 18.50 x 3 % = 0.555 -> 0.56, 59.90 x 2 % = 1.198 ->
#   1.20, 74.00 x 3 % = 2.22; the group buy at level 2: 5.50; commission
#   11.88, clawbacks -0.56 (the oil's) - 0.55 = -1.11: closing 10.77.  HQ
#   never earns: 0.00.  In 2026-10 every account is 0.00.
# The overview (2026-10-22 to 2026-11-20, all on 2026-11-20): sales
#   138.30 + 59.90 + 74.00 + 550.00 = 822.20 (the held sale counts nowhere),
#   refunds 18.50 + 55.00 = 73.50, net 748.70; by channel: store 138.30 +
#   74.00 = 212.30 (net 193.80), online 59.90, community 550.00 (net 495.00).
#   Team volume in 2026-11: DEALER-BJ, REGION-N and HQ have all four sales
#   (net 748.70), RESELLER-7 the group buy (net 495.00).
# Sites: SHOP-BJ1 applied seq 7 (2 members, 4 sales, a refund), GROUP-7 3
#   (a member, a sale, a refund), nothing pending at either.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init web_browser
PY=/usr/bin/python3 # Debian's, which has python3-selenium (not a pyenv's)
for need in /usr/bin/chromium /usr/bin/chromedriver "$PY"; do
    if [ ! -x "$need" ]; then
        echo "web_browser: skipped, $need is not installed (make deps)"
        exit 77
    fi
done
if ! "$PY" -c 'import selenium' 2>/dev/null; then
    echo "web_browser: skipped, the python3 module selenium is not installed (make deps)"
    exit 77
fi
net_pin_clock '2026-11-20 10:00:00'
NET_ZONE=Asia/Shanghai
server_init
server_start
WEB=http://127.0.0.1:$WEB_PORT

readme_network
hq_must site threshold GROUP-7 500.00
agent_must "$S" sale --line RICE-5KG:1 --seller REGION-N --json
HELD=$(json "$OUT" '$.id')
readme_network_sync
hq_must payout RESELLER-7 10.00 --ref BANK-1
hq_must exception resolve 2 --ack --reason "a group buy, as agreed"

# want NAME ARGS...: what dealernet-hq ARGS prints with --json and with
# --csv, in $T/want/NAME.json and NAME.csv: the figures the page must show.
mkdir "$T/want"
want() {
    want_name=$1
    shift
    hq_must "$@" --json
    cp "$OUT" "$T/want/$want_name.json"
    hq_must "$@" --csv
    cp "$OUT" "$T/want/$want_name.csv"
}
want days sales --by day --from 2026-10-22 --to 2026-11-20
want channels sales --by channel --from 2026-10-22 --to 2026-11-20
want teams sales --by partner --team --from 2026-11-01 --to 2026-11-20
want kpi kpi --period 2026-11
want earnings earnings --period 2026-11
want sites sites
want site_list site list
want exceptions exceptions
want exceptions_all exceptions --all
want statement_r7 statement RESELLER-7 --period 2026-11
want statement_bj statement DEALER-BJ --period 2026-11
want sale_buy sale "$BUY"
want sale_1 sale "$SALE1"
want sale_held sale "$HELD"
want earnings_oct earnings --period 2026-10
printf '{"buy": "%s", "sale1": "%s", "held": "%s"}\n' "$BUY" "$SALE1" "$HELD" >"$T/want/ids.json"
# the Chinese page's headers are dealernet-hq's under a Chinese LANG
hq_in zh_CN.UTF-8 earnings --period 2026-11
cp "$OUT" "$T/want/earnings_zh.txt"
hq_in zh_CN.UTF-8 sales --by day --from 2026-10-22 --to 2026-11-20
cp "$OUT" "$T/want/days_zh.txt"

# -- the browser -------------------------------------------------------------------
printf '%s\n' 'Tea-Leaf-Harbour-42' >"$T/pw"
RUN_STDIN=$T/pw
hq_must web user add alice --password-stdin
RUN_STDIN=
# The screenshots outlive the test's folder: in the build folder's
# test-output/web_browser (bin -> build, bin-asan -> build-asan), made anew.
SHOTS=${DN_TEST_OUT:-$(dirname "$(dirname "$DN_TOOLS")")/test-output}/web_browser
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
echo "web_browser: screenshots in $SHOTS"
set +e
timeout -k 5 $((120 * SLOW)) "$PY" "$(dirname "$0")/../lib/web_browser.py" "$WEB" alice \
    "$T/pw" "$T/want" "$SHOTS" "$SLOW" "$T/counts"
rc=$?
set -e
check "web_browser.py: exit" 0 "$rc"
if [ -s "$T/counts" ]; then
    read -r browser_pass browser_fail <"$T/counts"
    pass=$((pass + browser_pass))
    fail=$((fail + browser_fail))
fi

net_finish

#!/bin/sh
# web_vendor.sh -- the chart library vendored from the npm registry
# (issue 15, item 3) is the file its README names: server/web/vendor/README
# gives the package, its version, the tarball's integrity and the sha256 of
# chart.umd.min.js as copied from it; this checks the file against that
# sha256, and that the README's lines name one version throughout.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
V=$ROOT/server/web/vendor
# (net.sh for its check(); this test starts no server)
. "$ROOT/tests/lib/net.sh"
NET_NAME=web_vendor
pass=0
fail=0
net_need sha256sum
want=$(sed -n 's/^sha256: *//p' "$V/README")
version=$(sed -n 's/^version: *//p' "$V/README")
check "README: a sha256" 64 "${#want}"
check "chart.umd.min.js: the README's sha256" "$want" \
    "$(sha256sum "$V/chart.umd.min.js" | cut -d' ' -f1)"
check "chart.umd.min.js: the README's version in its banner" " * Chart.js v$version" \
    "$(sed -n 2p "$V/chart.umd.min.js")"
check "README: the tarball of that version" \
    "https://registry.npmjs.org/chart.js/-/chart.js-$version.tgz" \
    "$(sed -n 's/^tarball: *//p' "$V/README")"
check "README: a sha512 integrity" "sha512-" "$(sed -n 's/^integrity: *//p' "$V/README" | cut -c1-7)"
check "the license beside it" "The MIT License (MIT)" "$(sed -n 1p "$V/chart.js.LICENSE.md")"
net_finish

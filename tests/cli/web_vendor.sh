#!/bin/sh
# web_vendor.sh -- the chart library vendored from the npm registry
# (issue 15, item 3) is the file its README names: server/web/vendor/README
# gives the package, its version, the tarball's integrity and the sha256 of
# chart.umd.min.js as copied from it; this checks the file against that
# sha256, and that the README's lines name one version throughout.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
V=$ROOT/server/web/vendor
pass=0
fail=0
check() {
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
        echo "ok   $1: $3"
    else
        fail=$((fail + 1))
        echo "FAIL $1: expected '$2', got '$3'"
    fi
}
command -v sha256sum >/dev/null 2>&1 || { echo "web_vendor: skipped, no sha256sum"; exit 77; }
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
echo "web_vendor: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

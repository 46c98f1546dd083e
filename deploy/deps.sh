#!/bin/sh
# deps.sh [PACKAGE...] -- install the Debian packages dealernet needs, and
# nothing when they are all present.  Used by `make deps` (and so by make,
# make test and make demo).  Runs apt-get non-interactively as root, or
# through sudo.  Given packages, it checks and installs those instead (the
# same check, for a tool one target alone needs: tests/stress.sh's
# stress-ng).
# qrencode (the command) is for tests/unit/test_qr.c, which checks the
# drawing of dealernet-hq's QR codes against it.
# fonts-wqy-microhei (4 MB) lets the headless Chromium of
# tests/cli/web_browser.sh draw the Chinese page's screenshots in Chinese
# characters rather than empty boxes (a desktop has a CJK font already).
# libclang-rt-dev holds clang's libFuzzer and sanitizer runtimes (make fuzz,
# and the fuzz run of make test); the clang package does not pull it in.
# libpq-dev is PostgreSQL's client library, for bench_ledger's
# PostgreSQL-direct peer (built by build-tests); the server, postgresql, is
# installed by `make bench` alone (sh deploy/deps.sh postgresql).
set -eu

PACKAGES="build-essential pkg-config libzmq3-dev libprotobuf-c-dev
protobuf-c-compiler libsqlite3-dev libssl-dev libjansson-dev libinih-dev
libcmocka-dev sqlite3 clang libclang-rt-dev valgrind faketime libqrencode-dev
qrencode gettext libunistring-dev tzdata libmicrohttpd-dev chromium
chromium-driver python3-selenium fonts-wqy-microhei prometheus libpq-dev"
[ $# -gt 0 ] && PACKAGES="$*"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: missing packages:$missing; run as root: apt-get install$missing" >&2
    exit 69
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

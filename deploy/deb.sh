#!/bin/sh
# deb.sh WORK BIN -- builds dealernet's Debian package (make deb) from the
# programs in BIN, into WORK/dealernet_VERSION_ARCH.deb, and prints its path.
#
# No debhelper: the package is `make install-files DESTDIR=... PREFIX=/usr`
# staged in WORK/debian/dealernet (so it holds exactly what make install
# installs, from the one file list in the Makefile), with the man pages
# gzipped and the programs stripped as Debian ships them, a DEBIAN/control
# whose Depends dpkg-shlibdeps computes from the programs' own libraries
# (libzmq5, libprotobuf-c1, libsqlite3-0, libssl3, libjansson4, libinih1,
# and whatever a later version links, such as libqrencode4), and a
# postinst that creates the system users (systemd-sysusers) where systemd
# is.  The units live under /usr/lib, not /etc: they are not conffiles
# (an admin overrides them with `systemctl edit`).  DEB_MAINTAINER
# ("Name <address>") sets the Maintainer field.  The tools come with
# build-essential (dpkg-dev) and dpkg itself; `make deb` installs nothing.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: deb.sh WORK BIN" >&2
    exit 64
fi
WORK=$1
BIN=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "deb.sh: $tool not found: apt-get install dpkg-dev" >&2
        exit 69
    fi
done

VERSION=$(sed -n 's/^#define DN_VERSION "\(.*\)"$/\1/p' "$ROOT/common/dn_version.h")
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
PKG=dealernet
rm -rf "$WORK"
mkdir -p "$WORK/debian/$PKG/DEBIAN"
WORK=$(cd "$WORK" && pwd)
STAGE=$WORK/debian/$PKG
DEB=$WORK/${PKG}_${VERSION}_$ARCH.deb
# B (the environment; default build): the build folder holding the
# compiled catalogues, $(B)/locale, which make pairs with BIN.
make -s --no-print-directory -C "$ROOT" install-files DESTDIR="$STAGE" \
    PREFIX=/usr BIN="$BIN" B="${B:-build}" >/dev/null
gzip -9n "$STAGE"/usr/share/man/man1/*.1
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$STAGE"/usr/bin/*

# dpkg-shlibdeps reads debian/control and the package's folder under
# debian/: both are in WORK.
cat >"$WORK/debian/control" <<EOF
Source: $PKG

Package: $PKG
Architecture: any
EOF
set --
for f in "$STAGE"/usr/bin/*; do
    set -- "$@" "-edebian/$PKG/usr/bin/${f##*/}"
done
depends=$(cd "$WORK" && dpkg-shlibdeps -O -l"/usr/lib/$MULTIARCH" "$@" |
    sed -n 's/^shlibs:Depends=//p')
# tzdata is read, not linked: the server finds its network's time zone in
# /usr/share/zoneinfo (dn_time_zone_check), which dpkg-shlibdeps cannot see.
if [ -z "$depends" ]; then
    echo "deb.sh: dpkg-shlibdeps found no dependency" >&2
    exit 70
fi

cat >"$STAGE/DEBIAN/control" <<EOF
Package: $PKG
Version: $VERSION
Architecture: $ARCH
Maintainer: ${DEB_MAINTAINER:-dealernet maintainers <dealernet@localhost>}
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: $depends, tzdata
Section: misc
Priority: optional
Description: offline sales and partner commission ledger for distributor networks
 dealernet-agent records a shop's sales, refunds and member sign-ups
 offline in a hash-chained SQLite log and syncs them over CurveZMQ to
 dealernet-server, which folds them into a partner-hierarchy commission
 and referral ledger that headquarters runs with dealernet-hq.
 .
 This package holds the three programs, their systemd units, the system
 users (sysusers.d), man pages, bash completion and an example plan.
EOF

# postinst: the users the units run as.  The daemons are not started: each
# needs its folder initialised first (README, "Deploying under systemd").
cat >"$STAGE/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers dealernet.conf
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null || true
    fi
fi
EOF
cat >"$STAGE/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
fi
EOF
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"

dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"

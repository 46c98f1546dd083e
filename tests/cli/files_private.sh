#!/bin/sh
# files_private.sh -- files private by construction (issue 11, item 4).
#
# Proves, under umask 022, with a real server and agent on loopback:
#   - `dealernet-server init` and `dealernet-agent init` into pre-made 0755
#     folders leave the folders 0700 and every file 0600: central.db,
#     agent.db and their -wal and -shm (looked at while the server and the
#     agent daemon run, when those exist), server.key, hq.key, down.key, site.key and
#     curve.key (made by enroll);
#   - a world-writable folder, a group-writable one that is not shared
#     (no setgid) and, as root, one owned by another user are refused by
#     init and by every later start, agent and server alike, with exit 77
#     and the exact one-line message, whose command fixes it;
#   - a group-shared 2770 folder is accepted: its databases, -wal and -shm
#     are 0660 and its keys 0640, all of the folder's group;
#   - an agent.db left 0644 (an older version) is made 0600 with a warning,
#     and so is an hq.key that dealernet-hq is given 0644;
#   - as root with setpriv: a user outside the shared folder's group is
#     refused with the usermod that lets them in; a member (a clerk)
#     records into the folder the daemon's user made; a database there
#     that others can read and the clerk does not own is refused.
# Modes are read with stat, never inferred from access(): CI runs as root,
# which passes every permission check.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init files_private
umask 022
ME=$(id -un)

mode() {
    stat -c %a "$1"
}

group_of() {
    stat -c %G "$1"
}

# files NAME EXPECTED ACTUAL: check of the modes of files; counts them
# (one mode a word) into FILES_OK when they hold.
FILES_OK=0
files() {
    check "$1" "$2" "$3"
    [ "$2" != "$3" ] || FILES_OK=$((FILES_OK + $(echo "$2" | wc -w)))
}

# refused NAME MESSAGE: the last run exited 77 with exactly MESSAGE on
# stderr; counts it into REFUSED.
REFUSED=0
refused() {
    check "$1: exit" 77 "$rc"
    check "$1: message" "$2" "$(cat "$ERR")"
    [ "$rc" != 77 ] || [ "$2" != "$(cat "$ERR")" ] || REFUSED=$((REFUSED + 1))
}

# fix_from_message: runs the command the last refusal named ('...').
fix_from_message() {
    sh -c "$(sed -n "s/.*: run '\([^']*\)'.*/\1/p" "$ERR")"
}

# daemon_modes DIR: starts the agent daemon on DIR until its agent.db-wal
# and -shm exist; prints their modes with agent.db's; stops it.
daemon_modes() {
    timeout -k 5 30 "$AGENT" -q -d "$1" run --interval 60 </dev/null >/dev/null 2>&1 &
    daemon=$!
    waited=0
    # up to 30 s (the daemon's own bound), not 5: a loaded machine may be
    # slow to start it; the loop ends as soon as both files are there
    while { [ ! -f "$1/agent.db-wal" ] || [ ! -f "$1/agent.db-shm" ]; } &&
        [ "$waited" -lt $((600 * SLOW)) ]; do
        sleep 0.05
        waited=$((waited + 1))
    done
    echo "$(mode "$1/agent.db") $(mode "$1/agent.db-wal" 2>/dev/null) $(mode "$1/agent.db-shm" 2>/dev/null)"
    kill -TERM "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
}

# summary: the figure line.
summary() {
    echo "files: $FILES_OK files and folders at their mode under umask 022" \
        "(0600/0700 private, 0660/0640/2770 shared), $REFUSED refusals exit 77 with the fix"
}

# -- init into pre-made 0755 folders ------------------------------------------

mkdir -m 0755 "$SRV"
server_init
files "server init into a 0755 folder: folder" 700 "$(mode "$SRV")"
server_start
files "server running: central.db, -wal, -shm" "600 600 600" \
    "$(mode "$SRV/central.db") $(mode "$SRV/central.db-wal") $(mode "$SRV/central.db-shm")"
files "server keys: server.key, hq.key, down.key" "600 600 600" \
    "$(mode "$SRV/server.key") $(mode "$SRV/hq.key") $(mode "$SRV/down.key")"
network_init
TOKEN=$(site_add SHOP1)

A=$T/shop
mkdir -m 0755 "$A"
agent_new "$A" SHOP1
files "agent init into a 0755 folder: folder" 700 "$(mode "$A")"
enroll "$A" "$TOKEN"
check "enroll: exit" 0 "$rc"
record_sales "$A" 2
files "agent keys: site.key, curve.key" "600 600" \
    "$(mode "$A/site.key") $(mode "$A/curve.key")"
files "agent daemon running: agent.db, -wal, -shm" "600 600 600" "$(daemon_modes "$A")"
check "status names the folder" "$A" "$(status_field "$A" folder)"

# -- folders another user can write -------------------------------------------

W=$T/world
mkdir -m 0777 "$W"
agent "$W" init --site SHOP9 --partner D1
refused "agent init into a 0777 folder" \
    "dealernet-agent: error: data folder $W can be written by any user (mode 0777, owner $ME): run 'chmod 700 $W'"
check "refused init made nothing" "" "$(ls "$W")"
run 30 "$SERVER" -d "$W" init --sync "tcp://127.0.0.1:1" --admin "tcp://127.0.0.1:2"
refused "server init into a 0777 folder" \
    "dealernet-server: error: data folder $W can be written by any user (mode 0777, owner $ME): run 'chmod 700 $W'"
fix_from_message
check "after the named chmod: folder" 700 "$(mode "$W")"

chmod 0777 "$A"
agent "$A" status
refused "agent on a folder made 0777 after init" \
    "dealernet-agent: error: data folder $A can be written by any user (mode 0777, owner $ME): run 'chmod 700 $A'"
chmod 0770 "$A"
agent "$A" sync
refused "agent on a group-writable folder (no setgid)" \
    "dealernet-agent: error: data folder $A can be written by group $(group_of "$A") (mode 0770, owner $ME): run 'chmod 700 $A', or 'chmod 2770 $A' to share it with that group"
fix_from_message
agent "$A" status
check "after the named chmod: status exit" 0 "$rc"

server_stop
chmod 0777 "$SRV"
run 30 "$SERVER" -d "$SRV" run --sync "$SYNC_EP" --admin "$ADMIN_EP"
refused "server start on a folder made 0777" \
    "dealernet-server: error: data folder $SRV can be written by any user (mode 0777, owner $ME): run 'chmod 700 $SRV'"
check "refused start left no -wal" no "$([ -e "$SRV/central.db-wal" ] && echo yes || echo no)"
chmod 0700 "$SRV"

# -- files left open by an older version ------------------------------------------

chmod 0644 "$A/agent.db"
chmod 0755 "$A"
run 60 "$AGENT" -d "$A" status # not -q: the warning is the point
check "agent.db left 0644: status exit" 0 "$rc"
check "agent.db left 0644: warning" \
    "dealernet-agent: warning: $A/agent.db was open to other users (mode 0644): made it 0600" \
    "$(cat "$ERR")"
check "agent.db left 0644: now, and the folder" "600 700" "$(mode "$A/agent.db") $(mode "$A")"

server_start
chmod 0644 "$SRV/hq.key"
hq site list
check "hq.key left 0644: hq exit" 0 "$rc"
check "hq.key left 0644: warning" \
    "dealernet-hq: warning: $SRV/hq.key was open to other users (mode 0644): made it 0600" \
    "$(cat "$ERR")"
check "hq.key left 0644: now" 600 "$(mode "$SRV/hq.key")"
server_stop

# -- a group-shared folder --------------------------------------------------------

# As root the folder's group is one root is not in by default (daemon), so
# the files' group shows the setgid at work; otherwise the caller's own.
GRP=$(id -gn)
if [ "$(id -u)" -eq 0 ] && getent group daemon >/dev/null 2>&1; then
    GRP=daemon
fi
G=$T/shared
mkdir "$G"
chgrp "$GRP" "$G"
chmod 2770 "$G"
agent_new "$G" SHOP2
files "shared 2770 folder: init accepted, folder" 2770 "$(mode "$G")"
files "shared folder: agent.db, -wal, -shm while the daemon runs" "660 660 660" \
    "$(daemon_modes "$G")"
files "shared folder: site.key" 640 "$(mode "$G/site.key")"
check "shared folder: the files' group" "$GRP $GRP" \
    "$(group_of "$G/agent.db") $(group_of "$G/site.key")"
record_sales "$G" 1
check "shared folder: records" 1 "$(status_field "$G" events)"

# -- other users (root only) ----------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
    echo "files_private: other-user cases skipped: not root"
    summary
    net_finish
fi

O=$T/theirs
mkdir -m 0700 "$O"
chown nobody "$O"
agent "$O" init --site SHOP3 --partner D1
refused "root on a folder owned by nobody" \
    "dealernet-agent: error: data folder $O belongs to nobody (mode 0700), who can write it: run as nobody, or 'chown root $O'"

if ! command -v setpriv >/dev/null 2>&1 || ! getent group daemon >/dev/null 2>&1; then
    echo "files_private: clerk cases skipped: no setpriv or no group daemon"
    summary
    net_finish
fi
chmod 0711 "$T" # let nobody through to the folders below
NOGROUP=$(id -gn nobody)

# as_nobody GROUPS ARGS...: the agent as nobody with supplementary GROUPS
# ("" for none), on the shared folder.
as_nobody() {
    groups=$1
    shift
    if [ -n "$groups" ]; then
        run 60 setpriv --reuid=nobody --regid="$NOGROUP" --groups="$groups" \
            "$AGENT" -q -d "$G" "$@"
    else
        run 60 setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups \
            "$AGENT" -q -d "$G" "$@"
    fi
}

as_nobody "" status
refused "a user outside the shared folder's group" \
    "dealernet-agent: error: cannot write data folder $G (mode 2770, owner $ME, group daemon): run 'usermod -aG daemon nobody' as root, then log in again"

as_nobody daemon sale --line RICE:1@5.00
check "a clerk in the group records: exit" 0 "$rc"
check "the clerk's sale is in the shared agent.db" 2 "$(status_field "$G" events)"
check "agent.db still 0660, owned by who made it" "660 $ME" \
    "$(mode "$G/agent.db") $(stat -c %U "$G/agent.db")"

chmod 0666 "$G/agent.db"
as_nobody daemon status
refused "a clerk on a database open to others that is not theirs" \
    "dealernet-agent: error: $G/agent.db is open to other users (mode 0666, owner $ME): run 'chmod 660 $G/agent.db' as root"
fix_from_message
as_nobody daemon status
check "after the named chmod: the clerk's status exit" 0 "$rc"

summary
net_finish

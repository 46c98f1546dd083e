#!/bin/sh
# enroll_secrets.sh -- no secret in argv, one enrollment code, raced tokens.
#
# Proves, with a real server and agents on loopback in a throwaway folder:
#   - ps never shows a token: `dealernet-agent enroll` reads the enrollment
#     code from a fifo fed in two halves; `ps -eo args` and every
#     /proc/*/cmdline, sampled while it waits and until it has enrolled,
#     never hold the token nor the code (and do show the waiting agent, so
#     the samples are not empty); the same for `--token -`;
#   - a token or a code given as an argument is refused before anything
#     else, exit 64, one line saying how to give it; the token stays
#     unused and unheld on the server;
#   - the flags form still works for scripts: --token-file, --token -
#     (a pipe) and DEALERNET_TOKEN; -q site add prints only the code;
#   - the agent checks the code before sending anything: cut short,
#     damaged, another site's code (exit 65, nothing held);
#   - a raced token fails loudly: (a) a thief's key enrolls first: the
#     shop's key is refused with when, the thief's key (8 characters) and
#     address, the server logs "possible stolen token" naming the site, and
#     HQ sees exactly one token_raced exception; (b) a thief's key takes
#     the hold first (a wrong site code): the shop is refused with the hold
#     and its end; (c) the shop's key takes the hold first (a typo in its
#     site code): the thief is refused, and the shop's retry with its key
#     enrolls.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init enroll_secrets

server_init
server_start
network_init

# key8 DIR: the first 8 characters of the agent's CURVE public key.
key8() {
    sed -n 's/^public-key = //p' "$1/curve.key" | cut -c1-8
}

# ms_text MS: a time as the server prints it (2026-01-01T00:00:00.001Z).
ms_text() {
    printf '%s.%03dZ' "$(date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%S)" $(($1 % 1000))
}

# token_col SITE COLUMN: a column of site SITE's token row.
token_col() {
    sq "SELECT ifnull($2, 'NULL') FROM tokens t JOIN sites s ON s.id = t.site_id
        WHERE s.code = '$1'"
}

# -- ps never shows a token -------------------------------------------------

# sample NEEDLE...: one sample of every command line on this machine; counts
# samples in SAMPLES, samples that show the waiting agent in SAW_AGENT, and
# samples that hold any NEEDLE in SEEN.
SAMPLES=0
SAW_AGENT=0
SEEN=0
sample() {
    {
        ps -ww -eo args 2>/dev/null || true
        for f in /proc/[0-9]*/cmdline; do
            tr '\0' ' ' 2>/dev/null <"$f" && echo
        done
    } >"$T/sample"
    SAMPLES=$((SAMPLES + 1))
    grep -q 'dealernet-agent.* enroll' "$T/sample" && SAW_AGENT=$((SAW_AGENT + 1))
    for needle in "$@"; do
        if grep -qF -- "$needle" "$T/sample"; then
            SEEN=$((SEEN + 1))
            echo "seen in a command line: $(grep -F -- "$needle" "$T/sample" | head -n 1)"
        fi
    done
}

# slow_enroll DIR TEXT ARGS...: dealernet-agent -d DIR enroll ARGS with TEXT
# fed to its standard input through a fifo, in two halves 0.3 s apart,
# sampling command lines all along (for TEXT and SECRET); sets rc.
slow_enroll() {
    dir=$1
    text=$2
    shift 2
    rm -f "$T/fifo"
    mkfifo "$T/fifo"
    set +e
    # shellcheck disable=SC2086
    timeout -k 5 $((60 * SLOW)) $WRAP "$AGENT" -d "$dir" enroll "$@" \
        <"$T/fifo" >"$OUT" 2>"$ERR" &
    pid=$!
    exec 3>"$T/fifo" # the agent starts and waits for its input
    i=0
    while [ $i -lt 5 ]; do
        sleep 0.1
        sample "$text" "$SECRET"
        i=$((i + 1))
    done
    half=$((${#text} / 2))
    printf '%s' "$(printf '%s' "$text" | cut -c1-$half)" >&3
    sleep 0.3
    sample "$text" "$SECRET"
    printf '%s\n' "$(printf '%s' "$text" | cut -c$((half + 1))-)" >&3
    exec 3>&-
    while kill -0 "$pid" 2>/dev/null; do
        sample "$text" "$SECRET"
    done
    wait "$pid"
    rc=$?
    set -e
}

TOKEN1=$(site_add SHOP1)
CODE1=$(site_code SHOP1)
SECRET=$TOKEN1
agent_new "$T/a1" SHOP1
slow_enroll "$T/a1" "$CODE1"
check "ps: enroll from a slow stdin: exit" 0 "$rc"
check "ps: enroll says so" "enrolled site SHOP1 with $SYNC_EP" "$(cat "$OUT")"
check "ps: the waiting agent was in the samples" 1 "$([ "$SAW_AGENT" -ge 5 ] && echo 1)"
check "ps: token or code seen in command lines" 0 "$SEEN"

TOKEN2=$(site_add SHOP2)
SECRET=$TOKEN2
agent_new "$T/a2" SHOP2
slow_enroll "$T/a2" "$TOKEN2" --server "$SYNC_EP" --server-key "$KEY" --token -
check "ps: enroll --token - from a slow stdin: exit" 0 "$rc"
check "ps: token seen in command lines (--token -)" 0 "$SEEN"
echo "security: token in ps: $SAMPLES samples of every command line, token seen $SEEN"

# -- a secret in argv is refused ---------------------------------------------

TOKEN3=$(site_add SHOP3)
CODE3=$(site_code SHOP3)
agent_new "$T/a3" SHOP3
agent "$T/a3" enroll --server "$SYNC_EP" --server-key "$KEY" --token "$TOKEN3"
check "literal token: exit" 64 "$rc"
check "literal token: the one line" "dealernet-agent: error: a token on the command line is shown by ps to every user of this PC: give it with --token-file FILE, --token - (standard input) or DEALERNET_TOKEN, or run 'dealernet-agent enroll' alone and paste the enrollment code" \
    "$(cat "$ERR")"
agent "$T/a3" enroll --token="$TOKEN3"
check "literal --token=T: exit" 64 "$rc"
agent "$T/a3" enroll "$CODE3"
check "code as an argument: exit" 64 "$rc"
check "code as an argument: the one line" "dealernet-agent: error: an enrollment code on the command line is shown by ps to every user of this PC: run 'dealernet-agent enroll' alone and paste it when asked, or give it with --bundle-file FILE" \
    "$(cat "$ERR")"
check "refused in argv: token unused and unheld" "NULL|NULL" \
    "$(token_col SHOP3 used_ms)|$(token_col SHOP3 held_ms)"

# -- the flags form for scripts, and the code from a file -----------------------

printf '%s\n' "$CODE3" >"$T/code3"
agent "$T/a3" enroll --bundle-file "$T/code3"
check "--bundle-file: exit" 0 "$rc"
TOKEN4=$(site_add SHOP4)
agent_new "$T/a4" SHOP4
printf '%s\n' "$TOKEN4" >"$T/token4"
RUN_STDIN=$T/token4
agent "$T/a4" enroll --server "$SYNC_EP" --server-key "$KEY" --token -
RUN_STDIN=
check "--token - from a pipe: exit" 0 "$rc"
TOKEN5=$(site_add SHOP5)
agent_new "$T/a5" SHOP5
DEALERNET_TOKEN=$TOKEN5
export DEALERNET_TOKEN
agent "$T/a5" enroll --server "$SYNC_EP" --server-key "$KEY"
unset DEALERNET_TOKEN
check "DEALERNET_TOKEN: exit" 0 "$rc"
agent_new "$T/a6" SHOP6
agent "$T/a6" enroll --server "$SYNC_EP" --server-key "$KEY"
check "no token at all: exit" 64 "$rc"
check_one_error "no token at all" "no token: give --token-file FILE, or --token - to type or pipe it, or set DEALERNET_TOKEN"
hq -q site add SHOP6 --partner D1
check "-q site add: exit" 0 "$rc"
check "-q site add: one line, the code" "1|DN1:" "$(wc -l <"$OUT" | tr -d ' ')|$(cut -c1-4 "$OUT")"
CODE6=$(cat "$OUT")

# -- the agent checks the code before sending anything --------------------------

enroll_code "$T/a6" "$(printf '%s' "$CODE6" | cut -c1-60)"
check "cut short: exit" 65 "$rc"
check "cut short: the one line" "dealernet-agent: error: the enrollment code is cut short (60 characters): copy the whole code, from DN1: to its last character" \
    "$(cat "$ERR")"
# character 30 of the code, changed to one of the alphabet
c30=$(printf '%s' "$CODE6" | cut -c30)
swap=A
[ "$c30" = A ] && swap=B
enroll_code "$T/a6" "$(printf '%s' "$CODE6" | cut -c1-29)$swap$(printf '%s' "$CODE6" | cut -c31-)"
check "damaged: exit" 65 "$rc"
check_one_error "damaged" "the enrollment code is damaged"
enroll_code "$T/a6" "$CODE1"
check "another site's code: exit" 65 "$rc"
check "another site's code: the one line" "dealernet-agent: error: this enrollment code is for site SHOP1, but this agent is site SHOP6: ask headquarters for the code of SHOP6" \
    "$(cat "$ERR")"
check "checked at the agent: SHOP6's token unused and unheld" "NULL|NULL" \
    "$(token_col SHOP6 used_ms)|$(token_col SHOP6 held_ms)"
enroll_code "$T/a6" "  $CODE6  "
check "the code with blanks around it: exit" 0 "$rc"

# -- raced tokens ---------------------------------------------------------------
RACED=0
REFUSED=0

# second_key DIR CODE: the second key of a race pastes CODE (sets rc);
# counts the race, and the refusal.
second_key() {
    enroll_code "$1" "$2"
    RACED=$((RACED + 1))
    if [ "$rc" -ne 0 ]; then
        REFUSED=$((REFUSED + 1))
    fi
}

# (a) the thief's key enrolls first; then the shop pastes its code.
TOKEN7=$(site_add SHOP7)
CODE7=$(site_code SHOP7)
agent_new "$T/thief7" SHOP7
agent_new "$T/shop7" SHOP7
enroll_code "$T/thief7" "$CODE7"
check "raced (a): the thief enrolls first" 0 "$rc"
second_key "$T/shop7" "$CODE7"
THIEF=$(key8 "$T/thief7")
SHOP=$(key8 "$T/shop7")
USED=$(ms_text "$(token_col SHOP7 used_ms)")
AT=$(ms_text "$(token_col SHOP7 raced_ms)")
check "raced (a): the shop's exit" 77 "$rc"
check "raced (a): the shop is told" "dealernet-agent: error: enrollment refused: enrollment token already used at $USED by key $THIEF from 127.0.0.1, not by this PC: tell headquarters (the token may have been stolen) and ask for a new one" \
    "$(cat "$ERR")"
check_has "raced (a): the server's warning names the site" \
    "warning: site SHOP7: possible stolen token: its enrollment token, used by key $THIEF from 127.0.0.1 at $USED, was presented by key $SHOP from 127.0.0.1 at $AT: refused" \
    "$SRV_LOG"
hq exceptions --json
cp "$OUT" "$T/exceptions.json"
check "raced (a): HQ sees one token_raced exception of SHOP7" \
    "1|SHOP7|possible stolen token: used at $USED by key $THIEF from 127.0.0.1; presented again at $AT by key $SHOP from 127.0.0.1|dealernet-hq exception resolve 1 --ack" \
    "$(sqlite3 :memory: "SELECT count(*), json_extract(value, '\$.site'),
        json_extract(value, '\$.detail'), json_extract(value, '\$.resolve')
        FROM json_each(readfile('$T/exceptions.json'))
        WHERE json_extract(value, '\$.kind') = 'token_raced'")"
enroll_code "$T/shop7" "$CODE7"
check "raced (a): the shop again: refused" 77 "$rc"
check "raced (a): still one exception" 1 \
    "$(sq "SELECT count(*) FROM exceptions WHERE kind = 'token_raced'")"

# (b) the thief takes the hold first, with a wrong site code; then the shop.
TOKEN8=$(site_add SHOP8)
CODE8=$(site_code SHOP8)
agent_new "$T/thief8" OTHER8
agent_new "$T/shop8" SHOP8
enroll "$T/thief8" "$TOKEN8"
check "raced (b): the thief's wrong site code: exit" 77 "$rc"
check_one_error "raced (b): the thief" "enrollment token is for another site than OTHER8"
second_key "$T/shop8" "$CODE8"
THIEF=$(key8 "$T/thief8")
HELD_MS=$(token_col SHOP8 held_ms)
check "raced (b): the shop's exit" 77 "$rc"
check "raced (b): the shop is told" "dealernet-agent: error: enrollment refused: enrollment token held until $(ms_text $((HELD_MS + 600000))) by key $THIEF from 127.0.0.1, which presented it at $(ms_text "$HELD_MS"), not by this PC: tell headquarters (the token may have been stolen) and ask for a new one" \
    "$(cat "$ERR")"
check_has "raced (b): the server's warning" "warning: site SHOP8: possible stolen token: its enrollment token, held by key $THIEF from 127.0.0.1" \
    "$SRV_LOG"
check "raced (b): SHOP8 not enrolled, one exception" "0|1" \
    "$(sq "SELECT enrolled_ms IS NOT NULL FROM sites WHERE code = 'SHOP8'")|$(sq "SELECT count(*) FROM exceptions e JOIN sites s ON s.id = e.site_id WHERE s.code = 'SHOP8' AND kind = 'token_raced'")"

# (c) the shop takes the hold first (a typo in its site code, flags form);
# a thief with the code is refused; the shop, initialised again with the
# right code and its key kept, enrolls within its hold.
TOKEN9=$(site_add SHOP9)
CODE9=$(site_code SHOP9)
agent_new "$T/typo9" SH0P9
agent_new "$T/thief9" SHOP9
enroll "$T/typo9" "$TOKEN9"
check "hold (c): the shop's typo: exit" 77 "$rc"
second_key "$T/thief9" "$CODE9"
check "hold (c): the thief's exit" 77 "$rc"
check_has "hold (c): the thief is told who holds it" \
    "enrollment token held until $(ms_text $(($(token_col SHOP9 held_ms) + 600000))) by key $(key8 "$T/typo9") from 127.0.0.1" \
    "$ERR"
agent_new "$T/shop9" SHOP9
cp "$T/typo9/curve.key" "$T/shop9/curve.key"
enroll_code "$T/shop9" "$CODE9"
check "hold (c): the shop's retry with its key: exit" 0 "$rc"
check "hold (c): enrolled with the shop's key" 1 \
    "$(sq "SELECT count(*) FROM sites s JOIN tokens t ON t.site_id = s.id
           WHERE s.code = 'SHOP9' AND s.enrolled_ms IS NOT NULL AND s.curve_key = t.holder_key")"
ENROLLED_BY_THIEF=$(sq "SELECT count(*) FROM sites WHERE code IN ('SHOP8', 'SHOP9')
                        AND enrolled_ms IS NOT NULL AND curve_key != (SELECT holder_key
                        FROM tokens WHERE site_id = sites.id)")
echo "security: raced tokens: races $RACED, second key refused $REFUSED, HQ told $(sq "SELECT count(*) FROM exceptions WHERE kind = 'token_raced'")"
check "raced: every second key refused" "$RACED" "$REFUSED"
check "raced: no site enrolled by a key that did not hold its token" 0 "$ENROLLED_BY_THIEF"

server_stop
check "server stops cleanly" 0 "$SRV_STATUS"
net_finish

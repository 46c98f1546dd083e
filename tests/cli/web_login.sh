#!/bin/sh
# web_login.sh -- the HQ web page's door (issue 15, item 3, webcore): curl
# against a real dealernet-server.
#
#   - the page listens at 127.0.0.1 on the admin port + 1 and says so in
#     the log; /metrics answers without a login; init --web stores an
#     address and refuses a host name (64) before making anything;
#   - web user add / list / remove: a weak password refused with its
#     reason (64), no terminal without --password-stdin (64), a name taken
#     (73), a name not a code (65), removing a user twice (66);
#   - /login: 200, a CSRF token bound to the pre-login cookie; a wrong
#     password 403 with its message and one log line naming the address
#     and the user, never the password; a form without the right token
#     403; the right password: 303 to / and the session cookie with its
#     flags; a page with the cookie 200, without it 303 to /login;
#   - POST /logout without the token 403 (the session lives on), with it
#     303 and the session ends;
#   - security headers on pages, redirects and assets; a static asset's
#     bytes, type and ETag (304 when unchanged); the language from
#     Accept-Language and ?lang=;
#   - a body over 4096 bytes 413, headers over 32 KiB refused; five failed
#     logins from one address, then 429 with Retry-After (its X-Real-IP
#     ignored); twelve sent at once from another: five looked at, seven 429;
#   - --web-proxy 127.0.0.1: logins through it counted by X-Real-IP (five
#     wrong from 203.0.113.7, then 429, while 203.0.113.8 logs in); a
#     malformed X-Real-IP counted against the proxy, with a warning;
#     another peer's X-Real-IP never read; --web-proxy with a port or
#     with --web off refused (64);
#   - a removed user's session ends at its next request, and so does one
#     of a user removed and added again with a new password, with no
#     request between;
#   - under DEALERNET_TEST_WEB_SESSION_MS a session ends when idle;
#   - --web off, --metrics ADDRESS, --web on an address in use (exit 75),
#     --web-cert without --web-key (64), a certificate that cannot be read
#     (78), and HTTPS directly with a throwaway certificate made here.
set -eu
. "$(dirname "$0")/../lib/net.sh"
net_init web_login
net_need curl openssl

server_init
server_start
WEB=http://127.0.0.1:$WEB_PORT
PW='Tea-Leaf-Harbour-42'

# web GET|POST PATH [curl args...]: one request to the page; status in
# $code, headers in $T/h, body in $T/b.
web() {
    method=$1
    path=$2
    shift 2
    set +e
    code=$(curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' --max-time $((20 * SLOW)) \
        -X "$method" "$@" "${BASE:-$WEB}$path")
    set -e
}
# hdr NAME: the value of response header NAME (the first one).
hdr() { sed -n "s/^$1: //Ip" "$T/h" | tr -d '\r' | head -n 1; }
# cookie NAME: the value NAME gets in the response's Set-Cookie headers.
cookie() { sed -n "s/^Set-Cookie: $1=\\([^;]*\\);.*/\\1/Ip" "$T/h" | tr -d '\r' | head -n 1; }
# set_cookie NAME: the whole Set-Cookie value for NAME.
set_cookie() { sed -n "s/^Set-Cookie: \\($1=.*\\)/\\1/Ip" "$T/h" | tr -d '\r' | head -n 1; }
csrf() { sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/b" | head -n 1; }
# login NAME PASSWORD: a fresh login form, then the login; sets SESSION.
login() {
    login_name=$1
    login_password=$2
    shift 2
    web GET /login "$@"
    login_cookie=$(cookie dn_login)
    login_csrf=$(csrf)
    web POST /login "$@" -H "Cookie: dn_login=$login_cookie" --data-urlencode "name=$login_name" \
        --data-urlencode "password=$login_password" --data-urlencode "csrf=$login_csrf"
    SESSION=$(cookie dn_session)
}
security_headers() {
    check "$1: Content-Security-Policy" \
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'" \
        "$(hdr Content-Security-Policy)"
    check "$1: X-Content-Type-Options" nosniff "$(hdr X-Content-Type-Options)"
    check "$1: Referrer-Policy" no-referrer "$(hdr Referrer-Policy)"
    check "$1: X-Frame-Options" DENY "$(hdr X-Frame-Options)"
}

# -- the address -----------------------------------------------------------------
check "log: the page's URL, the admin port + 1" 1 \
    "$(grep -c "info: web page at http://127.0.0.1:$WEB_PORT/\$" "$SRV_LOG")"
web GET /metrics
check "/metrics without a login: status" 200 "$code"
check "/metrics: type" "text/plain; version=0.0.4; charset=utf-8" "$(hdr Content-Type)"
check_has "/metrics: a counter" "dealernet_sync_events_total 0" "$T/b"

# init --web: stored for run, checked before anything is made
run 30 "$SERVER" -d "$T/srv2" init --sync tcp://127.0.0.1:1 --admin tcp://127.0.0.1:2 \
    --web 'hq.example.com:8080'
check "init --web a host name: exit" 64 "$rc"
check_one_error "init --web a host name" \
    "--web 'hq.example.com:8080' is not an address HOST:PORT (like 127.0.0.1:7702, [::1]:7702 or 0.0.0.0:8080) nor off"
check "init --web a host name: nothing made" no "$([ -e "$T/srv2/central.db" ] && echo yes || echo no)"
run 30 "$SERVER" -d "$T/srv2" init --sync tcp://127.0.0.1:1 --admin tcp://127.0.0.1:2 \
    --web '[::1]:8080'
check "init --web [::1]:8080: exit" 0 "$rc"
check "init --web: stored" "[::1]:8080" \
    "$(sqlite3 "$T/srv2/central.db" "SELECT value FROM meta WHERE key = 'web_address'")"

# -- web users -------------------------------------------------------------------
RUN_STDIN=$T/pw
printf 'short\n' >"$T/pw"
hq web user add alice --password-stdin
check "user add, 5 characters: exit" 64 "$rc"
check_one_error "user add, 5 characters" "the password has 5 characters: give at least 10"
printf 'alice-in-tea-land\n' >"$T/pw"
hq web user add alice --password-stdin
check "user add, holding the name: exit" 64 "$rc"
check_one_error "user add, holding the name" "the password holds the user name alice"
printf '1234567890\n' >"$T/pw"
hq web user add alice --password-stdin
check "user add, a run: exit" 64 "$rc"
check_one_error "user add, a run" "the password is a run of the keyboard or of the alphabet"
printf '%s\n' "$PW" >"$T/pw"
hq web user add alice
check "user add without a terminal nor --password-stdin: exit" 64 "$rc"
check_one_error "user add, no terminal" \
    "standard input is not a terminal: give --password-stdin to read the password from it"
hq web user add '王芳' --password-stdin
check "user add, a name not a code: exit" 65 "$rc"
check_one_error "user add, not a code" "'王芳' is not a web user name: user names are ASCII"
hq web user add Alice --password-stdin
check "user add Alice: exit" 0 "$rc"
check "user add Alice: stored lower case" \
    "web user alice added: it may log in to the web page now" "$(cat "$OUT")"
hq web user add alice --password-stdin
check "user add alice again: exit" 73 "$rc"
check_one_error "user add, taken" "web user alice exists already"
printf 'Keeps-Ledgers-77\n' >"$T/pw"
hq web user add bob --password-stdin --json
check "user add bob --json: exit" 0 "$rc"
check "user add bob --json: user" bob "$(json "$OUT" '$.user')"
RUN_STDIN=
check "central.db: the hash, never the password" "scrypt:15:8:1:" \
    "$(sq "SELECT substr(hash, 1, 14) FROM web_users WHERE name = 'alice'")"
check "central.db: no password in it" 0 "$(cat "$SRV"/central.db* | grep -c "$PW" || true)"
hq web user list --csv
check "user list --csv: header" "user,created,removed" "$(sed -n 1p "$OUT" | tr -d '\r')"
check "user list --csv: users" "alice, bob," \
    "$(sed -n '2,3p' "$OUT" | tr -d '\r' | cut -d, -f1,3 | paste -sd ' ' -)"

# -- the login page -------------------------------------------------------------------
web GET /
check "/ without a session: status" 303 "$code"
check "/ without a session: to the login" /login "$(hdr Location)"
security_headers "a redirect"
web GET /login
check "GET /login: status" 200 "$code"
security_headers "GET /login"
check "GET /login: not stored" no-store "$(hdr Cache-Control)"
check "GET /login: a CSRF token" 64 "$(csrf | tr -d '\n' | wc -c)"
check "GET /login: the pre-login cookie's flags" \
    "dn_login=$(cookie dn_login); Path=/; HttpOnly; SameSite=Strict" "$(set_cookie dn_login)"
check_has "GET /login: English" "<button type=\"submit\">Log in</button>" "$T/b"
LOGIN_COOKIE=$(cookie dn_login)
LOGIN_CSRF=$(csrf)

web POST /login -H "Cookie: dn_login=$LOGIN_COOKIE" --data-urlencode name=alice \
    --data-urlencode "password=Wrong-Password-99" --data-urlencode "csrf=$LOGIN_CSRF"
check "wrong password: status" 403 "$code"
check_has "wrong password: message" "Wrong user name or password." "$T/b"
check "wrong password: no session" "" "$(cookie dn_session)"
net_wait_grep "failed login from 127.0.0.1 as 'alice'" "$SRV_LOG" 5
check "wrong password: one log line, address and user" 1 \
    "$(grep -c "warning: web: failed login from 127.0.0.1 as 'alice' (1 in a row)" "$SRV_LOG")"
check "wrong password: never in the log" 0 "$(grep -c 'Wrong-Password-99' "$SRV_LOG" || true)"
web POST /login -H "Cookie: dn_login=$LOGIN_COOKIE" --data-urlencode name=alice \
    --data-urlencode "password=$PW"
check "no CSRF token: status" 403 "$code"
check_has "no CSRF token: message" "This login form has expired" "$T/b"
web POST /login --data-urlencode name=alice --data-urlencode "password=$PW" \
    --data-urlencode "csrf=$LOGIN_CSRF"
check "a token without its cookie: status" 403 "$code"

web POST /login -H "Cookie: dn_login=$LOGIN_COOKIE" --data-urlencode name=alice \
    --data-urlencode "password=$PW" --data-urlencode "csrf=$LOGIN_CSRF"
SESSION=$(cookie dn_session)
check "right password: status" 303 "$code"
check "right password: to the dashboard" / "$(hdr Location)"
check "right password: the session cookie's flags" \
    "dn_session=$SESSION; Path=/; HttpOnly; SameSite=Strict" "$(set_cookie dn_session)"
check "right password: a 256-bit token" 64 "${#SESSION}"
check "right password: the pre-login cookie removed" \
    "dn_login=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" "$(set_cookie dn_login)"
check "log: the login" 1 "$(grep -c 'info: web: user alice logged in from 127.0.0.1' "$SRV_LOG")"

web GET '/partners?x=1' -H "Cookie: dn_session=$SESSION"
check "a page with the session: status" 200 "$code"
check_has "a page with the session: the partners page" "<title>Partners - dealernet HQ</title>" "$T/b"
check_has "a page with the session: its user" '<span class="user">alice</span>' "$T/b"
security_headers "a page"
check "a page: not stored" no-store "$(hdr Cache-Control)"
LOGOUT_CSRF=$(csrf)
web GET / -H "Cookie: dn_session=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
check "a made-up session: status" 303 "$code"

# -- logout ----------------------------------------------------------------------------
web POST /logout -H "Cookie: dn_session=$SESSION"
check "logout without the token: status" 403 "$code"
check_has "logout without the token: message" "This form has expired" "$T/b"
web POST /logout -H "Cookie: dn_session=$SESSION" --data-urlencode "csrf=$LOGIN_CSRF"
check "logout with another form's token: status" 403 "$code"
web GET / -H "Cookie: dn_session=$SESSION"
check "after a refused logout: still in" 200 "$code"
web POST /logout -H "Cookie: dn_session=$SESSION" --data-urlencode "csrf=$LOGOUT_CSRF"
check "logout: status" 303 "$code"
check "logout: to the login" /login "$(hdr Location)"
check "logout: the cookie removed" "dn_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" \
    "$(set_cookie dn_session)"
web GET / -H "Cookie: dn_session=$SESSION"
check "after logout: the old cookie" 303 "$code"
web GET /logout
check "GET /logout: status" 405 "$code"
check "GET /logout: Allow" POST "$(hdr Allow)"

# -- static assets ---------------------------------------------------------------------
web GET /static/vendor/chart.umd.min.js
check "asset: status" 200 "$code"
check "asset: type" "text/javascript; charset=utf-8" "$(hdr Content-Type)"
check "asset: the vendored bytes" "$(sha256sum server/web/vendor/chart.umd.min.js | cut -d' ' -f1)" \
    "$(sha256sum "$T/b" | cut -d' ' -f1)"
check "asset: revalidated" no-cache "$(hdr Cache-Control)"
security_headers "an asset"
ETAG=$(hdr ETag)
check "asset: its ETag" "\"$(sha256sum server/web/vendor/chart.umd.min.js | cut -c1-16)\"" "$ETAG"
web GET /static/vendor/chart.umd.min.js -H "If-None-Match: $ETAG"
check "asset unchanged: status" 304 "$code"
web GET /static/nothing.js
check "no such asset: status" 404 "$code"

# -- language ----------------------------------------------------------------------------
web GET /login -H "Accept-Language: zh-CN,zh;q=0.9,en;q=0.8"
check_has "Accept-Language zh-CN: Chinese" '<html lang="zh-CN">' "$T/b"
check_has "Accept-Language zh-CN: the button" "<button type=\"submit\">登录</button>" "$T/b"
web GET '/login?lang=en' -H "Accept-Language: zh-CN"
check_has "?lang=en over Accept-Language: English" '<html lang="en">' "$T/b"
check_has "?lang=en: the form keeps it" 'action="/login?lang=en"' "$T/b"

# -- bounds --------------------------------------------------------------------------------
head -c 5000 /dev/zero | tr '\0' 'a' >"$T/big"
web POST /login --data-binary "@$T/big"
check "a 5000-byte body: status" 413 "$code"
big_header=$(head -c 40000 /dev/zero | tr '\0' 'b')
web GET /login -H "X-Big: $big_header"
check "40 KB of headers: refused" 431 "$code"
# five failed logins from 127.0.0.2, then that address waits
n=0
while [ $n -lt 5 ]; do
    login alice "Not-The-Password-$n" --interface 127.0.0.2
    n=$((n + 1))
done
web GET /login --interface 127.0.0.2
c2=$(cookie dn_login)
t2=$(csrf)
# its sixth claims another address: without --web-proxy, X-Real-IP is
# never read
web POST /login --interface 127.0.0.2 -H "Cookie: dn_login=$c2" -H "X-Real-IP: 203.0.113.9" \
    --data-urlencode name=alice --data-urlencode "password=$PW" --data-urlencode "csrf=$t2"
check "a sixth login from 127.0.0.2, X-Real-IP ignored: status" 429 "$code"
retry=$(hdr Retry-After)
check "a sixth login: Retry-After, 1 to 5 s" 1 "$([ "${retry:-0}" -ge 1 ] && [ "$retry" -le 5 ] && echo 1)"
check_has "a sixth login: message" "Too many failed logins from your address" "$T/b"
login alice "$PW"
check "meanwhile from 127.0.0.1: status" 303 "$code"
# 12 wrong logins sent at once from 127.0.0.3 (one form, its token 12
# times): the web threads run scrypt side by side, yet only the free 5 are
# looked at, the other 7 wait (429)
web GET /login --interface 127.0.0.3
c3=$(cookie dn_login)
t3=$(csrf)
n=0
pids=
while [ $n -lt 12 ]; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time $((60 * SLOW)) --interface 127.0.0.3 \
        -H "Cookie: dn_login=$c3" --data-urlencode name=alice \
        --data-urlencode "password=Not-The-Password-$n" --data-urlencode "csrf=$t3" \
        "$WEB/login" >"$T/at-once.$n" &
    pids="$pids $!"
    n=$((n + 1))
done
# shellcheck disable=SC2086 # the pids, one word each
wait $pids
check "12 wrong logins at once: looked at (403)" 5 "$(cat "$T"/at-once.* | grep -c '^403$')"
check "12 wrong logins at once: made to wait (429)" 7 "$(cat "$T"/at-once.* | grep -c '^429$')"

# -- a removed user's session ends ------------------------------------------------------------
login bob 'Keeps-Ledgers-77'
BOB=$SESSION
web GET / -H "Cookie: dn_session=$BOB"
check "bob's page: status" 200 "$code"
hq web user remove bob
check "user remove bob: exit" 0 "$rc"
check "user remove bob: message" \
    "web user bob removed: it can no longer log in, and its sessions have ended" "$(cat "$OUT")"
web GET / -H "Cookie: dn_session=$BOB"
check "bob's session after the removal: status" 303 "$code"
check "log: bob's session ended" 1 \
    "$(grep -c 'info: web: the session of bob ended (the user was removed)' "$SRV_LOG")"
login bob 'Keeps-Ledgers-77'
check "bob's login after the removal: status" 403 "$code"
hq web user remove bob
check "user remove bob again: exit" 66 "$rc"
check_one_error "user remove bob again" "no web user bob (see: web user list)"
hq web user list --json
check "user list: bob removed" 1 "$([ -n "$(json "$OUT" '$[1].removed')" ] && echo 1)"
check "user list: alice may log in" "" "$(json "$OUT" '$[0].removed')"

# -- a new password ends the sessions of the old one -----------------------------------------
# remove and add again (the README's way to change a password) with no
# request between: the old session must not live on under the new password
RUN_STDIN=$T/pw
printf 'Counts-Rice-Bags-31\n' >"$T/pw"
hq web user add carol --password-stdin
check "user add carol: exit" 0 "$rc"
login carol 'Counts-Rice-Bags-31'
CAROL=$SESSION
check "carol's login: status" 303 "$code"
hq web user remove carol
check "user remove carol: exit" 0 "$rc"
printf 'Weighs-Tea-Chests-58\n' >"$T/pw"
hq web user add carol --password-stdin
check "user add carol, a new password: exit" 0 "$rc"
RUN_STDIN=
web GET / -H "Cookie: dn_session=$CAROL"
check "carol's old session after a new password: status" 303 "$code"
check "log: carol's old session ended" 1 \
    "$(grep -c 'info: web: the session of carol ended (its password was set anew)' "$SRV_LOG")"
login carol 'Weighs-Tea-Chests-58'
web GET / -H "Cookie: dn_session=$SESSION"
check "carol's new session: status" 200 "$code"

# -- a session ends when idle (the test knob) -------------------------------------------------------
server_stop
check "server: a clean stop" 0 "$SRV_STATUS"
server_start DEALERNET_TEST_WEB_SESSION_MS=6000
login alice "$PW"
web GET / -H "Cookie: dn_session=$SESSION"
check "knob: a page at once" 200 "$code"
sleep 7
web GET / -H "Cookie: dn_session=$SESSION"
check "knob: idle 7 s of 6: to the login" 303 "$code"
check "log: the session ended" 1 "$(grep -c 'info: web: the session of alice ended (idle too long)' "$SRV_LOG")"

# -- behind a trusted proxy: --web-proxy ----------------------------------------------------------
# 127.0.0.1 plays nginx: its X-Real-IP names the client, and each client
# is counted apart; any other peer's header is never read
server_stop
PROXY_FROM=$(($(wc -l <"$SRV_LOG") + 1))
# since_proxy: the log of the server with --web-proxy
since_proxy() { tail -n +"$PROXY_FROM" "$SRV_LOG"; }
# wait_since PATTERN: until that log holds PATTERN (5 s at most)
wait_since() {
    waited=0
    while ! since_proxy | grep -qF "$1" && [ $waited -lt 50 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
}
NET_RUN_ARGS="--web-proxy 127.0.0.1"
server_start
check "--web-proxy: logged" 1 \
    "$(since_proxy | grep -c "info: web page at http://127.0.0.1:$WEB_PORT/, X-Real-IP believed from 127.0.0.1\$")"
n=0
while [ $n -lt 5 ]; do
    login alice "Not-The-Password-$n" -H "X-Real-IP: 203.0.113.7"
    n=$((n + 1))
done
check "--web-proxy: 203.0.113.7's fifth wrong login" 403 "$code"
wait_since "failed login from 203.0.113.7 as 'alice' (5 in a row)"
check "--web-proxy: the log names the client" 5 \
    "$(since_proxy | grep -c "warning: web: failed login from 203.0.113.7 as 'alice'")"
check "--web-proxy: not the proxy" 0 "$(since_proxy | grep -c "failed login from 127.0.0.1" || true)"
login alice "$PW" -H "X-Real-IP: 203.0.113.7"
check "--web-proxy: 203.0.113.7's sixth login" 429 "$code"
login alice "$PW" -H "X-Real-IP: 203.0.113.8"
check "--web-proxy: meanwhile 203.0.113.8 logs in" 303 "$code"
check "log: the login from 203.0.113.8" 1 \
    "$(since_proxy | grep -c 'info: web: user alice logged in from 203.0.113.8$')"
# a header that is not one address: counted against the proxy itself
login alice "Not-The-Password-x" -H "X-Real-IP: 203.0.113.7, 10.0.0.1"
check "--web-proxy, a malformed X-Real-IP: status" 403 "$code"
wait_since "failed login from 127.0.0.1 as 'alice' (1 in a row)"
check "--web-proxy, a malformed X-Real-IP: counted against the proxy" 1 \
    "$(since_proxy | grep -c "failed login from 127.0.0.1 as 'alice' (1 in a row)")"
check "--web-proxy, a malformed X-Real-IP: the warning" 1 \
    "$(since_proxy | grep -c "warning: web: a login through the proxy 127.0.0.1 has an X-Real-IP that is not one address: counted against the proxy's own address")"
# another peer claiming 203.0.113.8: its own address, not the one it names
login alice "Not-The-Password-y" --interface 127.0.0.4 -H "X-Real-IP: 203.0.113.8"
check "--web-proxy, X-Real-IP from another peer: status" 403 "$code"
wait_since "failed login from 127.0.0.4 as 'alice' (1 in a row)"
check "--web-proxy, X-Real-IP from another peer: counted against the peer" 1 \
    "$(since_proxy | grep -c "failed login from 127.0.0.4 as 'alice' (1 in a row)")"
check "--web-proxy, X-Real-IP from another peer: not against 203.0.113.8" 0 \
    "$(since_proxy | grep -c "failed login from 203.0.113.8" || true)"

# -- run's options -----------------------------------------------------------------------------------
server_stop
NET_RUN_ARGS=
NET_RUN_ARGS="--web off"
server_start
check "--web off: logged" 1 "$(grep -c 'info: web page: off' "$SRV_LOG")"
web GET /login
check "--web off: nothing listens" 000 "$code"
server_stop
# a fourth port, free, below the ephemeral ports (32768 and up)
METRICS_PORT=$((WEB_PORT > 26000 ? WEB_PORT - 3000 : WEB_PORT + 3000))
while net_port_busy "$METRICS_PORT"; do
    METRICS_PORT=$((METRICS_PORT + 1))
done
NET_RUN_ARGS="--metrics 127.0.0.1:$METRICS_PORT"
server_start
BASE=http://127.0.0.1:$METRICS_PORT
web GET /metrics
check "--metrics: /metrics there" 200 "$code"
web GET /login
check "--metrics: nothing else there" 404 "$code"
BASE=
web GET /metrics
check "--metrics: not on the page's address" 303 "$code"
server_stop
NET_RUN_ARGS=
run 20 "$SERVER" -d "$SRV" run --sync "$SYNC_EP" --admin "$ADMIN_EP" --web "${SYNC_EP#tcp://}"
check "--web on the sync socket's address: exit" 75 "$rc"
check_has "--web in use: why" "web page: cannot listen on ${SYNC_EP#tcp://}: Address already in use" "$ERR"
check_has "--web in use: what to do" "run with --web off to serve sync and admin without the page" "$ERR"
run 20 "$SERVER" -d "$SRV" run --web-cert "$T/none.pem"
check "--web-cert without --web-key: exit" 64 "$rc"
check_one_error "--web-cert alone" "--web-cert and --web-key go together: give both for HTTPS, or neither"
run 20 "$SERVER" -d "$SRV" run --web-proxy 127.0.0.1:80
check "--web-proxy with a port: exit" 64 "$rc"
check_one_error "--web-proxy with a port" \
    "--web-proxy '127.0.0.1:80' is not a numeric IPv4 or IPv6 address (like 127.0.0.1 or ::1)"
run 20 "$SERVER" -d "$SRV" run --web off --web-proxy ::1
check "--web-proxy with --web off: exit" 64 "$rc"
check_one_error "--web-proxy with --web off" \
    "--web-proxy is for the web page, which --web off turns off"
run 20 "$SERVER" -d "$SRV" run --web somewhere:80
check "--web not an address: exit" 64 "$rc"
check_one_error "--web not an address" "--web 'somewhere:80' is not an address HOST:PORT"
run 20 "$SERVER" -d "$SRV" run --sync "$SYNC_EP" --admin "$ADMIN_EP" \
    --web-cert "$T/none.pem" --web-key "$T/none.key"
check "a certificate that cannot be read: exit" 78 "$rc"
check_has "a certificate that cannot be read: why" \
    "web page: cannot read the certificate $T/none.pem: No such file or directory" "$ERR"

# -- HTTPS directly --------------------------------------------------------------------------------------
run 60 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout "$T/web.key" -out "$T/web.pem"
check "openssl: a throwaway certificate" 0 "$rc"
chmod 600 "$T/web.key"
run 60 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=other -keyout "$T/other.key" -out "$T/other.pem"
run 20 "$SERVER" -d "$SRV" run --sync "$SYNC_EP" --admin "$ADMIN_EP" \
    --web-cert "$T/web.pem" --web-key "$T/other.key"
check "a key not the certificate's: exit" 78 "$rc"
check_has "a key not the certificate's: why" \
    "web page: the key $T/other.key is not the key of the certificate $T/web.pem" "$ERR"
NET_RUN_ARGS="--web-cert $T/web.pem --web-key $T/web.key"
server_start
check "HTTPS: the URL logged" 1 "$(grep -c "info: web page at https://127.0.0.1:$WEB_PORT/\$" "$SRV_LOG")"
BASE=https://127.0.0.1:$WEB_PORT
web GET /login --cacert "$T/web.pem"
check "HTTPS: the login page" 200 "$code"
check "HTTPS: the pre-login cookie is Secure" \
    "dn_login=$(cookie dn_login); Path=/; HttpOnly; SameSite=Strict; Secure" "$(set_cookie dn_login)"
check "HTTPS: Strict-Transport-Security" max-age=31536000 "$(hdr Strict-Transport-Security)"
login alice "$PW" --cacert "$T/web.pem"
check "HTTPS: login" 303 "$code"
check "HTTPS: the session cookie is Secure" \
    "dn_session=$SESSION; Path=/; HttpOnly; SameSite=Strict; Secure" "$(set_cookie dn_session)"
web GET / --cacert "$T/web.pem" -H "Cookie: dn_session=$SESSION"
check "HTTPS: a page" 200 "$code"
BASE=http://127.0.0.1:$WEB_PORT
web GET /login
check "HTTPS: no plain HTTP on its port" 000 "$code"
BASE=
NET_RUN_ARGS=

net_finish

/*  dn_web -- the HQ dashboard and /metrics over HTTP (libmicrohttpd).

    A read-only web page for HQ staff, served by the server on threads of
    its own: every thread reads central.db on its own connection, in a
    read transaction per request (WAL snapshots, rule 9), so a page never
    stalls a shop's sync, and nothing on the page writes the ledger.

    Listening: on by default, at 127.0.0.1 on the admin port + 1 (admin
    port 7701 -> 127.0.0.1:7702), unless `dealernet-server init --web
    ADDRESS` (or `run --web`) says otherwise; "off" turns it off.  Its URL
    is logged at start.  HTTPS directly when given a certificate and its
    key (PEM files), else plain HTTP for a reverse proxy in front (the
    README's nginx example) or for 127.0.0.1 only.

    Who may look: web users HQ creates (`dealernet-hq web user add NAME`),
    stored in central.db with a scrypt hash of the password; a login makes
    a session (a random token in a cookie: HttpOnly, SameSite=Strict, and
    Secure under HTTPS), which ends at logout, after DN_WEB_IDLE_MS idle or
    DN_WEB_SESSION_MS in all.  Every POST (login, logout) carries the CSRF
    token of its form.  Failed logins are slowed per address (behind a
    trusted reverse proxy, the address its X-Real-IP header gives).

    Pages (dn_webpage.h renders them), each table with a CSV download;
    /static/ the page's scripts and styles (the chart library vendored from
    the npm registry, never a CDN); /metrics the Prometheus text
    (dn_metrics.h), without a login, on the web address or on an address of
    its own (metrics_address).
*/
#ifndef DN_WEB_H
#define DN_WEB_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define DN_WEB_THREADS           4     /* the page's threads: requests at work at once */
#define DN_WEB_MAX_CONNECTIONS   64
#define DN_WEB_PER_ADDRESS       16    /* a browser opens 6; a proxy in front is one address */
#define DN_WEB_TIMEOUT_S         15    /* an idle connection is closed after this */
#define DN_WEB_CONNECTION_BYTES  32768 /* request line + headers, and the reply's headers */
#define DN_WEB_MAX_BODY_BYTES    4096  /* a POST's form (login: name, password, token) */
#define DN_WEB_METRICS_CONNECTIONS 8   /* on metrics_address: scrapers, not people */
/*  Sessions: at most DN_WEB_MAX_SESSIONS at once (a new one past it
    ends the one idle longest); each ends DN_WEB_IDLE_MS after its last
    request or DN_WEB_SESSION_MS after the login, whichever comes first
    (the test knob DEALERNET_TEST_WEB_SESSION_MS shortens both, dn_testctl.h).  */
#define DN_WEB_MAX_SESSIONS      256
#define DN_WEB_IDLE_MS           (30 * 60 * 1000)
#define DN_WEB_SESSION_MS        (12 * 60 * 60 * 1000)
/*  Failed logins, per client address: DN_WEB_LOGIN_FREE are free; after
    them each attempt waits DN_WEB_LOGIN_WAIT_MS after the last failure,
    doubled with every further failure up to DN_WEB_LOGIN_WAIT_MAX_MS (an
    attempt before is answered 429 without looking at the password; an
    attempt counts from the moment its password is looked at, so attempts
    sent at once get no more than DN_WEB_LOGIN_FREE between them); an
    IPv6 client is counted by its /64 (dn_web_login_key); an
    address is forgotten DN_WEB_LOGIN_FORGET_MS after its last failure or
    at its next login.  DN_WEB_LOGIN_ADDRESSES addresses are remembered
    (past it the one quiet longest is forgotten).  */
#define DN_WEB_LOGIN_FREE        5
#define DN_WEB_LOGIN_WAIT_MS     5000
#define DN_WEB_LOGIN_WAIT_MAX_MS (5 * 60 * 1000)
#define DN_WEB_LOGIN_FORGET_MS   (15 * 60 * 1000)
#define DN_WEB_LOGIN_ADDRESSES   1024

#define DN_WEB_SESSION_COOKIE "dn_session" /* the session's token */
#define DN_WEB_LOGIN_COOKIE   "dn_login"   /* the login form's token is bound to it */
#define DN_WEB_TOKEN_SIZE     65           /* 32 random bytes in hex, and the NUL */
#define DN_WEB_ADDRESS_SIZE   64           /* "[ffff:...:ffff]:65535" and more */
#define DN_WEB_URL_SIZE       (DN_WEB_ADDRESS_SIZE + 16)

typedef struct dn_web dn_web_t;

typedef struct {
    const char *address;         /* "127.0.0.1:7702", "[::1]:7702", "0.0.0.0:8080";
                                    NULL: no page (metrics_address alone) */
    const char *dir;             /* the server's folder: each thread opens its own
                                    connection to its central.db */
    const char *cert_file;       /* PEM certificate and key: HTTPS; both NULL: HTTP */
    const char *key_file;
    const char *metrics_address; /* NULL: /metrics on address; else only there (HTTP) */
    const char *proxy;           /* a reverse proxy's numeric address ("127.0.0.1", "::1"):
                                    its X-Real-IP is believed (dn_web_client); NULL: none */
} dn_web_config_t;

/*  The address the page listens on when init did not say: 127.0.0.1 and
    the port of admin_endpoint ("tcp://0.0.0.0:7701") + 1, into out.  Returns 0,
    or DN_EINVAL when admin_endpoint has no port (or its port is 65535).  */
int dn_web_default_address(const char *admin_endpoint, char *out, size_t size);

/*  Parses an address "HOST:PORT": HOST an IPv4 address (127.0.0.1,
    0.0.0.0 for every interface) or an IPv6 one in brackets ([::1], [::]),
    PORT 1..65535, into *addr and *len.  Returns 0, or DN_EINVAL (a host
    name is refused: the page binds where it is told, never where a
    resolver says).  */
int dn_web_address_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len);

/*  Whom failed logins are counted against (DN_WEB_LOGIN_FREE ...), for
    the client address sa, as text into out: an IPv4 address as it is
    ("198.51.100.7", also when it comes to an IPv6 socket as
    ::ffff:198.51.100.7), an IPv6 address by its /64 ("2001:db8:1:2::/64"):
    one host is given a whole /64 and may send from any address in it, so
    counting each address apart would give it DN_WEB_LOGIN_FREE free
    guesses from each of 2^64 addresses, and would push every other
    address's count out of the table (DN_WEB_LOGIN_ADDRESSES).  "unknown"
    when sa is NULL or of another family.  */
void dn_web_login_key(const struct sockaddr *sa, char out[DN_WEB_ADDRESS_SIZE]);

/*  Parses a reverse proxy's address (run --web-proxy): one numeric IPv4
    or IPv6 address ("127.0.0.1", "::1"), no port, no brackets, no name,
    into *out, an IPv4 one as ::ffff:a.b.c.d (so it matches the proxy's
    connections to an IPv4 socket and to an IPv6 one alike).  Returns 0,
    or DN_EINVAL.  */
int dn_web_proxy_parse(const char *text, struct in6_addr *out);

/*  Whom a request comes from, for the failed-login count
    (dn_web_login_key) and the log: the TCP peer, unless proxy (from
    dn_web_proxy_parse; NULL: none trusted) is the peer's own address, and
    then real_ip (its X-Real-IP header; NULL: none) when that is one
    numeric IPv4 or IPv6 address (inet_pton: nothing around it, no port,
    no list, no zone).  Behind a proxy every connection comes from the
    proxy, so without this one stranger's failed logins would make every
    user wait; a peer that is not the proxy never has its header read, or
    a stranger would choose the address it is counted against.  Into
    *out (AF_UNSPEC when peer is NULL).  Returns 0 (the peer's own
    address: no proxy, or not from it), 1 (real_ip's), or DN_EINVAL (from
    the proxy, but real_ip missing or not an address: the peer's own
    address, and the caller says so in the log).  */
int dn_web_client(const struct sockaddr *peer, const struct in6_addr *proxy,
                  const char *real_ip, struct sockaddr_storage *out);

/*  The language a request is answered in: "zh_CN" when the first
    language of accept_language (the Accept-Language header, may be NULL)
    that has a weight above 0 and is English or Chinese, by weight then
    order, is Chinese (zh, zh-CN, zh-Hans ...), else "en".  */
const char *dn_web_lang(const char *accept_language);

/*  The CSRF token of a form: HMAC-SHA256 under key (the process's own
    random key) of purpose ("login", "session") and bound (the pre-login
    cookie, the session's token), in hex, into out.  The login form's token
    is bound to its pre-login cookie (double submit, signed: a page of
    another site can neither read the cookie nor make the token), the
    logout form's to the session.  */
void dn_web_csrf(const uint8_t key[32], const char *purpose, const char *bound,
                 char out[DN_WEB_TOKEN_SIZE]);

/*  1 if given (may be NULL) is the token dn_web_csrf makes of purpose and
    bound, compared in constant time; else 0, and always 0 when bound is
    NULL or "" (no cookie, no session: nothing a token can be bound to).  */
int dn_web_csrf_check(const uint8_t key[32], const char *purpose, const char *bound,
                      const char *given);

/*  Starts the daemon(s) and their threads; *web the running page, which
    dn_web_stop stops.  Returns 0, or after one log line saying why:
    DN_EINVAL (an address that does not parse), DN_ECONFIG (a certificate
    or key that cannot be read, is not PEM, or they do not match; one
    without the other), DN_EIO (cannot listen: the address is in use or
    not this host's), DN_ECRYPTO, DN_ENOMEM.  */
int dn_web_start(const dn_web_config_t *config, dn_web_t **web);

/*  The page's URL ("http://127.0.0.1:7702/"), for the log line; NULL
    when it serves /metrics alone.  */
const char *dn_web_url(const dn_web_t *web);

/*  The metrics' URL ("http://127.0.0.1:9100/metrics").  */
const char *dn_web_metrics_url(const dn_web_t *web);

/*  Stops the daemons (waiting for requests in flight), ends every
    session and frees *web; NULL is fine.  */
void dn_web_stop(dn_web_t **web);

#endif

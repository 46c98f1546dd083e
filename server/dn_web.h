/*  dn_web -- the HQ dashboard and /metrics over HTTP (libmicrohttpd).

    A read-only web page for HQ staff, served by the server on threads of
    its own: every thread reads central.db on its own connection, in a
    read transaction per request (WAL snapshots, rule 9), so a page never
    stalls a shop's sync, and nothing on the page writes the ledger.

    Listening: on by default, at 127.0.0.1 on the admin port + 1 (admin
    tcp://*:7701 -> 127.0.0.1:7702), unless `dealernet-server init --web
    ADDRESS` (or `run --web`) says otherwise; "off" turns it off.  Its URL
    is logged at start.  HTTPS directly when given a certificate and its
    key (PEM files), else plain HTTP for a reverse proxy in front (the
    README's nginx example) or for 127.0.0.1 only.

    Who may look: web users HQ creates (`dealernet-hq web user add NAME`),
    stored in central.db with a scrypt hash of the password; a login makes
    a session (a random token in a cookie: HttpOnly, SameSite=Strict, and
    Secure under HTTPS), which ends at logout, after DN_WEB_IDLE_MS idle or
    DN_WEB_SESSION_MS in all.  Every POST (login, logout) carries the CSRF
    token of its form.  Failed logins are slowed per address.

    Pages (dn_webpage.h renders them), each table with a CSV download;
    /static/ the page's scripts and styles (the chart library vendored from
    the npm registry, never a CDN); /metrics the Prometheus text
    (dn_metrics.h), without a login, on the web address or on an address of
    its own (metrics_address).
*/
#ifndef DN_WEB_H
#define DN_WEB_H

#include <stddef.h>

typedef struct dn_web dn_web_t;

typedef struct {
    const char *address;         /* "127.0.0.1:7702", "[::1]:7702", "0.0.0.0:8080" */
    const char *db_path;         /* central.db; each thread opens its own connection */
    const char *cert_file;       /* PEM certificate and key: HTTPS; both NULL: HTTP */
    const char *key_file;
    const char *metrics_address; /* NULL: /metrics on address; else only there */
} dn_web_config_t;

/*  The address the page listens on when init did not say: 127.0.0.1 and
    the port of admin_endpoint ("tcp://*:7701") + 1, into out.  Returns 0,
    or DN_EINVAL when admin_endpoint has no port.  */
int dn_web_default_address(const char *admin_endpoint, char *out, size_t size);

/*  Starts the daemon(s) and their threads.  Returns NULL with the reason
    in why (address in use, bad certificate...).  */
dn_web_t *dn_web_start(const dn_web_config_t *config, char *why, size_t why_size);

/*  The page's URL ("http://127.0.0.1:7702/"), for the log line.  */
const char *dn_web_url(const dn_web_t *web);

/*  Stops the daemons (waiting for requests in flight) and frees web.  */
void dn_web_stop(dn_web_t **web);

#endif

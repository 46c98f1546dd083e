/*  dn_web -- the HQ dashboard's HTTP side (see dn_web.h).

    libmicrohttpd parses HTTP (requests, cookies, forms) and runs the
    connections on a pool of DN_WEB_THREADS threads; this module decides
    who may see what: the routes, the sessions, the login's checks and
    every response's security headers.  Nothing here writes central.db:
    every thread reads it on a connection of its own with query_only set,
    and each request is one read transaction (a WAL snapshot), so a page
    never waits for the sync loop nor makes it wait (DESIGN rule 9).

    Why each limit: a stranger may open connections and send requests at
    will; what that costs is bounded by libmicrohttpd's limits (dn_web.h)
    and by answering a request before any work that costs more than
    reading it: a body too large is refused by its Content-Length, a login
    from an address that failed too often is refused before scrypt, and a
    page without a session is a redirect, not a query.
*/
#include "dn_web.h"
#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_log.h"
#include "dn_metrics.h"
#include "dn_testctl.h"
#include "dn_time.h"
#include "dn_valid.h"
#include "dn_webassets.h"
#include "dn_webpage.h"
#include "dn_webuser.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define S_PEM_MAX_BYTES (1024 * 1024) /* a certificate chain, or a key */
#define S_LISTEN_BACKLOG 64
#define S_FORM_BYTES 1024 /* libmicrohttpd's post processor buffer */
/* i18n: not for people: Content-Types */
#define S_TYPE_TEXT    "text/plain; charset=utf-8"
/* i18n: not for people: Content-Types */
#define S_TYPE_HTML    "text/html; charset=utf-8"
/* i18n: not for people: Content-Types (Prometheus' text format 0.0.4) */
#define S_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

/*  Every response's headers against the page being framed, sniffed or
    fed a script from elsewhere: scripts come from the server alone and
    none inline, forms post to it alone, no page may frame it, and no URL
    (with its query) leaves in a Referer.  */
#define S_CSP "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

/* -- state ------------------------------------------------------------------ */

typedef struct {
    char token[DN_WEB_TOKEN_SIZE]; /* the cookie's value; "" is a free slot */
    char user[DN_MAX_CODE_LEN + 1];
    char stamp[DN_WEBUSER_STAMP_SIZE]; /* the login's password (dn_webuser_active) */
    char lang[DN_I18N_LANG_SIZE]; /* ?lang= remembered; "" follows Accept-Language */
    int64_t created_ms, seen_ms;  /* monotonic */
} s_session_t;

typedef struct {
    char address[DN_WEB_ADDRESS_SIZE]; /* dn_web_login_key's; "" is a free slot */
    int failures;
    int64_t last_ms; /* monotonic, the last failure */
} s_failure_t;

typedef struct {
    dn_web_t *web;
    int metrics_only; /* the daemon on metrics_address */
} s_daemon_t;

struct dn_web {
    struct MHD_Daemon *page, *metrics;
    s_daemon_t page_cls, metrics_cls;
    char dir[4096];
    int https;
    int metrics_apart; /* /metrics is on metrics_address, not on the page's */
    char url[DN_WEB_URL_SIZE], metrics_url[DN_WEB_URL_SIZE];
    char *cert, *key; /* PEM, for libmicrohttpd */
    uint8_t secret[32]; /* the CSRF tokens' HMAC key, this process's own */
    int64_t idle_ms, life_ms;
    int has_proxy; /* proxy's X-Real-IP is believed (dn_web_client) */
    struct in6_addr proxy;
    char proxy_text[INET6_ADDRSTRLEN];
    pthread_mutex_t lock; /* sessions and failures */
    s_session_t sessions[DN_WEB_MAX_SESSIONS];
    s_failure_t failures[DN_WEB_LOGIN_ADDRESSES];
};

/*  A request, from its headers to its end (libmicrohttpd's con_cls).  */
typedef struct {
    int post;
    struct MHD_PostProcessor *form;
    size_t body; /* bytes of body received */
    char name[DN_MAX_CODE_LEN + 8];
    char password[DN_WEBUSER_MAX_PASSWORD_BYTES + 2];
    char csrf[DN_WEB_TOKEN_SIZE];
    char lang[DN_I18N_LANG_SIZE];
} s_request_t;

/*  What a handler answers.  */
typedef struct {
    unsigned status;
    const char *type;
    const void *body;
    size_t len;
    int owned;             /* body is malloc'd; the response frees it */
    const char *etag;      /* a static asset: revalidated, not stored */
    const char *location;  /* a redirect's target */
    const char *cookie[2]; /* Set-Cookie values */
    char cookie_buf[2][160];
    const char *filename;  /* a CSV download's name */
    const char *allow;     /* 405: the methods that are */
    unsigned retry_after_s;
} s_reply_t;

/* -- pure helpers ---------------------------------------------------------- */

int dn_web_address_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len)
{
    char host[DN_WEB_ADDRESS_SIZE];
    const char *colon, *port_text;
    size_t host_len;
    char *end;
    long port;

    memset(addr, 0, sizeof *addr);
    if (!text || strlen(text) >= sizeof host)
        return DN_EINVAL;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return DN_EINVAL;
        host_len = (size_t)(close - text - 1);
        memcpy(host, text + 1, host_len);
        port_text = close + 2;
    } else {
        if (!(colon = strrchr(text, ':')))
            return DN_EINVAL;
        host_len = (size_t)(colon - text);
        memcpy(host, text, host_len);
        port_text = colon + 1;
    }
    host[host_len] = '\0';
    if (*port_text < '0' || *port_text > '9')
        return DN_EINVAL;
    errno = 0;
    port = strtol(port_text, &end, 10);
    if (errno || *end || port < 1 || port > 65535)
        return DN_EINVAL;
    if (text[0] == '[') {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return DN_EINVAL;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof *in6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
            return DN_EINVAL;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        *len = sizeof *in;
    }
    return 0;
}

int dn_web_default_address(const char *admin_endpoint, char *out, size_t size)
{
    const char *colon = admin_endpoint ? strrchr(admin_endpoint, ':') : NULL;
    char *end;
    long port;
    if (!colon || colon[1] < '0' || colon[1] > '9')
        return DN_EINVAL;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || port < 1 || port >= 65535)
        return DN_EINVAL;
    int n = snprintf(out, size, "127.0.0.1:%ld", port + 1);
    return n > 0 && (size_t)n < size ? 0 : DN_EINVAL;
}

const char *dn_web_lang(const char *accept)
{
    /* Accept-Language: "zh-CN,zh;q=0.9,en;q=0.8": the weightiest of the
       languages served, the first of equal weights */
    const char *best = "en";
    int best_q = -1;
    while (accept && *accept) {
        const char *item = accept, *comma = strchr(accept, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        accept = comma ? comma + 1 : NULL;
        while (len && (*item == ' ' || *item == '\t'))
            item++, len--;
        int q = 1000;
        const char *semi = memchr(item, ';', len);
        size_t tag_len = semi ? (size_t)(semi - item) : len;
        while (tag_len && (item[tag_len - 1] == ' ' || item[tag_len - 1] == '\t'))
            tag_len--;
        if (semi) {
            const char *qp = semi + 1;
            while (qp < item + len && (*qp == ' ' || *qp == '\t'))
                qp++;
            if (qp + 2 <= item + len && (qp[0] == 'q' || qp[0] == 'Q') && qp[1] == '=') {
                /* q=0, q=0.5, q=1.000: thousandths */
                const char *d = qp + 2;
                q = 0;
                if (d < item + len && (*d == '0' || *d == '1'))
                    q = (*d++ - '0') * 1000;
                if (d < item + len && *d == '.') {
                    int scale = 100;
                    for (d++; d < item + len && *d >= '0' && *d <= '9' && scale; d++) {
                        q += (*d - '0') * scale;
                        scale /= 10;
                    }
                }
                if (q > 1000)
                    q = 1000;
            }
        }
        const char *lang = NULL;
        if (tag_len >= 2 && (item[0] == 'z' || item[0] == 'Z') &&
            (item[1] == 'h' || item[1] == 'H') && (tag_len == 2 || item[2] == '-' || item[2] == '_'))
            lang = "zh_CN";
        else if (tag_len >= 2 && (item[0] == 'e' || item[0] == 'E') &&
                 (item[1] == 'n' || item[1] == 'N') &&
                 (tag_len == 2 || item[2] == '-' || item[2] == '_'))
            lang = "en";
        if (lang && q > 0 && q > best_q) {
            best = lang;
            best_q = q;
        }
    }
    return best;
}

void dn_web_csrf(const uint8_t key[32], const char *purpose, const char *bound,
                 char out[DN_WEB_TOKEN_SIZE])
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    char msg[128];
    /* "purpose\0bound": a token for one purpose is never another's */
    int n = snprintf(msg, sizeof msg, "%s%c%s", purpose, '\0', bound);
    if (n < 0 || (size_t)n >= sizeof msg ||
        !HMAC(EVP_sha256(), key, 32, (const unsigned char *)msg, (size_t)n, mac, &mac_len) ||
        mac_len != 32) {
        out[0] = '\0'; /* matches nothing (dn_web_csrf_check) */
        return;
    }
    dn_hex_encode(mac, 32, out);
}

int dn_web_csrf_check(const uint8_t key[32], const char *purpose, const char *bound,
                      const char *given)
{
    char want[DN_WEB_TOKEN_SIZE];
    if (!bound || !bound[0])
        return 0;
    dn_web_csrf(key, purpose, bound, want);
    return given && want[0] && strlen(given) == DN_WEB_TOKEN_SIZE - 1 &&
           CRYPTO_memcmp(want, given, DN_WEB_TOKEN_SIZE - 1) == 0;
}

/*  1 if text is a token as this module makes them: 64 lower-case hex.  */
static int s_token_shape(const char *text)
{
    if (!text || strlen(text) != DN_WEB_TOKEN_SIZE - 1)
        return 0;
    for (const char *p = text; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static int s_new_token(char out[DN_WEB_TOKEN_SIZE])
{
    uint8_t raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return DN_ECRYPTO;
    dn_hex_encode(raw, sizeof raw, out);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

/* -- each thread's database connection ------------------------------------- */

static pthread_key_t s_db_key;
static pthread_once_t s_db_once = PTHREAD_ONCE_INIT;

static void s_db_close(void *db)
{
    sqlite3_close(db);
}

static void s_db_key_make(void)
{
    if (pthread_key_create(&s_db_key, s_db_close) != 0)
        abort(); /* only when the process is out of keys: nothing else works */
}

/*  This thread's read connection to central.db, opened at its first
    request and closed when the thread ends (libmicrohttpd's threads end
    at dn_web_stop).  NULL when it cannot be opened (logged).  */
static sqlite3 *s_db(const dn_web_t *web)
{
    sqlite3 *db = pthread_getspecific(s_db_key);
    if (db)
        return db;
    /* a reader (query_only: a bug that tried to write would fail here,
       not in the ledger), as the query threads' (dn_query.h)  */
    if (dn_central_open_reader(web->dir, &db) != 0)
        return NULL;
    /* a small cache: DN_WEB_THREADS of them beside the server's own */
    if (dn_db_exec(db, "PRAGMA cache_size = -8192") != 0 ||
        pthread_setspecific(s_db_key, db) != 0) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* -- sessions --------------------------------------------------------------- */

/*  Copies the session of token into *out, and marks it seen now.  Ends
    it instead when it has expired.  Returns 1 if found and alive, 0.  */
static int s_session_get(dn_web_t *web, const char *token, s_session_t *out)
{
    int64_t now = dn_time_monotonic_ms();
    int found = 0;
    if (!s_token_shape(token))
        return 0;
    pthread_mutex_lock(&web->lock);
    for (size_t i = 0; i < DN_WEB_MAX_SESSIONS && !found; i++) {
        s_session_t *s = &web->sessions[i];
        if (!s->token[0] || CRYPTO_memcmp(s->token, token, DN_WEB_TOKEN_SIZE - 1) != 0)
            continue;
        found = 1;
        if (now - s->seen_ms > web->idle_ms || now - s->created_ms > web->life_ms) {
            dn_log_info("web: the session of %s ended (%s)", s->user,
                        now - s->seen_ms > web->idle_ms ? "idle too long"
                                                        : "its lifetime is over");
            memset(s, 0, sizeof *s);
            found = -1;
        } else {
            s->seen_ms = now;
            *out = *s;
        }
    }
    pthread_mutex_unlock(&web->lock);
    return found == 1;
}

/*  A new session for user, logged in with the password of stamp; its
    token into token.  A full table gives up the session idle longest.
    Returns 0 or DN_ECRYPTO.  */
static int s_session_new(dn_web_t *web, const char *user, const char *stamp,
                         const char *lang, char token[DN_WEB_TOKEN_SIZE])
{
    int64_t now = dn_time_monotonic_ms();
    s_session_t *slot = NULL;
    if (s_new_token(token) != 0)
        return DN_ECRYPTO;
    pthread_mutex_lock(&web->lock);
    for (size_t i = 0; i < DN_WEB_MAX_SESSIONS; i++) {
        s_session_t *s = &web->sessions[i];
        if (!s->token[0]) {
            slot = s;
            break;
        }
        if (!slot || s->seen_ms < slot->seen_ms)
            slot = s;
    }
    if (slot->token[0])
        dn_log_warn("web: %d sessions at once: the one of %s, idle longest, ends",
                    DN_WEB_MAX_SESSIONS, slot->user);
    memset(slot, 0, sizeof *slot);
    memcpy(slot->token, token, DN_WEB_TOKEN_SIZE);
    snprintf(slot->user, sizeof slot->user, "%s", user);
    snprintf(slot->stamp, sizeof slot->stamp, "%s", stamp);
    snprintf(slot->lang, sizeof slot->lang, "%s", lang ? lang : "");
    slot->created_ms = slot->seen_ms = now;
    pthread_mutex_unlock(&web->lock);
    return 0;
}

/*  Ends the session of token (if any).  */
static void s_session_end(dn_web_t *web, const char *token)
{
    pthread_mutex_lock(&web->lock);
    for (size_t i = 0; i < DN_WEB_MAX_SESSIONS; i++)
        if (web->sessions[i].token[0] &&
            CRYPTO_memcmp(web->sessions[i].token, token, DN_WEB_TOKEN_SIZE - 1) == 0)
            memset(&web->sessions[i], 0, sizeof web->sessions[i]);
    pthread_mutex_unlock(&web->lock);
}

/*  Remembers lang for the session of token.  */
static void s_session_lang(dn_web_t *web, const char *token, const char *lang)
{
    pthread_mutex_lock(&web->lock);
    for (size_t i = 0; i < DN_WEB_MAX_SESSIONS; i++)
        if (web->sessions[i].token[0] &&
            CRYPTO_memcmp(web->sessions[i].token, token, DN_WEB_TOKEN_SIZE - 1) == 0)
            snprintf(web->sessions[i].lang, sizeof web->sessions[i].lang, "%s", lang);
    pthread_mutex_unlock(&web->lock);
}

/* -- failed logins ------------------------------------------------------ */

/*  Takes a login attempt from key (dn_web_login_key) before its password is
    looked at: counts it as a failure at once (s_login_forget forgets it
    when the password was right) and returns 0 with the failures counted
    in *count; or, while key must still wait after its failures, returns
    the ms left (nothing counted).  Checking and counting are one step
    under the lock: attempts sent at once, each then running scrypt on a
    thread of its own, cannot all pass the check before the first of them
    has failed.  */
static int64_t s_login_take(dn_web_t *web, const char *key, int *count)
{
    int64_t now = dn_time_monotonic_ms(), wait = 0;
    s_failure_t *slot = NULL;
    pthread_mutex_lock(&web->lock);
    for (size_t i = 0; i < DN_WEB_LOGIN_ADDRESSES; i++) {
        s_failure_t *f = &web->failures[i];
        if (f->address[0] && strcmp(f->address, key) == 0) {
            slot = f;
            break;
        }
        if (!slot || (slot->address[0] && (!f->address[0] || f->last_ms < slot->last_ms)))
            slot = f;
    }
    if (strcmp(slot->address, key) == 0 && now - slot->last_ms > DN_WEB_LOGIN_FORGET_MS)
        memset(slot, 0, sizeof *slot);
    if (strcmp(slot->address, key) == 0 && slot->failures >= DN_WEB_LOGIN_FREE) {
        int shift = slot->failures - DN_WEB_LOGIN_FREE;
        int64_t span = shift > 16 ? DN_WEB_LOGIN_WAIT_MAX_MS
                                  : (int64_t)DN_WEB_LOGIN_WAIT_MS << shift;
        if (span > DN_WEB_LOGIN_WAIT_MAX_MS)
            span = DN_WEB_LOGIN_WAIT_MAX_MS;
        wait = slot->last_ms + span - now;
    }
    if (wait <= 0) {
        wait = 0;
        if (strcmp(slot->address, key) != 0) {
            memset(slot, 0, sizeof *slot);
            snprintf(slot->address, sizeof slot->address, "%s", key);
        }
        *count = ++slot->failures;
        slot->last_ms = now;
    }
    pthread_mutex_unlock(&web->lock);
    return wait;
}

/*  Forgets key's failures: a login from it.  */
static void s_login_forget(dn_web_t *web, const char *key)
{
    pthread_mutex_lock(&web->lock);
    for (size_t i = 0; i < DN_WEB_LOGIN_ADDRESSES; i++)
        if (web->failures[i].address[0] && strcmp(web->failures[i].address, key) == 0)
            memset(&web->failures[i], 0, sizeof web->failures[i]);
    pthread_mutex_unlock(&web->lock);
}

/* -- replies ---------------------------------------------------------------- */

static const char *s_header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static const char *s_cookie(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_COOKIE_KIND, name);
}

/*  The Set-Cookie value of name=value (value "" with Max-Age=0: removes
    it), into reply's i-th cookie.  */
static void s_set_cookie(const dn_web_t *web, s_reply_t *reply, int i, const char *name,
                         const char *value)
{
    /* HttpOnly: no script reads it; SameSite=Strict: no other site's page
       sends it along; Secure: never over plain HTTP when served over TLS */
    snprintf(reply->cookie_buf[i], sizeof reply->cookie_buf[i],
             "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", name, value,
             web->https ? "; Secure" : "", value[0] ? "" : "; Max-Age=0");
    reply->cookie[i] = reply->cookie_buf[i];
}

static enum MHD_Result s_send(struct MHD_Connection *c, const dn_web_t *web,
                              const s_reply_t *reply)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        reply->len, (void *)reply->body,
        reply->owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    char value[256];
    if (!r) {
        if (reply->owned)
            free((void *)reply->body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, S_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    /* a page holds figures that must not stay in a shared browser's cache;
       a static asset is kept but asked after every time (its ETag) */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            reply->etag ? "no-cache" : "no-store");
    if (reply->etag)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, reply->etag);
    if (web->https)
        MHD_add_response_header(r, MHD_HTTP_HEADER_STRICT_TRANSPORT_SECURITY,
                                "max-age=31536000");
    if (reply->type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, reply->type);
    if (reply->location)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, reply->location);
    for (int i = 0; i < 2; i++)
        if (reply->cookie[i])
            MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, reply->cookie[i]);
    if (reply->filename) {
        snprintf(value, sizeof value, "attachment; filename=\"%s\"", reply->filename);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, value);
    }
    if (reply->allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, reply->allow);
    if (reply->retry_after_s) {
        snprintf(value, sizeof value, "%u", reply->retry_after_s);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, value);
    }
    enum MHD_Result rc = MHD_queue_response(c, reply->status, r);
    MHD_destroy_response(r);
    return rc;
}

/*  A one-line plain text answer (already in the reader's language).  */
static enum MHD_Result s_text(struct MHD_Connection *c, const dn_web_t *web, unsigned status,
                              const char *text)
{
    s_reply_t reply = {.status = status, .type = S_TYPE_TEXT};
    size_t len = strlen(text);
    char *body = malloc(len + 2);
    if (!body)
        return MHD_NO;
    memcpy(body, text, len);
    body[len] = '\n';
    reply.body = body;
    reply.len = len + 1;
    reply.owned = 1;
    return s_send(c, web, &reply);
}

/*  s_text in lang.  */
static enum MHD_Result s_text_in(struct MHD_Connection *c, const dn_web_t *web,
                                 const char *lang, unsigned status, const char *msgid)
{
    dn_i18n_peer_begin(lang);
    enum MHD_Result rc = s_text(c, web, status, _(msgid));
    dn_i18n_peer_end();
    return rc;
}

static enum MHD_Result s_redirect(struct MHD_Connection *c, const dn_web_t *web,
                                  s_reply_t *reply, const char *to)
{
    reply->status = MHD_HTTP_SEE_OTHER;
    reply->location = to;
    reply->type = S_TYPE_TEXT;
    reply->body = "";
    reply->len = 0;
    return s_send(c, web, reply);
}

void dn_web_login_key(const struct sockaddr *sa, char out[DN_WEB_ADDRESS_SIZE])
{
    snprintf(out, DN_WEB_ADDRESS_SIZE, "unknown");
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
                  DN_WEB_ADDRESS_SIZE);
    } else if (sa && sa->sa_family == AF_INET6) {
        struct in6_addr a = ((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&a)) { /* an IPv4 client of a [::] socket */
            inet_ntop(AF_INET, &a.s6_addr[12], out, DN_WEB_ADDRESS_SIZE);
            return;
        }
        memset(&a.s6_addr[8], 0, 8); /* its /64 */
        char text[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, &a, text, sizeof text))
            snprintf(out, DN_WEB_ADDRESS_SIZE, "%s/64", text);
    }
}

/*  The IPv4 address v4 (4 bytes, network order) as ::ffff:a.b.c.d.  */
static void s_v4_mapped(const void *v4, struct in6_addr *out)
{
    memset(out, 0, sizeof *out);
    out->s6_addr[10] = 0xff;
    out->s6_addr[11] = 0xff;
    memcpy(&out->s6_addr[12], v4, 4);
}

int dn_web_proxy_parse(const char *text, struct in6_addr *out)
{
    struct in_addr v4;
    memset(out, 0, sizeof *out);
    if (!text)
        return DN_EINVAL;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        s_v4_mapped(&v4, out);
        return 0;
    }
    return inet_pton(AF_INET6, text, out) == 1 ? 0 : DN_EINVAL;
}

/*  sa's address as dn_web_proxy_parse gives one (IPv4 as ::ffff:a.b.c.d).
    Returns 0, or -1 for NULL or another family.  */
static int s_as_v6(const struct sockaddr *sa, struct in6_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa && sa->sa_family == AF_INET) {
        s_v4_mapped(&((const struct sockaddr_in *)sa)->sin_addr, out);
        return 0;
    }
    if (sa && sa->sa_family == AF_INET6) {
        *out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
        return 0;
    }
    return -1;
}

int dn_web_client(const struct sockaddr *peer, const struct in6_addr *proxy,
                  const char *real_ip, struct sockaddr_storage *out)
{
    struct in6_addr from;
    memset(out, 0, sizeof *out);
    out->ss_family = AF_UNSPEC;
    if (peer && peer->sa_family == AF_INET)
        memcpy(out, peer, sizeof(struct sockaddr_in));
    else if (peer && peer->sa_family == AF_INET6)
        memcpy(out, peer, sizeof(struct sockaddr_in6));
    if (!proxy || s_as_v6(peer, &from) != 0 || memcmp(&from, proxy, sizeof from) != 0)
        return 0;
    /* from the proxy: the address it says, or its own */
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    if (real_ip && inet_pton(AF_INET, real_ip, &v4.sin_addr) == 1) {
        memset(out, 0, sizeof *out);
        memcpy(out, &v4, sizeof v4);
        return 1;
    }
    if (real_ip && inet_pton(AF_INET6, real_ip, &v6.sin6_addr) == 1) {
        memset(out, 0, sizeof *out);
        memcpy(out, &v6, sizeof v6);
        return 1;
    }
    return DN_EINVAL;
}

/*  The client's connection address (NULL when unknown).  */
static const struct sockaddr *s_client_sa(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info ? info->client_addr : NULL;
}

/*  The X-Real-IP headers of a request: the first one's value and how
    many there are (a proxy that adds its own beside the client's would
    send two: neither is believed).  */
typedef struct {
    const char *value;
    int count;
} s_real_ip_t;

static enum MHD_Result s_real_ip_each(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    s_real_ip_t *r = cls;
    (void)kind;
    if (strcasecmp(key, "X-Real-IP") == 0 && r->count++ == 0)
        r->value = value;
    return MHD_YES;
}

/*  The address a request counts as from (dn_web_client), as text
    ("198.51.100.7", "::1") into out, and its dn_web_login_key into key;
    from the proxy without a usable X-Real-IP, the proxy's own, and a
    warning (at most 20 a minute).  */
static void s_client(struct MHD_Connection *c, const dn_web_t *web,
                     char out[INET6_ADDRSTRLEN], char key[DN_WEB_ADDRESS_SIZE])
{
    static dn_log_limit_t unusable = {"proxied requests without a usable X-Real-IP", 0, 0, 0,
                                      NULL};
    struct sockaddr_storage from;
    const struct sockaddr *sa = (const struct sockaddr *)&from;
    const struct in6_addr *proxy = web->has_proxy ? &web->proxy : NULL;
    s_real_ip_t real = {NULL, 0};
    int rc = dn_web_client(s_client_sa(c), proxy, NULL, &from);
    if (rc < 0) { /* from the proxy: now, and only now, its header is read */
        MHD_get_connection_values(c, MHD_HEADER_KIND, s_real_ip_each, &real);
        rc = dn_web_client(s_client_sa(c), proxy, real.count == 1 ? real.value : NULL, &from);
    }
    if (rc < 0)
        /* the header's value is not logged: a stranger's bytes, perhaps */
        dn_log_warn_limited(&unusable, "web: a login through the proxy %s %s: counted "
                            "against the proxy's own address", web->proxy_text,
                            real.count == 0 ? "has no X-Real-IP header"
                            : real.count > 1 ? "has more than one X-Real-IP header"
                                             : "has an X-Real-IP that is not one address");
    dn_web_login_key(sa, key);
    snprintf(out, INET6_ADDRSTRLEN, "unknown");
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, INET6_ADDRSTRLEN);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                  INET6_ADDRSTRLEN);
}

/*  The request's language: the session's remembered one, else ?lang=
    when it is one served, else Accept-Language's.  */
static const char *s_lang(struct MHD_Connection *c, const s_session_t *session)
{
    const char *asked = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lang");
    if (asked && dn_i18n_lang_valid(asked))
        return asked;
    if (session && session->lang[0])
        return session->lang;
    return dn_web_lang(s_header(c, MHD_HTTP_HEADER_ACCEPT_LANGUAGE));
}

/* -- routes ----------------------------------------------------------------- */

static enum MHD_Result s_static(struct MHD_Connection *c, const dn_web_t *web,
                                const char *name)
{
    const dn_webasset_t *asset = dn_webassets_find(name);
    s_reply_t reply = {.status = MHD_HTTP_OK};
    if (!asset)
        return s_text_in(c, web, s_lang(c, NULL), MHD_HTTP_NOT_FOUND, N_("no such file"));
    const char *seen = s_header(c, MHD_HTTP_HEADER_IF_NONE_MATCH);
    reply.etag = asset->etag;
    reply.type = asset->type;
    if (seen && strcmp(seen, asset->etag) == 0) {
        reply.status = MHD_HTTP_NOT_MODIFIED;
        reply.body = "";
        return s_send(c, web, &reply);
    }
    reply.body = asset->data;
    reply.len = asset->len;
    return s_send(c, web, &reply);
}

static enum MHD_Result s_metrics(struct MHD_Connection *c, const dn_web_t *web)
{
    s_reply_t reply = {.status = MHD_HTTP_OK,
                       .type = S_TYPE_METRICS};
    sqlite3 *db = s_db(web);
    char *text = NULL;
    size_t len = 0;
    int rc = db ? dn_db_exec(db, "BEGIN") : DN_EDB;
    if (rc == 0) {
        rc = dn_metrics_render(db, &text, &len);
        dn_db_exec(db, rc ? "ROLLBACK" : "COMMIT");
    }
    if (rc) {
        /* i18n: not for people: a scraper reads it, and the log says more */
        return s_text(c, web, MHD_HTTP_SERVICE_UNAVAILABLE, "metrics unavailable");
    }
    reply.body = text;
    reply.len = len;
    reply.owned = 1;
    return s_send(c, web, &reply);
}

/*  The login form, in lang, with message (NULL: none) above it and name
    (a user name, or "") in its field; sets the pre-login cookie when the
    request has none.  */
static enum MHD_Result s_login_form(struct MHD_Connection *c, dn_web_t *web, const char *lang,
                                    unsigned status, const char *message, const char *name)
{
    s_reply_t reply = {.status = status, .type = S_TYPE_HTML};
    const char *cookie = s_cookie(c, DN_WEB_LOGIN_COOKIE);
    const char *asked = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lang");
    char fresh[DN_WEB_TOKEN_SIZE], csrf[DN_WEB_TOKEN_SIZE], action[64] = "/login";
    size_t size = 8192;
    char *body = malloc(size);
    int n;

    if (!body)
        return MHD_NO;
    if (!s_token_shape(cookie)) {
        if (s_new_token(fresh) != 0) {
            free(body);
            return MHD_NO;
        }
        cookie = fresh;
        s_set_cookie(web, &reply, 0, DN_WEB_LOGIN_COOKIE, fresh);
    }
    dn_web_csrf(web->secret, "login", cookie, csrf);
    if (asked && dn_i18n_lang_valid(asked))
        snprintf(action, sizeof action, "/login?lang=%s", asked);
    /* every text below is this program's own (translations included) or
       a user name, a code: nothing in it needs escaping */
    dn_i18n_peer_begin(lang);
    n = snprintf(body, size,
                 "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<title>%s</title>\n"
                 "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">\n"
                 "<link rel=\"stylesheet\" href=\"/static/style.css\">\n</head>\n"
                 "<body class=\"login\">\n<main>\n<h1>%s</h1>\n%s%s%s"
                 "<form method=\"post\" action=\"%s\">\n"
                 "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n"
                 "<label>%s <input name=\"name\" value=\"%s\" autocomplete=\"username\" "
                 "required autofocus></label>\n"
                 "<label>%s <input type=\"password\" name=\"password\" "
                 "autocomplete=\"current-password\" required></label>\n"
                 "<button type=\"submit\">%s</button>\n</form>\n</main>\n</body>\n</html>\n",
                 strcmp(lang, "zh_CN") == 0 ? "zh-CN" : "en", _("dealernet HQ: log in"),
                 _("dealernet HQ"), message ? "<p class=\"error\" role=\"alert\">" : "",
                 message ? _(message) : "", message ? "</p>\n" : "", action, csrf,
                 _("User name"), name, _("Password"), _("Log in"));
    dn_i18n_peer_end();
    if (n < 0 || (size_t)n >= size) {
        free(body);
        return MHD_NO;
    }
    reply.body = body;
    reply.len = (size_t)n;
    reply.owned = 1;
    return s_send(c, web, &reply);
}

/*  What the login form's token is bound to: the pre-login cookie, or ""
    (which no token matches) without one.  */
static const char *s_login_bound(struct MHD_Connection *c)
{
    const char *cookie = s_cookie(c, DN_WEB_LOGIN_COOKIE);
    return s_token_shape(cookie) ? cookie : "";
}

static enum MHD_Result s_login(struct MHD_Connection *c, dn_web_t *web, s_request_t *req)
{
    static dn_log_limit_t failed = {"failed web logins", 0, 0, 0, NULL};
    static dn_log_limit_t waiting = {"web logins refused while waiting", 0, 0, 0, NULL};
    const char *lang = s_lang(c, NULL);
    const char *shown = dn_valid_code(req->name) ? req->name : "";
    char address[INET6_ADDRSTRLEN], key[DN_WEB_ADDRESS_SIZE], token[DN_WEB_TOKEN_SIZE],
        stamp[DN_WEBUSER_STAMP_SIZE];
    s_reply_t reply = {0};
    int64_t wait;
    int count = 0;

    s_client(c, web, address, key);
    if (!dn_web_csrf_check(web->secret, "login", s_login_bound(c),
                           req->csrf))
        return s_login_form(c, web, lang, MHD_HTTP_FORBIDDEN,
                            N_("This login form has expired: log in again (cookies must be "
                               "allowed for this page)."),
                            shown);
    if ((wait = s_login_take(web, key, &count)) > 0) {
        dn_log_warn_limited(&waiting, "web: login from %s refused: %lld s to wait after "
                            "failed logins", address, (long long)(wait + 999) / 1000);
        reply.retry_after_s = (unsigned)((wait + 999) / 1000);
        dn_i18n_peer_begin(lang);
        char text[256];
        snprintf(text, sizeof text,
                 _("Too many failed logins from your address: try again in %u s."),
                 reply.retry_after_s);
        size_t len = strlen(text);
        char *body = malloc(len + 2);
        dn_i18n_peer_end();
        if (!body)
            return MHD_NO;
        memcpy(body, text, len);
        body[len] = '\n';
        reply.status = MHD_HTTP_TOO_MANY_REQUESTS;
        reply.type = S_TYPE_TEXT;
        reply.body = body;
        reply.len = len + 1;
        reply.owned = 1;
        return s_send(c, web, &reply);
    }
    sqlite3 *db = s_db(web);
    int rc = db ? dn_db_exec(db, "BEGIN") : DN_EDB;
    if (rc == 0) {
        rc = dn_webuser_login(db, req->name, req->password, stamp);
        dn_db_exec(db, "COMMIT");
    }
    OPENSSL_cleanse(req->password, sizeof req->password);
    if (rc == DN_EPERM) {
        /* the address and the name tried, never the password */
        dn_log_warn_limited(&failed, "web: failed login from %s as '%s' (%d in a row)", address,
                            shown[0] ? shown : "(not a user name)", count);
        return s_login_form(c, web, lang, MHD_HTTP_FORBIDDEN,
                            N_("Wrong user name or password."), shown);
    }
    if (rc) { /* stays counted as a failure: rare, and logged */
        dn_log_error("web: a login from %s cannot be checked: %s", address, dn_strerror(rc));
        return s_text_in(c, web, lang, MHD_HTTP_SERVICE_UNAVAILABLE,
                         N_("The server cannot check logins now: try again later."));
    }
    s_login_forget(web, key);
    char user[DN_MAX_CODE_LEN + 1];
    snprintf(user, sizeof user, "%s", req->name);
    dn_code_fold(user);
    if (s_session_new(web, user, stamp, dn_i18n_lang_valid(req->lang) ? req->lang : "",
                      token) != 0)
        return MHD_NO;
    dn_log_info("web: user %s logged in from %s", user, address);
    s_set_cookie(web, &reply, 0, DN_WEB_SESSION_COOKIE, token);
    s_set_cookie(web, &reply, 1, DN_WEB_LOGIN_COOKIE, "");
    return s_redirect(c, web, &reply, "/");
}

static enum MHD_Result s_logout(struct MHD_Connection *c, dn_web_t *web, s_request_t *req)
{
    const char *token = s_cookie(c, DN_WEB_SESSION_COOKIE);
    s_session_t session;
    s_reply_t reply = {0};
    if (!s_session_get(web, token, &session)) {
        s_set_cookie(web, &reply, 0, DN_WEB_SESSION_COOKIE, "");
        return s_redirect(c, web, &reply, "/login");
    }
    if (!dn_web_csrf_check(web->secret, "session", session.token, req->csrf))
        return s_text_in(c, web, s_lang(c, &session), MHD_HTTP_FORBIDDEN,
                         N_("This form has expired: reload the page and try again."));
    s_session_end(web, session.token);
    dn_log_info("web: user %s logged out", session.user);
    s_set_cookie(web, &reply, 0, DN_WEB_SESSION_COOKIE, "");
    return s_redirect(c, web, &reply, "/login");
}

static const char *s_query_arg(void *cls, const char *name)
{
    return MHD_lookup_connection_value(cls, MHD_GET_ARGUMENT_KIND, name);
}

/*  A CSV's file name as the page gives it, kept to what a header can hold
    as is: letters, digits, '.', '_', '-' (anything else '_').  */
static void s_filename(const char *from, char *out, size_t size)
{
    size_t i = 0;
    for (; from[i] && i + 1 < size; i++) {
        char ch = from[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        out[i] = ok ? ch : '_';
    }
    out[i] = '\0';
}

static enum MHD_Result s_page(struct MHD_Connection *c, dn_web_t *web, const char *url)
{
    const char *token = s_cookie(c, DN_WEB_SESSION_COOKIE);
    s_session_t session;
    s_reply_t reply = {0};
    if (!s_session_get(web, token, &session)) {
        if (token) /* an ended session's cookie goes with the redirect */
            s_set_cookie(web, &reply, 0, DN_WEB_SESSION_COOKIE, "");
        return s_redirect(c, web, &reply, "/login");
    }
    const char *asked = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lang");
    if (asked && dn_i18n_lang_valid(asked)) {
        s_session_lang(web, session.token, asked);
        snprintf(session.lang, sizeof session.lang, "%s", asked);
    }
    const char *lang = s_lang(c, &session);
    sqlite3 *db = s_db(web);
    if (!db || dn_db_exec(db, "BEGIN") != 0)
        return s_text_in(c, web, lang, MHD_HTTP_SERVICE_UNAVAILABLE,
                         N_("The server cannot read its database now: try again later."));
    /* a user removed since the login, or given a new password (removed
       and added again, perhaps with no request between): its session
       ends here, or a stolen session would outlive the new password */
    int active = dn_webuser_active(db, session.user, session.stamp);
    if (active != 1) {
        int removed = active == 0 ? dn_webuser_active(db, session.user, NULL) != 1 : 0;
        dn_db_exec(db, "COMMIT");
        if (active < 0)
            return s_text_in(c, web, lang, MHD_HTTP_SERVICE_UNAVAILABLE,
                             N_("The server cannot read its database now: try again later."));
        s_session_end(web, session.token);
        dn_log_info("web: the session of %s ended (%s)", session.user,
                    removed ? "the user was removed" : "its password was set anew");
        s_set_cookie(web, &reply, 0, DN_WEB_SESSION_COOKIE, "");
        return s_redirect(c, web, &reply, "/login");
    }
    char csrf[DN_WEB_TOKEN_SIZE], filename[sizeof ((dn_webpage_t *)0)->filename];
    dn_web_csrf(web->secret, "session", session.token, csrf);
    dn_webpage_request_t req = {url, s_query_arg, c, session.user, csrf, dn_time_now_ms()};
    dn_webpage_t page;
    memset(&page, 0, sizeof page);
    dn_i18n_peer_begin(lang);
    int rc = dn_webpage_render(db, &req, &page);
    dn_db_exec(db, "COMMIT");
    if (rc) {
        static dn_log_limit_t broken = {"web pages not made", 0, 0, 0, NULL};
        dn_log_error_limited(&broken, "web: page %s for %s cannot be made: %s", url,
                             session.user, dn_strerror(rc));
        free(page.body);
        enum MHD_Result sent = s_text(c, web, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                      _("The page cannot be made now: try again later."));
        dn_i18n_peer_end();
        return sent;
    }
    dn_i18n_peer_end();
    reply.status = page.status;
    reply.type = page.type;
    reply.body = page.body ? page.body : "";
    reply.len = page.body ? page.len : 0;
    reply.owned = page.body != NULL;
    if (page.filename[0]) {
        s_filename(page.filename, filename, sizeof filename);
        reply.filename = filename;
    }
    return s_send(c, web, &reply);
}

/*  Routes a whole request (its form read, if any).  */
static enum MHD_Result s_route(s_daemon_t *d, struct MHD_Connection *c, const char *url,
                               const char *method, s_request_t *req)
{
    dn_web_t *web = d->web;
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
              strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    s_reply_t reply = {.status = MHD_HTTP_METHOD_NOT_ALLOWED};

    if (strcmp(url, "/metrics") == 0 && (d->metrics_only || !web->metrics_apart)) {
        if (get)
            return s_metrics(c, web);
        reply.allow = "GET, HEAD";
    } else if (d->metrics_only) {
        /* i18n: not for people: a scraper's address, not the page's */
        return s_text(c, web, MHD_HTTP_NOT_FOUND, "only /metrics here");
    } else if (strncmp(url, "/static/", 8) == 0) {
        if (get)
            return s_static(c, web, url + 8);
        reply.allow = "GET, HEAD";
    } else if (strcmp(url, "/login") == 0) {
        if (get)
            return s_login_form(c, web, s_lang(c, NULL), MHD_HTTP_OK, NULL, "");
        if (req->post)
            return s_login(c, web, req);
        reply.allow = "GET, HEAD, POST";
    } else if (strcmp(url, "/logout") == 0) {
        if (req->post)
            return s_logout(c, web, req);
        reply.allow = "POST";
    } else {
        if (get)
            return s_page(c, web, url);
        reply.allow = "GET, HEAD";
    }
    reply.type = S_TYPE_TEXT;
    reply.body = "";
    return s_send(c, web, &reply);
}

/*  A form field, as libmicrohttpd's post processor reads it: name,
    password, csrf and lang are kept (each within its buffer: a longer
    one is cut to nothing), the rest ignored.  */
static enum MHD_Result s_field(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *type, const char *encoding,
                               const char *data, uint64_t off, size_t size)
{
    s_request_t *req = cls;
    char *buf;
    size_t cap;
    (void)kind, (void)filename, (void)type, (void)encoding;
    if (strcmp(key, "name") == 0)
        buf = req->name, cap = sizeof req->name;
    else if (strcmp(key, "password") == 0)
        buf = req->password, cap = sizeof req->password;
    else if (strcmp(key, "csrf") == 0)
        buf = req->csrf, cap = sizeof req->csrf;
    else if (strcmp(key, "lang") == 0)
        buf = req->lang, cap = sizeof req->lang;
    else
        return MHD_YES;
    if (off + size >= cap) {
        buf[0] = '\0';
        return MHD_YES;
    }
    memcpy(buf + off, data, size);
    buf[off + size] = '\0';
    return MHD_YES;
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **con_cls)
{
    s_daemon_t *d = cls;
    s_request_t *req = *con_cls;
    (void)version;

    if (!req) { /* the headers are in: the body, if any, comes next */
        if (!(req = calloc(1, sizeof *req)))
            return MHD_NO;
        *con_cls = req;
        if (strcmp(method, MHD_HTTP_METHOD_POST) == 0) {
            const char *length = s_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
            req->post = 1;
            if (length && strtoull(length, NULL, 10) > DN_WEB_MAX_BODY_BYTES) {
                s_reply_t reply = {.status = MHD_HTTP_CONTENT_TOO_LARGE,
                                   .type = S_TYPE_TEXT, .body = ""};
                return s_send(c, d->web, &reply);
            }
            req->form = MHD_create_post_processor(c, S_FORM_BYTES, s_field, req);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        req->body += *upload_size;
        if (req->body > DN_WEB_MAX_BODY_BYTES)
            return MHD_NO; /* a body past its Content-Length, or chunked: cut off */
        if (req->form && MHD_post_process(req->form, upload, *upload_size) != MHD_YES)
            req->csrf[0] = '\0'; /* a malformed form fails its token */
        *upload_size = 0;
        return MHD_YES;
    }
    return s_route(d, c, url, method, req);
}

static void s_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    s_request_t *req = *con_cls;
    (void)cls, (void)c, (void)toe;
    if (!req)
        return;
    if (req->form)
        MHD_destroy_post_processor(req->form);
    OPENSSL_cleanse(req, sizeof *req); /* the password */
    free(req);
    *con_cls = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    static dn_log_limit_t said = {"libmicrohttpd messages", 0, 0, 0, NULL};
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    dn_log_warn_limited(&said, "web: libmicrohttpd: %s", line);
}

/* -- start and stop --------------------------------------------------------- */

/*  Reads a PEM file of at most S_PEM_MAX_BYTES into *text (malloc'd,
    NUL-terminated).  Returns 0 or DN_ECONFIG (logged).  */
static int s_read_pem(const char *path, const char *what, char **text)
{
    FILE *f = fopen(path, "rb");
    *text = NULL;
    if (!f) {
        dn_log_error("web page: cannot read the %s %s: %s", what, path, strerror(errno));
        return DN_ECONFIG;
    }
    char *buf = malloc(S_PEM_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, S_PEM_MAX_BYTES + 1, f) : 0;
    int bad = !buf || ferror(f) || n > S_PEM_MAX_BYTES;
    fclose(f);
    if (bad) {
        dn_log_error("web page: cannot read the %s %s: %s", what, path,
                     !buf ? "out of memory" : n > S_PEM_MAX_BYTES ? "larger than 1 MiB"
                                                                  : strerror(errno));
        free(buf);
        return DN_ECONFIG;
    }
    buf[n] = '\0';
    *text = buf;
    return 0;
}

/*  Reads and checks the certificate and its key, so that a wrong file
    stops the start with its name, not a TLS handshake that fails later.  */
static int s_tls_load(dn_web_t *web, const char *cert_file, const char *key_file)
{
    int rc = s_read_pem(cert_file, "certificate", &web->cert);
    if (rc == 0)
        rc = s_read_pem(key_file, "key", &web->key);
    if (rc)
        return rc;
    BIO *cb = BIO_new_mem_buf(web->cert, -1), *kb = BIO_new_mem_buf(web->key, -1);
    X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, (void *)"") : NULL;
    if (!cert) {
        dn_log_error("web page: %s is not a PEM certificate", cert_file);
        rc = DN_ECONFIG;
    } else if (!key) {
        dn_log_error("web page: %s is not a PEM private key (or it is encrypted: give the "
                     "key without a passphrase, readable by the server alone)",
                     key_file);
        rc = DN_ECONFIG;
    } else if (X509_check_private_key(cert, key) != 1) {
        dn_log_error("web page: the key %s is not the key of the certificate %s", key_file,
                     cert_file);
        rc = DN_ECONFIG;
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}

/*  A listening TCP socket at address (logged when not).  Returns the
    socket, or -1 with *rc DN_EINVAL or DN_EIO.  */
static int s_listen(const char *address, const char *what, int *rc)
{
    struct sockaddr_storage sa;
    socklen_t len;
    int one = 1;
    if (dn_web_address_parse(address, &sa, &len) != 0) {
        dn_log_error("%s: '%s' is not an address HOST:PORT (127.0.0.1:7702, [::1]:7702, "
                     "0.0.0.0:8080)",
                     what, address);
        *rc = DN_EINVAL;
        return -1;
    }
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, len) != 0 || listen(fd, S_LISTEN_BACKLOG) != 0) {
        dn_log_error("%s: cannot listen on %s: %s", what, address, strerror(errno));
        if (fd >= 0)
            close(fd);
        *rc = DN_EIO;
        return -1;
    }
    return fd;
}

/*  The daemon on fd (which it then owns): the page's pool, or the
    metrics' one thread.  */
static struct MHD_Daemon *s_daemon(dn_web_t *web, s_daemon_t *cls, int fd, int tls)
{
    unsigned threads = cls->metrics_only ? 0 : DN_WEB_THREADS; /* 0: one thread, no pool */
    unsigned total = cls->metrics_only ? DN_WEB_METRICS_CONNECTIONS : DN_WEB_MAX_CONNECTIONS;
    unsigned per_address = cls->metrics_only ? DN_WEB_METRICS_CONNECTIONS : DN_WEB_PER_ADDRESS;
    struct MHD_OptionItem tls_options[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, web->key},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, web->cert},
        {MHD_OPTION_END, 0, NULL}};
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
            (tls ? MHD_USE_TLS : 0),
        0, NULL, NULL, s_handle, cls, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, total,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)DN_WEB_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)DN_WEB_CONNECTION_BYTES, MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_ARRAY, tls_options,
        MHD_OPTION_END);
    if (!daemon)
        close(fd);
    return daemon;
}

int dn_web_start(const dn_web_config_t *config, dn_web_t **web_p)
{
    dn_web_t *web = calloc(1, sizeof *web);
    int rc = 0, fd;

    *web_p = NULL;
    if (!web)
        return DN_ENOMEM;
    pthread_once(&s_db_once, s_db_key_make);
    pthread_mutex_init(&web->lock, NULL);
    snprintf(web->dir, sizeof web->dir, "%s", config->dir);
    web->page_cls = (s_daemon_t){web, 0};
    web->metrics_cls = (s_daemon_t){web, 1};
    web->metrics_apart = config->metrics_address != NULL;
    web->https = config->address && config->cert_file;
    long knob = dn_testctl_web_session_ms();
    web->idle_ms = knob > 0 && knob < DN_WEB_IDLE_MS ? knob : DN_WEB_IDLE_MS;
    web->life_ms = knob > 0 && knob < DN_WEB_SESSION_MS ? knob : DN_WEB_SESSION_MS;
    if (RAND_bytes(web->secret, sizeof web->secret) != 1)
        rc = DN_ECRYPTO;
    if (rc == 0 && config->proxy) {
        if (dn_web_proxy_parse(config->proxy, &web->proxy) != 0) {
            dn_log_error("web page: the proxy '%s' is not a numeric IPv4 or IPv6 address",
                         config->proxy);
            rc = DN_EINVAL;
        }
        web->has_proxy = rc == 0;
        snprintf(web->proxy_text, sizeof web->proxy_text, "%s", config->proxy);
    }
    if (rc == 0 && !config->cert_file != !config->key_file) {
        dn_log_error("web page: a certificate and its key go together: give both (HTTPS) or "
                     "neither (HTTP)");
        rc = DN_ECONFIG;
    }
    if (rc == 0 && web->https)
        rc = s_tls_load(web, config->cert_file, config->key_file);
    if (rc == 0 && config->address) {
        if ((fd = s_listen(config->address, "web page", &rc)) >= 0 &&
            !(web->page = s_daemon(web, &web->page_cls, fd, web->https))) {
            dn_log_error("web page: libmicrohttpd cannot start on %s", config->address);
            rc = DN_EIO;
        }
        const char *host_port = config->address;
        snprintf(web->url, sizeof web->url, "%s://%s/", web->https ? "https" : "http",
                 host_port);
    }
    if (rc == 0 && config->metrics_address) {
        if ((fd = s_listen(config->metrics_address, "metrics", &rc)) >= 0 &&
            !(web->metrics = s_daemon(web, &web->metrics_cls, fd, 0))) {
            dn_log_error("metrics: libmicrohttpd cannot start on %s", config->metrics_address);
            rc = DN_EIO;
        }
        snprintf(web->metrics_url, sizeof web->metrics_url, "http://%s/metrics",
                 config->metrics_address);
    } else if (rc == 0 && config->address) {
        snprintf(web->metrics_url, sizeof web->metrics_url, "%smetrics", web->url);
    }
    if (rc) {
        dn_web_stop(&web);
        return rc;
    }
    *web_p = web;
    return 0;
}

const char *dn_web_url(const dn_web_t *web)
{
    return web && web->page ? web->url : NULL;
}

const char *dn_web_metrics_url(const dn_web_t *web)
{
    return web ? web->metrics_url : NULL;
}

void dn_web_stop(dn_web_t **web_p)
{
    dn_web_t *web = web_p ? *web_p : NULL;
    if (!web)
        return;
    if (web->page)
        MHD_stop_daemon(web->page);
    if (web->metrics)
        MHD_stop_daemon(web->metrics);
    pthread_mutex_destroy(&web->lock);
    if (web->key)
        OPENSSL_cleanse(web->key, strlen(web->key));
    free(web->key);
    free(web->cert);
    OPENSSL_cleanse(web, sizeof *web); /* the sessions' tokens and the CSRF key */
    free(web);
    *web_p = NULL;
}

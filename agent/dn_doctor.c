/*  dn_doctor -- the field visit's checks (see dn_doctor.h).

    The network steps go from the bottom up: a plain TCP connection tells
    "nothing listens" (the server is down, or the port is wrong and closed)
    from "something listens"; the CURVE handshake then tells a wrong key or
    another service on that port (dn_probe) from the sync port; the Hello
    tells the site's standing and the server's clock.  Each step's failure
    is named by the first step that shows it, so each cause has one line.
*/
#include "dn_doctor.h"
#include "dn_i18n.h"
#include "dn_crypto.h"
#include "dn_curve.h"
#include "dn_error.h"
#include "dn_outbox.h"
#include "dn_store.h"
#include "dn_sync.h"
#include "dn_time.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

const char *dn_doctor_mark_text(dn_doctor_mark_t mark, int json)
{
    static const char *shown[] = {"ok", "WARN", "FAIL", "skip"};
    static const char *keys[] = {"ok", "warn", "fail", "skip"};
    return json ? keys[mark] : shown[mark];
}

const char *dn_doctor_offset_text(int64_t skew_ms, char *buf, size_t size)
{
    long long m = (llabs(skew_ms) + 30000) / 60000; /* to the nearest minute */
    /* one format per side and size, so that a language words it its way */
    int ahead = skew_ms > 0;
    if (m < 60)
        snprintf(buf, size, ahead ? _("%lld min ahead of") : _("%lld min behind"), m);
    else if (m < 1440)
        snprintf(buf, size, ahead ? _("%lld h %02lld min ahead of") : _("%lld h %02lld min behind"),
                 m / 60, m % 60);
    else if (m < 2 * 1440)
        snprintf(buf, size, ahead ? _("%lld day %lld h ahead of") : _("%lld day %lld h behind"),
                 m / 1440, m % 1440 / 60);
    else
        snprintf(buf, size, ahead ? _("%lld days %lld h ahead of") : _("%lld days %lld h behind"),
                 m / 1440, m % 1440 / 60);
    return buf;
}

static void s_set(dn_doctor_check_t *c, dn_doctor_mark_t mark, int exit_code,
                  const char *todo, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void s_set(dn_doctor_check_t *c, dn_doctor_mark_t mark, int exit_code,
                  const char *todo, const char *fmt, ...)
{
    va_list args;
    c->mark = mark;
    c->exit_code = mark == DN_DOCTOR_FAIL ? exit_code : 0;
    snprintf(c->todo, sizeof c->todo, "%s", todo ? todo : "");
    va_start(args, fmt);
    vsnprintf(c->text, sizeof c->text, fmt, args);
    va_end(args);
}

/*  Splits "tcp://HOST:PORT" (HOST may be [v6]) into host and port.
    Returns 0 or DN_EPARSE.  */
static int s_endpoint(const char *endpoint, char *host, size_t host_size, char *port,
                      size_t port_size)
{
    const char *rest, *colon;
    size_t n;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return DN_EPARSE;
    rest = endpoint + 6;
    colon = strrchr(rest, ':');
    if (!colon || colon == rest || !colon[1] || strspn(colon + 1, "0123456789") !=
                                                     strlen(colon + 1))
        return DN_EPARSE;
    n = (size_t)(colon - rest);
    if (rest[0] == '[' && n >= 2 && rest[n - 1] == ']') {
        rest++;
        n -= 2;
    }
    if (n == 0 || n >= host_size || strlen(colon + 1) >= port_size ||
        atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
        return DN_EPARSE;
    memcpy(host, rest, n);
    host[n] = '\0';
    snprintf(port, port_size, "%s", colon + 1);
    return 0;
}

/*  One TCP connection to host:port within timeout_ms.  Returns 0, or an
    errno (ECONNREFUSED, ETIMEDOUT ...), or -1 when the host does not
    resolve.  */
static int s_tcp(const char *host, const char *port, int timeout_ms)
{
    struct addrinfo hints, *list = NULL, *ai;
    int err = ETIMEDOUT;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &list) != 0)
        return -1;
    for (ai = list; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            err = 0;
        } else if (errno != EINPROGRESS) {
            err = errno;
        } else {
            struct pollfd p = {fd, POLLOUT, 0};
            socklen_t len = sizeof err;
            if (poll(&p, 1, timeout_ms) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0)
                ; /* err is the connection's outcome */
            else
                err = ETIMEDOUT;
        }
        close(fd);
        if (err == 0)
            break;
    }
    freeaddrinfo(list);
    return err;
}

/*  The folder, agent.db and its chain.  Returns the store (caller
    destroys) or NULL when a check failed.  */
static dn_store_t *s_local(const char *dir, const dn_fsperm_file_t *files, size_t n_files,
                           dn_doctor_check_t *folder, dn_doctor_check_t *database)
{
    dn_outbox_check_t chain;
    dn_store_t *store;
    char head[2 * DN_HASH_BYTES + 1];
    struct stat st;
    int rc;
    /* dn_fsperm_folder leaves a missing folder to the open to report: it
       is not "ok" here, and the database check would blame the file.  */
    if (stat(dir, &st) != 0 && errno == ENOENT) {
        s_set(folder, DN_DOCTOR_FAIL, EX_NOINPUT,
              _("give -d the agent's folder, or make one with 'dealernet-agent init --site "
              "CODE --partner CODE'"),
              _("%s does not exist"), dir);
        return NULL;
    }
    rc = dn_fsperm_folder(dir, 0, files, n_files);
    if (rc) {
        s_set(folder, DN_DOCTOR_FAIL, dn_exit_code(rc),
              _("make the folder and its files private to the agent's user (the line above "
              "says how)"),
              _("%s cannot be used as it is"), dir);
        return NULL;
    }
    s_set(folder, DN_DOCTOR_OK, 0, NULL,
          _("%s: no other user can write it; agent.db and the keys are not open to others"),
          dir);
    if (!(store = dn_store_open(dir, &rc))) {
        if (rc == DN_ENOENT)
            s_set(database, DN_DOCTOR_FAIL, dn_exit_code(rc),
                  _("run 'dealernet-agent init --site CODE --partner CODE' (or give -d the "
                  "agent's folder)"),
                  _("no agent.db in %s"), dir);
        else
            s_set(database, DN_DOCTOR_FAIL, dn_exit_code(rc),
                  _("copy the folder aside and call headquarters; do not delete it"),
                  _("agent.db does not open: %s"), dn_strerror(rc));
        return NULL;
    }
    rc = dn_outbox_check(store, &chain);
    if (rc == DN_ECHAIN) {
        s_set(database, DN_DOCTOR_FAIL, dn_exit_code(rc),
              _("do not sync; copy the folder aside and call headquarters"),
              _("the events' chain is broken at seq %lld: %s"), (long long)chain.bad_seq,
              chain.why);
    } else if (rc) {
        s_set(database, DN_DOCTOR_FAIL, dn_exit_code(rc), _("run 'dealernet-agent check'"),
              _("the events cannot be read: %s"), dn_strerror(rc));
    } else {
        dn_hex_encode(chain.head, DN_HASH_BYTES, head);
        head[16] = '\0';
        s_set(database, DN_DOCTOR_OK, 0, NULL,
              _("agent.db opens: site %s, %lld events, the chain verifies (head %s...)"),
              dn_store_info(store)->site, (long long)chain.events,
              chain.events ? head : "(empty)");
        return store;
    }
    dn_store_destroy(&store);
    return NULL;
}

/*  The keys a sync needs (as dn_sync's setup reads them): 0, or the
    enrolled check failed.  Without this a missing key would read as "not
    enrolled" after "enrolled", with the advice to start the server.  */
static int s_keys(const char *dir, const char *site, const char *endpoint,
                  dn_doctor_check_t *enrolled)
{
    static const struct {
        const char *file;
        const char *todo;
    } keys[] = {
        {DN_AGENT_CURVE_FILE,
         N_("restore it from a backup of this folder, or enroll this PC again with a code "
         "from 'dealernet-hq site token' (dealernet-agent enroll --again)")},
        {DN_AGENT_KEY_FILE,
         N_("restore it from a backup of this folder: it signs this site's events; without "
         "it, call headquarters")},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char path[4096];
        int rc = 0;
        snprintf(path, sizeof path, "%s/%s", dir, keys[i].file);
        if (i == 0) {
            dn_curve_pair_t pair;
            rc = dn_curve_load(path, &pair);
            memset(&pair, 0, sizeof pair);
        } else {
            dn_key_t *key = dn_key_load(path);
            rc = key ? 0 : access(path, F_OK) != 0 ? DN_ENOENT : DN_EIO;
            dn_key_destroy(&key);
        }
        if (rc) {
            s_set(enrolled, DN_DOCTOR_FAIL, dn_exit_code(DN_EPERM), _(keys[i].todo),
                  rc == DN_ENOENT  ? _("site %s is enrolled with %s, but this PC's key %s is missing")
                  : rc == DN_EPARSE ? _("site %s is enrolled with %s, but this PC's key %s is damaged")
                                    : _("site %s is enrolled with %s, but this PC's key %s cannot be read"),
                  site, endpoint, path);
            return rc;
        }
    }
    return 0;
}

/*  The Hello's steps: handshake, standing, clock.  Returns 0 if the server
    welcomed the site.  */
static int s_server(dn_store_t *store, const char *dir, const char *endpoint, int timeout_ms,
                    dn_doctor_check_t *handshake, dn_doctor_check_t *standing,
                    dn_doctor_check_t *clock)
{
    dn_sync_result_t r;
    char off[64];
    int rc = dn_sync_hello(store, dir, timeout_ms, &r);
    const char *cause = r.cause ? r.cause : "";

    if (!r.handshake) {
        const char *todo =
            strcmp(cause, DN_SYNC_CAUSE_WRONG_KEY) == 0
                ? _("enroll again with the enrollment code headquarters gives for this server")
            : strcmp(cause, DN_SYNC_CAUSE_WRONG_PORT) == 0
                ? _("use the sync port that 'dealernet-server init' printed (--sync), not "
                    "the admin port")
                : _("start dealernet-server, or check the address");
        s_set(handshake, DN_DOCTOR_FAIL,
              rc == DN_ECONFIG ? EX_CONFIG : EX_UNAVAILABLE, todo, "%s", r.error);
        return rc ? rc : DN_EAGAIN;
    }
    s_set(handshake, DN_DOCTOR_OK, 0, NULL,
          _("%s is a dealernet server with the key this agent was enrolled with"), endpoint);
    if (rc == 0) {
        s_set(standing, DN_DOCTOR_OK, 0, NULL,
              _("the server knows this site and holds its events through seq %llu"),
              (unsigned long long)r.server_applied);
    } else if (strcmp(cause, DN_SYNC_CAUSE_REVOKED) == 0) {
        s_set(standing, DN_DOCTOR_FAIL, EX_NOPERM,
              _("ask headquarters: this site's key no longer syncs; its events stay here"),
              _("the server refused this site: revoked by headquarters"));
    } else if (strcmp(cause, DN_SYNC_CAUSE_NOT_ENROLLED) == 0) {
        s_set(standing, DN_DOCTOR_FAIL, EX_NOPERM,
              _("ask headquarters for a new enrollment code for this site"),
              _("the server does not know this site's key: %s"), r.error);
    } else if (strcmp(cause, DN_SYNC_CAUSE_SERVER_FULL) == 0) {
        s_set(standing, DN_DOCTOR_FAIL, EX_TEMPFAIL,
              _("tell headquarters: the server's disk is full; events stay here meanwhile"),
              "%s", r.error);
    } else {
        s_set(standing, DN_DOCTOR_FAIL, rc == DN_ETIMEDOUT ? EX_TEMPFAIL : dn_exit_code(rc),
              _("run 'dealernet-agent sync' later; if it persists, call headquarters"), "%s",
              r.error);
    }
    if (!r.has_skew)
        s_set(clock, DN_DOCTOR_SKIP, 0, NULL, _("needs the server's answer"));
    else if (llabs(r.skew_ms) > DN_CLOCK_TOLERANCE_MS)
        s_set(clock, DN_DOCTOR_WARN, 0,
              _("set this PC's date and time: the server posts sales at its own time when "
              "they claim a later one"),
              _("this PC's clock is %s the server's (more than %lld min)"),
              dn_doctor_offset_text(r.skew_ms, off, sizeof off),
              (long long)(DN_CLOCK_TOLERANCE_MS / 60000));
    else
        s_set(clock, DN_DOCTOR_OK, 0, NULL, _("within %lld min of the server's"),
              (long long)(DN_CLOCK_TOLERANCE_MS / 60000));
    return rc;
}

int dn_doctor_run(const char *dir, const dn_fsperm_file_t *files, size_t n_files,
                  int timeout_ms, dn_doctor_check_t checks[DN_DOCTOR_CHECKS])
{
    static const char *names[DN_DOCTOR_CHECKS] = {
        "folder",    "database", "enrolled", "endpoint", "connect",
        "handshake", "standing", "clock",    "pending"};
    dn_doctor_check_t *folder = &checks[0], *database = &checks[1], *enrolled = &checks[2],
                      *endpoint_c = &checks[3], *connect_c = &checks[4],
                      *handshake = &checks[5], *standing = &checks[6], *clock = &checks[7],
                      *pending = &checks[8];
    char endpoint[256], key[64], host[256], port[16];
    dn_outbox_position_t pos;
    dn_store_t *store;
    int err;

    for (int i = 0; i < DN_DOCTOR_CHECKS; i++) {
        memset(&checks[i], 0, sizeof checks[i]);
        checks[i].name = names[i];
        s_set(&checks[i], DN_DOCTOR_SKIP, 0, NULL, _("needs the checks above"));
    }
    if (!(store = s_local(dir, files, n_files, folder, database)))
        goto done;
    if (dn_outbox_position(store, &pos) == 0)
        s_set(pending, DN_DOCTOR_OK, 0, pos.pending ? _("run 'dealernet-agent sync'") : NULL,
              pos.pending == 1 ? _("%llu event pending sync") : _("%llu events pending sync"),
              (unsigned long long)pos.pending);
    else
        s_set(pending, DN_DOCTOR_FAIL, dn_exit_code(DN_EDB), _("run 'dealernet-agent check'"),
              _("the outbox cannot be read"));
    if (dn_store_meta_get(store, DN_STORE_META_ENDPOINT, endpoint, sizeof endpoint) ||
        dn_store_meta_get(store, DN_STORE_META_SERVER_KEY, key, sizeof key)) {
        s_set(enrolled, DN_DOCTOR_FAIL, dn_exit_code(DN_EPERM),
              _("run 'dealernet-agent enroll' and paste the enrollment code from headquarters"),
              _("site %s is not enrolled with a server"), dn_store_info(store)->site);
        goto done;
    }
    if (s_keys(dir, dn_store_info(store)->site, endpoint, enrolled))
        goto done;
    s_set(enrolled, DN_DOCTOR_OK, 0, NULL, _("site %s is enrolled with %s"),
          dn_store_info(store)->site, endpoint);
    if (s_endpoint(endpoint, host, sizeof host, port, sizeof port)) {
        s_set(endpoint_c, DN_DOCTOR_FAIL, EX_CONFIG,
              _("enroll again with the enrollment code from headquarters"),
              _("'%s' is not an endpoint like tcp://server.example:7700"), endpoint);
        goto done;
    }
    s_set(endpoint_c, DN_DOCTOR_OK, 0, NULL, _("host %s, port %s"), host, port);
    err = s_tcp(host, port, timeout_ms);
    if (err == -1) {
        s_set(connect_c, DN_DOCTOR_FAIL, EX_NOHOST,
              _("check the host name, and this PC's DNS"), _("cannot resolve the host %s"), host);
        goto done;
    }
    if (err) {
        s_set(connect_c, DN_DOCTOR_FAIL, EX_UNAVAILABLE,
              err == ECONNREFUSED
                  ? _("start dealernet-server there (systemctl start dealernet-server), or "
                    "check the port")
                  : _("check the address, the network and the firewall"),
              err == ECONNREFUSED
                  ? _("nothing listens at %s port %s (connection refused): is dealernet-server "
                    "running there?")
                  : _("no TCP connection to %s port %s: %s"),
              host, port, strerror(err));
        goto done;
    }
    s_set(connect_c, DN_DOCTOR_OK, 0, NULL, _("TCP connection to %s port %s"), host, port);
    s_server(store, dir, endpoint, timeout_ms, handshake, standing, clock);
done:
    dn_store_destroy(&store);
    for (int i = 0; i < DN_DOCTOR_CHECKS; i++)
        if (checks[i].mark == DN_DOCTOR_FAIL)
            return checks[i].exit_code;
    return 0;
}

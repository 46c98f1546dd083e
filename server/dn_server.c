/*  dn_server -- the central daemon's loop (see dn_server.h).

    Identity: every message's site comes from the connection's ZAP User-Id
    (dn_zap.h), never from the body.  Durability: a batch is acked only
    after the transaction that applied it committed.  Containment: every
    frame is bounded by ZMQ_MAXMSGSIZE and decoded by dn_wire, and whatever
    a peer sends gets at most a Refused reply; nothing it sends can stop the
    loop.
*/
#include "dn_server.h"
#include "dn_admin.h"
#include "dn_central.h"
#include "dn_curve.h"
#include "dn_db.h"
#include "dn_door.h"
#include "dn_error.h"
#include "dn_ingest.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_query.h"
#include "dn_refusal.h"
#include "dn_testctl.h"
#include "dn_time.h"
#include "dn_registry.h"
#include "dn_rollup.h"
#include "dn_down.h"
#include "dn_session.h"
#include "dn_web.h"
#include "dn_wire.h"
#include "dn_zap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define DN_USER_SIZE 80 /* room for any User-Id we hand out */

/*  A peer has this long to finish the ZMTP greeting and the CURVE handshake
    (four commands of at most a few hundred bytes) before libzmq closes its
    connection.  Until then it holds a descriptor and whatever part of a
    frame it sent, up to ZMQ_MAXMSGSIZE: libzmq applies no smaller bound
    before authentication.  libzmq's default is 30 s; 10 s is still ample on
    a slow mobile link and frees what a flood of never-finished handshakes
    holds three times sooner.  */
#define DN_SERVER_HANDSHAKE_MS 10000

typedef struct {
    void *ctx, *zap, *sync, *admin;
    sqlite3 *db;
    dn_ingest_t *ingest;
    dn_session_t *session; /* the sync socket's rules (dn_session.h) */
    dn_key_t *down_key;    /* signs what goes down (DN_DOWN_KEY_FILE) */
    dn_down_t *down;       /* the downstream channel (dn_down.h) */
    dn_door_t *door;
    int door_sync, door_admin; /* the sockets' indexes in the door */
    dn_query_t *query;     /* the query threads (dn_query.h, rule 9) */
    long commits_left; /* test hook: exit after this many commits, -1 = never */
    dn_web_t *web;     /* the web page and /metrics, on their own threads */
} s_server_t;

/* -- init ---------------------------------------------------------------- */

static int s_path(char *buf, size_t size, const char *dir, const char *file)
{
    int n = snprintf(buf, size, "%s/%s", dir, file);
    return n > 0 && (size_t)n < size ? 0 : DN_EINVAL;
}

int dn_server_init(const char *dir, const char *sync_endpoint, const char *admin_endpoint,
                   const dn_server_network_t *network, char server_public[41])
{
    char db_path[4096], server_key[4096], hq_key[4096], down_key[4096];
    dn_curve_pair_t server, hq;
    uint8_t hq_public[DN_CURVE_KEY_BYTES];
    struct stat st;
    sqlite3 *db = NULL;
    int rc;

    if (s_path(db_path, sizeof db_path, dir, DN_CENTRAL_DB_FILE) ||
        s_path(server_key, sizeof server_key, dir, DN_SERVER_KEY_FILE) ||
        s_path(hq_key, sizeof hq_key, dir, DN_HQ_KEY_FILE) ||
        s_path(down_key, sizeof down_key, dir, DN_DOWN_KEY_FILE))
        return DN_EINVAL;
    const char *currency = network && network->currency ? network->currency
                                                        : DN_CURRENCY_DEFAULT;
    int64_t max_sale = network && network->max_sale ? network->max_sale
                                                    : DN_MONEY_MAX_SALE_DEFAULT;
    int country = network && network->country ? network->country : DN_PHONES_DEFAULT_COUNTRY;
    const char *zone = network && network->zone ? network->zone : dn_time_zone_default(currency);

    if (dn_money_exponent(currency) < 0)
        return DN_ECURRENCY;
    if (dn_time_zone_check(zone, NULL) != 0)
        return DN_ENOENT;
    if (max_sale < 1 || max_sale > DN_MONEY_MAX_SALE_LIMIT)
        return DN_EINVAL;
    if (stat(db_path, &st) == 0 || stat(server_key, &st) == 0 || stat(hq_key, &st) == 0 ||
        stat(down_key, &st) == 0)
        return DN_EEXIST;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return DN_EIO;
    if (dn_curve_generate(&server) || dn_curve_generate(&hq))
        return DN_ECRYPTO;
    rc = dn_central_open(dir, DN_DB_CREATE, &db);
    if (rc == 0)
        rc = dn_db_begin(db);
    if (rc == 0)
        rc = dn_db_meta_set(db, DN_META_SYNC_ENDPOINT, sync_endpoint);
    if (rc == 0)
        rc = dn_db_meta_set(db, DN_META_ADMIN_ENDPOINT, admin_endpoint);
    if (rc == 0)
        rc = dn_db_meta_set(db, DN_META_SERVER_KEY, server.public_z85);
    if (rc == 0)
        rc = dn_db_meta_set(db, DN_META_CURRENCY, currency);
    if (rc == 0)
        rc = dn_central_set_max_sale(db, max_sale);
    if (rc == 0)
        rc = dn_phones_set_country(db, country);
    if (rc == 0)
        rc = dn_db_meta_set(db, DN_META_ZONE, zone);
    if (rc == 0 && network && network->web)
        rc = dn_db_meta_set(db, DN_META_WEB_ADDRESS, network->web);
    if (rc == 0)
        rc = dn_db_commit(db);
    if (rc)
        dn_db_rollback(db);
    if (rc == 0)
        rc = dn_curve_decode(hq.public_z85, hq_public);
    if (rc == 0) /* its own transaction; a failure below removes the file */
        rc = dn_registry_admin_add(db, hq_public, "hq", dn_time_now_ms());
    sqlite3_close(db);
    if (rc == 0)
        rc = dn_curve_save(&server, server_key);
    if (rc == 0 && (rc = dn_curve_save(&hq, hq_key)) == 0) {
        /* the key that signs what goes down to the shops */
        dn_key_t *down = dn_down_key_load(dir, &rc);
        if (down)
            rc = 0;
        else
            unlink(hq_key);
        dn_key_destroy(&down);
    }
    if (rc) {
        char wal[4200];
        unlink(db_path);
        snprintf(wal, sizeof wal, "%s-wal", db_path);
        unlink(wal);
        snprintf(wal, sizeof wal, "%s-shm", db_path);
        unlink(wal);
        unlink(server_key);
        return rc;
    }
    memcpy(server_public, server.public_z85, DN_Z85_KEY_SIZE);
    return 0;
}

/* -- sync messages ----------------------------------------------------------- */

/*  After each group commit, before its replies go: the test hook that
    exits there (DEALERNET_TEST_CRASH_AFTER_COMMIT, tests/cli/fault_*).  */
static void s_committed(void *arg)
{
    s_server_t *self = arg;
    if (self->commits_left > 0 && --self->commits_left == 0) {
        dn_log_warn("test hook: exiting after the commit, before the acks");
        _exit(3);
    }
}

/*  Sends every reply the session released, each to its peer.  */
static void s_send_replies(s_server_t *self)
{
    uint8_t route[DN_SESSION_ROUTE_MAX], *body;
    size_t route_len, len;
    while (dn_session_reply(self->session, route, &route_len, &body, &len)) {
        zmq_send(self->sync, route, route_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(self->sync, body, len, ZMQ_DONTWAIT);
        free(body);
    }
}

/*  Receives one message from the sync socket (without waiting) and hands
    it to the session.  Returns 1 if a message was handled, 0 if none was
    waiting.  */
static int s_sync_one(s_server_t *self)
{
    zmq_msg_t identity, frame;
    char user[DN_USER_SIZE] = "";
    int more = 0, extra = 0, rc;
    size_t more_size = sizeof more;
    dn_session_outcome_t outcome;

    zmq_msg_init(&identity);
    if (zmq_msg_recv(&identity, self->sync, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&identity);
        return 0;
    }
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, self->sync, 0) < 0) {
        zmq_msg_close(&frame);
        zmq_msg_close(&identity);
        return 0;
    }
    const char *uid = zmq_msg_gets(&frame, "User-Id");
    if (uid)
        snprintf(user, sizeof user, "%s", uid);
    zmq_getsockopt(self->sync, ZMQ_RCVMORE, &more, &more_size);
    while (more) { /* a sync message is one frame: drop the rest */
        zmq_msg_t rest;
        zmq_msg_init(&rest);
        zmq_msg_recv(&rest, self->sync, 0);
        zmq_msg_close(&rest);
        zmq_getsockopt(self->sync, ZMQ_RCVMORE, &more, &more_size);
        extra = 1;
    }

    const char *peer = zmq_msg_gets(&frame, "Peer-Address");
    if (!peer)
        peer = "unknown";
    dn_session_peer_t from = {user, peer, zmq_msg_data(&identity), zmq_msg_size(&identity)};
    outcome.proven = 0;
    rc = dn_session_message(self->session, &from, zmq_msg_data(&frame),
                            zmq_msg_size(&frame), extra, &outcome);
    if (rc) { /* the drain keeps the queue short and identities are short */
        static dn_log_limit_t dropped = {"sync messages dropped", 0, 0, 0, NULL};
        dn_log_error_limited(&dropped, "sync: a message from %s dropped unanswered: %s",
                             peer, dn_strerror(rc));
    }
    dn_door_seen(self->door, self->door_sync, zmq_msg_get(&frame, ZMQ_SRCFD), peer,
                 outcome.proven);
    zmq_msg_close(&frame);
    zmq_msg_close(&identity);
    s_send_replies(self); /* those an enrollment's commit released */
    return 1;
}

/*  One turn of the sync socket: reads every message waiting (the socket
    hands them over fairly, one connection after another, so the pushes of
    a few uploading shops come only behind the pulls of every other: all
    are read, the pulls wait in the session's queue, the pushes are
    applied), up to DN_GROUP_MAX replies and DN_SERVER_SYNC_READ_MAX
    messages; then ends the group, where the session answers what it can
    of the pulls waiting (dn_session.h, "Pulls wait"), commits and
    releases the replies.  */
static void s_sync_drain(s_server_t *self)
{
    /* bounded by messages, not replies: an enrollment flushes the replies */
    for (int n = 0; n < DN_SERVER_SYNC_READ_MAX &&
                    dn_session_pending(self->session) < DN_GROUP_MAX && s_sync_one(self);
         n++)
        ;
    dn_session_end_group(self->session, 1);
    s_send_replies(self);
}

/* -- admin requests -------------------------------------------------------- */

/*  Answers one admin request frame from admin: a query goes to the query
    threads (answered when dn_query_forward finds its answer), or is told
    the server is busy; anything else (a write, or what does not decode)
    is run here, on the loop's connection, between two groups of sync
    messages.  Returns 1 if it ran here (a write may have changed the
    tree, plans or periods), 0 if not.  */
static int s_admin_request(s_server_t *self, zmq_msg_t *route, const char *admin,
                           zmq_msg_t *request)
{
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    int here = 0;

    if (dn_admin_request_is_query(zmq_msg_data(request), zmq_msg_size(request))) {
        int rc = dn_query_submit(self->query, zmq_msg_data(route), zmq_msg_size(route), admin,
                                 zmq_msg_data(request), zmq_msg_size(request));
        if (rc == 0)
            return 0;
        if (rc == DN_EAGAIN &&
            dn_admin_reply_busy(zmq_msg_data(request), zmq_msg_size(request),
                                dn_query_load(self->query), &reply, &reply_len) != 0)
            return 0; /* no reply could be built: as on any failure here */
        if (rc != DN_EAGAIN)
            dn_log_error("admin %s: a query could not be handed to the query threads (%s): "
                         "it runs on the loop",
                         admin, dn_strerror(rc));
    }
    if (!reply) {
        here = 1;
        if (dn_admin_handle(self->db, admin, zmq_msg_data(request), zmq_msg_size(request),
                            &reply, &reply_len) != 0)
            return here;
    }
    zmq_msg_send(route, self->admin, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(self->admin, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(self->admin, reply, reply_len, ZMQ_DONTWAIT);
    free(reply);
    return here;
}

/*  Reads one admin message and answers it (s_admin_request).  Returns 1
    if a request ran on the loop.  */
static int s_admin_one(s_server_t *self)
{
    zmq_msg_t frames[3];
    int n = 0, more = 1, here = 0;
    size_t more_size = sizeof more;

    while (more) {
        zmq_msg_t scratch, *m = n < 3 ? &frames[n] : &scratch;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, self->admin, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(m);
            break;
        }
        zmq_getsockopt(self->admin, ZMQ_RCVMORE, &more, &more_size);
        if (n >= 3)
            zmq_msg_close(m);
        n++;
    }
    /* REQ envelope: [identity][empty][request].  Anything else is dropped:
       there is no well-formed peer to answer.  */
    if (n == 3 && zmq_msg_size(&frames[1]) == 0) {
        const char *admin = zmq_msg_gets(&frames[2], "User-Id");
        /* ZAP lets only HQ admin keys in here */
        dn_door_seen(self->door, self->door_admin, zmq_msg_get(&frames[2], ZMQ_SRCFD),
                     zmq_msg_gets(&frames[2], "Peer-Address"), admin != NULL);
        if (admin)
            here = s_admin_request(self, &frames[0], admin, &frames[2]);
    } else if (n > 0) {
        static dn_log_limit_t dropped = {"malformed admin messages", 0, 0, 0, NULL};
        dn_refusal_count(DN_REFUSAL_ADMIN);
        dn_log_warn_limited(&dropped,
                            "admin socket: dropped a message that is not a REQ request");
    }
    for (int i = 0; i < n && i < 3; i++)
        zmq_msg_close(&frames[i]);
    return here;
}

/* -- the loop ------------------------------------------------------------- */

/*  Answers the ZAP requests waiting, up to DN_SERVER_ZAP_BATCH: a flood of
    handshakes must not make an honest one wait a loop turn per request
    ahead of it.  */
static void s_zap_drain(s_server_t *self)
{
    for (int n = 0; n < DN_SERVER_ZAP_BATCH; n++) {
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt(self->zap, ZMQ_EVENTS, &events, &size) != 0 ||
            !(events & ZMQ_POLLIN) || dn_zap_handle(self->zap, self->db) != 0)
            break;
    }
}

/*  Raises the soft limit on descriptors to the hard one (at most
    DN_SERVER_MAX_FILES): every shop syncing at once holds one, and the
    default soft limit of 1,024 is there for select(2), which neither
    libzmq nor the server uses.  Returns the limit now (0: unknown).  */
static unsigned long long s_descriptors(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t want = rl.rlim_max < DN_SERVER_MAX_FILES ? rl.rlim_max : DN_SERVER_MAX_FILES;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (unsigned long long)rl.rlim_cur;
}

/*  Logs the descriptors and what strangers may take of them (dn_door).  */
static void s_log_door(s_server_t *self, unsigned long long files)
{
    dn_log_info("descriptors: at most %llu; connections without an enrolled key: on the "
                "sync socket at most %d from one address, %d lingering over %d s and %d in "
                "all, on the admin socket %d in all, each for %d s",
                files, DN_DOOR_SYNC_PER_ADDRESS, DN_DOOR_SYNC_TOTAL, DN_DOOR_GRACE_MS / 1000,
                dn_door_hard(self->door, self->door_sync),
                dn_door_hard(self->door, self->door_admin), DN_DOOR_STRANGER_MS / 1000);
    if (files && files < 4ULL * (unsigned long long)(DN_DOOR_SYNC_TOTAL + DN_DOOR_ADMIN_TOTAL))
        dn_log_warn("descriptors: a limit of %llu leaves little room for shops once "
                    "strangers hold theirs: set LimitNOFILE=65536 in the unit",
                    files);
}

/*  A CURVE ROUTER bound at endpoint, watched by the door with its caps;
    *index is set to its index there.  */
static void *s_router(s_server_t *self, const char *secret, const char *domain,
                      int max_bytes, int hwm, const char *endpoint, int per_address,
                      int total, int *index)
{
    void *sock = zmq_socket(self->ctx, ZMQ_ROUTER);
    int one = 1, linger = DN_SERVER_LINGER_MS, handshake = DN_SERVER_HANDSHAKE_MS;
    int heartbeat = DN_SERVER_HEARTBEAT_MS, dead = 3 * DN_SERVER_HEARTBEAT_MS;
    int64_t max = max_bytes;
    *index = -1;
    if (!sock)
        return NULL;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max) ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake) ||
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &heartbeat, sizeof heartbeat) ||
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &dead, sizeof dead) ||
        (*index = dn_door_watch(self->door, sock, domain, per_address, total)) < 0 ||
        zmq_bind(sock, endpoint) != 0) {
        dn_log_error("cannot listen on %s: %s", endpoint, zmq_strerror(errno));
        dn_door_unwatch(self->door, *index); /* before the socket goes */
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/*  The web page (dn_web.h), on threads of its own: at run's --web, else
    at init's address, else at 127.0.0.1 on the admin port + 1; "off":
    none (but /metrics on --metrics).  HQ asked for it, so an address it
    cannot have stops the start, as the sync socket's does.  */
static int s_web_start(s_server_t *self, const dn_server_config_t *config,
                       const char *admin_ep)
{
    char address[DN_WEB_ADDRESS_SIZE] = "";
    int rc;
    if (config->web)
        snprintf(address, sizeof address, "%s", config->web);
    else if (dn_db_meta_get(self->db, DN_META_WEB_ADDRESS, address, sizeof address) != 0 &&
             dn_web_default_address(admin_ep, address, sizeof address) != 0) {
        dn_log_error("web page: the admin endpoint %s has no port to put the page beside: "
                     "give --web ADDRESS, or --web off",
                     admin_ep);
        return DN_ECONFIG;
    }
    int off = strcmp(address, "off") == 0;
    if (off && !config->metrics) {
        dn_log_info("web page: off");
        return 0;
    }
    dn_web_config_t web = {off ? NULL : address, config->dir, config->web_cert,
                           config->web_key, config->metrics, config->web_proxy};
    if ((rc = dn_web_start(&web, &self->web)) != 0) {
        dn_log_error("web page: refusing to start without it (run with --web off to serve "
                     "sync and admin without the page)");
        return rc;
    }
    if (dn_web_url(self->web))
        dn_log_info("web page at %s%s%s", dn_web_url(self->web),
                    config->web_proxy ? ", X-Real-IP believed from " : "",
                    config->web_proxy ? config->web_proxy : "");
    else
        dn_log_info("web page: off");
    dn_log_info("metrics at %s", dn_web_metrics_url(self->web));
    return 0;
}

int dn_server_run(const dn_server_config_t *config)
{
    s_server_t self;
    dn_curve_pair_t key;
    char path[4096], sync_ep[256] = "", admin_ep[256] = "";
    int rc;

    memset(&self, 0, sizeof self);
    self.commits_left = dn_testctl_crash_after_commits();
    if (s_path(path, sizeof path, config->dir, DN_SERVER_KEY_FILE))
        return DN_EINVAL;
    if ((rc = dn_curve_load(path, &key)) != 0) {
        dn_log_error("cannot read the server key %s: %s (run 'dealernet-server init')",
                     path, dn_strerror(rc));
        return rc;
    }
    if (!(self.down_key = dn_down_key_load(config->dir, &rc))) {
        dn_log_error("cannot read or create the down key %s/%s: %s", config->dir,
                     DN_DOWN_KEY_FILE, dn_strerror(rc));
        return rc;
    }
    if ((rc = dn_central_open(config->dir, 0, &self.db)) != 0) {
        dn_key_destroy(&self.down_key);
        dn_log_error("cannot open %s/%s: %s", config->dir, DN_CENTRAL_DB_FILE,
                     dn_strerror(rc));
        return rc;
    }
    /* the network's calendar, before any thread and before the rollups'
       rebuild, which files events by month */
    if ((rc = dn_central_zone_load(self.db)) != 0) {
        sqlite3_close(self.db);
        dn_key_destroy(&self.down_key);
        return rc;
    }
    dn_log_info("time zone %s (periods zoned from %lld ms)", dn_time_zone(),
                (long long)dn_time_zone_from());
    if ((rc = dn_rollup_complete(self.db)) != 0) { /* the rollups' migration */
        dn_log_error("cannot open %s/%s: %s", config->dir, DN_CENTRAL_DB_FILE,
                     dn_strerror(rc));
        sqlite3_close(self.db);
        dn_key_destroy(&self.down_key);
        return rc;
    }
    dn_db_meta_get(self.db, DN_META_SYNC_ENDPOINT, sync_ep, sizeof sync_ep);
    dn_db_meta_get(self.db, DN_META_ADMIN_ENDPOINT, admin_ep, sizeof admin_ep);
    if (config->sync_endpoint) {
        /* what `site add` tells the shops is what is served */
        snprintf(sync_ep, sizeof sync_ep, "%s", config->sync_endpoint);
        dn_db_meta_set(self.db, DN_META_SYNC_ENDPOINT, sync_ep);
    }
    if (config->admin_endpoint)
        snprintf(admin_ep, sizeof admin_ep, "%s", config->admin_endpoint);

    self.ingest = dn_ingest_new(self.db);
    self.down = dn_down_new(self.db, self.down_key);
    if (self.ingest && self.down) {
        dn_session_options_t rules = {0};
        rules.down = self.down;
        if ((rules.max_batch_events = dn_testctl_batch_events(DN_MAX_BATCH_EVENTS)) != 0)
            rules.window = 1; /* the test knob: one batch, one commit */
        rules.committed = s_committed;
        rules.committed_arg = &self;
        self.session = dn_session_new(self.db, self.ingest, &rules);
    }
    self.ctx = config->ctx ? config->ctx : zmq_ctx_new();
    self.door = self.ctx ? dn_door_new(self.ctx) : NULL;
    /* after the zone and the rollups' rebuild: the threads read them */
    int query_rc = DN_EIO;
    if (self.ctx && !(self.query = dn_query_new(self.ctx, config->dir, &query_rc)))
        dn_log_error("cannot start the query threads: %s", dn_strerror(query_rc));
    else if (self.query)
        dn_log_info("query threads: %d, at most %d queries waiting or running",
                    DN_QUERY_THREADS, DN_QUERY_MAX);
    unsigned long long files = s_descriptors(); /* before the door sizes its caps */
    rc = DN_EIO;
    /* The ZAP handler first, answering as it should, or nothing: without a
       handler bound in the context libzmq lets every CURVE client in.  */
    if (self.session && self.ctx && self.door && self.query) {
        char why[DN_WHY_SIZE] = "it cannot be bound at " DN_ZAP_ENDPOINT;
        if (!(self.zap = dn_zap_bind(self.ctx)) ||
            dn_zap_selfcheck(self.ctx, self.zap, self.db, why, sizeof why) != 0) {
            dn_log_error("the ZAP handler is not available (%s): refusing to start, "
                         "no socket was bound",
                         why);
            rc = DN_ECRYPTO;
        } else {
            dn_log_info("ZAP handler at %s passed its self-check", DN_ZAP_ENDPOINT);
            if ((self.sync = s_router(&self, key.secret_z85, DN_ZAP_DOMAIN_SYNC,
                                      DN_MAX_SYNC_MSG_BYTES, DN_SYNC_WINDOW + 2, sync_ep,
                                      DN_DOOR_SYNC_PER_ADDRESS, DN_DOOR_SYNC_TOTAL,
                                      &self.door_sync)) &&
                (self.admin = s_router(&self, key.secret_z85, DN_ZAP_DOMAIN_ADMIN,
                                       DN_MAX_ADMIN_REQUEST_BYTES, 16, admin_ep,
                                       DN_DOOR_ADMIN_PER_ADDRESS, DN_DOOR_ADMIN_TOTAL,
                                       &self.door_admin)) &&
                dn_door_start(self.door) == 0)
                rc = 0;
        }
    }
    memset(key.secret_z85, 0, sizeof key.secret_z85);
    if (rc == 0)
        rc = s_web_start(&self, config, admin_ep);
    if (rc == 0) {
        s_log_door(&self, files);
        dn_log_info("serving: sync %s, admin %s, server key %s", sync_ep, admin_ep,
                    key.public_z85);
        while (!*config->stop) {
            zmq_pollitem_t items[] = {{self.zap, 0, ZMQ_POLLIN, 0},
                                      {self.sync, 0, ZMQ_POLLIN, 0},
                                      {self.admin, 0, ZMQ_POLLIN, 0},
                                      {dn_query_socket(self.query), 0, ZMQ_POLLIN, 0}};
            /* pulls waiting: a turn now, not when the next message comes */
            int n = zmq_poll(items, 4, dn_session_deferred(self.session) ? 0 : 1000);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                dn_log_error("poll: %s", zmq_strerror(errno));
                rc = DN_EIO;
                break;
            }
            dn_log_limits_flush(0);
            if (items[0].revents & ZMQ_POLLIN)
                s_zap_drain(&self);
            if ((items[1].revents & ZMQ_POLLIN) || dn_session_deferred(self.session))
                s_sync_drain(&self);
            if ((items[2].revents & ZMQ_POLLIN) && s_admin_one(&self))
                dn_ingest_forget(self.ingest); /* the tree, plans or periods may differ */
            if (items[3].revents & ZMQ_POLLIN)
                dn_query_forward(self.query, self.admin);
        }
        dn_log_limits_flush(1);
        if (self.down) {
            /* what the cache of signed chunks saved in this run: one line
               for the journal (bench_down reads it too) */
            dn_down_stats_t stats;
            dn_down_stats(self.down, &stats);
            dn_log_info("downstream: %llu Downs served from the cache, %llu produced and signed",
                        (unsigned long long)stats.hits, (unsigned long long)stats.misses);
        }
        dn_log_info("stopping");
    }
    /* The query threads end first (what they answer now is not sent on),
       their sockets and connections with them.  The sockets close at once
       after the loop: a message libzmq takes in while the door's thread is
       joined would be lost unanswered.  Their monitors stop first (from
       this thread, while they exist); the door ends before the context
       does.  */
    dn_query_destroy(&self.query);
    dn_door_unwatch(self.door, self.door_sync);
    dn_door_unwatch(self.door, self.door_admin);
    if (self.sync)
        zmq_close(self.sync);
    if (self.admin)
        zmq_close(self.admin);
    if (self.zap)
        zmq_close(self.zap);
    dn_web_stop(&self.web); /* waits for the requests in flight */
    dn_door_destroy(&self.door);
    if (self.ctx && !config->ctx)
        zmq_ctx_term(self.ctx);
    dn_session_destroy(&self.session);
    dn_down_destroy(&self.down);
    dn_key_destroy(&self.down_key);
    dn_ingest_destroy(&self.ingest);
    sqlite3_close(self.db);
    return rc;
}

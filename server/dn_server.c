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
#include "dn_facts.h"
#include "dn_ingest.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_protocol.h"
#include "dn_refusal.h"
#include "dn_testctl.h"
#include "dn_time.h"
#include "dn_registry.h"
#include "dn_rollup.h"
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

/*  A reply waiting for the group commit.  */
typedef struct {
    zmq_msg_t identity;
    uint8_t *body;
    size_t len;
    int wrote; /* depends on the commit: refuse it if the commit fails */
} s_reply_t;

/*  Failed enrollments per peer address, for rate limiting.  */
typedef struct {
    char address[64];
    int64_t window_ms; /* start of the current window */
    int failures;      /* in the current window */
} s_limit_t;

typedef struct {
    void *ctx, *zap, *sync, *admin;
    sqlite3 *db;
    dn_ingest_t *ingest;
    dn_door_t *door;
    int door_sync, door_admin; /* the sockets' indexes in the door */
    s_limit_t limits[DN_ENROLL_LIMIT_PEERS];
    long commits_left; /* test hook: exit after this many commits, -1 = never */
    s_reply_t replies[DN_GROUP_MAX];
    int n_replies;
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
    char db_path[4096], server_key[4096], hq_key[4096];
    dn_curve_pair_t server, hq;
    uint8_t hq_public[DN_CURVE_KEY_BYTES];
    struct stat st;
    sqlite3 *db = NULL;
    int rc;

    if (s_path(db_path, sizeof db_path, dir, DN_CENTRAL_DB_FILE) ||
        s_path(server_key, sizeof server_key, dir, DN_SERVER_KEY_FILE) ||
        s_path(hq_key, sizeof hq_key, dir, DN_HQ_KEY_FILE))
        return DN_EINVAL;
    const char *currency = network && network->currency ? network->currency
                                                        : DN_CURRENCY_DEFAULT;
    int64_t max_sale = network && network->max_sale ? network->max_sale
                                                    : DN_MONEY_MAX_SALE_DEFAULT;
    int country = network && network->country ? network->country : DN_PHONES_DEFAULT_COUNTRY;

    if (dn_money_exponent(currency) < 0)
        return DN_ECURRENCY;
    if (max_sale < 1 || max_sale > DN_MONEY_MAX_SALE_LIMIT)
        return DN_EINVAL;
    if (stat(db_path, &st) == 0 || stat(server_key, &st) == 0 || stat(hq_key, &st) == 0)
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
    if (rc == 0)
        rc = dn_curve_save(&hq, hq_key);
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

/* -- replies --------------------------------------------------------------- */

static int s_pack_sync(const Dealernet__SyncMessage *msg, uint8_t **buf, size_t *len)
{
    char why[DN_WHY_SIZE];
    int rc = dn_wire_sync_pack(msg, buf, len, why, sizeof why);
    if (rc)
        dn_log_error("cannot pack a reply: %s", why);
    return rc;
}

static int s_pack_refused(Dealernet__RefuseCode code, const char *text, uint64_t expected,
                          uint8_t **buf, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Refused refused = DEALERNET__REFUSED__INIT;
    refused.has_code = 1;
    refused.code = code;
    refused.text = (char *)text;
    if (expected) {
        refused.has_expected_seq = 1;
        refused.expected_seq = expected;
    }
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_REFUSED;
    msg.refused = &refused;
    return s_pack_sync(&msg, buf, len);
}

/*  Queues a reply to the peer whose identity frame is identity (moved).  */
static void s_queue(s_server_t *self, zmq_msg_t *identity, uint8_t *body, size_t len,
                    int wrote)
{
    s_reply_t *r = &self->replies[self->n_replies++];
    zmq_msg_init(&r->identity);
    zmq_msg_move(&r->identity, identity);
    r->body = body;
    r->len = len;
    r->wrote = wrote;
}

/*  Commits the group transaction (if any), then sends every queued reply.
    If the commit fails, replies that depended on it become refusals.  */
static void s_flush(s_server_t *self)
{
    int failed = 0;
    if (dn_ingest_group_open(self->ingest)) {
        failed = dn_ingest_group_end(self->ingest, 1) != 0;
        if (failed) {
            static dn_log_limit_t commits = {"failed group commits", 0, 0, 0, NULL};
            dn_log_error_limited(&commits,
                                 "group commit failed: %d replies turned into retry "
                                 "requests",
                                 self->n_replies);
        }
        if (!failed && self->commits_left > 0 && --self->commits_left == 0) {
            dn_log_warn("test hook: exiting after the commit, before the acks");
            _exit(3);
        }
    }
    for (int i = 0; i < self->n_replies; i++) {
        s_reply_t *r = &self->replies[i];
        if (failed && r->wrote) {
            free(r->body);
            r->body = NULL;
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                           "the server could not commit; retry later", 0, &r->body, &r->len);
        }
        if (r->body) {
            zmq_msg_send(&r->identity, self->sync, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(self->sync, r->body, r->len, ZMQ_DONTWAIT);
        }
        zmq_msg_close(&r->identity);
        free(r->body);
    }
    self->n_replies = 0;
}

/* -- sync messages ----------------------------------------------------------- */

/*  The failure counter of a peer address (the least recently used slot is
    reused for a new address).  */
static s_limit_t *s_limit(s_server_t *self, const char *address, int64_t now)
{
    s_limit_t *oldest = &self->limits[0];
    for (int i = 0; i < DN_ENROLL_LIMIT_PEERS; i++) {
        s_limit_t *l = &self->limits[i];
        if (strcmp(l->address, address) == 0)
            return l;
        if (l->window_ms < oldest->window_ms)
            oldest = l;
    }
    snprintf(oldest->address, sizeof oldest->address, "%s", address);
    oldest->window_ms = now;
    oldest->failures = 0;
    return oldest;
}

/*  Returns 1 if the counter is over its limit in the current window.  */
static int s_limited(s_limit_t *l, int limit, int64_t now)
{
    if (now - l->window_ms >= DN_ENROLL_WINDOW_MS) {
        l->window_ms = now;
        l->failures = 0;
    }
    return l->failures >= limit;
}

/*  0 if currency is the network's; else DN_ECURRENCY with the reason, or
    DN_EDB.  */
static int s_check_currency(s_server_t *self, const char *currency, char *why,
                            size_t why_size)
{
    char network[4];
    int rc = dn_db_meta_get(self->db, DN_META_CURRENCY, network, sizeof network);
    if (rc == DN_ENOENT)
        snprintf(network, sizeof network, "%s", DN_CURRENCY_DEFAULT);
    else if (rc)
        return DN_EDB;
    if (strcmp(currency, network) == 0)
        return 0;
    snprintf(why, why_size,
             "this agent keeps its books in %s, but the network's currency is %s: "
             "initialise the site again with --currency %s",
             currency, network, network);
    return DN_ECURRENCY;
}

/*  The agent was initialised for another partner than HQ registered the
    site to: remember it (its sales naming it earn for the site's
    partner) and flag it for HQ.  A failure here loses no sale: those
    naming the other partner are then held instead.  */
static void s_note_agent_partner(s_server_t *self, const dn_registry_site_t *site,
                                 const char *partner, int64_t now_ms)
{
    char detail[DN_FACTS_DETAIL_SIZE];
    int rc = dn_db_begin(self->db);
    snprintf(detail, sizeof detail,
             "the agent was initialised for partner %s, but HQ registered the site to %s: "
             "its sales earn for %s",
             partner, site->partner, site->partner);
    if (rc == 0)
        rc = dn_registry_site_agent_partner(self->db, site->id, partner);
    if (rc == 0)
        rc = dn_facts_note_site(self->db, site->id, DN_FACTS_PARTNER_MISMATCH, detail, now_ms);
    if (rc == 0)
        rc = dn_db_commit(self->db);
    if (rc) {
        dn_db_rollback(self->db);
        dn_log_error("site %s: could not record its agent's partner %s", site->code, partner);
        return;
    }
    dn_ingest_forget(self->ingest);
    dn_log_warn("site %s: %s", site->code, detail);
}

/*  1 if text has the shape of an enrollment token (dn_registry).  */
static int s_token_shaped(const char *text)
{
    size_t n = 0;
    for (; text[n]; n++)
        if (!((text[n] >= '0' && text[n] <= '9') || (text[n] >= 'a' && text[n] <= 'f')))
            return 0;
    return n == DN_TOKEN_TEXT_LEN;
}

static void s_on_enroll(s_server_t *self, const char *user, const char *address,
                        const Dealernet__EnrollRequest *m, uint8_t **body, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Enrolled enrolled = DEALERNET__ENROLLED__INIT;
    dn_registry_site_t site;
    uint8_t key[DN_CURVE_KEY_BYTES];
    char why[DN_ENROLL_WHY_SIZE] = "";
    int rc;
    static const struct {
        int rc;
        Dealernet__RefuseCode code;
    } map[] = {{DN_ENOENT, DEALERNET__REFUSE_CODE__REFUSE_BAD_TOKEN},
               {DN_EEXIST, DEALERNET__REFUSE_CODE__REFUSE_TOKEN_USED},
               {DN_EAGAIN, DEALERNET__REFUSE_CODE__REFUSE_TOKEN_USED}, /* held by another key */
               {DN_ETIMEDOUT, DEALERNET__REFUSE_CODE__REFUSE_TOKEN_EXPIRED},
               {DN_EPERM, DEALERNET__REFUSE_CODE__REFUSE_WRONG_SITE},
               {DN_EDUP, DEALERNET__REFUSE_CODE__REFUSE_WRONG_SITE}};

    int64_t now = dn_time_now_ms();
    s_limit_t *peer;

    if (dn_curve_decode(user + 1, key) != 0) {
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL, "bad user id", 0, body, len);
        return;
    }
    /* A token that cannot be one costs nothing: no lookup, no failure
       counted against the address (a clerk's bad paste is not an attack).  */
    if (!s_token_shaped(m->token)) {
        static dn_log_limit_t shape = {"malformed enrollment tokens", 0, 0, 0, NULL};
        dn_refusal_count(DN_REFUSAL_ENROLL);
        dn_log_warn_limited(&shape, "enrollment refused for site %s from %s: malformed token",
                            m->site, address);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_BAD_TOKEN,
                       "this is not an enrollment token (32 hex digits): copy it again "
                       "from headquarters",
                       0, body, len);
        return;
    }
    /* Tokens carry 128 random bits, so guessing is hopeless; limiting the
       failures per address keeps it so, and makes a try visible.  There is
       no limit over all addresses: it would add nothing against guessing
       and let anyone lock every shop out.  */
    peer = s_limit(self, address, now);
    if (s_limited(peer, DN_ENROLL_LIMIT_PER_PEER, now)) {
        static dn_log_limit_t limited = {"rate-limited enrollments", 0, 0, 0, NULL};
        dn_refusal_count(DN_REFUSAL_ENROLL_RATE);
        dn_log_warn_limited(&limited,
                            "enrollment rate limit: refused an attempt for site %s from %s "
                            "(%d failures from it this minute)",
                            m->site, address, peer->failures);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_RATE_LIMITED,
                       "too many failed enrollments from this address: wait a minute", 0,
                       body, len);
        return;
    }
    /* An agent keeping its books in another currency than the network's
       is refused before the token is used: it costs the shop nothing.  */
    if (m->currency && (rc = s_check_currency(self, m->currency, why, sizeof why)) != 0) {
        static dn_log_limit_t currency = {"enrollments in another currency", 0, 0, 0, NULL};
        dn_refusal_count(DN_REFUSAL_ENROLL);
        dn_log_warn_limited(&currency, "enrollment refused for site %s from %s: %s", m->site,
                            address, why);
        s_pack_refused(rc == DN_ECURRENCY ? DEALERNET__REFUSE_CODE__REFUSE_MISMATCH
                                          : DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       rc == DN_ECURRENCY ? why : dn_strerror(rc), 0, body, len);
        return;
    }
    /* Enrollment commits on its own: the group in hand first.  Only a token
       of the right shape from an address within its limit gets this far,
       so a stranger cannot make every message a commit.  */
    s_flush(self);
    rc = dn_registry_enroll_from(self->db, m->token, m->site, key, m->sign_key.data, address,
                                 dn_time_now_ms(), &site, why, sizeof why);
    if (rc == 0) {
        dn_log_info("site %s enrolled (partner %s, key %s)", site.code, site.partner,
                    user + 1);
        if (m->partner && strcmp(m->partner, site.partner) != 0)
            s_note_agent_partner(self, &site, m->partner, now);
        enrolled.site = site.code;
        enrolled.partner = site.partner;
        msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ENROLLED;
        msg.enrolled = &enrolled;
        s_pack_sync(&msg, body, len);
        return;
    }
    if (rc != DN_EDB) {
        peer->failures++;
        dn_refusal_count(DN_REFUSAL_ENROLL);
    }
    Dealernet__RefuseCode code = DEALERNET__REFUSE_CODE__REFUSE_INTERNAL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].rc == rc)
            code = map[i].code;
    dn_log_warn("enrollment refused for site %s from %s: %s", m->site, address,
                why[0] ? why : dn_strerror(rc));
    s_pack_refused(code, why[0] ? why : dn_strerror(rc), 0, body, len);
}

static void s_on_hello(s_server_t *self, const dn_registry_site_t *site,
                       const Dealernet__Hello *hello, uint8_t **body, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Welcome welcome = DEALERNET__WELCOME__INIT;
    dn_ingest_state_t state;
    int64_t max_sale;

    if (hello->protocol != DN_PROTOCOL_VERSION) {
        char text[96];
        snprintf(text, sizeof text, "protocol %u is not supported; this server speaks %d",
                 hello->protocol, DN_PROTOCOL_VERSION);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_PROTOCOL, text, 0, body, len);
        return;
    }
    if (dn_ingest_group_begin(self->ingest) ||
        dn_ingest_hello(self->ingest, site, hello, dn_time_now_ms(), &state) ||
        dn_ingest_max_sale(self->ingest, &max_sale)) {
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       "the server could not read its database; retry later", 0, body, len);
        return;
    }
    welcome.has_protocol = 1;
    welcome.protocol = DN_PROTOCOL_VERSION;
    welcome.has_applied_seq = 1;
    welcome.applied_seq = state.applied_seq;
    welcome.has_server_clock_ms = 1;
    welcome.server_clock_ms = dn_time_now_ms();
    welcome.has_window = 1;
    welcome.window = DN_SYNC_WINDOW;
    welcome.has_max_batch_events = 1;
    welcome.max_batch_events = DN_MAX_BATCH_EVENTS;
    welcome.has_max_sale = 1; /* the agent refuses a larger sale at the till */
    welcome.max_sale = max_sale;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_WELCOME;
    msg.welcome = &welcome;
    s_pack_sync(&msg, body, len);
}

static void s_on_push(s_server_t *self, const dn_registry_site_t *site,
                      const Dealernet__PushBatch *batch, uint8_t **body, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__PushAck ack = DEALERNET__PUSH_ACK__INIT;
    dn_ingest_result_t result;
    int rc;

    rc = dn_ingest_push(self->ingest, site, batch, dn_time_now_ms(), &result);
    if (rc) {
        if (rc == DN_EPROTO) {
            dn_log_warn("site %s: batch from seq %llu refused: %s", site->code,
                        (unsigned long long)batch->first_seq, result.why);
            if (result.code == DEALERNET__REFUSE_CODE__REFUSE_GAP)
                dn_ingest_note_gap(self->ingest, site->id, result.expected_seq);
            s_pack_refused(result.code, result.why, result.expected_seq, body, len);
        } else {
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                           "the server could not store the batch; retry later", 0, body,
                           len);
        }
        return;
    }
    if (result.applied)
        dn_log_debug("site %s: applied %d events through seq %llu", site->code,
                     result.applied, (unsigned long long)result.acked_through);
    ack.has_acked_through = 1;
    ack.acked_through = result.acked_through;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ACK;
    msg.ack = &ack;
    s_pack_sync(&msg, body, len);
}

/*  Receives one message from the sync socket (without waiting) and queues
    its reply.  Returns 1 if a message was handled, 0 if none was waiting.  */
static int s_sync_one(s_server_t *self)
{
    zmq_msg_t identity, frame;
    Dealernet__SyncMessage *msg = NULL;
    char user[DN_USER_SIZE] = "", why[DN_WHY_SIZE];
    uint8_t *body = NULL;
    size_t len = 0;
    int more = 0, extra = 0, wrote = 0, proven = 0, rc;
    size_t more_size = sizeof more;
    dn_registry_site_t site;
    static dn_log_limit_t malformed = {"malformed sync messages", 0, 0, 0, NULL};

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
    if (extra) {
        snprintf(why, sizeof why, "a sync message is exactly one frame");
        rc = DN_EPROTO;
    } else {
        rc = dn_wire_sync_unpack(zmq_msg_data(&frame), zmq_msg_size(&frame), &msg, why,
                                 sizeof why);
    }
    if (rc == DN_ENOMEM) {
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       "the server is short of memory; retry later", 0, &body, &len);
    } else if (rc) {
        dn_refusal_count(DN_REFUSAL_MALFORMED);
        dn_log_warn_limited(&malformed, "malformed sync message from %s%s (%s): %s",
                            user[0] == '?' ? "unknown key " : "",
                            user[0] == '?' || user[0] == '!' ? user + 1 : user, peer, why);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, why, 0, &body, &len);
    } else if (user[0] == '?') {
        if (msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_ENROLL) {
            s_on_enroll(self, user, peer, msg->enroll, &body, &len);
        } else {
            static dn_log_limit_t unknown = {"messages from unknown keys", 0, 0, 0, NULL};
            dn_refusal_count(DN_REFUSAL_UNKNOWN_KEY);
            dn_log_warn_limited(&unknown,
                                "unknown key %s (%s) sent a %s message: refused (it may "
                                "only enroll)",
                                user + 1, peer,
                                msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_PUSH
                                    ? "push"
                                    : "non-enrollment");
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED,
                           "this key is not enrolled: run 'dealernet-agent enroll' with a "
                           "token from headquarters",
                           0, &body, &len);
        }
    } else if (user[0] == '!') {
        static dn_log_limit_t revoked = {"messages from revoked sites", 0, 0, 0, NULL};
        dn_refusal_count(DN_REFUSAL_REVOKED);
        dn_log_warn_limited(&revoked, "revoked site %s tried to sync: refused (from %s)",
                            user + 1, peer);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_REVOKED,
                       "this site was revoked by headquarters", 0, &body, &len);
    } else if ((rc = dn_registry_site_get(self->db, user, &site)) != 0 &&
               rc != DN_ENOENT) { /* the server's trouble, not the site's */
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       "the server could not read its database; retry later", 0, &body,
                       &len);
    } else if (rc == DN_ENOENT || !site.enrolled || site.revoked) {
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED,
                       "this key's site is not enrolled", 0, &body, &len);
    } else {
        proven = 1; /* an enrolled site's key: no longer a stranger at the door */
        switch (msg->body_case) {
        case DEALERNET__SYNC_MESSAGE__BODY_HELLO:
            s_on_hello(self, &site, msg->hello, &body, &len);
            wrote = 1;
            break;
        case DEALERNET__SYNC_MESSAGE__BODY_PUSH:
            s_on_push(self, &site, msg->push, &body, &len);
            wrote = 1;
            break;
        case DEALERNET__SYNC_MESSAGE__BODY_ENROLL:
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_TOKEN_USED,
                           "this key is already enrolled", 0, &body, &len);
            break;
        default:
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_MALFORMED,
                           "agents send hello, push or enroll only", 0, &body, &len);
        }
    }
    dn_door_seen(self->door, self->door_sync, zmq_msg_get(&frame, ZMQ_SRCFD), peer, proven);
    dn_wire_sync_free(&msg);
    zmq_msg_close(&frame);
    s_queue(self, &identity, body, len, wrote);
    zmq_msg_close(&identity);
    return 1;
}

static void s_sync_drain(s_server_t *self)
{
    /* bounded by messages, not replies: an enrollment flushes the replies */
    for (int n = 0; n < DN_GROUP_MAX && self->n_replies < DN_GROUP_MAX && s_sync_one(self);
         n++)
        ;
    s_flush(self);
}

/* -- admin requests -------------------------------------------------------- */

static void s_admin_one(s_server_t *self)
{
    zmq_msg_t frames[3];
    int n = 0, more = 1;
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
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        if (admin && dn_admin_handle(self->db, admin, zmq_msg_data(&frames[2]),
                                     zmq_msg_size(&frames[2]), &reply, &reply_len) == 0) {
            zmq_msg_send(&frames[0], self->admin, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(self->admin, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(self->admin, reply, reply_len, ZMQ_DONTWAIT);
        }
        free(reply);
    } else if (n > 0) {
        static dn_log_limit_t dropped = {"malformed admin messages", 0, 0, 0, NULL};
        dn_refusal_count(DN_REFUSAL_ADMIN);
        dn_log_warn_limited(&dropped,
                            "admin socket: dropped a message that is not a REQ request");
    }
    for (int i = 0; i < n && i < 3; i++)
        zmq_msg_close(&frames[i]);
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
    if ((rc = dn_central_open(config->dir, 0, &self.db)) != 0) {
        dn_log_error("cannot open %s/%s: %s", config->dir, DN_CENTRAL_DB_FILE,
                     dn_strerror(rc));
        return rc;
    }
    if ((rc = dn_rollup_complete(self.db)) != 0) { /* the rollups' migration */
        dn_log_error("cannot open %s/%s: %s", config->dir, DN_CENTRAL_DB_FILE,
                     dn_strerror(rc));
        sqlite3_close(self.db);
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
    self.ctx = config->ctx ? config->ctx : zmq_ctx_new();
    self.door = self.ctx ? dn_door_new(self.ctx) : NULL;
    unsigned long long files = s_descriptors(); /* before the door sizes its caps */
    rc = DN_EIO;
    /* The ZAP handler first, answering as it should, or nothing: without a
       handler bound in the context libzmq lets every CURVE client in.  */
    if (self.ingest && self.ctx && self.door) {
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
    if (rc == 0) {
        s_log_door(&self, files);
        dn_log_info("serving: sync %s, admin %s, server key %s", sync_ep, admin_ep,
                    key.public_z85);
        while (!*config->stop) {
            zmq_pollitem_t items[] = {{self.zap, 0, ZMQ_POLLIN, 0},
                                      {self.sync, 0, ZMQ_POLLIN, 0},
                                      {self.admin, 0, ZMQ_POLLIN, 0}};
            int n = zmq_poll(items, 3, 1000);
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
            if (items[1].revents & ZMQ_POLLIN)
                s_sync_drain(&self);
            if (items[2].revents & ZMQ_POLLIN) {
                s_admin_one(&self);
                dn_ingest_forget(self.ingest); /* the tree, plans or periods may differ */
            }
        }
        dn_log_limits_flush(1);
        dn_log_info("stopping");
    }
    /* The sockets close at once after the loop: a message libzmq takes in
       while the door's thread is joined would be lost unanswered.  Their
       monitors stop first (from this thread, while they exist); the door
       ends before the context does.  */
    dn_door_unwatch(self.door, self.door_sync);
    dn_door_unwatch(self.door, self.door_admin);
    if (self.sync)
        zmq_close(self.sync);
    if (self.admin)
        zmq_close(self.admin);
    if (self.zap)
        zmq_close(self.zap);
    dn_door_destroy(&self.door);
    if (self.ctx && !config->ctx)
        zmq_ctx_term(self.ctx);
    dn_ingest_destroy(&self.ingest);
    sqlite3_close(self.db);
    return rc;
}

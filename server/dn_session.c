/*  dn_session -- the server's side of a sync session (see dn_session.h).

    Identity: every message's site comes from the connection's ZAP User-Id
    (dn_zap.h), never from the body.  Durability: a batch is acked only
    after the transaction that applied it committed.  Containment: whatever
    a peer sends gets at most a Refused reply.
*/
#include "dn_session.h"
#include "dn_central.h"
#include "dn_curve.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_facts.h"
#include "dn_log.h"
#include "dn_metrics.h"
#include "dn_refusal.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  A reply waiting for the group commit, or released and not yet taken.  */
typedef struct {
    uint8_t route[DN_SESSION_ROUTE_MAX];
    size_t route_len;
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

/*  A route that said Hello (see "who said hello").  */
typedef struct {
    uint8_t route[DN_SESSION_ROUTE_MAX];
    size_t route_len;
    int64_t site_id;
    uint32_t protocol;
    uint64_t used; /* LRU tick; 0: free */
} s_hello_t;

/*  A message waiting for what the uploads leave of a group (see "pulls
    wait"): a Pull, or whatever its connection sent behind it.  */
typedef struct {
    uint8_t route[DN_SESSION_ROUTE_MAX];
    size_t route_len;
    char user[DN_SESSION_USER_MAX];
    char address[64];
    uint8_t *data; /* the message as received, owned */
    size_t len;
    int extra;     /* it came with more than one frame */
} s_deferred_t;

struct _dn_session_t {
    sqlite3 *db;
    dn_ingest_t *ingest;
    dn_session_options_t options;
    s_limit_t limits[DN_ENROLL_LIMIT_PEERS];
    /* DN_GROUP_MAX for the messages read, and one more for the deferred
       message every group answers even when those filled the rest (see
       s_serve_deferred) */
    s_reply_t replies[DN_GROUP_MAX + 1];
    int n_replies; /* queued */
    int released;  /* of them, the first ones: released */
    int group_full; /* a message of the group in hand met a full disk */
    int taken;     /* of those, the first ones: taken by the driver */
    s_hello_t *hellos; /* DN_SESSION_HELLOS, allocated at the first Hello */
    uint64_t hello_tick;
    s_deferred_t *deferred; /* a ring of DN_SESSION_DEFERRED_MAX, allocated at the first */
    size_t deferred_head;   /* the oldest */
    size_t n_deferred;
    size_t deferred_bytes;  /* of their messages */
    int group_pushes;       /* Pushes answered in the group in hand */
    /* the group in hand for the metrics (dn_metrics): when its first Push
       began to apply (monotonic us; 0: none yet), the events its accepted
       Pushes stored and the acks it holds */
    int64_t group_started_us;
    uint64_t group_events, group_acks;
    /* the network's zone for protocol-3 Welcomes, the process's
       (dn_central_zone_load), read once: its rule comes from a file */
    char zone[DN_TIME_ZONE_SIZE];
    char zone_rule[DN_TIME_ZONE_SIZE]; /* "": the zone file has none */
};

static int64_t s_now(const dn_session_t *self)
{
    return self->options.clock ? self->options.clock(self->options.clock_arg)
                               : dn_time_now_ms();
}

dn_session_t *dn_session_new(sqlite3 *db, dn_ingest_t *ingest,
                             const dn_session_options_t *options)
{
    dn_session_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->ingest = ingest;
    if (options)
        self->options = *options;
    if (!self->options.window)
        self->options.window = DN_SYNC_WINDOW;
    if (!self->options.hellos_per_site)
        self->options.hellos_per_site = DN_SESSION_HELLOS_PER_SITE;
    if (!self->options.deferred_per_site)
        self->options.deferred_per_site = DN_SESSION_DEFERRED_PER_SITE;
    if (!self->options.max_batch_events)
        self->options.max_batch_events = DN_MAX_BATCH_EVENTS;
    snprintf(self->zone, sizeof self->zone, "%s", dn_time_zone());
    if (dn_time_zone_check(self->zone, self->zone_rule) != 0)
        self->zone_rule[0] = '\0'; /* a rule set as the zone, or a version-1 file */
    return self;
}

void dn_session_destroy(dn_session_t **self_p)
{
    dn_session_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    for (int i = self->taken; i < self->n_replies; i++)
        free(self->replies[i].body);
    for (size_t i = 0; i < self->n_deferred; i++)
        free(self->deferred[(self->deferred_head + i) % DN_SESSION_DEFERRED_MAX].data);
    free(self->deferred);
    free(self->hellos);
    free(self);
    *self_p = NULL;
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
    /* every Refused is made here: counted by its code's name */
    const ProtobufCEnumValue *name =
        protobuf_c_enum_descriptor_get_value(&dealernet__refuse_code__descriptor, code);
    dn_metrics_refused(name ? name->name : NULL);
    return s_pack_sync(&msg, buf, len);
}


/*  The refusal when the server's disk is full (dn_db_full): the site can do
    nothing but keep its events and wait for HQ.  */
static const char s_full_text[] =
    "server disk full: nothing was stored; headquarters must free space on the server";

/*  Queues a reply to route.  Held until the group ends, unless the test
    flag releases it at once (the injected bug).  */
static void s_queue(dn_session_t *self, const dn_session_peer_t *peer, uint8_t *body,
                    size_t len, int wrote)
{
    s_reply_t *r = &self->replies[self->n_replies++];
    memcpy(r->route, peer->route, peer->route_len);
    r->route_len = peer->route_len;
    r->body = body;
    r->len = len;
    r->wrote = wrote;
    if (self->options.test_reply_before_commit)
        self->released = self->n_replies;
}

size_t dn_session_pending(const dn_session_t *self)
{
    return (size_t)(self->n_replies - self->taken);
}

size_t dn_session_deferred(const dn_session_t *self)
{
    return self->n_deferred;
}

/*  Commits the group transaction (if any), then releases every held reply.
    If the commit fails, replies that depended on it become refusals.  */
static int s_end_group(dn_session_t *self, int commit)
{
    int failed = 0, full = 0;
    if (dn_ingest_group_open(self->ingest)) {
        dn_db_full_clear();
        failed = dn_ingest_group_end(self->ingest, commit) != 0;
        full = failed && (dn_db_full() || self->group_full);
        if (failed) {
            static dn_log_limit_t commits = {"failed group commits", 0, 0, 0, NULL};
            dn_log_error_limited(&commits,
                                 "group commit failed: %d replies turned into retry "
                                 "requests",
                                 self->n_replies - self->released);
        }
        if (!failed && self->options.committed)
            self->options.committed(self->options.committed_arg);
        /* what the shops were told is stored, once it is: a group that
           did not commit acks nothing (its acks become refusals below) */
        if (!failed && self->group_acks) {
            dn_metrics_events(self->group_events);
            dn_metrics_batches(self->group_acks);
            dn_metrics_apply(dn_time_monotonic_us() - self->group_started_us);
        }
    }
    for (int i = self->released; i < self->n_replies; i++) {
        s_reply_t *r = &self->replies[i];
        if (failed && r->wrote) {
            free(r->body);
            r->body = NULL;
            if (full)
                s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_SERVER_FULL, s_full_text, 0,
                               &r->body, &r->len);
            else
                s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                               "the server could not commit; retry later", 0, &r->body,
                               &r->len);
        }
    }
    self->released = self->n_replies;
    self->group_full = 0;
    self->group_pushes = 0;
    self->group_started_us = 0;
    self->group_events = self->group_acks = 0;
    return failed ? DN_EDB : 0;
}

/*  Once every released reply is taken, moves the held ones to the front:
    the room is DN_GROUP_MAX replies not yet taken.  */
static void s_compact(dn_session_t *self)
{
    if (self->taken == 0 || self->taken < self->released)
        return;
    memmove(self->replies, self->replies + self->taken,
            (size_t)(self->n_replies - self->taken) * sizeof self->replies[0]);
    self->n_replies -= self->taken;
    self->released -= self->taken;
    self->taken = 0;
}

int dn_session_reply(dn_session_t *self, uint8_t *route, size_t *route_len, uint8_t **body,
                     size_t *len)
{
    while (self->taken < self->released) {
        s_reply_t *r = &self->replies[self->taken++];
        if (!r->body) /* it could not be packed: logged, nothing to send */
            continue;
        memcpy(route, r->route, r->route_len);
        *route_len = r->route_len;
        *body = r->body;
        *len = r->len;
        r->body = NULL;
        return 1;
    }
    s_compact(self);
    return 0;
}

/* -- who said hello ------------------------------------------------------------

   The one thing a session remembers of a connection: that a site said
   Hello on it, and in which protocol, so that a Pull is taken only after
   a Hello of protocol 2 on the same route.  DN_SESSION_HELLOS routes are
   kept, the least recently used forgotten first: a forgotten connection's
   Pull is refused and its agent reconnects (nothing is lost; the upload
   was acked).  ZeroMQ's routing ids are not reused while the server runs.

   One site holds at most DN_SESSION_HELLOS_PER_SITE of them: its Hello
   on one more route forgets its own oldest, not another site's.  An agent
   syncs on one connection at a time (a reconnect is a fresh socket, whose
   old route is dead), so a few are plenty; without the bound, one
   enrolled site reconnecting and saying Hello 4,096 times would push
   every other site out of the table, and each of their Pulls would be
   refused.  */

/*  Notes that site said Hello in protocol on peer's route.  */
static void s_said_hello(dn_session_t *self, const dn_session_peer_t *peer,
                         const dn_registry_site_t *site, uint32_t protocol)
{
    s_hello_t *slot = NULL, *own = NULL; /* the LRU of all, of site's */
    size_t owned = 0;
    if (!self->hellos &&
        !(self->hellos = calloc(DN_SESSION_HELLOS, sizeof *self->hellos)))
        return; /* out of memory: its Pull is refused, and it reconnects */
    for (size_t i = 0; i < DN_SESSION_HELLOS; i++) {
        s_hello_t *h = &self->hellos[i];
        if (h->route_len == peer->route_len &&
            memcmp(h->route, peer->route, peer->route_len) == 0 && h->used) {
            slot = h;
            own = NULL;
            break;
        }
        if (h->used && h->site_id == site->id) {
            owned++;
            if (!own || h->used < own->used)
                own = h;
        }
        if (!slot || h->used < slot->used)
            slot = h;
    }
    if (own && owned >= self->options.hellos_per_site)
        slot = own;
    memcpy(slot->route, peer->route, peer->route_len);
    slot->route_len = peer->route_len;
    slot->site_id = site->id;
    slot->protocol = protocol;
    slot->used = ++self->hello_tick;
}

/*  The protocol site said Hello in on peer's route, 0 if none.  */
static uint32_t s_hello_protocol(dn_session_t *self, const dn_session_peer_t *peer,
                                 const dn_registry_site_t *site)
{
    for (size_t i = 0; self->hellos && i < DN_SESSION_HELLOS; i++) {
        s_hello_t *h = &self->hellos[i];
        if (h->used && h->route_len == peer->route_len &&
            memcmp(h->route, peer->route, peer->route_len) == 0) {
            if (h->site_id != site->id)
                return 0;
            h->used = ++self->hello_tick;
            return h->protocol;
        }
    }
    return 0;
}

/* -- sync messages ----------------------------------------------------------- */

/*  The failure counter of a peer address (the least recently used slot is
    reused for a new address).  */
static s_limit_t *s_limit(dn_session_t *self, const char *address, int64_t now)
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
static int s_check_currency(dn_session_t *self, const char *currency, char *why,
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
             /* i18n: not for people: sync */
             "this agent keeps its books in %s, but the network's currency is %s: "
             "initialise the site again with --currency %s",
             currency, network, network);
    return DN_ECURRENCY;
}

/*  The agent was initialised for another partner than HQ registered the
    site to: remember it (its sales naming it earn for the site's
    partner) and flag it for HQ.  A failure here loses no sale: those
    naming the other partner are then held instead.  */
static void s_note_agent_partner(dn_session_t *self, const dn_registry_site_t *site,
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

/*  A folder enrolled before (synced_seq set) asks to enroll again: the
    site must hold at least what it synced, and every event of the site
    must be signed by this folder's key (the site's key is still its own:
    no other PC took the site over).  Returns 0, or DN_ECHAIN with why.
    Read before the enrollment's transaction: the session is the one
    writer of events and keys that could change it meanwhile.  */
static int s_check_continues(dn_session_t *self, const Dealernet__EnrollRequest *m,
                             char *why, size_t why_size)
{
    dn_registry_site_t site;
    dn_ingest_state_t state;
    if (dn_registry_site_get(self->db, m->site, &site) != 0 ||
        dn_ingest_state(self->ingest, site.id, &state) != 0)
        return 0; /* no such site, or trouble: enrollment says which */
    if (state.applied_seq < m->synced_seq)
        return dn_why(why, why_size, DN_ECHAIN,
                      /* i18n: not for people: sync */
                      "the server holds site %s through seq %llu, but this folder synced "
                      "through seq %llu",
                      m->site, (unsigned long long)state.applied_seq,
                      (unsigned long long)m->synced_seq);
    if (state.applied_seq > 0 && site.enrolled &&
        memcmp(site.sign_key, m->sign_key.data, DN_PUBKEY_BYTES) != 0)
        return dn_why(why, why_size, DN_ECHAIN,
                      /* i18n: not for people: sync */
                      "site %s continued on another PC after this folder's seq %llu (the "
                      "server holds seq %llu): this folder can no longer sync it",
                      m->site, (unsigned long long)m->synced_seq,
                      (unsigned long long)state.applied_seq);
    return 0;
}

/*  The Enrolled reply for site: its code and partner, and where its chain
    stands when the server holds events of it.  */
static void s_pack_enrolled(dn_session_t *self, const dn_registry_site_t *site,
                            const Dealernet__EnrollRequest *m, uint8_t **body,
                            size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Enrolled enrolled = DEALERNET__ENROLLED__INIT;
    dn_ingest_state_t state;
    uint8_t down_key[DN_PUBKEY_BYTES];
    enrolled.site = (char *)site->code;
    enrolled.partner = (char *)site->partner;
    /* The key that signs what comes down, pinned by the agent from here:
       only to an agent of protocol 2 (an older one refuses the field).  */
    if (self->options.down && m->has_protocol && m->protocol >= 2) {
        dn_down_public(self->options.down, down_key);
        enrolled.has_down_key = 1;
        enrolled.down_key.data = down_key;
        enrolled.down_key.len = DN_PUBKEY_BYTES;
    }
    /* A site that already has events (enrolled again with `site
       token`): the new PC continues its chain from here.  */
    if (dn_ingest_state(self->ingest, site->id, &state) == 0 && state.applied_seq > 0) {
        enrolled.has_applied_seq = 1;
        enrolled.applied_seq = state.applied_seq;
        enrolled.has_chain_head = 1;
        enrolled.chain_head.data = state.head;
        enrolled.chain_head.len = DN_HASH_BYTES;
    }
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ENROLLED;
    msg.enrolled = &enrolled;
    s_pack_sync(&msg, body, len);
}

/*  An enrolled site's key sends an EnrollRequest: the agent whose
    Enrolled reply was lost tries again with the same key and token (it
    records nothing of the enrolment, and a new PC does not know where the
    site's chain stands, until it has that reply).  The token that bound
    this key, for this site and this signing key, gets the same Enrolled
    again, with the chain as it stands now (only this key can have moved
    it since); anything else is refused as before.  Writes nothing.
    Returns 1 when the reply depends on the group in hand (the chain it
    names): refused if that group does not commit.  */
static int s_on_enroll_again(dn_session_t *self, const dn_registry_site_t *site,
                             const Dealernet__EnrollRequest *m, uint8_t **body, size_t *len)
{
    if (s_token_shaped(m->token) && strcmp(m->site, site->code) == 0 &&
        m->sign_key.len == DN_PUBKEY_BYTES &&
        memcmp(m->sign_key.data, site->sign_key, DN_PUBKEY_BYTES) == 0 &&
        dn_registry_enrolled_by(self->db, m->token, site->id) == 0) {
        dn_log_info("site %s: enrollment repeated by its key (the reply was lost): "
                    "answered again",
                    site->code);
        s_pack_enrolled(self, site, m, body, len);
        return 1;
    }
    s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_TOKEN_USED, "this key is already enrolled",
                   0, body, len);
    return 0;
}

static void s_on_enroll(dn_session_t *self, const char *user, const char *address,
                        const Dealernet__EnrollRequest *m, uint8_t **body, size_t *len)
{
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

    int64_t now = s_now(self);
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
                       "this is not an enrollment token (" DN_STR(
                           DN_TOKEN_TEXT_LEN) " hex digits): copy it again "
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
    /* A folder enrolled before continues the site only if the site is
       still its: nothing held, nothing used when it is not.  */
    if (m->has_synced_seq && s_check_continues(self, m, why, sizeof why) != 0) {
        dn_refusal_count(DN_REFUSAL_ENROLL);
        dn_log_warn("enrollment refused for site %s from %s: %s", m->site, address, why);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_CHAIN, why, 0, body, len);
        return;
    }
    /* Enrollment commits on its own: the group in hand first.  Only a token
       of the right shape from an address within its limit gets this far,
       so a stranger cannot make every message a commit.  */
    s_end_group(self, 1);
    rc = dn_registry_enroll_from(self->db, m->token, m->site, key, m->sign_key.data, address,
                                 dn_facts_note_raced, s_now(self), &site, why, sizeof why);
    if (rc == 0) {
        dn_log_info("site %s enrolled (partner %s, key %s)", site.code, site.partner,
                    user + 1);
        if (m->partner && strcmp(m->partner, site.partner) != 0)
            s_note_agent_partner(self, &site, m->partner, now);
        s_pack_enrolled(self, &site, m, body, len);
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

/*  A key its site was enrolled with before `site token` moved the site to
    another PC: refused as revoked (an older agent stops as it would for a
    revoked site), and told when and why, so the clerk at the old PC knows
    the sync is not broken but moved; what it recorded and never sent
    stays in its agent.db (README, "Replacing a shop's PC").  */
static void s_on_replaced(dn_session_t *self, const char *user, const char *address,
                          uint8_t **body, size_t *len)
{
    static dn_log_limit_t replaced = {"messages from replaced PCs", 0, 0, 0, NULL};
    uint8_t key[DN_CURVE_KEY_BYTES];
    char site[DN_MAX_CODE_LEN + 1], when[DN_TIME_TEXT_SIZE], text[256];
    int64_t retired_ms;

    if (dn_curve_decode(user + 1, key) != 0 ||
        dn_registry_key_replaced(self->db, key, site, &retired_ms) != 0) {
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       "the server could not read its database; retry later", 0, body, len);
        return;
    }
    dn_refusal_count(DN_REFUSAL_REVOKED);
    dn_time_format(retired_ms, when);
    dn_log_warn_limited(&replaced,
                        "site %s: the PC it was enrolled on before %s tried to sync: "
                        "refused (from %s)",
                        site, when, address);
    snprintf(text, sizeof text,
             "site %s was enrolled again on another PC at %s: this PC no longer syncs; "
             "what it did not sync stays in its agent.db",
             site, when);
    s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_REVOKED, text, 0, body, len);
}

static void s_on_hello(dn_session_t *self, const dn_session_peer_t *peer,
                       const dn_registry_site_t *site, const Dealernet__Hello *hello,
                       dn_session_outcome_t *out, uint8_t **body, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Welcome welcome = DEALERNET__WELCOME__INIT;
    dn_ingest_state_t state;
    int64_t max_sale;

    uint8_t down_key[DN_PUBKEY_BYTES];

    if (hello->protocol < DN_PROTOCOL_MIN_VERSION ||
        hello->protocol > DN_PROTOCOL_VERSION) {
        char text[96];
        snprintf(text, sizeof text, "protocol %u is not supported; this server speaks %d",
                 hello->protocol, DN_PROTOCOL_VERSION);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_PROTOCOL, text, 0, body, len);
        return;
    }
    if ((out->rc = dn_ingest_group_begin(self->ingest)) != 0 ||
        (out->rc = dn_ingest_hello(self->ingest, site, hello, s_now(self), &state)) != 0 ||
        (out->rc = dn_ingest_max_sale(self->ingest, &max_sale)) != 0) {
        dn_db_note(self->db);
        if (dn_db_full())
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_SERVER_FULL, s_full_text, 0, body,
                           len);
        else
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                           "the server could not read its database; retry later", 0, body,
                           len);
        return;
    }
    /* The session speaks the agent's protocol: a protocol-1 agent gets the
       Welcome it knows, and may not pull.  */
    welcome.has_protocol = 1;
    welcome.protocol = hello->protocol;
    if (hello->protocol >= 2 && self->options.down) {
        dn_down_public(self->options.down, down_key);
        welcome.has_down_key = 1;
        welcome.down_key.data = down_key;
        welcome.down_key.len = DN_PUBKEY_BYTES;
    }
    if (hello->protocol >= 3) { /* the agent's days are the network's */
        welcome.zone = self->zone;
        welcome.zone_rule = self->zone_rule[0] ? self->zone_rule : NULL;
    }
    s_said_hello(self, peer, site, hello->protocol);
    welcome.has_applied_seq = 1;
    welcome.applied_seq = out->applied_seq = state.applied_seq;
    welcome.has_server_clock_ms = 1;
    welcome.server_clock_ms = s_now(self);
    welcome.has_window = 1;
    welcome.window = self->options.window;
    welcome.has_max_batch_events = 1;
    welcome.max_batch_events = self->options.max_batch_events;
    welcome.has_max_sale = 1; /* the agent refuses a larger sale at the till */
    welcome.max_sale = max_sale;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_WELCOME;
    msg.welcome = &welcome;
    s_pack_sync(&msg, body, len);
}

/*  A Pull: only after a Hello of protocol 2 on the same connection (the
    route), from the site that said it.  The reply reads inside the group
    transaction (what the group ingested is what the producers see), so it
    is held, like an ack, until the group commits, and refused if it does
    not.  */
static void s_on_pull(dn_session_t *self, const dn_session_peer_t *peer,
                      const dn_registry_site_t *site, const Dealernet__Pull *pull,
                      dn_session_outcome_t *out, uint8_t **body, size_t *len)
{
    static dn_log_limit_t early = {"pulls without a protocol-2 hello", 0, 0, 0, NULL};
    static dn_log_limit_t refused = {"refused pulls", 0, 0, 0, NULL};
    char why[DN_WHY_SIZE];
    uint32_t protocol = s_hello_protocol(self, peer, site);

    /* No Hello remembered on this route: the agent's connection was
       re-made under it (ZeroMQ reconnects a dropped TCP link by itself,
       with a new route) or the route was forgotten (DN_SESSION_HELLOS).
       Its agent did say Hello, so this is no malformed message: the code
       is one an agent retries on (a new connection, a new Hello), as the
       rule above promises; a protocol-1 session's Pull is malformed.  */
    if (protocol == 0 && self->options.down) {
        dn_log_warn_limited(&early, "site %s: pull before its hello: refused", site->code);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       "a pull comes after the hello, on the same connection", 0, body,
                       len);
        return;
    }
    if (protocol < 2 || !self->options.down) {
        dn_refusal_count(DN_REFUSAL_MALFORMED);
        dn_log_warn_limited(&early, "site %s: pull on a session without downstream: refused",
                            site->code);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_MALFORMED,
                       "this session has no downstream (protocol 2 agents and servers "
                       "only)",
                       0, body, len);
        return;
    }
    if ((out->rc = dn_ingest_group_begin(self->ingest)) != 0) {
        dn_db_note(self->db);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       "the server could not read its database; retry later", 0, body,
                       len);
        return;
    }
    out->rc = dn_down_pull(self->options.down, site, s_now(self), pull, body, len, why,
                           sizeof why);
    if (out->rc == DN_EPROTO) {
        dn_refusal_count(DN_REFUSAL_MALFORMED);
        dn_log_warn_limited(&refused, "site %s: pull refused: %s", site->code, why);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_MALFORMED, why, 0, body, len);
    } else if (out->rc == DN_ENOMEM) {
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       "the server is short of memory; retry later", 0, body, len);
    } else if (out->rc) {
        dn_db_note(self->db);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       "the server could not read what to send down; retry later", 0,
                       body, len);
    }
}

static void s_on_push(dn_session_t *self, const dn_registry_site_t *site,
                      const Dealernet__PushBatch *batch, dn_session_outcome_t *out,
                      uint8_t **body, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__PushAck ack = DEALERNET__PUSH_ACK__INIT;
    dn_ingest_result_t *result = &out->push;
    int rc;

    /* The Welcome told the agent its batch size: more is refused unread,
       as over the wire's own bound (dn_wire), and nothing is written.  */
    if (batch->n_events > self->options.max_batch_events) {
        char text[96];
        snprintf(text, sizeof text, "batch has %zu events, this server takes at most %u",
                 batch->n_events, self->options.max_batch_events);
        dn_log_warn("site %s: batch from seq %llu refused: %s", site->code,
                    (unsigned long long)batch->first_seq, text);
        memset(result, 0, sizeof *result);
        result->code = DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG;
        snprintf(result->why, sizeof result->why, "%s", text);
        out->rc = DN_EPROTO;
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG, text, 0, body, len);
        return;
    }
    if (!self->group_started_us) /* the group's apply starts with its first Push */
        self->group_started_us = dn_time_monotonic_us();
    rc = out->rc = dn_ingest_push(self->ingest, site, batch, s_now(self), result);
    if (rc) {
        if (rc == DN_EPROTO) {
            dn_log_warn("site %s: batch from seq %llu refused: %s", site->code,
                        (unsigned long long)batch->first_seq, result->why);
            if (result->code == DEALERNET__REFUSE_CODE__REFUSE_GAP)
                dn_ingest_note_gap(self->ingest, site->id, result->expected_seq);
            s_pack_refused(result->code, result->why, result->expected_seq, body, len);
        } else if (dn_db_note(self->db), dn_db_full()) {
            /* ingest's modules step statements themselves: the connection
               still says what the failed write met  */
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_SERVER_FULL, s_full_text, 0, body,
                           len);
        } else {
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                           "the server could not store the batch; retry later", 0, body,
                           len);
        }
        return;
    }
    if (result->applied)
        dn_log_debug("site %s: applied %d events through seq %llu", site->code,
                     result->applied, (unsigned long long)result->acked_through);
    self->group_events += (uint64_t)result->applied;
    self->group_acks++;
    ack.has_acked_through = 1;
    ack.acked_through = result->acked_through;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ACK;
    msg.ack = &ack;
    s_pack_sync(&msg, body, len);
}

/*  Decodes one message as received into *msg (NULL when it does not
    decode: rc and why say why).  */
static int s_unpack(const uint8_t *data, size_t len, int extra, Dealernet__SyncMessage **msg,
                    char why[DN_WHY_SIZE])
{
    *msg = NULL;
    if (extra) {
        snprintf(why, DN_WHY_SIZE,
                 /* i18n: not for people: sync */ "a sync message is exactly one frame");
        return DN_EPROTO;
    }
    return dn_wire_sync_unpack(data, len, msg, why, DN_WHY_SIZE);
}

/*  The reply to one message from peer, decoded by s_unpack (msg, or rc and
    why): the rules of who may send what, then the handler of its kind.
    *wrote: the reply depends on the group.  msg stays the caller's.  */
static void s_decide(dn_session_t *self, const dn_session_peer_t *peer,
                     const Dealernet__SyncMessage *msg, int rc, const char *why,
                     dn_session_outcome_t *out, uint8_t **body, size_t *body_len, int *wrote)
{
    const char *user = peer->user, *address = peer->address;
    dn_registry_site_t site;
    static dn_log_limit_t malformed = {"malformed sync messages", 0, 0, 0, NULL};

    dn_db_full_clear(); /* what this message's writes meet, not an earlier one's */
    if (msg)
        out->kind = msg->body_case;
    if (rc == DN_ENOMEM) {
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       "the server is short of memory; retry later", 0, body, body_len);
    } else if (rc) {
        /* a message over a bound the sender sizes its batches by
           (dn_wire.h) is TOO_BIG: it can send less, and is told which
           bound; anything else that does not decode or check, MALFORMED */
        int too_big = rc == DN_ETOOBIG;
        dn_refusal_count(DN_REFUSAL_MALFORMED);
        dn_log_warn_limited(
            &malformed, "%s sync message from %s%s (%s): %s",
            too_big ? "oversized" : "malformed", user[0] == '?' ? "unknown key " : "",
            user[0] == '?' || user[0] == '!' ? user + 1 : user, address, why);
        s_pack_refused(too_big ? DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG
                               : DEALERNET__REFUSE_CODE__REFUSE_MALFORMED,
                       why, 0, body, body_len);
    } else if (user[0] == '?') {
        if (msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_ENROLL) {
            s_on_enroll(self, user, address, msg->enroll, body, body_len);
        } else {
            static dn_log_limit_t unknown = {"messages from unknown keys", 0, 0, 0, NULL};
            dn_refusal_count(DN_REFUSAL_UNKNOWN_KEY);
            dn_log_warn_limited(&unknown,
                                "unknown key %s (%s) sent a %s message: refused (it may "
                                "only enroll)",
                                user + 1, address,
                                msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_PUSH
                                    ? "push"
                                    : "non-enrollment");
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED,
                           "this key is not enrolled: run 'dealernet-agent enroll' with a "
                           "token from headquarters",
                           0, body, body_len);
        }
    } else if (user[0] == '!') {
        static dn_log_limit_t revoked = {"messages from revoked sites", 0, 0, 0, NULL};
        dn_refusal_count(DN_REFUSAL_REVOKED);
        dn_log_warn_limited(&revoked, "revoked site %s tried to sync: refused (from %s)",
                            user + 1, address);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_REVOKED,
                       "this site was revoked by headquarters", 0, body, body_len);
    } else if (user[0] == '^') {
        s_on_replaced(self, user, address, body, body_len);
    } else if ((rc = dn_registry_site_get(self->db, user, &site)) != 0 &&
               rc != DN_ENOENT) { /* the server's trouble, not the site's */
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
                       "the server could not read its database; retry later", 0, body,
                       body_len);
    } else if (rc == DN_ENOENT || !site.enrolled || site.revoked) {
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED,
                       "this key's site is not enrolled", 0, body, body_len);
    } else {
        out->proven = 1; /* an enrolled site's key: no longer a stranger at the door */
        switch (msg->body_case) {
        case DEALERNET__SYNC_MESSAGE__BODY_HELLO:
            s_on_hello(self, peer, &site, msg->hello, out, body, body_len);
            *wrote = 1;
            break;
        case DEALERNET__SYNC_MESSAGE__BODY_PUSH:
            s_on_push(self, &site, msg->push, out, body, body_len);
            self->group_pushes++;
            *wrote = 1;
            break;
        case DEALERNET__SYNC_MESSAGE__BODY_ENROLL:
            *wrote = s_on_enroll_again(self, &site, msg->enroll, body, body_len);
            break;
        case DEALERNET__SYNC_MESSAGE__BODY_PULL:
            s_on_pull(self, peer, &site, msg->pull, out, body, body_len);
            *wrote = 1;
            break;
        default:
            s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_MALFORMED,
                           "agents send hello, push, pull or enroll only", 0, body,
                           body_len);
        }
    }
}

/* -- pulls wait ------------------------------------------------------------ */

/*  The deferred message i places after the oldest.  */
static s_deferred_t *s_deferred_at(dn_session_t *self, size_t i)
{
    return &self->deferred[(self->deferred_head + i) % DN_SESSION_DEFERRED_MAX];
}

/*  1 if a message of peer's connection waits in the deferred queue: what
    it sends now must wait behind it, or its reply would overtake.  Sets
    *site's to the messages of peer's site (its ZAP user) waiting, on any
    connection.  */
static int s_behind(dn_session_t *self, const dn_session_peer_t *peer, size_t *site_s)
{
    int behind = 0;
    *site_s = 0;
    for (size_t i = 0; i < self->n_deferred; i++) {
        const s_deferred_t *d = s_deferred_at(self, i);
        if (d->route_len == peer->route_len &&
            memcmp(d->route, peer->route, peer->route_len) == 0)
            behind = 1;
        if (strcmp(d->user, peer->user) == 0)
            (*site_s)++;
    }
    return behind;
}

/*  1 if msg is a Pull that waits: well formed, from an enrolled site's key
    on a connection that said Hello in protocol 2, to a session with
    downstream.  Anything else is answered at once (s_on_pull refuses
    what is not such a Pull, and must do so in order).  */
static int s_pull_waits(dn_session_t *self, const dn_session_peer_t *peer,
                        const Dealernet__SyncMessage *msg)
{
    dn_registry_site_t site;
    if (!msg || msg->body_case != DEALERNET__SYNC_MESSAGE__BODY_PULL || !self->options.down ||
        strchr("?!^", peer->user[0]) || strlen(peer->user) >= DN_SESSION_USER_MAX ||
        dn_registry_site_get(self->db, peer->user, &site) != 0 || !site.enrolled ||
        site.revoked)
        return 0;
    return s_hello_protocol(self, peer, &site) >= 2;
}

/*  Queues a copy of the message of len bytes from peer (extra: as
    dn_session_message's) at the end of the deferred queue, where site_s
    messages of peer's site wait already (s_behind).  Returns 0, or
    DN_EAGAIN when the queue is full (by count or bytes), holds the
    site's share, or memory is short.  The share per site is the
    fairness: an agent waits for each Pull's reply and sends nothing
    behind it, so only a peer that does not wait (a hostile site, over
    many connections) holds more than a couple, and without the share it
    could hold every place and have every other shop's Pull refused.  */
static int s_defer(dn_session_t *self, const dn_session_peer_t *peer, size_t site_s,
                   const uint8_t *data, size_t len, int extra)
{
    if (self->n_deferred >= DN_SESSION_DEFERRED_MAX ||
        site_s >= self->options.deferred_per_site ||
        self->deferred_bytes + len > DN_SESSION_DEFERRED_BYTES)
        return DN_EAGAIN;
    if (!self->deferred &&
        !(self->deferred = calloc(DN_SESSION_DEFERRED_MAX, sizeof *self->deferred)))
        return DN_EAGAIN;
    s_deferred_t *d = s_deferred_at(self, self->n_deferred);
    if (!(d->data = malloc(len ? len : 1)))
        return DN_EAGAIN;
    memcpy(d->data, data, len);
    d->len = len;
    d->extra = extra;
    memcpy(d->route, peer->route, peer->route_len);
    d->route_len = peer->route_len;
    snprintf(d->user, sizeof d->user, "%s", peer->user);
    snprintf(d->address, sizeof d->address, "%s", peer->address);
    self->n_deferred++;
    self->deferred_bytes += len;
    return 0;
}

/*  Decides the reply to msg (s_unpack's: msg, or rc and why) from peer and
    queues it; frees msg.  Returns the reply's bytes.  */
static size_t s_answer(dn_session_t *self, const dn_session_peer_t *peer,
                       Dealernet__SyncMessage **msg, int rc, const char *why,
                       dn_session_outcome_t *out)
{
    uint8_t *body = NULL;
    size_t body_len = 0;
    int wrote = 0;
    s_decide(self, peer, *msg, rc, why, out, &body, &body_len, &wrote);
    dn_wire_sync_free(msg);
    if (dn_db_full())
        self->group_full = 1;
    s_queue(self, peer, body, body_len, wrote);
    return body_len;
}

/*  Answers the oldest deferred messages, in arrival order, within the
    group's budget of reply bytes (see "Pulls wait"): at least one, while
    there is room for replies.  */
static void s_serve_deferred(dn_session_t *self)
{
    size_t budget =
        self->group_pushes ? DN_SESSION_PULL_BYTES_BUSY : DN_SESSION_PULL_BYTES_IDLE;
    size_t spent = 0;
    int answered = 0;

    /* The one place beyond DN_GROUP_MAX is the first answer's: a turn
       that read DN_GROUP_MAX messages (a busy upload, or a peer flooding
       the server) would otherwise answer no Pull, turn after turn.  */
    s_compact(self);
    while (self->n_deferred && self->n_replies < DN_GROUP_MAX + (answered == 0) &&
           (answered == 0 || spent < budget)) {
        s_deferred_t *d = s_deferred_at(self, 0);
        dn_session_peer_t peer = {d->user, d->address, d->route, d->route_len};
        dn_session_outcome_t out;
        Dealernet__SyncMessage *msg = NULL;
        char why[DN_WHY_SIZE];

        memset(&out, 0, sizeof out);
        int rc = s_unpack(d->data, d->len, d->extra, &msg, why);
        self->deferred_head = (self->deferred_head + 1) % DN_SESSION_DEFERRED_MAX;
        self->n_deferred--;
        self->deferred_bytes -= d->len;
        spent += s_answer(self, &peer, &msg, rc, why, &out);
        free(d->data);
        d->data = NULL;
        answered++;
    }
}

int dn_session_end_group(dn_session_t *self, int commit)
{
    if (self->n_deferred) /* a group that fails fails for them too */
        s_serve_deferred(self);
    return s_end_group(self, commit);
}

int dn_session_message(dn_session_t *self, const dn_session_peer_t *peer,
                       const uint8_t *data, size_t len, int extra,
                       dn_session_outcome_t *out)
{
    static dn_log_limit_t busy = {"pulls refused as the server is busy", 0, 0, 0, NULL};
    dn_session_outcome_t scratch;
    Dealernet__SyncMessage *msg = NULL;
    char why[DN_WHY_SIZE];
    uint8_t *body = NULL;
    size_t body_len = 0;
    size_t site_s = 0;
    int rc;

    if (!out)
        out = &scratch;
    memset(out, 0, sizeof *out);
    if (peer->route_len > DN_SESSION_ROUTE_MAX)
        return DN_EINVAL;
    s_compact(self);
    if (self->n_replies >= DN_GROUP_MAX)
        return DN_EAGAIN;
    rc = s_unpack(data, len, extra, &msg, why);
    if (msg)
        out->kind = msg->body_case;
    if (self->n_deferred && s_behind(self, peer, &site_s)) {
        /* the connection proved itself with the Pull ahead of this; what
           it sent is decoded again when its turn comes */
        dn_wire_sync_free(&msg);
        out->proven = 1;
        if (s_defer(self, peer, site_s, data, len, extra) != 0)
            return DN_EAGAIN;
        out->deferred = 1;
        return 0;
    }
    if (rc == 0 && s_pull_waits(self, peer, msg)) {
        out->proven = 1;
        dn_wire_sync_free(&msg);
        if (s_defer(self, peer, site_s, data, len, 0) == 0) {
            out->deferred = 1;
            return 0;
        }
        /* the queue is full: at once, so that it costs nothing more */
        dn_log_warn_limited(&busy,
                            "site %s: pull refused: %zu messages wait already, %zu of "
                            "this site's (%s)",
                            peer->user, self->n_deferred, site_s, peer->address);
        s_pack_refused(DEALERNET__REFUSE_CODE__REFUSE_RATE_LIMITED,
                       "the server is busy sending to other shops; pull again at the next "
                       "sync",
                       0, &body, &body_len);
        s_queue(self, peer, body, body_len, 0);
        return 0;
    }
    s_answer(self, peer, &msg, rc, why, out);
    return 0;
}

/*  test_session -- unit tests for the server's side of a sync session
    (dn_session), driven by hand the way dn_server.c and the simulator
    drive it: a message in, with the identity ZAP proved and a route; the
    group ended; the replies taken and decoded, every field asserted.

    Every test starts from a fresh central.db: partners HQ (hq) > DLR
    (dealer), site SHOP-1 of DLR enrolled at 2026-01-01 00:00 (+1 s), no
    plan (a plan only matters to what the ledger posts, not to the
    replies).  The session's clock is pinned at 2026-02-11 09:00 UTC =
    1,770,800,400,000 ms (2026-01-01 is 1,767,225,600,000; + 41 days x
    86,400,000 = 3,542,400,000; + 9 h x 3,600,000 = 32,400,000).

    Checked: a Hello gets a Welcome with the session's window, batch size,
    clock and the network's bound on one sale, and only after the group
    ended; a Push gets its PushAck only after the commit, which stored
    the events; a failed commit turns every reply that depended on it into
    REFUSE_INTERNAL (and stores nothing) while a refusal that did not
    depend on it stays as it was; an unknown key, a revoked site's key and
    a site revoked since its handshake are refused with their codes and
    texts, and counted; the test-only early release (the simulator's
    injected bug) releases before the commit; a batch over any bound a
    sender sizes its batches by is refused REFUSE_TOO_BIG; an enrolment
    retried by the key it enrolled (its Enrolled lost) gets the same
    Enrolled again.  Downstream (protocol 2, with the test kit's stream
    "notes", tests/lib/dn_testdown.h): a Hello of protocol 2 gets the down
    key in its Welcome, one of protocol 1 does not; a Pull after a Hello
    of protocol 2 on the same route is answered with a DownReply held until
    the group commits; a Pull before any Hello, after a Hello of protocol
    1, or from an unknown key is refused; a Pull whose group does not
    commit becomes REFUSE_INTERNAL; one site saying Hello on thousands of
    routes forgets its own oldest routes, not another site's; pulls wait
    behind pushes in order, within the queue's bounds, at least one
    answered in a group whose replies are full, at most 8 queued of one
    site.  The metrics count what was committed and every Refused by its
    code.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dn_central.h"
#include "dn_curve.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_ingest.h"
#include "dn_log.h"
#include "dn_metrics.h"
#include "dn_money.h"
#include "dn_protocol.h"
#include "dn_refusal.h"
#include "dn_registry.h"
#include "dn_session.h"
#include "dn_test_central.h"
#include "dn_test_site.h"
#include "dn_testdown.h"
#include "dn_time.h"
#include "dn_wire.h"

#define S_NOW 1770800400000LL /* 2026-02-11 09:00 UTC, see above */

typedef struct {
    dn_test_central_t *central;
    sqlite3 *db;
    dn_ingest_t *ingest;
    dn_session_t *session;
    dn_tk_site_t *site;
    int commits; /* the committed callback's calls */
    dn_key_t *down_key;
    dn_down_t *down; /* the test stream "notes" */
} fixture_t;

static const dn_down_stream_t *const s_streams[] = {&dn_td_notes_stream};

static int64_t s_clock(void *arg)
{
    (void)arg;
    return S_NOW;
}

static void s_committed(void *arg)
{
    ((fixture_t *)arg)->commits++;
}

static int64_t s_at(const char *date)
{
    int64_t ms = 0;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms;
}

/*  A session on the fixture's database; early: the test-only release.  */
static void s_session(fixture_t *fx, uint32_t window, uint32_t batch, int early)
{
    dn_session_options_t o = {0};
    o.window = window;
    o.max_batch_events = batch;
    o.clock = s_clock;
    o.committed = s_committed;
    o.committed_arg = fx;
    o.test_reply_before_commit = early;
    o.down = fx->down;
    dn_session_destroy(&fx->session);
    fx->session = dn_session_new(fx->db, fx->ingest, &o);
    assert_non_null(fx->session);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    char why[256] = "";
    void *central = NULL;
    if (!fx || dn_test_central_setup(&central) != 0)
        return -1;
    fx->central = central;
    fx->db = fx->central->db;
    int64_t now = s_at("2026-01-01");
    if (dn_registry_partner_add(fx->db, "HQ", "HQ", "hq", NULL, now, why, sizeof why) ||
        dn_registry_partner_add(fx->db, "DLR", "DLR", "dealer", "HQ", now, why,
                                sizeof why)) {
        print_error("setup: %s\n", why);
        return -1;
    }
    fx->site = dn_test_site_enroll(fx->db, "SHOP-1", "DLR", 1, now);
    fx->ingest = dn_ingest_new(fx->db);
    if (!fx->ingest)
        return -1;
    if (!(fx->down_key = dn_td_key(1)) || dn_td_server_setup(fx->db) != 0 ||
        !(fx->down = dn_down_new_streams(fx->db, fx->down_key, s_streams, 1)))
        return -1;
    s_session(fx, 0, 0, 0);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    void *central = fx->central;
    dn_session_destroy(&fx->session);
    dn_down_destroy(&fx->down);
    dn_key_destroy(&fx->down_key);
    dn_ingest_destroy(&fx->ingest);
    dn_tk_site_destroy(&fx->site);
    free(fx);
    return dn_test_central_teardown(&central);
}

/*  A packed Hello as the agent sends it: protocol, version, head 0.  */
static void s_hello(uint32_t protocol, uint8_t **buf, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Hello hello = DEALERNET__HELLO__INIT;
    char why[DN_WHY_SIZE] = "";
    hello.has_protocol = 1;
    hello.protocol = protocol;
    hello.agent_version = "0.1.0";
    hello.has_pending = 1;
    hello.pending = 0;
    hello.has_clock_ms = 1;
    hello.clock_ms = S_NOW;
    hello.has_head_seq = 1;
    hello.head_seq = 0;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_HELLO;
    msg.hello = &hello;
    int rc = dn_wire_sync_pack(&msg, buf, len, why, sizeof why);
    if (rc)
        print_error("hello: %s\n", why);
    assert_int_equal(rc, 0);
}

/*  n sales of 1 x 10.00 recorded by SHOP-1 on 2026-02-10 a minute apart,
    packed as one signed Push of seqs 1..n.  */
static void s_push_n(fixture_t *fx, int n, uint8_t **buf, size_t *len)
{
    dn_tk_line_t line = {"TEA", 1, 1000, NULL};
    dn_tk_batch_t batch;
    char why[DN_WHY_SIZE] = "";
    for (int i = 0; i < n; i++) {
        dn_tk_event_t e;
        assert_int_equal(
            dn_tk_sale(&e, "DLR", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, &line, 1), 0);
        dn_test_site_record(fx->site, &e.ev, s_at("2026-02-10") + i * 60000, NULL);
    }
    assert_int_equal(dn_tk_batch(fx->site, &batch), 0);
    assert_int_equal(dn_tk_batch_pack(&batch, buf, len, why, sizeof why), 0);
    dn_tk_batch_free(&batch);
}

/*  Three of them: seqs 1..3.  */
static void s_push(fixture_t *fx, uint8_t **buf, size_t *len)
{
    s_push_n(fx, 3, buf, len);
}

/*  Hands a message to the session as user, routed to route; it must be
    taken.  */
static void s_send(fixture_t *fx, const char *user, const char *route, const uint8_t *data,
                   size_t len, int extra, dn_session_outcome_t *out)
{
    dn_session_peer_t peer = {user, "192.0.2.7", (const uint8_t *)route, strlen(route)};
    assert_int_equal(dn_session_message(fx->session, &peer, data, len, extra, out), 0);
}

/*  Takes the next released reply: it must go to route; returns it decoded
    (caller frees with dn_wire_sync_free).  */
static Dealernet__SyncMessage *s_reply(fixture_t *fx, const char *route)
{
    uint8_t to[DN_SESSION_ROUTE_MAX], *body = NULL;
    size_t to_len = 0, len = 0;
    Dealernet__SyncMessage *msg = NULL;
    char why[DN_WHY_SIZE] = "";
    assert_int_equal(dn_session_reply(fx->session, to, &to_len, &body, &len), 1);
    assert_int_equal(to_len, strlen(route));
    assert_memory_equal(to, route, to_len);
    assert_int_equal(dn_wire_sync_unpack(body, len, &msg, why, sizeof why), 0);
    free(body);
    return msg;
}

/*  No reply is released.  */
static void s_no_reply(fixture_t *fx)
{
    uint8_t to[DN_SESSION_ROUTE_MAX], *body = NULL;
    size_t to_len = 0, len = 0;
    assert_int_equal(dn_session_reply(fx->session, to, &to_len, &body, &len), 0);
}

/*  The next reply is a Refused with code and text, without expected_seq.  */
static void s_refused(fixture_t *fx, const char *route, Dealernet__RefuseCode code,
                      const char *text)
{
    Dealernet__SyncMessage *msg = s_reply(fx, route);
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_REFUSED);
    assert_int_equal(msg->refused->code, code);
    assert_string_equal(msg->refused->text, text);
    assert_false(msg->refused->has_expected_seq);
    dn_wire_sync_free(&msg);
}

static int64_t s_events(fixture_t *fx)
{
    sqlite3_stmt *stmt;
    int64_t n = -1;
    assert_int_equal(dn_db_prepare(fx->db, "SELECT count(*) FROM events", &stmt), 0);
    assert_int_equal(dn_db_row(stmt, "events"), 1);
    n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/*  Hello -> Welcome: held until the group ends, then every field as the
    session's options say (defaults: window DN_SYNC_WINDOW = 4, batch
    DN_MAX_BATCH_EVENTS = 500; the bound on one sale is the network's
    default, 1,000,000.0000 = 10,000,000,000 in 10^-4 units).  With a
    window of 7 and batches of 50, the Welcome says so.  */
static void test_hello_welcome(void **state)
{
    fixture_t *fx = *state;
    dn_session_outcome_t out;
    uint8_t *hello;
    size_t len;

    s_hello(DN_PROTOCOL_VERSION, &hello, &len);
    s_send(fx, "SHOP-1", "r1", hello, len, 0, &out);
    assert_int_equal(out.proven, 1);
    assert_int_equal(out.kind, DEALERNET__SYNC_MESSAGE__BODY_HELLO);
    assert_int_equal(out.rc, 0);
    assert_int_equal(out.applied_seq, 0);
    assert_int_equal(dn_session_pending(fx->session), 1);
    s_no_reply(fx); /* held until the group ends */
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    assert_int_equal(fx->commits, 1); /* the Hello's group: last seen, skew */

    Dealernet__SyncMessage *msg = s_reply(fx, "r1");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_WELCOME);
    assert_true(msg->welcome->has_protocol);
    assert_int_equal(msg->welcome->protocol, DN_PROTOCOL_VERSION);
    assert_true(msg->welcome->has_applied_seq);
    assert_int_equal(msg->welcome->applied_seq, 0);
    assert_true(msg->welcome->has_server_clock_ms);
    assert_int_equal(msg->welcome->server_clock_ms, S_NOW);
    assert_true(msg->welcome->has_window);
    assert_int_equal(msg->welcome->window, 4);
    assert_int_equal(DN_SYNC_WINDOW, 4);
    assert_true(msg->welcome->has_max_batch_events);
    /* protocol 3: the network's zone, the process's (dn_central_zone_load;
       UTC in this test), with its POSIX rule */
    assert_string_equal(msg->welcome->zone, "UTC");
    assert_string_equal(msg->welcome->zone_rule, "UTC0");
    assert_int_equal(msg->welcome->max_batch_events, 500);
    assert_true(msg->welcome->has_max_sale);
    assert_int_equal(msg->welcome->max_sale, 10000000000LL);
    dn_wire_sync_free(&msg);
    s_no_reply(fx);
    assert_int_equal(dn_session_pending(fx->session), 0);

    s_session(fx, 7, 50, 0);
    s_send(fx, "SHOP-1", "r2", hello, len, 0, &out);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    msg = s_reply(fx, "r2");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_WELCOME);
    assert_int_equal(msg->welcome->window, 7);
    assert_int_equal(msg->welcome->max_batch_events, 50);
    dn_wire_sync_free(&msg);
    free(hello);

    /* another protocol: refused, nothing written */
    s_hello(DN_PROTOCOL_VERSION + 1, &hello, &len);
    s_send(fx, "SHOP-1", "r3", hello, len, 0, &out);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_refused(fx, "r3", DEALERNET__REFUSE_CODE__REFUSE_PROTOCOL,
              "protocol 4 is not supported; this server speaks 3");
    free(hello);
}

/*  Push -> PushAck only after the commit: three events (seqs 1..3) are
    applied in the group, the ack (acked_through 3) is held until the group
    commits, and the commit is reported (the committed callback) before it
    is released.  */
static void test_push_ack_after_commit(void **state)
{
    fixture_t *fx = *state;
    dn_session_outcome_t out;
    uint8_t *push;
    size_t len;

    s_push(fx, &push, &len);
    s_send(fx, "SHOP-1", "route-A", push, len, 0, &out);
    free(push);
    assert_int_equal(out.proven, 1);
    assert_int_equal(out.kind, DEALERNET__SYNC_MESSAGE__BODY_PUSH);
    assert_int_equal(out.rc, 0);
    assert_int_equal(out.push.applied, 3);
    assert_int_equal(out.push.skipped, 0);
    assert_int_equal(out.push.acked_through, 3);
    s_no_reply(fx); /* applied, not committed: no ack yet */
    assert_int_equal(fx->commits, 0);

    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    assert_int_equal(fx->commits, 1);
    assert_int_equal(s_events(fx), 3);
    Dealernet__SyncMessage *msg = s_reply(fx, "route-A");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_ACK);
    assert_true(msg->ack->has_acked_through);
    assert_int_equal(msg->ack->acked_through, 3);
    dn_wire_sync_free(&msg);
    s_no_reply(fx);
}

/*  A failed commit: the Hello's Welcome and the Push's ack both depended
    on the group and become REFUSE_INTERNAL; the refusal of a malformed
    message (sent between them) did not and stays as it was.  Nothing was
    stored, the commit is not reported, and the replies keep their order.  */
static void test_failed_commit(void **state)
{
    fixture_t *fx = *state;
    dn_session_outcome_t out;
    uint8_t *hello, *push, junk[3] = {0xff, 0xff, 0xff};
    size_t hello_len, push_len;

    s_hello(DN_PROTOCOL_VERSION, &hello, &hello_len);
    s_push(fx, &push, &push_len);
    s_send(fx, "SHOP-1", "h", hello, hello_len, 0, &out);
    s_send(fx, "SHOP-1", "m", hello, hello_len, 1, &out); /* two frames */
    assert_int_equal(out.kind, DEALERNET__SYNC_MESSAGE__BODY__NOT_SET);
    assert_int_equal(out.proven, 0);
    s_send(fx, "SHOP-1", "p", push, push_len, 0, &out);
    assert_int_equal(out.push.acked_through, 3);
    s_send(fx, "SHOP-1", "j", junk, sizeof junk, 0, &out);
    free(hello);
    free(push);
    assert_int_equal(dn_session_pending(fx->session), 4);
    s_no_reply(fx);

    assert_int_equal(dn_session_end_group(fx->session, 0), DN_EDB);
    assert_int_equal(fx->commits, 0);
    assert_int_equal(s_events(fx), 0);
    s_refused(fx, "h", DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
              "the server could not commit; retry later");
    s_refused(fx, "m", DEALERNET__REFUSE_CODE__REFUSE_MALFORMED,
              "a sync message is exactly one frame");
    s_refused(fx, "p", DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
              "the server could not commit; retry later");
    Dealernet__SyncMessage *msg = s_reply(fx, "j");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_REFUSED);
    assert_int_equal(msg->refused->code, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED);
    dn_wire_sync_free(&msg);
    s_no_reply(fx);
    assert_int_equal(dn_session_pending(fx->session), 0);
}

/*  Keys the site may not sync with: an unknown key may only enroll, a
    revoked site's key is refused, and a site revoked after its handshake
    (ZAP still named its code) is not enrolled.  Each refusal counts as
    dn_server counts it; the last one is the server's own check and counts
    nothing.  None is proven, none depends on the group.  */
static void test_unknown_and_revoked(void **state)
{
    fixture_t *fx = *state;
    dn_session_outcome_t out;
    uint8_t *hello;
    size_t len;
    char why[256] = "";
    int64_t unknown = dn_refusal_total(DN_REFUSAL_UNKNOWN_KEY);
    int64_t revoked = dn_refusal_total(DN_REFUSAL_REVOKED);

    s_hello(DN_PROTOCOL_VERSION, &hello, &len);
    s_send(fx, "?rq:QsHwbl&bP9eGEs.g9<6}a(UNhG6Ka@=i[4Y}Y", "u", hello, len, 0, &out);
    assert_int_equal(out.proven, 0);
    assert_int_equal(out.kind, DEALERNET__SYNC_MESSAGE__BODY_HELLO);
    s_send(fx, "!SHOP-1", "v", hello, len, 0, &out);
    assert_int_equal(out.proven, 0);
    assert_int_equal(dn_registry_site_revoke(fx->db, "SHOP-1", S_NOW, why, sizeof why), 0);
    s_send(fx, "SHOP-1", "w", hello, len, 0, &out);
    assert_int_equal(out.proven, 0);
    free(hello);

    assert_int_equal(dn_refusal_total(DN_REFUSAL_UNKNOWN_KEY), unknown + 1);
    assert_int_equal(dn_refusal_total(DN_REFUSAL_REVOKED), revoked + 1);
    assert_int_equal(dn_session_end_group(fx->session, 0), 0); /* no group was open */
    s_refused(fx, "u", DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED,
              "this key is not enrolled: run 'dealernet-agent enroll' with a token from "
              "headquarters");
    s_refused(fx, "v", DEALERNET__REFUSE_CODE__REFUSE_REVOKED,
              "this site was revoked by headquarters");
    s_refused(fx, "w", DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED,
              "this key's site is not enrolled");
    s_no_reply(fx);
}

/*  The simulator's injected bug, test only: the ack is released before
    the commit -- and stays an ack though the group then fails.  */
static void test_reply_before_commit_flag(void **state)
{
    fixture_t *fx = *state;
    uint8_t *push;
    size_t len;

    s_session(fx, 0, 0, 1);
    s_push(fx, &push, &len);
    s_send(fx, "SHOP-1", "x", push, len, 0, NULL);
    free(push);
    Dealernet__SyncMessage *msg = s_reply(fx, "x");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_ACK);
    assert_int_equal(msg->ack->acked_through, 3);
    dn_wire_sync_free(&msg);
    assert_int_equal(dn_session_end_group(fx->session, 0), DN_EDB);
    assert_int_equal(s_events(fx), 0); /* acked, and lost: the bug */
    s_no_reply(fx);
}

/*  A full queue takes nothing more until the group ends: DN_GROUP_MAX
    replies waiting, the next message is refused with DN_EAGAIN.  */
static void test_queue_bound(void **state)
{
    fixture_t *fx = *state;
    uint8_t junk[1] = {0xff};
    dn_session_peer_t peer = {"SHOP-1", "192.0.2.7", (const uint8_t *)"q", 1};
    for (int i = 0; i < DN_GROUP_MAX; i++)
        assert_int_equal(dn_session_message(fx->session, &peer, junk, 1, 0, NULL), 0);
    assert_int_equal(dn_session_message(fx->session, &peer, junk, 1, 0, NULL), DN_EAGAIN);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    for (int i = 0; i < DN_GROUP_MAX; i++) {
        Dealernet__SyncMessage *msg = s_reply(fx, "q");
        assert_int_equal(msg->refused->code, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED);
        dn_wire_sync_free(&msg);
    }
    s_no_reply(fx);
    assert_int_equal(dn_session_message(fx->session, &peer, junk, 1, 0, NULL), 0);
}

/*  Writes a varint at p; returns its length.  */
static size_t s_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

/*  A SyncMessage holding a PushBatch (first seq 1, a zero chain head and
    signature) of n events of the given sizes, their bytes all zero,
    written by hand: dn_wire would refuse to pack it.  Returns its length;
    *buf is malloc'd, caller frees.  */
static size_t s_raw_push(const size_t *sizes, size_t n, uint8_t **buf)
{
    size_t room = 64 + 2 * 128, at = 0, head = 0;
    for (size_t i = 0; i < n; i++)
        room += sizes[i] + 8;
    uint8_t *push = calloc(1, room), *out = calloc(1, room + 16);
    assert_non_null(push);
    assert_non_null(out);
    push[at++] = 0x08; /* first_seq = 1 */
    push[at++] = 0x01;
    for (size_t i = 0; i < n; i++) {
        push[at++] = 0x12; /* events, bytes of zeros */
        at += s_varint(push + at, sizes[i]);
        at += sizes[i];
    }
    push[at++] = 0x1a; /* chain_head: 32 zero bytes */
    push[at++] = 32;
    at += 32;
    push[at++] = 0x22; /* signature: 64 zero bytes */
    push[at++] = 64;
    at += 64;
    out[head++] = 0x1a; /* SyncMessage.push */
    head += s_varint(out + head, at);
    memcpy(out + head, push, at);
    free(push);
    *buf = out;
    return head + at;
}

/*  REFUSE_TOO_BIG for each bound a sender sizes its batches by, with the
    bound in the text, nothing stored, and the session serving on:
    - more events than the Welcome's batch size (a session of batches of
      2; the Push of 3 real events): "batch has 3 events, this server
      takes at most 2";
    - 501 events of 0 bytes (counted before decoding): "batch has 501
      events, expected 1 to 500";
    - an event of DN_MAX_EVENT_BYTES + 1 = 65,537 bytes: "batch event 1 is
      65537 bytes, at most 65536";
    - 4 events of 65,536 bytes and one of 1: 4 x 65,536 + 1 = 262,145
      bytes, one over DN_MAX_BATCH_BYTES (262,144), in a message under
      DN_MAX_SYNC_MSG_BYTES (327,680) as the real socket lets through;
    - a message of 327,681 bytes, one over DN_MAX_SYNC_MSG_BYTES (the
      real server's libzmq drops it unread; a driver without that bound
      still gets a reply).
    A batch within every bound then gets its ack.  */
static void test_too_big(void **state)
{
    fixture_t *fx = *state;
    dn_session_outcome_t out;
    uint8_t *push, *raw;
    size_t len, raw_len;

    s_session(fx, 0, 2, 0);
    s_push(fx, &push, &len);
    s_send(fx, "SHOP-1", "t1", push, len, 0, &out);
    assert_int_equal(out.kind, DEALERNET__SYNC_MESSAGE__BODY_PUSH);
    assert_int_equal(out.rc, DN_EPROTO);
    assert_int_equal(out.push.code, DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_refused(fx, "t1", DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG,
              "batch has 3 events, this server takes at most 2");

    size_t empties[501] = {0};
    raw_len = s_raw_push(empties, 501, &raw);
    s_send(fx, "SHOP-1", "t2", raw, raw_len, 0, &out);
    free(raw);
    assert_int_equal(out.kind, 0); /* refused before it decoded */
    size_t one_big[1] = {DN_MAX_EVENT_BYTES + 1};
    raw_len = s_raw_push(one_big, 1, &raw);
    s_send(fx, "SHOP-1", "t3", raw, raw_len, 0, NULL);
    free(raw);
    size_t over_total[5] = {65536, 65536, 65536, 65536, 1};
    raw_len = s_raw_push(over_total, 5, &raw);
    assert_true(raw_len < DN_MAX_SYNC_MSG_BYTES);
    s_send(fx, "SHOP-1", "t4", raw, raw_len, 0, NULL);
    free(raw);
    raw = calloc(1, DN_MAX_SYNC_MSG_BYTES + 1);
    assert_non_null(raw);
    s_send(fx, "SHOP-1", "t5", raw, DN_MAX_SYNC_MSG_BYTES + 1, 0, NULL);
    free(raw);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_refused(fx, "t2", DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG,
              "batch has 501 events, expected 1 to 500");
    s_refused(fx, "t3", DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG,
              "batch event 1 is 65537 bytes, at most 65536");
    s_refused(fx, "t4", DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG,
              "batch events total 262145 bytes, at most 262144");
    s_refused(fx, "t5", DEALERNET__REFUSE_CODE__REFUSE_TOO_BIG,
              "message is 327681 bytes, at most 327680");
    s_no_reply(fx);
    assert_int_equal(s_events(fx), 0);

    /* the same three events within the batch size: applied and acked */
    s_session(fx, 0, 3, 0);
    s_send(fx, "SHOP-1", "t6", push, len, 0, &out);
    free(push);
    assert_int_equal(out.rc, 0);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    Dealernet__SyncMessage *msg = s_reply(fx, "t6");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_ACK);
    assert_int_equal(msg->ack->acked_through, 3);
    dn_wire_sync_free(&msg);
    assert_int_equal(s_events(fx), 3);
}

/*  A packed EnrollRequest for SHOP-1 with token and a sign key of 32
    bytes of value fill.  */
static void s_enroll_request(const char *token, uint8_t fill, uint8_t **buf, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__EnrollRequest req = DEALERNET__ENROLL_REQUEST__INIT;
    uint8_t sign[DN_PUBKEY_BYTES];
    char why[DN_WHY_SIZE] = "";
    memset(sign, fill, sizeof sign);
    req.token = (char *)token;
    req.site = "SHOP-1";
    req.has_sign_key = 1;
    req.sign_key.data = sign;
    req.sign_key.len = sizeof sign;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_ENROLL;
    msg.enroll = &req;
    assert_int_equal(dn_wire_sync_pack(&msg, buf, len, why, sizeof why), 0);
}

/*  The next reply is Enrolled for SHOP-1 of DLR, the chain at seq 3 with
    head (the hash of SHOP-1's event 3 as stored).  */
static void s_enrolled_at_3(fixture_t *fx, const char *route)
{
    sqlite3_stmt *stmt;
    Dealernet__SyncMessage *msg = s_reply(fx, route);
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_ENROLLED);
    assert_string_equal(msg->enrolled->site, "SHOP-1");
    assert_string_equal(msg->enrolled->partner, "DLR");
    assert_true(msg->enrolled->has_applied_seq);
    assert_int_equal(msg->enrolled->applied_seq, 3);
    assert_int_equal(msg->enrolled->chain_head.len, DN_HASH_BYTES);
    assert_int_equal(dn_db_prepare(fx->db, "SELECT hash FROM events WHERE seq = 3", &stmt), 0);
    assert_int_equal(dn_db_row(stmt, "hash"), 1);
    assert_memory_equal(msg->enrolled->chain_head.data, sqlite3_column_blob(stmt, 0),
                        DN_HASH_BYTES);
    sqlite3_finalize(stmt);
    dn_wire_sync_free(&msg);
}

/*  The Enrolled reply is lost: SHOP-1, 3 events stored, is moved to a new
    PC with `site token`; its key (user "?" + Z85 of 32 bytes 0x11)
    enrolls with sign key 0x22.. and gets Enrolled at seq 3.  It tries
    again on a new connection, where ZAP now names it SHOP-1: the same
    token and sign key get the same Enrolled (seq 3, same head), and
    nothing changes (one key retired, the token used once); another
    token, or another sign key, is refused TOKEN_USED "this key is
    already enrolled" as before.  */
static void test_enroll_retry(void **state)
{
    fixture_t *fx = *state;
    dn_registry_site_t site;
    uint8_t curve[DN_CURVE_KEY_BYTES], *push, *req;
    char token[DN_TOKEN_TEXT_LEN + 1], other[DN_TOKEN_TEXT_LEN + 1], why[256] = "";
    char user[1 + DN_Z85_KEY_SIZE] = "?";
    int64_t expires, retired = -1;
    size_t len;

    s_push(fx, &push, &len);
    s_send(fx, "SHOP-1", "old", push, len, 0, NULL);
    free(push);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    Dealernet__SyncMessage *ack = s_reply(fx, "old");
    assert_int_equal(ack->body_case, DEALERNET__SYNC_MESSAGE__BODY_ACK);
    dn_wire_sync_free(&ack);
    assert_int_equal(dn_registry_site_token(fx->db, "SHOP-1", 0, S_NOW, token, &expires,
                                            &site, why, sizeof why),
                     0);
    memset(curve, 0x11, sizeof curve);
    dn_curve_encode(curve, user + 1);

    s_enroll_request(token, 0x22, &req, &len);
    s_send(fx, user, "new", req, len, 0, NULL);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_enrolled_at_3(fx, "new");

    /* the reply was lost: again, now as the site */
    s_send(fx, "SHOP-1", "retry", req, len, 0, NULL);
    free(req);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_enrolled_at_3(fx, "retry");
    sqlite3_stmt *stmt;
    assert_int_equal(dn_db_prepare(fx->db,
                                   "SELECT (SELECT count(*) FROM site_keys) * 10 +"
                                   " (SELECT count(*) FROM tokens WHERE used_ms IS NOT NULL"
                                   "  AND rebind = 1)",
                                   &stmt),
                     0);
    assert_int_equal(dn_db_int_row(stmt, "counts", &retired), 1);
    assert_int_equal(retired, 11); /* 1 key retired, 1 rebind token used */

    /* the same key with a sign key it did not enroll, or another token */
    s_enroll_request(token, 0x33, &req, &len);
    s_send(fx, "SHOP-1", "r2", req, len, 0, NULL);
    free(req);
    assert_int_equal(dn_registry_site_token(fx->db, "SHOP-1", 0, S_NOW, other, &expires,
                                            &site, why, sizeof why),
                     0);
    s_enroll_request(other, 0x22, &req, &len);
    s_send(fx, "SHOP-1", "r3", req, len, 0, NULL);
    free(req);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_refused(fx, "r2", DEALERNET__REFUSE_CODE__REFUSE_TOKEN_USED,
              "this key is already enrolled");
    s_refused(fx, "r3", DEALERNET__REFUSE_CODE__REFUSE_TOKEN_USED,
              "this key is already enrolled");
    s_no_reply(fx);
}

/*  A Hello from an agent that recorded head events, pending of them not
    acknowledged (its own count), the oldest recorded at oldest_ms.  */
static void s_hello_head(fixture_t *fx, const char *route, uint64_t head, uint64_t pending,
                         int64_t oldest_ms)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Hello hello = DEALERNET__HELLO__INIT;
    char why[DN_WHY_SIZE] = "";
    uint8_t *buf = NULL;
    size_t len = 0;
    hello.has_protocol = 1;
    hello.protocol = DN_PROTOCOL_VERSION;
    hello.has_pending = 1;
    hello.pending = pending;
    hello.has_clock_ms = 1;
    hello.clock_ms = S_NOW;
    hello.has_head_seq = 1;
    hello.head_seq = head;
    hello.has_oldest_pending_ms = 1;
    hello.oldest_pending_ms = oldest_ms;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_HELLO;
    msg.hello = &hello;
    assert_int_equal(dn_wire_sync_pack(&msg, &buf, &len, why, sizeof why), 0);
    s_send(fx, "SHOP-1", route, buf, len, 0, NULL);
    free(buf);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    Dealernet__SyncMessage *reply = s_reply(fx, route);
    assert_int_equal(reply->body_case, DEALERNET__SYNC_MESSAGE__BODY_WELCOME);
    dn_wire_sync_free(&reply);
}

/*  SHOP-1's pending figure and oldest pending time as HQ's `sites` reads
    them, "pending|oldest" ("" for NULL).  */
static void s_site_pending(fixture_t *fx, char *buf, size_t size)
{
    sqlite3_stmt *stmt;
    assert_int_equal(dn_db_prepare(fx->db,
                                   "SELECT coalesce(reported_pending, ''), "
                                   "coalesce(oldest_pending_ms, '') FROM sites "
                                   "WHERE code = 'SHOP-1'",
                                   &stmt),
                     0);
    assert_int_equal(dn_db_row(stmt, "site"), 1);
    snprintf(buf, size, "%s|%s", (const char *)sqlite3_column_text(stmt, 0),
             (const char *)sqlite3_column_text(stmt, 1));
    sqlite3_finalize(stmt);
}

/*  HQ's pending figure is the agent's head less what the server applied,
    whatever the agent counts: a Hello of head 5 (the oldest recorded
    2026-02-10 00:00) with nothing applied: 5 - 0 = 5 pending; seqs 1..3
    (recorded 00:00, 00:01, 00:02) applied: 5 - 3 = 2, and the oldest is
    now no earlier than seq 3's 00:02; a Hello of head 3 with the agent
    still counting 3 unacknowledged (its acks were lost): 3 - 3 = 0, no
    oldest, so no lag.  */
static void test_pending_figure(void **state)
{
    fixture_t *fx = *state;
    int64_t day = s_at("2026-02-10");
    uint8_t *push;
    size_t len;
    char got[64], want[64];

    s_hello_head(fx, "h1", 5, 5, day);
    s_site_pending(fx, got, sizeof got);
    snprintf(want, sizeof want, "5|%lld", (long long)day);
    assert_string_equal(got, want);

    s_push(fx, &push, &len);
    s_send(fx, "SHOP-1", "p1", push, len, 0, NULL);
    free(push);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    Dealernet__SyncMessage *ack = s_reply(fx, "p1");
    assert_int_equal(ack->body_case, DEALERNET__SYNC_MESSAGE__BODY_ACK);
    dn_wire_sync_free(&ack);
    s_site_pending(fx, got, sizeof got);
    snprintf(want, sizeof want, "2|%lld", (long long)(day + 120000));
    assert_string_equal(got, want);

    s_hello_head(fx, "h2", 3, 3, day);
    s_site_pending(fx, got, sizeof got);
    assert_string_equal(got, "0|");
}

/*  A full disk (max_page_count at the database's size: SQLite says
    SQLITE_FULL at the first new page, which 300 events need) refuses the
    batch with REFUSE_SERVER_FULL, not REFUSE_INTERNAL, and stores
    nothing.  */
static void test_disk_full(void **state)
{
    fixture_t *fx = *state;
    uint8_t *push;
    size_t len;
    dn_session_outcome_t out;

    s_push_n(fx, 300, &push, &len);
    assert_int_equal(dn_db_exec(fx->db, "PRAGMA max_page_count = 1"), 0); /* = the size */
    s_send(fx, "SHOP-1", "full", push, len, 0, &out);
    free(push);
    assert_int_equal(out.rc, DN_EDB);
    dn_session_end_group(fx->session, 1);
    s_refused(fx, "full", DEALERNET__REFUSE_CODE__REFUSE_SERVER_FULL,
              "server disk full: nothing was stored; headquarters must free space on the "
              "server");
    assert_int_equal(dn_db_exec(fx->db, "PRAGMA max_page_count = 1073741823"), 0);
    assert_int_equal(s_events(fx), 0);
}

/* -- downstream ----------------------------------------------------------------- */

/*  A packed Pull of the notes, holding version.  */
static void s_pull_msg(uint64_t version, uint8_t **buf, size_t *len)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    dn_td_pull_t pull;
    char why[DN_WHY_SIZE] = "";
    dn_td_pull(&pull, version, "");
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_PULL;
    msg.pull = &pull.pull;
    assert_int_equal(dn_wire_sync_pack(&msg, buf, len, why, sizeof why), 0);
}

/*  Hello of protocol on route from site (its ZAP user), its group
    committed, its Welcome taken: returns whether it named the down key
    (and that it is the fixture's).  */
static int s_welcomed_by(fixture_t *fx, const char *site, uint32_t protocol,
                         const char *route)
{
    uint8_t *hello, pub[DN_PUBKEY_BYTES];
    size_t len;
    int has;
    s_hello(protocol, &hello, &len);
    s_send(fx, site, route, hello, len, 0, NULL);
    free(hello);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    Dealernet__SyncMessage *msg = s_reply(fx, route);
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_WELCOME);
    assert_int_equal(msg->welcome->protocol, protocol);
    has = msg->welcome->has_down_key;
    if (has) {
        assert_int_equal(dn_key_public(fx->down_key, pub), 0);
        assert_int_equal(msg->welcome->down_key.len, DN_PUBKEY_BYTES);
        assert_memory_equal(msg->welcome->down_key.data, pub, DN_PUBKEY_BYTES);
    }
    dn_wire_sync_free(&msg);
    return has;
}

static int s_welcomed(fixture_t *fx, uint32_t protocol, const char *route)
{
    return s_welcomed_by(fx, "SHOP-1", protocol, route);
}

/*  Notes 1 and 2; Hello of protocol 2 on r1: the Welcome names the down
    key.  A Pull from 0 on r1 is held until the group ends, then answered
    with one Down, 0 -> 2, two items, signed by the down key.  */
static void test_pull_after_hello(void **state)
{
    fixture_t *fx = *state;
    dn_session_outcome_t out;
    uint8_t *pull;
    size_t len;

    assert_int_equal(dn_td_note_add(fx->db, 1, "n1"), 0);
    assert_int_equal(dn_td_note_add(fx->db, 2, "n2"), 0);
    assert_true(s_welcomed(fx, 2, "r1"));
    s_pull_msg(0, &pull, &len);
    s_send(fx, "SHOP-1", "r1", pull, len, 0, &out);
    free(pull);
    assert_int_equal(out.proven, 1);
    assert_int_equal(out.kind, DEALERNET__SYNC_MESSAGE__BODY_PULL);
    assert_int_equal(out.rc, 0);
    s_no_reply(fx); /* held until the group ends */
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    Dealernet__SyncMessage *msg = s_reply(fx, "r1");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_DOWN);
    assert_int_equal(msg->down->n_downs, 1);
    const Dealernet__Down *d = msg->down->downs[0];
    assert_int_equal(d->stream, DEALERNET__STREAM__STREAM_NOTICES);
    assert_int_equal(d->from_version, 0);
    assert_int_equal(d->to_version, 2);
    assert_int_equal(d->n_items, 2);
    assert_int_equal(dn_td_down_verify(fx->down_key, d), 0);
    dn_wire_sync_free(&msg);
}

/*  A Pull before any Hello on its route: REFUSE_INTERNAL (the agent
    reconnects and says Hello again); after a Hello of protocol 1 (whose
    Welcome has no down key), or from an unknown key: refused, counted.  A
    session without downstream gives no down key to protocol 2 either.  */
static void test_pull_refused(void **state)
{
    fixture_t *fx = *state;
    uint8_t *pull;
    size_t len;
    int64_t malformed = dn_refusal_total(DN_REFUSAL_MALFORMED);

    /* no Hello on r0 (a connection ZeroMQ re-made, a route forgotten): a
       code the agent retries on with a new Hello, not counted malformed */
    s_pull_msg(0, &pull, &len);
    s_send(fx, "SHOP-1", "r0", pull, len, 0, NULL);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_refused(fx, "r0", DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
              "a pull comes after the hello, on the same connection");
    assert_int_equal(dn_refusal_total(DN_REFUSAL_MALFORMED), malformed);

    assert_false(s_welcomed(fx, 1, "r1"));
    s_send(fx, "SHOP-1", "r1", pull, len, 0, NULL);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_refused(fx, "r1", DEALERNET__REFUSE_CODE__REFUSE_MALFORMED,
              "this session has no downstream (protocol 2 agents and servers only)");
    assert_int_equal(dn_refusal_total(DN_REFUSAL_MALFORMED), malformed + 1);

    s_send(fx, "?rq:QsHwbl&bP9eGEs.g9<6}a(UNhG6Ka@=i[4Y}Y", "u", pull, len, 0, NULL);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_refused(fx, "u", DEALERNET__REFUSE_CODE__REFUSE_NOT_ENROLLED,
              "this key is not enrolled: run 'dealernet-agent enroll' with a token from "
              "headquarters");

    /* a Hello of 2 on r2, then the route said Hello of 1: it may no longer pull */
    assert_true(s_welcomed(fx, 2, "r2"));
    assert_false(s_welcomed(fx, 1, "r2"));
    s_send(fx, "SHOP-1", "r2", pull, len, 0, NULL);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_refused(fx, "r2", DEALERNET__REFUSE_CODE__REFUSE_MALFORMED,
              "this session has no downstream (protocol 2 agents and servers only)");
    free(pull);

    dn_down_destroy(&fx->down); /* a server without downstream */
    s_session(fx, 0, 0, 0);
    assert_false(s_welcomed(fx, 2, "r3"));
}

/*  A Pull of the notes from 0 by site on route, its group committed: the
    reply is a DownReply (1), or the refusal "a pull comes after the
    hello" (0).  */
static int s_pulled(fixture_t *fx, const char *site, const char *route)
{
    uint8_t *pull;
    size_t len;
    int down;
    s_pull_msg(0, &pull, &len);
    s_send(fx, site, route, pull, len, 0, NULL);
    free(pull);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    Dealernet__SyncMessage *msg = s_reply(fx, route);
    down = msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_DOWN;
    if (!down) {
        assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_REFUSED);
        assert_int_equal(msg->refused->code, DEALERNET__REFUSE_CODE__REFUSE_INTERNAL);
        assert_string_equal(msg->refused->text,
                            "a pull comes after the hello, on the same connection");
    }
    dn_wire_sync_free(&msg);
    return down;
}

/*  One enrolled site saying Hello on more routes than the session
    remembers (DN_SESSION_HELLOS = 4,096, each a reconnect) forgets its
    own oldest routes, never another site's: SHOP-2's Hello on "victim"
    still lets it pull after SHOP-1's 4,096 Hellos.  SHOP-1 keeps its last
    DN_SESSION_HELLOS_PER_SITE = 4 routes (h4092..h4095 pull) and has
    forgotten h4091 and h0.  */
static void test_hellos_per_site(void **state)
{
    fixture_t *fx = *state;
    char route[16];
    dn_tk_site_t *shop2 =
        dn_test_site_enroll(fx->db, "SHOP-2", "DLR", 2, s_at("2026-01-01"));

    assert_int_equal(DN_SESSION_HELLOS_PER_SITE, 4);
    assert_true(s_welcomed_by(fx, "SHOP-2", 2, "victim"));
    for (int i = 0; i < DN_SESSION_HELLOS; i++) {
        snprintf(route, sizeof route, "h%d", i);
        assert_true(s_welcomed(fx, 2, route));
    }
    assert_true(s_pulled(fx, "SHOP-2", "victim"));
    for (int i = DN_SESSION_HELLOS - 4; i < DN_SESSION_HELLOS; i++) {
        snprintf(route, sizeof route, "h%d", i);
        assert_true(s_pulled(fx, "SHOP-1", route));
    }
    snprintf(route, sizeof route, "h%d", DN_SESSION_HELLOS - 5);
    assert_false(s_pulled(fx, "SHOP-1", route));
    assert_false(s_pulled(fx, "SHOP-1", "h0"));
    /* a route is one site's: SHOP-2 may not pull on SHOP-1's */
    assert_false(s_pulled(fx, "SHOP-2", "h4095"));
    dn_tk_site_destroy(&shop2);
}

/*  A Pull whose group does not commit: REFUSE_INTERNAL, as an ack.  */
static void test_pull_failed_commit(void **state)
{
    fixture_t *fx = *state;
    uint8_t *pull;
    size_t len;

    assert_int_equal(dn_td_note_add(fx->db, 1, "n1"), 0);
    assert_true(s_welcomed(fx, 2, "r1"));
    s_pull_msg(0, &pull, &len);
    s_send(fx, "SHOP-1", "r1", pull, len, 0, NULL);
    free(pull);
    assert_int_equal(dn_session_end_group(fx->session, 0), DN_EDB);
    s_refused(fx, "r1", DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
              "the server could not commit; retry later");
    s_no_reply(fx);
}

/*  Pulls wait behind pushes.  r1 and r2 said Hello (protocol 2).  A Pull on
    r1 is not answered when read but waits (deferred, proven); a Push on r2
    read after it is applied at once; a Hello on r1 behind its Pull waits
    too.  The group's end answers them after the Push, in arrival order,
    in the same commit: the ack to r2, then r1's DownReply, then r1's
    Welcome.  */
static void test_pull_waits(void **state)
{
    fixture_t *fx = *state;
    dn_session_outcome_t out;
    uint8_t *pull, *push, *hello;
    size_t pull_len, push_len, hello_len;

    assert_int_equal(dn_td_note_add(fx->db, 1, "n1"), 0);
    assert_true(s_welcomed(fx, 2, "r1"));
    assert_true(s_welcomed(fx, 2, "r2"));
    int commits = fx->commits;
    s_pull_msg(0, &pull, &pull_len);
    s_send(fx, "SHOP-1", "r1", pull, pull_len, 0, &out);
    free(pull);
    assert_int_equal(out.deferred, 1);
    assert_int_equal(out.proven, 1);
    assert_int_equal(out.kind, DEALERNET__SYNC_MESSAGE__BODY_PULL);
    assert_int_equal(dn_session_deferred(fx->session), 1);
    assert_int_equal(dn_session_pending(fx->session), 0);

    s_push(fx, &push, &push_len);
    s_send(fx, "SHOP-1", "r2", push, push_len, 0, &out);
    free(push);
    assert_int_equal(out.deferred, 0);
    assert_int_equal(out.push.acked_through, 3);
    s_hello(2, &hello, &hello_len);
    s_send(fx, "SHOP-1", "r1", hello, hello_len, 0, &out);
    free(hello);
    assert_int_equal(out.deferred, 1);
    assert_int_equal(out.kind, DEALERNET__SYNC_MESSAGE__BODY_HELLO);
    assert_int_equal(dn_session_deferred(fx->session), 2);
    assert_int_equal(dn_session_pending(fx->session), 1);
    s_no_reply(fx);

    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    assert_int_equal(fx->commits, commits + 1); /* one commit for all three */
    assert_int_equal(dn_session_deferred(fx->session), 0);
    Dealernet__SyncMessage *msg = s_reply(fx, "r2");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_ACK);
    assert_int_equal(msg->ack->acked_through, 3);
    dn_wire_sync_free(&msg);
    msg = s_reply(fx, "r1");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_DOWN);
    assert_int_equal(msg->down->downs[0]->to_version, 1);
    assert_int_equal(msg->down->downs[0]->n_items, 1);
    dn_wire_sync_free(&msg);
    msg = s_reply(fx, "r1");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_WELCOME);
    dn_wire_sync_free(&msg);
    s_no_reply(fx);
}

/*  The routes "p0000" ... of n Hellos of protocol 2, taken in groups.  */
static void s_welcome_many(fixture_t *fx, int n)
{
    uint8_t *hello, to[DN_SESSION_ROUTE_MAX], *body;
    size_t len, to_len, body_len;
    char route[16];
    s_hello(2, &hello, &len);
    for (int i = 0; i < n; i++) {
        snprintf(route, sizeof route, "p%04d", i);
        s_send(fx, "SHOP-1", route, hello, len, 0, NULL);
        if (dn_session_pending(fx->session) == DN_GROUP_MAX || i == n - 1) {
            assert_int_equal(dn_session_end_group(fx->session, 1), 0);
            while (dn_session_reply(fx->session, to, &to_len, &body, &body_len))
                free(body);
        }
    }
    free(hello);
}

/*  The bounds: DN_SESSION_DEFERRED_MAX (2,048) Pulls wait; the next one is
    refused at once with REFUSE_RATE_LIMITED (its reply does not wait for
    the others).  A group answers at most as many as leave DN_GROUP_MAX
    (64) replies held (the DownReplies here are small, under the budget):
    the first group 63 beside the refusal, in arrival order; the other
    1,985 take 32 more group ends (31 x 64 + 1).  */
static void test_pull_bounds(void **state)
{
    fixture_t *fx = *state;
    dn_session_outcome_t out;
    uint8_t *pull, to[DN_SESSION_ROUTE_MAX], *body;
    size_t len, to_len, body_len;
    char route[16];
    int groups = 0;

    assert_int_equal(dn_td_note_add(fx->db, 1, "n1"), 0);
    {   /* one site on every route: the bound per site is not this test's */
        dn_session_options_t o = {0};
        o.clock = s_clock;
        o.committed = s_committed;
        o.committed_arg = fx;
        o.down = fx->down;
        o.hellos_per_site = DN_SESSION_HELLOS;
        o.deferred_per_site = DN_SESSION_DEFERRED_MAX;
        dn_session_destroy(&fx->session);
        assert_non_null(fx->session = dn_session_new(fx->db, fx->ingest, &o));
    }
    s_welcome_many(fx, DN_SESSION_DEFERRED_MAX + 1);
    s_pull_msg(0, &pull, &len);
    for (int i = 0; i < DN_SESSION_DEFERRED_MAX; i++) {
        snprintf(route, sizeof route, "p%04d", i);
        s_send(fx, "SHOP-1", route, pull, len, 0, &out);
        assert_int_equal(out.deferred, 1);
    }
    s_send(fx, "SHOP-1", "p2048", pull, len, 0, &out);
    free(pull);
    assert_int_equal(out.deferred, 0);
    assert_int_equal(dn_session_deferred(fx->session), DN_SESSION_DEFERRED_MAX);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    s_refused(fx, "p2048", DEALERNET__REFUSE_CODE__REFUSE_RATE_LIMITED,
              "the server is busy sending to other shops; pull again at the next sync");
    for (int i = 0; i < DN_GROUP_MAX - 1; i++) {
        snprintf(route, sizeof route, "p%04d", i);
        Dealernet__SyncMessage *msg = s_reply(fx, route);
        assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_DOWN);
        dn_wire_sync_free(&msg);
    }
    s_no_reply(fx);
    assert_int_equal(dn_session_deferred(fx->session), DN_SESSION_DEFERRED_MAX - 63);
    for (groups = 0; dn_session_deferred(fx->session); groups++) {
        assert_int_equal(dn_session_end_group(fx->session, 1), 0);
        while (dn_session_reply(fx->session, to, &to_len, &body, &body_len))
            free(body);
    }
    assert_int_equal(groups, 32);
}

/*  A group whose replies are full still answers a Pull waiting (the
    review: "at least one is answered per group" was not kept).  SHOP-1's
    Pull on r1 waits; then 64 junk messages on "junk" fill the group's
    DN_GROUP_MAX = 64 replies (each a MALFORMED refusal), as a peer
    flooding the server every turn would.  The group's end still answers
    r1's Pull: 64 refusals, then the DownReply, nothing left waiting.
    Before, the Pull stayed queued for as long as each turn read 64
    messages: a flood starved every shop's pulls.  */
static void test_pull_full_group(void **state)
{
    fixture_t *fx = *state;
    dn_session_outcome_t out;
    uint8_t *pull, junk[2] = {0xff, 0xff};
    size_t len;

    assert_int_equal(dn_td_note_add(fx->db, 1, "n1"), 0);
    assert_true(s_welcomed(fx, 2, "r1"));
    s_pull_msg(0, &pull, &len);
    s_send(fx, "SHOP-1", "r1", pull, len, 0, &out);
    free(pull);
    assert_int_equal(out.deferred, 1);
    for (int i = 0; i < DN_GROUP_MAX; i++)
        s_send(fx, "SHOP-1", "junk", junk, sizeof junk, 0, NULL);
    assert_int_equal(dn_session_pending(fx->session), DN_GROUP_MAX);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    assert_int_equal(dn_session_deferred(fx->session), 0);
    for (int i = 0; i < DN_GROUP_MAX; i++) {
        Dealernet__SyncMessage *msg = s_reply(fx, "junk");
        assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_REFUSED);
        assert_int_equal(msg->refused->code, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED);
        dn_wire_sync_free(&msg);
    }
    Dealernet__SyncMessage *msg = s_reply(fx, "r1");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_DOWN);
    dn_wire_sync_free(&msg);
    s_no_reply(fx);
}

/*  One site cannot fill the deferred queue (the review: a hostile
    enrolled site sending a Pull and then junk behind it without waiting
    held all 2,048 places, and every other shop's Pull was refused
    RATE_LIMITED for as long as it kept sending).  SHOP-2 pulls on "evil"
    and sends 2,047 junk messages behind it: DN_SESSION_DEFERRED_PER_SITE
    = 8 of its messages wait (the Pull and 7 junk), the other 2,040 are
    not taken (DN_EAGAIN: the driver drops them).  A second SHOP-2 Pull on
    "evil2" (another connection) is refused RATE_LIMITED at once.
    SHOP-1's Pull on "victim" still waits, and the group's end answers, in
    arrival order: evil2's refusal (answered when read), evil's DownReply,
    its 7 MALFORMED refusals, then victim's DownReply.  */
static void test_pull_per_site(void **state)
{
    fixture_t *fx = *state;
    dn_session_outcome_t out;
    uint8_t *pull, junk[2] = {0xff, 0xff};
    size_t len;
    dn_tk_site_t *shop2 =
        dn_test_site_enroll(fx->db, "SHOP-2", "DLR", 2, s_at("2026-01-01"));
    dn_session_peer_t evil = {"SHOP-2", "192.0.2.9", (const uint8_t *)"evil", 4};
    int dropped = 0;

    assert_int_equal(DN_SESSION_DEFERRED_PER_SITE, 8);
    assert_int_equal(dn_td_note_add(fx->db, 1, "n1"), 0);
    assert_true(s_welcomed_by(fx, "SHOP-2", 2, "evil"));
    assert_true(s_welcomed_by(fx, "SHOP-2", 2, "evil2"));
    assert_true(s_welcomed(fx, 2, "victim"));
    s_pull_msg(0, &pull, &len);
    s_send(fx, "SHOP-2", "evil", pull, len, 0, &out);
    assert_int_equal(out.deferred, 1);
    for (int i = 0; i < DN_SESSION_DEFERRED_MAX - 1; i++) {
        int rc = dn_session_message(fx->session, &evil, junk, sizeof junk, 0, &out);
        if (rc == DN_EAGAIN)
            dropped++;
        else
            assert_int_equal(rc, 0);
    }
    assert_int_equal(dropped, DN_SESSION_DEFERRED_MAX - DN_SESSION_DEFERRED_PER_SITE);
    assert_int_equal(dn_session_deferred(fx->session), DN_SESSION_DEFERRED_PER_SITE);
    s_send(fx, "SHOP-2", "evil2", pull, len, 0, &out);
    assert_int_equal(out.deferred, 0);
    s_send(fx, "SHOP-1", "victim", pull, len, 0, &out);
    free(pull);
    assert_int_equal(out.deferred, 1);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    assert_int_equal(dn_session_deferred(fx->session), 0);
    s_refused(fx, "evil2", DEALERNET__REFUSE_CODE__REFUSE_RATE_LIMITED,
              "the server is busy sending to other shops; pull again at the next sync");
    Dealernet__SyncMessage *msg = s_reply(fx, "evil");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_DOWN);
    dn_wire_sync_free(&msg);
    for (int i = 0; i < DN_SESSION_DEFERRED_PER_SITE - 1; i++) {
        msg = s_reply(fx, "evil");
        assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_REFUSED);
        assert_int_equal(msg->refused->code, DEALERNET__REFUSE_CODE__REFUSE_MALFORMED);
        dn_wire_sync_free(&msg);
    }
    msg = s_reply(fx, "victim");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_DOWN);
    dn_wire_sync_free(&msg);
    s_no_reply(fx);
    dn_tk_site_destroy(&shop2);
}

/*  The figure of the sample named name (with its labels) in the metrics'
    text now.  */
static unsigned long long s_metric(fixture_t *fx, const char *name)
{
    char *text = NULL, *line;
    size_t len = 0, n = strlen(name);
    unsigned long long v = 0;
    assert_int_equal(dn_metrics_render_at(fx->db, S_NOW, &text, &len), 0);
    for (line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            break;
    if (!line)
        print_error("no sample %s\n", name);
    assert_non_null(line);
    v = strtoull(line + n + 1, NULL, 10);
    free(text);
    return v;
}

#define S_EVENTS   "dealernet_sync_events_total"
#define S_BATCHES  "dealernet_sync_batches_total"
#define S_GROUPS   "dealernet_batch_apply_seconds_count"
#define S_INTERNAL "dealernet_sync_refused_total{reason=\"REFUSE_INTERNAL\"}"
#define S_MALFORM  "dealernet_sync_refused_total{reason=\"REFUSE_MALFORMED\"}"
#define S_GAP      "dealernet_sync_refused_total{reason=\"REFUSE_GAP\"}"

/*  What the metrics count of a session, as differences (the counters are
    the process's: the tests before moved them).  A Push of seqs 1..3 and
    a message of two frames in a group that does not commit: no event, no
    batch, no group timed; the Push's ack made again as REFUSE_INTERNAL,
    the other refused REFUSE_MALFORMED.  The same Push in a group that
    commits: 3 events, 1 batch, 1 group.  Again: repeats, 0 events, 1
    batch (acked), 1 group.  A Push of seq 6 while 4 is expected:
    REFUSE_GAP, and nothing else moves.  */
static void test_metrics_counted(void **state)
{
    fixture_t *fx = *state;
    uint8_t *push, *skipped, *gap, junk[1] = {0xff};
    size_t push_len, skipped_len, gap_len;
    unsigned long long events = s_metric(fx, S_EVENTS), batches = s_metric(fx, S_BATCHES),
                       groups = s_metric(fx, S_GROUPS), internal = s_metric(fx, S_INTERNAL),
                       malformed = s_metric(fx, S_MALFORM), gaps = s_metric(fx, S_GAP);

    s_push(fx, &push, &push_len);
    s_send(fx, "SHOP-1", "p", push, push_len, 0, NULL);
    s_send(fx, "SHOP-1", "m", junk, sizeof junk, 1, NULL);
    assert_int_equal(dn_session_end_group(fx->session, 0), DN_EDB);
    s_refused(fx, "p", DEALERNET__REFUSE_CODE__REFUSE_INTERNAL,
              "the server could not commit; retry later");
    s_refused(fx, "m", DEALERNET__REFUSE_CODE__REFUSE_MALFORMED,
              "a sync message is exactly one frame");
    assert_int_equal(s_metric(fx, S_EVENTS), events);
    assert_int_equal(s_metric(fx, S_BATCHES), batches);
    assert_int_equal(s_metric(fx, S_GROUPS), groups);
    assert_int_equal(s_metric(fx, S_INTERNAL), internal + 1);
    assert_int_equal(s_metric(fx, S_MALFORM), malformed + 1);

    for (int round = 1; round <= 2; round++) {
        s_send(fx, "SHOP-1", "p", push, push_len, 0, NULL);
        assert_int_equal(dn_session_end_group(fx->session, 1), 0);
        Dealernet__SyncMessage *ack = s_reply(fx, "p");
        assert_int_equal(ack->body_case, DEALERNET__SYNC_MESSAGE__BODY_ACK);
        dn_wire_sync_free(&ack);
        assert_int_equal(s_metric(fx, S_EVENTS), events + 3); /* the repeats add none */
        assert_int_equal(s_metric(fx, S_BATCHES), batches + round);
        assert_int_equal(s_metric(fx, S_GROUPS), groups + round);
    }
    free(push);

    s_push_n(fx, 2, &skipped, &skipped_len); /* seqs 4..5, never sent */
    s_push_n(fx, 1, &gap, &gap_len);         /* seq 6 */
    s_send(fx, "SHOP-1", "g", gap, gap_len, 0, NULL);
    assert_int_equal(dn_session_end_group(fx->session, 1), 0);
    Dealernet__SyncMessage *msg = s_reply(fx, "g");
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_REFUSED);
    assert_int_equal(msg->refused->code, DEALERNET__REFUSE_CODE__REFUSE_GAP);
    dn_wire_sync_free(&msg);
    free(skipped);
    free(gap);
    assert_int_equal(s_metric(fx, S_GAP), gaps + 1);
    assert_int_equal(s_metric(fx, S_EVENTS), events + 3);
    assert_int_equal(s_metric(fx, S_BATCHES), batches + 2);
    assert_int_equal(s_metric(fx, S_GROUPS), groups + 2);
    assert_int_equal(s_metric(fx, S_INTERNAL), internal + 1);
}

int main(void)
{
    dn_log_init("test_session", DN_LOG_QUIET, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_welcome, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_push_ack_after_commit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_revoked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reply_before_commit_flag, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_too_big, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_retry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pending_figure, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pull_after_hello, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pull_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pull_failed_commit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hellos_per_site, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pull_waits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pull_bounds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pull_full_group, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pull_per_site, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_metrics_counted, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  test_down -- unit tests for the downstream channel's framework: the
    server's dn_down (scope check, budget, signing, the cache), the agent's
    dn_down (verify and apply a reply all or nothing), and the two driven
    together through dn_session and dn_syncsm, with the test kit's own
    stream "notes" (tests/lib/dn_testdown.h) standing in for the real ones.

    The server's side runs on a fresh central.db with partners HQ > DLR and
    sites SHOP-1 and SHOP-2 of DLR; the agent's on a fresh agent.db of site
    SHOP-01 (partner DLR, CNY) in a throwaway folder.  The down key is the
    RFC 8032 seed 0x01 0x02 ... 0x20; a second key (seed 0x21 ...) is "another
    server's".
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_record.h"
#include "dn_session.h"
#include "dn_store.h"
#include "dn_sync.h"
#include "dn_syncsm.h"
#include "dn_test_central.h"
#include "dn_test_site.h"
#include "dn_testdown.h"
#include "dn_time.h"
#include "dn_wire.h"

typedef struct {
    dn_test_central_t *central;
    sqlite3 *db;
    dn_key_t *key;   /* the down key */
    dn_key_t *other; /* another server's */
    dn_down_t *down;
    dn_tk_site_t *shop1, *shop2;
    char dir[64]; /* the agent's folder */
    dn_store_t *store;
} fixture_t;

static const dn_down_stream_t *const s_streams[] = {&dn_td_notes_stream};
static const dn_down_applier_t *const s_appliers[] = {&dn_td_notes_applier,
                                                      &dn_td_credits_applier};

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    char why[256] = "";
    void *central = NULL;
    int err = 0;
    if (!fx || dn_test_central_setup(&central) != 0)
        return -1;
    fx->central = central;
    fx->db = fx->central->db;
    int64_t now = 1767225600000LL; /* 2026-01-01 */
    if (dn_registry_partner_add(fx->db, "HQ", "HQ", "hq", NULL, now, why, sizeof why) ||
        dn_registry_partner_add(fx->db, "DLR", "DLR", "dealer", "HQ", now, why,
                                sizeof why) ||
        dn_td_server_setup(fx->db) != 0)
        return -1;
    fx->shop1 = dn_test_site_enroll(fx->db, "SHOP-1", "DLR", 1, now);
    fx->shop2 = dn_test_site_enroll(fx->db, "SHOP-2", "DLR", 2, now);
    fx->key = dn_td_key(1);
    fx->other = dn_td_key(0x21);
    fx->down = dn_down_new_streams(fx->db, fx->key, s_streams, 1);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_down.XXXXXX");
    if (!fx->key || !fx->other || !fx->down || !mkdtemp(fx->dir) ||
        dn_store_create(fx->dir, "SHOP-01", "DLR", "CNY") != 0 ||
        !(fx->store = dn_store_open(fx->dir, &err)) ||
        dn_td_agent_setup(dn_store_db(fx->store)) != 0)
        return -1;
    dn_td_scope[0] = '\0';
    dn_td_generation = 0;
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    void *central = fx->central;
    dn_down_destroy(&fx->down);
    dn_key_destroy(&fx->key);
    dn_key_destroy(&fx->other);
    dn_tk_site_destroy(&fx->shop1);
    dn_tk_site_destroy(&fx->shop2);
    dn_store_destroy(&fx->store);
    dn_tk_remove_tree(fx->dir);
    free(fx);
    return dn_test_central_teardown(&central);
}

/*  Pulls notes holding version in scope for site; returns the decoded
    reply (caller frees) and, when raw is not NULL, the packed bytes.  */
static Dealernet__SyncMessage *s_pull(fixture_t *fx, const dn_tk_site_t *site,
                                      uint64_t version, const char *scope, uint8_t **raw,
                                      size_t *raw_len)
{
    dn_td_pull_t pull;
    Dealernet__SyncMessage *msg = NULL;
    uint8_t *body = NULL;
    size_t len = 0;
    char why[DN_WHY_SIZE] = "";
    dn_td_pull(&pull, version, scope);
    assert_int_equal(dn_down_pull(fx->down, &site->reg, 1770800400000LL, &pull.pull,
                                  &body, &len, why, sizeof why),
                     0);
    assert_int_equal(dn_wire_sync_unpack(body, len, &msg, why, sizeof why), 0);
    assert_int_equal(msg->body_case, DEALERNET__SYNC_MESSAGE__BODY_DOWN);
    assert_int_equal(msg->down->n_downs, 1);
    {   /* the reply put together by hand is what packing it would write */
        uint8_t *again = NULL;
        size_t again_len = 0;
        assert_int_equal(dn_wire_sync_pack(msg, &again, &again_len, why, sizeof why), 0);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, body, len);
        free(again);
    }
    if (raw) {
        *raw = body;
        *raw_len = len;
    } else {
        free(body);
    }
    return msg;
}

/*  Checks d's versions, count and flags.  */
static void s_down_is(const Dealernet__Down *d, uint64_t from, uint64_t to, size_t n,
                      int reset, int more)
{
    assert_int_equal(d->from_version, from);
    assert_int_equal(d->to_version, to);
    assert_int_equal(d->n_items, n);
    assert_int_equal(d->reset, reset);
    assert_int_equal(d->more, more);
}

/*  The note of item i of d.  */
static uint64_t s_item_id(const Dealernet__Down *d, size_t i)
{
    Dealernet__DownItem *item = NULL;
    char why[DN_WHY_SIZE];
    uint64_t id;
    assert_int_equal(dn_wire_down_item_unpack(d->stream, d->items[i].data,
                                              d->items[i].len, &item, why, sizeof why),
                     0);
    id = item->notice->id;
    dn_wire_down_item_free(&item);
    return id;
}

/* -- the server ------------------------------------------------------------------ */

/*  Notes 1..3; a site holding nothing gets them all: from 0 to 3, no
    reset, no more, signed by the down key (and not by another).  A site
    holding 3 gets nothing, from 3 to 3.  */
static void test_pull_first(void **state)
{
    fixture_t *fx = *state;
    Dealernet__SyncMessage *msg;
    const Dealernet__Down *d;

    assert_int_equal(dn_td_note_add(fx->db, 1, "n1"), 0);
    assert_int_equal(dn_td_note_add(fx->db, 2, "n2"), 0);
    assert_int_equal(dn_td_note_add(fx->db, 3, "n3"), 0);
    msg = s_pull(fx, fx->shop1, 0, "", NULL, NULL);
    d = msg->down->downs[0];
    assert_int_equal(d->stream, DEALERNET__STREAM__STREAM_NOTICES);
    s_down_is(d, 0, 3, 3, 0, 0);
    assert_int_equal(d->scope.len, 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(s_item_id(d, i), i + 1);
    assert_int_equal(dn_td_down_verify(fx->key, d), 0);
    assert_int_equal(dn_td_down_verify(fx->other, d), DN_ESIG);
    {
        uint8_t signed_bytes[DN_DOWN_SIGNED_MAX];
        size_t len;
        assert_int_equal(dn_wire_down_signed(d, signed_bytes, &len), 0);
        assert_int_equal(len, 73); /* 18 + 4 + 1 + 0 + 8 + 8 + 1 + 1 + 32 */
    }
    dn_wire_sync_free(&msg);

    msg = s_pull(fx, fx->shop1, 3, "", NULL, NULL);
    s_down_is(msg->down->downs[0], 3, 3, 0, 0, 0);
    dn_wire_sync_free(&msg);
}

/*  A site that holds version 3 in scope "" while the stream's scope is
    now "north" gets the stream again from 0, with reset; one that holds
    3 in "north" continues from 3.  */
static void test_scope_reset(void **state)
{
    fixture_t *fx = *state;
    Dealernet__SyncMessage *msg;
    const Dealernet__Down *d;

    for (int64_t id = 1; id <= 4; id++)
        assert_int_equal(dn_td_note_add(fx->db, id, "n"), 0);
    snprintf(dn_td_scope, sizeof dn_td_scope, "north");
    msg = s_pull(fx, fx->shop1, 3, "", NULL, NULL);
    d = msg->down->downs[0];
    s_down_is(d, 0, 4, 4, 1, 0);
    assert_int_equal(d->scope.len, 5);
    assert_memory_equal(d->scope.data, "north", 5);
    assert_int_equal(dn_td_down_verify(fx->key, d), 0);
    dn_wire_sync_free(&msg);

    msg = s_pull(fx, fx->shop1, 3, "north", NULL, NULL);
    s_down_is(msg->down->downs[0], 3, 4, 1, 0, 0);
    dn_wire_sync_free(&msg);
}

/*  300 notes of 1,000 bytes: the budget (DN_DOWN_MAX_BYTES, 196,608)
    cuts the first reply.  A packed item is DownItem tag 1 + length 2 +
    Notice (id: tag 1 + 1 byte below 128, 2 from 128; text: tag 1 +
    length 2 + 1,000) = 1,008 bytes for ids 1..127, 1,009 from 128.
    127 x 1,008 = 128,016; 196,608 - 128,016 = 68,592 = 67 x 1,009 +
    989: 127 + 67 = 194 items, to 194, more.  The next pull from 194
    brings the other 106, to 300, no more.  */
static void test_budget_more(void **state)
{
    fixture_t *fx = *state;
    Dealernet__SyncMessage *msg;
    const Dealernet__Down *d;
    char text[1001];
    size_t bytes = 0;

    memset(text, 'x', 1000);
    text[1000] = '\0';
    assert_int_equal(dn_db_begin(fx->db), 0);
    for (int64_t id = 1; id <= 300; id++)
        assert_int_equal(dn_td_note_add(fx->db, id, text), 0);
    assert_int_equal(dn_db_commit(fx->db), 0);
    assert_int_equal(DN_DOWN_MAX_BYTES, 196608);

    msg = s_pull(fx, fx->shop1, 0, "", NULL, NULL);
    d = msg->down->downs[0];
    s_down_is(d, 0, 194, 194, 0, 1);
    for (size_t i = 0; i < d->n_items; i++)
        bytes += d->items[i].len;
    assert_int_equal(bytes, 127 * 1008 + 67 * 1009); /* 195,619 */
    assert_int_equal(dn_td_down_verify(fx->key, d), 0);
    dn_wire_sync_free(&msg);

    msg = s_pull(fx, fx->shop1, 194, "", NULL, NULL);
    d = msg->down->downs[0];
    s_down_is(d, 194, 300, 106, 0, 0);
    assert_int_equal(s_item_id(d, 0), 195);
    dn_wire_sync_free(&msg);
}

/*  Two sites in one scope at one version: the second gets the very bytes
    of the first, from the cache (1 miss, 1 hit, 1 entry).  A new note
    moves the head: the entry is dropped and the next pull is produced
    again, with the new note (2 misses, still 1 hit, 1 entry).  */
static void test_cache(void **state)
{
    fixture_t *fx = *state;
    Dealernet__SyncMessage *msg;
    uint8_t *a = NULL, *b = NULL;
    size_t a_len = 0, b_len = 0;
    dn_down_stats_t stats;

    assert_int_equal(dn_td_note_add(fx->db, 1, "n1"), 0);
    assert_int_equal(dn_td_note_add(fx->db, 2, "n2"), 0);
    msg = s_pull(fx, fx->shop1, 0, "", &a, &a_len);
    dn_wire_sync_free(&msg);
    dn_down_stats(fx->down, &stats);
    assert_int_equal(stats.misses, 1);
    assert_int_equal(stats.hits, 0);
    assert_int_equal(stats.entries, 1);
    msg = s_pull(fx, fx->shop2, 0, "", &b, &b_len);
    dn_wire_sync_free(&msg);
    dn_down_stats(fx->down, &stats);
    assert_int_equal(stats.misses, 1);
    assert_int_equal(stats.hits, 1);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(b);

    assert_int_equal(dn_td_note_add(fx->db, 3, "n3"), 0);
    msg = s_pull(fx, fx->shop2, 0, "", &b, &b_len);
    assert_int_equal(msg->down->downs[0]->n_items, 3);
    assert_int_equal(msg->down->downs[0]->to_version, 3);
    dn_wire_sync_free(&msg);
    dn_down_stats(fx->down, &stats);
    assert_int_equal(stats.misses, 2);
    assert_int_equal(stats.hits, 1);
    assert_int_equal(stats.entries, 1);
    assert_true(b_len > a_len);
    free(a);
    free(b);
}

/*  A stream this server does not serve is refused, with the reason.  */
static void test_pull_unserved(void **state)
{
    fixture_t *fx = *state;
    dn_td_pull_t pull;
    uint8_t *body = NULL;
    size_t len = 0;
    char why[DN_WHY_SIZE] = "";
    dn_td_pull(&pull, 0, "");
    pull.hold.stream = DEALERNET__STREAM__STREAM_CATALOG;
    assert_int_equal(dn_down_pull(fx->down, &fx->shop1->reg, 0, &pull.pull, &body, &len,
                                  why, sizeof why),
                     DN_EPROTO);
    assert_null(body);
    assert_string_equal(why,
                        "stream 1 is not served by this server (upgrade the server)");
}

/* -- the agent ---------------------------------------------------------------------- */

static int s_apply(fixture_t *fx, Dealernet__Down **downs, size_t n,
                   dn_down_applied_t *applied, size_t *n_applied, int *more, char *why,
                   size_t why_size)
{
    Dealernet__DownReply reply = DEALERNET__DOWN_REPLY__INIT;
    reply.n_downs = n;
    reply.downs = downs;
    return dn_down_apply_with(fx->store, s_appliers, 2, &reply, 1770800400000LL, applied,
                              n_applied, more, why, why_size);
}

static void s_pin(fixture_t *fx)
{
    uint8_t pub[DN_PUBKEY_BYTES];
    assert_int_equal(dn_key_public(fx->key, pub), 0);
    assert_int_equal(dn_down_key_pin(fx->store, pub), 0);
}

/*  A reply of notes 1..2 and a credit of -5 (refused by its applier):
    nothing is applied, neither the notes nor either stream's state.  The
    same with a credit of 700: both applied, in one go.  */
static void test_apply_all_or_nothing(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = dn_store_db(fx->store);
    Dealernet__Down *downs[2];
    dn_down_applied_t applied[DN_DOWN_MAX_STREAMS];
    dn_down_state_t st;
    size_t n = 9;
    int more = 9;
    char why[DN_WHY_SIZE] = "";

    s_pin(fx);
    downs[0] = dn_td_down_notes(fx->key, "", 0, 2, 0, 0, 1, 2, "hello");
    downs[1] = dn_td_down_credit(fx->key, 0, 1, -5);
    assert_non_null(downs[0]);
    assert_non_null(downs[1]);
    assert_int_equal(s_apply(fx, downs, 2, applied, &n, &more, why, sizeof why),
                     DN_EPROTO);
    assert_string_equal(why, "credit 1 refused");
    assert_int_equal(n, 0);
    assert_int_equal(dn_td_count(db, "test_notes"), 0);
    assert_int_equal(dn_td_count(db, "test_credits"), 0);
    assert_int_equal(dn_td_count(db, "down_state"), 0);
    dn_td_down_free(&downs[1]);

    downs[1] = dn_td_down_credit(fx->key, 0, 1, 700);
    assert_int_equal(s_apply(fx, downs, 2, applied, &n, &more, why, sizeof why), 0);
    assert_int_equal(n, 2);
    assert_int_equal(more, 0);
    assert_int_equal(applied[0].stream, DEALERNET__STREAM__STREAM_NOTICES);
    assert_int_equal(applied[0].items, 2);
    assert_int_equal(applied[0].version, 2);
    assert_string_equal(applied[0].name, "notes");
    assert_int_equal(applied[1].items, 1);
    assert_int_equal(applied[1].version, 1);
    assert_int_equal(dn_td_count(db, "test_notes"), 2);
    assert_int_equal(dn_td_count(db, "test_credits"), 1);
    assert_int_equal(dn_down_state(fx->store, DEALERNET__STREAM__STREAM_NOTICES, &st), 0);
    assert_int_equal(st.version, 2);
    assert_int_equal(st.checked_ms, 1770800400000LL);
    assert_int_equal(st.changed_ms, 1770800400000LL);
    dn_td_down_free(&downs[0]);
    dn_td_down_free(&downs[1]);
}

/*  A Down whose signature was changed, or that another key signed, or
    any Down when no key is pinned: refused, nothing applied.  */
static void test_apply_bad_signature(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = dn_store_db(fx->store);
    Dealernet__Down *down;
    dn_down_applied_t applied[DN_DOWN_MAX_STREAMS];
    size_t n;
    int more;
    char why[DN_WHY_SIZE] = "";

    down = dn_td_down_notes(fx->key, "", 0, 1, 0, 0, 1, 1, "hello");
    assert_int_equal(s_apply(fx, &down, 1, applied, &n, &more, why, sizeof why),
                     DN_ECRYPTO);
    assert_string_equal(why,
                        "no down key is pinned: nothing from the server can be verified");
    s_pin(fx);
    down->signature.data[0] ^= 1;
    assert_int_equal(s_apply(fx, &down, 1, applied, &n, &more, why, sizeof why),
                     DN_ECRYPTO);
    assert_string_equal(why,
                        "what the server sent of notes does not verify with its pinned "
                        "down key: refused, nothing applied (tell headquarters)");
    dn_td_down_free(&down);
    down = dn_td_down_notes(fx->other, "", 0, 1, 0, 0, 1, 1, "hello");
    assert_int_equal(s_apply(fx, &down, 1, applied, &n, &more, why, sizeof why),
                     DN_ECRYPTO);
    /* an item changed after signing: the signature covers the items */
    dn_td_down_free(&down);
    down = dn_td_down_notes(fx->key, "", 0, 1, 0, 0, 1, 1, "hello");
    down->items[0].data[down->items[0].len - 1] ^= 1; /* "hellp" */
    assert_int_equal(s_apply(fx, &down, 1, applied, &n, &more, why, sizeof why),
                     DN_ECRYPTO);
    assert_int_equal(dn_td_count(db, "test_notes"), 0);
    assert_int_equal(dn_td_count(db, "down_state"), 0);
    dn_td_down_free(&down);
}

/*  A Down that does not continue what is held is refused: from 5 when
    nothing is held; from 1 when 2 is held; from 2 in another scope
    without reset.  With reset, the other scope replaces what was held.  */
static void test_apply_wrong_from(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = dn_store_db(fx->store);
    Dealernet__Down *down;
    dn_down_applied_t applied[DN_DOWN_MAX_STREAMS];
    dn_down_state_t st;
    size_t n;
    int more;
    char why[DN_WHY_SIZE] = "", text[16];

    s_pin(fx);
    down = dn_td_down_notes(fx->key, "", 5, 6, 0, 0, 6, 1, "six");
    assert_int_equal(s_apply(fx, &down, 1, applied, &n, &more, why, sizeof why),
                     DN_EPROTO);
    assert_string_equal(why,
                        "what the server sent of notes continues version 5, but this "
                        "site holds version 0 of it (or another scope): refused, "
                        "nothing applied");
    dn_td_down_free(&down);

    down = dn_td_down_notes(fx->key, "", 0, 2, 0, 1, 1, 2, "one");
    assert_int_equal(s_apply(fx, &down, 1, applied, &n, &more, why, sizeof why), 0);
    assert_int_equal(more, 1);
    dn_td_down_free(&down);
    down = dn_td_down_notes(fx->key, "", 1, 3, 0, 0, 3, 1, "three");
    assert_int_equal(s_apply(fx, &down, 1, applied, &n, &more, why, sizeof why),
                     DN_EPROTO);
    dn_td_down_free(&down);
    down = dn_td_down_notes(fx->key, "south", 2, 3, 0, 0, 3, 1, "three");
    assert_int_equal(s_apply(fx, &down, 1, applied, &n, &more, why, sizeof why),
                     DN_EPROTO);
    assert_int_equal(dn_td_count(db, "test_notes"), 2);
    dn_td_down_free(&down);

    down = dn_td_down_notes(fx->key, "south", 0, 7, 1, 0, 7, 1, "seven");
    assert_int_equal(s_apply(fx, &down, 1, applied, &n, &more, why, sizeof why), 0);
    assert_true(applied[0].reset);
    assert_int_equal(dn_td_count(db, "test_notes"), 1);
    assert_int_equal(dn_td_note_text(db, 7, text, sizeof text), 0);
    assert_string_equal(text, "seven");
    assert_int_equal(dn_down_state(fx->store, DEALERNET__STREAM__STREAM_NOTICES, &st), 0);
    assert_int_equal(st.version, 7);
    assert_int_equal(st.scope_len, 5);
    assert_memory_equal(st.scope, "south", 5);
    dn_td_down_free(&down);
}

/* -- both, through the session and the machine -----------------------------------------
 */

static int64_t s_clock(void *arg)
{
    (void)arg;
    return dn_time_now_ms();
}

/*  Carries the machine's messages to the session and back until the
    machine says done (or anything else but send and wait); ends the group
    after each message.  Returns the last action.  */
static dn_syncsm_action_t s_drive(dn_session_t *session, dn_syncsm_t *sm,
                                  const char *user, dn_syncsm_action_t action, int *pulls)
{
    dn_session_peer_t peer = {user, "192.0.2.7", (const uint8_t *)"r1", 2};
    while (action == DN_SYNCSM_SEND) {
        const uint8_t *data;
        size_t len;
        uint8_t route[DN_SESSION_ROUTE_MAX], *body = NULL;
        size_t route_len = 0, body_len = 0;
        Dealernet__SyncMessage *msg = NULL;
        char why[DN_WHY_SIZE];
        dn_syncsm_message(sm, &data, &len);
        assert_int_equal(dn_wire_sync_unpack(data, len, &msg, why, sizeof why), 0);
        if (msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_PULL)
            (*pulls)++;
        dn_wire_sync_free(&msg);
        assert_int_equal(dn_session_message(session, &peer, data, len, 0, NULL), 0);
        action = dn_syncsm_sent(sm);
        if (action != DN_SYNCSM_WAIT)
            continue;
        assert_int_equal(dn_session_end_group(session, 1), 0);
        assert_int_equal(dn_session_reply(session, route, &route_len, &body, &body_len),
                         1);
        action = dn_syncsm_reply(sm, body, body_len);
        free(body);
    }
    return action;
}

/*  The whole channel with the test stream: an agent of site SHOP-01 with
    2 sales syncs with a session serving 300 notes of 1,000 bytes.  The
    upload comes first (2 events acked), then the pulls: 194 notes (more,
    see test_budget_more), then 106: two pulls, 300 notes in agent.db,
    notes version 300; the down key pinned from the Welcome.  A second
    sync pulls once and receives nothing.  */
static void test_end_to_end(void **state)
{
    fixture_t *fx = *state;
    dn_session_options_t o = {0};
    dn_ingest_t *ingest = dn_ingest_new(fx->db);
    dn_session_t *session;
    dn_key_t *site_key = dn_td_key(0x41);
    dn_registry_site_t reg;
    uint8_t curve[DN_CURVE_KEY_BYTES], pinned[DN_PUBKEY_BYTES], pub[DN_PUBKEY_BYTES];
    dn_sync_result_t r;
    dn_syncsm_t *sm;
    char why[256] = "", text[1001], report[256];
    int pulls = 0;

    assert_non_null(ingest);
    assert_non_null(site_key);
    dn_tk_curve(curve, 9);
    assert_int_equal(dn_tk_enroll(fx->db, "SHOP-01", "DLR", curve, site_key,
                                  1767225600000LL, 1767225601000LL, &reg, why,
                                  sizeof why),
                     0);
    memset(text, 'x', 1000);
    text[1000] = '\0';
    assert_int_equal(dn_db_begin(fx->db), 0);
    for (int64_t id = 1; id <= 300; id++)
        assert_int_equal(dn_td_note_add(fx->db, id, text), 0);
    assert_int_equal(dn_db_commit(fx->db), 0);
    for (int i = 0; i < 2; i++) {
        dn_record_line_t line = {"TEA", 1, 1, 100, "", 0};
        dn_sale_input_t in = {&line, 1, NULL, NULL, NULL, NULL};
        dn_record_result_t out;
        assert_int_equal(dn_record_sale(fx->store, &in, &out, why, sizeof why), 0);
    }
    o.clock = s_clock;
    o.down = fx->down;
    session = dn_session_new(fx->db, ingest, &o);
    assert_non_null(session);

    memset(&r, 0, sizeof r);
    sm = dn_syncsm_new(fx->store, site_key, "test", &r);
    assert_non_null(sm);
    dn_syncsm_set_appliers(sm, s_appliers, 1);
    assert_int_equal(s_drive(session, sm, "SHOP-01",
                             dn_syncsm_start(sm, dn_time_now_ms(), 1000), &pulls),
                     DN_SYNCSM_DONE);
    assert_int_equal(r.acked_through, 2);
    assert_int_equal(pulls, 2);
    assert_int_equal(r.pulls, 2);
    assert_int_equal(r.n_received, 1);
    assert_int_equal(r.received[0].items, 300);
    assert_int_equal(r.received[0].version, 300);
    assert_false(r.received[0].reset);
    assert_string_equal(dn_sync_report_received(&r, report, sizeof report),
                        "received: notes 300 items (version 300)");
    assert_int_equal(dn_td_count(dn_store_db(fx->store), "test_notes"), 300);
    assert_int_equal(dn_down_key_get(fx->store, pinned), 0);
    assert_int_equal(dn_key_public(fx->key, pub), 0);
    assert_memory_equal(pinned, pub, DN_PUBKEY_BYTES);
    dn_syncsm_destroy(&sm);

    memset(&r, 0, sizeof r);
    pulls = 0;
    sm = dn_syncsm_new(fx->store, site_key, "test", &r);
    dn_syncsm_set_appliers(sm, s_appliers, 1);
    assert_int_equal(s_drive(session, sm, "SHOP-01",
                             dn_syncsm_start(sm, dn_time_now_ms(), 1000), &pulls),
                     DN_SYNCSM_DONE);
    assert_int_equal(pulls, 1);
    assert_int_equal(r.received[0].items, 0);
    assert_string_equal(dn_sync_report_received(&r, report, sizeof report), "");
    dn_syncsm_destroy(&sm);

    dn_session_destroy(&session);
    dn_ingest_destroy(&ingest);
    dn_key_destroy(&site_key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pull_first, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_scope_reset, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_budget_more, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cache, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pull_unserved, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_apply_all_or_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_apply_bad_signature, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_apply_wrong_from, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_end_to_end, s_setup, s_teardown),
    };
    dn_log_init("test_down", DN_LOG_ERROR, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  test_recover -- unit tests for `dealernet-agent recover`'s parts on the
    agent: STREAM_CHAIN's applier (table chain_staging) and the one
    transaction that rebuilds the log from it (dn_recover_run).

    The server's copy of the chain is played by another agent.db of the
    same site whose events are all synced: its stored bytes are exactly
    what the server stores for the site (dn_ingest keeps the bytes it
    hashed) and what server/dn_chain_down.c sends, and they reach the
    folder under test through the applier, as a pull's chunks do.

    The scenario (site SHOP-01 of partner DLR-7, CNY, exponent 2):
      PC "main" records and syncs
        1 sale S1 TEA:1@10.00            = 10.00
        2 sale S2 TEA:2@10.00            = 20.00
        3 sale S3 RICE:1@50.00           = 50.00
      agent.db copied aside ("old": holds 1-3, all synced)
      main records and syncs
        4 sale S4 SOAP:4@2.50            = 10.00
        5 refund S1 amount 4.00
      so the server holds 1-5.  Sales on the server: 10 + 20 + 50 + 10 =
      90.00, refunded 4.00.
*/
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dn_chain.h"
#include "dn_db.h"
#include "dn_down.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_outbox.h"
#include "dn_record.h"
#include "dn_recover.h"
#include "dn_store.h"
#include "dn_wire.h"
#include "dn_testkit.h"
#include "dn_test_record.h"

#define SITE "SHOP-01"

typedef struct {
    char root[64];
    char main_dir[96], old_dir[96], new_dir[96];
    dn_store_t *main; /* the server's copy: every event synced */
    uint8_t s1[DN_ID_BYTES], s4[DN_ID_BYTES];
} fixture_t;

/*  Records a sale of one line; its id into id when not NULL.  */
static void s_sale(dn_store_t *store, const char *text, int64_t total, uint8_t *id)
{
    dn_record_line_t lines[] = {dn_test_line(text)};
    dn_sale_input_t in = {lines, 1, NULL, NULL, NULL, NULL};
    dn_record_result_t out;
    char why[DN_WHY_SIZE] = "";
    int rc = dn_record_sale(store, &in, &out, why, sizeof why);
    if (rc)
        print_error("%s\n", why);
    assert_int_equal(rc, 0);
    assert_int_equal(out.amount, total);
    if (id)
        memcpy(id, out.id, DN_ID_BYTES);
}

static void s_refund(dn_store_t *store, const uint8_t sale[DN_ID_BYTES], int64_t amount)
{
    dn_refund_input_t in = {{0}, NULL, 0, 1, amount};
    dn_record_result_t out;
    char why[DN_WHY_SIZE] = "";
    memcpy(in.sale_id, sale, DN_ID_BYTES);
    assert_int_equal(dn_record_refund(store, &in, &out, why, sizeof why), 0);
}

/*  Copies store's agent.db into dir (made here).  */
static void s_copy(dn_store_t *store, const char *dir)
{
    char sql[256];
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(sql, sizeof sql, "VACUUM INTO '%s/" DN_AGENT_DB_FILE "'", dir);
    assert_int_equal(dn_db_exec(dn_store_db(store), sql), 0);
}

static dn_store_t *s_open(const char *dir)
{
    int err = 0;
    dn_store_t *store = dn_store_open(dir, &err);
    assert_non_null(store);
    return store;
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    dn_outbox_position_t pos;
    int err = 0;
    if (!fx)
        return -1;
    snprintf(fx->root, sizeof fx->root, "/tmp/test_recover.XXXXXX");
    if (!mkdtemp(fx->root))
        return -1;
    snprintf(fx->main_dir, sizeof fx->main_dir, "%s/main", fx->root);
    snprintf(fx->old_dir, sizeof fx->old_dir, "%s/old", fx->root);
    snprintf(fx->new_dir, sizeof fx->new_dir, "%s/new", fx->root);
    if (mkdir(fx->main_dir, 0700) ||
        dn_store_create(fx->main_dir, SITE, "DLR-7", "CNY") ||
        !(fx->main = dn_store_open(fx->main_dir, &err)))
        return -1;
    s_sale(fx->main, "TEA:1@10.00", 1000, fx->s1);
    s_sale(fx->main, "TEA:2@10.00", 2000, NULL);
    s_sale(fx->main, "RICE:1@50.00", 5000, NULL);
    assert_int_equal(dn_outbox_ack(fx->main, 3), 0);
    s_copy(fx->main, fx->old_dir);
    s_sale(fx->main, "SOAP:4@2.50", 1000, fx->s4);
    s_refund(fx->main, fx->s1, 400);
    assert_int_equal(dn_outbox_ack(fx->main, 5), 0);
    assert_int_equal(dn_outbox_position(fx->main, &pos), 0);
    assert_int_equal(pos.head_seq, 5);
    assert_int_equal(pos.pending, 0);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    dn_store_destroy(&fx->main);
    dn_tk_remove_tree(fx->root);
    free(fx);
    return 0;
}

/*  Applies the server's events from..to (main's stored bytes) to store as
    one chunk, in its own transaction as the framework does.  */
static int s_serve(fixture_t *fx, dn_store_t *store, int64_t from, int64_t to, int reset,
                   char *why, size_t why_size)
{
    Dealernet__DownItem items[8], *ptrs[8];
    dn_outbox_batch_t batch;
    size_t n = (size_t)(to - from + 1);
    int rc;

    assert_true(n <= 8);
    assert_int_equal(dn_outbox_read(fx->main, (uint64_t)from, n, 1 << 20, &batch), 0);
    assert_int_equal(batch.n, n);
    for (size_t i = 0; i < n; i++) {
        dealernet__down_item__init(&items[i]);
        items[i].body_case = DEALERNET__DOWN_ITEM__BODY_EVENT;
        items[i].event = batch.events[i];
        ptrs[i] = &items[i];
    }
    assert_int_equal(dn_store_begin(store), 0);
    rc = dn_down_apply_chain.apply(dn_store_db(store), reset, ptrs, n, why, why_size);
    if (rc == 0)
        rc = dn_store_commit(store);
    if (rc)
        dn_store_rollback(store);
    dn_outbox_batch_free(&batch);
    return rc;
}

/*  The server's whole chain, in two chunks (1-3, 4-5).  */
static void s_serve_all(fixture_t *fx, dn_store_t *store)
{
    char why[DN_WHY_SIZE] = "";
    int rc = s_serve(fx, store, 1, 3, 1, why, sizeof why);
    if (rc == 0)
        rc = s_serve(fx, store, 4, 5, 0, why, sizeof why);
    if (rc)
        print_error("%s\n", why);
    assert_int_equal(rc, 0);
}

static int64_t s_int(dn_store_t *store, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t v = -1;
    assert_int_equal(dn_db_prepare(dn_store_db(store), sql, &stmt), 0);
    assert_int_equal(dn_db_int_row(stmt, "test", &v), 1);
    return v;
}

/*  Events 1..5 of store are byte for byte main's, synced.  */
static void s_assert_server_part(fixture_t *fx, dn_store_t *store)
{
    dn_outbox_batch_t a, b;
    assert_int_equal(dn_outbox_read(fx->main, 1, 5, 1 << 20, &a), 0);
    assert_int_equal(dn_outbox_read(store, 1, 5, 1 << 20, &b), 0);
    assert_int_equal(a.n, 5);
    assert_int_equal(b.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(a.events[i].len, b.events[i].len);
        assert_memory_equal(a.events[i].data, b.events[i].data, a.events[i].len);
    }
    dn_outbox_batch_free(&a);
    dn_outbox_batch_free(&b);
    assert_int_equal(
        s_int(store, "SELECT count(*) FROM events WHERE seq <= 5 AND synced"), 5);
}

/*  An old copy (1-3, all synced) that recorded nothing since: the
    server's 4 and 5 are added, synced, with their rows: sale S4 is there
    to refund, and S1 shows the 4.00 the other PC refunded.  */
static void test_old_copy(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *old = s_open(fx->old_dir);
    dn_recover_result_t r;
    dn_outbox_check_t check;
    dn_store_sale_t sale;
    char why[DN_WHY_SIZE] = "", line[256];

    s_serve_all(fx, old);
    assert_int_equal(dn_recover_run(old, 0, &r, why, sizeof why), 0);
    assert_int_equal(r.server_head, 5);
    assert_int_equal(r.kept, 3);
    assert_int_equal(r.added, 2);
    assert_int_equal(r.rerecorded, 0);
    assert_string_equal(dn_recover_report(&r, 0, line, sizeof line),
                        "recovered: server holds 1-5, 2 events added from the server, no "
                        "local event was re-recorded");
    s_assert_server_part(fx, old);
    assert_int_equal(dn_outbox_check(old, &check), 0);
    assert_int_equal(check.events, 5);
    /* 10 + 20 + 50 + 10 = 90.00 of sales, 4.00 refunded */
    assert_int_equal(s_int(old, "SELECT sum(total) FROM sales"), 9000);
    assert_int_equal(s_int(old, "SELECT sum(refunded) FROM sales"), 400);
    assert_int_equal(dn_store_sale_get(old, fx->s1, &sale), 0);
    assert_int_equal(sale.refunded, 400);
    /* a refund of the sale only the server had: 2.50 of S4's 10.00 */
    s_refund(old, fx->s4, 250);
    assert_int_equal(dn_store_sale_get(old, fx->s4, &sale), 0);
    assert_int_equal(sale.refunded, 250);
    dn_store_destroy(&old);
}

/*  A copy that went on recording on another PC (both diverged): its seq 4
    and 5 (sales 7.00 and 3.00, never sent) are re-recorded as 6 and 7
    after the server's head, same ids and bodies, pending; the dry run
    says so first and changes nothing.  */
static void test_copied_pc(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *old = s_open(fx->old_dir);
    dn_recover_result_t r;
    dn_outbox_check_t check;
    dn_outbox_position_t pos;
    uint8_t t4[DN_ID_BYTES], t5[DN_ID_BYTES];
    int64_t seq;
    char why[DN_WHY_SIZE] = "", line[256];

    s_sale(old, "TEA:7@1.00", 700, t4);
    s_sale(old, "RICE:1@3.00", 300, t5);
    s_serve_all(fx, old);

    assert_int_equal(dn_recover_run(old, 1, &r, why, sizeof why), 0);
    assert_string_equal(
        dn_recover_report(&r, 1, line, sizeof line),
        "would recover: server holds 1-5, 2 events would be added from the "
        "server, 2 local events would be re-recorded as seq 6-7");
    assert_int_equal(dn_store_event_seq(old, t4, &seq), 0);
    assert_int_equal(seq, 4); /* the dry run changed nothing */

    assert_int_equal(dn_recover_run(old, 0, &r, why, sizeof why), 0);
    assert_int_equal(r.kept, 3);
    assert_int_equal(r.added, 2);
    assert_int_equal(r.rerecorded, 2);
    assert_string_equal(
        dn_recover_report(&r, 0, line, sizeof line),
        "recovered: server holds 1-5, 2 events added from the server, 2 "
        "local events re-recorded as seq 6-7 (pending: run 'dealernet-agent "
        "sync')");
    s_assert_server_part(fx, old);
    assert_int_equal(dn_store_event_seq(old, t4, &seq), 0);
    assert_int_equal(seq, 6);
    assert_int_equal(dn_store_sale_seq(old, t5, &seq), 0);
    assert_int_equal(seq, 7);
    assert_int_equal(dn_outbox_check(old, &check), 0);
    assert_int_equal(check.events, 7);
    assert_int_equal(dn_outbox_position(old, &pos), 0);
    assert_int_equal(pos.acked_seq, 5);
    assert_int_equal(pos.pending, 2);
    /* 90.00 + 7.00 + 3.00 = 100.00, each sale once */
    assert_int_equal(s_int(old, "SELECT sum(total) FROM sales"), 10000);
    assert_int_equal(s_int(old, "SELECT count(*) FROM sales"), 6);
    assert_int_equal(s_int(old, "SELECT count(*) FROM sale_lines"), 6);
    dn_store_destroy(&old);
}

/*  A new PC after `site token`: its chain began after the server's seq 3
    (dn_outbox_rebase at enrollment), and it recorded one sale (1.50) as
    seq 4 before learning of the server's 4 and 5.  It gets the whole
    history 1-5 (refunds of the old sales work here now), its sale goes
    to 6, and the chain's base is gone (the log starts at 1 again).  */
static void test_new_pc(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *fresh;
    dn_recover_result_t r;
    dn_outbox_check_t check;
    dn_outbox_batch_t three;
    uint8_t mine[DN_ID_BYTES], base_hash[DN_HASH_BYTES];
    int64_t seq, moved = 0;
    char why[DN_WHY_SIZE] = "";

    assert_int_equal(mkdir(fx->new_dir, 0700), 0);
    assert_int_equal(dn_store_create(fx->new_dir, SITE, "DLR-7", "CNY"), 0);
    fresh = s_open(fx->new_dir);
    s_sale(fresh, "TEA:1@1.50", 150, mine);
    assert_int_equal(dn_outbox_read(fx->main, 3, 1, 1 << 20, &three), 0);
    assert_int_equal(dn_store_begin(fresh), 0);
    assert_int_equal(dn_outbox_rebase(fresh, 3, three.head, &moved, why, sizeof why), 0);
    assert_int_equal(dn_store_commit(fresh), 0);
    dn_outbox_batch_free(&three);
    assert_int_equal(moved, 1);

    s_serve_all(fx, fresh);
    assert_int_equal(dn_recover_run(fresh, 0, &r, why, sizeof why), 0);
    assert_int_equal(r.kept, 0);
    assert_int_equal(r.added, 5);
    assert_int_equal(r.rerecorded, 1);
    s_assert_server_part(fx, fresh);
    assert_int_equal(dn_store_event_seq(fresh, mine, &seq), 0);
    assert_int_equal(seq, 6);
    assert_int_equal(dn_store_chain_base(fresh, &seq, base_hash), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(dn_outbox_check(fresh, &check), 0);
    assert_int_equal(check.events, 6);
    /* 90.00 + 1.50 = 91.50 */
    assert_int_equal(s_int(fresh, "SELECT sum(total) FROM sales"), 9150);
    s_refund(fresh, fx->s1, 600); /* the rest of S1: 10.00 - 4.00 */
    dn_store_destroy(&fresh);
}

/*  One id, other bytes: the copy's seq 4 is the server's S4 event
    re-chained on another prev_hash (as a changed agent.db would hold
    it).  Refused, said so, nothing changed.  */
static void test_same_id_other_bytes(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *old = s_open(fx->old_dir);
    dn_outbox_batch_t four;
    dn_outbox_moved_t forged;
    dn_recover_result_t r;
    uint8_t prev[DN_HASH_BYTES];
    sqlite3_stmt *stmt;
    char why[DN_WHY_SIZE] = "", id[DN_ID_TEXT_SIZE], want[DN_WHY_SIZE];

    memset(prev, 0x5a, sizeof prev);
    memset(&forged, 0, sizeof forged);
    assert_int_equal(dn_outbox_read(fx->main, 4, 1, 1 << 20, &four), 0);
    assert_int_equal(dn_outbox_rechain(four.events[0].data, four.events[0].len, 4, prev,
                                       &forged, why, sizeof why),
                     0);
    assert_int_equal(
        dn_db_prepare(dn_store_db(old),
                      "INSERT INTO events(seq, id, kind, recorded_at_ms, body, "
                      "hash) VALUES (4, ?, 'sale', 0, ?, ?)",
                      &stmt),
        0);
    sqlite3_bind_blob(stmt, 1, fx->s4, DN_ID_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, forged.body, (int)forged.len, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 3, forged.hash, DN_HASH_BYTES, SQLITE_STATIC);
    assert_int_equal(dn_db_run(dn_store_db(old), stmt), 0);
    free(forged.body);
    dn_outbox_batch_free(&four);

    s_serve_all(fx, old);
    assert_int_equal(dn_recover_run(old, 0, &r, why, sizeof why), DN_ECHAIN);
    dn_id_format(fx->s4, id);
    snprintf(want, sizeof want,
             "event %s (seq 4 here) differs from the server's copy of it (seq 4): this "
             "agent.db was changed after it was synced; nothing was changed, tell "
             "headquarters",
             id);
    assert_string_equal(why, want);
    assert_int_equal(s_int(old, "SELECT count(*) FROM events"), 4);
    assert_int_equal(s_int(old, "SELECT count(*) FROM sales"), 3);
    dn_store_destroy(&old);
}

/*  Signs up +8613800138000 in store; the member's id into id.  */
static void s_signup(dn_store_t *store, const char *name, uint8_t id[DN_ID_BYTES])
{
    dn_member_input_t in = {"+8613800138000", name, NULL, 0, 0};
    dn_record_result_t out;
    char why[DN_WHY_SIZE] = "";
    assert_int_equal(dn_record_member_add(store, &in, &out, why, sizeof why), 0);
    memcpy(id, out.id, DN_ID_BYTES);
}

/*  One phone signed up on both PCs: main's sign-up (seq 6 on the server)
    and the copy's (its seq 4, re-recorded as 7).  Nothing is dropped: the
    copy's stays the member here (its row was there first), the server's
    is kept whole in member_duplicates naming it, as the canonical-phones
    migration keeps a second sign-up of one phone; the server lists both
    in `member conflicts`.  */
static void test_member_on_both(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *old = s_open(fx->old_dir);
    dn_recover_result_t r;
    uint8_t theirs[DN_ID_BYTES], mine[DN_ID_BYTES], found[DN_ID_BYTES];
    char why[DN_WHY_SIZE] = "";
    int rc;

    s_signup(fx->main, "A", theirs);
    assert_int_equal(dn_outbox_ack(fx->main, 6), 0);
    s_signup(old, "B", mine);
    rc = s_serve(fx, old, 1, 6, 1, why, sizeof why);
    if (rc)
        print_error("%s\n", why);
    assert_int_equal(rc, 0);
    assert_int_equal(dn_recover_run(old, 0, &r, why, sizeof why), 0);
    assert_int_equal(r.server_head, 6);
    assert_int_equal(r.added, 3);
    assert_int_equal(r.rerecorded, 1);
    assert_int_equal(dn_store_member_find(old, "+8613800138000", found), 0);
    assert_memory_equal(found, mine, DN_ID_BYTES);
    assert_int_equal(s_int(old, "SELECT count(*) FROM member_duplicates WHERE seq = 6"),
                     1);
    assert_int_equal(s_int(old, "SELECT seq FROM members"), 7);
    dn_store_destroy(&old);
}

/*  Both PCs refunded S1: the server 4.00 (seq 5), the copy the whole
    10.00 (its seq 4, never sent).  4.00 + 10.00 > 10.00: refused, named,
    nothing changed.  */
static void test_refunded_on_both(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *old = s_open(fx->old_dir);
    dn_recover_result_t r;
    char why[DN_WHY_SIZE] = "", id[DN_ID_TEXT_SIZE], want[DN_WHY_SIZE];

    s_refund(old, fx->s1, 1000);
    s_serve_all(fx, old);
    assert_int_equal(dn_recover_run(old, 0, &r, why, sizeof why), DN_ELIMIT);
    dn_id_format(fx->s1, id);
    snprintf(want, sizeof want,
             "the server's refund at seq 5 and the refunds recorded here together exceed "
             "sale %s: nothing was changed, tell headquarters",
             id);
    assert_string_equal(why, want);
    assert_int_equal(s_int(old, "SELECT count(*) FROM events"), 4);
    assert_int_equal(s_int(old, "SELECT refunded FROM sales WHERE seq = 1"), 1000);
    dn_store_destroy(&old);
}

/*  A process killed inside a chunk's transaction (here: SIGKILL before the
    commit, in a child that has applied the whole second chunk) leaves the
    staged chain as after the first chunk, whole -- never half of the
    second -- and the next pull and recover complete.  */
static void test_killed_mid_chunk(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *old = s_open(fx->old_dir);
    dn_recover_result_t r;
    char why[DN_WHY_SIZE] = "";
    int status = 0;
    pid_t pid;

    assert_int_equal(s_serve(fx, old, 1, 3, 1, why, sizeof why), 0);
    dn_store_destroy(&old);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        Dealernet__DownItem items[2], *ptrs[2];
        dn_outbox_batch_t batch;
        dn_store_t *child = s_open(fx->old_dir);
        if (dn_outbox_read(fx->main, 4, 2, 1 << 20, &batch) || batch.n != 2)
            _exit(1);
        for (size_t i = 0; i < 2; i++) {
            dealernet__down_item__init(&items[i]);
            items[i].body_case = DEALERNET__DOWN_ITEM__BODY_EVENT;
            items[i].event = batch.events[i];
            ptrs[i] = &items[i];
        }
        if (dn_store_begin(child) ||
            dn_down_apply_chain.apply(dn_store_db(child), 0, ptrs, 2, why, sizeof why))
            _exit(1);
        /* killed before the commit: SIGKILL, as a real kill (an _exit
           ran valgrind's leak check in the child, which then exited 1) */
        kill(getpid(), SIGKILL);
        _exit(3);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    old = s_open(fx->old_dir);
    assert_int_equal(s_int(old, "SELECT count(*) FROM chain_staging"), 3);
    assert_int_equal(s_int(old, "SELECT max(seq) FROM chain_staging"), 3);
    assert_int_equal(s_serve(fx, old, 4, 5, 0, why, sizeof why), 0);
    assert_int_equal(dn_recover_run(old, 0, &r, why, sizeof why), 0);
    assert_int_equal(r.server_head, 5);
    assert_int_equal(r.added, 2);
    s_assert_server_part(fx, old);
    dn_store_destroy(&old);
}

/*  The applier keeps the staged chain an unbroken prefix: a chunk that
    skips a seq, or another site's events, is refused whole; with nothing
    staged recover refuses and names the site.  */
static void test_applier_refuses(void **state)
{
    fixture_t *fx = *state;
    dn_store_t *old = s_open(fx->old_dir), *other;
    dn_recover_result_t r;
    char why[DN_WHY_SIZE] = "", other_dir[128];

    assert_int_equal(dn_recover_run(old, 0, &r, why, sizeof why), DN_ENOENT);
    assert_string_equal(why,
                        "the server holds no events of site SHOP-01: there is nothing "
                        "to recover from");
    assert_int_equal(s_serve(fx, old, 1, 2, 1, why, sizeof why), 0);
    assert_int_equal(s_serve(fx, old, 4, 5, 0, why, sizeof why), DN_EPROTO);
    assert_string_equal(why, "the server's chain has a gap: seq 4 where 3 was due");
    assert_int_equal(s_int(old, "SELECT count(*) FROM chain_staging"), 2);
    assert_int_equal(s_serve(fx, old, 3, 5, 0, why, sizeof why), 0);
    assert_int_equal(s_int(old, "SELECT count(*) FROM chain_staging"), 5);

    snprintf(other_dir, sizeof other_dir, "%s/other", fx->root);
    assert_int_equal(mkdir(other_dir, 0700), 0);
    assert_int_equal(dn_store_create(other_dir, "SHOP-02", "DLR-7", "CNY"), 0);
    other = s_open(other_dir);
    assert_int_equal(s_serve(fx, other, 1, 1, 1, why, sizeof why), DN_EPROTO);
    assert_string_equal(why,
                        "the server's event at seq 1 is of site SHOP-01, not SHOP-02");
    assert_int_equal(s_int(other, "SELECT count(*) FROM chain_staging"), 0);
    dn_store_destroy(&other);
    dn_store_destroy(&old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_old_copy, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_copied_pc, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_new_pc, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_same_id_other_bytes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_member_on_both, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refunded_on_both, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_killed_mid_chunk, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_applier_refuses, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  test_ledger -- the commission and referral ledger, worked by hand.

    One central.db in a mkdtemp folder holds a 5-level tree, two plan
    versions and two enrolled sites.  The sites' events are built here with
    explicit recorded times, chained (prev_hash = SHA-256 of the previous
    packed event of the site), signed per batch with the site's Ed25519 key
    and applied through dn_ingest_batch inside BEGIN IMMEDIATE / COMMIT --
    the server's real ingest path, which posts each event in the
    transaction that stores it.  Every transfer and every balance is then
    compared, to the fen, with figures computed by hand from the rules of
    issue 4 (the arithmetic is next to each figure).  Nothing here is
    copied from the program's output.

    The tree (all from the start; effective-dated changes below):

        HQ (hq)
         `- R1 (region)
             `- DI1 (distributor)
                 |- DE1 (dealer)
                 |   |- RS1 (reseller)
                 |   `- RS2 (reseller; recruited by RS1, joined 2026-01-05;
                 |           moved under DE2 from 2026-02-15)
                 `- DE2 (dealer)

    DE1 is suspended from 2026-03-05 and resumed on 2026-03-12.

    Plans (CNY):
      P1 effective 2026-01-01: cap 1500; levels 0=800 1=300 2=100;
         [category:rice] 0=500 1=200; referral bonus 5.00, 100 bps for
         365 days, recruit override 50 bps for 365 days.
      P2 effective 2026-03-15: cap 1500; levels 0=1000 1=600 2=400, so a
         sale pays 10%, then 600 capped to 1500 - 1000 = 500 (5%), then 0;
         the same referral section; no rice section.

    Members: A (+8613800000001) referred by partner RS1; B (...02) referred
    by A; C (...03) referred by B.

    The scenario (site SHOP-A of RS1, site SHOP-B of DE2; times 10:00 UTC):

      event   date        what                              earns
      A1      2026-01-08  A signs up, referrer RS1
      A2  S1  2026-01-12  RS1 sells 23.95                   RS1 1.92, DE1 0.72, DI1 0.24
                                                            (R1 is level 3: no rate)
      A3      2026-01-15  B signs up, referrer A
      A4  S2  2026-01-20  RS1 sells to A: rice 3 x 6.70,    rice: RS1 1.00, DE1 0.40;
                          oil 4.15 + 8.35                   oil: RS1 1.00, DE1 0.38,
                                                            DI1 0.12; RS1 5.00 + 0.33
      B1      2026-01-25  C signs up, referrer B
      A5  S3  2026-02-05  RS1 sells 13.50 to B              RS1 1.08, DE1 0.40, DI1 0.14;
                                                            A 5.00 + 0.14
      B2  S9  2026-02-10  RS2 (under DE1) sells 21.00       RS2 1.68, DE1 0.63, DI1 0.21;
                                                            override RS1 0.10
      B3  S10 2026-02-20  RS2 (under DE2) sells 2 x 21.50   RS2 3.44, DE2 1.29, DI1 0.43;
                          to C                              override RS1 0.22;
                                                            B 5.00 + 0.43
      B4  R1  2026-02-25  refund 21.50 of S10 (half)        back 1.72, 0.64, 0.22, 0.11,
                                                            0.22 (bonus kept)
      B5  R2  2026-03-03  refund 21.50 of S10 (completes)   back 1.72, 0.65, 0.21, 0.11,
                                                            0.21 and the 5.00 bonus
      A6  S4  2026-03-10  RS1 sells 56.78 (DE1 suspended)   RS1 4.54, DI1 1.70, R1 0.57
      A7  S5  2026-03-14  RS1 sells 99.99 (P1)              RS1 8.00, DE1 3.00, DI1 1.00
      A8  S6  2026-03-16  RS1 sells 99.99 (P2, cap binds)   RS1 10.00, DE1 5.00
      A9  S7  2026-04-08  RS1 sells 20.00 to B              RS1 2.00, DE1 1.00; A 0.20
          -- 2026-04 is closed on 2026-05-02 --
      A10 S8  2026-04-28  RS1 sells 30.00 to B, synced on   RS1 3.00, DE1 1.50; A 0.30,
                          2026-05-03                        all in 2026-05, from 2026-04

    Balances (hand sums in test_balances): RS1 37.97, DE1 13.03, DI1 3.41,
    R1 0.57, RS2 1.68, DE2 0.00, A 5.64, B 0.00; HQ commission expense
    -51.33, HQ referral expense -10.97; 50 transfers.

    The tree is changed as HQ would change it, through dn_registry, at its
    place in the timeline: RS2 is added with its recruiter and joining
    date; its move (effective 2026-02-15) is recorded while SHOP-B is
    offline, so its sale of the 10th reaches the server after the move;
    DE1 is suspended and resumed "now" on the 5th and the 12th of March
    while SHOP-A is offline, so S4 and S5 arrive after both.  Each sale is
    thus posted with the tree as it stood at its own time, not on arrival.

    Then: statements (opening, closing, rows) of RS1, DE2 and member B over
    two months each; verify passes; every batch sent again changes
    nothing; a payout within RS1's balance is recorded and one a fen above
    what is left is refused, as is a second payout with the same reference.
    On copies of the file, verify must fail and name what changed: a
    transfer's amount (triggers dropped), one byte of one event, and a sale
    posted twice.

    Then HQ's corrections (see "corrections" below): a sale of three
    levels, an override and a referral, refunded by a third, is voided;
    a refund after the void posts nothing; the reports count the void as
    a refund; three manual adjustments; statements; finding a sale by a
    prefix of its id; verify, and verify of a correction changed, deleted
    or re-worded behind the ledger's back; the rollups rebuilt.

    Last, the guard rails of issue 10: May cannot close before the server's
    clock reaches 2026-06-01T00:00:00.000Z and closes at that millisecond;
    a plan version set for June and retired before any June sale leaves a
    June sale to P2 (and verify agrees), while P2, which sales were posted
    under, cannot be retired.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_tree.h"
#include "dn_report.h"
#include "dn_rollup.h"
#include "dn_test_site.h"
#include "dn_time.h"
#include "dn_verify.h"
#include "dn_wire.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define PHONE_A "+8613800000001"
#define PHONE_B "+8613800000002"
#define PHONE_C "+8613800000003"

#define MAX_BATCHES 16

static const char s_plan1[] = "[plan]\n"
                              "effective = 2026-01-01\n"
                              "currency = CNY\n"
                              "cap_bps = 1500\n"
                              "\n"
                              "[levels]\n"
                              "0 = 800\n"
                              "1 = 300\n"
                              "2 = 100\n"
                              "\n"
                              "[category:rice]\n"
                              "0 = 500\n"
                              "1 = 200\n"
                              "\n"
                              "[referral]\n"
                              "first_purchase_bonus = 5.00\n"
                              "purchase_bps = 100\n"
                              "purchase_days = 365\n"
                              "recruit_override_bps = 50\n"
                              "recruit_override_days = 365\n";

static const char s_plan2[] = "[plan]\n"
                              "effective = 2026-03-15\n"
                              "currency = CNY\n"
                              "cap_bps = 1500\n"
                              "\n"
                              "[levels]\n"
                              "0 = 1000\n"
                              "1 = 600\n"
                              "2 = 400\n"
                              "\n"
                              "[referral]\n"
                              "first_purchase_bonus = 5.00\n"
                              "purchase_bps = 100\n"
                              "purchase_days = 365\n"
                              "recruit_override_bps = 50\n"
                              "recruit_override_days = 365\n";

/*  The events whose transfers are checked, by name.  */
enum { S1, S2, S3, S4, S5, S6, S7, S8, S9, S10, R1, R2, S11, R3, R4, S12, N_TRACKED };

enum { SHOP_A, SHOP_B, SHOP_C, N_SITES }; /* SHOP_C: the corrections and the rules tests */

/*  A batch as it was sent, kept to send again.  */
typedef struct {
    int site;
    dn_tk_batch_t tk;
} batch_t;

typedef struct {
    char dir[64];
    char path[128];
    sqlite3 *db;
    dn_ingest_t *ingest;
    dn_tk_site_t *sites[N_SITES]; /* each as its agent would be */
    batch_t batches[MAX_BATCHES];
    size_t n_batches;
    uint8_t ids[N_TRACKED][DN_ID_BYTES]; /* event ids of the tracked events */
    int64_t april_closed_ms;
} fixture_t;

/* -- small helpers ------------------------------------------------------------ */

/*  UTC milliseconds of a date at an hour.  */
static int64_t s_at(const char *date, int hour)
{
    int64_t ms = 0;
    assert_int_equal(dn_time_parse_date(date, &ms), 0);
    return ms + (int64_t)hour * 3600 * 1000;
}

static int64_t s_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t v;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static void s_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        print_error("SQL failed: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
}

/*  The balance of an account by name; 0 when the account does not exist.  */
static int64_t s_balance(sqlite3 *db, const char *name)
{
    sqlite3_stmt *stmt;
    int64_t v = 0;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT balance FROM accounts WHERE name = ?",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static int64_t s_eid(sqlite3 *db, const uint8_t id[DN_ID_BYTES])
{
    sqlite3_stmt *stmt;
    int64_t eid = 0;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT eid FROM events WHERE id = ?", -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, id, DN_ID_BYTES, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    eid = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return eid;
}

/* -- the tree, written as HQ would (see the banner for the SQL parts) -------- */

static void s_partner(sqlite3 *db, const char *code, const char *kind, const char *parent,
                      int64_t now)
{
    char why[256] = "";
    int rc = dn_registry_partner_add(db, code, code, kind, parent, now, why, sizeof why);
    if (rc)
        print_error("partner add %s: %s\n", code, why);
    assert_int_equal(rc, 0);
}

/*  partner add CODE ... --recruiter RECRUITER, joined at joined_ms.  */
static void s_recruited(sqlite3 *db, const char *code, const char *kind,
                        const char *parent, const char *recruiter, int64_t joined_ms,
                        int64_t now)
{
    char why[256] = "";
    int rc = dn_registry_partner_add_recruited(db, code, code, kind, parent, recruiter,
                                               joined_ms, now, why, sizeof why);
    if (rc)
        print_error("partner add %s: %s\n", code, why);
    assert_int_equal(rc, 0);
}

/*  partner move CODE --parent PARENT --effective DATE.  */
static void s_move(sqlite3 *db, const char *code, const char *parent,
                   int64_t effective_ms)
{
    char why[256] = "";
    int rc = dn_tree_move(db, code, parent, effective_ms, why, sizeof why);
    if (rc)
        print_error("partner move %s: %s\n", code, why);
    assert_int_equal(rc, 0);
}

/*  partner suspend / resume CODE, at now.  */
static void s_suspend(sqlite3 *db, const char *code, int suspend, int64_t now)
{
    char why[256] = "";
    int rc = suspend ? dn_tree_suspend(db, code, now, why, sizeof why)
                     : dn_tree_resume(db, code, now, why, sizeof why);
    if (rc)
        print_error("partner %s %s: %s\n", suspend ? "suspend" : "resume", code, why);
    assert_int_equal(rc, 0);
}

static void s_plan(sqlite3 *db, const char *text, int64_t now)
{
    dn_plan_t plan;
    char why[256] = "";
    int rc = dn_plan_set(db, text, now, &plan, why, sizeof why);
    if (rc)
        print_error("plan set: %s\n", why);
    assert_int_equal(rc, 0);
}

/*  site add CODE --partner PARTNER, then the agent enrolls with a fresh
    Ed25519 key and an arbitrary CURVE key.  */
static void s_enroll(fixture_t *fx, int which, const char *code, const char *partner,
                     uint8_t curve_fill, int64_t now)
{
    fx->sites[which] = dn_test_site_enroll(fx->db, code, partner, curve_fill, now);
    assert_true(fx->sites[which]->reg.enrolled);
}

/* -- events, as an agent records them ----------------------------------------- */

static void s_sale(fixture_t *fx, int which, int64_t at, const char *seller,
                   const char *phone, const dn_tk_line_t *lines, size_t n, int track)
{
    dn_tk_event_t e;
    assert_int_equal(
        dn_tk_sale(&e, seller, DEALERNET__CHANNEL__CHANNEL_STORE, phone, lines, n), 0);
    dn_test_site_record(fx->sites[which], &e.ev, at, fx->ids[track]);
}

/*  A refund of a tracked sale: by one line (sku, quantity) or, with sku
    NULL, by amount only.  */
static void s_refund(fixture_t *fx, int which, int64_t at, int sale, int64_t amount,
                     const char *sku, int64_t quantity, int track)
{
    dn_tk_event_t e;
    dn_tk_refund(&e, fx->ids[sale], amount, sku, quantity);
    dn_test_site_record(fx->sites[which], &e.ev, at, fx->ids[track]);
}

static void s_signup(fixture_t *fx, int which, int64_t at, const char *phone,
                     const char *name, const char *ref_phone, const char *ref_partner)
{
    dn_tk_event_t e;
    assert_int_equal(dn_tk_signup(&e, at, phone, name, ref_phone, ref_partner), 0);
    dn_test_site_record(fx->sites[which], &e.ev, at, NULL);
}

/*  Applies one batch through the real ingest path, in its own BEGIN
    IMMEDIATE / COMMIT.  Returns dn_ingest_batch's code (or a failed
    COMMIT's); on refusal rolls back.  */
static int s_apply(fixture_t *fx, const batch_t *b, int64_t now, dn_ingest_result_t *r)
{
    return dn_tk_ingest(fx->db, fx->ingest, &fx->sites[b->site]->reg, &b->tk, now, r);
}

/*  Syncs what a site has pending as one signed batch at time now.  */
static void s_sync(fixture_t *fx, int which, int64_t now)
{
    dn_tk_site_t *s = fx->sites[which];
    batch_t *b;
    dn_ingest_result_t r;
    int rc;

    assert_true(s->n_pending > 0);
    assert_true(fx->n_batches < MAX_BATCHES);
    b = &fx->batches[fx->n_batches++];
    b->site = which;
    assert_int_equal(dn_tk_batch(s, &b->tk), 0);

    rc = s_apply(fx, b, now, &r);
    if (rc)
        print_error("batch %s %llu..%llu refused: %s\n", s->code,
                    (unsigned long long)b->tk.first_seq, (unsigned long long)s->seq,
                    r.why);
    assert_int_equal(rc, 0);
    assert_int_equal(r.applied, (int)b->tk.n);
    assert_int_equal(r.skipped, 0);
    assert_int_equal(r.acked_through, s->seq);
}

/* -- the scenario --------------------------------------------------------------- */

static int s_group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    int64_t setup = s_at("2025-12-15", 9);
    char why[256] = "";

    assert_non_null(fx);
    *state = fx;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_ledger.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/%s", fx->dir, DN_CENTRAL_DB_FILE);
    assert_int_equal(dn_central_open(fx->dir, DN_DB_CREATE, &fx->db), 0);
    fx->ingest = dn_ingest_new(fx->db);
    assert_non_null(fx->ingest);

    s_partner(fx->db, "HQ", "hq", NULL, setup);
    s_partner(fx->db, "R1", "region", "HQ", setup);
    s_partner(fx->db, "DI1", "distributor", "R1", setup);
    s_partner(fx->db, "DE1", "dealer", "DI1", setup);
    s_partner(fx->db, "RS1", "reseller", "DE1", setup);
    s_partner(fx->db, "DE2", "dealer", "DI1", setup);
    s_recruited(fx->db, "RS2", "reseller", "DE1", "RS1", s_at("2026-01-05", 0), setup);

    /* Both plan versions before any sale: a plan may not start at or
       before a sale the server holds.  */
    s_plan(fx->db, s_plan1, setup);
    s_plan(fx->db, s_plan2, setup + 1000);

    s_enroll(fx, SHOP_A, "SHOP-A", "RS1", 0x10, setup);
    s_enroll(fx, SHOP_B, "SHOP-B", "DI1", 0x60, setup); /* RS2 sells there under DE1, then DE2 */

    {
        static const dn_tk_line_t s1[] = {{"TEA-250", 1, 2395, "tea"}};
        static const dn_tk_line_t s2[] = {{"RICE-5KG", 3, 670, "rice"},
                                          {"OIL-1L", 1, 415, "oil"},
                                          {"OIL-2L", 1, 835, "oil"}};
        static const dn_tk_line_t s3[] = {{"SOAP-6", 1, 1350, NULL}};
        static const dn_tk_line_t s9[] = {{"NOODLE-1", 3, 700, NULL}};
        static const dn_tk_line_t s10[] = {{"OIL-5L", 2, 2150, "oil"}};
        static const dn_tk_line_t s4[] = {{"TEA-1KG", 1, 5678, "tea"}};
        static const dn_tk_line_t s5[] = {{"GIFT-BOX", 1, 9999, NULL}};
        static const dn_tk_line_t s7[] = {{"SOAP-6", 1, 2000, NULL}};
        static const dn_tk_line_t s8[] = {{"SOAP-6", 1, 3000, NULL}};

        s_signup(fx, SHOP_A, s_at("2026-01-08", 10), PHONE_A, "A", NULL, "RS1");
        s_sale(fx, SHOP_A, s_at("2026-01-12", 10), "RS1", NULL, s1, N_OF(s1), S1);
        s_sync(fx, SHOP_A, s_at("2026-01-12", 12));

        s_signup(fx, SHOP_A, s_at("2026-01-15", 10), PHONE_B, "B", PHONE_A, NULL);
        s_sale(fx, SHOP_A, s_at("2026-01-20", 10), "RS1", PHONE_A, s2, N_OF(s2), S2);
        s_sync(fx, SHOP_A, s_at("2026-01-20", 12));

        s_signup(fx, SHOP_B, s_at("2026-01-25", 10), PHONE_C, "C", PHONE_B, NULL);
        s_sync(fx, SHOP_B, s_at("2026-01-25", 12));

        s_sale(fx, SHOP_A, s_at("2026-02-05", 10), "RS1", PHONE_B, s3, N_OF(s3), S3);
        s_sync(fx, SHOP_A, s_at("2026-02-10", 12));
        /* SHOP-B is offline from the 10th to the 25th: the server learns of
           S9 only after HQ recorded RS2's move to DE2 from the 15th, and
           must still pay DE1, RS2's upline on the 10th.  */
        s_sale(fx, SHOP_B, s_at("2026-02-10", 10), "RS2", NULL, s9, N_OF(s9), S9);
        s_move(fx->db, "RS2", "DE2", s_at("2026-02-15", 0));
        dn_ingest_forget(fx->ingest); /* as the server does after an admin command */
        s_sale(fx, SHOP_B, s_at("2026-02-20", 10), "RS2", PHONE_C, s10, N_OF(s10), S10);
        s_refund(fx, SHOP_B, s_at("2026-02-25", 10), S10, 2150, "OIL-5L", 1, R1);
        s_sync(fx, SHOP_B, s_at("2026-02-25", 12));

        s_refund(fx, SHOP_B, s_at("2026-03-03", 10), S10, 2150, NULL, 0, R2);
        s_sync(fx, SHOP_B, s_at("2026-03-04", 12));

        /* DE1 is suspended on 2026-03-05 and resumed on 2026-03-12.  */
        s_suspend(fx->db, "DE1", 1, s_at("2026-03-05", 9));
        s_suspend(fx->db, "DE1", 0, s_at("2026-03-12", 9));
        dn_ingest_forget(fx->ingest);
        s_sale(fx, SHOP_A, s_at("2026-03-10", 10), "RS1", NULL, s4, N_OF(s4), S4);
        s_sale(fx, SHOP_A, s_at("2026-03-14", 10), "RS1", NULL, s5, N_OF(s5), S5);
        s_sale(fx, SHOP_A, s_at("2026-03-16", 10), "RS1", NULL, s5, N_OF(s5), S6);
        s_sync(fx, SHOP_A, s_at("2026-03-16", 12));

        s_sale(fx, SHOP_A, s_at("2026-04-08", 10), "RS1", PHONE_B, s7, N_OF(s7), S7);
        s_sync(fx, SHOP_A, s_at("2026-04-08", 12));

        /* Recorded in April, offline until after April is closed.  */
        s_sale(fx, SHOP_A, s_at("2026-04-28", 10), "RS1", PHONE_B, s8, N_OF(s8), S8);
        fx->april_closed_ms = s_at("2026-05-02", 0);
        assert_int_equal(dn_ledger_period_close(fx->db, "2026-04", "hq",
                                                fx->april_closed_ms, why, sizeof why),
                         0);
        dn_ingest_forget(fx->ingest);
        s_sync(fx, SHOP_A, s_at("2026-05-03", 12));
    }
    return 0;
}

static int s_group_teardown(void **state)
{
    fixture_t *fx = *state;
    int rc = 0;
    if (!fx)
        return 0;
    dn_ingest_destroy(&fx->ingest);
    if (fx->db && sqlite3_close(fx->db) != SQLITE_OK)
        rc = -1;
    for (size_t i = 0; i < fx->n_batches; i++)
        dn_tk_batch_free(&fx->batches[i].tk);
    for (int i = 0; i < N_SITES; i++)
        dn_tk_site_destroy(&fx->sites[i]);
    if (fx->dir[0] && dn_tk_remove_tree(fx->dir) != 0)
        rc = -1;
    free(fx);
    return rc;
}

/* -- comparing transfers -------------------------------------------------------- */

/*  One expected transfer.  level / rate -1: none; category "": none;
    event_period "": not late.  */
typedef struct {
    const char *code;
    const char *debit;
    const char *credit;
    int64_t amount;
    int level;
    int rate;
    const char *category;
    int bonus;
    const char *period;
    const char *event_period;
} xfer_t;

#define HQC   "hq:commission"
#define HQR   "hq:referral"
#define MEM_A "member:" PHONE_A
#define MEM_B "member:" PHONE_B

/*  Compares the transfers posted for one event (by source event), in any
    order, with the expected ones, and checks that they derive from sale.  */
static void s_check(fixture_t *fx, int event, int sale, const xfer_t *want, size_t n)
{
    sqlite3_stmt *stmt;
    int used[32] = {0};
    size_t got = 0;
    int bad = 0;
    int64_t sale_eid = s_eid(fx->db, fx->ids[sale]);

    assert_true(n <= N_OF(used));
    assert_int_equal(
        sqlite3_prepare_v2(
            fx->db,
            "SELECT t.code, d.name, c.name, t.amount, coalesce(t.level, -1), "
            "coalesce(t.rate_bps, -1), coalesce(t.category, ''), t.bonus, "
            "t.period, coalesce(t.event_period, ''), t.sale_eid, t.id "
            "FROM transfers t JOIN accounts d ON d.id = t.debit "
            "JOIN accounts c ON c.id = t.credit WHERE t.source_eid = ? "
            "ORDER BY t.id",
            -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, s_eid(fx->db, fx->ids[event]));
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(stmt, 0);
        const char *debit = (const char *)sqlite3_column_text(stmt, 1);
        const char *credit = (const char *)sqlite3_column_text(stmt, 2);
        int64_t amount = sqlite3_column_int64(stmt, 3);
        int level = sqlite3_column_int(stmt, 4), rate = sqlite3_column_int(stmt, 5);
        const char *category = (const char *)sqlite3_column_text(stmt, 6);
        int bonus = sqlite3_column_int(stmt, 7);
        const char *period = (const char *)sqlite3_column_text(stmt, 8);
        const char *event_period = (const char *)sqlite3_column_text(stmt, 9);
        size_t i;
        got++;
        for (i = 0; i < n; i++) {
            const xfer_t *w = &want[i];
            if (!used[i] && strcmp(w->code, code) == 0 && strcmp(w->debit, debit) == 0 &&
                strcmp(w->credit, credit) == 0 && w->amount == amount &&
                w->level == level && w->rate == rate &&
                strcmp(w->category, category) == 0 && w->bonus == bonus &&
                strcmp(w->period, period) == 0 &&
                strcmp(w->event_period, event_period) == 0)
                break;
        }
        if (i == n) {
            print_error("unexpected transfer %lld: %s %s -> %s %lld level %d rate %d "
                        "category '%s' bonus %d period %s event_period '%s'\n",
                        (long long)sqlite3_column_int64(stmt, 11), code, debit, credit,
                        (long long)amount, level, rate, category, bonus, period,
                        event_period);
            bad = 1;
        } else {
            used[i] = 1;
        }
        if (sqlite3_column_int64(stmt, 10) != sale_eid) {
            print_error("transfer %lld: sale_eid %lld, expected %lld\n",
                        (long long)sqlite3_column_int64(stmt, 11),
                        (long long)sqlite3_column_int64(stmt, 10), (long long)sale_eid);
            bad = 1;
        }
    }
    sqlite3_finalize(stmt);
    for (size_t i = 0; i < n; i++)
        if (!used[i]) {
            print_error(
                "missing transfer: %s %s -> %s %lld level %d rate %d category '%s' "
                "bonus %d period %s\n",
                want[i].code, want[i].debit, want[i].credit, (long long)want[i].amount,
                want[i].level, want[i].rate, want[i].category, want[i].bonus,
                want[i].period);
            bad = 1;
        }
    assert_int_equal(got, n);
    assert_false(bad);
}

/* -- commissions ------------------------------------------------------------------ */

/*  A plain sale: levels 0, 1, 2 paid 8% / 3% / 1%; R1 at level 3 gets
    nothing (P1 has no level-3 rate), HQ never earns.  */
static void test_plain_sale(void **state)
{
    static const xfer_t want[] = {
        {"commission", HQC, "partner:RS1", 192 /* 23.95 x 8% = 1.916 -> 1.92 */, 0, 800,
         "", 0, "2026-01", ""},
        {"commission", HQC, "partner:DE1", 72 /* 23.95 x 3% = 0.7185 -> 0.72 */, 1, 300,
         "", 0, "2026-01", ""},
        {"commission", HQC, "partner:DI1", 24 /* 23.95 x 1% = 0.2395 -> 0.24 */, 2, 100,
         "", 0, "2026-01", ""},
    };
    fixture_t *fx = *state;
    s_check(fx, S1, S1, want, N_OF(want));
}

/*  A category override and half-even rounding.  Rice lines (3 x 6.70 =
    20.10) are paid by [category:rice] (5% / 2%, nothing at level 2); the
    two oil lines (4.15 + 8.35 = 12.50) by [levels], summed before the
    rate is applied.  Member A's first purchase: A was referred by partner
    RS1, whose commission account gets the bonus and 1%.  */
static void test_category_override(void **state)
{
    static const xfer_t want[] = {
        /* 20.10 x 5% = 1.005 -> 1.00: an exact half goes to the even fen (down) */
        {"commission", HQC, "partner:RS1", 100, 0, 500, "rice", 0, "2026-01", ""},
        {"commission", HQC, "partner:DE1", 40 /* 20.10 x 2% = 0.402 -> 0.40 */, 1, 200,
         "rice", 0, "2026-01", ""},
        /* rice has no level 2: DI1 gets nothing for the rice line */
        {"commission", HQC, "partner:RS1", 100 /* 12.50 x 8% = 1.00 */, 0, 800, "", 0,
         "2026-01", ""},
        /* 12.50 x 3% = 0.375 -> 0.38: half to even, up (line by line it would
           be 0.1245 + 0.2505 -> 0.12 + 0.25 = 0.37) */
        {"commission", HQC, "partner:DE1", 38, 1, 300, "", 0, "2026-01", ""},
        /* 12.50 x 1% = 0.125 -> 0.12: half to even, down */
        {"commission", HQC, "partner:DI1", 12, 2, 100, "", 0, "2026-01", ""},
        /* A's first purchase: bonus 5.00 to the referring partner RS1 */
        {"referral", HQR, "partner:RS1", 500, -1, -1, "", 1, "2026-01", ""},
        /* 32.60 x 1% = 0.326 -> 0.33 */
        {"referral", HQR, "partner:RS1", 33, -1, 100, "", 0, "2026-01", ""},
    };
    fixture_t *fx = *state;
    s_check(fx, S2, S2, want, N_OF(want));
}

/*  DE1 is suspended on 2026-03-10: RS1 is level 0, DI1 takes level 1 and
    R1 level 2 (compression).  Resumed on 2026-03-12, DE1 earns again on
    the 14th.  */
static void test_suspended_partner(void **state)
{
    static const xfer_t during[] = {
        {"commission", HQC, "partner:RS1", 454 /* 56.78 x 8% = 4.5424 -> 4.54 */, 0, 800,
         "", 0, "2026-03", ""},
        {"commission", HQC, "partner:DI1", 170 /* 56.78 x 3% = 1.7034 -> 1.70 */, 1, 300,
         "", 0, "2026-03", ""},
        {"commission", HQC, "partner:R1", 57 /* 56.78 x 1% = 0.5678 -> 0.57 */, 2, 100,
         "", 0, "2026-03", ""},
    };
    static const xfer_t after[] = {
        {"commission", HQC, "partner:RS1", 800 /* 99.99 x 8% = 7.9992 -> 8.00 */, 0, 800,
         "", 0, "2026-03", ""},
        {"commission", HQC, "partner:DE1", 300 /* 99.99 x 3% = 2.9997 -> 3.00 */, 1, 300,
         "", 0, "2026-03", ""},
        {"commission", HQC, "partner:DI1", 100 /* 99.99 x 1% = 0.9999 -> 1.00 */, 2, 100,
         "", 0, "2026-03", ""},
    };
    fixture_t *fx = *state;
    s_check(fx, S4, S4, during, N_OF(during));
    s_check(fx, S5, S5, after, N_OF(after));
}

/*  The plan changes on 2026-03-15: the same 99.99 sale on the 14th (S5,
    P1, see above) and on the 16th (S6, P2).  Under P2 the cap binds: 1000
    bps at level 0 leaves 500 of the 1500 for level 1 (not its 600) and
    nothing for level 2 (not its 400).  */
static void test_plan_change_and_cap(void **state)
{
    static const xfer_t want[] = {
        {"commission", HQC, "partner:RS1", 1000 /* 99.99 x 10% = 9.999 -> 10.00 */, 0,
         1000, "", 0, "2026-03", ""},
        /* 600 capped to 1500 - 1000 = 500: 99.99 x 5% = 4.9995 -> 5.00 */
        {"commission", HQC, "partner:DE1", 500, 1, 500, "", 0, "2026-03", ""},
        /* DI1 at level 2: the cap is used up, nothing */
    };
    fixture_t *fx = *state;
    s_check(fx, S6, S6, want, N_OF(want));
}

/*  RS2 moves from DE1 to DE2 on 2026-02-15: its sale of the 10th pays DE1
    at level 1, its sale of the 20th pays DE2.  Both are within 365 days
    of RS2 joining (2026-01-05): RS1, its recruiter, gets 0.5%.  */
static void test_move_and_override(void **state)
{
    static const xfer_t before[] = {
        {"commission", HQC, "partner:RS2", 168 /* 21.00 x 8% = 1.68 */, 0, 800, "", 0,
         "2026-02", ""},
        {"commission", HQC, "partner:DE1", 63 /* 21.00 x 3% = 0.63 */, 1, 300, "", 0,
         "2026-02", ""},
        {"commission", HQC, "partner:DI1", 21 /* 21.00 x 1% = 0.21 */, 2, 100, "", 0,
         "2026-02", ""},
        /* 21.00 x 0.5% = 0.105 -> 0.10: half to even, down */
        {"override", HQC, "partner:RS1", 10, -1, 50, "", 0, "2026-02", ""},
    };
    static const xfer_t after[] = {
        {"commission", HQC, "partner:RS2", 344 /* 43.00 x 8% = 3.44 */, 0, 800, "", 0,
         "2026-02", ""},
        {"commission", HQC, "partner:DE2", 129 /* 43.00 x 3% = 1.29 */, 1, 300, "", 0,
         "2026-02", ""},
        {"commission", HQC, "partner:DI1", 43 /* 43.00 x 1% = 0.43 */, 2, 100, "", 0,
         "2026-02", ""},
        /* 43.00 x 0.5% = 0.215 -> 0.22: half to even, up */
        {"override", HQC, "partner:RS1", 22, -1, 50, "", 0, "2026-02", ""},
        /* C's first purchase: C was referred by B */
        {"referral", HQR, MEM_B, 500 /* bonus 5.00 */, -1, -1, "", 1, "2026-02", ""},
        {"referral", HQR, MEM_B, 43 /* 43.00 x 1% = 0.43 */, -1, 100, "", 0, "2026-02",
         ""},
    };
    fixture_t *fx = *state;
    s_check(fx, S9, S9, before, N_OF(before));
    s_check(fx, S10, S10, after, N_OF(after));
}

/*  The referral chain RS1 -> A -> B -> C: B's first purchase (S3) pays A
    the bonus and 1%; B's later purchases (S7, and S8 below) pay A 1%
    only; C's first purchase (S10) pays B (see test_move_and_override).  */
static void test_referral_chain(void **state)
{
    static const xfer_t first[] = {
        {"commission", HQC, "partner:RS1", 108 /* 13.50 x 8% = 1.08 */, 0, 800, "", 0,
         "2026-02", ""},
        /* 13.50 x 3% = 0.405 -> 0.40: half to even, down */
        {"commission", HQC, "partner:DE1", 40, 1, 300, "", 0, "2026-02", ""},
        /* 13.50 x 1% = 0.135 -> 0.14: half to even, up */
        {"commission", HQC, "partner:DI1", 14, 2, 100, "", 0, "2026-02", ""},
        {"referral", HQR, MEM_A, 500 /* B's first purchase: bonus 5.00 */, -1, -1, "", 1,
         "2026-02", ""},
        {"referral", HQR, MEM_A, 14 /* 13.50 x 1% = 0.135 -> 0.14 */, -1, 100, "", 0,
         "2026-02", ""},
    };
    static const xfer_t again[] = {
        {"commission", HQC, "partner:RS1", 200 /* P2: 20.00 x 10% = 2.00 */, 0, 1000, "",
         0, "2026-04", ""},
        {"commission", HQC, "partner:DE1", 100 /* 20.00 x 5% (capped) = 1.00 */, 1, 500,
         "", 0, "2026-04", ""},
        {"referral", HQR, MEM_A, 20 /* not first: 20.00 x 1% = 0.20, no bonus */, -1, 100,
         "", 0, "2026-04", ""},
    };
    fixture_t *fx = *state;
    s_check(fx, S3, S3, first, N_OF(first));
    s_check(fx, S7, S7, again, N_OF(again));
    /* C referred nobody: C has no account */
    assert_int_equal(
        s_int(fx->db, "SELECT count(*) FROM accounts WHERE name = 'member:" PHONE_C "'"),
        0);
}

/*  S10 (43.00) refunded 21.50 then 21.50.  The partial refund takes back
    half of each transfer, half-even, and keeps the first-purchase bonus;
    the completing refund takes back exactly what is left, bonus
    included -- which differs from "half again" wherever half was an odd
    number of half-fen.  */
static void test_refunds(void **state)
{
    static const xfer_t partial[] = {
        {"clawback", "partner:RS2", HQC, 172 /* 3.44 x 21.50 / 43.00 = 1.72 */, 0, 800,
         "", 0, "2026-02", ""},
        /* 1.29 / 2 = 0.645 -> 0.64: half to even, down */
        {"clawback", "partner:DE2", HQC, 64, 1, 300, "", 0, "2026-02", ""},
        /* 0.43 / 2 = 0.215 -> 0.22: half to even, up */
        {"clawback", "partner:DI1", HQC, 22, 2, 100, "", 0, "2026-02", ""},
        {"clawback", "partner:RS1", HQC, 11 /* 0.22 / 2 = 0.11 */, -1, 50, "", 0,
         "2026-02", ""},
        {"clawback", MEM_B, HQR, 22 /* 0.43 / 2 = 0.215 -> 0.22 */, -1, 100, "", 0,
         "2026-02", ""},
        /* the 5.00 bonus stays: the sale is not fully refunded */
    };
    static const xfer_t completing[] = {
        {"clawback", "partner:RS2", HQC, 172 /* 3.44 - 1.72 */, 0, 800, "", 0, "2026-03",
         ""},
        /* 1.29 - 0.64 = 0.65 (half again would be 0.64) */
        {"clawback", "partner:DE2", HQC, 65, 1, 300, "", 0, "2026-03", ""},
        /* 0.43 - 0.22 = 0.21 (half again would be 0.22) */
        {"clawback", "partner:DI1", HQC, 21, 2, 100, "", 0, "2026-03", ""},
        {"clawback", "partner:RS1", HQC, 11 /* 0.22 - 0.11 */, -1, 50, "", 0, "2026-03",
         ""},
        {"clawback", MEM_B, HQR, 21 /* 0.43 - 0.22 */, -1, 100, "", 0, "2026-03", ""},
        {"clawback", MEM_B, HQR, 500 /* the bonus, with the completing refund */, -1, -1,
         "", 1, "2026-03", ""},
    };
    fixture_t *fx = *state;
    int64_t sale = s_eid(fx->db, fx->ids[S10]);
    char sql[512];

    s_check(fx, R1, S10, partial, N_OF(partial));
    s_check(fx, R2, S10, completing, N_OF(completing));

    /* Every clawback names the transfer it reverses, with the accounts
       swapped; nothing of S10 is left: clawbacks = what was paid.  */
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM transfers c JOIN transfers o ON o.id = c.reverses "
        "WHERE c.sale_eid = %lld AND c.code = 'clawback' AND o.sale_eid = c.sale_eid "
        "AND o.debit = c.credit AND o.credit = c.debit",
        (long long)sale);
    assert_int_equal(s_int(fx->db, sql), 11);
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM transfers o WHERE o.sale_eid = %lld AND o.reverses IS NULL "
        "AND o.amount != (SELECT coalesce(sum(c.amount), 0) FROM transfers c "
        "WHERE c.reverses = o.id)",
        (long long)sale);
    assert_int_equal(s_int(fx->db, sql), 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM transfers WHERE sale_eid = %lld AND reverses IS NULL",
             (long long)sale);
    assert_int_equal(s_int(fx->db, sql), 6);
}

/*  S8, recorded 2026-04-28, reaches the server after 2026-04 was closed:
    its transfers go into 2026-05 and say they belong to 2026-04; the
    closed month received nothing after it closed.  */
static void test_late_sale(void **state)
{
    static const xfer_t want[] = {
        {"commission", HQC, "partner:RS1", 300 /* P2: 30.00 x 10% = 3.00 */, 0, 1000, "",
         0, "2026-05", "2026-04"},
        {"commission", HQC, "partner:DE1", 150 /* 30.00 x 5% (capped) = 1.50 */, 1, 500,
         "", 0, "2026-05", "2026-04"},
        {"referral", HQR, MEM_A, 30 /* B's purchase: 30.00 x 1% = 0.30 */, -1, 100, "", 0,
         "2026-05", "2026-04"},
    };
    fixture_t *fx = *state;
    char why[256] = "";
    char sql[256];

    s_check(fx, S8, S8, want, N_OF(want));
    /* 2026-04 holds only S7's three transfers, all posted before it closed */
    assert_int_equal(
        s_int(fx->db, "SELECT count(*) FROM transfers WHERE period = '2026-04'"), 3);
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM transfers WHERE period = '2026-04' AND created_ms > %lld",
        (long long)fx->april_closed_ms);
    assert_int_equal(s_int(fx->db, sql), 0);
    assert_int_equal(
        s_int(fx->db, "SELECT count(*) FROM transfers WHERE event_period IS NOT NULL"),
        3);
    /* a month closes once */
    assert_int_equal(dn_ledger_period_close(fx->db, "2026-04", "hq",
                                            fx->april_closed_ms + 1, why, sizeof why),
                     DN_EEXIST);
}

/* -- balances --------------------------------------------------------------------- */

static void test_balances(void **state)
{
    fixture_t *fx = *state;

    /* RS1: S1 1.92; S2 1.00 + 1.00 + 5.00 + 0.33 = 7.33; S3 1.08;
       overrides 0.10 + 0.22 - 0.11 - 0.11 = 0.10; S4 4.54; S5 8.00;
       S6 10.00; S7 2.00; S8 3.00.
       1.92 + 7.33 + 1.08 + 0.10 + 4.54 + 8.00 + 10.00 + 2.00 + 3.00 = 37.97 */
    assert_int_equal(s_balance(fx->db, "partner:RS1"), 3797);
    /* DE1: 0.72 + (0.40 + 0.38) + 0.40 + 0.63 + 3.00 + 5.00 + 1.00 + 1.50 = 13.03
       (nothing from S4: suspended) */
    assert_int_equal(s_balance(fx->db, "partner:DE1"), 1303);
    /* DI1: 0.24 + 0.12 + 0.14 + 0.21 + (0.43 - 0.22 - 0.21) + 1.70 + 1.00 = 3.41 */
    assert_int_equal(s_balance(fx->db, "partner:DI1"), 341);
    /* R1: only at level 2 when DE1 was suspended: 0.57 */
    assert_int_equal(s_balance(fx->db, "partner:R1"), 57);
    /* RS2: 1.68 + (3.44 - 1.72 - 1.72) = 1.68 */
    assert_int_equal(s_balance(fx->db, "partner:RS2"), 168);
    /* DE2: 1.29 - 0.64 - 0.65 = 0.00 */
    assert_int_equal(s_balance(fx->db, "partner:DE2"), 0);
    assert_int_equal(
        s_int(fx->db, "SELECT count(*) FROM accounts WHERE name = 'partner:DE2'"), 1);
    /* HQ never earns: no account, nothing credited */
    assert_int_equal(
        s_int(fx->db, "SELECT count(*) FROM accounts WHERE name = 'partner:HQ'"), 0);
    /* A: 5.00 + 0.14 (S3) + 0.20 (S7) + 0.30 (S8) = 5.64 */
    assert_int_equal(s_balance(fx->db, MEM_A), 564);
    /* B: 5.00 + 0.43 - 0.22 - 0.21 - 5.00 = 0.00 */
    assert_int_equal(s_balance(fx->db, MEM_B), 0);
    /* HQ commission expense: commissions S1 2.88 + S2 2.90 + S3 1.62 +
       S9 2.52 + S10 5.16 + S4 6.81 + S5 12.00 + S6 15.00 + S7 3.00 + S8 4.50
       = 56.39, overrides 0.10 + 0.22 = 0.32, less clawbacks 2.69 + 2.69 =
       5.38: 56.39 + 0.32 - 5.38 = 51.33 paid out */
    assert_int_equal(s_balance(fx->db, HQC), -5133);
    /* HQ referral expense: 5.33 (RS1) + 5.14 (A, S3) + 5.43 (B) + 0.20 + 0.30
       - 0.22 - 5.21 = 10.97 */
    assert_int_equal(s_balance(fx->db, HQR), -1097);
    /* 37.97 + 13.03 + 3.41 + 0.57 + 1.68 + 0 + 5.64 + 0 - 51.33 - 10.97 = 0 */
    assert_int_equal(s_int(fx->db, "SELECT sum(balance) FROM accounts"), 0);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM accounts"), 10);
    /* S1 3, S2 7, S3 5, S9 4, S10 6, R1 5, R2 6, S4 3, S5 3, S6 2, S7 3, S8 3 */
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM transfers"), 50);
    /* every balance is its transfers' credits minus debits */
    assert_int_equal(
        s_int(fx->db,
              "SELECT count(*) FROM accounts a WHERE a.balance != "
              "coalesce((SELECT sum(amount) FROM transfers WHERE credit = a.id), 0) - "
              "coalesce((SELECT sum(amount) FROM transfers WHERE debit = a.id), 0)"),
        0);
}

/* -- statements ------------------------------------------------------------------- */

/*  Checks a statement on db: its opening, closing and number of rows, and
    returns it (caller decrefs).  */
static json_t *s_statement_on(sqlite3 *db, const char *partner, const char *phone,
                              const char *period, const char *opening,
                              const char *closing, size_t rows)
{
    json_t *out = NULL;
    char why[256] = "";
    int rc = dn_ledger_statement(db, partner, phone, period, s_at("2026-06-01", 0), &out,
                                 why, sizeof why);
    if (rc)
        print_error("statement: %s\n", why);
    assert_int_equal(rc, 0);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "period")), period);
    assert_string_equal(json_string_value(json_object_get(out, "currency")), "CNY");
    assert_string_equal(json_string_value(json_object_get(out, "opening")), opening);
    assert_string_equal(json_string_value(json_object_get(out, "closing")), closing);
    assert_int_equal(json_array_size(json_object_get(out, "transfers")), rows);
    return out;
}

static json_t *s_statement(fixture_t *fx, const char *partner, const char *phone,
                           const char *period, const char *opening, const char *closing,
                           size_t rows)
{
    return s_statement_on(fx->db, partner, phone, period, opening, closing, rows);
}

static const char *s_row_text(json_t *statement, size_t i, const char *key)
{
    json_t *row = json_array_get(json_object_get(statement, "transfers"), i);
    assert_non_null(row);
    return json_string_value(json_object_get(row, key));
}

static void test_statements(void **state)
{
    fixture_t *fx = *state;
    json_t *st;

    /* RS1, April: opening = January 9.25 (1.92 + 7.33) + February 1.29
       (1.08 + 0.10 + 0.22 - 0.11) + March 22.43 (-0.11 + 4.54 + 8.00 +
       10.00) = 32.97; S7 2.00; closing 34.97 */
    st = s_statement(fx, "RS1", NULL, "2026-04", "32.97", "34.97", 1);
    assert_string_equal(s_row_text(st, 0, "amount"), "2.00");
    json_decref(st);
    /* RS1, May: the late S8 3.00, marked as April's; closing 37.97 */
    st = s_statement(fx, "RS1", NULL, "2026-05", "34.97", "37.97", 1);
    assert_string_equal(s_row_text(st, 0, "amount"), "3.00");
    assert_string_equal(s_row_text(st, 0, "late_from"), "2026-04");
    assert_string_equal(s_row_text(st, 0, "code"), "commission");
    json_decref(st);

    /* DE2, February: S10 at level 1 +1.29, the partial refund -0.64 */
    st = s_statement(fx, "DE2", NULL, "2026-02", "0.00", "0.65", 2);
    assert_string_equal(s_row_text(st, 0, "amount"), "1.29");
    assert_string_equal(s_row_text(st, 1, "amount"), "-0.64");
    assert_string_equal(s_row_text(st, 1, "code"), "clawback");
    json_decref(st);
    /* DE2, March: the completing refund -0.65 */
    st = s_statement(fx, "DE2", NULL, "2026-03", "0.65", "0.00", 1);
    assert_string_equal(s_row_text(st, 0, "amount"), "-0.65");
    json_decref(st);

    /* member B, February: +5.00 bonus, +0.43, -0.22: 5.21 */
    st = s_statement(fx, NULL, "+86 138-0000-0002", "2026-02", "0.00", "5.21", 3);
    assert_string_equal(json_string_value(json_object_get(st, "account")), MEM_B);
    json_decref(st);
    /* member B, March: -0.21 and the bonus -5.00 */
    st = s_statement(fx, NULL, PHONE_B, "2026-03", "5.21", "0.00", 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(st, "totals"), "clawback")),
        "-5.21");
    json_decref(st);
}

/*  A statement whose transfers fail to read half-way is an error, never a
    statement with fewer transfers (and a closing balance that leaves them
    out): member B's February statement (3 transfers: the 5.00 bonus, 0.43,
    -0.22; closing 5.21) cut at every point a run of it can be cut at.  */
static void test_statement_cut(void **state)
{
    fixture_t *fx = *state;
    dn_tk_cut_t cut = {.listing = "t.period = ? ORDER BY t.id"};
    int64_t now = s_at("2026-06-01", 0);
    int calls, at_row[4] = {0};
    json_t *out = NULL;
    char why[256] = "";

    dn_tk_cut_arm(fx->db, &cut, 0);
    assert_int_equal(
        dn_ledger_statement(fx->db, NULL, PHONE_B, "2026-02", now, &out, why, sizeof why),
        0);
    dn_tk_cut_disarm(fx->db);
    assert_int_equal(json_array_size(json_object_get(out, "transfers")), 3);
    assert_string_equal(json_string_value(json_object_get(out, "closing")), "5.21");
    assert_int_equal(cut.rows, 3);
    assert_int_equal(cut.rows_at_stop, -1);
    json_decref(out);
    calls = cut.calls;
    assert_true(calls > 0);

    for (int k = 1; k <= calls; k++) {
        out = NULL;
        dn_tk_cut_arm(fx->db, &cut, k);
        int rc = dn_ledger_statement(fx->db, NULL, PHONE_B, "2026-02", now, &out, why,
                                     sizeof why);
        dn_tk_cut_disarm(fx->db);
        if (rc != DN_EDB)
            print_error("cut at %d of %d (%d rows): %d\n", k, calls, cut.rows_at_stop,
                        rc);
        assert_int_equal(rc, DN_EDB);
        assert_null(out);
        assert_in_range(cut.rows_at_stop, 0, 3); /* the same path up to the cut */
        at_row[cut.rows_at_stop]++;
    }
    /* some cuts fell after the listing's first row and after its second */
    assert_true(at_row[1] > 0);
    assert_true(at_row[2] > 0);
}

/* -- verify, replay, payouts, tampering --------------------------------------------- */

/*  Runs verify on a file; returns its code and sets *out (caller decrefs).  */
static int s_verify(const char *path, json_t **out)
{
    int rc = dn_verify_run(path, out, NULL, 0);
    assert_non_null(*out);
    return rc;
}

/*  1 if a difference of verify contains text.  */
static int s_has_difference(json_t *out, const char *text)
{
    json_t *list = json_object_get(out, "differences");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strstr(json_string_value(json_array_get(list, i)), text))
            return 1;
    return 0;
}

static void s_print_differences(json_t *out)
{
    json_t *list = json_object_get(out, "differences");
    for (size_t i = 0; i < json_array_size(list); i++)
        print_error("difference: %s\n", json_string_value(json_array_get(list, i)));
}

static void test_verify(void **state)
{
    fixture_t *fx = *state;
    json_t *out = NULL;
    int rc = s_verify(fx->path, &out);
    if (rc)
        s_print_differences(out);
    assert_int_equal(rc, 0);
    assert_true(json_is_true(json_object_get(out, "ok")));
    assert_int_equal(json_integer_value(json_object_get(out, "events")), 15); /* 10 + 5 */
    assert_int_equal(json_integer_value(json_object_get(out, "transfers")), 50);
    assert_int_equal(json_integer_value(json_object_get(out, "accounts")), 10);
    assert_int_equal(json_array_size(json_object_get(out, "differences")), 0);
    json_decref(out);
}

/*  Every account's name and balance, and the transfers' count and last
    hash, as one text.  */
static char *s_fingerprint(sqlite3 *db)
{
    sqlite3_stmt *stmt;
    char *text;
    assert_int_equal(
        sqlite3_prepare_v2(
            db,
            "SELECT (SELECT group_concat(name || '=' || balance, ',') FROM "
            "(SELECT name, balance FROM accounts ORDER BY name)) || ';' || "
            "(SELECT count(*) FROM transfers) || ':' || "
            "(SELECT hex(hash) FROM transfers ORDER BY id DESC LIMIT 1) || ';' || "
            "(SELECT count(*) FROM events) || ';' || "
            "(SELECT group_concat(applied_seq, ',') FROM sites)",
            -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    text = strdup((const char *)sqlite3_column_text(stmt, 0));
    assert_non_null(text);
    sqlite3_finalize(stmt);
    return text;
}

static void test_replay(void **state)
{
    fixture_t *fx = *state;
    char *before = s_fingerprint(fx->db), *after;
    int64_t transfers = s_int(fx->db, "SELECT count(*) FROM transfers");

    for (size_t i = 0; i < fx->n_batches; i++) {
        const batch_t *b = &fx->batches[i];
        dn_ingest_result_t r;
        assert_int_equal(s_apply(fx, b, s_at("2026-06-01", 0), &r), 0);
        assert_int_equal(r.applied, 0);
        assert_int_equal(r.skipped, (int)b->tk.n);
        assert_int_equal(r.acked_through, fx->sites[b->site]->seq);
    }
    after = s_fingerprint(fx->db);
    assert_string_equal(after, before);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM transfers"), transfers);
    assert_int_equal(s_balance(fx->db, "partner:RS1"), 3797);
    free(before);
    free(after);
}

static void test_payout(void **state)
{
    fixture_t *fx = *state;
    json_t *out = NULL;
    char why[256] = "";
    int64_t now = s_at("2026-05-10", 9);

    /* 20.00 of RS1's 37.97 */
    assert_int_equal(dn_ledger_payout(fx->db, "RS1", 2000, "BANK-0510-1", "hq", now, &out,
                                      why, sizeof why),
                     0);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "balance")), "17.97");
    assert_string_equal(json_string_value(json_object_get(out, "period")), "2026-05");
    json_decref(out);
    out = NULL;
    assert_int_equal(s_balance(fx->db, "partner:RS1"), 1797); /* 37.97 - 20.00 */
    assert_int_equal(s_balance(fx->db, "hq:payout"), 2000);

    /* a reference holding a zero width space, which would make a second
       record of BANK-0510-1 look like the first: refused, nothing moves */
    assert_int_equal(dn_ledger_payout(fx->db, "RS1", 100, "BANK\xe2\x80\x8b-0510-1", "hq",
                                      now + 1, &out, why, sizeof why),
                     DN_EINVAL);
    assert_null(out);
    assert_string_equal(why, "--ref holds U+200B (zero width space) at character 5: "
                             "invisible characters that can hide or reorder text are "
                             "refused");
    assert_int_equal(s_balance(fx->db, "partner:RS1"), 1797);

    /* 17.98 is one fen above what is left */
    assert_int_equal(dn_ledger_payout(fx->db, "RS1", 1798, "BANK-0510-2", "hq", now + 1,
                                      &out, why, sizeof why),
                     DN_ELIMIT);
    assert_null(out);
    assert_int_equal(s_balance(fx->db, "partner:RS1"), 1797);
    assert_int_equal(s_balance(fx->db, "hq:payout"), 2000);
    assert_int_equal(
        s_int(fx->db, "SELECT count(*) FROM transfers WHERE code = 'payout'"), 1);
    assert_int_equal(s_int(fx->db, "SELECT sum(balance) FROM accounts"), 0);

    /* the same reference again, even for an amount within the balance, is a
       second record of one bank transfer: refused, naming the first (the
       51st transfer), and nothing moves */
    assert_int_equal(dn_ledger_payout(fx->db, "RS1", 100, "BANK-0510-1", "hq", now + 2,
                                      &out, why, sizeof why),
                     DN_EEXIST);
    assert_null(out);
    assert_string_equal(why,
                        "reference 'BANK-0510-1' is already used by payout 51 (20.00 "
                        "CNY to RS1 at 2026-05-10T09:00:00.000Z): each payment is "
                        "recorded once");
    assert_int_equal(dn_exit_code(DN_EEXIST), 73);
    assert_int_equal(s_balance(fx->db, "partner:RS1"), 1797);
    assert_int_equal(
        s_int(fx->db, "SELECT count(*) FROM transfers WHERE code = 'payout'"), 1);
    /* the schema holds the reference too: the refused BANK-0510-2 took none */
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM payout_refs"), 1);
    assert_int_equal(
        s_int(fx->db, "SELECT transfer_id FROM payout_refs WHERE ref = 'BANK-0510-1'"),
        51);
    assert_int_not_equal(sqlite3_exec(fx->db,
                                      "INSERT INTO payout_refs(ref, transfer_id) "
                                      "VALUES ('BANK-0510-1', 50)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);

    /* RS1's May statement now ends with the payout: 34.97 + 3.00 - 20.00 */
    out = s_statement(fx, "RS1", NULL, "2026-05", "34.97", "17.97", 2);
    assert_string_equal(s_row_text(out, 1, "amount"), "-20.00");
    assert_string_equal(s_row_text(out, 1, "ref"), "BANK-0510-1");
    json_decref(out);

    /* the ledger with a payout still verifies */
    out = NULL;
    if (s_verify(fx->path, &out) != 0)
        s_print_differences(out);
    assert_true(json_is_true(json_object_get(out, "ok")));
    assert_int_equal(json_integer_value(json_object_get(out, "transfers")), 51);
    json_decref(out);
}

/*  Copies the fixture's database into dir/name (VACUUM INTO keeps the
    ids); returns the path in path.  */
static void s_copy(fixture_t *fx, const char *name, char *path, size_t size)
{
    char sql[256];
    snprintf(path, size, "%s/%s", fx->dir, name);
    snprintf(sql, sizeof sql, "VACUUM INTO '%s'", path);
    s_exec(fx->db, sql);
}

static void s_remove_copy(const char *path)
{
    char side[256];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/*  (a) One transfer's amount changed behind the ledger's back.  */
static void test_tamper_transfer(void **state)
{
    fixture_t *fx = *state;
    char path[256], sql[256], name[64];
    sqlite3 *db = NULL;
    json_t *out = NULL;
    int64_t id;
    int rc;

    s_copy(fx, "tamper-transfer.db", path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* S1's level-0 transfer (RS1 1.92) */
    snprintf(sql, sizeof sql,
             "SELECT t.id FROM transfers t JOIN events e ON e.eid = t.source_eid "
             "WHERE t.level = 0 AND e.seq = 2 AND e.site_id = %lld",
             (long long)fx->sites[SHOP_A]->reg.id);
    id = s_int(db, sql);
    /* the triggers refuse the change ... */
    snprintf(sql, sizeof sql, "UPDATE transfers SET amount = 193 WHERE id = %lld",
             (long long)id);
    assert_int_not_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    /* ... until they are dropped */
    s_exec(db, "DROP TRIGGER transfers_no_update");
    s_exec(db, sql);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    rc = s_verify(path, &out);
    assert_int_equal(rc, DN_ECHAIN);
    assert_false(json_is_true(json_object_get(out, "ok")));
    snprintf(name, sizeof name, "transfer %lld:", (long long)id);
    if (!s_has_difference(out, name))
        s_print_differences(out);
    assert_true(s_has_difference(out, name));
    json_decref(out);
    s_remove_copy(path);
}

/*  (b) One byte of one stored event changed: SHOP-A seq 6 (S4), its SKU
    "TEA-1KG" becomes "SEA-1KG".  Seq 6 is inside a batch (the batch
    signature sits on seq 8), so only the event's own hash can tell.  */
static void test_tamper_event(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt;
    json_t *out = NULL;
    uint8_t *body;
    size_t len, at;
    int rc;

    s_copy(fx, "tamper-event.db", path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT body FROM events WHERE seq = 6 AND site_id = "
                           "(SELECT id FROM sites WHERE code = 'SHOP-A')",
                           -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    len = (size_t)sqlite3_column_bytes(stmt, 0);
    body = malloc(len);
    assert_non_null(body);
    memcpy(body, sqlite3_column_blob(stmt, 0), len);
    sqlite3_finalize(stmt);
    for (at = 0; at + 7 <= len && memcmp(body + at, "TEA-1KG", 7) != 0; at++)
        ;
    assert_true(at + 7 <= len);
    body[at] = 'S';
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "UPDATE events SET body = ? WHERE seq = 6 AND site_id = "
                           "(SELECT id FROM sites WHERE code = 'SHOP-A')",
                           -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, body, (int)len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(stmt);
    free(body);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    rc = s_verify(path, &out);
    assert_int_equal(rc, DN_ECHAIN);
    assert_false(json_is_true(json_object_get(out, "ok")));
    if (!s_has_difference(out, "site SHOP-A seq 6:"))
        s_print_differences(out);
    assert_true(s_has_difference(out, "site SHOP-A seq 6:"));
    json_decref(out);
    s_remove_copy(path);
}

/*  (c) A sale posted twice, as an ingest that applied an event twice
    would leave it: the duplicate transfers are properly chained and the
    balances follow them, so only the recomputation from the events can
    tell -- and it must, by count, not just by kind of transfer.  */
static void test_double_post(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt;
    dn_ledger_t *ledger;
    Dealernet__Event *ev = NULL;
    json_t *out = NULL;
    char why[DN_WHY_SIZE] = "", text[64];
    int64_t eid = s_eid(fx->db, fx->ids[S1]);
    int rc;

    s_copy(fx, "double-post.db", path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT body FROM events WHERE eid = ?", -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, eid);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(dn_wire_event_unpack(sqlite3_column_blob(stmt, 0),
                                          (size_t)sqlite3_column_bytes(stmt, 0), &ev, why,
                                          sizeof why),
                     0);
    sqlite3_finalize(stmt);
    ledger = dn_ledger_new(db);
    assert_non_null(ledger);
    s_exec(db, "BEGIN IMMEDIATE");
    assert_int_equal(dn_ledger_post(ledger, eid, ev, s_at("2026-06-01", 0)), 0);
    s_exec(db, "COMMIT");
    dn_ledger_destroy(&ledger);
    dn_wire_event_free(&ev);
    /* S1's three transfers again: 3.32 more in the partners' accounts */
    assert_int_equal(s_int(db, "SELECT count(*) FROM transfers WHERE code != 'payout'"),
                     53);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    rc = s_verify(path, &out);
    if (rc != DN_ECHAIN)
        s_print_differences(out);
    assert_int_equal(rc, DN_ECHAIN);
    assert_false(json_is_true(json_object_get(out, "ok")));
    snprintf(text, sizeof text, "of event %lld,", (long long)eid);
    assert_true(s_has_difference(out, text));
    json_decref(out);
    s_remove_copy(path);
}

/* -- every rule stated (issue 10, item 9) -------------------------------------------

    Each test below has a central.db of its own, set up by s_rules_setup as
    HQ would (2025-12-15 09:00 UTC):

        HQ (hq)
         `- RG (region)
             |- OF (hq: an HQ-owned office inside the tree)
             |   `- DE (dealer)
             |       `- RS (reseller)            site SHOP-RS
             `- D2 (dealer)                      site SHOP-D2
                 `- RS3 (reseller; recruited by RS, --joined 2026-02-01)
                                                 OF's site SHOP-OF

    and one plan, R (CNY, effective 2026-01-01): cap 1700; levels 0=1000
    1=500 2=200 3=100; [category:Rice] 0=400 (stored as rice); referral
    bonus 5.00, 100 bps for 30 days; recruit override 100 bps for 30 days.

    So a sale of RS pays RS 10 % (level 0) and DE 5 % (level 1); OF holds
    level 2 for HQ (2 %, kept: no transfer) and so uses the cap up to 1700:
    RG at level 3 gets nothing.  A sale of D2 pays D2 10 % and RG 5 %; HQ
    holds level 2.  A sale of RS3 pays RS3 10 %, D2 5 %, RG 2 %.  A sale of
    OF (HQ's own shop) pays RG 5 % at level 1.  Every figure is worked
    next to it; every test ends with verify finding no difference.  */

#define SHOP_RS SHOP_A
#define SHOP_D2 SHOP_B
#define SHOP_OF SHOP_C

#define PHONE_R0 "+8613900000000" /* a member who refers others */
#define PHONE_M1 "+8613900000001"
#define PHONE_M2 "+8613900000002"
#define PHONE_M3 "+8613900000003"
#define MEM_R0   "member:" PHONE_R0

static const char s_rules_plan[] = "[plan]\n"
                                   "effective = 2026-01-01\n"
                                   "currency = CNY\n"
                                   "cap_bps = 1700\n"
                                   "\n"
                                   "[levels]\n"
                                   "0 = 1000\n"
                                   "1 = 500\n"
                                   "2 = 200\n"
                                   "3 = 100\n"
                                   "\n"
                                   "[category:Rice]\n"
                                   "0 = 400\n"
                                   "\n"
                                   "[referral]\n"
                                   "first_purchase_bonus = 5.00\n"
                                   "purchase_bps = 100\n"
                                   "purchase_days = 30\n"
                                   "recruit_override_bps = 100\n"
                                   "recruit_override_days = 30\n";

/*  The tracked events of a rules test.  */
enum { X1, X2, X3, X4, X5, X6, X7, X8, X9 };

static int s_rules_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    int64_t setup = s_at("2025-12-15", 9);

    assert_non_null(fx);
    *state = fx;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_rules.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/%s", fx->dir, DN_CENTRAL_DB_FILE);
    assert_int_equal(dn_central_open(fx->dir, DN_DB_CREATE, &fx->db), 0);
    fx->ingest = dn_ingest_new(fx->db);
    assert_non_null(fx->ingest);

    s_partner(fx->db, "HQ", "hq", NULL, setup);
    s_partner(fx->db, "RG", "region", "HQ", setup);
    s_partner(fx->db, "OF", "hq", "RG", setup);
    s_partner(fx->db, "DE", "dealer", "OF", setup);
    s_partner(fx->db, "RS", "reseller", "DE", setup);
    s_partner(fx->db, "D2", "dealer", "RG", setup);
    /* --joined 2026-02-01: that date's midnight, UTC */
    s_recruited(fx->db, "RS3", "reseller", "D2", "RS", s_at("2026-02-01", 0), setup);
    s_plan(fx->db, s_rules_plan, setup);
    s_enroll(fx, SHOP_RS, "SHOP-RS", "RS", 0x10, setup);
    s_enroll(fx, SHOP_D2, "SHOP-D2", "D2", 0x40, setup);
    s_enroll(fx, SHOP_OF, "SHOP-OF", "OF", 0x70, setup);
    return 0;
}

/*  One line of a sale: n x unit (fen), category (NULL: none).  */
static void s_sale1(fixture_t *fx, int which, int64_t at, const char *seller,
                    const char *phone, int64_t n, int64_t unit, const char *category,
                    int track)
{
    const dn_tk_line_t line[] = {{"ITEM", n, unit, category}};
    s_sale(fx, which, at, seller, phone, line, 1, track);
}

/*  The referral state of a member, as HQ reads it.  */
static char *s_referral_state(fixture_t *fx, const char *phone)
{
    sqlite3_stmt *stmt;
    char *state;
    assert_int_equal(sqlite3_prepare_v2(fx->db,
                                        "SELECT referral_state FROM member_referrals "
                                        "WHERE phone = ?",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(stmt, 1, phone, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    state = strdup((const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    assert_non_null(state);
    return state;
}

static void s_assert_state(fixture_t *fx, const char *phone, const char *want)
{
    char *state = s_referral_state(fx, phone);
    if (strcmp(state, want) != 0)
        print_error("member %s: referral %s, expected %s\n", phone, state, want);
    assert_string_equal(state, want);
    free(state);
}

/*  verify recomputes every posting of the file at path from the stored
    events and agrees.  */
static void s_verify_ok_at(const char *path)
{
    json_t *out = NULL;
    int rc = dn_verify_run(path, &out, NULL, 0);
    assert_non_null(out);
    if (rc)
        s_print_differences(out);
    assert_int_equal(rc, 0);
    json_decref(out);
}

static void s_verify_ok(fixture_t *fx)
{
    s_verify_ok_at(fx->path);
}

static int64_t s_count(fixture_t *fx, const char *sql)
{
    return s_int(fx->db, sql);
}

/*  1. An active partner of kind hq inside the tree holds its level for HQ
    (no transfer; its rate uses the cap); the partners above keep their own
    levels.  A suspended partner, by contrast, is skipped.  */
static void test_rule_hq_in_tree(void **state)
{
    static const xfer_t rs_sale[] = {
        {"commission", HQC, "partner:RS", 1000 /* 100.00 x 10% */, 0, 1000, "", 0,
         "2026-01", ""},
        {"commission", HQC, "partner:DE", 500 /* 100.00 x 5% */, 1, 500, "", 0, "2026-01",
         ""},
        /* OF, level 2: 2.00 kept by HQ; cap 1000 + 500 + 200 = 1700 used, so
           RG at level 3 gets nothing (skipping OF would have paid RG 2.00) */
    };
    static const xfer_t of_sale[] = {
        /* OF sells: level 0 (4.00) kept by HQ; RG is level 1: 40.00 x 5% */
        {"commission", HQC, "partner:RG", 200, 1, 500, "", 0, "2026-01", ""},
    };
    static const xfer_t suspended[] = {
        {"commission", HQC, "partner:RS", 1000 /* 100.00 x 10% */, 0, 1000, "", 0,
         "2026-01", ""},
        /* DE suspended: skipped, OF takes level 1 (5.00 kept), RG level 2:
           100.00 x 2% = 2.00 (cap 1000 + 500 + 200 = 1700) */
        {"commission", HQC, "partner:RG", 200, 2, 200, "", 0, "2026-01", ""},
    };
    fixture_t *fx = *state;

    s_sale1(fx, SHOP_RS, s_at("2026-01-05", 10), "RS", NULL, 1, 10000, NULL, X1);
    s_sync(fx, SHOP_RS, s_at("2026-01-05", 12));
    s_sale1(fx, SHOP_OF, s_at("2026-01-05", 11), "OF", NULL, 1, 4000, NULL, X2);
    s_sync(fx, SHOP_OF, s_at("2026-01-05", 12));
    s_suspend(fx->db, "DE", 1, s_at("2026-01-06", 9));
    dn_ingest_forget(fx->ingest);
    s_sale1(fx, SHOP_RS, s_at("2026-01-07", 10), "RS", NULL, 1, 10000, NULL, X3);
    s_sync(fx, SHOP_RS, s_at("2026-01-07", 12));

    s_check(fx, X1, X1, rs_sale, N_OF(rs_sale));
    s_check(fx, X2, X2, of_sale, N_OF(of_sale));
    s_check(fx, X3, X3, suspended, N_OF(suspended));
    /* RS 10.00 + 10.00; DE 5.00; RG 2.00 + 2.00; HQ paid 29.00 */
    assert_int_equal(s_balance(fx->db, "partner:RS"), 2000);
    assert_int_equal(s_balance(fx->db, "partner:DE"), 500);
    assert_int_equal(s_balance(fx->db, "partner:RG"), 400);
    assert_int_equal(s_balance(fx->db, HQC), -2900);
    assert_int_equal(s_count(fx, "SELECT count(*) FROM accounts WHERE name IN "
                                 "('partner:OF', 'partner:HQ')"),
                     0);
    s_verify_ok(fx);
}

/*  The bug: a suspended partner, or one of kind hq, earned referral rewards
    as a referrer.  Neither is paid; HQ keeps the reward, and a first
    purchase made meanwhile has used the bonus up.  */
static void test_rule_referrer_not_paid(void **state)
{
    static const xfer_t while_suspended[] = {
        /* RS suspended: DE takes level 0, OF holds level 1 for HQ, RG level 2 */
        {"commission", HQC, "partner:DE", 1000 /* 100.00 x 10% */, 0, 1000, "", 0,
         "2026-01", ""},
        {"commission", HQC, "partner:RG", 200 /* 100.00 x 2% */, 2, 200, "", 0, "2026-01",
         ""},
        /* M1's first purchase: RS, its referrer, is suspended: no 5.00, no 1.00
           (before the fix: both, into partner:RS) */
    };
    static const xfer_t resumed[] = {
        {"commission", HQC, "partner:RS", 500 /* 50.00 x 10% */, 0, 1000, "", 0,
         "2026-01", ""},
        {"commission", HQC, "partner:DE", 250 /* 50.00 x 5% */, 1, 500, "", 0, "2026-01",
         ""},
        /* not the first purchase: 1% only, 50.00 x 1% = 0.50 */
        {"referral", HQR, "partner:RS", 50, -1, 100, "", 0, "2026-01", ""},
    };
    static const xfer_t hq_referrer[] = {
        /* OF's own sale: RG level 1, 100.00 x 5%; M2's referrer OF is of kind
           hq: no bonus, no 1% (before the fix: 5.00 + 1.00 into partner:OF) */
        {"commission", HQC, "partner:RG", 500, 1, 500, "", 0, "2026-01", ""},
    };
    fixture_t *fx = *state;

    s_signup(fx, SHOP_RS, s_at("2026-01-05", 10), PHONE_M1, "M1", NULL, "RS");
    s_sync(fx, SHOP_RS, s_at("2026-01-05", 12));
    s_signup(fx, SHOP_OF, s_at("2026-01-05", 10), PHONE_M2, "M2", NULL, "OF");
    s_sync(fx, SHOP_OF, s_at("2026-01-05", 12));
    s_suspend(fx->db, "RS", 1, s_at("2026-01-06", 9));
    dn_ingest_forget(fx->ingest);
    s_sale1(fx, SHOP_RS, s_at("2026-01-07", 10), "RS", PHONE_M1, 1, 10000, NULL, X1);
    s_sync(fx, SHOP_RS, s_at("2026-01-07", 12));
    s_sale1(fx, SHOP_OF, s_at("2026-01-07", 10), "OF", PHONE_M2, 1, 10000, NULL, X3);
    s_sync(fx, SHOP_OF, s_at("2026-01-07", 12));
    s_suspend(fx->db, "RS", 0, s_at("2026-01-08", 9));
    dn_ingest_forget(fx->ingest);
    s_sale1(fx, SHOP_RS, s_at("2026-01-09", 10), "RS", PHONE_M1, 1, 5000, NULL, X2);
    s_sync(fx, SHOP_RS, s_at("2026-01-09", 12));

    s_check(fx, X1, X1, while_suspended, N_OF(while_suspended));
    s_check(fx, X2, X2, resumed, N_OF(resumed));
    s_check(fx, X3, X3, hq_referrer, N_OF(hq_referrer));
    s_assert_state(fx, PHONE_M1, "bound");
    s_assert_state(fx, PHONE_M2, "bound");
    /* RS 5.00 + 0.50; HQ's referral expense is the 0.50 alone */
    assert_int_equal(s_balance(fx->db, "partner:RS"), 550);
    assert_int_equal(s_balance(fx->db, HQR), -50);
    s_verify_ok(fx);
}

/*  2. purchase_days and recruit_override_days count 24 h days from the
    instant: start <= t < start + days x 86 400 000 ms.  The sign-up's
    instant is its recorded time; --joined DATE is that date's midnight
    (UTC); without --joined, the instant HQ added the partner.  */
static void test_rule_windows(void **state)
{
    static const xfer_t at_signup[] = {
        {"commission", HQC, "partner:RS", 100 /* 10.00 x 10% */, 0, 1000, "", 0,
         "2026-01", ""},
        {"commission", HQC, "partner:DE", 50 /* 10.00 x 5% */, 1, 500, "", 0, "2026-01",
         ""},
        /* recorded at the sign-up's very millisecond: in the window */
        {"referral", HQR, MEM_R0, 500, -1, -1, "", 1, "2026-01", ""},
        {"referral", HQR, MEM_R0, 10 /* 10.00 x 1% */, -1, 100, "", 0, "2026-01", ""},
    };
    static const xfer_t last_ms[] = {
        {"commission", HQC, "partner:RS", 200, 0, 1000, "", 0, "2026-02", ""},
        {"commission", HQC, "partner:DE", 100, 1, 500, "", 0, "2026-02", ""},
        /* 2026-02-09 09:59:59.999 = sign-up + 30 x 86 400 000 - 1 ms: in */
        {"referral", HQR, MEM_R0, 20 /* 20.00 x 1% */, -1, 100, "", 0, "2026-02", ""},
    };
    static const xfer_t end_ms[] = {
        /* 2026-02-09 10:00:00.000 = sign-up + 30 x 24 h: the end, out */
        {"commission", HQC, "partner:RS", 300, 0, 1000, "", 0, "2026-02", ""},
        {"commission", HQC, "partner:DE", 150, 1, 500, "", 0, "2026-02", ""},
    };
    /* RS3's and RS4's sales, 100.00 each: the seller 10.00, D2 5.00, RG 2.00
       (cap 1700) */
    static const xfer_t before_joined[] = {
        {"commission", HQC, "partner:RS3", 1000, 0, 1000, "", 0, "2026-01", ""},
        {"commission", HQC, "partner:D2", 500, 1, 500, "", 0, "2026-01", ""},
        {"commission", HQC, "partner:RG", 200, 2, 200, "", 0, "2026-01", ""},
    };
    static const xfer_t override_last_ms[] = {
        {"commission", HQC, "partner:RS3", 1000, 0, 1000, "", 0, "2026-03", ""},
        {"commission", HQC, "partner:D2", 500, 1, 500, "", 0, "2026-03", ""},
        {"commission", HQC, "partner:RG", 200, 2, 200, "", 0, "2026-03", ""},
        /* 2026-03-02 23:59:59.999 = 2026-02-01 00:00 + 30 x 24 h - 1 ms:
           RS, the recruiter, 100.00 x 1% */
        {"override", HQC, "partner:RS", 100, -1, 100, "", 0, "2026-03", ""},
    };
    static const xfer_t override_end[] = {
        /* 2026-03-03 00:00:00.000: the end, out */
        {"commission", HQC, "partner:RS3", 1000, 0, 1000, "", 0, "2026-03", ""},
        {"commission", HQC, "partner:D2", 500, 1, 500, "", 0, "2026-03", ""},
        {"commission", HQC, "partner:RG", 200, 2, 200, "", 0, "2026-03", ""},
    };
    static const xfer_t rs4_before[] = {
        /* 2026-02-10 15:29:59.999: before RS4 joined */
        {"commission", HQC, "partner:RS4", 1000, 0, 1000, "", 0, "2026-02", ""},
        {"commission", HQC, "partner:D2", 500, 1, 500, "", 0, "2026-02", ""},
        {"commission", HQC, "partner:RG", 200, 2, 200, "", 0, "2026-02", ""},
    };
    static const xfer_t rs4_last_ms[] = {
        {"commission", HQC, "partner:RS4", 1000, 0, 1000, "", 0, "2026-03", ""},
        {"commission", HQC, "partner:D2", 500, 1, 500, "", 0, "2026-03", ""},
        {"commission", HQC, "partner:RG", 200, 2, 200, "", 0, "2026-03", ""},
        {"override", HQC, "partner:RS", 100, -1, 100, "", 0, "2026-03", ""},
    };
    static const xfer_t rs4_end[] = {
        {"commission", HQC, "partner:RS4", 1000, 0, 1000, "", 0, "2026-03", ""},
        {"commission", HQC, "partner:D2", 500, 1, 500, "", 0, "2026-03", ""},
        {"commission", HQC, "partner:RG", 200, 2, 200, "", 0, "2026-03", ""},
    };
    fixture_t *fx = *state;
    int64_t signup = s_at("2026-01-10", 10), joined = s_at("2026-02-01", 0);
    int64_t rs4_added = s_at("2026-02-10", 15) + 30 * 60 * 1000; /* 15:30:00.000 */
    int64_t days30 = 30 * DN_DAY_MS;

    s_signup(fx, SHOP_RS, s_at("2026-01-02", 10), PHONE_R0, "R0", NULL, NULL);
    s_signup(fx, SHOP_RS, signup, PHONE_M3, "M3", PHONE_R0, NULL);
    s_sale1(fx, SHOP_RS, signup, "RS", PHONE_M3, 1, 1000, NULL, X1);
    s_sale1(fx, SHOP_RS, signup + days30 - 1, "RS", PHONE_M3, 1, 2000, NULL, X2);
    s_sale1(fx, SHOP_RS, signup + days30, "RS", PHONE_M3, 1, 3000, NULL, X3);
    s_sync(fx, SHOP_RS, s_at("2026-02-09", 12));

    /* partner add RS4 --recruiter RS at 15:30:00.000, no --joined */
    s_recruited(fx->db, "RS4", "reseller", "D2", "RS", rs4_added, rs4_added);
    dn_ingest_forget(fx->ingest);
    s_sale1(fx, SHOP_D2, joined - 1, "RS3", NULL, 1, 10000, NULL, X4);
    s_sale1(fx, SHOP_D2, rs4_added - 1, "RS4", NULL, 1, 10000, NULL, X7);
    s_sale1(fx, SHOP_D2, joined + days30 - 1, "RS3", NULL, 1, 10000, NULL, X5);
    s_sale1(fx, SHOP_D2, joined + days30, "RS3", NULL, 1, 10000, NULL, X6);
    s_sale1(fx, SHOP_D2, rs4_added + days30 - 1, "RS4", NULL, 1, 10000, NULL, X8);
    s_sale1(fx, SHOP_D2, rs4_added + days30, "RS4", NULL, 1, 10000, NULL, X9);
    s_sync(fx, SHOP_D2, s_at("2026-03-13", 12));

    s_check(fx, X1, X1, at_signup, N_OF(at_signup));
    s_check(fx, X2, X2, last_ms, N_OF(last_ms));
    s_check(fx, X3, X3, end_ms, N_OF(end_ms));
    s_check(fx, X4, X4, before_joined, N_OF(before_joined));
    s_check(fx, X5, X5, override_last_ms, N_OF(override_last_ms));
    s_check(fx, X6, X6, override_end, N_OF(override_end));
    s_check(fx, X7, X7, rs4_before, N_OF(rs4_before));
    s_check(fx, X8, X8, rs4_last_ms, N_OF(rs4_last_ms));
    s_check(fx, X9, X9, rs4_end, N_OF(rs4_end));
    /* R0: 5.00 + 0.10 + 0.20 */
    assert_int_equal(s_balance(fx->db, MEM_R0), 530);
    s_verify_ok(fx);
}

/*  3. A sale recorded before the member's sign-up is not one of its
    purchases: it pays its referrer nothing and does not use up the first
    purchase, wherever it was made.  */
static void test_rule_purchase_before_signup(void **state)
{
    static const xfer_t before[] = {
        {"commission", HQC, "partner:RS", 100 /* 10.00 x 10% */, 0, 1000, "", 0,
         "2026-01", ""},
        {"commission", HQC, "partner:DE", 50, 1, 500, "", 0, "2026-01", ""},
    };
    static const xfer_t first[] = {
        {"commission", HQC, "partner:RS", 200 /* 20.00 x 10% */, 0, 1000, "", 0,
         "2026-01", ""},
        {"commission", HQC, "partner:DE", 100, 1, 500, "", 0, "2026-01", ""},
        /* the first purchase after the sign-up (before: no bonus, as X1 was
           the member's first sale) */
        {"referral", HQR, MEM_R0, 500, -1, -1, "", 1, "2026-01", ""},
        {"referral", HQR, MEM_R0, 20 /* 20.00 x 1% */, -1, 100, "", 0, "2026-01", ""},
    };
    static const xfer_t elsewhere_before[] = {
        /* D2's sale to M2, recorded before M2 signed up at SHOP-RS: D2 3.00,
           RG 1.50, no referral; it neither binds nor voids M2's referral
           (before: the bonus 5.00 was paid here) */
        {"commission", HQC, "partner:D2", 300, 0, 1000, "", 0, "2026-01", ""},
        {"commission", HQC, "partner:RG", 150, 1, 500, "", 0, "2026-01", ""},
    };
    static const xfer_t m2_first[] = {
        {"commission", HQC, "partner:RS", 400 /* 40.00 x 10% */, 0, 1000, "", 0,
         "2026-01", ""},
        {"commission", HQC, "partner:DE", 200, 1, 500, "", 0, "2026-01", ""},
        {"referral", HQR, MEM_R0, 500, -1, -1, "", 1, "2026-01", ""},
        {"referral", HQR, MEM_R0, 40 /* 40.00 x 1% */, -1, 100, "", 0, "2026-01", ""},
    };
    fixture_t *fx = *state;

    s_signup(fx, SHOP_RS, s_at("2026-01-02", 10), PHONE_R0, "R0", NULL, NULL);
    s_sale1(fx, SHOP_RS, s_at("2026-01-12", 10), "RS", PHONE_M1, 1, 1000, NULL, X1);
    s_signup(fx, SHOP_RS, s_at("2026-01-13", 10), PHONE_M1, "M1", PHONE_R0, NULL);
    s_signup(fx, SHOP_RS, s_at("2026-01-13", 11), PHONE_M2, "M2", PHONE_R0, NULL);
    s_sale1(fx, SHOP_RS, s_at("2026-01-14", 10), "RS", PHONE_M1, 1, 2000, NULL, X2);
    s_sync(fx, SHOP_RS, s_at("2026-01-14", 12));
    s_sale1(fx, SHOP_D2, s_at("2026-01-12", 12), "D2", PHONE_M2, 1, 3000, NULL, X3);
    s_sync(fx, SHOP_D2, s_at("2026-01-15", 12));
    s_assert_state(fx, PHONE_M2, "pending");
    s_sale1(fx, SHOP_RS, s_at("2026-01-16", 10), "RS", PHONE_M2, 1, 4000, NULL, X4);
    s_sync(fx, SHOP_RS, s_at("2026-01-16", 12));

    s_check(fx, X1, X1, before, N_OF(before));
    s_check(fx, X2, X2, first, N_OF(first));
    s_check(fx, X3, X3, elsewhere_before, N_OF(elsewhere_before));
    s_check(fx, X4, X4, m2_first, N_OF(m2_first));
    s_assert_state(fx, PHONE_M1, "bound");
    s_assert_state(fx, PHONE_M2, "bound");
    /* R0: 5.00 + 0.20 + 5.00 + 0.40 */
    assert_int_equal(s_balance(fx->db, MEM_R0), 1060);
    s_verify_ok(fx);
}

/*  4. A first purchase that reaches the server before the member's
    sign-up voids the referral: nothing is paid then or later.  */
static void test_rule_first_sale_before_signup(void **state)
{
    static const xfer_t d2_first[] = {
        {"commission", HQC, "partner:D2", 500 /* 50.00 x 10% */, 0, 1000, "", 0,
         "2026-01", ""},
        {"commission", HQC, "partner:RG", 250 /* 50.00 x 5% */, 1, 500, "", 0, "2026-01",
         ""},
    };
    static const xfer_t rs_later[] = {
        /* void: no referral (before: no bonus, but 60.00 x 1% = 0.60) */
        {"commission", HQC, "partner:RS", 600, 0, 1000, "", 0, "2026-01", ""},
        {"commission", HQC, "partner:DE", 300, 1, 500, "", 0, "2026-01", ""},
    };
    fixture_t *fx = *state;
    char sql[256];

    s_signup(fx, SHOP_RS, s_at("2026-01-02", 10), PHONE_R0, "R0", NULL, NULL);
    s_sync(fx, SHOP_RS, s_at("2026-01-02", 12));
    /* SHOP-RS signs M1 up and goes offline; M1 buys at SHOP-D2 next day */
    s_signup(fx, SHOP_RS, s_at("2026-01-20", 10), PHONE_M1, "M1", PHONE_R0, NULL);
    s_sale1(fx, SHOP_D2, s_at("2026-01-21", 10), "D2", PHONE_M1, 1, 5000, NULL, X1);
    s_sync(fx, SHOP_D2, s_at("2026-01-21", 12));
    s_sale1(fx, SHOP_RS, s_at("2026-01-22", 10), "RS", PHONE_M1, 1, 6000, NULL, X2);
    s_sync(fx, SHOP_RS, s_at("2026-01-22", 12));

    s_check(fx, X1, X1, d2_first, N_OF(d2_first));
    s_check(fx, X2, X2, rs_later, N_OF(rs_later));
    s_assert_state(fx, PHONE_M1, "void");
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM member_referrals WHERE phone = '%s' AND first_eid = %lld "
        "AND first_site_id = %lld",
        PHONE_M1, (long long)s_eid(fx->db, fx->ids[X1]),
        (long long)fx->sites[SHOP_D2]->reg.id);
    assert_int_equal(s_count(fx, sql), 1);
    assert_int_equal(
        s_count(fx, "SELECT count(*) FROM transfers WHERE code = 'referral'"), 0);
    s_verify_ok(fx);
}

/*  5. A sale of 0.00 is no purchase; a first purchase refunded in full
    takes its bonus back, and stays the first purchase.  */
static void test_rule_zero_and_refunded_first(void **state)
{
    static const xfer_t first[] = {
        {"commission", HQC, "partner:RS", 500 /* 50.00 x 10% */, 0, 1000, "", 0,
         "2026-02", ""},
        {"commission", HQC, "partner:DE", 250 /* 50.00 x 5% */, 1, 500, "", 0, "2026-02",
         ""},
        /* the first purchase: the 0.00 sample before it is none (before: the
           bonus was paid on the sample and never taken back) */
        {"referral", HQR, MEM_R0, 500, -1, -1, "", 1, "2026-02", ""},
        {"referral", HQR, MEM_R0, 50 /* 50.00 x 1% */, -1, 100, "", 0, "2026-02", ""},
    };
    static const xfer_t refund[] = {
        /* refunded in full: everything back, the bonus too */
        {"clawback", "partner:RS", HQC, 500, 0, 1000, "", 0, "2026-02", ""},
        {"clawback", "partner:DE", HQC, 250, 1, 500, "", 0, "2026-02", ""},
        {"clawback", MEM_R0, HQR, 500, -1, -1, "", 1, "2026-02", ""},
        {"clawback", MEM_R0, HQR, 50, -1, 100, "", 0, "2026-02", ""},
    };
    static const xfer_t again[] = {
        {"commission", HQC, "partner:RS", 300 /* 30.00 x 10% */, 0, 1000, "", 0,
         "2026-02", ""},
        {"commission", HQC, "partner:DE", 150, 1, 500, "", 0, "2026-02", ""},
        /* not the first purchase, although the first was refunded: 1% only */
        {"referral", HQR, MEM_R0, 30, -1, 100, "", 0, "2026-02", ""},
    };
    fixture_t *fx = *state;

    s_signup(fx, SHOP_RS, s_at("2026-01-02", 10), PHONE_R0, "R0", NULL, NULL);
    s_signup(fx, SHOP_RS, s_at("2026-02-01", 10), PHONE_M1, "M1", PHONE_R0, NULL);
    s_sale1(fx, SHOP_RS, s_at("2026-02-02", 10), "RS", PHONE_M1, 1, 0, NULL, X1);
    s_sale1(fx, SHOP_RS, s_at("2026-02-03", 10), "RS", PHONE_M1, 1, 5000, NULL, X2);
    s_refund(fx, SHOP_RS, s_at("2026-02-04", 10), X2, 5000, NULL, 0, X3);
    s_sale1(fx, SHOP_RS, s_at("2026-02-05", 10), "RS", PHONE_M1, 1, 3000, NULL, X4);
    s_sync(fx, SHOP_RS, s_at("2026-02-05", 12));

    s_check(fx, X1, X1, NULL, 0);
    s_check(fx, X2, X2, first, N_OF(first));
    s_check(fx, X3, X2, refund, N_OF(refund));
    s_check(fx, X4, X4, again, N_OF(again));
    /* R0: 5.00 + 0.50 - 5.00 - 0.50 + 0.30 */
    assert_int_equal(s_balance(fx->db, MEM_R0), 30);
    s_verify_ok(fx);
}

/*  6. Categories are codes: `Rice` and `RICE` are paid by [category:Rice],
    stored as rice.  */
static void test_rule_category_case(void **state)
{
    static const xfer_t want[] = {
        /* 2 x 25.00 of Rice: the rice table, level 0 only: 50.00 x 4% */
        {"commission", HQC, "partner:RS", 200, 0, 400, "rice", 0, "2026-01", ""},
        /* 10.00 of oil by [levels]: 10% and 5% */
        {"commission", HQC, "partner:RS", 100, 0, 1000, "", 0, "2026-01", ""},
        {"commission", HQC, "partner:DE", 50, 1, 500, "", 0, "2026-01", ""},
    };
    static const xfer_t upper[] = {
        {"commission", HQC, "partner:RS", 40 /* 10.00 x 4% */, 0, 400, "rice", 0,
         "2026-01", ""},
    };
    static const dn_tk_line_t lines[] = {{"RICE-5KG", 2, 2500, "Rice"},
                                         {"OIL-1L", 1, 1000, "oil"}};
    fixture_t *fx = *state;

    assert_int_equal(
        s_count(fx, "SELECT count(*) FROM plan_rates WHERE category = 'rice'"), 1);
    s_sale(fx, SHOP_RS, s_at("2026-01-05", 10), "RS", NULL, lines, N_OF(lines), X1);
    s_sale1(fx, SHOP_RS, s_at("2026-01-05", 11), "RS", NULL, 1, 1000, "RICE", X2);
    s_sync(fx, SHOP_RS, s_at("2026-01-05", 12));
    s_check(fx, X1, X1, want, N_OF(want));
    s_check(fx, X2, X2, upper, N_OF(upper));
    s_verify_ok(fx);
}

/*  7. A sale in another currency than the plan's earns nothing and is no
    purchase: the member's first purchase is still to come.  */
static void test_rule_other_currency(void **state)
{
    static const xfer_t first[] = {
        {"commission", HQC, "partner:RS", 100 /* 10.00 x 10% */, 0, 1000, "", 0,
         "2026-02", ""},
        {"commission", HQC, "partner:DE", 50, 1, 500, "", 0, "2026-02", ""},
        /* before: no bonus, as the USD sale had used the first purchase up */
        {"referral", HQR, MEM_R0, 500, -1, -1, "", 1, "2026-02", ""},
        {"referral", HQR, MEM_R0, 10, -1, 100, "", 0, "2026-02", ""},
    };
    const dn_tk_line_t line[] = {{"ITEM", 1, 10000, NULL}};
    fixture_t *fx = *state;
    dn_tk_event_t e;

    s_signup(fx, SHOP_RS, s_at("2026-01-02", 10), PHONE_R0, "R0", NULL, NULL);
    s_signup(fx, SHOP_RS, s_at("2026-02-01", 10), PHONE_M1, "M1", PHONE_R0, NULL);
    assert_int_equal(
        dn_tk_sale(&e, "RS", DEALERNET__CHANNEL__CHANNEL_STORE, PHONE_M1, line, 1), 0);
    e.sale.currency = "USD";
    dn_test_site_record(fx->sites[SHOP_RS], &e.ev, s_at("2026-02-02", 10), fx->ids[X1]);
    s_sync(fx, SHOP_RS, s_at("2026-02-02", 12));
    s_assert_state(fx, PHONE_M1, "pending");
    s_sale1(fx, SHOP_RS, s_at("2026-02-03", 10), "RS", PHONE_M1, 1, 1000, NULL, X2);
    s_sync(fx, SHOP_RS, s_at("2026-02-03", 12));

    s_check(fx, X1, X1, NULL, 0);
    s_check(fx, X2, X2, first, N_OF(first));
    s_assert_state(fx, PHONE_M1, "bound");
    s_verify_ok(fx);
}

/*  8. A plan version dated between two others is accepted when no stored
    sale is at or after its date (so nothing posted changes); the sales of
    its span that reach the server afterwards, however long ago they were
    recorded, are posted under it.  */
static void test_rule_plan_slotted(void **state)
{
    static const char p2[] = "[plan]\neffective = 2026-03-01\ncurrency = CNY\n\n"
                             "[levels]\n0 = 1500\n";
    static const char p3[] = "[plan]\neffective = 2026-06-01\ncurrency = CNY\n\n"
                             "[levels]\n0 = 2000\n";
    static const char early[] = "[plan]\neffective = 2026-01-05\ncurrency = CNY\n\n"
                                "[levels]\n0 = 900\n";
    static const xfer_t r_sale[] = {
        {"commission", HQC, "partner:RS", 1000 /* R: 100.00 x 10% */, 0, 1000, "", 0,
         "2026-01", ""},
        {"commission", HQC, "partner:DE", 500, 1, 500, "", 0, "2026-01", ""},
    };
    static const xfer_t r_late[] = {
        {"commission", HQC, "partner:RS", 1000, 0, 1000, "", 0, "2026-02", ""},
        {"commission", HQC, "partner:DE", 500, 1, 500, "", 0, "2026-02", ""},
    };
    static const xfer_t p2_sale[] = {
        {"commission", HQC, "partner:RS", 1500 /* P2: 100.00 x 15% */, 0, 1500, "", 0,
         "2026-03", ""},
    };
    static const xfer_t p3_sale[] = {
        {"commission", HQC, "partner:RS", 2000 /* P3: 100.00 x 20% */, 0, 2000, "", 0,
         "2026-06", ""},
    };
    fixture_t *fx = *state;
    dn_plan_t plan;
    char why[256] = "";

    s_plan(fx->db, p3, s_at("2025-12-16", 9));
    dn_ingest_forget(fx->ingest);
    s_sale1(fx, SHOP_RS, s_at("2026-01-10", 10), "RS", NULL, 1, 10000, NULL, X1);
    s_sync(fx, SHOP_RS, s_at("2026-01-10", 12));
    /* SHOP-RS goes offline and records through spring */
    s_sale1(fx, SHOP_RS, s_at("2026-02-10", 10), "RS", NULL, 1, 10000, NULL, X2);
    s_sale1(fx, SHOP_RS, s_at("2026-03-10", 10), "RS", NULL, 1, 10000, NULL, X3);
    /* HQ slots P2 in between R and P3 on 2026-03-20: the latest stored sale is
       X1 (01-10), before it */
    s_plan(fx->db, p2, s_at("2026-03-20", 9));
    /* a version dated before a stored sale is refused */
    assert_int_equal(
        dn_plan_set(fx->db, early, s_at("2026-03-20", 10), &plan, why, sizeof why),
        DN_EPERM);
    assert_string_equal(why, "effective 2026-01-05 is not after the latest sale stored "
                             "(recorded 2026-01-10T10:00:00.000Z): it would change "
                             "commissions already posted; choose a later date");
    dn_ingest_forget(fx->ingest);
    s_sale1(fx, SHOP_RS, s_at("2026-06-02", 10), "RS", NULL, 1, 10000, NULL, X4);
    s_sync(fx, SHOP_RS, s_at("2026-06-02", 12));

    s_check(fx, X1, X1, r_sale, N_OF(r_sale));
    s_check(fx, X2, X2, r_late, N_OF(r_late));
    s_check(fx, X3, X3, p2_sale, N_OF(p2_sale)); /* recorded before P2 was set */
    s_check(fx, X4, X4, p3_sale, N_OF(p3_sale));
    s_verify_ok(fx);
}

/*  9. Partial clawbacks are rounded per refund (half to even) and capped at
    what is left of each transfer; the completing refund takes back exactly
    what is left, here nothing.  */
static void test_rule_partial_clawbacks(void **state)
{
    static const xfer_t sale[] = {
        {"commission", HQC, "partner:RS", 5 /* 0.50 x 10% = 0.05 */, 0, 1000, "", 0,
         "2026-01", ""},
        /* 0.50 x 5% = 0.025 -> 0.02: half to even, down */
        {"commission", HQC, "partner:DE", 2, 1, 500, "", 0, "2026-01", ""},
    };
    static const xfer_t first[] = {
        /* 0.15 of 0.50: RS 0.05 x 15/50 = 0.015 -> 0.02 (half to even, up);
           DE 0.02 x 15/50 = 0.006 -> 0.01 */
        {"clawback", "partner:RS", HQC, 2, 0, 1000, "", 0, "2026-01", ""},
        {"clawback", "partner:DE", HQC, 1, 1, 500, "", 0, "2026-01", ""},
    };
    static const xfer_t third[] = {
        /* RS: 0.015 -> 0.02, but 0.05 - 0.02 - 0.02 = 0.01 is left: 0.01;
           DE: nothing left */
        {"clawback", "partner:RS", HQC, 1, 0, 1000, "", 0, "2026-01", ""},
    };
    fixture_t *fx = *state;

    s_sale1(fx, SHOP_RS, s_at("2026-01-05", 10), "RS", NULL, 1, 50, NULL, X1);
    s_refund(fx, SHOP_RS, s_at("2026-01-06", 10), X1, 15, NULL, 0, X2);
    s_refund(fx, SHOP_RS, s_at("2026-01-07", 10), X1, 15, NULL, 0, X3);
    s_refund(fx, SHOP_RS, s_at("2026-01-08", 10), X1, 15, NULL, 0, X4);
    s_refund(fx, SHOP_RS, s_at("2026-01-09", 10), X1, 5, NULL, 0, X5);
    s_sync(fx, SHOP_RS, s_at("2026-01-09", 12));

    s_check(fx, X1, X1, sale, N_OF(sale));
    s_check(fx, X2, X1, first, N_OF(first));
    s_check(fx, X3, X1, first, N_OF(first)); /* the same again: 0.02 and 0.01 */
    s_check(fx, X4, X1, third, N_OF(third));
    s_check(fx, X5, X1, NULL, 0); /* the completing refund: nothing is left */
    assert_int_equal(s_balance(fx->db, "partner:RS"), 0);
    assert_int_equal(s_balance(fx->db, "partner:DE"), 0);
    s_verify_ok(fx);
}

/*  Referral squatting: SHOP-D2 signs up a customer it never served,
    naming its own partner D2; the customer's first purchase is at SHOP-RS,
    so the referral is void and D2 earns nothing from that customer, at
    SHOP-RS or at its own shop.  A customer D2's shop signs up and first
    sells to is bound to D2, and pays it on purchases anywhere.  */
static void test_rule_binding(void **state)
{
    static const xfer_t squat_first[] = {
        /* void: commission only (before: D2 5.00 + 1.00) */
        {"commission", HQC, "partner:RS", 1000 /* 100.00 x 10% */, 0, 1000, "", 0,
         "2026-02", ""},
        {"commission", HQC, "partner:DE", 500, 1, 500, "", 0, "2026-02", ""},
    };
    static const xfer_t squat_again[] = {
        {"commission", HQC, "partner:RS", 500 /* 50.00 x 10% */, 0, 1000, "", 0,
         "2026-02", ""},
        {"commission", HQC, "partner:DE", 250, 1, 500, "", 0, "2026-02", ""},
    };
    static const xfer_t squat_own_shop[] = {
        /* still void at D2's own shop: D2 sells, 20.00 x 10% and RG 5% */
        {"commission", HQC, "partner:D2", 200, 0, 1000, "", 0, "2026-02", ""},
        {"commission", HQC, "partner:RG", 100, 1, 500, "", 0, "2026-02", ""},
    };
    static const xfer_t bound_first[] = {
        {"commission", HQC, "partner:D2", 300 /* 30.00 x 10% */, 0, 1000, "", 0,
         "2026-02", ""},
        {"commission", HQC, "partner:RG", 150, 1, 500, "", 0, "2026-02", ""},
        {"referral", HQR, "partner:D2", 500, -1, -1, "", 1, "2026-02", ""},
        {"referral", HQR, "partner:D2", 30 /* 30.00 x 1% */, -1, 100, "", 0, "2026-02",
         ""},
    };
    static const xfer_t bound_elsewhere[] = {
        {"commission", HQC, "partner:RS", 1000, 0, 1000, "", 0, "2026-02", ""},
        {"commission", HQC, "partner:DE", 500, 1, 500, "", 0, "2026-02", ""},
        /* bound: D2 earns 1% of its member's purchase at SHOP-RS */
        {"referral", HQR, "partner:D2", 100, -1, 100, "", 0, "2026-02", ""},
    };
    fixture_t *fx = *state;
    char sql[256];

    s_signup(fx, SHOP_RS, s_at("2026-01-02", 10), PHONE_R0, "R0", NULL, NULL);
    s_signup(fx, SHOP_RS, s_at("2026-01-02", 11), PHONE_M3, "M3", NULL, "RS");
    s_sync(fx, SHOP_RS, s_at("2026-01-02", 12));
    s_signup(fx, SHOP_D2, s_at("2026-02-01", 10), PHONE_M1, "M1", NULL, "D2");
    s_signup(fx, SHOP_D2, s_at("2026-02-01", 11), PHONE_M2, "M2", NULL, "D2");
    s_sync(fx, SHOP_D2, s_at("2026-02-01", 12));
    s_assert_state(fx, PHONE_M1, "pending");
    s_sale1(fx, SHOP_RS, s_at("2026-02-02", 10), "RS", PHONE_M1, 1, 10000, NULL, X1);
    s_sale1(fx, SHOP_RS, s_at("2026-02-03", 10), "RS", PHONE_M1, 1, 5000, NULL, X2);
    s_sync(fx, SHOP_RS, s_at("2026-02-03", 12));
    s_sale1(fx, SHOP_D2, s_at("2026-02-04", 10), "D2", PHONE_M1, 1, 2000, NULL, X3);
    s_sale1(fx, SHOP_D2, s_at("2026-02-04", 11), "D2", PHONE_M2, 1, 3000, NULL, X4);
    s_sync(fx, SHOP_D2, s_at("2026-02-04", 12));
    s_sale1(fx, SHOP_RS, s_at("2026-02-05", 10), "RS", PHONE_M2, 1, 10000, NULL, X5);
    s_sync(fx, SHOP_RS, s_at("2026-02-05", 12));

    s_check(fx, X1, X1, squat_first, N_OF(squat_first));
    s_check(fx, X2, X2, squat_again, N_OF(squat_again));
    s_check(fx, X3, X3, squat_own_shop, N_OF(squat_own_shop));
    s_check(fx, X4, X4, bound_first, N_OF(bound_first));
    s_check(fx, X5, X5, bound_elsewhere, N_OF(bound_elsewhere));
    s_assert_state(fx, PHONE_M1, "void");
    s_assert_state(fx, PHONE_M2, "bound");
    s_assert_state(fx, PHONE_M3, "pending");
    s_assert_state(fx, PHONE_R0, "none");
    /* HQ's list of void referrals: M1, first bought at SHOP-RS */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM member_referrals WHERE referral_state = 'void' AND "
             "phone = '%s' AND first_site_id = %lld",
             PHONE_M1, (long long)fx->sites[SHOP_RS]->reg.id);
    assert_int_equal(s_count(fx, sql), 1);
    assert_int_equal(
        s_count(fx,
                "SELECT count(*) FROM member_referrals WHERE referral_state = 'void'"),
        1);
    /* D2: 2.00 + 3.00 commission, 5.00 + 0.30 + 1.00 referral */
    assert_int_equal(s_balance(fx->db, "partner:D2"), 1130);
    s_verify_ok(fx);
}

/* -- guard rails: payout references, periods, retired plans ----------------------- */

/*  A ledger of the version before the guard rails that already recorded
    one bank transfer twice (the bug) still opens: the migration keeps the
    reference for the earlier payout, and from then on refuses it.  The
    old file is made from a copy: the new table and columns dropped, a
    second payout with RS1's reference appended, user_version set back.  */
static void test_migrate_payout_refs(void **state)
{
    fixture_t *fx = *state;
    char dir[160], path[256], why[256] = "";
    sqlite3 *db = NULL;
    json_t *out = NULL;
    int version;

    snprintf(dir, sizeof dir, "%s/legacy", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    s_copy(fx, "legacy/" DN_CENTRAL_DB_FILE, path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* the guard rails' migration is 8; the referral view (9) that follows
       reads plans.retired_ms, so it goes too and comes back with the rest,
       as do the token holders' columns (10), re-enrolment's site_keys
       and tokens.rebind (11), HQ's catalogue (12), the downstream
       marks of earnings and member credit (13), HQ's notices (14), the
       plans' compliance setting (15), the names of sites and plan
       categories (16), the sales' receipt and payment (17), the time
       zone's zone_from (18), the mark of its typed dates (19), the
       drill-down's indexes (20), the web page's users (21), the
       accounts' transfer indexes (22, which 25 drops), the payout runs
       (23) and the account periods (25); the transfers' CHECK rewritten
       (24) stays as it is, and its migration finds it so; the marks'
       trigger comes back as 26 makes it */
    version = (int)s_int(db, "PRAGMA user_version");
    assert_int_equal(version, 26);
    s_exec(db,
           "DROP TABLE payout_run_lines;"
           "DROP TABLE payout_runs;"
           "DROP TABLE partner_banks;"
           "DROP TABLE account_periods;"
           "DROP INDEX sales_seller;"
           "DROP INDEX refunds_sale;"
           "DELETE FROM meta WHERE key = '" DN_META_ZONE_FROM "';"
           "DROP INDEX sales_receipt;"
           "ALTER TABLE sales DROP COLUMN payment;"
           "ALTER TABLE sales DROP COLUMN receipt;"
           "DROP TABLE plan_categories;"
           "ALTER TABLE sites DROP COLUMN name;"
           "ALTER TABLE plans DROP COLUMN compliance;"
           "DROP TABLE notices;"
           "DROP TRIGGER accounts_down_mark;"
           "DROP TRIGGER members_down_mark_insert;"
           "DROP TRIGGER members_down_mark_name;"
           "DROP INDEX members_down_mark;"
           "DROP INDEX members_signup;"
           "DROP INDEX member_conflicts_site;"
           "ALTER TABLE accounts DROP COLUMN down_mark;"
           "ALTER TABLE members DROP COLUMN down_mark;"
           "DROP TABLE down_marks;"
           "DROP TABLE catalog;"
           "DROP TABLE catalog_uploads;"
           "DROP TABLE catalog_staged;"
           "DROP TABLE site_keys;"
           "ALTER TABLE tokens DROP COLUMN rebind;"
           "ALTER TABLE tokens DROP COLUMN holder_key;"
           "ALTER TABLE tokens DROP COLUMN held_ms;"
           "ALTER TABLE tokens DROP COLUMN holder_address;"
           "ALTER TABLE tokens DROP COLUMN raced_ms;"
           "DROP VIEW member_referrals;"
           "DROP TABLE payout_refs;"
           "ALTER TABLE plans DROP COLUMN retired_ms;"
           "ALTER TABLE plans DROP COLUMN retired_by;"
           "DROP TABLE web_users;"
           "INSERT INTO transfers(debit, credit, amount, code, period, ref, created_ms,"
           "  prev_hash, hash) SELECT debit, credit, 100, 'payout', period, ref,"
           "  created_ms + 1, hash, hash FROM transfers WHERE id = 51;");
    {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", 7);
        s_exec(db, sql);
    }
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_int_equal(dn_central_open(dir, 0, &db), 0);
    assert_int_equal(s_int(db, "PRAGMA user_version"), version);
    /* a token used before the holders' columns is held by its site's key */
    assert_true(s_int(db, "SELECT count(*) FROM tokens WHERE used_ms IS NOT NULL") > 0);
    assert_int_equal(s_int(db, "SELECT count(*) FROM tokens t JOIN sites s ON s.id = "
                               "t.site_id WHERE t.used_ms IS NOT NULL AND (t.holder_key IS "
                               "NOT s.curve_key OR t.held_ms IS NOT t.used_ms)"),
                     0);
    assert_int_equal(
        s_int(db, "SELECT count(*) FROM transfers WHERE ref = 'BANK-0510-1'"), 2);
    assert_int_equal(s_int(db, "SELECT count(*) FROM payout_refs"), 1);
    assert_int_equal(
        s_int(db, "SELECT transfer_id FROM payout_refs WHERE ref = 'BANK-0510-1'"), 51);
    assert_int_equal(s_int(db, "SELECT count(*) FROM plans WHERE retired_ms IS NULL"), 2);
    assert_int_equal(dn_ledger_payout(db, "RS1", 100, "BANK-0510-1", "hq",
                                      s_at("2026-05-11", 9), &out, why, sizeof why),
                     DN_EEXIST);
    assert_null(out);
    assert_int_equal(
        strncmp(why, "reference 'BANK-0510-1' is already used by payout 51 ",
                strlen("reference 'BANK-0510-1' is already used by payout 51 ")),
        0);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    s_remove_copy(path);
    assert_int_equal(rmdir(dir), 0);
}

/*  A ledger from before the time zone (issue 13) migrates to its
    currency's zone, CNY: Asia/Shanghai, zoned only from the month after
    the newest month holding anything.  The fixture's newest is May 2026
    (S8, recorded 28 April, posted into May after April was closed), so
    zone_from is 2026-06-01T00:00Z: days 20454 (2026-01-01) + 31 + 28 +
    31 + 30 + 31 = 20605, 20605 * 86400000 = 1780272000000.  Every old
    event keeps its UTC month, so verify's replay agrees under the zone;
    May is still UTC, June runs from zone_from to midnight 1 July in
    Beijing (day 20605 + 30 = 20635 is 1 July, 1782864000000 at 00:00Z,
    less 8 h: 1782835200000).  */
/*  How many opcodes `op` the program of sql has (EXPLAIN).  */
static int s_opcodes(sqlite3 *db, const char *sql, const char *op)
{
    char explain[1024];
    sqlite3_stmt *stmt;
    int n = 0;
    snprintf(explain, sizeof explain, "EXPLAIN %s", sql);
    assert_int_equal(sqlite3_prepare_v2(db, explain, -1, &stmt, NULL), SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW)
        n += strcmp((const char *)sqlite3_column_text(stmt, 1), op) == 0;
    sqlite3_finalize(stmt);
    return n;
}

/*  Migration 24 writes transfers' CHECK of code as a chain of = (issue 17):
    a file of version 23, its CHECK an IN list that SQLite checks with an
    ephemeral table at every row, comes out with the chain, every transfer
    kept, and the same codes refused.  The old file is made from a copy:
    the text put back as migration 2 wrote it, user_version set back.  */
static void test_migrate_transfers_check(void **state)
{
    static const char insert[] =
        "INSERT INTO transfers(debit, credit, amount, code, period, created_ms, prev_hash, "
        "hash) VALUES (1, 2, 3, 'bogus', '2026-05', 0, zeroblob(32), zeroblob(32))";
    static const char in_list[] =
        "code IN (''commission'', ''referral'', ''override'',     ''clawback'', "
        "''payout'', ''adjustment'')";
    static const char chain[] =
        "code = ''commission'' OR code = ''referral'' OR code = ''override'' OR "
        "code = ''clawback'' OR code = ''payout'' OR code = ''adjustment''";
    fixture_t *fx = *state;
    char dir[160], path[256], sql[1024];
    int64_t transfers = s_int(fx->db, "SELECT count(*) FROM transfers");
    sqlite3 *db = NULL;
    char *err = NULL;

    snprintf(dir, sizeof dir, "%s/before-check", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    s_copy(fx, "before-check/" DN_CENTRAL_DB_FILE, path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_true(transfers > 0);
    assert_int_equal(s_opcodes(db, insert, "OpenEphemeral"), 0);
    snprintf(sql, sizeof sql,
             "PRAGMA writable_schema = ON;"
             "UPDATE sqlite_schema SET sql = replace(sql, '%s', '%s') "
             "  WHERE type = 'table' AND name = 'transfers';"
             "PRAGMA schema_version = %lld;"
             "PRAGMA writable_schema = OFF;"
             "DROP TABLE account_periods;" /* migration 25's */
             "PRAGMA user_version = 23;",
             chain, in_list, (long long)s_int(db, "PRAGMA schema_version") + 1);
    s_exec(db, sql);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(s_opcodes(db, insert, "OpenEphemeral"), 1); /* as version 23 had */
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_int_equal(dn_central_open(dir, 0, &db), 0);
    assert_int_equal(s_int(db, "PRAGMA user_version"), 26);
    assert_int_equal(s_opcodes(db, insert, "OpenEphemeral"), 0);
    assert_int_equal(s_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'transfers' "
                               "AND instr(sql, 'code IN (') = 0 "
                               "AND instr(sql, 'code = ''adjustment''') > 0"),
                     1);
    assert_int_equal(s_int(db, "SELECT count(*) FROM transfers"), transfers);
    assert_int_not_equal(sqlite3_exec(db, insert, NULL, NULL, &err), SQLITE_OK);
    assert_non_null(err);
    assert_non_null(strstr(err, "CHECK constraint failed"));
    sqlite3_free(err);
    assert_int_equal(s_int(db, "SELECT count(*) FROM transfers"), transfers);
    assert_int_equal(s_int(db, "SELECT count(*) FROM pragma_integrity_check "
                               "WHERE integrity_check = 'ok'"),
                     1);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/*  The marks of the accounts a flush moves (dn_ledger.c's s_balances, with
    migration 26's trigger): the flush numbers each partner's or member's
    account it touched from the counter on, as the trigger did, copies a
    member account's number to its members row, leaves HQ's accounts
    unmarked, and writes the counter once; a writer that moves a balance
    without its mark still gets one from the trigger.  On a copy of the
    ledger, so that no later test sees these postings.  */
static void test_flush_marks(void **state)
{
    fixture_t *fx = *state;
    char dir[160], path[256], why[256] = "";
    int64_t now = s_at("2026-05-23", 9), hq_mark;
    sqlite3 *db = NULL;
    json_t *out = NULL;

    snprintf(dir, sizeof dir, "%s/marks", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    s_copy(fx, "marks/" DN_CENTRAL_DB_FILE, path, sizeof path);
    assert_int_equal(dn_central_open(dir, 0, &db), 0);
    s_exec(db, "UPDATE down_marks SET mark = 1000 WHERE id = 1;");
    hq_mark = s_int(db, "SELECT down_mark FROM accounts WHERE name = '" HQC "'");

    /* one adjustment: partner:DE2 and hq:commission move; DE2 takes 1001 */
    assert_int_equal(
        dn_ledger_adjust(db, "DE2", 150, "marks", "hq", now, &out, why, sizeof why), 0);
    json_decref(out);
    assert_int_equal(s_int(db, "SELECT mark FROM down_marks"), 1001);
    assert_int_equal(s_int(db, "SELECT down_mark FROM accounts WHERE name = 'partner:DE2'"),
                     1001);
    assert_int_equal(s_int(db, "SELECT down_mark FROM accounts WHERE name = '" HQC "'"),
                     hq_mark);
    /* a member's account: 1002, on the account and on the member */
    assert_int_equal(dn_ledger_adjust(db, "member:" PHONE_A, 200, "marks", "hq", now + 1000,
                                      &out, why, sizeof why),
                     0);
    json_decref(out);
    assert_int_equal(s_int(db, "SELECT mark FROM down_marks"), 1002);
    assert_int_equal(s_int(db, "SELECT down_mark FROM accounts WHERE name = '" MEM_A "'"),
                     1002);
    assert_int_equal(s_int(db, "SELECT down_mark FROM members WHERE phone = '" PHONE_A "'"),
                     1002);
    /* a writer that leaves the mark alone: the trigger gives DE2 1003 */
    s_exec(db, "UPDATE accounts SET balance = balance + 0 WHERE name = 'partner:DE2';");
    assert_int_equal(s_int(db, "SELECT mark FROM down_marks"), 1003);
    assert_int_equal(s_int(db, "SELECT down_mark FROM accounts WHERE name = 'partner:DE2'"),
                     1003);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_migrate_zone(void **state)
{
    fixture_t *fx = *state;
    char dir[160], path[256], zone[DN_TIME_ZONE_SIZE], period[DN_PERIOD_SIZE];
    int64_t from = -1, to = -1;
    sqlite3 *db = NULL;

    snprintf(dir, sizeof dir, "%s/before-zone", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    s_copy(fx, "before-zone/" DN_CENTRAL_DB_FILE, path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* the zone's migration is the 18th: the file as the 17th left it
       (what the 20th to the 25th add goes too: the drill-down's indexes,
       the payout runs' tables, the account periods -- the 22nd's
       accounts' indexes the 25th dropped already; the web users' table is
       created only if missing; the 24th finds transfers' CHECK rewritten) */
    s_exec(db, "DELETE FROM meta WHERE key IN ('" DN_META_ZONE_FROM "', '" DN_META_ZONE "');"
               "DROP TABLE payout_run_lines; DROP TABLE payout_runs;"
               "DROP TABLE partner_banks;"
               "DROP INDEX sales_seller; DROP INDEX refunds_sale;"
               "DROP TABLE account_periods;"
               "PRAGMA user_version = 17;");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_int_equal(dn_central_open(dir, 0, &db), 0);
    assert_int_equal(dn_central_zone(db, zone, &from), 0);
    assert_string_equal(zone, "Asia/Shanghai");
    assert_int_equal(from, 1780272000000LL);
    assert_int_equal(dn_central_zone_load(db), 0);
    assert_string_equal(dn_time_zone(), "Asia/Shanghai");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    s_verify_ok_at(path);

    assert_int_equal(dn_time_parse_period("2026-05", &from, &to), 0);
    assert_int_equal(from, 1777593600000LL); /* day 20605 - 31 = 20574, 00:00Z */
    assert_int_equal(to, 1780272000000LL);
    assert_int_equal(dn_time_parse_period("2026-06", &from, &to), 0);
    assert_int_equal(from, 1780272000000LL);
    assert_int_equal(to, 1782835200000LL);
    dn_time_period_of(1780272000000LL - 1, period); /* 07:59 on 1 June in Beijing */
    assert_string_equal(period, "2026-05");
    dn_time_period_of(1782835200000LL, period); /* 00:00 on 1 July in Beijing */
    assert_string_equal(period, "2026-07");

    assert_int_equal(dn_time_zone_set(DN_TIME_ZONE_UTC, 0), 0);
    s_remove_copy(path);
    assert_int_equal(rmdir(dir), 0);
}

/*  One row of account_periods as "credits/debits", "" when there is none.  */
static char *s_period_row(sqlite3 *db, const char *account, const char *period,
                          const char *code)
{
    char sql[512];
    sqlite3_stmt *stmt;
    char *text;
    snprintf(sql, sizeof sql,
             "SELECT coalesce((SELECT p.credits || '/' || p.debits FROM account_periods p "
             "JOIN accounts a ON a.id = p.account WHERE a.name = '%s' AND p.period = '%s' "
             "AND p.code = '%s'), '')",
             account, period, code);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    text = strdup((const char *)sqlite3_column_text(stmt, 0));
    assert_non_null(text);
    sqlite3_finalize(stmt);
    return text;
}

static void s_assert_period_row(sqlite3 *db, const char *account, const char *period,
                                const char *code, const char *want)
{
    char *got = s_period_row(db, account, period, code);
    assert_string_equal(got, want);
    free(got);
}

/*  The figures of account_periods the fixture's transfers give, worked
    from test_statements: RS1 April, S7's commission 2.00; DE2 February,
    S10's level-1 commission 1.29 and the partial refund's clawback 0.64,
    March the completing refund's 0.65; member B February, the bonus 5.00
    and 0.43 of referral, 0.22 clawed back, March 0.21 and the bonus 5.00
    back (5.21); and test_payout's 20.00 of RS1 in May, credited to
    hq:payout.  */
static void s_assert_fixture_periods(sqlite3 *db)
{
    s_assert_period_row(db, "partner:RS1", "2026-04", "commission", "200/0");
    s_assert_period_row(db, "partner:DE2", "2026-02", "commission", "129/0");
    s_assert_period_row(db, "partner:DE2", "2026-02", "clawback", "0/64");
    s_assert_period_row(db, "partner:DE2", "2026-03", "clawback", "0/65");
    s_assert_period_row(db, MEM_B, "2026-02", "referral", "543/0");
    s_assert_period_row(db, MEM_B, "2026-02", "clawback", "0/22");
    s_assert_period_row(db, MEM_B, "2026-03", "clawback", "0/521");
    s_assert_period_row(db, "partner:RS1", "2026-05", "payout", "0/2000");
    s_assert_period_row(db, "hq:payout", "2026-05", "payout", "2000/0");
    s_assert_period_row(db, "partner:RS1", "2026-04", "referral", "");
}

/*  account_periods as the postings kept it: the figures worked by hand,
    and verify finds every row what the transfers add up to.  Then three
    rows changed behind the ledger's back -- RS1's April commission 2.00
    made 2.01, DE2's March clawback row removed, a July adjustment of 5.00
    that RS1 never had added -- and verify names each (exit 65), nothing
    else; a statement whose figures the table no longer matches is
    refused, and one it still matches is printed.  */
static void test_account_periods(void **state)
{
    fixture_t *fx = *state;
    char path[256], why[256] = "";
    sqlite3 *db = NULL;
    json_t *out = NULL, *list;
    int rc;

    s_assert_fixture_periods(fx->db);
    s_copy(fx, "periods-tampered.db", path, sizeof path);
    s_verify_ok_at(path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    s_exec(db, "UPDATE account_periods SET credits = 201 WHERE code = 'commission' "
               "AND period = '2026-04' AND account = "
               "(SELECT id FROM accounts WHERE name = 'partner:RS1');"
               "DELETE FROM account_periods WHERE code = 'clawback' AND period = '2026-03' "
               "AND account = (SELECT id FROM accounts WHERE name = 'partner:DE2');"
               "INSERT INTO account_periods(period, account, code, credits, debits) "
               "SELECT '2026-07', id, 'adjustment', 500, 0 FROM accounts "
               "WHERE name = 'partner:RS1';");
    /* a money column holds an integer: the table's CHECK */
    assert_int_not_equal(sqlite3_exec(db,
                                      "UPDATE account_periods SET debits = 0.5 "
                                      "WHERE period = '2026-04'",
                                      NULL, NULL, NULL),
                         SQLITE_OK);

    /* RS1's April: the listing's 2.00 against the table's 2.01 */
    assert_int_equal(dn_ledger_statement(db, "RS1", NULL, "2026-04", s_at("2026-06-01", 0),
                                         &out, why, sizeof why),
                     DN_EDB);
    assert_null(out);
    assert_string_equal(why, "statement: the figures of partner:RS1 for 2026-04 "
                             "(account_periods) are not those of its transfers; run "
                             "dealernet-hq verify");
    /* DE2's February is as it was: opening 0.00, 1.29 - 0.64 = 0.65 */
    out = s_statement_on(db, "DE2", NULL, "2026-02", "0.00", "0.65", 2);
    json_decref(out);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    rc = s_verify(path, &out);
    assert_int_equal(rc, DN_ECHAIN);
    list = json_object_get(out, "differences");
    if (json_array_size(list) != 3)
        s_print_differences(out);
    assert_int_equal(json_array_size(list), 3);
    /* by period: March, April, July */
    assert_string_equal(json_string_value(json_array_get(list, 0)),
                        "account partner:DE2: no account_periods row for 2026-03 "
                        "clawback; its transfers credit 0 and debit 65 (minor units)");
    assert_string_equal(json_string_value(json_array_get(list, 1)),
                        "account partner:RS1: account_periods says 2026-04 commission "
                        "credits 201, debits 0; its transfers credit 200, debit 0 (minor "
                        "units)");
    assert_string_equal(json_string_value(json_array_get(list, 2)),
                        "account partner:RS1: account_periods holds 2026-07 adjustment "
                        "(credits 500, debits 0), where it has no transfer");
    json_decref(out);
    s_remove_copy(path);
}

/*  A file of version 23 (migration 22's account indexes, no
    account_periods) that holds transfers: migration 25 drops the indexes
    and fills the table from the transfers, with the figures worked above,
    the statements read as before, and verify agrees.  */
static void test_migrate_account_periods(void **state)
{
    fixture_t *fx = *state;
    char dir[160], path[256];
    sqlite3 *db = NULL;
    json_t *st;

    snprintf(dir, sizeof dir, "%s/before-periods", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    s_copy(fx, "before-periods/" DN_CENTRAL_DB_FILE, path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    s_exec(db, "DROP TABLE account_periods;"
               "CREATE INDEX transfers_credit ON transfers(credit, period);"
               "CREATE INDEX transfers_debit ON transfers(debit, period);"
               "PRAGMA user_version = 23;");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_int_equal(dn_central_open(dir, 0, &db), 0);
    assert_int_equal(s_int(db, "PRAGMA user_version"), 26);
    assert_int_equal(s_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN "
                               "('transfers_credit', 'transfers_debit')"),
                     0);
    s_assert_fixture_periods(db);
    /* RS1, April and May, as test_statements and test_payout read them */
    st = s_statement_on(db, "RS1", NULL, "2026-04", "32.97", "34.97", 1);
    json_decref(st);
    st = s_statement_on(db, "RS1", NULL, "2026-05", "34.97", "17.97", 2);
    json_decref(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    s_verify_ok_at(path);
    s_remove_copy(path);
    assert_int_equal(rmdir(dir), 0);
}

/*  A plan effective DATE, with the fixture's plan 2 rates.  */
static void s_plan_on(sqlite3 *db, const char *date, int64_t now)
{
    char text[sizeof s_plan2 + 16];
    snprintf(text, sizeof text, "[plan]\neffective = %s%s", date,
             s_plan2 + strlen("[plan]\neffective = 2026-03-15"));
    s_plan(db, text, now);
}

/*  Dates HQ typed before the zone (issue 13, item 3 of the review) move to
    the zone's midnight when the file meets its zone, once.  The file is
    the fixture (no sale after May 2026) as the 17th migration left it, with
    zone_from written as 2027-01-01T00:00Z: day 20454 (2026-01-01) + 365 =
    20819, * 86400000 = 1798761600000.  2027-02-01 is day 20819 + 31 =
    20850, 00:00Z = 1801440000000; Beijing's midnight that date is 8 h
    earlier, 2027-01-31T16:00Z = 1801440000000 - 28800000 = 1801411200000.
    Typed in UTC days: a plan version, a partner move (DE2 under R1), a
    partner joined and the network's price of COLA, each on 2027-02-01; a
    plan version and a price on 2027-01-01 (zone_from: Beijing's midnight,
    2026-12-31T16:00Z, is behind it, so they stay).  TEA has a price of
    2027-02-01 at UTC midnight and one set once the zone had come at
    Beijing's midnight (a later version): the later stays, the other is
    withdrawn.  A plan version of 2027-04-01 (day 20850 + 28 + 31 = 20909,
    1806537600000) has one of the same date set once the zone had come, at
    1806537600000 - 28800000 = 1806508800000: that one stays in force, the
    one at UTC midnight is retired.  */
static void test_zone_dates(void **state)
{
    fixture_t *fx = *state;
    char dir[160], path[256];
    int64_t setup = s_at("2026-12-20", 10);
    sqlite3 *db = NULL;

    snprintf(dir, sizeof dir, "%s/zone-dates", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    s_copy(fx, "zone-dates/" DN_CENTRAL_DB_FILE, path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* the process keeps UTC days here, as the server did before the zone */
    s_plan_on(db, "2027-01-01", setup);
    s_plan_on(db, "2027-02-01", setup);
    s_plan_on(db, "2027-04-01", setup);
    s_move(db, "DE2", "R1", s_at("2027-02-01", 0));
    s_recruited(db, "RS9", "reseller", "DE1", "RS1", s_at("2027-02-01", 0), setup);
    s_exec(db,
           "INSERT INTO catalog(sku, partner, effective_ms, name, price, version, changed_ms)"
           "  VALUES ('COLA', NULL, 1801440000000, 'Cola', 300, 1, 0),"
           "         ('TEA', NULL, 1801440000000, 'Tea', 500, 2, 0),"
           "         ('TEA', NULL, 1801411200000, 'Tea', 550, 3, 0),"
           "         ('COLA', NULL, 1798761600000, 'Cola', 280, 4, 0);"
           /* the version of 2027-04-01 set again once the zone had come */
           "INSERT INTO plans(effective_ms, currency, cap_bps, first_purchase_bonus,"
           "  purchase_bps, purchase_days, recruit_override_bps, recruit_override_days,"
           "  source, created_ms) SELECT 1806508800000, currency, cap_bps,"
           "  first_purchase_bonus, purchase_bps, purchase_days, recruit_override_bps,"
           "  recruit_override_days, source, created_ms + 1 FROM plans"
           "  WHERE effective_ms = 1806537600000;"
           /* an import under way, its days parsed in UTC */
           "INSERT INTO catalog_uploads(upload, parts, started_ms) VALUES ('u1', 1, 0);"
           "INSERT INTO catalog_staged(upload, line, sku, partner, effective_ms, name,"
           "  category, price, fixed) VALUES ('u1', 2, 'MILK', '', 1801440000000, 'Milk',"
           "  '', 900, 0);"
           "DELETE FROM meta WHERE key IN ('" DN_META_ZONE "', '" DN_META_ZONE_DATES "');"
           "INSERT OR REPLACE INTO meta(key, value) VALUES ('" DN_META_ZONE_FROM
           "', '1798761600000');"
           "DROP TABLE payout_run_lines; DROP TABLE payout_runs;"
           "DROP TABLE partner_banks;"
           "DROP INDEX sales_seller; DROP INDEX refunds_sale;"
           "DROP TABLE account_periods;"
           "PRAGMA user_version = 17;");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    assert_int_equal(dn_central_open(dir, 0, &db), 0);
    assert_int_equal(
        s_int(db, "SELECT count(*) FROM meta WHERE key = '" DN_META_ZONE_DATES "'"), 1);
    assert_int_equal(dn_central_zone_load(db), 0);
    assert_string_equal(dn_time_zone(), "Asia/Shanghai");
    assert_int_equal(
        s_int(db, "SELECT count(*) FROM meta WHERE key = '" DN_META_ZONE_DATES "'"), 0);
    /* the plan, the move and the joined date of 2027-02-01: at Beijing's midnight */
    assert_int_equal(s_int(db, "SELECT count(*) FROM plans WHERE effective_ms = "
                               "1801411200000 AND retired_ms IS NULL"),
                     1);
    assert_int_equal(s_int(db, "SELECT count(*) FROM plans WHERE effective_ms = 1801440000000"),
                     0);
    assert_int_equal(s_int(db, "SELECT l.effective_ms FROM partner_links l JOIN partners p "
                               "ON p.id = l.partner_id WHERE p.code = 'DE2' AND "
                               "l.effective_ms > 0"),
                     1801411200000LL);
    assert_int_equal(s_int(db, "SELECT joined_ms FROM partners WHERE code = 'RS9'"),
                     1801411200000LL);
    /* 2027-01-01 stays at zone_from */
    assert_int_equal(s_int(db, "SELECT count(*) FROM plans WHERE effective_ms = "
                               "1798761600000 AND retired_ms IS NULL"),
                     1);
    assert_int_equal(s_int(db, "SELECT version FROM catalog WHERE sku = 'COLA' AND "
                               "effective_ms = 1798761600000 AND removed = 0"),
                     4);
    /* the catalogue, by id: COLA's row at UTC midnight withdrawn (version
       5), its copy at Beijing's midnight (6); TEA's withdrawn (7), the
       later one, 5.50, stays as it was (3) */
    assert_int_equal(s_int(db, "SELECT version FROM catalog WHERE sku = 'COLA' AND "
                               "effective_ms = 1801440000000 AND removed = 1"),
                     5);
    assert_int_equal(s_int(db, "SELECT version * 1000 + price FROM catalog WHERE sku = "
                               "'COLA' AND effective_ms = 1801411200000 AND removed = 0"),
                     6300);
    assert_int_equal(s_int(db, "SELECT version FROM catalog WHERE sku = 'TEA' AND "
                               "effective_ms = 1801440000000 AND removed = 1"),
                     7);
    assert_int_equal(s_int(db, "SELECT version * 1000 + price FROM catalog WHERE sku = "
                               "'TEA' AND effective_ms = 1801411200000 AND removed = 0"),
                     3550);
    assert_int_equal(s_int(db, "SELECT count(*) FROM catalog"), 5);
    /* 2027-04-01: the version set once the zone had come stays in force */
    assert_int_equal(s_int(db, "SELECT count(*) FROM plans WHERE effective_ms = "
                               "1806508800000 AND retired_ms IS NULL"),
                     1);
    assert_int_equal(s_int(db, "SELECT count(*) FROM plans WHERE effective_ms = "
                               "1806537600000 AND retired_by = 'zone migration'"),
                     1);
    assert_int_equal(s_int(db, "SELECT count(*) FROM catalog_staged") +
                         s_int(db, "SELECT count(*) FROM catalog_uploads"),
                     0);

    /* once: a row at a UTC midnight written after it (2027-03-01, day
       20850 + 28 = 20878, 1803859200000) stays where it is */
    s_exec(db, "UPDATE partners SET joined_ms = 1803859200000 WHERE code = 'RS9'");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(dn_central_open(dir, 0, &db), 0);
    assert_int_equal(dn_central_zone_load(db), 0);
    assert_int_equal(s_int(db, "SELECT joined_ms FROM partners WHERE code = 'RS9'"),
                     1803859200000LL);
    assert_int_equal(s_int(db, "SELECT max(version) FROM catalog"), 7);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    s_verify_ok_at(path);

    assert_int_equal(dn_time_zone_set(DN_TIME_ZONE_UTC, 0), 0);
    s_remove_copy(path);
    assert_int_equal(rmdir(dir), 0);
}

/* -- periods, retired plans --------------------------------------------------------- */

/*  The periods as one compact JSON text, at now.  */
static char *s_periods(sqlite3 *db, int64_t now)
{
    json_t *list = NULL;
    char *text;
    assert_int_equal(dn_ledger_period_list(db, now, &list), 0);
    text = json_dumps(list, JSON_COMPACT);
    assert_non_null(text);
    json_decref(list);
    return text;
}

/*  A month closes once it has ended, by the clock of the server (now_ms),
    at the exact boundary; the list shows the open month postings go to.  */
static void test_periods(void **state)
{
    fixture_t *fx = *state;
    static const char june_open[] =
        "[{\"period\":\"2026-04\",\"status\":\"closed\","
        "\"closed\":\"2026-05-02T00:00:00.000Z\",\"closed_by\":\"hq\"},"
        "{\"period\":\"2026-05\",\"status\":\"closed\","
        "\"closed\":\"2026-06-01T00:00:00.000Z\",\"closed_by\":\"hq\"},"
        "{\"period\":\"2026-06\",\"status\":\"open\",\"closed\":null,"
        "\"closed_by\":null}]";
    int64_t may_last = s_at("2026-06-01", 0) - 1; /* 2026-05-31T23:59:59.999Z */
    char why[256] = "", *text;

    assert_int_equal(
        dn_ledger_period_close(fx->db, "2026-05", "hq", may_last, why, sizeof why),
        DN_ELIMIT);
    assert_string_equal(why, "period 2026-05 has not ended yet: it can be closed from "
                             "2026-06-01T00:00:00.000Z on");
    assert_int_equal(dn_exit_code(DN_ELIMIT), 65);
    assert_int_equal(
        dn_ledger_period_close(fx->db, "2026-12", "hq", may_last, why, sizeof why),
        DN_ELIMIT);
    assert_string_equal(why, "period 2026-12 has not ended yet: it can be closed from "
                             "2027-01-01T00:00:00.000Z on");
    assert_int_equal(
        dn_ledger_period_close(fx->db, "2026-5", "hq", may_last, why, sizeof why),
        DN_EPARSE);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM periods"), 1);

    text = s_periods(fx->db, may_last);
    assert_string_equal(text,
                        "[{\"period\":\"2026-04\",\"status\":\"closed\","
                        "\"closed\":\"2026-05-02T00:00:00.000Z\",\"closed_by\":\"hq\"},"
                        "{\"period\":\"2026-05\",\"status\":\"open\",\"closed\":null,"
                        "\"closed_by\":null}]");
    free(text);

    /* from the first millisecond of June, May has ended */
    assert_int_equal(
        dn_ledger_period_close(fx->db, "2026-05", "hq", may_last + 1, why, sizeof why),
        0);
    text = s_periods(fx->db, may_last + 1);
    assert_string_equal(text, june_open);
    free(text);
    /* seen from inside May (as a month closed before this version refused
       it would be), postings go to June: the list says so */
    text = s_periods(fx->db, s_at("2026-05-20", 0));
    assert_string_equal(text, june_open);
    free(text);
    dn_ingest_forget(fx->ingest);
}

/*  P3 (effective 2026-06-01, 20 % at level 0) is set and retired before any
    sale of June: a sale recorded on 2026-06-05 then posts under P2, which
    is in force again from P3's date, and verify agrees.  P2 itself, in
    force for S6, is never retired.  */
static void test_retired_plan(void **state)
{
    static const char june[] = "[plan]\neffective = 2026-06-01\ncurrency = CNY\n"
                               "[levels]\n0 = 2000\n";
    static const dn_tk_line_t s12[] = {{"SOAP-6", 1, 5000, NULL}};
    static const xfer_t want[] = {
        /* P3 of the corrections (2026-05-15: 800/300/100, cap 1500):
           50.00 x 8% = 4.00, x 3% = 1.50, x 1% = 0.50 */
        {"commission", HQC, "partner:RS1", 400, 0, 800, "", 0, "2026-06", ""},
        {"commission", HQC, "partner:DE1", 150, 1, 300, "", 0, "2026-06", ""},
        {"commission", HQC, "partner:DI1", 50, 2, 100, "", 0, "2026-06", ""},
    };
    fixture_t *fx = *state;
    int64_t now = s_at("2026-05-20", 9);
    json_t *out = NULL;
    dn_plan_t plan;
    char why[512] = "", *text;

    s_plan(fx->db, june, now);
    assert_int_equal(dn_plan_at(fx->db, s_at("2026-06-05", 10), &plan), 0);
    assert_int_equal(plan.levels.bps[0], 2000);
    assert_int_equal(dn_plan_retire(fx->db, s_at("2026-06-01", 0), "hq", now + 1, &out,
                                    why, sizeof why),
                     0);
    text = json_dumps(out, JSON_COMPACT);
    assert_string_equal(text, "{\"effective\":\"2026-06-01\",\"retired\":"
                              "\"2026-05-20T09:00:00.001Z\",\"retired_by\":\"hq\","
                              "\"in_force_instead\":\"2026-05-15\"}");
    free(text);
    json_decref(out);
    out = NULL;
    dn_ingest_forget(fx->ingest); /* as the server does after an admin command */
    assert_int_equal(dn_plan_at(fx->db, s_at("2026-06-05", 10), &plan), 0);
    assert_int_equal(plan.effective_ms, s_at("2026-05-15", 0));

    s_sale(fx, SHOP_A, s_at("2026-06-05", 10), "RS1", NULL, s12, N_OF(s12), S12);
    s_sync(fx, SHOP_A, s_at("2026-06-05", 12));
    s_check(fx, S12, S12, want, N_OF(want));

    /* P2 holds S6, S7, S8 (2026-03-16, 04-08, 04-28): 3 sales */
    assert_int_equal(
        dn_plan_retire(fx->db, s_at("2026-03-15", 0), "hq", now, &out, why, sizeof why),
        DN_EPERM);
    assert_null(out);
    assert_string_equal(why,
                        "the plan effective 2026-03-15 is the one in force for 3 "
                        "stored sales (the first recorded 2026-03-16T10:00:00.000Z): "
                        "retiring it would change what they earned; set a new "
                        "version from a later date instead");

    /* the ledger, replayed with the versions in force, agrees: the 71
       transfers after the corrections, + 3 */
    if (s_verify(fx->path, &out) != 0)
        s_print_differences(out);
    assert_true(json_is_true(json_object_get(out, "ok")));
    assert_int_equal(json_integer_value(json_object_get(out, "transfers")), 74);
    json_decref(out);
}

/* -- corrections: void and adjust (issue 10, item 6) --------------------------------

    After everything above (RS1 has been paid 20.00 out), a third plan
    version P3 (effective 2026-05-15: levels 0=800 1=300 2=100 again, cap
    1500, the same referral section) makes three levels pay once more, and
    a third site SHOP-C of DE2 records, on 2026-05-20:

      C1  10:00  D (+8613800000004) signs up, referred by member C
      S11 11:00  RS2 (under DE2 since 02-15) sells to D: OIL-2L 25.00
                 (oil) + SOAP-6 12.50 (no category) = 37.50
      R3  12:00  refund of the SOAP-6 line, 12.50 (a third: partial)

    synced at 13:00.  HQ voids S11 on 2026-05-21 at 09:00; SHOP-C then
    records R4 (05-22 10:00), a refund of 5.00 of S11 by amount, synced at
    11:00.  */

#define PHONE_D "+8613800000004"
#define MEM_C   "member:" PHONE_C

static const char s_plan3[] = "[plan]\n"
                              "effective = 2026-05-15\n"
                              "currency = CNY\n"
                              "cap_bps = 1500\n"
                              "\n"
                              "[levels]\n"
                              "0 = 800\n"
                              "1 = 300\n"
                              "2 = 100\n"
                              "\n"
                              "[referral]\n"
                              "first_purchase_bonus = 5.00\n"
                              "purchase_bps = 100\n"
                              "purchase_days = 365\n"
                              "recruit_override_bps = 50\n"
                              "recruit_override_days = 365\n";

/*  sale void, as the admin command runs it: the ledger's reversal and the
    rollups' in one transaction, then the server's caches forgotten.
    Returns dn_ledger_void's code (the transaction rolled back on error).  */
static int s_void(fixture_t *fx, int sale, const char *reason, int64_t now, json_t **out,
                  char *why, size_t why_size)
{
    dn_ledger_t *ledger = dn_ledger_new(fx->db);
    dn_rollup_t *report = dn_rollup_new(fx->db);
    int64_t eid = s_eid(fx->db, fx->ids[sale]), through = 0;
    int rc;

    assert_non_null(ledger);
    assert_non_null(report);
    s_exec(fx->db, "BEGIN IMMEDIATE");
    rc = dn_ledger_void(ledger, eid, reason, "hq", now, &through, out, why, why_size);
    if (rc == 0) {
        assert_int_equal(dn_rollup_void(report, eid, through, now), 0);
        assert_int_equal(dn_rollup_flush(report), 0);
        s_exec(fx->db, "COMMIT");
    } else {
        s_exec(fx->db, "ROLLBACK");
    }
    dn_rollup_destroy(&report);
    dn_ledger_destroy(&ledger);
    dn_ingest_forget(fx->ingest);
    return rc;
}

/*  The transfers of a correction, as s_check compares them: those whose
    ids lie in the correction's range.  */
static void s_check_correction(fixture_t *fx, int64_t correction, const xfer_t *want,
                               size_t n)
{
    sqlite3_stmt *stmt;
    int used[16] = {0};
    size_t got = 0;

    assert_true(n <= N_OF(used));
    assert_int_equal(
        sqlite3_prepare_v2(
            fx->db,
            "SELECT t.code, d.name, c.name, t.amount, coalesce(t.level, -1), "
            "coalesce(t.rate_bps, -1), coalesce(t.category, ''), t.bonus, t.period, "
            "coalesce(t.event_period, '') FROM corrections k JOIN transfers t "
            "ON t.id BETWEEN k.first_transfer AND k.last_transfer "
            "JOIN accounts d ON d.id = t.debit JOIN accounts c ON c.id = t.credit "
            "WHERE k.id = ? ORDER BY t.id",
            -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(stmt, 1, correction);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        size_t i;
        got++;
        for (i = 0; i < n; i++) {
            const xfer_t *w = &want[i];
            if (!used[i] &&
                strcmp(w->code, (const char *)sqlite3_column_text(stmt, 0)) == 0 &&
                strcmp(w->debit, (const char *)sqlite3_column_text(stmt, 1)) == 0 &&
                strcmp(w->credit, (const char *)sqlite3_column_text(stmt, 2)) == 0 &&
                w->amount == sqlite3_column_int64(stmt, 3) &&
                w->level == sqlite3_column_int(stmt, 4) &&
                w->rate == sqlite3_column_int(stmt, 5) &&
                strcmp(w->category, (const char *)sqlite3_column_text(stmt, 6)) == 0 &&
                w->bonus == sqlite3_column_int(stmt, 7) &&
                strcmp(w->period, (const char *)sqlite3_column_text(stmt, 8)) == 0 &&
                strcmp(w->event_period, (const char *)sqlite3_column_text(stmt, 9)) == 0)
                break;
        }
        if (i == n)
            print_error("unexpected transfer of correction %lld: %s %s -> %s %lld\n",
                        (long long)correction, sqlite3_column_text(stmt, 0),
                        sqlite3_column_text(stmt, 1), sqlite3_column_text(stmt, 2),
                        (long long)sqlite3_column_int64(stmt, 3));
        assert_true(i < n);
        used[i] = 1;
    }
    sqlite3_finalize(stmt);
    assert_int_equal(got, n);
}

/*  The sale S11 with three levels, an override and a referral, refunded
    by a third, then voided: every figure by hand.  */
static void test_void(void **state)
{
    /* S11 under P3, 37.50 in one [levels] group (oil has no table) */
    static const xfer_t sale[] = {
        {"commission", HQC, "partner:RS2", 300 /* 37.50 x 8% = 3.00 */, 0, 800, "", 0,
         "2026-05", ""},
        /* 37.50 x 3% = 1.125 -> 1.12: half to even, down */
        {"commission", HQC, "partner:DE2", 112, 1, 300, "", 0, "2026-05", ""},
        /* 37.50 x 1% = 0.375 -> 0.38: half to even, up */
        {"commission", HQC, "partner:DI1", 38, 2, 100, "", 0, "2026-05", ""},
        /* R1 is level 3: no rate; HQ never earns.  RS2's recruiter RS1,
           within 365 days of 2026-01-05: 37.50 x 0.5% = 0.1875 -> 0.19 */
        {"override", HQC, "partner:RS1", 19, -1, 50, "", 0, "2026-05", ""},
        /* D's first purchase: its referrer C gets 5.00 and 1% */
        {"referral", HQR, MEM_C, 500, -1, -1, "", 1, "2026-05", ""},
        {"referral", HQR, MEM_C, 38 /* 37.50 x 1% = 0.375 -> 0.38 */, -1, 100, "", 0,
         "2026-05", ""},
    };
    /* R3: 12.50 / 37.50 = a third of each, half-even; the bonus stays */
    static const xfer_t refund[] = {
        {"clawback", "partner:RS2", HQC, 100 /* 3.00 / 3 = 1.00 */, 0, 800, "", 0,
         "2026-05", ""},
        {"clawback", "partner:DE2", HQC, 37 /* 1.12 / 3 = 0.3733 -> 0.37 */, 1, 300, "",
         0, "2026-05", ""},
        {"clawback", "partner:DI1", HQC, 13 /* 0.38 / 3 = 0.1267 -> 0.13 */, 2, 100, "",
         0, "2026-05", ""},
        {"clawback", "partner:RS1", HQC, 6 /* 0.19 / 3 = 0.0633 -> 0.06 */, -1, 50, "", 0,
         "2026-05", ""},
        {"clawback", MEM_C, HQR, 13 /* 0.38 / 3 = 0.1267 -> 0.13 */, -1, 100, "", 0,
         "2026-05", ""},
    };
    /* The void: what R3 left of each, the bonus whole, in 2026-05 */
    static const xfer_t reversal[] = {
        {"adjustment", "partner:RS2", HQC, 200 /* 3.00 - 1.00 */, 0, 800, "", 0,
         "2026-05", ""},
        {"adjustment", "partner:DE2", HQC, 75 /* 1.12 - 0.37 */, 1, 300, "", 0, "2026-05",
         ""},
        {"adjustment", "partner:DI1", HQC, 25 /* 0.38 - 0.13 */, 2, 100, "", 0, "2026-05",
         ""},
        {"adjustment", "partner:RS1", HQC, 13 /* 0.19 - 0.06 */, -1, 50, "", 0, "2026-05",
         ""},
        {"adjustment", MEM_C, HQR, 500 /* the bonus: a void is the whole sale */, -1, -1,
         "", 1, "2026-05", ""},
        {"adjustment", MEM_C, HQR, 25 /* 0.38 - 0.13 */, -1, 100, "", 0, "2026-05", ""},
    };
    static const dn_tk_line_t s11[] = {{"OIL-2L", 1, 2500, "oil"},
                                       {"SOAP-6", 1, 1250, NULL}};
    fixture_t *fx = *state;
    int64_t setup = s_at("2026-05-20", 9);
    json_t *out = NULL;
    char why[256] = "", id[DN_ID_TEXT_SIZE], text[256];
    int64_t voided = s_at("2026-05-21", 9), sale_eid;

    s_plan(fx->db, s_plan3, setup);
    s_enroll(fx, SHOP_C, "SHOP-C", "DE2", 0x70, setup);
    dn_ingest_forget(fx->ingest);
    s_signup(fx, SHOP_C, s_at("2026-05-20", 10), PHONE_D, "D", PHONE_C, NULL);
    s_sale(fx, SHOP_C, s_at("2026-05-20", 11), "RS2", PHONE_D, s11, N_OF(s11), S11);
    s_refund(fx, SHOP_C, s_at("2026-05-20", 12), S11, 1250, "SOAP-6", 1, R3);
    s_sync(fx, SHOP_C, s_at("2026-05-20", 13));
    s_check(fx, S11, S11, sale, N_OF(sale));
    s_check(fx, R3, S11, refund, N_OF(refund));

    sale_eid = s_eid(fx->db, fx->ids[S11]);
    dn_id_format(fx->ids[S11], id);
    assert_int_equal(
        s_void(fx, S11, "test sale, never paid", voided, &out, why, sizeof why), 0);
    assert_non_null(out);
    assert_int_equal(json_integer_value(json_object_get(out, "correction")), 1);
    assert_string_equal(json_string_value(json_object_get(out, "sale")), id);
    assert_string_equal(json_string_value(json_object_get(out, "by")), "hq");
    assert_string_equal(json_string_value(json_object_get(out, "reason")),
                        "test sale, never paid");
    assert_string_equal(json_string_value(json_object_get(out, "voided")),
                        "2026-05-21T09:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(out, "period")), "2026-05");
    assert_int_equal(json_integer_value(json_object_get(out, "transfers")), 6);
    /* 2.00 + 0.75 + 0.25 + 0.13 + 5.00 + 0.25 = 8.38 */
    assert_string_equal(json_string_value(json_object_get(out, "reversed")), "8.38");
    /* 37.50 - 12.50 refunded before: 25.00 more counts as refunded */
    assert_string_equal(json_string_value(json_object_get(out, "refunded")), "25.00");
    json_decref(out);
    out = NULL;
    s_check_correction(fx, 1, reversal, N_OF(reversal));
    /* each reversal names what it reverses, accounts swapped, and nothing
       of the sale is left */
    snprintf(
        text, sizeof text,
        "SELECT count(*) FROM transfers o WHERE o.sale_eid = %lld AND o.reverses IS NULL "
        "AND o.amount != (SELECT sum(c.amount) FROM transfers c WHERE c.reverses = o.id "
        "AND c.debit = o.credit AND c.credit = o.debit)",
        (long long)sale_eid);
    assert_int_equal(s_int(fx->db, text), 0);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM corrections WHERE kind = 'void' "
                                   "AND amount = 2500 AND admin = 'hq' "
                                   "AND reason = 'test sale, never paid'"),
                     1);

    /* a second void is refused, and says when and by whom */
    snprintf(
        text, sizeof text,
        "sale %s was voided already, at 2026-05-21T09:00:00.000Z by hq (correction 1): "
        "a sale is voided once",
        id);
    assert_int_equal(s_void(fx, S11, "again", voided + 1000, &out, why, sizeof why),
                     DN_EDUP);
    assert_null(out);
    assert_string_equal(why, text);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM corrections"), 1);

    /* a reason with a control character, or longer than 200 bytes, is refused */
    assert_int_equal(s_void(fx, S1, "two\nlines", voided, &out, why, sizeof why),
                     DN_EINVAL);
    memset(text, 'x', 201);
    text[201] = '\0';
    assert_int_equal(s_void(fx, S1, text, voided, &out, why, sizeof why), DN_EINVAL);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM corrections"), 1);
}

/*  A refund of the voided sale is stored, and posts and rolls up nothing.  */
static void test_refund_after_void(void **state)
{
    fixture_t *fx = *state;
    char sql[256];
    int64_t transfers = s_int(fx->db, "SELECT count(*) FROM transfers");

    s_refund(fx, SHOP_C, s_at("2026-05-22", 10), S11, 500, NULL, 0, R4);
    s_sync(fx, SHOP_C, s_at("2026-05-22", 11));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM refunds WHERE eid = %lld",
             (long long)s_eid(fx->db, fx->ids[R4]));
    assert_int_equal(s_int(fx->db, sql), 1);
    /* 12.50 + 5.00 refunded as the shop sees it */
    snprintf(sql, sizeof sql, "SELECT refunded FROM sales WHERE eid = %lld",
             (long long)s_eid(fx->db, fx->ids[S11]));
    assert_int_equal(s_int(fx->db, sql), 1750);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM transfers"), transfers);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM refund_categories WHERE refund_eid = %lld",
             (long long)s_eid(fx->db, fx->ids[R4]));
    assert_int_equal(s_int(fx->db, sql), 0);

    /* Balances: S11, R3 and the void add up to nothing for everyone.
       RS2: 1.68 + 3.00 - 1.00 - 2.00 = 1.68; DE2: 0 + 1.12 - 0.37 - 0.75 = 0;
       DI1: 3.41 + 0.38 - 0.13 - 0.25 = 3.41; RS1: 17.97 (after the payout)
       + 0.19 - 0.06 - 0.13 = 17.97; C: 5.00 + 0.38 - 0.13 - 5.00 - 0.25 = 0;
       HQ commission: -51.33 - 4.69 + 1.56 + 3.13 = -51.33; HQ referral:
       -10.97 - 5.38 + 0.13 + 5.25 = -10.97 */
    assert_int_equal(s_balance(fx->db, "partner:RS2"), 168);
    assert_int_equal(s_balance(fx->db, "partner:DE2"), 0);
    assert_int_equal(s_balance(fx->db, "partner:DI1"), 341);
    assert_int_equal(s_balance(fx->db, "partner:RS1"), 1797);
    assert_int_equal(s_balance(fx->db, MEM_C), 0);
    assert_int_equal(s_balance(fx->db, HQC), -5133);
    assert_int_equal(s_balance(fx->db, HQR), -1097);
    assert_int_equal(s_int(fx->db, "SELECT sum(balance) FROM accounts"), 0);
    /* 51 + S11 6 + R3 5 + the void 6 + R4 0 */
    assert_int_equal(transfers, 68);
}

/*  The reports count the void as a refund of the 25.00 R3 left, in May;
    R4 counts nowhere.  */
static void test_void_reports(void **state)
{
    fixture_t *fx = *state;
    dn_report_sales_t q = {.by = DN_REPORT_BY_MONTH,
                           .from_ms = s_at("2026-05-01", 0),
                           .to_ms = s_at("2026-05-31", 23)};
    json_t *out = NULL, *row;
    char why[256] = "";

    /* May: S11 37.50; refunds R3 12.50 and the void 25.00 */
    assert_int_equal(dn_report_sales(fx->db, &q, &out, why, sizeof why), 0);
    assert_int_equal(json_array_size(out), 1);
    row = json_array_get(out, 0);
    assert_int_equal(json_integer_value(json_object_get(row, "sales")), 1);
    assert_string_equal(json_string_value(json_object_get(row, "total")), "37.50");
    assert_int_equal(json_integer_value(json_object_get(row, "refunds")), 2);
    assert_string_equal(json_string_value(json_object_get(row, "refunded")), "37.50");
    assert_string_equal(json_string_value(json_object_get(row, "net")), "0.00");
    json_decref(out);

    /* by category: R3 named the SOAP-6 line (no category); the void takes
       what is left of each: oil 25.00, none 12.50 - 12.50 = 0 (no row) */
    q.by = DN_REPORT_BY_CATEGORY;
    assert_int_equal(dn_report_sales(fx->db, &q, &out, why, sizeof why), 0);
    assert_int_equal(json_array_size(out), 2);
    row = json_array_get(out, 0); /* lines without a category first */
    assert_true(json_is_null(json_object_get(row, "category")));
    assert_int_equal(json_integer_value(json_object_get(row, "refunds")), 1);
    assert_string_equal(json_string_value(json_object_get(row, "refunded")), "12.50");
    row = json_array_get(out, 1);
    assert_string_equal(json_string_value(json_object_get(row, "category")), "oil");
    assert_string_equal(json_string_value(json_object_get(row, "total")), "25.00");
    assert_int_equal(json_integer_value(json_object_get(row, "refunds")), 1);
    assert_string_equal(json_string_value(json_object_get(row, "refunded")), "25.00");
    json_decref(out);

    /* DE2's team in May: the same, from the rollup */
    q.by = DN_REPORT_BY_MONTH;
    q.partner = "DE2";
    q.team = 1;
    assert_int_equal(dn_report_sales(fx->db, &q, &out, why, sizeof why), 0);
    assert_int_equal(json_array_size(out), 1);
    row = json_array_get(out, 0);
    assert_string_equal(json_string_value(json_object_get(row, "month")), "2026-05");
    assert_int_equal(json_integer_value(json_object_get(row, "sales")), 1);
    assert_int_equal(json_integer_value(json_object_get(row, "refunds")), 2);
    assert_string_equal(json_string_value(json_object_get(row, "refunded")), "37.50");
    assert_string_equal(json_string_value(json_object_get(row, "net")), "0.00");
    json_decref(out);
}

/*  Manual adjustments: a credit, a debit, a member's credit, and what is
    refused.  */
static void test_adjust(void **state)
{
    fixture_t *fx = *state;
    int64_t now = s_at("2026-05-23", 9);
    json_t *out = NULL;
    char why[256] = "", reason[201];
    int64_t transfers = s_int(fx->db, "SELECT count(*) FROM transfers");

    assert_int_equal(dn_ledger_adjust(fx->db, "DE2", 150,
                                      "missed commission on receipt 17", "hq", now, &out,
                                      why, sizeof why),
                     0);
    assert_int_equal(json_integer_value(json_object_get(out, "correction")), 2);
    assert_string_equal(json_string_value(json_object_get(out, "account")),
                        "partner:DE2");
    assert_string_equal(json_string_value(json_object_get(out, "amount")), "1.50");
    assert_string_equal(json_string_value(json_object_get(out, "balance")), "1.50");
    assert_string_equal(json_string_value(json_object_get(out, "period")), "2026-05");
    json_decref(out);
    /* the longest reason accepted: 200 bytes */
    memset(reason, 'r', 200);
    reason[200] = '\0';
    assert_int_equal(dn_ledger_adjust(fx->db, "RS1", -97, reason, "hq", now + 1000, &out,
                                      why, sizeof why),
                     0);
    /* 17.97 - 0.97 = 17.00 */
    assert_string_equal(json_string_value(json_object_get(out, "balance")), "17.00");
    assert_string_equal(json_string_value(json_object_get(out, "amount")), "-0.97");
    json_decref(out);
    assert_int_equal(dn_ledger_adjust(fx->db, "member:+86 138-0000-0003", 200,
                                      "goodwill: late delivery", "hq", now + 2000, &out,
                                      why, sizeof why),
                     0);
    assert_string_equal(json_string_value(json_object_get(out, "account")), MEM_C);
    assert_string_equal(json_string_value(json_object_get(out, "balance")), "2.00");
    json_decref(out);
    out = NULL;

    {
        static const xfer_t credit[] = {
            {"adjustment", HQC, "partner:DE2", 150, -1, -1, "", 0, "2026-05", ""}};
        static const xfer_t debit[] = {
            {"adjustment", "partner:RS1", HQC, 97, -1, -1, "", 0, "2026-05", ""}};
        static const xfer_t member[] = {
            {"adjustment", HQR, MEM_C, 200, -1, -1, "", 0, "2026-05", ""}};
        s_check_correction(fx, 2, credit, N_OF(credit));
        s_check_correction(fx, 3, debit, N_OF(debit));
        s_check_correction(fx, 4, member, N_OF(member));
    }
    /* HQ commission: -51.33 - 1.50 + 0.97 = -51.86; referral -10.97 - 2.00 */
    assert_int_equal(s_balance(fx->db, HQC), -5186);
    assert_int_equal(s_balance(fx->db, HQR), -1297);
    assert_int_equal(s_balance(fx->db, "partner:DE2"), 150);
    assert_int_equal(s_balance(fx->db, "partner:RS1"), 1700);
    assert_int_equal(s_int(fx->db, "SELECT sum(balance) FROM accounts"), 0);

    /* refused, writing nothing */
    assert_int_equal(
        dn_ledger_adjust(fx->db, "DE2", 0, "nothing", "hq", now, &out, why, sizeof why),
        DN_EINVAL);
    assert_string_equal(why, "an adjustment of 0 changes nothing");
    assert_int_equal(dn_ledger_adjust(fx->db, "DE2", DN_LEDGER_MAX_ADJUSTMENT + 1, "big",
                                      "hq", now, &out, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "an adjustment is at most 1000000000.00 CNY either way");
    assert_int_equal(dn_ledger_adjust(fx->db, "HQ", 100, "hq earns?", "hq", now, &out,
                                      why, sizeof why),
                     DN_EINVAL);
    assert_int_equal(
        dn_ledger_adjust(fx->db, "NOPE", 100, "who", "hq", now, &out, why, sizeof why),
        DN_ENOENT);
    assert_string_equal(why, "partner NOPE does not exist");
    assert_int_equal(dn_ledger_adjust(fx->db, "member:+8613900000009", 100, "who", "hq",
                                      now, &out, why, sizeof why),
                     DN_ENOENT);
    assert_string_equal(why, "no member with phone +8613900000009");
    assert_int_equal(
        dn_ledger_adjust(fx->db, "DE2", 100, "", "hq", now, &out, why, sizeof why),
        DN_EINVAL);
    assert_int_equal(dn_ledger_adjust(fx->db, "DE2", 100, "tab\there", "hq", now, &out,
                                      why, sizeof why),
                     DN_EINVAL);
    assert_null(out);
    /* 68 + 3 */
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM transfers"), transfers + 3);
    assert_int_equal(transfers + 3, 71);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM corrections"), 4);
}

/*  Statements show a correction's lines with their kind and reason.  */
static void test_correction_statements(void **state)
{
    fixture_t *fx = *state;
    char id[DN_ID_TEXT_SIZE];
    json_t *st;

    dn_id_format(fx->ids[S11], id);
    /* DE2, May: S11 +1.12, R3 -0.37, the void -0.75, the adjustment +1.50;
       opening 0.00 (February +0.65, March -0.65) */
    st = s_statement(fx, "DE2", NULL, "2026-05", "0.00", "1.50", 4);
    assert_string_equal(s_row_text(st, 2, "amount"), "-0.75");
    assert_string_equal(s_row_text(st, 2, "code"), "adjustment");
    assert_string_equal(s_row_text(st, 2, "correction"), "void");
    assert_string_equal(s_row_text(st, 2, "reason"), "test sale, never paid");
    assert_string_equal(s_row_text(st, 2, "sale"), id);
    assert_string_equal(s_row_text(st, 3, "amount"), "1.50");
    assert_string_equal(s_row_text(st, 3, "correction"), "adjustment");
    assert_string_equal(s_row_text(st, 3, "reason"), "missed commission on receipt 17");
    assert_null(s_row_text(st, 0, "correction")); /* S11's commission: no correction */
    assert_null(s_row_text(st, 0, "reason"));
    /* totals: commission 1.12, clawback -0.37, adjustment -0.75 + 1.50 */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(st, "totals"), "adjustment")),
        "0.75");
    json_decref(st);
    /* member C, May: +5.00 +0.38 -0.13, the void -5.00 -0.25, +2.00 */
    st = s_statement(fx, NULL, PHONE_C, "2026-05", "0.00", "2.00", 6);
    assert_string_equal(s_row_text(st, 3, "amount"), "-5.00");
    assert_string_equal(s_row_text(st, 3, "correction"), "void");
    assert_string_equal(s_row_text(st, 5, "reason"), "goodwill: late delivery");
    json_decref(st);
}

/*  Finding a sale by its id or a prefix of it.  */
static void test_sale_find(void **state)
{
    fixture_t *fx = *state;
    char id[DN_ID_TEXT_SIZE], found[DN_ID_TEXT_SIZE], text[128], why[256] = "";
    int64_t eid = 0;

    dn_id_format(fx->ids[S11], id);
    assert_int_equal(dn_ledger_sale_find(fx->db, id, &eid, found, why, sizeof why), 0);
    assert_int_equal(eid, s_eid(fx->db, fx->ids[S11]));
    assert_string_equal(found, id);
    /* its first 8 hex digits, upper case; then "XXXXXXXX-XX" */
    for (int i = 0; i < 8; i++)
        text[i] = (char)(id[i] >= 'a' ? id[i] - 32 : id[i]);
    text[8] = '\0';
    eid = 0;
    assert_int_equal(dn_ledger_sale_find(fx->db, text, &eid, found, why, sizeof why), 0);
    assert_int_equal(eid, s_eid(fx->db, fx->ids[S11]));
    memcpy(text, id, 11);
    text[11] = '\0';
    assert_int_equal(dn_ledger_sale_find(fx->db, text, &eid, found, why, sizeof why), 0);
    /* 7 digits are too few; a hyphen out of place is no id */
    text[7] = '\0';
    assert_int_equal(dn_ledger_sale_find(fx->db, text, &eid, found, why, sizeof why),
                     DN_EINVAL);
    memcpy(text, id, 8);
    memcpy(text + 8, "x", 2);
    assert_int_equal(dn_ledger_sale_find(fx->db, text, &eid, found, why, sizeof why),
                     DN_EINVAL);
    /* a refund's id is no sale's */
    dn_id_format(fx->ids[R3], id);
    assert_int_equal(dn_ledger_sale_find(fx->db, id, &eid, found, why, sizeof why),
                     DN_ENOENT);
    snprintf(text, sizeof text, "no sale has the id %s", id);
    assert_string_equal(why, text);

    /* Two sales of one millisecond share 12 hex digits: on a copy, S11
       stored once more under an id that differs in its last byte.  The
       prefix is then refused as ambiguous; the whole id still finds it.  */
    {
        char path[256], sql[512];
        uint8_t twin[DN_ID_BYTES];
        sqlite3 *db = NULL;
        sqlite3_stmt *stmt;
        int64_t s11 = s_eid(fx->db, fx->ids[S11]);

        s_copy(fx, "ambiguous.db", path, sizeof path);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        memcpy(twin, fx->ids[S11], DN_ID_BYTES);
        twin[DN_ID_BYTES - 1] ^= 0xff;
        assert_int_equal(
            sqlite3_prepare_v2(
                db,
                "INSERT INTO events(id, site_id, seq, kind, recorded_at_ms, "
                "received_ms, body, hash) SELECT ?, site_id, seq + 1000, kind, "
                "recorded_at_ms, received_ms, body, hash FROM events WHERE eid = ?",
                -1, &stmt, NULL),
            SQLITE_OK);
        sqlite3_bind_blob(stmt, 1, twin, DN_ID_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, s11);
        assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
        sqlite3_finalize(stmt);
        snprintf(
            sql, sizeof sql,
            "INSERT INTO sales(eid, site_id, recorded_at_ms, total, currency, channel, "
            "seller, member_phone) SELECT last_insert_rowid(), site_id, recorded_at_ms, "
            "total, currency, channel, seller, member_phone FROM sales WHERE eid = %lld",
            (long long)s11);
        s_exec(db, sql);
        dn_id_format(fx->ids[S11], id);
        memcpy(text, id, 13);
        text[13] = '\0';
        assert_int_equal(dn_ledger_sale_find(db, text, &eid, found, why, sizeof why),
                         DN_EINVAL);
        snprintf(text + 13, sizeof text - 13,
                 " is the start of more than one sale's id: give more of it");
        assert_string_equal(why, text);
        eid = 0;
        assert_int_equal(dn_ledger_sale_find(db, id, &eid, found, why, sizeof why), 0);
        assert_int_equal(eid, s11);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        s_remove_copy(path);
    }
}

/*  Verify recomputes the corrections: ok as they are, and it names a
    correction changed behind the ledger's back.  */
static void test_verify_corrections(void **state)
{
    fixture_t *fx = *state;
    json_t *out = NULL;
    char path[256];
    sqlite3 *db = NULL;
    int rc = s_verify(fx->path, &out);

    if (rc)
        s_print_differences(out);
    assert_int_equal(rc, 0);
    assert_int_equal(json_integer_value(json_object_get(out, "corrections")), 4);
    assert_int_equal(json_integer_value(json_object_get(out, "transfers")), 71);
    assert_int_equal(json_integer_value(json_object_get(out, "events")), 19); /* 15 + 4 */
    json_decref(out);
    out = NULL;

    /* (a) the adjustment of DE2 made +2.50 instead of +1.50 */
    s_copy(fx, "tamper-correction.db", path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db,
                                      "UPDATE corrections SET amount = 250 WHERE id = 2",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    s_exec(db, "DROP TRIGGER corrections_no_update");
    s_exec(db, "UPDATE corrections SET amount = 250 WHERE id = 2");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    rc = s_verify(path, &out);
    if (!s_has_difference(out, "the correction says +250 to partner:DE2"))
        s_print_differences(out);
    assert_int_equal(rc, DN_ECHAIN);
    assert_true(s_has_difference(out,
                                 "correction 2: its fields do not hash to its stored "
                                 "hash (altered)"));
    assert_true(s_has_difference(out,
                                 "correction 2: its transfer 69 moves 150 minor units "
                                 "hq:commission -> partner:DE2; the correction says +250 "
                                 "to partner:DE2"));
    /* and the replay posts 2.50 where 1.50 was posted */
    assert_true(s_has_difference(
        out, "posted but not what the rules give: adjustment of a "
             "manual correction, hq:commission -> partner:DE2, 150 minor"));
    assert_true(s_has_difference(
        out, "the rules give but not posted: adjustment of a "
             "manual correction, hq:commission -> partner:DE2, 250 minor"));
    json_decref(out);
    out = NULL;
    s_remove_copy(path);

    /* (b) only the void's reason changed: the hash tells */
    s_copy(fx, "tamper-reason.db", path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    s_exec(db, "DROP TRIGGER corrections_no_update");
    s_exec(db, "UPDATE corrections SET reason = 'duplicate' WHERE id = 1");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    rc = s_verify(path, &out);
    assert_int_equal(rc, DN_ECHAIN);
    assert_int_equal(json_array_size(json_object_get(out, "differences")), 1);
    assert_true(s_has_difference(out, "correction 1: its fields do not hash"));
    json_decref(out);
    out = NULL;
    s_remove_copy(path);

    /* (c) the void's row gone: its six transfers are adjustments no
       correction made, and the replay no longer reverses the sale */
    s_copy(fx, "tamper-gone.db", path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    s_exec(db, "DROP TRIGGER corrections_no_delete");
    s_exec(db, "DELETE FROM corrections WHERE id = 1");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    rc = s_verify(path, &out);
    assert_int_equal(rc, DN_ECHAIN);
    assert_true(
        s_has_difference(out, "transfer 63: an adjustment that no correction made"));
    assert_true(
        s_has_difference(out, "transfer 68: an adjustment that no correction made"));
    json_decref(out);
    s_remove_copy(path);
}

/*  A void of a sale refunded in full; then the rollups rebuilt from the
    events and the voids are those kept as they happened.  */
static void test_rebuild_with_void(void **state)
{
    fixture_t *fx = *state;
    static const char dump[] =
        "SELECT group_concat(partner_id || ',' || period || ',' || sales || ',' || total "
        "|| "
        "',' || refunds || ',' || refunded, ';') FROM (SELECT * FROM team_volume "
        "WHERE sales != 0 OR refunds != 0 ORDER BY period, partner_id, currency)";
    static const char categories[] =
        "SELECT group_concat(refund_eid || ',' || category || ',' || amount, ';') FROM "
        "(SELECT * FROM refund_categories ORDER BY refund_eid, category)";
    sqlite3_stmt *stmt;
    char *before, *cats, why[256] = "";
    json_t *out = NULL;
    int64_t transfers = s_int(fx->db, "SELECT count(*) FROM transfers");

    /* S10, refunded in full by R1 and R2, voided: nothing is left to take
       back or to count as refunded; the void is recorded all the same */
    assert_int_equal(
        s_void(fx, S10, "wrong customer", s_at("2026-05-24", 9), &out, why, sizeof why),
        0);
    assert_int_equal(json_integer_value(json_object_get(out, "correction")), 5);
    assert_int_equal(json_integer_value(json_object_get(out, "transfers")), 0);
    assert_string_equal(json_string_value(json_object_get(out, "reversed")), "0.00");
    assert_string_equal(json_string_value(json_object_get(out, "refunded")), "0.00");
    json_decref(out);
    out = NULL;
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM transfers"), transfers);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM corrections WHERE id = 5 "
                                   "AND first_transfer IS NULL AND amount = 0"),
                     1);
    assert_int_equal(s_verify(fx->path, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "corrections")), 5);
    json_decref(out);

    assert_int_equal(sqlite3_prepare_v2(fx->db, dump, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    before = strdup((const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    assert_int_equal(sqlite3_prepare_v2(fx->db, categories, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    cats = strdup((const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    assert_non_null(before);
    assert_non_null(cats);

    s_exec(fx->db, "BEGIN IMMEDIATE");
    assert_int_equal(dn_rollup_rebuild(fx->db), 0);
    s_exec(fx->db, "COMMIT");

    assert_int_equal(sqlite3_prepare_v2(fx->db, dump, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), before);
    sqlite3_finalize(stmt);
    assert_int_equal(sqlite3_prepare_v2(fx->db, categories, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), cats);
    sqlite3_finalize(stmt);
    /* DE2 in May: one sale, two refunds (R3 and the void), 37.50 */
    assert_int_equal(s_int(fx->db,
                           "SELECT sales * 1000000 + refunds * 10000 + refunded "
                           "FROM team_volume WHERE period = '2026-05' AND partner_id "
                           "= (SELECT id FROM partners WHERE code = 'DE2')"),
                     1000000 + 20000 + 3750);
    free(before);
    free(cats);
}

/*  dn_ledger_transfer_hash writes its canonical text by hand (it is on
    every posting's path); every chain already stored was hashed over the
    text of snprintf's format below, so the two must agree byte for byte:
    on extreme numbers, absent fields, a late period, a reference, and at
    the 511-byte bound past which the text is refused (DN_EINVAL).  */
static int s_reference_hash(int64_t id, const dn_ledger_transfer_t *t,
                            const uint8_t prev[DN_HASH_BYTES], uint8_t hash[DN_HASH_BYTES])
{
    char level[24] = "", rate[24] = "", text[512];
    uint8_t buf[DN_HASH_BYTES + sizeof text];
    int n;
    if (t->has_level)
        snprintf(level, sizeof level, "%lld", (long long)t->level);
    if (t->has_rate)
        snprintf(rate, sizeof rate, "%lld", (long long)t->rate_bps);
    n = snprintf(text, sizeof text,
                 "%lld|%lld|%lld|%lld|%s|%lld|%lld|%lld|%s|%s|%s|%d|%s|%s|%s|%lld",
                 (long long)id, (long long)t->debit, (long long)t->credit,
                 (long long)t->amount, t->code, (long long)t->source_eid,
                 (long long)t->sale_eid, (long long)t->reverses, level, rate,
                 t->category ? t->category : "", t->bonus, t->period, t->event_period,
                 t->ref ? t->ref : "", (long long)t->created_ms);
    if (n < 0 || (size_t)n >= sizeof text)
        return DN_EINVAL;
    memcpy(buf, prev, DN_HASH_BYTES);
    memcpy(buf + DN_HASH_BYTES, text, (size_t)n);
    return dn_sha256(buf, DN_HASH_BYTES + (size_t)n, hash);
}

static void test_transfer_text(void **state)
{
    (void)state;
    static const int64_t numbers[] = {0, 1, 9, 10, 99, 100, -1, -10, 1234567890123LL,
                                      INT64_MAX, INT64_MIN, INT64_MIN + 1, -999999999999LL};
    static const char *const texts[] = {NULL, "", "rice", "米|油", "RUN-12/RS00042"};
    uint8_t prev[DN_HASH_BYTES], want[DN_HASH_BYTES], got[DN_HASH_BYTES];
    char ref[600];
    size_t n_numbers = sizeof numbers / sizeof numbers[0];
    int checked = 0;

    for (size_t i = 0; i < sizeof prev; i++)
        prev[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < n_numbers; i++) {
        for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
            dn_ledger_transfer_t t;
            int64_t a = numbers[i], b = numbers[(i + 3) % n_numbers],
                    c = numbers[(i + 7) % n_numbers];
            memset(&t, 0, sizeof t);
            t.debit = a;
            t.credit = b;
            t.amount = c;
            t.code = k % 2 ? "commission" : "adjustment";
            t.source_eid = b;
            t.sale_eid = c;
            t.reverses = a;
            t.has_level = (int)(k % 2);
            t.level = (int)(a % 1000);
            t.has_rate = (int)((k + i) % 2);
            t.rate_bps = (int32_t)(b % 100000);
            t.category = texts[k];
            t.bonus = (int)(i % 2);
            snprintf(t.period, sizeof t.period, "2026-%02zu", i % 12 + 1);
            if (k == 3)
                snprintf(t.event_period, sizeof t.event_period, "2025-12");
            t.ref = texts[(k + 2) % 5];
            t.created_ms = c;
            assert_int_equal(s_reference_hash(a, &t, prev, want), 0);
            assert_int_equal(dn_ledger_transfer_hash(a, &t, prev, got), 0);
            assert_memory_equal(got, want, DN_HASH_BYTES);
            checked++;
        }
    }
    assert_int_equal(checked, 13 * 5);

    /* The bound: "1|2|3|4|payout|0|0|0||||0|2026-03||" is 35 bytes, then
       the reference and "|5": a reference of 474 bytes makes 511, the
       longest text there is; 475 bytes make 512, refused by both.  */
    dn_ledger_transfer_t t;
    memset(&t, 0, sizeof t);
    t.debit = 2;
    t.credit = 3;
    t.amount = 4;
    t.code = "payout";
    snprintf(t.period, sizeof t.period, "2026-03");
    t.created_ms = 5;
    t.ref = ref;
    memset(ref, 'x', 474);
    ref[474] = '\0';
    assert_int_equal(s_reference_hash(1, &t, prev, want), 0);
    assert_int_equal(dn_ledger_transfer_hash(1, &t, prev, got), 0);
    assert_memory_equal(got, want, DN_HASH_BYTES);
    ref[474] = 'x';
    ref[475] = '\0';
    assert_int_equal(s_reference_hash(1, &t, prev, want), DN_EINVAL);
    assert_int_equal(dn_ledger_transfer_hash(1, &t, prev, got), DN_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_text),
        cmocka_unit_test(test_plain_sale),
        cmocka_unit_test(test_category_override),
        cmocka_unit_test(test_suspended_partner),
        cmocka_unit_test(test_plan_change_and_cap),
        cmocka_unit_test(test_move_and_override),
        cmocka_unit_test(test_referral_chain),
        cmocka_unit_test(test_refunds),
        cmocka_unit_test(test_late_sale),
        cmocka_unit_test(test_balances),
        cmocka_unit_test(test_statements),
        cmocka_unit_test(test_statement_cut),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_replay),
        /* these change the ledger (a payout) or work on copies of it */
        cmocka_unit_test(test_payout),
        cmocka_unit_test(test_tamper_transfer),
        cmocka_unit_test(test_tamper_event),
        cmocka_unit_test(test_double_post),
        cmocka_unit_test(test_migrate_payout_refs),
        cmocka_unit_test(test_migrate_transfers_check),
        cmocka_unit_test(test_flush_marks),
        cmocka_unit_test(test_migrate_zone),
        cmocka_unit_test(test_zone_dates),
        cmocka_unit_test(test_account_periods),
        cmocka_unit_test(test_migrate_account_periods),
        /* corrections, after all of the above: they add to the ledger */
        cmocka_unit_test(test_void),
        cmocka_unit_test(test_refund_after_void),
        cmocka_unit_test(test_void_reports),
        cmocka_unit_test(test_adjust),
        cmocka_unit_test(test_correction_statements),
        cmocka_unit_test(test_sale_find),
        cmocka_unit_test(test_verify_corrections),
        cmocka_unit_test(test_rebuild_with_void),
        /* these close May and add a June sale */
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_retired_plan),
    };
    /* every rule stated: a central.db each */
    const struct CMUnitTest rules[] = {
        cmocka_unit_test_setup_teardown(test_rule_hq_in_tree, s_rules_setup,
                                        s_group_teardown),
        cmocka_unit_test_setup_teardown(test_rule_referrer_not_paid, s_rules_setup,
                                        s_group_teardown),
        cmocka_unit_test_setup_teardown(test_rule_windows, s_rules_setup,
                                        s_group_teardown),
        cmocka_unit_test_setup_teardown(test_rule_purchase_before_signup, s_rules_setup,
                                        s_group_teardown),
        cmocka_unit_test_setup_teardown(test_rule_first_sale_before_signup, s_rules_setup,
                                        s_group_teardown),
        cmocka_unit_test_setup_teardown(test_rule_zero_and_refunded_first, s_rules_setup,
                                        s_group_teardown),
        cmocka_unit_test_setup_teardown(test_rule_category_case, s_rules_setup,
                                        s_group_teardown),
        cmocka_unit_test_setup_teardown(test_rule_other_currency, s_rules_setup,
                                        s_group_teardown),
        cmocka_unit_test_setup_teardown(test_rule_plan_slotted, s_rules_setup,
                                        s_group_teardown),
        cmocka_unit_test_setup_teardown(test_rule_partial_clawbacks, s_rules_setup,
                                        s_group_teardown),
        cmocka_unit_test_setup_teardown(test_rule_binding, s_rules_setup,
                                        s_group_teardown),
    };
    int failed;
    dn_log_init("test_ledger", DN_LOG_QUIET, 0);
    failed = cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
    return failed + cmocka_run_group_tests_name("rules", rules, NULL, NULL);
}

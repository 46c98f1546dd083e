/*  test_admin -- unit tests for dn_admin, the admin socket's commands.

    Requests are built as dealernet-hq builds them (an AdminRequest packed
    by dn_wire), handed to dn_admin_handle as the bytes of a frame, and the
    reply is unpacked again, so the tests see exactly what the CLI sees: the
    status (0 or a sysexits code), the one-line error, and the JSON result,
    compared as exact text.  Times the server stamps with its own clock are
    pinned with SQL before a listing is compared, or the request is handled
    at a pinned instant (dn_admin_handle_at): period close is tested at the
    last millisecond of June and the first of July.  Each test works on a
    fresh central.db in its own mkdtemp folder, removed at the end.
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

#include "dn_test_central.h"
#include "dn_admin.h"
#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_metrics.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_wire.h"

typedef dn_test_central_t fixture_t;

/*  What came back.  */
typedef struct {
    unsigned status;
    char error[512];
    char *result; /* malloc'd JSON text, or NULL */
} reply_t;

/*  The server's "now" for the next requests: 0 is the real clock
    (dn_admin_handle), anything else a pinned instant (dn_admin_handle_at).  */
static int64_t s_now_ms;

static int s_setup(void **state)
{
    s_now_ms = 0;
    return dn_test_central_setup(state);
}

static int s_teardown(void **state)
{
    return dn_test_central_teardown(state);
}

/* -- helpers --------------------------------------------------------------- */

static void s_reply_free(reply_t *r)
{
    free(r->result);
    r->result = NULL;
}

/*  Hands bytes to dn_admin_handle and unpacks the reply into *r.  */
static void s_handle(sqlite3 *db, const uint8_t *bytes, size_t len, reply_t *r)
{
    Dealernet__AdminReply *msg = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    char why[DN_WHY_SIZE];

    memset(r, 0, sizeof *r);
    if (s_now_ms)
        assert_int_equal(
            dn_admin_handle_at(db, "hq", s_now_ms, bytes, len, &out, &out_len), 0);
    else
        assert_int_equal(dn_admin_handle(db, "hq", bytes, len, &out, &out_len), 0);
    assert_non_null(out);
    assert_int_equal(dn_wire_admin_reply_unpack(out, out_len, &msg, why, sizeof why), 0);
    free(out);
    r->status = msg->status;
    snprintf(r->error, sizeof r->error, "%s", msg->error ? msg->error : "");
    if (msg->result) {
        r->result = strdup(msg->result);
        assert_non_null(r->result);
    }
    /* one or the other, never both */
    assert_true((msg->status == 0) == (msg->result != NULL));
    assert_true((msg->status != 0) == (msg->error != NULL));
    dn_wire_admin_reply_free(&msg);
}

/*  Sends command with n (name, value) pairs of args, in protocol.  */
static void s_call_v(sqlite3 *db, unsigned protocol, const char *command,
                     const char *const *args, size_t n, reply_t *r)
{
    Dealernet__AdminRequest req = DEALERNET__ADMIN_REQUEST__INIT;
    Dealernet__AdminArg arg[8], *ptr[8];
    uint8_t *bytes = NULL;
    size_t len = 0;
    char why[DN_WHY_SIZE];

    assert_true(n <= 8);
    req.has_protocol = 1;
    req.protocol = protocol;
    req.command = (char *)command;
    for (size_t i = 0; i < n; i++) {
        if (!args[2 * i]) /* s_call(..., NULL, NULL): no arguments */
            continue;
        dealernet__admin_arg__init(&arg[req.n_args]);
        arg[req.n_args].name = (char *)args[2 * i];
        arg[req.n_args].value = (char *)args[2 * i + 1];
        ptr[req.n_args] = &arg[req.n_args];
        req.n_args++;
    }
    req.args = ptr;
    assert_int_equal(dn_wire_admin_request_pack(&req, &bytes, &len, why, sizeof why), 0);
    s_handle(db, bytes, len, r);
    free(bytes);
}

#define s_call(db, command, r, ...)                                                      \
    do {                                                                                 \
        const char *args_[] = {NULL, __VA_ARGS__};                                       \
        s_call_v(db, DN_PROTOCOL_VERSION, command, args_ + 1,                            \
                 (sizeof args_ / sizeof args_[0] - 1) / 2, r);                           \
    } while (0)

static void s_exec(sqlite3 *db, const char *sql)
{
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
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

/*  Asserts an error reply with status and exactly error.  */
static void s_expect_error(reply_t *r, unsigned status, const char *error)
{
    assert_int_equal(r->status, status);
    assert_string_equal(r->error, error);
    assert_null(r->result);
}

/*  HQ > NORTH > D1, pinned to 2026-01-01T00:00:00.000Z.  */
static void s_tree(sqlite3 *db)
{
    reply_t r;
    s_call(db, "partner.add", &r, "code", "HQ", "name", "Head Office", "kind", "hq");
    assert_int_equal(r.status, 0);
    s_reply_free(&r);
    s_call(db, "partner.add", &r, "code", "NORTH", "name", "North", "kind", "region",
           "parent", "HQ");
    assert_int_equal(r.status, 0);
    s_reply_free(&r);
    s_call(db, "partner.add", &r, "code", "D1", "name", "Dealer One", "kind", "dealer",
           "parent", "NORTH");
    assert_int_equal(r.status, 0);
    s_reply_free(&r);
    s_exec(db,
           "UPDATE partners SET created_ms = 1767225600000, joined_ms = 1767225600000");
}

/* -- partners -------------------------------------------------------------- */

static void test_partner_add(void **state)
{
    fixture_t *fx = *state;
    char created[DN_TIME_TEXT_SIZE], expected[512];
    int64_t before = dn_time_now_ms();
    json_t *result;
    reply_t r;

    s_call(fx->db, "partner.add", &r, "code", "HQ", "name", "Head Office", "kind", "hq");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.error, "");
    /* the partner as partner.list shows it, created by the server's clock */
    assert_true(s_int(fx->db, "SELECT created_ms FROM partners") >= before);
    assert_true(s_int(fx->db, "SELECT created_ms FROM partners") <= dn_time_now_ms());
    dn_time_format(s_int(fx->db, "SELECT created_ms FROM partners"), created);
    snprintf(expected, sizeof expected,
             "{\"code\":\"HQ\",\"name\":\"Head Office\",\"kind\":\"hq\",\"parent\":null,"
             "\"recruiter\":null,\"status\":\"active\",\"joined\":\"%s\","
             "\"created\":\"%s\"}",
             created, created);
    assert_string_equal(r.result, expected);
    result = json_loads(r.result, 0, NULL);
    assert_true(json_is_object(result));
    json_decref(result);
    s_reply_free(&r);

    s_call(fx->db, "partner.add", &r, "code", "NORTH", "name", "North", "kind", "region",
           "parent", "HQ");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.result, "\"parent\":\"HQ\""));
    s_reply_free(&r);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partners"), 2);
    assert_int_equal(s_int(fx->db,
                           "SELECT count(*) FROM partner_links WHERE effective_ms = 0 "
                           "AND parent_id = 1"),
                     1);
}

static void test_partner_add_refusals(void **state)
{
    fixture_t *fx = *state;
    reply_t r;

    s_tree(fx->db);
    s_call(fx->db, "partner.add", &r, "code", "D2", "name", "Two", "kind", "dealer",
           "parent", "DEALER-9");
    s_expect_error(&r, 66, "partner DEALER-9 does not exist");
    s_call(fx->db, "partner.add", &r, "code", "D1", "name", "Again", "kind", "dealer");
    s_expect_error(&r, 73, "partner D1 already exists");
    s_call(fx->db, "partner.add", &r, "code", "D2", "name", "Two", "kind", "franchise");
    s_expect_error(&r, 64,
                   "partner kind 'franchise' is not one of hq, region, distributor, "
                   "dealer, reseller");
    s_call(fx->db, "partner.add", &r, "code", "D2", "kind", "dealer");
    s_expect_error(&r, 64, "partner.add needs argument 'name'");
    s_call(fx->db, "partner.add", &r, "code", "D2", "name", "Two", "kind", "dealer",
           "colour", "red");
    s_expect_error(&r, 64, "unknown argument 'colour' for partner.add");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partners"), 3);
}

static void test_partner_list(void **state)
{
    fixture_t *fx = *state;
    reply_t r;

    s_call(fx->db, "partner.list", &r, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.result, "[]");
    s_reply_free(&r);
    s_tree(fx->db);
    s_call(fx->db, "partner.list", &r, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(
        r.result,
        "[{\"code\":\"D1\",\"name\":\"Dealer One\",\"kind\":\"dealer\",\"parent\":"
        "\"NORTH\",\"recruiter\":null,\"status\":\"active\","
        "\"joined\":\"2026-01-01T00:00:00.000Z\",\"created\":\"2026-01-01T00:00:00."
        "000Z\"},"
        "{\"code\":\"HQ\",\"name\":\"Head Office\",\"kind\":\"hq\",\"parent\":null,"
        "\"recruiter\":null,\"status\":\"active\","
        "\"joined\":\"2026-01-01T00:00:00.000Z\",\"created\":\"2026-01-01T00:00:00."
        "000Z\"},"
        "{\"code\":\"NORTH\",\"name\":\"North\",\"kind\":\"region\",\"parent\":"
        "\"HQ\",\"recruiter\":null,\"status\":\"active\","
        "\"joined\":\"2026-01-01T00:00:00.000Z\",\"created\":\"2026-01-01T00:00:00."
        "000Z\"}]");
    s_reply_free(&r);
    s_call(fx->db, "partner.list", &r, "json", "1");
    s_expect_error(&r, 64, "unknown argument 'json' for partner.list");
}

/* -- sites ----------------------------------------------------------------- */

static void test_site_add(void **state)
{
    fixture_t *fx = *state;
    char expires[DN_TIME_TEXT_SIZE], expected[512], why[256];
    uint8_t curve[32], sign[32];
    dn_registry_site_t site;
    const char *token;
    json_t *result;
    reply_t r;

    memset(curve, 0xC1, sizeof curve);
    memset(sign, 0x5E, sizeof sign);
    s_tree(fx->db);
    s_call(fx->db, "site.add", &r, "code", "SHOP-1", "partner", "D1");
    assert_int_equal(r.status, 0);
    result = json_loads(r.result, 0, NULL);
    assert_non_null(result);
    assert_int_equal(json_object_size(result), 5);
    token = json_string_value(json_object_get(result, "token"));
    assert_non_null(token);
    assert_int_equal(strlen(token), DN_TOKEN_TEXT_LEN);
    assert_int_equal(strspn(token, "0123456789abcdef"), DN_TOKEN_TEXT_LEN);
    /* expires: the stored expiry, 72 h after the token was made */
    assert_int_equal(s_int(fx->db, "SELECT expires_ms - created_ms FROM tokens"),
                     72LL * 3600 * 1000);
    dn_time_format(s_int(fx->db, "SELECT expires_ms FROM tokens"), expires);
    snprintf(
        expected, sizeof expected,
        "{\"site\":\"SHOP-1\",\"partner\":\"D1\",\"token\":\"%s\",\"expires\":\"%s\","
        "\"name\":null}",
        token, expires);
    assert_string_equal(r.result, expected);
    /* and the token is the one that enrolls the site */
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", curve, sign,
                                        dn_time_now_ms(), &site, why, sizeof why),
                     0);
    json_decref(result);
    s_reply_free(&r);

    /* with the server's sync endpoint known, it comes along */
    assert_int_equal(dn_db_meta_set(fx->db, DN_META_SYNC_ENDPOINT, "tcp://0.0.0.0:7700"),
                     0);
    s_call(fx->db, "site.add", &r, "code", "SHOP-2", "partner", "D1");
    assert_int_equal(r.status, 0);
    result = json_loads(r.result, 0, NULL);
    assert_int_equal(json_object_size(result), 6);
    assert_string_equal(json_string_value(json_object_get(result, "sync_endpoint")),
                        "tcp://0.0.0.0:7700");
    json_decref(result);
    s_reply_free(&r);

    s_call(fx->db, "site.add", &r, "code", "SHOP-1", "partner", "D1");
    s_expect_error(&r, 73, "site SHOP-1 already exists");
    s_call(fx->db, "site.add", &r, "code", "SHOP-3", "partner", "DEALER-9");
    s_expect_error(&r, 66, "partner DEALER-9 does not exist");
    s_call(fx->db, "site.add", &r, "code", "SHOP-3");
    s_expect_error(&r, 64, "site.add needs argument 'partner'");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM sites"), 2);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM tokens"), 2);

    /* site.token's unrevoke is a flag, "1": any other value lifts nothing
       (SHOP-1, revoked, stays so, and no token is made) */
    s_call(fx->db, "site.revoke", &r, "code", "SHOP-1");
    assert_int_equal(r.status, 0);
    s_reply_free(&r);
    s_call(fx->db, "site.token", &r, "code", "SHOP-1", "unrevoke", "0");
    s_expect_error(&r, 64, "unrevoke is a flag: give it as 1, or leave it out");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM sites WHERE code = 'SHOP-1' AND "
                                   "revoked_ms IS NOT NULL"),
                     1);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM tokens"), 2);
    s_call(fx->db, "site.token", &r, "code", "SHOP-1", "unrevoke", "1");
    assert_int_equal(r.status, 0);
    s_reply_free(&r);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM sites WHERE code = 'SHOP-1' AND "
                                   "revoked_ms IS NOT NULL"),
                     0);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM tokens"), 3);
}

static void test_site_list(void **state)
{
    fixture_t *fx = *state;
    reply_t r;

    s_tree(fx->db);
    s_call(fx->db, "site.add", &r, "code", "SHOP-1", "partner", "D1");
    s_reply_free(&r);
    s_exec(fx->db, "UPDATE sites SET applied_seq = 1000, last_seen_ms = 1767225600500,"
                   " clock_skew_ms = 250, reported_pending = 0");
    s_call(fx->db, "site.list", &r, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(
        r.result, "[{\"site\":\"SHOP-1\",\"partner\":\"D1\",\"enrolled\":false,"
                  "\"revoked\":false,\"last_seen\":\"2026-01-01T00:00:00.500Z\","
                  "\"applied_seq\":1000,\"gap_expected_seq\":null,\"clock_skew_ms\":250,"
                  "\"pending\":0,\"code\":\"SHOP-1\",\"name\":null}]");
    s_reply_free(&r);

    /* a name, in any script, shown in the list beside its code; "" removes
       it; an unknown site and a long name are refused */
    s_call(fx->db, "site.rename", &r, "code", "SHOP-1", "name",
           "\xe4\xb8\x9c\xe5\x9f\x8e\xe5\xba\x97"); /* 东城店 */
    assert_int_equal(r.status, 0);
    assert_string_equal(r.result, "{\"site\":\"SHOP-1\",\"name\":\"\xe4\xb8\x9c\xe5\x9f\x8e\xe5\xba\x97\"}");
    s_reply_free(&r);
    s_call(fx->db, "site.list", &r, NULL, NULL);
    assert_non_null(strstr(r.result, "\"name\":\"\xe4\xb8\x9c\xe5\x9f\x8e\xe5\xba\x97\"}]"));
    s_reply_free(&r);
    s_call(fx->db, "site.rename", &r, "code", "SHOP-9", "name", "x");
    assert_int_equal(r.status, 66);
    assert_string_equal(r.error, "site SHOP-9 does not exist");
    s_reply_free(&r);
    s_call(fx->db, "site.rename", &r, "code", "SHOP-1", "name", "");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.result, "{\"site\":\"SHOP-1\",\"name\":null}");
    s_reply_free(&r);
}

static void test_site_revoke(void **state)
{
    fixture_t *fx = *state;
    char expected[128], revoked[DN_TIME_TEXT_SIZE];
    reply_t r;

    s_tree(fx->db);
    s_call(fx->db, "site.add", &r, "code", "SHOP-1", "partner", "D1");
    s_reply_free(&r);
    s_call(fx->db, "site.revoke", &r, "code", "SHOP-1");
    assert_int_equal(r.status, 0);
    dn_time_format(s_int(fx->db, "SELECT revoked_ms FROM sites"), revoked);
    snprintf(expected, sizeof expected, "{\"site\":\"SHOP-1\",\"revoked\":\"%s\"}",
             revoked);
    assert_string_equal(r.result, expected);
    s_reply_free(&r);

    s_call(fx->db, "site.revoke", &r, "code", "SHOP-1");
    snprintf(expected, sizeof expected, "site SHOP-1 was already revoked at %s", revoked);
    s_expect_error(&r, 73, expected);
    s_call(fx->db, "site.revoke", &r, "code", "NOPE");
    s_expect_error(&r, 66, "site NOPE does not exist");
    s_call(fx->db, "site.revoke", &r, NULL, NULL);
    s_expect_error(&r, 64, "site.revoke needs argument 'code'");
}

static void test_member_conflicts(void **state)
{
    fixture_t *fx = *state;
    reply_t r;

    s_call(fx->db, "member.conflicts", &r, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.result, "[]");
    s_reply_free(&r);
}

/* -- the tree over time, plans, the ledger --------------------------------- */

/*  The value of key in r's JSON result (a string), into out.  */
static void s_field(const reply_t *r, const char *key, char *out, size_t size)
{
    json_t *result = json_loads(r->result, JSON_DECODE_ANY, NULL);
    const char *text;
    assert_non_null(result);
    text = json_string_value(json_object_get(result, key));
    assert_non_null(text);
    snprintf(out, size, "%s", text);
    json_decref(result);
}

static void test_partner_move_and_tree(void **state)
{
    fixture_t *fx = *state;
    reply_t r;

    s_tree(fx->db);
    s_call(fx->db, "partner.move", &r, "code", "D1", "parent", "HQ", "effective",
           "2026-02-01");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.result, "{\"partner\":\"D1\",\"parent\":\"HQ\","
                                  "\"previous_parent\":\"NORTH\","
                                  "\"effective\":\"2026-02-01T00:00:00.000Z\"}");
    s_reply_free(&r);
    assert_int_equal(s_int(fx->db,
                           "SELECT count(*) FROM partner_links WHERE partner_id = 3 "
                           "AND parent_id = 1 AND effective_ms = 1769904000000"),
                     1);

    s_call(fx->db, "partner.move", &r, "code", "D1", "parent", "HQ", "effective",
           "2026-02-30");
    s_expect_error(&r, 64, "effective '2026-02-30' is not a date (YYYY-MM-DD)");
    s_call(fx->db, "partner.move", &r, "code", "NORTH", "parent", "D1", "effective",
           "2026-01-10");
    s_expect_error(&r, 64,
                   "moving NORTH under D1 would make a cycle: D1 is in the downline of "
                   "NORTH at 2026-01-10T00:00:00.000Z");
    s_call(fx->db, "partner.move", &r, "code", "D1", "parent", "NORTH", "effective",
           "2026-02-01");
    s_expect_error(&r, 73,
                   "partner D1 already has a move effective 2026-02-01T00:00:00.000Z");
    s_call(fx->db, "partner.move", &r, "code", "D1");
    s_expect_error(&r, 64, "partner.move needs argument 'parent'");
    /* a move without a date takes effect now: after every date above */
    s_call(fx->db, "partner.move", &r, "code", "D1", "parent", "NORTH");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.result, "\"previous_parent\":\"HQ\""));
    s_reply_free(&r);

    /* the tree at the end of Jan 31 and of Feb 1 */
    s_call(fx->db, "partner.tree", &r, "at", "2026-01-31");
    assert_int_equal(r.status, 0);
    assert_string_equal(
        r.result,
        "[{\"tree\":\"HQ\",\"code\":\"HQ\",\"name\":\"Head Office\",\"kind\":\"hq\","
        "\"parent\":null,\"status\":\"active\",\"depth\":0},"
        "{\"tree\":\"  NORTH\",\"code\":\"NORTH\",\"name\":\"North\",\"kind\":\"region\","
        "\"parent\":\"HQ\",\"status\":\"active\",\"depth\":1},"
        "{\"tree\":\"    D1\",\"code\":\"D1\",\"name\":\"Dealer "
        "One\",\"kind\":\"dealer\","
        "\"parent\":\"NORTH\",\"status\":\"active\",\"depth\":2}]");
    s_reply_free(&r);
    s_call(fx->db, "partner.tree", &r, "at", "2026-02-01");
    assert_int_equal(r.status, 0);
    assert_string_equal(
        r.result,
        "[{\"tree\":\"HQ\",\"code\":\"HQ\",\"name\":\"Head Office\",\"kind\":\"hq\","
        "\"parent\":null,\"status\":\"active\",\"depth\":0},"
        "{\"tree\":\"  D1\",\"code\":\"D1\",\"name\":\"Dealer One\",\"kind\":\"dealer\","
        "\"parent\":\"HQ\",\"status\":\"active\",\"depth\":1},"
        "{\"tree\":\"  NORTH\",\"code\":\"NORTH\",\"name\":\"North\",\"kind\":\"region\","
        "\"parent\":\"HQ\",\"status\":\"active\",\"depth\":1}]");
    s_reply_free(&r);
    s_call(fx->db, "partner.tree", &r, "code", "NORTH");
    assert_int_equal(r.status, 0);
    assert_string_equal(
        r.result,
        "[{\"tree\":\"NORTH\",\"code\":\"NORTH\",\"name\":\"North\",\"kind\":\"region\","
        "\"parent\":\"HQ\",\"status\":\"active\",\"depth\":0},"
        "{\"tree\":\"  D1\",\"code\":\"D1\",\"name\":\"Dealer One\",\"kind\":\"dealer\","
        "\"parent\":\"NORTH\",\"status\":\"active\",\"depth\":1}]");
    s_reply_free(&r);
    s_call(fx->db, "partner.tree", &r, "code", "NOPE");
    s_expect_error(&r, 66, "partner NOPE does not exist");
    s_call(fx->db, "partner.tree", &r, "at", "yesterday");
    s_expect_error(&r, 64, "at 'yesterday' is not a date (YYYY-MM-DD)");
}

static void test_partner_recruiter_and_status(void **state)
{
    fixture_t *fx = *state;
    char when[DN_TIME_TEXT_SIZE], expected[256];
    reply_t r;

    s_tree(fx->db);
    s_call(fx->db, "partner.add", &r, "code", "R7", "name", "Reseller", "kind",
           "reseller", "parent", "D1", "recruiter", "D1", "joined", "2026-01-05");
    assert_int_equal(r.status, 0);
    s_field(&r, "recruiter", when, sizeof when);
    assert_string_equal(when, "D1");
    s_field(&r, "joined", when, sizeof when);
    assert_string_equal(when, "2026-01-05T00:00:00.000Z");
    s_reply_free(&r);
    assert_int_equal(s_int(fx->db, "SELECT recruiter_id FROM partners WHERE code = 'R7'"),
                     3);
    s_call(fx->db, "partner.add", &r, "code", "R8", "name", "Reseller", "kind",
           "reseller", "recruiter", "GHOST");
    s_expect_error(&r, 66, "recruiter GHOST is not a partner");
    s_call(fx->db, "partner.add", &r, "code", "R8", "name", "Reseller", "kind",
           "reseller", "joined", "2026-1-5");
    s_expect_error(&r, 64, "joined '2026-1-5' is not a date (YYYY-MM-DD)");

    s_call(fx->db, "partner.suspend", &r, "code", "D1");
    assert_int_equal(r.status, 0);
    dn_time_format(s_int(fx->db, "SELECT effective_ms FROM partner_status"), when);
    snprintf(expected, sizeof expected,
             "{\"partner\":\"D1\",\"status\":\"suspended\",\"effective\":\"%s\"}", when);
    assert_string_equal(r.result, expected);
    s_reply_free(&r);
    s_call(fx->db, "partner.list", &r, NULL, NULL);
    assert_non_null(strstr(r.result, "\"code\":\"D1\",\"name\":\"Dealer One\",\"kind\":"
                                     "\"dealer\",\"parent\":\"NORTH\",\"recruiter\":null,"
                                     "\"status\":\"suspended\""));
    assert_non_null(strstr(r.result,
                           "\"code\":\"R7\",\"name\":\"Reseller\",\"kind\":"
                           "\"reseller\",\"parent\":\"D1\",\"recruiter\":\"D1\","
                           "\"status\":\"active\""));
    s_reply_free(&r);
    s_call(fx->db, "partner.suspend", &r, "code", "D1");
    snprintf(expected, sizeof expected, "partner D1 is already suspended (since %s)",
             when);
    s_expect_error(&r, 73, expected);
    /* resuming in the same millisecond would be refused: step the row back */
    s_exec(fx->db, "UPDATE partner_status SET effective_ms = effective_ms - 1000");
    s_call(fx->db, "partner.resume", &r, "code", "D1");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.result, "\"status\":\"active\""));
    s_reply_free(&r);
    s_call(fx->db, "partner.resume", &r, "code", "HQ");
    s_expect_error(&r, 73, "partner HQ is not suspended");
    s_call(fx->db, "partner.suspend", &r, "code", "NOPE");
    s_expect_error(&r, 66, "partner NOPE does not exist");
}

static const char s_plan_text[] = "[plan]\neffective = 2026-01-01\ncurrency = CNY\n"
                                  "cap_bps = 1500\n[levels]\n0 = 800\n1 = 300\n2 = 100\n"
                                  "[category:rice]\n0 = 500\n1 = 200\n[referral]\n"
                                  "first_purchase_bonus = 5.00\n";

static void test_plans(void **state)
{
    fixture_t *fx = *state;
    char text[64];
    reply_t r;

    s_call(fx->db, "plan.show", &r, NULL, NULL);
    assert_int_equal(r.status, 66);
    assert_non_null(strstr(r.error, "no plan in force at "));
    s_call(fx->db, "plan.set", &r, "text",
           "[plan]\neffective = 2026-01-01\n\ncolour = red\n");
    s_expect_error(&r, 65, "line 4: unknown key 'colour' in [plan]");
    s_call(fx->db, "plan.set", &r, "text", s_plan_text);
    assert_int_equal(r.status, 0);
    s_field(&r, "levels", text, sizeof text);
    assert_string_equal(text, "800/300/100");
    {
        char source[sizeof s_plan_text];
        s_field(&r, "source", source, sizeof source);
        assert_string_equal(source, s_plan_text);
    }
    s_reply_free(&r);
    s_call(fx->db, "plan.set", &r, "text", s_plan_text);
    s_expect_error(&r, 73,
                   "a plan effective 2026-01-01 exists already: a version is never "
                   "replaced; set a new one with a later effective date");

    s_call(fx->db, "plan.show", &r, "at", "2025-12-31");
    s_expect_error(&r, 66,
                   "no plan in force at 2025-12-31T23:59:59.999Z: 'dealernet-hq plan "
                   "set FILE' sets one");
    s_call(fx->db, "plan.show", &r, "at", "2026-01-01");
    assert_int_equal(r.status, 0);
    s_field(&r, "categories", text, sizeof text);
    assert_string_equal(text, "rice 500/200");
    s_field(&r, "first_purchase_bonus", text, sizeof text);
    assert_string_equal(text, "5.00");
    s_reply_free(&r);
    s_call(fx->db, "plan.list", &r, NULL, NULL);
    assert_int_equal(r.status, 0);
    {
        static const char head[] =
            "[{\"effective\":\"2026-01-01\",\"currency\":\"CNY\","
            "\"cap_bps\":1500,\"levels\":\"800/300/100\","
            "\"categories\":\"rice 500/200\","
            "\"first_purchase_bonus\":\"5.00\",\"first_purchase_bonus_minor\":500,"
            "\"purchase_bps\":0,";
        assert_int_equal(strncmp(r.result, head, sizeof head - 1), 0);
    }
    s_reply_free(&r);
}

static void test_ledger_commands(void **state)
{
    fixture_t *fx = *state;
    char text[128];
    reply_t r;

    s_tree(fx->db);
    /* before any plan there is no currency to pay out in */
    s_call(fx->db, "payout", &r, "partner", "D1", "amount", "10.00", "ref", "BANK-1");
    s_expect_error(&r, 66,
                   "no plan is set yet, so the ledger has no currency and no balance");
    s_call(fx->db, "plan.set", &r, "text", s_plan_text);
    s_reply_free(&r);
    s_call(fx->db, "payout", &r, "partner", "D1", "amount", "10.001", "ref", "BANK-1");
    s_expect_error(&r, 64,
                   "amount '10.001' is not an amount in CNY (at most 2 decimals, like "
                   "120.50)");
    s_call(fx->db, "payout", &r, "partner", "D1", "amount", "99999999999999999999", "ref",
           "BANK-1");
    s_expect_error(&r, 64, "amount 99999999999999999999 is too large");
    s_call(fx->db, "payout", &r, "partner", "D1", "amount", "10.00", "ref", "BANK-1");
    assert_int_equal(r.status, 65); /* the ledger: more than the balance (0.00) */
    assert_non_null(strstr(r.error, "D1"));
    s_call(fx->db, "payout", &r, "partner", "D1", "amount", "10.00");
    s_expect_error(&r, 64, "payout needs argument 'ref'");

    s_call(fx->db, "statement", &r, "partner", "D1", "period", "2026-01");
    assert_int_equal(r.status, 0);
    s_field(&r, "account", text, sizeof text);
    assert_string_equal(text, "partner:D1");
    s_field(&r, "period", text, sizeof text);
    assert_string_equal(text, "2026-01");
    s_field(&r, "opening", text, sizeof text);
    assert_string_equal(text, "0.00");
    s_reply_free(&r);
    s_call(fx->db, "statement", &r, "partner", "NOPE");
    s_expect_error(&r, 66, "partner NOPE does not exist");
    s_call(fx->db, "member.statement", &r, "phone", "12ab");
    s_expect_error(&r, 64,
                   "'12ab' is not a phone number: 'a' is not a digit, a space, '-', '.', "
                   "'(', ')' or a leading '+'");
    /* any spelling is made canonical with the network's country (86) */
    s_call(fx->db, "member.statement", &r, "phone", "013800138000");
    assert_int_equal(r.status, 66);
    assert_string_equal(r.error, "no member with phone +8613800138000");
    s_call(fx->db, "member.statement", &r, "phone", "+86 138-0013-8000");
    assert_int_equal(r.status, 66); /* no such member */
    assert_non_null(strstr(r.error, "+8613800138000"));

    s_call(fx->db, "period.close", &r, "period", "2026-01");
    assert_int_equal(r.status, 0);
    s_field(&r, "period", text, sizeof text);
    assert_string_equal(text, "2026-01");
    s_reply_free(&r);
    assert_int_equal(s_int(fx->db,
                           "SELECT count(*) FROM periods WHERE period = '2026-01' "
                           "AND closed_by = 'hq'"),
                     1);
    s_call(fx->db, "period.close", &r, "period", "2026-01");
    assert_int_equal(r.status, 73);

    /* verify reads the same file: nothing to differ yet */
    s_call(fx->db, "verify", &r, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.result,
                        "{\"ok\":true,\"events\":0,\"transfers\":0,\"accounts\":0,"
                        "\"corrections\":0,\"differences\":[]}");
    s_reply_free(&r);
}

/* -- guard rails (issue 10) ------------------------------------------------ */

#define JUN30_LAST 1782863999999LL /* 2026-06-30T23:59:59.999Z */

/*  period.close and period.list at a pinned instant: the last millisecond
    of June, then the first of July.  */
static void test_period_guard(void **state)
{
    fixture_t *fx = *state;
    reply_t r;

    s_now_ms = JUN30_LAST;
    s_call(fx->db, "period.close", &r, "period", "2026-06");
    s_expect_error(&r, 65,
                   "period 2026-06 has not ended yet: it can be closed from "
                   "2026-07-01T00:00:00.000Z on");
    s_call(fx->db, "period.close", &r, "period", "2026-09");
    s_expect_error(&r, 65,
                   "period 2026-09 has not ended yet: it can be closed from "
                   "2026-10-01T00:00:00.000Z on");
    s_call(fx->db, "period.close", &r, "period", "2026-05");
    assert_int_equal(r.status, 0);
    assert_string_equal(
        r.result, "{\"period\":\"2026-05\",\"closed\":\"2026-06-30T23:59:59.999Z\"}");
    s_reply_free(&r);
    s_call(fx->db, "period.list", &r, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.result,
                        "[{\"period\":\"2026-05\",\"status\":\"closed\","
                        "\"closed\":\"2026-06-30T23:59:59.999Z\",\"closed_by\":\"hq\"},"
                        "{\"period\":\"2026-06\",\"status\":\"open\",\"closed\":null,"
                        "\"closed_by\":null}]");
    s_reply_free(&r);

    s_now_ms = JUN30_LAST + 1; /* 2026-07-01T00:00:00.000Z: June has ended */
    s_call(fx->db, "period.close", &r, "period", "2026-06");
    assert_int_equal(r.status, 0);
    assert_string_equal(
        r.result, "{\"period\":\"2026-06\",\"closed\":\"2026-07-01T00:00:00.000Z\"}");
    s_reply_free(&r);
    s_call(fx->db, "period.list", &r, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.result, "{\"period\":\"2026-06\",\"status\":\"closed\","
                                     "\"closed\":\"2026-07-01T00:00:00.000Z\","
                                     "\"closed_by\":\"hq\"},"
                                     "{\"period\":\"2026-07\",\"status\":\"open\","
                                     "\"closed\":null,\"closed_by\":null}]"));
    s_reply_free(&r);
    s_call(fx->db, "period.list", &r, "period", "2026-07");
    s_expect_error(&r, 64, "unknown argument 'period' for period.list");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM periods"), 2);
}

/*  plan.check and plan.retire as the CLI sends them.  */
static void test_plan_guard(void **state)
{
    static const char june[] = "[plan]\neffective = 2026-06-01\ncurrency = CNY\n"
                               "cap_bps = 1500\n[levels]\n0 = 800\n1 = 350\n2 = 100\n"
                               "[category:rice]\n0 = 500\n1 = 200\n[referral]\n"
                               "first_purchase_bonus = 5.00\n";
    fixture_t *fx = *state;
    reply_t r;

    s_now_ms = JUN30_LAST;
    s_call(fx->db, "plan.set", &r, "text", s_plan_text);
    s_reply_free(&r);
    s_call(fx->db, "plan.check", &r, "text", june);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.result,
                        "{\"effective\":\"2026-06-01\",\"currency\":\"CNY\","
                        "\"against\":\"2026-01-01\",\"changes\":[{\"field\":"
                        "\"[levels] 1\",\"change\":\"changed\",\"in_force\":\"300\","
                        "\"new\":\"350\"}]}");
    s_reply_free(&r);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM plans"), 1);
    s_call(fx->db, "plan.check", &r, "text",
           "[plan]\neffective = 2026-01-01\n\ncolour = red\n");
    s_expect_error(&r, 65, "line 4: unknown key 'colour' in [plan]");
    s_call(fx->db, "plan.check", &r, NULL, NULL);
    s_expect_error(&r, 64, "plan.check needs argument 'text'");

    s_call(fx->db, "plan.set", &r, "text", june);
    s_reply_free(&r);
    s_call(fx->db, "plan.retire", &r, "effective", "2026-06-01");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.result, "{\"effective\":\"2026-06-01\",\"retired\":"
                                  "\"2026-06-30T23:59:59.999Z\",\"retired_by\":\"hq\","
                                  "\"in_force_instead\":\"2026-01-01\"}");
    s_reply_free(&r);
    s_call(fx->db, "plan.retire", &r, "effective", "2026-06-01");
    s_expect_error(&r, 73,
                   "the plan effective 2026-06-01 was already retired at "
                   "2026-06-30T23:59:59.999Z by hq");
    s_call(fx->db, "plan.retire", &r, "effective", "June");
    s_expect_error(&r, 64, "effective 'June' is not a date (YYYY-MM-DD)");
    s_call(fx->db, "plan.retire", &r, "effective", "2026-07-01");
    s_expect_error(
        &r, 66, "no plan version is effective 2026-07-01 (see: dealernet-hq plan list)");
    s_call(fx->db, "plan.list", &r, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.result, "\"created\":\"2026-06-30T23:59:59.999Z\","
                                     "\"retired\":\"2026-06-30T23:59:59.999Z\","
                                     "\"retired_by\":\"hq\"}]"));
    s_reply_free(&r);
    s_call(fx->db, "plan.show", &r, "at", "2026-06-15");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.result, "\"effective\":\"2026-01-01\""));
    s_reply_free(&r);
}

/*  sale.void and adjust through the admin socket: their refusals, and who
    is recorded (the admin name from the transport, never an argument).  */
static void test_corrections_commands(void **state)
{
    fixture_t *fx = *state;
    char text[128];
    reply_t r;

    s_tree(fx->db);
    s_call(fx->db, "adjust", &r, "account", "D1", "amount", "-2.50", "reason", "typo");
    s_expect_error(&r, 66,
                   "no plan is set yet, so the ledger has no currency to adjust in");
    s_call(fx->db, "plan.set", &r, "text", s_plan_text);
    s_reply_free(&r);

    s_call(fx->db, "sale.void", &r, "sale", "abc", "reason", "x");
    s_expect_error(&r, 64,
                   "'abc' is not a sale id (36 characters like "
                   "0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d, or at least its first 8 hex "
                   "digits)");
    s_call(fx->db, "sale.void", &r, "sale", "01a20fbe-b04a-74ca-8abf-b1afb5260e9f",
           "reason", "x");
    s_expect_error(&r, 66, "no sale has the id 01a20fbe-b04a-74ca-8abf-b1afb5260e9f");
    s_call(fx->db, "sale.void", &r, "sale", "01a20fbe");
    s_expect_error(&r, 64, "sale.void needs argument 'reason'");

    s_call(fx->db, "adjust", &r, "account", "D1", "amount", "2,50", "reason", "typo");
    s_expect_error(
        &r, 64,
        "amount '2,50' is not an amount in CNY (at most 2 decimals, like -12.50, "
        "negative to debit)");
    s_call(fx->db, "adjust", &r, "account", "D1", "amount", "-2.50", "reason", "typo");
    assert_int_equal(r.status, 0);
    s_field(&r, "balance", text, sizeof text);
    assert_string_equal(text, "-2.50");
    s_field(&r, "by", text, sizeof text);
    assert_string_equal(text, "hq");
    s_reply_free(&r);
    s_call(fx->db, "correction.list", &r, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.result, "\"kind\":\"adjustment\""));
    assert_non_null(strstr(r.result, "\"account\":\"partner:D1\",\"amount\":\"-2.50\""));
    s_reply_free(&r);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM corrections WHERE admin = 'hq' "
                                   "AND reason = 'typo' AND amount = -250"),
                     1);
}

/* -- the request itself ---------------------------------------------------- */

static void test_malformed_request(void **state)
{
    fixture_t *fx = *state;
    static const uint8_t garbage[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x12, 0x80};
    /* field 2 (command) as a string, but no protocol field */
    static const uint8_t no_protocol[] = {0x12, 0x09, 's', 'i', 't', 'e',
                                          '.',  'l',  'i', 's', 't'};
    uint8_t *big;
    reply_t r;

    s_handle(fx->db, garbage, sizeof garbage, &r);
    s_expect_error(&r, 65,
                   "malformed admin request: message is not a well-formed "
                   "AdminRequest");
    s_handle(fx->db, no_protocol, sizeof no_protocol, &r);
    s_expect_error(&r, 65,
                   "malformed admin request: admin request without protocol version");
    s_handle(fx->db, (const uint8_t *)"", 0, &r);
    s_expect_error(&r, 65,
                   "malformed admin request: admin request without protocol version");

    big = calloc(1, DN_MAX_ADMIN_REQUEST_BYTES + 1);
    assert_non_null(big);
    s_handle(fx->db, big, DN_MAX_ADMIN_REQUEST_BYTES + 1, &r);
    s_expect_error(&r, 65,
                   "malformed admin request: message is 262145 bytes, at most "
                   "262144");
    free(big);
}

static void test_unknown_command_and_protocol(void **state)
{
    fixture_t *fx = *state;
    reply_t r;

    s_call(fx->db, "site.frobnicate", &r, NULL, NULL);
    s_expect_error(&r, 64, "unknown command site.frobnicate");
    s_call_v(fx->db, DN_PROTOCOL_VERSION + 1, "site.list", NULL, 0, &r);
    s_expect_error(&r, 65,
                   "admin protocol 4 is not supported: this server speaks protocols 1 to 3; "
                   "use a dealernet-hq of one of those");
    s_call_v(fx->db, 0, "site.list", NULL, 0, &r);
    s_expect_error(&r, 65,
                   "admin protocol 0 is not supported: this server speaks protocols 1 to 3; "
                   "use a dealernet-hq of one of those");
}

/*  The figure of the sample name (with its labels) in the metrics' text.  */
static unsigned long long s_metric(sqlite3 *db, const char *name)
{
    char *text = NULL, *at;
    size_t len = 0;
    unsigned long long v;
    assert_int_equal(dn_metrics_render(db, &text, &len), 0);
    at = strstr(text, name);
    assert_non_null(at);
    v = strtoull(at + strlen(name), NULL, 10);
    free(text);
    return v;
}

#define S_QUERIES "\ndealernet_admin_requests_total{kind=\"query\"} "
#define S_WRITES  "\ndealernet_admin_requests_total{kind=\"write\"} "

/*  The metrics count each request of a known command with its arguments
    right, by kind: partner.add writes, partner.list (a query) reads; an
    unknown command and one with an argument it does not take count
    nowhere.  */
static void test_metrics_kinds(void **state)
{
    fixture_t *fx = *state;
    static const char *const add[] = {"code", "R1", "name", "North", "kind", "region"};
    static const char *const bad[] = {"colour", "blue"};
    unsigned long long queries = s_metric(fx->db, S_QUERIES);
    unsigned long long writes = s_metric(fx->db, S_WRITES);
    reply_t r;

    s_call_v(fx->db, DN_PROTOCOL_VERSION, "partner.add", add, 3, &r);
    assert_int_equal(r.status, 0);
    s_reply_free(&r);
    s_call_v(fx->db, DN_PROTOCOL_VERSION, "partner.list", NULL, 0, &r);
    assert_int_equal(r.status, 0);
    s_reply_free(&r);
    s_call_v(fx->db, DN_PROTOCOL_VERSION, "partner.list", NULL, 0, &r);
    s_reply_free(&r);
    s_call(fx->db, "site.frobnicate", &r, NULL, NULL);
    assert_int_equal(r.status, 64);
    s_call_v(fx->db, DN_PROTOCOL_VERSION, "partner.list", bad, 1, &r);
    assert_int_equal(r.status, 64);
    assert_int_equal(s_metric(fx->db, S_QUERIES), queries + 2);
    assert_int_equal(s_metric(fx->db, S_WRITES), writes + 1);
}

/*  A dealernet-hq of protocol 1 (before downstream; the admin protocol is
    the same) is served like one of protocol 2: a partner it adds is there,
    and the listing both read is the same JSON.  */
static void test_old_hq_protocol(void **state)
{
    fixture_t *fx = *state;
    static const char *const add[] = {"code", "R1", "name", "North", "kind", "region"};
    reply_t r1, r2;

    s_call_v(fx->db, DN_PROTOCOL_MIN_VERSION, "partner.add", add, 3, &r1);
    assert_int_equal(r1.status, 0);
    s_reply_free(&r1);
    s_call_v(fx->db, DN_PROTOCOL_MIN_VERSION, "partner.list", NULL, 0, &r1);
    s_call_v(fx->db, DN_PROTOCOL_VERSION, "partner.list", NULL, 0, &r2);
    assert_int_equal(r1.status, 0);
    assert_int_equal(r2.status, 0);
    assert_non_null(r1.result);
    assert_non_null(strstr(r1.result, "\"R1\""));
    assert_string_equal(r1.result, r2.result);
    s_reply_free(&r1);
    s_reply_free(&r2);
}

/*  A full disk (max_page_count at the database's size): partners are
    added until one needs a new page; that one is refused with status 74
    and "server disk full", not "database error", and changes nothing.  */
static void test_disk_full(void **state)
{
    fixture_t *fx = *state;
    char code[16];
    reply_t r;
    int added = 0;

    s_exec(fx->db, "PRAGMA max_page_count = 1"); /* = the database's size */
    for (;;) {
        snprintf(code, sizeof code, "P%d", added);
        s_call(fx->db, "partner.add", &r, "code", code, "name",
               "a partner with a name long enough to fill a page soon", "kind", "hq");
        if (r.status != 0)
            break;
        s_reply_free(&r);
        added++;
        assert_true(added < 2000); /* a page is 4 KiB: it fills long before */
    }
    s_expect_error(&r, 74,
                   "server disk full: nothing was changed; free space on the disk of the "
                   "server's data folder, then retry");
    s_reply_free(&r);
    s_exec(fx->db, "PRAGMA max_page_count = 1073741823");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partners"), added);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_partner_add, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_metrics_kinds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partner_add_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partner_list, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_site_add, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_site_list, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_site_revoke, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_member_conflicts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partner_move_and_tree, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partner_recruiter_and_status, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_plans, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ledger_commands, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_period_guard, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plan_guard, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_corrections_commands, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_request, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_old_hq_protocol, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_command_and_protocol, s_setup,
                                        s_teardown),
    };
    dn_log_init("test_admin", DN_LOG_QUIET, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

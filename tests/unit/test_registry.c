/*  test_registry -- unit tests for dn_registry: who is who in central.db.

    The promises under test: a CURVE key is classified as exactly one of
    unknown, site, admin or revoked site; enrollment binds a key to a site
    only with a stored, unused, unexpired token of that very site, and every
    refusal has its own code and writes nothing but the token's hold (the
    first key to present a valid token holds it for 10 minutes: its retry
    works, another key is refused with when, which key and from where, and
    HQ gets one token_raced exception per token); a token exists in the
    database only as its SHA-256 (the token text and its raw bytes appear in
    no column and in no byte of the database files); partners and sites
    refuse bad, duplicate and dangling input; listings show exactly the
    stored figures.  Each test works on a fresh central.db in its own
    mkdtemp folder, removed at the end, with a fixed clock.
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
#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_facts.h"
#include "dn_registry.h"
#include "dn_tree.h"

#define T0      1767225600000LL    /* 2026-01-01T00:00:00.000Z */
#define EXPIRES (T0 + 259200000LL) /* 72 h later: 2026-01-04T00:00:00.000Z */

typedef dn_test_central_t fixture_t;

static int s_setup(void **state)
{
    return dn_test_central_setup(state);
}

static int s_teardown(void **state)
{
    return dn_test_central_teardown(state);
}

/* -- helpers --------------------------------------------------------------- */

static int64_t s_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t v = -999;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    v = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static void s_exec(sqlite3 *db, const char *sql)
{
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static void s_key(uint8_t key[32], uint8_t fill)
{
    memset(key, fill, 32);
}

/*  Compact JSON of a listing, freed by the caller.  */
static char *s_json(json_t *list)
{
    char *text;
    assert_non_null(list);
    text = json_dumps(list, JSON_COMPACT);
    assert_non_null(text);
    json_decref(list);
    return text;
}

/*  HQ > NORTH (region) > D1 (dealer).  */
static void s_tree(sqlite3 *db)
{
    char why[256];
    assert_int_equal(
        dn_registry_partner_add(db, "HQ", "Head Office", "hq", NULL, T0, why, sizeof why),
        0);
    assert_int_equal(dn_registry_partner_add(db, "NORTH", "North Region", "region", "HQ",
                                             T0 + 1, why, sizeof why),
                     0);
    assert_int_equal(dn_registry_partner_add(db, "D1", "Dealer One", "dealer", "NORTH",
                                             T0 + 2, why, sizeof why),
                     0);
}

/*  Adds site code for D1 at T0 and returns its token in token.  */
static void s_site(sqlite3 *db, const char *code, char token[DN_TOKEN_TEXT_LEN + 1])
{
    char why[256] = "";
    int64_t expires = 0;
    assert_int_equal(
        dn_registry_site_add(db, code, "D1", T0, token, &expires, why, sizeof why), 0);
    assert_int_equal(expires, EXPIRES);
    assert_int_equal(strlen(token), DN_TOKEN_TEXT_LEN);
}

/*  The sites row's identity columns: "enrolled_ms|revoked_ms|has_key".  */
static void s_site_state(sqlite3 *db, const char *code, char *buf, size_t size)
{
    sqlite3_stmt *stmt;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT ifnull(enrolled_ms, 'null') || '|' ||"
                           " ifnull(revoked_ms, 'null') || '|' ||"
                           " (curve_key IS NOT NULL) || (sign_key IS NOT NULL) "
                           "FROM sites WHERE code = ?",
                           -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    snprintf(buf, size, "%s", (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
}

/* -- peers ----------------------------------------------------------------- */

static void test_peer_classification(void **state)
{
    fixture_t *fx = *state;
    uint8_t admin[32], site[32], stranger[32], sign[32];
    char name[DN_MAX_CODE_LEN + 1], token[DN_TOKEN_TEXT_LEN + 1], why[256];
    dn_registry_site_t s;
    dn_peer_t kind = DN_PEER_SITE;

    s_key(admin, 0xA1);
    s_key(site, 0x51);
    s_key(stranger, 0x77);
    s_key(sign, 0x5E);

    assert_int_equal(dn_registry_peer(fx->db, stranger, &kind, name), 0);
    assert_int_equal(kind, DN_PEER_UNKNOWN);
    assert_string_equal(name, "");

    assert_int_equal(dn_registry_admin_add(fx->db, admin, "hq", T0), 0);
    assert_int_equal(dn_registry_peer(fx->db, admin, &kind, name), 0);
    assert_int_equal(kind, DN_PEER_ADMIN);
    assert_string_equal(name, "hq");

    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    /* a site that is only added, not enrolled, owns no key yet */
    assert_int_equal(dn_registry_peer(fx->db, site, &kind, name), 0);
    assert_int_equal(kind, DN_PEER_UNKNOWN);
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", site, sign, T0 + 10, &s,
                                        why, sizeof why),
                     0);
    assert_int_equal(dn_registry_peer(fx->db, site, &kind, name), 0);
    assert_int_equal(kind, DN_PEER_SITE);
    assert_string_equal(name, "SHOP-1");

    assert_int_equal(dn_registry_site_revoke(fx->db, "SHOP-1", T0 + 20, why, sizeof why),
                     0);
    assert_int_equal(dn_registry_peer(fx->db, site, &kind, name), 0);
    assert_int_equal(kind, DN_PEER_REVOKED);
    assert_string_equal(name, "SHOP-1");

    /* the others are unchanged */
    assert_int_equal(dn_registry_peer(fx->db, admin, &kind, name), 0);
    assert_int_equal(kind, DN_PEER_ADMIN);
    assert_int_equal(dn_registry_peer(fx->db, stranger, &kind, name), 0);
    assert_int_equal(kind, DN_PEER_UNKNOWN);
}

static void test_admin_add_refusals(void **state)
{
    fixture_t *fx = *state;
    uint8_t a[32], b[32], site[32], sign[32];
    char token[DN_TOKEN_TEXT_LEN + 1], why[256];
    dn_registry_site_t s;

    s_key(a, 0x01);
    s_key(b, 0x02);
    s_key(site, 0x03);
    s_key(sign, 0x04);
    assert_int_equal(dn_registry_admin_add(fx->db, a, "hq", T0), 0);
    assert_int_equal(dn_registry_admin_add(fx->db, a, "other", T0), DN_EEXIST);
    assert_int_equal(dn_registry_admin_add(fx->db, b, "hq", T0), DN_EEXIST);
    assert_int_equal(dn_registry_admin_add(fx->db, b, "", T0), DN_EINVAL);
    assert_int_equal(dn_registry_admin_add(fx->db, b, "has space", T0), DN_EINVAL);
    assert_int_equal(
        dn_registry_admin_add(fx->db, b, "a-name-that-is-much-longer-than-32", T0),
        DN_EINVAL);
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(
        dn_registry_enroll(fx->db, token, "SHOP-1", site, sign, T0, &s, why, sizeof why),
        0);
    assert_int_equal(dn_registry_admin_add(fx->db, site, "sneaky", T0), DN_EEXIST);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM admins"), 1);
    assert_int_equal(dn_registry_admin_add(fx->db, b, "ops.2", T0), 0);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM admins"), 2);
}

/* -- enrollment ------------------------------------------------------------ */

static void test_enroll_happy_path(void **state)
{
    fixture_t *fx = *state;
    uint8_t curve[32], sign[32];
    char token[DN_TOKEN_TEXT_LEN + 1], why[256] = "", buf[128];
    dn_registry_site_t s;

    s_key(curve, 0xC1);
    for (int i = 0; i < 32; i++)
        sign[i] = (uint8_t)i;
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(strspn(token, "0123456789abcdef"), DN_TOKEN_TEXT_LEN);

    assert_int_equal(dn_registry_site_get(fx->db, "SHOP-1", &s), 0);
    assert_int_equal(s.enrolled, 0);
    assert_int_equal(s.revoked, 0);

    memset(&s, 0xEE, sizeof s);
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", curve, sign, T0 + 5000,
                                        &s, why, sizeof why),
                     0);
    assert_int_equal(s.id, 1);
    assert_string_equal(s.code, "SHOP-1");
    assert_string_equal(s.partner, "D1");
    assert_int_equal(s.enrolled, 1);
    assert_int_equal(s.revoked, 0);
    assert_memory_equal(s.sign_key, sign, 32);

    s_site_state(fx->db, "SHOP-1", buf, sizeof buf);
    assert_string_equal(buf, "1767225605000|null|11");
    assert_int_equal(s_int(fx->db, "SELECT used_ms FROM tokens"), T0 + 5000);
    assert_int_equal(s_int(fx->db, "SELECT expires_ms FROM tokens"), EXPIRES);
    assert_int_equal(s_int(fx->db,
                           "SELECT count(*) FROM sites WHERE curve_key = "
                           "x'C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1"
                           "C1C1C1C1'"),
                     1);

    memset(&s, 0, sizeof s);
    assert_int_equal(dn_registry_site_get(fx->db, "SHOP-1", &s), 0);
    assert_int_equal(s.enrolled, 1);
    assert_memory_equal(s.sign_key, sign, 32);
    assert_int_equal(dn_registry_site_get(fx->db, "SHOP-2", &s), DN_ENOENT);
}

static void test_enroll_bad_token(void **state)
{
    fixture_t *fx = *state;
    uint8_t curve[32], sign[32];
    char token[DN_TOKEN_TEXT_LEN + 1], wrong[DN_TOKEN_TEXT_LEN + 1], why[256] = "";
    char buf[128];
    dn_registry_site_t s;

    s_key(curve, 0xC1);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    /* one digit off */
    memcpy(wrong, token, sizeof wrong);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    assert_int_equal(
        dn_registry_enroll(fx->db, wrong, "SHOP-1", curve, sign, T0, &s, why, sizeof why),
        DN_ENOENT);
    assert_string_equal(why, "enrollment token not recognised: check it, or ask "
                             "headquarters for a new one");
    /* the token in upper case is another token: compared by hash, as typed
       (a token without any letter a-f has odds of 1 in 3 million) */
    for (size_t i = 0; i <= DN_TOKEN_TEXT_LEN; i++)
        wrong[i] = token[i] >= 'a' ? (char)(token[i] - 'a' + 'A') : token[i];
    if (strcmp(wrong, token) != 0)
        assert_int_equal(dn_registry_enroll(fx->db, wrong, "SHOP-1", curve, sign, T0, &s,
                                            why, sizeof why),
                         DN_ENOENT);
    s_site_state(fx->db, "SHOP-1", buf, sizeof buf);
    assert_string_equal(buf, "null|null|00");
    assert_int_equal(s_int(fx->db, "SELECT used_ms FROM tokens"), -1);
}

static void test_enroll_used_token(void **state)
{
    fixture_t *fx = *state;
    uint8_t curve[32], other[32], sign[32];
    char token[DN_TOKEN_TEXT_LEN + 1], why[256] = "";
    dn_registry_site_t s;

    s_key(curve, 0xC1);
    s_key(other, 0xC2);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", curve, sign, T0 + 1, &s,
                                        why, sizeof why),
                     0);
    /* again, by the same agent or by a thief with another key */
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", curve, sign, T0 + 2, &s,
                                        why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why,
                        "enrollment token was already used: ask headquarters for a new "
                        "one");
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", other, sign, T0 + 3, &s,
                                        why, sizeof why),
                     DN_EEXIST);
    /* the first binding stands */
    assert_int_equal(s_int(fx->db, "SELECT used_ms FROM tokens"), T0 + 1);
    assert_int_equal(s_int(fx->db, "SELECT enrolled_ms FROM sites"), T0 + 1);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM sites WHERE curve_key = "
                                   "x'C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1"
                                   "C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1'"),
                     1);
}

static void test_enroll_expired_token(void **state)
{
    fixture_t *fx = *state;
    uint8_t curve[32], sign[32];
    char token[DN_TOKEN_TEXT_LEN + 1], why[256] = "", buf[128];
    dn_registry_site_t s;

    s_key(curve, 0xC1);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", curve, sign,
                                        EXPIRES + 3600000, &s, why, sizeof why),
                     DN_ETIMEDOUT);
    assert_string_equal(why, "enrollment token expired: ask headquarters for a new one");
    /* at the very millisecond of expiry it is expired already */
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", curve, sign, EXPIRES, &s,
                                        why, sizeof why),
                     DN_ETIMEDOUT);
    s_site_state(fx->db, "SHOP-1", buf, sizeof buf);
    assert_string_equal(buf, "null|null|00");
    assert_int_equal(s_int(fx->db, "SELECT used_ms FROM tokens"), -1);
    assert_int_equal(s_int(fx->db, "SELECT held_ms FROM tokens"), -1); /* no hold */
    /* one millisecond before, it works */
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", curve, sign, EXPIRES - 1,
                                        &s, why, sizeof why),
                     0);
    assert_int_equal(s_int(fx->db, "SELECT used_ms FROM tokens"), EXPIRES - 1);
}

static void test_enroll_token_of_another_site(void **state)
{
    fixture_t *fx = *state;
    uint8_t curve[32], sign[32];
    char token1[DN_TOKEN_TEXT_LEN + 1], token2[DN_TOKEN_TEXT_LEN + 1], why[256] = "";
    char buf[128];
    dn_registry_site_t s;

    s_key(curve, 0xC1);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token1);
    s_site(fx->db, "SHOP-2", token2);
    assert_string_not_equal(token1, token2);
    assert_int_equal(dn_registry_enroll(fx->db, token2, "SHOP-1", curve, sign, T0, &s,
                                        why, sizeof why),
                     DN_EPERM);
    assert_string_equal(why, "enrollment token is for another site than SHOP-1");
    /* a site that does not exist at all: the same answer */
    assert_int_equal(dn_registry_enroll(fx->db, token2, "SHOP-9", curve, sign, T0, &s,
                                        why, sizeof why),
                     DN_EPERM);
    s_site_state(fx->db, "SHOP-1", buf, sizeof buf);
    assert_string_equal(buf, "null|null|00");
    s_site_state(fx->db, "SHOP-2", buf, sizeof buf);
    assert_string_equal(buf, "null|null|00");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM tokens WHERE used_ms IS NULL"),
                     2);
}

static void test_enroll_revoked_site(void **state)
{
    fixture_t *fx = *state;
    uint8_t curve[32], sign[32];
    char token[DN_TOKEN_TEXT_LEN + 1], why[256] = "", buf[128];
    dn_registry_site_t s;

    s_key(curve, 0xC1);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(dn_registry_site_revoke(fx->db, "SHOP-1", T0 + 7, why, sizeof why),
                     0);
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", curve, sign, T0 + 8, &s,
                                        why, sizeof why),
                     DN_EPERM);
    assert_string_equal(why, "site SHOP-1 was revoked by headquarters");
    s_site_state(fx->db, "SHOP-1", buf, sizeof buf);
    assert_string_equal(buf, "null|1767225600007|00");
    assert_int_equal(s_int(fx->db, "SELECT used_ms FROM tokens"), -1);
}

static void test_enroll_key_in_use(void **state)
{
    fixture_t *fx = *state;
    uint8_t k1[32], k2[32], admin[32], sign[32];
    char t1[DN_TOKEN_TEXT_LEN + 1], t2[DN_TOKEN_TEXT_LEN + 1], why[256] = "", buf[128];
    dn_registry_site_t s;

    s_key(k1, 0x11);
    s_key(k2, 0x22);
    s_key(admin, 0xAD);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    assert_int_equal(dn_registry_admin_add(fx->db, admin, "hq", T0), 0);
    s_site(fx->db, "SHOP-1", t1);
    s_site(fx->db, "SHOP-2", t2);
    assert_int_equal(
        dn_registry_enroll(fx->db, t1, "SHOP-1", k1, sign, T0 + 1, &s, why, sizeof why),
        0);
    /* SHOP-1's key */
    assert_int_equal(
        dn_registry_enroll(fx->db, t2, "SHOP-2", k1, sign, T0 + 2, &s, why, sizeof why),
        DN_EDUP);
    assert_string_equal(why, "this agent's key is already in use: generate a new one");
    /* an admin's key */
    assert_int_equal(dn_registry_enroll(fx->db, t2, "SHOP-2", admin, sign, T0 + 3, &s,
                                        why, sizeof why),
                     DN_EDUP);
    s_site_state(fx->db, "SHOP-2", buf, sizeof buf);
    assert_string_equal(buf, "null|null|00");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM tokens WHERE used_ms IS NULL"),
                     1);
    /* someone else's key takes no hold of the token */
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM tokens WHERE used_ms IS NULL"
                                   " AND holder_key IS NULL"),
                     1);
    /* the token was not burnt: with a key of its own SHOP-2 enrolls */
    assert_int_equal(
        dn_registry_enroll(fx->db, t2, "SHOP-2", k2, sign, T0 + 4, &s, why, sizeof why),
        0);
    s_site_state(fx->db, "SHOP-2", buf, sizeof buf);
    assert_string_equal(buf, "1767225600004|null|11");
}

static void test_enroll_site_already_enrolled(void **state)
{
    fixture_t *fx = *state;
    uint8_t k1[32], k2[32], sign[32], hash[32];
    char token[DN_TOKEN_TEXT_LEN + 1], again[] = "00112233445566778899aabbccddeeff";
    char why[256] = "";
    dn_registry_site_t s;
    sqlite3_stmt *stmt;

    s_key(k1, 0x11);
    s_key(k2, 0x22);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(
        dn_registry_enroll(fx->db, token, "SHOP-1", k1, sign, T0, &s, why, sizeof why),
        0);
    /* a second, unused token for the same site, not issued by site token
       (rebind 0): the site is enrolled already */
    assert_int_equal(dn_sha256(again, strlen(again), hash), 0);
    assert_int_equal(sqlite3_prepare_v2(fx->db,
                                        "INSERT INTO tokens(hash, site_id, created_ms, "
                                        "expires_ms) VALUES (?, 1, ?, ?)",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, T0);
    sqlite3_bind_int64(stmt, 3, EXPIRES);
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    assert_int_equal(dn_registry_enroll(fx->db, again, "SHOP-1", k2, sign, T0 + 1, &s,
                                        why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why, "site SHOP-1 is already enrolled");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM tokens WHERE used_ms IS NULL"),
                     1);
}

/*  The text of a one-row, one-column query into buf ("NULL" for NULL).  */
static const char *s_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    snprintf(buf, size, "%s",
             sqlite3_column_type(stmt, 0) == SQLITE_NULL
                 ? "NULL"
                 : (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return buf;
}

/*  Key fills 0xC1, 0xC2, 0xC3 print as .ni$7.ni, .OTgb.OT, .]6yf.]6 (the
    first 8 characters of their Z85).  */
#define USED_BY_THIEF                                                                    \
    "enrollment token already used at 2026-01-01T00:00:00.001Z by key .OTgb.OT "         \
    "from 203.0.113.9, not by this PC: tell headquarters (the token may have been "      \
    "stolen) and ask for a new one"

static void test_enroll_raced_after_use(void **state)
{
    fixture_t *fx = *state;
    uint8_t shop[32], thief[32], third[32], sign[32];
    char token[DN_TOKEN_TEXT_LEN + 1], why[DN_ENROLL_WHY_SIZE] = "", buf[256];
    dn_registry_site_t s;

    s_key(shop, 0xC1);
    s_key(thief, 0xC2);
    s_key(third, 0xC3);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    /* the thief enrols first, from its address, 1 ms after T0 */
    assert_int_equal(dn_registry_enroll_from(fx->db, token, "SHOP-1", thief, sign,
                                             "203.0.113.9", dn_facts_note_raced, T0 + 1,
                                             &s, why, sizeof why),
                     0);
    /* the shop, a minute later: told when, by which key, from where */
    assert_int_equal(dn_registry_enroll_from(fx->db, token, "SHOP-1", shop, sign,
                                             "198.51.100.7", dn_facts_note_raced,
                                             T0 + 60000, &s, why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why, USED_BY_THIEF);
    /* HQ is told once, about the site itself */
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM exceptions"), 1);
    s_text(fx->db,
           "SELECT kind || '|' || held || '|' || ifnull(eid, 'none') || '|' || detail || "
           "'|' || created_ms || '|' || ifnull(resolved_ms, 'open') FROM exceptions "
           "WHERE site_id = 1",
           buf, sizeof buf);
    assert_string_equal(buf,
                        "token_raced|0|none|possible stolen token: used at "
                        "2026-01-01T00:00:00.001Z by key .OTgb.OT from 203.0.113.9; "
                        "presented again at 2026-01-01T00:01:00.000Z by key .ni$7.ni "
                        "from 198.51.100.7|1767225660000|open");
    assert_int_equal(s_int(fx->db, "SELECT raced_ms FROM tokens"), T0 + 60000);
    /* a third key, address unknown: refused the same way, no second note */
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", third, sign, T0 + 120000,
                                        &s, why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why, USED_BY_THIEF);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM exceptions"), 1);
    assert_int_equal(s_int(fx->db, "SELECT raced_ms FROM tokens"), T0 + 60000);
    /* the key that used it is no news */
    assert_int_equal(dn_registry_enroll(fx->db, token, "SHOP-1", thief, sign, T0 + 130000,
                                        &s, why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why,
                        "enrollment token was already used: ask headquarters for a new "
                        "one");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM exceptions"), 1);
    /* the first binding stands */
    assert_int_equal(s_int(fx->db, "SELECT used_ms FROM tokens"), T0 + 1);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM sites WHERE curve_key = "
                                   "x'C2C2C2C2C2C2C2C2C2C2C2C2C2C2C2C2"
                                   "C2C2C2C2C2C2C2C2C2C2C2C2C2C2C2C2'"),
                     1);
}

/*  A wrong site code with a valid token: the key holds the token for
    DN_TOKEN_HOLD_MS (10 min), so the shop's own retry with its key works
    and another key is refused loudly until the hold is over.  */
static void test_enroll_hold(void **state)
{
    fixture_t *fx = *state;
    uint8_t shop[32], thief[32], sign[32];
    char token[DN_TOKEN_TEXT_LEN + 1], why[DN_ENROLL_WHY_SIZE] = "", buf[256];
    dn_registry_site_t s;

    s_key(shop, 0xC1);
    s_key(thief, 0xC2);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    /* the shop, initialised with a typo: refused, but it now holds the token */
    assert_int_equal(dn_registry_enroll_from(fx->db, token, "SHOP-I", shop, sign,
                                             "198.51.100.7", dn_facts_note_raced, T0, &s,
                                             why, sizeof why),
                     DN_EPERM);
    assert_string_equal(why, "enrollment token is for another site than SHOP-I");
    s_text(fx->db,
           "SELECT hex(holder_key) || '|' || held_ms || '|' || holder_address || '|' || "
           "ifnull(used_ms, 'unused') || '|' || ifnull(raced_ms, 'calm') FROM tokens",
           buf, sizeof buf);
    assert_string_equal(buf, "C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1"
                             "C1C1C1|1767225600000|198.51.100.7|unused|calm");
    /* a thief with the token and its own key, right site, 1 s later */
    assert_int_equal(dn_registry_enroll_from(fx->db, token, "SHOP-1", thief, sign,
                                             "203.0.113.9", dn_facts_note_raced,
                                             T0 + 1000, &s, why, sizeof why),
                     DN_EAGAIN);
    assert_string_equal(why,
                        "enrollment token held until 2026-01-01T00:10:00.000Z by key "
                        ".ni$7.ni from 198.51.100.7, which presented it at "
                        "2026-01-01T00:00:00.000Z, not by this PC: tell headquarters "
                        "(the token may have been stolen) and ask for a new one");
    s_text(fx->db, "SELECT kind || '|' || detail FROM exceptions", buf, sizeof buf);
    assert_string_equal(buf,
                        "token_raced|possible stolen token: held at "
                        "2026-01-01T00:00:00.000Z by key .ni$7.ni from 198.51.100.7; "
                        "presented again at 2026-01-01T00:00:01.000Z by key .OTgb.OT "
                        "from 203.0.113.9");
    s_site_state(fx->db, "SHOP-1", buf, sizeof buf);
    assert_string_equal(buf, "null|null|00");
    /* the hold does not move with the thief's tries: at 9:59.999 still
       refused, no second note */
    assert_int_equal(dn_registry_enroll_from(fx->db, token, "SHOP-1", thief, sign,
                                             "203.0.113.9", dn_facts_note_raced,
                                             T0 + DN_TOKEN_HOLD_MS - 1, &s, why,
                                             sizeof why),
                     DN_EAGAIN);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM exceptions"), 1);
    assert_int_equal(s_int(fx->db, "SELECT held_ms FROM tokens"), T0);
    /* the shop, initialised again with the right code and its key kept,
       enrolls within its hold */
    assert_int_equal(dn_registry_enroll_from(fx->db, token, "SHOP-1", shop, sign,
                                             "198.51.100.7", dn_facts_note_raced,
                                             T0 + 5000, &s, why, sizeof why),
                     0);
    s_site_state(fx->db, "SHOP-1", buf, sizeof buf);
    assert_string_equal(buf, "1767225605000|null|11");
    assert_int_equal(s_int(fx->db, "SELECT used_ms FROM tokens"), T0 + 5000);
    assert_int_equal(s_int(fx->db, "SELECT held_ms FROM tokens"), T0);
}

/*  A hold lasts exactly DN_TOKEN_HOLD_MS; then the next key takes it.  */
static void test_enroll_hold_over(void **state)
{
    fixture_t *fx = *state;
    uint8_t first[32], second[32], sign[32];
    char token[DN_TOKEN_TEXT_LEN + 1], why[DN_ENROLL_WHY_SIZE] = "", buf[256];
    dn_registry_site_t s;

    s_key(first, 0xC1);
    s_key(second, 0xC2);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(dn_registry_enroll_from(fx->db, token, "SHOP-9", first, sign, NULL,
                                             dn_facts_note_raced, T0, &s, why,
                                             sizeof why),
                     DN_EPERM);
    assert_int_equal(dn_registry_enroll_from(
                         fx->db, token, "SHOP-9", second, sign, NULL, dn_facts_note_raced,
                         T0 + DN_TOKEN_HOLD_MS - 1, &s, why, sizeof why),
                     DN_EAGAIN);
    /* no address known: none named */
    assert_string_equal(why,
                        "enrollment token held until 2026-01-01T00:10:00.000Z by key "
                        ".ni$7.ni, which presented it at 2026-01-01T00:00:00.000Z, not "
                        "by this PC: tell headquarters (the token may have been "
                        "stolen) and ask for a new one");
    /* at 10:00.000 the hold is over: the second key holds it now */
    assert_int_equal(dn_registry_enroll_from(fx->db, token, "SHOP-9", second, sign, NULL,
                                             dn_facts_note_raced, T0 + DN_TOKEN_HOLD_MS,
                                             &s, why, sizeof why),
                     DN_EPERM);
    s_text(fx->db,
           "SELECT substr(hex(holder_key), 1, 4) || '|' || held_ms || '|' || "
           "ifnull(holder_address, 'unknown') FROM tokens",
           buf, sizeof buf);
    assert_string_equal(buf, "C2C2|1767226200000|unknown");
    assert_int_equal(dn_registry_enroll_from(
                         fx->db, token, "SHOP-1", first, sign, NULL, dn_facts_note_raced,
                         T0 + DN_TOKEN_HOLD_MS + 1, &s, why, sizeof why),
                     DN_EAGAIN);
    assert_int_equal(dn_registry_enroll_from(
                         fx->db, token, "SHOP-1", second, sign, NULL, dn_facts_note_raced,
                         T0 + DN_TOKEN_HOLD_MS + 2, &s, why, sizeof why),
                     0);
    /* one note for the token, from the first race */
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM exceptions"), 1);
    assert_int_equal(s_int(fx->db, "SELECT raced_ms FROM tokens"),
                     T0 + DN_TOKEN_HOLD_MS - 1);
}

/*  Returns 1 if needle[0..len) occurs in data[0..size).  */
static int s_holds(const void *data, size_t size, const void *needle, size_t len)
{
    for (size_t i = 0; len <= size && i <= size - len; i++)
        if (memcmp((const char *)data + i, needle, len) == 0)
            return 1;
    return 0;
}

/*  Returns 1 if needle[0..len) occurs in the file at path (0 if no file).  */
static int s_file_holds(const char *path, const void *needle, size_t len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long size;
    int found = 0;
    if (!f)
        return 0;
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    data = malloc((size_t)size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    found = s_holds(data, (size_t)size, needle, len);
    free(data);
    return found;
}

static void test_token_stored_only_as_hash(void **state)
{
    fixture_t *fx = *state;
    char token[DN_TOKEN_TEXT_LEN + 1], path[256], wal[256];
    uint8_t raw[16], hash[32];
    sqlite3_stmt *stmt;
    int rows = 0;

    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(dn_hex_decode(token, raw, sizeof raw), 0);
    assert_int_equal(dn_sha256(token, strlen(token), hash), 0);

    /* every column of every tokens row, as text and as bytes */
    assert_int_equal(sqlite3_prepare_v2(fx->db, "SELECT * FROM tokens", -1, &stmt, NULL),
                     SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        rows++;
        for (int c = 0; c < sqlite3_column_count(stmt); c++) {
            const void *blob = sqlite3_column_blob(stmt, c);
            int n = sqlite3_column_bytes(stmt, c);
            if (!blob || n == 0)
                continue;
            assert_false(s_holds(blob, (size_t)n, token, strlen(token)));
            assert_false(s_holds(blob, (size_t)n, raw, sizeof raw));
        }
        assert_int_equal(sqlite3_column_bytes(stmt, 0), 32);
        assert_memory_equal(sqlite3_column_blob(stmt, 0), hash, 32);
    }
    sqlite3_finalize(stmt);
    assert_int_equal(rows, 1);

    /* and no byte of the database files: the main file and its WAL (where
       the hash itself is found, so the scan does see the rows) */
    snprintf(path, sizeof path, "%s/central.db", fx->dir);
    snprintf(wal, sizeof wal, "%s/central.db-wal", fx->dir);
    assert_true(s_file_holds(path, hash, sizeof hash) ||
                s_file_holds(wal, hash, sizeof hash));
    assert_false(s_file_holds(path, token, strlen(token)));
    assert_false(s_file_holds(path, raw, sizeof raw));
    assert_false(s_file_holds(wal, token, strlen(token)));
    assert_false(s_file_holds(wal, raw, sizeof raw));
}

/* -- partners -------------------------------------------------------------- */

static void test_partner_add_and_list(void **state)
{
    fixture_t *fx = *state;
    json_t *list = NULL;
    char *text;

    s_tree(fx->db);
    assert_int_equal(
        s_int(fx->db, "SELECT count(*) FROM partner_links WHERE effective_ms = 0"), 3);
    assert_int_equal(s_int(fx->db,
                           "SELECT count(*) FROM partner_links WHERE parent_id IS "
                           "NULL"),
                     1);
    assert_int_equal(dn_registry_partner_list(fx->db, T0, &list), 0);
    text = s_json(list);
    assert_string_equal(
        text, "[{\"code\":\"D1\",\"name\":\"Dealer One\",\"kind\":\"dealer\",\"parent\":"
              "\"NORTH\",\"recruiter\":null,\"status\":\"active\","
              "\"joined\":\"2026-01-01T00:00:00.002Z\","
              "\"created\":\"2026-01-01T00:00:00.002Z\"},"
              "{\"code\":\"HQ\",\"name\":\"Head Office\",\"kind\":\"hq\",\"parent\":null,"
              "\"recruiter\":null,\"status\":\"active\","
              "\"joined\":\"2026-01-01T00:00:00.000Z\","
              "\"created\":\"2026-01-01T00:00:00.000Z\"},"
              "{\"code\":\"NORTH\",\"name\":\"North Region\",\"kind\":\"region\","
              "\"parent\":\"HQ\",\"recruiter\":null,\"status\":\"active\","
              "\"joined\":\"2026-01-01T00:00:00.001Z\","
              "\"created\":\"2026-01-01T00:00:00.001Z\"}]");
    free(text);

    /* a move, effective later: the list shows the parent in force */
    s_exec(fx->db, "INSERT INTO partner_links VALUES (3, 1, 1767312000000)");
    assert_int_equal(dn_registry_partner_list(fx->db, 1767312000000LL - 1, &list), 0);
    text = s_json(list);
    assert_non_null(strstr(text,
                           "\"code\":\"D1\",\"name\":\"Dealer One\",\"kind\":\"dealer\","
                           "\"parent\":\"NORTH\""));
    free(text);
    assert_int_equal(dn_registry_partner_list(fx->db, 1767312000000LL, &list), 0);
    text = s_json(list);
    assert_non_null(strstr(text,
                           "\"code\":\"D1\",\"name\":\"Dealer One\",\"kind\":\"dealer\","
                           "\"parent\":\"HQ\""));
    free(text);
}

static void test_partner_list_recruiter_and_status(void **state)
{
    fixture_t *fx = *state;
    json_t *list = NULL;
    char why[256] = "", *text;

    s_tree(fx->db);
    assert_int_equal(dn_registry_partner_add_recruited(
                         fx->db, "R1", "Reseller", "reseller", "D1", "NORTH",
                         T0 - 86400000LL, T0 + 3, why, sizeof why),
                     0);
    assert_int_equal(dn_tree_suspend(fx->db, "NORTH", T0 + 10, why, sizeof why), 0);
    /* before the suspension, and from it on */
    assert_int_equal(dn_registry_partner_list(fx->db, T0 + 9, &list), 0);
    text = s_json(list);
    assert_non_null(strstr(text, "{\"code\":\"NORTH\",\"name\":\"North Region\",\"kind\":"
                                 "\"region\",\"parent\":\"HQ\",\"recruiter\":null,"
                                 "\"status\":\"active\""));
    assert_non_null(strstr(text, "{\"code\":\"R1\",\"name\":\"Reseller\",\"kind\":"
                                 "\"reseller\",\"parent\":\"D1\",\"recruiter\":\"NORTH\","
                                 "\"status\":\"active\","
                                 "\"joined\":\"2025-12-31T00:00:00.000Z\","
                                 "\"created\":\"2026-01-01T00:00:00.003Z\"}"));
    free(text);
    assert_int_equal(dn_registry_partner_list(fx->db, T0 + 10, &list), 0);
    text = s_json(list);
    assert_non_null(strstr(text, "\"code\":\"NORTH\",\"name\":\"North Region\",\"kind\":"
                                 "\"region\",\"parent\":\"HQ\",\"recruiter\":null,"
                                 "\"status\":\"suspended\""));
    free(text);
}

static void test_partner_add_refusals(void **state)
{
    fixture_t *fx = *state;
    char why[256];

    s_tree(fx->db);
    assert_int_equal(dn_registry_partner_add(fx->db, "D1", "Again", "dealer", "NORTH", T0,
                                             why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why, "partner D1 already exists");
    assert_int_equal(dn_registry_partner_add(fx->db, "D2", "Two", "dealer", "DEALER-9",
                                             T0, why, sizeof why),
                     DN_ENOENT);
    assert_string_equal(why, "partner DEALER-9 does not exist");
    assert_int_equal(dn_registry_partner_add(fx->db, "D2", "Two", "shop", "NORTH", T0,
                                             why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "partner kind 'shop' is not one of hq, region, distributor, "
                             "dealer, reseller");
    assert_int_equal(
        dn_registry_partner_add(fx->db, "D2", "Two", NULL, "NORTH", T0, why, sizeof why),
        DN_EINVAL);
    assert_int_equal(dn_registry_partner_add(fx->db, "2D", "Two", "dealer", "NORTH", T0,
                                             why, sizeof why),
                     DN_CODE_ERROR);
    assert_string_equal(why, "'2D' is not a partner code: codes are ASCII (a letter, then "
                             "letters, digits, '_', '.', '-'; at most 32), names are not: give "
                             "the name with --name");
    /* a name where the code goes: the same one message */
    assert_int_equal(dn_registry_partner_add(fx->db, "\xe5\xbc\xa0\xe4\xb8\x89", "Two",
                                             "dealer", "NORTH", T0, why, sizeof why),
                     DN_CODE_ERROR);
    assert_string_equal(why, "'\xe5\xbc\xa0\xe4\xb8\x89' is not a partner code: codes are "
                             "ASCII (a letter, then letters, digits, '_', '.', '-'; at most "
                             "32), names are not: give the name with --name");
    /* names in characters: 64 Chinese characters (192 bytes) are taken,
       65 are not, and the reason says characters */
    {
        char name[256] = "";
        for (int i = 0; i < 65; i++)
            strcat(name, "\xe7\x8e\x8b");
        assert_int_equal(dn_registry_partner_add(fx->db, "D64", name, "dealer", "NORTH", T0,
                                                 why, sizeof why),
                         DN_EINVAL);
        assert_string_equal(why, "partner name is 65 characters long, at most 64");
    }
    assert_int_equal(
        dn_registry_partner_add(fx->db, "D2", "", "dealer", "NORTH", T0, why, sizeof why),
        DN_EINVAL);
    assert_int_equal(dn_registry_partner_add(fx->db, "D2", "Tab\there", "dealer", "NORTH",
                                             T0, why, sizeof why),
                     DN_EINVAL);
    /* "North" U+202E "htroN": a table would show it backwards */
    assert_int_equal(dn_registry_partner_add(fx->db, "D2", "North\xe2\x80\xaehtroN",
                                             "dealer", "NORTH", T0, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "partner name holds U+202E (right-to-left override) at "
                             "character 6: invisible characters that can hide or reorder "
                             "text are refused");
    assert_int_equal(dn_registry_partner_add(fx->db, "D2", "Two", "dealer", "bad parent",
                                             T0, why, sizeof why),
                     DN_EINVAL);
    /* nothing of the refusals was written */
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partners"), 3);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partner_links"), 3);
    /* 64 Chinese characters, 192 bytes (the old bound, 128 bytes, refused
       them): taken */
    {
        char name[256] = "";
        for (int i = 0; i < 64; i++)
            strcat(name, "\xe7\x8e\x8b");
        assert_int_equal(dn_registry_partner_add(fx->db, "D64", name, "dealer", "NORTH", T0,
                                                 why, sizeof why),
                         0);
    }
    /* UTF-8 names are welcome */
    assert_int_equal(dn_registry_partner_add(fx->db, "D2", "\xe5\x8c\x97\xe4\xba\xac",
                                             "dealer", "NORTH", T0, why, sizeof why),
                     0);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM partners"), 5); /* and D64 */
}

/* -- sites ----------------------------------------------------------------- */

static void test_site_add_refusals(void **state)
{
    fixture_t *fx = *state;
    char token[DN_TOKEN_TEXT_LEN + 1], why[256];
    int64_t expires = 0;

    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(dn_registry_site_add(fx->db, "SHOP-1", "D1", T0, token, &expires,
                                          why, sizeof why),
                     DN_EEXIST);
    assert_string_equal(why, "site SHOP-1 already exists");
    assert_string_equal(token, "");
    assert_int_equal(dn_registry_site_add(fx->db, "SHOP-2", "DEALER-9", T0, token,
                                          &expires, why, sizeof why),
                     DN_ENOENT);
    assert_string_equal(why, "partner DEALER-9 does not exist");
    assert_int_equal(
        dn_registry_site_add(fx->db, "-SHOP", "D1", T0, token, &expires, why, sizeof why),
        DN_CODE_ERROR);
    assert_string_equal(why, "'-SHOP' is not a site code: codes are ASCII (a letter, then "
                             "letters, digits, '_', '.', '-'; at most 32), names are not");
    /* a site's name: any script, in characters; a bad one writes nothing */
    {
        char name[4 * 65 + 1] = ""; /* 260 bytes and the NUL */
        for (int i = 0; i < 65; i++)
            strcat(name, "\xf0\x9f\x8f\xaa"); /* 65 x U+1F3EA, 260 bytes */
        assert_int_equal(dn_registry_site_add_named(fx->db, "SHOP-3", "D1", name, T0, token,
                                                    &expires, why, sizeof why),
                         DN_EINVAL);
        assert_string_equal(why, "site name is 65 characters long, at most 64");
        assert_string_equal(token, "");
    }
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM sites"), 1);
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM tokens"), 1);
}

static void test_site_list(void **state)
{
    fixture_t *fx = *state;
    char token[DN_TOKEN_TEXT_LEN + 1], why[256];
    uint8_t curve[32], sign[32];
    dn_registry_site_t s;
    json_t *list = NULL;
    char *text;

    s_key(curve, 0xC1);
    s_key(sign, 0x5E);
    s_tree(fx->db);
    assert_int_equal(dn_registry_site_list(fx->db, &list), 0);
    text = s_json(list);
    assert_string_equal(text, "[]");
    free(text);

    s_site(fx->db, "SHOP-2", token);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(
        dn_registry_enroll(fx->db, token, "SHOP-1", curve, sign, T0, &s, why, sizeof why),
        0);
    /* what dn_ingest writes as the site syncs: a gap refused at seq 43 */
    s_exec(fx->db, "UPDATE sites SET applied_seq = 42, last_seen_ms = 1767229200123,"
                   " clock_skew_ms = -1500, reported_pending = 7, gap_expected_seq = 43 "
                   "WHERE code = 'SHOP-1'");
    assert_int_equal(dn_registry_site_list(fx->db, &list), 0);
    text = s_json(list);
    assert_string_equal(
        text, "[{\"site\":\"SHOP-1\",\"partner\":\"D1\",\"enrolled\":true,"
              "\"revoked\":false,\"last_seen\":\"2026-01-01T01:00:00.123Z\","
              "\"applied_seq\":42,\"gap_expected_seq\":43,\"clock_skew_ms\":-1500,"
              "\"pending\":7,\"code\":\"SHOP-1\",\"name\":null},"
              "{\"site\":\"SHOP-2\",\"partner\":\"D1\",\"enrolled\":false,"
              "\"revoked\":false,\"last_seen\":null,\"applied_seq\":0,"
              "\"gap_expected_seq\":null,\"clock_skew_ms\":null,\"pending\":null,"
              "\"code\":\"SHOP-2\",\"name\":null}]");
    free(text);

    /* the agent resent from 43 and got through 50: the gap is over */
    s_exec(fx->db, "UPDATE sites SET applied_seq = 50 WHERE code = 'SHOP-1'");
    assert_int_equal(dn_registry_site_revoke(fx->db, "SHOP-2", T0, why, sizeof why), 0);
    assert_int_equal(dn_registry_site_list(fx->db, &list), 0);
    text = s_json(list);
    assert_non_null(strstr(text, "\"applied_seq\":50,\"gap_expected_seq\":null,"));
    assert_non_null(strstr(text,
                           "{\"site\":\"SHOP-2\",\"partner\":\"D1\",\"enrolled\":false,"
                           "\"revoked\":true,"));
    free(text);
}

static void test_site_revoke(void **state)
{
    fixture_t *fx = *state;
    char token[DN_TOKEN_TEXT_LEN + 1], why[256];

    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    assert_int_equal(dn_registry_site_revoke(fx->db, "SHOP-9", T0, why, sizeof why),
                     DN_ENOENT);
    assert_string_equal(why, "site SHOP-9 does not exist");
    assert_int_equal(
        dn_registry_site_revoke(fx->db, "SHOP-1", T0 + 86400000, why, sizeof why), 0);
    assert_int_equal(
        dn_registry_site_revoke(fx->db, "SHOP-1", T0 + 86400001, why, sizeof why),
        DN_EEXIST);
    assert_string_equal(why,
                        "site SHOP-1 was already revoked at 2026-01-02T00:00:00.000Z");
    assert_int_equal(s_int(fx->db, "SELECT revoked_ms FROM sites"), T0 + 86400000);
}

/* -- members --------------------------------------------------------------- */

static void test_member_conflicts(void **state)
{
    fixture_t *fx = *state;
    char token[DN_TOKEN_TEXT_LEN + 1];
    json_t *list = NULL;
    char *text;

    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    s_site(fx->db, "SHOP-2", token);
    assert_int_equal(dn_registry_member_conflicts(fx->db, &list), 0);
    text = s_json(list);
    assert_string_equal(text, "[]");
    free(text);

    /* what dn_ingest writes: two sign-ups of one phone, the second one later */
    s_exec(
        fx->db,
        "INSERT INTO events(eid, id, site_id, seq, kind, recorded_at_ms, received_ms, "
        "body,"
        " hash) VALUES"
        " (1, x'0190c2d45e6f7a8b9c0d1e2f3a4b5c6d', 1, 1, 'member_signup', 1767225600000,"
        "  1767225600000, x'00', zeroblob(32)),"
        " (2, x'0190c2d45e6f7a8b9c0d1e2f3a4b5c6e', 2, 1, 'member_signup', 1767229200000,"
        "  1767229200000, x'00', zeroblob(32)),"
        " (3, x'0190c2d45e6f7a8b9c0d1e2f3a4b5c6f', 2, 2, 'member_signup', 1767232800000,"
        "  1767232800000, x'00', zeroblob(32));"
        "INSERT INTO members(id, phone, member_id, site_id, signup_eid, signed_up_ms)"
        " VALUES (1, '+8613800138000', x'0190c2d45e6f7a8b9c0d1e2f3a4b5c6d', 1, 1,"
        "  1767225600000);"
        "INSERT INTO member_conflicts(eid, member, member_id, site_id, referrer,"
        " recorded_at_ms, phone) VALUES"
        " (2, 1, x'0190c2d45e6f7a8b9c0d1e2f3a4b5c6e', 2, '+8613900139000', "
        "1767229200000, NULL)," /* stored before conflicts had a phone: the member's */
        " (3, 1, x'0190c2d45e6f7a8b9c0d1e2f3a4b5c6f', 2, NULL, 1767232800000,"
        "  '013800138000');"); /* a spelling the phones migration kept */
    assert_int_equal(dn_registry_member_conflicts(fx->db, &list), 0);
    text = s_json(list);
    assert_string_equal(
        text,
        "[{\"phone\":\"+8613800138000\",\"first_site\":\"SHOP-1\","
        "\"first_member_id\":\"0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d\","
        "\"duplicate_site\":\"SHOP-2\","
        "\"duplicate_member_id\":\"0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6e\","
        "\"duplicate_phone\":\"+8613800138000\","
        "\"duplicate_referrer\":\"+8613900139000\","
        "\"recorded_at\":\"2026-01-01T01:00:00.000Z\"},"
        "{\"phone\":\"+8613800138000\",\"first_site\":\"SHOP-1\","
        "\"first_member_id\":\"0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d\","
        "\"duplicate_site\":\"SHOP-2\","
        "\"duplicate_member_id\":\"0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6f\","
        "\"duplicate_phone\":\"013800138000\","
        "\"duplicate_referrer\":null,\"recorded_at\":\"2026-01-01T02:00:00.000Z\"}]");
    free(text);
}

/*  Counts the progress handler's calls: one per 1,000 SQLite VM
    instructions.  */
static int s_tick(void *count)
{
    ++*(int *)count;
    return 0;
}

/*  The members found for text (country 86), as compact JSON; counts the
    VM instructions of the search, in thousands, into *ticks.  */
static char *s_find(sqlite3 *db, const char *text, int64_t limit, int *ticks)
{
    json_t *result = NULL;
    char why[256] = "";
    int count = 0;
    sqlite3_progress_handler(db, 1000, s_tick, &count);
    int rc = dn_registry_member_find(db, text, 86, limit, &result, why, sizeof why);
    sqlite3_progress_handler(db, 0, NULL, NULL);
    if (rc)
        print_error("member find '%s': %s\n", text, why);
    assert_int_equal(rc, 0);
    if (ticks)
        *ticks = count;
    return s_json(result);
}

/*  member find (issue 13, the counter).  Four members: +8613800138000 李伟
    (SHOP-1, referred by partner D1, household 3), +8613800139000 Li Na
    (SHOP-2, referred by the first), +8613900139000 Wang Li (SHOP-1),
    +12125550100 ALICE LIN (SHOP-2).  "138 0013" is the phones from
    +861380013: the first two; "li" the names holding li in any ASCII case:
    ALICE LIN, Li Na, Wang Li (by phone); "李" 李伟.  Then 100,000 more
    members (+8615000000000 ..., named "member N"): the phone search still
    reads a few rows of the phone index (under 10,000 VM instructions),
    while a name search reads every member (over 100,000).  */
static void test_member_find(void **state)
{
    fixture_t *fx = *state;
    char token[DN_TOKEN_TEXT_LEN + 1], why[256] = "", longer[DN_MAX_NAME_BYTES + 2];
    json_t *result = (json_t *)1;
    char *text;
    int ticks = 0;

    s_tree(fx->db);
    s_site(fx->db, "SHOP-1", token);
    s_site(fx->db, "SHOP-2", token);
    s_exec(
        fx->db,
        "INSERT INTO events(eid, id, site_id, seq, kind, recorded_at_ms, received_ms,"
        " body, hash) VALUES"
        " (1, x'0190c2d45e6f7a8b9c0d1e2f3a4b5c01', 1, 1, 'member_signup', 1767225600000,"
        "  1767225600000, x'00', zeroblob(32)),"
        " (2, x'0190c2d45e6f7a8b9c0d1e2f3a4b5c02', 2, 1, 'member_signup', 1767229200000,"
        "  1767229200000, x'00', zeroblob(32)),"
        " (3, x'0190c2d45e6f7a8b9c0d1e2f3a4b5c03', 1, 2, 'member_signup', 1767232800000,"
        "  1767232800000, x'00', zeroblob(32)),"
        " (4, x'0190c2d45e6f7a8b9c0d1e2f3a4b5c04', 2, 2, 'member_signup', 1767236400000,"
        "  1767236400000, x'00', zeroblob(32));"
        "INSERT INTO members(id, phone, member_id, site_id, signup_eid, name,"
        " referrer_phone, referrer_partner, household, signed_up_ms) VALUES"
        " (1, '+8613800138000', x'0190c2d45e6f7a8b9c0d1e2f3a4b5c01', 1, 1,"
        "  '\xe6\x9d\x8e\xe4\xbc\x9f', NULL, 'D1', 3, 1767225600000),"
        " (2, '+8613800139000', x'0190c2d45e6f7a8b9c0d1e2f3a4b5c02', 2, 2, 'Li Na',"
        "  '+8613800138000', NULL, NULL, 1767229200000),"
        " (3, '+8613900139000', x'0190c2d45e6f7a8b9c0d1e2f3a4b5c03', 1, 3, 'Wang Li',"
        "  NULL, NULL, NULL, 1767232800000),"
        " (4, '+12125550100', x'0190c2d45e6f7a8b9c0d1e2f3a4b5c04', 2, 4, 'ALICE LIN',"
        "  NULL, NULL, NULL, 1767236400000);");

    text = s_find(fx->db, "138 0013", DN_REGISTRY_FIND_LIMIT, NULL);
    assert_string_equal(
        text, "{\"text\":\"138 0013\",\"by\":\"phone\",\"prefix\":\"+861380013\","
              "\"members\":[{\"phone\":\"+8613800138000\",\"name\":"
              "\"\xe6\x9d\x8e\xe4\xbc\x9f\","
              "\"site\":\"SHOP-1\",\"joined\":\"2026-01-01T00:00:00.000Z\","
              "\"referrer\":\"D1\",\"household\":3},"
              "{\"phone\":\"+8613800139000\",\"name\":\"Li Na\",\"site\":\"SHOP-2\","
              "\"joined\":\"2026-01-01T01:00:00.000Z\",\"referrer\":\"+8613800138000\","
              "\"household\":null}],\"more\":0}");
    free(text);
    text = s_find(fx->db, "li", DN_REGISTRY_FIND_LIMIT, NULL);
    assert_string_equal(
        text, "{\"text\":\"li\",\"by\":\"name\",\"prefix\":null,"
              "\"members\":[{\"phone\":\"+12125550100\",\"name\":\"ALICE LIN\","
              "\"site\":\"SHOP-2\",\"joined\":\"2026-01-01T03:00:00.000Z\","
              "\"referrer\":null,\"household\":null},"
              "{\"phone\":\"+8613800139000\",\"name\":\"Li Na\",\"site\":\"SHOP-2\","
              "\"joined\":\"2026-01-01T01:00:00.000Z\",\"referrer\":\"+8613800138000\","
              "\"household\":null},"
              "{\"phone\":\"+8613900139000\",\"name\":\"Wang Li\",\"site\":\"SHOP-1\","
              "\"joined\":\"2026-01-01T02:00:00.000Z\",\"referrer\":null,"
              "\"household\":null}],\"more\":0}");
    free(text);
    /* limit 1: the first by phone, and 2 more */
    text = s_find(fx->db, "LI", 1, NULL);
    assert_non_null(strstr(text, "\"members\":[{\"phone\":\"+12125550100\""));
    assert_non_null(strstr(text, "}],\"more\":2}"));
    free(text);
    /* a name in any script; '+' and the country's code; 2 digits are a name */
    text = s_find(fx->db, "\xe6\x9d\x8e", DN_REGISTRY_FIND_LIMIT, NULL);
    assert_non_null(strstr(text, "\"members\":[{\"phone\":\"+8613800138000\""));
    assert_non_null(strstr(text, "}],\"more\":0}"));
    assert_null(strstr(text, "+8613800139000"));
    free(text);
    text = s_find(fx->db, "+1 212", DN_REGISTRY_FIND_LIMIT, NULL);
    assert_non_null(
        strstr(text, "\"prefix\":\"+1212\",\"members\":[{\"phone\":\"+12125550100\""));
    assert_non_null(strstr(text, "}],\"more\":0}"));
    free(text);
    text = s_find(fx->db, "13", DN_REGISTRY_FIND_LIMIT, NULL);
    assert_string_equal(text, "{\"text\":\"13\",\"by\":\"name\",\"prefix\":null,"
                              "\"members\":[],\"more\":0}");
    free(text);

    /* refused: nothing to find, or more than any name holds */
    assert_int_equal(
        dn_registry_member_find(fx->db, "", 86, 20, &result, why, sizeof why), DN_EINVAL);
    assert_null(result);
    assert_string_equal(why, "member find needs a name or the first digits of a phone");
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(
        dn_registry_member_find(fx->db, longer, 86, 20, &result, why, sizeof why),
        DN_EINVAL);
    assert_string_equal(why,
                        "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is longer than "
                        "any name (256 bytes)");

    /* 100,000 more members, 1..100000 */
    s_exec(
        fx->db,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)"
        " INSERT INTO events(eid, id, site_id, seq, kind, recorded_at_ms, received_ms,"
        " body, hash) SELECT 10 + i, randomblob(16), 1, 10 + i, 'member_signup',"
        " 1767240000000 + i, 1767240000000 + i, x'00', zeroblob(32) FROM n;"
        "INSERT INTO members(phone, member_id, site_id, signup_eid, name, signed_up_ms)"
        " SELECT printf('+8615%09d', eid - 10), randomblob(16), 1, eid,"
        " 'member ' || (eid - 10), recorded_at_ms FROM events WHERE eid > 10;");
    assert_int_equal(s_int(fx->db, "SELECT count(*) FROM members"), 100004);
    text = s_find(fx->db, "138 0013", DN_REGISTRY_FIND_LIMIT, &ticks);
    assert_non_null(strstr(text, "\"phone\":\"+8613800139000\""));
    assert_non_null(strstr(text, "}],\"more\":0}"));
    free(text);
    if (ticks >= 10)
        print_error("the phone search ran %d000 VM instructions\n", ticks);
    assert_true(ticks < 10);
    /* 150 00 ... : the 20 first by phone of the 100,000, and 99,980 more */
    text = s_find(fx->db, "150", DN_REGISTRY_FIND_LIMIT, NULL);
    assert_non_null(strstr(text, "\"members\":[{\"phone\":\"+8615000000001\""));
    assert_non_null(strstr(text, "}],\"more\":99980}"));
    free(text);
    text = s_find(fx->db, "Wang", DN_REGISTRY_FIND_LIMIT, &ticks);
    assert_non_null(strstr(text, "}],\"more\":0}"));
    free(text);
    assert_true(ticks > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_peer_classification, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_admin_add_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_happy_path, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_bad_token, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_used_token, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_expired_token, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_token_of_another_site, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_revoked_site, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_key_in_use, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_site_already_enrolled, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_raced_after_use, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_hold, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enroll_hold_over, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_token_stored_only_as_hash, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_partner_add_and_list, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partner_list_recruiter_and_status, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_partner_add_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_site_add_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_site_list, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_site_revoke, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_member_conflicts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_member_find, s_setup, s_teardown),
    };
    dn_log_init("test_registry", DN_LOG_QUIET, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

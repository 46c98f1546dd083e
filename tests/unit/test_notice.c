/*  test_notice -- HQ's notices on the server: the text rule
    (dn_valid_notice), who a notice reaches through the tree as it stands
    at the pull (dn_notice_for_site, the notices stream's rule), how many
    sites it reaches when sent (dn_notice_send) and the list.  The stream
    itself (dn_down_notices) needs the downstream core to link.  The agent's side: test_notices.  */
#include "dn_error.h"
#include "dn_notice.h"
#include "dn_registry.h"
#include "dn_test_central.h"
#include "dn_time.h"
#include "dn_tree.h"
#include "dn_valid.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#define T0 1767225600000LL /* 2026-01-01 00:00 UTC */

/* -- the text rule ---------------------------------------------------------- */

static void test_text_rule(void **state)
{
    char why[200], text[DN_MAX_NOTICE_BYTES + 8] = "";
    (void)state;
    assert_true(dn_valid_notice("Prices change on Monday.\nCall R1 with questions.", why,
                                sizeof why));
    assert_true(dn_valid_notice("下周一起全部门店价格调整", why, sizeof why));
    /* 500 characters of 3 bytes each (1500 bytes) is the most */
    for (int i = 0; i < DN_MAX_NOTICE_CHARS; i++)
        strcat(text, "中");
    assert_true(dn_valid_notice(text, why, sizeof why));
    strcat(text, "中");
    assert_false(dn_valid_notice(text, why, sizeof why));
    assert_string_equal(why, "the notice is 501 characters, at most 500");
    assert_false(dn_valid_notice(" \n \n", why, sizeof why));
    assert_string_equal(why, "the notice is empty");
    assert_false(dn_valid_notice("", why, sizeof why));
    assert_false(dn_valid_notice("a\tb", why, sizeof why));
    assert_string_equal(why, "the notice holds a control character (U+0009) at character "
                             "2: only newlines are allowed");
    assert_false(dn_valid_notice("ok\x1b[2J", why, sizeof why));
    assert_false(dn_valid_notice("ab\xff", why, sizeof why));
    assert_string_equal(why, "the notice is not UTF-8 text (character 3)");
    assert_false(dn_valid_notice("abc\xe2\x80\xae", why, sizeof why)); /* U+202E */
    assert_non_null(strstr(why, "U+202E"));
}

/* -- the server: who receives what ------------------------------------------- */

/*  The tree: HQ; R1 and R2 under it; D1 under R1.  Sites S1 (D1), S2
    (R2), S3 (R1).  */
static void s_network(sqlite3 *db)
{
    char why[256] = "", token[DN_TOKEN_TEXT_LEN + 1];
    int64_t expires;
    assert_int_equal(dn_registry_partner_add(db, "HQ", "HQ", "hq", NULL, T0, why, sizeof why), 0);
    assert_int_equal(dn_registry_partner_add(db, "R1", "East", "region", "HQ", T0, why, sizeof why), 0);
    assert_int_equal(dn_registry_partner_add(db, "R2", "West", "region", "HQ", T0, why, sizeof why), 0);
    assert_int_equal(dn_registry_partner_add(db, "D1", "Dealer", "dealer", "R1", T0, why, sizeof why), 0);
    assert_int_equal(dn_registry_site_add(db, "S1", "D1", T0, token, &expires, why, sizeof why), 0);
    assert_int_equal(dn_registry_site_add(db, "S2", "R2", T0, token, &expires, why, sizeof why), 0);
    assert_int_equal(dn_registry_site_add(db, "S3", "R1", T0, token, &expires, why, sizeof why), 0);
}

/*  Sends a notice; returns the number of sites it reaches, asserts its id.  */
static int64_t s_send(sqlite3 *db, const char *text, const char *partner, const char *site,
                      int64_t id)
{
    char why[256] = "";
    json_t *result = NULL;
    int64_t n;
    int rc = dn_notice_send(db, text, partner, site, "hq", T0 + id * 1000, &result, why,
                            sizeof why);
    if (rc)
        print_error("send: %s\n", why);
    assert_int_equal(rc, 0);
    assert_int_equal(json_integer_value(json_object_get(result, "id")), id);
    n = json_integer_value(json_object_get(result, "sites"));
    json_decref(result);
    return n;
}

/*  What dn_notice_for_site visited: "id+" reached, "id-" passed over.  */
typedef struct {
    char seen[128];
    int stop_after; /* 0: never stop */
    int n;
} s_seen_t;

static int s_visit(void *arg, const dn_notice_t *notice, int reaches)
{
    s_seen_t *seen = arg;
    char one[24];
    snprintf(one, sizeof one, "%s%lld%c", seen->seen[0] ? " " : "", (long long)notice->id,
             reaches ? '+' : '-');
    strcat(seen->seen, one);
    return ++seen->n == seen->stop_after;
}

static void s_expect(sqlite3 *db, const char *code, int64_t at_ms, uint64_t from,
                     const char *expected)
{
    dn_registry_site_t site;
    s_seen_t seen = {"", 0, 0};
    assert_int_equal(dn_registry_site_get(db, code, &site), 0);
    assert_int_equal(dn_notice_for_site(db, &site, at_ms, from, s_visit, &seen), 0);
    assert_string_equal(seen.seen, expected);
}

static void test_targets_through_tree(void **state)
{
    dn_test_central_t *fx = *state;
    char why[256] = "";
    json_t *result = NULL, *list = NULL;
    int64_t later = T0 + 10 * DN_DAY_MS;

    s_network(fx->db);
    /* reaches: all 3 sites; R1's subtree S1 (via D1) and S3; S2; D1: S1; R2: S2 */
    assert_int_equal(s_send(fx->db, "to everyone", NULL, NULL, 1), 3);
    assert_int_equal(s_send(fx->db, "to the east", "R1", NULL, 2), 2);
    assert_int_equal(s_send(fx->db, "to S2 alone", NULL, "S2", 3), 1);
    assert_int_equal(s_send(fx->db, "to D1", "D1", NULL, 4), 1);
    assert_int_equal(s_send(fx->db, "to the west", "R2", NULL, 5), 1);

    /* a site is shown notices for all, for it, for its partner path, in id
       order; notices to other sites are not even visited */
    s_expect(fx->db, "S1", later, 0, "1+ 2+ 4+ 5-");
    s_expect(fx->db, "S2", later, 0, "1+ 2- 3+ 4- 5+");
    s_expect(fx->db, "S3", later, 0, "1+ 2+ 4- 5-");
    /* after a version: only what follows it */
    s_expect(fx->db, "S1", later, 2, "4+ 5-");
    s_expect(fx->db, "S1", later, 5, "");

    /* D1 moves under R2 on day 5: pulled after that, S1 is in R2's subtree
       and no longer in R1's; pulled before, as it was */
    assert_int_equal(dn_tree_move(fx->db, "D1", "R2", T0 + 5 * DN_DAY_MS, why, sizeof why), 0);
    s_expect(fx->db, "S1", later, 0, "1+ 2- 4+ 5+");
    s_expect(fx->db, "S1", T0 + DN_DAY_MS, 0, "1+ 2+ 4+ 5-");
    /* and a notice to R2 sent now reaches S1 and S2 */
    json_decref(result);
    assert_int_equal(dn_notice_send(fx->db, "west again", "R2", NULL, "hq", later, &result,
                                    why, sizeof why), 0);
    assert_int_equal(json_integer_value(json_object_get(result, "sites")), 2);
    assert_int_equal(json_integer_value(json_object_get(result, "id")), 6);
    json_decref(result);

    /* a revoked site is left out of the count, and cannot be sent to */
    assert_int_equal(dn_registry_site_revoke(fx->db, "S3", later, why, sizeof why), 0);
    assert_int_equal(dn_notice_send(fx->db, "all again", NULL, NULL, "hq", later, &result,
                                    why, sizeof why), 0);
    assert_int_equal(json_integer_value(json_object_get(result, "sites")), 2);
    json_decref(result);
    assert_int_equal(dn_notice_send(fx->db, "x", NULL, "S3", "hq", later, &result, why,
                                    sizeof why), DN_EPERM);
    assert_string_equal(why, "site S3 is revoked: it will never sync to receive the notice");
    assert_int_equal(dn_notice_send(fx->db, "x", "R9", NULL, "hq", later, &result, why,
                                    sizeof why), DN_ENOENT);
    assert_string_equal(why, "no partner R9");
    assert_int_equal(dn_notice_send(fx->db, "x", "R1", "S1", "hq", later, &result, why,
                                    sizeof why), DN_EINVAL);
    assert_int_equal(dn_notice_send(fx->db, "a\tb", NULL, NULL, "hq", later, &result, why,
                                    sizeof why), DN_EINVAL);
    assert_null(result);

    /* the list: newest first, 7 sent, refusals wrote nothing */
    assert_int_equal(dn_notice_list(fx->db, &list), 0);
    assert_int_equal(json_array_size(list), 7);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), 7);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "target")),
                        "partner R2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 4), "target")),
                        "site S2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 6), "target")),
                        "all");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 6), "by")),
                        "hq");
    json_decref(list);
}

/*  A visit that stops (the chunk is full) ends the walk at once.  */
static void test_visit_stops(void **state)
{
    dn_test_central_t *fx = *state;
    dn_registry_site_t site;
    s_seen_t seen = {"", 2, 0};
    s_network(fx->db);
    for (int64_t id = 1; id <= 4; id++)
        s_send(fx->db, "n", NULL, NULL, id);
    assert_int_equal(dn_registry_site_get(fx->db, "S2", &site), 0);
    assert_int_equal(dn_notice_for_site(fx->db, &site, T0, 0, s_visit, &seen), 0);
    assert_string_equal(seen.seen, "1+ 2+");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_rule),
        cmocka_unit_test_setup_teardown(test_targets_through_tree, dn_test_central_setup,
                                        dn_test_central_teardown),
        cmocka_unit_test_setup_teardown(test_visit_stops, dn_test_central_setup,
                                        dn_test_central_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

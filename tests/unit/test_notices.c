/*  test_notices -- HQ's notices at the shop: the notices stream's applier
    (dn_down_apply_notices) and what notices, status and sync show
    (dn_notices).  The server's side: test_notice.  */
#include "dn_down.h"
#include "dn_error.h"
#include "dn_notices.h"
#include "dn_store.h"
#include "dn_testkit.h"
#include "dn_time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1767225600000LL /* 2026-01-01 00:00 UTC */

/* -- the agent ---------------------------------------------------------------- */

typedef struct {
    char dir[64];
    dn_store_t *store;
} s_agent_t;

static int s_agent_setup(void **state)
{
    s_agent_t *fx = calloc(1, sizeof *fx);
    int err = 0;
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dn_test.XXXXXX");
    if (!mkdtemp(fx->dir) || dn_store_create(fx->dir, "S1", "D1", "CNY") != 0 ||
        !(fx->store = dn_store_open(fx->dir, &err)))
        return -1;
    *state = fx;
    return 0;
}

static int s_agent_teardown(void **state)
{
    s_agent_t *fx = *state;
    dn_store_destroy(&fx->store);
    int rc = dn_tk_remove_tree(fx->dir);
    free(fx);
    return rc;
}

/*  Applies notices (id, text) in one transaction as dn_down_apply does.  */
static int s_apply(s_agent_t *fx, int reset, const uint64_t *ids, const char *const *texts,
                   size_t n, char *why, size_t why_size)
{
    Dealernet__DownItem items[4], *ptrs[4];
    Dealernet__Notice notices[4];
    sqlite3 *db = dn_store_db(fx->store);
    int rc;
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++) {
        dealernet__down_item__init(&items[i]);
        dealernet__notice__init(&notices[i]);
        notices[i].has_id = 1;
        notices[i].id = ids[i];
        notices[i].text = (char *)texts[i];
        notices[i].has_sent_ms = 1;
        notices[i].sent_ms = T0 + (int64_t)ids[i] * 1000;
        items[i].body_case = DEALERNET__DOWN_ITEM__BODY_NOTICE;
        items[i].notice = &notices[i];
        ptrs[i] = &items[i];
    }
    assert_int_equal(dn_store_begin(fx->store), 0);
    rc = dn_down_apply_notices.apply(db, reset, ptrs, n, why, why_size);
    if (rc)
        dn_store_rollback(fx->store);
    else
        assert_int_equal(dn_store_commit(fx->store), 0);
    return rc;
}

static void test_apply_and_read(void **state)
{
    s_agent_t *fx = *state;
    static const uint64_t ids[] = {1, 4, 7};
    static const char *const texts[] = {"Prices change on Monday.",
                                        "下周一起全部门店价格调整\n请提前通知会员", "Stocktake"};
    char why[256] = "", line[64];
    int64_t unread, marked, last;
    int more;
    json_t *list;

    assert_int_equal(dn_down_apply_notices.stream, DEALERNET__STREAM__STREAM_NOTICES);
    assert_int_equal(s_apply(fx, 0, ids, texts, 2, why, sizeof why), 0);
    assert_int_equal(dn_notices_unread(fx->store, &unread, line, sizeof line, &more), 0);
    assert_int_equal(unread, 2);
    assert_string_equal(line, "下周一起全部门店价格调整"); /* the newest's first line */
    assert_int_equal(more, 1);
    assert_int_equal(dn_notices_last_id(fx->store, &last), 0);
    assert_int_equal(last, 4);

    /* unread, oldest first, the text whole */
    assert_int_equal(dn_notices_list(fx->store, 0, 0, &list), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "text")),
                        texts[1]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "sent")),
                        "2026-01-01T00:00:01.000Z");
    json_decref(list);

    /* notice 7 arrives after the listing: marking through 4 leaves it unread */
    assert_int_equal(s_apply(fx, 0, ids + 2, texts + 2, 1, why, sizeof why), 0);
    assert_int_equal(dn_notices_mark_read(fx->store, 4, T0 + DN_DAY_MS, &marked), 0);
    assert_int_equal(marked, 2);
    assert_int_equal(dn_notices_unread(fx->store, &unread, line, sizeof line, &more), 0);
    assert_int_equal(unread, 1);
    assert_string_equal(line, "Stocktake");
    assert_int_equal(more, 0);
    /* what came after id 4, read or not */
    assert_int_equal(dn_notices_list(fx->store, 4, 1, &list), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    assert_int_equal(dn_notices_list(fx->store, 0, 1, &list), 0);
    assert_int_equal(json_array_size(list), 3);
    assert_true(json_is_true(json_object_get(json_array_get(list, 0), "read")));
    assert_true(json_is_false(json_object_get(json_array_get(list, 2), "read")));
    json_decref(list);

    /* refused whole: an id held, ids out of order, a bad text */
    {
        static const uint64_t again[] = {8, 7};
        static const uint64_t order[] = {9, 9};
        static const char *const bad[] = {"fine", "clear\x1b[2Jscreen"};
        static const uint64_t fine[] = {8, 9};
        assert_int_equal(s_apply(fx, 0, again, texts, 2, why, sizeof why), DN_EPROTO);
        assert_string_equal(why, "notice 7 comes after notice 8: not in id order");
        assert_int_equal(s_apply(fx, 0, ids + 2, texts, 1, why, sizeof why), DN_EPROTO);
        assert_string_equal(why, "notice 7 is held already");
        assert_int_equal(s_apply(fx, 0, order, texts, 2, why, sizeof why), DN_EPROTO);
        assert_int_equal(s_apply(fx, 0, fine, bad, 2, why, sizeof why), DN_EPROTO);
        assert_non_null(strstr(why, "notice 9: the notice holds a control character"));
    }
    assert_int_equal(dn_notices_last_id(fx->store, &last), 0);
    assert_int_equal(last, 7); /* nothing of the refused ones stored */

    /* reset: what was held goes first */
    assert_int_equal(s_apply(fx, 1, ids, texts, 1, why, sizeof why), 0);
    assert_int_equal(dn_notices_list(fx->store, 0, 1, &list), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
}

static void test_first_line(void **state)
{
    char line[8];
    (void)state;
    /* cut at a character's start: 7 bytes hold two 3-byte characters */
    assert_int_equal(dn_notices_first_line("中文字", line, sizeof line), 1);
    assert_string_equal(line, "中文");
    assert_int_equal(dn_notices_first_line("ab\ncd", line, sizeof line), 1);
    assert_string_equal(line, "ab");
    assert_int_equal(dn_notices_first_line("abc", line, sizeof line), 0);
    assert_string_equal(line, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_apply_and_read, s_agent_setup, s_agent_teardown),
        cmocka_unit_test(test_first_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

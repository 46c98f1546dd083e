/*  test_notices -- HQ's notices at the shop: the notices stream's applier
    (dn_down_apply_notices) and what notices, status and sync show
    (dn_notices).  The server's side: test_notice.  */
#include "dn_down.h"
#include "dn_error.h"
#include "dn_notices.h"
#include "dn_store.h"
#include "dn_testdown.h"
#include "dn_testkit.h"
#include "dn_time.h"
#include "dn_valid.h"

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

/* -- what a server sends cannot reach the shop's terminal as control -------- */

/*  A reply of one Down of the notices stream (from 0 to 1), signed with key
    as a server signs, whose one item is notice 1 with text, sent at T0 --
    packed by protobuf-c itself, not dn_wire, so that it may hold any
    bytes (dn_wire_down_item_pack refuses what is not UTF-8).  Caller frees
    with dn_td_down_free.  */
static Dealernet__Down *s_crafted(const dn_key_t *key, const char *text)
{
    Dealernet__Down *down = dn_td_down_notes(key, "S1", 0, 1, 0, 0, 1, 1, "placeholder");
    Dealernet__DownItem item = DEALERNET__DOWN_ITEM__INIT;
    Dealernet__Notice notice = DEALERNET__NOTICE__INIT;
    uint8_t *buf;
    assert_non_null(down);
    notice.has_id = 1;
    notice.id = 1;
    notice.text = (char *)text;
    notice.has_sent_ms = 1;
    notice.sent_ms = T0;
    item.body_case = DEALERNET__DOWN_ITEM__BODY_NOTICE;
    item.notice = &notice;
    buf = malloc(dealernet__down_item__get_packed_size(&item) + 1);
    assert_non_null(buf);
    free(down->items[0].data);
    down->items[0].data = buf;
    down->items[0].len = dealernet__down_item__pack(&item, buf);
    assert_int_equal(dn_td_down_sign(key, down), 0);
    return down;
}

/*  A notice is printed on the shop's terminal as it is (sync's line,
    status's newest, notices): a server's Down that verifies, whose notice
    holds anything that could move the cursor, clear the screen, change
    colours, open a link or reorder the line, is refused whole by the
    agent's applier (dn_valid_notice again, whatever the server checked),
    and nothing is stored.  */
static void test_control_refused(void **state)
{
    s_agent_t *fx = *state;
    static const struct {
        const char *text, *why;
    } cases[] = {
        /* ESC: CSI clear screen, cursor home */
        {"Sale today\x1b[2J\x1b[H",
         "notice 1: the notice holds a control character (U+001B) at character 11: only "
         "newlines are allowed"},
        /* OSC 8: a hidden link */
        {"\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07",
         "notice 1: the notice holds a control character (U+001B) at character 1: only "
         "newlines are allowed"},
        /* C1 CSI (U+009B, UTF-8 C2 9B): colours without ESC */
        {"Price\xc2\x9b"
         "31m",
         "notice 1: the notice holds a control character (U+009B) at character 6: only "
         "newlines are allowed"},
        /* CR: the rest of the line overwrites what came before */
        {"Stocktake on Sunday\rCall 400-800-1234",
         "notice 1: the notice holds a control character (U+000D) at character 20: only "
         "newlines are allowed"},
        /* backspace, DEL, tab */
        {"ab\bc",
         "notice 1: the notice holds a control character (U+0008) at character 3: "
         "only newlines are allowed"},
        {"ab\x7f",
         "notice 1: the notice holds a control character (U+007F) at character 3: "
         "only newlines are allowed"},
        {"a\tb",
         "notice 1: the notice holds a control character (U+0009) at character 2: "
         "only newlines are allowed"},
        /* an overlong ESC (C0 9B) is not UTF-8: refused where it is unpacked */
        {"\xc0\x9b[2J", "what the server sent of notices, item 1: down item text is not "
                        "UTF-8 of at most"},
        /* a right-to-left override reorders what follows on the line */
        {"Pay to \xe2\x80\xae"
         "knab",
         "notice 1: the notice holds U+202E"},
        /* nothing to show */
        {" \n ", "notice 1: the notice is empty"},
    };
    dn_key_t *key = dn_td_key(7);
    uint8_t pub[DN_PUBKEY_BYTES];
    dn_down_applied_t applied[DN_DOWN_MAX_STREAMS];
    dn_down_state_t held;
    size_t n_applied;
    int more;
    char why[512];
    int64_t last, unread;
    char line[64];

    assert_non_null(key);
    assert_int_equal(dn_key_public(key, pub), 0);
    assert_int_equal(dn_down_key_pin(fx->store, pub), 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Dealernet__Down *down = s_crafted(key, cases[i].text);
        Dealernet__DownReply reply = DEALERNET__DOWN_REPLY__INIT;
        reply.n_downs = 1;
        reply.downs = &down;
        assert_int_equal(dn_td_down_verify(key, down), 0); /* it verifies: the server's */
        assert_int_equal(dn_down_apply(fx->store, &reply, T0, applied, &n_applied, &more,
                                       why, sizeof why),
                         DN_EPROTO);
        if (strncmp(why, cases[i].why, strlen(cases[i].why)) != 0)
            fail_msg("case %zu: '%s', not '%s'", i, why, cases[i].why);
        assert_int_equal(n_applied, 0);
        dn_td_down_free(&down);
        /* nothing stored, the stream's version as it was */
        assert_int_equal(dn_notices_last_id(fx->store, &last), 0);
        assert_int_equal(last, 0);
        assert_int_equal(dn_notices_unread(fx->store, &unread, line, sizeof line, &more),
                         0);
        assert_int_equal(unread, 0);
        assert_int_equal(
            dn_down_state(fx->store, DEALERNET__STREAM__STREAM_NOTICES, &held), 0);
        assert_int_equal(held.version, 0);
    }

    /* the same Down with a text of two lines in any script is applied */
    {
        Dealernet__Down *down =
            s_crafted(key, "下周一起全部门店价格调整\n请提前通知会员");
        Dealernet__DownReply reply = DEALERNET__DOWN_REPLY__INIT;
        reply.n_downs = 1;
        reply.downs = &down;
        assert_int_equal(dn_down_apply(fx->store, &reply, T0, applied, &n_applied, &more,
                                       why, sizeof why),
                         0);
        dn_td_down_free(&down);
        assert_int_equal(n_applied, 1);
        assert_int_equal(dn_notices_unread(fx->store, &unread, line, sizeof line, &more),
                         0);
        assert_int_equal(unread, 1);
        assert_string_equal(line, "下周一起全部门店价格调整");
        assert_int_equal(
            dn_down_state(fx->store, DEALERNET__STREAM__STREAM_NOTICES, &held), 0);
        assert_int_equal(held.version, 1);
    }
    dn_key_destroy(&key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_apply_and_read, s_agent_setup,
                                        s_agent_teardown),
        cmocka_unit_test(test_first_line),
        cmocka_unit_test_setup_teardown(test_control_refused, s_agent_setup,
                                        s_agent_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

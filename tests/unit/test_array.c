/*  test_array -- unit tests for dn_array_grow, dn_slots and dn_table.  */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dn_array.h"
#include "dn_error.h"

#include <string.h>

/*  1,000 elements one at a time: capacities 16, 32, ..., 1024, each
    element kept across every move.  */
static void test_grow_one_at_a_time(void **state)
{
    int64_t *items = NULL;
    size_t n = 0, cap = 0, grows = 0;
    (void)state;

    for (int64_t v = 0; v < 1000; v++) {
        size_t before = cap;
        int64_t *more = dn_array_grow(items, &cap, n, sizeof *items, 16);
        assert_non_null(more);
        if (cap != before) {
            grows++;
            assert_int_equal(cap, before ? before * 2 : 16);
        }
        items = more;
        items[n++] = v * 7;
    }
    assert_int_equal(cap, 1024);
    assert_int_equal(grows, 7); /* 16 32 64 128 256 512 1024 */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(items[i], (int64_t)i * 7);
    free(items);
}

/*  With room left the array comes back as it is.  */
static void test_room_left(void **state)
{
    size_t cap = 0;
    char *a = dn_array_grow(NULL, &cap, 0, 1, 4);
    (void)state;
    assert_non_null(a);
    assert_int_equal(cap, 4);
    assert_ptr_equal(dn_array_grow(a, &cap, 3, 1, 4), a);
    assert_int_equal(cap, 4);
    free(a);
}

/*  first 0 counts as 1; an index past the capacity still gets room.  */
static void test_first_and_far_index(void **state)
{
    size_t cap = 0;
    char *a = dn_array_grow(NULL, &cap, 0, 1, 0);
    (void)state;
    assert_non_null(a);
    assert_int_equal(cap, 1);
    a = dn_array_grow(a, &cap, 5, 1, 0);
    assert_non_null(a);
    assert_int_equal(cap, 8);
    a[5] = 'x';
    free(a);
}

/*  Sizes that overflow are refused, leaving the array and its capacity.  */
static void test_overflow(void **state)
{
    size_t cap = 2;
    char *a = malloc(2 * 8);
    (void)state;
    assert_non_null(a);
    assert_null(dn_array_grow(a, &cap, 2, SIZE_MAX / 3, 1));
    assert_int_equal(cap, 2);
    cap = SIZE_MAX / 2 + 1;
    assert_null(dn_array_grow(a, &cap, cap, 1, 1));
    assert_int_equal(cap, SIZE_MAX / 2 + 1);
    cap = 0;
    assert_null(dn_array_grow(a, &cap, 0, 0, 1)); /* no element size */
    assert_int_equal(cap, 0);
    free(a);
}

typedef struct {
    int64_t id;
    char *owned;
} s_node_t;

static int s_dropped;

static void s_drop(void *node)
{
    free(((s_node_t *)node)->owned);
    s_dropped++;
}

/*  Nodes stay where they are while the table grows under them (ids 1, 2,
    then 500 and 5000 make it grow twice), come zeroed, and come back the
    same on a second ask; clear drops each once and empties the table.  */
static void test_slots_hold_still(void **state)
{
    dn_slots_t slots = {NULL, 0};
    s_node_t *one, *two, *far, *farther;
    (void)state;

    one = dn_slots_get(&slots, 1, sizeof *one);
    two = dn_slots_get(&slots, 2, sizeof *two);
    assert_non_null(one);
    assert_non_null(two);
    assert_int_equal(one->id, 0);
    assert_null(one->owned);
    one->id = 1;
    one->owned = malloc(8);
    two->id = 2;
    assert_int_equal(slots.n, 18); /* 1 x 2 + 16 */
    far = dn_slots_get(&slots, 500, sizeof *far);
    farther = dn_slots_get(&slots, 5000, sizeof *farther);
    assert_non_null(far);
    assert_non_null(farther);
    assert_int_equal(slots.n, 10016); /* 5000 x 2 + 16 */
    assert_ptr_equal(dn_slots_get(&slots, 1, sizeof *one), one);
    assert_ptr_equal(dn_slots_get(&slots, 2, sizeof *two), two);
    assert_int_equal(one->id, 1); /* still readable where it was */
    assert_int_equal(two->id, 2);

    s_dropped = 0;
    dn_slots_clear(&slots, s_drop);
    assert_int_equal(s_dropped, 4);
    assert_null(slots.slot);
    assert_int_equal(slots.n, 0);
}

/*  Ids below 1 and ids too large to index are refused.  */
static void test_slots_bad_ids(void **state)
{
    dn_slots_t slots = {NULL, 0};
    (void)state;
    assert_null(dn_slots_get(&slots, 0, 8));
    assert_null(dn_slots_get(&slots, -5, 8));
    assert_null(dn_slots_get(&slots, INT64_MAX, 8));
    assert_int_equal(slots.n, 0);
    dn_slots_clear(&slots, NULL);
}

/* -- dn_table ---------------------------------------------------------------------- */

typedef struct {
    int64_t key; /* 0: empty */
    int64_t sum;
} s_entry_t;

/*  A poor hash on purpose: the test's keys, multiples of 16, all start at
    slot 0 of a 16-entry table (and at one slot in 16 of a larger one), so
    probing runs past taken entries and wraps.  */
static size_t s_hash(int64_t key)
{
    return (size_t)key * 3;
}

static size_t s_rehash(const void *entry)
{
    return s_hash(((const s_entry_t *)entry)->key);
}

/*  Adds sum to key's entry, made if absent; as the ledger's tables do.  */
static int s_add(dn_table_t *t, int64_t key, int64_t sum)
{
    s_entry_t *e;
    size_t mask, i;
    if (dn_table_room(t, sizeof *e, 16, s_rehash))
        return DN_ENOMEM;
    e = t->entries;
    mask = t->cap - 1;
    for (i = s_hash(key) & mask; e[i].key; i = (i + 1) & mask)
        if (e[i].key == key) {
            e[i].sum += sum;
            return 0;
        }
    e[i].key = key;
    e[i].sum = sum;
    t->n++;
    return 0;
}

/*  The capacity doubles from 16 as the 9th, 17th, 33rd ... key comes (never
    more than half full); every key keeps its sum across the moves; each
    entry sits where probing from its hash, with the keys placed in the
    table's own order, would put it; clear empties and keeps the memory,
    free gives it back.  */
static void test_table_grows_and_finds(void **state)
{
    dn_table_t t = {0};
    (void)state;

    for (int64_t k = 1; k <= 300; k++) {
        size_t before = t.cap;
        assert_int_equal(s_add(&t, k * 16, k), 0);
        assert_int_equal(t.n, (size_t)k);
        if (t.cap != before)
            assert_int_equal(t.cap, before ? before * 2 : 16);
        assert_true(t.n * 2 <= t.cap);
    }
    assert_int_equal(t.cap, 1024); /* 16 at 1, 32 at 9, ..., 1024 at 257 */
    for (int64_t k = 1; k <= 300; k++)
        assert_int_equal(s_add(&t, k * 16, 1000), 0); /* found: no new entry */
    assert_int_equal(t.n, 300);

    /* every entry where a fresh probe from its hash ends, none lost */
    const s_entry_t *e = t.entries;
    size_t used = 0, mask = t.cap - 1;
    int64_t total = 0;
    for (size_t i = 0; i < t.cap; i++) {
        if (!e[i].key)
            continue;
        used++;
        total += e[i].sum;
        assert_int_equal(e[i].sum, e[i].key / 16 + 1000);
        size_t j = s_hash(e[i].key) & mask;
        while (j != i) { /* no empty entry between its hash and it */
            assert_true(e[j].key != 0);
            j = (j + 1) & mask;
        }
    }
    assert_int_equal(used, 300);
    assert_int_equal(total, 300 * 301 / 2 + 300 * 1000);

    void *memory = t.entries;
    dn_table_clear(&t, sizeof(s_entry_t));
    assert_int_equal(t.n, 0);
    assert_int_equal(t.cap, 1024);
    assert_ptr_equal(t.entries, memory);
    for (size_t i = 0; i < t.cap; i++)
        assert_int_equal(((const s_entry_t *)t.entries)[i].key, 0);
    assert_int_equal(s_add(&t, 32, 5), 0); /* no growth: room enough */
    assert_int_equal(t.cap, 1024);
    dn_table_free(&t);
    assert_null(t.entries);
    assert_int_equal(t.n, 0);
    assert_int_equal(t.cap, 0);
}

/*  A first capacity that is not a power of two, or a size that would
    overflow, is refused and leaves the table as it was.  */
static void test_table_refuses(void **state)
{
    dn_table_t t = {0};
    (void)state;
    assert_int_equal(dn_table_room(&t, sizeof(s_entry_t), 12, s_rehash), DN_ENOMEM);
    assert_int_equal(dn_table_room(&t, sizeof(s_entry_t), 0, s_rehash), DN_ENOMEM);
    assert_int_equal(dn_table_room(&t, SIZE_MAX / 8, 16, s_rehash), DN_ENOMEM);
    assert_null(t.entries);
    assert_int_equal(t.cap, 0);
    assert_int_equal(dn_table_room(&t, sizeof(s_entry_t), 2, s_rehash), 0);
    assert_int_equal(t.cap, 2);
    dn_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_hold_still),
        cmocka_unit_test(test_slots_bad_ids),
        cmocka_unit_test(test_grow_one_at_a_time),
        cmocka_unit_test(test_room_left),
        cmocka_unit_test(test_first_and_far_index),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_table_grows_and_finds),
        cmocka_unit_test(test_table_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

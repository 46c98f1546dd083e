/*  dn_reminder -- replenishment reminders (see dn_reminder.h for the rules).

    The estimate works in whole days of the network's time zone and integer
    arithmetic only, so the same purchases give the same call list on every
    PC of the network and in every test.
    Quantities and days come from the file, which a damaged or edited
    agent.db could fill with anything: sums saturate and the household
    product is bounded, so no input overflows.
*/
#include "dn_reminder.h"
#include "dn_array.h"
#include "dn_error.h"
#include "dn_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DN_REMINDER_MAX_QTY  1000000000LL /* household estimate: quantity bound */

/*  How long one unit lasts one person, by category.  Rough figures for
    the usual pack of each (a 5 kg bag of rice, a 1 L bottle of oil or
    milk, a 500 g tin of tea, a 6-pack of drinks); a shop whose packs differ
    gets better figures from history after the second purchase.  */
static const struct {
    const char *category;
    int days;
} s_base_days[] = {
    {"milk", 3}, {"drinks", 7}, {"rice", 30}, {"grain", 30}, {"oil", 30}, {"tea", 60},
};

int dn_reminder_base_days(const char *category)
{
    if (category)
        for (size_t i = 0; i < sizeof s_base_days / sizeof s_base_days[0]; i++)
            if (strcasecmp(category, s_base_days[i].category) == 0)
                return s_base_days[i].days;
    return DN_REMINDER_DEFAULT_BASE_DAYS;
}

const char *dn_reminder_basis_name(dn_reminder_basis_t basis)
{
    switch (basis) {
    case DN_REMINDER_HISTORY:
        return "history";
    case DN_REMINDER_HOUSEHOLD:
        return "household";
    default:
        return "none";
    }
}

/* -- the estimate --------------------------------------------------------- */

/*  A counted purchase: one shopping day of the SKU.  */
typedef struct {
    int64_t at_ms;
    int64_t day;
    int64_t quantity;
    const char *category;
} s_trip_t;

static int s_cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int s_cmp_trip(const void *a, const void *b)
{
    const s_trip_t *x = a, *y = b;
    return (x->at_ms > y->at_ms) - (x->at_ms < y->at_ms);
}

/*  The median of v[0..n), n >= 1, values >= 0; sorts v.  With an even
    count, the mean of the two middle values rounded down.  */
static int64_t s_median(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, s_cmp_int64);
    if (n % 2)
        return v[n / 2];
    return v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

int dn_reminder_estimate(const dn_reminder_purchase_t *p, size_t n, int has_household,
                         int64_t household, int64_t today_day,
                         dn_reminder_estimate_t *out)
{
    s_trip_t *trips;
    int64_t *values;
    size_t k = 0, m = 0;

    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    trips = malloc(n * sizeof *trips);
    values = malloc(n * sizeof *values);
    if (!trips || !values) {
        free(trips);
        free(values);
        return DN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t refunded = p[i].refunded_qty > 0 ? p[i].refunded_qty : 0;
        int64_t day = dn_time_day(p[i].recorded_at_ms);
        if (p[i].sale_refunded || p[i].quantity <= refunded || day > today_day)
            continue; /* refunded in full, or not yet bought as of today */
        trips[k].at_ms = p[i].recorded_at_ms;
        trips[k].day = day;
        trips[k].quantity = p[i].quantity - refunded;
        trips[k].category = p[i].category;
        k++;
    }
    qsort(trips, k, sizeof *trips, s_cmp_trip);
    for (size_t i = 0; i < k; i++) { /* one purchase per day */
        if (m > 0 && trips[m - 1].day == trips[i].day) {
            int64_t q = trips[i].quantity;
            trips[m - 1].quantity = trips[m - 1].quantity > INT64_MAX - q
                                        ? INT64_MAX
                                        : trips[m - 1].quantity + q;
            trips[m - 1].category = trips[i].category;
        } else {
            trips[m++] = trips[i];
        }
    }
    out->purchases = (int64_t)m;
    if (m >= 2) {
        for (size_t i = 1; i < m; i++)
            values[i - 1] = trips[i].day - trips[i - 1].day;
        out->interval_days = s_median(values, m - 1);
        for (size_t i = 0; i < m; i++)
            values[i] = trips[i].quantity;
        out->quantity = s_median(values, m);
        out->basis = DN_REMINDER_HISTORY;
    } else if (m == 1 && has_household) {
        int64_t people = household > 1 ? household : 1;
        int64_t q = trips[0].quantity < DN_REMINDER_MAX_QTY ? trips[0].quantity
                                                            : DN_REMINDER_MAX_QTY;
        out->interval_days = q * dn_reminder_base_days(trips[0].category) / people;
        if (out->interval_days < 1)
            out->interval_days = 1;
        out->quantity = trips[0].quantity;
        out->basis = DN_REMINDER_HOUSEHOLD;
    }
    if (out->basis != DN_REMINDER_NONE) {
        out->last_day = trips[m - 1].day;
        out->due_day = out->last_day + out->interval_days;
    }
    free(trips);
    free(values);
    return 0;
}

/* -- the call list -------------------------------------------------------- */

static int s_cmp_item(const void *a, const void *b)
{
    const dn_reminder_t *x = a, *y = b;
    int c;
    if (x->est.due_day != y->est.due_day)
        return x->est.due_day < y->est.due_day ? -1 : 1;
    if ((c = strcmp(x->phone, y->phone)) != 0)
        return c;
    return strcmp(x->sku, y->sku);
}

void dn_reminder_sort(dn_reminder_t *items, size_t n)
{
    if (n > 1)
        qsort(items, n, sizeof *items, s_cmp_item);
}

/*  Walks the store's purchases, one member and SKU at a time.  */
typedef struct {
    int64_t today;
    int64_t days;
    int in_group;
    char phone[DN_PHONE_SIZE]; /* the group's member and SKU */
    char name[DN_MAX_NAME_BYTES + 1];
    char sku[DN_MAX_SKU_LEN + 1];
    int has_household;
    int64_t household;
    dn_reminder_purchase_t *purchases; /* the group's */
    size_t n_purchases, cap_purchases;
    dn_reminder_t *items; /* the call list so far */
    size_t n_items, cap_items;
} s_walk_t;

/*  Estimates the group in hand and adds it to the list if it is due.  */
static int s_flush(s_walk_t *w)
{
    dn_reminder_estimate_t est;
    dn_reminder_t *item;
    int rc;

    if (!w->in_group)
        return 0;
    w->in_group = 0;
    rc = dn_reminder_estimate(w->purchases, w->n_purchases, w->has_household,
                              w->household, w->today, &est);
    w->n_purchases = 0;
    if (rc || est.basis == DN_REMINDER_NONE || est.due_day - w->today > w->days)
        return rc;
    if (!(item = dn_array_grow(w->items, &w->cap_items, w->n_items, sizeof *item, 16)))
        return DN_ENOMEM;
    w->items = item;
    item = &w->items[w->n_items++];
    memcpy(item->phone, w->phone, sizeof item->phone);
    memcpy(item->name, w->name, sizeof item->name);
    memcpy(item->sku, w->sku, sizeof item->sku);
    item->est = est;
    item->days_until_due = est.due_day - w->today;
    return 0;
}

static int s_on_purchase(const dn_store_purchase_t *p, void *arg)
{
    s_walk_t *w = arg;
    dn_reminder_purchase_t *row;
    int rc;

    if (strlen(p->phone) >= sizeof w->phone || strlen(p->sku) >= sizeof w->sku ||
        (p->name && strlen(p->name) >= sizeof w->name) ||
        (p->category && strlen(p->category) >= sizeof row->category))
        return DN_EDB; /* longer than anything the agent writes: a damaged file */
    if (w->in_group && (strcmp(w->phone, p->phone) || strcmp(w->sku, p->sku)) &&
        (rc = s_flush(w)) != 0)
        return rc;
    if (!w->in_group) {
        w->in_group = 1;
        snprintf(w->phone, sizeof w->phone, "%s", p->phone);
        snprintf(w->name, sizeof w->name, "%s", p->name ? p->name : "");
        snprintf(w->sku, sizeof w->sku, "%s", p->sku);
        w->has_household = p->has_household;
        w->household = p->household;
    }
    if (!(row = dn_array_grow(w->purchases, &w->cap_purchases, w->n_purchases, sizeof *row,
                              16)))
        return DN_ENOMEM;
    w->purchases = row;
    row = &w->purchases[w->n_purchases++];
    row->recorded_at_ms = p->recorded_at_ms;
    row->quantity = p->quantity;
    row->refunded_qty = p->refunded_qty;
    row->sale_refunded = p->sale_refunded;
    snprintf(row->category, sizeof row->category, "%s", p->category ? p->category : "");
    return 0;
}

int dn_reminder_list(dn_store_t *store, int64_t today_day, int64_t days,
                     dn_reminder_t **items, size_t *n)
{
    s_walk_t w;
    int rc;

    memset(&w, 0, sizeof w);
    w.today = today_day;
    w.days = days;
    *items = NULL;
    *n = 0;
    rc = dn_store_member_purchases(store, s_on_purchase, &w);
    if (rc == 0)
        rc = s_flush(&w);
    free(w.purchases);
    if (rc) {
        free(w.items);
        return rc;
    }
    dn_reminder_sort(w.items, w.n_items);
    *items = w.items;
    *n = w.n_items;
    return 0;
}

json_t *dn_reminder_json(const dn_reminder_t *items, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        const dn_reminder_t *r = &items[i];
        char last[DN_DATE_SIZE], due[DN_DATE_SIZE];
        json_t *item;
        dn_time_format_day(r->est.last_day, last);
        dn_time_format_day(r->est.due_day, due);
        item = json_pack(
            "{s:s, s:o, s:s, s:s, s:I, s:I, s:s, s:I, s:s}", "phone", r->phone, "name",
            r->name[0] ? json_string(r->name) : json_null(), "sku", r->sku,
            "last_purchase", last, "usual_quantity", (json_int_t)r->est.quantity,
            "interval_days", (json_int_t)r->est.interval_days, "due_date", due,
            "days_until_due", (json_int_t)r->days_until_due, "basis",
            dn_reminder_basis_name(r->est.basis));
        if (!item || json_array_append_new(list, item)) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

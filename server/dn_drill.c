/*  dn_drill -- one sale and everything it made; the sales that match (see
    dn_drill.h).

    A transfer stores its level, rate and category but not what the rate
    applied to: the drill-down works the base out again from the stored
    lines with the plan in force at the sale's time, grouping the lines by
    the table that pays them (dn_plan_table), as the ledger grouped them
    when it posted; and a clawback's share from the refunds stored up to
    it.  The exact figure before rounding is then base x rate / 10000 (or
    base x refund / total) in 128 bits (dn_money_format_exact), so HQ sees
    where each fen of rounding went.
*/
#include "dn_drill.h"
#include "dn_account.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_id.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_render.h"
#include "dn_time.h"
#include "dn_tree.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -- shared --------------------------------------------------------------- */

static json_t *s_money(int64_t minor, int exponent)
{
    char text[DN_MONEY_TEXT_SIZE];
    dn_money_format(minor, exponent, text, sizeof text);
    return json_string(text);
}

/*  Sets key and key_minor of obj to amount.  */
static void s_set_money(json_t *obj, const char *key, int64_t amount, int exponent)
{
    char minor[64];
    snprintf(minor, sizeof minor, "%s" DN_RENDER_MINOR_SUFFIX, key);
    json_object_set_new(obj, key, s_money(amount, exponent));
    json_object_set_new(obj, minor, json_integer(amount));
}

static json_t *s_time(int64_t ms)
{
    char text[DN_TIME_TEXT_SIZE];
    dn_time_format(ms, text);
    return json_string(text);
}

/*  Column col as a JSON string, or null.  */
static json_t *s_text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? json_string((const char *)text) : json_null();
}

/*  Column col (an event id, 16 bytes) as its text, or null.  */
static json_t *s_id(sqlite3_stmt *stmt, int col)
{
    char text[DN_ID_TEXT_SIZE];
    if (sqlite3_column_bytes(stmt, col) != DN_ID_BYTES)
        return json_null();
    dn_id_format(sqlite3_column_blob(stmt, col), text);
    return json_string(text);
}

static json_t *s_receipt(sqlite3_stmt *stmt, int col)
{
    char text[DN_RECEIPT_TEXT_SIZE];
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return json_null();
    dn_receipt_format(sqlite3_column_int64(stmt, col), text);
    return json_string(text);
}

static json_t *s_payment(sqlite3_stmt *stmt, int col)
{
    return json_string(dn_wire_payment_name(
        sqlite3_column_type(stmt, col) == SQLITE_NULL ? 0 : sqlite3_column_int(stmt, col)));
}

static int s_exponent(const char *currency)
{
    int exponent = dn_money_exponent(currency);
    return exponent >= 0 ? exponent : 0;
}

/*  Appends obj (a new reference, may be NULL) to array.  0 or DN_ENOMEM.  */
static int s_append(json_t *array, json_t *obj)
{
    return obj && json_array_append_new(array, obj) == 0 ? 0 : DN_ENOMEM;
}

/* -- one sale ------------------------------------------------------------- */

/*  What the transfers need to know of the sale.  */
typedef struct {
    sqlite3 *db;
    int64_t eid, total, recorded_ms;
    int exponent;
    char seller[DN_MAX_CODE_LEN + 1];
    char site_partner[DN_MAX_CODE_LEN + 1];
    int has_plan;
    dn_plan_t plan;
    /* the lines' amounts per paying table (category, "" for [levels]) */
    const dn_plan_table_t *tables[DN_MAX_SALE_LINES];
    int64_t bases[DN_MAX_SALE_LINES];
    size_t groups;
    /* the refunds by eid, oldest first, each with the sale's refunded
       total up to and with it */
    int64_t *refund_eids, *refund_amounts, *refunded_through;
    size_t n_refunds;
} s_sale_t;

static const char *const s_sale_sql =
    "SELECT e.id, st.code, st.name, s.seller, p.name, s.member_phone, m.name, "
    "  coalesce(m.referrer_phone, m.referrer_partner), r.referral_state, s.channel, "
    "  s.payment, s.receipt, s.recorded_at_ms, e.received_ms, s.held, s.currency, "
    "  s.total, s.refunded, sp.code "
    "FROM sales s JOIN events e ON e.eid = s.eid JOIN sites st ON st.id = s.site_id "
    "JOIN partners sp ON sp.id = st.partner_id "
    "LEFT JOIN partners p ON p.code = s.seller "
    "LEFT JOIN members m ON m.phone = s.member_phone "
    "LEFT JOIN member_referrals r ON r.member = m.id "
    "WHERE s.eid = ?";

/*  The header: who, where, when, how much.  */
static int s_header(s_sale_t *sale, json_t *out, char *why, size_t why_size)
{
    sqlite3_stmt *stmt;
    char currency[4] = "";
    int step, rc = 0;

    if (dn_db_prepare(sale->db, s_sale_sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale->eid);
    step = dn_db_row(stmt, "drill: a sale");
    if (step == 1) {
        if (dn_db_column_copy(stmt, 3, sale->seller, sizeof sale->seller) ||
            dn_db_column_copy(stmt, 15, currency, sizeof currency) ||
            dn_db_column_copy(stmt, 18, sale->site_partner, sizeof sale->site_partner))
            rc = DN_ENOMEM;
        sale->exponent = s_exponent(currency);
        sale->recorded_ms = sqlite3_column_int64(stmt, 12);
        sale->total = sqlite3_column_int64(stmt, 16);
        json_object_set_new(out, "sale", s_id(stmt, 0));
        json_object_set_new(out, "site", s_text(stmt, 1));
        json_object_set_new(out, "site_name", s_text(stmt, 2));
        json_object_set_new(out, "seller", s_text(stmt, 3));
        json_object_set_new(out, "seller_name", s_text(stmt, 4));
        json_object_set_new(out, "member", s_text(stmt, 5));
        json_object_set_new(out, "member_name", s_text(stmt, 6));
        json_object_set_new(out, "referrer", s_text(stmt, 7));
        json_object_set_new(out, "referral", s_text(stmt, 8));
        json_object_set_new(out, "channel",
                            json_string(dn_wire_channel_name(sqlite3_column_int(stmt, 9))));
        json_object_set_new(out, "payment", s_payment(stmt, 10));
        json_object_set_new(out, "receipt", s_receipt(stmt, 11));
        json_object_set_new(out, "recorded", s_time(sale->recorded_ms));
        json_object_set_new(out, "received", s_time(sqlite3_column_int64(stmt, 13)));
        json_object_set_new(out, "held", json_boolean(sqlite3_column_int(stmt, 14)));
        json_object_set_new(out, "currency", json_string(currency));
        s_set_money(out, "total", sale->total, sale->exponent);
        s_set_money(out, "refunded", sqlite3_column_int64(stmt, 17), sale->exponent);
    }
    sqlite3_finalize(stmt);
    if (step == 0)
        return dn_why(why, why_size, DN_ENOENT, "%s", _("no such sale"));
    return step < 0 ? DN_EDB : rc;
}

/*  The plan version in force at the sale's time, and its void.  */
static int s_plan_and_void(s_sale_t *sale, json_t *out)
{
    char date[DN_DATE_SIZE];
    sqlite3_stmt *stmt;
    int rc = dn_plan_at(sale->db, sale->recorded_ms, &sale->plan), step;

    if (rc && rc != DN_ENOENT)
        return rc;
    sale->has_plan = rc == 0;
    if (sale->has_plan)
        dn_time_format_day(dn_time_day(sale->plan.effective_ms), date);
    json_object_set_new(out, "plan_version", sale->has_plan ? json_string(date) : json_null());

    if (dn_db_prepare(sale->db,
                      "SELECT id, created_ms, admin, reason FROM corrections "
                      "WHERE kind = 'void' AND sale_eid = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale->eid);
    if ((step = dn_db_row(stmt, "drill: a sale's void")) == 1) {
        json_object_set_new(out, "voided", s_time(sqlite3_column_int64(stmt, 1)));
        json_object_set_new(out, "voided_by", s_text(stmt, 2));
        json_object_set_new(out, "void_reason", s_text(stmt, 3));
        json_object_set_new(out, "void_correction",
                            json_integer(sqlite3_column_int64(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return step < 0 ? DN_EDB : 0;
}

/*  Adds amount to the base of the table that pays category.  */
static void s_group_add(s_sale_t *sale, const char *category, int64_t amount)
{
    const dn_plan_table_t *table;
    size_t g;
    if (!sale->has_plan)
        return;
    table = dn_plan_table(&sale->plan, category);
    for (g = 0; g < sale->groups && sale->tables[g] != table; g++)
        ;
    if (g == sale->groups) {
        if (g == DN_MAX_SALE_LINES)
            return; /* dn_wire bounds the lines: cannot happen */
        sale->tables[sale->groups] = table;
        sale->bases[sale->groups++] = 0;
    }
    /* dn_wire bounded each line and the total: no overflow */
    sale->bases[g] += amount;
}

/*  The lines, and the bases of the category groups.  */
static int s_lines(s_sale_t *sale, json_t *out)
{
    sqlite3_stmt *stmt;
    json_t *lines = json_array();
    int rc = 0, step;

    if (!lines || json_object_set_new(out, "lines", lines))
        return DN_ENOMEM;
    /* a SKU's name: the site's partner's list, else the network's, in
       force at the sale's time */
    if (dn_db_prepare(sale->db,
                      "SELECT l.sku, (SELECT c.name FROM catalog c WHERE c.sku = l.sku "
                      "  AND c.removed = 0 AND c.effective_ms <= ?2 "
                      "  AND (c.partner IS NULL OR c.partner = ?3) "
                      "  ORDER BY c.partner IS NULL, c.effective_ms DESC LIMIT 1), "
                      "l.category, l.quantity, l.unit_price, l.refunded_qty "
                      "FROM sale_lines l WHERE l.sale_eid = ?1 ORDER BY l.line_no",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale->eid);
    sqlite3_bind_int64(stmt, 2, sale->recorded_ms);
    sqlite3_bind_text(stmt, 3, sale->site_partner, -1, SQLITE_STATIC);
    while (rc == 0 && (step = dn_db_row(stmt, "drill: a sale's lines")) == 1) {
        int64_t qty = sqlite3_column_int64(stmt, 3), price = sqlite3_column_int64(stmt, 4);
        json_t *line = json_object();
        if (!line) {
            rc = DN_ENOMEM;
            break;
        }
        json_object_set_new(line, "sku", s_text(stmt, 0));
        json_object_set_new(line, "name", s_text(stmt, 1));
        json_object_set_new(line, "category", s_text(stmt, 2));
        json_object_set_new(line, "qty", json_integer(qty));
        s_set_money(line, "price", price, sale->exponent);
        s_set_money(line, "amount", qty * price, sale->exponent);
        json_object_set_new(line, "refunded_qty", json_integer(sqlite3_column_int64(stmt, 5)));
        s_group_add(sale, (const char *)sqlite3_column_text(stmt, 2), qty * price);
        rc = s_append(lines, line);
    }
    sqlite3_finalize(stmt);
    return rc ? rc : step < 0 ? DN_EDB : 0;
}

/*  The path: dn_tree_walk's visit, collecting the nodes.  */
typedef struct {
    dn_tree_node_t **nodes;
    size_t n;
} s_path_t;

static int s_path_step(void *arg, dn_tree_node_t *node)
{
    s_path_t *p = arg;
    p->nodes[p->n++] = node;
    return 0;
}

/*  The seller's upline at the sale's time, with the ledger's levels: a
    partner suspended then holds none (dn_ledger's s_earners skips it).  */
static int s_path(s_sale_t *sale, json_t *out)
{
    dn_tree_t *tree = dn_tree_new(sale->db);
    dn_tree_node_t *seller = NULL;
    s_path_t walk = {calloc(DN_TREE_MAX_WALK + 1, sizeof *walk.nodes), 0};
    json_t *path = json_array();
    sqlite3_stmt *name = NULL;
    int rc = tree && walk.nodes && path ? 0 : DN_ENOMEM;

    if (rc == 0 && json_object_set(out, "path", path))
        rc = DN_ENOMEM;
    if (rc == 0) {
        rc = dn_tree_node_by_code(tree, sale->seller, INT64_MAX, &seller);
        if (rc == DN_ENOENT) /* a seller HQ does not know: the sale is held */
            rc = 0;
        else if (rc == 0)
            rc = dn_tree_walk(tree, seller->p.id, sale->recorded_ms, s_path_step, &walk);
    }
    if (rc == 0 && walk.n &&
        dn_db_prepare(sale->db, "SELECT name FROM partners WHERE id = ?", &name))
        rc = DN_EDB;
    for (size_t i = 0, level = 0; rc == 0 && i < walk.n; i++) {
        const dn_tree_node_t *node = walk.nodes[i];
        int active = dn_tree_node_active_at(node, sale->recorded_ms);
        json_t *row = json_object();
        int step;
        sqlite3_reset(name);
        sqlite3_bind_int64(name, 1, node->p.id);
        step = dn_db_row(name, "drill: a partner's name");
        if (step < 0 || !row) {
            json_decref(row);
            rc = step < 0 ? DN_EDB : DN_ENOMEM;
            break;
        }
        json_object_set_new(row, "level", active ? json_integer((json_int_t)level++)
                                                 : json_null());
        json_object_set_new(row, "partner", json_string(node->p.code));
        json_object_set_new(row, "name", step == 1 ? s_text(name, 0) : json_null());
        json_object_set_new(row, "kind", json_string(node->p.kind));
        json_object_set_new(row, "status", json_string(active ? "active" : "suspended"));
        rc = s_append(path, row);
    }
    sqlite3_finalize(name);
    json_decref(path);
    free(walk.nodes);
    dn_tree_destroy(&tree);
    return rc;
}

/*  The refunds, and what they bring the refunded total to.  */
static int s_refunds(s_sale_t *sale, json_t *out)
{
    sqlite3_stmt *stmt;
    json_t *refunds = json_array();
    int64_t sum = 0;
    size_t cap = 0;
    int rc = 0, step;

    if (!refunds || json_object_set_new(out, "refunds", refunds))
        return DN_ENOMEM;
    if (dn_db_prepare(sale->db,
                      "SELECT r.eid, e.id, e.recorded_at_ms, e.received_ms, r.amount "
                      "FROM refunds r JOIN events e ON e.eid = r.eid "
                      "WHERE r.sale_eid = ? ORDER BY r.eid",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale->eid);
    while (rc == 0 && (step = dn_db_row(stmt, "drill: a sale's refunds")) == 1) {
        int64_t amount = sqlite3_column_int64(stmt, 4);
        json_t *row = json_object();
        if (sale->n_refunds == cap) {
            size_t bigger = cap ? 2 * cap : 8;
            int64_t *e = realloc(sale->refund_eids, bigger * sizeof *e);
            if (e)
                sale->refund_eids = e;
            int64_t *a = realloc(sale->refund_amounts, bigger * sizeof *a);
            if (a)
                sale->refund_amounts = a;
            int64_t *t = realloc(sale->refunded_through, bigger * sizeof *t);
            if (t)
                sale->refunded_through = t;
            if (!e || !a || !t) {
                json_decref(row);
                rc = DN_ENOMEM;
                break;
            }
            cap = bigger;
        }
        sum += amount; /* refunds never pass the sale's total (a CHECK) */
        sale->refund_eids[sale->n_refunds] = sqlite3_column_int64(stmt, 0);
        sale->refund_amounts[sale->n_refunds] = amount;
        sale->refunded_through[sale->n_refunds++] = sum;
        if (!row) {
            rc = DN_ENOMEM;
            break;
        }
        json_object_set_new(row, "refund", s_id(stmt, 1));
        json_object_set_new(row, "recorded", s_time(sqlite3_column_int64(stmt, 2)));
        json_object_set_new(row, "received", s_time(sqlite3_column_int64(stmt, 3)));
        s_set_money(row, "amount", amount, sale->exponent);
        rc = s_append(refunds, row);
    }
    sqlite3_finalize(stmt);
    return rc ? rc : step < 0 ? DN_EDB : 0;
}

/*  The base of a commission of category (NULL: [levels]): the lines its
    table pays.  Returns 0, or -1 when no group has it (no plan).  */
static int s_commission_base(const s_sale_t *sale, const char *category, int64_t *base)
{
    for (size_t g = 0; g < sale->groups; g++) {
        if (strcmp(sale->tables[g]->category, category ? category : "") == 0) {
            *base = sale->bases[g];
            return 0;
        }
    }
    return -1;
}

/*  One original transfer and what was taken back from it so far.  */
typedef struct {
    int64_t id, taken;
} s_taken_t;

static const char *const s_transfers_sql =
    "SELECT t.id, t.code, t.bonus, t.amount, t.level, t.rate_bps, t.category, t.period, "
    "  t.event_period, t.source_eid, t.reverses, o.amount, a.name, "
    "  CASE a.kind WHEN 'partner' THEN (SELECT name FROM partners WHERE id = a.partner_id)"
    "    WHEN 'member' THEN (SELECT name FROM members WHERE phone = a.phone) END, "
    "  (SELECT id FROM events WHERE eid = t.source_eid) "
    "FROM transfers t LEFT JOIN transfers o ON o.id = t.reverses "
    "JOIN accounts a ON a.id = CASE WHEN t.code IN ('commission', 'referral', "
    "  'override') THEN t.credit ELSE t.debit END "
    "WHERE t.sale_eid = ? ORDER BY t.id";

/*  Fills row's base, share, exact and rounding for transfer of the
    current row of stmt (s_transfers_sql), whose signed amount is amount;
    taken tracks the originals.  */
static int s_explain(s_sale_t *sale, sqlite3_stmt *stmt, int64_t amount, s_taken_t *taken,
                     size_t *n_taken, json_t *row)
{
    const char *code = (const char *)sqlite3_column_text(stmt, 1);
    const char *category = (const char *)sqlite3_column_text(stmt, 6);
    int bonus = sqlite3_column_int(stmt, 2);
    int32_t rate = sqlite3_column_int(stmt, 5);
    int64_t base = 0, num = 1, den = 1, source = sqlite3_column_int64(stmt, 9);
    char exact[DN_MONEY_EXACT_SIZE], rounding[DN_MONEY_EXACT_SIZE];
    char share[2 * DN_MONEY_TEXT_SIZE];
    int known = 1, rest = 0;

    share[0] = '\0';
    if (strcmp(code, "commission") == 0) {
        known = s_commission_base(sale, category, &base) == 0;
        num = rate;
        den = DN_BPS_ONE;
    } else if (bonus && strcmp(code, "referral") == 0) {
        base = amount; /* the plan's fixed amount: nothing to round */
    } else if (strcmp(code, "referral") == 0 || strcmp(code, "override") == 0) {
        base = sale->total;
        num = rate;
        den = DN_BPS_ONE;
    } else { /* a clawback or a void's reversal takes back from an original */
        int64_t original = sqlite3_column_int64(stmt, 10), before = 0;
        size_t i;
        base = sqlite3_column_int64(stmt, 11);
        for (i = 0; i < *n_taken && taken[i].id != original; i++)
            ;
        if (i == *n_taken) {
            taken[i].id = original;
            taken[i].taken = 0;
            ++*n_taken;
        }
        before = taken[i].taken;
        taken[i].taken -= amount; /* amount is negative: taken back */
        rest = strcmp(code, "clawback") != 0; /* a void: what was left */
        if (!rest) {
            size_t r;
            for (r = 0; r < sale->n_refunds && sale->refund_eids[r] != source; r++)
                ;
            if (r == sale->n_refunds)
                known = 0;
            else if (sale->refunded_through[r] >= sale->total)
                rest = 1; /* the completing refund: exactly what was left */
            else {
                char a[DN_MONEY_TEXT_SIZE], b[DN_MONEY_TEXT_SIZE];
                dn_money_format(sale->refund_amounts[r], sale->exponent, a, sizeof a);
                dn_money_format(sale->total, sale->exponent, b, sizeof b);
                snprintf(share, sizeof share, "%s/%s", a, b);
                num = -sale->refund_amounts[r];
                den = sale->total;
            }
        }
        if (rest) {
            snprintf(share, sizeof share, "rest");
            num = -(base - before); /* base stays what the original paid */
            den = 1;
        }
    }
    if (!known) {
        json_object_set_new(row, "base", json_null());
        json_object_set_new(row, "share", json_null());
        json_object_set_new(row, "exact", json_null());
        json_object_set_new(row, "rounding", json_null());
        return 0;
    }
    if (rest) { /* exact = what was left, as one figure */
        dn_money_format_exact(num, 1, 1, sale->exponent, exact, sizeof exact);
        dn_money_format_rounding(amount, num, 1, 1, sale->exponent, rounding,
                                 sizeof rounding);
    } else {
        dn_money_format_exact(base, num, den, sale->exponent, exact, sizeof exact);
        dn_money_format_rounding(amount, base, num, den, sale->exponent, rounding,
                                 sizeof rounding);
    }
    json_object_set_new(row, "base", bonus && !share[0] && strcmp(code, "referral") == 0
                                         ? json_null()
                                         : s_money(base, sale->exponent));
    json_object_set_new(row, "share", share[0] ? json_string(share) : json_null());
    json_object_set_new(row, "exact", json_string(exact));
    json_object_set_new(row, "rounding", json_string(rounding));
    return 0;
}

/*  The word a drill-down shows for a transfer's code.  */
static const char *s_kind(const char *code, int bonus)
{
    if (strcmp(code, "adjustment") == 0)
        return "void"; /* a sale's adjustments are its void's reversals */
    if (bonus && strcmp(code, "referral") == 0)
        return "bonus";
    return code;
}

static int s_transfers(s_sale_t *sale, json_t *out)
{
    sqlite3_stmt *stmt;
    json_t *transfers = json_array();
    s_taken_t *taken = NULL;
    size_t n_taken = 0, cap = 0;
    int rc = 0, step;

    if (!transfers || json_object_set_new(out, "transfers", transfers))
        return DN_ENOMEM;
    if (dn_db_prepare(sale->db, s_transfers_sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale->eid);
    while (rc == 0 && (step = dn_db_row(stmt, "drill: a sale's transfers")) == 1) {
        const char *code = (const char *)sqlite3_column_text(stmt, 1);
        int bonus = sqlite3_column_int(stmt, 2);
        int earned = code && (strcmp(code, "commission") == 0 ||
                              strcmp(code, "referral") == 0 || strcmp(code, "override") == 0);
        int64_t amount = sqlite3_column_int64(stmt, 3);
        json_t *row = json_object();
        if (!earned)
            amount = -amount; /* taken back from the earner */
        if (n_taken == cap) {
            s_taken_t *bigger = realloc(taken, (cap ? 2 * cap : 16) * sizeof *taken);
            if (!bigger) {
                json_decref(row);
                rc = DN_ENOMEM;
                break;
            }
            taken = bigger;
            cap = cap ? 2 * cap : 16;
        }
        if (!row || !code) {
            json_decref(row);
            rc = DN_ENOMEM;
            break;
        }
        json_object_set_new(row, "id", json_integer(sqlite3_column_int64(stmt, 0)));
        json_object_set_new(row, "kind", json_string(s_kind(code, bonus)));
        json_object_set_new(row, "account", s_text(stmt, 12));
        json_object_set_new(row, "name", s_text(stmt, 13));
        json_object_set_new(row, "level", sqlite3_column_type(stmt, 4) == SQLITE_NULL
                                              ? json_null()
                                              : json_integer(sqlite3_column_int(stmt, 4)));
        json_object_set_new(row, "rate_bps", sqlite3_column_type(stmt, 5) == SQLITE_NULL
                                                 ? json_null()
                                                 : json_integer(sqlite3_column_int(stmt, 5)));
        json_object_set_new(row, "category", s_text(stmt, 6));
        if ((rc = s_explain(sale, stmt, amount, taken, &n_taken, row)) != 0) {
            json_decref(row);
            break;
        }
        s_set_money(row, "amount", amount, sale->exponent);
        /* the key order: the figures read left to right, base to rounding */
        json_t *rounding = json_incref(json_object_get(row, "rounding"));
        json_object_del(row, "rounding");
        json_object_set_new(row, "rounding", rounding);
        json_object_set_new(row, "period", s_text(stmt, 7));
        json_object_set_new(row, "late_from", s_text(stmt, 8));
        json_object_set_new(row, "refund",
                            strcmp(code, "clawback") == 0 ? s_id(stmt, 14) : json_null());
        json_object_set_new(row, "reverses", sqlite3_column_type(stmt, 10) == SQLITE_NULL
                                                 ? json_null()
                                                 : json_integer(sqlite3_column_int64(stmt, 10)));
        rc = s_append(transfers, row);
    }
    sqlite3_finalize(stmt);
    free(taken);
    return rc ? rc : step < 0 ? DN_EDB : 0;
}

/*  The exceptions about the sale and its refunds.  */
static int s_holds(s_sale_t *sale, json_t *out)
{
    sqlite3_stmt *stmt;
    json_t *holds = json_array();
    int rc = 0, step;

    if (!holds || json_object_set_new(out, "holds", holds))
        return DN_ENOMEM;
    if (dn_db_prepare(sale->db,
                      "SELECT x.id, e.id, x.kind, x.held, x.detail, x.created_ms, "
                      "  x.resolved_ms, x.resolved_by, x.resolution, x.reason "
                      "FROM exceptions x JOIN events e ON e.eid = x.eid "
                      "WHERE x.eid = ?1 OR x.eid IN (SELECT eid FROM refunds "
                      "  WHERE sale_eid = ?1) ORDER BY x.id",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, sale->eid);
    while (rc == 0 && (step = dn_db_row(stmt, "drill: a sale's exceptions")) == 1) {
        int resolved = sqlite3_column_type(stmt, 6) != SQLITE_NULL;
        json_t *row = json_object();
        if (!row) {
            rc = DN_ENOMEM;
            break;
        }
        json_object_set_new(row, "id", json_integer(sqlite3_column_int64(stmt, 0)));
        json_object_set_new(row, "event", s_id(stmt, 1));
        json_object_set_new(row, "kind", s_text(stmt, 2));
        json_object_set_new(row, "held", json_boolean(sqlite3_column_int(stmt, 3)));
        json_object_set_new(row, "detail", s_text(stmt, 4));
        json_object_set_new(row, "created", s_time(sqlite3_column_int64(stmt, 5)));
        json_object_set_new(row, "status",
                            resolved ? s_text(stmt, 8) : json_string("open"));
        json_object_set_new(row, "resolved",
                            resolved ? s_time(sqlite3_column_int64(stmt, 6)) : json_null());
        json_object_set_new(row, "resolved_by", s_text(stmt, 7));
        json_object_set_new(row, "reason", s_text(stmt, 9));
        rc = s_append(holds, row);
    }
    sqlite3_finalize(stmt);
    return rc ? rc : step < 0 ? DN_EDB : 0;
}

int dn_drill_sale(sqlite3 *db, int64_t sale_eid, json_t **out, char *why, size_t why_size)
{
    s_sale_t sale;
    int rc;

    memset(&sale, 0, sizeof sale);
    sale.db = db;
    sale.eid = sale_eid;
    *out = json_object();
    rc = *out ? 0 : DN_ENOMEM;
    if (rc == 0)
        rc = s_header(&sale, *out, why, why_size);
    if (rc == 0)
        rc = s_plan_and_void(&sale, *out);
    if (rc == 0)
        rc = s_lines(&sale, *out);
    if (rc == 0)
        rc = s_path(&sale, *out);
    if (rc == 0)
        rc = s_refunds(&sale, *out);
    if (rc == 0)
        rc = s_transfers(&sale, *out);
    if (rc == 0)
        rc = s_holds(&sale, *out);
    free(sale.refund_eids);
    free(sale.refund_amounts);
    free(sale.refunded_through);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* -- the list ------------------------------------------------------------- */

/*  The columns of a listed sale, then the filters (?1 .. ?2 the times; ?3
    the site; ?4 the member; ?5 the channel; ?6 the partner), appended as
    given.  The partner's candidates: every partner ever below it (any
    link, at any time), a superset that dn_tree_within_cached then narrows
    to the tree at each sale's time.  */
static const char *const s_list_columns =
    "SELECT s.eid, e.id, s.recorded_at_ms, st.code, s.seller, s.member_phone, s.channel, "
    "  s.payment, s.receipt, s.currency, s.total, s.refunded, EXISTS (SELECT 1 FROM "
    "  corrections c WHERE c.kind = 'void' AND c.sale_eid = s.eid), p.id "
    "FROM sales s JOIN events e ON e.eid = s.eid JOIN sites st ON st.id = s.site_id "
    "LEFT JOIN partners p ON p.code = s.seller ";

static const char *const s_list_partner =
    " AND s.seller IN (WITH RECURSIVE below(id) AS (SELECT ?6 UNION "
    "  SELECT l.partner_id FROM partner_links l JOIN below b ON l.parent_id = b.id) "
    "  SELECT q.code FROM partners q JOIN below b ON b.id = q.id)";

/*  Writes the WHERE clause of q into buf.  */
static void s_list_where(const dn_drill_query_t *q, char *buf, size_t size)
{
    snprintf(buf, size, "WHERE s.recorded_at_ms BETWEEN ?1 AND ?2%s%s%s%s",
             q->site ? " AND s.site_id = ?3" : "", q->member ? " AND s.member_phone = ?4" : "",
             q->channel >= 0 ? " AND s.channel = ?5" : "", q->partner ? s_list_partner : "");
}

static void s_list_bind(sqlite3_stmt *stmt, const dn_drill_query_t *q, int64_t site_id,
                        const char *phone, int64_t partner_id)
{
    sqlite3_bind_int64(stmt, 1, q->from_ms);
    sqlite3_bind_int64(stmt, 2, q->to_ms);
    if (q->site)
        sqlite3_bind_int64(stmt, 3, site_id);
    if (q->member)
        sqlite3_bind_text(stmt, 4, phone, -1, SQLITE_STATIC);
    if (q->channel >= 0)
        sqlite3_bind_int(stmt, 5, q->channel);
    if (q->partner)
        sqlite3_bind_int64(stmt, 6, partner_id);
}

/*  One listed sale of the current row.  */
static json_t *s_list_row(sqlite3_stmt *stmt)
{
    const char *currency = (const char *)sqlite3_column_text(stmt, 9);
    int exponent = s_exponent(currency);
    json_t *row = json_object();
    if (!row)
        return NULL;
    json_object_set_new(row, "sale", s_id(stmt, 1));
    json_object_set_new(row, "recorded", s_time(sqlite3_column_int64(stmt, 2)));
    json_object_set_new(row, "site", s_text(stmt, 3));
    json_object_set_new(row, "seller", s_text(stmt, 4));
    json_object_set_new(row, "member", s_text(stmt, 5));
    json_object_set_new(row, "channel",
                        json_string(dn_wire_channel_name(sqlite3_column_int(stmt, 6))));
    json_object_set_new(row, "payment", s_payment(stmt, 7));
    json_object_set_new(row, "receipt", s_receipt(stmt, 8));
    json_object_set_new(row, "currency", s_text(stmt, 9));
    s_set_money(row, "total", sqlite3_column_int64(stmt, 10), exponent);
    s_set_money(row, "refunded", sqlite3_column_int64(stmt, 11), exponent);
    json_object_set_new(row, "voided", json_boolean(sqlite3_column_int(stmt, 12)));
    return row;
}

int dn_drill_sales(sqlite3 *db, const dn_drill_query_t *q, json_t **out, char *why,
                   size_t why_size)
{
    char where[1024], sql[2048], phone[DN_PHONE_SIZE] = "";
    dn_registry_site_t site = {0};
    dn_registry_partner_t partner = {0};
    dn_db_cache_t *cache = NULL;
    sqlite3_stmt *stmt = NULL;
    json_t *sales = json_array();
    int64_t more = 0;
    int rc = sales ? 0 : DN_ENOMEM, step = 0;

    *out = NULL;
    if (rc == 0 && q->from_ms > q->to_ms)
        rc = dn_why(why, why_size, DN_EINVAL, "%s", _("--from is after --to"));
    if (rc == 0 && q->site && (rc = dn_registry_site_get(db, q->site, &site)) == DN_ENOENT)
        rc = dn_why(why, why_size, rc, _("site %s does not exist"), q->site);
    if (rc == 0 && q->partner &&
        (rc = dn_registry_partner_get(db, q->partner, &partner)) == DN_ENOENT)
        rc = dn_why(why, why_size, rc, _("partner %s does not exist"), q->partner);
    if (rc == 0 && q->member)
        rc = dn_phones_canonical(db, q->member, phone, why, why_size);
    if (rc == 0 && q->partner && !(cache = dn_db_cache_new(db)))
        rc = DN_ENOMEM;
    s_list_where(q, where, sizeof where);
    /* without a partner SQL counts and limits; with one each sale's
       tree is checked here, so every candidate is read */
    snprintf(sql, sizeof sql, "%s%s ORDER BY s.recorded_at_ms DESC, s.eid DESC%s",
             s_list_columns, where, q->partner ? "" : " LIMIT ?7");
    if (rc == 0 && dn_db_prepare(db, sql, &stmt))
        rc = DN_EDB;
    if (rc == 0) {
        s_list_bind(stmt, q, site.id, phone, partner.id);
        if (!q->partner)
            sqlite3_bind_int64(stmt, 7, q->limit);
    }
    while (rc == 0 && (step = dn_db_row(stmt, "drill: sales")) == 1) {
        int within = 1;
        if (q->partner &&
            (rc = dn_tree_within_cached(cache, sqlite3_column_int64(stmt, 13), partner.id,
                                        sqlite3_column_int64(stmt, 2), &within)) != 0)
            break;
        if (!within)
            continue;
        if ((int64_t)json_array_size(sales) >= q->limit)
            more++;
        else
            rc = s_append(sales, s_list_row(stmt));
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == 0 && !q->partner) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM sales s %s", where);
        if (dn_db_prepare(db, sql, &stmt))
            rc = DN_EDB;
        if (rc == 0) {
            s_list_bind(stmt, q, site.id, phone, partner.id);
            if (dn_db_int_row(stmt, "drill: sales counted", &more) != 1) /* finalizes */
                rc = DN_EDB;
            more -= (int64_t)json_array_size(sales);
            if (more < 0)
                more = 0;
        }
    }
    dn_db_cache_destroy(&cache);
    if (rc == 0)
        *out = json_pack("{s:o, s:I}", "sales", sales, "more", (json_int_t)more);
    else
        json_decref(sales);
    return rc ? rc : *out ? 0 : DN_ENOMEM;
}

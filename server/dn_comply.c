/*  dn_comply -- the compliance report (see dn_comply.h).

    Partners and members are loaded once into one array of nodes, each with
    its parent: a partner's parent in the tree at the month's end, a
    member's referrer (a member, else a partner).  Individuals (resellers,
    members) are the nodes that count; businesses are passed through.  The
    depths come from one walk up from each individual, bounded by the
    number of nodes: referrals name phones, and two members naming each
    other make a loop that must not hang the report.  Income is one
    aggregate of the month's transfers, each clawback and void reversal
    classed with the transfer it reverses; own sales are `sales --by
    partner` of the month (dn_report_sales), the one place that counts a
    seller's sales, refunds and voids.
*/
#include "dn_comply.h"
#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_money.h"
#include "dn_plan.h"
#include "dn_report.h"
#include "dn_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OWN    0 /* level 0 commission: its own sales */
#define S_OTHERS 1 /* levels 1+ and overrides: others' sales */
#define S_RECRUIT 2 /* referral rewards */

typedef struct {
    int64_t id;        /* partners.id or members.id */
    char *who;         /* code or phone (owned) */
    int is_member;
    int individual;    /* a reseller or a member */
    int64_t parent_id; /* of a partner: its parent's partners.id (0: none) */
    int64_t ref_member, ref_partner; /* of a member: its referrer's ids (0: none) */
    long parent;       /* node index, -1: none */
    int above, below;
    int has_sales;
    int64_t own_sales;
    int64_t income[3];
} s_node_t;

typedef struct {
    s_node_t *nodes;
    size_t n, cap;
    size_t n_partners; /* nodes[0 .. n_partners) are partners, by id */
} s_net_t;

static int s_push(s_net_t *net, s_node_t *node)
{
    if (net->n == net->cap) {
        size_t cap = net->cap ? net->cap * 2 : 64;
        s_node_t *bigger = realloc(net->nodes, cap * sizeof *bigger);
        if (!bigger)
            return DN_ENOMEM;
        net->nodes = bigger;
        net->cap = cap;
    }
    net->nodes[net->n++] = *node;
    return 0;
}

/*  The node of id in nodes[from .. to) (sorted by id), or -1.  */
static long s_find(const s_net_t *net, size_t from, size_t to, int64_t id)
{
    while (from < to) {
        size_t mid = from + (to - from) / 2;
        if (net->nodes[mid].id == id)
            return (long)mid;
        if (net->nodes[mid].id < id)
            from = mid + 1;
        else
            to = mid;
    }
    return -1;
}

/*  Loads partners (added by end_ms, with their parent then) and members
    (signed up by end_ms, with their referrer), by id.  */
static int s_load(sqlite3 *db, int64_t end_ms, s_net_t *net)
{
    static const char *const sql[2] = {
        "SELECT p.id, p.code, p.kind = 'reseller', "
        "  (SELECT l.parent_id FROM partner_links l WHERE l.partner_id = p.id "
        "   AND l.effective_ms <= ?1 ORDER BY l.effective_ms DESC LIMIT 1), NULL "
        "FROM partners p WHERE p.created_ms <= ?1 ORDER BY p.id",
        "SELECT m.id, m.phone, 1, r.id, p.id FROM members m "
        "LEFT JOIN members r ON r.phone = m.referrer_phone "
        "LEFT JOIN partners p ON p.code = m.referrer_partner "
        "WHERE m.signed_up_ms <= ?1 ORDER BY m.id"};
    int rc = 0;

    for (int k = 0; k < 2 && rc == 0; k++) {
        sqlite3_stmt *stmt;
        int step;
        if (dn_db_prepare(db, sql[k], &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, end_ms);
        while (rc == 0 && (step = dn_db_row(stmt, "compliance: the network")) == 1) {
            s_node_t node;
            memset(&node, 0, sizeof node);
            node.id = sqlite3_column_int64(stmt, 0);
            node.who = strdup((const char *)sqlite3_column_text(stmt, 1));
            node.is_member = k == 1;
            node.individual = sqlite3_column_int(stmt, 2);
            node.parent = -1;
            if (k == 0)
                node.parent_id = sqlite3_column_int64(stmt, 3);
            else {
                node.ref_member = sqlite3_column_int64(stmt, 3);
                node.ref_partner = sqlite3_column_int64(stmt, 4);
            }
            if (!node.who || s_push(net, &node)) {
                free(node.who);
                rc = DN_ENOMEM;
            }
        }
        if (rc == 0 && step < 0)
            rc = DN_EDB;
        sqlite3_finalize(stmt);
        if (k == 0)
            net->n_partners = net->n;
    }
    for (size_t i = 0; rc == 0 && i < net->n; i++) {
        s_node_t *node = &net->nodes[i];
        if (!node->is_member)
            node->parent = node->parent_id
                               ? s_find(net, 0, net->n_partners, node->parent_id)
                               : -1;
        else if (node->ref_member)
            node->parent = s_find(net, net->n_partners, net->n, node->ref_member);
        else if (node->ref_partner)
            node->parent = s_find(net, 0, net->n_partners, node->ref_partner);
    }
    return rc;
}

/*  above and below of every individual: from each, one walk up.  A walk
    takes at most n steps, so a referral loop ends it.  */
static void s_depths(s_net_t *net)
{
    for (size_t i = 0; i < net->n; i++) {
        int count = 1; /* individuals from i up to the node walked to, excluded */
        long a = net->nodes[i].parent;
        if (!net->nodes[i].individual)
            continue;
        for (size_t steps = 0; a >= 0 && (size_t)a != i && steps < net->n; steps++) {
            s_node_t *up = &net->nodes[a];
            if (up->below < count)
                up->below = count;
            count += up->individual;
            a = up->parent;
        }
        net->nodes[i].above = count - 1;
    }
}

/*  Income of the month, by account and class: every commission, referral
    and override posted into it, less the clawbacks and void reversals
    posted into it, each classed by the transfer it reverses.  */
static int s_income(sqlite3 *db, const char *period, s_net_t *net)
{
    sqlite3_stmt *stmt;
    int rc = 0, step;

    if (dn_db_prepare(
            db,
            "WITH moved(account, amount, code, level) AS ("
            "  SELECT CASE WHEN t.reverses IS NULL THEN t.credit ELSE t.debit END,"
            "    CASE WHEN t.reverses IS NULL THEN t.amount ELSE -t.amount END,"
            "    o.code, o.level"
            "  FROM transfers t JOIN transfers o ON o.id = coalesce(t.reverses, t.id)"
            "  WHERE t.period = ?1 AND o.code IN ('commission', 'referral', 'override'))"
            "SELECT a.kind = 'member', coalesce(a.partner_id, m.id),"
            "  CASE WHEN mv.code = 'commission' AND mv.level = 0 THEN 0"
            "       WHEN mv.code = 'referral' THEN 2 ELSE 1 END AS class,"
            "  sum(mv.amount) "
            "FROM moved mv JOIN accounts a ON a.id = mv.account "
            "LEFT JOIN members m ON a.kind = 'member' AND m.phone = a.phone "
            "WHERE a.kind IN ('partner', 'member') "
            "GROUP BY a.id, class",
            &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, period, -1, SQLITE_STATIC);
    while ((step = dn_db_row(stmt, "compliance: income")) == 1) {
        int is_member = sqlite3_column_int(stmt, 0);
        long i = is_member ? s_find(net, net->n_partners, net->n,
                                    sqlite3_column_int64(stmt, 1))
                           : s_find(net, 0, net->n_partners, sqlite3_column_int64(stmt, 1));
        int class = sqlite3_column_int(stmt, 2);
        if (i >= 0 && class >= 0 && class <= 2)
            net->nodes[i].income[class] += sqlite3_column_int64(stmt, 3);
    }
    if (step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    return rc;
}

/*  Own sales of the resellers: `sales --by partner` of the month, in the
    ledger's currency.  */
static int s_own_sales(sqlite3 *db, int64_t from_ms, int64_t to_ms, const char *currency,
                       s_net_t *net, char *why, size_t why_size)
{
    dn_report_sales_t query = {DN_REPORT_BY_PARTNER, from_ms, to_ms, NULL, 0};
    json_t *rows = NULL, *row;
    size_t k;
    int rc = dn_report_sales(db, &query, &rows, why, why_size);
    if (rc)
        return rc;
    json_array_foreach(rows, k, row)
    {
        const char *code = json_string_value(json_object_get(row, "partner"));
        const char *cur = json_string_value(json_object_get(row, "currency"));
        if (!code || !cur || strcmp(cur, currency) != 0)
            continue;
        /* partners are few next to members: a scan of them per row */
        for (size_t i = 0; i < net->n_partners; i++) {
            if (strcmp(net->nodes[i].who, code) == 0) {
                net->nodes[i].has_sales = 1;
                net->nodes[i].own_sales +=
                    json_integer_value(json_object_get(row, "net_minor"));
                break;
            }
        }
    }
    json_decref(rows);
    return 0;
}

/*  part as a percentage of whole, 2 decimals, half-even; null when whole
    is not above 0.  */
static json_t *s_pct(int64_t part, int64_t whole)
{
    char text[DN_MONEY_TEXT_SIZE];
    int64_t hundredths;
    if (whole <= 0 || dn_money_muldiv(part, 10000, whole, &hundredths))
        return json_null();
    dn_money_format(hundredths, 2, text, sizeof text);
    return json_string(text);
}

/*  Sets key and key_minor of obj to amount.  0 or DN_ENOMEM.  */
static int s_set_money(json_t *obj, const char *key, int64_t amount, int exponent)
{
    char text[DN_MONEY_TEXT_SIZE], minor[64];
    dn_money_format(amount, exponent, text, sizeof text);
    snprintf(minor, sizeof minor, "%s_minor", key);
    return json_object_set_new(obj, key, json_string(text)) ||
                   json_object_set_new(obj, minor, json_integer(amount))
               ? DN_ENOMEM
               : 0;
}

/*  The flags of node n, space-separated, into buf.  Counts each in
    counts[0 .. 3].  */
static void s_flags(const s_node_t *n, char *buf, size_t size, int64_t counts[4])
{
    int64_t income = n->income[0] + n->income[1] + n->income[2];
    int over = !n->is_member && income > 0 &&
               (__int128)income * DN_BPS_ONE >
                   (__int128)n->own_sales * DN_PLAN_CN_MAX_OWN_BPS;
    const struct {
        int on;
        const char *name;
    } flags[4] = {{n->income[S_OTHERS] != 0, "others_sales"},
                  {n->income[S_RECRUIT] != 0, "recruiting"},
                  {over, "over_30pct"},
                  {n->above + n->below > 0, "chain"}};
    size_t used = 0;

    buf[0] = '\0';
    for (int f = 0; f < 4; f++) {
        if (!flags[f].on)
            continue;
        counts[f]++;
        used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? " " : "",
                                 flags[f].name);
        if (used >= size)
            break;
    }
}

static int s_by_who(const void *a, const void *b)
{
    return strcmp((*(s_node_t *const *)a)->who, (*(s_node_t *const *)b)->who);
}

/*  The rows and the summary.  */
static int s_build(const s_net_t *net, int exponent, json_t *rows, json_t *summary)
{
    s_node_t **order = calloc(net->n ? net->n : 1, sizeof *order);
    int64_t counts[4] = {0, 0, 0, 0}, sums[3] = {0, 0, 0}, n_rows[2] = {0, 0},
            flagged = 0;
    int longest = 0, rc = 0;
    size_t n = 0;

    if (!order)
        return DN_ENOMEM;
    /* resellers by code, then members by phone */
    for (int pass = 0; pass < 2; pass++) {
        size_t first = n;
        for (size_t i = 0; i < net->n; i++) {
            const s_node_t *node = &net->nodes[i];
            int64_t any = node->income[0] | node->income[1] | node->income[2];
            if (!node->individual || node->is_member != pass)
                continue;
            if (node->is_member && !any && node->below == 0)
                continue;
            order[n++] = (s_node_t *)node;
        }
        qsort(order + first, n - first, sizeof *order, s_by_who);
    }
    for (size_t k = 0; rc == 0 && k < n; k++) {
        const s_node_t *node = order[k];
        int64_t income = node->income[0] + node->income[1] + node->income[2];
        char flags[64];
        int depth = node->above + 1 + node->below;
        json_t *row;

        s_flags(node, flags, sizeof flags, counts);
        flagged += flags[0] != '\0';
        n_rows[node->is_member]++;
        if (depth > longest)
            longest = depth;
        for (int c = 0; c < 3; c++)
            sums[c] += node->income[c];
        row = json_pack("{s:s, s:s, s:i, s:i, s:i}", "who", node->who, "kind",
                        node->is_member ? "member" : "reseller", "above", node->above,
                        "below", node->below, "depth", depth);
        if (!row) {
            rc = DN_ENOMEM;
            break;
        }
        if (node->is_member)
            rc = json_object_set_new(row, "own_sales", json_null()) ||
                         json_object_set_new(row, "own_sales_minor", json_null())
                     ? DN_ENOMEM
                     : 0;
        else
            rc = s_set_money(row, "own_sales", node->own_sales, exponent);
        if (rc == 0)
            rc = s_set_money(row, "own", node->income[S_OWN], exponent);
        if (rc == 0)
            rc = s_set_money(row, "others", node->income[S_OTHERS], exponent);
        if (rc == 0)
            rc = s_set_money(row, "recruiting", node->income[S_RECRUIT], exponent);
        if (rc == 0)
            rc = s_set_money(row, "income", income, exponent);
        if (rc == 0 &&
            (json_object_set_new(row, "own_pct", s_pct(node->income[S_OWN], income)) ||
             json_object_set_new(row, "others_pct",
                                 s_pct(node->income[S_OTHERS], income)) ||
             json_object_set_new(row, "recruiting_pct",
                                 s_pct(node->income[S_RECRUIT], income)) ||
             json_object_set_new(row, "pay_pct",
                                 node->is_member ? json_null()
                                                 : s_pct(income, node->own_sales)) ||
             json_object_set_new(row, "flags", json_string(flags))))
            rc = DN_ENOMEM;
        if (rc || json_array_append_new(rows, row)) {
            if (rc == 0)
                row = NULL; /* append_new took it */
            json_decref(row);
            rc = DN_ENOMEM;
        }
    }
    free(order);
    if (rc)
        return rc;
    {
        int64_t income = sums[0] + sums[1] + sums[2];
        json_t *counted = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "individuals",
            (json_int_t)(n_rows[0] + n_rows[1]), "resellers", (json_int_t)n_rows[0],
            "members", (json_int_t)n_rows[1], "flagged", (json_int_t)flagged,
            "others_sales", (json_int_t)counts[0], "recruiting", (json_int_t)counts[1],
            "over_30pct", (json_int_t)counts[2], "chain", (json_int_t)counts[3],
            "longest_chain", longest);
        if (!counted || json_object_update(summary, counted)) {
            json_decref(counted);
            return DN_ENOMEM;
        }
        json_decref(counted);
        rc = s_set_money(summary, "own", sums[S_OWN], exponent);
        if (rc == 0)
            rc = s_set_money(summary, "others", sums[S_OTHERS], exponent);
        if (rc == 0)
            rc = s_set_money(summary, "recruiting_income", sums[S_RECRUIT], exponent);
        if (rc == 0)
            rc = s_set_money(summary, "income", income, exponent);
        if (rc == 0 &&
            (json_object_set_new(summary, "own_pct", s_pct(sums[S_OWN], income)) ||
             json_object_set_new(summary, "others_pct", s_pct(sums[S_OTHERS], income)) ||
             json_object_set_new(summary, "recruiting_pct",
                                 s_pct(sums[S_RECRUIT], income))))
            rc = DN_ENOMEM;
    }
    return rc;
}

int dn_comply_report(sqlite3 *db, const char *period, int64_t now_ms, json_t **out,
                     char *why, size_t why_size)
{
    char p[DN_PERIOD_SIZE], currency[4];
    s_net_t net = {NULL, 0, 0, 0};
    int64_t from_ms, to_ms;
    json_t *rows = NULL, *summary = NULL, *compliance;
    dn_plan_t plan;
    int exponent, rc;

    *out = NULL;
    if ((rc = dn_report_period(period, now_ms, p, &from_ms, &to_ms, why, why_size)) != 0)
        return rc;
    rc = dn_plan_currency(db, currency, &exponent);
    if (rc == DN_ENOENT) { /* no plan yet: nothing was paid, in the network's currency */
        if (dn_db_meta_get(db, DN_META_CURRENCY, currency, sizeof currency))
            snprintf(currency, sizeof currency, "%s", DN_CURRENCY_DEFAULT);
        exponent = dn_money_exponent(currency);
        rc = exponent < 0 ? DN_EDB : 0;
    }
    if (rc)
        return dn_why(why, why_size, DN_EDB, _("database error"));
    rc = dn_plan_at(db, to_ms - 1, &plan);
    if (rc == 0)
        compliance = json_string(dn_plan_compliance_name(plan.compliance));
    else if (rc == DN_ENOENT)
        compliance = json_null();
    else
        return dn_why(why, why_size, DN_EDB, _("database error"));

    rc = s_load(db, to_ms - 1, &net);
    if (rc == 0) {
        s_depths(&net);
        rc = s_income(db, p, &net);
    }
    if (rc == 0)
        rc = s_own_sales(db, from_ms, to_ms - 1, currency, &net, why, why_size);
    if (rc == 0 && (!(rows = json_array()) || !(summary = json_object())))
        rc = DN_ENOMEM;
    if (rc == 0)
        rc = s_build(&net, exponent, rows, summary);
    for (size_t i = 0; i < net.n; i++)
        free(net.nodes[i].who);
    free(net.nodes);
    if (rc == 0) {
        *out = json_pack("{s:s, s:s, s:o, s:o, s:o}", "period", p, "currency", currency,
                         "compliance", compliance, "individuals", rows, "summary",
                         summary);
        return *out ? 0 : dn_why(why, why_size, DN_ENOMEM, _("out of memory"));
    }
    json_decref(compliance);
    json_decref(rows);
    json_decref(summary);
    return rc == DN_ENOMEM ? dn_why(why, why_size, rc, _("out of memory"))
           : rc == DN_EDB  ? dn_why(why, why_size, rc, _("database error"))
                           : rc;
}

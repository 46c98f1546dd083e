/*  dn_tree -- the partner tree over time (see dn_tree.h).

    One walk up the tree (s_walk), three sources of parents: the cached
    nodes (dn_tree_walk), a statement per step on the caller's cache
    (dn_tree_within_cached), a plain query per step (the move guard).
*/
#include "dn_tree.h"
#include "dn_array.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_log.h"
#include "dn_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_copy_code(char dest[DN_MAX_CODE_LEN + 1], const unsigned char *text)
{
    snprintf(dest, DN_MAX_CODE_LEN + 1, "%s", text ? (const char *)text : "");
}

/* -- the one walk ------------------------------------------------------------ */

/*  One step of a walk: visits id and sets *parent (0: the top).  Returns 0
    to go on, 1 to stop, or a negative DN_E* code.  */
typedef int (*s_step_fn)(void *ctx, int64_t id, int64_t at_ms, int64_t *parent);

/*  Walks up from id at at_ms through step.  0, step's error, or DN_EDB
    after DN_TREE_MAX_WALK steps.  */
static int s_walk(int64_t id, int64_t at_ms, s_step_fn step, void *ctx)
{
    for (int steps = 0; id; steps++) {
        int rc;
        if (steps > DN_TREE_MAX_WALK)
            return DN_EDB; /* a cycle: the registry refuses them, so the file is damaged */
        if ((rc = step(ctx, id, at_ms, &id)) != 0)
            return rc < 0 ? rc : 0;
    }
    return 0;
}

/* -- the tree at a date ------------------------------------------------------ */

/*  Runs an effective-dated lookup (parameters: partner id, time) and sets
    *value to its one column, leaving it as given when no row is in force.  */
static int s_value_at(sqlite3 *db, const char *sql, int64_t partner_id, int64_t at_ms,
                      int64_t *value)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db, sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, partner_id);
    sqlite3_bind_int64(stmt, 2, at_ms);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64(stmt, 0); /* NULL reads 0 */
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : DN_EDB;
}

static const char s_parent_at_sql[] = "SELECT parent_id FROM partner_links "
                                      "WHERE partner_id = ? AND effective_ms <= ? "
                                      "ORDER BY effective_ms DESC LIMIT 1";

int dn_tree_parent_at(sqlite3 *db, int64_t partner_id, int64_t at_ms,
                          int64_t *parent_id)
{
    *parent_id = 0; /* no link in force: no parent */
    return s_value_at(db, s_parent_at_sql, partner_id, at_ms, parent_id);
}

int dn_tree_active_at(sqlite3 *db, int64_t partner_id, int64_t at_ms, int *active)
{
    int64_t value = 1; /* no status row: active */
    int rc = s_value_at(db,
                        "SELECT status = 'active' FROM partner_status "
                        "WHERE partner_id = ? AND effective_ms <= ? "
                        "ORDER BY effective_ms DESC LIMIT 1",
                        partner_id, at_ms, &value);
    *active = (int)value;
    return rc;
}

/* -- moves, suspensions, the tree at a date -------------------------------- */

/*  Runs a one-row lookup with two integer parameters; column 0 into *out.
    Returns 1 (found), 0 (no row) or DN_EDB.  */
static int s_query_found(sqlite3 *db, int64_t a, int64_t b, const char *sql, int64_t *out)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(db, sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, a);
    sqlite3_bind_int64(stmt, 2, b);
    return dn_db_int_row(stmt, "tree lookup", out);
}

/*  Runs an INSERT with three integer parameters.  0 or DN_EDB.  */
static int s_insert_row(sqlite3 *db, const char *sql, int64_t a, int64_t b, int64_t c)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(db, sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, a);
    sqlite3_bind_int64(stmt, 2, b);
    sqlite3_bind_int64(stmt, 3, c);
    return dn_db_run(db, stmt);
}

/*  Finds the latest stored sale recorded at or after from_ms whose seller
    was, at the sale's time, the partner or in its downline.  Returns 1
    (and *recorded_ms, seller), 0 (none) or DN_EDB.  */
static int s_posted_sale(sqlite3 *db, int64_t partner_id, int64_t from_ms,
                         int64_t *recorded_ms, char seller[DN_MAX_CODE_LEN + 1])
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(
            db,
            "WITH RECURSIVE up(eid, at, pid, depth) AS ("
            "  SELECT s.eid, s.recorded_at_ms, p.id, 0"
            "  FROM sales s JOIN partners p ON p.code = s.seller"
            "  WHERE s.recorded_at_ms >= ?1 AND s.held = 0"
            "  UNION ALL"
            "  SELECT up.eid, up.at,"
            "    (SELECT l.parent_id FROM partner_links l"
            "     WHERE l.partner_id = up.pid AND l.effective_ms <= up.at"
            "     ORDER BY l.effective_ms DESC LIMIT 1),"
            "    up.depth + 1"
            "  FROM up WHERE up.pid IS NOT NULL AND up.pid != ?2"
            "    AND up.depth < " DN_STR(DN_TREE_MAX_WALK) ")"
            "SELECT s.recorded_at_ms, s.seller FROM up JOIN sales s ON s.eid = up.eid "
            "WHERE up.pid = ?2 ORDER BY s.recorded_at_ms DESC LIMIT 1",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, from_ms);
    sqlite3_bind_int64(stmt, 2, partner_id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *recorded_ms = sqlite3_column_int64(stmt, 0);
        s_copy_code(seller, sqlite3_column_text(stmt, 1));
        rc = 1;
    } else {
        rc = rc == SQLITE_DONE ? 0 : DN_EDB;
    }
    sqlite3_finalize(stmt);
    return rc;
}

typedef struct {
    sqlite3 *db;
    int64_t target; /* the partner looked for */
    int *found;
} s_find_t;

/*  s_walk's step for the move guard: a query per step.  */
static int s_find_step(void *ctx, int64_t id, int64_t at_ms, int64_t *parent)
{
    s_find_t *f = ctx;
    if (id == f->target) {
        *f->found = 1;
        return 1;
    }
    return dn_tree_parent_at(f->db, id, at_ms, parent) ? DN_EDB : 0;
}

/*  Sets *cycle to 1 if partner_id is new_parent or above it at at_ms (so
    that making new_parent its parent would close a loop).  0 or DN_EDB.  */
static int s_above(sqlite3 *db, int64_t partner_id, int64_t new_parent, int64_t at_ms,
                   int *cycle)
{
    s_find_t f = {db, partner_id, cycle};
    *cycle = 0;
    return s_walk(new_parent, at_ms, s_find_step, &f);
}

typedef struct {
    dn_db_cache_t *cache;
    int64_t root;
    int *within;
} s_within_t;

/*  s_walk's step for dn_tree_within_cached: a cached statement per step.  */
static int s_within_step(void *ctx, int64_t id, int64_t at_ms, int64_t *parent)
{
    s_within_t *w = ctx;
    sqlite3_stmt *stmt;
    int rc;
    if (id == w->root) {
        *w->within = 1;
        return 1;
    }
    if (dn_db_cached(w->cache, s_parent_at_sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, at_ms);
    rc = sqlite3_step(stmt);
    *parent = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0; /* NULL: the top */
    sqlite3_reset(stmt);
    return rc != SQLITE_ROW && rc != SQLITE_DONE ? DN_EDB : 0;
}

int dn_tree_within_cached(dn_db_cache_t *cache, int64_t partner_id, int64_t root_id,
                          int64_t at_ms, int *within)
{
    s_within_t w = {cache, root_id, within};
    *within = 0;
    return s_walk(partner_id, at_ms, s_within_step, &w);
}

/*  Checks that partner_id under new_parent from effective_ms makes no
    cycle: at effective_ms and at every later change of the tree until the
    partner's own next move.  Sets *cycle_at to the first time it would (or
    -1).  0 or DN_EDB.  */
static int s_cycle_check(sqlite3 *db, int64_t partner_id, int64_t new_parent,
                         int64_t effective_ms, int64_t *cycle_at)
{
    sqlite3_stmt *stmt;
    int cycle, rc, step;

    *cycle_at = -1;
    if ((rc = s_above(db, partner_id, new_parent, effective_ms, &cycle)) != 0)
        return rc;
    if (cycle) {
        *cycle_at = effective_ms;
        return 0;
    }
    if (dn_db_prepare(
            db,
            "SELECT DISTINCT effective_ms FROM partner_links "
            "WHERE effective_ms > ?1 AND effective_ms < coalesce("
            "  (SELECT min(effective_ms) FROM partner_links"
            "   WHERE partner_id = ?2 AND effective_ms > ?1), 9223372036854775807) "
            "ORDER BY effective_ms",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, effective_ms);
    sqlite3_bind_int64(stmt, 2, partner_id);
    while ((step = dn_db_row(stmt, "tree: changes after a move")) == 1) {
        int64_t at = sqlite3_column_int64(stmt, 0);
        if ((rc = s_above(db, partner_id, new_parent, at, &cycle)) != 0)
            break;
        if (cycle) {
            *cycle_at = at;
            break;
        }
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    return rc;
}

int dn_tree_move(sqlite3 *db, const char *code, const char *parent,
                             int64_t effective_ms, char *why, size_t why_size)
{
    dn_registry_partner_t partner, up;
    char when[DN_TIME_TEXT_SIZE], seller[DN_MAX_CODE_LEN + 1];
    int64_t found, cycle_at, recorded_ms;
    int rc;

    if (!code || !dn_valid_code(code))
        return dn_why(why, why_size, DN_EINVAL, _("partner code '%.40s' is not a code"),
                      code ? code : "");
    if (!parent || !dn_valid_code(parent))
        return dn_why(why, why_size, DN_EINVAL, _("parent '%.40s' is not a partner code"),
                      parent ? parent : "");
    if (dn_db_begin(db))
        return dn_why(why, why_size, DN_EDB, _("database busy or failing; try again"));
    rc = dn_registry_partner_get(db, code, &partner);
    if (rc == DN_ENOENT)
        return dn_db_abort(
            db, NULL,
            dn_why(why, why_size, DN_ENOENT, _("partner %s does not exist"), code));
    if (rc == 0)
        rc = dn_registry_partner_get(db, parent, &up);
    if (rc == DN_ENOENT)
        return dn_db_abort(
            db, NULL,
            dn_why(why, why_size, DN_ENOENT, _("partner %s does not exist"), parent));
    if (rc)
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    dn_time_format(effective_ms, when);
    if (strcmp(partner.kind, "hq") == 0)
        return dn_db_abort(
            db, NULL,
            dn_why(why, why_size, DN_EINVAL,
                   _("partner %s is of kind hq: it heads the tree and is never "
                     "moved under another partner"),
                   code));
    if (partner.id == up.id)
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EINVAL,
                                  _("partner %s cannot be its own parent"), code));
    rc = s_query_found(db, partner.id, effective_ms,
                       "SELECT 1 FROM partner_links WHERE partner_id = ? AND "
                       "effective_ms = ?",
                       &found);
    if (rc == 1)
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EEXIST,
                                  _("partner %s already has a move effective %s"), code,
                                  when));
    if (rc == 0)
        rc = s_cycle_check(db, partner.id, up.id, effective_ms, &cycle_at);
    if (rc)
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    if (cycle_at >= 0) {
        dn_time_format(cycle_at, when);
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EINVAL,
                                  _("moving %s under %s would make a cycle: %s is in the "
                                    "downline of %s at %s"),
                                  code, parent, parent, code, when));
    }
    rc = s_posted_sale(db, partner.id, effective_ms, &recorded_ms, seller);
    if (rc == 1) {
        char recorded[DN_TIME_TEXT_SIZE];
        dn_time_format(recorded_ms, recorded);
        return dn_db_abort(
            db, NULL,
            dn_why(why, why_size, DN_EPERM,
                   _("a sale of %s recorded at %s is already posted with %s's "
                     "upline of then; a move effective %s would change its "
                     "commissions: choose a later date"),
                   seller, recorded, code, when));
    }
    if (rc == 0)
        rc =
            s_insert_row(db,
                         "INSERT INTO partner_links(partner_id, parent_id, effective_ms) "
                         "VALUES (?, ?, ?)",
                         partner.id, up.id, effective_ms);
    if (rc || dn_db_commit(db))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    return 0;
}

/*  Appends a partner_status row for code, effective now_ms.  */
static int s_set_status(sqlite3 *db, const char *code, const char *status, int64_t now_ms,
                        char *why, size_t why_size)
{
    int suspend = strcmp(status, "suspended") == 0;
    dn_registry_partner_t partner;
    char when[DN_TIME_TEXT_SIZE], seller[DN_MAX_CODE_LEN + 1];
    sqlite3_stmt *stmt;
    int64_t recorded_ms;
    int rc;

    if (!code || !dn_valid_code(code))
        return dn_why(why, why_size, DN_EINVAL, _("partner code '%.40s' is not a code"),
                      code ? code : "");
    if (dn_db_begin(db))
        return dn_why(why, why_size, DN_EDB, _("database busy or failing; try again"));
    rc = dn_registry_partner_get(db, code, &partner);
    if (rc)
        return dn_db_abort(
            db, NULL,
            rc == DN_ENOENT
                ? dn_why(why, why_size, DN_ENOENT, _("partner %s does not exist"), code)
                : dn_why(why, why_size, DN_EDB, _("database error")));

    /* the last change decides what it is now */
    if (dn_db_prepare(
            db,
            "SELECT status, effective_ms FROM partner_status WHERE partner_id = ? "
            "ORDER BY effective_ms DESC LIMIT 1",
            &stmt))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    sqlite3_bind_int64(stmt, 1, partner.id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        int was_suspended =
            strcmp((const char *)sqlite3_column_text(stmt, 0), "suspended") == 0;
        int64_t since = sqlite3_column_int64(stmt, 1);
        dn_time_format(since, when);
        if (was_suspended == suspend)
            return dn_db_abort(
                db, stmt,
                dn_why(why, why_size, DN_EEXIST,
                       suspend ? _("partner %s is already suspended (since %s)")
                               : _("partner %s is not suspended (active since %s)"),
                       code, when));
        if (since >= now_ms)
            return dn_db_abort(
                db, stmt,
                dn_why(why, why_size, DN_EAGAIN,
                       _("partner %s changed status at %s, not before now: try "
                         "again later"),
                       code, when));
    } else if (rc == SQLITE_DONE) {
        if (!suspend)
            return dn_db_abort(
                db, stmt,
                dn_why(why, why_size, DN_EEXIST, _("partner %s is not suspended"), code));
    } else {
        return dn_db_abort(db, stmt, dn_why(why, why_size, DN_EDB, _("database error")));
    }
    sqlite3_finalize(stmt);

    rc = s_posted_sale(db, partner.id, now_ms, &recorded_ms, seller);
    if (rc == 1) {
        dn_time_format(recorded_ms, when);
        /* the status in the sentence: a word of HQ's language each way */
        return dn_db_abort(
            db, NULL,
            suspend
                ? dn_why(why, why_size, DN_EPERM,
                         _("a sale of %s recorded at %s (a clock ahead?) is already "
                           "posted with %s active; changing that from now would change "
                           "its commissions: try again after that time"),
                         seller, when, code)
                : dn_why(why, why_size, DN_EPERM,
                         _("a sale of %s recorded at %s (a clock ahead?) is already "
                           "posted with %s suspended; changing that from now would "
                           "change its commissions: try again after that time"),
                         seller, when, code));
    }
    if (rc == 0 && dn_db_prepare(db,
                                 "INSERT INTO partner_status(partner_id, effective_ms, "
                                 "status) VALUES (?, ?, ?)",
                                 &stmt))
        rc = DN_EDB;
    if (rc == 0) {
        sqlite3_bind_int64(stmt, 1, partner.id);
        sqlite3_bind_int64(stmt, 2, now_ms);
        sqlite3_bind_text(stmt, 3, status, -1, SQLITE_STATIC);
        rc = dn_db_run(db, stmt);
    }
    if (rc || dn_db_commit(db))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    return 0;
}

int dn_tree_suspend(sqlite3 *db, const char *code, int64_t now_ms, char *why,
                                size_t why_size)
{
    return s_set_status(db, code, "suspended", now_ms, why, why_size);
}

int dn_tree_resume(sqlite3 *db, const char *code, int64_t now_ms, char *why,
                               size_t why_size)
{
    return s_set_status(db, code, "active", now_ms, why, why_size);
}

/*  One partner as the tree shows it.  */
typedef struct {
    int64_t id;
    int64_t parent_id; /* at the tree's time; 0: none */
    char code[DN_MAX_CODE_LEN + 1];
    char kind[16];
    char *name;
    int active;
    int parent;      /* index of the parent, -1: none */
    int first_child; /* into the children array */
    int n_children;
    int seen;
} s_node_t;

typedef struct {
    int64_t id;
    int index;
} s_node_key_t;

static int s_key_order(const void *a, const void *b)
{
    int64_t x = ((const s_node_key_t *)a)->id, y = ((const s_node_key_t *)b)->id;
    return x < y ? -1 : x > y;
}

/*  Appends the row of node to list.  0 or DN_ENOMEM.  */
static int s_tree_row(json_t *list, const s_node_t *nodes, int i, int depth)
{
    char tree[2 * 64 + DN_MAX_CODE_LEN + 1];
    int indent = depth < 64 ? depth : 64;
    const s_node_t *node = &nodes[i];
    json_t *row;

    memset(tree, ' ', (size_t)indent * 2);
    snprintf(tree + indent * 2, sizeof tree - (size_t)indent * 2, "%s", node->code);
    row =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:i}", "tree", tree, "code", node->code,
                  "name", node->name ? node->name : "", "kind", node->kind, "parent",
                  node->parent >= 0 ? json_string(nodes[node->parent].code) : json_null(),
                  "status", node->active ? "active" : "suspended", "depth", depth);
    if (!row || json_array_append_new(list, row))
        return DN_ENOMEM;
    return 0;
}

int dn_tree_view(sqlite3 *db, const char *root, int64_t at_ms, json_t **list,
                             char *why, size_t why_size)
{
    s_node_t *nodes = NULL;
    s_node_key_t *keys = NULL;
    int *children = NULL, *stack = NULL, *depths = NULL;
    int n = 0, rc = 0, step, top = 0;
    size_t cap = 0;
    sqlite3_stmt *stmt;

    *list = NULL;
    if (root && !dn_valid_code(root))
        return dn_why(why, why_size, DN_EINVAL, _("partner code '%.40s' is not a code"),
                      root);
    if (dn_db_prepare(db,
                      "SELECT p.id, p.code, p.name, p.kind,"
                      "  (SELECT l.parent_id FROM partner_links l"
                      "   WHERE l.partner_id = p.id AND l.effective_ms <= ?1"
                      "   ORDER BY l.effective_ms DESC LIMIT 1),"
                      "  coalesce((SELECT s.status = 'active' FROM partner_status s"
                      "   WHERE s.partner_id = p.id AND s.effective_ms <= ?1"
                      "   ORDER BY s.effective_ms DESC LIMIT 1), 1) "
                      "FROM partners p ORDER BY p.code",
                      &stmt))
        return dn_why(why, why_size, DN_EDB, _("database error"));
    sqlite3_bind_int64(stmt, 1, at_ms);
    while ((step = dn_db_row(stmt, "tree: partners")) == 1) {
        s_node_t *node;
        if (!(node = dn_array_grow(nodes, &cap, (size_t)n, sizeof *nodes, 64))) {
            rc = DN_ENOMEM;
            break;
        }
        nodes = node;
        node = &nodes[n];
        memset(node, 0, sizeof *node);
        node->id = sqlite3_column_int64(stmt, 0);
        s_copy_code(node->code, sqlite3_column_text(stmt, 1));
        node->name = strdup(sqlite3_column_text(stmt, 2)
                                ? (const char *)sqlite3_column_text(stmt, 2)
                                : "");
        snprintf(node->kind, sizeof node->kind, "%s",
                 sqlite3_column_text(stmt, 3) ? (const char *)sqlite3_column_text(stmt, 3)
                                              : "");
        node->parent_id = sqlite3_column_int64(stmt, 4);
        node->active = sqlite3_column_int(stmt, 5);
        node->parent = -1;
        n++;
        if (!node->name) {
            rc = DN_ENOMEM;
            break;
        }
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);

    /* children by parent, each list in code order (the order of nodes) */
    if (rc == 0 && n > 0) {
        keys = malloc((size_t)n * sizeof *keys);
        children = malloc((size_t)n * sizeof *children);
        stack = malloc((size_t)n * sizeof *stack);
        depths = malloc((size_t)n * sizeof *depths);
        if (!keys || !children || !stack || !depths)
            rc = DN_ENOMEM;
    }
    if (rc == 0 && n > 0) {
        int *fill = depths; /* as scratch: the next free slot of each parent */
        for (int i = 0; i < n; i++)
            keys[i] = (s_node_key_t){nodes[i].id, i};
        qsort(keys, (size_t)n, sizeof *keys, s_key_order);
        for (int i = 0; i < n; i++) {
            s_node_key_t want = {nodes[i].parent_id, 0}, *hit;
            if (!nodes[i].parent_id)
                continue;
            hit = bsearch(&want, keys, (size_t)n, sizeof *keys, s_key_order);
            if (hit && hit->index != i) {
                nodes[i].parent = hit->index;
                nodes[hit->index].n_children++;
            }
        }
        for (int i = 0, at = 0; i < n; i++) {
            nodes[i].first_child = at;
            fill[i] = at;
            at += nodes[i].n_children;
        }
        for (int i = 0; i < n; i++)
            if (nodes[i].parent >= 0)
                children[fill[nodes[i].parent]++] = i;
    }

    if (rc == 0) {
        *list = json_array();
        if (!*list)
            rc = DN_ENOMEM;
    }
    /* the roots, last first on the stack so the first comes out first */
    if (rc == 0 && root) {
        int found = -1;
        for (int i = 0; i < n && found < 0; i++)
            if (strcmp(nodes[i].code, root) == 0)
                found = i;
        if (found < 0)
            rc = DN_ENOENT;
        else
            stack[top++] = found;
    } else if (rc == 0) {
        for (int i = n - 1; i >= 0; i--)
            if (nodes[i].parent < 0)
                stack[top++] = i;
    }
    if (rc == 0) {
        for (int i = 0; i < top; i++)
            nodes[stack[i]].seen = 1; /* depth 0 */
        for (int i = 0; i < n; i++)
            depths[i] = 0;
    }
    while (rc == 0 && top > 0) {
        int i = stack[--top];
        rc = s_tree_row(*list, nodes, i, depths[i]);
        for (int c = nodes[i].n_children - 1; rc == 0 && c >= 0; c--) {
            int child = children[nodes[i].first_child + c];
            if (nodes[child].seen)
                continue; /* only a damaged file has a loop */
            nodes[child].seen = 1;
            depths[child] = depths[i] + 1;
            stack[top++] = child;
        }
    }

    for (int i = 0; i < n; i++)
        free(nodes[i].name);
    free(nodes);
    free(keys);
    free(children);
    free(stack);
    free(depths);
    if (rc) {
        json_decref(*list);
        *list = NULL;
        if (rc == DN_ENOENT)
            return dn_why(why, why_size, DN_ENOENT, _("partner %s does not exist"), root);
        return dn_why(why, why_size, rc,
                      rc == DN_ENOMEM ? _("out of memory") : _("database error"));
    }
    return 0;
}

/* -- the cached tree ----------------------------------------------------------- */

struct _dn_tree_t {
    sqlite3 *db;
    dn_db_cache_t *cache;
    dn_slots_t nodes; /* dn_tree_node_t by partner id; a node never moves */
    /* The loaded nodes by code (a dn_table of node pointers on the code's
       hash): every posted sale names its seller by code, and a look-up in
       SQL per sale was a tenth of the ledger's and the rollups' work.  */
    dn_table_t by_code;
};

dn_tree_t *dn_tree_new(sqlite3 *db)
{
    dn_tree_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->cache = dn_db_cache_new(db);
    if (!self->cache)
        dn_tree_destroy(&self);
    return self;
}

static void s_node_drop(void *node)
{
    free(((dn_tree_node_t *)node)->links);
    free(((dn_tree_node_t *)node)->status);
}

void dn_tree_forget(dn_tree_t *self)
{
    if (self) {
        dn_slots_clear(&self->nodes, s_node_drop);
        dn_table_free(&self->by_code);
    }
}

/*  FNV-1a of a code.  */
static size_t s_code_hash(const char *code)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *code; code++)
        h = (h ^ (uint8_t)*code) * 1099511628211ULL;
    return (size_t)h;
}

static size_t s_code_rehash(const void *entry)
{
    return s_code_hash((*(dn_tree_node_t *const *)entry)->p.code);
}

/*  The loaded node of code, or NULL.  */
static dn_tree_node_t *s_code_find(const dn_tree_t *self, const char *code)
{
    dn_tree_node_t **by_code = self->by_code.entries;
    size_t mask = self->by_code.cap - 1;
    if (!self->by_code.cap)
        return NULL;
    for (size_t i = s_code_hash(code) & mask; by_code[i]; i = (i + 1) & mask)
        if (strcmp(by_code[i]->p.code, code) == 0)
            return by_code[i];
    return NULL;
}

/*  Remembers node by its code (not there yet).  DN_ENOMEM leaves the map as
    it was: the look-up still answers, through SQL.  */
static int s_code_add(dn_tree_t *self, dn_tree_node_t *node)
{
    dn_tree_node_t **by_code;
    size_t mask, i;
    if (dn_table_room(&self->by_code, sizeof *by_code, 1024, s_code_rehash))
        return DN_ENOMEM;
    by_code = self->by_code.entries;
    mask = self->by_code.cap - 1;
    for (i = s_code_hash(node->p.code) & mask; by_code[i]; i = (i + 1) & mask)
        ;
    by_code[i] = node;
    self->by_code.n++;
    return 0;
}

void dn_tree_destroy(dn_tree_t **self_p)
{
    if (self_p && *self_p) {
        dn_tree_forget(*self_p);
        dn_db_cache_destroy(&(*self_p)->cache);
        free(*self_p);
        *self_p = NULL;
    }
}

/*  Loads rows of (effective_ms, value) for a partner into *steps.  */
static int s_load_steps(dn_tree_t *self, const char *sql, int64_t id, dn_tree_step_t **steps,
                        size_t *n)
{
    sqlite3_stmt *stmt;
    size_t cap = 0;
    int step;
    free(*steps); /* what a load that failed half-way left */
    *steps = NULL;
    *n = 0;
    if (dn_db_cached(self->cache, sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    while ((step = dn_db_row(stmt, "tree: a partner's history")) == 1) {
        dn_tree_step_t *bigger = dn_array_grow(*steps, &cap, *n, sizeof *bigger, 4);
        if (!bigger) {
            sqlite3_reset(stmt);
            return DN_ENOMEM;
        }
        *steps = bigger;
        (*steps)[*n].effective_ms = sqlite3_column_int64(stmt, 0);
        (*steps)[(*n)++].value = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_reset(stmt);
    return step < 0 ? DN_EDB : 0; /* a history cut short is a wrong one */
}

/*  The value in force at at_ms (steps sorted by effective_ms), or dflt.  */
static int64_t s_step_at(const dn_tree_step_t *steps, size_t n, int64_t at_ms, int64_t dflt)
{
    int64_t value = dflt;
    for (size_t i = 0; i < n && steps[i].effective_ms <= at_ms; i++)
        value = steps[i].value;
    return value;
}

int64_t dn_tree_node_parent_at(const dn_tree_node_t *node, int64_t at_ms)
{
    return s_step_at(node->links, node->n_links, at_ms, 0);
}

int dn_tree_node_active_at(const dn_tree_node_t *node, int64_t at_ms)
{
    return (int)s_step_at(node->status, node->n_status, at_ms, 1);
}

int dn_tree_node(dn_tree_t *self, int64_t id, dn_tree_node_t **node)
{
    int rc;
    if (id <= 0)
        return DN_ENOENT;
    if (!(*node = dn_slots_get(&self->nodes, id, sizeof **node)))
        return DN_ENOMEM;
    if ((*node)->loaded)
        return 0;
    if ((rc = dn_registry_partner_by_id_cached(self->cache, id, &(*node)->p)) != 0)
        return rc;
    if ((rc = s_load_steps(self,
                           "SELECT effective_ms, coalesce(parent_id, 0) FROM partner_links "
                           "WHERE partner_id = ? ORDER BY effective_ms",
                           id, &(*node)->links, &(*node)->n_links)) != 0 ||
        (rc = s_load_steps(self,
                           "SELECT effective_ms, status = 'active' FROM partner_status "
                           "WHERE partner_id = ? ORDER BY effective_ms",
                           id, &(*node)->status, &(*node)->n_status)) != 0)
        return rc;
    (*node)->loaded = 1;
    return 0;
}

int dn_tree_node_by_code(dn_tree_t *self, const char *code, int64_t known_ms,
                         dn_tree_node_t **node)
{
    dn_tree_node_t *found = code ? s_code_find(self, code) : NULL;
    if (!found) {
        dn_registry_partner_t p;
        int rc = dn_registry_partner_get_cached(self->cache, code, &p);
        if (rc || (rc = dn_tree_node(self, p.id, &found)) != 0)
            return rc;
        s_code_add(self, found); /* a full map only costs the SQL next time */
    }
    if (found->p.created_ms > known_ms)
        return DN_ENOENT; /* unknown when the event was stored: verify agrees */
    *node = found;
    return 0;
}

typedef struct {
    dn_tree_t *tree;
    dn_tree_visit_fn visit;
    void *arg;
} s_nodes_t;

/*  s_walk's step for dn_tree_walk: the cached nodes.  */
static int s_node_step(void *ctx, int64_t id, int64_t at_ms, int64_t *parent)
{
    s_nodes_t *w = ctx;
    dn_tree_node_t *node;
    int rc;
    if ((rc = dn_tree_node(w->tree, id, &node)) != 0 || (rc = w->visit(w->arg, node)) != 0)
        return rc;
    *parent = dn_tree_node_parent_at(node, at_ms);
    return 0;
}

int dn_tree_walk(dn_tree_t *self, int64_t id, int64_t at_ms, dn_tree_visit_fn visit,
                 void *arg)
{
    s_nodes_t w = {self, visit, arg};
    return s_walk(id, at_ms, s_node_step, &w);
}

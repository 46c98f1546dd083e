/*  dn_tree -- the partner tree over time.

    Owns the SQL of partner_links and partner_status.  The upline and
    suspensions are effective-dated: the state at time T is the row with
    the greatest effective_ms <= T.  Nothing is ever rewritten: a move or
    a suspension appends a row.
*/
#ifndef DN_TREE_H
#define DN_TREE_H

#include "dn_db.h"
#include "dn_registry.h"
#include "dn_valid.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*  Sets *parent_id to the partner's parent in force at at_ms (0: none).
    Returns 0 or DN_EDB.  */
int dn_tree_parent_at(sqlite3 *db, int64_t partner_id, int64_t at_ms,
                          int64_t *parent_id);

/*  Sets *active to 0 if the partner was suspended at at_ms, else 1.
    Returns 0 or DN_EDB.  */
int dn_tree_active_at(sqlite3 *db, int64_t partner_id, int64_t at_ms, int *active);

/*  Sets *within to 1 if partner_id is root_id or below it in the tree as
    it stood at at_ms, else 0, for a hot path (the judge of every sale):
    the parent look-up is prepared once in cache (a dn_db_cache_t on the
    connection, borrowed).  Returns 0 or DN_EDB (also for a cycle, which
    the registry never writes).  */
int dn_tree_within_cached(dn_db_cache_t *cache, int64_t partner_id, int64_t root_id,
                              int64_t at_ms, int *within);

/*  Moves partner code under parent from effective_ms on, in one
    transaction, by appending a partner_links row; the links before stay.
    Refuses, writing nothing: DN_EINVAL (not codes; the partner is of kind
    hq; parent is the partner itself; a cycle: parent is in the partner's
    downline at effective_ms or at a later change of the tree before the
    partner's own next move), DN_ENOENT (no such partner or parent),
    DN_EEXIST (the partner already has a link effective then), DN_EPERM (a
    stored sale recorded at or after effective_ms was sold by the partner
    or its downline as they stood then: its posted commissions would
    change), DN_EDB.  why holds one line naming the thing.  */
int dn_tree_move(sqlite3 *db, const char *code, const char *parent,
                             int64_t effective_ms, char *why, size_t why_size);

/*  Suspend / resume partner code from now_ms on, by appending a
    partner_status row, in one transaction.  Refuses: DN_ENOENT (no such
    partner), DN_EEXIST (already suspended / not suspended), DN_EAGAIN (its
    last status change is not before now_ms), DN_EPERM (a stored sale
    recorded at or after now_ms was sold by the partner or its downline:
    its posted commissions would change), DN_EINVAL, DN_EDB; why holds one
    line.  */
int dn_tree_suspend(sqlite3 *db, const char *code, int64_t now_ms, char *why,
                                size_t why_size);
int dn_tree_resume(sqlite3 *db, const char *code, int64_t now_ms, char *why,
                               size_t why_size);

/*  Sets *list to a new JSON array (caller decrefs): the tree as it stood
    at at_ms, flat, depth first, children in code order, from root (a code)
    or, when root is NULL, from every partner without a parent then (in
    code order).  One object per partner: {"tree" (its code indented two
    spaces per depth), "code", "name", "kind", "parent" (code or null),
    "status" ("active" / "suspended" at at_ms), "depth" (0 for a root)}.
    Returns 0, DN_EINVAL (root not a code), DN_ENOENT (no such root),
    DN_EDB, DN_ENOMEM (*list NULL); why holds one line.  */
int dn_tree_view(sqlite3 *db, const char *root, int64_t at_ms, json_t **list,
                             char *why, size_t why_size);

#endif

/*  dn_tree -- the partner tree over time.

    Owns the SQL of partner_links and partner_status, but for two
    statements of dn_registry (which sits below it): a new partner's first
    link, and the partner listing's current parent and status.  The upline and
    suspensions are effective-dated: the state at time T is the row with
    the greatest effective_ms <= T.  Nothing is ever rewritten: a move or
    a suspension appends a row.

    Every walk up the tree -- the ledger's earners of a sale, the rollups'
    team of a seller, the move guards' cycle check, dn_facts' "is this
    seller in the site's partner's team" -- runs the one loop in dn_tree.c
    and stops at DN_TREE_MAX_WALK steps; the move guards' search for a
    posted sale below a partner walks up in SQL, to the same bound.  The bound only tells a cycle (a
    damaged file: the registry refuses them) from a tree.  It was 4096 in
    the registry's walks and 1000 in the ledger's and the rollups': a tree
    deeper than 1000 could be built and moved in, but none of its sales
    deeper than that could be posted (DN_EDB, the batch retried forever).
    One bound of 4096 changes nothing for a tree up to 1000 deep and makes
    every walk agree on deeper ones.
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

#define DN_TREE_MAX_WALK 4096 /* steps up the tree before calling it a cycle */

/* -- the cached tree (the ledger's and the rollups' hot path) ------------- */

/*  A partner and its whole effective-dated history, loaded once.  */
typedef struct {
    int64_t effective_ms;
    int64_t value; /* the parent id (0: none), or 1 active / 0 suspended */
} dn_tree_step_t;

typedef struct {
    int loaded;
    dn_registry_partner_t p;
    dn_tree_step_t *links, *status; /* sorted by effective_ms */
    size_t n_links, n_status;
    int64_t account; /* the ledger's: its commission account id, 0 until known */
} dn_tree_node_t;

typedef struct _dn_tree_t dn_tree_t;

/*  Returns a new cache of the tree on db (borrowed; must outlive it), or
    NULL.  It reads each partner's history once, until dn_tree_forget.
    Caller destroys.  */
dn_tree_t *dn_tree_new(sqlite3 *db);

/*  Destroys; accepts NULL and sets *self_p to NULL.  */
void dn_tree_destroy(dn_tree_t **self_p);

/*  Drops every node: call after any admin command (a move, a suspension)
    and after any rollback.  Every node pointer handed out is invalid from
    here on.  Accepts NULL: the ledger and the rollups forget their tree
    when they are destroyed, also after a failed new made none.  */
void dn_tree_forget(dn_tree_t *self);

/*  The partner with id id and its history.  The node stays where it is
    until dn_tree_forget, so a caller may hold several at once (the
    earners of a sale, its seller) while it asks for more.  Returns 0,
    DN_ENOENT (id < 1, or no such partner), DN_EDB, DN_ENOMEM.  */
int dn_tree_node(dn_tree_t *self, int64_t id, dn_tree_node_t **node);

/*  The partner called code, if HQ had added it by known_ms (a partner
    added later is unknown to what was stored before: verify agrees).
    Returns as dn_tree_node (DN_ENOENT also for a partner added after
    known_ms).  */
int dn_tree_node_by_code(dn_tree_t *self, const char *code, int64_t known_ms,
                         dn_tree_node_t **node);

/*  The node's parent id at at_ms (0: none), and 1 if it was active at
    at_ms (no status row: active), else 0.  */
int64_t dn_tree_node_parent_at(const dn_tree_node_t *node, int64_t at_ms);
int dn_tree_node_active_at(const dn_tree_node_t *node, int64_t at_ms);

/*  Called for each partner of a walk, from the first up: returns 0 to go
    on up, 1 to stop, or a negative DN_E* code that ends the walk.  */
typedef int (*dn_tree_visit_fn)(void *arg, dn_tree_node_t *node);

/*  Walks up from partner id as the tree stood at at_ms: visits it, its
    parent then, and so on to the top or until visit stops.  Returns 0,
    visit's error, DN_EDB (more than DN_TREE_MAX_WALK steps: a cycle), or
    dn_tree_node's.  */
int dn_tree_walk(dn_tree_t *self, int64_t id, int64_t at_ms, dn_tree_visit_fn visit,
                 void *arg);

#endif

/*  dn_notice -- HQ's notices to its shops (issue 14, "Notices"), and the
    notices stream that carries them down (dn_down_notices, dn_down.h,
    defined in dn_notice_down.c).

    Owns the SQL of the notices table.  A notice goes to every site, to a
    partner and everything under it, or to one site.  Who is under a
    partner is decided when a site pulls, by the tree as it stands then
    (dn_tree_within_cached): a notice to a region reaches the shops that
    are in that region when they next sync, which is what HQ means by
    "tell the region".  The same rule counts the sites a notice reaches
    when it is sent.  A notice is never edited or withdrawn: a mistake is
    corrected by the next one.
*/
#ifndef DN_NOTICE_H
#define DN_NOTICE_H

#include "dn_registry.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*  Sends a notice of text (dn_valid_notice) at now_ms, from admin (the
    admin's name, NULL if not known), to partner (a code: it and its
    subtree), or to site (a code), or to every site when both are NULL; at
    most one of them is given.  Sets *result to a new JSON object (caller
    decrefs): {"id", "target" ("all", "partner", "site"), "partner" and
    "site" (codes or null), "sites" (the sites it reaches as the tree
    stands now, revoked ones left out), "sent" (ISO-8601 UTC), "by"}.
    Returns 0; DN_EINVAL (text not a notice, partner and site both given,
    not codes); DN_ENOENT (no such partner or site); DN_EPERM (the site is
    revoked: it will never pull it); DN_EDB; DN_ENOMEM.  why holds one line.
    Writes nothing on error.  */
int dn_notice_send(sqlite3 *db, const char *text, const char *partner, const char *site,
                   const char *admin, int64_t now_ms, json_t **result, char *why,
                   size_t why_size);

/*  Sets *list to a new JSON array (caller decrefs), newest first: {"id",
    "sent" (ISO-8601 UTC), "target" ("all", "partner R1", "site S1"),
    "by" (or null), "text"}.  Returns 0, DN_EDB or DN_ENOMEM (*list NULL).  */
int dn_notice_list(sqlite3 *db, json_t **list);

/*  One notice as a site receives it.  Borrowed: valid during the visit.  */
typedef struct {
    int64_t id;
    const char *text;
    int64_t sent_ms;
} dn_notice_t;

/*  Called for each notice of dn_notice_for_site, with reaches 1 when it is
    for the site and 0 when it is for others.  Returns 0 to go on, 1 to
    stop, or a negative DN_E* code that ends the walk.  */
typedef int (*dn_notice_visit_fn)(void *arg, const dn_notice_t *notice, int reaches);

/*  Visits, in id order, every notice after id from that may be for site:
    those for every site, for this site, and for a partner (with reaches 1
    when the site's partner is that partner or under it in the tree as it
    stood at at_ms).  Notices to other sites are left out.  Returns 0 (also
    when visit stopped), visit's error, DN_EDB or DN_ENOMEM.  */
int dn_notice_for_site(sqlite3 *db, const dn_registry_site_t *site, int64_t at_ms,
                       uint64_t from, dn_notice_visit_fn visit, void *arg);

#endif

/*  dn_catalog -- HQ's catalogue and price lists (issue 14, item 2).

    Owns the SQL of catalog (one row per SKU, price list and effective
    day), catalog_staged and catalog_uploads (an import file arriving in
    parts).  A price list is the network's (partner NULL) or a partner's:
    a partner's list applies to the sites of its subtree, and at the till
    the deepest list with a row in force wins (see the agent's
    dn_hqcatalog.h for the rule).

    Every change -- a new row, a row replaced, a row removed -- takes the
    next catalogue version, one counter for the whole catalogue, strictly
    increasing: a producer sends a site "what changed after version v"
    (dn_catalog_scan), and a change to an existing (sku, list, effective)
    row replaces it under a new version, so the site receives it again.
    Rows are never deleted: a removal is a row marked removed, which the
    sites receive too.  A change that changes nothing (a set or an import
    of what is stored) takes no version, so importing one file twice sends
    nothing the second time.

    Effective dates are days: the midnight that starts them.  Today that is
    UTC (dn_catalog_day_parse / dn_catalog_day_format are the only two
    places that say so); issue 13 moves days to the network's time zone.
*/
#ifndef DN_CATALOG_H
#define DN_CATALOG_H

#include "dn_crypto.h" /* DN_HASH_BYTES */
#include "dn_valid.h"
#include "dn_wire.h" /* DN_CATALOG_MAX_ROWS */

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define DN_CATALOG_DAY_SIZE 16     /* "2026-12-06" and its NUL, with room */

/*  One catalogue row.  */
typedef struct {
    char sku[DN_MAX_SKU_LEN + 1];
    char name[DN_MAX_NAME_BYTES + 1];
    char category[DN_MAX_CODE_LEN + 1]; /* "" none */
    int64_t price;                      /* minor units of the network currency */
    int64_t effective_ms;               /* in force from (a day's start) */
    char partner[DN_MAX_CODE_LEN + 1];  /* whose list: "" the network's */
    int fixed;                          /* the till may not change the price */
    int removed;
    uint64_t version;
} dn_catalog_row_t;

/*  A row as typed (admin arguments, a CSV row): NULL or "" where absent
    (name too: then refused).  */
typedef struct {
    const char *sku, *name, *category, *price, *effective, *partner, *fixed;
} dn_catalog_text_t;

/*  The day text ("YYYY-MM-DD") starts: *ms its first millisecond.
    Returns 0 or DN_EPARSE.  */
int dn_catalog_day_parse(const char *text, int64_t *ms);

/*  The day ms falls in, as "YYYY-MM-DD".  */
void dn_catalog_day_format(int64_t ms, char text[DN_CATALOG_DAY_SIZE]);

/*  Checks text and fills *row (version 0, not removed), prices in the
    network currency (dn_plan_currency), an absent effective day being
    now_ms's, the category folded to lower case and the partner as the
    registry spells it.  Returns 0; DN_CODE_ERROR (a SKU, category or
    partner that is not a code: dn_valid_code_check's line, "'可乐' is not
    a SKU: codes are ASCII (...), names are not"); DN_EINVAL (why: the
    field and what is wrong); DN_ENOENT (no plan yet, so
    no currency; no such partner); DN_EDB.  */
int dn_catalog_parse(sqlite3 *db, const dn_catalog_text_t *text, int64_t now_ms,
                     dn_catalog_row_t *row, char *why, size_t why_size);

/*  Stores row, in its own transaction: a new row, or the (sku, partner,
    effective) row replaced -- also a removed one, which comes back.  Sets
    *version to the row's version: a new one, or the stored one when
    nothing differed (*changed 0).  Returns 0 or DN_EDB.  */
int dn_catalog_set(sqlite3 *db, const dn_catalog_row_t *row, int64_t now_ms,
                   uint64_t *version, int *changed);

/*  Removes SKU from partner's list ("" or NULL: the network's), in its own
    transaction: the row effective effective_ms when has_effective, else
    every row of the SKU on that list; each takes a new version.  Sets
    *removed to the rows removed and *version to the catalogue's version
    after.  Returns 0; DN_ENOENT (nothing of it to remove; why says so);
    DN_EDB.  */
int dn_catalog_remove(sqlite3 *db, const char *sku, const char *partner, int has_effective,
                      int64_t effective_ms, int64_t now_ms, size_t *removed,
                      uint64_t *version, char *why, size_t why_size);

/*  The rows in force at now_ms (for each SKU and list the latest effective
    day <= now) and the future ones, not removed, by SKU, list and day; of
    partner's list only when partner is not NULL.  Each: {sku, name,
    category (or null), price (decimal text), price_minor, effective
    (YYYY-MM-DD), list ("network" or the partner), fixed, in_force, version}.
    Returns 0, DN_ENOENT (partner unknown; why), DN_EDB, DN_ENOMEM; *list
    new, caller decrefs.  */
int dn_catalog_list(sqlite3 *db, const char *partner, int64_t now_ms, json_t **list,
                    char *why, size_t why_size);

/*  One part of an import file arriving over several admin requests (the
    admin request's bound, DN_MAX_ADMIN_REQUEST_BYTES, is far below a
    10,000-SKU file).  text is CSV: the file's header row, then rows whose
    first is line first_line of the file.  Part 1 starts upload (an id the
    client chose) and drops any unfinished upload; each part's rows are
    checked and staged; the last part (last) stores the staged rows in the
    catalogue, in one transaction with its own rows, and drops the
    staging.  A bad row refuses the whole file: the upload is dropped and
    why says "line N, FIELD: reason" (lines of the file).  Result of the
    last part: {"rows", "changed", "unchanged", "version"}; of the others
    {"rows" staged so far}.  Returns 0; DN_EPARSE (a bad row or header; a
    SKU on two lines of one list and day); DN_EINVAL (a part out of order,
    an unknown upload); DN_ENOENT (no plan yet); DN_EDB; DN_ENOMEM.  */
int dn_catalog_import_part(sqlite3 *db, const char *upload, int64_t part, int last,
                           int64_t first_line, const char *text, int64_t now_ms,
                           json_t **result, char *why, size_t why_size);

/*  STREAM_CATALOG's scope for a site whose partner path is path (n codes,
    top first, as the registry spells them; n 0 for a site without a
    partner row): the SHA-256 of the codes, each followed by one '\n'
    ("R-NORTH\nDEALER-BJ\n"; no codes: the SHA-256 of nothing).  A site
    whose path changes holds another scope and gets the catalogue again
    (PROTOCOL.md, "Streams"; docs/protocol-vectors.json holds an example).
    Defined in dn_catalog_down.c.  Returns 0, DN_ENOMEM, DN_ECRYPTO.  */
int dn_catalog_scope(const char *const *path, size_t n, uint8_t scope[DN_HASH_BYTES]);

/*  The catalogue's last version (0: empty).  Returns 0 or DN_EDB.  */
int dn_catalog_head(sqlite3 *db, uint64_t *head);

/*  Calls visit for each row with version > from, in version order, on the
    network's list or one of partners (n codes); removed rows too, unless
    from is 0 (nothing is held: a removal has nothing to withdraw).  visit
    returns 0 to go on, 1 to stop, or a negative DN_E* code that ends the
    scan.  Returns 0, visit's error, DN_EDB.  */
int dn_catalog_scan(sqlite3 *db, const char *const *partners, size_t n, uint64_t from,
                    int (*visit)(void *arg, const dn_catalog_row_t *row), void *arg);

#endif

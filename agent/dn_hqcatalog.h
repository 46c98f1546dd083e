/*  dn_hqcatalog -- HQ's catalogue at the shop (issue 14, item 2): the
    STREAM_CATALOG applier (agent/dn_down.h) and the price the till takes.

    Owns the SQL of hq_catalog.  The rule, for one SKU at a moment:
      - of the rows in force (effective day <= now; removed rows are gone
        from the table), take those of the deepest list -- a partner's list
        applies to its subtree and overrides its uplines' and the
        network's -- and of them the latest effective day;
      - a SKU without such a row (not in HQ's catalogue, or only from a
        future day, or removed) is priced from the local catalog
        (`catalog set`), as in a network without an HQ catalogue;
      - a fixed row's price may not be changed at the till (SKU:QTY@PRICE
        with another price is refused); any other row's may.
    A sale stores the unit price it was sold at (the event's SaleLine), so
    a later change of the catalogue never changes a recorded sale.
*/
#ifndef DN_HQCATALOG_H
#define DN_HQCATALOG_H

#include "dn_down.h"
#include "dn_valid.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

/*  What the till takes from HQ's catalogue for a SKU.  */
typedef struct {
    int64_t price;                      /* minor units */
    char category[DN_MAX_CODE_LEN + 1]; /* "" none */
    char name[DN_MAX_NAME_BYTES + 1];
    char partner[DN_MAX_CODE_LEN + 1]; /* whose list: "" the network's */
    int64_t effective_ms;
    int fixed;
} dn_hqcatalog_price_t;

/*  The price of sku at at_ms by the rule above.  Returns 0 and *out;
    DN_ENOENT (no HQ row in force: the local catalog applies); DN_EDB.  */
int dn_hqcatalog_price(sqlite3 *db, const char *sku, int64_t at_ms,
                       dn_hqcatalog_price_t *out);

/*  Appends to list, for each SKU with an HQ row in force at at_ms, that
    row: {sku, name, price_minor, category (or null), effective_ms, list
    ("network" or the partner), fixed}; by SKU.  Returns 0, DN_EDB,
    DN_ENOMEM.  */
int dn_hqcatalog_list(sqlite3 *db, int64_t at_ms, json_t *list);

/*  Appends to skus (a JSON array) the SKUs whose row the till takes at
    at_ms (the rule above) has the display name name, exactly (byte for
    byte), by SKU: a line typed by name (dn_record_resolve_line).  Returns
    0, DN_EDB, DN_ENOMEM.  */
int dn_hqcatalog_named(sqlite3 *db, const char *name, int64_t at_ms, json_t *skus);

#endif

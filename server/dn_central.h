/*  dn_central -- central.db: the server's schema, in one place.

    The schema is a list of migrations applied in order (PRAGMA
    user_version); append to it, never edit a released entry.  The store
    modules (dn_registry: partners, sites, keys, tokens; dn_ingest: events
    and their rows; dn_phones: the network's country and the one-time
    rewrite to canonical phones) each own the SQL of their tables.
*/
#ifndef DN_CENTRAL_H
#define DN_CENTRAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "dn_meta.h"
#include "dn_time.h"

#define DN_CENTRAL_DB_FILE "central.db"

#define DN_CURRENCY_DEFAULT "CNY"

/*  Opens (DN_DB_CREATE in flags: creates) DIR/central.db and migrates it,
    completing dn_phones_migrate; the rollups' rebuild is the caller's
    (dn_rollup_complete, after opening: the server runs it).  Returns 0
    and *db (caller closes), or the dn_db_open error.  */
int dn_central_open(const char *dir, int flags, sqlite3 **db);

/*  Opens DIR/central.db for reading, on a thread of its own (dn_query.h,
    the web pages): dn_db_open_reader with this schema's migrations, the
    cache of dn_central_open.  The file must have been opened by
    dn_central_open first (the server's loop does it at start), which
    migrates it.  Returns 0 and *db (caller closes), DN_EINVAL (a path
    too long), or dn_db_open_reader's error.  */
int dn_central_open_reader(const char *dir, sqlite3 **db);

/*  The network's bound on one sale (README, "Bounds"), in 10^-4 units of
    the currency (DN_MONEY_BOUND_EXPONENT): meta key DN_META_MAX_SALE,
    set once by `dealernet-server init --max-sale`.  get sets *bound to the
    setting, or to DN_MONEY_MAX_SALE_DEFAULT when there is none (a
    database from before the setting); returns 0 or DN_EDB (a setting
    that cannot be read or is out of range).  set writes it (the caller's
    transaction, or its own); 0 or DN_EDB.  */
int dn_central_max_sale(sqlite3 *db, int64_t *bound);

/*  The network's time zone: its IANA name (meta 'zone'; a file from
    before zones has none: its currency's default, dn_time_zone_default)
    and the start of its zoned periods (meta 'zone_from', 0 if absent; see
    the migration that wrote it and dn_time.h).  Returns 0 or DN_EDB
    (logged: a zone_from that is not a month's start).  */
int dn_central_zone(sqlite3 *db, char zone[DN_TIME_ZONE_SIZE], int64_t *zone_from_ms);

/*  Makes the network's zone the process's (dn_time_zone_set): the server
    does it once at start, before its threads; a test after opening.
    Returns 0, DN_EDB, or DN_ECONFIG (logged: a zone the zone database
    here does not hold).  */
int dn_central_zone_load(sqlite3 *db);
int dn_central_set_max_sale(sqlite3 *db, int64_t bound);

#endif

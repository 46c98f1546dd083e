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

#define DN_CENTRAL_DB_FILE "central.db"

/*  Opens (DN_DB_CREATE in flags: creates) DIR/central.db and migrates it,
    completing the migrations that need code (the reports' rebuild,
    dn_phones_migrate).  Returns 0 and *db (caller closes), or the
    dn_db_open error.  */
int dn_central_open(const char *dir, int flags, sqlite3 **db);

#endif

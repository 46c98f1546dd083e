/*  dn_db -- opening SQLite files the one safe way, and their migrations.

    Both programs keep their state in SQLite.  An acknowledged write must
    survive a power cut, so every database is opened in WAL mode with
    synchronous=FULL, foreign keys on and a busy timeout.  The schema is a
    list of migrations applied in order, each in its own transaction, and
    PRAGMA user_version records how many have run; a file written by a newer
    program is refused rather than misread.
*/
#ifndef DN_DB_H
#define DN_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define DN_DB_BUSY_TIMEOUT_MS 5000

/*  One migration: SQL run in one transaction, then user_version = its
    1-based index in the list.  Never edit a released migration: append.
    apply, if set, runs after sql in the same transaction, for a change
    that SQL alone cannot make; it returns 0, or DN_EDB (logged) and the
    migration is rolled back.  */
typedef struct {
    const char *sql;
    int (*apply)(sqlite3 *db);
} dn_migration_t;

/*  Open flags.  */
#define DN_DB_CREATE 1 /* create the file if missing (else DN_ENOENT) */

/*  Opens path with the pragmas above and applies the pending migrations of
    list[0..count).  Returns 0 and sets *db (caller closes with
    sqlite3_close), DN_ENOENT if the file is missing and DN_DB_CREATE is not
    set, DN_ESCHEMA if the file's user_version exceeds count, DN_EDB
    otherwise (logged).  On failure *db is NULL and nothing was changed.
    The connection knows two SQL functions of the zoned calendar
    (dn_time.h): dn_day(ms), the local date "YYYY-MM-DD" of a time, and
    dn_period(ms), its period "YYYY-MM".  */
int dn_db_open(const char *path, int flags, const dn_migration_t *list, size_t count,
               sqlite3 **db);

/*  Opens path for reading only, on a thread of its own: a file that a
    writer (dn_db_open) created and migrated, with a count of migrations
    this program knows.  Nothing is migrated and nothing written: PRAGMA
    query_only makes every write fail (SQLITE_READONLY), the connection
    has the busy timeout and dn_day / dn_period of dn_db_open.  In WAL
    mode a read transaction (BEGIN ... COMMIT) on it reads one snapshot
    while the writer commits beside it.  Returns 0 and *db (caller closes
    with sqlite3_close), DN_ENOENT if the file is missing, DN_ESCHEMA if
    its user_version is not count (logged: a writer has not migrated it
    yet, or a newer program has), DN_EDB otherwise.  */
int dn_db_open_reader(const char *path, size_t count, sqlite3 **db);

/*  Removes a database file and its -wal and -shm companions, for a
    creator that failed before the file held what it must.  The file must
    not be open.  */
void dn_db_remove(const char *path);

/*  Returns the schema version (PRAGMA user_version), or DN_EDB.  */
int dn_db_version(sqlite3 *db);

/*  A full disk: SQLite says SQLITE_FULL when a write finds no room
    (ENOSPC, or max_page_count), and an I/O error with errno ENOSPC when
    the room ran out in a sync.  The server must tell it apart from any
    other DN_EDB -- a shop's sync and HQ's command then say "server disk
    full", which HQ can act on, instead of "database error".  Every failure
    reported by the functions of this module (and by dn_db_note) records,
    per thread, whether it was a full disk.  */

/*  Records whether the failure of the last call on db was a full disk
    (for callers that step statements themselves).  */
void dn_db_note(sqlite3 *db);

/*  1 if a failure recorded on this thread since dn_db_full_clear() was a
    full disk, else 0.  */
int dn_db_full(void);

/*  Forgets what dn_db_full() says: call before the operation in
    question.  */
void dn_db_full_clear(void);

/*  Runs SQL without results.  Returns 0 or DN_EDB (logged).  */
int dn_db_exec(sqlite3 *db, const char *sql);

/*  BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Return 0 or DN_EDB.  Rollback is
    safe to call when no transaction is open.  */
int dn_db_begin(sqlite3 *db);
int dn_db_commit(sqlite3 *db);
void dn_db_rollback(sqlite3 *db);

/*  Steps a statement that writes inside the caller's open transaction, to
    its end (the caller resets it).  SQLite rolls the whole transaction
    back by itself on some errors (out of memory, I/O, disk full), even
    those of a SELECT; a write after that would commit on its own, outside
    the transaction the caller will roll back.  So this refuses to step
    when no transaction is open.  Returns 0 or DN_EDB (logged).  */
int dn_db_step_txn(sqlite3 *db, sqlite3_stmt *stmt);

/*  Steps a prepared statement that returns no rows to its end, then
    finalizes it.  Returns 0 or DN_EDB (logged).  */
int dn_db_run(sqlite3 *db, sqlite3_stmt *stmt);

/*  An error path inside a transaction: finalizes stmt (NULL is fine),
    rolls the transaction back and returns rc.  */
int dn_db_abort(sqlite3 *db, sqlite3_stmt *stmt, int rc);

/*  Steps a statement of a row loop.  Returns 1 with a row, 0 at the end
    of the rows (SQLITE_DONE), and DN_EDB (logged with what) for anything
    else -- an I/O error, an integer overflow in sum(), a busy or
    interrupted read -- which the caller must return as an error, never
    take for the end of a shorter result:

        while ((rc = dn_db_row(stmt, "statement")) == 1) { ... }
        if (rc < 0) ... fail

    Does not reset the statement.  */
int dn_db_row(sqlite3_stmt *stmt, const char *what);

/*  Steps a one-row lookup once and finalizes it: *out is the integer in
    column 0 of its row.  Returns 1 (a row), 0 (none) or DN_EDB (logged, as
    dn_db_row).  */
int dn_db_int_row(sqlite3_stmt *stmt, const char *what, int64_t *out);

/*  Copies text column col of the current row into buf (cut to size; ""
    for NULL).  SQLite returns NULL text also when it runs out of memory
    converting a value, and that must not read as an empty value: returns
    0, or DN_ENOMEM then.  */
int dn_db_column_copy(sqlite3_stmt *stmt, int col, char *buf, size_t size);

/*  Prepares a statement; returns 0 or DN_EDB (logged with the SQL).  */
int dn_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt);

/*  Settings in a program's `meta(key TEXT PRIMARY KEY, value TEXT)` table.
    get copies the value into value[0..size) or returns DN_ENOENT; set
    inserts or replaces.  Both return 0 or DN_EDB (get: the read failed).  */
int dn_db_meta_get(sqlite3 *db, const char *key, char *value, size_t size);
int dn_db_meta_set(sqlite3 *db, const char *key, const char *value);

/*  A cache of prepared statements for one connection, keyed by the address
    of the SQL text: hot paths prepare each statement once per process.  */
typedef struct _dn_db_cache_t dn_db_cache_t;

/*  Returns a new cache for db (borrowed; must outlive the cache), or NULL.
    Caller destroys, before closing db.  */
dn_db_cache_t *dn_db_cache_new(sqlite3 *db);

/*  Finalizes the cached statements; accepts NULL, sets *self_p to NULL.  */
void dn_db_cache_destroy(dn_db_cache_t **self_p);

/*  Sets *stmt to a prepared statement for sql, reset and with its bindings
    cleared.  sql must be a string literal (or live as long as the cache).
    Borrowed: reset it after use, never finalize it.  Returns 0 or DN_EDB
    (logged).  */
int dn_db_cached(dn_db_cache_t *self, const char *sql, sqlite3_stmt **stmt);

/*  Runs "PRAGMA integrity_check".  Returns 0 if the result is "ok", DN_EDB
    otherwise.  */
int dn_db_integrity_check(sqlite3 *db);

#endif

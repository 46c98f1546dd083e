/*  test_db -- unit tests for dn_db, the one way SQLite files are opened.

    The promise under test is that a file's schema is exactly the list of
    migrations that PRAGMA user_version says ran: a fresh file gets them all,
    in order; a reopened file gets none again; a longer list adds only the
    new tail; a migration that fails leaves no trace of itself; and a file
    from a newer program is refused rather than misread.  Each migration of
    the test list appends its own number to a "log" table, so the order and
    the number of times each one ran can be read back as one string.  The
    pragmas that make an acknowledged write survive a power cut (WAL,
    synchronous=FULL) are read back from the open handle, and the statement
    cache is shown to hand back one reset statement per SQL address, and
    the meta settings to read back what was written.  A full disk is told
    apart only for the failure it caused, not for later ones on the same
    connection (SQLite keeps the last OS errno).  Every
    test works in its own mkdtemp folder, removed at the end.
*/
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_testkit.h"

/*  The test schema: each entry logs its own number, so "1,2,3" proves that
    three migrations ran once each, in order.  */
static const dn_migration_t s_list[] = {
    {.sql = "CREATE TABLE log (n INTEGER NOT NULL);"
     "INSERT INTO log VALUES (1);"},
    {.sql = "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
     "CREATE TABLE child (pid INTEGER NOT NULL REFERENCES parent(id));"
     "INSERT INTO log VALUES (2);"},
    {.sql = "INSERT INTO log VALUES (3);"},
    {.sql = "CREATE TABLE later (x TEXT);"
     "INSERT INTO log VALUES (4);"},
    /* fails half-way: its first two statements must be rolled back */
    {.sql = "CREATE TABLE partial (x);"
     "INSERT INTO log VALUES (5);"
     "CREATE TABL oops (y);"},
};

typedef struct {
    char dir[64];
    char path[128];
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_db.XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/t.db", fx->dir);
    *state = fx;
    return 0;
}

/*  Removes the folder with every file in it (the db, its -wal and -shm).  */
static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    int rc = dn_tk_remove_tree(fx->dir);
    free(fx);
    return rc;
}

/*  Returns the first column of the first row of sql as text, copied into
    buf ("" for no row, "NULL" for a NULL).  */
static const char *s_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
    sqlite3_stmt *stmt;
    buf[0] = '\0';
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(stmt, 0);
        snprintf(buf, size, "%s", t ? (const char *)t : "NULL");
    }
    sqlite3_finalize(stmt);
    return buf;
}

static int64_t s_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t v = -999;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/*  The migrations' log, in insertion order: "1,2,3".  */
static const char *s_log(sqlite3 *db, char *buf, size_t size)
{
    return s_text(db,
                  "SELECT group_concat(n, ',') FROM (SELECT n FROM log ORDER BY rowid)",
                  buf, size);
}

/*  Names of the user tables, sorted: "child,log,parent".  */
static const char *s_tables(sqlite3 *db, char *buf, size_t size)
{
    return s_text(db,
                  "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master "
                  "WHERE type = 'table' ORDER BY name)",
                  buf, size);
}

/*  Reads user_version with a plain connection that applies nothing.  */
static int s_raw_version(const char *path)
{
    sqlite3 *db;
    int v;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    v = (int)s_int(db, "PRAGMA user_version");
    sqlite3_close(db);
    return v;
}

static void test_fresh_file_gets_all_in_order(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = (sqlite3 *)1; /* must be overwritten */
    char buf[256];

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 3, &db), 0);
    assert_non_null(db);
    assert_int_equal(dn_db_version(db), 3);
    assert_string_equal(s_log(db, buf, sizeof buf), "1,2,3");
    assert_string_equal(s_tables(db, buf, sizeof buf), "child,log,parent");
    sqlite3_close(db);
    assert_int_equal(s_raw_version(fx->path), 3);
}

static void test_reopen_applies_nothing(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db;
    char buf[256];

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 3, &db), 0);
    sqlite3_close(db);
    /* with and without DN_DB_CREATE: an existing file is simply opened */
    assert_int_equal(dn_db_open(fx->path, 0, s_list, 3, &db), 0);
    assert_int_equal(dn_db_version(db), 3);
    assert_string_equal(s_log(db, buf, sizeof buf), "1,2,3");
    sqlite3_close(db);
    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 3, &db), 0);
    assert_string_equal(s_log(db, buf, sizeof buf), "1,2,3");
    assert_int_equal(s_int(db, "SELECT count(*) FROM log"), 3);
    sqlite3_close(db);
}

static void test_appended_migration_applies_alone(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db;
    char buf[256];

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 2, &db), 0);
    assert_int_equal(dn_db_version(db), 2);
    assert_string_equal(s_log(db, buf, sizeof buf), "1,2");
    sqlite3_close(db);

    assert_int_equal(dn_db_open(fx->path, 0, s_list, 4, &db), 0);
    assert_int_equal(dn_db_version(db), 4);
    assert_string_equal(s_log(db, buf, sizeof buf), "1,2,3,4");
    assert_string_equal(s_tables(db, buf, sizeof buf), "child,later,log,parent");
    sqlite3_close(db);
    assert_int_equal(s_raw_version(fx->path), 4);
}

static void test_failing_migration_rolls_back(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db;
    char buf[256];

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 4, &db), 0);
    sqlite3_close(db);

    db = (sqlite3 *)1;
    assert_int_equal(dn_db_open(fx->path, 0, s_list, 5, &db), DN_EDB);
    assert_null(db);
    assert_int_equal(s_raw_version(fx->path), 4);

    /* no table "partial", no log row 5: the whole migration is gone */
    assert_int_equal(dn_db_open(fx->path, 0, s_list, 4, &db), 0);
    assert_int_equal(dn_db_version(db), 4);
    assert_string_equal(s_log(db, buf, sizeof buf), "1,2,3,4");
    assert_string_equal(s_tables(db, buf, sizeof buf), "child,later,log,parent");
    assert_int_equal(
        s_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'partial'"), 0);
    sqlite3_close(db);

    /* trying again fails the same way and still changes nothing */
    assert_int_equal(dn_db_open(fx->path, 0, s_list, 5, &db), DN_EDB);
    assert_null(db);
    assert_int_equal(s_raw_version(fx->path), 4);
}

static void test_failing_first_migration_on_fresh_file(void **state)
{
    fixture_t *fx = *state;
    static const dn_migration_t bad[] = {{.sql = "CREATE TABLE ok (x); SELEKT 1;"}};
    sqlite3 *db = (sqlite3 *)1;

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, bad, 1, &db), DN_EDB);
    assert_null(db);
    /* "nothing was changed": the file it created is gone again */
    assert_int_equal(access(fx->path, F_OK), -1);
}

/*  A migration's apply step runs after its SQL, in its transaction: it
    sees what the SQL wrote, and when it fails the whole migration, SQL
    included, is rolled back and user_version stays.  */
static int s_apply_ok(sqlite3 *db)
{
    return dn_db_exec(db, "INSERT INTO log SELECT max(n) * 10 FROM log");
}

static int s_apply_fails(sqlite3 *db)
{
    (void)db;
    return DN_EDB;
}

static void test_migration_apply_step(void **state)
{
    fixture_t *fx = *state;
    static const dn_migration_t steps[] = {
        {.sql = "CREATE TABLE log (n INTEGER NOT NULL); INSERT INTO log VALUES (1);",
         .apply = s_apply_ok},
        {.sql = "INSERT INTO log VALUES (2);", .apply = s_apply_fails},
        {.apply = s_apply_ok},
    };
    sqlite3 *db;
    char buf[256];

    /* 1 then its step's 1 x 10 */
    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, steps, 1, &db), 0);
    assert_string_equal(s_log(db, buf, sizeof buf), "1,10");
    sqlite3_close(db);
    /* the second migration's 2 is rolled back with its failed step */
    assert_int_equal(dn_db_open(fx->path, 0, steps, 2, &db), DN_EDB);
    assert_int_equal(s_raw_version(fx->path), 1);
    assert_int_equal(dn_db_open(fx->path, 0, steps, 1, &db), 0);
    assert_string_equal(s_log(db, buf, sizeof buf), "1,10");
    sqlite3_close(db);
    /* a step alone (no SQL): 10 x 10 */
    assert_int_equal(dn_db_open(fx->path, 0, (const dn_migration_t[]){steps[0], steps[2]}, 2,
                                &db),
                     0);
    assert_string_equal(s_log(db, buf, sizeof buf), "1,10,100");
    sqlite3_close(db);
    assert_int_equal(s_raw_version(fx->path), 2);
}

static void test_newer_file_refused(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db;
    char buf[256];

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 4, &db), 0);
    sqlite3_close(db);

    db = (sqlite3 *)1;
    assert_int_equal(dn_db_open(fx->path, 0, s_list, 3, &db), DN_ESCHEMA);
    assert_null(db);
    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 0, &db), DN_ESCHEMA);
    assert_null(db);
    assert_int_equal(s_raw_version(fx->path), 4);

    /* the file is intact for the program that wrote it */
    assert_int_equal(dn_db_open(fx->path, 0, s_list, 4, &db), 0);
    assert_string_equal(s_log(db, buf, sizeof buf), "1,2,3,4");
    sqlite3_close(db);
}

static void test_missing_file(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = (sqlite3 *)1;
    struct stat st;

    assert_int_equal(dn_db_open(fx->path, 0, s_list, 3, &db), DN_ENOENT);
    assert_null(db);
    assert_int_equal(stat(fx->path, &st), -1); /* not created */

    /* a missing folder with DN_DB_CREATE cannot be created: a database error */
    char deeper[256];
    snprintf(deeper, sizeof deeper, "%s/no/such/dir/t.db", fx->dir);
    db = (sqlite3 *)1;
    assert_int_equal(dn_db_open(deeper, DN_DB_CREATE, s_list, 3, &db), DN_EDB);
    assert_null(db);
}

static void test_not_a_database(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db = (sqlite3 *)1;
    FILE *f = fopen(fx->path, "wb");
    char junk[4096];

    assert_non_null(f);
    memset(junk, 'x', sizeof junk);
    assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(dn_db_open(fx->path, 0, s_list, 3, &db), DN_EDB);
    assert_null(db);
}

static void test_pragmas_in_force(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db;
    char buf[64];

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 3, &db), 0);
    assert_string_equal(s_text(db, "PRAGMA journal_mode", buf, sizeof buf), "wal");
    assert_int_equal(s_int(db, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(s_int(db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(s_int(db, "PRAGMA busy_timeout"), DN_DB_BUSY_TIMEOUT_MS);
    assert_int_equal(DN_DB_BUSY_TIMEOUT_MS, 5000);
    /* foreign keys are enforced, not just switched on */
    assert_int_equal(dn_db_exec(db, "INSERT INTO child VALUES (42)"), DN_EDB);
    assert_int_equal(s_int(db, "SELECT count(*) FROM child"), 0);
    assert_int_equal(dn_db_exec(db, "INSERT INTO parent VALUES (42);"
                                    "INSERT INTO child VALUES (42)"),
                     0);
    assert_int_equal(s_int(db, "SELECT count(*) FROM child"), 1);
    sqlite3_close(db);

    /* the WAL mode is persistent: a plain connection sees it too */
    sqlite3 *raw;
    assert_int_equal(sqlite3_open_v2(fx->path, &raw, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_string_equal(s_text(raw, "PRAGMA journal_mode", buf, sizeof buf), "wal");
    sqlite3_close(raw);
}

static void test_transactions(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db;

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 3, &db), 0);
    dn_db_rollback(db); /* no transaction open: harmless */
    assert_int_equal(sqlite3_get_autocommit(db), 1);

    assert_int_equal(dn_db_begin(db), 0);
    assert_int_equal(sqlite3_get_autocommit(db), 0);
    assert_int_equal(dn_db_exec(db, "INSERT INTO log VALUES (10)"), 0);
    dn_db_rollback(db);
    assert_int_equal(sqlite3_get_autocommit(db), 1);
    assert_int_equal(s_int(db, "SELECT count(*) FROM log WHERE n = 10"), 0);

    assert_int_equal(dn_db_begin(db), 0);
    assert_int_equal(dn_db_exec(db, "INSERT INTO log VALUES (11)"), 0);
    assert_int_equal(dn_db_commit(db), 0);
    assert_int_equal(s_int(db, "SELECT count(*) FROM log WHERE n = 11"), 1);

    assert_int_equal(dn_db_commit(db), DN_EDB); /* nothing to commit */
    assert_int_equal(dn_db_exec(db, "NOT SQL"), DN_EDB);
    sqlite3_stmt *stmt = (sqlite3_stmt *)1;
    assert_int_equal(dn_db_prepare(db, "SELECT nope FROM log", &stmt), DN_EDB);
    assert_null(stmt);
    assert_int_equal(dn_db_prepare(db, "SELECT max(n) FROM log", &stmt), 0);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 11);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static void test_integrity_check(void **state)
{
    fixture_t *fx = *state;
    sqlite3 *db;

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 4, &db), 0);
    assert_int_equal(dn_db_exec(db, "CREATE INDEX later_x ON later(x);"
                                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                                    "SELECT i + 1 FROM n WHERE i < 100) "
                                    "INSERT INTO later SELECT 'value-' || i FROM n"),
                     0);
    assert_int_equal(dn_db_integrity_check(db), 0);
    int64_t page_size = s_int(db, "PRAGMA page_size");
    int64_t root = s_int(db, "SELECT rootpage FROM sqlite_master WHERE name = 'later_x'");
    assert_true(root > 1);
    sqlite3_close(db); /* the last close checkpoints the WAL into the file */

    /* overwrite the end of the index's only page, where its keys live:
       the index no longer matches the table */
    FILE *f = fopen(fx->path, "r+b");
    char junk[512];
    assert_non_null(f);
    memset(junk, 'Z', sizeof junk);
    assert_int_equal(fseek(f, (long)(root * page_size - (int64_t)sizeof junk), SEEK_SET),
                     0);
    assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    assert_int_equal(fclose(f), 0);

    assert_int_equal(dn_db_open(fx->path, 0, s_list, 4, &db), 0);
    assert_int_equal(dn_db_integrity_check(db), DN_EDB);
    sqlite3_close(db);
}

/*  The statement cache hands out one prepared statement per SQL address,
    reset and with its bindings cleared each time.  */
static void test_statement_cache(void **state)
{
    fixture_t *fx = *state;
    static const char count_sql[] = "SELECT count(*) FROM log WHERE n >= ?";
    static const char insert_sql[] = "INSERT INTO log VALUES (?)";
    char same_text[sizeof count_sql];
    sqlite3 *db;
    sqlite3_stmt *a = NULL, *b = NULL, *c = NULL, *bad = (sqlite3_stmt *)1;

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, s_list, 3, &db), 0);
    dn_db_cache_t *cache = dn_db_cache_new(db);
    assert_non_null(cache);

    assert_int_equal(dn_db_cached(cache, count_sql, &a), 0);
    assert_non_null(a);
    sqlite3_bind_int(a, 1, 2);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(a, 0), 2); /* log holds 1, 2, 3 */
    /* left mid-step on purpose: the cache resets it */

    assert_int_equal(dn_db_cached(cache, count_sql, &b), 0);
    assert_ptr_equal(a, b);
    /* the binding was cleared: n >= NULL matches nothing */
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(b, 0), 0);
    sqlite3_reset(b);

    /* the key is the address, not the text */
    memcpy(same_text, count_sql, sizeof count_sql);
    assert_int_equal(dn_db_cached(cache, same_text, &c), 0);
    assert_true(c != a);

    /* a statement that changes rows, used twice */
    sqlite3_stmt *ins = NULL;
    for (int n = 20; n <= 21; n++) {
        assert_int_equal(dn_db_cached(cache, insert_sql, &ins), 0);
        sqlite3_bind_int(ins, 1, n);
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
    }
    assert_int_equal(dn_db_cached(cache, count_sql, &a), 0);
    sqlite3_bind_int(a, 1, 20);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(a, 0), 2);
    sqlite3_reset(a);

    /* bad SQL is refused every time and never cached */
    static const char bad_sql[] = "SELECT nope FROM log";
    assert_int_equal(dn_db_cached(cache, bad_sql, &bad), DN_EDB);
    assert_null(bad);
    bad = (sqlite3_stmt *)1;
    assert_int_equal(dn_db_cached(cache, bad_sql, &bad), DN_EDB);
    assert_null(bad);

    dn_db_cache_destroy(&cache);
    assert_null(cache);
    dn_db_cache_destroy(&cache);
    dn_db_cache_destroy(NULL);
    /* every statement was finalized: the connection closes cleanly */
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/*  Settings in a meta table: absent, set, replaced, cut to the buffer,
    rolled back with their transaction.  */
static void test_meta(void **state)
{
    fixture_t *fx = *state;
    static const dn_migration_t with_meta[] = {
        {.sql = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"},
    };
    sqlite3 *db;
    char value[16];

    assert_int_equal(dn_db_open(fx->path, DN_DB_CREATE, with_meta, 1, &db), 0);
    strcpy(value, "untouched");
    assert_int_equal(dn_db_meta_get(db, "site", value, sizeof value), DN_ENOENT);
    assert_string_equal(value, "untouched");

    assert_int_equal(dn_db_meta_set(db, "site", "SHOP-01"), 0);
    assert_int_equal(dn_db_meta_get(db, "site", value, sizeof value), 0);
    assert_string_equal(value, "SHOP-01");
    assert_int_equal(dn_db_meta_set(db, "site", "SHOP-02"), 0);
    assert_int_equal(dn_db_meta_get(db, "site", value, sizeof value), 0);
    assert_string_equal(value, "SHOP-02");
    assert_int_equal(s_int(db, "SELECT count(*) FROM meta"), 1);
    assert_int_equal(dn_db_meta_get(db, "Site", value, sizeof value), DN_ENOENT);

    /* a value longer than the buffer is cut and terminated */
    assert_int_equal(dn_db_meta_set(db, "endpoint", "tcp://central.example:7001"), 0);
    assert_int_equal(dn_db_meta_get(db, "endpoint", value, sizeof value), 0);
    assert_string_equal(value, "tcp://central.e");
    assert_int_equal(dn_db_meta_set(db, "empty", ""), 0);
    assert_int_equal(dn_db_meta_get(db, "empty", value, sizeof value), 0);
    assert_string_equal(value, "");

    /* inside a transaction that is rolled back: gone */
    assert_int_equal(dn_db_begin(db), 0);
    assert_int_equal(dn_db_meta_set(db, "last_sync_ms", "1700000000000"), 0);
    assert_int_equal(dn_db_meta_get(db, "last_sync_ms", value, sizeof value), 0);
    assert_string_equal(value, "1700000000000");
    dn_db_rollback(db);
    assert_int_equal(dn_db_meta_get(db, "last_sync_ms", value, sizeof value), DN_ENOENT);
    sqlite3_close(db);

    /* a database without a meta table */
    char other[160];
    snprintf(other, sizeof other, "%s/other.db", fx->dir);
    assert_int_equal(dn_db_open(other, DN_DB_CREATE, s_list, 1, &db), 0);
    assert_int_equal(dn_db_meta_get(db, "site", value, sizeof value), DN_EDB);
    assert_int_equal(dn_db_meta_set(db, "site", "SHOP-01"), DN_EDB);
    sqlite3_close(db);
}

/*  A VFS like the default one, but whose "last OS error" is ENOSPC: what
    SQLite keeps (sqlite3_system_errno) after a failed open or an I/O error
    on a disk that was full.  */
static int s_enospc_last_error(sqlite3_vfs *vfs, int size, char *buf)
{
    (void)vfs;
    (void)size;
    (void)buf;
    return ENOSPC;
}

/*  A full disk is told apart (dn_db_full) only for the failure it caused:
    SQLite keeps the errno of its last I/O error or failed open for as long
    as the connection lives, so a constraint error long after an ENOSPC must
    not read as "server disk full" (which makes every agent stop syncing).  */
static void test_full_is_not_stale(void **state)
{
    fixture_t *fx = *state;
    sqlite3_vfs shim = *sqlite3_vfs_find(NULL);
    sqlite3 *db;
    char sql[256];

    shim.zName = "dn-test-enospc";
    shim.pNext = NULL;
    shim.xGetLastError = s_enospc_last_error;
    assert_int_equal(sqlite3_vfs_register(&shim, 0), SQLITE_OK);
    assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     "dn-test-enospc"),
                     SQLITE_OK);
    assert_int_equal(dn_db_exec(db, "CREATE TABLE t (x INTEGER NOT NULL)"), 0);

    /* an open that fails with ENOSPC (no room for a new file): a full disk */
    snprintf(sql, sizeof sql, "ATTACH '%s/no-such-folder/x.db' AS x", fx->dir);
    dn_db_full_clear();
    assert_int_equal(dn_db_exec(db, sql), DN_EDB);
    assert_int_equal(sqlite3_extended_errcode(db) & 0xff, SQLITE_CANTOPEN);
    assert_int_equal(sqlite3_system_errno(db), ENOSPC);
    assert_int_equal(dn_db_full(), 1);

    /* later, a NOT NULL constraint fails: SQLite still says ENOSPC, but
       this failure is not the disk's */
    dn_db_full_clear();
    assert_int_equal(dn_db_exec(db, "INSERT INTO t VALUES (NULL)"), DN_EDB);
    assert_int_equal(sqlite3_extended_errcode(db), SQLITE_CONSTRAINT_NOTNULL);
    assert_int_equal(sqlite3_system_errno(db), ENOSPC);
    assert_int_equal(dn_db_full(), 0);

    sqlite3_close(db);
    sqlite3_vfs_unregister(&shim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_file_gets_all_in_order, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_applies_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_appended_migration_applies_alone, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_failing_migration_rolls_back, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_failing_first_migration_on_fresh_file,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_migration_apply_step, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_newer_file_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pragmas_in_force, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_transactions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_integrity_check, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_statement_cache, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_meta, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_full_is_not_stale, s_setup, s_teardown),
    };
    dn_log_init("test_db", DN_LOG_QUIET, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

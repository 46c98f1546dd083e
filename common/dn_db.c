/*  dn_db -- SQLite open helper and migrations (see dn_db.h).  */
#include "dn_db.h"
#include "dn_error.h"
#include "dn_fsperm.h"
#include "dn_i18n.h"
#include "dn_log.h"
#include "dn_time.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*  SQLite's failures repeat at the pace of whoever asks (a full disk fails
    every agent's every retry): at most DN_LOG_LIMIT_PER_MINUTE lines a
    minute, the rest counted.  */
static dn_log_limit_t s_errors = {"database errors", 0, 0, 0, NULL};

/*  Whether a failure on this thread since the last clear was a full disk
    (dn_db.h): per thread, as the server's readers run on their own.  */
static _Thread_local int s_full;

void dn_db_note(sqlite3 *db)
{
    /* sqlite3_system_errno is the errno of the connection's last I/O error
       or failed open, kept for as long as the connection lives: it speaks
       of this failure only when this failure is one of those.  Else an
       ENOSPC mended long ago would call every later busy or constraint
       error a full disk (and every agent would stop syncing).  */
    int primary = sqlite3_extended_errcode(db) & 0xff;
    if (primary == SQLITE_FULL ||
        ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) &&
         sqlite3_system_errno(db) == ENOSPC))
        s_full = 1;
}

int dn_db_full(void)
{
    return s_full;
}

void dn_db_full_clear(void)
{
    s_full = 0;
}

static int s_fail(sqlite3 *db, const char *what)
{
    dn_db_note(db);
    dn_log_error_limited(&s_errors, "sqlite: %s: %s", what, sqlite3_errmsg(db));
    return DN_EDB;
}

int dn_db_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        dn_db_note(db);
        dn_log_error_limited(&s_errors, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return DN_EDB;
    }
    return 0;
}

int dn_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt)
{
    if (sqlite3_prepare_v2(db, sql, -1, stmt, NULL) != SQLITE_OK) {
        dn_log_error("sqlite: prepare \"%.60s\": %s", sql, sqlite3_errmsg(db));
        return DN_EDB;
    }
    return 0;
}

int dn_db_step_txn(sqlite3 *db, sqlite3_stmt *stmt)
{
    if (sqlite3_get_autocommit(db)) {
        dn_log_error_limited(&s_errors,
                             "sqlite: the transaction was rolled back by an earlier error: "
                             "refusing to write outside it");
        return DN_EDB;
    }
    if (sqlite3_step(stmt) != SQLITE_DONE)
        return s_fail(db, "write");
    return 0;
}

int dn_db_run(sqlite3 *db, sqlite3_stmt *stmt)
{
    int step = sqlite3_step(stmt);
    if (step != SQLITE_DONE)
        dn_db_note(db);
    sqlite3_finalize(stmt);
    if (step != SQLITE_DONE) {
        dn_log_error("sqlite: %s", sqlite3_errmsg(db));
        return DN_EDB;
    }
    return 0;
}

int dn_db_abort(sqlite3 *db, sqlite3_stmt *stmt, int rc)
{
    sqlite3_finalize(stmt);
    dn_db_rollback(db);
    return rc;
}

int dn_db_row(sqlite3_stmt *stmt, const char *what)
{
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        return 1;
    if (step == SQLITE_DONE)
        return 0;
    dn_db_note(sqlite3_db_handle(stmt));
    dn_log_error_limited(&s_errors, "sqlite: %s: %s", what,
                         sqlite3_errmsg(sqlite3_db_handle(stmt)));
    return DN_EDB;
}

int dn_db_int_row(sqlite3_stmt *stmt, const char *what, int64_t *out)
{
    int rc = dn_db_row(stmt, what);
    if (rc == 1)
        *out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return rc;
}

int dn_db_column_copy(sqlite3_stmt *stmt, int col, char *buf, size_t size)
{
    int null = sqlite3_column_type(stmt, col) == SQLITE_NULL; /* before any conversion */
    const unsigned char *text = sqlite3_column_text(stmt, col);
    if (!text && !null) {
        if (size)
            buf[0] = '\0';
        return DN_ENOMEM;
    }
    snprintf(buf, size, "%s", text ? (const char *)text : "");
    return 0;
}

int dn_db_begin(sqlite3 *db)
{
    return dn_db_exec(db, "BEGIN IMMEDIATE");
}

int dn_db_commit(sqlite3 *db)
{
    return dn_db_exec(db, "COMMIT");
}

void dn_db_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int dn_db_version(sqlite3 *db)
{
    sqlite3_stmt *stmt;
    int version = DN_EDB;
    if (dn_db_prepare(db, "PRAGMA user_version", &stmt))
        return DN_EDB;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return version;
}

int dn_db_integrity_check(sqlite3 *db)
{
    sqlite3_stmt *stmt;
    int rc = DN_EDB;
    if (dn_db_prepare(db, "PRAGMA integrity_check", &stmt))
        return DN_EDB;
    if (sqlite3_step(stmt) == SQLITE_ROW &&
        strcmp((const char *)sqlite3_column_text(stmt, 0), "ok") == 0)
        rc = 0;
    sqlite3_finalize(stmt);
    return rc;
}

static int s_migrate(sqlite3 *db, const dn_migration_t *list, size_t count)
{
    int version = dn_db_version(db);
    if (version < 0)
        return version;
    if ((size_t)version > count) {
        dn_log_error(_("database schema version %d is newer than this program's %zu"),
                     version, count);
        return DN_ESCHEMA;
    }
    for (size_t i = (size_t)version; i < count; i++) {
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %zu", i + 1);
        if (dn_db_begin(db))
            return DN_EDB;
        if ((list[i].sql && dn_db_exec(db, list[i].sql)) ||
            (list[i].apply && list[i].apply(db)) || dn_db_exec(db, pragma) ||
            dn_db_commit(db)) {
            dn_db_rollback(db);
            return DN_EDB;
        }
    }
    return 0;
}

void dn_db_remove(const char *path)
{
    char side[4200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/*  Creates an empty database file with its final mode, before SQLite
    opens it.  SQLite would make it 0644 (SQLITE_DEFAULT_FILE_PERMISSIONS),
    and it gives the -wal and -shm files the mode of the main file, so this
    one mode is what all three get: 0600, or 0660 in a shared folder
    (dn_fsperm).  fchmod, because the umask can only take bits away.
    Returns 1 (made), 0 (it existed) or DN_EDB (logged).  */
static int s_precreate(const char *path)
{
    mode_t mode = dn_fsperm_new_mode(path, 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0;
        dn_log_error("sqlite: open %s: %s", path, strerror(errno));
        return DN_EDB;
    }
    if (fchmod(fd, mode) != 0) {
        dn_log_error("sqlite: set the mode of %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return DN_EDB;
    }
    close(fd);
    return 1;
}

/*  SQL's calendar is dn_time's (SQLite's strftime knows only UTC and
    the host's zone): dn_day(ms) is the local date "YYYY-MM-DD" of a time,
    dn_period(ms) its period "YYYY-MM" (dn_time_period_of); NULL for NULL.  */
static void s_sql_calendar(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    char text[DN_DATE_SIZE];
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    int64_t ms = sqlite3_value_int64(argv[0]);
    if (sqlite3_user_data(ctx))
        dn_time_period_of(ms, text);
    else
        dn_time_format_day(dn_time_day(ms), text);
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

/*  What every connection of dn_db gets: extended result codes, the busy
    timeout and the calendar's SQL functions.  0 or DN_EDB.  */
static int s_connection(sqlite3 *db)
{
    static int period = 1;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, DN_DB_BUSY_TIMEOUT_MS);
    if (sqlite3_create_function(db, "dn_day", 1, SQLITE_UTF8, NULL, s_sql_calendar, NULL,
                                NULL) != SQLITE_OK ||
        sqlite3_create_function(db, "dn_period", 1, SQLITE_UTF8, &period, s_sql_calendar, NULL,
                                NULL) != SQLITE_OK)
        return DN_EDB;
    return 0;
}

int dn_db_open_reader(const char *path, size_t count, sqlite3 **db_p)
{
    sqlite3 *db = NULL;
    int rc, version;

    *db_p = NULL;
    /* read-write, as a WAL reader must be able to take its part of the
       -shm index; query_only keeps it from ever writing */
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int missing = rc == SQLITE_CANTOPEN;
        if (!missing)
            dn_log_error("sqlite: open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return missing ? DN_ENOENT : DN_EDB;
    }
    rc = s_connection(db);
    if (rc == 0)
        rc = dn_db_exec(db, "PRAGMA query_only = 1");
    if (rc == 0 && (version = dn_db_version(db)) < 0)
        rc = version;
    else if (rc == 0 && (size_t)version != count) {
        dn_log_error("sqlite: %s is at schema version %d, this program reads %zu", path,
                     version, count);
        rc = DN_ESCHEMA;
    }
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *db_p = db;
    return 0;
}

int dn_db_open(const char *path, int flags, const dn_migration_t *list, size_t count,
               sqlite3 **db_p)
{
    sqlite3 *db = NULL;
    int open_flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int rc, created = 0;

    *db_p = NULL;
    if (flags & DN_DB_CREATE) {
        open_flags |= SQLITE_OPEN_CREATE;
        if ((rc = s_precreate(path)) < 0)
            return rc;
        created = rc;
    }
    rc = sqlite3_open_v2(path, &db, open_flags, NULL);
    if (rc != SQLITE_OK) {
        int missing = rc == SQLITE_CANTOPEN && !(flags & DN_DB_CREATE);
        if (!missing)
            dn_log_error("sqlite: open %s: %s", path,
                         db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        if (created)
            dn_db_remove(path); /* SQLite may have made the file before failing */
        return missing ? DN_ENOENT : DN_EDB;
    }
    if (s_connection(db) != 0) {
        sqlite3_close(db);
        if (created)
            dn_db_remove(path);
        return DN_EDB;
    }
    /* journal_mode answers with a row; check it took.  */
    sqlite3_stmt *stmt;
    rc = dn_db_prepare(db, "PRAGMA journal_mode = WAL", &stmt);
    if (rc == 0) {
        if (sqlite3_step(stmt) != SQLITE_ROW ||
            strcmp((const char *)sqlite3_column_text(stmt, 0), "wal") != 0)
            rc = s_fail(db, "cannot switch to WAL journal");
        sqlite3_finalize(stmt);
    }
    if (rc == 0)
        rc = dn_db_exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
    if (rc == 0)
        rc = s_migrate(db, list, count);
    if (rc) {
        sqlite3_close(db);
        if (created)
            dn_db_remove(path); /* "nothing was changed": not even a new empty file */
        return rc;
    }
    *db_p = db;
    return 0;
}

int dn_db_meta_get(sqlite3 *db, const char *key, char *value, size_t size)
{
    sqlite3_stmt *stmt;
    int rc = DN_ENOENT, step;
    if (dn_db_prepare(db, "SELECT value FROM meta WHERE key = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(stmt, 0);
        rc = text ? 0 : s_fail(db, "read setting"); /* NULL: out of memory */
        if (text)
            snprintf(value, size, "%s", (const char *)text);
    } else if (step != SQLITE_DONE) {
        rc = s_fail(db, "read setting");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int dn_db_meta_set(sqlite3 *db, const char *key, const char *value)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : DN_EDB;
    sqlite3_finalize(stmt);
    return rc;
}

#define DN_DB_CACHE_SIZE 48 /* distinct hot-path statements of one program */

struct _dn_db_cache_t {
    sqlite3 *db;
    struct {
        const char *sql; /* the key, by address */
        sqlite3_stmt *stmt;
    } slot[DN_DB_CACHE_SIZE];
};

dn_db_cache_t *dn_db_cache_new(sqlite3 *db)
{
    dn_db_cache_t *self = calloc(1, sizeof *self);
    if (self)
        self->db = db;
    return self;
}

void dn_db_cache_destroy(dn_db_cache_t **self_p)
{
    if (self_p && *self_p) {
        for (int i = 0; i < DN_DB_CACHE_SIZE; i++)
            sqlite3_finalize((*self_p)->slot[i].stmt);
        free(*self_p);
        *self_p = NULL;
    }
}

int dn_db_cached(dn_db_cache_t *self, const char *sql, sqlite3_stmt **stmt)
{
    int i;
    for (i = 0; i < DN_DB_CACHE_SIZE && self->slot[i].sql; i++) {
        if (self->slot[i].sql == sql) {
            *stmt = self->slot[i].stmt;
            sqlite3_reset(*stmt);
            sqlite3_clear_bindings(*stmt);
            return 0;
        }
    }
    assert(i < DN_DB_CACHE_SIZE); /* more statements than slots: raise the size */
    if (sqlite3_prepare_v3(self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) !=
        SQLITE_OK) {
        dn_log_error("sqlite: prepare \"%.60s\": %s", sql, sqlite3_errmsg(self->db));
        return DN_EDB;
    }
    self->slot[i].sql = sql;
    self->slot[i].stmt = *stmt;
    return 0;
}

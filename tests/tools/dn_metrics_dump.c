/*  dn_metrics_dump -- the Prometheus text of a central.db, for
    tests/cli/metrics_promtool.sh.

    Opens DB read-only, as a web thread opens its own connection (the
    server may be running: WAL lets a reader in), and prints
    dn_metrics_render's text from inside one read transaction, as /metrics
    serves it.  The gauges are the database's; the counters are this
    process's, all 0 (the server's own move in its process: test_session
    and test_metrics check them), so the text has every family and every
    label the server's has.

        usage: dn_metrics_dump DB
        exit: 0 the text printed; 64 usage; 66 DB cannot be opened;
        70 the render failed (one line on stderr).
*/
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_metrics.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    sqlite3 *db = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc;

    dn_log_init("dn_metrics_dump", DN_LOG_WARN, 0);
    if (argc != 2) {
        fprintf(stderr, "usage: dn_metrics_dump DB\n");
        return 64;
    }
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "dn_metrics_dump: cannot open %s: %s\n", argv[1],
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return 66;
    }
    sqlite3_busy_timeout(db, DN_DB_BUSY_TIMEOUT_MS);
    rc = dn_db_exec(db, "BEGIN");
    if (rc == 0)
        rc = dn_metrics_render(db, &text, &len);
    dn_db_exec(db, "COMMIT");
    sqlite3_close(db);
    if (rc) {
        fprintf(stderr, "dn_metrics_dump: %s\n", dn_strerror(rc));
        return 70;
    }
    fwrite(text, 1, len, stdout);
    free(text);
    return fflush(stdout) == 0 ? 0 : 70;
}

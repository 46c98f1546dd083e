/*  dn_test_sql -- one value read with SQL, as the cmocka tests check a
    figure in central.db or agent.db: each read asserts it ran and found
    its row.  Header-only, for test programs; include it after cmocka.h.
    (Tests written before it keep their own copies, s_int.)
*/
#ifndef DN_TEST_SQL_H
#define DN_TEST_SQL_H

#include <sqlite3.h>
#include <stdint.h>

/*  The integer in the first column of sql's first row; the test fails
    when sql does not prepare or returns no row.  */
static inline int64_t dn_test_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    int64_t v;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

#endif

/*  dn_test_central -- the cmocka fixture the server's unit tests share: a
    fresh central.db in a throwaway folder, removed with everything in it
    (the WAL files too) when the test ends.  Header-only, for test programs.
*/
#ifndef DN_TEST_CENTRAL_H
#define DN_TEST_CENTRAL_H

#include "dn_central.h"
#include "dn_db.h"
#include "dn_testkit.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    char dir[64];
    sqlite3 *db;
} dn_test_central_t;

/*  cmocka setup: *state becomes a new dn_test_central_t.  */
static inline int dn_test_central_setup(void **state)
{
    dn_test_central_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dn_test.XXXXXX");
    if (!mkdtemp(fx->dir) || dn_central_open(fx->dir, DN_DB_CREATE, &fx->db) != 0) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

/*  cmocka teardown: closes the database and removes the folder.  */
static inline int dn_test_central_teardown(void **state)
{
    dn_test_central_t *fx = *state;
    int rc = 0;
    if (fx->db && sqlite3_close(fx->db) != SQLITE_OK)
        rc = -1;
    if (dn_tk_remove_tree(fx->dir) != 0)
        rc = -1;
    free(fx);
    return rc;
}

#endif

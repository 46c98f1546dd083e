/*  dn_test_site -- a simulated site of the test kit (tests/lib/dn_testkit.h)
    as the cmocka tests use it: each step asserts it succeeded and, when it did not,
    prints the kit's reason first.  Header-only, for test programs; the
    kit itself stays free of cmocka for the benchmarks and the fuzzers.
*/
#ifndef DN_TEST_SITE_H
#define DN_TEST_SITE_H

#include "dn_testkit.h"

#include <stdint.h>

/*  site add code --partner partner at now, then the agent's enrollment
    at now + 1 s with a fresh Ed25519 key and the CURVE key of
    dn_tk_curve(curve_fill).  Returns the site, its row in ->reg; the
    caller destroys it.  */
static inline dn_tk_site_t *dn_test_site_enroll(sqlite3 *db, const char *code,
                                                const char *partner, uint8_t curve_fill,
                                                int64_t now)
{
    dn_tk_site_t *site = dn_tk_site_new(code, NULL);
    uint8_t curve[DN_CURVE_KEY_BYTES];
    char why[256] = "";
    int rc;

    assert_non_null(site);
    dn_tk_curve(curve, curve_fill);
    rc = dn_tk_enroll(db, code, partner, curve, site->key, now, now + 1000, &site->reg,
                      why, sizeof why);
    if (rc)
        print_error("enroll %s: %s\n", code, why);
    assert_int_equal(rc, 0);
    return site;
}

/*  dn_tk_record: ev becomes the site's next event, recorded at `at`; its
    id is copied into id_out when not NULL.  */
static inline void dn_test_site_record(dn_tk_site_t *site, Dealernet__Event *ev,
                                       int64_t at, uint8_t *id_out)
{
    char why[DN_WHY_SIZE] = "";
    int rc = dn_tk_record(site, ev, at, id_out, why, sizeof why);
    if (rc)
        print_error("record at %s: %s\n", site->code, why);
    assert_int_equal(rc, 0);
}

#endif

/*  dn_test_site -- a simulated site of the test kit (tests/lib/dn_testkit.h)
    as the cmocka tests use it: each step asserts it succeeded and, when it did not,
    prints the kit's reason first.  Header-only, for test programs; the
    kit itself stays free of cmocka for the benchmarks and the fuzzers.
*/
#ifndef DN_TEST_SITE_H
#define DN_TEST_SITE_H

#include "dn_ingest.h"
#include "dn_plan.h"
#include "dn_registry.h"
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

/*  The network test_facts and test_metrics work on: partners HQ (hq) >
    R1 (region) > D1, D2 (dealers), and the plan 800/300 bps (cap 1500)
    from 2026-01-01 in CNY.  */
static inline void dn_test_site_network(sqlite3 *db)
{
    static const char plan_text[] = "[plan]\neffective = 2026-01-01\ncurrency = CNY\n"
                                    "cap_bps = 1500\n[levels]\n0 = 800\n1 = 300\n";
    dn_plan_t plan;
    char why[256] = "";
    assert_int_equal(dn_registry_partner_add(db, "HQ", "HQ", "hq", NULL, 0, why, sizeof why),
                     0);
    assert_int_equal(
        dn_registry_partner_add(db, "R1", "R1", "region", "HQ", 0, why, sizeof why), 0);
    assert_int_equal(
        dn_registry_partner_add(db, "D1", "D1", "dealer", "R1", 0, why, sizeof why), 0);
    assert_int_equal(
        dn_registry_partner_add(db, "D2", "D2", "dealer", "R1", 0, why, sizeof why), 0);
    assert_int_equal(dn_plan_set(db, plan_text, 0, &plan, why, sizeof why), 0);
}

/*  A sale of 10.00 (one line: X, 1 x 10.00) by seller in currency,
    recorded by site at `at`; its id into id_out when not NULL.  */
static inline void dn_test_site_sale(dn_tk_site_t *site, int64_t at, const char *seller,
                                     const char *currency, uint8_t *id_out)
{
    static const dn_tk_line_t line[] = {{"X", 1, 1000, NULL}};
    dn_tk_event_t e;
    assert_int_equal(
        dn_tk_sale(&e, seller, DEALERNET__CHANNEL__CHANNEL_STORE, NULL, line, 1), 0);
    e.sale.currency = (char *)currency;
    dn_test_site_record(site, &e.ev, at, id_out);
}

/*  Everything site has pending, as one batch received at `at` and applied
    through ingest on db: it must be accepted.  */
static inline void dn_test_site_sync(sqlite3 *db, dn_ingest_t *ingest, dn_tk_site_t *site,
                                     int64_t at)
{
    dn_tk_batch_t batch;
    dn_ingest_result_t r;
    assert_int_equal(dn_tk_batch(site, &batch), 0);
    int rc = dn_tk_ingest(db, ingest, &site->reg, &batch, at, &r);
    if (rc)
        print_error("refused: %s\n", r.why);
    assert_int_equal(rc, 0);
    dn_tk_batch_free(&batch);
}

#endif

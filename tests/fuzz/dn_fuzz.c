/*  dn_fuzz -- the fuzz targets' central.db with one enrolled site (see
    dn_fuzz.h).

    The schema and every row go through the server's own modules
    (dn_central, dn_registry, dn_plan), so the world is what `dealernet-hq`
    would have made.  It is built on a file because dn_central opens files,
    then copied with the backup API into an in-memory database: the fuzzer
    rolls every input back, and nothing of it ever reaches a disk or
    outlives the process, even when libFuzzer stops it with _exit.
*/
#include "dn_fuzz.h"
#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_plan.h"
#include "dn_testkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*  The site's signing key: 32 fixed bytes, for tests only.  */
static const uint8_t s_seed[32] = {'d', 'e', 'a', 'l', 'e', 'r', 'n', 'e', 't', '-', 'f',
                                   'u', 'z', 'z', '-', 's', 'i', 't', 'e', '-', 'k', 'e',
                                   'y', '-', 'S', 'H', 'O', 'P', '-', '0', '1', '!'};

static const char s_plan[] = "[plan]\n"
                             "effective = 2026-01-01\n"
                             "currency = CNY\n"
                             "cap_bps = 1500\n"
                             "[levels]\n"
                             "0 = 800\n"
                             "1 = 300\n"
                             "2 = 100\n"
                             "[category:rice]\n"
                             "0 = 500\n"
                             "1 = 200\n"
                             "[referral]\n"
                             "first_purchase_bonus = 5.00\n"
                             "purchase_bps = 100\n"
                             "purchase_days = 365\n"
                             "recruit_override_bps = 50\n"
                             "recruit_override_days = 365\n";

dn_key_t *dn_fuzz_key(void)
{
    return dn_key_from_seed(s_seed);
}

int dn_fuzz_sign(const dn_key_t *key, uint64_t last_seq,
                 const uint8_t head[DN_HASH_BYTES], uint8_t sig[DN_SIG_BYTES])
{
    return dn_tk_sign(DN_FUZZ_SITE, key, last_seq, head, sig);
}

static int s_fail(const char *what, const char *why)
{
    fprintf(stderr, "dn_fuzz: %s: %s\n", what, why);
    return -1;
}

/*  Fills the file database: tree, plan, site, enrollment.  */
static int s_fill(sqlite3 *db, const dn_key_t *key)
{
    static const struct {
        const char *code, *kind, *parent, *recruiter;
    } partners[] = {
        {"HQ", "hq", NULL, NULL},           {"R1", "region", "HQ", NULL},
        {"DI1", "distributor", "R1", NULL}, {"DE1", "dealer", "DI1", NULL},
        {"RS1", "reseller", "DE1", NULL},   {"RS2", "reseller", "DE1", "RS1"}};
    char why[256] = "";
    uint8_t curve[DN_CURVE_KEY_BYTES];
    dn_registry_site_t site;
    dn_plan_t plan;

    for (size_t i = 0; i < sizeof partners / sizeof partners[0]; i++)
        if (dn_registry_partner_add_recruited(db, partners[i].code, partners[i].code,
                                              partners[i].kind, partners[i].parent,
                                              partners[i].recruiter, DN_FUZZ_SETUP_MS,
                                              DN_FUZZ_SETUP_MS, why, sizeof why))
            return s_fail("partner add", why);
    if (dn_plan_set(db, s_plan, DN_FUZZ_SETUP_MS, &plan, why, sizeof why))
        return s_fail("plan set", why);
    dn_tk_curve(curve, 0x40);
    if (dn_tk_enroll(db, DN_FUZZ_SITE, "RS1", curve, key, DN_FUZZ_SETUP_MS,
                     DN_FUZZ_SETUP_MS + 1000, &site, why, sizeof why))
        return s_fail("site add and enroll", why);
    return 0;
}

/*  Removes dir/central.db, its WAL companions and dir.  */
static void s_remove(const char *dir)
{
    static const char *const files[] = {"central.db", "central.db-wal", "central.db-shm"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int dn_fuzz_world_open(dn_fuzz_world_t *world)
{
    char dir[256];
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    sqlite3 *file = NULL;
    sqlite3_backup *backup;
    int rc = -1;

    memset(world, 0, sizeof *world);
    snprintf(dir, sizeof dir, "%s/dn-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return s_fail("mkdtemp", dir);
    world->key = dn_fuzz_key();
    if (!world->key)
        s_fail("key", "cannot make the site key");
    else if (dn_central_open(dir, DN_DB_CREATE, &file))
        s_fail("central.db", "cannot create");
    else if (s_fill(file, world->key) == 0) {
        if (sqlite3_open(":memory:", &world->db) != SQLITE_OK)
            s_fail("sqlite", "cannot open an in-memory database");
        else if (!(backup = sqlite3_backup_init(world->db, "main", file, "main")))
            s_fail("sqlite backup", sqlite3_errmsg(world->db));
        else if (sqlite3_backup_step(backup, -1) != SQLITE_DONE ||
                 sqlite3_backup_finish(backup) != SQLITE_OK)
            s_fail("sqlite backup", sqlite3_errmsg(world->db));
        else
            rc = 0;
    }
    sqlite3_close(file);
    s_remove(dir);
    if (rc == 0) {
        /* what dn_db_open sets on every connection */
        sqlite3_extended_result_codes(world->db, 1);
        if (dn_db_exec(world->db, "PRAGMA foreign_keys = ON") ||
            dn_registry_site_get(world->db, DN_FUZZ_SITE, &world->site) ||
            !world->site.enrolled || !(world->ingest = dn_ingest_new(world->db)))
            rc = s_fail("world", "the copied database does not hold the site");
    }
    if (rc)
        dn_fuzz_world_close(world);
    return rc;
}

void dn_fuzz_world_close(dn_fuzz_world_t *world)
{
    dn_ingest_destroy(&world->ingest);
    if (world->db)
        sqlite3_close(world->db);
    world->db = NULL;
    dn_key_destroy(&world->key);
}

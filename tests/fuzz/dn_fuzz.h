/*  dn_fuzz -- the world the fuzz targets and their corpus generator share.

    A central.db held in memory with a small partner tree (HQ > R1 > DI1 >
    DE1 > RS1, and RS2 under DE1 recruited by RS1), one plan in CNY with
    level, category, referral and recruit-override rates, and one enrolled
    site, SHOP-01 of RS1, whose Ed25519 key comes from a fixed seed.  The
    fixed key lets the committed seed corpus carry real signatures and lets
    the fuzzer sign mutated batches with the very key the site enrolled.
    Fixed times (the plan starts 2026-01-01, the server's clock stands at
    2026-03-01) make every run of an input do the same thing.
*/
#ifndef DN_FUZZ_H
#define DN_FUZZ_H

#include "dn_crypto.h"
#include "dn_ingest.h"
#include "dn_registry.h"

#include <sqlite3.h>
#include <stdint.h>

#define DN_FUZZ_SITE     "SHOP-01"
#define DN_FUZZ_SETUP_MS INT64_C(1765789200000) /* 2025-12-15T09:00Z */
#define DN_FUZZ_PLAN_MS  INT64_C(1767225600000) /* 2026-01-01T00:00Z */
#define DN_FUZZ_NOW_MS   INT64_C(1772323200000) /* 2026-03-01T00:00Z */

typedef struct {
    sqlite3 *db;             /* central.db, in memory */
    dn_ingest_t *ingest;     /* on db */
    dn_registry_site_t site; /* SHOP-01, enrolled */
    dn_key_t *key;           /* the site's signing key */
} dn_fuzz_world_t;

/*  Builds the world: creates central.db in a throwaway folder (on /dev/shm
    when there is one), fills it, copies it into an in-memory database and
    removes the folder.  Returns 0, or -1 with one line on stderr.  */
int dn_fuzz_world_open(dn_fuzz_world_t *world);

/*  Frees what dn_fuzz_world_open made.  */
void dn_fuzz_world_close(dn_fuzz_world_t *world);

/*  Returns the site's key, made from its fixed seed, or NULL.  Caller
    destroys.  */
dn_key_t *dn_fuzz_key(void);

/*  Signs a batch ending at last_seq with chain head head as site SHOP-01
    does: sig receives DN_SIG_BYTES.  Returns 0 or DN_ECRYPTO.  */
int dn_fuzz_sign(const dn_key_t *key, uint64_t last_seq,
                 const uint8_t head[DN_HASH_BYTES], uint8_t sig[DN_SIG_BYTES]);

#endif

/*  dn_registry -- who is who: partners, sites, HQ admin keys, enrollment
    tokens, and the member conflicts HQ must look at.

    Owns the SQL of the partners, partner_links, admins, sites (identity
    columns) and tokens tables, and reads members / member_conflicts for
    listings.  The ZAP handler asks it who a CURVE key belongs to; the
    sync socket asks it to enroll a site; the admin socket's commands
    (dn_admin) manage the rest.
*/
#ifndef DN_REGISTRY_H
#define DN_REGISTRY_H

#include "dn_curve.h"
#include "dn_valid.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define DN_TOKEN_TTL_MS   (72LL * 3600 * 1000) /* an enrollment token lives 72 h */
#define DN_TOKEN_TEXT_LEN 32                   /* hex of 16 random bytes */

typedef enum {
    DN_PEER_UNKNOWN = 0, /* no such key: may only enroll */
    DN_PEER_SITE,        /* an enrolled, non-revoked site */
    DN_PEER_ADMIN,       /* an HQ administrator */
    DN_PEER_REVOKED      /* the key of a revoked site */
} dn_peer_t;

/*  Classifies a client's CURVE public key and copies the site code or admin
    name into name (empty for an unknown key).  Returns 0 or DN_EDB.  */
int dn_registry_peer(sqlite3 *db, const uint8_t key[DN_CURVE_KEY_BYTES], dn_peer_t *kind,
                     char name[DN_MAX_CODE_LEN + 1]);

/*  A site as sync needs it.  */
typedef struct {
    int64_t id;
    char code[DN_MAX_CODE_LEN + 1];
    char partner[DN_MAX_CODE_LEN + 1];
    int enrolled;
    int revoked;
    uint8_t sign_key[32]; /* the site's Ed25519 public key, when enrolled */
} dn_registry_site_t;

/*  0 and *site for a site code, or DN_ENOENT, DN_EDB.  */
int dn_registry_site_get(sqlite3 *db, const char *code, dn_registry_site_t *site);

/*  Enrolls a site, in its own transaction: the token (as typed) must hash
    to a stored, unused, unexpired token of that very site; the site must
    not be revoked or enrolled already; the CURVE key must not belong to
    another site or admin.  Binds curve_key and sign_key to the site, marks
    the token used, and fills *site.  Returns 0; DN_ENOENT (no such token),
    DN_EEXIST (token already used, or the site already enrolled),
    DN_ETIMEDOUT (token expired), DN_EPERM (token for another site, or
    site revoked), DN_EDUP (key in use), DN_EDB; why holds one line.
    Nothing is written on error.  */
int dn_registry_enroll(sqlite3 *db, const char *token, const char *site_code,
                       const uint8_t curve_key[DN_CURVE_KEY_BYTES],
                       const uint8_t sign_key[32], int64_t now_ms,
                       dn_registry_site_t *site, char *why, size_t why_size);

/*  Registers an HQ administrator's CURVE public key under a name.
    Returns 0, DN_EEXIST, DN_EDB.  */
int dn_registry_admin_add(sqlite3 *db, const uint8_t key[DN_CURVE_KEY_BYTES],
                          const char *name, int64_t now_ms);

#endif

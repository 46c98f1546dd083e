/*  dn_registry -- partners, sites, admin keys and enrollment tokens in
    central.db (see dn_registry.h).

    Every write that checks before it writes runs inside BEGIN IMMEDIATE, so
    two admins (or an admin and an enrolling agent) cannot both pass a check
    and then both write.  Enrollment tokens never touch the disk as text: the
    table holds their SHA-256 and a lookup hashes what the agent typed.
*/
#include "dn_registry.h"
#include "dn_array.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_id.h"
#include "dn_log.h"
#include "dn_time.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DN_TOKEN_BYTES (DN_TOKEN_TEXT_LEN / 2)

/*  Runs a prepared one-row lookup with one text parameter; returns the
    integer of column 0 in *out.  Returns 1 (found), 0 (no row) or DN_EDB.  */
static int s_lookup_id(sqlite3 *db, const char *sql, const char *text, int64_t *out)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(db, sql, &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
    return dn_db_int_row(stmt, "registry lookup", out);
}

static void s_copy_code(char dest[DN_MAX_CODE_LEN + 1], const unsigned char *text)
{
    snprintf(dest, DN_MAX_CODE_LEN + 1, "%s", text ? (const char *)text : "");
}

/* -- who is who ------------------------------------------------------------ */

/*  Looks a CURVE key up with sql, which selects (a code, an integer) for
    parameter 1, the key: copies the code into name and the integer into
    *value.  Returns 1 (found), 0 (no row) or DN_EDB.  */
static int s_key_row(sqlite3 *db, const char *sql, const uint8_t key[DN_CURVE_KEY_BYTES],
                     char name[DN_MAX_CODE_LEN + 1], int64_t *value)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db, sql, &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, key, DN_CURVE_KEY_BYTES, SQLITE_STATIC);
    rc = dn_db_row(stmt, "registry: key");
    if (rc == 1) {
        s_copy_code(name, sqlite3_column_text(stmt, 0));
        *value = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    return rc < 0 ? DN_EDB : rc;
}

int dn_registry_peer(sqlite3 *db, const uint8_t key[DN_CURVE_KEY_BYTES], dn_peer_t *kind,
                     char name[DN_MAX_CODE_LEN + 1])
{
    int64_t revoked;
    int rc;

    *kind = DN_PEER_UNKNOWN;
    name[0] = '\0';
    rc = s_key_row(db, "SELECT name, 0 FROM admins WHERE curve_key = ?", key, name, &revoked);
    if (rc == 1)
        *kind = DN_PEER_ADMIN;
    if (rc == 0) {
        rc = s_key_row(db,
                       "SELECT code, revoked_ms IS NOT NULL FROM sites "
                       "WHERE curve_key = ? AND enrolled_ms IS NOT NULL",
                       key, name, &revoked);
        if (rc == 1)
            *kind = revoked ? DN_PEER_REVOKED : DN_PEER_SITE;
    }
    if (rc == 0) { /* a key its site was enrolled with before `site token` moved it */
        rc = s_key_row(db,
                       "SELECT s.code, k.revoked FROM site_keys k "
                       "JOIN sites s ON s.id = k.site_id WHERE k.curve_key = ?",
                       key, name, &revoked);
        if (rc == 1)
            *kind = revoked ? DN_PEER_REVOKED : DN_PEER_REPLACED;
    }
    return rc < 0 ? DN_EDB : 0;
}

int dn_registry_key_replaced(sqlite3 *db, const uint8_t key[DN_CURVE_KEY_BYTES],
                             char site[DN_MAX_CODE_LEN + 1], int64_t *retired_ms)
{
    int rc = s_key_row(db,
                       "SELECT s.code, k.retired_ms FROM site_keys k "
                       "JOIN sites s ON s.id = k.site_id WHERE k.curve_key = ?",
                       key, site, retired_ms);
    return rc == 1 ? 0 : rc == 0 ? DN_ENOENT : DN_EDB;
}

int dn_registry_sign_key_for(sqlite3 *db, int64_t site_id, int64_t seq,
                             uint8_t key[DN_PUBKEY_BYTES], int *has_key, int64_t *through)
{
    sqlite3_stmt *stmt;
    int rc;

    *has_key = 0;
    *through = INT64_MAX;
    /* the first key retired at or after seq signed it: keys retire in
       the order of their last seq (two retired at one seq: the earlier) */
    if (dn_db_prepare(db,
                      "SELECT sign_key, last_seq FROM site_keys WHERE site_id = ?1 "
                      "AND last_seq >= ?2 ORDER BY last_seq, retired_ms LIMIT 1",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, site_id);
    sqlite3_bind_int64(stmt, 2, seq);
    rc = dn_db_row(stmt, "registry: retired sign key");
    if (rc == 0) {
        sqlite3_finalize(stmt);
        if (dn_db_prepare(db, "SELECT sign_key FROM sites WHERE id = ?", &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, site_id);
        rc = dn_db_row(stmt, "registry: sign key");
    } else if (rc == 1) {
        *through = sqlite3_column_int64(stmt, 1);
    }
    if (rc == 1 && sqlite3_column_bytes(stmt, 0) == DN_PUBKEY_BYTES) {
        memcpy(key, sqlite3_column_blob(stmt, 0), DN_PUBKEY_BYTES);
        *has_key = 1;
    }
    sqlite3_finalize(stmt);
    return rc < 0 ? DN_EDB : 0;
}

int dn_registry_site_get(sqlite3 *db, const char *code, dn_registry_site_t *site)
{
    sqlite3_stmt *stmt;
    int rc;

    if (dn_db_prepare(db,
                      "SELECT s.id, s.code, p.code, s.enrolled_ms IS NOT NULL,"
                      "       s.revoked_ms IS NOT NULL, s.sign_key "
                      "FROM sites s JOIN partners p ON p.id = s.partner_id "
                      "WHERE s.code = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        memset(site, 0, sizeof *site);
        site->id = sqlite3_column_int64(stmt, 0);
        s_copy_code(site->code, sqlite3_column_text(stmt, 1));
        s_copy_code(site->partner, sqlite3_column_text(stmt, 2));
        site->enrolled = sqlite3_column_int(stmt, 3);
        site->revoked = sqlite3_column_int(stmt, 4);
        if (sqlite3_column_bytes(stmt, 5) == (int)sizeof site->sign_key)
            memcpy(site->sign_key, sqlite3_column_blob(stmt, 5), sizeof site->sign_key);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? DN_ENOENT : DN_EDB;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/*  Sets *in_use to 1 if key belongs to an admin, to a site other than
    site_id (0 to check against every site), or was a site's before it
    moved to another PC.  0 or DN_EDB.  */
static int s_key_in_use(sqlite3 *db, const uint8_t key[DN_CURVE_KEY_BYTES],
                        int64_t site_id, int *in_use)
{
    sqlite3_stmt *stmt;
    int64_t uses;
    if (dn_db_prepare(
            db,
            "SELECT (SELECT count(*) FROM admins WHERE curve_key = ?1) +"
            "       (SELECT count(*) FROM sites WHERE curve_key = ?1 AND id != ?2) +"
            "       (SELECT count(*) FROM site_keys WHERE curve_key = ?1)",
            &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, key, DN_CURVE_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, site_id);
    if (dn_db_int_row(stmt, "registry: key in use", &uses) != 1)
        return DN_EDB;
    *in_use = uses > 0;
    return 0;
}

int dn_registry_site_agent_partner(sqlite3 *db, int64_t site_id, const char *partner)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(db, "UPDATE sites SET agent_partner = ? WHERE id = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, partner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, site_id);
    return dn_db_run(db, stmt);
}

/*  Moves the site's current keys, if it has any, to site_keys (revoked:
    it was revoked), with the applied seq they signed up to, inside the
    caller's transaction: from now on the CURVE key is refused as the key
    of a PC replaced (or revoked), and verify checks its batches with its
    sign key.  Reads the sync column applied_seq (dn_ingest's), which
    cannot move meanwhile: ingest and enrollment share the server's one
    writer.  0 or DN_EDB.  */
static int s_retire_keys(sqlite3 *db, int64_t site_id, int revoked, int64_t now_ms)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(db,
                      "INSERT INTO site_keys(curve_key, site_id, sign_key, enrolled_ms,"
                      "  retired_ms, last_seq, revoked) "
                      "SELECT curve_key, id, sign_key, enrolled_ms, ?2, applied_seq, ?3 "
                      "FROM sites WHERE id = ?1 AND curve_key IS NOT NULL",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, site_id);
    sqlite3_bind_int64(stmt, 2, now_ms);
    sqlite3_bind_int(stmt, 3, revoked);
    return dn_db_run(db, stmt);
}

/* -- enrollment ------------------------------------------------------------ */

/*  A stored token as enrollment reads it.  */
typedef struct {
    int64_t site_id;
    char site[DN_MAX_CODE_LEN + 1];   /* the site it was issued for */
    int64_t expires_ms, used_ms;      /* used_ms 0: unused */
    int revoked, enrolled;            /* the site's state */
    int held;                         /* a key holds it (holder, held_ms) */
    uint8_t holder[DN_CURVE_KEY_BYTES];
    int64_t held_ms;                  /* when the holder first presented it */
    char address[64];                 /* the holder's address, "" if not known */
    int raced;                        /* HQ was told another key presented it */
    int rebind;                       /* issued by `site token`: may move an
                                         enrolled site to a new PC */
} s_token_t;

/*  Reads the token hashing to hash.  Returns 1 (found), 0 (none), DN_EDB.  */
static int s_token_get(sqlite3 *db, const uint8_t hash[DN_HASH_BYTES], s_token_t *tok)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db,
                      "SELECT t.site_id, s.code, t.expires_ms, ifnull(t.used_ms, 0),"
                      "       s.revoked_ms IS NOT NULL, s.enrolled_ms IS NOT NULL,"
                      "       t.holder_key, ifnull(t.held_ms, 0),"
                      "       ifnull(t.holder_address, ''), t.raced_ms IS NOT NULL,"
                      "       t.rebind "
                      "FROM tokens t JOIN sites s ON s.id = t.site_id WHERE t.hash = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, hash, DN_HASH_BYTES, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        memset(tok, 0, sizeof *tok);
        tok->site_id = sqlite3_column_int64(stmt, 0);
        s_copy_code(tok->site, sqlite3_column_text(stmt, 1));
        tok->expires_ms = sqlite3_column_int64(stmt, 2);
        tok->used_ms = sqlite3_column_int64(stmt, 3);
        tok->revoked = sqlite3_column_int(stmt, 4);
        tok->enrolled = sqlite3_column_int(stmt, 5);
        tok->held = sqlite3_column_bytes(stmt, 6) == DN_CURVE_KEY_BYTES;
        if (tok->held)
            memcpy(tok->holder, sqlite3_column_blob(stmt, 6), DN_CURVE_KEY_BYTES);
        tok->held_ms = sqlite3_column_int64(stmt, 7);
        snprintf(tok->address, sizeof tok->address, "%s",
                 (const char *)sqlite3_column_text(stmt, 8));
        tok->raced = sqlite3_column_int(stmt, 9);
        tok->rebind = sqlite3_column_int(stmt, 10);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : DN_EDB;
}

/*  The first 8 Z85 characters of a CURVE key: enough for a person to tell
    two keys apart, too few to be any use to anyone else.  */
static void s_key_short(const uint8_t key[DN_CURVE_KEY_BYTES], char out[9])
{
    char z85[DN_Z85_KEY_SIZE];
    dn_curve_encode(key, z85);
    memcpy(out, z85, 8);
    out[8] = '\0';
}

/*  Commits the hold written so far and returns the refusal rc (or DN_EDB,
    everything rolled back, when the commit fails).  */
static int s_refuse_held(sqlite3 *db, int rc, char *why, size_t why_size)
{
    if (dn_db_commit(db))
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EDB,
                                  /* i18n: not for people: sync */ "database error"));
    return rc;
}

/*  Another key presents a token that tok's holder holds (rc DN_EAGAIN) or
    used (DN_EEXIST): the shop or the thief, whichever came second, learns
    who came first; the server's log names the site; HQ gets one token_raced
    exception per token.  Returns rc, or DN_EDB.  */
static int s_raced(sqlite3 *db, const uint8_t hash[DN_HASH_BYTES], const s_token_t *tok,
                   const uint8_t key[DN_CURVE_KEY_BYTES], const char *address,
                   dn_registry_raced_fn raced, int64_t now_ms, int rc, char *why,
                   size_t why_size)
{
    static dn_log_limit_t limit = {"possible stolen tokens", 0, 0, 0, NULL};
    char holder[9], presenter[9], at[DN_TIME_TEXT_SIZE], now[DN_TIME_TEXT_SIZE];
    char until[DN_TIME_TEXT_SIZE], from[80] = "", from_now[80] = "";
    char detail[DN_REGISTRY_RACED_DETAIL_SIZE];
    const char *what = rc == DN_EEXIST ? "used" : "held";
    sqlite3_stmt *stmt;

    s_key_short(tok->holder, holder);
    s_key_short(key, presenter);
    dn_time_format(rc == DN_EEXIST ? tok->used_ms : tok->held_ms, at);
    dn_time_format(now_ms, now);
    dn_time_format(tok->held_ms + DN_TOKEN_HOLD_MS, until);
    if (tok->address[0])
        snprintf(from, sizeof from, " from %s", tok->address);
    if (address && *address)
        snprintf(from_now, sizeof from_now, " from %s", address);
    dn_log_warn_limited(&limit,
                        "site %s: possible stolen token: its enrollment token, %s by key "
                        "%s%s at %s, was presented by key %s%s at %s: refused",
                        tok->site, what, holder, from, at, presenter, from_now, now);
    if (!tok->raced && raced) { /* noted once, where there is someone to note it */
        snprintf(detail, sizeof detail,
                 "possible stolen token: %s at %s by key %s%s; presented again at %s by "
                 "key %s%s",
                 what, at, holder, from, now, presenter, from_now);
        if (dn_db_prepare(db, "UPDATE tokens SET raced_ms = ? WHERE hash = ?", &stmt))
            return dn_db_abort(db, NULL,
                               dn_why(why, why_size, DN_EDB,
                                      /* i18n: not for people: sync */ "database error"));
        sqlite3_bind_int64(stmt, 1, now_ms);
        sqlite3_bind_blob(stmt, 2, hash, DN_HASH_BYTES, SQLITE_STATIC);
        if (dn_db_run(db, stmt) ||
            raced(db, tok->site_id, detail, now_ms))
            return dn_db_abort(db, NULL,
                               dn_why(why, why_size, DN_EDB,
                                      /* i18n: not for people: sync */ "database error"));
    }
    if (rc == DN_EEXIST)
        dn_why(why, why_size, rc,
               /* i18n: not for people: sync */
               "enrollment token already used at %s by key %s%s, not by this PC: tell "
               "headquarters (the token may have been stolen) and ask for a new one",
               at, holder, from);
    else
        dn_why(
            why, why_size, rc,
            /* i18n: not for people: sync */
            "enrollment token held until %s by key %s%s, which presented it at %s, not "
            "by this PC: tell headquarters (the token may have been stolen) and ask for "
            "a new one",
            until, holder, from, at);
    return s_refuse_held(db, rc, why, why_size);
}

int dn_registry_enroll_from(sqlite3 *db, const char *token, const char *site_code,
                            const uint8_t curve_key[DN_CURVE_KEY_BYTES],
                            const uint8_t sign_key[DN_PUBKEY_BYTES], const char *address,
                            dn_registry_raced_fn raced, int64_t now_ms,
                            dn_registry_site_t *site, char *why, size_t why_size)
{
    uint8_t hash[DN_HASH_BYTES];
    sqlite3_stmt *stmt = NULL;
    s_token_t tok;
    int in_use, mine, rc;

    if (dn_sha256(token, strlen(token), hash))
        return dn_why(
            why, why_size, DN_ECRYPTO,
            /* i18n: not for people: sync */ "cannot hash the enrollment token");
    if (dn_db_begin(db))
        return dn_why(
            why, why_size, DN_EDB,
            /* i18n: not for people: sync */ "database busy or failing; try again");

    rc = s_token_get(db, hash, &tok);
    if (rc == 0)
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_ENOENT,
                                  /* i18n: not for people: sync */
                                  "enrollment token not recognised: check it, or ask "
                                  "headquarters for a new one"));
    if (rc < 0)
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EDB,
                                  /* i18n: not for people: sync */ "database error"));
    mine = tok.held && memcmp(tok.holder, curve_key, DN_CURVE_KEY_BYTES) == 0;

    /* Used: by this very key (its answer was lost) it is no news; by
       another, someone else had the token.  */
    if (tok.used_ms && tok.held && !mine)
        return s_raced(db, hash, &tok, curve_key, address, raced, now_ms, DN_EEXIST, why,
                       why_size);
    if (tok.used_ms)
        return dn_db_abort(
            db, NULL,
            dn_why(why, why_size, DN_EEXIST,
                   /* i18n: not for people: sync */
                   "enrollment token was already used: ask headquarters for "
                   "a new one"));
    if (now_ms >= tok.expires_ms)
        return dn_db_abort(
            db, NULL,
            dn_why(why, why_size, DN_ETIMEDOUT,
                   /* i18n: not for people: sync */
                   "enrollment token expired: ask headquarters for a new one"));
    if (tok.held && !mine && now_ms < tok.held_ms + DN_TOKEN_HOLD_MS)
        return s_raced(db, hash, &tok, curve_key, address, raced, now_ms, DN_EAGAIN, why,
                       why_size);
    /* A key that is someone else's takes no hold.  */
    if (s_key_in_use(db, curve_key, 0, &in_use))
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EDB,
                                  /* i18n: not for people: sync */ "database error"));
    if (in_use)
        return dn_db_abort(
            db, NULL,
            dn_why(why, why_size, DN_EDUP,
                   /* i18n: not for people: sync */
                   "this agent's key is already in use: generate a new one"));

    /* The first key to present it holds it; once the hold is over, the
       next one (this key again, or another) starts a new hold.  */
    if (!tok.held || now_ms >= tok.held_ms + DN_TOKEN_HOLD_MS) {
        if (dn_db_prepare(db,
                          "UPDATE tokens SET holder_key = ?, held_ms = ?,"
                          " holder_address = ? WHERE hash = ?",
                          &stmt))
            return dn_db_abort(db, NULL,
                               dn_why(why, why_size, DN_EDB,
                                      /* i18n: not for people: sync */ "database error"));
        sqlite3_bind_blob(stmt, 1, curve_key, DN_CURVE_KEY_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, now_ms);
        if (address && *address)
            sqlite3_bind_text(stmt, 3, address, -1, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 4, hash, sizeof hash, SQLITE_STATIC);
        if (dn_db_run(db, stmt))
            return dn_db_abort(db, NULL,
                               dn_why(why, why_size, DN_EDB,
                                      /* i18n: not for people: sync */ "database error"));
    }
    if (strcmp(tok.site, site_code) != 0)
        return s_refuse_held(db,
                             dn_why(why, why_size, DN_EPERM,
                                    /* i18n: not for people: sync */
                                    "enrollment token is for another site than %s",
                                    site_code),
                             why, why_size);
    if (tok.revoked)
        return s_refuse_held(
            db,
            dn_why(why, why_size, DN_EPERM,
                   /* i18n: not for people: sync */ "site %s was revoked by headquarters",
                   site_code),
            why, why_size);
    if (tok.enrolled && !tok.rebind)
        return s_refuse_held(
            db,
            dn_why(why, why_size, DN_EEXIST,
                   /* i18n: not for people: sync */ "site %s is already enrolled",
                   site_code),
            why, why_size);
    /* A `site token` token moves the site to this PC: the old keys retire.  */
    if (tok.enrolled && s_retire_keys(db, tok.site_id, 0, now_ms))
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EDB,
                                  /* i18n: not for people: sync */ "database error"));

    if (dn_db_prepare(db,
                      "UPDATE sites SET curve_key = ?, sign_key = ?, enrolled_ms = ? "
                      "WHERE id = ?",
                      &stmt))
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EDB,
                                  /* i18n: not for people: sync */ "database error"));
    sqlite3_bind_blob(stmt, 1, curve_key, DN_CURVE_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, sign_key, DN_PUBKEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, now_ms);
    sqlite3_bind_int64(stmt, 4, tok.site_id);
    if (dn_db_run(db, stmt))
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EDB,
                                  /* i18n: not for people: sync */ "database error"));
    if (dn_db_prepare(db, "UPDATE tokens SET used_ms = ? WHERE hash = ?", &stmt))
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EDB,
                                  /* i18n: not for people: sync */ "database error"));
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_blob(stmt, 2, hash, sizeof hash, SQLITE_STATIC);
    if (dn_db_run(db, stmt))
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EDB,
                                  /* i18n: not for people: sync */ "database error"));
    if (dn_registry_site_get(db, site_code, site) || dn_db_commit(db))
        return dn_db_abort(db, NULL,
                           dn_why(why, why_size, DN_EDB,
                                  /* i18n: not for people: sync */ "database error"));
    return 0;
}

int dn_registry_enrolled_by(sqlite3 *db, const char *token, int64_t site_id)
{
    uint8_t hash[DN_HASH_BYTES];
    sqlite3_stmt *stmt;
    int64_t found = 0;
    int rc;

    if (dn_sha256(token, strlen(token), hash))
        return DN_ECRYPTO;
    /* used, and held by the key the site is enrolled with now: the token
       that bound it (a token's holder is the key that used it) */
    if (dn_db_prepare(db,
                      "SELECT count(*) FROM tokens t JOIN sites s ON s.id = t.site_id "
                      "WHERE t.hash = ?1 AND t.site_id = ?2 AND t.used_ms IS NOT NULL "
                      "AND s.enrolled_ms IS NOT NULL AND s.revoked_ms IS NULL "
                      "AND t.holder_key = s.curve_key",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, hash, DN_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, site_id);
    rc = dn_db_int_row(stmt, "registry: enrolled by", &found);
    if (rc != 1)
        return DN_EDB;
    return found ? 0 : DN_ENOENT;
}

int dn_registry_enroll(sqlite3 *db, const char *token, const char *site_code,
                       const uint8_t curve_key[DN_CURVE_KEY_BYTES],
                       const uint8_t sign_key[DN_PUBKEY_BYTES], int64_t now_ms,
                       dn_registry_site_t *site, char *why, size_t why_size)
{
    return dn_registry_enroll_from(db, token, site_code, curve_key, sign_key, NULL, NULL,
                                   now_ms, site, why, why_size);
}

int dn_registry_admin_add(sqlite3 *db, const uint8_t key[DN_CURVE_KEY_BYTES],
                          const char *name, int64_t now_ms)
{
    sqlite3_stmt *stmt = NULL;
    int64_t found;
    int in_use, rc;

    if (!name || !dn_valid_code(name))
        return DN_EINVAL;
    if (dn_db_begin(db))
        return DN_EDB;
    if (s_key_in_use(db, key, 0, &in_use))
        return dn_db_abort(db, NULL, DN_EDB);
    rc = s_lookup_id(db, "SELECT 1 FROM admins WHERE name = ?", name, &found);
    if (rc < 0)
        return dn_db_abort(db, NULL, DN_EDB);
    if (in_use || rc == 1)
        return dn_db_abort(db, NULL, DN_EEXIST);
    if (dn_db_prepare(db,
                      "INSERT INTO admins(curve_key, name, created_ms) VALUES (?, ?, ?)",
                      &stmt))
        return dn_db_abort(db, NULL, DN_EDB);
    sqlite3_bind_blob(stmt, 1, key, DN_CURVE_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, now_ms);
    if (dn_db_run(db, stmt) || dn_db_commit(db))
        return dn_db_abort(db, NULL, DN_EDB);
    return 0;
}

/* -- partners -------------------------------------------------------------- */

static int s_valid_kind(const char *kind)
{
    static const char *kinds[] = {"hq", "region", "distributor", "dealer", "reseller"};
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return 1;
    return 0;
}

int dn_registry_partner_add(sqlite3 *db, const char *code, const char *name,
                            const char *kind, const char *parent, int64_t now_ms,
                            char *why, size_t why_size)
{
    return dn_registry_partner_add_recruited(db, code, name, kind, parent, NULL, now_ms,
                                             now_ms, why, why_size);
}

int dn_registry_partner_add_recruited(sqlite3 *db, const char *code, const char *name,
                                      const char *kind, const char *parent,
                                      const char *recruiter, int64_t joined_ms,
                                      int64_t now_ms, char *why, size_t why_size)
{
    sqlite3_stmt *stmt = NULL;
    int64_t parent_id = 0, recruiter_id = 0, partner_id;
    char hidden[DN_HIDDEN_WHY_SIZE];
    int rc;

    if ((rc = dn_valid_code_check(DN_CODE_PARTNER, code, _("give the name with --name"), why,
                                  why_size)) != 0)
        return rc;
    if (dn_valid_hidden(name, hidden, sizeof hidden))
        return dn_why(why, why_size, DN_EINVAL, _("partner name %s"), hidden);
    if (!dn_valid_name_why(name, hidden, sizeof hidden))
        return dn_why(why, why_size, DN_EINVAL, _("partner name %s"), hidden);
    if (!s_valid_kind(kind))
        return dn_why(
            why, why_size, DN_EINVAL,
            _("partner kind '%.40s' is not one of hq, region, distributor, dealer, "
              "reseller"),
            kind ? kind : "");
    if (parent && !dn_valid_code(parent))
        return dn_why(why, why_size, DN_EINVAL, _("parent '%.40s' is not a partner code"),
                      parent);
    if (recruiter && !dn_valid_code(recruiter))
        return dn_why(why, why_size, DN_EINVAL,
                      _("recruiter '%.40s' is not a partner code"), recruiter);
    if (dn_db_begin(db))
        return dn_why(why, why_size, DN_EDB, _("database busy or failing; try again"));
    rc = s_lookup_id(db, "SELECT id FROM partners WHERE code = ?", code, &partner_id);
    if (rc == 1)
        return dn_db_abort(
            db, NULL,
            dn_why(why, why_size, DN_EEXIST, _("partner %s already exists"), code));
    if (rc == 0 && parent) {
        rc =
            s_lookup_id(db, "SELECT id FROM partners WHERE code = ?", parent, &parent_id);
        if (rc == 0)
            return dn_db_abort(
                db, NULL,
                dn_why(why, why_size, DN_ENOENT, _("partner %s does not exist"), parent));
        rc = rc == 1 ? 0 : rc;
    }
    if (rc == 0 && recruiter) {
        rc = s_lookup_id(db, "SELECT id FROM partners WHERE code = ?", recruiter,
                         &recruiter_id);
        if (rc == 0)
            return dn_db_abort(db, NULL,
                               dn_why(why, why_size, DN_ENOENT,
                                      _("recruiter %s is not a partner"), recruiter));
        rc = rc == 1 ? 0 : rc;
    }
    if (rc < 0)
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));

    if (dn_db_prepare(db,
                      "INSERT INTO partners(code, name, kind, created_ms, recruiter_id,"
                      "  joined_ms) VALUES (?, ?, ?, ?, ?, ?)",
                      &stmt))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, now_ms);
    if (recruiter)
        sqlite3_bind_int64(stmt, 5, recruiter_id);
    else
        sqlite3_bind_null(stmt, 5);
    sqlite3_bind_int64(stmt, 6, joined_ms);
    if (dn_db_run(db, stmt))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    partner_id = sqlite3_last_insert_rowid(db);
    if (dn_db_prepare(db,
                      "INSERT INTO partner_links(partner_id, parent_id, effective_ms) "
                      "VALUES (?, ?, 0)",
                      &stmt))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    sqlite3_bind_int64(stmt, 1, partner_id);
    if (parent)
        sqlite3_bind_int64(stmt, 2, parent_id);
    else
        sqlite3_bind_null(stmt, 2);
    if (dn_db_run(db, stmt) || dn_db_commit(db))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    return 0;
}

/* -- listings -------------------------------------------------------------- */

static json_t *s_text_or_null(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? json_string((const char *)text) : json_null();
}

static json_t *s_int_or_null(sqlite3_stmt *stmt, int col)
{
    return sqlite3_column_type(stmt, col) == SQLITE_NULL
               ? json_null()
               : json_integer((json_int_t)sqlite3_column_int64(stmt, col));
}

static json_t *s_time_or_null(sqlite3_stmt *stmt, int col)
{
    char text[DN_TIME_TEXT_SIZE];
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return json_null();
    dn_time_format(sqlite3_column_int64(stmt, col), text);
    return json_string(text);
}

static json_t *s_id_or_null(sqlite3_stmt *stmt, int col)
{
    char text[DN_ID_TEXT_SIZE];
    if (sqlite3_column_bytes(stmt, col) != DN_ID_BYTES)
        return json_null();
    dn_id_format(sqlite3_column_blob(stmt, col), text);
    return json_string(text);
}

/*  Appends a new object to list built from count (key, value) pairs where
    each value is a new reference (NULL counts as out of memory).  Takes
    the values in every case.  Returns 0 or DN_ENOMEM.  */
static int s_append_row(json_t *list, size_t count, const char *const *keys,
                        json_t **values)
{
    json_t *row = json_object();
    int rc = row ? 0 : DN_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        if (rc == 0 && (!values[i] || json_object_set_new(row, keys[i], values[i])))
            rc = DN_ENOMEM;
        else if (rc)
            json_decref(values[i]);
    }
    if (rc == 0 && json_array_append_new(list, row))
        rc = DN_ENOMEM;
    else if (rc)
        json_decref(row);
    return rc;
}

/*  Runs a listing query: for each row, fill(stmt, values) makes the values
    of keys[0..count).  Sets *list.  0, DN_EDB or DN_ENOMEM.  */
static int s_listing(sqlite3 *db, const char *sql, int64_t param, size_t count,
                     const char *const *keys, void (*fill)(sqlite3_stmt *, json_t **),
                     json_t **list)
{
    sqlite3_stmt *stmt;
    json_t *values[16];
    int rc = 0, step;

    *list = NULL;
    if (dn_db_prepare(db, sql, &stmt))
        return DN_EDB;
    if (sqlite3_bind_parameter_count(stmt) > 0)
        sqlite3_bind_int64(stmt, 1, param);
    *list = json_array();
    if (!*list)
        rc = DN_ENOMEM;
    while (rc == 0 && (step = dn_db_row(stmt, "registry: list")) == 1) {
        fill(stmt, values);
        rc = s_append_row(*list, count, keys, values);
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    if (rc) {
        json_decref(*list);
        *list = NULL;
    }
    return rc;
}

static void s_fill_partner(sqlite3_stmt *stmt, json_t **v)
{
    v[0] = s_text_or_null(stmt, 0);
    v[1] = s_text_or_null(stmt, 1);
    v[2] = s_text_or_null(stmt, 2);
    v[3] = s_text_or_null(stmt, 3);
    v[4] = s_text_or_null(stmt, 4);
    v[5] = s_text_or_null(stmt, 5);
    v[6] = s_time_or_null(stmt, 6);
    v[7] = s_time_or_null(stmt, 7);
}

int dn_registry_partner_list(sqlite3 *db, int64_t now_ms, json_t **list)
{
    static const char *const keys[] = {"code",      "name",   "kind",   "parent",
                                       "recruiter", "status", "joined", "created"};
    return s_listing(db,
                     "SELECT p.code, p.name, p.kind,"
                     "  (SELECT up.code FROM partner_links l"
                     "   LEFT JOIN partners up ON up.id = l.parent_id"
                     "   WHERE l.partner_id = p.id AND l.effective_ms <= ?1"
                     "   ORDER BY l.effective_ms DESC LIMIT 1),"
                     "  r.code,"
                     "  coalesce((SELECT s.status FROM partner_status s"
                     "   WHERE s.partner_id = p.id AND s.effective_ms <= ?1"
                     "   ORDER BY s.effective_ms DESC LIMIT 1), 'active'),"
                     "  coalesce(p.joined_ms, p.created_ms), p.created_ms "
                     "FROM partners p LEFT JOIN partners r ON r.id = p.recruiter_id "
                     "ORDER BY p.code",
                     now_ms, 8, keys, s_fill_partner, list);
}

/* -- sites ----------------------------------------------------------------- */

/*  A new enrollment token for site code (checked: DN_EINVAL): 16 random
    bytes as hex into token, its SHA-256 (what is stored) into hash, and
    when it expires.  0, or DN_CODE_ERROR / DN_ECRYPTO with why (token
    empty).  */
static int s_token_new(const char *code, int64_t now_ms, char token[DN_TOKEN_TEXT_LEN + 1],
                       uint8_t hash[DN_HASH_BYTES], int64_t *expires_ms, char *why,
                       size_t why_size)
{
    uint8_t raw[DN_TOKEN_BYTES];
    int rc;
    token[0] = '\0';
    if ((rc = dn_valid_code_check(DN_CODE_SITE, code, NULL, why, why_size)) != 0)
        return rc;
    *expires_ms = now_ms + DN_TOKEN_TTL_MS;
    if (RAND_bytes(raw, sizeof raw) != 1)
        return dn_why(why, why_size, DN_ECRYPTO,
                      _("no randomness for the enrollment token"));
    dn_hex_encode(raw, sizeof raw, token);
    OPENSSL_cleanse(raw, sizeof raw);
    if (dn_sha256(token, DN_TOKEN_TEXT_LEN, hash)) {
        OPENSSL_cleanse(token, DN_TOKEN_TEXT_LEN + 1);
        return dn_why(why, why_size, DN_ECRYPTO, _("cannot hash the enrollment token"));
    }
    return 0;
}

/*  Stores a token's hash for site_id, in the caller's transaction.
    0 or DN_EDB.  */
static int s_token_insert(sqlite3 *db, const uint8_t hash[DN_HASH_BYTES], int64_t site_id,
                          int64_t now_ms, int64_t expires_ms, int rebind)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(db,
                      "INSERT INTO tokens(hash, site_id, created_ms, expires_ms, rebind) "
                      "VALUES (?, ?, ?, ?, ?)",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, hash, DN_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, site_id);
    sqlite3_bind_int64(stmt, 3, now_ms);
    sqlite3_bind_int64(stmt, 4, expires_ms);
    sqlite3_bind_int(stmt, 5, rebind);
    return dn_db_run(db, stmt);
}

int dn_registry_site_add(sqlite3 *db, const char *code, const char *partner,
                         int64_t now_ms, char token[DN_TOKEN_TEXT_LEN + 1],
                         int64_t *expires_ms, char *why, size_t why_size)
{
    return dn_registry_site_add_named(db, code, partner, NULL, now_ms, token, expires_ms, why,
                                      why_size);
}

/*  Checks a site's display name as typed: the site name rule's one
    message.  0 or DN_EINVAL with why.  */
static int s_site_name_check(const char *name, char *why, size_t why_size)
{
    char reason[DN_HIDDEN_WHY_SIZE];
    if (!dn_valid_name_why(name, reason, sizeof reason))
        return dn_why(why, why_size, DN_EINVAL, _("site name %s"), reason);
    return 0;
}

int dn_registry_site_add_named(sqlite3 *db, const char *code, const char *partner,
                               const char *name, int64_t now_ms,
                               char token[DN_TOKEN_TEXT_LEN + 1], int64_t *expires_ms,
                               char *why, size_t why_size)
{
    uint8_t hash[DN_HASH_BYTES];
    sqlite3_stmt *stmt = NULL;
    int64_t partner_id, site_id;
    int rc;

    token[0] = '\0';
    if (name && (rc = s_site_name_check(name, why, why_size)) != 0)
        return rc;
    if ((rc = s_token_new(code, now_ms, token, hash, expires_ms, why, why_size)) != 0)
        return rc;
    if ((rc = dn_valid_code_check(DN_CODE_PARTNER, partner, NULL, why, why_size)) != 0) {
        OPENSSL_cleanse(token, DN_TOKEN_TEXT_LEN + 1);
        return rc;
    }

    if (dn_db_begin(db)) {
        rc = dn_why(why, why_size, DN_EDB, _("database busy or failing; try again"));
        goto failed;
    }
    rc = s_lookup_id(db, "SELECT id FROM partners WHERE code = ?", partner, &partner_id);
    if (rc == 0) {
        rc = dn_why(why, why_size, DN_ENOENT, _("partner %s does not exist"), partner);
        goto failed;
    }
    if (rc == 1) {
        rc = s_lookup_id(db, "SELECT id FROM sites WHERE code = ?", code, &site_id);
        if (rc == 1) {
            rc = dn_why(why, why_size, DN_EEXIST, _("site %s already exists"), code);
            goto failed;
        }
    }
    if (rc < 0 ||
        dn_db_prepare(db,
                      "INSERT INTO sites(code, partner_id, created_ms, name) VALUES (?, ?, ?, ?)",
                      &stmt)) {
        rc = dn_why(why, why_size, DN_EDB, _("database error"));
        goto failed;
    }
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, partner_id);
    sqlite3_bind_int64(stmt, 3, now_ms);
    if (name)
        sqlite3_bind_text(stmt, 4, name, -1, SQLITE_STATIC);
    if (dn_db_run(db, stmt)) {
        rc = dn_why(why, why_size, DN_EDB, _("database error"));
        goto failed;
    }
    site_id = sqlite3_last_insert_rowid(db);
    if (s_token_insert(db, hash, site_id, now_ms, *expires_ms, 0) || dn_db_commit(db)) {
        rc = dn_why(why, why_size, DN_EDB, _("database error"));
        goto failed;
    }
    return 0;

failed:
    dn_db_rollback(db);
    OPENSSL_cleanse(token, DN_TOKEN_TEXT_LEN + 1);
    return rc;
}

int dn_registry_site_token(sqlite3 *db, const char *code, int unrevoke, int64_t now_ms,
                           char token[DN_TOKEN_TEXT_LEN + 1], int64_t *expires_ms,
                           dn_registry_site_t *site, char *why, size_t why_size)
{
    uint8_t hash[DN_HASH_BYTES];
    sqlite3_stmt *stmt = NULL;
    int64_t revoked_ms = 0;
    int rc;

    if ((rc = s_token_new(code, now_ms, token, hash, expires_ms, why, why_size)) != 0)
        return rc;
    if (dn_db_begin(db)) {
        rc = dn_why(why, why_size, DN_EDB, _("database busy or failing; try again"));
        goto wiped;
    }
    rc = dn_registry_site_get(db, code, site);
    if (rc == DN_ENOENT) {
        rc = dn_why(why, why_size, DN_ENOENT,
                    _("site %s does not exist: add it with 'dealernet-hq site add'"),
                    code);
        goto failed;
    }
    if (rc == 0 && site->revoked) {
        rc = dn_db_prepare(db, "SELECT revoked_ms FROM sites WHERE id = ?", &stmt);
        if (rc == 0) {
            sqlite3_bind_int64(stmt, 1, site->id);
            rc = dn_db_int_row(stmt, "registry: revoked", &revoked_ms) == 1 ? 0 : DN_EDB;
        }
    }
    if (rc) {
        rc = dn_why(why, why_size, DN_EDB, _("database error"));
        goto failed;
    }
    /* Revocation is HQ's decision about a PC (stolen, say): lifting it is
       said in words, and then only the site comes back, never the key.  */
    if (site->revoked && !unrevoke) {
        char when[DN_TIME_TEXT_SIZE];
        dn_time_format(revoked_ms, when);
        rc = dn_why(
            why, why_size, DN_EPERM,
            _("site %s was revoked at %s: add --unrevoke to let a new PC enroll it "
              "(its old key stays refused)"),
            code, when);
        goto failed;
    }
    if (site->revoked) {
        rc = s_retire_keys(db, site->id, 1, now_ms);
        if (rc == 0)
            rc = dn_db_prepare(db,
                               "UPDATE sites SET curve_key = NULL, sign_key = NULL,"
                               " enrolled_ms = NULL, revoked_ms = NULL WHERE id = ?",
                               &stmt);
        if (rc == 0) {
            sqlite3_bind_int64(stmt, 1, site->id);
            rc = dn_db_run(db, stmt);
        }
        if (rc) {
            rc = dn_why(why, why_size, DN_EDB, _("database error"));
            goto failed;
        }
    }
    /* One live token per site: an earlier one not used yet ends now, so a
       code sent by mail last week cannot enroll a second PC.  */
    if (dn_db_prepare(db,
                      "UPDATE tokens SET expires_ms = ?1 WHERE site_id = ?2 "
                      "AND used_ms IS NULL AND expires_ms > ?1",
                      &stmt)) {
        rc = dn_why(why, why_size, DN_EDB, _("database error"));
        goto failed;
    }
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_int64(stmt, 2, site->id);
    if (dn_db_run(db, stmt) ||
        s_token_insert(db, hash, site->id, now_ms, *expires_ms,
                       site->enrolled && !site->revoked) ||
        dn_db_commit(db)) {
        rc = dn_why(why, why_size, DN_EDB, _("database error"));
        goto failed;
    }
    return 0;

failed:
    dn_db_rollback(db);
wiped:
    OPENSSL_cleanse(token, DN_TOKEN_TEXT_LEN + 1);
    return rc;
}

static void s_fill_site(sqlite3_stmt *stmt, json_t **v)
{
    v[0] = s_text_or_null(stmt, 0);
    v[1] = s_text_or_null(stmt, 1);
    v[2] = json_boolean(sqlite3_column_int(stmt, 2));
    v[3] = json_boolean(sqlite3_column_int(stmt, 3));
    v[4] = s_time_or_null(stmt, 4);
    v[5] = s_int_or_null(stmt, 5);
    v[6] = s_int_or_null(stmt, 6);
    v[7] = s_int_or_null(stmt, 7);
    v[8] = s_int_or_null(stmt, 8);
    v[9] = s_text_or_null(stmt, 9);
    v[10] = s_text_or_null(stmt, 10);
}

int dn_registry_site_list(sqlite3 *db, json_t **list)
{
    /* `site` as in `sites`; `code` last, the same value under the name it
       had before, for the scripts that read it */
    static const char *const keys[] = {
        "site",        "partner",          "enrolled",      "revoked", "last_seen",
        "applied_seq", "gap_expected_seq", "clock_skew_ms", "pending", "code", "name"};
    return s_listing(
        db,
        "SELECT s.code, p.code, s.enrolled_ms IS NOT NULL,"
        "  s.revoked_ms IS NOT NULL, s.last_seen_ms, s.applied_seq,"
        "  CASE WHEN s.gap_expected_seq > s.applied_seq"
        "       THEN s.gap_expected_seq END,"
        "  s.clock_skew_ms, s.reported_pending, s.code, s.name "
        "FROM sites s JOIN partners p ON p.id = s.partner_id ORDER BY s.code",
        0, 11, keys, s_fill_site, list);
}

int dn_registry_site_rename(sqlite3 *db, const char *code, const char *name, char *why,
                            size_t why_size)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((rc = dn_valid_code_check(DN_CODE_SITE, code, NULL, why, why_size)) != 0)
        return rc;
    if (*name && (rc = s_site_name_check(name, why, why_size)) != 0)
        return rc;
    if (dn_db_prepare(db, "UPDATE sites SET name = nullif(?, '') WHERE code = ?", &stmt))
        return dn_why(why, why_size, DN_EDB, _("database error"));
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, code, -1, SQLITE_STATIC);
    if (dn_db_run(db, stmt))
        return dn_why(why, why_size, DN_EDB, _("database error"));
    if (sqlite3_changes(db) == 0)
        return dn_why(why, why_size, DN_ENOENT, _("site %s does not exist"), code);
    return 0;
}

int dn_registry_site_revoke(sqlite3 *db, const char *code, int64_t now_ms, char *why,
                            size_t why_size)
{
    sqlite3_stmt *stmt;
    int rc;

    if ((rc = dn_valid_code_check(DN_CODE_SITE, code, NULL, why, why_size)) != 0)
        return rc;
    if (dn_db_begin(db))
        return dn_why(why, why_size, DN_EDB, _("database busy or failing; try again"));
    if (dn_db_prepare(db, "SELECT revoked_ms FROM sites WHERE code = ?", &stmt))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE)
        return dn_db_abort(
            db, stmt,
            dn_why(why, why_size, DN_ENOENT, _("site %s does not exist"), code));
    if (rc != SQLITE_ROW)
        return dn_db_abort(db, stmt, dn_why(why, why_size, DN_EDB, _("database error")));
    if (sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
        char when[DN_TIME_TEXT_SIZE];
        dn_time_format(sqlite3_column_int64(stmt, 0), when);
        return dn_db_abort(db, stmt,
                           dn_why(why, why_size, DN_EEXIST,
                                  _("site %s was already revoked at %s"), code, when));
    }
    sqlite3_finalize(stmt);
    if (dn_db_prepare(db, "UPDATE sites SET revoked_ms = ? WHERE code = ?", &stmt))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_text(stmt, 2, code, -1, SQLITE_STATIC);
    if (dn_db_run(db, stmt) || dn_db_commit(db))
        return dn_db_abort(db, NULL, dn_why(why, why_size, DN_EDB, _("database error")));
    return 0;
}

/* -- members --------------------------------------------------------------- */

static void s_fill_conflict(sqlite3_stmt *stmt, json_t **v)
{
    v[0] = s_text_or_null(stmt, 0);
    v[1] = s_text_or_null(stmt, 1);
    v[2] = s_id_or_null(stmt, 2);
    v[3] = s_text_or_null(stmt, 3);
    v[4] = s_id_or_null(stmt, 4);
    v[5] = s_text_or_null(stmt, 5);
    v[6] = s_text_or_null(stmt, 6);
    v[7] = s_time_or_null(stmt, 7);
}

int dn_registry_member_conflicts(sqlite3 *db, json_t **list)
{
    static const char *const keys[] = {"phone",
                                       "first_site",
                                       "first_member_id",
                                       "duplicate_site",
                                       "duplicate_member_id",
                                       "duplicate_phone",
                                       "duplicate_referrer",
                                       "recorded_at"};
    /* a conflict without its own phone (stored before phones were
       canonical) had the member's */
    return s_listing(db,
                     "SELECT m.phone, fs.code, m.member_id, ds.code, c.member_id,"
                     "  coalesce(c.phone, m.phone), c.referrer, c.recorded_at_ms "
                     "FROM member_conflicts c"
                     "  JOIN members m ON m.id = c.member"
                     "  JOIN sites fs ON fs.id = m.site_id"
                     "  JOIN sites ds ON ds.id = c.site_id "
                     "ORDER BY c.eid",
                     0, 8, keys, s_fill_conflict, list);
}

#define S_FIND_COLUMNS                                                                   \
    "SELECT m.phone, m.name, s.code, m.signed_up_ms,"                                    \
    "  coalesce(m.referrer_phone, m.referrer_partner), m.household "                     \
    "FROM members m JOIN sites s ON s.id = m.site_id "

static void s_fill_found(sqlite3_stmt *stmt, json_t **v)
{
    v[0] = s_text_or_null(stmt, 0);
    v[1] = s_text_or_null(stmt, 1);
    v[2] = s_text_or_null(stmt, 2);
    v[3] = s_time_or_null(stmt, 3);
    v[4] = s_text_or_null(stmt, 4);
    v[5] = s_int_or_null(stmt, 5);
}

int dn_registry_member_find(sqlite3 *db, const char *text, int country, int64_t limit,
                            json_t **result, char *why, size_t why_size)
{
    static const char *const keys[] = {"phone",  "name",     "site",
                                       "joined", "referrer", "household"};
    char prefix[DN_PHONE_SIZE + 8], upper[DN_PHONE_SIZE + 8];
    json_t *members = NULL, *values[6];
    int64_t more = 0;
    sqlite3_stmt *stmt;
    int rc = 0, step = 0, by_phone;

    assert(limit >= 1 && limit <= DN_REGISTRY_FIND_MAX);
    *result = NULL;
    if (!text || !*text)
        return dn_why(why, why_size, DN_EINVAL, "%s",
                      _("member find needs a name or the first digits of a phone"));
    if (strlen(text) > DN_MAX_NAME_BYTES)
        return dn_why(why, why_size, DN_EINVAL,
                      _("'%.40s...' is longer than any name (%d bytes)"), text,
                      DN_MAX_NAME_BYTES);
    by_phone = dn_phone_prefix(text, country, prefix, sizeof prefix) == 0;
    /* canonical phones are '+' and digits: those that begin with the
       prefix sort from it to it followed by ':' (the byte after '9') */
    snprintf(upper, sizeof upper, "%s:", by_phone ? prefix : "");
    if (dn_db_prepare(db,
                      by_phone ? S_FIND_COLUMNS "WHERE m.phone >= ?1 AND m.phone < ?2 "
                                                "ORDER BY m.phone"
                               : S_FIND_COLUMNS
                          "WHERE instr(lower(m.name), lower(?1)) > 0 "
                          "ORDER BY m.phone",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, by_phone ? prefix : text, -1, SQLITE_STATIC);
    if (by_phone)
        sqlite3_bind_text(stmt, 2, upper, -1, SQLITE_STATIC);
    if (!(members = json_array()))
        rc = DN_ENOMEM;
    while (rc == 0 && (step = dn_db_row(stmt, "registry: find members")) == 1) {
        if ((int64_t)json_array_size(members) == limit) {
            more++; /* counted, not read */
            continue;
        }
        s_fill_found(stmt, values);
        rc = s_append_row(members, 6, keys, values);
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    if (rc == 0 &&
        (!(*result = json_object()) ||
         json_object_set_new(*result, "text", json_string(text)) ||
         json_object_set_new(*result, "by", json_string(by_phone ? "phone" : "name")) ||
         json_object_set_new(*result, "prefix",
                             by_phone ? json_string(prefix) : json_null()) ||
         json_object_set(*result, "members", members) ||
         json_object_set_new(*result, "more", json_integer((json_int_t)more))))
        rc = DN_ENOMEM;
    json_decref(members);
    if (rc) {
        json_decref(*result);
        *result = NULL;
    }
    return rc;
}

/* -- the tree over time ---------------------------------------------------- */

/*  Fills *partner from a row of (id, code, kind, recruiter_id, joined).  */
static void s_partner_row(sqlite3_stmt *stmt, dn_registry_partner_t *partner)
{
    const unsigned char *kind = sqlite3_column_text(stmt, 2);
    memset(partner, 0, sizeof *partner);
    partner->id = sqlite3_column_int64(stmt, 0);
    s_copy_code(partner->code, sqlite3_column_text(stmt, 1));
    snprintf(partner->kind, sizeof partner->kind, "%s", kind ? (const char *)kind : "");
    partner->recruiter_id = sqlite3_column_int64(stmt, 3); /* NULL reads 0 */
    partner->joined_ms = sqlite3_column_int64(stmt, 4);
    partner->created_ms = sqlite3_column_int64(stmt, 5);
}

#define S_PARTNER_COLUMNS                                                                \
    "SELECT id, code, kind, recruiter_id, coalesce(joined_ms, created_ms), created_ms "  \
    "FROM partners "

/*  Runs a partner lookup whose parameter 1 is already bound.  */
static int s_partner_one(sqlite3_stmt *stmt, dn_registry_partner_t *partner)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        s_partner_row(stmt, partner);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? DN_ENOENT : DN_EDB;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int dn_registry_partner_get(sqlite3 *db, const char *code, dn_registry_partner_t *partner)
{
    sqlite3_stmt *stmt;
    if (!code)
        return DN_ENOENT;
    if (dn_db_prepare(db, S_PARTNER_COLUMNS "WHERE code = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    return s_partner_one(stmt, partner);
}

int dn_registry_partner_by_id(sqlite3 *db, int64_t id, dn_registry_partner_t *partner)
{
    sqlite3_stmt *stmt;
    if (dn_db_prepare(db, S_PARTNER_COLUMNS "WHERE id = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    return s_partner_one(stmt, partner);
}

static const char s_partner_by_code_sql[] = S_PARTNER_COLUMNS "WHERE code = ?";
static const char s_partner_by_id_sql[] = S_PARTNER_COLUMNS "WHERE id = ?";

/*  Steps a cached look-up of one partner and resets it.  */
static int s_partner_cached(sqlite3_stmt *stmt, dn_registry_partner_t *partner)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        s_partner_row(stmt, partner);
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? DN_ENOENT : DN_EDB;
}

int dn_registry_partner_get_cached(dn_db_cache_t *cache, const char *code,
                                   dn_registry_partner_t *partner)
{
    sqlite3_stmt *stmt;
    if (!code)
        return DN_ENOENT;
    if (dn_db_cached(cache, s_partner_by_code_sql, &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    return s_partner_cached(stmt, partner);
}

int dn_registry_partner_by_id_cached(dn_db_cache_t *cache, int64_t id,
                                     dn_registry_partner_t *partner)
{
    sqlite3_stmt *stmt;
    if (dn_db_cached(cache, s_partner_by_id_sql, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    return s_partner_cached(stmt, partner);
}

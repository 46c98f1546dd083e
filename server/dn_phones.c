/*  dn_phones -- canonical phones at the server (see dn_phones.h).

    Owns the table phone_spellings and the meta keys 'country',
    'phones_canonical' and 'phones_legacy_eid'; its one-time rewrite
    touches the phone columns of members, sales, accounts and
    member_conflicts, which their modules otherwise own, because a
    migration is one rule over all of them.
*/
#include "dn_phones.h"
#include "dn_account.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_meta.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int dn_phones_country(sqlite3 *db, int *country)
{
    char text[8];
    int rc = dn_db_meta_get(db, DN_META_COUNTRY, text, sizeof text);
    if (rc == DN_ENOENT) {
        *country = DN_PHONES_DEFAULT_COUNTRY;
        return 0;
    }
    if (rc)
        return DN_EDB;
    if (strcmp(text, "0") == 0) {
        *country = DN_COUNTRY_NONE;
        return 0;
    }
    if (dn_phone_country_parse(text, country) != 0) {
        dn_log_error("central.db: setting %s is '%s', not a country code",
                     DN_META_COUNTRY, text);
        return DN_EDB;
    }
    return 0;
}

int dn_phones_set_country(sqlite3 *db, int country)
{
    char text[8];
    if (country < 1 || country > DN_COUNTRY_MAX)
        return DN_EINVAL;
    snprintf(text, sizeof text, "%d", country);
    return dn_db_meta_set(db, DN_META_COUNTRY, text);
}

int dn_phones_canonical(sqlite3 *db, const char *text, char out[DN_PHONE_SIZE], char *why,
                        size_t why_size)
{
    int country, rc = dn_phones_country(db, &country);
    if (rc)
        return rc;
    return dn_phone_normalize(text, country, out, why, why_size) ? DN_EINVAL : 0;
}

/* -- the migration --------------------------------------------------------- */

/*  SQL function dn_phone_canonical(text): the canonical phone, or NULL
    for NULL, a partner code or anything the rules refuse.  Defined only
    while the migration runs.  */
static void s_sql_canonical(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const int *country = sqlite3_user_data(ctx);
    const unsigned char *text = sqlite3_value_text(argv[0]);
    char out[DN_PHONE_SIZE];
    (void)argc;
    if (text && dn_phone_normalize((const char *)text, *country, out, NULL, 0) == 0)
        sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
}

/*  The rewrite, as SQL over temp.phone_map: one row per spelling stored
    anywhere a phone is, its canonical form (NULL: kept as it is), its
    first sign-up and whether it becomes the canonical phone (owner).  */
static const char *const s_rewrite_sql =
    "CREATE TEMP TABLE phone_map ("
    "  spelling TEXT PRIMARY KEY, canon TEXT, first_eid INTEGER, owner INTEGER NOT NULL "
    "  DEFAULT 0);"
    "INSERT INTO temp.phone_map(spelling, first_eid) "
    "  SELECT s, (SELECT min(signup_eid) FROM main.members WHERE phone = s) FROM ("
    "    SELECT phone AS s FROM main.members"
    "    UNION SELECT referrer_phone FROM main.members WHERE referrer_phone IS NOT NULL"
    "    UNION SELECT member_phone FROM main.sales WHERE member_phone IS NOT NULL"
    "    UNION SELECT phone FROM main.accounts WHERE phone IS NOT NULL);"
    "UPDATE temp.phone_map SET canon = dn_phone_canonical(spelling);"
    "CREATE INDEX temp.phone_map_canon ON phone_map(canon);"
    /* The owner of a canonical phone: the spelling that already is it,
       else the first sign-up's spelling, else the only spelling.  */
    "UPDATE temp.phone_map AS g SET owner = 1 WHERE canon IS NOT NULL AND spelling IS "
    "coalesce("
    "  (SELECT q.spelling FROM temp.phone_map q WHERE q.spelling = g.canon),"
    "  (SELECT q.spelling FROM temp.phone_map q WHERE q.canon = g.canon AND q.first_eid "
    "    IS NOT NULL ORDER BY q.first_eid LIMIT 1),"
    "  (SELECT max(q.spelling) FROM temp.phone_map q WHERE q.canon = g.canon "
    "    HAVING count(*) = 1));"
    /* Every other spelling of a canonical phone is kept as it was.  */
    "INSERT INTO main.phone_spellings(spelling, phone) "
    "  SELECT spelling, canon FROM temp.phone_map WHERE canon IS NOT NULL AND owner = 0;"
    /* Their members are listed against the member holding the canonical
       phone, else the first sign-up of the phone (not itself).  */
    "INSERT INTO main.member_conflicts(eid, member, member_id, site_id, referrer, "
    "  recorded_at_ms, phone) "
    "  SELECT m.signup_eid, r.id, m.member_id, m.site_id, "
    "    coalesce(m.referrer_phone, m.referrer_partner), m.signed_up_ms, m.phone "
    "  FROM main.members m JOIN temp.phone_map p ON p.spelling = m.phone "
    "  JOIN main.members r ON r.id = coalesce("
    "    (SELECT r1.id FROM main.members r1 JOIN temp.phone_map o ON o.spelling = "
    "r1.phone "
    "     WHERE o.canon = p.canon AND o.owner = 1),"
    "    (SELECT r2.id FROM main.members r2 JOIN temp.phone_map o ON o.spelling = "
    "r2.phone "
    "     WHERE o.canon = p.canon ORDER BY r2.signup_eid LIMIT 1)) "
    "  WHERE p.canon IS NOT NULL AND p.owner = 0 AND r.id != m.id "
    "    AND m.signup_eid NOT IN (SELECT eid FROM main.member_conflicts);"
    /* The owners become canonical everywhere: no other row holds their
       canonical form, so the UNIQUE columns never collide.  */
    "CREATE TEMP TABLE phone_owner AS SELECT spelling, canon FROM temp.phone_map "
    "  WHERE owner = 1 AND spelling != canon;"
    "CREATE UNIQUE INDEX temp.phone_owner_spelling ON phone_owner(spelling);"
    "UPDATE main.members SET phone = (SELECT canon FROM temp.phone_owner WHERE spelling "
    "= phone) "
    "  WHERE phone IN (SELECT spelling FROM temp.phone_owner);"
    "UPDATE main.members SET referrer_phone = (SELECT canon FROM temp.phone_owner "
    "  WHERE spelling = referrer_phone) "
    "  WHERE referrer_phone IN (SELECT spelling FROM temp.phone_owner);"
    "UPDATE main.sales SET member_phone = (SELECT canon FROM temp.phone_owner "
    "  WHERE spelling = member_phone) "
    "  WHERE member_phone IN (SELECT spelling FROM temp.phone_owner);"
    "UPDATE main.accounts SET phone = (SELECT canon FROM temp.phone_owner WHERE spelling "
    "= phone),"
    "  name = '" DN_ACCOUNT_MEMBER "' || (SELECT canon FROM temp.phone_owner WHERE spelling = phone) "
    "  WHERE kind = 'member' AND phone IN (SELECT spelling FROM temp.phone_owner);"
    /* A conflict's referrer is only shown: canonical where it can be.  */
    "UPDATE main.member_conflicts SET referrer = coalesce("
    "  (SELECT canon FROM temp.phone_owner WHERE spelling = referrer),"
    "  CASE WHEN referrer NOT IN (SELECT spelling FROM temp.phone_map) "
    "    THEN dn_phone_canonical(referrer) END, referrer) WHERE referrer IS NOT NULL;"
    "INSERT OR REPLACE INTO main.meta(key, value) "
    "  SELECT '" DN_META_PHONES_LEGACY_EID "', CAST(coalesce(max(eid), 0) AS TEXT) FROM main.events;"
    "DELETE FROM main.meta WHERE key = '" DN_META_PHONES_CANONICAL "';"
    "DROP TABLE temp.phone_owner;"
    "DROP TABLE temp.phone_map;";

/*  A file without a country gets the newest plan currency's, else the
    init default: a network upgraded from before keeps its numbers.  */
static int s_country_default(sqlite3 *db)
{
    char text[8], currency[4] = "";
    sqlite3_stmt *stmt;
    int rc = dn_db_meta_get(db, DN_META_COUNTRY, text, sizeof text), country, step;
    if (rc != DN_ENOENT)
        return rc ? DN_EDB : 0;
    if (dn_db_prepare(db, "SELECT currency FROM plans ORDER BY effective_ms DESC LIMIT 1",
                      &stmt))
        return DN_EDB;
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW && dn_db_column_copy(stmt, 0, currency, sizeof currency))
        step = SQLITE_NOMEM;
    sqlite3_finalize(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return DN_EDB;
    country = step == SQLITE_ROW ? dn_phone_country_of_currency(currency)
                                 : DN_PHONES_DEFAULT_COUNTRY;
    snprintf(text, sizeof text, "%d", country);
    if (dn_db_begin(db) || dn_db_meta_set(db, DN_META_COUNTRY, text) ||
        dn_db_commit(db)) {
        dn_db_rollback(db);
        return DN_EDB;
    }
    dn_log_info("central.db: default country of phones: %s", country ? text : "none");
    return 0;
}

int dn_phones_migrate(sqlite3 *db)
{
    char flag[8];
    int country, rc = s_country_default(db);
    if (rc == 0)
        rc = dn_db_meta_get(db, DN_META_PHONES_CANONICAL, flag, sizeof flag);
    if (rc == DN_ENOENT)
        return 0;
    if (rc || dn_phones_country(db, &country))
        return DN_EDB;
    if (sqlite3_create_function(db, "dn_phone_canonical", 1,
                                SQLITE_UTF8 | SQLITE_DETERMINISTIC, &country,
                                s_sql_canonical, NULL, NULL) != SQLITE_OK)
        return DN_EDB;
    rc = dn_db_begin(db);
    if (rc == 0)
        rc = dn_db_exec(db, s_rewrite_sql);
    if (rc == 0)
        rc = dn_db_commit(db);
    if (rc)
        dn_db_rollback(db);
    sqlite3_create_function(db, "dn_phone_canonical", 1, SQLITE_UTF8, NULL, NULL, NULL,
                            NULL);
    if (rc == 0) {
        sqlite3_stmt *stmt;
        if (dn_db_prepare(db, "SELECT count(*) FROM phone_spellings", &stmt) == 0) {
            if (sqlite3_step(stmt) == SQLITE_ROW)
                dn_log_info(
                    "central.db: phones made canonical; %d spellings kept as they "
                    "were (see member conflicts)",
                    sqlite3_column_int(stmt, 0));
            sqlite3_finalize(stmt);
        }
    }
    return rc;
}

/* -- events ---------------------------------------------------------------- */

struct _dn_phones_t {
    sqlite3 *db;
    int country;
    int64_t legacy_eid; /* events up to it were stored before the rewrite */
    sqlite3_stmt *kept; /* is this spelling kept? */
};

dn_phones_t *dn_phones_new(sqlite3 *db)
{
    char text[24];
    dn_phones_t *self = calloc(1, sizeof *self);
    int rc;
    if (!self)
        return NULL;
    self->db = db;
    rc = dn_phones_country(db, &self->country);
    if (rc == 0) {
        rc = dn_db_meta_get(db, DN_META_PHONES_LEGACY_EID, text, sizeof text);
        if (rc == 0)
            self->legacy_eid = strtoll(text, NULL, 10);
        else if (rc == DN_ENOENT)
            rc = 0;
    }
    if (rc) {
        free(self);
        return NULL;
    }
    return self;
}

void dn_phones_destroy(dn_phones_t **self_p)
{
    if (self_p && *self_p) {
        sqlite3_finalize((*self_p)->kept);
        free(*self_p);
        *self_p = NULL;
    }
}

/*  1 if spelling was kept as it was by the migration, 0 if not, or
    DN_EDB.  */
static int s_kept(dn_phones_t *self, const char *spelling)
{
    int step;
    if (!self->kept &&
        dn_db_prepare(self->db, "SELECT 1 FROM phone_spellings WHERE spelling = ?",
                      &self->kept))
        return DN_EDB;
    sqlite3_reset(self->kept);
    sqlite3_bind_text(self->kept, 1, spelling, -1, SQLITE_TRANSIENT);
    step = sqlite3_step(self->kept);
    sqlite3_reset(self->kept);
    return step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : DN_EDB;
}

/*  Rewrites one phone field (may be NULL) of an event stored as eid.  */
static int s_field(dn_phones_t *self, int64_t eid, char **field)
{
    char out[DN_PHONE_SIZE];
    int rc;
    if (!*field)
        return 0;
    if (eid <= self->legacy_eid && (rc = s_kept(self, *field)) != 0)
        return rc == 1 ? 0 : rc;
    if (dn_phone_normalize(*field, self->country, out, NULL, 0) != 0 ||
        strcmp(out, *field) == 0)
        return 0; /* refused by the rules: kept as sent; or canonical */
    return dn_wire_event_set_text(field, out);
}

int dn_phones_event(dn_phones_t *self, int64_t eid, Dealernet__Event *ev)
{
    int rc = 0;
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE:
        rc = s_field(self, eid, &ev->sale->member_phone);
        break;
    case DEALERNET__EVENT__BODY_MEMBER_SIGNUP: {
        Dealernet__MemberSignup *m = ev->member_signup;
        rc = s_field(self, eid, &m->phone);
        if (rc == 0)
            rc = s_field(self, eid, &m->referrer_phone);
        if (rc == 0 && m->referrer_phone && strcmp(m->referrer_phone, m->phone) == 0) {
            dn_log_warn("site %s seq %llu: member %s named themselves as referrer; "
                        "stored without a referrer",
                        ev->site, (unsigned long long)ev->seq, m->phone);
            rc = dn_wire_event_set_text(&m->referrer_phone, NULL);
        }
        break;
    }
    case DEALERNET__EVENT__BODY_MEMBER_UPDATE:
        rc = s_field(self, eid, &ev->member_update->phone);
        break;
    default:
        break;
    }
    return rc;
}

/*  dn_earnings -- the earnings and members appliers and what the shop
    reads of them (see dn_earnings.h).  */
#include "dn_earnings.h"
#include "dn_i18n.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_money.h"
#include "dn_time.h"
#include "dn_valid.h"

#include <stdio.h>
#include <string.h>

/* -- the appliers -------------------------------------------------------------- */

static int s_refuse(char *why, size_t why_size, const char *what)
{
    return dn_why(why, why_size, DN_EPROTO, _("downstream earnings: %s"), what);
}

/*  An Earnings the shop can show: a partner code, a period, a currency
    it knows, the figures the message says are >= 0 so.  */
static int s_earnings_fits(const Dealernet__Earnings *e)
{
    return e->partner && dn_valid_code(e->partner) && e->period &&
           dn_time_parse_period(e->period, NULL, NULL) == 0 && e->currency &&
           dn_money_exponent(e->currency) >= 0 && e->clawback >= 0 && e->payouts >= 0 &&
           e->last_payout >= 0;
}

static int s_apply_earnings(sqlite3 *db, int reset, Dealernet__DownItem *const *items,
                            size_t n, char *why, size_t why_size)
{
    sqlite3_stmt *stmt;
    int rc = 0;

    if (reset && dn_db_exec(db, "DELETE FROM hq_earnings"))
        return DN_EDB;
    for (size_t i = 0; i < n; i++) {
        const Dealernet__Earnings *e = items[i]->earnings;
        if (items[i]->body_case != DEALERNET__DOWN_ITEM__BODY_EARNINGS || !e)
            return s_refuse(why, why_size, "an item that is not an Earnings");
        if (!s_earnings_fits(e))
            return s_refuse(why, why_size, "an Earnings without a partner, period or "
                                           "currency, or with a negative debit");
        /* one row: the partner's figures now; a later item replaces it */
        if (dn_db_prepare(db,
                          "INSERT OR REPLACE INTO hq_earnings(id, partner, period, currency, "
                          "balance, opening, commission, override, referral, clawback, "
                          "adjustment, payouts, last_payout, last_payout_ms, as_of_ms) "
                          "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          &stmt))
            return DN_EDB;
        sqlite3_bind_text(stmt, 1, e->partner, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, e->period, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, e->currency, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, e->balance);
        sqlite3_bind_int64(stmt, 5, e->opening);
        sqlite3_bind_int64(stmt, 6, e->commission);
        sqlite3_bind_int64(stmt, 7, e->override);
        sqlite3_bind_int64(stmt, 8, e->referral);
        sqlite3_bind_int64(stmt, 9, e->clawback);
        sqlite3_bind_int64(stmt, 10, e->adjustment);
        sqlite3_bind_int64(stmt, 11, e->payouts);
        sqlite3_bind_int64(stmt, 12, e->last_payout);
        if (e->last_payout > 0)
            sqlite3_bind_int64(stmt, 13, e->last_payout_ms);
        sqlite3_bind_int64(stmt, 14, e->as_of_ms);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : DN_EDB;
        sqlite3_finalize(stmt);
        if (rc)
            return rc;
    }
    return 0;
}

const dn_down_applier_t dn_down_apply_earnings = {DEALERNET__STREAM__STREAM_EARNINGS,
                                                  NC_("stream", "earnings"), s_apply_earnings};

static int s_apply_members(sqlite3 *db, int reset, Dealernet__DownItem *const *items,
                           size_t n, char *why, size_t why_size)
{
    sqlite3_stmt *stmt;
    int rc = 0;

    if (reset && dn_db_exec(db, "DELETE FROM hq_members"))
        return DN_EDB;
    if (n == 0)
        return 0;
    if (dn_db_prepare(db,
                      "INSERT OR REPLACE INTO hq_members(phone, name, credit, as_of_ms) "
                      "VALUES (?, ?, ?, ?)",
                      &stmt))
        return DN_EDB;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const Dealernet__MemberCredit *m = items[i]->member;
        if (items[i]->body_case != DEALERNET__DOWN_ITEM__BODY_MEMBER || !m) {
            rc = dn_why(why, why_size, DN_EPROTO,
                        _("downstream members: an item that is not a MemberCredit"));
            break;
        }
        /* the server stores phones canonical and names as the sign-up's
           event held them (dn_valid_text_stored): anything else is not
           its */
        if (!m->phone || !dn_valid_phone(m->phone) ||
            (m->name && !dn_valid_text_stored(m->name, DN_MAX_NAME_BYTES))) {
            rc = dn_why(why, why_size, DN_EPROTO,
                        _("downstream members: a MemberCredit without a canonical phone, "
                        "or with a name that is not one"));
            break;
        }
        sqlite3_reset(stmt);
        sqlite3_bind_text(stmt, 1, m->phone, -1, SQLITE_STATIC);
        if (m->name)
            sqlite3_bind_text(stmt, 2, m->name, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(stmt, 2);
        sqlite3_bind_int64(stmt, 3, m->credit);
        sqlite3_bind_int64(stmt, 4, m->as_of_ms);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            rc = DN_EDB;
    }
    sqlite3_finalize(stmt);
    return rc;
}

const dn_down_applier_t dn_down_apply_members = {DEALERNET__STREAM__STREAM_MEMBERS,
                                                 NC_("stream", "members"), s_apply_members};

/* -- what the shop reads --------------------------------------------------------- */

static json_t *s_time(int64_t ms)
{
    char text[DN_TIME_TEXT_SIZE];
    dn_time_format(ms, text);
    return json_string(text);
}

/*  Sets key (money as text) and key_minor on obj.  */
static void s_money(json_t *obj, const char *key, int64_t minor, int exponent)
{
    char text[DN_MONEY_TEXT_SIZE], minor_key[64];
    dn_money_format(minor, exponent, text, sizeof text);
    json_object_set_new(obj, key, json_string(text));
    snprintf(minor_key, sizeof minor_key, "%s_minor", key);
    json_object_set_new(obj, minor_key, json_integer(minor));
}

/*  Sets "refreshed" on obj: when a pull of stream was last answered
    (down_state's checked_ms, dn_down_apply), which a sync that brought
    nothing new moves too -- the figures held were confirmed then; null
    when never.  0 or DN_EDB.  */
static int s_refreshed(dn_store_t *store, Dealernet__Stream stream, json_t *obj)
{
    dn_down_state_t held;
    if (dn_down_state(store, stream, &held))
        return DN_EDB;
    json_object_set_new(obj, "refreshed",
                        held.checked_ms ? s_time(held.checked_ms) : json_null());
    return 0;
}

int dn_earnings_get(dn_store_t *store, json_t **out)
{
    static const char *const figures[] = {"balance",  "opening",  "commission",
                                          "override", "referral", "clawback",
                                          "adjustment", "payouts", "last_payout"};
    char partner[DN_MAX_CODE_LEN + 1], period[DN_PERIOD_SIZE], currency[4];
    sqlite3_stmt *stmt;
    json_t *obj;
    int rc, exponent;

    *out = NULL;
    if (dn_db_prepare(dn_store_db(store),
                      "SELECT partner, period, currency, balance, opening, commission, "
                      "override, referral, clawback, adjustment, payouts, last_payout, "
                      "last_payout_ms, as_of_ms FROM hq_earnings WHERE id = 1",
                      &stmt))
        return DN_EDB;
    rc = dn_db_row(stmt, "agent.db earnings");
    if (rc != 1) {
        sqlite3_finalize(stmt);
        return rc == 0 ? DN_ENOENT : DN_EDB;
    }
    if (dn_db_column_copy(stmt, 0, partner, sizeof partner) ||
        dn_db_column_copy(stmt, 1, period, sizeof period) ||
        dn_db_column_copy(stmt, 2, currency, sizeof currency) ||
        !(obj = json_object())) {
        sqlite3_finalize(stmt);
        return DN_ENOMEM;
    }
    exponent = dn_money_exponent(currency);
    if (exponent < 0) /* the applier took a known one: the file was altered */
        exponent = 2;
    json_object_set_new(obj, "partner", json_string(partner));
    json_object_set_new(obj, "period", json_string(period));
    json_object_set_new(obj, "currency", json_string(currency));
    for (int i = 0; i < 9; i++)
        s_money(obj, figures[i], sqlite3_column_int64(stmt, 3 + i), exponent);
    json_object_set_new(obj, "last_payout_at",
                        sqlite3_column_type(stmt, 12) == SQLITE_NULL
                            ? json_null()
                            : s_time(sqlite3_column_int64(stmt, 12)));
    json_object_set_new(obj, "as_of", s_time(sqlite3_column_int64(stmt, 13)));
    sqlite3_finalize(stmt);
    if ((rc = s_refreshed(store, DEALERNET__STREAM__STREAM_EARNINGS, obj)) != 0) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

int dn_earnings_member(dn_store_t *store, const char *phone, json_t **out, char *why,
                       size_t why_size)
{
    const dn_store_info_t *info = dn_store_info(store);
    char canon[DN_PHONE_SIZE], pwhy[DN_PHONE_WHY_SIZE + 64];
    sqlite3 *db = dn_store_db(store);
    sqlite3_stmt *stmt;
    json_t *obj, *name = json_null(), *here = json_null();
    int local, sent;

    *out = NULL;
    if (dn_phone_normalize(phone, info->country, canon, pwhy, sizeof pwhy))
        return dn_why(why, why_size, DN_EPARSE, _("phone %s"), pwhy); /* as member add */
    if (!(obj = json_pack("{s:s, s:s}", "phone", canon, "currency", info->currency)))
        return DN_ENOMEM;

    /* the local sign-up, if this shop made it */
    if (dn_db_prepare(db, "SELECT id, seq, recorded_at_ms, name FROM members WHERE phone = ?",
                      &stmt)) {
        json_decref(obj);
        return DN_EDB;
    }
    sqlite3_bind_text(stmt, 1, canon, -1, SQLITE_STATIC);
    if ((local = dn_db_row(stmt, "agent.db member")) == 1) {
        char id[DN_ID_TEXT_SIZE];
        if (sqlite3_column_bytes(stmt, 0) == DN_ID_BYTES)
            dn_id_format(sqlite3_column_blob(stmt, 0), id);
        else
            snprintf(id, sizeof id, "?");
        json_decref(here);
        here = json_pack("{s:s, s:I, s:o}", "id", id, "seq",
                         (json_int_t)sqlite3_column_int64(stmt, 1), "recorded_at",
                         s_time(sqlite3_column_int64(stmt, 2)));
        if (sqlite3_column_type(stmt, 3) != SQLITE_NULL) {
            json_decref(name);
            name = json_string((const char *)sqlite3_column_text(stmt, 3));
        }
    }
    sqlite3_finalize(stmt);
    json_object_set_new(obj, "signed_up_here", here ? here : json_null());

    /* what the network last sent */
    if (local >= 0 &&
        dn_db_prepare(db, "SELECT name, credit, as_of_ms FROM hq_members WHERE phone = ?",
                      &stmt) == 0) {
        sqlite3_bind_text(stmt, 1, canon, -1, SQLITE_STATIC);
        if ((sent = dn_db_row(stmt, "agent.db member credit")) == 1) {
            if (sqlite3_column_type(stmt, 0) != SQLITE_NULL) { /* the network's name wins */
                json_decref(name);
                name = json_string((const char *)sqlite3_column_text(stmt, 0));
            }
            s_money(obj, "credit", sqlite3_column_int64(stmt, 1), info->exponent);
            json_object_set_new(obj, "credit_as_of", s_time(sqlite3_column_int64(stmt, 2)));
        } else {
            json_object_set_new(obj, "credit", json_null());
            json_object_set_new(obj, "credit_minor", json_null());
            json_object_set_new(obj, "credit_as_of", json_null());
        }
        sqlite3_finalize(stmt);
    } else {
        sent = DN_EDB;
    }
    json_object_set_new(obj, "name", name ? name : json_null());
    if (local >= 0 && sent >= 0 && s_refreshed(store, DEALERNET__STREAM__STREAM_MEMBERS, obj))
        sent = DN_EDB;
    if (local < 0 || sent < 0) {
        json_decref(obj);
        return DN_EDB;
    }
    if (!local && !sent) {
        json_decref(obj);
        return dn_why(why, why_size, DN_ENOENT,
                      _("no member %s here: not signed up at this shop, and the network "
                      "never sent its credit (run 'dealernet-agent sync')"),
                      canon);
    }
    *out = obj;
    return 0;
}

/*  dn_admin -- the admin socket's commands (see dn_admin.h).

    A table names each command, the arguments it accepts and those it
    needs, so the checks every command shares (unknown command, unknown or
    missing argument) are made once, before any handler runs, and a handler
    only sees requests that are complete.  Handlers call dn_registry,
    dn_plan, dn_ledger and dn_report for every read and write: no SQL here.  verify
    reads the database file on its own connection: its path comes from the
    server's connection (sqlite3_db_filename), so the server passes nothing
    more.
*/
#include "dn_admin.h"
#include "dn_catalog.h"
#include "dn_central.h"
#include "dn_comply.h"
#include "dn_db.h"
#include "dn_drill.h"
#include "dn_error.h"
#include "dn_facts.h"
#include "dn_i18n.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_metrics.h"
#include "dn_money.h"
#include "dn_i18n.h"
#include "dn_notice.h"
#include "dn_payrun.h"
#include "dn_phones.h"
#include "dn_plan.h"
#include "dn_refusal.h"
#include "dn_registry.h"
#include "dn_tree.h"
#include "dn_report.h"
#include "dn_rollup.h"
#include "dn_time.h"
#include "dn_valid.h"
#include "dn_verify.h"
#include "dn_webuser.h"
#include "dn_wire.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/*  A reason HQ reads: room for one in Chinese (3 bytes a character).  */
#define DN_ADMIN_WHY_SIZE 512
#define DN_ADMIN_MAX_ARGS 8

/*  What a handler sees.  */
typedef struct {
    sqlite3 *db;
    const char *admin;                  /* the ZAP User-Id */
    const Dealernet__AdminRequest *req; /* checked: complete */
    int64_t now_ms;
    char why[DN_ADMIN_WHY_SIZE]; /* the reason, on error */
} s_ctx_t;

typedef int (*s_handler_fn)(s_ctx_t *ctx, json_t **result);

typedef struct {
    const char *name;
    const char *args[DN_ADMIN_MAX_ARGS]; /* accepted names; "?" prefix: optional */
    s_handler_fn run;
    int query; /* 1: reads only (dn_admin_is_query) */
} s_command_t;

static const char *s_arg(const s_ctx_t *ctx, const char *name)
{
    return dn_wire_admin_arg(ctx->req, name);
}

/* -- partners -------------------------------------------------------------- */

/*  Returns the partner called code as partner.list shows it, or NULL.  */
static json_t *s_partner_json(sqlite3 *db, const char *code, int64_t now_ms)
{
    json_t *list = NULL, *item, *found = NULL;
    size_t i;
    if (dn_registry_partner_list(db, now_ms, &list))
        return NULL;
    json_array_foreach(list, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "code")), code) == 0) {
            found = json_incref(item);
            break;
        }
    }
    json_decref(list);
    return found;
}

/*  Parses the optional date argument name (YYYY-MM-DD, UTC) into *ms: its
    midnight, or its last millisecond when end_of_day; absent: dflt.
    Returns 0 or DN_EINVAL (why set).  */
static int s_date_arg(s_ctx_t *ctx, const char *name, int end_of_day, int64_t dflt,
                      int64_t *ms)
{
    const char *text = s_arg(ctx, name);
    if (!text) {
        *ms = dflt;
        return 0;
    }
    if (dn_time_parse_date(text, ms)) {
        snprintf(ctx->why, sizeof ctx->why, _("%s '%.40s' is not a date (YYYY-MM-DD)"),
                 name, text);
        return DN_EINVAL;
    }
    if (end_of_day) /* a zone's day may have 23 or 25 hours */
        *ms = dn_time_day_start(dn_time_day(*ms) + 1) - 1;
    return 0;
}

static int s_partner_add(s_ctx_t *ctx, json_t **result)
{
    const char *code = s_arg(ctx, "code"), *parent = s_arg(ctx, "parent");
    const char *recruiter = s_arg(ctx, "recruiter");
    int64_t joined_ms;
    int rc = s_date_arg(ctx, "joined", 0, ctx->now_ms, &joined_ms);
    if (rc)
        return rc;
    rc = dn_registry_partner_add_recruited(
        ctx->db, code, s_arg(ctx, "name"), s_arg(ctx, "kind"), parent, recruiter,
        joined_ms, ctx->now_ms, ctx->why, sizeof ctx->why);
    if (rc)
        return rc;
    dn_log_info("admin %s: partner %s added (%s, parent %s, recruiter %s)", ctx->admin,
                code, s_arg(ctx, "kind"), parent ? parent : "none",
                recruiter ? recruiter : "none");
    *result = s_partner_json(ctx->db, code, ctx->now_ms);
    return *result ? 0 : DN_EDB;
}

static int s_partner_list(s_ctx_t *ctx, json_t **result)
{
    return dn_registry_partner_list(ctx->db, ctx->now_ms, result);
}

static int s_partner_move(s_ctx_t *ctx, json_t **result)
{
    const char *code = s_arg(ctx, "code"), *parent = s_arg(ctx, "parent");
    char when[DN_TIME_TEXT_SIZE];
    dn_registry_partner_t partner, before;
    int64_t effective_ms, before_id = 0;
    int rc = s_date_arg(ctx, "effective", 0, ctx->now_ms, &effective_ms);
    if (rc)
        return rc;
    rc = dn_tree_move(ctx->db, code, parent, effective_ms, ctx->why,
                                  sizeof ctx->why);
    if (rc)
        return rc;
    dn_time_format(effective_ms, when);
    dn_log_info("admin %s: partner %s moved under %s from %s", ctx->admin, code, parent,
                when);
    /* the parent in force just before the move */
    if (dn_registry_partner_get(ctx->db, code, &partner) ||
        dn_tree_parent_at(ctx->db, partner.id, effective_ms - 1, &before_id) ||
        (before_id && dn_registry_partner_by_id(ctx->db, before_id, &before)))
        return DN_EDB;
    *result = json_pack(
        "{s:s, s:s, s:o, s:s}", "partner", code, "parent", parent, "previous_parent",
        before_id ? json_string(before.code) : json_null(), "effective", when);
    return *result ? 0 : DN_ENOMEM;
}

static int s_partner_tree(s_ctx_t *ctx, json_t **result)
{
    int64_t at_ms;
    int rc = s_date_arg(ctx, "at", 1, ctx->now_ms, &at_ms);
    if (rc)
        return rc;
    return dn_tree_view(ctx->db, s_arg(ctx, "code"), at_ms, result, ctx->why,
                                    sizeof ctx->why);
}

static int s_partner_status(s_ctx_t *ctx, json_t **result, int suspend)
{
    const char *code = s_arg(ctx, "code");
    char when[DN_TIME_TEXT_SIZE];
    int rc = suspend ? dn_tree_suspend(ctx->db, code, ctx->now_ms, ctx->why,
                                                   sizeof ctx->why)
                     : dn_tree_resume(ctx->db, code, ctx->now_ms, ctx->why,
                                                  sizeof ctx->why);
    if (rc)
        return rc;
    dn_time_format(ctx->now_ms, when);
    dn_log_info("admin %s: partner %s %s", ctx->admin, code,
                suspend ? "suspended" : "resumed");
    *result = json_pack("{s:s, s:s, s:s}", "partner", code, "status",
                        suspend ? "suspended" : "active", "effective", when);
    return *result ? 0 : DN_ENOMEM;
}

static int s_partner_suspend(s_ctx_t *ctx, json_t **result)
{
    return s_partner_status(ctx, result, 1);
}

static int s_partner_resume(s_ctx_t *ctx, json_t **result)
{
    return s_partner_status(ctx, result, 0);
}

/* -- sites ----------------------------------------------------------------- */

/*  Adds the sync endpoint, when HQ set one, to a result holding a new
    token: the enrollment code carries it.  0, or DN_ENOMEM (result NULL).  */
static int s_with_sync_endpoint(s_ctx_t *ctx, json_t *result)
{
    char sync[256];
    if (result && dn_db_meta_get(ctx->db, DN_META_SYNC_ENDPOINT, sync, sizeof sync) == 0)
        json_object_set_new(result, "sync_endpoint", json_string(sync));
    return result ? 0 : DN_ENOMEM;
}

static int s_site_add(s_ctx_t *ctx, json_t **result)
{
    const char *code = s_arg(ctx, "code"), *partner = s_arg(ctx, "partner");
    const char *name = s_arg(ctx, "name");
    char token[DN_TOKEN_TEXT_LEN + 1], expires[DN_TIME_TEXT_SIZE];
    int64_t expires_ms;
    int rc = dn_registry_site_add_named(ctx->db, code, partner, name, ctx->now_ms, token,
                                        &expires_ms, ctx->why, sizeof ctx->why);
    if (rc)
        return rc;
    dn_time_format(expires_ms, expires);
    dn_log_info("admin %s: site %s added for partner %s (token expires %s)", ctx->admin,
                code, partner, expires);
    *result = json_pack("{s:s, s:s, s:s, s:s, s:o}", "site", code, "partner", partner,
                        "token", token, "expires", expires, "name",
                        name ? json_string(name) : json_null());
    OPENSSL_cleanse(token, sizeof token);
    return s_with_sync_endpoint(ctx, *result);
}

/*  site.rename: a site's display name, any script ("" removes it).  */
static int s_site_rename(s_ctx_t *ctx, json_t **result)
{
    const char *code = s_arg(ctx, "code"), *name = s_arg(ctx, "name");
    int rc = dn_registry_site_rename(ctx->db, code, name, ctx->why, sizeof ctx->why);
    if (rc)
        return rc;
    dn_log_info("admin %s: site %s renamed", ctx->admin, code);
    *result = json_pack("{s:s, s:o}", "site", code, "name",
                        *name ? json_string(name) : json_null());
    return *result ? 0 : DN_ENOMEM;
}

/*  site.token: a new enrollment token for an existing site (a new PC, an
    expired or used token, a lost key); with unrevoke, for a revoked one.
    Says what the site was, so HQ's command line can tell what enrolling
    with it will do.  */
static int s_site_token(s_ctx_t *ctx, json_t **result)
{
    const char *code = s_arg(ctx, "code");
    const char *unrevoke = s_arg(ctx, "unrevoke");
    char token[DN_TOKEN_TEXT_LEN + 1], expires[DN_TIME_TEXT_SIZE];
    dn_registry_site_t site;
    int64_t expires_ms;
    int rc;
    /* lifting a revocation is said as the CLI says it ("1"): a client's
       "0" or "false" must not lift one */
    if (unrevoke && strcmp(unrevoke, "1") != 0) {
        snprintf(ctx->why, sizeof ctx->why,
                 _("unrevoke is a flag: give it as 1, or leave it out"));
        return DN_EINVAL;
    }
    rc = dn_registry_site_token(ctx->db, code, unrevoke != NULL, ctx->now_ms, token,
                                &expires_ms, &site, ctx->why, sizeof ctx->why);
    if (rc)
        return rc;
    dn_time_format(expires_ms, expires);
    dn_log_info("admin %s: new enrollment token for site %s%s (expires %s)", ctx->admin,
                code, site.revoked ? ", revocation lifted" : "", expires);
    *result = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "site", code, "partner",
                        site.partner, "token", token, "expires", expires, "replaces_pc",
                        site.enrolled && !site.revoked, "unrevoked", site.revoked);
    OPENSSL_cleanse(token, sizeof token);
    return s_with_sync_endpoint(ctx, *result);
}

static int s_site_list(s_ctx_t *ctx, json_t **result)
{
    return dn_registry_site_list(ctx->db, result);
}

static int s_site_revoke(s_ctx_t *ctx, json_t **result)
{
    const char *code = s_arg(ctx, "code");
    int rc =
        dn_registry_site_revoke(ctx->db, code, ctx->now_ms, ctx->why, sizeof ctx->why);
    if (rc)
        return rc;
    char when[DN_TIME_TEXT_SIZE];
    dn_time_format(ctx->now_ms, when);
    dn_log_info("admin %s: site %s revoked", ctx->admin, code);
    *result = json_pack("{s:s, s:s}", "site", code, "revoked", when);
    return *result ? 0 : DN_ENOMEM;
}

/*  site.threshold: a site's soft threshold for one sale (dn_facts), in the
    network's currency; "-" goes back to the network's.  */
static int s_site_threshold(s_ctx_t *ctx, json_t **result)
{
    const char *code = s_arg(ctx, "code"), *text = s_arg(ctx, "amount");
    char currency[4], shown[DN_MONEY_TEXT_SIZE] = "";
    int64_t minor = 0;
    int exponent, rc = dn_db_meta_get(ctx->db, DN_META_CURRENCY, currency, sizeof currency);

    if (rc == DN_ENOENT)
        snprintf(currency, sizeof currency, "%s", DN_CURRENCY_DEFAULT);
    else if (rc)
        return rc;
    exponent = dn_money_exponent(currency);
    if (strcmp(text, "-") != 0) {
        if (dn_money_parse(text, exponent, &minor) || minor <= 0) {
            snprintf(
                ctx->why, sizeof ctx->why,
                _("threshold '%.40s' is not an amount above 0 in %s (like %s), nor - "
                  "(the network's)"),
                text, currency, exponent == 0 ? "20000" : "20000.00");
            return DN_EINVAL;
        }
        dn_money_format(minor, exponent, shown, sizeof shown);
    }
    if ((rc = dn_facts_set_large_sale(ctx->db, code, minor, ctx->why, sizeof ctx->why)) != 0)
        return rc;
    dn_log_info("admin %s: site %s flags sales above %s", ctx->admin, code,
                minor ? shown : "the network's threshold");
    *result = json_pack("{s:s, s:o, s:o, s:s}", "site", code, "threshold",
                        minor ? json_string(shown) : json_null(), "threshold_minor",
                        minor ? json_integer(minor) : json_null(), "currency", currency);
    return *result ? 0 : DN_ENOMEM;
}

/* -- members --------------------------------------------------------------- */

static int s_member_conflicts(s_ctx_t *ctx, json_t **result)
{
    return dn_registry_member_conflicts(ctx->db, result);
}

/*  member.find: by name or phone prefix, the phone read with the network's
    default country, as the agent's `member find` reads it with the site's.  */
static int s_member_find(s_ctx_t *ctx, json_t **result)
{
    const char *limit_text = s_arg(ctx, "limit");
    int64_t limit = DN_REGISTRY_FIND_LIMIT;
    int country, rc;

    if (limit_text && dn_parse_int(limit_text, 1, DN_REGISTRY_FIND_MAX, &limit)) {
        snprintf(ctx->why, sizeof ctx->why,
                 _("--limit must be a whole number from 1 to %d"), DN_REGISTRY_FIND_MAX);
        return DN_EINVAL;
    }
    if ((rc = dn_phones_country(ctx->db, &country)) != 0)
        return rc;
    return dn_registry_member_find(ctx->db, s_arg(ctx, "text"), country, limit, result,
                                   ctx->why, sizeof ctx->why);
}

/* -- plans ----------------------------------------------------------------- */

static int s_plan_set(s_ctx_t *ctx, json_t **result)
{
    dn_plan_t plan;
    char date[DN_TIME_TEXT_SIZE];
    int rc = dn_plan_set(ctx->db, s_arg(ctx, "text"), ctx->now_ms, &plan, ctx->why,
                         sizeof ctx->why);
    if (rc)
        return rc;
    dn_time_format(plan.effective_ms, date);
    dn_log_info("admin %s: plan effective %.10s set (%s)", ctx->admin, date,
                plan.currency);
    rc = dn_plan_json(ctx->db, &plan, result);
    if (rc) /* stored all the same: a retry would only be told it exists */
        snprintf(ctx->why, sizeof ctx->why,
                 _("the plan effective %.10s is stored, but could not be read back (%s): "
                   "'dealernet-hq plan list' shows it"),
                 date, dn_strerror(rc));
    return rc;
}

static int s_plan_show(s_ctx_t *ctx, json_t **result)
{
    char when[DN_TIME_TEXT_SIZE];
    dn_plan_t plan;
    int64_t at_ms;
    int rc = s_date_arg(ctx, "at", 1, ctx->now_ms, &at_ms);
    if (rc)
        return rc;
    rc = dn_plan_at(ctx->db, at_ms, &plan);
    if (rc == DN_ENOENT) {
        dn_time_format(at_ms, when);
        snprintf(ctx->why, sizeof ctx->why,
                 _("no plan in force at %s: 'dealernet-hq plan set FILE' sets one"),
                 when);
    }
    if (rc)
        return rc;
    return dn_plan_json(ctx->db, &plan, result);
}

static int s_plan_list(s_ctx_t *ctx, json_t **result)
{
    return dn_plan_list(ctx->db, result);
}

static int s_plan_check(s_ctx_t *ctx, json_t **result)
{
    return dn_plan_check(ctx->db, s_arg(ctx, "text"), result, ctx->why, sizeof ctx->why);
}

static int s_plan_retire(s_ctx_t *ctx, json_t **result)
{
    int64_t effective_ms;
    int rc = s_date_arg(ctx, "effective", 0, 0, &effective_ms);
    if (rc)
        return rc;
    rc = dn_plan_retire(ctx->db, effective_ms, ctx->admin, ctx->now_ms, result, ctx->why,
                        sizeof ctx->why);
    if (rc == 0)
        dn_log_info("admin %s: plan effective %s retired", ctx->admin,
                    s_arg(ctx, "effective"));
    return rc;
}

/* -- the ledger ------------------------------------------------------------ */

static int s_period_close(s_ctx_t *ctx, json_t **result)
{
    const char *period = s_arg(ctx, "period");
    char when[DN_TIME_TEXT_SIZE];
    int rc = dn_ledger_period_close(ctx->db, period, ctx->admin, ctx->now_ms, ctx->why,
                                    sizeof ctx->why);
    if (rc)
        return rc;
    dn_time_format(ctx->now_ms, when);
    dn_log_info("admin %s: period %s closed", ctx->admin, period);
    *result = json_pack("{s:s, s:s}", "period", period, "closed", when);
    return *result ? 0 : DN_ENOMEM;
}

static int s_period_list(s_ctx_t *ctx, json_t **result)
{
    return dn_ledger_period_list(ctx->db, ctx->now_ms, result);
}

/* -- refusals --------------------------------------------------------------- */

/*  Appends one row of the refusals' listing.  0 or DN_ENOMEM.  */
static int s_refusal_row(json_t *rows, const char *kind, int64_t count, const char *what)
{
    return json_array_append_new(rows, json_pack("{s:s, s:I, s:s}", "kind", kind, "count",
                                                 (json_int_t)count, "what", what))
               ? DN_ENOMEM
               : 0;
}

/*  What the server refused since it started, by kind, and the door's
    strangers now: from the process's counters (dn_refusal), not the
    database.  */
static int s_refusals(s_ctx_t *ctx, json_t **result)
{
    json_t *rows = json_array();
    int strangers, rc = rows ? 0 : DN_ENOMEM;
    const char *port;
    (void)ctx;
    for (int k = 0; rc == 0 && k < DN_REFUSAL_KINDS; k++)
        rc = s_refusal_row(rows, dn_refusal_name((dn_refusal_t)k),
                           dn_refusal_total((dn_refusal_t)k),
                           _(dn_refusal_text((dn_refusal_t)k)));
    for (int i = 0; rc == 0 && (port = dn_refusal_port(i, &strangers)) != NULL; i++) {
        char kind[48], what[192];
        snprintf(kind, sizeof kind, "strangers_%s", port);
        snprintf(what, sizeof what,
                 _("connections on the %s port without a proven key, now"), port);
        rc = s_refusal_row(rows, kind, strangers, what);
    }
    if (rc) {
        json_decref(rows);
        return rc;
    }
    *result = rows;
    return 0;
}

/* -- exceptions ------------------------------------------------------------- */

static int s_exceptions(s_ctx_t *ctx, json_t **result)
{
    const char *all = s_arg(ctx, "all");
    return dn_facts_list(ctx->db, all && strcmp(all, "1") == 0, result);
}

/*  A reason HQ gives for an exception's resolution: the rule of a
    correction's reason (dn_valid_text, DN_CORRECTION_MAX_REASON).  0 or
    DN_EINVAL (why set).  */
static int s_reason_arg(s_ctx_t *ctx, const char **reason)
{
    char hidden[DN_HIDDEN_WHY_SIZE];
    *reason = s_arg(ctx, "reason");
    if (*reason && dn_valid_text(*reason, DN_CORRECTION_MAX_REASON))
        return 0;
    if (dn_valid_hidden(*reason, hidden, sizeof hidden)) {
        snprintf(ctx->why, sizeof ctx->why, "--reason %s", hidden);
        return DN_EINVAL;
    }
    snprintf(ctx->why, sizeof ctx->why,
             _("--reason must be 1 to %d bytes of text without control characters"),
             DN_CORRECTION_MAX_REASON);
    return DN_EINVAL;
}

static int s_exception_resolve(s_ctx_t *ctx, json_t **result)
{
    static const struct {
        const char *name;
        dn_facts_action_t action;
        const char *resolution;
    } actions[] = {{"post", DN_FACTS_POST, "posted"},
                   {"dismiss", DN_FACTS_DISMISS, "dismissed"},
                   {"accept", DN_FACTS_ACCEPT, "accepted"},
                   {"ack", DN_FACTS_ACKNOWLEDGE, "acknowledged"}};
    const char *id_text = s_arg(ctx, "id"), *seller = s_arg(ctx, "seller"), *reason;
    dn_ingest_t *ingest = NULL;
    int64_t *post = NULL;
    size_t n_post = 0, a;
    long long id;
    char *end;
    int rc;

    errno = 0;
    id = strtoll(id_text, &end, 10);
    if (errno || *end || end == id_text || id <= 0) {
        snprintf(ctx->why, sizeof ctx->why, _("'%.40s' is not an exception number"),
                 id_text);
        return DN_EINVAL;
    }
    /* Exactly one of the actions, each a flag.  */
    a = sizeof actions / sizeof actions[0];
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (!s_arg(ctx, actions[i].name))
            continue;
        if (a != sizeof actions / sizeof actions[0]) {
            snprintf(ctx->why, sizeof ctx->why,
                     _("give one of --post, --dismiss, --accept, "
                       "--ack, not two"));
            return DN_EINVAL;
        }
        a = i;
    }
    if (a == sizeof actions / sizeof actions[0]) {
        snprintf(ctx->why, sizeof ctx->why,
                 _("say how: --post, --dismiss, --accept or --ack (see exceptions)"));
        return DN_EINVAL;
    }
    if (seller && actions[a].action != DN_FACTS_POST) {
        snprintf(ctx->why, sizeof ctx->why, _("--seller goes with --post only"));
        return DN_EINVAL;
    }
    if ((rc = s_reason_arg(ctx, &reason)) != 0)
        return rc;
    if ((rc = dn_db_begin(ctx->db)) != 0)
        return rc;
    rc = dn_facts_resolve(ctx->db, id, actions[a].action, seller, ctx->admin, reason,
                          ctx->now_ms, &post, &n_post, ctx->why, sizeof ctx->why);
    if (rc == 0 && n_post && !(ingest = dn_ingest_new(ctx->db)))
        rc = DN_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n_post; i++)
        rc = dn_ingest_post_stored(ingest, post[i], ctx->now_ms);
    dn_ingest_destroy(&ingest);
    free(post);
    if (rc == 0)
        rc = dn_db_commit(ctx->db);
    if (rc) {
        dn_db_rollback(ctx->db);
        return rc;
    }
    dn_log_info("admin %s: exception %lld %s (%s)", ctx->admin, id, actions[a].resolution,
                reason);
    *result = json_pack("{s:I, s:s, s:I}", "id", (json_int_t)id, "resolution",
                        actions[a].resolution, "posted", (json_int_t)n_post);
    return *result ? 0 : DN_ENOMEM;
}

static int s_statement(s_ctx_t *ctx, json_t **result)
{
    return dn_ledger_statement(ctx->db, s_arg(ctx, "partner"), NULL, s_arg(ctx, "period"),
                               ctx->now_ms, result, ctx->why, sizeof ctx->why);
}

static int s_member_statement(s_ctx_t *ctx, json_t **result)
{
    /* the phone as typed: the statement makes it canonical with the
       network's country (dn_phones) */
    return dn_ledger_statement(ctx->db, NULL, s_arg(ctx, "phone"), s_arg(ctx, "period"),
                               ctx->now_ms, result, ctx->why, sizeof ctx->why);
}

/*  Parses argument "amount" as a decimal in the ledger's currency into
    *amount (currency and its exponent filled too); signed: a minus sign
    allowed (an adjustment's debit).  no_plan is the whole reason when no
    plan is set (one sentence, translated by the caller).  0, or DN_ENOENT / DN_EINVAL
   with the reason in ctx->why.  */
static int s_amount_arg(s_ctx_t *ctx, const char *no_plan, int signed_ok, int64_t *amount,
                        char currency[4], int *exponent)
{
    const char *text = s_arg(ctx, "amount");
    int rc = dn_plan_currency(ctx->db, currency, exponent);

    if (rc == DN_ENOENT) {
        snprintf(ctx->why, sizeof ctx->why, "%s", no_plan);
        return DN_ENOENT;
    }
    if (rc)
        return rc;
    rc = dn_money_parse(text, *exponent, amount);
    if (rc == DN_EOVERFLOW) {
        snprintf(ctx->why, sizeof ctx->why, _("amount %.40s is too large"), text);
        return DN_EINVAL;
    }
    if (rc) {
        if (signed_ok)
            snprintf(ctx->why, sizeof ctx->why,
                     _("amount '%.40s' is not an amount in %s (at most %d decimals, like "
                       "%s, negative to debit)"),
                     text, currency, *exponent, *exponent == 0 ? "-120" : "-12.50");
        else
            snprintf(ctx->why, sizeof ctx->why,
                     _("amount '%.40s' is not an amount in %s (at most %d decimals, like "
                       "%s)"),
                     text, currency, *exponent, *exponent == 0 ? "120" : "120.50");
        return DN_EINVAL;
    }
    return 0;
}

static int s_payout(s_ctx_t *ctx, json_t **result)
{
    char currency[4];
    int64_t amount;
    int exponent,
        rc = s_amount_arg(
            ctx, _("no plan is set yet, so the ledger has no currency and no balance"), 0,
            &amount, currency, &exponent);
    if (rc)
        return rc;
    return dn_ledger_payout(ctx->db, s_arg(ctx, "partner"), amount, s_arg(ctx, "ref"),
                            ctx->admin, ctx->now_ms, result, ctx->why, sizeof ctx->why);
}

/* -- payout runs (issue 15, part payrun) --------------------------------------- */

static int s_partner_bank(s_ctx_t *ctx, json_t **result)
{
    return dn_payrun_bank_set(ctx->db, s_arg(ctx, "code"), s_arg(ctx, "account"),
                              s_arg(ctx, "name"), s_arg(ctx, "bank"), ctx->admin,
                              ctx->now_ms, result, ctx->why, sizeof ctx->why);
}

/*  Parses argument "run" (a run's number) into *id.  0 or DN_EINVAL.  */
static int s_run_arg(s_ctx_t *ctx, int64_t *id)
{
    const char *text = s_arg(ctx, "run");
    if (dn_parse_int(text, 1, INT64_MAX, id) == 0)
        return 0;
    return dn_why(ctx->why, sizeof ctx->why, DN_EINVAL,
                  _("'%.40s' is not a payout run's number (see: dealernet-hq payout runs)"),
                  text);
}

static int s_payout_run(s_ctx_t *ctx, json_t **result)
{
    const char *text = s_arg(ctx, "min");
    char currency[4];
    int64_t min;
    int exponent, rc = dn_plan_currency(ctx->db, currency, &exponent);

    if (rc == DN_ENOENT)
        return dn_why(ctx->why, sizeof ctx->why, rc, "%s",
                      _("no plan is set yet, so the ledger has no currency and no balance"));
    if (rc)
        return rc;
    if (dn_money_parse(text, exponent, &min) || min < 0)
        return dn_why(ctx->why, sizeof ctx->why, DN_EINVAL,
                      _("--min '%.40s' is not an amount of 0 or more in %s (at most %d "
                        "decimals, like %s)"),
                      text, currency, exponent, exponent == 0 ? "100" : "100.00");
    return dn_payrun_propose(ctx->db, s_arg(ctx, "period"), min, ctx->admin, ctx->now_ms,
                             result, ctx->why, sizeof ctx->why);
}

/*  Approves or cancels (decide) the run named by argument "run".  */
static int s_payout_decide(s_ctx_t *ctx, json_t **result,
                           int (*decide)(sqlite3 *, int64_t, const char *, int64_t,
                                         json_t **, char *, size_t))
{
    int64_t id;
    int rc = s_run_arg(ctx, &id);
    return rc ? rc
              : decide(ctx->db, id, ctx->admin, ctx->now_ms, result, ctx->why,
                       sizeof ctx->why);
}

static int s_payout_approve(s_ctx_t *ctx, json_t **result)
{
    return s_payout_decide(ctx, result, dn_payrun_approve);
}

static int s_payout_cancel(s_ctx_t *ctx, json_t **result)
{
    return s_payout_decide(ctx, result, dn_payrun_cancel);
}

static int s_payout_runs(s_ctx_t *ctx, json_t **result)
{
    return dn_payrun_list(ctx->db, result);
}

static int s_payout_show(s_ctx_t *ctx, json_t **result)
{
    int64_t id;
    int rc = s_run_arg(ctx, &id);
    return rc ? rc : dn_payrun_show(ctx->db, id, result, ctx->why, sizeof ctx->why);
}

static int s_payout_export(s_ctx_t *ctx, json_t **result)
{
    int64_t id;
    int rc = s_run_arg(ctx, &id);
    return rc ? rc
              : dn_payrun_export(ctx->db, id, s_arg(ctx, "format"),
                                 s_arg(ctx, "payer_account"), s_arg(ctx, "payer_name"),
                                 ctx->now_ms, result, ctx->why, sizeof ctx->why);
}

/*  A void is the ledger's reversal and the rollups' in one transaction:
    either both are stored, or neither.  */
/*  The sale a command names: by its id (the argument sale), or by its
    site's receipt number (site and receipt, issue 13).  need: the
    message when neither is given.  Sets *eid and id.  0 or a DN_E* code
    (why set).  */
static int s_sale_arg(s_ctx_t *ctx, const char *need, int64_t *eid,
                      char id[DN_ID_TEXT_SIZE])
{
    const char *sale = s_arg(ctx, "sale"), *site = s_arg(ctx, "site");
    const char *receipt = s_arg(ctx, "receipt");

    if (sale && (site || receipt))
        return dn_why(ctx->why, sizeof ctx->why, DN_EINVAL, "%s",
                      _("give the sale's id or --site and --receipt, not both"));
    if (!sale && (!site || !receipt))
        return dn_why(
            ctx->why, sizeof ctx->why, DN_EINVAL, "%s",
            site || receipt
                ? _("--site and --receipt go together: a receipt number is its "
                    "site's")
                : need);
    return sale ? dn_ledger_sale_find(ctx->db, sale, eid, id, ctx->why, sizeof ctx->why)
                : dn_ledger_sale_by_receipt(ctx->db, site, receipt, eid, id, ctx->why,
                                            sizeof ctx->why);
}

static int s_sale_void(s_ctx_t *ctx, json_t **result)
{
    char id[DN_ID_TEXT_SIZE];
    int64_t eid = 0, through = 0;
    dn_ledger_t *ledger = NULL;
    dn_rollup_t *report = NULL;
    int rc = s_sale_arg(ctx,
                        _("sale void needs the SALE's id (see: dealernet-hq statement), "
                          "or --site SITE --receipt N"),
                        &eid, id);
    if (rc)
        return rc;
    if (!(ledger = dn_ledger_new(ctx->db)) || !(report = dn_rollup_new(ctx->db)))
        rc = DN_ENOMEM;
    if (rc == 0)
        rc = dn_db_begin(ctx->db);
    if (rc == 0) {
        rc = dn_ledger_void(ledger, eid, s_arg(ctx, "reason"), ctx->admin, ctx->now_ms,
                            &through, result, ctx->why, sizeof ctx->why);
        if (rc == 0)
            rc = dn_rollup_void(report, eid, through, ctx->now_ms);
        if (rc == 0)
            rc = dn_rollup_flush(report);
        if (rc == 0)
            rc = dn_db_commit(ctx->db);
        if (rc) {
            dn_db_rollback(ctx->db);
            json_decref(*result);
            *result = NULL;
        }
    }
    dn_rollup_destroy(&report);
    dn_ledger_destroy(&ledger);
    if (rc == 0)
        dn_log_info("admin %s: sale %s voided (correction %lld, %lld transfers): %s",
                    ctx->admin, id,
                    (long long)json_integer_value(json_object_get(*result, "correction")),
                    (long long)json_integer_value(json_object_get(*result, "transfers")),
                    s_arg(ctx, "reason"));
    return rc;
}

/*  sale.show: one sale and everything it made (dn_drill_sale).  */
static int s_sale_show(s_ctx_t *ctx, json_t **result)
{
    char id[DN_ID_TEXT_SIZE];
    int64_t eid = 0;
    int rc = s_sale_arg(ctx,
                        _("sale needs the SALE's id (see: dealernet-hq sales list), or "
                          "--site SITE --receipt N"),
                        &eid, id);
    return rc ? rc : dn_drill_sale(ctx->db, eid, result, ctx->why, sizeof ctx->why);
}

/*  sale.list: the newest sales that match (dn_drill_sales); dates are the
    network's zone's days, as report.sales takes them.  */
static int s_sale_list(s_ctx_t *ctx, json_t **result)
{
    const char *limit = s_arg(ctx, "limit"), *channel = s_arg(ctx, "channel");
    dn_drill_query_t q = {.site = s_arg(ctx, "site"),
                          .partner = s_arg(ctx, "partner"),
                          .member = s_arg(ctx, "member"),
                          .channel = -1,
                          .limit = DN_DRILL_LIMIT};
    int rc;

    if (limit && dn_parse_int(limit, 1, DN_DRILL_MAX_LIMIT, &q.limit))
        return dn_why(ctx->why, sizeof ctx->why, DN_EINVAL,
                      _("--limit must be a whole number from 1 to %d"), DN_DRILL_MAX_LIMIT);
    if (channel && (q.channel = dn_wire_channel_parse(channel)) < 0)
        return dn_why(ctx->why, sizeof ctx->why, DN_EINVAL,
                      _("--channel '%.40s' is not one of store, online, community"),
                      channel);
    if ((rc = s_date_arg(ctx, "from", 0, INT64_MIN, &q.from_ms)) != 0 ||
        (rc = s_date_arg(ctx, "to", 1, INT64_MAX, &q.to_ms)) != 0)
        return rc;
    return dn_drill_sales(ctx->db, &q, result, ctx->why, sizeof ctx->why);
}

static int s_adjust(s_ctx_t *ctx, json_t **result)
{
    char currency[4];
    int64_t amount;
    int exponent,
        rc = s_amount_arg(
            ctx, _("no plan is set yet, so the ledger has no currency to adjust in"), 1,
            &amount, currency, &exponent);
    if (rc)
        return rc;
    rc = dn_ledger_adjust(ctx->db, s_arg(ctx, "account"), amount, s_arg(ctx, "reason"),
                          ctx->admin, ctx->now_ms, result, ctx->why, sizeof ctx->why);
    if (rc == 0)
        dn_log_info("admin %s: adjustment of %s %s to %s (correction %lld): %s",
                    ctx->admin, json_string_value(json_object_get(*result, "amount")),
                    currency, json_string_value(json_object_get(*result, "account")),
                    (long long)json_integer_value(json_object_get(*result, "correction")),
                    s_arg(ctx, "reason"));
    return rc;
}

static int s_correction_list(s_ctx_t *ctx, json_t **result)
{
    return dn_ledger_corrections(ctx->db, result);
}

/*  The report comes back with status 0 whether it found differences or
    not ("ok" says which): it is the answer to the question asked.  */
static int s_verify(s_ctx_t *ctx, json_t **result)
{
    const char *path = sqlite3_db_filename(ctx->db, "main");
    int rc;
    if (!path || !*path) {
        snprintf(ctx->why, sizeof ctx->why, _("verify needs the server's database file"));
        return DN_EINVAL;
    }
    rc = dn_verify_run(path, result, ctx->why, sizeof ctx->why);
    if (rc == DN_ECHAIN && *result)
        rc = 0;
    dn_log_info("admin %s: verify: %s", ctx->admin,
                rc ? (ctx->why[0] ? ctx->why : dn_strerror(rc))
                : json_is_true(json_object_get(*result, "ok")) ? "ok"
                                                               : "differences");
    return rc;
}

/* -- HQ catalogue (issue 14, part B) ---------------------------------------- */

static int s_catalog_set(s_ctx_t *ctx, json_t **result)
{
    dn_catalog_text_t text = {s_arg(ctx, "sku"),       s_arg(ctx, "name"),
                              s_arg(ctx, "category"),  s_arg(ctx, "price"),
                              s_arg(ctx, "effective"), s_arg(ctx, "partner"),
                              s_arg(ctx, "fixed")};
    dn_catalog_row_t row;
    char day[DN_CATALOG_DAY_SIZE];
    uint64_t version = 0;
    int changed = 0;
    int rc = dn_catalog_parse(ctx->db, &text, ctx->now_ms, &row, ctx->why, sizeof ctx->why);
    if (rc)
        return rc;
    if ((rc = dn_catalog_set(ctx->db, &row, ctx->now_ms, &version, &changed)) != 0)
        return rc;
    dn_catalog_day_format(row.effective_ms, day);
    if (changed)
        dn_log_info("admin %s: catalog %s on %s's list from %s: %s (version %llu)", ctx->admin,
                    row.sku, row.partner[0] ? row.partner : "the network", day,
                    s_arg(ctx, "price"), (unsigned long long)version);
    *result = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:I}", "sku", row.sku, "list",
                        row.partner[0] ? row.partner : "network", "effective", day, "price",
                        s_arg(ctx, "price"), "fixed", row.fixed, "changed", changed,
                        "version", (json_int_t)version);
    return *result ? 0 : DN_ENOMEM;
}

static int s_catalog_remove(s_ctx_t *ctx, json_t **result)
{
    const char *sku = s_arg(ctx, "sku"), *partner = s_arg(ctx, "partner");
    const char *effective = s_arg(ctx, "effective");
    dn_registry_partner_t owner;
    int64_t effective_ms = 0;
    uint64_t version = 0;
    size_t removed = 0;
    int rc;

    if (effective && dn_catalog_day_parse(effective, &effective_ms)) {
        snprintf(ctx->why, sizeof ctx->why,
                 _("effective '%.40s' is not a date (YYYY-MM-DD)"), effective);
        return DN_EINVAL;
    }
    if (partner) {
        rc = dn_registry_partner_get(ctx->db, partner, &owner);
        if (rc == DN_ENOENT)
            snprintf(ctx->why, sizeof ctx->why,
                     _("partner %.40s does not exist (see: dealernet-hq partner list)"),
                     partner);
        if (rc)
            return rc;
        partner = owner.code;
    }
    rc = dn_catalog_remove(ctx->db, sku, partner, effective != NULL, effective_ms,
                           ctx->now_ms, &removed, &version, ctx->why, sizeof ctx->why);
    if (rc)
        return rc;
    dn_log_info("admin %s: catalog %s removed from %s's list (%zu row%s, version %llu)",
                ctx->admin, sku, partner ? partner : "the network", removed,
                removed == 1 ? "" : "s",
                (unsigned long long)version);
    *result = json_pack("{s:s, s:s, s:I, s:I}", "sku", sku, "list",
                        partner ? partner : "network", "removed", (json_int_t)removed,
                        "version", (json_int_t)version);
    return *result ? 0 : DN_ENOMEM;
}

static int s_catalog_list(s_ctx_t *ctx, json_t **result)
{
    return dn_catalog_list(ctx->db, s_arg(ctx, "partner"), ctx->now_ms, result, ctx->why,
                           sizeof ctx->why);
}

/*  One part of an import file (dn_catalog_import_part): dealernet-hq cuts
    a file over DN_CATALOG_PART_BYTES into parts.  */
static int s_catalog_import(s_ctx_t *ctx, json_t **result)
{
    const char *upload = s_arg(ctx, "upload"), *last = s_arg(ctx, "last");
    int64_t part, line;
    size_t n = strlen(upload);

    if (n < 1 || n > 40 || strspn(upload, "0123456789abcdef") != n) {
        snprintf(ctx->why, sizeof ctx->why, _("upload '%.40s' is not 1 to 40 hex digits"),
                 upload);
        return DN_EINVAL;
    }
    if (last && strcmp(last, "1") != 0) {
        snprintf(ctx->why, sizeof ctx->why, _("last '%.40s' is not 1"), last);
        return DN_EINVAL;
    }
    if (dn_parse_int(s_arg(ctx, "part"), 1, INT32_MAX, &part) ||
        dn_parse_int(s_arg(ctx, "line"), 2, INT32_MAX, &line)) {
        snprintf(ctx->why, sizeof ctx->why,
                 _("part and line must be whole numbers from 1 and 2"));
        return DN_EINVAL;
    }
    return dn_catalog_import_part(ctx->db, upload, part, last != NULL, line,
                                  s_arg(ctx, "text"), ctx->now_ms, result, ctx->why,
                                  sizeof ctx->why);
}

/* -- reports --------------------------------------------------------------- */

#define DN_ADMIN_DEFAULT_TOP 10 /* referrals without top */

static int s_report_sales(s_ctx_t *ctx, json_t **result)
{
    const char *by = s_arg(ctx, "by"), *team = s_arg(ctx, "team");
    dn_report_sales_t q = {.by = DN_REPORT_BY_MONTH, .partner = s_arg(ctx, "partner")};
    int rc;

    if (by && dn_report_by_parse(by, &q.by)) {
        snprintf(
            ctx->why, sizeof ctx->why,
            _("--by '%.40s' is not one of partner, site, channel, day, month, category"),
            by);
        return DN_EINVAL;
    }
    if (team && strcmp(team, "1") != 0 && strcmp(team, "0") != 0) {
        snprintf(ctx->why, sizeof ctx->why, _("team '%.40s' is not 1 or 0"), team);
        return DN_EINVAL;
    }
    q.team = team && strcmp(team, "1") == 0;
    if ((rc = s_date_arg(ctx, "from", 0, INT64_MIN, &q.from_ms)) != 0 ||
        (rc = s_date_arg(ctx, "to", 1, INT64_MAX, &q.to_ms)) != 0)
        return rc;
    return dn_report_sales(ctx->db, &q, result, ctx->why, sizeof ctx->why);
}

static int s_report_kpi(s_ctx_t *ctx, json_t **result)
{
    return dn_report_kpi(ctx->db, s_arg(ctx, "partner"), s_arg(ctx, "period"),
                         ctx->now_ms, result, ctx->why, sizeof ctx->why);
}

static int s_report_referrals(s_ctx_t *ctx, json_t **result)
{
    const char *top = s_arg(ctx, "top"), *member = s_arg(ctx, "member");
    int64_t n = DN_ADMIN_DEFAULT_TOP;

    if (top && dn_parse_int(top, 1, DN_REPORT_MAX_TOP, &n)) {
        snprintf(ctx->why, sizeof ctx->why,
                 _("--top '%.40s' is not a number from 1 to %d"), top, DN_REPORT_MAX_TOP);
        return DN_EINVAL;
    }
    /* the phone as typed: made canonical by the report (dn_phones) */
    return dn_report_referrals(ctx->db, (int)n, member, result, ctx->why,
                               sizeof ctx->why);
}

static int s_report_sites(s_ctx_t *ctx, json_t **result)
{
    return dn_report_sites(ctx->db, ctx->now_ms, result);
}

static int s_report_earnings(s_ctx_t *ctx, json_t **result)
{
    return dn_report_earnings(ctx->db, s_arg(ctx, "period"), ctx->now_ms, result, ctx->why,
                              sizeof ctx->why);
}

static int s_compliance_report(s_ctx_t *ctx, json_t **result)
{
    return dn_comply_report(ctx->db, s_arg(ctx, "period"), ctx->now_ms, result, ctx->why,
                            sizeof ctx->why);
}

/* -- notices --------------------------------------------------------------- */

/*  A notice goes to exactly one of: every site, a partner's subtree, a
    site; no default, so that a forgotten --site never tells every shop.  */
static int s_notice_send(s_ctx_t *ctx, json_t **result)
{
    const char *all = s_arg(ctx, "all"), *partner = s_arg(ctx, "partner");
    const char *site = s_arg(ctx, "site");
    int rc;

    if (all && strcmp(all, "1") != 0) {
        snprintf(ctx->why, sizeof ctx->why, _("all '%.40s' is not 1"), all);
        return DN_EINVAL;
    }
    if (!!all + !!partner + !!site != 1) {
        snprintf(
            ctx->why, sizeof ctx->why,
            _("say who receives the notice: one of --all, --partner CODE, --site CODE"));
        return DN_EINVAL;
    }
    rc = dn_notice_send(ctx->db, s_arg(ctx, "text"), partner, site, ctx->admin, ctx->now_ms,
                        result, ctx->why, sizeof ctx->why);
    if (rc == 0)
        dn_log_info("admin %s: notice %lld sent to %s%s (%lld sites)", ctx->admin,
                    (long long)json_integer_value(json_object_get(*result, "id")),
                    partner ? "partner " : site ? "site " : "all sites",
                    partner ? partner : site ? site : "",
                    (long long)json_integer_value(json_object_get(*result, "sites")));
    return rc;
}

static int s_notice_list(s_ctx_t *ctx, json_t **result)
{
    return dn_notice_list(ctx->db, result);
}

/* -- web users (issue 15, webcore) ------------------------------------------ */

static int s_web_user_add(s_ctx_t *ctx, json_t **result)
{
    const char *name = s_arg(ctx, "name");
    char *password = (char *)s_arg(ctx, "password"); /* the request's own copy */
    int rc = dn_webuser_add(ctx->db, name, password, ctx->now_ms, result, ctx->why,
                            sizeof ctx->why);
    OPENSSL_cleanse(password, strlen(password));
    if (rc == 0)
        dn_log_info("admin %s: web user %s added", ctx->admin,
                    json_string_value(json_object_get(*result, "user")));
    return rc;
}

static int s_web_user_remove(s_ctx_t *ctx, json_t **result)
{
    int rc = dn_webuser_remove(ctx->db, s_arg(ctx, "name"), ctx->now_ms, result, ctx->why,
                               sizeof ctx->why);
    if (rc == 0)
        dn_log_info("admin %s: web user %s removed", ctx->admin,
                    json_string_value(json_object_get(*result, "user")));
    return rc;
}

static int s_web_user_list(s_ctx_t *ctx, json_t **result)
{
    return dn_webuser_list(ctx->db, result);
}

/* -- dispatch -------------------------------------------------------------- */

static const s_command_t s_commands[] = {
    {"partner.add",
     {"code", "name", "kind", "?parent", "?recruiter", "?joined"},
     s_partner_add, 0},
    {"partner.list", {NULL}, s_partner_list, 1},
    {"partner.move", {"code", "parent", "?effective"}, s_partner_move, 0},
    {"partner.tree", {"?code", "?at"}, s_partner_tree, 1},
    {"partner.suspend", {"code"}, s_partner_suspend, 0},
    {"partner.resume", {"code"}, s_partner_resume, 0},
    {"site.add", {"code", "partner", "?name"}, s_site_add, 0},
    {"site.rename", {"code", "name"}, s_site_rename, 0},
    {"site.token", {"code", "?unrevoke"}, s_site_token, 0},
    {"site.list", {NULL}, s_site_list, 1},
    {"site.revoke", {"code"}, s_site_revoke, 0},
    {"site.threshold", {"code", "amount"}, s_site_threshold, 0},
    {"member.conflicts", {NULL}, s_member_conflicts, 1},
    {"member.find", {"text", "?limit"}, s_member_find, 1},
    {"member.statement", {"phone", "?period"}, s_member_statement, 1},
    {"plan.set", {"text"}, s_plan_set, 0},
    {"plan.show", {"?at"}, s_plan_show, 1},
    {"plan.list", {NULL}, s_plan_list, 1},
    {"plan.check", {"text"}, s_plan_check, 1},
    {"plan.retire", {"effective"}, s_plan_retire, 0},
    {"period.close", {"period"}, s_period_close, 0},
    {"period.list", {NULL}, s_period_list, 1},
    {"statement", {"partner", "?period"}, s_statement, 1},
    {"payout", {"partner", "amount", "ref"}, s_payout, 0},
    {"partner.bank", {"code", "account", "name", "bank"}, s_partner_bank, 0},
    {"payout.run", {"period", "min"}, s_payout_run, 0},
    {"payout.approve", {"run"}, s_payout_approve, 0},
    {"payout.cancel", {"run"}, s_payout_cancel, 0},
    {"payout.runs", {NULL}, s_payout_runs, 1},
    {"payout.show", {"run"}, s_payout_show, 1},
    {"payout.export", {"run", "format", "?payer_account", "?payer_name"}, s_payout_export, 1},
    {"verify", {NULL}, s_verify, 1},
    {"exception.list", {"?all"}, s_exceptions, 1},
    {"refusals", {NULL}, s_refusals, 1},
    {"exception.resolve",
     {"id", "reason", "?post", "?dismiss", "?accept", "?ack", "?seller"},
     s_exception_resolve, 0},
    {"sale.void", {"?sale", "reason", "?site", "?receipt"}, s_sale_void, 0},
    {"sale.show", {"?sale", "?site", "?receipt"}, s_sale_show, 1},
    {"sale.list",
     {"?site", "?partner", "?member", "?from", "?to", "?channel", "?limit"},
     s_sale_list, 1},
    {"adjust", {"account", "amount", "reason"}, s_adjust, 0},
    {"correction.list", {NULL}, s_correction_list, 1},
    {"report.sales", {"?by", "?from", "?to", "?partner", "?team"}, s_report_sales, 1},
    {"report.kpi", {"?partner", "?period"}, s_report_kpi, 1},
    {"report.referrals", {"?top", "?member"}, s_report_referrals, 1},
    {"report.sites", {NULL}, s_report_sites, 1},
    {"report.earnings", {"?period"}, s_report_earnings, 1},
    {"compliance.report", {"?period"}, s_compliance_report, 1},
    {"catalog.set",
     {"sku", "price", "name", "?category", "?effective", "?partner", "?fixed"},
     s_catalog_set, 0},
    {"catalog.remove", {"sku", "?partner", "?effective"}, s_catalog_remove, 0},
    {"catalog.list", {"?partner"}, s_catalog_list, 1},
    {"catalog.import", {"text", "upload", "part", "line", "?last"}, s_catalog_import, 0},
    {"notice.send", {"text", "?all", "?partner", "?site"}, s_notice_send, 0},
    {"notice.list", {NULL}, s_notice_list, 1},
    {"web.user.add", {"name", "password"}, s_web_user_add, 0},
    {"web.user.remove", {"name"}, s_web_user_remove, 0},
    {"web.user.list", {NULL}, s_web_user_list, 1},
};

#define DN_ADMIN_COMMANDS (sizeof s_commands / sizeof s_commands[0])

/*  The command called name, or NULL (name may be NULL).  */
static const s_command_t *s_command(const char *name)
{
    for (size_t i = 0; name && i < DN_ADMIN_COMMANDS; i++)
        if (strcmp(name, s_commands[i].name) == 0)
            return &s_commands[i];
    return NULL;
}

static const char *s_arg_name(const char *spec)
{
    return spec[0] == '?' ? spec + 1 : spec;
}

/*  Checks req's arguments against cmd.  Returns 0, or DN_EINVAL with the
    reason in why.  */
static int s_check_args(const s_command_t *cmd, const Dealernet__AdminRequest *req,
                        char *why, size_t why_size)
{
    for (size_t i = 0; i < req->n_args; i++) {
        int known = 0;
        for (size_t j = 0; j < DN_ADMIN_MAX_ARGS && cmd->args[j] && !known; j++)
            known = strcmp(req->args[i]->name, s_arg_name(cmd->args[j])) == 0;
        if (!known) {
            snprintf(why, why_size, _("unknown argument '%s' for %s"), req->args[i]->name,
                     cmd->name);
            return DN_EINVAL;
        }
    }
    for (size_t j = 0; j < DN_ADMIN_MAX_ARGS && cmd->args[j]; j++) {
        if (cmd->args[j][0] != '?' && !dn_wire_admin_arg(req, cmd->args[j])) {
            snprintf(why, why_size, _("%s needs argument '%s'"), cmd->name, cmd->args[j]);
            return DN_EINVAL;
        }
    }
    return 0;
}

/*  Packs a reply: status 0 and result (may be NULL), or status and error.  */
static int s_reply(unsigned status, const char *error, const char *result,
                   uint8_t **reply, size_t *reply_len)
{
    Dealernet__AdminReply msg = DEALERNET__ADMIN_REPLY__INIT;
    char why[DN_WHY_SIZE];
    int rc;

    msg.has_status = 1;
    msg.status = status;
    msg.error = status ? (char *)error : NULL;
    msg.result = status ? NULL : (char *)result;
    rc = dn_wire_admin_reply_pack(&msg, reply, reply_len, why, sizeof why);
    if (rc == DN_ETOOBIG) {
        dn_log_warn("admin reply too large: %s", why);
        return s_reply(EX_SOFTWARE,
                       _("the result is too large to send; narrow the request"), NULL,
                       reply, reply_len);
    }
    if (rc) {
        dn_log_error("cannot pack an admin reply: %s",
                     rc == DN_EPROTO ? why : dn_strerror(rc));
        return DN_ENOMEM;
    }
    return 0;
}

int dn_admin_handle(sqlite3 *db, const char *admin, const uint8_t *request, size_t len,
                    uint8_t **reply, size_t *reply_len)
{
    return dn_admin_handle_at(db, admin, dn_time_now_ms(), request, len, reply,
                              reply_len);
}

/*  dn_admin_handle_at once req is decoded: runs it and replies; frees req.  */
static int s_handle(sqlite3 *db, const char *admin, Dealernet__AdminRequest *req,
                    int64_t now_ms, uint8_t **reply, size_t *reply_len)
{
    s_ctx_t ctx = {.db = db, .admin = admin};
    const s_command_t *cmd = NULL;
    char error[DN_ADMIN_WHY_SIZE + 64];
    json_t *result = NULL;
    char *text;
    int rc;

    /* The admin protocol did not change with protocol 2 (downstream is a
       sync matter) nor 3 (commands were only added): an HQ command line
       of any protocol this server still answers is served, so HQ need not
       upgrade dealernet-hq with it.  */
    if (req->protocol < DN_PROTOCOL_MIN_VERSION || req->protocol > DN_PROTOCOL_VERSION) {
        snprintf(
            error, sizeof error,
            _("admin protocol %u is not supported: this server speaks protocols %d to "
              "%d; use a dealernet-hq of one of those"),
            req->protocol, DN_PROTOCOL_MIN_VERSION, DN_PROTOCOL_VERSION);
        dn_wire_admin_request_free(&req);
        return s_reply(EX_DATAERR, error, NULL, reply, reply_len);
    }
    cmd = s_command(req->command);
    if (!cmd) {
        snprintf(error, sizeof error, _("unknown command %s"), req->command);
        dn_wire_admin_request_free(&req);
        return s_reply(EX_USAGE, error, NULL, reply, reply_len);
    }
    if (s_check_args(cmd, req, error, sizeof error)) {
        dn_wire_admin_request_free(&req);
        return s_reply(EX_USAGE, error, NULL, reply, reply_len);
    }
    dn_metrics_admin(cmd->query); /* a read-only query, or a write */

    ctx.req = req;
    ctx.now_ms = now_ms;
    dn_db_full_clear();
    rc = cmd->run(&ctx, &result);
    if (rc == DN_EDB && dn_db_full()) {
        /* HQ can act on this one; "database error" tells it nothing.  */
        snprintf(error, sizeof error,
                 _("server disk full: nothing was changed; free space on the disk of the "
                   "server's data folder, then retry"));
        dn_log_error("admin %s: %s refused: server disk full", ctx.admin, cmd->name);
        dn_wire_admin_request_free(&req);
        return s_reply((unsigned)dn_exit_code(rc), error, NULL, reply, reply_len);
    }
    if (rc) {
        snprintf(error, sizeof error, "%s", ctx.why[0] ? ctx.why : dn_strerror(rc));
        dn_log_info("admin %s: %s refused: %s", ctx.admin, cmd->name, error);
        dn_wire_admin_request_free(&req);
        return s_reply((unsigned)dn_exit_code(rc), error, NULL, reply, reply_len);
    }
    dn_wire_admin_request_free(&req);
    text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(result);
    if (!text)
        return s_reply(EX_SOFTWARE, _("out of memory building the result"), NULL, reply,
                       reply_len);
    rc = s_reply(0, NULL, text, reply, reply_len);
    OPENSSL_cleanse(text, strlen(text)); /* may hold an enrollment token */
    free(text);
    return rc;
}

int dn_admin_is_query(const char *command)
{
    const s_command_t *cmd = s_command(command);
    return cmd ? cmd->query : 0;
}

int dn_admin_request_is_query(const uint8_t *request, size_t len)
{
    Dealernet__AdminRequest *req = NULL;
    char why[DN_WHY_SIZE];
    if (dn_wire_admin_request_unpack(request, len, &req, why, sizeof why) != 0)
        return 0; /* the loop refuses it, as it always did */
    int query = dn_admin_is_query(req->command);
    dn_wire_admin_request_free(&req);
    return query;
}

int dn_admin_reply_busy(const uint8_t *request, size_t len, unsigned queries, uint8_t **reply,
                        size_t *reply_len)
{
    static dn_log_limit_t busy = {"queries refused as the server is busy", 0, 0, 0, NULL};
    Dealernet__AdminRequest *req = NULL;
    char why[DN_WHY_SIZE], error[DN_ADMIN_WHY_SIZE];
    int rc;

    *reply = NULL;
    *reply_len = 0;
    if (dn_wire_admin_request_unpack(request, len, &req, why, sizeof why) != 0)
        req = NULL; /* dn_admin_request_is_query decoded it: not expected; English then */
    dn_i18n_peer_begin(req ? req->lang : NULL);
    snprintf(error, sizeof error, _("the server is answering %u queries; retry in a moment"),
             queries);
    rc = s_reply(EX_TEMPFAIL, error, NULL, reply, reply_len);
    dn_i18n_peer_end();
    dn_log_warn_limited(&busy, "admin: %s refused: the server is answering %u queries",
                        req ? req->command : "a query", queries);
    dn_wire_admin_request_free(&req);
    return rc;
}

int dn_admin_query(sqlite3 *db, const char *admin, int64_t now_ms, const char *command,
                   const char *const names[], const char *const values[], size_t n,
                   json_t **result, char *why, size_t why_size)
{
    Dealernet__AdminArg args[DN_ADMIN_MAX_ARGS], *argp[DN_ADMIN_MAX_ARGS];
    Dealernet__AdminRequest req = DEALERNET__ADMIN_REQUEST__INIT;
    s_ctx_t ctx = {.db = db, .admin = admin ? admin : "?", .now_ms = now_ms};
    const s_command_t *cmd = NULL;
    int rc;

    *result = NULL;
    why[0] = '\0';
    if (!(cmd = s_command(command)) || !cmd->query || n > DN_ADMIN_MAX_ARGS) {
        snprintf(why, why_size, _("unknown command %s"), command);
        return EX_USAGE;
    }
    for (size_t i = 0; i < n; i++) {
        dealernet__admin_arg__init(&args[i]);
        args[i].name = (char *)names[i];
        args[i].value = (char *)values[i];
        argp[i] = &args[i];
    }
    req.command = (char *)command;
    req.n_args = n;
    req.args = argp;
    if (s_check_args(cmd, &req, why, why_size))
        return EX_USAGE;
    ctx.req = &req;
    rc = cmd->run(&ctx, result);
    if (rc) {
        snprintf(why, why_size, "%s", ctx.why[0] ? ctx.why : dn_strerror(rc));
        json_decref(*result);
        *result = NULL;
        return dn_exit_code(rc);
    }
    return 0;
}

int dn_admin_handle_at(sqlite3 *db, const char *admin, int64_t now_ms,
                       const uint8_t *request, size_t len, uint8_t **reply,
                       size_t *reply_len)
{
    Dealernet__AdminRequest *req = NULL;
    s_ctx_t ctx = {.db = db, .admin = admin ? admin : "?"};
    char error[DN_ADMIN_WHY_SIZE + 64];
    int rc;

    *reply = NULL;
    *reply_len = 0;
    rc = dn_wire_admin_request_unpack(request, len, &req, ctx.why, sizeof ctx.why);
    if (rc) {
        snprintf(error, sizeof error, _("malformed admin request: %s"),
                 rc == DN_ENOMEM ? dn_strerror(rc) : ctx.why);
        dn_log_warn("admin %s: %s", ctx.admin, error);
        return s_reply(EX_DATAERR, error, NULL, reply, reply_len);
    }
    /* The reply's error in HQ's language (dn_i18n.h); s_handle's log
       lines keep their English wording, quoting the reason as HQ reads it.  */
    dn_i18n_peer_begin(req->lang);
    rc = s_handle(db, ctx.admin, req, now_ms, reply, reply_len);
    dn_i18n_peer_end();
    return rc;
}


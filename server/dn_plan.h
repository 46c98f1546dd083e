/*  dn_plan -- commission and referral plans: the INI format, its checks,
    and the versions in force over time.

    A plan file (see deploy/plan.ini and the README) names its effective
    date, currency, per-level rates in basis points, per-category level
    tables, a cap, and the referral and recruit-override rewards.  Plans
    are versioned by effective date; the ledger asks which version was in
    force at a sale's recorded time.  All SQL of plans and plan_rates lives
    here.
*/
#ifndef DN_PLAN_H
#define DN_PLAN_H

#include "dn_db.h"
#include "dn_valid.h"
#include "dn_wire.h" /* DN_PLAN_MAX_BYTES */

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define DN_PLAN_MAX_LEVELS     10 /* levels 0 .. 9 */
#define DN_PLAN_MAX_CATEGORIES 32

/*  [plan] compliance: the rules a plan is checked against before it is
    set.  NONE (the default, or `compliance = none`): the plan as written.
    CN_DIRECT_SELLING (`compliance = cn-direct-selling`): pay to
    individuals only from their own sales, at most 30 %, nothing per
    recruit (see dn_plan_parse and the README, "Compliance").  */
typedef enum {
    DN_PLAN_COMPLIANCE_NONE = 0,
    DN_PLAN_COMPLIANCE_CN_DIRECT_SELLING
} dn_plan_compliance_t;

/*  The most a direct seller may be paid on its own sales under
    cn-direct-selling: 30 % (直销管理条例 art. 24).  */
#define DN_PLAN_CN_MAX_OWN_BPS 3000

/*  One level table: [levels] or [category:NAME].  Levels not listed pay 0;
    n_levels is one past the highest level listed.  */
typedef struct {
    char category[DN_MAX_CODE_LEN + 1]; /* "" for [levels] */
    /* a category's display name, any script ("" none): its section's
       `name = ` line; read back by dn_plan_at (not dn_plan_at_cached, the
       ledger's, which pays by code) */
    char name[DN_MAX_NAME_BYTES + 1];
    int n_levels;
    int32_t bps[DN_PLAN_MAX_LEVELS];
} dn_plan_table_t;

typedef struct {
    int64_t id;           /* 0 until stored */
    int64_t effective_ms; /* UTC midnight of the effective date */
    char currency[4];
    int exponent;           /* of the currency */
    int32_t cap_bps;        /* default 10000 (no cap) */
    dn_plan_table_t levels; /* [levels] */
    dn_plan_table_t categories[DN_PLAN_MAX_CATEGORIES];
    int n_categories;
    int64_t first_purchase_bonus;  /* minor units; default 0 */
    int32_t purchase_bps;          /* default 0 */
    int32_t purchase_days;         /* default 0 */
    int32_t recruit_override_bps;  /* default 0 */
    int32_t recruit_override_days; /* default 0 */
    dn_plan_compliance_t compliance; /* default NONE */
} dn_plan_t;

/*  Parses and checks a plan file's text.  Sections: [plan] (effective =
    YYYY-MM-DD, required; currency = ISO 4217, required; cap_bps = 0..10000;
    compliance = none | cn-direct-selling),
    [levels] (N = bps, N in 0..9, at least one), [category:NAME] (NAME a
    code, else dn_valid_code_check's line with the hint to give the name
    with a `name =` line; N = bps; name = the category's display name,
    dn_valid_name_why), [referral] (first_purchase_bonus = amount in the
    currency, purchase_bps, purchase_days, recruit_override_bps,
    recruit_override_days).  Returns 0, or DN_EPARSE with "line N: reason"
    in why for the first problem: unknown section or key, a key given twice,
    a rate outside 0..10000, a level beyond 9 ("more than 10 levels"), an
    unknown currency, a malformed number, date or amount, a missing
    required key, an unknown compliance setting.
    Under compliance = cn-direct-selling it also refuses, naming the line
    of the rate or key, what pays an individual (a reseller, a member)
    other than on its own sales: a level above 0 paying more than 0 in
    [levels] or a [category:NAME] (pay computed from a downline's sales,
    禁止传销条例 art. 7(3)), a level 0 above DN_PLAN_CN_MAX_OWN_BPS
    (直销管理条例 art. 24), a first_purchase_bonus above 0 (pay per person
    brought in, art. 7(1)), purchase_bps or recruit_override_bps above 0
    with a window above 0 days (pay computed from another's purchases or
    sales, art. 7(3)).  */
int dn_plan_parse(const char *text, dn_plan_t *plan, char *why, size_t why_size);

/*  Returns the table that pays lines of category (NULL or "" for none):
    its [category:NAME] section if the plan has one, else [levels].
    Categories are codes: matched without regard to ASCII case, so a line
    of `Rice` is paid by [category:rice] (the parser stores NAME
    lower-case).  Borrowed from plan.  */
const dn_plan_table_t *dn_plan_table(const dn_plan_t *plan, const char *category);

/*  Parses text and stores it as a new plan version in one transaction
    (source kept verbatim).  Refuses (DN_EEXIST) a second plan with the same
    effective date, a retired one's included, (DN_EINVAL) a currency other
    than the existing plans', and (DN_EPERM) an effective date at or before
    the recorded time of any sale the server already holds, since that
    would change commissions already posted; why says which.  Returns 0
    and fills *plan (with its id), DN_EPARSE (see dn_plan_parse), DN_EDB.  */
int dn_plan_set(sqlite3 *db, const char *text, int64_t now_ms, dn_plan_t *plan, char *why,
                size_t why_size);

/*  Checks text exactly as dn_plan_set would (the same parse, the same
    refusals with the same reasons and codes) and stores nothing.  Sets
    *out to a new JSON object: {"effective" (YYYY-MM-DD), "currency",
    "against" (the effective date of the version in force at the file's
    effective date, or null when none is), "changes" (dn_plan_diff of that
    version and the file)}.  Returns 0, or what dn_plan_set returns.  */
int dn_plan_check(sqlite3 *db, const char *text, json_t **out, char *why,
                  size_t why_size);

/*  Sets *changes to a new JSON array: how plan differs from in_force (NULL:
    no version, every value is new), field by field in the file's order --
    cap_bps, each rate of [levels] and of each [category:NAME] ("[levels]
    1", "[category:rice] 0"), first_purchase_bonus, purchase_bps,
    purchase_days, recruit_override_bps, recruit_override_days, and
    compliance when either version sets one other than none -- one
    {"field", "change": "added" | "removed" | "changed", "in_force", "new"}
    (values as text; null when absent) per difference.  A rate is in a
    table when its level is at most the highest level listed.  The
    effective date and the currency are not compared.  Returns 0 or
    DN_ENOMEM.  */
int dn_plan_diff(const dn_plan_t *in_force, const dn_plan_t *plan, json_t **changes);

/*  Retires the version effective at effective_ms (a UTC midnight) as of
    now_ms, by admin, in one transaction: the version stays, with who
    retired it and when, and is never in force again -- sales of its days
    fall under the version before it.  Refused (DN_EPERM) while any stored
    sale was recorded in its window (from its date to the next version in
    force), since that sale was posted under it.  Sets *out to {"effective",
    "retired" (ISO-8601), "retired_by", "in_force_instead" (the date of the
    version now in force from its date, or null)}.  Returns 0, DN_ENOENT
    (no version of that date), DN_EEXIST (already retired), DN_EPERM,
    DN_EDB; why says which.  */
int dn_plan_retire(sqlite3 *db, int64_t effective_ms, const char *admin, int64_t now_ms,
                   json_t **out, char *why, size_t why_size);

/*  Fills *plan with the version in force at at_ms (retired versions never
    are).  Returns 0, DN_ENOENT (no plan in force then), DN_EDB.  */
int dn_plan_at(sqlite3 *db, int64_t at_ms, dn_plan_t *plan);

/*  As dn_plan_at, with its statements prepared once in cache (a
    dn_db_cache_t on the connection, borrowed): for the ledger's hot path.  */
int dn_plan_at_cached(dn_db_cache_t *cache, int64_t at_ms, dn_plan_t *plan);

/*  Sets *plans (caller frees) and *n to every version not retired, by
    effective date, each as dn_plan_at_cached reads it: the ledger keeps
    them to find the one in force at each sale.  Returns 0, DN_ENOMEM or
    DN_EDB (a read cut short: a short list would post by the wrong plan);
    on error *plans is NULL and *n 0.  */
int dn_plan_in_force_cached(dn_db_cache_t *cache, dn_plan_t **plans, size_t *n);

/*  The network's plan currency (that of its first version) and its
    exponent, or DN_ENOENT before any plan; DN_EDB.  */
int dn_plan_currency(sqlite3 *db, char currency[4], int *exponent);

/*  Sets *list to a new JSON array (caller decrefs), one flat object per
    version, oldest first: {"effective", "currency", "cap_bps", "levels"
    (e.g. "800/300/100"), "categories" (e.g. "rice 500/200"),
    "first_purchase_bonus", "purchase_bps", "purchase_days",
    "recruit_override_bps", "recruit_override_days", "compliance" ("none"
    or "cn-direct-selling"), "created", "retired"
    (ISO-8601, or null while in force), "retired_by" (or null)}, the
    retired versions included.  Returns 0 or DN_EDB.  */
int dn_plan_list(sqlite3 *db, json_t **list);

/*  The name of a compliance setting as the file writes it: "none",
    "cn-direct-selling".  Static.  */
const char *dn_plan_compliance_name(dn_plan_compliance_t compliance);

/*  Sets *out to a new JSON object describing plan (as plan show prints it,
    with "source" the stored file text when known).  0, DN_ENOMEM, or DN_EDB (the
    stored version could not be read).  */
int dn_plan_json(sqlite3 *db, const dn_plan_t *plan, json_t **out);

#endif

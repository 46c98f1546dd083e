/*  dn_facts -- what the server believes of an event (see dn_facts.h).

    The judgement reads only what HQ decided (the registry, the network's
    settings) and what the server itself saw (when it received the event,
    the site's previous event): never anything else the site says.  It is
    made once, at ingest, and stored with the event (events.recorded_at_ms,
    sales.seller, the exceptions), so that verify and a later release post
    from the very same facts.
*/
#include "dn_facts.h"
#include "dn_i18n.h"
#include "dn_tree.h"
#include "dn_array.h"
#include "dn_central.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _dn_facts_t {
    sqlite3 *db;
    dn_db_cache_t *cache;
    int loaded;                               /* the settings below are read */
    char currency[4];                         /* the network's */
    int64_t large_sale;                       /* soft threshold, minor units */
    int64_t max_sale;                         /* bound on one sale, 10^-4 units */
    int64_t site_id;                          /* the site cached below, 0: none */
    int64_t site_created_ms;                  /* when HQ added it */
    int64_t site_partner_id;                  /* its partner as HQ registered */
    int64_t site_large_sale;                  /* its soft threshold, 0: the network's */
    char agent_partner[DN_MAX_CODE_LEN + 1];  /* what its agent was told at init */
    dn_tree_t *tree; /* the partners, for "is the seller in the site's team" */
};

/*  How an exception of a kind is resolved (see DN_FACTS_KINDS).  */
typedef enum { S_FLAG, S_SALE, S_STUCK, S_REFUND, S_REFERRAL } s_how_t;

static const struct {
    const char *name;
    s_how_t how;
} s_kinds[] = {
#define DN_X_KIND(name, text, how) {text, S_##how},
    DN_FACTS_KINDS(DN_X_KIND)
#undef DN_X_KIND
};

/*  Per way of resolving: the options the exceptions list offers (NULL:
    none, resolved with another exception) and those a refusal names (in
    HQ's language where there are words: N_()).  */
static const struct {
    const char *offer, *usage;
} s_hows[] = {
    [S_FLAG] = {"--ack", "--ack"},
    [S_SALE] = {"--post --seller CODE | --post | --dismiss",
                N_("--post [--seller CODE] or --dismiss")},
    [S_STUCK] = {"--dismiss", "--dismiss"},
    [S_REFUND] = {NULL, N_("its sale's exception")},
    [S_REFERRAL] = {"--accept | --dismiss", N_("--accept or --dismiss")},
};

/*  The kind's way of resolving; an unknown kind (a newer server's) is a
    flag.  */
static s_how_t s_how(dn_facts_kind_t kind)
{
    return (unsigned)kind < DN_FACTS_KIND_COUNT ? s_kinds[kind].how : S_FLAG;
}

const char *dn_facts_kind_name(dn_facts_kind_t kind)
{
    return (unsigned)kind < DN_FACTS_KIND_COUNT ? s_kinds[kind].name : "?";
}

int dn_facts_kind_held(dn_facts_kind_t kind)
{
    return s_how(kind) != S_FLAG;
}

/*  The kind called name, or DN_FACTS_KIND_COUNT.  */
static dn_facts_kind_t s_kind_of(const char *name)
{
    for (int k = 0; k < DN_FACTS_KIND_COUNT; k++)
        if (strcmp(s_kinds[k].name, name) == 0)
            return (dn_facts_kind_t)k;
    return DN_FACTS_KIND_COUNT;
}

dn_facts_t *dn_facts_new(sqlite3 *db)
{
    dn_facts_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->cache = dn_db_cache_new(db);
    self->tree = dn_tree_new(db);
    if (!self->cache || !self->tree)
        dn_facts_destroy(&self);
    return self;
}

void dn_facts_destroy(dn_facts_t **self_p)
{
    if (self_p && *self_p) {
        dn_tree_destroy(&(*self_p)->tree);
        dn_db_cache_destroy(&(*self_p)->cache);
        free(*self_p);
        *self_p = NULL;
    }
}

void dn_facts_forget(dn_facts_t *self)
{
    self->loaded = 0;
    self->site_id = 0;
    dn_tree_forget(self->tree);
}

static int s_load_settings(dn_facts_t *self)
{
    char text[32];
    int rc;
    if (self->loaded)
        return 0;
    rc = dn_db_meta_get(self->db, DN_META_CURRENCY, self->currency, sizeof self->currency);
    if (rc == DN_ENOENT)
        snprintf(self->currency, sizeof self->currency, "%s", DN_CURRENCY_DEFAULT);
    else if (rc)
        return DN_EDB;
    if (dn_central_max_sale(self->db, &self->max_sale))
        return DN_EDB;
    self->large_sale = DN_FACTS_LARGE_SALE_UNITS;
    for (int e = dn_money_exponent(self->currency); e > 0; e--)
        self->large_sale *= 10;
    rc = dn_db_meta_get(self->db, DN_META_LARGE_SALE, text, sizeof text);
    if (rc == 0)
        self->large_sale = strtoll(text, NULL, 10);
    else if (rc != DN_ENOENT)
        return DN_EDB;
    self->loaded = 1;
    return 0;
}

static int s_load_site(dn_facts_t *self, int64_t site_id)
{
    sqlite3_stmt *stmt;
    int step;
    if (self->site_id == site_id)
        return 0;
    if (dn_db_cached(self->cache,
                     "SELECT created_ms, partner_id, agent_partner, coalesce(large_sale, 0) "
                     "FROM sites WHERE id = ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, site_id);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        self->site_created_ms = sqlite3_column_int64(stmt, 0);
        self->site_partner_id = sqlite3_column_int64(stmt, 1);
        if (dn_db_column_copy(stmt, 2, self->agent_partner, sizeof self->agent_partner))
            step = SQLITE_NOMEM;
        self->site_large_sale = sqlite3_column_int64(stmt, 3);
    }
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW)
        return DN_EDB; /* the site of an open connection is always there */
    self->site_id = site_id;
    return 0;
}

static void s_note(dn_facts_verdict_t *v, dn_facts_kind_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_note(dn_facts_verdict_t *v, dn_facts_kind_t kind, const char *fmt, ...)
{
    va_list ap;
    if (dn_facts_kind_held(kind))
        v->held = 1;
    if (v->n_notes == DN_FACTS_MAX_NOTES)
        return; /* at most one note of each check is made: cannot happen */
    v->notes[v->n_notes].kind = kind;
    va_start(ap, fmt);
    vsnprintf(v->notes[v->n_notes].detail, DN_FACTS_DETAIL_SIZE, fmt, ap);
    va_end(ap);
    v->n_notes++;
}

/*  Time: never after it was received, never before the site's previous
    event nor before HQ added the site.  */
static void s_judge_time(const dn_facts_t *self, const Dealernet__Event *ev,
                         int64_t prev_at_ms, int64_t prev_clock_ms, int64_t now_ms,
                         dn_facts_verdict_t *v)
{
    int64_t floor = prev_at_ms > self->site_created_ms ? prev_at_ms : self->site_created_ms;
    char claim[DN_TIME_TEXT_SIZE], at[DN_TIME_TEXT_SIZE];

    v->site_clock_ms = ev->recorded_at_ms;
    v->at_ms = ev->recorded_at_ms;
    if (v->at_ms > now_ms || v->at_ms < floor) /* only a note needs the text */
        dn_time_format(ev->recorded_at_ms, claim);
    if (v->at_ms > now_ms) {
        v->at_ms = now_ms;
        if (ev->recorded_at_ms - now_ms > DN_CLOCK_TOLERANCE_MS) {
            dn_time_format(now_ms, at);
            s_note(v, DN_FACTS_CLOCK_AHEAD,
                   /* i18n: not for people: stored */
                   "recorded at %s by the site's clock, %lld min ahead of the server: "
                   "posted at %s, when it was received",
                   claim, (long long)((ev->recorded_at_ms - now_ms) / 60000), at);
        }
    }
    if (v->at_ms < floor) {
        v->at_ms = floor;
        dn_time_format(floor, at);
        if (ev->recorded_at_ms < self->site_created_ms)
            s_note(v, DN_FACTS_CLOCK_BEHIND,
                   /* i18n: not for people: stored */
                   "recorded at %s by the site's clock, before HQ added the site: posted "
                   "at %s",
                   claim, at);
        else if (ev->recorded_at_ms < prev_clock_ms)
            s_note(
                v, DN_FACTS_CLOCK_BEHIND,
                /* i18n: not for people: stored */
                "recorded at %s by the site's clock, before the site's previous event: "
                "posted at %s",
                claim, at);
    }
}

/*  Who may be credited by a site: its partner or a partner below it at
    at_ms.  Sets *kind to DN_FACTS_KIND_COUNT when code may, else the
    exception kind.  */
/*  dn_tree_walk's visit for s_in_tree: stops at the site's partner.  */
typedef struct {
    int64_t root;
    int within;
} s_within_t;

static int s_within(void *arg, dn_tree_node_t *node)
{
    s_within_t *w = arg;
    w->within = node->p.id == w->root;
    return w->within;
}

/*  The walk goes through the cached tree (dn_tree): every sale's seller is
    judged, and a query per level of the tree was most of the judge's
    cost.  A code is known whenever HQ added it (INT64_MAX), as the
    registry's look-up answered.  */
static int s_in_tree(dn_facts_t *self, const char *code, int64_t at_ms,
                     dn_facts_kind_t unknown, dn_facts_kind_t outside, dn_facts_kind_t *kind)
{
    dn_tree_node_t *node;
    s_within_t w = {self->site_partner_id, 0};
    int rc = dn_tree_node_by_code(self->tree, code, INT64_MAX, &node);
    *kind = DN_FACTS_KIND_COUNT;
    if (rc == DN_ENOENT) {
        *kind = unknown;
        return 0;
    }
    if (rc == 0)
        rc = dn_tree_walk(self->tree, node->p.id, at_ms, s_within, &w);
    if (rc == DN_ENOENT) /* an upline that has no partner row: a damaged file */
        rc = 0;
    if (rc)
        return rc;
    if (!w.within)
        *kind = outside;
    return 0;
}

static int s_judge_sale(dn_facts_t *self, const dn_registry_site_t *site,
                        const Dealernet__Sale *sale, dn_facts_verdict_t *v)
{
    char when[DN_TIME_TEXT_SIZE];
    dn_facts_kind_t kind;
    int rc;

    snprintf(v->seller, sizeof v->seller, "%s", site->partner);
    if (strcmp(sale->currency, self->currency) != 0)
        s_note(v, DN_FACTS_CURRENCY_MISMATCH,
               /* i18n: not for people: stored */
               "sale in %s, but the network's currency is %s: held, it cannot be posted",
               sale->currency, self->currency);
    {
        int exponent = dn_money_exponent(sale->currency); /* dn_wire checked it */
        int64_t limit = dn_money_bound_minor(self->max_sale, exponent);
        if (sale->total > limit) {
            char total[DN_MONEY_TEXT_SIZE], bound[DN_MONEY_TEXT_SIZE];
            dn_money_format(sale->total, exponent, total, sizeof total);
            dn_money_format(limit, exponent, bound, sizeof bound);
            s_note(v, DN_FACTS_OVER_LIMIT,
                   /* i18n: not for people: stored */
                   "sale of %s %s is over the network's limit of %s %s for one sale: "
                   "held, it cannot be posted",
                   total, sale->currency, bound, sale->currency);
        }
    }
    {
        int64_t threshold = self->site_large_sale ? self->site_large_sale : self->large_sale;
        int exponent = dn_money_exponent(sale->currency);
        if (sale->total > threshold) {
            char total[DN_MONEY_TEXT_SIZE], limit[DN_MONEY_TEXT_SIZE];
            dn_money_format(sale->total, exponent, total, sizeof total);
            dn_money_format(threshold, exponent, limit, sizeof limit);
            s_note(v, DN_FACTS_LARGE_SALE, /* i18n: not for people: stored */
                   "sale of %s %s, above the %s threshold of %s %s", total,
                   sale->currency, self->site_large_sale ? "site's" : "network's", limit,
                   sale->currency);
        }
    }
    /* The partner the agent was initialised with stands for the site's
       partner as HQ registered it (the mismatch was noted at enrolment).  */
    if (strcmp(sale->seller, site->partner) == 0 ||
        (self->agent_partner[0] && strcmp(sale->seller, self->agent_partner) == 0))
        return 0;
    /* Below the site's partner, or held as named: HQ may post it so, or
       for another partner.  */
    snprintf(v->seller, sizeof v->seller, "%s", sale->seller);
    if ((rc = s_in_tree(self, sale->seller, v->at_ms, DN_FACTS_UNKNOWN_SELLER,
                        DN_FACTS_SELLER_OUT_OF_TREE, &kind)) != 0)
        return rc;
    if (kind == DN_FACTS_UNKNOWN_SELLER) {
        s_note(v, kind, /* i18n: not for people: stored */
               "seller %s is not a partner HQ knows: held", sale->seller);
    } else if (kind == DN_FACTS_SELLER_OUT_OF_TREE) {
        dn_time_format(v->at_ms, when);
        s_note(v, kind, /* i18n: not for people: stored */
               "seller %s is neither the site's partner %s nor below it at %s: held",
               sale->seller, site->partner, when);
    }
    return 0;
}

/*  The eid of sale id of site_id (0: none stored).  */
static int s_sale_eid(dn_facts_t *self, int64_t site_id, const ProtobufCBinaryData *id,
                      int64_t *eid)
{
    sqlite3_stmt *stmt;
    int step;
    *eid = 0;
    if (dn_db_cached(self->cache,
                     "SELECT eid FROM events WHERE id = ? AND site_id = ? AND kind = 'sale'",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_blob(stmt, 1, id->data, (int)id->len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, site_id);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW)
        *eid = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : DN_EDB;
}

/*  The site code where phone signed up (code[0] = 0: not a member).  */
static int s_member_site(dn_facts_t *self, const char *phone, char code[DN_MAX_CODE_LEN + 1])
{
    sqlite3_stmt *stmt;
    int step;
    code[0] = '\0';
    if (dn_db_cached(self->cache,
                     "SELECT s.code FROM members m JOIN sites s ON s.id = m.site_id "
                     "WHERE m.phone = ?",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, phone, -1, SQLITE_STATIC);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW &&
        dn_db_column_copy(stmt, 0, code, DN_MAX_CODE_LEN + 1))
        step = SQLITE_NOMEM;
    sqlite3_reset(stmt);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : DN_EDB;
}

static int s_judge_signup(dn_facts_t *self, const Dealernet__MemberSignup *m,
                          dn_facts_verdict_t *v)
{
    char where[DN_MAX_CODE_LEN + 1], when[DN_TIME_TEXT_SIZE];
    dn_facts_kind_t kind;
    int rc;

    if ((rc = s_member_site(self, m->phone, where)) != 0)
        return rc;
    if (where[0]) { /* a conflict: its referrer never counts anyway */
        s_note(v, DN_FACTS_DUPLICATE_PHONE,
               /* i18n: not for people: stored */ "phone %s already signed up at site %s",
               m->phone, where);
        return 0;
    }
    if (m->referrer_partner) {
        if ((rc = s_in_tree(self, m->referrer_partner, v->at_ms, DN_FACTS_REFERRER_UNKNOWN,
                            DN_FACTS_REFERRER_OUT_OF_TREE, &kind)) != 0)
            return rc;
        dn_time_format(v->at_ms, when);
        if (kind == DN_FACTS_REFERRER_UNKNOWN)
            s_note(v, kind, /* i18n: not for people: stored */
                   "referrer %s is not a partner HQ knows: referral held",
                   m->referrer_partner);
        else if (kind == DN_FACTS_REFERRER_OUT_OF_TREE)
            s_note(v, kind,
                   /* i18n: not for people: stored */
                   "referrer %s is neither the site's partner nor below it at %s: "
                   "referral held",
                   m->referrer_partner, when);
    } else if (m->referrer_phone) {
        if (strcmp(m->referrer_phone, m->phone) == 0)
            where[0] = '\0';
        else if ((rc = s_member_site(self, m->referrer_phone, where)) != 0)
            return rc;
        if (!where[0])
            s_note(v, DN_FACTS_REFERRER_UNKNOWN,
                   /* i18n: not for people: stored */
                   "referrer %s is not a member the server knows: referral held",
                   m->referrer_phone);
    }
    /* A held referral does not hold the member.  */
    v->referral_held = v->held;
    v->held = 0;
    return 0;
}

/*  Where the member name of an event is, or NULL (none).  */
static char **s_member_name(const Dealernet__Event *ev)
{
    if (ev->body_case == DEALERNET__EVENT__BODY_MEMBER_SIGNUP && ev->member_signup->name)
        return &ev->member_signup->name;
    if (ev->body_case == DEALERNET__EVENT__BODY_MEMBER_UPDATE && ev->member_update->name)
        return &ev->member_update->name;
    return NULL;
}

/*  A member name holding invisible format characters: an agent from
    before the till refused them recorded it (a name pasted from a chat),
    or a hostile one did.  The event is posted and flagged, the name shown
    escaped (dn_facts_amend).  */
static void s_judge_name(const Dealernet__Event *ev, dn_facts_verdict_t *v)
{
    char **name = s_member_name(ev), list[DN_FACTS_DETAIL_SIZE - 96];
    if (!name || !dn_valid_hidden_list(*name, list, sizeof list))
        return;
    s_note(v, DN_FACTS_HIDDEN_CHARACTERS,
           /* i18n: not for people: stored */
           "member name in %s seq %llu holds %s: stored as sent, shown as <U+XXXX>",
           ev->body_case == DEALERNET__EVENT__BODY_MEMBER_SIGNUP ? "sign-up" : "update",
           (unsigned long long)ev->seq, list);
}

int dn_facts_judge(dn_facts_t *self, const dn_registry_site_t *site,
                   const Dealernet__Event *ev, int64_t prev_at_ms, int64_t prev_clock_ms,
                   int64_t now_ms, dn_facts_verdict_t *v)
{
    int rc;
    int64_t sale_eid;

    /* The notes' texts are written only with their count: no need to
       clear them for every event.  */
    memset(v, 0, offsetof(dn_facts_verdict_t, notes));
    if ((rc = s_load_settings(self)) != 0 || (rc = s_load_site(self, site->id)) != 0)
        return rc;
    s_judge_time(self, ev, prev_at_ms, prev_clock_ms, now_ms, v);
    s_judge_name(ev, v);
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE:
        return s_judge_sale(self, site, ev->sale, v);
    case DEALERNET__EVENT__BODY_REFUND:
        if ((rc = s_sale_eid(self, site->id, &ev->refund->sale_id, &sale_eid)) != 0)
            return rc;
        if (sale_eid && (rc = dn_facts_is_held(self->cache, sale_eid)) < 0)
            return rc;
        if (sale_eid && rc == 1)
            s_note(
                v, DN_FACTS_SALE_HELD,
                /* i18n: not for people: stored */ "refund of a held sale: held with it");
        return 0;
    case DEALERNET__EVENT__BODY_MEMBER_SIGNUP:
        return s_judge_signup(self, ev->member_signup, v);
    default:
        return 0;
    }
}

int dn_facts_set_large_sale(sqlite3 *db, const char *code, int64_t minor, char *why,
                            size_t why_size)
{
    sqlite3_stmt *stmt;
    int rc = dn_db_begin(db);
    if (rc)
        return rc;
    if (dn_db_prepare(db, "UPDATE sites SET large_sale = ? WHERE code = ?", &stmt)) {
        dn_db_rollback(db);
        return DN_EDB;
    }
    if (minor > 0)
        sqlite3_bind_int64(stmt, 1, minor);
    sqlite3_bind_text(stmt, 2, code, -1, SQLITE_STATIC);
    rc = dn_db_step_txn(db, stmt);
    sqlite3_finalize(stmt);
    if (rc == 0 && sqlite3_changes(db) != 1)
        rc = dn_why(why, why_size, DN_ENOENT, _("no site %s"), code);
    if (rc == 0)
        rc = dn_db_commit(db);
    if (rc)
        dn_db_rollback(db);
    return rc;
}

int dn_facts_max_sale(dn_facts_t *self, int64_t *bound)
{
    int rc = s_load_settings(self);
    *bound = self->max_sale;
    return rc;
}

int dn_facts_hold_sum_limit(dn_facts_t *self, int64_t site_id, int64_t eid,
                            const Dealernet__Event *ev, int64_t now_ms, dn_facts_verdict_t *v)
{
    char total[DN_MONEY_TEXT_SIZE];
    sqlite3_stmt *stmt;
    int rc;

    memset(v, 0, sizeof *v);
    dn_money_format(ev->sale->total, dn_money_exponent(ev->sale->currency), total,
                    sizeof total);
    s_note(v, DN_FACTS_SUM_LIMIT,
           /* i18n: not for people: stored */
           "sale of %s %s would take a running total over its bound of 10^18 minor "
           "units: held, it cannot be posted",
           total, ev->sale->currency);
    if (dn_db_cached(self->cache, "UPDATE sales SET held = 1 WHERE eid = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, eid);
    rc = dn_db_step_txn(self->db, stmt);
    sqlite3_reset(stmt);
    return rc ? rc : dn_facts_record(self, site_id, eid, v, now_ms);
}

int dn_facts_amend(const dn_facts_verdict_t *v, Dealernet__Event *ev)
{
    char **name = s_member_name(ev), shown[DN_MAX_NAME_BYTES + 1];
    ev->recorded_at_ms = v->at_ms;
    /* From the name alone, so that verify and the rebuild, which amend
       from the stored rows, show what ingest showed.  */
    if (name && dn_valid_hidden_escape(*name, shown, DN_MAX_NAME_BYTES) &&
        dn_wire_event_set_text(name, shown))
        return DN_ENOMEM;
    if (ev->body_case == DEALERNET__EVENT__BODY_SALE &&
        strcmp(ev->sale->seller, v->seller) != 0) {
        /* protobuf-c frees the unpacked message with free(): so may we.  */
        char *seller = strdup(v->seller);
        if (!seller)
            return DN_ENOMEM;
        free(ev->sale->seller);
        ev->sale->seller = seller;
    }
    if (ev->body_case == DEALERNET__EVENT__BODY_MEMBER_SIGNUP && v->referral_held) {
        free(ev->member_signup->referrer_phone);
        free(ev->member_signup->referrer_partner);
        ev->member_signup->referrer_phone = NULL;
        ev->member_signup->referrer_partner = NULL;
    }
    return 0;
}

static int s_insert(sqlite3 *db, sqlite3_stmt *stmt, int64_t site_id, int64_t eid,
                    dn_facts_kind_t kind, const char *detail, int64_t now_ms)
{
    int rc;
    sqlite3_bind_int64(stmt, 1, site_id);
    if (eid)
        sqlite3_bind_int64(stmt, 2, eid);
    sqlite3_bind_text(stmt, 3, s_kinds[kind].name, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, dn_facts_kind_held(kind));
    sqlite3_bind_text(stmt, 5, detail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, now_ms);
    rc = dn_db_step_txn(db, stmt);
    sqlite3_reset(stmt);
    return rc;
}

#define S_INSERT_SQL                                                              \
    "INSERT INTO exceptions(site_id, eid, kind, held, detail, created_ms) "       \
    "VALUES (?, ?, ?, ?, ?, ?)"

int dn_facts_record(dn_facts_t *self, int64_t site_id, int64_t eid,
                    const dn_facts_verdict_t *v, int64_t now_ms)
{
    for (size_t i = 0; i < v->n_notes; i++) {
        sqlite3_stmt *stmt;
        if (dn_db_cached(self->cache, S_INSERT_SQL, &stmt) ||
            s_insert(self->db, stmt, site_id, eid, v->notes[i].kind, v->notes[i].detail,
                     now_ms))
            return DN_EDB;
    }
    return 0;
}

int dn_facts_note_site(sqlite3 *db, int64_t site_id, dn_facts_kind_t kind,
                       const char *detail, int64_t now_ms)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db, S_INSERT_SQL, &stmt))
        return DN_EDB;
    rc = s_insert(db, stmt, site_id, 0, kind, detail, now_ms);
    sqlite3_finalize(stmt);
    return rc;
}

int dn_facts_note_raced(sqlite3 *db, int64_t site_id, const char *detail, int64_t now_ms)
{
    return dn_facts_note_site(db, site_id, DN_FACTS_TOKEN_RACED, detail, now_ms);
}

#define S_HELD_SQL                                                                \
    "SELECT 1 FROM exceptions WHERE eid = ? AND held = 1 "                        \
    "AND (resolved_ms IS NULL OR resolution = 'dismissed') LIMIT 1"

int dn_facts_is_held(dn_db_cache_t *cache, int64_t eid)
{
    sqlite3_stmt *stmt;
    int step;
    if (dn_db_cached(cache, S_HELD_SQL, &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, eid);
    step = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return DN_EDB;
    return step == SQLITE_ROW;
}

int dn_facts_load(dn_db_cache_t *cache, dn_phones_t *phones, int64_t eid,
                  Dealernet__Event **ev, int *held)
{
    sqlite3_stmt *stmt;
    char seller[DN_MAX_CODE_LEN + 1] = "", why[DN_WHY_SIZE];
    dn_facts_verdict_t v;
    int rc = DN_ENOENT, step;

    *ev = NULL;
    *held = 0;
    if (dn_db_cached(cache,
                     "SELECT e.body, e.recorded_at_ms, s.seller, EXISTS (" S_HELD_SQL ") "
                     "FROM events e LEFT JOIN sales s ON s.eid = e.eid WHERE e.eid = ?2",
                     &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, eid);
    sqlite3_bind_int64(stmt, 2, eid);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        rc = dn_wire_event_unpack(sqlite3_column_blob(stmt, 0),
                                  (size_t)sqlite3_column_bytes(stmt, 0), ev, why, sizeof why);
        memset(&v, 0, sizeof v);
        v.at_ms = sqlite3_column_int64(stmt, 1);
        if (rc == 0 && dn_db_column_copy(stmt, 2, seller, sizeof seller))
            rc = DN_ENOMEM;
        *held = sqlite3_column_int(stmt, 3);
    } else if (step != SQLITE_DONE) {
        rc = DN_EDB;
    }
    sqlite3_reset(stmt);
    if (rc == 0)
        rc = dn_phones_event(phones, eid, *ev);
    if (rc == 0) {
        /* The stored seller, if any: amend leaves other kinds alone.  */
        snprintf(v.seller, sizeof v.seller, "%s",
                 seller[0] || (*ev)->body_case != DEALERNET__EVENT__BODY_SALE
                     ? seller
                     : (*ev)->sale->seller);
        rc = dn_facts_amend(&v, *ev);
    }
    if (rc)
        dn_wire_event_free(ev);
    return rc;
}

/* -- HQ's view and resolutions ------------------------------------------------ */

/*  The command that resolves an exception of kind k numbered id, or NULL.  */
static json_t *s_resolve_hint(dn_facts_kind_t k, int64_t id, int open)
{
    char text[160];
    const char *offer = s_hows[s_how(k)].offer;
    if (!open || !offer)
        return json_null();
    snprintf(text, sizeof text, "dealernet-hq exception resolve %lld %s", (long long)id,
             offer);
    return json_string(text);
}

static json_t *s_time_or_null(sqlite3_stmt *stmt, int col)
{
    char when[DN_TIME_TEXT_SIZE];
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return json_null();
    dn_time_format(sqlite3_column_int64(stmt, col), when);
    return json_string(when);
}

static json_t *s_text_or_null(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? json_string((const char *)text) : json_null();
}

int dn_facts_open_count(sqlite3 *db, int64_t *open)
{
    sqlite3_stmt *stmt;
    /* the open ones are the head of the index exceptions_open (NULL
       resolved_ms sorts first): a scan of them only, however many were
       resolved */
    if (dn_db_prepare(db, "SELECT count(*) FROM exceptions WHERE resolved_ms IS NULL",
                      &stmt))
        return DN_EDB;
    return dn_db_int_row(stmt, "exceptions: open", open) == 1 ? 0 : DN_EDB;
}

int dn_facts_list(sqlite3 *db, int all, json_t **list)
{
    sqlite3_stmt *stmt;
    int rc = 0, step;

    *list = json_array();
    if (!*list)
        return DN_ENOMEM;
    if (dn_db_prepare(db,
                      "SELECT x.id, x.kind, x.held, s.code, e.seq, e.id, x.detail, "
                      "x.created_ms, x.resolved_ms, x.resolved_by, x.resolution, x.reason "
                      "FROM exceptions x JOIN sites s ON s.id = x.site_id "
                      "LEFT JOIN events e ON e.eid = x.eid "
                      "WHERE ?1 OR x.resolved_ms IS NULL ORDER BY x.id",
                      &stmt)) {
        json_decref(*list);
        *list = NULL;
        return DN_EDB;
    }
    sqlite3_bind_int(stmt, 1, all);
    while (rc == 0 && (step = dn_db_row(stmt, "exceptions: list")) == 1) {
        int64_t id = sqlite3_column_int64(stmt, 0);
        const char *kind = (const char *)sqlite3_column_text(stmt, 1);
        char event[DN_ID_TEXT_SIZE] = "";
        json_t *row;
        int open = sqlite3_column_type(stmt, 8) == SQLITE_NULL;
        if (sqlite3_column_bytes(stmt, 5) == DN_ID_BYTES)
            dn_id_format(sqlite3_column_blob(stmt, 5), event);
        row = json_pack(
            "{s:I, s:s, s:b, s:s?, s:o, s:o, s:s?, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
            (json_int_t)id, "kind", kind ? kind : "?", "held", sqlite3_column_int(stmt, 2),
            "site", (const char *)sqlite3_column_text(stmt, 3), "seq",
            sqlite3_column_type(stmt, 4) == SQLITE_NULL
                ? json_null()
                : json_integer(sqlite3_column_int64(stmt, 4)),
            "event", event[0] ? json_string(event) : json_null(), "detail",
            (const char *)sqlite3_column_text(stmt, 6), "created", s_time_or_null(stmt, 7),
            "resolved", s_time_or_null(stmt, 8), "resolved_by", s_text_or_null(stmt, 9),
            "resolution", s_text_or_null(stmt, 10), "reason", s_text_or_null(stmt, 11),
            "resolve", s_resolve_hint(s_kind_of(kind ? kind : ""), id, open));
        if (!row || json_array_append_new(*list, row))
            rc = DN_ENOMEM;
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    if (rc) {
        json_decref(*list);
        *list = NULL;
    }
    return rc;
}


/*  Marks open exceptions resolved as resolution: exception id, or (id 0)
    those of event eid that hold it (kind NULL) or are of kind.  */
static int s_close(sqlite3 *db, int64_t id, int64_t eid, const char *kind,
                   const char *resolution, const char *admin, const char *reason,
                   int64_t now_ms)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db,
                      "UPDATE exceptions SET resolved_ms = ?, resolved_by = ?, "
                      "resolution = ?, reason = ? WHERE resolved_ms IS NULL AND (id = ?5 "
                      "OR eid = ?6 AND (?7 IS NULL AND held = 1 OR kind = ?7))",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_text(stmt, 2, admin, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, resolution, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, id);
    sqlite3_bind_int64(stmt, 6, eid);
    if (kind)
        sqlite3_bind_text(stmt, 7, kind, -1, SQLITE_STATIC);
    rc = dn_db_step_txn(db, stmt);
    sqlite3_finalize(stmt);
    return rc;
}

/*  Resolves a held sale (post or dismiss) and its held refunds.  */
static int s_resolve_sale(sqlite3 *db, int64_t eid, dn_facts_action_t action,
                          const char *seller, const char *admin, const char *reason,
                          int64_t now_ms, int64_t **post, size_t *n_post, char *why,
                          size_t why_size)
{
    const char *resolution = action == DN_FACTS_POST ? "posted" : "dismissed";
    sqlite3_stmt *stmt;
    size_t cap = 0;
    int rc = 0, step;

    if (action == DN_FACTS_POST) {
        /* Every hold on the sale must allow it to be posted.  */
        if (dn_db_prepare(db,
                          "SELECT kind FROM exceptions WHERE eid = ? AND held = 1 "
                          "AND resolved_ms IS NULL",
                          &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, eid);
        while (rc == 0 && (step = dn_db_row(stmt, "exceptions: the sale's holds")) == 1) {
            const char *kind = (const char *)sqlite3_column_text(stmt, 0);
            if (s_how(s_kind_of(kind ? kind : "")) != S_SALE)
                rc = dn_why(
                    why, why_size, DN_EINVAL,
                    _("the sale is also held as %s, which cannot be posted: dismiss it"),
                    kind ? kind : "?");
        }
        if (rc == 0 && step < 0)
            rc = DN_EDB;
        sqlite3_finalize(stmt);
        if (rc)
            return rc;
        if (dn_db_prepare(db,
                          "UPDATE sales SET held = 0, seller = coalesce(?, seller) "
                          "WHERE eid = ?",
                          &stmt))
            return DN_EDB;
        if (seller)
            sqlite3_bind_text(stmt, 1, seller, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, eid);
        rc = dn_db_step_txn(db, stmt);
        sqlite3_finalize(stmt);
        if (rc)
            return rc;
    }
    if (s_close(db, 0, eid, NULL, resolution, admin, reason, now_ms))
        return DN_EDB;
    /* The sale's held refunds go with it, in their order.  */
    if (dn_db_prepare(db,
                      "SELECT r.eid FROM refunds r WHERE r.sale_eid = ? AND EXISTS ("
                      "  SELECT 1 FROM exceptions x WHERE x.eid = r.eid "
                      "  AND x.kind = 'sale_held' AND x.resolved_ms IS NULL) ORDER BY r.eid",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, eid);
    if (action == DN_FACTS_POST) {
        if (!(*post = malloc(sizeof **post))) {
            sqlite3_finalize(stmt);
            return DN_ENOMEM;
        }
        cap = 1;
        (*post)[(*n_post)++] = eid;
    }
    while (rc == 0 && (step = dn_db_row(stmt, "exceptions: held refunds")) == 1) {
        int64_t refund = sqlite3_column_int64(stmt, 0);
        rc = s_close(db, 0, refund, "sale_held", resolution, admin, reason, now_ms);
        if (rc == 0 && action == DN_FACTS_POST) {
            int64_t *bigger = dn_array_grow(*post, &cap, *n_post, sizeof **post, 4);
            if (!bigger) {
                rc = DN_ENOMEM;
                break;
            }
            *post = bigger;
            (*post)[(*n_post)++] = refund;
        }
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    return rc;
}

/*  Accepts a held referral: the member's referrer as the sign-up named
    it, paying on sales stored from now on only (referral_eid).  */
static int s_accept_referral(sqlite3 *db, int64_t eid)
{
    Dealernet__Event *ev = NULL;
    dn_phones_t *phones = dn_phones_new(db);
    dn_db_cache_t *cache = dn_db_cache_new(db);
    sqlite3_stmt *stmt;
    int rc = DN_ENOMEM, held;

    if (phones && cache)
        rc = dn_facts_load(cache, phones, eid, &ev, &held);
    dn_phones_destroy(&phones);
    dn_db_cache_destroy(&cache);
    if (rc)
        return rc == DN_EPROTO ? DN_EDB : rc;
    if (ev->body_case != DEALERNET__EVENT__BODY_MEMBER_SIGNUP) {
        dn_wire_event_free(&ev);
        return DN_EDB;
    }
    if (dn_db_prepare(db,
                      "UPDATE members SET referrer_phone = ?, referrer_partner = ?, "
                      "referral_eid = (SELECT max(eid) FROM events) WHERE signup_eid = ?",
                      &stmt)) {
        dn_wire_event_free(&ev);
        return DN_EDB;
    }
    if (ev->member_signup->referrer_phone)
        sqlite3_bind_text(stmt, 1, ev->member_signup->referrer_phone, -1, SQLITE_TRANSIENT);
    if (ev->member_signup->referrer_partner)
        sqlite3_bind_text(stmt, 2, ev->member_signup->referrer_partner, -1,
                          SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 3, eid);
    rc = dn_db_step_txn(db, stmt);
    sqlite3_finalize(stmt);
    dn_wire_event_free(&ev);
    return rc;
}

int dn_facts_resolve(sqlite3 *db, int64_t id, dn_facts_action_t action, const char *seller,
                     const char *admin, const char *reason, int64_t now_ms, int64_t **post,
                     size_t *n_post, char *why, size_t why_size)
{
    sqlite3_stmt *stmt;
    char kind_text[32] = "";
    int64_t eid = 0;
    int found = 0, resolved = 0, step, rc = 0;
    dn_facts_kind_t kind;

    *post = NULL;
    *n_post = 0;
    if (dn_db_prepare(db, "SELECT kind, eid, resolved_ms IS NOT NULL FROM exceptions "
                          "WHERE id = ?", &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        found = 1;
        if (dn_db_column_copy(stmt, 0, kind_text, sizeof kind_text))
            step = SQLITE_NOMEM;
        eid = sqlite3_column_int64(stmt, 1);
        resolved = sqlite3_column_int(stmt, 2);
    }
    sqlite3_finalize(stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return DN_EDB;
    if (!found)
        return dn_why(why, why_size, DN_ENOENT, _("no exception %lld"), (long long)id);
    if (resolved)
        return dn_why(why, why_size, DN_EEXIST, _("exception %lld is already resolved"),
                      (long long)id);
    kind = s_kind_of(kind_text);

    switch (s_how(kind)) {
    case S_STUCK:
        if (action == DN_FACTS_POST)
            return dn_why(
                why, why_size, DN_EINVAL,
                _("exception %lld (%s): such a sale cannot be posted; dismiss it "
                  "(--dismiss)"),
                (long long)id, kind_text);
        /* fall through */
    case S_SALE:
        if (action != DN_FACTS_POST && action != DN_FACTS_DISMISS)
            break;
        if (seller) {
            dn_registry_partner_t p;
            rc = dn_registry_partner_get(db, seller, &p);
            if (rc == DN_ENOENT)
                return dn_why(why, why_size, rc, _("no partner %s"), seller);
            if (rc)
                return rc;
        }
        return s_resolve_sale(db, eid, action, seller, admin, reason, now_ms, post, n_post,
                              why, why_size);
    case S_REFUND:
        return dn_why(
            why, why_size, DN_EINVAL,
            _("exception %lld is a refund held with its sale: resolve the sale's "
              "exception, and the refund goes with it"),
            (long long)id);
    case S_REFERRAL:
        if (action != DN_FACTS_ACCEPT && action != DN_FACTS_DISMISS)
            break;
        if (action == DN_FACTS_ACCEPT && (rc = s_accept_referral(db, eid)) != 0)
            return rc;
        return s_close(db, 0, eid, kind_text,
                       action == DN_FACTS_ACCEPT ? "accepted" : "dismissed", admin, reason,
                       now_ms);
    case S_FLAG:
        if (action != DN_FACTS_ACKNOWLEDGE)
            break;
        return s_close(db, id, 0, NULL, "acknowledged", admin, reason, now_ms);
    }
    return dn_why(why, why_size, DN_EINVAL, _("exception %lld (%s) is resolved with %s"),
                  (long long)id, kind_text, _(s_hows[s_how(kind)].usage));
}

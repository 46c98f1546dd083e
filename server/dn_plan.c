/*  dn_plan -- plan files and plan versions (see dn_plan.h).

    The file is INI, read with inih.  inih calls a handler for each key but
    does not tell it the line, and says nothing of a section without keys;
    so the text reaches inih through a line reader of ours
    (ini_parse_stream, the string variant with a reader we own), which
    counts lines, notes each section header, refuses what inih would take
    silently (an indented continuation line, an overlong line, control
    characters), and lets the handler record the line of every key.  Every
    refusal then names its line.  Amounts are resolved once the whole file
    was read, since [referral] may come before the [plan] that names the
    currency.  A version is stored with its rates and its source, verbatim.
*/
#include "dn_plan.h"
#include "dn_array.h"
#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_time.h"

#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DN_PLAN_MAX_LINE_BYTES 160   /* of one line, without its end */
#define DN_PLAN_MAX_DAYS       36600 /* a hundred years */
#define DN_PLAN_WHY_SIZE       320 /* a code's refusal and its hint fit */

/*  The keys of [plan] and [referral], each given at most once.  */
enum {
    S_EFFECTIVE,
    S_CURRENCY,
    S_CAP_BPS,
    S_COMPLIANCE,
    S_FIRST_PURCHASE_BONUS,
    S_PURCHASE_BPS,
    S_PURCHASE_DAYS,
    S_RECRUIT_OVERRIDE_BPS,
    S_RECRUIT_OVERRIDE_DAYS,
    S_KEYS
};

static const struct {
    const char *section;
    const char *name;
} s_keys[S_KEYS] = {
    {"plan", "effective"},
    {"plan", "currency"},
    {"plan", "cap_bps"},
    {"plan", "compliance"},
    {"referral", "first_purchase_bonus"},
    {"referral", "purchase_bps"},
    {"referral", "purchase_days"},
    {"referral", "recruit_override_bps"},
    {"referral", "recruit_override_days"},
};

/*  A parse in progress.  */
typedef struct {
    const char *next; /* the text not yet given to inih */
    int line;         /* the line inih is on (1-based) */
    int line_bytes;   /* the longest line inih's buffer takes */
    int error_line;   /* of the first problem; 0: none yet */
    char why[DN_PLAN_WHY_SIZE];
    dn_plan_t *plan;
    int plan_line, levels_line, referral_line; /* section headers; 0: absent */
    int category_line[DN_PLAN_MAX_CATEGORIES]; /* header of each category */
    int name_line[DN_PLAN_MAX_CATEGORIES];     /* its name = line; 0: none yet */
    int key_line[S_KEYS];                      /* where each key was given */
    int level_line[DN_PLAN_MAX_CATEGORIES + 1][DN_PLAN_MAX_LEVELS]; /* [0]: [levels] */
    char bonus[DN_MONEY_TEXT_SIZE]; /* first_purchase_bonus as written */
} s_parse_t;

static void s_error(s_parse_t *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*  Records a problem on line, unless one on an earlier line is known.  */
static void s_error(s_parse_t *p, int line, const char *fmt, ...)
{
    va_list args;
    if (p->error_line && p->error_line <= line)
        return;
    p->error_line = line < 1 ? 1 : line;
    va_start(args, fmt);
    vsnprintf(p->why, sizeof p->why, fmt, args);
    va_end(args);
}

/*  Writes the date of unix_ms, YYYY-MM-DD.  */
static void s_date(int64_t unix_ms, char out[11])
{
    char text[DN_TIME_TEXT_SIZE];
    dn_time_format(unix_ms, text);
    memcpy(out, text, 10);
    out[10] = '\0';
}

/*  The end of the zone's day that unix_ms falls in.  A version is found
    by the day it shows (s_date), not by its exact millisecond: one set
    while the network kept UTC days (before central.db's zone migration)
    is stored at UTC midnight, and the date typed now parses to the zone's
    midnight, 8 hours earlier in Beijing.  */
static int64_t s_day_end(int64_t unix_ms)
{
    return dn_time_day_start(dn_time_day(unix_ms) + 1);
}

/* -- the line reader ------------------------------------------------------- */

/*  Notes a section header line "[NAME]": a known section, never twice.  */
static void s_section(s_parse_t *p, const char *start)
{
    const char *end = strchr(start, ']');
    char name[DN_PLAN_MAX_LINE_BYTES + 1];
    dn_plan_t *plan = p->plan;
    int *seen = NULL;

    if (!end) {
        s_error(p, p->line, _("'[' without ']'"));
        return;
    }
    snprintf(name, sizeof name, "%.*s", (int)(end - start - 1), start + 1);
    if (strcmp(name, "plan") == 0)
        seen = &p->plan_line;
    else if (strcmp(name, "levels") == 0)
        seen = &p->levels_line;
    else if (strcmp(name, "referral") == 0)
        seen = &p->referral_line;
    if (seen) {
        if (*seen)
            s_error(p, p->line, _("section [%s] given twice (first on line %d)"), name,
                    *seen);
        else
            *seen = p->line;
        return;
    }
    if (strncmp(name, "category:", 9) != 0) {
        s_error(p, p->line,
                _("unknown section [%.40s] (sections: plan, levels, category:NAME, "
                  "referral)"),
                name);
        return;
    }
    {
        /* the one refusal of a bad code (dn_valid.h): [category:大米] is a
           name written where the code goes */
        char why[DN_CODE_WHY_SIZE];
        if (dn_valid_code_check(DN_CODE_CATEGORY, name + 9,
                                _("give the name on a name = line in the section"),
                                why, sizeof why)) {
            s_error(p, p->line, "%s", why);
            return;
        }
    }
    for (int i = 0; i < plan->n_categories; i++) {
        if (dn_code_equal(plan->categories[i].category, name + 9)) {
            s_error(p, p->line, _("section [%s] given twice (first on line %d)"), name,
                    p->category_line[i]);
            return;
        }
    }
    if (plan->n_categories == DN_PLAN_MAX_CATEGORIES) {
        s_error(p, p->line, _("more than %d [category:NAME] sections"),
                DN_PLAN_MAX_CATEGORIES);
        return;
    }
    /* Codes are stored lower-case: [category:Rice] is the category rice.  */
    snprintf(plan->categories[plan->n_categories].category, DN_MAX_CODE_LEN + 1, "%s",
             name + 9);
    dn_code_fold(plan->categories[plan->n_categories].category);
    p->category_line[plan->n_categories++] = p->line;
}

/*  Looks at one line before inih does: its bytes, indentation, section.  */
static void s_look(s_parse_t *p, const char *line, size_t len)
{
    char text[DN_PLAN_MAX_LINE_BYTES + 1], hidden[DN_HIDDEN_WHY_SIZE];
    const char *start = line;
    size_t n = len;

    if (n && line[n - 1] == '\n')
        n--;
    if (n && line[n - 1] == '\r')
        n--;
    if (p->line == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        start += 3; /* a UTF-8 byte order mark */
        n -= 3;
    }
    if (n > DN_PLAN_MAX_LINE_BYTES) {
        s_error(p, p->line, _("longer than %d bytes"), DN_PLAN_MAX_LINE_BYTES);
        return;
    }
    memcpy(text, start, n);
    text[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (text[i] == '\t')
            text[i] = ' ';
    if (n && dn_valid_hidden(text, hidden, sizeof hidden)) {
        s_error(p, p->line, "%s", hidden);
        return;
    }
    if (n && !dn_valid_text(text, DN_PLAN_MAX_LINE_BYTES)) {
        s_error(p, p->line, _("not UTF-8 text, or holds control characters"));
        return;
    }
    start = text + strspn(text, " ");
    if (*start == '\0' || *start == ';' || *start == '#')
        return; /* blank or a comment */
    if (start != text) {
        s_error(
            p, p->line,
            _("starts with a space: keys and [sections] begin at the start of a line"));
        return;
    }
    if (*start == '[')
        s_section(p, start);
}

/*  inih's reader: one line of the text per call, as fgets would give it.
    Returns NULL at the end, and after the first problem.  */
static char *s_reader(char *str, int num, void *stream)
{
    s_parse_t *p = stream;
    const char *end;
    size_t len;

    if (p->error_line || *p->next == '\0')
        return NULL;
    end = strchr(p->next, '\n');
    len = end ? (size_t)(end - p->next) + 1 : strlen(p->next);
    p->line++;
    if (len + 1 > (size_t)num || len > (size_t)p->line_bytes) {
        s_error(p, p->line, _("longer than %d bytes"), DN_PLAN_MAX_LINE_BYTES);
        return NULL;
    }
    memcpy(str, p->next, len);
    str[len] = '\0';
    p->next += len;
    s_look(p, str, len);
    return p->error_line ? NULL : str;
}

/* -- the handler ----------------------------------------------------------- */

/*  Parses a rate in basis points, 0..10000.  Returns 0 or -1 (recorded).  */
static int s_bps(s_parse_t *p, const char *what, const char *value, int32_t *bps)
{
    int64_t v;
    if (dn_parse_int(value, 0, DN_BPS_ONE, &v) == 0) {
        *bps = (int32_t)v;
        return 0;
    }
    if (dn_parse_int(value, INT64_MIN, INT64_MAX, &v) == 0)
        s_error(p, p->line, _("%s rate %.24s is outside 0..%d basis points"), what, value,
                DN_BPS_ONE);
    else
        s_error(p, p->line, _("%s rate '%.24s' is not a whole number of basis points"),
                what, value);
    return -1;
}

static int s_days(s_parse_t *p, const char *what, const char *value, int32_t *days)
{
    int64_t v;
    if (dn_parse_int(value, 0, DN_PLAN_MAX_DAYS, &v) == 0) {
        *days = (int32_t)v;
        return 0;
    }
    s_error(p, p->line, _("%s '%.24s' is not a number of days from 0 to %d"), what, value,
            DN_PLAN_MAX_DAYS);
    return -1;
}

/*  A key of [levels] or [category:NAME]: table t, level table index ti.  */
static int s_level_key(s_parse_t *p, dn_plan_table_t *t, int ti, const char *section,
                       const char *name, const char *value)
{
    char what[64];
    int64_t level;
    int32_t bps;

    if (dn_parse_int(name, 0, DN_PLAN_MAX_LEVELS - 1, &level) != 0) {
        if (dn_parse_int(name, 0, INT64_MAX, &level) == 0)
            s_error(p, p->line, _("level %.24s in [%s]: more than %d levels (0 to %d)"),
                    name, section, DN_PLAN_MAX_LEVELS, DN_PLAN_MAX_LEVELS - 1);
        else
            s_error(p, p->line,
                    _("unknown key '%.40s' in [%s] (keys are levels, 0 to %d)"), name,
                    section, DN_PLAN_MAX_LEVELS - 1);
        return 0;
    }
    if (p->level_line[ti][level]) {
        s_error(p, p->line, _("level %d in [%s] given twice (first on line %d)"),
                (int)level, section, p->level_line[ti][level]);
        return 0;
    }
    /* a key of the file (cap_bps) names itself; a level is words */
    snprintf(what, sizeof what, _("level %d"), (int)level);
    if (s_bps(p, what, value, &bps))
        return 0;
    p->level_line[ti][level] = p->line;
    t->bps[level] = bps;
    if (t->n_levels < level + 1)
        t->n_levels = (int)level + 1;
    return 1;
}

/*  The name = line of [category:NAME] number i: the category's display
    name, any script (dn_valid_name_why), once.  */
static int s_category_name(s_parse_t *p, int i, const char *section, const char *value)
{
    char reason[DN_HIDDEN_WHY_SIZE];
    if (p->name_line[i]) {
        s_error(p, p->line, _("name in [%s] given twice (first on line %d)"), section,
                p->name_line[i]);
        return 0;
    }
    if (!dn_valid_name_why(value, reason, sizeof reason)) {
        s_error(p, p->line, _("name in [%s] %s"), section, reason);
        return 0;
    }
    snprintf(p->plan->categories[i].name, sizeof p->plan->categories[i].name, "%s", value);
    p->name_line[i] = p->line;
    return 1;
}

/*  A key of [plan] or [referral].  */
static int s_named_key(s_parse_t *p, const char *section, const char *name,
                       const char *value)
{
    dn_plan_t *plan = p->plan;
    int key = -1;

    for (int i = 0; i < S_KEYS && key < 0; i++)
        if (strcmp(section, s_keys[i].section) == 0 && strcmp(name, s_keys[i].name) == 0)
            key = i;
    if (key < 0) {
        s_error(p, p->line, _("unknown key '%.40s' in [%s]"), name, section);
        return 0;
    }
    if (p->key_line[key]) {
        s_error(p, p->line, _("%s given twice (first on line %d)"), name,
                p->key_line[key]);
        return 0;
    }
    switch (key) {
    case S_EFFECTIVE:
        if (dn_time_parse_date(value, &plan->effective_ms)) {
            s_error(p, p->line, _("effective '%.40s' is not a date (YYYY-MM-DD)"), value);
            return 0;
        }
        break;
    case S_CURRENCY:
        plan->exponent = dn_money_exponent(value);
        if (strlen(value) != 3 || plan->exponent < 0) {
            s_error(p, p->line,
                    _("unknown currency %.40s (an ISO 4217 code such as CNY)"), value);
            return 0;
        }
        memcpy(plan->currency, value, 4);
        break;
    case S_CAP_BPS:
        if (s_bps(p, "cap_bps", value, &plan->cap_bps))
            return 0;
        break;
    case S_COMPLIANCE:
        if (strcmp(value, "none") == 0) {
            plan->compliance = DN_PLAN_COMPLIANCE_NONE;
        } else if (strcmp(value, "cn-direct-selling") == 0) {
            plan->compliance = DN_PLAN_COMPLIANCE_CN_DIRECT_SELLING;
        } else {
            s_error(p, p->line,
                    _("compliance '%.40s' is not a known setting (compliance = "
                      "cn-direct-selling, or none)"),
                    value);
            return 0;
        }
        break;
    case S_FIRST_PURCHASE_BONUS: {
        int64_t minor;
        /* the currency may come later: check the form now, the decimals at the end */
        if (strlen(value) >= sizeof p->bonus || dn_money_parse(value, 4, &minor) != 0) {
            s_error(p, p->line,
                    _("first_purchase_bonus '%.40s' is not an amount (like 5.00)"),
                    value);
            return 0;
        }
        if (minor < 0) {
            s_error(p, p->line, _("first_purchase_bonus %.40s is negative"), value);
            return 0;
        }
        snprintf(p->bonus, sizeof p->bonus, "%s", value);
        break;
    }
    case S_PURCHASE_BPS:
        if (s_bps(p, "purchase_bps", value, &plan->purchase_bps))
            return 0;
        break;
    case S_PURCHASE_DAYS:
        if (s_days(p, "purchase_days", value, &plan->purchase_days))
            return 0;
        break;
    case S_RECRUIT_OVERRIDE_BPS:
        if (s_bps(p, "recruit_override_bps", value, &plan->recruit_override_bps))
            return 0;
        break;
    case S_RECRUIT_OVERRIDE_DAYS:
        if (s_days(p, "recruit_override_days", value, &plan->recruit_override_days))
            return 0;
        break;
    }
    p->key_line[key] = p->line;
    return 1;
}

/*  inih's handler: one key.  Returns 1, or 0 after recording the problem.  */
static int s_handler(void *user, const char *section, const char *name, const char *value)
{
    s_parse_t *p = user;
    dn_plan_t *plan = p->plan;

    if (p->error_line)
        return 0;
    if (!value) /* only with INI_ALLOW_NO_VALUE */
        value = "";
    if (section[0] == '\0') {
        s_error(p, p->line, _("key '%.40s' comes before any [section]"), name);
        return 0;
    }
    if (strcmp(section, "levels") == 0)
        return s_level_key(p, &plan->levels, 0, section, name, value);
    if (strncmp(section, "category:", 9) == 0) {
        for (int i = 0; i < plan->n_categories; i++) {
            if (!dn_code_equal(plan->categories[i].category, section + 9))
                continue;
            if (strcmp(name, "name") == 0)
                return s_category_name(p, i, section, value);
            return s_level_key(p, &plan->categories[i], i + 1, section, name, value);
        }
    } else if (strcmp(section, "plan") == 0 || strcmp(section, "referral") == 0) {
        return s_named_key(p, section, name, value);
    }
    /* s_look refuses unknown sections first; this is inih seeing another one */
    s_error(p, p->line, _("unknown section [%.40s]"), section);
    return 0;
}

/* -- parsing --------------------------------------------------------------- */

static int s_category_order(const void *a, const void *b)
{
    return strcmp(((const dn_plan_table_t *)a)->category,
                  ((const dn_plan_table_t *)b)->category);
}

/* -- compliance ------------------------------------------------------------- */

/*  The checks of compliance = cn-direct-selling (README, "Compliance").
    The rules bind pay to individuals: a reseller (the 直销员 of the
    direct-selling rules: a person selling away from a shop) and a member.
    A plan pays by position, whatever the kind of the partner at it: every
    table pays its levels on a reseller's sales as on a dealer's, and the
    referral and recruit rewards go to members and resellers as to
    businesses.  So the shapes are refused in the plan itself:
      - a level above 0 pays an upline on the seller's sale, and on a
        reseller's sale that is pay computed from a downline's sales:
        团队计酬, 禁止传销条例 art. 7(3);
      - level 0 pays the seller on its own sale, which is allowed up to
        30 % of it (直销管理条例 art. 24);
      - recruit_override_bps pays a recruiter on its recruit's sales: art.
        7(3) again, the recruit being the downline it brought in;
      - first_purchase_bonus pays a fixed sum for each member brought in:
        pay by the number of people recruited, 拉人头, art. 7(1);
      - purchase_bps pays a referrer on the purchases of the member it
        brought in: art. 7(3), computed from another's purchases.
    A rate of 0, or a window of 0 days, pays nothing and passes.  The plan
    format has no entry fee (入门费, art. 7(2)): nothing pays HQ to join.
    Each refusal names the line of the rate or key, the earliest first.  */
static void s_comply(s_parse_t *p)
{
    const dn_plan_t *plan = p->plan;

    if (plan->compliance != DN_PLAN_COMPLIANCE_CN_DIRECT_SELLING)
        return;
    for (int t = 0; t <= plan->n_categories; t++) {
        const dn_plan_table_t *table = t == 0 ? &plan->levels : &plan->categories[t - 1];
        char section[DN_MAX_CODE_LEN + 16];
        snprintf(section, sizeof section, "%s%s", t == 0 ? "levels" : "category:",
                 t == 0 ? "" : table->category);
        if (table->bps[0] > DN_PLAN_CN_MAX_OWN_BPS)
            s_error(p, p->level_line[t][0],
                    _("[%s] pays the seller %d bps of its own sale: an individual's pay "
                      "is at most %d bps (30%%) of its own sales under 直销管理条例 art. "
                      "24"),
                    section, (int)table->bps[0], DN_PLAN_CN_MAX_OWN_BPS);
        for (int level = 1; level < table->n_levels; level++)
            if (table->bps[level] > 0)
                s_error(p, p->level_line[t][level],
                        _("[%s] pays level %d on a reseller's sale: pay computed from a "
                          "downline's sales (团队计酬) is pyramid selling under "
                          "禁止传销条例 art. 7(3)"),
                        section, level);
    }
    if (plan->first_purchase_bonus > 0)
        s_error(p, p->key_line[S_FIRST_PURCHASE_BONUS],
                _("first_purchase_bonus pays a referrer for each member it brings in: "
                  "pay by the number of people recruited (拉人头) is pyramid selling "
                  "under 禁止传销条例 art. 7(1)"));
    if (plan->purchase_bps > 0 && plan->purchase_days > 0)
        s_error(p, p->key_line[S_PURCHASE_BPS],
                _("purchase_bps pays a referrer on the purchases of the member it "
                  "brought in: pay computed from a downline's purchases (团队计酬) is "
                  "pyramid selling under 禁止传销条例 art. 7(3)"));
    if (plan->recruit_override_bps > 0 && plan->recruit_override_days > 0)
        s_error(p, p->key_line[S_RECRUIT_OVERRIDE_BPS],
                _("recruit_override_bps pays a recruiter on its recruit's sales: pay "
                  "computed from a downline's sales (团队计酬) is pyramid selling under "
                  "禁止传销条例 art. 7(3)"));
}

const char *dn_plan_compliance_name(dn_plan_compliance_t compliance)
{
    return compliance == DN_PLAN_COMPLIANCE_CN_DIRECT_SELLING ? "cn-direct-selling"
                                                              : "none";
}

/*  The checks that need the whole file: required keys, the bonus amount.  */
static void s_finish(s_parse_t *p)
{
    dn_plan_t *plan = p->plan;
    int last = p->line > 0 ? p->line : 1;

    if (!p->plan_line) {
        s_error(p, last, _("no [plan] section (effective = YYYY-MM-DD, currency = CNY)"));
    } else {
        if (!p->key_line[S_EFFECTIVE])
            s_error(p, p->plan_line,
                    _("[plan] has no effective date (effective = YYYY-MM-DD)"));
        if (!p->key_line[S_CURRENCY])
            s_error(p, p->plan_line, _("[plan] has no currency (currency = CNY, say)"));
    }
    if (!p->levels_line)
        s_error(p, last,
                _("no [levels] section (0 = rate of the seller, in basis points)"));
    else if (plan->levels.n_levels == 0)
        s_error(p, p->levels_line, _("[levels] lists no level (0 = 800, say)"));
    for (int i = 0; i < plan->n_categories; i++)
        if (plan->categories[i].n_levels == 0)
            s_error(
                p, p->category_line[i],
                _("[category:%s] lists no level (to pay nothing for it, write 0 = 0)"),
                plan->categories[i].category);
    if (p->key_line[S_FIRST_PURCHASE_BONUS] && p->key_line[S_CURRENCY]) {
        const char *point = strchr(p->bonus, '.');
        int decimals = point ? (int)strlen(point + 1) : 0;
        if (decimals > plan->exponent)
            s_error(p, p->key_line[S_FIRST_PURCHASE_BONUS],
                    _("first_purchase_bonus %s has %d decimals, %s has %d"), p->bonus,
                    decimals, plan->currency, plan->exponent);
        else if (dn_money_parse(p->bonus, plan->exponent, &plan->first_purchase_bonus))
            s_error(p, p->key_line[S_FIRST_PURCHASE_BONUS],
                    _("first_purchase_bonus %s is too large"), p->bonus);
    }
    s_comply(p);
}

int dn_plan_parse(const char *text, dn_plan_t *plan, char *why, size_t why_size)
{
    s_parse_t *p;
    int rc;

    memset(plan, 0, sizeof *plan);
    plan->cap_bps = DN_BPS_ONE;
    if (why && why_size)
        why[0] = '\0';
    if (!text)
        return dn_why(why, why_size, DN_EPARSE, _("line 1: no plan text"));
    if (strlen(text) > DN_PLAN_MAX_BYTES)
        return dn_why(why, why_size, DN_EPARSE,
                      _("line 1: the plan is larger than %d bytes"), DN_PLAN_MAX_BYTES);
    p = calloc(1, sizeof *p);
    if (!p)
        return dn_why(why, why_size, DN_ENOMEM, _("out of memory"));
    p->next = text;
    p->plan = plan;
    p->line_bytes = DN_PLAN_MAX_LINE_BYTES + 2; /* and "\r\n" */
    rc = ini_parse_stream(s_reader, p, s_handler, p);
    if (rc == -2) {
        free(p);
        memset(plan, 0, sizeof *plan);
        return dn_why(why, why_size, DN_ENOMEM, _("out of memory"));
    }
    if (rc > 0 && (!p->error_line || rc < p->error_line))
        s_error(p, rc, _("not a 'key = value' line, a [section] or a comment"));
    if (!p->error_line)
        s_finish(p);
    if (p->error_line) {
        rc = dn_why(why, why_size, DN_EPARSE, _("line %d: %s"), p->error_line, p->why);
        free(p);
        memset(plan, 0, sizeof *plan);
        return rc;
    }
    free(p);
    qsort(plan->categories, (size_t)plan->n_categories, sizeof plan->categories[0],
          s_category_order);
    return 0;
}

const dn_plan_table_t *dn_plan_table(const dn_plan_t *plan, const char *category)
{
    if (category && *category)
        for (int i = 0; i < plan->n_categories; i++)
            if (dn_code_equal(plan->categories[i].category, category))
                return &plan->categories[i];
    return &plan->levels;
}

/* -- storing and reading versions ------------------------------------------ */

/*  Inserts the rates of one table.  0 or DN_EDB.  */
static int s_store_table(sqlite3 *db, int64_t plan_id, const dn_plan_table_t *table)
{
    for (int level = 0; level < table->n_levels; level++) {
        sqlite3_stmt *stmt;
        if (dn_db_prepare(db,
                          "INSERT INTO plan_rates(plan_id, category, level, bps) "
                          "VALUES (?, ?, ?, ?)",
                          &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, plan_id);
        sqlite3_bind_text(stmt, 2, table->category, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 3, level);
        sqlite3_bind_int(stmt, 4, table->bps[level]);
        if (dn_db_run(db, stmt))
            return DN_EDB;
    }
    if (table->name[0]) {
        sqlite3_stmt *stmt;
        if (dn_db_prepare(db,
                          "INSERT INTO plan_categories(plan_id, category, name) "
                          "VALUES (?, ?, ?)",
                          &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, plan_id);
        sqlite3_bind_text(stmt, 2, table->category, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, table->name, -1, SQLITE_STATIC);
        if (dn_db_run(db, stmt))
            return DN_EDB;
    }
    return 0;
}

/*  One integer (or NULL: *is_null) of a one-row query with one int
    parameter.  0 or DN_EDB.  */
static int s_query_int(sqlite3 *db, const char *sql, int64_t param, int64_t *out,
                       int *is_null)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db, sql, &stmt))
        return DN_EDB;
    if (sqlite3_bind_parameter_count(stmt) > 0)
        sqlite3_bind_int64(stmt, 1, param);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *is_null = sqlite3_column_type(stmt, 0) == SQLITE_NULL;
        *out = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        *is_null = 1;
        rc = 0;
    } else {
        rc = DN_EDB;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/*  Writes the version's rows (plan and rates).  0 or DN_EDB.  */
static int s_store(sqlite3 *db, dn_plan_t *plan, const char *text, int64_t now_ms)
{
    sqlite3_stmt *stmt;

    if (dn_db_prepare(
            db,
            "INSERT INTO plans(effective_ms, currency, cap_bps,"
            "  first_purchase_bonus, purchase_bps, purchase_days,"
            "  recruit_override_bps, recruit_override_days, source, created_ms,"
            "  compliance) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, plan->effective_ms);
    sqlite3_bind_text(stmt, 2, plan->currency, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, plan->cap_bps);
    sqlite3_bind_int64(stmt, 4, plan->first_purchase_bonus);
    sqlite3_bind_int(stmt, 5, plan->purchase_bps);
    sqlite3_bind_int(stmt, 6, plan->purchase_days);
    sqlite3_bind_int(stmt, 7, plan->recruit_override_bps);
    sqlite3_bind_int(stmt, 8, plan->recruit_override_days);
    sqlite3_bind_text(stmt, 9, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 10, now_ms);
    sqlite3_bind_text(stmt, 11, dn_plan_compliance_name(plan->compliance), -1,
                      SQLITE_STATIC);
    if (dn_db_run(db, stmt))
        return DN_EDB;
    plan->id = sqlite3_last_insert_rowid(db);
    /* Levels 0 .. n_levels - 1, those left out as 0: the highest is always
       one the file listed, so reading them back gives the same tables.  */
    for (int t = 0; t <= plan->n_categories; t++)
        if (s_store_table(db, plan->id,
                          t == 0 ? &plan->levels : &plan->categories[t - 1]))
            return DN_EDB;
    return 0;
}

/*  The checks against what is stored that a parsed plan must pass to be
    set: its date not taken (by a version in force or a retired one), the
    ledger's one currency, and a date after every sale stored (a version
    dated at or before a stored sale would change commissions already
    posted).  Returns 0, DN_EEXIST, DN_EINVAL, DN_EPERM (why says which), or
    DN_EDB.  */
static int s_check_stored(sqlite3 *db, const dn_plan_t *plan, char *why, size_t why_size)
{
    char date[11], recorded[DN_TIME_TEXT_SIZE];
    sqlite3_stmt *stmt;
    int64_t value;
    int is_null, rc, step;

    s_date(plan->effective_ms, date);
    if (dn_db_prepare(db,
                      "SELECT retired_ms FROM plans WHERE effective_ms >= ? AND effective_ms < ? "
                      "ORDER BY retired_ms IS NOT NULL LIMIT 1",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, plan->effective_ms);
    sqlite3_bind_int64(stmt, 2, s_day_end(plan->effective_ms));
    step = sqlite3_step(stmt);
    if (step == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_NULL)
        rc = dn_why(
            why, why_size, DN_EEXIST,
            _("a plan effective %s exists already: a version is never replaced; set "
              "a new one with a later effective date"),
            date);
    else if (step == SQLITE_ROW) {
        dn_time_format(sqlite3_column_int64(stmt, 0), recorded);
        rc = dn_why(why, why_size, DN_EEXIST,
                    _("a plan effective %s was retired at %s and keeps its date: set the "
                      "new one with another effective date"),
                    date, recorded);
    } else
        rc = step == SQLITE_DONE ? 0 : DN_EDB;
    sqlite3_finalize(stmt);
    if (rc)
        return rc;

    { /* one currency per network, chosen at the server's init */
        char network[4];
        int got = dn_db_meta_get(db, DN_META_CURRENCY, network, sizeof network);
        if (got == DN_ENOENT)
            snprintf(network, sizeof network, "%s", DN_CURRENCY_DEFAULT);
        else if (got)
            return DN_EDB;
        if (strcmp(network, plan->currency) != 0)
            return dn_why(
                why, why_size, DN_EINVAL,
                _("currency %s differs from the network's %s: every plan uses %s"),
                plan->currency, network, network);
    }

    rc = s_query_int(db, "SELECT max(recorded_at_ms) FROM sales WHERE held = 0", 0, &value,
                     &is_null);
    if (rc == 0 && !is_null && plan->effective_ms <= value) {
        dn_time_format(value, recorded);
        rc =
            dn_why(why, why_size, DN_EPERM,
                   _("effective %s is not after the latest sale stored (recorded %s): it "
                     "would change commissions already posted; choose a later date"),
                   date, recorded);
    }
    return rc;
}

int dn_plan_set(sqlite3 *db, const char *text, int64_t now_ms, dn_plan_t *plan, char *why,
                size_t why_size)
{
    int rc = dn_plan_parse(text, plan, why, why_size);
    if (rc)
        return rc;
    if (dn_db_begin(db))
        return dn_why(why, why_size, DN_EDB, _("database busy or failing; try again"));
    rc = s_check_stored(db, plan, why, why_size);
    if (rc == 0)
        rc = s_store(db, plan, text, now_ms);
    if (rc == 0 && dn_db_commit(db))
        rc = DN_EDB;
    if (rc == 0)
        return 0;
    if (rc == DN_EDB)
        dn_why(why, why_size, DN_EDB, _("database error"));
    dn_db_rollback(db);
    plan->id = 0;
    return rc;
}

#define S_PLAN_COLUMNS                                                                   \
    "SELECT id, effective_ms, currency, cap_bps, first_purchase_bonus, purchase_bps,"    \
    "  purchase_days, recruit_override_bps, recruit_override_days, compliance "         \
    "FROM plans "

/*  A retired version is never in force.  */
static const char s_plan_at_sql[] = S_PLAN_COLUMNS
    "WHERE effective_ms <= ? AND retired_ms IS NULL ORDER BY effective_ms DESC LIMIT 1";
static const char s_plan_by_id_sql[] = S_PLAN_COLUMNS "WHERE id = ?";
static const char s_rates_sql[] = "SELECT category, level, bps FROM plan_rates WHERE "
                                  "plan_id = ? ORDER BY category, level";

/*  Fills *plan from the plans row that row (bound, one of the queries
    above) finds, and its rates read with rates (unbound).  The caller
    resets or finalizes both.  0, DN_ENOENT or DN_EDB.  */
static int s_read(sqlite3_stmt *row, sqlite3_stmt *rates, dn_plan_t *plan)
{
    int rc;

    memset(plan, 0, sizeof *plan);
    rc = sqlite3_step(row);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? DN_ENOENT : DN_EDB;
    plan->id = sqlite3_column_int64(row, 0);
    plan->effective_ms = sqlite3_column_int64(row, 1);
    snprintf(plan->currency, sizeof plan->currency, "%s",
             (const char *)sqlite3_column_text(row, 2));
    plan->exponent = dn_money_exponent(plan->currency);
    plan->cap_bps = sqlite3_column_int(row, 3);
    plan->first_purchase_bonus = sqlite3_column_int64(row, 4);
    plan->purchase_bps = sqlite3_column_int(row, 5);
    plan->purchase_days = sqlite3_column_int(row, 6);
    plan->recruit_override_bps = sqlite3_column_int(row, 7);
    plan->recruit_override_days = sqlite3_column_int(row, 8);
    if (sqlite3_column_text(row, 9) &&
        strcmp((const char *)sqlite3_column_text(row, 9), "cn-direct-selling") == 0)
        plan->compliance = DN_PLAN_COMPLIANCE_CN_DIRECT_SELLING;
    if (plan->exponent < 0)
        return DN_EDB; /* the table holds only currencies dn_plan_set accepted */

    sqlite3_bind_int64(rates, 1, plan->id);
    while ((rc = dn_db_row(rates, "plan: rates")) == 1) {
        const char *category = (const char *)sqlite3_column_text(rates, 0);
        int level = sqlite3_column_int(rates, 1);
        dn_plan_table_t *table = &plan->levels;
        if (category && *category) {
            int n = plan->n_categories;
            if (n == 0 || strcmp(plan->categories[n - 1].category, category) != 0) {
                if (n == DN_PLAN_MAX_CATEGORIES)
                    return DN_EDB;
                snprintf(plan->categories[n].category, DN_MAX_CODE_LEN + 1, "%s",
                         category);
                plan->n_categories++;
            }
            table = &plan->categories[plan->n_categories - 1];
        }
        if (level < 0 || level >= DN_PLAN_MAX_LEVELS)
            return DN_EDB;
        table->bps[level] = sqlite3_column_int(rates, 2);
        if (table->n_levels < level + 1)
            table->n_levels = level + 1;
    }
    return rc < 0 ? DN_EDB : 0;
}

/*  The display names of plan's categories (plan_categories).  0 or
    DN_EDB.  */
static int s_read_names(sqlite3 *db, dn_plan_t *plan)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db, "SELECT category, name FROM plan_categories WHERE plan_id = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, plan->id);
    while ((rc = dn_db_row(stmt, "plan: category names")) == 1) {
        const char *category = (const char *)sqlite3_column_text(stmt, 0);
        for (int i = 0; i < plan->n_categories && category; i++)
            if (strcmp(plan->categories[i].category, category) == 0 &&
                dn_db_column_copy(stmt, 1, plan->categories[i].name,
                                  sizeof plan->categories[i].name))
                rc = -1;
        if (rc < 0)
            break;
    }
    sqlite3_finalize(stmt);
    return rc < 0 ? DN_EDB : 0;
}

/*  s_read with statements prepared for this call.  */
static int s_load(sqlite3 *db, const char *sql, int64_t param, dn_plan_t *plan)
{
    sqlite3_stmt *row = NULL, *rates = NULL;
    int rc = DN_EDB;
    if (dn_db_prepare(db, sql, &row) == 0 &&
        dn_db_prepare(db, s_rates_sql, &rates) == 0) {
        sqlite3_bind_int64(row, 1, param);
        rc = s_read(row, rates, plan);
    }
    sqlite3_finalize(row);
    sqlite3_finalize(rates);
    if (rc == 0)
        rc = s_read_names(db, plan);
    return rc;
}

int dn_plan_at(sqlite3 *db, int64_t at_ms, dn_plan_t *plan)
{
    return s_load(db, s_plan_at_sql, at_ms, plan);
}

int dn_plan_at_cached(dn_db_cache_t *cache, int64_t at_ms, dn_plan_t *plan)
{
    sqlite3_stmt *row, *rates;
    int rc;
    if (dn_db_cached(cache, s_plan_at_sql, &row))
        return DN_EDB;
    if (dn_db_cached(cache, s_rates_sql, &rates)) {
        sqlite3_reset(row);
        return DN_EDB;
    }
    sqlite3_bind_int64(row, 1, at_ms);
    rc = s_read(row, rates, plan);
    sqlite3_reset(row);
    sqlite3_reset(rates);
    return rc;
}

int dn_plan_in_force_cached(dn_db_cache_t *cache, dn_plan_t **plans, size_t *n)
{
    sqlite3_stmt *stmt;
    size_t cap = 0;
    int rc = 0, step;

    *plans = NULL;
    *n = 0;
    if (dn_db_cached(cache,
                     "SELECT effective_ms FROM plans WHERE retired_ms IS NULL "
                     "ORDER BY effective_ms",
                     &stmt))
        return DN_EDB;
    while (rc == 0 && (step = dn_db_row(stmt, "plans in force")) == 1) {
        dn_plan_t *bigger = dn_array_grow(*plans, &cap, *n, sizeof *bigger, 4);
        if (!bigger) {
            rc = DN_ENOMEM;
            break;
        }
        *plans = bigger;
        rc = dn_plan_at_cached(cache, sqlite3_column_int64(stmt, 0), &(*plans)[*n]);
        if (rc == 0)
            (*n)++;
    }
    sqlite3_reset(stmt);
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    if (rc) {
        free(*plans);
        *plans = NULL;
        *n = 0;
    }
    return rc;
}

int dn_plan_currency(sqlite3 *db, char currency[4], int *exponent)
{
    sqlite3_stmt *stmt;
    int rc, step;
    if (dn_db_prepare(db, "SELECT currency FROM plans ORDER BY effective_ms LIMIT 1", &stmt))
        return DN_EDB;
    if ((step = dn_db_row(stmt, "plan currency")) == 1) {
        snprintf(currency, 4, "%s", (const char *)sqlite3_column_text(stmt, 0));
        *exponent = dn_money_exponent(currency);
        rc = *exponent >= 0 ? 0 : DN_EDB;
    } else {
        rc = step < 0 ? DN_EDB : DN_ENOENT;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* -- JSON ------------------------------------------------------------------ */

/*  Writes a table's rates as "800/300/100" into out.  */
static void s_rates(const dn_plan_table_t *table, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < table->n_levels && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%d", i ? "/" : "",
                                 (int)table->bps[i]);
}

/*  Sets obj's "category_names": {"rice": "大米"} for the categories the
    plan names, or null when it names none.  0 or -1 (out of memory).  */
static int s_set_names(json_t *obj, const dn_plan_t *plan)
{
    json_t *names = json_object();
    for (int i = 0; i < plan->n_categories && names; i++) {
        if (plan->categories[i].name[0] &&
            json_object_set_new(names, plan->categories[i].category,
                                json_string(plan->categories[i].name))) {
            json_decref(names);
            names = NULL;
        }
    }
    if (names && json_object_size(names) == 0) {
        json_decref(names);
        return json_object_set_new(obj, "category_names", json_null());
    }
    return names ? json_object_set_new(obj, "category_names", names) : -1;
}

/*  Builds the flat object of plan shared by list and show; created_ms < 0
    leaves "created" out.  NULL when out of memory.  */
static json_t *s_plan_object(const dn_plan_t *plan, int64_t created_ms)
{
    char date[11], levels[128], bonus[DN_MONEY_TEXT_SIZE], created[DN_TIME_TEXT_SIZE];
    char categories[DN_PLAN_MAX_CATEGORIES * (DN_MAX_CODE_LEN + 64)];
    size_t used = 0;
    json_t *obj;

    s_date(plan->effective_ms, date);
    s_rates(&plan->levels, levels, sizeof levels);
    categories[0] = '\0';
    for (int i = 0; i < plan->n_categories && used < sizeof categories; i++) {
        char rates[128];
        s_rates(&plan->categories[i], rates, sizeof rates);
        used += (size_t)snprintf(categories + used, sizeof categories - used, "%s%s %s",
                                 i ? ", " : "", plan->categories[i].category, rates);
    }
    if (dn_money_format(plan->first_purchase_bonus, plan->exponent, bonus, sizeof bonus))
        snprintf(bonus, sizeof bonus, "%lld", (long long)plan->first_purchase_bonus);
    obj = json_pack("{s:s, s:s, s:i, s:s, s:o, s:s, s:I, s:i, s:i, s:i, s:i}", "effective",
                    date, "currency", plan->currency, "cap_bps", (int)plan->cap_bps,
                    "levels", levels, "categories",
                    plan->n_categories ? json_string(categories) : json_null(),
                    "first_purchase_bonus", bonus, "first_purchase_bonus_minor",
                    (json_int_t)plan->first_purchase_bonus, "purchase_bps",
                    (int)plan->purchase_bps, "purchase_days", (int)plan->purchase_days,
                    "recruit_override_bps", (int)plan->recruit_override_bps,
                    "recruit_override_days", (int)plan->recruit_override_days);
    if (obj && (json_object_set_new(obj, "compliance",
                                    json_string(dn_plan_compliance_name(plan->compliance))) ||
                s_set_names(obj, plan))) {
        json_decref(obj);
        obj = NULL;
    }
    if (obj && created_ms >= 0) {
        dn_time_format(created_ms, created);
        if (json_object_set_new(obj, "created", json_string(created))) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}

int dn_plan_list(sqlite3 *db, json_t **list)
{
    sqlite3_stmt *stmt;
    int rc = 0, step;

    *list = json_array();
    if (!*list)
        return DN_ENOMEM;
    if (dn_db_prepare(db,
                      "SELECT id, created_ms, retired_ms, retired_by FROM plans "
                      "ORDER BY effective_ms",
                      &stmt)) {
        json_decref(*list);
        *list = NULL;
        return DN_EDB;
    }
    while (rc == 0 && (step = dn_db_row(stmt, "plan: list")) == 1) {
        char retired[DN_TIME_TEXT_SIZE];
        const char *by = (const char *)sqlite3_column_text(stmt, 3);
        int is_retired = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
        dn_plan_t plan;
        json_t *row;
        if (is_retired && !by) {
            rc = DN_ENOMEM; /* retired_by is set with retired_ms */
            break;
        }
        rc = s_load(db, s_plan_by_id_sql, sqlite3_column_int64(stmt, 0), &plan);
        if (rc)
            break;
        row = s_plan_object(&plan, sqlite3_column_int64(stmt, 1));
        if (row && is_retired)
            dn_time_format(sqlite3_column_int64(stmt, 2), retired);
        if (!row ||
            json_object_set_new(row, "retired",
                                is_retired ? json_string(retired) : json_null()) ||
            json_object_set_new(row, "retired_by",
                                is_retired ? json_string(by) : json_null())) {
            json_decref(row);
            rc = DN_ENOMEM;
        } else if (json_array_append_new(*list, row)) {
            rc = DN_ENOMEM;
        }
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    if (rc) {
        json_decref(*list);
        *list = NULL;
        return rc == DN_ENOENT ? DN_EDB : rc;
    }
    return 0;
}

int dn_plan_json(sqlite3 *db, const dn_plan_t *plan, json_t **out)
{
    sqlite3_stmt *stmt;
    int64_t created_ms = -1;
    char *source = NULL;
    int step = 0;

    *out = NULL;
    if (plan->id > 0) {
        if (dn_db_prepare(db, "SELECT created_ms, source FROM plans WHERE id = ?", &stmt))
            return DN_EDB;
        sqlite3_bind_int64(stmt, 1, plan->id);
        if ((step = dn_db_row(stmt, "plan")) == 1) {
            created_ms = sqlite3_column_int64(stmt, 0);
            if (sqlite3_column_text(stmt, 1))
                source = strdup((const char *)sqlite3_column_text(stmt, 1));
        }
        sqlite3_finalize(stmt);
        if (step < 0)
            return DN_EDB;
    }
    *out = s_plan_object(plan, created_ms);
    if (*out && source && json_object_set_new(*out, "source", json_string(source))) {
        json_decref(*out);
        *out = NULL;
    }
    free(source);
    return *out ? 0 : DN_ENOMEM;
}

/* -- checking and retiring versions ----------------------------------------- */

/*  Appends one change of field to changes unless both values are equal;
    NULL stands for "not in that version".  0 or DN_ENOMEM.  */
static int s_change(json_t *changes, const char *field, const char *in_force,
                    const char *proposed)
{
    const char *change = !in_force ? "added" : !proposed ? "removed" : "changed";
    json_t *row;
    if (in_force && proposed && strcmp(in_force, proposed) == 0)
        return 0;
    row = json_pack("{s:s, s:s, s:o, s:o}", "field", field, "change", change, "in_force",
                    in_force ? json_string(in_force) : json_null(), "new",
                    proposed ? json_string(proposed) : json_null());
    return json_array_append_new(changes, row) ? DN_ENOMEM : 0;
}

/*  A whole-number value: in the version in force (when there is one) and
    in the proposed one.  */
static int s_change_int(json_t *changes, const char *field, int has_in_force,
                        int64_t in_force, int64_t proposed)
{
    char a[24], b[24];
    snprintf(a, sizeof a, "%lld", (long long)in_force);
    snprintf(b, sizeof b, "%lld", (long long)proposed);
    return s_change(changes, field, has_in_force ? a : NULL, b);
}

/*  The rates of one table, level by level: a level is in a table when it
    is below its n_levels (levels left out below the highest pay 0, as they
    are stored).  in_force or proposed NULL: the table is not in that version.  */
static int s_change_table(json_t *changes, const char *section,
                          const dn_plan_table_t *in_force,
                          const dn_plan_table_t *proposed)
{
    int n = in_force ? in_force->n_levels : 0;
    if (proposed && proposed->n_levels > n)
        n = proposed->n_levels;
    for (int level = 0; level < n; level++) {
        char field[DN_MAX_CODE_LEN + 32], a[16], b[16];
        int has_a = in_force && level < in_force->n_levels;
        int has_b = proposed && level < proposed->n_levels;
        int rc;
        snprintf(field, sizeof field, "[%s] %d", section, level);
        if (has_a)
            snprintf(a, sizeof a, "%d", (int)in_force->bps[level]);
        if (has_b)
            snprintf(b, sizeof b, "%d", (int)proposed->bps[level]);
        if ((rc = s_change(changes, field, has_a ? a : NULL, has_b ? b : NULL)) != 0)
            return rc;
    }
    return 0;
}

int dn_plan_diff(const dn_plan_t *in_force, const dn_plan_t *plan, json_t **changes)
{
    const dn_plan_t *a = in_force;
    char section[DN_MAX_CODE_LEN + 16], bonus_a[DN_MONEY_TEXT_SIZE],
        bonus_b[DN_MONEY_TEXT_SIZE];
    int i = 0, j = 0, rc;

    if (!(*changes = json_array()))
        return DN_ENOMEM;
    rc = s_change_int(*changes, "cap_bps", a != NULL, a ? a->cap_bps : 0, plan->cap_bps);
    if (rc == 0)
        rc = s_change_table(*changes, "levels", a ? &a->levels : NULL, &plan->levels);
    /* categories: both lists are sorted by name */
    while (rc == 0 && ((a && i < a->n_categories) || j < plan->n_categories)) {
        const dn_plan_table_t *ta = a && i < a->n_categories ? &a->categories[i] : NULL;
        const dn_plan_table_t *tb = j < plan->n_categories ? &plan->categories[j] : NULL;
        int order = !ta ? 1 : !tb ? -1 : strcmp(ta->category, tb->category);
        snprintf(section, sizeof section, "category:%s",
                 order <= 0 ? ta->category : tb->category);
        rc = s_change_table(*changes, section, order <= 0 ? ta : NULL,
                            order >= 0 ? tb : NULL);
        i += order <= 0;
        j += order >= 0;
    }
    if (rc == 0) {
        if (a && dn_money_format(a->first_purchase_bonus, a->exponent, bonus_a,
                                 sizeof bonus_a))
            rc = DN_EINVAL;
        else if (dn_money_format(plan->first_purchase_bonus, plan->exponent, bonus_b,
                                 sizeof bonus_b))
            rc = DN_EINVAL;
        else
            rc = s_change(*changes, "first_purchase_bonus", a ? bonus_a : NULL, bonus_b);
    }
    if (rc == 0)
        rc = s_change_int(*changes, "purchase_bps", a != NULL, a ? a->purchase_bps : 0,
                          plan->purchase_bps);
    if (rc == 0)
        rc = s_change_int(*changes, "purchase_days", a != NULL, a ? a->purchase_days : 0,
                          plan->purchase_days);
    if (rc == 0)
        rc = s_change_int(*changes, "recruit_override_bps", a != NULL,
                          a ? a->recruit_override_bps : 0, plan->recruit_override_bps);
    if (rc == 0)
        rc = s_change_int(*changes, "recruit_override_days", a != NULL,
                          a ? a->recruit_override_days : 0, plan->recruit_override_days);
    /* compliance only where a version sets it: a file without the key
       compares as before it existed */
    if (rc == 0 && ((a && a->compliance) || plan->compliance))
        rc = s_change(*changes, "compliance",
                      a ? dn_plan_compliance_name(a->compliance) : NULL,
                      dn_plan_compliance_name(plan->compliance));
    if (rc) {
        json_decref(*changes);
        *changes = NULL;
    }
    return rc;
}

int dn_plan_check(sqlite3 *db, const char *text, json_t **out, char *why, size_t why_size)
{
    char date[11], against[11];
    dn_plan_t plan, in_force;
    json_t *changes = NULL;
    int rc, have;

    *out = NULL;
    if ((rc = dn_plan_parse(text, &plan, why, why_size)) != 0)
        return rc;
    if ((rc = s_check_stored(db, &plan, why, why_size)) != 0)
        return rc == DN_EDB ? dn_why(why, why_size, rc, _("database error")) : rc;
    rc = dn_plan_at(db, plan.effective_ms, &in_force);
    if (rc && rc != DN_ENOENT)
        return dn_why(why, why_size, DN_EDB, _("database error"));
    have = rc == 0;
    if ((rc = dn_plan_diff(have ? &in_force : NULL, &plan, &changes)) != 0)
        return rc;
    s_date(plan.effective_ms, date);
    if (have)
        s_date(in_force.effective_ms, against);
    *out = json_pack("{s:s, s:s, s:o, s:o}", "effective", date, "currency", plan.currency,
                     "against", have ? json_string(against) : json_null(), "changes",
                     changes);
    return *out ? 0 : DN_ENOMEM;
}

int dn_plan_retire(sqlite3 *db, int64_t effective_ms, const char *admin, int64_t now_ms,
                   json_t **out, char *why, size_t why_size)
{
    char date[11], when[DN_TIME_TEXT_SIZE], first[DN_TIME_TEXT_SIZE], instead[11];
    int64_t id = 0, end_ms = INT64_MAX, n = 0, first_ms = 0, before_ms = 0;
    int is_null = 1, have_before, rc;
    sqlite3_stmt *stmt;

    *out = NULL;
    s_date(effective_ms, date);
    if (dn_db_begin(db))
        return dn_why(why, why_size, DN_EDB, _("database busy or failing; try again"));
    if (dn_db_prepare(db,
                      "SELECT id, retired_ms, retired_by, effective_ms FROM plans "
                      "WHERE effective_ms >= ? AND effective_ms < ? "
                      "ORDER BY retired_ms IS NOT NULL LIMIT 1",
                      &stmt)) {
        rc = DN_EDB;
        goto failed;
    }
    sqlite3_bind_int64(stmt, 1, effective_ms);
    sqlite3_bind_int64(stmt, 2, s_day_end(effective_ms));
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        rc = dn_why(why, why_size, DN_ENOENT,
                    _("no plan version is effective %s (see: dealernet-hq plan list)"),
                    date);
    } else if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 1) != SQLITE_NULL) {
        dn_time_format(sqlite3_column_int64(stmt, 1), when);
        rc = dn_why(
            why, why_size, DN_EEXIST,
            _("the plan effective %s was already retired at %s by %s"), date, when,
            sqlite3_column_text(stmt, 2) ? (const char *)sqlite3_column_text(stmt, 2)
                                         : "?");
    } else if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(stmt, 0);
        effective_ms = sqlite3_column_int64(stmt, 3); /* its window starts there */
        rc = 0;
    } else {
        rc = DN_EDB;
    }
    sqlite3_finalize(stmt);
    if (rc)
        goto failed;

    /* The version's window: from its date to the next version in force.  A
       sale stored in it was posted under it -- whether it earned anything
       or not (a 0 rate, another currency): verify recomputes every sale
       with the versions in force, and without this one the sale would fall
       under the version before, with other rates.  So any such sale keeps
       the version.  The window, not a plan id on each transfer: it is the
       rule the posting code and verify pick a version by, so it cannot
       drift from them, and it also covers a sale that posted nothing.  */
    rc = s_query_int(db,
                     "SELECT min(effective_ms) FROM plans WHERE retired_ms IS NULL AND "
                     "effective_ms > ?",
                     effective_ms, &end_ms, &is_null);
    if (rc == 0 && is_null)
        end_ms = INT64_MAX;
    if (rc == 0 && dn_db_prepare(db,
                                 "SELECT count(*), min(recorded_at_ms) FROM sales "
                                 "WHERE recorded_at_ms >= ? AND recorded_at_ms < ?",
                                 &stmt) == 0) {
        sqlite3_bind_int64(stmt, 1, effective_ms);
        sqlite3_bind_int64(stmt, 2, end_ms);
        if (dn_db_row(stmt, "sales under a plan") == 1) {
            n = sqlite3_column_int64(stmt, 0);
            first_ms = sqlite3_column_int64(stmt, 1);
        } else {
            rc = DN_EDB; /* count(*) always has its row */
        }
        sqlite3_finalize(stmt);
    } else if (rc == 0) {
        rc = DN_EDB;
    }
    if (rc == 0 && n > 0) {
        dn_time_format(first_ms, first);
        /* two sentences for "sale" and "sales": a language without
           plurals words both alike */
        if (n == 1)
            rc =
                dn_why(why, why_size, DN_EPERM,
                       _("the plan effective %s is the one in force for %lld stored sale "
                         "(the first recorded %s): retiring it would change what they "
                         "earned; set a new version from a later date instead"),
                       date, (long long)n, first);
        else
            rc = dn_why(
                why, why_size, DN_EPERM,
                _("the plan effective %s is the one in force for %lld stored sales "
                  "(the first recorded %s): retiring it would change what they "
                  "earned; set a new version from a later date instead"),
                date, (long long)n, first);
    }
    if (rc)
        goto failed;

    if (dn_db_prepare(db, "UPDATE plans SET retired_ms = ?, retired_by = ? WHERE id = ?",
                      &stmt)) {
        rc = DN_EDB;
        goto failed;
    }
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_text(stmt, 2, admin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, id);
    rc = dn_db_step_txn(db, stmt);
    sqlite3_finalize(stmt);
    /* what is in force from its date on now */
    if (rc == 0)
        rc = s_query_int(
            db,
            "SELECT max(effective_ms) FROM plans WHERE retired_ms IS NULL AND "
            "effective_ms < ?",
            effective_ms, &before_ms, &is_null);
    have_before = !is_null;
    if (rc == 0 && dn_db_commit(db))
        rc = DN_EDB;
    if (rc)
        goto failed;
    dn_time_format(now_ms, when);
    if (have_before)
        s_date(before_ms, instead);
    *out = json_pack("{s:s, s:s, s:s, s:o}", "effective", date, "retired", when,
                     "retired_by", admin, "in_force_instead",
                     have_before ? json_string(instead) : json_null());
    return *out ? 0 : DN_ENOMEM;

failed:
    dn_db_rollback(db);
    return rc == DN_EDB ? dn_why(why, why_size, rc, _("database error")) : rc;
}

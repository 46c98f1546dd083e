/*  dn_payrun -- payout runs and partners' bank details (see dn_payrun.h).

    A run is figures first, postings later: the proposal stores every line
    (paid or left out, with the bank details it would pay to), the
    approval posts exactly those lines through the ledger's own payout
    code.  So what HQ read is what is paid, and the bank file of an
    approved run is the same whenever it is exported (its date aside).
    Every read and write of the three tables is here; the ledger's
    figures come from dn_ledger_payables, a partner's status from dn_tree.
*/
#include "dn_payrun.h"
#include "dn_array.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_plan.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_tree.h"
#include "dn_valid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ADMIN_SIZE 128 /* an admin's name as stored (cut if longer) */
#define S_REF_SIZE   (sizeof DN_LEDGER_RUN_REF_PREFIX + 20 + 1 + DN_MAX_CODE_LEN + 1)
/*  At most this many partners are named in a refused approval; the
    others are counted ("and 3 more"), so the reason stays one line.  */
#define S_MAX_NAMED 8
#define S_WHY_SIZE  512 /* a reason, room for one in Chinese */

/*  One line of a run.  */
typedef struct {
    int64_t partner_id;
    char code[DN_MAX_CODE_LEN + 1];
    int64_t amount;
    char ref[S_REF_SIZE];                     /* "" when left out */
    char account[DN_PAYRUN_ACCOUNT_SIZE];     /* as proposed; "" when left out */
    char account_name[DN_MAX_NAME_BYTES + 1]; /* the holder's */
    char bank[DN_MAX_NAME_BYTES + 1];
    const char *left_out; /* "below_min", "suspended", "no_bank"; NULL: paid */
} s_line_t;

/*  A run and its lines.  */
typedef struct {
    int64_t id; /* 0: not stored (nothing to pay) */
    char period[DN_PERIOD_SIZE];
    int64_t min;
    char currency[4];
    int exponent;
    char state[12];
    int64_t created_ms, approved_ms, cancelled_ms; /* 0: none */
    char created_by[S_ADMIN_SIZE], approved_by[S_ADMIN_SIZE], cancelled_by[S_ADMIN_SIZE];
    s_line_t *lines;
    size_t n, cap;
} s_run_t;

static void s_run_free(s_run_t *run)
{
    free(run->lines);
    run->lines = NULL;
    run->n = run->cap = 0;
}

/*  A new zeroed line at the end of run's, or NULL.  */
static s_line_t *s_line_new(s_run_t *run)
{
    s_line_t *bigger = dn_array_grow(run->lines, &run->cap, run->n, sizeof *bigger, 16);
    if (!bigger)
        return NULL;
    run->lines = bigger;
    memset(&run->lines[run->n], 0, sizeof run->lines[run->n]);
    return &run->lines[run->n++];
}

/*  The decimals of a run's currency; 2 for one the table lacks, as
    dn_plan_currency takes it.  */
static int s_exponent(const char *currency)
{
    int exponent = dn_money_exponent(currency);
    return exponent < 0 ? 2 : exponent;
}

/*  The stored word of a reason, as the one static string of it.  */
static const char *s_reason_word(const char *text)
{
    static const char *const words[] = {"below_min", "suspended", "no_bank"};
    for (size_t i = 0; text && i < sizeof words / sizeof words[0]; i++)
        if (strcmp(text, words[i]) == 0)
            return words[i];
    return NULL;
}

/* -- bank details ------------------------------------------------------------ */

int dn_payrun_account_parse(const char *account, const char *option,
                            char out[DN_PAYRUN_ACCOUNT_SIZE], char *why, size_t why_size)
{
    size_t n = 0;
    for (const char *c = account; c && *c; c++) {
        if (*c == ' ')
            continue; /* typed in groups, as printed on a card */
        if (*c < '0' || *c > '9' || n == DN_PAYRUN_MAX_ACCOUNT_DIGITS) {
            n = 0;
            break;
        }
        out[n++] = *c;
    }
    out[n] = '\0';
    if (n >= DN_PAYRUN_MIN_ACCOUNT_DIGITS)
        return 0;
    out[0] = '\0';
    /* the number is not repeated: a refusal is logged */
    return dn_why(why, why_size, DN_EINVAL,
                  _("%s must be an account number of %d to %d digits (spaces between "
                    "them are ignored)"),
                  option, DN_PAYRUN_MIN_ACCOUNT_DIGITS, DN_PAYRUN_MAX_ACCOUNT_DIGITS);
}

/*  Checks a name typed for option (dn_valid_name).  0 or DN_EINVAL.  */
static int s_name_arg(const char *text, const char *option, char *why, size_t why_size)
{
    char reason[S_WHY_SIZE];
    if (dn_valid_name_why(text, reason, sizeof reason))
        return 0;
    return dn_why(why, why_size, DN_EINVAL, "%s %s", option, reason);
}

int dn_payrun_bank_set(sqlite3 *db, const char *partner, const char *account,
                       const char *name, const char *bank, const char *admin,
                       int64_t now_ms, json_t **out, char *why, size_t why_size)
{
    char number[DN_PAYRUN_ACCOUNT_SIZE], when[DN_TIME_TEXT_SIZE];
    dn_registry_partner_t found;
    sqlite3_stmt *stmt;
    int64_t had = 0;
    int rc;

    *out = NULL;
    if ((rc = dn_payrun_account_parse(account, "--account", number, why, why_size)) !=
            0 ||
        (rc = s_name_arg(name, "--name", why, why_size)) != 0 ||
        (rc = s_name_arg(bank, "--bank", why, why_size)) != 0)
        return rc;
    rc = dn_registry_partner_get(db, partner, &found);
    if (rc == DN_ENOENT)
        return dn_why(why, why_size, rc,
                      _("partner %.40s does not exist (see: dealernet-hq partner list)"),
                      partner);
    if (rc)
        return rc;
    if ((rc = dn_db_begin(db)) != 0)
        return rc;
    if (dn_db_prepare(db, "SELECT count(*) FROM partner_banks WHERE partner_id = ?",
                      &stmt) == 0) {
        sqlite3_bind_int64(stmt, 1, found.id);
        rc = dn_db_int_row(stmt, "bank details: the partner's", &had) < 0 ? DN_EDB : 0;
    } else {
        rc = DN_EDB;
    }
    if (rc == 0 &&
        dn_db_prepare(
            db,
            "INSERT OR REPLACE INTO partner_banks(partner_id, account, name, bank, "
            "updated_ms, updated_by) VALUES (?, ?, ?, ?, ?, ?)",
            &stmt) == 0) {
        sqlite3_bind_int64(stmt, 1, found.id);
        sqlite3_bind_text(stmt, 2, number, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, bank, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 5, now_ms);
        sqlite3_bind_text(stmt, 6, admin, -1, SQLITE_STATIC);
        rc = dn_db_step_txn(db, stmt);
        sqlite3_finalize(stmt);
    } else if (rc == 0) {
        rc = DN_EDB;
    }
    if (rc == 0)
        rc = dn_db_commit(db);
    if (rc) {
        dn_db_rollback(db);
        return rc;
    }
    /* the partner, never the number: logs are read by more people */
    dn_log_info("admin %s: bank details of partner %s %s", admin, found.code,
                had ? "replaced" : "set");
    dn_time_format(now_ms, when);
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "partner", found.code,
                     "account", number, "name", name, "bank", bank, "updated", when,
                     "updated_by", admin, "replaced", had > 0);
    return *out ? 0 : DN_ENOMEM;
}

/* -- reading a run ------------------------------------------------------------ */

/*  Copies text column col into buf, "" for NULL.  0 or DN_ENOMEM.  */
static int s_text(sqlite3_stmt *stmt, int col, char *buf, size_t size)
{
    return dn_db_column_copy(stmt, col, buf, size);
}

/*  Loads run id and its lines (by partner code) into *run.  0, DN_ENOENT
    (why set), DN_EDB, DN_ENOMEM.  */
static int s_run_load(sqlite3 *db, int64_t id, s_run_t *run, char *why, size_t why_size)
{
    sqlite3_stmt *stmt;
    int rc, step;

    memset(run, 0, sizeof *run);
    if (dn_db_prepare(db,
                      "SELECT period, min, currency, state, created_ms, created_by, "
                      "approved_ms, approved_by, cancelled_ms, cancelled_by "
                      "FROM payout_runs WHERE id = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    step = dn_db_row(stmt, "payout run: read it");
    rc = step < 0 ? DN_EDB : 0;
    if (step == 0)
        rc = dn_why(why, why_size, DN_ENOENT,
                    _("no payout run %lld (see: dealernet-hq payout runs)"),
                    (long long)id);
    if (step == 1) {
        run->id = id;
        run->min = sqlite3_column_int64(stmt, 1);
        run->created_ms = sqlite3_column_int64(stmt, 4);
        run->approved_ms = sqlite3_column_int64(stmt, 6);
        run->cancelled_ms = sqlite3_column_int64(stmt, 8);
        if (s_text(stmt, 0, run->period, sizeof run->period) ||
            s_text(stmt, 2, run->currency, sizeof run->currency) ||
            s_text(stmt, 3, run->state, sizeof run->state) ||
            s_text(stmt, 5, run->created_by, sizeof run->created_by) ||
            s_text(stmt, 7, run->approved_by, sizeof run->approved_by) ||
            s_text(stmt, 9, run->cancelled_by, sizeof run->cancelled_by))
            rc = DN_ENOMEM;
    }
    sqlite3_finalize(stmt);
    if (rc)
        return rc;
    run->exponent = s_exponent(run->currency);
    if (dn_db_prepare(db,
                      "SELECT l.partner_id, p.code, l.amount, l.ref, l.account, "
                      "l.account_name, l.bank, l.left_out FROM payout_run_lines l "
                      "JOIN partners p ON p.id = l.partner_id WHERE l.run_id = ? "
                      "ORDER BY p.code",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, id);
    while ((step = dn_db_row(stmt, "payout run: its lines")) == 1) {
        s_line_t *line = s_line_new(run);
        char reason[16];
        if (!line) {
            rc = DN_ENOMEM;
            break;
        }
        line->partner_id = sqlite3_column_int64(stmt, 0);
        line->amount = sqlite3_column_int64(stmt, 2);
        if (s_text(stmt, 1, line->code, sizeof line->code) ||
            s_text(stmt, 3, line->ref, sizeof line->ref) ||
            s_text(stmt, 4, line->account, sizeof line->account) ||
            s_text(stmt, 5, line->account_name, sizeof line->account_name) ||
            s_text(stmt, 6, line->bank, sizeof line->bank) ||
            s_text(stmt, 7, reason, sizeof reason)) {
            rc = DN_ENOMEM;
            break;
        }
        line->left_out = s_reason_word(reason);
    }
    sqlite3_finalize(stmt);
    if (rc == 0 && step < 0) /* a run shown without some lines is a wrong one */
        rc = DN_EDB;
    if (rc)
        s_run_free(run);
    return rc;
}

/*  A time as ISO-8601 text, or null for 0.  */
static json_t *s_time(int64_t ms)
{
    char text[DN_TIME_TEXT_SIZE];
    if (!ms)
        return json_null();
    dn_time_format(ms, text);
    return json_string(text);
}

/*  Text, or null for "".  */
static json_t *s_text_or_null(const char *text)
{
    return text[0] ? json_string(text) : json_null();
}

/*  Sets key (decimal text) and key_minor (integer) of obj to amount.  */
static void s_money_set(json_t *obj, const char *key, int64_t amount, int exponent)
{
    char text[DN_MONEY_TEXT_SIZE], minor_key[32];
    dn_money_format(amount, exponent, text, sizeof text);
    snprintf(minor_key, sizeof minor_key, "%s_minor", key);
    json_object_set_new(obj, key, json_string(text));
    json_object_set_new(obj, minor_key, json_integer(amount));
}

/*  The reason a partner was left out, for a person: short enough for a
    table's cell (DN_RENDER_MAX_CELL_COLUMNS), with what mends it.  */
static json_t *s_reason_text(const s_line_t *line)
{
    if (strcmp(line->left_out, "below_min") == 0)
        return json_string(_("below the minimum"));
    if (strcmp(line->left_out, "suspended") == 0)
        return json_string(_("suspended (see: partner resume)"));
    return json_string(_("no bank details (see: partner bank)"));
}

/*  The run as dn_payrun_show says, with "already".  0 or DN_ENOMEM.  */
static int s_run_json(const s_run_t *run, int already, json_t **out)
{
    json_t *obj = json_object(), *lines = json_array(), *left = json_array();
    int64_t total = 0, payouts = 0;

    *out = NULL;
    if (!obj || !lines || !left) {
        json_decref(obj);
        json_decref(lines);
        json_decref(left);
        return DN_ENOMEM;
    }
    for (size_t i = 0; i < run->n; i++) {
        const s_line_t *l = &run->lines[i];
        json_t *row = json_object();
        if (!row)
            break;
        json_object_set_new(row, "partner", json_string(l->code));
        s_money_set(row, "amount", l->amount, run->exponent);
        if (l->left_out) {
            json_object_set_new(row, "reason", json_string(l->left_out));
            json_object_set_new(row, "what", s_reason_text(l));
            json_array_append_new(left, row);
            continue;
        }
        json_object_set_new(row, "reference", json_string(l->ref));
        json_object_set_new(row, "account_name", json_string(l->account_name));
        json_object_set_new(row, "account_number", json_string(l->account));
        json_object_set_new(row, "bank", json_string(l->bank));
        json_array_append_new(lines, row);
        total += l->amount; /* each within a balance: the sum within DN_MONEY_SUM_MAX */
        payouts++;
    }
    json_object_set_new(obj, "run", run->id ? json_integer(run->id) : json_null());
    json_object_set_new(obj, "period", json_string(run->period));
    s_money_set(obj, "min", run->min, run->exponent);
    json_object_set_new(obj, "currency", json_string(run->currency));
    json_object_set_new(obj, "state", s_text_or_null(run->state));
    json_object_set_new(obj, "created", s_time(run->created_ms));
    json_object_set_new(obj, "created_by", s_text_or_null(run->created_by));
    json_object_set_new(obj, "approved", s_time(run->approved_ms));
    json_object_set_new(obj, "approved_by", s_text_or_null(run->approved_by));
    json_object_set_new(obj, "cancelled", s_time(run->cancelled_ms));
    json_object_set_new(obj, "cancelled_by", s_text_or_null(run->cancelled_by));
    json_object_set_new(obj, "payouts", json_integer(payouts));
    s_money_set(obj, "total", total, run->exponent);
    json_object_set_new(obj, "already", json_boolean(already));
    json_object_set_new(obj, "lines", lines);
    json_object_set_new(obj, "left_out", left);
    if (json_array_size(lines) + json_array_size(left) != run->n ||
        !json_object_get(obj, "left_out")) {
        json_decref(obj);
        return DN_ENOMEM;
    }
    *out = obj;
    return 0;
}

int dn_payrun_show(sqlite3 *db, int64_t id, json_t **out, char *why, size_t why_size)
{
    s_run_t run;
    int rc = s_run_load(db, id, &run, why, why_size);
    *out = NULL;
    if (rc)
        return rc;
    rc = s_run_json(&run, 0, out);
    s_run_free(&run);
    return rc;
}

int dn_payrun_list(sqlite3 *db, json_t **out)
{
    sqlite3_stmt *stmt;
    int rc = 0, step;

    if (!(*out = json_array()))
        return DN_ENOMEM;
    if (dn_db_prepare(
            db,
            "SELECT r.id, r.period, r.min, r.currency, r.state, "
            "  (SELECT count(*) FROM payout_run_lines l WHERE l.run_id = r.id "
            "   AND l.left_out IS NULL), "
            "  (SELECT coalesce(sum(amount), 0) FROM payout_run_lines l "
            "   WHERE l.run_id = r.id AND l.left_out IS NULL), "
            "  (SELECT count(*) FROM payout_run_lines l WHERE l.run_id = r.id "
            "   AND l.left_out IS NOT NULL), "
            "  r.created_ms, r.created_by, r.approved_ms, r.approved_by, r.cancelled_ms, "
            "  r.cancelled_by FROM payout_runs r ORDER BY r.id DESC",
            &stmt)) {
        json_decref(*out);
        *out = NULL;
        return DN_EDB;
    }
    while (rc == 0 && (step = dn_db_row(stmt, "payout runs: list")) == 1) {
        s_run_t run;
        char by[3][S_ADMIN_SIZE];
        json_t *row = json_object();
        memset(&run, 0, sizeof run);
        if (!row || s_text(stmt, 1, run.period, sizeof run.period) ||
            s_text(stmt, 3, run.currency, sizeof run.currency) ||
            s_text(stmt, 4, run.state, sizeof run.state) ||
            s_text(stmt, 9, by[0], sizeof by[0]) ||
            s_text(stmt, 11, by[1], sizeof by[1]) ||
            s_text(stmt, 13, by[2], sizeof by[2])) {
            json_decref(row);
            rc = DN_ENOMEM;
            break;
        }
        run.exponent = s_exponent(run.currency);
        json_object_set_new(row, "run", json_integer(sqlite3_column_int64(stmt, 0)));
        json_object_set_new(row, "period", json_string(run.period));
        s_money_set(row, "min", sqlite3_column_int64(stmt, 2), run.exponent);
        json_object_set_new(row, "currency", json_string(run.currency));
        json_object_set_new(row, "state", json_string(run.state));
        json_object_set_new(row, "payouts", json_integer(sqlite3_column_int64(stmt, 5)));
        s_money_set(row, "total", sqlite3_column_int64(stmt, 6), run.exponent);
        json_object_set_new(row, "left_out", json_integer(sqlite3_column_int64(stmt, 7)));
        json_object_set_new(row, "created", s_time(sqlite3_column_int64(stmt, 8)));
        json_object_set_new(row, "created_by", s_text_or_null(by[0]));
        json_object_set_new(row, "approved", s_time(sqlite3_column_int64(stmt, 10)));
        json_object_set_new(row, "approved_by", s_text_or_null(by[1]));
        json_object_set_new(row, "cancelled", s_time(sqlite3_column_int64(stmt, 12)));
        json_object_set_new(row, "cancelled_by", s_text_or_null(by[2]));
        if (json_array_append_new(*out, row))
            rc = DN_ENOMEM;
    }
    if (rc == 0 && step < 0)
        rc = DN_EDB;
    sqlite3_finalize(stmt);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* -- proposing ---------------------------------------------------------------- */

/*  The run of period proposed now, if any: *id (0: none) and its min.  */
static int s_proposed(sqlite3 *db, const char *period, int64_t *id, int64_t *min)
{
    sqlite3_stmt *stmt;
    int step;
    *id = 0;
    if (dn_db_prepare(
            db, "SELECT id, min FROM payout_runs WHERE period = ? AND state = 'proposed'",
            &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, period, -1, SQLITE_STATIC);
    step = dn_db_row(stmt, "payout run: the proposed one");
    if (step == 1) {
        *id = sqlite3_column_int64(stmt, 0);
        *min = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    return step < 0 ? DN_EDB : 0;
}

/*  Fills line's bank details from partner_banks; sets *found.  */
static int s_bank_get(sqlite3 *db, s_line_t *line, int *found)
{
    sqlite3_stmt *stmt;
    int step, rc = 0;
    if (dn_db_prepare(
            db, "SELECT account, name, bank FROM partner_banks WHERE partner_id = ?",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int64(stmt, 1, line->partner_id);
    step = dn_db_row(stmt, "payout run: bank details");
    *found = step == 1;
    if (step == 1 && (s_text(stmt, 0, line->account, sizeof line->account) ||
                      s_text(stmt, 1, line->account_name, sizeof line->account_name) ||
                      s_text(stmt, 2, line->bank, sizeof line->bank)))
        rc = DN_ENOMEM;
    sqlite3_finalize(stmt);
    return step < 0 ? DN_EDB : rc;
}

/*  The lines of a run of run->period at run->min from the ledger's
    figures, at now_ms: one per partner with something to pay, by
    partner code.  The reasons go in the order of what decides first: a
    line below the minimum is not due in this run whatever else holds; a
    suspended partner is not paid whatever its bank; then the bank.  */
static int s_lines_compute(sqlite3 *db, s_run_t *run, int64_t now_ms, char *why,
                           size_t why_size)
{
    dn_ledger_payable_t *rows = NULL;
    dn_tree_t *tree = NULL;
    size_t n = 0;
    int rc = dn_ledger_payables(db, run->period, &rows, &n, why, why_size);

    if (rc == 0 && !(tree = dn_tree_new(db)))
        rc = DN_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t amount = dn_ledger_payable_amount(&rows[i]);
        dn_tree_node_t *node;
        s_line_t *line;
        int bank = 0;
        if (amount <= 0)
            continue; /* nothing to pay: no line */
        if ((rc = dn_tree_node(tree, rows[i].partner_id, &node)) != 0)
            break;
        if (!(line = s_line_new(run))) {
            rc = DN_ENOMEM;
            break;
        }
        line->partner_id = rows[i].partner_id;
        line->amount = amount;
        snprintf(line->code, sizeof line->code, "%s", node->p.code);
        if (amount < run->min) {
            line->left_out = "below_min";
        } else if (!dn_tree_node_active_at(node, now_ms)) {
            line->left_out = "suspended";
        } else if ((rc = s_bank_get(db, line, &bank)) == 0 && !bank) {
            line->left_out = "no_bank";
            line->account[0] = line->account_name[0] = line->bank[0] = '\0';
        }
    }
    dn_tree_destroy(&tree);
    free(rows);
    return rc;
}

static int s_line_cmp(const void *a, const void *b)
{
    return strcmp(((const s_line_t *)a)->code, ((const s_line_t *)b)->code);
}

/*  Stores run (state proposed) and its lines; sets run->id and the
    references.  Inside the caller's transaction.  */
static int s_run_store(sqlite3 *db, s_run_t *run)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db,
                      "INSERT INTO payout_runs(period, min, currency, state, created_ms, "
                      "created_by) VALUES (?, ?, ?, 'proposed', ?, ?)",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, run->period, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, run->min);
    sqlite3_bind_text(stmt, 3, run->currency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, run->created_ms);
    sqlite3_bind_text(stmt, 5, run->created_by, -1, SQLITE_STATIC);
    rc = dn_db_step_txn(db, stmt);
    sqlite3_finalize(stmt);
    if (rc)
        return rc;
    run->id = sqlite3_last_insert_rowid(db);
    if (dn_db_prepare(db,
                      "INSERT INTO payout_run_lines(run_id, partner_id, amount, ref, "
                      "account, account_name, bank, left_out) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      &stmt))
        return DN_EDB;
    for (size_t i = 0; rc == 0 && i < run->n; i++) {
        s_line_t *l = &run->lines[i];
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        sqlite3_bind_int64(stmt, 1, run->id);
        sqlite3_bind_int64(stmt, 2, l->partner_id);
        sqlite3_bind_int64(stmt, 3, l->amount);
        if (l->left_out) {
            sqlite3_bind_text(stmt, 8, l->left_out, -1, SQLITE_STATIC);
        } else {
            snprintf(l->ref, sizeof l->ref, DN_LEDGER_RUN_REF_PREFIX "%lld/%s",
                     (long long)run->id, l->code);
            sqlite3_bind_text(stmt, 4, l->ref, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 5, l->account, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 6, l->account_name, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 7, l->bank, -1, SQLITE_STATIC);
        }
        rc = dn_db_step_txn(db, stmt);
    }
    sqlite3_finalize(stmt);
    return rc;
}

int dn_payrun_propose(sqlite3 *db, const char *period, int64_t min, const char *admin,
                      int64_t now_ms, json_t **out, char *why, size_t why_size)
{
    char shown[DN_MONEY_TEXT_SIZE];
    int64_t proposed = 0, proposed_min = 0;
    size_t paid = 0;
    s_run_t run;
    int rc;

    *out = NULL;
    memset(&run, 0, sizeof run);
    if (min < 0)
        return dn_why(why, why_size, DN_EINVAL, _("the minimum must be 0 or more"));
    if (!period || dn_time_parse_period(period, NULL, NULL))
        return dn_why(why, why_size, DN_EPARSE, _("period '%s' is not YYYY-MM"),
                      period ? period : "");
    rc = dn_plan_currency(db, run.currency, &run.exponent);
    if (rc == DN_ENOENT)
        return dn_why(
            why, why_size, rc,
            _("no plan is set yet, so the ledger has no currency and no balance"));
    if (rc)
        return rc;
    snprintf(run.period, sizeof run.period, "%s", period);
    run.min = min;
    run.created_ms = now_ms;
    snprintf(run.created_by, sizeof run.created_by, "%s", admin);
    snprintf(run.state, sizeof run.state, "proposed");

    if ((rc = dn_db_begin(db)) != 0)
        return rc;
    rc = s_proposed(db, period, &proposed, &proposed_min);
    if (rc == 0 && proposed && proposed_min == min) {
        /* the same question asked again: the same answer, no second run */
        dn_db_rollback(db);
        if ((rc = s_run_load(db, proposed, &run, why, why_size)) == 0)
            rc = s_run_json(&run, 1, out);
        s_run_free(&run);
        return rc;
    }
    if (rc == 0 && proposed) {
        dn_money_format(proposed_min, run.exponent, shown, sizeof shown);
        rc = dn_why(why, why_size, DN_EEXIST,
                    _("run %lld of %s is proposed already, with --min %s: approve it "
                      "(dealernet-hq payout approve %lld) or cancel it (dealernet-hq "
                      "payout cancel %lld) first"),
                    (long long)proposed, period, shown, (long long)proposed,
                    (long long)proposed);
    }
    if (rc == 0)
        rc = s_lines_compute(db, &run, now_ms, why, why_size);
    if (rc == 0 && run.n > 1)
        qsort(run.lines, run.n, sizeof *run.lines, s_line_cmp);
    for (size_t i = 0; i < run.n; i++)
        paid += !run.lines[i].left_out;
    /* nothing to pay stores nothing: the answer lists who was left out */
    if (rc == 0 && paid)
        rc = s_run_store(db, &run);
    if (rc == 0 && paid)
        rc = dn_db_commit(db);
    else
        dn_db_rollback(db);
    if (rc == 0 && !paid) { /* no run: no state, no one made it */
        run.state[0] = run.created_by[0] = '\0';
        run.created_ms = 0;
    }
    if (rc == 0)
        rc = s_run_json(&run, 0, out);
    if (rc == 0 && paid) {
        dn_money_format(min, run.exponent, shown, sizeof shown);
        dn_log_info("admin %s: payout run %lld of %s proposed (min %s %s, %zu payouts, "
                    "%zu left out)",
                    admin, (long long)run.id, period, shown, run.currency, paid,
                    run.n - paid);
    }
    s_run_free(&run);
    return rc;
}

/* -- approving and cancelling --------------------------------------------------- */

/*  Appends ", text" (or text) to buf of size; counts what did not fit in
 *more instead, after S_MAX_NAMED.  */
static void s_name_partner(char *buf, size_t size, size_t *named, size_t *more,
                           const char *text)
{
    size_t len = strlen(buf);
    if (*named >= S_MAX_NAMED) {
        (*more)++;
        return;
    }
    snprintf(buf + len, size - len, "%s%s", len ? "; " : "", text);
    (*named)++;
}

/*  Checks every payout line of run against the ledger and the tree now:
    0, or DN_ELIMIT with why naming each partner that no longer fits.  */
static int s_approve_check(sqlite3 *db, const s_run_t *run, int64_t now_ms, char *why,
                           size_t why_size)
{
    dn_ledger_payable_t *rows = NULL;
    char list[S_WHY_SIZE] = "", item[160], a[DN_MONEY_TEXT_SIZE], b[DN_MONEY_TEXT_SIZE];
    size_t n = 0, named = 0, more = 0;
    int rc = dn_ledger_payables(db, run->period, &rows, &n, why, why_size);

    for (size_t i = 0; rc == 0 && i < run->n; i++) {
        const s_line_t *l = &run->lines[i];
        int64_t payable = 0;
        int active = 1;
        if (l->left_out)
            continue;
        for (size_t k = 0; k < n; k++)
            if (rows[k].partner_id == l->partner_id)
                payable = dn_ledger_payable_amount(&rows[k]);
        if ((rc = dn_tree_active_at(db, l->partner_id, now_ms, &active)) != 0)
            break;
        if (!active) {
            snprintf(item, sizeof item, _("%s is suspended now"), l->code);
            s_name_partner(list, sizeof list, &named, &more, item);
        } else if (payable < l->amount) {
            dn_money_format(l->amount, run->exponent, a, sizeof a);
            dn_money_format(payable < 0 ? 0 : payable, run->exponent, b, sizeof b);
            snprintf(item, sizeof item, _("%s's line is %s %s, only %s is payable now"),
                     l->code, a, run->currency, b);
            s_name_partner(list, sizeof list, &named, &more, item);
        }
    }
    free(rows);
    if (rc || !list[0])
        return rc;
    if (more) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, _("; and %zu more"), more);
    }
    return dn_why(why, why_size, DN_ELIMIT,
                  _("run %lld cannot be approved, nothing was posted: %s. Cancel it "
                    "(dealernet-hq payout cancel %lld) and propose %s again"),
                  (long long)run->id, list, (long long)run->id, run->period);
}

/*  Sets the run's state from proposed to state, stamped now by admin.  */
static int s_state_set(sqlite3 *db, int64_t id, const char *state, const char *admin,
                       int64_t now_ms)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_db_prepare(db,
                      strcmp(state, "approved") == 0
                          ? "UPDATE payout_runs SET state = ?1, approved_ms = ?2, "
                            "approved_by = ?3 WHERE id = ?4 AND state = 'proposed'"
                          : "UPDATE payout_runs SET state = ?1, cancelled_ms = ?2, "
                            "cancelled_by = ?3 WHERE id = ?4 AND state = 'proposed'",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_text(stmt, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now_ms);
    sqlite3_bind_text(stmt, 3, admin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, id);
    rc = dn_db_step_txn(db, stmt);
    sqlite3_finalize(stmt);
    if (rc == 0 && sqlite3_changes(db) != 1)
        rc = DN_EDB; /* read proposed in this very transaction */
    return rc;
}

/*  Loads run id inside a new transaction and answers what its state
    decides before anything is done: *done 1 when *out is the answer (the
    transaction is then over).  */
static int s_decide(sqlite3 *db, int64_t id, const char *doing, s_run_t *run, int *done,
                    json_t **out, char *why, size_t why_size)
{
    char when[DN_TIME_TEXT_SIZE];
    int rc;

    *done = 0;
    memset(run, 0, sizeof *run);
    if ((rc = dn_db_begin(db)) != 0)
        return rc;
    if ((rc = s_run_load(db, id, run, why, why_size)) != 0) {
        dn_db_rollback(db);
        return rc;
    }
    if (strcmp(run->state, "proposed") == 0)
        return 0;
    *done = 1;
    dn_db_rollback(db);
    if (strcmp(run->state, doing) == 0) /* asked twice: the first answer */
        return s_run_json(run, 1, out);
    if (strcmp(run->state, "cancelled") == 0) {
        dn_time_format(run->cancelled_ms, when);
        return dn_why(
            why, why_size, DN_ELIMIT,
            _("run %lld was cancelled at %s by %s: it is never approved; propose "
              "%s again (dealernet-hq payout run --period %s --min AMOUNT)"),
            (long long)id, when, run->cancelled_by, run->period, run->period);
    }
    dn_time_format(run->approved_ms, when);
    return dn_why(
        why, why_size, DN_ELIMIT,
        _("run %lld was approved at %s by %s: its payouts are posted; correct one "
          "with dealernet-hq adjust"),
        (long long)id, when, run->approved_by);
}

int dn_payrun_approve(sqlite3 *db, int64_t id, const char *admin, int64_t now_ms,
                      json_t **out, char *why, size_t why_size)
{
    char line_why[S_WHY_SIZE], amount[DN_MONEY_TEXT_SIZE], period[DN_PERIOD_SIZE];
    dn_ledger_t *ledger = NULL;
    int64_t balance;
    s_run_t run;
    int done, rc;

    *out = NULL;
    rc = s_decide(db, id, "approved", &run, &done, out, why, why_size);
    if (rc || done) {
        s_run_free(&run);
        return rc;
    }
    rc = s_approve_check(db, &run, now_ms, why, why_size);
    if (rc == 0 && !(ledger = dn_ledger_new(db)))
        rc = DN_ENOMEM;
    for (size_t i = 0; rc == 0 && i < run.n; i++) {
        const s_line_t *l = &run.lines[i];
        if (l->left_out)
            continue;
        line_why[0] = '\0';
        rc = dn_ledger_payout_post(ledger, l->code, l->amount, l->ref, now_ms, &balance,
                                   period, line_why, sizeof line_why);
        if (rc)
            dn_why(why, why_size, rc,
                   _("run %lld cannot be approved, nothing was posted: %s"),
                   (long long)id, line_why[0] ? line_why : dn_strerror(rc));
    }
    if (rc == 0)
        rc = s_state_set(db, id, "approved", admin, now_ms);
    if (rc == 0)
        rc = dn_db_commit(db);
    dn_ledger_destroy(&ledger);
    if (rc) {
        dn_db_rollback(db);
        s_run_free(&run);
        return rc;
    }
    for (size_t i = 0; i < run.n; i++) {
        if (run.lines[i].left_out)
            continue;
        dn_money_format(run.lines[i].amount, run.exponent, amount, sizeof amount);
        /* the partner and the reference, never the account number */
        dn_log_info("admin %s: payout run %lld: payout of %s %s to %s (ref %s)", admin,
                    (long long)id, amount, run.currency, run.lines[i].code,
                    run.lines[i].ref);
    }
    s_run_free(&run);
    /* read back: approved, by whom and when */
    if ((rc = s_run_load(db, id, &run, why, why_size)) == 0)
        rc = s_run_json(&run, 0, out);
    s_run_free(&run);
    if (rc == 0)
        dn_log_info("admin %s: payout run %lld approved", admin, (long long)id);
    return rc;
}

int dn_payrun_cancel(sqlite3 *db, int64_t id, const char *admin, int64_t now_ms,
                     json_t **out, char *why, size_t why_size)
{
    s_run_t run;
    int done, rc;

    *out = NULL;
    rc = s_decide(db, id, "cancelled", &run, &done, out, why, why_size);
    s_run_free(&run);
    if (rc || done)
        return rc;
    rc = s_state_set(db, id, "cancelled", admin, now_ms);
    if (rc == 0)
        rc = dn_db_commit(db);
    if (rc) {
        dn_db_rollback(db);
        return rc;
    }
    dn_log_info("admin %s: payout run %lld cancelled", admin, (long long)id);
    if ((rc = s_run_load(db, id, &run, why, why_size)) == 0)
        rc = s_run_json(&run, 0, out);
    s_run_free(&run);
    return rc;
}

/* -- the bank file ------------------------------------------------------------ */

/*  The generic layout: one row a payout, columns named in English.  */
static json_t *s_row_generic(const s_run_t *run, const s_line_t *l, const char *amount)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "reference", l->ref,
                     "partner", l->code, "account_name", l->account_name,
                     "account_number", l->account, "bank", l->bank, "amount", amount,
                     "currency", run->currency, "period", run->period);
}

/*  The ICBC enterprise online banking batch payment layout (企业网银批量
    付款), its columns in its order and words; what could not be checked
    against the bank's current template is said in the README.  */
static json_t *s_row_icbc(const s_run_t *run, const s_line_t *l, const char *amount,
                          size_t seq, const char *date, const char *payer_account,
                          const char *payer_name)
{
    char n[24];
    json_t *row = json_object();
    snprintf(n, sizeof n, "%zu", seq);
    /* i18n: not for people: the bank's column names and fixed words */
    json_object_set_new(row, "币种", json_string("RMB"));
    json_object_set_new(row, "日期", json_string(date));
    json_object_set_new(row, "明细标志", json_string(""));
    json_object_set_new(row, "顺序号", json_string(n));
    /* i18n: not for people: the bank's column names and fixed words */
    json_object_set_new(row, "付款账号开户行", json_string("工行"));
    json_object_set_new(row, "付款账号/卡号", json_string(payer_account));
    json_object_set_new(row, "付款账号名称/卡名称", json_string(payer_name));
    json_object_set_new(row, "收款账号开户行", json_string(l->bank));
    json_object_set_new(row, "收款账号省份", json_string(""));
    json_object_set_new(row, "收款账号地市", json_string(""));
    json_object_set_new(row, "收款账号地区码", json_string(""));
    json_object_set_new(row, "收款账号", json_string(l->account));
    json_object_set_new(row, "收款账号名称", json_string(l->account_name));
    json_object_set_new(row, "金额", json_string(amount));
    /* i18n: not for people: the bank's column names and fixed words */
    json_object_set_new(row, "汇款用途", json_string("佣金"));
    json_object_set_new(row, "备注信息", json_string(run->period));
    json_object_set_new(row, "汇款方式", json_string(""));
    json_object_set_new(row, "收款账户短信通知手机号码", json_string(""));
    json_object_set_new(row, "自定义序号", json_string(l->ref));
    if (json_object_size(row) != 19) {
        json_decref(row);
        return NULL;
    }
    return row;
}

int dn_payrun_export(sqlite3 *db, int64_t id, const char *format,
                     const char *payer_account, const char *payer_name, int64_t now_ms,
                     json_t **out, char *why, size_t why_size)
{
    char payer[DN_PAYRUN_ACCOUNT_SIZE] = "", day[DN_DATE_SIZE], date[DN_DATE_SIZE];
    char amount[DN_MONEY_TEXT_SIZE];
    int icbc = format && strcmp(format, "icbc") == 0;
    int64_t total = 0;
    size_t seq = 0;
    json_t *rows;
    s_run_t run;
    int rc;

    *out = NULL;
    if (!icbc &&
        (!format || (strcmp(format, "generic") != 0 && strcmp(format, "csv") != 0)))
        return dn_why(why, why_size, DN_EINVAL,
                      _("--format '%.40s' is not one of generic (or csv), icbc"),
                      format ? format : "");
    if (icbc && (!payer_account || !payer_name))
        return dn_why(
            why, why_size, DN_EINVAL,
            _("--format icbc needs --payer-account NUMBER and --payer-name NAME "
              "(HQ's account the batch is paid from)"));
    if (icbc && ((rc = dn_payrun_account_parse(payer_account, "--payer-account", payer,
                                               why, why_size)) != 0 ||
                 (rc = s_name_arg(payer_name, "--payer-name", why, why_size)) != 0))
        return rc;
    if ((rc = s_run_load(db, id, &run, why, why_size)) != 0)
        return rc;
    if (strcmp(run.state, "approved") != 0) {
        rc = dn_why(why, why_size, DN_ELIMIT,
                    _("run %lld is %s, not approved: only an approved run's payouts are "
                      "posted and go to the bank (dealernet-hq payout approve %lld)"),
                    (long long)id, run.state, (long long)id);
        s_run_free(&run);
        return rc;
    }
    if (icbc && strcmp(run.currency, "CNY") != 0) {
        rc = dn_why(why, why_size, DN_EINVAL,
                    _("the icbc layout pays CNY only; run %lld is in %s: use --format "
                      "generic"),
                    (long long)id, run.currency);
        s_run_free(&run);
        return rc;
    }
    /* the bank's date: today in the network's zone, YYYYMMDD */
    dn_time_format_day(dn_time_day(now_ms), day);
    snprintf(date, sizeof date, "%.4s%.2s%.2s", day, day + 5, day + 8);
    rows = json_array();
    for (size_t i = 0; rows && i < run.n; i++) {
        const s_line_t *l = &run.lines[i];
        json_t *row;
        if (l->left_out)
            continue;
        dn_money_format(l->amount, run.exponent, amount, sizeof amount);
        seq++; /* the line's place in the file, from 1 */
        row = icbc ? s_row_icbc(&run, l, amount, seq, date, payer, payer_name)
                   : s_row_generic(&run, l, amount);
        if (!row || json_array_append_new(rows, row)) {
            json_decref(rows);
            rows = NULL;
        }
        total += l->amount;
    }
    if (rows) {
        *out = json_pack("{s:I, s:s, s:s, s:s, s:I}", "run", (json_int_t)id, "format",
                         icbc ? "icbc" : "generic", "period", run.period, "currency",
                         run.currency, "payouts", (json_int_t)seq);
        if (*out) {
            s_money_set(*out, "total", total, run.exponent);
            json_object_set_new(*out, "rows", rows);
        } else {
            json_decref(rows);
        }
    }
    s_run_free(&run);
    return *out ? 0 : DN_ENOMEM;
}

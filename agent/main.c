/*  dealernet-agent -- the shop's recorder: arguments, data folder, dispatch.

    Every command opens agent.db, does one thing and exits: the process is
    short-lived, so a crash or a pulled plug loses at most the command in
    hand, and that command never reported success.
*/
#include "dn_i18n.h"
#include "dn_bundle.h"
#include "dn_crypto.h"
#include "dn_doctor.h"
#include "dn_earnings.h"
#include "dn_error.h"
#include "dn_fsperm.h"
#include "dn_hqcatalog.h"
#include "dn_id.h"
#include "dn_import.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_notices.h"
#include "dn_outbox.h"
#include "dn_protocol.h"
#include "dn_record.h"
#include "dn_recover.h"
#include "dn_reminder.h"
#include "dn_render.h"
#include "dn_secret.h"
#include "dn_store.h"
#include "dn_sync.h"
#include "dn_testctl.h"
#include "dn_time.h"
#include "dn_cli.h"
#include "dn_counter.h"
#include "dn_version.h"
#include "dn_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/stat.h>
#include <unistd.h>


typedef struct {
    const char *name;
    int (*run)(const char *dir, int argc, char **argv);
    const char *usage;
    const char *help;
} s_command_t;

static const s_command_t *s_current; /* for usage errors and --help */

/*  -q: errors and the essential result only (README, "dealernet-agent"):
    a command that records prints just the id it made, one that changes a
    setting or checks prints nothing on success, a listing drops its count
    line, and warnings are not shown.  --json output is the result itself
    and is never cut.  */
static int s_quiet;

/* -- small helpers ------------------------------------------------------- */

static int s_usage_error(const char *fmt, const char *arg)
{
    char text[256];
    snprintf(text, sizeof text, fmt, arg);
    dn_log_error(_("%s (see: dealernet-agent %s --help)"), text,
                 s_current ? s_current->name : "");
    return EX_USAGE;
}

static int s_fail(int rc, const char *why)
{
    dn_log_error("%s", why && *why ? why : dn_strerror(rc));
    return dn_exit_code(rc);
}

static void s_print_json(json_t *value)
{
    json_dumpf(value, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
}

/*  The data folder's files, checked with the folder before any is opened.  */
static const dn_fsperm_file_t s_files[] = {
    {DN_AGENT_DB_FILE, 0}, {DN_AGENT_KEY_FILE, 1}, {DN_AGENT_CURVE_FILE, 1}};

static int s_folder(const char *dir, int flags)
{
    return dn_fsperm_folder(dir, flags, s_files, sizeof s_files / sizeof s_files[0]);
}

static dn_store_t *s_open(const char *dir, int *exit_code)
{
    int rc = s_folder(dir, 0);
    dn_store_t *store;
    if (rc) {
        *exit_code = dn_exit_code(rc); /* s_folder said why */
        return NULL;
    }
    if (!(store = dn_store_open(dir, &rc))) {
        if (rc == DN_ENOENT)
            dn_log_error(_("no agent in %s: run 'dealernet-agent -d %s init --site CODE "
                         "--partner CODE' first"),
                         dir, dir);
        else
            dn_log_error(_("cannot open %s/%s: %s"), dir, DN_AGENT_DB_FILE, dn_strerror(rc));
        *exit_code = dn_exit_code(rc);
    }
    return store;
}

/*  Names the option getopt_long just refused ('?'): the long option as
    given, else the short one.  Returns buf.  */
static const char *s_bad_option(int argc, char **argv, char *buf, size_t size)
{
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : NULL;
    if (arg && strncmp(arg, "--", 2) == 0)
        snprintf(buf, size, "%s", arg);
    else if (optopt > ' ' && optopt <= '~')
        snprintf(buf, size, "-%c", optopt);
    else
        snprintf(buf, size, "%s", arg ? arg : "?");
    return buf;
}

/*  Parses the options of a command with getopt_long; unknown options and
    --help are handled here.  Returns the option, -1 at the end, or -2 when
    the command must stop with *exit_code.  */
static int s_getopt(int argc, char **argv, const struct option *longs, int *exit_code)
{
    int c;
    opterr = 0; /* one line on stderr: ours, not getopt's as well */
    c = getopt_long(argc, argv, "h", longs, NULL);
    if (c == 'h') {
        printf(_("usage: dealernet-agent [-d DIR] %s %s\n\n%s"), s_current->name,
               s_current->usage, _(s_current->help));
        *exit_code = 0;
        return -2;
    }
    if (c == '?') {
        char opt[64];
        *exit_code = s_usage_error(_("unknown option or missing value: '%s'"),
                                   s_bad_option(argc, argv, opt, sizeof opt));
        return -2;
    }
    return c;
}

/* -- init ---------------------------------------------------------------- */

static int s_cmd_init(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"site", required_argument, NULL, 's'},
                                          {"partner", required_argument, NULL, 'p'},
                                          {"currency", required_argument, NULL, 'c'},
                                          {"country", required_argument, NULL, 'C'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *site = NULL, *partner = NULL, *currency = "CNY", *country_text = NULL;
    char path[4096];
    struct stat st;
    dn_key_t *key;
    int c, code = 0, rc, country;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 's')
            site = optarg;
        else if (c == 'p')
            partner = optarg;
        else if (c == 'c')
            currency = optarg;
        else if (c == 'C')
            country_text = optarg;
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (!site || !partner)
        return s_usage_error("%s", _("init needs --site CODE and --partner CODE"));
    {
        /* the one refusal of a bad code (dn_valid.h) */
        char why[DN_CODE_WHY_SIZE];
        int rc = dn_valid_code_check(DN_CODE_SITE, site, NULL, why, sizeof why);
        if (rc == 0)
            rc = dn_valid_code_check(DN_CODE_PARTNER, partner, NULL, why, sizeof why);
        if (rc)
            return s_fail(rc, why);
    }
    if (dn_money_exponent(currency) < 0)
        return s_usage_error(_("currency '%s' is not a known ISO 4217 code"), currency);
    if (country_text && dn_phone_country_parse(country_text, &country) != 0)
        return s_usage_error(_("country '%s' is not a country calling code (1 to 3 digits, "
                             "like 86)"),
                             country_text);
    /* the currency names the country, except where several countries
       share it: then the clerk's numbers need the country said */
    if (!country_text && (country = dn_phone_country_of_currency(currency)) == 0)
        return s_usage_error(
            _("currency %s is spent in several countries: give --country CC, "
            "the calling code of phones typed here without one (like 49)"),
            currency);
    snprintf(path, sizeof path, "%s/%s", dir, DN_AGENT_KEY_FILE);
    if (stat(path, &st) == 0) {
        dn_log_error(_("%s already exists; refusing to overwrite a site's key"), path);
        return dn_exit_code(DN_EEXIST);
    }
    if ((rc = s_folder(dir, DN_FSPERM_CREATE)) != 0)
        return dn_exit_code(rc);
    rc = dn_store_create_country(dir, site, partner, currency, country);
    if (rc == DN_EEXIST) {
        dn_log_error(_("%s/%s already exists; refusing to overwrite an agent"), dir,
                     DN_AGENT_DB_FILE);
        return dn_exit_code(rc);
    }
    if (rc)
        return s_fail(rc, _("could not create the agent database"));
    key = dn_key_generate();
    rc = key ? dn_key_save(key, path) : DN_ECRYPTO;
    dn_key_destroy(&key);
    if (rc) {
        char db[4096];
        snprintf(db, sizeof db, "%s/%s", dir, DN_AGENT_DB_FILE);
        unlink(db);
        return s_fail(rc, _("could not create the site key"));
    }
    if (!s_quiet)
        printf(_("initialised site %s for partner %s (%s, phones +%d) in %s\n"), site, partner,
               currency, country, dir);
    return 0;
}

/* -- sale ---------------------------------------------------------------- */

/*  dn_record_resolve_line at the sale's clock, its refusal saying which
    line as a parse error does ("line 'X': ...").  */
static int s_resolve(dn_store_t *store, dn_record_line_t *line, const char *text, char *why,
                     size_t why_size)
{
    char reason[DN_CODE_WHY_SIZE + DN_MAX_NAME_BYTES];
    int rc = dn_record_resolve_line(store, line, dn_testctl_now_ms(), reason, sizeof reason);
    if (rc)
        snprintf(why, why_size, _("line '%s': %s"), text, reason);
    return rc;
}

/*  A sale's JSON names its amount `total` (the word of `sales` and the
    README) and keeps `amount` beside it for the scripts written before;
    a refund's is `amount`.  Lines typed by an item's name are said with
    the SKU each was taken as (JSON: "named", only when there are some).  */
static void s_print_result(const dn_store_t *store, const char *what,
                           const dn_record_result_t *r, int json,
                           const dn_record_line_t *lines, size_t n)
{
    const dn_store_info_t *info = dn_store_info(store);
    char id[DN_ID_TEXT_SIZE], money[DN_MONEY_TEXT_SIZE];
    json_t *named = json_array(); /* lines typed by a name: {name, sku} */

    for (size_t i = 0; i < n && named; i++) {
        if (lines[i].named &&
            json_array_append_new(named, json_pack("{s:s, s:s}", "name", lines[i].typed,
                                                   "sku", lines[i].sku))) {
            json_decref(named);
            named = NULL;
        }
    }
    dn_id_format(r->id, id);
    dn_money_format(r->amount, info->exponent, money, sizeof money);
    char receipt[DN_RECEIPT_TEXT_SIZE];
    dn_receipt_format(r->receipt, receipt);
    if (json) {
        json_t *out = json_pack("{s:s, s:I, s:s, s:I, s:s}", "id", id, "seq",
                                (json_int_t)r->seq, "amount", money, "amount_minor",
                                (json_int_t)r->amount, "currency", info->currency);
        if (out && named && json_array_size(named))
            json_object_set(out, "named", named);
        if (out && strcmp(what, "sale") == 0) {
            json_object_set_new(out, "total", json_string(money));
            json_object_set_new(out, "total_minor", json_integer((json_int_t)r->amount));
            json_object_set_new(out, "receipt", json_string(receipt));
        }
        s_print_json(out);
        json_decref(out);
    } else if (s_quiet) {
        printf("%s\n", id);
    } else {
        /* one format each, so that a language words them its way */
        printf(strcmp(what, "sale") == 0 ? _("sale %s  %s %s  (seq %lld)\n")
                                         : _("refund %s  %s %s  (seq %lld)\n"),
               id, money, info->currency, (long long)r->seq);
        /* the number the clerk writes on the slip and types back to
           refund (refund --receipt) */
        if (strcmp(what, "sale") == 0)
            printf(_("receipt %s\n"), receipt);
        for (size_t i = 0; i < n; i++)
            if (lines[i].named)
                printf(_("  %s is SKU %s\n"), lines[i].typed, lines[i].sku);
    }
    json_decref(named);
}

static int s_cmd_sale(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"line", required_argument, NULL, 'l'},
                                          {"member", required_argument, NULL, 'm'},
                                          {"channel", required_argument, NULL, 'c'},
                                          {"seller", required_argument, NULL, 's'},
                                          {"pay", required_argument, NULL, 'p'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *line_text[DN_MAX_SALE_LINES];
    dn_record_line_t lines[DN_MAX_SALE_LINES];
    dn_sale_input_t in = {0};
    dn_record_result_t result;
    char why[512] = "";
    size_t n = 0;
    int c, code = 0, json = 0, rc;
    dn_store_t *store;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'l') {
            if (n == DN_MAX_SALE_LINES)
                return s_usage_error("%s", _("too many --line options (at most 200)"));
            line_text[n++] = optarg;
        } else if (c == 'm') {
            in.member = optarg;
        } else if (c == 'c') {
            in.channel = optarg;
        } else if (c == 's') {
            in.seller = optarg;
        } else if (c == 'p') {
            in.payment = optarg;
        } else if (c == 'j') {
            json = 1;
        }
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (n == 0)
        return s_usage_error("%s", _("a sale needs at least one --line SKU:QTY[@PRICE]"));
    if (!(store = s_open(dir, &code)))
        return code;
    for (size_t i = 0; i < n; i++) {
        rc = dn_record_parse_line(line_text[i], dn_store_info(store)->exponent, &lines[i],
                                  why, sizeof why);
        if (rc == 0)
            rc = s_resolve(store, &lines[i], line_text[i], why, sizeof why);
        if (rc) {
            dn_store_destroy(&store);
            return s_fail(rc, why);
        }
    }
    in.lines = lines;
    in.n_lines = n;
    rc = dn_record_sale(store, &in, &result, why, sizeof why);
    if (rc == 0)
        s_print_result(store, "sale", &result, json, lines, n);
    dn_store_destroy(&store);
    return rc ? s_fail(rc, why) : 0;
}

/* -- refund -------------------------------------------------------------- */

/*  The sale a clerk named at the counter, by id or id prefix (sale),
    receipt number or --last (dn_store_sale_find).  0 or an error with
    why.  */
static int s_find_sale(dn_store_t *store, const char *sale, const char *receipt, int last,
                       uint8_t id[DN_ID_BYTES], char *why, size_t why_size)
{
    if (last)
        return dn_store_sale_find(store, DN_STORE_SALE_LAST, NULL, id, why, why_size);
    if (receipt)
        return dn_store_sale_find(store, DN_STORE_SALE_BY_RECEIPT, receipt, id, why,
                                  why_size);
    return dn_store_sale_find(store, DN_STORE_SALE_BY_ID, sale, id, why, why_size);
}

static int s_cmd_refund(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"line", required_argument, NULL, 'l'},
                                          {"amount", required_argument, NULL, 'a'},
                                          {"receipt", required_argument, NULL, 'r'},
                                          {"last", no_argument, NULL, 'L'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *line_text[DN_MAX_SALE_LINES];
    const char *amount = NULL, *receipt = NULL, *sale = NULL;
    int last = 0;
    dn_record_line_t lines[DN_MAX_SALE_LINES];
    dn_refund_input_t in = {0};
    dn_record_result_t result;
    char why[512] = "";
    size_t n = 0;
    int c, code = 0, json = 0, rc = 0;
    dn_store_t *store;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'l') {
            if (n == DN_MAX_SALE_LINES)
                return s_usage_error("%s", _("too many --line options (at most 200)"));
            line_text[n++] = optarg;
        } else if (c == 'a') {
            amount = optarg;
        } else if (c == 'r') {
            receipt = optarg;
        } else if (c == 'L') {
            last = 1;
        } else if (c == 'j') {
            json = 1;
        }
    }
    if (optind < argc)
        sale = argv[optind++];
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if ((sale != NULL) + (receipt != NULL) + last != 1)
        return s_usage_error("%s", _("refund needs the sale: SALE_ID (or its first 8 hex "
                                     "digits or more), --receipt N or --last"));
    if (!(store = s_open(dir, &code)))
        return code;
    rc = s_find_sale(store, sale, receipt, last, in.sale_id, why, sizeof why);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = dn_record_parse_line(line_text[i], dn_store_info(store)->exponent, &lines[i],
                                  why, sizeof why);
        if (rc == 0)
            rc = s_resolve(store, &lines[i], line_text[i], why, sizeof why);
    }
    if (rc == 0 && amount) {
        in.has_amount = 1;
        if (dn_money_parse(amount, dn_store_info(store)->exponent, &in.amount)) {
            rc = DN_EPARSE;
            snprintf(why, sizeof why, _("amount '%s' is not a decimal amount with at most %d "
                     "decimals"), amount, dn_store_info(store)->exponent);
        }
    }
    in.lines = lines;
    in.n_lines = n;
    if (rc == 0)
        rc = dn_record_refund(store, &in, &result, why, sizeof why);
    if (rc == 0)
        s_print_result(store, "refund", &result, json, lines, n);
    dn_store_destroy(&store);
    return rc ? s_fail(rc, why) : 0;
}

/* -- member -------------------------------------------------------------- */

static int s_member_write(const char *dir, int argc, char **argv, int update)
{
    static const struct option longs[] = {{"phone", required_argument, NULL, 'p'},
                                          {"name", required_argument, NULL, 'n'},
                                          {"referrer", required_argument, NULL, 'r'},
                                          {"household", required_argument, NULL, 'H'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    dn_member_input_t in = {0};
    dn_record_result_t result;
    char why[256] = "";
    int c, code = 0, json = 0, rc;
    dn_store_t *store;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'p') {
            in.phone = optarg;
        } else if (c == 'n') {
            in.name = optarg;
        } else if (c == 'r') {
            in.referrer = optarg;
        } else if (c == 'H') {
            in.has_household = 1;
            if (dn_parse_int(optarg, 0, DN_MAX_HOUSEHOLD, &in.household)) {
                snprintf(why, sizeof why, _("household '%s' must be a whole number from 0 to %d"),
                         optarg, DN_MAX_HOUSEHOLD);
                return s_fail(DN_EPARSE, why);
            }
        } else if (c == 'j') {
            json = 1;
        }
    }
    if (update && optind == argc - 1 && !in.phone)
        in.phone = argv[optind++];
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (!in.phone)
        return s_usage_error("%s", update ? _("member update needs the member's PHONE")
                                          : _("member add needs --phone PHONE"));
    if (!(store = s_open(dir, &code)))
        return code;
    rc = update ? dn_record_member_update(store, &in, &result, why, sizeof why)
                : dn_record_member_add(store, &in, &result, why, sizeof why);
    if (rc == 0) {
        char id[DN_ID_TEXT_SIZE];
        dn_id_format(result.id, id);
        if (json) {
            json_t *out = json_pack("{s:s, s:I}", "id", id, "seq", (json_int_t)result.seq);
            s_print_json(out);
            json_decref(out);
        } else if (s_quiet) {
            printf("%s\n", id);
        } else {
            printf(update ? _("member updated, event %s  (seq %lld)\n")
                          : _("member %s  (seq %lld)\n"),
                   id, (long long)result.seq);
        }
    }
    dn_store_destroy(&store);
    return rc ? s_fail(rc, why) : 0;
}

static int s_cmd_member_add(const char *dir, int argc, char **argv)
{
    return s_member_write(dir, argc, argv, 0);
}

static int s_cmd_member_update(const char *dir, int argc, char **argv)
{
    return s_member_write(dir, argc, argv, 1);
}

/*  Parses the options of a read-only listing command: only --json.  */
static int s_listing_opts(int argc, char **argv, int *json, int *code)
{
    static const struct option longs[] = {{"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int c;
    *json = 0;
    while ((c = s_getopt(argc, argv, longs, code)) != -1) {
        if (c == -2)
            return -1;
        if (c == 'j')
            *json = 1;
    }
    if (optind < argc) {
        *code = s_usage_error(_("unexpected argument '%s'"), argv[optind]);
        return -1;
    }
    return 0;
}

static const char *s_str(json_t *obj, const char *key)
{
    const char *text = json_string_value(json_object_get(obj, key));
    return text ? text : "-";
}

/*  Prints a listing's table: the columns named, through dn_render (the
    tables HQ prints).  Returns 0 or an exit status.  */
static int s_print_table(const json_t *rows, const dn_render_column_t *cols, size_t n)
{
    int rc = dn_render_columns(stdout, rows, cols, n);
    return rc ? s_fail(rc, _("could not write the listing")) : 0;
}

static int s_cmd_member_list(const char *dir, int argc, char **argv)
{
    static const dn_render_column_t cols[] = {{"id", NULL},
                                              {"phone", NULL},
                                              {"name", NULL},
                                              {"referrer", NULL},
                                              {"household", NULL}};
    int json, code = 0, rc = 0;
    dn_store_t *store;
    json_t *list;

    if (s_listing_opts(argc, argv, &json, &code))
        return code;
    if (!(store = s_open(dir, &code)))
        return code;
    list = dn_store_members_list(store);
    dn_store_destroy(&store);
    if (!list)
        return s_fail(DN_EDB, _("could not read the members"));
    if (json) {
        s_print_json(list);
    } else {
        if ((rc = s_print_table(list, cols, sizeof cols / sizeof cols[0])) == 0 && !s_quiet)
            printf(_("%zu members\n"), json_array_size(list));
    }
    json_decref(list);
    return rc;
}

/*  member show PHONE: what the shop knows of a member and its referral
    credit as the network last sent it (dn_earnings_member).  */
static int s_cmd_member_show(const char *dir, int argc, char **argv)
{
    char why[256] = "";
    int json, code = 0, rc;
    const char *phone;
    dn_store_t *store;
    json_t *m = NULL;

    /* PHONE first, then the options */
    if (argc >= 2 && argv[1][0] != '-') {
        phone = argv[1];
        argv[1] = argv[0];
        argv++;
        argc--;
    } else {
        phone = NULL;
    }
    if (s_listing_opts(argc, argv, &json, &code))
        return code;
    if (!phone)
        return s_usage_error("%s", _("member show needs the member's PHONE"));
    if (!(store = s_open(dir, &code)))
        return code;
    rc = dn_earnings_member(store, phone, &m, why, sizeof why);
    dn_store_destroy(&store);
    if (rc)
        return s_fail(rc, why);
    if (json) {
        s_print_json(m);
    } else {
        json_t *here = json_object_get(m, "signed_up_here");
        dn_render_field_t f[5];
        char signed_up[DN_TIME_TEXT_SIZE + 96], credit[DN_TIME_TEXT_SIZE + 128];
        size_t n = 0;
        f[n++] = (dn_render_field_t){C_("field", "member"), s_str(m, "phone")};
        f[n++] = (dn_render_field_t){C_("field", "name"), s_str(m, "name")};
        if (json_is_object(here))
            snprintf(signed_up, sizeof signed_up, _("here, %s (seq %lld, member %s)"),
                     s_str(here, "recorded_at"),
                     (long long)json_integer_value(json_object_get(here, "seq")),
                     s_str(here, "id"));
        else
            snprintf(signed_up, sizeof signed_up, "%s", _("not at this shop"));
        f[n++] = (dn_render_field_t){C_("field", "signed up"), signed_up};
        if (json_is_string(json_object_get(m, "credit")))
            snprintf(credit, sizeof credit, _("%s %s (referral credit as of %s)"),
                     s_str(m, "credit"), s_str(m, "currency"), s_str(m, "credit_as_of"));
        else
            snprintf(credit, sizeof credit, "%s",
                     _("not known: the network has sent no credit for this phone (run "
                       "'dealernet-agent sync')"));
        f[n++] = (dn_render_field_t){C_("field", "credit"), credit};
        /* when the network last answered for its members: the credit
           above is its figure as of then (it resends a member that moved) */
        if (!s_quiet)
            f[n++] = (dn_render_field_t){
                C_("field", "refreshed"), json_is_string(json_object_get(m, "refreshed"))
                                              ? s_str(m, "refreshed")
                                              : _("never: no sync has asked for members yet")};
        if (dn_render_fields(stdout, f, n, 0, 2)) {
            json_decref(m);
            return s_fail(DN_EIO, _("could not write the member"));
        }
    }
    json_decref(m);
    return 0;
}

/* -- earnings ------------------------------------------------------------ */

static int s_cmd_earnings(const char *dir, int argc, char **argv)
{
    /* the JSON key of each figure and its label (translated: not static) */
    const char *const rows[][2] = {{"opening", C_("field", "opening")},
                                   {"commission", C_("field", "commission")},
                                   {"override", C_("field", "override")},
                                   {"referral", C_("field", "referral")},
                                   {"clawback", C_("field", "clawbacks")},
                                   {"adjustment", C_("field", "adjustments")},
                                   {"payouts", C_("field", "payouts")},
                                   {"balance", C_("field", "balance")}};
    int json, code = 0, rc;
    dn_store_t *store;
    json_t *e = NULL;

    if (s_listing_opts(argc, argv, &json, &code))
        return code;
    if (!(store = s_open(dir, &code)))
        return code;
    rc = dn_earnings_get(store, &e);
    dn_store_destroy(&store);
    if (rc == DN_ENOENT)
        return s_fail(rc, _("no earnings received yet: run 'dealernet-agent sync'"));
    if (rc)
        return s_fail(rc, _("could not read the earnings"));
    if (json) {
        s_print_json(e);
    } else {
        printf(_("partner %s, period %s, in %s (from the server at %s)\n"), s_str(e, "partner"),
               s_str(e, "period"), s_str(e, "currency"), s_str(e, "as_of"));
        dn_render_field_t f[sizeof rows / sizeof rows[0] + 1];
        char amounts[sizeof rows / sizeof rows[0]][DN_MONEY_TEXT_SIZE + 2];
        char payout[DN_MONEY_TEXT_SIZE + DN_TIME_TEXT_SIZE + 16];
        size_t n = 0;
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            const char *sign = strcmp(rows[i][0], "clawback") == 0 ||
                                       strcmp(rows[i][0], "payouts") == 0
                                   ? "-"
                                   : " ";
            snprintf(amounts[i], sizeof amounts[i], "%s%s", sign, s_str(e, rows[i][0]));
            f[n++] = (dn_render_field_t){rows[i][1], amounts[i]};
        }
        /* the amounts' signs in one column, the payout's text after them */
        if (json_is_string(json_object_get(e, "last_payout_at")))
            snprintf(payout, sizeof payout, _(" %s on %s"), s_str(e, "last_payout"),
                     s_str(e, "last_payout_at"));
        else
            snprintf(payout, sizeof payout, "%s", _(" none"));
        f[n++] = (dn_render_field_t){C_("field", "last payout"), payout};
        if (dn_render_fields(stdout, f, n, 2, 2)) {
            json_decref(e);
            return s_fail(DN_EIO, _("could not write the earnings"));
        }
        /* the figures are the server's as of "from the server at"; this
           is when a sync last confirmed them (down_state's checked_ms) */
        if (!s_quiet)
            printf(_("refreshed %s\n"), s_str(e, "refreshed"));
    }
    json_decref(e);
    return 0;
}

/* -- catalog ------------------------------------------------------------- */

static int s_cmd_catalog_set(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"category", required_argument, NULL, 'c'},
                                          {"name", required_argument, NULL, 'n'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *category = NULL, *name = NULL;
    char why[DN_CODE_WHY_SIZE], kept[DN_MAX_CODE_LEN + 1] = "";
    int64_t price, stored;
    int c, code = 0, rc;
    dn_store_t *store;
    char folded[DN_MAX_CODE_LEN + 1];

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'c')
            category = optarg;
        else if (c == 'n')
            name = optarg;
    }
    if (optind != argc - 2)
        return s_usage_error("%s", _("catalog set needs SKU and PRICE"));
    /* the one refusal of a bad code (dn_valid.h), the same as HQ's */
    if ((rc = dn_valid_code_check(DN_CODE_SKU, argv[optind], _("give the name with --name"),
                                  why, sizeof why)) != 0)
        return s_fail(rc, why);
    if (name && *name) { /* "" removes the name */
        char reason[DN_HIDDEN_WHY_SIZE];
        if (!dn_valid_name_why(name, reason, sizeof reason)) {
            snprintf(why, sizeof why, _("name %s"), reason);
            return s_fail(DN_EPARSE, why);
        }
    }
    if (category && strcmp(category, "-") == 0)
        category = ""; /* clears the SKU's category */
    else if (category && (rc = dn_valid_code_check(DN_CODE_CATEGORY, category, NULL, why,
                                                   sizeof why)) != 0)
        return s_fail(rc, why);
    if (category && *category) { /* a code: stored lower-case, as HQ's plan names it */
        snprintf(folded, sizeof folded, "%s", category);
        dn_code_fold(folded);
        category = folded;
    }
    if (!(store = s_open(dir, &code)))
        return code;
    rc = dn_money_parse(argv[optind + 1], dn_store_info(store)->exponent, &price);
    if (rc || price < 0 || price > DN_MAX_UNIT_PRICE) {
        char bound[DN_MONEY_TEXT_SIZE];
        dn_money_format(DN_MAX_UNIT_PRICE, dn_store_info(store)->exponent, bound,
                        sizeof bound);
        snprintf(why, sizeof why, _("price '%s' must be an amount from 0 to %s with at most %d "
                 "decimals"),
                 argv[optind + 1], bound, dn_store_info(store)->exponent);
        dn_store_destroy(&store);
        return s_fail(DN_EPARSE, why);
    }
    rc = dn_store_catalog_set_named(store, argv[optind], price, category, name);
    /* the category the SKU has now: given, cleared, or kept */
    if (rc == 0 && !category)
        rc = dn_store_catalog_get(store, argv[optind], &stored, kept);
    if (rc == 0 && !s_quiet) {
        const char *now = category ? category : kept;
        if (*now)
            printf(_("catalog: %s at %s %s in %s\n"), argv[optind], argv[optind + 1],
                   dn_store_info(store)->currency, now);
        else
            printf(_("catalog: %s at %s %s\n"), argv[optind], argv[optind + 1],
                   dn_store_info(store)->currency);
        if (name && *name)
            printf(_("catalog: %s is named %s\n"), argv[optind], name);
    }
    dn_store_destroy(&store);
    return rc ? s_fail(rc, _("could not write the catalog")) : 0;
}

/*  HQ's rows the till uses now (source "hq"), then the local catalog's
    (source "local", or "local, hq applies" where HQ's catalogue has the
    SKU in force: the till takes HQ's price then).  */
static json_t *s_catalog_rows(dn_store_t *store)
{
    json_t *rows = json_array(), *local = dn_store_catalog_list(store), *row;
    sqlite3 *db = dn_store_db(store);
    int64_t now_ms = dn_testctl_now_ms();
    size_t i;

    if (!rows || !local || dn_hqcatalog_list(db, now_ms, rows)) {
        json_decref(rows);
        json_decref(local);
        return NULL;
    }
    json_array_foreach(rows, i, row)
    {
        char effective[DN_TIME_TEXT_SIZE];
        json_int_t price = json_integer_value(json_object_get(row, "price_minor"));
        dn_time_format(json_integer_value(json_object_get(row, "effective_ms")), effective);
        if (json_object_set_new(row, "price", dn_store_money_json(store, price)) ||
            json_object_set_new(row, "effective", json_string(effective)) ||
            json_object_set_new(row, "source", json_string("hq")))
            goto fail;
    }
    json_array_foreach(local, i, row)
    {
        dn_hqcatalog_price_t hq;
        const char *sku = json_string_value(json_object_get(row, "sku"));
        int rc = sku ? dn_hqcatalog_price(db, sku, now_ms, &hq) : DN_EDB;
        if (rc && rc != DN_ENOENT)
            goto fail;
        if (json_object_set_new(row, "source",
                                json_string(rc == 0 ? "local, hq applies" : "local")) ||
            json_array_append(rows, row))
            goto fail;
    }
    json_decref(local);
    return rows;
fail:
    json_decref(rows);
    json_decref(local);
    return NULL;
}

static int s_cmd_catalog_list(const char *dir, int argc, char **argv)
{
    static const dn_render_column_t cols[] = {
        {"sku", NULL},    {"name", NULL}, {"price", NULL},     {"category", NULL},
        {"source", NULL}, {"list", NULL}, {"fixed", NULL}, {"effective", NULL}};
    int json, code = 0, rc = 0;
    dn_store_t *store;
    json_t *list;

    if (s_listing_opts(argc, argv, &json, &code))
        return code;
    if (!(store = s_open(dir, &code)))
        return code;
    list = s_catalog_rows(store);
    dn_store_destroy(&store);
    if (!list)
        return s_fail(DN_EDB, _("could not read the catalog"));
    if (json) {
        s_print_json(list);
    } else {
        rc = s_print_table(list, cols, sizeof cols / sizeof cols[0]);
    }
    json_decref(list);
    return rc;
}

/* -- sales, status, check ------------------------------------------------ */

/*  A --limit out of range: a usage error naming the largest.  */
static int s_limit_error(int max)
{
    char text[128];
    snprintf(text, sizeof text, _("--limit must be a whole number from 1 to %d"), max);
    return s_usage_error("%s", text);
}

/*  The day range of --today, --date D, --from D --to D (inclusive days,
    dn_counter_day): *from_ms and *to_ms, and the dates in from/to ("" when
    open).  0 or an exit status (a usage error said why).  */
static int s_days(int today, const char *date, const char *from, const char *to,
                  int64_t *from_ms, int64_t *to_ms, char from_date[16], char to_date[16])
{
    int64_t unused;
    *from_ms = INT64_MIN;
    *to_ms = INT64_MAX;
    from_date[0] = to_date[0] = '\0';
    if ((today != 0) + (date != NULL) + (from != NULL || to != NULL) > 1)
        return s_usage_error("%s", _("give one of --today, --date DATE, --from/--to"));
    if (today)
        dn_counter_date_of(dn_testctl_now_ms(), from_date);
    else if (date)
        snprintf(from_date, 16, "%s", date);
    if (from_date[0]) {
        snprintf(to_date, 16, "%s", from_date);
        from = from_date;
        to = to_date;
    }
    if (from && dn_counter_day(from, from_ms, &unused))
        return s_usage_error(_("'%s' is not a date YYYY-MM-DD"), from);
    if (to && dn_counter_day(to, &unused, to_ms))
        return s_usage_error(_("'%s' is not a date YYYY-MM-DD"), to);
    if (from && from != from_date)
        snprintf(from_date, 16, "%s", from);
    if (to && to != to_date)
        snprintf(to_date, 16, "%s", to);
    if (*from_ms >= *to_ms)
        return s_usage_error("%s", _("--to is before --from"));
    return 0;
}

/*  --all --json: one sale at a time to standard output, the array of
    before (seq order), never all of them in memory.  */
static int s_stream_sale(json_t *sale, void *arg)
{
    int *first = arg;
    char *text = json_dumps(sale, JSON_INDENT(2));
    json_decref(sale);
    if (!text)
        return DN_ENOMEM;
    printf("%s  %s", *first ? "[\n" : ",\n", text);
    *first = 0;
    free(text);
    return ferror(stdout) ? DN_EIO : 0;
}

static int s_append_row(json_t *sale, void *arg)
{
    return json_array_append_new(arg, sale) ? DN_ENOMEM : 0;
}

/*  The totals' groups as table rows: {GROUP, sales, total, refunded, net}.  */
static int s_print_groups(const json_t *groups, const char *key, const char *header,
                          const char *gross_key)
{
    dn_render_column_t cols[] = {{key, header},
                                 {"sales", C_("column", "SALES")},
                                 {gross_key, strcmp(gross_key, "gross") == 0
                                                 ? C_("column", "GROSS")
                                                 : C_("column", "TOTAL")},
                                 {"refunds", C_("column", "REFUNDS")},
                                 {"refunded", C_("column", "REFUNDED")},
                                 {"net", C_("column", "NET")}};
    int with_refunds = json_object_get(json_array_get(groups, 0), "refunds") != NULL;
    if (!with_refunds) /* sales' totals: refunded so far, no refund count */
        memmove(&cols[3], &cols[4], 2 * sizeof cols[0]);
    putchar('\n');
    return s_print_table(groups, cols, with_refunds ? 6 : 5);
}

static int s_cmd_sales(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"today", no_argument, NULL, 't'},
                                          {"date", required_argument, NULL, 'D'},
                                          {"from", required_argument, NULL, 'f'},
                                          {"to", required_argument, NULL, 'T'},
                                          {"limit", required_argument, NULL, 'n'},
                                          {"all", no_argument, NULL, 'a'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const dn_render_column_t cols[] = {
        {"receipt", C_("column", "RECEIPT")}, {"id", C_("column", "ID")},
        {"recorded_at", C_("column", "RECORDED")}, {"channel", C_("column", "CHANNEL")},
        {"payment", C_("column", "PAYMENT")}, {"seller", C_("column", "SELLER")},
        {"total", C_("column", "TOTAL")}, {"refunded", C_("column", "REFUNDED")}};
    const char *date = NULL, *from = NULL, *to = NULL;
    char from_date[16], to_date[16];
    int64_t limit = DN_COUNTER_SALES_LIMIT, from_ms, to_ms, shown;
    int c, json = 0, today = 0, all = 0, code = 0, rc;
    dn_store_t *store;
    json_t *list, *totals, *out;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 't')
            today = 1;
        else if (c == 'D')
            date = optarg;
        else if (c == 'f')
            from = optarg;
        else if (c == 'T')
            to = optarg;
        else if (c == 'a')
            all = 1;
        else if (c == 'j')
            json = 1;
        else if (c == 'n' && dn_parse_int(optarg, 1, DN_COUNTER_SALES_MAX, &limit))
            return s_limit_error(DN_COUNTER_SALES_MAX);
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if ((code = s_days(today, date, from, to, &from_ms, &to_ms, from_date, to_date)) != 0)
        return code;
    if (all && !json)
        return s_usage_error("%s", _("--all goes with --json (every sale, for a script)"));
    if (!(store = s_open(dir, &code)))
        return code;
    if (all) {
        /* every sale in range, in seq order, streamed: the array of
           before this listing had a limit */
        int first = 1;
        rc = dn_store_sales_walk(store, from_ms, to_ms, 0, -1, s_stream_sale, &first);
        dn_store_destroy(&store);
        if (rc)
            return s_fail(rc, _("could not read the sales"));
        printf("%s\n", first ? "[]" : "\n]");
        return 0;
    }
    list = json_array();
    rc = list ? dn_store_sales_walk(store, from_ms, to_ms, 1, limit, s_append_row, list)
              : DN_ENOMEM;
    totals = rc ? NULL : dn_counter_totals(store, from_ms, to_ms);
    dn_store_destroy(&store);
    if (rc || !totals) {
        json_decref(list);
        return s_fail(rc ? rc : DN_EDB, _("could not read the sales"));
    }
    shown = (int64_t)json_array_size(list);
    out = json_pack("{s:o, s:o, s:I, s:I, s:o, s:o}", "from",
                    from_date[0] ? json_string(from_date) : json_null(), "to",
                    to_date[0] ? json_string(to_date) : json_null(), "shown",
                    (json_int_t)shown, "more",
                    (json_int_t)(json_integer_value(json_object_get(totals, "sales")) - shown),
                    "totals", totals, "sales", list);
    if (!out)
        return s_fail(DN_ENOMEM, NULL);
    if (json) {
        s_print_json(out);
    } else if ((rc = s_print_table(list, cols, sizeof cols / sizeof cols[0])) == 0 &&
               !s_quiet) {
        json_int_t more = json_integer_value(json_object_get(out, "more"));
        if (more > 0)
            printf(_("%lld sales shown, newest first; %lld more (--limit N, or a day: "
                     "--today, --date DATE)\n"),
                   (long long)shown, (long long)more);
        printf(_("%lld sales, total %s %s, refunded %s, net %s\n"),
               (long long)json_integer_value(json_object_get(totals, "sales")),
               s_str(totals, "total"), s_str(totals, "currency"), s_str(totals, "refunded"),
               s_str(totals, "net"));
        if (json_array_size(json_object_get(totals, "by_channel")) > 0 &&
            (rc = s_print_groups(json_object_get(totals, "by_channel"), "channel",
                                 C_("column", "CHANNEL"), "total")) == 0)
            rc = s_print_groups(json_object_get(totals, "by_payment"), "payment",
                                C_("column", "PAYMENT"), "total");
    }
    json_decref(out);
    return rc;
}

/*  receipt N | --last | --sale SALE_ID|PREFIX: one sale and its lines, as
    a receipt reprinted.  */
static int s_cmd_receipt(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"sale", required_argument, NULL, 's'},
                                          {"last", no_argument, NULL, 'L'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const dn_render_column_t cols[] = {{"sku", C_("column", "SKU")},
                                       {"quantity", C_("column", "QUANTITY")},
                                       {"unit_price", C_("column", "UNIT PRICE")},
                                       {"category", C_("column", "CATEGORY")},
                                       {"refunded_quantity", C_("column", "REFUNDED")}};
    const char *receipt = NULL, *sale = NULL;
    uint8_t id[DN_ID_BYTES];
    char why[512] = "";
    int c, json = 0, last = 0, code = 0, rc;
    dn_store_t *store;
    json_t *row = NULL;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 's')
            sale = optarg;
        else if (c == 'L')
            last = 1;
        else if (c == 'j')
            json = 1;
    }
    if (optind < argc)
        receipt = argv[optind++];
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if ((sale != NULL) + (receipt != NULL) + last != 1)
        return s_usage_error("%s", _("receipt needs the sale: its receipt number N, --last, "
                                     "or --sale SALE_ID (or its first 8 hex digits or "
                                     "more)"));
    if (!(store = s_open(dir, &code)))
        return code;
    rc = s_find_sale(store, sale, receipt, last, id, why, sizeof why);
    if (rc == 0 && !(row = dn_store_sale_show(store, id)))
        rc = DN_EDB;
    dn_store_destroy(&store);
    if (rc)
        return s_fail(rc, why);
    if (json) {
        s_print_json(row);
    } else {
        printf(_("sale      %s\n"), s_str(row, "id"));
        printf(_("receipt   %s\n"), s_str(row, "receipt"));
        printf(_("recorded  %s\n"), s_str(row, "recorded_at"));
        printf(_("channel   %s, paid by %s, seller %s, member %s\n"), s_str(row, "channel"),
               s_str(row, "payment"), s_str(row, "seller"), s_str(row, "member"));
        printf(_("total     %s %s, refunded %s\n"), s_str(row, "total"),
               s_str(row, "currency"), s_str(row, "refunded"));
        rc = s_print_table(json_object_get(row, "lines"), cols, sizeof cols / sizeof cols[0]);
    }
    json_decref(row);
    return rc;
}

/*  close [--date D]: the daily close (日结), read-only.  */
static int s_cmd_close(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"date", required_argument, NULL, 'D'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *date = NULL;
    char day[16];
    int64_t from_ms, to_ms;
    int c, json = 0, code = 0, rc = 0;
    dn_store_t *store;
    json_t *r;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'D')
            date = optarg;
        else if (c == 'j')
            json = 1;
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (date)
        snprintf(day, sizeof day, "%s", date);
    else
        dn_counter_date_of(dn_testctl_now_ms(), day);
    if (dn_counter_day(day, &from_ms, &to_ms))
        return s_usage_error(_("'%s' is not a date YYYY-MM-DD"), day);
    if (!(store = s_open(dir, &code)))
        return code;
    r = dn_counter_close(store, day, from_ms, to_ms);
    dn_store_destroy(&store);
    if (!r)
        return s_fail(DN_EDB, _("could not read the day's sales"));
    if (json) {
        s_print_json(r);
    } else {
        const char *cur = s_str(r, "currency");
        printf(_("daily close  %s  %s\n"), s_str(r, "site"), s_str(r, "date"));
        printf(_("sales        %lld, receipts %s to %s\n"),
               (long long)json_integer_value(json_object_get(r, "sales")),
               s_str(r, "first_receipt"), s_str(r, "last_receipt"));
        printf(_("gross        %s %s\n"), s_str(r, "gross"), cur);
        printf(_("refunds      %lld, %s %s\n"),
               (long long)json_integer_value(json_object_get(r, "refunds")),
               s_str(r, "refunded"), cur);
        printf(_("net          %s %s\n"), s_str(r, "net"), cur);
        printf(_("members      %lld signed up\n"),
               (long long)json_integer_value(json_object_get(r, "members_signed_up")));
        if (json_integer_value(json_object_get(r, "unsynced")) > 0)
            printf(_("not synced   %lld events of the day (%lld in all): run "
                     "'dealernet-agent sync'\n"),
                   (long long)json_integer_value(json_object_get(r, "unsynced")),
                   (long long)json_integer_value(json_object_get(r, "pending")));
        else
            printf(_("not synced   none of the day (%lld in all)\n"),
                   (long long)json_integer_value(json_object_get(r, "pending")));
        if (json_array_size(json_object_get(r, "by_payment")) > 0 &&
            (rc = s_print_groups(json_object_get(r, "by_payment"), "payment",
                                 C_("column", "PAYMENT"), "gross")) == 0)
            rc = s_print_groups(json_object_get(r, "by_channel"), "channel",
                                C_("column", "CHANNEL"), "gross");
    }
    json_decref(r);
    return rc;
}

/*  member find TEXT: by name or phone prefix.  */
static int s_cmd_member_find(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"limit", required_argument, NULL, 'n'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const dn_render_column_t cols[] = {{"phone", C_("column", "PHONE")},
                                       {"name", C_("column", "NAME")},
                                       {"referrer", C_("column", "REFERRER")},
                                       {"household", C_("column", "HOUSEHOLD")},
                                       {"recorded_at", C_("column", "SIGNED UP")}};
    int64_t limit = DN_COUNTER_FIND_LIMIT, more = 0;
    int c, json = 0, code = 0, rc = 0;
    const char *text;
    dn_store_t *store;
    json_t *list, *out;

    /* TEXT first, then the options (as member show) */
    if (argc >= 2 && argv[1][0] != '-') {
        text = argv[1];
        argv[1] = argv[0];
        argv++;
        argc--;
    } else {
        text = NULL;
    }
    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'j')
            json = 1;
        else if (c == 'n' && dn_parse_int(optarg, 1, DN_COUNTER_FIND_MAX, &limit))
            return s_limit_error(DN_COUNTER_FIND_MAX);
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (!text || !*text)
        return s_usage_error("%s", _("member find needs a name or the first digits of a "
                                     "phone"));
    if (!(store = s_open(dir, &code)))
        return code;
    list = dn_counter_member_find(store, text, limit, &more);
    dn_store_destroy(&store);
    if (!list)
        return s_fail(DN_EDB, _("could not read the members"));
    if (json) {
        out = json_pack("{s:s, s:I, s:o}", "text", text, "more", (json_int_t)more,
                        "members", list);
        s_print_json(out);
        json_decref(out);
        return 0;
    }
    if ((rc = s_print_table(list, cols, sizeof cols / sizeof cols[0])) == 0 && !s_quiet) {
        if (more)
            printf(_("%zu members shown, %lld more: type more of the name or phone\n"),
                   json_array_size(list), (long long)more);
        else
            printf(_("%zu members found\n"), json_array_size(list));
    }
    json_decref(list);
    return rc;
}

/* -- notices ------------------------------------------------------------- */

/*  HQ's notices, oldest first: the unread ones (all with --all), each as a
    header line and its text indented; the listed ones are then marked
    read -- only once they were written out, so a notice that never
    reached the screen (a closed pipe) stays unread.  */
static int s_cmd_notices(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"all", no_argument, NULL, 'a'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int c, code = 0, json = 0, all = 0, rc;
    int64_t through = 0, marked = 0;
    dn_store_t *store;
    json_t *list = NULL, *item;
    size_t i;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'a')
            all = 1;
        if (c == 'j')
            json = 1;
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (!(store = s_open(dir, &code)))
        return code;
    if ((rc = dn_notices_list(store, 0, all, &list)) != 0) {
        dn_store_destroy(&store);
        return s_fail(rc, _("could not read the notices"));
    }
    if (json) {
        s_print_json(list);
    } else {
        json_array_foreach(list, i, item)
        {
            const char *text = s_str(item, "text");
            if (i)
                putchar('\n');
            printf(_("notice %lld, sent %s%s\n"),
                   (long long)json_integer_value(json_object_get(item, "id")),
                   s_str(item, "sent"),
                   json_is_true(json_object_get(item, "read")) ? _(", read") : "");
            /* each line of the text indented under its header */
            while (*text) {
                size_t len = strcspn(text, "\n");
                printf("  %.*s\n", (int)len, text);
                text += len + (text[len] == '\n');
            }
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        json_decref(list);
        dn_store_destroy(&store);
        return s_fail(DN_EIO, _("could not write the notices: they stay unread"));
    }
    if (json_array_size(list))
        through = json_integer_value(
            json_object_get(json_array_get(list, json_array_size(list) - 1), "id"));
    rc = through ? dn_notices_mark_read(store, through, dn_time_now_ms(), &marked) : 0;
    dn_store_destroy(&store);
    if (rc == 0 && !json && !s_quiet) {
        if (json_array_size(list) == 0)
            printf("%s\n", all ? _("no notices") : _("no unread notices"));
        else
            printf(json_array_size(list) == 1 ? _("\n%zu notice shown, %lld marked read\n")
                                              : _("\n%zu notices shown, %lld marked read\n"),
                   json_array_size(list), (long long)marked);
    }
    json_decref(list);
    return rc ? s_fail(rc, _("could not mark the notices read")) : 0;
}

static int s_cmd_status(const char *dir, int argc, char **argv)
{
    int json, code = 0;
    dn_store_t *store;
    json_t *status;

    if (s_listing_opts(argc, argv, &json, &code))
        return code;
    if (!(store = s_open(dir, &code)))
        return code;
    status = dn_store_status(store);
    if (status) {
        char newest[DN_MAX_NOTICE_BYTES + 1];
        int64_t unread = 0;
        int more = 0;
        if (dn_notices_unread(store, &unread, newest, sizeof newest, &more) != 0) {
            json_decref(status);
            status = NULL;
        } else {
            json_object_set_new(status, "notices_unread", json_integer(unread));
            json_object_set_new(status, "notice_newest",
                                unread ? json_string(newest) : json_null());
            json_object_set_new(status, "notice_newest_more", json_boolean(more));
        }
    }
    dn_store_destroy(&store);
    if (!status)
        return s_fail(DN_EDB, _("could not read the status"));
    json_object_set_new(status, "folder", json_string(dir));
    if (json) {
        s_print_json(status);
    } else {
        json_t *last = json_object_get(status, "last_sync");
        json_t *skew = json_object_get(status, "clock_skew_ms");
        dn_render_field_t f[11];
        char site[3 * DN_MAX_CODE_LEN + 32], partner[4 * DN_MAX_CODE_LEN + 96],
            events[96], head[2 * DN_HASH_BYTES + 48], clock[128], error[1024],
            notices[DN_MAX_NOTICE_BYTES + 128];
        size_t n = 0;
        snprintf(site, sizeof site, _("%s (partner %s, %s)"), s_str(status, "site"),
                 s_str(status, "partner"), s_str(status, "currency"));
        f[n++] = (dn_render_field_t){C_("field", "site"), site};
        f[n++] = (dn_render_field_t){C_("field", "folder"), dir};
        if (json_is_string(json_object_get(status, "initialised_partner"))) {
            snprintf(partner, sizeof partner,
                     _("HQ registered this site to %s; it was initialised for %s: "
                       "its sales earn for %s"),
                     s_str(status, "partner"), s_str(status, "initialised_partner"),
                     s_str(status, "partner"));
            f[n++] = (dn_render_field_t){C_("field", "partner"), partner};
        }
        f[n++] = (dn_render_field_t){
            C_("field", "phones"), json_is_string(json_object_get(status, "country"))
                                       ? s_str(status, "country")
                                       : _("no default country: typed with + and the country code")};
        snprintf(events, sizeof events, _("%lld recorded, %lld pending sync"),
                 (long long)json_integer_value(json_object_get(status, "events")),
                 (long long)json_integer_value(json_object_get(status, "pending")));
        f[n++] = (dn_render_field_t){C_("field", "events"), events};
        snprintf(head, sizeof head, _("seq %lld %s"),
                 (long long)json_integer_value(json_object_get(status, "head_seq")),
                 s_str(status, "head_hash"));
        f[n++] = (dn_render_field_t){C_("field", "chain head"), head};
        f[n++] = (dn_render_field_t){C_("field", "server"),
                                     json_is_string(json_object_get(status, "server"))
                                         ? s_str(status, "server")
                                         : _("not enrolled")};
        f[n++] = (dn_render_field_t){C_("field", "last sync"),
                                     json_is_string(last) ? json_string_value(last) : _("never")};
        if (json_is_integer(skew)) {
            long long ms = json_integer_value(skew);
            snprintf(clock, sizeof clock,
                     ms >= 0 ? _("%lld s ahead of the server's at the last sync%s")
                             : _("%lld s behind the server's at the last sync%s"),
                     llabs(ms) / 1000,
                     llabs(ms) > DN_CLOCK_TOLERANCE_MS ? _(": set this PC's clock") : "");
            f[n++] = (dn_render_field_t){C_("field", "clock"), clock};
        }
        if (json_is_string(json_object_get(status, "last_error"))) {
            snprintf(error, sizeof error, "%s: %s", s_str(status, "last_error_at"),
                     s_str(status, "last_error"));
            f[n++] = (dn_render_field_t){C_("field", "last error"), error};
        }
        if (json_integer_value(json_object_get(status, "notices_unread")) > 0)
            snprintf(notices, sizeof notices,
                     _("%lld unread (run 'dealernet-agent notices')\nnewest: %s%s"),
                     (long long)json_integer_value(json_object_get(status, "notices_unread")),
                     s_str(status, "notice_newest"),
                     json_is_true(json_object_get(status, "notice_newest_more")) ? " ..." : "");
        else
            snprintf(notices, sizeof notices, "%s", _("none unread"));
        f[n++] = (dn_render_field_t){C_("field", "notices"), notices};
        /* the labels padded by display width (dn_render_fields): they line
           up in any language */
        if (dn_render_fields(stdout, f, n, 0, 1)) {
            json_decref(status);
            return s_fail(DN_EIO, _("could not write the status"));
        }
    }
    json_decref(status);
    return 0;
}

static int s_cmd_check(const char *dir, int argc, char **argv)
{
    int json, code = 0, rc;
    dn_store_t *store;
    dn_outbox_check_t result;
    char head[2 * DN_HASH_BYTES + 1];

    if (s_listing_opts(argc, argv, &json, &code))
        return code;
    if (!(store = s_open(dir, &code)))
        return code;
    rc = dn_outbox_check(store, &result);
    dn_store_destroy(&store);
    dn_hex_encode(result.head, DN_HASH_BYTES, head);
    if (json) {
        json_t *out = json_pack("{s:b, s:I, s:I, s:s, s:s}", "ok", rc == 0, "events",
                                (json_int_t)result.events, "bad_seq",
                                (json_int_t)result.bad_seq, "head_hash",
                                result.events ? head : "", "error",
                                rc == 0 ? "" : result.why[0] ? result.why : dn_strerror(rc));
        s_print_json(out);
        json_decref(out);
    } else if (rc == 0 && !s_quiet) {
        printf(_("ok: %lld events, seq 1..%lld, chain head %s\n"), (long long)result.events,
               (long long)result.events, result.events ? head : _("(empty)"));
    }
    if (rc == DN_ECHAIN) {
        dn_log_error(_("chain broken at seq %lld: %s"), (long long)result.bad_seq, result.why);
        return dn_exit_code(rc);
    }
    return rc ? s_fail(rc, _("could not read the events")) : 0;
}

/* -- reminders ----------------------------------------------------------- */

static int s_cmd_reminders(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"days", required_argument, NULL, 'D'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const dn_render_column_t cols[] = {{"phone", NULL},
                                       {"name", NULL},
                                       {"sku", NULL},
                                       {"last_purchase", C_("column", "LAST PURCHASE")},
                                       {"usual_quantity", C_("column", "QTY")},
                                       {"interval_days", C_("column", "INTERVAL")},
                                       {"due_date", C_("column", "DUE")},
                                       {"days_until_due", C_("column", "IN DAYS")},
                                       {"basis", NULL}};
    const char *fixed;
    int64_t days = DN_REMINDER_DEFAULT_DAYS, today, today_ms;
    int c, code = 0, json = 0, rc;
    dn_reminder_t *items;
    size_t n;
    dn_store_t *store;
    json_t *list;
    char last[DN_DATE_SIZE], due[DN_DATE_SIZE];

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'D' && dn_parse_int(optarg, 0, DN_REMINDER_MAX_DAYS, &days)) {
            char text[160];
            snprintf(text, sizeof text,
                     _("--days '%s' is not a whole number of days from 0 to %d"), optarg,
                     DN_REMINDER_MAX_DAYS);
            return s_usage_error("%s", text);
        }
        if (c == 'j')
            json = 1;
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (dn_testctl_today_ms(&today_ms, &fixed))
    {
        char text[160];
        snprintf(text, sizeof text, _("%s '%s' is not a date YYYY-MM-DD"),
                 DN_TESTCTL_TODAY_ENV, fixed);
        return s_usage_error("%s", text);
    }
    today = dn_time_day(today_ms);
    if (!(store = s_open(dir, &code)))
        return code;
    rc = dn_reminder_list(store, today, days, &items, &n);
    dn_store_destroy(&store);
    if (rc)
        return s_fail(rc, _("could not read the purchases"));
    list = dn_reminder_json(items, n);
    free(items);
    if (!list)
        return s_fail(DN_ENOMEM, _("could not format the reminders"));
    if (json) {
        s_print_json(list);
    } else if ((rc = s_print_table(list, cols, sizeof cols / sizeof cols[0])) == 0 &&
               !s_quiet) {
        dn_time_format_day(today, last);
        dn_time_format_day(today + days, due);
        printf(_("%zu to call: due by %s or overdue (today %s %s)\n"), n, due, last, dn_time_zone());
    }
    json_decref(list);
    return rc;
}

/* -- enroll, sync, run ------------------------------------------------------ */

/*  Parses "--timeout SEC"-style whole seconds.  */
static int s_seconds(const char *text, int *seconds)
{
    int64_t v;
    if (dn_parse_int(text, 1, 86400, &v))
        return s_usage_error(_("'%s' is not a number of seconds from 1 to 86400"), text);
    *seconds = (int)v;
    return 0;
}

#define DN_TOKEN_ENV "DEALERNET_TOKEN"

/*  What the clerk reads at the prompts: Chinese first, English after, in
    every language (a shop PC's LANG is often left at C: the clerk still
    reads the prompt).  One text, so not through gettext.  */
#define DN_PROMPT_CODE  "粘贴总部给的注册码 / paste the enrollment code from headquarters: "
#define DN_PROMPT_TOKEN "输入总部给的注册令牌 / enter the enrollment token from headquarters: "

/*  Where enroll takes the server and the token from.  A token never comes
    from argv: `ps` shows every process's arguments to every user of the
    PC for as long as it runs, and the shell keeps them in its history.  */
typedef struct {
    const char *server, *server_key;
    const char *token_arg;   /* --token: only "-" (standard input) is taken */
    const char *token_file;  /* --token-file */
    const char *bundle_file; /* --bundle-file */
} s_enroll_args_t;

/*  Fills *bundle from the enrollment code (--bundle-file, else standard
    input), or from --server, --server-key and the token (--token-file,
    --token -, else $DEALERNET_TOKEN).  Returns 0 or an exit status after
    one line on stderr.  */
static int s_enroll_source(const s_enroll_args_t *a, dn_bundle_t *bundle)
{
    char text[DN_SECRET_MAX_BYTES + 1], why[512];
    const char *env;
    int rc;

    memset(bundle, 0, sizeof *bundle);
    if (!a->server && !a->server_key && !a->token_arg && !a->token_file) {
        rc = a->bundle_file ? dn_secret_read_file(a->bundle_file, _("enrollment code"), text,
                                                  sizeof text, why, sizeof why)
                            : dn_secret_read_stdin(DN_PROMPT_CODE, _("enrollment code"), text,
                                                   sizeof text, why, sizeof why);
        if (rc == 0)
            rc = dn_bundle_parse(text, bundle, why, sizeof why);
        dn_secret_wipe(text, sizeof text);
        return rc ? s_fail(rc, why) : 0;
    }
    if (!a->server || !a->server_key)
        return s_usage_error("%s", _("enroll with flags needs --server and --server-key (or "
                                   "neither: paste the enrollment code)"));
    if (strlen(a->server) > DN_BUNDLE_MAX_ENDPOINT)
        return s_usage_error(_("--server '%.60s...' is too long for an endpoint"), a->server);
    snprintf(bundle->endpoint, sizeof bundle->endpoint, "%s", a->server);
    snprintf(bundle->server_key, sizeof bundle->server_key, "%s", a->server_key);
    if (a->token_file)
        rc = dn_secret_read_file(a->token_file, _("token"), text, sizeof text, why, sizeof why);
    else if (a->token_arg)
        rc = dn_secret_read_stdin(DN_PROMPT_TOKEN, _("token"), text, sizeof text, why,
                                  sizeof why);
    else if ((env = getenv(DN_TOKEN_ENV)) != NULL && *env)
        rc = snprintf(text, sizeof text, "%s", env) < (int)sizeof text ? 0 : DN_ETOOBIG;
    else
        return s_usage_error(_("no token: give --token-file FILE, or --token - to type "
                               "or pipe it, or set %s"),
                             DN_TOKEN_ENV);
    if (rc == DN_ETOOBIG && !a->token_file && !a->token_arg)
        snprintf(why, sizeof why, _("%s is longer than any token"), DN_TOKEN_ENV);
    if (rc == 0 && !dn_wire_token_valid(text)) {
        snprintf(why, sizeof why,
                 _("that is not an enrollment token (%d to %d letters and digits, as "
                 "'dealernet-hq site add' prints it)"),
                 DN_MIN_TOKEN_LEN, DN_MAX_TOKEN_LEN);
        rc = DN_EPARSE;
    }
    if (rc == 0)
        memcpy(bundle->token, text, strlen(text) + 1);
    dn_secret_wipe(text, sizeof text);
    return rc ? s_fail(rc, why) : 0;
}

static int s_cmd_enroll(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"server", required_argument, NULL, 's'},
                                          {"server-key", required_argument, NULL, 'k'},
                                          {"token", required_argument, NULL, 't'},
                                          {"token-file", required_argument, NULL, 'f'},
                                          {"bundle-file", required_argument, NULL, 'b'},
                                          {"timeout", required_argument, NULL, 'T'},
                                          {"again", no_argument, NULL, 'A'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    s_enroll_args_t a = {NULL, NULL, NULL, NULL, NULL};
    int c, code = 0, timeout = 10, rc, again = 0;
    char why[768] = "";
    dn_sync_enrolled_t done;
    dn_bundle_t bundle;
    dn_store_t *store;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 's')
            a.server = optarg;
        else if (c == 'k')
            a.server_key = optarg;
        else if (c == 't')
            a.token_arg = optarg;
        else if (c == 'f')
            a.token_file = optarg;
        else if (c == 'b')
            a.bundle_file = optarg;
        else if (c == 'A')
            again = 1;
        else if (c == 'T' && (code = s_seconds(optarg, &timeout)) != 0)
            return code;
    }
    /* Refused before anything else, so that it is the one line a clerk
       or a script sees; it cannot undo what ps showed, only teach.  */
    if (a.token_arg && strcmp(a.token_arg, "-") != 0) {
        dn_log_error(_("a token on the command line is shown by ps to every user of this "
                       "PC: give it with --token-file FILE, --token - (standard input) or "
                       "%s, or run 'dealernet-agent enroll' alone and paste the "
                       "enrollment code"),
                     DN_TOKEN_ENV);
        return EX_USAGE;
    }
    if (optind < argc && strncmp(argv[optind], "DN", 2) == 0) {
        dn_log_error(_("an enrollment code on the command line is shown by ps to every user "
                     "of this PC: run 'dealernet-agent enroll' alone and paste it when "
                     "asked, or give it with --bundle-file FILE"));
        return EX_USAGE;
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (a.token_arg && a.token_file)
        return s_usage_error("%s", _("give the token one way: --token - or --token-file"));
    if (a.bundle_file && (a.server || a.server_key || a.token_arg || a.token_file))
        return s_usage_error("%s", _("--bundle-file holds the server, its key and the token: "
                                   "give no --server, --server-key or token with it"));
    /* Not initialised, or enrolled already: say so before asking for a
       secret.  */
    if (!(store = s_open(dir, &code)))
        return code;
    if ((rc = dn_sync_can_enroll(store, again, why, sizeof why)) != 0) {
        dn_store_destroy(&store);
        return s_fail(rc, why);
    }
    if ((code = s_enroll_source(&a, &bundle)) != 0) {
        dn_store_destroy(&store);
        return code;
    }
    if (!a.server && strcmp(bundle.site, dn_store_info(store)->site) != 0) {
        dn_log_error(_("this enrollment code is for site %s, but this agent is site %s: ask "
                     "headquarters for the code of %s"),
                     bundle.site, dn_store_info(store)->site, dn_store_info(store)->site);
        dn_secret_wipe(&bundle, sizeof bundle);
        dn_store_destroy(&store);
        return dn_exit_code(DN_EPARSE);
    }
    rc = dn_sync_enroll_again(store, dir, bundle.endpoint, bundle.server_key, bundle.token,
                              again, timeout * 1000, &done, why, sizeof why);
    dn_secret_wipe(bundle.token, sizeof bundle.token);
    if (rc == 0 && !s_quiet) {
        char initialised[DN_MAX_CODE_LEN + 1];
        printf(_("enrolled site %s with %s\n"), dn_store_info(store)->site, bundle.endpoint);
        if (done.rebased)
            printf(_("the site's events up to seq %lld are on the server; the %lld recorded "
                   "here follow as seq %lld to %lld\n"),
                   (long long)done.applied_seq, (long long)done.moved,
                   (long long)done.applied_seq + 1, (long long)(done.applied_seq + done.moved));
        else if (again)
            printf(_("this folder's events up to seq %lld are on the server; %lld to send\n"),
                   (long long)done.applied_seq, (long long)done.to_send);
        if (dn_store_meta_get(store, DN_STORE_META_INIT_PARTNER, initialised, sizeof initialised) == 0)
            printf(_("note: HQ registered this site to partner %s, not %s as initialised: "
                   "its sales earn for %s\n"),
                   dn_store_info(store)->partner, initialised, dn_store_info(store)->partner);
    }
    dn_store_destroy(&store);
    return rc ? s_fail(rc, why) : 0;
}

/*  One line on stderr: this PC's clock is off the server's.  */
static void s_warn_skew(int64_t skew_ms)
{
    char off[64];
    fprintf(stderr,
            _("warning: this PC's clock is %s the server's: set it right; the server "
            "posts sales at its own time of receipt when they claim a later one\n"),
            dn_doctor_offset_text(skew_ms, off, sizeof off));
}

/*  The exit status of a sync: a partial success is 75 whatever stopped it
    (what was acked is synced; run sync again for the rest).  */
static int s_sync_exit(int rc, const dn_sync_result_t *result)
{
    if (rc && result->acked_through > result->start_acked)
        return EX_TEMPFAIL;
    return dn_exit_code(rc);
}

/*  sync --json's "received": what came down, per stream pulled (as
    dn_sync_report_received, with the streams that brought nothing).  */
/*  What came down, keyed by stream: {"catalog": {"items", "version",
    "reset"}, ...}; {} when nothing did.  */
static json_t *s_received_json(const dn_sync_result_t *r)
{
    json_t *streams = json_object();
    for (size_t i = 0; streams && i < r->n_received; i++) {
        const dn_down_applied_t *a = &r->received[i];
        json_object_set_new(streams, a->name,
                            json_pack("{s:I, s:I, s:b}", "items", (json_int_t)a->items,
                                      "version", (json_int_t)a->version, "reset", a->reset));
    }
    return streams;
}

static int s_cmd_sync(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"timeout", required_argument, NULL, 'T'},
                                          {"reply-timeout", required_argument, NULL, 'R'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    dn_sync_options_t options = {DN_SYNC_DEFAULT_TIMEOUT_S * 1000, 0, 0, NULL, 0, 0};
    dn_sync_result_t result;
    int c, code = 0, json = 0, timeout = DN_SYNC_DEFAULT_TIMEOUT_S, rc;
    int64_t reply_ms = DN_SYNC_REPLY_TIMEOUT_MS;
    dn_store_t *store;
    char report[256];
    int64_t notices_before = 0;
    json_t *notices = NULL, *notice;
    size_t i;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'T' && (code = s_seconds(optarg, &timeout)) != 0)
            return code;
        if (c == 'R' && dn_parse_int(optarg, 100, 60000, &reply_ms))
            return s_usage_error(_("'%s' is not a number of milliseconds from 100 to 60000"),
                                 optarg);
        if (c == 'j')
            json = 1;
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (!(store = s_open(dir, &code)))
        return code;
    options.timeout_ms = timeout * 1000;
    options.reply_timeout_ms = (int)reply_ms;
    options.progress = !json && !s_quiet && isatty(STDERR_FILENO);
    /* the notices this sync brings: those after the last one held before */
    if ((rc = dn_notices_last_id(store, &notices_before)) != 0) {
        dn_store_destroy(&store);
        return s_fail(rc, _("could not read the notices"));
    }
    rc = dn_sync_run(store, dir, &options, &result);
    if (rc == 0 && dn_notices_list(store, notices_before, 1, &notices) != 0)
        dn_log_warn(_("could not read the notices this sync brought: run 'dealernet-agent "
                    "notices'"));
    dn_store_destroy(&store);
    if (json) {
        uint64_t sent =
            result.acked_through > result.start_acked ? result.acked_through - result.start_acked
                                                      : 0;
        json_t *out = json_pack(
            "{s:b, s:b, s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:i, s:o, s:s, s:o}", "ok",
            rc == 0, "partial", rc != 0 && sent > 0, "sent", (json_int_t)sent, "first_seq",
            sent ? json_integer((json_int_t)(result.start_acked + 1)) : json_null(),
            "last_seq", sent ? json_integer((json_int_t)result.acked_through) : json_null(),
            "server_applied_seq",
            result.has_server ? json_integer((json_int_t)result.server_applied) : json_null(),
            "pending", (json_int_t)result.pending, "acked_through",
            (json_int_t)result.acked_through, "head_seq", (json_int_t)result.head_seq,
            "transmitted", (json_int_t)result.sent_events, "connects", result.connects,
            "cause", result.cause ? json_string(result.cause) : json_null(), "error",
            rc ? result.error : "", "clock_skew_ms",
            result.has_skew ? json_integer(result.skew_ms) : json_null());
        json_object_set_new(out, "received", s_received_json(&result));
        if (out && notices)
            json_object_set(out, "notices", notices);
        s_print_json(out);
        json_decref(out);
    } else if (rc == 0 && !s_quiet) {
        char received[512];
        printf(_("synced: %s\n"), dn_sync_report(&result, report, sizeof report));
        if (dn_sync_report_received(&result, received, sizeof received)[0])
            printf("%s\n", received);
        /* one line each: the first line of its text; 'notices' shows it whole */
        json_array_foreach(notices, i, notice)
        {
            char line[DN_MAX_NOTICE_BYTES + 1];
            int more = dn_notices_first_line(s_str(notice, "text"), line, sizeof line);
            printf(_("notice %lld from HQ: %s%s\n"),
                   (long long)json_integer_value(json_object_get(notice, "id")), line,
                   more ? " ..." : "");
        }
    }
    json_decref(notices);
    /* One line on stderr: the error, else the clock's warning.  */
    if (rc == 0 && !json && !s_quiet && result.has_skew &&
        llabs(result.skew_ms) > DN_CLOCK_TOLERANCE_MS)
        s_warn_skew(result.skew_ms);
    if (rc)
        dn_log_error("%s", result.error[0] ? result.error : dn_strerror(rc));
    return rc ? s_sync_exit(rc, &result) : 0;
}

/*  recover (README "Recovering a shop PC"): a session that pushes
    nothing and pulls the site's chain to its end (stream chain, each
    reply in its own transaction), then the one transaction of
    dn_recover_run.  */
static int s_cmd_recover(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"dry-run", no_argument, NULL, 'n'},
                                          {"timeout", required_argument, NULL, 'T'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    static const Dealernet__Stream chain[] = {DEALERNET__STREAM__STREAM_CHAIN};
    dn_sync_options_t options = {DN_SYNC_DEFAULT_TIMEOUT_S * 1000, 0, 0, chain, 1, 1};
    dn_sync_result_t result;
    dn_recover_result_t r;
    int c, code = 0, json = 0, dry_run = 0, timeout = DN_SYNC_DEFAULT_TIMEOUT_S, rc;
    dn_store_t *store;
    char why[DN_WHY_SIZE + 128] = "", report[256];

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'T' && (code = s_seconds(optarg, &timeout)) != 0)
            return code;
        if (c == 'n')
            dry_run = 1;
        if (c == 'j')
            json = 1;
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (!(store = s_open(dir, &code)))
        return code;
    options.timeout_ms = timeout * 1000;
    options.progress = !json && !s_quiet && isatty(STDERR_FILENO);
    rc = dn_sync_run(store, dir, &options, &result);
    if (rc) {
        dn_store_destroy(&store);
        dn_log_error("%s", result.error[0] ? result.error : dn_strerror(rc));
        return s_sync_exit(rc, &result);
    }
    rc = dn_recover_run(store, dry_run, &r, why, sizeof why);
    dn_store_destroy(&store);
    if (rc) {
        dn_log_error("%s", why[0] ? why : dn_strerror(rc));
        return dn_exit_code(rc);
    }
    if (json) {
        json_t *out = json_pack(
            "{s:b, s:I, s:I, s:I, s:I, s:o, s:o}", "dry_run", dry_run, "server_head",
            (json_int_t)r.server_head, "kept", (json_int_t)r.kept, "added",
            (json_int_t)r.added, "rerecorded", (json_int_t)r.rerecorded, "first_seq",
            r.rerecorded ? json_integer((json_int_t)(r.server_head + 1)) : json_null(),
            "last_seq",
            r.rerecorded ? json_integer((json_int_t)(r.server_head + r.rerecorded))
                         : json_null());
        s_print_json(out);
        json_decref(out);
    } else if (!s_quiet) {
        printf("%s\n", dn_recover_report(&r, dry_run, report, sizeof report));
    }
    return 0;
}

static int s_cmd_doctor(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"timeout", required_argument, NULL, 'T'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    dn_doctor_check_t checks[DN_DOCTOR_CHECKS];
    int c, code = 0, json = 0, timeout = DN_DOCTOR_DEFAULT_TIMEOUT_S, failed = 0;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'T' && (code = s_seconds(optarg, &timeout)) != 0)
            return code;
        if (c == 'j')
            json = 1;
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    code = dn_doctor_run(dir, s_files, sizeof s_files / sizeof s_files[0], timeout * 1000,
                         checks);
    if (json) {
        json_t *list = json_array();
        for (int i = 0; i < DN_DOCTOR_CHECKS; i++)
            json_array_append_new(
                list, json_pack("{s:s, s:s, s:s, s:s}", "check", checks[i].name, "result",
                                dn_doctor_mark_text(checks[i].mark, 1), "text",
                                checks[i].text, "todo", checks[i].todo));
        json_t *out = json_pack("{s:b, s:i, s:o}", "ok", code == 0, "exit", code, "checks",
                                list);
        s_print_json(out);
        json_decref(out);
        return code;
    }
    for (int i = 0; i < DN_DOCTOR_CHECKS; i++) {
        printf("%-4s %-9s %s\n", dn_doctor_mark_text(checks[i].mark, 0), checks[i].name,
               checks[i].text);
        if (checks[i].todo[0] && checks[i].mark != DN_DOCTOR_SKIP)
            printf("               -> %s\n", checks[i].todo);
        failed += checks[i].mark == DN_DOCTOR_FAIL;
    }
    if (failed)
        printf(failed == 1 ? _("%d check failed: the first one is the one to fix\n")
                           : _("%d checks failed: the first one is the one to fix\n"),
               failed);
    else
        printf(_("all checks passed\n"));
    return code;
}

/*  server set: HQ moved the server; the site stays what it is.  */
static int s_cmd_server_set(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"server-key", required_argument, NULL, 'k'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *server_key = NULL;
    char why[512] = "";
    int c, code = 0, rc;
    dn_store_t *store;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'k')
            server_key = optarg;
    }
    if (optind + 1 < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind + 1]);
    if (optind >= argc || !server_key)
        return s_usage_error("%s", _("server set needs ENDPOINT and --server-key Z85"));
    if (!(store = s_open(dir, &code)))
        return code;
    rc = dn_sync_server_set(store, argv[optind], server_key, why, sizeof why);
    dn_store_destroy(&store);
    if (rc)
        return s_fail(rc, why);
    if (!s_quiet)
        printf(_("server set to %s (key %.8s...)\n"), argv[optind], server_key);
    return 0;
}

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static int s_cmd_run(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"interval", required_argument, NULL, 'i'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int c, code = 0, interval = 60, rc;
    struct sigaction sa;
    dn_store_t *store;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'i' && (code = s_seconds(optarg, &interval)) != 0)
            return code;
    }
    if (optind < argc)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind]);
    if (!(store = s_open(dir, &code)))
        return code;
    dn_log_init("dealernet-agent", DN_LOG_INFO, 1);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rc = dn_sync_daemon(store, dir, interval, &s_stop);
    dn_store_destroy(&store);
    return rc ? dn_exit_code(rc) : 0;
}

/* -- import, export ------------------------------------------------------ */

static int s_cmd_import(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"dry-run", no_argument, NULL, 'n'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    dn_import_options_t options = {0, 0};
    dn_import_result_t res;
    int c, code = 0, json = 0, rc;
    dn_store_t *store;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'n')
            options.dry_run = 1;
        else if (c == 'j')
            json = 1;
    }
    if (optind != argc - 1)
        return s_usage_error("%s", _("import needs exactly one FILE.csv"));
    if (!(store = s_open(dir, &code)))
        return code;
    options.progress = !json && isatty(STDERR_FILENO);
    rc = dn_import_file(store, argv[optind], &options, &res);
    dn_store_destroy(&store);
    if (rc) {
        if (res.line && res.column[0])
            dn_log_error(_("%s: line %ld, column %s: %s; nothing was imported"), argv[optind],
                         res.line, res.column, res.why);
        else if (res.line)
            dn_log_error(_("%s: line %ld: %s; nothing was imported"), argv[optind], res.line,
                         res.why);
        else
            dn_log_error(_("%s; nothing was imported"), res.why);
        return dn_exit_code(rc);
    }
    if (json) {
        json_t *out = json_pack(
            "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "dry_run",
            options.dry_run, "sales", (json_int_t)res.sales, "lines", (json_int_t)res.lines,
            "members", (json_int_t)res.members, "refunds", (json_int_t)res.refunds,
            "member_updates", (json_int_t)res.updates, "skipped",
            (json_int_t)(res.skipped_sales + res.skipped_members + res.skipped_refunds +
                         res.skipped_updates),
            "skipped_sales", (json_int_t)res.skipped_sales, "skipped_members",
            (json_int_t)res.skipped_members, "skipped_refunds",
            (json_int_t)res.skipped_refunds, "skipped_member_updates",
            (json_int_t)res.skipped_updates);
        s_print_json(out);
        json_decref(out);
    } else {
        printf(options.dry_run
                   ? _("dry run, would import: %lld sales (%lld lines), %lld members, %lld "
                       "refunds, %lld member updates; skipped %lld already imported%s\n")
                   : _("imported: %lld sales (%lld lines), %lld members, %lld refunds, %lld "
                       "member updates; skipped %lld already imported%s\n"),
               (long long)res.sales,
               (long long)res.lines, (long long)res.members, (long long)res.refunds,
               (long long)res.updates,
               (long long)(res.skipped_sales + res.skipped_members + res.skipped_refunds +
                           res.skipped_updates),
               options.dry_run ? _("; nothing recorded") : "");
    }
    return 0;
}

/*  export --skip-unmovable: each event left out, as a warning.  */
static void s_export_skipped(void *arg, const char *line)
{
    (void)arg;
    dn_log_warn("%s", line);
}

static int s_cmd_export(const char *dir, int argc, char **argv)
{
    static const struct option longs[] = {{"unsynced", no_argument, NULL, 'u'},
                                          {"skip-unmovable", no_argument, NULL, 's'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    dn_import_export_options_t options = {0, s_export_skipped, NULL};
    dn_import_export_t res;
    const char *path;
    char why[1024] = "";
    int c, code = 0, unsynced = 0, fd = -1, rc;
    FILE *out = stdout;
    dn_store_t *store;

    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code;
        if (c == 'u')
            unsynced = 1;
        else if (c == 's')
            options.skip_unmovable = 1;
    }
    if (!unsynced)
        return s_usage_error("%s", _("export needs --unsynced (the events the server has not "
                                   "acknowledged)"));
    if (optind != argc - 1)
        return s_usage_error("%s", _("export needs exactly one FILE.csv, or - for standard "
                                   "output"));
    path = argv[optind];
    if (!(store = s_open(dir, &code)))
        return code;
    if (strcmp(path, "-") != 0) {
        /* never over another file: it may be the only copy of a day's
           sales; private (members' phones and names), as agent.db is */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, DN_FSPERM_FILE_PRIVATE);
        if (fd < 0 || !(out = fdopen(fd, "w"))) {
            dn_log_error(_("cannot create %s: %s%s"), path, strerror(errno),
                         errno == EEXIST ? _(" (export never overwrites a file: give a new "
                                           "name)")
                                         : "");
            if (fd >= 0)
                close(fd);
            dn_store_destroy(&store);
            return EX_CANTCREAT;
        }
    }
    rc = dn_import_export_unsynced(store, out, &options, &res, why, sizeof why);
    dn_store_destroy(&store);
    if (rc == 0 && (fflush(out) != 0 || (fd >= 0 && fsync(fileno(out)) != 0)))
        rc = dn_why(why, sizeof why, DN_EIO, _("could not write %s: %s"), path,
                    strerror(errno));
    if (out != stdout && fclose(out) != 0 && rc == 0)
        rc = dn_why(why, sizeof why, DN_EIO, _("could not write %s: %s"), path,
                    strerror(errno));
    if (rc) {
        if (fd >= 0)
            unlink(path); /* a file cut short must not be imported */
        return s_fail(rc, why);
    }
    /* with "-" the file is standard output: the summary goes to stderr */
    fprintf(fd >= 0 ? stdout : stderr,
            _("exported: %lld sales (%lld lines), %lld members, %lld refunds, %lld member "
            "updates not yet synced to %s"),
            (long long)res.sales, (long long)res.lines, (long long)res.members,
            (long long)res.refunds, (long long)res.updates,
            fd >= 0 ? path : _("standard output"));
    if (res.unmovable)
        fprintf(fd >= 0 ? stdout : stderr, _("; left out %lld that another PC cannot "
                "record (see the warnings)"), (long long)res.unmovable);
    fputc('\n', fd >= 0 ? stdout : stderr);
    return 0;
}

/* -- dispatch ------------------------------------------------------------ */

static const s_command_t s_commands[] = {
    {"init", s_cmd_init, "--site CODE --partner CODE [--currency CNY] [--country CC]",
     N_("Creates the data folder, agent.db and the site's Ed25519 key (site.key,\n"
     "mode 0600).  Refuses to overwrite an existing agent.  --country is the\n"
     "calling code given to phones typed without one (default: the currency's\n"
     "country, CNY 86, HKD 852, TWD 886, USD 1...; required for EUR and CHF).\n")},
    {"sale", s_cmd_sale, /* i18n: not for people: command name and syntax */
     "--line SKU:QTY[@PRICE] [--line ...] [--member PHONE]\n"
     "       [--channel store|online|community] [--seller PARTNER]\n"
     "       [--pay cash|wechat|alipay|card|other] [--json]",
     N_("Records one sale and prints its id and total.  @PRICE may be left out when\n"
     "the SKU has a price in HQ's catalogue (synced; see catalog list) or in the\n"
     "local catalog; HQ's comes first.  A price HQ fixed cannot be changed with\n"
     "@PRICE (exit 77).  --seller defaults to the site's partner, --channel to\n"
     "store.  --pay cash|wechat|alipay|card|other records how the customer\n"
     "paid (left out: unknown).  Prints the sale's receipt number (0042), the\n"
     "site's next one: 'refund --receipt 42' finds the sale by it.  In place of\n"
     "a SKU a line may give an item's display name (HQ's catalogue or the\n"
     "local one, exactly as listed): the item named so, when one is; the sale\n"
     "says which SKU it took.  Refund lines take names too.\n")},
    {"refund", s_cmd_refund,
     "SALE_ID | --receipt N | --last [--line SKU:QTY ...] [--amount AMOUNT] [--json]",
     N_("Records a refund of a sale: of the given lines, of an amount, or with\n"
     "neither of everything still refundable.  Refuses more than is left.\n"
     "The sale is named by its id or the first 8 or\n"
     "more hex digits of it, --receipt N (the number 'sale' printed) or\n"
     "--last (the last sale recorded here).\n")},
    {"member add", s_cmd_member_add, /* i18n: not for people: command name and syntax */
     "--phone PHONE [--name NAME] [--referrer PHONE|PARTNER] [--household N] [--json]",
     N_("Signs up a member.  The phone is stored canonical, E.164 (+8613800138000),\n"
     "with the site's country for numbers typed without one; spaces, dashes,\n"
     "dots, brackets and full-width digits are fine.  A phone already signed up\n"
     "here, typed any way, is refused with its member id.  A referrer starting\n"
     "with a letter is a partner code, otherwise a member's phone.\n")},
    {"member update", s_cmd_member_update, "PHONE [--name NAME] [--household N] [--json]", /* i18n: not for people: command name and syntax */
     N_("Changes a member's name or household size.\n")},
    {"member list", s_cmd_member_list, "[--json]", N_("Lists the members signed up here.\n")}, /* i18n: not for people: command name and syntax */
    {"member show", s_cmd_member_show, "PHONE [--json]", /* i18n: not for people: command name and syntax */
     N_("Shows what this shop knows of a member: the phone (canonical, typed any\n"
     "way), the name, its sign-up here if any, and its referral credit as the\n"
     "network sent it at the last sync, with that time -- members of the whole\n"
     "network, for the phones this shop has seen (its sign-ups, its sales, the\n"
     "referrers it named), and when a sync last asked the network for members\n"
     "(refreshed; -q leaves it out).  A phone neither signed up here nor sent\n"
     "by the network is refused (exit 66).\n")},
    {"earnings", s_cmd_earnings, "[--json]",
     N_("Prints the site's partner's earnings as the network last sent them: the\n"
     "figures of 'dealernet-hq statement PARTNER' for the open period (opening,\n"
     "commission, override, referral, clawbacks, adjustments, payouts, balance)\n"
     "and the last payout, with the time the server computed them and when a\n"
     "sync last confirmed them (refreshed; -q leaves it out).  Before any sync\n"
     "brought them: exit 66, \"no earnings received yet\".\n")},
    {"catalog set", s_cmd_catalog_set, "SKU PRICE [--name NAME] [--category CATEGORY|-]", /* i18n: not for people: command name and syntax */
     N_("Sets the local price of a SKU, and its category with --category.  Without\n"
     "--category a SKU keeps the category it has; --category - clears it.  The\n"
     "category travels with each sale line: plans may pay it its own rates.\n"
     "SKU is a code (ASCII); --name is the item's display name in any script, at\n"
     "most 64 characters, which 'sale --line NAME:QTY' takes too; without --name\n"
     "a SKU keeps its name, --name '' removes it.\n")},
    {"catalog list", s_cmd_catalog_list, "[--json]", /* i18n: not for people: command name and syntax */
     N_("Lists the prices the till uses: HQ's catalogue as the last sync brought it\n"
     "(SOURCE hq: each SKU's row in force now, with its name, its price list --\n"
     "network or a partner's -- whether it is fixed, and from when), then the\n"
     "local catalog (SOURCE local; 'local, hq applies' where HQ's catalogue has\n"
     "the SKU, whose price the till takes).\n")},
    {"sales", s_cmd_sales,
     "[--today | --date DATE | --from DATE --to DATE] [--limit N] [--json | --all --json]",
     N_("Lists the sales recorded here, newest first, at most --limit (default\n"
        "100, up to 10000; a line says how many more), each with its receipt\n"
        "number and payment method, then the totals of every sale in the range:\n"
        "count, total, refunded so far, net, by channel and by payment method.\n"
        "--today, --date DATE and --from DATE --to DATE (both days included)\n"
        "choose days as the network counts them.  --json: one object {from, to,\n"
        "shown, more, totals, sales}.  --all --json: every sale in the range as\n"
        "a JSON array in the order recorded, streamed (the listing of before).\n")},
    {"receipt", s_cmd_receipt, "N | --last | --sale SALE_ID [--json]",
     N_("Shows one sale as a receipt reprinted: its id, receipt number, time,\n"
        "channel, payment, seller, member, total and refunded, and its lines.\n"
        "The sale is named by its receipt number (42 or 0042), as the last sale\n"
        "recorded here (--last), or by its id or the first 8 or more hex digits\n"
        "of it (--sale; a prefix two sales share is refused, naming them).\n")},
    {"close", s_cmd_close, "[--date DATE] [--json]",
     N_("The daily close (日结) of today or of DATE, to hand in: the day's sales\n"
        "(count, first and last receipt, gross), the refunds recorded that day\n"
        "(of any day's sale) and the net, by payment method and by channel, the\n"
        "members signed up, and the day's events not yet synced.  Changes\n"
        "nothing: run it again after a late sale and it counts that too.\n")},
    {"member find", s_cmd_member_find, "TEXT [--limit N] [--json]", /* i18n: not for people: command name and syntax */
     N_("Finds members signed up here by a part of the name (letters without\n"
        "case) or by the first digits of the phone, typed any way (\"138 0013\"\n"
        "finds +8613800138000; with + a whole international number), newest\n"
        "first, at most --limit (default 20, up to 200).\n")},
    {"status", s_cmd_status, "[--json]",
     N_("Shows the site, events recorded, events pending sync, the chain head,\n"
     "the last sync and HQ's unread notices (how many, the newest's first line).\n")},
    {"notices", s_cmd_notices, "[--all] [--json]",
     N_("Shows HQ's unread notices, oldest first, each with its id and when HQ\n"
     "sent it, and marks them read; --all shows the read ones too.  Notices\n"
     "arrive with 'sync' (which prints the first line of each new one).\n")},
    {"enroll", s_cmd_enroll,
     "[--bundle-file FILE | --server ENDPOINT --server-key Z85\n"
     "       [--token-file FILE | --token -]] [--timeout SEC] [--again]",
     N_("Enrolls this site with the central server, with the enrollment code that\n"
     "'dealernet-hq site add' or 'site token' printed (DN1:...): run it alone and paste the code\n"
     "when asked (it is not shown), or give the file that holds it.  Scripts may\n"
     "give --server, --server-key and the single-use token from --token-file\n"
     "FILE, from standard input (--token -) or from $DEALERNET_TOKEN.  A token\n"
     "or code on the command line is refused (exit 64): ps shows it to every\n"
     "user of this PC.  Creates the site's CURVE key (curve.key).  A site HQ\n"
     "moved with 'site token' continues its chain from the server's.  --again:\n"
     "enroll a folder enrolled before (a lost curve.key), which must hold the\n"
     "chain the server holds.\n")},
    {"sync", s_cmd_sync, "[--timeout SEC] [--reply-timeout MS] [--json]",
     N_("Pushes every pending event to the server and exits 0 when all are\n"
     "acknowledged, saying what this run sent and what the server holds.  A\n"
     "failure is one line naming its cause, and every event not acknowledged\n"
     "stays pending: exit 75 when some batches were acknowledged first (\"partly\n"
     "synced\"), when the server is down or stopped and --timeout (default\n"
     "30 s) ran out, or when its disk is full; 78 for a wrong port or server\n"
     "key; 77 not enrolled or revoked.  A reply not back within --reply-timeout\n"
     "(default 3000 ms) means reconnect and resend.\n")},
    {"recover", s_cmd_recover, "[--dry-run] [--timeout SEC] [--json]",
     N_("Rebuilds this PC's log from the server's copy of the site's chain (after\n"
     "agent.db was restored from an old copy, copied to a second PC, or on a\n"
     "new PC after 'dealernet-hq site token'): keeps the events the server\n"
     "holds, adds those this copy lacks, and re-records every event the server\n"
     "never received after the server's last one, pending for the next sync.\n"
     "One transaction; --dry-run says what it would do and changes nothing.\n"
     "Connects as sync does (the same exit codes); 66 when the server holds\n"
     "nothing of the site; 65, nothing changed, when an event here differs\n"
     "from the server's copy of it.\n")},
    {"doctor", s_cmd_doctor, "[--timeout SEC] [--json]",
     N_("Runs the checks a field visit needs, one by one, and prints each with ok,\n"
     "WARN, FAIL or skip and what to do: the folder and its files, agent.db and\n"
     "its chain, the enrollment, the endpoint, a TCP connection, the CURVE\n"
     "handshake (server down, wrong port and wrong key each named), the site's\n"
     "standing on the server (revoked?), the clock against the server's, the\n"
     "events pending.  Sends the server a Hello, never an event.  --timeout\n"
     "bounds each network step (default 5 s).  Exits 0 when no check failed (a\n"
     "clock off is a warning), else the code of the first failure: 69 server\n"
     "down, 78 wrong port or key, 77 not enrolled or revoked, 75 server disk\n"
     "full, 65 broken chain, 66 no agent.\n")},
    {"server set", s_cmd_server_set, "ENDPOINT --server-key Z85", /* i18n: not for people: command name and syntax */
     N_("Moves this enrolled site to a new server address and key, when\n"
     "headquarters moved the server: the next sync goes there.  The site's\n"
     "keys, events and chain stay; nothing is sent now.  Put the key in single\n"
     "quotes ('...'): Z85 keys hold $ ! > < & ( that a shell acts on.  A folder\n"
     "not enrolled is refused (exit 77): enroll it instead.\n")},
    {"run", s_cmd_run, "[--interval SEC]",
     N_("The sync daemon: syncs every --interval seconds (default 60) and soon\n"
     "after new events are recorded, backing off while the server is away.\n"
     "Stops on SIGTERM or SIGINT.\n")},
    {"import", s_cmd_import, "FILE.csv [--dry-run] [--json]",
     N_("Records the sales, refunds and members of a CSV file from another POS,\n"
     "all or nothing, through the checks of 'sale', 'refund', 'member add' and\n"
     "'member update'.  The first row names the columns: kind (sale, member,\n"
     "refund, member_update), ref (the POS's id), sku, quantity, unit_price,\n"
     "member_phone, channel, seller; phone, name, referrer, household;\n"
     "sale_ref, amount.  Consecutive sale (refund) rows with one ref are one\n"
     "sale (refund); a refund's sale_ref is its sale's ref or id.  A ref\n"
     "imported before is skipped, or refused if its content changed.  The\n"
     "first error names its line and column and exits 65.  At most 16 MiB and\n"
     "100000 rows.  --dry-run checks and records nothing.\n")},
    {"export", s_cmd_export, "--unsynced FILE.csv|- [--skip-unmovable]",
     N_("Writes every event the server has not acknowledged (sales, members,\n"
     "refunds, member updates), in the layout 'import' reads (each ref is the\n"
     "event's id), to a new FILE or to standard output: a replacement PC\n"
     "imports them.  A refund of a sale, or an update of a member, that the\n"
     "server already holds cannot move: export refuses (exit 65, nothing\n"
     "written) unless --skip-unmovable, which leaves each out with a warning.\n"
     "Changes nothing here.\n")},
    {"check", s_cmd_check, "[--json]",
     N_("Recomputes the hash chain and the seq sequence of every event.  Exits 65\n"
     "and names the first bad seq if anything is wrong.\n")},
    {"reminders", s_cmd_reminders, "[--days N] [--json]",
     N_("The call list: members whose next purchase of a SKU is due within N days\n"
     "(default 7, 0 to 3650), and those already overdue, most overdue first.\n"
     "Two or more purchases of a SKU: the median interval and median quantity\n"
     "of the member's own purchases (basis history).  One purchase: quantity x\n"
     "base days of its category / household size (basis household); without a\n"
     "household size, no estimate.  Fully refunded purchases do not count.\n"
     "\n"
     "Testing knob: DEALERNET_AGENT_TODAY=YYYY-MM-DD fixes today (default: the\n"
     "current date in the network's time zone).\n")},
};

#define DN_COMMANDS (sizeof s_commands / sizeof s_commands[0])

static void s_help(FILE *out)
{
    fprintf(out,
            _("usage: dealernet-agent [-d DIR] [-q] COMMAND [OPTIONS]\n\n"
            "Records sales, refunds and member sign-ups at a shop, offline or not.\n\n"
            "  -d DIR   data folder (default $DEALERNET_AGENT_DIR, else\n"
            "           /var/lib/dealernet-agent where it exists, else\n"
            "           ~/.local/share/dealernet-agent)\n"
            "  -q       quiet: errors and the essential result only (a recorded\n"
            "           event's id; nothing from init, catalog set, check, enroll,\n"
            "           sync on success; listings without their count line)\n"
            "  -h, --help, help [COMMAND]   this help, or one command's\n"
            "  -V, --version                print the version\n\ncommands:\n"));
    for (size_t i = 0; i < DN_COMMANDS; i++)
        fprintf(out, "  %-14s %s\n", s_commands[i].name, s_commands[i].usage);
    fprintf(out, _("\n'dealernet-agent COMMAND --help' tells more.\n"));
}


/*  The system install's folder, shared by the clerks and the sync daemon
    through the group dealernet-agent (README, "Deploying under systemd").
    Where it exists every user records into it, so what a clerk records is
    what the daemon syncs.  */
#define DN_AGENT_SYSTEM_DIR "/var/lib/dealernet-agent"

static const char *s_default_dir(char *buf, size_t size)
{
    const char *env = getenv("DEALERNET_AGENT_DIR");
    const char *home = getenv("HOME");
    struct stat st;
    if (env && *env)
        return env;
    if (stat(DN_AGENT_SYSTEM_DIR, &st) == 0 || !home || !*home)
        return DN_AGENT_SYSTEM_DIR;
    snprintf(buf, size, "%s/.local/share/dealernet-agent", home);
    return buf;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'},
                                          {"version", no_argument, NULL, 'V'},
                                          {NULL, 0, NULL, 0}};
    char dir_buf[4096], opt[64];
    const char *dir = NULL;
    int c;

    dn_i18n_init();

    dn_log_init("dealernet-agent", DN_LOG_INFO, 0);
    opterr = 0; /* one line on stderr: ours, not getopt's as well */
    while ((c = getopt_long(argc, argv, "+d:qhV", longs, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'q':
            s_quiet = 1;
            dn_log_init("dealernet-agent", DN_LOG_ERROR, 0);
            break;
        case 'h':
            s_help(stdout);
            return 0;
        case 'V':
            printf("dealernet-agent %s (protocol %d)\n", DN_VERSION, /* i18n: not for people: the version line scripts read */
                   DN_PROTOCOL_VERSION);
            return 0;
        default:
            dn_log_error(_("unknown option or missing value: '%s' (see: dealernet-agent "
                         "--help)"),
                         s_bad_option(argc, argv, opt, sizeof opt));
            return EX_USAGE;
        }
    }
    if (optind < argc && strcmp(argv[optind], "--help") == 0) {
        s_help(stdout);
        return 0;
    }
    /* `help` alone is --help; `help member add` is `member add --help` */
    switch (dn_cli_help_words(&argc, &argv, &optind)) {
    case 1:
        s_help(stdout);
        return 0;
    case -1:
        dn_log_error(_("help takes a command, like 'help member add' (see: dealernet-agent --help)"));
        return EX_USAGE;
    }
    if (optind < argc && strcmp(argv[optind], "--version") == 0) {
        printf("dealernet-agent %s (protocol %d)\n", DN_VERSION, DN_PROTOCOL_VERSION); /* i18n: not for people: the version line scripts read */
        return 0;
    }
    if (optind >= argc) {
        dn_log_error(_("no command given (see: dealernet-agent --help)"));
        return EX_USAGE;
    }
    if (!dir)
        dir = s_default_dir(dir_buf, sizeof dir_buf);

    /* A command is one word ("sale") or two ("member add").  */
    for (size_t i = 0; i < DN_COMMANDS; i++) {
        const char *name = s_commands[i].name;
        const char *space = strchr(name, ' ');
        int words = space ? 2 : 1;
        if (space) {
            size_t len = (size_t)(space - name);
            if (strncmp(argv[optind], name, len) || argv[optind][len] ||
                optind + 1 >= argc || strcmp(argv[optind + 1], space + 1))
                continue;
        } else if (strcmp(argv[optind], name)) {
            continue;
        }
        s_current = &s_commands[i];
        argv += optind + words - 1;
        argc -= optind + words - 1;
        optind = 0; /* restart getopt for the command's own options */
        return s_current->run(dir, argc, argv);
    }
    /* a group's first word alone: its subcommands, or what is missing */
    {
        dn_cli_table_t table = {s_commands, DN_COMMANDS, sizeof s_commands[0],
                                offsetof(s_command_t, name), offsetof(s_command_t, usage)};
        if (optind + 1 < argc && dn_cli_is_help(argv[optind + 1]) &&
            dn_cli_group_help(stdout, &table, "dealernet-agent", "dealernet-agent [-d DIR]", argv[optind]))
            return 0;
        if (dn_cli_group_error(&table, "dealernet-agent", argc, argv, optind))
            return EX_USAGE;
    }
    dn_log_error(_("unknown command '%s' (see: dealernet-agent --help)"), argv[optind]);
    return EX_USAGE;
}

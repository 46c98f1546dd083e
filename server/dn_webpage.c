/*  dn_webpage -- the dashboard's pages, as HTML and as CSV (see
    dn_webpage.h).

    A page is a few admin queries (dn_admin_query, the commands
    `dealernet-hq` sends) and their results laid out generically: an
    array of flat objects is a table whose headers are the keys as
    dn_render shows them (C_("column", key), else upper-cased), an object
    a definition list.  So a figure on the page is the figure the command
    line prints, byte for byte, and a new key in a command's result shows
    up on the page without a change here.  Each table is named; ?csv=NAME
    answers that table as dn_render's CSV instead of the page, which is
    what `dealernet-hq --csv` prints for the command.

    Safety: every text that comes from the database goes through s_esc
    (HTML) or s_json_block (a JSON data block, with <, > and & escaped so
    that no name can close the <script> element); the page holds no
    inline script or style, for the Content-Security-Policy
    (default-src 'self') forbids them; the charts are drawn by
    /static/dashboard.js from the JSON blocks.

    HTML is written with s_put and friends, never through printf: the
    markup is not a message, and the page's words go through _() where
    they are written.
*/
#include "dn_webpage.h"
#include "dn_admin.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_render.h"
#include "dn_time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define DN_WEBPAGE_DAYS       30 /* the overview's days, today included */
#define DN_WEBPAGE_CHART_BARS 20 /* partners on the team volume chart */
#define DN_WEBPAGE_WHY_SIZE   512
#define DN_WEBPAGE_MAX_ARGS   4
#define DN_WEBPAGE_SENTENCE   40 /* bytes: a longer text of words wraps */

/*  A page being written.  */
typedef struct {
    sqlite3 *db;
    const dn_webpage_request_t *req;
    FILE *out; /* the HTML, into html / html_len */
    char *html;
    size_t html_len;
    const char *csv;   /* the table asked for as CSV, or NULL */
    char *csv_body;    /* its CSV, once found */
    char csv_name[64]; /* the attachment's name */
    unsigned status;   /* 200, or the error page's */
    char why[DN_WEBPAGE_WHY_SIZE];
    const char *keep[DN_WEBPAGE_MAX_ARGS]; /* the page's own arguments, kept in
                                              its CSV links */
    size_t n_keep;
    int failed; /* out of memory */
} s_page_t;

/* -- writing ------------------------------------------------------------------ */

static void s_put(s_page_t *pg, const char *html)
{
    if (fputs(html, pg->out) == EOF)
        pg->failed = 1;
}

/*  text, HTML-escaped: fit for an element's content and a quoted
    attribute alike.  */
static void s_esc(s_page_t *pg, const char *text)
{
    for (const char *c = text; c && *c; c++) {
        switch (*c) {
        case '&':
            s_put(pg, "&amp;");
            break;
        case '<':
            s_put(pg, "&lt;");
            break;
        case '>':
            s_put(pg, "&gt;");
            break;
        case '"':
            s_put(pg, "&quot;");
            break;
        case '\'':
            s_put(pg, "&#39;");
            break;
        default:
            if (fputc(*c, pg->out) == EOF)
                pg->failed = 1;
        }
    }
}

/*  text as one query-string value (RFC 3986 unreserved kept), then
    HTML-escaped by the caller's s_put of plain ASCII.  */
static void s_url(s_page_t *pg, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)text; c && *c; c++) {
        char one[4] = {(char)*c, 0, 0, 0};
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
              (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' ||
              *c == '~')) {
            one[0] = '%';
            one[1] = hex[*c >> 4];
            one[2] = hex[*c & 15];
        }
        s_put(pg, one);
    }
}

/*  value as JSON inside <script type="application/json" id="id">: '<',
    '>' and '&' written as \u escapes (still the same JSON), so that no
    text of the database can end the element or open a comment.  */
static void s_json_block(s_page_t *pg, const char *id, const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) {
        pg->failed = 1;
        return;
    }
    s_put(pg, "<script type=\"application/json\" id=\"");
    s_esc(pg, id);
    s_put(pg, "\">");
    for (const char *c = text; *c; c++) {
        if (*c == '<')
            s_put(pg, "\\u003c");
        else if (*c == '>')
            s_put(pg, "\\u003e");
        else if (*c == '&')
            s_put(pg, "\\u0026");
        else if (fputc(*c, pg->out) == EOF)
            pg->failed = 1;
    }
    s_put(pg, "</script>\n");
    free(text);
}

static const char *s_arg(const s_page_t *pg, const char *name)
{
    const char *value = pg->req->arg ? pg->req->arg(pg->req->cls, name) : NULL;
    return value && *value ? value : NULL;
}

/* -- asking ------------------------------------------------------------------- */

/*  Runs query command with the (name, value) pairs of args (a NULL name
    ends them; a NULL value leaves its argument out).  Returns the result
    (caller decrefs), or NULL with the page's status and reason set: 404
    for what does not exist (exit 66), 400 for a bad argument (64, 65),
    500 otherwise -- the status HQ's command line would have exited with,
    said the web's way.  */
static json_t *s_query(s_page_t *pg, const char *command, const char *const *args)
{
    const char *names[DN_WEBPAGE_MAX_ARGS + 1], *values[DN_WEBPAGE_MAX_ARGS + 1];
    json_t *result = NULL;
    size_t n = 0;
    int rc;

    for (size_t i = 0; args && args[2 * i]; i++) {
        if (!args[2 * i + 1])
            continue;
        names[n] = args[2 * i];
        values[n++] = args[2 * i + 1];
    }
    rc = dn_admin_query(pg->db, pg->req->user, pg->req->now_ms, command, names, values, n,
                        &result, pg->why, sizeof pg->why);
    if (rc == 0)
        return result;
    pg->status = rc == EX_NOINPUT ? 404 : rc == EX_USAGE || rc == EX_DATAERR ? 400 : 500;
    return NULL;
}

/* -- tables ------------------------------------------------------------------- */

/*  A key's header, as dn_render's table shows it: its translation in
    context "column", else the key upper-cased.  */
static void s_header(s_page_t *pg, const char *key)
{
    const char *shown = dn_i18n_cpgettext("column", key);
    if (shown != key) {
        s_esc(pg, shown);
        return;
    }
    for (const char *c = key; *c; c++) {
        char one[2] = {(char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c), 0};
        s_esc(pg, one);
    }
}

static int s_is_minor(const char *key)
{
    size_t n = strlen(key), m = strlen(DN_RENDER_MINOR_SUFFIX);
    return n > m && strcmp(key + n - m, DN_RENDER_MINOR_SUFFIX) == 0;
}

/*  1 if text is a decimal amount or count as the commands write them
    (-?[0-9]+(.[0-9]+)?): its cell is right-aligned.  */
static int s_is_decimal(const char *text)
{
    const char *c = text;
    if (*c == '-')
        c++;
    if (!(*c >= '0' && *c <= '9'))
        return 0;
    while (*c >= '0' && *c <= '9')
        c++;
    if (*c == '.') {
        c++;
        if (!(*c >= '0' && *c <= '9'))
            return 0;
        while (*c >= '0' && *c <= '9')
            c++;
    }
    return *c == '\0';
}

/*  The link a cell of key leads to, written as an open <a>, or 0 when
    none: a partner to its statement (for the page's period), a sale to
    its drill-down.  */
static int s_cell_link(s_page_t *pg, const char *key, const char *text)
{
    const char *period = s_arg(pg, "period");
    if (strcmp(key, "partner") == 0) {
        s_put(pg, "<a href=\"/statement?partner=");
        s_url(pg, text);
        if (period) {
            s_put(pg, "&amp;period=");
            s_url(pg, period);
        }
        s_put(pg, "\">");
        return 1;
    }
    if (strcmp(key, "sale") == 0) {
        s_put(pg, "<a href=\"/sale?id=");
        s_url(pg, text);
        s_put(pg, "\">");
        return 1;
    }
    return 0;
}

/*  One cell's text, as dn_render's table shows it ("-" for null, yes /
    no, a closed set's word translated, nested values as compact JSON).  */
static void s_cell(s_page_t *pg, const char *key, const json_t *value)
{
    char number[32];
    char *nested;
    switch (value ? json_typeof(value) : JSON_NULL) {
    case JSON_NULL:
        s_put(pg, "-");
        break;
    case JSON_TRUE:
        s_esc(pg, C_("table", "yes"));
        break;
    case JSON_FALSE:
        s_esc(pg, C_("table", "no"));
        break;
    case JSON_INTEGER:
        snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(value));
        s_put(pg, number);
        break;
    case JSON_STRING: {
        const char *text = json_string_value(value);
        int link = s_cell_link(pg, key, text);
        s_esc(pg, dn_render_word(key, text));
        if (link)
            s_put(pg, "</a>");
        break;
    }
    default:
        nested = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!nested)
            pg->failed = 1;
        s_esc(pg, nested);
        free(nested);
    }
}

static int s_numeric(const json_t *value)
{
    return json_is_integer(value) || json_is_real(value) ||
           (json_is_string(value) && s_is_decimal(json_string_value(value)));
}

/*  1 if value is a sentence (a text of words over DN_WEBPAGE_SENTENCE
    bytes: an exception's detail, a reason, a resolve command): its cell
    wraps, so that the columns after it stay on the screen; codes, ids and
    dates never wrap.  */
static int s_sentence(const json_t *value)
{
    const char *text = json_string_value(value);
    return text && strlen(text) > DN_WEBPAGE_SENTENCE && strchr(text, ' ') != NULL;
}

/*  The link to this page's table name as CSV.  */
static void s_csv_link(s_page_t *pg, const char *name)
{
    s_put(pg, "<a class=\"csv\" download href=\"");
    s_esc(pg, pg->req->path);
    s_put(pg, "?");
    for (size_t i = 0; i < pg->n_keep; i++) {
        const char *value = s_arg(pg, pg->keep[i]);
        if (!value)
            continue;
        s_put(pg, pg->keep[i]);
        s_put(pg, "=");
        s_url(pg, value);
        s_put(pg, "&amp;");
    }
    s_put(pg, "csv=");
    s_put(pg, name);
    s_put(pg, "\">CSV</a>");
}

/*  Table name, under the heading title, of rows (an array of flat
    objects, as a command gave it): the columns of its first object
    without the _minor twins, as dn_render's table shows them; "(none)"
    when empty.  When ?csv=name, the table's CSV becomes the answer.  */
static void s_table(s_page_t *pg, const char *name, const char *title, const json_t *rows)
{
    const json_t *first = json_array_get(rows, 0), *row, *value;
    const char *key;
    size_t i;

    if (pg->csv && strcmp(pg->csv, name) == 0 && !pg->csv_body) {
        /* dealernet-hq --csv: dn_render of the command's array */
        if (!(pg->csv_body = dn_render_string(rows, DN_RENDER_CSV)))
            pg->failed = 1;
        snprintf(pg->csv_name, sizeof pg->csv_name, "%s", name);
    }
    s_put(pg, "<section class=\"table\" id=\"t-");
    s_put(pg, name);
    s_put(pg, "\"><h2>");
    s_esc(pg, title);
    s_put(pg, " ");
    s_csv_link(pg, name);
    s_put(pg, "</h2>\n");
    if (!json_is_object(first)) {
        s_put(pg, "<p class=\"none\">");
        s_esc(pg, _("(none)"));
        s_put(pg, "</p></section>\n");
        return;
    }
    s_put(pg, "<div class=\"scroll\"><table><thead><tr>");
    json_object_foreach((json_t *)first, key, value)
    {
        if (s_is_minor(key))
            continue;
        s_put(pg, s_numeric(value) ? "<th class=\"num\">" : "<th>");
        s_header(pg, key);
        s_put(pg, "</th>");
    }
    s_put(pg, "</tr></thead>\n<tbody>\n");
    json_array_foreach(rows, i, row)
    {
        s_put(pg, "<tr>");
        json_object_foreach((json_t *)first, key, value)
        {
            const json_t *cell = json_object_get(row, key);
            if (s_is_minor(key))
                continue;
            s_put(pg, s_numeric(cell)    ? "<td class=\"num\">"
                      : s_sentence(cell) ? "<td class=\"text\">"
                                         : "<td>");
            s_cell(pg, key, cell);
            s_put(pg, "</td>");
        }
        s_put(pg, "</tr>\n");
    }
    s_put(pg, "</tbody></table></div></section>\n");
}

/*  An object's scalar keys (and its nested objects' keys, flattened
    one level) as a definition list, headers as s_header writes them; its
    arrays are left to the caller.  */
static void s_fields(s_page_t *pg, const json_t *object)
{
    const char *key, *inner;
    json_t *value, *v;
    s_put(pg, "<dl class=\"fields\">\n");
    json_object_foreach((json_t *)object, key, value)
    {
        if (s_is_minor(key) || json_is_array(value))
            continue;
        if (json_is_object(value)) { /* totals by code: one line each */
            json_object_foreach(value, inner, v)
            {
                if (s_is_minor(inner))
                    continue;
                s_put(pg, "<dt>");
                s_header(pg, inner);
                s_put(pg, s_numeric(v) ? "</dt><dd class=\"num\">" : "</dt><dd>");
                s_cell(pg, inner, v);
                s_put(pg, "</dd>\n");
            }
            continue;
        }
        s_put(pg, "<dt>");
        s_header(pg, key);
        s_put(pg, s_numeric(value) ? "</dt><dd class=\"num\">" : "</dt><dd>");
        s_cell(pg, key, value);
        s_put(pg, "</dd>\n");
    }
    s_put(pg, "</dl>\n");
}

/* -- charts ------------------------------------------------------------------- */

/*  A chart's data for dashboard.js: {"canvas", "type", "title",
    "labels", "series": [{"label", "values" (decimal text, as the
    commands give them)}], "stacked"}, with its canvas.  */
static void s_chart(s_page_t *pg, const char *id, const char *type, const char *title,
                    json_t *labels, json_t *series)
{
    char canvas[64];
    json_t *chart;
    snprintf(canvas, sizeof canvas, "canvas-%s", id);
    chart = json_pack("{s:s, s:s, s:s, s:o, s:o}", "canvas", canvas, "type", type,
                      "title", title, "labels", labels, "series", series);
    if (!chart) {
        pg->failed = 1;
        return;
    }
    s_put(pg, "<figure class=\"chart\"><canvas id=\"");
    s_put(pg, canvas);
    s_put(pg, "\" role=\"img\" aria-label=\"");
    s_esc(pg, title);
    s_put(pg, "\"></canvas>");
    s_json_block(pg, id, chart);
    s_put(pg, "</figure>\n");
    json_decref(chart);
}

/*  The series of rows' key (a decimal text) per currency, over labels:
    one value per label, the row whose group (group_key) is that label,
    "0" when there is none.  */
static json_t *s_series(const json_t *rows, const char *group_key, const char *key,
                        const json_t *labels)
{
    json_t *series = json_array(), *row;
    size_t i;
    json_array_foreach(rows, i, row)
    {
        const char *currency = json_string_value(json_object_get(row, "currency"));
        const json_t *one = NULL;
        json_t *values, *label;
        size_t j, k;
        json_array_foreach(series, k, one)
        {
            if (strcmp(json_string_value(json_object_get(one, "label")),
                       currency ? currency : "") == 0)
                break;
        }
        if (k < json_array_size(series))
            continue; /* done already */
        if (!(values = json_array()))
            break;
        json_array_foreach(labels, j, label)
        {
            const json_t *r, *found = NULL;
            size_t m;
            json_array_foreach(rows, m, r)
            {
                const char *c = json_string_value(json_object_get(r, "currency"));
                if (json_equal(json_object_get(r, group_key), label) &&
                    strcmp(c ? c : "", currency ? currency : "") == 0)
                    found = json_object_get(r, key);
            }
            json_array_append_new(values, found ? json_incref((json_t *)found)
                                                : json_string("0"));
        }
        json_array_append_new(
            series,
            json_pack("{s:s, s:o}", "label", currency ? currency : "", "values", values));
    }
    return series;
}

/* -- pages -------------------------------------------------------------------- */

static void s_heading(s_page_t *pg, const char *title)
{
    s_put(pg, "<h1>");
    s_esc(pg, title);
    s_put(pg, "</h1>\n");
}

/*  /: the last DN_WEBPAGE_DAYS days' sales by day and by channel, this
    month's team volume by partner and KPIs.  */
static void s_overview(s_page_t *pg)
{
    char from[DN_DATE_SIZE], to[DN_DATE_SIZE], month_start[DN_DATE_SIZE],
        period[DN_PERIOD_SIZE];
    int64_t today = dn_time_day(pg->req->now_ms);
    json_t *days = NULL, *channels = NULL, *teams = NULL, *kpi = NULL, *labels, *sorted;
    char title[256];
    size_t i;

    dn_time_format_day(today - (DN_WEBPAGE_DAYS - 1), from);
    dn_time_format_day(today, to);
    dn_time_period_of(pg->req->now_ms, period);
    snprintf(month_start, sizeof month_start, "%s-01", period);

    if (!(days = s_query(
              pg, "report.sales",
              (const char *const[]){"by", "day", "from", from, "to", to, NULL})) ||
        !(channels = s_query(
              pg, "report.sales",
              (const char *const[]){"by", "channel", "from", from, "to", to, NULL})) ||
        !(teams = s_query(pg, "report.sales",
                          (const char *const[]){"by", "partner", "team", "1", "from",
                                                month_start, "to", to, NULL})) ||
        !(kpi = s_query(pg, "report.kpi", (const char *const[]){"period", period, NULL})))
        goto done;

    s_heading(pg, _("Overview"));
    snprintf(title, sizeof title, _("Sales by day, %s to %s"), from, to);
    labels = json_array();
    for (int64_t d = today - (DN_WEBPAGE_DAYS - 1); labels && d <= today; d++) {
        char day[DN_DATE_SIZE];
        dn_time_format_day(d, day);
        json_array_append_new(labels, json_string(day));
    }
    s_put(pg, "<div class=\"charts\">\n");
    if (labels)
        s_chart(pg, "chart-days", "bar", title, labels,
                s_series(days, "day", "total", labels));
    snprintf(title, sizeof title, _("Sales by channel, %s to %s"), from, to);
    labels = json_array();
    json_array_foreach(channels, i, sorted)
    {
        const char *ch = json_string_value(json_object_get(sorted, "channel"));
        json_t *word = json_string(dn_render_word("channel", ch ? ch : "-"));
        size_t k;
        json_t *seen;
        json_array_foreach(labels, k, seen)
        {
            if (json_equal(seen, word))
                break;
        }
        if (labels && k == json_array_size(labels))
            json_array_append(labels, word);
        json_decref(word);
    }
    if (labels) {
        /* the chart's labels are the channels' words; its values follow
           the rows' order, one series per currency */
        json_t *words = json_deep_copy(channels);
        json_array_foreach(words, i, sorted)
        {
            const char *ch = json_string_value(json_object_get(sorted, "channel"));
            json_object_set_new(sorted, "channel",
                                json_string(dn_render_word("channel", ch ? ch : "-")));
        }
        s_chart(pg, "chart-channels", "doughnut", title, labels,
                s_series(words, "channel", "total", labels));
        json_decref(words);
    }
    /* the chart: the partners of the largest team volume; the table: all */
    snprintf(title, sizeof title, _("Team volume by partner, %s to %s (largest %d)"),
             month_start, to, DN_WEBPAGE_CHART_BARS);
    sorted = json_array();
    labels = json_array();
    for (i = 0; i < json_array_size(teams); i++) {
        json_t *row = json_array_get(teams, i);
        size_t k = 0;
        int64_t net = json_integer_value(json_object_get(row, "total_minor"));
        while (sorted && k < json_array_size(sorted) &&
               json_integer_value(
                   json_object_get(json_array_get(sorted, k), "total_minor")) >= net)
            k++;
        if (sorted)
            json_array_insert(sorted, k, row);
    }
    while (json_array_size(sorted) > DN_WEBPAGE_CHART_BARS)
        json_array_remove(sorted, DN_WEBPAGE_CHART_BARS);
    {
        json_t *row;
        json_array_foreach(sorted, i, row)
        {
            json_t *code = json_object_get(row, "partner");
            size_t k;
            json_t *seen;
            json_array_foreach(labels, k, seen)
            {
                if (json_equal(seen, code))
                    break;
            }
            if (labels && k == json_array_size(labels))
                json_array_append(labels, code);
        }
    }
    if (labels && sorted)
        s_chart(pg, "chart-teams", "bar", title, labels,
                s_series(sorted, "partner", "total", labels));
    else
        json_decref(labels);
    json_decref(sorted);
    s_put(pg, "</div>\n");

    snprintf(title, sizeof title, _("Sales by day, %s to %s"), from, to);
    s_table(pg, "days", title, days);
    snprintf(title, sizeof title, _("Sales by channel, %s to %s"), from, to);
    s_table(pg, "channels", title, channels);
    snprintf(title, sizeof title, _("Team volume by partner, %s to %s"), month_start, to);
    s_table(pg, "teams", title, teams);
    snprintf(title, sizeof title, _("Connection KPIs, %s"), period);
    s_table(pg, "kpi", title, kpi);
done:
    json_decref(days);
    json_decref(channels);
    json_decref(teams);
    json_decref(kpi);
}

/*  /partners?period=: the tree with every partner's statement figures.  */
static void s_partners(s_page_t *pg)
{
    const char *period = s_arg(pg, "period");
    char p[DN_PERIOD_SIZE], title[256];
    json_t *rows;

    pg->keep[pg->n_keep++] = "period";
    if (!(rows = s_query(pg, "report.earnings",
                         (const char *const[]){"period", period, NULL})))
        return;
    if (period)
        snprintf(p, sizeof p, "%s", period);
    else
        dn_time_period_of(pg->req->now_ms, p);
    s_heading(pg, _("Partners"));
    snprintf(title, sizeof title, _("The partner tree and each partner's account, %s"),
             p);
    s_table(pg, "earnings", title, rows);
    json_decref(rows);
}

/*  /sites: sync health, then the registry's view (clock skew).  */
static void s_sites(s_page_t *pg)
{
    json_t *health = NULL, *list = NULL;
    if ((health = s_query(pg, "report.sites", NULL)) != NULL &&
        (list = s_query(pg, "site.list", NULL)) != NULL) {
        s_heading(pg, _("Sites"));
        s_table(pg, "sites", _("Sync health: silent sites first"), health);
        s_table(pg, "site_list", _("Sites: applied seq, clock skew (ms), pending"), list);
    }
    json_decref(health);
    json_decref(list);
}

/*  /exceptions?all=1: the exceptions queue.  */
static void s_exceptions(s_page_t *pg)
{
    const char *all = s_arg(pg, "all");
    json_t *rows;
    pg->keep[pg->n_keep++] = "all";
    if (!(rows = s_query(pg, "exception.list", (const char *const[]){"all", all, NULL})))
        return;
    s_heading(pg, _("Exceptions"));
    s_put(pg, "<p><a href=\"/exceptions?all=1\">");
    s_esc(pg, _("Show the resolved ones too"));
    s_put(pg, "</a></p>\n");
    s_table(pg, "exceptions", all ? _("All exceptions") : _("Open exceptions"), rows);
    json_decref(rows);
}

/*  /statement?partner=P&period=YYYY-MM: as `dealernet-hq statement`.  */
static void s_statement(s_page_t *pg)
{
    const char *partner = s_arg(pg, "partner"), *period = s_arg(pg, "period");
    char title[256];
    json_t *st;

    pg->keep[pg->n_keep++] = "partner";
    pg->keep[pg->n_keep++] = "period";
    if (!partner) {
        pg->status = 400;
        snprintf(
            pg->why, sizeof pg->why, "%s",
            _("a statement needs a partner: /statement?partner=CODE&period=YYYY-MM"));
        return;
    }
    if (!(st =
              s_query(pg, "statement",
                      (const char *const[]){"partner", partner, "period", period, NULL})))
        return;
    snprintf(title, sizeof title, _("Statement of %s, %s"), partner,
             json_string_value(json_object_get(st, "period")));
    s_heading(pg, title);
    s_fields(pg, st);
    s_table(pg, "transfers", _("Transfers"), json_object_get(st, "transfers"));
    json_decref(st);
}

/*  /sale?id=SALE or ?site=S&receipt=N: the drill-down, laid out whatever
    keys sale.show gives: its facts as a list, each array as a table.  */
static void s_sale(s_page_t *pg)
{
    const char *id = s_arg(pg, "id"), *site = s_arg(pg, "site"),
               *receipt = s_arg(pg, "receipt");
    const char *key;
    json_t *sale, *value;
    char title[256];

    pg->keep[pg->n_keep++] = "id";
    pg->keep[pg->n_keep++] = "site";
    pg->keep[pg->n_keep++] = "receipt";
    if (!id == !(site && receipt)) {
        pg->status = 400;
        snprintf(pg->why, sizeof pg->why, "%s",
                 _("a sale is found by its id (/sale?id=SALE) or by its site and receipt "
                   "number (/sale?site=S&receipt=N)"));
        return;
    }
    if (!(sale = s_query(
              pg, "sale.show",
              (const char *const[]){"sale", id, "site", site, "receipt", receipt, NULL})))
        return;
    if (!id)
        id = json_string_value(json_object_get(sale, "sale"));
    snprintf(title, sizeof title, _("Sale %s"), id ? id : "-");
    s_heading(pg, title);
    s_fields(pg, sale);
    json_object_foreach(sale, key, value)
    {
        if (json_is_array(value))
            s_table(pg, key, dn_i18n_cpgettext("column", key), value);
    }
    json_decref(sale);
}

typedef struct {
    const char *path;
    const char *title; /* N_(): in the navigation */
    void (*render)(s_page_t *pg);
    int nav; /* 1: a link in the navigation */
} s_route_t;

static const s_route_t s_routes[] = {
    {"/", N_("Overview"), s_overview, 1},
    {"/partners", N_("Partners"), s_partners, 1},
    {"/sites", N_("Sites"), s_sites, 1},
    {"/exceptions", N_("Exceptions"), s_exceptions, 1},
    {"/statement", N_("Statement"), s_statement, 0},
    {"/sale", N_("Sale"), s_sale, 0},
};

#define DN_WEBPAGE_ROUTES (sizeof s_routes / sizeof s_routes[0])

/*  The page's head and navigation: links, the sale search, the statement
    form (GET forms), the user and the logout form (POST, with the
    session's CSRF token).  */
static void s_begin(s_page_t *pg, const char *title)
{
    /* i18n: the page's language, as an HTML lang attribute (BCP 47) */
    s_put(pg, "<!DOCTYPE html>\n<html lang=\"");
    s_esc(pg, C_("html", "en"));
    s_put(pg, "\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
              "<title>");
    s_esc(pg, title);
    s_put(pg, " - dealernet HQ</title>"
              "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">"
              "<link rel=\"stylesheet\" href=\"/static/style.css\">"
              "<script src=\"/static/vendor/chart.umd.min.js\" defer></script>"
              "<script src=\"/static/dashboard.js\" defer></script>"
              "</head>\n<body>\n<header><nav>");
    for (size_t i = 0; i < DN_WEBPAGE_ROUTES; i++) {
        if (!s_routes[i].nav)
            continue;
        s_put(pg, "<a href=\"");
        s_put(pg, s_routes[i].path);
        s_put(pg, strcmp(s_routes[i].path, pg->req->path) == 0
                      ? "\" aria-current=\"page\">"
                      : "\">");
        s_esc(pg, _(s_routes[i].title));
        s_put(pg, "</a>");
    }
    s_put(pg, "</nav>\n<form class=\"search\" method=\"get\" action=\"/sale\">"
              "<input name=\"id\" size=\"20\" placeholder=\"");
    s_esc(pg, _("sale id"));
    s_put(pg, "\"> <input name=\"site\" size=\"8\" placeholder=\"");
    s_esc(pg, _("site"));
    s_put(pg, "\"> <input name=\"receipt\" size=\"6\" placeholder=\"");
    s_esc(pg, _("receipt"));
    s_put(pg, "\"> <button type=\"submit\">");
    s_esc(pg, _("Find the sale"));
    s_put(pg, "</button></form>\n<form class=\"search\" method=\"get\" "
              "action=\"/statement\"><input name=\"partner\" size=\"10\" required "
              "placeholder=\"");
    s_esc(pg, _("partner"));
    s_put(pg, "\"> <input name=\"period\" size=\"7\" pattern=\"[0-9]{4}-[0-9]{2}\" "
              "placeholder=\"YYYY-MM\"> <button type=\"submit\">");
    s_esc(pg, _("Statement"));
    s_put(pg, "</button></form>\n");
    if (pg->req->user) {
        s_put(pg, "<form class=\"logout\" method=\"post\" action=\"/logout\">"
                  "<span class=\"user\">");
        s_esc(pg, pg->req->user);
        s_put(pg, "</span> <input type=\"hidden\" name=\"csrf\" value=\"");
        s_esc(pg, pg->req->csrf);
        s_put(pg, "\"><button type=\"submit\">");
        s_esc(pg, _("Log out"));
        s_put(pg, "</button></form>\n");
    }
    s_put(pg, "</header>\n<main>\n");
}

static void s_end(s_page_t *pg)
{
    char when[DN_TIME_TEXT_SIZE];
    dn_time_format(pg->req->now_ms, when);
    s_put(pg, "</main>\n<footer>");
    s_esc(pg, _("Figures as of"));
    s_put(pg, " ");
    s_esc(pg, when);
    s_put(pg, "</footer>\n</body></html>\n");
}

/*  The error page's heading for status.  */
static const char *s_status_title(unsigned status)
{
    switch (status) {
    case 400:
        return _("Bad request");
    case 404:
        return _("Not found");
    default:
        return _("The query failed");
    }
}

int dn_webpage_render(sqlite3 *db, const dn_webpage_request_t *req, dn_webpage_t *out)
{
    s_page_t pg = {.db = db, .req = req, .status = 200};
    const s_route_t *route = NULL;
    char *error_page = NULL;
    size_t error_len = 0;
    int rc = 0;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < DN_WEBPAGE_ROUTES && !route; i++)
        if (req->path && strcmp(req->path, s_routes[i].path) == 0)
            route = &s_routes[i];
    if (!(pg.out = open_memstream(&pg.html, &pg.html_len)))
        return DN_ENOMEM;
    pg.csv = s_arg(&pg, "csv");
    if (!route) {
        pg.status = 404;
        snprintf(pg.why, sizeof pg.why, _("there is no page %.200s"),
                 req->path ? req->path : "");
    } else {
        s_begin(&pg, _(route->title));
        route->render(&pg);
        s_end(&pg);
        if (pg.status == 200 && pg.csv && !pg.csv_body) {
            pg.status = 400;
            snprintf(pg.why, sizeof pg.why, _("this page has no table %.60s"), pg.csv);
        }
    }
    if (fclose(pg.out) != 0)
        pg.failed = 1;
    pg.out = NULL;
    if (pg.failed) {
        rc = DN_ENOMEM;
        goto done;
    }

    if (pg.status != 200) { /* the page says why, in place of its figures */
        const char *title = s_status_title(pg.status);
        free(pg.csv_body);
        pg.csv_body = NULL;
        if (!(pg.out = open_memstream(&error_page, &error_len))) {
            rc = DN_ENOMEM;
            goto done;
        }
        s_begin(&pg, title);
        s_heading(&pg, title);
        s_put(&pg, "<p class=\"why\">");
        s_esc(&pg, pg.why);
        s_put(&pg, "</p>\n");
        s_end(&pg);
        if (fclose(pg.out) != 0 || pg.failed) {
            rc = DN_ENOMEM;
            goto done;
        }
        free(pg.html);
        pg.html = error_page;
        pg.html_len = error_len;
        error_page = NULL;
    }
    out->status = pg.status;
    if (pg.csv_body) {
        out->type = "text/csv; charset=utf-8";
        out->body = pg.csv_body;
        out->len = strlen(pg.csv_body);
        pg.csv_body = NULL;
        /* the table's name and the page's arguments: codes, periods, ids */
        {
            size_t n =
                (size_t)snprintf(out->filename, sizeof out->filename, "%s", pg.csv_name);
            for (size_t i = 0; i < pg.n_keep && n < sizeof out->filename; i++) {
                const char *v = s_arg(&pg, pg.keep[i]);
                if (v)
                    n += (size_t)snprintf(out->filename + n, sizeof out->filename - n,
                                          "-%s", v);
            }
            for (char *c = out->filename; *c; c++)
                if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
                    *c = '_';
            if (strlen(out->filename) + 4 < sizeof out->filename)
                strcat(out->filename, ".csv");
        }
    } else {
        out->type = "text/html; charset=utf-8";
        out->body = pg.html;
        out->len = pg.html_len;
        pg.html = NULL;
    }
done:
    free(pg.html);
    free(pg.csv_body);
    free(error_page);
    return rc;
}

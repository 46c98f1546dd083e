/*  dn_render -- JSON results as tables, CSV or JSON (see dn_render.h).

    A table is built in two passes: every cell is turned into its text first,
    so the widths are known before the first line is written.  Widths are
    terminal columns, not bytes: partner and member names are often Chinese,
    and a CJK character takes two columns on a terminal.
*/
#include "dn_render.h"
#include "dn_error.h"
#include "dn_i18n.h"

#include <assert.h>
#include <ctype.h>
#include <unictype.h>
#include <unigbrk.h>
#include <unistr.h>
#include <uniwidth.h>
#include <stdlib.h>
#include <string.h>

/* -- cells ----------------------------------------------------------------- */

/*  The encoding uc_width is told the text is in.  It decides the East
    Asian Ambiguous characters (UAX #11: Greek and Cyrillic letters, "…",
    "·", "×", "①", the box and block drawing of the QR code): one column in
    "UTF-8", two in a legacy CJK encoding (GBK, BIG5, EUC-JP).  Our output
    is always UTF-8, and the terminals a shop or HQ uses with it (Windows
    Terminal, the console in UTF-8, GNOME's and macOS's terminals, xterm)
    draw them one column wide unless told otherwise, so one is right.  */
#define S_WIDTH_ENCODING "UTF-8"

#define S_ZWJ  0x200D /* zero width joiner */
#define S_VS16 0xFE0F /* variation selector 16: emoji presentation */

/*  The mark that ends a cut cell, U+2026 (one column, see above).  */
#define S_CUT_MARK       "\xe2\x80\xa6"
#define S_CUT_MARK_WIDTH 1

/*  The columns of the grapheme cluster [p, end) (one "character" a reader
    sees), and in *pictographic whether it is an emoji that ends in a zero
    width joiner, to be joined with the next one.  after_zwj: the cluster
    before it was such an emoji.  Unicode's rules (UAX #29 and #11, as
    terminals that draw emoji apply them):
    - the cluster is as wide as its first code point; the marks, joiners,
      skin tones and selectors that follow it add nothing (é written e +
      U+0301 is one column, like the composed U+00E9);
    - a variation selector 16 makes it an emoji, two columns (❤ U+2764
      alone is one, ❤️ two);
    - an emoji after an emoji ending in ZWJ is part of one picture (👨‍👩‍👧,
      a family) and adds nothing: libunistring 1.0 breaks clusters by
      Unicode 9 without rule GB11, so the join is made here;
    - a flag is two regional indicators of one column each: two.
    A control character counts zero: a table shows it as a space first.  */
static size_t s_cluster_width(const uint8_t *p, const uint8_t *end, int after_zwj,
                              int *pictographic)
{
    ucs4_t first, c = 0;
    int len = u8_mbtouc(&first, p, (size_t)(end - p)), w, vs16 = 0;
    const uint8_t *q;

    for (q = p; q < end; q += len) {
        len = u8_mbtouc(&c, q, (size_t)(end - q));
        vs16 |= c == S_VS16;
    }
    *pictographic = c == S_ZWJ && uc_is_property_extended_pictographic(first);
    if (after_zwj && uc_is_property_extended_pictographic(first))
        return 0;
    w = uc_width(first, S_WIDTH_ENCODING);
    if (w < 0)
        return 0;
    return vs16 && w == 1 ? 2 : (size_t)w;
}

size_t dn_render_width(const char *text)
{
    const uint8_t *p = (const uint8_t *)text, *end = p + strlen(text), *next;
    size_t width = 0;
    int joined = 0;

    for (; p < end; p = next) {
        next = u8_grapheme_next(p, end);
        width += s_cluster_width(p, next, joined, &joined);
    }
    return width;
}

char *dn_render_cut(const char *text, size_t columns)
{
    const uint8_t *p = (const uint8_t *)text, *end = p + strlen(text), *next;
    size_t width = 0, w;
    int joined = 0;
    char *cut;

    assert(columns >= S_CUT_MARK_WIDTH);
    if (dn_render_width(text) <= columns)
        return strdup(text);
    /* whole clusters up to columns less the mark: never half a character,
       nor an accent without its letter; the joined parts of an emoji add
       nothing, so a picture is kept whole or left out whole */
    for (; p < end; p = next) {
        next = u8_grapheme_next(p, end);
        w = s_cluster_width(p, next, joined, &joined);
        if (width + w + S_CUT_MARK_WIDTH > columns)
            break;
        width += w;
    }
    if (!(cut = malloc((size_t)(p - (const uint8_t *)text) + sizeof S_CUT_MARK)))
        return NULL;
    memcpy(cut, text, (size_t)(p - (const uint8_t *)text));
    memcpy(cut + (p - (const uint8_t *)text), S_CUT_MARK, sizeof S_CUT_MARK);
    return cut;
}

/*  Returns a new string: the text of value in a cell (table: csv == 0) or
    a CSV field (before quoting).  value may be NULL (a missing key).  */
static char *s_cell(const json_t *value, int csv)
{
    char number[32];
    char *text;

    switch (value ? json_typeof(value) : JSON_NULL) {
    case JSON_NULL:
        return strdup(csv ? "" : "-");
    case JSON_TRUE:
        return strdup(csv ? "true" : C_("table", "yes"));
    case JSON_FALSE:
        return strdup(csv ? "false" : C_("table", "no"));
    case JSON_INTEGER:
        snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(value));
        return strdup(number);
    case JSON_STRING:
        text = strdup(json_string_value(value));
        break;
    default: /* reals, nested arrays and objects */
        text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        break;
    }
    if (text && !csv) /* a newline or tab inside a cell would break the table */
        for (char *p = text; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7F)
                *p = ' ';
    return text;
}

static void s_pad(FILE *out, size_t n)
{
    while (n--)
        fputc(' ', out);
}

/* -- fields ---------------------------------------------------------------- */

/*  dn_render_fields without the flush (see dn_render.h).  */
static int s_fields(FILE *out, const dn_render_field_t *fields, size_t n, size_t indent,
                    size_t gap)
{
    size_t widest = 0, i;

    for (i = 0; i < n; i++) {
        size_t w = dn_render_width(fields[i].label);
        if (w > widest)
            widest = w;
    }
    for (i = 0; i < n; i++) {
        const char *value = fields[i].value ? fields[i].value : "";
        size_t len;
        s_pad(out, indent);
        fputs(fields[i].label, out);
        /* each line of the value starts at the value column; no line ends
           in spaces */
        for (int first = 1; first || *value; first = 0) {
            len = strcspn(value, "\n");
            if (len > 0) {
                s_pad(out, first ? widest - dn_render_width(fields[i].label) + gap
                                 : indent + widest + gap);
                fwrite(value, 1, len, out);
            }
            fputc('\n', out);
            value += len + (value[len] == '\n');
        }
    }
    return 0;
}

/* -- table ----------------------------------------------------------------- */

typedef struct {
    size_t rows, cols; /* rows counts the header */
    char **cells;      /* rows * cols, row-major */
    size_t *width;     /* per column */
    int *numeric;      /* per column: right-aligned */
} s_table_t;

static void s_table_free(s_table_t *t)
{
    if (t->cells)
        for (size_t i = 0; i < t->rows * t->cols; i++)
            free(t->cells[i]);
    free(t->cells);
    free(t->width);
    free(t->numeric);
}

/*  The table of the columns cols[0..n) of array's objects (the header line
    alone when array is empty).  */
/*  The closed sets of words a table shows translated (dn_render_word):
    the values a script reads stay the words (JSON, CSV), a clerk reads
    现金 and 微信支付.  */
static const struct {
    const char *key;
    const char *word;
} s_words[] = {
    {"channel", NC_("channel", "store")},    {"channel", NC_("channel", "online")},
    {"channel", NC_("channel", "community")}, {"payment", NC_("payment", "cash")},
    {"payment", NC_("payment", "wechat")},    {"payment", NC_("payment", "alipay")},
    {"payment", NC_("payment", "card")},      {"payment", NC_("payment", "other")},
    {"payment", NC_("payment", "unknown")},
};

const char *dn_render_word(const char *key, const char *text)
{
    for (size_t i = 0; key && text && i < sizeof s_words / sizeof s_words[0]; i++)
        if (strcmp(s_words[i].key, key) == 0 && strcmp(s_words[i].word, text) == 0)
            return dn_i18n_cpgettext(key, text);
    return text;
}

static int s_table(FILE *out, const json_t *array, const dn_render_column_t *cols,
                   size_t n)
{
    s_table_t t = {0};
    size_t col;
    int rc = 0;

    t.cols = n;
    t.rows = json_array_size(array) + 1;
    t.cells = calloc(t.rows * t.cols, sizeof *t.cells);
    t.width = calloc(t.cols, sizeof *t.width);
    t.numeric = calloc(t.cols, sizeof *t.numeric);
    if (!t.cells || !t.width || !t.numeric) {
        s_table_free(&t);
        return DN_ENOMEM;
    }
    for (col = 0; col < t.cols; col++) {
        /* a key's header: its translation in context "column" (see
           dn_render.h), else the key upper-cased */
        const char *given = cols[col].header, *key = cols[col].key;
        const char *shown = given ? given : dn_i18n_cpgettext("column", key);
        char *head = strdup(shown);
        if (!head) {
            rc = DN_ENOMEM;
            break;
        }
        if (!given && shown == key)
            for (char *p = head; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        t.cells[col] = head;
        t.numeric[col] = -1; /* unknown until a value is seen */
    }
    for (col = 0; rc == 0 && col < t.cols; col++) {
        const char *key = cols[col].key;
        for (size_t r = 1; rc == 0 && r < t.rows; r++) {
            const json_t *row = json_array_get(array, r - 1);
            const json_t *v = json_is_object(row) ? json_object_get(row, key) : NULL;
            const char *word = json_is_string(v) ? dn_render_word(key, json_string_value(v))
                                                 : NULL;
            char *cell = word && word != json_string_value(v) ? strdup(word) : s_cell(v, 0);
            char *cut;
            if (cell && dn_render_width(cell) > DN_RENDER_MAX_CELL_COLUMNS) {
                cut = dn_render_cut(cell, DN_RENDER_MAX_CELL_COLUMNS);
                free(cell);
                cell = cut;
            }
            if (!cell) {
                rc = DN_ENOMEM;
                break;
            }
            t.cells[r * t.cols + col] = cell;
            if (json_is_number(v))
                t.numeric[col] = t.numeric[col] != 0;
            else if (v && !json_is_null(v))
                t.numeric[col] = 0;
        }
    }
    for (col = 0; rc == 0 && col < t.cols; col++)
        for (size_t r = 0; r < t.rows; r++) {
            size_t w = dn_render_width(t.cells[r * t.cols + col]);
            if (w > t.width[col])
                t.width[col] = w;
        }
    /* Padding is held back until something follows it, so no line ends in
       spaces.  */
    for (size_t r = 0; rc == 0 && r < t.rows; r++) {
        size_t pending = 0;
        for (col = 0; col < t.cols; col++) {
            const char *cell = t.cells[r * t.cols + col];
            size_t gap = t.width[col] - dn_render_width(cell);
            if (col > 0)
                pending += 2;
            if (t.numeric[col] == 1)
                pending += gap;
            if (*cell) {
                s_pad(out, pending);
                fputs(cell, out);
                pending = 0;
            }
            if (t.numeric[col] != 1)
                pending += gap;
        }
        fputc('\n', out);
    }
    s_table_free(&t);
    return rc;
}

static int s_table_array(FILE *out, const json_t *array)
{
    const json_t *first = json_array_get(array, 0);
    dn_render_column_t *cols;
    const char *key;
    json_t *value;
    size_t col = 0;
    int rc;

    if (json_array_size(array) == 0) {
        fputs(_("(none)\n"), out);
        return 0;
    }
    if (!json_is_object(first) || json_object_size(first) == 0) {
        /* not a listing of objects: one cell per line */
        for (size_t i = 0; i < json_array_size(array); i++) {
            char *cell = s_cell(json_array_get(array, i), 0);
            if (!cell)
                return DN_ENOMEM;
            fprintf(out, "%s\n", cell);
            free(cell);
        }
        return 0;
    }
    /* the columns: the first object's keys, in their order, upper-cased */
    if (!(cols = calloc(json_object_size(first), sizeof *cols)))
        return DN_ENOMEM;
    json_object_foreach((json_t *)first, key, value)
    {
        cols[col].key = key;
        col++;
    }
    rc = s_table(out, array, cols, col);
    free(cols);
    return rc;
}

static int s_table_object(FILE *out, const json_t *object)
{
    size_t n = json_object_size(object), i = 0;
    dn_render_field_t *fields = calloc(n ? n : 1, sizeof *fields);
    char **cells = calloc(n ? n : 1, sizeof *cells);
    const char *key;
    json_t *value;
    int rc = fields && cells ? 0 : DN_ENOMEM;

    /* each key as its translation in context "column", else as it is */
    json_object_foreach((json_t *)object, key, value)
    {
        if (rc)
            break;
        if (!(cells[i] = s_cell(value, 0)))
            rc = DN_ENOMEM;
        else
            fields[i] = (dn_render_field_t){dn_i18n_cpgettext("column", key), cells[i]};
        i++;
    }
    if (rc == 0)
        rc = s_fields(out, fields, n, 0, 2);
    for (i = 0; cells && i < n; i++)
        free(cells[i]);
    free(cells);
    free(fields);
    return rc;
}

/* -- CSV ------------------------------------------------------------------- */

/*  1 if a spreadsheet opening the CSV would take text as a formula, the one
    rule every CSV field goes through (OWASP, "CSV Injection").  Excel and
    LibreOffice evaluate a cell that begins with '=', '+', '-' or '@', and
    some begin parsing after a leading TAB or CR: a member named
    =HYPERLINK("http://x","y") or +cmd|' /C calc'!A0 would become a live
    link or command on HQ's desk.  Such a field is written quoted with a
    leading single quote, which both show as text (a phone +8613800138000
    reads +8613800138000, kept as text rather than the number
    8.6138E+12).  A plain decimal number, -?[0-9]+(.[0-9]+)? -- an amount
    such as -12.50, a count, minor units such as -1250 -- is left as it is,
    so that accountants can still sum the columns: it can only ever be
    that number, never a formula.  */
static int s_csv_formula(const char *text)
{
    const char *p = text;
    if (*text == '\0' || !strchr("=+-@\t\r", *text))
        return 0;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return 1;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        if (!isdigit((unsigned char)p[1]))
            return 1;
        for (p++; isdigit((unsigned char)*p);)
            p++;
    }
    return *p != '\0';
}

static int s_csv_field(FILE *out, const json_t *value, int first)
{
    char *text = s_cell(value, 1);
    int formula;
    if (!text)
        return DN_ENOMEM;
    if (!first)
        fputc(',', out);
    formula = s_csv_formula(text);
    if (formula || strpbrk(text, ",\"\r\n")) {
        fputc('"', out);
        if (formula)
            fputc('\'', out);
        for (const char *p = text; *p; p++) {
            if (*p == '"')
                fputc('"', out);
            fputc(*p, out);
        }
        fputc('"', out);
    } else {
        fputs(text, out);
    }
    free(text);
    return 0;
}

/*  Writes the header row of head's keys, then one row per element of rows
    (objects; their values in head's key order).  */
static int s_csv_rows(FILE *out, const json_t *head, const json_t *rows)
{
    const char *key;
    json_t *value;
    int first = 1, rc = 0;

    json_object_foreach((json_t *)head, key, value)
    {
        json_t *name = json_string(key);
        rc = name ? s_csv_field(out, name, first) : DN_ENOMEM;
        json_decref(name);
        if (rc)
            return rc;
        first = 0;
    }
    fputs("\r\n", out);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        first = 1;
        json_object_foreach((json_t *)head, key, value)
        {
            rc = s_csv_field(out, json_is_object(row) ? json_object_get(row, key) : NULL,
                             first);
            if (rc)
                return rc;
            first = 0;
        }
        fputs("\r\n", out);
    }
    return 0;
}

static int s_csv(FILE *out, const json_t *value)
{
    if (json_is_array(value)) {
        const json_t *first = json_array_get(value, 0);
        int rc = 0;
        if (json_array_size(value) == 0)
            return 0;
        if (json_is_object(first))
            return s_csv_rows(out, first, value);
        for (size_t i = 0; i < json_array_size(value) && rc == 0; i++) {
            rc = s_csv_field(out, json_array_get(value, i), 1);
            fputs("\r\n", out);
        }
        return rc;
    }
    if (json_is_object(value)) {
        json_t *rows = json_array();
        int rc = rows && json_array_append((json_t *)rows, (json_t *)value) == 0
                     ? s_csv_rows(out, value, rows)
                     : DN_ENOMEM;
        json_decref(rows);
        return rc;
    }
    if (s_csv_field(out, value, 1))
        return DN_ENOMEM;
    fputs("\r\n", out);
    return 0;
}

/* -- entry points ---------------------------------------------------------- */

/*  A copy of value without the keys that end in DN_RENDER_MINOR_SUFFIX, at
    any depth; NULL when out of memory.  */
static json_t *s_without_minor(const json_t *value)
{
    size_t suffix = strlen(DN_RENDER_MINOR_SUFFIX);
    json_t *copy, *item;
    const char *key;
    if (json_is_array(value)) {
        if (!(copy = json_array()))
            return NULL;
        for (size_t i = 0; i < json_array_size(value); i++) {
            if (!(item = s_without_minor(json_array_get(value, i))) ||
                json_array_append_new(copy, item)) {
                json_decref(copy);
                return NULL;
            }
        }
        return copy;
    }
    if (!json_is_object(value))
        return json_incref((json_t *)value);
    if (!(copy = json_object()))
        return NULL;
    json_object_foreach((json_t *)value, key, item)
    {
        size_t len = strlen(key);
        json_t *kept;
        if (len > suffix && strcmp(key + len - suffix, DN_RENDER_MINOR_SUFFIX) == 0)
            continue;
        if (!(kept = s_without_minor(item)) || json_object_set_new(copy, key, kept)) {
            json_decref(copy);
            return NULL;
        }
    }
    return copy;
}

int dn_render(FILE *out, const json_t *value, dn_render_format_t format)
{
    json_t *shown = NULL;
    int rc;
    if (format != DN_RENDER_JSON) {
        if (!(shown = s_without_minor(value)))
            return DN_ENOMEM;
        value = shown;
    }
    switch (format) {
    case DN_RENDER_EXCEL:
        /* the byte-order mark is how Excel tells UTF-8 from the ANSI code
           page (GBK on Chinese Windows), which it assumes otherwise */
        fputs(DN_RENDER_BOM, out);
        /* fall through */
    case DN_RENDER_CSV:
        rc = s_csv(out, value);
        break;
    case DN_RENDER_JSON:
        rc = json_dumpf(value, out, JSON_INDENT(2) | JSON_ENCODE_ANY) ? DN_EIO : 0;
        if (rc == 0)
            fputc('\n', out);
        break;
    default:
        if (json_is_array(value))
            rc = s_table_array(out, value);
        else if (json_is_object(value))
            rc = s_table_object(out, value);
        else {
            char *cell = s_cell(value, 0);
            rc = cell ? 0 : DN_ENOMEM;
            if (cell)
                fprintf(out, "%s\n", cell);
            free(cell);
        }
        break;
    }
    json_decref(shown);
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = DN_EIO;
    return rc;
}

int dn_render_columns(FILE *out, const json_t *rows, const dn_render_column_t *cols,
                      size_t n)
{
    int rc = s_table(out, rows, cols, n);
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = DN_EIO;
    return rc;
}

int dn_render_fields(FILE *out, const dn_render_field_t *fields, size_t n, size_t indent,
                     size_t gap)
{
    int rc = s_fields(out, fields, n, indent, gap);
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = DN_EIO;
    return rc;
}

char *dn_render_string(const json_t *value, dn_render_format_t format)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    int rc;
    if (!out)
        return NULL;
    rc = dn_render(out, value, format);
    if (fclose(out) != 0)
        rc = DN_EIO;
    if (rc) {
        free(text);
        return NULL;
    }
    return text;
}

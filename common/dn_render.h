/*  dn_render -- showing a JSON result to a person, a spreadsheet or a script.

    Every admin command and report answers with JSON: an object, or an array
    of flat objects.  dealernet-hq prints any of them without knowing the
    command, so a new report needs no new printing code: as an aligned text
    table for the terminal, as CSV (RFC 4180) for spreadsheets, or as pretty
    JSON for scripts.  Times in results are already text (dn_time_format),
    so they need no special case here.
*/
#ifndef DN_RENDER_H
#define DN_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/*  The suffix of the key that holds an amount in integer minor units
    beside its decimal text (see dn_render).  */
#define DN_RENDER_MINOR_SUFFIX "_minor"

/*  The widest a table cell is shown, in terminal columns: a longer one is
    cut (see dn_render_cut), so that one long name or note does not push
    every column after it off the screen.  40 holds every code, a UUID
    (36), a timestamp (24), a server key (40) and a name of 20 Chinese
    characters.  JSON and CSV are never cut.  */
#define DN_RENDER_MAX_CELL_COLUMNS 40

/*  The UTF-8 byte-order mark DN_RENDER_EXCEL writes first.  */
#define DN_RENDER_BOM "\xEF\xBB\xBF"

typedef enum {
    DN_RENDER_TABLE = 0, /* aligned columns for a terminal */
    DN_RENDER_CSV,       /* RFC 4180 */
    DN_RENDER_JSON,      /* indented JSON */
    DN_RENDER_EXCEL      /* CSV for Excel: DN_RENDER_BOM, then as CSV */
} dn_render_format_t;

/*  The terminal columns text (UTF-8) takes, the one count every table,
    padded label and cut cell uses.  Counted per grapheme cluster (what a
    reader sees as one character) from libunistring's East Asian Width
    (UAX #11): a CJK character, a full-width form or a Hangul syllable is
    2; ASCII, Latin (é composed or decomposed), Cyrillic 1; combining marks,
    zero-width joiners and spaces, variation selectors, skin tones 0 (they
    join the character before them); an emoji 2, with its skin tone, as a
    ZWJ sequence (a family), with variation selector 16 (❤️) or as a flag
    (two regional indicators); East Asian Ambiguous characters (…, ·, ①,
    Greek) 1, as UTF-8 terminals draw them; control characters 0; a byte
    that is not UTF-8 1.  东北大米 is 8.  */
size_t dn_render_width(const char *text);

/*  A new string (caller frees; NULL when out of memory): text itself when
    it takes at most columns (dn_render_width), else its longest start of
    whole grapheme clusters that, with "…" (U+2026, one column) after it,
    takes at most columns -- never half a character, an accent without its
    letter or part of an emoji.  A cut may take one column less than
    columns, where a wide character would not fit.  columns >= 1.  */
char *dn_render_cut(const char *text, size_t columns);

/*  Writes value in format to out.

    Table: an array of objects becomes a header line (the keys of the first
    object, in their order, each shown as its translation in context
    "column", dn_i18n_cpgettext("column", key), else upper-cased) and one
    line per element; columns
    are separated by two spaces and padded to the widest cell, counted in
    terminal columns (dn_render_width); a cell wider than
    DN_RENDER_MAX_CELL_COLUMNS is cut to it (dn_render_cut); a column whose
    values are all numbers (or null) is right-aligned, others left-aligned;
    null and missing keys show "-", booleans "yes" / "no" (是 / 否 under zh_CN), nested arrays and
    objects their compact JSON; control characters show as spaces.  The
    words of a few closed sets a person reads in a table show translated
    (dn_render_word): a "channel" column's store, online, community and a
    "payment" column's cash, wechat, alipay, card, other, unknown (微信支付
    under zh_CN); JSON and CSV keep the word.  An empty
    array prints "(none)".  An object prints one "key  value" line per key
    (the key translated in context "column", else as it is), keys padded
    to the widest (dn_render_fields, gap 2; values are not cut).  A scalar
    prints as one cell.

    CSV: a header row of the first object's keys as they are (never
    translated: a spreadsheet or script is built on them), then one row
    per element; null and missing keys are empty fields, booleans "true" /
    "false", nested values compact JSON.  A field containing a comma, a
    double quote, CR or LF is quoted and its quotes doubled; lines end with
    CRLF.  A field a spreadsheet would run as a formula -- one that begins
    with '=', '+', '-', '@', TAB or CR and is not a plain decimal number
    (-?[0-9]+(.[0-9]+)?, like -12.50 or -1250) -- is quoted with a single
    quote put before it: =SUM(A1) is written "'=SUM(A1)", a phone
    +8613800138000 "'+8613800138000" (OWASP's CSV injection advice).  An
    object is one header row and one row; an empty array prints nothing.

    Excel: the bytes of CSV after DN_RENDER_BOM (EF BB BF), always, even
    before an empty listing.  Excel reads a CSV without it in the ANSI code
    page -- GBK on Chinese Windows -- and shows UTF-8 names as mojibake;
    with it, as UTF-8.  Plain CSV has none: a script or a Unix tool would
    take it for part of the first header.

    JSON: indented by two, keys in their order, ending with a newline.

    Amounts: a result carries each amount twice, as the decimal text in its
    currency ("total": "138.30") and as integer minor units under the name
    with DN_RENDER_MINOR_SUFFIX ("total_minor": 13830), for scripts that
    must not parse decimals.  JSON shows both; the table and CSV leave out
    every key ending in the suffix, at any depth: a person and a
    spreadsheet read the decimal form, and the CSV's columns stay those a
    spreadsheet was built on.

    Returns 0, DN_EIO (write failed) or DN_ENOMEM.  */
int dn_render(FILE *out, const json_t *value, dn_render_format_t format);

/*  One column of dn_render_columns.  */
typedef struct {
    const char *key;    /* the objects' key it shows */
    const char *header; /* its header, translated by the caller (_() or
                           C_("column", ...)); NULL: as dn_render shows
                           the key */
} dn_render_column_t;

/*  Writes rows, an array of objects, as a table of the columns cols[0..n)
    in that order, by the table rules of dn_render (padding, alignment,
    "-" for null and missing keys, ...).  For a program's own listing whose
    columns are a chosen few of its objects' keys, under headers of its
    own (dealernet-agent's sales, members, catalog and call list).  Unlike
    dn_render, an empty array prints the header line alone: the reader
    still sees what the listing would hold.  Returns 0, DN_EIO (write
    failed) or DN_ENOMEM.  */
int dn_render_columns(FILE *out, const json_t *rows, const dn_render_column_t *cols,
                      size_t n);

/*  One line of dn_render_fields.  */
typedef struct {
    const char *label; /* shown as it is, e.g. _("last sync") */
    const char *value; /* may hold '\n' (continuation lines); NULL: empty */
} dn_render_field_t;

/*  Writes fields[0..n) as "label  value" lines, the way a command shows one
    thing (status, a member, earnings): indent spaces, the label, then the
    value starting gap columns after the widest label, counted by
    dn_render_width, so the values line up whatever the language of the
    labels; each further line of a value starts at the same column.  No
    line ends in spaces.  Returns 0 or DN_EIO (write failed).  */
int dn_render_fields(FILE *out, const dn_render_field_t *fields, size_t n, size_t indent,
                     size_t gap);

/*  A table cell's word for people: text translated in context key when
    key ("channel", "payment") names a closed set of words a table shows
    and text is one of them (NC_ in dn_render.c), else text itself.  */
const char *dn_render_word(const char *key, const char *text);

/*  As dn_render, into a new NUL-terminated string (caller frees), or NULL
    when out of memory.  */
char *dn_render_string(const json_t *value, dn_render_format_t format);

#endif

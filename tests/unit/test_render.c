/*  test_render -- unit tests for dn_render: JSON results as a table, CSV or
    JSON.

    The table tests compare the exact text, space for space: headers from
    the first object's keys, numbers right-aligned, null as "-", booleans
    yes/no, and CJK names counted as two columns each so the columns still
    line up on a terminal.  The CSV tests compare the exact bytes of tricky
    fields (commas, quotes, CR and LF) and then read the output back with an
    independent RFC 4180 reader to get every field back unchanged.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dn_error.h"
#include "dn_log.h"
#include "dn_render.h"

static json_t *s_parse(const char *text)
{
    json_error_t error;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &error);
    if (!value)
        fail_msg("bad test JSON: %s", error.text);
    return value;
}

/*  Renders text (JSON) in format and compares with expected.  */
static void s_expect(const char *json, dn_render_format_t format, const char *expected)
{
    json_t *value = s_parse(json);
    char *out = dn_render_string(value, format);
    assert_non_null(out);
    assert_string_equal(out, expected);
    free(out);
    json_decref(value);
}

/* -- table ----------------------------------------------------------------- */

static void test_table_listing(void **state)
{
    (void)state;
    s_expect(
        "[{\"code\":\"SHOP-1\",\"partner\":\"D1\",\"enrolled\":true,\"last_seen\":null,"
        "\"applied_seq\":42,\"skew\":-1500},"
        "{\"code\":\"S2\",\"partner\":\"\xe5\x8c\x97\xe4\xba\xac\",\"enrolled\":false,"
        "\"last_seen\":\"2026-01-01T00:00:00.000Z\",\"applied_seq\":7,\"skew\":null}]",
        DN_RENDER_TABLE,
        /* CODE 6, PARTNER 7, ENROLLED 8, LAST_SEEN 24, APPLIED_SEQ 11 and
           SKEW 5 columns; the last two are numbers: right-aligned */
        "CODE    PARTNER  ENROLLED  LAST_SEEN                 APPLIED_SEQ   SKEW\n"
        "SHOP-1  D1       yes       -                                  42  -1500\n"
        "S2      \xe5\x8c\x97\xe4\xba\xac     no        2026-01-01T00:00:00.000Z"
        "            7      -\n");
}

static void test_table_details(void **state)
{
    (void)state;
    /* a key missing from a later row shows "-"; a key only in a later row
       is not a column; no line ends in spaces */
    s_expect("[{\"a\":1,\"name\":\"x\"},{\"name\":\"longer\",\"extra\":9}]",
             DN_RENDER_TABLE,
             "A  NAME\n"
             "1  x\n"
             "-  longer\n");
    /* a column of numbers and text is left-aligned; reals, nested values
       as compact JSON, control characters shown as spaces */
    s_expect("[{\"v\":10,\"w\":1.5,\"n\":[1,{\"k\":\"v\"}],\"t\":\"a\\nb\\tc\"},"
             "{\"v\":\"ten\",\"w\":22.25,\"n\":{},\"t\":\"\"}]",
             DN_RENDER_TABLE,
             "V        W  N              T\n"
             "10     1.5  [1,{\"k\":\"v\"}]  a b c\n"
             "ten  22.25  {}\n");
}

static void test_table_mixed_column(void **state)
{
    (void)state;
    s_expect("[{\"v\":10,\"w\":1.5},{\"v\":\"ten\",\"w\":22.25}]", DN_RENDER_TABLE,
             "V        W\n"
             "10     1.5\n"
             "ten  22.25\n");
}

static void test_table_object_and_scalars(void **state)
{
    (void)state;
    s_expect("{\"site\":\"SHOP-1\",\"token\":\"00ff\",\"expires\":\"2026-01-04T00:00:00."
             "000Z\","
             "\"enrolled\":false,\"gap\":null}",
             DN_RENDER_TABLE,
             "site      SHOP-1\n"
             "token     00ff\n"
             "expires   2026-01-04T00:00:00.000Z\n"
             "enrolled  no\n"
             "gap       -\n");
    s_expect("[]", DN_RENDER_TABLE, "(none)\n");
    s_expect("42", DN_RENDER_TABLE, "42\n");
    s_expect("\"text\"", DN_RENDER_TABLE, "text\n");
    s_expect("null", DN_RENDER_TABLE, "-\n");
    s_expect("[\"a\",true,3]", DN_RENDER_TABLE, "a\nyes\n3\n");
}

/*  dn_render_columns: the columns named, in their order, under their own
    headers (NULL: the key upper-cased), other keys left out; a missing key
    shows "-"; an empty listing prints its header line alone.  */
static void s_expect_columns(const char *json, const char *expected)
{
    static const dn_render_column_t cols[] = {{"sku", NULL},
                                              {"qty", "QTY"},
                                              {"last_purchase", "LAST PURCHASE"},
                                              {"note", NULL}};
    json_t *value = s_parse(json);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    assert_int_equal(dn_render_columns(out, value, cols, 4), 0);
    assert_int_equal(fclose(out), 0);
    assert_string_equal(text, expected);
    free(text);
    json_decref(value);
}

static void test_table_columns(void **state)
{
    (void)state;
    /* SKU 8 ("RICE-5KG"), QTY 3 (the header; a number column: right-aligned),
       LAST PURCHASE 13 (the header), NOTE 4 ("NOTE"; "-" where missing);
       "price" is not a column */
    s_expect_columns("[{\"price\":\"59.90\",\"last_purchase\":\"2026-03-03\","
                     "\"qty\":2,\"sku\":\"RICE-5KG\",\"note\":\"x\"},"
                     "{\"sku\":\"OIL-1L\",\"qty\":10,\"last_purchase\":\"2026-02-20\"}]",
                     "SKU       QTY  LAST PURCHASE  NOTE\n"
                     "RICE-5KG    2  2026-03-03     x\n"
                     "OIL-1L     10  2026-02-20     -\n");
    s_expect_columns("[]", "SKU  QTY  LAST PURCHASE  NOTE\n");
}

/* -- CSV ------------------------------------------------------------------- */

static void test_csv_quoting(void **state)
{
    (void)state;
    s_expect(
        "[{\"name\":\"Smith, John\",\"note\":\"said \\\"hi\\\"\",\"multi\":\"one\\ntwo\","
        "\"cr\":\"a\\rb\",\"n\":5,\"b\":true,\"z\":null,\"plain\":\"x y\"},"
        "{\"name\":\"\",\"note\":\"\\\"\",\"multi\":\"\\r\\n\",\"cr\":\"-\",\"n\":-1,"
        "\"b\":false,\"z\":[1,2],\"plain\":\"\xe5\x8c\x97\"}]",
        DN_RENDER_CSV,
        "name,note,multi,cr,n,b,z,plain\r\n"
        "\"Smith, John\",\"said \"\"hi\"\"\",\"one\ntwo\",\"a\rb\",5,true,,x y\r\n"
        /* "\r\n" and "-" begin like a formula, and are not numbers: with a ' */
        ",\"\"\"\",\"'\r\n\",\"'-\",-1,false,\"[1,2]\",\xe5\x8c\x97\r\n");
    /* an object: one header row and one row; keys are quoted like values */
    s_expect("{\"a,b\":1,\"c\":\"d\"}", DN_RENDER_CSV, "\"a,b\",c\r\n1,d\r\n");
    s_expect("[]", DN_RENDER_CSV, "");
}

/*  Cells a spreadsheet would run as formulas (OWASP: a first character
    '=', '+', '-', '@', TAB or CR) are quoted with a leading single quote;
    plain decimal numbers, -?[0-9]+(.[0-9]+)?, stay as they are, strings
    and JSON integers alike, so that amounts still sum.  */
static void test_csv_formulas(void **state)
{
    static const struct {
        const char *json; /* a JSON value */
        const char *csv;  /* its field */
    } cases[] = {
        /* neutralised: every trigger character, and the attacks of issue 11 */
        {"\"=HYPERLINK(\\\"http://x\\\",\\\"y\\\")\"",
         "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
        {"\"+cmd|' /C calc'!A0\"", "\"'+cmd|' /C calc'!A0\""},
        {"\"-2+3\"", "\"'-2+3\""},
        {"\"@SUM(A1)\"", "\"'@SUM(A1)\""},
        {"\"\\tname\"", "\"'\tname\""},
        {"\"\\r=1\"", "\"'\r=1\""},
        {"\"=\"", "\"'=\""},
        {"\"+8613800138000\"", "\"'+8613800138000\""}, /* a phone: text */
        {"\"+12\"", "\"'+12\""},                   /* a sign is not plain */
        {"\"-\"", "\"'-\""},
        {"\"-.5\"", "\"'-.5\""},                   /* no digit before the point */
        {"\"-1.\"", "\"'-1.\""},                   /* no digit after it */
        {"\"-1.2.3\"", "\"'-1.2.3\""},
        {"\"-1e5\"", "\"'-1e5\""},
        {"\"-12.50 \"", "\"'-12.50 \""},
        {"\"--1\"", "\"'--1\""},
        {"\"-1,5\"", "\"'-1,5\""},
        /* plain numbers and text that cannot be a formula: as they are */
        {"\"-12.50\"", "-12.50"},
        {"\"-1250\"", "-1250"},
        {"-1250", "-1250"},
        {"\"-0\"", "-0"},
        {"\"12.50\"", "12.50"},
        {"\" =1\"", " =1"}, /* not first */
        {"\"a=1\"", "a=1"},
        {"\"\\u738b=1\"", "\xe7\x8e\x8b=1"},
        {"\"\"", ""},
        {"null", ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[128], csv[128];
        snprintf(json, sizeof json, "[{\"v\":%s}]", cases[i].json);
        snprintf(csv, sizeof csv, "v\r\n%s\r\n", cases[i].csv);
        s_expect(json, DN_RENDER_CSV, csv);
    }
    /* a header is a field too */
    s_expect("{\"=k\":1}", DN_RENDER_CSV, "\"'=k\"\r\n1\r\n");
    /* the table and JSON show text as it is: nothing there is evaluated */
    s_expect("[{\"v\":\"=1+1\"}]", DN_RENDER_TABLE, "V\n=1+1\n");
    s_expect("[{\"v\":\"=1+1\"}]", DN_RENDER_JSON, "[\n  {\n    \"v\": \"=1+1\"\n  }\n]\n");
}

/*  An RFC 4180 reader, independent of the writer: splits text into
    records of fields.  Returns the number of records; fields[r][f] are
    malloc'd.  */
#define MAX_RECORDS 8
#define MAX_FIELDS  16
static int s_csv_read(const char *text, char *fields[MAX_RECORDS][MAX_FIELDS],
                      int counts[])
{
    int r = 0, f = 0;
    const char *p = text;
    char buf[1024];
    size_t n;

    while (*p) {
        n = 0;
        if (*p == '"') {
            p++;
            for (;;) {
                assert_true(*p != '\0'); /* an unterminated quote */
                if (*p == '"' && p[1] == '"') {
                    buf[n++] = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    buf[n++] = *p++;
                }
            }
        } else {
            while (*p && *p != ',' && *p != '\r') {
                assert_true(*p != '"' && *p != '\n'); /* bare quote or LF */
                buf[n++] = *p++;
            }
        }
        buf[n] = '\0';
        assert_true(r < MAX_RECORDS && f < MAX_FIELDS);
        fields[r][f++] = strdup(buf);
        if (*p == ',') {
            p++;
        } else {
            assert_true(p[0] == '\r' && p[1] == '\n'); /* every record ends in CRLF */
            p += 2;
            counts[r++] = f;
            f = 0;
        }
    }
    return r;
}

static void test_csv_round_trip(void **state)
{
    static const char *values[] = {
        "plain",
        "with, comma",
        "\"quoted\"",
        "a \"b\" c",
        "line\r\nbreak",
        "lf\nonly",
        "cr\ronly",
        " spaces ",
        "",
        "\"",
        ",",
        "\xe5\x8c\x97\xe4\xba\xac, \"x\"",
    };
    const size_t n = sizeof values / sizeof values[0];
    char *fields[MAX_RECORDS][MAX_FIELDS] = {{0}};
    int counts[MAX_RECORDS] = {0}, records;
    json_t *row = json_object(), *list = json_array();
    char key[16], *out;
    (void)state;

    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%zu,\"%zu\"", i, i); /* keys need quoting too */
        json_object_set_new(row, key, json_string(values[i]));
    }
    json_array_append_new(list, row);
    json_array_append(list, row); /* the same row twice */
    out = dn_render_string(list, DN_RENDER_CSV);
    assert_non_null(out);
    records = s_csv_read(out, fields, counts);
    assert_int_equal(records, 3);
    for (int r = 0; r < records; r++) {
        assert_int_equal(counts[r], (int)n);
        for (size_t i = 0; i < n; i++) {
            snprintf(key, sizeof key, "k%zu,\"%zu\"", i, i);
            assert_string_equal(fields[r][i], r == 0 ? key : values[i]);
            free(fields[r][i]);
        }
    }
    free(out);
    json_decref(list);
}

/* -- display width --------------------------------------------------------- */

/*  dn_render_width, case by case: what a UTF-8 terminal takes for each.  */
static void test_width(void **state)
{
    static const struct {
        const char *text;
        size_t width;
    } cases[] = {
        {"", 0},
        {"RICE-5KG", 8},
        {"\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3", 8}, /* 东北大米: 4 x 2 */
        {"\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3" "5kg", 11}, /* 8 + 3 */
        {"\xc3\xa9", 1},         /* é composed, U+00E9 */
        {"e\xcc\x81", 1},        /* é decomposed, e + U+0301 */
        {"Zo\xc3\xab", 3},       /* Zoë */
        {"\xed\x95\x9c", 2},     /* 한, a Hangul syllable */
        {"\xef\xbc\xa1", 2},     /* Ａ, full-width A (U+FF21) */
        {"\xf0\x9f\x91\x8d", 2}, /* 👍 U+1F44D */
        {"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 2}, /* 👍🏽 with a skin tone: one picture */
        /* 👨‍👩‍👧, a family: man ZWJ woman ZWJ girl, one picture of 2
           (libunistring alone counts 6) */
        {"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7", 2},
        {"\xf0\x9f\x87\xa8\xf0\x9f\x87\xb3", 2}, /* 🇨🇳: two regional indicators */
        {"\xe2\x9d\xa4", 1},                     /* ❤ U+2764 alone: text */
        {"\xe2\x9d\xa4\xef\xb8\x8f", 2},         /* ❤️ with VS16: an emoji */
        {"a\xe2\x80\x8b" "b", 2},                /* a zero-width space adds nothing */
        {"\xe2\x80\xa6", 1},                     /* … ambiguous: one */
        {"\xe2\x91\xa0", 1},                     /* ① ambiguous: one */
        {"a\tb", 2},                             /* a control character: none */
        {"\xff" "a", 2},                         /* a byte that is not UTF-8: one */
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (dn_render_width(cases[i].text) != cases[i].width)
            fail_msg("case %zu '%s': width %zu, expected %zu", i, cases[i].text,
                     dn_render_width(cases[i].text), cases[i].width);
}

static void s_expect_cut(const char *text, size_t columns, const char *expected)
{
    char *cut = dn_render_cut(text, columns);
    assert_non_null(cut);
    assert_string_equal(cut, expected);
    assert_true(dn_render_width(cut) <= columns);
    free(cut);
}

/*  dn_render_cut: whole characters, then "…" (one column), within the
    columns given.  */
static void test_cut(void **state)
{
    (void)state;
    s_expect_cut("abcdef", 6, "abcdef");              /* fits: as it is */
    s_expect_cut("abcdef", 5, "abcd\xe2\x80\xa6");     /* 4 + 1 */
    /* 东北大米: 8 columns into 6: 东北 (4) + … (1) = 5, as 大 (2) would
       make 7: never half a character */
    s_expect_cut("\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3", 6,
                 "\xe4\xb8\x9c\xe5\x8c\x97\xe2\x80\xa6");
    /* into 7: 东北大 (6) + … = 7 */
    s_expect_cut("\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3", 7,
                 "\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe2\x80\xa6");
    /* the accent stays with its letter: "ée" decomposed (2 columns) + "x"
       into 2: é (1) + … */
    s_expect_cut("e\xcc\x81" "ex", 2, "e\xcc\x81\xe2\x80\xa6");
    /* a family is kept whole or left out whole: 👨‍👩‍👧 (2) + "ab" into 3 */
    s_expect_cut("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"
                 "ab",
                 3,
                 "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"
                 "\xe2\x80\xa6");
    s_expect_cut("ab", 1, "\xe2\x80\xa6");
}

/*  Chinese and ASCII names in one table: every column starts at the same
    terminal column on every line, exact bytes.  */
static void test_table_cjk(void **state)
{
    (void)state;
    /* NAME: 东北大米5kg is 11 columns, the widest (8 + 3); 王芳 4, padded
       with 7 spaces; "Li Wei" 6, with 5.  QTY (3, the header) is a number
       column, right-aligned: 2 spaces before "2", 1 before "10", 2 before
       "1", after the 2 between columns.  WHO: é composed or decomposed
       (e + U+0301) is one column either way; it is the last column, so
       nothing is padded after it.  */
    s_expect("[{\"name\":\"\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3" "5kg\","
             "\"qty\":2,\"who\":\"Ren\\u00e9e\"},"
             "{\"name\":\"\xe7\x8e\x8b\xe8\x8a\xb3\",\"qty\":10,"
             "\"who\":\"Rene\\u0301e\"},"
             "{\"name\":\"Li Wei\",\"qty\":1,\"who\":\"\xe9\x99\x88\"}]",
             DN_RENDER_TABLE,
             "NAME         QTY  WHO\n"
             "\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3" "5kg    2  Ren\xc3\xa9" "e\n"
             "\xe7\x8e\x8b\xe8\x8a\xb3" "          10  Rene\xcc\x81" "e\n"
             "Li Wei         1  \xe9\x99\x88\n");
}

/*  A cell wider than DN_RENDER_MAX_CELL_COLUMNS (40) is cut in a table,
    never in CSV or JSON.  */
static void test_table_cut(void **state)
{
    /* 25 Chinese characters, 50 columns: 19 (38 columns) + … = 39, as a
       20th would make 41 */
    static const char name[] = "\xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x89\xe5\x9b\x9b\xe4\xba\x94"
                               "\xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x89\xe5\x9b\x9b\xe4\xba\x94"
                               "\xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x89\xe5\x9b\x9b\xe4\xba\x94"
                               "\xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x89\xe5\x9b\x9b\xe4\xba\x94"
                               "\xe4\xb8\x80\xe4\xba\x8c\xe4\xb8\x89\xe5\x9b\x9b\xe4\xba\x94";
    char json[256], expected[256];
    (void)state;
    snprintf(json, sizeof json, "[{\"n\":\"%s\",\"k\":1}]", name);
    snprintf(expected, sizeof expected, "N%*s  K\n%.*s\xe2\x80\xa6  1\n", 38, "", 19 * 3,
             name);
    s_expect(json, DN_RENDER_TABLE, expected);
    snprintf(expected, sizeof expected, "n,k\r\n%s,1\r\n", name);
    s_expect(json, DN_RENDER_CSV, expected);
    /* 40 ASCII columns fit exactly (a server key); 41 are cut to 39 + … */
    s_expect("[{\"k\":\"0123456789012345678901234567890123456789\"}]", DN_RENDER_TABLE,
             "K\n0123456789012345678901234567890123456789\n");
    s_expect("[{\"k\":\"0123456789012345678901234567890123456789X\"}]", DN_RENDER_TABLE,
             "K\n012345678901234567890123456789012345678\xe2\x80\xa6\n");
}

/*  dn_render_fields: labels of any script, values in one column.  */
static void test_fields(void **state)
{
    const dn_render_field_t fields[] = {
        {"site", "SHOP-1"},
        {"\xe4\xb8\x8a\xe6\xac\xa1\xe5\x90\x8c\xe6\xad\xa5", "never"}, /* 上次同步: 8 */
        {"notices", "2 unread\nnewest: hi"},
        {"empty", ""},
    };
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    (void)state;
    assert_non_null(out);
    assert_int_equal(dn_render_fields(out, fields, 4, 2, 1), 0);
    assert_int_equal(fclose(out), 0);
    /* indent 2, widest label 8 columns, gap 1: values at column 11 */
    assert_string_equal(text, "  site     SHOP-1\n"
                              "  \xe4\xb8\x8a\xe6\xac\xa1\xe5\x90\x8c\xe6\xad\xa5 never\n"
                              "  notices  2 unread\n"
                              "           newest: hi\n"
                              "  empty\n");
    free(text);
}

/* -- Excel ----------------------------------------------------------------- */

/*  DN_RENDER_EXCEL: EF BB BF, then CSV's bytes, CRLF and formula quoting
    included; plain CSV has no mark.  */
static void test_excel(void **state)
{
    static const char value[] = "[{\"name\":\"\xe7\x8e\x8b\xe8\x8a\xb3\",\"phone\":"
                                "\"+8613800138000\",\"total\":\"-12.50\"}]";
    static const char csv[] = "name,phone,total\r\n"
                              "\xe7\x8e\x8b\xe8\x8a\xb3,\"'+8613800138000\",-12.50\r\n";
    char expected[128];
    json_t *parsed = s_parse(value);
    char *out = dn_render_string(parsed, DN_RENDER_EXCEL);
    (void)state;
    assert_non_null(out);
    assert_memory_equal(out, "\xef\xbb\xbf", 3);
    snprintf(expected, sizeof expected, "\xef\xbb\xbf%s", csv);
    assert_string_equal(out, expected);
    free(out);
    json_decref(parsed);
    s_expect(value, DN_RENDER_CSV, csv);
    s_expect("[]", DN_RENDER_EXCEL, "\xef\xbb\xbf"); /* the mark even alone */
}

/* -- JSON and errors ------------------------------------------------------- */

static void test_json_pretty(void **state)
{
    (void)state;
    s_expect("{\"b\":[1,2],\"a\":null,\"c\":\"\xe5\x8c\x97\"}", DN_RENDER_JSON,
             "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": null,\n  \"c\": "
             "\"\xe5\x8c\x97\"\n}\n");
    s_expect("[]", DN_RENDER_JSON, "[]\n");
}

/*  An amount's minor units (total_minor) are for scripts: in JSON only,
    at any depth; the table and CSV show the decimal text.  */
static void test_minor_units(void **state)
{
    static const char value[] =
        "[{\"month\":\"2026-01\",\"total\":\"425.30\",\"total_minor\":42530,"
        "\"totals\":{\"commission\":\"1.00\",\"commission_minor\":100}}]";
    (void)state;
    s_expect(value, DN_RENDER_TABLE,
             "MONTH    TOTAL   TOTALS\n"
             "2026-01  425.30  {\"commission\":\"1.00\"}\n");
    s_expect(value, DN_RENDER_CSV,
             "month,total,totals\r\n"
             "2026-01,425.30,\"{\"\"commission\"\":\"\"1.00\"\"}\"\r\n");
    s_expect("{\"total\":\"1.50\",\"total_minor\":150}", DN_RENDER_JSON,
             "{\n  \"total\": \"1.50\",\n  \"total_minor\": 150\n}\n");
}

static void test_write_failure(void **state)
{
    FILE *full = fopen("/dev/full", "w");
    json_t *value = s_parse("[{\"a\":1}]");
    (void)state;
    if (!full) {
        json_decref(value);
        skip();
    }
    setvbuf(full, NULL, _IONBF, 0);
    assert_int_equal(dn_render(full, value, DN_RENDER_TABLE), DN_EIO);
    assert_int_equal(dn_render(full, value, DN_RENDER_CSV), DN_EIO);
    fclose(full);
    json_decref(value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_listing),
        cmocka_unit_test(test_table_details),
        cmocka_unit_test(test_table_mixed_column),
        cmocka_unit_test(test_table_object_and_scalars),
        cmocka_unit_test(test_table_columns),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_csv_formulas),
        cmocka_unit_test(test_csv_round_trip),
        cmocka_unit_test(test_width),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_table_cjk),
        cmocka_unit_test(test_table_cut),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_excel),
        cmocka_unit_test(test_json_pretty),
        cmocka_unit_test(test_minor_units),
        cmocka_unit_test(test_write_failure),
    };
    dn_log_init("test_render", DN_LOG_QUIET, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

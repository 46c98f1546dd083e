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
        cmocka_unit_test(test_json_pretty),
        cmocka_unit_test(test_minor_units),
        cmocka_unit_test(test_write_failure),
    };
    dn_log_init("test_render", DN_LOG_QUIET, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

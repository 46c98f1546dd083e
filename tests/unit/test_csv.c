/*  test_csv -- unit tests for dn_csv: exact field splits of RFC 4180 text
    (quotes, embedded commas and newlines, BOM, CRLF, empty fields), the
    line and column of every refusal, the row limit, and the writer's
    quoting read back by the reader.  */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dn_csv.h"
#include "dn_error.h"

/*  Splits text (no row limit to speak of) and asserts success.  */
static void s_parse(const char *text, dn_csv_t *csv)
{
    dn_csv_error_t err;
    int rc = dn_csv_parse(text, strlen(text), 1000, csv, &err);
    if (rc)
        fail_msg("refused at %ld:%ld: %s", err.line, err.column, err.why);
}

/*  Asserts row i holds exactly the n fields given, and starts on line.  */
static void s_row(const dn_csv_t *csv, size_t i, long line, size_t n, ...)
{
    va_list args;
    assert_true(i < csv->n_rows);
    assert_int_equal(csv->rows[i].line, line);
    assert_int_equal(csv->rows[i].n_fields, n);
    va_start(args, n);
    for (size_t f = 0; f < n; f++)
        assert_string_equal(csv->rows[i].fields[f], va_arg(args, const char *));
    va_end(args);
}

/*  Asserts text is refused with rc at line:column.  */
static void s_refused(const char *text, int rc, long line, long column)
{
    dn_csv_t csv;
    dn_csv_error_t err;
    assert_int_equal(dn_csv_parse(text, strlen(text), 1000, &csv, &err), rc);
    assert_int_equal(err.line, line);
    assert_int_equal(err.column, column);
    assert_true(err.why[0] != '\0');
    assert_null(csv.rows); /* nothing kept */
    assert_int_equal(csv.n_rows, 0);
}

static void test_plain_rows(void **state)
{
    dn_csv_t csv;
    (void)state;
    s_parse("kind,ref,sku\nsale,R1,TEA\nsale,R2,RICE", &csv);
    assert_int_equal(csv.n_rows, 3);
    s_row(&csv, 0, 1, 3, "kind", "ref", "sku");
    s_row(&csv, 1, 2, 3, "sale", "R1", "TEA");
    s_row(&csv, 2, 3, 3, "sale", "R2", "RICE"); /* no line end at the end */
    dn_csv_free(&csv);
    dn_csv_free(&csv); /* twice is safe */
}

static void test_empty_fields(void **state)
{
    dn_csv_t csv;
    (void)state;
    /* ",," is three empty fields; a trailing comma is one more field */
    s_parse("a,,c\n,,\nx,\n", &csv);
    assert_int_equal(csv.n_rows, 3);
    s_row(&csv, 0, 1, 3, "a", "", "c");
    s_row(&csv, 1, 2, 3, "", "", "");
    s_row(&csv, 2, 3, 2, "x", "");
    dn_csv_free(&csv);
}

static void test_quotes(void **state)
{
    dn_csv_t csv;
    (void)state;
    /* a comma, a doubled quote, an empty quoted field, a quoted field
       beside unquoted ones */
    s_parse("\"a,b\",\"say \"\"hi\"\"\",\"\",plain\n", &csv);
    assert_int_equal(csv.n_rows, 1);
    s_row(&csv, 0, 1, 4, "a,b", "say \"hi\"", "", "plain");
    dn_csv_free(&csv);
}

static void test_embedded_newlines(void **state)
{
    dn_csv_t csv;
    (void)state;
    /* the quoted field spans lines 2 and 3 (kept as written, CRLF too);
       the next row starts on line 4 */
    s_parse("h1,h2\n\"two\nlines\",x\n\"cr\r\nlf\",y\nlast,z\n", &csv);
    assert_int_equal(csv.n_rows, 4);
    s_row(&csv, 0, 1, 2, "h1", "h2");
    s_row(&csv, 1, 2, 2, "two\nlines", "x");
    s_row(&csv, 2, 4, 2, "cr\r\nlf", "y");
    s_row(&csv, 3, 6, 2, "last", "z");
    dn_csv_free(&csv);
}

static void test_bom_crlf_blank_lines(void **state)
{
    dn_csv_t csv;
    (void)state;
    /* the BOM is no part of the first field; CRLF ends rows like LF;
       empty lines (LF or CRLF) are no rows but count as lines */
    s_parse("\xEF\xBB\xBFkind,ref\r\n\r\nsale,R1\r\n\nmember,M1\r\n", &csv);
    assert_int_equal(csv.n_rows, 3);
    s_row(&csv, 0, 1, 2, "kind", "ref");
    s_row(&csv, 1, 3, 2, "sale", "R1");
    s_row(&csv, 2, 5, 2, "member", "M1");
    dn_csv_free(&csv);
    /* a BOM alone, or nothing: no rows */
    s_parse("\xEF\xBB\xBF", &csv);
    assert_int_equal(csv.n_rows, 0);
    dn_csv_free(&csv);
    s_parse("", &csv);
    assert_int_equal(csv.n_rows, 0);
    dn_csv_free(&csv);
}

static void test_utf8_fields(void **state)
{
    dn_csv_t csv;
    (void)state;
    s_parse("name,x\n\"王小明, 北京\",茶\n", &csv);
    s_row(&csv, 1, 2, 2, "王小明, 北京", "茶");
    dn_csv_free(&csv);
}

static void test_bad_quotes(void **state)
{
    (void)state;
    /* a quote inside an unquoted field: line 2, column 3 (the quote) */
    s_refused("a,b\nab\"c,d\n", DN_EPARSE, 2, 3);
    /* text after a closing quote: line 1, column 6 ('x') */
    s_refused("\"abc\"x,d\n", DN_EPARSE, 1, 6);
    /* columns count characters, not bytes: 茶 is one column */
    s_refused("茶,\"ab\"c\n", DN_EPARSE, 1, 7);
    /* a quote never closed: where it opened, line 2, column 3 */
    s_refused("a,b\nx,\"open\nstill open\n", DN_EPARSE, 2, 3);
    /* the BOM is no column: the quote is at column 2 */
    s_refused("\xEF\xBB\xBF" "a\"b\n", DN_EPARSE, 1, 2);
}

static void test_bad_bytes(void **state)
{
    dn_csv_t csv;
    dn_csv_error_t err;
    (void)state;
    /* a lone CR: line 1, column 2 */
    s_refused("a\rb\n", DN_EPARSE, 1, 2);
    /* a NUL in an unquoted field, then in a quoted one */
    assert_int_equal(dn_csv_parse("ab\0c\n", 5, 10, &csv, &err), DN_EPARSE);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 3);
    assert_int_equal(dn_csv_parse("x\n\"a\0\"\n", 7, 10, &csv, &err), DN_EPARSE);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 3);
}

static void test_row_limit(void **state)
{
    dn_csv_t csv;
    dn_csv_error_t err;
    const char *text = "h\n1\n\n2\n3\n";
    (void)state;
    /* 4 rows: 4 is the limit, 3 is not; the fourth row is on line 5 */
    assert_int_equal(dn_csv_parse(text, strlen(text), 4, &csv, &err), 0);
    assert_int_equal(csv.n_rows, 4);
    dn_csv_free(&csv);
    assert_int_equal(dn_csv_parse(text, strlen(text), 3, &csv, &err), DN_ELIMIT);
    assert_int_equal(err.line, 5);
    assert_string_equal(err.why, "more than 3 rows");
    assert_int_equal(csv.n_rows, 0);
}

static void test_write_reads_back(void **state)
{
    const char *row[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "", NULL, "茶"};
    char *buf = NULL;
    size_t size = 0;
    dn_csv_t csv;
    FILE *out = open_memstream(&buf, &size);
    (void)state;
    assert_non_null(out);
    assert_int_equal(dn_csv_write_row(out, row, 7), 0);
    assert_int_equal(dn_csv_write_row(out, row, 1), 0);
    fclose(out);
    assert_string_equal(buf, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,,茶\r\n"
                             "plain\r\n");
    s_parse(buf, &csv);
    assert_int_equal(csv.n_rows, 2);
    s_row(&csv, 0, 1, 7, "plain", "a,b", "say \"hi\"", "two\nlines", "", "", "茶");
    s_row(&csv, 1, 3, 1, "plain");
    dn_csv_free(&csv);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_rows),
        cmocka_unit_test(test_empty_fields),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_embedded_newlines),
        cmocka_unit_test(test_bom_crlf_blank_lines),
        cmocka_unit_test(test_utf8_fields),
        cmocka_unit_test(test_bad_quotes),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_row_limit),
        cmocka_unit_test(test_write_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

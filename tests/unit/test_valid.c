/*  test_valid -- unit tests for dn_valid, the shapes of short texts.

    The agent refuses at the counter exactly what the server would refuse
    later, so each rule is pinned down by a table of texts on both sides of
    its edge: codes (a letter, then [A-Za-z0-9_.-], at most 32), SKUs
    (printable ASCII without space, ':' or '@', at most 64), names (1..128
    bytes of well-formed UTF-8 without control characters, C0, DEL or C1;
    Chinese is welcome, overlong forms, surrogates and stray continuation
    bytes are not), phone numbers (separators dropped, one leading '+', 5..20 digits)
    and dn_parse_int's ranges.  Every table entry states its expected
    result, and each table holds both accepted and refused entries, so a
    validator that says yes (or no) to everything fails.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dn_error.h"
#include "dn_valid.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    const char *text;
    int ok;
} case_t;

/*  Runs a validator over a table, printing the entry that disagrees.  */
static void s_table(int (*valid)(const char *), const case_t *cases, size_t n)
{
    size_t accepted = 0;
    for (size_t i = 0; i < n; i++) {
        int got = valid(cases[i].text);
        if (got != cases[i].ok)
            print_error("entry %zu (\"%s\"): expected %d, got %d\n", i,
                        cases[i].text ? cases[i].text : "(null)", cases[i].ok, got);
        assert_int_equal(got, cases[i].ok);
        accepted += (size_t)got;
    }
    /* the table itself must exercise both answers */
    assert_true(accepted > 0 && accepted < n);
}

/*  A string of n copies of c (n < size).  */
static const char *s_repeat(char *buf, size_t size, char c, size_t n)
{
    assert_true(n < size);
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void test_code(void **state)
{
    (void)state;
    char max[64], over[64], max_dash[64];
    s_repeat(max, sizeof max, 'a', DN_MAX_CODE_LEN);
    s_repeat(over, sizeof over, 'a', DN_MAX_CODE_LEN + 1);
    s_repeat(max_dash, sizeof max_dash, '-', DN_MAX_CODE_LEN);
    max_dash[0] = 'Z';
    const case_t cases[] = {
        {"A", 1},         {"z", 1},
        {"SHOP-01", 1},   {"dlr_7.north", 1},
        {"a1-_.", 1},     {max, 1},
        {max_dash, 1},    {over, 0},
        {"", 0},          {NULL, 0},
        {"1SHOP", 0},     {"-a", 0},
        {"_a", 0},        {".a", 0},
        {"SHOP 01", 0},   {"SHOP/01", 0},
        {"SHOP:01", 0},   {"SHOP@01", 0},
        {"a\n", 0},       {"\xc3\xa9t\xc3\xa9", 0}, /* "été": letters, but not ASCII */
        {"a\xc3\xa9", 0},
    };
    assert_int_equal(strlen(max), 32);
    s_table(dn_valid_code, cases, N_OF(cases));
}

/*  Codes compare and store without regard to ASCII case; nothing else is
    folded.  */
static void test_code_fold(void **state)
{
    char text[] = "Rice_2.GREEN-x\xc3\x89";
    (void)state;
    dn_code_fold(text);
    assert_string_equal(text, "rice_2.green-x\xc3\x89"); /* the UTF-8 bytes stay */
    assert_true(dn_code_equal("rice", "rice"));
    assert_true(dn_code_equal("Rice", "rICE"));
    assert_true(dn_code_equal("", ""));
    assert_false(dn_code_equal("rice", "ric"));
    assert_false(dn_code_equal("ric", "rice"));
    assert_false(dn_code_equal("rice", "rice "));
    assert_false(dn_code_equal("a-b", "a_b"));
    assert_false(dn_code_equal("\xc3\x89", "\xc3\xa9")); /* not ASCII: exact */
}

static void test_sku(void **state)
{
    (void)state;
    char max[128], over[128];
    s_repeat(max, sizeof max, 'X', DN_MAX_SKU_LEN);
    s_repeat(over, sizeof over, 'X', DN_MAX_SKU_LEN + 1);
    const case_t cases[] = {
        {"TEA-500", 1},
        {"9", 1},
        {"!", 1},
        {"~", 1},
        {"a/b#c(1)", 1},
        {"RICE_5KG.v2", 1},
        {max, 1},
        {over, 0},
        {"", 0},
        {NULL, 0},
        {"TEA 500", 0},
        {" TEA", 0},
        {"TEA:500", 0},
        {"TEA@500", 0},
        {"TEA\t500", 0},
        {"TEA\x7f", 0},
        {"\xe8\x8c\xb6", 0}, /* "茶" */
    };
    assert_int_equal(strlen(max), 64);
    s_table(dn_valid_sku, cases, N_OF(cases));
}

static void test_name(void **state)
{
    (void)state;
    char max[256], over[256], cjk_max[256], cjk_over[256];
    s_repeat(max, sizeof max, 'n', DN_MAX_NAME_LEN);
    s_repeat(over, sizeof over, 'n', DN_MAX_NAME_LEN + 1);
    /* 42 x "王" (3 bytes) = 126 bytes, + "ab" = 128; one more "王" is 131 */
    cjk_max[0] = '\0';
    for (int i = 0; i < 42; i++)
        strcat(cjk_max, "\xe7\x8e\x8b");
    strcat(cjk_max, "ab");
    snprintf(cjk_over, sizeof cjk_over, "%s\xe7\x8e\x8b", cjk_max);
    const case_t cases[] = {
        {"Li Wei", 1},
        {"\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e", 1}, /* 王小明 */
        {"Zo\xc3\xab O'Brien-M\xc3\xbcller", 1},     /* Zoë, ü: 2 bytes */
        {"\xe2\x82\xac 5", 1},                       /* € (3 bytes) */
        {"\xf0\x9f\x98\x80", 1},                     /* U+1F600 (4 bytes) */
        {"\xf4\x8f\xbf\xbf", 1},                     /* U+10FFFF, the last */
        {"\xed\x9f\xbf", 1},                         /* U+D7FF, below surrogates */
        {"\xee\x80\x80", 1},                         /* U+E000, above surrogates */
        {"\xc2\xa0", 1},                             /* U+00A0, first after C1 */
        {"\xe0\xa0\x80", 1},                         /* U+0800, smallest 3-byte */
        {"\xf0\x90\x80\x80", 1},                     /* U+10000, smallest 4-byte */
        {"~", 1},
        {max, 1},
        {cjk_max, 1},
        {over, 0},
        {cjk_over, 0},
        {"", 0},
        {NULL, 0},
        {"\xc0\xaf", 0},         /* overlong '/' (2 bytes) */
        {"\xc1\xbf", 0},         /* overlong U+007F */
        {"\xe0\x80\xaf", 0},     /* overlong '/' (3 bytes) */
        {"\xe0\x9f\xbf", 0},     /* overlong U+07FF */
        {"\xf0\x80\x80\xaf", 0}, /* overlong '/' (4 bytes) */
        {"\xf0\x8f\xbf\xbf", 0}, /* overlong U+FFFF */
        {"\xed\xa0\x80", 0},     /* U+D800, high surrogate */
        {"\xed\xbf\xbf", 0},     /* U+DFFF, low surrogate */
        {"\xf4\x90\x80\x80", 0}, /* U+110000, beyond Unicode */
        {"\xf5\x80\x80\x80", 0}, /* lead byte F5 */
        {"\xff", 0},
        {"ab\x80", 0},       /* stray continuation byte */
        {"\xe7\x8e", 0},     /* truncated 王 at the end */
        {"\xe7\x8e\x61", 0}, /* truncated 王 in the middle ("a") */
        {"\xc3", 0},         /* truncated é */
        {"Li\tWei", 0},      /* control characters */
        {"Li\nWei", 0},
        {"\x1b[31m", 0},
        {"\x01", 0},
        {"Li\x7fWei", 0},         /* DEL */
        {"\xc2\x80", 0},          /* U+0080, first C1 control */
        {"Li\xc2\x85Wei", 0},     /* U+0085 NEL, a line break to some readers */
        {"\xc2\x9b\x33\x31m", 0}, /* U+009B CSI "31m", a terminal escape */
        {"\xc2\x9f", 0},          /* U+009F, last C1 control */
    };
    assert_int_equal(strlen(max), 128);
    assert_int_equal(strlen(cjk_max), 128);
    assert_int_equal(strlen(cjk_over), 131);
    s_table(dn_valid_name, cases, N_OF(cases));
}

typedef struct {
    const char *text;
    const char *norm; /* NULL: refused */
} phone_case_t;

static void test_phone_normalize(void **state)
{
    (void)state;
    const phone_case_t cases[] = {
        {"+86 138-0013-8000", "+8613800138000"},
        {"(010) 1234 567", "0101234567"},
        {"+8613800138000", "+8613800138000"},
        {"138.0013.8000", "13800138000"},
        {"  12345  ", "12345"}, /* 5 digits: the least */
        {"+1 (555) 010-9999", "+15550109999"},
        {"(+44) 20 7946 0000", "+442079460000"},          /* '(' before '+' is dropped */
        {"12345678901234567890", "12345678901234567890"}, /* 20 digits: the most */
        {"+1234-5678-9012-3456-7890", "+12345678901234567890"},
        {"1234", NULL},   /* 4 digits */
        {"+1 2-3", NULL}, /* 3 digits */
        {"", NULL},
        {"+", NULL},
        {" - ( ) . ", NULL},
        {NULL, NULL},
        {"123456789012345678901", NULL}, /* 21 digits */
        {"+1234-5678-9012-3456-78901", NULL},
        {"138OO138000", NULL}, /* letter O for zero */
        {"138-0013-8000 ext 5", NULL},
        {"86+13800138000", NULL}, /* '+' in the middle */
        {"++8613800138000", NULL},
        {"+86 138+0013", NULL},
        {"138/0013/8000", NULL},
        {"138_0013_8000", NULL},
        {"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xef\xbc\x95",
         NULL}, /* １２３４５ */
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        char out[DN_PHONE_SIZE];
        memset(out, '#', sizeof out);
        int rc = dn_phone_normalize(cases[i].text, out);
        if (cases[i].norm) {
            if (rc != 0)
                print_error("entry %zu (\"%s\") refused\n", i, cases[i].text);
            assert_int_equal(rc, 0);
            assert_string_equal(out, cases[i].norm);
            /* the normal form is a fixed point */
            assert_int_equal(dn_valid_phone(out), 1);
        } else {
            if (rc != DN_EPARSE)
                print_error("entry %zu (\"%s\") accepted\n", i,
                            cases[i].text ? cases[i].text : "(null)");
            assert_int_equal(rc, DN_EPARSE);
            assert_int_equal((unsigned char)out[0], '#'); /* out untouched */
        }
    }
    assert_int_equal(DN_PHONE_SIZE, 22);
}

static void test_valid_phone(void **state)
{
    (void)state;
    const case_t cases[] = {
        {"+8613800138000", 1},
        {"0101234567", 1},
        {"12345", 1},
        {"+12345678901234567890", 1},
        {"+86 13800138000", 0}, /* a phone, but not in normal form */
        {"138-0013-8000", 0},
        {"(010)1234567", 0},
        {"1234", 0},
        {"", 0},
        {NULL, 0},
        {"86+138", 0},
        {"+123456789012345678901", 0},
    };
    s_table(dn_valid_phone, cases, N_OF(cases));
}

typedef struct {
    const char *text;
    int64_t min, max;
    int rc;
    int64_t value;
} int_case_t;

static void test_parse_int(void **state)
{
    (void)state;
    const int_case_t cases[] = {
        {"0", 0, 10, 0, 0},
        {"10", 0, 10, 0, 10},
        {"7", 7, 7, 0, 7},
        {"007", 1, 100, 0, 7},
        {"-5", -10, 10, 0, -5},
        {"-10", -10, 10, 0, -10},
        {"1000000", 1, DN_MAX_QUANTITY, 0, 1000000},
        {"9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX},
        {"-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN},
        {"11", 0, 10, DN_EPARSE, 0},
        {"-11", -10, 10, DN_EPARSE, 0},
        {"0", 1, 10, DN_EPARSE, 0},
        {"1000001", 1, DN_MAX_QUANTITY, DN_EPARSE, 0},
        {"9223372036854775808", INT64_MIN, INT64_MAX, DN_EPARSE, 0},  /* overflow */
        {"-9223372036854775809", INT64_MIN, INT64_MAX, DN_EPARSE, 0}, /* underflow */
        {"", 0, 10, DN_EPARSE, 0},
        {NULL, 0, 10, DN_EPARSE, 0},
        {"-", -10, 10, DN_EPARSE, 0},
        {"+5", 0, 10, DN_EPARSE, 0},
        {" 5", 0, 10, DN_EPARSE, 0},
        {"5 ", 0, 10, DN_EPARSE, 0},
        {"5x", 0, 10, DN_EPARSE, 0},
        {"x5", 0, 10, DN_EPARSE, 0},
        {"1.5", 0, 10, DN_EPARSE, 0},
        {"1e3", 0, 10000, DN_EPARSE, 0},
        {"0x10", 0, 100, DN_EPARSE, 0},
        {"--5", -10, 10, DN_EPARSE, 0},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        int64_t out = 123456789;
        int rc = dn_parse_int(cases[i].text, cases[i].min, cases[i].max, &out);
        if (rc != cases[i].rc)
            print_error("entry %zu (\"%s\"): expected %d, got %d\n", i,
                        cases[i].text ? cases[i].text : "(null)", cases[i].rc, rc);
        assert_int_equal(rc, cases[i].rc);
        /* on error *out is left alone */
        assert_int_equal(out, rc == 0 ? cases[i].value : 123456789);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code),
        cmocka_unit_test(test_code_fold),
        cmocka_unit_test(test_sku),
        cmocka_unit_test(test_name),
        cmocka_unit_test(test_phone_normalize),
        cmocka_unit_test(test_valid_phone),
        cmocka_unit_test(test_parse_int),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

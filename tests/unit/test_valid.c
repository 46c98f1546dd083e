/*  test_valid -- unit tests for dn_valid, the shapes of short texts.

    The agent refuses at the counter exactly what the server would refuse
    later, so each rule is pinned down by a table of texts on both sides of
    its edge: codes (a letter, then [A-Za-z0-9_.-], at most 32), SKUs
    (printable ASCII without space, ':' or '@', at most 64) and the one
    message of a bad code, names (1..64 characters, not bytes, of
    well-formed UTF-8 without control characters, C0, DEL or C1; as stored
    and signed up to 256 bytes, which holds the 128-byte names of before;
    Chinese is welcome, overlong forms, surrogates and stray continuation
    bytes are not), phone numbers (made canonical, E.164, by the rules
    dn_valid.h lists, every refusal with its exact message) and
    dn_parse_int's ranges.  Invisible format characters (bidirectional
    controls, zero-width characters, tags) are refused in names and every
    text for people: each range of the table is tried at both ends and just
    outside them, inside a Chinese name, with dn_valid_hidden's exact
    reason; emoji are accepted, except the sequences joined by U+200D or
    tagged by U+E0020..U+E007F, which hold refused characters.  Every
    table entry states its expected result, and each table holds both
    accepted and refused entries, so a validator that says yes (or no) to
    everything fails.
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

/*  The bound the escape tests give dn_valid_hidden_escape: 128 bytes, a
    name's bound in bytes before issue 13 (the bound is the caller's).  */
#define S_ESCAPE_BOUND 128

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
    char max[512], over[512], cjk_max[512], cjk_over[512], emoji_max[512], emoji_over[512];
    s_repeat(max, sizeof max, 'n', DN_MAX_NAME_CHARS);
    s_repeat(over, sizeof over, 'n', DN_MAX_NAME_CHARS + 1);
    /* counted in characters: 64 x "王" (3 bytes) = 192 bytes is taken (the
       old bound, 128 bytes, stopped at 42), 65 are not; 64 x U+1F600 (4
       bytes) = 256 bytes, DN_MAX_NAME_BYTES, is taken, 65 are not */
    cjk_max[0] = emoji_max[0] = '\0';
    for (int i = 0; i < 64; i++) {
        strcat(cjk_max, "\xe7\x8e\x8b");
        strcat(emoji_max, "\xf0\x9f\x98\x80");
    }
    snprintf(cjk_over, sizeof cjk_over, "%s\xe7\x8e\x8b", cjk_max);
    snprintf(emoji_over, sizeof emoji_over, "%s\xf0\x9f\x98\x80", emoji_max);
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
        {emoji_max, 1},
        {over, 0},
        {cjk_over, 0},
        {emoji_over, 0},
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
    assert_int_equal(strlen(max), 64);
    assert_int_equal(strlen(cjk_max), 192);
    assert_int_equal(strlen(cjk_over), 195);
    assert_int_equal(strlen(emoji_max), DN_MAX_NAME_BYTES);
    assert_int_equal(strlen(emoji_over), 260);
    s_table(dn_valid_name, cases, N_OF(cases));
}

/*  The reasons a name is refused, each exact, counted in characters.  */
static void test_name_why(void **state)
{
    char why[DN_HIDDEN_WHY_SIZE], name[512] = "";
    (void)state;
    for (int i = 0; i < 65; i++)
        strcat(name, "\xe7\x8e\x8b"); /* 65 x 王 = 195 bytes */
    assert_false(dn_valid_name_why(name, why, sizeof why));
    assert_string_equal(why, "is 65 characters long, at most 64");
    assert_false(dn_valid_name_why("", why, sizeof why));
    assert_string_equal(why, "is empty");
    assert_false(dn_valid_name_why("Li\tWei", why, sizeof why));
    assert_string_equal(why, "is not UTF-8 text without control characters");
    assert_false(dn_valid_name_why("\xe5\xa4\xa7\xe2\x80\xae\xe7\xb1\xb3", why, sizeof why));
    assert_string_equal(why, "holds U+202E (right-to-left override) at character 2: "
                             DN_HIDDEN_RULE);
    assert_true(dn_valid_name_why("\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3"
                                  "5kg",
                                  why, sizeof why)); /* 东北大米5kg */
}

/*  Names as stored and signed: the old bound (128 bytes, so 128 Latin
    characters, which dn_valid_name refuses now) and the new one (64
    characters of any script, up to 256 bytes) both pass; beyond 256 bytes
    does not.  */
static void test_name_stored(void **state)
{
    char old[512], cjk[512] = "", over[512];
    (void)state;
    s_repeat(old, sizeof old, 'n', 128);
    assert_false(dn_valid_name(old)); /* 128 characters: not as new input */
    assert_true(dn_valid_name_stored(old));
    for (int i = 0; i < 64; i++)
        strcat(cjk, "\xf0\x9f\x98\x80");
    assert_true(dn_valid_name(cjk));
    assert_true(dn_valid_name_stored(cjk));
    s_repeat(over, sizeof over, 'n', DN_MAX_NAME_BYTES + 1);
    assert_false(dn_valid_name_stored(over));
    assert_false(dn_valid_name_stored(""));
    assert_false(dn_valid_name_stored("Li\tWei"));
    assert_true(dn_valid_name_stored("Li\xe2\x80\x8bWei")); /* U+200B, as events held */
}

/*  The one refusal of a bad code: exact, for each kind, non-ASCII and
    ASCII alike, with and without a hint; a good code passes.  */
static void test_code_check(void **state)
{
    char why[DN_CODE_WHY_SIZE], long_sku[80];
    (void)state;
    assert_int_equal(dn_valid_code_check(DN_CODE_SKU, "RICE-5KG", NULL, why, sizeof why), 0);
    assert_int_equal(dn_valid_code_check(DN_CODE_CATEGORY, "rice", NULL, why, sizeof why), 0);
    assert_int_equal(dn_valid_code_check(DN_CODE_SKU, "\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7"
                                         "\xe7\xb1\xb3",
                                         "give the name with --name", why, sizeof why),
                     DN_CODE_ERROR);
    assert_string_equal(why, "'\xe4\xb8\x9c\xe5\x8c\x97\xe5\xa4\xa7\xe7\xb1\xb3' is not a "
                             "SKU: codes are ASCII (1 to 64 printable characters but space, "
                             "':' and '@'), names are not: give the name with --name");
    assert_int_equal(dn_valid_code_check(DN_CODE_CATEGORY, "\xe5\xa4\xa7\xe7\xb1\xb3", NULL,
                                         why, sizeof why),
                     DN_CODE_ERROR);
    assert_string_equal(why, "'\xe5\xa4\xa7\xe7\xb1\xb3' is not a category code: codes are "
                             "ASCII (a letter, then letters, digits, '_', '.', '-'; at most "
                             "32), names are not");
    assert_int_equal(dn_valid_code_check(DN_CODE_PARTNER, "2D", NULL, why, sizeof why),
                     DN_CODE_ERROR);
    assert_string_equal(why, "'2D' is not a partner code: codes are ASCII (a letter, then "
                             "letters, digits, '_', '.', '-'; at most 32), names are not");
    assert_int_equal(dn_valid_code_check(DN_CODE_SITE, "\xf0\x9f\x8f\xaa", NULL, why,
                                         sizeof why),
                     DN_CODE_ERROR); /* an emoji */
    assert_string_equal(why, "'\xf0\x9f\x8f\xaa' is not a site code: codes are ASCII (a "
                             "letter, then letters, digits, '_', '.', '-'; at most 32), names "
                             "are not");
    assert_int_equal(dn_valid_code_check(DN_CODE_SITE, NULL, NULL, why, sizeof why),
                     DN_CODE_ERROR);
    /* a long text is cut at 40 bytes on a whole character: 14 x 米 is 42
       bytes, 13 of them (39 bytes) are shown */
    long_sku[0] = '\0';
    for (int i = 0; i < 14; i++)
        strcat(long_sku, "\xe7\xb1\xb3");
    assert_int_equal(dn_valid_code_check(DN_CODE_SKU, long_sku, NULL, why, sizeof why),
                     DN_CODE_ERROR);
    assert_int_equal(strchr(why + 1, '\'') - why - 1, 39);
    assert_int_equal(dn_exit_code(DN_CODE_ERROR), 65);
    /* why may be NULL: the caller only wants to know */
    assert_int_equal(dn_valid_code_check(DN_CODE_SKU, "A B", NULL, NULL, 0), DN_CODE_ERROR);
}

/*  Writes code point cp as UTF-8 into out (5 bytes); returns out.  */
static char *s_utf8(unsigned cp, char out[5])
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp, o[1] = 0;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        o[2] = 0;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F)), o[3] = 0;
    } else {
        o[0] = (unsigned char)(0xF0 | cp >> 18);
        o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (unsigned char)(0x80 | (cp & 0x3F)), o[4] = 0;
    }
    return out;
}

/*  The ranges issue 11 names and the rest of Unicode's format characters
    (Cf), and the line and paragraph separators: both ends of each are
    refused, in a name and in any text, and dn_valid_hidden names the
    character and its place; the code points just outside each range are
    accepted.  */
static void test_hidden_ranges(void **state)
{
    static const struct {
        unsigned first, last;
        const char *what;
        unsigned below, above; /* accepted neighbours (0: not tried) */
    } ranges[] = {
        {0x200B, 0x200F, NULL, 0x200A, 0x2010},   /* zero-width, LRM, RLM */
        {0x202A, 0x202E, NULL, 0x2027, 0x202F},   /* embeddings, overrides */
        {0x2060, 0x2064, NULL, 0x205F, 0x2065},   /* word joiner, invisible ops */
        {0x2066, 0x206F, NULL, 0x2065, 0x2070},   /* isolates, deprecated */
        {0xFEFF, 0xFEFF, "zero width no-break space", 0xFEFE, 0xFF00},
        {0x061C, 0x061C, "Arabic letter mark", 0x061B, 0x061D},
        {0x00AD, 0x00AD, "soft hyphen", 0x00AC, 0x00AE},
        {0x180E, 0x180E, "Mongolian vowel separator", 0x180D, 0x180F},
        {0xFFF9, 0xFFFB, "interlinear annotation character", 0xFFF8, 0xFFFC},
        {0xE0000, 0xE007F, "tag character", 0xDFFFF, 0xE0080},
        {0x2028, 0x2029, NULL, 0x2027, 0},        /* line, paragraph separators */
        {0x0600, 0x0605, "Arabic number sign", 0x05FF, 0x0606},
        {0x06DD, 0x06DD, "Arabic end of ayah", 0x06DC, 0x06DE},
        {0x070F, 0x070F, "Syriac abbreviation mark", 0x070E, 0x0710},
        {0x0890, 0x0891, "Arabic currency mark above", 0x088F, 0x0892},
        {0x08E2, 0x08E2, "Arabic disputed end of ayah", 0x08E1, 0x08E3},
        {0x110BD, 0x110BD, "Kaithi number sign", 0x110BC, 0x110BE},
        {0x110CD, 0x110CD, "Kaithi number sign above", 0x110CC, 0x110CE},
        {0x13430, 0x1343F, "Egyptian hieroglyph format control", 0x1342F, 0x13440},
        {0x1BCA0, 0x1BCA3, "shorthand format control", 0x1BC9F, 0x1BCA4},
        {0x1D173, 0x1D17A, "musical symbol format control", 0x1D172, 0x1D17B},
    };
    char name[64], c[5], why[DN_HIDDEN_WHY_SIZE], want[DN_HIDDEN_WHY_SIZE];
    size_t refused = 0;
    (void)state;

    for (size_t i = 0; i < N_OF(ranges); i++) {
        const unsigned ends[2] = {ranges[i].first, ranges[i].last};
        const unsigned outside[2] = {ranges[i].below, ranges[i].above};
        for (int e = 0; e < 2; e++) {
            /* 王小 + the character + 明: the character is the third */
            snprintf(name, sizeof name, "\xe7\x8e\x8b\xe5\xb0\x8f%s\xe6\x98\x8e",
                     s_utf8(ends[e], c));
            memset(why, 0, sizeof why);
            if (dn_valid_name(name) || dn_valid_text(name, 200) ||
                dn_valid_hidden(name, why, sizeof why) != ends[e])
                print_error("U+%04X was accepted\n", ends[e]);
            assert_false(dn_valid_name(name));
            assert_false(dn_valid_text(name, 200));
            assert_int_equal(dn_valid_hidden(name, why, sizeof why), ends[e]);
            assert_int_equal(dn_valid_hidden(name, NULL, 0), ends[e]);
            /* an event may carry it: the server shows it escaped */
            assert_true(dn_valid_text_stored(name, 200));
            {
                char shown[S_ESCAPE_BOUND + 1], esc[64];
                snprintf(esc, sizeof esc, "\xe7\x8e\x8b\xe5\xb0\x8f<U+%04X>\xe6\x98\x8e",
                         ends[e]);
                assert_int_equal(dn_valid_hidden_escape(name, shown, S_ESCAPE_BOUND), 1);
                assert_string_equal(shown, esc);
            }
            if (ranges[i].what) {
                snprintf(want, sizeof want,
                         "holds U+%04X (%s) at character 3: invisible characters that "
                         "can hide or reorder text are refused",
                         ends[e], ranges[i].what);
                assert_string_equal(why, want);
            } else {
                snprintf(want, sizeof want, "holds U+%04X (", ends[e]);
                assert_memory_equal(why, want, strlen(want));
                assert_non_null(strstr(why, ") at character 3: " DN_HIDDEN_RULE));
            }
            refused++;
            if (!outside[e])
                continue;
            snprintf(name, sizeof name, "\xe7\x8e\x8b\xe5\xb0\x8f%s\xe6\x98\x8e",
                     s_utf8(outside[e], c));
            if (!dn_valid_name(name))
                print_error("U+%04X was refused\n", outside[e]);
            assert_true(dn_valid_name(name));
            assert_true(dn_valid_text(name, 200));
            assert_int_equal(dn_valid_hidden(name, why, sizeof why), 0);
            {
                char shown[S_ESCAPE_BOUND + 1];
                assert_int_equal(dn_valid_hidden_escape(name, shown, S_ESCAPE_BOUND), 0);
                assert_string_equal(shown, name);
            }
        }
    }
    assert_int_equal(refused, 2 * N_OF(ranges));
    /* the stored shape is the rule without the table: nothing else */
    assert_false(dn_valid_text_stored("Li\tWei", 200));
    assert_false(dn_valid_text_stored("Li\xc2\x85Wei", 200)); /* C1 */
    assert_false(dn_valid_text_stored("\xc0\xaf", 200));
    assert_false(dn_valid_text_stored("", 200));
    assert_false(dn_valid_text_stored("abc", 2));
    assert_true(dn_valid_text_stored("abc", 3));
}

/*  What HQ is shown of a name an event carries: each invisible character
    as <U+XXXX>, everything else as it was, within the name's bound.  */
static void test_hidden_escape(void **state)
{
    char shown[S_ESCAPE_BOUND + 1], name[S_ESCAPE_BOUND + 1], want[S_ESCAPE_BOUND + 1];
    (void)state;

    /* a Chinese name, an emoji with its variation selector and a Persian
       name without joiners: untouched */
    assert_int_equal(dn_valid_hidden_escape("\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e", shown,
                                            S_ESCAPE_BOUND),
                     0);
    assert_string_equal(shown, "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e");
    assert_int_equal(dn_valid_hidden_escape("Li \xe2\x9d\xa4\xef\xb8\x8f", shown, 128), 0);
    assert_string_equal(shown, "Li \xe2\x9d\xa4\xef\xb8\x8f");
    /* pasted from a chat: U+200B twice, U+202E, a tag (4 bytes, 5 digits) */
    assert_int_equal(dn_valid_hidden_escape("\xe2\x80\x8bLi\xe2\x80\xaeWei\xe2\x80\x8b"
                                            "A\xf3\xa0\x81\x81",
                                            shown, S_ESCAPE_BOUND),
                     4);
    assert_string_equal(shown, "<U+200B>Li<U+202E>Wei<U+200B>A<U+E0041>");

    /* the bound: 16 x U+200B (48 bytes) is 16 x 8 = 128 bytes shown,
       exactly S_ESCAPE_BOUND: no cut */
    name[0] = want[0] = '\0';
    for (int i = 0; i < 16; i++) {
        strcat(name, "\xe2\x80\x8b");
        strcat(want, "<U+200B>");
    }
    assert_int_equal(dn_valid_hidden_escape(name, shown, S_ESCAPE_BOUND), 16);
    assert_int_equal(strlen(shown), 128);
    assert_string_equal(shown, want);
    /* one byte more ("a": 129): cut after the 15th escape, the last that
       leaves room for "..." (15 x 8 + 3 = 123 bytes) */
    strcat(name, "a");
    assert_int_equal(dn_valid_hidden_escape(name, shown, S_ESCAPE_BOUND), 16);
    want[15 * 8] = '\0';
    strcat(want, "...");
    assert_int_equal(strlen(shown), 123);
    assert_string_equal(shown, want);
    /* 40 x U+200B and "Wei": 123 bytes sent, 323 to show; all 40 counted,
       the same 15 shown */
    name[0] = '\0';
    for (int i = 0; i < 40; i++)
        strcat(name, "\xe2\x80\x8b");
    strcat(name, "Wei");
    assert_int_equal(strlen(name), 123);
    assert_int_equal(dn_valid_hidden_escape(name, shown, S_ESCAPE_BOUND), 40);
    assert_string_equal(shown, want);
    /* a cut never splits a character: 王小明 in 8 bytes is 王... (6) */
    assert_int_equal(dn_valid_hidden_escape("\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e", shown, 8),
                     0);
    assert_string_equal(shown, "\xe7\x8e\x8b...");

    /* the list of what a name holds, first come first, each once */
    assert_int_equal(dn_valid_hidden_list("Li\xe2\x80\x8bW\xe2\x80\xae\xe2\x80\x8b" "ei", want,
                                          sizeof want),
                     2);
    assert_string_equal(want, "U+200B (zero width space), U+202E (right-to-left override)");
    assert_int_equal(dn_valid_hidden_list("\xe7\x8e\x8b\xe5\xb0\x8f", want, sizeof want), 0);
    assert_string_equal(want, "");
    /* 80 bytes: the first (25) and room for the tail (40), not the second */
    assert_int_equal(dn_valid_hidden_list("\xe2\x80\x8b\xe2\x80\xae\xe2\x81\xa6", want, 80),
                     3);
    assert_string_equal(want, "U+200B (zero width space) and 2 more");
}

/*  The named characters of the bidirectional attacks, each reason exact;
    where in the text, counted in characters; and names people write.  */
static void test_hidden_names(void **state)
{
    static const struct {
        const char *text;
        const char *why; /* NULL: accepted */
    } cases[] = {
        /* "Wang" RLO "gnaF": shows as "WangFang" read the other way */
        {"Wang\xe2\x80\xaegnaF", "holds U+202E (right-to-left override) at character 5"},
        {"\xe2\x80\xadX", "holds U+202D (left-to-right override) at character 1"},
        {"a\xe2\x80\xab" "b", "holds U+202B (right-to-left embedding) at character 2"},
        {"ab\xe2\x80\xac", "holds U+202C (pop directional formatting) at character 3"},
        {"\xe2\x81\xa7x", "holds U+2067 (right-to-left isolate) at character 1"},
        {"\xe2\x81\xa8x", "holds U+2068 (first strong isolate) at character 1"},
        {"x\xe2\x81\xa9", "holds U+2069 (pop directional isolate) at character 2"},
        {"\xe2\x80\x8fx", "holds U+200F (right-to-left mark) at character 1"},
        {"\xe2\x80\x8ex", "holds U+200E (left-to-right mark) at character 1"},
        {"Li\xe2\x80\x8bWei", "holds U+200B (zero width space) at character 3"},
        {"\xef\xbb\xbfLi", "holds U+FEFF (zero width no-break space) at character 1"},
        {"Li\xe2\x81\xa0", "holds U+2060 (word joiner) at character 3"},
        /* the first one is named, whatever follows */
        {"\xe7\x8e\x8b\xe2\x80\x8c\xe2\x80\xae",
         "holds U+200C (zero width non-joiner) at character 2"},
        /* emoji: accepted alone and with a variation selector ... */
        {"\xf0\x9f\x98\x80 Li", NULL},             /* U+1F600 */
        {"\xe2\x9d\xa4\xef\xb8\x8f", NULL},        /* U+2764 U+FE0F */
        {"Li\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", NULL}, /* a thumb, skin tone */
        /* ... refused when joined by U+200D or tagged */
        {"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9",
         "holds U+200D (zero width joiner) at character 2"},
        {"\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2\xf3\xa0\x81\xbf",
         "holds U+E0067 (tag character) at character 2"},
        /* names of every script */
        {"\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e", NULL},   /* 王小明 */
        {"\xe6\x9d\x8e \xe5\xa8\x9c\xe5\xa8\x9c", NULL},  /* 李 娜娜 */
        {"\xd9\x85\xd8\xad\xd9\x85\xd8\xaf", NULL},       /* محمد: right-to-left letters */
        {"\xd7\xa9\xd7\xa8\xd7\x94 Cohen", NULL},           /* שרה */
        {"Zo\xc3\xab", NULL},
        /* not UTF-8: stepped over, nothing hidden */
        {"\xff\xe2\x80", NULL},
    };
    char why[DN_HIDDEN_WHY_SIZE], want[DN_HIDDEN_WHY_SIZE];
    size_t accepted = 0;
    (void)state;

    for (size_t i = 0; i < N_OF(cases); i++) {
        unsigned cp;
        memset(why, 0, sizeof why);
        cp = dn_valid_hidden(cases[i].text, why, sizeof why);
        if (!cases[i].why) {
            if (cp)
                print_error("entry %zu: refused: %s\n", i, why);
            assert_int_equal(cp, 0);
            assert_string_equal(why, "");
            if (i != N_OF(cases) - 1) {
                assert_true(dn_valid_name(cases[i].text));
                accepted++;
            }
            continue;
        }
        snprintf(want, sizeof want, "%s: " DN_HIDDEN_RULE, cases[i].why);
        assert_string_equal(why, want);
        assert_false(dn_valid_name(cases[i].text));
    }
    assert_int_equal(accepted, 8);
    assert_int_equal(dn_valid_hidden(NULL, why, sizeof why), 0);
    /* a short buffer is cut, never overrun */
    memset(why, 'x', sizeof why);
    assert_int_equal(dn_valid_hidden("\xe2\x80\xae", why, 8), 0x202E);
    assert_string_equal(why, "holds U");
    assert_int_equal(why[8], 'x');
    /* the longest reason fits DN_HIDDEN_WHY_SIZE: the longest name, at
       character 128 of a 4-byte character ending the longest name */
    {
        char longest[S_ESCAPE_BOUND + 1];
        memset(longest, 'a', S_ESCAPE_BOUND - 4);
        strcpy(longest + S_ESCAPE_BOUND - 4, "\xf0\x93\x90\xbf"); /* U+1343F */
        assert_int_equal(dn_valid_hidden(longest, why, sizeof why), 0x1343F);
        assert_string_equal(why, "holds U+1343F (Egyptian hieroglyph format control) at "
                                 "character 125: " DN_HIDDEN_RULE);
        assert_true(strlen(why) + 1 < sizeof why);
    }
}

/*  One phone as typed, the default country code, and either the canonical
    phone or the exact message.  */
typedef struct {
    const char *text;
    int country;
    const char *canonical; /* NULL: refused with why */
    const char *why;
} phone_case_t;

#define FW_PLUS   "\xef\xbc\x8b" /* ＋ U+FF0B */
#define FW_SPACE  "\xe3\x80\x80" /* U+3000 ideographic space */
#define FW_HYPHEN "\xef\xbc\x8d" /* － U+FF0D */
#define FW_DOT    "\xef\xbc\x8e" /* ． U+FF0E */
#define FW_OPEN   "\xef\xbc\x88" /* （ U+FF08 */
#define FW_CLOSE  "\xef\xbc\x89" /* ） U+FF09 */
#define EN_DASH   "\xe2\x80\x93" /* – U+2013 */
#define NBSP      "\xc2\xa0"     /* U+00A0 */
#define FW(d)     "\xef\xbc" d   /* a full-width digit: d is its last byte */
#define FW_1      FW("\x91")
#define FW_3      FW("\x93")
#define FW_8      FW("\x98")
#define FW_0      FW("\x90")
#define FW_6      FW("\x96")
#define NOT_PHONE "' is not a phone number: "
#define BAD_CHAR  "' is not a digit, a space, '-', '.', '(', ')' or a leading '+'"
#define LENGTH    " digits, a phone number has 7 to 15 with its country code"

/*  Every form the rules name (dn_valid.h), and each refusal with its
    message.  The four spellings of one customer that used to be four
    members come first.  */
static void test_phone_normalize(void **state)
{
    (void)state;
    const phone_case_t cases[] = {
        /* rule 2 and 3 (CC 86): one customer, every spelling */
        {"+86 138 0013 8000", 86, "+8613800138000", NULL},
        {"8613800138000", 86, "+8613800138000", NULL},      /* 86 + 11 digits */
        {"13800138000", 86, "+8613800138000", NULL},        /* a mobile */
        {"013800138000", 86, "+8613800138000", NULL},       /* trunk 0 */
        {"0086 138 0013 8000", 86, "+8613800138000", NULL}, /* 00 prefix */
        {"+86-138-0013-8000", 86, "+8613800138000", NULL},
        {"(+86) 138.0013.8000", 86, "+8613800138000", NULL},
        {"138" EN_DASH "0013" EN_DASH "8000", 86, "+8613800138000", NULL},
        {"138" NBSP "0013" NBSP "8000", 86, "+8613800138000", NULL},
        /* rule 1: a Chinese IME: full-width digits, plus, space, hyphen */
        {FW_1 FW_3 FW_8 FW_0 FW_0 FW_1 FW_3 FW_8 FW_0 FW_0 FW_0, 86, "+8613800138000",
         NULL},
        {FW_PLUS FW_8 FW_6 FW_SPACE FW_1 FW_3 FW_8 FW_HYPHEN FW_0 FW_0 FW_1 FW_3 FW_HYPHEN
             FW_8 FW_0 FW_0 FW_0,
         86, "+8613800138000", NULL},
        {FW_OPEN "010" FW_CLOSE "1234" FW_DOT "5678", 86, "+861012345678", NULL},
        /* landlines, CC 86 */
        {"010 1234 5678", 86, "+861012345678", NULL},
        {"(010) 1234-5678", 86, "+861012345678", NULL},
        {"861012345678", 86, "+861012345678", NULL},        /* 86 + 10 digits */
        {"+86 (0)10 1234 5678", 86, "+861012345678", NULL}, /* rule 4's trunk 0 */
        {"+86 00 10 1234 5678", 86, "+861012345678", NULL}, /* every 0 after 86 */
        /* found by fuzz_parse: one 0 dropped left +8603381, not a fixed point */
        {"+8600338-1", 0, NULL, "'+8600338-1" NOT_PHONE "+863381 has 6" LENGTH},
        {"0755 1234 5678", 86, "+8675512345678", NULL},
        {"+86 755 1234 5678", 0, "+8675512345678", NULL},
        /* other countries, typed with their code: CC does not matter */
        {"+1 212 555 0100", 86, "+12125550100", NULL},
        {"+852 2123 4567", 86, "+85221234567", NULL},
        {"00852 2123 4567", 86, "+85221234567", NULL},
        {"+44 20 7946 0000", 86, "+442079460000", NULL},
        {"+49 30 1234567", 0, "+49301234567", NULL},
        {"0049 30 1234567", 0, "+49301234567", NULL},
        /* rule 3, other default countries */
        {"1 212 555 0100", 1, "+12125550100", NULL}, /* North America's trunk 1 */
        {"(212) 555-0100", 1, "+12125550100", NULL},
        {"020 7946 0000", 44, "+442079460000", NULL},
        {"2123 4567", 852, "+85221234567", NULL},
        {"030 1234567", 49, "+49301234567", NULL},
        {"13800138000", 852, "+85213800138000", NULL}, /* 852 is not China */
        /* E.164 length: 7 to 15 digits with the country code */
        {"+1234567", 0, "+1234567", NULL},
        {"+123456789012345", 0, "+123456789012345", NULL},
        {"+123456", 0, NULL, "'+123456" NOT_PHONE "+123456 has 6" LENGTH},
        {"+1234567890123456", 0, NULL,
         "'+1234567890123456" NOT_PHONE "+1234567890123456 has 16" LENGTH},
        {"12", 86, NULL, "'12" NOT_PHONE "+8612 has 4" LENGTH},
        /* CC 86: a mobile number has 11 digits */
        {"12345", 86, NULL,
         "'12345" NOT_PHONE
         "a Chinese mobile number has 11 digits after +86, this one has 5"},
        {"138001380001", 86, NULL,
         "'138001380001" NOT_PHONE
         "a Chinese mobile number has 11 digits after +86, this one has 12"},
        {"+86 138 0013 800", 86, NULL,
         "'+86 138 0013 800" NOT_PHONE
         "a Chinese mobile number has 11 digits after +86, this one has 10"},
        {"86 138 0013 800", 86, NULL, /* 12 digits: the code without '+', one missing */
         "'86 138 0013 800" NOT_PHONE
         "a Chinese mobile number has 11 digits after +86, this one has 10"},
        /* no default country */
        {"030 1234567", 0, NULL,
         "'030 1234567" NOT_PHONE "no country code: type it with + and the country code "
                                  "(no default country is set)"},
        {"13800138000", 0, NULL,
         "'13800138000" NOT_PHONE "no country code: type it with + and the country code "
                                  "(no default country is set)"},
        /* country codes */
        {"+0 123 4567", 86, NULL,
         "'+0 123 4567" NOT_PHONE "a country code never starts with 0"},
        {"000 123 4567", 86, NULL,
         "'000 123 4567" NOT_PHONE "a country code never starts with 0"},
        /* characters */
        {"", 86, NULL,
         "''"
         " is not a phone number: no digits"},
        {" - ( ) . ", 86, NULL, "' - ( ) . " NOT_PHONE "no digits"},
        {"+", 86, NULL, "'+" NOT_PHONE "no digits"},
        {NULL, 86, NULL, "no phone number given"},
        {"138OO138000", 86, NULL, "'138OO138000" NOT_PHONE "'O" BAD_CHAR},
        {FW_1 FW_3 FW_8 "\xef\xbc\xaf", 86, NULL, /* full-width letter O */
         "'" FW_1 FW_3 FW_8 "\xef\xbc\xaf" NOT_PHONE "'\xef\xbc\xaf" BAD_CHAR},
        {"138-0013-8000 ext 5", 86, NULL, "'138-0013-8000 ext 5" NOT_PHONE "'e" BAD_CHAR},
        {"138/0013/8000", 86, NULL, "'138/0013/8000" NOT_PHONE "'/" BAD_CHAR},
        {"138_0013_8000", 86, NULL, "'138_0013_8000" NOT_PHONE "'_" BAD_CHAR},
        {"86+13800138000", 86, NULL,
         "'86+13800138000" NOT_PHONE "a '+' may only come first"},
        {"++8613800138000", 86, NULL,
         "'++8613800138000" NOT_PHONE "a '+' may only come first"},
        {"+" FW_PLUS "86", 86, NULL,
         "'+" FW_PLUS "86" NOT_PHONE "a '+' may only come first"},
        {"138\xc0\xaf", 86, NULL, "'138\xc0\xaf" NOT_PHONE "it is not UTF-8 text"},
        {"123456789012345678901", 86, NULL,
         "'123456789012345678901" NOT_PHONE "more than 20 digits"},
    };
    static const int countries[] = {DN_COUNTRY_NONE, 1, 44, 86, 852, DN_COUNTRY_MAX};
    size_t accepted = 0;
    for (size_t i = 0; i < N_OF(cases); i++) {
        char out[DN_PHONE_SIZE], why[DN_PHONE_WHY_SIZE + 64] = "";
        memset(out, '#', sizeof out);
        int rc =
            dn_phone_normalize(cases[i].text, cases[i].country, out, why, sizeof why);
        if (cases[i].canonical) {
            if (rc != 0)
                print_error("entry %zu (\"%s\") refused: %s\n", i, cases[i].text, why);
            assert_int_equal(rc, 0);
            assert_string_equal(out, cases[i].canonical);
            /* a whole phone, typed as a search (member find), is the
               beginning of its own canonical form, so it finds its member */
            {
                char prefix[DN_PHONE_SIZE + 8];
                assert_int_equal(dn_phone_prefix(cases[i].text, cases[i].country, prefix,
                                                 sizeof prefix),
                                 0);
                assert_string_equal(prefix, cases[i].canonical);
            }
            /* canonical is a fixed point, whatever the default country */
            assert_int_equal(dn_valid_phone(out), 1);
            for (size_t c = 0; c < N_OF(countries); c++) {
                char again[DN_PHONE_SIZE];
                assert_int_equal(dn_phone_normalize(out, countries[c], again, NULL, 0),
                                 0);
                assert_string_equal(again, out);
            }
            accepted++;
        } else {
            if (rc != DN_EPARSE)
                print_error("entry %zu (\"%s\") accepted as %s\n", i,
                            cases[i].text ? cases[i].text : "(null)", out);
            assert_int_equal(rc, DN_EPARSE);
            assert_string_equal(why, cases[i].why);
            assert_int_equal((unsigned char)out[0], '#'); /* out untouched */
        }
    }
    assert_true(accepted > 0 && accepted < N_OF(cases));
    assert_int_equal(DN_PHONE_SIZE, 22);
}

/*  The message cuts the text at 40 bytes; why may be NULL.  */
static void test_phone_why_cut(void **state)
{
    (void)state;
    char out[DN_PHONE_SIZE], why[DN_PHONE_WHY_SIZE];
    const char *long_text = "1234567890 1234567890 1234567890 1234567890 x";
    assert_int_equal(dn_phone_normalize(long_text, 86, out, why, sizeof why), DN_EPARSE);
    assert_string_equal(why, "'1234567890 1234567890 1234567890 1234567" NOT_PHONE
                             "more than 20 digits");
    assert_int_equal(dn_phone_normalize("x", 86, out, NULL, 0), DN_EPARSE);
    /* 14 full-width digits are 42 bytes: cut to 13 whole characters (39) */
    char wide[64] = "", want[256];
    for (int i = 0; i < 14; i++)
        strcat(wide, FW_1);
    assert_int_equal(dn_phone_normalize(wide, 86, out, why, sizeof why), DN_EPARSE);
    snprintf(want, sizeof want, "'%.39s" NOT_PHONE "+8611111111111111 has 16" LENGTH,
             wide);
    assert_string_equal(why, want);
}

static void test_valid_phone(void **state)
{
    (void)state;
    const case_t cases[] = {
        {"+8613800138000", 1},
        {"+861012345678", 1},
        {"+1234567", 1},
        {"+123456789012345", 1},
        {"13800138000", 0},     /* no '+': not canonical */
        {"+86 13800138000", 0}, /* a phone, but not canonical */
        {"+861380013800", 0},   /* a mobile number short of a digit */
        {"+860101234567", 0},   /* canonical drops the 0 */
        {"+123456", 0},
        {"+1234567890123456", 0},
        {"+0123456789", 0},
        {"", 0},
        {NULL, 0},
        {"86+138", 0},
    };
    s_table(dn_valid_phone, cases, N_OF(cases));
}

/*  What an event may carry: canonical phones, and older agents' numbers
    as typed less separators.  */
static void test_valid_phone_wire(void **state)
{
    (void)state;
    const case_t cases[] = {
        {"+8613800138000", 1},
        {"13800138000", 1},
        {"013800138000", 1},
        {"12345", 1}, /* 5 digits: the least */
        {"+12345678901234567890", 1},
        {"1234", 0},
        {"123456789012345678901", 0},
        {"+86 138", 0},
        {"86+13800138000", 0},
        {"+", 0},
        {"", 0},
        {NULL, 0},
    };
    s_table(dn_valid_phone_wire, cases, N_OF(cases));
}

/*  dn_phone_prefix: the beginning of the canonical phones a search typed
    means.  Each figure follows the rules of dn_phone_normalize: without a
    '+' the national number of the default country (trunk 0 dropped), with
    '+' or 00 an E.164 beginning; at least 3 digits; separators and
    full-width digits read as in a whole phone.  */
static void test_phone_prefix(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int country;
        const char *prefix; /* NULL: DN_EPARSE */
    } cases[] = {
        {"138", 86, "+86138"},
        {"138 0013", 86, "+861380013"}, /* the brief's example */
        {"138-0013", 86, "+861380013"},
        {"0138", 86, "+86138"},        /* the trunk 0 */
        {"010 1234", 86, "+86101234"}, /* a Beijing landline */
        {"+86 138", 86, "+86138"},
        {"0086 138", 86, "+86138"},          /* 00: an E.164 beginning */
        {"+86 0138", 86, "+86138"},          /* no national number starts with 0 */
        {"+8613", DN_COUNTRY_NONE, "+8613"}, /* '+': no country needed */
        {"+852 2123", 86, "+8522123"},
        {"2123", 852, "+8522123"},
        {"020 79", 44, "+442079"}, /* trunk 0 of another country */
        {"212 555", 1, "+1212555"},
        {FW_1 FW_3 FW_8, 86, "+86138"}, /* typed with a Chinese IME */
        {FW_PLUS FW_8 FW_6 FW_1 FW_3 FW_8, 86, "+86138"},
        {"8613800138000", 86, "+8613800138000"}, /* 86 typed without its '+' */
        {"13", 86, NULL},                        /* fewer than 3 digits */
        {"+86", 86, NULL},                       /* 2 digits: most of a network */
        {"+861", 86, "+861"},                    /* 3 digits */
        {"0 1", 86, NULL},
        {"", 86, NULL},
        {"138", DN_COUNTRY_NONE, NULL}, /* no '+' and no country */
        {"+0123", 86, NULL},            /* no country code starts with 0 */
        {"000", 86, NULL},
        {"Li", 86, NULL}, /* a name: searched as a name */
        {"138a", 86, NULL},
        {"13+8", 86, NULL},
        {"123456789012345678901", 86, NULL}, /* more than 20 digits */
        {NULL, 86, NULL},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        char out[DN_PHONE_SIZE + 8];
        int rc = dn_phone_prefix(cases[i].text, cases[i].country, out, sizeof out);
        if (cases[i].prefix) {
            if (rc != 0)
                print_error("entry %zu (\"%s\") refused\n", i, cases[i].text);
            assert_int_equal(rc, 0);
            assert_string_equal(out, cases[i].prefix);
        } else {
            if (rc != DN_EPARSE)
                print_error("entry %zu accepted as %s\n", i, out);
            assert_int_equal(rc, DN_EPARSE);
        }
    }
    /* "+86138" and its NUL are 7 bytes: 6 is too short */
    {
        char small[7];
        assert_int_equal(dn_phone_prefix("138", 86, small, 6), DN_EPARSE);
        assert_int_equal(dn_phone_prefix("138", 86, small, 7), 0);
        assert_string_equal(small, "+86138");
    }
    assert_int_equal(DN_PHONE_PREFIX_MIN_DIGITS, 3);
}

static void test_phone_country(void **state)
{
    (void)state;
    static const struct {
        const char *currency;
        int country;
    } of[] = {{"CNY", 86}, {"HKD", 852}, {"MOP", 853}, {"TWD", 886}, {"USD", 1},
              {"CAD", 1},  {"GBP", 44},  {"JPY", 81},  {"EUR", 0},   {"CHF", 0},
              {"XYZ", 0},  {"cny", 0},   {NULL, 0}};
    static const struct {
        const char *text;
        int rc, country;
    } parse[] = {{"86", 0, 86},          {"+86", 0, 86},         {"1", 0, 1},
                 {"999", 0, 999},        {"852", 0, 852},        {"0", DN_EPARSE, 0},
                 {"086", DN_EPARSE, 0},  {"1000", DN_EPARSE, 0}, {"", DN_EPARSE, 0},
                 {"+", DN_EPARSE, 0},    {"8a", DN_EPARSE, 0},   {" 86", DN_EPARSE, 0},
                 {"++86", DN_EPARSE, 0}, {NULL, DN_EPARSE, 0}};
    for (size_t i = 0; i < N_OF(of); i++)
        assert_int_equal(dn_phone_country_of_currency(of[i].currency), of[i].country);
    for (size_t i = 0; i < N_OF(parse); i++) {
        int country = -1;
        assert_int_equal(dn_phone_country_parse(parse[i].text, &country), parse[i].rc);
        assert_int_equal(country, parse[i].rc ? -1 : parse[i].country);
    }
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
        cmocka_unit_test(test_name_why),
        cmocka_unit_test(test_name_stored),
        cmocka_unit_test(test_code_check),
        cmocka_unit_test(test_hidden_ranges),
        cmocka_unit_test(test_hidden_escape),
        cmocka_unit_test(test_hidden_names),
        cmocka_unit_test(test_phone_normalize),
        cmocka_unit_test(test_phone_why_cut),
        cmocka_unit_test(test_valid_phone),
        cmocka_unit_test(test_valid_phone_wire),
        cmocka_unit_test(test_phone_prefix),
        cmocka_unit_test(test_phone_country),
        cmocka_unit_test(test_parse_int),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  dn_valid -- accepted shapes of codes, SKUs, names and phones.  */
#include "dn_valid.h"
#include "dn_error.h"
#include "dn_i18n.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_is_alpha(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int s_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

int dn_valid_code(const char *text)
{
    size_t len;
    if (!text || !s_is_alpha((unsigned char)text[0]))
        return 0;
    len = strlen(text);
    if (len > DN_MAX_CODE_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)text[i];
        if (!s_is_alpha(c) && !s_is_digit(c) && c != '_' && c != '.' && c != '-')
            return 0;
    }
    return 1;
}

void dn_code_fold(char *text)
{
    for (; *text; text++)
        if (*text >= 'A' && *text <= 'Z')
            *text = (char)(*text - 'A' + 'a');
}

int dn_code_equal(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z')
            y += 'a' - 'A';
        if (x != y)
            return 0;
        if (!x)
            return 1;
    }
}

int dn_valid_sku(const char *text)
{
    size_t len;
    if (!text)
        return 0;
    len = strlen(text);
    if (len == 0 || len > DN_MAX_SKU_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)text[i];
        if (c <= ' ' || c > '~' || c == ':' || c == '@')
            return 0;
    }
    return 1;
}

/*  Returns the length of the UTF-8 sequence at s, or 0 if it is malformed,
    overlong, a surrogate or beyond U+10FFFF.  */
static size_t s_utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    unsigned cp;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/*  Decodes the UTF-8 sequence at s into *cp; returns its length, or 0 if
    it is malformed (see s_utf8_len).  */
static size_t s_utf8_decode(const unsigned char *s, unsigned *cp)
{
    size_t n = s_utf8_len(s);
    if (n == 1)
        *cp = s[0];
    else if (n == 2)
        *cp = ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    else if (n == 3)
        *cp = ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    else if (n == 4)
        *cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
              (s[3] & 0x3Fu);
    return n;
}

/* -- invisible format characters -------------------------------------------

   Characters drawn as nothing that change how the text around them is
   shown, joined or compared.  A right-to-left override (U+202E) makes a
   table print "Wang Fang" for a name stored the other way round and
   reorders the columns after it on the line; a zero-width space or joiner
   makes two names that look alike differ, so one customer signs up twice
   under one visible name or a partner passes for another; tag characters
   carry hidden text.  Names, notes and reasons are shown in HQ's tables
   and statements, so they hold none of them: Unicode 15.1's format
   characters (General_Category Cf), the whole tag block U+E0000..U+E007F,
   and the line and paragraph separators U+2028 U+2029, which break a
   table's line where no newline is.  Codes and SKUs are ASCII and cannot
   hold them.  The joiners U+200C and U+200D are refused too, though some
   Persian and Indic spellings and emoji sequences (a family, a flag with
   a tag) use them: a name is typed without them and reads the same.
   Emoji themselves, variation selectors and combining marks are visible
   or attach to what they follow, and are accepted.

   C0 controls, DEL and C1 controls are refused by dn_valid_text already,
   as control characters.  */

static const struct {
    unsigned first, last; /* a range of code points, both included */
    const char *what;     /* its Unicode name, or what the range holds: N_(), shown
                             through _() by dn_valid_hidden, in English by
                             dn_valid_hidden_list (stored in central.db) */
} s_hidden[] = {
    {0x00AD, 0x00AD, N_("soft hyphen")},
    {0x0600, 0x0605, N_("Arabic number sign")},
    {0x061C, 0x061C, N_("Arabic letter mark")},
    {0x06DD, 0x06DD, N_("Arabic end of ayah")},
    {0x070F, 0x070F, N_("Syriac abbreviation mark")},
    {0x0890, 0x0891, N_("Arabic currency mark above")},
    {0x08E2, 0x08E2, N_("Arabic disputed end of ayah")},
    {0x180E, 0x180E, N_("Mongolian vowel separator")},
    {0x200B, 0x200B, N_("zero width space")},
    {0x200C, 0x200C, N_("zero width non-joiner")},
    {0x200D, 0x200D, N_("zero width joiner")},
    {0x200E, 0x200E, N_("left-to-right mark")},
    {0x200F, 0x200F, N_("right-to-left mark")},
    {0x2028, 0x2028, N_("line separator")},
    {0x2029, 0x2029, N_("paragraph separator")},
    {0x202A, 0x202A, N_("left-to-right embedding")},
    {0x202B, 0x202B, N_("right-to-left embedding")},
    {0x202C, 0x202C, N_("pop directional formatting")},
    {0x202D, 0x202D, N_("left-to-right override")},
    {0x202E, 0x202E, N_("right-to-left override")},
    {0x2060, 0x2060, N_("word joiner")},
    {0x2061, 0x2064, N_("invisible operator")},
    {0x2066, 0x2066, N_("left-to-right isolate")},
    {0x2067, 0x2067, N_("right-to-left isolate")},
    {0x2068, 0x2068, N_("first strong isolate")},
    {0x2069, 0x2069, N_("pop directional isolate")},
    {0x206A, 0x206F, N_("deprecated format character")},
    {0xFEFF, 0xFEFF, N_("zero width no-break space")},
    {0xFFF9, 0xFFFB, N_("interlinear annotation character")},
    {0x110BD, 0x110BD, N_("Kaithi number sign")},
    {0x110CD, 0x110CD, N_("Kaithi number sign above")},
    {0x13430, 0x1343F, N_("Egyptian hieroglyph format control")},
    {0x1BCA0, 0x1BCA3, N_("shorthand format control")},
    {0x1D173, 0x1D17A, N_("musical symbol format control")},
    {0xE0000, 0xE007F, N_("tag character")},
};

#define S_N_HIDDEN (sizeof s_hidden / sizeof s_hidden[0])

/*  The entry of s_hidden holding cp, or -1.  */
static int s_hidden_of(unsigned cp)
{
    if (cp < s_hidden[0].first)
        return -1;
    for (size_t i = 0; i < S_N_HIDDEN; i++)
        if (cp >= s_hidden[i].first && cp <= s_hidden[i].last)
            return (int)i;
    return -1;
}

unsigned dn_valid_hidden(const char *text, char *why, size_t why_size)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t at = 1;
    if (!text)
        return 0;
    for (; *s; at++) {
        unsigned cp = 0;
        size_t n = s_utf8_decode(s, &cp);
        int i = n ? s_hidden_of(cp) : -1;
        if (i >= 0) {
            if (why && why_size)
                /* one literal for translators: its English ends with
                   DN_HIDDEN_RULE (test_valid compares them) */
                snprintf(why, why_size,
                         _("holds U+%04X (%s) at character %zu: invisible characters that "
                           "can hide or reorder text are refused"),
                         cp, _(s_hidden[i].what), at);
            return cp;
        }
        s += n ? n : 1;
    }
    return 0;
}

/*  What an escape is cut with when it would pass the field's bound.  */
#define S_ESCAPE_CUT "..."
#define S_ESCAPE_CUT_LEN (sizeof S_ESCAPE_CUT - 1)

size_t dn_valid_hidden_escape(const char *text, char *out, size_t max_bytes)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = 0, mark = 0, escaped = 0;
    int cut = 0;

    assert(max_bytes >= S_ESCAPE_CUT_LEN);
    while (*s) {
        char piece[16]; /* "<U+10FFFF>" at most */
        unsigned cp = 0;
        size_t n = s_utf8_decode(s, &cp), n_piece;
        if (n && s_hidden_of(cp) >= 0) {
            n_piece = (size_t)snprintf(piece, sizeof piece, "<U+%04X>", cp);
            escaped++;
        } else {
            n = n ? n : 1;
            memcpy(piece, s, n);
            n_piece = n;
        }
        s += n;
        if (cut)
            continue; /* counting what is left */
        if (len + n_piece > max_bytes) {
            /* back to the last whole piece that leaves room for the cut */
            memcpy(out + mark, S_ESCAPE_CUT, S_ESCAPE_CUT_LEN);
            len = mark + S_ESCAPE_CUT_LEN;
            cut = 1;
            continue;
        }
        memcpy(out + len, piece, n_piece);
        len += n_piece;
        if (len + S_ESCAPE_CUT_LEN <= max_bytes)
            mark = len;
    }
    out[len] = '\0';
    return escaped;
}

/*  1 if cp, invisible, comes in text before end.  */
static int s_hidden_before(const unsigned char *s, const unsigned char *end, unsigned cp)
{
    while (s < end) {
        unsigned c = 0;
        size_t n = s_utf8_decode(s, &c);
        if (n && c == cp)
            return 1;
        s += n ? n : 1;
    }
    return 0;
}

size_t dn_valid_hidden_list(const char *text, char *out, size_t out_size)
{
    const unsigned char *start = (const unsigned char *)text, *s;
    size_t distinct = 0, named = 0, len = 0;
    char tail[40];

    if (out_size)
        out[0] = '\0';
    if (!text)
        return 0;
    for (s = start; *s;) { /* how many there are, for the tail */
        unsigned cp = 0;
        size_t n = s_utf8_decode(s, &cp);
        if (n && s_hidden_of(cp) >= 0 && !s_hidden_before(start, s, cp))
            distinct++;
        s += n ? n : 1;
    }
    for (s = start; *s && named < distinct;) {
        unsigned cp = 0;
        size_t n = s_utf8_decode(s, &cp);
        int i = n ? s_hidden_of(cp) : -1;
        if (i >= 0 && !s_hidden_before(start, s, cp)) {
            char item[80];
            /* English: the list goes into an exception note stored in
               central.db (dn_facts), data read in any language later */
            size_t n_item = (size_t)snprintf(item, sizeof item, "%sU+%04X (%s)",
                                             named ? ", " : "", cp, s_hidden[i].what);
            /* room for this one, and for the tail if others must follow */
            size_t room = named + 1 < distinct ? sizeof tail : 1;
            if (len + n_item + room > out_size)
                break;
            memcpy(out + len, item, n_item + 1);
            len += n_item;
            named++;
        }
        s += n ? n : 1;
    }
    if (named < distinct && out_size) {
        snprintf(tail, sizeof tail, /* i18n: not for people: stored in central.db */
                 named ? " and %zu more" : "%zu invisible characters",
                 distinct - named);
        if (len + strlen(tail) < out_size)
            memcpy(out + len, tail, strlen(tail) + 1);
    }
    return distinct;
}

int dn_valid_name_why(const char *text, char *why, size_t why_size)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t chars = 0;
    char hidden[DN_HIDDEN_WHY_SIZE];

    if (!text || !*text) {
        if (why)
            snprintf(why, why_size, "%s", _("is empty"));
        return 0;
    }
    while (*s) {
        unsigned cp = 0;
        size_t n = s_utf8_decode(s, &cp);
        if (n == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
            break;
        s += n;
        chars++;
    }
    if (*s) {
        if (why)
            snprintf(why, why_size, "%s", _("is not UTF-8 text without control characters"));
        return 0;
    }
    if (dn_valid_hidden(text, hidden, sizeof hidden)) {
        if (why)
            snprintf(why, why_size, "%s", hidden);
        return 0;
    }
    if (chars > DN_MAX_NAME_CHARS) {
        if (why)
            snprintf(why, why_size, _("is %zu characters long, at most %d"), chars,
                     DN_MAX_NAME_CHARS);
        return 0;
    }
    return 1;
}

int dn_valid_name(const char *text)
{
    return dn_valid_name_why(text, NULL, 0);
}

int dn_valid_name_stored(const char *text)
{
    return dn_valid_text_stored(text, DN_MAX_NAME_BYTES);
}

/*  The length of text's first max bytes that ends on a whole character
    (a cut in the middle of a Chinese character would print a broken
    byte).  */
static int s_cut(const char *text, size_t max)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = 0;
    while (s[len]) {
        size_t n = s_utf8_len(s + len);
        if (n == 0)
            n = 1;
        if (len + n > max)
            break;
        len += n;
    }
    return (int)len;
}

/*  dn_valid_code_check's sentences, by kind (dn_code_kind_t) and with
    or without the caller's hint: each one whole, for translators.  */
static const char *const s_code_formats[5][2] = {
    {N_("'%.*s' is not a SKU: codes are ASCII (%s), names are not"),
     N_("'%.*s' is not a SKU: codes are ASCII (%s), names are not: %s")},
    {N_("'%.*s' is not a category code: codes are ASCII (%s), names are not"),
     N_("'%.*s' is not a category code: codes are ASCII (%s), names are not: %s")},
    {N_("'%.*s' is not a partner code: codes are ASCII (%s), names are not"),
     N_("'%.*s' is not a partner code: codes are ASCII (%s), names are not: %s")},
    {N_("'%.*s' is not a site code: codes are ASCII (%s), names are not"),
     N_("'%.*s' is not a site code: codes are ASCII (%s), names are not: %s")},
    {N_("'%.*s' is not a web user name: user names are ASCII (%s)"),
     N_("'%.*s' is not a web user name: user names are ASCII (%s): %s")},
};

int dn_valid_code_check(dn_code_kind_t kind, const char *text, const char *hint, char *why,
                        size_t why_size)
{
    char rule[128];
    int ok;

    assert(kind >= DN_CODE_SKU && kind <= DN_CODE_WEB_USER);
    if (kind == DN_CODE_SKU) {
        ok = dn_valid_sku(text);
        snprintf(rule, sizeof rule, _("1 to %d printable characters but space, ':' and '@'"),
                 DN_MAX_SKU_LEN);
    } else {
        ok = dn_valid_code(text);
        snprintf(rule, sizeof rule,
                 _("a letter, then letters, digits, '_', '.', '-'; at most %d"),
                 DN_MAX_CODE_LEN);
    }
    if (ok)
        return 0;
    if (why && why_size) {
        const char *shown = text ? text : "";
        snprintf(why, why_size, _(s_code_formats[kind][hint != NULL]), s_cut(shown, 40), shown,
                 rule, hint ? hint : "");
    }
    return DN_CODE_ERROR;
}

/*  dn_valid_text, and dn_valid_text_stored when hidden_ok.  */
static int s_valid_text(const char *text, size_t max_bytes, int hidden_ok)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len;
    if (!text)
        return 0;
    len = strlen(text);
    if (len == 0 || len > max_bytes)
        return 0;
    while (*s) {
        unsigned cp = 0;
        size_t n = s_utf8_decode(s, &cp);
        /* C0 controls and DEL, C1 controls U+0080..U+009F, format characters */
        if (n == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||
            (!hidden_ok && s_hidden_of(cp) >= 0))
            return 0;
        s += n;
    }
    return 1;
}

int dn_valid_text(const char *text, size_t max_bytes)
{
    return s_valid_text(text, max_bytes, 0);
}

int dn_valid_text_stored(const char *text, size_t max_bytes)
{
    return s_valid_text(text, max_bytes, 1);
}

int dn_valid_utf8(const char *text, size_t max_bytes)
{
    const unsigned char *s = (const unsigned char *)text;
    if (!text || strlen(text) > max_bytes)
        return 0;
    while (*s) {
        size_t n = s_utf8_len(s);
        if (n == 0)
            return 0;
        s += n;
    }
    return 1;
}

int dn_valid_notice(const char *text, char *why, size_t why_size)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t chars = 0, shown = 0;
    char hidden[DN_HIDDEN_WHY_SIZE];

    if (!why || !why_size) {
        why = hidden;
        why_size = sizeof hidden;
    }
    while (s && *s) {
        unsigned cp = 0;
        size_t n = s_utf8_decode(s, &cp);
        if (n == 0) {
            snprintf(why, why_size, _("the notice is not UTF-8 text (character %zu)"),
                     chars + 1);
            return 0;
        }
        chars++;
        /* a newline breaks lines; any other control would move the cursor,
           clear the shop's screen or change its colours */
        if (cp != '\n' && (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))) {
            snprintf(why, why_size,
                     _("the notice holds a control character (U+%04X) at character %zu: "
                       "only newlines are allowed"),
                     cp, chars);
            return 0;
        }
        if (s_hidden_of(cp) >= 0) {
            char reason[DN_HIDDEN_WHY_SIZE];
            dn_valid_hidden(text, reason, sizeof reason);
            snprintf(why, why_size, _("the notice %s"), reason);
            return 0;
        }
        if (cp != '\n' && cp != ' ')
            shown++;
        s += n;
    }
    if (shown == 0) {
        snprintf(why, why_size, "%s", _("the notice is empty"));
        return 0;
    }
    if (chars > DN_MAX_NOTICE_CHARS) {
        snprintf(why, why_size, _("the notice is %zu characters, at most %d"), chars,
                 DN_MAX_NOTICE_CHARS);
        return 0;
    }
    return 1;
}

/* -- phones ---------------------------------------------------------------- */

/*  Separators people type or paste inside a number (rule 1), ASCII and
    their full-width forms from a Chinese IME.  */
static int s_phone_separator(unsigned cp)
{
    return cp == ' ' || cp == 0x00A0 || cp == 0x3000 ||                   /* spaces */
           cp == '-' || (cp >= 0x2010 && cp <= 0x2015) || cp == 0xFF0D || /* dashes */
           cp == '.' || cp == 0xFF0E ||                                   /* dots */
           cp == '(' || cp == ')' || cp == 0xFF08 || cp == 0xFF09;
}

static int s_phone_why(char *why, size_t why_size, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_phone_why(char *why, size_t why_size, const char *text, const char *fmt, ...)
{
    char reason[DN_PHONE_WHY_SIZE];
    size_t cut = strlen(text);
    va_list args;
    if (!why || !why_size)
        return DN_EPARSE;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    if (cut > 40) /* 40 bytes, at a character's start */
        for (cut = 40; cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80; cut--)
            ;
    snprintf(why, why_size, _("'%.*s' is not a phone number: %s"), (int)cut, text, reason);
    return DN_EPARSE;
}

/*  Rule 3: the digits of a number typed without a country code, made
    into country code and national number in e164 (room for
    DN_MAX_PHONE_DIGITS + 4 bytes).  */
static void s_phone_national(const char *digits, size_t n, int country, char *e164,
                             size_t size)
{
    const char *national = digits;
    if (country == 86) {
        if (digits[0] == '0')
            national = digits + 1; /* trunk prefix */
        else if ((n == 12 || n == 13) && digits[0] == '8' && digits[1] == '6') {
            /* no Chinese national number has 12 or 13 digits: this is the
               country code typed without its '+' */
            snprintf(e164, size, "%s", digits);
            return;
        }
    } else if (country == 1) {
        if (n == 11 && digits[0] == '1')
            national = digits + 1; /* North America's trunk prefix is 1 */
    } else if (digits[0] == '0') {
        national = digits + 1;
    }
    snprintf(e164, size, "%d%s", country, national);
}

/*  The digits of a phone as typed (ASCII or full-width; separators
    skipped) into digits[0..*n) and NUL, and whether a '+' led them.
    0, or DN_EPARSE with why as dn_phone_normalize says it.  */
static int s_phone_digits(const char *text, char digits[DN_MAX_PHONE_DIGITS + 1], size_t *n_p,
                          int *plus_p, char *why, size_t why_size)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = 0;
    int plus = 0;
    while (*s) {
        unsigned cp = 0;
        size_t step = s_utf8_decode(s, &cp);
        if (step == 0)
            return s_phone_why(why, why_size, text, "%s", _("it is not UTF-8 text"));
        if ((cp >= '0' && cp <= '9') || (cp >= 0xFF10 && cp <= 0xFF19)) {
            if (n == DN_MAX_PHONE_DIGITS)
                return s_phone_why(why, why_size, text, _("more than %d digits"),
                                   DN_MAX_PHONE_DIGITS);
            digits[n++] = (char)('0' + (cp >= 0xFF10 ? cp - 0xFF10 : cp - '0'));
        } else if (cp == '+' || cp == 0xFF0B) {
            if (plus || n)
                return s_phone_why(why, why_size, text, "%s", _("a '+' may only come first"));
            plus = 1;
        } else if (!s_phone_separator(cp)) {
            return s_phone_why(why, why_size, text,
                               _("'%.*s' is not a digit, a space, '-', '.', '(', ')' or a "
                                 "leading '+'"),
                               (int)step, (const char *)s);
        }
        s += step;
    }
    digits[n] = '\0';
    *n_p = n;
    *plus_p = plus;
    return 0;
}

int dn_phone_normalize(const char *text, int country, char out[DN_PHONE_SIZE], char *why,
                       size_t why_size)
{
    char digits[DN_MAX_PHONE_DIGITS + 1], e164[DN_MAX_PHONE_DIGITS + 8];
    size_t n = 0, len;
    int plus = 0;

    assert(country >= DN_COUNTRY_NONE && country <= DN_COUNTRY_MAX);
    if (!text) {
        if (why && why_size)
            snprintf(why, why_size, "%s", _("no phone number given"));
        return DN_EPARSE;
    }
    if (s_phone_digits(text, digits, &n, &plus, why, why_size))
        return DN_EPARSE;
    if (n == 0)
        return s_phone_why(why, why_size, text, "%s", _("no digits"));

    if (plus)
        snprintf(e164, sizeof e164, "%s", digits);
    else if (n >= 2 && digits[0] == '0' && digits[1] == '0')
        snprintf(e164, sizeof e164, "%s", digits + 2); /* the international prefix */
    else if (country == DN_COUNTRY_NONE)
        return s_phone_why(why, why_size, text,
                           "%s",
                           _("no country code: type it with + and the country code (no "
                             "default country is set)"));
    else
        s_phone_national(digits, n, country, e164, sizeof e164);

    if (e164[0] == '0')
        return s_phone_why(why, why_size, text, "%s",
                           _("a country code never starts with 0"));
    /* "+86 (0)10 ...": no Chinese national number starts with 0, so every
       0 typed right after 86 goes (all of them: what is left must not start
       with one, or making it canonical again would change it) */
    while (strncmp(e164, "860", 3) == 0)
        memmove(e164 + 2, e164 + 3, strlen(e164 + 3) + 1);
    len = strlen(e164);
    if (len < DN_E164_MIN_DIGITS || len > DN_E164_MAX_DIGITS)
        return s_phone_why(why, why_size, text,
                           _("+%s has %zu digits, a phone number has %d to %d with its "
                             "country code"),
                           e164, len, DN_E164_MIN_DIGITS, DN_E164_MAX_DIGITS);
    /* China's mobile numbers are 13x..19x, 11 digits: a missing or extra
       digit would make another member (10 is Beijing's area code) */
    if (strncmp(e164, "861", 3) == 0 && e164[3] != '0' && len != 13)
        return s_phone_why(
            why, why_size, text,
            _("a Chinese mobile number has 11 digits after +86, this one has %zu"),
            len - 2);
    out[0] = '+';
    memcpy(out + 1, e164, len + 1);
    return 0;
}

int dn_phone_prefix(const char *text, int country, char *prefix, size_t size)
{
    char digits[DN_MAX_PHONE_DIGITS + 1], e164[DN_MAX_PHONE_DIGITS + 8];
    size_t n = 0;
    int plus = 0;

    assert(country >= DN_COUNTRY_NONE && country <= DN_COUNTRY_MAX);
    if (!text || s_phone_digits(text, digits, &n, &plus, NULL, 0) ||
        n < DN_PHONE_PREFIX_MIN_DIGITS)
        return DN_EPARSE;
    if (plus)
        snprintf(e164, sizeof e164, "%s", digits);
    else if (digits[0] == '0' && digits[1] == '0')
        snprintf(e164, sizeof e164, "%s", digits + 2);
    else if (country == DN_COUNTRY_NONE)
        return DN_EPARSE;
    else
        s_phone_national(digits, n, country, e164, sizeof e164);
    /* as dn_phone_normalize: no Chinese national number starts with 0 */
    while (strncmp(e164, "860", 3) == 0)
        memmove(e164 + 2, e164 + 3, strlen(e164 + 3) + 1);
    if (e164[0] == '\0' || e164[0] == '0')
        return DN_EPARSE;
    return snprintf(prefix, size, "+%s", e164) < (int)size ? 0 : DN_EPARSE;
}


int dn_valid_phone(const char *text)
{
    char norm[DN_PHONE_SIZE];
    return text && text[0] == '+' &&
           dn_phone_normalize(text, DN_COUNTRY_NONE, norm, NULL, 0) == 0 &&
           strcmp(norm, text) == 0;
}

int dn_valid_phone_wire(const char *text)
{
    size_t n;
    if (!text)
        return 0;
    if (text[0] == '+')
        text++;
    n = strlen(text);
    if (n < DN_MIN_PHONE_DIGITS || n > DN_MAX_PHONE_DIGITS)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!s_is_digit((unsigned char)text[i]))
            return 0;
    return 1;
}

/*  The calling code of each currency's one country (dn_money's list);
    EUR and CHF are spent in several countries and have none.  */
static const struct {
    char currency[4];
    int country;
} s_countries[] = {
    {"AUD", 61},  {"BHD", 973}, {"CAD", 1},   {"CNY", 86},  {"GBP", 44},
    {"HKD", 852}, {"JOD", 962}, {"JPY", 81},  {"KRW", 82},  {"KWD", 965},
    {"MOP", 853}, {"MYR", 60},  {"NZD", 64},  {"OMR", 968}, {"SGD", 65},
    {"THB", 66},  {"TND", 216}, {"TWD", 886}, {"USD", 1},   {"VND", 84},
};

int dn_phone_country_of_currency(const char *currency)
{
    for (size_t i = 0; currency && i < sizeof s_countries / sizeof s_countries[0]; i++)
        if (strcmp(s_countries[i].currency, currency) == 0)
            return s_countries[i].country;
    return DN_COUNTRY_NONE;
}

int dn_phone_country_parse(const char *text, int *country)
{
    int value = 0;
    size_t n;
    if (!text)
        return DN_EPARSE;
    if (text[0] == '+')
        text++;
    n = strlen(text);
    if (n < 1 || n > 3 || text[0] == '0')
        return DN_EPARSE;
    for (size_t i = 0; i < n; i++) {
        if (!s_is_digit((unsigned char)text[i]))
            return DN_EPARSE;
        value = value * 10 + (text[i] - '0');
    }
    *country = value;
    return 0;
}

int dn_parse_int(const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;
    if (!text || !(s_is_digit((unsigned char)text[0]) ||
                   (text[0] == '-' && s_is_digit((unsigned char)text[1]))))
        return DN_EPARSE;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || *end || v < min || v > max)
        return DN_EPARSE;
    *out = v;
    return 0;
}

/*  The receipt number as printed: zero-padded to DN_RECEIPT_DIGITS
    digits, more when it needs them ("0042", "12345").  */
void dn_receipt_format(int64_t receipt, char text[DN_RECEIPT_TEXT_SIZE])
{
    snprintf(text, DN_RECEIPT_TEXT_SIZE, "%0*lld", DN_RECEIPT_DIGITS, (long long)receipt);
}

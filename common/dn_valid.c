/*  dn_valid -- accepted shapes of codes, SKUs, names and phones.  */
#include "dn_valid.h"
#include "dn_error.h"

#include <errno.h>
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

int dn_valid_name(const char *text)
{
    return dn_valid_text(text, DN_MAX_NAME_LEN);
}

int dn_valid_text(const char *text, size_t max_bytes)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len;
    if (!text)
        return 0;
    len = strlen(text);
    if (len == 0 || len > max_bytes)
        return 0;
    while (*s) {
        size_t n = s_utf8_len(s);
        /* C0 controls and DEL; C1 controls U+0080..U+009F are C2 80..C2 9F */
        if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7F)) ||
            (n == 2 && s[0] == 0xC2 && s[1] < 0xA0))
            return 0;
        s += n;
    }
    return 1;
}

int dn_phone_normalize(const char *text, char out[DN_PHONE_SIZE])
{
    char buf[DN_PHONE_SIZE];
    size_t n = 0, digits = 0;
    if (!text)
        return DN_EPARSE;
    for (const char *p = text; *p; p++) {
        if (s_is_digit((unsigned char)*p)) {
            if (++digits > DN_MAX_PHONE_DIGITS)
                return DN_EPARSE;
            buf[n++] = *p;
        } else if (*p == '+' && n == 0 && digits == 0) {
            buf[n++] = '+';
        } else if (*p != ' ' && *p != '-' && *p != '.' && *p != '(' && *p != ')') {
            return DN_EPARSE;
        }
    }
    if (digits < DN_MIN_PHONE_DIGITS)
        return DN_EPARSE;
    buf[n] = '\0';
    memcpy(out, buf, n + 1);
    return 0;
}

int dn_valid_phone(const char *text)
{
    char norm[DN_PHONE_SIZE];
    return text && dn_phone_normalize(text, norm) == 0 && strcmp(norm, text) == 0;
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

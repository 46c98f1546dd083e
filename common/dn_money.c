/*  dn_money -- exact money: int64 minor units, basis-point rates.

    Amounts are integers of the currency's minor unit, so sums never drift.
    Every product is formed in 128 bits, where the product of two int64 values
    always fits, and rounded exactly once, half to even, so the same inputs
    give the same fen on every machine and no systematic bias accumulates over
    many lines.  Parsing checks the whole syntax before it computes, so a
    malformed text is always DN_EPARSE, whatever its length.
*/
#include "dn_money.h"
#include "dn_error.h"

#include <assert.h>
#include <string.h>

__extension__ typedef __int128 dn_i128;
__extension__ typedef unsigned __int128 dn_u128;

#define DN_MONEY_EXPONENT_MAX 4

/*  ISO 4217 minor-unit exponents of the currencies we trade in.  */
static const struct {
    char code[4];
    int exponent;
} s_currencies[] = {
    {"AUD", 2}, {"BHD", 3}, {"CAD", 2}, {"CHF", 2}, {"CNY", 2}, {"EUR", 2},
    {"GBP", 2}, {"HKD", 2}, {"JOD", 3}, {"JPY", 0}, {"KRW", 0}, {"KWD", 3},
    {"MOP", 2}, {"MYR", 2}, {"NZD", 2}, {"OMR", 3}, {"SGD", 2}, {"THB", 2},
    {"TND", 3}, {"TWD", 2}, {"USD", 2}, {"VND", 0},
};

int dn_money_exponent(const char *currency)
{
    if (currency == NULL)
        return DN_ECURRENCY;
    for (size_t i = 0; i < sizeof s_currencies / sizeof s_currencies[0]; i++)
        if (strcmp(currency, s_currencies[i].code) == 0)
            return s_currencies[i].exponent;
    return DN_ECURRENCY;
}

static int s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int dn_money_parse(const char *text, int exponent, int64_t *minor)
{
    assert(minor != NULL);
    if (exponent < 0 || exponent > DN_MONEY_EXPONENT_MAX)
        return DN_EINVAL;
    if (text == NULL)
        return DN_EPARSE;

    /*  Syntax first: [+-] digit+ [ '.' digit{1,exponent} ]  */
    const char *p = text;
    int negative = 0;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    const char *int_start = p;
    while (s_is_digit(*p))
        p++;
    const char *int_end = p;
    if (int_end == int_start)
        return DN_EPARSE;
    const char *frac_start = p;
    const char *frac_end = p;
    if (*p == '.') {
        frac_start = ++p;
        while (s_is_digit(*p))
            p++;
        frac_end = p;
        if (frac_end == frac_start || frac_end - frac_start > exponent)
            return DN_EPARSE;
    }
    if (*p != '\0')
        return DN_EPARSE;

    /*  Then the value, as a magnitude that may reach 2^63 for INT64_MIN.  */
    const dn_i128 limit = negative ? (dn_i128)INT64_MAX + 1 : (dn_i128)INT64_MAX;
    dn_i128 value = 0;
    for (const char *q = int_start; q < int_end; q++) {
        value = value * 10 + (*q - '0');
        if (value > limit)
            return DN_EOVERFLOW;
    }
    int frac_digits = 0;
    for (const char *q = frac_start; q < frac_end; q++, frac_digits++)
        value = value * 10 + (*q - '0');
    for (; frac_digits < exponent; frac_digits++)
        value *= 10;
    if (value > limit)
        return DN_EOVERFLOW;

    *minor = (int64_t)(negative ? -value : value);
    return 0;
}

int dn_money_format(int64_t amount, int exponent, char *buf, size_t size)
{
    assert(buf != NULL || size == 0);
    if (exponent < 0 || exponent > DN_MONEY_EXPONENT_MAX)
        return DN_EINVAL;

    /*  Digits of the magnitude, least significant first; unsigned negation
        is defined for INT64_MIN.  */
    uint64_t magnitude = amount < 0 ? 0 - (uint64_t)amount : (uint64_t)amount;
    char digits[24];
    int ndigits = 0;
    do {
        digits[ndigits++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    while (ndigits < exponent + 1)
        digits[ndigits++] = '0';

    size_t needed = (size_t)(amount < 0) + (size_t)ndigits + (exponent > 0) + 1;
    if (size < needed)
        return DN_EINVAL;

    char *out = buf;
    if (amount < 0)
        *out++ = '-';
    for (int i = ndigits - 1; i >= 0; i--) {
        *out++ = digits[i];
        if (i == exponent && exponent > 0)
            *out++ = '.';
    }
    *out = '\0';
    return 0;
}

/*  Writes n / den minor units exactly (see dn_money_format_exact).  */
static int s_format_ratio(dn_i128 n, dn_i128 den, int exponent, char *buf, size_t size)
{
    char digits[48], *out = buf;
    int ndigits = 0, extra = 0;
    if (den <= 0 || exponent < 0 || exponent > DN_MONEY_EXPONENT_MAX ||
        size < DN_MONEY_EXACT_SIZE)
        return DN_EINVAL;
    dn_u128 magnitude = n < 0 ? 0 - (dn_u128)n : (dn_u128)n, d = (dn_u128)den;
    dn_u128 whole = magnitude / d, rest = magnitude % d;
    do {
        digits[ndigits++] = (char)('0' + (int)(whole % 10));
        whole /= 10;
    } while (whole > 0);
    while (ndigits < exponent + 1)
        digits[ndigits++] = '0';
    if (n < 0)
        *out++ = '-';
    for (int i = ndigits - 1; i >= 0; i--) {
        *out++ = digits[i];
        if (i == exponent && exponent > 0)
            *out++ = '.';
    }
    /* the digits past the minor unit, while the figure goes on */
    for (; rest && extra < DN_MONEY_EXACT_DIGITS; extra++) {
        if (extra == 0 && exponent == 0)
            *out++ = '.';
        rest *= 10; /* rest < den < 2^127: den is at most 2^63 here */
        *out++ = (char)('0' + (int)(rest / d));
        rest %= d;
    }
    if (rest) { /* "…", U+2026 */
        memcpy(out, "\xE2\x80\xA6", 3);
        out += 3;
    }
    *out = '\0';
    return 0;
}

int dn_money_format_exact(int64_t amount, int64_t num, int64_t den, int exponent,
                          char *buf, size_t size)
{
    return s_format_ratio((dn_i128)amount * num, den, exponent, buf, size);
}

int dn_money_format_rounding(int64_t rounded, int64_t amount, int64_t num, int64_t den,
                             int exponent, char *buf, size_t size)
{
    /* |rounded x den| and |amount x num| are each at most 2^126 */
    return s_format_ratio((dn_i128)rounded * den - (dn_i128)amount * num, den, exponent,
                          buf, size);
}

int dn_money_muldiv(int64_t amount, int64_t num, int64_t den, int64_t *out)
{
    assert(out != NULL);
    if (den <= 0)
        return DN_EINVAL;

    /*  |amount * num| <= 2^126, so the product and its magnitude fit.  */
    dn_i128 product = (dn_i128)amount * num;
    int negative = product < 0;
    dn_u128 magnitude = (dn_u128)(negative ? -product : product);
    dn_u128 divisor = (uint64_t)den;
    dn_u128 quotient = magnitude / divisor;
    dn_u128 twice_rest = (magnitude % divisor) * 2;
    if (twice_rest > divisor || (twice_rest == divisor && (quotient & 1)))
        quotient++;

    dn_u128 limit = negative ? (dn_u128)INT64_MAX + 1 : (dn_u128)INT64_MAX;
    if (quotient > limit)
        return DN_EOVERFLOW;
    dn_i128 result = negative ? -(dn_i128)quotient : (dn_i128)quotient;
    *out = (int64_t)result;
    return 0;
}

int dn_money_split(int64_t amount, const int64_t *weights, size_t n, int64_t *shares)
{
    int64_t total = 0, cum = 0, before = 0;
    assert(weights != NULL && shares != NULL);
    if (n == 0)
        return DN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (weights[i] < 0)
            return DN_EINVAL;
        if (dn_money_add(total, weights[i], &total))
            return DN_EOVERFLOW;
    }
    if (total == 0) { /* nothing to weigh by: the first takes it all */
        shares[0] = amount;
        for (size_t i = 1; i < n; i++)
            shares[i] = 0;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t upto;
        cum += weights[i]; /* <= total: fits */
        /* |upto| <= |amount| since cum <= total: cannot overflow */
        if (dn_money_muldiv(amount, cum, total, &upto))
            return DN_EOVERFLOW;
        shares[i] = upto - before;
        before = upto;
    }
    return 0;
}

int dn_money_mul_bps(int64_t amount, int64_t bps, int64_t *out)
{
    return dn_money_muldiv(amount, bps, DN_BPS_ONE, out);
}

int dn_money_mul(int64_t a, int64_t b, int64_t *out)
{
    assert(out != NULL);
    dn_i128 product = (dn_i128)a * b;
    if (product < INT64_MIN || product > INT64_MAX)
        return DN_EOVERFLOW;
    *out = (int64_t)product;
    return 0;
}

int dn_money_add(int64_t a, int64_t b, int64_t *out)
{
    assert(out != NULL);
    dn_i128 sum = (dn_i128)a + b;
    if (sum < INT64_MIN || sum > INT64_MAX)
        return DN_EOVERFLOW;
    *out = (int64_t)sum;
    return 0;
}

int dn_money_add_capped(int64_t a, int64_t b, int64_t cap, int64_t *out)
{
    int64_t sum;
    assert(out != NULL);
    if (__builtin_add_overflow(a, b, &sum) || sum > cap)
        return DN_EOVERFLOW;
    *out = sum;
    return 0;
}

int dn_money_bound_parse(const char *text, int64_t *bound)
{
    int64_t value;
    int rc = dn_money_parse(text, DN_MONEY_BOUND_EXPONENT, &value);
    if (rc == DN_EOVERFLOW || (rc == 0 && (value < 1 || value > DN_MONEY_MAX_SALE_LIMIT)))
        return DN_EOVERFLOW;
    if (rc)
        return DN_EPARSE;
    *bound = value;
    return 0;
}

int64_t dn_money_bound_minor(int64_t bound, int exponent)
{
    int64_t divisor = 1;
    if (bound < 0)
        return 0;
    for (int e = exponent < 0 ? 0 : exponent; e < DN_MONEY_BOUND_EXPONENT; e++)
        divisor *= 10;
    return bound / divisor;
}

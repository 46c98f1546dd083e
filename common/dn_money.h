/*  dn_money -- exact money: int64 minor units, basis-point rates.

    An amount is an int64 count of the currency's minor unit (fen, cent) and
    never a float.  Products are formed in 128 bits and rounded once, half to
    even, so a figure computed twice is the same figure.  Every operation
    refuses a result that does not fit in int64 instead of wrapping.
*/
#ifndef DN_MONEY_H
#define DN_MONEY_H

#include <stddef.h>
#include <stdint.h>

#define DN_BPS_ONE         10000 /* 100 % in basis points */
#define DN_MONEY_TEXT_SIZE 32    /* enough for any int64 amount, sign and point */

/*  Returns the ISO 4217 exponent (digits after the point) of an upper-case
    three-letter currency code, e.g. 2 for "CNY", 0 for "JPY", 3 for "KWD";
    DN_ECURRENCY for a code not in the table or NULL.  */
int dn_money_exponent(const char *currency);

/*  Parses a decimal amount such as "12.34", "12", "-0.5", "+3" into minor
    units for a currency of the given exponent (0..4).  Fewer fraction digits
    than the exponent are padded ("12.3" is 1230 at exponent 2); more are
    refused, never rounded.  No spaces, no exponent notation, no thousands
    separators, at least one digit before any point.  Returns 0 and sets
    *minor, DN_EPARSE on malformed text (or NULL), DN_EOVERFLOW if the value
    does not fit in int64, DN_EINVAL if the exponent is out of 0..4.  *minor
    is untouched on error.  */
int dn_money_parse(const char *text, int exponent, int64_t *minor);

/*  Writes amount as a decimal with exactly `exponent` fraction digits
    ("-12.34", "0.05", "7" at exponent 0) into buf.  Returns 0, or DN_EINVAL
    if the exponent is out of 0..4 or buf is smaller than needed
    (DN_MONEY_TEXT_SIZE always suffices).  Handles INT64_MIN.  */
int dn_money_format(int64_t amount, int exponent, char *buf, size_t size);

/*  Sets *out = round_half_even(amount * num / den), computed in 128 bits.
    den must be > 0 (DN_EINVAL otherwise).  Returns DN_EOVERFLOW if the
    rounded result does not fit in int64.  Negative amounts and numerators
    round symmetrically (half-even on the magnitude).  */
int dn_money_muldiv(int64_t amount, int64_t num, int64_t den, int64_t *out);

/*  Splits amount over n >= 1 shares in proportion to weights[i] >= 0:
    shares[i] (written, not added to) is the running sum's share less the
    one before it, each running sum rounded half-even (dn_money_muldiv of
    amount by the weights so far over their total).  So the shares add up
    to amount exactly, equal weights differ by at most one minor unit, and
    for 0 <= amount <= the total of the weights no share exceeds its
    weight.  A negative amount splits as its magnitude does, every share
    negated (dn_money_muldiv rounds symmetrically).  When every weight is 0
    there is nothing to weigh by: the whole amount goes to shares[0].
    Returns 0; DN_EINVAL (n is 0, or a weight is negative), DN_EOVERFLOW
    (the weights' total does not fit in int64); both are found before any
    share is written.  */
int dn_money_split(int64_t amount, const int64_t *weights, size_t n, int64_t *shares);

/*  An exact figure before rounding (the drill-down shows what each
    transfer was rounded from): up to this many fraction digits beyond the
    currency's, and the text of one with its sign, point and "…".  */
#define DN_MONEY_EXACT_DIGITS 12
#define DN_MONEY_EXACT_SIZE   80

/*  Writes amount * num / den (den > 0) in minor units of a currency of
    the given exponent (0..4), exactly: with the currency's fraction
    digits and as many more as the figure needs ("2.396" at exponent 2,
    "44.00"), up to DN_MONEY_EXACT_DIGITS more; a figure that does not end
    by then (a third) is cut there and "…" (U+2026) follows it
    ("0.333333333333…").  With rounded, dn_money_format_rounding writes
    rounded - amount * num / den the same way: what rounding added (+) or
    took (-).  Computed in 128 bits.  Returns 0, or DN_EINVAL (den <= 0,
    exponent out of range, buf smaller than DN_MONEY_EXACT_SIZE).  */
int dn_money_format_exact(int64_t amount, int64_t num, int64_t den, int exponent,
                          char *buf, size_t size);
int dn_money_format_rounding(int64_t rounded, int64_t amount, int64_t num, int64_t den,
                             int exponent, char *buf, size_t size);

/*  Sets *out = round_half_even(amount * bps / 10000).  Same contract as
    dn_money_muldiv.  */
int dn_money_mul_bps(int64_t amount, int64_t bps, int64_t *out);

/*  Sets *out = a * b (a unit price times a quantity), DN_EOVERFLOW if it does
    not fit.  */
int dn_money_mul(int64_t a, int64_t b, int64_t *out);

/*  Sets *out = a + b, DN_EOVERFLOW if it does not fit.  */
int dn_money_add(int64_t a, int64_t b, int64_t *out);

/*  The bounds on what the server believes (README, "Bounds").

    A network bound on one sale is kept in units of 10^-4 of the currency
    (DN_MONEY_BOUND_EXPONENT, the largest exponent of any currency), so that
    one setting means the same whole amount for CNY, JPY or KWD, whatever
    currency a site turns out to use: 1,000,000.00 is 10^10 here, i.e. 10^8
    fen, 10^6 yen.

    Every running total the server keeps (all posted sales; all transfers,
    see dn_ledger) is capped at DN_MONEY_SUM_MAX, 10^18 minor units.  Every
    stored aggregate is a sum of a subset of one of them, or, for the sum
    of all balances' magnitudes, at most twice one: 2 x 10^18 < 2^63 - 1
    (about 9.22 x 10^18), so no aggregate can overflow int64, however many
    sales are accepted.  */
#define DN_MONEY_BOUND_EXPONENT   4
#define DN_MONEY_SUM_MAX          1000000000000000000LL /* 10^18 minor units */
#define DN_MONEY_MAX_SALE_DEFAULT 10000000000LL     /* 1,000,000.0000 currency units */
#define DN_MONEY_MAX_SALE_LIMIT   100000000000000LL /* 10,000,000,000.0000 units */

/*  Sets *out = a + b if that fits in int64 and is at most cap, else
    returns DN_EOVERFLOW (*out untouched).  For running totals: a sum
    that would pass its bound is refused, never stored.  */
int dn_money_add_capped(int64_t a, int64_t b, int64_t cap, int64_t *out);

/*  Parses a bound on one sale ("1000000", "2500.50": currency units, at
    most DN_MONEY_BOUND_EXPONENT decimals) into *bound.  Returns 0, or
    DN_EPARSE (malformed), DN_EOVERFLOW (not 0.0001 to
    DN_MONEY_MAX_SALE_LIMIT).  */
int dn_money_bound_parse(const char *text, int64_t *bound);

/*  Returns a bound (in 10^-4 units) in minor units of a currency of the
    given exponent (0..4), rounded down: a sale of at most that many minor
    units is within the bound.  Never negative.  */
int64_t dn_money_bound_minor(int64_t bound, int exponent);

#endif

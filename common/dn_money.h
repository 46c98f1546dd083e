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

/*  Sets *out = round_half_even(amount * bps / 10000).  Same contract as
    dn_money_muldiv.  */
int dn_money_mul_bps(int64_t amount, int64_t bps, int64_t *out);

/*  Sets *out = a * b (a unit price times a quantity), DN_EOVERFLOW if it does
    not fit.  */
int dn_money_mul(int64_t a, int64_t b, int64_t *out);

/*  Sets *out = a + b, DN_EOVERFLOW if it does not fit.  */
int dn_money_add(int64_t a, int64_t b, int64_t *out);

#endif

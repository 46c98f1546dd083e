/*  dn_valid -- the shape of the short texts both sides accept.

    Codes, SKUs, phones and names arrive from clerks' keyboards and from the
    network.  One definition of what is acceptable means the agent refuses at
    the counter exactly what the server would refuse later.
*/
#ifndef DN_VALID_H
#define DN_VALID_H

#include <stddef.h>
#include <stdint.h>

#define DN_MAX_CODE_LEN      32      /* site, partner and category codes */
#define DN_MAX_SKU_LEN       64
#define DN_MAX_NAME_LEN      128     /* bytes of UTF-8 */
#define DN_MIN_PHONE_DIGITS  5
#define DN_MAX_PHONE_DIGITS  20
#define DN_PHONE_SIZE        (DN_MAX_PHONE_DIGITS + 2) /* '+', digits, NUL */
#define DN_MAX_QUANTITY      1000000
#define DN_MAX_UNIT_PRICE    1000000000000LL /* minor units */
#define DN_MAX_HOUSEHOLD     100
#define DN_MAX_SALE_LINES    200

/*  A code: 1..DN_MAX_CODE_LEN characters of [A-Za-z0-9_.-], starting with a
    letter.  Returns 1 if valid.  */
int dn_valid_code(const char *text);

/*  Codes are compared without regard to ASCII case and stored lower-case
    (a clerk's `Rice` is HQ's `rice`): folds text's ASCII letters to lower
    case in place.  Anything else is left as it is.  */
void dn_code_fold(char *text);

/*  Returns 1 if a and b are the same code, ASCII letters compared without
    regard to case (neither NULL).  */
int dn_code_equal(const char *a, const char *b);

/*  A SKU: 1..DN_MAX_SKU_LEN printable ASCII characters other than space, ':'
    and '@' (which the sale syntax SKU:QTY@PRICE uses).  Returns 1 if valid.  */
int dn_valid_sku(const char *text);

/*  A name: 1..DN_MAX_NAME_LEN bytes of well-formed UTF-8 with no control
    characters.  Returns 1 if valid.  */
int dn_valid_name(const char *text);

/*  Text for people: 1..max_bytes bytes of well-formed UTF-8 with no
    control characters (C0, DEL, C1).  Returns 1 if valid.  */
int dn_valid_text(const char *text, size_t max_bytes);

/*  Normalises a phone number as typed ("+86 138-0013-8000", "(010) 1234 567")
    into digits with an optional leading '+': spaces, '-', '.', '(' and ')'
    are dropped; anything else is refused.  Requires DN_MIN_PHONE_DIGITS to
    DN_MAX_PHONE_DIGITS digits.  out must hold DN_PHONE_SIZE bytes.  Returns
    0 or DN_EPARSE.  */
int dn_phone_normalize(const char *text, char out[DN_PHONE_SIZE]);

/*  Returns 1 if text is already a normalised phone (what dn_phone_normalize
    would produce from it, unchanged).  */
int dn_valid_phone(const char *text);

/*  Parses a decimal integer in [min, max] with nothing around it.  Returns 0
    and sets *out, or DN_EPARSE.  */
int dn_parse_int(const char *text, int64_t min, int64_t max, int64_t *out);

#endif

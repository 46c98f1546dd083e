/*  dn_valid -- the shape of the short texts both sides accept.

    Codes, SKUs, phones and names arrive from clerks' keyboards and from the
    network.  One definition of what is acceptable means the agent refuses at
    the counter exactly what the server would refuse later.
*/
#ifndef DN_VALID_H
#define DN_VALID_H

#include "dn_error.h" /* DN_STR */

#include <stddef.h>
#include <stdint.h>

#define DN_MAX_CODE_LEN      32      /* site, partner and category codes */
#define DN_MAX_SKU_LEN       64
/*  A name (partner, site, member, catalogue item, category) is counted in
    characters, not bytes: 64 Chinese characters are 192 bytes, 64 Latin
    ones 64, and a clerk counts what she sees.  Before issue 13 names were
    bounded at 128 bytes (about 42 Chinese characters); events signed then
    hold names of up to 128 bytes, 128 characters when Latin, and are
    never rewritten, so what is stored and sent is bounded in bytes by
    DN_MAX_NAME_BYTES, which holds both: the new bound of any script (4
    bytes a character at most) and the old one.  Only new input is held to
    DN_MAX_NAME_CHARS (dn_valid_name).  */
#define DN_MAX_NAME_CHARS    64
#define DN_MAX_NAME_BYTES    (4 * DN_MAX_NAME_CHARS) /* >= the old bound, 128 bytes */
#define DN_MIN_PHONE_DIGITS  5       /* a phone in an event (dn_valid_phone_wire) */
#define DN_MAX_PHONE_DIGITS  20      /* digits typed; a phone in an event */
#define DN_PHONE_SIZE        (DN_MAX_PHONE_DIGITS + 2) /* '+', digits, NUL */
#define DN_MAX_QUANTITY      1000000
#define DN_MAX_UNIT_PRICE    1000000000000LL /* minor units */
#define DN_MAX_HOUSEHOLD     100
#define DN_MAX_SALE_LINES    200
/*  A receipt number (Sale.receipt): 1 .. this.  A shop's millionth sale a
    day for a thousand years stays under it; a larger one is a corrupt
    field, refused as malformed.  */
#define DN_MAX_RECEIPT       999999999999LL

/*  Receipt numbers print zero-padded to 4 digits ("0042"), more when they
    need them ("12345"), at the shop and at HQ alike; DN_RECEIPT_TEXT_SIZE
    holds DN_MAX_RECEIPT's.  */
#define DN_RECEIPT_DIGITS    4
#define DN_RECEIPT_TEXT_SIZE 24
void dn_receipt_format(int64_t receipt, char text[DN_RECEIPT_TEXT_SIZE]);

/*  What a code is (dn_valid_code), as messages say it.  */
#define DN_CODE_RULE                                                                     \
    "a letter, then letters, digits, '_', '.', '-'; at most " DN_STR(DN_MAX_CODE_LEN)

/*  A code: 1..DN_MAX_CODE_LEN characters of [A-Za-z0-9_.-], starting with a
    letter.  Returns 1 if valid.  */
int dn_valid_code(const char *text);

/* -- codes and names (issue 13, DESIGN rule 10) -------------------------------

   Codes (SKU, category, partner, site) are short ASCII identifiers, safe to
   type on any keyboard, sort and hash; every one may carry a display name
   in any script.  A Chinese "code" is nearly always a name typed where the
   code goes, so every program refuses a bad code with the one message of
   dn_valid_code_check, which says so, and with the one error code
   DN_CODE_ERROR: the same line and the same exit status whether the code
   was an argument (agent, HQ), a line at the till, a row of an import or a
   plan's section.  */

/*  What a code names, for the message.  */
typedef enum {
    DN_CODE_SKU = 0, /* dn_valid_sku */
    DN_CODE_CATEGORY, /* the others: dn_valid_code */
    DN_CODE_PARTNER,
    DN_CODE_SITE,
    DN_CODE_WEB_USER /* a web user's name (dn_webuser.h) */
} dn_code_kind_t;

/*  The error of a refused code, everywhere: a code is data typed in,
    exit 65 (EX_DATAERR) by dn_exit_code.  */
#define DN_CODE_ERROR DN_EPARSE

/*  What dn_valid_code_check writes fits this, the hint included.  */
#define DN_CODE_WHY_SIZE 320

/*  Checks text as a code of kind (dn_valid_sku for a SKU, dn_valid_code
    for the others).  Returns 0, or DN_CODE_ERROR with one line in why
    (when not NULL), translated:
      '东北大米' is not a SKU: codes are ASCII (1 to 64 printable characters
      but space, ':' and '@'), names are not
      '2rice' is not a category code: codes are ASCII (a letter, then
      letters, digits, '_', '.', '-'; at most 32), names are not
    ("a partner code", "a site code", "a web user name"), text cut to 40 bytes at a whole
    character; then ": HINT" when hint is not NULL (the caller's _() text
    saying where the name goes: "give the name with --name").  */
int dn_valid_code_check(dn_code_kind_t kind, const char *text, const char *hint, char *why,
                        size_t why_size);

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

/*  A name typed now (a partner's, a site's, a member's, a catalogue
    item's, a category's): dn_valid_text (well-formed UTF-8, no control or
    invisible format characters) of 1..DN_MAX_NAME_CHARS characters (code
    points), any script, emoji too.  Returns 1 if valid; else 0 and, when
    why is not NULL, one line for after what the name is ("name ",
    "partner name "), translated: "is empty", "is 65 characters long, at
    most 64", "is not UTF-8 text without control characters", or
    dn_valid_hidden's "holds U+202E ...".  */
int dn_valid_name_why(const char *text, char *why, size_t why_size);

/*  dn_valid_name_why without the reason.  Returns 1 if valid.  */
int dn_valid_name(const char *text);

/*  A name as stored or signed (an event, a row that came down): the shape
    of dn_valid_text_stored within DN_MAX_NAME_BYTES, which the old bound
    (128 bytes) and the new one (64 characters) both fit.  Never for new
    input.  Returns 1 if valid.  */
int dn_valid_name_stored(const char *text);

/*  Text for people (names, reasons, references, plan lines): 1..max_bytes
    bytes of well-formed UTF-8 with no control characters (C0, DEL, C1) and
    no invisible format characters (dn_valid_hidden).  Returns 1 if
    valid.  */
int dn_valid_text(const char *text, size_t max_bytes);

/*  The shape of text for people in an event: 1..max_bytes bytes of
    well-formed UTF-8 with no control characters, invisible format
    characters allowed.  Agents before the till refused those recorded
    them (a name pasted from a chat often holds U+200B), and a signed,
    chained event is never rewritten: refusing it would stop its site's
    sync for good.  The server stores such an event and shows the text
    through dn_valid_hidden_escape.  Never for new input (dn_valid_text).
    Returns 1 if valid.  */
int dn_valid_text_stored(const char *text, size_t max_bytes);

/*  Any well-formed UTF-8 of at most max_bytes bytes (empty too): the
    generic check of text that is shown as it comes (a downstream item's
    strings, dn_wire; each stream's applier checks its own fields' shape).
    Returns 1 if valid.  */
int dn_valid_utf8(const char *text, size_t max_bytes);

/*  A notice from HQ to its shops (issue 14, "Notices"):
    1..DN_MAX_NOTICE_CHARS characters (code points) of well-formed UTF-8,
    not only spaces and newlines, with no control characters but the
    newline and no invisible format characters (dn_valid_hidden).  The
    server checks it when HQ sends it and every agent again when it
    applies it: a notice is shown on the shop's terminal as it is.
    Returns 1 if valid; else 0 and, when why is not NULL, one line saying
    what is wrong ("the notice is 612 characters, at most 500").  */
#define DN_MAX_NOTICE_CHARS 500
#define DN_MAX_NOTICE_BYTES (4 * DN_MAX_NOTICE_CHARS) /* UTF-8: 4 bytes a character at most */
int dn_valid_notice(const char *text, char *why, size_t why_size);

/*  What dn_valid_hidden's reason ends with: the rule, for the person who
    typed (or pasted) the text.  */
#define DN_HIDDEN_RULE "invisible characters that can hide or reorder text are refused"
#define DN_HIDDEN_WHY_SIZE 160 /* dn_valid_hidden's why always fits */

/*  The first invisible format character of text, the table in dn_valid.c:
    bidirectional controls (U+200E U+200F U+202A..U+202E U+2066..U+2069,
    U+061C), zero-width and joining characters (U+200B..U+200D U+2060
    U+FEFF), the other Unicode format characters (U+00AD U+180E
    U+2061..U+2064 U+206A..U+206F U+FFF9..U+FFFB ...), the tag characters
    U+E0000..U+E007F and the line and paragraph separators U+2028 U+2029.
    Returns its code point and, when why is not NULL, writes one line:
        holds U+202E (right-to-left override) at character 3: DN_HIDDEN_RULE
    counting characters (not bytes) from 1, for the caller to put after
    what the text is ("member name holds U+202E ...").  Returns 0 when text
    (NULL too) holds none; bytes that are not UTF-8 are stepped over one at
    a time (dn_valid_text refuses them).  */
unsigned dn_valid_hidden(const char *text, char *why, size_t why_size);

/*  What HQ is shown of text in an event (dn_valid_text_stored): text with
    each invisible format character of dn_valid_hidden written as
    <U+XXXX>, its code point in 4 to 6 upper-case hex digits as
    dn_valid_hidden names it ("Li\u200BWei" -> "Li<U+200B>Wei"), so a table
    shows that one was there and nothing can hide or reorder the text.  The
    escape is 8 or 9 bytes where the character was 2 to 4: when the result
    would be longer than max_bytes (the field's bound, DN_MAX_NAME_BYTES for
    a name), it ends with "..." after the last whole character or escape
    that leaves room for it.  Bytes that are not UTF-8 are copied as they
    are (dn_valid_text_stored refuses them).  out holds max_bytes + 1
    bytes (max_bytes >= 3).  Returns the number of characters escaped: 0
    when out is text unchanged (text within max_bytes).  */
size_t dn_valid_hidden_escape(const char *text, char *out, size_t max_bytes);

/*  Names the distinct invisible format characters of text, in the order
    they first come, into out: "U+200B (zero width space), U+202E
    (right-to-left override)".  What does not fit out_size is counted
    instead: "U+200B (zero width space) and 3 more".  Returns the number of
    distinct characters (0: out is "").  */
size_t dn_valid_hidden_list(const char *text, char *out, size_t out_size);

/* -- phones -----------------------------------------------------------------

   A member is known across sites by phone, so a phone must have one
   spelling: E.164, '+' then the country code then the national number
   (+8613800138000), 7 to 15 digits in all.  Clerks type numbers every way
   (with or without the country code, a trunk 0, separators, full-width
   digits from a Chinese IME); dn_phone_normalize turns each into that one
   spelling, with the default country of the site (agent) or the network
   (server) for numbers typed without a country code.  The agent's checks at
   the till and the server's at ingest and in HQ look-ups are this one
   function.

   The rules, in order (CC is the default country code, 0 for none):

   1. Characters.  Digits are 0-9 and the full-width digits U+FF10..U+FF19
      (Chinese IME).  A plus sign, '+' or full-width U+FF0B, may come once,
      before any digit.  These separators are dropped: space, no-break
      space U+00A0, ideographic space U+3000, '-', the dashes
      U+2010..U+2015, full-width hyphen-minus U+FF0D, '.', full-width full
      stop U+FF0E, '(' and ')' and full-width U+FF08 U+FF09.  Anything else
      is refused, and so are more than DN_MAX_PHONE_DIGITS digits.
   2. International forms.  '+' then digits: the country code and the
      national number, kept as typed ("+86 138 0013 8000" ->
      +8613800138000).  "00" then digits (the international prefix): the
      same as '+' ("0086 138 0013 8000" -> +8613800138000).
   3. National forms (no '+', no "00"), with CC:
      CC 0:   refused: there is no default country.
      CC 86:  a leading trunk 0 is dropped ("013800138000" ->
              +8613800138000, "010 1234 5678" -> +861012345678);
              else 12 or 13 digits starting with 86 are the country code
              typed without '+' ("8613800138000" -> +8613800138000);
              else the digits are the national number ("13800138000" ->
              +8613800138000).
      CC 1:   11 digits starting with 1 drop that 1, the trunk prefix of
              North America ("1 212 555 0100" -> +12125550100); else the
              digits are the national number ("212-555-0100").
      others: a leading trunk 0 is dropped, then CC is prefixed (CC 44:
              "020 7946 0000" -> +442079460000; CC 852: "2123 4567" ->
              +85221234567).
   4. Checks on the result.  A country code never starts with 0 ("+0..."
      and "000..." are refused).  After +86 the 0s typed in ("+86 (0)10
      1234 5678") are dropped: no Chinese national number starts with 0.
      7 to 15 digits in all (E.164).  After +86, a national number starting
      with 1 and not 10 is a mobile number and has exactly 11 digits
      ("+86 138 0013 800" is refused: a digit is missing).

   A canonical phone is a fixed point: normalising it again, with any CC,
   gives it back.  */

#define DN_E164_MIN_DIGITS 7  /* the country code and national number */
#define DN_E164_MAX_DIGITS 15 /* ITU-T E.164 */
#define DN_COUNTRY_NONE    0  /* no default country: phones need their code */
#define DN_COUNTRY_MAX     999
#define DN_PHONE_WHY_SIZE  192

/*  Makes text canonical (the rules above) with the default country code
    country (1..DN_COUNTRY_MAX, or DN_COUNTRY_NONE).  out must hold
    DN_PHONE_SIZE bytes and is written only on success.  Returns 0, or
    DN_EPARSE with one line in why: "'TEXT' is not a phone number: REASON"
    (TEXT cut to 40 bytes), REASON one of
      'X' is not a digit, a space, '-', '.', '(', ')' or a leading '+'
      it is not UTF-8 text
      a '+' may only come first
      no digits
      more than 20 digits
      no country code: type it with + and the country code (no default country is set)
      a country code never starts with 0
      +CCNNN has N digits, a phone number has 7 to 15 with its country code
      a Chinese mobile number has 11 digits after +86, this one has N
    why may be NULL.  */
int dn_phone_normalize(const char *text, int country, char out[DN_PHONE_SIZE], char *why,
                       size_t why_size);

/*  A phone prefix needs this many digits: fewer match most of a network.  */
#define DN_PHONE_PREFIX_MIN_DIGITS 3

/*  The canonical beginning ("+861380013") of the phones a search typed as
    text means (member find at the shop and HQ): its digits, read as
    dn_phone_normalize reads a whole phone (separators and full-width
    digits fine); with a leading '+' (or 00) an E.164 beginning, without
    one the national number of country (its trunk 0 dropped), so "138
    0013" with country 86 is "+861380013".  Into prefix[0..size).  Returns
    0, or DN_EPARSE: not only digits and separators, fewer than
    DN_PHONE_PREFIX_MIN_DIGITS digits, no '+' and no country, or too long.  */
int dn_phone_prefix(const char *text, int country, char *prefix, size_t size);

/*  Returns 1 if text is a canonical phone: what dn_phone_normalize gives
    back unchanged ('+', 7 to 15 digits, the rules' checks).  */
int dn_valid_phone(const char *text);

/*  Returns 1 if text has the shape of a phone in an event: digits with an
    optional leading '+', DN_MIN_PHONE_DIGITS to DN_MAX_PHONE_DIGITS
    digits.  Agents send canonical phones; agents before canonical phones
    sent the number as typed less its separators, and their signed events
    are never rewritten, so the wire accepts this shape and the server makes
    it canonical at ingest.  */
int dn_valid_phone_wire(const char *text);

/*  The default country code of a currency's country, or DN_COUNTRY_NONE
    for a currency of several countries (EUR, CHF) or an unknown one.  The
    table: AUD 61, BHD 973, CAD 1, CNY 86, GBP 44, HKD 852, JOD 962, JPY 81,
    KRW 82, KWD 965, MOP 853, MYR 60, NZD 64, OMR 968, SGD 65, THB 66,
    TND 216, TWD 886, USD 1, VND 84.  */
int dn_phone_country_of_currency(const char *currency);

/*  Parses a country calling code, "86" or "+86": 1 to 3 digits, not
    starting with 0.  Returns 0 and sets *country, or DN_EPARSE.  */
int dn_phone_country_parse(const char *text, int *country);

/*  Parses a decimal integer in [min, max] with nothing around it.  Returns 0
    and sets *out, or DN_EPARSE.  */
int dn_parse_int(const char *text, int64_t min, int64_t max, int64_t *out);

#endif

/*  fuzz_parse -- libFuzzer target over the parsers of bytes and text that
    come from outside: dn_wire_event_unpack (an event as the server
    receives it inside a batch and as the agent reads it back from its
    outbox), and what a clerk types -- dn_record_parse_line ("SKU:QTY" and
    "SKU:QTY@PRICE"), dn_money_parse and dn_phone_normalize -- with the
    dn_valid shapes beside them.

    Every input goes to all of them: as bytes to the event decoder, and up
    to its first NUL as text to the others.  Each result is checked against
    what the parser promises, so a wrong answer is a crash like any other:
      - an accepted event passes dn_wire_event_check, packs again, and its
        packing is a fixed point (unpack and pack give the same bytes);
      - a parsed amount formats back to text that parses to the same amount,
        at every exponent 0..4; exponent 5 is refused;
      - a parsed line has a valid SKU, a quantity of 1 to DN_MAX_QUANTITY
        whose text was all digits and had that value, and a price of 0 to
        DN_MAX_UNIT_PRICE;
      - a normalised phone is valid, and normalising it again changes
        nothing;
      - a valid code, SKU or name is no longer than its bound;
      - an accepted enrollment code (dn_bundle_parse) has fields the writer
        accepts, and writing them gives back the input without its
        whitespace (one spelling per code); a refused one leaves nothing.
*/
#include "dn_bundle.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_record.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_abort(const char *what, const char *input)
{
    fprintf(stderr, "fuzz_parse: invariant broken: %s (input \"%.200s\")\n", what,
            input ? input : "<bytes>");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dn_log_init("fuzz_parse", DN_LOG_QUIET, 0);
    return 0;
}

static void s_event(const uint8_t *data, size_t size)
{
    Dealernet__Event *ev = NULL, *again = NULL;
    char why[DN_WHY_SIZE];
    uint8_t *packed = NULL, *repacked = NULL;
    size_t len = 0, relen = 0;

    if (dn_wire_event_unpack(data, size, &ev, why, sizeof why))
        return;
    if (dn_wire_event_check(ev, why, sizeof why))
        s_abort("an unpacked event fails the check", why);
    if (dn_wire_event_pack(ev, &packed, &len, why, sizeof why))
        s_abort("an unpacked event does not pack", why);
    if (dn_wire_event_unpack(packed, len, &again, why, sizeof why))
        s_abort("a packed event does not unpack", why);
    if (dn_wire_event_pack(again, &repacked, &relen, why, sizeof why))
        s_abort("a repacked event does not pack", why);
    if (len != relen || memcmp(packed, repacked, len) != 0)
        s_abort("packing an event is not a fixed point", NULL);
    free(packed);
    free(repacked);
    dn_wire_event_free(&again);
    dn_wire_event_free(&ev);
}

static void s_money(const char *text)
{
    for (int exponent = 0; exponent <= 4; exponent++) {
        char buf[DN_MONEY_TEXT_SIZE];
        int64_t minor = 0, back = 0;
        int rc = dn_money_parse(text, exponent, &minor);
        if (rc == 0) {
            if (dn_money_format(minor, exponent, buf, sizeof buf))
                s_abort("a parsed amount does not format", text);
            if (dn_money_parse(buf, exponent, &back) || back != minor)
                s_abort("a formatted amount does not parse back", text);
        } else if (rc != DN_EPARSE && rc != DN_EOVERFLOW) {
            s_abort("dn_money_parse returned an unpromised code", text);
        }
    }
    int64_t minor = 0;
    if (dn_money_parse(text, 5, &minor) != DN_EINVAL)
        s_abort("exponent 5 accepted", text);
}

/*  The quantity text of a line: after the first ':' up to the first '@'.  */
static void s_line(const char *text)
{
    for (int exponent = 0; exponent <= 4; exponent += 2) {
        dn_record_line_t line;
        char why[256];
        if (dn_record_parse_line(text, exponent, &line, why, sizeof why))
            continue;
        const char *q = strchr(text, ':') + 1, *end = strchr(q, '@');
        int64_t value = 0;
        if (!end)
            end = q + strlen(q);
        /* a SKU, or a display name for dn_record_resolve_line to look up
           (sku "" until then): never anything else */
        if (line.sku[0] ? !dn_valid_sku(line.sku) || strcmp(line.sku, line.typed) != 0
                        : !dn_valid_name(line.typed))
            s_abort("a parsed line's item is neither a SKU nor a name", text);
        for (const char *p = q; p < end; p++) {
            if (*p < '0' || *p > '9')
                s_abort("a parsed line's quantity is not all digits", text);
            if (value <= DN_MAX_QUANTITY)
                value = value * 10 + (*p - '0');
        }
        if (line.quantity < 1 || line.quantity > DN_MAX_QUANTITY ||
            line.quantity != value)
            s_abort("a parsed line's quantity is not what its text says", text);
        if (line.has_price &&
            (line.unit_price < 0 || line.unit_price > DN_MAX_UNIT_PRICE))
            s_abort("a parsed line's price is out of range", text);
    }
}

static void s_phone(const char *text)
{
    static const int countries[] = {DN_COUNTRY_NONE, 1, 44, 86, 852};
    char norm[DN_PHONE_SIZE], again[DN_PHONE_SIZE], why[DN_PHONE_WHY_SIZE + 64];
    for (size_t i = 0; i < sizeof countries / sizeof countries[0]; i++) {
        if (dn_phone_normalize(text, countries[i], norm, why, sizeof why))
            continue;
        if (!dn_valid_phone(norm) || !dn_valid_phone_wire(norm))
            s_abort("a canonical phone is not valid", text);
        for (size_t j = 0; j < sizeof countries / sizeof countries[0]; j++)
            if (dn_phone_normalize(norm, countries[j], again, NULL, 0) ||
                strcmp(norm, again) != 0)
                s_abort("making a phone canonical twice changes it", text);
    }
}

static void s_shapes(const char *text)
{
    size_t len = strlen(text);
    if (dn_valid_code(text) && len > DN_MAX_CODE_LEN)
        s_abort("a valid code is too long", text);
    if (dn_valid_sku(text) && len > DN_MAX_SKU_LEN)
        s_abort("a valid SKU is too long", text);
    if (dn_valid_name(text) && len > DN_MAX_NAME_BYTES)
        s_abort("a valid name is too long", text);
    if (dn_valid_phone(text) && !dn_valid_text(text, DN_PHONE_SIZE))
        s_abort("a valid phone is not text", text);
}

static void s_bundle(const char *text)
{
    dn_bundle_t bundle, empty;
    char why[256], packed[DN_BUNDLE_TEXT_SIZE], bare[DN_BUNDLE_TEXT_SIZE];
    size_t n = 0;
    memset(&empty, 0, sizeof empty);
    if (dn_bundle_parse(text, &bundle, why, sizeof why) != 0) {
        if (memcmp(&bundle, &empty, sizeof bundle) != 0)
            s_abort("a refused enrollment code left fields behind", text);
        return;
    }
    if (dn_bundle_pack(&bundle, packed, sizeof packed, why, sizeof why) != 0)
        s_abort("an accepted enrollment code does not pack", text);
    for (const char *p = text; *p && n + 1 < sizeof bare; p++)
        if (!strchr(" \t\r\n\v\f", *p))
            bare[n++] = *p;
    bare[n] = '\0';
    if (strcmp(packed, bare) != 0)
        s_abort("an enrollment code has a second spelling", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    s_event(data, size);
    memcpy(text, data, size);
    text[size] = '\0';
    s_money(text);
    s_line(text);
    s_phone(text);
    s_shapes(text);
    s_bundle(text);
    free(text);
    return 0;
}

/*  dn_bundle -- the enrollment code (see dn_bundle.h).

    Parsing checks in the order that gives the most useful message: the
    prefix (what it is, which version), the alphabet (a stray character),
    the lengths (cut short, or something after the end), the check (a
    mistyped or altered character), and last the fields themselves (a code
    whose check matches but which no HQ of this version writes).
*/
#include "dn_bundle.h"
#include "dn_crypto.h"
#include "dn_error.h"
#include "dn_i18n.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char s_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*  1 if text[0..len) is printable ASCII without space (what an endpoint
    may hold: nothing a terminal or a log line would act on).  */
static int s_printable(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] <= ' ' || (unsigned char)text[i] > '~')
            return 0;
    return 1;
}

/*  The one rule for the fields, for pack and parse alike.  Returns 0 or
    DN_EPARSE with why naming the field.  */
static int s_check_fields(const char *endpoint, size_t endpoint_len, const char *site,
                          size_t site_len, const char *token, size_t token_len, char *why,
                          size_t why_size)
{
    if (endpoint_len == 0 || endpoint_len > DN_BUNDLE_MAX_ENDPOINT)
        return dn_why(why, why_size, DN_EPARSE,
                      _("its server endpoint has %zu bytes (1 to %d)"), endpoint_len,
                      DN_BUNDLE_MAX_ENDPOINT);
    if (!s_printable(endpoint, endpoint_len))
        return dn_why(why, why_size, DN_EPARSE,
                      _("its server endpoint has a space or a character that is not "
                        "printable ASCII"));
    if (site_len == 0 || site_len > DN_MAX_CODE_LEN)
        return dn_why(why, why_size, DN_EPARSE, _("its site code has %zu bytes (1 to %d)"),
                      site_len, DN_MAX_CODE_LEN);
    char code[DN_MAX_CODE_LEN + 1];
    memcpy(code, site, site_len);
    code[site_len] = '\0';
    if (!dn_valid_code(code))
        return dn_why(why, why_size, DN_EPARSE, _("its site code '%s' is not a code"), code);
    char copy[DN_BUNDLE_MAX_TOKEN + 1];
    if (token_len <= DN_BUNDLE_MAX_TOKEN)
        memcpy(copy, token, token_len);
    copy[token_len <= DN_BUNDLE_MAX_TOKEN ? token_len : 0] = '\0';
    if (!dn_wire_token_valid(copy)) {
        OPENSSL_cleanse(copy, sizeof copy);
        return dn_why(why, why_size, DN_EPARSE,
                      _("its token is not %d to %d ASCII letters and digits (%zu bytes)"),
                      DN_MIN_TOKEN_LEN, DN_BUNDLE_MAX_TOKEN, token_len);
    }
    OPENSSL_cleanse(copy, sizeof copy);
    return 0;
}

/*  check = SHA-256(prefix || payload), first DN_BUNDLE_CHECK_BYTES bytes.  */
static int s_check(const uint8_t *payload, size_t len, uint8_t check[DN_BUNDLE_CHECK_BYTES])
{
    uint8_t buf[sizeof DN_BUNDLE_PREFIX - 1 + DN_BUNDLE_MAX_BYTES];
    uint8_t digest[DN_HASH_BYTES];
    size_t prefix = sizeof DN_BUNDLE_PREFIX - 1;
    int rc;
    if (len > DN_BUNDLE_MAX_BYTES)
        return DN_EINVAL;
    memcpy(buf, DN_BUNDLE_PREFIX, prefix);
    memcpy(buf + prefix, payload, len);
    rc = dn_sha256(buf, prefix + len, digest);
    OPENSSL_cleanse(buf, sizeof buf);
    if (rc == 0)
        memcpy(check, digest, DN_BUNDLE_CHECK_BYTES);
    return rc ? DN_ECRYPTO : 0;
}

int dn_bundle_pack(const dn_bundle_t *bundle, char *text, size_t size, char *why,
                   size_t why_size)
{
    uint8_t raw[DN_BUNDLE_MAX_BYTES];
    size_t endpoint_len = strnlen(bundle->endpoint, sizeof bundle->endpoint);
    size_t site_len = strnlen(bundle->site, sizeof bundle->site);
    size_t token_len = strnlen(bundle->token, sizeof bundle->token);
    size_t n = 0, out = 0, prefix = sizeof DN_BUNDLE_PREFIX - 1;
    int rc;

    if (size)
        text[0] = '\0';
    if (endpoint_len == sizeof bundle->endpoint || site_len == sizeof bundle->site ||
        token_len == sizeof bundle->token) /* not NUL-terminated: too long */
        return dn_why(why, why_size, DN_EINVAL, _("a field of the enrollment code is too long"));
    if ((rc = s_check_fields(bundle->endpoint, endpoint_len, bundle->site, site_len,
                             bundle->token, token_len, why, why_size)) != 0)
        return DN_EINVAL;
    raw[n++] = (uint8_t)endpoint_len;
    memcpy(raw + n, bundle->endpoint, endpoint_len);
    n += endpoint_len;
    if (!dn_curve_valid_z85(bundle->server_key) ||
        dn_curve_decode(bundle->server_key, raw + n) != 0)
        return dn_why(why, why_size, DN_EINVAL, _("its server key is not a 40-character Z85 key"));
    n += DN_CURVE_KEY_BYTES;
    raw[n++] = (uint8_t)site_len;
    memcpy(raw + n, bundle->site, site_len);
    n += site_len;
    raw[n++] = (uint8_t)token_len;
    memcpy(raw + n, bundle->token, token_len);
    n += token_len;
    if ((rc = s_check(raw, n, raw + n)) != 0) {
        OPENSSL_cleanse(raw, sizeof raw);
        return dn_why(why, why_size, rc, _("cannot compute the check of the enrollment code"));
    }
    n += DN_BUNDLE_CHECK_BYTES;

    if (size < prefix + (n * 4 + 2) / 3 + 1) {
        OPENSSL_cleanse(raw, sizeof raw);
        return dn_why(why, why_size, DN_ETOOBIG, _("no room for the enrollment code"));
    }
    memcpy(text, DN_BUNDLE_PREFIX, prefix);
    out = prefix;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16;
        size_t left = n - i;
        if (left > 1)
            v |= (uint32_t)raw[i + 1] << 8;
        if (left > 2)
            v |= raw[i + 2];
        text[out++] = s_alphabet[(v >> 18) & 63];
        text[out++] = s_alphabet[(v >> 12) & 63];
        if (left > 1)
            text[out++] = s_alphabet[(v >> 6) & 63];
        if (left > 2)
            text[out++] = s_alphabet[v & 63];
    }
    text[out] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

/*  The value of a base64url character, or -1.  */
static int s_value(char c)
{
    const char *p = c ? strchr(s_alphabet, c) : NULL;
    return p ? (int)(p - s_alphabet) : -1;
}

/*  Reads the code's characters (no whitespace, no prefix) into raw, which
    holds (len * 3) / 4 bytes.  Returns the number of bytes, or -1 with why
    set for a character no code has.  *leftover is set to 1 when one
    character is left over, which no writer ends a code with (4n+1 long):
    something was added or cut; *loose to 1 when a short last group has
    bits set that a writer leaves 0 (so a changed last character cannot
    hide in them).  */
static long s_decode(const char *text, size_t len, uint8_t *raw, int *leftover, int *loose,
                     char *why, size_t why_size)
{
    size_t n = 0;
    *leftover = len % 4 == 1;
    *loose = 0;
    for (size_t i = 0; i < len; i++)
        if (s_value(text[i]) < 0) {
            dn_why(why, why_size, 0,
                   _("the enrollment code has a character no code has ('%c' after %zu "
                     "characters): copy it again, exactly as headquarters sent it"),
                   text[i] > ' ' && text[i] <= '~' ? text[i] : '?',
                   i + sizeof DN_BUNDLE_PREFIX - 1);
            return -1;
        }
    len -= (size_t)*leftover;
    for (size_t i = 0; i < len; i += 4) {
        size_t group = len - i < 4 ? len - i : 4;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++)
            v = v << 6 | (uint32_t)(j < group ? s_value(text[i + j]) : 0);
        if ((group == 2 && (v & 0xFFFF)) || (group == 3 && (v & 0xFF)))
            *loose = 1;
        for (size_t j = 0; j + 1 < group; j++)
            raw[n++] = (uint8_t)(v >> (16 - 8 * j));
    }
    return (long)n;
}

int dn_bundle_parse(const char *text, dn_bundle_t *bundle, char *why, size_t why_size)
{
    char code[DN_BUNDLE_TEXT_SIZE];
    uint8_t raw[DN_BUNDLE_MAX_BYTES], check[DN_BUNDLE_CHECK_BYTES];
    size_t len = 0, prefix = sizeof DN_BUNDLE_PREFIX - 1, digits = 0;
    size_t endpoint_at, endpoint_len, key_at, site_at, site_len, token_at, token_len;
    size_t payload_len;
    long n;
    int leftover, loose, rc = DN_EPARSE;

    memset(bundle, 0, sizeof *bundle);
    for (const char *p = text; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\v' ||
            *p == '\f')
            continue;
        if (len + 1 == sizeof code) {
            OPENSSL_cleanse(code, sizeof code);
            return dn_why(why, why_size, DN_EPARSE,
                          _("the enrollment code is longer than any code (more than %zu "
                            "characters): copy exactly the code headquarters sent"),
                          sizeof code - 1);
        }
        code[len++] = *p;
    }
    code[len] = '\0';

    /* "DN<version>:" */
    if (len == 0)
        return dn_why(why, why_size, DN_EPARSE,
                      _("no enrollment code given: paste the code headquarters sent (it "
                        "starts with %s)"),
                      DN_BUNDLE_PREFIX);
    while (2 + digits < len && code[2 + digits] >= '0' && code[2 + digits] <= '9')
        digits++;
    if (len < 4 || code[0] != 'D' || code[1] != 'N' || digits == 0 || digits > 3 ||
        (digits > 1 && code[2] == '0') || code[2 + digits] != ':') {
        OPENSSL_cleanse(code, sizeof code);
        return dn_why(why, why_size, DN_EPARSE,
                      _("this is not an enrollment code (a code starts with %s): paste the "
                        "code headquarters sent"),
                      DN_BUNDLE_PREFIX);
    }
    if (digits + 3 != prefix || memcmp(code, DN_BUNDLE_PREFIX, prefix) != 0) {
        int version = 0;
        for (size_t i = 0; i < digits; i++)
            version = version * 10 + (code[2 + i] - '0');
        OPENSSL_cleanse(code, sizeof code);
        return dn_why(why, why_size, DN_EPROTO,
                      _("this enrollment code is of version %d; this program reads version "
                        "%d (%s): update it, or ask headquarters for a code of version %d"),
                      version, DN_BUNDLE_VERSION, DN_BUNDLE_PREFIX, DN_BUNDLE_VERSION);
    }

    /* len - prefix < sizeof code - prefix: at most DN_BUNDLE_MAX_BYTES bytes */
    n = s_decode(code + prefix, len - prefix, raw, &leftover, &loose, why, why_size);
    OPENSSL_cleanse(code, sizeof code);
    if (n < 0)
        goto done;

    /* the lengths say where the code ends */
    endpoint_at = 1;
    endpoint_len = n >= 1 ? raw[0] : 0;
    key_at = endpoint_at + endpoint_len;
    site_at = key_at + DN_CURVE_KEY_BYTES + 1;
    site_len = (size_t)n >= site_at ? raw[site_at - 1] : 0;
    token_at = site_at + site_len + 1;
    token_len = (size_t)n >= token_at ? raw[token_at - 1] : 0;
    payload_len = token_at + token_len;
    if (n < 1 || (size_t)n < site_at || (size_t)n < token_at ||
        (size_t)n < payload_len + DN_BUNDLE_CHECK_BYTES) {
        dn_why(why, why_size, DN_EPARSE,
               _("the enrollment code is cut short (%zu characters): copy the whole code, "
                 "from %s to its last character"),
               len, DN_BUNDLE_PREFIX);
        goto done;
    }
    if ((size_t)n > payload_len + DN_BUNDLE_CHECK_BYTES || leftover) {
        dn_why(why, why_size, DN_EPARSE,
               _("the enrollment code has extra characters at its end: copy exactly the "
                 "code headquarters sent"));
        goto done;
    }
    if (loose) {
        dn_why(why, why_size, DN_EPARSE,
               _("the enrollment code is damaged (its last character is wrong): copy it "
                 "again, exactly as headquarters sent it"));
        goto done;
    }
    if ((rc = s_check(raw, payload_len, check)) != 0) {
        dn_why(why, why_size, rc, _("cannot compute the check of the enrollment code"));
        goto done;
    }
    rc = DN_EPARSE;
    if (CRYPTO_memcmp(check, raw + payload_len, DN_BUNDLE_CHECK_BYTES) != 0) {
        dn_why(why, why_size, DN_EPARSE,
               _("the enrollment code is damaged (its check does not match): copy it again, "
                 "exactly as headquarters sent it"));
        goto done;
    }
    {
        char field[160];
        if (s_check_fields((const char *)raw + endpoint_at, endpoint_len,
                           (const char *)raw + site_at, site_len,
                           (const char *)raw + token_at, token_len, field,
                           sizeof field) != 0) {
            dn_why(why, why_size, DN_EPARSE,
                   _("the enrollment code is not one headquarters writes: %s"), field);
            goto done;
        }
    }
    memcpy(bundle->endpoint, raw + endpoint_at, endpoint_len);
    dn_curve_encode(raw + key_at, bundle->server_key);
    memcpy(bundle->site, raw + site_at, site_len);
    memcpy(bundle->token, raw + token_at, token_len);
    rc = 0;
done:
    OPENSSL_cleanse(raw, sizeof raw);
    if (rc)
        memset(bundle, 0, sizeof *bundle);
    return rc;
}

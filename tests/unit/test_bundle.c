/*  test_bundle -- unit tests for dn_bundle, the enrollment code.

    The promises under test: a code is byte for byte the documented layout
    (the expected text below was computed apart from this code, with
    Python's hashlib and base64 over the layout of dn_bundle.h); it reads
    back to the very fields, whitespace anywhere ignored; every code cut
    short says so, whatever the cut; any one character changed is refused;
    a code of another version, a stray character, extra characters, and
    fields longer than the limits (written by pack or crafted with a good
    check) are refused with their own message.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dn_bundle.h"
#include "dn_crypto.h"
#include "dn_error.h"

/* the README's example server key and token */
#define KEY      "i@B>Nlcm2#Wx%Tzg7mi[cv7+8d8^UL^O<0W}T0fl"
#define TOKEN    "7ccfdbde533fc1c74fcf78be3f21156e"
#define ENDPOINT "tcp://hq.example.com:7700"
/* import hashlib, base64: payload = len|endpoint|key (32 bytes)|len|site|
   len|token; 'DN1:' + urlsafe_b64encode(payload + sha256(b'DN1:' +
   payload)[:4]) without '=': 104 bytes, 143 characters */
#define CODE                                                                      \
    "DN1:GXRjcDovL2hxLmV4YW1wbGUuY29tOjc3MDA6_IpvQcnDhbW0aU8yDFa4JnmSKyjFKhfSU1EY-" \
    "uzhSwhTSE9QLUJKMSA3Y2NmZGJkZTUzM2ZjMWM3NGZjZjc4YmUzZjIxMTU2ZaUJlIQ"

#define CUT_SHORT "the enrollment code is cut short"
#define DAMAGED   "the enrollment code is damaged"

static void s_example(dn_bundle_t *b)
{
    memset(b, 0, sizeof *b);
    strcpy(b->endpoint, ENDPOINT);
    strcpy(b->server_key, KEY);
    strcpy(b->site, "SHOP-BJ1");
    strcpy(b->token, TOKEN);
}

/*  Asserts that parsing text fails with rc and a message starting with
    start.  */
static void s_refused(const char *text, int rc, const char *start)
{
    dn_bundle_t b;
    char why[256] = "";
    int got = dn_bundle_parse(text, &b, why, sizeof why);
    if (got != rc || strncmp(why, start, strlen(start)) != 0)
        print_error("'%s': expected %d '%s...', got %d '%s'\n", text, rc, start, got, why);
    assert_int_equal(got, rc);
    assert_true(strncmp(why, start, strlen(start)) == 0);
    /* nothing half-read is left behind */
    assert_string_equal(b.token, "");
    assert_string_equal(b.endpoint, "");
}

/*  Asserts that the writer refuses in with DN_EINVAL and why.  */
static void s_unwritable(const dn_bundle_t *in, const char *why_expected)
{
    char text[DN_BUNDLE_TEXT_SIZE] = "x", why[256] = "";
    assert_int_equal(dn_bundle_pack(in, text, sizeof text, why, sizeof why), DN_EINVAL);
    assert_string_equal(why, why_expected);
    assert_string_equal(text, ""); /* nothing half-written */
}

/*  base64url without padding, written apart from dn_bundle.c, for codes
    the writer would refuse to write.  */
static void s_encode(const uint8_t *raw, size_t n, char *out)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t bits = 0, k = 0;
    uint32_t acc = 0;
    strcpy(out, "DN1:");
    k = 4;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | raw[i];
        bits += 8;
        while (bits >= 6) {
            out[k++] = a[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits)
        out[k++] = a[(acc << (6 - bits)) & 63];
    out[k] = '\0';
}

/*  A code with the given fields and a good check, however long they are.  */
static void s_craft(const char *endpoint, const char *site, const char *token, char *out)
{
    uint8_t raw[1024], digest[DN_HASH_BYTES], buf[1024];
    size_t n = 0;
    raw[n++] = (uint8_t)strlen(endpoint);
    memcpy(raw + n, endpoint, strlen(endpoint));
    n += strlen(endpoint);
    assert_int_equal(dn_curve_decode(KEY, raw + n), 0);
    n += 32;
    raw[n++] = (uint8_t)strlen(site);
    memcpy(raw + n, site, strlen(site));
    n += strlen(site);
    raw[n++] = (uint8_t)strlen(token);
    memcpy(raw + n, token, strlen(token));
    n += strlen(token);
    memcpy(buf, "DN1:", 4);
    memcpy(buf + 4, raw, n);
    assert_int_equal(dn_sha256(buf, n + 4, digest), 0);
    memcpy(raw + n, digest, 4);
    s_encode(raw, n + 4, out);
}

static void test_round_trip(void **state)
{
    dn_bundle_t in, out;
    char text[DN_BUNDLE_TEXT_SIZE], why[256] = "";
    (void)state;

    s_example(&in);
    assert_int_equal(dn_bundle_pack(&in, text, sizeof text, why, sizeof why), 0);
    assert_string_equal(text, CODE);
    assert_int_equal(strlen(text), 143);
    assert_int_equal(dn_bundle_parse(text, &out, why, sizeof why), 0);
    assert_string_equal(out.endpoint, ENDPOINT);
    assert_string_equal(out.server_key, KEY);
    assert_string_equal(out.site, "SHOP-BJ1");
    assert_string_equal(out.token, TOKEN);

    /* only [A-Za-z0-9_-] after the prefix: nothing a shell or a console
       acts on, no quote */
    assert_int_equal(strspn(text + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_"),
                     strlen(text) - 4);

    /* wrapped by a chat app, with spaces, CR LF and a tab around */
    assert_int_equal(dn_bundle_parse("  DN1:GXRjcDovL2hxLmV4YW1wbGUuY29tOjc3MDA6_IpvQcnDhbW0"
                                     "aU8yDFa4JnmSKyjFKhfSU1EY-\r\nuzhSwhTSE9QLUJKMSA3Y2NmZ"
                                     "GJkZTUzM2ZjMWM3NGZjZjc4YmUzZjIxMTU2Z aUJlIQ\t\n",
                                     &out, why, sizeof why),
                     0);
    assert_string_equal(out.token, TOKEN);

    /* the longest fields of all: exactly DN_BUNDLE_TEXT_SIZE - 1 characters */
    memset(&in, 0, sizeof in);
    memcpy(in.endpoint, "tcp://", 6);
    memset(in.endpoint + 6, 'h', DN_BUNDLE_MAX_ENDPOINT - 6);
    strcpy(in.server_key, KEY);
    memset(in.site, 'S', DN_MAX_CODE_LEN);
    memset(in.token, 'z', DN_BUNDLE_MAX_TOKEN);
    assert_int_equal(dn_bundle_pack(&in, text, sizeof text, why, sizeof why), 0);
    assert_int_equal(strlen(text), DN_BUNDLE_TEXT_SIZE - 1);
    assert_int_equal(strlen(text), 451); /* 4 + (335 bytes * 4 + 2) / 3 */
    assert_int_equal(dn_bundle_parse(text, &out, why, sizeof why), 0);
    assert_memory_equal(&in, &out, sizeof in);

    /* one byte of room too few */
    s_example(&in);
    assert_int_equal(dn_bundle_pack(&in, text, 143, why, sizeof why), DN_ETOOBIG);
}

static void test_truncated(void **state)
{
    char text[sizeof CODE];
    (void)state;

    /* every cut, from nothing after the prefix to one character short */
    for (size_t len = 4; len < strlen(CODE); len++) {
        memcpy(text, CODE, len);
        text[len] = '\0';
        s_refused(text, DN_EPARSE, CUT_SHORT);
    }
    s_refused("DN1:GXRjcDovL2hxLmV4YW1wbGUu", DN_EPARSE,
              "the enrollment code is cut short (28 characters): copy the whole code, "
              "from DN1: to its last character");
    s_refused("", DN_EPARSE,
              "no enrollment code given: paste the code headquarters sent (it starts "
              "with DN1:)");
    s_refused(" \r\n", DN_EPARSE, "no enrollment code given");
    s_refused("DN1", DN_EPARSE, "this is not an enrollment code");
}

static void test_bad_check(void **state)
{
    char text[sizeof CODE];
    (void)state;

    /* any one character changed, at every position after the prefix */
    for (size_t i = 4; i < strlen(CODE); i++) {
        dn_bundle_t b;
        char why[256];
        memcpy(text, CODE, sizeof text);
        text[i] = text[i] == 'A' ? 'B' : 'A';
        if (dn_bundle_parse(text, &b, why, sizeof why) != DN_EPARSE)
            print_error("one change at %zu was not refused\n", i);
        assert_int_equal(dn_bundle_parse(text, &b, why, sizeof why), DN_EPARSE);
    }
    /* a letter of the token (character 100) typed wrong */
    memcpy(text, CODE, sizeof text);
    assert_int_equal(text[100], 'Z');
    text[100] = 'Y';
    s_refused(text, DN_EPARSE,
              "the enrollment code is damaged (its check does not match): copy it again, "
              "exactly as headquarters sent it");
    /* the last character: 143 = 4n+3, its low 2 bits are never set */
    memcpy(text, CODE, sizeof text);
    text[142] = 'R'; /* Q + 1 */
    s_refused(text, DN_EPARSE,
              "the enrollment code is damaged (its last character is wrong)");
    /* a character no code has */
    memcpy(text, CODE, sizeof text);
    text[10] = '$';
    s_refused(text, DN_EPARSE,
              "the enrollment code has a character no code has ('$' after 10 "
              "characters): copy it again, exactly as headquarters sent it");
    memcpy(text, CODE, sizeof text);
    text[10] = '=';
    s_refused(text, DN_EPARSE, "the enrollment code has a character no code has ('='");
    /* extra characters at the end: one (the last group of three becomes
       four: one byte more) or four (three more bytes) */
    s_refused(CODE "A", DN_EPARSE,
              "the enrollment code has extra characters at its end: copy exactly the "
              "code headquarters sent");
    s_refused(CODE "AAAA", DN_EPARSE, "the enrollment code has extra characters");
}

static void test_version(void **state)
{
    (void)state;
    s_refused("DN2:GXRjcDovL2hxLmV4YW1wbGUuY29tOjc3MDA6", DN_EPROTO,
              "this enrollment code is of version 2; this program reads version 1 (DN1:): "
              "update it, or ask headquarters for a code of version 1");
    s_refused("DN12:GXRj", DN_EPROTO, "this enrollment code is of version 12;");
    s_refused("DN01:GXRj", DN_EPARSE, "this is not an enrollment code");
    s_refused("dn1:GXRjcDovL2hxLmV4YW1wbGUuY29tOjc3MDA6", DN_EPARSE,
              "this is not an enrollment code (a code starts with DN1:): paste the code "
              "headquarters sent");
    s_refused("DN:GXRj", DN_EPARSE, "this is not an enrollment code");
    s_refused("DN1234:GXRj", DN_EPARSE, "this is not an enrollment code");
    s_refused(TOKEN, DN_EPARSE, "this is not an enrollment code");
}

static void test_fields(void **state)
{
    dn_bundle_t in, out;
    char text[2048], why[256] = "", endpoint[256], token[128];
    (void)state;

    /* the writer refuses what it may not write */
    s_example(&in);
    memset(in.endpoint, 'h', DN_BUNDLE_MAX_ENDPOINT);
    in.endpoint[DN_BUNDLE_MAX_ENDPOINT] = 'h'; /* 201 bytes, no NUL */
    s_unwritable(&in, "a field of the enrollment code is too long");
    s_example(&in);
    strcpy(in.endpoint, "tcp://hq example:7700");
    s_unwritable(&in, "its server endpoint has a space or a character that is not "
                      "printable ASCII");
    s_example(&in);
    strcpy(in.site, "1SHOP");
    s_unwritable(&in, "its site code '1SHOP' is not a code");
    s_example(&in);
    strcpy(in.token, "");
    s_unwritable(&in, "its token is not 16 to 64 ASCII letters and digits (0 bytes)");
    s_example(&in);
    strcpy(in.token, "7ccfdbde-533fc1c74fcf78be3f2115");
    s_unwritable(&in, "its token is not 16 to 64 ASCII letters and digits (31 bytes)");
    s_example(&in);
    strcpy(in.server_key, "not a key");
    s_unwritable(&in, "its server key is not a 40-character Z85 key");

    /* a crafted code with a good check but fields beyond the limits */
    memset(endpoint, 'h', 201);
    memcpy(endpoint, "tcp://", 6);
    endpoint[201] = '\0';
    s_craft(endpoint, "SHOP-BJ1", TOKEN, text);
    s_refused(text, DN_EPARSE,
              "the enrollment code is not one headquarters writes: its server endpoint "
              "has 201 bytes (1 to 200)");
    memset(token, 'x', 65);
    token[65] = '\0';
    s_craft(ENDPOINT, "SHOP-BJ1", token, text);
    s_refused(text, DN_EPARSE,
              "the enrollment code is not one headquarters writes: its token is not 16 to 64 "
              "ASCII letters and digits (65 bytes)");
    s_craft(ENDPOINT, "SHOP-BJ1-A-SITE-CODE-OF-33-BYTES1", TOKEN, text);
    s_refused(text, DN_EPARSE,
              "the enrollment code is not one headquarters writes: its site code has 33 "
              "bytes (1 to 32)");
    s_craft(ENDPOINT, "SHOP-BJ1", "7ccfdbde533f c1c74fcf78be3f21156e", text);
    s_refused(text, DN_EPARSE,
              "the enrollment code is not one headquarters writes: its token is not 16 to 64 "
              "ASCII letters and digits (33 bytes)");
    s_craft("", "SHOP-BJ1", TOKEN, text);
    s_refused(text, DN_EPARSE,
              "the enrollment code is not one headquarters writes: its server endpoint "
              "has 0 bytes");
    /* the crafting is right: with fields in bounds it reads back */
    s_craft(ENDPOINT, "SHOP-BJ1", TOKEN, text);
    assert_string_equal(text, CODE);
    assert_int_equal(dn_bundle_parse(text, &out, why, sizeof why), 0);

    /* far longer than any code */
    memset(text, 'A', 600);
    memcpy(text, "DN1:", 4);
    text[600] = '\0';
    s_refused(text, DN_EPARSE,
              "the enrollment code is longer than any code (more than 451 characters): "
              "copy exactly the code headquarters sent");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_check),  cmocka_unit_test(test_version),
        cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

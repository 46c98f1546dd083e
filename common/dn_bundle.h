/*  dn_bundle -- the enrollment code: everything a shop needs to enroll, in
    one string a clerk pastes.

    Enrolling needs the server's endpoint, its 40-character Z85 key (full of
    $ ! > < & ( that a shell or a chat app mangles), the site code and the
    single-use token.  Typed or pasted as four arguments they break, and the
    token lands in shell history and in `ps`.  HQ prints them as one code
    instead, which the agent reads from standard input or a file, never
    from its command line:

        DN1:<base64url, no padding, of  payload || check>

        payload = u8 n | endpoint (n bytes, 1..DN_BUNDLE_MAX_ENDPOINT)
                | server key (DN_CURVE_KEY_BYTES raw bytes)
                | u8 n | site code (n bytes, a dn_valid_code)
                | u8 n | token (n bytes, a dn_wire_token_valid token)
        check   = the first DN_BUNDLE_CHECK_BYTES bytes of
                  SHA-256("DN1:" || payload)

    Why this shape: "DN<version>:" says what the string is and lets a later
    layout be told apart from a damaged one; base64url ([A-Za-z0-9_-]) has
    no character that sh, cmd.exe or PowerShell treat specially and no
    quote, so the code survives any copy; the lengths say exactly where the
    code ends, so a code cut short is told apart from a mistyped one; the
    check catches any changed character with odds of 1 in 4 billion of
    missing one.  Whitespace anywhere in the text is ignored (a chat app
    that wraps the code in two lines does no harm).  The token is carried
    as text, so the code does not depend on how the server makes tokens.
*/
#ifndef DN_BUNDLE_H
#define DN_BUNDLE_H

#include "dn_curve.h"
#include "dn_valid.h"
#include "dn_wire.h"

#include <stddef.h>

#define DN_BUNDLE_PREFIX       "DN1:"
#define DN_BUNDLE_VERSION      1
#define DN_BUNDLE_MAX_ENDPOINT 200 /* bytes: tcp://host.example.com:7700 with room */
#define DN_BUNDLE_MAX_TOKEN    DN_MAX_TOKEN_LEN /* today's tokens are 32 */
#define DN_BUNDLE_CHECK_BYTES  4

/*  The longest payload and check, and the longest code text with its NUL
    (4 base64 characters per 3 bytes, rounded up).  */
#define DN_BUNDLE_MAX_BYTES                                                          \
    (1 + DN_BUNDLE_MAX_ENDPOINT + DN_CURVE_KEY_BYTES + 1 + DN_MAX_CODE_LEN + 1 +     \
     DN_BUNDLE_MAX_TOKEN + DN_BUNDLE_CHECK_BYTES)
#define DN_BUNDLE_TEXT_SIZE (sizeof DN_BUNDLE_PREFIX + (DN_BUNDLE_MAX_BYTES * 4 + 2) / 3)

typedef struct {
    char endpoint[DN_BUNDLE_MAX_ENDPOINT + 1]; /* printable ASCII, no space */
    char server_key[DN_Z85_KEY_SIZE];          /* Z85, as dn_curve prints it */
    char site[DN_MAX_CODE_LEN + 1];            /* a dn_valid_code */
    char token[DN_BUNDLE_MAX_TOKEN + 1];       /* dn_wire_token_valid */
} dn_bundle_t;

/*  Writes the code of bundle into text (NUL-terminated; DN_BUNDLE_TEXT_SIZE
    always suffices).  Returns 0; DN_EINVAL if a field is empty, too long
    or has a character it may not have, or the server key is not a Z85
    key (why names the field); DN_ETOOBIG if size is too small;
    DN_ECRYPTO.  */
int dn_bundle_pack(const dn_bundle_t *bundle, char *text, size_t size, char *why,
                   size_t why_size);

/*  Reads a code (whitespace anywhere is ignored) into *bundle.  Returns 0;
    DN_EPARSE, why saying what is wrong and what to do: not a code at all,
    a character no code has, cut short, extra characters at its end, a
    wrong check (mistyped or altered), a field too long or malformed;
    DN_EPROTO for a code of another version than DN_BUNDLE_VERSION ("DN2:"
    from a newer HQ); DN_ECRYPTO.  *bundle is zeroed on error.  The caller
    wipes *bundle (it holds the token) when done.  */
int dn_bundle_parse(const char *text, dn_bundle_t *bundle, char *why, size_t why_size);

#endif

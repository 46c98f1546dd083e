/*  dn_id -- 16-byte time-ordered ids (UUIDv7, RFC 9562).

    An event id is globally unique and sorts by creation time, so the server
    can order and index events from thousands of sites without coordination.
    Layout: 48-bit Unix milliseconds, version 7, 12-bit rand_a, variant 10,
    62-bit rand_b; randomness from OpenSSL's RAND_bytes.  Within one thread,
    ids are strictly increasing even inside one millisecond: rand_a is a
    counter seeded at random each new millisecond (RFC 9562 method 1), and a
    counter overflow borrows the next millisecond.
*/
#ifndef DN_ID_H
#define DN_ID_H

#include <stdint.h>

#define DN_ID_BYTES     16
#define DN_ID_TEXT_SIZE 37 /* 36 characters and the NUL */

/*  Fills id with a new UUIDv7.  Returns 0, or DN_ECRYPTO if the random
    generator failed (id is then untouched).  */
int dn_id_new(uint8_t id[DN_ID_BYTES]);

/*  Like dn_id_new with an explicit clock in Unix milliseconds (for tests and
    for callers that already hold the time); a clock outside 0..2^48-1 is
    clamped into it.  Monotonic per thread: a clock that goes backwards reuses
    the last timestamp, so the stored time may be ahead of the clock given.  */
int dn_id_new_at(uint8_t id[DN_ID_BYTES], int64_t unix_ms);

/*  Returns the Unix milliseconds stored in a UUIDv7.  */
int64_t dn_id_time_ms(const uint8_t id[DN_ID_BYTES]);

/*  Writes the canonical lower-case text form
    ("0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d") and its NUL into text.  */
void dn_id_format(const uint8_t id[DN_ID_BYTES], char text[DN_ID_TEXT_SIZE]);

/*  Parses the canonical text form (either case, with hyphens at 8-13-18-23)
    into id.  Returns 0 or DN_EPARSE (id untouched).  */
int dn_id_parse(const char *text, uint8_t id[DN_ID_BYTES]);

#endif

/*  dn_id -- 16-byte time-ordered ids (UUIDv7, RFC 9562 method 1).

    The per-thread state (last timestamp and 12-bit counter) makes ids from
    one thread strictly increasing without a lock.  The counter is seeded
    each new millisecond with 11 random bits and its top bit clear (RFC 9562
    section 6.2, counter rollover guard), so at least 2048 ids fit in one
    millisecond before it borrows the next.  Uniqueness across threads,
    processes, forks and hosts comes from the 62 random bits of rand_b, which
    OpenSSL's DRBG keeps fork-safe; the counter only provides order.
    Randomness is drawn before the state moves, so a failure leaves both the
    id and the state as they were.
*/
#include "dn_id.h"
#include "dn_error.h"

#include <assert.h>
#include <time.h>

#include <openssl/rand.h>

#define DN_ID_MS_MAX       ((INT64_C(1) << 48) - 1) /* largest 48-bit timestamp */
#define DN_ID_COUNTER_MAX  0xFFF                    /* 12-bit rand_a counter */
#define DN_ID_COUNTER_SEED 0x7FF                    /* seed mask: top bit clear */
#define DN_ID_RANDOM_BYTES 10                       /* 2 seed, 8 for rand_b */

static _Thread_local struct {
    int started;      /* 0 until the first id of this thread */
    int64_t last_ms;  /* timestamp of the last id, may run ahead of the clock */
    uint16_t counter; /* rand_a of the last id */
} s_state;

static const char s_hex_digits[] = "0123456789abcdef";

int dn_id_new(uint8_t id[DN_ID_BYTES])
{
    struct timespec now;
    int64_t unix_ms = 0;
    if (clock_gettime(CLOCK_REALTIME, &now) == 0 && now.tv_sec >= 0 &&
        now.tv_sec <= DN_ID_MS_MAX / 1000)
        unix_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    return dn_id_new_at(id, unix_ms);
}

int dn_id_new_at(uint8_t id[DN_ID_BYTES], int64_t unix_ms)
{
    assert(id != NULL);
    /*  The clock is outside data (a shop PC's RTC may be anything): clamp it
        rather than assert.  */
    if (unix_ms < 0)
        unix_ms = 0;
    if (unix_ms > DN_ID_MS_MAX)
        unix_ms = DN_ID_MS_MAX;

    uint8_t random[DN_ID_RANDOM_BYTES];
    if (RAND_bytes(random, sizeof random) != 1)
        return DN_ECRYPTO;
    uint16_t seed = (uint16_t)(((random[0] << 8) | random[1]) & DN_ID_COUNTER_SEED);

    if (!s_state.started || unix_ms > s_state.last_ms) {
        s_state.started = 1;
        s_state.last_ms = unix_ms;
        s_state.counter = seed;
    } else if (s_state.counter < DN_ID_COUNTER_MAX) {
        s_state.counter++; /* same or earlier clock: keep the last timestamp */
    } else {
        /*  Counter spent: borrow the next millisecond.  Reaching the end of
            48-bit time (year 10889) this way is not a case we serve.  */
        assert(s_state.last_ms < DN_ID_MS_MAX);
        s_state.last_ms++;
        s_state.counter = seed;
    }

    uint64_t ms = (uint64_t)s_state.last_ms;
    for (int i = 0; i < 6; i++)
        id[i] = (uint8_t)(ms >> (40 - 8 * i));
    id[6] = (uint8_t)(0x70 | (s_state.counter >> 8));
    id[7] = (uint8_t)(s_state.counter & 0xFF);
    id[8] = (uint8_t)(0x80 | (random[2] & 0x3F));
    for (int i = 9; i < DN_ID_BYTES; i++)
        id[i] = random[i - 6];
    return 0;
}

int64_t dn_id_time_ms(const uint8_t id[DN_ID_BYTES])
{
    assert(id != NULL);
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = (ms << 8) | id[i];
    return (int64_t)ms;
}

static int s_is_hyphen_position(int i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

void dn_id_format(const uint8_t id[DN_ID_BYTES], char text[DN_ID_TEXT_SIZE])
{
    assert(id != NULL && text != NULL);
    int pos = 0;
    for (int i = 0; i < DN_ID_BYTES; i++) {
        if (s_is_hyphen_position(pos))
            text[pos++] = '-';
        text[pos++] = s_hex_digits[id[i] >> 4];
        text[pos++] = s_hex_digits[id[i] & 0x0F];
    }
    text[pos] = '\0';
}

/*  Returns the value of a hex digit of either case, or -1.  */
static int s_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dn_id_parse(const char *text, uint8_t id[DN_ID_BYTES])
{
    assert(id != NULL);
    if (text == NULL)
        return DN_EPARSE;

    uint8_t bytes[DN_ID_BYTES];
    int pos = 0;
    for (int i = 0; i < DN_ID_BYTES; i++) {
        if (s_is_hyphen_position(pos) && text[pos++] != '-')
            return DN_EPARSE;
        int high = s_hex_value(text[pos]);
        if (high < 0)
            return DN_EPARSE;
        int low = s_hex_value(text[pos + 1]);
        if (low < 0)
            return DN_EPARSE;
        bytes[i] = (uint8_t)(high << 4 | low);
        pos += 2;
    }
    if (text[pos] != '\0')
        return DN_EPARSE;
    for (int i = 0; i < DN_ID_BYTES; i++)
        id[i] = bytes[i];
    return 0;
}

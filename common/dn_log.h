/*  dn_log -- the one way programs write diagnostics.

    Lines go to stderr (systemd's journal collects a daemon's stderr), each
    prefixed with the program name and level; a daemon may ask for
    timestamps.  CLI programs use dn_log_error for their one-line errors so
    every message has the same shape.
*/
#ifndef DN_LOG_H
#define DN_LOG_H

#include <stdint.h>

typedef enum {
    DN_LOG_DEBUG = 0,
    DN_LOG_INFO,
    DN_LOG_WARN,
    DN_LOG_ERROR,
    DN_LOG_QUIET /* nothing is written */
} dn_log_level_t;

/*  Sets the program name shown on each line (borrowed: must outlive all
    logging), the lowest level written, and whether lines carry an ISO-8601
    UTC timestamp.  Defaults: "dealernet", DN_LOG_INFO, no timestamps.  */
void dn_log_init(const char *program, dn_log_level_t level, int timestamps);

void dn_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dn_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dn_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dn_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*  Warnings a peer can cause at will (an unknown key, a rate-limited
    enrollment) must not let it fill the disk: each such call site keeps a
    static dn_log_limit_t naming its kind, and dn_log_warn_limited writes at
    most DN_LOG_LIMIT_PER_MINUTE lines of that kind a minute and counts the
    rest.  The count is written, as "N more ... not logged", with the first
    line of the kind in a later minute, or by dn_log_limits_flush.
    Safe from several threads (the server's loop and its door).  */
#define DN_LOG_LIMIT_PER_MINUTE 20

typedef struct dn_log_limit {
    const char *kind;          /* e.g. "unknown-key messages" */
    int64_t minute;            /* the minute counted (ms since the epoch / 60000) */
    int64_t written;           /* lines written in it */
    int64_t dropped;           /* lines not written since the last summary */
    struct dn_log_limit *next; /* in the list of limits holding a count */
} dn_log_limit_t;

void dn_log_warn_limited(dn_log_limit_t *limit, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*  The same for errors that repeat at a peer's pace (a full disk: every
    agent's retry fails the same way); the count is written as a warning.  */
void dn_log_error_limited(dn_log_limit_t *limit, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*  Writes the summary of every limit holding a count whose minute is over
    (all of them if force), e.g. from a daemon's loop and when it stops.  */
void dn_log_limits_flush(int force);

#endif

/*  dn_log -- the one way programs write diagnostics.

    Lines go to stderr (systemd's journal collects a daemon's stderr), each
    prefixed with the program name and level; a daemon may ask for
    timestamps.  CLI programs use dn_log_error for their one-line errors so
    every message has the same shape.
*/
#ifndef DN_LOG_H
#define DN_LOG_H

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

#endif

/*  dn_refusal -- what the server refused, counted by kind.

    Every kind of traffic the server turns away -- at the door (dn_door),
    in the CURVE handshake (ZAP, the socket monitor) or once a message is
    read -- is counted here, so that an operator can see an attack that the
    rate-limited log lines only sample: the server writes one line a minute
    with the kinds that moved in it and their totals since it started, and
    `dealernet-hq refusals` reads the totals and the door's strangers now.  Each call site also writes its own
    rate-limited warning (dn_log_warn_limited) with the peer and the reason.

    The counters are process-wide and atomic: the server's loop and its door
    thread both count.
*/
#ifndef DN_REFUSAL_H
#define DN_REFUSAL_H

#include "dn_i18n.h"

#include <stdint.h>

/*  X(kind, name, text): the name is what the minute's summary line says;
    the text is the README's wording, marked N_(): `dealernet-hq refusals`
    shows it in HQ's language (the name stays, as scripts read it).  */
#define DN_REFUSALS(X)                                                                   \
    X(DN_REFUSAL_DEADLINE, "deadline",                                                   \
      N_("connections closed: no enrolled key shown within the deadline"))               \
    X(DN_REFUSAL_ADDRESS, "per_address",                                                 \
      N_("connections closed: too many unproven from one address"))                      \
    X(DN_REFUSAL_FULL, "full", N_("connections closed: too many unproven in all"))       \
    X(DN_REFUSAL_SILENT, "silent",                                                       \
      N_("connections ended before a whole message (frame over the limit, dropped "      \
         "link)"))                                                                       \
    X(DN_REFUSAL_ACCEPT, "accept_failed",                                                \
      N_("connections the system could not accept (descriptor limit)"))                  \
    X(DN_REFUSAL_MECHANISM, "handshake_protocol",                                        \
      N_("handshakes refused: not ZMTP 3 with CURVE (NULL, PLAIN, garbage)"))            \
    X(DN_REFUSAL_UNFINISHED, "handshake_unfinished",                                     \
      N_("handshakes not finished (timeout or dropped)"))                                \
    X(DN_REFUSAL_ZAP, "handshake_key",                                                   \
      N_("handshakes refused by ZAP (key not allowed here)"))                            \
    X(DN_REFUSAL_MALFORMED, "malformed", N_("sync messages refused as malformed"))       \
    X(DN_REFUSAL_UNKNOWN_KEY, "unknown_key",                                             \
      N_("messages from keys not enrolled (other than enrolment)"))                      \
    X(DN_REFUSAL_REVOKED, "revoked", N_("messages from revoked sites"))                  \
    X(DN_REFUSAL_ENROLL, "enrolment",                                                    \
      N_("enrolments refused (token, site or currency)"))                                \
    X(DN_REFUSAL_ENROLL_RATE, "enrolment_rate",                                          \
      N_("enrolments refused for the rate (10 failures a minute from one address)"))     \
    X(DN_REFUSAL_ADMIN, "admin_malformed", N_("admin messages that are not REQ requests"))

#define DN_REFUSAL_ENUM(kind, name, text) kind,
typedef enum { DN_REFUSALS(DN_REFUSAL_ENUM) DN_REFUSAL_KINDS } dn_refusal_t;
#undef DN_REFUSAL_ENUM

/*  Counts one refusal of kind.  */
void dn_refusal_count(dn_refusal_t kind);

/*  The count of kind since the process started.  */
int64_t dn_refusal_total(dn_refusal_t kind);

/*  The kind's name and wording (see DN_REFUSALS).  */
const char *dn_refusal_name(dn_refusal_t kind);
const char *dn_refusal_text(dn_refusal_t kind);

/*  The door's strangers now on port ("sync", "admin"): set by the door
    after each round of events, read by `dealernet-hq refusals`.  Ports
    beyond DN_REFUSAL_PORTS are not kept.  */
#define DN_REFUSAL_PORTS 4
void dn_refusal_set_strangers(const char *port, int strangers);

/*  The i-th port known (its name, or NULL past the last) and its strangers.  */
const char *dn_refusal_port(int i, int *strangers);

/*  Writes one warning line with the kinds counted since the previous call
    that counted any ("refusals in the last minute: deadline 12 (40 since
    start), handshake_key 3 (3 since start)"), nothing when none moved.  For one thread (the door's,
    once a minute).  */
void dn_refusal_summary(void);

#endif

/*  dn_doctor -- `dealernet-agent doctor`: the checks a field visit runs,
    one by one, each with what was found and what to do.

    A sync that fails says why in one line; the doctor goes through every
    link of the chain in order -- this PC's folder and files, the events'
    chain, the enrollment, the endpoint, the TCP connection, the CURVE
    handshake, the site's standing on the server, the clock, what is
    pending -- so that a wrong port, a wrong key, a server that is down, a
    revoked site and a clock a day off each read as themselves.  A check
    that needs an earlier one that failed is skipped, not failed again.
*/
#ifndef DN_DOCTOR_H
#define DN_DOCTOR_H

#include "dn_fsperm.h"

#include <stddef.h>
#include <stdint.h>

#define DN_DOCTOR_CHECKS            9 /* folder ... pending, in order */
#define DN_DOCTOR_DEFAULT_TIMEOUT_S 5 /* per network step */

typedef enum {
    DN_DOCTOR_OK = 0,
    DN_DOCTOR_WARN, /* works, but needs looking at (a clock off): exit 0 */
    DN_DOCTOR_FAIL,
    DN_DOCTOR_SKIP /* an earlier check it needs failed */
} dn_doctor_mark_t;

typedef struct {
    const char *name;      /* stable, for --json: "folder", "database", "enrolled",
                              "endpoint", "connect", "handshake", "standing",
                              "clock", "pending" */
    dn_doctor_mark_t mark;
    int exit_code;         /* a FAIL's sysexits code; 0 otherwise */
    char text[320];        /* what was found, one line */
    char todo[240];        /* what to do, one line; "" when nothing */
} dn_doctor_check_t;

/*  Runs every check on the agent in dir, files[0..n_files) being its
    folder's files (as the agent checks them before opening any), with
    timeout_ms for each network step, into checks[].  Returns the exit
    status: 0 when no check failed (warnings allowed), else the sysexits
    code of the first failure.  Sends the server a Hello (which records the
    site as seen) but no event; writes nothing in agent.db.  */
int dn_doctor_run(const char *dir, const dn_fsperm_file_t *files, size_t n_files,
                  int timeout_ms, dn_doctor_check_t checks[DN_DOCTOR_CHECKS]);

/*  "ok", "WARN", "FAIL", "skip" (mark as printed) and "ok", "warn", "fail",
    "skip" (for JSON).  */
const char *dn_doctor_mark_text(dn_doctor_mark_t mark, int json);

/*  How far this PC's clock is off the server's, for a person: "3 min ahead
    of", "2 h 05 min behind", "1 day 0 h ahead of" (skew_ms: the agent's
    clock minus the server's), in the reader's language: it reads within
    "this PC's clock is %s the server's".  Returns buf.  */
const char *dn_doctor_offset_text(int64_t skew_ms, char *buf, size_t size);

#endif

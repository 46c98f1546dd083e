/*  dn_testctl -- every knob by which the tests steer the shipped programs.

    Tests drive the real programs and modules, not copies, so a few things
    must be steerable from outside: a crash at a chosen moment, a fixed
    "today", a simulated clock.  Each knob is named here and nowhere else,
    so that what a test can do to a production program is one page to read
    (and to audit).  None of them changes what is stored, and all but one
    leave what a peer is told alone: each moves a moment in time or ends
    the process, and DEALERNET_TEST_TAMPER_DOWN spoils one message on
    purpose, the one way to prove end to end that a shop refuses what
    does not verify (the sync socket is CurveZMQ: nothing between the two
    programs could change a byte).

    Knobs read from the environment (set by tests/, never by deploy/):

      DEALERNET_TEST_CRASH_AFTER_COMMIT=N   dealernet-server: _exit(3) right
          after its N-th group commit has been made durable, before any
          reply of that commit is sent (tests/fault/server_kill.sh,
          tests/cli/sync_resync.sh: "stored but not acknowledged").
      DEALERNET_TEST_BATCH_EVENTS=N         dealernet-server: the Welcome
          offers a window of one batch of at most N events, so that each
          batch is its own group commit and the crash knob above can stop
          the server between two batches of one sync
          (tests/cli/sync_doctor.sh: "partly synced").
      DEALERNET_TEST_TAMPER_DOWN=N          dealernet-server: in the N-th
          Down holding an item that it sends (counted from its start, in
          the order sent), flips one bit of the last byte of the first
          item, after the Down was signed, so its signature no longer
          verifies; the server logs a warning naming the Down.  Only the
          copy sent is changed, never the chunk the server caches: the
          next site (or the next sync) gets it intact
          (tests/cli/sync_down_tamper.sh: "a tampered downstream message
          is refused").
      DEALERNET_TEST_WEB_SESSION_MS=N       dealernet-server: a web page's
          session ends N ms after its last request or N ms after its
          login, whichever is sooner (at most the real bounds, dn_web.h),
          so that a test sees one end without waiting half an hour
          (tests/cli/web_login.sh).
      DEALERNET_TEST_QUERY_HOLD=PATH        dealernet-server: a query thread
          (server/dn_query.h), having run a query, waits before answering
          (its read transaction still open) until the file PATH does not
          exist, looking every 10 ms; it logs "test hook: a query is held
          until PATH is removed" first.  So a test holds `verify` running
          for as long as it likes, without guessing how long verify takes,
          and proves that a shop's sync and an admin write complete
          meanwhile (tests/cli/query_offloop.sh).  A query asked while the
          file does not exist is not held.
      DEALERNET_AGENT_TODAY=YYYY-MM-DD      dealernet-agent reminders: the
          day taken as today (tests/cli/agent_reminders.sh).

    Knobs set by a test program in its own process:

      dn_testctl_set_clock   the clock that stamps new agent events
          (tests/sim's simulated time, tests/fault/dn_iosweep).
      dn_session_options_t's clock and test_reply_before_commit
          (server/dn_session.h): the simulator's time, and the bug its
          --bug-check injects into the real session rules to prove its
          checks catch it.  The server never sets them.
*/
#ifndef DN_TESTCTL_H
#define DN_TESTCTL_H

#include <stdint.h>

#define DN_TESTCTL_CRASH_ENV       "DEALERNET_TEST_CRASH_AFTER_COMMIT"
#define DN_TESTCTL_TODAY_ENV       "DEALERNET_AGENT_TODAY"
#define DN_TESTCTL_BATCH_ENV       "DEALERNET_TEST_BATCH_EVENTS"
#define DN_TESTCTL_TAMPER_DOWN_ENV "DEALERNET_TEST_TAMPER_DOWN"
#define DN_TESTCTL_WEB_SESSION_ENV "DEALERNET_TEST_WEB_SESSION_MS"
#define DN_TESTCTL_QUERY_HOLD_ENV  "DEALERNET_TEST_QUERY_HOLD"

/*  Returns N of DEALERNET_TEST_CRASH_AFTER_COMMIT, or -1 when it is unset,
    not a number or below 1 (never crash).  */
long dn_testctl_crash_after_commits(void);

/*  Returns N of DEALERNET_TEST_TAMPER_DOWN, or -1 when it is unset, not a
    number or below 1 (never tamper).  */
long dn_testctl_tamper_down(void);

/*  Returns N of DEALERNET_TEST_WEB_SESSION_MS, or -1 when it is unset, not
    a number or below 1 (the real bounds).  */
long dn_testctl_web_session_ms(void);

/*  Returns the PATH of DEALERNET_TEST_QUERY_HOLD (the environment's
    string), or NULL when it is unset or empty (never hold).  Read once,
    before the query threads start.  */
const char *dn_testctl_query_hold(void);

/*  Returns N of DEALERNET_TEST_BATCH_EVENTS, or 0 when it is unset, not a
    number or outside 1..max (the server's own window and batch size).  */
unsigned dn_testctl_batch_events(unsigned max);

/*  Sets *unix_ms to today as the agent's reminders see it: midnight UTC of
    DEALERNET_AGENT_TODAY's date when it is set and not empty, else the wall
    clock.  Returns 0, or DN_EPARSE when the variable is not a date
    YYYY-MM-DD (then *text points at it, for the message).  */
int dn_testctl_today_ms(int64_t *unix_ms, const char **text);

/*  While clock is not NULL, dn_testctl_now_ms returns clock(arg) instead
    of the wall clock.  Process-wide, not thread-safe; NULL restores the
    wall clock.  Programs never call it.  */
void dn_testctl_set_clock(int64_t (*clock)(void *arg), void *arg);

/*  The time that stamps new agent events (recorded_at_ms and the UUIDv7's
    time): the clock set above, or dn_time_now_ms().  */
int64_t dn_testctl_now_ms(void);

#endif

/*  dn_sim -- a deterministic simulation of the sync state machines.

    One process plays a whole small network per seed: K agents (each with
    its own agent.db in a throwaway folder, recording sales, refunds,
    member sign-ups and updates through dn_record) and one server (a real
    central.db with partners, a plan and the sites enrolled, applying
    batches through dn_ingest).  The agents run the very session state
    machine the shipped agent runs (dn_syncsm); only the driver differs:
    instead of a CurveZMQ socket and the wall clock, an in-memory bus and a
    fake clock carry its messages, so a run is a pure function of the seed
    (TigerBeetle's VOPR, FoundationDB's simulation).

    Per seed, a splitmix64-seeded xoshiro256** draws the scenario (2-3
    agents, 20-60 events each, the server's window and batch size) and the
    faults:
      - the bus drops, duplicates (sometimes as a replay seconds later),
        delays and reorders messages; a send may fail outright;
      - an agent crashes: its store is closed (what it had not committed is
        gone by construction), the session with it; it reboots later;
      - an agent crashes inside a commit (of a recording or of an ack): a
        commit hook turns that COMMIT into a ROLLBACK, then the agent
        crashes -- the SQLite state is exactly that of a process killed
        before its commit reached the WAL;
      - the server runs the very session rules the shipped server runs
        (dn_session): the driver takes up to a group of messages, the
        session applies each batch under a savepoint of one transaction and
        holds the replies until the group ends; the server may crash before
        the commit (its connection is closed with the transaction open:
        rolled back), fail the commit (the session turns the replies into
        REFUSE_INTERNAL), or crash between the commit and the replies (the
        replies are lost); it may also restart while idle.
    Then every fault stops and the bus becomes a lossless, in-order link:
    the network must drain.  The checks: each agent's outbox chain is
    intact, holds exactly the recordings that returned success, and has
    nothing pending; the server holds every event of every site exactly
    once, byte for byte, with no gap and nothing else; each site's
    applied_seq is its head; every sale and refund is decoded once; and
    dn_verify_run recomputes the whole ledger without a difference.

    Time is the simulated clock: dn_testctl_set_clock makes the agents
    stamp their events with it, the Hello carries it, the server's ingest
    is given it.  What stays outside the seed is only randomness no step
    depends on: the random bits of event and member ids (OpenSSL), so the
    trace names seqs, kinds and sizes, never an id or a hash.

    Every step is written to a trace (printed with -v) whose SHA-256 chain
    is the seed's trace hash: the same seed gives the same trace, in any
    process.  A failure prints the seed and the command that replays it.
    Figures: one line, `sim: N seeds, P passed, F failed, ...`.

    `make test` runs the default: 2,000 seeds on two worker processes, 20
    of them again in this process (same trace hash required), and a check
    that the checks can fail -- with a bug injected into dn_session (its
    test-only option test_reply_before_commit: the replies go out before
    the commit) some seed within 200 must fail.

    Usage: dn_sim [--seeds N] [--first S] [--jobs J] [--repeat R] [--bug-check B]
           dn_sim --seed S [-v] [--keep] [--bug]
*/
#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_outbox.h"
#include "dn_plan.h"
#include "dn_protocol.h"
#include "dn_record.h"
#include "dn_registry.h"
#include "dn_session.h"
#include "dn_store.h"
#include "dn_sync.h"
#include "dn_syncsm.h"
#include "dn_testctl.h"
#include "dn_time.h"
#include "dn_verify.h"
#include "dn_wire.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIM_MAX_AGENTS        3
#define SIM_MAX_STEPS         2000000            /* events one seed may process */
#define SIM_DRAIN_LIMIT_MS    (30LL * 60 * 1000) /* the drain must end within this */
#define SIM_GROUP_MAX         8                  /* messages per group commit, at most */
#define SIM_DEFAULT_SEEDS     2000
#define SIM_DEFAULT_REPEAT    20
#define SIM_DEFAULT_BUG_CHECK 200

/*  Speed, not semantics: the simulated crashes are process deaths (a
    closed connection), never power cuts, so fsync buys nothing; and each
    file has one connection at a time, so its locks need no syscalls.  */
#define SIM_PRAGMAS "PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE"

static const char s_plan[] = "[plan]\n"
                             "effective = 2026-01-01\n"
                             "currency = CNY\n"
                             "cap_bps = 1500\n"
                             "\n"
                             "[levels]\n"
                             "0 = 800\n"
                             "1 = 300\n"
                             "2 = 100\n"
                             "\n"
                             "[referral]\n"
                             "first_purchase_bonus = 5.00\n"
                             "purchase_bps = 100\n"
                             "purchase_days = 365\n"
                             "recruit_override_bps = 50\n"
                             "recruit_override_days = 365\n";

/* -- PRNG: splitmix64 seeds xoshiro256** -------------------------------------------- */

typedef struct {
    uint64_t s[4];
} rng_t;

static uint64_t s_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void s_rng_seed(rng_t *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = s_splitmix64(&x);
}

static uint64_t s_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t s_rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return result;
}

/*  Uniform in lo..hi (inclusive).  */
static int64_t s_rng_range(rng_t *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(s_rng_next(r) % span);
}

/*  True with pct percent.  */
static int s_rng_pct(rng_t *r, int pct)
{
    return pct > 0 && s_rng_range(r, 0, 99) < pct;
}

/* -- the world ---------------------------------------------------------------------- */

typedef enum {
    EV_TO_SERVER = 1, /* a message arrives at the server */
    EV_TO_AGENT,      /* a reply arrives at an agent's connection */
    EV_AGENT_TIMER,   /* reply timeout, end of backoff, next sync, reboot */
    EV_RECORD,        /* a clerk records something */
    EV_SERVER_TICK,   /* the server drains its inbox: one group commit */
    EV_SERVER_UP,     /* the server restarts */
    EV_SERVER_CRASH,  /* the server is killed while idle */
    EV_AGENT_CRASH,   /* an agent is killed */
    EV_AGENT_ARM,     /* an agent will be killed inside its next commit */
    EV_DRAIN          /* faults stop; the network must drain */
} ev_kind_t;

typedef struct {
    int64_t at;
    uint64_t order; /* ties broken by scheduling order: deterministic */
    ev_kind_t kind;
    int agent;
    int conn;
    uint64_t gen;
    uint8_t *data; /* owned */
    size_t len;
} ev_t;

typedef enum { A_DOWN, A_IDLE, A_WAIT, A_BACKOFF } agent_state_t;

typedef struct {
    char code[16];
    char partner[16];
    char dir[340];
    dn_store_t *store;
    dn_key_t *key;
    dn_syncsm_t *sm;
    dn_sync_result_t result;
    agent_state_t state;
    int conn;     /* the current connection, 0 when none */
    uint64_t gen; /* the one live timer carries this */
    int64_t backoff_ms;
    int planned;    /* recordings still to make */
    int recorded;   /* recordings that returned success */
    int clean;      /* last session ended with nothing pending */
    int arm_commit; /* the next commit fails and the agent crashes */
    int hook_fired;
    int64_t site_id; /* on the server */
    /* what the clerk knows, to record plausible events */
    uint8_t sales[64][DN_ID_BYTES];
    int n_sales;
    char phones[64][24];
    int n_phones;
} agent_t;

typedef struct {
    int agent, conn;
    uint8_t *data;
    size_t len;
} smsg_t;

/*  Where a reply goes: the session's route for it.  */
typedef struct {
    int agent, conn;
} sroute_t;

typedef struct {
    char dir[340];
    sqlite3 *db;
    dn_ingest_t *ingest;
    dn_session_t *session;
    int up;
    int tick_pending;
    smsg_t *inbox;
    size_t n_inbox, cap_inbox;
} server_t;

/*  What a seed draws before it starts.  */
typedef struct {
    int n_agents;
    int window, max_batch; /* what the server's Welcome says */
    int group;             /* messages per group commit */
    int drop_pct, dup_pct, reorder_pct, replay_pct, send_fail_pct;
    int max_delay_ms;
    int crash_before_pct, commit_fail_pct, crash_after_pct; /* per group commit */
    int64_t work_ms; /* recordings happen in 0..work_ms */
} params_t;

typedef struct {
    uint64_t events, messages, dropped, duplicated, reordered;
    uint64_t agent_crashes, server_crashes, commit_failures, sessions, timeouts;
} stats_t;

typedef struct {
    uint64_t seed;
    rng_t rng;
    int verbose, keep;
    int bug_early_ack; /* --bug: dn_session releases replies before the commit */
    int64_t epoch, now;
    uint8_t hash[32];
    char root[320];
    int failed;
    char why[512];
    ev_t *heap;
    size_t n_heap, cap_heap;
    uint64_t order;
    int msgs_in_flight;
    int drain;
    int64_t drain_at;
    int next_conn;
    int64_t link_at[SIM_MAX_AGENTS][2]; /* FIFO per connection and direction */
    int link_conn[SIM_MAX_AGENTS][2];
    params_t p;
    server_t server;
    agent_t agents[SIM_MAX_AGENTS];
    stats_t st;
} sim_t;

/* -- trace -------------------------------------------------------------------------- */

static void s_trace(sim_t *sim, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*  Appends one line to the trace: hash = SHA-256(hash || line).  */
static void s_trace(sim_t *sim, const char *fmt, ...)
{
    uint8_t buf[32 + 512];
    int n = snprintf((char *)buf + 32, sizeof buf - 32, "%9.3f ",
                     (double)(sim->now - sim->epoch) / 1000.0);
    va_list args;
    va_start(args, fmt);
    n += vsnprintf((char *)buf + 32 + n, sizeof buf - 32 - (size_t)n, fmt, args);
    va_end(args);
    if (n > (int)(sizeof buf - 33))
        n = (int)(sizeof buf - 33);
    memcpy(buf, sim->hash, 32);
    dn_sha256(buf, 32 + (size_t)n, sim->hash);
    if (sim->verbose)
        printf("%.*s\n", n, (char *)buf + 32);
}

static int s_fail(sim_t *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*  Records the first failure of the seed (the run stops at the next step)
    and returns DN_EPROTO.  */
static int s_fail(sim_t *sim, const char *fmt, ...)
{
    va_list args;
    if (sim->failed)
        return DN_EPROTO;
    va_start(args, fmt);
    vsnprintf(sim->why, sizeof sim->why, fmt, args);
    va_end(args);
    sim->failed = 1;
    s_trace(sim, "FAIL %s", sim->why);
    return DN_EPROTO;
}

/* -- the event queue: a binary heap on (at, order) ---------------------------------- */

static int s_before(const ev_t *a, const ev_t *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void s_push_ev(sim_t *sim, ev_t ev)
{
    size_t i;
    if (sim->n_heap == sim->cap_heap) {
        size_t cap = sim->cap_heap ? sim->cap_heap * 2 : 256;
        ev_t *heap = realloc(sim->heap, cap * sizeof *heap);
        if (!heap) {
            fprintf(stderr, "dn_sim: out of memory\n");
            exit(70);
        }
        sim->heap = heap;
        sim->cap_heap = cap;
    }
    ev.order = sim->order++;
    i = sim->n_heap++;
    while (i > 0 && s_before(&ev, &sim->heap[(i - 1) / 2])) {
        sim->heap[i] = sim->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    sim->heap[i] = ev;
}

static ev_t s_pop_ev(sim_t *sim)
{
    ev_t top = sim->heap[0], last = sim->heap[--sim->n_heap];
    size_t i = 0, n = sim->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && s_before(&sim->heap[c + 1], &sim->heap[c]))
            c++;
        if (!s_before(&sim->heap[c], &last))
            break;
        sim->heap[i] = sim->heap[c];
        i = c;
    }
    if (n)
        sim->heap[i] = last;
    return top;
}

static void s_schedule(sim_t *sim, int64_t at, ev_kind_t kind, int agent)
{
    ev_t ev = {at, 0, kind, agent, 0, 0, NULL, 0};
    s_push_ev(sim, ev);
}

/* -- the bus ------------------------------------------------------------------------ */

/*  Sends a copy of data from an agent's connection to the server (dir 0) or
    back (dir 1).  Outside the drain it may drop, duplicate (sometimes as a
    late replay) and reorder; in the drain it is a lossless FIFO, like one
    TCP connection.  */
static void s_bus_send(sim_t *sim, int dir, int agent, int conn, const uint8_t *data,
                       size_t len)
{
    params_t *p = &sim->p;
    int copies = 1;
    sim->st.messages++;
    if (!sim->drain && s_rng_pct(&sim->rng, p->drop_pct)) {
        sim->st.dropped++;
        s_trace(sim, "bus: drop %s a%d/c%d (%zu bytes)",
                dir ? "reply to" : "message from", agent, conn, len);
        return;
    }
    if (!sim->drain && s_rng_pct(&sim->rng, p->dup_pct)) {
        copies = 2;
        sim->st.duplicated++;
    }
    if (sim->link_conn[agent][dir] != conn) { /* a new connection: its own FIFO */
        sim->link_conn[agent][dir] = conn;
        sim->link_at[agent][dir] = 0;
    }
    for (int i = 0; i < copies; i++) {
        ev_t ev = {0, 0, dir ? EV_TO_AGENT : EV_TO_SERVER, agent, conn, 0, NULL, len};
        int64_t delay = s_rng_range(&sim->rng, 1, p->max_delay_ms);
        int reorder = !sim->drain && s_rng_pct(&sim->rng, p->reorder_pct);
        if (i > 0 && s_rng_pct(&sim->rng, p->replay_pct))
            delay = s_rng_range(&sim->rng, 1000, 20000); /* a replay, much later */
        ev.at = sim->now + delay;
        if (!reorder && i == 0) {
            if (ev.at < sim->link_at[agent][dir])
                ev.at = sim->link_at[agent][dir];
            sim->link_at[agent][dir] = ev.at;
        } else if (ev.at < sim->link_at[agent][dir]) {
            sim->st.reordered++;
        }
        ev.data = malloc(len ? len : 1);
        if (!ev.data) {
            fprintf(stderr, "dn_sim: out of memory\n");
            exit(70);
        }
        memcpy(ev.data, data, len);
        sim->msgs_in_flight++;
        s_trace(sim, "bus: %s a%d/c%d +%" PRId64 " ms%s%s",
                dir ? "reply to" : "message from", agent, conn, ev.at - sim->now,
                i ? " (duplicate)" : "", reorder ? " (may overtake)" : "");
        s_push_ev(sim, ev);
    }
}

/* -- the server --------------------------------------------------------------------- */

static int64_t s_clock(void *arg);

static int s_server_open(sim_t *sim, int flags)
{
    server_t *s = &sim->server;
    dn_session_options_t rules = {0};
    int rc = dn_central_open(s->dir, flags, &s->db);
    rules.window = (uint32_t)sim->p.window;
    rules.max_batch_events = (uint32_t)sim->p.max_batch;
    rules.clock = s_clock;
    rules.clock_arg = sim;
    rules.test_reply_before_commit = sim->bug_early_ack;
    if (rc == 0)
        rc = dn_db_exec(s->db, SIM_PRAGMAS);
    if (rc == 0 && !(s->ingest = dn_ingest_new(s->db)))
        rc = DN_ENOMEM;
    if (rc == 0 && !(s->session = dn_session_new(s->db, s->ingest, &rules)))
        rc = DN_ENOMEM;
    if (rc) {
        s_fail(sim, "server: cannot open central.db: %s", dn_strerror(rc));
        return rc;
    }
    s->up = 1;
    return 0;
}

/*  Closes the connection, whatever is open: an open transaction is rolled
    back by SQLite, as when the process dies.  */
static void s_server_close(sim_t *sim)
{
    server_t *s = &sim->server;
    int rc;
    dn_session_destroy(&s->session); /* the replies not sent are lost */
    dn_ingest_destroy(&s->ingest);
    if (s->db && (rc = sqlite3_close(s->db)) != SQLITE_OK)
        s_fail(sim, "server: central.db does not close (%s): a statement leaked",
               sqlite3_errstr(rc));
    s->db = NULL;
    s->up = 0;
    for (size_t i = 0; i < s->n_inbox; i++)
        free(s->inbox[i].data);
    s->n_inbox = 0;
}

static void s_server_crash(sim_t *sim, const char *when)
{
    sim->st.server_crashes++;
    s_trace(sim, "server: CRASH %s (%zu queued, %zu replies lost)", when,
            sim->server.n_inbox,
            sim->server.session ? dn_session_pending(sim->server.session) : 0);
    s_server_close(sim);
    s_schedule(sim, sim->now + s_rng_range(&sim->rng, 100, 4000), EV_SERVER_UP, 0);
}

/*  Sends every reply the session released, each to its agent's
    connection: the driver's half of dn_server.c's s_send_replies.  */
static void s_server_send(sim_t *sim)
{
    server_t *s = &sim->server;
    uint8_t route[DN_SESSION_ROUTE_MAX], *body;
    size_t route_len, len;
    sroute_t to;
    while (dn_session_reply(s->session, route, &route_len, &body, &len)) {
        memcpy(&to, route, sizeof to);
        s_bus_send(sim, 1, to.agent, to.conn, body, len);
        free(body);
    }
}

/*  One message, to the session, as dn_server.c's s_sync_one hands it over:
    who sent it comes from the connection (the agent's site code, as ZAP
    names an enrolled key), never from the body.  Traces what came of it and
    fails the seed on what a correct agent never earns.  */
static void s_server_one(sim_t *sim, smsg_t *m)
{
    server_t *s = &sim->server;
    const char *code = sim->agents[m->agent].code;
    sroute_t to = {m->agent, m->conn};
    dn_session_peer_t peer = {code, "sim", (const uint8_t *)&to, sizeof to};
    dn_session_outcome_t out;
    int rc = dn_session_message(s->session, &peer, m->data, m->len, 0, &out);

    if (rc) {
        s_fail(sim, "server: the session took no message from a%d: %s", m->agent,
               dn_strerror(rc));
    } else if (out.kind == DEALERNET__SYNC_MESSAGE__BODY__NOT_SET) {
        s_fail(sim, "server: a%d sent a malformed message", m->agent);
    } else if (!out.proven) {
        s_fail(sim, "server: site %s is not enrolled", code);
    } else if (out.kind == DEALERNET__SYNC_MESSAGE__BODY_HELLO) {
        if (out.rc)
            s_trace(sim, "server: %s hello -> refused: %s", code, dn_strerror(out.rc));
        else
            s_trace(sim, "server: %s hello -> welcome applied %" PRIu64, code,
                    out.applied_seq);
    } else if (out.kind == DEALERNET__SYNC_MESSAGE__BODY_PUSH) {
        /* the message decoded: the bytes are the agent's own push */
        Dealernet__SyncMessage *msg = NULL;
        char why[DN_WHY_SIZE];
        uint64_t first = 0, last = 0;
        if (dn_wire_sync_unpack(m->data, m->len, &msg, why, sizeof why) == 0) {
            first = msg->push->first_seq;
            last = first + msg->push->n_events - 1;
        }
        dn_wire_sync_free(&msg);
        if (out.rc == DN_EPROTO) {
            s_trace(sim, "server: %s push %" PRIu64 "..%" PRIu64 " -> refused %d (%s)", code,
                    first, last, (int)out.push.code, out.push.why);
            if (out.push.code != DEALERNET__REFUSE_CODE__REFUSE_GAP)
                /* a correct agent never earns another refusal */
                s_fail(sim, "server refused %s's batch %" PRIu64 "..%" PRIu64 ": %s", code,
                       first, last, out.push.why);
        } else if (out.rc) {
            s_trace(sim, "server: %s push %" PRIu64 "..%" PRIu64 " -> internal error %s",
                    code, first, last, dn_strerror(out.rc));
            s_fail(sim, "server: ingest failed: %s", dn_strerror(out.rc));
        } else {
            s_trace(sim,
                    "server: %s push %" PRIu64 "..%" PRIu64 " -> ack %" PRIu64
                    " (%d new, %d seen)",
                    code, first, last, out.push.acked_through, out.push.applied,
                    out.push.skipped);
        }
    } else {
        s_fail(sim, "server: a%d sent a message that is neither hello nor push",
               m->agent);
    }
    s_server_send(sim); /* nothing, unless the session released early */
}

/*  The end of a group, as dn_server.c's s_sync_drain ends it, with the
    faults: the session's group commit, then the replies it releases.  */
static void s_server_flush(sim_t *sim)
{
    server_t *s = &sim->server;
    params_t *p = &sim->p;
    if (dn_ingest_group_open(s->ingest)) {
        if (!sim->drain && s_rng_pct(&sim->rng, p->crash_before_pct)) {
            s_server_crash(sim, "before the commit");
            return;
        }
        if (!sim->drain && s_rng_pct(&sim->rng, p->commit_fail_pct)) {
            sim->st.commit_failures++;
            s_trace(sim, "server: the commit fails: %zu replies become retry requests",
                    dn_session_pending(s->session));
            dn_session_end_group(s->session, 0);
        } else if (dn_session_end_group(s->session, 1) != 0) {
            s_fail(sim, "server: COMMIT failed");
        } else if (!sim->drain && s_rng_pct(&sim->rng, p->crash_after_pct)) {
            s_server_crash(sim, "after the commit, before the replies");
            return;
        }
    } else {
        dn_session_end_group(s->session, 1); /* releases the replies */
    }
    s_server_send(sim);
}

static void s_server_tick(sim_t *sim)
{
    server_t *s = &sim->server;
    size_t take;
    s->tick_pending = 0;
    if (!s->up || s->n_inbox == 0)
        return;
    take = s->n_inbox < (size_t)sim->p.group ? s->n_inbox : (size_t)sim->p.group;
    s_trace(sim, "server: group of %zu (of %zu queued)", take, s->n_inbox);
    for (size_t i = 0; i < take; i++) {
        s_server_one(sim, &s->inbox[i]);
        free(s->inbox[i].data);
    }
    memmove(s->inbox, s->inbox + take, (s->n_inbox - take) * sizeof *s->inbox);
    s->n_inbox -= take;
    s_server_flush(sim);
    if (s->up && s->n_inbox && !s->tick_pending) {
        s->tick_pending = 1;
        s_schedule(sim, sim->now + s_rng_range(&sim->rng, 0, 3), EV_SERVER_TICK, 0);
    }
}

static void s_server_receive(sim_t *sim, ev_t *ev)
{
    server_t *s = &sim->server;
    if (!s->up) {
        s_trace(sim, "server: down, message from a%d/c%d lost", ev->agent, ev->conn);
        free(ev->data);
        return;
    }
    if (s->n_inbox == s->cap_inbox) {
        size_t cap = s->cap_inbox ? s->cap_inbox * 2 : 16;
        smsg_t *inbox = realloc(s->inbox, cap * sizeof *inbox);
        if (!inbox) {
            fprintf(stderr, "dn_sim: out of memory\n");
            exit(70);
        }
        s->inbox = inbox;
        s->cap_inbox = cap;
    }
    s->inbox[s->n_inbox++] = (smsg_t){ev->agent, ev->conn, ev->data, ev->len};
    if (!s->tick_pending) {
        s->tick_pending = 1;
        s_schedule(sim, sim->now + s_rng_range(&sim->rng, 0, 3), EV_SERVER_TICK, 0);
    }
}

/* -- agents ------------------------------------------------------------------------- */

static int64_t s_clock(void *arg)
{
    return ((sim_t *)arg)->now;
}

/*  The crash inside a commit: SQLite turns the COMMIT into a ROLLBACK.  */
static int s_commit_hook(void *arg)
{
    agent_t *a = arg;
    if (!a->arm_commit)
        return 0;
    a->arm_commit = 0;
    a->hook_fired = 1;
    return 1;
}

/*  Arms the agent's one live timer, cancelling any other.  */
static void s_agent_timer(sim_t *sim, int i, int64_t delay)
{
    agent_t *a = &sim->agents[i];
    ev_t ev = {sim->now + delay, 0, EV_AGENT_TIMER, i, 0, ++a->gen, NULL, 0};
    s_push_ev(sim, ev);
}

static int s_agent_open(sim_t *sim, int i)
{
    agent_t *a = &sim->agents[i];
    int err = 0;
    if (!(a->store = dn_store_open(a->dir, &err))) {
        s_fail(sim, "a%d: cannot open agent.db: %s", i, dn_strerror(err));
        return err;
    }
    sqlite3_exec(dn_store_db(a->store), SIM_PRAGMAS, NULL, NULL, NULL);
    sqlite3_commit_hook(dn_store_db(a->store), s_commit_hook, a);
    memset(&a->result, 0, sizeof a->result);
    if (!(a->sm = dn_syncsm_new(a->store, a->key, a->code, &a->result))) {
        s_fail(sim, "a%d: out of memory", i);
        return DN_ENOMEM;
    }
    a->state = A_IDLE;
    a->conn = 0;
    a->backoff_ms = 100;
    a->clean = 0;
    return 0;
}

static void s_agent_crash(sim_t *sim, int i, const char *when)
{
    agent_t *a = &sim->agents[i];
    sim->st.agent_crashes++;
    s_trace(sim, "a%d: CRASH %s (session %s, %zu batches in flight)", i, when,
            a->sm ? dn_syncsm_state(a->sm) : "-", a->sm ? dn_syncsm_inflight(a->sm) : 0);
    dn_syncsm_destroy(&a->sm);
    dn_store_destroy(&a->store);
    a->state = A_DOWN;
    a->conn = 0;
    a->arm_commit = 0;
    a->hook_fired = 0;
    a->clean = 0;
    s_agent_timer(sim, i, sim->drain ? 1 : s_rng_range(&sim->rng, 50, 5000));
}

static void s_agent_run(sim_t *sim, int i, dn_syncsm_action_t action);

static void s_agent_session(sim_t *sim, int i)
{
    agent_t *a = &sim->agents[i];
    a->conn = ++sim->next_conn;
    sim->st.sessions++;
    s_trace(sim, "a%d: session c%d (acked %" PRIu64 ")", i, a->conn,
            a->result.acked_through);
    s_agent_run(sim, i, dn_syncsm_start(a->sm, sim->now, DN_SYNC_REPLY_TIMEOUT_MS));
}

/*  The driver: dn_sync.c's session loop and dn_sync_run's backoff, on the
    bus and the fake clock.  */
static void s_agent_run(sim_t *sim, int i, dn_syncsm_action_t action)
{
    agent_t *a = &sim->agents[i];
    dn_outbox_position_t pos;
    for (;;) {
        /* A commit the machine makes and survives (the Welcome's bound on
           one sale, stored once) may be the one the agent dies in.  */
        if (a->hook_fired && action != DN_SYNCSM_FAIL) {
            s_agent_crash(sim, i, "inside a commit of the session");
            return;
        }
        switch (action) {
        case DN_SYNCSM_SEND: {
            const uint8_t *data;
            size_t len;
            dn_syncsm_message(a->sm, &data, &len);
            if (!sim->drain && s_rng_pct(&sim->rng, sim->p.send_fail_pct)) {
                s_trace(sim, "a%d: send fails", i);
                action = dn_syncsm_send_failed(a->sm);
                break;
            }
            s_bus_send(sim, 0, i, a->conn, data, len);
            action = dn_syncsm_sent(a->sm);
            break;
        }
        case DN_SYNCSM_WAIT:
            a->state = A_WAIT;
            s_agent_timer(sim, i, DN_SYNC_REPLY_TIMEOUT_MS);
            return;
        case DN_SYNCSM_RECONNECT:
            s_trace(sim, "a%d: reconnect in %" PRId64 " ms: %s", i, a->backoff_ms,
                    a->result.error);
            a->state = A_BACKOFF;
            a->conn = 0;
            s_agent_timer(sim, i, a->backoff_ms);
            a->backoff_ms = a->backoff_ms * 2 < 2000 ? a->backoff_ms * 2 : 2000;
            return;
        case DN_SYNCSM_DONE:
            a->state = A_IDLE;
            a->conn = 0;
            a->backoff_ms = 100;
            if (dn_outbox_position(a->store, &pos) != 0) {
                s_fail(sim, "a%d: cannot read the outbox position", i);
                return;
            }
            a->clean = pos.pending == 0;
            s_trace(sim, "a%d: done, acked %" PRIu64 ", %" PRIu64 " pending", i,
                    a->result.acked_through, pos.pending);
            /* The daemon wakes early for what was recorded meanwhile.  */
            s_agent_timer(sim, i, a->clean ? 30000 : s_rng_range(&sim->rng, 100, 1000));
            return;
        case DN_SYNCSM_FAIL:
            if (a->hook_fired) {
                s_agent_crash(sim, i, "inside the commit of an ack");
                return;
            }
            s_fail(sim, "a%d: sync failed: %s: %s", i, dn_strerror(dn_syncsm_rc(a->sm)),
                   a->result.error);
            a->state = A_IDLE;
            a->conn = 0;
            return;
        }
    }
}

static void s_agent_timer_fired(sim_t *sim, ev_t *ev)
{
    agent_t *a = &sim->agents[ev->agent];
    if (ev->gen != a->gen)
        return; /* cancelled */
    switch (a->state) {
    case A_WAIT:
        sim->st.timeouts++;
        s_trace(sim, "a%d: no reply on c%d", ev->agent, a->conn);
        s_agent_run(sim, ev->agent, dn_syncsm_timeout(a->sm));
        break;
    case A_DOWN:
        if (s_agent_open(sim, ev->agent) == 0) {
            s_trace(sim, "a%d: reboots", ev->agent);
            s_agent_session(sim, ev->agent);
        }
        break;
    case A_IDLE:
    case A_BACKOFF:
        s_agent_session(sim, ev->agent);
        break;
    }
}

static void s_agent_receive(sim_t *sim, ev_t *ev)
{
    agent_t *a = &sim->agents[ev->agent];
    if (a->state != A_WAIT || ev->conn != a->conn) {
        s_trace(sim, "a%d: reply for closed c%d dropped", ev->agent, ev->conn);
        return;
    }
    s_agent_run(sim, ev->agent, dn_syncsm_reply(a->sm, ev->data, ev->len));
}

/* -- the clerks --------------------------------------------------------------------- */

static const char *s_skus[] = {"TEA-250", "RICE-5KG", "OIL-1L", "SOAP-6", "NOODLE-1"};

/*  Records one random event.  Returns dn_record's code; *kind names it.  */
static int s_record_one(sim_t *sim, int i, const char **kind, int64_t *seq)
{
    agent_t *a = &sim->agents[i];
    rng_t *r = &sim->rng;
    dn_record_result_t out;
    char why[256] = "";
    int roll = (int)s_rng_range(r, 0, 99), rc;

    if (roll >= 80 && a->n_sales > 0) { /* a refund of one of this site's sales */
        dn_refund_input_t in;
        dn_store_sale_t sale;
        int k = (int)s_rng_range(r, 0, a->n_sales - 1);
        memset(&in, 0, sizeof in);
        memcpy(in.sale_id, a->sales[k], DN_ID_BYTES);
        if (dn_store_sale_get(a->store, in.sale_id, &sale) == 0 &&
            sale.total > sale.refunded) {
            if (s_rng_pct(r, 60)) {
                in.has_amount = 1;
                in.amount = s_rng_range(r, 1, sale.total - sale.refunded);
            }
            *kind = "refund";
            rc = dn_record_refund(a->store, &in, &out, why, sizeof why);
            goto done;
        }
    }
    if (roll >= 70 && roll < 80 && a->n_phones > 0) { /* a member update */
        dn_member_input_t in = {a->phones[s_rng_range(r, 0, a->n_phones - 1)], "Renamed",
                                NULL, 1, s_rng_range(r, 1, 6)};
        *kind = "member_update";
        rc = dn_record_member_update(a->store, &in, &out, why, sizeof why);
        goto done;
    }
    if (roll < 25 && a->n_phones < 64) { /* a sign-up, sometimes one another shop has */
        char phone[24], referrer[24] = "";
        dn_member_input_t in = {phone, "Member", NULL, 0, 0};
        snprintf(phone, sizeof phone, "+861380000%d%03d", s_rng_pct(r, 15) ? 9 : i,
                 a->n_phones);
        for (int j = 0; j < a->n_phones; j++)
            if (strcmp(a->phones[j], phone) == 0)
                snprintf(phone, sizeof phone, "+861380000%d%03d", i, a->n_phones);
        if (s_rng_pct(r, 30) && a->n_phones > 0)
            snprintf(referrer, sizeof referrer, "%s",
                     a->phones[s_rng_range(r, 0, a->n_phones - 1)]);
        else if (s_rng_pct(r, 30))
            snprintf(referrer, sizeof referrer, "%s", a->partner);
        in.referrer = referrer[0] ? referrer : NULL;
        if (s_rng_pct(r, 50)) {
            in.has_household = 1;
            in.household = s_rng_range(r, 1, 6);
        }
        *kind = "signup";
        rc = dn_record_member_add(a->store, &in, &out, why, sizeof why);
        if (rc == 0)
            snprintf(a->phones[a->n_phones++], sizeof a->phones[0], "%s", phone);
        goto done;
    }
    {
        dn_record_line_t lines[3];
        int n = (int)s_rng_range(r, 1, 3), first = (int)s_rng_range(r, 0, 4);
        dn_sale_input_t in = {lines, (size_t)n, NULL, NULL, NULL, NULL};
        static const char *channels[] = {"store", "online", "community"};
        memset(lines, 0, sizeof lines);
        for (int k = 0; k < n; k++) {
            snprintf(lines[k].sku, sizeof lines[k].sku, "%s", s_skus[(first + k) % 5]);
            lines[k].quantity = s_rng_range(r, 1, 5);
            lines[k].has_price = 1;
            lines[k].unit_price = s_rng_range(r, 50, 9999);
        }
        if (a->n_phones > 0 && s_rng_pct(r, 50))
            in.member = a->phones[s_rng_range(r, 0, a->n_phones - 1)];
        in.channel = channels[s_rng_range(r, 0, 2)];
        *kind = "sale";
        rc = dn_record_sale(a->store, &in, &out, why, sizeof why);
        if (rc == 0 && a->n_sales < 64)
            memcpy(a->sales[a->n_sales++], out.id, DN_ID_BYTES);
    }
done:
    *seq = out.seq;
    if (rc && !a->hook_fired)
        s_fail(sim, "a%d: recording a %s failed: %s", i, *kind, why);
    return rc;
}

static void s_record(sim_t *sim, int i)
{
    agent_t *a = &sim->agents[i];
    const char *kind = "";
    int64_t seq = 0;
    if (a->state == A_DOWN) { /* the clerk waits for the PC to come back */
        s_schedule(sim, sim->now + s_rng_range(&sim->rng, 100, 3000), EV_RECORD, i);
        return;
    }
    if (s_record_one(sim, i, &kind, &seq) != 0) {
        if (a->hook_fired) {
            s_trace(sim, "a%d: records a %s: not confirmed", i, kind);
            s_agent_crash(sim, i, "inside the commit of a recording");
            /* the clerk saw no "recorded": tries again later */
            s_schedule(sim, sim->now + s_rng_range(&sim->rng, 100, 3000), EV_RECORD, i);
        }
        return;
    }
    a->planned--;
    a->recorded++;
    a->clean = 0;
    sim->st.events++;
    s_trace(sim, "a%d: records a %s, seq %" PRId64, i, kind, seq);
    if (seq != a->recorded)
        s_fail(sim, "a%d: recording %d got seq %" PRId64, i, a->recorded, seq);
    if (a->state == A_IDLE) /* the daemon notices new events within a second */
        s_agent_timer(sim, i, s_rng_range(&sim->rng, 0, 1000));
}

/* -- setting a seed's world up, and down -------------------------------------------- */

static void s_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            s_remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static const char *s_tmp_base(void)
{
    const char *t = getenv("TMPDIR");
    struct stat st;
    if (t && *t)
        return t;
    /* tmpfs when there is one: a seed writes a few hundred small commits */
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
        access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}

/*  The world every seed starts from, built once per run in ROOT/world:
    central.db with the partner tree, the plan and SIM_MAX_AGENTS sites
    enrolled, and an empty agent.db per site.  A seed copies the files
    (the same bytes for every seed) into ROOT/seed-N.XXXXXX, which costs a
    fraction of building them.  ROOT is one folder per run, so a run that
    is killed leaves one folder behind.  */
static struct {
    char root[256];
    char dir[300];
    int keep; /* leave root in place (--keep) */
    uint8_t key_seed[SIM_MAX_AGENTS][32];
    int64_t site_id[SIM_MAX_AGENTS];
} s_tpl;

static const char *s_site_partner[SIM_MAX_AGENTS] = {"DE1", "RS1", "DE2"};

static void s_tpl_remove(void)
{
    if (s_tpl.root[0] && !s_tpl.keep)
        s_remove_tree(s_tpl.root);
    s_tpl.root[0] = '\0';
}

static int s_tpl_build(int64_t epoch)
{
    static const char *partners[][3] = {
        {"HQ", "hq", NULL},       {"R1", "region", "HQ"},   {"DI1", "distributor", "R1"},
        {"DE1", "dealer", "DI1"}, {"DE2", "dealer", "DI1"}, {"RS1", "reseller", "DE1"}};
    int64_t setup = epoch - DN_DAY_MS;
    char path[400], why[256] = "";
    sqlite3 *db = NULL;
    dn_plan_t plan;
    int rc = 0;

    snprintf(s_tpl.root, sizeof s_tpl.root, "%s/dn_sim.XXXXXX", s_tmp_base());
    if (!mkdtemp(s_tpl.root)) {
        fprintf(stderr, "dn_sim: cannot create a folder in %s: %s\n", s_tmp_base(),
                strerror(errno));
        s_tpl.root[0] = '\0';
        return DN_EIO;
    }
    snprintf(s_tpl.dir, sizeof s_tpl.dir, "%s/world", s_tpl.root);
    if (mkdir(s_tpl.dir, 0700) != 0) {
        s_tpl_remove();
        return DN_EIO;
    }
    snprintf(path, sizeof path, "%s/central", s_tpl.dir);
    if (mkdir(path, 0700) != 0 || dn_central_open(path, DN_DB_CREATE, &db) != 0)
        rc = DN_EIO;
    for (size_t k = 0; rc == 0 && k < sizeof partners / sizeof partners[0]; k++)
        rc = dn_registry_partner_add(db, partners[k][0], partners[k][0], partners[k][1],
                                     partners[k][2], setup, why, sizeof why);
    if (rc == 0)
        rc = dn_plan_set(db, s_plan, setup, &plan, why, sizeof why);
    for (int i = 0; rc == 0 && i < SIM_MAX_AGENTS; i++) {
        char code[16], token[DN_TOKEN_TEXT_LEN + 1];
        uint8_t pub[DN_PUBKEY_BYTES], curve[DN_CURVE_KEY_BYTES];
        dn_registry_site_t site;
        dn_key_t *key;
        int64_t expires;

        snprintf(code, sizeof code, "SHOP%d", i);
        for (int k = 0; k < 32; k++) {
            s_tpl.key_seed[i][k] = (uint8_t)(0xA0 + i * 32 + k);
            curve[k] = (uint8_t)(i * 32 + k);
        }
        key = dn_key_from_seed(s_tpl.key_seed[i]);
        rc = key ? dn_key_public(key, pub) : DN_ECRYPTO;
        dn_key_destroy(&key);
        if (rc == 0)
            rc = dn_registry_site_add(db, code, s_site_partner[i], setup, token, &expires,
                                      why, sizeof why);
        if (rc == 0)
            rc = dn_registry_enroll(db, token, code, curve, pub, setup, &site, why,
                                    sizeof why);
        s_tpl.site_id[i] = site.id;
        snprintf(path, sizeof path, "%s/a%d", s_tpl.dir, i);
        if (rc == 0 && (mkdir(path, 0700) != 0 ||
                        dn_store_create(path, code, s_site_partner[i], "CNY") != 0))
            rc = DN_EIO;
    }
    if (db && sqlite3_close(db) != SQLITE_OK)
        rc = DN_EDB;
    if (rc) {
        fprintf(stderr, "dn_sim: cannot build the world: %s %s\n", dn_strerror(rc), why);
        s_tpl_remove();
    }
    return rc;
}

/*  Copies from/file into to/file.  */
static int s_copy(const char *from, const char *to, const char *file)
{
    char src[420], dst[420], buf[65536];
    FILE *in, *out;
    size_t n;
    int rc = 0;
    snprintf(src, sizeof src, "%s/%s", from, file);
    snprintf(dst, sizeof dst, "%s/%s", to, file);
    if (!(in = fopen(src, "rb")))
        return DN_EIO;
    if (!(out = fopen(dst, "wb"))) {
        fclose(in);
        return DN_EIO;
    }
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = DN_EIO;
    if (ferror(in))
        rc = DN_EIO;
    fclose(in);
    if (fclose(out) != 0)
        rc = DN_EIO;
    return rc;
}

static int s_setup(sim_t *sim)
{
    server_t *s = &sim->server;
    char from[340];

    snprintf(sim->root, sizeof sim->root, "%s/seed-%" PRIu64 ".XXXXXX", s_tpl.root,
             sim->seed);
    if (!mkdtemp(sim->root)) {
        s_fail(sim, "cannot create a folder in %s: %s", s_tpl.root, strerror(errno));
        sim->root[0] = '\0';
        return DN_EIO;
    }
    snprintf(s->dir, sizeof s->dir, "%s/central", sim->root);
    snprintf(from, sizeof from, "%s/central", s_tpl.dir);
    if (mkdir(s->dir, 0700) != 0 || s_copy(from, s->dir, DN_CENTRAL_DB_FILE) != 0)
        return s_fail(sim, "cannot copy central.db into %s", s->dir);
    if (s_server_open(sim, 0) != 0)
        return DN_EDB;
    for (int i = 0; i < sim->p.n_agents; i++) {
        agent_t *a = &sim->agents[i];
        snprintf(a->code, sizeof a->code, "SHOP%d", i);
        snprintf(a->partner, sizeof a->partner, "%s", s_site_partner[i]);
        snprintf(a->dir, sizeof a->dir, "%s/a%d", sim->root, i);
        snprintf(from, sizeof from, "%s/a%d", s_tpl.dir, i);
        a->site_id = s_tpl.site_id[i];
        if (!(a->key = dn_key_from_seed(s_tpl.key_seed[i])))
            return s_fail(sim, "cannot make the key of %s", a->code);
        if (mkdir(a->dir, 0700) != 0 || s_copy(from, a->dir, DN_AGENT_DB_FILE) != 0)
            return s_fail(sim, "cannot copy agent.db into %s", a->dir);
        if (s_agent_open(sim, i) != 0)
            return DN_EDB;
    }
    return 0;
}

static void s_teardown(sim_t *sim)
{
    for (int i = 0; i < SIM_MAX_AGENTS; i++) {
        dn_syncsm_destroy(&sim->agents[i].sm);
        dn_store_destroy(&sim->agents[i].store);
        dn_key_destroy(&sim->agents[i].key);
    }
    if (sim->server.db || sim->server.ingest)
        s_server_close(sim);
    free(sim->server.inbox);
    for (size_t k = 0; k < sim->n_heap; k++)
        free(sim->heap[k].data);
    free(sim->heap);
    if (sim->root[0] && !sim->keep)
        s_remove_tree(sim->root);
}

/* -- the checks --------------------------------------------------------------------- */

static int64_t s_int(sim_t *sim, const char *sql, int64_t arg)
{
    sqlite3_stmt *stmt;
    int64_t v = -1;
    if (dn_db_prepare(sim->server.db, sql, &stmt))
        return -1;
    if (arg >= 0)
        sqlite3_bind_int64(stmt, 1, arg);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/*  One site: the agent's outbox against the server's events, byte for
    byte.  */
static int s_check_site(sim_t *sim, int i)
{
    agent_t *a = &sim->agents[i];
    dn_outbox_position_t pos;
    dn_outbox_check_t chk;
    sqlite3_stmt *stmt;
    uint64_t seq = 0, expect = 1;
    int step;

    if (dn_outbox_position(a->store, &pos) != 0)
        return s_fail(sim, "a%d: cannot read the outbox position", i);
    if (pos.pending != 0)
        return s_fail(sim, "a%d: %" PRIu64 " events still pending after the drain", i,
                      pos.pending);
    if (pos.head_seq != (uint64_t)a->recorded)
        return s_fail(sim,
                      "a%d: %d recordings confirmed but the outbox ends at seq %" PRIu64,
                      i, a->recorded, pos.head_seq);
    if (dn_outbox_check(a->store, &chk) != 0)
        return s_fail(sim, "a%d: outbox chain broken at seq %" PRId64 ": %s", i,
                      chk.bad_seq, chk.why);
    if (s_int(sim, "SELECT applied_seq FROM sites WHERE id = ?", a->site_id) !=
        (int64_t)pos.head_seq)
        return s_fail(sim, "a%d: server applied_seq differs from the head %" PRIu64, i,
                      pos.head_seq);

    if (dn_db_prepare(sim->server.db,
                      "SELECT seq, body FROM events WHERE site_id = ? ORDER BY seq, eid",
                      &stmt))
        return s_fail(sim, "server: cannot read events");
    sqlite3_bind_int64(stmt, 1, a->site_id);
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        dn_outbox_batch_t one;
        const void *body = sqlite3_column_blob(stmt, 1);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 1);
        seq = (uint64_t)sqlite3_column_int64(stmt, 0);
        if (seq < expect) {
            s_fail(sim, "a%d: seq %" PRIu64 " is on the server twice (duplicated)", i,
                   seq);
            break;
        }
        if (seq > expect) {
            s_fail(sim, "a%d: seq %" PRIu64 " is missing on the server (lost)", i,
                   expect);
            break;
        }
        if (seq > pos.head_seq) {
            s_fail(sim,
                   "a%d: seq %" PRIu64 " on the server was never recorded (unexpected)",
                   i, seq);
            break;
        }
        if (dn_outbox_read(a->store, seq, 1, DN_MAX_BATCH_BYTES, &one) != 0 ||
            one.n != 1) {
            s_fail(sim, "a%d: cannot read seq %" PRIu64 " from the outbox", i, seq);
            break;
        }
        if (one.events[0].len != len || memcmp(one.events[0].data, body, len) != 0)
            s_fail(sim, "a%d: seq %" PRIu64 " differs between the outbox and the server",
                   i, seq);
        dn_outbox_batch_free(&one);
        expect++;
        if (sim->failed)
            break;
    }
    if (!sim->failed && step != SQLITE_DONE && step != SQLITE_ROW)
        s_fail(sim, "server: reading events failed");
    sqlite3_finalize(stmt);
    if (!sim->failed && expect != pos.head_seq + 1)
        s_fail(sim, "a%d: the server holds seqs 1..%" PRIu64 " of 1..%" PRIu64 " (lost)",
               i, expect - 1, pos.head_seq);
    return sim->failed ? DN_EPROTO : 0;
}

static int s_check(sim_t *sim)
{
    int64_t total = 0, n;
    json_t *out = NULL;
    char path[400];
    int rc;

    for (int i = 0; i < sim->p.n_agents && !sim->failed; i++) {
        s_check_site(sim, i);
        total += sim->agents[i].recorded;
    }
    if (sim->failed)
        return DN_EPROTO;
    if ((n = s_int(sim, "SELECT count(*) FROM events", -1)) != total)
        return s_fail(sim,
                      "server holds %" PRId64 " events, the sites recorded %" PRId64
                      " (unexpected)",
                      n, total);
    if (s_int(sim, "SELECT count(*) FROM events WHERE kind = 'sale'", -1) !=
            s_int(sim, "SELECT count(*) FROM sales", -1) ||
        s_int(sim, "SELECT count(*) FROM events WHERE kind = 'refund'", -1) !=
            s_int(sim, "SELECT count(*) FROM refunds", -1))
        return s_fail(sim,
                      "server: decoded sales or refunds differ from the stored events");
    s_server_close(sim); /* verify reads the file on a connection of its own */
    snprintf(path, sizeof path, "%s/%s", sim->server.dir, DN_CENTRAL_DB_FILE);
    rc = dn_verify_run(path, &out, NULL, 0);
    if (rc) {
        char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
        s_fail(sim, "ledger verify: %s: %.300s", dn_strerror(rc), text ? text : "");
        free(text);
    }
    json_decref(out);
    return sim->failed ? DN_EPROTO : 0;
}

/* -- one seed ----------------------------------------------------------------------- */

static void s_draw(sim_t *sim)
{
    rng_t *r = &sim->rng;
    params_t *p = &sim->p;
    int calm = s_rng_pct(r, 10); /* some seeds without any fault */
    p->n_agents = (int)s_rng_range(r, 2, SIM_MAX_AGENTS);
    p->window = (int)s_rng_range(r, 1, 4);
    p->max_batch = (int)s_rng_range(r, 1, 12);
    p->group = (int)s_rng_range(r, 1, SIM_GROUP_MAX);
    p->drop_pct = calm ? 0 : (int)s_rng_range(r, 0, 25);
    p->dup_pct = calm ? 0 : (int)s_rng_range(r, 0, 25);
    p->reorder_pct = calm ? 0 : (int)s_rng_range(r, 0, 30);
    p->replay_pct = (int)s_rng_range(r, 0, 30);
    p->send_fail_pct = calm ? 0 : (int)s_rng_range(r, 0, 3);
    p->max_delay_ms = (int)s_rng_range(r, 1, 300);
    p->crash_before_pct = calm ? 0 : (int)s_rng_range(r, 0, 4);
    p->commit_fail_pct = calm ? 0 : (int)s_rng_range(r, 0, 3);
    p->crash_after_pct = calm ? 0 : (int)s_rng_range(r, 0, 4);
    p->work_ms = s_rng_range(r, 10000, 120000);
    for (int i = 0; i < p->n_agents; i++) {
        int n = (int)s_rng_range(r, 20, 60);
        sim->agents[i].planned = n;
        for (int k = 0; k < n; k++)
            s_schedule(sim, sim->epoch + s_rng_range(r, 0, p->work_ms), EV_RECORD, i);
        for (int k = calm ? 0 : (int)s_rng_range(r, 0, 3); k > 0; k--)
            s_schedule(sim, sim->epoch + s_rng_range(r, 0, p->work_ms), EV_AGENT_CRASH,
                       i);
        for (int k = calm ? 0 : (int)s_rng_range(r, 0, 2); k > 0; k--)
            s_schedule(sim, sim->epoch + s_rng_range(r, 0, p->work_ms), EV_AGENT_ARM, i);
    }
    for (int k = calm ? 0 : (int)s_rng_range(r, 0, 2); k > 0; k--)
        s_schedule(sim, sim->epoch + s_rng_range(r, 0, p->work_ms), EV_SERVER_CRASH, 0);
}

static int s_planned_left(sim_t *sim)
{
    int n = 0;
    for (int i = 0; i < sim->p.n_agents; i++)
        n += sim->agents[i].planned;
    return n;
}

static void s_start_drain(sim_t *sim)
{
    sim->drain = 1;
    sim->drain_at = sim->now;
    s_trace(sim, "drain: faults stop, the bus is lossless and in order");
    if (!sim->server.up && s_server_open(sim, 0) == 0)
        s_trace(sim, "server: restarts for the drain");
    for (int i = 0; i < sim->p.n_agents; i++) {
        agent_t *a = &sim->agents[i];
        a->arm_commit = 0;
        if (a->state != A_WAIT)
            s_agent_timer(sim, i, s_rng_range(&sim->rng, 1, 100));
    }
}

static int s_converged(sim_t *sim)
{
    if (!sim->drain || sim->msgs_in_flight || sim->server.n_inbox ||
        sim->server.tick_pending)
        return 0;
    for (int i = 0; i < sim->p.n_agents; i++)
        if (sim->agents[i].state != A_IDLE || !sim->agents[i].clean)
            return 0;
    return 1;
}

static void s_step(sim_t *sim, ev_t *ev)
{
    agent_t *a = &sim->agents[ev->agent];
    switch (ev->kind) {
    case EV_TO_SERVER:
        sim->msgs_in_flight--;
        s_server_receive(sim, ev); /* takes ev->data */
        ev->data = NULL;
        break;
    case EV_TO_AGENT:
        sim->msgs_in_flight--;
        s_agent_receive(sim, ev);
        break;
    case EV_AGENT_TIMER:
        s_agent_timer_fired(sim, ev);
        break;
    case EV_RECORD:
        s_record(sim, ev->agent);
        if (!sim->drain && s_planned_left(sim) == 0)
            s_schedule(sim, sim->now + s_rng_range(&sim->rng, 0, 5000), EV_DRAIN, 0);
        break;
    case EV_SERVER_TICK:
        s_server_tick(sim);
        break;
    case EV_SERVER_UP:
        if (!sim->server.up && s_server_open(sim, 0) == 0)
            s_trace(sim, "server: restarts");
        break;
    case EV_SERVER_CRASH:
        if (!sim->drain && sim->server.up)
            s_server_crash(sim, "while idle");
        break;
    case EV_AGENT_CRASH:
        if (!sim->drain && a->state != A_DOWN)
            s_agent_crash(sim, ev->agent, "at a random moment");
        break;
    case EV_AGENT_ARM:
        if (!sim->drain && a->state != A_DOWN) {
            s_trace(sim, "a%d: will crash inside its next commit", ev->agent);
            a->arm_commit = 1;
        }
        break;
    case EV_DRAIN:
        if (!sim->drain)
            s_start_drain(sim);
        break;
    }
}

typedef struct {
    uint64_t seed;
    int passed;
    uint8_t hash[32];
    stats_t st;
    char why[512];
} outcome_t;

static void s_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/*  The drain did not end: says, per site, what the agent holds as acked
    and what the server applied -- an agent ahead of the server means
    acknowledged events were lost.  */
static void s_fail_stuck(sim_t *sim)
{
    char detail[400] = "";
    size_t used = 0;
    for (int i = 0; i < sim->p.n_agents; i++) {
        agent_t *a = &sim->agents[i];
        dn_outbox_position_t pos = {0, 0, 0, 0};
        int64_t applied =
            sim->server.up
                ? s_int(sim, "SELECT applied_seq FROM sites WHERE id = ?", a->site_id)
                : -1;
        if (a->store)
            dn_outbox_position(a->store, &pos);
        used += (size_t)snprintf(
            detail + used, sizeof detail - used,
            "%sa%d acked %" PRIu64 " of %" PRIu64 ", server applied %" PRId64 "%s",
            i ? "; " : "", i, pos.acked_seq, pos.head_seq, applied,
            (int64_t)pos.acked_seq > applied ? " (acked events LOST)" : "");
        if (used >= sizeof detail)
            break;
    }
    s_fail(sim, "the drain did not end within %lld s: %s", SIM_DRAIN_LIMIT_MS / 1000,
           detail);
}

/*  How to run a seed.  */
typedef struct {
    int64_t epoch; /* the simulated clock starts here */
    int verbose;   /* print the trace */
    int keep;      /* leave the seed's folder in place */
    int bug;       /* inject the bug: dn_session releases replies before its commit */
} run_opts_t;

static void s_run_seed(uint64_t seed, const run_opts_t *opts, outcome_t *o)
{
    sim_t *sim = calloc(1, sizeof *sim);
    long steps = 0;
    if (!sim) {
        fprintf(stderr, "dn_sim: out of memory\n");
        exit(70);
    }
    sim->seed = seed;
    sim->verbose = opts->verbose;
    sim->keep = opts->keep;
    sim->bug_early_ack = opts->bug;
    sim->epoch = sim->now = opts->epoch;
    s_rng_seed(&sim->rng, seed);
    dn_testctl_set_clock(s_clock, sim);
    s_draw(sim);
    s_trace(sim,
            "seed %" PRIu64 ": %d agents, window %d, batch %d, group %d, drop %d%%, "
            "dup %d%%, reorder %d%%, delay <= %d ms, server crash %d%%/%d%%, commit "
            "failure %d%%%s",
            seed, sim->p.n_agents, sim->p.window, sim->p.max_batch, sim->p.group,
            sim->p.drop_pct, sim->p.dup_pct, sim->p.reorder_pct, sim->p.max_delay_ms,
            sim->p.crash_before_pct, sim->p.crash_after_pct, sim->p.commit_fail_pct,
            opts->bug ? ", BUG: dn_session replies before the commit" : "");
    if (s_setup(sim) == 0) {
        for (int i = 0; i < sim->p.n_agents; i++) /* the daemons start */
            s_agent_timer(sim, i, s_rng_range(&sim->rng, 0, 1000));
        while (!sim->failed && !s_converged(sim)) {
            ev_t ev;
            if (sim->n_heap == 0) {
                s_fail(sim, "nothing left to happen, yet not drained");
                break;
            }
            if (++steps > SIM_MAX_STEPS) {
                s_fail(sim, "no end after %ld steps", steps);
                break;
            }
            ev = s_pop_ev(sim);
            sim->now = ev.at;
            if (sim->drain && sim->now - sim->drain_at > SIM_DRAIN_LIMIT_MS) {
                s_fail_stuck(sim);
                free(ev.data);
                break;
            }
            s_step(sim, &ev);
            free(ev.data);
        }
        if (!sim->failed)
            s_check(sim);
    }
    s_trace(sim, "end: %s", sim->failed ? "FAILED" : "passed");
    dn_testctl_set_clock(NULL, NULL);
    o->seed = seed;
    o->passed = !sim->failed;
    memcpy(o->hash, sim->hash, 32);
    o->st = sim->st;
    snprintf(o->why, sizeof o->why, "%s", sim->why);
    if (opts->keep)
        fprintf(stderr, "dn_sim: seed %" PRIu64 " kept in %s\n", seed, sim->root);
    s_teardown(sim);
    free(sim);
}

/* -- many seeds --------------------------------------------------------------------- */

static void s_usage(void)
{
    fprintf(
        stderr,
        "usage: dn_sim [--seeds N] [--first S] [--jobs J] [--repeat R] [--bug-check B]\n"
        "       dn_sim --seed S [-v] [--keep] [--bug]\n"
        "  --seeds N      run N seeds (default %d), from --first (default 1)\n"
        "  --jobs J       in J worker processes (default 2; 0: in this process)\n"
        "  --repeat R     then run R of those seeds again in this process and compare\n"
        "                 their trace hashes (default %d)\n"
        "  --bug-check B  then inject a bug (dn_session replies before its commit) and\n"
        "                 require a failure within B seeds (default %d; 0: skip)\n"
        "  --seed S       run one seed and print its trace hash; -v prints the trace,\n"
        "                 --keep leaves its databases, --bug injects the bug\n",
        SIM_DEFAULT_SEEDS, SIM_DEFAULT_REPEAT, SIM_DEFAULT_BUG_CHECK);
    exit(64);
}

static uint64_t s_arg_u64(const char *text)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno || *end || end == text)
        s_usage();
    return v;
}

static void s_add(stats_t *sum, const stats_t *st)
{
    sum->events += st->events;
    sum->messages += st->messages;
    sum->dropped += st->dropped;
    sum->duplicated += st->duplicated;
    sum->reordered += st->reordered;
    sum->agent_crashes += st->agent_crashes;
    sum->server_crashes += st->server_crashes;
    sum->commit_failures += st->commit_failures;
    sum->sessions += st->sessions;
    sum->timeouts += st->timeouts;
}

static int s_read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void s_write_full(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(70);
        p += n;
        len -= (size_t)n;
    }
}

static void s_report_failure(const char *argv0, const outcome_t *o, int bug)
{
    char hex[65];
    s_hex(o->hash, 32, hex);
    printf("sim: seed %" PRIu64 " FAILED: %s\n", o->seed, o->why);
    printf("sim:   trace hash %s\n", hex);
    printf("sim:   reproduce: %s --seed %" PRIu64 "%s -v\n", argv0, o->seed,
           bug ? " --bug" : "");
}

/*  Runs seeds first .. first + n - 1 into outcomes[0 .. n): in this process
    (jobs 0), or striped over jobs worker processes that each write one
    outcome per seed to a pipe.  A worker that dies leaves its remaining
    outcomes zeroed (seed 0): they count as failed.  Returns 0, or -1 if a
    process or pipe could not be made.  */
static int s_run_many(uint64_t first, uint64_t n, int jobs, const run_opts_t *opts,
                      outcome_t *outcomes)
{
    int fds[64];
    pid_t pids[64];

    if (jobs == 0) {
        for (uint64_t k = 0; k < n; k++)
            s_run_seed(first + k, opts, &outcomes[k]);
        return 0;
    }
    fflush(stdout);
    for (int w = 0; w < jobs; w++) {
        int p[2];
        if (pipe(p) != 0 || (pids[w] = fork()) < 0) {
            fprintf(stderr, "dn_sim: cannot start a worker: %s\n", strerror(errno));
            return -1;
        }
        if (pids[w] == 0) {
            close(p[0]);
            for (uint64_t k = (uint64_t)w; k < n; k += (uint64_t)jobs) {
                outcome_t o;
                s_run_seed(first + k, opts, &o);
                s_write_full(p[1], &o, sizeof o);
            }
            close(p[1]);
            _exit(0);
        }
        close(p[1]);
        fds[w] = p[0];
    }
    for (int w = 0; w < jobs; w++) {
        int status = 0;
        for (uint64_t k = (uint64_t)w; k < n; k += (uint64_t)jobs) {
            if (s_read_full(fds[w], &outcomes[k], sizeof outcomes[k]) != 0) {
                memset(&outcomes[k], 0, sizeof outcomes[k]);
                outcomes[k].seed = first + k;
                snprintf(outcomes[k].why, sizeof outcomes[k].why,
                         "the worker process died on this seed");
                break;
            }
        }
        close(fds[w]);
        waitpid(pids[w], &status, 0);
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t first = 1, n_seeds = SIM_DEFAULT_SEEDS, one = 0,
             n_repeat = SIM_DEFAULT_REPEAT;
    uint64_t bug_check = SIM_DEFAULT_BUG_CHECK, passed = 0, failed = 0, same = 0;
    int jobs = 2, have_one = 0, bug_caught = 0;
    run_opts_t opts = {0, 0, 0, 0};
    outcome_t *outcomes;
    stats_t sum;
    struct timespec t0, t1;
    double secs;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
            n_seeds = s_arg_u64(argv[++i]);
        else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc)
            first = s_arg_u64(argv[++i]);
        else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
            jobs = (int)s_arg_u64(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            n_repeat = s_arg_u64(argv[++i]);
        else if (strcmp(argv[i], "--bug-check") == 0 && i + 1 < argc)
            bug_check = s_arg_u64(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            one = s_arg_u64(argv[++i]);
            have_one = 1;
        } else if (strcmp(argv[i], "-v") == 0)
            opts.verbose = 1;
        else if (strcmp(argv[i], "--keep") == 0)
            opts.keep = 1;
        else if (strcmp(argv[i], "--bug") == 0)
            opts.bug = 1;
        else
            s_usage();
    }
    if (jobs < 0 || jobs > 64 || n_seeds == 0 || first == 0 || (!have_one && opts.bug) ||
        (!have_one && (opts.verbose || opts.keep)))
        s_usage();
    dn_log_init("dn_sim", opts.verbose ? DN_LOG_WARN : DN_LOG_QUIET, 0);
    if (dn_time_parse_date("2026-03-02", &opts.epoch) != 0)
        return 70;
    setvbuf(stdout, NULL, _IOLBF, 0);
    s_tpl.keep = opts.keep;
    if (s_tpl_build(opts.epoch) != 0)
        return 70;
    atexit(s_tpl_remove); /* workers leave with _exit: only this process removes it */

    if (have_one) {
        outcome_t o;
        char hex[65];
        s_run_seed(one, &opts, &o);
        s_hex(o.hash, 32, hex);
        printf("sim: seed %" PRIu64 " %s, trace hash %s\n", one,
               o.passed ? "passed" : "FAILED", hex);
        printf("sim: 1 seeds, %d passed, %d failed, %" PRIu64 " events, %" PRIu64
               " dropped, %" PRIu64 " duplicated, %" PRIu64 " crashes\n",
               o.passed, !o.passed, o.st.events, o.st.dropped, o.st.duplicated,
               o.st.agent_crashes + o.st.server_crashes);
        if (!o.passed)
            s_report_failure(argv[0], &o, opts.bug);
        return o.passed ? 0 : 1;
    }

    outcomes = calloc(n_seeds, sizeof *outcomes);
    if (!outcomes)
        return 70;
    memset(&sum, 0, sizeof sum);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (s_run_many(first, n_seeds, jobs, &opts, outcomes) != 0)
        return 70;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    for (uint64_t k = 0; k < n_seeds; k++) {
        s_add(&sum, &outcomes[k].st);
        if (outcomes[k].passed)
            passed++;
        else if (++failed <= 10)
            s_report_failure(argv[0], &outcomes[k], 0);
    }

    /* Determinism: R seeds spread over the run, again, in this process.  */
    if (n_repeat > n_seeds)
        n_repeat = n_seeds;
    for (uint64_t r = 0; r < n_repeat; r++) {
        const outcome_t *before = &outcomes[r * n_seeds / n_repeat];
        outcome_t o;
        s_run_seed(first + r * n_seeds / n_repeat, &opts, &o);
        if (memcmp(o.hash, before->hash, 32) == 0 && o.passed == before->passed) {
            same++;
        } else {
            char a[65], b[65];
            s_hex(before->hash, 32, a);
            s_hex(o.hash, 32, b);
            printf("sim: seed %" PRIu64 " is not deterministic: trace hash %s, then %s\n",
                   o.seed, a, b);
        }
    }

    /* The checks can fail: with the server replying before its commit, a
       crash before the commit loses acknowledged events, and some seed
       must say so.  */
    if (bug_check) {
        run_opts_t buggy = opts;
        buggy.bug = 1;
        for (uint64_t k = 0; k < bug_check && !bug_caught; k++) {
            outcome_t o;
            s_run_seed(first + k, &buggy, &o);
            if (!o.passed) {
                bug_caught = 1;
                printf("sim: injected bug (dn_session replies before the commit) caught at seed "
                       "%" PRIu64 ": %s\n",
                       o.seed, o.why);
            }
        }
        if (!bug_caught)
            printf("sim: injected bug (dn_session replies before the commit) NOT caught in %" PRIu64
                   " seeds\n",
                   bug_check);
    }

    printf("sim: %" PRIu64 " sessions, %" PRIu64 " messages, %" PRIu64
           " reordered, %" PRIu64 " reply timeouts, %" PRIu64 " agent crashes, %" PRIu64
           " server crashes, %" PRIu64
           " failed commits; %.1f s, %.0f seeds/s on %d jobs\n",
           sum.sessions, sum.messages, sum.reordered, sum.timeouts, sum.agent_crashes,
           sum.server_crashes, sum.commit_failures, secs,
           secs > 0 ? (double)n_seeds / secs : 0.0, jobs);
    if (n_repeat)
        printf("sim: %" PRIu64 " seeds re-run, %" PRIu64 " with the same trace hash\n",
               n_repeat, same);
    printf("sim: %" PRIu64 " seeds, %" PRIu64 " passed, %" PRIu64 " failed, %" PRIu64
           " events, %" PRIu64 " dropped, %" PRIu64 " duplicated, %" PRIu64 " crashes\n",
           n_seeds, passed, failed, sum.events, sum.dropped, sum.duplicated,
           sum.agent_crashes + sum.server_crashes);
    free(outcomes);
    return failed || same != n_repeat || (bug_check && !bug_caught) ? 1 : 0;
}

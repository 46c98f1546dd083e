/*  dn_check -- the fault tests' checker: after a final drain, did the
    network lose, duplicate or invent anything, and does the ledger hold?

    Reads every agent's agent.db and the server's central.db, read-only
    (central.db through a snapshot copy made with SQLite's backup API), and
    the client logs the fault scripts wrote: one line per recording command
    they started,

        UUID KIND KEY=VALUE     the command exited 0 and printed this event id
        unknown KIND KEY=VALUE  it was killed: the client cannot know the outcome
        failed KIND KEY=VALUE   it exited non-zero: nothing may have been written

    where KIND KEY=VALUE names what was attempted so that it can be found
    without the id: "sale sku=SKU" (the first line's SKU, unique per attempt),
    "member phone=PHONE", "refund sale=UUID".  It prints, Jepsen-style,

        check: confirmed N, lost N, duplicated N, unexpected N, recovered N, ledger delta
   N

      confirmed   attempts whose command exited 0;
      lost        events confirmed, or committed in an agent.db, that are
                  absent on the server (or confirmed but not recorded as
                  confirmed);
      duplicated  extra copies on the server of an event id, a (site, seq), a
                  sale row, or an attempt (the same attempt stored as two
                  events), and attempts recorded twice in an agent.db;
      unexpected  events on the server that no agent.db holds with those
                  bytes, and failed attempts that were written anyway;
      recovered   attempts with an unknown outcome that are on the server
                  exactly once;
      ledger delta  the differences `dealernet-hq verify` finds
                  (dn_verify_run on the snapshot), plus the difference
                  between the stored ledger and one recomputed by a clean
                  replay: every distinct event of the agents applied once,
                  through the server's own ingest code, into a fresh
                  database holding the same tree, plans and sites, in the
                  order the server stored them -- transfers that differ
                  (as a multiset of accounts, amount, code, event, level,
                  rate, category) and accounts whose balance differs.

    It also requires every agent to be drained (0 pending) with an intact
    hash chain, and both files to pass integrity_check.  Exit 0 only when
    lost, duplicated, unexpected and ledger delta are 0 and those hold; 1
    otherwise; 64 usage; 70 when a file cannot be read.
*/
#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_ingest.h"
#include "dn_ledger.h"
#include "dn_log.h"
#include "dn_registry.h"
#include "dn_time.h"
#include "dn_verify.h"
#include "dn_wire.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EX_USAGE    64
#define EX_SOFTWARE 70

#define DN_CHECK_MAX_AGENTS 64
#define DN_CHECK_TAG_SIZE   96
#define DN_CHECK_SHOW       10 /* detail lines shown per kind of problem */
#define DN_CHECK_NOT_STORED INT64_MAX

/*  One event, as an agent stored it or as the server stored it.  */
typedef struct {
    uint8_t id[DN_ID_BYTES];
    uint64_t seq;
    uint8_t hash[DN_HASH_BYTES];
    uint8_t *body;
    size_t len;
    char tag[DN_CHECK_TAG_SIZE];    /* "sale sku=X", "member phone=P", ... */
    uint8_t member_id[DN_ID_BYTES]; /* a sign-up's member id (what `member add` prints) */
    int synced;                     /* agent: acknowledged by the server */
    int agent;                      /* index of the agent (server: its site's, or -1) */
    int64_t eid;         /* server row; agent: the matching row or NOT_STORED */
    int64_t received_ms; /* server: when it was stored */
    int counted;         /* agent: already counted as lost */
} s_event_t;

/*  One line of a client log.  */
typedef struct {
    int agent;
    char state;              /* 'c' confirmed, 'u' unknown, 'f' failed */
    uint8_t id[DN_ID_BYTES]; /* when confirmed */
    char tag[DN_CHECK_TAG_SIZE];
} s_attempt_t;

typedef struct {
    const char *dir;
    const char *log;
    char site[DN_MAX_CODE_LEN + 1];
    s_event_t *events; /* in seq order */
    size_t n;
    uint64_t pending;
    int chain_ok;
    char chain_why[160];
    int integrity_ok;
} s_agent_t;

typedef struct {
    const char *central;
    s_agent_t agents[DN_CHECK_MAX_AGENTS];
    int n_agents;
    s_event_t *server; /* in eid order */
    size_t n_server;
    s_attempt_t *attempts;
    size_t n_attempts;
    char tmp[4096]; /* the snapshot folder */
    char snapshot[4200];
    int shown[8]; /* detail lines shown, per kind */
    /* the figures */
    long confirmed, lost, duplicated, unexpected, recovered, unknown_absent, unknown;
    long verify_diffs, replay_transfer_diffs, replay_balance_diffs, replay_refused;
    long long balance_abs_diff;
    long stored_transfers, replay_transfers, accounts, verify_events;
    int server_integrity_ok;
} s_check_t;

enum { S_LOST, S_DUP, S_UNEXPECTED, S_UNKNOWN, S_LEDGER, S_AGENT };

static void s_detail(s_check_t *self, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*  One detail line on stderr, at most DN_CHECK_SHOW per kind.  */
static void s_detail(s_check_t *self, int kind, const char *fmt, ...)
{
    va_list args;
    if (self->shown[kind]++ >= DN_CHECK_SHOW)
        return;
    fputs("check: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
}

static int s_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int s_die(int code, const char *fmt, ...)
{
    va_list args;
    fputs("dn_check: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    return code;
}

/* -- events and their tags ---------------------------------------------------- */

/*  What an event is, in the words of the client logs.  */
static void s_tag(const Dealernet__Event *ev, char tag[DN_CHECK_TAG_SIZE])
{
    char id[DN_ID_TEXT_SIZE];
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE:
        snprintf(tag, DN_CHECK_TAG_SIZE, "sale sku=%s",
                 ev->sale->n_lines ? ev->sale->lines[0]->sku : "");
        break;
    case DEALERNET__EVENT__BODY_REFUND:
        if (ev->refund->sale_id.len == DN_ID_BYTES)
            dn_id_format(ev->refund->sale_id.data, id);
        else
            snprintf(id, sizeof id, "?");
        snprintf(tag, DN_CHECK_TAG_SIZE, "refund sale=%s", id);
        break;
    case DEALERNET__EVENT__BODY_MEMBER_SIGNUP:
        snprintf(tag, DN_CHECK_TAG_SIZE, "member phone=%s", ev->member_signup->phone);
        break;
    case DEALERNET__EVENT__BODY_MEMBER_UPDATE:
        snprintf(tag, DN_CHECK_TAG_SIZE, "update phone=%s", ev->member_update->phone);
        break;
    default:
        snprintf(tag, DN_CHECK_TAG_SIZE, "unknown");
    }
}

static int s_id_cmp(const void *a, const void *b)
{
    return memcmp(((const s_event_t *)a)->id, ((const s_event_t *)b)->id, DN_ID_BYTES);
}

/*  An index of events by id: a sorted array of pointers.  */
typedef struct {
    s_event_t **v;
    size_t n;
} s_index_t;

static int s_ptr_id_cmp(const void *a, const void *b)
{
    return s_id_cmp(*(s_event_t *const *)a, *(s_event_t *const *)b);
}

static int s_index_add(s_index_t *index, s_event_t *ev)
{
    s_event_t **v = realloc(index->v, (index->n + 1) * sizeof *v);
    if (!v)
        return DN_ENOMEM;
    index->v = v;
    index->v[index->n++] = ev;
    return 0;
}

static void s_index_sort(s_index_t *index)
{
    if (index->n)
        qsort(index->v, index->n, sizeof *index->v, s_ptr_id_cmp);
}

/*  The events with that id: *first is the first of *count.  */
static void s_index_find(const s_index_t *index, const uint8_t id[DN_ID_BYTES],
                         size_t *first, size_t *count)
{
    size_t lo = 0, hi = index->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(index->v[mid]->id, id, DN_ID_BYTES) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    *count = 0;
    while (lo + *count < index->n &&
           memcmp(index->v[lo + *count]->id, id, DN_ID_BYTES) == 0)
        (*count)++;
}

/* -- reading the agents ------------------------------------------------------- */

static int s_open_ro(const char *path, sqlite3 **db)
{
    char uri[4200];
    snprintf(uri, sizeof uri, "file:%s?mode=ro", path);
    if (sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) !=
        SQLITE_OK) {
        s_die(0, "cannot open %s: %s", path, *db ? sqlite3_errmsg(*db) : "no memory");
        sqlite3_close(*db);
        *db = NULL;
        return DN_EDB;
    }
    sqlite3_busy_timeout(*db, DN_DB_BUSY_TIMEOUT_MS);
    return 0;
}

static int s_integrity(sqlite3 *db)
{
    sqlite3_stmt *stmt;
    int ok = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        ok = strcmp((const char *)sqlite3_column_text(stmt, 0), "ok") == 0;
    sqlite3_finalize(stmt);
    return ok;
}

/*  Reads an agent's events and checks its chain the way `dealernet-agent
    check` does: seq 1, 2, 3 ..., each decodes, names the site and its own
    id, links to the previous hash and hashes to what is stored.  */
static int s_read_agent(s_agent_t *a, int index)
{
    char path[4200];
    sqlite3 *db;
    sqlite3_stmt *stmt;
    uint8_t prev[DN_HASH_BYTES] = {0};
    size_t cap = 0;
    int rc = 0;

    snprintf(path, sizeof path, "%s/%s", a->dir, "agent.db");
    if (s_open_ro(path, &db))
        return DN_EDB;
    a->chain_ok = 1;
    a->integrity_ok = s_integrity(db);
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'site'", -1, &stmt,
                           NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return s_die(DN_EDB, "%s: not an agent database", path);
    }
    if (sqlite3_step(stmt) == SQLITE_ROW)
        snprintf(a->site, sizeof a->site, "%s", sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, id, body, hash, synced FROM events ORDER BY seq",
                           -1, &stmt, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return s_die(DN_EDB, "%s: no events table", path);
    }
    while (rc == 0 && sqlite3_step(stmt) == SQLITE_ROW) {
        s_event_t *e;
        Dealernet__Event *ev = NULL;
        char why[DN_WHY_SIZE];
        uint8_t hash[DN_HASH_BYTES];
        const void *body = sqlite3_column_blob(stmt, 2);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 2);
        if (a->n == cap) {
            cap = cap ? cap * 2 : 256;
            e = realloc(a->events, cap * sizeof *e);
            if (!e) {
                rc = DN_ENOMEM;
                break;
            }
            a->events = e;
        }
        e = &a->events[a->n];
        memset(e, 0, sizeof *e);
        e->seq = (uint64_t)sqlite3_column_int64(stmt, 0);
        e->synced = sqlite3_column_int(stmt, 4);
        e->agent = index;
        e->eid = DN_CHECK_NOT_STORED;
        if (sqlite3_column_bytes(stmt, 1) == DN_ID_BYTES)
            memcpy(e->id, sqlite3_column_blob(stmt, 1), DN_ID_BYTES);
        if (sqlite3_column_bytes(stmt, 3) == DN_HASH_BYTES)
            memcpy(e->hash, sqlite3_column_blob(stmt, 3), DN_HASH_BYTES);
        e->len = len;
        e->body = malloc(len ? len : 1);
        if (!e->body) {
            rc = DN_ENOMEM;
            break;
        }
        if (len)
            memcpy(e->body, body, len);
        a->n++;
        if (!e->synced)
            a->pending++;
        snprintf(e->tag, sizeof e->tag, "undecodable");
        if (!a->chain_ok)
            continue;
        if (e->seq != a->n) {
            a->chain_ok = 0;
            snprintf(a->chain_why, sizeof a->chain_why, "seq %llu missing",
                     (unsigned long long)a->n);
        } else if (dn_wire_event_unpack(e->body, len, &ev, why, sizeof why)) {
            a->chain_ok = 0;
            snprintf(a->chain_why, sizeof a->chain_why, "seq %llu does not decode: %s",
                     (unsigned long long)e->seq, why);
        } else {
            s_tag(ev, e->tag);
            if (ev->body_case == DEALERNET__EVENT__BODY_MEMBER_SIGNUP &&
                ev->member_signup->member_id.len == DN_ID_BYTES)
                memcpy(e->member_id, ev->member_signup->member_id.data, DN_ID_BYTES);
            dn_sha256(e->body, len, hash);
            if (ev->seq != e->seq || strcmp(ev->site, a->site) != 0 ||
                memcmp(ev->id.data, e->id, DN_ID_BYTES) != 0 ||
                memcmp(ev->prev_hash.data, prev, DN_HASH_BYTES) != 0 ||
                memcmp(hash, e->hash, DN_HASH_BYTES) != 0) {
                a->chain_ok = 0;
                snprintf(a->chain_why, sizeof a->chain_why,
                         "seq %llu: its seq, site, id, link or hash does not match",
                         (unsigned long long)e->seq);
            }
            memcpy(prev, hash, DN_HASH_BYTES);
            dn_wire_event_free(&ev);
        }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rc;
}

/*  Parses "KIND KEY=VALUE" at text into tag; returns 0 or -1.  */
static int s_parse_tag(const char *text, char tag[DN_CHECK_TAG_SIZE])
{
    char kind[16], kv[DN_CHECK_TAG_SIZE];
    if (sscanf(text, "%15s %79s", kind, kv) != 2 || !strchr(kv, '='))
        return -1;
    snprintf(tag, DN_CHECK_TAG_SIZE, "%s %s", kind, kv);
    return 0;
}

static int s_read_log(s_check_t *self, int agent)
{
    const char *path = self->agents[agent].log;
    char line[512];
    FILE *f;
    int lineno = 0;

    if (!path)
        return 0;
    if (!(f = fopen(path, "r")))
        return s_die(DN_EIO, "cannot read the client log %s: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        s_attempt_t *at, *v;
        char first[64];
        int skip = 0;
        lineno++;
        if (line[0] == '#' || line[0] == '\n' ||
            sscanf(line, "%63s%n", first, &skip) != 1)
            continue;
        v = realloc(self->attempts, (self->n_attempts + 1) * sizeof *v);
        if (!v) {
            fclose(f);
            return DN_ENOMEM;
        }
        self->attempts = v;
        at = &self->attempts[self->n_attempts];
        memset(at, 0, sizeof *at);
        at->agent = agent;
        if (strcmp(first, "unknown") == 0)
            at->state = 'u';
        else if (strcmp(first, "failed") == 0)
            at->state = 'f';
        else if (dn_id_parse(first, at->id) == 0)
            at->state = 'c';
        else {
            fclose(f);
            return s_die(DN_EPARSE, "%s:%d: neither an event id, 'unknown' nor 'failed'",
                         path, lineno);
        }
        if (s_parse_tag(line + skip, at->tag) != 0) {
            fclose(f);
            return s_die(DN_EPARSE, "%s:%d: no 'KIND KEY=VALUE' after '%s'", path, lineno,
                         first);
        }
        self->n_attempts++;
    }
    fclose(f);
    return 0;
}

/* -- reading the server -------------------------------------------------------- */

/*  Copies central.db, read-only and consistent, into the snapshot folder.  */
static int s_snapshot(s_check_t *self)
{
    sqlite3 *src, *dst = NULL;
    sqlite3_backup *backup;
    int rc;

    snprintf(self->tmp, sizeof self->tmp, "%s/dn-check.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(self->tmp))
        return s_die(DN_EIO, "cannot make a temporary folder: %s", strerror(errno));
    snprintf(self->snapshot, sizeof self->snapshot, "%s/central.db", self->tmp);
    if (s_open_ro(self->central, &src))
        return DN_EDB;
    self->server_integrity_ok = s_integrity(src);
    if (sqlite3_open(self->snapshot, &dst) != SQLITE_OK) {
        sqlite3_close(src);
        sqlite3_close(dst);
        return s_die(DN_EDB, "cannot create %s", self->snapshot);
    }
    backup = sqlite3_backup_init(dst, "main", src, "main");
    rc = backup && sqlite3_backup_step(backup, -1) == SQLITE_DONE ? 0 : DN_EDB;
    if (backup)
        sqlite3_backup_finish(backup);
    if (rc)
        s_die(0, "cannot copy %s: %s", self->central, sqlite3_errmsg(dst));
    sqlite3_close(dst);
    sqlite3_close(src);
    return rc;
}

static int s_agent_of_site(const s_check_t *self, const char *site)
{
    for (int i = 0; i < self->n_agents; i++)
        if (strcmp(self->agents[i].site, site) == 0)
            return i;
    return -1;
}

static int s_read_server(s_check_t *self, sqlite3 *db)
{
    sqlite3_stmt *stmt;
    size_t cap = 0;
    int rc = 0;

    if (dn_db_prepare(db,
                      "SELECT e.eid, e.id, s.code, e.seq, e.hash, e.body, e.received_ms "
                      "FROM events e JOIN sites s ON s.id = e.site_id ORDER BY e.eid",
                      &stmt))
        return DN_EDB;
    while (rc == 0 && sqlite3_step(stmt) == SQLITE_ROW) {
        s_event_t *e;
        Dealernet__Event *ev = NULL;
        char why[DN_WHY_SIZE];
        size_t len = (size_t)sqlite3_column_bytes(stmt, 5);
        if (self->n_server == cap) {
            cap = cap ? cap * 2 : 1024;
            e = realloc(self->server, cap * sizeof *e);
            if (!e) {
                rc = DN_ENOMEM;
                break;
            }
            self->server = e;
        }
        e = &self->server[self->n_server++];
        memset(e, 0, sizeof *e);
        e->eid = sqlite3_column_int64(stmt, 0);
        if (sqlite3_column_bytes(stmt, 1) == DN_ID_BYTES)
            memcpy(e->id, sqlite3_column_blob(stmt, 1), DN_ID_BYTES);
        e->agent = s_agent_of_site(self, (const char *)sqlite3_column_text(stmt, 2));
        e->seq = (uint64_t)sqlite3_column_int64(stmt, 3);
        if (sqlite3_column_bytes(stmt, 4) == DN_HASH_BYTES)
            memcpy(e->hash, sqlite3_column_blob(stmt, 4), DN_HASH_BYTES);
        e->received_ms = sqlite3_column_int64(stmt, 6);
        snprintf(e->tag, sizeof e->tag, "undecodable");
        if (dn_wire_event_unpack(sqlite3_column_blob(stmt, 5), len, &ev, why,
                                 sizeof why) == 0) {
            s_tag(ev, e->tag);
            dn_wire_event_free(&ev);
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}

static long s_count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt;
    long n = -1;
    if (dn_db_prepare(db, sql, &stmt))
        return -1;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/* -- the figures ------------------------------------------------------------ */

/*  Server events with the given agent and tag.  */
static size_t s_server_with_tag(const s_check_t *self, int agent, const char *tag)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_server; i++)
        if (self->server[i].agent == agent && strcmp(self->server[i].tag, tag) == 0)
            n++;
    return n;
}

static size_t s_agent_with_tag(const s_agent_t *a, const char *tag, s_event_t **found)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->events[i].tag, tag) == 0) {
            if (found && !n)
                *found = &a->events[i];
            n++;
        }
    return n;
}

static int s_figures(s_check_t *self, sqlite3 *db)
{
    s_index_t server = {0}, agents = {0};
    char id[DN_ID_TEXT_SIZE];
    int rc = 0;

    for (size_t i = 0; i < self->n_server && rc == 0; i++)
        rc = s_index_add(&server, &self->server[i]);
    for (int a = 0; a < self->n_agents && rc == 0; a++)
        for (size_t i = 0; i < self->agents[a].n && rc == 0; i++)
            rc = s_index_add(&agents, &self->agents[a].events[i]);
    if (rc)
        goto out;
    s_index_sort(&server);
    s_index_sort(&agents);

    /* Duplicated on the server: ids, (site, seq), sale rows.  */
    for (size_t i = 0; i < server.n;) {
        size_t first, n;
        s_index_find(&server, server.v[i]->id, &first, &n);
        if (n > 1) {
            dn_id_format(server.v[i]->id, id);
            s_detail(self, S_DUP, "duplicated: event %s stored %zu times", id, n);
            self->duplicated += (long)n - 1;
        }
        i = first + n;
    }
    long extra = s_count(db, "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n "
                             "FROM events GROUP BY site_id, seq HAVING n > 1)");
    if (extra > 0)
        s_detail(self, S_DUP,
                 "duplicated: %ld extra events with a (site, seq) stored before", extra);
    self->duplicated += extra > 0 ? extra : 0;
    extra = s_count(db, "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n "
                        "FROM sales GROUP BY eid HAVING n > 1)");
    if (extra > 0)
        s_detail(self, S_DUP, "duplicated: %ld extra sale rows for one event", extra);
    self->duplicated += extra > 0 ? extra : 0;
    extra =
        s_count(db, "SELECT count(*) FROM sales s LEFT JOIN events e ON e.eid = s.eid "
                    "WHERE e.eid IS NULL OR e.kind <> 'sale'");
    if (extra > 0) {
        s_detail(self, S_UNEXPECTED, "unexpected: %ld sale rows without a sale event",
                 extra);
        self->unexpected += extra;
    }

    /* Unexpected on the server: no agent holds that id with those bytes.  */
    for (size_t i = 0; i < self->n_server; i++) {
        s_event_t *e = &self->server[i];
        size_t first, n;
        s_index_find(&agents, e->id, &first, &n);
        dn_id_format(e->id, id);
        if (n == 0) {
            s_detail(self, S_UNEXPECTED, "unexpected: event %s (%s) is in no agent.db",
                     id, e->tag);
            self->unexpected++;
            continue;
        }
        s_event_t *mine = agents.v[first];
        if (mine->agent != e->agent || mine->seq != e->seq ||
            memcmp(mine->hash, e->hash, DN_HASH_BYTES) != 0) {
            s_detail(
                self, S_UNEXPECTED,
                "unexpected: event %s is stored as site seq %llu with other bytes than "
                "the agent recorded",
                id, (unsigned long long)e->seq);
            self->unexpected++;
            continue;
        }
        if (mine->eid == DN_CHECK_NOT_STORED) {
            mine->eid = e->eid;
            mine->received_ms = e->received_ms;
        }
    }

    /* The client's view.  */
    for (size_t k = 0; k < self->n_attempts; k++) {
        s_attempt_t *at = &self->attempts[k];
        s_agent_t *a = &self->agents[at->agent];
        size_t on_server = s_server_with_tag(self, at->agent, at->tag);
        s_event_t *recorded = NULL;
        size_t in_agent = s_agent_with_tag(a, at->tag, &recorded);

        if (on_server > 1) {
            s_detail(self, S_DUP, "duplicated: %s of %s is on the server %zu times",
                     at->tag, a->site, on_server);
            self->duplicated += (long)on_server - 1;
        }
        if (in_agent > 1) {
            s_detail(self, S_DUP, "duplicated: %s is in %s's agent.db %zu times", at->tag,
                     a->site, in_agent);
            self->duplicated += (long)in_agent - 1;
        }
        if (at->state == 'c') {
            size_t first, n;
            self->confirmed++;
            dn_id_format(at->id, id);
            s_index_find(&agents, at->id, &first, &n);
            if (n == 0 && recorded &&
                memcmp(recorded->member_id, at->id, DN_ID_BYTES) == 0) {
                /* `member add` prints the member's id, not its event's */
                s_index_find(&agents, recorded->id, &first, &n);
            }
            if (n == 0 || agents.v[first]->agent != at->agent ||
                strcmp(agents.v[first]->tag, at->tag) != 0) {
                s_detail(self, S_LOST,
                         "lost: confirmed %s (%s) is not in %s's agent.db as such", id,
                         at->tag, a->site);
                self->lost++;
                continue;
            }
            if (agents.v[first]->eid == DN_CHECK_NOT_STORED) {
                s_detail(self, S_LOST,
                         "lost: confirmed %s (%s) of %s is not on the server", id,
                         at->tag, a->site);
                self->lost++;
                agents.v[first]->counted = 1;
            }
        } else if (at->state == 'u') {
            self->unknown++;
            if (on_server == 1)
                self->recovered++;
            else if (on_server == 0)
                self->unknown_absent++;
        } else if (on_server > 0) {
            s_detail(self, S_UNEXPECTED,
                     "unexpected: %s of %s failed, yet is on the server", at->tag,
                     a->site);
            self->unexpected += (long)on_server;
        }
    }

    /* Committed at an agent, absent on the server: lost as well.  */
    for (int a = 0; a < self->n_agents; a++)
        for (size_t i = 0; i < self->agents[a].n; i++) {
            s_event_t *e = &self->agents[a].events[i];
            if (e->eid != DN_CHECK_NOT_STORED || e->counted)
                continue;
            s_detail(self, S_LOST, "lost: %s seq %llu (%s) is not on the server%s",
                     self->agents[a].site, (unsigned long long)e->seq, e->tag,
                     e->synced ? ", though the agent holds it acknowledged" : "");
            self->lost++;
        }
out:
    free(server.v);
    free(agents.v);
    return rc;
}

/* -- the ledger --------------------------------------------------------------- */

static int s_verify(s_check_t *self)
{
    json_t *out = NULL, *diffs;
    int rc = dn_verify_run(self->snapshot, &out, NULL, 0);
    if (rc && rc != DN_ECHAIN) {
        json_decref(out);
        return s_die(rc, "dn_verify_run failed: %s", dn_strerror(rc));
    }
    diffs = json_object_get(out, "differences");
    self->verify_diffs = (long)json_array_size(diffs);
    self->verify_events = (long)json_integer_value(json_object_get(out, "events"));
    for (size_t i = 0; i < json_array_size(diffs); i++)
        s_detail(self, S_LEDGER, "ledger: verify: %s",
                 json_string_value(json_array_get(diffs, i)));
    json_decref(out);
    return 0;
}

/*  The order of the clean replay: the order the server stored the events
    in, then whatever it never stored, each site in seq order.  */
static s_event_t *s_next_replay(s_check_t *self, size_t *cursor)
{
    int best = -1;
    int64_t best_eid = 0;
    for (int a = 0; a < self->n_agents; a++) {
        s_agent_t *ag = &self->agents[a];
        if (cursor[a] >= ag->n)
            continue;
        int64_t eid = ag->events[cursor[a]].eid;
        if (best < 0 || eid < best_eid) {
            best = a;
            best_eid = eid;
        }
    }
    if (best < 0)
        return NULL;
    return &self->agents[best].events[cursor[best]++];
}

/*  Applies one agent event to the replay database, as a batch of one
    event signed with the site's key.  */
static int s_replay_one(s_check_t *self, dn_ingest_t *ingest, sqlite3 *db,
                        dn_key_t **keys, s_event_t *e)
{
    s_agent_t *a = &self->agents[e->agent];
    Dealernet__PushBatch push = DEALERNET__PUSH_BATCH__INIT;
    ProtobufCBinaryData body = {e->len, e->body};
    uint8_t signed_bytes[DN_BATCH_SIGNED_MAX], sig[DN_SIG_BYTES];
    dn_registry_site_t site;
    dn_ingest_result_t result;
    size_t n;
    int rc;

    if (!keys[e->agent]) {
        char path[4200];
        snprintf(path, sizeof path, "%s/site.key", a->dir);
        if (!(keys[e->agent] = dn_key_load(path)))
            return s_die(DN_EIO, "cannot read %s", path);
    }
    if ((rc = dn_registry_site_get(db, a->site, &site)) != 0)
        return s_die(rc, "site %s is not on the server", a->site);
    n = dn_wire_batch_signed(a->site, e->seq, e->hash, signed_bytes);
    if ((rc = dn_key_sign(keys[e->agent], signed_bytes, n, sig)) != 0)
        return rc;
    push.has_first_seq = 1;
    push.first_seq = e->seq;
    push.n_events = 1;
    push.events = &body;
    push.has_chain_head = 1;
    push.chain_head.data = e->hash;
    push.chain_head.len = DN_HASH_BYTES;
    push.has_signature = 1;
    push.signature.data = sig;
    push.signature.len = DN_SIG_BYTES;
    if (dn_db_exec(db, "SAVEPOINT one"))
        return DN_EDB;
    /* Posted when the server posted it (partners earn only from their
       creation on); an event the server never stored, now.  */
    rc = dn_ingest_batch(
        ingest, &site, &push,
        e->eid == DN_CHECK_NOT_STORED ? dn_time_now_ms() : e->received_ms, &result);
    if (rc == DN_EPROTO) {
        dn_db_exec(db, "ROLLBACK TO one");
        s_detail(self, S_LEDGER, "ledger: the replay refused %s seq %llu: %s", a->site,
                 (unsigned long long)e->seq, result.why);
        self->replay_refused++;
        rc = 0;
    }
    dn_db_exec(db, "RELEASE one");
    return rc;
}

/*  The multiset of transfers of a database, one text key each.  */
#define S_TRANSFER_KEYS(schema)                                                          \
    "SELECT d.name || '>' || c.name || ' ' || t.amount || ' ' || t.code || ' ' || "      \
    "coalesce(hex(se.id), '-') || ' ' || coalesce(hex(sa.id), '-') || ' ' || "           \
    "coalesce(t.level, '-') || ' ' || coalesce(t.rate_bps, '-') || ' ' || "              \
    "coalesce(t.category, '-') || ' ' || t.bonus AS k FROM " schema ".transfers t "      \
    "JOIN " schema ".accounts d ON d.id = t.debit JOIN " schema ".accounts c ON c.id = " \
    "t.credit LEFT JOIN " schema ".events se ON se.eid = t.source_eid LEFT JOIN " schema \
    ".events sa ON sa.eid = t.sale_eid"

/*  Transfer keys stored more often (n > 0) or less (n < 0) than replayed.  */
/* clang-format off */
static const char s_transfer_diff_sql[] =
    "SELECT k, sum(n) FROM (SELECT k, 1 AS n FROM (" S_TRANSFER_KEYS("src") ") "
    "UNION ALL SELECT k, -1 FROM (" S_TRANSFER_KEYS("main") ")) "
    "GROUP BY k HAVING sum(n) <> 0";
/* clang-format on */

static int s_replay(s_check_t *self)
{
    char dir[4200], path[4300], sql[4600];
    sqlite3 *db = NULL;
    dn_ingest_t *ingest = NULL;
    dn_key_t *keys[DN_CHECK_MAX_AGENTS] = {0};
    size_t cursor[DN_CHECK_MAX_AGENTS] = {0};
    sqlite3_stmt *stmt;
    s_event_t *e;
    int rc;

    snprintf(dir, sizeof dir, "%s/replay", self->tmp);
    if (mkdir(dir, 0700) != 0)
        return s_die(DN_EIO, "cannot make %s", dir);
    if ((rc = dn_central_open(dir, DN_DB_CREATE, &db)) != 0)
        return s_die(rc, "cannot create the replay database in %s", dir);
    snprintf(path, sizeof path, "%s", self->snapshot);
    snprintf(sql, sizeof sql, "ATTACH '%s' AS src", path);
    rc = dn_db_exec(db, "PRAGMA foreign_keys = OFF");
    if (rc == 0)
        rc = dn_db_exec(db, sql);
    /* The same tree, plans, periods and sites; none of the sync state.  */
    if (rc == 0)
        rc = dn_db_exec(
            db,
            "BEGIN;"
            "INSERT INTO partners SELECT * FROM src.partners;"
            "INSERT INTO partner_links SELECT * FROM src.partner_links;"
            "INSERT INTO partner_status SELECT * FROM src.partner_status;"
            "INSERT INTO plans SELECT * FROM src.plans;"
            "INSERT INTO plan_rates SELECT * FROM src.plan_rates;"
            "INSERT INTO periods SELECT * FROM src.periods;"
            "INSERT INTO sites(id, code, partner_id, created_ms, curve_key, sign_key, "
            "  enrolled_ms, revoked_ms) SELECT id, code, partner_id, created_ms, "
            "  curve_key, sign_key, enrolled_ms, revoked_ms FROM src.sites;"
            "COMMIT;");
    if (rc == 0)
        rc = dn_db_exec(db, "PRAGMA foreign_keys = ON");
    if (rc == 0 && !(ingest = dn_ingest_new(db)))
        rc = DN_ENOMEM;
    if (rc == 0)
        rc = dn_db_begin(db);
    while (rc == 0 && (e = s_next_replay(self, cursor)) != NULL)
        rc = s_replay_one(self, ingest, db, keys, e);
    if (rc == 0)
        rc = dn_db_commit(db);
    dn_ingest_destroy(&ingest);
    for (int a = 0; a < self->n_agents; a++)
        dn_key_destroy(&keys[a]);
    if (rc) {
        sqlite3_close(db);
        return s_die(rc, "the replay failed: %s", dn_strerror(rc));
    }

    /* Transfers: the symmetric difference of the two multisets.  */
    self->stored_transfers = s_count(db, "SELECT count(*) FROM src.transfers");
    self->replay_transfers = s_count(db, "SELECT count(*) FROM main.transfers");
    if (dn_db_prepare(db, s_transfer_diff_sql, &stmt) == 0) {
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            long n = (long)sqlite3_column_int64(stmt, 1);
            s_detail(self, S_LEDGER, "ledger: transfer %s: %ld more stored than replayed",
                     sqlite3_column_text(stmt, 0), n);
            self->replay_transfer_diffs += n < 0 ? -n : n;
        }
        sqlite3_finalize(stmt);
    } else {
        rc = DN_EDB;
    }
    /* Balances, by account name.  */
    if (rc == 0 &&
        dn_db_prepare(
            db,
            "SELECT name, sum(b) AS d, count(*) FROM (SELECT name, balance AS b FROM "
            "src.accounts UNION ALL SELECT name, -balance FROM main.accounts) "
            "GROUP BY name",
            &stmt) == 0) {
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            long long d = sqlite3_column_int64(stmt, 1);
            self->accounts++;
            if (d == 0)
                continue;
            s_detail(self, S_LEDGER,
                     "ledger: account %s: stored balance is %+lld off the "
                     "replay's",
                     sqlite3_column_text(stmt, 0), d);
            self->replay_balance_diffs++;
            self->balance_abs_diff += d < 0 ? -d : d;
        }
        sqlite3_finalize(stmt);
    } else if (rc == 0) {
        rc = DN_EDB;
    }
    sqlite3_close(db);
    return rc;
}

/* -- main ---------------------------------------------------------------------- */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: dn_check --central FILE (--agent DIR [--log FILE])...\n\n"
            "Checks, after a final drain, that the server holds every event the agents\n"
            "recorded, once, nothing else, and a ledger that a clean replay reproduces.\n"
            "Each --log is the client log of the --agent before it.  Prints\n"
            "  check: confirmed N, lost N, duplicated N, unexpected N, recovered N, "
            "ledger delta N\n"
            "and exits 0 only when lost, duplicated, unexpected and delta are 0, every\n"
            "agent is drained with an intact chain and both databases pass\n"
            "integrity_check.\n");
}

static void s_cleanup(s_check_t *self)
{
    if (self->tmp[0]) {
        char path[4300];
        const char *files[] = {"central.db",
                               "central.db-wal",
                               "central.db-shm",
                               "central.db-journal",
                               "replay/central.db",
                               "replay/central.db-wal",
                               "replay/central.db-shm",
                               "replay/central.db-journal"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(path, sizeof path, "%s/%s", self->tmp, files[i]);
            unlink(path);
        }
        snprintf(path, sizeof path, "%s/replay", self->tmp);
        rmdir(path);
        rmdir(self->tmp);
    }
    for (int a = 0; a < self->n_agents; a++) {
        for (size_t i = 0; i < self->agents[a].n; i++)
            free(self->agents[a].events[i].body);
        free(self->agents[a].events);
    }
    free(self->server);
    free(self->attempts);
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"central", required_argument, NULL, 'c'},
                                          {"agent", required_argument, NULL, 'a'},
                                          {"log", required_argument, NULL, 'l'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    static s_check_t self;
    sqlite3 *db = NULL;
    long delta, agents_bad = 0;
    uint64_t agent_events = 0, pending = 0;
    int c, rc = 0, ok;

    dn_log_init("dn_check", DN_LOG_WARN, 0);
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (c == 'c') {
            self.central = optarg;
        } else if (c == 'a') {
            if (self.n_agents == DN_CHECK_MAX_AGENTS)
                return s_die(EX_USAGE, "at most %d agents", DN_CHECK_MAX_AGENTS);
            self.agents[self.n_agents++].dir = optarg;
        } else if (c == 'l') {
            if (self.n_agents == 0)
                return s_die(EX_USAGE, "--log belongs to the --agent before it");
            self.agents[self.n_agents - 1].log = optarg;
        } else if (c == 'h') {
            s_usage(stdout);
            return 0;
        } else {
            s_usage(stderr);
            return EX_USAGE;
        }
    }
    if (!self.central || self.n_agents == 0 || optind < argc) {
        s_usage(stderr);
        return EX_USAGE;
    }

    for (int a = 0; a < self.n_agents && rc == 0; a++) {
        rc = s_read_agent(&self.agents[a], a);
        if (rc == 0)
            rc = s_read_log(&self, a);
    }
    if (rc == 0)
        rc = s_snapshot(&self);
    if (rc == 0 && s_open_ro(self.snapshot, &db))
        rc = DN_EDB;
    if (rc == 0)
        rc = s_read_server(&self, db);
    if (rc == 0)
        rc = s_figures(&self, db);
    sqlite3_close(db);
    if (rc == 0)
        rc = s_verify(&self);
    if (rc == 0)
        rc = s_replay(&self);
    if (rc) {
        s_cleanup(&self);
        return s_die(EX_SOFTWARE, "cannot check: %s", dn_strerror(rc));
    }

    for (int a = 0; a < self.n_agents; a++) {
        s_agent_t *ag = &self.agents[a];
        agent_events += ag->n;
        pending += ag->pending;
        if (!ag->chain_ok || !ag->integrity_ok || ag->pending) {
            agents_bad++;
            s_detail(&self, S_AGENT, "agent %s (%s): %s%s%llu pending", ag->site, ag->dir,
                     ag->chain_ok ? "" : ag->chain_why,
                     ag->integrity_ok ? "" : " integrity_check failed",
                     (unsigned long long)ag->pending);
        }
    }
    if (!self.server_integrity_ok)
        s_detail(&self, S_AGENT, "central.db fails integrity_check");
    delta = self.verify_diffs + self.replay_transfer_diffs + self.replay_balance_diffs +
            self.replay_refused;

    printf(
        "check: %d agents, %llu events, %llu pending, %ld with a broken chain, pending "
        "events or a bad file; server %zu events, integrity %s\n",
        self.n_agents, (unsigned long long)agent_events, (unsigned long long)pending,
        agents_bad, self.n_server, self.server_integrity_ok ? "ok" : "FAILED");
    printf(
        "check: %ld outcomes unknown to the client: %ld recovered, %ld never committed\n",
        self.unknown, self.recovered, self.unknown_absent);
    printf("check: ledger: verify %ld differences (%ld events, %ld transfers); clean "
           "replay: "
           "%ld transfers, %ld differ; %ld accounts, %ld balances differ (%lld minor "
           "units)\n",
           self.verify_diffs, self.verify_events, self.stored_transfers,
           self.replay_transfers, self.replay_transfer_diffs + self.replay_refused,
           self.accounts, self.replay_balance_diffs, self.balance_abs_diff);
    printf(
        "check: confirmed %ld, lost %ld, duplicated %ld, unexpected %ld, recovered %ld, "
        "ledger delta %ld\n",
        self.confirmed, self.lost, self.duplicated, self.unexpected, self.recovered,
        delta);
    ok = self.lost == 0 && self.duplicated == 0 && self.unexpected == 0 && delta == 0 &&
         agents_bad == 0 && self.server_integrity_ok;
    s_cleanup(&self);
    return ok ? 0 : 1;
}

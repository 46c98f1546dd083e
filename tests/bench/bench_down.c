/*  bench_down -- HQ's catalogue pushed to 1,000 sites at once, and what
    that does to the upload of sales (issue 14: the downstream channel
    must never block or slow the upload).

    One dealernet-server over loopback with CurveZMQ; HQ imports a
    10,000-SKU catalogue with Chinese names through `dealernet-hq catalog
    import` (the network's price list, one row a SKU).  Then, timed:

    1. Upload alone: 10 sites each push 15,000 signed sales in batches of
       500 (the Welcome's window in flight), nothing else running.
    2. The same upload by 10 other sites while 1,000 sites that hold no
       catalogue connect at once and pull it: Hello (protocol 2), Welcome
       (the down key, pinned), Pull, DownReply, Pull ... until no Down
       says more.  Each site checks every Down as the agent does before it
       applies one: the stream, from_version and scope against what it
       holds (or reset), the signature by the pinned down key over
       dn_wire_down_signed's bytes.  It applies nothing -- applying is the
       agent's cost, not the server's -- but counts the items, and site 0
       unpacks every item and checks it is the catalogue row HQ imported.

    The upload runs in its own process and the 1,000 sites in this one, so
    neither waits for the other's client-side work.  The two upload rates
    are measured over the same span from their start: the shortest of the
    two uploads and the push, so that the rate "during the push" is one
    the push overlapped throughout.  Prints both rates and their ratio
    (target >= 0.8), the push's wall time (the last site holding the whole
    catalogue; and the median site), the DownReplies' bytes, the Downs the
    server's cache of signed chunks served (its log line at stop), the
    server's peak resident memory (VmHWM) before and after the push, and
    the CPU seconds of the server, the 1,000 sites and the upload: on a
    2-core machine they share the cores.

    Needs the server and hq binaries: DN_BIN (default "bin") names their
    folder.
*/
#include "dn_benchkit.h"
#include "dn_central.h"
#include "dn_crypto.h"
#include "dn_curve.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_plan.h"
#include "dn_protocol.h"
#include "dn_registry.h"
#include "dn_server.h"
#include "dn_testkit.h"
#include "dn_wire.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define DN_DOWN_SKUS       10000
#define DN_DOWN_SITES      1000 /* pulling the catalogue */
#define DN_DOWN_DEALERS    10   /* the pulling sites are spread over them */
#define DN_DOWN_UPLOADERS  10   /* sites uploading, in each of the two runs */
#define DN_DOWN_UP_BATCHES 30   /* batches each uploader pushes */
#define DN_DOWN_UP_BATCH   DN_MAX_BATCH_EVENTS
#define DN_DOWN_UP_EVENTS  (DN_DOWN_UP_BATCHES * DN_DOWN_UP_BATCH) /* per uploader */
#define DN_DOWN_TIMEOUT_S  100.0
#define DN_DOWN_TARGET     0.8
#define DN_DOWN_T0         1772323200000LL /* 2026-03-01T00:00:00Z: the sales */
#define DN_DOWN_NET_SITES  1  /* 127.0.1.x .. 127.0.4.x: the pulling sites */
#define DN_DOWN_NET_UP     10 /* 127.0.10.x, 127.0.11.x: the two uploads */

/*  A plan, because the catalogue's prices are in the plan's currency.  */
static const char *s_plan = "[plan]\neffective = 2026-01-01\ncurrency = CNY\ncap_bps = 1500\n"
                            "[levels]\n0 = 800\n1 = 300\n2 = 100\n";

/*  The words of the catalogue's names: SKU n is word n % 10, size n / 10 %
    4 and its number, so that every name differs and all are Chinese.  */
static const char *const s_words[] = {"东北大米", "花生油", "生抽酱油", "龙井绿茶", "鸡蛋挂面",
                                      "黄小米",   "绵白糖", "山西陈醋", "精制食盐", "红枣"};
static const char *const s_cats[] = {"rice", "oil",    "sauce", "tea", "noodle",
                                     "grain", "sugar", "sauce", "salt", "fruit"};
static const char *const s_sizes[] = {"500克", "1千克", "2.5千克", "5千克"};

typedef struct {
    dn_tk_site_t *tk;
    dn_curve_pair_t curve;
    uint8_t *push[DN_DOWN_UP_BATCHES]; /* packed SyncMessages, one a batch */
    size_t push_len[DN_DOWN_UP_BATCHES];
    void *sock;
    size_t window;    /* batches in flight: the Welcome's */
    size_t sent;      /* batches sent */
    uint64_t acked;   /* acked_through */
    int state;        /* 0 waiting for the Welcome, 1 pushing, 2 done */
} s_uploader_t;

typedef struct {
    dn_tk_site_t *tk;
    dn_curve_pair_t curve;
    void *sock;
    int state;        /* 0 waiting for the Welcome, 1 pulling, 2 done */
    uint64_t version; /* of the catalogue, held */
    uint8_t scope[DN_DOWN_SCOPE_MAX];
    size_t scope_len;
    size_t items;     /* received and verified */
    double done_at;
} s_site_t;

/*  One ack of an upload: when, and the events acked by then (all sites).  */
typedef struct {
    double t;
    int64_t events;
} s_point_t;

#define DN_DOWN_POINTS (DN_DOWN_UPLOADERS * DN_DOWN_UP_BATCHES + 1)

static s_uploader_t s_up[2][DN_DOWN_UPLOADERS];
static s_site_t s_sites[DN_DOWN_SITES];
static uint8_t s_down_key[DN_PUBKEY_BYTES];
static int s_have_down_key;
static unsigned char s_seen[DN_DOWN_SKUS]; /* site 0: each SKU's row arrived once */

static pid_t s_main = -1, s_server = -1; /* this program's process, the server's */

/*  Ends the run: in the main process, stops the server first.  */
static void s_die(const char *what)
{
    fprintf(stderr, "bench_down: %s\n", what);
    if (getpid() == s_main && s_server > 0) {
        kill(s_server, SIGTERM);
        waitpid(s_server, NULL, 0);
    }
    exit(1);
}

/*  SKU n's price, in fen: 1.00 to 200.99 CNY.  */
static int64_t s_price(int n)
{
    return 100 + (int64_t)n * 7919 % 20000;
}

static void s_name(int n, char *buf, size_t size)
{
    snprintf(buf, size, "%s %s %05d", s_words[n % 10], s_sizes[n / 10 % 4], n);
}

/*  The catalogue HQ imports: a header and DN_DOWN_SKUS rows.  */
static void s_write_catalog(const char *path)
{
    FILE *f = fopen(path, "w");
    char name[128];
    if (!f)
        s_die("cannot write the catalogue file");
    fprintf(f, "sku,name,category,price,effective\n");
    for (int n = 0; n < DN_DOWN_SKUS; n++) {
        s_name(n, name, sizeof name);
        fprintf(f, "SKU%05d,%s,%s,%lld.%02lld,2026-01-01\n", n, name, s_cats[n % 10],
                (long long)(s_price(n) / 100), (long long)(s_price(n) % 100));
    }
    if (fclose(f) != 0)
        s_die("cannot write the catalogue file");
}

/*  Builds an uploader's batches of signed sales.  */
static void s_build(s_uploader_t *up, int n)
{
    char why[DN_WHY_SIZE] = "sale lines";
    for (int b = 0; b < DN_DOWN_UP_BATCHES; b++) {
        dn_tk_batch_t batch;
        for (int i = 0; i < DN_DOWN_UP_BATCH; i++) {
            dn_tk_line_t line = {"SKU00001", 1 + i % 4, s_price(1), NULL};
            dn_tk_event_t e;
            int64_t at = DN_DOWN_T0 + (int64_t)n * 100000 + b * DN_DOWN_UP_BATCH + i;
            if (dn_tk_sale(&e, "D01", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, &line, 1) ||
                dn_tk_record(up->tk, &e.ev, at, NULL, why, sizeof why))
                s_die(why);
        }
        if (dn_tk_batch(up->tk, &batch) ||
            dn_tk_batch_pack(&batch, &up->push[b], &up->push_len[b], why, sizeof why))
            s_die("cannot sign or pack a batch");
        dn_tk_batch_free(&batch);
    }
}

/*  The upload in progress (one per process): its sites, the acks' points.  */
static s_uploader_t *s_ups;
static s_point_t s_points[DN_DOWN_POINTS];
static size_t s_n_points = 1;
static int s_ups_done, s_ups_failed;

static void *s_up_waiting(void *arg, int i)
{
    (void)arg;
    return s_ups[i].state < 2 ? s_ups[i].sock : NULL;
}

/*  A reply to uploader i: the Welcome sets the window, an ack records a
    point; then window batches are kept in flight (sent, less acked).  */
static void s_up_reply(void *arg, int i, const Dealernet__SyncMessage *reply, size_t len)
{
    s_uploader_t *up = &s_ups[i];
    (void)arg;
    (void)len;
    if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED) {
        fprintf(stderr, "bench_down: %s refused: %s\n", up->tk->code, reply->refused->text);
        up->state = 2;
        s_ups_failed = 1;
        s_ups_done++;
    } else if (up->state == 0 && reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_WELCOME) {
        up->window = reply->welcome->has_window && reply->welcome->window > 0
                         ? reply->welcome->window
                         : 1;
        up->state = 1;
    } else if (up->state == 1 && reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_ACK &&
               s_n_points < DN_DOWN_POINTS) {
        s_points[s_n_points].t = dn_bk_now();
        s_points[s_n_points].events = s_points[s_n_points - 1].events +
                                      (int64_t)(reply->ack->acked_through - up->acked);
        s_n_points++;
        up->acked = reply->ack->acked_through;
        if (up->acked == DN_DOWN_UP_EVENTS) {
            up->state = 2;
            s_ups_done++;
        }
    }
    while (up->state == 1 && up->sent < DN_DOWN_UP_BATCHES &&
           up->sent - up->acked / DN_DOWN_UP_BATCH < up->window) {
        zmq_send(up->sock, up->push[up->sent], up->push_len[up->sent], 0);
        up->sent++;
    }
}

/*  One upload (run in a child process): the uploaders connect, say Hello,
    push every batch with the Welcome's window in flight and wait for the
    last ack.  Waits for a byte on go first when go >= 0.  Writes the start
    time and each ack's point to out.  Returns the exit status.  */
static int s_upload(s_uploader_t *ups, int net, const char *key, const char *sync_ep, int go,
                    int out)
{
    zmq_pollitem_t items[DN_DOWN_UPLOADERS];
    size_t size;
    char byte;
    void *ctx = zmq_ctx_new();
    if (go >= 0 && read(go, &byte, 1) != 1)
        return 1;
    s_ups = ups;
    s_points[0].t = dn_bk_now();
    for (int i = 0; i < DN_DOWN_UPLOADERS; i++) {
        if (!(ups[i].sock = dn_bk_dealer(ctx, key, &ups[i].curve, sync_ep, net, i)) ||
            dn_bk_hello(ups[i].sock, DN_PROTOCOL_VERSION, DN_DOWN_UP_EVENTS, DN_DOWN_UP_EVENTS))
            return 1;
    }
    while (s_ups_done < DN_DOWN_UPLOADERS && dn_bk_now() - s_points[0].t < DN_DOWN_TIMEOUT_S)
        dn_bk_poll(items, DN_DOWN_UPLOADERS, s_up_waiting, s_up_reply, NULL, 1000);
    for (int i = 0; i < DN_DOWN_UPLOADERS; i++)
        zmq_close(ups[i].sock);
    zmq_ctx_term(ctx);
    if (s_ups_done < DN_DOWN_UPLOADERS || s_ups_failed)
        return 1;
    size = s_n_points * sizeof *s_points;
    return write(out, s_points, size) == (ssize_t)size ? 0 : 1;
}

/*  Sends site's Pull: the catalogue, at the version and scope it holds.  */
static void s_pull(s_site_t *site)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Pull pull = DEALERNET__PULL__INIT;
    Dealernet__StreamHolds hold = DEALERNET__STREAM_HOLDS__INIT, *holds[1] = {&hold};
    uint8_t *buf;
    size_t len;
    char why[DN_WHY_SIZE];
    hold.has_stream = hold.has_version = 1;
    hold.stream = DEALERNET__STREAM__STREAM_CATALOG;
    hold.version = site->version;
    if (site->version && site->scope_len) {
        hold.has_scope = 1;
        hold.scope.data = site->scope;
        hold.scope.len = site->scope_len;
    }
    pull.n_holds = 1;
    pull.holds = holds;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_PULL;
    msg.pull = &pull;
    if (dn_wire_sync_pack(&msg, &buf, &len, why, sizeof why))
        s_die(why);
    zmq_send(site->sock, buf, len, 0);
    free(buf);
}

/*  Site 0 unpacks an item: it must be SKU n's row as HQ imported it, and
    arrive once.  */
static void s_check_item(const ProtobufCBinaryData *bytes)
{
    Dealernet__DownItem *item;
    char why[DN_WHY_SIZE], name[128];
    int n;
    if (dn_wire_down_item_unpack(DEALERNET__STREAM__STREAM_CATALOG, bytes->data, bytes->len,
                                 &item, why, sizeof why))
        s_die(why);
    const Dealernet__CatalogItem *c = item->catalog;
    if (item->body_case != DEALERNET__DOWN_ITEM__BODY_CATALOG || !c->sku ||
        sscanf(c->sku, "SKU%5d", &n) != 1 || n < 0 || n >= DN_DOWN_SKUS || s_seen[n]++)
        s_die("site 0 received an item that is not a catalogue row, or one twice");
    s_name(n, name, sizeof name);
    if (!c->name || strcmp(c->name, name) != 0 || c->price != s_price(n) || c->removed)
        s_die("site 0 received a catalogue row that is not the one HQ imported");
    dn_wire_down_item_free(&item);
}

/*  Checks a DownReply as the agent does before applying it, counts its
    items (site 0 checks each) and sets what site holds; *more when a Down
    says more.  */
static void s_down(s_site_t *site, int n, const Dealernet__DownReply *reply, int *more)
{
    *more = 0;
    if (reply->n_downs != 1)
        s_die("a DownReply to a Pull of one stream does not hold one Down");
    const Dealernet__Down *down = reply->downs[0];
    uint8_t signed_bytes[DN_DOWN_SIGNED_MAX];
    size_t len;
    if (down->stream != DEALERNET__STREAM__STREAM_CATALOG)
        s_die("a Down of another stream than the one pulled");
    size_t scope_len = down->has_scope ? down->scope.len : 0;
    /* as agent/dn_down.c: a Down continues exactly what is held (version 0
       holds nothing, in no scope), or starts over (reset) */
    if (!down->reset &&
        (down->from_version != site->version ||
         (site->version != 0 &&
          (scope_len != site->scope_len ||
           (scope_len && memcmp(down->scope.data, site->scope, scope_len) != 0)))))
        s_die("a Down that does not apply to what the site holds");
    if (dn_wire_down_signed(down, signed_bytes, &len) ||
        dn_ed25519_verify(s_down_key, signed_bytes, len, down->signature.data) != 0)
        s_die("a Down whose signature does not verify with the pinned down key");
    if (down->reset)
        site->items = 0;
    if (n == 0)
        for (size_t i = 0; i < down->n_items; i++)
            s_check_item(&down->items[i]);
    site->items += down->n_items;
    site->version = down->to_version;
    site->scope_len = scope_len;
    if (scope_len)
        memcpy(site->scope, down->scope.data, scope_len);
    *more = down->more;
}

/*  The push in progress: its start, the sites done, the DownReplies.  */
static double s_push_start;
static int s_push_done;
static size_t s_push_bytes, s_push_replies;

static void *s_site_waiting(void *arg, int i)
{
    (void)arg;
    return s_sites[i].state < 2 ? s_sites[i].sock : NULL;
}

/*  A reply to site i: the Welcome's down key is pinned and the site
    pulls; each DownReply is checked, and the site pulls again while a
    Down says more.  */
static void s_site_reply(void *arg, int i, const Dealernet__SyncMessage *reply, size_t len)
{
    s_site_t *site = &s_sites[i];
    int more;
    (void)arg;
    if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED) {
        fprintf(stderr, "bench_down: %s refused: %s\n", site->tk->code, reply->refused->text);
        s_die("a site was refused");
    }
    if (site->state == 0 && reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_WELCOME) {
        const Dealernet__Welcome *w = reply->welcome;
        /* the agent pins the first key it sees: every Welcome must name
           the same one */
        if (!w->has_down_key || w->down_key.len != DN_PUBKEY_BYTES ||
            (s_have_down_key && memcmp(s_down_key, w->down_key.data, DN_PUBKEY_BYTES)))
            s_die("a Welcome without the server's one down key");
        memcpy(s_down_key, w->down_key.data, DN_PUBKEY_BYTES);
        s_have_down_key = 1;
        site->state = 1;
        s_pull(site);
    } else if (site->state == 1 && reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_DOWN) {
        s_down(site, i, reply->down, &more);
        s_push_bytes += len;
        s_push_replies++;
        if (more) {
            s_pull(site);
        } else {
            site->state = 2;
            site->done_at = dn_bk_now() - s_push_start;
            s_push_done++;
        }
    }
}

/*  The push: every site connects, says Hello, pins the Welcome's down key
    and pulls until it holds the whole catalogue.  Returns the wall time.  */
static double s_push(void *ctx, const char *key, const char *sync_ep)
{
    static zmq_pollitem_t items[DN_DOWN_SITES];
    s_push_start = dn_bk_now();
    for (int i = 0; i < DN_DOWN_SITES; i++) {
        s_site_t *site = &s_sites[i];
        if (!(site->sock = dn_bk_dealer(ctx, key, &site->curve, sync_ep, DN_DOWN_NET_SITES, i)) ||
            dn_bk_hello(site->sock, DN_PROTOCOL_VERSION, 0, 0))
            s_die("cannot open a socket (too many?)");
    }
    while (s_push_done < DN_DOWN_SITES) {
        if (dn_bk_now() - s_push_start > DN_DOWN_TIMEOUT_S)
            s_die("the push did not end in time");
        dn_bk_poll(items, DN_DOWN_SITES, s_site_waiting, s_site_reply, NULL, 1000);
    }
    return dn_bk_now() - s_push_start;
}

/*  Forks the upload of set `which` from address block net; go < 0: at
    once.  Returns the child's pid; its points come through *out.  */
static pid_t s_upload_start(int which, const char *key, const char *sync_ep, int go, int *out)
{
    int fds[2];
    pid_t pid;
    if (pipe(fds) != 0)
        s_die("pipe");
    if ((pid = fork()) == 0) {
        close(fds[0]);
        _exit(s_upload(s_up[which], DN_DOWN_NET_UP + which, key, sync_ep, go, fds[1]));
    }
    close(fds[1]);
    *out = fds[0];
    return pid;
}

/*  Reads an upload's points from fd and reaps its process, whose CPU
    seconds go to *cpu_s.  Returns the number of points (the first: its
    start).  */
static size_t s_upload_end(pid_t pid, int fd, s_point_t *points, double *cpu_s)
{
    struct rusage ru;
    size_t got = 0;
    ssize_t n;
    int status;
    while ((n = read(fd, (char *)points + got, DN_DOWN_POINTS * sizeof *points - got)) > 0)
        got += (size_t)n;
    close(fd);
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) ||
        got < 2 * sizeof *points || points[got / sizeof *points - 1].events !=
                                        (int64_t)DN_DOWN_UPLOADERS * DN_DOWN_UP_EVENTS)
        s_die("an upload failed");
    *cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    return got / sizeof *points;
}

/*  Events acked within span seconds of the upload's start.  */
static int64_t s_acked_within(const s_point_t *points, size_t n, double span)
{
    int64_t events = 0;
    for (size_t i = 1; i < n && points[i].t - points[0].t <= span + 1e-9; i++)
        events = points[i].events;
    return events;
}

/*  The server's log line at its stop: Downs served from the cache of
    signed chunks and Downs produced and signed (dn_server.c).  Returns 0,
    or -1 when the log has no such line.  */
static int s_cache_stats(const char *log, unsigned long long *hits, unsigned long long *signed_n)
{
    char line[1024];
    const char *at;
    int rc = -1;
    FILE *f = fopen(log, "r");
    if (!f)
        return -1;
    while (rc && fgets(line, sizeof line, f))
        if ((at = strstr(line, "downstream: ")) &&
            sscanf(at, "downstream: %llu Downs served from the cache, %llu produced", hits,
                   signed_n) == 2)
            rc = 0;
    fclose(f);
    return rc;
}

/*  `dealernet-hq catalog import file` against the server; retried while
    the server is not up yet.  Returns the seconds it took.  */
static double s_import(const char *bin, const char *root, const char *admin_ep,
                       const char *key, const char *file)
{
    const char *const args[] = {"catalog", "import", file, NULL};
    char srv[300], out[300], cmd[2048];
    double start = dn_bk_now();
    snprintf(srv, sizeof srv, "%s/srv", root);
    snprintf(out, sizeof out, "%s/hq.out", root);
    for (int tries = 0; tries < 20; tries++) {
        int status;
        pid_t pid = dn_bk_hq_start(bin, srv, admin_ep, key, out, NULL, args);
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
            s_die("cannot run dealernet-hq");
        if (WEXITSTATUS(status) == 0)
            return dn_bk_now() - start;
        if (WEXITSTATUS(status) != 69) /* EX_UNAVAILABLE: not up yet */
            break;
        usleep(200000);
        start = dn_bk_now();
    }
    snprintf(cmd, sizeof cmd, "cat '%s' >&2", out);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_down: cannot show %s\n", out);
    s_die("catalog import failed");
    return 0;
}

int main(void)
{
    const char *bin = getenv("DN_BIN") ? getenv("DN_BIN") : "bin";
    char root[] = "/tmp/dn-bench-down-XXXXXX", srv[64], log[96], csv[96], why[256];
    char sync_ep[64], admin_ep[64], key[41];
    int port = 20000 + getpid() % 20000, go[2], out[2];
    static s_point_t points[2][DN_DOWN_POINTS];
    size_t n_points[2];
    double import_s, push_s, up_s[2], span, rate[2], done_at[DN_DOWN_SITES];
    long rss_before, rss_after;
    double cpu_server[3], cpu_sites, cpu_up[2]; /* seconds */
    unsigned long long cache_hits, cache_signed;
    int64_t stored = -1, acked[2];
    sqlite3 *db;
    pid_t uploader;
    dn_plan_t plan;

    dn_log_init("bench_down", DN_LOG_WARN, 0);
    /* 1,000 client sockets need 2,000+ descriptors here and in the server */
    if (dn_bk_files(8192))
        s_die("cannot have 8192 file descriptors");
    if (!mkdtemp(root))
        s_die("mkdtemp");
    snprintf(srv, sizeof srv, "%s/srv", root);
    snprintf(sync_ep, sizeof sync_ep, "tcp://127.0.0.1:%d", port);
    snprintf(admin_ep, sizeof admin_ep, "tcp://127.0.0.1:%d", port + 1);
    if (dn_server_init(srv, sync_ep, admin_ep, NULL, key) || dn_central_open(srv, 0, &db))
        s_die("server setup failed");
    printf("bench_down: %d sites, %d uploading sites with %d sales each, a %d-SKU "
           "catalogue...\n",
           DN_DOWN_SITES, 2 * DN_DOWN_UPLOADERS, DN_DOWN_UP_EVENTS, DN_DOWN_SKUS);
    fflush(stdout);
    dn_db_exec(db, "PRAGMA synchronous = NORMAL"); /* setup only */
    if (dn_registry_partner_add(db, "HQ", "HQ", "hq", NULL, 0, why, sizeof why) ||
        dn_plan_set(db, s_plan, 0, &plan, why, sizeof why))
        s_die(why);
    for (int d = 0; d < DN_DOWN_DEALERS; d++) {
        char code[16];
        snprintf(code, sizeof code, "D%02d", d + 1);
        if (dn_registry_partner_add(db, code, code, "dealer", "HQ", 0, why, sizeof why))
            s_die(why);
    }
    for (int i = 0; i < DN_DOWN_SITES + 2 * DN_DOWN_UPLOADERS; i++) {
        char code[16], partner[16];
        dn_tk_site_t **tk;
        dn_curve_pair_t *curve;
        uint8_t pub[DN_CURVE_KEY_BYTES];
        dn_registry_site_t reg;
        if (i < DN_DOWN_SITES) {
            snprintf(code, sizeof code, "P%04d", i);
            snprintf(partner, sizeof partner, "D%02d", i % DN_DOWN_DEALERS + 1);
            tk = &s_sites[i].tk;
            curve = &s_sites[i].curve;
        } else {
            int k = i - DN_DOWN_SITES, which = k / DN_DOWN_UPLOADERS;
            snprintf(code, sizeof code, "U%c%02d", 'A' + which, k % DN_DOWN_UPLOADERS);
            snprintf(partner, sizeof partner, "D01");
            tk = &s_up[which][k % DN_DOWN_UPLOADERS].tk;
            curve = &s_up[which][k % DN_DOWN_UPLOADERS].curve;
        }
        if (dn_curve_generate(curve) || !(*tk = dn_tk_site_new(code, NULL)))
            s_die("keygen");
        dn_curve_decode(curve->public_z85, pub);
        if (dn_tk_enroll(db, code, partner, pub, (*tk)->key, 1, 2, &reg, why, sizeof why))
            s_die(why);
    }
    for (int which = 0; which < 2; which++)
        for (int i = 0; i < DN_DOWN_UPLOADERS; i++)
            s_build(&s_up[which][i], which * DN_DOWN_UPLOADERS + i);
    dn_db_exec(db, "PRAGMA synchronous = FULL");
    sqlite3_close(db);

    snprintf(log, sizeof log, "%s/server.log", root);
    s_main = getpid();
    if ((s_server = dn_bk_server_start(bin, srv, log)) < 0)
        s_die("fork");
    snprintf(csv, sizeof csv, "%s/catalog.csv", root);
    s_write_catalog(csv);
    import_s = s_import(bin, root, admin_ep, key, csv);

    /* 1. the upload alone */
    cpu_server[0] = dn_bk_cpu_s(s_server);
    uploader = s_upload_start(0, key, sync_ep, -1, &out[0]);
    n_points[0] = s_upload_end(uploader, out[0], points[0], &cpu_up[0]);
    rss_before = dn_bk_peak_rss_kib(s_server);
    cpu_server[1] = dn_bk_cpu_s(s_server);

    /* 2. the same upload while every site pulls the catalogue */
    if (pipe(go) != 0)
        s_die("pipe");
    uploader = s_upload_start(1, key, sync_ep, go[0], &out[1]);
    close(go[0]);
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, DN_DOWN_SITES + 64);
    zmq_ctx_set(ctx, ZMQ_IO_THREADS, 2);
    if (write(go[1], "g", 1) != 1)
        s_die("cannot start the upload");
    cpu_sites = dn_bk_cpu_s(getpid());
    push_s = s_push(ctx, key, sync_ep);
    cpu_sites = dn_bk_cpu_s(getpid()) - cpu_sites;
    rss_after = dn_bk_peak_rss_kib(s_server);
    n_points[1] = s_upload_end(uploader, out[1], points[1], &cpu_up[1]);
    cpu_server[2] = dn_bk_cpu_s(s_server);
    close(go[1]);
    for (int i = 0; i < DN_DOWN_SITES; i++) {
        zmq_close(s_sites[i].sock);
        if (s_sites[i].items != DN_DOWN_SKUS || s_sites[i].version != s_sites[0].version)
            s_die("a site does not hold exactly the catalogue");
        done_at[i] = s_sites[i].done_at;
    }
    zmq_ctx_term(ctx);
    for (int n = 0; n < DN_DOWN_SKUS; n++)
        if (s_seen[n] != 1)
            s_die("site 0 did not receive every catalogue row");
    kill(s_server, SIGTERM);
    waitpid(s_server, NULL, 0);
    s_server = -1;
    if (s_cache_stats(log, &cache_hits, &cache_signed))
        s_die("the server's log has no line on its cache of signed chunks");

    stored = dn_bk_events_stored(srv);
    if (stored != 2LL * DN_DOWN_UPLOADERS * DN_DOWN_UP_EVENTS)
        s_die("the server does not hold exactly every event uploaded");

    /* both rates over the same span: the shortest of the two uploads and
       the push, so the push overlapped the second upload throughout */
    for (int k = 0; k < 2; k++)
        up_s[k] = points[k][n_points[k] - 1].t - points[k][0].t;
    span = push_s;
    for (int k = 0; k < 2; k++)
        if (up_s[k] < span)
            span = up_s[k];
    for (int k = 0; k < 2; k++) {
        acked[k] = s_acked_within(points[k], n_points[k], span);
        rate[k] = acked[k] / span;
    }
    dn_bk_sort(done_at, DN_DOWN_SITES);
    double ratio = rate[1] / rate[0];
    printf("catalog import        %d SKUs in %.2f s (dealernet-hq catalog import)\n",
           DN_DOWN_SKUS, import_s);
    printf("catalog push          %d SKUs to %d sites at once in %.2f s (median site %.2f s); "
           "%zu DownReplies, %.1f MiB, every Down verified; %llu Downs from the server's "
           "cache of signed chunks, %llu signed\n",
           DN_DOWN_SKUS, DN_DOWN_SITES, push_s, done_at[DN_DOWN_SITES / 2], s_push_replies,
           s_push_bytes / 1048576.0, cache_hits, cache_signed);
    printf("server peak RSS       %.1f MiB after the push (%.1f MiB before it)\n",
           rss_after / 1024.0, rss_before / 1024.0);
    printf("upload alone          %9.0f events/s  (%lld events acked in the first %.2f s; "
           "all %d in %.2f s)\n",
           rate[0], (long long)acked[0], span, DN_DOWN_UPLOADERS * DN_DOWN_UP_EVENTS, up_s[0]);
    printf("upload during push    %9.0f events/s  (%lld events acked in the first %.2f s; "
           "all %d in %.2f s)\n",
           rate[1], (long long)acked[1], span, DN_DOWN_UPLOADERS * DN_DOWN_UP_EVENTS, up_s[1]);
    printf("cpu                   alone: server %.1f s, upload %.1f s; during the push: "
           "server %.1f s, the %d sites %.1f s, upload %.1f s (%ld cores)\n",
           cpu_server[1] - cpu_server[0], cpu_up[0], cpu_server[2] - cpu_server[1],
           DN_DOWN_SITES, cpu_sites, cpu_up[1], sysconf(_SC_NPROCESSORS_ONLN));
    printf("ratio during/alone %.2f (target >= %.2f: %s)\n", ratio, DN_DOWN_TARGET,
           ratio >= DN_DOWN_TARGET ? "met" : "NOT MET");
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < DN_DOWN_UPLOADERS; i++) {
            for (int b = 0; b < DN_DOWN_UP_BATCHES; b++)
                free(s_up[k][i].push[b]);
            dn_tk_site_destroy(&s_up[k][i].tk);
        }
    for (int i = 0; i < DN_DOWN_SITES; i++)
        dn_tk_site_destroy(&s_sites[i].tk);
    if (dn_tk_remove_tree(root) != 0)
        fprintf(stderr, "bench_down: could not remove %s\n", root);
    return ratio >= DN_DOWN_TARGET ? 0 : 1;
}

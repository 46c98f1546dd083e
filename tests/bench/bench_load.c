/*  bench_load -- 1,000 sites syncing at once to one server.

    One process plays 1,000 enrolled sites: each has its own CURVE key pair
    and Ed25519 key, and its own DEALER socket to a real dealernet-server
    over loopback, each from its own 127.0.x.y address.  All connect at
    once; each says Hello, pushes 100 signed
    sale events in one batch, and waits for the ack.  Prints the wall time,
    events/s, that every batch was acked and the server holds exactly
    100,000 events, and the server's peak resident memory (VmHWM).

    Needs the server binary: DN_BIN (default "bin") names its folder.
*/
#include "dn_benchkit.h"
#include "dn_central.h"
#include "dn_curve.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_phones.h"
#include "dn_protocol.h"
#include "dn_registry.h"
#include "dn_server.h"
#include "dn_testkit.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define DN_LOAD_SITES   1000
#define DN_LOAD_EVENTS  100
#define DN_LOAD_TIMEOUT_MS 120000
#define DN_LOAD_T0      1772323200000LL /* 2026-03-01T00:00:00Z */

typedef struct {
    dn_tk_site_t *tk; /* code, signing key, chain */
    dn_curve_pair_t curve;
    uint8_t *push; /* the packed SyncMessage with the batch */
    size_t push_len;
    void *sock;
    int state; /* 0 waiting for welcome, 1 waiting for ack, 2 done */
} s_site_t;

static s_site_t s_sites[DN_LOAD_SITES];
static int s_done, s_acked, s_refused; /* sites done, acked in full, refused */

static void s_die(const char *what)
{
    fprintf(stderr, "bench_load: %s\n", what);
    exit(1);
}

/*  Builds the site's one batch of DN_LOAD_EVENTS signed sales.  */
static void s_build(s_site_t *site, int n)
{
    dn_tk_batch_t batch;
    char why[DN_WHY_SIZE] = "sale lines";
    for (int i = 0; i < DN_LOAD_EVENTS; i++) {
        dn_tk_line_t line = {"RICE5", 1 + i % 4, 5990, NULL};
        dn_tk_event_t e;
        int64_t at = DN_LOAD_T0 + (int64_t)n * 1000 + i;
        if (dn_tk_sale(&e, "D1", DEALERNET__CHANNEL__CHANNEL_STORE, NULL, &line, 1) ||
            dn_tk_record(site->tk, &e.ev, at, NULL, why, sizeof why))
            s_die(why);
    }
    if (dn_tk_batch(site->tk, &batch))
        s_die("sign");
    if (dn_tk_batch_pack(&batch, &site->push, &site->push_len, why, sizeof why))
        s_die(why);
    dn_tk_batch_free(&batch);
}

/*  Site i's socket while it waits for a reply (dn_bk_poll).  */
static void *s_waiting(void *arg, int i)
{
    (void)arg;
    return s_sites[i].state < 2 ? s_sites[i].sock : NULL;
}

/*  A reply to site i: the Welcome sends the batch, the ack or a refusal
    ends the site.  */
static void s_reply(void *arg, int i, const Dealernet__SyncMessage *reply, size_t len)
{
    s_site_t *site = &s_sites[i];
    (void)arg;
    (void)len;
    if (site->state == 0 && reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_WELCOME) {
        zmq_send(site->sock, site->push, site->push_len, 0);
        site->state = 1;
    } else if (site->state == 1 && reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_ACK) {
        s_acked += reply->ack->acked_through == DN_LOAD_EVENTS;
        site->state = 2;
        s_done++;
    } else if (reply->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED) {
        fprintf(stderr, "bench_load: %s refused: %s\n", site->tk->code, reply->refused->text);
        s_refused++;
        site->state = 2;
        s_done++;
    }
}

int main(void)
{
    const char *bin = getenv("DN_BIN") ? getenv("DN_BIN") : "bin";
    char root[] = "/tmp/dn-bench-load-XXXXXX", srv[64], log[96], why[256];
    char sync_ep[64], admin_ep[64], key[41];
    int port = 30000 + getpid() % 20000;
    sqlite3 *db;
    pid_t server;
    void *ctx;
    double start, elapsed;
    long rss;
    int64_t stored = -1;

    dn_log_init("bench_load", DN_LOG_WARN, 0);
    /* 1,000 client sockets need 2,000+ descriptors here and in the server.  */
    dn_bk_files(8192);
    if (!mkdtemp(root))
        s_die("mkdtemp");
    snprintf(srv, sizeof srv, "%s/srv", root);
    snprintf(sync_ep, sizeof sync_ep, "tcp://127.0.0.1:%d", port);
    snprintf(admin_ep, sizeof admin_ep, "tcp://127.0.0.1:%d", port + 1);
    if (dn_server_init(srv, sync_ep, admin_ep, NULL, key) || dn_central_open(srv, 0, &db) ||
        dn_registry_partner_add(db, "D1", "Dealer", "dealer", NULL, 0, why, sizeof why))
        s_die("server setup failed");
    printf("bench_load: enrolling %d sites with %d events each...\n", DN_LOAD_SITES,
           DN_LOAD_EVENTS);
    fflush(stdout);
    dn_db_exec(db, "PRAGMA synchronous = NORMAL"); /* setup only */
    for (int i = 0; i < DN_LOAD_SITES; i++) {
        s_site_t *site = &s_sites[i];
        char code[16];
        uint8_t curve[DN_CURVE_KEY_BYTES];
        dn_registry_site_t info;
        snprintf(code, sizeof code, "L%04d", i);
        if (dn_curve_generate(&site->curve) || !(site->tk = dn_tk_site_new(code, NULL)))
            s_die("keygen");
        dn_curve_decode(site->curve.public_z85, curve);
        if (dn_tk_enroll(db, code, "D1", curve, site->tk->key, 1, 2, &info, why,
                         sizeof why))
            s_die(why);
        s_build(site, i);
    }
    sqlite3_close(db);

    snprintf(log, sizeof log, "%s/server.log", root);
    if ((server = dn_bk_server_start(bin, srv, log)) < 0)
        s_die("fork");
    usleep(300000);

    ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, DN_LOAD_SITES + 64);
    zmq_ctx_set(ctx, ZMQ_IO_THREADS, 2);
    start = dn_bk_now();
    for (int i = 0; i < DN_LOAD_SITES; i++) {
        s_site_t *site = &s_sites[i];
        if (!(site->sock = dn_bk_dealer(ctx, key, &site->curve, sync_ep, 1, i)))
            s_die("cannot open a socket (too many?)");
        dn_bk_hello(site->sock, DN_PROTOCOL_VERSION, DN_LOAD_EVENTS, DN_LOAD_EVENTS);
    }
    zmq_pollitem_t *items = calloc(DN_LOAD_SITES, sizeof *items);
    while (s_done < DN_LOAD_SITES && (dn_bk_now() - start) * 1000 < DN_LOAD_TIMEOUT_MS)
        dn_bk_poll(items, DN_LOAD_SITES, s_waiting, s_reply, NULL, 1000);
    elapsed = dn_bk_now() - start;
    rss = dn_bk_peak_rss_kib(server);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    for (int i = 0; i < DN_LOAD_SITES; i++) {
        zmq_close(s_sites[i].sock);
        free(s_sites[i].push);
        dn_tk_site_destroy(&s_sites[i].tk);
    }
    free(items);
    zmq_ctx_term(ctx);

    stored = dn_bk_events_stored(srv);
    printf("load: %d sites at once, %d acked, %d refused, %lld events stored (expected %d)\n",
           DN_LOAD_SITES, s_acked, s_refused, (long long)stored, DN_LOAD_SITES * DN_LOAD_EVENTS);
    printf("load: %.2f s, %.0f events/s end to end, server peak RSS %.1f MiB\n", elapsed,
           stored / elapsed, rss / 1024.0);
    snprintf(srv, sizeof srv, "rm -rf %s", root);
    if (system(srv) != 0)
        fprintf(stderr, "bench_load: could not remove %s\n", root);
    return s_acked == DN_LOAD_SITES && stored == (int64_t)DN_LOAD_SITES * DN_LOAD_EVENTS ? 0 : 1;
}

/*  dn_nozap -- the server must not start without its own ZAP handler, for
    tests/cli/security_suite.sh.

    libzmq asks whatever is bound at inproc://zeromq.zap.01 in the socket's
    context about every CURVE handshake, and lets every client in when
    nothing is.  dn_server_run binds its handler there first and proves it
    with dn_zap_selfcheck before it binds a public socket.  Here the
    server is started in a context whose ZAP endpoint is already taken:

        taken by a REP socket that answers nothing;
        taken by a ROUTER socket;
        taken by a rogue handler thread that answers 200 to everyone;

    each time by the real dn_server_run (config.ctx), in a thread, while
    another thread tries plain TCP connections to the sync and admin ports
    as fast as it can.  An attempt is accepted if dn_server_run does not
    fail with DN_ECRYPTO within DN_NOZAP_START_MS, or if a TCP connection
    to either port succeeded while it ran.  The control: the same start
    in a fresh context must serve, and the watcher must see its ports open
    (else the watcher proves nothing); it is then stopped.

        usage: dn_nozap SERVER_DIR SYNC_EP ADMIN_EP
        prints: security: server without ZAP: attempts N, accepted A
        exit: 0 all refused and the control served; 1 otherwise; 64 usage;
        70 anything else.
*/
#include "dn_error.h"
#include "dn_log.h"
#include "dn_server.h"
#include "dn_time.h"
#include "dn_zap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#define EX_USAGE    64
#define EX_SOFTWARE 70

#define DN_NOZAP_START_MS   3000 /* a refusal comes at once; a start is given this long */
#define DN_NOZAP_CONTROL_MS 10000

/*  Tries TCP connections to the ports until told to stop; counts those
    that succeeded.  */
typedef struct {
    int ports[2];
    atomic_int stop;
    atomic_long opened;
    atomic_long tries;
} s_watch_t;

static void *s_watch(void *arg)
{
    s_watch_t *w = arg;
    while (!atomic_load(&w->stop)) {
        for (int i = 0; i < 2; i++) {
            struct sockaddr_in sa;
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            if (fd < 0)
                continue;
            memset(&sa, 0, sizeof sa);
            sa.sin_family = AF_INET;
            sa.sin_port = htons((uint16_t)w->ports[i]);
            sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
                atomic_fetch_add(&w->opened, 1);
            atomic_fetch_add(&w->tries, 1);
            close(fd);
        }
    }
    return NULL;
}

/*  dn_server_run in a thread.  */
typedef struct {
    dn_server_config_t config;
    volatile sig_atomic_t stop;
    atomic_int done;
    int rc;
} s_run_t;

static void *s_run(void *arg)
{
    s_run_t *r = arg;
    r->rc = dn_server_run(&r->config);
    atomic_store(&r->done, 1);
    return NULL;
}

/*  A rogue ZAP handler: answers 200 to every request until stop.  */
typedef struct {
    void *rep;
    atomic_int stop;
} s_rogue_t;

static void *s_rogue(void *arg)
{
    s_rogue_t *r = arg;
    while (!atomic_load(&r->stop)) {
        zmq_pollitem_t item = {r->rep, 0, ZMQ_POLLIN, 0};
        char frame[7][256];
        int n = 0, more = 1;
        if (zmq_poll(&item, 1, 20) <= 0)
            continue;
        while (more) {
            size_t more_size = sizeof more;
            int size = zmq_recv(r->rep, frame[n < 7 ? n : 6], 255, 0);
            if (size < 0)
                return NULL;
            frame[n < 7 ? n : 6][size < 255 ? size : 255] = '\0';
            n++;
            zmq_getsockopt(r->rep, ZMQ_RCVMORE, &more, &more_size);
        }
        zmq_send(r->rep, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(r->rep, frame[1], strlen(frame[1]), ZMQ_SNDMORE);
        zmq_send(r->rep, "200", 3, ZMQ_SNDMORE);
        zmq_send(r->rep, "OK", 2, ZMQ_SNDMORE);
        zmq_send(r->rep, "hq", 2, ZMQ_SNDMORE);
        zmq_send(r->rep, "", 0, 0);
    }
    return NULL;
}

static int s_port(const char *endpoint)
{
    const char *colon = strrchr(endpoint, ':');
    int port = colon ? atoi(colon + 1) : 0;
    return port > 0 && port < 65536 ? port : 0;
}

/*  Starts the server in ctx (NULL: its own) and waits for it to return, or
    for wait_ms, or (when ctx is NULL) for the watcher to get in; then
    stops it.  Returns its rc; *served is set if it was still running.  */
static int s_start(const char *dir, const char *sync_ep, const char *admin_ep, void *ctx,
                   int wait_ms, s_watch_t *watch, int *served)
{
    s_run_t run;
    pthread_t thread;
    int64_t end = dn_time_now_ms() + wait_ms;
    long opened = atomic_load(&watch->opened);

    memset(&run, 0, sizeof run);
    run.config.dir = dir;
    run.config.sync_endpoint = sync_ep;
    run.config.admin_endpoint = admin_ep;
    run.config.stop = &run.stop;
    run.config.ctx = ctx;
    *served = 0;
    if (pthread_create(&thread, NULL, s_run, &run) != 0)
        return DN_ENOMEM;
    while (!atomic_load(&run.done) && dn_time_now_ms() < end &&
           (ctx || atomic_load(&watch->opened) == opened))
        usleep(1000);
    if (!atomic_load(&run.done)) {
        *served = 1;
        run.stop = 1;
    }
    pthread_join(thread, NULL);
    return run.rc;
}

int main(int argc, char **argv)
{
    static const char *ways[] = {"a REP socket", "a ROUTER socket", "a rogue handler"};
    s_watch_t watch;
    pthread_t watcher;
    long attempts = 0, accepted = 0;
    int control_ok = 0;

    if (argc != 4 || !s_port(argv[2]) || !s_port(argv[3])) {
        fprintf(stderr, "usage: dn_nozap SERVER_DIR SYNC_EP ADMIN_EP\n");
        return EX_USAGE;
    }
    dn_log_init("dealernet-server", DN_LOG_INFO, 0);
    memset(&watch, 0, sizeof watch);
    watch.ports[0] = s_port(argv[2]);
    watch.ports[1] = s_port(argv[3]);
    if (pthread_create(&watcher, NULL, s_watch, &watch) != 0)
        return EX_SOFTWARE;

    for (int way = 0; way < 3; way++) {
        void *ctx = zmq_ctx_new();
        void *squat = zmq_socket(ctx, way == 1 ? ZMQ_ROUTER : ZMQ_REP);
        s_rogue_t rogue = {squat, 0};
        pthread_t rogue_thread;
        int zero = 0, served = 0, rc;
        long opened = atomic_load(&watch.opened);

        zmq_setsockopt(squat, ZMQ_LINGER, &zero, sizeof zero);
        if (zmq_bind(squat, DN_ZAP_ENDPOINT) != 0) {
            fprintf(stderr, "dn_nozap: cannot take %s: %s\n", DN_ZAP_ENDPOINT,
                    zmq_strerror(zmq_errno()));
            return EX_SOFTWARE;
        }
        if (way == 2 && pthread_create(&rogue_thread, NULL, s_rogue, &rogue) != 0)
            return EX_SOFTWARE;
        rc = s_start(argv[1], argv[2], argv[3], ctx, DN_NOZAP_START_MS, &watch, &served);
        attempts++;
        long seen = atomic_load(&watch.opened) - opened;
        fprintf(stderr,
                "dn_nozap: ZAP endpoint taken by %s: dn_server_run returned %d (%s)%s, "
                "%ld TCP connections got in\n",
                ways[way], rc, dn_strerror(rc), served ? " after serving" : "", seen);
        if (served || rc != DN_ECRYPTO || seen > 0)
            accepted++;
        if (way == 2) {
            atomic_store(&rogue.stop, 1);
            pthread_join(rogue_thread, NULL);
        }
        zmq_close(squat);
        zmq_ctx_term(ctx);
    }

    /* the control: a fresh context, the server's own handler */
    {
        long opened = atomic_load(&watch.opened);
        int served = 0;
        int rc = s_start(argv[1], argv[2], argv[3], NULL, DN_NOZAP_CONTROL_MS, &watch,
                         &served);
        long seen = atomic_load(&watch.opened) - opened;
        control_ok = served && rc == 0 && seen > 0;
        fprintf(stderr,
                "dn_nozap: control: with its own handler the server %s (rc %d), "
                "%ld TCP connections got in\n",
                served ? "served" : "did not serve", rc, seen);
    }
    atomic_store(&watch.stop, 1);
    pthread_join(watcher, NULL);
    fprintf(stderr, "dn_nozap: %ld TCP connection attempts in all\n",
            atomic_load(&watch.tries));
    printf("security: server without ZAP: attempts %ld, accepted %ld\n", attempts,
           accepted);
    if (!control_ok)
        fprintf(stderr, "dn_nozap: the control failed: the test proves nothing\n");
    return accepted == 0 && attempts > 0 && control_ok ? 0 : 1;
}

/*  dn_crowd -- a crowd of CURVE clients with keys the server does not know,
    for tests/cli/security_door.sh.

    dn_crowd --server EP --server-key Z85 --addrs A,B,... idle N HOLD_MS
        Opens N DEALER connections to the sync socket, each with a fresh
        CURVE key (which ZAP lets in: an unknown key may enrol), spread
        over the source addresses (127.0.0.x all reach loopback), and
        sends nothing.  A connection the server closes comes back a second
        later (libzmq reconnects), as a crowd that insists would.
    dn_crowd ... frames N BYTES HOLD_MS
        The same, each sending one message of BYTES random bytes.

    dn_crowd --server EP --server-key Z85 --agent DIR hold HOLD_MS
        One connection with an enrolled agent's CURVE key (DIR/curve.key)
        says Hello, waits for the Welcome, stays idle HOLD_MS, and says
        Hello again; prints "hold: replies R, closed by server C".  Once it
        has spoken, the door must leave it be (C 0) however long it idles.

    Prints "opened N" once every connection was started, holds them
    HOLD_MS while counting (through each socket's monitor) handshakes that
    succeeded and connections the server closed, then prints
        held N for HOLD_MS ms: handshakes H, closed by server C
    Exit: 0, 64 usage, 70 anything else, 77 when this process may not
    have the descriptors it needs (two per connection).
*/
#include "dn_curve.h"
#include "dn_protocol.h"
#include "dn_wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zmq.h>

#define EX_USAGE    64
#define EX_SOFTWARE 70
#define EX_SKIP     77

#define DN_CROWD_MAX       10000
#define DN_CROWD_MAX_ADDRS 256
#define DN_CROWD_RECONNECT_MS 1000

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_usage(void)
{
    fprintf(stderr, "usage: dn_crowd --server EP --server-key Z85 --addrs A,B,... "
                    "idle N HOLD_MS | frames N BYTES HOLD_MS\n"
                    "       dn_crowd --server EP --server-key Z85 --agent DIR hold HOLD_MS\n");
    return EX_USAGE;
}

/*  Raises this process's descriptor limit to room for n connections (root
    may raise the hard limit too).  */
static int s_room(int n)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)n * 4 + 256; /* 3 sockets' mailboxes and the TCP connection */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        rl.rlim_max = want;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        return 0;
    fprintf(stderr, "dn_crowd: skipped: %d connections need %llu descriptors: %s\n", n,
            (unsigned long long)want, strerror(errno));
    return -1;
}

typedef struct {
    void *sock, *mon;
} s_peer_t;

/*  Counts the events waiting on a peer's monitor.  */
static void s_events(s_peer_t *p, long *handshakes, long *closed)
{
    uint8_t head[6];
    char scratch[256];
    int more = 0;
    size_t more_size = sizeof more;
    while (zmq_recv(p->mon, head, sizeof head, ZMQ_DONTWAIT) == (int)sizeof head) {
        uint16_t event;
        memcpy(&event, head, sizeof event);
        zmq_getsockopt(p->mon, ZMQ_RCVMORE, &more, &more_size);
        while (more) {
            zmq_recv(p->mon, scratch, sizeof scratch, 0);
            zmq_getsockopt(p->mon, ZMQ_RCVMORE, &more, &more_size);
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            (*handshakes)++;
        else if (event == ZMQ_EVENT_DISCONNECTED)
            (*closed)++;
    }
}

/*  Hello, a wait for the reply; 1 if one came within timeout_ms.  */
static int s_hello(void *sock, int timeout_ms)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__Hello hello = DEALERNET__HELLO__INIT;
    uint8_t *buf = NULL, reply[4096];
    size_t len = 0;
    char why[DN_WHY_SIZE];
    hello.has_protocol = 1;
    hello.protocol = DN_PROTOCOL_VERSION;
    hello.agent_version = "dn_crowd";
    hello.has_pending = 1;
    hello.has_clock_ms = 1;
    hello.clock_ms = (int64_t)time(NULL) * 1000;
    hello.has_head_seq = 1;
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_HELLO;
    msg.hello = &hello;
    if (dn_wire_sync_pack(&msg, &buf, &len, why, sizeof why) != 0)
        return 0;
    zmq_send(sock, buf, len, 0);
    free(buf);
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&item, 1, timeout_ms) == 1 && zmq_recv(sock, reply, sizeof reply, 0) > 0;
}

/*  The hold mode (see the top).  */
static int s_hold(const char *server, const char *server_key, const char *agent_dir,
                  long hold)
{
    dn_curve_pair_t key;
    char path[4096];
    long handshakes = 0, closed = 0;
    int replies = 0, linger = 0;
    snprintf(path, sizeof path, "%s/curve.key", agent_dir);
    if (dn_curve_load(path, &key) != 0) {
        fprintf(stderr, "dn_crowd: cannot read %s\n", path);
        return EX_SOFTWARE;
    }
    void *ctx = zmq_ctx_new();
    s_peer_t p = {zmq_socket(ctx, ZMQ_DEALER), zmq_socket(ctx, ZMQ_PAIR)};
    zmq_setsockopt(p.sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(p.sock, ZMQ_CURVE_SERVERKEY, server_key, 40);
    zmq_setsockopt(p.sock, ZMQ_CURVE_PUBLICKEY, key.public_z85, 40);
    zmq_setsockopt(p.sock, ZMQ_CURVE_SECRETKEY, key.secret_z85, 40);
    zmq_socket_monitor(p.sock, "inproc://crowd-hold",
                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED);
    zmq_connect(p.mon, "inproc://crowd-hold");
    zmq_connect(p.sock, server);
    replies += s_hello(p.sock, 5000);
    int64_t end = s_now_ms() + hold;
    while (s_now_ms() < end) {
        s_events(&p, &handshakes, &closed);
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    replies += s_hello(p.sock, 5000);
    s_events(&p, &handshakes, &closed);
    printf("hold: replies %d, closed by server %ld\n", replies, closed);
    zmq_socket_monitor(p.sock, NULL, 0);
    zmq_close(p.sock);
    zmq_close(p.mon);
    zmq_ctx_term(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    const char *server = NULL, *server_key = NULL, *addrs = NULL, *agent_dir = NULL;
    char list[4096], *save = NULL, *addr[DN_CROWD_MAX_ADDRS];
    int n_addrs = 0, i = 1, rc = 0;
    long n, bytes = 0, hold;
    int frames;

    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--server") == 0)
            server = argv[i + 1];
        else if (strcmp(argv[i], "--server-key") == 0)
            server_key = argv[i + 1];
        else if (strcmp(argv[i], "--addrs") == 0)
            addrs = argv[i + 1];
        else if (strcmp(argv[i], "--agent") == 0)
            agent_dir = argv[i + 1];
        else
            return s_usage();
    }
    if (!server || strncmp(server, "tcp://", 6) != 0 || !server_key || i >= argc)
        return s_usage();
    if (strcmp(argv[i], "hold") == 0 && agent_dir && argc - i == 2)
        return s_hold(server, server_key, agent_dir, strtol(argv[i + 1], NULL, 10));
    if (!addrs)
        return s_usage();
    frames = strcmp(argv[i], "frames") == 0;
    if (!frames && strcmp(argv[i], "idle") != 0)
        return s_usage();
    if (argc - i != (frames ? 4 : 3))
        return s_usage();
    n = strtol(argv[i + 1], NULL, 10);
    if (frames)
        bytes = strtol(argv[i + 2], NULL, 10);
    hold = strtol(argv[argc - 1], NULL, 10);
    if (n < 1 || n > DN_CROWD_MAX || hold < 0 || bytes < 0 || bytes > 64 * 1024 * 1024)
        return s_usage();
    snprintf(list, sizeof list, "%s", addrs);
    for (char *a = strtok_r(list, ",", &save); a && n_addrs < DN_CROWD_MAX_ADDRS;
         a = strtok_r(NULL, ",", &save))
        addr[n_addrs++] = a;
    if (n_addrs == 0)
        return s_usage();
    if (s_room((int)n) != 0)
        return EX_SKIP;

    void *ctx = zmq_ctx_new();
    /* each peer: its DEALER, the monitor libzmq makes for it and ours */
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)(3 * n + 64));
    s_peer_t *peers = calloc((size_t)n, sizeof *peers);
    uint8_t *payload = bytes ? malloc((size_t)bytes) : NULL;
    if (!ctx || !peers || (bytes && !payload)) {
        fprintf(stderr, "dn_crowd: out of memory\n");
        return EX_SOFTWARE;
    }
    for (long k = 0; k < bytes; k++)
        payload[k] = (uint8_t)rand();
    long opened = 0, handshakes = 0, closed = 0;
    for (long k = 0; k < n && rc == 0; k++) {
        dn_curve_pair_t key;
        char ep[512], mon_ep[64];
        int linger = 0, reconnect = DN_CROWD_RECONNECT_MS;
        s_peer_t *p = &peers[k];
        snprintf(ep, sizeof ep, "tcp://%s:0;%s", addr[k % n_addrs], server + 6);
        snprintf(mon_ep, sizeof mon_ep, "inproc://crowd-%ld", k);
        if (dn_curve_generate(&key) || !(p->sock = zmq_socket(ctx, ZMQ_DEALER)) ||
            zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger) ||
            zmq_setsockopt(p->sock, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect) ||
            zmq_setsockopt(p->sock, ZMQ_CURVE_SERVERKEY, server_key, 40) ||
            zmq_setsockopt(p->sock, ZMQ_CURVE_PUBLICKEY, key.public_z85, 40) ||
            zmq_setsockopt(p->sock, ZMQ_CURVE_SECRETKEY, key.secret_z85, 40) ||
            zmq_socket_monitor(p->sock, mon_ep,
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) ||
            !(p->mon = zmq_socket(ctx, ZMQ_PAIR)) || zmq_connect(p->mon, mon_ep) ||
            zmq_connect(p->sock, ep) != 0) {
            fprintf(stderr, "dn_crowd: connection %ld: %s\n", k, zmq_strerror(errno));
            if (p->sock) {
                zmq_socket_monitor(p->sock, NULL, 0);
                zmq_close(p->sock);
            }
            if (p->mon)
                zmq_close(p->mon);
            rc = EX_SOFTWARE;
            break;
        }
        if (payload)
            zmq_send(p->sock, payload, (size_t)bytes, ZMQ_DONTWAIT);
        opened++;
        if (k % 100 == 99) /* read the monitors as we go: they must not fill */
            for (long j = 0; j <= k; j++)
                s_events(&peers[j], &handshakes, &closed);
    }
    printf("opened %ld\n", opened);
    fflush(stdout);
    int64_t end = s_now_ms() + hold;
    while (rc == 0 && s_now_ms() < end) {
        for (long k = 0; k < opened; k++)
            s_events(&peers[k], &handshakes, &closed);
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    printf("held %ld for %ld ms: handshakes %ld, closed by server %ld\n", opened, hold,
           handshakes, closed);
    for (long k = 0; k < opened; k++) {
        zmq_socket_monitor(peers[k].sock, NULL, 0);
        zmq_close(peers[k].sock);
        zmq_close(peers[k].mon);
    }
    free(peers);
    free(payload);
    zmq_ctx_term(ctx);
    return rc;
}

/*  dn_flood -- hostile load on a dealernet server's sync socket, for
    tests/cli/hostile_flood.sh.

    connections N HOLD_MS [PART_BYTES [KIND]]
        Opens N plain TCP connections that never finish the CURVE
        handshake, of five kinds: silent; greeting (a ZMTP 3.0 greeting
        asking for CURVE, and nothing more); half (ten bytes of one);
        oversize (a greeting and a command frame announcing 4 GiB, over
        ZMQ_MAXMSGSIZE); part (a greeting and a command frame announcing
        1 KiB under ZMQ_MAXMSGSIZE of which PART_BYTES, default 16 KiB,
        are sent and the rest never).  KIND picks one; by default
        ("mixed") they are taken in turn.
        Prints "connected N" once all are open and written, then holds
        them HOLD_MS, reading whatever the server sends, and prints how
        many the server closed and when:
            held 1000 for 8000 ms: closed by server 400 (first 3 ms, last 10012 ms), open
   600 elements N Sends, over a CURVE connection with the agent's key (--agent DIR), one
   SyncMessage holding a PushBatch of N empty events, written by hand (dn_wire would not
   pack it), and prints the reply as dn_poke does ("refused CODE expected=N: TEXT") or
   "timeout" when none came (libzmq drops a frame over ZMQ_MAXMSGSIZE with its
   connection).

    Exit: 0 when it did what was asked (whatever the server answered), 64
    usage, 69 cannot connect, 70 anything else.
*/
#include "dn_curve.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define EX_USAGE       64
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE    70

#define DN_FLOOD_KINDS       5
#define DN_FLOOD_PART_BYTES  (16 * 1024) /* sent of the frame that never ends */
#define DN_FLOOD_FRAME_BYTES (DN_MAX_SYNC_MSG_BYTES - 1024)

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_usage(void)
{
    fprintf(stderr,
            "usage: dn_flood --server tcp://HOST:PORT connections N HOLD_MS "
            "[PART_BYTES [KIND]]\n"
            "       dn_flood --server EP --server-key Z85 --agent DIR elements N\n");
    return EX_USAGE;
}

/*  A ZMTP 3.0 greeting asking for CURVE as a client: signature, version,
    mechanism, as-server 0, filler (RFC 23).  */
static void s_greeting(uint8_t g[64])
{
    memset(g, 0, 64);
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    memcpy(g + 12, "CURVE", 5);
}

/*  A long command frame header announcing size bytes: flags, 8-byte size.  */
static size_t s_long_header(uint8_t *p, uint64_t size)
{
    p[0] = 0x06; /* command, long */
    for (int i = 0; i < 8; i++)
        p[1 + i] = (uint8_t)(size >> (8 * (7 - i)));
    return 9;
}

static size_t s_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    for (; v >= 0x80; v >>= 7)
        p[n++] = (uint8_t)(v | 0x80);
    p[n++] = (uint8_t)v;
    return n;
}

static int s_address(const char *endpoint, struct sockaddr_in *sa)
{
    char host[64];
    unsigned port;
    if (sscanf(endpoint, "tcp://%63[^:]:%u", host, &port) != 2 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/*  Sends all of len bytes on a connected socket, waiting for room.  */
static int s_send_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            if (poll(&pfd, 1, 5000) <= 0)
                return -1;
            continue;
        }
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static const char *const s_kinds[DN_FLOOD_KINDS] = {"silent", "greeting", "half",
                                                    "oversize", "part"};

static int s_connections(const char *endpoint, int n, int hold_ms, size_t part_bytes,
                         int only)
{
    struct sockaddr_in sa;
    struct pollfd *fds = calloc((size_t)n, sizeof *fds);
    int64_t *closed_at = calloc((size_t)n, sizeof *closed_at);
    uint8_t greeting[64], *part = calloc(1, 64 + 9 + part_bytes);
    int64_t start, first = -1, last = -1;
    int open = 0, closed = 0, failed = 0;

    if (!fds || !closed_at || !part)
        return EX_SOFTWARE;
    if (s_address(endpoint, &sa))
        return s_usage();
    s_greeting(greeting);
    memcpy(part, greeting, 64);
    s_long_header(part + 64, DN_FLOOD_FRAME_BYTES);
    for (int i = 0; i < n; i++) {
        uint8_t big[64 + 9];
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        fds[i].fd = -1;
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            if (fd >= 0)
                close(fd);
            failed++;
            continue;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        int rc = 0;
        switch (only >= 0 ? only : i % DN_FLOOD_KINDS) {
        case 0: /* silent */
            break;
        case 1:
            rc = s_send_all(fd, greeting, 64);
            break;
        case 2:
            rc = s_send_all(fd, greeting, 10);
            break;
        case 3:
            memcpy(big, greeting, 64);
            s_long_header(big + 64, UINT64_C(1) << 32);
            rc = s_send_all(fd, big, sizeof big);
            break;
        default:
            rc = s_send_all(fd, part, 64 + 9 + part_bytes);
        }
        if (rc) {
            close(fd);
            failed++;
            continue;
        }
        fds[i].fd = fd;
        fds[i].events = POLLIN;
        open++;
    }
    printf("connected %d\n", open);
    fflush(stdout);
    start = s_now_ms();
    while (s_now_ms() - start < hold_ms) {
        int left = (int)(hold_ms - (s_now_ms() - start));
        if (poll(fds, (nfds_t)n, left > 100 ? 100 : left) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            uint8_t buf[4096];
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = recv(fds[i].fd, buf, sizeof buf, 0);
            if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR)))
                continue;
            close(fds[i].fd);
            fds[i].fd = -1;
            closed_at[i] = s_now_ms() - start;
            if (first < 0)
                first = closed_at[i];
            last = closed_at[i];
            closed++;
        }
    }
    for (int i = 0; i < n; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    printf(
        "held %d for %d ms: closed by server %d (first %lld ms, last %lld ms), open %d, "
        "failed %d\n",
        open, hold_ms, closed, (long long)first, (long long)last, open - closed, failed);
    free(fds);
    free(closed_at);
    free(part);
    return failed == n ? EX_UNAVAILABLE : 0;
}

static void s_print_reply(const uint8_t *data, size_t len)
{
    Dealernet__SyncMessage *msg = NULL;
    char why[DN_WHY_SIZE];
    if (dn_wire_sync_unpack(data, len, &msg, why, sizeof why)) {
        printf("bad-reply: %s\n", why);
        return;
    }
    if (msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_REFUSED) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &dealernet__refuse_code__descriptor, msg->refused->code);
        const char *name = v ? v->name : "UNKNOWN";
        if (strncmp(name, "REFUSE_", 7) == 0)
            name += 7;
        printf("refused %s expected=%llu: %s\n", name,
               (unsigned long long)msg->refused->expected_seq, msg->refused->text);
    } else {
        printf("unexpected-reply\n");
    }
    dn_wire_sync_free(&msg);
}

static int s_elements(const char *endpoint, const char *server_key, const char *agent_dir,
                      long n)
{
    char path[4096];
    dn_curve_pair_t pair;
    size_t inner = 2 * (size_t)n, len = 0;
    uint8_t *frame = malloc(inner + 16);
    void *ctx = NULL, *sock = NULL;
    int zero = 0, timeout = 5000, rc = EX_SOFTWARE;
    zmq_pollitem_t item;

    snprintf(path, sizeof path, "%s/curve.key", agent_dir);
    if (!frame || dn_curve_load(path, &pair)) {
        fprintf(stderr, "dn_flood: cannot read %s\n", path);
        free(frame);
        return EX_SOFTWARE;
    }
    /* SyncMessage.push (3) { events (2): "" x n } */
    frame[len++] = 0x1a;
    len += s_put_varint(frame + len, inner);
    for (long i = 0; i < n; i++) {
        frame[len++] = 0x12;
        frame[len++] = 0x00;
    }
    ctx = zmq_ctx_new();
    sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    if (!sock || zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pair.public_z85, DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, pair.secret_z85, DN_Z85_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout) ||
        zmq_connect(sock, endpoint) != 0) {
        fprintf(stderr, "dn_flood: cannot connect to %s\n", endpoint);
        rc = EX_UNAVAILABLE;
        goto done;
    }
    if (zmq_send(sock, frame, len, 0) != (int)len) {
        printf("timeout\n");
        rc = 0;
        goto done;
    }
    item.socket = sock;
    item.fd = 0;
    item.events = ZMQ_POLLIN;
    item.revents = 0;
    rc = 0;
    if (zmq_poll(&item, 1, timeout) > 0) {
        zmq_msg_t reply;
        zmq_msg_init(&reply);
        if (zmq_msg_recv(&reply, sock, ZMQ_DONTWAIT) >= 0)
            s_print_reply(zmq_msg_data(&reply), zmq_msg_size(&reply));
        else
            printf("timeout\n");
        zmq_msg_close(&reply);
    } else {
        printf("timeout\n");
    }
done:
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    memset(&pair, 0, sizeof pair);
    free(frame);
    return rc;
}

int main(int argc, char **argv)
{
    const char *endpoint = NULL, *server_key = NULL, *agent_dir = NULL;
    struct rlimit lim;
    int i = 1;

    dn_log_init("dn_flood", DN_LOG_WARN, 0);
    /* as many descriptors as we may: the flood needs one per connection */
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--server") == 0)
            endpoint = argv[i + 1];
        else if (strcmp(argv[i], "--server-key") == 0)
            server_key = argv[i + 1];
        else if (strcmp(argv[i], "--agent") == 0)
            agent_dir = argv[i + 1];
        else
            return s_usage();
    }
    if (!endpoint || i >= argc)
        return s_usage();
    if (strcmp(argv[i], "connections") == 0 && argc - i >= 3 && argc - i <= 5) {
        int n = atoi(argv[i + 1]), hold = atoi(argv[i + 2]), only = -1;
        long part = argc - i >= 4 ? atol(argv[i + 3]) : DN_FLOOD_PART_BYTES;
        if (argc - i == 5) {
            for (int k = 0; k < DN_FLOOD_KINDS; k++)
                if (strcmp(argv[i + 4], s_kinds[k]) == 0)
                    only = k;
            if (only < 0 && strcmp(argv[i + 4], "mixed") != 0)
                return s_usage();
        }
        if (n < 1 || n > 100000 || hold < 0 || part < 0 || part >= DN_FLOOD_FRAME_BYTES)
            return s_usage();
        return s_connections(endpoint, n, hold, (size_t)part, only);
    }
    if (strcmp(argv[i], "elements") == 0 && argc - i == 2 && server_key && agent_dir &&
        dn_curve_valid_z85(server_key)) {
        long n = atol(argv[i + 1]);
        if (n < 1 || n > 10000000)
            return s_usage();
        return s_elements(endpoint, server_key, agent_dir, n);
    }
    return s_usage();
}

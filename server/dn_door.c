/*  dn_door -- a bounded cost for peers that have not proven who they are
    (see dn_door.h).  */
#include "dn_door.h"
#include "dn_log.h"
#include "dn_refusal.h"
#include "dn_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <zmq.h>

#define DN_DOOR_ADDRESS_SIZE 64  /* an IPv6 /64 prefix as text, with room */
#define DN_DOOR_POLL_MS      100 /* how late a deadline may be enforced */
#define DN_DOOR_BATCH        1000 /* events handled under the lock at a time */
#define DN_DOOR_EVENTS                                                                 \
    (ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED | ZMQ_EVENT_DISCONNECTED |            \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |       \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

enum { S_FREE, S_STRANGER, S_PROVEN, S_CLOSING };

/*  The door's clock: monotonic, so a step of the wall clock neither stops
    the deadlines nor closes a whole crowd at once.  */
static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  One accepted connection, by its descriptor.  */
typedef struct {
    unsigned char state; /* S_* */
    unsigned char sock;  /* the index of its socket */
    unsigned char spoke; /* a whole message was read from it */
    ino_t ino;           /* the socket accepted under this descriptor */
    ino_t proven_ino;    /* a socket proven by the loop, maybe before its accept was seen */
    unsigned char proven_sock; /* ... on this socket */
    int64_t since_ms;    /* when the door saw it accepted */
    char address[DN_DOOR_ADDRESS_SIZE];
} s_conn_t;

typedef struct {
    void *sock;    /* the watched socket (the loop's) */
    void *monitor; /* the door's end of its monitor */
    char name[16];
    int per_address, total, hard;
    int *strangers; /* their descriptors, oldest first */
    int n_strangers;
} s_watch_t;

struct dn_door {
    void *ctx;
    pthread_mutex_t lock; /* everything below but stop */
    pthread_t thread;
    int started;
    atomic_int stop;
    s_watch_t watch[DN_DOOR_MAX_SOCKETS];
    int n_watch;
    s_conn_t *conns; /* by descriptor */
    int n_conns;
};

dn_door_t *dn_door_new(void *ctx)
{
    dn_door_t *door = calloc(1, sizeof *door);
    if (!door)
        return NULL;
    door->ctx = ctx;
    pthread_mutex_init(&door->lock, NULL);
    atomic_init(&door->stop, 0);
    return door;
}

/*  How many young strangers may be there at once, lingering ones
    included: DN_DOOR_YOUNG_FACTOR x total, within a quarter of the
    descriptors the process may open, and never fewer than total.  */
static int s_hard(int total)
{
    struct rlimit rl;
    long hard = (long)total * DN_DOOR_YOUNG_FACTOR;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (long)(rl.rlim_cur / 4) < hard)
        hard = (long)(rl.rlim_cur / 4);
    return hard < total ? total : (int)hard;
}

int dn_door_hard(dn_door_t *door, int index)
{
    return door && index >= 0 && index < door->n_watch ? door->watch[index].hard : 0;
}

int dn_door_watch(dn_door_t *door, void *sock, const char *name, int per_address,
                  int total)
{
    char endpoint[64];
    int linger = 0, unlimited = 0;
    if (door->n_watch == DN_DOOR_MAX_SOCKETS || per_address < 1 || total < per_address)
        return -1;
    s_watch_t *w = &door->watch[door->n_watch];
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    w->per_address = per_address;
    w->total = total;
    w->hard = s_hard(total);
    /* one more than the cap: a new stranger is listed before the oldest goes */
    if (!(w->strangers = calloc((size_t)w->hard + 1, sizeof *w->strangers)))
        return -1;
    snprintf(endpoint, sizeof endpoint, "inproc://dn-door-%p-%d", (void *)door,
             door->n_watch);
    /* The monitor's pipe has no bound on our side (RCVHWM 0): libzmq's I/O
       thread sends events blocking, and must never wait for the door.  */
    if (zmq_socket_monitor(sock, endpoint, DN_DOOR_EVENTS) != 0 ||
        !(w->monitor = zmq_socket(door->ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(w->monitor, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(w->monitor, ZMQ_RCVHWM, &unlimited, sizeof unlimited) ||
        zmq_connect(w->monitor, endpoint) != 0) {
        dn_log_error("cannot watch the %s socket: %s", name, zmq_strerror(errno));
        if (w->monitor)
            zmq_close(w->monitor);
        zmq_socket_monitor(sock, NULL, 0);
        free(w->strangers);
        memset(w, 0, sizeof *w);
        return -1;
    }
    w->sock = sock;
    return door->n_watch++;
}

/* -- the table of connections (under the lock) ----------------------------- */

/*  The entry of descriptor fd, the table grown to hold it; NULL if it
    cannot be.  */
static s_conn_t *s_conn(dn_door_t *door, int fd)
{
    if (fd < 0)
        return NULL;
    if (fd >= door->n_conns) {
        int n = door->n_conns ? door->n_conns : 1024;
        while (n <= fd)
            n *= 2;
        s_conn_t *grown = realloc(door->conns, (size_t)n * sizeof *grown);
        if (!grown)
            return NULL;
        memset(grown + door->n_conns, 0, (size_t)(n - door->n_conns) * sizeof *grown);
        door->conns = grown;
        door->n_conns = n;
    }
    return &door->conns[fd];
}

static void s_unlist(s_watch_t *w, int fd)
{
    for (int i = 0; i < w->n_strangers; i++)
        if (w->strangers[i] == fd) {
            memmove(w->strangers + i, w->strangers + i + 1,
                    (size_t)(w->n_strangers - i - 1) * sizeof *w->strangers);
            w->n_strangers--;
            return;
        }
}

/*  The IP address of descriptor fd's peer as text (an IPv4-mapped one as
    IPv4) into text, and its family (AF_INET, AF_INET6, another for ipc://
    and the like), or -1 when it has none (gone).  */
static int s_peer_ip(int fd, char text[INET6_ADDRSTRLEN], struct in6_addr *v6)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, INET6_ADDRSTRLEN);
        return AF_INET;
    }
    if (ss.ss_family != AF_INET6)
        return ss.ss_family;
    *v6 = ((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(v6)) {
        inet_ntop(AF_INET, &v6->s6_addr[12], text, INET6_ADDRSTRLEN);
        return AF_INET;
    }
    inet_ntop(AF_INET6, v6, text, INET6_ADDRSTRLEN);
    return AF_INET6;
}

/*  The peer's address as the caps count it: the IPv4 address, or the /64
    prefix of an IPv6 one (one subscriber's share of addresses).  */
static void s_address(int fd, char out[DN_DOOR_ADDRESS_SIZE])
{
    char text[INET6_ADDRSTRLEN];
    struct in6_addr v6;
    switch (s_peer_ip(fd, text, &v6)) {
    case AF_INET:
        snprintf(out, DN_DOOR_ADDRESS_SIZE, "%s", text);
        break;
    case AF_INET6:
        memset(&v6.s6_addr[8], 0, 8);
        inet_ntop(AF_INET6, &v6, text, sizeof text);
        snprintf(out, DN_DOOR_ADDRESS_SIZE, "%s/64", text);
        break;
    default:
        snprintf(out, DN_DOOR_ADDRESS_SIZE, "local");
    }
}

/*  Closes stranger i of w's list (its oldest is 0) and counts why.  */
static void s_close(s_watch_t *w, s_conn_t *conns, int i, dn_refusal_t why)
{
    static dn_log_limit_t logged = {"door closings", 0, 0, 0, NULL};
    int fd = w->strangers[i];
    s_conn_t *c = &conns[fd];
    struct stat st;
    s_unlist(w, fd);
    /* A duplicate holds the socket now under fd, whatever libzmq's thread
       does meanwhile: if it is the one accepted, it is the one shut down.
       Otherwise the connection is gone already (its end is still to be
       read from the monitor): leave the number alone.  */
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0 || fstat(dup, &st) != 0 || st.st_ino != c->ino) {
        if (dup >= 0)
            close(dup);
        c->state = S_FREE;
        return;
    }
    shutdown(dup, SHUT_RDWR);
    close(dup);
    c->state = S_CLOSING;
    dn_refusal_count(why);
    if (why == DN_REFUSAL_DEADLINE)
        dn_log_warn_limited(&logged,
                            "%s socket: closed a connection from %s: no enrolled key "
                            "shown within %d s",
                            w->name, c->address, DN_DOOR_STRANGER_MS / 1000);
    else
        dn_log_warn_limited(&logged,
                            "%s socket: closed a connection from %s: more than %d "
                            "unproven connections %s",
                            w->name, c->address,
                            why == DN_REFUSAL_ADDRESS ? w->per_address : w->total,
                            why == DN_REFUSAL_ADDRESS ? "from that address" : "in all");
}

/*  The strangers of w that have lingered past DN_DOOR_GRACE_MS at now:
    the head of the list, which is oldest first.  */
static int s_lingering(const s_watch_t *w, const s_conn_t *conns, int64_t now)
{
    int n = 0;
    while (n < w->n_strangers && now - conns[w->strangers[n]].since_ms >= DN_DOOR_GRACE_MS)
        n++;
    return n;
}

/*  The total caps: more than hard strangers, or more than total that have
    lingered, close the oldest.  */
static void s_caps(s_watch_t *w, s_conn_t *conns, int64_t now)
{
    while (w->n_strangers > w->hard ||
           (w->n_strangers > w->total && s_lingering(w, conns, now) > w->total))
        s_close(w, conns, 0, DN_REFUSAL_FULL);
}

static void s_accepted(dn_door_t *door, int index, int fd)
{
    s_watch_t *w = &door->watch[index];
    struct stat st;
    s_conn_t *c;
    int same = 0;

    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) || !(c = s_conn(door, fd)))
        return; /* gone already: its end follows */
    if (c->state == S_STRANGER) /* a connection whose end was not seen */
        s_unlist(&door->watch[c->sock], fd);
    c->sock = (unsigned char)index;
    c->ino = st.st_ino;
    c->spoke = 0;
    c->since_ms = s_now_ms();
    s_address(fd, c->address);
    if (c->proven_ino == st.st_ino && c->proven_sock == index) { /* read before seen */
        c->state = S_PROVEN;
        return;
    }
    c->state = S_STRANGER;
    w->strangers[w->n_strangers++] = fd;
    for (int i = 0; i < w->n_strangers; i++)
        same += strcmp(door->conns[w->strangers[i]].address, c->address) == 0;
    if (same > w->per_address) {
        for (int i = 0; i < w->n_strangers; i++)
            if (strcmp(door->conns[w->strangers[i]].address, c->address) == 0) {
                s_close(w, door->conns, i, DN_REFUSAL_ADDRESS);
                break;
            }
    }
    s_caps(w, door->conns, c->since_ms);
}

static void s_gone(dn_door_t *door, int index, int fd)
{
    static dn_log_limit_t logged = {"connections ended before a message", 0, 0, 0, NULL};
    if (fd < 0 || fd >= door->n_conns)
        return;
    s_conn_t *c = &door->conns[fd];
    s_watch_t *w = &door->watch[index];
    if (c->sock != index)
        return; /* the number is another socket's now */
    if (c->state == S_STRANGER) {
        s_unlist(w, fd);
        if (!c->spoke) {
            dn_refusal_count(DN_REFUSAL_SILENT);
            dn_log_warn_limited(&logged,
                                "%s socket: a connection from %s ended after %lld ms "
                                "without a whole message (a frame over the size limit, "
                                "a failed handshake or a dropped link)",
                                w->name, c->address,
                                (long long)(s_now_ms() - c->since_ms));
        }
    }
    c->state = S_FREE;
}

static const char *s_protocol_error(uint32_t code)
{
    switch (code) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        return "its security mechanism is not CURVE (a client without keys: NULL or PLAIN)";
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
        return "its CURVE handshake does not decrypt (wrong server key?)";
    default:
        return code >= ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED &&
                       code < ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED
                   ? "the key check failed"
                   : "it does not follow ZMTP 3";
    }
}

static void s_event(dn_door_t *door, int index, uint16_t event, uint32_t value)
{
    static dn_log_limit_t accept = {"failed accepts", 0, 0, 0, NULL};
    static dn_log_limit_t protocol = {"refused handshakes", 0, 0, 0, NULL};
    const char *name = door->watch[index].name;
    switch (event) {
    case ZMQ_EVENT_ACCEPTED:
        s_accepted(door, index, (int)value);
        break;
    case ZMQ_EVENT_DISCONNECTED:
        s_gone(door, index, (int)value);
        break;
    case ZMQ_EVENT_ACCEPT_FAILED:
        dn_refusal_count(DN_REFUSAL_ACCEPT);
        dn_log_warn_limited(&accept,
                            "%s socket: cannot accept a connection: %s (raise the "
                            "descriptor limit, LimitNOFILE= in the unit)",
                            name, strerror((int)value));
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        dn_refusal_count(DN_REFUSAL_MECHANISM);
        dn_log_warn_limited(&protocol, "%s socket: refused a handshake: %s (0x%x)", name,
                            s_protocol_error(value), (unsigned)value);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: /* ZAP logged who and why */
        dn_refusal_count(DN_REFUSAL_ZAP);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        dn_refusal_count(DN_REFUSAL_UNFINISHED);
        break;
    default:
        break;
    }
}

/*  Reads one event of monitor without waiting.  Returns 1 with it, 0 for
    a message that is not an event, -1 when none is waiting.  */
static int s_read_event(void *monitor, uint16_t *event, uint32_t *value)
{
    uint8_t head[6];
    char scratch[256];
    int more = 0;
    size_t more_size = sizeof more;
    int n = zmq_recv(monitor, head, sizeof head, ZMQ_DONTWAIT);
    if (n < 0)
        return -1;
    zmq_getsockopt(monitor, ZMQ_RCVMORE, &more, &more_size);
    while (more) { /* the endpoint: ours, not the peer's */
        zmq_recv(monitor, scratch, sizeof scratch, 0);
        zmq_getsockopt(monitor, ZMQ_RCVMORE, &more, &more_size);
    }
    if (n != (int)sizeof head)
        return 0;
    memcpy(event, head, sizeof *event);
    memcpy(value, head + 2, sizeof *value);
    return 1;
}

static void s_deadlines(dn_door_t *door, int64_t now)
{
    for (int k = 0; k < door->n_watch; k++) {
        s_watch_t *w = &door->watch[k];
        while (w->n_strangers > 0 &&
               now - door->conns[w->strangers[0]].since_ms >= DN_DOOR_STRANGER_MS)
            s_close(w, door->conns, 0, DN_REFUSAL_DEADLINE);
        s_caps(w, door->conns, now); /* young ones grow old */
    }
}

static void *s_run(void *arg)
{
    dn_door_t *door = arg;
    int64_t minute = dn_time_now_ms() / 60000;
    while (!atomic_load(&door->stop)) {
        zmq_pollitem_t items[DN_DOOR_MAX_SOCKETS];
        for (int k = 0; k < door->n_watch; k++)
            items[k] = (zmq_pollitem_t){door->watch[k].monitor, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, door->n_watch, DN_DOOR_POLL_MS) < 0 && errno != EINTR) {
            /* the caps must go on holding: say so, and try again */
            static dn_log_limit_t failed = {"door poll failures", 0, 0, 0, NULL};
            dn_log_error_limited(&failed, "door: poll: %s", zmq_strerror(errno));
            struct timespec pause = {0, DN_DOOR_POLL_MS * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
        pthread_mutex_lock(&door->lock);
        for (int k = 0; k < door->n_watch; k++) {
            uint16_t event;
            uint32_t value;
            int rc;
            for (int n = 0; n < DN_DOOR_BATCH &&
                            (rc = s_read_event(door->watch[k].monitor, &event, &value)) >= 0;
                 n++)
                if (rc == 1)
                    s_event(door, k, event, value);
        }
        s_deadlines(door, s_now_ms());
        for (int k = 0; k < door->n_watch; k++)
            dn_refusal_set_strangers(door->watch[k].name, door->watch[k].n_strangers);
        pthread_mutex_unlock(&door->lock);
        if (dn_time_now_ms() / 60000 != minute) {
            minute = dn_time_now_ms() / 60000;
            dn_refusal_summary();
        }
    }
    return NULL;
}

int dn_door_start(dn_door_t *door)
{
    /* The thread takes no signals: SIGTERM must reach the server's loop,
       whose zmq_poll it interrupts (taken by this thread, it would leave
       the loop serving until its poll times out, the shutdown racing the
       peers' last messages).  The thread inherits the mask.  */
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &before);
    int rc = pthread_create(&door->thread, NULL, s_run, door);
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    if (rc != 0) {
        dn_log_error("cannot start the door's thread: %s", strerror(rc));
        return -1;
    }
    door->started = 1;
    return 0;
}

/*  1 if descriptor fd's peer is at address (libzmq's Peer-Address: the IP
    as text, an IPv4-mapped one as ::ffff:a.b.c.d).  */
static int s_peer_is(int fd, const char *address)
{
    char text[INET6_ADDRSTRLEN];
    struct in6_addr v6;
    int family;
    if (!address || (family = s_peer_ip(fd, text, &v6)) < 0)
        return 0;
    if (family != AF_INET && family != AF_INET6)
        return 1; /* ipc:// and the like: no address to tell apart */
    if (strncmp(address, "::ffff:", 7) == 0 && strchr(address, '.'))
        address += 7;
    return strcmp(text, address) == 0;
}

void dn_door_seen(dn_door_t *door, int index, int fd, const char *peer, int proven)
{
    struct stat st;
    s_conn_t *c;
    if (!door || fd < 0 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        return;
    /* The number is the one the connection had when its handshake ended:
       the message may have waited in the pipe after that connection closed
       and another took the number.  A proof is only given to a socket at
       the address the message came from.  */
    if (proven && !s_peer_is(fd, peer))
        return;
    pthread_mutex_lock(&door->lock);
    if ((c = s_conn(door, fd)) != NULL) {
        if (proven) {
            c->proven_ino = st.st_ino;
            c->proven_sock = (unsigned char)index;
        }
        if (c->state == S_STRANGER && c->ino == st.st_ino && c->sock == index) {
            if (proven) {
                s_unlist(&door->watch[index], fd);
                c->state = S_PROVEN;
            } else {
                c->spoke = 1;
            }
        }
    }
    pthread_mutex_unlock(&door->lock);
}

void dn_door_unwatch(dn_door_t *door, int index)
{
    if (!door || index < 0 || index >= door->n_watch || !door->watch[index].sock)
        return;
    zmq_socket_monitor(door->watch[index].sock, NULL, 0);
    door->watch[index].sock = NULL;
}

void dn_door_stop(dn_door_t *door)
{
    if (!door)
        return;
    for (int k = 0; k < door->n_watch; k++)
        dn_door_unwatch(door, k);
    atomic_store(&door->stop, 1);
    if (door->started) {
        pthread_join(door->thread, NULL);
        door->started = 0;
    }
    dn_refusal_summary();
}

void dn_door_destroy(dn_door_t **door)
{
    if (!door || !*door)
        return;
    dn_door_stop(*door);
    for (int k = 0; k < (*door)->n_watch; k++) {
        if ((*door)->watch[k].monitor)
            zmq_close((*door)->watch[k].monitor);
        free((*door)->watch[k].strangers);
    }
    pthread_mutex_destroy(&(*door)->lock);
    free((*door)->conns);
    free(*door);
    *door = NULL;
}

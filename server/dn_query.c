/*  dn_query -- HQ's read-only admin commands, off the server's loop (see
    dn_query.h).

    The loop's side is one inproc ROUTER; each thread has a DEALER whose
    routing id names it ("w0", "w1").  A thread says it is there with one
    empty frame (before dn_query_new returns, so the ROUTER knows every
    thread before anything is sent to one); a request goes to it as
    [routing id on the admin socket][admin][AdminRequest] and comes back
    as [routing id][AdminReply] (an empty reply: none could be built, the
    peer gets nothing, as on the loop); one empty frame tells it to stop.
    Which thread is free is the loop's knowledge alone (a thread takes one
    request at a time): a request waits in the loop's queue, not in a
    busy thread's socket, so a short query never waits behind a long one
    while the other thread is free.
*/
#include "dn_query.h"
#include "dn_admin.h"
#include "dn_central.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_testctl.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define DN_QUERY_HOLD_POLL_MS 10 /* the test hook's look at its file */

typedef struct {
    struct _dn_query_t *pool;
    char id[3];    /* routing id, "w0" */
    sqlite3 *db;   /* its connection: used by the thread only, closed after the join */
    void *sock;    /* its DEALER: made here, used by the thread only */
    pthread_t thread;
    int started;
    int free;      /* the loop's view: 1 when it may be given a request */
} s_worker_t;

/*  A request waiting for a free thread.  */
typedef struct s_pending {
    struct s_pending *next;
    zmq_msg_t route, admin, request;
} s_pending_t;

struct _dn_query_t {
    void *ctx;
    void *router; /* the loop's: the threads' answers come in here */
    char endpoint[64];
    s_worker_t workers[DN_QUERY_THREADS];
    s_pending_t *head, *tail; /* waiting, oldest first */
    unsigned waiting, running;
    char *hold; /* DEALERNET_TEST_QUERY_HOLD, or NULL */
    atomic_int stopping;
};

/* -- a thread ---------------------------------------------------------------- */

/*  The test hook (dn_testctl.h): waits, with the request's read
    transaction open, until the file is gone or the pool stops.  */
static void s_hold(s_worker_t *w)
{
    const struct timespec poll = {0, DN_QUERY_HOLD_POLL_MS * 1000000L};
    if (access(w->pool->hold, F_OK) != 0)
        return;
    dn_log_info("test hook: a query is held until %s is removed", w->pool->hold);
    while (access(w->pool->hold, F_OK) == 0 && !atomic_load(&w->pool->stopping))
        nanosleep(&poll, NULL);
}

/*  Answers one request on the thread's connection, inside one read
    transaction: every read of the request sees one snapshot of the
    database, whatever the loop commits meanwhile.  Sets *reply (may be
    NULL: none could be built).  */
static void s_answer(s_worker_t *w, const char *admin, zmq_msg_t *request, uint8_t **reply,
                     size_t *reply_len)
{
    int begun = dn_db_exec(w->db, "BEGIN") == 0;
    if (dn_admin_handle(w->db, admin, zmq_msg_data(request), zmq_msg_size(request), reply,
                        reply_len) != 0) {
        *reply = NULL;
        *reply_len = 0;
    }
    if (w->pool->hold)
        s_hold(w);
    if (begun && dn_db_exec(w->db, "COMMIT") != 0)
        dn_db_rollback(w->db);
}

static void *s_work(void *arg)
{
    s_worker_t *w = arg;
    int more;
    size_t more_size = sizeof more;

    zmq_send(w->sock, "", 0, 0); /* here, and free */
    for (;;) {
        zmq_msg_t route, admin, request;
        zmq_msg_init(&route);
        int got;
        while ((got = zmq_msg_recv(&route, w->sock, 0)) < 0 && zmq_errno() == EINTR)
            ;
        if (got < 0) {
            zmq_msg_close(&route);
            break; /* the context is ending */
        }
        zmq_getsockopt(w->sock, ZMQ_RCVMORE, &more, &more_size);
        if (!more) { /* one frame: stop */
            zmq_msg_close(&route);
            break;
        }
        zmq_msg_init(&admin);
        zmq_msg_init(&request);
        zmq_msg_recv(&admin, w->sock, 0);
        zmq_msg_recv(&request, w->sock, 0);
        /* the admin's name, as a string (its bytes, without a NUL) */
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)zmq_msg_size(&admin),
                 (const char *)zmq_msg_data(&admin));
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        s_answer(w, name, &request, &reply, &reply_len);
        zmq_msg_send(&route, w->sock, ZMQ_SNDMORE);
        zmq_send(w->sock, reply ? reply : (uint8_t *)"", reply ? reply_len : 0, 0);
        free(reply);
        zmq_msg_close(&route);
        zmq_msg_close(&admin);
        zmq_msg_close(&request);
    }
    zmq_close(w->sock);
    w->sock = NULL;
    return NULL;
}

/* -- the loop's side ----------------------------------------------------------- */

/*  The worker whose routing id is in msg, or NULL.  */
static s_worker_t *s_worker(dn_query_t *self, zmq_msg_t *msg)
{
    for (int i = 0; i < DN_QUERY_THREADS; i++)
        if (zmq_msg_size(msg) == 2 && memcmp(zmq_msg_data(msg), self->workers[i].id, 2) == 0)
            return &self->workers[i];
    return NULL;
}

/*  Gives the free threads the oldest requests waiting.  */
static void s_dispatch(dn_query_t *self)
{
    for (int i = 0; i < DN_QUERY_THREADS && self->head; i++) {
        s_worker_t *w = &self->workers[i];
        if (!w->free)
            continue;
        s_pending_t *p = self->head;
        self->head = p->next;
        if (!self->head)
            self->tail = NULL;
        self->waiting--;
        if (zmq_send(self->router, w->id, 2, ZMQ_SNDMORE) == 2 &&
            zmq_msg_send(&p->route, self->router, ZMQ_SNDMORE) >= 0 &&
            zmq_msg_send(&p->admin, self->router, ZMQ_SNDMORE) >= 0 &&
            zmq_msg_send(&p->request, self->router, 0) >= 0) {
            w->free = 0;
            self->running++;
        } else { /* inproc, to a thread that said it is free: not expected */
            dn_log_error("query: cannot hand a request to thread %s: %s; it is dropped",
                         w->id, zmq_strerror(zmq_errno()));
        }
        zmq_msg_close(&p->route);
        zmq_msg_close(&p->admin);
        zmq_msg_close(&p->request);
        free(p);
    }
}

/*  Receives one message of the router into frames (at most max after the
    routing id, the rest dropped) without waiting.  Returns the number of
    frames after the routing id, or -1 if none was waiting.  */
static int s_receive(dn_query_t *self, zmq_msg_t *id, zmq_msg_t *frames, int max, int flags)
{
    int more, n = 0;
    size_t more_size = sizeof more;
    zmq_msg_init(id);
    if (zmq_msg_recv(id, self->router, flags) < 0) {
        zmq_msg_close(id);
        return -1;
    }
    zmq_getsockopt(self->router, ZMQ_RCVMORE, &more, &more_size);
    while (more) {
        zmq_msg_t scratch, *m = n < max ? &frames[n] : &scratch;
        zmq_msg_init(m);
        zmq_msg_recv(m, self->router, 0);
        zmq_getsockopt(self->router, ZMQ_RCVMORE, &more, &more_size);
        if (n >= max)
            zmq_msg_close(m);
        n++;
    }
    return n;
}

static void s_close_frames(zmq_msg_t *frames, int n, int max)
{
    for (int i = 0; i < n && i < max; i++)
        zmq_msg_close(&frames[i]);
}

dn_query_t *dn_query_new(void *ctx, const char *dir, int *rc)
{
    static atomic_int serial; /* one endpoint per pool of the process */
    int linger = 0, mandatory = 1;
    dn_query_t *self = calloc(1, sizeof *self);

    *rc = DN_ENOMEM;
    if (!self)
        return NULL;
    if (!sqlite3_threadsafe()) { /* a build without mutexes: one connection per thread is not enough */
        dn_log_error("query: this SQLite was built without threads (SQLITE_THREADSAFE=0)");
        free(self);
        *rc = DN_EDB;
        return NULL;
    }
    self->ctx = ctx;
    const char *hold = dn_testctl_query_hold();
    if (hold && !(self->hold = strdup(hold))) {
        free(self);
        return NULL;
    }
    snprintf(self->endpoint, sizeof self->endpoint, "inproc://dn-query-%p-%d", (void *)self,
             atomic_fetch_add(&serial, 1));
    *rc = DN_EIO;
    if (!(self->router = zmq_socket(ctx, ZMQ_ROUTER)) ||
        zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory) ||
        zmq_bind(self->router, self->endpoint) != 0) {
        dn_log_error("query: cannot bind %s: %s", self->endpoint, zmq_strerror(zmq_errno()));
        dn_query_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < DN_QUERY_THREADS; i++) {
        s_worker_t *w = &self->workers[i];
        w->pool = self;
        snprintf(w->id, sizeof w->id, "w%d", i);
        if ((*rc = dn_central_open_reader(dir, &w->db)) != 0) {
            dn_log_error("query: cannot open %s/%s for reading: %s", dir, DN_CENTRAL_DB_FILE,
                         dn_strerror(*rc));
            dn_query_destroy(&self);
            return NULL;
        }
        *rc = DN_EIO;
        if (!(w->sock = zmq_socket(ctx, ZMQ_DEALER)) ||
            zmq_setsockopt(w->sock, ZMQ_LINGER, &linger, sizeof linger) ||
            zmq_setsockopt(w->sock, ZMQ_ROUTING_ID, w->id, 2) ||
            zmq_connect(w->sock, self->endpoint) != 0) {
            dn_log_error("query: cannot connect thread %s: %s", w->id,
                         zmq_strerror(zmq_errno()));
            dn_query_destroy(&self);
            return NULL;
        }
        /* the socket moves to the thread (pthread_create is the full
           barrier ZeroMQ asks for) and is never used here again; the
           thread blocks every signal, so SIGTERM reaches the loop, which
           stops the server, and never interrupts a thread's wait */
        sigset_t all, before;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &before);
        int err = pthread_create(&w->thread, NULL, s_work, w);
        pthread_sigmask(SIG_SETMASK, &before, NULL);
        if (err) {
            dn_log_error("query: cannot start thread %s: %s", w->id, strerror(err));
            dn_query_destroy(&self);
            return NULL;
        }
        w->started = 1;
    }
    /* each thread's "here": after it, the router knows every routing id */
    for (int here = 0; here < DN_QUERY_THREADS;) {
        zmq_msg_t id, frames[1];
        int n = s_receive(self, &id, frames, 1, 0);
        if (n < 0 && zmq_errno() == EINTR)
            continue;
        if (n < 0) {
            dn_log_error("query: no word from the threads: %s", zmq_strerror(zmq_errno()));
            dn_query_destroy(&self);
            return NULL;
        }
        s_worker_t *w = s_worker(self, &id);
        if (w && !w->free && n == 1) {
            w->free = 1;
            here++;
        }
        s_close_frames(frames, n, 1);
        zmq_msg_close(&id);
    }
    *rc = 0;
    return self;
}

void dn_query_destroy(dn_query_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dn_query_t *self = *self_p;
    atomic_store(&self->stopping, 1);
    /* a running query stops at its next step: the connection stays open
       until its thread is joined, as sqlite3_interrupt requires */
    for (int i = 0; i < DN_QUERY_THREADS; i++)
        if (self->workers[i].started)
            sqlite3_interrupt(self->workers[i].db);
    for (int i = 0; i < DN_QUERY_THREADS; i++) {
        s_worker_t *w = &self->workers[i];
        if (!w->started)
            continue;
        /* the router knows it (it said "here"), or it never started */
        zmq_send(self->router, w->id, 2, ZMQ_SNDMORE);
        zmq_send(self->router, "", 0, 0);
    }
    for (int i = 0; i < DN_QUERY_THREADS; i++) {
        s_worker_t *w = &self->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        if (w->sock) /* made, never handed to a thread */
            zmq_close(w->sock);
        sqlite3_close(w->db);
    }
    while (self->head) {
        s_pending_t *p = self->head;
        self->head = p->next;
        zmq_msg_close(&p->route);
        zmq_msg_close(&p->admin);
        zmq_msg_close(&p->request);
        free(p);
    }
    if (self->router)
        zmq_close(self->router);
    free(self->hold);
    free(self);
    *self_p = NULL;
}

void *dn_query_socket(dn_query_t *self)
{
    return self->router;
}

unsigned dn_query_load(const dn_query_t *self)
{
    return self->waiting + self->running;
}

int dn_query_submit(dn_query_t *self, const void *route, size_t route_len, const char *admin,
                    const void *request, size_t len)
{
    if (self->waiting + self->running >= DN_QUERY_MAX)
        return DN_EAGAIN;
    s_pending_t *p = calloc(1, sizeof *p);
    size_t admin_len = strlen(admin);
    if (!p)
        return DN_ENOMEM;
    if (zmq_msg_init_size(&p->route, route_len)) {
        free(p);
        return DN_ENOMEM;
    }
    if (zmq_msg_init_size(&p->admin, admin_len)) {
        zmq_msg_close(&p->route);
        free(p);
        return DN_ENOMEM;
    }
    if (zmq_msg_init_size(&p->request, len)) {
        zmq_msg_close(&p->route);
        zmq_msg_close(&p->admin);
        free(p);
        return DN_ENOMEM;
    }
    memcpy(zmq_msg_data(&p->route), route, route_len);
    memcpy(zmq_msg_data(&p->admin), admin, admin_len);
    memcpy(zmq_msg_data(&p->request), request, len);
    if (self->tail)
        self->tail->next = p;
    else
        self->head = p;
    self->tail = p;
    self->waiting++;
    s_dispatch(self);
    return 0;
}

int dn_query_forward(dn_query_t *self, void *admin)
{
    int sent = 0;
    for (;;) {
        zmq_msg_t id, frames[2];
        int n = s_receive(self, &id, frames, 2, ZMQ_DONTWAIT);
        if (n < 0)
            break;
        s_worker_t *w = s_worker(self, &id);
        if (w && n == 2 && !w->free) {
            if (zmq_msg_size(&frames[1]) > 0) {
                zmq_msg_send(&frames[0], admin, ZMQ_SNDMORE | ZMQ_DONTWAIT);
                zmq_send(admin, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
                zmq_msg_send(&frames[1], admin, ZMQ_DONTWAIT);
                sent++;
            }
            w->free = 1;
            self->running--;
        }
        s_close_frames(frames, n, 2);
        zmq_msg_close(&id);
    }
    s_dispatch(self);
    return sent;
}

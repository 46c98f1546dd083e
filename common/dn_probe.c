/*  dn_probe -- why a ZeroMQ client connection is not answering (see
    dn_probe.h).

    One attempt runs CONNECTED -> handshake event -> (DISCONNECTED ->
    CONNECT_RETRIED -> the next attempt).  The state is what the latest
    attempt showed, except that a CONNECT_RETRIED ending an attempt that had
    connected keeps what that attempt showed: a wrong key is followed by a
    retry just as a refused connection is, and must not read as "down".
*/
#include "dn_probe.h"
#include "dn_i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define DN_PROBE_EVENTS                                                                  \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |         \
     ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |              \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct _dn_probe_t {
    void *sock;    /* borrowed: the watched socket */
    void *monitor; /* PAIR connected to its monitor */
    dn_probe_state_t state;
    uint32_t value;    /* the ZAP status of DN_PROBE_AUTH */
    int connected;     /* the current attempt reached TCP */
    int handshook;     /* ... and ended its handshake, either way */
    int ever_up;
};

dn_probe_t *dn_probe_new(void *ctx, void *sock)
{
    static int serial; /* one inproc name per probe of the process */
    char endpoint[64];
    int linger = 0;
    dn_probe_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(endpoint, sizeof endpoint, "inproc://dn-probe-%p-%d", (void *)self, serial++);
    self->sock = sock;
    if (zmq_socket_monitor(sock, endpoint, DN_PROBE_EVENTS) != 0 ||
        !(self->monitor = zmq_socket(ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(self->monitor, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_connect(self->monitor, endpoint) != 0) {
        if (self->monitor)
            zmq_close(self->monitor);
        zmq_socket_monitor(sock, NULL, 0);
        free(self);
        return NULL;
    }
    return self;
}

void dn_probe_destroy(dn_probe_t **self_p)
{
    if (self_p && *self_p) {
        zmq_socket_monitor((*self_p)->sock, NULL, 0);
        zmq_close((*self_p)->monitor);
        free(*self_p);
        *self_p = NULL;
    }
}

void *dn_probe_socket(const dn_probe_t *self)
{
    return self->monitor;
}

uint32_t dn_probe_value(const dn_probe_t *self)
{
    return self->state == DN_PROBE_AUTH ? self->value : 0;
}

int dn_probe_ever_up(const dn_probe_t *self)
{
    return self->ever_up;
}

/*  Reads one monitor event (two frames: event number and value, then the
    endpoint).  Returns the event number, or 0 when none is waiting.  */
static int s_event(void *monitor, uint32_t *value)
{
    zmq_msg_t msg;
    uint16_t event = 0;
    int more = 0;
    size_t more_size = sizeof more;

    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, monitor, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return 0;
    }
    if (zmq_msg_size(&msg) >= 6) {
        memcpy(&event, zmq_msg_data(&msg), 2);
        memcpy(value, (const uint8_t *)zmq_msg_data(&msg) + 2, 4);
    }
    zmq_getsockopt(monitor, ZMQ_RCVMORE, &more, &more_size);
    zmq_msg_close(&msg);
    while (more) { /* the endpoint frame */
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, monitor, 0) < 0)
            more = 0;
        else
            zmq_getsockopt(monitor, ZMQ_RCVMORE, &more, &more_size);
        zmq_msg_close(&msg);
    }
    return event;
}

static void s_apply(dn_probe_t *self, int event, uint32_t value)
{
    switch (event) {
    case ZMQ_EVENT_CONNECTED:
        self->state = DN_PROBE_SILENT; /* until the handshake says more */
        self->connected = 1;
        self->handshook = 0;
        break;
    case ZMQ_EVENT_CONNECT_RETRIED:
        if (!self->connected)
            self->state = DN_PROBE_REFUSED;
        self->connected = 0;
        break;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        self->state = DN_PROBE_UP;
        self->handshook = 1;
        self->ever_up = 1;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        self->state = DN_PROBE_AUTH;
        self->value = value;
        self->handshook = 1;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        /* A box that does not open is the key; any other ZMTP error is a
           peer that speaks ZeroMQ otherwise than a dealernet server.  */
        self->state = value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC ? DN_PROBE_BAD_KEY
                                                                    : DN_PROBE_NOT_ZMTP;
        self->handshook = 1;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        /* A libzmq CURVE server drops a HELLO it cannot decrypt without a
           word: the greeting went through, the handshake did not.  */
        self->state = DN_PROBE_BAD_KEY;
        self->handshook = 1;
        break;
    case ZMQ_EVENT_DISCONNECTED:
        if (self->state == DN_PROBE_UP)
            self->state = DN_PROBE_DROPPED;
        else if (!self->handshook)
            self->state = DN_PROBE_NOT_ZMTP;
        break;
    default:
        break;
    }
}

dn_probe_state_t dn_probe_update(dn_probe_t *self)
{
    uint32_t value = 0;
    int event;
    while ((event = s_event(self->monitor, &value)) != 0)
        s_apply(self, event, value);
    return self->state;
}

dn_probe_state_t dn_probe_wait(dn_probe_t *self, int timeout_ms)
{
    zmq_pollitem_t item = {self->monitor, 0, ZMQ_POLLIN, 0};
    dn_probe_state_t state = dn_probe_update(self);
    while ((state == DN_PROBE_WAITING || state == DN_PROBE_SILENT) && timeout_ms > 0) {
        int step = timeout_ms < 50 ? timeout_ms : 50;
        zmq_poll(&item, 1, step);
        timeout_ms -= step;
        state = dn_probe_update(self);
    }
    return state;
}

const char *dn_probe_name(dn_probe_state_t state)
{
    static const char *names[] = {"waiting",  "refused", "silent", "not_zmtp",
                                  "bad_key", "auth",    "up",     "dropped"};
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "waiting";
}

const char *dn_probe_explain(dn_probe_state_t state, uint32_t value, const char *endpoint,
                             char *buf, size_t size)
{
    switch (state) {
    case DN_PROBE_WAITING:
        snprintf(buf, size,
                 _("no answer at all from %s (no route to it, or a firewall drops the "
                   "connection): check the address"),
                 endpoint);
        break;
    case DN_PROBE_REFUSED:
        snprintf(buf, size,
                 _("nothing listens at %s (connection refused): is dealernet-server running "
                   "there?"),
                 endpoint);
        break;
    case DN_PROBE_SILENT:
        snprintf(buf, size,
                 _("%s accepted the connection but does not speak ZeroMQ: wrong port?"),
                 endpoint);
        break;
    case DN_PROBE_NOT_ZMTP:
        snprintf(buf, size, _("%s answered, but not as a ZeroMQ server: wrong port?"), endpoint);
        break;
    case DN_PROBE_BAD_KEY:
        snprintf(buf, size,
                 _("%s dropped the secure handshake: the server key is wrong (it is the "
                   "public key 'dealernet-server init' printed)"),
                 endpoint);
        break;
    case DN_PROBE_AUTH:
        snprintf(buf, size, _("%s refused this key at the handshake (ZAP status %u)"), endpoint,
                 (unsigned)value);
        break;
    case DN_PROBE_UP:
        snprintf(buf, size, _("%s accepted the connection but sent no reply"), endpoint);
        break;
    case DN_PROBE_DROPPED:
        snprintf(buf, size, _("%s closed the connection (the server stopped or restarted)"),
                 endpoint);
        break;
    }
    return buf;
}

/*  dn_probe -- why a ZeroMQ client connection is not answering.

    A CurveZMQ client that gets no reply cannot tell, from the socket
    alone, a server that is down from a wrong port, a wrong server key or a
    key the server refuses: ZeroMQ reconnects quietly in every case.  The
    socket's monitor (zmq_socket_monitor) does see the difference, and
    libzmq 4.3 reports it as follows on the client side:

      nothing listens        CONNECT_DELAYED, CLOSED, CONNECT_RETRIED, again
      a silent TCP listener  CONNECTED, then nothing (ZMTP greeting unanswered)
      a listener that talks  CONNECTED, DISCONNECTED with no handshake event
        something else
      a wrong server key     CONNECTED, HANDSHAKE_FAILED_NO_DETAIL (the
                             server drops a HELLO it cannot decrypt: EPIPE),
                             DISCONNECTED; or HANDSHAKE_FAILED_PROTOCOL with
                             ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
      a key the server's     CONNECTED, HANDSHAKE_FAILED_AUTH (the ZAP
        ZAP handler refuses  status, e.g. 400): for an agent, the admin port
      a server that works    CONNECTED, HANDSHAKE_SUCCEEDED

    A probe watches one socket and keeps what the last connection attempt
    showed, so that the agent's sync, its doctor and dealernet-hq each
    name the cause in one line instead of "no answer".  One module says
    what each event means; its callers only word the advice.
*/
#ifndef DN_PROBE_H
#define DN_PROBE_H

#include <stddef.h>
#include <stdint.h>

/*  What the last connection attempt showed, in the order an attempt goes.  */
typedef enum {
    DN_PROBE_WAITING = 0, /* no TCP answer yet: no route, a firewall that drops */
    DN_PROBE_REFUSED,     /* TCP connection refused: nothing listens there */
    DN_PROBE_SILENT,      /* TCP connected, no ZeroMQ greeting back: not ZeroMQ */
    DN_PROBE_NOT_ZMTP,    /* connected, then closed without a ZeroMQ handshake */
    DN_PROBE_BAD_KEY,     /* closed in the CURVE handshake: the server key is wrong */
    DN_PROBE_AUTH,        /* the server's ZAP handler refused our key (status in value) */
    DN_PROBE_UP,          /* the CURVE handshake succeeded */
    DN_PROBE_DROPPED      /* was up, then the server closed the connection */
} dn_probe_state_t;

typedef struct _dn_probe_t dn_probe_t;

/*  Returns a new probe watching sock (borrowed; call before zmq_connect, so
    no event is missed) through a PAIR socket in ctx, or NULL when the
    monitor cannot be set up (the caller then goes on without causes).
    Caller destroys before closing sock.  */
dn_probe_t *dn_probe_new(void *ctx, void *sock);

/*  Stops the monitor and destroys; accepts NULL and sets *self_p to NULL.  */
void dn_probe_destroy(dn_probe_t **self_p);

/*  Borrowed: the monitor's socket, to poll (ZMQ_POLLIN) beside the watched
    one.  */
void *dn_probe_socket(const dn_probe_t *self);

/*  Reads every event waiting, without blocking, and returns the state they
    lead to.  */
dn_probe_state_t dn_probe_update(dn_probe_t *self);

/*  Like dn_probe_update, but waits up to timeout_ms for the state to leave
    DN_PROBE_WAITING / DN_PROBE_SILENT (the moments an attempt is still
    going on) and returns as soon as it does.  */
dn_probe_state_t dn_probe_wait(dn_probe_t *self, int timeout_ms);

/*  The ZAP status of DN_PROBE_AUTH (400, 500 ...); 0 otherwise.  */
uint32_t dn_probe_value(const dn_probe_t *self);

/*  1 if a CURVE handshake ever succeeded on the socket.  */
int dn_probe_ever_up(const dn_probe_t *self);

/*  A stable word for state, for JSON: "waiting", "refused", "silent",
    "not_zmtp", "bad_key", "auth", "up", "dropped".  */
const char *dn_probe_name(dn_probe_state_t state);

/*  Explains state for a person, of a connection to endpoint, in one line
    (no newline, no advice on what the caller's key is for) into buf; value
    is dn_probe_value's.  Returns buf.  */
const char *dn_probe_explain(dn_probe_state_t state, uint32_t value, const char *endpoint,
                             char *buf, size_t size);

#endif

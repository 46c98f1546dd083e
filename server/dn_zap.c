/*  dn_zap -- answering ZAP requests from central.db (see dn_zap.h).  */
#include "dn_zap.h"
#include "dn_curve.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_registry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define DN_ZAP_FRAMES     7   /* version, id, domain, address, identity, mechanism, key */
#define DN_ZAP_FRAME_SIZE 256 /* no request frame we accept is longer */
#define DN_ZAP_SELFCHECK_FROM "self-check" /* the "address" of the self-check */

void *dn_zap_bind(void *ctx)
{
    void *zap = zmq_socket(ctx, ZMQ_REP);
    int linger = 0;
    if (!zap)
        return NULL;
    zmq_setsockopt(zap, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(zap, DN_ZAP_ENDPOINT) != 0) {
        dn_log_error("cannot bind the ZAP handler: %s", zmq_strerror(errno));
        zmq_close(zap);
        return NULL;
    }
    return zap;
}

static void s_reply(void *zap, const char *request_id, size_t id_len, const char *status,
                    const char *text, const char *user_id)
{
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(zap, request_id, id_len, ZMQ_SNDMORE);
    zmq_send(zap, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(zap, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(zap, "", 0, 0);
}

int dn_zap_handle(void *zap, sqlite3 *db)
{
    char frame[DN_ZAP_FRAMES][DN_ZAP_FRAME_SIZE];
    size_t len[DN_ZAP_FRAMES] = {0};
    int n = 0, more = 1;
    char user[2 + DN_Z85_KEY_SIZE + DN_MAX_CODE_LEN] = "";
    char name[DN_MAX_CODE_LEN + 1];
    dn_peer_t kind;

    /* Read every frame of the request, keeping at most DN_ZAP_FRAMES.  */
    while (more) {
        int size = zmq_recv(zap, n < DN_ZAP_FRAMES ? frame[n] : frame[0],
                            DN_ZAP_FRAME_SIZE - 1, 0);
        size_t more_size = sizeof more;
        if (size < 0)
            return -1;
        if (n < DN_ZAP_FRAMES) {
            len[n] = (size_t)size < DN_ZAP_FRAME_SIZE - 1 ? (size_t)size
                                                          : DN_ZAP_FRAME_SIZE - 1;
            frame[n][len[n]] = '\0';
        }
        n++;
        zmq_getsockopt(zap, ZMQ_RCVMORE, &more, &more_size);
    }
    if (n < 2)
        return 0; /* REP must answer, but there is no request id to answer */
    if (n != DN_ZAP_FRAMES || strcmp(frame[0], "1.0") != 0 ||
        strcmp(frame[5], "CURVE") != 0 || len[6] != DN_CURVE_KEY_BYTES) {
        static dn_log_limit_t curve = {"handshakes without CURVE", 0, 0, 0, NULL};
        if (n < 4 || strcmp(frame[3], DN_ZAP_SELFCHECK_FROM) != 0)
            dn_log_warn_limited(&curve, "refused a handshake without CURVE (mechanism %s, "
                                        "from %s)",
                                n > 5 ? frame[5] : "?", n > 3 ? frame[3] : "?");
        s_reply(zap, frame[1], len[1], "400", "only CURVE is accepted", "");
        return 0;
    }
    if (dn_registry_peer(db, (const uint8_t *)frame[6], &kind, name) != 0) {
        s_reply(zap, frame[1], len[1], "500", "registry unavailable", "");
        return 0;
    }
    if (strcmp(frame[2], DN_ZAP_DOMAIN_ADMIN) == 0) {
        if (kind == DN_PEER_ADMIN) {
            s_reply(zap, frame[1], len[1], "200", "OK", name);
        } else {
            static dn_log_limit_t refused = {"refused admin keys", 0, 0, 0, NULL};
            if (strcmp(frame[3], DN_ZAP_SELFCHECK_FROM) != 0) /* libzmq gives an IP */
                dn_log_warn_limited(&refused,
                                    "admin socket: refused a key that is not an HQ admin "
                                    "key (from %s)",
                                    frame[3]);
            s_reply(zap, frame[1], len[1], "400", "not an admin key", "");
        }
        return 0;
    }
    if (strcmp(frame[2], DN_ZAP_DOMAIN_SYNC) != 0) {
        s_reply(zap, frame[1], len[1], "400", "unknown domain", "");
        return 0;
    }
    switch (kind) {
    case DN_PEER_SITE:
        s_reply(zap, frame[1], len[1], "200", "OK", name);
        break;
    case DN_PEER_REVOKED:
        snprintf(user, sizeof user, "!%s", name);
        s_reply(zap, frame[1], len[1], "200", "OK", user);
        break;
    case DN_PEER_REPLACED: /* the session tells it when its site moved */
        user[0] = '^';
        dn_curve_encode((const uint8_t *)frame[6], user + 1);
        s_reply(zap, frame[1], len[1], "200", "OK", user);
        break;
    case DN_PEER_UNKNOWN:
        user[0] = '?';
        dn_curve_encode((const uint8_t *)frame[6], user + 1);
        s_reply(zap, frame[1], len[1], "200", "OK", user);
        break;
    default: {
        static dn_log_limit_t admin = {"HQ keys on the sync socket", 0, 0, 0, NULL};
        dn_log_warn_limited(&admin,
                            "sync socket: refused HQ admin key %s (from %s): admin keys "
                            "do not sync; is dealernet-hq pointed at the sync port?",
                            name, frame[3]);
        s_reply(zap, frame[1], len[1], "400", "admin keys do not sync", "");
    }
    }
    return 0;
}

/* -- self-check ------------------------------------------------------------ */

#define DN_ZAP_SELFCHECK_MS    2000 /* the handler is this thread: it answers at once */
#define DN_ZAP_REPLY_FRAMES    6    /* version, id, status, text, user id, metadata */

/*  zmq_poll of one item, again when a signal interrupts it (a SIGTERM at
    startup is the daemon's loop's to act on, not a failed self-check).  */
static int s_poll(zmq_pollitem_t *item, int timeout_ms)
{
    int n;
    while ((n = zmq_poll(item, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    return n;
}

/*  One request of the self-check, sent from req as libzmq would send it
    (key NULL: a NULL-mechanism request, which has no credentials frame),
    answered by dn_zap_handle in this thread.  Copies the reply's status and
    User-Id.  Returns 0 or DN_ECRYPTO with why.  */
static int s_ask(void *req, void *zap, sqlite3 *db, const char *id, const char *domain,
                 const uint8_t *key, char status[DN_ZAP_FRAME_SIZE],
                 char user[DN_ZAP_FRAME_SIZE], char *why, size_t why_size)
{
    const char *mechanism = key ? "CURVE" : "NULL";
    const void *out[DN_ZAP_FRAMES] = {"1.0", id, domain, DN_ZAP_SELFCHECK_FROM, "",
                                      mechanism, key};
    size_t out_len[DN_ZAP_FRAMES] = {3, strlen(id), strlen(domain),
                                     strlen(DN_ZAP_SELFCHECK_FROM), 0, strlen(mechanism),
                                     DN_CURVE_KEY_BYTES};
    int frames = key ? DN_ZAP_FRAMES : DN_ZAP_FRAMES - 1;
    char in[DN_ZAP_REPLY_FRAMES][DN_ZAP_FRAME_SIZE];
    zmq_pollitem_t item = {zap, 0, ZMQ_POLLIN, 0};
    int n = 0, more = 1;

    for (int i = 0; i < frames; i++)
        if (zmq_send(req, out[i], out_len[i], i + 1 < frames ? ZMQ_SNDMORE : 0) !=
            (int)out_len[i]) {
            snprintf(why, why_size, "cannot send a ZAP request: %s", zmq_strerror(errno));
            return DN_ECRYPTO;
        }
    if (s_poll(&item, DN_ZAP_SELFCHECK_MS) != 1) {
        snprintf(why, why_size, "a ZAP request sent to %s did not reach the handler",
                 DN_ZAP_ENDPOINT);
        return DN_ECRYPTO;
    }
    if (dn_zap_handle(zap, db) != 0) {
        snprintf(why, why_size, "the handler could not read a ZAP request: %s",
                 zmq_strerror(errno));
        return DN_ECRYPTO;
    }
    item.socket = req;
    item.revents = 0;
    if (s_poll(&item, DN_ZAP_SELFCHECK_MS) != 1) {
        snprintf(why, why_size, "the handler did not answer a ZAP request");
        return DN_ECRYPTO;
    }
    while (more) {
        size_t more_size = sizeof more;
        char scratch[DN_ZAP_FRAME_SIZE];
        char *buf = n < DN_ZAP_REPLY_FRAMES ? in[n] : scratch;
        int size = zmq_recv(req, buf, DN_ZAP_FRAME_SIZE - 1, 0);
        if (size < 0) {
            snprintf(why, why_size, "cannot read a ZAP reply: %s", zmq_strerror(errno));
            return DN_ECRYPTO;
        }
        buf[size < DN_ZAP_FRAME_SIZE - 1 ? size : DN_ZAP_FRAME_SIZE - 1] = '\0';
        n++;
        zmq_getsockopt(req, ZMQ_RCVMORE, &more, &more_size);
    }
    if (n != DN_ZAP_REPLY_FRAMES || strcmp(in[0], "1.0") != 0 || strcmp(in[1], id) != 0) {
        snprintf(why, why_size, "the ZAP reply to %s is not a ZAP 1.0 reply to it", id);
        return DN_ECRYPTO;
    }
    snprintf(status, DN_ZAP_FRAME_SIZE, "%s", in[2]);
    snprintf(user, DN_ZAP_FRAME_SIZE, "%s", in[4]);
    return 0;
}

/*  Asks about one client and checks the answer's status (and User-Id,
    when want_user is not NULL).  Returns 0 or DN_ECRYPTO with why.  */
static int s_expect(void *req, void *zap, sqlite3 *db, const char *id, const char *domain,
                    const uint8_t *key, const char *want_status, const char *want_user,
                    const char *what, char *why, size_t why_size)
{
    char status[DN_ZAP_FRAME_SIZE], user[DN_ZAP_FRAME_SIZE];
    if (s_ask(req, zap, db, id, domain, key, status, user, why, why_size) != 0)
        return DN_ECRYPTO;
    if (strcmp(status, want_status) != 0 || (want_user && strcmp(user, want_user) != 0)) {
        snprintf(why, why_size, "%s was answered %s '%s', not %s%s%s", what, status, user,
                 want_status, want_user ? " " : "", want_user ? want_user : "");
        return DN_ECRYPTO;
    }
    return 0;
}

int dn_zap_selfcheck(void *ctx, void *zap, sqlite3 *db, char *why, size_t why_size)
{
    dn_curve_pair_t pair;
    uint8_t key[DN_CURVE_KEY_BYTES];
    char unknown[1 + DN_Z85_KEY_SIZE];
    void *req = zmq_socket(ctx, ZMQ_REQ);
    int linger = 0, rc = DN_ECRYPTO;

    if (!req) {
        snprintf(why, why_size, "cannot make a ZAP request socket: %s",
                 zmq_strerror(errno));
        return DN_ECRYPTO;
    }
    zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
    if (dn_curve_generate(&pair) || dn_curve_decode(pair.public_z85, key)) {
        snprintf(why, why_size, "cannot make a CURVE key to ask about");
    } else if (zmq_connect(req, DN_ZAP_ENDPOINT) != 0) {
        snprintf(why, why_size, "cannot reach %s: %s", DN_ZAP_ENDPOINT,
                 zmq_strerror(errno));
    } else {
        snprintf(unknown, sizeof unknown, "?%s", pair.public_z85);
        if (s_expect(req, zap, db, "self-check-1", DN_ZAP_DOMAIN_ADMIN, key, "400",
                     NULL, "an unknown key on the admin socket", why, why_size) == 0 &&
            s_expect(req, zap, db, "self-check-2", DN_ZAP_DOMAIN_SYNC, NULL, "400",
                     NULL, "a client without CURVE on the sync socket", why,
                     why_size) == 0 &&
            s_expect(req, zap, db, "self-check-3", DN_ZAP_DOMAIN_SYNC, key, "200",
                     unknown, "an unknown key on the sync socket", why, why_size) == 0)
            rc = 0;
    }
    zmq_close(req);
    memset(&pair, 0, sizeof pair);
    return rc;
}

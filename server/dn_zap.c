/*  dn_zap -- answering ZAP requests from central.db (see dn_zap.h).  */
#include "dn_zap.h"
#include "dn_curve.h"
#include "dn_log.h"
#include "dn_registry.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#define DN_ZAP_FRAMES     7   /* version, id, domain, address, identity, mechanism, key */
#define DN_ZAP_FRAME_SIZE 256 /* no request frame we accept is longer */

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
            dn_log_warn("admin socket: refused a key that is not an HQ admin key (from %s)",
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
    case DN_PEER_UNKNOWN:
        user[0] = '?';
        dn_curve_encode((const uint8_t *)frame[6], user + 1);
        s_reply(zap, frame[1], len[1], "200", "OK", user);
        break;
    default:
        s_reply(zap, frame[1], len[1], "400", "admin keys do not sync", "");
    }
    return 0;
}

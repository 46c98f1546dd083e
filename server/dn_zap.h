/*  dn_zap -- the ZAP handler (ZeroMQ RFC 27): who is on the other end.

    libzmq asks the handler about every CURVE handshake on the server's
    sockets.  The answer comes from central.db and is carried by the
    connection as its User-Id, which is the only identity the server
    trusts:
      sync domain:  an enrolled site's key    -> "SITE-CODE"
                    a revoked site's key      -> "!SITE-CODE" (refused per message)
                    an unknown key            -> "?Z85KEY"   (may only enroll)
                    anything else             -> 400
      admin domain: an HQ admin key           -> "ADMIN-NAME"
                    anything else             -> 400
    The handler socket must be bound before the server sockets, so that no
    connection is ever accepted without it.
*/
#ifndef DN_ZAP_H
#define DN_ZAP_H

#include <sqlite3.h>

#define DN_ZAP_ENDPOINT     "inproc://zeromq.zap.01"
#define DN_ZAP_DOMAIN_SYNC  "sync"
#define DN_ZAP_DOMAIN_ADMIN "admin"

/*  Returns a new REP socket bound to DN_ZAP_ENDPOINT in ctx, or NULL (the
    caller must then refuse to start).  */
void *dn_zap_bind(void *ctx);

/*  Receives one ZAP request from the handler socket and answers it.
    Returns 0, or -1 if receiving was interrupted (errno EINTR) or failed.
    A malformed request is answered 500 (or dropped if it cannot be).  */
int dn_zap_handle(void *zap, sqlite3 *db);

#endif

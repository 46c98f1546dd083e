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
    connection is ever accepted without it; dn_zap_selfcheck proves, before
    the server binds them, that the handler is the one libzmq will ask and
    that it refuses what it does not know.
*/
#ifndef DN_ZAP_H
#define DN_ZAP_H

#include <sqlite3.h>
#include <stddef.h>

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

/*  Sends ZAP requests over DN_ZAP_ENDPOINT in ctx, as libzmq does for a
    handshake, and answers them with dn_zap_handle(zap, db) in the calling
    thread (the handler's own): a new random CURVE key on the admin domain
    and a NULL-mechanism client on the sync domain must both be refused
    (status 400), and a new random key on the sync domain must be let in
    only to enroll (200, User-Id "?" and its key).  Run after dn_zap_bind
    and before any server socket is bound: if it fails, the server must not
    start.  Returns 0, or DN_ECRYPTO with why (one line) saying what went
    wrong.  */
int dn_zap_selfcheck(void *ctx, void *zap, sqlite3 *db, char *why, size_t why_size);

#endif

/*  dn_server -- the central daemon: ZAP handler, sync socket, admin socket.

    One loop (one thread, one zmq_poll, the one SQLite connection that
    writes): ZAP requests, sync messages and the admin requests that write
    are served in turn, so HQ's writes are serialised with ingest.  The
    admin requests that only read (dn_admin_is_query: verify, reports,
    statements, listings) are handed to the query threads (dn_query.h,
    rule 9), each with its own read connection and one snapshot per
    request; the loop sends their answers on as they come, or answers at
    once with status 75 when DN_QUERY_MAX are waiting or running.  Sync
    messages that
    are waiting are applied together in one group-committed transaction
    (each batch in its own savepoint, so a refused batch changes nothing),
    and their acks are sent only after the commit.  What each message gets
    is decided by dn_session (dn_session.h), which holds the replies until
    the commit; this loop owns the sockets, ZAP, the door and the commit's
    timing.
*/
#ifndef DN_SERVER_H
#define DN_SERVER_H

#include <signal.h>
#include <stdint.h>

#define DN_SERVER_KEY_FILE   "server.key"
#define DN_HQ_KEY_FILE       "hq.key"
#define DN_SERVER_LINGER_MS  1000
#define DN_SERVER_MAX_FILES  65536 /* the soft descriptor limit is raised to this */
#define DN_SERVER_ZAP_BATCH  256   /* ZAP requests answered per loop turn */
#define DN_SERVER_SYNC_READ_MAX 4096 /* sync messages read per turn (dn_session.h) */
#define DN_SERVER_MMAP_THRESHOLD (128 * 1024) /* main.c: big frames mapped apart */
/*  Connections are pinged this often once their handshake is done, and
    closed after three intervals without a word: a shop whose link died
    (a PC switched off, a mobile link gone) frees its descriptor.  libzmq
    answers pings by itself.  */
#define DN_SERVER_HEARTBEAT_MS 30000

typedef struct {
    const char *dir; /* holds central.db, server.key and down.key */
    const char *sync_endpoint;
    const char *admin_endpoint;
    volatile sig_atomic_t *stop; /* set by a signal handler to stop */
    void *ctx; /* a ZeroMQ context to serve in (borrowed), or NULL for a new one */
    /* The web page (dn_web.h): its address ("off": none; NULL: init's, else
       127.0.0.1 on the admin port + 1), a PEM certificate and key for
       HTTPS directly (both or neither), and an address for /metrics alone
       (NULL: /metrics is on the page's address); web_proxy: a reverse
       proxy's numeric address whose X-Real-IP header is believed for the
       failed-login count (dn_web_client; NULL: none).  */
    const char *web;
    const char *web_cert, *web_key;
    const char *metrics;
    const char *web_proxy;
} dn_server_config_t;

/*  What HQ decides of the network once, at init.  */
typedef struct {
    const char *currency; /* its one currency (ISO 4217); NULL: DN_CURRENCY_DEFAULT */
    int64_t max_sale;     /* bound on one sale, 10^-4 units (dn_central_max_sale); 0: default */
    int country;          /* phones' default country code (dn_phones); 0: default (86) */
    const char *zone;     /* its time zone, an IANA name; NULL: the currency's default */
    const char *web;      /* the web page's address or "off" (DN_META_WEB_ADDRESS);
                             NULL: 127.0.0.1 on the admin port + 1 */
} dn_server_network_t;

/*  Creates DIR/central.db, the server's CURVE key pair (DIR/server.key),
    an HQ admin key pair (DIR/hq.key, registered as admin "hq") and the
    down key (DIR/down.key, dn_down.h; dn_server_run creates it for a
    server initialised before it), and records
    the endpoints and the network's settings (network NULL, or a field 0
    or NULL: the default).  Refuses to overwrite.  Copies the server's
    public key (Z85) into server_public.  Returns 0, DN_EEXIST,
    DN_ECURRENCY (not an ISO 4217 code), DN_ENOENT (a zone the zone
    database does not hold), DN_EINVAL (a bound out of range),
    DN_EIO, DN_EDB.  */
int dn_server_init(const char *dir, const char *sync_endpoint, const char *admin_endpoint,
                   const dn_server_network_t *network, char server_public[41]);

/*  Runs the daemon until *config->stop is set, on this thread (the loop)
    and DN_QUERY_THREADS query threads it starts, after it has set the
    network's zone, and joins before it returns (the process's language,
    dn_i18n_daemon, must be set before).  The endpoints default to
    those recorded at init.  Binds the ZAP handler first and proves it with
    dn_zap_selfcheck; only then binds the sync and admin sockets.  Returns
    0 after a clean stop, or an error code if it could not start: DN_ECRYPTO
    (the ZAP handler cannot be bound in the context -- its endpoint is taken
    -- or fails its self-check; no socket was bound), DN_EIO (cannot bind),
    that of dn_web_start (the web page cannot start: HQ asked for it, so
    the server does not run without it, as it does not without its sync
    socket; `--web off` runs without), or that of the key file or
    database.  */
int dn_server_run(const dn_server_config_t *config);

#endif

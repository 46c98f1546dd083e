/*  dn_meta -- the keys of central.db's meta table, in one place.

    A leaf header: the schema's migrations paste these keys into their SQL,
    and each module that reads or writes a setting names it from here.
*/
#ifndef DN_META_H
#define DN_META_H

/*  Network settings.  */
#define DN_META_CURRENCY   "currency"   /* the network's one currency (ISO 4217) */
#define DN_META_LARGE_SALE "large_sale" /* soft threshold for one sale, minor units */
#define DN_META_MAX_SALE   "max_sale"   /* bound on one sale (dn_central_max_sale) */
#define DN_META_COUNTRY    "country"    /* default phone country code (dn_phones) */
/*  The network's time zone (dn_central_zone): an IANA name, set at init
    (absent in a file from before zones: the currency's default zone), and
    the start of its zoned periods (Unix ms; absent: 0, all zoned).  */
#define DN_META_ZONE      "zone"
#define DN_META_ZONE_FROM "zone_from"
/*  Set by the migration after the zone's on a file that held something
    before it (zone_from > 0): the dates HQ typed as UTC days that take
    effect from zone_from on are still to move to the zone's midnights.
    dn_central_zone_load does it once and removes the key.  */
#define DN_META_ZONE_DATES "zone_dates"
/*  The server's own addresses, as bound: the sync endpoint is what site.add
    returns as "sync_endpoint" so that dealernet-hq can print the agent's
    enroll command; the public key is the one shops must pin.  */
#define DN_META_SYNC_ENDPOINT  "sync_endpoint"
#define DN_META_ADMIN_ENDPOINT "admin_endpoint"
#define DN_META_SERVER_KEY     "server_public_key"
/*  The web page's address as `init --web` gave it ("127.0.0.1:8080" or
    "off"); absent: 127.0.0.1 on the admin port + 1 (dn_web.h).  */
#define DN_META_WEB_ADDRESS    "web_address"
/*  Work a migration leaves to code: the rollups' rebuild (set by the
    migration that created the rollups on a database that held events
    then; dn_rollup_complete, run by the server at start, does it and
    removes the key), and dn_phones' one-time rewrite up to the last event
    stored before it (dn_central_open).  */
#define DN_META_ROLLUP_REBUILD    "reports_rebuild"
#define DN_META_PHONES_CANONICAL  "phones_canonical"
#define DN_META_PHONES_LEGACY_EID "phones_legacy_eid"

#endif

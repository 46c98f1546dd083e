/*  dn_admin -- the admin socket's commands.

    A request (AdminRequest: a command name and named string arguments)
    from an authenticated HQ administrator is checked, run against
    central.db and answered with an AdminReply: status 0 and a JSON result,
    or a sysexits status and a one-line error.  Listings are JSON arrays of
    flat objects so that dealernet-hq can print any of them as a table, as
    JSON or as CSV without knowing the command.
*/
#ifndef DN_ADMIN_H
#define DN_ADMIN_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*  Commands and their arguments (all strings; "?" marks optional ones;
    dates are YYYY-MM-DD in UTC, months YYYY-MM):
      partner.add   code name kind parent? recruiter? joined?
                                            -> the partner, as in partner.list
                                               (joined: that day's midnight;
                                               default now)
      partner.list                          -> dn_registry_partner_list
      partner.move  code parent effective?  -> {"partner", "parent",
                                                "previous_parent" (or null),
                                                "effective" (ISO-8601)}
                                               (effective: that day's
                                               midnight; default now)
      partner.tree  code? at?               -> dn_tree_view at
                                               the end of day `at` (default
                                               now)
      partner.suspend code                  -> {"partner", "status":
      partner.resume  code                      "suspended" | "active",
                                                "effective" (ISO-8601, now)}
      site.add      code partner            -> {"site", "partner", "token",
                                                "expires" (ISO-8601 UTC),
                                                "sync_endpoint" (when known)}
      site.list                             -> dn_registry_site_list
      site.revoke   code                    -> {"site", "revoked" (ISO-8601)}
      site.threshold code amount            -> {"site", "threshold" (or null: the
                                               network's), "currency"}: a sale
                                               above it is flagged large_sale;
                                               amount "-": the network's
      member.conflicts                      -> dn_registry_member_conflicts
      member.find   text limit?             -> dn_registry_member_find: by
                                               phone prefix (the network's
                                               country) or name part; limit
                                               1..200, default 20
      member.statement phone period?        -> dn_ledger_statement of the
                                               member (phone as typed; made canonical)
      plan.set      text (the file)         -> dn_plan_json of the new version;
                                               a parse error is status 65
                                               with "line N: reason"
      plan.show     at?                     -> dn_plan_json of the version in
                                               force at the end of day `at`
                                               (default now)
      plan.list                             -> dn_plan_list (retired versions
                                               too, with "retired" and
                                               "retired_by")
      plan.check    text (the file)         -> dn_plan_check: refused as
                                               plan.set would be, stores
                                               nothing
      plan.retire   effective (YYYY-MM-DD)  -> dn_plan_retire's result
      period.close  period                  -> {"period", "closed" (ISO-8601)};
                                               a month not ended at now is
                                               status 65
      period.list                           -> dn_ledger_period_list at now
      statement     partner period?         -> dn_ledger_statement
      payout        partner amount ref      -> dn_ledger_payout; amount a
                                               decimal in the ledger currency
      partner.bank  code account name bank  -> dn_payrun_bank_set
      payout.run    period min              -> dn_payrun_propose; min a decimal
                                               in the ledger currency, >= 0
      payout.approve run                    -> dn_payrun_approve (run: its number)
      payout.cancel run                     -> dn_payrun_cancel
      payout.runs                           -> dn_payrun_list
      payout.show   run                     -> dn_payrun_show
      payout.export run format payer_account? payer_name?
                                            -> dn_payrun_export: the bank
                                               file's rows; dealernet-hq
                                               writes them as CSV
      sale.void     sale? reason site? receipt?
                                            -> dn_ledger_void's result; sale an
                                               event id or a prefix of at
                                               least 8 hex digits
                                               (dn_ledger_sale_find), or
                                               site and receipt instead
                                               (dn_ledger_sale_by_receipt);
                                               the
                                               ledger's reversal and the
                                               rollups' (dn_rollup_void)
                                               in one transaction
      sale.show     sale? site? receipt?    -> dn_drill_sale: the sale named as
                                               sale.void names it
      sale.list     site? partner? member? from? to? channel? limit?
                                            -> dn_drill_sales: member a phone
                                               as typed; from / to dates (to:
                                               its end of day); channel store,
                                               online or community; limit
                                               1..DN_DRILL_MAX_LIMIT, default
                                               DN_DRILL_LIMIT
      adjust        account amount reason   -> dn_ledger_adjust; account a
                                               partner code or
                                               "member:PHONE", amount a
                                               signed decimal in the
                                               ledger currency
      correction.list                       -> dn_ledger_corrections
      verify                                -> dn_verify_run's report on
                                               the server's own database file,
                                               status 0 also when "ok" is
                                               false
      report.sales  by? from? to? partner? team?
                                            -> dn_report_sales: by one of
                                               partner, site, channel, day,
                                               month (default), category;
                                               from / to dates (to: its
                                               end of day); team "1" with
                                               partner: its team volume;
                                               team "1", by partner:
                                               every partner's
      report.kpi    partner? period?        -> dn_report_kpi (period
                                               default: this month)
      report.referrals top? member?         -> dn_report_referrals: the top
                                               referrers (top 1..1000,
                                               default 10), or member's
                                               (a phone) referral tree
      report.sites                          -> dn_report_sites at now
      report.earnings period?               -> dn_report_earnings: every
                                               partner's statement figures
                                               (default: this month)
      refusals                              -> [{"kind", "count", "what"}]: what
                                               this server process refused since
                                               it started, by kind (dn_refusal),
                                               then "strangers_sync" /
                                               "strangers_admin": the door's
                                               unproven connections now
      exception.list all?                   -> dn_facts_list (all "1": the
                                               resolved ones too)
      exception.resolve id reason post? dismiss? accept? ack? seller?
                                            -> {"id", "resolution",
                                                "posted" (events posted)}:
                                               one action flag ("1"): post
                                               (seller: credit that
                                               partner), dismiss, accept or
                                               ack (dn_facts_resolve)
      catalog.set   sku price name category? effective? partner? fixed?
                                            -> {"sku", "list" ("network" or the
                                               partner), "effective", "price",
                                               "fixed", "changed", "version"}:
                                               dn_catalog_parse, dn_catalog_set
                                               (price a decimal in the network
                                               currency; effective default
                                               today; fixed "1")
      catalog.remove sku partner? effective?
                                            -> {"sku", "list", "removed" (rows),
                                                "version"}: dn_catalog_remove
      catalog.list  partner?                -> dn_catalog_list at now
      catalog.import text upload part line last?
                                            -> dn_catalog_import_part: text one
                                               part of the CSV (its header,
                                               then rows from the file's line
                                               `line`), upload 1..40 hex
                                               digits, part from 1, last "1"
      web.user.add  name password           -> dn_webuser_add: {"user",
                                               "created"}; a weak password
                                               is status 64 with the reason
      web.user.remove name                  -> dn_webuser_remove: {"user",
                                               "removed"}; its sessions end
                                               at their next request
      web.user.list                         -> dn_webuser_list
    Status 64 for an unknown command, an unknown or missing argument or a
    malformed value; 65 for a malformed request or another protocol
    version; otherwise dn_exit_code() of the module's DN_E* code, with its
    one-line reason naming the thing.  Each mutating command is logged at
    info level with the admin's name (never the token).  */

/*  Handles one request frame from the admin named admin (from the ZAP
    User-Id) and sets *reply / *reply_len to the packed AdminReply
    (malloc'd, caller frees).  A malformed request gets a reply with status
    65 and the reason.  db is a connection to the server's database file
    (verify opens that file again by its name, sqlite3_db_filename): the
    loop's, which writes, or for a query (dn_admin_request_is_query) a
    query thread's read connection inside its read transaction
    (dn_query.h).  Thread-safe for queries: any number of threads may
    handle queries at once, each on its own connection, beside the loop;
    the reply's text is in the request's language on the calling thread
    only (dn_i18n_peer_begin).  Returns 0, or DN_ENOMEM when no reply
    could be built.  */
int dn_admin_handle(sqlite3 *db, const char *admin, const uint8_t *request, size_t len,
                    uint8_t **reply, size_t *reply_len);

/*  dn_admin_handle with "now" given: every command reads the server's
    clock only through now_ms (defaults, period close, what is stamped), so
    a test pins an instant here; the server calls dn_admin_handle.  */
int dn_admin_handle_at(sqlite3 *db, const char *admin, int64_t now_ms,
                       const uint8_t *request, size_t len, uint8_t **reply,
                       size_t *reply_len);

/*  1 if command only reads: a query, which may run on any connection to
    the database file and on any thread (dn_query.h runs them off the
    server's loop, rule 9), each in a read transaction of its caller's.
    0 if it writes (it stays on the loop, serialised with ingest) or is
    not a command.  A query's handler and everything it calls keep no
    state between calls but in its connection (no static cache, buffer or
    statement), use only reentrant libc (gmtime_r, localtime_r; the zone
    is set before the threads start), log through dn_log (its limits take
    a lock) and count with atomics (dn_refusal); on a query_only
    connection anything it tried to write would fail (tests/unit/
    test_report.c runs every query on two such connections at once).  */
int dn_admin_is_query(const char *command);

/*  dn_admin_is_query of a packed AdminRequest's command; 0 when it does
    not decode (the loop answers it, with the reason).  */
int dn_admin_request_is_query(const uint8_t *request, size_t len);

/*  The answer to a query the server has no room for (dn_query.h: queries
    queries already waiting or running): sets *reply / *reply_len (malloc'd,
    caller frees) to an AdminReply of status 75 (EX_TEMPFAIL) and, in the
    request's language, "the server is answering N queries; retry in a
    moment".  Logs a warning (rate-limited) naming the command.  Returns
    0, or DN_ENOMEM when no reply could be built.  */
int dn_admin_reply_busy(const uint8_t *request, size_t len, unsigned queries, uint8_t **reply,
                        size_t *reply_len);

/*  Runs the query command (dn_admin_is_query; any other is refused as
    unknown) with n named string arguments, as HQ would send them, for a
    caller inside the server (the web page, dn_webpage.h), answering in
    the language in force on this thread (dn_i18n_peer_begin).  Sets
    *result (the caller decrefs it).  Returns 0, or the sysexits status
    HQ would get (64 unknown command or argument, 65, 69...) with the
    reason in why, and *result NULL.  */
int dn_admin_query(sqlite3 *db, const char *admin, int64_t now_ms, const char *command,
                   const char *const names[], const char *const values[], size_t n,
                   json_t **result, char *why, size_t why_size);

#endif

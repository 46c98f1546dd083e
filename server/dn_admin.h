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

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*  Handles one request frame from the admin named admin (from the ZAP
    User-Id) and sets *reply / *reply_len to the packed AdminReply
    (malloc'd, caller frees).  A malformed request gets a reply with status
    65 and the reason.  Returns 0, or DN_ENOMEM when no reply could be
    built.  */
int dn_admin_handle(sqlite3 *db, const char *admin, const uint8_t *request, size_t len,
                    uint8_t **reply, size_t *reply_len);

#endif

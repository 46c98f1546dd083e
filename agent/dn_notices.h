/*  dn_notices -- HQ's notices at the shop (issue 14, "Notices"): the
    applier of the notices stream (dn_down_apply_notices, dn_down.h) and
    what `notices`, `status` and `sync` show of them.

    Owns the SQL of agent.db's notices table.  A notice arrives unread;
    `dealernet-agent notices` shows it and marks it read; until then
    `status` counts it.  The text was checked by the server and is checked
    again here (dn_valid_notice) before it is stored: it is printed on the
    shop's terminal as it is, so nothing that could move the cursor or hide
    text may reach it, whatever a server sends.
*/
#ifndef DN_NOTICES_H
#define DN_NOTICES_H

#include "dn_store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*  Sets *list to a new JSON array (caller decrefs), oldest first, of the
    notices after id after (0: all) -- only the unread ones unless all:
    {"id", "sent" (ISO-8601 UTC), "sent_ms", "read" (bool: read before),
    "text"}.  Returns 0, DN_EDB or DN_ENOMEM (*list NULL).  */
int dn_notices_list(dn_store_t *store, int64_t after, int all, json_t **list);

/*  Marks the unread notices up to id through read at now_ms (a notice
    that arrived after the listing, with a higher id, stays unread).
    *marked: how many were marked.  Returns 0 or DN_EDB.  */
int dn_notices_mark_read(dn_store_t *store, int64_t through, int64_t now_ms,
                         int64_t *marked);

/*  The unread count in *unread and, when there is any, the first line of
    the newest unread notice in first_line (size bytes, cut at a
    character's start; "" when none), with *more_lines set when its text
    goes on after that line.  Returns 0, DN_EDB or DN_ENOMEM.  */
int dn_notices_unread(dn_store_t *store, int64_t *unread, char *first_line, size_t size,
                      int *more_lines);

/*  The highest notice id held (0: none), for a caller that shows what a
    sync brought.  Returns 0 or DN_EDB.  */
int dn_notices_last_id(dn_store_t *store, int64_t *id);

/*  The first line of text into line (size bytes, cut at a character's
    start); returns 1 when the text goes on after it (more lines, or a line
    cut), else 0.  */
int dn_notices_first_line(const char *text, char *line, size_t size);

#endif

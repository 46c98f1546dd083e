/*  dn_testdown -- a downstream stream of the tests' own, on both sides,
    for the programs that test the downstream channel before (and apart
    from) the real streams: the unit tests, the fake-server tool of the
    tamper test.

    "notes" rides STREAM_NOTICES: on the server, the rows of a table
    test_notes(id, text) in central.db, each a Notice item whose id is the
    version it brings (a chunk from version v holds the notes after v, in
    id order); its scope is dn_td_scope (the same for every site; a test
    changes it to move the sites); its head is the highest id plus
    dn_td_generation.  On the agent, the same table in agent.db: the
    applier writes each note (reset: deletes all first) and refuses a note
    whose text is "bad".  "credits" rides STREAM_MEMBERS, on the agent
    only: each MemberCredit item becomes a row of test_credits(phone,
    credit), a negative credit is refused.  Downs can also be made by hand,
    signed with any key (dn_td_down_*).

    No cmocka here: functions return 0 or a negative DN_E* code.
*/
#ifndef DN_TESTDOWN_H
#define DN_TESTDOWN_H

#include "dn_down.h"              /* the agent's: appliers */
#include "../../server/dn_down.h" /* the server's: streams */

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

extern char dn_td_scope[DN_DOWN_SCOPE_MAX + 1]; /* the notes' scope; "" at start */
extern uint64_t dn_td_generation;               /* added to the notes' head */

extern const dn_down_stream_t dn_td_notes_stream;
extern const dn_down_applier_t dn_td_notes_applier;
extern const dn_down_applier_t dn_td_credits_applier;

/*  Creates test_notes in central.db.  0 or DN_EDB.  */
int dn_td_server_setup(sqlite3 *db);

/*  Adds the note id with text (its own transaction or the caller's).  */
int dn_td_note_add(sqlite3 *db, int64_t id, const char *text);

/*  Creates test_notes and test_credits in agent.db.  0 or DN_EDB.  */
int dn_td_agent_setup(sqlite3 *db);

/*  count(*) of table (a name of the kit's), or -1.  */
int64_t dn_td_count(sqlite3 *db, const char *table);

/*  The text of note id in db (agent or server) into text, or DN_ENOENT.  */
int dn_td_note_text(sqlite3 *db, int64_t id, char *text, size_t size);

/*  A Down made by hand and signed with key: n notes with ids first ..
    first + n - 1, each with text (stream STREAM_NOTICES), or one credit
    (STREAM_MEMBERS, phone +8613800138000).  Caller frees with
    dn_td_down_free.  NULL if out of memory or the signature failed.  */
Dealernet__Down *dn_td_down_notes(const dn_key_t *key, const char *scope, uint64_t from,
                                  uint64_t to, int reset, int more, int64_t first, size_t n,
                                  const char *text);
Dealernet__Down *dn_td_down_credit(const dn_key_t *key, uint64_t from, uint64_t to,
                                   int64_t credit);
void dn_td_down_free(Dealernet__Down **down_p);

/*  Signs down again with key (after a test changed it).  0 or DN_ECRYPTO.  */
int dn_td_down_sign(const dn_key_t *key, Dealernet__Down *down);

/*  Packs a SyncMessage holding a DownReply of the n downs into *buf (caller
    frees).  0, or the error of dn_wire_sync_pack.  */
int dn_td_reply_pack(Dealernet__Down *const *downs, size_t n, uint8_t **buf, size_t *len);

#endif

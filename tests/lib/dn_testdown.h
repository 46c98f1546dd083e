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
                                  uint64_t to, int reset, int more, int64_t first,
                                  size_t n, const char *text);
Dealernet__Down *dn_td_down_credit(const dn_key_t *key, uint64_t from, uint64_t to,
                                   int64_t credit);
void dn_td_down_free(Dealernet__Down **down_p);

/*  Signs down again with key (after a test changed it).  0 or DN_ECRYPTO.  */
int dn_td_down_sign(const dn_key_t *key, Dealernet__Down *down);

/*  A key from the seed first, first + 1, ... first + 31.  NULL on failure.
    Caller destroys.  */
dn_key_t *dn_td_key(uint8_t first);

/*  0 if down's signature verifies with key's public half, else DN_ESIG or
    DN_ECRYPTO.  */
int dn_td_down_verify(const dn_key_t *key, const Dealernet__Down *down);

/*  A Pull of the notes holding version in scope ("" none), in p's storage.  */
typedef struct {
    Dealernet__Pull pull;
    Dealernet__StreamHolds hold;
    Dealernet__StreamHolds *holds[1];
} dn_td_pull_t;
void dn_td_pull(dn_td_pull_t *p, uint64_t version, const char *scope);

/*  Pulls one real stream through down (dn_down_pull, the framework's
    chunk, budget, cache and signature) for site at now_ms, holding
    version (0: nothing) in scope (NULL: the stream's own scope for site at
    now_ms, from its scope function; ignored at 0), with only room bytes
    of the reply's budget (DN_DOWN_MAX_BYTES) left for it: when room is
    less, the notes stream (down must serve dn_td_notes_stream) goes first
    in the Pull, from 0, with notes in db's test_notes (made anew, moving
    dn_td_generation) whose packed items take the rest exactly.  Sets
    *out to the stream's Down in the reply and returns the reply (caller
    frees with dn_wire_sync_free), or NULL (why filled).  */
Dealernet__SyncMessage *dn_td_pull_stream(dn_down_t *down, sqlite3 *db,
                                          const dn_registry_site_t *site, int64_t now_ms,
                                          const dn_down_stream_t *stream, uint64_t version,
                                          const char *scope, size_t room,
                                          const Dealernet__Down **out, char *why,
                                          size_t why_size);

/*  Packs a SyncMessage holding a DownReply of the n downs into *buf (caller
    frees).  0, or the error of dn_wire_sync_pack.  */
int dn_td_reply_pack(Dealernet__Down *const *downs, size_t n, uint8_t **buf, size_t *len);

#endif

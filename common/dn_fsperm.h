/*  dn_fsperm -- who may read and write a data folder and its files.

    agent.db and central.db hold members' names and phones; site.key,
    curve.key, server.key and hq.key are secrets.  They are private by
    construction, whatever the caller's umask:

    - a private folder is 0700 and its files 0600;
    - a group-shared folder (setgid and group-writable, like the system
      agent folder /var/lib/dealernet-agent, 2770 root-set-up for the
      clerks and the sync daemon) is 2770, its databases 0660 and its keys
      0640, all of the folder's group: every member records and syncs, no
      one else reads;
    - a folder another user can write is refused before anything is read
      or created in it: whoever can write the folder can plant a -wal file
      that SQLite replays into the database, or swap agent.db for a file
      of theirs.  Root is trusted (it can write anything anyway), and so
      are the owner and the group of a shared folder (that is what sharing
      is).

    A file that is open to other users (an agent.db made 0644 by an older
    version) is tightened when the caller owns it, with a warning, and
    refused when it does not.  Every refusal is one line naming the folder
    or file, its mode and owner, and the command that fixes it.
*/
#ifndef DN_FSPERM_H
#define DN_FSPERM_H

#include <stddef.h>
#include <sys/types.h>

/*  The modes, private and shared.  */
#define DN_FSPERM_DIR_PRIVATE  0700
#define DN_FSPERM_DIR_SHARED   02770
#define DN_FSPERM_FILE_PRIVATE 0600
#define DN_FSPERM_DB_SHARED    0660 /* every member writes the database */
#define DN_FSPERM_KEY_SHARED   0640 /* every member reads a key; no one rewrites it */

/*  Flags of dn_fsperm_folder.  */
#define DN_FSPERM_CREATE 1 /* make the folder, and missing parents 0700 */

/*  One file a folder holds.  */
typedef struct {
    const char *name; /* its name in the folder */
    int secret;       /* 1: a key; 0: a SQLite database, with its -wal and -shm */
} dn_fsperm_file_t;

/*  Checks data folder dir and makes it what it must be, before a program
    opens or creates anything in it: refuses it when another user can write
    it (world-writable, group-writable without being a shared folder, or
    owned by another user than root who can write it) or when the caller
    cannot write it; sets its mode to 0700 (02770 when shared) when the
    caller owns it or is root; then checks files[0..count) (and the -wal and
    -shm of each database), tightening those open to other users and giving
    those of a shared folder its group and mode, where the caller owns them
    or is root, else refusing.  A missing folder is made with
    DN_FSPERM_CREATE, else left to the caller's open to report (returns 0).
    Returns 0, DN_EPERM (refused) or DN_EIO (cannot make or read it);
    the reason is logged as one line.  */
int dn_fsperm_folder(const char *dir, int flags, const dn_fsperm_file_t *files,
                     size_t count);

/*  Checks one file a program reads outside a data folder it checked
    (dealernet-hq's admin key): the same rule as for the files of
    dn_fsperm_folder, by the folder that holds it.  A missing file returns 0
    (the caller's open reports it).  Returns 0 or DN_EPERM (logged).  */
int dn_fsperm_file(const char *path, int secret);

/*  The mode a new file at path must get: 0600, or in a shared folder 0660
    (database) or 0640 (secret).  For creators, which open with it and then
    fchmod to it, since the umask can only take bits away.  */
mode_t dn_fsperm_new_mode(const char *path, int secret);

#endif

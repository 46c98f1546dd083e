/*  dn_fsperm -- data folder and file permissions (see dn_fsperm.h).

    Modes are read with stat, never with access() alone: root passes every
    access() check, and CI runs as root.  access() is used once, for the
    one question it answers right for a normal user: can I write here.
*/
#include "dn_fsperm.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DN_FSPERM_NAME_SIZE 64

/*  A group-shared folder: new files take its group (setgid), its members
    write it, and no one else does.  */
static int s_shared(mode_t mode)
{
    return (mode & S_ISGID) && (mode & S_IWGRP) && !(mode & S_IWOTH);
}

/*  The name of user id (or of group id, when group), else its number.  */
static const char *s_name(int group, unsigned long id, char buf[DN_FSPERM_NAME_SIZE])
{
    const char *name = NULL;
    if (group) {
        struct group *gr = getgrgid((gid_t)id);
        name = gr ? gr->gr_name : NULL;
    } else {
        struct passwd *pw = getpwuid((uid_t)id);
        name = pw ? pw->pw_name : NULL;
    }
    if (name)
        snprintf(buf, DN_FSPERM_NAME_SIZE, "%s", name);
    else
        snprintf(buf, DN_FSPERM_NAME_SIZE, "%lu", id);
    return buf;
}

/*  Whether the caller is a member of gid (primary or supplementary).  */
static int s_member(gid_t gid)
{
    gid_t groups[256];
    int n = getgroups(256, groups);
    if (getegid() == gid)
        return 1;
    for (int i = 0; i < n; i++)
        if (groups[i] == gid)
            return 1;
    return 0;
}

/*  Copies the folder part of path into buf ("." for a bare name).  */
static void s_parent(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, size, ".");
    else if (slash == path)
        snprintf(buf, size, "/");
    else
        snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

static int s_mkdirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, DN_FSPERM_DIR_PRIVATE) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, DN_FSPERM_DIR_PRIVATE) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/*  Refuses a folder another user can write, or the caller cannot.
    Returns 0 or DN_EPERM (logged).  */
static int s_folder_refused(const char *dir, const struct stat *st, uid_t me)
{
    mode_t mode = st->st_mode & 07777;
    char owner[DN_FSPERM_NAME_SIZE], group[DN_FSPERM_NAME_SIZE],
        self[DN_FSPERM_NAME_SIZE];

    s_name(0, st->st_uid, owner);
    s_name(1, st->st_gid, group);
    s_name(0, me, self);
    if (mode & S_IWOTH) {
        dn_log_error(_("data folder %s can be written by any user (mode %04o, owner %s): "
                       "run 'chmod %o %s'"),
                     dir, (unsigned)mode, owner,
                     (unsigned)((mode & S_ISGID) && (mode & S_IWGRP)
                                    ? DN_FSPERM_DIR_SHARED
                                    : DN_FSPERM_DIR_PRIVATE),
                     dir);
        return DN_EPERM;
    }
    if ((mode & S_IWGRP) && !(mode & S_ISGID)) {
        dn_log_error(_("data folder %s can be written by group %s (mode %04o, owner %s): "
                       "run 'chmod %o %s', or 'chmod %o %s' to share it with that group"),
                     dir, group, (unsigned)mode, owner, (unsigned)DN_FSPERM_DIR_PRIVATE,
                     dir, (unsigned)DN_FSPERM_DIR_SHARED, dir);
        return DN_EPERM;
    }
    if (!s_shared(mode) && st->st_uid != me && st->st_uid != 0 && (mode & S_IWUSR)) {
        dn_log_error(_("data folder %s belongs to %s (mode %04o), who can write it: run as "
                       "%s, or 'chown %s %s'"),
                     dir, owner, (unsigned)mode, owner, self, dir);
        return DN_EPERM;
    }
    if (me != 0 && access(dir, W_OK | X_OK) != 0) {
        if (s_shared(mode) && !s_member(st->st_gid))
            dn_log_error(
                _("cannot write data folder %s (mode %04o, owner %s, group %s): run "
                  "'usermod -aG %s %s' as root, then log in again"),
                dir, (unsigned)mode, owner, group, group, self);
        else
            dn_log_error(
                _("cannot write data folder %s (mode %04o, owner %s, group %s): run "
                  "as %s, or 'chown %s %s'"),
                dir, (unsigned)mode, owner, group, owner, self, dir);
        return DN_EPERM;
    }
    return 0;
}

/*  Checks one file of a folder with stat dir_st (see dn_fsperm.h).  */
static int s_file(const char *path, int secret, const struct stat *dir_st, uid_t me)
{
    int shared = s_shared(dir_st->st_mode);
    mode_t want = !shared  ? DN_FSPERM_FILE_PRIVATE
                  : secret ? DN_FSPERM_KEY_SHARED
                           : DN_FSPERM_DB_SHARED;
    char owner[DN_FSPERM_NAME_SIZE], group[DN_FSPERM_NAME_SIZE];
    struct stat st;

    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0; /* missing: nothing to leak; not a file: the open reports it */
    mode_t mode = st.st_mode & 07777;
    int open = (mode & ~want) != 0;
    int unshared = shared && ((mode & want) != want || st.st_gid != dir_st->st_gid);
    if (!open && !unshared)
        return 0;
    /* private files only lose bits; shared ones get exactly the mode that
       lets every member of the group use them */
    mode_t target = shared ? want : (mode & want);
    s_name(1, dir_st->st_gid, group);
    if (st.st_uid == me || me == 0) {
        if ((unshared && st.st_gid != dir_st->st_gid &&
             chown(path, (uid_t)-1, dir_st->st_gid) != 0) ||
            chmod(path, target) != 0) {
            dn_log_error(_("cannot set the mode of %s (%04o) to %04o: %s"), path,
                         (unsigned)mode, (unsigned)target, strerror(errno));
            return DN_EIO;
        }
        if (open)
            dn_log_warn(_("%s was open to other users (mode %04o): made it %04o"), path,
                        (unsigned)mode, (unsigned)target);
        else
            dn_log_warn(_("%s made mode %04o, group %s, as the shared folder holding it"),
                        path, (unsigned)target, group);
        return 0;
    }
    s_name(0, st.st_uid, owner);
    /* "as root or root" is said "as root"; each sentence whole, for
       translators */
    if (open && st.st_uid == 0)
        dn_log_error(_("%s is open to other users (mode %04o, owner %s): run 'chmod %o %s' "
                       "as %s"),
                     path, (unsigned)mode, owner, (unsigned)target, path, owner);
    else if (open)
        dn_log_error(_("%s is open to other users (mode %04o, owner %s): run 'chmod %o %s' "
                       "as %s or root"),
                     path, (unsigned)mode, owner, (unsigned)target, path, owner);
    else if (st.st_uid == 0)
        dn_log_error(
            _("%s is not shared with group %s (mode %04o, owner %s): run 'chgrp %s "
              "%s && chmod %o %s' as %s"),
            path, group, (unsigned)mode, owner, group, path, (unsigned)target, path, owner);
    else
        dn_log_error(
            _("%s is not shared with group %s (mode %04o, owner %s): run 'chgrp %s "
              "%s && chmod %o %s' as %s or root"),
            path, group, (unsigned)mode, owner, group, path, (unsigned)target, path, owner);
    return DN_EPERM;
}

int dn_fsperm_folder(const char *dir, int flags, const dn_fsperm_file_t *files,
                     size_t count)
{
    static const char *const sides[] = {"", "-wal", "-shm"};
    uid_t me = geteuid();
    struct stat st;
    int rc;

    if ((flags & DN_FSPERM_CREATE) && s_mkdirs(dir) != 0) {
        dn_log_error(_("cannot create the data folder %s: %s"), dir, strerror(errno));
        return DN_EIO;
    }
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        dn_log_error(_("cannot read the data folder %s: %s"), dir, strerror(errno));
        return DN_EIO;
    }
    if (!S_ISDIR(st.st_mode)) {
        dn_log_error(_("data folder %s is not a folder"), dir);
        return DN_EIO;
    }
    if ((rc = s_folder_refused(dir, &st, me)) != 0)
        return rc;
    /* 0700 whether or not it existed: a folder made 0755 by hand (or by
       an older version) shows every user the names of the files in it */
    mode_t want = s_shared(st.st_mode) ? DN_FSPERM_DIR_SHARED : DN_FSPERM_DIR_PRIVATE;
    if ((st.st_mode & 07777) != want && (st.st_uid == me || me == 0)) {
        if (chmod(dir, want) != 0) {
            dn_log_error(_("cannot set the mode of the data folder %s to %04o: %s"), dir,
                         (unsigned)want, strerror(errno));
            return DN_EIO;
        }
        st.st_mode = (st.st_mode & ~(mode_t)07777) | want;
    }
    for (size_t i = 0; i < count; i++) {
        for (size_t s = 0; s < (files[i].secret ? 1 : 3); s++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s%s", dir, files[i].name, sides[s]);
            if ((rc = s_file(path, files[i].secret, &st, me)) != 0)
                return rc;
        }
    }
    return 0;
}

int dn_fsperm_file(const char *path, int secret)
{
    char dir[4096];
    struct stat st;
    s_parent(path, dir, sizeof dir);
    if (stat(dir, &st) != 0)
        return 0;
    return s_file(path, secret, &st, geteuid());
}

mode_t dn_fsperm_new_mode(const char *path, int secret)
{
    char dir[4096];
    struct stat st;
    s_parent(path, dir, sizeof dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !s_shared(st.st_mode))
        return DN_FSPERM_FILE_PRIVATE;
    return secret ? DN_FSPERM_KEY_SHARED : DN_FSPERM_DB_SHARED;
}

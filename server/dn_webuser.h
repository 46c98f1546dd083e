/*  dn_webuser -- who may log in to the HQ web page (dn_web.h).

    HQ creates web users with `dealernet-hq web user add NAME` (the admin
    command web.user.add); each is a name (a code: ASCII, dn_valid_code)
    and the scrypt hash of a password, in central.db's web_users, the one
    table this module owns.  The password itself is never stored nor
    logged: only its hash, with a random salt and the scrypt parameters it
    was made with, so a later change of cost leaves old hashes readable.
    scrypt (RFC 7914) is memory-hard: a stolen central.db costs a guesser
    DN_WEBUSER_SCRYPT_MEM bytes and ~0.1 s of a core per guess.

    A removed user keeps its row (removed_ms set) so that the list says
    who had access and until when; adding the name again gives it a new
    password and lets it in again.
*/
#ifndef DN_WEBUSER_H
#define DN_WEBUSER_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/*  A password has at least this many characters (code points).  Ten
    random characters are far beyond a guesser at ~10 scrypt guesses a
    second a core; the weak ones dn_webuser_password_check refuses are
    what a guesser tries first.  */
#define DN_WEBUSER_MIN_PASSWORD_CHARS 10
#define DN_WEBUSER_MAX_PASSWORD_BYTES 1024 /* a passphrase fits; a login form stays small */

/*  scrypt's parameters for new hashes: N = 2^15, r = 8, p = 1 (RFC 7914's
    interactive-login figures), 32 MiB and ~0.1 s a hash.  */
#define DN_WEBUSER_SCRYPT_LOG2_N 15
#define DN_WEBUSER_SCRYPT_R      8
#define DN_WEBUSER_SCRYPT_P      1
#define DN_WEBUSER_SCRYPT_MEM    (128ULL * DN_WEBUSER_SCRYPT_R << DN_WEBUSER_SCRYPT_LOG2_N)
#define DN_WEBUSER_SALT_BYTES    16
#define DN_WEBUSER_KEY_BYTES     32
/*  "scrypt:15:8:1:" + 32 hex of salt + ':' + 64 hex of key, and its NUL.  */
#define DN_WEBUSER_HASH_SIZE     128
/*  A password's stamp: its hash's salt in hex, and the NUL.  Every
    password set (web user add) has a new random salt, so a session that
    keeps the stamp of its login can tell a password set since.  */
#define DN_WEBUSER_STAMP_SIZE    (2 * DN_WEBUSER_SALT_BYTES + 1)

/*  Checks password as name's new password.  Returns 0, or DN_EINVAL with
    the reason in why (translated): fewer than
    DN_WEBUSER_MIN_PASSWORD_CHARS characters, more than
    DN_WEBUSER_MAX_PASSWORD_BYTES bytes, not UTF-8 text on one line,
    holding the user name, fewer than 5 different characters, a run of the
    keyboard or the alphabet ("1234567890", "qwertyuiop"), or holding a
    word every guesser tries first ("password", "123456" ...).  */
int dn_webuser_password_check(const char *name, const char *password, char *why,
                              size_t why_size);

/*  The scrypt hash of password with a new random salt, as stored, into
    hash.  Returns 0, or DN_ECRYPTO.  */
int dn_webuser_hash(const char *password, char hash[DN_WEBUSER_HASH_SIZE]);

/*  1 if password hashes to hash (compared in constant time), 0 if not,
    DN_EPARSE if hash is not one dn_webuser_hash writes (parameters out of
    range), DN_ECRYPTO.  */
int dn_webuser_hash_verify(const char *hash, const char *password);

/*  Adds web user name with password (checked by
    dn_webuser_password_check), or gives a removed one a new password
    and lets it in again.  Sets *result to {"user", "created"
    (ISO-8601)}.  Returns 0; DN_CODE_ERROR (name not a code), DN_EINVAL
    (a weak password), DN_EEXIST (a user of that name may log in now),
    with the reason in why; DN_ECRYPTO, DN_EDB, DN_ENOMEM.  */
int dn_webuser_add(sqlite3 *db, const char *name, const char *password, int64_t now_ms,
                   json_t **result, char *why, size_t why_size);

/*  Takes web user name's login away from now_ms on: its sessions end at
    their next request (dn_webuser_active).  Sets *result to {"user",
    "removed" (ISO-8601)}.  Returns 0; DN_ENOENT (no such user, or removed
    already), with the reason in why; DN_EDB, DN_ENOMEM.  */
int dn_webuser_remove(sqlite3 *db, const char *name, int64_t now_ms, json_t **result,
                      char *why, size_t why_size);

/*  Sets *result to the web users by name: [{"user", "created", "removed"
    (ISO-8601, or null while the user may log in)}].  Returns 0, DN_EDB,
    DN_ENOMEM.  */
int dn_webuser_list(sqlite3 *db, json_t **result);

/*  A login: 0 when name is a user who may log in and password is its
    password, with the password's stamp in stamp (may be NULL); DN_EPERM
    when not (an unknown name costs the same scrypt as a known one, so the
    time taken does not tell which names exist); DN_EDB, DN_ECRYPTO.  db
    may be a read-only connection.  */
int dn_webuser_login(sqlite3 *db, const char *name, const char *password,
                     char stamp[DN_WEBUSER_STAMP_SIZE]);

/*  1 if name may log in now (it exists and is not removed) with the
    password of stamp (dn_webuser_login's; NULL: any password), 0 if not,
    DN_EDB.  A session checks it at every request, with the stamp of its
    login: a user removed, or removed and added again with a new password
    (the README's way to change one), ends the sessions of the old one.  */
int dn_webuser_active(sqlite3 *db, const char *name, const char *stamp);

#endif

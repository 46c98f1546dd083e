/*  dn_webuser -- the web page's users and their scrypt hashes (see
    dn_webuser.h).  All SQL of web_users is here.
*/
#include "dn_webuser.h"
#include "dn_crypto.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_time.h"
#include "dn_valid.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Bounds on the parameters of a stored hash: what this module writes, with
    room for a stronger cost later, never one that would let a damaged row
    take gigabytes or minutes at a login.  */
#define S_LOG2_N_MIN 10
#define S_LOG2_N_MAX 20
#define S_R_MAX      16
#define S_P_MAX      4
#define S_MAXMEM     (1ULL << 30) /* OpenSSL's scrypt refuses what needs more */

/*  A login for a name that is no user runs scrypt against this (a hash of
    nothing anyone knows, with the current parameters), so that it takes
    the time a real one takes.  */
static const char s_decoy[] = "scrypt:" DN_STR(DN_WEBUSER_SCRYPT_LOG2_N) ":" DN_STR(
    DN_WEBUSER_SCRYPT_R) ":" DN_STR(DN_WEBUSER_SCRYPT_P) ":"
                              "00000000000000000000000000000000:"
                              "0000000000000000000000000000000000000000000000000000000000000000";

/* -- passwords ----------------------------------------------------------- */

/*  Runs a person types without thinking: a password that is a piece of
    one of them (or of one reversed) is among the first guesses.  */
static const char *const s_runs[] = {"01234567890123456789", "abcdefghijklmnopqrstuvwxyz",
                                     "qwertyuiopasdfghjklzxcvbnm",
                                     "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p"};
/*  Words every guesser's list starts with; a password holding one is
    that word and a few more characters.  */
static const char *const s_words[] = {"password", "passw0rd", "dealernet", "qwerty",
                                      "123456",   "111111",   "letmein",   "iloveyou",
                                      "admin",    "abc123"};

/*  1 if needle (lower case) is in haystack, without regard to ASCII case.  */
static int s_holds(const char *haystack, const char *needle)
{
    size_t n = strlen(haystack), m = strlen(needle);
    for (size_t i = 0; m && i + m <= n; i++) {
        size_t k = 0;
        while (k < m && tolower((unsigned char)haystack[i + k]) == needle[k])
            k++;
        if (k == m)
            return 1;
    }
    return 0;
}

/*  1 if text, lower-cased, is a piece of run read forward or backward.  */
static int s_in_run(const char *text, const char *run)
{
    size_t n = strlen(text), m = strlen(run);
    char low[64];
    if (n >= sizeof low || n > m)
        return 0;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)text[i]);
    if (strstr(run, low))
        return 1;
    for (size_t i = 0; i < n / 2; i++) {
        char c = low[i];
        low[i] = low[n - 1 - i];
        low[n - 1 - i] = c;
    }
    return strstr(run, low) != NULL;
}

int dn_webuser_password_check(const char *name, const char *password, char *why,
                              size_t why_size)
{
    size_t bytes = strlen(password), chars = 0, distinct = 0;
    uint32_t seen[64];

    if (bytes > DN_WEBUSER_MAX_PASSWORD_BYTES)
        return dn_why(why, why_size, DN_EINVAL, _("the password is longer than %d bytes"),
                      DN_WEBUSER_MAX_PASSWORD_BYTES);
    if (!dn_valid_text(password, DN_WEBUSER_MAX_PASSWORD_BYTES) && bytes > 0)
        return dn_why(why, why_size, DN_EINVAL,
                      _("the password is not one line of text (it holds a line break, a "
                        "tab or another control character)"));
    /* characters, and how many different ones (the first 64 told apart) */
    for (const unsigned char *s = (const unsigned char *)password; *s;) {
        uint32_t c = *s++;
        while ((*s & 0xC0) == 0x80) /* dn_valid_text: well-formed UTF-8 */
            c = c << 8 | *s++;
        size_t i = 0;
        while (i < distinct && seen[i] != c)
            i++;
        if (i == distinct && distinct < sizeof seen / sizeof seen[0])
            seen[distinct++] = c;
        chars++;
    }
    if (chars < DN_WEBUSER_MIN_PASSWORD_CHARS)
        return dn_why(why, why_size, DN_EINVAL,
                      _("the password has %zu characters: give at least %d"), chars,
                      DN_WEBUSER_MIN_PASSWORD_CHARS);
    char low_name[DN_MAX_CODE_LEN + 1];
    snprintf(low_name, sizeof low_name, "%s", name);
    for (char *p = low_name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (*low_name && s_holds(password, low_name))
        return dn_why(why, why_size, DN_EINVAL, _("the password holds the user name %s"),
                      name);
    if (distinct < 5)
        return dn_why(why, why_size, DN_EINVAL,
                      _("the password uses only %zu different characters: mix in more"),
                      distinct);
    for (size_t i = 0; i < sizeof s_runs / sizeof s_runs[0]; i++)
        if (s_in_run(password, s_runs[i]))
            return dn_why(why, why_size, DN_EINVAL,
                          _("the password is a run of the keyboard or of the alphabet "
                            "(like 1234567890 or qwertyuiop)"));
    for (size_t i = 0; i < sizeof s_words / sizeof s_words[0]; i++)
        if (s_holds(password, s_words[i]))
            return dn_why(why, why_size, DN_EINVAL,
                          _("the password holds '%s', which every guesser tries first"),
                          s_words[i]);
    return 0;
}

/* -- hashes -------------------------------------------------------------- */

static int s_scrypt(const char *password, const uint8_t *salt, unsigned log2_n,
                    unsigned r, unsigned p, uint8_t key[DN_WEBUSER_KEY_BYTES])
{
    return EVP_PBE_scrypt(password, strlen(password), salt, DN_WEBUSER_SALT_BYTES,
                          (uint64_t)1 << log2_n, r, p, S_MAXMEM, key,
                          DN_WEBUSER_KEY_BYTES) == 1
               ? 0
               : DN_ECRYPTO;
}

int dn_webuser_hash(const char *password, char hash[DN_WEBUSER_HASH_SIZE])
{
    uint8_t salt[DN_WEBUSER_SALT_BYTES], key[DN_WEBUSER_KEY_BYTES];
    char salt_hex[2 * DN_WEBUSER_SALT_BYTES + 1], key_hex[2 * DN_WEBUSER_KEY_BYTES + 1];
    if (RAND_bytes(salt, sizeof salt) != 1 ||
        s_scrypt(password, salt, DN_WEBUSER_SCRYPT_LOG2_N, DN_WEBUSER_SCRYPT_R,
                 DN_WEBUSER_SCRYPT_P, key) != 0)
        return DN_ECRYPTO;
    dn_hex_encode(salt, sizeof salt, salt_hex);
    dn_hex_encode(key, sizeof key, key_hex);
    OPENSSL_cleanse(key, sizeof key);
    snprintf(hash, DN_WEBUSER_HASH_SIZE, "scrypt:%d:%d:%d:%s:%s", DN_WEBUSER_SCRYPT_LOG2_N,
             DN_WEBUSER_SCRYPT_R, DN_WEBUSER_SCRYPT_P, salt_hex, key_hex);
    return 0;
}

int dn_webuser_hash_verify(const char *hash, const char *password)
{
    unsigned log2_n, r, p;
    char salt_hex[2 * DN_WEBUSER_SALT_BYTES + 1], key_hex[2 * DN_WEBUSER_KEY_BYTES + 1];
    uint8_t salt[DN_WEBUSER_SALT_BYTES], want[DN_WEBUSER_KEY_BYTES], got[DN_WEBUSER_KEY_BYTES];
    int end = 0;

    if (sscanf(hash, "scrypt:%2u:%2u:%1u:%32[0-9a-f]:%64[0-9a-f]%n", &log2_n, &r, &p,
               salt_hex, key_hex, &end) != 5 ||
        hash[end] != '\0' || log2_n < S_LOG2_N_MIN || log2_n > S_LOG2_N_MAX || r < 1 ||
        r > S_R_MAX || p < 1 || p > S_P_MAX ||
        dn_hex_decode(salt_hex, salt, sizeof salt) != 0 ||
        dn_hex_decode(key_hex, want, sizeof want) != 0)
        return DN_EPARSE;
    if (s_scrypt(password, salt, log2_n, r, p, got) != 0)
        return DN_ECRYPTO;
    int same = CRYPTO_memcmp(got, want, sizeof got) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return same;
}

/* -- the table ----------------------------------------------------------- */

/*  name as stored: a code, lower case (dn_code_fold: HQ's `Alice` is
    `alice`), into out.  Returns out, or NULL when name is not a code.  */
static const char *s_folded(const char *name, char out[DN_MAX_CODE_LEN + 1])
{
    if (!dn_valid_code(name))
        return NULL;
    snprintf(out, DN_MAX_CODE_LEN + 1, "%s", name);
    dn_code_fold(out);
    return out;
}

int dn_webuser_add(sqlite3 *db, const char *name, const char *password, int64_t now_ms,
                   json_t **result, char *why, size_t why_size)
{
    char hash[DN_WEBUSER_HASH_SIZE], when[DN_TIME_TEXT_SIZE];
    sqlite3_stmt *stmt = NULL;
    int rc;

    char folded[DN_MAX_CODE_LEN + 1];
    *result = NULL;
    if ((rc = dn_valid_code_check(DN_CODE_WEB_USER, name, NULL, why, why_size)) != 0)
        return rc;
    name = s_folded(name, folded);
    if ((rc = dn_webuser_password_check(name, password, why, why_size)) != 0)
        return rc;
    if ((rc = dn_webuser_hash(password, hash)) != 0)
        return rc;
    /* a removed user comes back with the new password; one who may log
       in is left alone (its password is not changed behind its back) */
    rc = dn_db_prepare(db,
                       "INSERT INTO web_users(name, hash, created_ms) VALUES (?1, ?2, ?3) "
                       "ON CONFLICT(name) DO UPDATE SET hash = excluded.hash, "
                       "  created_ms = excluded.created_ms, removed_ms = NULL "
                       "  WHERE removed_ms IS NOT NULL",
                       &stmt);
    if (rc == 0) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, now_ms);
        rc = dn_db_run(db, stmt);
    }
    OPENSSL_cleanse(hash, sizeof hash);
    if (rc)
        return rc;
    if (sqlite3_changes(db) == 0)
        return dn_why(why, why_size, DN_EEXIST,
                      _("web user %s exists already (to set a new password, remove it and "
                        "add it again)"),
                      name);
    dn_time_format(now_ms, when);
    *result = json_pack("{s:s, s:s}", "user", name, "created", when);
    return *result ? 0 : DN_ENOMEM;
}

int dn_webuser_remove(sqlite3 *db, const char *name, int64_t now_ms, json_t **result,
                      char *why, size_t why_size)
{
    char when[DN_TIME_TEXT_SIZE], folded[DN_MAX_CODE_LEN + 1];
    const char *stored = s_folded(name, folded);
    sqlite3_stmt *stmt = NULL;
    int rc;

    *result = NULL;
    if (!stored)
        return dn_valid_code_check(DN_CODE_WEB_USER, name, NULL, why, why_size);
    name = stored;
    rc = dn_db_prepare(db,
                       "UPDATE web_users SET removed_ms = ?2 "
                       "WHERE name = ?1 AND removed_ms IS NULL",
                       &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now_ms);
    if ((rc = dn_db_run(db, stmt)) != 0)
        return rc;
    if (sqlite3_changes(db) == 0)
        return dn_why(why, why_size, DN_ENOENT, _("no web user %s (see: web user list)"),
                      name);
    dn_time_format(now_ms, when);
    *result = json_pack("{s:s, s:s}", "user", name, "removed", when);
    return *result ? 0 : DN_ENOMEM;
}

int dn_webuser_list(sqlite3 *db, json_t **result)
{
    sqlite3_stmt *stmt = NULL;
    json_t *list = json_array();
    int rc;

    *result = NULL;
    if (!list)
        return DN_ENOMEM;
    rc = dn_db_prepare(db, "SELECT name, created_ms, removed_ms FROM web_users ORDER BY name",
                       &stmt);
    while (rc == 0 && (rc = dn_db_row(stmt, "web users")) == 1) {
        char created[DN_TIME_TEXT_SIZE], removed[DN_TIME_TEXT_SIZE];
        int gone = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
        dn_time_format(sqlite3_column_int64(stmt, 1), created);
        if (gone)
            dn_time_format(sqlite3_column_int64(stmt, 2), removed);
        json_t *row = json_pack("{s:s, s:s, s:o}", "user", sqlite3_column_text(stmt, 0),
                                "created", created, "removed",
                                gone ? json_string(removed) : json_null());
        rc = row && json_array_append_new(list, row) == 0 ? 0 : DN_ENOMEM;
    }
    sqlite3_finalize(stmt);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *result = list;
    return 0;
}

/*  The hash of name while it may log in, into hash.  Returns 1, 0 (no
    such user, or removed) or DN_EDB.  */
static int s_hash_of(sqlite3 *db, const char *name, char hash[DN_WEBUSER_HASH_SIZE])
{
    char folded[DN_MAX_CODE_LEN + 1];
    sqlite3_stmt *stmt = NULL;
    if (!(name = s_folded(name, folded)))
        return 0;
    int rc = dn_db_prepare(db,
                           "SELECT hash FROM web_users WHERE name = ?1 AND removed_ms IS NULL",
                           &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    rc = dn_db_row(stmt, "web user");
    if (rc == 1 && dn_db_column_copy(stmt, 0, hash, DN_WEBUSER_HASH_SIZE) != 0)
        rc = DN_ENOMEM;
    sqlite3_finalize(stmt);
    return rc;
}

/*  The stamp of a stored hash (its salt, "scrypt:N:r:p:SALT:KEY"), into
    stamp; "" for a hash of another shape (dn_webuser_hash_verify refuses
    it anyway).  */
static void s_stamp(const char *hash, char stamp[DN_WEBUSER_STAMP_SIZE])
{
    const char *salt = hash;
    stamp[0] = '\0';
    for (int colons = 0; salt && colons < 4; colons++)
        if ((salt = strchr(salt, ':')) != NULL)
            salt++;
    if (salt && strlen(salt) > DN_WEBUSER_STAMP_SIZE - 1 &&
        salt[DN_WEBUSER_STAMP_SIZE - 1] == ':') {
        memcpy(stamp, salt, DN_WEBUSER_STAMP_SIZE - 1);
        stamp[DN_WEBUSER_STAMP_SIZE - 1] = '\0';
    }
}

int dn_webuser_login(sqlite3 *db, const char *name, const char *password,
                     char stamp[DN_WEBUSER_STAMP_SIZE])
{
    char hash[DN_WEBUSER_HASH_SIZE];
    int known = s_hash_of(db, name, hash);
    if (known < 0)
        return known;
    int same = dn_webuser_hash_verify(known ? hash : s_decoy, password);
    if (stamp)
        s_stamp(known ? hash : s_decoy, stamp);
    OPENSSL_cleanse(hash, sizeof hash);
    if (same < 0)
        return same == DN_EPARSE ? DN_EDB : same; /* a row this module never wrote */
    return known && same ? 0 : DN_EPERM;
}

int dn_webuser_active(sqlite3 *db, const char *name, const char *stamp)
{
    char hash[DN_WEBUSER_HASH_SIZE], now[DN_WEBUSER_STAMP_SIZE];
    int rc = s_hash_of(db, name, hash);
    if (rc == 1 && stamp) {
        s_stamp(hash, now);
        rc = now[0] && strcmp(now, stamp) == 0;
    }
    OPENSSL_cleanse(hash, sizeof hash);
    return rc;
}

/*  dn_error -- the one table of error codes.

    Every function that can fail returns 0 or a negative DN_E* code.  The
    table below generates the enum, the message text and the sysexits code a
    CLI exits with, so the three can never drift apart (libuv's UV_ERRNO_MAP).
*/
#ifndef DN_ERROR_H
#define DN_ERROR_H

#include <stddef.h>

/*  The text of a number macro, for SQL and messages put together at
    compile time: "at most " DN_STR(DN_MAX_CODE_LEN) is "at most 32".  */
#define DN_STR_(x) #x
#define DN_STR(x)  DN_STR_(x)

/*  X(name, value, sysexits code, message), the message marked N_() for
    gettext (dn_i18n.h; only dn_error.c, which defines N_, prints it).
    Exit codes: 64 usage, 65 data error, 66 no input, 69 unavailable,
    70 internal software error, 73 cannot create, 74 I/O error,
    75 temporary failure, 77 permission denied.  */
#define DN_ERRNO_MAP(X)                                                              \
    X(EINVAL, -1, 64, N_("invalid argument"))                                        \
    X(ENOMEM, -2, 70, N_("out of memory"))                                           \
    X(EIO, -3, 74, N_("I/O error"))                                                  \
    X(EDB, -4, 74, N_("database error"))                                             \
    X(EEXIST, -5, 73, N_("already exists"))                                          \
    X(ENOENT, -6, 66, N_("not found"))                                               \
    X(EOVERFLOW, -7, 65, N_("amount out of range"))                                  \
    X(EPARSE, -8, 65, N_("malformed input"))                                         \
    X(ECURRENCY, -9, 65, N_("unknown currency"))                                     \
    X(ETOOBIG, -10, 65, N_("message too large"))                                     \
    X(EPROTO, -11, 65, N_("malformed message"))                                      \
    X(ECHAIN, -12, 65, N_("hash chain broken"))                                      \
    X(ESIG, -13, 65, N_("bad signature"))                                            \
    X(ECRYPTO, -14, 70, N_("cryptography library error"))                            \
    X(ELIMIT, -15, 65, N_("beyond what is still refundable"))                        \
    X(EDUP, -16, 65, N_("duplicate"))                                                \
    X(ESCHEMA, -17, 65, N_("database is newer than this program"))                   \
    X(EPERM, -18, 77, N_("permission denied"))                                       \
    X(ETIMEDOUT, -19, 75, N_("timed out"))                                           \
    X(EAGAIN, -20, 75, N_("temporary failure, try again"))                           \
    /* something answers at the configured address, but not the service   \
       with the configured key: waiting will not mend it (EX_CONFIG) */    \
    X(ECONFIG, -21, 78, N_("wrong address or key"))

typedef enum {
    DN_OK = 0,
#define DN_X_ENUM(name, value, sysexit, text) DN_##name = value,
    DN_ERRNO_MAP(DN_X_ENUM)
#undef DN_X_ENUM
} dn_error_t;

/*  Returns a static, human-readable text for a code (also for 0 and for
    codes not in the table).  Never NULL.  */
const char *dn_strerror(int code);

/*  Returns the sysexits(3) exit status a CLI should use for a code: 0 for 0,
    70 (EX_SOFTWARE) for codes not in the table.  */
int dn_exit_code(int code);

/*  Writes one line, printf-style, into why (nothing when why is NULL or
    size 0) and returns code: the "why" of a failing call, in one
    statement (return dn_why(why, size, DN_EPARSE, "...", ...)).  A line
    longer than size is cut after its last whole UTF-8 character, never
    inside one (a Chinese reason is 3 bytes a character: a cut one would
    garble a terminal, and a server would refuse to send it as text).  */
int dn_why(char *why, size_t size, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

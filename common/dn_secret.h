/*  dn_secret -- secrets a person gives a program, never on its command line.

    Every local user can read every process's command line (`ps`,
    /proc/PID/cmdline) for as long as it runs, and a shell keeps it in its
    history: an enrollment token there is a token anyone on the PC can
    race the shop with, a web user's password one anyone on HQ's host can
    log in with.  So the agent takes a token or an enrollment code from a
    file, from standard input (hidden when it is a terminal), or from the
    environment (/proc/PID/environ is readable by the same user only), and
    refuses one given as an argument; dealernet-hq reads a web user's
    password from the terminal, hidden, or from standard input.
*/
#ifndef DN_SECRET_H
#define DN_SECRET_H

#include <stddef.h>

#define DN_SECRET_MAX_BYTES 4096 /* more than any token or enrollment code */

/*  Reads a whole file (at most DN_SECRET_MAX_BYTES) into buf, whitespace
    trimmed at both ends, NUL-terminated.  what names the secret in
    messages ("token").  Returns 0; DN_ENOENT, DN_EIO (cannot read it),
    DN_ETOOBIG (larger than DN_SECRET_MAX_BYTES or size), DN_EPARSE (only
    whitespace); why holds one line.  */
int dn_secret_read_file(const char *path, const char *what, char *buf, size_t size,
                        char *why, size_t why_size);

/*  Reads a secret from standard input into buf, trimmed, NUL-terminated.
    On a terminal: writes prompt on stderr, reads one line with echo off
    (the terminal is restored on return, and on SIGINT, SIGTERM, SIGHUP,
    SIGQUIT or SIGTSTP before the signal takes its course), then ends the
    hidden line on stderr.  Otherwise reads to the end of input (a pipe or
    a file: a code wrapped in lines is fine).  Returns 0; DN_EIO,
    DN_ETOOBIG, DN_EPARSE (nothing given); why holds one line.  */
int dn_secret_read_stdin(const char *prompt, const char *what, char *buf, size_t size,
                         char *why, size_t why_size);

/*  Wipes size bytes of buf (a secret that is no longer needed).  */
void dn_secret_wipe(void *buf, size_t size);

#endif

/*  dn_secret -- secrets from a file, standard input or nowhere else (see
    dn_secret.h).

    Input is read with read(2), not stdio: nothing of the secret stays in a
    stdio buffer, and on a terminal nothing past the line is consumed.
*/
#include "dn_secret.h"
#include "dn_i18n.h"
#include "dn_error.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

void dn_secret_wipe(void *buf, size_t size)
{
    if (buf && size)
        OPENSSL_cleanse(buf, size);
}

static int s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/*  Trims buf[0..len) in place and NUL-terminates it.  Returns 0, or
    DN_EPARSE when nothing is left.  */
static int s_trim(char *buf, size_t len)
{
    size_t start = 0;
    while (len > 0 && s_space(buf[len - 1]))
        len--;
    while (start < len && s_space(buf[start]))
        start++;
    memmove(buf, buf + start, len - start);
    dn_secret_wipe(buf + (len - start), start);
    buf[len - start] = '\0';
    return len > start ? 0 : DN_EPARSE;
}

/*  Reads fd to its end, or to the first newline when line, into buf
    (size - 1 bytes at most).  Returns the length, or DN_EIO, DN_ETOOBIG.  */
static long s_read(int fd, int line, char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        char c[256];
        size_t want = line ? 1 : sizeof c;
        ssize_t n = read(fd, c, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            dn_secret_wipe(c, sizeof c);
            return DN_EIO;
        }
        if (n == 0)
            break;
        if (len + (size_t)n >= size) {
            dn_secret_wipe(c, sizeof c);
            return DN_ETOOBIG;
        }
        memcpy(buf + len, c, (size_t)n);
        len += (size_t)n;
        dn_secret_wipe(c, sizeof c);
        if (line && buf[len - 1] == '\n')
            break;
    }
    return (long)len;
}

int dn_secret_read_file(const char *path, const char *what, char *buf, size_t size,
                        char *why, size_t why_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    long n;
    if (size > DN_SECRET_MAX_BYTES + 1)
        size = DN_SECRET_MAX_BYTES + 1;
    if (fd < 0)
        return dn_why(why, why_size, errno == ENOENT ? DN_ENOENT : DN_EIO,
                      _("cannot read the %s file %s: %s"), what, path, strerror(errno));
    n = s_read(fd, 0, buf, size);
    int err = errno;
    close(fd);
    errno = err;
    if (n == DN_ETOOBIG)
        return dn_why(why, why_size, DN_ETOOBIG,
                      _("%s holds more than a %s (over %zu bytes): give the file that holds "
                      "just the %s"),
                      path, what, size - 1, what);
    if (n < 0)
        return dn_why(why, why_size, DN_EIO, _("cannot read the %s file %s: %s"), what, path,
                      strerror(errno));
    if (s_trim(buf, (size_t)n))
        return dn_why(why, why_size, DN_EPARSE, _("the %s file %s is empty"), what, path);
    return 0;
}

/* -- a hidden line on a terminal ------------------------------------------- */

static struct termios s_saved;             /* the terminal as it was */
static volatile sig_atomic_t s_hidden;     /* echo is off: restore on a signal */
static const int s_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
#define S_SIGNALS (sizeof s_signals / sizeof s_signals[0])

/*  Puts the terminal back, then lets the signal do what it does (tcsetattr
    and raise are async-signal-safe).  */
static void s_on_signal(int sig)
{
    if (s_hidden)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &s_saved);
    s_hidden = 0;
    signal(sig, SIG_DFL);
    raise(sig);
}

int dn_secret_read_stdin(const char *prompt, const char *what, char *buf, size_t size,
                         char *why, size_t why_size)
{
    struct sigaction sa, old[S_SIGNALS];
    struct termios quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &s_saved) == 0;
    long n;

    if (size > DN_SECRET_MAX_BYTES + 1)
        size = DN_SECRET_MAX_BYTES + 1;
    if (tty) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = s_on_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < S_SIGNALS; i++)
            sigaction(s_signals[i], &sa, &old[i]);
        quiet = s_saved;
        quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        fputs(prompt, stderr);
        fflush(stderr);
        s_hidden = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
    n = s_read(STDIN_FILENO, tty, buf, size);
    if (tty) {
        if (s_hidden)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &s_saved);
        s_hidden = 0;
        for (size_t i = 0; i < S_SIGNALS; i++)
            sigaction(s_signals[i], &old[i], NULL);
        fputc('\n', stderr); /* the Enter that was not echoed */
    }
    if (n == DN_ETOOBIG)
        return dn_why(why, why_size, DN_ETOOBIG,
                      _("more than a %s on standard input (over %zu bytes)"), what, size - 1);
    if (n < 0)
        return dn_why(why, why_size, DN_EIO, _("cannot read the %s from standard input: %s"),
                      what, strerror(errno));
    if (s_trim(buf, (size_t)n))
        return dn_why(why, why_size, DN_EPARSE, _("no %s on standard input"), what);
    return 0;
}

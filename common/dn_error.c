/*  dn_error -- text and exit status for each error code (see dn_error.h).  */
#include "dn_error.h"
#include "dn_i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *dn_strerror(int code)
{
    switch (code) {
    case 0:
        return _("success");
    /* the table's texts are N_(): shown in the language of the person
       reading (the server: English but in an answer to HQ) */
#define DN_X_TEXT(name, value, sysexit, text)                                        \
    case value:                                                                      \
        return _(text);
        DN_ERRNO_MAP(DN_X_TEXT)
#undef DN_X_TEXT
    }
    return _("unknown error");
}

int dn_exit_code(int code)
{
    switch (code) {
    case 0:
        return 0;
#define DN_X_EXIT(name, value, sysexit, text)                                        \
    case value:                                                                      \
        return sysexit;
        DN_ERRNO_MAP(DN_X_EXIT)
#undef DN_X_EXIT
    }
    return 70;
}

/*  Cuts text, of len bytes, before a UTF-8 character its end cut in two
    (vsnprintf cuts bytes: a Chinese reason is 3 bytes a character).  */
static void s_whole_chars(char *text, size_t len)
{
    size_t at = len, tail = 0; /* tail: continuation bytes at the end */
    while (at > 0 && tail < 3 && ((unsigned char)text[at - 1] & 0xC0) == 0x80) {
        at--;
        tail++;
    }
    if (at == 0)
        return;
    unsigned char c = (unsigned char)text[at - 1]; /* the last character's first byte */
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (1 + tail < need)
        text[at - 1] = '\0';
}

int dn_why(char *why, size_t size, int code, const char *fmt, ...)
{
    if (why && size) {
        va_list args;
        va_start(args, fmt);
        int n = vsnprintf(why, size, fmt, args);
        va_end(args);
        if (n >= 0 && (size_t)n >= size)
            s_whole_chars(why, strlen(why));
    }
    return code;
}

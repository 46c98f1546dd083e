/*  dn_error -- text and exit status for each error code (see dn_error.h).  */
#include "dn_error.h"
#include "dn_i18n.h"

#include <stdarg.h>
#include <stdio.h>

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

int dn_why(char *why, size_t size, int code, const char *fmt, ...)
{
    if (why && size) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(why, size, fmt, args);
        va_end(args);
    }
    return code;
}

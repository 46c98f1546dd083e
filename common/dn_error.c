/*  dn_error -- text and exit status for each error code (see dn_error.h).  */
#include "dn_error.h"

#include <stdarg.h>
#include <stdio.h>

const char *dn_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define DN_X_TEXT(name, value, sysexit, text)                                        \
    case value:                                                                      \
        return text;
        DN_ERRNO_MAP(DN_X_TEXT)
#undef DN_X_TEXT
    }
    return "unknown error";
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

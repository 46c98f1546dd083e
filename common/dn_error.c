/*  dn_error -- text and exit status for each error code (see dn_error.h).  */
#include "dn_error.h"

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

/*  dn_webpage -- TEMPORARY, for webcore's tests only: a plain page naming
    the path and the user, with the logout form.  The webpages part
    writes the real one; this file is dropped at the merge.
*/
#include "dn_webpage.h"
#include "dn_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_escape(const char *text, char *out, size_t size)
{
    size_t n = 0;
    for (; *text && n + 7 < size; text++) {
        const char *e = *text == '<' ? "&lt;" : *text == '>' ? "&gt;" : *text == '&' ? "&amp;"
                      : *text == '"' ? "&quot;" : NULL;
        if (e) {
            memcpy(out + n, e, strlen(e));
            n += strlen(e);
        } else {
            out[n++] = *text;
        }
    }
    out[n] = '\0';
}

int dn_webpage_render(sqlite3 *db, const dn_webpage_request_t *req, dn_webpage_t *out)
{
    char path[512], user[128];
    size_t size = 4096;
    (void)db;
    memset(out, 0, sizeof *out);
    if (!(out->body = malloc(size)))
        return DN_ENOMEM;
    s_escape(req->path, path, sizeof path);
    s_escape(req->user, user, sizeof user);
    /* i18n: not for people: a stand-in page for tests, dropped at the merge */
    int n = snprintf(out->body, size, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>dealernet HQ</title></head><body>\n<p>path: %s</p>\n<p>user: %s</p>\n<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"%s\"><button type=\"submit\">logout</button></form>\n</body></html>\n",
                     path, user, req->csrf);
    out->len = (size_t)n;
    out->status = 200;
    out->type = "text/html; charset=utf-8";
    return 0;
}

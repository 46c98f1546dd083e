/*  dn_webassets -- the web page's static files, inside the server binary.

    Every file of server/web/ (and its vendor/ folder) is compiled into
    the server at build time: the Makefile runs server/dn_webassets.sh,
    which writes $(B)/gen/dn_webassets.c, one byte array a file and this
    lookup.  So the page never reads a file at run time (nothing to find,
    nothing a wrong working folder or a changed file on disk can break),
    and /static/NAME serves exactly what was built and tested.
*/
#ifndef DN_WEBASSETS_H
#define DN_WEBASSETS_H

#include <stddef.h>

typedef struct {
    const char *name;          /* its path under server/web/: "vendor/chart.umd.min.js" */
    const char *type;          /* Content-Type, from the name's extension */
    const char *etag;          /* "\"<16 hex of its SHA-256>\"": changes with its bytes */
    const unsigned char *data; /* its bytes, then a NUL not counted in len */
    size_t len;
} dn_webasset_t;

/*  The asset called name, or NULL.  Borrowed, static.  */
const dn_webasset_t *dn_webassets_find(const char *name);

/*  The number of assets, and the i-th (by name, in byte order).  */
size_t dn_webassets_count(void);
const dn_webasset_t *dn_webassets_at(size_t i);

#endif

/*  dn_webpage -- the dashboard's pages, as HTML and as CSV (see dn_web.h).

    Each page reads its figures through dn_admin_query, the very commands
    `dealernet-hq --json` runs, so a page and the command line can never
    disagree; it renders them in the language the caller set on this thread
    (dn_i18n_peer_begin).  Pages:
      /            overview: sales by day and by channel (charts and
                   tables), team volume by partner, this month's KPIs
      /partners    the partner tree with each partner's earnings
      /sites       the fleet's health: silent sites, pending events,
                   clock skew
      /exceptions  the exceptions queue
      /statement?partner=P&period=YYYY-MM   one partner's statement
      /sale?id=SALE (or site=S&receipt=N)   a sale's drill-down
    Any page with ?csv=TABLE gives that table as CSV (dn_render's CSV, the
    one `dealernet-hq --csv` writes), as an attachment: days, channels,
    teams, kpi on /; earnings on /partners (report.earnings); sites
    (report.sites) and site_list (site.list, the clock skew) on /sites;
    exceptions; transfers on /statement; each array of sale.show by its
    key on /sale (asked with sale=ID, or site and receipt).  Every page
    carries the logout form: POST /logout with the session's token in the
    field "csrf".  Every text from
    the database is HTML-escaped; the page carries no inline script (the
    Content-Security-Policy forbids it): chart data travels in a
    <script type="application/json"> block that /static/dashboard.js reads.
*/
#ifndef DN_WEBPAGE_H
#define DN_WEBPAGE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *path;                                   /* "/", "/sale" ... */
    const char *(*arg)(void *cls, const char *name);    /* query-string argument or NULL */
    void *cls;
    const char *user; /* the logged-in web user, shown with the logout button */
    const char *csrf; /* the session's CSRF token, for the logout form */
    int64_t now_ms;
} dn_webpage_request_t;

typedef struct {
    unsigned status;    /* 200; 404 no such page or thing (exit 66); 400 bad
                           argument (64, 65); 500 a query failed otherwise;
                           the body says why */
    const char *type;   /* "text/html; charset=utf-8" or "text/csv; charset=utf-8" */
    char *body;         /* malloc'd; the caller frees */
    size_t len;
    char filename[128]; /* a CSV's name for Content-Disposition, else "" */
} dn_webpage_t;

/*  Renders req's page from db (a read connection, inside a read
    transaction the caller holds) into *out.  Returns 0 (out->status may
    still be 404 or 400, with a page saying why), or DN_ENOMEM / DN_EDB.  */
int dn_webpage_render(sqlite3 *db, const dn_webpage_request_t *req, dn_webpage_t *out);

#endif

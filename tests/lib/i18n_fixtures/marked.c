/* i18n_check fixture: everything here is marked or not for people; --scan
   must find nothing (tests/cli/i18n_catalogue.sh). */
#include <stdio.h>
static const struct { const char *name, *help; } s_cmds[] = {
    {"sale", N_("records a sale at the counter")},
};
static int s_usage_error(const char *fmt, const char *arg);
void f(char *why, size_t n, const char *code)
{
    printf(_("site %s is revoked\n"), code);
    fprintf(stderr, C_("column", "partner"));
    printf("%s\n", code);                     /* no word: a format alone */
    puts("--json");                           /* an option name */
    snprintf(why, n, _("partner %s does not exist"), code);
    dn_log_error("cannot open %s", code);     /* a log line stays English */
    printf("{\"ok\":true}\n");                /* JSON */
    fputs("SELECT id FROM partners WHERE code = ?", stdout);
    printf("plain words for nobody\n"); /* i18n: not for people: a fixture's exemption */
    s_usage_error(_("unknown command %s"), code);
}

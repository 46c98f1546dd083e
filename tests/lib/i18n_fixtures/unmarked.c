/* i18n_check fixture: each literal below is read by a person and not
   marked; --scan must name all five, by line. */
#include <stdio.h>
static const struct { const char *name, *help; } s_cmds[] = {
    {"sale", "records a sale at the counter"},
};
static int s_usage_error(const char *fmt, const char *arg);
void f(char *why, size_t n, const char *code)
{
    printf("site %s is revoked\n", code);
    snprintf(why, n, "partner %s does not exist", code);
    s_usage_error("unknown command %s", code);
    fputs("(none)\n", stdout);
}

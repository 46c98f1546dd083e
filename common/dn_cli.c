/*  dn_cli -- `help`, `help COMMAND` and `GROUP --help` (dn_cli.h).  */
#include "dn_cli.h"
#include "dn_i18n.h"
#include "dn_log.h"

#include <string.h>

static const char *s_field(const dn_cli_table_t *t, size_t i, size_t at)
{
    const char *entry = (const char *)t->base + i * t->size;
    const char *value;
    memcpy(&value, entry + at, sizeof value);
    return value;
}

int dn_cli_help_words(int *argc, char ***argv, int *optind)
{
    static char help_word[] = "--help";
    static char *words[6]; /* argv[0], up to three words, --help, NULL */
    int n = 0;

    if (*optind >= *argc || strcmp((*argv)[*optind], "help") != 0)
        return 0;
    if (*optind + 1 >= *argc)
        return 1;
    if (*argc - *optind - 1 > 3)
        return -1;
    words[n++] = (*argv)[0];
    for (int k = *optind + 1; k < *argc; k++)
        words[n++] = (*argv)[k];
    words[n++] = help_word;
    words[n] = NULL;
    *argv = words;
    *argc = n;
    *optind = 1;
    return 0;
}

int dn_cli_is_help(const char *word)
{
    return strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0;
}

int dn_cli_group_help(FILE *out, const dn_cli_table_t *table, const char *prog,
                      const char *prog_usage, const char *word)
{
    size_t len = strlen(word);
    int found = 0;
    for (size_t i = 0; i < table->n; i++) {
        const char *name = s_field(table, i, table->name_at);
        if (strncmp(name, word, len) || name[len] != ' ')
            continue;
        if (!found)
            fprintf(out, _("usage: %s %s SUBCOMMAND ...\n\nsubcommands:\n"), prog_usage,
                    word);
        found = 1;
        /* the usage line as the programs' own help prints it: syntax, as typed */
        fprintf(out, "  %-17s %s\n", name, s_field(table, i, table->usage_at));
    }
    if (found)
        fprintf(out, _("\n'%s %s SUBCOMMAND --help' tells more.\n"), prog, word);
    return found;
}

int dn_cli_group_error(const dn_cli_table_t *table, const char *prog, int argc,
                       char **argv, int optind)
{
    for (size_t i = 0; i < table->n; i++) {
        const char *name = s_field(table, i, table->name_at), *space = strchr(name, ' ');
        size_t len = space ? (size_t)(space - name) : 0;
        if (space && strncmp(argv[optind], name, len) == 0 && argv[optind][len] == '\0') {
            if (optind + 1 < argc)
                dn_log_error(_("unknown command '%s %s' (see: %s %s --help)"), argv[optind],
                             argv[optind + 1], prog, argv[optind]);
            else
                dn_log_error(_("'%s' needs a subcommand (see: %s %s --help)"), argv[optind],
                             prog, argv[optind]);
            return 1;
        }
    }
    return 0;
}

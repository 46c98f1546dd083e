/*  dn_cli -- what the three programs' command lines share: `help`.

    `help`, `help COMMAND` and `GROUP --help` (`member --help`, `partner
    --help`) mean the same in dealernet-agent and dealernet-hq, which both
    name a command with one word, two or three ("sales", "member add",
    "web user add"): written
    once here, over each program's own table of commands.
*/
#ifndef DN_CLI_H
#define DN_CLI_H

#include <stddef.h>
#include <stdio.h>

/*  A program's table of commands as dn_cli reads it: n entries of size
    bytes from base, each holding at name_at a `const char *` name ("member
    add") and at usage_at a `const char *` usage line.  */
typedef struct {
    const void *base;
    size_t n;
    size_t size;
    size_t name_at;
    size_t usage_at;
} dn_cli_table_t;

/*  If (*argv)[*optind] is `help`: with nothing after it returns 1 (the
    caller prints its help, exit 0); with one to three words after it, points
    *argv at a static vector {argv0, WORD, [WORD, [WORD,]] "--help"}, sets *argc and
    *optind = 1 and returns 0, so the command's own --help runs; with more
    returns -1 (a usage error).  Anything else: returns 0, nothing changed.  */
int dn_cli_help_words(int *argc, char ***argv, int *optind);

/*  1 if word is --help or -h.  */
int dn_cli_is_help(const char *word);

/*  If word is the first word of two-word commands of table ("member"),
    prints to out "usage: PROG_USAGE word SUBCOMMAND ..." and the usage of
    each, and returns 1; else prints nothing and returns 0.  prog is the
    program's name for the closing hint, prog_usage what precedes the
    command in a usage line ("dealernet-agent [-d DIR]").  */
int dn_cli_group_help(FILE *out, const dn_cli_table_t *table, const char *prog,
                      const char *prog_usage, const char *word);

/*  If argv[optind] is the first word of two-word commands of table but no
    command with the word after it (or none) is one, logs one line --
    "unknown command 'member foo'" or "'member' needs a subcommand" --
    pointing at `PROG WORD --help`, and returns 1; else returns 0.  */
int dn_cli_group_error(const dn_cli_table_t *table, const char *prog, int argc,
                       char **argv, int optind);

#endif

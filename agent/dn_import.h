/*  dn_import -- sales, refunds and members from an existing POS, as a CSV
    file; and this agent's unsynced events written in the same layout.

    A shop that already has a till keeps it: the till's export is imported
    here and syncs as if the clerk had typed it.  Every row goes through
    dn_record, the path of `sale`, `refund`, `member add` and `member
    update`, so a file is held to every rule a clerk is; and the whole file is one transaction (each
    record a savepoint inside it, dn_store_begin), so a file either is
    recorded whole or leaves agent.db as it was.

    The layout (README, "import, export"): a header row naming columns in
    any order, then one row per sale line, refund line, member or update:

      kind    sale | member | refund | member_update           (required)
      ref     the POS's own id of the record                    (required)
      sku, quantity, unit_price, member_phone, channel, seller   sale rows
      phone, name, referrer, household                           member rows
      sale_ref, then sku and quantity, or amount                 refund rows
      phone, name, household                                     member_update

    Consecutive sale rows with one ref are one sale; its member_phone,
    channel and seller are given on its first row and on every other row
    either repeated or left empty.  Consecutive refund rows with one ref
    are one refund, of lines (sku, quantity: at the sale's price) or of
    one amount; sale_ref names the sale: the ref it was imported under
    (this file, on an earlier row, or an earlier import), else its id on
    this agent.  A column a kind does not fill stays empty.

    Each ref recorded is kept (table imports, with a digest of what it
    recorded), so importing a file again -- or one that overlaps it --
    records only what is new, and a ref that comes back with other content
    is refused: it is a second sale under one receipt number, or an edited
    receipt, and which of the two is true only the shop can say.

    There is no time column: an event is stamped when it is recorded and
    chained in that order (dn_outbox), so a sale imported today is a sale
    of today; a POS time would be shown nowhere and is refused rather than
    silently dropped.  There is no category column: a line takes its SKU's
    category from the local catalog, as with `sale`.
*/
#ifndef DN_IMPORT_H
#define DN_IMPORT_H

#include "dn_store.h"

#include <stdint.h>
#include <stdio.h>

#define DN_IMPORT_MAX_BYTES   (16 * 1024 * 1024) /* a file's size */
#define DN_IMPORT_MAX_ROWS    100000             /* a file's rows, header included */
#define DN_IMPORT_MAX_REF_LEN 64                 /* bytes of a ref */
#define DN_IMPORT_PROGRESS_RECORDS 1000          /* a progress line this often */

typedef struct {
    int dry_run;  /* check and record everything, then roll it all back */
    int progress; /* a progress line on stderr (a terminal's) as it goes */
} dn_import_options_t;

typedef struct {
    int64_t sales, lines, members, refunds, updates; /* recorded (or, dry, would be) */
    int64_t skipped_sales, skipped_members, skipped_refunds,
        skipped_updates; /* refs imported before, same content */
    long line;       /* the file line of the refusal, 0 for none */
    char column[16]; /* the column refused: its name, or its number in the line
                        for a row that does not split; "" for none */
    char why[384];   /* the refusal, one line */
} dn_import_result_t;

/*  Imports the CSV data[0..len) into store, all or nothing.  Returns 0
    with the counts in *res; DN_EPARSE (anything wrong in the file: its
    layout, a row, or a record dn_record refuses), DN_ELIMIT (over
    DN_IMPORT_MAX_ROWS) with res->line, res->column and res->why set and
    nothing recorded; DN_EDB, DN_ENOMEM with res->why.  */
int dn_import_text(dn_store_t *store, const char *data, size_t len,
                   const dn_import_options_t *options, dn_import_result_t *res);

/*  dn_import_text on the contents of the file at path (at most
    DN_IMPORT_MAX_BYTES: DN_ELIMIT beyond).  DN_ENOENT for a missing file,
    DN_EIO for one that cannot be read, with res->why.  */
int dn_import_file(dn_store_t *store, const char *path, const dn_import_options_t *options,
                   dn_import_result_t *res);

typedef struct {
    /* leave out the events another PC could not record (below) rather
       than refuse the export; each is passed to skipped, one line */
    int skip_unmovable;
    void (*skipped)(void *arg, const char *line);
    void *arg;
} dn_import_export_options_t;

typedef struct {
    int64_t sales, lines, members, refunds, updates; /* written */
    int64_t unmovable; /* refunds and updates of what the server holds: not written */
} dn_import_export_t;

/*  Writes to out, in the import layout (header row first, rows ending in
    CRLF), every event of the outbox the server has not acknowledged, in
    seq order, each under its event id as ref: sales, member sign-ups,
    refunds (sale_ref: the sale's id, which is its ref in this file when
    the sale is unsynced too) and member updates.  Importing the file into
    another agent records them again.

    A refund of a sale, or an update of a member, that the server already
    holds cannot move: the other PC does not hold that sale or member and
    would refuse the file.  Unless options->skip_unmovable, export then
    refuses as a whole: DN_ELIMIT, nothing written to out, why naming the
    first (its id, seq, the sale or member) and what to do, res->unmovable
    counting them all.  With it, they are left out, counted, and each
    passed to options->skipped.

    Reads in one transaction and writes nothing to agent.db; out gets the
    whole file or nothing.  Returns 0 with the counts in *res, DN_ELIMIT,
    DN_EIO (writing out), DN_EDB, DN_ENOMEM, DN_EPROTO (an event that does
    not decode: `check` tells more) with a reason in why.  */
int dn_import_export_unsynced(dn_store_t *store, FILE *out,
                              const dn_import_export_options_t *options,
                              dn_import_export_t *res, char *why, size_t why_size);

#endif

/*  dn_csv -- reading and writing comma-separated text (RFC 4180).

    Files from another program (a till's export, a spreadsheet) are read
    whole into memory and split into rows of fields; a malformed quote is
    refused with its line and column, so the person who holds the file can
    find it.  What the fields mean is the caller's business: this module
    only splits.  The rules:

      - UTF-8; a byte order mark at the very start is skipped.
      - Fields are separated by ',' and rows end with LF or CRLF (the last
        row may end without one).  A CR not followed by LF outside quotes
        is refused: a file with old Mac line ends would otherwise be read
        as one long row.
      - A field that starts with '"' is quoted: it runs to the next '"'
        not doubled, may hold ',', CR and LF, and "" stands for one '"'.
        After the closing quote only ',' or the row's end may follow.
      - A '"' inside an unquoted field is refused (a spreadsheet always
        quotes such a field, so a stray one is a damaged file).
      - An empty line (no characters at all) is no row; a line ",," is a
        row of three empty fields.
      - A NUL byte is refused anywhere.

    Lines are counted from 1 at each LF of the file (also inside quoted
    fields), columns from 1 at each character (UTF-8 sequence) of the line,
    so "line 3, column 12" is where a text editor puts its cursor.
*/
#ifndef DN_CSV_H
#define DN_CSV_H

#include <stddef.h>
#include <stdio.h>

/*  One row: its fields, NUL-terminated, and the line it starts on.  */
typedef struct {
    char **fields; /* n_fields fields, borrowed from the dn_csv_t */
    size_t n_fields;
    long line; /* the file line the row starts on, 1-based */
} dn_csv_row_t;

/*  A split text.  Zero it before dn_csv_parse; free with dn_csv_free.  */
typedef struct {
    dn_csv_row_t *rows;
    size_t n_rows;
    char *text_;    /* the fields' bytes, one block */
    char **fields_; /* every row's field pointers, one block */
} dn_csv_t;

/*  Where and why a text was refused.  */
typedef struct {
    long line;
    long column;
    char why[128];
} dn_csv_error_t;

/*  Splits data[0..len) into csv.  Refuses more than max_rows rows (rows,
    not lines: a header counts).  Returns 0, DN_EPARSE with err set (line,
    column and why), DN_ELIMIT with err->line at the first row beyond
    max_rows, or DN_ENOMEM.  On failure csv holds nothing.  */
int dn_csv_parse(const char *data, size_t len, size_t max_rows, dn_csv_t *csv,
                 dn_csv_error_t *err);

/*  Frees what dn_csv_parse allocated; safe on a zeroed or freed csv.  */
void dn_csv_free(dn_csv_t *csv);

/*  Writes one row of n fields to out, quoting a field that holds ',',
    '"', CR or LF (doubling its quotes), and ends it with CRLF as RFC 4180
    says.  A NULL field is written empty.  Returns 0 or DN_EIO.  */
int dn_csv_write_row(FILE *out, const char *const *fields, size_t n);

#endif

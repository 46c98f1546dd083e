/*  dn_csv -- splitting RFC 4180 text into rows (see dn_csv.h).

    One pass over the bytes.  The unquoted text of every field is copied
    into one block (never longer than the input plus a NUL per field), so
    a row's fields are plain C strings that live as long as the dn_csv_t.
*/
#include "dn_csv.h"
#include "dn_array.h"
#include "dn_error.h"
#include "dn_i18n.h"

#include <stdlib.h>
#include <string.h>

static const char s_bom[] = "\xEF\xBB\xBF";

/*  The reader's position: line and column of data[pos].  */
typedef struct {
    const char *data;
    size_t len, pos;
    long line, column;
} s_reader_t;

/*  Moves past data[pos]: a new line after LF, a new column at each
    character (a UTF-8 continuation byte is part of the one before).  */
static void s_advance(s_reader_t *r)
{
    unsigned char c = (unsigned char)r->data[r->pos++];
    if (c == '\n') {
        r->line++;
        r->column = 1;
    } else if ((c & 0xC0) != 0x80) {
        r->column++;
    }
}

static int s_refuse(dn_csv_error_t *err, long line, long column, const char *why)
{
    err->line = line;
    err->column = column;
    snprintf(err->why, sizeof err->why, "%s", why);
    return DN_EPARSE;
}

/*  Reads one field from r into *w (advancing it past the field's NUL).
    Stops at the ',' or row end after the field, not past it.  */
static int s_field(s_reader_t *r, char **w, dn_csv_error_t *err)
{
    char *out = *w;
    if (r->pos < r->len && r->data[r->pos] == '"') {
        long line = r->line, column = r->column;
        s_advance(r);
        for (;;) {
            char c;
            if (r->pos >= r->len)
                return s_refuse(err, line, column,
                                _("a quoted field opened here never closes"));
            c = r->data[r->pos];
            if (c == '\0')
                return s_refuse(err, r->line, r->column, _("a NUL byte"));
            if (c == '"') {
                if (r->pos + 1 < r->len && r->data[r->pos + 1] == '"') {
                    *out++ = '"';
                    s_advance(r);
                    s_advance(r);
                    continue;
                }
                s_advance(r);
                break;
            }
            *out++ = c;
            s_advance(r);
        }
        if (r->pos < r->len && r->data[r->pos] != ',' && r->data[r->pos] != '\n' &&
            r->data[r->pos] != '\r')
            return s_refuse(err, r->line, r->column,
                            _("only a comma or the end of the row may follow a closing "
                              "quote (a quote inside a quoted field is written \"\")"));
    } else {
        while (r->pos < r->len) {
            char c = r->data[r->pos];
            if (c == ',' || c == '\n' || c == '\r')
                break;
            if (c == '\0')
                return s_refuse(err, r->line, r->column, _("a NUL byte"));
            if (c == '"')
                return s_refuse(err, r->line, r->column,
                                _("a quote inside an unquoted field; quote the whole field "
                                  "and double the quote (\"\")"));
            *out++ = c;
            s_advance(r);
        }
    }
    *out++ = '\0';
    *w = out;
    return 0;
}

int dn_csv_parse(const char *data, size_t len, size_t max_rows, dn_csv_t *csv,
                 dn_csv_error_t *err)
{
    s_reader_t r = {data, len, 0, 1, 1};
    size_t rows_cap = 0, fields_cap = 0, n_fields = 0;
    char *w;
    int rc = 0;

    memset(csv, 0, sizeof *csv);
    memset(err, 0, sizeof *err);
    if (len >= 3 && memcmp(data, s_bom, 3) == 0)
        r.pos = 3; /* not a character of the first line */
    /* the unquoted text is never longer than the input, plus a NUL for
       each field, and there are at most len + 1 fields */
    if (!(csv->text_ = malloc(2 * len + 2)))
        return DN_ENOMEM;
    w = csv->text_;
    while (rc == 0 && r.pos < r.len) {
        dn_csv_row_t *row;
        char c = r.data[r.pos];
        if (c == '\n' || (c == '\r' && r.pos + 1 < r.len && r.data[r.pos + 1] == '\n')) {
            if (c == '\r')
                s_advance(&r);
            s_advance(&r); /* an empty line is no row */
            continue;
        }
        if (csv->n_rows == max_rows) {
            rc = DN_ELIMIT;
            err->line = r.line;
            err->column = 1;
            snprintf(err->why, sizeof err->why, _("more than %zu rows"), max_rows);
            break;
        }
        row = dn_array_grow(csv->rows, &rows_cap, csv->n_rows, sizeof *csv->rows, 64);
        if (!row) {
            rc = DN_ENOMEM;
            break;
        }
        csv->rows = row;
        row = &csv->rows[csv->n_rows++];
        row->line = r.line;
        row->n_fields = 0;
        row->fields = NULL;
        for (;;) {
            char **more = dn_array_grow(csv->fields_, &fields_cap, n_fields,
                                        sizeof *csv->fields_, 256);
            if (!more) {
                rc = DN_ENOMEM;
                break;
            }
            csv->fields_ = more;
            csv->fields_[n_fields++] = w;
            row->n_fields++;
            if ((rc = s_field(&r, &w, err)) != 0)
                break;
            if (r.pos >= r.len)
                break;
            c = r.data[r.pos];
            if (c == ',') {
                s_advance(&r);
                continue;
            }
            if (c == '\r') {
                if (r.pos + 1 >= r.len || r.data[r.pos + 1] != '\n') {
                    rc = s_refuse(err, r.line, r.column,
                                  _("a carriage return not followed by a line feed (end "
                                    "rows with LF or CRLF)"));
                    break;
                }
                s_advance(&r);
            }
            s_advance(&r); /* the LF */
            break;
        }
    }
    if (rc) {
        dn_csv_free(csv);
        return rc;
    }
    /* the field pointers have settled: hand each row its run of them */
    n_fields = 0;
    for (size_t i = 0; i < csv->n_rows; i++) {
        csv->rows[i].fields = csv->fields_ + n_fields;
        n_fields += csv->rows[i].n_fields;
    }
    return 0;
}

void dn_csv_free(dn_csv_t *csv)
{
    free(csv->rows);
    free(csv->text_);
    free(csv->fields_);
    memset(csv, 0, sizeof *csv);
}

int dn_csv_write_row(FILE *out, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *f = fields[i] ? fields[i] : "";
        if (i > 0)
            fputc(',', out);
        if (strpbrk(f, ",\"\r\n")) {
            fputc('"', out);
            for (; *f; f++) {
                if (*f == '"')
                    fputc('"', out);
                fputc(*f, out);
            }
            fputc('"', out);
        } else {
            fputs(f, out);
        }
    }
    fputs("\r\n", out);
    return ferror(out) ? DN_EIO : 0;
}

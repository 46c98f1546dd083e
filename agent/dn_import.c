/*  dn_import -- a POS's CSV into the outbox, and the outbox's unsynced
    sales and members back out as that CSV (see dn_import.h).

    Two passes.  The first reads the rows into records without the
    database: the layout, each row's own fields (a line goes through
    dn_record_line_parts, the rules of `sale --line`), which rows form a
    sale, refs given twice.  The second records them in one transaction
    through dn_record, in file order, with the ref of each: a later row's
    sale may name a member an earlier row signed up.  The first refusal
    ends the import and rolls everything back.
*/
#include "dn_import.h"
#include "dn_crypto.h"
#include "dn_csv.h"
#include "dn_error.h"
#include "dn_id.h"
#include "dn_money.h"
#include "dn_outbox.h"
#include "dn_record.h"
#include "dn_testctl.h"
#include "dn_time.h"
#include "dn_wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/*  The columns, in the order export writes them.  */
enum {
    C_KIND,
    C_REF,
    C_SKU, /* sale columns from here ... */
    C_QUANTITY,
    C_UNIT_PRICE,
    C_MEMBER_PHONE,
    C_CHANNEL,
    C_SELLER, /* ... to here */
    C_PHONE,  /* member columns from here ... */
    C_NAME,
    C_REFERRER,
    C_HOUSEHOLD, /* ... to here */
    C_COUNT
};

static const char *const s_columns[C_COUNT] = {
    "kind",         "ref",     "sku",    "quantity", "unit_price", "member_phone",
    "channel",      "seller",  "phone",  "name",     "referrer",   "household"};

#define S_COLUMN_LIST                                                                  \
    "kind, ref, sku, quantity, unit_price, member_phone, channel, seller, phone, name, " \
    "referrer, household"

/*  Columns a POS may have that this layout refuses, and why.  */
static const struct {
    const char *name;
    const char *why;
} s_refused[] = {
    {"time", "the agent stamps each sale with the time it records it and chains its "
             "events in that order, so a POS time could not be kept; remove the column"},
    {"category", "a line takes its SKU's category from the local catalog, as with "
                 "'sale': set it with 'catalog set SKU PRICE --category CODE' and remove "
                 "the column"},
};

enum { S_SALE, S_MEMBER };
static const char *const s_kinds[] = {"sale", "member"};

/*  One sale (its consecutive rows) or one member (its row).  */
typedef struct {
    int kind;
    const char *ref;
    long line;         /* the file line of its first row */
    size_t first_line; /* sale: its lines in the lines array */
    size_t n_lines;
    const char *member_phone, *channel, *seller; /* sale: NULL when not given */
    long member_phone_line, channel_line, seller_line;
    const char *phone, *name, *referrer; /* member */
    int has_household;
    int64_t household;
} s_record_t;

typedef struct {
    dn_store_t *store;
    const dn_store_info_t *info;
    int col[C_COUNT]; /* field index of each column, -1 when absent */
    size_t n_columns;
    s_record_t *records;
    size_t n_records;
    dn_record_line_t *lines;
    size_t n_lines;
    dn_import_result_t *res;
} s_import_t;

/*  The refusal at line (and column, or -1): DN_EPARSE unless rc says
    otherwise.  */
static int s_refuse(s_import_t *self, int rc, long line, int column, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int s_refuse(s_import_t *self, int rc, long line, int column, const char *fmt, ...)
{
    va_list args;
    self->res->line = line;
    snprintf(self->res->column, sizeof self->res->column, "%s",
             column >= 0 ? s_columns[column] : "");
    va_start(args, fmt);
    vsnprintf(self->res->why, sizeof self->res->why, fmt, args);
    va_end(args);
    return rc;
}

/*  The field of column c in row, "" when the file has no such column.  */
static const char *s_get(const s_import_t *self, const dn_csv_row_t *row, int c)
{
    return self->col[c] >= 0 ? row->fields[self->col[c]] : "";
}

/* -- pass 1: the rows into records -------------------------------------- */

static int s_header(s_import_t *self, const dn_csv_row_t *row)
{
    for (int c = 0; c < C_COUNT; c++)
        self->col[c] = -1;
    for (size_t f = 0; f < row->n_fields; f++) {
        const char *name = row->fields[f];
        int c;
        for (c = 0; c < C_COUNT && strcmp(name, s_columns[c]) != 0; c++)
            ;
        if (c == C_COUNT) {
            for (size_t i = 0; i < sizeof s_refused / sizeof s_refused[0]; i++)
                if (strcmp(name, s_refused[i].name) == 0)
                    return s_refuse(self, DN_EPARSE, row->line, -1,
                                    "column %s is refused: %s", name, s_refused[i].why);
            return s_refuse(self, DN_EPARSE, row->line, -1,
                            "unknown column '%.40s' (the columns are " S_COLUMN_LIST ")",
                            name);
        }
        if (self->col[c] >= 0)
            return s_refuse(self, DN_EPARSE, row->line, -1, "column %s is named twice",
                            name);
        self->col[c] = (int)f;
    }
    if (self->col[C_KIND] < 0 || self->col[C_REF] < 0)
        return s_refuse(self, DN_EPARSE, row->line, -1,
                        "the header row must name the columns kind and ref (the first row "
                        "names the columns: " S_COLUMN_LIST ")");
    self->n_columns = row->n_fields;
    return 0;
}

/*  A sale-level field of a sale's later row: the first row's value, or
    empty.  *value and *line keep the first one given.  */
static int s_sale_field(s_import_t *self, const dn_csv_row_t *row, int c, s_record_t *rec,
                        const char **value, long *line)
{
    const char *text = s_get(self, row, c);
    if (!*text)
        return 0;
    if (*value && strcmp(*value, text) != 0)
        return s_refuse(self, DN_EPARSE, row->line, c,
                        "'%.40s' differs from '%.40s' on line %ld: a sale (ref %s) has one "
                        "%s; repeat it or leave it empty on its other rows",
                        text, *value, *line, rec->ref, s_columns[c]);
    if (!*value) {
        *value = text;
        *line = row->line;
    }
    return 0;
}

static int s_sale_row(s_import_t *self, const dn_csv_row_t *row, s_record_t *rec)
{
    const char *sku = s_get(self, row, C_SKU), *qty = s_get(self, row, C_QUANTITY);
    const char *price = s_get(self, row, C_UNIT_PRICE);
    static const int parts[] = {C_SKU, C_QUANTITY, C_UNIT_PRICE};
    char why[160];
    int part, rc;

    if (rec->n_lines == DN_MAX_SALE_LINES)
        return s_refuse(self, DN_EPARSE, row->line, -1,
                        "sale %s has more than %d lines, the most one sale may have",
                        rec->ref, DN_MAX_SALE_LINES);
    rc = dn_record_line_parts(sku, strlen(sku), qty, strlen(qty), *price ? price : NULL,
                              self->info->exponent, &self->lines[self->n_lines], &part, why,
                              sizeof why);
    if (rc)
        return s_refuse(self, rc, row->line, parts[part], "%s", why);
    self->n_lines++;
    rec->n_lines++;
    if ((rc = s_sale_field(self, row, C_MEMBER_PHONE, rec, &rec->member_phone,
                           &rec->member_phone_line)) != 0 ||
        (rc = s_sale_field(self, row, C_CHANNEL, rec, &rec->channel, &rec->channel_line)) !=
            0 ||
        (rc = s_sale_field(self, row, C_SELLER, rec, &rec->seller, &rec->seller_line)) != 0)
        return rc;
    return 0;
}

static int s_member_row(s_import_t *self, const dn_csv_row_t *row, s_record_t *rec)
{
    const char *household = s_get(self, row, C_HOUSEHOLD);
    rec->phone = s_get(self, row, C_PHONE);
    rec->name = *s_get(self, row, C_NAME) ? s_get(self, row, C_NAME) : NULL;
    rec->referrer = *s_get(self, row, C_REFERRER) ? s_get(self, row, C_REFERRER) : NULL;
    if (!*rec->phone)
        return s_refuse(self, DN_EPARSE, row->line, C_PHONE, "a member row needs a phone");
    if (*household) {
        rec->has_household = 1;
        if (dn_parse_int(household, 0, DN_MAX_HOUSEHOLD, &rec->household))
            return s_refuse(self, DN_EPARSE, row->line, C_HOUSEHOLD,
                            "household '%.20s' must be a whole number from 0 to %d",
                            household, DN_MAX_HOUSEHOLD);
    }
    return 0;
}

/*  Reads one row (not the header) into the records.  */
static int s_row(s_import_t *self, const dn_csv_row_t *row)
{
    const char *kind_text, *ref;
    s_record_t *rec, *last = self->n_records ? &self->records[self->n_records - 1] : NULL;
    int kind, all_empty = 1;

    for (size_t f = 0; f < row->n_fields && all_empty; f++)
        all_empty = row->fields[f][0] == '\0';
    if (all_empty)
        return 0; /* a spreadsheet's ",,,," row */
    if (row->n_fields != self->n_columns)
        return s_refuse(self, DN_EPARSE, row->line, -1,
                        "%zu fields, but the header row names %zu columns", row->n_fields,
                        self->n_columns);
    kind_text = s_get(self, row, C_KIND);
    ref = s_get(self, row, C_REF);
    if (strcmp(kind_text, "sale") == 0)
        kind = S_SALE;
    else if (strcmp(kind_text, "member") == 0)
        kind = S_MEMBER;
    else
        return s_refuse(self, DN_EPARSE, row->line, C_KIND,
                        "kind '%.20s' is not sale or member", kind_text);
    if (!dn_valid_text(ref, DN_IMPORT_MAX_REF_LEN))
        return s_refuse(self, DN_EPARSE, row->line, C_REF,
                        "a ref must be 1 to %d bytes of printable UTF-8",
                        DN_IMPORT_MAX_REF_LEN);
    for (int c = kind == S_SALE ? C_PHONE : C_SKU;
         c <= (kind == S_SALE ? C_HOUSEHOLD : C_SELLER); c++)
        if (*s_get(self, row, c))
            return s_refuse(self, DN_EPARSE, row->line, c,
                            kind == S_SALE
                                ? "a sale row leaves the member columns (phone, name, "
                                  "referrer, household) empty"
                                : "a member row leaves the sale columns (sku, quantity, "
                                  "unit_price, member_phone, channel, seller) empty");
    if (kind == S_SALE && last && last->kind == S_SALE && strcmp(last->ref, ref) == 0)
        return s_sale_row(self, row, last); /* the next line of the same sale */
    rec = &self->records[self->n_records++];
    memset(rec, 0, sizeof *rec);
    rec->kind = kind;
    rec->ref = ref;
    rec->line = row->line;
    rec->first_line = self->n_lines;
    return kind == S_SALE ? s_sale_row(self, row, rec) : s_member_row(self, row, rec);
}

static int s_by_ref(const void *a, const void *b)
{
    const s_record_t *x = *(const s_record_t *const *)a, *y = *(const s_record_t *const *)b;
    int d = x->kind - y->kind;
    if (d == 0)
        d = strcmp(x->ref, y->ref);
    return d ? d : (x->line > y->line) - (x->line < y->line);
}

/*  Refuses a ref given to two records of one kind: at the earliest line
    that repeats one.  */
static int s_unique_refs(s_import_t *self)
{
    const s_record_t **sorted, *first = NULL, *again = NULL;
    if (self->n_records < 2)
        return 0;
    if (!(sorted = malloc(self->n_records * sizeof *sorted)))
        return s_refuse(self, DN_ENOMEM, 0, -1, "out of memory");
    for (size_t i = 0; i < self->n_records; i++)
        sorted[i] = &self->records[i];
    qsort(sorted, self->n_records, sizeof *sorted, s_by_ref);
    for (size_t i = 1, start = 0; i < self->n_records; i++) {
        const s_record_t *a = sorted[start], *b = sorted[i];
        if (a->kind != b->kind || strcmp(a->ref, b->ref) != 0) {
            start = i; /* a new ref */
        } else if (i == start + 1 && (!again || b->line < again->line)) {
            first = a; /* the ref's first repeat: the earliest line of its group */
            again = b;
        }
    }
    free(sorted);
    if (!again)
        return 0;
    return s_refuse(self, DN_EPARSE, again->line, C_REF,
                    again->kind == S_SALE
                        ? "ref %s is used again (its sale is on line %ld): a ref names one "
                          "sale, and a sale's rows are consecutive"
                        : "ref %s is used again (its member is on line %ld): a ref names one "
                          "member",
                    again->ref, first->line);
}

/* -- pass 2: recording --------------------------------------------------- */

/*  A field into the digest: its length, then its bytes, so no two
    different records write the same bytes.  */
static void s_put(FILE *out, const char *text)
{
    text = text ? text : "";
    fprintf(out, "%zu:%s;", strlen(text), text);
}

/*  The phone as stored (canonical), or as given when it is not one:
    dn_record refuses it then, before the digest matters.  */
static void s_put_phone(FILE *out, const s_import_t *self, const char *text)
{
    char phone[DN_PHONE_SIZE], why[DN_PHONE_WHY_SIZE];
    if (text && dn_phone_normalize(text, self->info->country, phone, why, sizeof why) == 0)
        text = phone;
    s_put(out, text);
}

/*  The SHA-256 of what a record would record: its lines with quantities
    and prices as numbers ("1.5" is "1.50"), phones canonical, the rest as
    given.  */
static int s_digest(const s_import_t *self, const s_record_t *rec,
                    uint8_t digest[DN_HASH_BYTES])
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    int rc;
    if (!out)
        return DN_ENOMEM;
    s_put(out, s_kinds[rec->kind]);
    if (rec->kind == S_SALE) {
        for (size_t i = 0; i < rec->n_lines; i++) {
            const dn_record_line_t *line = &self->lines[rec->first_line + i];
            s_put(out, line->sku);
            fprintf(out, "%lld;", (long long)line->quantity);
            if (line->has_price)
                fprintf(out, "%lld;", (long long)line->unit_price);
            else
                s_put(out, NULL);
        }
        s_put_phone(out, self, rec->member_phone);
        s_put(out, rec->channel);
        s_put(out, rec->seller);
    } else {
        s_put_phone(out, self, rec->phone);
        s_put(out, rec->name);
        s_put(out, rec->referrer);
        fprintf(out, "%lld;", rec->has_household ? (long long)rec->household : -1LL);
    }
    rc = fclose(out) == 0 ? dn_sha256(buf, size, digest) : DN_ENOMEM;
    free(buf);
    return rc;
}

/*  Errors of the file's content exit 65 whatever dn_record said (a SKU
    without a price is DN_ENOENT to `sale`, but for an import the file is
    what is wrong); those of the machine keep their code.  */
static int s_content_rc(int rc)
{
    return rc == DN_EDB || rc == DN_ENOMEM || rc == DN_ECRYPTO || rc == DN_EIO ? rc
                                                                              : DN_EPARSE;
}

static int s_record(s_import_t *self, const s_record_t *rec, int64_t now)
{
    dn_store_import_t row;
    dn_record_result_t result;
    char why[256] = "";
    int rc;

    if ((rc = s_digest(self, rec, row.digest)) != 0)
        return s_refuse(self, rc, rec->line, -1, "could not take the record's digest");
    {
        dn_store_import_t before;
        rc = dn_store_import_get(self->store, s_kinds[rec->kind], rec->ref, &before);
        if (rc == 0 && memcmp(before.digest, row.digest, DN_HASH_BYTES) == 0) {
            if (rec->kind == S_SALE)
                self->res->skipped_sales++;
            else
                self->res->skipped_members++;
            return 0;
        }
        if (rc == 0) {
            char when[DN_TIME_TEXT_SIZE];
            dn_time_format(before.imported_at_ms, when);
            return s_refuse(self, DN_EPARSE, rec->line, C_REF,
                            "ref %s was imported on %s with other %s (seq %lld); give "
                            "this %s a new ref or leave it out",
                            rec->ref, when, rec->kind == S_SALE ? "lines" : "details",
                            (long long)before.seq, s_kinds[rec->kind]);
        }
        if (rc != DN_ENOENT)
            return s_refuse(self, rc, rec->line, -1, "could not look the ref up");
    }
    if (rec->kind == S_SALE) {
        dn_sale_input_t in = {&self->lines[rec->first_line], rec->n_lines,
                              rec->member_phone, rec->channel, rec->seller};
        rc = dn_record_sale(self->store, &in, &result, why, sizeof why);
    } else {
        dn_member_input_t in = {rec->phone, rec->name, rec->referrer, rec->has_household,
                                rec->household};
        rc = dn_record_member_add(self->store, &in, &result, why, sizeof why);
    }
    if (rc)
        return s_refuse(self, s_content_rc(rc), rec->line, -1, "%s %s: %s",
                        s_kinds[rec->kind], rec->ref, why[0] ? why : dn_strerror(rc));
    row.seq = result.seq;
    row.imported_at_ms = now;
    if ((rc = dn_store_import_put(self->store, s_kinds[rec->kind], rec->ref, &row)) != 0)
        return s_refuse(self, rc, rec->line, -1, "could not keep the ref of %s %s",
                        s_kinds[rec->kind], rec->ref);
    if (rec->kind == S_SALE) {
        self->res->sales++;
        self->res->lines += (int64_t)rec->n_lines;
    } else {
        self->res->members++;
    }
    return 0;
}

static int s_record_all(s_import_t *self, const dn_import_options_t *options)
{
    int64_t now = dn_testctl_now_ms();
    int rc = dn_store_begin(self->store);
    if (rc)
        return s_refuse(self, rc, 0, -1,
                        "could not open a transaction on the agent database");
    for (size_t i = 0; i < self->n_records && rc == 0; i++) {
        rc = s_record(self, &self->records[i], now);
        if (options->progress && (i + 1) % DN_IMPORT_PROGRESS_RECORDS == 0)
            fprintf(stderr, "\rimport: %zu of %zu records", i + 1, self->n_records);
    }
    if (options->progress && self->n_records >= DN_IMPORT_PROGRESS_RECORDS)
        fputc('\n', stderr);
    if (rc == 0 && !options->dry_run && (rc = dn_store_commit(self->store)) != 0)
        s_refuse(self, rc, 0, -1, "could not commit to the agent database");
    if (rc || options->dry_run)
        dn_store_rollback(self->store);
    return rc;
}

int dn_import_text(dn_store_t *store, const char *data, size_t len,
                   const dn_import_options_t *options, dn_import_result_t *res)
{
    s_import_t self = {store, dn_store_info(store), {0}, 0, NULL, 0, NULL, 0, res};
    dn_csv_t csv;
    dn_csv_error_t err;
    int rc;

    memset(res, 0, sizeof *res);
    rc = dn_csv_parse(data, len, DN_IMPORT_MAX_ROWS, &csv, &err);
    if (rc == DN_ENOMEM)
        return s_refuse(&self, rc, 0, -1, "out of memory");
    if (rc) {
        res->line = err.line;
        snprintf(res->column, sizeof res->column, "%ld", err.column);
        snprintf(res->why, sizeof res->why, "%s%s", err.why,
                 rc == DN_ELIMIT ? " (the most one file may hold is " DN_STR(
                                       DN_IMPORT_MAX_ROWS) "; split it)"
                                 : "");
        return rc;
    }
    if (csv.n_rows == 0) {
        dn_csv_free(&csv);
        return s_refuse(&self, DN_EPARSE, 1, -1,
                        "the file is empty: the first row names the columns (" S_COLUMN_LIST
                        ")");
    }
    /* at most one record and one line per row */
    self.records = calloc(csv.n_rows, sizeof *self.records);
    self.lines = calloc(csv.n_rows, sizeof *self.lines);
    if (!self.records || !self.lines)
        rc = s_refuse(&self, DN_ENOMEM, 0, -1, "out of memory");
    if (rc == 0)
        rc = s_header(&self, &csv.rows[0]);
    for (size_t i = 1; i < csv.n_rows && rc == 0; i++)
        rc = s_row(&self, &csv.rows[i]);
    if (rc == 0)
        rc = s_unique_refs(&self);
    if (rc == 0)
        rc = s_record_all(&self, options);
    if (rc)
        res->sales = res->lines = res->members = res->skipped_sales =
            res->skipped_members = 0; /* nothing was recorded */
    free(self.records);
    free(self.lines);
    dn_csv_free(&csv);
    return rc;
}

int dn_import_file(dn_store_t *store, const char *path, const dn_import_options_t *options,
                   dn_import_result_t *res)
{
    FILE *in = fopen(path, "rb");
    char *data;
    size_t len;
    int rc = 0;

    memset(res, 0, sizeof *res);
    if (!in)
        return dn_why(res->why, sizeof res->why, errno == ENOENT ? DN_ENOENT : DN_EIO,
                      "cannot open %s: %s", path, strerror(errno));
    /* one byte more than the limit tells a file over it */
    if (!(data = malloc(DN_IMPORT_MAX_BYTES + 1))) {
        fclose(in);
        return dn_why(res->why, sizeof res->why, DN_ENOMEM, "out of memory");
    }
    len = fread(data, 1, DN_IMPORT_MAX_BYTES + 1, in);
    if (ferror(in))
        rc = dn_why(res->why, sizeof res->why, DN_EIO, "cannot read %s: %s", path,
                    strerror(errno));
    else if (len > DN_IMPORT_MAX_BYTES)
        rc = dn_why(res->why, sizeof res->why, DN_ELIMIT,
                    "%s is over %d MiB, the most one import may be; split it", path,
                    DN_IMPORT_MAX_BYTES / (1024 * 1024));
    fclose(in);
    if (rc == 0)
        rc = dn_import_text(store, data, len, options, res);
    free(data);
    return rc;
}

/* -- export -------------------------------------------------------------- */

static int s_export_event(const dn_store_info_t *info, const Dealernet__Event *ev,
                          FILE *out, dn_import_export_t *res)
{
    const char *row[C_COUNT] = {0};
    char ref[DN_ID_TEXT_SIZE], price[DN_MONEY_TEXT_SIZE], qty[24], household[16];
    int rc = 0;

    if (ev->id.len != DN_ID_BYTES)
        return DN_EPROTO;
    dn_id_format(ev->id.data, ref);
    row[C_REF] = ref;
    switch (ev->body_case) {
    case DEALERNET__EVENT__BODY_SALE:
        row[C_KIND] = "sale";
        row[C_MEMBER_PHONE] = ev->sale->member_phone;
        row[C_CHANNEL] = dn_wire_channel_name(ev->sale->channel);
        row[C_SELLER] = ev->sale->seller;
        for (size_t i = 0; i < ev->sale->n_lines && rc == 0; i++) {
            const Dealernet__SaleLine *line = ev->sale->lines[i];
            snprintf(qty, sizeof qty, "%lld", (long long)line->quantity);
            dn_money_format(line->unit_price, info->exponent, price, sizeof price);
            row[C_SKU] = line->sku;
            row[C_QUANTITY] = qty;
            row[C_UNIT_PRICE] = price;
            rc = dn_csv_write_row(out, row, C_COUNT);
        }
        res->sales++;
        res->lines += (int64_t)ev->sale->n_lines;
        break;
    case DEALERNET__EVENT__BODY_MEMBER_SIGNUP:
        row[C_KIND] = "member";
        row[C_PHONE] = ev->member_signup->phone;
        row[C_NAME] = ev->member_signup->name;
        row[C_REFERRER] = ev->member_signup->referrer_phone
                              ? ev->member_signup->referrer_phone
                              : ev->member_signup->referrer_partner;
        if (ev->member_signup->has_household) {
            snprintf(household, sizeof household, "%u", ev->member_signup->household);
            row[C_HOUSEHOLD] = household;
        }
        rc = dn_csv_write_row(out, row, C_COUNT);
        res->members++;
        break;
    case DEALERNET__EVENT__BODY_REFUND:
        res->refunds++;
        break;
    case DEALERNET__EVENT__BODY_MEMBER_UPDATE:
        res->updates++;
        break;
    default:
        return DN_EPROTO;
    }
    return rc;
}

int dn_import_export_unsynced(dn_store_t *store, FILE *out, dn_import_export_t *res,
                              char *why, size_t why_size)
{
    dn_outbox_position_t pos;
    uint64_t from;
    int rc;

    memset(res, 0, sizeof *res);
    /* one snapshot: a sync acknowledging events meanwhile cannot make the
       file skip or repeat one; rolled back, so nothing is written */
    if ((rc = dn_store_begin(store)) != 0)
        return dn_why(why, why_size, rc, "could not open a transaction on the agent "
                                         "database");
    if ((rc = dn_outbox_position(store, &pos)) != 0)
        dn_why(why, why_size, rc, "could not read the outbox's position");
    if (rc == 0 && (rc = dn_csv_write_row(out, s_columns, C_COUNT)) != 0)
        dn_why(why, why_size, rc, "could not write the file: %s", strerror(errno));
    for (from = pos.acked_seq + 1; rc == 0 && from <= pos.head_seq;) {
        dn_outbox_batch_t batch;
        if ((rc = dn_outbox_read(store, from, 500, 1 << 20, &batch)) != 0) {
            dn_why(why, why_size, rc, "could not read the outbox from seq %llu",
                   (unsigned long long)from);
            break;
        }
        if (batch.n == 0) {
            dn_outbox_batch_free(&batch);
            break;
        }
        for (size_t i = 0; i < batch.n && rc == 0; i++) {
            Dealernet__Event *ev = NULL;
            char ewhy[DN_WHY_SIZE];
            rc = dn_wire_event_unpack(batch.events[i].data, batch.events[i].len, &ev, ewhy,
                                      sizeof ewhy);
            if (rc == 0)
                rc = s_export_event(dn_store_info(store), ev, out, res);
            if (rc == DN_EIO)
                dn_why(why, why_size, rc, "could not write the file: %s", strerror(errno));
            else if (rc)
                dn_why(why, why_size, DN_EPROTO,
                       "event seq %llu does not decode; run 'check'",
                       (unsigned long long)(from + i));
            dn_wire_event_free(&ev);
        }
        from += batch.n;
        dn_outbox_batch_free(&batch);
    }
    dn_store_rollback(store);
    if (rc && rc != DN_EIO && rc != DN_EDB && rc != DN_ENOMEM)
        rc = DN_EPROTO;
    return rc;
}

/*  dn_import -- a POS's CSV into the outbox, and the outbox's unsynced
    events back out as that CSV (see dn_import.h).

    Two passes.  The first reads the rows into records without the
    database: the layout, each row's own fields (a line goes through
    dn_record_line_parts, the rules of `sale --line`), which rows form a
    sale or a refund, refs given twice.  The second records them in one transaction
    through dn_record, in file order, with the ref of each: a later row's
    sale may name a member an earlier row signed up.  The first refusal
    ends the import and rolls everything back.
*/
#include "dn_import.h"
#include "dn_i18n.h"
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
    C_SALE_REF,  /* refund columns: these, sku and quantity */
    C_AMOUNT,
    C_COUNT
};

static const char *const s_columns[C_COUNT] = {
    "kind",         "ref",     "sku",    "quantity", "unit_price", "member_phone",
    "channel",      "seller",  "phone",  "name",     "referrer",   "household",
    "sale_ref",     "amount"};

#define S_COLUMN_LIST                                                                  \
    "kind, ref, sku, quantity, unit_price, member_phone, channel, seller, phone, name, " \
    "referrer, household, sale_ref, amount"

/*  Columns a POS may have that this layout refuses, and why.  */
static const struct {
    const char *name;
    const char *why;
} s_refused[] = {
    {"time", N_("the agent stamps each sale with the time it records it and chains its "
             "events in that order, so a POS time could not be kept; remove the column")},
    {"category", N_("a line takes its SKU's category from HQ's catalogue or the local "
                 "catalog, as with 'sale': set it with 'catalog set SKU PRICE --category "
                 "CODE' (or ask headquarters) and remove the column")},
};

enum { S_SALE, S_MEMBER, S_REFUND, S_UPDATE, S_KINDS };
static const char *const s_kinds[S_KINDS] = {"sale", "member", "refund", "member_update"};
/*  What a message calls a record of each kind (N_: in the reader's
    language through s_noun).  */
static const char *const s_nouns[S_KINDS] = {N_("sale"), N_("member"), N_("refund"),
                                             N_("member update")};

static const char *s_noun(int kind)
{
    return _(s_nouns[kind]);
}

#define S_BIT(c) (1u << (c))

/*  The columns each kind's rows fill, besides kind and ref.  The others
    stay empty: a value there would be dropped (a refund line takes the
    sale's price, a member's referrer is fixed at sign-up), so it is
    refused rather than ignored.  */
static const unsigned s_filled[S_KINDS] = {
    S_BIT(C_SKU) | S_BIT(C_QUANTITY) | S_BIT(C_UNIT_PRICE) | S_BIT(C_MEMBER_PHONE) |
        S_BIT(C_CHANNEL) | S_BIT(C_SELLER),
    S_BIT(C_PHONE) | S_BIT(C_NAME) | S_BIT(C_REFERRER) | S_BIT(C_HOUSEHOLD),
    S_BIT(C_SALE_REF) | S_BIT(C_SKU) | S_BIT(C_QUANTITY) | S_BIT(C_AMOUNT),
    S_BIT(C_PHONE) | S_BIT(C_NAME) | S_BIT(C_HOUSEHOLD)};
static const char *const s_filled_text[S_KINDS] = {
    "sku, quantity, unit_price, member_phone, channel, seller", /* i18n: not for people: CSV column names */
    "phone, name, referrer, household", /* i18n: not for people: CSV column names */
    "sale_ref, sku, quantity, amount", /* i18n: not for people: CSV column names */
    "phone, name, household"}; /* i18n: not for people: CSV column names */

/*  One sale or refund (its consecutive rows), or one member or member
    update (its row).  */
typedef struct {
    int kind;
    const char *ref;
    long line;         /* the file line of its first row */
    size_t first_line; /* sale, refund: its lines in the lines array */
    size_t n_lines;
    const char *member_phone, *channel, *seller; /* sale: NULL when not given */
    long member_phone_line, channel_line, seller_line;
    const char *phone, *name, *referrer; /* member, member update (no referrer) */
    int has_household;
    int64_t household;
    const char *sale_ref; /* refund: the sale it refunds, as the file names it */
    long sale_ref_line;
    int has_amount; /* refund: of an amount rather than of lines */
    int64_t amount;
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
                                    _("column %s is refused: %s"), name, _(s_refused[i].why));
            return s_refuse(self, DN_EPARSE, row->line, -1,
                            _("unknown column '%.40s' (the columns are %s)"), name,
                            S_COLUMN_LIST);
        }
        if (self->col[c] >= 0)
            return s_refuse(self, DN_EPARSE, row->line, -1, _("column %s is named twice"),
                            name);
        self->col[c] = (int)f;
    }
    if (self->col[C_KIND] < 0 || self->col[C_REF] < 0)
        return s_refuse(self, DN_EPARSE, row->line, -1,
                        _("the header row must name the columns kind and ref (the first row "
                          "names the columns: %s)"),
                        S_COLUMN_LIST);
    self->n_columns = row->n_fields;
    return 0;
}

/*  A sale-level field of a sale's (or a refund's) later row: the first
    row's value, or empty.  *value and *line keep the first one given.  */
static int s_sale_field(s_import_t *self, const dn_csv_row_t *row, int c, s_record_t *rec,
                        const char **value, long *line)
{
    const char *text = s_get(self, row, c);
    if (!*text)
        return 0;
    if (*value && strcmp(*value, text) != 0)
        return s_refuse(self, DN_EPARSE, row->line, c,
                        _("'%.40s' differs from '%.40s' on line %ld: a %s (ref %s) has one "
                        "%s; repeat it or leave it empty on its other rows"),
                        text, *value, *line, s_noun(rec->kind), rec->ref, s_columns[c]);
    if (!*value) {
        *value = text;
        *line = row->line;
    }
    return 0;
}

/*  The row's sku, quantity and unit_price as the next line of rec (a
    sale's or a refund's, whose rows leave unit_price empty).  */
static int s_line_row(s_import_t *self, const dn_csv_row_t *row, s_record_t *rec)
{
    const char *sku = s_get(self, row, C_SKU), *qty = s_get(self, row, C_QUANTITY);
    const char *price = s_get(self, row, C_UNIT_PRICE);
    static const int parts[] = {C_SKU, C_QUANTITY, C_UNIT_PRICE};
    /* a bad item is dn_valid_code_check's refusal, which fits this in any
       language (160 bytes cut the Chinese one mid-character) */
    char why[DN_CODE_WHY_SIZE];
    int part, rc;

    if (rec->n_lines == DN_MAX_SALE_LINES)
        return s_refuse(self, DN_EPARSE, row->line, -1,
                        _("%s %s has more than %d lines, the most one %s may have"),
                        s_noun(rec->kind), rec->ref, DN_MAX_SALE_LINES, s_noun(rec->kind));
    rc = dn_record_line_parts(sku, strlen(sku), qty, strlen(qty), *price ? price : NULL,
                              self->info->exponent, &self->lines[self->n_lines], &part, why,
                              sizeof why);
    if (rc)
        return s_refuse(self, rc, row->line, parts[part], "%s", why);
    self->n_lines++;
    rec->n_lines++;
    return 0;
}

static int s_sale_row(s_import_t *self, const dn_csv_row_t *row, s_record_t *rec)
{
    int rc = s_line_row(self, row, rec);
    if (rc)
        return rc;
    if ((rc = s_sale_field(self, row, C_MEMBER_PHONE, rec, &rec->member_phone,
                           &rec->member_phone_line)) != 0 ||
        (rc = s_sale_field(self, row, C_CHANNEL, rec, &rec->channel, &rec->channel_line)) !=
            0 ||
        (rc = s_sale_field(self, row, C_SELLER, rec, &rec->seller, &rec->seller_line)) != 0)
        return rc;
    return 0;
}

/*  A refund is either one row of an amount or rows of lines (SKU and
    quantity at the sale's price), as `refund` takes --amount or --line,
    never both; a row of neither would be "all that is left", which a
    file should say as an amount.  Its sale_ref is on its first row.  */
static int s_refund_row(s_import_t *self, const dn_csv_row_t *row, s_record_t *rec)
{
    const char *sku = s_get(self, row, C_SKU), *qty = s_get(self, row, C_QUANTITY);
    const char *amount = s_get(self, row, C_AMOUNT);
    int rc;

    if ((rc = s_sale_field(self, row, C_SALE_REF, rec, &rec->sale_ref,
                           &rec->sale_ref_line)) != 0)
        return rc;
    if (!rec->sale_ref)
        return s_refuse(self, DN_EPARSE, row->line, C_SALE_REF,
                        _("a refund row names the sale it refunds: its ref in an import, or "
                        "its id here"));
    if (*amount) {
        if (*sku || *qty)
            return s_refuse(self, DN_EPARSE, row->line, C_AMOUNT,
                            _("a refund row gives sku and quantity (a line to refund) or an "
                            "amount, not both"));
        if (rec->n_lines || rec->has_amount)
            return s_refuse(self, DN_EPARSE, row->line, C_AMOUNT,
                            rec->has_amount
                                ? _("refund %s has an amount on line %ld: a refund of an "
                                    "amount is that one row")
                                : _("refund %s has lines on line %ld: a refund of an amount "
                                    "is that one row"),
                            rec->ref, rec->line);
        if (dn_money_parse(amount, self->info->exponent, &rec->amount) || rec->amount <= 0)
            return s_refuse(self, DN_EPARSE, row->line, C_AMOUNT,
                            _("amount '%.20s' must be a positive amount with at most %d "
                            "decimals"),
                            amount, self->info->exponent);
        rec->has_amount = 1;
        return 0;
    }
    if (!*sku && !*qty)
        return s_refuse(self, DN_EPARSE, row->line, -1,
                        _("a refund row gives sku and quantity (a line to refund) or an "
                        "amount"));
    if (rec->has_amount)
        return s_refuse(self, DN_EPARSE, row->line, C_SKU,
                        _("refund %s has an amount on line %ld: a refund of an amount is that "
                        "one row"),
                        rec->ref, rec->line);
    return s_line_row(self, row, rec);
}

static int s_member_row(s_import_t *self, const dn_csv_row_t *row, s_record_t *rec)
{
    const char *household = s_get(self, row, C_HOUSEHOLD);
    rec->phone = s_get(self, row, C_PHONE);
    rec->name = *s_get(self, row, C_NAME) ? s_get(self, row, C_NAME) : NULL;
    rec->referrer = *s_get(self, row, C_REFERRER) ? s_get(self, row, C_REFERRER) : NULL;
    if (!*rec->phone)
        return s_refuse(self, DN_EPARSE, row->line, C_PHONE, _("a %s row needs a phone"),
                        s_kinds[rec->kind]);
    if (*household) {
        rec->has_household = 1;
        if (dn_parse_int(household, 0, DN_MAX_HOUSEHOLD, &rec->household))
            return s_refuse(self, DN_EPARSE, row->line, C_HOUSEHOLD,
                            _("household '%.20s' must be a whole number from 0 to %d"),
                            household, DN_MAX_HOUSEHOLD);
    }
    if (rec->kind == S_UPDATE && !rec->name && !rec->has_household)
        return s_refuse(self, DN_EPARSE, row->line, -1,
                        _("a member_update row gives a name or a household to change"));
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
                        _("%zu fields, but the header row names %zu columns"), row->n_fields,
                        self->n_columns);
    kind_text = s_get(self, row, C_KIND);
    ref = s_get(self, row, C_REF);
    for (kind = 0; kind < S_KINDS && strcmp(kind_text, s_kinds[kind]) != 0; kind++)
        ;
    if (kind == S_KINDS)
        return s_refuse(self, DN_EPARSE, row->line, C_KIND,
                        _("kind '%.20s' is not sale, member, refund or member_update"),
                        kind_text);
    if (!dn_valid_text(ref, DN_IMPORT_MAX_REF_LEN))
        return s_refuse(self, DN_EPARSE, row->line, C_REF,
                        _("a ref must be 1 to %d bytes of printable UTF-8"),
                        DN_IMPORT_MAX_REF_LEN);
    for (int c = C_SKU; c < C_COUNT; c++)
        if (!(s_filled[kind] & S_BIT(c)) && *s_get(self, row, c)) {
            if (kind == S_REFUND && c == C_UNIT_PRICE)
                return s_refuse(self, DN_EPARSE, row->line, c,
                                _("a refund line is refunded at the sale's price; leave "
                                "unit_price empty"));
            if (kind == S_UPDATE && c == C_REFERRER)
                return s_refuse(self, DN_EPARSE, row->line, c,
                                _("a member's referrer cannot be changed; leave referrer "
                                "empty"));
            return s_refuse(self, DN_EPARSE, row->line, c,
                            _("a %s row leaves %s empty (it fills kind, ref, %s)"),
                            s_kinds[kind], s_columns[c], s_filled_text[kind]);
        }
    if ((kind == S_SALE || kind == S_REFUND) && last && last->kind == kind &&
        strcmp(last->ref, ref) == 0) /* the next row of the same sale or refund */
        return kind == S_SALE ? s_sale_row(self, row, last) : s_refund_row(self, row, last);
    rec = &self->records[self->n_records++];
    memset(rec, 0, sizeof *rec);
    rec->kind = kind;
    rec->ref = ref;
    rec->line = row->line;
    rec->first_line = self->n_lines;
    if (kind == S_SALE)
        return s_sale_row(self, row, rec);
    return kind == S_REFUND ? s_refund_row(self, row, rec) : s_member_row(self, row, rec);
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
        return s_refuse(self, DN_ENOMEM, 0, -1, _("out of memory"));
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
    {
        const char *noun = s_noun(again->kind);
        int rows = again->kind == S_SALE || again->kind == S_REFUND;
        return s_refuse(self, DN_EPARSE, again->line, C_REF,
                        rows ? _("ref %s is used again (its %s is on line %ld): a ref names "
                                 "one %s, and a %s's rows are consecutive")
                             : _("ref %s is used again (its %s is on line %ld): a ref names "
                                 "one %s%s"),
                        again->ref, noun, first->line, noun, rows ? noun : "");
    }
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
    and prices as numbers ("1.5" is "1.50"), phones canonical, a refund's
    sale as the id it resolved to (sale_id; its ref or its id name one
    sale), the rest as given.  */
static int s_digest(const s_import_t *self, const s_record_t *rec,
                    const uint8_t sale_id[DN_ID_BYTES], uint8_t digest[DN_HASH_BYTES])
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
    } else if (rec->kind == S_REFUND) {
        char id[DN_ID_TEXT_SIZE];
        dn_id_format(sale_id, id);
        s_put(out, id);
        for (size_t i = 0; i < rec->n_lines; i++) {
            const dn_record_line_t *line = &self->lines[rec->first_line + i];
            s_put(out, line->sku);
            fprintf(out, "%lld;", (long long)line->quantity);
        }
        fprintf(out, "%lld;", rec->has_amount ? (long long)rec->amount : -1LL);
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

/*  The sale a refund names: first a sale imported under that ref (on an
    earlier row of this file, or by an earlier import: both are in
    imports, written in this transaction), else a sale recorded here with
    that id.  A POS ref that happens to read as an id is the POS's: the
    file speaks the POS's names first.  */
static int s_refund_sale(s_import_t *self, const s_record_t *rec,
                         uint8_t sale_id[DN_ID_BYTES])
{
    dn_store_import_t sale;
    dn_store_sale_t found;
    int rc = dn_store_import_get(self->store, s_kinds[S_SALE], rec->sale_ref, &sale);
    if (rc == 0) {
        if ((rc = dn_store_sale_at(self->store, sale.seq, sale_id)) == 0)
            return 0;
        return s_refuse(self, rc == DN_ENOENT ? DN_EDB : rc, rec->sale_ref_line, C_SALE_REF,
                        _("could not find the sale imported as %s (seq %lld)"), rec->sale_ref,
                        (long long)sale.seq);
    }
    if (rc != DN_ENOENT)
        return s_refuse(self, rc, rec->sale_ref_line, -1, _("could not look the sale_ref up"));
    if (dn_id_parse(rec->sale_ref, sale_id) == 0 &&
        (rc = dn_store_sale_get(self->store, sale_id, &found)) != DN_ENOENT) {
        if (rc)
            return s_refuse(self, rc, rec->sale_ref_line, -1, _("could not look the sale up"));
        return 0;
    }
    return s_refuse(self, DN_EPARSE, rec->sale_ref_line, C_SALE_REF,
                    _("refund %s: sale_ref %s is no sale of this agent: neither the ref of a "
                    "sale imported here (in this file, on an earlier row, or before) nor "
                    "a sale id ('sales' lists them)"),
                    rec->ref, rec->sale_ref);
}

static int s_record(s_import_t *self, const s_record_t *rec, int64_t now)
{
    dn_store_import_t row;
    dn_record_result_t result;
    uint8_t sale_id[DN_ID_BYTES] = {0};
    char why[256] = "";
    int rc;

    if (rec->kind == S_REFUND && (rc = s_refund_sale(self, rec, sale_id)) != 0)
        return rc;
    /* an item given by its display name is the SKU it names, as at the
       till (dn_record_resolve_line), before the digest, which is over SKUs */
    for (size_t i = 0; (rec->kind == S_SALE || rec->kind == S_REFUND) && i < rec->n_lines;
         i++) {
        rc = dn_record_resolve_line(self->store, &self->lines[rec->first_line + i], now, why,
                                    sizeof why);
        if (rc)
            return s_refuse(self, s_content_rc(rc), rec->line, C_SKU, "%s %s: %s",
                            s_noun(rec->kind), rec->ref, why);
    }
    if ((rc = s_digest(self, rec, sale_id, row.digest)) != 0)
        return s_refuse(self, rc, rec->line, -1, _("could not take the record's digest"));
    {
        dn_store_import_t before;
        rc = dn_store_import_get(self->store, s_kinds[rec->kind], rec->ref, &before);
        if (rc == 0 && memcmp(before.digest, row.digest, DN_HASH_BYTES) == 0) {
            int64_t *skipped[S_KINDS] = {&self->res->skipped_sales,
                                         &self->res->skipped_members,
                                         &self->res->skipped_refunds,
                                         &self->res->skipped_updates};
            (*skipped[rec->kind])++;
            return 0;
        }
        if (rc == 0) {
            char when[DN_TIME_TEXT_SIZE];
            dn_time_format(before.imported_at_ms, when);
            return s_refuse(self, DN_EPARSE, rec->line, C_REF,
                            rec->kind == S_SALE || rec->kind == S_REFUND
                                ? _("ref %s was imported on %s with other lines (seq %lld); "
                                    "give this %s a new ref or leave it out")
                                : _("ref %s was imported on %s with other details (seq %lld); "
                                    "give this %s a new ref or leave it out"),
                            rec->ref, when, (long long)before.seq, s_noun(rec->kind));
        }
        if (rc != DN_ENOENT)
            return s_refuse(self, rc, rec->line, -1, _("could not look the ref up"));
    }
    /* export --unsynced names each record by its event id: a ref that is
       one of this agent's own events is a file exported here, which would
       record every sale in it a second time.  */
    {
        uint8_t own[DN_ID_BYTES];
        int64_t seq;
        if (dn_id_parse(rec->ref, own) == 0 &&
            (rc = dn_store_event_seq(self->store, own, &seq)) != DN_ENOENT) {
            if (rc)
                return s_refuse(self, rc, rec->line, -1, _("could not look the ref up"));
            return s_refuse(self, DN_EPARSE, rec->line, C_REF,
                            _("ref %s is this PC's own event (seq %lld): this file was "
                            "exported here; import it on the PC that replaces this one"),
                            rec->ref, (long long)seq);
        }
    }
    if (rec->kind == S_SALE) {
        dn_sale_input_t in = {&self->lines[rec->first_line], rec->n_lines,
                              rec->member_phone, rec->channel, rec->seller, NULL};
        rc = dn_record_sale(self->store, &in, &result, why, sizeof why);
    } else if (rec->kind == S_REFUND) {
        dn_refund_input_t in = {{0}, rec->n_lines ? &self->lines[rec->first_line] : NULL,
                                rec->n_lines, rec->has_amount, rec->amount};
        memcpy(in.sale_id, sale_id, DN_ID_BYTES);
        rc = dn_record_refund(self->store, &in, &result, why, sizeof why);
    } else {
        dn_member_input_t in = {rec->phone, rec->name, rec->referrer, rec->has_household,
                                rec->household};
        rc = rec->kind == S_MEMBER
                 ? dn_record_member_add(self->store, &in, &result, why, sizeof why)
                 : dn_record_member_update(self->store, &in, &result, why, sizeof why);
    }
    if (rc)
        return s_refuse(self, s_content_rc(rc), rec->line, -1, "%s %s: %s",
                        s_noun(rec->kind), rec->ref, why[0] ? why : dn_strerror(rc));
    row.seq = result.seq;
    row.imported_at_ms = now;
    if ((rc = dn_store_import_put(self->store, s_kinds[rec->kind], rec->ref, &row)) != 0)
        return s_refuse(self, rc, rec->line, -1, _("could not keep the ref of %s %s"),
                        s_noun(rec->kind), rec->ref);
    if (rec->kind == S_SALE) {
        self->res->sales++;
        self->res->lines += (int64_t)rec->n_lines;
    } else if (rec->kind == S_MEMBER) {
        self->res->members++;
    } else if (rec->kind == S_REFUND) {
        self->res->refunds++;
    } else {
        self->res->updates++;
    }
    return 0;
}

static int s_record_all(s_import_t *self, const dn_import_options_t *options)
{
    int64_t now = dn_testctl_now_ms();
    int rc = dn_store_begin(self->store);
    if (rc)
        return s_refuse(self, rc, 0, -1,
                        _("could not open a transaction on the agent database"));
    for (size_t i = 0; i < self->n_records && rc == 0; i++) {
        rc = s_record(self, &self->records[i], now);
        if (options->progress && (i + 1) % DN_IMPORT_PROGRESS_RECORDS == 0) {
            fputc('\r', stderr); /* over the line before (gettext takes no \r) */
            fprintf(stderr, _("import: %zu of %zu records"), i + 1, self->n_records);
        }
    }
    if (options->progress && self->n_records >= DN_IMPORT_PROGRESS_RECORDS)
        fputc('\n', stderr);
    if (rc == 0 && !options->dry_run && (rc = dn_store_commit(self->store)) != 0)
        s_refuse(self, rc, 0, -1, _("could not commit to the agent database"));
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
        return s_refuse(&self, rc, 0, -1, _("out of memory"));
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
                        _("the file is empty: the first row names the columns (%s)"),
                        S_COLUMN_LIST);
    }
    /* at most one record and one line per row */
    self.records = calloc(csv.n_rows, sizeof *self.records);
    self.lines = calloc(csv.n_rows, sizeof *self.lines);
    if (!self.records || !self.lines)
        rc = s_refuse(&self, DN_ENOMEM, 0, -1, _("out of memory"));
    if (rc == 0)
        rc = s_header(&self, &csv.rows[0]);
    for (size_t i = 1; i < csv.n_rows && rc == 0; i++)
        rc = s_row(&self, &csv.rows[i]);
    if (rc == 0)
        rc = s_unique_refs(&self);
    if (rc == 0)
        rc = s_record_all(&self, options);
    if (rc)
        res->sales = res->lines = res->members = res->refunds = res->updates =
            res->skipped_sales = res->skipped_members = res->skipped_refunds =
                res->skipped_updates = 0; /* nothing was recorded */
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
                      _("cannot open %s: %s"), path, strerror(errno));
    /* one byte more than the limit tells a file over it */
    if (!(data = malloc(DN_IMPORT_MAX_BYTES + 1))) {
        fclose(in);
        return dn_why(res->why, sizeof res->why, DN_ENOMEM, _("out of memory"));
    }
    len = fread(data, 1, DN_IMPORT_MAX_BYTES + 1, in);
    if (ferror(in))
        rc = dn_why(res->why, sizeof res->why, DN_EIO, _("cannot read %s: %s"), path,
                    strerror(errno));
    else if (len > DN_IMPORT_MAX_BYTES)
        rc = dn_why(res->why, sizeof res->why, DN_ELIMIT,
                    _("%s is over %d MiB, the most one import may be; split it"), path,
                    DN_IMPORT_MAX_BYTES / (1024 * 1024));
    fclose(in);
    if (rc == 0)
        rc = dn_import_text(store, data, len, options, res);
    free(data);
    return rc;
}

/* -- export -------------------------------------------------------------- */

/*  An export in progress: one snapshot of the outbox.  */
typedef struct {
    dn_store_t *store;
    const dn_store_info_t *info;
    const dn_import_export_options_t *options;
    uint64_t acked_seq; /* the server holds every event up to here */
    dn_import_export_t *res;
    char *why; /* the refusal, for the first event that cannot move */
    size_t why_size;
} s_export_t;

/*  An event that names what the server already holds (a refund of an
    acknowledged sale, an update of an acknowledged member) cannot be
    moved: the new PC holds only what it recorded and imported, so it
    would refuse the row and with it the whole file.  Left out only when
    the caller asked (skip_unmovable), each one reported; else the first
    is the refusal, and export goes on to count the others.  what says
    what it is, remedy what to do about it.  */
static void s_unmovable(s_export_t *self, const char *what, const char *holds,
                        const char *remedy)
{
    char line[640];
    self->res->unmovable++;
    if (self->options->skip_unmovable) {
        snprintf(line, sizeof line, _("not exported: %s, which the server already holds: %s"),
                 what, remedy);
        if (self->options->skipped)
            self->options->skipped(self->options->arg, line);
    } else if (self->res->unmovable == 1) {
        snprintf(self->why, self->why_size,
                 _("%s, which the server already holds, cannot be moved to another PC (it "
                 "does not hold that %s): sync this PC if the server still takes it; if "
                 "not, %s, then export again with --skip-unmovable"),
                 what, holds, remedy);
    }
}

/*  The rows of a refund, or nothing when it cannot move.  */
static int s_export_refund(s_export_t *self, const Dealernet__Event *ev, const char **row,
                           FILE *out)
{
    const Dealernet__Refund *refund = ev->refund;
    char sale[DN_ID_TEXT_SIZE], amount[DN_MONEY_TEXT_SIZE], qty[24];
    int64_t sale_seq = 0;
    int rc;

    if (!refund->has_sale_id || refund->sale_id.len != DN_ID_BYTES)
        return DN_EPROTO;
    dn_id_format(refund->sale_id.data, sale);
    rc = dn_store_sale_seq(self->store, refund->sale_id.data, &sale_seq);
    if (rc && rc != DN_ENOENT)
        return rc;
    dn_money_format(refund->amount, self->info->exponent, amount, sizeof amount);
    if (rc == DN_ENOENT || (uint64_t)sale_seq <= self->acked_seq) {
        char what[256], remedy[256];
        snprintf(what, sizeof what, _("refund %s (seq %llu, %s %s) of sale %s"), row[C_REF],
                 (unsigned long long)ev->seq, amount, self->info->currency, sale);
        snprintf(remedy, sizeof remedy,
                 _("ask headquarters to void the sale or post an adjustment "
                   "('dealernet-hq sale void %s --reason ...' / 'dealernet-hq adjust')"),
                 sale);
        s_unmovable(self, what, s_noun(S_SALE), remedy);
        return 0;
    }
    /* the sale is in this file, under its id as ref: the import finds it
       there */
    row[C_KIND] = "refund";
    row[C_SALE_REF] = sale;
    if (refund->n_lines == 0) {
        row[C_AMOUNT] = amount;
        rc = dn_csv_write_row(out, row, C_COUNT);
    }
    /* by lines: the lines only, so the new PC refunds those quantities
       (and counts them refunded) at the sale's prices, as this one did */
    for (size_t i = 0; i < refund->n_lines && rc == 0; i++) {
        snprintf(qty, sizeof qty, "%lld", (long long)refund->lines[i]->quantity);
        row[C_SKU] = refund->lines[i]->sku;
        row[C_QUANTITY] = qty;
        rc = dn_csv_write_row(out, row, C_COUNT);
    }
    self->res->refunds++;
    return rc;
}

/*  The row of a member update, or nothing when it cannot move.  */
static int s_export_update(s_export_t *self, const Dealernet__Event *ev, const char **row,
                           FILE *out)
{
    const Dealernet__MemberUpdate *update = ev->member_update;
    char household[16] = "";
    int64_t signup_seq = 0;
    int rc;

    if (!update->has_member_id || update->member_id.len != DN_ID_BYTES)
        return DN_EPROTO;
    if (update->has_household)
        snprintf(household, sizeof household, "%u", update->household);
    rc = dn_store_member_seq(self->store, update->member_id.data, &signup_seq);
    if (rc && rc != DN_ENOENT)
        return rc;
    if (rc == DN_ENOENT || (uint64_t)signup_seq <= self->acked_seq) {
        char what[384];
        /* what changed, so whoever reads the warning can note it */
        /* the changes themselves read as the CSV has them (name, household) */
        snprintf(what, sizeof what, _("member update %s (seq %llu: %s%s%s%s%s%s) of member %s"),
                 row[C_REF], (unsigned long long)ev->seq, update->name ? "name '" : "",
                 update->name ? update->name : "", update->name ? "'" : "",
                 update->name && update->has_household ? ", " : "",
                 update->has_household ? "household " : "", household, update->phone);
        s_unmovable(self, what, s_noun(S_MEMBER),
                    _("note the change: the new PC cannot record it, and the server keeps "
                      "the member as it holds it"));
        return 0;
    }
    row[C_KIND] = "member_update";
    row[C_PHONE] = update->phone;
    row[C_NAME] = update->name;
    row[C_HOUSEHOLD] = update->has_household ? household : NULL;
    self->res->updates++;
    return dn_csv_write_row(out, row, C_COUNT);
}

static int s_export_event(s_export_t *self, const Dealernet__Event *ev, FILE *out)
{
    const dn_store_info_t *info = self->info;
    dn_import_export_t *res = self->res;
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
        rc = s_export_refund(self, ev, row, out);
        break;
    case DEALERNET__EVENT__BODY_MEMBER_UPDATE:
        rc = s_export_update(self, ev, row, out);
        break;
    default:
        return DN_EPROTO;
    }
    return rc;
}

/*  Writes the header and every unacknowledged event to out.  */
static int s_export_all(s_export_t *self, FILE *out)
{
    dn_outbox_position_t pos;
    uint64_t from;
    int rc;

    if ((rc = dn_outbox_position(self->store, &pos)) != 0)
        return dn_why(self->why, self->why_size, rc, _("could not read the outbox's position"));
    self->acked_seq = pos.acked_seq;
    if ((rc = dn_csv_write_row(out, s_columns, C_COUNT)) != 0)
        return dn_why(self->why, self->why_size, DN_ENOMEM, _("out of memory"));
    for (from = pos.acked_seq + 1; rc == 0 && from <= pos.head_seq;) {
        dn_outbox_batch_t batch;
        if ((rc = dn_outbox_read(self->store, from, 500, 1 << 20, &batch)) != 0)
            return dn_why(self->why, self->why_size, rc,
                          _("could not read the outbox from seq %llu"),
                          (unsigned long long)from);
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
                rc = s_export_event(self, ev, out);
            if (rc == DN_EDB || rc == DN_ENOMEM || rc == DN_EIO)
                dn_why(self->why, self->why_size, rc, _("could not export event seq %llu: %s"),
                       (unsigned long long)(from + i), dn_strerror(rc));
            else if (rc)
                rc = dn_why(self->why, self->why_size, DN_EPROTO,
                            _("event seq %llu does not decode; run 'check'"),
                            (unsigned long long)(from + i));
            dn_wire_event_free(&ev);
        }
        from += batch.n;
        dn_outbox_batch_free(&batch);
    }
    return rc;
}

int dn_import_export_unsynced(dn_store_t *store, FILE *out,
                              const dn_import_export_options_t *options,
                              dn_import_export_t *res, char *why, size_t why_size)
{
    s_export_t self = {store, dn_store_info(store), options, 0, res, why, why_size};
    char *buf = NULL;
    size_t size = 0;
    FILE *mem;
    int rc;

    memset(res, 0, sizeof *res);
    /* the rows go to memory first: a refusal found at the last event
       leaves nothing written, not even on standard output */
    if (!(mem = open_memstream(&buf, &size)))
        return dn_why(why, why_size, DN_ENOMEM, _("out of memory"));
    /* one snapshot: a sync acknowledging events meanwhile cannot make the
       file skip or repeat one; rolled back, so nothing is written */
    if ((rc = dn_store_begin(store)) != 0)
        dn_why(why, why_size, rc, _("could not open a transaction on the agent database"));
    else {
        rc = s_export_all(&self, mem);
        dn_store_rollback(store);
    }
    if (fclose(mem) != 0 && rc == 0)
        rc = dn_why(why, why_size, DN_ENOMEM, _("out of memory"));
    if (rc == 0 && res->unmovable && !options->skip_unmovable) {
        size_t n = strlen(why);
        if (n < why_size && res->unmovable > 1)
            snprintf(why + n, why_size - n,
                     _(" (and %lld more like it, listed by --skip-unmovable); nothing was "
                     "exported"),
                     (long long)(res->unmovable - 1));
        else if (n < why_size)
            snprintf(why + n, why_size - n, _("; nothing was exported"));
        rc = DN_ELIMIT;
    }
    if (rc == 0 && size && fwrite(buf, 1, size, out) != size)
        rc = dn_why(why, why_size, DN_EIO, _("could not write the file: %s"), strerror(errno));
    free(buf);
    if (rc) {
        int64_t unmovable = res->unmovable;
        memset(res, 0, sizeof *res); /* nothing was written */
        res->unmovable = unmovable;
    }
    return rc;
}

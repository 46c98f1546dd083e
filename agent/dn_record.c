/*  dn_record -- recording sales, refunds and members (see dn_record.h).

    The pattern of every recorder: check what can be checked without the
    database, BEGIN IMMEDIATE, check against the site's data, build the
    event, append it, write its projection, COMMIT.  Any failure rolls the
    whole transaction back, so an error leaves agent.db as it was.
*/
#include "dn_record.h"
#include "dn_error.h"
#include "dn_i18n.h"
#include "dn_hqcatalog.h"
#include "dn_i18n.h"
#include "dn_money.h"
#include "dn_outbox.h"
#include "dn_testctl.h"
#include "dn_wire.h"

#include <stdio.h>
#include <string.h>

int dn_record_line_parts(const char *sku, size_t sku_len, const char *qty, size_t qty_len,
                         const char *price, int exponent, dn_record_line_t *line,
                         int *part, char *why, size_t why_size)
{
    char qty_text[32];

    memset(line, 0, sizeof *line);
    *part = DN_RECORD_PART_SKU;
    /* a SKU, or a name that dn_record_resolve_line looks up; neither is
       the one refusal of a bad code */
    size_t kept = sku_len > DN_MAX_NAME_BYTES ? DN_MAX_NAME_BYTES : sku_len;
    memcpy(line->typed, sku, kept);
    line->typed[kept] = '\0';
    if (kept == sku_len && dn_valid_sku(line->typed))
        memcpy(line->sku, line->typed, kept + 1);
    else if (kept < sku_len || !dn_valid_name(line->typed))
        return dn_valid_code_check(DN_CODE_SKU, line->typed, NULL, why, why_size);
    *part = DN_RECORD_PART_QUANTITY;
    if (qty_len == 0)
        return dn_why(why, why_size, DN_EPARSE, _("quantity missing"));
    if (qty_len >= sizeof qty_text) /* cut short, "0...051" would read as 5 */
        return dn_why(why, why_size, DN_EPARSE,
                      _("quantity must be a whole number from 1 to %d"), DN_MAX_QUANTITY);
    memcpy(qty_text, qty, qty_len);
    qty_text[qty_len] = '\0';
    if (dn_parse_int(qty_text, 1, DN_MAX_QUANTITY, &line->quantity))
        return dn_why(why, why_size, DN_EPARSE,
                      _("quantity must be a whole number from 1 to %d"), DN_MAX_QUANTITY);
    if (price) {
        *part = DN_RECORD_PART_PRICE;
        if (dn_money_parse(price, exponent, &line->unit_price) || line->unit_price < 0 ||
            line->unit_price > DN_MAX_UNIT_PRICE) {
            char bound[DN_MONEY_TEXT_SIZE];
            /* the bound in the currency's units: the one a clerk types */
            dn_money_format(DN_MAX_UNIT_PRICE, exponent, bound, sizeof bound);
            return dn_why(why, why_size, DN_EPARSE,
                          _("price must be an amount from 0 to %s with at most %d decimals"), bound,
                          exponent);
        }
        line->has_price = 1;
    }
    return 0;
}

int dn_record_parse_line(const char *text, int exponent, dn_record_line_t *line,
                         char *why, size_t why_size)
{
    const char *colon = strchr(text, ':');
    const char *at = strchr(text, '@');
    char part_why[160];
    int part, rc;

    memset(line, 0, sizeof *line);
    if (!colon || (at && at < colon))
        return dn_why(why, why_size, DN_EPARSE, _("line '%s' is not SKU:QTY[@PRICE]"), text);
    rc = dn_record_line_parts(text, (size_t)(colon - text), colon + 1,
                              at ? (size_t)(at - colon - 1) : strlen(colon + 1),
                              at ? at + 1 : NULL, exponent, line, &part, part_why,
                              sizeof part_why);
    if (rc)
        dn_why(why, why_size, rc, _("line '%s': %s"), text, part_why);
    return rc;
}

int dn_record_resolve_line(dn_store_t *store, dn_record_line_t *line, int64_t at_ms,
                           char *why, size_t why_size)
{
    sqlite3 *db = dn_store_db(store);
    json_t *skus;
    size_t n;
    int rc;

    if (line->sku[0]) { /* a SKU in either catalogue is that SKU */
        dn_hqcatalog_price_t hq;
        int64_t price;
        char category[DN_MAX_CODE_LEN + 1];
        rc = dn_hqcatalog_price(db, line->sku, at_ms, &hq);
        if (rc == DN_ENOENT)
            rc = dn_store_catalog_get(store, line->sku, &price, category);
        if (rc != DN_ENOENT)
            return rc ? dn_why(why, why_size, rc, _("could not read the catalog")) : 0;
    }
    if (!(skus = json_array()))
        return DN_ENOMEM;
    rc = dn_hqcatalog_named(db, line->typed, at_ms, skus);
    if (rc == 0)
        rc = dn_store_catalog_named(store, line->typed, skus);
    if (rc) {
        json_decref(skus);
        return dn_why(why, why_size, rc, _("could not read the catalog"));
    }
    /* the same SKU in both catalogues under the same name is one item */
    n = json_array_size(skus);
    for (size_t i = 0; i < n; i++)
        for (size_t j = n; j-- > i + 1;)
            if (json_equal(json_array_get(skus, i), json_array_get(skus, j))) {
                json_array_remove(skus, j);
                n--;
            }
    if (n == 1) {
        snprintf(line->sku, sizeof line->sku, "%s", json_string_value(json_array_get(skus, 0)));
        line->named = 1;
        rc = 0;
    } else if (n > 1) {
        char list[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < n && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     json_string_value(json_array_get(skus, i)));
        rc = dn_why(why, why_size, DN_CODE_ERROR, _("'%s' names %zu items: %s; give the SKU"),
                    line->typed, n, list);
    } else if (line->sku[0]) {
        rc = 0; /* a SKU not in the catalogue: sold with its @PRICE */
    } else {
        rc = dn_valid_code_check(DN_CODE_SKU, line->typed,
                                 _("and no item in the catalog is named so (see: catalog list)"),
                                 why, why_size);
    }
    json_decref(skus);
    return rc;
}

int dn_record_max_sale(dn_store_t *store, int64_t *minor)
{
    char text[DN_MONEY_TEXT_SIZE];
    int64_t bound = DN_MONEY_MAX_SALE_DEFAULT;
    int rc = dn_store_meta_get(store, DN_STORE_MAX_SALE, text, sizeof text);
    if (rc == 0 && dn_money_bound_parse(text, &bound) != 0)
        return DN_EDB; /* written by dn_syncsm from a checked Welcome: damaged */
    if (rc && rc != DN_ENOENT)
        return rc; /* DN_ENOENT: never synced, the default holds */
    *minor = dn_money_bound_minor(bound, dn_store_info(store)->exponent);
    return 0;
}

/*  A line typed by a name that no dn_record_resolve_line turned into a
    SKU is refused as what it is, not a SKU.  0 or DN_CODE_ERROR.  */
static int s_unresolved(const dn_record_line_t *lines, size_t n, char *why, size_t why_size)
{
    for (size_t i = 0; i < n; i++)
        if (!lines[i].sku[0])
            return dn_valid_code_check(DN_CODE_SKU, lines[i].typed, NULL, why, why_size);
    return 0;
}

/*  The refusal of a line or a sale over the bound on one sale.  */
static int s_over_limit(const dn_store_info_t *info, const char *what, int64_t amount,
                        int64_t limit, char *why, size_t why_size)
{
    char text[DN_MONEY_TEXT_SIZE], max[DN_MONEY_TEXT_SIZE];
    dn_money_format(amount, info->exponent, text, sizeof text);
    dn_money_format(limit, info->exponent, max, sizeof max);
    return dn_why(why, why_size, DN_EOVERFLOW,
                  _("%s comes to %s %s, over the network's limit of %s %s for one sale; "
                  "check the quantities and prices"),
                  what, text, info->currency, max, info->currency);
}

/*  Commits, or rolls back and passes rc on.  */
static int s_finish(dn_store_t *store, int rc, char *why, size_t why_size)
{
    if (rc == 0 && (rc = dn_store_commit(store)) != 0)
        dn_why(why, why_size, rc, _("could not commit to the agent database"));
    if (rc)
        dn_store_rollback(store);
    return rc;
}

/*  Appends ev and fills out; the caller has begun the transaction.  */
static int s_append(dn_store_t *store, Dealernet__Event *ev, dn_record_result_t *out,
                    char *why, size_t why_size)
{
    uint8_t prev_hash[DN_HASH_BYTES];
    int rc = dn_outbox_append(store, ev, out->id, prev_hash, why, why_size);
    if (rc && rc != DN_EPROTO && rc != DN_ETOOBIG)
        dn_why(why, why_size, rc, _("could not append the event: %s"), dn_strerror(rc));
    out->seq = (int64_t)ev->seq;
    return rc;
}

int dn_record_sale(dn_store_t *store, const dn_sale_input_t *in, dn_record_result_t *out,
                   char *why, size_t why_size)
{
    const dn_store_info_t *info = dn_store_info(store);
    Dealernet__Event ev = DEALERNET__EVENT__INIT;
    Dealernet__Sale sale = DEALERNET__SALE__INIT;
    Dealernet__SaleLine lines[DN_MAX_SALE_LINES];
    Dealernet__SaleLine *line_ptrs[DN_MAX_SALE_LINES];
    char categories[DN_MAX_SALE_LINES][DN_MAX_CODE_LEN + 1];
    char phone[DN_PHONE_SIZE], pwhy[DN_PHONE_WHY_SIZE + 64];
    uint8_t member_id[DN_ID_BYTES];
    int64_t total = 0, limit, now_ms;
    int channel = DEALERNET__CHANNEL__CHANNEL_STORE, payment = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = dn_record_max_sale(store, &limit)) != 0)
        return dn_why(why, why_size, rc,
                      _("could not read the network's limit on one sale"));
    if (in->n_lines < 1 || in->n_lines > DN_MAX_SALE_LINES)
        return dn_why(why, why_size, DN_EPARSE, _("a sale needs 1 to %d --line options"),
                      DN_MAX_SALE_LINES);
    if ((rc = s_unresolved(in->lines, in->n_lines, why, why_size)) != 0)
        return rc;
    for (size_t i = 0; i < in->n_lines; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->lines[i].sku, in->lines[j].sku) == 0)
                return dn_why(why, why_size, DN_EPARSE,
                              _("SKU %s is given twice; give each SKU once with its total "
                              "quantity"),
                              in->lines[i].sku);
    if (in->channel && (channel = dn_wire_channel_parse(in->channel)) < 0)
        return dn_why(why, why_size, DN_EPARSE,
                      _("channel '%s' is not one of store, online, community"), in->channel);
    if (in->payment && (payment = dn_wire_payment_parse(in->payment)) < 0)
        return dn_why(why, why_size, DN_EPARSE,
                      _("payment '%s' is not one of cash, wechat, alipay, card, other"),
                      in->payment);
    if (in->seller &&
        (rc = dn_valid_code_check(DN_CODE_PARTNER, in->seller, NULL, why, why_size)) != 0)
        return rc;
    if (in->member &&
        dn_phone_normalize(in->member, info->country, phone, pwhy, sizeof pwhy))
        return dn_why(why, why_size, DN_EPARSE, _("member phone %s"), pwhy);

    if ((rc = dn_store_begin(store)) != 0)
        return dn_why(why, why_size, rc,
                      _("could not open a transaction on the agent database"));
    /* the prices in force when the sale is recorded (the clock that
       stamps its event) */
    now_ms = dn_testctl_now_ms();
    for (size_t i = 0; i < in->n_lines && rc == 0; i++) {
        const dn_record_line_t *src = &in->lines[i];
        Dealernet__SaleLine *line = &lines[i];
        dn_hqcatalog_price_t hq;
        int64_t price, amount;

        dealernet__sale_line__init(line);
        line_ptrs[i] = line;
        /* HQ's catalogue first (dn_hqcatalog.h has the rule), then the
           local one */
        rc = dn_hqcatalog_price(dn_store_db(store), src->sku, now_ms, &hq);
        if (rc == 0) {
            price = hq.price;
            snprintf(categories[i], sizeof categories[i], "%s", hq.category);
            if (hq.fixed && src->has_price && src->unit_price != hq.price) {
                char fixed[DN_MONEY_TEXT_SIZE];
                dn_money_format(hq.price, info->exponent, fixed, sizeof fixed);
                rc = dn_why(why, why_size, DN_EPERM,
                            _("the price of %s is fixed by headquarters at %s; sell it as %s:%lld"),
                            src->sku, fixed, src->sku, (long long)src->quantity);
                break;
            }
        } else if (rc == DN_ENOENT) {
            rc = dn_store_catalog_get(store, src->sku, &price, categories[i]);
        }
        if (rc == DN_ENOENT) {
            categories[i][0] = '\0';
            if (!src->has_price) {
                rc =
                    dn_why(why, why_size, DN_ENOENT,
                           _("SKU %s has no price in the catalog; give it as %s:%lld@PRICE "
                           "or run 'catalog set %s PRICE'"),
                           src->sku, src->sku, (long long)src->quantity, src->sku);
                break;
            }
            rc = 0;
        } else if (rc) {
            break;
        }
        line->sku = (char *)src->sku;
        line->has_quantity = 1;
        line->quantity = src->quantity;
        line->has_unit_price = 1;
        line->unit_price = src->has_price ? src->unit_price : price;
        line->category = categories[i][0] ? categories[i] : NULL;
        /* The server would hold a sale over the bound and pay nothing for
           it: refuse it here, where the clerk can still fix a typo.  A
           line over it alone is named (a product can overflow too).  */
        if (dn_money_mul(line->unit_price, line->quantity, &amount)) {
            rc = dn_why(why, why_size, DN_EOVERFLOW,
                        _("line %s:%lld is out of range; check the quantity and the price"),
                        src->sku, (long long)src->quantity);
        } else if (amount > limit) {
            char what[DN_MAX_SKU_LEN + 32];
            snprintf(what, sizeof what, "line %s:%lld", src->sku, (long long)src->quantity);
            rc = s_over_limit(info, what, amount, limit, why, why_size);
        } else if (dn_money_add(total, amount, &total)) {
            rc = dn_why(why, why_size, DN_EOVERFLOW, _("sale total is out of range"));
        }
    }
    if (rc == 0 && total > limit)
        rc = s_over_limit(info, "the sale", total, limit, why, why_size);
    if (rc == 0) {
        sale.n_lines = in->n_lines;
        sale.lines = line_ptrs;
        sale.has_total = 1;
        sale.total = total;
        sale.currency = (char *)info->currency;
        sale.has_channel = 1;
        sale.channel = (Dealernet__Channel)channel;
        sale.seller = (char *)(in->seller ? in->seller : info->partner);
        sale.has_payment = payment != 0;
        sale.payment = (Dealernet__Payment)payment;
        /* the next number in the transaction that records the sale: a
           second clerk's sale waits for this one's commit and gets the
           next */
        if ((rc = dn_store_next_receipt(store, &out->receipt)) != 0)
            dn_why(why, why_size, rc, "%s", _("could not number the receipt"));
        sale.has_receipt = 1;
        sale.receipt = (uint64_t)out->receipt;
        if (rc == 0 && in->member) {
            sale.member_phone = phone;
            rc = dn_store_member_find(store, phone, member_id);
            if (rc == 0) {
                sale.has_member_id = 1;
                sale.member_id.data = member_id;
                sale.member_id.len = DN_ID_BYTES;
            } else if (rc == DN_ENOENT) {
                rc = 0; /* a member not signed up here */
            } else {
                dn_why(why, why_size, rc, _("could not look the member up"));
            }
        }
    }
    if (rc == 0) {
        ev.body_case = DEALERNET__EVENT__BODY_SALE;
        ev.sale = &sale;
        rc = s_append(store, &ev, out, why, why_size);
    }
    if (rc == 0 && (rc = dn_store_sale_insert(store, &ev)) != 0)
        dn_why(why, why_size, rc, _("could not store the sale"));
    out->amount = total;
    return s_finish(store, rc, why, why_size);
}

/*  Fills the refund's lines from in and sets *amount to their value.  */
static int s_refund_lines(dn_store_t *store, const dn_refund_input_t *in,
                          Dealernet__RefundLine *lines, Dealernet__RefundLine **ptrs,
                          int64_t *amount, char *why, size_t why_size)
{
    int unresolved = s_unresolved(in->lines, in->n_lines, why, why_size);
    if (unresolved)
        return unresolved;
    *amount = 0;
    for (size_t i = 0; i < in->n_lines; i++) {
        const dn_record_line_t *src = &in->lines[i];
        dn_store_line_t line;
        int64_t value;
        int rc;

        if (src->has_price)
            return dn_why(why, why_size, DN_EPARSE,
                          _("refund line '%s' has a price; give SKU:QTY, the sale's price "
                          "applies"),
                          src->sku);
        for (size_t j = 0; j < i; j++)
            if (strcmp(src->sku, in->lines[j].sku) == 0)
                return dn_why(why, why_size, DN_EPARSE, _("SKU %s is given twice"),
                              src->sku);
        rc = dn_store_line_get(store, in->sale_id, src->sku, &line);
        if (rc == DN_ENOENT)
            return dn_why(why, why_size, rc, _("SKU %s is not on that sale"), src->sku);
        if (rc)
            return rc;
        if (src->quantity > line.quantity - line.refunded_qty)
            return dn_why(why, why_size, DN_ELIMIT,
                          _("SKU %s: %lld to refund but only %lld of %lld still refundable"),
                          src->sku, (long long)src->quantity,
                          (long long)(line.quantity - line.refunded_qty),
                          (long long)line.quantity);
        if (dn_money_mul(line.unit_price, src->quantity, &value) ||
            dn_money_add(*amount, value, amount))
            return dn_why(why, why_size, DN_EOVERFLOW, _("refund amount is out of range"));
        dealernet__refund_line__init(&lines[i]);
        lines[i].sku = (char *)src->sku;
        lines[i].has_quantity = 1;
        lines[i].quantity = src->quantity;
        ptrs[i] = &lines[i];
    }
    return 0;
}

int dn_record_refund(dn_store_t *store, const dn_refund_input_t *in,
                     dn_record_result_t *out, char *why, size_t why_size)
{
    const dn_store_info_t *info = dn_store_info(store);
    Dealernet__Event ev = DEALERNET__EVENT__INIT;
    Dealernet__Refund refund = DEALERNET__REFUND__INIT;
    Dealernet__RefundLine lines[DN_MAX_SALE_LINES];
    Dealernet__RefundLine *line_ptrs[DN_MAX_SALE_LINES];
    dn_store_sale_t sale = {0, 0};
    int64_t amount = 0, left;
    char money[DN_MONEY_TEXT_SIZE], left_text[DN_MONEY_TEXT_SIZE];
    int rc;

    memset(out, 0, sizeof *out);
    if (in->n_lines && in->has_amount)
        return dn_why(why, why_size, DN_EPARSE, _("give --line or --amount, not both"));
    if (in->n_lines > DN_MAX_SALE_LINES)
        return dn_why(why, why_size, DN_EPARSE, _("a refund has at most %d lines"),
                      DN_MAX_SALE_LINES);
    if (in->has_amount && in->amount <= 0)
        return dn_why(why, why_size, DN_EPARSE, _("refund amount must be positive"));

    if ((rc = dn_store_begin(store)) != 0)
        return dn_why(why, why_size, rc,
                      _("could not open a transaction on the agent database"));
    rc = dn_store_sale_get(store, in->sale_id, &sale);
    if (rc == DN_ENOENT)
        dn_why(why, why_size, rc,
               _("no sale with that id at this site ('sales' lists them)"));
    left = sale.total - sale.refunded;
    if (rc == 0 && left <= 0)
        rc = dn_why(why, why_size, DN_ELIMIT, _("that sale is already fully refunded"));
    if (rc == 0) {
        if (in->n_lines)
            rc = s_refund_lines(store, in, lines, line_ptrs, &amount, why, why_size);
        else
            amount = in->has_amount ? in->amount : left;
    }
    if (rc == 0 && amount > left) {
        dn_money_format(amount, info->exponent, money, sizeof money);
        dn_money_format(left, info->exponent, left_text, sizeof left_text);
        rc = dn_why(why, why_size, DN_ELIMIT,
                    _("refund of %s %s exceeds the %s %s still refundable"), money,
                    info->currency, left_text, info->currency);
    }
    if (rc == 0 && amount <= 0)
        rc = dn_why(why, why_size, DN_ELIMIT,
                    _("nothing to refund: those lines are worth 0"));
    if (rc == 0) {
        refund.has_sale_id = 1;
        refund.sale_id.data = (uint8_t *)in->sale_id;
        refund.sale_id.len = DN_ID_BYTES;
        refund.n_lines = in->n_lines;
        refund.lines = in->n_lines ? line_ptrs : NULL;
        refund.has_amount = 1;
        refund.amount = amount;
        refund.currency = (char *)info->currency;
        ev.body_case = DEALERNET__EVENT__BODY_REFUND;
        ev.refund = &refund;
        rc = s_append(store, &ev, out, why, why_size);
    }
    if (rc == 0 && (rc = dn_store_refund_insert(store, &ev)) != 0)
        dn_why(why, why_size, rc, _("could not store the refund"));
    out->amount = amount;
    return s_finish(store, rc, why, why_size);
}

/*  Checks the parts of a member input both add and update take; the
    phone comes out canonical with the site's default country.  */
static int s_member_fields(dn_store_t *store, const dn_member_input_t *in,
                           char phone[DN_PHONE_SIZE], char *why, size_t why_size)
{
    char pwhy[DN_PHONE_WHY_SIZE + 64], hidden[DN_HIDDEN_WHY_SIZE];
    if (!in->phone)
        return dn_why(why, why_size, DN_EPARSE, _("a member needs a phone"));
    if (dn_phone_normalize(in->phone, dn_store_info(store)->country, phone, pwhy,
                           sizeof pwhy))
        return dn_why(why, why_size, DN_EPARSE, _("phone %s"), pwhy);
    if (in->name && dn_valid_hidden(in->name, hidden, sizeof hidden))
        return dn_why(why, why_size, DN_EPARSE, _("name %s"), hidden);
    if (in->name && !dn_valid_name_why(in->name, hidden, sizeof hidden))
        return dn_why(why, why_size, DN_EPARSE, _("name %s"), hidden);
    if (in->has_household && (in->household < 0 || in->household > DN_MAX_HOUSEHOLD))
        return dn_why(why, why_size, DN_EPARSE, _("household must be 0 to %d"),
                      DN_MAX_HOUSEHOLD);
    return 0;
}

int dn_record_member_add(dn_store_t *store, const dn_member_input_t *in,
                         dn_record_result_t *out, char *why, size_t why_size)
{
    Dealernet__Event ev = DEALERNET__EVENT__INIT;
    Dealernet__MemberSignup signup = DEALERNET__MEMBER_SIGNUP__INIT;
    char phone[DN_PHONE_SIZE], referrer_phone[DN_PHONE_SIZE],
        pwhy[DN_PHONE_WHY_SIZE + 64];
    uint8_t member_id[DN_ID_BYTES];
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = s_member_fields(store, in, phone, why, why_size)) != 0)
        return rc;
    if (in->referrer) {
        /* partner codes start with an ASCII letter; anything else is a
           member's phone, typed any way a phone is (a full-width digit) */
        char c = in->referrer[0];
        int is_phone = !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
        if (is_phone) {
            if (dn_phone_normalize(in->referrer, dn_store_info(store)->country,
                                   referrer_phone, pwhy, sizeof pwhy))
                return dn_why(why, why_size, DN_EPARSE, _("referrer %s"), pwhy);
            if (strcmp(referrer_phone, phone) == 0)
                return dn_why(why, why_size, DN_EPARSE,
                              _("a member cannot refer themselves"));
            signup.referrer_phone = referrer_phone;
        } else {
            if (!dn_valid_code(in->referrer))
                return dn_why(
                    why, why_size, DN_EPARSE,
                    _("referrer '%s' is neither a phone number nor a partner code"),
                    in->referrer);
            signup.referrer_partner = (char *)in->referrer;
        }
    }
    if ((rc = dn_store_begin(store)) != 0)
        return dn_why(why, why_size, rc,
                      _("could not open a transaction on the agent database"));
    rc = dn_store_member_find(store, phone, out->id);
    if (rc == 0) {
        char existing[DN_ID_TEXT_SIZE];
        dn_id_format(out->id, existing);
        rc = dn_why(why, why_size, DN_EDUP,
                    _("phone %s is already signed up here as member %s"), phone, existing);
    } else if (rc == DN_ENOENT) {
        rc = dn_id_new(member_id);
    }
    if (rc == 0) {
        signup.has_member_id = 1;
        signup.member_id.data = member_id;
        signup.member_id.len = DN_ID_BYTES;
        signup.phone = phone;
        signup.name = (char *)in->name;
        signup.has_household = in->has_household;
        signup.household = (uint32_t)in->household;
        ev.body_case = DEALERNET__EVENT__BODY_MEMBER_SIGNUP;
        ev.member_signup = &signup;
        rc = s_append(store, &ev, out, why, why_size);
    }
    if (rc == 0 && (rc = dn_store_member_insert(store, &ev)) != 0)
        dn_why(why, why_size, rc, _("could not store the member"));
    if (rc == 0)
        memcpy(out->id, member_id, DN_ID_BYTES);
    return s_finish(store, rc, why, why_size);
}

int dn_record_member_update(dn_store_t *store, const dn_member_input_t *in,
                            dn_record_result_t *out, char *why, size_t why_size)
{
    Dealernet__Event ev = DEALERNET__EVENT__INIT;
    Dealernet__MemberUpdate update = DEALERNET__MEMBER_UPDATE__INIT;
    char phone[DN_PHONE_SIZE];
    uint8_t member_id[DN_ID_BYTES];
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = s_member_fields(store, in, phone, why, why_size)) != 0)
        return rc;
    if (in->referrer)
        return dn_why(why, why_size, DN_EPARSE, _("a member's referrer cannot be changed"));
    if (!in->name && !in->has_household)
        return dn_why(why, why_size, DN_EPARSE, _("give --name or --household to change"));
    if ((rc = dn_store_begin(store)) != 0)
        return dn_why(why, why_size, rc,
                      _("could not open a transaction on the agent database"));
    rc = dn_store_member_find(store, phone, member_id);
    if (rc == DN_ENOENT)
        dn_why(why, why_size, rc, _("no member with phone %s at this site"), phone);
    if (rc == 0) {
        update.has_member_id = 1;
        update.member_id.data = member_id;
        update.member_id.len = DN_ID_BYTES;
        update.phone = phone;
        update.name = (char *)in->name;
        update.has_household = in->has_household;
        update.household = (uint32_t)in->household;
        ev.body_case = DEALERNET__EVENT__BODY_MEMBER_UPDATE;
        ev.member_update = &update;
        rc = s_append(store, &ev, out, why, why_size);
    }
    if (rc == 0 && (rc = dn_store_member_update(store, &ev)) != 0)
        dn_why(why, why_size, rc, _("could not store the member update"));
    return s_finish(store, rc, why, why_size);
}

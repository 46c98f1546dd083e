/*  dn_record -- what a clerk can record: sales, refunds, member sign-ups and
    updates.

    Each function checks its input against the rules and the site's own
    data, then in one transaction appends the event to the outbox and writes
    its projections.  It returns success only after that transaction
    committed (synchronous=FULL), so a clerk who saw "recorded" can rely on
    it surviving a power cut.  On any error nothing is written and why holds
    one line for the clerk.
*/
#ifndef DN_RECORD_H
#define DN_RECORD_H

#include "dn_store.h"

#include <stddef.h>
#include <stdint.h>

/*  One SKU:QTY[@PRICE] as typed.  The item is a SKU or, at the till, a
    catalogue item's display name (NAME:QTY[@PRICE]): sku is "" until
    dn_record_resolve_line finds the SKU it names.  */
typedef struct {
    char sku[DN_MAX_SKU_LEN + 1];
    int64_t quantity;
    int has_price;
    int64_t unit_price;                /* minor units, when has_price */
    char typed[DN_MAX_NAME_BYTES + 1]; /* the item as typed: the SKU, or a name */
    int named;                         /* sku was found by its name (typed) */
} dn_record_line_t;

/*  The part of a line a refusal names.  */
enum { DN_RECORD_PART_SKU, DN_RECORD_PART_QUANTITY, DN_RECORD_PART_PRICE };

/*  Checks a line given as its parts: sku[0..sku_len), qty[0..qty_len)
    and price (NUL-terminated; NULL for the catalog's price), with the
    rules dn_record_parse_line applies to "SKU:QTY[@PRICE]" -- which calls
    it -- so a line read from a file is held to what a clerk types.
    Returns 0, or DN_EPARSE with *part the part refused and a reason in
    why that does not repeat the line.  */
int dn_record_line_parts(const char *sku, size_t sku_len, const char *qty, size_t qty_len,
                         const char *price, int exponent, dn_record_line_t *line,
                         int *part, char *why, size_t why_size);

/*  Parses "SKU:QTY" or "SKU:QTY@PRICE" (PRICE a decimal in the currency of
    the given exponent).  Returns 0, or DN_EPARSE with a reason in why.  */
int dn_record_parse_line(const char *text, int exponent, dn_record_line_t *line,
                         char *why, size_t why_size);

/*  Finds the SKU of a parsed line's item, at at_ms, among the catalogue's
    items (HQ's rows the till takes, dn_hqcatalog_named, and the local
    catalog's, dn_store_catalog_named):
      - a SKU that is in either catalogue is that SKU;
      - else a text that is the display name of exactly one item (names
        compared byte for byte) is that item's SKU: line->sku is set and
        line->named is 1;
      - else a text that is a SKU is that SKU (sold with its @PRICE);
      - else the text is refused: one item named so and no other, or none.
    Returns 0; DN_CODE_ERROR with why: "'东北大米' names 2 items: RICE-5KG,
    RICE-10KG; give the SKU", or dn_valid_code_check's line with the hint
    "and no item in the catalog is named so (see: catalog list)"; DN_EDB,
    DN_ENOMEM.  */
int dn_record_resolve_line(dn_store_t *store, dn_record_line_t *line, int64_t at_ms,
                           char *why, size_t why_size);

/*  What came of a recording.  */
typedef struct {
    uint8_t id[DN_ID_BYTES]; /* the new event's id: the sale's id for a sale */
    int64_t seq;
    int64_t amount; /* sale total or refund amount, minor units */
    int64_t receipt; /* a sale's receipt number */
} dn_record_result_t;

typedef struct {
    const dn_record_line_t *lines;
    size_t n_lines;
    const char *member;  /* phone as typed (made canonical), or NULL */
    const char *channel; /* "store" (default when NULL), "online", "community" */
    const char *seller;  /* partner code, NULL for the site's partner */
    const char *payment; /* "cash", "wechat", "alipay", "card", "other", or
                            NULL: not recorded */
} dn_sale_input_t;

/*  Sets *minor to the network's bound on one sale in minor units of the
    site's currency: the one the last Welcome carried (DN_STORE_MAX_SALE),
    or DN_MONEY_MAX_SALE_DEFAULT before the first sync.  0 or DN_EDB.  */
int dn_record_max_sale(dn_store_t *store, int64_t *minor);

/*  Records a sale.  A line without a price takes the catalog's; every line
    takes the catalog's category when the SKU has one.  The sale gets the
    site's next receipt number (dn_store_next_receipt) in its transaction,
    in out->receipt.  Returns 0, DN_EPARSE
    (bad line, channel, payment, seller, phone; a SKU given twice), DN_ENOENT (SKU
    without a price), DN_EOVERFLOW (a line or the sale over the network's
    bound on one sale, see dn_record_max_sale; why names it and the bound),
    DN_EDB.  */
int dn_record_sale(dn_store_t *store, const dn_sale_input_t *in, dn_record_result_t *out,
                   char *why, size_t why_size);

typedef struct {
    uint8_t sale_id[DN_ID_BYTES];
    const dn_record_line_t *lines; /* SKU:QTY lines to refund, or none */
    size_t n_lines;
    int has_amount;
    int64_t amount; /* an amount to refund, when has_amount */
} dn_refund_input_t;

/*  Records a refund of a sale of this site: of the given lines (quantity
    times the sale's unit price), or of an amount, or -- with neither -- of
    all that is still refundable.  Refuses (DN_ELIMIT) any line quantity or
    amount beyond what is still refundable, DN_ENOENT for an unknown sale or
    a SKU not on it, DN_EPARSE for a priced line or both lines and amount.  */
int dn_record_refund(dn_store_t *store, const dn_refund_input_t *in,
                     dn_record_result_t *out, char *why, size_t why_size);

typedef struct {
    const char *phone;    /* as typed */
    const char *name;     /* or NULL */
    const char *referrer; /* a phone or a partner code, or NULL */
    int has_household;
    int64_t household;
} dn_member_input_t;

/*  Signs up a member.  The phone is made canonical with the site's default
    country (dn_phone_normalize), so every spelling of one number is one
    member; a phone already signed up at this site is refused with DN_EDUP
    and the existing member's id in why.  A referrer starting with an ASCII
    letter is a partner code, anything else a member's phone, made
    canonical the same way.  Returns 0 (out->id is the member's id),
    DN_EPARSE, DN_EDUP, DN_EDB.  */
int dn_record_member_add(dn_store_t *store, const dn_member_input_t *in,
                         dn_record_result_t *out, char *why, size_t why_size);

/*  Changes a member's name and/or household (in->referrer must be NULL),
    found by its phone typed any way.  Returns 0, DN_ENOENT for a phone not
    signed up here, DN_EPARSE.  */
int dn_record_member_update(dn_store_t *store, const dn_member_input_t *in,
                            dn_record_result_t *out, char *why, size_t why_size);

#endif

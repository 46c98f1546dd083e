/*  dn_testkit -- a simulated site against central.db (see dn_testkit.h).

    Everything goes through the modules the agent and the server use
    (dn_wire for packing and the signed bytes, dn_crypto for hashes and
    signatures, dn_registry for enrollment, dn_ingest for applying), so
    what a test feeds the server is what an agent would send: the kit only
    saves each test program writing that path out again.
*/
#include "dn_testkit.h"
#include "dn_chain.h"
#include "dn_db.h"
#include "dn_error.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dn_tk_site_t *dn_tk_site_new(const char *code, dn_key_t **key_p)
{
    dn_tk_site_t *self;
    if (strlen(code) >= DN_TK_CODE_SIZE || !(self = calloc(1, sizeof *self)))
        return NULL;
    snprintf(self->code, sizeof self->code, "%s", code);
    if (key_p && *key_p) {
        self->key = *key_p;
        *key_p = NULL;
    } else if (!(self->key = dn_key_generate())) {
        free(self);
        return NULL;
    }
    return self;
}

void dn_tk_site_destroy(dn_tk_site_t **self_p)
{
    dn_tk_site_t *self = *self_p;
    if (!self)
        return;
    dn_tk_site_restart(self);
    free(self->pending);
    free(self->pending_hash);
    dn_key_destroy(&self->key);
    free(self);
    *self_p = NULL;
}

void dn_tk_site_restart(dn_tk_site_t *self)
{
    for (size_t i = 0; i < self->n_pending; i++)
        free(self->pending[i].data);
    self->n_pending = 0;
    self->seq = 0;
    memset(self->head, 0, sizeof self->head);
}

void dn_tk_curve(uint8_t curve[DN_CURVE_KEY_BYTES], uint8_t first)
{
    for (size_t i = 0; i < DN_CURVE_KEY_BYTES; i++)
        curve[i] = (uint8_t)(first + i);
}

int dn_tk_enroll(sqlite3 *db, const char *code, const char *partner,
                 const uint8_t curve[DN_CURVE_KEY_BYTES], const dn_key_t *key,
                 int64_t added_ms, int64_t enrolled_ms, dn_registry_site_t *reg,
                 char *why, size_t why_size)
{
    char token[DN_TOKEN_TEXT_LEN + 1];
    uint8_t pub[DN_PUBKEY_BYTES];
    int64_t expires = 0;
    int rc =
        dn_registry_site_add(db, code, partner, added_ms, token, &expires, why, why_size);
    if (rc)
        return rc;
    if (dn_key_public(key, pub) != 0) {
        snprintf(why, why_size, "site %s: no public key", code);
        return DN_ECRYPTO;
    }
    return dn_registry_enroll(db, token, code, curve, pub, enrolled_ms, reg, why,
                              why_size);
}

/* -- events ------------------------------------------------------------------ */

int dn_tk_sale(dn_tk_event_t *e, const char *seller, Dealernet__Channel channel,
               const char *phone, const dn_tk_line_t *lines, size_t n)
{
    Dealernet__Event ev = DEALERNET__EVENT__INIT;
    Dealernet__Sale sale = DEALERNET__SALE__INIT;
    int64_t total = 0;

    if (n == 0 || n > DN_TK_MAX_LINES)
        return DN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        Dealernet__SaleLine init = DEALERNET__SALE_LINE__INIT;
        e->lines[i] = init;
        e->lines[i].sku = (char *)lines[i].sku;
        e->lines[i].has_quantity = 1;
        e->lines[i].quantity = lines[i].quantity;
        e->lines[i].has_unit_price = 1;
        e->lines[i].unit_price = lines[i].unit_price;
        e->lines[i].category = (char *)lines[i].category;
        e->line_ptrs[i] = &e->lines[i];
        total += lines[i].quantity * lines[i].unit_price;
    }
    e->sale = sale;
    e->sale.n_lines = n;
    e->sale.lines = e->line_ptrs;
    e->sale.has_total = 1;
    e->sale.total = total;
    e->sale.currency = "CNY";
    e->sale.member_phone = (char *)phone;
    e->sale.has_channel = 1;
    e->sale.channel = channel;
    e->sale.seller = (char *)seller;
    e->ev = ev;
    e->ev.body_case = DEALERNET__EVENT__BODY_SALE;
    e->ev.sale = &e->sale;
    return 0;
}

void dn_tk_refund(dn_tk_event_t *e, const uint8_t sale_id[DN_ID_BYTES], int64_t amount,
                  const char *sku, int64_t quantity)
{
    Dealernet__Event ev = DEALERNET__EVENT__INIT;
    Dealernet__Refund refund = DEALERNET__REFUND__INIT;
    Dealernet__RefundLine line = DEALERNET__REFUND_LINE__INIT;

    memcpy(e->sale_id, sale_id, DN_ID_BYTES);
    e->refund = refund;
    e->refund.has_sale_id = 1;
    e->refund.sale_id.data = e->sale_id;
    e->refund.sale_id.len = DN_ID_BYTES;
    if (sku) {
        e->refund_line = line;
        e->refund_line.sku = (char *)sku;
        e->refund_line.has_quantity = 1;
        e->refund_line.quantity = quantity;
        e->refund_line_ptr = &e->refund_line;
        e->refund.n_lines = 1;
        e->refund.lines = &e->refund_line_ptr;
    }
    e->refund.has_amount = 1;
    e->refund.amount = amount;
    e->refund.currency = "CNY";
    e->ev = ev;
    e->ev.body_case = DEALERNET__EVENT__BODY_REFUND;
    e->ev.refund = &e->refund;
}

int dn_tk_signup(dn_tk_event_t *e, int64_t at_ms, const char *phone, const char *name,
                 const char *ref_phone, const char *ref_partner)
{
    Dealernet__Event ev = DEALERNET__EVENT__INIT;
    Dealernet__MemberSignup m = DEALERNET__MEMBER_SIGNUP__INIT;
    int rc = dn_id_new_at(e->member_id, at_ms);

    if (rc)
        return rc;
    e->signup = m;
    e->signup.has_member_id = 1;
    e->signup.member_id.data = e->member_id;
    e->signup.member_id.len = DN_ID_BYTES;
    e->signup.phone = (char *)phone;
    e->signup.name = (char *)name;
    e->signup.referrer_phone = (char *)ref_phone;
    e->signup.referrer_partner = (char *)ref_partner;
    e->ev = ev;
    e->ev.body_case = DEALERNET__EVENT__BODY_MEMBER_SIGNUP;
    e->ev.member_signup = &e->signup;
    return 0;
}

/*  Makes room for one more pending event.  */
static int s_grow(dn_tk_site_t *site)
{
    size_t max = site->max_pending ? 2 * site->max_pending : 16;
    ProtobufCBinaryData *pending;
    uint8_t(*hash)[DN_HASH_BYTES];

    if (site->n_pending < site->max_pending)
        return 0;
    pending = realloc(site->pending, max * sizeof *pending);
    if (!pending)
        return DN_ENOMEM;
    site->pending = pending;
    hash = realloc(site->pending_hash, max * sizeof *hash);
    if (!hash)
        return DN_ENOMEM;
    site->pending_hash = hash;
    site->max_pending = max;
    return 0;
}

int dn_tk_record(dn_tk_site_t *site, Dealernet__Event *ev, int64_t at_ms,
                 uint8_t id_out[DN_ID_BYTES], char *why, size_t why_size)
{
    uint8_t id[DN_ID_BYTES], prev[DN_HASH_BYTES];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    if (s_grow(site) != 0) {
        snprintf(why, why_size, "out of memory");
        return DN_ENOMEM;
    }
    rc = site->id_fn ? site->id_fn(id, at_ms, site->seq + 1) : dn_id_new_at(id, at_ms);
    if (rc) {
        snprintf(why, why_size, "no id for seq %llu: %s",
                 (unsigned long long)site->seq + 1, dn_strerror(rc));
        return rc;
    }
    memcpy(prev, site->head, DN_HASH_BYTES);
    ev->has_id = 1;
    ev->id.data = id;
    ev->id.len = DN_ID_BYTES;
    ev->site = site->code;
    ev->has_seq = 1;
    ev->seq = site->seq + 1;
    ev->has_recorded_at_ms = 1;
    ev->recorded_at_ms = at_ms;
    ev->has_prev_hash = 1;
    ev->prev_hash.data = prev;
    ev->prev_hash.len = DN_HASH_BYTES;
    rc = dn_wire_event_pack(ev, &buf, &len, why, why_size);
    if (rc)
        return rc;
    rc = dn_sha256(buf, len, site->pending_hash[site->n_pending]);
    if (rc) {
        free(buf);
        snprintf(why, why_size, "sha256 failed");
        return rc;
    }
    memcpy(site->head, site->pending_hash[site->n_pending], DN_HASH_BYTES);
    site->seq++;
    site->pending[site->n_pending].data = buf;
    site->pending[site->n_pending++].len = len;
    if (id_out)
        memcpy(id_out, id, DN_ID_BYTES);
    return 0;
}

/* -- batches ------------------------------------------------------------------ */

int dn_tk_sign(const char *code, const dn_key_t *key, uint64_t last_seq,
               const uint8_t head[DN_HASH_BYTES], uint8_t sig[DN_SIG_BYTES])
{
    return dn_chain_sign(key, code, last_seq, head, sig);
}

int dn_tk_batch(dn_tk_site_t *site, dn_tk_batch_t *batch)
{
    memset(batch, 0, sizeof *batch);
    if (site->n_pending == 0)
        return DN_EINVAL;
    if (dn_tk_sign(site->code, site->key, site->seq, site->head, batch->sig) != 0)
        return DN_ECRYPTO;
    batch->first_seq = site->seq - site->n_pending + 1;
    batch->n = site->n_pending;
    batch->events = site->pending;
    memcpy(batch->head, site->head, DN_HASH_BYTES);
    /* the site starts a fresh pending list; the batch owns the old one */
    site->pending = NULL;
    free(site->pending_hash);
    site->pending_hash = NULL;
    site->n_pending = site->max_pending = 0;
    return 0;
}

int dn_tk_batch_make(dn_tk_batch_t *batch, const char *code, const dn_key_t *key,
                     uint64_t first_seq, const ProtobufCBinaryData *events, size_t n,
                     const uint8_t head[DN_HASH_BYTES])
{
    memset(batch, 0, sizeof *batch);
    if (key && dn_tk_sign(code, key, first_seq + n - 1, head, batch->sig) != 0)
        return DN_ECRYPTO;
    batch->events = calloc(n ? n : 1, sizeof *batch->events);
    if (!batch->events)
        return DN_ENOMEM;
    batch->first_seq = first_seq;
    memcpy(batch->head, head, DN_HASH_BYTES);
    for (; batch->n < n; batch->n++) {
        ProtobufCBinaryData *to = &batch->events[batch->n];
        if (!(to->data = malloc(events[batch->n].len ? events[batch->n].len : 1))) {
            dn_tk_batch_free(batch);
            return DN_ENOMEM;
        }
        memcpy(to->data, events[batch->n].data, events[batch->n].len);
        to->len = events[batch->n].len;
    }
    return 0;
}

void dn_tk_batch_free(dn_tk_batch_t *batch)
{
    for (size_t i = 0; i < batch->n; i++)
        free(batch->events[i].data);
    free(batch->events);
    memset(batch, 0, sizeof *batch);
}

void dn_tk_batch_push(const dn_tk_batch_t *batch, Dealernet__PushBatch *push)
{
    Dealernet__PushBatch init = DEALERNET__PUSH_BATCH__INIT;
    *push = init;
    push->has_first_seq = 1;
    push->first_seq = batch->first_seq;
    push->n_events = batch->n;
    push->events = batch->events;
    push->has_chain_head = 1;
    push->chain_head.data = (uint8_t *)batch->head;
    push->chain_head.len = DN_HASH_BYTES;
    push->has_signature = 1;
    push->signature.data = (uint8_t *)batch->sig;
    push->signature.len = DN_SIG_BYTES;
}

int dn_tk_batch_pack(const dn_tk_batch_t *batch, uint8_t **buf, size_t *len, char *why,
                     size_t why_size)
{
    Dealernet__SyncMessage msg = DEALERNET__SYNC_MESSAGE__INIT;
    Dealernet__PushBatch push;
    dn_tk_batch_push(batch, &push);
    msg.body_case = DEALERNET__SYNC_MESSAGE__BODY_PUSH;
    msg.push = &push;
    return dn_wire_sync_pack(&msg, buf, len, why, why_size);
}

int dn_tk_ingest(sqlite3 *db, dn_ingest_t *ingest, const dn_registry_site_t *site,
                 const dn_tk_batch_t *batch, int64_t now_ms, dn_ingest_result_t *result)
{
    Dealernet__PushBatch push;
    int rc;

    dn_tk_batch_push(batch, &push);
    /* the server's path: a group of this one batch */
    rc = dn_ingest_push(ingest, site, &push, now_ms, result);
    if (dn_ingest_group_end(ingest, rc == 0) != 0 && rc == 0) {
        snprintf(result->why, sizeof result->why, "COMMIT failed: %s", sqlite3_errmsg(db));
        rc = DN_EDB;
    }
    if (rc == DN_EDB && !result->why[0])
        snprintf(result->why, sizeof result->why, "the database failed: %s",
                 sqlite3_errmsg(db));
    return rc;
}

/* -- files -------------------------------------------------------------------- */

int dn_tk_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    int rc = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (dn_tk_remove_tree(path) != 0)
                rc = -1;
        } else if (unlink(path) != 0) {
            rc = -1;
        }
    }
    closedir(d);
    if (rmdir(dir) != 0)
        rc = -1;
    return rc;
}

/* -- a read failing mid-scan ------------------------------------------------ */

static int s_cut_progress(void *arg)
{
    dn_tk_cut_t *cut = arg;
    if (++cut->calls != cut->stop_at)
        return 0;
    cut->rows_at_stop = cut->rows;
    return 1;
}

static int s_cut_trace(unsigned type, void *arg, void *stmt, void *unused)
{
    dn_tk_cut_t *cut = arg;
    const char *sql = sqlite3_sql(stmt);
    (void)unused;
    if (type == SQLITE_TRACE_ROW && sql && strstr(sql, cut->listing))
        cut->rows++;
    return 0;
}

void dn_tk_cut_arm(sqlite3 *db, dn_tk_cut_t *cut, int stop_at)
{
    cut->stop_at = stop_at;
    cut->calls = 0;
    cut->rows = 0;
    cut->rows_at_stop = -1;
    sqlite3_progress_handler(db, 1, s_cut_progress, cut);
    sqlite3_trace_v2(db, SQLITE_TRACE_ROW, s_cut_trace, cut);
}

void dn_tk_cut_disarm(sqlite3 *db)
{
    sqlite3_progress_handler(db, 0, NULL, NULL);
    sqlite3_trace_v2(db, 0, NULL, NULL);
}

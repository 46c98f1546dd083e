/*  fuzz_ingest -- libFuzzer target over the server's sync path: decode,
    validate and apply into central.db.

    An input is one SyncMessage frame, as the sync socket receives it.  It
    goes through dn_wire_sync_unpack; a Hello then through dn_ingest_hello
    and a PushBatch through dn_ingest_batch, for the enrolled site SHOP-01
    of the dn_fuzz world, inside a transaction rolled back after the input:
    every input meets the same database.

    Two modes, chosen by the input itself, so one corpus holds both:
      - a batch whose signature is 64 zero bytes is repaired and signed
        with the site's key before it is applied: each event's prev_hash
        becomes the hash of the event before it (the first: the site's
        chain head), the chain head the hash of the last event, and the
        signature is made over that.  Mutations then get past the
        signature and the chain into the event decoder, the stores and the
        ledger;
      - any other signature is verified as received, as the server does,
        and mutations meet the signature check.
    Invariants, each an abort that libFuzzer reports as a crash:
      - what dn_wire accepted, dn_wire packs again;
      - ingest never answers an input with an internal error (DN_EDB): a
        batch that did would be a poison pill its agent resends forever;
      - a refused batch leaves no row behind once rolled back to its
        savepoint;
      - after an accepted batch the ledger balances: all balances sum to
        zero, each is its account's credits minus debits, no transfer is
        clawed back beyond its amount, no sale is refunded beyond its total
        and no line beyond its quantity;
      - the same batch applied a second time is accepted, stores nothing,
        skips every event, acks the same seq and posts no transfer.
*/
#include "dn_db.h"
#include "dn_error.h"
#include "dn_fuzz.h"
#include "dn_ingest.h"
#include "dn_log.h"
#include "dn_wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dn_fuzz_world_t s_world;
static sqlite3_stmt *s_figures; /* the ledger's figures, see s_check_ledger */
static int s_verbose;           /* DN_FUZZ_VERBOSE=1: a line per batch, for seeds */

static void s_abort(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_ingest: invariant broken: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static void s_exec(const char *sql)
{
    if (dn_db_exec(s_world.db, sql))
        s_abort(sql, sqlite3_errmsg(s_world.db));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_verbose = getenv("DN_FUZZ_VERBOSE") != NULL;
    dn_log_init("fuzz_ingest", DN_LOG_QUIET, 0);
    if (dn_fuzz_world_open(&s_world))
        exit(1);
    if (sqlite3_prepare_v2(
            s_world.db,
            "SELECT (SELECT coalesce(sum(balance), 0) FROM accounts),"
            " (SELECT count(*) FROM accounts a WHERE balance !="
            "   (SELECT coalesce(sum(amount), 0) FROM transfers WHERE credit = a.id) -"
            "   (SELECT coalesce(sum(amount), 0) FROM transfers WHERE debit = a.id)),"
            " (SELECT count(*) FROM transfers t WHERE t.reverses IS NULL AND amount <"
            "   (SELECT coalesce(sum(amount), 0) FROM transfers c WHERE c.reverses = "
            "t.id)),"
            " (SELECT count(*) FROM sales WHERE refunded < 0 OR refunded > total),"
            " (SELECT count(*) FROM sale_lines WHERE refunded_qty > quantity),"
            " (SELECT count(*) FROM events), (SELECT count(*) FROM transfers)",
            -1, &s_figures, NULL) != SQLITE_OK) {
        fprintf(stderr, "fuzz_ingest: %s\n", sqlite3_errmsg(s_world.db));
        exit(1);
    }
    return 0;
}

/*  The ledger's figures: [0] sum of balances, [1] accounts whose balance
    is not credits - debits, [2] transfers clawed back beyond their amount,
    [3] sales refunded beyond their total, [4] lines refunded beyond their
    quantity, [5] events, [6] transfers.  */
static void s_figures_now(int64_t fig[7])
{
    if (sqlite3_step(s_figures) != SQLITE_ROW)
        s_abort("reading the ledger", sqlite3_errmsg(s_world.db));
    for (int i = 0; i < 7; i++)
        fig[i] = sqlite3_column_int64(s_figures, i);
    sqlite3_reset(s_figures);
}

static void s_check_ledger(int64_t fig[7])
{
    s_figures_now(fig);
    if (fig[0] != 0)
        s_abort("balances do not sum to zero", NULL);
    if (fig[1] != 0)
        s_abort("a balance is not its credits minus debits", NULL);
    if (fig[2] != 0)
        s_abort("a transfer is clawed back beyond its amount", NULL);
    if (fig[3] != 0)
        s_abort("a sale is refunded beyond its total", NULL);
    if (fig[4] != 0)
        s_abort("a sale line is refunded beyond its quantity", NULL);
}

/*  Reads a varint at p[0..len); returns its length or 0.  */
static size_t s_varint(const uint8_t *p, size_t len, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        *v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80))
            return i + 1;
    }
    return 0;
}

/*  Returns the 32 bytes of an event's prev_hash (field 5) inside its
    packed bytes, or NULL if they cannot be found.  */
static uint8_t *s_prev_hash(uint8_t *p, size_t len)
{
    size_t at = 0;
    while (at < len) {
        uint64_t tag, v;
        size_t n = s_varint(p + at, len - at, &tag);
        if (n == 0)
            return NULL;
        at += n;
        switch (tag & 7) {
        case 0:
            n = s_varint(p + at, len - at, &v);
            break;
        case 1:
            n = len - at >= 8 ? 8 : 0;
            break;
        case 2:
            n = s_varint(p + at, len - at, &v);
            if (n == 0 || v > len - at - n)
                return NULL;
            if (tag >> 3 == 5 && v == DN_HASH_BYTES)
                return p + at + n;
            n += (size_t)v;
            break;
        case 5:
            n = len - at >= 4 ? 4 : 0;
            break;
        default:
            return NULL;
        }
        if (n == 0)
            return NULL;
        at += n;
    }
    return NULL;
}

/*  Re-chains the batch's events onto the site's head and signs it.  */
static void s_repair(Dealernet__PushBatch *batch, const dn_ingest_state_t *state)
{
    uint8_t hash[DN_HASH_BYTES];
    memcpy(hash, state->head, DN_HASH_BYTES);
    for (size_t i = 0; i < batch->n_events; i++) {
        ProtobufCBinaryData *body = &batch->events[i];
        uint8_t *prev = body->len ? s_prev_hash(body->data, body->len) : NULL;
        if (prev)
            memcpy(prev, hash, DN_HASH_BYTES);
        if (dn_sha256(body->data, body->len, hash))
            s_abort("sha256", NULL);
    }
    memcpy(batch->chain_head.data, hash, DN_HASH_BYTES);
    if (dn_fuzz_sign(s_world.key, batch->first_seq + batch->n_events - 1, hash,
                     batch->signature.data))
        s_abort("signing", NULL);
}

static int s_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return 0;
    return 1;
}

static void s_push(Dealernet__PushBatch *batch)
{
    dn_ingest_state_t state;
    dn_ingest_result_t r1, r2;
    int64_t before[7], after[7], again[7];
    int rc, resign = s_zero(batch->signature.data, batch->signature.len);

    if (dn_ingest_state(s_world.ingest, s_world.site.id, &state))
        s_abort("reading the site's state", NULL);
    if (resign)
        s_repair(batch, &state);
    s_figures_now(before);
    s_exec("SAVEPOINT batch");
    rc = dn_ingest_batch(s_world.ingest, &s_world.site, batch, DN_FUZZ_NOW_MS, &r1);
    if (s_verbose && rc)
        fprintf(stderr, "fuzz_ingest: batch %llu+%zu (%s): refused: %s\n",
                (unsigned long long)batch->first_seq, batch->n_events,
                resign ? "re-signed" : "as received", r1.why);
    if (rc == DN_EPROTO) {
        s_exec("ROLLBACK TO batch");
        s_exec("RELEASE batch");
        s_figures_now(after);
        if (after[5] != before[5] || after[6] != before[6])
            s_abort("a refused batch left rows behind", r1.why);
        if (r1.code == 0 || r1.why[0] == '\0')
            s_abort("a refusal without a code or a reason", NULL);
        return;
    }
    if (rc != 0)
        s_abort("ingest answered an input with an internal error", dn_strerror(rc));
    s_exec("RELEASE batch");
    s_check_ledger(after);
    if (s_verbose)
        fprintf(stderr,
                "fuzz_ingest: batch %llu+%zu (%s): accepted, %d applied, %lld "
                "transfers\n",
                (unsigned long long)batch->first_seq, batch->n_events,
                resign ? "re-signed" : "as received", r1.applied,
                (long long)(after[6] - before[6]));
    if (after[5] != before[5] + r1.applied)
        s_abort("events stored differ from events applied", NULL);
    if ((size_t)(r1.applied + r1.skipped) != batch->n_events)
        s_abort("an accepted batch neither applied nor skipped an event", NULL);

    rc = dn_ingest_batch(s_world.ingest, &s_world.site, batch, DN_FUZZ_NOW_MS, &r2);
    if (rc != 0)
        s_abort("the same batch applied again was refused", r2.why);
    if (r2.applied != 0 || (size_t)r2.skipped != batch->n_events ||
        r2.acked_through != r1.acked_through)
        s_abort("the same batch applied again changed something", NULL);
    s_check_ledger(again);
    if (again[5] != after[5] || again[6] != after[6])
        s_abort("the same batch applied again stored or posted", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Dealernet__SyncMessage *msg = NULL;
    dn_ingest_state_t state;
    char why[DN_WHY_SIZE];
    uint8_t *packed = NULL;
    size_t packed_len = 0;

    if (dn_wire_sync_unpack(data, size, &msg, why, sizeof why)) {
        if (s_verbose)
            fprintf(stderr, "fuzz_ingest: not a sync message: %s\n", why);
        return 0;
    }
    if (dn_wire_sync_pack(msg, &packed, &packed_len, why, sizeof why))
        s_abort("dn_wire accepted a message it cannot pack", why);
    free(packed);

    s_exec("BEGIN");
    if (msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_HELLO) {
        if (dn_ingest_hello(s_world.ingest, &s_world.site, msg->hello, DN_FUZZ_NOW_MS,
                            &state))
            s_abort("ingest answered a hello with an internal error", NULL);
    } else if (msg->body_case == DEALERNET__SYNC_MESSAGE__BODY_PUSH) {
        s_push(msg->push);
    }
    s_exec("ROLLBACK");
    dn_ingest_forget(s_world.ingest); /* its caches describe the rolled-back rows */
    dn_wire_sync_free(&msg);
    return 0;
}

/*  dn_down -- the agent's side of the downstream channel (see dn_down.h).

    Owns agent.db's down_state table and the setting 'down_key'.  A reply
    is verified whole before anything is written: every Down's signature
    against the pinned key, then, in one transaction, that each applies to
    what is held (from_version and scope, or reset), its items unpacked
    and handed to the stream's applier, and the stream's new version and
    scope written.  Any refusal rolls it all back: a reply is applied
    whole or not at all.
*/
#include "dn_down.h"
#include "dn_i18n.h"
#include "dn_db.h"
#include "dn_error.h"
#include "dn_log.h"
#include "dn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  The streams this agent applies: each stream's engineer adds its line
    here, and the server's producers are listed in server/dn_down.c.  A
    sync pulls every one of them but STREAM_CHAIN (dn_down_default_streams).  */
static const dn_down_applier_t *const s_appliers[] = {
    &dn_down_apply_catalog,  /* agent/dn_hqcatalog.c */
    &dn_down_apply_earnings, /* agent/dn_earnings.c */
    &dn_down_apply_members,  /* agent/dn_earnings.c */
    &dn_down_apply_notices,  /* agent/dn_notices.c */
    &dn_down_apply_chain, /* agent/dn_recover.c: only `recover` pulls it */
    NULL /* the end */
};

const dn_down_applier_t *const *dn_down_appliers(size_t *n)
{
    size_t count = 0;
    while (s_appliers[count])
        count++;
    *n = count;
    return s_appliers;
}

size_t dn_down_default_streams(const dn_down_applier_t *const *list, size_t n,
                               Dealernet__Stream *streams)
{
    size_t count = 0;
    if (!list)
        list = dn_down_appliers(&n);
    for (size_t i = 0; i < n && count < DN_DOWN_MAX_STREAMS; i++)
        if (list[i]->stream != DEALERNET__STREAM__STREAM_CHAIN)
            streams[count++] = list[i]->stream;
    return count;
}

/* -- the pinned key -------------------------------------------------------------- */

int dn_down_key_get(dn_store_t *store, uint8_t pub[DN_PUBKEY_BYTES])
{
    char hex[2 * DN_PUBKEY_BYTES + 2];
    int rc = dn_store_meta_get(store, DN_STORE_META_DOWN_KEY, hex, sizeof hex);
    if (rc)
        return rc;
    if (strlen(hex) != 2 * DN_PUBKEY_BYTES ||
        dn_hex_decode(hex, pub, DN_PUBKEY_BYTES) != 0)
        return DN_ECRYPTO;
    return 0;
}

int dn_down_key_pin(dn_store_t *store, const uint8_t pub[DN_PUBKEY_BYTES])
{
    char hex[2 * DN_PUBKEY_BYTES + 1];
    dn_hex_encode(pub, DN_PUBKEY_BYTES, hex);
    return dn_store_meta_set(store, DN_STORE_META_DOWN_KEY, hex);
}

/* -- state ------------------------------------------------------------------------ */

int dn_down_state(dn_store_t *store, Dealernet__Stream stream, dn_down_state_t *state)
{
    sqlite3_stmt *stmt;
    int rc;
    memset(state, 0, sizeof *state);
    if (dn_store_stmt(store,
                      "SELECT version, scope, checked_ms, changed_ms FROM down_state "
                      "WHERE stream = ?",
                      &stmt))
        return DN_EDB;
    sqlite3_bind_int(stmt, 1, (int)stream);
    rc = dn_db_row(stmt, "down state");
    if (rc == 1) {
        int len = sqlite3_column_bytes(stmt, 1);
        state->version = (uint64_t)sqlite3_column_int64(stmt, 0);
        if (len < 0 || len > DN_DOWN_SCOPE_MAX) { /* the table's CHECK forbids it */
            rc = DN_EDB;
        } else {
            state->scope_len = (size_t)len;
            if (len)
                memcpy(state->scope, sqlite3_column_blob(stmt, 1), (size_t)len);
            state->checked_ms = sqlite3_column_int64(stmt, 2);
            state->changed_ms = sqlite3_column_int64(stmt, 3);
            rc = 0;
        }
    }
    sqlite3_reset(stmt);
    return rc < 0 ? DN_EDB : 0;
}

/*  Writes what stream holds now, in the caller's transaction.  */
static int s_state_set(dn_store_t *store, Dealernet__Stream stream,
                       const dn_down_state_t *state)
{
    sqlite3_stmt *stmt;
    int rc;
    if (dn_store_stmt(
            store,
            "INSERT OR REPLACE INTO down_state(stream, version, scope, checked_ms, "
            "changed_ms) VALUES (?, ?, ?, ?, ?)",
            &stmt))
        return DN_EDB;
    sqlite3_bind_int(stmt, 1, (int)stream);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)state->version);
    sqlite3_bind_blob(stmt, 3, state->scope, (int)state->scope_len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, state->checked_ms);
    sqlite3_bind_int64(stmt, 5, state->changed_ms);
    rc = dn_db_step_txn(dn_store_db(store), stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc;
}

/* -- the pull ------------------------------------------------------------------------ */

/*  A Pull and its storage in one block (the Pull first: it is what is
    freed).  */
typedef struct {
    Dealernet__Pull pull;
    Dealernet__StreamHolds holds[DN_DOWN_MAX_STREAMS];
    Dealernet__StreamHolds *pointers[DN_DOWN_MAX_STREAMS];
    uint8_t scopes[DN_DOWN_MAX_STREAMS][DN_DOWN_SCOPE_MAX];
} s_pull_t;

int dn_down_pull_build(dn_store_t *store, const Dealernet__Stream *streams, size_t n,
                       Dealernet__Pull **pull)
{
    s_pull_t *p;
    int rc;
    *pull = NULL;
    if (n > DN_DOWN_MAX_STREAMS)
        return DN_EINVAL;
    if (!(p = calloc(1, sizeof *p)))
        return DN_ENOMEM;
    dealernet__pull__init(&p->pull);
    for (size_t i = 0; i < n; i++) {
        dn_down_state_t state;
        Dealernet__StreamHolds *h = &p->holds[i];
        if ((rc = dn_down_state(store, streams[i], &state)) != 0) {
            free(p);
            return rc;
        }
        dealernet__stream_holds__init(h);
        h->has_stream = 1;
        h->stream = streams[i];
        h->has_version = 1;
        h->version = state.version;
        if (state.version && state.scope_len) {
            memcpy(p->scopes[i], state.scope, state.scope_len);
            h->has_scope = 1;
            h->scope.data = p->scopes[i];
            h->scope.len = state.scope_len;
        }
        p->pointers[i] = h;
    }
    p->pull.n_holds = n;
    p->pull.holds = p->pointers;
    *pull = &p->pull;
    return 0;
}

void dn_down_pull_free(Dealernet__Pull **pull)
{
    if (pull && *pull) {
        free((s_pull_t *)(void *)*pull);
        *pull = NULL;
    }
}

/* -- applying ---------------------------------------------------------------------- */

static const char *s_stream_label(Dealernet__Stream stream, char *buf, size_t size)
{
    snprintf(buf, size, "stream %d", (int)stream);
    return buf;
}

/*  Verifies every Down's signature with pub (appliers[i]: the Down's).  */
static int s_verify(const Dealernet__DownReply *reply,
                    const dn_down_applier_t *const *appliers,
                    const uint8_t pub[DN_PUBKEY_BYTES], char *why, size_t why_size)
{
    for (size_t i = 0; i < reply->n_downs; i++) {
        const Dealernet__Down *d = reply->downs[i];
        uint8_t signed_bytes[DN_DOWN_SIGNED_MAX];
        size_t len;
        int rc = dn_wire_down_signed(d, signed_bytes, &len);
        if (rc == 0)
            rc = dn_ed25519_verify(pub, signed_bytes, len, d->signature.data);
        if (rc == DN_ESIG)
            return dn_why(
                why, why_size, DN_ECRYPTO,
                _("what the server sent of %s does not verify with its pinned down "
                "key: refused, nothing applied (tell headquarters)"),
                appliers[i]->name);
        if (rc)
            return dn_why(why, why_size, DN_ECRYPTO, _("cannot verify a down signature: %s"),
                          dn_strerror(rc));
    }
    return 0;
}

/*  Applies one verified Down in the caller's transaction.  */
static int s_apply_one(dn_store_t *store, const dn_down_applier_t *applier,
                       const Dealernet__Down *d, int64_t now_ms, dn_down_applied_t *out,
                       char *why, size_t why_size)
{
    Dealernet__DownItem **items = NULL;
    dn_down_state_t held;
    size_t scope_len = d->has_scope ? d->scope.len : 0, n = 0;
    int rc;

    if ((rc = dn_down_state(store, d->stream, &held)) != 0)
        return rc;
    /* A Down continues exactly what is held (version and scope; version 0
       holds nothing, in no scope), or starts over (reset): one that does
       not is for another copy of this agent.db, or a replay.  */
    if (!d->reset &&
        (d->from_version != held.version ||
         (held.version != 0 &&
          (scope_len != held.scope_len ||
           (scope_len && memcmp(d->scope.data, held.scope, scope_len) != 0)))))
        return dn_why(why, why_size, DN_EPROTO,
                      _("what the server sent of %s continues version %llu, but this site "
                      "holds version %llu of it (or another scope): refused, nothing "
                      "applied"),
                      applier->name, (unsigned long long)d->from_version,
                      (unsigned long long)held.version);
    if (d->n_items && !(items = calloc(d->n_items, sizeof *items)))
        return DN_ENOMEM;
    for (n = 0; n < d->n_items; n++) {
        char item_why[DN_WHY_SIZE];
        rc = dn_wire_down_item_unpack(d->stream, d->items[n].data, d->items[n].len,
                                      &items[n], item_why, sizeof item_why);
        if (rc) {
            if (rc == DN_EPROTO)
                dn_why(why, why_size, rc, _("what the server sent of %s, item %zu: %s"),
                       applier->name, n + 1, item_why);
            break;
        }
    }
    if (rc == 0)
        rc = applier->apply(dn_store_db(store), d->reset, items, d->n_items, why,
                            why_size);
    for (size_t i = 0; i < n; i++)
        dn_wire_down_item_free(&items[i]);
    free(items);
    if (rc)
        return rc;
    held.version = d->to_version;
    held.scope_len = scope_len;
    if (scope_len)
        memcpy(held.scope, d->scope.data, scope_len);
    held.checked_ms = now_ms;
    if (d->n_items || d->reset)
        held.changed_ms = now_ms;
    if ((rc = s_state_set(store, d->stream, &held)) != 0)
        return rc;
    out->stream = d->stream;
    out->items = d->n_items;
    out->version = d->to_version;
    out->reset = d->reset;
    out->name = applier->name;
    return 0;
}

int dn_down_apply_with(dn_store_t *store, const dn_down_applier_t *const *list, size_t n,
                       const Dealernet__DownReply *reply, int64_t now_ms,
                       dn_down_applied_t *applied, size_t *n_applied, int *more,
                       char *why, size_t why_size)
{
    uint8_t pub[DN_PUBKEY_BYTES];
    const dn_down_applier_t *appliers[DN_DOWN_MAX_STREAMS];
    int rc;

    *n_applied = 0;
    *more = 0;
    if (why_size)
        why[0] = '\0';
    if (reply->n_downs > DN_DOWN_MAX_STREAMS) /* dn_wire refuses it */
        return dn_why(why, why_size, DN_EPROTO, _("a down reply of %zu downs"),
                      reply->n_downs);
    rc = dn_down_key_get(store, pub);
    if (rc == DN_ENOENT || rc == DN_ECRYPTO)
        return dn_why(why, why_size, DN_ECRYPTO,
                      _("no down key is pinned: nothing from the server can be verified"));
    if (rc)
        return rc;
    for (size_t i = 0; i < reply->n_downs; i++) {
        char label[32];
        appliers[i] = NULL;
        for (size_t j = 0; j < n && !appliers[i]; j++)
            if (list[j]->stream == reply->downs[i]->stream)
                appliers[i] = list[j];
        if (!appliers[i])
            return dn_why(why, why_size, DN_EPROTO,
                          _("the server sent %s, which this agent does not apply"),
                          s_stream_label(reply->downs[i]->stream, label, sizeof label));
    }
    if ((rc = s_verify(reply, appliers, pub, why, why_size)) != 0)
        return rc;
    if ((rc = dn_store_begin(store)) != 0)
        return rc;
    for (size_t i = 0; i < reply->n_downs && rc == 0; i++)
        rc = s_apply_one(store, appliers[i], reply->downs[i], now_ms, &applied[i], why,
                         why_size);
    if (rc == 0)
        rc = dn_store_commit(store);
    if (rc) {
        dn_store_rollback(store);
        return rc;
    }
    *n_applied = reply->n_downs;
    for (size_t i = 0; i < reply->n_downs; i++)
        if (reply->downs[i]->more)
            *more = 1;
    return 0;
}

int dn_down_apply(dn_store_t *store, const Dealernet__DownReply *reply, int64_t now_ms,
                  dn_down_applied_t *applied, size_t *n_applied, int *more, char *why,
                  size_t why_size)
{
    size_t n;
    const dn_down_applier_t *const *list = dn_down_appliers(&n);
    return dn_down_apply_with(store, list, n, reply, now_ms, applied, n_applied, more,
                              why, why_size);
}

/*  dn_earnings -- what the network tells the shop of money (issue 14,
    items 3 and 4): its partner's earnings (STREAM_EARNINGS) and the
    referral credit of the members it has seen (STREAM_MEMBERS).

    Owns the SQL of the tables hq_earnings (one row: the last Earnings
    received) and hq_members (one row per phone received), written only by
    the two appliers (dn_down_apply_earnings, dn_down_apply_members,
    declared in dn_down.h) inside the transaction that applies a verified
    DownReply, and read by `dealernet-agent earnings` and `member show`.
    Nothing here is computed at the shop: the figures are the server's
    (`dealernet-hq statement` for the partner and the open period), shown
    as they came with the time they were computed.
*/
#ifndef DN_AGENT_EARNINGS_H
#define DN_AGENT_EARNINGS_H

#include "dn_down.h"
#include "dn_store.h"

#include <jansson.h>
#include <stddef.h>

/*  Sets *out to a new JSON object (caller decrefs): the partner's figures
    as last received, {"partner", "period", "currency", "balance",
    "opening", "commission", "override", "referral", "clawback",
    "adjustment", "payouts", "last_payout" (money as decimal strings, each
    with its "..._minor" integer; clawback and payouts as positive
    amounts debited), "last_payout_at" (ISO-8601, null when there was
    none), "as_of" (when the server computed them), "refreshed" (when a sync's
    pull of the earnings stream was last answered, down_state's
    checked_ms: a sync that brought no change confirms the figures held,
    so refreshed moves while as_of stays; null never happens once
    figures are held)}.  Returns 0, DN_ENOENT (nothing received yet),
    DN_EDB, DN_ENOMEM.  */
int dn_earnings_get(dn_store_t *store, json_t **out);

/*  Sets *out to a new JSON object (caller decrefs) on the member with
    phone (typed any way: made canonical with the site's country,
    dn_phone_normalize): {"phone", "name" (the network's, else the local
    sign-up's, else null), "signed_up_here" ({"id", "seq", "recorded_at"}
    or null), "credit" and "credit_minor" (the referral credit last
    received, null when the network never sent this phone), "currency",
    "credit_as_of" (ISO-8601 or null), "refreshed" (when a sync's pull of
    the members stream was last answered, down_state's checked_ms: the
    credit shown is the network's as of then, since the server resends a
    member whose credit moved; null before any)}.  Returns 0; DN_EPARSE (not a
    phone: why says why, as member add); DN_ENOENT (neither signed up here nor ever sent
    by the network: why says so); DN_EDB, DN_ENOMEM.  */
int dn_earnings_member(dn_store_t *store, const char *phone, json_t **out, char *why,
                       size_t why_size);

#endif

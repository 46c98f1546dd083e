/*  dn_chain -- a site's event chain: the one step that links an event to
    the one before it, and the signature over a batch's chain head.

    Each event carries in its prev_hash the hash of the event before it at
    its site (32 zero bytes before the first, DN_CHAIN_GENESIS); an event's
    hash is the SHA-256 of its bytes exactly as the site packed them (which
    hold prev_hash), so the last hash -- the chain head -- stands for the
    site's whole history and one signature over it covers every event
    before it.  The agent takes this step when it appends an event and
    when it checks its outbox, the server when it ingests a batch, and
    verify when it rechecks what is stored: written once here, so the
    four can never disagree about what a chain is.
*/
#ifndef DN_CHAIN_H
#define DN_CHAIN_H

#include "dealernet.pb-c.h"
#include "dn_crypto.h"

#include <stddef.h>
#include <stdint.h>

/*  The head before a site's first event: what its prev_hash holds.  */
extern const uint8_t DN_CHAIN_GENESIS[DN_HASH_BYTES];

/*  One step of the chain.  Sets hash to the hash of the event whose bytes
    are body[0..len) -- the head after it -- and checks that the event
    links to head: ev (those bytes decoded; NULL if they do not decode)
    carries head in its prev_hash.  Returns 0; DN_ECHAIN if it does not
    link (or ev is NULL, or its prev_hash is not DN_HASH_BYTES long);
    DN_ECRYPTO if the hash could not be computed (then hash is unset).
    hash is set whenever the result is not DN_ECRYPTO: an event that does
    not link still has a hash (ingest compares a resent event by it).  */
int dn_chain_step(const uint8_t head[DN_HASH_BYTES], const Dealernet__Event *ev,
                  const void *body, size_t len, uint8_t hash[DN_HASH_BYTES]);

/*  Signs the batch of site `site` that ends at last_seq with chain head
    head: sig receives the Ed25519 signature over dn_wire_batch_signed's
    bytes.  site must be a valid code.  Returns 0 or DN_ECRYPTO.  */
int dn_chain_sign(const dn_key_t *key, const char *site, uint64_t last_seq,
                  const uint8_t head[DN_HASH_BYTES], uint8_t sig[DN_SIG_BYTES]);

/*  Checks sig, a batch signature as dn_chain_sign makes it, with the
    site's public key pub.  site must be a valid code.  Returns 0 if it
    verifies; DN_ESIG if not; DN_ECRYPTO if the library failed (not the
    signer's fault).  */
int dn_chain_verify(const uint8_t pub[DN_PUBKEY_BYTES], const char *site, uint64_t last_seq,
                    const uint8_t head[DN_HASH_BYTES], const uint8_t sig[DN_SIG_BYTES]);

#endif

/*  dn_chain -- a site's event chain and its batch signatures (see
    dn_chain.h).  */
#include "dn_chain.h"
#include "dn_error.h"
#include "dn_wire.h"

#include <string.h>

const uint8_t DN_CHAIN_GENESIS[DN_HASH_BYTES] = {0};

int dn_chain_step(const uint8_t head[DN_HASH_BYTES], const Dealernet__Event *ev,
                  const void *body, size_t len, uint8_t hash[DN_HASH_BYTES])
{
    if (dn_sha256(body, len, hash) != 0)
        return DN_ECRYPTO;
    /* the event names the head it continues, inside the bytes just hashed:
       so a hash covers the whole history before it */
    if (!ev || ev->prev_hash.len != DN_HASH_BYTES ||
        memcmp(ev->prev_hash.data, head, DN_HASH_BYTES) != 0)
        return DN_ECHAIN;
    return 0;
}

int dn_chain_sign(const dn_key_t *key, const char *site, uint64_t last_seq,
                  const uint8_t head[DN_HASH_BYTES], uint8_t sig[DN_SIG_BYTES])
{
    uint8_t signed_bytes[DN_BATCH_SIGNED_MAX];
    size_t n = dn_wire_batch_signed(site, last_seq, head, signed_bytes);
    return dn_key_sign(key, signed_bytes, n, sig) ? DN_ECRYPTO : 0;
}

int dn_chain_verify(const uint8_t pub[DN_PUBKEY_BYTES], const char *site, uint64_t last_seq,
                    const uint8_t head[DN_HASH_BYTES], const uint8_t sig[DN_SIG_BYTES])
{
    uint8_t signed_bytes[DN_BATCH_SIGNED_MAX];
    size_t n = dn_wire_batch_signed(site, last_seq, head, signed_bytes);
    return dn_ed25519_verify(pub, signed_bytes, n, sig);
}

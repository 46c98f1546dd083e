/*  test_chain -- unit tests for dn_chain, the event-chain step and the
    batch signature that the outbox, ingest and verify share.

    Every expected hash and signature below was computed once outside this
    code, so the step cannot pass by agreeing with itself:

      python3 -c 'import hashlib; print(hashlib.sha256(b"abc").hexdigest())'
        -> S_HASH_1 (also FIPS 180-2's "abc" vector)
      body 2 = 0x12 0x20, S_HASH_1's 32 bytes, "event two" (arbitrary
        bytes that happen to hold the link, as an event's bytes do):
      python3 -c 'import hashlib; h=hashlib.sha256(b"abc").digest();
        print(hashlib.sha256(b"\x12\x20"+h+b"event two").hexdigest())'
        -> S_HASH_2
      the signed bytes of site SHOP-01's batch ending at seq 2 with head
        S_HASH_2 ("dealernet-batch-v1\0SHOP-01\0", 8-byte big-endian 2,
        the head: 67 bytes, written to msg.bin by python), signed with the
        RFC 8032 section 7.1 TEST 1 seed as a PKCS#8 PEM (DER prefix
        302e020100300506032b657004220420 + seed):
      openssl pkeyutl -sign -inkey key.pem -rawin -in msg.bin | xxd -p
        -> S_SIG (Ed25519 is deterministic: one message, one signature)
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dn_chain.h"
#include "dn_crypto.h"
#include "dn_error.h"

static const char s_body_1[] = "abc";
static const char s_hash_1[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char s_body_2[] = "1220ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2"
                               "0015ad6576656e742074776f";
static const char s_hash_2[] =
    "1ed9defbc28114d8a6d5545015d0b5bc0bb63f983755485cfcceb799a65fa7d7";
static const char s_seed[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char s_public[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char s_sig[] = "b7a9158605a0c4ddd123dda81b82828946b6224cf0497c544dbdf358d351bac9"
                            "170fb0cefcf128934cca2b2f24401551072b1e038b787fb49c236012f29c0506";

static void s_unhex(const char *text, uint8_t *data, size_t len)
{
    assert_int_equal(strlen(text), 2 * len);
    assert_int_equal(dn_hex_decode(text, data, len), 0);
}

/*  An event as the step sees it: only its prev_hash matters.  */
static void s_event(Dealernet__Event *ev, uint8_t *prev, size_t len)
{
    Dealernet__Event init = DEALERNET__EVENT__INIT;
    *ev = init;
    ev->has_prev_hash = 1;
    ev->prev_hash.data = prev;
    ev->prev_hash.len = len;
}

/*  Two events from the genesis: each links to the head before it, and the
    head after it is the SHA-256 of its bytes.  */
static void test_two_steps(void **state)
{
    uint8_t head[DN_HASH_BYTES], hash[DN_HASH_BYTES], want[DN_HASH_BYTES];
    uint8_t prev[DN_HASH_BYTES], body[2 + DN_HASH_BYTES + 9];
    Dealernet__Event ev;
    (void)state;

    for (size_t i = 0; i < DN_HASH_BYTES; i++)
        assert_int_equal(DN_CHAIN_GENESIS[i], 0);
    memcpy(head, DN_CHAIN_GENESIS, DN_HASH_BYTES);
    memset(prev, 0, sizeof prev);
    s_event(&ev, prev, sizeof prev);
    assert_int_equal(dn_chain_step(head, &ev, s_body_1, 3, hash), 0);
    s_unhex(s_hash_1, want, sizeof want);
    assert_memory_equal(hash, want, DN_HASH_BYTES);

    memcpy(head, hash, DN_HASH_BYTES);
    memcpy(prev, hash, DN_HASH_BYTES);
    s_unhex(s_body_2, body, sizeof body);
    assert_memory_equal(body + 2, head, DN_HASH_BYTES); /* the bytes hold the link */
    assert_int_equal(dn_chain_step(head, &ev, body, sizeof body, hash), 0);
    s_unhex(s_hash_2, want, sizeof want);
    assert_memory_equal(hash, want, DN_HASH_BYTES);
}

/*  An event that does not continue the head is DN_ECHAIN, and its hash is
    still the hash of its bytes (ingest compares a resent event by it).  */
static void test_broken_link(void **state)
{
    uint8_t head[DN_HASH_BYTES], hash[DN_HASH_BYTES], want[DN_HASH_BYTES];
    uint8_t prev[DN_HASH_BYTES];
    Dealernet__Event ev;
    (void)state;

    s_unhex(s_hash_1, want, sizeof want);
    memcpy(head, DN_CHAIN_GENESIS, DN_HASH_BYTES);
    memset(prev, 0, sizeof prev);
    prev[31] = 1; /* one bit off the genesis */
    s_event(&ev, prev, sizeof prev);
    memset(hash, 0xAA, sizeof hash);
    assert_int_equal(dn_chain_step(head, &ev, s_body_1, 3, hash), DN_ECHAIN);
    assert_memory_equal(hash, want, DN_HASH_BYTES);

    /* a prev_hash of 31 bytes that match is no link either */
    memset(prev, 0, sizeof prev);
    s_event(&ev, prev, DN_HASH_BYTES - 1);
    assert_int_equal(dn_chain_step(head, &ev, s_body_1, 3, hash), DN_ECHAIN);

    /* bytes that did not decode: hashed, never linked */
    memset(hash, 0xAA, sizeof hash);
    assert_int_equal(dn_chain_step(head, NULL, s_body_1, 3, hash), DN_ECHAIN);
    assert_memory_equal(hash, want, DN_HASH_BYTES);
}

/*  The batch signature: the known answer, and any change of site, seq or
    head refused.  */
static void test_batch_signature(void **state)
{
    uint8_t seed[32], pub[DN_PUBKEY_BYTES], head[DN_HASH_BYTES], sig[DN_SIG_BYTES];
    uint8_t want[DN_SIG_BYTES];
    dn_key_t *key;
    (void)state;

    s_unhex(s_seed, seed, sizeof seed);
    s_unhex(s_public, pub, sizeof pub);
    s_unhex(s_hash_2, head, sizeof head);
    s_unhex(s_sig, want, sizeof want);
    assert_non_null(key = dn_key_from_seed(seed));
    assert_int_equal(dn_chain_sign(key, "SHOP-01", 2, head, sig), 0);
    assert_memory_equal(sig, want, DN_SIG_BYTES);
    assert_int_equal(dn_chain_verify(pub, "SHOP-01", 2, head, sig), 0);

    assert_int_equal(dn_chain_verify(pub, "SHOP-02", 2, head, sig), DN_ESIG);
    assert_int_equal(dn_chain_verify(pub, "SHOP-01", 3, head, sig), DN_ESIG);
    head[0] ^= 1;
    assert_int_equal(dn_chain_verify(pub, "SHOP-01", 2, head, sig), DN_ESIG);
    head[0] ^= 1;
    sig[63] ^= 0x40;
    assert_int_equal(dn_chain_verify(pub, "SHOP-01", 2, head, sig), DN_ESIG);
    dn_key_destroy(&key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_steps),
        cmocka_unit_test(test_broken_link),
        cmocka_unit_test(test_batch_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  dn_crypto -- SHA-256, Ed25519 and hex, through OpenSSL's EVP interface.

    Events are chained by SHA-256 and batches are signed with the site's
    Ed25519 key, so the server can tell a shop's history apart from a forgery
    and the shop can prove what it sent.  Private keys live in PEM (PKCS#8)
    files created with mode 0600 and never leave this module as bytes.
*/
#ifndef DN_CRYPTO_H
#define DN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define DN_HASH_BYTES   32
#define DN_PUBKEY_BYTES 32
#define DN_SIG_BYTES    64

/*  Sets digest = SHA-256(data[0..len)).  Returns 0 or DN_ECRYPTO.  */
int dn_sha256(const void *data, size_t len, uint8_t digest[DN_HASH_BYTES]);

/*  SHA-256 of data given in pieces: new returns a hash or NULL (out of
    memory, library failure); update adds len bytes; final writes the
    digest, destroys the hash (*self_p = NULL) and returns 0 or DN_ECRYPTO
    (an update failed too).  */
typedef struct _dn_sha256_t dn_sha256_t;
dn_sha256_t *dn_sha256_new(void);
void dn_sha256_update(dn_sha256_t *self, const void *data, size_t len);
int dn_sha256_final(dn_sha256_t **self_p, uint8_t digest[DN_HASH_BYTES]);

/*  An Ed25519 private key (opaque; owns an EVP_PKEY).  */
typedef struct _dn_key_t dn_key_t;

/*  Returns a new random key, or NULL on failure.  Caller destroys.  */
dn_key_t *dn_key_generate(void);

/*  Returns the key held in a PEM file written by dn_key_save, or NULL if the
    file is missing, unreadable or not an Ed25519 private key.  Caller
    destroys.  */
dn_key_t *dn_key_load(const char *path);

/*  Returns a key built from a raw 32-byte RFC 8032 seed, or NULL (for
    known-answer tests).  Caller destroys.  */
dn_key_t *dn_key_from_seed(const uint8_t seed[32]);

/*  Writes the key to path as PEM, creating the file with mode 0600.  Refuses
    to replace an existing file (DN_EEXIST).  Returns 0, DN_EIO or
    DN_ECRYPTO.  The file is fsynced before returning; on failure no partial
    file is left behind.  */
int dn_key_save(const dn_key_t *key, const char *path);

/*  Creates path with mode 0600, or 0640 in a group-shared folder so that
    the folder's group can read it (dn_fsperm_new_mode) (refusing to replace a file: DN_EEXIST),
    writes data[0..len), fsyncs the file and its folder.  On failure no
    partial file is left behind.  Returns 0, DN_EEXIST or DN_EIO.  For
    secrets: key files.  */
int dn_file_create_private(const char *path, const void *data, size_t len);

/*  Copies the 32-byte public key.  Returns 0 or DN_ECRYPTO.  */
int dn_key_public(const dn_key_t *key, uint8_t pub[DN_PUBKEY_BYTES]);

/*  Signs msg with the key into sig.  Returns 0 or DN_ECRYPTO.  */
int dn_key_sign(const dn_key_t *key, const void *msg, size_t len,
                uint8_t sig[DN_SIG_BYTES]);

/*  Destroys a key; accepts NULL and sets *self_p to NULL.  */
void dn_key_destroy(dn_key_t **self_p);

/*  Verifies an Ed25519 signature.  Returns 0 if valid, DN_ESIG if not
    (including a malformed public key), DN_ECRYPTO on library failure.  */
int dn_ed25519_verify(const uint8_t pub[DN_PUBKEY_BYTES], const void *msg, size_t len,
                      const uint8_t sig[DN_SIG_BYTES]);

/*  Writes 2*len lower-case hex digits and a NUL into text (size >= 2*len+1).  */
void dn_hex_encode(const uint8_t *data, size_t len, char *text);

/*  Parses exactly 2*len hex digits (either case) into data.  Returns 0 or
    DN_EPARSE (data untouched).  */
int dn_hex_decode(const char *text, uint8_t *data, size_t len);

#endif

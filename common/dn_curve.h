/*  dn_curve -- CurveZMQ key pairs and their files.

    Who a peer is comes from the transport: each site, the server and each
    HQ administrator holds a Curve25519 key pair.  Keys travel as Z85 text
    (40 characters for 32 bytes).  A key file holds both halves as two lines,
    "public-key = Z85" and "secret-key = Z85", with mode 0600.
*/
#ifndef DN_CURVE_H
#define DN_CURVE_H

#include <stdint.h>

#define DN_CURVE_KEY_BYTES 32
#define DN_Z85_KEY_LEN     40
#define DN_Z85_KEY_SIZE    41 /* with the NUL */

typedef struct {
    char public_z85[DN_Z85_KEY_SIZE];
    char secret_z85[DN_Z85_KEY_SIZE];
} dn_curve_pair_t;

/*  Fills pair with a new key pair.  Returns 0 or DN_ECRYPTO (libzmq built
    without CURVE).  */
int dn_curve_generate(dn_curve_pair_t *pair);

/*  Writes pair to path, mode 0600, refusing to replace a file.  Returns 0,
    DN_EEXIST or DN_EIO.  */
int dn_curve_save(const dn_curve_pair_t *pair, const char *path);

/*  Reads a key file.  Returns 0, DN_ENOENT (no file), DN_EPARSE (not a key
    file) or DN_EIO.  */
int dn_curve_load(const char *path, dn_curve_pair_t *pair);

/*  Returns 1 if text is exactly 40 Z85 characters that decode.  */
int dn_curve_valid_z85(const char *text);

/*  Decodes a Z85 key into 32 bytes.  Returns 0 or DN_EPARSE.  */
int dn_curve_decode(const char *z85, uint8_t key[DN_CURVE_KEY_BYTES]);

/*  Encodes 32 bytes into Z85 text with its NUL.  */
void dn_curve_encode(const uint8_t key[DN_CURVE_KEY_BYTES], char z85[DN_Z85_KEY_SIZE]);

#endif

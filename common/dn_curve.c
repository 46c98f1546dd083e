/*  dn_curve -- CurveZMQ key pairs and key files (see dn_curve.h).  */
#include "dn_curve.h"
#include "dn_crypto.h"
#include "dn_error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

int dn_curve_valid_z85(const char *text)
{
    uint8_t key[DN_CURVE_KEY_BYTES];
    return dn_curve_decode(text, key) == 0;
}

int dn_curve_decode(const char *z85, uint8_t key[DN_CURVE_KEY_BYTES])
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                                   "TUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    if (!z85 || strlen(z85) != DN_Z85_KEY_LEN || strspn(z85, alphabet) != DN_Z85_KEY_LEN)
        return DN_EPARSE;
    return zmq_z85_decode(key, z85) ? 0 : DN_EPARSE;
}

void dn_curve_encode(const uint8_t key[DN_CURVE_KEY_BYTES], char z85[DN_Z85_KEY_SIZE])
{
    zmq_z85_encode(z85, key, DN_CURVE_KEY_BYTES);
}

int dn_curve_generate(dn_curve_pair_t *pair)
{
    return zmq_curve_keypair(pair->public_z85, pair->secret_z85) == 0 ? 0 : DN_ECRYPTO;
}

int dn_curve_save(const dn_curve_pair_t *pair, const char *path)
{
    char text[160];
    int len = snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s\n",
                       pair->public_z85, pair->secret_z85);
    return dn_file_create_private(path, text, (size_t)len);
}

int dn_curve_load(const char *path, dn_curve_pair_t *pair)
{
    char line[128], pub[64] = "", sec[64] = "";
    FILE *file = fopen(path, "r");
    if (!file)
        return errno == ENOENT ? DN_ENOENT : DN_EIO;
    while (fgets(line, sizeof line, file)) {
        if (sscanf(line, "public-key = %63s", pub) == 1 ||
            sscanf(line, "secret-key = %63s", sec) == 1)
            continue;
    }
    fclose(file);
    if (!dn_curve_valid_z85(pub) || !dn_curve_valid_z85(sec))
        return DN_EPARSE;
    memcpy(pair->public_z85, pub, DN_Z85_KEY_SIZE);
    memcpy(pair->secret_z85, sec, DN_Z85_KEY_SIZE);
    return 0;
}

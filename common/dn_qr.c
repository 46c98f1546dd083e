/*  dn_qr -- a QR code drawn in a terminal (see dn_qr.h).  */
#include "dn_qr.h"
#include "dn_error.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <qrencode.h>
#include <string.h>

/*  1 if the module at (row, col) of the drawing, quiet zone included, is
    light (the quiet zone is).  */
static int s_light(const QRcode *qr, int row, int col)
{
    int r = row - DN_QR_QUIET_ZONE, c = col - DN_QR_QUIET_ZONE;
    if (r < 0 || c < 0 || r >= qr->width || c >= qr->width)
        return 1;
    return !(qr->data[r * qr->width + c] & 1); /* bit 0: dark */
}

int dn_qr_render(const char *text, int flags, FILE *out)
{
    /* indexed by (top light) * 2 + (bottom light): light is ink */
    static const char *const cells[4] = {" ", "\xe2\x96\x84", "\xe2\x96\x80",
                                         "\xe2\x96\x88"};
    QRcode *qr;
    int size, rc = 0;

    if (!text || !*text)
        return DN_EINVAL;
    errno = 0;
    /* one 8-bit segment, case kept (the code's letters are base64url: an
       upper-cased code would be another code).  Not the encoder's mixed
       segments: those pack a run of digits tighter, so two codes of one
       length -- one network's sites -- would draw at two sizes, as the
       random bytes of each token fell.  */
    if (!(qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_L)))
        return errno == ERANGE ? DN_ETOOBIG : errno == EINVAL ? DN_EINVAL : DN_ENOMEM;
    size = qr->width + 2 * DN_QR_QUIET_ZONE;
    for (int row = 0; row < size && rc == 0; row += 2) {
        if (flags & DN_QR_ANSI)
            fputs(DN_QR_ANSI_ON, out);
        for (int col = 0; col < size; col++)
            fputs(cells[s_light(qr, row, col) * 2 +
                        (row + 1 < size ? s_light(qr, row + 1, col) : 0)],
                  out);
        if (flags & DN_QR_ANSI)
            fputs(DN_QR_ANSI_OFF, out);
        if (fputc('\n', out) == EOF || ferror(out))
            rc = DN_EIO;
    }
    if (rc == 0 && fflush(out) != 0)
        rc = DN_EIO;
    OPENSSL_cleanse(qr->data, (size_t)qr->width * (size_t)qr->width);
    QRcode_free(qr);
    return rc;
}
